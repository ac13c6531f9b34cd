/*
 * twopc/client.h - submitting transactions to a twopc coordinator and
 * asking any node about them. The `twopc` driver is built on this API.
 *
 *   twopc_client *cl;
 *   twopc_client_open(&cl, "cluster.yaml");
 *   twopc_tx *tx;
 *   twopc_tx_begin(cl, NULL, &tx);             // NULL: the coordinator picks the txid
 *   twopc_tx_add(tx, "alpha", "add", "alice", "-100");
 *   twopc_tx_add(tx, "beta", "add", "bob", "100");
 *   int outcome;
 *   int rv = twopc_tx_commit(tx, 10000, &outcome);  // TWOPC_COMMITTED / TWOPC_ABORTED
 *   twopc_tx_free(tx);
 *   twopc_client_close(cl);
 *
 * Retries: give a txid of your own to twopc_tx_begin() and a commit that
 * timed out (outcome unknown) can be submitted again with the same txid:
 * the coordinator answers a txid it knows with its outcome instead of
 * running it twice (R7). Without a txid a commit is sent exactly once.
 *
 * Threading: a twopc_client may be used by several threads at once; a
 * twopc_tx by one thread at a time. Every call blocks the caller at most
 * for the timeout it is given. Output parameters are written on success
 * only.
 */
#ifndef TWOPC_CLIENT_H
#define TWOPC_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "twopc/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct twopc_client twopc_client;
typedef struct twopc_tx twopc_tx;

enum {
	TWOPC_COMMITTED = 1,
	TWOPC_ABORTED = 2,
};

/* Load the cluster file. TWOPC_ECONFIG: the errors, "FILE:LINE:COL: ...",
 * are available from twopc_client_config_errors() with a NULL client. */
TWOPC_API int twopc_client_open(twopc_client **out, const char *cluster_file);
TWOPC_API void twopc_client_close(twopc_client *cl);
/* The configuration errors of the last failed open on this thread. */
TWOPC_API const char *twopc_client_config_errors(void);

/* 1 if NAME is a participant of the cluster. */
TWOPC_API int twopc_client_has_participant(const twopc_client *cl, const char *name);

/*
 * Is NODE (the coordinator's or a participant's name) listening? One
 * connection attempt to its address within TIMEOUT_MS, nothing sent: a
 * quick check before a commit, so that a coordinator that is down is
 * reported at once and not after the commit's whole timeout (a listener
 * that then does not answer still costs that timeout). Returns 0,
 * TWOPC_ENOENT (unknown node), TWOPC_ENET (refused, no route, no
 * address) or TWOPC_ETIMEDOUT, with the reason in WHY (WHYLEN bytes, may
 * be 0). inproc:// addresses are not checked (0).
 */
TWOPC_API int twopc_client_probe(twopc_client *cl, const char *node, int timeout_ms, char *why,
    size_t whylen);

/* Start a transaction; TXID NULL lets the coordinator choose. TWOPC_EINVAL
 * for a txid that is not 1-64 printable characters. */
TWOPC_API int twopc_tx_begin(twopc_client *cl, const char *txid, twopc_tx **out);
/* Add OP ("put", "del", "check", "add") on KEY at PARTICIPANT. TWOPC_ENOENT
 * for an unknown participant, TWOPC_EINVAL for a bad op, key or value
 * (add needs an integer, put and check a value, del none),
 * TWOPC_ETOOBIG past the message cap. */
TWOPC_API int twopc_tx_add(twopc_tx *tx, const char *participant, const char *op, const char *key,
    const char *value);
/*
 * Submit and wait at most TIMEOUT_MS for the outcome. Returns 0 with
 * *outcome TWOPC_COMMITTED or TWOPC_ABORTED; TWOPC_ETIMEDOUT or TWOPC_ENET
 * when the outcome is unknown (retry with the same txid, or ask
 * twopc_client_status); TWOPC_EINVAL / TWOPC_ENOENT when the coordinator
 * refused the request (twopc_tx_reason says why).
 */
