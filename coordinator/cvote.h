/*
 * cvote.h - phase one at the coordinator: the vote round and its tally
 * (see cvote.c).
 */
#ifndef TWOPC_CVOTE_H
#define TWOPC_CVOTE_H

#include "ctxn.h"
#include "wire.h"

struct coord;

/* A VOTE_REQUEST with SUB's work to every participant of T (running,
 * WAIT, held by its flow). */
void cvote_start(struct coord *c, coord_txn *t, const wire_msg *sub);
/* The vote batch is done (CSTAGE_VOTES): tally, then decide (cdecide.h)
 * or, with one participant, finish the one-phase commit (conephase.h). */
void cvote_step(struct coord *c, coord_txn *t);

#endif
