/*
 * test_termination.c - the cooperative termination protocol with real
 * processes (suite "termination", DESIGN section 4).
 *
 * The coordinator is crashed at a chosen step (TWOPC_CRASH_AT) and, unless
 * a case says otherwise, never restarted: the participants must settle
 * among themselves when one of them knows the decision, stay READY
 * (blocked, locks held) when none does, and never decide alone.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <CUnit/CUnit.h>

#include "crash.h"
#include "db.h"
#include "harness.h"
#include "testutil.h"

void test_termination_register(void);

#define DECISION_MS 300
/* How long a wait for the peers' resolution may take before it fails:
 * generous, as it returns once they resolved; the time it took is
 * measured, and its median bounded, separately. */
#define RESOLVE_WAIT_MS 20000

/* Times from the coordinator's death to the last participant's decision,
 * for the median printed at the end of the suite. */
static int64_t resolve_ms[16];
static int nresolve;

/* Start participants, then the coordinator armed at POINT; submit T
 * across all three (the driver cannot learn the outcome); return once the
 * coordinator has died there. */
static int
crash_coordinator_at(hcluster *c, const char *point, const char *txid, int64_t *died)
{
	char env[128], out[512];
	if (hc_create(c, 3, 2000, DECISION_MS) != 0)
		return -1;
	for (int i = 1; i <= 3; i++)
		if (hc_start(c, i, NULL) != 0)
			return -1;
	snprintf(env, sizeof(env), "TWOPC_CRASH_AT=%s", point);
	if (hc_start(c, 0, env) != 0)
		return -1;
	const char *args[] = { "commit", "--timeout", "3000", "--txid", txid, "alpha:put:k=1",
		"beta:put:k=2", "gamma:put:k=3", NULL };
	int rc = hc_twopc(c, out, sizeof(out), args);
	int st = 0;
	if (hc_wait_exit(c, 0, 15000, &st) != 0 || !WIFEXITED(st) || WEXITSTATUS(st) != CRASH_EXIT)
		return -1;
	*died = mono_ms();
	/* Before the commit point the driver cannot learn the outcome (3);
	 * RESULT leaves with the first GLOBAL_COMMIT, so a crash in phase two
	 * may come after the driver was told COMMITTED (0). */
	int phase_two = strstr(point, "global") != NULL;
	return rc == 3 || (phase_two && rc == 0) ? 0 : -1;
}

static int
all_state(hcluster *c, const char *txid, const char *state, int timeout_ms)
{
	for (int i = 1; i <= 3; i++)
		if (hc_wait_state(c, i, txid, state, timeout_ms) != 0)
			return -1;
	return 0;
}

/* Dies after exactly one participant committed: the other two learn
 * COMMIT from it (both run termination at the same moment). */
static void
test_after_first_global(void)
{
	hcluster c;
	int64_t died;
	CU_ASSERT_FATAL(crash_coordinator_at(&c, "coordinator.after_first_global", "tf-1", &died) == 0);
	CU_ASSERT_EQUAL(hc_wait_state(&c, 1, "tf-1", "COMMIT", 100), 0);
	CU_ASSERT_EQUAL(all_state(&c, "tf-1", "COMMIT", RESOLVE_WAIT_MS), 0);
	int64_t took = mono_ms() - died;
	if (nresolve < 16)
		resolve_ms[nresolve++] = took;
	CU_ASSERT_EQUAL(hc_wait_log_line(&c, 2, "tf-1: alpha answered COMMIT (termination protocol)", 100), 0);
	CU_ASSERT_EQUAL(hc_wait_log_line(&c, 3, "tf-1: alpha answered COMMIT (termination protocol)", 100), 0);
	CU_ASSERT_EQUAL(hc_query_int(&c, 2, "SELECT count(*) FROM locks"), 0);
	hc_destroy(&c);
}

/* Dies at the commit point, before any GLOBAL: every participant is READY
 * and none knows; they block, keep their locks, never decide alone; the
 * restarted coordinator resolves them to COMMIT. */
