/*
 * rpcslot.c - a slot of the REP server (rpcsrv.c) on its way through NNG
 * and back: the receive, the hand-over to the work queue, and the reply
 * path (encode, seal, the gate, send or drop, re-arm).
 *
 * Contract (rpcsrvpriv.h): the aio callback never blocks; a slot's reply
 * is sent, or dropped and the slot re-armed, exactly once per request,
 * and a sent or dropped reply re-arms the receive unless the server is
 * stopping. Nothing here starts or stops the server or runs a handler
 * (rpcsrv.c does), so this file calls nothing of rpcsrv.c.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "crash.h"
#include "histo.h"
#include "rpcauth.h"
#include "rpcsrvpriv.h"
#include "tlimit.h"
#include "tlog.h"
#include "twopc/error.h"

/* Garbage must not flood the log (tlimit.h); every one is counted. */
static tlimit rpc_malformed_log = TLIMIT_INIT("dropped malformed messages");

void
rpc_note_malformed(rpc_server *s, const char *why, size_t len)
{
	uint64_t n = atomic_fetch_add(&s->malformed, 1) + 1;
	tlimit_log(&rpc_malformed_log, TLOG_WARN, "dropped malformed message #%llu on %s (%zu bytes): %s",
	    (unsigned long long)n, s->url, len, why);
}

/*
 * The slots' aio callback, on an NNG thread: never blocks. A received
 * request goes to the work queue; a sent reply re-arms the receive.
 * Server contexts are not called under rpc_close_lk: the server socket is
 * closed only by rpc_server_stop, after every slot's aio is stopped.
 */
void
rpc_slot_recv(rpc_slot *sl)
{
	sl->sending = 0;
	sl->admitted = 0;
	sl->msg = NULL;
	nng_ctx_recv(sl->ctx, sl->aio);
}

/* Wait for the slot's next request, unless the server is stopping. */
static void
rpc_slot_rearm(rpc_slot *sl)
{
	rpc_server *s = sl->s;
	pthread_mutex_lock(&s->mtx);
	int stop = s->stopping;
	pthread_mutex_unlock(&s->mtx);
	if (!stop)
		rpc_slot_recv(sl);
}

void
rpc_slot_cb(void *arg)
{
	rpc_slot *sl = arg;
	rpc_server *s = sl->s;
	int rv = nng_aio_result(sl->aio);

	if (sl->sending) {
		if (rv != 0)
			nng_msg_free(nng_aio_get_msg(sl->aio));
		else
			for (int i = 0; i < sl->crash_hits; i++)
				crash_point(sl->crash_after_send);
	} else if (rv == 0) {
		sl->msg = nng_aio_get_msg(sl->aio);
		pthread_mutex_lock(&s->mtx);
		sl->next = NULL;
		if (s->tail != NULL)
			s->tail->next = sl;
		else
			s->head = sl;
		s->tail = sl;
		pthread_cond_signal(&s->cv);
		pthread_mutex_unlock(&s->mtx);
		return;
	} else if (rv == NNG_ECLOSED || rv == NNG_ECANCELED) {
		return; /* stopping */
	}
	rpc_slot_rearm(sl);
}

/* Send the reply in SL->msg (or drop it: RC != 0). Any thread. */
static void
rpc_slot_reply(void *arg, int rc)
{
	rpc_slot *sl = arg;
	rpc_server *s = sl->s;
	if (rc != 0) {
		tlog_error("reply dropped on %s: %s", s->url, twopc_strerror(rc));
		rpc_slot_lats(sl, 0);
		nng_msg_free(sl->msg);
		if (s->o.fail != NULL)
			s->o.fail(s->o.user);
		rpc_slot_rearm(sl);
	} else {
		/* Stopping: the slots' aios are stopped, and a send begun on a
		 * stopped aio fails without its callback, so the reply would
		 * never be freed. Drop it; the peer resends. The send starts
		 * under the lock that rpc_server_stop sets the flag under, so
		 * a stop cannot come between the check and the send: a send
		 * begun first is cancelled by the stop, and its callback frees
		 * the message. (NNG completes a send on its own threads, never
		 * inside nng_ctx_send, so holding the lock here cannot wait on
		 * the callback that takes it.) */
		pthread_mutex_lock(&s->mtx);
		if (s->stopping) {
			pthread_mutex_unlock(&s->mtx);
			rpc_slot_lats(sl, 0);
			nng_msg_free(sl->msg);
			sl->msg = NULL;
			return;
		}
		rpc_slot_lats(sl, 1); /* a reply sent, not one dropped */
		sl->sending = 1;
		nng_aio_set_msg(sl->aio, sl->msg);
		sl->msg = NULL;
		rpc_count_send();
		nng_ctx_send(sl->ctx, sl->aio);
		pthread_mutex_unlock(&s->mtx);
	}
}

