/*
 * rpcchan.c - one channel per peer socket: the protocol's requests to a
 * peer travel together (rpc.h, "Batching").
 *
 * A channel has RPC_CHAN_DEPTH envelopes (a REQ context and its aio each)
 * and a queue. A request finds a free envelope and leaves at once, alone
 * (no added wait under light load); otherwise it waits in the queue, and
 * when an envelope's reply comes it takes everything queued (up to
 * WIRE_BATCH_ITEMS requests and WIRE_MAX_MSG bytes, one sender) as one
 * BATCH. So the number of messages per transaction falls as the load
 * rises, and no request waits longer than one round trip to join one.
 *
 * Deadlines stay per request: an envelope waits until the earliest of its
 * requests' deadlines; then the expired ones end with TWOPC_ETIMEDOUT and
 * the rest go out again (every handler is idempotent). A request queued
 * behind an envelope ends when that envelope does at the earliest.
 *
 * A client's SUBMITs (rpc_bcall.once) have a channel of their own kind:
 * RPC_CHAN_DEPTH_ONCE envelopes, as a client has many transactions in
 * flight and each SUBMIT's reply waits for its transaction to end; and
 * an envelope of SUBMITs is never sent again: when the earliest deadline
 * among them passes, all of them end with TWOPC_ETIMEDOUT (a SUBMIT
 * without a txid must not run twice; the coordinator may have run it).
 * SUBMITs and other requests never share an envelope.
 *
 * Threads: sends and receives complete on NNG's threads, which also send
 * the next envelope; the linger's timer runs on tmr.c's thread; nothing
 * here blocks on either. A channel is created at a socket's first protocol request and
 * freed by rpc_chan_close (rpc_close), which waits for its envelopes and
 * stops its timer: so no NNG call on the channel's contexts can overlap
 * the socket's close (rpcbase.c explains why that matters).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "mclock.h"
#include "rpc.h"
#include "rpcauth.h"
#include "rpcpriv.h"
#include "tlog.h"
#include "tmr.h"
#include "twopc/error.h"

#define RPC_CHAN_DEPTH 1      /* envelopes in flight per peer */
#define RPC_CHAN_DEPTH_ONCE 8 /* ... for a client's SUBMITs */

typedef struct rpc_env {
	struct rpc_chan *ch;
	nng_ctx ctx;
	nng_aio *aio;
	int busy;              /* in flight (or being sent) */
	int sending;           /* the aio's operation is the send */
	const char *peer;      /* sealed for this node (NULL: not sealed) ... */
	uint8_t tag[WIRE_MAC_LEN]; /* ... with this MAC */
	size_t n;
	rpc_bcall *calls[WIRE_BATCH_ITEMS];
} rpc_env;

typedef struct rpc_chan {
	uint32_t id;
	nng_socket sock;
	pthread_mutex_t mtx;   /* the fields below */
	pthread_cond_t cv;     /* an envelope came back */
	rpc_bcall *head, *tail;
	int closed;
	int users;             /* senders between rpc_chan_get and _put (registry lock) */
	int nenv;              /* envelopes opened */
	rpc_env env[RPC_CHAN_DEPTH_ONCE];
	tmr linger;            /* the linger's timer (tmr.h: NNG's would spin) */
	int lingering;         /* it is armed */
	struct rpc_chan *next;
} rpc_chan;

static pthread_mutex_t rpc_chans_mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t rpc_chans_cv = PTHREAD_COND_INITIALIZER;
static rpc_chan *rpc_chans;

static void rpc_env_cb(void *arg);
static void rpc_chan_linger_cb(void *arg);

static const _Atomic uint32_t *rpc_linger;

void
rpc_set_linger(const _Atomic uint32_t *ms)
{
	rpc_linger = ms;
}

/* The linger now, in ms (0: none). */
static uint32_t
rpc_linger_ms(void)
{
	const _Atomic uint32_t *ms = rpc_linger;
	return ms != NULL ? atomic_load(ms) : 0;
}

/* Open SOCK's channel, for calls like K. NULL when out of memory or
 * contexts. */
