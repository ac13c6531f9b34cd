/*
 * runstate.h - a daemon's run state, shared by the coordinator (coord.h)
 * and the participant library (part.h): asked to stop, or failed (a
 * forced write failed, DESIGN's fail-fast: nothing more is promised until
 * a restart), with the lock and the condition its waiters sleep on.
 *
 * Contract:
 *   - The flags only go from 0 to 1, and only under mtx, with cv (and
 *     *wake, when set) broadcast before mtx is let go: a waiter that
 *     checked them under mtx cannot miss the change.
 *   - They are atomic, so the reads made per request or per transaction
 *     (runstate_failed, runstate_stopping) take no lock.
 *   - mtx and cv are the daemon's main lock and condition: they guard and
 *     signal more than this state (see coord.h and part.h); the daemon
 *     initializes and destroys them (the participant sets cv to the
 *     monotonic clock for its timed waits).
 *
 * Embedding: RUNSTATE_EMBED(run) in a daemon's struct places these
 * members once, under two names: as the runstate `run` (what the
 * functions below take) and directly (c->mtx, c->failed), as the daemon's
 * own files have always used them. It is a union of a named and an
 * anonymous struct with the same members (C11), the kernel's
 * struct_group idiom.
 */
#ifndef TWOPC_RUNSTATE_H
#define TWOPC_RUNSTATE_H

#include <pthread.h>
#include <stdatomic.h>

#define RUNSTATE_MEMBERS                                                        \
	pthread_mutex_t mtx;                                                    \
	pthread_cond_t cv;        /* stopping or failed (and the daemon's own) */ \
	pthread_cond_t *wake;     /* also broadcast on both, if not NULL */       \
	_Atomic int stopping;                                                   \
	_Atomic int failed

typedef struct runstate {
	RUNSTATE_MEMBERS;
} runstate;

#define RUNSTATE_EMBED(name)                                                    \
	union {                                                                 \
		runstate name;                                                  \
		struct {                                                        \
			RUNSTATE_MEMBERS;                                       \
		};                                                              \
	}

/* Fail (fail-fast): logged once, as "stopping: WHY; nothing more will
 * be promised until restart". Takes mtx; any thread. */
void runstate_fail(runstate *r, const char *why);
/* Ask to stop: every waiter wakes. Takes mtx; any thread. */
void runstate_stop(runstate *r);
/* Block until asked to stop (0) or failed (TWOPC_EIO). Takes mtx. */
int runstate_wait(runstate *r);
/* 1 once failed. Lock-free (inline: read per request). */
static inline int
runstate_failed(runstate *r)
{
	return atomic_load(&r->failed);
}

/* 1 once asked to stop or failed. Lock-free. */
static inline int
runstate_stopping(runstate *r)
{
	return atomic_load(&r->stopping) || atomic_load(&r->failed);
}

#endif
