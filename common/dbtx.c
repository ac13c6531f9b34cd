/*
 * dbtx.c - the top of the db module (db.h): the public calls whose work
 * depends on whether the calling thread holds a group transaction
 * (dbgroup.c) on the db. Outside a group, db_begin .. db_commit are
 * SQLite's own BEGIN and COMMIT (db.c), and db_durable* wait for the
 * fsync (dbsync.c); inside one, they are the group's savepoints, and
 * what waits for a record waits for the group's COMMIT first.
 *
 * Layering: db.c at the bottom, dbsync.c on it, dbgroup.c on both, this
 * file on all three; nothing below calls up. Also here: db_close (it
 * stops dbsync.c's syncer before db.c frees the connection) and
 * db_vacuum (a transaction like any other).
 */
#include <stdatomic.h>

#include "crash.h"
#include "dbpriv.h"

void
db_close(db *d)
{
	if (d == NULL)
		return;
	dbs_stop(d);
	db_free(d);
}

int
db_begin(db *d)
{
	return db_in_group(d) ? dbg_begin(d, 0) : db_tx_begin(d, 0);
}

int
db_begin_lazy(db *d)
{
	return db_in_group(d) ? dbg_begin(d, 1) : db_tx_begin(d, 1);
}

int
db_commit(db *d)
{
	return db_in_group(d) ? dbg_commit(d) : db_tx_commit(d);
}

void
db_rollback(db *d)
{
	if (db_in_group(d))
		dbg_rollback(d);
	else
		db_tx_rollback(d);
}

int
db_vacuum(db *d)
{
	int rv = db_begin_lazy(d);
	if (rv == 0 && (rv = db_exec(d, "PRAGMA incremental_vacuum")) != 0)
		db_rollback(d);
	if (rv == 0)
		rv = db_commit(d);
	return rv;
}

/* Until every commit up to what TARGET reads is durable. Inside a group
 * (a member that must wait for its record), the group so far commits and
 * the db lock is released while the sync runs: the leader of a sync takes
 * the lock for a moment, and may be another thread. The members go on in
 * a new group afterwards. */
static int
db_durable_at(db *d, const _Atomic uint64_t *target)
{
	if (!db_in_group(d))
		return dbs_wait(d, atomic_load(target));
	int rv = dbg_suspend(d);
	int srv = dbs_wait(d, atomic_load(target));
	int orv = dbg_resume(d);
	return rv != 0 ? rv : srv != 0 ? srv : orv;
}

int
db_durable(db *d)
{
	return db_durable_at(d, &d->need);
}

int
db_durable_all(db *d)
{
	return db_durable_at(d, &d->seq);
}

void
db_durable_async(db *d, db_done_fn fn, void *arg)
{
	if (db_in_group(d))
		dbg_durable_async(d, fn, arg); /* after the group's COMMIT */
	else
		dbs_async(d, fn, arg);
}

void
db_crash_committed(db *d, const char *point)
{
	if (db_in_group(d))
		dbg_crash_committed(d, point); /* once the group has committed */
	else
		crash_point(point);
}
