/*
 * coord.c - the coordinator: SUBMIT, the vote round, the decision, and the
 * answers it gives about transactions (DECISION_REQUEST, STATUS_REQUEST).
 *
 *   SUBMIT        vote round                  decision forced (R2)
 *   (none) -----> WAIT ---- all VOTE_COMMIT ----> COMMIT ---- every ACK ----> END
 *                   |                                            (lazy)
 *                   +---- a VOTE_ABORT, an error or the vote timeout ----> ABORT
 *                                                     (not forced: presumed abort)
 *
 * Invariants: a transaction is in the running table, in state WAIT, before
 * any VOTE_REQUEST for it leaves, and leaves the table only after its
 * decision is in the log; so "no record anywhere" really means no run of
 * this epoch can still commit it, and DECISION_REQUEST may presume ABORT.
 * RESULT COMMIT and GLOBAL_COMMIT leave only after COMMIT is forced.
 *
 * Concurrency: a SUBMIT holds no thread while it waits. Its handler
 * records WAIT, starts the vote as a batch of calls (rpc_batch_start) and
 * keeps the request (rpc_defer). Each finished batch queues the next step
 * for a small pool of step threads: tally the votes and record the
 * decision; once a COMMIT is on disk (db_durable_async: the thread that
 * ends the group's sync goes on) start the GLOBAL batch; then record the
 * ACKs and answer the client. Thousands of transactions can be in flight
 * with COORD_WORKERS + COORD_STEPPERS threads. Memory per transaction in
 * flight: its coord_txn (about 3.3 KB), its batch (about 250 bytes per
 * participant plus NNG's context and aio) and its messages.
 */
#include "coord.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crash.h"
#include "mclock.h"
#include "statlist.h"
#include "tlog.h"
#include "twopc/error.h"

void
coord_fail(coord *c, const char *why)
{
	pthread_mutex_lock(&c->mtx);
	if (!c->failed)
		tlog_error("stopping: %s; nothing more will be promised until restart", why);
	c->failed = 1;
	pthread_cond_broadcast(&c->cv);
	pthread_cond_broadcast(&c->jobs_cv);
	pthread_mutex_unlock(&c->mtx);
}

void
coord_join_parts(const coord *c, const coord_txn *t, char *buf, size_t len)
{
	size_t at = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < t->nparts && at < len; i++)
		at += (size_t)snprintf(buf + at, len - at, "%s%s", i ? "," : "",
		    c->cfg->participants[t->parts[i]].name);
}

static coord_txn *
coord_find(coord *c, const char *txid)
{
	for (coord_txn *t = c->running; t != NULL; t = t->next)
		if (strcmp(t->txid, txid) == 0)
			return t;
	return NULL;
}

static void
coord_unlink(coord *c, coord_txn *t)
{
	for (coord_txn **pp = &c->running; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == t) {
			*pp = t->next;
			t->next = NULL;
			return;
		}
	}
}

void
coord_txn_unref(coord *c, coord_txn *t)
{
	pthread_mutex_lock(&c->mtx);
	int last = --t->refs == 0;
	pthread_mutex_unlock(&c->mtx);
	if (last)
		free(t);
}

static int
coord_result(wire_msg *rep, tx_state outcome, const char *reason, char *buf, size_t len)
{
	rep->type = WIRE_RESULT;
	rep->state = (uint8_t)outcome;
	snprintf(buf, len, "%s", reason ? reason : "");
	rep->text = buf;
	return 1;
}

static int
coord_error(wire_msg *rep, int code, const char *text, char *buf, size_t len)
{
	rep->type = WIRE_ERROR;
	rep->code = (uint16_t)(-code);
	snprintf(buf, len, "%s", text);
	rep->text = buf;
	return 1;
}

/* The outcome of a txid the log knows, for a repeated SUBMIT (R7). */
static tx_state
coord_outcome(tx_state logged)
{
	/* WAIT with nobody running it: a one-phase commit whose participant
	 * has not answered yet (recovery turns every other WAIT to ABORT). */
	if (logged == TX_WAIT)
		return TX_UNDECIDED;
	return logged == TX_COMMIT || logged == TX_END ? TX_COMMIT : TX_ABORT;
}

static void coord_batch_done(rpc_batch *b, void *arg);
static void coord_step_queue(coord *c, coord_txn *t);

/* Start the calls of T's next stage (REQS to t->parts[t->who[i]]); the
 * step runs when they are all answered or timed out. */
