/*
 * plog.h - the participant's write-ahead log (DESIGN section 5).
 *
 * Tables (the contract operators and twopc-crashtest read with sqlite3):
 *   txn(txid TEXT PRIMARY KEY, state TEXT, coordinator_epoch INTEGER,
 *       peers TEXT, updated_at INTEGER)      state: INIT READY COMMIT ABORT
 *   workspace(txid TEXT, seq INTEGER, op TEXT, key TEXT, value TEXT)
 *   locks(key TEXT PRIMARY KEY, txid TEXT)
 *   kv(key TEXT PRIMARY KEY, value TEXT)     the built-in resource's data
 *   meta(key TEXT PRIMARY KEY, value TEXT)   highest coordinator epoch seen
 *   readonly(txid, coordinator_epoch, updated_at)  READ-ONLY votes given
 * `peers` is the comma-separated list of every participant of the
 * transaction; updated_at is wall-clock milliseconds.
 *
 * Invariants: a txid has workspace or lock rows only while it is READY (or
 * while a SQLite transaction that stages it is open); COMMIT is written in
 * the same SQLite transaction that applies the workspace and removes it.
 *
 * Every function runs SQL on the caller's open connection: the caller holds
 * db_lock() and decides the transaction boundaries (and so what is forced).
 * Return 0 or TWOPC_EIO (logged) unless stated.
 */
#ifndef TWOPC_PLOG_H
#define TWOPC_PLOG_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "txstate.h"
#include "wire.h"

extern const char plog_schema[];

typedef struct plog_txn {
	tx_state state;
	uint64_t epoch;
	char peers[WIRE_MAX_WORK * (WIRE_NAME_MAX + 1) + 1];
	int64_t updated_at;
} plog_txn;

/* 0 and *out; TWOPC_ENOENT when there is no record; TWOPC_EIO. */
int plog_get(db *d, const char *txid, plog_txn *out);
/* Insert or replace the txn row. */
int plog_put(db *d, const char *txid, tx_state st, uint64_t epoch, const char *peers);
/* Delete TXID's txn row if it is COMMIT (whose workspace and locks went
 * with the COMMIT: part_apply_commit). 1 if deleted, 0 if there is no
 * such row, TWOPC_EIO. */
int plog_forget(db *d, const char *txid);

/* Lock KEY for TXID, no wait (R5): 0 if now held by TXID (also if it
 * already was), TWOPC_EBUSY with the holder copied to HOLDER, TWOPC_EIO. */
int plog_lock(db *d, const char *txid, const char *key, char *holder, size_t len);
/* The txid holding KEY's lock: 0 and HOLDER, TWOPC_ENOENT, TWOPC_EIO. */
int plog_lock_holder(db *d, const char *key, char *holder, size_t len);
/* Remove TXID's workspace rows and locks. */
int plog_release(db *d, const char *txid);

int plog_stage(db *d, const char *txid, int seq, const char *op, const char *key,
    const char *value);

/* The staged rows of one transaction, loaded in seq order. */
typedef struct plog_ws {
	size_t n;
	char **op, **key, **value;
} plog_ws;
int plog_ws_load(db *d, const char *txid, plog_ws *ws);
void plog_ws_free(plog_ws *ws);

/* Highest coordinator epoch seen (0 if none); store a new one. */
int plog_epoch_get(db *d, uint64_t *out);
int plog_epoch_set(db *d, uint64_t epoch);

/* Call FN for each txn row in STATE (TX_NONE = every state), oldest first,
 * at most LIMIT rows. */
typedef void (*plog_each_fn)(void *arg, const char *txid, const plog_txn *t);
int plog_each(db *d, tx_state state, size_t limit, plog_each_fn fn, void *arg);

/* Call FN(ARG, KEY, TXID) for each row of the locks table, ordered by
 * txid then key, at most LIMIT rows (the strings live for the call).
 * 0 or TWOPC_EIO. */
typedef void (*plog_lock_fn)(void *arg, const char *key, const char *txid);
int plog_locks_each(db *d, size_t limit, plog_lock_fn fn, void *arg);

/*
 * The note of a READ-ONLY vote (table readonly(txid, coordinator_epoch,
 * updated_at), beside the tables of DESIGN section 5): the participant
 * voted yes and left. 0 / TWOPC_ENOENT / TWOPC_EIO.
 */
int plog_readonly_put(db *d, const char *txid, uint64_t epoch);
int plog_readonly_get(db *d, const char *txid, uint64_t *epoch);
/* 1 if the readonly table holds a note (or cannot be read), else 0. */
int plog_readonly_any(db *d);
/* Drop TXID's READ-ONLY note (FORGET: the coordinator recorded END). */
int plog_readonly_drop(db *d, const char *txid);

/* Delete ABORT rows and READ-ONLY notes not updated since BEFORE_MS (R9). Returns the count
 * deleted (>= 0) or TWOPC_EIO. */
int plog_expire(db *d, int64_t before_ms);

#endif
