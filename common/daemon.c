/*
 * daemon.c - see daemon.h.
 */
#include "daemon.h"

#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "tlog.h"
#include "version.h"

void
daemon_harden(void)
{
	struct rlimit rl;
	umask(077);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* The common options plus EXTRA, in BUF (at most CAP entries with the
 * terminator); -1 if EXTRA does not fit. */
static int
daemon_longopts(const struct option *extra, struct option *buf, size_t cap)
{
	static const struct option common[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "name", required_argument, NULL, 'n' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
	};
	size_t n = 0;
	for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++)
		buf[n++] = common[i];
	for (; extra != NULL && extra->name != NULL; extra++) {
		if (n + 1 >= cap)
			return -1;
		buf[n++] = *extra;
	}
	buf[n] = (struct option){ NULL, 0, NULL, 0 };
	return 0;
}

int
daemon_parse_args(int argc, char **argv, const struct option *extra, daemon_opt_fn on_opt,
    void *user, daemon_args *out)
{
	struct option opts[16];
	int ch, rv;

	*out = (daemon_args){ 0 };
	if (daemon_longopts(extra, opts, sizeof(opts) / sizeof(opts[0])) != 0)
		return -1;
	while ((ch = getopt_long(argc, argv, "c:n:vqh", opts, NULL)) != -1) {
		switch (ch) {
		case 'h': out->help = 1; return 0;
		case 'V': out->version = 1; return 0;
		case 'c': out->file = optarg; break;
		case 'n': out->name = optarg; break;
		case 'C': out->check = 1; break;
		case 'v': out->verbose = 1; out->quiet = 0; break;
		case 'q': out->quiet = 1; out->verbose = 0; break;
		case '?': return -1;
		default:
			if (on_opt == NULL)
				return -1;
			if ((rv = on_opt(ch, optarg, user)) != 0)
				return rv;
		}
	}
	return out->file == NULL || optind != argc ? -1 : 0;
}

int
daemon_log_level(const daemon_args *a, int file_level)
{
	if (a->verbose)
		return TLOG_DEBUG;
	if (a->quiet)
		return TLOG_WARN;
	return file_level >= TLOG_ERROR && file_level <= TLOG_DEBUG ? file_level : TLOG_INFO;
}

void
daemon_usage(const char *usage)
{
	fputs(usage, stderr);
	exit(2);
}

void
daemon_help(const char *usage, const char *about, const char *options, const char *page)
{
	fputs(usage, stdout);
	printf("\n%s\n"
	    "  -c, --config FILE   the cluster file (twopc.yaml(5))\n"
	    "%s"
	    "  -v, --verbose       log every step (DEBUG), whatever log_level says\n"
	    "  -q, --quiet         log only warnings and errors, whatever log_level says\n"
	    "  -h, --help          this text\n"
	    "      --version       the release\n"
	    "\n"
	    "Exit status: 0 stopped by a signal, 1 could not start or a log write\n"
	    "failed, 2 usage or configuration error. See %s.\n", about, options, page);
}

void
daemon_print_version(const char *prog)
{
	printf("%s (twopc) %s\n", prog, TWOPC_PKG_VERSION);
}

static void *
daemon_signal_thread(void *arg)
{
	daemon_signals *s = arg;
	int sig;
	while (sigwait(&s->set, &sig) == 0) {
		if (sig == SIGHUP) {
			if (s->reload == NULL)
				tlog_warn("SIGHUP: nothing to reload here; ignored");
			else
				s->reload(s->arg);
			continue;
		}
		tlog_info("signal %d: stopping", sig);
		s->stop(s->arg);
		break;
	}
	return NULL;
}

void
daemon_signals_block(daemon_signals *s)
{
	sigemptyset(&s->set);
	sigaddset(&s->set, SIGTERM);
	sigaddset(&s->set, SIGINT);
	sigaddset(&s->set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &s->set, NULL);
	/* main() may have ignored SIGHUP until now (a hangup while it reads
	 * its file must not end it); an ignored signal is never queued for
	 * sigwait, a blocked one with its default action is. */
	signal(SIGHUP, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
}

int
daemon_signals_start(daemon_signals *s, daemon_stop_fn stop, daemon_reload_fn reload,
    void *arg)
{
	pthread_t t;
	s->stop = stop;
	s->reload = reload;
	s->arg = arg;
	int rv = pthread_create(&t, NULL, daemon_signal_thread, s);
	if (rv == 0)
		pthread_detach(t);
	return rv;
}
