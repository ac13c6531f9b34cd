/*
 * tlimit.c - see tlimit.h.
 */
#include "tlimit.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "tlog.h"

static int64_t
tlimit_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
tlimit_log(tlimit *t, int level, const char *fmt, ...)
{
	char line[1024];
	uint64_t held = 0;
	int64_t span = 0;

	atomic_fetch_add_explicit(&t->total, 1, memory_order_relaxed);
	int64_t now = tlimit_now_ms();
	pthread_mutex_lock(&t->mtx);
	if (t->start_ms == 0 || now - t->start_ms >= t->interval_ms) {
		held = t->suppressed;
		span = t->start_ms == 0 ? 0 : now - t->start_ms;
		t->start_ms = now;
		t->passed = 0;
		t->suppressed = 0;
	}
	int pass = t->passed < TLIMIT_BURST;
	if (pass)
		t->passed++;
	else
		t->suppressed++;
	pthread_mutex_unlock(&t->mtx);
	/* Outside the mutex: tlog takes its own, and a slow sink must not
	 * hold the events that are only counted. */
	if (held > 0)
		tlog(level, "%s (%llu more suppressed in the last %lld s)", t->what,
		    (unsigned long long)held, (long long)((span + 999) / 1000));
	if (!pass)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	tlog(level, "%s", line);
}

uint64_t
tlimit_count(tlimit *t)
{
	return atomic_load(&t->total);
}