static rpc_chan *
rpc_chan_new(nng_socket sock, const rpc_bcall *k)
{
	rpc_chan *ch = calloc(1, sizeof(*ch));
	if (ch == NULL)
		return NULL;
	ch->id = (uint32_t)nng_socket_id(sock);
	ch->sock = sock;
	tmr_init(&ch->linger, rpc_chan_linger_cb, ch);
	pthread_mutex_init(&ch->mtx, NULL);
	if (mclock_cond_init(&ch->cv) != 0) {
		pthread_mutex_destroy(&ch->mtx);
		free(ch);
		return NULL;
	}
	for (int i = 0; i < (k->once ? RPC_CHAN_DEPTH_ONCE : RPC_CHAN_DEPTH); i++) {
		rpc_env *e = &ch->env[i];
		int rv;
		e->ch = ch;
		RPC_CTX_CALL(rv = nng_ctx_open(&e->ctx, sock));
		if (rv != 0)
			break;
		if (nng_aio_alloc(&e->aio, rpc_env_cb, e) != 0) {
			RPC_CTX_CALL(nng_ctx_close(e->ctx));
			break;
		}
		ch->nenv++;
	}
	if (ch->nenv == 0) {
		pthread_cond_destroy(&ch->cv);
		pthread_mutex_destroy(&ch->mtx);
		free(ch);
		return NULL;
	}
	return ch;
}

/* SOCK's channel, created on first use (by a call like K), held until
 * rpc_chan_put. */
static rpc_chan *
rpc_chan_get(nng_socket sock, const rpc_bcall *k)
{
	uint32_t id = (uint32_t)nng_socket_id(sock);
	pthread_mutex_lock(&rpc_chans_mtx);
	rpc_chan *ch = rpc_chans;
	while (ch != NULL && ch->id != id)
		ch = ch->next;
	if (ch == NULL && (ch = rpc_chan_new(sock, k)) != NULL) {
		ch->next = rpc_chans;
		rpc_chans = ch;
	}
	if (ch != NULL)
		ch->users++;
	pthread_mutex_unlock(&rpc_chans_mtx);
	return ch;
}

static void
rpc_chan_put(rpc_chan *ch)
{
	pthread_mutex_lock(&rpc_chans_mtx);
	if (--ch->users == 0)
		pthread_cond_broadcast(&rpc_chans_cv);
	pthread_mutex_unlock(&rpc_chans_mtx);
}

/* End every call of the list at K with RC. */
static void
rpc_calls_end(rpc_bcall *k, int rc)
{
	while (k != NULL) {
		rpc_bcall *next = k->next;
		rpc_bcall_end(k, rc, NULL, 0);
		k = next;
	}
}

/*
 * Fill free envelope E from the queue: what fits in one message, from one
 * sender, SUBMITs only or none. Calls already past their deadline go to
 * *EXPIRED instead.
 * ch->mtx held. Returns the number of calls in E (0: nothing to send).
 */
static size_t
rpc_env_fill(rpc_chan *ch, rpc_env *e, rpc_bcall **expired)
{
	int64_t now = mono_ms();
	size_t bytes = 64; /* the envelope's own header and count */
	e->n = 0;
	while (ch->head != NULL && e->n < WIRE_BATCH_ITEMS) {
		rpc_bcall *k = ch->head;
		if (k->deadline <= now) {
			ch->head = k->next;
			k->next = *expired;
			*expired = k;
			continue;
		}
		if (e->n > 0 && (bytes + 4 + k->req.len > WIRE_MAX_MSG || k->once != e->calls[0]->once ||
		    strcmp(k->sender, e->calls[0]->sender) != 0))
			break;
		ch->head = k->next;
		k->next = NULL;
		bytes += 4 + k->req.len;
		e->calls[e->n++] = k;
	}
	if (ch->head == NULL)
		ch->tail = NULL;
	e->busy = e->n > 0;
	return e->n;
}

/* A free envelope filled from the queue, or NULL (none free, nothing
 * queued, or the channel closed). ch->mtx held. */
static rpc_env *
rpc_chan_take(rpc_chan *ch, rpc_bcall **expired)
{
	for (int i = 0; i < ch->nenv && !ch->closed; i++)
		if (!ch->env[i].busy && rpc_env_fill(ch, &ch->env[i], expired) > 0)
			return &ch->env[i];
	return NULL;
}

