/*
 * notify.c - see notify.h.
 */
#include "notify.h"

#include <pthread.h>
#include <stdio.h>

#include <systemd/sd-daemon.h>

#include "mclock.h"
#include "tlog.h"

static struct {
	pthread_mutex_t mtx;
	pthread_cond_t cv;        /* monotonic: the thread's timed wait */
	pthread_t thread;
	int running;
	int stop;
	long period_ms;
	notify_progress_fn progress;
	void *arg;
} notify_wd = { .mtx = PTHREAD_MUTEX_INITIALIZER };

static void
notify_send(const char *msg)
{
	int rv = sd_notify(0, msg);
	if (rv < 0)
		tlog_debug("sd_notify(%s): error %d", msg, -rv);
}

void
notify_ready(const char *what)
{
	char msg[512];
	snprintf(msg, sizeof(msg), "READY=1\nSTATUS=%s", what);
	notify_send(msg);
}

void
notify_stopping(void)
{
	notify_send("STOPPING=1\nSTATUS=stopping");
}

/* The watchdog thread: pings while PROGRESS grows. A stall is logged
 * once when it begins and once when it ends, not at every look. */
static void *
notify_wd_main(void *unused)
{
	(void)unused;
	uint64_t last = notify_wd.progress(notify_wd.arg);
	int stalled = 0, looks = 0;

	pthread_mutex_lock(&notify_wd.mtx);
	while (!notify_wd.stop) {
		(void)mclock_cond_wait_ms(&notify_wd.cv, &notify_wd.mtx, notify_wd.period_ms);
		if (notify_wd.stop)
			break;
		uint64_t now = notify_wd.progress(notify_wd.arg);
		if (now != last) {
			notify_send("WATCHDOG=1");
			if (stalled)
				tlog_info("watchdog: the periodic work moves again");
			last = now;
			stalled = looks = 0;
		} else if (++looks == 3 && !stalled) {
			/* Three quarters of the period without a pass: one more
			 * and the service manager restarts the daemon. */
			stalled = 1;
			tlog_warn("watchdog: no periodic pass completed for %ld ms; not telling "
			    "the service manager that all is well", 3 * notify_wd.period_ms);
		}
	}
	pthread_mutex_unlock(&notify_wd.mtx);
	return NULL;
}

int
notify_watchdog_start(notify_progress_fn progress, void *arg)
{
	uint64_t usec = 0;
	if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
		return 0;
	notify_wd.progress = progress;
	notify_wd.arg = arg;
	notify_wd.period_ms = (long)(usec / 4000);
	if (notify_wd.period_ms < 1)
		notify_wd.period_ms = 1;
	int rv = mclock_cond_init(&notify_wd.cv);
	if (rv != 0)
		return rv;
	if ((rv = pthread_create(&notify_wd.thread, NULL, notify_wd_main, NULL)) != 0) {
		pthread_cond_destroy(&notify_wd.cv);
		return rv;
	}
	notify_wd.running = 1;
	tlog_debug("watchdog: every %ld ms while the periodic work makes progress",
	    notify_wd.period_ms);
	return 0;
}

void
notify_watchdog_stop(void)
{
	if (!notify_wd.running)
		return;
	pthread_mutex_lock(&notify_wd.mtx);
	notify_wd.stop = 1;
	pthread_cond_broadcast(&notify_wd.cv);
	pthread_mutex_unlock(&notify_wd.mtx);
	pthread_join(notify_wd.thread, NULL);
	pthread_cond_destroy(&notify_wd.cv);
	notify_wd.running = 0;
}

int
notify_serve(const char *what, notify_progress_fn progress, notify_wait_fn wait, void *arg)
{
	notify_ready(what);
	if (notify_watchdog_start(progress, arg) != 0)
		tlog_warn("watchdog: cannot start its thread; systemd's watchdog will fire");
	int rv = wait(arg);
	notify_watchdog_stop();
	return rv;
}
