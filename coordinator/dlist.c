/*
 * dlist.c - twopc list [--in-doubt] [--json] [--timeout MS]
 *
 * Every transaction not finished everywhere, one line (or JSON object)
 * each: its state at the coordinator and at every participant, its age,
 * and why it is stuck (a READY participant's own reason, heuristic damage,
 * or what the coordinator still does). The nodes are asked one by one, so
 * the list works while the coordinator is down; a node that does not
 * answer is shown as '?' and named after the table. At most DRV_MAX_LIST
 * transactions are shown. Exit status 0, or 3 if no node answered.
 */
#include "dlist.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dcli.h"
#include "djson.h"
#include "heur.h"

#define HC_NODES_MAX 65

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
int
drv_list(twopc_client *cl, int argc, char **argv)
{
	drv_opts o = { .timeout_ms = 2000 };
	int at = drv_parse_opts(argc, argv, &o);
	size_t nnodes = 0, shown = 0;
	static char txids[DRV_MAX_LIST][65];
	static drv_row row;
	int reached;

	if (at != argc)
		drv_usage_exit();
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
