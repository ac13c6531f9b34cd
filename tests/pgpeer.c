/*
 * pgpeer.c - `twopc-pgpeer`: the peer baseline of `make bench`, two-phase
 * commit done by hand with PostgreSQL, for comparison with `twopc bench`.
 *
 *   twopc-pgpeer --host DIR --port P [--port-step S] [--concurrency N]
 *       [--duration S] [--participants K] [--hot N] [--sync group|each]
 *       [--decisions FILE] [--json]
 *
 * Participant i (0..K-1) is the database peer<i> of the server at socket
 * directory DIR, port P + i*S (S 0, the default: one server, K databases).
 * N client threads each hold one connection per participant and run
 * transactions back to back for S seconds, as the coordinator of each:
 *
 *   1. at every participant at once (the statements are sent to all before
 *      any answer is read, as twopc sends its VOTE_REQUESTs):
 *      BEGIN; the work; PREPARE TRANSACTION 'gid'
 *   2. if all prepared: the decision is appended to the decision file and
 *      made durable with fdatasync before anyone is told (a coordinator
 *      that loses its decision after a COMMIT PREPARED could not finish the
 *      others); then COMMIT PREPARED 'gid' at each, again all at once.
 *      Otherwise ROLLBACK (the ones that failed) and ROLLBACK PREPARED (the
 *      ones that prepared); an abort is not recorded (presumed abort).
 *
 * The work is that of `twopc bench`: one upsert of the thread's private key
 * bench-<thread>-<i%64> into kv(key, value) at each participant. With
 * --hot N, a transfer instead: 1 from a random account hot-<j> at one
 * participant to a random one at another, among N accounts per participant
 * (seeded with a balance of 1000). A row lock is taken FOR UPDATE NOWAIT,
 * so a conflict aborts at once, as twopc's participants do on a locked key
 * (R5); a balance that would go negative fails the CHECK constraint: a
 * NO vote.
 *
 * --sync group (default): concurrent decisions share one fdatasync, as a
 * real coordinator groups its forced writes (one thread writes and syncs
 * what every waiting thread appended; the others wait for it). --sync each:
 * one fdatasync per committed transaction.
 *
 * Reported (one JSON object with --json, like `twopc bench --json`):
 * committed and aborted per second, p50/p99 latency from BEGIN to the last
 * COMMIT/ROLLBACK PREPARED, decision fdatasyncs per transaction, WAL syncs
 * per transaction read from pg_stat_wal (every server, before and after),
 * and context switches per transaction of the client process and of the
 * PostgreSQL backends serving it (/proc/PID/status). A benchmark helper,
 * not a test: nothing here asserts a speed.
 */
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#define PEER_MAXK 16
#define PEER_BALANCE 1000
#define PEER_SQL 512
#define PEER_LOCKED 1
#define PEER_FUNDS 2

typedef struct peer_opts {
	const char *host, *decisions;
	int port, port_step, conc, dur, k, hot, group, json;
} peer_opts;

/* The decision file: appended by every thread, synced in groups or one by
 * one. */
typedef struct peer_dlog {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int fd, group, flushing, failed;
	char *buf;
	size_t len, cap;
	uint64_t appended, synced, syncs;
} peer_dlog;

typedef struct peer_thread {
	const peer_opts *o;
	peer_dlog *dl;
	pthread_barrier_t *ready, *go;
	const int *cancel;    /* set before go when a connection failed */
	PGconn *conn[PEER_MAXK];
	int id, connect_failed;
	int why;              /* this transaction's failures: PEER_LOCKED|PEER_FUNDS */
	unsigned seed;
	uint32_t *lat_us;
	size_t n, cap;
	size_t committed, aborted, errors, locked, funds;
} peer_thread;

static int64_t
peer_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static PGconn *
peer_connect(const peer_opts *o, int i)
{
	char port[16], db[32];
	snprintf(port, sizeof(port), "%d", o->port + i * o->port_step);
	snprintf(db, sizeof(db), "peer%d", i);
	const char *keys[] = { "host", "port", "dbname", "options", NULL };
	const char *vals[] = { o->host, port, db, "-c client_min_messages=error -c lock_timeout=10s", NULL };
	PGconn *c = PQconnectdbParams(keys, vals, 0);
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "pgpeer: %s: %s", db, PQerrorMessage(c));
		PQfinish(c);
		return NULL;
	}
	return c;
}

