/*
 * test_ops.c - what an operator relies on (suite "ops").
 *
 * systemd: the daemons speak the notification protocol to a NOTIFY_SOCKET
 * of the test's own (an AF_UNIX datagram socket in the cluster's folder):
 * READY=1 only once the daemon serves (not while its socket listens but
 * recovery has not run), WATCHDOG=1 again and again while WATCHDOG_USEC is
 * set, STOPPING=1 on SIGTERM; the library never speaks it on its own; the
 * unit files pass `systemd-analyze verify` (skipped, saying so, where the
 * command is missing).
 *
 * The command line: --help (usage on stdout, exit 0) and --version on
 * every program, --check-config refusing a log path that is a folder
 * (naming the file and line), each bad argument named (--timeout, a key
 * over 1024 bytes, a TXID with spaces or of 10,000 characters), JSON
 * output valid for values that are not UTF-8, and a commit that fails at
 * once when the coordinator is down.
 *
 * Every case runs the real programs; every wait is bounded.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <CUnit/CUnit.h>

#include "db.h"
#include "harness.h"
#include "kv.h"
#include "testutil.h"
#include "twopc/participant.h"

/* A cluster a test left behind (a fatal assertion skips its hc_destroy)
 * is killed by hc_reap, which runs after every test: its daemons would
 * otherwise keep their ports for the rest of the run. */
static void
test_harness_reaps_leftovers(void)
{
	hcluster c, *keep = malloc(sizeof(*keep));
	CU_ASSERT_FATAL(keep != NULL);
	T_CLUSTER_UP(&c, 2, 2000, 1000);
	for (int i = 0; i < c.nnodes; i++)
		T_TRUE(hc_alive(&c, i));
	memcpy(keep, &c, sizeof(c));
	hc_reap();
	for (int i = 0; i < keep->nnodes; i++) {
		int st = 0;
		T_EQ(hc_wait_exit(keep, i, 5000, &st), 0);
		T_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	}
	hc_destroy(keep);
	free(keep);
}

void test_ops_register(void);

#define COORD 0
#define ALPHA 1

/* ---- the notification socket ---- */

/* Bind an AF_UNIX datagram socket at DIR/notify.sock; its path in PATH. */
static int
ops_notify_bind(const char *dir, char *path, size_t len)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	snprintf(path, len, "%s/notify.sock", dir);
	if (strlen(path) >= sizeof(sun.sun_path))
		return -1;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The next datagram within TIMEOUT_MS into BUF; its length, or -1. */
