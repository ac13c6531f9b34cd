/*
 * test_abuse.c - CUnit suite "abuse": a node stays bounded when a peer
 * misbehaves. Real daemons on loopback, attacked through raw NNG sockets
 * and raw TCP:
 *
 *   flood of garbage / stale messages   counted exactly, log grows by a
 *                                       bounded number of lines
 *   a key holding a newline             no forged line in any log
 *   files a daemon creates              mode 0600 (umask 077)
 *   thousands of idle TCP connections   a commit still goes through at once
 *   connections over RPC_MAX_PIPES      closed; existing peers keep theirs
 *   a message of exactly WIRE_MAX_MSG   arrives and is answered; one byte
 *                                       more is refused and counted
 *
 * plus the two helpers on their own (tlimit, tlog_escape).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include "db.h"
#include "harness.h"
#include "rpc.h"
#include "testutil.h"
#include "tlimit.h"
#include "tlog.h"
#include "wire.h"

#define CO 0 /* the coordinator */
#define A 1  /* alpha */

/* Node I's stderr log (harness.h), opened for reading. */
static FILE *
t_stderr_log(hcluster *c, int i)
{
	char path[400];
	snprintf(path, sizeof(path), "%s/%s.log", c->dir, c->names[i]);
	return fopen(path, "r");
}

/* Lines in node I's stderr log. */
static long
t_lines(hcluster *c, int i)
{
	FILE *f = t_stderr_log(c, i);
	long n = 0;
	int ch;
	if (f == NULL)
		return -1;
	while ((ch = getc(f)) != EOF)
		n += ch == '\n';
	fclose(f);
	return n;
}

/* Counter NAME of node I (STATUS_REQUEST which = 2), or -1. */
static long long
t_counter(hcluster *c, int i, const char *name)
{
	nng_socket s;
	wire_msg req, rep;
	long long v = -1;
	if (rpc_dial(c->urls[i], 0, &s) != 0)
		return -1;
	wire_msg_init(&req, WIRE_STATUS_REQUEST, 0, NULL, "client");
	req.state = 2;
	if (rpc_call(s, &req, &rep, 3000) == 0) {
		for (size_t k = 0; rep.type == WIRE_STATUS_REPLY && k < rep.nstatus; k++)
			if (strcmp(rep.status[k].txid, name) == 0)
				v = (long long)rep.status[k].epoch;
		wire_msg_free(&rep);
	}
	rpc_close(s);
	return v;
}

/* Wait until counter NAME of node I reaches WANT, at most MS. */
static long long
t_counter_wait(hcluster *c, int i, const char *name, long long want, int ms)
{
	int64_t end = mono_ms() + ms;
	long long v;
	while ((v = t_counter(c, i, name)) < want && mono_ms() < end)
		tu_nap_ms(50);
	return v;
}

/* A REQ socket dialing node I's URL (blocking: connected on return), a
 * receive cap above any message. Cooked (RAW 0): no resend, replies
 * awaited MS. Raw (RAW 1), for floods: it keeps no request state (a
 * cooked REQ socket cancels its previous request at each send, and after
 * thousands of them NNG 1.5.2's nng_close was seen to hang for good), and
 * its receive queue holds every reply a flood can get. */
static int
t_req_sock(hcluster *c, int i, int raw, int ms, nng_socket *out)
{
	nng_socket s;
	if ((raw ? nng_req0_open_raw(&s) : nng_req0_open(&s)) != 0)
		return -1;
	if (raw) {
		nng_socket_set_int(s, NNG_OPT_RECVBUF, 8192);
	} else {
		nng_socket_set_ms(s, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
		nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, ms);
	}
	nng_socket_set_ms(s, NNG_OPT_SENDTIMEO, 3000);
	nng_socket_set_size(s, NNG_OPT_RECVMAXSZ, 0);
	if (nng_dial(s, c->urls[i], NULL, 0) != 0) {
		nng_close(s);
		return -1;
	}
	*out = s;
	return 0;
}

