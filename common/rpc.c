/*
 * rpc.c - see rpc.h.
 */
#include "rpc.h"

#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>

#include "crash.h"
#include "db.h"
#include "tlog.h"
#include "twopc/error.h"

struct rpc_server {
	nng_socket sock;
	int nworkers;
	pthread_t *threads;
	rpc_handler handler;
	void *user;
	char sender[WIRE_NAME_MAX + 1];
	const _Atomic uint64_t *epoch;
	atomic_uint_fast64_t malformed;
	atomic_uint_fast64_t requests;
	char url[256];
};

/*
 * NNG 1.5 (Debian's libnng) panics ("pthread_mutex_lock: Invalid argument"
 * from nni_ctx_rele) when a socket is closed while another thread is inside
 * an nng_ctx_* call on it: the context is freed after the closing thread
 * has already been told it may destroy the socket. So in this file every
 * nng_ctx_* call holds this lock shared, and rpc_close() closes a socket
 * holding it exclusively. Waits (nng_aio_wait) hold nothing: a close still
 * wakes them with NNG_ECLOSED.
 */
#ifdef PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP
static pthread_rwlock_t rpc_close_lk = PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP;
#else
static pthread_rwlock_t rpc_close_lk = PTHREAD_RWLOCK_INITIALIZER;
#endif

#define RPC_CTX_CALL(call) do { \
	pthread_rwlock_rdlock(&rpc_close_lk); \
	call; \
	pthread_rwlock_unlock(&rpc_close_lk); \
} while (0)

void
rpc_close(nng_socket sock)
{
	pthread_rwlock_wrlock(&rpc_close_lk);
	nng_close(sock);
	pthread_rwlock_unlock(&rpc_close_lk);
}

int
rpc_err(int rv)
{
	switch (rv) {
	case 0: return 0;
	case NNG_ETIMEDOUT: return TWOPC_ETIMEDOUT;
	case NNG_ENOMEM: return TWOPC_ENOMEM;
	case NNG_ECLOSED: return TWOPC_ECLOSED;
	case NNG_EMSGSIZE: return TWOPC_ETOOBIG;
	default: return TWOPC_ENET;
	}
}

static int
rpc_setup(nng_socket s)
{
	int rv = nng_socket_set_size(s, NNG_OPT_RECVMAXSZ, WIRE_MAX_MSG);
	if (rv == 0)
		rv = nng_socket_set_ms(s, NNG_OPT_RECONNMINT, 20);
	if (rv == 0)
		rv = nng_socket_set_ms(s, NNG_OPT_RECONNMAXT, 500);
	return rv;
}

static void
rpc_note_malformed(rpc_server *s, const char *why, size_t len)
{
	uint64_t n = atomic_fetch_add(&s->malformed, 1) + 1;
	/* Garbage must not flood the log: first ten, then every thousandth. */
	if (n <= 10 || n % 1000 == 0)
		tlog_warn("dropped malformed message #%llu on %s (%zu bytes): %s",
		    (unsigned long long)n, s->url, len, why);
}

