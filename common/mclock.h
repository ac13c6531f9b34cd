/*
 * mclock.h - timed waits on the monotonic clock.
 *
 * Contract: a condition variable made by mclock_cond_init() measures its
 * timeouts on CLOCK_MONOTONIC, so a wall-clock step (NTP, an operator's
 * `date -s`) neither stalls a periodic thread nor makes it spin. Ages
 * and durations shown to people are differences of mono_ms();
 * the wall clock is only for timestamps and records that outlive the
 * process.
 */
#ifndef TWOPC_MCLOCK_H
#define TWOPC_MCLOCK_H

#include <pthread.h>
#include <stdint.h>

/* Milliseconds on CLOCK_MONOTONIC, for deadlines and ages. */
int64_t mono_ms(void);

/* pthread_cond_init with CLOCK_MONOTONIC: 0 or an errno value. */
int mclock_cond_init(pthread_cond_t *cv);

/* Wait on CV (made by mclock_cond_init, MTX held) at most MS
 * milliseconds; returns what pthread_cond_timedwait returns (0 when
 * woken, ETIMEDOUT). Spurious wake-ups return 0: callers re-check. */
int mclock_cond_wait_ms(pthread_cond_t *cv, pthread_mutex_t *mtx, long ms);

#endif
