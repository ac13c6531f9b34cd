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
 * Durability and group commit: every SQLite COMMIT runs with
 * synchronous=NORMAL, so it reaches the WAL file (and survives a process
 * crash) but not the disk. A transaction begun with db_begin() is "forced"
 * in the sense of DESIGN: it becomes durable at the next db_durable(),
 * which fsyncs the WAL once for every commit made so far. Callers write
 * under db_lock, release the lock, then call db_durable() before sending
 * anything that depends on the record. db_durable() is a leader/follower
 * group commit: the first caller with nothing syncing syncs at once (no
 * added wait under light load); callers arriving while a sync runs wait
 * for it, and one of them then syncs everything committed meanwhile. So
 * concurrent forced records share one fsync.
 *
 * Invariant: db_durable() returns 0 only when every commit begun with
 * db_begin() before the call is on disk; any record a caller can have
 * read was committed before it read it, so a reply sent after
 * db_durable() never depends on a record that a power cut can take back.
 * If a commit or a sync fails, TWOPC_EIO is returned (and every later
 * db_durable() fails too): the caller must send nothing that depends on
 * it (the promise is broken, so the daemon stops rather than carry on
 * uncertain).
 *
 * With durability normal (FULL = 0) db_durable() returns at once: records
 * survive a process crash, not a power cut.
 */
#ifndef TWOPC_DB_H
#define TWOPC_DB_H

#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>

#include "mclock.h"

#define DB_MAX_STMTS 64

typedef struct db db;

/*
 * Open (create if missing) PATH and run SCHEMA (any number of statements,
 * "CREATE TABLE IF NOT EXISTS ..."). FULL selects synchronous=FULL.
 * First takes the log's lock (loglock.h: one process per log), then
 * checks the file (PRAGMA quick_check) before anything reads a row.
 * Returns 0 and *out, TWOPC_ELOCKED (another process holds the log),
 * TWOPC_ECORRUPT (the log is damaged), TWOPC_ENOMEM or TWOPC_EIO; every
 * failure is logged with a message naming the file. The lock is held
 * until db_close().
 */
/* A daemon's settings of SQLite for the whole process, made first thing
 * in main() (before anything initializes SQLite; the libraries never
 * call it: the process may be an application's). */
void db_process_init(void);

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

/*
 * The same, for SQL not known in advance (an embedding resource's own
 * statements, twopc_txn_stmt): kept by its text, DB_MAX_SQL_STMTS at most;
 * NULL on a prepare error (logged) or once that many are kept. The caller
 * holds the db lock.
 */
#define DB_MAX_SQL_STMTS 32
sqlite3_stmt *db_stmt_sql(db *d, const char *sql);

/* Reads the columns of one result row into USER. Returns 0, or TWOPC_EIO
 * when a column holds what twopc never writes (the file is not ours). */
typedef int (*db_row_fn)(sqlite3_stmt *st, void *user);

/*
 * The one-row lookup every log does: statement SLOT (SQL, as db_stmt) with
 * KEY bound to ?1, stepped once, its row read by READ. Returns 0 (READ ran
 * and accepted the row), TWOPC_ENOENT (no row) or TWOPC_EIO (the query
 * failed or READ refused the row; USER may be half written: read into a
 * local and copy it out on 0). The caller holds the db lock.
 */
int db_get_by_key(db *d, int slot, const char *sql, const char *key, db_row_fn read, void *user);

/* Run SQL (slot SLOT) with KEY bound to ?1 and, unless NULL, KEY2 to
 * ?2, for no rows (a DELETE, INSERT or UPDATE by key). 0 or TWOPC_EIO.
 * The caller holds the db lock. */
int db_run_by_key(db *d, int slot, const char *sql, const char *key, const char *key2);

/* A db_row_fn: column 0 as an unsigned 64-bit integer into *(uint64_t *)OUT
 * (stored as SQLite's signed integer, read back the same way). */
int db_row_u64(sqlite3_stmt *st, void *out);

/* Column COL of ST's row as text into BUF (LEN), or NONE when NULL. */
void db_col_text(sqlite3_stmt *st, int col, char *buf, size_t len, const char *none);

/*
 * The row loop every log's listing does: step ST (prepared and bound by
 * the caller, the db lock held), and for each row whose last column (the
 * key, a txid) is not NULL and that READ accepts into ROW (read from
 * column 0, as for db_get_by_key), call FN(USER, key, ROW). A row READ
 * refuses is passed over. ST is reset at the end. Returns 0, or
 * TWOPC_EIO when a step failed (FN may have run for the rows before).
 */
