/*
 * pdecide.c - phase two at the participant; see pdecide.h.
 */
#include "pdecide.h"

#include <string.h>

#include "crash.h"
#include "ptxn.h"
#include "tlimit.h"
#include "tlog.h"

/* The coordinator resends a decision until it is ACKed: these lines can
 * repeat every ack_retry_ms for as long as the cause lasts, so they are
 * rate-limited, with a count of what was left out (tlimit.h). */
static tlimit pdecide_unknown_log = TLIMIT_INIT("GLOBAL_COMMITs with no record here");
static tlimit pdecide_violation_log = TLIMIT_INIT("decisions contradicting the log");

int
part_apply_commit(twopc_txn *txn, plog_txn *t, uint64_t epoch, const char *peers,
    const char *why, const char *on_fail)
{
	twopc_participant *p = txn->p;
	int rv = plog_ws_load(p->db, txn->txid, &txn->ws);
	if (rv != 0)
		return rv == TWOPC_ENOMEM ? TWOPC_ERESOURCE : TWOPC_EIO;
	rv = p->res.commit(p->res.user, txn);
	plog_ws_free(&txn->ws);
	if (rv != 0) {
		tlog_warn("%s: resource commit failed (%s); %s", txn->txid, twopc_strerror(rv),
		    on_fail);
		return TWOPC_ERESOURCE;
	}
	if ((rv = plog_release(p->db, txn->txid)) != 0 ||
	    (rv = ptxn_enter(p->db, txn->txid, t, TX_COMMIT, epoch, peers, why)) != 0)
		return rv;
	return part_store_epoch(p);
}

int
part_commit(twopc_participant *p, const char *txid, plog_txn *t)
{
	twopc_txn txn = { .p = p, .txid = txid };
	int rv;

	/* crash here: READY is forced, nothing applied; recovery asks for the
	 * decision and applies the workspace then. */
	crash_point("participant.before_commit_applied");
	if ((rv = db_begin(p->db)) != 0)
		goto fail_io;
	rv = part_apply_commit(&txn, t, t->epoch, NULL, NULL, "staying READY, will retry");
	if (rv != 0)
		db_rollback(p->db);
	if (rv == TWOPC_ERESOURCE || rv == TWOPC_ESTATE)
		return rv;
	if (rv != 0 || (rv = db_commit(p->db)) != 0)
		goto fail_io;
	/* crash here: COMMIT is forced and applied; recovery ACKs the next
	 * GLOBAL_COMMIT from the log. */
	db_crash_committed(p->db, "participant.after_commit_applied");
	part_ask_drop(p, txid);
	return 0;
fail_io:
	part_fail(p, "cannot force COMMIT to the log");
	return TWOPC_EIO;
}

/* Call the resource's abort for READY TXID (it staged work). 0 or the
 * callback's error. */
static int
part_abort_resource(twopc_participant *p, const char *txid)
{
	twopc_txn txn = { .p = p, .txid = txid };
	if (p->res.abort == NULL || plog_ws_load(p->db, txid, &txn.ws) != 0)
		return 0;
	int rv = p->res.abort(p->res.user, &txn);
	plog_ws_free(&txn.ws);
	if (rv != 0)
		tlog_warn("%s: resource abort failed (%s); will retry", txid, twopc_strerror(rv));
	return rv;
}

int
part_abort(twopc_participant *p, const char *txid, plog_txn *t, uint64_t epoch, int force,
    const char *why)
{
	int rv;

	/* crash here: the decision is ABORT (or the vote was), nothing written;
	 * recovery finds READY (asks, hears ABORT) or no record (presumed). */
	crash_point("participant.before_abort_applied");
	if ((rv = force ? db_begin(p->db) : db_begin_lazy(p->db)) != 0)
		goto fail_io;
	if (t->state == TX_READY && part_abort_resource(p, txid) != 0) {
		db_rollback(p->db);
		return TWOPC_ERESOURCE;
	}
	if ((rv = plog_release(p->db, txid)) != 0 ||
	    (rv = ptxn_enter(p->db, txid, t, TX_ABORT, epoch, NULL, why)) != 0 ||
	    (rv = part_store_epoch(p)) != 0) {
		db_rollback(p->db);
		if (rv == TWOPC_ESTATE)
			return rv;
		goto fail_io;
	}
	if ((rv = db_commit(p->db)) != 0)
		goto fail_io;
	/* crash here: ABORT is written (forced only when it answers a peer),
	 * workspace and locks gone; recovery has nothing to do. */
	db_crash_committed(p->db, "participant.after_abort_applied");
	part_ask_drop(p, txid);
	return 0;
fail_io:
	part_fail(p, "cannot write ABORT to the log");
	return TWOPC_EIO;
}

