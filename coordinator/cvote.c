/*
 * cvote.c - the vote round (phase one).
 *
 * Every participant gets its VOTE_REQUEST at once, naming all of them
 * (the termination protocol asks the peers, DESIGN section 4). The tally:
 * COMMIT only if every participant voted COMMIT or READ-ONLY; a NO vote,
 * an error, a refusal or no vote within vote_timeout_ms means ABORT, and
 * the first such reason is what the client is told. With one participant
 * its vote is the decision (conephase.c), and a vote that did not come is
 * a question, not an ABORT.
 *
 * Waits (R5). A participant whose key is held by a READY transaction H
 * answers "busy" and keeps nothing of the request. The coordinator asks
 * it again, within the same round's deadline, only if H is decided (no
 * longer in the running table): a decided transaction waits for nothing,
 * so no wait can be part of a cycle, and H's GLOBAL is already on the
 * participant's channel, so the request sent again at once travels behind
 * it and usually finds the key free. A holder still undecided (older or
 * younger) makes the busy answer a NO vote, as before. Waiting for older
 * undecided holders too (DESIGN R5's wider rule, also free of cycles) was
 * measured: at 64 clients on 10 hot accounts it halved the committed
 * rate (waiters hold their other keys longer, and every older transaction
 * meeting them aborts), for the same abort rate.
 */
#include "cvote.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cdecide.h"
#include "cflow.h"
#include "conephase.h"
#include "coord.h"
#include "crash.h"
#include "cwait.h"
#include "mclock.h"
#include "twopc/error.h"

#define CVOTE_WAIT_CAP_MS 16  /* the longest pause between two tries */

/* The VOTE_REQUEST to every participant of T (BUSY_ONLY: to those that
 * answered busy), with the round's remaining time as the deadline. */
static void
cvote_send(coord *c, coord_txn *t, int busy_only)
{
	size_t n = 0;
	wire_msg reqs[WIRE_MAX_WORK];
	char *peers[WIRE_MAX_WORK];
	uint64_t epoch = atomic_load(&c->epoch);
	const wire_msg *sub = t->sub;

	for (size_t i = 0; i < t->nparts; i++)
		peers[i] = c->cfg->participants[t->parts[i]].name;
	for (size_t i = 0; i < t->nparts; i++) {
		if (busy_only && !t->busy[i])
			continue;
		wire_msg_init(&reqs[n], WIRE_VOTE_REQUEST, epoch, t->txid, c->cfg->coordinator.name);
		reqs[n].npeers = t->nparts;
		reqs[n].peers = peers;
		reqs[n].nops = sub->work[i].nops;
		reqs[n].ops = sub->work[i].ops;
		if (t->nparts == 1)
			reqs[n].flags = WIRE_FLAG_ONE_PHASE;
		t->who[n++] = i;
	}
	cflow_batch_ms(c, t, CSTAGE_VOTES, reqs, n, (int)(t->vote_until - mono_ms()));
}

void
cvote_start(coord *c, coord_txn *t)
{
	t->vote_until = mono_ms() + (int64_t)c->cfg->vote_timeout_ms;
	cvote_send(c, t, 0);
}

/* The wait is over (the timer's thread, which must not block: starting
 * a batch may): a step thread asks the busy participants again. */
static void
cvote_wake(void *arg)
{
	coord_txn *t = arg;
	t->stage = CSTAGE_RETRY;
	atomic_store(&t->pending, 1);
	cflow_join(t);
}

void
cvote_step_retry(coord *c, coord_txn *t)
{
	cvote_send(c, t, 1);
}

/* 1 if a transaction may wait for HOLDER (R5): it is decided (or not a
 * run of this process: a recovered one, which waits for nothing). */
static int
cvote_may_wait(coord *c, const char *holder)
{
	pthread_mutex_lock(&c->mtx);
	int ok = coord_running_find(c, holder) == NULL;
	pthread_mutex_unlock(&c->mtx);
	return ok;
}