typedef void (*db_each_fn)(void *user, const char *key, void *row);
int db_each(sqlite3_stmt *st, db_row_fn read, void *row, db_each_fn fn, void *user);

/* Run SQL (no result rows). 0 or TWOPC_EIO (logged). */
int db_exec(db *d, const char *sql);

/* BEGIN IMMEDIATE for a forced transaction: db_durable() after its
 * COMMIT waits for it. */
int db_begin(db *d);
/* BEGIN a lazy transaction: for records that presumed abort allows to
 * lose; db_durable() does not wait for it (a later sync covers it too,
 * the WAL being synced in order). */
int db_begin_lazy(db *d);
/* COMMIT (into the WAL, not yet synced; see above) / ROLLBACK. */
int db_commit(db *d);
void db_rollback(db *d);

/*
 * Wait until every forced commit made before the call is durable (ALL: every
 * commit, lazy ones too). Call WITHOUT db_lock held. 0 or TWOPC_EIO.
 */
int db_durable(db *d);
int db_durable_all(db *d);

/*
 * fsync the WAL now, whatever the durability setting: for the rare record
 * that must survive a power cut even with durability normal (the
 * coordinator's epoch: if it went back below what participants have
 * seen, the next start would take the log for a lost one). Call without
 * db_lock held, before the db is shared between threads. 0 or TWOPC_EIO.
 */
int db_sync_now(db *d);

/*
 * db_durable() without blocking the caller for a sync another thread is
 * running: FN(ARG, rc) is called once every forced commit made before the
 * call is durable (rc 0) or a sync failed (TWOPC_EIO). It is called at once,
 * on the calling thread, when nothing is pending, or when no sync is
 * running (the caller then leads the sync itself: no hand-off under light
 * load); otherwise later, on the thread that ends the covering sync (a
 * db_durable() caller or the db's syncer thread). FN must not block for
 * long and must not take db_lock. Call without db_lock held.
 */
typedef void (*db_done_fn)(void *arg, int rc);
void db_durable_async(db *d, db_done_fn fn, void *arg);

/*
 * The group transaction (dbgroup.c): from db_group_begin to db_group_end
 * this thread holds the db, and every db_begin .. db_commit | db_rollback
 * it runs (a member) is a savepoint in one SQLite transaction, so a batch
 * of transactions costs one COMMIT and one fsync and a member rolled back
 * leaves the others as they are. What depends on a member's record waits
 * for the group: db_durable_async callbacks run after its COMMIT (with
 * TWOPC_EIO if it failed), db_durable() commits the group so far (and
 * does not hold the db lock while it waits for the sync). Members
 * lock as usual (no-ops on the group's thread).
 * db_group_begin: 0 or TWOPC_EIO (no group: members run alone).
 * db_group_end: the COMMIT's result, after the deferred work ran.
 */
int db_group_begin(db *d);
int db_group_end(db *d);
/*
 * Whether members are savepoints (ON 1, the default). With 0 a member's
 * db_begin .. db_commit runs no SQL of its own, and a member that rolls
 * back after it changed a row fails the whole group (every member's
 * callback gets TWOPC_EIO, and the db is broken, as when a statement of
 * the group fails). For a log whose members roll back only after a
 * failed write (the coordinator's): a savepoint costs two statements and
 * a copy of every page the member changes into SQLite's sub-journal.
 * Call before the db is shared between threads.
 */
void db_group_savepoints(db *d, int on);

/*
 * A crash point whose meaning is "the record just committed is in the
 * log": hit at once, or, inside a group, once the group has committed.
 */
void db_crash_committed(db *d, const char *point);

/* Give the free pages back to the file system (lazy; a no-op for a log
 * created before auto_vacuum was set). Under db_lock. 0 or TWOPC_EIO. */
int db_vacuum(db *d);

/* Step a statement that returns no row: 0 or TWOPC_EIO (logged). */
int db_step_done(db *d, sqlite3_stmt *st);

/* Successful write commits since open, and the WAL syncs made for them
 * by db_durable() (one fsync each; checkpoints add a few more fsyncs that
 * are not counted). Read under db_lock. */
uint64_t db_commits(db *d);
uint64_t db_forced(db *d);
/* The duration of each of those syncs (a forced write waits for at most
 * the one running and its own); any thread, no lock. */
struct histo;
const struct histo *db_sync_histo(const db *d);

/* Wall clock in ms (the monotonic one, mono_ms, is mclock.h's). */
int64_t db_now_ms(void);

#endif
