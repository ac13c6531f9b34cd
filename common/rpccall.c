/*
 * rpccall.c - the REQ side of rpc.h: rpc_call, rpc_call_many (blocking,
 * one context per call) and the non-blocking batch (rpc_batch_*), whose
 * completion runs on NNG's threads.
 *
 * Every call opens its own context on the shared socket, under
 * RPC_CTX_CALL (rpcpriv.h), and closes it before its result is handed
 * back (rpc_call_many) or when the batch is freed. A whole call_many or
 * batch has one deadline: time spent sending leaves less for the reply.
 * A batch's FN runs exactly once, when its count of unfinished calls
 * (plus one held by rpc_batch_start while it starts them) reaches zero.
 */
#include "rpc.h"

#include <stdatomic.h>
#include <stdlib.h>

#include "db.h"
#include "rpcpriv.h"
#include "tlog.h"
#include "twopc/error.h"

/* One outstanding call of rpc_call_many. */
typedef struct rpc_call_slot {
	nng_ctx ctx;
	nng_aio *aio;
	int open;
	int rc;
} rpc_call_slot;

int
rpc_call_many(size_t n, const nng_socket *socks, const wire_msg *const *reqs,
    wire_msg *reps, int *results, int timeout_ms)
{
	rpc_call_slot *sl = calloc(n ? n : 1, sizeof(*sl));
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

/* ---- batches: rpc_call_many without a waiting thread ---- */

typedef struct rpc_bcall {
	struct rpc_batch *b;
	nng_ctx ctx;
	nng_aio *aio;
	int open;
	int sending;
	int rc;
	nng_msg *reply;
} rpc_bcall;

struct rpc_batch {
	size_t n;
	atomic_size_t left;      /* calls not finished, plus one while starting */
	int64_t deadline;
	rpc_batch_fn fn;
	void *arg;
	rpc_bcall c[];
};

static void
rpc_bcall_done(rpc_batch *b)
{
	if (atomic_fetch_sub(&b->left, 1) == 1)
		b->fn(b, b->arg);
}

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

int
rpc_batch_start(size_t n, const nng_socket *socks, const wire_msg *const *reqs,
    int timeout_ms, rpc_batch_fn fn, void *arg)
{
	rpc_batch *b = calloc(1, sizeof(*b) + (n ? n : 1) * sizeof(b->c[0]));
	wire_buf w = { 0 };
	if (b == NULL)
		return TWOPC_ENOMEM;
	b->n = n;
	b->fn = fn;
	b->arg = arg;
	b->deadline = mono_ms() + timeout_ms;
	atomic_store(&b->left, n + 1);
	for (size_t i = 0; i < n; i++) {
		rpc_bcall *k = &b->c[i];
		nng_msg *m = NULL;
		int rv;
		k->b = b;
		if ((k->rc = wire_encode(reqs[i], &w)) != 0) {
			rpc_bcall_done(b);
			continue;
		}
		RPC_CTX_CALL(rv = nng_ctx_open(&k->ctx, socks[i]));
		if (rv == 0) {
			k->open = 1;
			rv = nng_aio_alloc(&k->aio, rpc_bcall_cb, k);
		}
		if (rv == 0)
			rv = nng_msg_alloc(&m, 0);
		if (rv == 0 && (rv = nng_msg_append(m, w.data, w.len)) != 0)
			nng_msg_free(m);
		if (rv != 0) {
			k->rc = rpc_err(rv);
			rpc_bcall_done(b);
			continue;
		}
		k->sending = 1;
		nng_aio_set_timeout(k->aio, timeout_ms);
		nng_aio_set_msg(k->aio, m);
		RPC_CTX_CALL(nng_ctx_send(k->ctx, k->aio));
	}
	wire_buf_free(&w);
	rpc_bcall_done(b);
	return 0;
}

int
rpc_batch_result(rpc_batch *b, size_t i, wire_msg *rep)
{
	rpc_bcall *k = &b->c[i];
	if (k->rc != 0 || k->reply == NULL)
		return k->rc ? k->rc : TWOPC_EPROTO;
	nng_msg *m = k->reply;
	k->reply = NULL;
	int rc = wire_decode(nng_msg_body(m), nng_msg_len(m), rep);
	nng_msg_free(m);
	if (rc != 0) {
		tlog_warn("malformed reply: %s", wire_last_error());
		k->rc = TWOPC_EPROTO;
		return TWOPC_EPROTO;
	}
	k->rc = TWOPC_ESTATE;   /* read once */
	return 0;
}

void
rpc_batch_free(rpc_batch *b)
{
	if (b == NULL)
		return;
	for (size_t i = 0; i < b->n; i++) {
		rpc_bcall *k = &b->c[i];
		if (k->reply != NULL)
			nng_msg_free(k->reply);
		if (k->aio != NULL)
			nng_aio_free(k->aio);
		if (k->open)
			RPC_CTX_CALL(nng_ctx_close(k->ctx));
	}
	free(b);
}

int
rpc_call(nng_socket sock, const wire_msg *req, wire_msg *rep, int timeout_ms)
{
	int result;
	int rv = rpc_call_many(1, &sock, &req, rep, &result, timeout_ms);
	return rv ? rv : result;
}
