/*
 * rpcsrv.c - the REP server of rpc.h: RPC_SLOTS slots (a context, its aio,
 * one request in flight each), a work queue drained by a fixed pool of
 * worker threads, and what a worker does with a request: decode and
 * authenticate it. Running its handler, or a BATCH's handlers, and
 * giving the reply now or later are rpchandle.c's; a slot's trip through
 * NNG and the reply path (the gate, send, drop) are rpcslot.c's, both
 * below this file. The places a slot may be are listed in rpcsrvpriv.h.
 *
 * rpc_server_stop returns only when no slot is gated or deferred.
 */
#include "rpc.h"

#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <nng/protocol/reqrep0/rep.h>

#include "crash.h"
#include "histo.h"
#include "rpcauth.h"
#include "rpcpriv.h"
#include "rpcsrvpriv.h"
#include "tlimit.h"
#include "tlog.h"
#include "twopc/error.h"

static tlimit rpc_unauth_log = TLIMIT_INIT("refused unauthenticated messages");

/* Count and log (rate-limited) a request refused before any handler saw
 * it: it failed authentication, or is a replay. */
static void
rpc_note_unauth(rpc_server *s, const wire_msg *req, const char *why)
{
	char tx[WIRE_TXID_MAX * 4 + 1], from[WIRE_NAME_MAX * 4 + 1];
	atomic_fetch_add(&s->unauthenticated, 1);
	tlog_escape(tx, sizeof(tx), req->txid);
	tlog_escape(from, sizeof(from), req->sender);
	tlimit_log(&rpc_unauth_log, TLOG_WARN, "%s: refused %s claiming to be from %s on %s: %s",
	    tx[0] ? tx : "-", wire_type_name(req->type), from, s->url, why);
}

static tlimit rpc_pipes_log = TLIMIT_INIT("connections refused over the limit");

/* On an NNG thread, for each connection of the server's socket: one over
 * the limit is closed before it carries a message. Every pipe that saw
 * ADD_PRE also sees REM_POST (NNG 1.5 core/socket.c), closed or not. */
static void
rpc_pipe_cb(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	rpc_server *s = arg;
	if (ev == NNG_PIPE_EV_REM_POST) {
		atomic_fetch_sub(&s->pipes, 1);
		return;
	}
	if (ev != NNG_PIPE_EV_ADD_PRE)
		return;
	int open = atomic_fetch_add(&s->pipes, 1);
	if (open < s->max_pipes)
		return;
	atomic_fetch_add(&s->pipes_refused, 1);
	tlimit_log(&rpc_pipes_log, TLOG_WARN, "%s: connection closed: %d connections open (the limit)",
	    s->url, open);
	nng_pipe_close(p);
}

/* RPC_MAX_PIPES, or half the descriptor limit when that is lower. */
static int
rpc_pipe_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur / 2 >= RPC_MAX_PIPES)
		return RPC_MAX_PIPES;
	return rl.rlim_cur / 2 > 16 ? (int)(rl.rlim_cur / 2) : 16;
}

/*
 * Authenticate REQ, decoded from SL's message (rpcauth.h). 1: go on, its
 * reply will be sealed for its sender. 0: done with it: a copy of a
 * request admitted already gets no reply (the first copy's answers it);
 * a replay gets none either; a message that fails authentication is
 * answered with an unsealed ERROR saying why (its sender, if it is a
 * misconfigured node, logs it).
 */
static int
rpc_slot_admit(rpc_server *s, rpc_slot *sl, const wire_msg *req, wire_buf *out)
{
	const char *why = NULL;
	const uint8_t *raw = nng_msg_body(sl->msg);
	size_t len = nng_msg_len(sl->msg);

	if (rpc_auth_check(raw, len, req, NULL, NULL, &why) != 0) {
		static _Thread_local char text[256];
		wire_msg rep;
		rpc_note_unauth(s, req, why);
		snprintf(text, sizeof(text), "authentication failed: %s", why);
		wire_msg_init(&rep, 0, 0, req->txid, s->sender);
		wire_reply_error(&rep, TWOPC_EPROTO, text, text, sizeof(text));
		rpc_slot_finish(s, sl, &rep, out);
		return 0;
	}
	switch (rpc_auth_admit(req->sender, req->auth_stamp, &why)) {
	case 0:
		break;
	case RPC_AUTH_COPY:
		rpc_slot_finish(s, sl, NULL, out);
		return 0;
	default:
		rpc_note_unauth(s, req, why);
		rpc_slot_finish(s, sl, NULL, out);
		return 0;
	}
	sl->admitted = 1;
	sl->stamp = req->auth_stamp;
	memcpy(sl->bind, req->auth_tag, WIRE_MAC_LEN);
	snprintf(sl->peer, sizeof(sl->peer), "%s", req->sender);
	return 1;
}

