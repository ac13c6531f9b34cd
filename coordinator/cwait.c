/*
 * cwait.c - WAIT: the record of a run at the coordinator (DESIGN R2).
 *
 * A transaction with two or more participants commits only once WAIT,
 * naming every participant and the run's epoch, is durable and every
 * vote is yes. WAIT is written in one of two ways. Normally it is forced
 * on the SUBMIT step while the votes travel (cwait_async): its fsync is
 * one of the things the vote step waits for, not something the client
 * waits for before the requests leave. With the crash point
 * coordinator.before_decision_logged armed (cwait_late) it is written
 * only once the votes are in, on the vote step (cwait_now), so the
 * point stops the process in exactly that state. A one-phase transaction
 * writes it lazily (its participant's log is the decision).
 *
 * Layering: on the transaction (ctxn.c), the log and the flow's join;
 * used by csubmit.c, cvote.c and cdecide.c, calls none of them.
 */
#include "cwait.h"

#include "cflow.h"
#include "coord.h"
#include "crash.h"

int
cwait_late(void)
{
	/* Every vote in, WAIT not durable: a state a slow fsync passes
	 * through in production too. */
#ifdef TWOPC_BUG_GLOBAL_BEFORE_DECISION
	return 1;
#else
	return crash_point_armed("coordinator.before_decision_logged");
#endif
}

int
cwait_write(coord *c, coord_txn *t, int lazy)
{
	char parts[sizeof(((clog_txn *)0)->participants)];
	int rv;

	ctxn_join_parts(t, c->cfg, parts, sizeof(parts));
	db_lock(c->db);
	rv = lazy ? db_begin_lazy(c->db) : db_begin(c->db);
	if (rv == 0 && (rv = ctxn_write(c->db, t, TX_WAIT, parts)) != 0)
		db_rollback(c->db);
	if (rv == 0)
		rv = db_commit(c->db);
	db_unlock(c->db);
	if (rv == 0)
		rv = ctxn_enter(t, TX_WAIT, parts);
	return rv;
}

int
cwait_now(coord *c, coord_txn *t)
{
	int rv = cwait_write(c, t, 0);
	return rv != 0 ? rv : db_durable(c->db);
}

/* WAIT is durable (RC 0) or could not be: the vote step may run. */
static void
cwait_durable(void *arg, int rc)
{
	coord_txn *t = arg;
	t->wait_rc = rc;
	cflow_join(t);
}

void
cwait_async(coord *c, coord_txn *t)
{
#ifdef TWOPC_BUG_RESULT_BEFORE_WAIT
	/* TEST-ONLY BUG VARIANT (breaks R2): WAIT written lazily and its
	 * fsync not waited for, so COMMITTED and GLOBAL_COMMIT leave while
	 * WAIT is only in the page cache. twopc-crashtest's power-loss runs
	 * must catch it. */
	cwait_durable(t, cwait_write(c, t, 1));
	return;
#endif
	int rv = cwait_write(c, t, 0);
	if (rv != 0)
		cwait_durable(t, rv); /* the vote step fails the coordinator */
	else
		db_durable_async(c->db, cwait_durable, t);
}
