/*
 * part.c - the participant library: handle lifecycle, message handlers and
 * the participant state machine.
 *
 *            VOTE_REQUEST                 GLOBAL_COMMIT / decision COMMIT
 *   (none) ---------------> INIT ---------> READY ------------------> COMMIT
 *                             |  forced       |
 *                 vote ABORT  |               | GLOBAL_ABORT / decision ABORT
 *                             v               v
 *                           ABORT <-----------+
 *
 * INIT lives only inside the SQLite transaction that stages the work: it is
 * never durable, so after a crash "INIT" and "no record" are the same thing
 * and both mean ABORT (DESIGN section 3). READY is forced with the
 * workspace and locks before VOTE_COMMIT leaves (R1). COMMIT is forced in
 * the transaction that applies the workspace, before the ACK (R3). ABORT
 * is forced only when it is reported to another process as an answer (R8).
 *
 * Every handler is idempotent (NNG's REQ resends): it looks at the logged
 * state first and answers from it.
 */
#include "part.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crash.h"
#include "mclock.h"
#include "statlist.h"
#include "tlog.h"
#include "txstate.h"

/* Handler threads. Handlers never wait for a sync (the reply waits at
 * the gate instead) and serialize on the log's lock, so a few suffice. */
#define PART_WORKERS 4

const char *
twopc_version(void)
{
	return TWOPC_VERSION_STRING;
}

void
twopc_set_log(void (*fn)(void *, int, const char *), void *user, int max_level)
{
	tlog_set_sink(fn, user, max_level);
}

void
part_fail(twopc_participant *p, const char *why)
{
	pthread_mutex_lock(&p->mtx);
	if (!p->failed)
		tlog_error("stopping: %s; nothing more will be promised until restart", why);
	p->failed = 1;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mtx);
}

static int
part_failed(twopc_participant *p)
{
	pthread_mutex_lock(&p->mtx);
	int f = p->failed;
	pthread_mutex_unlock(&p->mtx);
	return f;
}

/* ---- the txn handle given to callbacks ---- */

const char *
twopc_txn_id(const twopc_txn *txn)
{
	return txn ? txn->txid : NULL;
}

int
twopc_txn_stage(twopc_txn *txn, const char *op, const char *key, const char *value)
{
	if (txn == NULL || !txn->in_prepare || op == NULL || key == NULL)
		return TWOPC_EINVAL;
	return plog_stage(txn->p->db, txn->txid, txn->seq++, op, key, value);
}

size_t
twopc_txn_nstaged(const twopc_txn *txn)
{
	return txn ? txn->ws.n : 0;
}

int
twopc_txn_staged(const twopc_txn *txn, size_t i, twopc_op *out)
{
	if (txn == NULL || out == NULL || i >= txn->ws.n)
		return TWOPC_EINVAL;
	out->op = txn->ws.op[i];
	out->key = txn->ws.key[i];
	out->value = txn->ws.value[i];
	return 0;
}

void
twopc_txn_set_reason(twopc_txn *txn, const char *reason)
{
	if (txn != NULL && reason != NULL)
		snprintf(txn->reason, sizeof(txn->reason), "%s", reason);
}

void *
twopc_txn_sqlite(const twopc_txn *txn)
{
	return txn ? db_sqlite(txn->p->db) : NULL;
}

/* ---- state transitions (db lock held) ---- */

/* Make the highest epoch seen durable with the write under way, but only
 * when it rose: it changes once per coordinator start, so most forced
 * writes need no meta row. Caller holds the db lock (guards epoch_stored);
 * a write that then fails stops the handle, so a stale epoch_stored never
 * outlives it. */
static int
part_store_epoch(twopc_participant *p)
{
	uint64_t e = atomic_load(&p->max_epoch);
	if (e <= p->epoch_stored)
		return 0;
	int rv = plog_epoch_set(p->db, e);
	if (rv == 0)
		p->epoch_stored = e;
	return rv;
}

int
part_commit(twopc_participant *p, const char *txid, const plog_txn *t)
{
	twopc_txn txn = { .p = p, .txid = txid };
	int rv;

	/* crash here: READY is forced, nothing applied; recovery asks for the
	 * decision and applies the workspace then. */
	crash_point("participant.before_commit_applied");
	if ((rv = plog_ws_load(p->db, txid, &txn.ws)) != 0)
		return rv == TWOPC_ENOMEM ? TWOPC_ERESOURCE : rv;
	if ((rv = db_begin(p->db)) != 0)
		goto fail_io;
	rv = p->res.commit(p->res.user, &txn);
	if (rv != 0) {
		db_rollback(p->db);
		tlog_warn("%s: resource commit failed (%s); staying READY, will retry", txid,
		    twopc_strerror(rv));
		plog_ws_free(&txn.ws);
		return TWOPC_ERESOURCE;
	}
	if ((rv = plog_release(p->db, txid)) != 0 ||
	    (rv = plog_put(p->db, txid, TX_COMMIT, t->epoch, t->peers)) != 0 ||
	    (rv = part_store_epoch(p)) != 0) {
		db_rollback(p->db);
		goto fail_io;
	}
	if ((rv = db_commit(p->db)) != 0)
		goto fail_io;
	plog_ws_free(&txn.ws);
	/* crash here: COMMIT is forced and applied; recovery ACKs the next
	 * GLOBAL_COMMIT from the log. */
	crash_point("participant.after_commit_applied");
	part_ask_drop(p, txid);
	tlog_state(txid, tx_state_name(t->state), "COMMIT", NULL);
	return 0;
fail_io:
	plog_ws_free(&txn.ws);
	part_fail(p, "cannot force COMMIT to the log");
	return TWOPC_EIO;
}