static void
coord_batch(coord *c, coord_txn *t, int stage, const wire_msg *reqs, size_t n)
{
	const wire_msg *preqs[WIRE_MAX_WORK];
	nng_socket socks[WIRE_MAX_WORK];
	for (size_t i = 0; i < n; i++) {
		preqs[i] = &reqs[i];
		socks[i] = c->socks[t->parts[t->who[i]]];
	}
	t->stage = stage;
	t->nwho = n;
	t->batch = NULL;
	if (rpc_batch_start(n, socks, preqs, (int)c->cfg->vote_timeout_ms, coord_batch_done, t) != 0)
		coord_step_queue(c, t); /* no batch: every call failed */
}

/* Call I of T's finished batch (TWOPC_ENOMEM if the batch never started). */
static int
coord_batch_result(coord_txn *t, size_t i, wire_msg *rep)
{
	int rv = t->batch != NULL ? rpc_batch_result(t->batch, i, rep) : TWOPC_ENOMEM;
	(void)coord_fence_check(t->c, t->parts[t->who[i]], rv, rep);
	return rv;
}

/* Phase one: a VOTE_REQUEST to every participant of T (in the table, WAIT). */
static void
coord_vote_start(coord *c, coord_txn *t, const wire_msg *sub)
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
	coord_batch(c, t, COORD_STAGE_VOTES, reqs, n);
}

/* What the votes of T's finished vote batch decide. */
static tx_state
coord_vote_tally(coord *c, coord_txn *t, char *reason, size_t rlen, int *unheard)
{
	tx_state decision = TX_COMMIT;

	reason[0] = '\0';
	for (size_t i = 0; i < t->nparts; i++) {
		const char *who = c->cfg->participants[t->parts[i]].name;
		wire_msg rep;
		int result = coord_batch_result(t, i, &rep);
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
		if (rep.type == WIRE_VOTE_COMMIT && strcmp(rep.txid, t->txid) == 0) {
			t->voted_commit[i] = 1;
		} else if (rep.type == WIRE_VOTE_READONLY && strcmp(rep.txid, t->txid) == 0) {
			t->voted_readonly[i] = 1; /* a yes vote that needs no phase two */
		} else {
			if (decision == TX_COMMIT) {
				if (rep.type == WIRE_VOTE_ABORT)
					snprintf(reason, rlen, "%s", rep.text ? rep.text : who);
				else if (rep.type == WIRE_ERROR)
					snprintf(reason, rlen, "%s refused the vote request: %s", who,
					    rep.text ? rep.text : "error");
				else
					snprintf(reason, rlen, "%s answered %s", who, wire_type_name(rep.type));
			}
			if (rep.type == WIRE_VOTE_ABORT)
				t->voted_abort[i] = 1;
			decision = TX_ABORT;
		}
		wire_msg_free(&rep);
	}
	rpc_batch_free(t->batch);
	t->batch = NULL;
	return decision;
}

static void coord_decided(void *arg, int rc);
static void coord_finish(coord *c, coord_txn *t, tx_state out, const char *reason, int send);

/*
 * Record the decision of T, then go on (coord_decided) once a COMMIT is on
 * disk: R2, no GLOBAL_COMMIT before that. The step does not wait for the
 * fsync: decisions taken meanwhile share it (group commit), and the rest
 * of the transaction runs on the thread that ends the sync.
 */
static void
coord_decide(coord *c, coord_txn *t, tx_state decision, const char *reason)
{
	int rv;

	/* crash here: votes in, no decision; recovery finds WAIT (or nothing)
	 * and aborts; READY participants learn ABORT by presumption. */
	crash_point("coordinator.before_decision_logged");
	if (coord_is_fenced(c)) {
		/* Fenced: WAIT stays as it is; the newer coordinator decides. */
		pthread_mutex_lock(&c->mtx);
		coord_unlink(c, t);
		pthread_cond_broadcast(&c->cv);
		pthread_mutex_unlock(&c->mtx);
		coord_finish(c, t, TX_UNDECIDED, "", 1);
		return;
	}
	db_lock(c->db);
	if (decision == TX_COMMIT) {
		rv = db_begin(c->db);
		if (rv == 0 && (rv = clog_set_state(c->db, t->txid, TX_COMMIT, db_now_ms())) != 0)
			db_rollback(c->db);
		/* READ-ONLY voters are done: their "ACK" is recorded with the
		 * decision, so no resend ever targets them. */
		for (size_t i = 0; rv == 0 && i < t->nparts; i++)
			if (t->voted_readonly[i] &&
			    (rv = clog_ack(c->db, t->txid, c->cfg->participants[t->parts[i]].name)) != 0)
				db_rollback(c->db);
		if (rv == 0)
			rv = db_commit(c->db);   /* R2: forced, below */
	} else {
		rv = db_begin_lazy(c->db);
		if (rv == 0 && (rv = clog_set_state(c->db, t->txid, TX_ABORT, db_now_ms())) != 0)
			db_rollback(c->db);
		if (rv == 0)
			rv = db_commit(c->db);
	}
	pthread_mutex_lock(&c->mtx);
	if (rv == 0) {
		t->state = decision;
		snprintf(t->reason, sizeof(t->reason), "%s", reason);
		coord_unlink(c, t);
		pthread_cond_broadcast(&c->cv);
	}
	pthread_mutex_unlock(&c->mtx);
	db_unlock(c->db);
	if (rv == 0 && decision == TX_COMMIT)
		db_durable_async(c->db, coord_decided, t);
	else
		coord_decided(t, rv);
}