/* Run SQL (no result rows wanted); 0 or -1 with the error printed. */
static int
peer_exec(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(r);
	int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
	if (!ok)
		fprintf(stderr, "pgpeer: %s: %s", sql, PQresultErrorMessage(r));
	PQclear(r);
	return ok ? 0 : -1;
}

/* ---- the decision file ---- */

static int
peer_write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w <= 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Append REC and return once it is on disk (0) or the file failed (-1:
 * durability cannot be promised, so the caller stops). */
static int
peer_decide(peer_dlog *d, const char *rec)
{
	size_t n = strlen(rec);
	pthread_mutex_lock(&d->mu);
	if (d->len + n > d->cap) {
		size_t cap = (d->len + n) * 2;
		char *b = realloc(d->buf, cap);
		if (b == NULL) {
			pthread_mutex_unlock(&d->mu);
			return -1;
		}
		d->buf = b;
		d->cap = cap;
	}
	memcpy(d->buf + d->len, rec, n);
	d->len += n;
	uint64_t mine = ++d->appended;
	while (d->synced < mine && !d->failed) {
		if (d->flushing) {
			pthread_cond_wait(&d->cv, &d->mu);
			continue;
		}
		/* This thread syncs everything appended so far (with --sync each,
		 * only its own record is pending: the mutex is held throughout). */
		char *b = d->buf;
		size_t len = d->len;
		uint64_t upto = d->appended;
		d->buf = NULL;
		d->len = d->cap = 0;
		d->flushing = 1;
		if (d->group)
			pthread_mutex_unlock(&d->mu);
		int rc = peer_write_all(d->fd, b, len) == 0 && fdatasync(d->fd) == 0 ? 0 : -1;
		free(b);
		if (d->group)
			pthread_mutex_lock(&d->mu);
		d->flushing = 0;
		d->syncs++;
		if (rc != 0)
			d->failed = 1;
		else
			d->synced = upto;
		pthread_cond_broadcast(&d->cv);
	}
	int rc = d->failed ? -1 : 0;
	pthread_mutex_unlock(&d->mu);
	return rc;
}

/* ---- one transaction ---- */

/* The statements of transaction GID at each participant (empty: not in
 * it). Participant p prepares it as GID.p: a prepared transaction's name
 * is unique in a whole PostgreSQL server, and the participants may be
 * databases of one server. */
static void
peer_work(peer_thread *t, uint64_t i, const char *gid, char sql[][PEER_SQL])
{
	int k = t->o->k;
	for (int p = 0; p < k; p++)
		sql[p][0] = '\0';
	if (t->o->hot == 0) {
		for (int p = 0; p < k; p++)
			snprintf(sql[p], PEER_SQL, "BEGIN; INSERT INTO kv(key, value) VALUES "
			    "('bench-%d-%llu', '%llu') ON CONFLICT (key) DO UPDATE SET value = "
			    "EXCLUDED.value; PREPARE TRANSACTION '%s.%d'", t->id,
			    (unsigned long long)(i % 64), (unsigned long long)i, gid, p);
		return;
	}
	int a = rand_r(&t->seed) % k, b = a;
	if (k > 1)
		b = (a + 1 + rand_r(&t->seed) % (k - 1)) % k;
	int from = rand_r(&t->seed) % t->o->hot, to = rand_r(&t->seed) % t->o->hot;
	if (a == b && to == from)
		to = (from + 1) % t->o->hot;
	if (a == b) {
		snprintf(sql[a], PEER_SQL, "BEGIN; SELECT 1 FROM acct WHERE id IN ('hot-%d', 'hot-%d') "
		    "FOR UPDATE NOWAIT; UPDATE acct SET balance = balance - 1 WHERE id = 'hot-%d'; "
		    "UPDATE acct SET balance = balance + 1 WHERE id = 'hot-%d'; PREPARE TRANSACTION '%s.%d'",
		    from, to, from, to, gid, a);
		return;
	}
	snprintf(sql[a], PEER_SQL, "BEGIN; SELECT 1 FROM acct WHERE id = 'hot-%d' FOR UPDATE NOWAIT; "
	    "UPDATE acct SET balance = balance - 1 WHERE id = 'hot-%d'; PREPARE TRANSACTION '%s.%d'",
	    from, from, gid, a);
	snprintf(sql[b], PEER_SQL, "BEGIN; SELECT 1 FROM acct WHERE id = 'hot-%d' FOR UPDATE NOWAIT; "
	    "UPDATE acct SET balance = balance + 1 WHERE id = 'hot-%d'; PREPARE TRANSACTION '%s.%d'",
	    to, to, gid, b);
}

