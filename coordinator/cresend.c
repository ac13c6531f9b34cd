/*
 * cresend.c - the resender: what the coordinator keeps doing until every
 * participant has heard (R3), and retention (R7).
 *
 * Every ack_retry_ms (at once after a restart, which is how recovery
 * resends COMMIT records), one pass:
 *   - GLOBAL_COMMIT again to the participants of every COMMIT record older
 *     than one retry period that have not ACKed (younger ones are still in
 *     their first delivery), skipping those whose violation stopped it;
 *   - the question to the participant of every one-phase WAIT older than a
 *     vote timeout (conephase.c), and to every participant of a WAIT that
 *     no SUBMIT runs (cinquire.c: left by an earlier process);
 *   - FORGET for every END (cforget.c);
 *   - every expire_every: END and ABORT rows older than the retention
 *     dropped, the log vacuumed.
 * The questions of a pass travel at once, as flows (cflow.h), on the same
 * path as a SUBMIT's; the pass waits for them, so a participant that is
 * down costs one timeout per pass, and no pass overlaps the next.
 */
#include "cresend.h"

#include <stdio.h>
#include <stdlib.h>

#include "cdeliver.h"
#include "cflow.h"
#include "cforget.h"
#include "cinquire.h"
#include "conephase.h"
#include "coord.h"
#include "mclock.h"
#include "tlog.h"

#define CRESEND_PASS 256   /* COMMIT records per pass, at most */

typedef struct cresend_due {
	coord *c;
	coord_txn **v;
	size_t n;
	int64_t before;
} cresend_due;

static void
cresend_collect(void *arg, const char *txid, const clog_txn *row)
{
	cresend_due *d = arg;
	if (d->n == CRESEND_PASS || row->decided_at > d->before)
		return;
	coord_txn *t = ctxn_from_row(d->c->cfg, txid, row);
	if (t != NULL)
		d->v[d->n++] = t;
}

/* GLOBAL_COMMIT again for COMMIT records decided more than AGE_MS ago,
 * on flows of GROUP. */
static void
cresend_commits(coord *c, int64_t age_ms, cflow_group *group)
{
	cresend_due d = { .c = c, .before = db_now_ms() - age_ms };
	if ((d.v = calloc(CRESEND_PASS, sizeof(*d.v))) == NULL)
		return;
	db_lock(c->db);
	int rv = clog_each(c->db, TX_COMMIT, CRESEND_PASS, cresend_collect, &d);
	for (size_t k = 0; k < d.n; k++) {
		coord_txn *t = d.v[k];
		for (size_t i = 0; i < t->nparts; i++)
			t->was_acked[i] = t->acked[i] = clog_acked(c->db, t->txid,
			    c->cfg->participants[t->parts[i]].name) == 1;
	}
	db_unlock(c->db);
	for (size_t k = 0; k < d.n; k++) {
		coord_txn *t = d.v[k];
		if (rv != 0) {
			ctxn_unref(t);
			continue;
		}
		t->flags = CTXN_RESEND;
		cflow_hold(c, t, NULL, group);
		cdeliver_start(c, t);
	}
	free(d.v);
}

static void
cresend_expire(coord *c)
{
	db_lock(c->db);
	if (db_begin_lazy(c->db) == 0) {
		int n = clog_expire(c->db, db_now_ms() - (int64_t)c->cfg->retention_s * 1000);
		if (n < 0)
			db_rollback(c->db);
		else if (db_commit(c->db) == 0 && n > 0)
			tlog_info("expired %d finished transactions older than %u s", n,
			    c->cfg->retention_s);
	}
	(void)db_vacuum(c->db);
	db_unlock(c->db);
}

void *
cresend_main(void *arg)
{
	coord *c = arg;
	int64_t next_expire = mono_ms() + cfg_expire_every_ms(c->cfg);
	int first = 1;

	for (;;) {
		pthread_mutex_lock(&c->mtx);
		if (!first && !c->stopping && !c->failed)
			(void)mclock_cond_wait_ms(&c->wake_cv, &c->mtx, (long)c->cfg->ack_retry_ms);
		int stop = c->stopping || c->failed;
		pthread_mutex_unlock(&c->mtx);
		if (stop)
			return NULL;
		/* At start every COMMIT not END is resent at once (recovery). */
		cflow_group pass = { 0 };
		cresend_commits(c, first ? -1000000 : (int64_t)c->cfg->ack_retry_ms, &pass);
		conephase_resolve(c, first ? -1000000 : (int64_t)c->cfg->vote_timeout_ms, &pass);
		cinquire_resolve(c, &pass);
		cflow_wait(c, &pass);
		atomic_fetch_add(&c->viol.resend_cycles, 1);
		first = 0;
		cforget_flush(c);
		if (mono_ms() >= next_expire) {
			next_expire = mono_ms() + cfg_expire_every_ms(c->cfg);
			cresend_expire(c);
		}
	}
}
