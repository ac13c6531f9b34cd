/*
 * test_honest.c - what the tools say is true (suite "honest").
 *
 * Times: log lines carry the date (ISO 8601, UTC, milliseconds); the
 * "coordinator unreachable for" age is the current outage's, on the
 * monotonic clock; the driver reports the time it really waited and why
 * it gave up. The crash harness refuses options it would not run (exit 2
 * naming the bad value) instead of reporting "0 violations in 0 cases".
 *
 * Every case runs the real code: tlog through its stderr sink, the
 * failure detector, the daemons and the driver as processes, the
 * twopc-crashtest binary.
 */
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "db.h"
#include "fdetect.h"
#include "harness.h"
#include "testutil.h"
#include "tlog.h"

void test_honest_register(void);

static int
matches(const char *text, const char *pattern)
{
	regex_t re;
	if (regcomp(&re, pattern, REG_EXTENDED | REG_NEWLINE) != 0)
		return 0;
	int ok = regexec(&re, text, 0, NULL, 0) == 0;
	regfree(&re);
	return ok;
}

/* The number right after NEEDLE in TEXT, or -1. */
static double
number_after(const char *text, const char *needle)
{
	const char *p = strstr(text, needle);
	return p != NULL ? strtod(p + strlen(needle), NULL) : -1;
}

/* ---- times ---- */

/* A daemon's log line through tlog's stderr sink: ISO 8601 with the date,
 * UTC, milliseconds, and today's date. */
static void
test_tlog_line_has_date(void)
{
	char path[] = "/tmp/twopc-honest-XXXXXX", line[512] = "";
	int fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	fflush(stderr);
	int saved = dup(2);
	CU_ASSERT_FATAL(saved >= 0);
	dup2(fd, 2);
	time_t before = time(NULL);
	tlog_set_name("honest");
	tlog_set_sink(tlog_stderr_sink, NULL, TLOG_INFO);
	tlog_info("a line %d", 7);
	tlog_set_sink(NULL, NULL, TLOG_INFO);
	tlog_set_name("twopc");
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	FILE *f = fdopen(fd, "r");
	CU_ASSERT_FATAL(f != NULL);
	rewind(f);
	CU_ASSERT(fgets(line, sizeof(line), f) != NULL);
	fclose(f);
	unlink(path);
	CU_ASSERT(matches(line,
	    "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z honest INFO a line 7$"));
	struct tm tm = { 0 };
	CU_ASSERT(strptime(line, "%Y-%m-%dT%H:%M:%S", &tm) != NULL);
	time_t at = timegm(&tm);
	CU_ASSERT(at >= before - 1 && at <= time(NULL) + 1);
}

/* The suspicion's age is measured on the monotonic clock from the first
 * unanswered question; a message from the peer ends it, so the next
 * outage starts at zero (it used to count from an outage long over). */
static void
test_fdetect_age(void)
{
	fdetect f;
	int64_t since = -1;
	CU_ASSERT_FATAL(fd_init(&f, 2, 100, 400) == 0);
	int64_t t0 = mono_ms();
	fd_report(&f, 0, 0);
	while (mono_ms() < t0 + 60)
		; /* a bounded spin on the clock itself */
	CU_ASSERT_EQUAL(fd_suspected(&f, 0, &since), 1);
	/* Bounds measured around the calls, not guessed: a busy machine may
	 * stop this thread anywhere in between. */
	CU_ASSERT(since >= 60 && since <= mono_ms() - t0);
	/* The peer sends us a request: up, no timeout change (nothing says
	 * its answers are slow). */
	fd_heard(&f, 0);
	CU_ASSERT_EQUAL(fd_suspected(&f, 0, &since), 0);
	CU_ASSERT_EQUAL(since, 0);
	CU_ASSERT_EQUAL(fd_timeout(&f, 0), 100);
	int64_t t1 = mono_ms();
	fd_report(&f, 0, 0);
	CU_ASSERT_EQUAL(fd_suspected(&f, 0, &since), 1);
	/* This outage's age, not the first one's (at least 60 ms more). */
	CU_ASSERT(since >= 0 && since <= mono_ms() - t1);
	/* An answer after a suspicion still raises the timeout by half. */
	fd_report(&f, 0, 1);
	CU_ASSERT_EQUAL(fd_timeout(&f, 0), 150);
	CU_ASSERT_EQUAL(fd_suspected(&f, 1, &since), 0);
	fd_fini(&f);
}

