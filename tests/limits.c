/*
 * limits.c - `twopc-limits DIR [SECONDS]`: the machine's own limits, the
 * bounds `make bench` compares twopc against. Each measurement runs for
 * about SECONDS (default 2):
 *
 *   fsync_per_s, fsync_us   4 KiB pwrite + fdatasync in a loop on a file in
 *                           DIR (overwriting a preallocated 1 MiB region,
 *                           as a reused WAL does)
 *   sqlite_commits_per_s    single-row INSERT commits, WAL mode,
 *                           synchronous=FULL, a database in DIR
 *   nng_rtt_us              REQ/REP round trip over tcp loopback, one
 *                           request outstanding (median)
 *   nng_rt_per_s_64         round trips per second with 64 requests
 *                           outstanding (64 REQ contexts, one connection)
 *   nng_round_us            one transaction's messages and forced writes
 *                           with nothing else (section (e)): client ->
 *                           coordinator -> 3 participants, each forcing a
 *                           record, the coordinator one meanwhile -> client,
 *                           one process per node (median)
 *
 * The REP side is an echo server in the same process with several
 * contexts, driven by nng_aio callbacks. Prints one flat JSON object.
 * This is a benchmark helper, not a test: nothing here asserts a speed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <sqlite3.h>

#define LIM_BLOCK 4096
#define LIM_REGION (1024 * 1024)
#define LIM_SERVER_CTXS 128
#define LIM_CLIENT_CTXS 64
#define LIM_PAYLOAD 64

static double lim_secs = 2.0;

static int64_t
lim_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
lim_die(const char *what, const char *detail)
{
	fprintf(stderr, "twopc-limits: %s: %s\n", what, detail);
	exit(1);
}

/* ---- (a) fdatasync ---- */

/* PATH created and LIM_REGION written and synced: writes into it then
 * overwrite blocks, no size change. Its descriptor. */
static int
lim_prealloc(const char *path)
{
	static char buf[LIM_BLOCK];
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0)
		lim_die(path, strerror(errno));
	memset(buf, 0xa5, sizeof(buf));
	for (off_t o = 0; o < LIM_REGION; o += LIM_BLOCK)
		if (pwrite(fd, buf, sizeof(buf), o) != (ssize_t)sizeof(buf))
			lim_die(path, strerror(errno));
	if (fsync(fd) != 0)
		lim_die(path, strerror(errno));
	return fd;
}

/* One forced record: LIM_BLOCK bytes at *AT in FD (preallocated, so no
 * size change), then fdatasync; *AT moves on, round the region. */
static void
lim_record(int fd, off_t *at)
{
	static char buf[LIM_BLOCK];
	buf[0]++;
	if (pwrite(fd, buf, sizeof(buf), *at) != (ssize_t)sizeof(buf) || fdatasync(fd) != 0)
		lim_die("record", strerror(errno));
	*at = (*at + LIM_BLOCK) % LIM_REGION;
}

static void
lim_fsync(const char *dir, double *per_s, double *mean_us)
{
	char path[4096];
	off_t at = 0;
	snprintf(path, sizeof(path), "%s/limits-fsync.tmp", dir);
	int fd = lim_prealloc(path);
	int64_t t0 = lim_now_us(), end = t0 + (int64_t)(lim_secs * 1e6), t1;
	uint64_t n = 0;
	do {
		lim_record(fd, &at);
		n++;
		t1 = lim_now_us();
	} while (t1 < end);
	close(fd);
	unlink(path);
	double secs = (double)(t1 - t0) / 1e6;
	*per_s = (double)n / secs;
	*mean_us = (double)(t1 - t0) / (double)n;
}

/* ---- (b) SQLite WAL, synchronous=FULL ---- */

static void
lim_sqlite_exec(sqlite3 *db, const char *sql)
{
	char *err = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		lim_die(sql, err ? err : "error");
}

