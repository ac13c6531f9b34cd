/*
 * serve.c - the answers both daemons give alike; see serve.h.
 */
#include "serve.h"

#include <stdio.h>
#include <string.h>

#include "httpd.h"
#include "tlimit.h"
#include "tlog.h"
#include "twopc/error.h"

static tlimit serve_refused_log = TLIMIT_INIT("refused messages");

void
serve_note_refused(const wire_msg *req, const char *why)
{
	tlimit_log(&serve_refused_log, TLOG_WARN, "%s: refused %s from %s: %s", req->txid,
	    wire_type_name(req->type), req->sender, why);
}

int
serve_other(const wire_msg *req, wire_msg *rep, const char *who, char *buf, size_t len)
{
	if (req->type == WIRE_IAMALIVE) {
		rep->type = WIRE_IAMALIVE;
		return 1;
	}
	char text[96];
	snprintf(text, sizeof(text), "%s does not serve %s", who, wire_type_name(req->type));
	serve_note_refused(req, text);
	return wire_reply_error(rep, TWOPC_EPROTO, text, buf, len);
}

int
serve_starting(const wire_msg *req, wire_msg *rep, const char *why, char *buf, size_t len)
{
	if (!wire_from_client(req->type))
		return 0;
	return wire_reply_error(rep, TWOPC_ECLOSED, why, buf, len);
}

void
serve_counters(statlist *l, db *d, rpc_server *srv)
{
	db_lock(d);
	uint64_t forced = db_forced(d), commits = db_commits(d);
	db_unlock(d);
	statlist_add(l, "forced_writes", 0, forced, 0, "");
	statlist_add(l, "log_commits", 0, commits, 0, "");
	statlist_add(l, "requests", 0, rpc_server_requests(srv), 0, "");
	statlist_add(l, "malformed", 0, rpc_server_malformed(srv), 0, "");
	uint64_t unauth = rpc_server_unauthenticated(srv);
	statlist_add(l, "refused", 0, tlimit_count(&serve_refused_log) + unauth, 0, "");
	statlist_add(l, "unauthenticated", 0, unauth, 0, "");
	statlist_add(l, "connections_refused", 0, rpc_server_pipes_refused(srv), 0, "");
	statlist_add(l, "messages_sent", 0, rpc_messages_sent(), 0, "");
}

/* What each counter of a STATUS_REQUEST which = 2 is called as a metric. */
static const struct {
	const char *counter, *metric, *help;
} serve_metric_names[] = {
	{ "forced_writes", "log_fsyncs_total",
	  "WAL fsyncs made for forced writes (one per group commit)." },
	{ "log_commits", "log_commits_total",
	  "Log transactions committed; log_commits_total / log_fsyncs_total is the mean group size." },
	{ "requests", "requests_total", "Requests received and decoded." },
	{ "malformed", "messages_malformed_total",
	  "Messages dropped because they did not decode." },
	{ "refused", "messages_refused_total",
	  "Messages refused: stale or invalid epoch, wrong role, unserved type, or unauthenticated." },
	{ "unauthenticated", "messages_unauthenticated_total",
	  "Messages that failed authentication or were replays." },
	{ "connections_refused", "connections_refused_total",
	  "Connections refused because the server had its maximum of pipes." },
	{ "messages_sent", "messages_sent_total", "Protocol messages sent by this process." },
	{ "resend_cycles", "coordinator_resend_cycles_total",
	  "Passes of the coordinator's resender (GLOBAL_COMMIT until every ACK)." },
};

static void
serve_metrics_list(hbuf *b, const statlist *l)
{
	for (size_t i = 0; i < l->n; i++) {
		const wire_status *e = &l->st[i];
		char name[96], help[160];
		size_t k = 0, n = sizeof(serve_metric_names) / sizeof(serve_metric_names[0]);
		while (k < n && strcmp(serve_metric_names[k].counter, e->txid) != 0)
			k++;
		if (k < n) {
			hbuf_metric(b, serve_metric_names[k].metric, "counter", serve_metric_names[k].help,
			    e->epoch);
		} else {
			snprintf(name, sizeof(name), "%s_total", e->txid);
			snprintf(help, sizeof(help), "The counter %s of twopc bench and STATUS.", e->txid);
			hbuf_metric(b, name, "counter", help, e->epoch);
		}
	}
}

void
serve_metrics(hbuf *b, db *d, rpc_server *srv, const statlist *extra)
{
	statlist l;
	if (statlist_init(&l, 16) != 0) {
		b->cut = 1;
		return;
	}
	serve_counters(&l, d, srv);
	serve_metrics_list(b, &l);
	statlist_free(&l);
	if (extra != NULL)
		serve_metrics_list(b, extra);
	hbuf_metric_head(b, "log_fsync_seconds", "histogram",
	    "Duration of each WAL fsync of a group commit (a forced write waits for one or two).");
	hbuf_histo(b, "log_fsync_seconds", NULL, db_sync_histo(d));
}

int
serve_resolved(wire_msg *rep, const char *txid, int state, uint64_t epoch, const char *detail,
    const char *note)
{
	statlist l;
	char full[STATLIST_DETAIL_MAX + 1];
	if (statlist_init(&l, 1) != 0)
		return 0;
	snprintf(full, sizeof(full), "%s%s%s", detail, note[0] ? "; " : "", note);
	(void)statlist_add(&l, txid, state, epoch, 0, full);
	return statlist_reply(&l, rep);
}

uint64_t
serve_age_ms(int64_t now, int64_t then)
{
	return (uint64_t)(now > then ? now - then : 0);
}

int
serve_status(const wire_msg *req, wire_msg *rep, db *d, rpc_server *srv, size_t cap,
    serve_status_fn list, serve_status_fn counters, void *arg)
{
	int64_t now = db_now_ms();
	statlist l;
	if (statlist_init(&l, req->state == 1 ? cap : 16) != 0)
		return 0;
	if (req->state == 2) {
		serve_counters(&l, d, srv);
		if (counters != NULL)
			counters(arg, &l, NULL, now);
		return statlist_reply(&l, rep);
	}
	db_lock(d);
	list(arg, &l, req->state == 1 ? NULL : req->txid, now);
	db_unlock(d);
	return statlist_reply(&l, rep);
}