/* The message for E: its one request, or a BATCH of them. NULL when out
 * of memory (the caller ends the calls). */
static int
rpc_env_put(rpc_env *e, nng_msg *m, const uint8_t *data, size_t len)
{
	e->peer = rpc_sock_peer(e->ch->sock);
	if (e->peer != NULL) {
		int rv = rpc_auth_seal(e->peer, data, len, NULL, m, e->tag);
		if (rv != 0)
			tlog_error("cannot seal a request for %s: %s", e->peer, twopc_strerror(rv));
		return rv;
	}
	return nng_msg_append(m, data, len);
}

static nng_msg *
rpc_env_msg(rpc_env *e)
{
	nng_msg *m = NULL;
	if (nng_msg_alloc(&m, 0) != 0)
		return NULL;
	if (e->n == 1) {
		if (rpc_env_put(e, m, e->calls[0]->req.data, e->calls[0]->req.len) == 0)
			return m;
		nng_msg_free(m);
		return NULL;
	}
	wire_item items[WIRE_BATCH_ITEMS];
	wire_msg env;
	wire_buf b = { 0 };
	for (size_t i = 0; i < e->n; i++)
		items[i] = (wire_item){ e->calls[i]->req.data, e->calls[i]->req.len };
	wire_msg_init(&env, WIRE_BATCH, e->calls[0]->epoch, "", e->calls[0]->sender);
	env.nitems = e->n;
	env.items = items;
	int rv = wire_encode(&env, &b);
	if (rv == 0 && rpc_env_put(e, m, b.data, b.len) == 0) {
		wire_buf_free(&b);
		return m;
	}
	if (rv != 0)
		tlog_error("cannot encode a BATCH of %zu requests: %s", e->n, twopc_strerror(rv));
	wire_buf_free(&b);
	nng_msg_free(m);
	return NULL;
}

/* Until the earliest deadline of E's calls, at least 1 ms. */
static nng_duration
rpc_env_timeout(const rpc_env *e)
{
	int64_t first = e->calls[0]->deadline;
	for (size_t i = 1; i < e->n; i++)
		if (e->calls[i]->deadline < first)
			first = e->calls[i]->deadline;
	int64_t left = first - mono_ms();
	return left > 0 ? (nng_duration)left : 1;
}

static void rpc_env_done(rpc_env *e, int rc, nng_msg *reply);

/* Send filled envelope E. ON_NNG: from its own callback (no close can
 * overlap: rpc_chan_close waits for busy envelopes). */
static void
rpc_env_send(rpc_env *e, int on_nng)
{
	nng_msg *m = rpc_env_msg(e);
	if (m == NULL) {
		rpc_env_done(e, TWOPC_ENOMEM, NULL);
		return;
	}
	e->sending = 1;
	nng_aio_set_timeout(e->aio, rpc_env_timeout(e));
	nng_aio_set_msg(e->aio, m);
	rpc_count_send();
	if (on_nng)
		nng_ctx_send(e->ctx, e->aio);
	else
		RPC_CTX_CALL(nng_ctx_send(e->ctx, e->aio));
}

/* Hand the replies in REPLY to E's calls: 0, or TWOPC_EPROTO when it is
 * not one reply per call (logged). */
static int
rpc_env_replies(rpc_env *e, nng_msg *reply)
{
	wire_msg env;
	int rv;
	if (e->peer != NULL) {
		if ((rv = wire_decode(nng_msg_body(reply), nng_msg_len(reply), &env)) != 0) {
			tlimit_log(&rpc_bad_reply_log, TLOG_WARN, "malformed reply of %s: %s", e->peer,
			    wire_last_error());
			return TWOPC_EPROTO;
		}
		rv = rpc_reply_check(nng_msg_body(reply), nng_msg_len(reply), &env, e->peer, e->tag);
		wire_msg_free(&env);
		if (rv != 0)
			return rv;
	}
	if (e->n == 1) {
		rpc_bcall_end(e->calls[0], 0, nng_msg_body(reply), nng_msg_len(reply));
		return 0;
	}
	rv = wire_decode(nng_msg_body(reply), nng_msg_len(reply), &env);
	if (rv != 0 || env.type != WIRE_BATCH || env.nitems != e->n) {
		tlimit_log(&rpc_bad_reply_log, TLOG_WARN, "malformed reply to a BATCH of %zu requests: %s",
		    e->n, rv != 0 ? wire_last_error() : "not one reply per request");
		if (rv == 0)
			wire_msg_free(&env);
		return TWOPC_EPROTO;
	}
	for (size_t i = 0; i < e->n; i++)
		rpc_bcall_end(e->calls[i], 0, env.items[i].data, env.items[i].len);
	wire_msg_free(&env);
	return 0;
}