#define HONEST_DECISION_MS 200
#define HONEST_GAP_S 3

/* The last "coordinator unreachable for X s" that participant I logged
 * about TXID, or -1. */
static double
unreachable_age(hcluster *c, int i, const char *txid)
{
	char path[320], line[2048];
	double age = -1;
	snprintf(path, sizeof(path), "%s/%s.log", c->dir, c->names[i]);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, txid) != NULL && strstr(line, "coordinator unreachable for ") != NULL)
			age = number_after(line, "coordinator unreachable for ");
	fclose(f);
	return age;
}

/* Crash the coordinator (armed at POINT) under TXID across both
 * participants, and wait until alpha says it is blocked on it. */
static int
block_on(hcluster *c, const char *txid)
{
	char env[96], out[1024], needle[128];
	snprintf(env, sizeof(env), "TWOPC_CRASH_AT=coordinator.after_decision_logged");
	if (hc_alive(c, 0)) {
		hc_signal(c, 0, SIGTERM);
		if (hc_wait_exit(c, 0, 5000, NULL) != 0)
			return -1;
	}
	if (hc_start(c, 0, env) != 0)
		return -1;
	const char *args[] = { "commit", "--timeout", "5000", "--txid", txid, "alpha:put:k=1",
		"beta:put:k=2", NULL };
	if (hc_twopc(c, out, sizeof(out), args) != 3 || hc_wait_exit(c, 0, 5000, NULL) != 0)
		return -1;
	snprintf(needle, sizeof(needle), "%s: READY without a decision: blocked", txid);
	return hc_wait_log_line(c, 1, needle, 15000);
}

/* A coordinator outage, the coordinator back (its GLOBAL settles the
 * transaction: the participant asks nothing), a quiet gap, then a second
 * outage: the age alpha reports is the second outage's, not the time
 * since the first. */
static void
test_unreachable_age_is_this_outage(void)
{
	hcluster c;
	CU_ASSERT_FATAL(hc_create(&c, 2, 2000, HONEST_DECISION_MS) == 0);
	CU_ASSERT_FATAL(hc_start(&c, 1, NULL) == 0 && hc_start(&c, 2, NULL) == 0);
	CU_ASSERT_FATAL(block_on(&c, "age-1") == 0);
	/* Let the backoff grow (0.2, 0.4, 0.8 s ...) so that the restarted
	 * coordinator's GLOBAL_COMMIT, not an answered question, ends it. */
	CU_ASSERT_EQUAL(hc_wait_log_line(&c, 1, "asking again in 0.8 s", 15000), 0);
	CU_ASSERT_FATAL(hc_start(&c, 0, NULL) == 0);
	CU_ASSERT_EQUAL(hc_wait_state(&c, 0, "age-1", "END", 15000), 0);
	CU_ASSERT_EQUAL(hc_wait_log_line(&c, 1, "age-1: READY -> COMMIT", 100), 0);
	/* The gap is what the case is about, not a wait for something. */
	struct timespec gap = { HONEST_GAP_S, 0 };
	nanosleep(&gap, NULL);
	CU_ASSERT_FATAL(block_on(&c, "age-2") == 0);
	double age = unreachable_age(&c, 1, "age-2");
	CU_ASSERT(age >= 0 && age < HONEST_GAP_S - 1);
	if (!(age >= 0 && age < HONEST_GAP_S - 1))
		fprintf(stderr, "\n  alpha: coordinator unreachable for %.1f s (see %s)\n", age, c.dir);
	hc_destroy(&c);
}

