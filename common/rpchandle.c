/*
 * rpchandle.c - running the handler of a request and giving its reply:
 * at once, or later (rpc_defer), for a request that came alone or for
 * each message of a BATCH.
 *
 * A BATCH's messages are handled one by one, each as if it came alone,
 * and their replies gathered into one BATCH reply. A handler may answer
 * a message of a BATCH later, as it may a request that came alone (a
 * client's SUBMITs travel together, and each is answered when its
 * transaction ends). The replies are then gathered in an rpc_bpend until
 * the last one; the BATCH reply leaves from the thread that gives it,
 * through the gate unless every reply was given with rpc_reply_durable.
 * Until then the batch counts as one deferred slot (rpcsrvpriv.h), so
 * rpc_server_stop waits for it.
 *
 * Invariants:
 *  - Every message's reply is in the BATCH reply, at its index, or no
 *    reply leaves at all: a message that does not decode, or a handler
 *    that answers nothing (0, or rpc_reply_deferred with NULL), drops the
 *    whole reply (the peer asks again; every handler is idempotent). The
 *    messages after one that did not decode are not handled.
 *  - A BATCH in a group transaction (rpc_server_opts.group_begin) is
 *    committed before its reply goes to the gate: the worker holds one
 *    count of the pending batch until group_end has run.
 *  - The pending batch is freed exactly once, by whoever drops its count
 *    to zero: one per message, one held by the worker.
 *
 * Layering: below rpcsrv.c (which decodes, authenticates and calls
 * rpc_slot_run or rpc_slot_batch), above rpcslot.c (the reply path).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "histo.h"
#include "rpcsrvpriv.h"
#include "tlog.h"

/* The request whose handler runs on this thread (rpc_defer takes it; a
 * slot, or a message of a BATCH), and its decoded form (NULL once kept). */
static _Thread_local rpc_dhead *rpc_current;
static _Thread_local wire_msg *rpc_current_req;

int
rpc_batching(void)
{
	return rpc_current != NULL && rpc_current->item;
}

void
rpc_time_reply(struct histo *h)
{
	if (rpc_current != NULL)
		rpc_time_deferred((rpc_deferred *)rpc_current, h);
}

wire_msg *
rpc_keep_request(void)
{
	wire_msg *m = rpc_current_req != NULL ? malloc(sizeof(*m)) : NULL;
	if (m != NULL) {
		*m = *rpc_current_req;  /* the arena moves with it */
		rpc_current_req = NULL;
	}
	return m;
}

rpc_deferred *
rpc_defer(void)
{
	return (rpc_deferred *)rpc_current;
}

/* Run the handler on REQ (decoded into the caller's REQ, freed here
 * unless the handler kept it) for the request D, into REP. */
static int
rpc_run(rpc_server *s, rpc_dhead *d, wire_msg *req, wire_msg *rep)
{
	atomic_fetch_add(&s->requests, 1);
	wire_msg_init(rep, 0, 0, req->txid, s->sender);
	rpc_current = d;
	rpc_current_req = req;
	int send = s->o.handler(s->o.user, req, rep);
	rpc_current = NULL;
	if (rpc_current_req != NULL)
		wire_msg_free(req);
	rpc_current_req = NULL;
	if (send != 1 && send != RPC_DEFERRED) {
		free(rep->owned[0]);
		free(rep->owned[1]);
	}
	return send;
}

/* One deferred request (or BATCH) of S is answered: a stop waiting for
 * the last one goes on. */
static void
rpc_deferred_over(rpc_server *s)
{
	pthread_mutex_lock(&s->mtx);
	if (--s->deferred == 0 && s->stopping)
		pthread_cond_broadcast(&s->gated_cv);
	pthread_mutex_unlock(&s->mtx);
}

/* One message of a BATCH, as an rpc_deferred. */
typedef struct rpc_bitem {
	rpc_dhead d;
	struct rpc_bpend *p;
	size_t i;
} rpc_bitem;