/*
 * E's message is over: REPLY, or RC (a twopc_err) for all its calls. On a
 * timeout only the calls past their deadline end (and every SUBMIT: it is
 * never sent twice); the others go back to the head of the queue. Then E
 * takes the next calls, or rests.
 */
static void
rpc_env_done(rpc_env *e, int rc, nng_msg *reply)
{
	rpc_chan *ch = e->ch;
	rpc_bcall *ended = NULL, *again = NULL, *again_last = NULL;
	int64_t now = mono_ms();

	if (reply != NULL && (rc = rpc_env_replies(e, reply)) == 0)
		e->n = 0;
	for (size_t i = 0; i < e->n; i++) {
		rpc_bcall *k = e->calls[i];
		k->next = NULL;
		if (rc == TWOPC_ETIMEDOUT && k->deadline > now && !k->once) {
			if (again_last != NULL)
				again_last->next = k;
			else
				again = k;
			again_last = k;
		} else {
			k->next = ended;
			ended = k;
		}
	}
	e->n = 0;
	pthread_mutex_lock(&ch->mtx);
	if (ch->closed) {
		if (again_last != NULL) {  /* everything ends: the socket is closing */
			again_last->next = ended;
			ended = again;
		}
		rc = TWOPC_ECLOSED;
	} else if (again != NULL) {   /* back to the head, in their order */
		again_last->next = ch->head;
		if (ch->head == NULL)
			ch->tail = again_last;
		ch->head = again;
	}
	int more = !ch->closed && rpc_env_fill(ch, e, &ended) > 0;
	if (!more) {
		e->busy = 0;
		pthread_cond_broadcast(&ch->cv);
	}
	pthread_mutex_unlock(&ch->mtx);
	rpc_calls_end(ended, rc == 0 ? TWOPC_ETIMEDOUT : rc);
	if (more)
		rpc_env_send(e, 1);
}

static void
rpc_env_cb(void *arg)
{
	rpc_env *e = arg;
	int rv = nng_aio_result(e->aio);
	if (e->sending) {
		e->sending = 0;
		if (rv != 0) {
			nng_msg_free(nng_aio_get_msg(e->aio));
			rpc_env_done(e, rpc_err(rv), NULL);
			return;
		}
		nng_aio_set_timeout(e->aio, rpc_env_timeout(e));
		nng_ctx_recv(e->ctx, e->aio);
		return;
	}
	if (rv != 0) {
		rpc_env_done(e, rpc_err(rv), NULL);
		return;
	}
	nng_msg *m = nng_aio_get_msg(e->aio);
	rpc_env_done(e, 0, m);
	nng_msg_free(m);
}

/* The linger is over: what is still queued leaves, if an envelope is
 * free (a busy one takes it when its reply comes). ON_NNG as for
 * rpc_env_send: 1 on the timer's thread, which rpc_chan_close waits for
 * (tmr_stop) before it closes anything. */
static void
rpc_chan_flush(rpc_chan *ch, int on_nng)
{
	rpc_bcall *expired = NULL;
	pthread_mutex_lock(&ch->mtx);
	ch->lingering = 0;
	rpc_env *e = rpc_chan_take(ch, &expired);
	pthread_mutex_unlock(&ch->mtx);
	rpc_calls_end(expired, TWOPC_ETIMEDOUT);
	if (e != NULL)
		rpc_env_send(e, on_nng);
}

static void
rpc_chan_linger_cb(void *arg)
{
	rpc_chan_flush(arg, 1);
}

