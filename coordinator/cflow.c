/*
 * cflow.c - flows of steps over batches of calls (see cflow.h).
 *
 * Threads: the NNG thread that ends a batch only queues the step
 * (rpc_batch_start's callback must not block); COORD_STEPPERS step threads
 * run the steps, which wait for the log at most, never for the network.
 * Memory per flow: its coord_txn (about 3.5 KB), its batch (about 250
 * bytes per participant plus NNG's context and aio) and its messages.
 */
#include "cflow.h"

#include <stdio.h>
#include <stdlib.h>

#include "cepoch.h"
#include "coord.h"
#include "tlog.h"
#include "twopc/error.h"

const char *
cflow_stage_name(int stage)
{
	switch (stage) {
	case CSTAGE_VOTES: return "VOTES";
	case CSTAGE_ASKED: return "ASKED";
	case CSTAGE_EARLY: return "EARLY";
	case CSTAGE_FIRST: return "FIRST";
	case CSTAGE_ACKS: return "ACKS";
	case CSTAGE_ABORTED: return "ABORTED";
	case CSTAGE_SUBMIT: return "SUBMIT";
	case CSTAGE_INQUIRY: return "INQUIRY";
	case CSTAGE_RETRY: return "RETRY";
	}
	return "?";
}

static cflow_step_fn cflow_step_fn_run;
static cflow_step_fn cflow_votes_in_fn;

static void
cflow_queue(coord *c, coord_txn *t)
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

void
cflow_join(coord_txn *t)
{
	if (atomic_fetch_sub(&t->pending, 1) != 1)
		return;
	/* The vote round is over: its first part runs here, on the thread
	 * that ended it (it must not block), so that a COMMIT's RESULT does
	 * not wait for a step thread. */
	if (t->stage == CSTAGE_VOTES && cflow_votes_in_fn != NULL)
		cflow_votes_in_fn(t->c, t);
	cflow_queue(t->c, t);
}

/* A batch is done (on an NNG thread): once nothing else is pending, the
 * step goes to a step thread. */
static void
cflow_batch_done(rpc_batch *b, void *arg)
{
	coord_txn *t = arg;
	t->batch = b;
	cflow_join(t);
}

/*
 * A step thread takes every queued step (at most CFLOW_GROUP) and runs
 * them in one group transaction of the log (db.h): their records cost one
 * COMMIT, and what waits for a record (a COMMIT's sync, a reply) waits for
 * the group. A step never waits for another step, so a group cannot
 * deadlock; other threads that need the log wait for the group to end.
 */
#define CFLOW_GROUP 64

static void *
cflow_main(void *arg)
{
	coord *c = arg;
	for (;;) {
		pthread_mutex_lock(&c->mtx);
		while (c->steps == NULL && !(c->steps_stop && c->nflows == 0))
			pthread_cond_wait(&c->steps_cv, &c->mtx);
		coord_txn *t = c->steps, *last = t;
		if (t == NULL) {
			pthread_mutex_unlock(&c->mtx);
			return NULL;
		}
		for (int n = 1; n < CFLOW_GROUP && last->step_next != NULL; n++)
			last = last->step_next;
		c->steps = last->step_next;
		last->step_next = NULL;
		if (c->steps == NULL)
			c->steps_tail = NULL;
		pthread_mutex_unlock(&c->mtx);
		int grouped = t->step_next != NULL && db_group_begin(c->db) == 0;
		while (t != NULL) {
			coord_txn *next = t->step_next;
			cflow_step_fn_run(c, t);
			t = next;
		}
		if (grouped && db_group_end(c->db) != 0)
			coord_fail(c, "cannot write the log");
	}
}

int
cflow_start(coord *c, cflow_step_fn step, cflow_step_fn votes_in)
{
	cflow_step_fn_run = step;
	cflow_votes_in_fn = votes_in;
	for (int i = 0; i < COORD_STEPPERS; i++) {
		if (pthread_create(&c->stepper[i], NULL, cflow_main, c) != 0)
			return TWOPC_ENOMEM;
		c->nsteppers++;
	}
	return 0;
}

void
cflow_stop(coord *c)
{
	pthread_mutex_lock(&c->mtx);
	c->steps_stop = 1;
	pthread_cond_broadcast(&c->steps_cv);
	pthread_mutex_unlock(&c->mtx);
	for (int i = 0; i < c->nsteppers; i++)
		pthread_join(c->stepper[i], NULL);
	c->nsteppers = 0;
}

void
cflow_hold(coord *c, coord_txn *t, rpc_deferred *client, cflow_group *group)
{
	t->c = c;
	t->client = client;
	t->group = group;
	pthread_mutex_lock(&c->mtx);
	c->nflows++;
	if (group != NULL)
		group->left++;
	pthread_mutex_unlock(&c->mtx);
}

void
cflow_wait(coord *c, cflow_group *group)
{
	pthread_mutex_lock(&c->mtx);
	while (group->left > 0)
		pthread_cond_wait(&c->group_cv, &c->mtx);
	pthread_mutex_unlock(&c->mtx);
}

void
cflow_batch(coord *c, coord_txn *t, int stage, const wire_msg *reqs, size_t n)
{
	cflow_batch_ms(c, t, stage, reqs, n, (int)c->cfg->vote_timeout_ms);
}

