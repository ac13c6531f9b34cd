/*
 * pterm.h - the cooperative termination protocol (DESIGN section 4), both
 * sides: answering a DECISION_REQUEST from our own log, and asking for the
 * decision of a READY transaction (the coordinator first, then every other
 * participant), with capped exponential backoff while nobody knows. A
 * READY participant never decides alone.
 */
#ifndef TWOPC_PTERM_H
#define TWOPC_PTERM_H

#include "part.h"

/* Answering side. Takes the db lock; forces ABORT before answering ABORT
 * where this run has no READY record here (R8). Returns 1 with REP
 * filled, or 0 for no reply (the handle failed). */
int part_on_decision_request(twopc_participant *p, const wire_msg *req, wire_msg *rep);

/* Asking side, from the background thread: ask about READY transaction
 * TXID (*T, as listed without the lock); apply the answer, or schedule
 * the next ask and say why in the ask note. Blocks for up to the failure
 * detector's timeouts; takes the db lock and p->mtx itself. */
void part_ask_one(twopc_participant *p, const char *txid, const plog_txn *t);

#endif
