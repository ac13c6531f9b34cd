/*
 * cmain.c - twopc-coordinator(8): the coordinator daemon.
 *
 * Runs in the foreground; SIGTERM or SIGINT stops it cleanly, SIGHUP
 * reads the cluster file again (creload.c) and never stops it. Exit status:
 * 0 after a signal (and after --help, --version, a passed --check-config),
 * 1 when the log could not be forced or the daemon could not start, 2 for
 * usage or configuration errors.
 *
 * Under systemd (Type=notify): READY=1 once the log is recovered and the
 * listen socket answers, STOPPING=1 on SIGTERM, and WATCHDOG=1 while the
 * resender completes its passes (notify.h).
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "coord.h"
#include "daemon.h"
#include "db.h"
#include "notify.h"
#include "testhook.h"
#include "tlog.h"
#include "twopc/error.h"

static daemon_args cmain_args;

static void
cmain_stop(void *c)
{
	notify_stopping();
	coord_request_stop(c);
}

/* SIGHUP: the file again; its log_level applies unless -v or -q. */
static void
cmain_reload(void *arg)
{
	coord *c = arg;
	(void)coord_reload(c);
	tlog_set_level(daemon_log_level(&cmain_args, c->cfg->log_level));
}

/* The watchdog's measure of progress: the resender's completed passes
 * (every ack_retry_ms, each waiting for its own questions). */
static uint64_t
cmain_progress(void *c)
{
	return atomic_load(&((coord *)c)->viol.resend_cycles);
}

static int
cmain_wait(void *c)
{
	return coord_wait(c);
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

static const char cmain_usage[] =
    "usage: twopc-coordinator -c FILE [-n NAME] [--check-config] [--min-epoch N] [-v | -q]\n"
    "       twopc-coordinator --help | --version\n";

static void
cmain_help(void)
{
	daemon_help(cmain_usage,
	    "The coordinator of a twopc cluster, in the foreground; SIGTERM stops it,\n"
	    "SIGHUP reads the cluster file again.\n",
	    "  -n, --name NAME     the coordinator's name in it (checked if given)\n"
	    "      --check-config  check the file, the TLS files and that the log can\n"
	    "                      be written, then exit (0 OK, 2 not)\n"
	    "      --min-epoch N   start at epoch N or above (after a lost log)\n",
	    "twopc-coordinator(8)");
}

/* Load FILE and check it is NAME's (the coordinator's) with its TLS
 * files; with CHECK (--check-config) also its log path, and say so. -1
 * and *OUT to go on, or the exit status (the errors printed). */
static int
cmain_config(const char *file, const char *name, int check, cfg_cluster **out)
{
	char errs[8192];
	cfg_cluster *cfg = NULL;
	if (cfg_load(file, &cfg, errs, sizeof(errs)) != 0) {
		fputs(errs, stderr);
		return 2;
	}
	if (name != NULL && strcmp(name, cfg->coordinator.name) != 0) {
		fprintf(stderr, "%s: the coordinator is named '%s', not '%s'\n", file,
		    cfg->coordinator.name, name);
		goto fail;
	}
	/* The TLS files are read now, so that a bad one stops the start with
	 * its name rather than failing every handshake later. */
	if ((check ? cfg_tls_check(cfg, cfg->coordinator.name, errs, sizeof(errs)) :
	    cfg_tls_use(cfg, cfg->coordinator.name, errs, sizeof(errs))) != 0) {
		fputs(errs, stderr);
		goto fail;
	}
	errs[0] = '\0';
	if (check && cfg_check_log(cfg, &cfg->coordinator, errs, sizeof(errs)) != 0) {
		fputs(errs, stderr);
		goto fail;
	}
	if (check) {
		printf("%s: OK (coordinator %s, %zu participants%s)\n", file, cfg->coordinator.name,
		    cfg->nparticipants, cfg->tls_ca ? ", TLS identity loaded" : "");
		cfg_free(cfg);
		return 0;
	}
	*out = cfg;
	return -1;
fail:
	cfg_free(cfg);
	return 2;
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
	/* A hangup before the signal thread runs must not end the start. */
	signal(SIGHUP, SIG_IGN);
	db_process_init();
	testhook_arm_from_env();
	int rv = daemon_parse_args(argc, argv, longopts, cmain_opt, &min_epoch, &a);
	if (rv != 0) {
		if (rv < 0)
			daemon_usage(cmain_usage);
		return rv;
	}
	if (a.help || a.version) {
		if (a.help)
			cmain_help();
		else
			daemon_print_version("twopc-coordinator");
		return 0;
	}
	const char *file = a.file, *name = a.name;
	int check = a.check;
	cmain_args = a;
	tlog_set_sink(tlog_stderr_sink, NULL, daemon_log_level(&a, -1));

	cfg_cluster *cfg = NULL;
	if ((rv = cmain_config(file, name, check, &cfg)) >= 0)
		return rv;
	tlog_set_name(cfg->coordinator.name);
	tlog_set_level(daemon_log_level(&a, cfg->log_level));
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
	daemon_signals_start(&sig, cmain_stop, cmain_reload, &c);
	char what[300];
	snprintf(what, sizeof(what), "coordinator %s serving on %s", cfg->coordinator.name,
	    cfg->coordinator.listen);
	rv = notify_serve(what, cmain_progress, cmain_wait, &c);
	coord_stop(&c);
	cfg_free(cfg);
	return rv == 0 ? 0 : 1;
}