TWOPC_API int twopc_tx_commit(twopc_tx *tx, int timeout_ms, int *outcome);
/*
 * Submit without waiting: FN(TX, RV, OUTCOME, ARG) runs once with what
 * twopc_tx_commit would have returned (RV) and set (OUTCOME), on one of
 * the library's threads, or on the calling thread before this returns
 * when the request cannot be sent (then RV is the error). Returns 0 (FN
 * will run) or TWOPC_EINVAL / TWOPC_ENOMEM / TWOPC_ENET (it will not).
 * Many commits may be in flight on one client; those in flight together
 * share messages to the coordinator. FN must not block (other replies
 * wait for it) and must not close the client; it may read and free TX,
 * and begin and submit further transactions. Until FN has run, TX must
 * not be used or freed. twopc_client_close ends the commits still in
 * flight with TWOPC_ECLOSED (their FN runs before it returns); start no
 * new ones while it runs.
 */
typedef void (*twopc_tx_done_fn)(twopc_tx *tx, int rv, int outcome, void *arg);
TWOPC_API int twopc_tx_commit_async(twopc_tx *tx, int timeout_ms, twopc_tx_done_fn fn, void *arg);
/* The txid (after commit returns, also one the coordinator chose; "" before). */
TWOPC_API const char *twopc_tx_id(const twopc_tx *tx);
/* Why it aborted or was refused ("" if no reason). */
TWOPC_API const char *twopc_tx_reason(const twopc_tx *tx);
TWOPC_API void twopc_tx_free(twopc_tx *tx);

/* The committed value of KEY at PARTICIPANT: 0 and *found (1/0), value in
 * BUF. TWOPC_ENOENT unknown participant, TWOPC_ETIMEDOUT unreachable. */
TWOPC_API int twopc_client_get(twopc_client *cl, const char *participant, const char *key, char *buf,
    size_t len, int *found, int timeout_ms);

/* What one node says about one transaction, or about all its unfinished ones. */
typedef struct twopc_status {
	char node[33];       /* the coordinator's or participant's name */
	char txid[65];
	char state[16];      /* "WAIT", "READY", "COMMIT", "ABORT", "END", "NONE" */
	uint64_t epoch;
	uint64_t age_ms;
	char detail[1024];
} twopc_status;

/*
 * Ask NODE (the coordinator's or a participant's name) about TXID, or with
 * TXID NULL about every transaction not finished there. Returns 0 with a
 * malloc'ed array in *out (free()) of *n entries, or TWOPC_ENOENT (unknown
 * node), TWOPC_ETIMEDOUT (no answer).
 */
TWOPC_API int twopc_client_status(twopc_client *cl, const char *node, const char *txid,
    twopc_status **out, size_t *n, int timeout_ms);

/*
 * Manual resolution (twopc resolve). Ask NODE to resolve TXID with OUTCOME
 * (TWOPC_COMMITTED, TWOPC_ABORTED, or 0: drop NODE's heuristic record of
 * it). Without FORCE only the coordinator resolves: it records the
 * outcome as its decision and delivers it. With FORCE a participant
 * applies it at once (a heuristic outcome) and the coordinator repairs an
 * unhealable violation. Returns 0 with NODE's state of TXID afterwards in
 * *out; a negative twopc_err when NODE refused (TWOPC_ESTATE: a decision
 * exists or the txid is running; TWOPC_ENOENT: nobody knows it;
 * TWOPC_ETIMEDOUT: from the coordinator, a participant it needs cannot be
 * reached) with NODE's reason in WHY; TWOPC_ETIMEDOUT / TWOPC_ENET when
 * NODE did not answer (WHY "").
 */
TWOPC_API int twopc_client_resolve(twopc_client *cl, const char *node, const char *txid, int outcome,
    int force, twopc_status *out, char *why, size_t whylen, int timeout_ms);

/* A node's counters since it started (twopc bench reads them). */
typedef struct twopc_counters {
	uint64_t forced_writes; /* forced log commits: one fsync each with durability full */
	uint64_t log_commits;   /* every log commit, forced or lazy */
	uint64_t requests;      /* requests served (each message of a batch counts) */
	uint64_t messages_sent; /* NNG messages the node sent (a batch is one) */
} twopc_counters;

/* Read NODE's counters. 0, TWOPC_ENOENT, TWOPC_ETIMEDOUT, TWOPC_EPROTO. */
TWOPC_API int twopc_client_counters(twopc_client *cl, const char *node, twopc_counters *out,
    int timeout_ms);

/* The names of the coordinator and participants, in cluster-file order:
 * index 0 is the coordinator. NULL past the end. */
TWOPC_API const char *twopc_client_node(const twopc_client *cl, size_t i);

#ifdef __cplusplus
}
#endif
#endif
