/*
 * test_resolve.c - manual resolution with real daemons (suite "resolve"):
 * `twopc resolve` without and with --force, its refusals, the heuristic
 * records that `twopc status` and `twopc list` show, and the protocol
 * violation that cannot heal (a participant answering GLOBAL_COMMIT with
 * ABORT): logged a bounded number of times, shown, repaired.
 *
 * In-doubt states are made by the daemons themselves: the coordinator is
 * crashed at a crash point (TWOPC_CRASH_AT) and kept down, or its log is
 * lost (the file removed) and it is restarted with none.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "crash.h"
#include "db.h"
#include "harness.h"
#include "testutil.h"
#include "rpc.h"
#include "wire.h"

void test_resolve_register(void);

/* Participants started, then the coordinator armed at POINT; TXID across
 * alpha and beta; returns once the coordinator died there. */
static int
crash_coordinator_at(hcluster *c, const char *point, const char *txid, int decision_ms)
{
	char env[128], out[512];
	if (hc_create(c, 2, 2000, decision_ms) != 0)
		return -1;
	if (hc_start(c, 1, NULL) != 0 || hc_start(c, 2, NULL) != 0)
		return -1;
	snprintf(env, sizeof(env), "TWOPC_CRASH_AT=%s", point);
	if (hc_start(c, 0, env) != 0)
		return -1;
	const char *args[] = { "commit", "--timeout", "3000", "--txid", txid, "alpha:put:k=1",
		"beta:put:k=2", NULL };
	int rc = hc_twopc(c, out, sizeof(out), args);
	int st = 0;
	if (hc_wait_exit(c, 0, 5000, &st) != 0 || !WIFEXITED(st) || WEXITSTATUS(st) != CRASH_EXIT)
		return -1;
	if (hc_wait_state(c, 1, txid, "READY", 10000) != 0 ||
	    hc_wait_state(c, 2, txid, "READY", 10000) != 0)
		return -1;
	/* Before the commit point the driver cannot learn the outcome (3).
	 * At after_commit_logged RESULT COMMITTED was handed to NNG before
	 * the lazy COMMIT record, but the process dies at once (_exit): the
	 * reply may be on the wire (0) or still in NNG's queue, lost with
	 * it (3). Either is right (crashtest's matrix takes both too). */
	if (strcmp(point, "coordinator.after_commit_logged") == 0)
		return rc == 0 || rc == 3 ? 0 : -1;
	return rc == 3 ? 0 : -1;
}

/* The coordinator's log is lost: its files removed. It then refuses to
 * start (the participants have seen epoch 1); started above that, as its
 * man page says, older transactions are in doubt there, not aborted. */
static int
coordinator_log_lost(hcluster *c)
{
	char path[400];
	int st;
	const char *suffix[] = { "", "-wal", "-shm" };
	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s%s", c->logs[0], suffix[i]);
		(void)unlink(path);
	}
	if (hc_spawn(c, 0, NULL) != 0 || hc_wait_exit(c, 0, 10000, &st) != 0 || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 1)
		return -1;
	snprintf(c->coord_args, sizeof(c->coord_args), "--min-epoch 2");
	return hc_start(c, 0, NULL);
}

/* The coordinator's resend_cycles counter (STATUS_REQUEST, counters). */
static long long
resend_cycles(hcluster *c)
{
	nng_socket s;
	wire_msg req, rep;
	long long v = -1;
	if (rpc_dial(c->urls[0], 0, &s) != 0)
		return -1;
	wire_msg_init(&req, WIRE_STATUS_REQUEST, 0, NULL, "client");
	req.state = 2;
	if (rpc_call(s, &req, &rep, 2000) == 0) {
		for (size_t i = 0; rep.type == WIRE_STATUS_REPLY && i < rep.nstatus; i++)
			if (strcmp(rep.status[i].txid, "resend_cycles") == 0)
				v = (long long)rep.status[i].epoch;
		wire_msg_free(&rep);
	}
	rpc_close(s);
	return v;
}

/* Wait until the coordinator has run N more resend passes (bounded). */
static int
wait_cycles(hcluster *c, long long n, int timeout_ms)
{
	long long start = resend_cycles(c);
	int64_t end = mono_ms() + timeout_ms;
	if (start < 0)
		return -1;
	while (mono_ms() < end) {
		long long now = resend_cycles(c);
		if (now >= start + n)
			return 0;
		usleep(50 * 1000);
	}
	return -1;
}