/* A BATCH between its arrival and its reply. */
typedef struct rpc_bpend {
	rpc_server *s;
	rpc_slot *sl;
	pthread_mutex_t mtx;      /* the fields below */
	size_t n;                 /* messages in the BATCH */
	size_t left;              /* answers still to come, plus the worker's hold */
	int drop;                 /* a message will have no reply: none leaves */
	size_t given;             /* replies recorded (the bug variant BATCH_ORDER) */
	struct histo *lat[WIRE_BATCH_ITEMS]; /* each message's (rpc_time_*) */
	int gate;                 /* a reply not known durable: pass the gate */
	const char *point;        /* the crash point a reply carried ... */
	int hits;                 /* ... and how many did */
	wire_buf enc[WIRE_BATCH_ITEMS];
	wire_item items[WIRE_BATCH_ITEMS];
	rpc_bitem it[WIRE_BATCH_ITEMS];
} rpc_bpend;

/* Message IT's latency goes to H (the last one named wins). */
static void
rpc_bitem_time(rpc_bitem *it, struct histo *h)
{
	rpc_bpend *p = it->p;
	pthread_mutex_lock(&p->mtx);
	p->lat[it->i] = h;
	pthread_mutex_unlock(&p->mtx);
}

/* The BATCH reply of P, once every message has its answer: encoded and
 * sent, or dropped. Frees P. */
static void
rpc_bpend_finish(rpc_bpend *p)
{
	rpc_server *s = p->s;
	rpc_slot *sl = p->sl;
	wire_buf out = { 0 };
	wire_msg env;

	wire_msg_init(&env, WIRE_BATCH, s->o.epoch ? atomic_load(s->o.epoch) : 0, "", s->sender);
	env.nitems = p->n;
	env.items = p->items;
	out.limit = WIRE_MAX_BATCH;
	sl->durable = !p->gate;
	/* Each message's latency histogram, observed when the reply leaves. */
	sl->lats = malloc(p->n * sizeof(*sl->lats));
	if (sl->lats != NULL) {
		memcpy(sl->lats, p->lat, p->n * sizeof(*sl->lats));
		sl->nlats = p->n;
	}
	if (p->drop || wire_encode(&env, &out) != 0 || rpc_slot_send(s, sl, &out, p->point, p->hits) != 0) {
		sl->durable = 0;
		rpc_slot_drop(sl);
	}
	out.limit = 0;
	wire_buf_free(&out);
	for (size_t i = 0; i < p->n; i++)
		wire_buf_free(&p->enc[i]);
	pthread_mutex_destroy(&p->mtx);
	free(p);
	rpc_deferred_over(s);
}

/* Drop N of P's count; the last one sends the reply. */
static void
rpc_bpend_put(rpc_bpend *p, size_t n)
{
	pthread_mutex_lock(&p->mtx);
	p->left -= n;
	int last = p->left == 0;
	pthread_mutex_unlock(&p->mtx);
	if (last)
		rpc_bpend_finish(p);
}

/* Record REP (NULL: none) as the reply to message I of P, given by its
 * handler (or later, from any thread); DURABLE: it needs no gate. Does not
 * drop P's count. */
static void
rpc_bpend_record(rpc_bpend *p, size_t i, wire_msg *rep, int durable)
{
	wire_buf enc = { 0 };
	int ok = rep != NULL && rpc_encode_reply(p->s, rep, &enc) == 0;
	pthread_mutex_lock(&p->mtx);
#ifdef TWOPC_BUG_BATCH_ORDER
	/* Test-only bug: the replies in the order they are given, not each at
	 * its message's place. */
	i = p->given++;
#endif
	if (ok) {
		p->enc[i] = enc;
		p->items[i] = (wire_item){ enc.data, enc.len };
		if (!durable)
			p->gate = 1;
		if (rep->crash_after_send != NULL) {
			p->point = rep->crash_after_send;
			p->hits++;
		}
	} else {
		wire_buf_free(&enc);
		p->drop = 1;
	}
	pthread_mutex_unlock(&p->mtx);
}

static void
rpc_bitem_reply(rpc_bitem *it, wire_msg *rep, int durable)
{
	rpc_bpend *p = it->p;
	if (rep != NULL)
		snprintf(rep->sender, sizeof(rep->sender), "%s", p->s->sender);
	rpc_bpend_record(p, it->i, rep, durable);
	rpc_bpend_put(p, 1);
}

