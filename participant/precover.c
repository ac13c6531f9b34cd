/*
 * precover.c - restart recovery and the background thread; see
 * precover.h. The ask schedule is volatile: after a restart every READY
 * transaction is asked about at once, which is what recovery must do.
 */
#include "precover.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mclock.h"
#include "pterm.h"
#include "ptxn.h"
#include "tlog.h"
#include "txstate.h"

typedef struct part_ready {
	char txid[WIRE_TXID_MAX + 1];
	plog_txn t;
} part_ready;

typedef struct part_ready_list {
	part_ready *v;
	size_t n, cap;
} part_ready_list;

static void
part_collect(void *arg, const char *txid, const plog_txn *t)
{
	part_ready_list *l = arg;
	if (l->n == l->cap)
		return;
	snprintf(l->v[l->n].txid, sizeof(l->v[l->n].txid), "%s", txid);
	l->v[l->n].t = *t;
	l->n++;
}

/* Up to RECOVER_BATCH INIT records at a time: each is entered ABORT
 * after the listing statement is done. */
#define PART_RECOVER_BATCH 64

int
part_recover(twopc_participant *p)
{
	/* INIT is never durable in this implementation, but a log written by
	 * another version could hold it: INIT -> ABORT, workspace and locks
	 * dropped. Not forced: an INIT lost again is still ABORT. */
	part_ready v[PART_RECOVER_BATCH];
	part_ready_list l = { .v = v, .cap = PART_RECOVER_BATCH };
	int rv;
	db_lock(p->db);
	do {
		l.n = 0;
		if ((rv = plog_each(p->db, TX_INIT, l.cap, part_collect, &l)) != 0 ||
		    (rv = db_begin_lazy(p->db)) != 0)
			break;
		for (size_t i = 0; i < l.n && rv == 0; i++)
			if ((rv = plog_release(p->db, v[i].txid)) == 0)
				rv = ptxn_enter(p->db, v[i].txid, &v[i].t, TX_ABORT, v[i].t.epoch, NULL,
				    "recovery: INIT is never durable");
		if (rv != 0) {
			db_rollback(p->db);
			break;
		}
		rv = db_commit(p->db);
	} while (rv == 0 && l.n == l.cap);
	db_unlock(p->db);
	return rv == 0 ? 0 : TWOPC_EIO;
}

static void
part_tick(twopc_participant *p)
{
	part_ready_list l = { .cap = 1024 };
	int64_t now_wall = db_now_ms(), now = mono_ms();

	l.v = calloc(l.cap, sizeof(*l.v));
	if (l.v == NULL)
		return;
	db_lock(p->db);
	int rv = plog_each(p->db, TX_READY, l.cap, part_collect, &l);
	db_unlock(p->db);
	if (rv != 0) {
		free(l.v);
		return;
	}
	for (size_t i = 0; i < l.n; i++) {
		if (now_wall - l.v[i].t.updated_at < (int64_t)p->cfg->decision_timeout_ms)
			continue;
		pthread_mutex_lock(&p->mtx);
		part_ask *a = part_ask_find(p, l.v[i].txid, 0);
		int due = a == NULL || a->next_ms <= now;
		int stop = p->stopping || p->failed;
		pthread_mutex_unlock(&p->mtx);
		if (stop)
			break;
		if (due)
			part_ask_one(p, l.v[i].txid, &l.v[i].t);
	}
	free(l.v);

	if (now >= p->next_expire_ms) {
		p->next_expire_ms = now + cfg_expire_every_ms(p->cfg);
		db_lock(p->db);
		if (db_begin_lazy(p->db) == 0) {
			int n = ptxn_expire(p->db, now_wall - (int64_t)p->cfg->retention_s * 1000);
			if (n >= 0 && db_commit(p->db) == 0 && n > 0)
				tlog_info("expired %d ABORT records older than %u s", n, p->cfg->retention_s);
			else if (n < 0)
				db_rollback(p->db);
		}
		(void)db_vacuum(p->db); /* pages freed by expiry and FORGET */
		db_unlock(p->db);
	}
}

void *
part_bg_main(void *arg)
{
	twopc_participant *p = arg;
	uint32_t tick = p->cfg->decision_timeout_ms / 4;
	if (tick < 20)
		tick = 20;
	if (tick > 250)
		tick = 250;
	p->next_expire_ms = mono_ms() + cfg_expire_every_ms(p->cfg);
	for (;;) {
		pthread_mutex_lock(&p->mtx);
		if (!p->stopping && !p->failed)
			(void)mclock_cond_wait_ms(&p->cv, &p->mtx, (long)tick);
		int stop = p->stopping || p->failed;
		pthread_mutex_unlock(&p->mtx);
		if (stop)
			break;
		part_tick(p);
		atomic_fetch_add(&p->bg_passes, 1);
	}
	return NULL;
}
