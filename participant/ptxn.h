/*
 * ptxn.h - the participant transaction's state machine (DESIGN section 3):
 * the only code that writes a transaction's state to the log.
 *
 *            VOTE_REQUEST                 GLOBAL_COMMIT / decision COMMIT
 *   (none) ---------------> INIT ---------> READY ------------------> COMMIT
 *     |                      | |  forced       |                        ^
 *     |          vote ABORT  | |               | GLOBAL_ABORT /         |
 *     |                      v |               | decision ABORT         |
 *     +-------------------> ABORT <------------+                        |
 *       presumed abort       ^ +--------------- one-phase commit -------+
 *       recorded (a decision |
 *       or a peer's question | a newer run of the txid (higher epoch, R7):
 *       before any vote)     | ABORT -> INIT, ABORT -> ABORT
 *
 *   INIT -> READ-ONLY: the participant voted yes with nothing to write and
 *   left; only a note is kept (plog_readonly_put), no txn row.
 *   COMMIT -> (forgotten): FORGET after the coordinator's END (R9).
 *
 * Per state: INIT lives only inside the SQLite transaction that stages the
 * work (it is never written here, so after a crash INIT and "no record"
 * are the same thing: ABORT). READY has its workspace and locks and is
 * forced before VOTE_COMMIT leaves (R1). COMMIT is written in the SQLite
 * transaction that applies the workspace (R3). COMMIT and ABORT are final:
 * leaving them for another state of the same run is a protocol violation.
 *
 * Every function runs on the caller's open connection with db_lock() held,
 * inside the caller's SQLite transaction (which decides what is forced).
 * Nothing here knows the participant handle: this is the bottom of the
 * participant's dependency graph, above plog only.
 */
#ifndef TWOPC_PTXN_H
#define TWOPC_PTXN_H

#include <stdint.h>

#include "db.h"
#include "plog.h"
#include "txstate.h"

/*
 * Move TXID, whose record *T is (state TX_NONE and zeroes when it has
 * none), to state TO of the run EPOCH, with PEERS (NULL: keep T's). Checks
 * the transition against the table above; a legal one is written (INIT is
 * only logged), logged as "txid: OLD -> NEW (WHY)" and copied into *T.
 * Returns 0, TWOPC_ESTATE (illegal: logged as a protocol violation,
 * nothing written, *T unchanged) or TWOPC_EIO.
 */
int ptxn_enter(db *d, const char *txid, plog_txn *t, tx_state to, uint64_t epoch,
    const char *peers, const char *why);

/* How many moves into TO (READY, COMMIT, ABORT) this process has made
 * since it started, over every participant handle it has (a move whose
 * SQLite transaction later fails counts too: the node then stops). Any
 * thread, no lock. */
uint64_t ptxn_count(tx_state to);

/* INIT -> READ-ONLY: force-worthy note of a yes vote with nothing to
 * write, for the run EPOCH (the caller has discarded the staging). Returns
 * 0, TWOPC_ESTATE (T is not INIT) or TWOPC_EIO. */
int ptxn_readonly(db *d, const char *txid, const plog_txn *t, uint64_t epoch);

/* FORGET (R9): drop TXID's record if it is COMMIT; any other state is
 * kept (no record would answer differently). 1 (dropped), 0 (no COMMIT
 * record) or TWOPC_EIO. */
int ptxn_forget(db *d, const char *txid);

/* Retention (R9): drop ABORT records and READ-ONLY notes not updated since
 * BEFORE_MS. The count dropped, or TWOPC_EIO. */
int ptxn_expire(db *d, int64_t before_ms);

#endif
