/*
 * plog.c - the participant log's SQL (see plog.h).
 */
#include "plog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heur.h"
#include "twopc/error.h"

/* WITHOUT ROWID where the primary key is the lookup: the row lives in
 * the key's b-tree, so a READY or COMMIT writes one page fewer per table
 * into the WAL (fewer bytes per fsync). The columns are DESIGN's. */
const char plog_schema[] =
    "CREATE TABLE IF NOT EXISTS txn(txid TEXT PRIMARY KEY, state TEXT, "
    "  coordinator_epoch INTEGER, peers TEXT, updated_at INTEGER) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS workspace(txid TEXT, seq INTEGER, op TEXT, key TEXT, value TEXT);"
    "CREATE INDEX IF NOT EXISTS workspace_txid ON workspace(txid, seq);"
    "CREATE TABLE IF NOT EXISTS locks(key TEXT PRIMARY KEY, txid TEXT) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS locks_txid ON locks(txid);"
    "CREATE TABLE IF NOT EXISTS kv(key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS txn_state ON txn(state, updated_at);"
    "CREATE TABLE IF NOT EXISTS readonly(txid TEXT PRIMARY KEY, coordinator_epoch INTEGER, "
    "  updated_at INTEGER) WITHOUT ROWID;"
    HEUR_SCHEMA;

/* Statement slots; 0-2 are db.c's. */
enum {
	S_GET = 10, S_PUT, S_DEL_TXN, S_DEL_WS, S_DEL_LOCKS, S_LOCK_GET, S_LOCK_PUT,
	S_STAGE, S_WS_LOAD, S_EPOCH_GET, S_EPOCH_SET, S_EACH_ALL, S_EACH_STATE, S_EXPIRE, S_RO_PUT, S_RO_GET, S_RO_EXPIRE,
	S_RO_DROP, S_LOCKS_EACH,
};

/* *OUT is written only for a row that reads whole. */
static int
plog_get_row(sqlite3_stmt *st, void *out)
{
	plog_txn t;
	int ok;
	memset(&t, 0, sizeof(t));
	t.state = tx_state_parse((const char *)sqlite3_column_text(st, 0), &ok);
	if (!ok)
		return TWOPC_EIO; /* a state we never write: the file is not ours */
	t.epoch = (uint64_t)sqlite3_column_int64(st, 1);
	db_col_text(st, 2, t.peers, sizeof(t.peers), "");
	t.updated_at = sqlite3_column_int64(st, 3);
	*(plog_txn *)out = t;
	return 0;
}

int
plog_get(db *d, const char *txid, plog_txn *out)
{
	return db_get_by_key(d, S_GET,
	    "SELECT state, coordinator_epoch, peers, updated_at FROM txn WHERE txid = ?1", txid,
	    plog_get_row, out);
}

int
plog_put(db *d, const char *txid, tx_state s, uint64_t epoch, const char *peers)
{
	sqlite3_stmt *st = db_stmt(d, S_PUT,
	    "INSERT OR REPLACE INTO txn(txid, state, coordinator_epoch, peers, updated_at) "
	    "VALUES (?1, ?2, ?3, ?4, ?5)");
	if (st == NULL)
		return TWOPC_EIO;
	sqlite3_bind_text(st, 1, txid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, tx_state_name(s), -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)epoch);
	sqlite3_bind_text(st, 4, peers ? peers : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, db_now_ms());
	return db_step_done(d, st);
}

int
plog_release(db *d, const char *txid)
{
	int rv = db_run_by_key(d, S_DEL_WS, "DELETE FROM workspace WHERE txid = ?1", txid, NULL);
	return rv ? rv : db_run_by_key(d, S_DEL_LOCKS, "DELETE FROM locks WHERE txid = ?1", txid,
	    NULL);
}

int
plog_forget(db *d, const char *txid)
{
	int rv = db_run_by_key(d, S_DEL_TXN, "DELETE FROM txn WHERE txid = ?1 AND state = 'COMMIT'",
	    txid, NULL);
	return rv ? rv : sqlite3_changes(db_sqlite(d)) > 0;
}

/* plog_lock_holder's buffer, filled by plog_holder_row. */
typedef struct { char *buf; size_t len; } plog_holder;

static int
plog_holder_row(sqlite3_stmt *st, void *out)
{
	db_col_text(st, 0, ((plog_holder *)out)->buf, ((plog_holder *)out)->len, "?");
	return 0;
}

