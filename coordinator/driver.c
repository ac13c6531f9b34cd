/*
 * driver.c - twopc(1), the command-line transaction driver, a client of
 * the coordinator built on twopc/client.h.
 *
 *   twopc -c FILE commit [--txid ID] [--json] [--timeout MS] P:OP:KEY[=VALUE] ...
 *   twopc -c FILE get [--json] P KEY
 *   twopc -c FILE status [--json] TXID
 *   twopc -c FILE list [--in-doubt] [--json]
 *   twopc -c FILE resolve TXID --commit|--abort [--force] [--json]   (dresolve.c)
 *   twopc --help | --version
 *
 * Exit status (DESIGN section 9): 0 committed (or success), 1 aborted (or
 * key not found), 2 usage or configuration error, 3 outcome unknown
 * (coordinator or node unreachable); resolve adds 4 (heuristic damage).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "db.h"
#include "djson.h"
#include "dresolve.h"
#include "heur.h"
#include "twopc/client.h"
#include "version.h"
#include "wire.h"

#define EXIT_ABORTED 1
#define EXIT_USAGE 2
#define EXIT_UNKNOWN 3
#define HC_NODES_MAX 65
#define DRV_TIMEOUT_MAX 86400000 /* --timeout: one day, in ms */
#define DRV_PROBE_MS 1000        /* the coordinator must accept a connection within */

static const char *prog = "twopc";

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

static void
usage(void)
{
	fputs(drv_usage, stderr);
	exit(EXIT_USAGE);
}

static void
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
static void
drv_check_txid(const char *what, const char *txid)
{
	if (wire_txid_valid(txid))
		return;
	size_t n = strlen(txid);
	fprintf(stderr, "%s: invalid %s '%.40s%s' (%zu bytes): expected 1-64 printable characters, "
	    "no spaces\n", prog, what, txid, n > 40 ? "..." : "", n);
	exit(EXIT_USAGE);
}

/* --timeout MS: a whole number of milliseconds, 1 to DRV_TIMEOUT_MAX. */
static int
drv_timeout(const char *arg)
{
	char *end;
	errno = 0;
	long long v = strtoll(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' || v < 1 || v > DRV_TIMEOUT_MAX) {
		fprintf(stderr, "%s: invalid --timeout '%s': expected milliseconds, a whole number "
		    "from 1 to %d\n", prog, arg, DRV_TIMEOUT_MAX);
		exit(EXIT_USAGE);
	}
	return (int)v;
}

typedef struct drv_opts {
	const char *txid;
	int json;
	int in_doubt;
	int timeout_ms;
} drv_opts;

static int
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
		case 'T': o->timeout_ms = drv_timeout(optarg); break;
		case 'h': drv_help(); break;
		default: usage();
		}
	}
	return optind;
}

