/*
 * pterm.c - the cooperative termination protocol; see pterm.h.
 *
 * A READY transaction whose decision has not arrived within
 * decision_timeout_ms is asked about: first the coordinator
 * (DECISION_REQUEST). The answer COMMIT or ABORT is applied; UNDECIDED or
 * no answer means ask again later, with capped exponential backoff, and the
 * participant keeps its locks. When the coordinator does not answer (or is
 * in doubt itself), every other participant of the transaction is asked at
 * once, and one that knows the decision settles it.
 */
#include "pterm.h"

#include <stdio.h>
#include <string.h>

#include "mclock.h"
#include "pdecide.h"
#include "tlog.h"

#define PART_BACKOFF_CAP_MS 30000

/* ---- answering side ---- */

/*
 * What we answer about TXID, record *T (NONE zeroes if none), for the run
 * REQ asks about, and whether ABORT must be forced first. The question
 * names the run by its epoch; a record of another run of the same txid
 * answers nothing about it:
 *   our run is newer  -> the asker's run was superseded, which R7 allows
 *                        only for a run that never committed: ABORT;
 *   our run is older  -> for the asker's run we are "no record" (an old
 *                        READY is superseded, R7): force ABORT for it,
 *                        unless our old run COMMITTED (then this txid
 *                        never runs again here, the vote would be ABORT);
 *   same run          -> the table: COMMIT, ABORT, READY, or INIT/none
 *                        -> force ABORT first (R8), then ABORT.
 */
static tx_state
part_term_answer(twopc_participant *p, const wire_msg *req, const plog_txn *t, int *force)
{
	*force = 0;
	if (t->state != TX_NONE && (req->flags & WIRE_FLAG_ONE_PHASE) &&
	    (t->state == TX_COMMIT || t->state == TX_ABORT ||
	    (t->state == TX_READY && part_solo(p, t))))
		/* The coordinator asks about a one-phase run it did not hear
		 * from: our record is the decision, whatever its epoch (a solo
		 * READY is our COMMIT, its application pending). */
		return t->state == TX_READY ? TX_COMMIT : t->state;
	if (t->state != TX_NONE && t->epoch > req->epoch)
		return TX_ABORT;
	if (t->state == TX_COMMIT && t->epoch < req->epoch)
		return TX_ABORT;
	if (t->state == TX_NONE || t->state == TX_INIT || t->epoch < req->epoch)
		*force = 1;
	return *force ? TX_ABORT : t->state;
}

/* We never voted COMMIT in the run asked about: force ABORT for it first
 * (R8), so a late VOTE_REQUEST gets VOTE_ABORT and the answer stays true.
 * An older run still staged is discarded first (R7). 0 or an error. */
static int
part_term_force_abort(twopc_participant *p, const wire_msg *req, plog_txn *t)
{
	int rv;
	if ((t->state == TX_READY || t->state == TX_INIT) &&
	    (rv = part_abort(p, req->txid, t, t->epoch, 1, "superseded by a newer run")) != 0)
		return rv;
	if (t->state == TX_ABORT && t->epoch == req->epoch)
		return 0; /* that was the run asked about (an INIT of it) */
	return part_abort(p, req->txid, t, req->epoch, 1, "asked by a peer before any vote");
}

int
part_on_decision_request(twopc_participant *p, const wire_msg *req, wire_msg *rep)
{
	plog_txn t;
	uint64_t ro_epoch;
	int force;

	db_lock(p->db);
	int rv = plog_get(p->db, req->txid, &t);
	if (rv != 0 && rv != TWOPC_ENOENT) {
		db_unlock(p->db);
		part_fail(p, "cannot read the log");
		return 0;
	}
	if (rv == TWOPC_ENOENT)
		memset(&t, 0, sizeof(t));
	tx_state answer = part_term_answer(p, req, &t, &force);
	if (rv == TWOPC_ENOENT && plog_readonly_get(p->db, req->txid, &ro_epoch) == 0 &&
	    ro_epoch == req->epoch) {
		/* We voted READ-ONLY (yes) and know no decision: no help, like a
		 * READY peer. Answering ABORT could abort what others commit. */
		answer = TX_READY;
		force = 0;
	}
	if (force && part_term_force_abort(p, req, &t) != 0) {
		db_unlock(p->db);
		return 0;
	}
	db_unlock(p->db);
	rep->type = WIRE_DECISION_REPLY;
	rep->state = (uint8_t)answer;
	return 1;
}

