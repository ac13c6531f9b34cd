/*
 * cflow.h - how every protocol step of the coordinator runs: as a flow of
 * steps over batches of calls (rpc_batch_start), never on a thread that
 * waits for the network.
 *
 * A flow holds one transaction from cflow_hold() to cflow_release(). In
 * between, each cflow_batch() sends a set of requests and, once every
 * call is answered or timed out, queues the transaction for a step
 * thread, which runs the stage's step (the switch in coord.c). A step
 * reads the replies (cflow_result), frees the batch, and either starts
 * the next batch or ends the flow. The same flow carries a SUBMIT (its
 * client answered with cflow_answer), restart recovery, the resender and
 * the operator's resolution: there is one way to send a phase-two
 * message.
 *
 * Stopping: cflow_stop() returns only once every flow has ended, so no
 * batch, aio or message outlives the coordinator. Batches end by their
 * deadline; flows started while stopping should do no optional work.
 */
#ifndef TWOPC_CFLOW_H
#define TWOPC_CFLOW_H

#include "ctxn.h"
#include "rpc.h"
#include "wire.h"

struct coord;

/* The stages: what the finished batch of a step was. */
enum {
	CSTAGE_VOTES = 1,  /* VOTE_REQUEST to every participant (cvote.c) */
	CSTAGE_ASKED,      /* the one-phase DECISION_REQUEST (conephase.c) */
	CSTAGE_EARLY,      /* test-only bug variant: GLOBAL_COMMIT before the decision */
	CSTAGE_FIRST,      /* GLOBAL_COMMIT to the first participant alone (cdeliver.c) */
	CSTAGE_ACKS,       /* GLOBAL_COMMIT to the rest (cdeliver.c) */
	CSTAGE_ABORTED,    /* GLOBAL_ABORT (cdeliver.c) */
	CSTAGE_SUBMIT,     /* a new transaction: WAIT, then the votes (csubmit.c) */
	CSTAGE_RETRY,      /* a wait is over: VOTE_REQUEST again to the busy (cvote.c) */
	CSTAGE_INQUIRY,    /* a WAIT found at restart: DECISION_REQUEST to every
	                    * participant (cinquire.c) */
};
const char *cflow_stage_name(int stage);

/* Flows someone waits for together (the resender's pass, an operator's
 * resolution): LEFT counts those not ended, under c->mtx. */
typedef struct cflow_group {
	size_t left;
} cflow_group;

/* The step for T's finished batch, by t->stage. */
typedef void (*cflow_step_fn)(struct coord *c, coord_txn *t);

/* Start the step threads, which run STEP. VOTES_IN (may be NULL) runs
 * first, on the thread that ends a CSTAGE_VOTES batch (an NNG thread, or
 * the one that ends WAIT's fsync): it must not block. 0 or
 * TWOPC_ENOMEM. */
int cflow_start(struct coord *c, cflow_step_fn step, cflow_step_fn votes_in);
/* Wait until every flow has ended, then stop the step threads. */
void cflow_stop(struct coord *c);

/* A flow takes T (one reference of the caller's becomes the flow's):
 * CLIENT (or NULL) is the request to answer; the flow counts in GROUP (or
 * NULL) until it ends. */
void cflow_hold(struct coord *c, coord_txn *t, rpc_deferred *client, cflow_group *group);
/* Block until every flow of GROUP has ended (each ends by its batches'
 * deadlines). Not on a step thread. */
void cflow_wait(struct coord *c, cflow_group *group);
/* Send REQS[i] to participant t->parts[t->who[i]] (N of them, N may be 0)
 * and run STAGE's step when they are all answered or timed out (and
 * t->pending, raised by one for the batch, is back at zero). */
void cflow_batch(struct coord *c, coord_txn *t, int stage, const wire_msg *reqs, size_t n);
/* The same with a deadline of MS milliseconds (not vote_timeout_ms). */
void cflow_batch_ms(struct coord *c, coord_txn *t, int stage, const wire_msg *reqs, size_t n,
    int ms);
/* One of the things T's next step waits for is done (t->pending: the
 * batch in flight, and whatever the caller added before cflow_batch, such
 * as WAIT's fsync); the last one queues the step. Any thread; must not
 * block. */
void cflow_join(coord_txn *t);
/* A question about each of V's N transactions read from the log (one
 * reference each, taken over), as a resend flow of GROUP started by
 * START, unless a SUBMIT runs it now (its flow already asks). */
void cflow_start_idle(struct coord *c, coord_txn **v, size_t n, cflow_group *group,
    cflow_step_fn start);
/* Run STAGE's step for T without a batch: here and now when no step is
 * queued or running on another caller's thread (no hand-off under light
 * load), else on a step thread, where its records join the group
 * transaction of the steps queued with it. */
void cflow_step(struct coord *c, coord_txn *t, int stage);
/* Call K of T's finished batch: as rpc_batch_result (REP valid where 0),
 * TWOPC_ENOMEM if the batch never started; a reply with a newer epoch
 * fences the coordinator (cepoch.h). */
int cflow_result(struct coord *c, coord_txn *t, size_t k, wire_msg *rep);
/* Free T's finished batch (the replies not read are dropped). */
void cflow_batch_free(coord_txn *t);
/* Answer T's client once: OUTCOME COMMIT or ABORT as a RESULT (REASON),
 * UNDECIDED as "outcome unknown". A fenced coordinator promises nothing.
 * No client: nothing. */
void cflow_answer(struct coord *c, coord_txn *t, tx_state outcome, const char *reason);
/* cflow_answer past the reply gate, for an answer whose every record is
 * known durable (a COMMIT at its commit point: WAIT durable, every vote
 * yes). Does not block. */
void cflow_answer_durable(struct coord *c, coord_txn *t, tx_state outcome, const char *reason);
/* The same for CLIENT (a request taken from its flow) about TXID. */
void cflow_answer_to(struct coord *c, rpc_deferred *client, const char *txid, tx_state outcome,
    const char *reason);
/* The flow ends: a client not answered gets no reply; its group is told;
 * the flow's reference is dropped. */
void cflow_release(struct coord *c, coord_txn *t);

#endif
