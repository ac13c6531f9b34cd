/*
 * pvote.h - phase one at the participant (DESIGN sections 2 and 3):
 * VOTE_REQUEST. The work is staged in the workspace with its keys locked
 * (no wait, R5), the resource's prepare decides, and the vote is one of:
 *   COMMIT     READY forced with workspace and locks before the vote
 *              leaves (R1); for a one-phase run with an atomic resource,
 *              COMMIT applied and forced in the same SQLite transaction;
 *   READ-ONLY  nothing to write: staging discarded, a note forced;
 *   ABORT      staging discarded, ABORT recorded (lazily: nothing depends
 *              on it) so that a resent request gets the same vote.
 * A request for a txid already known here is answered from the log.
 */
#ifndef TWOPC_PVOTE_H
#define TWOPC_PVOTE_H

#include "part.h"

/* Takes the db lock. Returns 1 with REP filled (strings in BUF), or 0
 * for no reply (the handle failed, or an older run could not be
 * discarded yet: the coordinator's vote timeout decides). */
int part_on_vote_request(twopc_participant *p, const wire_msg *req, wire_msg *rep, char *buf,
    size_t len);

#endif
