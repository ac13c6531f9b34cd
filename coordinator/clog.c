/*
 * clog.c - the coordinator log's SQL (see clog.h).
 */
#include "clog.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heur.h"
#include "tlog.h"
#include "twopc/error.h"

/* WITHOUT ROWID: the row lives in its key's b-tree (one page fewer per
 * write); the columns are DESIGN's. */
const char clog_schema[] =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS txn(txid TEXT PRIMARY KEY, state TEXT, participants TEXT, "
    "  created_at INTEGER, decided_at INTEGER) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS txn_state ON txn(state, decided_at);"
    "CREATE TABLE IF NOT EXISTS acks(txid TEXT, participant TEXT, PRIMARY KEY(txid, participant)) "
    "  WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS runs(txid TEXT PRIMARY KEY, epoch INTEGER) WITHOUT ROWID;"
    HEUR_SCHEMA;

enum {
	S_EPOCH_GET = 10, S_EPOCH_SET, S_GET, S_PUT, S_SET, S_ACK, S_ACKED, S_EACH,
	S_EXPIRE_ACKS, S_EXPIRE, S_ACKS_DROP, S_RUN_PUT, S_RUN_GET, S_RUN_DROP,
};

int
clog_meta_get(db *d, const char *key, uint64_t *out)
{
	sqlite3_stmt *st = db_stmt(d, S_EPOCH_GET, "SELECT value FROM meta WHERE key = ?1");
	if (st == NULL)
		return TWOPC_EIO;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	/* The value is text (DESIGN 5): read it as such, so that a value
	 * above INT64_MAX written by an older version, or an operator's
	 * typo, is refused rather than wrapped. */
	const char *v = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
	uint64_t val = 0;
	int ok = 1;
	if (v != NULL) {
		char *end;
		errno = 0;
		unsigned long long u = strtoull(v, &end, 10);
		ok = errno == 0 && end != v && *end == '\0' && v[0] != '-';
		val = (uint64_t)u;
	}
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return TWOPC_ENOENT;
	if (rc != SQLITE_ROW || !ok) {
		if (rc == SQLITE_ROW)
			tlog_error("meta %s: '%s' is not a number", key, v ? v : "");
		return TWOPC_EIO;
	}
	*out = val;
	return 0;
}

int
clog_meta_put(db *d, const char *key, uint64_t value)
{
	char buf[24];
	sqlite3_stmt *st = db_stmt(d, S_EPOCH_SET,
	    "INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)");
	if (st == NULL)
		return TWOPC_EIO;
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)value);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, buf, -1, SQLITE_TRANSIENT);
	return db_step_done(d, st);
}

int
clog_epoch_next(db *d, uint64_t floor, uint64_t *out)
{
	uint64_t e = 0;
	int rv = db_begin(d);
	if (rv != 0)
		return rv;
	rv = clog_meta_get(d, "epoch", &e);
	if (rv != 0 && rv != TWOPC_ENOENT)
		goto fail;
	if (e == UINT64_MAX || floor == UINT64_MAX) {
		tlog_error("the epoch cannot rise above %llu", (unsigned long long)e);
		goto fail;
	}
	e = (e + 1 > floor ? e + 1 : floor);
	if (clog_meta_put(d, "epoch", e) != 0)
		goto fail;
	if (db_commit(d) != 0)
		return TWOPC_EIO;
	*out = e;
	return 0;
fail:
	db_rollback(d);
	return TWOPC_EIO;
}

/* *OUT is written only for a row that reads whole. */
static int
clog_get_row(sqlite3_stmt *st, void *out)
{
	int ok;
	clog_txn t;
	memset(&t, 0, sizeof(t));
	t.state = tx_state_parse((const char *)sqlite3_column_text(st, 0), &ok);
	if (!ok)
		return TWOPC_EIO;
	db_col_text(st, 1, t.participants, sizeof(t.participants), "");
	t.created_at = sqlite3_column_int64(st, 2);
	t.decided_at = sqlite3_column_int64(st, 3);
	*(clog_txn *)out = t;
	return 0;
}

int
clog_get(db *d, const char *txid, clog_txn *out)
{
	return db_get_by_key(d, S_GET,
	    "SELECT state, participants, created_at, decided_at FROM txn WHERE txid = ?1", txid,
	    clog_get_row, out);
}

int
clog_put(db *d, const char *txid, tx_state s, const char *participants, int64_t created_at,
    int64_t decided_at)
{
	sqlite3_stmt *st = db_stmt(d, S_PUT,
	    "INSERT OR REPLACE INTO txn(txid, state, participants, created_at, decided_at) "
	    "VALUES (?1, ?2, ?3, ?4, ?5)");
	if (st == NULL)
		return TWOPC_EIO;
	sqlite3_bind_text(st, 1, txid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, tx_state_name(s), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, participants, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, created_at);
	sqlite3_bind_int64(st, 5, decided_at);
	return db_step_done(d, st);
}