static int
coord_on_submit(coord *c, const wire_msg *req, wire_msg *rep, char *buf, size_t len)
{
	coord_txn *t = NULL;
	char parts[sizeof(((clog_txn *)0)->participants)];
	char reason[512];
	clog_txn logged;

	/* Validate everything before anything is recorded. */
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return 0;
	t->nparts = req->nwork;
	for (size_t i = 0; i < req->nwork; i++) {
		int idx = cfg_participant_index(c->cfg, req->work[i].participant);
		if (idx < 0) {
			snprintf(reason, sizeof(reason), "unknown participant '%s'", req->work[i].participant);
			free(t);
			return coord_error(rep, TWOPC_ENOENT, reason, buf, len);
		}
		for (size_t j = 0; j < i; j++) {
			if (t->parts[j] == idx) {
				snprintf(reason, sizeof(reason), "participant '%s' named twice",
				    req->work[i].participant);
				free(t);
				return coord_error(rep, TWOPC_EINVAL, reason, buf, len);
			}
		}
		t->parts[i] = idx;
	}
	if (req->txid[0] != '\0') {
		snprintf(t->txid, sizeof(t->txid), "%s", req->txid);
	} else {
		snprintf(t->txid, sizeof(t->txid), "%s-%llu-%llu", c->cfg->coordinator.name,
		    (unsigned long long)atomic_load(&c->epoch),
		    (unsigned long long)(atomic_fetch_add(&c->seq, 1) + 1));
	}
	rep->txid[0] = '\0';
	snprintf(rep->txid, sizeof(rep->txid), "%s", t->txid);
	t->state = TX_WAIT;
	t->refs = 1;
	coord_join_parts(c, t, parts, sizeof(parts));

	/* R7: a txid with a record is answered, never run again. The check and
	 * the insertion are one step under both locks. */
	db_lock(c->db);
	int rv = clog_get(c->db, t->txid, &logged);
	if (rv == TWOPC_EIO) {
		db_unlock(c->db);
		free(t);
		return coord_error(rep, TWOPC_EIO, "cannot read the coordinator log", buf, len);
	}
	pthread_mutex_lock(&c->mtx);
	coord_txn *dup = coord_find(c, t->txid);
	if (dup != NULL) {
		db_unlock(c->db);
		free(t);
		dup->refs++;
		while (dup->state == TX_WAIT && !c->failed)
			pthread_cond_wait(&c->cv, &c->mtx);
		tx_state out = dup->state;
		snprintf(reason, sizeof(reason), "%.500s", dup->reason);
		pthread_mutex_unlock(&c->mtx);
		coord_txn_unref(c, dup);
		if (out == TX_WAIT)
			return 0;
		return coord_result(rep, out, reason, buf, len);
	}
	if (rv == 0) {
		pthread_mutex_unlock(&c->mtx);
		db_unlock(c->db);
		free(t);
		snprintf(reason, sizeof(reason), "txid already known (%s): not run again",
		    tx_state_name(logged.state));
		return coord_result(rep, coord_outcome(logged.state), reason, buf, len);
	}
	t->next = c->running;
	c->running = t;
	pthread_mutex_unlock(&c->mtx);
	/* WAIT is lazy: if it is lost, recovery has nothing to abort and every
	 * participant's question is answered ABORT by presumption anyway. */
	if ((rv = db_begin_lazy(c->db)) == 0 &&
	    (rv = clog_put(c->db, t->txid, TX_WAIT, parts, db_now_ms(), 0)) != 0)
		db_rollback(c->db);
	if (rv == 0)
		rv = db_commit(c->db);
	db_unlock(c->db);
	if (rv != 0) {
		coord_fail(c, "cannot write the log");
		return 0;
	}
	tlog_state(t->txid, "NONE", "WAIT", parts);

	/* From here the transaction runs as steps (below), answering the
	 * client when it is done; no thread waits for it. */
	t->c = c;
	t->client = rpc_defer();
	coord_vote_start(c, t, req);
	return RPC_DEFERRED;
}

