/*
 * stall.c - the watchdog of stall.h. One thread wakes once a second and
 * compares the time of the last mark with the limit. Marks are copied
 * under a mutex that the watchdog holds only to read them, so a stuck
 * program never stops the watchdog from firing.
 *
 * What it prints when it fires, on stderr: one line with the last mark
 * and how long ago it was, then one line of stacks per process (this
 * program and each of its children: the daemons it started), from
 * tests/stacks.sh (found from TWOPC_SRCDIR, else the current directory).
 * gdb may attach to this process from its child where Yama is in force:
 * PR_SET_PTRACER allows it.
 */
#include "stall.h"

#include <dirent.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "mclock.h"

static pthread_mutex_t stall_mtx = PTHREAD_MUTEX_INITIALIZER;
static char stall_where[256] = "starting";
static int64_t stall_at;
static int stall_limit, stall_code;

void
stall_mark(const char *fmt, ...)
{
	char buf[sizeof(stall_where)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&stall_mtx);
	memcpy(stall_where, buf, sizeof(buf));
	stall_at = mono_ms();
	pthread_mutex_unlock(&stall_mtx);
}

/* hc_stacks_pid on PID, into a file named after it. */
static void
stall_stacks(int pid)
{
	char file[600], name[32];
	snprintf(file, sizeof(file), "%s/twopc-stall-stacks-%d.txt",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", pid);
	snprintf(name, sizeof(name), "pid %d", pid);
	hc_stacks_pid(pid, file, name);
}

/* Every process whose parent is this one. */
static void
stall_children(void)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	while (d != NULL && (e = readdir(d)) != NULL) {
		char path[300], stat[512];
		int pid = atoi(e->d_name), ppid = 0;
		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
		FILE *f = fopen(path, "r");
		if (f == NULL)
			continue;
		size_t n = fread(stat, 1, sizeof(stat) - 1, f);
		fclose(f);
		stat[n] = '\0';
		const char *p = strrchr(stat, ')'); /* the name may hold spaces */
		if (p == NULL || sscanf(p + 1, " %*c %d", &ppid) != 1 || ppid != (int)getpid())
			continue;
		char cmd[600] = "";
		snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
		if ((f = fopen(path, "r")) != NULL) {
			n = fread(cmd, 1, sizeof(cmd) - 1, f);
			fclose(f);
			for (size_t k = 0; k < n; k++)
				cmd[k] = cmd[k] == '\0' ? ' ' : cmd[k];
			cmd[n] = '\0';
		}
		fprintf(stderr, "stall: child pid %d: %s\n", pid, cmd);
		stall_stacks(pid);
	}
	if (d != NULL)
		closedir(d);
}

static void *
stall_main(void *arg)
{
	(void)arg;
	for (;;) {
		struct timespec ts = { 1, 0 };
		nanosleep(&ts, NULL);
		char where[sizeof(stall_where)];
		pthread_mutex_lock(&stall_mtx);
		int64_t idle = mono_ms() - stall_at;
		memcpy(where, stall_where, sizeof(where));
		pthread_mutex_unlock(&stall_mtx);
		if (idle < stall_limit)
			continue;
		fflush(stdout);
		fprintf(stderr, "\nstall: no progress for %lld s; last: %s\n", (long long)idle / 1000, where);
		stall_children();
		stall_stacks((int)getpid());
		hc_reap();
		fprintf(stderr, "stall: exiting with status %d\n", stall_code);
		fflush(stderr);
		_exit(stall_code);
	}
	return NULL;
}

void
stall_start(int limit_ms, int code)
{
	pthread_t t;
	const char *env = getenv("TWOPC_STALL_MS");
	stall_limit = env != NULL && atoi(env) > 0 ? atoi(env) : limit_ms;
	stall_code = code;
	stall_at = mono_ms();
#ifdef PR_SET_PTRACER
	(void)prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
#endif
	if (pthread_create(&t, NULL, stall_main, NULL) == 0)
		pthread_detach(t);
}