/* P:OP:KEY[=VALUE] -> tx. Exits with a message naming the bad part. */
static void
drv_add_op(twopc_client *cl, twopc_tx *tx, const char *arg)
{
	char *buf = strdup(arg);
	if (buf == NULL) {
		fprintf(stderr, "%s: out of memory\n", prog);
		exit(EXIT_USAGE);
	}
	char *p = buf, *op = strchr(p, ':');
	char *key = op ? strchr(op + 1, ':') : NULL;
	if (op == NULL || key == NULL) {
		fprintf(stderr, "%s: malformed operation '%s' (expected P:OP:KEY[=VALUE])\n", prog, arg);
		exit(EXIT_USAGE);
	}
	*op++ = '\0';
	*key++ = '\0';
	char *value = strchr(key, '=');
	if (value != NULL)
		*value++ = '\0';
	if (!twopc_client_has_participant(cl, p)) {
		fprintf(stderr, "%s: unknown participant '%s' in '%.60s'\n", prog, p, arg);
		exit(EXIT_USAGE);
	}
	if (strlen(key) > WIRE_KEY_MAX) {
		fprintf(stderr, "%s: key too long (%zu bytes, at most %d) in '%s:%s:%.20s...'\n", prog,
		    strlen(key), WIRE_KEY_MAX, p, op, key);
		exit(EXIT_USAGE);
	}
	int rv = twopc_tx_add(tx, p, op, key, value);
	if (rv == 0) {
		free(buf);
		return;
	}
	if (rv == TWOPC_EINVAL) {
		if (strcmp(op, "put") && strcmp(op, "del") && strcmp(op, "check") && strcmp(op, "add"))
			fprintf(stderr, "%s: unknown operation '%s' in '%.200s' (expected put, del, check or add)\n",
			    prog, op, arg);
		else if (key[0] == '\0')
			fprintf(stderr, "%s: empty key in '%.200s'\n", prog, arg);
		else if (strcmp(op, "del") == 0)
			fprintf(stderr, "%s: del takes no value in '%.200s'\n", prog, arg);
		else if (value == NULL)
			fprintf(stderr, "%s: %s needs a value in '%.200s' (KEY=VALUE)\n", prog, op, arg);
		else
			fprintf(stderr, "%s: add needs an integer in '%.200s'\n", prog, arg);
	} else if (rv == TWOPC_ETOOBIG && value != NULL && strlen(value) > WIRE_VALUE_MAX) {
		fprintf(stderr, "%s: value too long (%zu bytes, at most %d) in '%s:%s:%.40s'\n", prog,
		    strlen(value), WIRE_VALUE_MAX, p, op, key);
	} else {
		fprintf(stderr, "%s: cannot add '%.200s': %s\n", prog, arg, twopc_strerror(rv));
	}
	exit(EXIT_USAGE);
}

/* Why the outcome of a commit is unknown, with the time it really took:
 * a connection that broke after 55 ms is not a coordinator that was
 * silent for the whole --timeout. */
static void
drv_unknown(int rv, const char *why, long long took_ms, const char *id)
{
	const char *sep = id[0] ? "; txid " : "";
	if (rv == TWOPC_ETIMEDOUT && why[0] != '\0')
		fprintf(stderr, "%s: outcome unknown: the coordinator answered after %lld ms that it "
		    "does not know it yet: %s%s%s\n", prog, took_ms, why, sep, id);
	else if (rv == TWOPC_ETIMEDOUT)
		fprintf(stderr, "%s: outcome unknown: the coordinator did not answer within %lld ms "
		    "(timed out)%s%s\n", prog, took_ms, sep, id);
	else
		fprintf(stderr, "%s: outcome unknown: the coordinator closed the connection after %lld ms "
		    "(%s)%s%s\n", prog, took_ms, twopc_strerror(rv), sep, id);
}

