/*
 * runstate.c - see runstate.h.
 */
#include "runstate.h"

#include "tlog.h"
#include "twopc/error.h"

/* Under r->mtx: wake whoever sleeps on the run state. */
static void
runstate_wake(runstate *r)
{
	pthread_cond_broadcast(&r->cv);
	if (r->wake != NULL)
		pthread_cond_broadcast(r->wake);
}

void
runstate_fail(runstate *r, const char *why)
{
	pthread_mutex_lock(&r->mtx);
	if (!atomic_exchange(&r->failed, 1))
		tlog_error("stopping: %s; nothing more will be promised until restart", why);
	runstate_wake(r);
	pthread_mutex_unlock(&r->mtx);
}

void
runstate_stop(runstate *r)
{
	pthread_mutex_lock(&r->mtx);
	atomic_store(&r->stopping, 1);
	runstate_wake(r);
	pthread_mutex_unlock(&r->mtx);
}

int
runstate_wait(runstate *r)
{
	pthread_mutex_lock(&r->mtx);
	while (!atomic_load(&r->stopping) && !atomic_load(&r->failed))
		pthread_cond_wait(&r->cv, &r->mtx);
	int rv = atomic_load(&r->failed) ? TWOPC_EIO : 0;
	pthread_mutex_unlock(&r->mtx);
	return rv;
}
