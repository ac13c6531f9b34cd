/*
 * cdecide.h - the coordinator's decision and its forcing (R2), see
 * cdecide.c.
 */
#ifndef TWOPC_CDECIDE_H
#define TWOPC_CDECIDE_H

#include "ctxn.h"

struct coord;

/* The votes of T (a running SUBMIT, held by its flow) decide DECISION
 * (COMMIT or ABORT) for REASON: record it (a COMMIT forced), answer the
 * repeated SUBMITs, and deliver it (cdeliver.h) once it is on disk. */
void cdecide(struct coord *c, coord_txn *t, tx_state decision, const char *reason);

#ifdef TWOPC_BUG_GLOBAL_BEFORE_DECISION
/* TEST-ONLY BUG VARIANT: GLOBAL_COMMIT to the first participant before
 * the decision is forced, then cdecide (its step: CSTAGE_EARLY). */
void cdecide_early_start(struct coord *c, coord_txn *t);
void cdecide_step_early(struct coord *c, coord_txn *t);
#endif

#endif
