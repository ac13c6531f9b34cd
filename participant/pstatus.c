/*
 * pstatus.c - STATUS and GET at the participant; see pstatus.h.
 */
#include "pstatus.h"

#include <stdio.h>

#include "heur.h"
#include "presolve.h"
#include "serve.h"
#include "statlist.h"

typedef struct part_list {
	twopc_participant *p;
	statlist l;
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
	(void)statlist_add(&pl->l, txid, t->state, t->epoch,
	    serve_age_ms(pl->now, t->updated_at), detail);
}

/* STATUS_REQUEST: one txid, every unfinished (READY) transaction, or the
 * counters. */
int
part_on_status(twopc_participant *p, const wire_msg *req, wire_msg *rep)
{
	part_list pl = { .p = p, .now = db_now_ms() };
	if (statlist_init(&pl.l, req->state == 1 ? 256 : 16) != 0)
		return 0;
	if (req->state == 2) {
		serve_counters(&pl.l, p->db, p->srv);
		return statlist_reply(&pl.l, rep);
	}
	db_lock(p->db);
	if (req->state == 1) {
		(void)plog_each(p->db, TX_READY, 256, part_list_add, &pl);
		part_heur_status(p, &pl.l, NULL, pl.now);
	} else {
		plog_txn t;
		if (plog_get(p->db, req->txid, &t) == 0)
			part_list_add(&pl, req->txid, &t);
		else
			part_heur_status(p, &pl.l, req->txid, pl.now);
	}
	db_unlock(p->db);
	return statlist_reply(&pl.l, rep);
}

int
part_on_get(twopc_participant *p, const wire_msg *req, wire_msg *rep, char *buf, size_t len)
{
	if (p->res.read == NULL)
		return wire_reply_error(rep, TWOPC_EUNSUPPORTED, "this participant's resource cannot be read",
		    buf, len);
	db_lock(p->db);
	int rv = p->res.read(p->res.user, db_sqlite(p->db), req->text, buf, len);
	db_unlock(p->db);
	if (rv < 0)
		return wire_reply_error(rep, rv, twopc_strerror(rv), buf, len);
	rep->type = WIRE_GET_REPLY;
	rep->state = rv == 1;
	rep->text = rv == 1 ? buf : "";
	return 1;
}
