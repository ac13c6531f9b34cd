/*
 * pstatus.c - STATUS and GET at the participant; see pstatus.h.
 */
#include "pstatus.h"

#include <stdio.h>

#include "heur.h"
#include "mclock.h"
#include "presolve.h"
#include "serve.h"
#include "statlist.h"

typedef struct part_list {
	twopc_participant *p;
	statlist *l;
	int64_t now;
} part_list;

static void
part_list_add(void *arg, const char *txid, const plog_txn *t)
{
	part_list *pl = arg;
	char note[300], heur[600], detail[3200]; /* statlist cuts it */
	part_ask_note(pl->p, txid, note, sizeof(note));
	heur_note(pl->p->db, txid, heur, sizeof(heur));
	snprintf(detail, sizeof(detail), "peers=%s%s%s%s%s", t->peers, note[0] ? "; " : "", note,
	    heur[0] ? "; " : "", heur);
	(void)statlist_add(pl->l, txid, t->state, t->epoch,
	    serve_age_ms(pl->now, t->updated_at), detail);
}

/* serve_status: one txid, or every unfinished (READY) transaction. */
static void
part_status_list(void *arg, statlist *l, const char *only, int64_t now)
{
	part_list pl = { .p = arg, .l = l, .now = now };
	plog_txn t;
	if (only == NULL) {
		(void)plog_each(pl.p->db, TX_READY, 256, part_list_add, &pl);
		part_heur_status(pl.p, l, NULL, now);
	} else if (plog_get(pl.p->db, only, &t) == 0) {
		part_list_add(&pl, only, &t);
	} else {
		part_heur_status(pl.p, l, only, now);
	}
}

/* STATUS_REQUEST: one txid, every unfinished (READY) transaction, or the
 * counters. */
int
part_on_status(twopc_participant *p, const wire_msg *req, wire_msg *rep)
{
	return serve_status(req, rep, p->db, p->srv, 256, part_status_list, NULL, p);
}

/* 1 if KEY is held by a READY transaction (its txid in HOLDER): a read
 * must wait for its decision (R5). db lock held. */
static int
part_get_held(twopc_participant *p, const char *key, char *holder, size_t len)
{
	plog_txn t;
	return plog_lock_holder(p->db, key, holder, len) == 0 &&
	    plog_get(p->db, holder, &t) == 0 && t.state == TX_READY;
}

int
part_on_get(twopc_participant *p, const wire_msg *req, wire_msg *rep, char *buf, size_t len)
{
	char holder[WIRE_TXID_MAX + 1];
	int64_t deadline = mono_ms() + (int64_t)p->cfg->vote_timeout_ms;

	if (p->res.read == NULL)
		return wire_reply_error(rep, TWOPC_EUNSUPPORTED, "this participant's resource cannot be read",
		    buf, len);
	/* R5: a key held by a READY transaction waits for its decision
	 * (bounded by the vote timeout), so that a client reads its own
	 * committed writes although RESULT leaves before phase two. The read
	 * holds nothing while it waits, so it cannot be part of a cycle. */
	for (;;) {
		pthread_mutex_lock(&p->mtx);
		uint64_t seen = p->released;
		pthread_mutex_unlock(&p->mtx);
		db_lock(p->db);
		if (!part_get_held(p, req->text, holder, sizeof(holder)))
			break;
		db_unlock(p->db);
		int64_t left = deadline - mono_ms();
		if (left <= 0 || runstate_stopping(&p->run)) {
			char why[160];
			snprintf(why, sizeof(why), "key '%.40s' is held by transaction %s, undecided "
			    "after %u ms", req->text, holder, p->cfg->vote_timeout_ms);
			return wire_reply_error(rep, TWOPC_EBUSY, why, buf, len);
		}
		pthread_mutex_lock(&p->mtx);
		while (p->released == seen && !p->stopping && !p->failed &&
		    (left = deadline - mono_ms()) > 0)
			(void)mclock_cond_wait_ms(&p->released_cv, &p->mtx, (long)left);
		pthread_mutex_unlock(&p->mtx);
	}
	int rv = p->res.read(p->res.user, db_sqlite(p->db), req->text, buf, len);
	db_unlock(p->db);
	if (rv < 0)
		return wire_reply_error(rep, rv, twopc_strerror(rv), buf, len);
	rep->type = WIRE_GET_REPLY;
	rep->state = rv == 1;
	rep->text = rv == 1 ? buf : "";
	return 1;
}