int
part_abort(twopc_participant *p, const char *txid, const plog_txn *t, int force,
    const char *why)
{
	twopc_txn txn = { .p = p, .txid = txid };
	int rv;

	/* crash here: the decision is ABORT (or the vote was), nothing written;
	 * recovery finds READY (asks, hears ABORT) or no record (presumed). */
	crash_point("participant.before_abort_applied");
	if ((rv = force ? db_begin(p->db) : db_begin_lazy(p->db)) != 0)
		goto fail_io;
	if (p->res.abort != NULL && t->state == TX_READY) {
		if (plog_ws_load(p->db, txid, &txn.ws) == 0) {
			rv = p->res.abort(p->res.user, &txn);
			plog_ws_free(&txn.ws);
			if (rv != 0) {
				db_rollback(p->db);
				tlog_warn("%s: resource abort failed (%s); will retry", txid,
				    twopc_strerror(rv));
				return TWOPC_ERESOURCE;
			}
		}
	}
	if ((rv = plog_release(p->db, txid)) != 0 ||
	    (rv = plog_put(p->db, txid, TX_ABORT, t->epoch, t->peers)) != 0 ||
	    (rv = part_store_epoch(p)) != 0) {
		db_rollback(p->db);
		goto fail_io;
	}
	if ((rv = db_commit(p->db)) != 0)
		goto fail_io;
	/* crash here: ABORT is written (forced only when it answers a peer),
	 * workspace and locks gone; recovery has nothing to do. */
	crash_point("participant.after_abort_applied");
	part_ask_drop(p, txid);
	tlog_state(txid, tx_state_name(t->state), "ABORT", why);
	return 0;
fail_io:
	part_fail(p, "cannot write ABORT to the log");
	return TWOPC_EIO;
}

/*
 * Apply TXN's workspace and record COMMIT inside the open SQLite
 * transaction (a one-phase commit, straight after prepare). Returns 0,
 * TWOPC_ERESOURCE (the resource's commit failed: the caller rolls back
 * and votes ABORT) or TWOPC_EIO.
 */
static int
part_apply(twopc_participant *p, twopc_txn *txn, const char *txid, uint64_t epoch,
    const char *peers)
{
	int rv = plog_ws_load(p->db, txid, &txn->ws);
	if (rv != 0)
		return rv == TWOPC_ENOMEM ? TWOPC_ERESOURCE : TWOPC_EIO;
	rv = p->res.commit(p->res.user, txn);
	plog_ws_free(&txn->ws);
	if (rv != 0) {
		tlog_warn("%s: resource commit failed (%s); one-phase commit votes ABORT", txid,
		    twopc_strerror(rv));
		return TWOPC_ERESOURCE;
	}
	if (plog_release(p->db, txid) != 0 || plog_put(p->db, txid, TX_COMMIT, epoch, peers) != 0)
		return TWOPC_EIO;
	return 0;
}

/* ---- handlers ---- */

static int
part_error(wire_msg *rep, int code, const char *text, char *buf, size_t len)
{
	rep->type = WIRE_ERROR;
	rep->code = (uint16_t)(-code);
	snprintf(buf, len, "%s", text);
	rep->text = buf;
	return 1;
}

/* R6: a message from an older coordinator epoch is refused. Returns 1 if
 * stale (REP filled with the error). */
static int
part_stale(twopc_participant *p, const wire_msg *req, wire_msg *rep, char *buf, size_t len)
{
	uint64_t seen = atomic_load(&p->max_epoch);
	if (req->epoch >= seen)
		return 0;
	tlog_warn("%s: refused %s from %s: epoch %llu is older than %llu", req->txid,
	    wire_type_name(req->type), req->sender, (unsigned long long)req->epoch,
	    (unsigned long long)seen);
	char text[128];
	snprintf(text, sizeof(text), "stale coordinator epoch %llu (highest seen %llu)",
	    (unsigned long long)req->epoch, (unsigned long long)seen);
	return part_error(rep, TWOPC_ESTALE, text, buf, len);
}

/* Remember a higher epoch; made durable with the next log write. */
static void
part_see_epoch(twopc_participant *p, uint64_t epoch)
{
	uint64_t cur = atomic_load(&p->max_epoch);
	while (epoch > cur && !atomic_compare_exchange_weak(&p->max_epoch, &cur, epoch))
		;
}

static void
part_join_peers(const wire_msg *req, char *buf, size_t len)
{
	size_t at = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < req->npeers && at < len; i++)
		at += (size_t)snprintf(buf + at, len - at, "%s%s", i ? "," : "", req->peers[i]);
}