/* Decode, handle, encode; then the reply goes through the gate. */
static void
rpc_slot_handle(rpc_server *s, rpc_slot *sl, wire_buf *out)
{
	nng_msg *msg = sl->msg;
	wire_msg req;
	sl->t0 = histo_now();
	sl->durable = 0;
	sl->lat = NULL;
	sl->lat_n = 0;
	int drc = wire_decode(nng_msg_body(msg), nng_msg_len(msg), &req);
	if (drc != 0) {
		rpc_note_malformed(s, drc == TWOPC_ETOOBIG ? "too large" : wire_last_error(),
		    nng_msg_len(msg));
		rpc_slot_finish(s, sl, NULL, out);
		return;
	}
	if (s->auth && !rpc_slot_admit(s, sl, &req, out)) {
		wire_msg_free(&req);
		return;
	}
	if (req.type == WIRE_BATCH) {
		rpc_slot_batch(s, sl, &req);
		wire_msg_free(&req);
		return;
	}
	rpc_slot_run(s, sl, &req, out);
}

static void *
rpc_worker(void *arg)
{
	rpc_server *s = arg;
	wire_buf out = { 0 };
	for (;;) {
		pthread_mutex_lock(&s->mtx);
		while (s->head == NULL && !s->stopping)
			pthread_cond_wait(&s->cv, &s->mtx);
		rpc_slot *sl = s->head;
		if (sl == NULL) {
			pthread_mutex_unlock(&s->mtx);
			break;
		}
		s->head = sl->next;
		if (s->head == NULL)
			s->tail = NULL;
		pthread_mutex_unlock(&s->mtx);
		rpc_slot_handle(s, sl, &out);
	}
	wire_buf_free(&out);
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

/*
 * Listen on URL with SOCK: a tls+tcp:// URL with the process's identity,
 * requiring every client to present a certificate signed by the CA
 * (rpctls.c); a client without one never gets a message through.
 * 0, an NNG error, or -1 (TLS, logged).
 */
static int
rpc_listen(nng_socket sock, const char *url)
{
	nng_listener l;
	nng_tls_config *tls;
	int rv;

	if (!rpc_tls_url(url))
		return nng_listen(sock, url, NULL, 0);
	if ((tls = rpc_tls_config(1, url)) == NULL)
		return -1;
	if ((rv = nng_listener_create(&l, sock, url)) == 0 &&
	    (rv = nng_listener_set_ptr(l, NNG_OPT_TLS_CONFIG, tls)) == 0)
		rv = nng_listener_start(l, 0);
	nng_tls_config_free(tls);
	return rv;
}

int
rpc_server_start(const char *url, const rpc_server_opts *o, rpc_server **out)
{
	rpc_server *s = calloc(1, sizeof(*s));
	int rv;

	if (s == NULL)
		return TWOPC_ENOMEM;
	s->o = *o;
	snprintf(s->sender, sizeof(s->sender), "%s", o->sender);
	s->o.sender = s->sender;
	snprintf(s->url, sizeof(s->url), "%s", url);
	/* A node of a cluster with keys: its own URL is bound (cfgtls.c). */
	s->auth = rpc_auth_peer(url) != NULL;
	pthread_mutex_init(&s->mtx, NULL);
	pthread_cond_init(&s->cv, NULL);
	pthread_cond_init(&s->gated_cv, NULL);
	if (rpc_ipc_in_use(url)) {
		tlog_error("cannot listen on %s: another process is listening there", url);
		rv = TWOPC_ENET;
		goto fail_free;
	}
	if ((rv = nng_rep0_open(&s->sock)) != 0) {
		rv = rpc_err(rv);
		goto fail_free;
	}
	s->max_pipes = rpc_pipe_limit();
	if ((rv = nng_pipe_notify(s->sock, NNG_PIPE_EV_ADD_PRE, rpc_pipe_cb, s)) != 0 ||
	    (rv = nng_pipe_notify(s->sock, NNG_PIPE_EV_REM_POST, rpc_pipe_cb, s)) != 0 ||
	    (rv = rpc_setup(s->sock)) != 0 || (rv = rpc_listen(s->sock, url)) != 0) {
		if (rv > 0)
			tlog_error("cannot listen on %s: %s", url, nng_strerror(rv));
		nng_close(s->sock);
		rv = rv > 0 ? TWOPC_ENET : TWOPC_ECONFIG;
		goto fail_free;
	}
	s->slots = calloc(RPC_SLOTS, sizeof(*s->slots));
	s->threads = calloc((size_t)(o->nworkers > 0 ? o->nworkers : 1), sizeof(pthread_t));
	if (s->slots == NULL || s->threads == NULL) {
		rv = TWOPC_ENOMEM;
		goto fail_stop;
	}
	for (int i = 0; i < o->nworkers; i++) {
		if (pthread_create(&s->threads[i], NULL, rpc_worker, s) != 0)
			break;
		s->nworkers++;
	}
	for (int i = 0; i < RPC_SLOTS; i++) {
		rpc_slot *sl = &s->slots[i];
		sl->s = s;
		if (nng_ctx_open(&sl->ctx, s->sock) != 0)
			break;
		if (nng_aio_alloc(&sl->aio, rpc_slot_cb, sl) != 0) {
			nng_ctx_close(sl->ctx);
			break;
		}
		s->nslots++;
	}
	if (s->nworkers == 0 || s->nslots == 0) {
		rv = TWOPC_ENOMEM;
		goto fail_stop;
	}
	for (int i = 0; i < s->nslots; i++)
		rpc_slot_recv(&s->slots[i]);
	*out = s;
	return 0;
fail_stop:
	rpc_server_stop(s);
	return rv;
fail_free:
	pthread_cond_destroy(&s->gated_cv);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mtx);
	free(s);
	return rv;
}

