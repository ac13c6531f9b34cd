/*
 * loglock.c - see loglock.h.
 */
#include "loglock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tlog.h"
#include "twopc/error.h"

/* The pid written in LOCK_FD by its holder, or 0. */
static pid_t
loglock_read_pid(int fd)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	char *end;
	long v = strtol(buf, &end, 10);
	return v > 0 && (*end == '\n' || *end == '\0') ? (pid_t)v : 0;
}

/* The program name of PID ("?" when it cannot be read). */
static void
loglock_comm(pid_t pid, char *buf, size_t len)
{
	char path[64];
	snprintf(buf, len, "?");
	snprintf(path, sizeof(path), "/proc/%ld/comm", (long)pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return;
	if (fgets(buf, (int)len, f) != NULL)
		buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

static void
loglock_refused(const char *path, pid_t pid)
{
	char comm[64];
	if (pid > 0) {
		loglock_comm(pid, comm, sizeof(comm));
		tlog_error("%s: the log is in use by process %ld (%s): one process per log; "
		    "stop that process first (its lock is %s.lock)", path, (long)pid, comm, path);
	} else {
		tlog_error("%s: the log is in use by another process (reached through another "
		    "path?): one process per log; find it with: fuser %s", path, path);
	}
}

int
loglock_take(const char *path, loglock *l, pid_t *holder)
{
	char lpath[4096];
	int lfd = -1, dfd = -1, rv = TWOPC_EIO;
	pid_t pid = 0;

	if (snprintf(lpath, sizeof(lpath), "%s.lock", path) >= (int)sizeof(lpath)) {
		tlog_error("%s: path too long", path);
		return TWOPC_EIO;
	}
	lfd = open(lpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lfd < 0) {
		tlog_error("%s: cannot open the lock file: %s", lpath, strerror(errno));
		goto fail;
	}
	if (flock(lfd, LOCK_EX | LOCK_NB) != 0) {
		if (errno != EWOULDBLOCK) {
			tlog_error("%s: cannot lock: %s", lpath, strerror(errno));
			goto fail;
		}
		pid = loglock_read_pid(lfd);
		loglock_refused(path, pid);
		rv = TWOPC_ELOCKED;
		goto fail;
	}
	/* The log itself, created 0600 here if new: it holds every decision
	 * and the resource's data, readable by the service user only. */
	dfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (dfd < 0) {
		tlog_error("%s: cannot open log: %s", path, strerror(errno));
		goto fail;
	}
	struct stat st;
	if (fstat(dfd, &st) == 0 && (st.st_mode & 077) != 0)
		tlog_warn("%s: open to other users (mode %03o); it holds every decision "
		    "and the resource's data: chmod 600 %s", path, (unsigned)(st.st_mode & 0777), path);
	if (flock(dfd, LOCK_EX | LOCK_NB) != 0) {
		if (errno != EWOULDBLOCK) {
			tlog_error("%s: cannot lock: %s", path, strerror(errno));
			goto fail;
		}
		loglock_refused(path, 0);
		rv = TWOPC_ELOCKED;
		goto fail;
	}
	/* Ours: the pid is for the message of whoever is refused next. A
	 * failure to write it costs only that message. */
	char line[32];
	int n = snprintf(line, sizeof(line), "%ld\n", (long)getpid());
	if (ftruncate(lfd, 0) != 0 || pwrite(lfd, line, (size_t)n, 0) != n)
		tlog_warn("%s: cannot write our pid: %s", lpath, strerror(errno));
	l->lock_fd = lfd;
	l->log_fd = dfd;
	return 0;
fail:
	if (dfd >= 0)
		close(dfd);
	if (lfd >= 0)
		close(lfd);
	if (holder != NULL)
		*holder = pid;
	return rv;
}

void
loglock_release(loglock *l)
{
	/* The log's descriptor closes first: SQLite has closed the file by
	 * now, so no POSIX lock of its is dropped with it. */
	if (l->log_fd >= 0)
		close(l->log_fd);
	if (l->lock_fd >= 0)
		close(l->lock_fd);
	l->log_fd = l->lock_fd = -1;
}
