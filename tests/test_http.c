/*
 * test_http.c - the daemons' HTTP server (suite "http"): real daemons
 * with an http: address each (hc_use_http), scraped over plain TCP.
 *
 *   metrics format     every sample of /metrics is named twopc_..., each
 *                      metric has its HELP and TYPE lines before its
 *                      samples, and the counters move with commits; the
 *                      latency histograms count each commit (RESULT at
 *                      the coordinator, VOTE and fsync at a participant)
 *                      with cumulative buckets and a positive sum
 *   blocked            a READY participant whose coordinator is down is
 *                      counted blocked past its decision timeout; with a
 *                      participant down too, the restarted coordinator
 *                      counts the WAIT in doubt; both gauges go back to
 *                      0 once every node is up again
 *   health             /healthz is 200 "ok" on every node; an unknown
 *                      path is 404
 *   status page        a transaction left in doubt (the coordinator
 *                      crashed at its commit point, never restarted) is
 *                      listed with its locks on a participant's page, as
 *                      headless Chromium renders it; the screenshot is
 *                      kept in the build directory
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "crash.h"
#include "harness.h"
#include "testutil.h"

void test_http_register(void);

#define BODY_MAX 65536

/* The value of the sample line that starts with SAMPLE followed by a
 * space, or -1. */
static long long
metric_value(const char *text, const char *sample)
{
	size_t n = strlen(sample);
	for (const char *p = text; p != NULL && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, sample, n) == 0 && p[n] == ' ')
			return atoll(p + n + 1);
	return -1;
}

/* Histogram NAME's samples in TEXT whose labels start with LABELS
 * ("" for none): checks its buckets are cumulative (never decreasing, in
 * order of le, ending with le="+Inf" equal to _count); sets *COUNT and
 * *SUM. Returns the number of problems (each reported at LINE), or 1
 * when there is no such histogram. */
static int
histo_value(const char *text, const char *name, const char *labels, long long *count,
    double *sum, int line)
{
	char pre[160], key[160];
	int bad = 0, buckets = 0;
	long long last = -1;
	double last_le = -1;
	*count = -1;
	*sum = -1;
	snprintf(pre, sizeof(pre), "%s_bucket{%s%s", name, labels, labels[0] ? "," : "");
	for (const char *p = text; p != NULL && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, pre, strlen(pre)) != 0)
			continue;
		const char *le = p + strlen(pre);
		const char *v = strchr(p, ' ');
		double bound = strncmp(le, "le=\"+Inf\"}", 10) == 0 ? 1e300 : atof(le + 4);
		long long n = v ? atoll(v + 1) : -1;
		if (strncmp(le, "le=\"", 4) != 0 || bound <= last_le || n < last) {
			t_check(0, line, "%s: bucket %.40s not cumulative after %lld", name, le, last);
			bad++;
		}
		last_le = bound;
		last = n;
		buckets++;
	}
	if (labels[0])
		snprintf(key, sizeof(key), "%s_count{%s}", name, labels);
	else
		snprintf(key, sizeof(key), "%s_count", name);
	*count = metric_value(text, key);
	key[strlen(name)] = '\0';
	snprintf(key + strlen(name), sizeof(key) - strlen(name), "_sum%s%s%s", labels[0] ? "{" : "",
	    labels, labels[0] ? "}" : "");
	size_t n = strlen(key);
	for (const char *p = text; p != NULL && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, key, n) == 0 && p[n] == ' ')
			*sum = atof(p + n + 1);
	if (buckets != 15 || last_le < 1e300 || last != *count || *sum < 0) {
		t_check(0, line, "%s{%s}: %d buckets, +Inf %lld, count %lld, sum %g", name, labels,
		    buckets, last, *count, *sum);
		bad++;
	}
	return bad;
}

/* Check TEXT against the exposition format as twopc writes it: each
 * sample's metric (the name before '{' or ' ', less a histogram's
 * _bucket, _sum or _count) was announced by "# HELP twopc_NAME ..." and
 * "# TYPE twopc_NAME counter|gauge|histogram" lines; every line is one of
 * those or a sample named twopc_ with a number. Returns the number of
 * problems (each reported at LINE). */
