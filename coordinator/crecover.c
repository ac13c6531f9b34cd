/*
 * crecover.c - restart recovery (DESIGN section 3, "On restart"), before
 * the coordinator serves:
 *   - WAIT (with its run in the runs table): left as it is. It may be past
 *     the commit point (WAIT durable, every vote yes, the lazy COMMIT
 *     lost), so only the participants can say: the resender's first pass,
 *     at once, asks them (cinquire.c), and a one-phase WAIT's participant
 *     (conephase.c).
 *   - WAIT with no run recorded (a log of a version that forced COMMIT,
 *     not WAIT): it never was a commit point: ABORT, and GLOBAL_ABORT to
 *     every participant, on a flow (cflow.h) like any delivery.
 *   - COMMIT not END: left to the resender's first pass, which runs at
 *     once and resends GLOBAL_COMMIT until every participant has ACKed.
 *   - END: FORGET again (it may have been lost with the previous process's
 *     memory; sending it twice is harmless, R9).
 *   - the recorded violations are loaded, so resending stays stopped.
 */
#include "crecover.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cdeliver.h"
#include "cflow.h"
#include "cforget.h"
#include "coord.h"

typedef struct crecover_waits {
	coord *c;
	coord_txn **v;
	size_t n, cap;
} crecover_waits;

static void
crecover_collect_wait(void *arg, const char *txid, const clog_txn *row)
{
	crecover_waits *w = arg;
	uint64_t epoch;
	if (strchr(row->participants, ',') == NULL)
		return; /* one-phase */
#ifndef TWOPC_BUG_RESTART_ABORTS
	if (clog_run_get(w->c->db, txid, &epoch) == 0)
		return; /* asked about (cinquire.c) */
#else
	/* TEST-ONLY BUG VARIANT (breaks R2): every WAIT is aborted at restart,
	 * as before the commit point moved to the votes; a WAIT past the
	 * commit point is aborted. twopc-crashtest must catch it. */
	(void)epoch;
#endif
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 64;
		coord_txn **v = realloc(w->v, cap * sizeof(*v));
		if (v == NULL)
			return;
		w->v = v;
		w->cap = cap;
	}
	coord_txn *t = ctxn_new(txid);
	if (t == NULL)
		return;
	if (ctxn_load(t, w->c->cfg, txid, row) != 0)
		t->nparts = 0; /* logged: aborted, but nobody to tell */
	w->v[w->n++] = t;
}

static void
crecover_collect_end(void *arg, const char *txid, const clog_txn *row)
{
	coord *c = arg;
	coord_txn x;
	memset(&x, 0, sizeof(x));
	snprintf(x.txid, sizeof(x.txid), "%s", txid);
	if (ctxn_parse_parts(&x, c->cfg, row->participants) != 0)
		return;
	for (size_t i = 0; i < x.nparts; i++)
		cforget_queue(c, x.parts[i], txid);
}

/* Every WAIT of W becomes ABORT, lazily (presumed abort) in one write. */
static int
crecover_abort_all(coord *c, crecover_waits *w)
{
	int rv = db_begin_lazy(c->db);
	if (rv != 0)
		return rv;
	for (size_t i = 0; i < w->n && rv == 0; i++)
		rv = ctxn_write(c->db, w->v[i], TX_ABORT, NULL);
	if (rv != 0)
		db_rollback(c->db);
	else
		rv = db_commit(c->db);
	return rv;
}

int
crecover_run(coord *c)
{
	crecover_waits w = { .c = c };
	int rv;

	cviol_init(c);
	db_lock(c->db);
	rv = clog_each(c->db, TX_WAIT, (size_t)-1 >> 1, crecover_collect_wait, &w);
	if (rv == 0) {
		pthread_mutex_lock(&c->mtx);
		rv = clog_each(c->db, TX_END, CFORGET_MAX, crecover_collect_end, c);
		pthread_mutex_unlock(&c->mtx);
	}
	if (rv == 0 && w.n > 0)
		rv = crecover_abort_all(c, &w);
	db_unlock(c->db);
	for (size_t i = 0; i < w.n; i++) {
		coord_txn *t = w.v[i];
		if (rv != 0 || ctxn_enter(t, TX_ABORT, "recovery: a WAIT of an older version, never a commit point") != 0) {
			ctxn_unref(t);
			continue;
		}
		cflow_hold(c, t, NULL, NULL);
		cdeliver_start(c, t);
	}
	free(w.v);
	return rv;
}
