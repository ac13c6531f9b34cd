/*
 * cdecide.c - the decision of a transaction with two or more
 * participants, and its forcing.
 *
 * R2: COMMIT is forced before any GLOBAL_COMMIT or RESULT COMMITTED
 * leaves. The step does not wait for the fsync: decisions taken meanwhile
 * share it (group commit, db_durable_async), and phase two starts on the
 * thread that ends the sync. ABORT is lazy (presumed abort, R3); so is
 * every participant's READ-ONLY "ACK", written with the COMMIT.
 *
 * Invariant: a transaction leaves the running table only once its
 * decision is in the log (or the coordinator has failed), so "no record
 * anywhere" means no run of this epoch can still commit it.
 */
#include "cdecide.h"

#include <stdio.h>

#include "cdeliver.h"
#include "cepoch.h"
#include "cflow.h"
#include "coord.h"
#include "crash.h"

/* The decision's row, with the READ-ONLY voters' ACKs (so that no resend
 * ever targets them): a COMMIT forced below, an ABORT lazy. */
static int
cdecide_write(coord *c, coord_txn *t, tx_state decision)
{
	int rv;
	db_lock(c->db);
	rv = decision == TX_COMMIT ? db_begin(c->db) : db_begin_lazy(c->db);
	if (rv != 0) {
		db_unlock(c->db);
		return rv;
	}
	rv = ctxn_write(c->db, t, decision, NULL);
	for (size_t i = 0; rv == 0 && decision == TX_COMMIT && i < t->nparts; i++)
		if (t->voted_readonly[i])
			rv = clog_ack(c->db, t->txid, c->cfg->participants[t->parts[i]].name);
	if (rv != 0)
		db_rollback(c->db);
	else
		rv = db_commit(c->db);
	db_unlock(c->db);
	return rv;
}

/* The decision is recorded (a COMMIT on disk), or RC says it could not
 * be: deliver it. Runs on a step thread or on the thread that ended the
 * decision's sync. */
static void
cdecide_done(void *arg, int rc)
{
	coord_txn *t = arg;
	coord *c = t->c;

	if (rc != 0) {
		coord_fail(c, "cannot write the decision to the log");
		cflow_release(c, t);
		return;
	}
	/* crash here: COMMIT forced, no GLOBAL sent; recovery resends
	 * GLOBAL_COMMIT until every participant ACKs. */
	if (t->state == TX_COMMIT)
		crash_point("coordinator.after_decision_logged");
	t->flags |= CTXN_FRESH | (t->state == TX_ABORT ? CTXN_VOTERS_ONLY : 0);
	cdeliver_start(c, t);
}

void
cdecide(coord *c, coord_txn *t, tx_state decision, const char *reason)
{
	/* crash here: votes in, no decision; recovery finds WAIT (or nothing)
	 * and aborts; READY participants learn ABORT by presumption. */
	crash_point("coordinator.before_decision_logged");
	if (coord_is_fenced(c)) {
		/* Fenced: WAIT stays as it is; the newer coordinator decides. */
		coord_running_done(c, t, TX_NONE, NULL);
		cflow_answer(c, t, TX_UNDECIDED, "");
		cflow_release(c, t);
		return;
	}
	int rv = cdecide_write(c, t, decision);
	if (rv == 0)
		rv = ctxn_enter(t, decision, reason);
	coord_running_done(c, t, rv == 0 ? decision : TX_NONE, reason);
	if (rv == 0 && decision == TX_COMMIT)
		db_durable_async(c->db, cdecide_done, t);
	else
		cdecide_done(t, rv);
}

#ifdef TWOPC_BUG_GLOBAL_BEFORE_DECISION
void
cdecide_early_start(coord *c, coord_txn *t)
{
	wire_msg req;
	cdeliver_commit_req(c, t, &req);
	t->who[0] = 0;
	cflow_batch(c, t, CSTAGE_EARLY, &req, 1);
}

void
cdecide_step_early(coord *c, coord_txn *t)
{
	wire_msg rep;
	int result = cflow_result(c, t, 0, &rep);
	int acked = cdeliver_commit_reply(c, t, 0, result, &rep);
	cflow_batch_free(t);
	if (acked)
		crash_point("coordinator.after_first_global");
	cdecide(c, t, TX_COMMIT, "");
}
#endif
