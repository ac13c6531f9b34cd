/*
 * dbpriv.h - the db handle's fields and the calls between the files of
 * the db module, bottom to top: db.c (the connection, the lock,
 * statements, SQLite's own transactions, the WAL's fsync), dbsync.c
 * (group commit of the fsync), dbgroup.c (the group transaction) and
 * dbtx.c (the public calls that differ inside a group). Each file calls
 * only those below it. Not for other modules, which use db.h.
 */
#ifndef TWOPC_DBPRIV_H
#define TWOPC_DBPRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "db.h"
#include "histo.h"
#include "loglock.h"

struct db {
	sqlite3 *h;
	char *path;
	loglock lock;  /* held from before the first read until after the close */
	pthread_mutex_t mtx;
	sqlite3_stmt *stmts[DB_MAX_STMTS];
	struct {
		char *sql;
		sqlite3_stmt *st;
	} sql_stmts[DB_MAX_SQL_STMTS];  /* db_stmt_sql, in the order first used */
	uint64_t commits;
	int full;      /* durability full: db_durable() syncs the WAL */
	int lazy;      /* the open transaction was begun with db_begin_lazy */

	/* Group commit (db.h). seq and need change under mtx; read anywhere. */
	_Atomic uint64_t seq;    /* commits so far */
	_Atomic uint64_t need;   /* seq of the newest forced commit */
	pthread_mutex_t gmtx;    /* the fields below */
	pthread_cond_t gcv;
	uint64_t synced;         /* every commit with seq <= synced is on disk */
	int syncing;             /* a leader is in the fsync */
	int sync_failed;         /* a sync failed: nothing is promised any more */
	uint64_t nsyncs;         /* WAL fsyncs made by db_durable */
	histo sync_time;         /* ... and how long each took */
	struct db_waiter *waiters; /* db_durable_async callers, by target */
	pthread_t syncer;        /* syncs for waiters nobody else syncs for */
	int syncer_running, syncer_stop;

	/* The group transaction (dbgroup.c); only the thread holding mtx
	 * touches these. */
	int group;               /* one is open */
	int group_sp;            /* a savepoint (one member's transaction) is open */
	int group_sp_lazy;       /* ... begun with db_begin_lazy */
	int group_forced;        /* a forced member was released into it */
	int group_failed;        /* a statement failed: it rolls back whole */
	int group_nosp;          /* members are not savepoints (db_group_savepoints) */
	int64_t group_changes;   /* ... rows changed when the member began */
	struct db_after *after;  /* what waits for its COMMIT, in order */
	struct db_after **after_tail;
};

typedef struct db_waiter {
	uint64_t target;
	db_done_fn fn;
	void *arg;
	struct db_waiter *next;
} db_waiter;

/* ---- db.c ---- */

/* The thread's open group on D: its db_lock/db_unlock are no-ops and its
 * transactions are savepoints in the group. db_set_group(D) marks the
 * calling thread's group as holding D's lock (NULL: none). */
int db_in_group(const db *d);
void db_set_group(const db *d);
/* SQLite's own BEGIN (LAZY: not forced), COMMIT (counted for dbsync.c)
 * and ROLLBACK; the group's BEGIN and COMMIT are these too. */
int db_tx_begin(db *d, int lazy);
int db_tx_commit(db *d);
void db_tx_rollback(db *d);
/* A commit failed: nothing is promised any more (every db_durable fails). */
void db_broken(db *d);
/* fsync the WAL; *COVER (unless NULL) gets the commit count it covers.
 * 0 or TWOPC_EIO (logged). Takes the db lock for a moment. */
int db_sync_wal(db *d, uint64_t *cover);
/* Free D's connection and handle (no syncer thread may run). */
void db_free(db *d);

/* ---- dbsync.c ---- */

/* Until every commit up to TARGET is durable (or a sync failed): lead a
 * sync or wait for the running one. Without the db lock. 0 or TWOPC_EIO. */
int dbs_wait(db *d, uint64_t target);
/* db_durable_async outside a group. */
void dbs_async(db *d, db_done_fn fn, void *arg);
/* Stop the syncer thread, if one was started, once its waiters fired. */
void dbs_stop(db *d);

/* ---- dbgroup.c ---- */

/* The group's side of db_begin/db_commit/db_rollback/db_durable_async and
 * db_crash_committed (what waits for the group's COMMIT). */
int dbg_begin(db *d, int lazy);
int dbg_commit(db *d);
void dbg_rollback(db *d);
void dbg_durable_async(db *d, db_done_fn fn, void *arg);
void dbg_crash_committed(db *d, const char *point);
/* db_durable inside a group: dbg_suspend commits the group so far,
 * releases the db lock and runs what waited for the COMMIT; dbg_resume
 * takes the lock again and opens the next group. */
int dbg_suspend(db *d);
int dbg_resume(db *d);

#endif
