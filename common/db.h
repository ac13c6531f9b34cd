/*
 * db.h - the SQLite helpers under both logs (DESIGN section 5).
 *
 * Contract: one db is one SQLite connection to one file, opened with
 * journal_mode=WAL, synchronous=FULL (durability full) or NORMAL, a busy
 * timeout (so an operator's sqlite3 reading the file never makes us fail),
 * and a cache of prepared statements addressed by small integer slots.
 *
 * Threading: a db is used by one thread at a time. Callers serialize with
 * db_lock()/db_unlock() around a whole SQLite transaction; the functions
 * below do not lock by themselves.
 *
 * Durability: db_commit() of a write transaction is the "force" of DESIGN:
 * with synchronous=FULL it returns only after the WAL is fsync'd. If it
 * fails the transaction is rolled back and TWOPC_EIO returned; the caller
 * must then not send any message that depends on the record (the promise is
 * broken, so the daemon stops rather than carry on uncertain).
 */
#ifndef TWOPC_DB_H
#define TWOPC_DB_H

#include <stdint.h>
#include <sqlite3.h>

#define DB_MAX_STMTS 64

typedef struct db db;

/*
 * Open (create if missing) PATH and run SCHEMA (any number of statements,
 * "CREATE TABLE IF NOT EXISTS ..."). FULL selects synchronous=FULL.
 * Returns 0 and *out, or TWOPC_EIO (message logged, naming the file).
 */
int db_open(const char *path, int full, const char *schema, db **out);
/* Finalize every statement and close; NULL is a no-op. */
void db_close(db *d);

void db_lock(db *d);
void db_unlock(db *d);

/* The raw handle, for modules that need sqlite3_* calls. */
sqlite3 *db_sqlite(db *d);

/*
 * The prepared statement in SLOT (0..DB_MAX_STMTS-1), prepared from SQL on
 * first use, reset and with bindings cleared. NULL on a prepare error
 * (logged). Every use of one slot must pass the same SQL.
 */
sqlite3_stmt *db_stmt(db *d, int slot, const char *sql);

/* Run SQL (no result rows). 0 or TWOPC_EIO (logged). */
int db_exec(db *d, const char *sql);

/* BEGIN IMMEDIATE / COMMIT (forced) / ROLLBACK. */
int db_begin(db *d);
/* BEGIN a transaction whose COMMIT is not forced (synchronous=NORMAL for
 * it alone): for records that presumed abort allows to lose. A later
 * forced commit makes it durable too (the WAL is synced in order). */
int db_begin_lazy(db *d);
int db_commit(db *d);
void db_rollback(db *d);

/* Step a statement that returns no row: 0 or TWOPC_EIO (logged). */
int db_step_done(db *d, sqlite3_stmt *st);

/* Successful write commits since open, and those of them that were forced
 * (synchronous=FULL: one fsync of the WAL each; checkpoints add a few more
 * fsyncs that are not counted). Read under db_lock. */
uint64_t db_commits(db *d);
uint64_t db_forced(db *d);

/* Wall clock in ms and a monotonic clock in ms. */
int64_t db_now_ms(void);
int64_t mono_ms(void);

#endif
