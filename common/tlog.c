/*
 * tlog.c - see tlog.h.
 */
#include "tlog.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t tlog_mtx = PTHREAD_MUTEX_INITIALIZER;
static tlog_sink tlog_fn;
static void *tlog_user;
static int tlog_max = TLOG_INFO;
static char tlog_name[64] = "twopc";

void
tlog_set_sink(tlog_sink sink, void *user, int level)
{
	pthread_mutex_lock(&tlog_mtx);
	tlog_fn = sink;
	tlog_user = user;
	tlog_max = level;
	pthread_mutex_unlock(&tlog_mtx);
}

void
tlog_set_level(int level)
{
	pthread_mutex_lock(&tlog_mtx);
	tlog_max = level;
	pthread_mutex_unlock(&tlog_mtx);
}

const char *
tlog_level_name(int level)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };
	return names[level < 0 ? 0 : level > 3 ? 3 : level];
}

void
tlog_set_name(const char *name)
{
	pthread_mutex_lock(&tlog_mtx);
	snprintf(tlog_name, sizeof(tlog_name), "%s", name);
	pthread_mutex_unlock(&tlog_mtx);
}

size_t
tlog_timestamp(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	char when[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	/* (int)(... % 1000): the compiler cannot know tv_nsec < 1e9, and at
	 * -O3 would warn that the milliseconds might not fit. */
	int n = snprintf(buf, len, "%s.%03dZ", when, (int)(ts.tv_nsec / 1000000L % 1000));
	return n < 0 ? 0 : (size_t)n;
}

void
tlog_stderr_sink(void *user, int level, const char *line)
{
	static const char *const lv[] = { "ERROR", "WARN", "INFO", "DEBUG" };
	char when[40];

	(void)user;
	tlog_timestamp(when, sizeof(when));
	fprintf(stderr, "%s %s %s %s\n", when, tlog_name,
	    lv[level < 0 ? 0 : level > 3 ? 3 : level], line);
}

size_t
tlog_escape(char *dst, size_t len, const char *src)
{
	static const char hex[] = "0123456789abcdef";
	size_t at = 0;
	if (len == 0)
		return 0;
	for (const unsigned char *p = (const unsigned char *)src; *p != '\0'; p++) {
		if (*p >= 0x20 && *p < 0x7f && *p != '\\') {
			if (at + 1 >= len)
				break;
			dst[at++] = (char)*p;
			continue;
		}
		if (at + 4 >= len)
			break;
		dst[at++] = '\\';
		dst[at++] = 'x';
		dst[at++] = hex[*p >> 4];
		dst[at++] = hex[*p & 15];
	}
	dst[at] = '\0';
	return at;
}

void
tlog(int level, const char *fmt, ...)
{
	char raw[1024], line[sizeof(raw) * 4];
	va_list ap;

	pthread_mutex_lock(&tlog_mtx);
	if (tlog_fn == NULL || level > tlog_max) {
		pthread_mutex_unlock(&tlog_mtx);
		return;
	}
	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	/* The whole line, not each argument: every path of peer text into
	 * the log is covered, including ones added later. */
	tlog_escape(line, sizeof(line), raw);
	/* Held across the sink so lines from different threads never mix. */
	tlog_fn(tlog_user, level, line);
	pthread_mutex_unlock(&tlog_mtx);
}

/* The steps every committed transaction takes: logged at DEBUG (-v), so
 * that a busy node does not write a line per step of every transaction;
 * every other step (an ABORT and its reason, a heuristic outcome, a
 * recovery's) stays at INFO. */
static int
tlog_routine(const char *old, const char *new_)
{
	static const char *const routine[][2] = {
		{ "NONE", "WAIT" }, { "WAIT", "COMMIT" }, { "COMMIT", "END" }, { "WAIT", "END" },
		{ "NONE", "INIT" }, { "INIT", "READY" }, { "READY", "COMMIT" },
		{ "INIT", "COMMIT" }, { "INIT", "READ-ONLY" }, { "NONE", "READY" },
	};
	for (size_t i = 0; i < sizeof(routine) / sizeof(routine[0]); i++)
		if (strcmp(old, routine[i][0]) == 0 && strcmp(new_, routine[i][1]) == 0)
			return 1;
	return 0;
}

void
tlog_state(const char *txid, const char *old, const char *new_, const char *why)
{
	tlog(tlog_routine(old, new_) ? TLOG_DEBUG : TLOG_INFO, "%s: %s -> %s%s%s%s", txid, old,
	    new_, why ? " (" : "", why ? why : "", why ? ")" : "");
}
