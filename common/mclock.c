/*
 * mclock.c - see mclock.h.
 */
#include "mclock.h"

#include <time.h>

int
mclock_cond_init(pthread_cond_t *cv)
{
	pthread_condattr_t a;
	int rv = pthread_condattr_init(&a);
	if (rv != 0)
		return rv;
	rv = pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	if (rv == 0)
		rv = pthread_cond_init(cv, &a);
	pthread_condattr_destroy(&a);
	return rv;
}

int
mclock_cond_wait_ms(pthread_cond_t *cv, pthread_mutex_t *mtx, long ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	ts.tv_sec += ts.tv_nsec / 1000000000L;
	ts.tv_nsec %= 1000000000L;
	return pthread_cond_timedwait(cv, mtx, &ts);
}

int64_t
mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
