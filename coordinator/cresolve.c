/*
 * cresolve.c - manual resolution at the coordinator (twopc resolve), and
 * the repair of the violations that only it can see (cviol.h).
 *
 * RESOLVE without force: the operator's outcome becomes the coordinator's
 * own decision, delivered by the normal phase two, so every later question
 * gets the same answer. It is refused (ERROR, the text naming the node and
 * its state) when
 *   - the txid is running here (its vote round decides it);       ESTATE
 *   - the coordinator has decided (COMMIT, ABORT, END);            ESTATE
 *   - a participant of it has decided (COMMIT or ABORT);           ESTATE
 *   - --commit and a participant never voted (INIT, no record);    ESTATE
 *   - no node has a record of the txid;                            ENOENT
 *   - a participant cannot be reached (--force is the way then).   ETIMEDOUT
 * The participants are those of the WAIT row, or, with no row (a lost
 * log), the `peers` of any configured participant's record. The decision
 * is forced before anything leaves (R2), under the db lock with the
 * running table checked again, so a SUBMIT of the same txid either came
 * first (refused: running) or finds the decision (R7).
 *
 * RESOLVE with force (the driver has already applied the outcome at every
 * participant it reached): a COMMIT not END whose participants hold ABORT
 * somewhere is the unhealable violation: END, with a heuristic record
 * naming every node's state; resending stops. No decision here (no row or
 * WAIT): the outcome is recorded as the decision, with a heuristic record,
 * and delivered. ABORT and END, and a COMMIT nobody contradicts, are left
 * alone. Delivery is phase two's own (cdeliver.c), on a flow this handler
 * waits for, so the answer says what was delivered.
 *
 * Known limit: a DECISION_REPLY of presumed ABORT that left before the
 * txid had a row here, and is still in flight, is not seen: a --commit
 * resolution after a lost log should wait for the participants' answers
 * to settle (they are READY when asked, and stay so while blocked).
 */
#include "cresolve.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cdeliver.h"
#include "cflow.h"
#include "coord.h"
#include "heur.h"
#include "serve.h"
#include "statlist.h"
#include "tlog.h"
#include "twopc/error.h"

/* What participants WHO[0..N) (config indexes) hold of TXID: STATE[i] (a
 * tx_state, or -1 unreachable), and the peers of the first record found
 * copied to PEERS. */
static void
cres_ask(coord *c, const char *txid, const int *who, size_t n, int *state, char *peers, size_t plen)
{
	wire_msg reqs[CFG_MAX_PARTICIPANTS], reps[CFG_MAX_PARTICIPANTS];
	const wire_msg *preqs[CFG_MAX_PARTICIPANTS];
	nng_socket socks[CFG_MAX_PARTICIPANTS];
	int results[CFG_MAX_PARTICIPANTS];

	for (size_t i = 0; i < n; i++) {
		wire_msg_init(&reqs[i], WIRE_STATUS_REQUEST, atomic_load(&c->epoch), txid,
		    c->cfg->coordinator.name);
		reqs[i].state = 0;
		preqs[i] = &reqs[i];
		socks[i] = c->socks[who[i]];
		state[i] = -1;
	}
	/* A question, not phase two: it blocks this handler, as the driver
	 * waits for the answer anyway. */
	if (n == 0 || rpc_call_many(n, socks, preqs, reps, results, (int)c->cfg->vote_timeout_ms) != 0)
		return;
	for (size_t i = 0; i < n; i++) {
		if (results[i] != 0)
			continue;
		if (reps[i].type == WIRE_STATUS_REPLY) {
			state[i] = reps[i].nstatus > 0 ? reps[i].status[0].state : TX_NONE;
			const char *d = reps[i].nstatus > 0 ? reps[i].status[0].detail : "";
			if (peers != NULL && peers[0] == '\0' && strncmp(d, "peers=", 6) == 0 &&
			    d[6] != '\0' && d[6] != ';') {
				snprintf(peers, plen, "%s", d + 6);
				peers[strcspn(peers, ";")] = '\0';
			}
		}
		wire_msg_free(&reps[i]);
	}
}

/* "alpha READY, beta ABORT, gamma unreachable" */
static void
cres_states_text(coord *c, const coord_txn *t, const int *state, char *buf, size_t len)
{
	size_t at = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < t->nparts && at < len; i++)
		at += (size_t)snprintf(buf + at, len - at, "%s%s %s", i ? ", " : "",
		    c->cfg->participants[t->parts[i]].name,
		    state[i] < 0 ? "unreachable" : tx_state_name(state[i]));
}