/* Send N bytes at DATA on raw REQ socket S as request ID. 0 or an NNG error. */
static int
t_flood_send(nng_socket s, const void *data, size_t n, uint32_t id)
{
	nng_msg *m;
	int rv = nng_msg_alloc(&m, 0);
	if (rv == 0 && (rv = nng_msg_append(m, data, n)) == 0 &&
	    (rv = nng_msg_header_append_u32(m, 0x80000000u | id)) == 0 &&
	    (rv = nng_sendmsg(s, m, 0)) == 0)
		return 0;
	if (m != NULL)
		nng_msg_free(m);
	return rv;
}

/* The soft descriptor limit raised to the hard one; returns the hard. */
static long
t_nofile_max(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 1024;
	rl.rlim_cur = rl.rlim_max;
	(void)setrlimit(RLIMIT_NOFILE, &rl);
	return rl.rlim_max == RLIM_INFINITY ? 1L << 20 : (long)rl.rlim_max;
}

/* The TCP port of a tcp://127.0.0.1:P URL. */
static int
t_port(const char *url)
{
	const char *colon = strrchr(url, ':');
	return colon != NULL ? atoi(colon + 1) : -1;
}

/* Open N non-blocking TCP connections to 127.0.0.1:PORT into FDS;
 * returns how many were opened. With SP, each then sends the 8-byte SP
 * header of a REQ peer, so it becomes an NNG pipe of the server. */
static int
t_connect_many(int port, int n, int sp, int *fds)
{
	static const unsigned char hdr[8] = { 0, 'S', 'P', 0, 0, 0x30, 0, 0 };
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int k = 0;
	for (; k < n; k++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (fd < 0)
			break;
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 && errno != EINPROGRESS) {
			close(fd);
			break;
		}
		fds[k] = fd;
	}
	for (int i = 0; sp && i < k; i++) {
		struct pollfd p = { fds[i], POLLOUT, 0 };
		if (poll(&p, 1, 2000) == 1)
			(void)!write(fds[i], hdr, sizeof(hdr));
	}
	return k;
}

static void
t_close_all(int *fds, int n)
{
	for (int i = 0; i < n; i++)
		close(fds[i]);
}

/* ---- the helpers ---- */

static char t_sunk[64][512];
static int t_nsunk;

static void
t_sink(void *user, int level, const char *line)
{
	(void)user;
	(void)level;
	if (t_nsunk < 64)
		snprintf(t_sunk[t_nsunk++], sizeof(t_sunk[0]), "%s", line);
}

static void
test_tlimit_summary(void)
{
	tlimit t = TLIMIT_INIT("test events");
	t.interval_ms = 300;
	t_nsunk = 0;
	tlog_set_sink(t_sink, NULL, TLOG_INFO);
	for (int i = 0; i < 50; i++)
		tlimit_log(&t, TLOG_WARN, "event %d", i);
	T_EQ(t_nsunk, TLIMIT_BURST);
	T_STREQ(t_sunk[0], "event 0");
	/* The interval is the thing measured: past it, the next event first
	 * sums up the ones held back. */
	tu_nap_ms(350);
	tlimit_log(&t, TLOG_WARN, "event %d", 50);
	tlog_set_sink(NULL, NULL, TLOG_INFO);
	T_EQ(t_nsunk, TLIMIT_BURST + 2);
	/* The span is rounded up to whole seconds: 1 s unless the nap ran
	 * long on a busy machine. */
	T_HAS(t_sunk[TLIMIT_BURST], "test events (40 more suppressed in the last ");
	T_HAS(t_sunk[TLIMIT_BURST], " s)");
	T_STREQ(t_sunk[TLIMIT_BURST + 1], "event 50");
	T_EQ(tlimit_count(&t), 51);
}