/* Why participant WHO's reply REP (not a yes vote) means ABORT. */
static void
cvote_why(const wire_msg *rep, const char *who, char *reason, size_t rlen)
{
	if (rep->type == WIRE_VOTE_ABORT)
		snprintf(reason, rlen, "%s", rep->text ? rep->text : who);
	else if (rep->type == WIRE_ERROR)
		snprintf(reason, rlen, "%s refused the vote request: %s", who,
		    rep->text ? rep->text : "error");
	else
		snprintf(reason, rlen, "%s answered %s", who, wire_type_name(rep->type));
}

/* What the votes of T's finished vote batch decide so far: ABORT, or
 * COMMIT (*WAITING set while a participant is busy). *UNHEARD set if a
 * vote did not come. */
static tx_state
cvote_tally(coord *c, coord_txn *t, char *reason, size_t rlen, int *unheard, int *waiting)
{
	tx_state decision = TX_COMMIT;

	reason[0] = '\0';
	for (size_t k = 0; k < t->nwho; k++) {
		size_t i = t->who[k];
		const char *who = c->cfg->participants[t->parts[i]].name;
		wire_msg rep;
		int result = cflow_result(c, t, k, &rep);
		t->busy[i] = 0;
		if (result != 0) {
			*unheard = 1;
			if (decision == TX_COMMIT && result == TWOPC_ETIMEDOUT)
				snprintf(reason, rlen, "no vote from %s within %u ms", who,
				    c->cfg->vote_timeout_ms);
			else if (decision == TX_COMMIT)
				snprintf(reason, rlen, "no vote from %s: %s", who, twopc_strerror(result));
			decision = TX_ABORT;
			continue;
		}
		int ours = strcmp(rep.txid, t->txid) == 0;
		int busy = ours && rep.type == WIRE_VOTE_ABORT && (rep.flags & WIRE_FLAG_BUSY);
		if (rep.type == WIRE_VOTE_COMMIT && ours) {
			t->voted_commit[i] = 1;
		} else if (rep.type == WIRE_VOTE_READONLY && ours) {
			t->voted_readonly[i] = 1; /* a yes vote that needs no phase two */
#ifdef TWOPC_BUG_BUSY_AS_YES
		} else if (busy) {
			/* TEST-ONLY BUG VARIANT (breaks R1): a busy answer, which
			 * staged nothing, counted as a COMMIT vote. twopc-crashtest
			 * must catch it. */
			t->voted_commit[i] = 1;
#endif
		} else if (busy && rep.text != NULL && cvote_may_wait(c, rep.text)) {
			t->busy[i] = 1;
			snprintf(t->reason, sizeof(t->reason), "%s: a key is held by %s, still "
			    "not released after %u ms", who, rep.text, c->cfg->vote_timeout_ms);
		} else {
			if (decision == TX_COMMIT && busy)
				snprintf(reason, rlen, "%s: a key is held by %s, not yet decided", who,
				    rep.text ? rep.text : "?");
			else if (decision == TX_COMMIT)
				cvote_why(&rep, who, reason, rlen);
			/* A busy one kept no record: no GLOBAL_ABORT needed either. */
			if (rep.type == WIRE_VOTE_ABORT)
				t->voted_abort[i] = 1;
			decision = TX_ABORT;
		}
		wire_msg_free(&rep);
	}
	for (size_t i = 0; decision == TX_COMMIT && i < t->nparts; i++)
		*waiting |= t->busy[i];
	return decision;
}

/* T waits (busy participants, time left): ask them again after a pause,
 * at once the first time (the holder's GLOBAL is likely already on the
 * channel ahead of the request), then 1, 2, 4 ... CVOTE_WAIT_CAP_MS. 0, or
 * -1 if no timer could be had (then T does not wait). */
static int
cvote_wait(coord *c, coord_txn *t)
{
	int ms = t->wait_ms;
	t->wait_ms = ms == 0 ? 1 : (ms * 2 > CVOTE_WAIT_CAP_MS ? CVOTE_WAIT_CAP_MS : ms * 2);
	if (ms == 0) {
		cvote_send(c, t, 1);
		return 0;
	}
	if (t->wait_tmr.fn == NULL)
		tmr_init(&t->wait_tmr, cvote_wake, t);
	return tmr_arm(&t->wait_tmr, (uint32_t)ms);
}

