/*
 * part.h - the participant library's internals, shared by its files:
 * part.c (handle, message handlers, state transitions) and precover.c
 * (the background thread: decision requests, retention).
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
#include "rpc.h"
#include "twopc/participant.h"

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

	pthread_mutex_t mtx;
	pthread_cond_t cv;
	int started, running, stopping, failed;
	pthread_t bg;
	int bg_running;
	part_ask *asks;
	size_t nasks, capasks;
	int64_t next_expire_ms;
	int atomic_commit;           /* twopc_participant_set_atomic_commit */
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

/* 1 if T (a READY record) is a one-phase transaction: its peers is this
 * participant alone, so READY is this participant's own COMMIT decision
 * and is never asked about. */
int part_solo(const twopc_participant *p, const plog_txn *t);

/* Stop serving because a forced write failed (fail-fast). */
void part_fail(twopc_participant *p, const char *why);

/*
 * With the db lock held and TXID READY (T): apply the workspace and force
 * COMMIT (one SQLite transaction), or discard it and write ABORT (forced
 * when FORCE, R8). Return 0, TWOPC_ERESOURCE (callback failed: still
 * READY, retried later) or TWOPC_EIO (the handle has failed).
 */
int part_commit(twopc_participant *p, const char *txid, const plog_txn *t);
int part_abort(twopc_participant *p, const char *txid, const plog_txn *t, int force,
    const char *why);

/* Manual resolution (presolve.c). RESOLVE from the operator's driver:
 * REP is a one-entry STATUS_REPLY or an ERROR. Takes the db lock. */
int part_on_resolve(twopc_participant *p, const wire_msg *req, wire_msg *rep, char *buf,
    size_t len);
/* With the db lock held: TXID's heuristic record as status words ("" if
 * none), and status entries for heuristic records (ONLY: that txid; NULL:
 * every one not READY) added to L. */
void part_heur_note(twopc_participant *p, const char *txid, char *buf, size_t len);
struct statlist;
void part_heur_status(twopc_participant *p, struct statlist *l, const char *only, int64_t now);

/* The background thread (precover.c). */
void *part_bg_main(void *arg);
/* Recovery at start, before serving: INIT -> ABORT. */
int part_recover(twopc_participant *p);
/* Forget the ask schedule of TXID (it left READY). Takes p->mtx. */
void part_ask_drop(twopc_participant *p, const char *txid);
/* Copy the ask note for TXID into BUF ("" if none). Takes p->mtx. */
void part_ask_note(twopc_participant *p, const char *txid, char *buf, size_t len);

#endif