int
plog_lock_holder(db *d, const char *key, char *holder, size_t len)
{
	return db_get_by_key(d, S_LOCK_GET, "SELECT txid FROM locks WHERE key = ?1", key,
	    plog_holder_row, &(plog_holder){ holder, len });
}

int
plog_lock(db *d, const char *txid, const char *key, char *holder, size_t len)
{
	char h[256]; /* a txid, or "?" */
	int rv = plog_lock_holder(d, key, h, sizeof(h));
	if (rv == 0) {
		if (strcmp(h, txid) == 0)
			return 0;
		snprintf(holder, len, "%s", h);
		return TWOPC_EBUSY;
	}
	if (rv != TWOPC_ENOENT)
		return rv;
	return db_run_by_key(d, S_LOCK_PUT, "INSERT INTO locks(key, txid) VALUES (?1, ?2)", key, txid);
}

int
plog_stage(db *d, const char *txid, int seq, const char *op, const char *key,
    const char *value)
{
	sqlite3_stmt *st = db_stmt(d, S_STAGE,
	    "INSERT INTO workspace(txid, seq, op, key, value) VALUES (?1, ?2, ?3, ?4, ?5)");
	if (st == NULL)
		return TWOPC_EIO;
	sqlite3_bind_text(st, 1, txid, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, seq);
	sqlite3_bind_text(st, 3, op, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, value ? value : "", -1, SQLITE_STATIC);
	return db_step_done(d, st);
}

void
plog_ws_free(plog_ws *ws)
{
	for (size_t i = 0; i < ws->n; i++) {
		free(ws->op[i]);
		free(ws->key[i]);
		free(ws->value[i]);
	}
	free(ws->op);
	free(ws->key);
	free(ws->value);
	memset(ws, 0, sizeof(*ws));
}

static char *
plog_col(sqlite3_stmt *st, int i)
{
	const char *s = (const char *)sqlite3_column_text(st, i);
	return strdup(s ? s : "");
}

int
plog_ws_load(db *d, const char *txid, plog_ws *ws)
{
	plog_ws w = { 0 };
	size_t cap = 0;
	int rc, rv = 0;
	sqlite3_stmt *st = db_stmt(d, S_WS_LOAD,
	    "SELECT op, key, value FROM workspace WHERE txid = ?1 ORDER BY seq");
	if (st == NULL)
		return TWOPC_EIO;
	sqlite3_bind_text(st, 1, txid, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (w.n == cap) {
			cap = cap ? cap * 2 : 8;
			char **o = realloc(w.op, cap * sizeof(char *));
			if (o) w.op = o;
			char **k = realloc(w.key, cap * sizeof(char *));
			if (k) w.key = k;
			char **v = realloc(w.value, cap * sizeof(char *));
			if (v) w.value = v;
			if (!o || !k || !v) {
				rv = TWOPC_ENOMEM;
				break;
			}
		}
		w.op[w.n] = plog_col(st, 0);
		w.key[w.n] = plog_col(st, 1);
		w.value[w.n] = plog_col(st, 2);
		w.n++;
		if (!w.op[w.n - 1] || !w.key[w.n - 1] || !w.value[w.n - 1]) {
			rv = TWOPC_ENOMEM;
			break;
		}
	}
	if (rv == 0 && rc != SQLITE_DONE)
		rv = TWOPC_EIO;
	sqlite3_reset(st);
	if (rv != 0) {
		plog_ws_free(&w);
		return rv;
	}
	*ws = w;
	return 0;
}

int
plog_epoch_get(db *d, uint64_t *out)
{
	sqlite3_stmt *st = db_stmt(d, S_EPOCH_GET, "SELECT value FROM meta WHERE key = 'epoch'");
	if (st == NULL)
		return TWOPC_EIO;
	int rc = sqlite3_step(st);
	uint64_t e = 0;
	if (rc == SQLITE_ROW)
		e = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return TWOPC_EIO;
	*out = e;
	return 0;
}

int
plog_epoch_set(db *d, uint64_t epoch)
{
	sqlite3_stmt *st = db_stmt(d, S_EPOCH_SET,
	    "INSERT OR REPLACE INTO meta(key, value) VALUES ('epoch', ?1)");
	if (st == NULL)
		return TWOPC_EIO;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)epoch);
	return db_step_done(d, st);
}

/* plog_each's FN and ARG, called back by db_each. */
typedef struct { plog_each_fn fn; void *arg; } plog_each_cb;

