/*
 * phttp.c - what a participant's HTTP server (httpd.h) shows: its health,
 * its metrics and a status page of its undecided transactions (READY: in
 * doubt until the decision arrives, DESIGN section 4), their age and
 * what is being asked about them, the keys they lock (the locks table)
 * and its peers as the failure detector sees them.
 *
 * Read-only and bounded: each list stops at PHTTP_ROWS rows, each count
 * at PHTTP_COUNT_MAX, and the log is read under db_lock for that many
 * rows only. The READY rows are found by a scan of the txn table (it has
 * no index on state), as twopc list does.
 */
#include "phttp.h"

#include <stdio.h>
#include <string.h>

#include "httpd.h"
#include "plog.h"
#include "ptxn.h"
#include "serve.h"

#define PHTTP_ROWS 200
#define PHTTP_COUNT_MAX 10000

static int
phttp_healthy(void *user, char *why, size_t len)
{
	twopc_participant *p = user;
	if (part_failed(p))
		snprintf(why, len, "failed: a forced write did not complete");
	else if (runstate_stopping(&p->run))
		snprintf(why, len, "stopping");
	else if (!atomic_load(&p->ready))
		snprintf(why, len, "recovering");
	else
		return 1;
	return 0;
}

typedef struct phttp_scan {
	twopc_participant *p;
	hbuf *b;        /* NULL: count only */
	int64_t now;
	size_t n, shown;
} phttp_scan;

static void
phttp_ready_row(void *arg, const char *txid, const plog_txn *t)
{
	phttp_scan *s = arg;
	char note[300];
	s->n++;
	if (s->b == NULL || s->shown >= PHTTP_ROWS)
		return;
	s->shown++;
	part_ask_note(s->p, txid, note, sizeof(note));
	hbuf_printf(s->b, "<tr><td><code>");
	hbuf_html(s->b, txid);
	hbuf_printf(s->b, "</code></td><td>%s</td><td class=\"n\">", part_solo(s->p, t) ?
	    "READY (one-phase)" : "READY");
	hbuf_age(s->b, serve_age_ms(s->now, t->updated_at));
	hbuf_printf(s->b, "</td><td class=\"n\">%llu</td><td>", (unsigned long long)t->epoch);
	hbuf_html(s->b, t->peers);
	hbuf_printf(s->b, "</td><td>");
	hbuf_html(s->b, note[0] ? note : "waiting for the decision");
	hbuf_printf(s->b, "</td></tr>\n");
}

static void
phttp_lock_row(void *arg, const char *key, const char *txid)
{
	phttp_scan *s = arg;
	s->n++;
	if (s->b == NULL || s->shown >= PHTTP_ROWS)
		return;
	s->shown++;
	hbuf_printf(s->b, "<tr><td><code>");
	hbuf_html(s->b, key);
	hbuf_printf(s->b, "</code></td><td><code>");
	hbuf_html(s->b, txid);
	hbuf_printf(s->b, "</code></td></tr>\n");
}

/* Peers suspected now by the failure detector (0: the coordinator). */
static size_t
phttp_suspected(twopc_participant *p)
{
	size_t n = 0, np = p->cfg->nparticipants;
	for (size_t i = 0; i <= np; i++)
		n += fd_suspected(&p->fd, (int)i, NULL) != 0;
	return n;
}

static void
phttp_metrics(void *user, hbuf *b)
{
	twopc_participant *p = user;
	static const tx_state states[] = { TX_READY, TX_COMMIT, TX_ABORT };
	phttp_scan ready = { .p = p }, locks = { .p = p };

	serve_metrics(b, p->db, p->srv, NULL);
	hbuf_metric_head(b, "participant_transitions_total", "counter",
	    "Transactions this process moved into a state (READY: voted yes; COMMIT, ABORT: "
	    "decided).");
	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++)
		hbuf_printf(b, "twopc_participant_transitions_total{state=\"%s\"} %llu\n",
		    tx_state_name(states[i]), (unsigned long long)ptxn_count(states[i]));
	db_lock(p->db);
	(void)plog_each(p->db, TX_READY, PHTTP_COUNT_MAX, phttp_ready_row, &ready);
	(void)plog_locks_each(p->db, PHTTP_COUNT_MAX, phttp_lock_row, &locks);
	db_unlock(p->db);
	hbuf_metric(b, "participant_in_doubt", "gauge",
	    "READY transactions waiting for their decision (counted up to 10000).", ready.n);
	hbuf_metric(b, "participant_locks", "gauge",
	    "Keys locked by undecided transactions (counted up to 10000).", locks.n);
	pthread_mutex_lock(&p->mtx);
	size_t asking = 0;
	for (size_t i = 0; i < p->nasks; i++)
		asking += p->asks[i].asks > 0;
	pthread_mutex_unlock(&p->mtx);
	hbuf_metric(b, "participant_asking", "gauge",
	    "READY transactions asked about without an answer yet (blocked while it lasts).",
	    asking);
	hbuf_metric(b, "peers_suspected", "gauge",
	    "Peers (the coordinator and the other participants) the failure detector suspects.",
	    phttp_suspected(p));
	hbuf_metric(b, "participant_epoch", "gauge", "The highest coordinator epoch seen.",
	    atomic_load(&p->max_epoch));
	hbuf_metric(b, "up", "gauge", "1 when serving and not failed (as /healthz).",
	    (uint64_t)phttp_healthy(p, (char[80]){0}, 80));
}

