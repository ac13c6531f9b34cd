/*
 * precover.c - the participant's background work: recovery at start and
 * asking for missing decisions (DESIGN sections 3 and 4).
 *
 * A READY transaction whose decision has not arrived within
 * decision_timeout_ms is asked about: first the coordinator
 * (DECISION_REQUEST). The answer COMMIT or ABORT is applied; UNDECIDED or
 * no answer means ask again later, with capped exponential backoff, and the
 * participant keeps its locks: it never decides alone. When the
 * coordinator does not answer, part_ask_peers() runs the cooperative
 * termination protocol: every other participant of the transaction is
 * asked at once, and one that knows the decision settles it.
 *
 * The schedule is volatile: after a restart every READY transaction is
 * asked about at once, which is what recovery must do anyway.
 */
#include "part.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mclock.h"
#include "tlog.h"
#include "txstate.h"

#define PART_BACKOFF_CAP_MS 30000

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

/* The REQ socket to participant IDX, dialed on first use; -1 when
 * stopping (a socket dialed now would never be closed). */
static int
part_peer_sock(twopc_participant *p, int idx, nng_socket *out)
{
	int rv = 0;
	pthread_mutex_lock(&p->mtx);
	if (p->stopping || p->failed) {
		rv = -1;
	} else if (!p->peer_open[idx]) {
		rv = rpc_dial(p->cfg->participants[idx].listen, 1, &p->peer_socks[idx]);
		p->peer_open[idx] = rv == 0;
	}
	if (rv == 0)
		*out = p->peer_socks[idx];
	pthread_mutex_unlock(&p->mtx);
	return rv;
}

/* What the peers of one transaction said. */
typedef struct part_peers_view {
	int asked, ready, unreachable;
	char ready_names[256];
	char unreachable_names[256];
} part_peers_view;

static void
part_append_name(char *buf, size_t len, const char *name)
{
	size_t at = strlen(buf);
	snprintf(buf + at, len - at, "%s%s", at ? ", " : "", name);
}

/*
 * The cooperative termination protocol (DESIGN section 4), asking side:
 * ask every other participant of T at once. A peer that knows the decision
 * (COMMIT or ABORT in its log) settles it; a peer with no READY record
 * forces ABORT before it answers, so its ABORT is final too; a READY peer
 * knows nothing. Returns TX_COMMIT, TX_ABORT, or TX_NONE (no help: *V says
 * who was READY and who did not answer).
 */
