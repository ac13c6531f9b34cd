/*
 * test_reload.c - SIGHUP and the logs an operator lives with (suite
 * "reload").
 *
 * SIGHUP: a changed vote_timeout_ms takes effect (a vote timeout measured
 * before and after); a participant added at the end of the file and then
 * started takes part in a commit without a coordinator restart; a change
 * that needs a restart (a listen address) is refused, naming its key, and
 * the daemon keeps serving; a file that does not load is reported at its
 * FILE:LINE:COLUMN and the running configuration is kept. No SIGHUP ever
 * stops a daemon.
 *
 * Logs: 20 commits write at most 20 INFO lines per node beyond its
 * start-up lines; log_level in the file, -q overriding it, a reload
 * changing it; a GLOBAL_COMMIT repeated for transactions a participant
 * has no record of is logged at most TLIMIT_BURST times.
 *
 * Every case runs real daemons; every wait is bounded.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "harness.h"
#include "db.h"
#include "rpc.h"
#include "testutil.h"
#include "tlimit.h"
#include "wire.h"

void test_reload_register(void);

#define COORD 0
#define ALPHA 1
#define BETA 2

/* The cluster file of C, whole, into BUF. 0 or -1. */
static int
rl_read(hcluster *c, char *buf, size_t len)
{
	FILE *f = fopen(c->file, "r");
	if (f == NULL)
		return -1;
	size_t n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = '\0';
	return n > 0 && n < len - 1 ? 0 : -1;
}

static int
rl_write(hcluster *c, const char *text)
{
	FILE *f = fopen(c->file, "w");
	if (f == NULL)
		return -1;
	int ok = fputs(text, f) >= 0;
	return fclose(f) == 0 && ok ? 0 : -1;
}