/* The driver against a cluster whose coordinator is not running: exit 3
 * at once (nothing listens: the connection is refused), saying so, and
 * not "did not answer within" a timeout it did not wait. A coordinator
 * that listens but does not answer (paused) costs the real wait, named
 * as such. */
static void
test_driver_coordinator_down(void)
{
	hcluster c;
	char out[1024];
	CU_ASSERT_FATAL(hc_create(&c, 1, 2000, 1000) == 0);
	CU_ASSERT_FATAL(hc_start(&c, 1, NULL) == 0);
	/* A long timeout for the refused connection, so that "at once" is
	 * told from "after the timeout" however slowly the driver starts. */
	const char *refused[] = { "commit", "--timeout", "10000", "alpha:put:x=1", NULL };
	const char *args[] = { "commit", "--timeout", "700", "alpha:put:x=1", NULL };
	int64_t t0 = mono_ms();
	CU_ASSERT_EQUAL(hc_twopc(&c, out, sizeof(out), refused), 3);
	int64_t took = mono_ms() - t0;
	T_CHECK(took < 10000, "took %lld ms", (long long)took);
	T_HAS(out, "cannot reach the coordinator coord: Connection refused; the transaction was "
	    "not submitted");
	T_TRUE(strstr(out, "did not answer within") == NULL);

	CU_ASSERT_FATAL(hc_start(&c, 0, "TWOPC_PAUSE_AT=coordinator.before_decision_logged") == 0);
	t0 = mono_ms();
	CU_ASSERT_EQUAL(hc_twopc(&c, out, sizeof(out), args), 3);
	took = mono_ms() - t0;
	double said = number_after(out, "outcome unknown: the coordinator did not answer within ");
	T_CHECK(said >= 700 && said <= (double)took, "said %.0f ms, took %lld ms: %s", said,
	    (long long)took, out);
	T_HAS(out, " ms (timed out)");
	hc_destroy(&c);
}

/* The coordinator dies with the request in hand: the connection breaks
 * at once, and the driver says so with the real time, not "did not
 * answer within 30000 ms". */
static void
test_driver_coordinator_dies(void)
{
	hcluster c;
	char out[1024];
	CU_ASSERT_FATAL(hc_create(&c, 2, 2000, 1000) == 0);
	CU_ASSERT_FATAL(hc_start(&c, 1, NULL) == 0 && hc_start(&c, 2, NULL) == 0);
	CU_ASSERT_FATAL(hc_start(&c, 0, "TWOPC_CRASH_AT=coordinator.before_decision_logged") == 0);
	const char *args[] = { "commit", "--timeout", "30000", "--txid", "dies-1", "alpha:put:x=1",
		"beta:put:x=2", NULL };
	int64_t t0 = mono_ms();
	CU_ASSERT_EQUAL(hc_twopc(&c, out, sizeof(out), args), 3);
	int64_t took = mono_ms() - t0;
	CU_ASSERT(took < 10000);
	CU_ASSERT(strstr(out, "within 30000") == NULL);
	double said = number_after(out, "outcome unknown: the coordinator closed the connection after ");
	CU_ASSERT(said >= 0 && said <= (double)took);
	CU_ASSERT(strstr(out, "; txid dies-1") != NULL);
	hc_destroy(&c);
}

/* ---- the harness refuses what it does not run ---- */

/* Run BUILD/twopc-crashtest ARGS (NULL-terminated), its stdout and
 * stderr into OUT; its exit status, or -1. */