static void
test_after_decision_logged(void)
{
	hcluster c;
	int64_t died;
	CU_ASSERT_FATAL(crash_coordinator_at(&c, "coordinator.after_decision_logged", "tf-2", &died) == 0);
	for (int i = 1; i <= 3; i++)
		CU_ASSERT_EQUAL(hc_wait_log_line(&c, i,
		    "tf-2: READY without a decision: blocked: all reachable participants READY", 15000), 0);
	CU_ASSERT_EQUAL(all_state(&c, "tf-2", "READY", 10), 0);
	CU_ASSERT_EQUAL(hc_query_int(&c, 1, "SELECT count(*) FROM locks WHERE txid = 'tf-2'"), 1);
	char out[4096];
	const char *args[] = { "list", "--in-doubt", NULL };
	CU_ASSERT_EQUAL(hc_twopc(&c, out, sizeof(out), args), 0);
	CU_ASSERT(strstr(out, "tf-2") != NULL && strstr(out, "coordinator unreachable for") != NULL);
	CU_ASSERT_FATAL(hc_start(&c, 0, NULL) == 0);
	CU_ASSERT_EQUAL(hc_wait_state(&c, 0, "tf-2", "END", 15000), 0);
	for (int i = 1; i <= 3; i++) {
		char v[8];
		hc_kv(&c, i, "k", v, sizeof(v));
		CU_ASSERT_EQUAL(atoi(v), i);
	}
	hc_destroy(&c);
}

/* Dies at the commit point (WAIT durable, every vote yes, nothing sent);
 * restarted while gamma is down. It must not abort on its own (the
 * commit point is behind it) nor commit without hearing gamma: the WAIT
 * stays in doubt, visibly, until gamma is back; then every participant
 * commits. */
static void
test_restart_with_participant_away(void)
{
	hcluster c;
	int64_t died;
	char out[4096];
	CU_ASSERT_FATAL(crash_coordinator_at(&c, "coordinator.after_decision_logged", "tf-6", &died) == 0);
	CU_ASSERT_EQUAL(hc_kill(&c, 3), 0);
	CU_ASSERT_FATAL(hc_start(&c, 0, NULL) == 0);
	CU_ASSERT_EQUAL(hc_wait_log_line(&c, 0,
	    "tf-6: in doubt (WAIT found after a restart): no answer from gamma; 2 of 3 participants READY",
	    10000), 0);
	const char *args[] = { "list", "--in-doubt", NULL };
	CU_ASSERT_EQUAL(hc_twopc(&c, out, sizeof(out), args), 0);
	CU_ASSERT(strstr(out, "tf-6") != NULL && strstr(out, "WAIT") != NULL);
	char st[16];
	hc_state(&c, 0, "tf-6", st, sizeof(st));
	CU_ASSERT_STRING_EQUAL(st, "WAIT");
	CU_ASSERT_EQUAL(hc_wait_state(&c, 1, "tf-6", "READY", 10), 0);
	CU_ASSERT_EQUAL(hc_wait_state(&c, 2, "tf-6", "READY", 10), 0);
	CU_ASSERT_FATAL(hc_start(&c, 3, NULL) == 0);
	/* END, and the writes applied everywhere (the COMMIT rows themselves
	 * may already be forgotten, R9). */
	CU_ASSERT_EQUAL(hc_wait_state(&c, 0, "tf-6", "END", 10000), 0);
	for (int i = 1; i <= 3; i++) {
		char v[8];
		hc_kv(&c, i, "k", v, sizeof(v));
		CU_ASSERT_EQUAL(atoi(v), i);
	}
	CU_ASSERT_EQUAL(hc_wait_log_line(&c, 0,
	    "tf-6: WAIT -> COMMIT (asked after a restart: every participant READY)", 10), 0);
	hc_destroy(&c);
}

/* Dies with every vote in, before the decision: blocked, then ABORT once
 * the coordinator is back (presumed abort). */