static void
rpc_slot_reply_gated(void *arg, int rc)
{
	rpc_slot *sl = arg;
	rpc_server *s = sl->s;
	rpc_slot_reply(arg, rc);
	pthread_mutex_lock(&s->mtx);
	if (--s->gated == 0 && s->stopping)
		pthread_cond_broadcast(&s->gated_cv);
	pthread_mutex_unlock(&s->mtx);
}

/* Send the N encoded bytes at DATA as SL's reply, through the gate. POINT
 * (or NULL) is hit HITS times once it is sent. 0, or -1 when it could not
 * be put in the message (the caller drops the reply). */
int
rpc_slot_send(rpc_server *s, rpc_slot *sl, const wire_buf *out, const char *point, int hits)
{
	uint8_t tag[WIRE_MAC_LEN];
	nng_msg_clear(sl->msg);
	if (sl->admitted) {
		int rv = rpc_auth_seal(sl->peer, out->data, out->len, sl->bind, sl->msg, tag);
		if (rv != 0) {
			tlog_error("cannot seal the reply to %s: %s", sl->peer, twopc_strerror(rv));
			return -1;
		}
	} else if (nng_msg_append(sl->msg, out->data, out->len) != 0)
		return -1;
	sl->crash_after_send = point;
	sl->crash_hits = point != NULL ? hits : 0;
	if (s->o.gate == NULL || sl->durable) {
		sl->durable = 0;
		rpc_slot_reply(sl, 0);
		return 0;
	}
	pthread_mutex_lock(&s->mtx);
	s->gated++;
	pthread_mutex_unlock(&s->mtx);
	s->o.gate(s->o.gate_arg, rpc_slot_reply_gated, sl);
	return 0;
}

/* Stamp and encode REP into OUT, freeing what the handler gave it to own.
 * 0 or a twopc_err (logged). */
int
rpc_encode_reply(rpc_server *s, wire_msg *rep, wire_buf *out)
{
	rep->epoch = s->o.epoch ? atomic_load(s->o.epoch) : 0;
	int erc = wire_encode(rep, out);
	free(rep->owned[0]);
	free(rep->owned[1]);
	rep->owned[0] = rep->owned[1] = NULL;
	if (erc != 0)
		tlog_error("cannot encode %s reply: %s", wire_type_name(rep->type), twopc_strerror(erc));
	return erc;
}

/* Send nothing; the slot waits for its next request. A request admitted
 * is released: NNG's resend of it is handled (rpcauth.h). */
void
rpc_slot_lats(rpc_slot *sl, int sent)
{
	int64_t ns = sent ? histo_now() - sl->t0 : 0;
	if (sent && sl->lat != NULL)
		histo_observe_n(sl->lat, ns, sl->lat_n);
	for (size_t k = 0; sent && k < sl->nlats; k++)
		if (sl->lats[k] != NULL)
			histo_observe_n(sl->lats[k], ns, 1);
	free(sl->lats);
	sl->lats = NULL;
	sl->nlats = 0;
	sl->lat = NULL;
}

void
rpc_slot_drop(rpc_slot *sl)
{
	rpc_slot_lats(sl, 0);
	if (sl->admitted)
		rpc_auth_release(sl->peer, sl->stamp);
	sl->admitted = 0;
	nng_msg_free(sl->msg);
	sl->msg = NULL;
	rpc_slot_rearm(sl);
}

/* Encode REP into SL's message and send it through the gate; or, with
 * REP NULL (or not encodable), send nothing and re-arm the slot. */
void
rpc_slot_finish(rpc_server *s, rpc_slot *sl, wire_msg *rep, wire_buf *out)
{
	if (rep == NULL || rpc_encode_reply(s, rep, out) != 0 ||
	    rpc_slot_send(s, sl, out, rep->crash_after_send, 1) != 0)
		rpc_slot_drop(sl);
}