static double
lim_sqlite(const char *dir)
{
	char path[4096], wal[4200], shm[4200];
	snprintf(path, sizeof(path), "%s/limits-sqlite.db", dir);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	snprintf(shm, sizeof(shm), "%s-shm", path);
	unlink(path);
	unlink(wal);
	unlink(shm);
	sqlite3 *db;
	if (sqlite3_open(path, &db) != SQLITE_OK)
		lim_die(path, sqlite3_errmsg(db));
	lim_sqlite_exec(db, "PRAGMA journal_mode=WAL");
	lim_sqlite_exec(db, "PRAGMA synchronous=FULL");
	lim_sqlite_exec(db, "CREATE TABLE t(id INTEGER PRIMARY KEY, txid TEXT, state INTEGER, body BLOB)");
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "INSERT INTO t(txid, state, body) VALUES (?1, 1, ?2)", -1, &st,
	    NULL) != SQLITE_OK)
		lim_die("prepare", sqlite3_errmsg(db));
	char txid[32], body[128];
	memset(body, 'x', sizeof(body));
	int64_t t0 = lim_now_us(), end = t0 + (int64_t)(lim_secs * 1e6), t1;
	uint64_t n = 0;
	do {
		snprintf(txid, sizeof(txid), "limits-%llu", (unsigned long long)n);
		sqlite3_bind_text(st, 1, txid, -1, SQLITE_TRANSIENT);
		sqlite3_bind_blob(st, 2, body, sizeof(body), SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			lim_die("insert", sqlite3_errmsg(db));
		sqlite3_reset(st);
		n++;
		t1 = lim_now_us();
	} while (t1 < end);
	sqlite3_finalize(st);
	sqlite3_close(db);
	unlink(path);
	unlink(wal);
	unlink(shm);
	return (double)n / ((double)(t1 - t0) / 1e6);
}

/* ---- (c) NNG REQ/REP round trip ---- */

typedef struct lim_srv {
	nng_ctx ctx;
	nng_aio *aio;
	int sending;
} lim_srv;

/* The echo server: each context receives a request and sends it back. */
static void
lim_srv_cb(void *arg)
{
	lim_srv *s = arg;
	if (nng_aio_result(s->aio) != 0) {
		if (s->sending) {
			nng_msg *m = nng_aio_get_msg(s->aio);
			if (m != NULL)
				nng_msg_free(m);
		}
		return; /* closed or stopped */
	}
	if (s->sending) {
		s->sending = 0;
		nng_ctx_recv(s->ctx, s->aio);
		return;
	}
	nng_msg *m = nng_aio_get_msg(s->aio);
	nng_aio_set_msg(s->aio, m);
	s->sending = 1;
	nng_ctx_send(s->ctx, s->aio);
}

typedef struct lim_cli {
	nng_ctx ctx;
	nng_aio *aio;
	int sending;
	uint64_t done;
	int failed;
	struct lim_pool *pool;
} lim_cli;

typedef struct lim_pool {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int active;
	volatile int stop;
} lim_pool;

static void
lim_cli_finish(lim_cli *c)
{
	pthread_mutex_lock(&c->pool->mu);
	c->pool->active--;
	pthread_cond_broadcast(&c->pool->cv);
	pthread_mutex_unlock(&c->pool->mu);
}

static void
lim_cli_send(lim_cli *c)
{
	nng_msg *m;
	if (nng_msg_alloc(&m, LIM_PAYLOAD) != 0) {
		c->failed = 1;
		lim_cli_finish(c);
		return;
	}
	memset(nng_msg_body(m), 'r', LIM_PAYLOAD);
	nng_aio_set_msg(c->aio, m);
	c->sending = 1;
	nng_ctx_send(c->ctx, c->aio);
}

/* A client context: send, receive the echo, count, again until stop. */
static void
lim_cli_cb(void *arg)
{
	lim_cli *c = arg;
	if (nng_aio_result(c->aio) != 0) {
		if (c->sending) {
			nng_msg *m = nng_aio_get_msg(c->aio);
			if (m != NULL)
				nng_msg_free(m);
		}
		c->failed = 1;
		lim_cli_finish(c);
		return;
	}
	if (c->sending) {
		c->sending = 0;
		nng_ctx_recv(c->ctx, c->aio);
		return;
	}
	nng_msg_free(nng_aio_get_msg(c->aio));
	c->done++;
	if (c->pool->stop) {
		lim_cli_finish(c);
		return;
	}
	lim_cli_send(c);
}

