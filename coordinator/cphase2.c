/*
 * cphase2.c - the coordinator's phase two: delivering decisions, counting
 * ACKs, END, FORGET, restart recovery and retention.
 *
 * GLOBAL_COMMIT goes first to one participant alone and then to the rest
 * together, so that "exactly one participant knows" is a real state (the
 * crash point coordinator.after_first_global) that recovery and the
 * termination protocol must handle. A COMMIT without every ACK stays in
 * the log and the resender thread sends GLOBAL_COMMIT again every
 * ack_retry_ms until every participant has ACKed (R3); then END (lazy),
 * and the participants may forget it (FORGET, lazy and batched, R9).
 *
 * GLOBAL_ABORT is best effort and never resent: a participant that misses
 * it asks, and hears ABORT by presumption (R3).
 */
#include "coord.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crash.h"
#include "mclock.h"
#include "tlog.h"
#include "twopc/error.h"

#define COORD_FORGET_BATCH 512
#define COORD_FORGET_MAX 100000
#define COORD_FORGET_ROUNDS 256  /* batches per participant per resender cycle */

int
coord_parse_parts(const coord *c, const char *csv, coord_txn *t)
{
	char buf[sizeof(((clog_txn *)0)->participants)];
	char *save = NULL;
	snprintf(buf, sizeof(buf), "%s", csv);
	t->nparts = 0;
	for (char *tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		int idx = cfg_participant_index(c->cfg, tok);
		if (idx < 0 || t->nparts == WIRE_MAX_WORK) {
			tlog_error("%s: log names participant '%s', which is not in %s", t->txid, tok,
			    c->cfg->path);
			return TWOPC_ECONFIG;
		}
		t->parts[t->nparts++] = idx;
	}
	return 0;
}

void
coord_queue_job(coord *c, coord_txn *t)
{
	coord_job *j = calloc(1, sizeof(*j));
	if (j == NULL) {
		/* The resender will deliver a COMMIT; an ABORT is presumed. */
		coord_txn_unref(c, t);
		return;
	}
	j->t = t;
	pthread_mutex_lock(&c->mtx);
	if (c->jobs_tail != NULL)
		c->jobs_tail->next = j;
	else
		c->jobs = j;
	c->jobs_tail = j;
	pthread_cond_signal(&c->jobs_cv);
	pthread_mutex_unlock(&c->mtx);
}

