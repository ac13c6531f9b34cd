/*
 * checker.h - the invariants of DESIGN section 8, checked by reading every
 * log of a stopped or quiescent cluster directly (read-only SQLite).
 *
 *   atomicity     no txid is COMMIT at one participant and ABORT at another
 *   validity      a txid COMMIT anywhere is COMMIT or END at the coordinator
 *                 (its forced decision, which needs every vote COMMIT), and
 *                 no transaction the client was told ABORTED committed; for
 *                 a one-phase transaction (the participant's peers is itself
 *                 alone) the participant's COMMIT is the decision, and the
 *                 coordinator's lazy record may be WAIT or gone, not ABORT
 *   durability    every transaction the client was told COMMITTED is
 *                 applied at each of its participants (COMMIT, or forgotten
 *                 after the coordinator's END)
 *   conservation  the sum of the balances acct0..acct<CHK_ACCOUNTS-1> over
 *                 all participants, read through each participant (GET, so
 *                 any resource with a read callback can be checked), equals
 *                 the expected total
 *   liveness      no READY transaction, lock or workspace row remains, and
 *                 the coordinator has no WAIT or un-ACKed COMMIT
 *
 * Each violation is one line in the report naming the invariant, the txid
 * and the nodes; the return value is the number of violations.
 */
#ifndef TWOPC_CHECKER_H
#define TWOPC_CHECKER_H

#include <stddef.h>

#include "harness.h"

#define CHK_ACCOUNTS 4

typedef enum chk_told {
	CHK_TOLD_UNKNOWN = 0,
	CHK_TOLD_COMMITTED = 1,
	CHK_TOLD_ABORTED = 2,
} chk_told;

typedef struct chk_txn {
	char txid[65];
	chk_told told;
} chk_txn;

typedef struct chk_counts {
	int atomicity, validity, durability, conservation, liveness;
} chk_counts;

/*
 * Check cluster C. TOLD lists the client-visible outcomes (N entries);
 * TOTAL is the expected bank total (-1: do not check conservation);
 * LIVE: also check liveness. Violations are appended to REPORT (LEN bytes)
 * one per line and counted in *COUNTS (may be NULL). Returns the total.
 */
int chk_cluster(hcluster *c, const chk_txn *told, size_t n, long long total, int live,
    char *report, size_t len, chk_counts *counts);

/* Wait (bounded) until the cluster is quiescent: no READY, no locks or
 * workspace rows, no WAIT or COMMIT at the coordinator. 0 or -1. */
int chk_wait_quiescent(hcluster *c, int timeout_ms);

/* Sum of the acct balances over every participant, asked with GET (-1 if a
 * participant cannot answer). */
long long chk_bank_total(hcluster *c);

#endif
