/*
 * db.c - see db.h.
 */
#include "db.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "faultvfs.h"
#include "tlog.h"
#include "twopc/error.h"

struct db {
	sqlite3 *h;
	char *path;
	pthread_mutex_t mtx;
	sqlite3_stmt *stmts[DB_MAX_STMTS];
	uint64_t commits;
	uint64_t forced;   /* commits made with synchronous=FULL: one WAL fsync each */
	int full;      /* durability full: synchronous=FULL between lazy txns */
	int lazy;      /* the open transaction was begun with db_begin_lazy */
};

int64_t
db_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
db_exec(db *d, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(d->h, sql, NULL, NULL, &msg) != SQLITE_OK) {
		tlog_error("%s: %s (in: %.80s)", d->path, msg ? msg : sqlite3_errmsg(d->h), sql);
		sqlite3_free(msg);
		return TWOPC_EIO;
	}
	return 0;
}

/* Create the directories above PATH (like mkdir -p), so a cluster file
 * naming data/alpha.db works on a fresh machine. Errors surface at open. */
static void
db_mkdirs(const char *path)
{
	char buf[4096];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		(void)mkdir(buf, 0755);
		*p = '/';
	}
}

int
db_open(const char *path, int full, const char *schema, db **out)
{
	db *d = calloc(1, sizeof(*d));
	char pragma[128];
	int rv = TWOPC_EIO;

	faultvfs_install_from_env();
	if (d == NULL)
		return TWOPC_ENOMEM;
	pthread_mutex_init(&d->mtx, NULL);
	d->path = strdup(path);
	if (d->path == NULL) {
		rv = TWOPC_ENOMEM;
		goto fail;
	}
	db_mkdirs(path);
	if (sqlite3_open_v2(path, &d->h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		tlog_error("%s: cannot open log: %s", path, d->h ? sqlite3_errmsg(d->h) : "out of memory");
		goto fail;
	}
	/* A reader (an operator's sqlite3, twopc-crashtest) may hold the file
	 * briefly; wait for it rather than fail a forced write. */
	sqlite3_busy_timeout(d->h, 5000);
	d->full = full;
	snprintf(pragma, sizeof(pragma),
	    "PRAGMA journal_mode=WAL; PRAGMA synchronous=%s; PRAGMA foreign_keys=OFF;",
	    full ? "FULL" : "NORMAL");
	if (db_exec(d, pragma) != 0)
		goto fail;
	/* journal_mode answers with the mode it got; insist on WAL. */
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(d->h, "PRAGMA journal_mode", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW ||
	    strcmp((const char *)sqlite3_column_text(st, 0), "wal") != 0) {
		sqlite3_finalize(st);
		tlog_error("%s: cannot switch the log to WAL mode", path);
		goto fail;
	}
	sqlite3_finalize(st);
	if (schema != NULL && db_exec(d, schema) != 0)
		goto fail;
	*out = d;
	return 0;
fail:
	db_close(d);
	return rv;
}

void
db_close(db *d)
{
	if (d == NULL)
		return;
	for (int i = 0; i < DB_MAX_STMTS; i++)
		sqlite3_finalize(d->stmts[i]);
	sqlite3_close(d->h);
	pthread_mutex_destroy(&d->mtx);
	free(d->path);
	free(d);
}

void
db_lock(db *d)
{
	pthread_mutex_lock(&d->mtx);
}

void
db_unlock(db *d)
{
	pthread_mutex_unlock(&d->mtx);
}

sqlite3 *
db_sqlite(db *d)
{
	return d->h;
}

sqlite3_stmt *
db_stmt(db *d, int slot, const char *sql)
{
	if (slot < 0 || slot >= DB_MAX_STMTS)
		return NULL;
	sqlite3_stmt *st = d->stmts[slot];
	if (st == NULL) {
		if (sqlite3_prepare_v3(d->h, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
			tlog_error("%s: prepare failed: %s (in: %.80s)", d->path, sqlite3_errmsg(d->h), sql);
			return NULL;
		}
		d->stmts[slot] = st;
		return st;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}

int
db_step_done(db *d, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		tlog_error("%s: %s", d->path, sqlite3_errmsg(d->h));
		sqlite3_reset(st);
		return TWOPC_EIO;
	}
	sqlite3_reset(st);
	return 0;
}

int
db_begin(db *d)
{
	sqlite3_stmt *st = db_stmt(d, 0, "BEGIN IMMEDIATE");
	return st ? db_step_done(d, st) : TWOPC_EIO;
}

/* synchronous can only change outside a transaction. */
static int
db_sync_mode(db *d, int full)
{
	sqlite3_stmt *st = db_stmt(d, full ? 3 : 4,
	    full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
	return st ? db_step_done(d, st) : TWOPC_EIO;
}

int
db_begin_lazy(db *d)
{
	if (d->full && db_sync_mode(d, 0) != 0)
		return TWOPC_EIO;
	d->lazy = d->full;
	int rv = db_begin(d);
	if (rv != 0 && d->lazy) {
		d->lazy = 0;
		(void)db_sync_mode(d, 1);
	}
	return rv;
}

/* Leave lazy mode after the transaction ended, whichever way. A failure
 * to restore FULL would silently weaken every later force: fatal. */
static int
db_end_lazy(db *d)
{
	if (!d->lazy)
		return 0;
	d->lazy = 0;
	if (db_sync_mode(d, 1) != 0) {
		tlog_error("%s: cannot restore synchronous=FULL", d->path);
		return TWOPC_EIO;
	}
	return 0;
}

int
db_commit(db *d)
{
	sqlite3_stmt *st = db_stmt(d, 1, "COMMIT");
	int rv = st ? db_step_done(d, st) : TWOPC_EIO;
	if (rv != 0) {
		tlog_error("%s: COMMIT failed: the record is NOT durable", d->path);
		db_rollback(d);
		return TWOPC_EIO;
	}
	int forced = d->full && !d->lazy;
	if (db_end_lazy(d) != 0)
		return TWOPC_EIO;
	d->commits++;
	d->forced += forced;
	return 0;
}

void
db_rollback(db *d)
{
	if (!sqlite3_get_autocommit(d->h)) {
		sqlite3_stmt *st = db_stmt(d, 2, "ROLLBACK");
		if (st != NULL)
			(void)db_step_done(d, st);
	}
	(void)db_end_lazy(d);
}

uint64_t
db_commits(db *d)
{
	return d->commits;
}

uint64_t
db_forced(db *d)
{
	return d->forced;
}
