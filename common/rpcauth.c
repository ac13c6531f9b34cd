/*
 * rpcauth.c - the pair keys, the MAC trailer and the replay window of
 * rpcauth.h (libsodium: X25519, BLAKE2b).
 */
#include "rpcauth.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "twopc/error.h"

#define RPC_AUTH_CTX "twopc-mac-1"

typedef struct rpc_apeer {
	char name[WIRE_NAME_MAX + 1];
	uint8_t key[crypto_generichash_KEYBYTES];
	uint64_t *seen;     /* admitted stamps, ascending */
	size_t nseen, cap;
	uint64_t floor;     /* stamps up to it are refused (evicted) */
} rpc_apeer;

typedef struct rpc_abind {
	char *url;
	size_t peer;
} rpc_abind;

struct rpc_auth {
	char self[WIRE_NAME_MAX + 1];
	rpc_apeer *peers;
	size_t npeers;
	rpc_abind *binds;
	size_t nbinds;
	uint64_t start_us;
	pthread_mutex_t mtx;     /* the peers' replay tables */
	struct rpc_auth *used;   /* the identity installed before it */
};

/* Identities replaced by rpc_auth_use stay allocated: a socket opened
 * under one may still look its peer up (tests switch clusters). */
static _Atomic(rpc_auth *) rpc_auth_cur;
static rpc_auth *rpc_auth_used;   /* every identity installed (rpc_auth_use) */
static pthread_mutex_t rpc_auth_use_mtx = PTHREAD_MUTEX_INITIALIZER;
static atomic_uint_fast64_t rpc_auth_last_stamp;

static uint64_t
rpc_auth_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Strictly increasing in this process, near the wall clock. */
static uint64_t
rpc_auth_stamp(void)
{
	uint64_t now = rpc_auth_now_us();
	uint64_t last = atomic_load(&rpc_auth_last_stamp);
	uint64_t next;
	do
		next = now > last ? now : last + 1;
	while (!atomic_compare_exchange_weak(&rpc_auth_last_stamp, &last, next));
	return next;
}

/* Read the 32-byte key written as 64 hex digits in PATH; SECRET: the file
 * must not be readable by group or others. 0, or -1 with ERR filled. */
static int
rpc_auth_read_key(const char *path, int secret, uint8_t key[32], char *err, size_t errlen)
{
	char buf[160];
	struct stat st;
	size_t n, bin = 0;
	FILE *f = fopen(path, "r");

	if (f == NULL) {
		snprintf(err, errlen, "%s: cannot read the %s key: %m", path,
		    secret ? "secret" : "public");
		return -1;
	}
	if (secret && fstat(fileno(f), &st) == 0 && (st.st_mode & 077) != 0) {
		fclose(f);
		snprintf(err, errlen, "%s: the secret key is readable by group or others "
		    "(mode %03o; chmod 600 it)", path, (unsigned)(st.st_mode & 0777));
		return -1;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	if (sodium_hex2bin(key, 32, buf, n, " \t\r\n", &bin, NULL) != 0 || bin != 32) {
		snprintf(err, errlen, "%s: not a key (expected 64 hex digits, as tests/mkcerts.sh "
		    "writes)", path);
		return -1;
	}
	return 0;
}

/* K(a, b) = BLAKE2b-256("twopc-pair-1" || X25519 || lower name || 0 ||
 * higher name): both ends derive it alike. */
static int
rpc_auth_pair(const uint8_t sec[32], const uint8_t pub[32], const char *a, const char *b,
    uint8_t key[32])
{
	uint8_t q[crypto_scalarmult_BYTES];
	crypto_generichash_state st;
	const char *lo = strcmp(a, b) < 0 ? a : b, *hi = lo == a ? b : a;

	if (crypto_scalarmult(q, sec, pub) != 0)
		return -1;
	crypto_generichash_init(&st, NULL, 0, 32);
	crypto_generichash_update(&st, (const uint8_t *)"twopc-pair-1", 12);
	crypto_generichash_update(&st, q, sizeof(q));
	crypto_generichash_update(&st, (const uint8_t *)lo, strlen(lo) + 1);
	crypto_generichash_update(&st, (const uint8_t *)hi, strlen(hi) + 1);
	crypto_generichash_final(&st, key, 32);
	sodium_memzero(q, sizeof(q));
	return 0;
}

void
rpc_auth_free(rpc_auth *a)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < a->npeers; i++)
		free(a->peers[i].seen);
	for (size_t i = 0; i < a->nbinds; i++)
		free(a->binds[i].url);
	sodium_memzero(a->peers, a->npeers * sizeof(*a->peers));
	free(a->peers);
	free(a->binds);
	pthread_mutex_destroy(&a->mtx);
	free(a);
}