int
part_decide(twopc_participant *p, const char *txid, tx_state decision, const char *why)
{
	plog_txn t;
	int rv = 0;
	db_lock(p->db);
	if (plog_get(p->db, txid, &t) == 0 && t.state == TX_READY)
		rv = decision == TX_COMMIT ? part_commit(p, txid, &t) :
		    part_abort(p, txid, &t, t.epoch, 0, why);
	db_unlock(p->db);
	return rv;
}

/* GLOBAL_* for a txid with no record here, db lock held (and released). */
static int
part_global_unknown(twopc_participant *p, const wire_msg *req, wire_msg *rep, char *buf,
    size_t len)
{
	plog_txn t;
	if (req->type == WIRE_GLOBAL_COMMIT) {
		db_unlock(p->db);
		tlimit_log(&pdecide_unknown_log, TLOG_ERROR, "%s: GLOBAL_COMMIT for a transaction "
		    "with no record here (the log was lost or replaced?)", req->txid);
		return wire_reply_error(rep, TWOPC_ENOENT, "no record of this transaction", buf, len);
	}
	/* Reordered: the decision came before the vote request. Remember it
	 * so the late VOTE_REQUEST gets VOTE_ABORT. In the same hold of the
	 * lock as the lookup: a VOTE_REQUEST let in between would stage READY,
	 * which this ABORT would overwrite as "no record", skipping the
	 * resource's abort. */
	memset(&t, 0, sizeof(t));
	int rv = part_abort(p, req->txid, &t, req->epoch, 0, "GLOBAL_ABORT before any vote");
	db_unlock(p->db);
	if (rv != 0)
		return 0;
	rep->type = WIRE_ACK;
	rep->state = TX_ABORT;
	return 1;
}

int
part_on_global(twopc_participant *p, const wire_msg *req, wire_msg *rep, char *buf,
    size_t len)
{
	int commit = req->type == WIRE_GLOBAL_COMMIT;
	plog_txn t;
	uint64_t ro_epoch;

	if (part_stale(p, req, rep, buf, len))
		return 1;
	part_see_epoch(p, req->epoch);
	db_lock(p->db);
	int rv = plog_get(p->db, req->txid, &t);
	if (rv == TWOPC_ENOENT && commit && plog_readonly_get(p->db, req->txid, &ro_epoch) == 0) {
		/* We voted READ-ONLY: nothing to apply, and the decision is fine. */
		db_unlock(p->db);
		rep->type = WIRE_ACK;
		rep->state = TX_COMMIT;
		return 1;
	}
	if (rv == TWOPC_ENOENT)
		return part_global_unknown(p, req, rep, buf, len);
	if (rv != 0) {
		db_unlock(p->db);
		part_fail(p, "cannot read the log");
		return 0;
	}
	if (t.state == TX_READY || t.state == TX_INIT) {
		rv = commit ? part_commit(p, req->txid, &t) :
		    part_abort(p, req->txid, &t, t.epoch, 0, "GLOBAL_ABORT");
		if (rv != 0) {
			db_unlock(p->db);
			return 0; /* no ACK: the coordinator resends */
		}
	} else if ((t.state == TX_COMMIT) != commit) {
		/* A decision once forced is final (DESIGN section 4). */
		tlimit_log(&pdecide_violation_log, TLOG_ERROR,
		    "%s: PROTOCOL VIOLATION: %s from %s but the log says %s; keeping %s",
		    req->txid, wire_type_name(req->type), req->sender, tx_state_name(t.state),
		    tx_state_name(t.state));
	}
	db_unlock(p->db);
	rep->type = WIRE_ACK;
	rep->state = (uint8_t)t.state;
	return 1;
}

/* FORGET (R9): the coordinator recorded END, so nobody can ask about these
 * COMMIT records or READ-ONLY notes any more (a note answers a restarted
 * coordinator's question READY: dropped earlier, the answer would be
 * ABORT for a transaction that may have committed). Lazy: losing the
 * deletion only keeps a row. */
int
part_on_forget(twopc_participant *p, const wire_msg *req, wire_msg *rep, char *buf, size_t len)
{
	if (part_stale(p, req, rep, buf, len))
		return 1;
	db_lock(p->db);
	if (db_begin_lazy(p->db) != 0) {
		db_unlock(p->db);
		return 0;
	}
	for (size_t i = 0; i < req->ntxids; i++) {
		/* Usually a COMMIT record: one statement. Else a note, if
		 * there is no record at all. */
		plog_txn t;
		if (ptxn_forget(p->db, req->txids[i]) == 0 &&
		    plog_get(p->db, req->txids[i], &t) == TWOPC_ENOENT)
			(void)plog_readonly_drop(p->db, req->txids[i]);
	}
	if (db_commit(p->db) != 0) {
		db_unlock(p->db);
		part_fail(p, "cannot write the log");
		return 0;
	}
	db_unlock(p->db);
	rep->type = WIRE_IAMALIVE;
	return 1;
}
