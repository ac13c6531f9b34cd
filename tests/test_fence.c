/*
 * test_fence.c - one process per log, fencing between coordinator
 * incarnations, a way back from a lost coordinator log, damaged logs
 * (suite "fence").
 *
 * Every case runs real daemons on loopback (tests/harness.c) and replays
 * an operator's mistake as it was reported: a second daemon started on a
 * live log, an older coordinator resumed after a newer one ran, a deleted
 * coordinator log, a corrupt page in a participant's log. Each asserts
 * what the daemons print and what their logs hold afterwards; none waits
 * on a bare sleep.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <sqlite3.h>

#include "db.h"
#include "harness.h"
#include "rpc.h"
#include "txstate.h"
#include "wire.h"
#include "testutil.h"

void test_fence_register(void);

#define A 1 /* alpha */
#define B 2 /* beta */
#define G 3 /* gamma */


/* The text of node I's stderr log ("" if none). */
static void
node_log(hcluster *c, int i, char *buf, size_t len)
{
	char path[320];
	snprintf(path, sizeof(path), "%s/%s.log", c->dir, c->names[i]);
	buf[0] = '\0';
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return;
	size_t n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
}

/* The state of TXID at every node, as "coord=X alpha=Y ...". */
static void
states(hcluster *c, const char *txid, char *buf, size_t len)
{
	size_t at = 0;
	buf[0] = '\0';
	for (int i = 0; i < c->nnodes && at < len; i++) {
		char st[32];
		hc_state(c, i, txid, st, sizeof(st));
		at += (size_t)snprintf(buf + at, len - at, "%s%s=%s", i ? " " : "", c->names[i], st);
	}
}

/* Every participant holds the same decision for TXID and the coordinator
 * agrees (COMMIT/END or ABORT/no record). */
static int
one_outcome(hcluster *c, const char *txid, const char *want)
{
	char cs[32], ps[32];
	int commit = strcmp(want, "COMMIT") == 0;
	/* A committed transaction may reach END and be forgotten by the
	 * participants (FORGET, R9) before this looks: no row there then
	 * means COMMIT, once the coordinator says END. */
	if (commit && hc_wait_state(c, 0, txid, "END", 10000) == 0) {
		for (int i = 1; i < c->nnodes; i++) {
			hc_state(c, i, txid, ps, sizeof(ps));
			if (strcmp(ps, "COMMIT") != 0 && ps[0] != '\0')
				return 0;
		}
		return 1;
	}
	for (int i = 1; i < c->nnodes; i++) {
		if (hc_wait_state(c, i, txid, want, 10000) != 0)
			return 0;
	}
	hc_state(c, 0, txid, cs, sizeof(cs));
	if (commit)
		return strcmp(cs, "COMMIT") == 0 || strcmp(cs, "END") == 0;
	return strcmp(cs, "ABORT") == 0 || cs[0] == '\0';
}

/* Node I's pid as text. */
static void
pid_text(hcluster *c, int i, char *buf, size_t len)
{
	snprintf(buf, len, "process %ld", (long)c->pids[i]);
}

/*
 * The reported split: gamma paused, a transaction waiting for its vote, a
 * second coordinator started on the same cluster file. It must stop before
 * it reads the live log (naming the holder's pid), change nothing, and the
 * transaction must end with one outcome everywhere.
 */
