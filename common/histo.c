/*
 * histo.c - the fixed-bucket latency histogram; see histo.h.
 *
 * Buckets are stored apart (not cumulative) so that an observation is one
 * add to one bucket; the cumulative counts the text format wants are
 * summed when read, which happens once per scrape.
 */
#include "histo.h"

#include <time.h>

/* The bounds in nanoseconds and as labels: 0.1 ms .. 2.5 s, 1-2.5-5 steps. */
static const int64_t histo_bound_ns[HISTO_BOUNDS] = {
	100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000, 25000000,
	50000000, 100000000, 250000000, 500000000, 1000000000, 2500000000,
};
static const char *const histo_bound_le[HISTO_BOUNDS + 1] = {
	"0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025",
	"0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf",
};

int64_t
histo_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void
histo_observe_n(histo *h, int64_t ns, uint64_t n)
{
	int i = 0;
	if (ns < 0)
		ns = 0;
	while (i < HISTO_BOUNDS && ns > histo_bound_ns[i])
		i++;
	atomic_fetch_add_explicit(&h->bucket[i], n, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->sum_ns, (uint64_t)ns * n, memory_order_relaxed);
}

void
histo_since(histo *h, int64_t t0)
{
	histo_observe_n(h, histo_now() - t0, 1);
}

void
histo_read(const histo *h, histo_snap *out)
{
	uint64_t run = 0;
	for (int i = 0; i <= HISTO_BOUNDS; i++) {
		run += atomic_load_explicit(&h->bucket[i], memory_order_relaxed);
		out->cum[i] = run;
	}
	out->sum_s = (double)atomic_load_explicit(&h->sum_ns, memory_order_relaxed) / 1e9;
}

const char *
histo_le(int i)
{
	return i >= 0 && i <= HISTO_BOUNDS ? histo_bound_le[i] : "+Inf";
}
