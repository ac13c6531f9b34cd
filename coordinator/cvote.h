/*
 * cvote.h - phase one at the coordinator: the vote round and its tally
 * (see cvote.c).
 */
#ifndef TWOPC_CVOTE_H
#define TWOPC_CVOTE_H

#include "ctxn.h"
#include "wire.h"

struct coord;

/* A VOTE_REQUEST with the work of t->sub (kept until the decision) to
 * every participant of T (running, held by its flow). */
void cvote_start(struct coord *c, coord_txn *t);
/* A vote batch is done (CSTAGE_VOTES): tally; ask again the participants
 * where a key was busy (R5, after a wait) while the round's deadline
 * allows; then decide (cdecide.h) or, with one participant, finish the
 * one-phase commit (conephase.h). */
void cvote_step(struct coord *c, coord_txn *t);
/* The first part of it, on the thread that ends the vote round (must not
 * block; cflow_start): the tally, and at the commit point the client's
 * COMMITTED. */
void cvote_votes_in(struct coord *c, coord_txn *t);
/* The pause of a wait is over (CSTAGE_RETRY): ask the busy ones again. */
void cvote_step_retry(struct coord *c, coord_txn *t);

#endif