static int
check_format(const char *text, int line)
{
	char help[96][96], type[96][96];
	int nhelp = 0, ntype = 0, bad = 0, samples = 0;
	const char *p = text;
	while (*p) {
		const char *e = strchr(p, '\n');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		char l[512];
		snprintf(l, sizeof(l), "%.*s", (int)len, p);
		char name[96] = "";
		if (strncmp(l, "# HELP ", 7) == 0) {
			if (sscanf(l + 7, "%95s", name) == 1 && nhelp < 96)
				snprintf(help[nhelp++], sizeof(help[0]), "%s", name);
		} else if (strncmp(l, "# TYPE ", 7) == 0) {
			char kind[32] = "";
			if (sscanf(l + 7, "%95s %31s", name, kind) != 2 ||
			    (strcmp(kind, "counter") != 0 && strcmp(kind, "gauge") != 0 &&
			    strcmp(kind, "histogram") != 0)) {
				t_check(0, line, "bad TYPE line: %s", l);
				bad++;
			} else if (ntype < 96) {
				snprintf(type[ntype++], sizeof(type[0]), "%s", name);
			}
		} else {
			size_t k = strcspn(l, "{ ");
			snprintf(name, sizeof(name), "%.*s", (int)k, l);
			static const char *const parts[] = { "_bucket", "_sum", "_count" };
			for (size_t i = 0; i < 3 && ntype > 0; i++) {
				size_t pl = strlen(parts[i]);
				if (k > pl && strcmp(name + k - pl, parts[i]) == 0 &&
				    strncmp(type[ntype - 1], name, k - pl) == 0 &&
				    type[ntype - 1][k - pl] == '\0')
					name[k - pl] = '\0';
			}
			const char *v = strrchr(l, ' ');
			int ok = strncmp(name, "twopc_", 6) == 0 && v != NULL && v[1] >= '0' && v[1] <= '9';
			int announced = nhelp > 0 && ntype > 0 && strcmp(help[nhelp - 1], name) == 0 &&
			    strcmp(type[ntype - 1], name) == 0;
			if (!ok || !announced) {
				t_check(0, line, "sample line '%s': %s", l, !ok ? "not twopc_NAME VALUE" :
				    "no HELP and TYPE lines for it just before");
				bad++;
			}
			samples++;
		}
		p += len + (e != NULL);
	}
	t_check(samples >= 10, line, "only %d samples", samples);
	return bad + (samples < 10);
}

static int
get(hcluster *c, int i, const char *path, char *body)
{
	int status = 0;
	if (hc_http_get(c, i, path, &status, body, BODY_MAX) != 0)
		return -1;
	return status;
}