/* Stage and vote on a run we have no (current) record of. db lock held. */
static int
part_vote_fresh(twopc_participant *p, const wire_msg *req, wire_msg *rep, char *buf,
    size_t len)
{
	twopc_txn txn = { .p = p, .txid = req->txid };
	twopc_op *ops = NULL;
	char peers[sizeof(((plog_txn *)0)->peers)];
	char holder[WIRE_TXID_MAX + 1];
	int vote = TWOPC_VOTE_ABORT, rv;
	int one_phase = (req->flags & WIRE_FLAG_ONE_PHASE) != 0;

	part_join_peers(req, peers, sizeof(peers));
#ifdef TWOPC_BUG_LAZY_READY
	/* TEST-ONLY BUG VARIANT (breaks R1): READY is not forced before the
	 * vote leaves; a power cut can lose it after the coordinator counted
	 * the vote. The powerloss harness must catch it. */
	if ((rv = db_begin_lazy(p->db)) != 0)
		goto fail_io;
#else
	if ((rv = db_begin(p->db)) != 0)
		goto fail_io;
#endif
	/* INIT: from here until COMMIT below, nothing is durable. */
	tlog_state(req->txid, "NONE", "INIT", NULL);
	for (size_t i = 0; i < req->nops; i++) {
#ifdef TWOPC_BUG_NO_LOCKS
		/* TEST-ONLY BUG VARIANT (breaks R5): no key locks, so two
		 * transactions stage from the same value and one update is lost. */
		break;
#endif
		rv = plog_lock(p->db, req->txid, req->ops[i].key, holder, sizeof(holder));
		if (rv == TWOPC_EBUSY) {
			/* R5: no waiting, so no deadlock. */
			snprintf(txn.reason, sizeof(txn.reason), "key '%.64s' is locked by %s",
			    req->ops[i].key, holder);
			goto vote_abort;
		}
		if (rv != 0) {
			db_rollback(p->db);
			goto fail_io;
		}
	}
	ops = calloc(req->nops ? req->nops : 1, sizeof(*ops));
	if (ops == NULL) {
		snprintf(txn.reason, sizeof(txn.reason), "out of memory");
		goto vote_abort;
	}
	for (size_t i = 0; i < req->nops; i++) {
		ops[i].op = wire_op_name(req->ops[i].op);
		ops[i].key = req->ops[i].key;
		ops[i].value = req->ops[i].value;
	}
	txn.in_prepare = 1;
	vote = p->res.prepare(p->res.user, &txn, ops, req->nops);
	txn.in_prepare = 0;
	free(ops);
	ops = NULL;
	if (vote == TWOPC_VOTE_READONLY) {
		/* Leave at once: discard staging and locks, force the note of the
		 * yes vote (a peer asking later must not hear an ABORT from us),
		 * then answer. */
		db_rollback(p->db);
		if (db_begin(p->db) != 0 ||
		    plog_readonly_put(p->db, req->txid, req->epoch) != 0 ||
		    part_store_epoch(p) != 0 ||
		    db_commit(p->db) != 0) {
			db_rollback(p->db);
			goto fail_io;
		}
		tlog_info("%s: voted READ-ONLY (nothing to write; leaves the transaction)", req->txid);
		rep->type = WIRE_VOTE_READONLY;
		return 1;
	}
	if (vote != TWOPC_VOTE_COMMIT) {
		if (txn.reason[0] == '\0')
			snprintf(txn.reason, sizeof(txn.reason), "resource voted ABORT%s%s",
			    vote < 0 ? ": " : "", vote < 0 ? twopc_strerror(vote) : "");
		goto vote_abort;
	}
	if (one_phase && p->atomic_commit) {
		/* One-phase commit: our vote is the decision. Apply the work
		 * and record COMMIT in this same SQLite transaction; READY is
		 * never visible, so a crash leaves no record or COMMIT. (A
		 * resource writing outside this file forces READY first: the
		 * caller applies after, see part_on_vote_request.) */
		rv = part_apply(p, &txn, req->txid, req->epoch, peers);
		if (rv == TWOPC_ERESOURCE) {
			snprintf(txn.reason, sizeof(txn.reason), "resource commit failed");
			goto vote_abort;
		}
	} else {
		rv = plog_put(p->db, req->txid, TX_READY, req->epoch, peers);
	}
	if (rv != 0 || (rv = part_store_epoch(p)) != 0) {
		db_rollback(p->db);
		goto fail_io;
	}
	/* crash here: work staged, READY (or a one-phase COMMIT) not forced;
	 * the SQLite transaction rolls back, so recovery finds no record and
	 * presumes ABORT. */
	crash_point("participant.before_ready_logged");
	if ((rv = db_commit(p->db)) != 0)
		goto fail_io;
	/* crash here: READY is forced but no vote left; recovery asks for the
	 * decision, which the coordinator (vote timeout) makes ABORT. For a
	 * one-phase commit, COMMIT is written and the coordinator asks us
	 * (DECISION_REQUEST) when the vote does not come. */
	crash_point("participant.after_ready_logged");
	one_phase = one_phase && p->atomic_commit;
	tlog_state(req->txid, "INIT", one_phase ? "COMMIT" : "READY",
	    one_phase ? "one-phase commit" : NULL);
	rep->type = WIRE_VOTE_COMMIT;
	rep->crash_after_send = "participant.after_vote_sent";
	return 1;

vote_abort:
	free(ops);
	db_rollback(p->db);
	if (p->res.abort != NULL)
		(void)p->res.abort(p->res.user, &txn);
	/* Not forced (nothing depends on it): recorded so that a resent
	 * VOTE_REQUEST gets the same vote. */
	if (db_begin_lazy(p->db) != 0 ||
	    plog_put(p->db, req->txid, TX_ABORT, req->epoch, peers) != 0 ||
	    part_store_epoch(p) != 0 ||
	    db_commit(p->db) != 0) {
		db_rollback(p->db);
		goto fail_io;
	}
	tlog_state(req->txid, "INIT", "ABORT", txn.reason);
	rep->type = WIRE_VOTE_ABORT;
	snprintf(buf, len, "%s: %s", p->self->name, txn.reason);
	rep->text = buf;
	return 1;

fail_io:
	part_fail(p, "cannot write the log while voting");
	return 0;
}

