/*
 * cdeliver.c - phase two: delivering decisions, counting ACKs, END.
 *
 *   COMMIT --GLOBAL_COMMIT--> ACKs recorded (lazy) --every ACK--> END (lazy)
 *                                                   --> FORGET queued (R9)
 *   ABORT  --GLOBAL_ABORT to the COMMIT voters--> RESULT --> to the silent ones
 *
 * GLOBAL_COMMIT goes to every participant at once: a client waits for the
 * slowest, not for the sum. "Exactly one participant knows" (the crash
 * point coordinator.after_first_global) is a state a parallel delivery
 * passes through too; only when that point is armed does the first
 * delivery of a decision serve the first participant alone (CSTAGE_FIRST),
 * to stop there, on this same path. A COMMIT without every ACK stays in
 * the log; the resender delivers it again every ack_retry_ms until every
 * participant has ACKed (R3).
 *
 * GLOBAL_ABORT is best effort and never resent: a participant that misses
 * it asks, and hears ABORT by presumption (R3).
 */
#include "cdeliver.h"

#include <stdio.h>
#include <string.h>

#include "cflow.h"
#include "cforget.h"
#include "coord.h"
#include "crash.h"
#include "cviol.h"
#include "tlog.h"

void
cdeliver_commit_req(coord *c, const coord_txn *t, wire_msg *req)
{
	wire_msg_init(req, WIRE_GLOBAL_COMMIT, atomic_load(&c->epoch), t->txid,
	    c->cfg->coordinator.name);
}

int
cdeliver_commit_reply(coord *c, coord_txn *t, size_t i, int result, wire_msg *rep)
{
	const char *name = c->cfg->participants[t->parts[i]].name;
	int ok = 0;
	if (result != 0)
		return 0;
	if (rep->type == WIRE_ACK && rep->state == TX_COMMIT) {
		ok = 1;
	} else if (rep->type == WIRE_ACK) {
		/* Cannot heal: logged once, recorded, not resent (cviol.c). */
		cviol_report(c, t->txid, name, rep->state);
	} else {
		tlog_warn("%s: %s answered GLOBAL_COMMIT with %s: %s", t->txid, name,
		    wire_type_name(rep->type), rep->text ? rep->text : "");
	}
	wire_msg_free(rep);
	return ok;
}

/* GLOBAL_COMMIT to every participant of T that has not ACKed (FIRST_ONLY:
 * to the first of them alone). */
static void
cdeliver_commit_batch(coord *c, coord_txn *t, int stage, int first_only)
{
	wire_msg reqs[WIRE_MAX_WORK];
	size_t n = 0;
	for (size_t i = 0; i < t->nparts && !(first_only && n == 1); i++) {
		if (t->acked[i] || ((t->flags & CTXN_RESEND) &&
		    cviol_stopped(c, t->txid, c->cfg->participants[t->parts[i]].name)))
			continue;
		cdeliver_commit_req(c, t, &reqs[n]);
		t->who[n++] = i;
	}
	if (n > 0)
		t->flags |= CTXN_SENT;
	if (n > 0 && (t->flags & CTXN_RESEND))
		tlog_debug("%s: resending GLOBAL_COMMIT to %zu participant(s)", t->txid, n);
	cflow_batch(c, t, stage, reqs, n);
}

/* GLOBAL_ABORT to the participants of T that have not aborted on their
 * own (with CTXN_VOTERS_ONLY: to those that voted COMMIT). */
static void
cdeliver_abort_batch(coord *c, coord_txn *t)
{
	wire_msg reqs[WIRE_MAX_WORK];
	size_t n = 0;
	int voters_only = (t->flags & CTXN_VOTERS_ONLY) != 0;
	for (size_t i = 0; i < t->nparts; i++) {
		if (t->voted_abort[i] || t->voted_readonly[i] || (voters_only && !t->voted_commit[i]))
			continue;
		wire_msg_init(&reqs[n], WIRE_GLOBAL_ABORT, atomic_load(&c->epoch), t->txid,
		    c->cfg->coordinator.name);
		t->who[n++] = i;
	}
	cflow_batch(c, t, CSTAGE_ABORTED, reqs, n);
}

void
cdeliver_start(coord *c, coord_txn *t)
{
	if (t->state != TX_COMMIT) {
		cdeliver_abort_batch(c, t);
		return;
	}
	/* READ-ONLY voters left at the vote: recorded as ACKed already. */
	for (size_t i = 0; i < t->nparts; i++) {
		t->acked[i] |= t->voted_readonly[i];
		t->was_acked[i] |= t->voted_readonly[i];
	}
	int alone = (t->flags & CTXN_FRESH) && crash_point_armed("coordinator.after_first_global");
	cdeliver_commit_batch(c, t, alone ? CSTAGE_FIRST : CSTAGE_ACKS, alone);
}