static void
test_second_coordinator_refused(void)
{
	hcluster c, c2;
	char buf[16384], pid[64], all[256];
	int st;
	/* The vote timeout outlasts the second coordinator's start and exit
	 * however slow the machine: the transaction must still be in WAIT
	 * when the live log is looked at below. Once gamma is resumed its
	 * vote ends the wait at once. */
	T_CLUSTER_UP(&c, 3, 60000, 1000);
	CU_ASSERT_FATAL(hc_signal(&c, G, SIGSTOP) == 0);
	char outf[320];
	snprintf(outf, sizeof(outf), "%s/client.tu_out", c.dir);
	const char *args[] = { "commit", "--txid", "dual-1", "alpha:put:d=1", "beta:put:d=1",
		"gamma:put:d=1", NULL };
	pid_t cl = hc_twopc_bg(&c, outf, args);
	CU_ASSERT_FATAL(cl > 0);
	CU_ASSERT_EQUAL(hc_wait_state(&c, A, "dual-1", "READY", 5000), 0);
	CU_ASSERT_EQUAL(hc_wait_state(&c, B, "dual-1", "READY", 5000), 0);

	/* The second coordinator: same file, same name, its own stderr. */
	c2 = c;
	memset(c2.pids, 0, sizeof(c2.pids));
	snprintf(c2.names[0], sizeof(c2.names[0]), "coord2");
	CU_ASSERT_FATAL(hc_spawn(&c2, 0, NULL) == 0);
	CU_ASSERT_EQUAL(hc_wait_exit(&c2, 0, 10000, &st), 0);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 1);
	node_log(&c2, 0, buf, sizeof(buf));
	pid_text(&c, 0, pid, sizeof(pid));
	CU_ASSERT(strstr(buf, "the log is in use by") != NULL);
	CU_ASSERT(strstr(buf, pid) != NULL);
	CU_ASSERT(strstr(buf, "recovery") == NULL);
	CU_ASSERT(strstr(buf, "ABORT") == NULL);
	/* The live log was not touched: still WAIT, epoch still 1. */
	hc_state(&c, 0, "dual-1", all, sizeof(all));
	CU_ASSERT_STRING_EQUAL(all, "WAIT");
	CU_ASSERT_EQUAL(hc_query_int(&c, 0, "SELECT value FROM meta WHERE key = 'epoch'"), 1);

	CU_ASSERT_EQUAL(hc_signal(&c, G, SIGCONT), 0);
	int rc = hc_twopc_wait(cl, 15000);
	CU_ASSERT(rc == 0 || rc == 1);
	const char *want = rc == 0 ? "COMMIT" : "ABORT";
	CU_ASSERT(one_outcome(&c, "dual-1", want));
	states(&c, "dual-1", all, sizeof(all));
	if (!one_outcome(&c, "dual-1", want))
		fprintf(stderr, "dual-1: client exit %d, %s\n", rc, all);
	/* Not wedged: the next transaction commits. */
	CU_ASSERT_EQUAL(T_DRV(&c, "commit", "alpha:put:e=1", "beta:put:e=1", "gamma:put:e=1", NULL,
	    NULL), 0);
	hc_destroy(&c);
}

/* A second participant on a live participant's log stops the same way. */
static void
test_second_participant_refused(void)
{
	hcluster c, c2;
	char buf[16384], pid[64];
	int st;
	T_CLUSTER_UP(&c, 2, 2000, 1000);
	/* The same command line; its stderr in a directory of its own. */
	c2 = c;
	memset(c2.pids, 0, sizeof(c2.pids));
	CU_ASSERT_FATAL(snprintf(c2.dir, sizeof(c2.dir), "%.200s/second", c.dir) > 0);
	CU_ASSERT_FATAL(mkdir(c2.dir, 0700) == 0);
	CU_ASSERT_FATAL(hc_spawn(&c2, A, NULL) == 0);
	CU_ASSERT_EQUAL(hc_wait_exit(&c2, A, 10000, &st), 0);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) != 0);
	node_log(&c2, A, buf, sizeof(buf));
	pid_text(&c, A, pid, sizeof(pid));
	CU_ASSERT(strstr(buf, "the log is in use by") != NULL);
	CU_ASSERT(strstr(buf, pid) != NULL);
	CU_ASSERT(strstr(buf, "serving") == NULL);
	CU_ASSERT_EQUAL(T_DRV(&c, "commit", "alpha:put:x=1", "beta:put:x=1", NULL, NULL, NULL), 0);
	hc_destroy(&c);
}

/* Rewrite the cluster file's decision timeout (read at each start). */
static void
set_decision_timeout(hcluster *c, const char *file, int ms)
{
	char text[4096];
	FILE *f = fopen(file, "r");
	CU_ASSERT_FATAL(f != NULL);
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	char *p = strstr(text, "decision_timeout_ms: ");
	CU_ASSERT_FATAL(p != NULL);
	char *eol = strchr(p, '\n');
	char rest[4096];
	snprintf(rest, sizeof(rest), "%s", eol ? eol : "");
	snprintf(p, sizeof(text) - (size_t)(p - text), "decision_timeout_ms: %d%s", ms, rest);
	f = fopen(file, "w");
	CU_ASSERT_FATAL(f != NULL);
	fputs(text, f);
	fclose(f);
	(void)c;
}

