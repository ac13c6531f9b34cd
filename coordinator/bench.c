/*
 * bench.c - `twopc bench [--concurrency N] [--duration S] [--participants K]
 * [--hot N] [--sync] [--json]`.
 *
 * N transactions are in flight at all times for S seconds: N slots each
 * submit their next one (twopc_tx_commit_async) from the callback that
 * gives the outcome of the last, as an application driving many
 * transactions from few threads does. With --sync, N client threads each
 * call twopc_tx_commit back to back instead (a thread per transaction in
 * flight: each outcome wakes a thread).
 * Without --hot each transaction puts one key at each of the first K
 * participants; keys are private to a thread (no lock conflicts: this
 * measures the commit path, not contention). With --hot N each transaction
 * is a transfer: `add -1` on a random account hot-<j> at one of the first K
 * participants and `add 1` on a random one at another, among N accounts per
 * participant, seeded with a balance of 1000 before the timed run. Threads
 * then collide on the accounts' locks, and a participant votes ABORT at
 * once on a locked key (R5) or a balance that would go negative: this
 * measures aborts under contention.
 *
 * A slot whose commit fails (no outcome) is started again by the main
 * thread, never from inside the failed call, so an error that repeats
 * does not nest.
 *
 * Latency is from submit to outcome, per transaction. fsyncs and messages
 * per transaction come from the nodes' own counters (STATUS_REQUEST
 * selector 2), read before and after: forced log commits (one WAL fsync
 * each with durability full) and the NNG messages each node sent (a BATCH
 * of many requests or replies is one), plus the messages this client sent
 * for its SUBMITs (concurrent SUBMITs share messages: rpc.h).
 */
#include "bench.h"

#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rpc.h"

#define BENCH_BALANCE "1000"

typedef struct bench_opts {
	int conc, dur, k, hot, json, sync;
	size_t nparts;
} bench_opts;

struct bench_async;

/* A client thread (--sync), or a slot of one transaction in flight. */
typedef struct bench_thread {
	twopc_client *cl;
	const bench_opts *o;
	int id;
	unsigned seed;
	int64_t end_us;
	uint32_t *lat_us;     /* per transaction */
	size_t n, cap;
	size_t committed, aborted, errors, funds;
	struct bench_async *as; /* a slot's: the run it belongs to */
	uint64_t i;             /* ... the number of its next transaction */
	int64_t t0;             /* ... when its transaction in flight left */
} bench_thread;

/* The slots of an asynchronous run. */
typedef struct bench_async {
	pthread_mutex_t mtx;
	pthread_cond_t cv;
	int live;               /* slots not finished */
	bench_thread **parked;  /* slots whose commit failed: the main thread starts them */
	int nparked;
} bench_async;

/* What a run measured, summed over the threads. */
typedef struct bench_result {
	size_t committed, aborted, errors, funds;
	double secs, p50, p99, fsyncs, msgs;
} bench_result;

static int64_t
bench_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The ops of transaction I of thread B: a put per participant, or with
 * --hot a transfer between two participants (one, if K is 1). */
static void
bench_ops(bench_thread *b, uint64_t i, twopc_tx *tx)
{
	char key[32], val[32];
	int k = b->o->k;
	if (b->o->hot == 0) {
		snprintf(key, sizeof(key), "bench-%d-%llu", b->id, (unsigned long long)(i % 64));
		snprintf(val, sizeof(val), "%llu", (unsigned long long)i);
		for (int p = 1; p <= k; p++)
			twopc_tx_add(tx, twopc_client_node(b->cl, (size_t)p), "put", key, val);
		return;
	}
	int from = rand_r(&b->seed) % k, to = from;
	if (k > 1)
		to = (from + 1 + rand_r(&b->seed) % (k - 1)) % k;
	int a = rand_r(&b->seed) % b->o->hot, c = rand_r(&b->seed) % b->o->hot;
	if (from == to && a == c)
		c = (a + 1) % b->o->hot;
	snprintf(key, sizeof(key), "hot-%d", a);
	twopc_tx_add(tx, twopc_client_node(b->cl, (size_t)from + 1), "add", key, "-1");
	snprintf(key, sizeof(key), "hot-%d", c);
	twopc_tx_add(tx, twopc_client_node(b->cl, (size_t)to + 1), "add", key, "1");
}