/* Read T's finished vote batch into t->tally*, once per batch. */
static void
cvote_read(coord *c, coord_txn *t)
{
	if (t->tallied)
		return;
	t->tallied = 1;
	t->tally_unheard = t->tally_waiting = 0;
	t->tally = cvote_tally(c, t, t->tally_reason, sizeof(t->tally_reason), &t->tally_unheard,
	    &t->tally_waiting);
}

void
cvote_votes_in(coord *c, coord_txn *t)
{
	cvote_read(c, t);
	/* R2: the commit point is WAIT durable and every vote yes. Both are
	 * true here (the flow joined both), so the client hears COMMITTED now,
	 * past the reply gate (which would wait for other transactions'
	 * records too); the COMMIT record, lazy, and the GLOBAL_COMMITs
	 * follow on the step thread. A fenced coordinator answers "outcome
	 * unknown" instead (cflow_answer_to). With WAIT held back (CTXN_WAIT_LATE:
	 * the crash point before_decision_logged, the bug variant
	 * GLOBAL_BEFORE_DECISION) the vote step decides, as before. */
	if (t->tally != TX_COMMIT || t->tally_waiting || t->nparts < 2 || t->client == NULL ||
	    (t->flags & CTXN_WAIT_LATE) || t->wait_rc != 0)
		return;
	/* crash here: the commit point, nothing recorded or sent since;
	 * recovery asks the participants, finds them all READY and commits. */
	crash_point("coordinator.after_decision_logged");
	t->flags |= CTXN_ANSWERED;
	cflow_answer_durable(c, t, TX_COMMIT, "");
}

void
cvote_step(coord *c, coord_txn *t)
{
	char reason[COORD_REASON];
	cvote_read(c, t);
	/* Freed here, not where it was read: that may be an NNG thread in
	 * the callback of one of the batch's own aios, which nng_aio_free
	 * would wait for. */
	cflow_batch_free(t);
	t->tallied = 0; /* the next batch is read anew */
	int unheard = t->tally_unheard;
	int waiting = t->tally_waiting;
	tx_state decision = t->tally;
	snprintf(reason, sizeof(reason), "%s", t->tally_reason);
	if (waiting && t->wait_rc == 0 && mono_ms() < t->vote_until && !coord_stopping(c) &&
	    cvote_wait(c, t) == 0)
		return;
	if (waiting) {
		/* Out of time: the holder stayed undecided for the whole round. */
		decision = TX_ABORT;
		snprintf(reason, sizeof(reason), "%.500s", t->reason);
	}
	/* Every vote is in: the work is no longer needed. */
	wire_msg_free(t->sub);
	free(t->sub);
	t->sub = NULL;
	if (t->nparts == 1 && unheard) {
		/* One-phase, and the vote was lost: it may have been a COMMIT.
		 * Ask the participant. */
		snprintf(t->reason, sizeof(t->reason), "%s", reason);
		conephase_ask(c, t);
		return;
	}
	if (t->nparts == 1) {
		conephase_done(c, t, decision, 0, reason);
		return;
	}
#ifdef TWOPC_BUG_GLOBAL_BEFORE_DECISION
	/* TEST-ONLY BUG VARIANT (breaks R2): GLOBAL_COMMIT leaves before WAIT
	 * is durable (here: before it is written at all). twopc-crashtest
	 * must catch it. */
	if (decision == TX_COMMIT) {
		cdecide_early_start(c, t);
		return;
	}
#endif
	if (t->flags & CTXN_WAIT_LATE) {
		/* crash here: every vote in, WAIT not durable (not written);
		 * recovery has no record: presumed ABORT, which the READY
		 * participants hear when they ask. */
		crash_point("coordinator.before_decision_logged");
		t->wait_rc = cwait_now(c, t);
	}
	if (t->wait_rc != 0) {
		coord_running_done(c, t, TX_NONE, NULL);
		coord_fail(c, "cannot force WAIT to the log");
		cflow_release(c, t);
		return;
	}
	cdecide(c, t, decision, reason);
}
