/*
 * dresolve.c - twopc resolve TXID --commit|--abort [--force] [--json]
 *              twopc resolve TXID --forget-heuristic [--json]
 *
 * Without --force the coordinator resolves (cresolve.c): the outcome
 * becomes its decision and its phase two delivers it; it refuses while a
 * decision exists anywhere, while the txid runs, or while a participant
 * cannot be reached. With --force (a heuristic outcome, XA's word) the
 * driver sends the outcome to every participant first (each applies it
 * where the txid is still undecided and records a heuristic row), then to
 * the coordinator (which repairs an unhealable violation with END, or
 * records the outcome when it has no decision). Either way it ends with
 * the damage report: every node's state of the txid, "heuristic" where an
 * outcome was forced or a violation recorded.
 *
 * Exit status: 0 every node reached holds the outcome (or has no part
 * in it); 1 refused; 2 usage; 3 a node could not be reached or has not
 * applied it yet (the report says which); 4 nodes disagree (damage).
 */
#include "dresolve.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dcli.h"
#include "djson.h"
#include "heur.h"

#define DRES_REFUSED 1
#define DRES_USAGE 2
#define DRES_UNKNOWN 3

static int
dres_usage(void)
{
	fprintf(stderr, "usage: twopc -c FILE resolve TXID --commit|--abort [--force] [--json] "
	    "[--timeout MS]\n       twopc -c FILE resolve TXID --forget-heuristic [--json]\n");
	return DRES_USAGE;
}

static int
dres_unreachable(int rv)
{
	return rv == TWOPC_ETIMEDOUT || rv == TWOPC_ENET || rv == TWOPC_ECLOSED;
}

/* The damage report: each node's state of TXID now, and the exit status
 * it means (0, 3 or 4). */
static int
dres_report(twopc_client *cl, const char *txid, const char *outcome, int force, int json,
    int timeout_ms, const char *note)
{
	int commit = 0, abort_ = 0, pending = 0;
	if (json) {
		printf("{\"txid\":");
		djson_str(txid);
		printf(",\"outcome\":\"%s\",\"force\":%s,\"nodes\":[", outcome, force ? "true" : "false");
	}
	for (size_t i = 0; twopc_client_node(cl, i) != NULL; i++) {
		const char *node = twopc_client_node(cl, i);
		twopc_status *st = NULL;
		size_t n = 0;
		int rv = twopc_client_status(cl, node, txid, &st, &n, timeout_ms);
		const char *state = rv != 0 ? "UNREACHABLE" : n == 0 ? "NONE" : st[0].state;
		const char *detail = rv != 0 ? twopc_strerror(rv) : n > 0 ? st[0].detail : "no record";
		int heur = rv == 0 && n > 0 && heur_damaged(detail);
		if (rv != 0 || strcmp(state, "READY") == 0 || strcmp(state, "INIT") == 0 ||
		    strcmp(state, "WAIT") == 0)
			pending = 1;
		if (strcmp(state, "COMMIT") == 0 || strcmp(state, "END") == 0)
			commit = 1;
		if (strcmp(state, "ABORT") == 0)
			abort_ = 1;
		if (json) {
			printf("%s{\"node\":", i ? "," : "");
			djson_str(node);
			printf(",\"role\":\"%s\",\"state\":\"%s\",\"heuristic\":%s,\"detail\":",
			    i == 0 ? "coordinator" : "participant", state, heur ? "true" : "false");
			djson_str(detail);
			printf("}");
		} else {
			printf("  %-12s %-11s %-11s %-9s %s\n", node, i == 0 ? "coordinator" : "participant",
			    state, heur ? "heuristic" : "-", detail);
		}
		free(st);
	}
	int code = commit && abort_ ? DRES_EXIT_DAMAGE : pending ? DRES_UNKNOWN : 0;
	const char *result = code == 0 ? "resolved" : code == DRES_EXIT_DAMAGE ? "damaged" : "incomplete";
	if (json) {
		printf("],\"result\":\"%s\",\"note\":", result);
		djson_str(note);
		printf("}\n");
	} else {
		printf("%s %s: %s%s%s\n", code == 0 ? "RESOLVED" : code == DRES_EXIT_DAMAGE ? "DAMAGED" :
		    "INCOMPLETE", txid, code == DRES_EXIT_DAMAGE ? "nodes disagree (heuristic damage)" :
		    code == 0 ? "every node reached agrees" : "a node was not reached or has not applied it",
		    note[0] ? "; " : "", note);
	}
	return code;
}

static void
dres_refused(const char *txid, const char *outcome, int json, const char *why)
{
	if (json) {
		printf("{\"txid\":");
		djson_str(txid);
		printf(",\"outcome\":\"%s\",\"result\":\"refused\",\"reason\":", outcome);
		djson_str(why);
		printf("}\n");
	} else {
		fprintf(stderr, "twopc: resolve %s refused: %s\n", txid, why);
	}
}

