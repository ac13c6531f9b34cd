/*
 * tmr.c - see tmr.h.
 *
 * Invariants (under tmr_mtx): tmr_head lists the pending timers by
 * deadline, earliest first; tmr_running is the timer whose function runs
 * now (NULL: none); the thread sleeps until tmr_head's deadline, and an
 * arm that becomes the new head wakes it so it sleeps again to the
 * earlier one.
 */
#include "tmr.h"

#include <pthread.h>
#include <time.h>

#include "mclock.h"

static pthread_mutex_t tmr_mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t tmr_cv;     /* the head changed (CLOCK_MONOTONIC) */
static pthread_cond_t tmr_done;   /* a function returned */
static tmr *tmr_head;
static tmr *tmr_running;
static pthread_t tmr_thread;
static int tmr_started;           /* 1 running, -1 could not start */

static int64_t
tmr_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void
tmr_unlink(tmr *t)
{
	tmr **pp = &tmr_head;
	while (*pp != NULL && *pp != t)
		pp = &(*pp)->next;
	if (*pp == t)
		*pp = t->next;
	t->next = NULL;
	t->pending = 0;
}

static void *
tmr_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&tmr_mtx);
	for (;;) {
		tmr *t = tmr_head;
		if (t == NULL) {
			pthread_cond_wait(&tmr_cv, &tmr_mtx);
			continue;
		}
		if (t->due_ns > tmr_now_ns()) {
			struct timespec ts = { (time_t)(t->due_ns / 1000000000),
			    (long)(t->due_ns % 1000000000) };
			(void)pthread_cond_timedwait(&tmr_cv, &tmr_mtx, &ts);
			continue;
		}
		tmr_head = t->next;
		t->next = NULL;
		t->pending = 0;
		tmr_running = t;
		pthread_mutex_unlock(&tmr_mtx);
		t->fn(t->arg);
		pthread_mutex_lock(&tmr_mtx);
		tmr_running = NULL;
		pthread_cond_broadcast(&tmr_done);
	}
	return NULL;
}

/* tmr_mtx held. */
static int
tmr_start(void)
{
	if (tmr_started != 0)
		return tmr_started > 0 ? 0 : -1;
	tmr_started = -1;
	if (mclock_cond_init(&tmr_cv) != 0)
		return -1;
	if (pthread_cond_init(&tmr_done, NULL) != 0) {
		pthread_cond_destroy(&tmr_cv);
		return -1;
	}
	pthread_attr_t a;
	int rv = pthread_attr_init(&a);
	if (rv == 0) {
		pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
		rv = pthread_create(&tmr_thread, &a, tmr_main, NULL);
		pthread_attr_destroy(&a);
	}
	if (rv != 0) {
		pthread_cond_destroy(&tmr_done);
		pthread_cond_destroy(&tmr_cv);
		return -1;
	}
	tmr_started = 1;
	return 0;
}

void
tmr_init(tmr *t, tmr_fn fn, void *arg)
{
	*t = (tmr)TMR_INIT(fn, arg);
}

int
tmr_arm(tmr *t, uint32_t ms)
{
	pthread_mutex_lock(&tmr_mtx);
	if (tmr_start() != 0) {
		pthread_mutex_unlock(&tmr_mtx);
		return -1;
	}
	if (t->pending)
		tmr_unlink(t);
	t->due_ns = tmr_now_ns() + (int64_t)ms * 1000000;
	tmr **pp = &tmr_head;
	while (*pp != NULL && (*pp)->due_ns <= t->due_ns)
		pp = &(*pp)->next;
	t->next = *pp;
	*pp = t;
	t->pending = 1;
	if (tmr_head == t)
		pthread_cond_signal(&tmr_cv);
	pthread_mutex_unlock(&tmr_mtx);
	return 0;
}

void
tmr_stop(tmr *t)
{
	pthread_mutex_lock(&tmr_mtx);
	if (t->pending)
		tmr_unlink(t);
	while (tmr_running == t && !pthread_equal(pthread_self(), tmr_thread))
		pthread_cond_wait(&tmr_done, &tmr_mtx);
	pthread_mutex_unlock(&tmr_mtx);
}