static tx_state
part_ask_peers(twopc_participant *p, const char *txid, const plog_txn *t, part_peers_view *v)
{
	char buf[sizeof(t->peers)];
	char *save = NULL;
	int idx[WIRE_MAX_WORK];
	nng_socket socks[WIRE_MAX_WORK];
	wire_msg reqs[WIRE_MAX_WORK], reps[WIRE_MAX_WORK];
	const wire_msg *preqs[WIRE_MAX_WORK];
	int results[WIRE_MAX_WORK];
	size_t n = 0;
	uint32_t timeout = 0;
	tx_state answer = TX_NONE;

	memset(v, 0, sizeof(*v));
	snprintf(buf, sizeof(buf), "%s", t->peers);
	for (char *tok = strtok_r(buf, ",", &save); tok != NULL && n < WIRE_MAX_WORK;
	    tok = strtok_r(NULL, ",", &save)) {
		int i = cfg_participant_index(p->cfg, tok);
		if (i < 0 || strcmp(tok, p->self->name) == 0)
			continue;
		if (part_peer_sock(p, i, &socks[n]) != 0) {
			part_append_name(v->unreachable_names, sizeof(v->unreachable_names), tok);
			v->unreachable++;
			continue;
		}
		idx[n] = i;
		wire_msg_init(&reqs[n], WIRE_DECISION_REQUEST, t->epoch, txid, p->self->name);
		preqs[n] = &reqs[n];
		uint32_t to = fd_timeout(&p->fd, 1 + i);
		if (to > timeout)
			timeout = to;
		n++;
	}
	v->asked = (int)n;
	if (n == 0 || rpc_call_many(n, socks, preqs, reps, results, (int)timeout) != 0)
		return TX_NONE;
	for (size_t k = 0; k < n; k++) {
		const char *name = p->cfg->participants[idx[k]].name;
		fd_report(&p->fd, 1 + idx[k], results[k] == 0);
		if (results[k] != 0 || reps[k].type != WIRE_DECISION_REPLY) {
			part_append_name(v->unreachable_names, sizeof(v->unreachable_names), name);
			v->unreachable++;
			if (results[k] == 0)
				wire_msg_free(&reps[k]);
			continue;
		}
		tx_state s = (tx_state)reps[k].state;
		wire_msg_free(&reps[k]);
		if (s == TX_READY) {
			part_append_name(v->ready_names, sizeof(v->ready_names), name);
			v->ready++;
		} else if (s == TX_COMMIT || s == TX_ABORT) {
			if (answer != TX_NONE && answer != s) {
				/* Two forced decisions disagree: only a bug can do that.
				 * Deciding either way could be wrong; stay blocked. */
				tlog_error("%s: PROTOCOL VIOLATION: peers answered both COMMIT and ABORT",
				    txid);
				return TX_NONE;
			}
			answer = s;
			tlog_info("%s: %s answered %s (termination protocol)", txid, name,
			    tx_state_name(s));
		}
	}
	return answer;
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

/* Ask about one READY transaction whose turn has come: the coordinator
 * first, the other participants if it does not answer. */
static void
part_ask_one(twopc_participant *p, const char *txid, const plog_txn *t)
{
	wire_msg req, rep;
	tx_state answer = TX_NONE;
	const char *from = p->cfg->coordinator.name;
	part_peers_view v = { 0 };
	int peers_asked = 0;

	if (part_solo(p, t)) {
		/* One-phase: READY is our own COMMIT decision (forced before
		 * commit was called); only its application is pending. */
		part_apply(p, txid, TX_COMMIT, "itself (one-phase commit)");
		return;
	}
	wire_msg_init(&req, WIRE_DECISION_REQUEST, t->epoch, txid, p->self->name);
	int rv = rpc_call(p->coord, &req, &rep, (int)fd_timeout(&p->fd, 0));
	/* Any reply proves the coordinator alive, even one we cannot use. */
	fd_report(&p->fd, 0, rv == 0);
	if (rv == 0) {
		if (rep.type == WIRE_DECISION_REPLY)
			answer = (tx_state)rep.state;
		else
			rv = TWOPC_EPROTO; /* an ERROR reply: no decision from it */
		wire_msg_free(&rep);
	}
	if (rv != 0 || answer == TX_READY) {
		/* The coordinator is silent, or in doubt itself (its log was
		 * lost and it was started above our epoch: it answers READY,
		 * "no help"): cooperative termination. */
		answer = part_ask_peers(p, txid, t, &v);
		peers_asked = 1;
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
		int64_t now = mono_ms(), cdown = 0;
		int64_t cap = (int64_t)p->cfg->decision_timeout_ms * 8;
		if (cap > PART_BACKOFF_CAP_MS)
			cap = PART_BACKOFF_CAP_MS;
		if (a->asks == 0)
			a->since_ms = now;
		a->asks++;
		a->backoff_ms = a->backoff_ms ? a->backoff_ms * 2 : p->cfg->decision_timeout_ms;
		if (a->backoff_ms > cap)
			a->backoff_ms = cap;
		a->next_ms = now + a->backoff_ms;
		pthread_mutex_unlock(&p->mtx);
		(void)fd_suspected(&p->fd, 0, &cdown);
		pthread_mutex_lock(&p->mtx);
		a = part_ask_find(p, txid, 0);
		if (a != NULL) {
			if (!peers_asked)
				snprintf(a->why, sizeof(a->why),
				    "coordinator has not decided yet (WAIT) after %.1f s; asking again in %.1f s",
				    (double)(now - a->since_ms) / 1000.0, (double)a->backoff_ms / 1000.0);
			else if (v.asked == 0 && v.unreachable == 0)
				snprintf(a->why, sizeof(a->why),
				    "blocked: no other participant to ask; coordinator unreachable for %.1f s; "
				    "asking again in %.1f s", (double)cdown / 1000.0,
				    (double)a->backoff_ms / 1000.0);
			else if (v.unreachable == 0)
				snprintf(a->why, sizeof(a->why),
				    "blocked: all reachable participants READY (%.60s); coordinator unreachable "
				    "for %.1f s; asking again in %.1f s", v.ready_names[0] ? v.ready_names : "none",
				    (double)cdown / 1000.0, (double)a->backoff_ms / 1000.0);
			else
				snprintf(a->why, sizeof(a->why),
				    "blocked: READY: %.40s; unreachable: %.40s; coordinator unreachable for %.1f s; "
				    "asking again in %.1f s", v.ready_names[0] ? v.ready_names : "none",
				    v.unreachable_names, (double)cdown / 1000.0, (double)a->backoff_ms / 1000.0);
			/* One line per backoff step, not per tick. */
			tlog_warn("%s: READY without a decision: %s", txid, a->why);
		}
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
		p->next_expire_ms = now + cfg_expire_every_ms(p->cfg);
		db_lock(p->db);
		if (db_begin_lazy(p->db) == 0) {
			int n = plog_expire(p->db, now_wall - (int64_t)p->cfg->retention_s * 1000);
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
	}
	return NULL;
}
