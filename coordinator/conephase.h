/*
 * conephase.h - one-phase commit: a transaction with a single participant
 * (see conephase.c for the invariants).
 */
#ifndef TWOPC_CONEPHASE_H
#define TWOPC_CONEPHASE_H

#include <stdint.h>

#include "ctxn.h"

struct coord;

/* T's single participant's vote means DECISION (ASKED: the participant's
 * answer to a DECISION_REQUEST after the vote was lost; UNDECIDED if
 * none); REASON (COORD_REASON bytes) says why. Record the outcome lazily,
 * answer the client and end the flow. */
void conephase_done(struct coord *c, coord_txn *t, tx_state decision, int asked, char *reason);
/* Ask T's participant for the outcome (DECISION_REQUEST, flagged
 * one-phase); its step is conephase_step_asked (CSTAGE_ASKED). */
void conephase_ask(struct coord *c, coord_txn *t);
void conephase_step_asked(struct coord *c, coord_txn *t);
/* Ask the participant of every one-phase WAIT older than AGE_MS that no
 * SUBMIT is running, each on a flow of GROUP. */
void conephase_resolve(struct coord *c, int64_t age_ms, struct cflow_group *group);

#endif
