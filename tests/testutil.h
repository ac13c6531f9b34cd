/*
 * testutil.h - what the CUnit suites share: assertions that say what they
 * saw, and the twopc driver run against a harness cluster.
 *
 * Every assertion is one CUnit assertion at the caller's file and line;
 * on failure its message names the expression and the values seen.
 */
#ifndef TWOPC_TESTUTIL_H
#define TWOPC_TESTUTIL_H

#include <stddef.h>
#include <string.h>

#include "harness.h"
#include "twopc/participant.h"

/* One CUnit assertion at FILE:LINE; on failure the message is FMT
 * formatted (at most 1023 bytes; CUnit copies it). Formats nothing when
 * OK, so it is cheap in a loop. */
void tu_check(int ok, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define t_check(ok, line, ...) tu_check((ok) != 0, __FILE__, (line), __VA_ARGS__)
#define T_CHECK(ok, ...) t_check((ok), __LINE__, __VA_ARGS__)
#define T_TRUE(cond) t_check((cond) != 0, __LINE__, "%s", #cond)
#define T_EQ(got, want) do { \
	long long g_ = (long long)(got), w_ = (long long)(want); \
	t_check(g_ == w_, __LINE__, "%s: got %lld, want %lld", #got, g_, w_); \
} while (0)
#define T_STREQ(got, want) do { \
	const char *g_ = (got), *w_ = (want); \
	t_check(g_ != NULL && strcmp(g_, w_) == 0, __LINE__, "%s: got \"%s\", want \"%s\"", \
	    #got, g_ ? g_ : "(null)", w_); \
} while (0)
#define T_HAS(hay, needle) do { \
	const char *g_ = (hay), *w_ = (needle); \
	t_check(g_ != NULL && strstr(g_, w_) != NULL, __LINE__, "%s: \"%s\" lacks \"%s\"", \
	    #hay, g_ ? g_ : "(null)", w_); \
} while (0)
#define T_NITEMS(a) (sizeof(a) / sizeof((a)[0]))

/* A fatal CUnit assertion at FILE:LINE (the test ends there when OK is
 * 0); the message as tu_check. */
void tu_fatal(int ok, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Create cluster C (hc_create with these arguments) and start every node
 * (hc_start_all); a failure ends the test at the caller's line. */
#define T_CLUSTER_UP(c, nparts, vote_ms, decision_ms) \
	tu_cluster_up((c), (nparts), (vote_ms), (decision_ms), __FILE__, __LINE__)
void tu_cluster_up(hcluster *c, int nparts, int vote_ms, int decision_ms, const char *file,
    int line);

/* A case with a fixture: test_NAME (what CUnit runs) sets up VAR, a TYPE
 * *, with SETUP (an expression in VAR, 0 on success; a failure is
 * asserted and leaves nothing to undo), runs the body that follows,
 * case_NAME(VAR), and undoes the set-up with TEARDOWN(VAR). */
#define T_CASE(name, type, var, setup, teardown) \
	static void case_##name(type *var); \
	static void \
	test_##name(void) \
	{ \
		type fixture_; \
		type *var = &fixture_; \
		if ((setup) == 0) { \
			case_##name(var); \
			teardown(var); \
		} \
	} \
	static void \
	case_##name(type *var)

/* A name and the function run under it: one test of a suite (main.c
 * lists the suites' register functions the same way). */
typedef struct tu_test {
	const char *name;
	void (*fn)(void);
} tu_test;

/* Register suite NAME with the N tests of TESTS, in that order (nothing
 * when CUnit cannot add the suite; the run then reports it). */
void tu_suite(const char *name, const tu_test *tests, size_t n);
/* Run after every test of those suites, also one a fatal assertion
 * stopped (the harness's hc_reap); NULL: nothing. */
extern void (*tu_after_each)(void);
#define TU_SUITE(name, tests) tu_suite((name), (tests), T_NITEMS(tests))

/* Remove DIR and all below it, quietly (a test's scratch directory);
 * nothing for "". */
void tu_rmtree(const char *dir);

/* A resource's commit or abort callback that does nothing and succeeds. */
int tu_txn_nop(void *user, twopc_txn *txn);

/* Sleep MS milliseconds, resumed after a signal: for pacing a poll of a
 * real condition, never instead of one. */
void tu_nap_ms(int ms);

/* The file at PATH, at most 65535 bytes of it, NUL-terminated, in a
 * buffer the caller frees; NULL when it cannot be read. */
char *tu_slurp(const char *path);

/* Run CMD under sh, its standard output into OUT (NUL-terminated, cut to
 * LEN). Its exit status, or -1 (not run, or killed by a signal). */
int tu_sh(const char *cmd, char *out, size_t len);

/* The LEN bytes at MSG, as they are, on a raw REQ socket to URL: mutual
 * TLS with the CA and CRT/KEY when CA is not NULL. The reply's length, or
 * -1 when none came within 1.5 s (-2: no socket). */
int tu_raw(const char *url, const char *ca, const char *crt, const char *key, const void *msg,
    size_t len);

/* What the last tu_drv() printed (stdout and stderr, NUL-terminated). */
extern char tu_out[8192];

/* Run `twopc -c CLUSTER ARG...` for cluster C; the arguments end at the
 * first NULL, or after the last. Returns the driver's exit status (see
 * hc_twopc), its output in tu_out. */
#define T_DRV(c, ...) tu_drv((c), (const char *const[]){ __VA_ARGS__, NULL })
int tu_drv(hcluster *c, const char *const *args);

#endif