static void
bench_record(bench_thread *b, uint32_t us)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 4096;
		uint32_t *l = realloc(b->lat_us, cap * sizeof(*l));
		if (l == NULL)
			return;
		b->lat_us = l;
		b->cap = cap;
	}
	b->lat_us[b->n++] = us;
}

/* Count TX's outcome (RV, OUTCOME, T0 to now) in B and free TX. */
static void
bench_count(bench_thread *b, twopc_tx *tx, int rv, int outcome, int64_t t0)
{
	int64_t t1 = bench_now_us();
	if (rv == 0 && outcome != TWOPC_COMMITTED && strstr(twopc_tx_reason(tx), "insufficient funds"))
		b->funds++;
	twopc_tx_free(tx);
	if (rv != 0) {
		b->errors++;
		return;
	}
	if (outcome == TWOPC_COMMITTED)
		b->committed++;
	else
		b->aborted++;
	bench_record(b, (uint32_t)(t1 - t0));
}

static void *
bench_run(void *arg)
{
	bench_thread *b = arg;
	for (uint64_t i = 0; bench_now_us() < b->end_us; i++) {
		twopc_tx *tx;
		int outcome = 0;
		if (twopc_tx_begin(b->cl, NULL, &tx) != 0)
			break;
		bench_ops(b, i, tx);
		int64_t t0 = bench_now_us();
		int rv = twopc_tx_commit(tx, 10000, &outcome);
		bench_count(b, tx, rv, outcome, t0);
	}
	return NULL;
}

static void bench_slot_start(bench_thread *b);

/* Slot B is finished (PARK 0) or waits for the main thread (PARK 1). */
static void
bench_slot_stop(bench_thread *b, int park)
{
	bench_async *as = b->as;
	pthread_mutex_lock(&as->mtx);
	if (park)
		as->parked[as->nparked++] = b;
	else
		as->live--;
	pthread_cond_signal(&as->cv);
	pthread_mutex_unlock(&as->mtx);
}

/* A slot's transaction is over (a library thread): count it, then start
 * the next from here, unless it failed. */
static void
bench_slot_done(twopc_tx *tx, int rv, int outcome, void *arg)
{
	bench_thread *b = arg;
	bench_count(b, tx, rv, outcome, b->t0);
	if (rv != 0)
		bench_slot_stop(b, 1);
	else
		bench_slot_start(b);
}

static void
bench_slot_start(bench_thread *b)
{
	twopc_tx *tx;
	if (bench_now_us() >= b->end_us || twopc_tx_begin(b->cl, NULL, &tx) != 0) {
		bench_slot_stop(b, 0);
		return;
	}
	bench_ops(b, b->i++, tx);
	b->t0 = bench_now_us();
	if (twopc_tx_commit_async(tx, 10000, bench_slot_done, b) != 0) {
		twopc_tx_free(tx);
		b->errors++;
		bench_slot_stop(b, 1);
	}
}

/* Start the slots TH and wait until every one is finished. */
static void
bench_async_run(bench_thread *th, int conc)
{
	bench_async as = { .live = conc };
	as.parked = calloc((size_t)conc, sizeof(*as.parked));
	pthread_mutex_init(&as.mtx, NULL);
	pthread_cond_init(&as.cv, NULL);
	if (as.parked == NULL)
		as.live = 0;
	for (int i = 0; i < conc && as.parked != NULL; i++) {
		th[i].as = &as;
		bench_slot_start(&th[i]);
	}
	pthread_mutex_lock(&as.mtx);
	while (as.live > 0) {
		if (as.nparked == 0) {
			pthread_cond_wait(&as.cv, &as.mtx);
			continue;
		}
		bench_thread *b = as.parked[--as.nparked];
		pthread_mutex_unlock(&as.mtx);
		bench_slot_start(b);
		pthread_mutex_lock(&as.mtx);
	}
	pthread_mutex_unlock(&as.mtx);
	pthread_cond_destroy(&as.cv);
	pthread_mutex_destroy(&as.mtx);
	free(as.parked);
}

