/*
 * checker.c - see checker.h.
 */
#include "checker.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "db.h"
#include "twopc/client.h"


typedef struct chk_row {
	char txid[65];
	char state[12];
	int solo;      /* participant row whose peers is itself alone: one-phase */
} chk_row;

typedef struct chk_log {
	chk_row *rows;
	size_t n;
} chk_log;

static void
chk_report(char *report, size_t len, const char *fmt, ...)
{
	size_t at = strlen(report);
	va_list ap;
	if (at + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(report + at, len - at, fmt, ap);
	va_end(ap);
	at = strlen(report);
	if (at + 1 < len) {
		report[at] = '\n';
		report[at + 1] = '\0';
	}
}

static int
chk_row_cmp(const void *a, const void *b)
{
	return strcmp(((const chk_row *)a)->txid, ((const chk_row *)b)->txid);
}

/* Every txn row of node I, sorted by txid. */
static int
chk_load(hcluster *c, int i, chk_log *log)
{
	const char *sql = i == 0 ? "SELECT txid, state, 0 FROM txn" :
	    "SELECT txid, state, instr(peers, ',') = 0 FROM txn";
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;
	memset(log, 0, sizeof(*log));
	if (sqlite3_open_v2(c->logs[i], &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		sqlite3_close(h);
		return -1;
	}
	sqlite3_busy_timeout(h, 2000);
	size_t cap = 0;
	if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK) {
		sqlite3_close(h);
		return -1;
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (log->n == cap) {
			cap = cap ? cap * 2 : 4096;
			chk_row *rows = realloc(log->rows, cap * sizeof(*rows));
			if (rows == NULL) {
				sqlite3_finalize(st);
				sqlite3_close(h);
				return -1;
			}
			log->rows = rows;
		}
		snprintf(log->rows[log->n].txid, sizeof(log->rows[0].txid), "%s",
		    (const char *)sqlite3_column_text(st, 0));
		snprintf(log->rows[log->n].state, sizeof(log->rows[0].state), "%s",
		    (const char *)sqlite3_column_text(st, 1));
		log->rows[log->n].solo = sqlite3_column_int(st, 2);
		log->n++;
	}
	sqlite3_finalize(st);
	sqlite3_close(h);
	if (log->n > 0)
		qsort(log->rows, log->n, sizeof(*log->rows), chk_row_cmp);
	return 0;
}

static const chk_row *
chk_find_row(const chk_log *log, const char *txid)
{
	chk_row key;
	if (log->n == 0)
		return NULL;
	snprintf(key.txid, sizeof(key.txid), "%s", txid);
	return bsearch(&key, log->rows, log->n, sizeof(*log->rows), chk_row_cmp);
}

static const char *
chk_find(const chk_log *log, const char *txid)
{
	const chk_row *r = chk_find_row(log, txid);
	return r ? r->state : NULL;
}

long long
chk_bank_total(hcluster *c)
{
	twopc_client *cl;
	long long total = 0;
	if (twopc_client_open(&cl, c->file) != 0)
		return -1;
	for (int i = 1; i < c->nnodes && total >= 0; i++) {
		for (int a = 0; a < CHK_ACCOUNTS; a++) {
			char key[16], val[64];
			int found = 0;
			snprintf(key, sizeof(key), "acct%d", a);
			if (twopc_client_get(cl, c->names[i], key, val, sizeof(val), &found, 5000) != 0) {
				total = -1;
				break;
			}
			if (found)
				total += strtoll(val, NULL, 10);
		}
	}
	hc_client_close(cl);
	return total;
}

int
chk_wait_quiescent(hcluster *c, int timeout_ms)
{
	int64_t end = mono_ms() + timeout_ms;
	for (;;) {
		long long busy = hc_query_int(c, 0,
		    "SELECT count(*) FROM txn WHERE state IN ('WAIT', 'COMMIT')");
		for (int i = 1; i < c->nnodes && busy == 0; i++)
			busy += hc_query_int(c, i,
			    "SELECT (SELECT count(*) FROM txn WHERE state IN ('READY', 'INIT')) + "
			    "(SELECT count(*) FROM locks) + (SELECT count(*) FROM workspace)");
		if (busy == 0)
			return 0;
		if (mono_ms() >= end)
			return -1;
		struct timespec ts = { 0, 20 * 1000000L };
		nanosleep(&ts, NULL);
	}
}

int
chk_cluster(hcluster *c, const chk_txn *told, size_t n, long long total, int live,
    char *report, size_t len, chk_counts *counts)
{
	chk_log logs[HC_MAX_NODES];
	chk_counts k = { 0 };
	int ok = 1;

	for (int i = 0; i < c->nnodes; i++)
		if (chk_load(c, i, &logs[i]) != 0) {
			chk_report(report, len, "error: cannot read the log of %s", c->names[i]);
			ok = 0;
		}
	if (!ok)
		goto done;

	/* Atomicity and validity, over every txid any participant knows. */
	for (int i = 1; i < c->nnodes; i++) {
		for (size_t r = 0; r < logs[i].n; r++) {
			const chk_row *row = &logs[i].rows[r];
			if (strcmp(row->state, "COMMIT") != 0)
				continue;
			for (int j = 1; j < c->nnodes; j++) {
				const char *s = chk_find(&logs[j], row->txid);
				if (j != i && s != NULL && strcmp(s, "ABORT") == 0) {
					chk_report(report, len, "atomicity: %s is COMMIT at %s and ABORT at %s",
					    row->txid, c->names[i], c->names[j]);
					k.atomicity++;
				}
			}
			const char *cs = chk_find(&logs[0], row->txid);
			/* One-phase: the participant's COMMIT is the decision; the
			 * coordinator's lazy record may be WAIT or gone, never ABORT. */
			if (row->solo && (cs == NULL || strcmp(cs, "ABORT") != 0))
				continue;
			/* WAIT: the commit point is WAIT durable and every vote yes
			 * (R2); the COMMIT record is lazy, and a coordinator that
			 * died after GLOBAL_COMMIT left may hold WAIT (a restart
			 * settles it from the participants; liveness checks that). */
			if (cs == NULL || (strcmp(cs, "COMMIT") != 0 && strcmp(cs, "END") != 0 &&
			    strcmp(cs, "WAIT") != 0)) {
				chk_report(report, len, "validity: %s is COMMIT at %s but %s at the coordinator",
				    row->txid, c->names[i], cs ? cs : "unknown");
				k.validity++;
			}
		}
	}
	/* What the client was told. */
	for (size_t t = 0; t < n; t++) {
		const char *cs = chk_find(&logs[0], told[t].txid);
		if (told[t].told == CHK_TOLD_ABORTED) {
			for (int i = 1; i < c->nnodes; i++) {
				const char *s = chk_find(&logs[i], told[t].txid);
				if (s != NULL && strcmp(s, "COMMIT") == 0) {
					chk_report(report, len, "validity: %s told ABORTED but COMMIT at %s",
					    told[t].txid, c->names[i]);
					k.validity++;
				}
			}
			if (cs != NULL && (strcmp(cs, "COMMIT") == 0 || strcmp(cs, "END") == 0)) {
				chk_report(report, len, "validity: %s told ABORTED but %s at the coordinator",
				    told[t].txid, cs);
				k.validity++;
			}
		} else if (told[t].told == CHK_TOLD_COMMITTED) {
			int end = cs != NULL && strcmp(cs, "END") == 0;
			int solo_commit = 0;
			for (int i = 1; i < c->nnodes; i++) {
				const chk_row *r = chk_find_row(&logs[i], told[t].txid);
				solo_commit |= r != NULL && r->solo && strcmp(r->state, "COMMIT") == 0;
			}
			int wait_ok = !live && cs != NULL && strcmp(cs, "WAIT") == 0; /* as above */
			if (!solo_commit && !wait_ok && (cs == NULL || (strcmp(cs, "COMMIT") != 0 && !end))) {
				chk_report(report, len, "durability: %s told COMMITTED but %s at the coordinator",
				    told[t].txid, cs ? cs : "unknown");
				k.durability++;
			}
			for (int i = 1; i < c->nnodes; i++) {
				const char *s = chk_find(&logs[i], told[t].txid);
				if (s == NULL && end)
					continue; /* forgotten after END (R9), or not a participant */
				if (s != NULL && strcmp(s, "COMMIT") != 0 && (live || strcmp(s, "READY") != 0)) {
					chk_report(report, len, "durability: %s told COMMITTED but %s at %s",
					    told[t].txid, s, c->names[i]);
					k.durability++;
				}
			}
		}
	}
	if (total >= 0) {
		long long got = chk_bank_total(c);
		if (got != total) {
			chk_report(report, len, "conservation: bank total is %lld, expected %lld", got, total);
			k.conservation++;
		}
	}
	if (live) {
		for (int i = 0; i < c->nnodes; i++) {
			for (size_t r = 0; r < logs[i].n; r++) {
				const char *s = logs[i].rows[r].state;
				if ((i == 0 && (strcmp(s, "WAIT") == 0 || strcmp(s, "COMMIT") == 0)) ||
				    (i > 0 && (strcmp(s, "READY") == 0 || strcmp(s, "INIT") == 0))) {
					chk_report(report, len, "liveness: %s still %s at %s",
					    logs[i].rows[r].txid, s, c->names[i]);
					k.liveness++;
				}
			}
			if (i > 0) {
				long long l = hc_query_int(c, i,
				    "SELECT (SELECT count(*) FROM locks) + (SELECT count(*) FROM workspace)");
				if (l != 0) {
					chk_report(report, len, "liveness: %lld lock/workspace rows left at %s",
					    l, c->names[i]);
					k.liveness++;
				}
			}
		}
	}
done:
	for (int i = 0; i < c->nnodes; i++)
		free(logs[i].rows);
	if (counts != NULL)
		*counts = k;
	return k.atomicity + k.validity + k.durability + k.conservation + k.liveness + !ok;
}
