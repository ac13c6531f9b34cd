/*
 * dbpriv.h - the db handle's fields, shared by db.c (open, statements,
 * transactions, group commit of the fsync) and dbgroup.c (the group
 * transaction); not for other modules, which use db.h.
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
	struct db_after *after;  /* what waits for its COMMIT, in order */
	struct db_after **after_tail;
};

typedef struct db_waiter {
	uint64_t target;
	db_done_fn fn;
	void *arg;
	struct db_waiter *next;
} db_waiter;

/* The thread's open group on D: its db_lock/db_unlock are no-ops and its
 * transactions are savepoints in the group. */
int dbg_mine(const db *d);
/* The group's side of db_begin/db_commit/db_rollback/db_durable*. */
int dbg_begin(db *d, int lazy);
int dbg_commit(db *d);
void dbg_rollback(db *d);
void dbg_durable_async(db *d, db_done_fn fn, void *arg);
/* db_durable inside a group: dbg_suspend commits the group so far,
 * releases the db lock and runs what waited for the COMMIT; dbg_resume
 * takes the lock again and opens the next group. */
int dbg_suspend(db *d);
int dbg_resume(db *d);

/* db.c's plain transaction, used by the group for its own BEGIN/COMMIT. */
int db_tx_begin(db *d, int lazy);
int db_tx_commit(db *d);
void db_tx_rollback(db *d);

#endif