static void
test_metrics(void)
{
	hcluster c;
	char *before = malloc(BODY_MAX), *after = malloc(BODY_MAX), *part = malloc(BODY_MAX);
	char out[512], txid[32];
	CU_ASSERT_FATAL(before != NULL && after != NULL && part != NULL);
	CU_ASSERT_FATAL(hc_create(&c, 2, 2000, 1000) == 0);
	CU_ASSERT_FATAL(hc_use_http(&c) == 0);
	CU_ASSERT_FATAL(hc_start_all(&c) == 0);

	T_EQ(get(&c, 0, "/metrics", before), 200);
	T_EQ(check_format(before, __LINE__), 0);
	long long commits0 = metric_value(before,
	    "twopc_coordinator_transactions_total{outcome=\"committed\"}");
	long long fsyncs0 = metric_value(before, "twopc_log_fsyncs_total");
	T_EQ(commits0, 0);
	T_TRUE(fsyncs0 >= 0);
	long long n0, f0, n, f;
	double sum;
	static const char *const result = "twopc_coordinator_result_seconds";
	T_EQ(histo_value(before, result, "outcome=\"committed\"", &n0, &sum, __LINE__), 0);
	T_EQ(n0, 0);
	T_EQ(histo_value(before, "twopc_log_fsync_seconds", "", &f0, &sum, __LINE__), 0);
	for (int k = 0; k < 3; k++) {
		snprintf(txid, sizeof(txid), "hm-%d", k);
		const char *args[] = { "commit", "--txid", txid, "alpha:add:a=1", "beta:add:b=1", NULL };
		T_EQ(hc_twopc(&c, out, sizeof(out), args), 0);
	}
	/* RESULT COMMITTED leaves at the commit point, before the step
	 * thread records COMMIT and takes the run off the running table
	 * (which counts it by outcome and in in_flight): wait for the last
	 * one's END, which comes after both. */
	T_EQ(hc_wait_state(&c, 0, "hm-2", "END", 10000), 0);
	T_EQ(get(&c, 0, "/metrics", after), 200);
	T_EQ(check_format(after, __LINE__), 0);
	T_EQ(metric_value(after, "twopc_coordinator_transactions_total{outcome=\"committed\"}"), 3);
	T_EQ(metric_value(after, "twopc_coordinator_transactions_total{outcome=\"aborted\"}"), 0);
	T_TRUE(metric_value(after, "twopc_log_fsyncs_total") > fsyncs0);
	T_TRUE(metric_value(after, "twopc_requests_total") >= 3);
	T_EQ(metric_value(after, "twopc_coordinator_in_flight"), 0);
	T_EQ(metric_value(after, "twopc_coordinator_in_doubt"), 0);
	T_EQ(metric_value(after, "twopc_up"), 1);
	/* Every RESULT timed, as committed; the forced writes as fsyncs. */
	T_EQ(histo_value(after, result, "outcome=\"committed\"", &n, &sum, __LINE__), 0);
	T_EQ(n - n0, 3);
	T_TRUE(sum > 0);
	T_EQ(histo_value(after, result, "outcome=\"aborted\"", &n, &sum, __LINE__), 0);
	T_EQ(n, 0);
	T_EQ(histo_value(after, "twopc_log_fsync_seconds", "", &f, &sum, __LINE__), 0);
	/* The histogram is read after the counter, within one scrape. */
	T_TRUE(f - f0 >= metric_value(after, "twopc_log_fsyncs_total") - fsyncs0);
	T_TRUE(f > f0 && sum > 0);

	/* A participant's: its decisions, nothing in doubt or locked. The
	 * coordinator's END (above) means every participant ACKed its COMMIT
	 * (alpha's COMMIT row itself may be forgotten by then, R9). */
	T_EQ(get(&c, 1, "/metrics", part), 200);
	T_EQ(check_format(part, __LINE__), 0);
	T_EQ(metric_value(part, "twopc_participant_transitions_total{state=\"COMMIT\"}"), 3);
	T_EQ(metric_value(part, "twopc_participant_transitions_total{state=\"READY\"}"), 3);
	T_EQ(metric_value(part, "twopc_participant_in_doubt"), 0);
	T_EQ(metric_value(part, "twopc_participant_locks"), 0);
	T_EQ(metric_value(part, "twopc_peers_suspected"), 0);
	T_EQ(metric_value(part, "twopc_participant_blocked"), 0);
	/* One VOTE per transaction, each after its READY was forced. */
	T_EQ(histo_value(part, "twopc_participant_vote_seconds", "", &n, &sum, __LINE__), 0);
	T_EQ(n, 3);
	T_TRUE(sum > 0);
	T_EQ(histo_value(part, "twopc_log_fsync_seconds", "", &f, &sum, __LINE__), 0);
	T_TRUE(f >= 3 && sum > 0);
	T_TRUE(f >= metric_value(part, "twopc_log_fsyncs_total"));
	/* The sample the report shows. */
	printf("\n--- /metrics of coord ---\n%s---\n--- /metrics of alpha (participant) ---\n%s---\n",
	    after, part);
	hc_destroy(&c);
	free(before);
	free(after);
	free(part);
}