static int
crashtest(char *out, size_t len, const char *const *args)
{
	const char *b = getenv("TWOPC_BUILD");
	char exe[512];
	const char *argv[16];
	int n = 0, fds[2];
	snprintf(exe, sizeof(exe), "%s/twopc-crashtest", b ? b : "build");
	argv[n++] = exe;
	argv[n++] = "--build";
	argv[n++] = b ? b : "build";
	for (int k = 0; args[k] != NULL && n < 15; k++)
		argv[n++] = args[k];
	argv[n] = NULL;
	if (pipe(fds) != 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		close(fds[0]);
		close(fds[1]);
		execv(exe, (char *const *)argv);
		_exit(127);
	}
	close(fds[1]);
	size_t at = 0;
	ssize_t r;
	while (at + 1 < len && (r = read(fds[0], out + at, len - at - 1)) > 0)
		at += (size_t)r;
	out[at] = '\0';
	close(fds[0]);
	int st;
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/* Each of these used to run nothing (or something else) and pass: a
 * misspelt point reported "0 violations in 0 cases" and exit 0. Now
 * exit 2, naming the bad value, before any cluster is started. */
static void
test_crashtest_refuses(void)
{
	static const struct {
		const char *args[6];
		const char *says;
	} cases[] = {
		{ { "matrix", "--point", "nosuch", NULL }, "--point: unknown crash point 'nosuch'" },
		{ { "matrix", "--path", "sideways", NULL }, "--path: unknown path 'sideways'" },
		{ { "random", "--cycles", "abc", NULL }, "--cycles: 'abc' is not a number" },
		{ { "random", "--cycles", "5x", NULL }, "--cycles: '5x' is not a number" },
		{ { "random", "--cycles", "0", NULL }, "--cycles: 0 is out of range" },
		{ { "random", "--clients", "17", NULL }, "--clients: 17 is out of range (1 to 16)" },
		{ { "random", "--seed", "-1", NULL }, "--seed: -1 is out of range" },
		{ { "matrix", "--repeat", "", NULL }, "--repeat: '' is not a number" },
		{ { "powerloss", "--durability", "sometimes", NULL }, "unknown durability 'sometimes'" },
		{ { "random", "--point", "coordinator.after_first_global", NULL },
		    "--point does not apply to random" },
		{ { "nosuchmode", NULL }, "unknown mode 'nosuchmode'" },
		{ { "--json", NULL }, "no mode given" },
	};
	char out[2048];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = crashtest(out, sizeof(out), cases[i].args);
		CU_ASSERT_EQUAL(rc, 2);
		CU_ASSERT(strstr(out, cases[i].says) != NULL);
		CU_ASSERT(strstr(out, "violations in") == NULL); /* no run, no verdict */
		if (rc != 2 || strstr(out, cases[i].says) == NULL)
			fprintf(stderr, "\n  case %zu (%s): exit %d: %s", i, cases[i].says, rc, out);
	}
	/* The list it names is the list it takes. */
	const char *list[] = { "--list-points", NULL };
	CU_ASSERT_EQUAL(crashtest(out, sizeof(out), list), 0);
	CU_ASSERT(strstr(out, "coordinator.after_first_global\n") != NULL);
}

/* hc_bounded's stand-in for a close that hangs: it reads its pipe until
 * the test writes to it, then frees what it was given. */
static void
t_blocked_read(void *arg)
{
	int *fd = arg;
	char b;
	(void)!read(fd[0], &b, 1);
	close(fd[0]);
	free(fd);
}

/* The harness's closes are bounded: one that returns is waited for, one
 * that hangs is left behind after the bound, and still ends later. */
