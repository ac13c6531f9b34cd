/*
 * heur.c - the heuristic table's SQL (see heur.h).
 */
#include "heur.h"

#include <stdio.h>
#include <string.h>

#include "serve.h"
#include "twopc/error.h"

enum { S_HEUR_PUT = 50, S_HEUR_GET, S_HEUR_DEL, S_HEUR_EACH };

int
heur_put(db *d, const char *txid, const char *outcome, const char *note)
{
	sqlite3_stmt *st = db_stmt(d, S_HEUR_PUT,
	    "INSERT OR REPLACE INTO heuristic(txid, outcome, decided_at, note) VALUES (?1, ?2, ?3, ?4)");
	if (st == NULL)
		return TWOPC_EIO;
	sqlite3_bind_text(st, 1, txid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, outcome, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, db_now_ms());
	sqlite3_bind_text(st, 4, note ? note : "", -1, SQLITE_STATIC);
	return db_step_done(d, st);
}

static int
heur_get_row(sqlite3_stmt *st, void *out)
{
	heur_row *r = out;
	memset(r, 0, sizeof(*r));
	db_col_text(st, 0, r->outcome, sizeof(r->outcome), "?");
	r->decided_at = sqlite3_column_int64(st, 1);
	db_col_text(st, 2, r->note, sizeof(r->note), "");
	return 0;
}

/* The reader cannot fail, and db_get_by_key calls it only for a row: *OUT
 * is written only when the answer is 0. */
int
heur_get(db *d, const char *txid, heur_row *out)
{
	return db_get_by_key(d, S_HEUR_GET,
	    "SELECT outcome, decided_at, note FROM heuristic WHERE txid = ?1", txid, heur_get_row,
	    out);
}

int
heur_del(db *d, const char *txid)
{
	if (db_run_by_key(d, S_HEUR_DEL, "DELETE FROM heuristic WHERE txid = ?1", txid, NULL) != 0)
		return TWOPC_EIO;
	return sqlite3_changes(db_sqlite(d)) > 0;
}

/* heur_each's FN and ARG, called back by db_each. */
typedef struct { heur_each_fn fn; void *arg; } heur_each_cb;

static void
heur_each_one(void *cb, const char *txid, void *r)
{
	((heur_each_cb *)cb)->fn(((heur_each_cb *)cb)->arg, txid, r);
}

int
heur_each(db *d, size_t limit, heur_each_fn fn, void *arg)
{
	/* The txid last: db_each's key; the rest is heur_get's row. */
	sqlite3_stmt *st = db_stmt(d, S_HEUR_EACH,
	    "SELECT outcome, decided_at, note, txid FROM heuristic ORDER BY decided_at LIMIT ?1");
	heur_row r;
	if (st == NULL)
		return TWOPC_EIO;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)limit);
	return db_each(st, heur_get_row, &r, heur_each_one,
	    &(heur_each_cb){ fn, arg });
}

void
heur_describe(const heur_row *r, char *buf, size_t len)
{
	if (strcmp(r->outcome, HEUR_VIOLATION) == 0)
		snprintf(buf, len, "VIOLATION: %s", r->note);
	else
		snprintf(buf, len, "heuristic %s: %s", r->outcome, r->note);
}

void
heur_note(db *d, const char *txid, char *buf, size_t len)
{
	heur_row r;
	buf[0] = '\0';
	if (heur_get(d, txid, &r) == 0)
		heur_describe(&r, buf, len);
}

int
heur_damaged(const char *detail)
{
	return detail != NULL && (strstr(detail, "heuristic COMMIT") != NULL ||
	    strstr(detail, "heuristic ABORT") != NULL || strstr(detail, "VIOLATION: ") != NULL);
}

typedef struct heur_list {
	statlist *l;
	int64_t now;
	const char *only;
	heur_log_fn log;
	void *arg;
} heur_list;

static void
heur_status_add(void *arg, const char *txid, const heur_row *r)
{
	heur_list *hl = arg;
	tx_state state = TX_NONE;
	uint64_t epoch = 0;
	/* CTX holds "participants=" and WIRE_MAX_WORK names; DETAIL all of it. */
	char ctx[2360], what[HEUR_NOTE_MAX + 32], detail[HEUR_NOTE_MAX + 2400];
	if (hl->log(hl->arg, txid, &state, &epoch, ctx, sizeof(ctx)) && hl->only == NULL)
		return;
	heur_describe(r, what, sizeof(what));
	snprintf(detail, sizeof(detail), "%s; %s", ctx, what);
	(void)statlist_add(hl->l, txid, state, epoch, serve_age_ms(hl->now, r->decided_at), detail);
}

void
heur_status(db *d, statlist *l, const char *only, int64_t now, heur_log_fn log, void *arg)
{
	heur_list hl = { .l = l, .now = now, .only = only, .log = log, .arg = arg };
	heur_row r;
	if (only != NULL) {
		if (heur_get(d, only, &r) == 0)
			heur_status_add(&hl, only, &r);
		return;
	}
	(void)heur_each(d, 256, heur_status_add, &hl);
}