/* The one-entry STATUS_REPLY: the coordinator's state of TXID now. */
static int
cres_reply(coord *c, const char *txid, wire_msg *rep, const char *detail)
{
	clog_txn t;
	char note[HEUR_NOTE_MAX + 32];
	db_lock(c->db);
	int have = clog_get(c->db, txid, &t) == 0;
	heur_note(c->db, txid, note, sizeof(note));
	db_unlock(c->db);
	return serve_resolved(rep, txid, have ? t.state : TX_NONE, atomic_load(&c->epoch), detail,
	    note);
}

static int
cres_forget(coord *c, const wire_msg *req, wire_msg *rep, char *buf, size_t len)
{
	db_lock(c->db);
	int rv = db_begin_lazy(c->db), had = 0;
	if (rv == 0 && (had = heur_del(c->db, req->txid)) < 0) {
		db_rollback(c->db);
		rv = had;
	} else if (rv == 0) {
		rv = db_commit(c->db);
	}
	db_unlock(c->db);
	if (rv != 0)
		return wire_reply_error(rep, TWOPC_EIO, "cannot write the coordinator log", buf, len);
	cviol_forget(c, req->txid);
	if (had)
		tlog_info("%s: heuristic record dropped by the operator", req->txid);
	return cres_reply(c, req->txid, rep, had ? "heuristic record dropped" : "no heuristic record");
}

/* A forced resolution of T, decided COMMIT here: END if some participant
 * holds ABORT. */
static int
cres_force_commit_row(coord *c, coord_txn *t, tx_state outcome, wire_msg *rep, char *buf,
    size_t len)
{
	int state[WIRE_MAX_WORK];
	char states[1200], note[2048];
	int aborted = 0;
	cres_ask(c, t->txid, t->parts, t->nparts, state, NULL, 0);
	for (size_t i = 0; i < t->nparts; i++)
		aborted |= state[i] == TX_ABORT;
	cres_states_text(c, t, state, states, sizeof(states));
	if (!aborted)
		return cres_reply(c, t->txid, rep, "decided COMMIT, no participant holds ABORT: "
		    "left to the normal delivery");
	snprintf(note, sizeof(note), "COMMIT at the coordinator, %.400s; END recorded by the "
	    "operator (twopc resolve --%s --force): GLOBAL_COMMIT no longer sent", states,
	    outcome == TX_COMMIT ? "commit" : "abort");
	db_lock(c->db);
	clog_txn now;
	int rv = clog_get(c->db, t->txid, &now);
	if (rv == 0 && now.state != TX_COMMIT) {
		db_unlock(c->db);
		return cres_reply(c, t->txid, rep, "reached END meanwhile");
	}
	if (rv == 0 && (rv = db_begin(c->db)) == 0) {
		if ((rv = ctxn_write(c->db, t, TX_END, NULL)) != 0 ||
		    (rv = clog_acks_drop(c->db, t->txid)) != 0 ||
		    (rv = heur_put(c->db, t->txid, outcome == TX_COMMIT ? "COMMIT" : "ABORT", note)) != 0)
			db_rollback(c->db);
		else
			rv = db_commit(c->db);
	}
	db_unlock(c->db);
	if (rv != 0 || db_durable(c->db) != 0)
		return wire_reply_error(rep, TWOPC_EIO, "cannot write the coordinator log", buf, len);
	cviol_forget(c, t->txid);
	(void)ctxn_enter(t, TX_END, "heuristic: forced by the operator; the participants disagree");
	tlog_warn("%s: HEURISTIC END by the operator: %s", t->txid, note);
	return cres_reply(c, t->txid, rep, "END recorded: the violation is repaired, nodes disagree");
}

/* A resolution in progress. */
typedef struct cres_op {
	coord *c;
	const wire_msg *req;
	wire_msg *rep;
	char *buf;
	size_t len;
	tx_state outcome;
	int force;
	const char *word;            /* "COMMIT" or "ABORT" */
	coord_txn *t;
	int state[CFG_MAX_PARTICIPANTS];
	char states[1200];
	char text[1600];
} cres_op;

static int
cres_refuse(cres_op *o, int code)
{
	return wire_reply_error(o->rep, code, o->text, o->buf, o->len);
}

/* 1. What the coordinator knows: 0 (go on: no row, or WAIT, loaded into
 * o->t), or 1 with the answer in o->rep. */
