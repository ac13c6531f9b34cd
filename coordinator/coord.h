/*
 * coord.h - the coordinator process: its shared state, its lifecycle
 * (coord.c) and the few helpers every part of it uses (crun.c).
 *
 * Where each part of DESIGN lives:
 *   ctxn.c      the transaction and its state machine (section 3)
 *   cflow.c     the step threads and batches every protocol step runs on
 *   csubmit.c   SUBMIT and repeated SUBMITs (R7)
 *   cvote.c     the vote round and its tally (phase one)
 *   cdecide.c   the decision and its forcing (R2)
 *   cdeliver.c  phase two: GLOBAL_COMMIT / GLOBAL_ABORT, ACKs, END (R3)
 *   conephase.c one-phase commit
 *   crecover.c  restart recovery (section 3, "On restart")
 *   cresend.c   the resender: GLOBAL_COMMIT until every ACK, retention (R7)
 *   cforget.c   the FORGET queue (R9)
 *   cepoch.c    epochs and fencing (R6)
 *   cviol.c     violations that cannot heal; cresolve.c twopc resolve
 *   cserve.c    the answers: DECISION_REQUEST, STATUS_REQUEST, dispatch
 *   creload.c   SIGHUP: the cluster file read again (new participants,
 *               timeouts)
 *
 * Locking order: db_lock before c->mtx. c->mtx guards the running table,
 * the FORGET queues, the flow counters and the run state.
 */
#ifndef TWOPC_COORD_H
#define TWOPC_COORD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <nng/nng.h>

#include "config.h"
#include "ctxn.h"
#include "cviol.h"
#include "db.h"
#include "histo.h"
#include "rpc.h"
#include "runstate.h"
#include "wire.h"

#define COORD_WORKERS 16   /* request handlers (a SUBMIT is handed on to the steps; a
                              * repeated SUBMIT of a running txid waits in one) */
/* Step threads (cflow.c). One: every step queued meanwhile runs in its
 * group transaction, and no two groups contend for the log. Measured at
 * 3 participants against 4: the same at concurrency 1, +12 to +22 %
 * committed/s at 16, 64 and 256, a quarter less coordinator CPU per
 * transaction. Only recovery's forced ABORTs wait for a sync on it. */
#define COORD_STEPPERS 1
#define COORD_REASON 512   /* the reason buffers of the steps */

/* The runs ended since start, by what each answered (coord_running_done):
 * /metrics' twopc_coordinator_transactions_total{outcome=...}. */
enum { COORD_OUT_COMMITTED, COORD_OUT_ABORTED, COORD_OUT_UNKNOWN, COORD_OUT_N };

struct httpd;

/* txids whose COMMIT records a participant may drop (R9), sent batched. */
typedef struct coord_fq {
	char (*ids)[WIRE_TXID_MAX + 1];
	size_t n, cap;
} coord_fq;

typedef struct coord {
	cfg_cluster *cfg;
	db *db;
	rpc_server *srv;
	nng_socket *socks;           /* one REQ socket per participant; room for
	                              * CFG_MAX_PARTICIPANTS (a reload appends) */
	_Atomic size_t nsocks;       /* grows under c->mtx (creload.c) */
	_Atomic uint64_t epoch;
	atomic_uint_fast64_t seq;

	/* c->mtx, c->cv (a transaction was decided, or stopping or failed),
	 * c->stopping and c->failed: the run state (runstate.h). */
	RUNSTATE_EMBED(run);
	pthread_cond_t wake_cv;      /* the resender: stopping or failed (c->wake) */
	coord_txn *running;          /* SUBMITs not yet decided */
	coord_fq *forget;            /* per participant (cforget.c), room as socks */
	_Atomic int fenced;          /* a newer epoch was seen: decide nothing (cepoch.c) */
	_Atomic int ready;           /* recovery done: requests are served */
	uint64_t presume_from;       /* no record of an older epoch's txid: in doubt */
	pthread_t resender;
	int resender_running;

	/* Flows (cflow.c): steps queued for the step threads, and how many
	 * transactions have a batch in flight or a step queued or running. */
	coord_txn *steps, *steps_tail;
	int steps_inline;          /* steps running on their caller's thread (cflow_step) */
	pthread_cond_t steps_cv;
	pthread_cond_t group_cv;     /* a group's last flow ended (cflow_wait) */
	/* A run left the running table, or the coordinator failed: for a
	 * repeated SUBMIT waiting on its first run (csubmit.c), broadcast
	 * only while one waits, so that a run's end wakes nobody else (the
	 * run state's cv is the main thread's: runstate.h). */
	pthread_cond_t done_cv;
	int done_waiters;
	size_t nflows;
	int steps_stop;
	pthread_t stepper[COORD_STEPPERS];
	int nsteppers;

	cviol_state viol;            /* violations (cviol.c) */
	_Atomic uint64_t outcomes[COORD_OUT_N]; /* runs ended, by outcome (crun.c) */
	histo result_time[COORD_OUT_N]; /* SUBMIT taken to RESULT sent, by outcome (cflow.c) */
	struct httpd *http;          /* the 'http:' server, or NULL (chttp.c) */
} coord;