static void
test_tlog_escape(void)
{
	char out[64];
	T_EQ(tlog_escape(out, sizeof(out), "k\n2030 ERROR x"), 17);
	T_STREQ(out, "k\\x0a2030 ERROR x");
	tlog_escape(out, sizeof(out), "a\\b\r\x1b[2J\x7f\xc3\xa9");
	T_STREQ(out, "a\\x5cb\\x0d\\x1b[2J\\x7f\\xc3\\xa9");
	/* Cut at a whole escape. */
	T_EQ(tlog_escape(out, 6, "ab\ncd"), 2);
	T_STREQ(out, "ab");
	/* Through tlog: one line, escaped. */
	t_nsunk = 0;
	tlog_set_sink(t_sink, NULL, TLOG_INFO);
	tlog_info("key %s", "x\nFORGED");
	tlog_set_sink(NULL, NULL, TLOG_INFO);
	T_EQ(t_nsunk, 1);
	T_STREQ(t_sunk[0], "key x\\x0aFORGED");
}

/* ---- real daemons ---- */

/*
 * 2,000 undecodable messages and 1,000 stale GLOBAL_ABORTs to alpha: each
 * is counted (malformed, refused), the log grows by at most the bursts
 * of the two kinds (plus a summary each), and alpha still commits.
 */
static void
test_flood_counted_and_quiet(void)
{
	enum { GARBAGE = 2000, STALE = 1000 };
	hcluster c;
	nng_socket s;
	unsigned char junk[200];
	T_CLUSTER_UP(&c, 2, 2000, 1000);
	T_EQ(T_DRV(&c, "commit", "alpha:put:a=1", "beta:put:b=1"), 0);
	long long mal0 = t_counter(&c, A, "malformed"), ref0 = t_counter(&c, A, "refused");
	T_TRUE(mal0 >= 0 && ref0 >= 0);
	long lines0 = t_lines(&c, A);
	CU_ASSERT_FATAL(t_req_sock(&c, A, 1, 0, &s) == 0);
	srand(13);
	for (int i = 0; i < GARBAGE; i++) {
		size_t n = 1 + (size_t)(rand() % (int)sizeof(junk));
		for (size_t k = 0; k < n; k++)
			junk[k] = (unsigned char)rand();
		if (i % 2 == 0 && n > 8)
			memcpy(junk, "2PC\x02", 4); /* the magic, then garbage */
		T_EQ(t_flood_send(s, junk, n, (uint32_t)i), 0);
	}
	/* Epoch 0 is below every epoch alpha has seen: stale. */
	wire_msg m;
	wire_buf b = { 0 };
	wire_msg_init(&m, WIRE_GLOBAL_ABORT, 0, "stale-1", "coord");
	CU_ASSERT_FATAL(wire_encode(&m, &b) == 0);
	for (int i = 0; i < STALE; i++)
		T_EQ(t_flood_send(s, b.data, b.len, (uint32_t)(GARBAGE + i)), 0);
	wire_buf_free(&b);
	/* Closed only once all arrived: a raw socket drops what it has not
	 * sent yet when it closes. */
	T_EQ(t_counter_wait(&c, A, "malformed", mal0 + GARBAGE, 10000), mal0 + GARBAGE);
	T_EQ(t_counter_wait(&c, A, "refused", ref0 + STALE, 10000), ref0 + STALE);
	nng_close(s);
	/* Each event is counted before its line is written (tlimit.c): the
	 * last burst lines may trail the counters. */
	for (int64_t end = mono_ms() + 5000;
	    t_lines(&c, A) - lines0 < 2 * TLIMIT_BURST - 2 && mono_ms() < end;)
		tu_nap_ms(20);
	long grew = t_lines(&c, A) - lines0;
	T_CHECK(grew >= 2 * TLIMIT_BURST - 2 && grew <= 2 * (TLIMIT_BURST + 1),
	    "alpha's log grew by %ld lines for %d rejected messages", grew, GARBAGE + STALE);
	T_TRUE(hc_alive(&c, A));
	char st[32];
	hc_state(&c, A, "stale-1", st, sizeof(st));
	T_STREQ(st, "");
	T_EQ(T_DRV(&c, "commit", "alpha:put:a=2", "beta:put:b=2"), 0);
	hc_destroy(&c);
}

/* A line that starts with FORGED in node I's log: 1, else 0. */
static int
t_forged_line(hcluster *c, int i, const char *forged)
{
	FILE *f = t_stderr_log(c, i);
	char line[8192];
	int found = 0;
	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		found |= strncmp(line, forged, strlen(forged)) == 0;
	if (f != NULL)
		fclose(f);
	return found;
}