static int
cres_known(cres_op *o, int *have_row)
{
	coord *c = o->c;
	const char *txid = o->t->txid;
	clog_txn logged;
	db_lock(c->db);
	pthread_mutex_lock(&c->mtx);
	int running = coord_running_find(c, txid) != NULL;
	pthread_mutex_unlock(&c->mtx);
	int rv = clog_get(c->db, txid, &logged);
	db_unlock(c->db);
	*have_row = rv == 0;
	if (running) {
		snprintf(o->text, sizeof(o->text), "%s is running at the coordinator %s (collecting "
		    "votes): its vote round decides it", txid, c->cfg->coordinator.name);
		return cres_refuse(o, TWOPC_ESTATE);
	}
	if (rv != 0 && rv != TWOPC_ENOENT)
		return wire_reply_error(o->rep, TWOPC_EIO, "cannot read the coordinator log", o->buf,
		    o->len);
	if (rv == TWOPC_ENOENT)
		return 0;
	if (ctxn_load(o->t, c->cfg, txid, &logged) != 0)
		return wire_reply_error(o->rep, TWOPC_ECONFIG, "the log names a participant that is "
		    "not in the cluster file", o->buf, o->len);
	if (logged.state == TX_WAIT)
		return 0;
	if (o->force && logged.state == TX_COMMIT)
		return cres_force_commit_row(c, o->t, o->outcome, o->rep, o->buf, o->len);
	if (o->force)
		return cres_reply(c, txid, o->rep, "already decided: left alone");
	snprintf(o->text, sizeof(o->text), "the coordinator %s has already decided: %s%s",
	    c->cfg->coordinator.name, tx_state_name(logged.state),
	    logged.state == TX_END ? " (committed, every participant acknowledged)" :
	    logged.state == TX_COMMIT ? " (GLOBAL_COMMIT is being delivered)" : "");
	return cres_refuse(o, TWOPC_ESTATE);
}

/* 2. With no row (a lost log): the participants, from their own records.
 * 0, or 1 with the answer. */
static int
cres_find_parts(cres_op *o)
{
	coord *c = o->c;
	char peers[sizeof(((clog_txn *)0)->participants)] = "";
	int all[CFG_MAX_PARTICIPANTS];
	size_t n = c->cfg->nparticipants;
	for (size_t i = 0; i < n; i++)
		all[i] = (int)i;
	cres_ask(c, o->t->txid, all, n, o->state, peers, sizeof(peers));
	if (peers[0] == '\0') {
		snprintf(o->text, sizeof(o->text), "no node has a record of %s%s", o->t->txid,
		    o->force ? "" : " (participants that could not be asked may)");
		for (size_t i = 0; i < n && !o->force; i++)
			if (o->state[i] < 0)
				snprintf(o->text + strlen(o->text), sizeof(o->text) - strlen(o->text),
				    "; %s unreachable", c->cfg->participants[i].name);
		return cres_refuse(o, TWOPC_ENOENT);
	}
	if (ctxn_parse_parts(o->t, c->cfg, peers) != 0)
		return wire_reply_error(o->rep, TWOPC_ECONFIG, "a participant's record names a node "
		    "that is not in the cluster file", o->buf, o->len);
	return 0;
}

/* 3. What each participant holds; without force, whether the outcome may
 * be applied. 0, or 1 with the refusal. */
static int
cres_check_parts(cres_op *o)
{
	coord *c = o->c;
	coord_txn *t = o->t;
	cres_ask(c, t->txid, t->parts, t->nparts, o->state, NULL, 0);
	cres_states_text(c, t, o->state, o->states, sizeof(o->states));
	for (size_t i = 0; i < t->nparts && !o->force; i++) {
		const char *name = c->cfg->participants[t->parts[i]].name;
		int st = o->state[i];
		if (st < 0)
			snprintf(o->text, sizeof(o->text), "participant %s cannot be reached (%s); "
			    "resolve again when it is back, or use --force to apply %s heuristically at "
			    "the reachable participants", name, o->states, o->word);
		else if (st == TX_COMMIT || st == TX_ABORT)
			snprintf(o->text, sizeof(o->text), "participant %s has already decided %s (%s): "
			    "its decision is final", name, tx_state_name(st), o->states);
		else if (o->outcome == TX_COMMIT && st != TX_READY)
			snprintf(o->text, sizeof(o->text), "participant %s never voted (state %s), so "
			    "%s cannot commit (%s)", name, tx_state_name(st), t->txid, o->states);
		else
			continue;
		return cres_refuse(o, st < 0 ? TWOPC_ETIMEDOUT : TWOPC_ESTATE);
	}
	/* Decided participants get no GLOBAL; they are reported. */
	for (size_t i = 0; i < t->nparts; i++) {
		t->voted_readonly[i] = o->outcome == TX_COMMIT && o->state[i] == TX_COMMIT;
		t->voted_abort[i] = o->state[i] == TX_ABORT ||
		    (o->outcome == TX_ABORT && o->state[i] == TX_COMMIT);
	}
	return 0;
}

