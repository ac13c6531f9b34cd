/*
 * pvote.c - phase one at the participant; see pvote.h.
 */
#include "pvote.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crash.h"
#include "pdecide.h"
#include "ptxn.h"
#include "tlog.h"

static void
part_join_peers(const wire_msg *req, char *buf, size_t len)
{
	size_t at = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < req->npeers && at < len; i++)
		at += (size_t)snprintf(buf + at, len - at, "%s%s", i ? "," : "", req->peers[i]);
}

static int
part_vote_reply(wire_msg *rep, wire_type vote, char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* REP is VOTE; with FMT, the vote's text (in BUF). Returns 1. */
static int
part_vote_reply(wire_msg *rep, wire_type vote, char *buf, size_t len, const char *fmt, ...)
{
	rep->type = vote;
	if (fmt != NULL) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(buf, len, fmt, ap);
		va_end(ap);
		rep->text = buf;
	}
	return 1;
}

/* Lock every key of REQ for its txid, no wait here (R5: the coordinator
 * decides whether to wait, see part_vote_busy). 0; TWOPC_EBUSY with the
 * reason in TXN and the holder's txid in HOLDER; TWOPC_EIO. */
static int
part_vote_lock(twopc_participant *p, const wire_msg *req, twopc_txn *txn, char *holder,
    size_t hlen)
{
	for (size_t i = 0; i < req->nops; i++) {
#ifdef TWOPC_BUG_NO_LOCKS
		/* TEST-ONLY BUG VARIANT (breaks R5): no key locks, so two
		 * transactions stage from the same value and one update is lost. */
		break;
#endif
		int rv = plog_lock(p->db, req->txid, req->ops[i].key, holder, hlen);
		if (rv == TWOPC_EBUSY)
			snprintf(txn->reason, sizeof(txn->reason), "key '%.64s' is locked by %s",
			    req->ops[i].key, holder);
		if (rv != 0)
			return rv;
	}
	return 0;
}

/* The resource's prepare on REQ's work: its vote (a twopc_vote, or a
 * negative twopc_err). */
static int
part_vote_prepare(twopc_participant *p, const wire_msg *req, twopc_txn *txn)
{
	twopc_op *ops = calloc(req->nops ? req->nops : 1, sizeof(*ops));
	if (ops == NULL) {
		snprintf(txn->reason, sizeof(txn->reason), "out of memory");
		return TWOPC_ENOMEM;
	}
	for (size_t i = 0; i < req->nops; i++) {
		ops[i].op = wire_op_name(req->ops[i].op);
		ops[i].key = req->ops[i].key;
		ops[i].value = req->ops[i].value;
	}
	txn->in_prepare = 1;
	int vote = p->res.prepare(p->res.user, txn, ops, req->nops);
	txn->in_prepare = 0;
	free(ops);
	if (vote != TWOPC_VOTE_COMMIT && vote != TWOPC_VOTE_READONLY && txn->reason[0] == '\0')
		snprintf(txn->reason, sizeof(txn->reason), "resource voted ABORT%s%s",
		    vote < 0 ? ": " : "", vote < 0 ? twopc_strerror(vote) : "");
	return vote;
}

/* READ-ONLY: leave at once. Discard staging and locks, force the note of
 * the yes vote (a peer asking later must not hear an ABORT from us), then
 * answer. 1, or 0 when the log cannot be written. */
static int
part_vote_readonly(twopc_participant *p, const wire_msg *req, const plog_txn *t, wire_msg *rep)
{
	db_rollback(p->db);
	p->ro_notes = 1; /* before the note can exist; a rollback leaves it harmless */
	if (db_begin(p->db) != 0 ||
	    ptxn_readonly(p->db, req->txid, t, req->epoch) != 0 ||
	    part_store_epoch(p) != 0 ||
	    db_commit(p->db) != 0) {
		db_rollback(p->db);
		part_fail(p, "cannot write the log while voting");
		return 0;
	}
	rep->type = WIRE_VOTE_READONLY;
	return 1;
}

/* ABORT: discard staging, let the resource undo prepare, record ABORT.
 * Not forced (nothing depends on it): recorded so that a resent
 * VOTE_REQUEST gets the same vote. 1, or 0 when the log cannot be
 * written. */
static int
part_vote_abort(twopc_participant *p, const wire_msg *req, plog_txn *t, twopc_txn *txn,
    wire_msg *rep, char *buf, size_t len)
{
	db_rollback(p->db);
	if (p->res.abort != NULL)
		(void)p->res.abort(p->res.user, txn);
	if (db_begin_lazy(p->db) != 0 ||
	    ptxn_enter(p->db, req->txid, t, TX_ABORT, req->epoch, NULL, txn->reason) != 0 ||
	    part_store_epoch(p) != 0 ||
	    db_commit(p->db) != 0) {
		db_rollback(p->db);
		part_fail(p, "cannot write the log while voting");
		return 0;
	}
	return part_vote_reply(rep, WIRE_VOTE_ABORT, buf, len, "%s: %s", p->self->name,
	    txn->reason);
}

