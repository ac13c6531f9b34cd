/*
 * test_logs.c - CUnit suites "logs" and "statemachine".
 *
 * test_logs_register() adds both suites; tests/main.c calls it (runner name
 * "logs") after CU_initialize_registry().
 *
 *   logs          participant/plog.c, coordinator/clog.c and common/db.c
 *                 called directly on real SQLite files.
 *   statemachine  the participant library in-process (real SQLite log, real
 *                 NNG ipc sockets), driven message by message from a REQ
 *                 socket; then a coordinator in-process (coord_start) with
 *                 two in-process participants, driven through the client
 *                 API, including restart recovery from a prepared log.
 *
 * Every case is independent: it makes its own mkdtemp() directory under
 * /tmp (cluster file, ipc sockets and logs all live there) and removes it.
 * Durable state is checked by reading the SQLite files with a separate
 * sqlite3 connection, as an operator would. Asynchronous effects (phase
 * two, FORGET, the background thread) are awaited by polling the log for
 * the expected condition, at most T_POLL_MS in 10 ms steps; never by a bare
 * sleep. The library logs nothing: no tlog sink is installed.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <sqlite3.h>

#include "clog.h"
#include "config.h"
#include "coord.h"
#include "db.h"
#include "kv.h"
#include "part.h"
#include "plog.h"
#include "ptxn.h"
#include "rpc.h"
#include "twopc/client.h"
#include "twopc/participant.h"
#include "txstate.h"
#include "walbuf.h"
#include "wire.h"
#include "testutil.h"

void test_logs_register(void);

#define T_RPC_MS 5000    /* one request/reply */
#define T_POLL_MS 5000   /* waiting for an asynchronous effect */
#define T_NAP_MS 10

/* ------------------------------------------------------------------ */
/* assertions that say what they saw                                   */

/* A reply of type WANT (names both types, and the reply's text). */
#define T_TYPE(m, want) do { \
	int g_ = (m).type, w_ = (want); \
	t_check(g_ == w_, __LINE__, "reply: got %s (%s), want %s", \
	    g_ ? wire_type_name(g_) : "no reply", (m).text ? (m).text : "", wire_type_name(w_)); \
} while (0)

/* ------------------------------------------------------------------ */
/* scratch directories                                                 */

static int
t_mkdtemp(char *dir, size_t len)
{
	snprintf(dir, len, "/tmp/twopc-logs-XXXXXX");
	if (mkdtemp(dir) == NULL) {
		CU_FAIL("mkdtemp failed");
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* reading SQLite directly                                             */

/* Run SQL (?1 bound to ARG unless NULL) on H; copy the first column of
 * the first row into BUF. 1 = a row, 0 = no row, -1 = error. */
static int
t_h_text(sqlite3 *h, const char *sql, const char *arg, char *buf, size_t len)
{
	sqlite3_stmt *st = NULL;
	int r = -1;
	buf[0] = '\0';
	if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (arg != NULL)
		sqlite3_bind_text(st, 1, arg, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *s = (const char *)sqlite3_column_text(st, 0);
		snprintf(buf, len, "%s", s ? s : "");
		r = 1;
	} else if (rc == SQLITE_DONE) {
		r = 0;
	}
	sqlite3_finalize(st);
	return r;
}

/* The first column of the first row as an integer; -1 if no row or error. */
static long long
t_h_int(sqlite3 *h, const char *sql, const char *arg)
{
	char buf[64];
	return t_h_text(h, sql, arg, buf, sizeof(buf)) == 1 ? strtoll(buf, NULL, 10) : -1;
}

static int
t_file_text(const char *path, const char *sql, const char *arg, char *buf, size_t len)
{
	sqlite3 *h = NULL;
	int r = -1;
	buf[0] = '\0';
	if (sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK) {
		sqlite3_busy_timeout(h, 2000);
		r = t_h_text(h, sql, arg, buf, len);
	}
	sqlite3_close(h);
	return r;
}

static long long
t_file_int(const char *path, const char *sql, const char *arg)
{
	char buf[64];
	return t_file_text(path, sql, arg, buf, sizeof(buf)) == 1 ? strtoll(buf, NULL, 10) : -1;
}

static int
t_file_exec(const char *path, const char *sql)
{
	sqlite3 *h = NULL;
	int rc = sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_busy_timeout(h, 2000);
		rc = sqlite3_exec(h, sql, NULL, NULL, NULL);
	}
	sqlite3_close(h);
	return rc == SQLITE_OK ? 0 : -1;
}

#define SQL_STATE "SELECT state FROM txn WHERE txid = ?1"
#define SQL_EPOCH "SELECT coordinator_epoch FROM txn WHERE txid = ?1"
#define SQL_NWS "SELECT count(*) FROM workspace WHERE txid = ?1"
#define SQL_NLOCKS "SELECT count(*) FROM locks WHERE txid = ?1"
#define SQL_HOLDER "SELECT txid FROM locks WHERE key = ?1"
#define SQL_KV "SELECT value FROM kv WHERE key = ?1"
#define SQL_NACKS "SELECT count(*) FROM acks WHERE txid = ?1"
#define SQL_META_EPOCH "SELECT value FROM meta WHERE key = 'epoch'"

/* The txn.state of TXID in the log at PATH; "" when there is no row. */
static const char *
t_state(const char *path, const char *txid, char *buf, size_t len)
{
	if (t_file_text(path, SQL_STATE, txid, buf, len) != 1)
		buf[0] = '\0';
	return buf;
}

/* The committed kv value of KEY, or "(absent)". */
static const char *
t_kv(const char *path, const char *key, char *buf, size_t len)
{
	if (t_file_text(path, SQL_KV, key, buf, len) != 1)
		snprintf(buf, len, "(absent)");
	return buf;
}

/* Poll until the first column of SQL(ARG) on PATH is WANT ("" = no row).
 * Returns 1 when reached within T_POLL_MS. */
static int
t_poll(const char *path, const char *sql, const char *arg, const char *want)
{
	char buf[256];
	for (int waited = 0; waited <= T_POLL_MS; waited += T_NAP_MS) {
		int r = t_file_text(path, sql, arg, buf, sizeof(buf));
		if ((r == 1 && strcmp(buf, want) == 0) || (r == 0 && want[0] == '\0'))
			return 1;
		tu_nap_ms(T_NAP_MS);
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* suite "logs": plog                                                  */

/* "name TYPE,..." and the primary-key columns of TABLE, from PRAGMA
 * table_info. */
static void
t_columns(sqlite3 *h, const char *table, char *cols, size_t clen, char *pk, size_t plen)
{
	char sql[128];
	sqlite3_stmt *st = NULL;
	size_t at = 0, pat = 0;
	char pks[8][64] = { { 0 } };

	cols[0] = pk[0] = '\0';
	snprintf(sql, sizeof(sql), "PRAGMA table_info(%s)", table);
	if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK)
		return;
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 1);
		const char *type = (const char *)sqlite3_column_text(st, 2);
		int k = sqlite3_column_int(st, 5);
		if (at < clen)
			at += (size_t)snprintf(cols + at, clen - at, "%s%s %s", at ? "," : "",
			    name ? name : "?", type ? type : "?");
		if (k >= 1 && k <= 8)
			snprintf(pks[k - 1], sizeof(pks[0]), "%s", name ? name : "?");
	}
	sqlite3_finalize(st);
	for (int k = 0; k < 8 && pks[k][0]; k++)
		if (pat < plen)
			pat += (size_t)snprintf(pk + pat, plen - pat, "%s%s", k ? "," : "", pks[k]);
}

typedef struct t_table {
	const char *name, *cols, *pk;
} t_table;

static void
t_check_tables(sqlite3 *h, const t_table *tables, size_t n)
{
	char cols[512], pk[128];
	for (size_t i = 0; i < n; i++) {
		t_columns(h, tables[i].name, cols, sizeof(cols), pk, sizeof(pk));
		t_check(strcmp(cols, tables[i].cols) == 0, __LINE__, "table %s: columns \"%s\", want \"%s\"",
		    tables[i].name, cols, tables[i].cols);
		t_check(strcmp(pk, tables[i].pk) == 0, __LINE__, "table %s: primary key \"%s\", want \"%s\"",
		    tables[i].name, pk, tables[i].pk);
	}
}

/* A scratch dir with one log opened on SCHEMA. */
typedef struct t_logdb {
	char dir[64];
	char path[128];
	db *d;
} t_logdb;

static int
t_logdb_open(t_logdb *l, const char *schema, int full)
{
	memset(l, 0, sizeof(*l));
	if (t_mkdtemp(l->dir, sizeof(l->dir)) != 0)
		return -1;
	snprintf(l->path, sizeof(l->path), "%s/log.db", l->dir);
	int rv = db_open(l->path, full, schema, &l->d);
	T_EQ(rv, 0);
	return rv == 0 ? 0 : -1;
}

static void
t_logdb_close(t_logdb *l)
{
	db_close(l->d);
	l->d = NULL;
	tu_rmtree(l->dir);
}

/* A case on one log L opened on SCHEMA. */
#define T_LOGDB_CASE(name, schema) \
	T_CASE(name, t_logdb, l, t_logdb_open(l, (schema), 1), t_logdb_close)

T_LOGDB_CASE(plog_schema, plog_schema)
{
	/* DESIGN section 5, exactly; meta is the participant's epoch store. */
	static const t_table tables[] = {
		{ "txn", "txid TEXT,state TEXT,coordinator_epoch INTEGER,peers TEXT,updated_at INTEGER",
		    "txid" },
		{ "workspace", "txid TEXT,seq INTEGER,op TEXT,key TEXT,value TEXT", "" },
		{ "locks", "key TEXT,txid TEXT", "key" },
		{ "kv", "key TEXT,value TEXT", "key" },
		{ "meta", "key TEXT,value TEXT", "key" },
	};
	t_check_tables(db_sqlite(l->d), tables, sizeof(tables) / sizeof(tables[0]));
	/* The schema is idempotent: opening again runs it again. */
	db_close(l->d);
	l->d = NULL;
	T_EQ(db_open(l->path, 1, plog_schema, &l->d), 0);
	if (l->d != NULL)
		t_check_tables(db_sqlite(l->d), tables, sizeof(tables) / sizeof(tables[0]));
}

T_LOGDB_CASE(plog_put_get, plog_schema)
{
	plog_txn t;
	int64_t before = db_now_ms();
	T_EQ(plog_put(l->d, "t1", TX_READY, 7, "alpha,beta"), 0);
	int64_t after = db_now_ms();
	memset(&t, 0, sizeof(t));
	T_EQ(plog_get(l->d, "t1", &t), 0);
	T_EQ(t.state, TX_READY);
	T_EQ(t.epoch, 7);
	T_STREQ(t.peers, "alpha,beta");
	T_TRUE(t.updated_at >= before && t.updated_at <= after);
	/* The stored strings are the DESIGN words. */
	char buf[64];
	T_EQ(t_h_text(db_sqlite(l->d), SQL_STATE, "t1", buf, sizeof(buf)), 1);
	T_STREQ(buf, "READY");

	/* Replace. */
	T_EQ(plog_put(l->d, "t1", TX_COMMIT, 8, NULL), 0);
	T_EQ(plog_get(l->d, "t1", &t), 0);
	T_EQ(t.state, TX_COMMIT);
	T_EQ(t.epoch, 8);
	T_STREQ(t.peers, "");
	T_EQ(t_h_int(db_sqlite(l->d), "SELECT count(*) FROM txn", NULL), 1);

	/* Unknown: ENOENT, output untouched. */
	memset(&t, 0x5a, sizeof(t));
	T_EQ(plog_get(l->d, "nope", &t), TWOPC_ENOENT);
	T_EQ(t.epoch, 0x5a5a5a5a5a5a5a5aULL);

	/* A state we never write: not our file. */
	T_EQ(sqlite3_exec(db_sqlite(l->d), "INSERT INTO txn VALUES ('bad', 'BOGUS', 1, '', 0)",
	    NULL, NULL, NULL), SQLITE_OK);
	T_EQ(plog_get(l->d, "bad", &t), TWOPC_EIO);

	/* plog_forget removes a COMMIT row only; plog_release the workspace
	 * and locks (which the COMMIT's transaction does). */
	char holder[WIRE_TXID_MAX + 1];
	T_EQ(plog_put(l->d, "t1", TX_READY, 1, ""), 0);
	T_EQ(plog_stage(l->d, "t1", 0, "put", "k", "v"), 0);
	T_EQ(plog_lock(l->d, "t1", "k", holder, sizeof(holder)), 0);
	T_EQ(plog_forget(l->d, "t1"), 0);
	T_EQ(plog_get(l->d, "t1", &t), 0);
	T_EQ(plog_release(l->d, "t1"), 0);
	T_EQ(t_h_int(db_sqlite(l->d), SQL_NWS, "t1"), 0);
	T_EQ(t_h_int(db_sqlite(l->d), SQL_NLOCKS, "t1"), 0);
	T_EQ(plog_put(l->d, "t1", TX_COMMIT, 1, ""), 0);
	T_EQ(plog_forget(l->d, "t1"), 1);
	T_EQ(plog_get(l->d, "t1", &t), TWOPC_ENOENT);
	T_EQ(plog_forget(l->d, "t1"), 0);
}