/* ---- asking side ---- */

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

/* The DECISION_REQUESTs to every other participant of T that can be
 * dialed, into the arrays; the others are counted unreachable in V.
 * Returns how many, and the longest timeout among them in *TIMEOUT. */
static size_t
part_peer_requests(twopc_participant *p, const char *txid, const plog_txn *t,
    part_peers_view *v, int *idx, nng_socket *socks, wire_msg *reqs, uint32_t *timeout)
{
	char buf[sizeof(t->peers)];
	char *save = NULL;
	size_t n = 0;

	*timeout = 0;
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
		uint32_t to = fd_timeout(&p->fd, 1 + i);
		if (to > *timeout)
			*timeout = to;
		n++;
	}
	return n;
}

/*
 * Ask every other participant of T at once. A peer that knows the decision
 * (COMMIT or ABORT in its log) settles it; a peer with no READY record
 * forces ABORT before it answers, so its ABORT is final too; a READY peer
 * knows nothing. Returns TX_COMMIT, TX_ABORT, or TX_NONE (no help: *V says
 * who was READY and who did not answer).
 */
static tx_state
part_ask_peers(twopc_participant *p, const char *txid, const plog_txn *t, part_peers_view *v)
{
	int idx[WIRE_MAX_WORK], results[WIRE_MAX_WORK];
	nng_socket socks[WIRE_MAX_WORK];
	wire_msg reqs[WIRE_MAX_WORK], reps[WIRE_MAX_WORK];
	const wire_msg *preqs[WIRE_MAX_WORK];
	uint32_t timeout;
	tx_state answer = TX_NONE;

	memset(v, 0, sizeof(*v));
	size_t n = part_peer_requests(p, txid, t, v, idx, socks, reqs, &timeout);
	for (size_t k = 0; k < n; k++)
		preqs[k] = &reqs[k];
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
				for (size_t j = k + 1; j < n; j++)
					if (results[j] == 0)
						wire_msg_free(&reps[j]);
				return TX_NONE;
			}
			answer = s;
			tlog_info("%s: %s answered %s (termination protocol)", txid, name,
			    tx_state_name(s));
		}
	}
	return answer;
}

/* Ask the coordinator: 0 and its answer in *ANSWER, or an error (no
 * reply, or an ERROR reply: no decision from it). */
static int
part_ask_coordinator(twopc_participant *p, const char *txid, const plog_txn *t,
    tx_state *answer)
{
	wire_msg req, rep;
	wire_msg_init(&req, WIRE_DECISION_REQUEST, t->epoch, txid, p->self->name);
	int rv = rpc_call(p->coord, &req, &rep, (int)fd_timeout(&p->fd, 0));
	/* Any reply proves the coordinator alive, even one we cannot use. */
	fd_report(&p->fd, 0, rv == 0);
	if (rv != 0)
		return rv;
	if (rep.type == WIRE_DECISION_REPLY)
		*answer = (tx_state)rep.state;
	else
		rv = TWOPC_EPROTO;
	wire_msg_free(&rep);
	return rv;
}

/* The note `twopc status` shows for a READY transaction still without a
 * decision after asking, into A->why (p->mtx held). */