static int
lim_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static void
lim_nng_check(int rv, const char *what)
{
	if (rv != 0)
		lim_die(what, nng_strerror(rv));
}

/* The median time of one request on REQ (one outstanding: synchronous
 * send and receive) over lim_secs, after 100 unmeasured ones (the
 * connection is established asynchronously). In microseconds. */
static double
lim_median_trip(nng_socket req)
{
	size_t cap = 1 << 16, n = 0;
	uint32_t *lat = malloc(cap * sizeof(*lat));
	if (lat == NULL)
		lim_die("malloc", strerror(ENOMEM));
	char payload[LIM_PAYLOAD];
	memset(payload, 'r', sizeof(payload));
	int64_t end = 0, t1;
	for (int i = 0;; i++) {
		char *r = NULL;
		size_t rl = 0;
		if (i == 100)
			end = lim_now_us() + (int64_t)(lim_secs * 1e6);
		int64_t t0 = lim_now_us();
		lim_nng_check(nng_send(req, payload, sizeof(payload), 0), "nng_send");
		lim_nng_check(nng_recv(req, &r, &rl, NNG_FLAG_ALLOC), "nng_recv");
		t1 = lim_now_us();
		nng_free(r, rl);
		if (i < 100)
			continue;
		if (n == cap) {
			uint32_t *nl = realloc(lat, cap * 2 * sizeof(*lat));
			if (nl == NULL)
				lim_die("realloc", strerror(ENOMEM));
			lat = nl;
			cap *= 2;
		}
		lat[n++] = (uint32_t)(t1 - t0);
		if (t1 >= end)
			break;
	}
	qsort(lat, n, sizeof(*lat), lim_cmp);
	double median = lat[n / 2];
	free(lat);
	return median;
}

static void
lim_nng(double *rtt_us, double *rt_per_s_64)
{
	nng_socket rep, req;
	nng_listener l;
	nng_sockaddr sa;
	char url[64];

	lim_nng_check(nng_rep0_open(&rep), "nng_rep0_open");
	lim_nng_check(nng_listen(rep, "tcp://127.0.0.1:0", &l, 0), "nng_listen");
	lim_nng_check(nng_listener_get_addr(l, NNG_OPT_LOCADDR, &sa), "NNG_OPT_LOCADDR");
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%u", (unsigned)ntohs(sa.s_in.sa_port));

	static lim_srv srv[LIM_SERVER_CTXS];
	for (int i = 0; i < LIM_SERVER_CTXS; i++) {
		lim_nng_check(nng_ctx_open(&srv[i].ctx, rep), "nng_ctx_open (rep)");
		lim_nng_check(nng_aio_alloc(&srv[i].aio, lim_srv_cb, &srv[i]), "nng_aio_alloc");
		srv[i].sending = 0;
		nng_ctx_recv(srv[i].ctx, srv[i].aio);
	}

	lim_nng_check(nng_req0_open(&req), "nng_req0_open");
	lim_nng_check(nng_dial(req, url, NULL, 0), "nng_dial");

	*rtt_us = lim_median_trip(req);

	/* 64 outstanding: 64 REQ contexts on the same connection. */
	static lim_cli cli[LIM_CLIENT_CTXS];
	lim_pool pool = { .active = LIM_CLIENT_CTXS, .stop = 0 };
	pthread_mutex_init(&pool.mu, NULL);
	pthread_cond_init(&pool.cv, NULL);
	for (int i = 0; i < LIM_CLIENT_CTXS; i++) {
		cli[i] = (lim_cli){ .pool = &pool };
		lim_nng_check(nng_ctx_open(&cli[i].ctx, req), "nng_ctx_open (req)");
		lim_nng_check(nng_aio_alloc(&cli[i].aio, lim_cli_cb, &cli[i]), "nng_aio_alloc");
		nng_aio_set_timeout(cli[i].aio, 10000);
	}
	int64_t t0 = lim_now_us();
	for (int i = 0; i < LIM_CLIENT_CTXS; i++)
		lim_cli_send(&cli[i]);
	struct timespec ts = { .tv_sec = (time_t)lim_secs,
		.tv_nsec = (long)((lim_secs - (double)(time_t)lim_secs) * 1e9) };
	nanosleep(&ts, NULL);
	pool.stop = 1;
	pthread_mutex_lock(&pool.mu);
	while (pool.active > 0)
		pthread_cond_wait(&pool.cv, &pool.mu);
	pthread_mutex_unlock(&pool.mu);
	int64_t t1 = lim_now_us();
	uint64_t total = 0;
	int failed = 0;
	for (int i = 0; i < LIM_CLIENT_CTXS; i++) {
		total += cli[i].done;
		failed |= cli[i].failed;
		nng_aio_stop(cli[i].aio);
		nng_aio_free(cli[i].aio);
		nng_ctx_close(cli[i].ctx);
	}
	if (failed)
		lim_die("nng", "a request context failed (timeout or closed)");
	*rt_per_s_64 = (double)total / ((double)(t1 - t0) / 1e6);

	nng_close(req);
	for (int i = 0; i < LIM_SERVER_CTXS; i++)
		nng_aio_stop(srv[i].aio);
	for (int i = 0; i < LIM_SERVER_CTXS; i++) {
		nng_aio_free(srv[i].aio);
		nng_ctx_close(srv[i].ctx);
	}
	nng_close(rep);
	pthread_cond_destroy(&pool.cv);
	pthread_mutex_destroy(&pool.mu);
}