T_LOGDB_CASE(plog_lock, plog_schema)
{
	char holder[WIRE_TXID_MAX + 1];
	snprintf(holder, sizeof(holder), "untouched");
	T_EQ(plog_lock(l->d, "t1", "k1", holder, sizeof(holder)), 0);
	T_STREQ(holder, "untouched");
	T_EQ(plog_lock(l->d, "t1", "k1", holder, sizeof(holder)), 0); /* again: still mine */
	T_STREQ(holder, "untouched");
	T_EQ(plog_lock(l->d, "t2", "k1", holder, sizeof(holder)), TWOPC_EBUSY);
	T_STREQ(holder, "t1");
	T_EQ(plog_lock(l->d, "t2", "k2", holder, sizeof(holder)), 0);
	char buf[64];
	T_EQ(t_h_text(db_sqlite(l->d), SQL_HOLDER, "k1", buf, sizeof(buf)), 1);
	T_STREQ(buf, "t1");
	T_EQ(t_h_int(db_sqlite(l->d), "SELECT count(*) FROM locks", NULL), 2);
}

T_LOGDB_CASE(plog_release, plog_schema)
{
	char holder[WIRE_TXID_MAX + 1];
	T_EQ(plog_put(l->d, "t1", TX_READY, 1, "alpha"), 0);
	T_EQ(plog_stage(l->d, "t1", 0, "put", "a", "1"), 0);
	T_EQ(plog_stage(l->d, "t1", 1, "put", "b", "2"), 0);
	T_EQ(plog_lock(l->d, "t1", "a", holder, sizeof(holder)), 0);
	T_EQ(plog_lock(l->d, "t1", "b", holder, sizeof(holder)), 0);
	T_EQ(plog_stage(l->d, "t2", 0, "put", "c", "3"), 0);
	T_EQ(plog_lock(l->d, "t2", "c", holder, sizeof(holder)), 0);

	T_EQ(plog_release(l->d, "t1"), 0);
	T_EQ(t_h_int(db_sqlite(l->d), SQL_NWS, "t1"), 0);
	T_EQ(t_h_int(db_sqlite(l->d), SQL_NLOCKS, "t1"), 0);
	/* Only t1's rows; the txn row itself stays. */
	T_EQ(t_h_int(db_sqlite(l->d), SQL_NWS, "t2"), 1);
	T_EQ(t_h_int(db_sqlite(l->d), SQL_NLOCKS, "t2"), 1);
	plog_txn t;
	T_EQ(plog_get(l->d, "t1", &t), 0);
	/* Released keys can be locked by another transaction. */
	T_EQ(plog_lock(l->d, "t3", "a", holder, sizeof(holder)), 0);
	/* Releasing twice changes nothing. */
	T_EQ(plog_release(l->d, "t1"), 0);
	char buf[64];
	T_EQ(t_h_text(db_sqlite(l->d), SQL_HOLDER, "a", buf, sizeof(buf)), 1);
	T_STREQ(buf, "t3");
}

T_LOGDB_CASE(plog_stage_order, plog_schema)
{
	plog_ws ws;
	/* Inserted out of order; loaded by seq. */
	T_EQ(plog_stage(l->d, "t1", 2, "del", "c", NULL), 0);
	T_EQ(plog_stage(l->d, "t1", 0, "put", "a", "1"), 0);
	T_EQ(plog_stage(l->d, "t1", 1, "put", "b", "2"), 0);
	T_EQ(plog_stage(l->d, "t2", 0, "put", "x", "9"), 0);
	memset(&ws, 0, sizeof(ws));
	T_EQ(plog_ws_load(l->d, "t1", &ws), 0);
	T_EQ(ws.n, 3);
	if (ws.n == 3) {
		T_STREQ(ws.op[0], "put");
		T_STREQ(ws.key[0], "a");
		T_STREQ(ws.value[0], "1");
		T_STREQ(ws.key[1], "b");
		T_STREQ(ws.value[1], "2");
		T_STREQ(ws.op[2], "del");
		T_STREQ(ws.key[2], "c");
		T_STREQ(ws.value[2], ""); /* NULL value is stored as "" */
	}
	plog_ws_free(&ws);
	T_EQ(ws.n, 0);
	T_EQ(plog_ws_load(l->d, "none", &ws), 0);
	T_EQ(ws.n, 0);
	plog_ws_free(&ws);
}

T_LOGDB_CASE(plog_epoch, plog_schema)
{
	uint64_t e = 99;
	T_EQ(plog_epoch_get(l->d, &e), 0);
	T_EQ(e, 0);
	T_EQ(plog_epoch_set(l->d, 9), 0);
	T_EQ(plog_epoch_get(l->d, &e), 0);
	T_EQ(e, 9);
	T_EQ(plog_epoch_set(l->d, 12), 0);
	db_close(l->d);
	l->d = NULL;
	T_EQ(db_open(l->path, 1, plog_schema, &l->d), 0);
	if (l->d != NULL) {
		T_EQ(plog_epoch_get(l->d, &e), 0);
		T_EQ(e, 12);
	}
}

typedef struct t_seen {
	char ids[8][WIRE_TXID_MAX + 1];
	int states[8];
	size_t n;
} t_seen;

static void
t_seen_add(t_seen *s, const char *txid, int state)
{
	if (s->n < 8) {
		snprintf(s->ids[s->n], sizeof(s->ids[0]), "%s", txid);
		s->states[s->n++] = state;
	}
}

static void
t_seen_plog(void *arg, const char *txid, const plog_txn *t)
{
	t_seen_add(arg, txid, t->state);
}

static void
t_seen_clog(void *arg, const char *txid, const clog_txn *t)
{
	t_seen_add(arg, txid, t->state);
}

/* One call of plog_each or clog_each: the state and limit asked for, how
 * many rows come back, and the first txids in order (NULL: not checked),
 * each in the state asked for. */
typedef struct t_each_case {
	tx_state state;
	size_t limit, n;
	const char *ids[2];
} t_each_case;

typedef int (*t_each_fn)(db *d, tx_state state, size_t limit, t_seen *s);

static int
t_plog_each(db *d, tx_state state, size_t limit, t_seen *s)
{
	return plog_each(d, state, limit, t_seen_plog, s);
}

static int
t_clog_each(db *d, tx_state state, size_t limit, t_seen *s)
{
	return clog_each(d, state, limit, t_seen_clog, s);
}

static void
t_each_cases(db *d, t_each_fn each, const t_each_case *cases, size_t ncases)
{
	for (size_t i = 0; i < ncases; i++) {
		const t_each_case *c = &cases[i];
		t_seen s;
		memset(&s, 0, sizeof(s));
		int rv = each(d, c->state, c->limit, &s);
		t_check(rv == 0 && s.n == c->n, __LINE__, "each %s limit %zu: rv %d, %zu rows, want %zu",
		    tx_state_name(c->state), c->limit, rv, s.n, c->n);
		for (size_t k = 0; k < 2 && c->ids[k] != NULL && k < s.n; k++)
			t_check(strcmp(s.ids[k], c->ids[k]) == 0 && s.states[k] == (int)c->state,
			    __LINE__, "each %s limit %zu: row %zu is %s %s, want %s", tx_state_name(c->state),
			    c->limit, k, s.ids[k], tx_state_name(s.states[k]), c->ids[k]);
	}
}

T_LOGDB_CASE(plog_each, plog_schema)
{
	/* Oldest first (c is made older than a), at most LIMIT. */
	static const t_each_case cases[] = {
		{ TX_READY, 100, 2, { "c", "a" } },
		{ TX_COMMIT, 100, 1, { "b", NULL } },
		{ TX_NONE, 100, 4, { NULL, NULL } },
		{ TX_READY, 1, 1, { "c", NULL } },
	};
	T_EQ(plog_put(l->d, "a", TX_READY, 1, ""), 0);
	T_EQ(plog_put(l->d, "b", TX_COMMIT, 1, ""), 0);
	T_EQ(plog_put(l->d, "c", TX_READY, 1, ""), 0);
	T_EQ(plog_put(l->d, "d", TX_ABORT, 1, ""), 0);
	T_EQ(sqlite3_exec(db_sqlite(l->d), "UPDATE txn SET updated_at = 200 WHERE txid = 'a';"
	    "UPDATE txn SET updated_at = 100 WHERE txid = 'c'", NULL, NULL, NULL), SQLITE_OK);
	t_each_cases(l->d, t_plog_each, cases, T_NITEMS(cases));
}

T_LOGDB_CASE(plog_expire, plog_schema)
{
	plog_txn t;
	T_EQ(plog_put(l->d, "abort-old", TX_ABORT, 1, ""), 0);
	T_EQ(plog_put(l->d, "abort-new", TX_ABORT, 1, ""), 0);
	T_EQ(plog_put(l->d, "commit-old", TX_COMMIT, 1, ""), 0);
	T_EQ(plog_put(l->d, "ready-old", TX_READY, 1, ""), 0);
	T_EQ(sqlite3_exec(db_sqlite(l->d), "UPDATE txn SET updated_at = 1000 WHERE txid LIKE '%-old'",
	    NULL, NULL, NULL), SQLITE_OK);
	T_EQ(plog_expire(l->d, db_now_ms() - 60000), 1);
	T_EQ(plog_get(l->d, "abort-old", &t), TWOPC_ENOENT);
	T_EQ(plog_get(l->d, "abort-new", &t), 0);
	T_EQ(plog_get(l->d, "commit-old", &t), 0); /* R9: only after FORGET */
	T_EQ(plog_get(l->d, "ready-old", &t), 0);  /* undecided: never */
	T_EQ(plog_expire(l->d, db_now_ms() - 60000), 0);
}

/* ------------------------------------------------------------------ */
/* suite "logs": clog                                                  */

/*
 * The participant's state table (ptxn.c, DESIGN section 3), every pair:
 * a legal transition is written (INIT only in memory) and the record
 * follows; an illegal one is TWOPC_ESTATE, writes nothing and leaves the
 * record as it was. A newer run (higher epoch) may leave ABORT for INIT or
 * another ABORT; the same run may not.
 */