void
coord_forget_queue(coord *c, int part, const char *txid)
{
	coord_fq *q = &c->forget[part];
	if (q->n == COORD_FORGET_MAX)
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

void
coord_commit_req(coord *c, coord_txn *t, wire_msg *req)
{
	wire_msg_init(req, WIRE_GLOBAL_COMMIT, atomic_load(&c->epoch), t->txid,
	    c->cfg->coordinator.name);
}

int
coord_commit_reply(coord *c, coord_txn *t, size_t i, int result, wire_msg *rep, int *acked)
{
	const char *name = c->cfg->participants[t->parts[i]].name;
	int ok = 0;
	if (result != 0)
		return 0;
	if (rep->type == WIRE_ACK && rep->state == TX_COMMIT) {
		acked[i] = 1;
		ok = 1;
	} else if (rep->type == WIRE_ACK) {
		/* Cannot heal: logged once, recorded, not resent (cresolve.c). */
		cres_violation(c, t->txid, name, rep->state);
	} else {
		tlog_warn("%s: %s answered GLOBAL_COMMIT with %s: %s", t->txid, name,
		    wire_type_name(rep->type), rep->text ? rep->text : "");
	}
	wire_msg_free(rep);
	return ok;
}

/*
 * Send GLOBAL_COMMIT for T to the participants WHO (indexes into t->parts,
 * N of them) and record the ACKs. Returns how many ACKed.
 */
static size_t
coord_send_commit(coord *c, coord_txn *t, const size_t *who, size_t n, int *acked)
{
	wire_msg reqs[WIRE_MAX_WORK], reps[WIRE_MAX_WORK];
	const wire_msg *preqs[WIRE_MAX_WORK] = { 0 };
	nng_socket socks[WIRE_MAX_WORK] = { 0 };
	int results[WIRE_MAX_WORK];
	size_t nack = 0;

	for (size_t i = 0; i < n; i++) {
		coord_commit_req(c, t, &reqs[i]);
		preqs[i] = &reqs[i];
		socks[i] = c->socks[t->parts[who[i]]];
	}
	if (rpc_call_many(n, socks, preqs, reps, results, (int)c->cfg->vote_timeout_ms) != 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		(void)coord_fence_check(c, t->parts[who[i]], results[i], &reps[i]);
		nack += (size_t)coord_commit_reply(c, t, who[i], results[i], &reps[i], acked);
	}
	return nack;
}

int
coord_record_acks(coord *c, coord_txn *t, const int *acked, const int *was)
{
	size_t all = 0;
	int rv;
	db_lock(c->db);
	if ((rv = db_begin_lazy(c->db)) != 0) {
		db_unlock(c->db);
		return 0;
	}
	for (size_t i = 0; i < t->nparts; i++)
		all += acked[i] != 0;
	int end = all == t->nparts;
	for (size_t i = 0; !end && i < t->nparts; i++)
		if (acked[i] && !was[i])
			rv |= clog_ack(c->db, t->txid, c->cfg->participants[t->parts[i]].name);
	/* END needs no acks any more (recovery reads them only for COMMIT):
	 * drop them with it, rather than keep them until expiry. */
	if (end)
		rv |= clog_set_state(c->db, t->txid, TX_END, 0) | clog_acks_drop(c->db, t->txid);
	if (rv != 0)
		db_rollback(c->db);
	else
		rv = db_commit(c->db);
	if (rv == 0 && end) {
		pthread_mutex_lock(&c->mtx);
		for (size_t i = 0; i < t->nparts; i++)
			coord_forget_queue(c, t->parts[i], t->txid);
		pthread_mutex_unlock(&c->mtx);
	}
	db_unlock(c->db);
	if (rv != 0)
		return 0;
	if (end) {
		/* crash here: END is written (lazily); recovery either finds END
		 * (queues FORGET again) or, if END was lost, COMMIT with its
		 * acks and resends GLOBAL_COMMIT, ACKed again (R4). */
		crash_point("coordinator.after_end_logged");
		tlog_state(t->txid, "COMMIT", "END", NULL);
	}
	return end;
}

#ifdef TWOPC_BUG_GLOBAL_BEFORE_DECISION
void
coord_bug_early_global(coord *c, coord_txn *t)
{
	int acked[WIRE_MAX_WORK] = { 0 };
	size_t first = 0;
	if (coord_send_commit(c, t, &first, 1, acked) == 1)
		crash_point("coordinator.after_first_global");
}
#endif

void
coord_deliver_commit(coord *c, coord_txn *t)
{
	int acked[WIRE_MAX_WORK] = { 0 }, was[WIRE_MAX_WORK] = { 0 };
	size_t who[WIRE_MAX_WORK], n = 0;
	size_t first = t->nparts;

	/* READ-ONLY voters left at the vote: recorded as ACKed already. */
	for (size_t i = 0; i < t->nparts; i++) {
		acked[i] = was[i] = t->voted_readonly[i];
		if (!acked[i] && first == t->nparts)
			first = i;
	}
	if (first == t->nparts) {
		(void)coord_record_acks(c, t, acked, was); /* all read-only: END */
		return;
	}
	/*
	 * GLOBAL_COMMIT goes to every participant at once: the client waits
	 * for the slowest, not for the sum. The state of the crash point
	 * below (exactly one participant committed, the others READY) is
	 * one a parallel delivery passes through too; only when the point is
	 * armed is the first participant served alone, to stop there.
	 */
	if (crash_point_armed("coordinator.after_first_global") &&
	    coord_send_commit(c, t, &first, 1, acked) == 1) {
		/* crash here: one participant committed, the others are READY;
		 * recovery resends GLOBAL_COMMIT; peers can learn COMMIT from
		 * the first one (termination protocol). */
		crash_point("coordinator.after_first_global");
	}
	for (size_t i = 0; i < t->nparts; i++)
		if (!acked[i])
			who[n++] = i;
	if (n > 0)
		(void)coord_send_commit(c, t, who, n, acked);
	/* crash here: every GLOBAL sent, END not logged; recovery resends
	 * GLOBAL_COMMIT, every participant ACKs again (R4). */
	crash_point("coordinator.after_all_globals");
	/* Every ACK of this round in one lazy write (with END when complete):
	 * a lost ACK costs only one more GLOBAL_COMMIT, so there is no reason
	 * to write the first one on its own. */
	(void)coord_record_acks(c, t, acked, was);
}

void
coord_deliver_abort(coord *c, coord_txn *t, int voters_only)
{
	wire_msg reqs[WIRE_MAX_WORK], reps[WIRE_MAX_WORK];
	const wire_msg *preqs[WIRE_MAX_WORK] = { 0 };
	nng_socket socks[WIRE_MAX_WORK] = { 0 };
	int results[WIRE_MAX_WORK], to[WIRE_MAX_WORK];
	size_t n = 0;

	for (size_t i = 0; i < t->nparts; i++) {
		if (t->voted_abort[i] || t->voted_readonly[i] || (voters_only && !t->voted_commit[i]))
			continue;
		wire_msg_init(&reqs[n], WIRE_GLOBAL_ABORT, atomic_load(&c->epoch), t->txid,
		    c->cfg->coordinator.name);
		preqs[n] = &reqs[n];
		socks[n] = c->socks[t->parts[i]];
		to[n] = t->parts[i];
		n++;
	}
	if (n == 0 || rpc_call_many(n, socks, preqs, reps, results, (int)c->cfg->vote_timeout_ms) != 0)
		return;
	for (size_t i = 0; i < n; i++) {
		(void)coord_fence_check(c, to[i], results[i], &reps[i]);
		if (results[i] == 0)
			wire_msg_free(&reps[i]);
	}
}

void *
coord_phase2_main(void *arg)
{
	coord *c = arg;
	for (;;) {
		pthread_mutex_lock(&c->mtx);
		while (c->jobs == NULL && !c->stopping && !c->failed)
			pthread_cond_wait(&c->jobs_cv, &c->mtx);
		if (c->stopping || c->failed) {
			pthread_mutex_unlock(&c->mtx);
			return NULL;
		}
		coord_job *j = c->jobs;
		c->jobs = j->next;
		if (c->jobs == NULL)
			c->jobs_tail = NULL;
		pthread_mutex_unlock(&c->mtx);
		if (j->t->state == TX_COMMIT)
			coord_deliver_commit(c, j->t);
		else
			coord_deliver_abort(c, j->t, 0);
		coord_txn_unref(c, j->t);
		free(j);
	}
}

/* ---- resending, FORGET, retention ---- */

typedef struct coord_due {
	coord_txn *v;
	size_t n, cap;
	int64_t before;
} coord_due;

static void
coord_collect(void *arg, const char *txid, const clog_txn *t)
{
	coord_due *d = arg;
	if (d->n == d->cap || t->decided_at > d->before)
		return;
	coord_txn *x = &d->v[d->n];
	memset(x, 0, sizeof(*x));
	snprintf(x->txid, sizeof(x->txid), "%s", txid);
	x->state = t->state;
	snprintf(x->reason, sizeof(x->reason), "%s", t->participants);
	d->n++;
}

/* Resend GLOBAL_COMMIT for COMMIT records older than one retry period
 * (younger ones are still in a phase-two thread's hands). */
static void
coord_resend(coord *c, int64_t age_ms)
{
	coord_due d = { .cap = 256, .before = db_now_ms() - age_ms };
	d.v = calloc(d.cap, sizeof(*d.v));
	if (d.v == NULL)
		return;
	db_lock(c->db);
	int rv = clog_each(c->db, TX_COMMIT, d.cap, coord_collect, &d);
	db_unlock(c->db);
	for (size_t k = 0; rv == 0 && k < d.n; k++) {
		coord_txn *t = &d.v[k];
		int acked[WIRE_MAX_WORK] = { 0 }, was[WIRE_MAX_WORK] = { 0 };
		size_t who[WIRE_MAX_WORK], n = 0;
		if (coord_parse_parts(c, t->reason, t) != 0)
			continue;
		db_lock(c->db);
		for (size_t i = 0; i < t->nparts; i++)
			was[i] = acked[i] = clog_acked(c->db, t->txid,
			    c->cfg->participants[t->parts[i]].name) == 1;
		db_unlock(c->db);
		for (size_t i = 0; i < t->nparts; i++)
			if (!acked[i] && !cres_stopped(c, t->txid, c->cfg->participants[t->parts[i]].name))
				who[n++] = i;
		if (n > 0) {
			tlog_debug("%s: resending GLOBAL_COMMIT to %zu participant(s)", t->txid, n);
			(void)coord_send_commit(c, t, who, n, acked);
		}
		(void)coord_record_acks(c, t, acked, was);
	}
	free(d.v);
	atomic_fetch_add(&c->res.resend_cycles, 1);
}

static size_t
coord_flush_forget_round(coord *c)
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
	pthread_mutex_lock(&c->mtx);
	for (size_t p = 0; p < c->nsocks && p < sizeof(snap) / sizeof(snap[0]); p++) {
		snap[p] = c->forget[p].n < COORD_FORGET_BATCH ? c->forget[p].n : COORD_FORGET_BATCH;
		any += snap[p];
	}
	pthread_mutex_unlock(&c->mtx);
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
		char *ids[COORD_FORGET_BATCH];
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
 * round per resender cycle would cap it at COORD_FORGET_BATCH per cycle and
 * let the queue overflow under load). Bounded, so the resender still gets
 * to its other duties.
 */