static void
test_key_newline_escaped(void)
{
	/* Short enough to survive whole in the reason (keys are cut at 40). */
	static const char forged[] = "2030-01-01T00:00Z coord ERROR FORGED";
	char op[256];
	hcluster c;
	T_CLUSTER_UP(&c, 2, 2000, 1000);
	/* A failed check: its reason (the key in it) is logged by the
	 * coordinator with the ABORT. */
	snprintf(op, sizeof(op), "alpha:check:x\n%s=1", forged);
	T_EQ(T_DRV(&c, "commit", op, "beta:put:b=1") != 0, 1);
	T_EQ(hc_wait_log_line(&c, CO, "x\\x0a2030-01-01T00:00Z coord ERROR FORGED", 10000), 0);
	snprintf(op, sizeof(op), "alpha:put:y\r\n%s=1", forged);
	T_EQ(T_DRV(&c, "commit", op, "beta:put:b=2"), 0);
	for (int i = 0; i < c.nnodes; i++)
		T_CHECK(!t_forged_line(&c, i, forged), "node %d's log has a forged line", i);
	hc_destroy(&c);
}

static void
t_mode(const char *path, int must_exist)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		T_CHECK(!must_exist, "%s: missing", path);
		return;
	}
	T_CHECK((st.st_mode & 077) == 0, "%s: mode %03o", path, (unsigned)(st.st_mode & 0777));
}

static void
test_files_0600(void)
{
	static const char *const sfx[] = { "", "-wal", "-shm", ".lock" };
	hcluster c;
	char p[400];
	T_CLUSTER_UP(&c, 2, 2000, 1000);
	T_EQ(T_DRV(&c, "commit", "alpha:put:a=1", "beta:put:b=1"), 0);
	for (int i = 0; i < c.nnodes; i++)
		for (size_t k = 0; k < T_NITEMS(sfx); k++) {
			snprintf(p, sizeof(p), "%s%s", c.logs[i], sfx[k]);
			t_mode(p, k != 2);
		}
	/* A log an operator left open to others is named at start. */
	CU_ASSERT_FATAL(hc_kill(&c, A) == 0);
	CU_ASSERT_FATAL(chmod(c.logs[A], 0644) == 0);
	CU_ASSERT_FATAL(hc_start(&c, A, NULL) == 0);
	T_EQ(hc_wait_log_line(&c, A, "open to other users (mode 644)", 3000), 0);
	hc_destroy(&c);
}

/* The soft and hard "Max open files" of process PID, or -1. */
static int
t_proc_nofile(pid_t pid, long *soft, long *hard)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%ld/limits", (long)pid);
	FILE *f = fopen(path, "r");
	int rv = -1;
	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "Max open files", 14) == 0 &&
		    sscanf(line + 14, "%ld %ld", soft, hard) == 2)
			rv = 0;
	if (f != NULL)
		fclose(f);
	return rv;
}

/* Descriptors process PID holds, or -1. */
static int
t_fd_count(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%ld/fd", (long)pid);
	DIR *d = opendir(path);
	int n = 0;
	if (d == NULL)
		return -1;
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n - 2;
}

/*
 * 2,000 idle TCP connections (connect() only: NNG holds each in its
 * handshake for 10 s) to a coordinator started with a soft descriptor
 * limit of 1,024: the daemon raises its limit, and a commit goes through
 * in well under a second rather than waiting for descriptors.
 */