T_LOGDB_CASE(ptxn_table, plog_schema)
{
	static const struct {
		tx_state from, to;
		int newer;    /* the entered epoch is higher than the record's */
		int legal;
	} cases[] = {
		{ TX_NONE, TX_INIT, 0, 1 },     { TX_NONE, TX_ABORT, 0, 1 },
		{ TX_NONE, TX_READY, 0, 0 },    { TX_NONE, TX_COMMIT, 0, 0 },
		{ TX_INIT, TX_READY, 0, 1 },    { TX_INIT, TX_COMMIT, 0, 1 },
		{ TX_INIT, TX_ABORT, 0, 1 },    { TX_INIT, TX_INIT, 0, 0 },
		{ TX_READY, TX_COMMIT, 0, 1 },  { TX_READY, TX_ABORT, 0, 1 },
		{ TX_READY, TX_INIT, 1, 0 },    { TX_READY, TX_READY, 0, 0 },
		{ TX_COMMIT, TX_ABORT, 0, 0 },  { TX_COMMIT, TX_ABORT, 1, 0 },
		{ TX_COMMIT, TX_INIT, 1, 0 },   { TX_COMMIT, TX_READY, 0, 0 },
		{ TX_ABORT, TX_COMMIT, 0, 0 },  { TX_ABORT, TX_READY, 0, 0 },
		{ TX_ABORT, TX_INIT, 0, 0 },    { TX_ABORT, TX_INIT, 1, 1 },
		{ TX_ABORT, TX_ABORT, 0, 0 },   { TX_ABORT, TX_ABORT, 1, 1 },
		{ TX_WAIT, TX_ABORT, 0, 0 },    { TX_READY, TX_END, 0, 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char txid[32];
		plog_txn t, got;
		snprintf(txid, sizeof(txid), "pt-%zu", i);
		memset(&t, 0, sizeof(t));
		t.state = cases[i].from;
		t.epoch = 5;
		snprintf(t.peers, sizeof(t.peers), "alpha");
		int stored = cases[i].from == TX_READY || cases[i].from == TX_COMMIT ||
		    cases[i].from == TX_ABORT;
		if (stored)
			T_EQ(plog_put(l->d, txid, cases[i].from, 5, "alpha"), 0);
		uint64_t epoch = cases[i].newer ? 6 : 5;
		int rv = ptxn_enter(l->d, txid, &t, cases[i].to, epoch, NULL, "test");
		t_check(rv == (cases[i].legal ? 0 : TWOPC_ESTATE), __LINE__, "%s -> %s%s: %d",
		    tx_state_name(cases[i].from), tx_state_name(cases[i].to),
		    cases[i].newer ? " (newer run)" : "", rv);
		int has = plog_get(l->d, txid, &got) == 0;
		if (cases[i].legal) {
			T_EQ(t.state, cases[i].to);
			T_EQ(t.epoch, epoch);
			if (cases[i].to != TX_INIT) {
				T_TRUE(has);
				T_EQ(got.state, cases[i].to);
				T_STREQ(got.peers, "alpha");
			}
		} else {
			T_EQ(t.state, cases[i].from);
			T_EQ(t.epoch, 5);
			T_EQ(has, stored);
			if (has)
				T_EQ(got.state, cases[i].from);
		}
	}
	/* READ-ONLY only from INIT; FORGET drops COMMIT records only. */
	plog_txn t;
	memset(&t, 0, sizeof(t));
	T_EQ(ptxn_readonly(l->d, "ro", &t, 5), TWOPC_ESTATE);
	/* What a participant reads at open (ro_notes): a new VOTE_REQUEST
	 * looks for a note only when the table may hold one. */
	T_EQ(plog_readonly_any(l->d), 0);
	t.state = TX_INIT;
	T_EQ(ptxn_readonly(l->d, "ro", &t, 5), 0);
	T_EQ(plog_readonly_any(l->d), 1);
	uint64_t ro;
	T_EQ(plog_readonly_get(l->d, "ro", &ro), 0);
	T_EQ(ro, 5);
	T_EQ(plog_put(l->d, "fc", TX_COMMIT, 5, ""), 0);
	T_EQ(plog_put(l->d, "fa", TX_ABORT, 5, ""), 0);
	T_EQ(ptxn_forget(l->d, "fc"), 1);
	T_EQ(ptxn_forget(l->d, "fa"), 0);
	T_EQ(plog_get(l->d, "fc", &t), TWOPC_ENOENT);
	T_EQ(plog_get(l->d, "fa", &t), 0);
}

T_LOGDB_CASE(clog_schema, clog_schema)
{
	static const t_table tables[] = {
		{ "meta", "key TEXT,value TEXT", "key" },
		{ "txn", "txid TEXT,state TEXT,participants TEXT,created_at INTEGER,decided_at INTEGER",
		    "txid" },
		{ "acks", "txid TEXT,participant TEXT", "txid,participant" },
	};
	t_check_tables(db_sqlite(l->d), tables, sizeof(tables) / sizeof(tables[0]));
}

T_LOGDB_CASE(clog_epoch_next, clog_schema)
{
	uint64_t e = 0;
	for (uint64_t want = 1; want <= 3; want++) {
		if (l->d == NULL)
			break;
		T_EQ(clog_epoch_next(l->d, 0, &e), 0);
		T_EQ(e, want);
		/* Forced and visible to another connection at once. */
		T_EQ(t_file_int(l->path, SQL_META_EPOCH, NULL), (long long)want);
		db_close(l->d);
		l->d = NULL;
		T_EQ(db_open(l->path, 1, clog_schema, &l->d), 0);
	}
	/* A floor above the log (--min-epoch) is taken as is; one below it
	 * changes nothing. */
	if (l->d != NULL) {
		T_EQ(clog_epoch_next(l->d, 10, &e), 0);
		T_EQ(e, 10);
		T_EQ(clog_epoch_next(l->d, 5, &e), 0);
		T_EQ(e, 11);
	}
}

/* An epoch that is not a number (an older version wrote 2^64-1 as -1; an
 * operator's typo) is refused, never wrapped to a small one. */
T_LOGDB_CASE(clog_epoch_garbage, clog_schema)
{
	uint64_t e = 0;
	T_EQ(db_exec(l->d, "INSERT OR REPLACE INTO meta(key, value) VALUES ('epoch', '-1')"), 0);
	T_EQ(clog_epoch_next(l->d, 0, &e), TWOPC_EIO);
	T_EQ(db_exec(l->d, "INSERT OR REPLACE INTO meta(key, value) VALUES ('epoch', '7x')"), 0);
	T_EQ(clog_meta_get(l->d, "epoch", &e), TWOPC_EIO);
	T_EQ(db_exec(l->d, "INSERT OR REPLACE INTO meta(key, value) VALUES ('epoch', '41')"), 0);
	T_EQ(clog_epoch_next(l->d, 0, &e), 0);
	T_EQ(e, 42);
	T_EQ(clog_meta_get(l->d, "presume_from", &e), TWOPC_ENOENT);
}

T_LOGDB_CASE(clog_put_get, clog_schema)
{
	clog_txn t;
	T_EQ(clog_put(l->d, "x", TX_WAIT, "alpha,beta", 111, 0), 0);
	memset(&t, 0, sizeof(t));
	T_EQ(clog_get(l->d, "x", &t), 0);
	T_EQ(t.state, TX_WAIT);
	T_STREQ(t.participants, "alpha,beta");
	T_EQ(t.created_at, 111);
	T_EQ(t.decided_at, 0);
	T_EQ(clog_set_state(l->d, "x", TX_COMMIT, 222), 0);
	T_EQ(clog_get(l->d, "x", &t), 0);
	T_EQ(t.state, TX_COMMIT);
	T_EQ(t.created_at, 111);
	T_EQ(t.decided_at, 222);
	char buf[64];
	T_EQ(t_h_text(db_sqlite(l->d), SQL_STATE, "x", buf, sizeof(buf)), 1);
	T_STREQ(buf, "COMMIT");
	T_EQ(clog_set_state(l->d, "x", TX_END, 333), 0);
	T_EQ(t_h_text(db_sqlite(l->d), SQL_STATE, "x", buf, sizeof(buf)), 1);
	T_STREQ(buf, "END");

	memset(&t, 0x5a, sizeof(t));
	T_EQ(clog_get(l->d, "nope", &t), TWOPC_ENOENT);
	T_EQ(t.created_at, 0x5a5a5a5a5a5a5a5aLL);
}

T_LOGDB_CASE(clog_acks, clog_schema)
{
	T_EQ(clog_put(l->d, "x", TX_COMMIT, "alpha,beta", 1, 2), 0);
	T_EQ(clog_acked(l->d, "x", "alpha"), 0);
	T_EQ(clog_ack(l->d, "x", "alpha"), 0);
	T_EQ(clog_ack(l->d, "x", "alpha"), 0); /* idempotent */
	T_EQ(clog_acked(l->d, "x", "alpha"), 1);
	T_EQ(clog_acked(l->d, "x", "beta"), 0);
	T_EQ(clog_acked(l->d, "y", "alpha"), 0);
	T_EQ(t_h_int(db_sqlite(l->d), SQL_NACKS, "x"), 1);
}

T_LOGDB_CASE(clog_each, clog_schema)
{
	/* Oldest first (by created_at), at most LIMIT. */
	static const t_each_case cases[] = {
		{ TX_WAIT, 100, 2, { "w1", "w2" } },
		{ TX_COMMIT, 100, 1, { "c1", NULL } },
		{ TX_ABORT, 100, 0, { NULL, NULL } },
		{ TX_WAIT, 1, 1, { NULL, NULL } },
	};
	T_EQ(clog_put(l->d, "w2", TX_WAIT, "alpha", 20, 0), 0);
	T_EQ(clog_put(l->d, "w1", TX_WAIT, "alpha", 10, 0), 0);
	T_EQ(clog_put(l->d, "c1", TX_COMMIT, "alpha", 5, 6), 0);
	T_EQ(clog_put(l->d, "e1", TX_END, "alpha", 1, 2), 0);
	t_each_cases(l->d, t_clog_each, cases, T_NITEMS(cases));
}

T_LOGDB_CASE(clog_expire, clog_schema)
{
	clog_txn t;
	int64_t now = db_now_ms();
	T_EQ(clog_put(l->d, "end-old", TX_END, "alpha,beta", 1, 1000), 0);
	T_EQ(clog_ack(l->d, "end-old", "alpha"), 0);
	T_EQ(clog_ack(l->d, "end-old", "beta"), 0);
	T_EQ(clog_put(l->d, "abort-old", TX_ABORT, "alpha", 1, 1000), 0);
	T_EQ(clog_put(l->d, "end-new", TX_END, "alpha", now, now), 0);
	T_EQ(clog_ack(l->d, "end-new", "alpha"), 0);
	T_EQ(clog_put(l->d, "commit-old", TX_COMMIT, "alpha,beta", 1, 1000), 0);
	T_EQ(clog_ack(l->d, "commit-old", "alpha"), 0);
	T_EQ(clog_put(l->d, "wait-old", TX_WAIT, "alpha", 1, 0), 0);

	T_EQ(clog_expire(l->d, now - 60000), 2);
	T_EQ(clog_get(l->d, "end-old", &t), TWOPC_ENOENT);
	T_EQ(clog_get(l->d, "abort-old", &t), TWOPC_ENOENT);
	T_EQ(t_h_int(db_sqlite(l->d), SQL_NACKS, "end-old"), 0);
	T_EQ(clog_get(l->d, "end-new", &t), 0);
	T_EQ(t_h_int(db_sqlite(l->d), SQL_NACKS, "end-new"), 1);
	T_EQ(clog_get(l->d, "commit-old", &t), 0); /* not every ACK yet: kept */
	T_EQ(clog_acked(l->d, "commit-old", "alpha"), 1);
	T_EQ(clog_get(l->d, "wait-old", &t), 0);   /* undecided: kept */
	T_EQ(clog_expire(l->d, now - 60000), 0);
}

/*
 * walbuf.c: every commit's frames are in the WAL file when its COMMIT
 * returns, with no sync, for a connection of the plain VFS to read;
 * commits of one row, of more than a 64 KiB piece, and of more than the
 * 1 MiB buffer, across checkpoints and WAL restarts, read back whole; and
 * the frames of a commit reach the kernel in far fewer writes than SQLite
 * makes (two per page).
 */
T_LOGDB_CASE(db_walbuf, "CREATE TABLE IF NOT EXISTS b(k INTEGER PRIMARY KEY, v BLOB)")
{
	sqlite3 *r = NULL;
	long long rows = 0, bytes = 0;
	T_EQ(sqlite3_open_v2(l->path, &r, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	for (int i = 0; i < 120; i++) {
		int n = i == 60 ? 3000 : i % 10 == 9 ? 40 : 1 + i % 3;
		int len = i == 60 ? 2000 : 3000;
		char sql[160];
		uint64_t real0, asked0, real1, asked1;
		walbuf_counts(&real0, &asked0);
		T_EQ(db_begin_lazy(l->d), 0);
		snprintf(sql, sizeof(sql), "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 "
		    "FROM c WHERE x < %d) INSERT INTO b(v) SELECT randomblob(%d) FROM c", n, len);
		T_EQ(db_exec(l->d, sql), 0);
		T_EQ(db_commit(l->d), 0);
		walbuf_counts(&real1, &asked1);
		rows += n;
		bytes += (long long)n * len;
		T_CHECK(t_h_int(r, "SELECT count(*) FROM b", NULL) == rows &&
		    t_h_int(r, "SELECT sum(length(v)) FROM b", NULL) == bytes,
		    "commit %d: the plain VFS reads %lld rows, want %lld", i,
		    t_h_int(r, "SELECT count(*) FROM b", NULL), rows);
		if (n == 40)
			T_CHECK((real1 - real0) * 4 <= asked1 - asked0, "commit %d: %llu writes reached "
			    "the file for the %llu SQLite made", i,
			    (unsigned long long)(real1 - real0), (unsigned long long)(asked1 - asked0));
	}
	char ok[16];
	T_EQ(t_h_text(r, "PRAGMA integrity_check", NULL, ok, sizeof(ok)), 1);
	T_STREQ(ok, "ok");
	sqlite3_close(r);
	db_close(l->d);
	l->d = NULL;
	T_EQ(db_open(l->path, 1, NULL, &l->d), 0);
	T_EQ(t_h_int(db_sqlite(l->d), "SELECT count(*) FROM b", NULL), rows);
}

/* ------------------------------------------------------------------ */
/* suite "logs": db                                                    */

#define SQL_SYNC "PRAGMA synchronous"

T_LOGDB_CASE(db_pragmas, plog_schema)
{
	char buf[32];
	sqlite3 *h = db_sqlite(l->d);
	T_EQ(t_h_text(h, "PRAGMA journal_mode", NULL, buf, sizeof(buf)), 1);
	T_STREQ(buf, "wal");
	/* NORMAL: the group commit makes the syncs itself. */
	T_EQ(t_h_int(h, SQL_SYNC, NULL), 1);

	uint64_t commits = db_commits(l->d), syncs = db_forced(l->d);
	/* A lazy commit needs no sync. */
	T_EQ(db_begin_lazy(l->d), 0);
	T_EQ(plog_put(l->d, "t1", TX_ABORT, 1, ""), 0);
	T_EQ(db_commit(l->d), 0);
	T_EQ(db_commits(l->d), commits + 1);
	T_EQ(db_durable(l->d), 0);
	T_EQ(db_forced(l->d), syncs);

	T_EQ(db_begin_lazy(l->d), 0);
	db_rollback(l->d);
	T_TRUE(sqlite3_get_autocommit(h));

	/* Five forced commits, one db_durable: one fsync covers them all. */
	for (int i = 0; i < 5; i++) {
		char txid[16];
		snprintf(txid, sizeof(txid), "f%d", i);
		T_EQ(db_begin(l->d), 0);
		T_EQ(plog_put(l->d, txid, TX_READY, 1, ""), 0);
		T_EQ(db_commit(l->d), 0);
	}
	T_EQ(db_commits(l->d), commits + 6);
	T_EQ(db_forced(l->d), syncs);
	T_EQ(db_durable(l->d), 0);
	T_EQ(db_forced(l->d), syncs + 1);
	/* Nothing new: no sync. */
	T_EQ(db_durable(l->d), 0);
	T_EQ(db_forced(l->d), syncs + 1);
	/* db_durable_all syncs lazy commits too. */
	T_EQ(db_begin_lazy(l->d), 0);
	T_EQ(plog_put(l->d, "t2", TX_ABORT, 1, ""), 0);
	T_EQ(db_commit(l->d), 0);
	T_EQ(db_durable(l->d), 0);
	T_EQ(db_forced(l->d), syncs + 1);
	T_EQ(db_durable_all(l->d), 0);
	T_EQ(db_forced(l->d), syncs + 2);
	db_close(l->d);

	/* durability: normal: never a sync. */
	snprintf(l->path, sizeof(l->path), "%s/normal.db", l->dir);
	l->d = NULL;
	T_EQ(db_open(l->path, 0, plog_schema, &l->d), 0);
	if (l->d != NULL) {
		h = db_sqlite(l->d);
		T_EQ(t_h_text(h, "PRAGMA journal_mode", NULL, buf, sizeof(buf)), 1);
		T_STREQ(buf, "wal");
		T_EQ(t_h_int(h, SQL_SYNC, NULL), 1);
		T_EQ(db_begin(l->d), 0);
		T_EQ(db_commit(l->d), 0);
		T_EQ(db_durable(l->d), 0);
		T_EQ(db_forced(l->d), 0);
	}
}

static void
test_db_open_errors(void)
{
	char dir[64], path[192];
	db *d = (db *)&d; /* a sentinel: must stay untouched on failure */
	db *const sentinel = d;
	if (t_mkdtemp(dir, sizeof(dir)) != 0)
		return;
	/* A directory is not a log. */
	T_EQ(db_open(dir, 1, plog_schema, &d), TWOPC_EIO);
	T_TRUE(d == sentinel);
	/* A parent that is a regular file (fails for root too). */
	snprintf(path, sizeof(path), "%s/file", dir);
	T_EQ(t_file_exec(path, "CREATE TABLE x(a)"), 0);
	snprintf(path, sizeof(path), "%s/file/log.db", dir);
	T_EQ(db_open(path, 1, plog_schema, &d), TWOPC_EIO);
	T_TRUE(d == sentinel);
	/* Missing parent directories are created (db.c: a cluster file naming
	 * data/alpha.db works on a fresh machine). */
	snprintf(path, sizeof(path), "%s/data/sub/log.db", dir);
	T_EQ(db_open(path, 1, plog_schema, &d), 0);
	T_TRUE(d != sentinel);
	if (d != sentinel)
		db_close(d);
	d = sentinel;
	/* An unwritable directory. Root bypasses permission checks, so this
	 * part runs only for an unprivileged user. */
	if (geteuid() != 0) {
		char ro[128];
		snprintf(ro, sizeof(ro), "%s/ro", dir);
		T_EQ(mkdir(ro, 0500), 0);
		snprintf(path, sizeof(path), "%s/log.db", ro);
		T_EQ(db_open(path, 1, plog_schema, &d), TWOPC_EIO);
		T_TRUE(d == sentinel);
		chmod(ro, 0700);
	}
	tu_rmtree(dir);
}

/*
 * db_commit when the write cannot happen. chmod cannot provoke it on an
 * open connection (the fds are already open, and root bypasses modes
 * anyway), so the file-size limit is used: RLIMIT_FSIZE binds root too.
 * A write past it fails with EFBIG (SIGXFSZ ignored), which SQLite reports
 * at COMMIT, when the pages go to the WAL. The limit is process-wide and
 * lifted again before any assertion output.
 */
static void
test_db_commit_eio(void)
{
	t_logdb l;
	struct rlimit old, lim;
	struct stat sb;
	char wal[160];
	int rv_force = 0, rv_lazy = 0, auto_force = 0, sync_lazy = 0;
	long long rows = -2;

	if (t_logdb_open(&l, "CREATE TABLE IF NOT EXISTS big(b BLOB);", 1) != 0)
		return;
	sqlite3 *h = db_sqlite(l.d);
	snprintf(wal, sizeof(wal), "%s-wal", l.path);
	off_t cur = 0;
	if (stat(wal, &sb) == 0)
		cur = sb.st_size;
	if (stat(l.path, &sb) == 0 && sb.st_size > cur)
		cur = sb.st_size;
	if (getrlimit(RLIMIT_FSIZE, &old) != 0) {
		CU_FAIL("getrlimit");
		t_logdb_close(&l);
		return;
	}
	void (*oldsig)(int) = signal(SIGXFSZ, SIG_IGN);
	lim = old;
	lim.rlim_cur = (rlim_t)cur + 32768;
	/* 512 KiB fits the page cache (no spill before COMMIT) and cannot fit
	 * under the limit. */
	if (setrlimit(RLIMIT_FSIZE, &lim) == 0) {
		if (db_begin(l.d) == 0 &&
		    sqlite3_exec(h, "INSERT INTO big VALUES (zeroblob(524288))", NULL, NULL, NULL) ==
		    SQLITE_OK)
			rv_force = db_commit(l.d);
		auto_force = sqlite3_get_autocommit(h);
		if (db_begin_lazy(l.d) == 0 &&
		    sqlite3_exec(h, "INSERT INTO big VALUES (zeroblob(524288))", NULL, NULL, NULL) ==
		    SQLITE_OK)
			rv_lazy = db_commit(l.d);
		sync_lazy = db_durable(l.d);
		(void)setrlimit(RLIMIT_FSIZE, &old);
	} else {
		CU_FAIL("setrlimit");
	}
	signal(SIGXFSZ, oldsig);
	T_EQ(rv_force, TWOPC_EIO);
	T_TRUE(auto_force);       /* rolled back, no transaction left open */
	T_EQ(rv_lazy, TWOPC_EIO);
	T_EQ(sync_lazy, TWOPC_EIO); /* after a failed commit nothing is promised */
	rows = t_h_int(h, "SELECT count(*) FROM big", NULL);
	T_EQ(rows, 0);
	/* The connection still works once the disk does. */
	T_EQ(db_begin(l.d), 0);
	T_EQ(sqlite3_exec(h, "INSERT INTO big VALUES (x'00')", NULL, NULL, NULL), SQLITE_OK);
	T_EQ(db_commit(l.d), 0);
	T_EQ(t_file_int(l.path, "SELECT count(*) FROM big", NULL), 1);
	t_logdb_close(&l);
}

/* ------------------------------------------------------------------ */
/* suite "statemachine": a cluster in a scratch directory              */

static const char *const t_names[2] = { "alpha", "beta" };

typedef struct t_env {
	char dir[64];
	char file[128];
	char curl[160], clogp[128];       /* coordinator */
	char url[2][160], logp[2][128];   /* alpha, beta */
	twopc_participant *p[2];
	nng_socket s[2];                  /* REQ sockets to alpha, beta */
	int s_open[2];
	cfg_cluster *cfg;
	coord c;
	int c_up;
	twopc_client *cl;
} t_env;

/* Write the cluster file. DECISION_MS large keeps the participants'
 * background thread from asking; ACK_RETRY_MS large keeps the
 * coordinator's resender (and FORGET) to its first pass at start. */
static int
t_env_init(t_env *e, unsigned decision_ms, unsigned ack_retry_ms)
{
	FILE *f;
	char dir[sizeof(e->dir)];
	memset(e, 0, sizeof(*e));
	if (t_mkdtemp(dir, sizeof(dir)) != 0)
		return -1;
	memcpy(e->dir, dir, sizeof(dir));
	snprintf(e->file, sizeof(e->file), "%s/cluster.yaml", dir);
	snprintf(e->curl, sizeof(e->curl), "ipc://%s/coord.ipc", dir);
	snprintf(e->clogp, sizeof(e->clogp), "%s/coord.db", dir);
	for (int i = 0; i < 2; i++) {
		snprintf(e->url[i], sizeof(e->url[i]), "ipc://%s/%s.ipc", dir, t_names[i]);
		snprintf(e->logp[i], sizeof(e->logp[i]), "%s/%s.db", dir, t_names[i]);
	}
	if ((f = fopen(e->file, "w")) == NULL) {
		CU_FAIL("cannot write the cluster file");
		return -1;
	}
	fprintf(f,
	    "coordinator:\n"
	    "  name: coord\n"
	    "  listen: %s\n"
	    "  log: %s\n"
	    "  vote_timeout_ms: 3000\n"
	    "participants:\n", e->curl, e->clogp);
	for (int i = 0; i < 2; i++)
		fprintf(f, "  - name: %s\n    listen: %s\n    log: %s\n", t_names[i], e->url[i],
		    e->logp[i]);
	fprintf(f,
	    "timeouts:\n"
	    "  decision_timeout_ms: %u\n"
	    "  ack_retry_ms: %u\n"
	    "  retention_s: 86400\n"
	    "durability: full\n", decision_ms, ack_retry_ms);
	if (fclose(f) != 0) {
		CU_FAIL("cannot write the cluster file");
		return -1;
	}
	return 0;
}

/* Open and start participant I with the kv resource; dial it. */
static int
t_part_up(t_env *e, int i)
{
	int rv = twopc_participant_open(&e->p[i], e->file, t_names[i], &kv_resource);
	T_EQ(rv, 0);
	if (rv != 0)
		return -1;
	rv = twopc_participant_start(e->p[i]);
	T_EQ(rv, 0);
	if (rv != 0)
		return -1;
	rv = rpc_dial(e->url[i], 0, &e->s[i]);
	T_EQ(rv, 0);
	e->s_open[i] = rv == 0;
	return rv == 0 ? 0 : -1;
}

static void
t_part_down(t_env *e, int i)
{
	if (e->s_open[i])
		rpc_close(e->s[i]);
	e->s_open[i] = 0;
	twopc_participant_close(e->p[i]);
	e->p[i] = NULL;
}

static int
t_coord_up(t_env *e)
{
	char errs[2048];
	int rv = cfg_load(e->file, &e->cfg, errs, sizeof(errs));
	t_check(rv == 0, __LINE__, "cfg_load: %s", errs);
	if (rv != 0)
		return -1;
	rv = coord_start(&e->c, e->cfg, 0);
	e->c_up = 1;
	T_EQ(rv, 0);
	return rv == 0 ? 0 : -1;
}

static void
t_coord_down(t_env *e)
{
	if (e->c_up)
		coord_stop(&e->c);
	e->c_up = 0;
	cfg_free(e->cfg);
	e->cfg = NULL;
}

static void
t_env_fini(t_env *e)
{
	twopc_client_close(e->cl);
	e->cl = NULL;
	t_coord_down(e);
	for (int i = 0; i < 2; i++)
		t_part_down(e, i);
	tu_rmtree(e->dir);
}

/* Set up E with participant alpha only (the statemachine cases). */
static int
t_env_alpha(t_env *e, unsigned decision_ms)
{
	if (t_env_init(e, decision_ms, 60000) != 0)
		return -1;
	if (t_part_up(e, 0) != 0) {
		t_env_fini(e);
		return -1;
	}
	return 0;
}

/* A case on a scratch cluster E set up by SETUP (t_env_alpha or
 * t_env_cluster, which tear down themselves on failure). */
#define T_ENV_CASE(name, setup) T_CASE(name, t_env, e, (setup), t_env_fini)

/* ---- messages ---- */

typedef struct t_ops {
	char buf[512];
	wire_op v[16];
	size_t n;
} t_ops;

static char t_empty[1];

/* "put a 1, add n -5, del k, check x 3" -> ops (pointing into O->buf). */
static void
t_ops_parse(t_ops *o, const char *spec)
{
	char *save = NULL;
	snprintf(o->buf, sizeof(o->buf), "%s", spec);
	o->n = 0;
	for (char *it = strtok_r(o->buf, ",", &save); it != NULL && o->n < 16;
	    it = strtok_r(NULL, ",", &save)) {
		char *s2 = NULL;
		char *op = strtok_r(it, " ", &s2);
		char *key = strtok_r(NULL, " ", &s2);
		char *val = strtok_r(NULL, " ", &s2);
		if (op == NULL || key == NULL)
			continue;
		o->v[o->n].op = (uint8_t)wire_op_parse(op);
		o->v[o->n].key = key;
		o->v[o->n].value = val ? val : t_empty;
		o->n++;
	}
}

/* Call participant I. REP is always safe to wire_msg_free afterwards
 * (type 0 when there was no reply). */
static int
t_call(t_env *e, int i, const wire_msg *req, wire_msg *rep)
{
	int rv = rpc_call(e->s[i], req, rep, T_RPC_MS);
	if (rv != 0)
		wire_msg_init(rep, 0, 0, NULL, "none");
	return rv;
}

static int
t_req(t_env *e, int i, int type, uint64_t epoch, const char *txid, wire_msg *rep)
{
	wire_msg req;
	wire_msg_init(&req, type, epoch, txid, "coord");
	return t_call(e, i, &req, rep);
}

static char t_alpha[] = "alpha", t_beta[] = "beta";
static char *t_peers[2] = { t_alpha, t_beta };

static int
t_vote(t_env *e, int i, uint64_t epoch, const char *txid, const char *spec, wire_msg *rep)
{
	wire_msg req;
	t_ops o;
	t_ops_parse(&o, spec);
	wire_msg_init(&req, WIRE_VOTE_REQUEST, epoch, txid, "coord");
	req.npeers = 2;
	req.peers = t_peers;
	req.nops = o.n;
	req.ops = o.v;
	return t_call(e, i, &req, rep);
}

/* Vote and expect TYPE; frees the reply. */
#define T_VOTE(e, i, epoch, txid, spec, want) do { \
	wire_msg r_; \
	T_EQ(t_vote((e), (i), (epoch), (txid), (spec), &r_), 0); \
	T_TYPE(r_, (want)); \
	wire_msg_free(&r_); \
} while (0)

/* Vote and expect TYPE with TEXT in the reply's text; frees the reply. */
#define T_VOTE_TEXT(e, i, epoch, txid, spec, want, want_text) do { \
	wire_msg r_; \
	T_EQ(t_vote((e), (i), (epoch), (txid), (spec), &r_), 0); \
	T_TYPE(r_, (want)); \
	T_HAS(r_.text, (want_text)); \
	wire_msg_free(&r_); \
} while (0)

/* Send TYPE and expect an ACK with STATE. */
#define T_GLOBAL(e, i, type, epoch, txid, want) do { \
	wire_msg r_; \
	T_EQ(t_req((e), (i), (type), (epoch), (txid), &r_), 0); \
	T_TYPE(r_, WIRE_ACK); \
	t_check(r_.state == (want), __LINE__, "ACK state %s, want %s", \
	    tx_state_name(r_.state), tx_state_name(want)); \
	wire_msg_free(&r_); \
} while (0)