void
rpc_server_stop(rpc_server *s)
{
	if (s == NULL)
		return;
	pthread_mutex_lock(&s->mtx);
	s->stopping = 1;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mtx);
	/* No new request: every slot's aio stops (waiting for its callback). */
	for (int i = 0; i < s->nslots; i++)
		nng_aio_stop(s->slots[i].aio);
	for (int i = 0; i < s->nworkers; i++)
		pthread_join(s->threads[i], NULL);
	/* Requests received but not handled: drop them. */
	for (rpc_slot *sl = s->head; sl != NULL; sl = sl->next)
		nng_msg_free(sl->msg);
	s->head = s->tail = NULL;
	/* Replies held at the gate, or still to come from the handler's
	 * owner (which must answer them all, if only with NULL): wait. */
	pthread_mutex_lock(&s->mtx);
	while (s->gated > 0 || s->deferred > 0)
		pthread_cond_wait(&s->gated_cv, &s->mtx);
	pthread_mutex_unlock(&s->mtx);
	for (int i = 0; i < s->nslots; i++) {
		nng_aio_stop(s->slots[i].aio); /* a reply sent after the first stop */
		nng_aio_free(s->slots[i].aio);
		nng_ctx_close(s->slots[i].ctx);
	}
	nng_close(s->sock);
	pthread_cond_destroy(&s->gated_cv);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mtx);
	free(s->slots);
	free(s->threads);
	free(s);
}

uint64_t
rpc_server_malformed(rpc_server *s)
{
	return atomic_load(&s->malformed);
}

uint64_t
rpc_server_unauthenticated(rpc_server *s)
{
	return s ? atomic_load(&s->unauthenticated) : 0;
}

uint64_t
rpc_server_pipes_refused(rpc_server *s)
{
	return atomic_load(&s->pipes_refused);
}

int
rpc_server_max_pipes(rpc_server *s)
{
	return s->max_pipes;
}

uint64_t
rpc_server_requests(rpc_server *s)
{
	return s ? atomic_load(&s->requests) : 0;
}