static void
test_before_decision_logged(void)
{
	hcluster c;
	int64_t died;
	CU_ASSERT_FATAL(crash_coordinator_at(&c, "coordinator.before_decision_logged", "tf-3", &died) == 0);
	for (int i = 1; i <= 3; i++)
		CU_ASSERT_EQUAL(hc_wait_log_line(&c, i,
		    "tf-3: READY without a decision: blocked: all reachable participants READY", 15000), 0);
	CU_ASSERT_EQUAL(all_state(&c, "tf-3", "READY", 10), 0);
	CU_ASSERT_FATAL(hc_start(&c, 0, NULL) == 0);
	CU_ASSERT_EQUAL(all_state(&c, "tf-3", "ABORT", 10000), 0);
	CU_ASSERT_EQUAL(hc_query_int(&c, 2, "SELECT count(*) FROM locks"), 0);
	hc_destroy(&c);
}

/* gamma never received its VOTE_REQUEST (it was down) and the coordinator
 * died waiting for it. When gamma returns, asked by the READY ones, it
 * forces ABORT (it never voted) and everyone aborts, coordinator or not. */
static void
test_unvoted_participant(void)
{
	hcluster c;
	char path[320];
	CU_ASSERT_FATAL(hc_create(&c, 3, 10000, DECISION_MS) == 0);
	CU_ASSERT_FATAL(hc_start(&c, 1, NULL) == 0 && hc_start(&c, 2, NULL) == 0 && hc_start(&c, 0, NULL) == 0);
	snprintf(path, sizeof(path), "%s/driver.out", c.dir);
	const char *args[] = { "commit", "--timeout", "20000", "--txid", "tf-4", "alpha:put:k=1",
		"beta:put:k=2", "gamma:put:k=3", NULL };
	pid_t d = hc_twopc_bg(&c, path, args);
	CU_ASSERT_EQUAL(hc_wait_state(&c, 1, "tf-4", "READY", 15000), 0);
	CU_ASSERT_EQUAL(hc_wait_state(&c, 2, "tf-4", "READY", 15000), 0);
	CU_ASSERT_EQUAL(hc_kill(&c, 0), 0);
	CU_ASSERT_EQUAL(hc_twopc_wait(d, 5000), 3);
	/* Blocked while gamma is away: alpha and beta only see each other. */
	CU_ASSERT_EQUAL(hc_wait_log_line(&c, 1, "tf-4: READY without a decision: blocked: READY: beta; unreachable: gamma", 15000), 0);
	CU_ASSERT_FATAL(hc_start(&c, 3, NULL) == 0);
	CU_ASSERT_EQUAL(hc_wait_state(&c, 3, "tf-4", "ABORT", 10000), 0);
	CU_ASSERT_EQUAL(hc_wait_state(&c, 1, "tf-4", "ABORT", 10000), 0);
	CU_ASSERT_EQUAL(hc_wait_state(&c, 2, "tf-4", "ABORT", 10000), 0);
	CU_ASSERT_EQUAL(hc_query_int(&c, 1, "SELECT count(*) FROM locks"), 0);
	hc_destroy(&c);
}

/* The inquiry's ABORT: gamma is down, the coordinator dies waiting for its
 * vote with WAIT durable, and comes back with gamma. Asked about the run,
 * gamma has no record and forces ABORT (R8); the coordinator then records
 * ABORT (forced) and the READY ones are told. */
