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
 *    every vote timeout. Restart recovery leaves one-phase WAITs alone
 *    (coord_collect_wait) for the same reason.
 *  - The outcome is recorded lazily (END or ABORT): if a crash loses it,
 *    the coordinator is back at WAIT (asks again) or has no record (a
 *    retried SUBMIT runs a one-phase VOTE_REQUEST again, which a
 *    participant with COMMIT answers VOTE_COMMIT, with ABORT VOTE_ABORT).
 *  - The participant drops its COMMIT row only on FORGET, sent after END
 *    is durable (coord_flush_forget), as for two-phase transactions (R9).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord.h"
#include "crash.h"
#include "tlog.h"
#include "twopc/error.h"

/* Record the outcome of a one-phase TXID (participant index PART). */
static int
coord_one_phase_record(coord *c, const char *txid, int part, tx_state decision)
{
	int rv;
	db_lock(c->db);
	if ((rv = db_begin_lazy(c->db)) == 0) {
		rv = clog_set_state(c->db, txid, decision == TX_COMMIT ? TX_END : TX_ABORT,
		    db_now_ms());
		if (rv != 0)
			db_rollback(c->db);
		else
			rv = db_commit(c->db);
	}
	if (rv == 0 && decision == TX_COMMIT) {
		pthread_mutex_lock(&c->mtx);
		coord_forget_queue(c, part, txid);
		pthread_mutex_unlock(&c->mtx);
	}
	db_unlock(c->db);
	if (rv != 0)
		coord_fail(c, "cannot write the log");
	return rv;
}

void
coord_one_phase_ask_req(coord *c, const char *txid, wire_msg *req)
{
	wire_msg_init(req, WIRE_DECISION_REQUEST, atomic_load(&c->epoch), txid,
	    c->cfg->coordinator.name);
	req->flags = WIRE_FLAG_ONE_PHASE;
}

tx_state
coord_one_phase_answer(coord *c, const char *txid, int part, int result, wire_msg *rep)
{
	if (result != 0)
		return TX_UNDECIDED;
	tx_state s = TX_UNDECIDED;
	if (rep->type == WIRE_DECISION_REPLY && (rep->state == TX_COMMIT || rep->state == TX_ABORT))
		s = (tx_state)rep->state;
	else
		tlog_warn("%s: one-phase participant %s answered %s (state %s)", txid,
		    c->cfg->participants[part].name, wire_type_name(rep->type),
		    tx_state_name(rep->state));
	wire_msg_free(rep);
	return s;
}

/* DECISION_REQUEST to the participant, waiting: COMMIT, ABORT or
 * UNDECIDED. */
static tx_state
coord_one_phase_ask(coord *c, const char *txid, int part)
{
	wire_msg req, rep;
	coord_one_phase_ask_req(c, txid, &req);
	int rv = rpc_call(c->socks[part], &req, &rep, (int)c->cfg->vote_timeout_ms);
	(void)coord_fence_check(c, part, rv, &rep);
	return coord_one_phase_answer(c, txid, part, rv, &rep);
}

tx_state
coord_one_phase_end(coord *c, coord_txn *t, tx_state decision, int asked, char *reason,
    size_t rlen)
{
	const char *who = c->cfg->participants[t->parts[0]].name;

	if (t->voted_readonly[0])
		decision = TX_COMMIT; /* nothing to write there: committed */
	if (asked) {
		/* The vote was lost; DECISION is what the participant said
		 * when asked. */
		if (decision == TX_COMMIT)
			reason[0] = '\0';
		else if (decision == TX_UNDECIDED)
			snprintf(reason, rlen, "outcome unknown: one-phase participant %s did not "
			    "answer; the coordinator keeps asking it", who);
	}
	/* crash here: the vote is in (the participant's log is the decision),
	 * nothing recorded; recovery asks the participant. */
	crash_point("coordinator.before_decision_logged");
	if (decision == TX_UNDECIDED) {
		tlog_warn("%s: %s", t->txid, reason);
		return TX_UNDECIDED;
	}
	if (coord_one_phase_record(c, t->txid, t->parts[0], decision) != 0) {
		snprintf(reason, rlen, "outcome unknown: the coordinator cannot write its log");
		return TX_UNDECIDED;
	}
	tlog_state(t->txid, "WAIT", decision == TX_COMMIT ? "END" : "ABORT",
	    decision == TX_COMMIT ? "one-phase commit" : reason);
	return decision;
}

typedef struct coord_opw {
	char (*ids)[WIRE_TXID_MAX + 1];
	int *part;
	size_t n, cap;
	int64_t before;
	const coord *c;
} coord_opw;

static void
coord_opw_add(void *arg, const char *txid, const clog_txn *t)
{
	coord_opw *w = arg;
	if (w->n == w->cap || t->created_at > w->before || strchr(t->participants, ',') != NULL)
		return;
	int idx = cfg_participant_index(w->c->cfg, t->participants);
	if (idx < 0)
		return;
	snprintf(w->ids[w->n], sizeof(w->ids[0]), "%s", txid);
	w->part[w->n++] = idx;
}

void
coord_one_phase_resolve(coord *c, int64_t age_ms)
{
	coord_opw w = { .cap = 256, .before = db_now_ms() - age_ms, .c = c };
	w.ids = calloc(w.cap, sizeof(*w.ids));
	w.part = calloc(w.cap, sizeof(*w.part));
	if (w.ids == NULL || w.part == NULL)
		goto out;
	db_lock(c->db);
	int rv = clog_each(c->db, TX_WAIT, w.cap, coord_opw_add, &w);
	db_unlock(c->db);
	/* A participant that does not answer is asked once per pass, not
	 * once per transaction: the resender must not stall for a timeout
	 * per in-doubt transaction while it is down. */
	int silent[CFG_MAX_PARTICIPANTS] = { 0 };
	for (size_t i = 0; rv == 0 && i < w.n; i++) {
		if (w.part[i] < CFG_MAX_PARTICIPANTS && silent[w.part[i]])
			continue;
		pthread_mutex_lock(&c->mtx);
		int running = 0;
		for (coord_txn *t = c->running; t != NULL; t = t->next)
			running |= strcmp(t->txid, w.ids[i]) == 0;
		pthread_mutex_unlock(&c->mtx);
		if (running)
			continue;
		tx_state s = coord_one_phase_ask(c, w.ids[i], w.part[i]);
		if (s == TX_UNDECIDED) {
			if (w.part[i] < CFG_MAX_PARTICIPANTS)
				silent[w.part[i]] = 1;
			continue;
		}
		if (coord_one_phase_record(c, w.ids[i], w.part[i], s) != 0)
			break;
		tlog_state(w.ids[i], "WAIT", s == TX_COMMIT ? "END" : "ABORT",
		    "one-phase outcome asked of the participant");
	}
out:
	free(w.ids);
	free(w.part);
}
