/*
 * transfer.c - move an amount between two accounts kept by two
 * participants, in one transaction, with the client library.
 *
 *   cc -o transfer transfer.c $(pkg-config --cflags --libs twopc-client)
 *   ./transfer cluster.yaml alpha:acct0 beta:acct0 30
 *
 * Exit status as twopc(1): 0 committed, 1 aborted, 2 usage or
 * configuration error, 3 outcome unknown.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <twopc/client.h>

/* Split "PARTICIPANT:KEY" in place; the key, or NULL. */
static char *
split(char *s)
{
	char *colon = strchr(s, ':');
	if (colon == NULL)
		return NULL;
	*colon = '\0';
	return colon + 1;
}

int
main(int argc, char **argv)
{
	twopc_client *cl = NULL;
	char txid[65], minus[32], value[64];
	int rv, outcome = 0, found;

	char *from_key = argc == 5 ? split(argv[2]) : NULL;
	char *to_key = argc == 5 ? split(argv[3]) : NULL;
	long amount = argc == 5 ? strtol(argv[4], NULL, 10) : 0;
	if (from_key == NULL || to_key == NULL || amount <= 0) {
		fprintf(stderr, "usage: transfer FILE FROM:KEY TO:KEY AMOUNT\n");
		return 2;
	}
	if ((rv = twopc_client_open(&cl, argv[1])) != 0) {
		fprintf(stderr, "%s", twopc_client_config_errors());
		return 2;
	}
	/* A txid of our own, unique to this run, makes a retry safe: the
	 * coordinator answers a txid it knows with its outcome instead of
	 * running it twice. */
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	snprintf(txid, sizeof(txid), "transfer-%ld-%lld-%ld", (long)getpid(),
	    (long long)now.tv_sec, now.tv_nsec);
	snprintf(minus, sizeof(minus), "-%ld", amount);
	for (int attempt = 0; attempt < 3; attempt++) {
		twopc_tx *tx = NULL;
		if ((rv = twopc_tx_begin(cl, txid, &tx)) != 0 ||
		    (rv = twopc_tx_add(tx, argv[2], "add", from_key, minus)) != 0 ||
		    (rv = twopc_tx_add(tx, argv[3], "add", to_key, argv[4])) != 0) {
			fprintf(stderr, "transfer: %s\n", twopc_strerror(rv));
			twopc_tx_free(tx);
			twopc_client_close(cl);
			return 2;
		}
		rv = twopc_tx_commit(tx, 5000, &outcome);
		if (rv == 0)
			printf("%s %s%s%s\n", outcome == TWOPC_COMMITTED ? "COMMITTED" : "ABORTED",
			    twopc_tx_id(tx), twopc_tx_reason(tx)[0] ? ": " : "", twopc_tx_reason(tx));
		twopc_tx_free(tx);
		if (rv != TWOPC_ETIMEDOUT && rv != TWOPC_ENET)
			break; /* an outcome, or an error a retry cannot fix */
	}
	if (rv != 0) {
		fprintf(stderr, "transfer: %s: %s\n", txid, twopc_strerror(rv));
		twopc_client_close(cl);
		return rv == TWOPC_ETIMEDOUT || rv == TWOPC_ENET ? 3 : 2;
	}
	for (int i = 2; i <= 3; i++) {
		const char *key = i == 2 ? from_key : to_key;
		if (twopc_client_get(cl, argv[i], key, value, sizeof(value), &found, 2000) == 0)
			printf("%s:%s = %s\n", argv[i], key, found ? value : "(none)");
	}
	twopc_client_close(cl);
	return outcome == TWOPC_COMMITTED ? 0 : 1;
}