static void
test_health(void)
{
	hcluster c;
	char *body = malloc(BODY_MAX);
	CU_ASSERT_FATAL(body != NULL);
	CU_ASSERT_FATAL(hc_create(&c, 2, 2000, 1000) == 0);
	CU_ASSERT_FATAL(hc_use_http(&c) == 0);
	CU_ASSERT_FATAL(hc_start_all(&c) == 0);
	for (int i = 0; i < c.nnodes; i++) {
		T_EQ(get(&c, i, "/healthz", body), 200);
		T_STREQ(body, "ok\n");
		T_EQ(get(&c, i, "/", body), 200);
		T_HAS(body, "<title>twopc ");
		T_HAS(body, c.names[i]);
		T_EQ(get(&c, i, "/no-such-page", body), 404);
	}
	/* Stopped cleanly: the server goes with the daemon. */
	T_EQ(hc_signal(&c, 1, SIGTERM), 0);
	int st = 0;
	T_EQ(hc_wait_exit(&c, 1, 5000, &st), 0);
	T_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	T_EQ(get(&c, 1, "/healthz", body), -1);
	hc_destroy(&c);
	free(body);
}

/* Scrape node I's /metrics into BODY until SAMPLE has the value WANT,
 * at most TIMEOUT_MS. Its last value (-1: no answer). */
static long long
wait_metric(hcluster *c, int i, const char *sample, long long want, int timeout_ms, char *body)
{
	long long v = -1;
	for (int waited = 0;; waited += 50) {
		v = get(c, i, "/metrics", body) == 200 ? metric_value(body, sample) : -1;
		if (v == want || waited >= timeout_ms)
			return v;
		tu_nap_ms(50);
	}
}

/* A cluster of alpha and beta (http: on, decision timeout 300 ms) left
 * in doubt about TXID: the coordinator dies at its commit point (every
 * vote in, WAIT durable), before any GLOBAL, and stays down, so the
 * participants, all READY, stay blocked (section 4). ALPHA_WORK is
 * alpha's part. 0, or -1 (reported) if it could not be made so. */
static int
doubt_cluster(hcluster *c, const char *txid, const char *alpha_work)
{
	char out[512];
	int st = 0;
	if (hc_create(c, 2, 2000, 300) != 0 || hc_use_http(c) != 0)
		return -1;
	for (int i = 1; i <= 2; i++)
		if (hc_start(c, i, NULL) != 0)
			return -1;
	if (hc_start(c, 0, "TWOPC_CRASH_AT=coordinator.after_decision_logged") != 0)
		return -1;
	const char *args[] = { "commit", "--timeout", "3000", "--txid", txid, alpha_work,
		"beta:put:k=2", NULL };
	T_EQ(hc_twopc(c, out, sizeof(out), args), 3);
	if (hc_wait_exit(c, 0, 5000, &st) != 0)
		return -1;
	T_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == CRASH_EXIT);
	T_EQ(hc_wait_state(c, 1, txid, "READY", 10000), 0);
	return 0;
}

static void
test_blocked(void)
{
	hcluster c;
	char *body = malloc(BODY_MAX);
	int st = 0;
	CU_ASSERT_FATAL(body != NULL);
	CU_ASSERT_FATAL(doubt_cluster(&c, "blocked-1", "alpha:put:k=1") == 0);

	/* Past the decision timeout (300 ms), READY without a decision is
	 * blocked: in doubt and blocked at alpha. */
	T_EQ(wait_metric(&c, 1, "twopc_participant_blocked", 1, 5000, body), 1);
	T_EQ(metric_value(body, "twopc_participant_in_doubt"), 1);

	/* beta goes down too; the coordinator comes back, asks beta in vain:
	 * its WAIT is in doubt there, and alpha is still blocked. */
	T_EQ(hc_signal(&c, 2, SIGTERM), 0);
	T_EQ(hc_wait_exit(&c, 2, 5000, &st), 0);
	CU_ASSERT_FATAL(hc_start(&c, 0, NULL) == 0);
	T_EQ(wait_metric(&c, 0, "twopc_coordinator_in_doubt", 1, 5000, body), 1);
	T_EQ(metric_value(body, "twopc_coordinator_in_flight"), 0);
	T_EQ(wait_metric(&c, 1, "twopc_participant_blocked", 1, 5000, body), 1);

	/* beta back: the coordinator's inquiry settles the WAIT (every vote
	 * was yes: COMMIT) and both gauges go back to 0. */
	CU_ASSERT_FATAL(hc_start(&c, 2, NULL) == 0);
	T_EQ(wait_metric(&c, 0, "twopc_coordinator_in_doubt", 0, 10000, body), 0);
	T_EQ(wait_metric(&c, 1, "twopc_participant_blocked", 0, 10000, body), 0);
	T_EQ(metric_value(body, "twopc_participant_in_doubt"), 0);
	T_EQ(wait_metric(&c, 2, "twopc_participant_blocked", 0, 10000, body), 0);
	hc_destroy(&c);
	free(body);
}