static int
drv_commit(twopc_client *cl, int argc, char **argv)
{
	drv_opts o = { .timeout_ms = 30000 };
	int at = drv_parse_opts(argc, argv, &o);
	twopc_tx *tx;
	int outcome = 0;

	if (at >= argc)
		usage();
	if (o.txid != NULL)
		drv_check_txid("--txid", o.txid);
	if (twopc_tx_begin(cl, o.txid, &tx) != 0) {
		fprintf(stderr, "%s: cannot begin a transaction\n", prog);
		return EXIT_USAGE;
	}
	for (int i = at; i < argc; i++)
		drv_add_op(cl, tx, argv[i]);
	/* Nothing listening: say so now, not after the whole --timeout
	 * (NNG's dialer would retry in the background until then). Nothing
	 * was sent, so nothing can have committed. */
	char unreached[256];
	const char *coord = twopc_client_node(cl, 0);
	int probe = twopc_client_probe(cl, coord, o.timeout_ms < DRV_PROBE_MS ? o.timeout_ms :
	    DRV_PROBE_MS, unreached, sizeof(unreached));
	if (probe == TWOPC_ENET || probe == TWOPC_ETIMEDOUT) {
		if (o.json) {
			printf("{\"txid\":");
			djson_str(o.txid != NULL ? o.txid : "");
			printf(",\"outcome\":\"unknown\",\"reason\":");
			char reason[320];
			snprintf(reason, sizeof(reason), "cannot reach the coordinator: %s", unreached);
			djson_str(reason);
			printf("}\n");
		}
		fprintf(stderr, "%s: cannot reach the coordinator %s: %s; the transaction was not "
		    "submitted\n", prog, coord, unreached);
		twopc_tx_free(tx);
		return EXIT_UNKNOWN;
	}
	int64_t t0 = mono_ms();
	int rv = twopc_tx_commit(tx, o.timeout_ms, &outcome);
	long long took = (long long)(mono_ms() - t0);
	int code;
	const char *word;
	if (rv == 0) {
		code = outcome == TWOPC_COMMITTED ? 0 : EXIT_ABORTED;
		word = outcome == TWOPC_COMMITTED ? "committed" : "aborted";
	} else if (rv == TWOPC_ETIMEDOUT || rv == TWOPC_ENET || rv == TWOPC_ECLOSED) {
		code = EXIT_UNKNOWN;
		word = "unknown";
	} else {
		code = EXIT_USAGE;
		word = "refused";
	}
	const char *id = twopc_tx_id(tx), *why = twopc_tx_reason(tx);
	if (o.json) {
		printf("{\"txid\":");
		djson_str(id);
		printf(",\"outcome\":\"%s\",\"reason\":", word);
		djson_str(rv == 0 || rv == TWOPC_EINVAL || rv == TWOPC_ENOENT ? why : twopc_strerror(rv));
		printf("}\n");
	} else if (code == 0) {
		printf("COMMITTED %s\n", id);
	} else if (code == EXIT_ABORTED) {
		printf("ABORTED %s: %s\n", id, why[0] ? why : "no reason given");
	} else if (code == EXIT_UNKNOWN) {
		drv_unknown(rv, why, took, id);
		if (o.txid != NULL)
			fprintf(stderr, "%s: retrying with --txid %s is safe: it will not run twice\n",
			    prog, o.txid);
	} else {
		fprintf(stderr, "%s: the coordinator refused the transaction: %s\n", prog,
		    why[0] ? why : twopc_strerror(rv));
	}
	twopc_tx_free(tx);
	return code;
}

static int
drv_get(twopc_client *cl, int argc, char **argv)
{
	drv_opts o = { .timeout_ms = 5000 };
	int at = drv_parse_opts(argc, argv, &o);
	char value[8192];
	int found = 0;

	if (argc - at != 2)
		usage();
	if (strlen(argv[at + 1]) > WIRE_KEY_MAX) {
		fprintf(stderr, "%s: key too long (%zu bytes, at most %d)\n", prog, strlen(argv[at + 1]),
		    WIRE_KEY_MAX);
		return EXIT_USAGE;
	}
	int rv = twopc_client_get(cl, argv[at], argv[at + 1], value, sizeof(value), &found, o.timeout_ms);
	if (rv == TWOPC_ENOENT) {
		fprintf(stderr, "%s: unknown participant '%s'\n", prog, argv[at]);
		return EXIT_USAGE;
	}
	if (rv == TWOPC_ETIMEDOUT || rv == TWOPC_ENET || rv == TWOPC_ECLOSED) {
		fprintf(stderr, "%s: %s did not answer: %s\n", prog, argv[at], twopc_strerror(rv));
		return EXIT_UNKNOWN;
	}
	if (rv != 0) {
		fprintf(stderr, "%s: %s refused the read: %s\n", prog, argv[at], twopc_strerror(rv));
		return EXIT_USAGE;
	}
	if (o.json) {
		printf("{\"participant\":");
		djson_str(argv[at]);
		printf(",\"key\":");
		djson_str(argv[at + 1]);
		printf(",\"found\":%s,\"value\":", found ? "true" : "false");
		if (found)
			djson_str(value);
		else
			printf("null");
		printf("}\n");
	} else if (found) {
		printf("%s\n", value);
	} else {
		fprintf(stderr, "%s: %s has no key '%s'\n", prog, argv[at], argv[at + 1]);
	}
	return found ? 0 : EXIT_ABORTED;
}

static void
drv_age(uint64_t ms, char *buf, size_t len)
{
	if (ms < 10000)
		snprintf(buf, len, "%.1fs", (double)ms / 1000.0);
	else if (ms < 3600000)
		snprintf(buf, len, "%llus", (unsigned long long)(ms / 1000));
	else
		snprintf(buf, len, "%lluh", (unsigned long long)(ms / 3600000));
}