/* Open (and lock) the log, bind the listen address, ask the participants
 * for their epochs, force the next epoch (at least MIN_EPOCH), recover,
 * serve. 0 or a twopc_err: TWOPC_ELOCKED (another process holds the log),
 * TWOPC_ECORRUPT, TWOPC_ENET (cannot listen), TWOPC_ESTALE (participants
 * have seen a higher epoch than the log: see cepoch.c), TWOPC_EIO. */
int coord_start(coord *c, cfg_cluster *cfg, uint64_t min_epoch);
/* Stop serving; wait for every flow (their batches end by their
 * deadlines, and their steps run); join threads, close. */
void coord_stop(coord *c);
/* Block until stopping (0) or failed (TWOPC_EIO). */
int coord_wait(coord *c);
void coord_request_stop(coord *c);

/* ---- creload.c ---- */

/* Read the cluster file again and apply what may change while serving
 * (cfg_reload_diff): the timeouts and log_level into c->cfg, new
 * participants dialed and appended. Everything refused or wrong is
 * logged (a file that does not load: its FILE:LINE:COLUMN lines, and
 * nothing changes). Returns 0 when all that differed was applied, -1
 * otherwise. Never stops the coordinator. One call at a time (the signal
 * thread); any time after coord_start returned 0. */
int coord_reload(coord *c);

/* ---- chttp.c ---- */

/* Serve /metrics, /healthz and the status page on the coordinator's
 * 'http:' address, if it has one (after recovery). 0 or TWOPC_ENET /
 * TWOPC_ENOMEM (logged). */
int chttp_start(coord *c);
/* Stop it (before anything it reads is freed); no-op without one. */
void chttp_stop(coord *c);

/* ---- crun.c ---- */

/* Stop promising anything: a forced write failed. Any thread
 * (runstate_fail). */
void coord_fail(coord *c, const char *why);
/* 1 once stopping or failed. Lock-free. */
static inline int
coord_stopping(coord *c)
{
	return runstate_stopping(&c->run);
}
/* The running table (c->mtx held): T by TXID, or NULL; add T (its
 * since_ms set now). */
coord_txn *coord_running_find(coord *c, const char *txid);
void coord_running_add(coord *c, coord_txn *t);
/* T's run is over with OUTCOME (NONE: no answer, e.g. fenced) and REASON
 * (NULL keeps t->reason): T leaves the table and repeated SUBMITs waiting
 * for it wake. Takes c->mtx. */
void coord_running_done(coord *c, coord_txn *t, tx_state outcome, const char *reason);
/* Fill REP as a RESULT (OUTCOME, REASON; an ERROR is wire_reply_error);
 * the text is copied to BUF. Return 1 (send it). */
int coord_reply_result(wire_msg *rep, tx_state outcome, const char *reason, char *buf, size_t len);
/* The outcome of a txid the log knows, for a repeated SUBMIT (R7) or a
 * DECISION_REQUEST. */
tx_state coord_outcome(tx_state logged);

#endif
