/*
 * main.c - twopc-participant(8): the participant daemon, a thin main()
 * over libtwopc-participant's public API with the built-in key-value
 * resource. Everything it knows of the cluster file it learns through the
 * library, whose log lines (configuration errors included) it writes to
 * stderr.
 *
 * Exit status: 0 after SIGTERM/SIGINT, 1 when the participant could not
 * start or a log write failed (the library stopped serving), 2 for usage
 * or configuration errors.
 */
#include <stdio.h>
#include <stdlib.h>

#include "daemon.h"
#include "kv.h"
#include "testhook.h"
#include "tlog.h"
#include "twopc/participant.h"

static void
usage(void)
{
	fprintf(stderr, "usage: twopc-participant -c FILE -n NAME [--check-config] [-v]\n");
	exit(2);
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

static void
main_stop(void *p)
{
	(void)twopc_participant_stop(p);
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
	/* The kv store lives in the log's file: one-phase commits are one
	 * SQLite transaction. */
	(void)twopc_participant_set_atomic_commit(p, 1);
	if ((rv = twopc_participant_start(p)) != 0) {
		fprintf(stderr, "twopc-participant: cannot start: %s\n", twopc_strerror(rv));
		twopc_participant_close(p);
		return 1;
	}
	daemon_signals_start(&sig, main_stop, p);
	rv = twopc_participant_wait(p);
	twopc_participant_close(p);
	return rv == 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	daemon_args a;
	/* The test hooks (crash points, the fault VFS) are armed by the
	 * daemon from its environment, never by the library. */
	testhook_arm_from_env();
	if (daemon_parse_args(argc, argv, NULL, NULL, NULL, &a) != 0 || (a.name == NULL && !a.check))
		usage();
	if (a.check)
		return main_check(&a);
	twopc_set_log(tlog_stderr_sink, NULL, a.verbose ? TLOG_DEBUG : TLOG_INFO);
	return main_serve(&a);
}