static void
coord_flush_forget(coord *c)
{
	for (int round = 0; round < COORD_FORGET_ROUNDS; round++)
		if (coord_flush_forget_round(c) == 0)
			break;
}

void *
coord_resender_main(void *arg)
{
	coord *c = arg;
	int64_t next_expire = mono_ms() + cfg_expire_every_ms(c->cfg);
	int first = 1;

	for (;;) {
		pthread_mutex_lock(&c->mtx);
		if (!first && !c->stopping && !c->failed)
			(void)mclock_cond_wait_ms(&c->jobs_cv, &c->mtx, (long)c->cfg->ack_retry_ms);
		int stop = c->stopping || c->failed;
		pthread_mutex_unlock(&c->mtx);
		if (stop)
			return NULL;
		/* At start every COMMIT not END is resent at once (recovery). */
		coord_resend(c, first ? -1000000 : (int64_t)c->cfg->ack_retry_ms);
		coord_one_phase_resolve(c, first ? -1000000 : (int64_t)c->cfg->vote_timeout_ms);
		first = 0;
		coord_flush_forget(c);
		if (mono_ms() >= next_expire) {
			next_expire = mono_ms() + cfg_expire_every_ms(c->cfg);
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
	}
}

typedef struct coord_waits {
	coord_txn **v;
	size_t n, cap;
} coord_waits;

static void
coord_collect_wait(void *arg, const char *txid, const clog_txn *t)
{
	coord_waits *w = arg;
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 64;
		coord_txn **v = realloc(w->v, cap * sizeof(*v));
		if (v == NULL)
			return;
		w->v = v;
		w->cap = cap;
	}
	/* A one-phase WAIT is not ours to abort: the participant may have
	 * committed. The resender asks it (conephase.c). */
	if (strchr(t->participants, ',') == NULL)
		return;
	coord_txn *x = calloc(1, sizeof(*x));
	if (x == NULL)
		return;
	snprintf(x->txid, sizeof(x->txid), "%s", txid);
	snprintf(x->reason, sizeof(x->reason), "%s", t->participants);
	x->state = TX_ABORT;
	x->refs = 1;
	w->v[w->n++] = x;
}

