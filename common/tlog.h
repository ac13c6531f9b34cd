/*
 * tlog.h - logging for daemons and the library.
 *
 * Contract: nothing is printed until a sink is installed with tlog_set_sink()
 * (the library never prints unless asked, DESIGN section 6); daemons install
 * tlog_stderr_sink. Lines are formatted into a bounded buffer and handed to
 * the sink whole, so concurrent threads never interleave within a line.
 * Callable from any thread. A line is one line whatever its arguments
 * hold: every byte of it outside printable ASCII, and the backslash, is
 * written as \xNN (tlog_escape), so a key, value, txid, sender name or
 * reason from a peer can never start a forged line or send a terminal
 * escape sequence. Every state change of a transaction is reported
 * through tlog_state() as "txid: OLD -> NEW (why)" (routine ones at DEBUG).
 */
#ifndef TWOPC_TLOG_H
#define TWOPC_TLOG_H

#include <stddef.h>

typedef enum tlog_level {
	TLOG_ERROR = 0,
	TLOG_WARN = 1,
	TLOG_INFO = 2,
	TLOG_DEBUG = 3,
} tlog_level;

typedef void (*tlog_sink)(void *user, int level, const char *line);

/* Install SINK (NULL silences) and the highest LEVEL passed to it. */
void tlog_set_sink(tlog_sink sink, void *user, int level);
/* Change only the highest level passed to the sink (a reload, -v). */
void tlog_set_level(int level);
/* "error", "warn", "info" or "debug" for LEVEL (clamped). */
const char *tlog_level_name(int level);
/* The prefix of every line (the process's node name); copied. */
void tlog_set_name(const char *name);
/* A sink that writes "TIME NAME LEVEL line\n" to stderr, TIME as
 * tlog_timestamp() makes it. */
void tlog_stderr_sink(void *user, int level, const char *line);
/* The wall-clock time now in ISO 8601, UTC, to the millisecond
 * ("2026-12-05T16:42:51.123Z", 24 characters) into BUF; returns its length
 * (truncated to fit LEN, like snprintf). Log lines outlive the day they
 * were written on, so the date is always part of it. */
size_t tlog_timestamp(char *buf, size_t len);

/* Copy SRC into DST (LEN bytes, NUL-terminated) with every byte outside
 * 0x20..0x7e and the backslash written as \xNN; cut at a whole escape
 * when it does not fit. Returns the length written. */
size_t tlog_escape(char *dst, size_t len, const char *src);

void tlog(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define tlog_error(...) tlog(TLOG_ERROR, __VA_ARGS__)
#define tlog_warn(...) tlog(TLOG_WARN, __VA_ARGS__)
#define tlog_info(...) tlog(TLOG_INFO, __VA_ARGS__)
#define tlog_debug(...) tlog(TLOG_DEBUG, __VA_ARGS__)

/* "txid: OLD -> NEW (why)": at DEBUG for the steps of a committed
 * transaction (NONE -> WAIT -> COMMIT -> END at the coordinator, WAIT ->
 * END for a one-phase commit; INIT, READY, COMMIT or READ-ONLY at a
 * participant), at INFO for the others: a committed transaction writes no
 * INFO line, any other at most one per node. */
void tlog_state(const char *txid, const char *old, const char *new_, const char *why);

#endif