static int
drv_status(twopc_client *cl, int argc, char **argv)
{
	drv_opts o = { .timeout_ms = 2000 };
	int at = drv_parse_opts(argc, argv, &o);
	int reached = 0;
	char coord_state[16] = "", members[2200] = "";

	if (argc - at != 1)
		usage();
	const char *txid = argv[at];
	drv_check_txid("TXID", txid);
	if (o.json) {
		printf("{\"txid\":");
		djson_str(txid);
		printf(",\"nodes\":[");
	} else {
		printf("%s\n", txid);
	}
	for (size_t i = 0; twopc_client_node(cl, i) != NULL; i++) {
		const char *node = twopc_client_node(cl, i);
		twopc_status *st = NULL;
		size_t n = 0;
		int rv = twopc_client_status(cl, node, txid, &st, &n, o.timeout_ms);
		reached += rv == 0;
		const char *state = rv != 0 ? "UNREACHABLE" : n == 0 ? "NONE" : st[0].state;
		if (i == 0) {
			snprintf(coord_state, sizeof(coord_state), "%s", state);
			if (rv == 0 && n > 0 && strncmp(st[0].detail, "participants=", 13) == 0) {
				snprintf(members, sizeof(members), ",%s", st[0].detail + 13);
				members[strcspn(members, ";")] = '\0';
				strncat(members, ",", sizeof(members) - strlen(members) - 1);
			}
		}
		char me[40];
		snprintf(me, sizeof(me), ",%s,", node);
		int member = strstr(members, me) != NULL;
		if (o.json) {
			printf("%s{\"node\":", i ? "," : "");
			djson_str(node);
			printf(",\"role\":\"%s\",\"state\":\"%s\"", i == 0 ? "coordinator" : "participant", state);
			if (rv == 0 && n > 0) {
				printf(",\"age_ms\":%llu,\"epoch\":%llu,\"detail\":",
				    (unsigned long long)st[0].age_ms, (unsigned long long)st[0].epoch);
				djson_str(st[0].detail);
			}
			printf("}");
		} else {
			const char *detail = rv != 0 ? twopc_strerror(rv) : n > 0 ? st[0].detail :
			    i == 0 ? "no record (presumed ABORT)" : members[0] && !member ? "not a participant" :
			    strcmp(coord_state, "END") == 0 ? "no record: committed and forgotten after END" :
			    "no record";
			char age[32] = "-";
			if (rv == 0 && n > 0)
				drv_age(st[0].age_ms, age, sizeof(age));
			printf("  %-12s %-11s %-8s %-6s %s\n", node, i == 0 ? "coordinator" : "participant",
			    state, age, detail);
		}
		free(st);
	}
	if (o.json)
		printf("]}\n");
	return reached ? 0 : EXIT_UNKNOWN;
}

/* The "why" part of a participant's status detail ("peers=a,b; WHY"). */
static const char *
drv_why(const char *detail)
{
	const char *semi = strstr(detail, "; ");
	return semi ? semi + 2 : "";
}

#define DRV_MAX_LIST 256

/* One transaction of `twopc list`, as every reachable node sees it. */
typedef struct drv_row {
	char states[HC_NODES_MAX][16];  /* "?" unreachable, "-" no record */
	char why[600];
	char damage[600];
	uint64_t age;
	int in_doubt;
} drv_row;

/* The txids unfinished at any node, at most DRV_MAX_LIST, in TXIDS;
 * DOWN[i] set for every node that did not answer. Returns the count;
 * *REACHED the nodes that answered. */
static size_t
drv_list_collect(twopc_client *cl, size_t nnodes, int timeout_ms, int *down,
    char (*txids)[65], int *reached)
{
	size_t ntx = 0;

	*reached = 0;
	for (size_t i = 0; i < nnodes; i++) {
		twopc_status *st = NULL;
		size_t n = 0;
		if (twopc_client_status(cl, twopc_client_node(cl, i), NULL, &st, &n, timeout_ms) != 0) {
			down[i] = 1;
			continue;
		}
		(*reached)++;
		for (size_t k = 0; k < n; k++) {
			size_t j;
			for (j = 0; j < ntx && strcmp(txids[j], st[k].txid) != 0; j++)
				;
			if (j == ntx && ntx < DRV_MAX_LIST)
				snprintf(txids[ntx++], sizeof(txids[0]), "%s", st[k].txid);
		}
		free(st);
	}
	return ntx;
}