/* Read every result of the query sent on C: 1 if all succeeded, 0 if one
 * failed (a lock conflict or a negative balance noted in t->why), -1 if
 * the connection is gone. */
static int
peer_collect(peer_thread *t, PGconn *c)
{
	int ok = 1;
	PGresult *r;
	while ((r = PQgetResult(c)) != NULL) {
		ExecStatusType st = PQresultStatus(r);
		if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
			const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
			if (state != NULL && strcmp(state, "55P03") == 0)
				t->why |= PEER_LOCKED;
			else if (state != NULL && strcmp(state, "23514") == 0)
				t->why |= PEER_FUNDS;
			ok = 0;
		}
		PQclear(r);
	}
	return PQstatus(c) == CONNECTION_OK ? ok : -1;
}

/* Send SQL[p] to every participant with one, then collect: the number of
 * participants that failed, or -1 if a connection is gone. OK[p] is set
 * to whether participant p succeeded. */
static int
peer_all(peer_thread *t, char sql[][PEER_SQL], int *ok)
{
	int k = t->o->k, failed = 0, gone = 0;
	for (int p = 0; p < k; p++)
		if (sql[p][0] != '\0' && !PQsendQuery(t->conn[p], sql[p]))
			gone = 1;
	for (int p = 0; p < k; p++) {
		ok[p] = 1;
		if (sql[p][0] == '\0')
			continue;
		int rv = peer_collect(t, t->conn[p]);
		if (rv < 0)
			gone = 1;
		ok[p] = rv == 1;
		failed += rv != 1;
	}
	return gone ? -1 : failed;
}

/* One transaction: 1 committed, 0 aborted, -1 failed (stop the thread). */
static int
peer_txn(peer_thread *t, uint64_t i)
{
	char gid[64], rec[80];
	char sql[PEER_MAXK][PEER_SQL];
	int ok[PEER_MAXK], in[PEER_MAXK], k = t->o->k;
	snprintf(gid, sizeof(gid), "pgpeer-%d-%d-%llu", (int)getpid(), t->id, (unsigned long long)i);
	peer_work(t, i, gid, sql);
	for (int p = 0; p < k; p++)
		in[p] = sql[p][0] != '\0';
	t->why = 0;
	int failed = peer_all(t, sql, ok);
	if (failed < 0)
		return -1;
	t->locked += (t->why & PEER_LOCKED) != 0;
	t->funds += t->why == PEER_FUNDS;
	if (failed == 0) {
		snprintf(rec, sizeof(rec), "COMMIT %s\n", gid);
		if (peer_decide(t->dl, rec) != 0) {
			fprintf(stderr, "pgpeer: the decision file cannot be written or synced\n");
			return -1;
		}
	}
	for (int p = 0; p < k; p++) {
		if (!in[p])
			continue;
		if (failed == 0)
			snprintf(sql[p], PEER_SQL, "COMMIT PREPARED '%s.%d'", gid, p);
		else if (ok[p])
			snprintf(sql[p], PEER_SQL, "ROLLBACK PREPARED '%s.%d'", gid, p);
		else
			snprintf(sql[p], PEER_SQL, "ROLLBACK");
	}
	int again = peer_all(t, sql, ok);
	if (again != 0) {
		fprintf(stderr, "pgpeer: phase two of %s failed at a participant\n", gid);
		return -1;
	}
	return failed == 0;
}

static void
peer_record(peer_thread *t, uint32_t us)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 4096;
		uint32_t *l = realloc(t->lat_us, cap * sizeof(*l));
		if (l == NULL)
			return;
		t->lat_us = l;
		t->cap = cap;
	}
	t->lat_us[t->n++] = us;
}

static void *
peer_run(void *arg)
{
	peer_thread *t = arg;
	for (int p = 0; p < t->o->k; p++)
		if ((t->conn[p] = peer_connect(t->o, p)) == NULL)
			t->connect_failed = 1;
	/* The statistics are flushed to shared memory before the run, so that
	 * the "before" reading of pg_stat_wal holds everything done so far. */
	for (int p = 0; p < t->o->k && !t->connect_failed; p++)
		peer_exec(t->conn[p], "SELECT pg_stat_force_next_flush()");
	pthread_barrier_wait(t->ready);
	pthread_barrier_wait(t->go);
	if (*t->cancel)
		return NULL;
	int64_t end = peer_now_us() + (int64_t)t->o->dur * 1000000;
	for (uint64_t i = 0; peer_now_us() < end; i++) {
		int64_t t0 = peer_now_us();
		int rv = peer_txn(t, i);
		if (rv < 0) {
			t->errors++;
			break;
		}
		rv ? t->committed++ : t->aborted++;
		peer_record(t, (uint32_t)(peer_now_us() - t0));
	}
	for (int p = 0; p < t->o->k; p++)
		if (t->conn[p] != NULL)
			peer_exec(t->conn[p], "SELECT pg_stat_force_next_flush()");
	return NULL;
}