/* 4. The decision, forced before anything leaves (R2); the checks of
 * step 1 again, under the same locks as a SUBMIT's. 0, or 1. */
static int
cres_decide(cres_op *o)
{
	coord *c = o->c;
	coord_txn *t = o->t;
	char parts[sizeof(((clog_txn *)0)->participants)], note[2048];
	ctxn_join_parts(t, c->cfg, parts, sizeof(parts));
	snprintf(note, sizeof(note), "%s decided by the operator (twopc resolve --%s --force) "
	    "with no decision at the coordinator; %.400s", o->word,
	    o->outcome == TX_COMMIT ? "commit" : "abort", o->states);
	db_lock(c->db);
	pthread_mutex_lock(&c->mtx);
	int running = coord_running_find(c, t->txid) != NULL;
	pthread_mutex_unlock(&c->mtx);
	clog_txn again;
	int rv = clog_get(c->db, t->txid, &again);
	tx_state now = rv == 0 ? again.state : TX_NONE;
	if (running || now != t->state || (rv != 0 && rv != TWOPC_ENOENT)) {
		db_unlock(c->db);
		snprintf(o->text, sizeof(o->text), "%s changed at the coordinator while the "
		    "participants were asked (%s); nothing recorded", t->txid, running ?
		    "a run started" : rv == 0 ? tx_state_name(again.state) : "log error");
		return cres_refuse(o, TWOPC_ESTATE);
	}
	if ((rv = db_begin(c->db)) == 0) {
		if ((rv = ctxn_write(c->db, t, o->outcome, parts)) != 0 ||
		    (o->force && (rv = heur_put(c->db, t->txid, o->word, note)) != 0))
			db_rollback(c->db);
		else
			rv = db_commit(c->db);
	}
	db_unlock(c->db);
	if (rv != 0 || db_durable(c->db) != 0) {
		coord_fail(c, "cannot force the operator's decision");
		return wire_reply_error(o->rep, TWOPC_EIO, "cannot force the decision to the "
		    "coordinator log", o->buf, o->len);
	}
	/* crash here: the decision is forced; a COMMIT is resent by recovery,
	 * an ABORT is what every question is answered. */
	(void)ctxn_enter(t, o->outcome, o->force ? "heuristic: forced by the operator" :
	    "resolved by the operator");
	return 0;
}

/* 5. Delivery: phase two's own path; this handler waits for it. */
static int
cres_deliver(cres_op *o)
{
	coord *c = o->c;
	coord_txn *t = o->t;
	cflow_group g = { 0 };
	t->flags = o->outcome == TX_COMMIT ? CTXN_FRESH : 0;
	ctxn_ref(t); /* the flow's */
	cflow_hold(c, t, NULL, &g);
	cdeliver_start(c, t);
	cflow_wait(c, &g);
	snprintf(o->text, sizeof(o->text), "%s recorded%s and delivered (before: %.1200s)", o->word,
	    o->force ? " (heuristic)" : "", o->states);
	return cres_reply(c, t->txid, o->rep, o->text);
}

int
coord_on_resolve(coord *c, const wire_msg *req, wire_msg *rep, char *buf, size_t len)
{
	cres_op o = { .c = c, .req = req, .rep = rep, .buf = buf, .len = len,
	    .outcome = (tx_state)req->state, .force = req->force };
	int have_row, sent;

	if (o.outcome == TX_NONE)
		return cres_forget(c, req, rep, buf, len);
	o.word = o.outcome == TX_COMMIT ? "COMMIT" : "ABORT";
	if ((o.t = ctxn_new(req->txid)) == NULL)
		return 0;
	if ((sent = cres_known(&o, &have_row)) == 0 &&
	    (have_row || (sent = cres_find_parts(&o)) == 0) &&
	    (sent = cres_check_parts(&o)) == 0 &&
	    (sent = cres_decide(&o)) == 0)
		sent = cres_deliver(&o);
	ctxn_unref(o.t);
	return sent;
}
