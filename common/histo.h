/*
 * histo.h - a latency histogram for /metrics: fixed buckets from 0.1 ms
 * to 2.5 s (and +Inf), counted with relaxed atomics, so an observation
 * on a hot path costs a clock read and two atomic adds, never a lock.
 *
 * Durations are nanoseconds on CLOCK_MONOTONIC (histo_now): a wall-clock
 * step neither adds nor hides latency. A reader (histo_read) sees each
 * bucket exactly and the sum as of about the same moment; the count is
 * the sum of the buckets, so it always agrees with the +Inf bucket. A
 * zeroed histo (static, calloc) is empty and ready.
 */
#ifndef TWOPC_HISTO_H
#define TWOPC_HISTO_H

#include <stdatomic.h>
#include <stdint.h>

/* Upper bounds of the finite buckets; one more bucket holds the rest. */
#define HISTO_BOUNDS 14

typedef struct histo {
	_Atomic uint64_t bucket[HISTO_BOUNDS + 1]; /* not cumulative */
	_Atomic uint64_t sum_ns;
} histo;

/* A reading: cumulative counts (cum[HISTO_BOUNDS] is the +Inf bucket,
 * the count), the sum in seconds. */
typedef struct histo_snap {
	uint64_t cum[HISTO_BOUNDS + 1];
	double sum_s;
} histo_snap;

/* Now on CLOCK_MONOTONIC, in nanoseconds. */
int64_t histo_now(void);

/* Count N observations of NS nanoseconds each (negative counts as 0):
 * N requests answered together (a BATCH) took the same time. */
void histo_observe_n(histo *h, int64_t ns, uint64_t n);

/* One observation of the time since T0 (a histo_now()). */
void histo_since(histo *h, int64_t t0);

/* Read H (any thread, while others observe). */
void histo_read(const histo *h, histo_snap *out);

/* Bucket I's "le" label, in seconds as Prometheus writes them ("0.0001",
 * ..., "2.5", "+Inf" for I == HISTO_BOUNDS). */
const char *histo_le(int i);

#endif