static void
test_restart_inquiry_abort(void)
{
	hcluster c;
	char path[320];
	CU_ASSERT_FATAL(hc_create(&c, 3, 10000, 60000) == 0);
	CU_ASSERT_FATAL(hc_start(&c, 1, NULL) == 0 && hc_start(&c, 2, NULL) == 0 && hc_start(&c, 0, NULL) == 0);
	snprintf(path, sizeof(path), "%s/driver.out", c.dir);
	const char *args[] = { "commit", "--timeout", "20000", "--txid", "tf-7", "alpha:put:k=1",
		"beta:put:k=2", "gamma:put:k=3", NULL };
	pid_t d = hc_twopc_bg(&c, path, args);
	CU_ASSERT_EQUAL(hc_wait_state(&c, 1, "tf-7", "READY", 15000), 0);
	CU_ASSERT_EQUAL(hc_wait_state(&c, 2, "tf-7", "READY", 15000), 0);
	CU_ASSERT_EQUAL(hc_wait_state(&c, 0, "tf-7", "WAIT", 15000), 0);
	CU_ASSERT_EQUAL(hc_kill(&c, 0), 0);
	CU_ASSERT_EQUAL(hc_twopc_wait(d, 5000), 3);
	CU_ASSERT_FATAL(hc_start(&c, 3, NULL) == 0);
	CU_ASSERT_FATAL(hc_start(&c, 0, NULL) == 0);
	CU_ASSERT_EQUAL(hc_wait_log_line(&c, 0,
	    "tf-7: WAIT -> ABORT (asked after a restart: gamma answered ABORT)", 10000), 0);
	CU_ASSERT_EQUAL(all_state(&c, "tf-7", "ABORT", 10000), 0);
	CU_ASSERT_EQUAL(hc_query_int(&c, 1, "SELECT count(*) FROM locks"), 0);
	hc_destroy(&c);
}

/* A READY participant restarts while the coordinator is still gone: it
 * runs the same protocol from its log and learns COMMIT from alpha. */
static void
test_restart_while_coordinator_gone(void)
{
	hcluster c;
	int64_t died;
	CU_ASSERT_FATAL(crash_coordinator_at(&c, "coordinator.after_first_global", "tf-5", &died) == 0);
	/* Kill beta at once; it may or may not have settled already: either
	 * way, restarted, it must end COMMIT without the coordinator. */
	CU_ASSERT_EQUAL(hc_kill(&c, 2), 0);
	char st[16];
	hc_state(&c, 2, "tf-5", st, sizeof(st));
	CU_ASSERT(strcmp(st, "READY") == 0 || strcmp(st, "COMMIT") == 0);
	CU_ASSERT_FATAL(hc_start(&c, 2, NULL) == 0);
	CU_ASSERT_EQUAL(all_state(&c, "tf-5", "COMMIT", RESOLVE_WAIT_MS), 0);
	CU_ASSERT(!hc_alive(&c, 0));
	hc_destroy(&c);
}

static void
test_report_median(void)
{
	/* Sorted insertion; the median of the resolution times measured above. */
	for (int i = 1; i < nresolve; i++)
		for (int j = i; j > 0 && resolve_ms[j] < resolve_ms[j - 1]; j--) {
			int64_t t = resolve_ms[j];
			resolve_ms[j] = resolve_ms[j - 1];
			resolve_ms[j - 1] = t;
		}
	CU_ASSERT_FATAL(nresolve > 0);
	printf("\n    coordinator death -> resolved by peers: median %lld ms over %d runs "
	    "(decision_timeout_ms %d) ", (long long)resolve_ms[nresolve / 2], nresolve, DECISION_MS);
	CU_ASSERT(resolve_ms[nresolve / 2] < 10 * DECISION_MS);
}

static void
test_after_first_global_repeat(void)
{
	for (int i = 0; i < 4; i++)
		test_after_first_global();
}

void
test_termination_register(void)
{
	static const tu_test cases[] = {
		{ "coordinator dies after the first GLOBAL: peers commit", test_after_first_global },
		{ "coordinator dies at the commit point: blocked, then COMMIT", test_after_decision_logged },
		{ "coordinator dies before the decision: blocked, then ABORT", test_before_decision_logged },
		{ "restart at the commit point with a participant down: in doubt, then COMMIT",
		    test_restart_with_participant_away },
		{ "a participant never got VOTE_REQUEST: everyone aborts", test_unvoted_participant },
		{ "restart while a vote is missing: asked, the silent one forces ABORT", test_restart_inquiry_abort },
		{ "READY participant restarts while the coordinator is gone", test_restart_while_coordinator_gone },
		{ "four more runs of the first case, for the timing", test_after_first_global_repeat },
		{ "median time from coordinator death to resolution", test_report_median },
	};
	TU_SUITE("termination", cases);
}
