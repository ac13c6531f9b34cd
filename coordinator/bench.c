/*
 * bench.c - `twopc bench [--concurrency N] [--duration S] [--participants K]
 * [--json]`.
 *
 * N client threads each submit transactions back to back for S seconds;
 * each transaction puts one key at each of the first K participants. Keys
 * are private to a thread (no lock conflicts: this measures the commit
 * path, not contention). Latency is from submit to outcome, per
 * transaction. fsyncs and messages per transaction come from the nodes'
 * own counters (STATUS_REQUEST selector 2), read before and after:
 * forced log commits (one WAL fsync each with durability full) and
 * requests served (each a request and its reply: two messages).
 */
#include "bench.h"

#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct bench_thread {
	twopc_client *cl;
	int id, k;
	int64_t end_us;
	uint32_t *lat_us;     /* per transaction */
	size_t n, cap;
	size_t committed, aborted, errors;
} bench_thread;

static int64_t
bench_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void *
bench_run(void *arg)
{
	bench_thread *b = arg;
	char key[32], val[32];
	for (uint64_t i = 0; bench_now_us() < b->end_us; i++) {
		twopc_tx *tx;
		int outcome = 0;
		if (twopc_tx_begin(b->cl, NULL, &tx) != 0)
			break;
		snprintf(key, sizeof(key), "bench-%d-%llu", b->id, (unsigned long long)(i % 64));
		snprintf(val, sizeof(val), "%llu", (unsigned long long)i);
		for (int p = 1; p <= b->k; p++)
			twopc_tx_add(tx, twopc_client_node(b->cl, (size_t)p), "put", key, val);
		int64_t t0 = bench_now_us();
		int rv = twopc_tx_commit(tx, 10000, &outcome);
		int64_t t1 = bench_now_us();
		twopc_tx_free(tx);
		if (rv != 0) {
			b->errors++;
			continue;
		}
		if (outcome == TWOPC_COMMITTED)
			b->committed++;
		else
			b->aborted++;
		if (b->n == b->cap) {
			size_t cap = b->cap ? b->cap * 2 : 4096;
			uint32_t *l = realloc(b->lat_us, cap * sizeof(*l));
			if (l == NULL)
				continue;
			b->lat_us = l;
			b->cap = cap;
		}
		b->lat_us[b->n++] = (uint32_t)(t1 - t0);
	}
	return NULL;
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

int
bench_main(twopc_client *cl, int argc, char **argv)
{
	int conc = 1, dur = 10, k = 0, json = 0, ch;
	static const struct option longopts[] = {
		{ "concurrency", required_argument, NULL, 'c' },
		{ "duration", required_argument, NULL, 'd' },
		{ "participants", required_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	optind = 1;
	while ((ch = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': conc = atoi(optarg); break;
		case 'd': dur = atoi(optarg); break;
		case 'p': k = atoi(optarg); break;
		case 'j': json = 1; break;
		default: goto usage;
		}
	}
	size_t nparts = 0;
	while (twopc_client_node(cl, nparts + 1) != NULL)
		nparts++;
	if (k == 0)
		k = (int)nparts;
	if (optind != argc || conc < 1 || conc > 4096 || dur < 1 || k < 1 || (size_t)k > nparts)
		goto usage;

	twopc_counters before, after;
	int have = bench_counters(cl, &before) == 0;
	bench_thread *th = calloc((size_t)conc, sizeof(*th));
	pthread_t *tids = calloc((size_t)conc, sizeof(*tids));
	if (th == NULL || tids == NULL)
		return 3;
	int64_t t0 = bench_now_us();
	for (int i = 0; i < conc; i++) {
		th[i] = (bench_thread){ .cl = cl, .id = i, .k = k, .end_us = t0 + (int64_t)dur * 1000000 };
		pthread_create(&tids[i], NULL, bench_run, &th[i]);
	}
	size_t committed = 0, aborted = 0, errors = 0, n = 0;
	for (int i = 0; i < conc; i++) {
		pthread_join(tids[i], NULL);
		committed += th[i].committed;
		aborted += th[i].aborted;
		errors += th[i].errors;
		n += th[i].n;
	}
	double secs = (double)(bench_now_us() - t0) / 1e6;
	have = have && bench_counters(cl, &after) == 0;
	double p50 = 0, p99 = 0;
	bench_latency(th, conc, n, &p50, &p99);
	size_t txns = committed + aborted;
	double fsyncs = have && txns ? (double)(after.forced_writes - before.forced_writes) / (double)txns : -1;
	/* The counter requests of this run are themselves served requests. */
	double msgs = have && txns ? 2.0 * ((double)(after.requests - before.requests) -
	    (double)(nparts + 1)) / (double)txns : -1;
	if (json) {
		printf("{\"committed_per_s\":%.1f,\"aborted_per_s\":%.1f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,"
		    "\"fsyncs_per_txn\":%.2f,\"messages_per_txn\":%.2f,\"concurrency\":%d,"
		    "\"participants\":%d,\"duration_s\":%.1f,\"committed\":%zu,\"aborted\":%zu,"
		    "\"errors\":%zu}\n", committed / secs, aborted / secs, p50, p99, fsyncs, msgs, conc, k,
		    secs, committed, aborted, errors);
	} else {
		printf("concurrency %d, %d participants, %.1f s\n", conc, k, secs);
		printf("  committed/s  %10.1f   (%zu)\n", committed / secs, committed);
		printf("  aborted/s    %10.1f   (%zu; %zu errors)\n", aborted / secs, aborted, errors);
		printf("  p50 latency  %10.3f ms\n", p50);
		printf("  p99 latency  %10.3f ms\n", p99);
		printf("  fsyncs/txn   %10.2f   (forced log writes, all nodes)\n", fsyncs);
		printf("  messages/txn %10.2f   (requests and replies, all nodes)\n", msgs);
	}
	free(th);
	free(tids);
	return errors > 0 && committed == 0 ? 3 : 0;
usage:
	fprintf(stderr, "usage: twopc -c FILE bench [--concurrency N] [--duration SECONDS] "
	    "[--participants K] [--json]\n");
	return 2;
}
