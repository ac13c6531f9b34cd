/*
 * tmr.h - short timers on the hot path: a function called once at a
 * deadline, on one timer thread per process.
 *
 * Why not nng_sleep_aio: NNG 1.5.2's expire thread wakes exactly at a
 * deadline's millisecond and then compares millisecond clocks with '<',
 * so it spins until the clock turns over: up to a millisecond of CPU for
 * every timed aio that expires. A channel's linger (2 ms, several hundred
 * times a second under load) cost the coordinator 7-9 us of CPU per
 * transaction that way. This thread sleeps on CLOCK_MONOTONIC to the
 * nanosecond and never spins.
 *
 * Contract:
 * - tmr_arm schedules T's function after MS milliseconds; arming a
 *   pending timer moves it. The function runs on the timer thread,
 *   without any lock of this module held: it may arm timers (its own
 *   too) but must not block for long, as every other timer waits.
 * - tmr_stop returns when T is not pending and its function is not
 *   running (called from T's own function, it does not wait for itself).
 *   After it, T may be freed unless someone arms it again.
 * - The thread starts at the first tmr_arm and lives as long as the
 *   process. Timers are kept in a list ordered by deadline: meant for a
 *   few dozen at a time (a linger per peer, a backoff per waiting
 *   transaction), not thousands.
 */
#ifndef TWOPC_TMR_H
#define TWOPC_TMR_H

#include <stdint.h>

typedef void (*tmr_fn)(void *arg);

typedef struct tmr {
	tmr_fn fn;
	void *arg;
	int64_t due_ns;     /* CLOCK_MONOTONIC */
	int pending;        /* in the list */
	struct tmr *next;
} tmr;

#define TMR_INIT(fn, arg) { (fn), (arg), 0, 0, NULL }

void tmr_init(tmr *t, tmr_fn fn, void *arg);
/* 0, or -1 when the timer thread cannot be started (then nothing is
 * scheduled and the caller goes on without waiting). */
int tmr_arm(tmr *t, uint32_t ms);
void tmr_stop(tmr *t);

#endif