/*
 * Whether a lazy request just queued waits for company (LINGER ms, 0:
 * not lazy or no linger): only while every envelope is free (a busy one
 * takes it along when its reply comes). *ARM: the timer must be started,
 * which the caller does once ch->mtx is let go (if it cannot, the caller
 * flushes at once). ch->mtx held.
 */
static int
rpc_chan_lingers(rpc_chan *ch, uint32_t linger, int *arm)
{
	if (linger == 0)
		return 0;
	for (int i = 0; i < ch->nenv; i++)
		if (ch->env[i].busy)
			return 0;
	*arm = !ch->lingering;
	ch->lingering = 1;
	return 1;
}

void
rpc_chan_send(nng_socket sock, rpc_bcall *k)
{
	rpc_chan *ch = rpc_chan_get(sock, k);
	rpc_bcall *expired = NULL;
	rpc_env *e = NULL;
	if (ch == NULL) {
		rpc_bcall_end(k, TWOPC_ENOMEM, NULL, 0);
		return;
	}
	pthread_mutex_lock(&ch->mtx);
	if (ch->closed) {
		pthread_mutex_unlock(&ch->mtx);
		rpc_chan_put(ch);
		rpc_bcall_end(k, TWOPC_ECLOSED, NULL, 0);
		return;
	}
	k->next = NULL;
	if (ch->tail != NULL)
		ch->tail->next = k;
	else
		ch->head = k;
	ch->tail = k;
	uint32_t linger = k->lazy ? rpc_linger_ms() : 0;
	int arm = 0;
	if (!rpc_chan_lingers(ch, linger, &arm))
		e = rpc_chan_take(ch, &expired);
	pthread_mutex_unlock(&ch->mtx);
	rpc_calls_end(expired, TWOPC_ETIMEDOUT);
	if (arm && tmr_arm(&ch->linger, linger) != 0)
		rpc_chan_flush(ch, 0); /* no timer thread: no wait */
	if (e != NULL)
		rpc_env_send(e, 0);
	rpc_chan_put(ch);
}

void
rpc_chan_close(nng_socket sock)
{
	uint32_t id = (uint32_t)nng_socket_id(sock);
	pthread_mutex_lock(&rpc_chans_mtx);
	rpc_chan **pp = &rpc_chans, *ch;
	while ((ch = *pp) != NULL && ch->id != id)
		pp = &ch->next;
	if (ch != NULL)
		*pp = ch->next;
	while (ch != NULL && ch->users > 0)
		pthread_cond_wait(&rpc_chans_cv, &rpc_chans_mtx);
	pthread_mutex_unlock(&rpc_chans_mtx);
	if (ch == NULL)
		return;
	pthread_mutex_lock(&ch->mtx);
	ch->closed = 1;
	rpc_bcall *queued = ch->head;
	ch->head = ch->tail = NULL;
	pthread_mutex_unlock(&ch->mtx);
	rpc_calls_end(queued, TWOPC_ECLOSED);
	tmr_stop(&ch->linger); /* a flush after this sees closed */
	/* Cancel what is in flight and wait for its callback to see closed.
	 * The calls it ends are called back from that callback, which
	 * nng_aio_free below waits for: none is called back after this. */
	for (;;) {
		int busy = 0;
		pthread_mutex_lock(&ch->mtx);
		for (int i = 0; i < ch->nenv; i++)
			busy += ch->env[i].busy;
		pthread_mutex_unlock(&ch->mtx);
		if (busy == 0)
			break;
		for (int i = 0; i < ch->nenv; i++)
			nng_aio_cancel(ch->env[i].aio);
		pthread_mutex_lock(&ch->mtx);
		(void)mclock_cond_wait_ms(&ch->cv, &ch->mtx, 20);
		pthread_mutex_unlock(&ch->mtx);
	}
	for (int i = 0; i < ch->nenv; i++) {
		nng_aio_free(ch->env[i].aio);
		RPC_CTX_CALL(nng_ctx_close(ch->env[i].ctx));
	}
	pthread_cond_destroy(&ch->cv);
	pthread_mutex_destroy(&ch->mtx);
	free(ch);
}