static void
part_ask_why(part_ask *a, int64_t now, int peers_asked, const part_peers_view *v, int64_t cdown)
{
	double next = (double)a->backoff_ms / 1000.0, down = (double)cdown / 1000.0;
	if (!peers_asked)
		snprintf(a->why, sizeof(a->why),
		    "coordinator has not decided yet (WAIT) after %.1f s; asking again in %.1f s",
		    (double)(now - a->since_ms) / 1000.0, next);
	else if (v->asked == 0 && v->unreachable == 0)
		snprintf(a->why, sizeof(a->why),
		    "blocked: no other participant to ask; coordinator unreachable for %.1f s; "
		    "asking again in %.1f s", down, next);
	else if (v->unreachable == 0)
		snprintf(a->why, sizeof(a->why),
		    "blocked: all reachable participants READY (%.60s); coordinator unreachable "
		    "for %.1f s; asking again in %.1f s", v->ready_names[0] ? v->ready_names : "none",
		    down, next);
	else
		snprintf(a->why, sizeof(a->why),
		    "blocked: READY: %.40s; unreachable: %.40s; coordinator unreachable for %.1f s; "
		    "asking again in %.1f s", v->ready_names[0] ? v->ready_names : "none",
		    v->unreachable_names, down, next);
}

/* No decision: keep the locks, ask again later (never decide alone). */
static void
part_ask_later(twopc_participant *p, const char *txid, int peers_asked, const part_peers_view *v)
{
	int64_t now = mono_ms(), cdown = 0;
	int64_t cap = (int64_t)p->cfg->decision_timeout_ms * 8;
	if (cap > PART_BACKOFF_CAP_MS)
		cap = PART_BACKOFF_CAP_MS;
	pthread_mutex_lock(&p->mtx);
	part_ask *a = part_ask_find(p, txid, 1);
	if (a != NULL) {
		if (a->asks == 0)
			a->since_ms = now;
		a->asks++;
		a->backoff_ms = a->backoff_ms ? a->backoff_ms * 2 : p->cfg->decision_timeout_ms;
		if (a->backoff_ms > cap)
			a->backoff_ms = cap;
		a->next_ms = now + a->backoff_ms;
	}
	pthread_mutex_unlock(&p->mtx);
	if (a == NULL)
		return;
	(void)fd_suspected(&p->fd, 0, &cdown);
	pthread_mutex_lock(&p->mtx);
	if ((a = part_ask_find(p, txid, 0)) != NULL) {
		part_ask_why(a, now, peers_asked, v, cdown);
		/* One line per backoff step, not per tick. */
		tlog_warn("%s: READY without a decision: %s", txid, a->why);
	}
	pthread_mutex_unlock(&p->mtx);
}

/* 1 if TXID is still READY in the run of T. The question to the
 * coordinator can take its whole timeout, and the decision may arrive
 * meanwhile (GLOBAL_COMMIT, then END and FORGET at the peers): a peer
 * asked after that has no record any more and would force an ABORT record
 * for a transaction it committed (R8 cannot tell the two apart). */
static int
part_still_ready(twopc_participant *p, const char *txid, const plog_txn *t)
{
	plog_txn now;
	db_lock(p->db);
	int rv = plog_get(p->db, txid, &now);
	db_unlock(p->db);
	return rv == 0 && now.state == TX_READY && now.epoch == t->epoch;
}

void
part_ask_one(twopc_participant *p, const char *txid, const plog_txn *t)
{
	part_peers_view v = { 0 };
	char why[96];
	const char *from = p->cfg->coordinator.name;
	int peers_asked = 0;

	if (part_solo(p, t)) {
		/* One-phase: READY is our own COMMIT decision (forced before
		 * commit was called); only its application is pending. */
		(void)part_decide(p, txid, TX_COMMIT, "decision from itself (one-phase commit)");
		return;
	}
	tx_state answer = TX_NONE;
	if (part_ask_coordinator(p, txid, t, &answer) != 0 || answer == TX_READY) {
		/* The coordinator is silent, or in doubt itself (its log was
		 * lost and it was started above our epoch: it answers READY,
		 * "no help"): cooperative termination, if the decision did not
		 * arrive meanwhile. */
		if (!part_still_ready(p, txid, t))
			return;
		answer = part_ask_peers(p, txid, t, &v);
		peers_asked = 1;
		from = "a peer";
	}
	if (answer == TX_COMMIT || answer == TX_ABORT) {
		snprintf(why, sizeof(why), "decision from %s", from);
		(void)part_decide(p, txid, answer, why);
		return;
	}
	part_ask_later(p, txid, peers_asked, &v);
}