static void
test_bounded_close(void)
{
	int p[2];
	CU_ASSERT_FATAL(pipe(p) == 0);
	int *fd = malloc(sizeof(int));
	CU_ASSERT_FATAL(fd != NULL);
	*fd = p[0];
	int64_t t0 = mono_ms();
	T_EQ(hc_bounded(t_blocked_read, fd, 300, "a read that waits"), -1);
	int64_t took = mono_ms() - t0;
	CU_ASSERT(took >= 300 && took < 5000);
	/* Now it can end: the same call with data waiting returns at once. */
	T_EQ(write(p[1], "xx", 2), 2);
	int p2[2];
	CU_ASSERT_FATAL(pipe(p2) == 0);
	int *fd2 = malloc(sizeof(int));
	CU_ASSERT_FATAL(fd2 != NULL);
	*fd2 = p2[0];
	T_EQ(write(p2[1], "y", 1), 1);
	T_EQ(hc_bounded(t_blocked_read, fd2, 5000, "a read that has its byte"), 0);
	close(p2[1]);
	close(p[1]);
}

/* Whether process PID is gone (or a zombie) within 5 s. */
static int
t_gone(int pid)
{
	int64_t end = mono_ms() + 5000;
	do {
		char path[64], st[256];
		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
		FILE *f = fopen(path, "r");
		if (f == NULL)
			return 1;
		size_t n = fread(st, 1, sizeof(st) - 1, f);
		fclose(f);
		st[n] = '\0';
		const char *p = strrchr(st, ')');
		if (p != NULL && p[1] == ' ' && p[2] == 'Z')
			return 1;
		struct timespec ts = { 0, 20 * 1000000L };
		nanosleep(&ts, NULL);
	} while (mono_ms() < end);
	return 0;
}

/* A hang of the harness ends with where it was, and nothing left
 * running: made certain by a limit of 1 ms, which the watchdog's first
 * look (after a second) finds passed in a run of a thousand cycles,
 * during the cluster's set-up on a busy machine or at a cycle. */
static void
test_crashtest_stall(void)
{
	enum { LEN = 65536 };
	char *out = calloc(1, LEN), tmp[] = "/tmp/twopc-stall-XXXXXX";
	const char *args[] = { "random", "--cycles", "1000", NULL };
	CU_ASSERT_FATAL(out != NULL && mkdtemp(tmp) != NULL);
	const char *was = getenv("TMPDIR");
	char *saved = was != NULL ? strdup(was) : NULL;
	setenv("TWOPC_STALL_MS", "1", 1);
	setenv("TMPDIR", tmp, 1);
	int rc = crashtest(out, LEN, args);
	unsetenv("TWOPC_STALL_MS");
	if (saved != NULL)
		setenv("TMPDIR", saved, 1);
	else
		unsetenv("TMPDIR");
	free(saved);
	T_EQ(rc, 3);
	CU_ASSERT(strstr(out, "stall: no progress for") != NULL);
	/* Where it was: the cluster's set-up or a cycle, by the first tick. */
	CU_ASSERT(strstr(out, "; last: random cycle ") != NULL ||
	    strstr(out, "; last: setting up a cluster") != NULL);
	CU_ASSERT(strstr(out, "stall: exiting with status 3") != NULL);
	/* Its own stacks, or why not. */
	CU_ASSERT(strstr(out, "stacks of pid") != NULL || strstr(out, "(no gdb for the stacks") != NULL);
	int children = 0;
	for (const char *p = out; (p = strstr(p, "stall: child pid ")) != NULL; p++) {
		int pid = atoi(p + strlen("stall: child pid "));
		children++;
		CU_ASSERT(pid > 0 && t_gone(pid));
	}
	CU_ASSERT(children >= 1);
	if (rc != 3 || children == 0)
		fprintf(stderr, "\n  twopc-crashtest with a 1 ms stall limit: exit %d: %.2000s\n", rc, out);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	T_EQ(system(cmd), 0);
	free(out);
}

/* Write fixture tests/sanitizer/NAME.txt (NULL: nothing) as node I's log. */
static int
t_node_log(hcluster *c, int i, const char *name)
{
	char path[512], log[320];
	const char *src = getenv("TWOPC_SRCDIR");
	char *text = NULL;
	if (name != NULL) {
		snprintf(path, sizeof(path), "%s/tests/sanitizer/%s.txt", src ? src : ".", name);
		if ((text = tu_slurp(path)) == NULL)
			return -1;
	}
	snprintf(log, sizeof(log), "%s/%s.log", c->dir, c->names[i]);
	FILE *f = fopen(log, "w");
	int rv = f != NULL && fputs(text != NULL ? text : "", f) >= 0 ? 0 : -1;
	if (f != NULL && fclose(f) != 0)
		rv = -1;
	free(text);
	return rv;
}

