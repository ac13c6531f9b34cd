/*
 * ctxn.h - the coordinator's transaction and the one owner of its state
 * (DESIGN section 3). The bottom of the coordinator: it knows the log's
 * SQL (clog.h) and the cluster file, nothing of the coordinator above.
 *
 *          SUBMIT (forced)     WAIT durable, every vote yes     every ACK (lazy)
 *   NONE ------------> WAIT ---------------------------> COMMIT -----------> END
 *     |                  |  \     (the commit point, R2; written lazily)    ^
 *     |                  |   +-- a NO vote, a timeout (forced) --> ABORT    |
 *     |                  |   +-- restart: asked the participants: COMMIT | ABORT
 *     |                  +-- one-phase: the participant committed ----------+
 *     +-- operator's resolution with no row (a lost log): COMMIT | ABORT
 *   COMMIT -> END also when the operator repairs a violation (heuristic).
 *
 * Every change of state goes through two calls: ctxn_write() puts the row
 * into the log (inside the caller's SQLite transaction, so that it commits
 * with the acks or heuristic record that belong to it), and, once that is
 * written, ctxn_enter() makes it the transaction's state in memory and
 * logs "txid: OLD -> NEW (why)". Both check the transition against the
 * table above; an illegal one is the program's own mistake: it is logged
 * as a protocol violation and refused (TWOPC_ESTATE), nothing changes.
 * No other file assigns coord_txn.state or writes a state to the log.
 */
#ifndef TWOPC_CTXN_H
#define TWOPC_CTXN_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "clog.h"
#include "config.h"
#include "db.h"
#include "rpc.h"
#include "tmr.h"
#include "txstate.h"
#include "wire.h"
#include <nng/nng.h>

struct coord;
struct cflow_group;

enum {
	CTXN_FRESH = 1 << 0,       /* the first delivery of a decision: the crash
	                            * points of phase two count it */
	CTXN_VOTERS_ONLY = 1 << 1, /* GLOBAL_ABORT to the COMMIT voters first (the
	                            * client waits), then to the silent ones */
	CTXN_RESEND = 1 << 2,      /* a resend: skip the participants whose
	                            * violation stopped resending (cviol.h) */
	CTXN_SENT = 1 << 3,        /* a GLOBAL_COMMIT batch of this delivery left */
	CTXN_WAIT_LATE = 1 << 4,   /* WAIT is written once the votes are in (only
	                            * with coordinator.before_decision_logged armed) */
	CTXN_ANSWERED = 1 << 5,    /* RESULT COMMITTED left at the commit point,
	                            * before the vote step (cvote_votes_in) */
};

/*
 * A transaction the coordinator runs (from SUBMIT to its decision), or one
 * whose phase two is under way. Shared by reference count; the flow that
 * holds it is the only writer of its other fields.
 */
typedef struct coord_txn {
	char txid[WIRE_TXID_MAX + 1];
	tx_state state;              /* ctxn_enter() only */
	tx_state outcome;            /* what the run answers: COMMIT, ABORT or
	                              * UNDECIDED; NONE while it runs */
	size_t nparts;
	int parts[WIRE_MAX_WORK];    /* indexes into cfg->participants */
	int voted_commit[WIRE_MAX_WORK];
	int voted_abort[WIRE_MAX_WORK]; /* already aborted: no GLOBAL_ABORT needed */
	int voted_readonly[WIRE_MAX_WORK]; /* yes, and left: no phase two for it */
	int acked[WIRE_MAX_WORK];    /* ACKed GLOBAL_COMMIT (read-only voters count) */
	int was_acked[WIRE_MAX_WORK]; /* ... and already recorded in the log */
	char reason[WIRE_MAX_WORK * (WIRE_NAME_MAX + 1) + 64];
	atomic_int refs;
	struct coord_txn *next;      /* the running table (coord.h) */
	int64_t since_ms;            /* wall clock when it entered that table */

	/* Its flow (cflow.h): a batch of calls in flight, or a step queued. */
	struct coord *c;
	rpc_deferred *client;        /* the request to answer, if any */
	rpc_batch *batch;            /* the finished batch of the step */
	int stage;                   /* CSTAGE_* (cflow.h) */
	int flags;                   /* CTXN_* */
	size_t who[WIRE_MAX_WORK];   /* the batch's call i went to t->parts[who[i]] */
	size_t nwho;
	struct cflow_group *group;   /* flows someone waits for (may be NULL) */
	struct coord_txn *step_next; /* the step queue */
	wire_msg *sub;               /* the SUBMIT, until its votes are sent */
	uint64_t run_epoch;          /* the epoch of this run (the runs table) */
	int busy[WIRE_MAX_WORK];     /* a key there is held by a READY transaction:
	                              * no vote yet, the request goes again */
	int64_t vote_until;          /* monotonic ms: the vote round's deadline */
	int wait_ms;                 /* the next wait before asking a busy one again */
	tmr wait_tmr;                /* its timer (cvote.c; fn NULL until first used) */
	atomic_int pending;          /* what the next step waits for: the batch in
	                              * flight, and WAIT's fsync (cflow_join) */
	int wait_rc;                 /* WAIT's fsync: 0 or TWOPC_EIO */
	int tallied;                 /* the vote batch is read: what it decides */
	tx_state tally;              /* so far, */
	int tally_unheard;           /* a vote did not come, */
	int tally_waiting;           /* a participant is busy, */
	char tally_reason[512];      /* and why (COORD_REASON) */
} coord_txn;

/* A new transaction, state NONE, one reference; NULL if out of memory. */
coord_txn *ctxn_new(const char *txid);
void ctxn_ref(coord_txn *t);
/* Drop a reference; the last one frees T. Any thread. */
void ctxn_unref(coord_txn *t);

/* 1 if FROM -> TO is in the table above. */
int ctxn_legal(tx_state from, tx_state to);

/* Write T's move to TO into the log: a new row from NONE (PARTS, created
 * now), else the state column (decided now when leaving WAIT; END keeps
 * the decision time). The caller holds db_lock() and has begun the
 * SQLite transaction. 0, TWOPC_ESTATE (illegal: logged), TWOPC_EIO. */
int ctxn_write(db *d, const coord_txn *t, tx_state to, const char *parts);

/* The move to TO is written (or needs no row): T enters it, and the line
 * "txid: OLD -> NEW (WHY)" is logged. The caller serialises it with the
 * readers of t->state (c->mtx for a running transaction). 0 or
 * TWOPC_ESTATE (illegal: logged, T unchanged). */
int ctxn_enter(coord_txn *t, tx_state to, const char *why);

/* T from a log row: txid, state, participants (as indexes into CFG).
 * 0, or TWOPC_ECONFIG (the row names a participant CFG has not: logged). */
int ctxn_load(coord_txn *t, const cfg_cluster *cfg, const char *txid, const clog_txn *row);
/* A new transaction from a log row (ctxn_load), or NULL (no memory, or
 * the row names an unknown participant: logged). */
coord_txn *ctxn_from_row(const cfg_cluster *cfg, const char *txid, const clog_txn *row);
/* T's participants from "a,b,c" (0 or TWOPC_ECONFIG, logged), and back. */
int ctxn_parse_parts(coord_txn *t, const cfg_cluster *cfg, const char *csv);
void ctxn_join_parts(const coord_txn *t, const cfg_cluster *cfg, char *buf, size_t len);

#endif
