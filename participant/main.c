/*
 * main.c - twopc-participant(8): the participant daemon, a thin main()
 * over libtwopc-participant's public API with the built-in key-value
 * resource. Everything it knows of the cluster file it learns through the
 * library, whose log lines (configuration errors included) it writes to
 * stderr.
 *
 * SIGHUP reads the cluster file again (twopc_participant_reload) and
 * never stops the daemon; the file's log_level applies unless -v or -q.
 *
 * Exit status: 0 after SIGTERM/SIGINT (and after --help, --version, a
 * passed --check-config), 1 when the participant could not start or a log
 * write failed (the library stopped serving), 2 for usage or
 * configuration errors.
 *
 * Under systemd (Type=notify) this main(), not the library, tells the
 * service manager: READY=1 once twopc_participant_start() returned (the
 * log recovered, the socket listening), STOPPING=1 on SIGTERM, WATCHDOG=1
 * while twopc_participant_progress() grows (notify.h).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "daemon.h"
#include "db.h"
#include "kv.h"
#include "notify.h"
#include "testhook.h"
#include "tlog.h"
#include "twopc/participant.h"

static const char main_usage[] =
    "usage: twopc-participant -c FILE -n NAME [--check-config] [-v | -q]\n"
    "       twopc-participant -c FILE --check-config\n"
    "       twopc-participant --help | --version\n";

static void
main_help(void)
{
	daemon_help(main_usage,
	    "A participant of a twopc cluster with the built-in key-value store, in the\n"
	    "foreground; SIGTERM stops it, SIGHUP reads the cluster file again.\n",
	    "  -n, --name NAME     this participant's name in it\n"
	    "      --check-config  check the file, the TLS files and that the log of NAME\n"
	    "                      (of every participant without -n) can be written,\n"
	    "                      then exit (0 OK, 2 not)\n",
	    "twopc-participant(8)");
}

/* --check-config prints the library's error lines as they are. */
static void
main_plain_sink(void *user, int level, const char *line)
{
	(void)user;
	(void)level;
	fprintf(stderr, "%s\n", line);
}

static int
main_check(const daemon_args *a)
{
	size_t n = 0;
	twopc_set_log(main_plain_sink, NULL, 0 /* errors only */);
	if (twopc_participant_check(a->file, a->name, &n) != 0)
		return 2;
	printf("%s: OK (%zu participants)\n", a->file, n);
	return 0;
}

static daemon_args main_args;

static void
main_level(twopc_participant *p)
{
	twopc_set_log(tlog_stderr_sink, NULL,
	    daemon_log_level(&main_args, twopc_participant_log_level(p)));
}

static void
main_reload(void *p)
{
	(void)twopc_participant_reload(p);
	main_level(p);
}

static void
main_stop(void *p)
{
	notify_stopping();
	(void)twopc_participant_stop(p);
}

static uint64_t
main_progress(void *p)
{
	return twopc_participant_progress(p);
}

static int
main_wait(void *p)
{
	return twopc_participant_wait(p);
}

static int
main_serve(const daemon_args *a)
{
	/* Signals go to one thread only, which asks the library to stop. */
	static daemon_signals sig;
	twopc_participant *p = NULL;
	daemon_harden();
	daemon_signals_block(&sig);

	/* Configuration errors reach stderr through the log function, one
	 * FILE:LINE:COLUMN line each. */
	int rv = twopc_participant_open(&p, a->file, a->name, &kv_resource);
	if (rv != 0) {
		fprintf(stderr, "twopc-participant: %s\n", twopc_strerror(rv));
		return rv == TWOPC_ECONFIG || rv == TWOPC_ENOENT ? 2 : 1;
	}
	main_level(p);
	/* The kv store lives in the log's file: one-phase commits are one
	 * SQLite transaction. */
	(void)twopc_participant_set_atomic_commit(p, 1);
	if ((rv = twopc_participant_start(p)) != 0) {
		fprintf(stderr, "twopc-participant: cannot start: %s\n", twopc_strerror(rv));
		twopc_participant_close(p);
		return 1;
	}
	daemon_signals_start(&sig, main_stop, main_reload, p);
	char what[200];
	snprintf(what, sizeof(what), "participant %s serving", a->name);
	rv = notify_serve(what, main_progress, main_wait, p);
	twopc_participant_close(p);
	return rv == 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	daemon_args a;
	/* The test hooks (crash points, the fault VFS) are armed by the
	 * daemon from its environment, never by the library. */
	db_process_init();
	testhook_arm_from_env();
	/* A hangup before the signal thread runs must not end the start. */
	signal(SIGHUP, SIG_IGN);
	if (daemon_parse_args(argc, argv, NULL, NULL, NULL, &a) != 0)
		daemon_usage(main_usage);
	if (a.help || a.version) {
		if (a.help)
			main_help();
		else
			daemon_print_version("twopc-participant");
		return 0;
	}
	if (a.name == NULL && !a.check)
		daemon_usage(main_usage);
	if (a.check)
		return main_check(&a);
	main_args = a;
	twopc_set_log(tlog_stderr_sink, NULL, daemon_log_level(&a, -1));
	return main_serve(&a);
}