/* The harness judges the nodes' sanitizer reports by the same script as
 * the test programs' (tests/sanitizer-verdict.sh): a leak through our
 * code counts its node, the losses NNG 1.5.2 makes on its own (a
 * channel's request at a pipe close, a cycle at a close) do not. */
static void
test_sanitizer_scan(void)
{
	hcluster c;
	int before = hc_sanitizer_reports;
	CU_ASSERT_FATAL(hc_create(&c, 2, 2000, 1000) == 0);
	T_EQ(t_node_log(&c, 0, "skip-lost-request"), 0);
	T_EQ(t_node_log(&c, 1, "skip-nng-cycle"), 0);
	T_EQ(t_node_log(&c, 2, "skip-plain-log"), 0);
	T_EQ(hc_scan_sanitizers(&c), 0);
	T_EQ(t_node_log(&c, 1, "count-our-leak"), 0);
	T_EQ(t_node_log(&c, 2, "count-ubsan"), 0);
	T_EQ(hc_scan_sanitizers(&c), 2);
	/* The fixtures are no report of this run; hc_destroy scans again. */
	hc_sanitizer_reports = before;
	for (int i = 0; i < c.nnodes; i++)
		T_EQ(t_node_log(&c, i, NULL), 0);
	hc_destroy(&c);
}

/*
 * A node that does not come back is explained before its directory goes:
 * a coordinator that stops itself at a crash point during start-up is
 * reported as exited, with the log line that says where.
 */
static void
test_why_silent(void)
{
	hcluster c;
	char path[] = "/tmp/twopc-test-silent-XXXXXX";
	char out[8192] = "";
	CU_ASSERT_FATAL(hc_create(&c, 2, 2000, 60000) == 0);
	CU_ASSERT_FATAL(hc_start(&c, 1, NULL) == 0 && hc_start(&c, 2, NULL) == 0);
	T_CHECK(hc_start(&c, 0, "TWOPC_CRASH_AT=coordinator.after_epoch_logged") != 0,
	    "a coordinator that crashes at start-up answered");
	int fd = mkstemp(path), saved = dup(2);
	CU_ASSERT_FATAL(fd >= 0 && saved >= 0);
	fflush(stderr);
	dup2(fd, 2);
	hc_why_silent(&c, 0);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	ssize_t n = pread(fd, out, sizeof(out) - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(path);
	T_HAS(out, "harness: coord exited");
	T_HAS(out, "coord.log: CRASH at coordinator.after_epoch_logged");
	hc_destroy(&c);
}

void
test_honest_register(void)
{
	static const tu_test cases[] = {
		{ "log lines carry an ISO 8601 date", test_tlog_line_has_date },
		{ "suspicion age: monotonic, ended by any message", test_fdetect_age },
		{ "coordinator unreachable for: this outage only", test_unreachable_age_is_this_outage },
		{ "driver, coordinator not running: the real wait", test_driver_coordinator_down },
		{ "driver, coordinator dies: closed after the real time", test_driver_coordinator_dies },
		{ "twopc-crashtest: bad options are exit 2, named", test_crashtest_refuses },
		{ "twopc-crashtest: a hang is exit 3, with where it was", test_crashtest_stall },
		{ "harness: a close that hangs is left behind after its bound", test_bounded_close },
		{ "harness: sanitizer reports judged as the test programs' are", test_sanitizer_scan },
		{ "harness: a node that does not come back is explained", test_why_silent },
	};
	TU_SUITE("honest", cases);
}
