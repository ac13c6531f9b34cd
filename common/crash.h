/*
 * crash.h - named crash points (DESIGN section 8).
 *
 * A point does nothing until the process arms it with crash_arm(). Nothing
 * in a library arms one: the daemons (and test builds of library programs)
 * do so from the environment through testhook.h, so a program that embeds
 * libtwopc-participant can never be ended by a stray variable.
 *   crash point  end the process with _exit(CRASH_EXIT) at the n-th hit
 *                (default 1): no flush, no cleanup, as a kill would.
 *   pause point  at the n-th hit, print "PAUSED at <point>" to stderr and
 *                stop the calling thread forever, so a test can SIGKILL the
 *                process at exactly that step.
 * A disarmed point costs one load and branch. Unknown point names are
 * reported on stderr (a typo must not silently disarm a test).
 */
#ifndef TWOPC_CRASH_H
#define TWOPC_CRASH_H

#define CRASH_EXIT 86

/* Every point, NULL-terminated, in protocol order. */
extern const char *const crash_points[];

/* Arm SPEC, "<point>[:<n>]", as the crash point (PAUSE 0) or the pause
 * point (PAUSE 1); ORIGIN names where SPEC came from, for the message
 * about an unknown point. Call before the process starts any thread that
 * may hit a point: arming is not synchronized with crash_point(). */
void crash_arm(const char *spec, int pause, const char *origin);

/* Hit point NAME (must be one of crash_points). */
void crash_point(const char *name);

/* 1 if point NAME is armed (to crash or to pause): for a point
 * that marks a state the fast path passes through too quickly to stop at
 * deterministically (the code then takes the slower path that makes the
 * state exact). */
int crash_point_armed(const char *name);

#endif