/* ---- setup and measurements ---- */

/* Roll back what an earlier twopc-pgpeer left prepared at C (it was
 * killed between PREPARE and its end): it would hold its row locks for
 * good. Its decisions went with its decision file, and these databases
 * hold benchmark rows only, so rollback is the whole recovery. */
static int
peer_recover(PGconn *c)
{
	char sql[128];
	PGresult *r = PQexec(c, "SELECT gid FROM pg_prepared_xacts WHERE gid LIKE 'pgpeer-%' "
	    "AND database = current_database()");
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		fprintf(stderr, "pgpeer: pg_prepared_xacts: %s", PQresultErrorMessage(r));
		PQclear(r);
		return -1;
	}
	int rc = 0;
	for (int i = 0; i < PQntuples(r) && rc == 0; i++) {
		snprintf(sql, sizeof(sql), "ROLLBACK PREPARED '%.64s'", PQgetvalue(r, i, 0));
		rc = peer_exec(c, sql);
	}
	PQclear(r);
	return rc;
}

/* The tables at every participant, and the hot accounts reset. */
static int
peer_setup(const peer_opts *o, PGconn **admin)
{
	for (int p = 0; p < o->k; p++) {
		if (peer_recover(admin[p]) != 0 || peer_exec(admin[p], "CREATE TABLE IF NOT EXISTS kv(key text PRIMARY KEY, value text)") != 0 ||
		    peer_exec(admin[p], "CREATE TABLE IF NOT EXISTS acct(id text PRIMARY KEY, "
		    "balance bigint NOT NULL CHECK (balance >= 0))") != 0)
			return -1;
		char sql[160];
		for (int j = 0; j < o->hot; j++) {
			snprintf(sql, sizeof(sql), "INSERT INTO acct VALUES ('hot-%d', %d) ON CONFLICT (id) "
			    "DO UPDATE SET balance = EXCLUDED.balance", j, PEER_BALANCE);
			if (peer_exec(admin[p], sql) != 0)
				return -1;
		}
	}
	return 0;
}

/* WAL syncs so far, summed over the distinct servers; -1 if unreadable. */
static long long
peer_wal_syncs(const peer_opts *o, PGconn **admin)
{
	long long sum = 0;
	int servers = o->port_step == 0 ? 1 : o->k;
	for (int p = 0; p < servers; p++) {
		PGresult *r = PQexec(admin[p], "SELECT wal_sync FROM pg_stat_wal");
		int ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
		if (ok)
			sum += atoll(PQgetvalue(r, 0, 0));
		PQclear(r);
		if (!ok)
			return -1;
	}
	return sum;
}

/* Voluntary + involuntary context switches of PID so far (0 if gone). */
static long long
peer_ctxsw_pid(int pid)
{
	char path[64], line[128];
	long long sum = 0, v;
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "voluntary_ctxt_switches: %lld", &v) == 1 ||
		    sscanf(line, "nonvoluntary_ctxt_switches: %lld", &v) == 1)
			sum += v;
	fclose(f);
	return sum;
}

/* Context switches of every backend serving the client threads. */
static long long
peer_ctxsw_servers(peer_thread *th, int conc, int k)
{
	long long sum = 0;
	for (int i = 0; i < conc; i++)
		for (int p = 0; p < k; p++)
			if (th[i].conn[p] != NULL)
				sum += peer_ctxsw_pid(PQbackendPID(th[i].conn[p]));
	return sum;
}

static long long
peer_ctxsw_self(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (long long)ru.ru_nvcsw + ru.ru_nivcsw;
}

