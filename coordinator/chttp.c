/*
 * chttp.c - what the coordinator's HTTP server (httpd.h) shows: its
 * health, its metrics and a status page of the transactions in flight
 * (the running table: SUBMITs not yet decided) and in doubt (WAIT records
 * of the log with no run in this process: recovery could not settle
 * them, section 3), each with its age.
 *
 * Read-only and bounded: the lists stop at HTTPD_ROWS rows, the counts
 * of the log at CHTTP_COUNT_MAX (then shown as "at least"), and the log
 * is read under db_lock only for that many rows of the state index.
 */
#include "coord.h"

#include <stdio.h>
#include <string.h>

#include "clog.h"
#include "histo.h"
#include "httpd.h"
#include "serve.h"
#include "statlist.h"
#include "txstate.h"

#define CHTTP_COUNT_MAX 10000

static int
chttp_healthy(void *user, char *why, size_t len)
{
	coord *c = user;
	return httpd_health(why, len, runstate_failed(&c->run), atomic_load(&c->fenced) ?
	    "fenced: a newer coordinator epoch exists" : NULL, coord_stopping(c),
	    atomic_load(&c->ready));
}

/* The log's WAIT and COMMIT rows, read for a count or a table. */
typedef struct chttp_scan {
	coord *c;
	int64_t now;
	httpd_rows r;
} chttp_scan;

/* A WAIT row with no run here is in doubt (db lock held; takes c->mtx:
 * the order is db_lock, then c->mtx). */
static void
chttp_wait_row(void *arg, const char *txid, const clog_txn *t)
{
	chttp_scan *s = arg;
	pthread_mutex_lock(&s->c->mtx);
	int running = coord_running_find(s->c, txid) != NULL;
	pthread_mutex_unlock(&s->c->mtx);
	if (running || !httpd_row(&s->r))
		return;
	hbuf_printf(s->r.b, "<tr><td>");
	hbuf_code(s->r.b, txid);
	hbuf_printf(s->r.b, "</td><td class=\"n\">");
	hbuf_age(s->r.b, serve_age_ms(s->now, t->created_at));
	hbuf_printf(s->r.b, "</td><td>");
	hbuf_html(s->r.b, t->participants);
	hbuf_printf(s->r.b, "</td></tr>\n");
}

static void
chttp_count_row(void *arg, const char *txid, const clog_txn *t)
{
	(void)txid;
	(void)t;
	(void)httpd_row(&((chttp_scan *)arg)->r);
}

/* How many WAIT rows are in doubt, and COMMIT rows await ACKs. */
static void
chttp_log_counts(coord *c, size_t *in_doubt, size_t *unacked)
{
	chttp_scan w = { .c = c }, k = { .c = c };
	db_lock(c->db);
	(void)clog_each(c->db, TX_WAIT, CHTTP_COUNT_MAX, chttp_wait_row, &w);
	(void)clog_each(c->db, TX_COMMIT, CHTTP_COUNT_MAX, chttp_count_row, &k);
	db_unlock(c->db);
	*in_doubt = w.r.n;
	*unacked = k.r.n;
}

static size_t
chttp_running_count(coord *c)
{
	size_t n = 0;
	pthread_mutex_lock(&c->mtx);
	for (coord_txn *t = c->running; t != NULL; t = t->next)
		n++;
	pthread_mutex_unlock(&c->mtx);
	return n;
}

static void
chttp_metrics(void *user, hbuf *b)
{
	coord *c = user;
	static const char *const outcomes[COORD_OUT_N] = { "committed", "aborted", "unknown" };
	statlist extra;
	size_t in_doubt, unacked;

	if (statlist_init(&extra, 2) == 0) {
		(void)statlist_add(&extra, "resend_cycles", 0, atomic_load(&c->viol.resend_cycles), 0, "");
		serve_metrics(b, c->db, c->srv, &extra);
		statlist_free(&extra);
	}
	hbuf_metric_head(b, "coordinator_transactions_total", "counter",
	    "Transactions run by this process, by the outcome its client was told.");
	for (int i = 0; i < COORD_OUT_N; i++)
		hbuf_printf(b, "twopc_coordinator_transactions_total{outcome=\"%s\"} %llu\n", outcomes[i],
		    (unsigned long long)atomic_load(&c->outcomes[i]));
	hbuf_metric_head(b, "coordinator_result_seconds", "histogram",
	    "Time from a SUBMIT taken to its RESULT sent (what the client waits), by outcome.");
	for (int i = 0; i < COORD_OUT_N; i++) {
		char label[32];
		snprintf(label, sizeof(label), "outcome=\"%s\"", outcomes[i]);
		hbuf_histo(b, "coordinator_result_seconds", label, &c->result_time[i]);
	}
	hbuf_metric(b, "coordinator_in_flight", "gauge",
	    "Transactions submitted and not yet decided.", chttp_running_count(c));
	chttp_log_counts(c, &in_doubt, &unacked);
	hbuf_metric(b, "coordinator_in_doubt", "gauge",
	    "WAIT records without a decision or a run (counted up to 10000).", in_doubt);
	hbuf_metric(b, "coordinator_commit_unacked", "gauge",
	    "COMMIT records waiting for ACKs before END (counted up to 10000).", unacked);
	hbuf_metric(b, "coordinator_epoch", "gauge", "The coordinator's epoch.",
	    atomic_load(&c->epoch));
	hbuf_metric(b, "participants", "gauge", "Participants in the cluster file.",
	    c->cfg->nparticipants);
}