#define T_STATE(path, txid, want) do { \
	char sb_[32]; \
	T_STREQ(t_state((path), (txid), sb_, sizeof(sb_)), (want)); \
} while (0)

/* TXID holds no lock and has no workspace left in the log at PATH. */
#define T_RELEASED(path, txid) do { \
	T_EQ(t_file_int((path), SQL_NLOCKS, (txid)), 0); \
	T_EQ(t_file_int((path), SQL_NWS, (txid)), 0); \
} while (0)

#define T_KV(path, key, want) do { \
	char kb_[256]; \
	T_STREQ(t_kv((path), (key), kb_, sizeof(kb_)), (want)); \
} while (0)

/* ------------------------------------------------------------------ */
/* suite "statemachine": the participant, message by message           */

T_ENV_CASE(sm_vote_commit, t_env_alpha(e, 60000))
{
	wire_msg r;
	T_EQ(t_vote(e, 0, 5, "t1", "put a 1, put b 2", &r), 0);
	T_TYPE(r, WIRE_VOTE_COMMIT);
	T_STREQ(r.txid, "t1");
	T_STREQ(r.sender, "alpha");
	T_EQ(r.epoch, 5);
	wire_msg_free(&r);
	/* R1: READY with workspace and locks is in the file before the vote. */
	T_STATE(e->logp[0], "t1", "READY");
	T_EQ(t_file_int(e->logp[0], SQL_EPOCH, "t1"), 5);
	char buf[64];
	T_EQ(t_file_text(e->logp[0], "SELECT peers FROM txn WHERE txid = ?1", "t1", buf, sizeof(buf)), 1);
	T_STREQ(buf, "alpha,beta");
	T_EQ(t_file_int(e->logp[0], SQL_NWS, "t1"), 2);
	T_EQ(t_file_int(e->logp[0], SQL_NLOCKS, "t1"), 2);
	T_EQ(t_file_text(e->logp[0], SQL_HOLDER, "a", buf, sizeof(buf)), 1);
	T_STREQ(buf, "t1");
	T_EQ(t_file_int(e->logp[0], SQL_META_EPOCH, NULL), 5);
	T_KV(e->logp[0], "a", "(absent)"); /* nothing applied before the decision */
}