static int
peer_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* p50 and p99 in ms of every latency the threads recorded. */
static void
peer_latency(peer_thread *th, int conc, double *p50, double *p99)
{
	size_t n = 0, at = 0;
	for (int i = 0; i < conc; i++)
		n += th[i].n;
	uint32_t *all = malloc((n ? n : 1) * sizeof(*all));
	*p50 = *p99 = 0;
	if (all == NULL || n == 0) {
		free(all);
		return;
	}
	for (int i = 0; i < conc; i++) {
		memcpy(all + at, th[i].lat_us, th[i].n * sizeof(*all));
		at += th[i].n;
	}
	qsort(all, n, sizeof(*all), peer_cmp);
	*p50 = all[n / 2] / 1000.0;
	*p99 = all[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1] / 1000.0;
	free(all);
}

/* ---- the run ---- */

typedef struct peer_result {
	size_t committed, aborted, errors, locked, funds;
	double secs, p50, p99;
	long long wal_syncs, dsyncs, ctx_client, ctx_server;
} peer_result;

static void
peer_print(const peer_opts *o, const peer_result *r)
{
	size_t txns = r->committed + r->aborted;
	double d = txns ? (double)txns : 1;
	double wal = r->wal_syncs < 0 ? -1 : (double)r->wal_syncs / d;
	if (o->json) {
		printf("{\"committed_per_s\":%.1f,\"aborted_per_s\":%.1f,\"abort_rate\":%.4f,\"p50_ms\":%.3f,"
		    "\"p99_ms\":%.3f,\"fsyncs_per_txn\":%.2f,\"wal_syncs_per_txn\":%.2f,"
		    "\"ctxsw_per_txn\":%.2f,\"client_ctxsw_per_txn\":%.2f,\"concurrency\":%d,"
		    "\"participants\":%d,\"hot\":%d,\"duration_s\":%.1f,\"committed\":%zu,\"aborted\":%zu,"
		    "\"aborted_locked\":%zu,\"aborted_funds\":%zu,\"errors\":%zu}\n",
		    r->committed / r->secs, r->aborted / r->secs, txns ? r->aborted / d : 0, r->p50, r->p99,
		    r->dsyncs / d, wal, (r->ctx_client + r->ctx_server) / d, r->ctx_client / d, o->conc,
		    o->k, o->hot, r->secs, r->committed, r->aborted, r->locked, r->funds, r->errors);
		return;
	}
	printf("pgpeer: concurrency %d, %d participants%s, %.1f s\n", o->conc, o->k,
	    o->hot ? ", hot accounts" : "", r->secs);
	printf("  committed/s  %10.1f   (%zu)\n", r->committed / r->secs, r->committed);
	printf("  aborted/s    %10.1f   (%zu: %zu locked, %zu funds; %zu errors)\n", r->aborted / r->secs,
	    r->aborted, r->locked, r->funds, r->errors);
	printf("  p50 latency  %10.3f ms\n  p99 latency  %10.3f ms\n", r->p50, r->p99);
	printf("  fsyncs/txn   %10.2f   (decision fdatasyncs of the client)\n", r->dsyncs / d);
	printf("  WAL syncs/txn%10.2f   (pg_stat_wal wal_sync)\n", wal);
	printf("  ctxsw/txn    %10.2f   (client and backends)\n", (r->ctx_client + r->ctx_server) / d);
}

/* Start the threads, wait for every connection, measure; 0 or -1. */
static int
peer_bench(const peer_opts *o, PGconn **admin, peer_dlog *dl, peer_result *r)
{
	peer_thread *th = calloc((size_t)o->conc, sizeof(*th));
	pthread_t *tids = calloc((size_t)o->conc, sizeof(*tids));
	pthread_barrier_t ready, go;
	int cancel = 0;
	if (th == NULL || tids == NULL)
		return -1;
	pthread_barrier_init(&ready, NULL, (unsigned)o->conc + 1);
	pthread_barrier_init(&go, NULL, (unsigned)o->conc + 1);
	for (int i = 0; i < o->conc; i++) {
		th[i] = (peer_thread){ .o = o, .dl = dl, .ready = &ready, .go = &go, .cancel = &cancel, .id = i,
			.seed = (unsigned)(i * 7919 + getpid()) };
		pthread_create(&tids[i], NULL, peer_run, &th[i]);
	}
	pthread_barrier_wait(&ready);
	for (int i = 0; i < o->conc; i++)
		cancel |= th[i].connect_failed;
	long long wal0 = peer_wal_syncs(o, admin), cs0 = peer_ctxsw_servers(th, o->conc, o->k);
	long long cc0 = peer_ctxsw_self();
	int64_t t0 = peer_now_us();
	pthread_barrier_wait(&go);
	for (int i = 0; i < o->conc; i++) {
		pthread_join(tids[i], NULL);
		r->committed += th[i].committed;
		r->aborted += th[i].aborted;
		r->errors += th[i].errors;
		r->locked += th[i].locked;
		r->funds += th[i].funds;
	}
	r->secs = (double)(peer_now_us() - t0) / 1e6;
	r->ctx_client = peer_ctxsw_self() - cc0;
	r->ctx_server = peer_ctxsw_servers(th, o->conc, o->k) - cs0;
	long long wal1 = peer_wal_syncs(o, admin);
	r->wal_syncs = wal0 < 0 || wal1 < 0 ? -1 : wal1 - wal0;
	r->dsyncs = (long long)dl->syncs;
	peer_latency(th, o->conc, &r->p50, &r->p99);
	for (int i = 0; i < o->conc; i++) {
		for (int p = 0; p < o->k; p++)
			if (th[i].conn[p] != NULL)
				PQfinish(th[i].conn[p]);
		free(th[i].lat_us);
	}
	free(th);
	free(tids);
	return cancel ? -1 : 0;
}

