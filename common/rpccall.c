/*
 * rpccall.c - the REQ side of rpc.h: starting the non-blocking batch of
 * calls (rpc_batch_start; their completion runs on NNG's threads, and
 * rpcbatch.c reads their outcome), and rpc_call / rpc_call_many, which
 * wait for one.
 *
 * A protocol request, or a client's SUBMIT, goes through its peer's
 * channel (rpcchan.c), which may share one message with other requests
 * to that peer; a SUBMIT is never sent twice (a SUBMIT without a txid
 * must not run twice). Any other client's request goes alone on its own
 * context of the shared socket, opened under RPC_CTX_CALL (rpcpriv.h)
 * and closed when the batch is freed. A
 * batch has one deadline: time spent sending leaves less for the reply.
 * Its FN runs exactly once, when its count of unfinished calls (plus one
 * held by rpc_batch_start while it starts them) reaches zero.
 */
#include "rpc.h"

#include <stdatomic.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mclock.h"
#include "rpcauth.h"
#include "rpcpriv.h"
#include "tlog.h"
#include "twopc/error.h"

/*
 * The calls' aio callback, on an NNG thread. The receive is posted here
 * without rpc_close_lk: a batch's sockets are not closed while it runs
 * (rpc.h), and taking the lock here could wait on a close that waits on
 * NNG's threads.
 */
static void
rpc_bcall_cb(void *arg)
{
	rpc_bcall *k = arg;
	int rv = nng_aio_result(k->aio);
	if (k->sending) {
		k->sending = 0;
		if (rv != 0) {
			nng_msg_free(nng_aio_get_msg(k->aio));
			k->rc = rpc_err(rv);
			rpc_bcall_done(k->b);
			return;
		}
		int64_t left = k->b->deadline - mono_ms();
		nng_aio_set_timeout(k->aio, left > 0 ? (nng_duration)left : 1);
		nng_ctx_recv(k->ctx, k->aio);
		return;
	}
	if (rv != 0)
		k->rc = rpc_err(rv);
	else
		k->reply = nng_aio_get_msg(k->aio);
	rpc_bcall_done(k->b);
}

/* Call K alone on its own context of SOCK (a client's request other than
 * a SUBMIT: each is answered on its own). */
static void
rpc_bcall_alone(rpc_bcall *k, nng_socket sock, int timeout_ms)
{
	nng_msg *m = NULL;
	int rv;
	RPC_CTX_CALL(rv = nng_ctx_open(&k->ctx, sock));
	if (rv == 0) {
		k->open = 1;
		rv = nng_aio_alloc(&k->aio, rpc_bcall_cb, k);
	}
	if (rv == 0)
		rv = nng_msg_alloc(&m, 0);
	k->peer = rv == 0 ? rpc_sock_peer(sock) : NULL;
	if (k->peer != NULL) {
		int arc = rpc_auth_seal(k->peer, k->req.data, k->req.len, NULL, m, k->tag);
		if (arc != 0) {
			nng_msg_free(m);
			k->rc = arc;
			rpc_bcall_done(k->b);
			return;
		}
	} else if (rv == 0 && (rv = nng_msg_append(m, k->req.data, k->req.len)) != 0)
		nng_msg_free(m);
	if (rv != 0) {
		k->rc = rpc_err(rv);
		rpc_bcall_done(k->b);
		return;
	}
	k->sending = 1;
	nng_aio_set_timeout(k->aio, timeout_ms);
	nng_aio_set_msg(k->aio, m);
	rpc_count_send();
	RPC_CTX_CALL(nng_ctx_send(k->ctx, k->aio));
}

int
rpc_batch_start(size_t n, const nng_socket *socks, const wire_msg *const *reqs,
    int timeout_ms, rpc_batch_fn fn, void *arg)
{
	rpc_batch *b = calloc(1, sizeof(*b) + (n ? n : 1) * sizeof(b->c[0]));
	if (b == NULL)
		return TWOPC_ENOMEM;
	b->n = n;
	b->fn = fn;
	b->arg = arg;
	b->deadline = mono_ms() + timeout_ms;
	atomic_store(&b->left, n + 1);
	for (size_t i = 0; i < n; i++) {
		rpc_bcall *k = &b->c[i];
		k->b = b;
		k->deadline = b->deadline;
		k->epoch = reqs[i]->epoch;
		k->lazy = wire_may_linger(reqs[i]->type);
		k->once = reqs[i]->type == WIRE_SUBMIT;
		snprintf(k->sender, sizeof(k->sender), "%s", reqs[i]->sender);
		if ((k->rc = wire_encode(reqs[i], &k->req)) != 0)
			rpc_bcall_done(b);
		else if (wire_from_client(reqs[i]->type) && !k->once)
			rpc_bcall_alone(k, socks[i], timeout_ms);
		else
			rpc_chan_send(socks[i], k);
	}
	rpc_bcall_done(b);
	return 0;
}

/* rpc_call_many's wait for its batch. */
typedef struct rpc_waiter {
	pthread_mutex_t mtx;
	pthread_cond_t cv;
	rpc_batch *done;
} rpc_waiter;

static void
rpc_waiter_wake(rpc_batch *b, void *arg)
{
	rpc_waiter *w = arg;
	pthread_mutex_lock(&w->mtx);
	w->done = b;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mtx);
}

int
rpc_call_many(size_t n, const nng_socket *socks, const wire_msg *const *reqs,
    wire_msg *reps, int *results, int timeout_ms)
{
	rpc_waiter w = { .done = NULL };
	pthread_mutex_init(&w.mtx, NULL);
	pthread_cond_init(&w.cv, NULL);
	int rv = rpc_batch_start(n, socks, reqs, timeout_ms, rpc_waiter_wake, &w);
	if (rv == 0) {
		pthread_mutex_lock(&w.mtx);
		while (w.done == NULL)
			pthread_cond_wait(&w.cv, &w.mtx);
		pthread_mutex_unlock(&w.mtx);
		for (size_t i = 0; i < n; i++)
			results[i] = rpc_batch_result(w.done, i, &reps[i]);
		rpc_batch_free(w.done);
	}
	pthread_cond_destroy(&w.cv);
	pthread_mutex_destroy(&w.mtx);
	return rv;
}

int
rpc_call(nng_socket sock, const wire_msg *req, wire_msg *rep, int timeout_ms)
{
	int result;
	int rv = rpc_call_many(1, &sock, &req, rep, &result, timeout_ms);
	return rv ? rv : result;
}