int
rpc_auth_load(const char *dir, const char *self, const char *const *names, size_t n,
    rpc_auth **out, char *err, size_t errlen)
{
	uint8_t sec[32], pub[32], mine[32];
	char path[4096];
	rpc_auth *a;
	int rv = TWOPC_ECONFIG;

	if (sodium_init() < 0) {
		snprintf(err, errlen, "libsodium: cannot initialise");
		return TWOPC_ECONFIG;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL || (a->peers = calloc(n ? n : 1,
	    sizeof(*a->peers))) == NULL) {
		free(a);
		return TWOPC_ENOMEM;
	}
	pthread_mutex_init(&a->mtx, NULL);
	snprintf(a->self, sizeof(a->self), "%s", self);
	a->start_us = rpc_auth_now_us();
	snprintf(path, sizeof(path), "%s/%s.kx.sec", dir, self);
	if (rpc_auth_read_key(path, 1, sec, err, errlen) != 0)
		goto fail;
	crypto_scalarmult_base(mine, sec);
	snprintf(path, sizeof(path), "%s/%s.kx.pub", dir, self);
	if (access(path, F_OK) == 0) {
		if (rpc_auth_read_key(path, 0, pub, err, errlen) != 0)
			goto fail;
		if (sodium_memcmp(pub, mine, 32) != 0) {
			snprintf(err, errlen, "%s: does not match the secret key %s/%s.kx.sec", path,
			    dir, self);
			goto fail;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (strcmp(names[i], self) == 0)
			continue;
		rpc_apeer *p = &a->peers[a->npeers];
		snprintf(path, sizeof(path), "%s/%s.kx.pub", dir, names[i]);
		if (rpc_auth_read_key(path, 0, pub, err, errlen) != 0)
			goto fail;
		if (rpc_auth_pair(sec, pub, self, names[i], p->key) != 0) {
			snprintf(err, errlen, "%s: not a usable X25519 public key", path);
			goto fail;
		}
		snprintf(p->name, sizeof(p->name), "%s", names[i]);
		a->npeers++;
	}
	sodium_memzero(sec, sizeof(sec));
	*out = a;
	return 0;
fail:
	sodium_memzero(sec, sizeof(sec));
	rpc_auth_free(a);
	return rv;
}

static rpc_apeer *
rpc_auth_find(rpc_auth *a, const char *name)
{
	for (size_t i = 0; a != NULL && i < a->npeers; i++)
		if (strcmp(a->peers[i].name, name) == 0)
			return &a->peers[i];
	return NULL;
}

int
rpc_auth_bind(rpc_auth *a, const char *url, const char *name)
{
	rpc_apeer *p = rpc_auth_find(a, name);
	size_t at = p != NULL ? (size_t)(p - a->peers) : (size_t)-1; /* -1: this node */
	rpc_abind *nb = realloc(a->binds, (a->nbinds + 1) * sizeof(*nb));
	if (nb == NULL)
		return TWOPC_ENOMEM;
	a->binds = nb;
	if ((nb[a->nbinds].url = strdup(url)) == NULL)
		return TWOPC_ENOMEM;
	nb[a->nbinds++].peer = at;
	return 0;
}

void
rpc_auth_use(rpc_auth *a)
{
	pthread_mutex_lock(&rpc_auth_use_mtx);
	if (a != NULL) {
		a->used = rpc_auth_used;
		rpc_auth_used = a;
	}
	atomic_store(&rpc_auth_cur, a);
	pthread_mutex_unlock(&rpc_auth_use_mtx);
}

const char *
rpc_auth_peer(const char *url)
{
	rpc_auth *a = atomic_load(&rpc_auth_cur);
	for (size_t i = 0; a != NULL && i < a->nbinds; i++)
		if (strcmp(a->binds[i].url, url) == 0)
			return a->binds[i].peer == (size_t)-1 ? a->self : a->peers[a->binds[i].peer].name;
	return NULL;
}

/* Start the MAC of a message to RECEIVER (the context, rpcauth.h). */
static void
rpc_auth_mac_init(crypto_generichash_state *st, const uint8_t *key, const char *receiver,
    const uint8_t *bind)
{
	uint8_t dir = bind != NULL ? 'R' : 'Q', rl = (uint8_t)strlen(receiver);
	crypto_generichash_init(st, key, crypto_generichash_KEYBYTES, WIRE_MAC_LEN);
	crypto_generichash_update(st, (const uint8_t *)RPC_AUTH_CTX, sizeof(RPC_AUTH_CTX));
	crypto_generichash_update(st, &dir, 1);
	crypto_generichash_update(st, &rl, 1);
	crypto_generichash_update(st, (const uint8_t *)receiver, rl);
	if (bind != NULL)
		crypto_generichash_update(st, bind, WIRE_MAC_LEN);
}

int
rpc_auth_seal(const char *to, const uint8_t *msg, size_t len, const uint8_t *bind,
    nng_msg *out, uint8_t tag[WIRE_MAC_LEN])
{
	rpc_auth *a = atomic_load(&rpc_auth_cur);
	rpc_apeer *p = rpc_auth_find(a, to);
	crypto_generichash_state st;
	uint8_t flags, stamp[8];

	if (p == NULL)
		return TWOPC_ENOENT;
	if (len < 8 || (msg[5] & WIRE_FLAG_AUTH) != 0)
		return TWOPC_EINVAL;
	uint64_t s = rpc_auth_stamp();
	for (int i = 0; i < 8; i++)
		stamp[i] = (uint8_t)(s >> (56 - 8 * i));
	flags = msg[5] | WIRE_FLAG_AUTH;
	rpc_auth_mac_init(&st, p->key, to, bind);
	crypto_generichash_update(&st, msg, 5);
	crypto_generichash_update(&st, &flags, 1);
	crypto_generichash_update(&st, msg + 6, len - 6);
	crypto_generichash_update(&st, stamp, 8);
	crypto_generichash_final(&st, tag, WIRE_MAC_LEN);
	if (nng_msg_append(out, msg, 5) != 0 || nng_msg_append(out, &flags, 1) != 0 ||
	    nng_msg_append(out, msg + 6, len - 6) != 0 || nng_msg_append(out, stamp, 8) != 0 ||
	    nng_msg_append(out, tag, WIRE_MAC_LEN) != 0)
		return TWOPC_ENOMEM;
	return 0;
}

int
rpc_auth_check(const uint8_t *data, size_t len, const wire_msg *m, const char *from,
    const uint8_t *bind, const char **why)
{
	rpc_auth *a = atomic_load(&rpc_auth_cur);
	crypto_generichash_state st;
	uint8_t tag[WIRE_MAC_LEN];
	rpc_apeer *p;

	if (a == NULL)
		return 0;
	if ((m->flags & WIRE_FLAG_AUTH) == 0 || len < WIRE_AUTH_LEN + 8) {
		*why = "no authentication trailer (a node of this cluster seals every message)";
		return TWOPC_EPROTO;
	}
	if (from != NULL && strcmp(from, m->sender) != 0) {
		*why = "a reply that names another sender than the node asked";
		return TWOPC_EPROTO;
	}
	if ((p = rpc_auth_find(a, m->sender)) == NULL) {
		*why = strcmp(m->sender, a->self) == 0 ? "a message that claims to come from this "
		    "node itself" : "no key for the sender named (not a node of the cluster file)";
		return TWOPC_EPROTO;
	}
	rpc_auth_mac_init(&st, p->key, a->self, bind);
	crypto_generichash_update(&st, data, len - WIRE_MAC_LEN);
	crypto_generichash_final(&st, tag, WIRE_MAC_LEN);
	if (sodium_memcmp(tag, data + len - WIRE_MAC_LEN, WIRE_MAC_LEN) != 0) {
		*why = "bad MAC: not made with the key of the sender named (forged, altered, or "
		    "another node's keys)";
		return TWOPC_EPROTO;
	}
	return 0;
}

/* The first index in P's table whose stamp is >= S. */
static size_t
rpc_auth_lower(const rpc_apeer *p, uint64_t s)
{
	size_t lo = 0, hi = p->nseen;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (p->seen[mid] < s)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int
rpc_auth_admit(const char *from, uint64_t stamp, const char **why)
{
	rpc_auth *a = atomic_load(&rpc_auth_cur);
	const uint64_t w = (uint64_t)RPC_AUTH_WINDOW_MS * 1000u;
	uint64_t now = rpc_auth_now_us();
	int rv = 0;

	if (a == NULL)
		return 0;
	if (stamp + w < now) {
		*why = "stamped over 60 s ago: a replay, or the sender's clock is behind";
		return RPC_AUTH_STALE;
	}
	if (stamp > now + w) {
		*why = "stamped over 60 s ahead: the sender's clock is ahead";
		return RPC_AUTH_STALE;
	}
	if (stamp < a->start_us) {
		*why = "stamped before this process started: a replay";
		return RPC_AUTH_STALE;
	}
	pthread_mutex_lock(&a->mtx);
	rpc_apeer *p = rpc_auth_find(a, from);
	if (p == NULL) {
		pthread_mutex_unlock(&a->mtx);
		*why = "no key for the sender";
		return RPC_AUTH_STALE;
	}
	/* Stamps that old are refused above: no need to remember them. */
	size_t old = rpc_auth_lower(p, now > w ? now - w : 0);
	if (old > 0) {
		memmove(p->seen, p->seen + old, (p->nseen - old) * sizeof(*p->seen));
		p->nseen -= old;
	}
	size_t at = rpc_auth_lower(p, stamp);
	if (stamp <= p->floor) {
		*why = "a replay (older than the stamps this node still remembers)";
		rv = RPC_AUTH_STALE;
	} else if (at < p->nseen && p->seen[at] == stamp) {
		rv = RPC_AUTH_COPY;
	} else {
		if (p->nseen == RPC_AUTH_SEEN_MAX) {
			p->floor = p->seen[0];
			memmove(p->seen, p->seen + 1, --p->nseen * sizeof(*p->seen));
			at--;
			if (stamp <= p->floor) {
				pthread_mutex_unlock(&a->mtx);
				*why = "a replay (older than the stamps this node still remembers)";
				return RPC_AUTH_STALE;
			}
		}
		if (p->nseen == p->cap) {
			size_t cap = p->cap ? p->cap * 2 : 256;
			uint64_t *ns = realloc(p->seen, cap * sizeof(*ns));
			if (ns == NULL) {
				pthread_mutex_unlock(&a->mtx);
				*why = "out of memory for the replay window";
				return RPC_AUTH_STALE;
			}
			p->seen = ns;
			p->cap = cap;
		}
		memmove(p->seen + at + 1, p->seen + at, (p->nseen - at) * sizeof(*p->seen));
		p->seen[at] = stamp;
		p->nseen++;
	}
	pthread_mutex_unlock(&a->mtx);
	return rv;
}

void
rpc_auth_release(const char *from, uint64_t stamp)
{
	rpc_auth *a = atomic_load(&rpc_auth_cur);
	if (a == NULL)
		return;
	pthread_mutex_lock(&a->mtx);
	rpc_apeer *p = rpc_auth_find(a, from);
	if (p != NULL) {
		size_t at = rpc_auth_lower(p, stamp);
		if (at < p->nseen && p->seen[at] == stamp) {
			memmove(p->seen + at, p->seen + at + 1, (p->nseen - at - 1) * sizeof(*p->seen));
			p->nseen--;
		}
	}
	pthread_mutex_unlock(&a->mtx);
}