static int
peer_usage(void)
{
	fprintf(stderr, "usage: twopc-pgpeer --host DIR --port P [--port-step S] [--concurrency N] "
	    "[--duration SECONDS] [--participants K] [--hot N] [--sync group|each] "
	    "[--decisions FILE] [--json]\n");
	return 2;
}

static int
peer_parse(int argc, char **argv, peer_opts *o)
{
	static const struct option longopts[] = {
		{ "host", required_argument, NULL, 'H' }, { "port", required_argument, NULL, 'P' },
		{ "port-step", required_argument, NULL, 'S' },
		{ "concurrency", required_argument, NULL, 'c' },
		{ "duration", required_argument, NULL, 'd' },
		{ "participants", required_argument, NULL, 'p' }, { "hot", required_argument, NULL, 'h' },
		{ "sync", required_argument, NULL, 's' }, { "decisions", required_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'j' }, { NULL, 0, NULL, 0 },
	};
	int ch;
	*o = (peer_opts){ .port = 5432, .conc = 1, .dur = 10, .k = 3, .group = 1 };
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'H': o->host = optarg; break;
		case 'P': o->port = atoi(optarg); break;
		case 'S': o->port_step = atoi(optarg); break;
		case 'c': o->conc = atoi(optarg); break;
		case 'd': o->dur = atoi(optarg); break;
		case 'p': o->k = atoi(optarg); break;
		case 'h': o->hot = atoi(optarg); break;
		case 'f': o->decisions = optarg; break;
		case 'j': o->json = 1; break;
		case 's':
			if (strcmp(optarg, "group") != 0 && strcmp(optarg, "each") != 0)
				return -1;
			o->group = strcmp(optarg, "group") == 0;
			break;
		default: return -1;
		}
	}
	if (optind != argc || o->host == NULL || o->port < 1 || o->port_step < 0 || o->conc < 1 ||
	    o->conc > 4096 || o->dur < 1 || o->k < 1 || o->k > PEER_MAXK || o->hot < 0 ||
	    (o->hot == 1 && o->k == 1))
		return -1;
	return 0;
}

int
main(int argc, char **argv)
{
	peer_opts o;
	char path[4096];
	PGconn *admin[PEER_MAXK] = { 0 };
	peer_result r = { 0 };
	peer_dlog dl = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };
	int rc = 1;
	if (peer_parse(argc, argv, &o) != 0)
		return peer_usage();
	dl.group = o.group;
	if (o.decisions == NULL)
		snprintf(path, sizeof(path), "%s/pgpeer-%d.decisions", o.host, (int)getpid());
	dl.fd = open(o.decisions ? o.decisions : path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (dl.fd < 0) {
		perror(o.decisions ? o.decisions : path);
		return 1;
	}
	for (int p = 0; p < o.k; p++)
		if ((admin[p] = peer_connect(&o, p)) == NULL)
			goto out;
	if (peer_setup(&o, admin) != 0 || peer_bench(&o, admin, &dl, &r) != 0)
		goto out;
	peer_print(&o, &r);
	rc = r.errors > 0 && r.committed == 0 ? 3 : 0;
out:
	for (int p = 0; p < o.k; p++)
		if (admin[p] != NULL)
			PQfinish(admin[p]);
	close(dl.fd);
	if (o.decisions == NULL)
		unlink(path);
	return rc;
}