static void
plog_each_one(void *cb, const char *txid, void *t)
{
	((plog_each_cb *)cb)->fn(((plog_each_cb *)cb)->arg, txid, t);
}

int
plog_each(db *d, tx_state state, size_t limit, plog_each_fn fn, void *arg)
{
	/* The txid last: db_each's key; the rest is plog_get's row. */
	sqlite3_stmt *st = state == TX_NONE ?
	    db_stmt(d, S_EACH_ALL, "SELECT state, coordinator_epoch, peers, updated_at, txid "
		"FROM txn ORDER BY updated_at LIMIT ?1") :
	    db_stmt(d, S_EACH_STATE, "SELECT state, coordinator_epoch, peers, updated_at, txid "
		"FROM txn WHERE state = ?2 ORDER BY updated_at LIMIT ?1");
	plog_txn t;
	if (st == NULL)
		return TWOPC_EIO;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)limit);
	if (state != TX_NONE)
		sqlite3_bind_text(st, 2, tx_state_name(state), -1, SQLITE_STATIC);
	return db_each(st, plog_get_row, &t, plog_each_one,
	    &(plog_each_cb){ fn, arg });
}

/* The key of a locks row (column 0); the txid is db_each's key. */
static int
plog_lock_row(sqlite3_stmt *st, void *out)
{
	const char *k = (const char *)sqlite3_column_text(st, 0);
	if (k == NULL)
		return -1;
	*(const char **)out = k;
	return 0;
}

typedef struct plog_locks_cb {
	plog_lock_fn fn;
	void *arg;
} plog_locks_cb;

static void
plog_locks_one(void *cb, const char *txid, void *key)
{
	((plog_locks_cb *)cb)->fn(((plog_locks_cb *)cb)->arg, *(const char **)key, txid);
}

int
plog_locks_each(db *d, size_t limit, plog_lock_fn fn, void *arg)
{
	sqlite3_stmt *st = db_stmt(d, S_LOCKS_EACH, "SELECT key, txid FROM locks ORDER BY txid, key "
	    "LIMIT ?1");
	const char *key = NULL;
	if (st == NULL)
		return TWOPC_EIO;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)limit);
	return db_each(st, plog_lock_row, &key, plog_locks_one, &(plog_locks_cb){ fn, arg });
}

int
plog_readonly_put(db *d, const char *txid, uint64_t epoch)
{
	sqlite3_stmt *st = db_stmt(d, S_RO_PUT,
	    "INSERT OR REPLACE INTO readonly(txid, coordinator_epoch, updated_at) VALUES (?1, ?2, ?3)");
	if (st == NULL)
		return TWOPC_EIO;
	sqlite3_bind_text(st, 1, txid, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)epoch);
	sqlite3_bind_int64(st, 3, db_now_ms());
	return db_step_done(d, st);
}

int
plog_readonly_get(db *d, const char *txid, uint64_t *epoch)
{
	return db_get_by_key(d, S_RO_GET, "SELECT coordinator_epoch FROM readonly WHERE txid = ?1",
	    txid, db_row_u64, epoch);
}

int
plog_readonly_any(db *d)
{
	sqlite3_stmt *st = NULL;
	int any = 1;
	if (sqlite3_prepare_v2(db_sqlite(d), "SELECT 1 FROM readonly LIMIT 1", -1, &st, NULL) ==
	    SQLITE_OK)
		any = sqlite3_step(st) != SQLITE_DONE;
	sqlite3_finalize(st);
	return any;
}

int
plog_readonly_drop(db *d, const char *txid)
{
	return db_run_by_key(d, S_RO_DROP, "DELETE FROM readonly WHERE txid = ?1", txid, NULL);
}

int
plog_expire(db *d, int64_t before_ms)
{
	sqlite3_stmt *ro = db_stmt(d, S_RO_EXPIRE, "DELETE FROM readonly WHERE updated_at < ?1");
	if (ro == NULL)
		return TWOPC_EIO;
	sqlite3_bind_int64(ro, 1, before_ms);
	if (db_step_done(d, ro) != 0)
		return TWOPC_EIO;
	sqlite3_stmt *st = db_stmt(d, S_EXPIRE,
	    "DELETE FROM txn WHERE state = 'ABORT' AND updated_at < ?1");
	if (st == NULL)
		return TWOPC_EIO;
	sqlite3_bind_int64(st, 1, before_ms);
	int rv = db_step_done(d, st);
	return rv ? rv : sqlite3_changes(db_sqlite(d));
}