/* Record T's ACKs (and END when every participant has) lazily, in one
 * write: a lost ACK costs only one more GLOBAL_COMMIT. 1 if END. */
static int
cdeliver_record_acks(coord *c, coord_txn *t)
{
	size_t all = 0;
	int rv;
	for (size_t i = 0; i < t->nparts; i++)
		all += t->acked[i] != 0;
	int end = all == t->nparts;
	db_lock(c->db);
	if ((rv = db_begin_lazy(c->db)) != 0) {
		db_unlock(c->db);
		return 0;
	}
	for (size_t i = 0; !end && i < t->nparts; i++)
		if (t->acked[i] && !t->was_acked[i])
			rv |= clog_ack(c->db, t->txid, c->cfg->participants[t->parts[i]].name);
	/* END needs no acks any more (recovery reads them only for COMMIT):
	 * drop them with it, rather than keep them until expiry. Rows exist
	 * only for the participants marked was_acked (written with the
	 * decision for READ-ONLY voters, by an earlier round here, or read
	 * back by the resender): usually none, and no statement. */
	int logged = 0;
	for (size_t i = 0; i < t->nparts; i++)
		logged |= t->was_acked[i];
	if (end)
		rv |= ctxn_write(c->db, t, TX_END, NULL) | (logged ? clog_acks_drop(c->db, t->txid) : 0);
	if (rv != 0)
		db_rollback(c->db);
	else
		rv = db_commit(c->db);
	db_unlock(c->db);
	if (rv != 0)
		return 0;
	memcpy(t->was_acked, t->acked, sizeof(t->was_acked));
	if (end) {
		/* crash here: END is written (lazily), no FORGET queued yet;
		 * recovery either finds END (queues FORGET) or, if END was
		 * lost, COMMIT with its acks and resends GLOBAL_COMMIT, ACKed
		 * again (R4). A pause here holds every FORGET of T back. */
		db_crash_committed(c->db, "coordinator.after_end_logged");
		pthread_mutex_lock(&c->mtx);
		for (size_t i = 0; i < t->nparts; i++)
			cforget_queue(c, t->parts[i], t->txid);
		pthread_mutex_unlock(&c->mtx);
		(void)ctxn_enter(t, TX_END, NULL);
	}
	return end;
}

static size_t
cdeliver_read_acks(coord *c, coord_txn *t)
{
	size_t n = 0;
	for (size_t k = 0; k < t->nwho; k++) {
		wire_msg rep;
		int result = cflow_result(c, t, k, &rep);
		if (cdeliver_commit_reply(c, t, t->who[k], result, &rep)) {
			t->acked[t->who[k]] = 1;
			n++;
		}
	}
	cflow_batch_free(t);
	return n;
}

void
cdeliver_step_first(coord *c, coord_txn *t)
{
	if (cdeliver_read_acks(c, t) == 1) {
		/* crash here: one participant committed, the others are READY;
		 * recovery resends GLOBAL_COMMIT; peers can learn COMMIT from
		 * the first one (termination protocol). */
		crash_point("coordinator.after_first_global");
	}
	cdeliver_commit_batch(c, t, CSTAGE_ACKS, 0);
}

void
cdeliver_step_acks(coord *c, coord_txn *t)
{
	(void)cdeliver_read_acks(c, t);
	/* crash here: every GLOBAL sent, END not logged; recovery resends
	 * GLOBAL_COMMIT, every participant ACKs again (R4). */
	if ((t->flags & (CTXN_FRESH | CTXN_SENT)) == (CTXN_FRESH | CTXN_SENT))
		crash_point("coordinator.after_all_globals");
	(void)cdeliver_record_acks(c, t);
	cflow_answer(c, t, TX_COMMIT, "");
	cflow_release(c, t);
}

void
cdeliver_step_aborted(coord *c, coord_txn *t)
{
	for (size_t k = 0; k < t->nwho; k++) {
		wire_msg rep;
		if (cflow_result(c, t, k, &rep) == 0)
			wire_msg_free(&rep);
	}
	cflow_batch_free(t);
	if (!(t->flags & CTXN_VOTERS_ONLY)) {
		cflow_release(c, t);
		return;
	}
	/* The COMMIT voters know: answer. Participants that never voted hear
	 * GLOBAL_ABORT after that, off the client's path (they may be down);
	 * not while stopping, as nothing depends on it. */
	cflow_answer(c, t, TX_ABORT, t->reason);
	t->flags &= ~CTXN_VOTERS_ONLY;
	int silent = 0;
	for (size_t i = 0; i < t->nparts; i++)
		silent |= !t->voted_commit[i] && !t->voted_abort[i] && !t->voted_readonly[i];
	if (!silent || coord_stopping(c)) {
		cflow_release(c, t);
		return;
	}
	for (size_t i = 0; i < t->nparts; i++)
		t->voted_abort[i] |= t->voted_commit[i]; /* already told */
	cdeliver_abort_batch(c, t);
}