/* ---- the steps of a submitted transaction ---- */

static void
coord_step_queue(coord *c, coord_txn *t)
{
	pthread_mutex_lock(&c->mtx);
	t->step_next = NULL;
	if (c->steps_tail != NULL)
		c->steps_tail->step_next = t;
	else
		c->steps = t;
	c->steps_tail = t;
	pthread_cond_signal(&c->steps_cv);
	pthread_mutex_unlock(&c->mtx);
}

/* A batch is done (on an NNG thread): the next step goes to a step
 * thread. */
static void
coord_batch_done(rpc_batch *b, void *arg)
{
	coord_txn *t = arg;
	t->batch = b;
	coord_step_queue(t->c, t);
}

/* Answer the client (OUT COMMIT or ABORT: RESULT; UNDECIDED: outcome
 * unknown; SEND 0: no answer) and end the flow's hold on T. */
static void
coord_finish(coord *c, coord_txn *t, tx_state out, const char *reason, int send)
{
	static _Thread_local char buf[WIRE_TEXT_MAX + 1];
	wire_msg rep;
	wire_msg_init(&rep, 0, 0, t->txid, c->cfg->coordinator.name);
	if (send && coord_is_fenced(c)) {
		/* A newer coordinator owns the outcome now: whatever this one
		 * decided may be overruled, so it promises nothing. */
		out = TX_UNDECIDED;
		reason = "outcome unknown: this coordinator was fenced by a newer epoch; "
		    "ask the cluster with twopc status";
	}
	if (!send)
		rpc_reply_deferred(t->client, NULL);
	else if (out == TX_UNDECIDED)
		(void)coord_error(&rep, TWOPC_ETIMEDOUT, reason, buf, sizeof(buf));
	else
		(void)coord_result(&rep, out, reason, buf, sizeof(buf));
	if (send)
		rpc_reply_deferred(t->client, &rep);
	coord_txn_unref(c, t);
}

/* Participants that never voted hear GLOBAL_ABORT from a background
 * phase-two thread, off the client's path (they may be down). */
static void
coord_abort_silent(coord *c, coord_txn *t)
{
	int silent = 0;
	for (size_t i = 0; i < t->nparts; i++)
		silent |= !t->voted_commit[i] && !t->voted_abort[i] && !t->voted_readonly[i];
	if (!silent)
		return;
	for (size_t i = 0; i < t->nparts; i++)
		t->voted_abort[i] |= t->voted_commit[i]; /* already told */
	pthread_mutex_lock(&c->mtx);
	t->refs++;
	pthread_mutex_unlock(&c->mtx);
	coord_queue_job(c, t);
}

/* One-phase: the participant's vote (or answer) is the outcome. */
#define COORD_REASON 512   /* the reason buffers of the steps */

static void
coord_step_one_phase(coord *c, coord_txn *t, tx_state decision, int asked, char *reason)
{
	decision = coord_one_phase_end(c, t, decision, asked, reason, COORD_REASON);
	pthread_mutex_lock(&c->mtx);
	t->state = decision;
	snprintf(t->reason, sizeof(t->reason), "%s", reason);
	coord_unlink(c, t);
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mtx);
	coord_finish(c, t, decision, reason, 1);
}

/*
 * The votes are in: decide, and start phase two. Phase two comes before
 * the RESULT: when the client hears COMMITTED, every reachable participant
 * has applied it and released its locks, so the client's next transaction
 * or read sees its writes instead of conflicting with its own previous
 * transaction. A participant that does not ACK in time is left to the
 * resender.
 */
static void
coord_step_votes(coord *c, coord_txn *t)
{
	char reason[COORD_REASON];
	int unheard = 0;

	tx_state decision = coord_vote_tally(c, t, reason, sizeof(reason), &unheard);
	if (t->nparts == 1 && unheard) {
		/* One-phase, and the vote was lost: it may have been a COMMIT.
		 * Ask the participant (conephase.c). */
		wire_msg req;
		snprintf(t->reason, sizeof(t->reason), "%s", reason);
		coord_one_phase_ask_req(c, t->txid, &req);
		t->who[0] = 0;
		coord_batch(c, t, COORD_STAGE_ASKED, &req, 1);
		return;
	}
	if (t->nparts == 1) {
		coord_step_one_phase(c, t, decision, 0, reason);
		return;
	}
#ifdef TWOPC_BUG_GLOBAL_BEFORE_DECISION
	/* TEST-ONLY BUG VARIANT (breaks R2): GLOBAL_COMMIT leaves before the
	 * decision is forced. twopc-crashtest must catch it. */
	if (decision == TX_COMMIT)
		coord_bug_early_global(c, t);
#endif
	coord_decide(c, t, decision, reason);
}

