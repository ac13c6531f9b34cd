/*
 * rpcbatch.c - a batch of calls (rpc.h, rpc_batch_*): how each call
 * ends (rpc_bcall_end, from its peer's channel or its own context) and
 * how its outcome is read and freed. The batch's FN runs exactly once,
 * when its count of unfinished calls (plus one held by rpc_batch_start
 * while it starts them) reaches zero. Below rpcchan.c and rpccall.c,
 * which start the calls; calls nothing of the module but rpcbase.c.
 */
#include "rpc.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "rpcpriv.h"
#include "tlog.h"
#include "twopc/error.h"

void
rpc_bcall_done(rpc_batch *b)
{
	if (atomic_fetch_sub(&b->left, 1) == 1)
		b->fn(b, b->arg);
}

void
rpc_bcall_end(rpc_bcall *k, int rc, const uint8_t *reply, size_t len)
{
	k->rc = rc;
	if (rc == 0 && (k->rbuf = malloc(len ? len : 1)) == NULL)
		k->rc = TWOPC_ENOMEM;
	else if (rc == 0) {
		memcpy(k->rbuf, reply, len);
		k->rlen = len;
	}
	rpc_bcall_done(k->b);
}

int
rpc_batch_result(rpc_batch *b, size_t i, wire_msg *rep)
{
	rpc_bcall *k = &b->c[i];
	int rc;
	if (k->rc != 0 || (k->reply == NULL && k->rbuf == NULL))
		return k->rc ? k->rc : TWOPC_EPROTO;
	if (k->reply != NULL) {
		rc = wire_decode(nng_msg_body(k->reply), nng_msg_len(k->reply), rep);
		if (rc == 0 && k->peer != NULL &&
		    rpc_reply_check(nng_msg_body(k->reply), nng_msg_len(k->reply), rep, k->peer,
		    k->tag) != 0) {
			wire_msg_free(rep);
			nng_msg_free(k->reply);
			k->reply = NULL;
			k->rc = TWOPC_EPROTO;
			return TWOPC_EPROTO;
		}
		nng_msg_free(k->reply);
		k->reply = NULL;
	} else {
		rc = wire_decode(k->rbuf, k->rlen, rep);
		free(k->rbuf);
		k->rbuf = NULL;
	}
	if (rc != 0) {
		tlimit_log(&rpc_bad_reply_log, TLOG_WARN, "malformed reply: %s", wire_last_error());
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
		free(k->rbuf);
		wire_buf_free(&k->req);
		if (k->aio != NULL)
			nng_aio_free(k->aio);
		if (k->open)
			RPC_CTX_CALL(nng_ctx_close(k->ctx));
	}
	free(b);
}
