/*
 * part.h - the participant library's handle, shared by its files, and the
 * helpers every file may call (part.c). Who does what:
 *   ptxn.c      the transaction state machine, the only writer of state
 *   part.c      the handle's shared helpers: fail-fast, epochs, the ask
 *               schedule, error replies, the callbacks' txn handle
 *   pdecide.c   phase two: applying COMMIT or ABORT (GLOBAL_*, FORGET)
 *   pvote.c     phase one: VOTE_REQUEST, staging, READY / READ-ONLY /
 *               one-phase commit
 *   pterm.c     the termination protocol, answering and asking side
 *   presolve.c  the operator's heuristic outcomes
 *   pstatus.c   STATUS and GET
 *   phttp.c     the HTTP server's metrics, health and status page
 *   precover.c  restart recovery and the background thread
 *   pserve.c    lifecycle (open, start, stop) and message dispatch
 * Calls go down this list's dependency order only (ptxn and part at the
 * bottom, pserve at the top).
 *
 * Locking: p->db's lock (db_lock) serializes every log transaction and
 * every resource callback; p->mtx guards the handle's run state and the
 * ask schedule. Never take p->mtx and then db_lock in the other order:
 * the order is db_lock, then p->mtx.
 */
#ifndef TWOPC_PART_H
#define TWOPC_PART_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <nng/nng.h>

#include "config.h"
#include "db.h"
#include "fdetect.h"
#include "plog.h"
#include "histo.h"
#include "rpc.h"
#include "runstate.h"
#include "twopc/participant.h"
#include "wire.h"

struct httpd;

/* When to ask again about one READY transaction (volatile: rebuilt from
 * the log after a restart). */
typedef struct part_ask {
	char txid[WIRE_TXID_MAX + 1];
	int64_t next_ms;     /* monotonic */
	int64_t backoff_ms;
	int64_t since_ms;    /* monotonic: first ask without an answer */
	int asks;
	char why[300];       /* what `twopc status` shows */
} part_ask;

struct twopc_participant {
	cfg_cluster *cfg;
	const cfg_node *self;
	twopc_resource res;
	db *db;
	rpc_server *srv;
	nng_socket coord;
	int coord_open;
	nng_socket *peer_socks;      /* per participant, dialed on first use (p->mtx) */
	int *peer_open;
	fdetect fd;                  /* 0 = coordinator, 1 + i = participant i */
	_Atomic uint64_t max_epoch;
	_Atomic int ready;           /* recovery done: requests are served */
	uint64_t epoch_stored;       /* the epoch in the log's meta (db lock) */
	int ro_notes;                /* the readonly table may hold a note (db lock):
	                              * 0 spares a new txid's VOTE_REQUEST the
	                              * lookup (pvote.c); never cleared */

	RUNSTATE_EMBED(run);         /* p->mtx, p->cv, p->stopping, p->failed (runstate.h) */
	int started, running;
	pthread_t bg;
	int bg_running;
	_Atomic uint64_t bg_passes;   /* completed background passes (twopc_participant_progress) */
	part_ask *asks;
	size_t nasks, capasks;
	int64_t next_expire_ms;
	int atomic_commit;           /* twopc_participant_set_atomic_commit */
	uint64_t released;           /* decisions applied (locks released), p->mtx */
	pthread_cond_t released_cv;  /* broadcast with each, and when stopping: readers
	                              * waiting for a lock (pstatus.c) wake; not
	                              * p->cv, which would wake the asking thread */
	struct httpd *http;          /* the 'http:' server, or NULL (phttp.c) */
	histo vote_time;             /* VOTE_REQUEST taken to VOTE sent (pserve.c) */
};

struct twopc_txn {
	twopc_participant *p;
	const char *txid;
	int in_prepare;
	int seq;
	char reason[201];
	plog_ws ws;
	twopc_op cur;
};

/*
 * The handle's shared helpers (part.c). None takes the db lock unless it
 * says so; none calls back into a higher file.
 */

/* 1 if T (a READY record) is a one-phase transaction: its peers is this
 * participant alone, so READY is this participant's own COMMIT decision
 * and is never asked about. */
int part_solo(const twopc_participant *p, const plog_txn *t);

/* Stop serving because a forced write failed (fail-fast). Takes p->mtx
 * (runstate_fail). */
void part_fail(twopc_participant *p, const char *why);
/* 1 once part_fail was called. Lock-free (read per request). */
static inline int
part_failed(twopc_participant *p)
{
	return runstate_failed(&p->run);
}

/*
 * The highest coordinator epoch a participant accepts, 2^63-1. Epochs are
 * unsigned 64-bit on the wire and in memory, but the logs keep them in
 * SQLite INTEGER columns (signed 64-bit), where a larger one would read
 * back negative, that is as 2^64-1 after a restart, above every epoch a
 * coordinator will ever have, and fence the participant for good. A
 * coordinator starts a new epoch per start: 2^63-1 is never reached.
 */
#define PART_EPOCH_MAX ((uint64_t)INT64_MAX)

/* R6: 1 if REQ comes from an older coordinator epoch than the highest
 * seen, or carries an epoch above PART_EPOCH_MAX (invalid: refused, never
 * remembered), REP filled with the error, logged; else 0. */
int part_stale(twopc_participant *p, const wire_msg *req, wire_msg *rep, char *buf, size_t len);
/* Remember a higher epoch (at most PART_EPOCH_MAX; a larger one is
 * ignored); made durable with the next forced write. */
void part_see_epoch(twopc_participant *p, uint64_t epoch);
/* The epoch read from the log at open, or 0 (logged) if it is above
 * PART_EPOCH_MAX: a log written before the bound existed may hold one
 * from a forged message, stored as a negative number. */
uint64_t part_epoch_from_log(uint64_t logged);
/* With the db lock held, inside a log transaction: write the highest
 * epoch seen to the log's meta if it rose. 0 or TWOPC_EIO. */
int part_store_epoch(twopc_participant *p);

/*
 * The ask schedule (volatile: rebuilt from the log after a restart),
 * guarded by p->mtx, which the caller holds for part_ask_find and the
 * entry it returns; the others take it.
 */
/* TXID's entry; CREATE: add one (zeroed) if missing. NULL if none / no
 * memory. */
part_ask *part_ask_find(twopc_participant *p, const char *txid, int create);
/* Forget TXID's entry (it left READY: its locks are released, so readers
 * waiting for them are woken: p->released, p->released_cv). */
void part_ask_drop(twopc_participant *p, const char *txid);
/* Copy the note of TXID's entry into BUF ("" if none). */
void part_ask_note(twopc_participant *p, const char *txid, char *buf, size_t len);

#endif