/* ---- (e) a round of NNG alone ---- */

/*
 * The shape of one twopc transaction with the protocol's work taken out,
 * each node its own process as in a cluster: the client asks a
 * coordinator, which asks LIM_ROUND_PARTS participants at once, forces a
 * record of its own meanwhile, waits for every answer, and answers; each
 * participant forces a record before it answers. A record is one 4 KiB
 * pwrite + fdatasync, as in (a). No log and no logic, the simplest NNG
 * calls (blocking, no contexts): what no implementation of the protocol
 * over NNG can beat on this machine.
 */
#define LIM_ROUND_PARTS 3

/* A node's process, forked before the parent uses NNG: listens, writes
 * its port to WFD, then serves until it is killed. PARTS: the URLs of
 * the participants it asks (the coordinator), or none. */
static void
lim_node_serve(const char *path, char (*parts)[64], int nparts, int wfd)
{
	nng_socket rep, req[LIM_ROUND_PARTS];
	nng_listener l;
	nng_sockaddr sa;
	off_t at = 0;
	int fd = lim_prealloc(path);
	lim_nng_check(nng_rep0_open(&rep), "nng_rep0_open");
	lim_nng_check(nng_listen(rep, "tcp://127.0.0.1:0", &l, 0), "nng_listen");
	lim_nng_check(nng_listener_get_addr(l, NNG_OPT_LOCADDR, &sa), "NNG_OPT_LOCADDR");
	uint16_t port = ntohs(sa.s_in.sa_port);
	for (int i = 0; i < nparts; i++) {
		lim_nng_check(nng_req0_open(&req[i]), "nng_req0_open");
		lim_nng_check(nng_dial(req[i], parts[i], NULL, 0), "nng_dial");
	}
	if (write(wfd, &port, sizeof(port)) != (ssize_t)sizeof(port))
		lim_die("round: pipe", strerror(errno));
	close(wfd);
	for (;;) {
		nng_msg *m, *r;
		lim_nng_check(nng_recvmsg(rep, &m, 0), "nng_recvmsg");
		for (int i = 0; i < nparts; i++) {
			lim_nng_check(nng_msg_dup(&r, m), "nng_msg_dup");
			lim_nng_check(nng_sendmsg(req[i], r, 0), "nng_sendmsg");
		}
		lim_record(fd, &at);
		for (int i = 0; i < nparts; i++) {
			lim_nng_check(nng_recvmsg(req[i], &r, 0), "nng_recvmsg");
			nng_msg_free(r);
		}
		lim_nng_check(nng_sendmsg(rep, m, 0), "nng_sendmsg");
	}
}