/* END records still in the log: their FORGET may have been lost with the
 * previous process's memory. Sending it again is harmless (R9). */
static void
coord_collect_end(void *arg, const char *txid, const clog_txn *t)
{
	coord *c = arg;
	coord_txn x;
	memset(&x, 0, sizeof(x));
	snprintf(x.txid, sizeof(x.txid), "%s", txid);
	if (coord_parse_parts(c, t->participants, &x) != 0)
		return;
	for (size_t i = 0; i < x.nparts; i++)
		coord_forget_queue(c, x.parts[i], txid);
}

/*
 * Restart recovery, before serving: every WAIT (no decision was forced)
 * becomes ABORT and its participants hear GLOBAL_ABORT. COMMIT records are
 * resent by the resender's first pass.
 */
int
coord_recover(coord *c)
{
	coord_waits w = { 0 };
	int rv;

	cres_init(c);
	db_lock(c->db);
	rv = clog_each(c->db, TX_WAIT, (size_t)-1 >> 1, coord_collect_wait, &w);
	if (rv == 0) {
		pthread_mutex_lock(&c->mtx);
		rv = clog_each(c->db, TX_END, COORD_FORGET_MAX, coord_collect_end, c);
		pthread_mutex_unlock(&c->mtx);
	}
	if (rv == 0 && w.n > 0) {
		if ((rv = db_begin_lazy(c->db)) == 0) {
			for (size_t i = 0; i < w.n && rv == 0; i++)
				rv = clog_set_state(c->db, w.v[i]->txid, TX_ABORT, db_now_ms());
			if (rv != 0)
				db_rollback(c->db);
			else
				rv = db_commit(c->db);
		}
	}
	db_unlock(c->db);
	for (size_t i = 0; i < w.n; i++) {
		coord_txn *t = w.v[i];
		if (rv == 0 && coord_parse_parts(c, t->reason, t) == 0) {
			tlog_state(t->txid, "WAIT", "ABORT", "recovery: no decision was logged");
			t->reason[0] = '\0';
			coord_queue_job(c, t);
		} else {
			free(t);
		}
	}
	free(w.v);
	return rv;
}