/*
 * An older coordinator resumed after a newer one has run is fenced: a
 * copy of the log (taken while the first is paused, as a fail-over to a
 * replica would) runs as a second coordinator on another address and
 * commits; the first, resumed, is refused by the participants as stale,
 * stops deciding, answers "outcome unknown" and exits. Restarted, it sees
 * that the participants know a higher epoch and refuses to start, with the
 * command that starts it above them; with that command it serves again.
 */
static void
test_older_coordinator_fenced(void)
{
	hcluster c, cb;
	char buf[16384];
	int st;
	T_CLUSTER_UP(&c, 2, 2000, 1000);
	CU_ASSERT_EQUAL(T_DRV(&c, "commit", "--txid", "first-1", "alpha:put:a=1", "beta:put:b=1",
	    NULL), 0);
	/* COMMITTED leaves before the GLOBAL_COMMITs: paused before they go,
	 * the copy below would hold first-1 undecided and alpha and beta
	 * would hold its keys. Paused once it is END. */
	CU_ASSERT_EQUAL(hc_wait_state(&c, 0, "first-1", "END", 10000), 0);
	CU_ASSERT_FATAL(hc_signal(&c, 0, SIGSTOP) == 0);

	/* The copy, and a cluster file naming it and another address. */
	cb = c;
	memset(cb.pids, 0, sizeof(cb.pids));
	snprintf(cb.names[0], sizeof(cb.names[0]), "coordB");
	snprintf(cb.file, sizeof(cb.file), "%s/cluster-b.yaml", c.dir);
	char urlb[64];
	snprintf(urlb, sizeof(urlb), "tcp://127.0.0.1:%d", atoi(strrchr(c.urls[0], ':') + 1) + 9);
	snprintf(cb.urls[0], sizeof(cb.urls[0]), "%s", urlb);
	snprintf(cb.logs[0], sizeof(cb.logs[0]), "%s/coord-b.db", c.dir);
	{
		sqlite3 *h = NULL;
		char sql[512];
		CU_ASSERT_FATAL(sqlite3_open_v2(c.logs[0], &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
		snprintf(sql, sizeof(sql), "VACUUM INTO '%s'", cb.logs[0]);
		CU_ASSERT_EQUAL(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
		sqlite3_close(h);
		char text[4096], cmd[1024];
		FILE *f = fopen(c.file, "r");
		CU_ASSERT_FATAL(f != NULL);
		size_t n = fread(text, 1, sizeof(text) - 1, f);
		text[n] = '\0';
		fclose(f);
		f = fopen(cb.file, "w");
		CU_ASSERT_FATAL(f != NULL);
		char *lp = strstr(text, c.urls[0]);
		char *lg = strstr(text, "log: coord.db");
		CU_ASSERT_FATAL(lp != NULL && lg != NULL && lp < lg);
		fprintf(f, "%.*s%s%.*slog: coord-b.db%s", (int)(lp - text), text, urlb,
		    (int)(lg - lp - strlen(c.urls[0])), lp + strlen(c.urls[0]),
		    lg + strlen("log: coord.db"));
		fclose(f);
		(void)cmd;
	}
	CU_ASSERT_FATAL(hc_start(&cb, 0, NULL) == 0);
	CU_ASSERT_EQUAL(T_DRV(&cb, "commit", "--txid", "newer-1", "alpha:put:a=2", "beta:put:b=2", NULL),
	    0);
	CU_ASSERT_EQUAL(hc_signal(&cb, 0, SIGTERM), 0);
	CU_ASSERT_EQUAL(hc_wait_exit(&cb, 0, 10000, &st), 0);

	/* The older one resumes and is asked to commit: refused, fenced. */
	CU_ASSERT_EQUAL(hc_signal(&c, 0, SIGCONT), 0);
	int rc = T_DRV(&c, "commit", "--txid", "older-1", "alpha:put:a=3", "beta:put:b=3", NULL);
	CU_ASSERT_EQUAL(rc, 3);
	CU_ASSERT(strstr(tu_out, "COMMITTED") == NULL);
	CU_ASSERT_EQUAL(hc_wait_exit(&c, 0, 10000, &st), 0);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 1);
	node_log(&c, 0, buf, sizeof(buf));
	CU_ASSERT(strstr(buf, "fenced: participant") != NULL);
	CU_ASSERT(strstr(buf, "has seen coordinator epoch 2 and this coordinator runs epoch 1") != NULL);
	/* Nothing of older-1 was applied anywhere. */
	char v[64];
	hc_kv(&c, A, "a", v, sizeof(v));
	CU_ASSERT_STRING_EQUAL(v, "2");
	hc_kv(&c, B, "b", v, sizeof(v));
	CU_ASSERT_STRING_EQUAL(v, "2");

	/* Restarted on its (now older) log: refused, with the way back. */
	CU_ASSERT_FATAL(hc_spawn(&c, 0, NULL) == 0);
	CU_ASSERT_EQUAL(hc_wait_exit(&c, 0, 10000, &st), 0);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 1);
	node_log(&c, 0, buf, sizeof(buf));
	CU_ASSERT(strstr(buf, "has seen epoch 2") != NULL);
	CU_ASSERT(strstr(buf, "--min-epoch 3") != NULL);
	snprintf(c.coord_args, sizeof(c.coord_args), "--min-epoch 3");
	CU_ASSERT_FATAL(hc_start(&c, 0, NULL) == 0);
	CU_ASSERT_EQUAL(hc_query_int(&c, 0, "SELECT value FROM meta WHERE key = 'epoch'"), 3);
	CU_ASSERT_EQUAL(T_DRV(&c, "commit", "alpha:put:a=4", "beta:put:b=4", NULL, NULL, NULL), 0);
	hc_destroy(&c);
}

/* DECISION_REQUEST for TXID of run EPOCH, straight to the coordinator. */
static int
ask_coordinator(hcluster *c, const char *txid, uint64_t epoch)
{
	nng_socket s;
	wire_msg req, rep;
	if (rpc_dial(c->urls[0], 0, &s) != 0)
		return -1;
	wire_msg_init(&req, WIRE_DECISION_REQUEST, epoch, txid, "beta");
	int rv = rpc_call(s, &req, &rep, 3000);
	rpc_close(s);
	if (rv != 0)
		return -1;
	int state = rep.type == WIRE_DECISION_REPLY ? rep.state : -1;
	wire_msg_free(&rep);
	return state;
}

/*
 * A lost coordinator log after a commit was half delivered: alpha has
 * COMMIT, beta is READY, alpha is unreachable (paused), and coord.db is
 * deleted. A coordinator that restarted on an empty log would presume
 * ABORT for beta: split. Now it refuses to start, naming the epoch the
 * participants have seen and the command; started above it, it answers
 * "no help" (READY) for the older epoch's transaction, not ABORT, so beta
 * stays READY until alpha is back and tells it COMMIT.
 */
static void
test_lost_coordinator_log(void)
{
	hcluster c;
	char buf[16384], path[400];
	int st;
	T_CLUSTER_UP(&c, 2, 2000, 60000);
	CU_ASSERT_EQUAL(hc_kill(&c, 0), 0);
	CU_ASSERT_FATAL(hc_start(&c, 0, "TWOPC_CRASH_AT=coordinator.after_first_global") == 0);
	/* RESULT leaves with the first GLOBAL_COMMIT: the driver may have
	 * been told COMMITTED (0) before the crash, or nothing (3). */
	int rc = T_DRV(&c, "commit", "--txid", "split-1", "alpha:put:s=1", "beta:put:s=1", NULL);
	CU_ASSERT(rc == 0 || rc == 3);
	CU_ASSERT_EQUAL(hc_wait_exit(&c, 0, 10000, &st), 0);
	CU_ASSERT_EQUAL(hc_wait_state(&c, A, "split-1", "COMMIT", 5000), 0);
	CU_ASSERT_EQUAL(hc_wait_state(&c, B, "split-1", "READY", 5000), 0);
	CU_ASSERT_FATAL(hc_signal(&c, A, SIGSTOP) == 0);
	const char *sfx[] = { "", "-wal", "-shm" };
	for (int k = 0; k < 3; k++) {
		snprintf(path, sizeof(path), "%s%s", c.logs[0], sfx[k]);
		(void)unlink(path);
	}
	/* beta, restarted with a short decision timeout, will ask. */
	set_decision_timeout(&c, c.file, 300);
	CU_ASSERT_EQUAL(hc_kill(&c, B), 0);
	CU_ASSERT_FATAL(hc_start(&c, B, NULL) == 0);

	CU_ASSERT_FATAL(hc_spawn(&c, 0, NULL) == 0);
	CU_ASSERT_EQUAL(hc_wait_exit(&c, 0, 10000, &st), 0);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 1);
	node_log(&c, 0, buf, sizeof(buf));
	CU_ASSERT(strstr(buf, "this log is at epoch 0 but participant beta has seen epoch 2") != NULL);
	CU_ASSERT(strstr(buf, "--min-epoch 3") != NULL);
	char st_b[32];
	hc_state(&c, B, "split-1", st_b, sizeof(st_b));
	CU_ASSERT_STRING_EQUAL(st_b, "READY");

	snprintf(c.coord_args, sizeof(c.coord_args), "--min-epoch 3");
	CU_ASSERT_FATAL(hc_start(&c, 0, NULL) == 0);
	CU_ASSERT_EQUAL(hc_query_int(&c, 0, "SELECT value FROM meta WHERE key = 'presume_from'"), 3);
	CU_ASSERT_EQUAL(ask_coordinator(&c, "split-1", 2), TX_READY); /* in doubt: no help */
	CU_ASSERT_EQUAL(ask_coordinator(&c, "nosuch-3", 3), TX_ABORT);
	hc_state(&c, B, "split-1", st_b, sizeof(st_b));
	CU_ASSERT_STRING_EQUAL(st_b, "READY");
	CU_ASSERT_EQUAL(hc_signal(&c, A, SIGCONT), 0);
	CU_ASSERT_EQUAL(hc_wait_state(&c, B, "split-1", "COMMIT", 15000), 0);
	char v[64];
	hc_kv(&c, B, "s", v, sizeof(v));
	CU_ASSERT_STRING_EQUAL(v, "1");
	hc_destroy(&c);
}