T_ENV_CASE(sm_vote_duplicate, t_env_alpha(e, 60000))
{
	T_VOTE(e, 0, 5, "t1", "put a 1, put b 2", WIRE_VOTE_COMMIT);
	T_VOTE(e, 0, 5, "t1", "put a 1, put b 2", WIRE_VOTE_COMMIT);
	T_STATE(e->logp[0], "t1", "READY");
	T_EQ(t_file_int(e->logp[0], SQL_NWS, "t1"), 2);
	T_EQ(t_file_int(e->logp[0], SQL_NLOCKS, "t1"), 2);
}

T_ENV_CASE(sm_global_commit, t_env_alpha(e, 60000))
{
	T_VOTE(e, 0, 5, "t1", "put a 1, add n 7", WIRE_VOTE_COMMIT);
	T_GLOBAL(e, 0, WIRE_GLOBAL_COMMIT, 5, "t1", TX_COMMIT);
	T_STATE(e->logp[0], "t1", "COMMIT");
	T_KV(e->logp[0], "a", "1");
	T_KV(e->logp[0], "n", "7");
	T_RELEASED(e->logp[0], "t1");
	/* R4: again, and nothing changes. */
	T_GLOBAL(e, 0, WIRE_GLOBAL_COMMIT, 5, "t1", TX_COMMIT);
	T_KV(e->logp[0], "n", "7");
	/* A resent VOTE_REQUEST after the decision: the same vote. */
	T_VOTE(e, 0, 5, "t1", "put a 1, add n 7", WIRE_VOTE_COMMIT);
	T_STATE(e->logp[0], "t1", "COMMIT");
	T_EQ(t_file_int(e->logp[0], SQL_NWS, "t1"), 0);
	/* A contradicting GLOBAL_ABORT does not undo a forced COMMIT. */
	T_GLOBAL(e, 0, WIRE_GLOBAL_ABORT, 5, "t1", TX_COMMIT);
	T_STATE(e->logp[0], "t1", "COMMIT");
}

T_ENV_CASE(sm_lock_conflict, t_env_alpha(e, 60000))
{
	wire_msg r;
	char buf[64];
	T_VOTE(e, 0, 5, "t1", "put k 1", WIRE_VOTE_COMMIT);
	int64_t t0 = mono_ms();
	T_EQ(t_vote(e, 0, 5, "t2", "put other 1, put k 2", &r), 0);
	int64_t took = mono_ms() - t0;
	/* Busy, not a vote: the holder named, nothing kept of t2 (the
	 * coordinator decides whether to wait and ask again, R5). */
	T_TYPE(r, WIRE_VOTE_ABORT);
	T_EQ(r.flags & WIRE_FLAG_BUSY, WIRE_FLAG_BUSY);
	T_STREQ(r.text, "t1");
	wire_msg_free(&r);
	/* A participant that waited would wait for t1's decision, which
	 * never comes here (the call would time out after T_RPC_MS): the
	 * bound is below that, not a speed claim a busy machine can break. */
	t_check(took < T_RPC_MS - 1000, __LINE__, "R5: a participant never waits itself (took %lld ms)",
	    (long long)took);
	T_STATE(e->logp[0], "t2", "");
	T_EQ(t_file_int(e->logp[0], SQL_NLOCKS, "t2"), 0); /* "other" not left locked */
	T_EQ(t_file_int(e->logp[0], SQL_NWS, "t2"), 0);
	T_EQ(t_file_text(e->logp[0], SQL_HOLDER, "k", buf, sizeof(buf)), 1);
	T_STREQ(buf, "t1");
	/* The holder aborts: the key is free again. */
	T_GLOBAL(e, 0, WIRE_GLOBAL_ABORT, 5, "t1", TX_ABORT);
	T_STATE(e->logp[0], "t1", "ABORT");
	T_RELEASED(e->logp[0], "t1");
	T_VOTE(e, 0, 5, "t3", "put k 3", WIRE_VOTE_COMMIT);
	T_EQ(t_file_text(e->logp[0], SQL_HOLDER, "k", buf, sizeof(buf)), 1);
	T_STREQ(buf, "t3");
	T_KV(e->logp[0], "k", "(absent)");
}

T_ENV_CASE(sm_kv_votes, t_env_alpha(e, 60000))
{
	T_VOTE(e, 0, 5, "seed", "put bal 10", WIRE_VOTE_COMMIT);
	T_GLOBAL(e, 0, WIRE_GLOBAL_COMMIT, 5, "seed", TX_COMMIT);

	T_VOTE_TEXT(e, 0, 5, "over", "add bal -20", WIRE_VOTE_ABORT, "insufficient");
	T_STATE(e->logp[0], "over", "ABORT");
	T_RELEASED(e->logp[0], "over");

	T_VOTE_TEXT(e, 0, 5, "chk", "check bal 11", WIRE_VOTE_ABORT, "check failed");
	T_STATE(e->logp[0], "chk", "ABORT");

	T_VOTE_TEXT(e, 0, 5, "chk2", "check missing 1", WIRE_VOTE_ABORT, "absent");

	/* Exactly to zero is allowed; a matching check votes COMMIT. */
	T_VOTE(e, 0, 5, "ok", "check bal 10, add bal -10", WIRE_VOTE_COMMIT);
	T_GLOBAL(e, 0, WIRE_GLOBAL_COMMIT, 5, "ok", TX_COMMIT);
	T_KV(e->logp[0], "bal", "0");
}

T_ENV_CASE(sm_abort_before_vote, t_env_alpha(e, 60000))
{
	T_GLOBAL(e, 0, WIRE_GLOBAL_ABORT, 5, "t1", TX_ABORT);
	T_STATE(e->logp[0], "t1", "ABORT");
	T_VOTE_TEXT(e, 0, 5, "t1", "put k 1", WIRE_VOTE_ABORT, "already aborted");
	T_STATE(e->logp[0], "t1", "ABORT");
	T_RELEASED(e->logp[0], "t1");
}

static void
t_expect_decision(t_env *e, const char *txid, uint64_t epoch, int want, int line)
{
	wire_msg r;
	int rv = t_req(e, 0, WIRE_DECISION_REQUEST, epoch, txid, &r);
	t_check(rv == 0 && r.type == WIRE_DECISION_REPLY && r.state == want, line,
	    "DECISION_REQUEST %s: rv %d, reply %s state %s, want DECISION_REPLY %s", txid, rv,
	    r.type ? wire_type_name(r.type) : "none", tx_state_name(r.state), tx_state_name(want));
	wire_msg_free(&r);
}

T_ENV_CASE(sm_decision_unknown, t_env_alpha(e, 60000))
{
	t_expect_decision(e, "t1", 5, TX_ABORT, __LINE__);
	/* R8: the ABORT answer is in the log (visible to another connection,
	 * so committed) before we look. */
	T_STATE(e->logp[0], "t1", "ABORT");
	T_VOTE(e, 0, 5, "t1", "put k 1", WIRE_VOTE_ABORT);
	T_STATE(e->logp[0], "t1", "ABORT");
	T_EQ(t_file_int(e->logp[0], SQL_NLOCKS, "t1"), 0);
}

/*
 * A peer's DECISION_REQUEST can carry a newer coordinator epoch than this
 * participant has seen (the peer got the newer run's VOTE_REQUEST first).
 * The forced ABORT answer must stay final: a VOTE_REQUEST of an older run
 * of the same txid, delivered late, must not turn it into READY.
 */
T_ENV_CASE(sm_decision_newer_epoch, t_env_alpha(e, 60000))
{
	T_VOTE(e, 0, 5, "t0", "put z 1", WIRE_VOTE_COMMIT); /* highest seen: 5 */
	t_expect_decision(e, "t1", 7, TX_ABORT, __LINE__);
	T_STATE(e->logp[0], "t1", "ABORT");
	T_VOTE(e, 0, 6, "t1", "put k 1", WIRE_VOTE_ABORT);
	T_STATE(e->logp[0], "t1", "ABORT");
	T_EQ(t_file_int(e->logp[0], SQL_EPOCH, "t1"), 7);
	T_RELEASED(e->logp[0], "t1");
}

T_ENV_CASE(sm_decision_known, t_env_alpha(e, 60000))
{
	T_VOTE(e, 0, 5, "r1", "put a 1", WIRE_VOTE_COMMIT);
	T_VOTE(e, 0, 5, "c1", "put b 1", WIRE_VOTE_COMMIT);
	T_GLOBAL(e, 0, WIRE_GLOBAL_COMMIT, 5, "c1", TX_COMMIT);
	T_VOTE(e, 0, 5, "a1", "check b 2", WIRE_VOTE_ABORT);
	t_expect_decision(e, "r1", 5, TX_READY, __LINE__);
	t_expect_decision(e, "c1", 5, TX_COMMIT, __LINE__);
	t_expect_decision(e, "a1", 5, TX_ABORT, __LINE__);
	/* Asking changes nothing. */
	T_STATE(e->logp[0], "r1", "READY");
	T_EQ(t_file_int(e->logp[0], SQL_NLOCKS, "r1"), 1);
}

T_ENV_CASE(sm_stale_epoch, t_env_alpha(e, 60000))
{
	wire_msg r;
	T_VOTE(e, 0, 5, "t1", "put a 1", WIRE_VOTE_COMMIT);
	T_EQ(t_vote(e, 0, 4, "t2", "put b 1", &r), 0);
	T_TYPE(r, WIRE_ERROR);
	T_EQ(r.code, -TWOPC_ESTALE);
	T_HAS(r.text, "stale");
	T_EQ(r.epoch, 5); /* the reply carries the highest epoch seen */
	wire_msg_free(&r);
	T_STATE(e->logp[0], "t2", "");
	/* A stale GLOBAL is refused too and changes nothing. */
	T_EQ(t_req(e, 0, WIRE_GLOBAL_COMMIT, 4, "t1", &r), 0);
	T_TYPE(r, WIRE_ERROR);
	T_EQ(r.code, -TWOPC_ESTALE);
	wire_msg_free(&r);
	T_STATE(e->logp[0], "t1", "READY");
	T_EQ(t_req(e, 0, WIRE_GLOBAL_ABORT, 4, "t1", &r), 0);
	T_TYPE(r, WIRE_ERROR);
	wire_msg_free(&r);
	T_STATE(e->logp[0], "t1", "READY");
}

T_ENV_CASE(sm_new_epoch_supersedes, t_env_alpha(e, 60000))
{
	T_VOTE(e, 0, 5, "t1", "put k 1", WIRE_VOTE_COMMIT);
	T_VOTE(e, 0, 6, "t1", "put k 2", WIRE_VOTE_COMMIT);
	T_STATE(e->logp[0], "t1", "READY");
	T_EQ(t_file_int(e->logp[0], SQL_EPOCH, "t1"), 6);
	T_EQ(t_file_int(e->logp[0], SQL_NWS, "t1"), 1); /* only the new run's work */
	T_EQ(t_file_int(e->logp[0], SQL_NLOCKS, "t1"), 1);
	T_EQ(t_file_int(e->logp[0], SQL_META_EPOCH, NULL), 6);
	T_GLOBAL(e, 0, WIRE_GLOBAL_COMMIT, 6, "t1", TX_COMMIT);
	T_KV(e->logp[0], "k", "2");
}

T_ENV_CASE(sm_committed_old_epoch, t_env_alpha(e, 60000))
{
	T_VOTE(e, 0, 5, "t1", "add n 1", WIRE_VOTE_COMMIT);
	T_GLOBAL(e, 0, WIRE_GLOBAL_COMMIT, 5, "t1", TX_COMMIT);
	T_VOTE_TEXT(e, 0, 6, "t1", "add n 1", WIRE_VOTE_ABORT, "already committed");
	T_STATE(e->logp[0], "t1", "COMMIT");
	T_EQ(t_file_int(e->logp[0], SQL_EPOCH, "t1"), 5);
	T_EQ(t_file_int(e->logp[0], SQL_NLOCKS, "t1"), 0);
	T_KV(e->logp[0], "n", "1");
}

