/*
 * coord.h - the coordinator's internals, shared by coord.c (SUBMIT, the
 * vote round and the decision), cphase2.c (GLOBAL delivery, ACKs, END,
 * FORGET, recovery, retention) and cmain.c.
 *
 * Locking order: db_lock before c->mtx. c->mtx guards the table of running
 * transactions, the phase-two queue, the FORGET queues and the run state.
 */
#ifndef TWOPC_COORD_H
#define TWOPC_COORD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <nng/nng.h>

#include "clog.h"
#include "config.h"
#include "cresolve.h"
#include "db.h"
#include "rpc.h"
#include "wire.h"

#define COORD_WORKERS 16   /* request handlers (a SUBMIT is handed on to the steps; a
                              * repeated SUBMIT of a running txid waits in one) */
#define COORD_STEPPERS 4   /* step threads of submitted transactions */
#define COORD_PHASE2 4     /* background phase-two threads (recovery, silent voters) */

/*
 * A transaction the coordinator is running (from SUBMIT to its decision),
 * or whose phase two is queued. Decided transactions leave the table once
 * the decision is in the log; repeated SUBMITs then read the log (R7).
 */
typedef struct coord_txn {
	char txid[WIRE_TXID_MAX + 1];
	tx_state state;              /* WAIT, then COMMIT or ABORT */
	size_t nparts;
	int parts[WIRE_MAX_WORK];    /* indexes into cfg->participants */
	int voted_commit[WIRE_MAX_WORK];
	int voted_abort[WIRE_MAX_WORK]; /* already aborted: no GLOBAL_ABORT needed */
	int voted_readonly[WIRE_MAX_WORK]; /* yes, and left: no phase two for it */
	char reason[WIRE_MAX_WORK * (WIRE_NAME_MAX + 1) + 64]; /* also the participant list in recovery */
	int refs;
	struct coord_txn *next;

	/* A submitted transaction runs as steps (coord.c), not on a thread:
	 * a batch of calls is in flight, or the step is queued. */
	struct coord *c;
	rpc_deferred *client;        /* the SUBMIT to answer */
	rpc_batch *batch;            /* the finished batch of the step */
	int stage;                   /* COORD_STAGE_* */
	size_t who[WIRE_MAX_WORK];   /* the batch's call i went to t->parts[who[i]] */
	size_t nwho;
	struct coord_txn *step_next; /* the step queue */
} coord_txn;

enum {
	COORD_STAGE_VOTES = 1,  /* the vote batch is done */
	COORD_STAGE_ACKS,       /* the GLOBAL_COMMIT batch is done */
	COORD_STAGE_ABORTED,    /* the GLOBAL_ABORT batch is done */
	COORD_STAGE_ASKED,      /* the one-phase DECISION_REQUEST is done */
};

/* A phase-two job: deliver the decision of T. */
typedef struct coord_job {
	coord_txn *t;
	struct coord_job *next;
} coord_job;

/* txids whose COMMIT records a participant may drop (R9), sent batched. */
typedef struct coord_fq {
	char (*ids)[WIRE_TXID_MAX + 1];
	size_t n, cap;
} coord_fq;

typedef struct coord {
	cfg_cluster *cfg;
	db *db;
	rpc_server *srv;
	nng_socket *socks;           /* one REQ socket per participant */
	size_t nsocks;
	_Atomic uint64_t epoch;
	atomic_uint_fast64_t seq;

	pthread_mutex_t mtx;
	pthread_cond_t cv;           /* a transaction was decided */
	pthread_cond_t jobs_cv;      /* a job was queued, or stopping */
	coord_txn *running;
	coord_job *jobs, *jobs_tail;
	coord_fq *forget;            /* per participant */
	int stopping, failed;
	int fenced;                  /* a newer epoch was seen: decide nothing (cepoch.c) */
	_Atomic int ready;           /* recovery done: requests are served */
	uint64_t presume_from;       /* no record of an older epoch's txid: in doubt */
	pthread_t phase2[COORD_PHASE2];
	int nphase2;
	pthread_t resender;
	int resender_running;

	/* Step threads: run the steps of submitted transactions; they never
	 * wait for the network (batches do), only for the log. */
	coord_txn *steps, *steps_tail;
	pthread_cond_t steps_cv;
	int steps_stop;
	pthread_t stepper[COORD_STEPPERS];
	int nsteppers;

	cres_state res;              /* violations and resolution (cresolve.c) */
} coord;