static void
phttp_page_peers(twopc_participant *p, hbuf *b)
{
	size_t np = p->cfg->nparticipants;
	hbuf_printf(b, "<h2>Peers</h2>\n<table id=\"peers\"><tr><th>peer</th><th>suspected</th>"
	    "<th>timeout</th></tr>\n");
	for (size_t i = 0; i <= np; i++) {
		const char *name = i == 0 ? p->cfg->coordinator.name : p->cfg->participants[i - 1].name;
		if (i > 0 && &p->cfg->participants[i - 1] == p->self)
			continue;
		int64_t since = 0;
		int sus = fd_suspected(&p->fd, (int)i, &since);
		hbuf_printf(b, "<tr><td>");
		hbuf_html(b, name);
		hbuf_printf(b, "%s</td><td%s>", i == 0 ? " (coordinator)" : "", sus ? " class=\"bad\"" : "");
		if (sus) {
			hbuf_printf(b, "yes, for ");
			hbuf_age(b, (uint64_t)(since > 0 ? since : 0));
		} else {
			hbuf_printf(b, "no");
		}
		hbuf_printf(b, "</td><td class=\"n\">%u ms</td></tr>\n", fd_timeout(&p->fd, (int)i));
	}
	hbuf_printf(b, "</table>\n");
}

static void
phttp_page(void *user, hbuf *b)
{
	twopc_participant *p = user;
	char why[80];
	int ok = phttp_healthy(p, why, sizeof(why));
	phttp_scan ready = { .p = p, .b = b, .now = db_now_ms() }, locks = { .p = p, .b = b };

	hbuf_printf(b, "<p>State: <b%s>%s</b>; coordinator epoch %llu; listening on <code>",
	    ok ? "" : " class=\"bad\"", ok ? "serving" : why,
	    (unsigned long long)atomic_load(&p->max_epoch));
	hbuf_html(b, p->self->listen);
	hbuf_printf(b, "</code>; decisions applied since start: %llu COMMIT, %llu ABORT.</p>\n",
	    (unsigned long long)ptxn_count(TX_COMMIT), (unsigned long long)ptxn_count(TX_ABORT));
	hbuf_printf(b, "<h2>In doubt</h2>\n<p>READY transactions: voted COMMIT, waiting for the "
	    "decision; their keys stay locked until it is applied.</p>\n<table id=\"in-doubt\">"
	    "<tr><th>transaction</th><th>state</th><th>age</th><th>epoch</th><th>peers</th>"
	    "<th>asking</th></tr>\n");
	db_lock(p->db);
	(void)plog_each(p->db, TX_READY, PHTTP_COUNT_MAX, phttp_ready_row, &ready);
	db_unlock(p->db);
	hbuf_printf(b, "</table>\n<p>%zu in doubt%s.</p>\n", ready.n,
	    ready.n > ready.shown ? " (the first 200 shown)" : "");
	hbuf_printf(b, "<h2>Locks</h2>\n<table id=\"locks\"><tr><th>key</th><th>held by</th></tr>\n");
	db_lock(p->db);
	(void)plog_locks_each(p->db, PHTTP_COUNT_MAX, phttp_lock_row, &locks);
	db_unlock(p->db);
	hbuf_printf(b, "</table>\n<p>%zu locked key%s%s.</p>\n", locks.n, locks.n == 1 ? "" : "s",
	    locks.n > locks.shown ? " (the first 200 shown)" : "");
	phttp_page_peers(p, b);
}

int
part_http_start(twopc_participant *p)
{
	if (p->self->http == NULL)
		return 0;
	snprintf(p->http_title, sizeof(p->http_title), "participant %s", p->self->name);
	httpd_source src = {
		.user = p, .title = p->http_title, .healthy = phttp_healthy,
		.metrics = phttp_metrics, .page = phttp_page,
	};
	return httpd_start(p->self->http, &src, &p->http);
}

void
part_http_stop(twopc_participant *p)
{
	httpd_stop(p->http);
	p->http = NULL;
}
