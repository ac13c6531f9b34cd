/*
 * stall.h - a watchdog for a test program that can wait on other
 * processes: when nothing marks progress for a while, it says where the
 * program last was, takes the stacks of the program and of its children
 * (tests/stacks.sh), kills its clusters' daemons and exits.
 *
 * A hang in CI would otherwise end only at tests/step.sh's limit, with
 * nothing said about where it hung: the watchdog fires first and puts
 * what it found in the last lines of the step's output, which
 * tests/verdict.sh repeats.
 */
#ifndef TWOPC_TESTS_STALL_H
#define TWOPC_TESTS_STALL_H

/* Start the watchdog: it fires after LIMIT_MS (TWOPC_STALL_MS in the
 * environment, if set: how its test makes it fire) without stall_mark,
 * and the program exits with status CODE. Call once, before any
 * thread. */
void stall_start(int limit_ms, int code);

/* Progress: what the program is about to do (printf format). Cheap;
 * safe from any thread. */
void stall_mark(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
