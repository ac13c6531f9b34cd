/*
 * loglock.h - one process per log (DESIGN section 3).
 *
 * Contract: before a daemon (or a process embedding the participant
 * library) reads a single row of its log, it takes an exclusive lock on
 * it. Two locks, both flock(2), both released by the kernel when the
 * process dies however it dies (SIGKILL, _exit at a crash point), so a
 * crash never leaves a lock behind:
 *   - on LOG.lock, a file beside the log holding the owner's pid, which is
 *     what a refused start names;
 *   - on the log file itself, so that a second path to the same file (a
 *     hard link, a bind mount, a relative path from another directory) is
 *     refused too.
 * flock locks are independent of SQLite's POSIX record locks on Linux, so
 * an operator's sqlite3 (or the crash harness's checker) may still read
 * the log while it is locked; only a second twopc process is refused.
 *
 * Invariant: while loglock_take() has returned 0 and loglock_release()
 * has not been called, no other process holds either lock on that log.
 */
#ifndef TWOPC_LOGLOCK_H
#define TWOPC_LOGLOCK_H

#include <stddef.h>
#include <sys/types.h>

typedef struct loglock {
	int lock_fd;   /* LOG.lock, or -1 */
	int log_fd;    /* the log file itself, or -1 */
} loglock;

#define LOGLOCK_INIT { -1, -1 }

/*
 * Lock the log at PATH (creating the log file, mode 0600, if missing; its
 * directory must exist). Returns 0 and fills *L, TWOPC_ELOCKED when
 * another process holds it (its pid in *HOLDER when known, else 0; the
 * message, naming the path, the pid and the program, is logged), or
 * TWOPC_EIO (logged). Never blocks.
 */
int loglock_take(const char *path, loglock *l, pid_t *holder);

/* Release (close both descriptors). Call after the log is closed. A
 * lock set to LOGLOCK_INIT, or already released, is a no-op. */
void loglock_release(loglock *l);

#endif
