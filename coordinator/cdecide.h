/*
 * cdecide.h - the coordinator's decision and its forcing (R2), see
 * cdecide.c.
 */
#ifndef TWOPC_CDECIDE_H
#define TWOPC_CDECIDE_H

#include "ctxn.h"

struct coord;

/* The votes of T (a running SUBMIT, held by its flow, WAIT durable)
 * decide DECISION (COMMIT or ABORT) for REASON: record it (an ABORT
 * forced, a COMMIT lazily: the commit point is behind it), answer the
 * repeated SUBMITs, and deliver it (cdeliver.h), an ABORT once it is on
 * disk. */
void cdecide(struct coord *c, coord_txn *t, tx_state decision, const char *reason);

#ifdef TWOPC_BUG_GLOBAL_BEFORE_DECISION
/* TEST-ONLY BUG VARIANT: GLOBAL_COMMIT to the first participant before
 * WAIT is written, then WAIT and cdecide (its step: CSTAGE_EARLY). */
void cdecide_early_start(struct coord *c, coord_txn *t);
void cdecide_step_early(struct coord *c, coord_txn *t);
#endif

#endif