/* The decision is recorded (a COMMIT on disk), or RC says it could not
 * be: deliver it. Runs on a step thread or on the thread that ended the
 * decision's sync. */
static void
coord_decided(void *arg, int rc)
{
	coord_txn *t = arg;
	coord *c = t->c;
	tx_state decision = t->state;
	wire_msg reqs[WIRE_MAX_WORK];
	size_t n = 0;

	if (rc != 0) {
		coord_fail(c, "cannot write the decision to the log");
		coord_finish(c, t, TX_ABORT, NULL, 0);
		return;
	}
	/* crash here: COMMIT forced, no GLOBAL sent; recovery resends
	 * GLOBAL_COMMIT until every participant ACKs. */
	if (decision == TX_COMMIT)
		crash_point("coordinator.after_decision_logged");
	tlog_state(t->txid, "WAIT", tx_state_name(decision), t->reason[0] ? t->reason : NULL);
	if (decision == TX_COMMIT && crash_point_armed("coordinator.after_first_global")) {
		/* The exact state of that point needs one participant served
		 * alone: the blocking delivery does it. */
		coord_deliver_commit(c, t);
		coord_finish(c, t, TX_COMMIT, "", 1);
		return;
	}
	for (size_t i = 0; i < t->nparts; i++) {
		int wanted = decision == TX_COMMIT ? !t->voted_readonly[i] : t->voted_commit[i];
		if (!wanted)
			continue;
		if (decision == TX_COMMIT)
			coord_commit_req(c, t, &reqs[n]);
		else
			wire_msg_init(&reqs[n], WIRE_GLOBAL_ABORT, atomic_load(&c->epoch), t->txid,
			    c->cfg->coordinator.name);
		t->who[n++] = i;
	}
	if (n > 0) {
		coord_batch(c, t, decision == TX_COMMIT ? COORD_STAGE_ACKS : COORD_STAGE_ABORTED,
		    reqs, n);
		return;
	}
	if (decision == TX_COMMIT) {
		/* Every participant voted READ-ONLY: END at once. */
		int acked[WIRE_MAX_WORK], was[WIRE_MAX_WORK];
		for (size_t i = 0; i < t->nparts; i++)
			acked[i] = was[i] = t->voted_readonly[i];
		(void)coord_record_acks(c, t, acked, was);
	} else {
		coord_abort_silent(c, t);
	}
	coord_finish(c, t, decision, decision == TX_COMMIT ? "" : t->reason, 1);
}

/* GLOBAL_COMMIT is answered (or timed out): record the ACKs, answer. */
static void
coord_step_acks(coord *c, coord_txn *t)
{
	int acked[WIRE_MAX_WORK] = { 0 }, was[WIRE_MAX_WORK] = { 0 };
	for (size_t i = 0; i < t->nparts; i++)
		acked[i] = was[i] = t->voted_readonly[i];
	for (size_t k = 0; k < t->nwho; k++) {
		wire_msg rep;
		int result = coord_batch_result(t, k, &rep);
		(void)coord_commit_reply(c, t, t->who[k], result, &rep, acked);
	}
	rpc_batch_free(t->batch);
	t->batch = NULL;
	/* crash here: every GLOBAL sent, END not logged; recovery resends
	 * GLOBAL_COMMIT, every participant ACKs again (R4). */
	crash_point("coordinator.after_all_globals");
	/* Every ACK of this round in one lazy write (with END when complete):
	 * a lost ACK costs only one more GLOBAL_COMMIT. */
	(void)coord_record_acks(c, t, acked, was);
	coord_finish(c, t, TX_COMMIT, "", 1);
}

/* GLOBAL_ABORT reached the COMMIT voters (or timed out): answer. Abort
 * answers are not recorded, and GLOBAL_ABORT is never resent. */