static void *
rpc_worker(void *arg)
{
	rpc_server *s = arg;
	nng_ctx ctx;
	nng_aio *aio = NULL;
	wire_buf out = { 0 };
	int orv;

	RPC_CTX_CALL(orv = nng_ctx_open(&ctx, s->sock));
	if (orv != 0)
		return NULL;
	if (nng_aio_alloc(&aio, NULL, NULL) != 0) {
		RPC_CTX_CALL(nng_ctx_close(ctx));
		return NULL;
	}
	for (;;) {
		RPC_CTX_CALL(nng_ctx_recv(ctx, aio));
		nng_aio_wait(aio);
		int rv = nng_aio_result(aio);
		if (rv == NNG_ECLOSED)
			break;
		if (rv != 0)
			continue;
		nng_msg *msg = nng_aio_get_msg(aio);
		wire_msg req, rep;
		int drc = wire_decode(nng_msg_body(msg), nng_msg_len(msg), &req);
		if (drc != 0) {
			rpc_note_malformed(s, drc == TWOPC_ETOOBIG ? "too large" : wire_last_error(),
			    nng_msg_len(msg));
			nng_msg_free(msg);
			continue;
		}
		atomic_fetch_add(&s->requests, 1);
		wire_msg_init(&rep, 0, 0, req.txid, s->sender);
		int send = s->handler(s->user, &req, &rep);
		wire_msg_free(&req);
		if (send) {
			rep.epoch = s->epoch ? atomic_load(s->epoch) : 0;
			int erc = wire_encode(&rep, &out);
			free(rep.owned[0]);
			free(rep.owned[1]);
			if (erc != 0) {
				tlog_error("cannot encode %s reply: %s", wire_type_name(rep.type),
				    twopc_strerror(erc));
				nng_msg_free(msg);
				continue;
			}
			nng_msg_clear(msg);
			if (nng_msg_append(msg, out.data, out.len) != 0) {
				nng_msg_free(msg);
				continue;
			}
			nng_aio_set_msg(aio, msg);
			RPC_CTX_CALL(nng_ctx_send(ctx, aio));
			nng_aio_wait(aio);
			if (nng_aio_result(aio) != 0)
				nng_msg_free(msg);
			else if (rep.crash_after_send != NULL)
				crash_point(rep.crash_after_send);
		} else {
			free(rep.owned[0]);
			free(rep.owned[1]);
			nng_msg_free(msg);
		}
	}
	wire_buf_free(&out);
	nng_aio_free(aio);
	RPC_CTX_CALL(nng_ctx_close(ctx));
	return NULL;
}

/*
 * 1 if something already listens on the ipc:// URL. NNG 1.5.2 probes the
 * path itself when a second listener starts, and that probe makes the
 * running listener stop accepting connections (nanomsg/nng#1518); a plain
 * connect() does not, so we ask first and refuse to start.
 */
static int
rpc_ipc_in_use(const char *url)
{
	struct sockaddr_un sa;
	if (strncmp(url, "ipc://", 6) != 0 || strlen(url + 6) >= sizeof(sa.sun_path))
		return 0;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0)
		return 0;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, url + 6, strlen(url + 6));
	int used = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return used;
}

int
rpc_server_start(const char *url, int nworkers, rpc_handler handler, void *user,
    const char *sender, const _Atomic uint64_t *epoch, rpc_server **out)
{
	rpc_server *s = calloc(1, sizeof(*s));
	int rv;

	if (s == NULL)
		return TWOPC_ENOMEM;
	s->handler = handler;
	s->user = user;
	s->epoch = epoch;
	snprintf(s->sender, sizeof(s->sender), "%s", sender);
	snprintf(s->url, sizeof(s->url), "%s", url);
	if (rpc_ipc_in_use(url)) {
		tlog_error("cannot listen on %s: another process is listening there", url);
		free(s);
		return TWOPC_ENET;
	}
	if ((rv = nng_rep0_open(&s->sock)) != 0) {
		free(s);
		return rpc_err(rv);
	}
	if ((rv = rpc_setup(s->sock)) != 0 || (rv = nng_listen(s->sock, url, NULL, 0)) != 0) {
		tlog_error("cannot listen on %s: %s", url, nng_strerror(rv));
		nng_close(s->sock);
		free(s);
		return TWOPC_ENET;
	}
	s->threads = calloc((size_t)nworkers, sizeof(pthread_t));
	if (s->threads == NULL) {
		nng_close(s->sock);
		free(s);
		return TWOPC_ENOMEM;
	}
	for (int i = 0; i < nworkers; i++) {
		if (pthread_create(&s->threads[i], NULL, rpc_worker, s) != 0)
			break;
		s->nworkers++;
	}
	if (s->nworkers == 0) {
		rpc_server_stop(s);
		return TWOPC_ENOMEM;
	}
	*out = s;
	return 0;
}

void
rpc_server_stop(rpc_server *s)
{
	if (s == NULL)
		return;
	rpc_close(s->sock);
	for (int i = 0; i < s->nworkers; i++)
		pthread_join(s->threads[i], NULL);
	free(s->threads);
	free(s);
}

uint64_t
rpc_server_malformed(rpc_server *s)
{
	return atomic_load(&s->malformed);
}

uint64_t
rpc_server_requests(rpc_server *s)
{
	return s ? atomic_load(&s->requests) : 0;
}

