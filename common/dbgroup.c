/*
 * dbgroup.c - the group transaction of db.h: many members' transactions in
 * one SQLite transaction, each a savepoint.
 *
 * Why: a participant answers a batch of VOTE_REQUESTs (or GLOBALs), and
 * the coordinator steps a batch of transactions, with one SQLite COMMIT
 * and one fsync instead of one each. Each member still runs its own
 * db_begin .. db_commit | db_rollback, unchanged: inside a group these
 * are SAVEPOINT, RELEASE and ROLLBACK TO, so a member that must vote
 * ABORT undoes only its own writes, never a neighbour's READY. A log
 * whose members roll back only after a failed write may do without them
 * (db_group_savepoints): then such a rollback fails the group.
 *
 * Invariants:
 * - The group holds the db mutex from db_group_begin to db_group_end; on
 *   its own thread db_lock/db_unlock are no-ops (members lock as usual),
 *   on any other thread they wait as usual.
 * - Nothing a member wrote is in the WAL before the group's COMMIT. So
 *   what would follow a member's commit waits for the group's: its
 *   db_durable_async callbacks (the replies that depend on its records)
 *   and its db_crash_committed points run after the COMMIT, in the order
 *   they were asked for. db_durable() inside a group commits the group so
 *   far and opens a new one (a member that must wait for its record).
 * - The group's COMMIT is forced (db_durable waits for it) if any member
 *   was forced; a failed statement rolls the whole group back and every
 *   member's callback gets TWOPC_EIO: nothing is promised from it.
 *
 * Layering: built on db.c (statements, SQLite's BEGIN/COMMIT, the lock's
 * owner) and dbsync.c (the callbacks after the COMMIT); dbtx.c sends the
 * public calls here when the calling thread holds a group.
 */
#include <stdlib.h>

#include "crash.h"
#include "dbpriv.h"
#include "tlog.h"
#include "twopc/error.h"

/* What waits for the group's COMMIT: a crash point, or a durable callback. */
typedef struct db_after {
	const char *point;
	db_done_fn fn;
	void *arg;
	struct db_after *next;
} db_after;

/* Statement slots of the savepoint (db.c uses 0..2). */
enum { S_SAVEPOINT = 3, S_RELEASE, S_ROLLBACK_TO };

static int
dbg_exec(db *d, int slot, const char *sql)
{
	sqlite3_stmt *st = db_stmt(d, slot, sql);
	int rv = st ? db_step_done(d, st) : TWOPC_EIO;
	if (rv != 0)
		d->group_failed = 1;
	return rv;
}

static int
dbg_open(db *d)
{
	d->group_forced = d->group_failed = d->group_sp = 0;
	d->after = NULL;
	d->after_tail = &d->after;
	if (db_tx_begin(d, 1) != 0)
		return TWOPC_EIO;
	d->group = 1;
	db_set_group(d);
	return 0;
}

int
db_group_begin(db *d)
{
	pthread_mutex_lock(&d->mtx);
	if (dbg_open(d) != 0) {
		pthread_mutex_unlock(&d->mtx);
		return TWOPC_EIO;
	}
	return 0;
}

/* COMMIT (or roll back) the group; the db stays locked. Returns its
 * result and hands back what waited for it. */
static int
dbg_close(db *d, db_after **after)
{
	int rv;
	if (d->group_sp)
		dbg_rollback(d); /* a member left its savepoint open */
	if (d->group_failed) {
		db_tx_rollback(d);
		tlog_error("%s: a statement of a group transaction failed: the group is rolled back",
		    d->path);
		/* Members may have counted on their records: nothing that
		 * depends on the log is promised any more (db_durable fails). */
		db_broken(d);
		rv = TWOPC_EIO;
	} else {
		d->lazy = !d->group_forced;
		rv = db_tx_commit(d);
	}
	*after = d->after;
	d->after = NULL;
	d->group = 0;
	db_set_group(NULL);
	return rv;
}