/* Ask every node not DOWN about TXID (a node that does not answer is
 * marked DOWN) and say why it is unfinished. */
static void
drv_list_probe(twopc_client *cl, size_t nnodes, int timeout_ms, int *down, const char *txid,
    drv_row *r)
{
	memset(r, 0, sizeof(*r));
	for (size_t i = 0; i < nnodes && i < HC_NODES_MAX; i++) {
		twopc_status *st = NULL;
		size_t n = 0;
		if (down[i] || twopc_client_status(cl, twopc_client_node(cl, i), txid, &st, &n,
		    timeout_ms) != 0) {
			down[i] = 1;
			snprintf(r->states[i], sizeof(r->states[i]), "?");
			continue;
		}
		snprintf(r->states[i], sizeof(r->states[i]), "%s", n ? st[0].state : "-");
		if (n && r->damage[0] == '\0' && heur_damaged(st[0].detail)) {
			const char *h = strstr(st[0].detail, "heuristic ");
			const char *v = strstr(st[0].detail, "VIOLATION: ");
			snprintf(r->damage, sizeof(r->damage), "DAMAGED at %s: %s",
			    twopc_client_node(cl, i), v != NULL ? v : h);
		}
		if (n && st[0].age_ms > r->age)
			r->age = st[0].age_ms;
		if (n && i > 0 && strcmp(st[0].state, "READY") == 0) {
			r->in_doubt = 1;
			if (r->why[0] == '\0')
				snprintf(r->why, sizeof(r->why), "%s", drv_why(st[0].detail));
		}
		free(st);
	}
	if (r->damage[0] != '\0')
		snprintf(r->why, sizeof(r->why), "%s", r->damage);
	if (r->why[0] == '\0')
		snprintf(r->why, sizeof(r->why), "%s", r->in_doubt ? "waiting for the decision" :
		    strcmp(r->states[0], "COMMIT") == 0 ? "coordinator resending GLOBAL_COMMIT" :
		    strcmp(r->states[0], "WAIT") == 0 ? "coordinator collecting votes" : "");
}

/* One line of the table, or one object of the JSON array (FIRST: no
 * comma before it). */
static void
drv_list_print(twopc_client *cl, size_t nnodes, int json, int first, const char *txid,
    const drv_row *r)
{
	char agebuf[32];
	drv_age(r->age, agebuf, sizeof(agebuf));
	if (!json) {
		printf("%-24s %-7s", txid, agebuf);
		for (size_t i = 0; i < nnodes && i < HC_NODES_MAX; i++)
			printf(" %-8s", r->states[i]);
		printf(" %s\n", r->why);
		return;
	}
	printf("%s{\"txid\":", first ? "" : ",");
	djson_str(txid);
	printf(",\"age_ms\":%llu,\"in_doubt\":%s,\"damaged\":%s,\"states\":{",
	    (unsigned long long)r->age, r->in_doubt ? "true" : "false",
	    r->damage[0] ? "true" : "false");
	for (size_t i = 0; i < nnodes && i < HC_NODES_MAX; i++) {
		printf("%s", i ? "," : "");
		djson_str(twopc_client_node(cl, i));
		printf(":\"%s\"", strcmp(r->states[i], "?") == 0 ? "UNREACHABLE" :
		    strcmp(r->states[i], "-") == 0 ? "NONE" : r->states[i]);
	}
	printf("},\"why\":");
	djson_str(r->why);
	printf("}");
}

