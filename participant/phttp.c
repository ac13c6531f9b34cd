/*
 * phttp.c - what a participant's HTTP server (httpd.h) shows: its health,
 * its metrics and a status page of its undecided transactions (READY: in
 * doubt until the decision arrives, DESIGN section 4), their age and
 * what is being asked about them, the keys they lock (the locks table)
 * and its peers as the failure detector sees them.
 *
 * Read-only and bounded: each list stops at HTTPD_ROWS rows, each count
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

#define PHTTP_COUNT_MAX 10000

static int
phttp_healthy(void *user, char *why, size_t len)
{
	twopc_participant *p = user;
	return httpd_health(why, len, part_failed(p), NULL, runstate_stopping(&p->run),
	    atomic_load(&p->ready));
}

typedef struct phttp_scan {
	twopc_participant *p;
	int64_t now;
	int64_t blocked_ms;  /* READY this long: blocked (decision_timeout_ms) */
	size_t blocked;
	httpd_rows r;
} phttp_scan;

static void
phttp_ready_row(void *arg, const char *txid, const plog_txn *t)
{
	phttp_scan *s = arg;
	char note[300];
	s->blocked += s->now - t->updated_at >= s->blocked_ms;
	if (!httpd_row(&s->r))
		return;
	part_ask_note(s->p, txid, note, sizeof(note));
	hbuf_printf(s->r.b, "<tr><td>");
	hbuf_code(s->r.b, txid);
	hbuf_printf(s->r.b, "</td><td>%s</td><td class=\"n\">", part_solo(s->p, t) ?
	    "READY (one-phase)" : "READY");
	hbuf_age(s->r.b, serve_age_ms(s->now, t->updated_at));
	hbuf_printf(s->r.b, "</td><td class=\"n\">%llu</td><td>", (unsigned long long)t->epoch);
	hbuf_html(s->r.b, t->peers);
	hbuf_printf(s->r.b, "</td><td>");
	hbuf_html(s->r.b, note[0] ? note : "waiting for the decision");
	hbuf_printf(s->r.b, "</td></tr>\n");
}

static void
phttp_lock_row(void *arg, const char *key, const char *txid)
{
	phttp_scan *s = arg;
	if (!httpd_row(&s->r))
		return;
	hbuf_printf(s->r.b, "<tr><td>");
	hbuf_code(s->r.b, key);
	hbuf_printf(s->r.b, "</td><td>");
	hbuf_code(s->r.b, txid);
	hbuf_printf(s->r.b, "</td></tr>\n");
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
	phttp_scan ready = { .p = p, .now = db_now_ms(),
		.blocked_ms = atomic_load(&p->cfg->decision_timeout_ms) }, locks = { .p = p };

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
	    "READY transactions waiting for their decision (counted up to 10000).", ready.r.n);
	hbuf_metric(b, "participant_blocked", "gauge",
	    "READY transactions whose decision has not come within decision_timeout_ms: the "
	    "participant asks the coordinator and its peers (counted up to 10000).", ready.blocked);
	hbuf_metric(b, "participant_locks", "gauge",
	    "Keys locked by undecided transactions (counted up to 10000).", locks.r.n);
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
	hbuf_metric_head(b, "participant_vote_seconds", "histogram",
	    "Time from a VOTE_REQUEST taken to its VOTE sent (READY forced first for a yes).");
	hbuf_histo(b, "participant_vote_seconds", NULL, &p->vote_time);
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
	phttp_scan ready = { .p = p, .now = db_now_ms(), .r = { .b = b } },
		locks = { .p = p, .r = { .b = b } };

	hbuf_printf(b, "<p>Coordinator epoch %llu; listening on ",
	    (unsigned long long)atomic_load(&p->max_epoch));
	hbuf_code(b, p->self->listen);
	hbuf_printf(b, "; decisions applied since start: %llu COMMIT, %llu ABORT.</p>\n",
	    (unsigned long long)ptxn_count(TX_COMMIT), (unsigned long long)ptxn_count(TX_ABORT));
	hbuf_printf(b, "<h2>In doubt</h2>\n<p>READY transactions: voted COMMIT, waiting for the "
	    "decision; their keys stay locked until it is applied.</p>\n<table id=\"in-doubt\">"
	    "<tr><th>transaction</th><th>state</th><th>age</th><th>epoch</th><th>peers</th>"
	    "<th>asking</th></tr>\n");
	db_lock(p->db);
	(void)plog_each(p->db, TX_READY, PHTTP_COUNT_MAX, phttp_ready_row, &ready);
	db_unlock(p->db);
	httpd_rows_end(&ready.r, "in doubt");
	hbuf_printf(b, "<h2>Locks</h2>\n<table id=\"locks\"><tr><th>key</th><th>held by</th></tr>\n");
	db_lock(p->db);
	(void)plog_locks_each(p->db, PHTTP_COUNT_MAX, phttp_lock_row, &locks);
	db_unlock(p->db);
	httpd_rows_end(&locks.r, locks.r.n == 1 ? "locked key" : "locked keys");
	phttp_page_peers(p, b);
}

int
part_http_start(twopc_participant *p)
{
	char title[96];
	if (p->self->http == NULL)
		return 0;
	snprintf(title, sizeof(title), "participant %s", p->self->name);
	httpd_source src = {
		.user = p, .title = title, .healthy = phttp_healthy,
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