/* Open (and lock) the log, bind the listen address, ask the participants
 * for their epochs, force the next epoch (at least MIN_EPOCH), recover,
 * serve. 0 or a twopc_err: TWOPC_ELOCKED (another process holds the log),
 * TWOPC_ECORRUPT, TWOPC_ENET (cannot listen), TWOPC_ESTALE (participants
 * have seen a higher epoch than the log: see cepoch.c), TWOPC_EIO. */
int coord_start(coord *c, cfg_cluster *cfg, uint64_t min_epoch);
/* Stop serving, join threads, close. */
void coord_stop(coord *c);
/* Block until stopping (0) or failed (TWOPC_EIO). */
int coord_wait(coord *c);
void coord_request_stop(coord *c);

/* Stop promising anything: a forced write failed. */
void coord_fail(coord *c, const char *why);

/* The rpc handler (coord.c). */
int coord_handle(void *user, const wire_msg *req, wire_msg *rep);

/* Phase two (cphase2.c). */
void coord_queue_job(coord *c, coord_txn *t);
/* Deliver T's decision now (blocks up to vote_timeout_ms per round). An
 * abort goes to every participant that has not voted ABORT, or with
 * VOTERS_ONLY to those that voted COMMIT (the silent ones may be down). */
void coord_deliver_commit(coord *c, coord_txn *t);
#ifdef TWOPC_BUG_GLOBAL_BEFORE_DECISION
void coord_bug_early_global(coord *c, coord_txn *t);
#endif
void coord_deliver_abort(coord *c, coord_txn *t, int voters_only);
/* GLOBAL_COMMIT for T (to participant t->parts[i]), and what participant
 * I's answer (RESULT from the call, REP valid where 0; freed here) means:
 * sets acked[i] and returns 1 on an ACK of COMMIT. */
void coord_commit_req(coord *c, coord_txn *t, wire_msg *req);
int coord_commit_reply(coord *c, coord_txn *t, size_t i, int result, wire_msg *rep, int *acked);
/* Record ACKs (and END when every participant has) lazily; 1 if END. */
int coord_record_acks(coord *c, coord_txn *t, const int *acked, const int *was);
void *coord_phase2_main(void *arg);
void *coord_resender_main(void *arg);
int coord_recover(coord *c);
void coord_txn_unref(coord *c, coord_txn *t);

/* Queue TXID for a FORGET to participant PART (c->mtx held). */
void coord_forget_queue(coord *c, int part, const char *txid);

/* One-phase commit (conephase.c). With T's single participant's vote
 * (DECISION: what its vote means), or, ASKED, its answer to a
 * DECISION_REQUEST after the vote was lost (UNDECIDED if none), record the
 * outcome lazily and return COMMIT, ABORT, or UNDECIDED (the participant
 * cannot be reached: WAIT stays in the log for coord_one_phase_resolve).
 * REASON is updated. */
tx_state coord_one_phase_end(coord *c, coord_txn *t, tx_state decision, int asked,
    char *reason, size_t rlen);
/* The one-phase DECISION_REQUEST, and what an answer to it (RESULT of the
 * call; REP valid where 0, freed here) says: COMMIT, ABORT or UNDECIDED. */
void coord_one_phase_ask_req(coord *c, const char *txid, wire_msg *req);
tx_state coord_one_phase_answer(coord *c, const char *txid, int part, int result, wire_msg *rep);
/* Ask the participant of every one-phase WAIT older than AGE_MS that no
 * thread is running, and record what it says. */
void coord_one_phase_resolve(coord *c, int64_t age_ms);

/* Epochs (cepoch.c). coord_epoch_start: the probe, the refusal or the
 * next epoch, forced; before recovery and before any txid. */
int coord_epoch_start(coord *c, uint64_t min_epoch);
/* Participant PART's reply (RESULT 0: REP decoded) carries a higher epoch
 * than ours: fence this coordinator (logged once; coord_fail). 1 if
 * fenced. Any thread. */
int coord_fence_check(coord *c, int part, int result, const wire_msg *rep);
int coord_is_fenced(coord *c);

/* "a,b,c" of T's participants, and back. */
void coord_join_parts(const coord *c, const coord_txn *t, char *buf, size_t len);
int coord_parse_parts(const coord *c, const char *csv, coord_txn *t);

#endif
