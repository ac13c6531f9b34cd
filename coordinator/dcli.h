/*
 * dcli.h - what the subcommands of twopc(1) share (dcli.c): the exit
 * codes, the usage and help texts, the common options (--txid, --json,
 * --in-doubt, --timeout) and the checks of a txid or timeout given on the
 * command line. Part of the driver; the subcommands are driver.c (commit,
 * get, status), dlist.c, dresolve.c and bench.c.
 */
#ifndef TWOPC_DCLI_H
#define TWOPC_DCLI_H

#include <stddef.h>
#include <stdint.h>

#define EXIT_ABORTED 1
#define EXIT_USAGE 2
#define EXIT_UNKNOWN 3
#define DRV_TIMEOUT_MAX 86400000 /* --timeout: one day, in ms */

/* The program's name in messages. */
extern const char *const drv_prog;

/* The usage on stderr, then exit(EXIT_USAGE). */
_Noreturn void drv_usage_exit(void);
/* The help on stdout, then exit(0). */
_Noreturn void drv_help(void);

/* A TXID given on the command line: exits with a usage error naming it
 * (shortened: it may be 10,000 characters) unless 1-64 printable, no
 * spaces. WHAT names the argument ("--txid", "TXID"). */
void drv_check_txid(const char *what, const char *txid);

/* --timeout MS: a whole number of milliseconds, 1 to DRV_TIMEOUT_MAX,
 * into *MS; -1 after naming the bad value on stderr. */
int drv_timeout_arg(const char *arg, int *ms);

typedef struct drv_opts {
	const char *txid;
	int json;
	int in_doubt;
	int timeout_ms;
} drv_opts;

/* The common options of ARGV into O (what O holds stays unless given);
 * returns the index of the first operand. Exits on a bad option. */
int drv_parse_opts(int argc, char **argv, drv_opts *o);

/* An age for people: "1.5s", "42s", "3h". */
void drv_age(uint64_t ms, char *buf, size_t len);

#endif