/* Run what waited for a COMMIT that returned RC. */
static void
dbg_run_after(db *d, db_after *a, int rc)
{
	while (a != NULL) {
		db_after *next = a->next;
		if (a->point != NULL && rc == 0)
			crash_point(a->point);
		else if (a->fn != NULL && rc == 0)
			dbs_async(d, a->fn, a->arg); /* this thread's group is over */
		else if (a->fn != NULL)
			a->fn(a->arg, rc);
		free(a);
		a = next;
	}
}

/* Commit the group and release the lock; what waited for the COMMIT
 * runs after, without the lock: a durable callback may lead the sync,
 * which takes the db lock (this thread no longer owns a group, so it
 * would wait for itself). */
static int
dbg_end(db *d)
{
	db_after *after;
	int rv = dbg_close(d, &after);
	pthread_mutex_unlock(&d->mtx);
	dbg_run_after(d, after, rv);
	return rv;
}

int
db_group_end(db *d)
{
	return dbg_end(d);
}

int
dbg_suspend(db *d)
{
	return dbg_end(d);
}

int
dbg_resume(db *d)
{
	pthread_mutex_lock(&d->mtx);
	/* Open the next group on the same lock: the caller's members go on. */
	if (dbg_open(d) != 0) {
		/* No group: the caller still holds the lock it thinks it holds,
		 * and its later db_commit must fail rather than run alone. */
		d->group = 1;
		d->group_failed = 1;
		db_set_group(d);
		return TWOPC_EIO;
	}
	return 0;
}

void
db_group_savepoints(db *d, int on)
{
	d->group_nosp = !on;
}

int
dbg_begin(db *d, int lazy)
{
	if (d->group_sp)
		dbg_rollback(d);
	if (d->group_failed)
		return TWOPC_EIO;
	if (d->group_nosp)
		d->group_changes = sqlite3_total_changes64(d->h);
	else if (dbg_exec(d, S_SAVEPOINT, "SAVEPOINT twopc_member") != 0)
		return TWOPC_EIO;
	d->group_sp = 1;
	d->group_sp_lazy = lazy;
	return 0;
}

int
dbg_commit(db *d)
{
	if (!d->group_sp || d->group_failed)
		return TWOPC_EIO;
	d->group_sp = 0;
	if (!d->group_nosp && dbg_exec(d, S_RELEASE, "RELEASE twopc_member") != 0)
		return TWOPC_EIO;
#ifndef TWOPC_BUG_GROUP_LAZY
	if (!d->group_sp_lazy)
		d->group_forced = 1;
#endif
	return 0;
}

void
dbg_rollback(db *d)
{
	if (!d->group_sp)
		return;
	d->group_sp = 0;
	if (d->group_nosp) {
		/* Nothing to undo alone: the group goes if the member wrote. */
		if (sqlite3_total_changes64(d->h) != d->group_changes)
			d->group_failed = 1;
		return;
	}
	if (dbg_exec(d, S_ROLLBACK_TO, "ROLLBACK TO twopc_member") == 0)
		(void)dbg_exec(d, S_RELEASE, "RELEASE twopc_member");
}

static void
dbg_defer(db *d, const char *point, db_done_fn fn, void *arg)
{
	db_after *a = calloc(1, sizeof(*a));
	if (a == NULL) {
		/* Cannot wait for the COMMIT: fail the group rather than let
		 * the member act before its record is written. */
		d->group_failed = 1;
		if (fn != NULL)
			fn(arg, TWOPC_ENOMEM);
		return;
	}
	*a = (db_after){ .point = point, .fn = fn, .arg = arg };
	*d->after_tail = a;
	d->after_tail = &a->next;
}

void
dbg_durable_async(db *d, db_done_fn fn, void *arg)
{
	dbg_defer(d, NULL, fn, arg);
}

void
dbg_crash_committed(db *d, const char *point)
{
	dbg_defer(d, point, NULL, NULL);
}
