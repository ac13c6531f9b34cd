/*
 * pdecide.h - phase two at the participant (DESIGN sections 2 and 3):
 * applying a decision, the one path every decision takes, whoever made it
 * (GLOBAL_COMMIT/ABORT, a termination answer, the operator's heuristic,
 * a one-phase commit), and FORGET.
 *
 * Every function here expects the db lock held unless it says it takes
 * it. Applying COMMIT loads the workspace, calls the resource's commit and
 * enters COMMIT in one SQLite transaction, forced (R3); applying ABORT
 * calls the resource's abort for a READY transaction, drops its workspace
 * and locks and enters ABORT, forced only when another process will hear
 * of it (R8). Both are idempotent through the state table (R4): a decided
 * record is never re-entered.
 */
#ifndef TWOPC_PDECIDE_H
#define TWOPC_PDECIDE_H

#include "part.h"

/*
 * Inside the caller's open log transaction: load TXN's workspace, call
 * the resource's commit, drop the workspace and locks and enter COMMIT
 * from *T (READY, or INIT for a one-phase commit) for run EPOCH with PEERS
 * (NULL: T's), logged with WHY. On a failing commit, ON_FAIL says what
 * happens next in the warning. Returns 0, TWOPC_ERESOURCE (the resource
 * failed or no memory: nothing entered, the caller rolls back),
 * TWOPC_ESTATE (illegal transition, logged) or TWOPC_EIO.
 */
int part_apply_commit(twopc_txn *txn, plog_txn *t, uint64_t epoch, const char *peers,
    const char *why, const char *on_fail);

/*
 * Apply COMMIT to TXID, READY as *T (updated): one forced SQLite
 * transaction, between the crash points participant.before_commit_applied
 * and participant.after_commit_applied. Returns 0, TWOPC_ERESOURCE (still
 * READY, retried later), TWOPC_ESTATE, or TWOPC_EIO (the handle failed).
 */
int part_commit(twopc_participant *p, const char *txid, plog_txn *t);

/*
 * Apply ABORT to TXID, whose record is *T (TX_NONE when it has none:
 * then ABORT is recorded for run EPOCH so that a late VOTE_REQUEST gets
 * VOTE_ABORT), forced when FORCE (R8). EPOCH is T's own run unless a
 * newer run's ABORT is recorded over an old one. Returns 0,
 * TWOPC_ERESOURCE (the resource's abort failed, nothing changed),
 * TWOPC_ESTATE or TWOPC_EIO (the handle failed).
 */
int part_abort(twopc_participant *p, const char *txid, plog_txn *t, uint64_t epoch, int force,
    const char *why);

/* Takes the db lock: apply DECISION (TX_COMMIT or TX_ABORT) to TXID if
 * it is still READY; WHY names who decided. 0 when applied or nothing to
 * do, else as part_commit / part_abort. */
int part_decide(twopc_participant *p, const char *txid, tx_state decision, const char *why);

/* GLOBAL_COMMIT / GLOBAL_ABORT and FORGET (R9). Take the db lock. Return
 * 1 with REP filled, or 0 for no reply (the handle failed, or the
 * resource asked to be retried: the coordinator resends). */
int part_on_global(twopc_participant *p, const wire_msg *req, wire_msg *rep, char *buf,
    size_t len);
int part_on_forget(twopc_participant *p, const wire_msg *req, wire_msg *rep, char *buf,
    size_t len);

#endif
