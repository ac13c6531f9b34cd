/*
 * presolve.h - manual resolution at the participant: the operator's forced
 * (heuristic) outcome, applied through the normal decision path
 * (pdecide.h), and the heuristic records `twopc status` and `twopc list`
 * show.
 */
#ifndef TWOPC_PRESOLVE_H
#define TWOPC_PRESOLVE_H

#include "part.h"

struct statlist;

/* RESOLVE from the operator's driver: REP is a one-entry STATUS_REPLY or
 * an ERROR (text in BUF). Takes the db lock. 1 with REP filled, or 0 for
 * no reply (the handle failed). */
int part_on_resolve(twopc_participant *p, const wire_msg *req, wire_msg *rep, char *buf,
    size_t len);

/* With the db lock held: status entries for heuristic records (ONLY:
 * that txid; NULL: every one not READY) added to L, ages from NOW. */
void part_heur_status(twopc_participant *p, struct statlist *l, const char *only, int64_t now);

#endif
