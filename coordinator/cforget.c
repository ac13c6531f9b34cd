/*
 * cforget.c - the FORGET queue (R9): once a transaction is END, every
 * participant may drop its COMMIT record; the coordinator says so lazily,
 * in batches, from the resender (cresend.c).
 *
 * A queue entry may be lost with the process: recovery queues FORGET again
 * for every END still in the log (crecover.c), and a participant keeps a
 * COMMIT record it was not told to forget, which is harmless.
 */
#include "cforget.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cepoch.h"
#include "coord.h"
#include "twopc/error.h"

#define CFORGET_BATCH 512
#define CFORGET_ROUNDS 256  /* batches per participant per resender cycle */

void
cforget_queue(coord *c, int part, const char *txid)
{
	coord_fq *q = &c->forget[part];
	if (q->n == CFORGET_MAX)
		return; /* a kept COMMIT row at a participant is harmless */
	if (q->n == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 64;
		void *ids = realloc(q->ids, cap * sizeof(*q->ids));
		if (ids == NULL)
			return;
		q->ids = ids;
		q->cap = cap;
	}
	snprintf(q->ids[q->n++], sizeof(q->ids[0]), "%s", txid);
}

static size_t
cforget_round(coord *c)
{
	size_t snap[CFG_MAX_PARTICIPANTS] = { 0 }, any = 0;

	/*
	 * END is written lazily, so a txid in the queue may have an END that
	 * only the page cache holds. Telling a participant to forget its
	 * COMMIT record before END is durable would break R9: after a power
	 * cut the coordinator is back at COMMIT, resends GLOBAL_COMMIT, and the
	 * participant has nothing left to ACK. One sync here makes every END
	 * queued so far durable (the WAL is synced in order); it costs one
	 * fsync per batch, not per transaction, and none when a group commit
	 * already covered them.
	 */
	/* Under the log's lock: a txid is queued inside the step group that
	 * writes its END (cflow.c), so every one we see here is committed
	 * before the sync below reads how far to sync. */
	db_lock(c->db);
	pthread_mutex_lock(&c->mtx);
	for (size_t p = 0; p < c->nsocks && p < sizeof(snap) / sizeof(snap[0]); p++) {
		snap[p] = c->forget[p].n < CFORGET_BATCH ? c->forget[p].n : CFORGET_BATCH;
		any += snap[p];
	}
	pthread_mutex_unlock(&c->mtx);
	db_unlock(c->db);
	if (any == 0)
		return 0;
	int rv = db_durable_all(c->db);
	if (rv != 0) {
		coord_fail(c, "cannot force the log before FORGET");
		return 0;
	}
	size_t sent = 0;
	for (size_t p = 0; p < c->nsocks && p < sizeof(snap) / sizeof(snap[0]); p++) {
		wire_msg req, rep;
		char *ids[CFORGET_BATCH];
		size_t n = snap[p];

		pthread_mutex_lock(&c->mtx);
		char (*copy)[WIRE_TXID_MAX + 1] = n ? malloc(n * sizeof(*copy)) : NULL;
		if (copy != NULL)
			memcpy(copy, c->forget[p].ids, n * sizeof(*copy));
		pthread_mutex_unlock(&c->mtx);
		if (copy == NULL)
			continue;
		for (size_t i = 0; i < n; i++)
			ids[i] = copy[i];
		wire_msg_init(&req, WIRE_FORGET, atomic_load(&c->epoch), NULL, c->cfg->coordinator.name);
		req.ntxids = n;
		req.txids = ids;
		int rv = rpc_call(c->socks[p], &req, &rep, 1000);
		if (coord_fence_check(c, (int)p, rv, &rep)) {
			rv = TWOPC_ESTALE; /* keep the queue: nothing was forgotten for us */
			wire_msg_free(&rep);
		}
		if (rv == 0) {
			wire_msg_free(&rep);
			pthread_mutex_lock(&c->mtx);
			coord_fq *q = &c->forget[p];
			memmove(q->ids, q->ids + n, (q->n - n) * sizeof(*q->ids));
			q->n -= n;
			pthread_mutex_unlock(&c->mtx);
			sent += n;
		}
		free(copy);
	}
	return sent;
}

/*
 * Send every queued FORGET, a batch per participant per round, so that the
 * participants' COMMIT rows are dropped as fast as transactions commit (one
 * round per resender cycle would cap it at CFORGET_BATCH per cycle and
 * let the queue overflow under load). Bounded, so the resender still gets
 * to its other duties.
 */
void
cforget_flush(coord *c)
{
	for (int round = 0; round < CFORGET_ROUNDS && !coord_stopping(c); round++)
		if (cforget_round(c) == 0)
			break;
}


void
cforget_free(coord *c)
{
	for (size_t i = 0; c->forget != NULL && i < c->nsocks; i++)
		free(c->forget[i].ids);
	free(c->forget);
	c->forget = NULL;
}