/* --forget-heuristic: every node drops its heuristic record of TXID. */
static int
dres_forget(twopc_client *cl, const char *txid, const char *word, int json, int timeout_ms)
{
	char why[4200];
	twopc_status st;
	int missed = 0;

	for (size_t i = 0; twopc_client_node(cl, i) != NULL; i++) {
		int rv = twopc_client_resolve(cl, twopc_client_node(cl, i), txid, 0, 0, &st, why,
		    sizeof(why), timeout_ms);
		if (rv != 0) {
			missed = 1;
			fprintf(stderr, "twopc: %s: %s\n", twopc_client_node(cl, i),
			    why[0] ? why : twopc_strerror(rv));
		}
	}
	int code = dres_report(cl, txid, word, 0, json, 2000, missed ?
	    "some nodes kept their heuristic record" : "heuristic records dropped");
	return missed ? DRES_UNKNOWN : code == DRES_EXIT_DAMAGE ? 0 : code;
}

/* Without --force: the coordinator decides whether OUTCOME may be applied. */
static int
dres_ask(twopc_client *cl, const char *txid, int outcome, const char *word, int json,
    int timeout_ms)
{
	char why[4200], note[4300];
	twopc_status st;
	const char *coord = twopc_client_node(cl, 0);

	int rv = twopc_client_resolve(cl, coord, txid, outcome, 0, &st, why, sizeof(why),
	    timeout_ms);
	if (rv != 0 && why[0] == '\0' && dres_unreachable(rv)) {
		snprintf(why, sizeof(why), "the coordinator %s cannot be reached (%s); --force "
		    "applies the outcome heuristically at the participants", coord,
		    twopc_strerror(rv));
		dres_refused(txid, word, json, why);
		return DRES_UNKNOWN;
	}
	if (rv != 0) {
		dres_refused(txid, word, json, why[0] ? why : twopc_strerror(rv));
		return rv == TWOPC_ETIMEDOUT ? DRES_UNKNOWN : rv == TWOPC_EINVAL ? DRES_USAGE :
		    DRES_REFUSED;
	}
	snprintf(note, sizeof(note), "%s: %s", coord, st.detail);
	return dres_report(cl, txid, word, 0, json, 2000, note);
}

/* --force: the participants first (the coordinator may be down), then the
 * coordinator, which sees what they now hold. */
static int
dres_force(twopc_client *cl, const char *txid, int outcome, const char *word, int json,
    int timeout_ms)
{
	char why[4200], note[4300] = "";
	twopc_status st;
	const char *coord = twopc_client_node(cl, 0);
	size_t at = 0;

	for (size_t i = 1; twopc_client_node(cl, i) != NULL; i++) {
		const char *node = twopc_client_node(cl, i);
		int rv = twopc_client_resolve(cl, node, txid, outcome, 1, &st, why, sizeof(why), timeout_ms);
		if (rv != 0 && at < sizeof(note))
			at += (size_t)snprintf(note + at, sizeof(note) - at, "%s%s: %s", at ? "; " : "",
			    node, why[0] ? why : twopc_strerror(rv));
	}
	int rv = twopc_client_resolve(cl, coord, txid, outcome, 1, &st, why, sizeof(why), timeout_ms);
	if (rv != 0 && at < sizeof(note))
		snprintf(note + at, sizeof(note) - at, "%s%s: %s", at ? "; " : "", coord,
		    why[0] ? why : twopc_strerror(rv));
	return dres_report(cl, txid, word, 1, json, 2000, note);
}

int
dres_main(twopc_client *cl, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "commit", no_argument, NULL, 'C' },
		{ "abort", no_argument, NULL, 'A' },
		{ "force", no_argument, NULL, 'f' },
		{ "forget-heuristic", no_argument, NULL, 'F' },
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 'T' },
		{ NULL, 0, NULL, 0 },
	};
	int outcome = -1, force = 0, json = 0, timeout_ms = 10000, ch, nout = 0;

	/* GNU order (TXID before or after the options): optind 0 makes glibc
	 * forget the "+" mode of the driver's first getopt. */
	optind = 0;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'C': outcome = TWOPC_COMMITTED; nout++; break;
		case 'A': outcome = TWOPC_ABORTED; nout++; break;
		case 'F': outcome = 0; nout++; break;
		case 'f': force = 1; break;
		case 'j': json = 1; break;
		case 'T':
			if (drv_timeout_arg(optarg, &timeout_ms) != 0)
				return DRES_USAGE;
			break;
		default: return dres_usage();
		}
	}
	const char *txid = optind + 1 == argc ? argv[optind] : NULL;
	if (txid == NULL || nout != 1 || timeout_ms <= 0 || (outcome == 0 && force)) {
		if (nout != 1)
			fprintf(stderr, "twopc: resolve needs exactly one of --commit, --abort, "
			    "--forget-heuristic\n");
		return dres_usage();
	}
	if (strlen(txid) > 64 || strchr(txid, ' ') != NULL || txid[0] == '\0') {
		fprintf(stderr, "twopc: bad txid '%s' (1-64 printable characters, no spaces)\n", txid);
		return DRES_USAGE;
	}
	const char *word = outcome == TWOPC_COMMITTED ? "COMMIT" : outcome == TWOPC_ABORTED ? "ABORT" :
	    "FORGET";
	if (outcome == 0)
		return dres_forget(cl, txid, word, json, timeout_ms);
	if (!force)
		return dres_ask(cl, txid, outcome, word, json, timeout_ms);
	return dres_force(cl, txid, outcome, word, json, timeout_ms);
}
