/*
 * cdeliver.h - phase two at the coordinator: GLOBAL_COMMIT and
 * GLOBAL_ABORT, the ACKs, END (see cdeliver.c). The only code that sends
 * a decision; SUBMIT, recovery, the resender and twopc resolve all start
 * it with cdeliver_start() on a flow (cflow.h).
 */
#ifndef TWOPC_CDELIVER_H
#define TWOPC_CDELIVER_H

#include <stddef.h>

#include "ctxn.h"
#include "wire.h"

struct coord;

/* Deliver T's decision (t->state COMMIT or ABORT; T held by a flow, the
 * CTXN_* flags saying which delivery this is). The flow ends when the
 * delivery does: a COMMIT's ACKs recorded (END once every participant
 * has), an ABORT sent; a client is answered. */
void cdeliver_start(struct coord *c, coord_txn *t);
/* The steps of its batches (the stage switch, coord.c). */
void cdeliver_step_first(struct coord *c, coord_txn *t);
void cdeliver_step_acks(struct coord *c, coord_txn *t);
void cdeliver_step_aborted(struct coord *c, coord_txn *t);

/* A GLOBAL_COMMIT for T, and what participant t->parts[I]'s answer
 * (RESULT; REP valid where 0, freed here) means: 1 for an ACK of COMMIT;
 * an ACK of ABORT is a violation (cviol.h). */
void cdeliver_commit_req(struct coord *c, const coord_txn *t, wire_msg *req);
int cdeliver_commit_reply(struct coord *c, coord_txn *t, size_t i, int result, wire_msg *rep);

#endif
