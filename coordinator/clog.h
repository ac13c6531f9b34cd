/*
 * clog.h - the coordinator's write-ahead log (DESIGN section 5).
 *
 * Tables (operators and twopc-crashtest read them with sqlite3):
 *   meta(key TEXT PRIMARY KEY, value TEXT)   'epoch': incremented and
 *        forced at every start, before any txid is issued (R6);
 *        'presume_from' (see clog_meta_get)
 *   txn(txid TEXT PRIMARY KEY, state TEXT, participants TEXT,
 *       created_at INTEGER, decided_at INTEGER)  state: WAIT COMMIT ABORT END
 *   acks(txid TEXT, participant TEXT)        who has ACKed GLOBAL_COMMIT
 *   runs(txid TEXT PRIMARY KEY, epoch INTEGER)  the epoch of the run of
 *        each WAIT (written with WAIT, dropped with the decision): a
 *        restarted coordinator asks the participants about that run, and
 *        a participant's record of another run of the txid is not it
 * participants is the comma-separated list of the transaction's
 * participants; times are wall-clock milliseconds (decided_at 0 while WAIT).
 *
 * What is forced (R2): the epoch; WAIT (the commit point is WAIT durable
 * and every vote yes); an ABORT the coordinator decides itself. COMMIT,
 * acks and END are lazy: a lost COMMIT leaves WAIT, which restart settles
 * from the participants (all READY: COMMIT); a lost ack only causes one
 * more GLOBAL_COMMIT, which is idempotent. END is made durable before a
 * FORGET leaves (cforget.c): a participant's dropped COMMIT record must
 * never meet a coordinator that is back at WAIT.
 *
 * The caller holds db_lock() and chooses transaction boundaries.
 * Return 0 or TWOPC_EIO (logged) unless stated.
 */
#ifndef TWOPC_CLOG_H
#define TWOPC_CLOG_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "txstate.h"
#include "wire.h"

extern const char clog_schema[];

typedef struct clog_txn {
	tx_state state;
	char participants[WIRE_MAX_WORK * (WIRE_NAME_MAX + 1) + 1];
	int64_t created_at;
	int64_t decided_at;
} clog_txn;

/* Read the epoch, add one (or take FLOOR if that is higher) and force it
 * (its own SQLite transaction). Must be called before any txid is issued. */
int clog_epoch_next(db *d, uint64_t floor, uint64_t *out);

/* meta KEY as an unsigned number: 0 and *OUT, TWOPC_ENOENT (no row),
 * TWOPC_EIO (unreadable, or not a number). Keys: 'epoch'; 'presume_from',
 * the first epoch whose transactions this log has recorded, set when the
 * log was started above the participants' epochs (--min-epoch): a txid of
 * an older epoch with no record is in doubt here, not presumed aborted. */
int clog_meta_get(db *d, const char *key, uint64_t *out);
int clog_meta_put(db *d, const char *key, uint64_t value);

/* 0 and *out, TWOPC_ENOENT (no record), TWOPC_EIO. */
int clog_get(db *d, const char *txid, clog_txn *out);
int clog_put(db *d, const char *txid, tx_state st, const char *participants,
    int64_t created_at, int64_t decided_at);
/* DECIDED_AT 0 keeps the recorded decision time (END). */
int clog_set_state(db *d, const char *txid, tx_state st, int64_t decided_at);

int clog_ack(db *d, const char *txid, const char *participant);

/* 1 if PARTICIPANT has acked TXID, 0 if not, TWOPC_EIO. */
int clog_acked(db *d, const char *txid, const char *participant);

typedef void (*clog_each_fn)(void *arg, const char *txid, const clog_txn *t);
/* FN for each row in STATE, oldest first, at most LIMIT. */
int clog_each(db *d, tx_state state, size_t limit, clog_each_fn fn, void *arg);

/* Delete END and ABORT rows (and their acks) decided before BEFORE_MS
 * (R7 retention). Returns the number deleted or TWOPC_EIO. */
int clog_expire(db *d, int64_t before_ms);
/* The epoch of TXID's run (runs table): 0 and *EPOCH, TWOPC_ENOENT (a
 * WAIT written before the table existed: an old log), TWOPC_EIO. */
int clog_run_put(db *d, const char *txid, uint64_t epoch);
int clog_run_get(db *d, const char *txid, uint64_t *epoch);
int clog_run_drop(db *d, const char *txid);
/* Drop TXID's acks: once it is END nothing reads them. */
int clog_acks_drop(db *d, const char *txid);

#endif