static void
test_idle_connections(void)
{
	hcluster c;
	struct rlimit rl, low;
	long soft, hard;
	long max = t_nofile_max();
	int n = max - 200 < 2000 ? (int)(max - 200) : 2000;
	int *fds = calloc(2000, sizeof(int));
	CU_ASSERT_FATAL(fds != NULL);
	CU_ASSERT_FATAL(hc_create(&c, 2, 2000, 1000) == 0);
	CU_ASSERT_FATAL(getrlimit(RLIMIT_NOFILE, &rl) == 0);
	low = rl;
	if (low.rlim_max > 1024)
		low.rlim_cur = 1024;
	CU_ASSERT_FATAL(setrlimit(RLIMIT_NOFILE, &low) == 0);
	int started = hc_start_all(&c);
	CU_ASSERT_FATAL(setrlimit(RLIMIT_NOFILE, &rl) == 0);
	CU_ASSERT_FATAL(started == 0);
	CU_ASSERT_FATAL(t_proc_nofile(c.pids[CO], &soft, &hard) == 0);
	T_CHECK(soft == hard, "the coordinator's descriptor limit: soft %ld, hard %ld", soft, hard);
	T_EQ(T_DRV(&c, "commit", "alpha:put:a=1", "beta:put:b=1"), 0);
	int got = t_connect_many(t_port(c.urls[CO]), n, 0, fds);
	T_CHECK(got >= 1000, "opened %d of %d connections", got, n);
	/* The daemon has accepted every connection (or cannot take more)
	 * before the commit: its descriptors stop growing. */
	int fds_now = t_fd_count(c.pids[CO]), fds_was = -1;
	for (int64_t end = mono_ms() + 5000; fds_now != fds_was && mono_ms() < end;) {
		tu_nap_ms(1100); /* past a dropped SYN's first retransmission */
		fds_was = fds_now;
		fds_now = t_fd_count(c.pids[CO]);
	}
	int64_t t0 = mono_ms();
	T_EQ(T_DRV(&c, "commit", "alpha:put:a=2", "beta:put:b=2"), 0);
	int64_t took = mono_ms() - t0;
	/* Starved of descriptors, the commit would wait for NNG to drop the
	 * idle handshakes (10 s); the bound is well below that but leaves a
	 * busy machine room for the driver's start and two fsyncs. */
	T_CHECK(took < 6000, "a commit with %d idle connections open took %lld ms", got,
	    (long long)took);
	T_TRUE(hc_alive(&c, CO));
	t_close_all(fds, got);
	free(fds);
	hc_destroy(&c);
}

/*
 * RPC_MAX_PIPES + 100 connections that finish NNG's handshake: the ones
 * over the limit are closed at once (their reads see EOF), counted; the
 * coordinator's own connection to alpha, older, keeps working.
 */
static void
test_pipes_bounded(void)
{
	enum { OVER = 100, N = RPC_MAX_PIPES + OVER };
	hcluster c;
	char buf[16];
	long max = t_nofile_max();
	if (max < N + 200) {
		fprintf(stderr, "(descriptor limit %ld: skipped) ", max);
		return;
	}
	int *fds = calloc(N, sizeof(int));
	unsigned char *eof = calloc(N, 1);
	CU_ASSERT_FATAL(fds != NULL && eof != NULL);
	T_CLUSTER_UP(&c, 2, 2000, 1000);
	T_EQ(T_DRV(&c, "commit", "alpha:put:a=1", "beta:put:b=1"), 0);
	int got = t_connect_many(t_port(c.urls[A]), N, 1, fds);
	T_EQ(got, N);
	/* Count the connections alpha closed: at least OVER of them, bounded
	 * in time. */
	int closed = 0;
	int64_t end = mono_ms() + 10000;
	while (closed < OVER && mono_ms() < end) {
		for (int i = 0; i < got; i++) {
			if (eof[i])
				continue;
			ssize_t r = read(fds[i], buf, sizeof(buf));
			if (r == 0 || (r < 0 && errno != EAGAIN)) {
				eof[i] = 1;
				closed++;
			}
		}
		if (closed < OVER)
			tu_nap_ms(50);
	}
	T_CHECK(closed >= OVER && closed <= OVER + 10, "alpha closed %d of %d connections (limit %d)",
	    closed, got, RPC_MAX_PIPES);
	/* The coordinator's connection came first: commits go on. */
	T_EQ(T_DRV(&c, "commit", "alpha:put:a=2", "beta:put:b=2"), 0);
	T_TRUE(hc_alive(&c, A));
	t_close_all(fds, got);
	T_TRUE(t_counter_wait(&c, A, "connections_refused", OVER, 5000) >= OVER);
	free(fds);
	free(eof);
	hc_destroy(&c);
}

