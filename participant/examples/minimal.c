/*
 * minimal.c - the smallest useful twopc participant: `put` and `del` on a
 * table kept in the participant's own log, so that applying a transaction
 * and recording its COMMIT are one SQLite transaction.
 *
 *   cc -o minimal minimal.c $(pkg-config --cflags --libs twopc-participant sqlite3)
 *   ./minimal -c cluster.yaml -n alpha
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>
#include <twopc/participant.h>

static int
prepare(void *user, twopc_txn *txn, const twopc_op *ops, size_t nops)
{
	(void)user;
	for (size_t i = 0; i < nops; i++) {
		if (strcmp(ops[i].op, "put") != 0 && strcmp(ops[i].op, "del") != 0) {
			twopc_txn_set_reason(txn, "only put and del");
			return TWOPC_VOTE_ABORT;
		}
		if (twopc_txn_stage(txn, ops[i].op, ops[i].key, ops[i].value) != 0)
			return TWOPC_VOTE_ABORT;
	}
	return TWOPC_VOTE_COMMIT;
}

/* Runs inside the library's log transaction; idempotent. */
static int
commit(void *user, twopc_txn *txn)
{
	sqlite3 *db = twopc_txn_sqlite(txn);
	twopc_op op;
	(void)user;
	if (sqlite3_exec(db, "CREATE TABLE IF NOT EXISTS t(k TEXT PRIMARY KEY, v TEXT)",
	    NULL, NULL, NULL) != SQLITE_OK)
		return TWOPC_ERESOURCE;
	for (size_t i = 0; twopc_txn_staged(txn, i, &op) == 0; i++) {
		char *sql = strcmp(op.op, "put") == 0 ?
		    sqlite3_mprintf("REPLACE INTO t VALUES(%Q, %Q)", op.key, op.value) :
		    sqlite3_mprintf("DELETE FROM t WHERE k = %Q", op.key);
		int rc = sql ? sqlite3_exec(db, sql, NULL, NULL, NULL) : SQLITE_NOMEM;
		sqlite3_free(sql);
		if (rc != SQLITE_OK)
			return TWOPC_ERESOURCE; /* rolled back, called again later */
	}
	return 0;
}

static int
read_key(void *user, void *db, const char *key, char *buf, size_t len)
{
	sqlite3_stmt *st;
	(void)user;
	if (sqlite3_prepare_v2(db, "SELECT v FROM t WHERE k = ?", -1, &st, NULL) != SQLITE_OK)
		return 0; /* no table yet: nothing committed */
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	int found = sqlite3_step(st) == SQLITE_ROW; /* v is never NULL: put stores a string */
	if (found)
		snprintf(buf, len, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return found;
}

static sigset_t sigs;

/* Signals go to this thread only; it asks the library to stop. */
static void *
on_signal(void *p)
{
	int sig;
	if (sigwait(&sigs, &sig) == 0)
		twopc_participant_stop(p);
	return NULL;
}

int
main(int argc, char **argv)
{
	twopc_resource res = { .prepare = prepare, .commit = commit, .read = read_key };
	twopc_participant *p = NULL;
	pthread_t th;
	int rv;

	if (argc != 5 || strcmp(argv[1], "-c") != 0 || strcmp(argv[3], "-n") != 0) {
		fprintf(stderr, "usage: minimal -c FILE -n NAME\n");
		return 2;
	}
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL); /* before any thread starts */
	if ((rv = twopc_participant_open(&p, argv[2], argv[4], &res)) != 0 ||
	    (rv = twopc_participant_start(p)) != 0) {
		fprintf(stderr, "minimal: %s\n", twopc_strerror(rv));
		twopc_participant_close(p); /* NULL if open failed */
		return 1;
	}
	if (pthread_create(&th, NULL, on_signal, p) != 0) {
		twopc_participant_close(p);
		return 1;
	}
	printf("minimal: %s serving (libtwopc-participant %s)\n", argv[4], twopc_version());
	fflush(stdout);
	rv = twopc_participant_wait(p); /* 0 after a signal, TWOPC_EIO: the log failed */
	twopc_participant_close(p);
	return rv == 0 ? 0 : 1;
}