/* The running table, at most HTTPD_ROWS rows (c->mtx, briefly). */
static void
chttp_page_running(coord *c, hbuf *b, int64_t now)
{
	httpd_rows r = { .b = b };
	hbuf_printf(b, "<h2>In flight</h2>\n<table id=\"in-flight\"><tr><th>transaction</th>"
	    "<th>state</th><th>age</th><th>participants</th></tr>\n");
	pthread_mutex_lock(&c->mtx);
	size_t nparts = c->cfg->nparticipants;
	for (coord_txn *t = c->running; t != NULL; t = t->next) {
		if (!httpd_row(&r))
			continue;
		hbuf_printf(b, "<tr><td>");
		hbuf_code(b, t->txid);
		hbuf_printf(b, "</td><td>%s</td><td class=\"n\">", tx_state_name(t->state));
		hbuf_age(b, serve_age_ms(now, t->since_ms));
		hbuf_printf(b, "</td><td>");
		for (size_t i = 0; i < t->nparts && i < WIRE_MAX_WORK; i++)
			if (t->parts[i] >= 0 && (size_t)t->parts[i] < nparts) {
				hbuf_printf(b, "%s", i ? ", " : "");
				hbuf_html(b, c->cfg->participants[t->parts[i]].name);
			}
		hbuf_printf(b, "</td></tr>\n");
	}
	pthread_mutex_unlock(&c->mtx);
	httpd_rows_end(&r, "in flight");
}

static void
chttp_page(void *user, hbuf *b)
{
	coord *c = user;
	int64_t now = db_now_ms();

	hbuf_printf(b, "<p>Epoch %llu; %zu participants; listening on ",
	    (unsigned long long)atomic_load(&c->epoch), c->cfg->nparticipants);
	hbuf_code(b, c->cfg->coordinator.listen);
	hbuf_printf(b, "; runs ended: %llu committed, %llu aborted, %llu unknown.</p>\n",
	    (unsigned long long)atomic_load(&c->outcomes[COORD_OUT_COMMITTED]),
	    (unsigned long long)atomic_load(&c->outcomes[COORD_OUT_ABORTED]),
	    (unsigned long long)atomic_load(&c->outcomes[COORD_OUT_UNKNOWN]));
	chttp_page_running(c, b, now);

	chttp_scan s = { .c = c, .now = now, .r = { .b = b } };
	hbuf_printf(b, "<h2>In doubt</h2>\n<p>WAIT records with no decision and no run: the "
	    "participants are asked until each answers (<code>twopc list --in-doubt</code>).</p>\n"
	    "<table id=\"in-doubt\"><tr><th>transaction</th><th>age</th><th>participants</th></tr>\n");
	db_lock(c->db);
	(void)clog_each(c->db, TX_WAIT, CHTTP_COUNT_MAX, chttp_wait_row, &s);
	db_unlock(c->db);
	httpd_rows_end(&s.r, "in doubt");
}

int
chttp_start(coord *c)
{
	char title[96];
	if (c->cfg->coordinator.http == NULL)
		return 0;
	snprintf(title, sizeof(title), "coordinator %s", c->cfg->coordinator.name);
	httpd_source src = {
		.user = c, .title = title, .healthy = chttp_healthy,
		.metrics = chttp_metrics, .page = chttp_page,
	};
	return httpd_start(c->cfg->coordinator.http, &src, &c->http);
}

void
chttp_stop(coord *c)
{
	httpd_stop(c->http);
	c->http = NULL;
}