static int
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
	uint64_t ro_epoch;
	if (rv == TWOPC_ENOENT && plog_readonly_get(p->db, req->txid, &ro_epoch) == 0 &&
	    ro_epoch == req->epoch) {
		/* A resent VOTE_REQUEST after a READ-ONLY vote: the same vote. */
		db_unlock(p->db);
		rep->type = WIRE_VOTE_READONLY;
		return 1;
	}
	if (rv == 0 && t.epoch == req->epoch) {
		/* A resent or duplicated VOTE_REQUEST: the same vote again. */
		db_unlock(p->db);
		if (t.state == TX_READY || t.state == TX_COMMIT) {
			rep->type = WIRE_VOTE_COMMIT;
			return 1;
		}
		rep->type = WIRE_VOTE_ABORT;
		snprintf(buf, len, "%s: already %s", p->self->name,
		    t.state == TX_ABORT ? "aborted" : tx_state_name(t.state));
		rep->text = buf;
		return 1;
	}
	if (rv == 0 && t.epoch > req->epoch) {
		/* The record belongs to a newer run than this request (a peer's
		 * DECISION_REQUEST can bring an epoch no VOTE_REQUEST has shown
		 * us yet). A late request of an older run must not replace it:
		 * a forced ABORT answer stays final (R8). */
		db_unlock(p->db);
		rep->type = WIRE_VOTE_ABORT;
		snprintf(buf, len, "%s: txid already %s in newer epoch %llu", p->self->name,
		    tx_state_name(t.state), (unsigned long long)t.epoch);
		rep->text = buf;
		return 1;
	}
	if (rv == 0 && t.epoch < req->epoch && t.state == TX_COMMIT &&
	    (req->flags & WIRE_FLAG_ONE_PHASE)) {
		/* A one-phase run of a txid committed here: our log is the
		 * decision, and it says committed. */
		db_unlock(p->db);
		rep->type = WIRE_VOTE_COMMIT;
		return 1;
	}
	if (rv == 0 && t.epoch < req->epoch && t.state == TX_COMMIT) {
		/* The coordinator lost its record (retention passed): never run a
		 * committed txid twice. */
		db_unlock(p->db);
		rep->type = WIRE_VOTE_ABORT;
		snprintf(buf, len, "%s: txid already committed in epoch %llu", p->self->name,
		    (unsigned long long)t.epoch);
		rep->text = buf;
		return 1;
	}
	if (rv == 0 && t.epoch < req->epoch && (t.state == TX_READY || t.state == TX_INIT)) {
		/* R7: a new run of this txid exists only if the coordinator has no
		 * record of the old one, which by R2 never committed. */
		if (part_abort(p, req->txid, &t, 0, "superseded by a run of a newer epoch") == TWOPC_EIO) {
			db_unlock(p->db);
			return 0;
		}
	}
	send = part_vote_fresh(p, req, rep, buf, len);
	db_unlock(p->db);
	if (send && rep->type == WIRE_VOTE_COMMIT && (req->flags & WIRE_FLAG_ONE_PHASE) &&
	    !p->atomic_commit) {
		/* One-phase with a resource outside the log: READY (our own
		 * COMMIT decision) must be on disk before commit touches
		 * anything; then apply and record COMMIT, and answer. If
		 * commit fails, READY stays and recovery applies it later
		 * (part_solo); the vote is COMMIT either way. */
		if (db_durable(p->db) != 0) {
			part_fail(p, "cannot force READY");
			return 0;
		}
		db_lock(p->db);
		if (plog_get(p->db, req->txid, &t) == 0 && t.state == TX_READY)
			(void)part_commit(p, req->txid, &t);
		db_unlock(p->db);
		if (part_failed(p))
			return 0;
	}
	return send;
}