int
clog_set_state(db *d, const char *txid, tx_state s, int64_t decided_at)
{
	sqlite3_stmt *st = db_stmt(d, S_SET,
	    "UPDATE txn SET state = ?2, decided_at = CASE WHEN ?3 = 0 THEN decided_at ELSE ?3 END "
	    "WHERE txid = ?1");
	if (st == NULL)
		return TWOPC_EIO;
	sqlite3_bind_text(st, 1, txid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, tx_state_name(s), -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, decided_at);
	return db_step_done(d, st);
}

int
clog_ack(db *d, const char *txid, const char *participant)
{
	return db_run_by_key(d, S_ACK, "INSERT OR IGNORE INTO acks(txid, participant) VALUES (?1, ?2)",
	    txid, participant);
}

int
clog_acked(db *d, const char *txid, const char *participant)
{
	sqlite3_stmt *st = db_stmt(d, S_ACKED,
	    "SELECT 1 FROM acks WHERE txid = ?1 AND participant = ?2");
	if (st == NULL)
		return TWOPC_EIO;
	sqlite3_bind_text(st, 1, txid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, participant, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : TWOPC_EIO;
}

/* clog_each's FN and ARG, called back by db_each. */
typedef struct { clog_each_fn fn; void *arg; } clog_each_cb;

static void
clog_each_one(void *cb, const char *txid, void *t)
{
	((clog_each_cb *)cb)->fn(((clog_each_cb *)cb)->arg, txid, t);
}

int
clog_each(db *d, tx_state state, size_t limit, clog_each_fn fn, void *arg)
{
	/* The txid last: db_each's key; the rest is clog_get's row. */
	sqlite3_stmt *st = db_stmt(d, S_EACH,
	    "SELECT state, participants, created_at, decided_at, txid FROM txn "
	    "WHERE state = ?1 ORDER BY created_at LIMIT ?2");
	clog_txn t;
	if (st == NULL)
		return TWOPC_EIO;
	sqlite3_bind_text(st, 1, tx_state_name(state), -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)limit);
	return db_each(st, clog_get_row, &t, clog_each_one,
	    &(clog_each_cb){ fn, arg });
}

int
clog_acks_drop(db *d, const char *txid)
{
	return db_run_by_key(d, S_ACKS_DROP, "DELETE FROM acks WHERE txid = ?1", txid, NULL);
}

int
clog_expire(db *d, int64_t before_ms)
{
	sqlite3_stmt *st = db_stmt(d, S_EXPIRE_ACKS,
	    "DELETE FROM acks WHERE txid IN (SELECT txid FROM txn WHERE state IN ('END', 'ABORT') "
	    "AND decided_at < ?1)");
	if (st == NULL)
		return TWOPC_EIO;
	sqlite3_bind_int64(st, 1, before_ms);
	if (db_step_done(d, st) != 0)
		return TWOPC_EIO;
	st = db_stmt(d, S_EXPIRE,
	    "DELETE FROM txn WHERE state IN ('END', 'ABORT') AND decided_at < ?1");
	if (st == NULL)
		return TWOPC_EIO;
	sqlite3_bind_int64(st, 1, before_ms);
	if (db_step_done(d, st) != 0)
		return TWOPC_EIO;
	return sqlite3_changes(db_sqlite(d));
}

int
clog_run_put(db *d, const char *txid, uint64_t epoch)
{
	sqlite3_stmt *st = db_stmt(d, S_RUN_PUT,
	    "INSERT OR REPLACE INTO runs(txid, epoch) VALUES (?1, ?2)");
	if (st == NULL)
		return TWOPC_EIO;
	/* Stored as the signed 64-bit integer SQLite has; read back the same
	 * way, so every epoch round-trips (epochs above 2^63-1 are refused at
	 * the participants anyway). */
	sqlite3_bind_text(st, 1, txid, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)epoch);
	return db_step_done(d, st);
}

int
clog_run_get(db *d, const char *txid, uint64_t *epoch)
{
	return db_get_by_key(d, S_RUN_GET, "SELECT epoch FROM runs WHERE txid = ?1", txid,
	    db_row_u64, epoch);
}

int
clog_run_drop(db *d, const char *txid)
{
	return db_run_by_key(d, S_RUN_DROP, "DELETE FROM runs WHERE txid = ?1", txid, NULL);
}