void
rpc_slot_batch(rpc_server *s, rpc_slot *sl, const wire_msg *batch)
{
	rpc_bpend *p = calloc(1, sizeof(*p));
	if (p == NULL) {
		tlog_error("BATCH of %zu messages on %s dropped: out of memory", batch->nitems, s->url);
		rpc_slot_drop(sl);
		return;
	}
	p->s = s;
	p->sl = sl;
	p->n = batch->nitems;
	p->left = batch->nitems + 1;
	pthread_mutex_init(&p->mtx, NULL);
	pthread_mutex_lock(&s->mtx);
	s->deferred++; /* until the reply leaves: rpc_bpend_finish */
	pthread_mutex_unlock(&s->mtx);

	int grouped = s->o.group_begin != NULL && s->o.group_begin(s->o.user) == 0;
	size_t handled = 0;
	for (; handled < batch->nitems; handled++) {
		size_t i = handled;
		wire_msg in, rep;
		if (wire_batch_item(batch, i, &in) != 0) {
			rpc_note_malformed(s, wire_last_error(), batch->items[i].len);
			pthread_mutex_lock(&p->mtx);
			p->drop = 1;
			pthread_mutex_unlock(&p->mtx);
			break;
		}
		p->it[i] = (rpc_bitem){ .d = { 1 }, .p = p, .i = i };
		int send = rpc_run(s, &p->it[i].d, &in, &rep);
		if (send == RPC_DEFERRED)
			continue; /* its handler answers it: rpc_reply_deferred */
		rpc_bpend_record(p, i, send == 1 ? &rep : NULL, 0);
		rpc_bpend_put(p, 1);
	}
	if (grouped)
		s->o.group_end(s->o.user);
	/* The messages never handled, and the worker's hold. */
	rpc_bpend_put(p, batch->nitems - handled + 1);
}

void
rpc_slot_run(rpc_server *s, rpc_slot *sl, wire_msg *req, wire_buf *out)
{
	wire_msg rep;
	pthread_mutex_lock(&s->mtx);
	s->deferred++; /* until the handler returns: it may answer at once */
	pthread_mutex_unlock(&s->mtx);
	int send = rpc_run(s, &sl->d, req, &rep);
	if (send == RPC_DEFERRED)
		return; /* the handler owns the slot: rpc_reply_deferred() */
	pthread_mutex_lock(&s->mtx);
	s->deferred--;
	pthread_mutex_unlock(&s->mtx);
	rpc_slot_finish(s, sl, send == 1 ? &rep : NULL, out);
}

/* The reply to SL, which came alone, given later. */
static void
rpc_slot_reply_later(rpc_slot *sl, wire_msg *rep, int durable)
{
	rpc_server *s = sl->s;
	wire_buf out = { 0 };
	if (rep != NULL)
		snprintf(rep->sender, sizeof(rep->sender), "%s", s->sender);
	sl->durable = durable;
	rpc_slot_finish(s, sl, rep, &out);
	wire_buf_free(&out);
	rpc_deferred_over(s);
}

/* The reply REP to D, given later; DURABLE: it needs no gate. */
static void
rpc_reply_later(rpc_deferred *d, wire_msg *rep, int durable)
{
	rpc_dhead *h = (rpc_dhead *)d;
	if (h->item)
		rpc_bitem_reply((rpc_bitem *)h, rep, durable);
	else
		rpc_slot_reply_later((rpc_slot *)h, rep, durable);
}

void
rpc_reply_deferred(rpc_deferred *d, wire_msg *rep)
{
	rpc_reply_later(d, rep, 0);
}

void
rpc_reply_durable(rpc_deferred *d, wire_msg *rep)
{
	rpc_reply_later(d, rep, 1);
}

void
rpc_time_deferred(rpc_deferred *d, struct histo *h)
{
	rpc_dhead *dh = (rpc_dhead *)d;
	if (dh->item) {
		rpc_bitem_time((rpc_bitem *)dh, h);
	} else {
		((rpc_slot *)dh)->lat = h;
		((rpc_slot *)dh)->lat_n = 1;
	}
}