static int
part_on_global(twopc_participant *p, const wire_msg *req, wire_msg *rep, char *buf,
    size_t len)
{
	int commit = req->type == WIRE_GLOBAL_COMMIT;
	plog_txn t;
	int rv;

	if (part_stale(p, req, rep, buf, len))
		return 1;
	part_see_epoch(p, req->epoch);
	db_lock(p->db);
	rv = plog_get(p->db, req->txid, &t);
	uint64_t ro_epoch;
	if (rv == TWOPC_ENOENT && commit && plog_readonly_get(p->db, req->txid, &ro_epoch) == 0) {
		/* We voted READ-ONLY: nothing to apply, and the decision is fine. */
		db_unlock(p->db);
		rep->type = WIRE_ACK;
		rep->state = TX_COMMIT;
		return 1;
	}
	if (rv == TWOPC_ENOENT) {
		if (commit) {
			db_unlock(p->db);
			tlog_error("%s: GLOBAL_COMMIT for a transaction with no record here "
			    "(the log was lost or replaced?)", req->txid);
			return part_error(rep, TWOPC_ENOENT, "no record of this transaction", buf, len);
		}
		/* Reordered: the decision came before the vote request. Remember
		 * it so the late VOTE_REQUEST gets VOTE_ABORT. In the same hold
		 * of the lock as the lookup: a VOTE_REQUEST let in between would
		 * stage READY, which this ABORT would overwrite as "no record",
		 * skipping the resource's abort. */
		memset(&t, 0, sizeof(t));
		t.epoch = req->epoch;
		rv = part_abort(p, req->txid, &t, 0, "GLOBAL_ABORT before any vote");
		db_unlock(p->db);
		if (rv != 0)
			return 0;
		rep->type = WIRE_ACK;
		rep->state = TX_ABORT;
		return 1;
	}
	if (rv != 0) {
		db_unlock(p->db);
		part_fail(p, "cannot read the log");
		return 0;
	}
	if (t.state == TX_READY || t.state == TX_INIT) {
		rv = commit ? part_commit(p, req->txid, &t) :
		    part_abort(p, req->txid, &t, 0, "GLOBAL_ABORT");
		if (rv != 0) {
			db_unlock(p->db);
			return 0; /* no ACK: the coordinator resends */
		}
		t.state = commit ? TX_COMMIT : TX_ABORT;
	} else if ((t.state == TX_COMMIT) != commit) {
		/* A decision once forced is final (DESIGN section 4). */
		tlog_error("%s: PROTOCOL VIOLATION: %s from %s but the log says %s; keeping %s",
		    req->txid, wire_type_name(req->type), req->sender, tx_state_name(t.state),
		    tx_state_name(t.state));
	}
	db_unlock(p->db);
	rep->type = WIRE_ACK;
	rep->state = (uint8_t)t.state;
	return 1;
}

/*
 * A peer asks what we know (DESIGN section 4). The question names the run
 * by its epoch; a record of another run of the same txid answers nothing
 * about it:
 *   our run is newer  -> the asker's run was superseded, which R7 allows
 *                        only for a run that never committed: ABORT;
 *   our run is older  -> for the asker's run we are "no record" (an old
 *                        READY is superseded, R7): force ABORT for it,
 *                        unless our old run COMMITTED (then this txid
 *                        never runs again here, the vote would be ABORT);
 *   same run          -> the table: COMMIT, ABORT, READY, or INIT/none
 *                        -> force ABORT first (R8), then ABORT.
 */
static int
part_on_decision_request(twopc_participant *p, const wire_msg *req, wire_msg *rep)
{
	plog_txn t;
	tx_state answer;
	db_lock(p->db);
	int rv = plog_get(p->db, req->txid, &t);
	if (rv != 0 && rv != TWOPC_ENOENT) {
		db_unlock(p->db);
		part_fail(p, "cannot read the log");
		return 0;
	}
	int none = rv == TWOPC_ENOENT;
	uint64_t ro_epoch;
	if (none && plog_readonly_get(p->db, req->txid, &ro_epoch) == 0 && ro_epoch == req->epoch) {
		/* We voted READ-ONLY (yes) and know no decision: no help, like a
		 * READY peer. Answering ABORT could abort what others commit. */
		db_unlock(p->db);
		rep->type = WIRE_DECISION_REPLY;
		rep->state = TX_READY;
		return 1;
	}
	if (!none && (req->flags & WIRE_FLAG_ONE_PHASE) &&
	    (t.state == TX_COMMIT || t.state == TX_ABORT || (t.state == TX_READY && part_solo(p, &t)))) {
		/* The coordinator asks about a one-phase run it did not hear
		 * from: our record is the decision, whatever its epoch (a solo
		 * READY is our COMMIT, its application pending). */
		answer = t.state == TX_READY ? TX_COMMIT : t.state;
	} else if (!none && t.epoch > req->epoch) {
		answer = TX_ABORT;
	} else if (!none && t.epoch < req->epoch && t.state == TX_COMMIT) {
		answer = TX_ABORT;
	} else if (none || t.state == TX_INIT || t.epoch < req->epoch) {
		/* We never voted COMMIT in this run: force ABORT first (R8), so
		 * a late VOTE_REQUEST gets VOTE_ABORT and the answer stays true. */
		if (none)
			memset(&t, 0, sizeof(t));
		if (!none && (t.state == TX_READY || t.state == TX_INIT)) {
			/* An older run still staged: discard it (R7) ... */
			if (part_abort(p, req->txid, &t, 1, "superseded by a newer run") != 0) {
				db_unlock(p->db);
				return 0;
			}
			t.state = TX_ABORT;
		}
		/* ... and record ABORT for the run we are asked about. */
		t.epoch = req->epoch;
		if (part_abort(p, req->txid, &t, 1, "asked by a peer before any vote") != 0) {
			db_unlock(p->db);
			return 0;
		}
		answer = TX_ABORT;
	} else {
		answer = t.state;
	}
	db_unlock(p->db);
	rep->type = WIRE_DECISION_REPLY;
	rep->state = (uint8_t)answer;
	return 1;
}

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
	part_heur_note(pl->p, txid, heur, sizeof(heur));
	snprintf(detail, sizeof(detail), "peers=%s%s%s%s%s", t->peers, note[0] ? "; " : "", note,
	    heur[0] ? "; " : "", heur);
	(void)statlist_add(&pl->l, txid, t->state, t->epoch,
	    (uint64_t)(pl->now > t->updated_at ? pl->now - t->updated_at : 0), detail);
}

