/*
 * tlimit.h - rate-limited logging of one kind of event (a malformed
 * message, a refused one), so that a peer sending garbage or forged
 * messages cannot fill a node's log or disk.
 *
 * Contract: a tlimit is a static object, one per kind of event. Every
 * event is counted (tlimit_count) whether or not it is logged. In each
 * interval of TLIMIT_INTERVAL_S seconds the first TLIMIT_BURST events are
 * logged as the caller formats them; the rest are only counted, and the
 * first event after the interval (logged or not) first writes one line
 * "WHAT (K more suppressed in the last S s)". A flood that stops is so
 * summed up by the next event of its kind; its total is always in the
 * counters of STATUS_REQUEST which = 2 (serve.h). Callable from any
 * thread; never blocks beyond the tlimit's own mutex and tlog's.
 */
#ifndef TWOPC_TLIMIT_H
#define TWOPC_TLIMIT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#define TLIMIT_BURST 10      /* lines of one kind per interval */
#define TLIMIT_INTERVAL_S 60

typedef struct tlimit {
	pthread_mutex_t mtx;
	const char *what;         /* names the kind in the summary line */
	int64_t interval_ms;      /* TLIMIT_INTERVAL_S s (a test may shorten it) */
	int64_t start_ms;         /* the interval's start (monotonic); 0: none yet */
	unsigned passed;          /* lines logged in the interval */
	uint64_t suppressed;      /* events not logged in it */
	atomic_uint_fast64_t total;
} tlimit;

#define TLIMIT_INIT(what) \
	{ PTHREAD_MUTEX_INITIALIZER, (what), (int64_t)TLIMIT_INTERVAL_S * 1000, 0, 0, 0, 0 }

/* Count one event of T's kind and log it at LEVEL unless its interval's
 * burst is spent (see above). */
void tlimit_log(tlimit *t, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Every event counted so far. */
uint64_t tlimit_count(tlimit *t);

#endif
