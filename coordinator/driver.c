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
#include "dcli.h"
#include "dlist.h"
#include "db.h"
#include "djson.h"
#include "dresolve.h"
#include "heur.h"
#include "twopc/client.h"
#include "version.h"
#include "wire.h"

#define DRV_PROBE_MS 1000        /* the coordinator must accept a connection within */

/* P:OP:KEY[=VALUE] -> tx. Exits with a message naming the bad part. */
static void
drv_add_op(twopc_client *cl, twopc_tx *tx, const char *arg)
{
	char *buf = strdup(arg);
	if (buf == NULL) {
		fprintf(stderr, "%s: out of memory\n", drv_prog);
		exit(EXIT_USAGE);
	}
	char *p = buf, *op = strchr(p, ':');
	char *key = op ? strchr(op + 1, ':') : NULL;
	if (op == NULL || key == NULL) {
		fprintf(stderr, "%s: malformed operation '%s' (expected P:OP:KEY[=VALUE])\n", drv_prog, arg);
		exit(EXIT_USAGE);
	}
	*op++ = '\0';
	*key++ = '\0';
	char *value = strchr(key, '=');
	if (value != NULL)
		*value++ = '\0';
	if (!twopc_client_has_participant(cl, p)) {
		fprintf(stderr, "%s: unknown participant '%s' in '%.60s'\n", drv_prog, p, arg);
		exit(EXIT_USAGE);
	}
	if (strlen(key) > WIRE_KEY_MAX) {
		fprintf(stderr, "%s: key too long (%zu bytes, at most %d) in '%s:%s:%.20s...'\n", drv_prog,
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
			    drv_prog, op, arg);
		else if (key[0] == '\0')
			fprintf(stderr, "%s: empty key in '%.200s'\n", drv_prog, arg);
		else if (strcmp(op, "del") == 0)
			fprintf(stderr, "%s: del takes no value in '%.200s'\n", drv_prog, arg);
		else if (value == NULL)
			fprintf(stderr, "%s: %s needs a value in '%.200s' (KEY=VALUE)\n", drv_prog, op, arg);
		else
			fprintf(stderr, "%s: add needs an integer in '%.200s'\n", drv_prog, arg);
	} else if (rv == TWOPC_ETOOBIG && value != NULL && strlen(value) > WIRE_VALUE_MAX) {
		fprintf(stderr, "%s: value too long (%zu bytes, at most %d) in '%s:%s:%.40s'\n", drv_prog,
		    strlen(value), WIRE_VALUE_MAX, p, op, key);
	} else {
		fprintf(stderr, "%s: cannot add '%.200s': %s\n", drv_prog, arg, twopc_strerror(rv));
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
		    "does not know it yet: %s%s%s\n", drv_prog, took_ms, why, sep, id);
	else if (rv == TWOPC_ETIMEDOUT)
		fprintf(stderr, "%s: outcome unknown: the coordinator did not answer within %lld ms "
		    "(timed out)%s%s\n", drv_prog, took_ms, sep, id);
	else
		fprintf(stderr, "%s: outcome unknown: the coordinator closed the connection after %lld ms "
		    "(%s)%s%s\n", drv_prog, took_ms, twopc_strerror(rv), sep, id);
}

static int
drv_commit(twopc_client *cl, int argc, char **argv)
{
	drv_opts o = { .timeout_ms = 30000 };
	int at = drv_parse_opts(argc, argv, &o);
	twopc_tx *tx;
	int outcome = 0;

	if (at >= argc)
		drv_usage_exit();
	if (o.txid != NULL)
		drv_check_txid("--txid", o.txid);
	if (twopc_tx_begin(cl, o.txid, &tx) != 0) {
		fprintf(stderr, "%s: cannot begin a transaction\n", drv_prog);
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
		    "submitted\n", drv_prog, coord, unreached);
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
			    drv_prog, o.txid);
	} else {
		fprintf(stderr, "%s: the coordinator refused the transaction: %s\n", drv_prog,
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
		drv_usage_exit();
	if (strlen(argv[at + 1]) > WIRE_KEY_MAX) {
		fprintf(stderr, "%s: key too long (%zu bytes, at most %d)\n", drv_prog, strlen(argv[at + 1]),
		    WIRE_KEY_MAX);
		return EXIT_USAGE;
	}
	int rv = twopc_client_get(cl, argv[at], argv[at + 1], value, sizeof(value), &found, o.timeout_ms);
	if (rv == TWOPC_ENOENT) {
		fprintf(stderr, "%s: unknown participant '%s'\n", drv_prog, argv[at]);
		return EXIT_USAGE;
	}
	if (rv == TWOPC_ETIMEDOUT || rv == TWOPC_ENET || rv == TWOPC_ECLOSED) {
		fprintf(stderr, "%s: %s did not answer: %s\n", drv_prog, argv[at], twopc_strerror(rv));
		return EXIT_UNKNOWN;
	}
	if (rv != 0) {
		fprintf(stderr, "%s: %s refused the read: %s\n", drv_prog, argv[at], twopc_strerror(rv));
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
		fprintf(stderr, "%s: %s has no key '%s'\n", drv_prog, argv[at], argv[at + 1]);
	}
	return found ? 0 : EXIT_ABORTED;
}


static int
drv_status(twopc_client *cl, int argc, char **argv)
{
	drv_opts o = { .timeout_ms = 2000 };
	int at = drv_parse_opts(argc, argv, &o);
	int reached = 0;
	char coord_state[16] = "", members[2200] = "";

	if (argc - at != 1)
		drv_usage_exit();
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
			drv_usage_exit();
	}
	if (file == NULL || optind >= argc)
		drv_usage_exit();
	const char *cmd = argv[optind];
	int sub_argc = argc - optind;
	char **sub_argv = argv + optind;

	int rv = twopc_client_open(&cl, file);
	if (rv != 0) {
		if (rv == TWOPC_ECONFIG)
			fputs(twopc_client_config_errors(), stderr);
		else
			fprintf(stderr, "%s: %s: %s\n", drv_prog, file, twopc_strerror(rv));
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
		fprintf(stderr, "%s: unknown command '%s'\n", drv_prog, cmd);
		code = EXIT_USAGE;
	}
	twopc_client_close(cl);
	return code;
}
