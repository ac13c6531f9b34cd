/*
 * db.c - the bottom of the db module (db.h): the connection (open, the
 * integrity check, the settings), the db lock, the statement cache, the
 * row helpers, SQLite's own BEGIN/COMMIT/ROLLBACK (db_tx_*) and the fsync
 * of the WAL. It calls nothing else of the module: dbsync.c (group
 * commit of the fsync) and dbgroup.c (the group transaction) build on
 * it, and dbtx.c holds the public calls that differ inside a group.
 *
 * The db lock knows one thing of the group: the thread whose group holds
 * it (db_set_group) does not take it again, so members lock as usual.
 */
#include "db.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "dbpriv.h"
#include "walbuf.h"
#include "loglock.h"
#include "tlimit.h"
#include "tlog.h"
#include "twopc/error.h"

int64_t
db_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
db_get_by_key(db *d, int slot, const char *sql, const char *key, db_row_fn read, void *user)
{
	sqlite3_stmt *st = db_stmt(d, slot, sql);
	if (st == NULL)
		return TWOPC_EIO;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st), rv;
	if (rc == SQLITE_ROW)
		rv = read(st, user);
	else
		rv = rc == SQLITE_DONE ? TWOPC_ENOENT : TWOPC_EIO;
	sqlite3_reset(st);
	return rv;
}

int
db_run_by_key(db *d, int slot, const char *sql, const char *key, const char *key2)
{
	sqlite3_stmt *st = db_stmt(d, slot, sql);
	if (st == NULL)
		return TWOPC_EIO;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (key2 != NULL)
		sqlite3_bind_text(st, 2, key2, -1, SQLITE_STATIC);
	return db_step_done(d, st);
}

int
db_row_u64(sqlite3_stmt *st, void *out)
{
	*(uint64_t *)out = (uint64_t)sqlite3_column_int64(st, 0);
	return 0;
}