/* Replace the first FROM in the cluster file with TO. 0 or -1. */
static int
rl_edit(hcluster *c, const char *from, const char *to)
{
	char text[4096], out[4096];
	if (rl_read(c, text, sizeof(text)) != 0)
		return -1;
	char *at = strstr(text, from);
	if (at == NULL)
		return -1;
	snprintf(out, sizeof(out), "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
	return rl_write(c, out);
}

/* SIGHUP node I and wait for its NEEDLE line (one more than before). */
static int
rl_hup(hcluster *c, int i, const char *needle)
{
	int n = hc_log_count(c, i, needle);
	if (hc_signal(c, i, SIGHUP) != 0)
		return -1;
	return hc_wait_log_count(c, i, needle, n + 1, 15000);
}

/* Milliseconds a commit TXID of alpha and OTHER takes; its exit status
 * in *RC. */
static long long
rl_commit_ms(hcluster *c, const char *txid, const char *other, int *rc)
{
	char op[64];
	snprintf(op, sizeof(op), "%s:put:k=2", other);
	int64_t t0 = mono_ms();
	*rc = T_DRV(c, "commit", "--txid", txid, "alpha:put:k=1", op);
	return (long long)(mono_ms() - t0);
}

/* A stopped participant (SIGSTOP) does not vote: the commit takes the
 * vote timeout, 4000 ms, then 1000 ms after the file says so and SIGHUP.
 * The second round asks gamma, not beta: the coordinator's GLOBAL_ABORT
 * to the stopped beta is still waiting out its own timeout on beta's
 * connection, and a call queued behind it there would measure that. The
 * short timeout is no shorter than a busy machine needs for alpha's vote
 * (else the reason names alpha), and is set back before the last commit,
 * which beta and gamma answer after a backlog. */
static void
test_vote_timeout(void)
{
	enum { GAMMA = 3 };
	hcluster c;
	int rc;
	T_CLUSTER_UP(&c, 3, 4000, 300);
	T_EQ(T_DRV(&c, "commit", "alpha:put:k=0", "beta:put:k=0", "gamma:put:k=0"), 0);
	CU_ASSERT_EQUAL(hc_signal(&c, BETA, SIGSTOP), 0);
	long long before = rl_commit_ms(&c, "vt-1", "beta", &rc);
	T_EQ(rc, 1);
	T_HAS(tu_out, "no vote from beta within 4000 ms");
	T_CHECK(before >= 3900, "the 4000 ms vote timeout took %lld ms", before);

	CU_ASSERT_EQUAL(rl_edit(&c, "vote_timeout_ms: 4000", "vote_timeout_ms: 1000"), 0);
	T_EQ(rl_hup(&c, COORD, "reloaded: vote_timeout_ms 4000 -> 1000"), 0);
	CU_ASSERT_EQUAL(hc_signal(&c, GAMMA, SIGSTOP), 0);
	long long after = rl_commit_ms(&c, "vt-2", "gamma", &rc);
	T_EQ(rc, 1);
	T_HAS(tu_out, "no vote from gamma within 1000 ms");
	/* The old timeout would take 4000 ms at least. */
	T_CHECK(after < 3500, "after the reload the vote timeout took %lld ms (before %lld)",
	    after, before);
	printf("\n    vote timeout measured: %lld ms before SIGHUP, %lld ms after ", before, after);
	CU_ASSERT_EQUAL(hc_signal(&c, BETA, SIGCONT), 0);
	CU_ASSERT_EQUAL(hc_signal(&c, GAMMA, SIGCONT), 0);
	T_TRUE(hc_alive(&c, COORD));
	CU_ASSERT_EQUAL(rl_edit(&c, "vote_timeout_ms: 1000", "vote_timeout_ms: 10000"), 0);
	T_EQ(rl_hup(&c, COORD, "reloaded: vote_timeout_ms 1000 -> 10000"), 0);
	T_EQ(T_DRV(&c, "commit", "alpha:put:k=3", "beta:put:k=3", "gamma:put:k=3"), 0);
	hc_destroy(&c);
}

/* delta appended to the file, SIGHUP to the running coordinator and
 * alpha, delta started: a commit naming alpha and delta commits on both,
 * with the coordinator's process the one started before delta existed. */
static void
test_new_participant(void)
{
	enum { DELTA = 4 };
	hcluster c;
	char full[4096], without[4096], entry[256];
	CU_ASSERT_FATAL(hc_create(&c, 4, 2000, 300) == 0);
	CU_ASSERT_FATAL(rl_read(&c, full, sizeof(full)) == 0);
	snprintf(entry, sizeof(entry), "  - name: delta\n    listen: %s\n    log: delta.db\n",
	    c.urls[DELTA]);
	char *at = strstr(full, entry);
	CU_ASSERT_PTR_NOT_NULL_FATAL(at);
	snprintf(without, sizeof(without), "%.*s%s", (int)(at - full), full, at + strlen(entry));
	CU_ASSERT_FATAL(rl_write(&c, without) == 0);
	CU_ASSERT_FATAL(hc_start(&c, COORD, NULL) == 0);
	CU_ASSERT_FATAL(hc_start(&c, ALPHA, NULL) == 0);
	pid_t coord = c.pids[COORD];
	T_EQ(T_DRV(&c, "commit", "alpha:put:d=0", "delta:put:d=0"), 2);
	T_HAS(tu_out, "unknown participant 'delta'");

	CU_ASSERT_FATAL(rl_write(&c, full) == 0);
	T_EQ(rl_hup(&c, COORD, "participant delta added"), 0);
	T_EQ(rl_hup(&c, ALPHA, "participant delta added"), 0);
	CU_ASSERT_FATAL(hc_start(&c, DELTA, NULL) == 0);
	T_EQ(T_DRV(&c, "commit", "alpha:put:d=1", "delta:put:d=2"), 0);
	T_EQ(T_DRV(&c, "commit", "delta:put:e=3"), 0); /* one-phase, delta alone */
	char v[64];
	hc_kv(&c, ALPHA, "d", v, sizeof(v));
	T_STREQ(v, "1");
	hc_kv(&c, DELTA, "d", v, sizeof(v));
	T_STREQ(v, "2");
	T_TRUE(c.pids[COORD] == coord && hc_alive(&c, COORD));
	hc_destroy(&c);
}

/* A new listen address needs a restart: refused, naming the key, at the
 * coordinator and at a participant; both keep serving on the old one. */
static void
test_refused_change(void)
{
	hcluster c;
	char orig[4096], moved[128];
	CU_ASSERT_FATAL(hc_create(&c, 1, 2000, 300) == 0);
	CU_ASSERT_FATAL(rl_read(&c, orig, sizeof(orig)) == 0);
	CU_ASSERT_FATAL(hc_start_all(&c) == 0);
	snprintf(moved, sizeof(moved), "tcp://127.0.0.1:%d", 32000 + getpid() % 700);
	CU_ASSERT_FATAL(rl_edit(&c, c.urls[COORD], moved) == 0);
	CU_ASSERT_FATAL(rl_edit(&c, "ack_retry_ms: 200", "ack_retry_ms: 250") == 0);
	T_EQ(rl_hup(&c, COORD, "reload: 'coordinator.listen' changed"), 0);
	/* What is safe still applies. */
	T_EQ(hc_wait_log_line(&c, COORD, "reloaded: ack_retry_ms 200 -> 250", 5000), 0);
	CU_ASSERT_FATAL(rl_write(&c, orig) == 0);
	CU_ASSERT_FATAL(rl_edit(&c, c.urls[ALPHA], moved) == 0);
	T_EQ(rl_hup(&c, ALPHA, "reload: 'listen' of participant 'alpha' changed"), 0);
	CU_ASSERT_FATAL(rl_write(&c, orig) == 0);
	T_TRUE(hc_alive(&c, COORD) && hc_alive(&c, ALPHA));
	T_EQ(T_DRV(&c, "commit", "alpha:put:r=1"), 0);
	T_EQ(T_DRV(&c, "commit", "--timeout", "3000", "alpha:put:r=2"), 0);
	hc_destroy(&c);
}

/* A file that does not load: its error at FILE:LINE:COLUMN, the running
 * configuration kept (the broken file's new ack_retry_ms is not taken),
 * and the cluster commits. */
static void
test_broken_file(void)
{
	hcluster c;
	char orig[4096], text[4200], needle[512];
	T_CLUSTER_UP(&c, 1, 2000, 300);
	CU_ASSERT_FATAL(rl_read(&c, orig, sizeof(orig)) == 0);
	CU_ASSERT_FATAL(rl_read(&c, text, sizeof(text)) == 0);
	int lines = 0;
	for (const char *p = text; *p; p++)
		lines += *p == '\n';
	CU_ASSERT_FATAL(rl_edit(&c, "ack_retry_ms: 200", "ack_retry_ms: 900") == 0);
	CU_ASSERT_FATAL(rl_read(&c, text, sizeof(text)) == 0);
	strcat(text, "colour: red\n");
	CU_ASSERT_FATAL(rl_write(&c, text) == 0);
	snprintf(needle, sizeof(needle), "%s:%d:1: unknown key 'colour' at top level", c.file,
	    lines + 1);
	for (int i = COORD; i <= ALPHA; i++) {
		T_EQ(rl_hup(&c, i, "the file does not load; the running configuration is kept"), 0);
		T_CHECK(hc_log_count(&c, i, needle) == 1, "node %d: no line \"%s\"", i, needle);
		T_EQ(hc_log_count(&c, i, "ack_retry_ms 200 -> 900"), 0);
		T_TRUE(hc_alive(&c, i));
	}
	CU_ASSERT_FATAL(rl_write(&c, orig) == 0); /* the driver reads it too */
	T_EQ(T_DRV(&c, "commit", "alpha:put:b=1"), 0);
	hc_destroy(&c);
}

/* INFO lines node I wrote. */
static int
rl_info(hcluster *c, int i)
{
	return hc_log_count(c, i, " INFO ");
}

/* 20 commits: at most one INFO line per transaction per node (in fact a
 * committed one writes none), over the node's start-up lines. */
static void
test_info_lines(void)
{
	enum { N = 20, STARTUP_MAX = 3 };
	hcluster c;
	T_CLUSTER_UP(&c, 2, 2000, 300);
	int start[3];
	for (int i = 0; i < 3; i++)
		start[i] = rl_info(&c, i);
	for (int k = 0; k < N; k++) {
		char a[48], b[48];
		snprintf(a, sizeof(a), "alpha:put:a%d=%d", k, k);
		snprintf(b, sizeof(b), "beta:put:b%d=%d", k, k);
		if (k % 5 == 4) /* some one-phase */
			T_EQ(T_DRV(&c, "commit", a), 0);
		else
			T_EQ(T_DRV(&c, "commit", a, b), 0);
	}
	/* The last transaction's END and FORGET are lazy: let them happen. */
	T_EQ(hc_wait_query(&c, COORD, "SELECT count(*) FROM txn WHERE txid LIKE 'coord-1-20-%' "
	    "AND state = 'END'", 1, 15000), 0);
	printf("\n    INFO lines after start-up for %d commits:", N);
	for (int i = 0; i < 3; i++) {
		int n = rl_info(&c, i);
		printf(" %s %d (+%d at start)", c.names[i], n - start[i], start[i]);
		T_CHECK(start[i] <= STARTUP_MAX, "%s: %d INFO lines at start", c.names[i], start[i]);
		T_CHECK(n - start[i] <= N, "%s: %d INFO lines for %d commits", c.names[i],
		    n - start[i], N);
	}
	printf(" ");
	hc_destroy(&c);
}

/* log_level: debug in the file; the coordinator under -q writes no INFO
 * or DEBUG line, alpha DEBUG ones; SIGHUP with log_level: error silences
 * alpha's next commit; SIGHUP leaves the coordinator's -q in force. */
static void
test_log_level(void)
{
	hcluster c;
	char text[4096], with[4200];
	CU_ASSERT_FATAL(hc_create(&c, 1, 2000, 300) == 0);
	CU_ASSERT_FATAL(rl_read(&c, text, sizeof(text)) == 0);
	snprintf(with, sizeof(with), "log_level: debug\n%s", text);
	CU_ASSERT_FATAL(rl_write(&c, with) == 0);
	snprintf(c.coord_args, sizeof(c.coord_args), "-q"); /* after the harness's -v */
	/* alpha without the harness's -v: the file's level rules. */
	snprintf(c.pcmd, sizeof(c.pcmd), "%s/twopc-participant", c.bin);
	CU_ASSERT_FATAL(hc_start_all(&c) == 0);
	T_EQ(T_DRV(&c, "commit", "alpha:put:l=1"), 0);
	T_EQ(hc_log_count(&c, COORD, " INFO ") + hc_log_count(&c, COORD, " DEBUG "), 0);
	T_CHECK(hc_log_count(&c, ALPHA, " DEBUG ") > 0, "alpha at log_level debug wrote no "
	    "DEBUG line");

	CU_ASSERT_FATAL(rl_edit(&c, "log_level: debug", "log_level: error") == 0);
	T_EQ(rl_hup(&c, ALPHA, "log_level debug -> error"), 0);
	CU_ASSERT_EQUAL(hc_signal(&c, COORD, SIGHUP), 0);
	int debug = hc_log_count(&c, ALPHA, " DEBUG "), info = hc_log_count(&c, ALPHA, " INFO ");
	T_EQ(T_DRV(&c, "commit", "alpha:put:l=2"), 0);
	T_EQ(hc_log_count(&c, ALPHA, " DEBUG "), debug);
	T_EQ(hc_log_count(&c, ALPHA, " INFO "), info);
	T_EQ(hc_log_count(&c, COORD, " INFO ") + hc_log_count(&c, COORD, " DEBUG "), 0);
	T_TRUE(hc_alive(&c, COORD) && hc_alive(&c, ALPHA));
	hc_destroy(&c);
}

/* 30 GLOBAL_COMMITs for transactions alpha has no record of: each is
 * answered, TLIMIT_BURST of them logged. */
static void
test_rate_limited(void)
{
	enum { N = 30 };
	hcluster c;
	CU_ASSERT_FATAL(hc_create(&c, 1, 2000, 300) == 0);
	CU_ASSERT_FATAL(hc_start(&c, ALPHA, NULL) == 0);
	nng_socket s;
	CU_ASSERT_FATAL(rpc_dial(c.urls[ALPHA], 0, &s) == 0);
	int answered = 0;
	for (int k = 0; k < N; k++) {
		wire_msg req, rep;
		char txid[32];
		snprintf(txid, sizeof(txid), "lost-%d", k);
		wire_msg_init(&req, WIRE_GLOBAL_COMMIT, 1, txid, "coord");
		if (rpc_call(s, &req, &rep, 3000) == 0) {
			answered += rep.type == WIRE_ERROR;
			wire_msg_free(&rep);
		}
	}
	rpc_close(s);
	T_EQ(answered, N);
	T_EQ(hc_log_count(&c, ALPHA, "GLOBAL_COMMIT for a transaction with no record here"),
	    TLIMIT_BURST);
	T_TRUE(hc_alive(&c, ALPHA));
	hc_destroy(&c);
}

void
test_reload_register(void)
{
	static const tu_test tests[] = {
		{ "SIGHUP: vote timeout", test_vote_timeout },
		{ "SIGHUP: new participant", test_new_participant },
		{ "SIGHUP: refused change", test_refused_change },
		{ "SIGHUP: broken file", test_broken_file },
		{ "INFO lines per commit", test_info_lines },
		{ "log_level, -q, reload", test_log_level },
		{ "repeated errors rate-limited", test_rate_limited },
	};
	TU_SUITE("reload", tests);
}