T_ENV_CASE(sm_commit_unknown, t_env_alpha(e, 60000))
{
	wire_msg r;
	T_EQ(t_req(e, 0, WIRE_GLOBAL_COMMIT, 5, "ghost", &r), 0);
	T_TYPE(r, WIRE_ERROR);
	T_EQ(r.code, -TWOPC_ENOENT);
	wire_msg_free(&r);
	T_STATE(e->logp[0], "ghost", "");
}

T_ENV_CASE(sm_forget, t_env_alpha(e, 60000))
{
	wire_msg req, r;
	char c1[] = "c1", r1[] = "r1", a1[] = "a1", none[] = "none";
	char *ids[] = { c1, r1, a1, none };
	T_VOTE(e, 0, 5, "c1", "put a 1", WIRE_VOTE_COMMIT);
	T_GLOBAL(e, 0, WIRE_GLOBAL_COMMIT, 5, "c1", TX_COMMIT);
	T_VOTE(e, 0, 5, "r1", "put b 1", WIRE_VOTE_COMMIT);
	T_GLOBAL(e, 0, WIRE_GLOBAL_ABORT, 5, "a1", TX_ABORT);
	wire_msg_init(&req, WIRE_FORGET, 5, NULL, "coord");
	req.ntxids = 4;
	req.txids = ids;
	T_EQ(t_call(e, 0, &req, &r), 0);
	T_TYPE(r, WIRE_IAMALIVE);
	wire_msg_free(&r);
	T_STATE(e->logp[0], "c1", "");      /* R9: COMMIT dropped */
	T_KV(e->logp[0], "a", "1");         /* its data stays, of course */
	T_STATE(e->logp[0], "r1", "READY"); /* undecided: kept with its locks */
	T_EQ(t_file_int(e->logp[0], SQL_NLOCKS, "r1"), 1);
	T_EQ(t_file_int(e->logp[0], SQL_NWS, "r1"), 1);
	T_STATE(e->logp[0], "a1", "ABORT"); /* FORGET is for COMMIT only */
	/* From a stale coordinator: refused. */
	wire_msg_init(&req, WIRE_FORGET, 4, NULL, "coord");
	req.ntxids = 1;
	req.txids = &ids[1];
	T_EQ(t_call(e, 0, &req, &r), 0);
	T_TYPE(r, WIRE_ERROR);
	T_EQ(r.code, -TWOPC_ESTALE);
	wire_msg_free(&r);
}

T_ENV_CASE(sm_status, t_env_alpha(e, 60000))
{
	wire_msg req, r;
	T_VOTE(e, 0, 5, "r1", "put a 1", WIRE_VOTE_COMMIT);
	T_VOTE(e, 0, 5, "r2", "put b 1", WIRE_VOTE_COMMIT);
	T_VOTE(e, 0, 5, "c1", "put c 1", WIRE_VOTE_COMMIT);
	T_GLOBAL(e, 0, WIRE_GLOBAL_COMMIT, 5, "c1", TX_COMMIT);

	wire_msg_init(&req, WIRE_STATUS_REQUEST, 0, "r1", "client");
	req.state = 0;
	T_EQ(t_call(e, 0, &req, &r), 0);
	T_TYPE(r, WIRE_STATUS_REPLY);
	T_EQ(r.nstatus, 1);
	if (r.nstatus == 1) {
		T_STREQ(r.status[0].txid, "r1");
		T_EQ(r.status[0].state, TX_READY);
		T_EQ(r.status[0].epoch, 5);
		T_HAS(r.status[0].detail, "peers=alpha,beta");
	}
	wire_msg_free(&r);

	wire_msg_init(&req, WIRE_STATUS_REQUEST, 0, "c1", "client");
	T_EQ(t_call(e, 0, &req, &r), 0);
	T_EQ(r.nstatus, 1);
	if (r.nstatus == 1)
		T_EQ(r.status[0].state, TX_COMMIT);
	wire_msg_free(&r);

	wire_msg_init(&req, WIRE_STATUS_REQUEST, 0, "nope", "client");
	T_EQ(t_call(e, 0, &req, &r), 0);
	T_TYPE(r, WIRE_STATUS_REPLY);
	T_EQ(r.nstatus, 0);
	wire_msg_free(&r);

	wire_msg_init(&req, WIRE_STATUS_REQUEST, 0, NULL, "client");
	req.state = 1;
	T_EQ(t_call(e, 0, &req, &r), 0);
	T_TYPE(r, WIRE_STATUS_REPLY);
	T_EQ(r.nstatus, 2);
	int seen1 = 0, seen2 = 0;
	for (size_t i = 0; i < r.nstatus; i++) {
		seen1 |= strcmp(r.status[i].txid, "r1") == 0;
		seen2 |= strcmp(r.status[i].txid, "r2") == 0;
		T_EQ(r.status[i].state, TX_READY);
	}
	T_TRUE(seen1 && seen2);
	wire_msg_free(&r);
}

/* Send LEN raw bytes on a fresh REQ socket to URL; 1 if nothing came back
 * within 300 ms. */
static int
t_raw_no_reply(const char *url, const void *data, size_t len)
{
	nng_socket s;
	char *buf = NULL;
	size_t sz = 0;
	int rv;
	if (nng_req0_open(&s) != 0)
		return 0;
	if ((rv = nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 300)) == 0 &&
	    (rv = nng_dial(s, url, NULL, 0)) == 0 &&
	    (rv = nng_send(s, (void *)data, len, 0)) == 0) {
		rv = nng_recv(s, &buf, &sz, NNG_FLAG_ALLOC);
		if (rv == 0)
			nng_free(buf, sz);
	}
	rpc_close(s);
	return rv == NNG_ETIMEDOUT;
}

T_ENV_CASE(sm_malformed, t_env_alpha(e, 60000))
{
	wire_msg req;
	wire_buf b = { 0 };
	static const char garbage[] = "this is not a twopc message";
	t_ops o;
	T_TRUE(t_raw_no_reply(e->url[0], garbage, sizeof(garbage)));
	/* A valid VOTE_REQUEST cut short by one byte: dropped, not half-read. */
	t_ops_parse(&o, "put k 1");
	wire_msg_init(&req, WIRE_VOTE_REQUEST, 5, "cut", "coord");
	req.npeers = 2;
	req.peers = t_peers;
	req.nops = o.n;
	req.ops = o.v;
	T_EQ(wire_encode(&req, &b), 0);
	T_TRUE(b.len > 1 && t_raw_no_reply(e->url[0], b.data, b.len - 1));
	/* The same bytes with one trailing byte too many. */
	uint8_t *longer = malloc(b.len + 1);
	if (longer != NULL) {
		memcpy(longer, b.data, b.len);
		longer[b.len] = 0;
		T_TRUE(t_raw_no_reply(e->url[0], longer, b.len + 1));
		free(longer);
	}
	wire_buf_free(&b);
	T_EQ(rpc_server_malformed(e->p[0]->srv), 3);
	T_STATE(e->logp[0], "cut", "");
	/* Still serving. */
	T_VOTE(e, 0, 5, "t1", "put k 1", WIRE_VOTE_COMMIT);
	T_STATE(e->logp[0], "t1", "READY");
}

T_ENV_CASE(sm_restart, t_env_alpha(e, 60000))
{
	wire_msg r;
	char buf[64];
	T_VOTE(e, 0, 5, "t1", "put k v, add n 3", WIRE_VOTE_COMMIT);
	t_part_down(e, 0);
	T_STATE(e->logp[0], "t1", "READY"); /* durable with the handle closed */
	if (t_part_up(e, 0) != 0)
		return;
	T_STATE(e->logp[0], "t1", "READY");
	T_EQ(t_file_int(e->logp[0], SQL_NLOCKS, "t1"), 2);
	T_EQ(t_file_int(e->logp[0], SQL_NWS, "t1"), 2);
	T_EQ(t_file_text(e->logp[0], SQL_HOLDER, "k", buf, sizeof(buf)), 1);
	T_STREQ(buf, "t1");
	/* The locks still hold after the restart (R5). */
	T_EQ(t_vote(e, 0, 5, "t2", "put k w", &r), 0);
	T_TYPE(r, WIRE_VOTE_ABORT);
	T_EQ(r.flags & WIRE_FLAG_BUSY, WIRE_FLAG_BUSY);
	T_STREQ(r.text, "t1");
	wire_msg_free(&r);
	/* The highest epoch seen survived too (R6). */
	T_EQ(t_vote(e, 0, 4, "t3", "put x 1", &r), 0);
	T_TYPE(r, WIRE_ERROR);
	T_EQ(r.code, -TWOPC_ESTALE);
	wire_msg_free(&r);
	T_GLOBAL(e, 0, WIRE_GLOBAL_COMMIT, 5, "t1", TX_COMMIT);
	T_KV(e->logp[0], "k", "v");
	T_KV(e->logp[0], "n", "3");
	T_EQ(t_file_int(e->logp[0], SQL_NLOCKS, "t1"), 0);
}

static int
t_prepare_abort(void *user, twopc_txn *txn, const twopc_op *ops, size_t nops)
{
	(void)user;
	(void)txn;
	(void)ops;
	(void)nops;
	return TWOPC_VOTE_ABORT;
}

static void
test_sm_api_misuse(void)
{
	t_env e;
	twopc_participant *p = NULL, *p2 = NULL;
	twopc_resource no_prepare = { .commit = tu_txn_nop };
	twopc_resource no_commit = { .prepare = t_prepare_abort };
	char missing[160];
	if (t_env_init(&e, 60000, 60000) != 0)
		return;
	snprintf(missing, sizeof(missing), "%s/missing.yaml", e.dir);
	T_STREQ(twopc_version(), TWOPC_VERSION_STRING);
	T_EQ(twopc_participant_open(NULL, e.file, "alpha", &kv_resource), TWOPC_EINVAL);
	T_EQ(twopc_participant_open(&p, NULL, "alpha", &kv_resource), TWOPC_EINVAL);
	T_EQ(twopc_participant_open(&p, e.file, NULL, &kv_resource), TWOPC_EINVAL);
	T_EQ(twopc_participant_open(&p, e.file, "alpha", NULL), TWOPC_EINVAL);
	T_EQ(twopc_participant_open(&p, e.file, "alpha", &no_prepare), TWOPC_EINVAL);
	T_EQ(twopc_participant_open(&p, e.file, "alpha", &no_commit), TWOPC_EINVAL);
	T_EQ(twopc_participant_open(&p, e.file, "zeta", &kv_resource), TWOPC_ENOENT);
	T_EQ(twopc_participant_open(&p, e.file, "coord", &kv_resource), TWOPC_ENOENT);
	T_EQ(twopc_participant_open(&p, missing, "alpha", &kv_resource), TWOPC_ECONFIG);
	T_TRUE(p == NULL); /* never written on failure */
	T_EQ(twopc_participant_start(NULL), TWOPC_EINVAL);
	T_EQ(twopc_participant_stop(NULL), TWOPC_EINVAL);
	T_EQ(twopc_participant_wait(NULL), TWOPC_EINVAL);
	twopc_participant_close(NULL);

	T_EQ(twopc_participant_open(&p, e.file, "alpha", &kv_resource), 0);
	if (p != NULL) {
		T_EQ(twopc_participant_start(p), 0);
		T_EQ(twopc_participant_start(p), TWOPC_ESTATE);
		/* A second handle on the same entry cannot take its log (one
		 * process, here one handle, per log). */
		T_EQ(twopc_participant_open(&p2, e.file, "alpha", &kv_resource), TWOPC_ELOCKED);
		T_TRUE(p2 == NULL);
		T_EQ(twopc_participant_stop(p), 0);
		T_EQ(twopc_participant_wait(p), 0);
		twopc_participant_close(p);
	}
	/* Closing a handle that was never started. */
	p = NULL;
	T_EQ(twopc_participant_open(&p, e.file, "beta", &kv_resource), 0);
	twopc_participant_close(p);
	t_env_fini(&e);
}

/* ---- the background thread against a fake coordinator ---- */

/* Listen on the coordinator's URL with a REP socket. */
static int
t_fake_coord(t_env *e, nng_socket *out)
{
	nng_socket s;
	if (nng_rep0_open(&s) != 0)
		return -1;
	if (nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 100) != 0 || nng_listen(s, e->curl, NULL, 0) != 0) {
		rpc_close(s);
		CU_FAIL("cannot listen on the coordinator URL");
		return -1;
	}
	*out = s;
	return 0;
}

/* Receive one request (100 ms at most) into *REQ. 0 or -1. */
static int
t_fake_recv(nng_socket s, wire_msg *req)
{
	char *buf = NULL;
	size_t sz = 0;
	if (nng_recv(s, &buf, &sz, NNG_FLAG_ALLOC) != 0)
		return -1;
	int rv = wire_decode(buf, sz, req);
	nng_free(buf, sz);
	return rv == 0 ? 0 : -1;
}

static void
t_fake_reply(nng_socket s, int type, const char *txid, int state)
{
	wire_msg m;
	wire_buf b = { 0 };
	wire_msg_init(&m, type, 5, txid, "coord");
	m.state = (uint8_t)state;
	if (wire_encode(&m, &b) == 0)
		(void)nng_send(s, b.data, b.len, 0);
	wire_buf_free(&b);
}

/* Alpha alone, its coordinator the REP socket *FC of the test's own, and
 * t1 voted READY at epoch 5. 0, or -1 (asserted) with nothing left open. */
