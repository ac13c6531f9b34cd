/*
 * precover.c - the participant's background work: recovery at start and
 * asking for missing decisions (DESIGN sections 3 and 4).
 *
 * A READY transaction whose decision has not arrived within
 * decision_timeout_ms is asked about: first the coordinator
 * (DECISION_REQUEST). The answer COMMIT or ABORT is applied; UNDECIDED or
 * no answer means ask again later, with capped exponential backoff, and the
 * participant keeps its locks: it never decides alone. The cooperative
 * termination protocol (asking the peers when the coordinator does not
 * answer) plugs in at part_ask_peers().
 *
 * The schedule is volatile: after a restart every READY transaction is
 * asked about at once, which is what recovery must do anyway.
 */
#include "part.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tlog.h"
#include "txstate.h"

#define PART_BACKOFF_CAP_MS 30000
#define PART_EXPIRE_EVERY_MS 60000

int
part_recover(twopc_participant *p)
{
	/* INIT is never durable in this implementation, but a log written by
	 * another version could hold it: INIT -> ABORT. READY needs nothing
	 * here: the background thread asks about it at once. */
	db_lock(p->db);
	int rv = db_exec(p->db,
	    "BEGIN IMMEDIATE;"
	    "DELETE FROM workspace WHERE txid IN (SELECT txid FROM txn WHERE state = 'INIT');"
	    "DELETE FROM locks WHERE txid IN (SELECT txid FROM txn WHERE state = 'INIT');"
	    "UPDATE txn SET state = 'ABORT' WHERE state = 'INIT';"
	    "COMMIT;");
	db_unlock(p->db);
	return rv;
}

static part_ask *
part_ask_find(twopc_participant *p, const char *txid, int create)
{
	for (size_t i = 0; i < p->nasks; i++)
		if (strcmp(p->asks[i].txid, txid) == 0)
			return &p->asks[i];
	if (!create)
		return NULL;
	if (p->nasks == p->capasks) {
		size_t cap = p->capasks ? p->capasks * 2 : 16;
		part_ask *a = realloc(p->asks, cap * sizeof(*a));
		if (a == NULL)
			return NULL;
		p->asks = a;
		p->capasks = cap;
	}
	part_ask *a = &p->asks[p->nasks++];
	memset(a, 0, sizeof(*a));
	snprintf(a->txid, sizeof(a->txid), "%s", txid);
	return a;
}

void
part_ask_drop(twopc_participant *p, const char *txid)
{
	pthread_mutex_lock(&p->mtx);
	part_ask *a = part_ask_find(p, txid, 0);
	if (a != NULL)
		*a = p->asks[--p->nasks];
	pthread_mutex_unlock(&p->mtx);
}

void
part_ask_note(twopc_participant *p, const char *txid, char *buf, size_t len)
{
	pthread_mutex_lock(&p->mtx);
	part_ask *a = part_ask_find(p, txid, 0);
	snprintf(buf, len, "%s", a ? a->why : "");
	pthread_mutex_unlock(&p->mtx);
}

/* Peer-to-peer termination (DESIGN section 4) goes here: ask every other
 * participant of the transaction. Not yet: the caller keeps waiting for
 * the coordinator. Returns TX_NONE (no help). */
static tx_state
part_ask_peers(twopc_participant *p, const char *txid, const plog_txn *t)
{
	(void)p;
	(void)txid;
	(void)t;
	return TX_NONE;
}

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

/* Apply a decision learned for TXID, if it is still READY. */
static void
part_apply(twopc_participant *p, const char *txid, tx_state decision, const char *from)
{
	plog_txn t;
	char why[96];
	db_lock(p->db);
	if (plog_get(p->db, txid, &t) == 0 && t.state == TX_READY) {
		snprintf(why, sizeof(why), "decision from %s", from);
		(void)(decision == TX_COMMIT ? part_commit(p, txid, &t) :
		    part_abort(p, txid, &t, 0, why));
	}
	db_unlock(p->db);
}

/* Ask about one READY transaction whose turn has come. */
static void
part_ask_one(twopc_participant *p, const char *txid, const plog_txn *t)
{
	wire_msg req, rep;
	tx_state answer = TX_NONE;
	const char *from = p->cfg->coordinator.name;

	wire_msg_init(&req, WIRE_DECISION_REQUEST, t->epoch, txid, p->self->name);
	int rv = rpc_call(p->coord, &req, &rep, (int)p->cfg->decision_timeout_ms);
	if (rv == 0) {
		if (rep.type == WIRE_DECISION_REPLY)
			answer = (tx_state)rep.state;
		else
			tlog_warn("%s: coordinator answered DECISION_REQUEST with %s", txid,
			    wire_type_name(rep.type));
		wire_msg_free(&rep);
	}
	if (answer != TX_COMMIT && answer != TX_ABORT && rv != 0) {
		answer = part_ask_peers(p, txid, t);
		from = "a peer";
	}
	if (answer == TX_COMMIT || answer == TX_ABORT) {
		part_apply(p, txid, answer, from);
		return;
	}
	/* No decision: keep the locks, ask again later (never decide alone). */
	pthread_mutex_lock(&p->mtx);
	part_ask *a = part_ask_find(p, txid, 1);
	if (a != NULL) {
		int64_t now = mono_ms();
		if (a->asks == 0)
			a->since_ms = now;
		a->asks++;
		a->backoff_ms = a->backoff_ms ? a->backoff_ms * 2 : p->cfg->decision_timeout_ms;
		if (a->backoff_ms > PART_BACKOFF_CAP_MS)
			a->backoff_ms = PART_BACKOFF_CAP_MS;
		a->next_ms = now + a->backoff_ms;
		snprintf(a->why, sizeof(a->why), "%s for %lld s; asking again in %lld s",
		    rv == 0 ? "coordinator has not decided" : "coordinator unreachable",
		    (long long)((now - a->since_ms) / 1000), (long long)(a->backoff_ms / 1000));
		/* One line per backoff step, not per tick. */
		tlog_warn("%s: READY without a decision: %s", txid, a->why);
	}
	pthread_mutex_unlock(&p->mtx);
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
		p->next_expire_ms = now + PART_EXPIRE_EVERY_MS;
		db_lock(p->db);
		if (db_begin_lazy(p->db) == 0) {
			int n = plog_expire(p->db, now_wall - (int64_t)p->cfg->retention_s * 1000);
			if (n >= 0 && db_commit(p->db) == 0 && n > 0)
				tlog_info("expired %d ABORT records older than %u s", n, p->cfg->retention_s);
			else if (n < 0)
				db_rollback(p->db);
		}
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
	p->next_expire_ms = mono_ms() + PART_EXPIRE_EVERY_MS;
	for (;;) {
		struct timespec ts;
		pthread_mutex_lock(&p->mtx);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += (long)tick * 1000000L;
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		if (!p->stopping && !p->failed)
			pthread_cond_timedwait(&p->cv, &p->mtx, &ts);
		int stop = p->stopping || p->failed;
		pthread_mutex_unlock(&p->mtx);
		if (stop)
			break;
		part_tick(p);
	}
	return NULL;
}
