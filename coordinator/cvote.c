/*
 * cvote.c - the vote round (phase one).
 *
 * Every participant gets its VOTE_REQUEST at once, naming all of them
 * (the termination protocol asks the peers, DESIGN section 4). The tally:
 * COMMIT only if every participant voted COMMIT or READ-ONLY; a NO vote,
 * an error, a refusal or no vote within vote_timeout_ms means ABORT, and
 * the first such reason is what the client is told. With one participant
 * its vote is the outcome (conephase.c), and a vote that did not come is
 * a question, not an ABORT.
 */
#include "cvote.h"

#include <stdio.h>
#include <string.h>

#include "cdecide.h"
#include "cflow.h"
#include "conephase.h"
#include "coord.h"
#include "crash.h"
#include "csubmit.h"
#include "twopc/error.h"

void
cvote_start(coord *c, coord_txn *t, const wire_msg *sub)
{
	size_t n = t->nparts;
	wire_msg reqs[WIRE_MAX_WORK];
	char *peers[WIRE_MAX_WORK];
	uint64_t epoch = atomic_load(&c->epoch);

	for (size_t i = 0; i < n; i++)
		peers[i] = c->cfg->participants[t->parts[i]].name;
	for (size_t i = 0; i < n; i++) {
		wire_msg_init(&reqs[i], WIRE_VOTE_REQUEST, epoch, t->txid, c->cfg->coordinator.name);
		reqs[i].npeers = n;
		reqs[i].peers = peers;
		reqs[i].nops = sub->work[i].nops;
		reqs[i].ops = sub->work[i].ops;
		if (n == 1)
			reqs[i].flags = WIRE_FLAG_ONE_PHASE;
		t->who[i] = i;
	}
	cflow_batch(c, t, CSTAGE_VOTES, reqs, n);
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

/* What the votes of T's finished vote batch decide; *UNHEARD set if a
 * vote did not come. */
static tx_state
cvote_tally(coord *c, coord_txn *t, char *reason, size_t rlen, int *unheard)
{
	tx_state decision = TX_COMMIT;

	reason[0] = '\0';
	for (size_t i = 0; i < t->nparts; i++) {
		const char *who = c->cfg->participants[t->parts[i]].name;
		wire_msg rep;
		int result = cflow_result(c, t, i, &rep);
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
		if (rep.type == WIRE_VOTE_COMMIT && ours) {
			t->voted_commit[i] = 1;
		} else if (rep.type == WIRE_VOTE_READONLY && ours) {
			t->voted_readonly[i] = 1; /* a yes vote that needs no phase two */
		} else {
			if (decision == TX_COMMIT)
				cvote_why(&rep, who, reason, rlen);
			if (rep.type == WIRE_VOTE_ABORT)
				t->voted_abort[i] = 1;
			decision = TX_ABORT;
		}
		wire_msg_free(&rep);
	}
	cflow_batch_free(t);
	return decision;
}

void
cvote_step(coord *c, coord_txn *t)
{
	char reason[COORD_REASON];
	int unheard = 0;

	tx_state decision = cvote_tally(c, t, reason, sizeof(reason), &unheard);
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
		t->wait_rc = csubmit_wait_now(c, t);
	}
	if (t->wait_rc != 0) {
		coord_running_done(c, t, TX_NONE, NULL);
		coord_fail(c, "cannot force WAIT to the log");
		cflow_release(c, t);
		return;
	}
	cdecide(c, t, decision, reason);
}