static int
t_env_fake(t_env *e, unsigned decision_ms, nng_socket *fc)
{
	if (t_env_init(e, decision_ms, 60000) != 0)
		return -1;
	if (t_fake_coord(e, fc) != 0) {
		t_env_fini(e);
		return -1;
	}
	if (t_part_up(e, 0) != 0) {
		nng_close(*fc);
		t_env_fini(e);
		return -1;
	}
	T_VOTE(e, 0, 5, "t1", "put k 1", WIRE_VOTE_COMMIT);
	return 0;
}

/*
 * Section 3: a READY participant without a decision asks the coordinator
 * (DECISION_REQUEST) and applies the answer.
 */
static void
test_sm_asks_decision(void)
{
	t_env e;
	nng_socket fc;
	wire_msg req;
	int asked = 0, done = 0;
	if (t_env_fake(&e, 200, &fc) != 0)
		return;
	/* Answer every question with COMMIT until the log says so. */
	for (int waited = 0; waited <= T_POLL_MS && !done; waited += 100) {
		if (t_fake_recv(fc, &req) == 0) {
			if (req.type == WIRE_DECISION_REQUEST && strcmp(req.txid, "t1") == 0 &&
			    strcmp(req.sender, "alpha") == 0 && req.epoch == 5)
				asked++;
			t_fake_reply(fc, WIRE_DECISION_REPLY, req.txid, TX_COMMIT);
			wire_msg_free(&req);
		}
		char sb[32];
		done = strcmp(t_state(e.logp[0], "t1", sb, sizeof(sb)), "COMMIT") == 0;
	}
	T_TRUE(asked >= 1);
	T_STATE(e.logp[0], "t1", "COMMIT");
	T_KV(e.logp[0], "k", "1");
	T_EQ(t_file_int(e.logp[0], SQL_NLOCKS, "t1"), 0);
	nng_close(fc);
	t_env_fini(&e);
}

/*
 * A participant asking a coordinator that does not answer must still close
 * promptly: the question's timeout is decision_timeout_ms (here 60 s).
 */
static void
test_sm_close_while_asking(void)
{
	t_env e;
	nng_socket fc;
	wire_msg req;
	int asked = 0;
	if (t_env_fake(&e, 60000, &fc) != 0)
		return;
	/* Make the READY record old enough to be asked about. */
	T_EQ(t_file_exec(e.logp[0],
	    "UPDATE txn SET updated_at = updated_at - 120000 WHERE txid = 't1'"), 0);
	for (int waited = 0; waited <= T_POLL_MS && !asked; waited += 100) {
		if (t_fake_recv(fc, &req) == 0) {
			asked = req.type == WIRE_DECISION_REQUEST && strcmp(req.txid, "t1") == 0;
			wire_msg_free(&req);
		}
	}
	T_TRUE(asked);
	/* Not answered: the background thread is inside its question. */
	int64_t t0 = mono_ms();
	t_part_down(&e, 0);
	int64_t took = mono_ms() - t0;
	/* Promptly: well under the question's 60 s timeout, with room for a
	 * busy machine. */
	t_check(took < 20000, __LINE__, "close took %lld ms while a question was pending",
	    (long long)took);
	/* Never decided alone. */
	T_STATE(e.logp[0], "t1", "READY");
	nng_close(fc);
	t_env_fini(&e);
}

/* ------------------------------------------------------------------ */
/* suite "statemachine": the coordinator with two participants         */

/* Cluster with alpha, beta and the coordinator (ACK_RETRY_MS as given). */
static int
t_env_cluster(t_env *e, unsigned ack_retry_ms)
{
	if (t_env_init(e, 60000, ack_retry_ms) != 0)
		return -1;
	if (t_part_up(e, 0) != 0 || t_part_up(e, 1) != 0 || t_coord_up(e) != 0) {
		t_env_fini(e);
		return -1;
	}
	int rv = twopc_client_open(&e->cl, e->file);
	T_EQ(rv, 0);
	if (rv != 0) {
		t_env_fini(e);
		return -1;
	}
	return 0;
}

/* Submit SPEC ("alpha put a 1, beta add n 5") as TXID (NULL: the
 * coordinator chooses). Returns the twopc_tx_commit result; *OUTCOME,
 * the txid and the reason are copied out. */
static int
t_submit(t_env *e, const char *txid, const char *spec, int *outcome, char *id, size_t idlen,
    char *reason, size_t rlen)
{
	twopc_tx *tx = NULL;
	char copy[512];
	char *save = NULL;
	int rv;

	*outcome = 0;
	if ((rv = twopc_tx_begin(e->cl, txid, &tx)) != 0)
		return rv;
	snprintf(copy, sizeof(copy), "%s", spec);
	for (char *it = strtok_r(copy, ",", &save); it != NULL && rv == 0;
	    it = strtok_r(NULL, ",", &save)) {
		char *s2 = NULL;
		char *part = strtok_r(it, " ", &s2);
		char *op = strtok_r(NULL, " ", &s2);
		char *key = strtok_r(NULL, " ", &s2);
		char *val = strtok_r(NULL, " ", &s2);
		rv = twopc_tx_add(tx, part, op, key, val);
	}
	if (rv == 0)
		rv = twopc_tx_commit(tx, T_RPC_MS, outcome);
	snprintf(id, idlen, "%s", twopc_tx_id(tx));
	snprintf(reason, rlen, "%s", twopc_tx_reason(tx));
	twopc_tx_free(tx);
	return rv;
}

static void
t_coord_decision(t_env *e, const char *txid, int want, int line)
{
	nng_socket s;
	wire_msg req, r;
	int rv;
	if (rpc_dial(e->curl, 0, &s) != 0) {
		CU_FAIL("rpc_dial coordinator");
		return;
	}
	wire_msg_init(&req, WIRE_DECISION_REQUEST, 1, txid, "alpha");
	rv = rpc_call(s, &req, &r, T_RPC_MS);
	if (rv != 0)
		wire_msg_init(&r, 0, 0, NULL, "none");
	t_check(rv == 0 && r.type == WIRE_DECISION_REPLY && r.state == want, line,
	    "coordinator DECISION_REQUEST %s: rv %d, reply %s %s, want %s", txid, rv,
	    r.type ? wire_type_name(r.type) : "none", tx_state_name(r.state), tx_state_name(want));
	wire_msg_free(&r);
	rpc_close(s);
}

/* 1 if ID is the coordinator's own txid with sequence number PREFIX's
 * (NAME-EPOCH-SEQ) and a random part of ten characters of [0-9a-z]. */
static int
t_own_txid(const char *id, const char *prefix)
{
	size_t n = strlen(prefix);
	if (strncmp(id, prefix, n) != 0 || id[n] != '-' || strlen(id + n + 1) != 10)
		return 0;
	return strspn(id + n + 1, "0123456789abcdefghijklmnopqrstuvwxyz") == 10;
}

T_ENV_CASE(co_commit, t_env_cluster(e, 60000))
{
	int outcome;
	char id[80], reason[256];
	T_EQ(t_submit(e, NULL, "alpha put a 1, beta put b 2, beta add n 5", &outcome, id,
	    sizeof(id), reason, sizeof(reason)), 0);
	T_EQ(outcome, TWOPC_COMMITTED);
	T_TRUE(t_own_txid(id, "coord-1-1"));
	char first[80];
	snprintf(first, sizeof(first), "%s", id);
	/* R2: by the time the client hears COMMIT, the commit point is
	 * durable: WAIT with every vote in (RESULT leaves then), or already
	 * the COMMIT record the step thread writes lazily after it, or END. */
	char sb[32];
	t_state(e->clogp, id, sb, sizeof(sb));
	t_check(strcmp(sb, "WAIT") == 0 || strcmp(sb, "COMMIT") == 0 || strcmp(sb, "END") == 0,
	    __LINE__, "%s at the coordinator is \"%s\" once COMMITTED was heard", id, sb);
	T_TRUE(t_poll(e->clogp, SQL_STATE, id, "END"));
	/* END only after every participant forced COMMIT and ACKed (R3);
	 * the acks are dropped with END, nothing needs them any more. */
	T_EQ(t_file_int(e->clogp, SQL_NACKS, id), 0);
	T_STATE(e->logp[0], id, "COMMIT");
	T_STATE(e->logp[1], id, "COMMIT");
	/* The run's epoch, unless FORGET (R9, after END) dropped the row
	 * since the line above. */
	long long ep = t_file_int(e->logp[0], SQL_EPOCH, id);
	t_check(ep == 1 || ep == -1, __LINE__, "epoch of %s at alpha is %lld, want 1", id, ep);
	T_EQ(t_file_int(e->clogp, SQL_META_EPOCH, NULL), 1);
	char parts[64];
	T_EQ(t_file_text(e->clogp, "SELECT participants FROM txn WHERE txid = ?1", id, parts,
	    sizeof(parts)), 1);
	T_STREQ(parts, "alpha,beta");
	T_TRUE(t_file_int(e->clogp, "SELECT decided_at FROM txn WHERE txid = ?1", id) > 0);
	T_KV(e->logp[0], "a", "1");
	T_KV(e->logp[1], "b", "2");
	T_KV(e->logp[1], "n", "5");
	T_KV(e->logp[0], "b", "(absent)"); /* work goes only where it was sent */
	for (int i = 0; i < 2; i++) {
		T_RELEASED(e->logp[i], id);
	}
	t_coord_decision(e, id, TX_COMMIT, __LINE__);
	t_coord_decision(e, "never-seen", TX_ABORT, __LINE__); /* R3: presumed */
	T_STATE(e->clogp, "never-seen", "");                     /* and not recorded */
	/* A second transaction gets the next sequence number. */
	T_EQ(t_submit(e, NULL, "alpha put a 2", &outcome, id, sizeof(id), reason,
	    sizeof(reason)), 0);
	T_EQ(outcome, TWOPC_COMMITTED);
	T_TRUE(t_own_txid(id, "coord-1-2"));
	T_TRUE(strcmp(id + strlen("coord-1-2-"), first + strlen("coord-1-1-")) != 0);
}

T_ENV_CASE(co_abort_by_vote, t_env_cluster(e, 60000))
{
	int outcome;
	char id[80], reason[256];
	T_EQ(t_submit(e, NULL, "alpha check x 1, beta put y 2", &outcome, id, sizeof(id),
	    reason, sizeof(reason)), 0);
	T_EQ(outcome, TWOPC_ABORTED);
	T_HAS(reason, "alpha: check failed");
	T_STATE(e->clogp, id, "ABORT"); /* decided before the RESULT left */
	T_EQ(t_file_int(e->clogp, SQL_NACKS, id), 0);
	T_STATE(e->logp[0], id, "ABORT");
	/* beta voted COMMIT and hears GLOBAL_ABORT (phase two, asynchronous). */
	T_TRUE(t_poll(e->logp[1], SQL_STATE, id, "ABORT"));
	T_RELEASED(e->logp[1], id);
	T_KV(e->logp[1], "y", "(absent)");
	t_coord_decision(e, id, TX_ABORT, __LINE__);
}

T_ENV_CASE(co_resubmit, t_env_cluster(e, 60000))
{
	int outcome;
	char id[80], reason[256];
	T_EQ(t_submit(e, "client-r1", "alpha add n 5, beta add n 5", &outcome, id, sizeof(id),
	    reason, sizeof(reason)), 0);
	T_EQ(outcome, TWOPC_COMMITTED);
	T_STREQ(id, "client-r1");
	T_TRUE(t_poll(e->clogp, SQL_STATE, "client-r1", "END"));
	/* R7: the same txid again returns the outcome, does not run again. */
	T_EQ(t_submit(e, "client-r1", "alpha add n 5, beta add n 5", &outcome, id, sizeof(id),
	    reason, sizeof(reason)), 0);
	T_EQ(outcome, TWOPC_COMMITTED);
	T_HAS(reason, "already known");
	T_KV(e->logp[0], "n", "5");
	T_KV(e->logp[1], "n", "5");

	/* An aborted txid stays aborted, even with work that would commit. */
	T_EQ(t_submit(e, "client-r2", "alpha add n -100, beta add n 1", &outcome, id, sizeof(id),
	    reason, sizeof(reason)), 0);
	T_EQ(outcome, TWOPC_ABORTED);
	T_HAS(reason, "insufficient");
	T_TRUE(t_poll(e->logp[1], SQL_STATE, "client-r2", "ABORT"));
	T_EQ(t_submit(e, "client-r2", "alpha add n 1, beta add n 1", &outcome, id, sizeof(id),
	    reason, sizeof(reason)), 0);
	T_EQ(outcome, TWOPC_ABORTED);
	T_HAS(reason, "already known");
	T_STATE(e->clogp, "client-r2", "ABORT");
	T_KV(e->logp[0], "n", "5");
	T_KV(e->logp[1], "n", "5");
}