/* What follows the rows: the unreachable nodes. */
static void
drv_list_footer(twopc_client *cl, size_t nnodes, const drv_opts *o, const int *down,
    int reached, size_t shown)
{
	if (o->json) {
		printf("],\"nodes_reached\":%d,\"unreachable\":[", reached);
		int first = 1;
		for (size_t i = 0; i < nnodes; i++) {
			if (!down[i])
				continue;
			printf("%s", first ? "" : ",");
			djson_str(twopc_client_node(cl, i));
			first = 0;
		}
		printf("]}\n");
		return;
	}
	if (shown == 0)
		printf("(no %s transactions)\n", o->in_doubt ? "in-doubt" : "unfinished");
	for (size_t i = 0; i < nnodes; i++)
		if (down[i])
			printf("note: %s did not answer; '?' marks its state\n", twopc_client_node(cl, i));
}

/*
 * list: every transaction not finished everywhere, one line each, with its
 * state at the coordinator and at every participant and why it is stuck.
 * Works while the coordinator is down: the participants are asked
 * directly. With --in-doubt, only those some participant holds READY.
 */
static int
drv_list(twopc_client *cl, int argc, char **argv)
{
	drv_opts o = { .timeout_ms = 2000 };
	int at = drv_parse_opts(argc, argv, &o);
	size_t nnodes = 0, shown = 0;
	static char txids[DRV_MAX_LIST][65];
	static drv_row row;
	int reached;

	if (at != argc)
		usage();
	while (twopc_client_node(cl, nnodes) != NULL)
		nnodes++;
	int *down = calloc(nnodes, sizeof(int));
	if (down == NULL)
		return EXIT_UNKNOWN;
	/* 1. What each node holds unfinished. */
	size_t ntx = drv_list_collect(cl, nnodes, o.timeout_ms, down, txids, &reached);
	/* 2. Each one as every reachable node sees it. */
	if (o.json)
		printf("{\"transactions\":[");
	else {
		printf("%-24s %-7s", "TXID", "AGE");
		for (size_t i = 0; i < nnodes; i++)
			printf(" %-8s", twopc_client_node(cl, i));
		printf(" WHY\n");
	}
	for (size_t t = 0; t < ntx; t++) {
		drv_list_probe(cl, nnodes, o.timeout_ms, down, txids[t], &row);
		if (o.in_doubt && !row.in_doubt)
			continue;
		drv_list_print(cl, nnodes, o.json, shown == 0, txids[t], &row);
		shown++;
	}
	drv_list_footer(cl, nnodes, &o, down, reached, shown);
	free(down);
	return reached ? 0 : EXIT_UNKNOWN;
}

int
main(int argc, char **argv)
{
	const char *file = NULL;
	int ch;
	twopc_client *cl;

	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	while ((ch = getopt_long(argc, argv, "+c:h", longopts, NULL)) != -1) {
		if (ch == 'c')
			file = optarg;
		else if (ch == 'h')
			drv_help();
		else if (ch == 'V') {
			printf("twopc %s\n", TWOPC_PKG_VERSION);
			return 0;
		} else
			usage();
	}
	if (file == NULL || optind >= argc)
		usage();
	const char *cmd = argv[optind];
	int sub_argc = argc - optind;
	char **sub_argv = argv + optind;

	int rv = twopc_client_open(&cl, file);
	if (rv != 0) {
		if (rv == TWOPC_ECONFIG)
			fputs(twopc_client_config_errors(), stderr);
		else
			fprintf(stderr, "%s: %s: %s\n", prog, file, twopc_strerror(rv));
		return EXIT_USAGE;
	}
	int code;
	if (strcmp(cmd, "commit") == 0)
		code = drv_commit(cl, sub_argc, sub_argv);
	else if (strcmp(cmd, "get") == 0)
		code = drv_get(cl, sub_argc, sub_argv);
	else if (strcmp(cmd, "status") == 0)
		code = drv_status(cl, sub_argc, sub_argv);
	else if (strcmp(cmd, "list") == 0)
		code = drv_list(cl, sub_argc, sub_argv);
	else if (strcmp(cmd, "resolve") == 0)
		code = dres_main(cl, sub_argc, sub_argv);
	else if (strcmp(cmd, "bench") == 0)
		code = bench_main(cl, sub_argc, sub_argv);
	else {
		fprintf(stderr, "%s: unknown command '%s'\n", prog, cmd);
		code = EXIT_USAGE;
	}
	twopc_client_close(cl);
	return code;
}