static void
coord_step_aborted(coord *c, coord_txn *t)
{
	for (size_t k = 0; k < t->nwho; k++) {
		wire_msg rep;
		if (coord_batch_result(t, k, &rep) == 0)
			wire_msg_free(&rep);
	}
	rpc_batch_free(t->batch);
	t->batch = NULL;
	coord_abort_silent(c, t);
	coord_finish(c, t, TX_ABORT, t->reason, 1);
}

/* The answer to the one-phase question is in. */
static void
coord_step_asked(coord *c, coord_txn *t)
{
	char reason[COORD_REASON];
	wire_msg rep;
	snprintf(reason, sizeof(reason), "%.500s", t->reason); /* why the vote was lost */
	int result = coord_batch_result(t, 0, &rep);
	tx_state decision = coord_one_phase_answer(c, t->txid, t->parts[0], result, &rep);
	rpc_batch_free(t->batch);
	t->batch = NULL;
	coord_step_one_phase(c, t, decision, 1, reason);
}

static void *
coord_stepper_main(void *arg)
{
	coord *c = arg;
	for (;;) {
		pthread_mutex_lock(&c->mtx);
		while (c->steps == NULL && !c->steps_stop)
			pthread_cond_wait(&c->steps_cv, &c->mtx);
		coord_txn *t = c->steps;
		if (t == NULL) {
			pthread_mutex_unlock(&c->mtx);
			return NULL;
		}
		c->steps = t->step_next;
		if (c->steps == NULL)
			c->steps_tail = NULL;
		pthread_mutex_unlock(&c->mtx);
		switch (t->stage) {
		case COORD_STAGE_VOTES:
			coord_step_votes(c, t);
			break;
		case COORD_STAGE_ACKS:
			coord_step_acks(c, t);
			break;
		case COORD_STAGE_ASKED:
			coord_step_asked(c, t);
			break;
		default:
			coord_step_aborted(c, t);
			break;
		}
	}
}

/* DECISION_REQUEST (a READY participant's question). Never ABORT for a
 * transaction that may still commit: WAIT answers UNDECIDED. */
static int
coord_on_decision_request(coord *c, const wire_msg *req, wire_msg *rep)
{
	clog_txn logged;
	tx_state answer;

	db_lock(c->db);
	pthread_mutex_lock(&c->mtx);
	coord_txn *t = coord_find(c, req->txid);
	int running = t != NULL;
	pthread_mutex_unlock(&c->mtx);
	int rv = running ? 0 : clog_get(c->db, req->txid, &logged);
	db_unlock(c->db);
	if (running)
		answer = TX_UNDECIDED;
	else if (rv == TWOPC_ENOENT && req->epoch < c->presume_from)
		answer = TX_READY;           /* from before this log: in doubt here (cepoch.c);
		                              * "no help", as a READY peer: the participants
		                              * settle it among themselves (section 4) */
	else if (rv == TWOPC_ENOENT)
		answer = TX_ABORT;           /* R3: presumed abort */
	else if (rv != 0)
		return 0;                    /* cannot read: say nothing */
	else
		answer = coord_outcome(logged.state);
	rep->type = WIRE_DECISION_REPLY;
	rep->state = (uint8_t)answer;
	tlog_debug("%s: DECISION_REQUEST from %s -> %s", req->txid, req->sender,
	    tx_state_name(answer));
	return 1;
}

typedef struct coord_list {
	coord *c;
	statlist l;
	int64_t now;
} coord_list;

static void
coord_list_add(void *arg, const char *txid, const clog_txn *t)
{
	coord_list *cl = arg;
	char detail[2800], heur[600]; /* statlist cuts it */
	cres_note(cl->c, txid, heur, sizeof(heur));
	snprintf(detail, sizeof(detail), "participants=%s%s%s", t->participants, heur[0] ? "; " : "",
	    heur);
	(void)statlist_add(&cl->l, txid, t->state, atomic_load(&cl->c->epoch),
	    (uint64_t)(cl->now > t->created_at ? cl->now - t->created_at : 0), detail);
}

/* STATUS_REQUEST: one txid, every unfinished transaction (WAIT, or COMMIT
 * not yet ACKed everywhere), or the counters. */