void
cflow_batch_ms(coord *c, coord_txn *t, int stage, const wire_msg *reqs, size_t n, int ms)
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
	atomic_fetch_add(&t->pending, 1);
	if (n == 0 || rpc_batch_start(n, socks, preqs, ms > 0 ? ms : 1, cflow_batch_done, t) != 0)
		cflow_join(t); /* nothing to send, or no batch: every call failed */
}

void
cflow_start_idle(coord *c, coord_txn **v, size_t n, cflow_group *group, cflow_step_fn start)
{
	for (size_t i = 0; i < n; i++) {
		coord_txn *t = v[i];
		pthread_mutex_lock(&c->mtx);
		int running = coord_running_find(c, t->txid) != NULL;
		pthread_mutex_unlock(&c->mtx);
		if (running) {
			ctxn_unref(t);
			continue;
		}
		t->flags = CTXN_RESEND;
		cflow_hold(c, t, NULL, group);
		start(c, t);
	}
}

void
cflow_step(coord *c, coord_txn *t, int stage)
{
	t->stage = stage;
	t->nwho = 0;
	t->batch = NULL;
	/* Alone, the step runs here: no hand-off when the load is light.
	 * While another runs on its caller's thread, it is queued instead,
	 * so that the step threads write the records of every step that
	 * comes meanwhile in one group transaction: under load, concurrent
	 * SUBMITs each writing WAIT in a transaction of its own would queue
	 * one by one for the log's lock (measured at 64 clients: a fifth
	 * more transactions per second queued than run in place). The
	 * SUBMITs of one BATCH are queued too: run here one after the other,
	 * each would write WAIT in a transaction of its own, and lead a
	 * sync of its own on this thread. */
	int batching = rpc_batching();
	pthread_mutex_lock(&c->mtx);
	int idle = !batching && c->steps == NULL && c->steps_inline == 0;
	c->steps_inline += idle;
	pthread_mutex_unlock(&c->mtx);
	if (idle) {
		cflow_step_fn_run(c, t);
		pthread_mutex_lock(&c->mtx);
		c->steps_inline--;
		pthread_mutex_unlock(&c->mtx);
	} else {
		cflow_queue(c, t);
	}
}

int
cflow_result(coord *c, coord_txn *t, size_t k, wire_msg *rep)
{
	int rv = t->batch != NULL ? rpc_batch_result(t->batch, k, rep) : TWOPC_ENOMEM;
	(void)coord_fence_check(c, t->parts[t->who[k]], rv, rep);
	return rv;
}

void
cflow_batch_free(coord_txn *t)
{
	rpc_batch_free(t->batch);
	t->batch = NULL;
}

static void
cflow_answer_send(coord *c, rpc_deferred *client, const char *txid, tx_state outcome,
    const char *reason, int durable)
{
	static _Thread_local char buf[WIRE_TEXT_MAX + 1];
	wire_msg rep;
	if (client == NULL)
		return;
	wire_msg_init(&rep, 0, 0, txid, c->cfg->coordinator.name);
	if (coord_is_fenced(c)) {
		/* A newer coordinator owns the outcome now: whatever this one
		 * decided may be overruled, so it promises nothing. */
		outcome = TX_UNDECIDED;
		reason = "outcome unknown: this coordinator was fenced by a newer epoch; "
		    "ask the cluster with twopc status";
	}
	if (outcome == TX_UNDECIDED)
		(void)wire_reply_error(&rep, TWOPC_ETIMEDOUT, reason, buf, sizeof(buf));
	else
		(void)coord_reply_result(&rep, outcome, reason, buf, sizeof(buf));
	rpc_time_deferred(client, &c->result_time[outcome == TX_COMMIT ? COORD_OUT_COMMITTED :
	    outcome == TX_ABORT ? COORD_OUT_ABORTED : COORD_OUT_UNKNOWN]);
	if (durable)
		rpc_reply_durable(client, &rep);
	else
		rpc_reply_deferred(client, &rep);
}

void
cflow_answer_to(coord *c, rpc_deferred *client, const char *txid, tx_state outcome,
    const char *reason)
{
	cflow_answer_send(c, client, txid, outcome, reason, 0);
}

/* T's client, taken (once), answered; DURABLE: past the gate. */
static void
cflow_answer_take(coord *c, coord_txn *t, tx_state outcome, const char *reason, int durable)
{
	rpc_deferred *client = t->client;
	t->client = NULL;
	cflow_answer_send(c, client, t->txid, outcome, reason, durable);
}

void
cflow_answer_durable(coord *c, coord_txn *t, tx_state outcome, const char *reason)
{
	cflow_answer_take(c, t, outcome, reason, 1);
}

void
cflow_answer(coord *c, coord_txn *t, tx_state outcome, const char *reason)
{
	cflow_answer_take(c, t, outcome, reason, 0);
}

void
cflow_release(coord *c, coord_txn *t)
{
	if (t->batch != NULL) {
		tlog_error("%s: the flow ends with a batch of stage %s unread", t->txid,
		    cflow_stage_name(t->stage));
		cflow_batch_free(t);
	}
	if (t->client != NULL)
		rpc_reply_deferred(t->client, NULL);
	t->client = NULL;
	cflow_group *group = t->group;
	ctxn_unref(t);
	pthread_mutex_lock(&c->mtx);
	if (group != NULL && --group->left == 0)
		pthread_cond_broadcast(&c->group_cv);
	if (--c->nflows == 0 && c->steps_stop)
		pthread_cond_broadcast(&c->steps_cv);
	pthread_mutex_unlock(&c->mtx);
}