/* STATUS_REQUEST: one txid, every unfinished (READY) transaction, or the
 * counters. */
static int
part_on_status(twopc_participant *p, const wire_msg *req, wire_msg *rep)
{
	part_list pl = { .p = p, .now = db_now_ms() };
	if (statlist_init(&pl.l, req->state == 1 ? 256 : 3) != 0)
		return 0;
	if (req->state == 2) {
		db_lock(p->db);
		uint64_t forced = db_forced(p->db), commits = db_commits(p->db);
		db_unlock(p->db);
		statlist_add(&pl.l, "forced_writes", 0, forced, 0, "");
		statlist_add(&pl.l, "log_commits", 0, commits, 0, "");
		statlist_add(&pl.l, "requests", 0, rpc_server_requests(p->srv), 0, "");
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

/* FORGET (R9): the coordinator recorded END, so nobody can ask about these
 * COMMIT records any more. Lazy: losing the deletion only keeps a row. */
static int
part_on_forget(twopc_participant *p, const wire_msg *req, wire_msg *rep)
{
	db_lock(p->db);
	if (db_begin_lazy(p->db) != 0) {
		db_unlock(p->db);
		return 0;
	}
	for (size_t i = 0; i < req->ntxids; i++) {
		plog_txn t;
		if (plog_get(p->db, req->txids[i], &t) == 0 && t.state == TX_COMMIT)
			(void)plog_delete(p->db, req->txids[i]);
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

static int
part_on_get(twopc_participant *p, const wire_msg *req, wire_msg *rep, char *buf, size_t len)
{
	if (p->res.read == NULL)
		return part_error(rep, TWOPC_EUNSUPPORTED, "this participant's resource cannot be read",
		    buf, len);
	db_lock(p->db);
	int rv = p->res.read(p->res.user, db_sqlite(p->db), req->text, buf, len);
	db_unlock(p->db);
	if (rv < 0)
		return part_error(rep, rv, twopc_strerror(rv), buf, len);
	rep->type = WIRE_GET_REPLY;
	rep->state = rv == 1;
	rep->text = rv == 1 ? buf : "";
	return 1;
}

/* The reply's strings live in this thread's buffers until the server has
 * encoded them. */
static int
part_dispatch(twopc_participant *p, const wire_msg *req, wire_msg *rep)
{
	static _Thread_local char buf[WIRE_TEXT_MAX + 1];
	switch ((wire_type)req->type) {
	case WIRE_VOTE_REQUEST:
		return part_on_vote_request(p, req, rep, buf, sizeof(buf));
	case WIRE_GLOBAL_COMMIT:
	case WIRE_GLOBAL_ABORT:
		return part_on_global(p, req, rep, buf, sizeof(buf));
	case WIRE_DECISION_REQUEST:
		return part_on_decision_request(p, req, rep);
	case WIRE_STATUS_REQUEST:
		return part_on_status(p, req, rep);
	case WIRE_FORGET:
		if (part_stale(p, req, rep, buf, sizeof(buf)))
			return 1;
		return part_on_forget(p, req, rep);
	case WIRE_GET:
		return part_on_get(p, req, rep, buf, sizeof(buf));
	case WIRE_RESOLVE:
		return part_on_resolve(p, req, rep, buf, sizeof(buf));
	case WIRE_IAMALIVE:
		rep->type = WIRE_IAMALIVE;
		return 1;
	default:
		break;
	}
	tlog_warn("unexpected %s from %s", wire_type_name(req->type), req->sender);
	char text[96];
	snprintf(text, sizeof(text), "a participant does not serve %s", wire_type_name(req->type));
	return part_error(rep, TWOPC_EPROTO, text, buf, sizeof(buf));
}

/* The rpc_server handler. */
static int
part_handle(void *user, const wire_msg *req, wire_msg *rep)
{
	twopc_participant *p = user;
	if (part_failed(p))
		return 0; /* promise nothing after a failed force */
	if (strcmp(req->sender, p->cfg->coordinator.name) == 0)
		fd_heard(&p->fd, 0); /* it is up: an outage of it is over */
	if (!atomic_load(&p->ready)) {
		static _Thread_local char buf[WIRE_TEXT_MAX + 1];
		if (req->type == WIRE_IAMALIVE)
			return 0; /* not serving yet: a liveness probe hears nothing */
		return part_error(rep, TWOPC_ECLOSED, "the participant is starting (recovery is not "
		    "finished); try again", buf, sizeof(buf));
	}
	return part_dispatch(p, req, rep);
}

/*
 * The gate of every reply (group commit, db.h): a reply leaves only once
 * every forced record committed before it is durable. That covers the
 * records its handler forced (READY before VOTE_COMMIT, R1; COMMIT before
 * ACK, R3; ABORT before a termination answer, R8) and any forced record
 * it merely read: a duplicate VOTE_REQUEST that finds READY committed by
 * another thread, not yet synced, must not answer VOTE_COMMIT before that
 * READY is on disk. The worker does not wait: the reply leaves from the
 * thread that ends the covering sync.
 */
static void
part_gate(void *arg, rpc_done_fn done, void *slot)
{
	twopc_participant *p = arg;
	db_durable_async(p->db, done, slot);
}

static void
part_gate_failed(void *user)
{
	part_fail(user, "cannot force the log");
}

/* ---- lifecycle ---- */

static void
part_log_cfg_errors(const char *errs)
{
	char line[512];
	const char *s = errs;
	while (*s) {
		const char *e = strchr(s, '\n');
		size_t n = e ? (size_t)(e - s) : strlen(s);
		snprintf(line, sizeof(line), "%.*s", (int)n, s);
		tlog_error("%s", line);
		s += n + (e != NULL);
	}
}

/* Open with CFG (owned from here on, also on failure). */
static int
part_open(twopc_participant **out, cfg_cluster *cfg, const char *name, const twopc_resource *res)
{
	twopc_participant *p;
	int rv;

	if ((p = calloc(1, sizeof(*p))) == NULL) {
		cfg_free(cfg);
		return TWOPC_ENOMEM;
	}
	pthread_mutex_init(&p->mtx, NULL);
	mclock_cond_init(&p->cv); /* timed waits in precover.c */
	p->res = *res;
	p->cfg = cfg;
	if ((p->self = cfg_participant(p->cfg, name)) == NULL) {
		tlog_error("%s: no participant named '%s'", p->cfg->path, name);
		rv = TWOPC_ENOENT;
		goto fail;
	}
	if (p->self->log == NULL || p->self->log[0] == '\0') {
		tlog_error("participant '%s' has no log path", name);
		rv = TWOPC_ECONFIG;
		goto fail;
	}
	tlog_set_name(name);
	rv = db_open(p->self->log, p->cfg->durability == CFG_DURABILITY_FULL, plog_schema, &p->db);
	if (rv != 0)
		goto fail;
	uint64_t e = 0;
	if ((rv = plog_epoch_get(p->db, &e)) != 0)
		goto fail;
	atomic_store(&p->max_epoch, e);
	p->epoch_stored = e;
	p->peer_socks = calloc(p->cfg->nparticipants, sizeof(*p->peer_socks));
	p->peer_open = calloc(p->cfg->nparticipants, sizeof(*p->peer_open));
	if (p->peer_socks == NULL || p->peer_open == NULL ||
	    fd_init(&p->fd, (int)p->cfg->nparticipants + 1, p->cfg->decision_timeout_ms,
	    p->cfg->decision_timeout_ms * 4) != 0) {
		rv = TWOPC_ENOMEM;
		goto fail;
	}
	fd_set_name(&p->fd, 0, p->cfg->coordinator.name);
	for (size_t i = 0; i < p->cfg->nparticipants; i++)
		fd_set_name(&p->fd, (int)i + 1, p->cfg->participants[i].name);
	*out = p;
	return 0;
fail:
	free(p->peer_socks);
	free(p->peer_open);
	db_close(p->db);
	cfg_free(p->cfg);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mtx);
	free(p);
	return rv;
}

static int
part_res_ok(const twopc_resource *res)
{
	return res != NULL && res->prepare != NULL && res->commit != NULL;
}

int
twopc_participant_open(twopc_participant **out, const char *cluster_file, const char *name,
    const twopc_resource *res)
{
	cfg_cluster *cfg = NULL;
	char errs[4096];

	if (out == NULL || cluster_file == NULL || name == NULL || !part_res_ok(res))
		return TWOPC_EINVAL;
	errs[0] = '\0';
	if (cfg_load(cluster_file, &cfg, errs, sizeof(errs)) != 0) {
		part_log_cfg_errors(errs);
		return TWOPC_ECONFIG;
	}
	return part_open(out, cfg, name, res);
}

int
twopc_participant_open_config(twopc_participant **out, const twopc_participant_config *c,
    const twopc_resource *res)
{
	const char *names[CFG_MAX_PARTICIPANTS + 1], *urls[CFG_MAX_PARTICIPANTS + 1];
	const char *logs[CFG_MAX_PARTICIPANTS + 1];
	cfg_cluster *cfg = NULL;
	char errs[4096];

	if (out == NULL || c == NULL || c->name == NULL || c->log == NULL || !part_res_ok(res) ||
	    c->participants == NULL || c->nparticipants == 0)
		return TWOPC_EINVAL;
	if (c->nparticipants > CFG_MAX_PARTICIPANTS)
		return TWOPC_ECONFIG;
	names[0] = c->coordinator.name;
	urls[0] = c->coordinator.listen;
	logs[0] = NULL;
	for (size_t i = 0; i < c->nparticipants; i++) {
		names[i + 1] = c->participants[i].name;
		urls[i + 1] = c->participants[i].listen;
		logs[i + 1] = names[i + 1] != NULL && strcmp(names[i + 1], c->name) == 0 ? c->log : NULL;
	}
	if (cfg_build(names, urls, logs, c->nparticipants + 1, c->decision_timeout_ms, c->retention_s,
	    c->durability_normal, &cfg, errs, sizeof(errs)) != 0) {
		part_log_cfg_errors(errs);
		return TWOPC_ECONFIG;
	}
	return part_open(out, cfg, c->name, res);
}

int
twopc_participant_set_atomic_commit(twopc_participant *p, int atomic)
{
	if (p == NULL)
		return TWOPC_EINVAL;
	pthread_mutex_lock(&p->mtx);
	int started = p->started;
	if (!started)
		p->atomic_commit = atomic != 0;
	pthread_mutex_unlock(&p->mtx);
	return started ? TWOPC_ESTATE : 0;
}

int
part_solo(const twopc_participant *p, const plog_txn *t)
{
	return strcmp(t->peers, p->self->name) == 0;
}

int
twopc_participant_start(twopc_participant *p)
{
	int rv;

	if (p == NULL)
		return TWOPC_EINVAL;
	pthread_mutex_lock(&p->mtx);
	if (p->started) {
		pthread_mutex_unlock(&p->mtx);
		return TWOPC_ESTATE;
	}
	p->started = 1;
	pthread_mutex_unlock(&p->mtx);
	/* The log is locked (part_open); bind before recovery, so that a
	 * second process on this address stops before it changes a row.
	 * Until recovery is done requests are answered "starting"
	 * (part_handle). */
	rpc_server_opts so = {
		.nworkers = PART_WORKERS, .handler = part_handle, .user = p,
		.sender = p->self->name, .epoch = &p->max_epoch,
		.gate = part_gate, .gate_arg = p, .fail = part_gate_failed,
	};
	if ((rv = rpc_server_start(p->self->listen, &so, &p->srv)) != 0)
		return rv;
	if ((rv = part_recover(p)) != 0)
		return rv;
	if ((rv = rpc_dial(p->cfg->coordinator.listen, 1, &p->coord)) != 0)
		return rv;
	p->coord_open = 1;
	atomic_store(&p->ready, 1);
	if (pthread_create(&p->bg, NULL, part_bg_main, p) != 0)
		return TWOPC_ENOMEM;
	p->bg_running = 1;
	pthread_mutex_lock(&p->mtx);
	p->running = 1;
	pthread_mutex_unlock(&p->mtx);
	tlog_info("participant %s serving on %s (log %s, epoch %llu)", p->self->name,
	    p->self->listen, p->self->log, (unsigned long long)atomic_load(&p->max_epoch));
	return 0;
}

int
twopc_participant_wait(twopc_participant *p)
{
	if (p == NULL)
		return TWOPC_EINVAL;
	pthread_mutex_lock(&p->mtx);
	if (!p->running) {
		/* Never started, or its start failed: nothing would wake us. */
		pthread_mutex_unlock(&p->mtx);
		return TWOPC_ESTATE;
	}
	while (!p->stopping && !p->failed)
		pthread_cond_wait(&p->cv, &p->mtx);
	int rv = p->failed ? TWOPC_EIO : 0;
	pthread_mutex_unlock(&p->mtx);
	return rv;
}

int
twopc_participant_stop(twopc_participant *p)
{
	if (p == NULL)
		return TWOPC_EINVAL;
	pthread_mutex_lock(&p->mtx);
	p->stopping = 1;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mtx);
	return 0;
}

void
twopc_participant_close(twopc_participant *p)
{
	if (p == NULL)
		return;
	twopc_participant_stop(p);
	rpc_server_stop(p->srv);
	/* Close the coordinator socket before joining the background thread:
	 * it wakes a DECISION_REQUEST that would otherwise wait out
	 * decision_timeout_ms. */
	if (p->coord_open)
		rpc_close(p->coord);
	p->coord_open = 0;
	pthread_mutex_lock(&p->mtx);
	for (size_t i = 0; i < p->cfg->nparticipants; i++)
		if (p->peer_open[i])
			rpc_close(p->peer_socks[i]);
	pthread_mutex_unlock(&p->mtx);
	if (p->bg_running)
		pthread_join(p->bg, NULL);
	free(p->peer_socks);
	free(p->peer_open);
	fd_fini(&p->fd);
	db_close(p->db);
	cfg_free(p->cfg);
	free(p->asks);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mtx);
	free(p);
}