void
db_col_text(sqlite3_stmt *st, int col, char *buf, size_t len, const char *none)
{
	const char *t = (const char *)sqlite3_column_text(st, col);
	snprintf(buf, len, "%s", t ? t : none);
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

/* SQLite's result code says the file is not a sound database. */
static int
db_is_corrupt(int rc)
{
	rc &= 0xff;
	return rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB;
}

static void
db_damaged(const db *d, const char *what)
{
	tlog_error("%s: the log is damaged (%s): refusing to serve from it. Keep the file (it "
	    "holds decisions other nodes may depend on), restore the log from a backup or see "
	    "DAMAGED LOG in the daemon's manual page", d->path, what);
}

/*
 * PRAGMA quick_check: every page and b-tree is read and checked (not the
 * index contents: integrity_check would, at several times the cost). A
 * damaged log stops the daemon before it serves a single request: a
 * participant that started and then died at its first transaction (or
 * worse, answered from a half-readable log) is what this prevents.
 * O(file size): about 10 ms per MB here.
 */
static int
db_check(db *d)
{
	sqlite3_stmt *st = NULL;
	char first[160] = "";
	int rc = sqlite3_prepare_v2(d->h, "PRAGMA quick_check", -1, &st, NULL);
	int bad = rc != SQLITE_OK;
	while (!bad && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *line = (const char *)sqlite3_column_text(st, 0);
		if (line != NULL && strcmp(line, "ok") != 0) {
			if (first[0] == '\0')
				snprintf(first, sizeof(first), "%s", line);
			bad = 1;
		}
	}
	if (!bad && rc != SQLITE_DONE)
		bad = 1;
	if (bad && first[0] == '\0')
		snprintf(first, sizeof(first), "%s", sqlite3_errmsg(d->h));
	/* quick_check's report spans lines: keep the log line one line. */
	for (char *q = first; *q != '\0'; q++)
		if (*q == '\n' || *q == '\r')
			*q = ' ';
	sqlite3_finalize(st);
	if (!bad)
		return 0;
	db_damaged(d, first);
	return TWOPC_ECORRUPT;
}

/* The connection's settings (journal, sync, vacuum), then the integrity
 * check; WAL mode is insisted on. 0, TWOPC_ECORRUPT or TWOPC_EIO (logged). */
static int
db_configure(db *d)
{
	char pragma[256];
	int rv = TWOPC_EIO;

	/* NORMAL either way: with durability full, db_durable() makes the
	 * syncs, one per group (see db.h). Checkpoints still sync the WAL
	 * before they copy it and the database after. */
	/* auto_vacuum=INCREMENTAL takes effect only in a new file (before the
	 * schema): db_vacuum() then gives back the pages that expiry freed.
	 * journal_size_limit cuts the WAL back to 4 MiB (SQLite's checkpoint
	 * threshold) when a checkpoint resets it after a big expiry. */
	snprintf(pragma, sizeof(pragma),
	    "PRAGMA auto_vacuum=INCREMENTAL; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
	    "PRAGMA foreign_keys=OFF; PRAGMA journal_size_limit=4194304;");
	if (sqlite3_exec(d->h, pragma, NULL, NULL, NULL) != SQLITE_OK) {
		int ec = sqlite3_extended_errcode(d->h);
		if (db_is_corrupt(ec)) {
			db_damaged(d, sqlite3_errmsg(d->h));
			rv = TWOPC_ECORRUPT;
		} else {
			tlog_error("%s: %s (in: %.80s)", d->path, sqlite3_errmsg(d->h), pragma);
		}
		return rv;
	}
	if ((rv = db_check(d)) != 0)
		return rv;
	rv = TWOPC_EIO;
	/* journal_mode answers with the mode it got; insist on WAL. */
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(d->h, "PRAGMA journal_mode", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW ||
	    strcmp((const char *)sqlite3_column_text(st, 0), "wal") != 0) {
		sqlite3_finalize(st);
		tlog_error("%s: cannot switch the log to WAL mode", d->path);
		return rv;
	}
	sqlite3_finalize(st);
	return 0;
}

void
db_process_init(void)
{
	/* SQLite's memory statistics take a process-wide mutex on every
	 * allocation, which each thread of a daemon then contends for; no
	 * daemon reads them (sqlite3_memory_used). Only possible before
	 * SQLite initializes: a later call fails harmlessly. */
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

int
db_open(const char *path, int full, const char *schema, db **out)
{
	db *d = calloc(1, sizeof(*d));
	int rv = TWOPC_EIO;

	if (d == NULL)
		return TWOPC_ENOMEM;
	d->lock = (loglock)LOGLOCK_INIT;
	pthread_mutex_init(&d->mtx, NULL);
	pthread_mutex_init(&d->gmtx, NULL);
	pthread_cond_init(&d->gcv, NULL);
	d->path = strdup(path);
	if (d->path == NULL) {
		rv = TWOPC_ENOMEM;
		goto fail;
	}
	db_mkdirs(path);
	/* One process per log: the lock comes before SQLite reads a byte, so
	 * a second daemon started on a live log never runs recovery on it. */
#ifndef TWOPC_BUG_NO_LOG_LOCK
	if ((rv = loglock_take(path, &d->lock, NULL)) != 0)
		goto fail;
#else
	/* TEST-ONLY BUG VARIANT: no lock; twopc-crashtest doublestart must
	 * catch the split a second daemon on a live log causes. */
#endif
	rv = TWOPC_EIO;
	/* walbuf.h: one write per commit to the WAL, not two per page. */
	if (sqlite3_open_v2(path, &d->h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	    SQLITE_OPEN_NOMUTEX, walbuf_vfs()) != SQLITE_OK) {
		tlog_error("%s: cannot open log: %s", path, d->h ? sqlite3_errmsg(d->h) : "out of memory");
		goto fail;
	}
	/* A reader (an operator's sqlite3, twopc-crashtest) may hold the file
	 * briefly; wait for it rather than fail a forced write. */
	sqlite3_busy_timeout(d->h, 5000);
	d->full = full;
	if ((rv = db_configure(d)) != 0)
		goto fail;
	rv = TWOPC_EIO;
	if (schema != NULL && db_exec(d, schema) != 0)
		goto fail;
	/* One sync now, before any concurrency: the schema becomes durable,
	 * and SQLite's first sync of a new WAL (which also syncs the
	 * directory and updates the file's flags) is not raced by a sync
	 * from db_durable() running outside the lock. */
	if (d->full && db_sync_now(d) != 0)
		goto fail;
	*out = d;
	return 0;
fail:
	db_free(d); /* no syncer yet */
	return rv;
}

void
db_free(db *d)
{
	if (d == NULL)
		return;
	for (int i = 0; i < DB_MAX_STMTS; i++)
		sqlite3_finalize(d->stmts[i]);
	for (int i = 0; i < DB_MAX_SQL_STMTS; i++) {
		sqlite3_finalize(d->sql_stmts[i].st);
		free(d->sql_stmts[i].sql);
	}
	sqlite3_close(d->h);
	loglock_release(&d->lock);
	pthread_mutex_destroy(&d->mtx);
	pthread_mutex_destroy(&d->gmtx);
	pthread_cond_destroy(&d->gcv);
	free(d->path);
	free(d);
}

/* The group holding the db lock on this thread (dbgroup.c), if any. */
static _Thread_local const db *db_group_own;

int
db_in_group(const db *d)
{
	return db_group_own == d;
}

void
db_set_group(const db *d)
{
	db_group_own = d;
}

void
db_lock(db *d)
{
	if (!db_in_group(d))
		pthread_mutex_lock(&d->mtx);
}

void
db_unlock(db *d)
{
	if (!db_in_group(d))
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

sqlite3_stmt *
db_stmt_sql(db *d, const char *sql)
{
	int i = 0;
	for (; i < DB_MAX_SQL_STMTS && d->sql_stmts[i].sql != NULL; i++)
		if (strcmp(d->sql_stmts[i].sql, sql) == 0) {
			sqlite3_stmt *st = d->sql_stmts[i].st;
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			return st;
		}
	if (i == DB_MAX_SQL_STMTS) {
		static tlimit full = TLIMIT_INIT("statements over the limit");
		tlimit_log(&full, TLOG_ERROR, "%s: more than %d statements to keep (in: %.80s)", d->path,
		    DB_MAX_SQL_STMTS, sql);
		return NULL;
	}
	sqlite3_stmt *st;
	char *copy = strdup(sql);
	if (copy == NULL)
		return NULL;
	if (sqlite3_prepare_v3(d->h, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
		/* An embedder's SQL, maybe once per transaction: rate-limited. */
		static tlimit warned = TLIMIT_INIT("statements that did not prepare");
		tlimit_log(&warned, TLOG_ERROR, "%s: prepare failed: %s (in: %.80s)", d->path,
		    sqlite3_errmsg(d->h), sql);
		free(copy);
		return NULL;
	}
	d->sql_stmts[i].sql = copy;
	d->sql_stmts[i].st = st;
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
db_tx_begin(db *d, int lazy)
{
	sqlite3_stmt *st = db_stmt(d, 0, "BEGIN IMMEDIATE");
	int rv = st ? db_step_done(d, st) : TWOPC_EIO;
	d->lazy = lazy;
	return rv;
}

void
db_broken(db *d)
{
	pthread_mutex_lock(&d->gmtx);
	d->sync_failed = 1;
	pthread_cond_broadcast(&d->gcv);
	pthread_mutex_unlock(&d->gmtx);
}

int
db_tx_commit(db *d)
{
	sqlite3_stmt *st = db_stmt(d, 1, "COMMIT");
	int rv = st ? db_step_done(d, st) : TWOPC_EIO;
	if (rv != 0) {
		tlog_error("%s: COMMIT failed: the record is NOT durable", d->path);
		db_tx_rollback(d);
		db_broken(d); /* whatever was promised around it is in doubt */
		return TWOPC_EIO;
	}
	d->commits++;
	uint64_t seq = atomic_fetch_add(&d->seq, 1) + 1;
	if (!d->lazy)
		atomic_store(&d->need, seq);
	d->lazy = 0;
	return 0;
}

void
db_tx_rollback(db *d)
{
	if (!sqlite3_get_autocommit(d->h)) {
		sqlite3_stmt *st = db_stmt(d, 2, "ROLLBACK");
		if (st != NULL)
			(void)db_step_done(d, st);
	}
	d->lazy = 0;
}

uint64_t
db_commits(db *d)
{
	return d->commits;
}

/*
 * fsync the WAL through SQLite's own file object (so the VFS in use, the
 * harness's faultvfs included, sees the sync). *COVER gets the commit count
 * before the sync: every one of those commits is in the file, so the sync
 * makes them durable. The db lock is held only to read the count and the
 * file; the fsync itself runs without it, so writers keep filling the next
 * group meanwhile.
 */
int
db_sync_wal(db *d, uint64_t *cover)
{
	sqlite3_file *f = NULL;
	db_lock(d);
	uint64_t upto = atomic_load(&d->seq);
	int rc = sqlite3_file_control(d->h, "main", SQLITE_FCNTL_JOURNAL_POINTER, &f);
	db_unlock(d);
	if (rc != SQLITE_OK || f == NULL || f->pMethods == NULL) {
		tlog_error("%s: cannot reach the WAL file to sync it", d->path);
		return TWOPC_EIO;
	}
	if ((rc = f->pMethods->xSync(f, SQLITE_SYNC_NORMAL)) != SQLITE_OK) {
		tlog_error("%s: fsync of the WAL failed (SQLite error %d): records are NOT durable",
		    d->path, rc);
		return TWOPC_EIO;
	}
	if (cover != NULL)
		*cover = upto;
	return 0;
}

int
db_sync_now(db *d)
{
	return db_sync_wal(d, NULL);
}

int
db_each(sqlite3_stmt *st, db_row_fn read, void *row, db_each_fn fn, void *user)
{
	int rc, keycol = sqlite3_column_count(st) - 1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *key = (const char *)sqlite3_column_text(st, keycol);
		if (key != NULL && read(st, row) == 0)
			fn(user, key, row);
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : TWOPC_EIO;
}
