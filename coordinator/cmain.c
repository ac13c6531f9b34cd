/*
 * cmain.c - twopc-coordinator(8): the coordinator daemon.
 *
 * Runs in the foreground; SIGTERM or SIGINT stops it cleanly. Exit status:
 * 0 after a signal, 1 when the log could not be forced or the daemon could
 * not start, 2 for usage or configuration errors.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "coord.h"
#include "tlog.h"
#include "twopc/error.h"

typedef struct sigctx {
	sigset_t set;
	coord *c;
} sigctx;

static void *
signal_thread(void *arg)
{
	sigctx *s = arg;
	int sig;
	if (sigwait(&s->set, &sig) == 0) {
		tlog_info("signal %d: stopping", sig);
		coord_request_stop(s->c);
	}
	return NULL;
}

static void
usage(void)
{
	fprintf(stderr, "usage: twopc-coordinator -c FILE [-n NAME] [--check-config] "
	    "[--min-epoch N] [-v]\n");
	exit(2);
}

/* --min-epoch ARG: 1 .. UINT64_MAX - 1. 0, or -1 (said why). */
static int
parse_epoch(const char *arg, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' || arg[0] == '-' || v == 0 || v == UINT64_MAX) {
		fprintf(stderr, "twopc-coordinator: --min-epoch '%s': not an epoch "
		    "(a number from 1 to %llu)\n", arg, (unsigned long long)UINT64_MAX - 1);
		return -1;
	}
	*out = (uint64_t)v;
	return 0;
}

int
main(int argc, char **argv)
{
	const char *file = NULL, *name = NULL;
	int check = 0, verbose = 0, ch;
	uint64_t min_epoch = 0;
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "name", required_argument, NULL, 'n' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "min-epoch", required_argument, NULL, 'E' },
		{ NULL, 0, NULL, 0 },
	};
	while ((ch = getopt_long(argc, argv, "c:n:v", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': file = optarg; break;
		case 'n': name = optarg; break;
		case 'C': check = 1; break;
		case 'v': verbose = 1; break;
		case 'E':
			if (parse_epoch(optarg, &min_epoch) != 0)
				return 2;
			break;
		default: usage();
		}
	}
	if (file == NULL || optind != argc)
		usage();
	tlog_set_sink(tlog_stderr_sink, NULL, verbose ? TLOG_DEBUG : TLOG_INFO);

	char errs[8192];
	cfg_cluster *cfg = NULL;
	if (cfg_load(file, &cfg, errs, sizeof(errs)) != 0) {
		fputs(errs, stderr);
		return 2;
	}
	if (name != NULL && strcmp(name, cfg->coordinator.name) != 0) {
		fprintf(stderr, "%s: the coordinator is named '%s', not '%s'\n", file,
		    cfg->coordinator.name, name);
		cfg_free(cfg);
		return 2;
	}
	if (check) {
		printf("%s: OK (coordinator %s, %zu participants)\n", file, cfg->coordinator.name,
		    cfg->nparticipants);
		cfg_free(cfg);
		return 0;
	}
	tlog_set_name(cfg->coordinator.name);

	static sigctx sig;
	static coord c;
	sigemptyset(&sig.set);
	sigaddset(&sig.set, SIGTERM);
	sigaddset(&sig.set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sig.set, NULL);
	signal(SIGPIPE, SIG_IGN);
	sig.c = &c;

	int rv = coord_start(&c, cfg, min_epoch);
	if (rv != 0) {
		fprintf(stderr, "twopc-coordinator: cannot start: %s\n", rv == TWOPC_ESTALE ?
		    "the participants have seen a newer epoch than this log (see above)" :
		    twopc_strerror(rv));
		coord_stop(&c);
		cfg_free(cfg);
		return 1;
	}
	pthread_t st;
	pthread_create(&st, NULL, signal_thread, &sig);
	pthread_detach(st);
	rv = coord_wait(&c);
	coord_stop(&c);
	cfg_free(cfg);
	return rv == 0 ? 0 : 1;
}