static int
bench_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* Sum of the counters over every node; -1 if one cannot be read. */
static int
bench_counters(twopc_client *cl, twopc_counters *sum)
{
	memset(sum, 0, sizeof(*sum));
	for (size_t i = 0; twopc_client_node(cl, i) != NULL; i++) {
		twopc_counters c;
		if (twopc_client_counters(cl, twopc_client_node(cl, i), &c, 2000) != 0)
			return -1;
		sum->forced_writes += c.forced_writes;
		sum->log_commits += c.log_commits;
		sum->requests += c.requests;
		sum->messages_sent += c.messages_sent;
	}
	return 0;
}

/* The median and 99th percentile of the N latencies the CONC threads
 * recorded, in ms (0 when there are none); frees each thread's array. */
static void
bench_latency(bench_thread *th, int conc, size_t n, double *p50, double *p99)
{
	uint32_t *all = malloc((n ? n : 1) * sizeof(*all));
	size_t at = 0;
	for (int i = 0; i < conc; i++) {
		if (all != NULL)
			memcpy(all + at, th[i].lat_us, th[i].n * sizeof(*all));
		at += th[i].n;
		free(th[i].lat_us);
	}
	if (all != NULL && n > 0) {
		qsort(all, n, sizeof(*all), bench_cmp);
		*p50 = all[n / 2] / 1000.0;
		*p99 = all[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1] / 1000.0;
	}
	free(all);
}

/* Put every hot account at its initial balance at the first K
 * participants, one transaction each; 0, or -1 with the reason printed. */
static int
bench_seed(twopc_client *cl, const bench_opts *o)
{
	char key[32];
	for (int p = 1; p <= o->k; p++) {
		twopc_tx *tx;
		int outcome = 0, rv;
		if (twopc_tx_begin(cl, NULL, &tx) != 0)
			return -1;
		for (int j = 0; j < o->hot; j++) {
			snprintf(key, sizeof(key), "hot-%d", j);
			twopc_tx_add(tx, twopc_client_node(cl, (size_t)p), "put", key, BENCH_BALANCE);
		}
		rv = twopc_tx_commit(tx, 10000, &outcome);
		if (rv != 0 || outcome != TWOPC_COMMITTED)
			fprintf(stderr, "twopc bench: seeding the hot accounts at %s failed: %s\n",
			    twopc_client_node(cl, (size_t)p), rv != 0 ? "no outcome" : twopc_tx_reason(tx));
		twopc_tx_free(tx);
		if (rv != 0 || outcome != TWOPC_COMMITTED)
			return -1;
	}
	return 0;
}

/* Run the threads for the duration and fill R; -1 if out of memory. */
static int
bench_threads(twopc_client *cl, const bench_opts *o, bench_result *r)
{
	bench_thread *th = calloc((size_t)o->conc, sizeof(*th));
	pthread_t *tids = calloc((size_t)o->conc, sizeof(*tids));
	if (th == NULL || tids == NULL) {
		free(th);
		free(tids);
		return -1;
	}
	int64_t t0 = bench_now_us();
	for (int i = 0; i < o->conc; i++) {
		th[i] = (bench_thread){ .cl = cl, .o = o, .id = i, .seed = (unsigned)(i * 7919 + t0),
			.end_us = t0 + (int64_t)o->dur * 1000000 };
		if (o->sync)
			pthread_create(&tids[i], NULL, bench_run, &th[i]);
	}
	if (!o->sync)
		bench_async_run(th, o->conc);
	size_t n = 0;
	for (int i = 0; i < o->conc; i++) {
		if (o->sync)
			pthread_join(tids[i], NULL);
		r->committed += th[i].committed;
		r->aborted += th[i].aborted;
		r->errors += th[i].errors;
		r->funds += th[i].funds;
		n += th[i].n;
	}
	r->secs = (double)(bench_now_us() - t0) / 1e6;
	bench_latency(th, o->conc, n, &r->p50, &r->p99);
	free(th);
	free(tids);
	return 0;
}