/* Fork a node of the round (its record file PATH); its URL into URL. */
static pid_t
lim_node(const char *path, char (*parts)[64], int nparts, char *url)
{
	int p[2];
	uint16_t port = 0;
	if (pipe(p) != 0)
		lim_die("pipe", strerror(errno));
	pid_t pid = fork();
	if (pid < 0)
		lim_die("fork", strerror(errno));
	if (pid == 0) {
		close(p[0]);
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);  /* no orphan if we die */
		lim_node_serve(path, parts, nparts, p[1]);
		_exit(1);
	}
	close(p[1]);
	if (read(p[0], &port, sizeof(port)) != (ssize_t)sizeof(port))
		lim_die("round: a node did not start", path);
	close(p[0]);
	snprintf(url, 64, "tcp://127.0.0.1:%u", (unsigned)port);
	return pid;
}

/* The median time of a round, in microseconds. */
static double
lim_round(const char *dir)
{
	char urls[LIM_ROUND_PARTS + 1][64], path[LIM_ROUND_PARTS + 1][4096];
	pid_t pid[LIM_ROUND_PARTS + 1];
	nng_socket req;
	for (int i = 0; i <= LIM_ROUND_PARTS; i++)
		snprintf(path[i], sizeof(path[i]), "%s/limits-round-%d.tmp", dir, i);
	for (int i = 0; i < LIM_ROUND_PARTS; i++)
		pid[i] = lim_node(path[i], NULL, 0, urls[i]);
	pid[LIM_ROUND_PARTS] = lim_node(path[LIM_ROUND_PARTS], urls, LIM_ROUND_PARTS,
	    urls[LIM_ROUND_PARTS]);
	lim_nng_check(nng_req0_open(&req), "nng_req0_open");
	lim_nng_check(nng_dial(req, urls[LIM_ROUND_PARTS], NULL, 0), "nng_dial");
	/* A node that died would leave the round unanswered: fail instead. */
	lim_nng_check(nng_socket_set_ms(req, NNG_OPT_RECVTIMEO, 10000), "NNG_OPT_RECVTIMEO");
	double median = lim_median_trip(req);
	nng_close(req);
	for (int i = 0; i <= LIM_ROUND_PARTS; i++) {
		kill(pid[i], SIGKILL);
		(void)waitpid(pid[i], NULL, 0);
		unlink(path[i]);
	}
	return median;
}

int
main(int argc, char **argv)
{
	if (argc < 2 || argc > 3 || argv[1][0] == '-') {
		fprintf(stderr, "usage: twopc-limits DIR [SECONDS]\n");
		return 2;
	}
	if (argc == 3) {
		lim_secs = atof(argv[2]);
		if (lim_secs < 0.1 || lim_secs > 600) {
			fprintf(stderr, "twopc-limits: SECONDS must be between 0.1 and 600\n");
			return 2;
		}
	}
	double fsync_per_s, fsync_us, sqlite_per_s, rtt_us, rt_per_s, round_us;
	lim_fsync(argv[1], &fsync_per_s, &fsync_us);
	sqlite_per_s = lim_sqlite(argv[1]);
	round_us = lim_round(argv[1]); /* forks: before this process uses NNG */
	lim_nng(&rtt_us, &rt_per_s);
	printf("{\"fsync_per_s\":%.1f,\"fsync_us\":%.1f,\"sqlite_commits_per_s\":%.1f,"
	    "\"nng_rtt_us\":%.1f,\"nng_rt_per_s_64\":%.1f,\"nng_round_us\":%.1f}\n",
	    fsync_per_s, fsync_us, sqlite_per_s, rtt_us, rt_per_s, round_us);
	return 0;
}