static void
test_status_page(void)
{
	hcluster c;
	char *body = malloc(BODY_MAX), *dom = malloc(BODY_MAX);
	char out[512], cmd[2048], shot[512], profile[400];
	const char *build = getenv("TWOPC_BUILD");
	CU_ASSERT_FATAL(body != NULL && dom != NULL);

	if (system("command -v chromium >/dev/null 2>&1") != 0) {
		CU_PASS("chromium not found: the status page is not rendered (skipped)");
		free(body);
		free(dom);
		return;
	}
	CU_ASSERT_FATAL(doubt_cluster(&c, "page-doubt-1", "alpha:put:acct<7>=1") == 0);

	/* The page shows the coordinator suspected once alpha has asked it
	 * in vain (after the 300 ms decision timeout): wait for that. */
	T_EQ(wait_metric(&c, 1, "twopc_peers_suspected", 1, 10000, body), 1);
	T_EQ(get(&c, 1, "/metrics", body), 200);
	T_EQ(metric_value(body, "twopc_participant_in_doubt"), 1);
	T_EQ(metric_value(body, "twopc_participant_locks"), 1);
	/* A health check says serving: in doubt is not a failure. */
	T_EQ(get(&c, 1, "/healthz", body), 200);

	snprintf(shot, sizeof(shot), "%s/http-status-page.png", build ? build : "build");
	snprintf(profile, sizeof(profile), "%s/chromium-profile", c.dir);
	/* --dump-dom prints the DOM after the page is loaded: what a
	 * browser shows, not only what the server sent. */
	snprintf(cmd, sizeof(cmd), "timeout 60 chromium --headless --disable-gpu --no-sandbox "
	    "--user-data-dir='%s' --dump-dom 'http://%s/' 2>/dev/null", profile, c.http[1]);
	T_EQ(tu_sh(cmd, dom, BODY_MAX), 0);
	T_HAS(dom, "<h1>twopc participant alpha</h1>");
	/* In doubt is not a failure: the state line says serving. */
	T_HAS(dom, "State: <b>serving</b>.");
	/* The in-doubt table lists the transaction, READY, with its age... */
	const char *table = strstr(dom, "id=\"in-doubt\"");
	T_TRUE(table != NULL);
	if (table != NULL) {
		T_HAS(table, "page-doubt-1");
		T_HAS(table, "READY");
		T_HAS(table, "alpha,beta");
		T_HAS(table, " ms</td>");
	}
	T_HAS(dom, "1 in doubt.");
	/* ...and the locks table who holds the key (escaped as HTML). */
	const char *locks = strstr(dom, "id=\"locks\"");
	T_TRUE(locks != NULL);
	if (locks != NULL)
		T_HAS(locks, "<tr><td><code>acct&lt;7&gt;</code></td><td><code>page-doubt-1</code>");
	/* The coordinator is down: suspected on the peers table. */
	T_HAS(dom, "coord (coordinator)</td><td class=\"bad\">yes, for ");

	snprintf(cmd, sizeof(cmd), "timeout 60 chromium --headless --disable-gpu --no-sandbox "
	    "--user-data-dir='%s' --hide-scrollbars --window-size=1000,700 --screenshot='%s' "
	    "'http://%s/' >/dev/null 2>&1", profile, shot, c.http[1]);
	unlink(shot);
	T_EQ(tu_sh(cmd, out, sizeof(out)), 0);
	T_EQ(access(shot, R_OK), 0);
	printf("\n    status page screenshot: %s\n", shot);
	hc_destroy(&c);
	free(body);
	free(dom);
}

void
test_http_register(void)
{
	static const tu_test tests[] = {
		{ "metrics format and counters", test_metrics },
		{ "healthz and pages", test_health },
		{ "blocked and in doubt gauges", test_blocked },
		{ "status page in Chromium: in doubt", test_status_page },
	};
	TU_SUITE("http", tests);
}
