/*
 * dbsync.c - group commit of the fsync (db.h "Durability and group
 * commit"): the leader/follower wait behind db_durable, the queue behind
 * db_durable_async, and the syncer thread that syncs for async waiters
 * nobody else syncs for. Built on db.c alone (its db_sync_wal); knows
 * nothing of the group transaction: dbtx.c suspends a group around a
 * wait, and dbgroup.c hands its members' callbacks here after its COMMIT.
 *
 * Invariant: synced only grows, and only to a commit count read before a
 * sync that then succeeded; every waiter fires exactly once, with 0 only
 * when its target is covered, with TWOPC_EIO once any sync failed.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "dbpriv.h"
#include "tlog.h"
#include "twopc/error.h"

/* The result every waiter gets: nothing is promised after a failure. */
static int
db_rc(const db *d)
{
	return d->sync_failed ? TWOPC_EIO : 0;
}

/* Detach the async waiters whose target is covered (all of them after a
 * failure). gmtx held. */
static db_waiter *
db_take_done(db *d)
{
	db_waiter *done = NULL, **pp = &d->waiters;
	while (*pp != NULL) {
		db_waiter *w = *pp;
		if (d->sync_failed || !d->full || w->target <= d->synced) {
			*pp = w->next;
			w->next = done;
			done = w;
		} else {
			pp = &w->next;
		}
	}
	return done;
}

static void
db_fire(db_waiter *w, int rc)
{
	while (w != NULL) {
		db_waiter *next = w->next;
		w->fn(w->arg, rc);
		free(w);
		w = next;
	}
}

/* One sync as the leader. gmtx held on entry and on return (released
 * during the fsync). Fires the async waiters it covers; if some remain
 * uncovered, wakes the syncer thread for them. */
static void
db_lead_sync(db *d)
{
	d->syncing = 1;
	pthread_mutex_unlock(&d->gmtx);
	uint64_t cover = 0;
	int64_t t0 = histo_now();
	int srv = db_sync_wal(d, &cover);
	if (srv == 0)
		histo_since(&d->sync_time, t0);
	pthread_mutex_lock(&d->gmtx);
	d->syncing = 0;
	if (srv != 0)
		d->sync_failed = 1;
	else if (cover > d->synced)
		d->synced = cover;
	d->nsyncs += srv == 0;
	db_waiter *done = db_take_done(d);
	pthread_cond_broadcast(&d->gcv);
	if (done != NULL) {
		int rc = db_rc(d);
		pthread_mutex_unlock(&d->gmtx);
		db_fire(done, rc);
		pthread_mutex_lock(&d->gmtx);
	}
}

/* Until every commit up to TARGET is durable (or a sync failed): lead a
 * sync when none runs, else wait for the running one. gmtx held. */
static int
db_wait_locked(db *d, uint64_t target)
{
	while (!d->sync_failed && d->full && d->synced < target) {
		if (d->syncing)
			pthread_cond_wait(&d->gcv, &d->gmtx);
		else
			db_lead_sync(d); /* everything committed up to now */
	}
	return db_rc(d);
}

int
dbs_wait(db *d, uint64_t target)
{
	pthread_mutex_lock(&d->gmtx);
	int rv = db_wait_locked(d, target);
	pthread_mutex_unlock(&d->gmtx);
	return rv;
}

/* The syncer thread: syncs for async waiters when no caller does. */
static void *
db_syncer_main(void *arg)
{
	db *d = arg;
	pthread_mutex_lock(&d->gmtx);
	for (;;) {
		db_waiter *done = db_take_done(d);
		if (done != NULL) {
			int rc = db_rc(d);
			pthread_mutex_unlock(&d->gmtx);
			db_fire(done, rc);
			pthread_mutex_lock(&d->gmtx);
			continue;
		}
		if (d->waiters != NULL && !d->syncing) {
			db_lead_sync(d);
			continue;
		}
		if (d->waiters == NULL && d->syncer_stop)
			break;
		pthread_cond_wait(&d->gcv, &d->gmtx);
	}
	pthread_mutex_unlock(&d->gmtx);
	return NULL;
}

void
dbs_async(db *d, db_done_fn fn, void *arg)
{
	uint64_t target = atomic_load(&d->need);
	db_waiter *w = NULL;
	pthread_mutex_lock(&d->gmtx);
	if (d->syncing && !d->sync_failed && d->full && d->synced < target) {
		/* A sync is running and may not cover us: queue, so this thread
		 * goes on serving; the leader or the syncer fires us. */
		if (!d->syncer_running && pthread_create(&d->syncer, NULL, db_syncer_main, d) == 0)
			d->syncer_running = 1;
		if (d->syncer_running && (w = malloc(sizeof(*w))) != NULL) {
			*w = (db_waiter){ .target = target, .fn = fn, .arg = arg, .next = d->waiters };
			d->waiters = w;
			pthread_cond_broadcast(&d->gcv);
			pthread_mutex_unlock(&d->gmtx);
			return;
		}
	}
	/* Nothing pending, nobody syncing (lead it here, as db_durable()
	 * would: no hand-off under light load), or no way to queue. */
	int rc = db_wait_locked(d, target);
	pthread_mutex_unlock(&d->gmtx);
	fn(arg, rc);
}

void
dbs_stop(db *d)
{
	if (!d->syncer_running)
		return;
	pthread_mutex_lock(&d->gmtx);
	d->syncer_stop = 1;
	pthread_cond_broadcast(&d->gcv);
	pthread_mutex_unlock(&d->gmtx);
	pthread_join(d->syncer, NULL);
}

uint64_t
db_forced(db *d)
{
	pthread_mutex_lock(&d->gmtx);
	uint64_t n = d->nsyncs;
	pthread_mutex_unlock(&d->gmtx);
	return n;
}

const struct histo *
db_sync_histo(const db *d)
{
	return &d->sync_time;
}