int
rpc_dial(const char *url, int resend, nng_socket *out)
{
	nng_socket s;
	int rv = nng_req0_open(&s);
	if (rv != 0)
		return rpc_err(rv);
	if ((rv = rpc_setup(s)) != 0 ||
	    (rv = nng_socket_set_ms(s, NNG_OPT_REQ_RESENDTIME,
	    resend ? RPC_RESEND_MS : NNG_DURATION_INFINITE)) != 0 ||
	    (rv = nng_dial(s, url, NULL, NNG_FLAG_NONBLOCK)) != 0) {
		tlog_error("cannot dial %s: %s", url, nng_strerror(rv));
		nng_close(s);
		return TWOPC_ENET;
	}
	*out = s;
	return 0;
}

/* One outstanding call of rpc_call_many. */
typedef struct rpc_slot {
	nng_ctx ctx;
	nng_aio *aio;
	int open;
	int rc;
} rpc_slot;

int
rpc_call_many(size_t n, const nng_socket *socks, const wire_msg *const *reqs,
    wire_msg *reps, int *results, int timeout_ms)
{
	rpc_slot *sl = calloc(n ? n : 1, sizeof(*sl));
	wire_buf b = { 0 };
	int64_t deadline = mono_ms() + timeout_ms;

	if (sl == NULL)
		return TWOPC_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		nng_msg *m = NULL;
		sl[i].rc = wire_encode(reqs[i], &b);
		if (sl[i].rc != 0)
			continue;
		int rv;
		RPC_CTX_CALL(rv = nng_ctx_open(&sl[i].ctx, socks[i]));
		if (rv == 0) {
			sl[i].open = 1;
			rv = nng_aio_alloc(&sl[i].aio, NULL, NULL);
		}
		if (rv == 0)
			rv = nng_msg_alloc(&m, 0);
		if (rv == 0 && (rv = nng_msg_append(m, b.data, b.len)) != 0)
			nng_msg_free(m);
		if (rv != 0) {
			sl[i].rc = rpc_err(rv);
			continue;
		}
		nng_aio_set_timeout(sl[i].aio, timeout_ms);
		nng_aio_set_msg(sl[i].aio, m);
		RPC_CTX_CALL(nng_ctx_send(sl[i].ctx, sl[i].aio));
	}
	for (size_t i = 0; i < n; i++) {
		if (sl[i].rc != 0 || sl[i].aio == NULL)
			continue;
		nng_aio_wait(sl[i].aio);
		int rv = nng_aio_result(sl[i].aio);
		if (rv != 0) {
			nng_msg_free(nng_aio_get_msg(sl[i].aio));
			sl[i].rc = rpc_err(rv);
			continue;
		}
		/* One deadline for the whole call: a send that waited for a
		 * connection leaves less time for the reply. */
		int64_t left = deadline - mono_ms();
		nng_aio_set_timeout(sl[i].aio, left > 0 ? (nng_duration)left : 1);
		RPC_CTX_CALL(nng_ctx_recv(sl[i].ctx, sl[i].aio));
	}
	for (size_t i = 0; i < n; i++) {
		if (sl[i].rc != 0 || sl[i].aio == NULL)
			continue;
		nng_aio_wait(sl[i].aio);
		int rv = nng_aio_result(sl[i].aio);
		if (rv != 0) {
			sl[i].rc = rpc_err(rv);
			continue;
		}
		nng_msg *m = nng_aio_get_msg(sl[i].aio);
		sl[i].rc = wire_decode(nng_msg_body(m), nng_msg_len(m), &reps[i]);
		if (sl[i].rc != 0) {
			tlog_warn("malformed reply to %s: %s", wire_type_name(reqs[i]->type),
			    wire_last_error());
			sl[i].rc = TWOPC_EPROTO;
		}
		nng_msg_free(m);
	}
	for (size_t i = 0; i < n; i++) {
		results[i] = sl[i].rc;
		if (sl[i].aio != NULL)
			nng_aio_free(sl[i].aio);
		if (sl[i].open)
			RPC_CTX_CALL(nng_ctx_close(sl[i].ctx));
	}
	wire_buf_free(&b);
	free(sl);
	return 0;
}

int
rpc_call(nng_socket sock, const wire_msg *req, wire_msg *rep, int timeout_ms)
{
	int result;
	int rv = rpc_call_many(1, &sock, &req, rep, &result, timeout_ms);
	return rv ? rv : result;
}