/* A key is held by READY transaction HOLDER: nothing of this request is
 * kept (its staging rolls back, no record: as if it never came), and the
 * answer says who holds the key (VOTE_ABORT flagged busy). The
 * coordinator sends the request again once HOLDER is decided, if waiting
 * cannot close a cycle (R5), or counts a NO vote. 1. */
static int
part_vote_busy(twopc_participant *p, const wire_msg *req, wire_msg *rep, char *buf, size_t len,
    const char *holder)
{
	db_rollback(p->db);
	tlog_debug("%s: busy: a key is held by READY %s", req->txid, holder);
	rep->flags = WIRE_FLAG_BUSY;
	return part_vote_reply(rep, WIRE_VOTE_ABORT, buf, len, "%s", holder);
}

/* COMMIT: enter READY, or, for a one-phase run with an atomic resource,
 * apply and enter COMMIT in this same SQLite transaction (our vote is the
 * decision; READY is never visible, so a crash leaves no record or
 * COMMIT; a resource writing outside this file forces READY first and
 * part_on_vote_request applies after). Then force it. 0,
 * TWOPC_ERESOURCE (the one-phase commit failed: the caller votes ABORT)
 * or TWOPC_EIO. */
static int
part_vote_commit(twopc_participant *p, const wire_msg *req, plog_txn *t, twopc_txn *txn)
{
	int rv;
	if ((req->flags & WIRE_FLAG_ONE_PHASE) && p->atomic_commit) {
		rv = part_apply_commit(txn, t, req->epoch, NULL, "one-phase commit",
		    "one-phase commit votes ABORT");
		if (rv == TWOPC_ERESOURCE) {
			snprintf(txn->reason, sizeof(txn->reason), "resource commit failed");
			return rv;
		}
	} else {
		rv = ptxn_enter(p->db, req->txid, t, TX_READY, req->epoch, NULL, NULL);
	}
	if (rv != 0 || (rv = part_store_epoch(p)) != 0) {
		db_rollback(p->db);
		return TWOPC_EIO;
	}
	/* crash here: work staged, READY (or a one-phase COMMIT) not forced;
	 * the SQLite transaction rolls back, so recovery finds no record and
	 * presumes ABORT. */
	crash_point("participant.before_ready_logged");
	if (db_commit(p->db) != 0)
		return TWOPC_EIO;
	/* crash here: READY is forced but no vote left; recovery asks for the
	 * decision, which the coordinator (vote timeout) makes ABORT. For a
	 * one-phase commit, COMMIT is written and the coordinator asks us
	 * (DECISION_REQUEST) when the vote does not come. */
	db_crash_committed(p->db, "participant.after_ready_logged");
	return 0;
}

/* Stage and vote on a run we have no (current) record of: *T is no
 * record, or the ABORT of an older run. db lock held. */
static int
part_vote_fresh(twopc_participant *p, const wire_msg *req, plog_txn *t, wire_msg *rep,
    char *buf, size_t len)
{
	twopc_txn txn = { .p = p, .txid = req->txid };
	char peers[sizeof(t->peers)];
	int rv;

	part_join_peers(req, peers, sizeof(peers));
#ifdef TWOPC_BUG_LAZY_READY
	/* TEST-ONLY BUG VARIANT (breaks R1): READY is not forced before the
	 * vote leaves; a power cut can lose it after the coordinator counted
	 * the vote. The powerloss harness must catch it. */
	rv = db_begin_lazy(p->db);
#else
	rv = db_begin(p->db);
#endif
	/* INIT: from here until the commit of this SQLite transaction,
	 * nothing is durable. */
	if (rv != 0)
		goto fail_io;
	if (ptxn_enter(p->db, req->txid, t, TX_INIT, req->epoch, peers, NULL) != 0) {
		db_rollback(p->db); /* illegal (logged; INIT writes nothing): no vote */
		return 0;
	}
	char holder[WIRE_TXID_MAX + 1];
	plog_txn h;
	rv = part_vote_lock(p, req, &txn, holder, sizeof(holder));
	if (rv == TWOPC_EBUSY && plog_get(p->db, holder, &h) == 0 && h.state == TX_READY)
		return part_vote_busy(p, req, rep, buf, len, holder);
	if (rv == TWOPC_EBUSY)
		return part_vote_abort(p, req, t, &txn, rep, buf, len);
	if (rv != 0)
		goto fail;
	int vote = part_vote_prepare(p, req, &txn);
	if (vote == TWOPC_VOTE_READONLY)
		return part_vote_readonly(p, req, t, rep);
	if (vote != TWOPC_VOTE_COMMIT)
		return part_vote_abort(p, req, t, &txn, rep, buf, len);
	rv = part_vote_commit(p, req, t, &txn);
	if (rv == TWOPC_ERESOURCE)
		return part_vote_abort(p, req, t, &txn, rep, buf, len);
	if (rv != 0)
		goto fail_io;
	rep->type = WIRE_VOTE_COMMIT;
	rep->crash_after_send = "participant.after_vote_sent";
	return 1;
fail:
	db_rollback(p->db);
fail_io:
	part_fail(p, "cannot write the log while voting");
	return 0;
}

