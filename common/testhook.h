/*
 * testhook.h - the test hooks a process takes from its environment
 * (DESIGN sections 8 and 9): crash and pause points, and the fault VFS.
 *
 *   TWOPC_CRASH_AT=<point>[:<n>]   crash_arm(..., 0, ...)
 *   TWOPC_PAUSE_AT=<point>[:<n>]   crash_arm(..., 1, ...)
 *   TWOPC_FAULT_VFS=<mode>         faultvfs_install_from_env()
 *
 * Linked into the daemons, the test runner and test builds of library
 * programs (tests/hookctor.c), never into libtwopc-participant or
 * libtwopc-client: an application that embeds a library cannot be ended,
 * paused or given another SQLite VFS by a stray environment variable.
 */
#ifndef TWOPC_TESTHOOK_H
#define TWOPC_TESTHOOK_H

/* Read the three variables and arm what they name. Call once, first thing
 * in main(), before any thread is created (the fault VFS's power-cut signal
 * mask is inherited by later threads) and before any log is opened. Never
 * fails: a bad value is reported on stderr, naming the variable, and
 * ignored. */
void testhook_arm_from_env(void);

#endif
