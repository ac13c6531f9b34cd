/*
 * cinquire.h - settling a WAIT without a decision by asking the
 * participants (see cinquire.c for the rules).
 */
#ifndef TWOPC_CINQUIRE_H
#define TWOPC_CINQUIRE_H

#include "ctxn.h"

struct coord;
struct cflow_group;

/* Ask the participants of every WAIT with two or more participants that
 * no SUBMIT is running and whose run is recorded (the runs table), each
 * on a flow of GROUP. */
void cinquire_resolve(struct coord *c, struct cflow_group *group);
/* The answers are in (CSTAGE_INQUIRY): decide, record, deliver; or leave
 * the WAIT in doubt for the next pass. */
void cinquire_step(struct coord *c, coord_txn *t);

#endif