/* An encoded FORGET of exactly LEN bytes (more than its empty size). */
static int
t_forget_of(size_t len, wire_buf *b)
{
	static char ids[WIRE_MAX_LIST][WIRE_TXID_MAX + 1];
	static char *list[WIRE_MAX_LIST];
	wire_msg m;
	wire_msg_init(&m, WIRE_FORGET, 1, "", "coord");
	m.txids = list;
	memset(b, 0, sizeof(*b));
	if (wire_encode(&m, b) != 0)
		return -1;
	size_t left = len - b->len, n = 0;
	wire_buf_free(b);
	memset(b, 0, sizeof(*b));
	/* Each txid costs 1 + its length: 64 characters while more remains,
	 * never leaving a single byte (a txid is at least 1 character). */
	while (left > 0 && n < WIRE_MAX_LIST) {
		size_t take = left - 1 > WIRE_TXID_MAX ? WIRE_TXID_MAX : left - 1;
		if (left - 1 - take == 1)
			take--;
		memset(ids[n], 'f', take);
		ids[n][take] = '\0';
		list[n] = ids[n];
		n++;
		left -= take + 1;
	}
	m.ntxids = n;
	return wire_encode(&m, b);
}

static void
test_size_cap(void)
{
	hcluster c;
	nng_socket s;
	wire_buf b;
	void *rep = NULL;
	size_t sz = 0;
	T_CLUSTER_UP(&c, 2, 2000, 1000);
	CU_ASSERT_FATAL(t_forget_of(WIRE_MAX_MSG, &b) == 0);
	T_EQ(b.len, WIRE_MAX_MSG);
	wire_msg dec;
	T_EQ(wire_decode(b.data, b.len, &dec), 0);
	wire_msg_free(&dec);
	long long mal0 = t_counter(&c, A, "malformed");
	CU_ASSERT_FATAL(t_req_sock(&c, A, 0, 3000, &s) == 0);
	/* Exactly the cap: delivered, decoded, answered. */
	T_EQ(nng_send(s, b.data, b.len, 0), 0);
	T_EQ(nng_recv(s, &rep, &sz, NNG_FLAG_ALLOC), 0);
	if (rep != NULL)
		nng_free(rep, sz);
	/* One byte over: delivered too (the same connection), refused by the
	 * codec as too large, counted; no reply. */
	uint8_t *over = malloc(b.len + 1);
	CU_ASSERT_FATAL(over != NULL);
	memcpy(over, b.data, b.len);
	over[b.len] = 0;
	nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 500);
	T_EQ(nng_send(s, over, b.len + 1, 0), 0);
	T_EQ(nng_recv(s, &rep, &sz, NNG_FLAG_ALLOC), NNG_ETIMEDOUT);
	T_EQ(t_counter_wait(&c, A, "malformed", mal0 + 1, 10000), mal0 + 1);
	/* The counter is bumped before the line is written (rpcsrv.c). */
	T_EQ(hc_wait_log_line(&c, A, "too large", 10000), 0);
	free(over);
	wire_buf_free(&b);
	nng_close(s);
	hc_destroy(&c);
}

void test_abuse_register(void);

void
test_abuse_register(void)
{
	static const tu_test tests[] = {
		{ "tlimit: burst, then one summary", test_tlimit_summary },
		{ "tlog_escape: one line whatever the bytes", test_tlog_escape },
		{ "flood of rejected messages: counted, log bounded", test_flood_counted_and_quiet },
		{ "key with a newline: no forged log line", test_key_newline_escaped },
		{ "logs and lock files 0600", test_files_0600 },
		{ "2,000 idle connections: a commit still goes through", test_idle_connections },
		{ "connections over RPC_MAX_PIPES closed", test_pipes_bounded },
		{ "a message of exactly WIRE_MAX_MSG; one byte more refused", test_size_cap },
	};
	TU_SUITE("abuse", tests);
}