/* (a) In doubt and blocked: every participant READY, the coordinator's
 * decision lost with its log. Resolved without --force while everyone is
 * reachable: the coordinator records COMMIT and delivers it. */
static void
test_resolve_in_doubt(void)
{
	hcluster c;
	char out[8192], v[16];
	CU_ASSERT_FATAL(crash_coordinator_at(&c, "coordinator.before_decision_logged", "rs-1", 60000) == 0);
	CU_ASSERT_FATAL(coordinator_log_lost(&c) == 0);
	const char *args[] = { "resolve", "rs-1", "--commit", NULL };
	int rc = hc_twopc(&c, out, sizeof(out), args);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT(strstr(out, "RESOLVED rs-1") != NULL);
	if (rc != 0)
		fprintf(stderr, "\n%s\n", out);
	/* END first: after it a participant may already have dropped its
	 * COMMIT row on FORGET (R9), so "COMMIT or no row" is what to see;
	 * the kv values below show the commit either way. */
	CU_ASSERT_EQUAL(hc_wait_state(&c, 0, "rs-1", "END", 15000), 0);
	for (int i = 1; i <= 2; i++) {
		char st[32];
		hc_state(&c, i, "rs-1", st, sizeof(st));
		CU_ASSERT(strcmp(st, "COMMIT") == 0 || st[0] == '\0');
	}
	hc_kv(&c, 1, "k", v, sizeof(v));
	CU_ASSERT_STRING_EQUAL(v, "1");
	hc_kv(&c, 2, "k", v, sizeof(v));
	CU_ASSERT_STRING_EQUAL(v, "2");
	CU_ASSERT_EQUAL(hc_query_int(&c, 1, "SELECT count(*) FROM locks"), 0);
	/* Not heuristic: the normal decision, recorded as the coordinator's. */
	CU_ASSERT_EQUAL(hc_query_int(&c, 0, "SELECT count(*) FROM heuristic"), 0);
	CU_ASSERT_EQUAL(hc_query_int(&c, 1, "SELECT count(*) FROM heuristic"), 0);
	hc_destroy(&c);
}

/* (b) Refused while a decision exists: at the coordinator (END), and at
 * a participant (ABORT) when the coordinator has none. Exit 1, the
 * message naming the node and its state. */
static void
test_resolve_refused(void)
{
	hcluster c;
	char out[8192];
	CU_ASSERT_FATAL(crash_coordinator_at(&c, "coordinator.before_decision_logged", "rs-2", 60000) == 0);
	/* alpha alone is told ABORT (beta is down), then beta comes back READY. */
	CU_ASSERT_FATAL(hc_kill(&c, 2) == 0);
	const char *force[] = { "resolve", "rs-2", "--abort", "--force", "--timeout", "2000", NULL };
	CU_ASSERT_EQUAL(hc_twopc(&c, out, sizeof(out), force), 3);
	CU_ASSERT_EQUAL(hc_wait_state(&c, 1, "rs-2", "ABORT", 10), 0);
	CU_ASSERT_FATAL(hc_start(&c, 2, NULL) == 0);
	CU_ASSERT_FATAL(coordinator_log_lost(&c) == 0);
	const char *commit[] = { "resolve", "rs-2", "--commit", NULL };
	CU_ASSERT_EQUAL(hc_twopc(&c, out, sizeof(out), commit), 1);
	CU_ASSERT(strstr(out, "participant alpha has already decided ABORT") != NULL);
	if (strstr(out, "participant alpha has already decided ABORT") == NULL)
		fprintf(stderr, "\n%s\n", out);
	CU_ASSERT_EQUAL(hc_query_int(&c, 0, "SELECT count(*) FROM txn WHERE txid = 'rs-2'"), 0);

	/* A transaction the coordinator decided (END): refused, naming it. */
	const char *run[] = { "commit", "--txid", "rs-3", "alpha:put:x=1", "beta:put:x=2", NULL };
	CU_ASSERT_EQUAL(hc_twopc(&c, out, sizeof(out), run), 0);
	CU_ASSERT_EQUAL(hc_wait_state(&c, 0, "rs-3", "END", 15000), 0);
	const char *abort_[] = { "resolve", "rs-3", "--abort", NULL };
	CU_ASSERT_EQUAL(hc_twopc(&c, out, sizeof(out), abort_), 1);
	CU_ASSERT(strstr(out, "the coordinator coord has already decided: END") != NULL);
	/* A txid nobody knows, and usage errors. */
	const char *unknown[] = { "resolve", "rs-none", "--abort", NULL };
	CU_ASSERT_EQUAL(hc_twopc(&c, out, sizeof(out), unknown), 1);
	CU_ASSERT(strstr(out, "no node has a record of rs-none") != NULL);
	const char *both[] = { "resolve", "rs-3", "--abort", "--commit", NULL };
	CU_ASSERT_EQUAL(hc_twopc(&c, out, sizeof(out), both), 2);
	const char *none[] = { "resolve", "rs-3", NULL };
	CU_ASSERT_EQUAL(hc_twopc(&c, out, sizeof(out), none), 2);
	hc_destroy(&c);
}