static int
count_of(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

/* Overwrite LEN bytes at OFF of PATH with 0xA5. */
static int
scribble(const char *path, off_t off, size_t len)
{
	char junk[512];
	memset(junk, 0xA5, sizeof(junk));
	int fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	ssize_t n = pwrite(fd, junk, len < sizeof(junk) ? len : sizeof(junk), off);
	close(fd);
	return n > 0 ? 0 : -1;
}

/*
 * A participant whose log has a damaged page stops at start with a message
 * that says so and what to do; it used to start, log "serving", and die
 * at its first transaction.
 */
static void
test_damaged_log_refused(void)
{
	hcluster c;
	char buf[16384];
	int st;
	T_CLUSTER_UP(&c, 2, 2000, 1000);
	CU_ASSERT_EQUAL(T_DRV(&c, "commit", "alpha:put:k=1", "beta:put:k=1", NULL, NULL, NULL), 0);
	/* A clean stop checkpoints the WAL into the file: the damage below
	 * lands on pages SQLite will read. */
	CU_ASSERT_EQUAL(hc_signal(&c, A, SIGTERM), 0);
	CU_ASSERT_EQUAL(hc_wait_exit(&c, A, 10000, &st), 0);
	long long pgsz = 4096;
	CU_ASSERT_EQUAL(scribble(c.logs[A], (off_t)pgsz + 0, 64), 0);     /* page 2's header */
	CU_ASSERT_EQUAL(scribble(c.logs[A], (off_t)pgsz * 3 + 0, 64), 0); /* page 4's */
	node_log(&c, A, buf, sizeof(buf));
	int serving = count_of(buf, "serving");
	CU_ASSERT_FATAL(hc_spawn(&c, A, NULL) == 0);
	CU_ASSERT_EQUAL(hc_wait_exit(&c, A, 10000, &st), 0);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 1);
	node_log(&c, A, buf, sizeof(buf));
	CU_ASSERT(strstr(buf, "the log is damaged") != NULL);
	CU_ASSERT(strstr(buf, "DAMAGED LOG") != NULL);
	CU_ASSERT_EQUAL(count_of(buf, "serving"), serving); /* it never served */
	hc_destroy(&c);
}

static CU_TestInfo fence_tests[] = {
	{ "second coordinator on a live log: refused, one outcome", test_second_coordinator_refused },
	{ "second participant on a live log: refused", test_second_participant_refused },
	{ "older coordinator resumed after a newer one: fenced", test_older_coordinator_fenced },
	{ "lost coordinator log: refused, then in doubt, not ABORT", test_lost_coordinator_log },
	{ "damaged participant log: refused at start", test_damaged_log_refused },
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo fence_suites[] = {
	{ "fence", NULL, NULL, NULL, NULL, fence_tests },
	CU_SUITE_INFO_NULL,
};

void
test_fence_register(void)
{
	CU_register_suites(fence_suites);
}