T_ENV_CASE(co_unknown_participant, t_env_cluster(e, 60000))
{
	twopc_tx *tx = NULL;
	int outcome = 0;
	T_EQ(twopc_tx_begin(e->cl, "bad id", &tx), TWOPC_EINVAL);
	T_EQ(twopc_tx_begin(e->cl, NULL, &tx), 0);
	if (tx != NULL) {
		T_EQ(twopc_tx_add(tx, "zeta", "put", "k", "v"), TWOPC_ENOENT);
		T_EQ(twopc_tx_add(tx, "coord", "put", "k", "v"), TWOPC_ENOENT);
		T_EQ(twopc_tx_add(tx, "alpha", "frob", "k", "v"), TWOPC_EINVAL);
		T_EQ(twopc_tx_add(tx, "alpha", "add", "k", "x"), TWOPC_EINVAL);
		T_EQ(twopc_tx_commit(tx, T_RPC_MS, &outcome), TWOPC_EINVAL); /* no work */
		twopc_tx_free(tx);
	}
	/* The coordinator checks too: a SUBMIT naming an unknown participant
	 * is refused before anything is recorded. */
	nng_socket s;
	wire_msg req, r;
	t_ops o;
	char zeta[] = "zeta";
	wire_work w = { .participant = zeta };
	t_ops_parse(&o, "put k v");
	w.nops = o.n;
	w.ops = o.v;
	if (rpc_dial(e->curl, 0, &s) == 0) {
		wire_msg_init(&req, WIRE_SUBMIT, 0, "sub-zeta", "client");
		req.nwork = 1;
		req.work = &w;
		req.timeout_ms = T_RPC_MS;
		if (rpc_call(s, &req, &r, T_RPC_MS) != 0)
			wire_msg_init(&r, 0, 0, NULL, "none");
		T_TYPE(r, WIRE_ERROR);
		T_EQ(r.code, -TWOPC_ENOENT);
		T_HAS(r.text, "zeta");
		wire_msg_free(&r);
		rpc_close(s);
	} else {
		CU_FAIL("rpc_dial coordinator");
	}
	T_EQ(t_file_int(e->clogp, "SELECT count(*) FROM txn", NULL), 0);
}

/* Prepare the coordinator's log before it starts. */
static int
t_clog_prepare(t_env *e, const char *txid, tx_state st, uint64_t epoch)
{
	db *d = NULL;
	int rv = db_open(e->clogp, 1, clog_schema, &d);
	if (rv == 0) {
		int64_t now = db_now_ms();
		rv = clog_put(d, txid, st, "alpha,beta", now, st == TX_WAIT ? 0 : now);
	}
	/* The epoch the log ran TXID in (0: none yet): a log older than the
	 * participants' epochs is refused at start (cepoch.c). */
	if (rv == 0 && epoch > 0)
		rv = clog_meta_put(d, "epoch", epoch);
	db_close(d);
	T_EQ(rv, 0);
	return rv;
}

static void
test_co_recover_wait(void)
{
	t_env e;
	if (t_env_init(&e, 60000, 60000) != 0)
		return;
	if (t_part_up(&e, 0) != 0 || t_part_up(&e, 1) != 0 || t_clog_prepare(&e, "w-1", TX_WAIT, 0) != 0) {
		t_env_fini(&e);
		return;
	}
	if (t_coord_up(&e) == 0) {
		/* Recovery ran before coord_start returned: WAIT -> ABORT. */
		T_STATE(e.clogp, "w-1", "ABORT");
		T_TRUE(t_file_int(e.clogp, "SELECT decided_at FROM txn WHERE txid = ?1", "w-1") > 0);
		T_EQ(t_file_int(e.clogp, SQL_META_EPOCH, NULL), 1);
		/* ... and the participants hear GLOBAL_ABORT. */
		T_TRUE(t_poll(e.logp[0], SQL_STATE, "w-1", "ABORT"));
		T_TRUE(t_poll(e.logp[1], SQL_STATE, "w-1", "ABORT"));
		t_coord_decision(&e, "w-1", TX_ABORT, __LINE__);
	}
	t_env_fini(&e);
}

static void
test_co_recover_commit(void)
{
	t_env e;
	if (t_env_init(&e, 60000, 60000) != 0)
		return;
	if (t_part_up(&e, 0) != 0 || t_part_up(&e, 1) != 0) {
		t_env_fini(&e);
		return;
	}
	/* Both READY at epoch 1, the epoch the log ran c-1 in; the
	 * coordinator restarts at 2. */
	T_VOTE(&e, 0, 1, "c-1", "put k 1", WIRE_VOTE_COMMIT);
	T_VOTE(&e, 1, 1, "c-1", "put k 2", WIRE_VOTE_COMMIT);
	if (t_clog_prepare(&e, "c-1", TX_COMMIT, 1) == 0 && t_coord_up(&e) == 0) {
		/* COMMIT not END: GLOBAL_COMMIT is resent until every ACK. */
		T_TRUE(t_poll(e.clogp, SQL_STATE, "c-1", "END"));
		T_EQ(t_file_int(e.clogp, SQL_NACKS, "c-1"), 0); /* dropped with END */
		/* Each COMMIT is forced and applied; after END the resender's
		 * same first pass may already have sent FORGET (R9), so the
		 * record is COMMIT or gone, never anything else. */
		for (int i = 0; i < 2; i++) {
			char sb[32];
			t_state(e.logp[i], "c-1", sb, sizeof(sb));
			t_check(strcmp(sb, "COMMIT") == 0 || sb[0] == '\0', __LINE__,
			    "%s: c-1 is \"%s\", want COMMIT or forgotten", t_names[i], sb);
			T_EQ(t_file_int(e.logp[i], SQL_NWS, "c-1"), 0);
		}
		T_KV(e.logp[0], "k", "1");
		T_KV(e.logp[1], "k", "2");
		T_EQ(t_file_int(e.logp[0], SQL_NLOCKS, "c-1"), 0);
		T_EQ(t_file_int(e.logp[1], SQL_NLOCKS, "c-1"), 0);
	}
	t_env_fini(&e);
}

/* R9: after END, the participants drop their COMMIT records (FORGET). */
T_ENV_CASE(co_forget, t_env_cluster(e, 50))
{
	int outcome;
	char id[80], reason[256];
	T_EQ(t_submit(e, NULL, "alpha put a 1, beta put b 1", &outcome, id, sizeof(id), reason,
	    sizeof(reason)), 0);
	T_EQ(outcome, TWOPC_COMMITTED);
	T_TRUE(t_poll(e->clogp, SQL_STATE, id, "END"));
	T_TRUE(t_poll(e->logp[0], SQL_STATE, id, ""));
	T_TRUE(t_poll(e->logp[1], SQL_STATE, id, ""));
	T_STATE(e->clogp, id, "END"); /* the coordinator keeps END (R7 retention) */
	T_KV(e->logp[0], "a", "1");
	T_KV(e->logp[1], "b", "1");
}

static void
test_co_epoch_per_start(void)
{
	t_env e;
	if (t_env_init(&e, 60000, 60000) != 0)
		return;
	for (uint64_t want = 1; want <= 3; want++) {
		if (t_coord_up(&e) != 0)
			break;
		T_EQ(atomic_load(&e.c.epoch), want);
		T_EQ(t_file_int(e.clogp, SQL_META_EPOCH, NULL), (long long)want);
		t_coord_down(&e);
	}
	t_env_fini(&e);
}

/* ------------------------------------------------------------------ */
/* registration                                                        */

/* A SUBMIT whose vote round is in flight when the coordinator stops. */
typedef struct t_stop_submit {
	t_env *e;
	int rv, outcome;
	char reason[256];
} t_stop_submit;

static void *
t_stop_submit_main(void *arg)
{
	t_stop_submit *s = arg;
	char id[80];
	s->rv = t_submit(s->e, "stop-1", "alpha put a 1, beta put b 2", &s->outcome, id, sizeof(id),
	    s->reason, sizeof(s->reason));
	return NULL;
}

/* coord_stop with a vote batch in flight (beta is down, so its call runs
 * to the vote timeout): the stop waits for the flow, which aborts and
 * answers the client; its batch, aio and message are freed (the ASan
 * build's leak check at exit sees any that is not), and the decision is
 * in the log. */
static void
test_co_stop_vote_in_flight(void)
{
	t_env e;
	pthread_t th;
	if (t_env_init(&e, 60000, 60000) != 0)
		return;
	if (t_part_up(&e, 0) != 0 || t_coord_up(&e) != 0 ||
	    twopc_client_open(&e.cl, e.file) != 0) {
		CU_FAIL("cannot start alpha and the coordinator");
		t_env_fini(&e);
		return;
	}
	t_stop_submit s = { .e = &e, .rv = -1 };
	if (pthread_create(&th, NULL, t_stop_submit_main, &s) != 0) {
		CU_FAIL("pthread_create");
		t_env_fini(&e);
		return;
	}
	/* WAIT is written before the vote batch starts. */
	T_TRUE(t_poll(e.clogp, SQL_STATE, "stop-1", "WAIT"));
	int64_t t0 = mono_ms();
	t_coord_down(&e);
	int64_t took = mono_ms() - t0;
	pthread_join(th, NULL);
	/* The server stops taking requests first, so the answer may not get
	 * out (rv TWOPC_ENET); if it does, it is ABORTED, never COMMITTED. */
	t_check(s.rv != 0 || s.outcome == TWOPC_ABORTED, __LINE__, "rv %d, outcome %d (%s)", s.rv,
	    s.outcome, s.reason);
	/* Bounded by the vote timeout (3 s) and the GLOBAL_ABORT to alpha;
	 * the bound leaves a busy machine room, a stop that hangs fails it. */
	t_check(took < 20000, __LINE__, "coord_stop took %lld ms", (long long)took);
	T_STATE(e.clogp, "stop-1", "ABORT");
	t_env_fini(&e);
}

static const tu_test t_logs_cases[] = {
	{ "plog schema: DESIGN tables and columns", test_plog_schema },
	{ "plog put/get/delete round trip, ENOENT", test_plog_put_get },
	{ "plog lock: mine again OK, other EBUSY with holder", test_plog_lock },
	{ "plog release: workspace and locks of one txid", test_plog_release },
	{ "plog stage + ws_load in seq order", test_plog_stage_order },
	{ "plog epoch get/set survives reopen", test_plog_epoch },
	{ "plog each: filter by state, oldest first, limit", test_plog_each },
	{ "plog expire: only old ABORT rows", test_plog_expire },
	{ "ptxn: every transition against the state table", test_ptxn_table },
	{ "clog schema: DESIGN tables and columns", test_clog_schema },
	{ "clog epoch_next 1, 2, 3 across reopen", test_clog_epoch_next },
	{ "clog epoch that is not a number is refused", test_clog_epoch_garbage },
	{ "clog put/get/set_state", test_clog_put_get },
	{ "clog acks idempotent", test_clog_acks },
	{ "clog each by state, oldest first", test_clog_each },
	{ "clog expire END/ABORT and their acks only", test_clog_expire },
	{ "db WAL, group commit: one sync covers many forced commits", test_db_pragmas },
	{ "db WAL writes: a commit's frames in the file at COMMIT, gathered", test_db_walbuf },
	{ "db open errors: TWOPC_EIO, output untouched", test_db_open_errors },
	{ "db commit that cannot write: TWOPC_EIO, rolled back", test_db_commit_eio },
};

static const tu_test t_sm_cases[] = {
	{ "VOTE_REQUEST -> VOTE_COMMIT, READY forced with workspace+locks", test_sm_vote_commit },
	{ "duplicate VOTE_REQUEST -> same vote, no second workspace", test_sm_vote_duplicate },
	{ "GLOBAL_COMMIT applies once, ACK COMMIT twice (R4)", test_sm_global_commit },
	{ "lock conflict -> busy naming the holder, nothing kept (R5); abort frees", test_sm_lock_conflict },
	{ "kv votes: insufficient, check mismatch, exact zero", test_sm_kv_votes },
	{ "GLOBAL_ABORT before vote, late VOTE_REQUEST -> VOTE_ABORT", test_sm_abort_before_vote },
	{ "DECISION_REQUEST unknown -> ABORT forced (R8)", test_sm_decision_unknown },
	{ "forced ABORT at newer epoch survives older VOTE_REQUEST", test_sm_decision_newer_epoch },
	{ "DECISION_REQUEST READY/COMMIT/ABORT answered from log", test_sm_decision_known },
	{ "stale epoch -> ERROR TWOPC_ESTALE (R6)", test_sm_stale_epoch },
	{ "newer epoch supersedes an old READY (R7)", test_sm_new_epoch_supersedes },
	{ "COMMIT of older epoch + new run -> VOTE_ABORT", test_sm_committed_old_epoch },
	{ "GLOBAL_COMMIT unknown txid -> ERROR TWOPC_ENOENT", test_sm_commit_unknown },
	{ "FORGET drops COMMIT only (R9)", test_sm_forget },
	{ "STATUS_REQUEST single and list", test_sm_status },
	{ "malformed messages: no reply, counted, still serving", test_sm_malformed },
	{ "restart keeps READY, locks and epoch; commit after", test_sm_restart },
	{ "API misuse: exact error codes", test_sm_api_misuse },
	{ "READY asks the coordinator and applies COMMIT", test_sm_asks_decision },
	{ "close while a decision question is pending", test_sm_close_while_asking },
	{ "coordinator: commit reaches END, epoch 1", test_co_commit },
	{ "coordinator: abort by vote, GLOBAL_ABORT delivered", test_co_abort_by_vote },
	{ "coordinator: resubmit of client txid applies once (R7)", test_co_resubmit },
	{ "coordinator: unknown participant -> TWOPC_ENOENT", test_co_unknown_participant },
	{ "coordinator: restart WAIT -> ABORT + GLOBAL_ABORT", test_co_recover_wait },
	{ "coordinator: restart COMMIT -> GLOBAL_COMMIT -> END", test_co_recover_commit },
	{ "coordinator: END then FORGET at participants", test_co_forget },
	{ "coordinator: epoch incremented at every start", test_co_epoch_per_start },
	{ "coordinator: stop with a vote batch in flight", test_co_stop_vote_in_flight },
};

void
test_logs_register(void)
{
	/* NNG's REQ resends and our own sockets may outlive a dead peer for a
	 * moment: a send to a closed pipe must not kill the test runner. */
	signal(SIGPIPE, SIG_IGN);
	TU_SUITE("logs", t_logs_cases);
	TU_SUITE("statemachine", t_sm_cases);
}
