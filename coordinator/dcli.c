/*
 * dcli.c - what the subcommands of twopc(1) share: usage and help, the
 * common options, and the checks of a txid or timeout on the command line.
 *
 * Contract (dcli.h): a bad argument is named on stderr and ends in exit
 * status 2 (EXIT_USAGE), as DESIGN section 9 gives for usage errors;
 * drv_timeout_arg returns instead so that a subcommand may print its own
 * usage after it.
 */
#include "dcli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

const char *const drv_prog = "twopc";

static const char drv_usage[] =
	    "usage: twopc -c FILE commit [--txid ID] [--json] [--timeout MS] P:OP:KEY[=VALUE] ...\n"
	    "       twopc -c FILE get [--json] P KEY\n"
	    "       twopc -c FILE status [--json] TXID\n"
	    "       twopc -c FILE list [--in-doubt] [--json]\n"
	    "       twopc -c FILE resolve TXID --commit|--abort [--force] [--json]\n"
	    "       twopc -c FILE resolve TXID --forget-heuristic [--json]\n"
	    "       twopc -c FILE bench [--concurrency N] [--duration SECONDS] [--participants K] [--hot N] [--json]\n"
	    "       twopc --help | --version\n"
	    "OP is put, del, check or add; e.g. alpha:add:alice=-100 beta:add:bob=100\n";

void
drv_usage_exit(void)
{
	fputs(drv_usage, stderr);
	exit(EXIT_USAGE);
}

void
drv_help(void)
{
	fputs(drv_usage, stdout);
	fputs("\n"
	    "The transaction driver of a twopc cluster (a client of its coordinator).\n"
	    "\n"
	    "  -c, --config FILE   the cluster file (twopc.yaml(5))\n"
	    "      --txid ID       commit: the transaction's id (1-64 printable\n"
	    "                      characters, no spaces); retrying it is safe\n"
	    "      --timeout MS    how long to wait for an answer (1 to 86400000)\n"
	    "      --json          one JSON object on stdout\n"
	    "      --in-doubt      list: only transactions a participant holds READY\n"
	    "  -h, --help          this text\n"
	    "      --version       the release\n"
	    "\n"
	    "Exit status: 0 committed (or success), 1 aborted (or key not found),\n"
	    "2 usage or configuration error, 3 outcome unknown (coordinator or node\n"
	    "unreachable), 4 heuristic damage (resolve). See twopc(1).\n", stdout);
	exit(0);
}

/* A TXID given on the command line: a usage error naming it (shortened:
 * it may be 10,000 characters) unless 1-64 printable, no spaces. */
void
drv_check_txid(const char *what, const char *txid)
{
	if (wire_txid_valid(txid))
		return;
	size_t n = strlen(txid);
	fprintf(stderr, "%s: invalid %s '%.40s%s' (%zu bytes): expected 1-64 printable characters, "
	    "no spaces\n", drv_prog, what, txid, n > 40 ? "..." : "", n);
	exit(EXIT_USAGE);
}

int
drv_timeout_arg(const char *arg, int *ms)
{
	char *end;
	errno = 0;
	long long v = strtoll(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' || v < 1 || v > DRV_TIMEOUT_MAX) {
		fprintf(stderr, "%s: invalid --timeout '%s': expected milliseconds, a whole number "
		    "from 1 to %d\n", drv_prog, arg, DRV_TIMEOUT_MAX);
		return -1;
	}
	*ms = (int)v;
	return 0;
}

int
drv_parse_opts(int argc, char **argv, drv_opts *o)
{
	static const struct option longopts[] = {
		{ "txid", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "in-doubt", no_argument, NULL, 'i' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (ch) {
		case 't': o->txid = optarg; break;
		case 'j': o->json = 1; break;
		case 'i': o->in_doubt = 1; break;
		case 'T':
			if (drv_timeout_arg(optarg, &o->timeout_ms) != 0)
				exit(EXIT_USAGE);
			break;
		case 'h': drv_help(); break;
		default: drv_usage_exit();
		}
	}
	return optind;
}

void
drv_age(uint64_t ms, char *buf, size_t len)
{
	if (ms < 10000)
		snprintf(buf, len, "%.1fs", (double)ms / 1000.0);
	else if (ms < 3600000)
		snprintf(buf, len, "%llus", (unsigned long long)(ms / 1000));
	else
		snprintf(buf, len, "%lluh", (unsigned long long)(ms / 3600000));
}
