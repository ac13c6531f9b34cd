/*
 * cviol.c - the violations only the coordinator can see (see cviol.h),
 * and the heuristic records in its status answers.
 */
#include "cviol.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord.h"
#include "heur.h"
#include "mclock.h"
#include "serve.h"
#include "statlist.h"
#include "tlog.h"
#include "twopc/error.h"

/* ---- violations ---- */

static cviol_entry *
cviol_find(cviol_state *r, const char *txid, const char *part)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->v[i].txid, txid) == 0 && strcmp(r->v[i].part, part) == 0)
			return &r->v[i];
	return NULL;
}

/* A slot for (TXID, PART): a free one, or the least recently used. r->mtx held. */
static cviol_entry *
cviol_slot(cviol_state *r, const char *txid, const char *part)
{
	cviol_entry *v = NULL;
	if (r->n < CVIOL_MAX) {
		v = &r->v[r->n++];
	} else {
		v = &r->v[0];
		for (size_t i = 1; i < r->n; i++)
			if (r->v[i].used_ms < v->used_ms)
				v = &r->v[i];
	}
	memset(v, 0, sizeof(*v));
	snprintf(v->txid, sizeof(v->txid), "%s", txid);
	snprintf(v->part, sizeof(v->part), "%s", part);
	v->last_line_ms = v->used_ms = mono_ms();
	return v;
}

void
cviol_forget(coord *c, const char *txid)
{
	cviol_state *r = &c->viol;
	pthread_mutex_lock(&r->mtx);
	for (size_t i = 0; i < r->n;) {
		if (strcmp(r->v[i].txid, txid) == 0)
			r->v[i] = r->v[--r->n];
		else
			i++;
	}
	pthread_mutex_unlock(&r->mtx);
}

typedef struct cviol_load {
	coord *c;
} cviol_load;

static void
cviol_load_row(void *arg, const char *txid, const heur_row *row)
{
	coord *c = ((cviol_load *)arg)->c;
	char who[WIRE_NAME_MAX + 16];
	if (strcmp(row->outcome, HEUR_VIOLATION) != 0)
		return;
	for (size_t i = 0; i < c->cfg->nparticipants; i++) {
		snprintf(who, sizeof(who), "%s answered ", c->cfg->participants[i].name);
		if (strstr(row->note, who) != NULL && cviol_find(&c->viol, txid, c->cfg->participants[i].name) == NULL)
			(void)cviol_slot(&c->viol, txid, c->cfg->participants[i].name);
	}
}

void
cviol_init(coord *c)
{
	cviol_load l = { c };
	db_lock(c->db);
	pthread_mutex_lock(&c->viol.mtx);
	(void)heur_each(c->db, CVIOL_MAX, cviol_load_row, &l);
	pthread_mutex_unlock(&c->viol.mtx);
	db_unlock(c->db);
	if (c->viol.n > 0)
		tlog_warn("%zu unhealed protocol violation(s) in the log: GLOBAL_COMMIT is not resent "
		    "to those participants; see twopc list", c->viol.n);
}

int
cviol_stopped(coord *c, const char *txid, const char *part)
{
	pthread_mutex_lock(&c->viol.mtx);
	int stopped = cviol_find(&c->viol, txid, part) != NULL;
	pthread_mutex_unlock(&c->viol.mtx);
	return stopped;
}

void
cviol_report(coord *c, const char *txid, const char *part, int state)
{
	cviol_state *r = &c->viol;
	int64_t now = mono_ms();

	pthread_mutex_lock(&r->mtx);
	cviol_entry *v = cviol_find(r, txid, part);
	if (v != NULL) {
		v->repeats++;
		v->used_ms = now;
		if (now - v->last_line_ms >= CVIOL_SUMMARY_MS) {
			uint64_t n = v->repeats;
			v->repeats = 0;
			v->last_line_ms = now;
			pthread_mutex_unlock(&r->mtx);
			tlog_error("%s: PROTOCOL VIOLATION by %s seen %llu more time(s) in the last "
			    "minute (repeats suppressed)", txid, part, (unsigned long long)n);
			return;
		}
		pthread_mutex_unlock(&r->mtx);
		return;
	}
	(void)cviol_slot(r, txid, part);
	pthread_mutex_unlock(&r->mtx);
	tlog_error("%s: PROTOCOL VIOLATION: %s answered GLOBAL_COMMIT with its state %s; this "
	    "cannot heal, so GLOBAL_COMMIT is no longer sent to %s (repair: twopc resolve %s "
	    "--commit --force)", txid, part, tx_state_name(state), part, txid);

	/* Recorded so that `twopc list` shows it and the resender skips it
	 * after a restart too. Lazy: if lost, the next GLOBAL_COMMIT finds it
	 * again. */
	char note[HEUR_NOTE_MAX], add[WIRE_NAME_MAX + 64];
	heur_row row;
	snprintf(add, sizeof(add), "%s answered GLOBAL_COMMIT with %s", part, tx_state_name(state));
	db_lock(c->db);
	int rv = heur_get(c->db, txid, &row);
	if (rv == 0 && strcmp(row.outcome, HEUR_VIOLATION) != 0) {
		db_unlock(c->db); /* already resolved by the operator */
		return;
	}
	if (rv == 0 && strstr(row.note, add) == NULL)
		snprintf(note, sizeof(note), "%.250s; %s", row.note, add);
	else
		snprintf(note, sizeof(note), "%s", rv == 0 ? row.note : add);
	if ((rv == 0 || rv == TWOPC_ENOENT) && db_begin_lazy(c->db) == 0) {
		if (heur_put(c->db, txid, HEUR_VIOLATION, note) != 0)
			db_rollback(c->db);
		else
			(void)db_commit(c->db);
	}
	db_unlock(c->db);
}

/* ---- status ---- */

/* heur_log_fn: a running transaction (WAIT, COMMIT) is listed already,
 * with the note. */
static int
cviol_status_log(void *arg, const char *txid, tx_state *state, uint64_t *epoch, char *ctx,
    size_t len)
{
	coord *c = arg;
	clog_txn t;
	memset(&t, 0, sizeof(t));
	int rv = clog_get(c->db, txid, &t);
	*state = rv == 0 ? t.state : TX_NONE;
	*epoch = atomic_load(&c->epoch);
	snprintf(ctx, len, "participants=%s", rv == 0 ? t.participants : "");
	return rv == 0 && (t.state == TX_WAIT || t.state == TX_COMMIT);
}

void
cviol_status(coord *c, statlist *l, const char *only, int64_t now)
{
	heur_status(c->db, l, only, now, cviol_status_log, c);
}

