/*
 * cwait.h - WAIT, the record of a run, at the coordinator (see cwait.c).
 */
#ifndef TWOPC_CWAIT_H
#define TWOPC_CWAIT_H

#include "ctxn.h"

struct coord;

/* 1 if WAIT is to be written only once the votes are in (a transaction
 * with two or more participants then carries CTXN_WAIT_LATE). */
int cwait_late(void);
/* T's WAIT row (naming its participants and its run's epoch) in the log,
 * forced (LAZY: not), and T enters WAIT. 0 or TWOPC_EIO. */
int cwait_write(struct coord *c, coord_txn *t, int lazy);
/* WAIT for T written and forced now, its fsync waited for (T was
 * submitted with CTXN_WAIT_LATE): 0 or TWOPC_EIO. A step thread. */
int cwait_now(struct coord *c, coord_txn *t);
/* WAIT for T written, forced, its fsync not waited for: once it is
 * durable or could not be, t->wait_rc says which and T's flow is joined
 * (cflow_join), so the vote step may run. T's flow counts this as
 * pending (t->pending). */
void cwait_async(struct coord *c, coord_txn *t);

#endif