static int
coord_on_status(coord *c, const wire_msg *req, wire_msg *rep)
{
	coord_list cl = { .c = c, .now = db_now_ms() };
	if (statlist_init(&cl.l, req->state == 1 ? 512 : 4) != 0)
		return 0;
	if (req->state == 2) {
		db_lock(c->db);
		uint64_t forced = db_forced(c->db), commits = db_commits(c->db);
		db_unlock(c->db);
		statlist_add(&cl.l, "forced_writes", 0, forced, 0, "");
		statlist_add(&cl.l, "log_commits", 0, commits, 0, "");
		statlist_add(&cl.l, "requests", 0, rpc_server_requests(c->srv), 0, "");
		statlist_add(&cl.l, "resend_cycles", 0, atomic_load(&c->res.resend_cycles), 0, "");
		return statlist_reply(&cl.l, rep);
	}
	db_lock(c->db);
	if (req->state == 1) {
		(void)clog_each(c->db, TX_WAIT, 256, coord_list_add, &cl);
		(void)clog_each(c->db, TX_COMMIT, 256, coord_list_add, &cl);
		cres_status(c, &cl.l, NULL, cl.now);
	} else {
		clog_txn t;
		if (clog_get(c->db, req->txid, &t) == 0)
			coord_list_add(&cl, req->txid, &t);
		else
			cres_status(c, &cl.l, req->txid, cl.now);
	}
	db_unlock(c->db);
	return statlist_reply(&cl.l, rep);
}

static int
coord_dispatch(coord *c, const wire_msg *req, wire_msg *rep)
{
	static _Thread_local char buf[WIRE_TEXT_MAX + 1];

	switch ((wire_type)req->type) {
	case WIRE_SUBMIT:
		return coord_on_submit(c, req, rep, buf, sizeof(buf));
	case WIRE_DECISION_REQUEST:
		return coord_on_decision_request(c, req, rep);
	case WIRE_STATUS_REQUEST:
		return coord_on_status(c, req, rep);
	case WIRE_RESOLVE:
		return coord_on_resolve(c, req, rep, buf, sizeof(buf));
	case WIRE_IAMALIVE:
		rep->type = WIRE_IAMALIVE;
		return 1;
	default:
		break;
	}
	tlog_warn("unexpected %s from %s", wire_type_name(req->type), req->sender);
	char text[96];
	snprintf(text, sizeof(text), "the coordinator does not serve %s", wire_type_name(req->type));
	return coord_error(rep, TWOPC_EPROTO, text, buf, sizeof(buf));
}

/* The rpc_server handler. */
int
coord_handle(void *user, const wire_msg *req, wire_msg *rep)
{
	coord *c = user;

	pthread_mutex_lock(&c->mtx);
	int dead = c->failed || c->stopping;
	pthread_mutex_unlock(&c->mtx);
	if (dead)
		return 0;
	if (!atomic_load(&c->ready)) {
		/* Recovering. A client hears "starting" (nothing ran). A peer's
		 * protocol message (or a liveness probe) hears nothing: its
		 * sender resends, and the answer then comes from the recovered
		 * log; an error now would read as a refusal. */
		static _Thread_local char buf[WIRE_TEXT_MAX + 1];
		if (!wire_from_client(req->type))
			return 0;
		return coord_error(rep, TWOPC_ECLOSED, "the coordinator is starting (recovery is "
		    "not finished); try again", buf, sizeof(buf));
	}
	return coord_dispatch(c, req, rep);
}

/* The gate of every reply: it leaves only once every forced record
 * committed before it is durable (group commit, db.h), so a RESULT or a
 * DECISION_REPLY of COMMIT read from memory or the log never runs ahead of
 * the decision's fsync. */
static void
coord_gate(void *arg, rpc_done_fn done, void *slot)
{
	coord *c = arg;
	db_durable_async(c->db, done, slot);
}

static void
coord_gate_failed(void *user)
{
	coord_fail(user, "cannot force the log");
}

/* ---- lifecycle ---- */