/* (c) and (d): the coordinator dies with COMMIT logged and RESULT sent,
 * no GLOBAL_COMMIT;
 * the participants block. The operator forces ABORT while it is down:
 * heuristic rows, status shows them, exit 3 (the coordinator's state is
 * unknown). Back, the coordinator resends GLOBAL_COMMIT and both answer
 * ABORT: the violation is logged once per participant however many resend
 * passes run, survives a restart in `list`, and `resolve --commit --force`
 * repairs it: END, exit 4 (the nodes disagree), and nothing more is sent. */
static void
test_resolve_forced_and_violation(void)
{
	hcluster c;
	char out[8192];
	CU_ASSERT_FATAL(crash_coordinator_at(&c, "coordinator.after_commit_logged", "rs-4", 300) == 0);
	CU_ASSERT_EQUAL(hc_wait_log_line(&c, 1, "rs-4: READY without a decision: blocked", 5000), 0);

	/* (c) --force with the coordinator down. */
	const char *force[] = { "resolve", "rs-4", "--abort", "--force", "--timeout", "2000", NULL };
	int rc = hc_twopc(&c, out, sizeof(out), force);
	CU_ASSERT_EQUAL(rc, 3);
	CU_ASSERT(strstr(out, "INCOMPLETE rs-4") != NULL);
	CU_ASSERT(strstr(out, "UNREACHABLE") != NULL);
	if (rc != 3)
		fprintf(stderr, "\n%s\n", out);
	/* Each is ABORT: forced by the operator (a heuristic row), or, if a
	 * READY participant asked its peer before the operator's RESOLVE
	 * reached it, told ABORT by that peer (termination: no row). The
	 * first one the driver reached holds the row. */
	long long heur = 0;
	for (int i = 1; i <= 2; i++) {
		CU_ASSERT_EQUAL(hc_wait_state(&c, i, "rs-4", "ABORT", 10), 0);
		heur += hc_query_int(&c, i,
		    "SELECT count(*) FROM heuristic WHERE txid = 'rs-4' AND outcome = 'ABORT'");
		CU_ASSERT_EQUAL(hc_query_int(&c, i, "SELECT count(*) FROM locks"), 0);
	}
	CU_ASSERT(heur >= 1 && heur <= 2);
	CU_ASSERT_EQUAL(hc_query_int(&c, 1,
	    "SELECT count(*) FROM heuristic WHERE txid = 'rs-4' AND outcome = 'ABORT'"), 1);
	const char *status[] = { "status", "rs-4", NULL };
	CU_ASSERT_EQUAL(hc_twopc(&c, out, sizeof(out), status), 0);
	CU_ASSERT(strstr(out, "heuristic ABORT") != NULL);

	/* (d) The coordinator returns holding COMMIT. */
	CU_ASSERT_FATAL(hc_start(&c, 0, NULL) == 0);
	CU_ASSERT_EQUAL(hc_wait_log_line(&c, 0, "rs-4: PROTOCOL VIOLATION: beta answered", 5000), 0);
	CU_ASSERT_EQUAL(hc_wait_log_line(&c, 0, "rs-4: PROTOCOL VIOLATION: alpha answered", 5000), 0);
	CU_ASSERT_EQUAL(wait_cycles(&c, 6, 10000), 0);  /* 6 resend passes: 3 s at 500 ms */
	CU_ASSERT_EQUAL(hc_log_count(&c, 0, "PROTOCOL VIOLATION"), 2);
	CU_ASSERT_EQUAL(hc_log_count(&c, 1, "PROTOCOL VIOLATION"), 1); /* one GLOBAL_COMMIT each */
	CU_ASSERT_EQUAL(hc_log_count(&c, 2, "PROTOCOL VIOLATION"), 1);
	CU_ASSERT_EQUAL(hc_query_int(&c, 0,
	    "SELECT count(*) FROM heuristic WHERE txid = 'rs-4' AND outcome = 'VIOLATION'"), 1);
	/* Shown by list, after a restart too (and still not resent). */
	CU_ASSERT_EQUAL(hc_signal(&c, 0, SIGTERM), 0);
	CU_ASSERT_EQUAL(hc_wait_exit(&c, 0, 5000, NULL), 0);
	CU_ASSERT_FATAL(hc_start(&c, 0, NULL) == 0);
	const char *list[] = { "list", NULL };
	CU_ASSERT_EQUAL(hc_twopc(&c, out, sizeof(out), list), 0);
	CU_ASSERT(strstr(out, "rs-4") != NULL && strstr(out, "DAMAGED at coord: VIOLATION") != NULL);
	if (strstr(out, "DAMAGED at coord") == NULL)
		fprintf(stderr, "\n%s\n", out);
	CU_ASSERT_EQUAL(wait_cycles(&c, 3, 10000), 0);
	CU_ASSERT_EQUAL(hc_log_count(&c, 1, "PROTOCOL VIOLATION"), 1);

	/* The repair. */
	const char *repair[] = { "resolve", "rs-4", "--commit", "--force", NULL };
	rc = hc_twopc(&c, out, sizeof(out), repair);
	CU_ASSERT_EQUAL(rc, 4);
	CU_ASSERT(strstr(out, "DAMAGED rs-4") != NULL);
	if (rc != 4)
		fprintf(stderr, "\n%s\n", out);
	CU_ASSERT_EQUAL(hc_wait_state(&c, 0, "rs-4", "END", 10), 0);
	CU_ASSERT_EQUAL(hc_query_int(&c, 0,
	    "SELECT count(*) FROM heuristic WHERE txid = 'rs-4' AND outcome = 'COMMIT'"), 1);
	CU_ASSERT_EQUAL(hc_query_int(&c, 0, "SELECT count(*) FROM acks"), 0);
	CU_ASSERT_EQUAL(wait_cycles(&c, 3, 10000), 0);
	CU_ASSERT_EQUAL(hc_log_count(&c, 1, "PROTOCOL VIOLATION"), 1);
	CU_ASSERT_EQUAL(hc_log_count(&c, 0, "PROTOCOL VIOLATION"), 2);
	/* Shown until the operator drops it. */
	CU_ASSERT_EQUAL(hc_twopc(&c, out, sizeof(out), list), 0);
	CU_ASSERT(strstr(out, "DAMAGED at coord: heuristic COMMIT") != NULL);
	const char *forget[] = { "resolve", "rs-4", "--forget-heuristic", NULL };
	CU_ASSERT_EQUAL(hc_twopc(&c, out, sizeof(out), forget), 0);
	CU_ASSERT_EQUAL(hc_query_int(&c, 0, "SELECT count(*) FROM heuristic"), 0);
	CU_ASSERT_EQUAL(hc_query_int(&c, 1, "SELECT count(*) FROM heuristic"), 0);
	CU_ASSERT_EQUAL(hc_twopc(&c, out, sizeof(out), list), 0);
	CU_ASSERT(strstr(out, "rs-4") == NULL);
	hc_destroy(&c);
}

void
test_resolve_register(void)
{
	static const tu_test tests[] = {
		{ "in_doubt_resolved", test_resolve_in_doubt },
		{ "refused_while_decided", test_resolve_refused },
		{ "forced_then_violation_repaired", test_resolve_forced_and_violation },
	};
	TU_SUITE("resolve", tests);
}