static void
bench_print(const bench_opts *o, const bench_result *r)
{
	size_t txns = r->committed + r->aborted;
	double rate = txns ? (double)r->aborted / (double)txns : 0;
	if (o->json) {
		printf("{\"committed_per_s\":%.1f,\"aborted_per_s\":%.1f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,"
		    "\"fsyncs_per_txn\":%.2f,\"messages_per_txn\":%.2f,\"concurrency\":%d,"
		    "\"participants\":%d,\"duration_s\":%.1f,\"committed\":%zu,\"aborted\":%zu,"
		    "\"errors\":%zu,\"hot\":%d,\"abort_rate\":%.4f,\"aborted_funds\":%zu}\n",
		    r->committed / r->secs, r->aborted / r->secs, r->p50, r->p99, r->fsyncs, r->msgs, o->conc,
		    o->k, r->secs, r->committed, r->aborted, r->errors, o->hot, rate, r->funds);
		return;
	}
	printf("concurrency %d, %d participants%s, %.1f s\n", o->conc, o->k,
	    o->hot ? ", transfers among hot accounts" : "", r->secs);
	printf("  committed/s  %10.1f   (%zu)\n", r->committed / r->secs, r->committed);
	printf("  aborted/s    %10.1f   (%zu, %.1f%%, %zu of them for funds; %zu errors)\n",
	    r->aborted / r->secs, r->aborted, 100 * rate, r->funds, r->errors);
	printf("  p50 latency  %10.3f ms\n", r->p50);
	printf("  p99 latency  %10.3f ms\n", r->p99);
	printf("  fsyncs/txn   %10.2f   (forced log writes, all nodes)\n", r->fsyncs);
	printf("  messages/txn %10.2f   (NNG messages sent by every node and this client)\n", r->msgs);
}

/* The options into O; -1 on a bad one (the usage is then printed). */
static int
bench_parse(twopc_client *cl, int argc, char **argv, bench_opts *o)
{
	static const struct option longopts[] = {
		{ "concurrency", required_argument, NULL, 'c' },
		{ "duration", required_argument, NULL, 'd' },
		{ "participants", required_argument, NULL, 'p' },
		{ "hot", required_argument, NULL, 'h' },
		{ "json", no_argument, NULL, 'j' },
		{ "sync", no_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;
	*o = (bench_opts){ .conc = 1, .dur = 10 };
	optind = 1;
	while ((ch = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': o->conc = atoi(optarg); break;
		case 'd': o->dur = atoi(optarg); break;
		case 'p': o->k = atoi(optarg); break;
		case 'h': o->hot = atoi(optarg); break;
		case 'j': o->json = 1; break;
		case 's': o->sync = 1; break;
		default: return -1;
		}
	}
	while (twopc_client_node(cl, o->nparts + 1) != NULL)
		o->nparts++;
	if (o->k == 0)
		o->k = (int)o->nparts;
	if (optind != argc || o->conc < 1 || o->conc > 4096 || o->dur < 1 || o->k < 1 ||
	    (size_t)o->k > o->nparts || o->hot < 0 || o->hot > 100000 || (o->hot == 1 && o->k == 1))
		return -1;
	return 0;
}

int
bench_main(twopc_client *cl, int argc, char **argv)
{
	bench_opts o;
	bench_result r = { 0 };
	twopc_counters before, after;
	if (bench_parse(cl, argc, argv, &o) != 0) {
		fprintf(stderr, "usage: twopc -c FILE bench [--concurrency N] [--duration SECONDS] "
		    "[--participants K] [--hot N] [--sync] [--json]\n");
		return 2;
	}
	if (o.hot > 0 && bench_seed(cl, &o) != 0)
		return 3;
	int have = bench_counters(cl, &before) == 0;
	uint64_t mine = rpc_messages_sent();
	if (bench_threads(cl, &o, &r) != 0)
		return 3;
	mine = rpc_messages_sent() - mine;
	have = have && bench_counters(cl, &after) == 0;
	size_t txns = r.committed + r.aborted;
	r.fsyncs = have && txns ? (double)(after.forced_writes - before.forced_writes) / (double)txns : -1;
	/* Every node's reply to the first counter read is sent after its
	 * count was taken, so it is in the difference: take it out. */
	size_t nodes = 0;
	while (twopc_client_node(cl, nodes) != NULL)
		nodes++;
	double sent = (double)(after.messages_sent - before.messages_sent) - (double)nodes +
	    (double)mine;
	r.msgs = have && txns ? sent / (double)txns : -1;
	bench_print(&o, &r);
	return r.errors > 0 && r.committed == 0 ? 3 : 0;
}
