/*
 * main.c - twopc-participant(8): the participant daemon, a thin main()
 * around libtwopc-participant with the built-in key-value resource.
 *
 * Exit status: 0 after SIGTERM/SIGINT, 1 when the log could not be forced
 * (the library stopped serving), 2 for usage or configuration errors.
 */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "kv.h"
#include "tlog.h"
#include "twopc/participant.h"

static void
usage(void)
{
	fprintf(stderr, "usage: twopc-participant -c FILE -n NAME [--check-config] [-v]\n");
	exit(2);
}

typedef struct sigctx {
	sigset_t set;
	twopc_participant *p;
} sigctx;

static void *
signal_thread(void *arg)
{
	sigctx *s = arg;
	int sig;
	if (sigwait(&s->set, &sig) == 0)
		twopc_participant_stop(s->p);
	return NULL;
}

int
main(int argc, char **argv)
{
	const char *file = NULL, *name = NULL;
	int check = 0, verbose = 0, c;
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "name", required_argument, NULL, 'n' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	while ((c = getopt_long(argc, argv, "c:n:v", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': file = optarg; break;
		case 'n': name = optarg; break;
		case 'C': check = 1; break;
		case 'v': verbose = 1; break;
		default: usage();
		}
	}
	if (file == NULL || optind != argc || (name == NULL && !check))
		usage();
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
	static sigctx sig;
	sigemptyset(&sig.set);
	sigaddset(&sig.set, SIGTERM);
	sigaddset(&sig.set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sig.set, NULL);
	signal(SIGPIPE, SIG_IGN);

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
	int rv = twopc_participant_open(&sig.p, file, name, &kv_resource);
	if (rv != 0) {
		fprintf(stderr, "twopc-participant: %s\n", twopc_strerror(rv));
		return rv == TWOPC_ECONFIG || rv == TWOPC_ENOENT ? 2 : 1;
	}
	/* The kv store lives in the log's file: one-phase commits are one
	 * SQLite transaction. */
	(void)twopc_participant_set_atomic_commit(sig.p, 1);
	if ((rv = twopc_participant_start(sig.p)) != 0) {
		fprintf(stderr, "twopc-participant: cannot start: %s\n", twopc_strerror(rv));
		twopc_participant_close(sig.p);
		return 1;
	}
	pthread_t st;
	pthread_create(&st, NULL, signal_thread, &sig);
	pthread_detach(st);
	rv = twopc_participant_wait(sig.p);
	twopc_participant_close(sig.p);
	return rv == 0 ? 0 : 1;
}
