/*
 * cmain.c - twopc-coordinator(8): the coordinator daemon.
 *
 * Runs in the foreground; SIGTERM or SIGINT stops it cleanly. Exit status:
 * 0 after a signal, 1 when the log could not be forced or the daemon could
 * not start, 2 for usage or configuration errors.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "coord.h"
#include "daemon.h"
#include "testhook.h"
#include "tlog.h"
#include "twopc/error.h"

static void
cmain_stop(void *c)
{
	coord_request_stop(c);
}

/* --min-epoch N (DESIGN section 9: a way back from a lost log). */
static int
cmain_opt(int ch, const char *arg, void *min_epoch)
{
	char *end;
	errno = 0;
	uint64_t e = strtoull(arg, &end, 10);
	/* Participants refuse epochs above 2^63-1 (the logs' signed INTEGER). */
	if (ch != 'E' || errno != 0 || end == arg || *end != '\0' || arg[0] == '-' || e == 0 ||
	    e >= (uint64_t)INT64_MAX) {
		fprintf(stderr, "twopc-coordinator: --min-epoch '%s': not an epoch "
		    "(a number from 1 to %llu)\n", arg, (unsigned long long)INT64_MAX - 1);
		return 2;
	}
	*(uint64_t *)min_epoch = e;
	return 0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: twopc-coordinator -c FILE [-n NAME] [--check-config] "
	    "[--min-epoch N] [-v]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "min-epoch", required_argument, NULL, 'E' },
		{ NULL, 0, NULL, 0 },
	};
	daemon_args a;
	uint64_t min_epoch = 0;
	testhook_arm_from_env();
	int rv = daemon_parse_args(argc, argv, longopts, cmain_opt, &min_epoch, &a);
	if (rv != 0) {
		if (rv < 0)
			usage();
		return rv;
	}
	const char *file = a.file, *name = a.name;
	int check = a.check, verbose = a.verbose;
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
	/* The TLS files are read now, so that a bad one stops the start with
	 * its name rather than failing every handshake later. */
	if ((check ? cfg_tls_check(cfg, cfg->coordinator.name, errs, sizeof(errs)) :
	    cfg_tls_use(cfg, cfg->coordinator.name, errs, sizeof(errs))) != 0) {
		fputs(errs, stderr);
		cfg_free(cfg);
		return 2;
	}
	if (check) {
		printf("%s: OK (coordinator %s, %zu participants%s)\n", file, cfg->coordinator.name,
		    cfg->nparticipants, cfg->tls_ca ? ", TLS identity loaded" : "");
		cfg_free(cfg);
		return 0;
	}
	tlog_set_name(cfg->coordinator.name);
	if (cfg->insecure)
		tlog_warn("%s: insecure: true: the cluster is unauthenticated; anyone who can "
		    "reach a tcp:// address can commit, abort or erase transactions", file);

	static daemon_signals sig;
	static coord c;
	daemon_harden();
	daemon_signals_block(&sig);

	rv = coord_start(&c, cfg, min_epoch);
	if (rv != 0) {
		fprintf(stderr, "twopc-coordinator: cannot start: %s\n", rv == TWOPC_ESTALE ?
		    "the participants have seen a newer epoch than this log (see above)" :
		    twopc_strerror(rv));
		coord_stop(&c);
		cfg_free(cfg);
		return 1;
	}
	daemon_signals_start(&sig, cmain_stop, &c);
	rv = coord_wait(&c);
	coord_stop(&c);
	cfg_free(cfg);
	return rv == 0 ? 0 : 1;
}
