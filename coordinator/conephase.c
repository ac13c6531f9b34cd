/*
 * conephase.c - one-phase commit: a transaction with a single participant.
 *
 * With one participant there is nobody to agree with: its vote is the
 * decision. The VOTE_REQUEST carries WIRE_FLAG_ONE_PHASE; the participant
 * stages, applies and forces COMMIT in one SQLite transaction and answers
 * VOTE_COMMIT (or votes ABORT as usual). The coordinator forces nothing:
 * one fsync per transaction in all, at the participant, and no phase two.
 *
 * Invariants:
 *  - The coordinator never reports, logs or answers ABORT for a one-phase
 *    transaction the participant may have committed. A vote that did not
 *    come is not an ABORT: the coordinator asks (DECISION_REQUEST with the
 *    flag). The participant answers from its log; with no record it first
 *    forces ABORT (R8), so a late VOTE_REQUEST can no longer commit.
 *  - If the participant cannot be reached, the outcome is UNDECIDED: the
 *    client is told so, WAIT stays in the log, and the resender asks again
 *    every vote timeout, on a flow like every other question. Restart
 *    recovery leaves one-phase WAITs alone (crecover.c) for the same reason.
 *  - The outcome is recorded lazily (END or ABORT): if a crash loses it,
 *    the coordinator is back at WAIT (asks again) or has no record (a
 *    retried SUBMIT runs a one-phase VOTE_REQUEST again, which a
 *    participant with COMMIT answers VOTE_COMMIT, with ABORT VOTE_ABORT).
 *  - The participant drops its COMMIT row only on FORGET, sent after END
 *    is durable (cforget.c), as for two-phase transactions (R9).
 */
#include "conephase.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cflow.h"
#include "cforget.h"
#include "coord.h"
#include "crash.h"
#include "tlog.h"
#include "twopc/error.h"

#define CONEPHASE_PASS 256   /* questions per resender pass, at most */

/* Record the outcome DECISION (COMMIT or ABORT) of one-phase T: END or
 * ABORT, lazily; then T enters it, for WHY. */
static int
conephase_record(coord *c, coord_txn *t, tx_state decision, const char *why)
{
	tx_state to = decision == TX_COMMIT ? TX_END : TX_ABORT;
	int rv;
	db_lock(c->db);
	if ((rv = db_begin_lazy(c->db)) == 0) {
		if ((rv = ctxn_write(c->db, t, to, NULL)) != 0)
			db_rollback(c->db);
		else
			rv = db_commit(c->db);
	}
	if (rv == 0 && decision == TX_COMMIT) {
		pthread_mutex_lock(&c->mtx);
		cforget_queue(c, t->parts[0], t->txid);
		pthread_mutex_unlock(&c->mtx);
	}
	db_unlock(c->db);
	if (rv != 0) {
		coord_fail(c, "cannot write the log");
		return rv;
	}
	return ctxn_enter(t, to, why);
}

void
conephase_ask(coord *c, coord_txn *t)
{
	wire_msg req;
	wire_msg_init(&req, WIRE_DECISION_REQUEST, atomic_load(&c->epoch), t->txid,
	    c->cfg->coordinator.name);
	req.flags = WIRE_FLAG_ONE_PHASE;
	t->who[0] = 0;
	cflow_batch(c, t, CSTAGE_ASKED, &req, 1);
}

/* What the answer to the question (call 0 of T's batch) says: COMMIT,
 * ABORT or UNDECIDED. */
static tx_state
conephase_answer(coord *c, coord_txn *t)
{
	wire_msg rep;
	int result = cflow_result(c, t, 0, &rep);
	cflow_batch_free(t);
	if (result != 0)
		return TX_UNDECIDED;
	tx_state s = TX_UNDECIDED;
	if (rep.type == WIRE_DECISION_REPLY && (rep.state == TX_COMMIT || rep.state == TX_ABORT))
		s = (tx_state)rep.state;
	else
		tlog_warn("%s: one-phase participant %s answered %s (state %s)", t->txid,
		    c->cfg->participants[t->parts[0]].name, wire_type_name(rep.type),
		    tx_state_name(rep.state));
	wire_msg_free(&rep);
	return s;
}

void
conephase_done(coord *c, coord_txn *t, tx_state decision, int asked, char *reason)
{
	const char *who = c->cfg->participants[t->parts[0]].name;

	if (t->voted_readonly[0])
		decision = TX_COMMIT; /* nothing to write there: committed */
	if (asked && decision == TX_COMMIT)
		reason[0] = '\0';
	else if (asked && decision == TX_UNDECIDED)
		snprintf(reason, COORD_REASON, "outcome unknown: one-phase participant %s did not "
		    "answer; the coordinator keeps asking it", who);
	/* crash here: the vote is in (the participant's log is the decision),
	 * nothing recorded; recovery asks the participant. */
	crash_point("coordinator.before_decision_logged");
	if (decision == TX_UNDECIDED) {
		tlog_warn("%s: %s", t->txid, reason);
	} else if (conephase_record(c, t, decision,
	    decision == TX_COMMIT ? "one-phase commit" : reason) != 0) {
		snprintf(reason, COORD_REASON, "outcome unknown: the coordinator cannot write its log");
		decision = TX_UNDECIDED;
	}
	coord_running_done(c, t, decision, reason);
	cflow_answer(c, t, decision, reason);
	cflow_release(c, t);
}

void
conephase_step_asked(coord *c, coord_txn *t)
{
	tx_state decision = conephase_answer(c, t);
	if (t->flags & CTXN_RESEND) {
		/* The resender's question: silence is asked again next pass. */
		if (decision != TX_UNDECIDED)
			(void)conephase_record(c, t, decision, "one-phase outcome asked of the participant");
		cflow_release(c, t);
		return;
	}
	char reason[COORD_REASON];
	snprintf(reason, sizeof(reason), "%.500s", t->reason); /* why the vote was lost */
	conephase_done(c, t, decision, 1, reason);
}

typedef struct conephase_due {
	coord *c;
	coord_txn **v;
	size_t n;
	int64_t before;
} conephase_due;

static void
conephase_collect(void *arg, const char *txid, const clog_txn *row)
{
	conephase_due *d = arg;
	if (d->n == CONEPHASE_PASS || row->created_at > d->before ||
	    strchr(row->participants, ',') != NULL ||
	    cfg_participant_index(d->c->cfg, row->participants) < 0)
		return;
	coord_txn *t = ctxn_from_row(d->c->cfg, txid, row);
	if (t != NULL)
		d->v[d->n++] = t;
}

void
conephase_resolve(coord *c, int64_t age_ms, cflow_group *group)
{
	conephase_due d = { .c = c, .before = db_now_ms() - age_ms };
	if ((d.v = calloc(CONEPHASE_PASS, sizeof(*d.v))) == NULL)
		return;
	db_lock(c->db);
	(void)clog_each(c->db, TX_WAIT, CONEPHASE_PASS, conephase_collect, &d);
	db_unlock(c->db);
	cflow_start_idle(c, d.v, d.n, group, conephase_ask);
	free(d.v);
}
