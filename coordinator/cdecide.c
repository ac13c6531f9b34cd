/*
 * cdecide.c - the decision of a transaction with two or more
 * participants, and its forcing.
 *
 * R2: the commit point is WAIT durable and every vote COMMIT or
 * READ-ONLY (the vote step runs only once both are true, csubmit.c). From
 * there the transaction is committed whatever happens to this process: a
 * restart finds WAIT and every participant READY (or COMMIT) and commits
 * (cinquire.c). So the COMMIT record is lazy, and GLOBAL_COMMIT leaves at
 * once. An ABORT the coordinator decides (a NO vote, a vote timeout, an
 * error) is forced before GLOBAL_ABORT or RESULT ABORTED leaves: if it
 * were lost with a participant's lazy NO vote, a restart could find every
 * participant READY and commit what the client was told aborted. The
 * step does not wait for that fsync: decisions taken meanwhile share it
 * (db_durable_async), and delivery starts on the thread that ends it.
 * Every READ-ONLY voter's "ACK" is written with the COMMIT.
 *
 * Invariant: a transaction leaves the running table only once its
 * decision is in the log (or the coordinator has failed), so "no record
 * anywhere" means no run of this epoch can still commit it.
 */
#include "cdecide.h"

#include <stdio.h>
#include <string.h>

#include "cdeliver.h"
#include "cepoch.h"
#include "cflow.h"
#include "coord.h"
#include "crash.h"
#include "cwait.h"

/* The decision's row, with the READ-ONLY voters' ACKs (so that no resend
 * ever targets them): an ABORT forced below, a COMMIT lazy. */
static int
cdecide_write(coord *c, coord_txn *t, tx_state decision)
{
	int rv;
	db_lock(c->db);
	rv = decision == TX_ABORT ? db_begin(c->db) : db_begin_lazy(c->db);
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

/* The decision is recorded (an ABORT on disk), or RC says it could not
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
	t->flags |= CTXN_FRESH | (t->state == TX_ABORT ? CTXN_VOTERS_ONLY : 0);
	if (t->state != TX_COMMIT) {
		cdeliver_start(c, t);  /* the client is answered once the voters know */
		return;
	}
	/* Committed: RESULT leaves first, then GLOBAL_COMMIT (the client
	 * does not wait for three sends it does not need). A request the
	 * client sends after RESULT reaches the coordinator a round trip
	 * later, by when the GLOBAL_COMMITs are almost always on each
	 * participant's connection ahead of it; if one is not, the
	 * participant answers busy and, the holder being decided, the
	 * request is sent again behind it (cvote.c): a retry, never an
	 * abort. */
	cflow_answer(c, t, TX_COMMIT, "");
	cdeliver_start(c, t);
}

void
cdecide(coord *c, coord_txn *t, tx_state decision, const char *reason)
{
	if (coord_is_fenced(c)) {
		/* Fenced: WAIT stays as it is; the newer coordinator decides. */
		coord_running_done(c, t, TX_NONE, NULL);
		cflow_answer(c, t, TX_UNDECIDED, "");
		cflow_release(c, t);
		return;
	}
	/* crash here: the commit point (WAIT durable, every vote yes), nothing
	 * recorded or sent since; recovery asks the participants, finds them
	 * all READY and commits. */
	if (decision == TX_COMMIT && !(t->flags & CTXN_ANSWERED))
		crash_point("coordinator.after_decision_logged");
	int rv = cdecide_write(c, t, decision);
	/* crash here: COMMIT is in the log (not synced), nothing sent;
	 * recovery finds COMMIT and sends GLOBAL_COMMIT (a power cut instead
	 * leaves WAIT: the participants are asked). */
	if (rv == 0 && decision == TX_COMMIT)
		db_crash_committed(c->db, "coordinator.after_commit_logged");
	if (rv == 0)
		rv = ctxn_enter(t, decision, reason);
	coord_running_done(c, t, rv == 0 ? decision : TX_NONE, reason);
	if (rv == 0 && decision == TX_ABORT)
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
	if (cwait_now(c, t) != 0) {
		coord_running_done(c, t, TX_NONE, NULL);
		coord_fail(c, "cannot force WAIT to the log");
		cflow_release(c, t);
		return;
	}
	cdecide(c, t, TX_COMMIT, "");
}
#endif
