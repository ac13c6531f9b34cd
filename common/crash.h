/*
 * crash.h - named crash points (DESIGN section 8).
 *
 * A point is armed from outside the process:
 *   TWOPC_CRASH_AT=<point>[:<n>]   end the process with _exit(CRASH_EXIT)
 *                                  at the n-th hit (default 1): no flush,
 *                                  no cleanup, as a kill would.
 *   TWOPC_PAUSE_AT=<point>[:<n>]   at the n-th hit, print
 *                                  "PAUSED at <point>" to stderr and stop
 *                                  the calling thread forever, so a test can
 *                                  SIGKILL the process at exactly that step.
 * The environment is read once; a disarmed point costs one load and branch.
 * Unknown point names in the variables are reported on stderr once (a typo
 * must not silently disarm a test).
 */
#ifndef TWOPC_CRASH_H
#define TWOPC_CRASH_H

#define CRASH_EXIT 86

/* Every point, NULL-terminated, in protocol order. */
extern const char *const crash_points[];

/* Hit point NAME (must be one of crash_points). */
void crash_point(const char *name);

/* 1 if TWOPC_CRASH_AT or TWOPC_PAUSE_AT names point NAME: for a point
 * that marks a state the fast path passes through too quickly to stop at
 * deterministically (the code then takes the slower path that makes the
 * state exact). */
int crash_point_armed(const char *name);

#endif
