/*
 * main.c - twopc-participant(8): the participant daemon, a thin main()
 * around libtwopc-participant with the built-in key-value resource.
 *
 * Exit status: 0 after SIGTERM/SIGINT, 1 when the log could not be forced
 * (the library stopped serving), 2 for usage or configuration errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
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

static void
pmain_stop(void *p)
{
	(void)twopc_participant_stop(p);
}

int
main(int argc, char **argv)
{
	daemon_args a;
	testhook_arm_from_env();
	if (daemon_parse_args(argc, argv, NULL, NULL, NULL, &a) != 0 || (a.name == NULL && !a.check))
		usage();
	const char *file = a.file, *name = a.name;
	int check = a.check, verbose = a.verbose;
	tlog_set_sink(tlog_stderr_sink, NULL, verbose ? TLOG_DEBUG : TLOG_INFO);
	if (check) {
		char errs[8192];
		cfg_cluster *cfg = NULL;
		int rv = cfg_load(file, &cfg, errs, sizeof(errs));
		if (rv != 0) {
			fputs(errs, stderr);
			return 2;
		}
		int ok = name == NULL || cfg_participant(cfg, name) != NULL;
		if (!ok)
			fprintf(stderr, "%s: no participant named '%s'\n", file, name);
		else
			printf("%s: OK (%zu participants)\n", file, cfg->nparticipants);
		cfg_free(cfg);
		return ok ? 0 : 2;
	}

	/* Signals go to one thread only, which asks the library to stop. */
	static daemon_signals sig;
	twopc_participant *p = NULL;
	daemon_signals_block(&sig);

	/* Configuration errors go to stderr as plain FILE:LINE:COLUMN lines,
	 * like the coordinator's, before the library's logging starts. */
	{
		char errs[8192];
		cfg_cluster *cfg = NULL;
		if (cfg_load(file, &cfg, errs, sizeof(errs)) != 0) {
			fputs(errs, stderr);
			return 2;
		}
		int known = cfg_participant(cfg, name) != NULL;
		cfg_free(cfg);
		if (!known) {
			fprintf(stderr, "%s: no participant named '%s'\n", file, name);
			return 2;
		}
	}
	int rv = twopc_participant_open(&p, file, name, &kv_resource);
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
	daemon_signals_start(&sig, pmain_stop, p);
	rv = twopc_participant_wait(p);
	twopc_participant_close(p);
	return rv == 0 ? 0 : 1;
}
