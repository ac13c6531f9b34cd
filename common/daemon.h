/*
 * daemon.h - what the two daemons' main()s share: the common command line
 * and the thread that turns SIGTERM/SIGINT into a clean stop.
 *
 * Common options: -c/--config FILE, -n/--name NAME, --check-config,
 * -v/--verbose, -q/--quiet, -h/--help, --version. A daemon adds its own long options;
 * no positional argument is accepted. --help and --version end the
 * parsing where they stand: the caller prints and exits 0, whatever else
 * the line holds.
 *
 * Signals: daemon_signals_block() blocks SIGTERM, SIGINT and SIGHUP in
 * the calling thread, so in every thread it creates later, and ignores
 * SIGPIPE (a peer that hangs up must not end the daemon);
 * daemon_signals_start() then starts the one thread that waits for them:
 * SIGHUP reloads (as often as it comes), SIGTERM or SIGINT stops. Call the first before any
 * thread exists (the log, the sockets and the libraries start threads).
 */
#ifndef TWOPC_DAEMON_H
#define TWOPC_DAEMON_H

#include <getopt.h>
#include <signal.h>

typedef struct daemon_args {
	const char *file;       /* -c; NULL if not given */
	const char *name;       /* -n; NULL if not given */
	int check;              /* --check-config */
	int verbose;            /* -v (the last of -v and -q wins) */
	int quiet;              /* -q */
	int help;               /* -h, --help */
	int version;            /* --version */
} daemon_args;

/*
 * What a daemon sets up for itself before it opens anything: umask 077,
 * so every file it creates (its log and SQLite's -wal and -shm beside it,
 * the lock file, an ipc:// socket) is the service user's only; and the
 * soft RLIMIT_NOFILE raised to the hard limit, so that a flood of idle
 * connections (each holds a descriptor until NNG's 10 s handshake
 * timeout) does not leave the daemon without descriptors for its peers
 * and its log. Never fails: a limit that cannot be raised stays.
 */
void daemon_harden(void);

/* A daemon's own option: CH is its struct option's val, ARG its argument
 * (NULL without one). Returns 0, or the exit status after printing what
 * was wrong. */
typedef int (*daemon_opt_fn)(int ch, const char *arg, void *user);

/* Parse ARGV into *OUT. EXTRA: the daemon's own long options (terminated by
 * a zeroed entry; NULL for none), handled by ON_OPT. Returns 0; -1 for an
 * unknown option, a missing argument, a positional argument or no -c (the
 * caller prints its usage and exits 2); or what ON_OPT returned. *OUT is
 * written in every case. With --help or --version 0 at once (OUT->help,
 * OUT->version), -c not required. Not thread-safe (getopt). */
int daemon_parse_args(int argc, char **argv, const struct option *extra, daemon_opt_fn on_opt,
    void *user, daemon_args *out);

/* The log level to run at: DEBUG with -v, WARN with -q, else FILE_LEVEL
 * (the cluster file's log_level) or INFO when that is negative (none). */
int daemon_log_level(const daemon_args *a, int file_level);

/* USAGE on stderr, then exit status 2 (a usage error). */
_Noreturn void daemon_usage(const char *usage);
/*
 * The --help text on stdout: USAGE, ABOUT (what the daemon is), the -c
 * line, OPTIONS (the daemon's own, each line "  -x, --long ARG   what"),
 * the -v/-q/-h/--version lines and the exit statuses both daemons share,
 * naming PAGE ("twopc-coordinator(8)").
 */
void daemon_help(const char *usage, const char *about, const char *options, const char *page);

/* Print PROG's version line ("PROG (twopc) VERSION") to stdout. */
void daemon_print_version(const char *prog);

/* What the signal thread calls, from that thread: STOP(ARG) once, after
 * the first SIGTERM or SIGINT (the thread then ends); RELOAD(ARG) after
 * each SIGHUP before it, one at a time. A reload never stops the daemon. */
typedef void (*daemon_stop_fn)(void *arg);
typedef void (*daemon_reload_fn)(void *arg);

typedef struct daemon_signals {
	sigset_t set;
	daemon_stop_fn stop;
	daemon_reload_fn reload;
	void *arg;
} daemon_signals;

/* Block SIGTERM, SIGINT and SIGHUP, ignore SIGPIPE (see above). */
void daemon_signals_block(daemon_signals *s);

/* Start the detached signal thread; *S must outlive it (a static). RELOAD
 * may be NULL (SIGHUP is then logged and ignored). Returns 0 or the error
 * of pthread_create. */
int daemon_signals_start(daemon_signals *s, daemon_stop_fn stop, daemon_reload_fn reload,
    void *arg);

#endif