static int
ops_notify_recv(int fd, char *buf, size_t len, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int64_t end = mono_ms() + timeout_ms;
	for (;;) {
		int left = (int)(end - mono_ms());
		int n = poll(&p, 1, left > 0 ? left : 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		ssize_t r = recv(fd, buf, len - 1, 0);
		if (r < 0)
			return -1;
		buf[r] = '\0';
		return (int)r;
	}
}

/* Wait for a datagram holding NEEDLE (others are skipped), at most
 * TIMEOUT_MS. 0 or -1. */
static int
ops_notify_wait(int fd, const char *needle, int timeout_ms)
{
	char buf[1024];
	int64_t end = mono_ms() + timeout_ms;
	while (mono_ms() < end)
		if (ops_notify_recv(fd, buf, sizeof(buf), (int)(end - mono_ms())) >= 0 &&
		    strstr(buf, needle) != NULL)
			return 0;
	return -1;
}

/* Datagrams holding NEEDLE received within MS milliseconds, or until
 * WANT of them came. */
static int
ops_notify_count(int fd, const char *needle, int want, int ms)
{
	char buf[1024];
	int n = 0;
	int64_t end = mono_ms() + ms;
	while (n < want && mono_ms() < end)
		if (ops_notify_recv(fd, buf, sizeof(buf), (int)(end - mono_ms())) >= 0 &&
		    strstr(buf, needle) != NULL)
			n++;
	return n;
}

/* Does a TCP connection to URL (tcp://127.0.0.1:PORT) open? */
static int
ops_listening(const char *url)
{
	const char *colon = strrchr(url, ':');
	struct sockaddr_in sin = { .sin_family = AF_INET };
	sin.sin_port = htons((uint16_t)atoi(colon + 1));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int ok = fd >= 0 && connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

/* The coordinator: no READY=1 while its socket listens but recovery has
 * not run (paused at coordinator.after_epoch_logged); once started for
 * real, READY=1, and a commit right after it succeeds; WATCHDOG=1 keeps
 * coming; SIGTERM sends STOPPING=1 and exits 0. */
static void
test_notify_coordinator(void)
{
	hcluster c;
	char sock[300], env[600];
	CU_ASSERT_FATAL(hc_create(&c, 1, 2000, 300) == 0);
	int fd = ops_notify_bind(c.dir, sock, sizeof(sock));
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(hc_start(&c, ALPHA, NULL) == 0);

	snprintf(env, sizeof(env), "NOTIFY_SOCKET=%s TWOPC_PAUSE_AT=coordinator.after_epoch_logged",
	    sock);
	CU_ASSERT_FATAL(hc_spawn(&c, COORD, env) == 0);
	CU_ASSERT_FATAL(hc_wait_log_line(&c, COORD, "PAUSED at coordinator.after_epoch_logged",
	    5000) == 0);
	T_TRUE(ops_listening(c.urls[COORD]));
	char buf[1024];
	T_CHECK(ops_notify_recv(fd, buf, sizeof(buf), 300) < 0,
	    "a notification before recovery ran: \"%s\"", buf);
	CU_ASSERT_EQUAL(hc_kill(&c, COORD), 0);

	snprintf(env, sizeof(env), "NOTIFY_SOCKET=%s WATCHDOG_USEC=400000", sock);
	CU_ASSERT_FATAL(hc_spawn(&c, COORD, env) == 0);
	CU_ASSERT_FATAL(ops_notify_wait(fd, "READY=1", 5000) == 0);
	/* Served at once: no retry (a refused connection would be exit 3). */
	T_EQ(T_DRV(&c, "commit", "--timeout", "10000", "alpha:put:k=v"), 0);
	/* Every 100 ms a look, a pass every ack_retry_ms (200 ms): about 7
	 * in 1.5 s; at least 3 within 3 s even on a busy machine. */
	int pings = ops_notify_count(fd, "WATCHDOG=1", 3, 3000);
	T_CHECK(pings >= 3, "%d WATCHDOG=1 in 3 s, want at least 3", pings);
	CU_ASSERT_EQUAL(hc_signal(&c, COORD, SIGTERM), 0);
	T_EQ(ops_notify_wait(fd, "STOPPING=1", 10000), 0);
	int st = -1;
	CU_ASSERT_EQUAL(hc_wait_exit(&c, COORD, 5000, &st), 0);
	T_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(fd);
	hc_destroy(&c);
}

/* The participant daemon: READY=1 once it serves (a read right after it
 * is answered), WATCHDOG=1 again and again, STOPPING=1 on SIGTERM. */
static void
test_notify_participant(void)
{
	hcluster c;
	char sock[300], env[600];
	CU_ASSERT_FATAL(hc_create(&c, 1, 2000, 300) == 0);
	int fd = ops_notify_bind(c.dir, sock, sizeof(sock));
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(hc_start(&c, COORD, NULL) == 0);
	snprintf(env, sizeof(env), "NOTIFY_SOCKET=%s WATCHDOG_USEC=400000", sock);
	CU_ASSERT_FATAL(hc_spawn(&c, ALPHA, env) == 0);
	CU_ASSERT_FATAL(ops_notify_wait(fd, "READY=1", 5000) == 0);
	/* 1: no such key, and it said so: it answered. */
	T_EQ(T_DRV(&c, "get", "--timeout", "10000", "alpha", "nokey"), 1);
	int pings = ops_notify_count(fd, "WATCHDOG=1", 3, 3000);
	T_CHECK(pings >= 3, "%d WATCHDOG=1 in 3 s, want at least 3", pings);
	CU_ASSERT_EQUAL(hc_signal(&c, ALPHA, SIGTERM), 0);
	T_EQ(ops_notify_wait(fd, "STOPPING=1", 10000), 0);
	int st = -1;
	CU_ASSERT_EQUAL(hc_wait_exit(&c, ALPHA, 5000, &st), 0);
	T_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(fd);
	hc_destroy(&c);
}

/* A program embedding the library owns its notify socket: with
 * NOTIFY_SOCKET and WATCHDOG_USEC in the environment, a started handle
 * sends nothing, while twopc_participant_progress() grows. */
static void
test_library_never_notifies(void)
{
	hcluster c;
	char sock[300], buf[1024];
	twopc_participant *p = NULL;
	CU_ASSERT_FATAL(hc_create(&c, 1, 2000, 300) == 0);
	int fd = ops_notify_bind(c.dir, sock, sizeof(sock));
	CU_ASSERT_FATAL(fd >= 0);
	setenv("NOTIFY_SOCKET", sock, 1);
	setenv("WATCHDOG_USEC", "100000", 1);
	T_EQ(twopc_participant_progress(NULL), 0);
	CU_ASSERT_FATAL(twopc_participant_open(&p, c.file, "alpha", &kv_resource) == 0);
	T_EQ(twopc_participant_progress(p), 0);
	CU_ASSERT_FATAL(twopc_participant_start(p) == 0);
	int64_t end = mono_ms() + 5000;
	while (twopc_participant_progress(p) < 3 && mono_ms() < end)
		tu_nap_ms(10);
	T_CHECK(twopc_participant_progress(p) >= 3, "progress %llu after 5 s",
	    (unsigned long long)twopc_participant_progress(p));
	T_CHECK(ops_notify_recv(fd, buf, sizeof(buf), 200) < 0, "the library sent \"%s\"", buf);
	twopc_participant_close(p);
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	close(fd);
	hc_destroy(&c);
}

/* ---- the unit files ---- */

static void
test_units_verify(void)
{
	const char *src = getenv("TWOPC_SRCDIR"), *bin = getenv("TWOPC_BUILD");
	char dir[] = "/tmp/twopc-units-XXXXXX", cmd[2048], out[8192];
	if (system("command -v systemd-analyze >/dev/null 2>&1") != 0) {
		CU_PASS("systemd-analyze not found: unit files not verified (skipped)");
		return;
	}
	CU_ASSERT_FATAL(src != NULL && bin != NULL && mkdtemp(dir) != NULL);
	/* The installed units name $(PREFIX)/bin; verify needs the programs
	 * to exist: the copies name the built ones. */
	snprintf(cmd, sizeof(cmd), "for u in '%s'/systemd/*.service; do "
	    "sed 's|/usr/bin/|%s/|' \"$u\" > '%s'/\"${u##*/}\" || exit 9; done", src, bin, dir);
	T_EQ(tu_sh(cmd, out, sizeof(out)), 0);
	snprintf(cmd, sizeof(cmd), "grep -h -E '^(Type|WatchdogSec|Restart|StartLimitBurst|"
	    "ProtectSystem|StateDirectory|User|NoNewPrivileges)=' '%s'/*.service | sort -u", dir);
	T_EQ(tu_sh(cmd, out, sizeof(out)), 0);
	T_HAS(out, "Type=notify");
	T_HAS(out, "WatchdogSec=");
	T_HAS(out, "Restart=on-failure");
	T_HAS(out, "ProtectSystem=strict");
	T_HAS(out, "StateDirectory=twopc");
	T_HAS(out, "User=twopc");
	snprintf(cmd, sizeof(cmd), "cd '%s' && systemd-analyze verify --man=no "
	    "./twopc-coordinator.service ./twopc-participant@alpha.service 2>&1", dir);
	int rv = tu_sh(cmd, out, sizeof(out));
	T_CHECK(rv == 0 && strstr(out, "twopc") == NULL, "systemd-analyze verify: exit %d: %s", rv,
	    out);
	tu_rmtree(dir);
}

/* ---- the command line ---- */

/* Run BIN/PROG ARGS... (NULL-terminated); stdout in OUT, stderr in ERR.
 * Returns the exit status, or -1. */
static int
ops_run(const char *prog, char *out, size_t olen, char *err, size_t elen,
    const char *const *args)
{
	char exe[512], path[2][64];
	const char *argv[32];
	int n = 0;
	const char *bin = getenv("TWOPC_BUILD");
	snprintf(exe, sizeof(exe), "%s/%s", bin ? bin : "build", prog);
	argv[n++] = exe;
	for (int k = 0; args[k] != NULL && n < 31; k++)
		argv[n++] = args[k];
	argv[n] = NULL;
	int fds[2];
	for (int k = 0; k < 2; k++) {
		snprintf(path[k], sizeof(path[k]), "/tmp/twopc-ops-out-XXXXXX");
		if ((fds[k] = mkstemp(path[k])) < 0)
			return -1;
		unlink(path[k]);
	}
	pid_t pid = fork();
	if (pid == 0) {
		dup2(fds[0], 1);
		dup2(fds[1], 2);
		execv(exe, (char *const *)argv);
		_exit(127);
	}
	int st = -1;
	if (pid > 0)
		waitpid(pid, &st, 0);
	char *bufs[2] = { out, err };
	size_t lens[2] = { olen, elen };
	for (int k = 0; k < 2; k++) {
		ssize_t r = pread(fds[k], bufs[k], lens[k] - 1, 0);
		bufs[k][r > 0 ? r : 0] = '\0';
		close(fds[k]);
	}
	return pid > 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

#define OPS_RUN(prog, ...) ops_run((prog), out, sizeof(out), err, sizeof(err), \
	(const char *const[]){ __VA_ARGS__, NULL })

static void
test_cli_help_version(void)
{
	static const char *const progs[] = { "twopc", "twopc-coordinator", "twopc-participant",
		"twopc-crashtest" };
	char out[8192], err[8192];
	for (size_t i = 0; i < T_NITEMS(progs); i++) {
		int rv = OPS_RUN(progs[i], "--help");
		T_CHECK(rv == 0, "%s --help: exit %d", progs[i], rv);
		T_CHECK(strncmp(out, "usage: ", 7) == 0, "%s --help: stdout \"%.80s\"", progs[i], out);
		T_CHECK(err[0] == '\0', "%s --help: stderr \"%.200s\"", progs[i], err);
		rv = OPS_RUN(progs[i], "--version");
		T_CHECK(rv == 0, "%s --version: exit %d", progs[i], rv);
		T_CHECK(strstr(out, progs[i]) == out && strstr(out, TWOPC_VERSION_STRING) != NULL,
		    "%s --version: \"%s\" (want the program and %s)", progs[i], out,
		    TWOPC_VERSION_STRING);
		/* A mistake still goes to stderr with exit 2. */
		rv = OPS_RUN(progs[i], "--no-such-option");
		T_CHECK(rv == 2 && strstr(err, "usage") != NULL, "%s --no-such-option: exit %d, "
		    "stderr \"%.200s\"", progs[i], rv, err);
	}
}

/* `log: .` is a folder: --check-config says so with the file's line and
 * column (it used to pass, and the start failed). */
static void
test_cli_check_config_log_folder(void)
{
	char dir[] = "/tmp/twopc-ops-cfg-XXXXXX", file[128], out[8192], err[8192], want[200];
	CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
	snprintf(file, sizeof(file), "%s/cluster.yaml", dir);
	FILE *f = fopen(file, "w");
	CU_ASSERT_FATAL(f != NULL);
	fprintf(f, "insecure: true\n"
	    "coordinator:\n  name: coord\n  listen: tcp://127.0.0.1:7990\n  log: .\n"
	    "participants:\n  - name: alpha\n    listen: tcp://127.0.0.1:7991\n    log: .\n"
	    "  - name: beta\n    listen: tcp://127.0.0.1:7992\n    log: data/beta.db\n");
	fclose(f);
	T_EQ(OPS_RUN("twopc-coordinator", "-c", file, "--check-config"), 2);
	snprintf(want, sizeof(want), "%s:5:8: log '", file);
	T_HAS(err, want);
	T_HAS(err, "is a directory");
	T_EQ(OPS_RUN("twopc-participant", "-c", file, "-n", "alpha", "--check-config"), 2);
	snprintf(want, sizeof(want), "%s:9:10: log '", file);
	T_HAS(err, want);
	T_HAS(err, "of alpha: is a directory");
	/* beta's log does not exist yet, its folder neither: the daemon
	 * makes them. */
	T_EQ(OPS_RUN("twopc-participant", "-c", file, "-n", "beta", "--check-config"), 0);
	/* Under a file, no folder can be made. */
	f = fopen(file, "a");
	CU_ASSERT_FATAL(f != NULL);
	fprintf(f, "  - name: gamma\n    listen: tcp://127.0.0.1:7993\n    log: cluster.yaml/g.db\n");
	fclose(f);
	T_EQ(OPS_RUN("twopc-participant", "-c", file, "-n", "gamma", "--check-config"), 2);
	T_HAS(err, "of gamma: its folder");
	tu_rmtree(dir);
}

static void
test_cli_bad_arguments(void)
{
	hcluster c;
	static const char *const timeouts[] = { "0", "-1", "abc", "5x", "99999999999" };
	char key[1100], op[1200], want[100];
	CU_ASSERT_FATAL(hc_create(&c, 1, 2000, 300) == 0);
	for (size_t i = 0; i < T_NITEMS(timeouts); i++) {
		T_EQ(T_DRV(&c, "commit", "--timeout", timeouts[i], "alpha:put:k=v"), 2);
		snprintf(want, sizeof(want), "invalid --timeout '%s': ", timeouts[i]);
		T_HAS(tu_out, want);
	}
	memset(key, 'k', 1025);
	key[1025] = '\0';
	static const char *const forms[] = { "alpha:put:%s=v", "alpha:add:%s=1", "alpha:del:%s" };
	for (size_t i = 0; i < T_NITEMS(forms); i++) {
		snprintf(op, sizeof(op), forms[i], key);
		T_EQ(T_DRV(&c, "commit", op), 2);
		T_HAS(tu_out, "key too long (1025 bytes, at most 1024)");
	}
	T_EQ(T_DRV(&c, "get", "alpha", key), 2);
	T_HAS(tu_out, "key too long (1025 bytes, at most 1024)");
	/* 1024 bytes is a key: no complaint about it (the coordinator is down). */
	key[1024] = '\0';
	snprintf(op, sizeof(op), "alpha:put:%s=v", key);
	T_EQ(T_DRV(&c, "commit", op), 3);
	/* A TXID that cannot be one: a usage error naming it, not UNREACHABLE. */
	static char longid[10001];
	memset(longid, 'x', 10000);
	T_EQ(T_DRV(&c, "status", longid), 2);
	T_HAS(tu_out, "invalid TXID 'xxxx");
	T_HAS(tu_out, "(10000 bytes)");
	T_TRUE(strstr(tu_out, "UNREACHABLE") == NULL && strlen(tu_out) < 400);
	T_EQ(T_DRV(&c, "status", "a b"), 2);
	T_HAS(tu_out, "invalid TXID 'a b'");
	T_EQ(T_DRV(&c, "commit", "--txid", "a b", "alpha:put:k=v"), 2);
	T_HAS(tu_out, "invalid --txid 'a b'");
	hc_destroy(&c);
}

/* Is S (N bytes) well-formed UTF-8 with no raw control character? */
static int
ops_utf8_clean(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		size_t k = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 :
		    (c & 0xF8) == 0xF0 ? 4 : 0;
		if (k == 0 || (c < 0x20 && c != '\n') || i + k > n || (k == 2 && c < 0xC2))
			return 0;
		for (size_t j = 1; j < k; j++)
			if ((s[i + j] & 0xC0) != 0x80)
				return 0;
		i += k;
	}
	return 1;
}

/* get --json of a value with bytes that are not UTF-8: valid JSON, those
 * bytes as \u00XX, well-formed UTF-8 kept as it is. */
static void
test_cli_json_not_utf8(void)
{
	hcluster c;
	T_CLUSTER_UP(&c, 1, 2000, 300);
	T_EQ(T_DRV(&c, "commit", "alpha:put:bin=a\xff\xfe" "b\xc3\xa9" "c\xe2\x82" "d\x01"), 0);
	T_EQ(T_DRV(&c, "get", "--json", "alpha", "bin"), 0);
	T_HAS(tu_out, "\"value\":\"a\\u00ff\\u00feb\xc3\xa9" "c\\u00e2\\u0082d\\u0001\"");
	T_TRUE(ops_utf8_clean((const unsigned char *)tu_out, strlen(tu_out)));
	T_EQ(T_DRV(&c, "status", "--json", "no-such-txid"), 0);
	T_TRUE(ops_utf8_clean((const unsigned char *)tu_out, strlen(tu_out)));
	hc_destroy(&c);
}

/* The coordinator down: commit says so at once, exit 3, not after its
 * 30 s timeout (the bound leaves a busy machine room to start it). */
static void
test_cli_commit_coordinator_down(void)
{
	hcluster c;
	CU_ASSERT_FATAL(hc_create(&c, 1, 2000, 300) == 0);
	int64_t t0 = mono_ms();
	T_EQ(T_DRV(&c, "commit", "alpha:put:k=v"), 3);
	int64_t took = mono_ms() - t0;
	T_CHECK(took < 10000, "commit took %lld ms with the coordinator down",
	    (long long)took);
	T_HAS(tu_out, "cannot reach the coordinator coord: Connection refused");
	T_EQ(T_DRV(&c, "commit", "--json", "--txid", "t-down", "alpha:put:k=v"), 3);
	T_HAS(tu_out, "{\"txid\":\"t-down\",\"outcome\":\"unknown\"");
	hc_destroy(&c);
}

void
test_ops_register(void)
{
	static const tu_test tests[] = {
		{ "notify_coordinator", test_notify_coordinator },
		{ "notify_participant", test_notify_participant },
		{ "library_never_notifies", test_library_never_notifies },
		{ "units_verify", test_units_verify },
		{ "cli_help_version", test_cli_help_version },
		{ "cli_check_config_log_folder", test_cli_check_config_log_folder },
		{ "cli_bad_arguments", test_cli_bad_arguments },
		{ "cli_json_not_utf8", test_cli_json_not_utf8 },
		{ "cli_commit_coordinator_down", test_cli_commit_coordinator_down },
		{ "harness_reaps_leftovers", test_harness_reaps_leftovers },
	};
	TU_SUITE("ops", tests);
}
