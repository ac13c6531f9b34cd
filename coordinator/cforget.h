/*
 * cforget.h - the FORGET queue (R9), see cforget.c.
 */
#ifndef TWOPC_CFORGET_H
#define TWOPC_CFORGET_H

#define CFORGET_MAX 100000   /* queued txids per participant, at most */

struct coord;

/* Queue TXID for a FORGET to participant PART (c->mtx held). A full queue
 * or no memory drops it: a kept COMMIT row at a participant is harmless. */
void cforget_queue(struct coord *c, int part, const char *txid);
/* Send every queued FORGET, once the ENDs behind them are durable (blocks:
 * one call per participant and batch, bounded). */
void cforget_flush(struct coord *c);
/* Free the queues (stopping, no other thread left). */
void cforget_free(struct coord *c);

#endif
