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
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "kv.h"
#include "tlog.h"
#include "twopc/participant.h"

typedef struct main_opts {
	const char *file, *name;
	int check, verbose;
} main_opts;

static void
usage(void)
{
	fprintf(stderr, "usage: twopc-participant -c FILE -n NAME [--check-config] [-v]\n");
	exit(2);
}

static void
main_args(int argc, char **argv, main_opts *o)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "name", required_argument, NULL, 'n' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "c:n:v", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': o->file = optarg; break;
		case 'n': o->name = optarg; break;
		case 'C': o->check = 1; break;
		case 'v': o->verbose = 1; break;
		default: usage();
		}
	}
	if (o->file == NULL || optind != argc || (o->name == NULL && !o->check))
		usage();
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
main_check(const main_opts *o)
{
	size_t n = 0;
	twopc_set_log(main_plain_sink, NULL, 0 /* errors only */);
	if (twopc_participant_check(o->file, o->name, &n) != 0)
		return 2;
	printf("%s: OK (%zu participants)\n", o->file, n);
	return 0;
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

static int
main_serve(const main_opts *o)
{
	/* Signals go to one thread only, which asks the library to stop. */
	static sigctx sig;
	sigemptyset(&sig.set);
	sigaddset(&sig.set, SIGTERM);
	sigaddset(&sig.set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sig.set, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* Configuration errors reach stderr through the log function, one
	 * FILE:LINE:COLUMN line each. */
	int rv = twopc_participant_open(&sig.p, o->file, o->name, &kv_resource);
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

int
main(int argc, char **argv)
{
	main_opts o = { 0 };
	main_args(argc, argv, &o);
	if (o.check)
		return main_check(&o);
	twopc_set_log(tlog_stderr_sink, NULL, o.verbose ? TLOG_DEBUG : TLOG_INFO);
	return main_serve(&o);
}