int
coord_start(coord *c, cfg_cluster *cfg, uint64_t min_epoch)
{
	int rv;

	memset(c, 0, sizeof(*c));
	c->cfg = cfg;
	pthread_mutex_init(&c->mtx, NULL);
	pthread_cond_init(&c->cv, NULL);
	mclock_cond_init(&c->jobs_cv); /* timed waits in cphase2.c */
	pthread_cond_init(&c->steps_cv, NULL);
	/* The lock first (db_open takes it before SQLite reads a page), then
	 * the address: a second coordinator on a live log or address stops
	 * here, having read and written nothing. Requests are received from
	 * now on but answered "starting" until recovery is done (coord_handle):
	 * left unread in NNG's queue instead, they can wedge a client's
	 * nng_close (NNG 1.5.2). */
	rv = db_open(cfg->coordinator.log, cfg->durability == CFG_DURABILITY_FULL, clog_schema, &c->db);
	if (rv != 0)
		return rv;
	rpc_server_opts so = {
		.nworkers = COORD_WORKERS, .handler = coord_handle, .user = c,
		.sender = cfg->coordinator.name, .epoch = &c->epoch,
		.gate = coord_gate, .gate_arg = c, .fail = coord_gate_failed,
	};
#ifndef TWOPC_BUG_NO_LOG_LOCK
	if ((rv = rpc_server_start(cfg->coordinator.listen, &so, &c->srv)) != 0)
		return rv;
#endif
	c->nsocks = cfg->nparticipants;
	c->socks = calloc(c->nsocks, sizeof(*c->socks));
	c->forget = calloc(c->nsocks, sizeof(*c->forget));
	if (c->socks == NULL || c->forget == NULL)
		return TWOPC_ENOMEM;
	for (size_t i = 0; i < c->nsocks; i++)
		if ((rv = rpc_dial(cfg->participants[i].listen, 1, &c->socks[i])) != 0)
			return rv;
	if ((rv = coord_epoch_start(c, min_epoch)) != 0)
		return rv;
	/* crash here: the new epoch is forced, nothing else happened. */
	crash_point("coordinator.after_epoch_logged");
	for (int i = 0; i < COORD_PHASE2; i++) {
		if (pthread_create(&c->phase2[i], NULL, coord_phase2_main, c) != 0)
			return TWOPC_ENOMEM;
		c->nphase2++;
	}
	if ((rv = coord_recover(c)) != 0)
		return rv;
#ifdef TWOPC_BUG_NO_LOG_LOCK
	/* TEST-ONLY BUG VARIANT: the address is bound after recovery ran. */
	if ((rv = rpc_server_start(cfg->coordinator.listen, &so, &c->srv)) != 0)
		return rv;
#endif
	if (pthread_create(&c->resender, NULL, coord_resender_main, c) != 0)
		return TWOPC_ENOMEM;
	c->resender_running = 1;
	for (int i = 0; i < COORD_STEPPERS; i++) {
		if (pthread_create(&c->stepper[i], NULL, coord_stepper_main, c) != 0)
			return TWOPC_ENOMEM;
		c->nsteppers++;
	}
	atomic_store(&c->ready, 1);
	tlog_info("coordinator %s serving on %s (log %s, epoch %llu, %zu participants)",
	    cfg->coordinator.name, cfg->coordinator.listen, cfg->coordinator.log,
	    (unsigned long long)atomic_load(&c->epoch), cfg->nparticipants);
	return 0;
}

void
coord_request_stop(coord *c)
{
	pthread_mutex_lock(&c->mtx);
	c->stopping = 1;
	pthread_cond_broadcast(&c->cv);
	pthread_cond_broadcast(&c->jobs_cv);
	pthread_mutex_unlock(&c->mtx);
}

int
coord_wait(coord *c)
{
	pthread_mutex_lock(&c->mtx);
	while (!c->stopping && !c->failed)
		pthread_cond_wait(&c->cv, &c->mtx);
	int rv = c->failed ? TWOPC_EIO : 0;
	pthread_mutex_unlock(&c->mtx);
	return rv;
}

void
coord_stop(coord *c)
{
	coord_request_stop(c);
	/*
	 * No new SUBMIT is taken; the running ones finish (their batches end
	 * by their deadlines) and are answered, which the server waits for.
	 * Only then are the participant sockets closed: a batch's callbacks
	 * post receives on them without rpc_close_lk (rpc.h). Closing them
	 * wakes the phase-two threads and the resender in their calls.
	 */
	rpc_server_stop(c->srv);
	pthread_mutex_lock(&c->mtx);
	c->steps_stop = 1;
	pthread_cond_broadcast(&c->steps_cv);
	pthread_mutex_unlock(&c->mtx);
	for (int i = 0; i < c->nsteppers; i++)
		pthread_join(c->stepper[i], NULL);
	for (size_t i = 0; c->socks != NULL && i < c->nsocks; i++)
		rpc_close(c->socks[i]);
	for (int i = 0; i < c->nphase2; i++)
		pthread_join(c->phase2[i], NULL);
	if (c->resender_running)
		pthread_join(c->resender, NULL);
	while (c->jobs != NULL) {
		coord_job *j = c->jobs;
		c->jobs = j->next;
		coord_txn_unref(c, j->t);
		free(j);
	}
	for (size_t i = 0; c->forget != NULL && i < c->nsocks; i++)
		free(c->forget[i].ids);
	free(c->forget);
	free(c->socks);
	db_close(c->db);
	pthread_cond_destroy(&c->steps_cv);
	pthread_cond_destroy(&c->jobs_cv);
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mtx);
}
