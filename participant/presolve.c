/*
 * presolve.c - the participant's part of manual resolution: a forced
 * (heuristic) outcome from the operator, and the heuristic records that
 * `twopc status` and `twopc list` show.
 *
 * `twopc resolve TXID --commit|--abort --force` sends RESOLVE straight to
 * every participant, for when the coordinator cannot be asked or its
 * decision cannot be delivered. Here:
 *
 *   state of TXID    --commit --force            --abort --force
 *   READY            apply workspace, COMMIT     discard workspace, ABORT
 *   INIT             refused (work incomplete)   discard, ABORT
 *   COMMIT, ABORT    left alone, reported        left alone, reported
 *   no record        left alone, reported NONE   left alone, reported NONE
 *
 * Applying goes through part_commit/part_abort, the path of a normal
 * decision, so the resource, locks, ask schedule and crash points are the
 * same. Then a heuristic row is forced: the outcome here was the
 * operator's, not the protocol's, and a later GLOBAL that disagrees will
 * be answered with the state we hold (a decision is final, section 4)
 * and logged as a protocol violation by both sides.
 *
 * A RESOLVE without the force flag is the coordinator's to handle; a
 * participant refuses it. RESOLVE NONE drops the heuristic row (the
 * operator has seen the damage).
 */
#include <stdio.h>
#include <string.h>

#include "heur.h"
#include "pdecide.h"
#include "presolve.h"
#include "serve.h"
#include "statlist.h"
#include "tlog.h"
#include "twopc/error.h"

/* heur_log_fn: a READY transaction is listed with the READY ones
 * already. */
static int
part_heur_log(void *arg, const char *txid, tx_state *state, uint64_t *epoch, char *ctx,
    size_t len)
{
	twopc_participant *p = arg;
	plog_txn t;
	memset(&t, 0, sizeof(t));
	int rv = plog_get(p->db, txid, &t);
	*state = rv == 0 ? t.state : TX_NONE;
	*epoch = t.epoch;
	snprintf(ctx, len, "peers=%s", rv == 0 ? t.peers : "");
	return rv == 0 && t.state == TX_READY;
}

void
part_heur_status(twopc_participant *p, statlist *l, const char *only, int64_t now)
{
	heur_status(p->db, l, only, now, part_heur_log, p);
}

/* The one-entry STATUS_REPLY: TXID's state here now, and DETAIL. */
static int
part_resolve_reply(twopc_participant *p, const char *txid, wire_msg *rep, const char *detail)
{
	plog_txn t;
	char note[HEUR_NOTE_MAX + 32];
	memset(&t, 0, sizeof(t));
	int have = plog_get(p->db, txid, &t) == 0;
	heur_note(p->db, txid, note, sizeof(note));
	return serve_resolved(rep, txid, have ? t.state : TX_NONE, t.epoch, detail, note);
}

/* RESOLVE NONE: drop TXID's heuristic row (the operator has seen the
 * damage). db lock held. */
static int
part_resolve_forget(twopc_participant *p, const wire_msg *req, wire_msg *rep, char *buf,
    size_t len)
{
	int rv = db_begin_lazy(p->db);
	int had = rv == 0 ? heur_del(p->db, req->txid) : rv;
	if (rv == 0 && had < 0)
		db_rollback(p->db);
	else if (rv == 0)
		rv = db_commit(p->db);
	if (rv != 0 || had < 0)
		return wire_reply_error(rep, TWOPC_EIO, "cannot write the log", buf, len);
	if (had)
		tlog_info("%s: heuristic record dropped by the operator", req->txid);
	return part_resolve_reply(p, req->txid, rep, had ? "heuristic record dropped" :
	    "no heuristic record");
}

/* The operator's decision on TXID (*T, undecided), applied as a normal
 * one would be, then its heuristic row forced. db lock held. */
static int
part_resolve_apply(twopc_participant *p, const wire_msg *req, plog_txn *t, wire_msg *rep,
    char *buf, size_t len)
{
	int commit = req->state == TX_COMMIT;
	char note[HEUR_NOTE_MAX];
	int rv;

	snprintf(note, sizeof(note), "%s -> %s by the operator (twopc resolve --force); "
	    "the coordinator's decision was not known here", tx_state_name(t->state),
	    commit ? "COMMIT" : "ABORT");
	rv = commit ? part_commit(p, req->txid, t) :
	    part_abort(p, req->txid, t, t->epoch, 1, "heuristic ABORT by the operator");
	if (rv == TWOPC_ERESOURCE)
		return wire_reply_error(rep, rv, "the resource refused to apply it; still READY", buf, len);
	if (rv != 0)
		return 0;
	/* crash here: the outcome is applied and forced, the heuristic row
	 * is not: status shows the state without the note. */
	if ((rv = db_begin(p->db)) == 0 &&
	    (rv = heur_put(p->db, req->txid, commit ? "COMMIT" : "ABORT", note)) != 0)
		db_rollback(p->db);
	if (rv == 0)
		rv = db_commit(p->db);
	if (rv != 0) {
		part_fail(p, "cannot write the heuristic record");
		return 0;
	}
	tlog_warn("%s: HEURISTIC %s by the operator: %s", req->txid, commit ? "COMMIT" : "ABORT",
	    note);
	return part_resolve_reply(p, req->txid, rep, "applied");
}

/* A forced RESOLVE of TXID, by its state here (the table above). db lock
 * held. */
static int
part_resolve_forced(twopc_participant *p, const wire_msg *req, wire_msg *rep, char *buf,
    size_t len)
{
	char note[HEUR_NOTE_MAX];
	plog_txn t;
	int rv = plog_get(p->db, req->txid, &t);
	if (rv == TWOPC_ENOENT)
		return part_resolve_reply(p, req->txid, rep, "no record here: nothing to resolve");
	if (rv != 0) {
		part_fail(p, "cannot read the log");
		return 0;
	}
	if (t.state == TX_COMMIT || t.state == TX_ABORT) {
		snprintf(note, sizeof(note), "already decided %s: left alone", tx_state_name(t.state));
		return part_resolve_reply(p, req->txid, rep, note);
	}
	if (req->state == TX_COMMIT && t.state != TX_READY) {
		snprintf(note, sizeof(note), "%s never voted (state %s): its work may be incomplete, "
		    "so it is not committed", p->self->name, tx_state_name(t.state));
		return wire_reply_error(rep, TWOPC_ESTATE, note, buf, len);
	}
	return part_resolve_apply(p, req, &t, rep, buf, len);
}

int
part_on_resolve(twopc_participant *p, const wire_msg *req, wire_msg *rep, char *buf, size_t len)
{
	int sent;
	if (req->state != TX_NONE && !req->force)
		return wire_reply_error(rep, TWOPC_ESTATE, "a participant applies only a forced "
		    "(heuristic) resolution; without --force the coordinator resolves", buf, len);
	db_lock(p->db);
	sent = req->state == TX_NONE ? part_resolve_forget(p, req, rep, buf, len) :
	    part_resolve_forced(p, req, rep, buf, len);
	db_unlock(p->db);
	return sent;
}