/*
 * A VOTE_REQUEST for a txid with record *T (RV 0) or a READ-ONLY note:
 * answer from the log where it decides the vote. Returns 1 (REP filled),
 * or -1 when the request starts a new run here.
 */
static int
part_vote_known(twopc_participant *p, const wire_msg *req, int rv, const plog_txn *t,
    wire_msg *rep, char *buf, size_t len)
{
	uint64_t ro_epoch;
	const char *me = p->self->name;
	if (rv == TWOPC_ENOENT && p->ro_notes && plog_readonly_get(p->db, req->txid, &ro_epoch) == 0 &&
	    ro_epoch == req->epoch)
		/* A resent VOTE_REQUEST after a READ-ONLY vote: the same vote. */
		return part_vote_reply(rep, WIRE_VOTE_READONLY, buf, len, NULL);
	if (rv != 0)
		return -1;
	if (t->epoch == req->epoch) {
		/* A resent or duplicated VOTE_REQUEST: the same vote again. */
		if (t->state == TX_READY || t->state == TX_COMMIT)
			return part_vote_reply(rep, WIRE_VOTE_COMMIT, buf, len, NULL);
		return part_vote_reply(rep, WIRE_VOTE_ABORT, buf, len, "%s: already %s", me,
		    t->state == TX_ABORT ? "aborted" : tx_state_name(t->state));
	}
	if (t->epoch > req->epoch)
		/* The record belongs to a newer run than this request (a peer's
		 * DECISION_REQUEST can bring an epoch no VOTE_REQUEST has shown
		 * us yet). A late request of an older run must not replace it:
		 * a forced ABORT answer stays final (R8). */
		return part_vote_reply(rep, WIRE_VOTE_ABORT, buf, len,
		    "%s: txid already %s in newer epoch %llu", me, tx_state_name(t->state),
		    (unsigned long long)t->epoch);
	if (t->state == TX_COMMIT && (req->flags & WIRE_FLAG_ONE_PHASE))
		/* A one-phase run of a txid committed here: our log is the
		 * decision, and it says committed. */
		return part_vote_reply(rep, WIRE_VOTE_COMMIT, buf, len, NULL);
	if (t->state == TX_COMMIT)
		/* The coordinator lost its record (retention passed): never run a
		 * committed txid twice. */
		return part_vote_reply(rep, WIRE_VOTE_ABORT, buf, len,
		    "%s: txid already committed in epoch %llu", me, (unsigned long long)t->epoch);
	return -1;
}

/* One-phase with a resource outside the log: READY (our own COMMIT
 * decision) must be on disk before commit touches anything; then apply
 * and record COMMIT. If commit fails, READY stays and the background
 * thread applies it later (part_solo); the vote is COMMIT either way.
 * 1, or 0 when the handle failed. */
static int
part_vote_one_phase_apply(twopc_participant *p, const wire_msg *req)
{
	if (db_durable(p->db) != 0) {
		part_fail(p, "cannot force READY");
		return 0;
	}
	(void)part_decide(p, req->txid, TX_COMMIT, NULL);
	return !part_failed(p);
}

int
part_on_vote_request(twopc_participant *p, const wire_msg *req, wire_msg *rep, char *buf,
    size_t len)
{
	plog_txn t;
	int rv, send;

	if (part_stale(p, req, rep, buf, len))
		return 1;
	part_see_epoch(p, req->epoch);
	db_lock(p->db);
	rv = plog_get(p->db, req->txid, &t);
	if (rv == TWOPC_EIO) {
		db_unlock(p->db);
		part_fail(p, "cannot read the log");
		return 0;
	}
	if ((send = part_vote_known(p, req, rv, &t, rep, buf, len)) >= 0) {
		db_unlock(p->db);
		return send;
	}
	if (rv == TWOPC_ENOENT)
		memset(&t, 0, sizeof(t));
	/* R7: a new run of this txid exists only if the coordinator has no
	 * record of the old one, which by R2 never committed. */
	if ((t.state == TX_READY || t.state == TX_INIT) &&
	    part_abort(p, req->txid, &t, t.epoch, 0, "superseded by a run of a newer epoch") != 0) {
		db_unlock(p->db);
		return 0;
	}
	send = part_vote_fresh(p, req, &t, rep, buf, len);
	db_unlock(p->db);
	if (send && rep->type == WIRE_VOTE_COMMIT && (req->flags & WIRE_FLAG_ONE_PHASE) &&
	    !p->atomic_commit)
		send = part_vote_one_phase_apply(p, req);
	return send;
}
