/*
 * faultvfs.h - a SQLite VFS shim for fault injection at the I/O boundary
 * (DESIGN section 8, STYLE habit 10; the idea of SQLite's src/test6.c).
 *
 * The shim wraps the default VFS ("unix") and is registered as the new
 * default, so every later sqlite3_open in the process goes through it. It
 * is chosen by the environment, read once per process (pthread_once) by
 * faultvfs_install_from_env(), which a daemon's main() calls (through
 * testhook_arm_from_env()) before it opens anything; no library calls it,
 * and this file is not part of any library:
 *
 *   TWOPC_FAULT_VFS unset or ""   nothing is installed; zero cost.
 *   count                         pass-through; counts xWrite and xSync.
 *   powerloss                     for main-db and WAL files, the shim
 *                                 remembers which 512-byte sectors were
 *                                 written since that file's last xSync, and
 *                                 what the disk still holds there; a power
 *                                 cut puts all of them back (every unsynced
 *                                 write is lost).
 *   powerloss:tear                the same, but at a power cut each unsynced
 *                                 sector is independently kept (its latest
 *                                 content) or put back, drawn from a PRNG
 *                                 seeded by TWOPC_FAULT_SEED (default 1): a
 *                                 torn write. Sectors are atomic.
 *   ioerror:sync:K                the K-th xSync of the process (1-based, all
 *                                 files) does nothing and fails with
 *                                 SQLITE_IOERR_FSYNC; the others succeed.
 *   ioerror:write:K               the K-th xWrite writes nothing and fails
 *                                 with SQLITE_IOERR_WRITE.
 * An injected fault prints one line to stderr ("FAULT: ..."). Any other
 * value is reported on stderr, naming the variable, and nothing is installed.
 * Counting works in every mode.
 *
 * Power cuts (powerloss modes): faultvfs_power_cut(), or SIGUSR2 sent to the
 * process, applies the cut to the real files and ends the process with
 * _exit(CRASH_EXIT). It holds the shim's lock, so no xWrite or xSync is half
 * done, and never releases it: other threads stop at their next write.
 *   - Writes reach the real file at once, as they reach a kernel's page
 *     cache: every process sees them, synced or not, and a process that ends
 *     without a power cut (exit, a crash point's _exit, SIGKILL) keeps them
 *     all - that is a crash, not a power cut. Only the cut loses anything.
 *   - The cut acts for this process's writes only; it cannot cut the power
 *     of other processes. One that keeps the database open across the cut
 *     (a long-lived reader) sees a state no real machine would show: tests
 *     open the files again after the cut.
 *   - Metadata is modelled simply: a file's creation, deletion and shrinking
 *     (xTruncate) reach the disk at once; a file's growth and its data wait
 *     for xSync. The -shm file and every other file (rollback journals,
 *     temp files) pass through untouched.
 *
 * SIGUSR2 (powerloss modes only): installing starts a thread that waits for
 * SIGUSR2 with sigwait(), after blocking SIGUSR2 in the calling thread. A
 * process-directed signal is delivered to any thread that does not block
 * it, and its default action kills the process without the cut: every
 * thread must block SIGUSR2. Threads inherit the creator's mask, so it is
 * enough that the install runs before the daemon creates any thread (the
 * daemons arm their hooks first thing in main()). A thread created earlier must
 * block SIGUSR2 itself (pthread_sigmask). In other modes SIGUSR2 is not
 * touched.
 *
 * Thread-safety: every function may be called from any thread; the shim
 * serializes its bookkeeping, every write and every sync with one mutex
 * (SQLite may call it from several connections and threads at once).
 */
#ifndef TWOPC_FAULTVFS_H
#define TWOPC_FAULTVFS_H

#include <stdint.h>

/* Read TWOPC_FAULT_VFS and install the shim, once per process. Cheap after
 * the first call. Never fails: a bad value is reported and ignored. */
void faultvfs_install_from_env(void);

/* xSync / xWrite calls through the shim so far (all files); 0 when the shim
 * is not installed. */
uint64_t faultvfs_syncs(void);
uint64_t faultvfs_writes(void);

/* 1 if a powerloss mode is installed, else 0. */
int faultvfs_powerloss(void);

/* Cut the power now: undo the unsynced writes as the mode says (all, or
 * sector by sector at random), print "FAULT: power cut ..." to stderr and
 * _exit(CRASH_EXIT). Without a powerloss mode it is a plain crash (there is
 * nothing unsynced to lose): the same message and _exit. Never returns.
 * Must not be called from inside a VFS method or a signal handler. */
void faultvfs_power_cut(void) __attribute__((noreturn));

#endif
