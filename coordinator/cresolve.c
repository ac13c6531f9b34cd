/*
 * cresolve.c - manual resolution at the coordinator, and the violations
 * that only it can repair (see cresolve.h).
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
 * alone.
 *
 * Known limit: a DECISION_REPLY of presumed ABORT that left before the
 * txid had a row here, and is still in flight, is not seen: a --commit
 * resolution after a lost log should wait for the participants' answers
 * to settle (they are READY when asked, and stay so while blocked).
 */
#include "coord.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heur.h"
#include "statlist.h"
#include "tlog.h"
#include "twopc/error.h"

/* ---- violations ---- */

static cres_viol *
cres_find(cres_state *r, const char *txid, const char *part)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->v[i].txid, txid) == 0 && strcmp(r->v[i].part, part) == 0)
			return &r->v[i];
	return NULL;
}

/* A slot for (TXID, PART): a free one, or the least recently used. r->mtx held. */
static cres_viol *
cres_slot(cres_state *r, const char *txid, const char *part)
{
	cres_viol *v = NULL;
	if (r->n < CRES_MAX_VIOL) {
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

static void
cres_forget_txid(cres_state *r, const char *txid)
{
	pthread_mutex_lock(&r->mtx);
	for (size_t i = 0; i < r->n;) {
		if (strcmp(r->v[i].txid, txid) == 0)
			r->v[i] = r->v[--r->n];
		else
			i++;
	}
	pthread_mutex_unlock(&r->mtx);
}

typedef struct cres_load {
	coord *c;
} cres_load;

static void
cres_load_row(void *arg, const char *txid, const heur_row *row)
{
	coord *c = ((cres_load *)arg)->c;
	char who[WIRE_NAME_MAX + 16];
	if (strcmp(row->outcome, HEUR_VIOLATION) != 0)
		return;
	for (size_t i = 0; i < c->cfg->nparticipants; i++) {
		snprintf(who, sizeof(who), "%s answered ", c->cfg->participants[i].name);
		if (strstr(row->note, who) != NULL && cres_find(&c->res, txid, c->cfg->participants[i].name) == NULL)
			(void)cres_slot(&c->res, txid, c->cfg->participants[i].name);
	}
}

void
cres_init(coord *c)
{
	cres_load l = { c };
	pthread_mutex_init(&c->res.mtx, NULL);
	c->res.ready = 1;
	db_lock(c->db);
	pthread_mutex_lock(&c->res.mtx);
	(void)heur_each(c->db, CRES_MAX_VIOL, cres_load_row, &l);
	pthread_mutex_unlock(&c->res.mtx);
	db_unlock(c->db);
	if (c->res.n > 0)
		tlog_warn("%zu unhealed protocol violation(s) in the log: GLOBAL_COMMIT is not resent "
		    "to those participants; see twopc list", c->res.n);
}

int
cres_stopped(coord *c, const char *txid, const char *part)
{
	pthread_mutex_lock(&c->res.mtx);
	int stopped = cres_find(&c->res, txid, part) != NULL;
	pthread_mutex_unlock(&c->res.mtx);
	return stopped;
}

void
cres_violation(coord *c, const char *txid, const char *part, int state)
{
	cres_state *r = &c->res;
	int64_t now = mono_ms();

	pthread_mutex_lock(&r->mtx);
	cres_viol *v = cres_find(r, txid, part);
	if (v != NULL) {
		v->repeats++;
		v->used_ms = now;
		if (now - v->last_line_ms >= CRES_SUMMARY_MS) {
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
	(void)cres_slot(r, txid, part);
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

void
cres_note(coord *c, const char *txid, char *buf, size_t len)
{
	heur_row r;
	buf[0] = '\0';
	if (heur_get(c->db, txid, &r) == 0)
		heur_describe(&r, buf, len);
}

typedef struct cres_list {
	coord *c;
	statlist *l;
	int64_t now;
	const char *only;
} cres_list;

static void
cres_status_add(void *arg, const char *txid, const heur_row *r)
{
	cres_list *cl = arg;
	clog_txn t;
	char what[HEUR_NOTE_MAX + 32], detail[HEUR_NOTE_MAX + 2400];
	memset(&t, 0, sizeof(t));
	int rv = clog_get(cl->c->db, txid, &t);
	if (cl->only == NULL && rv == 0 && (t.state == TX_WAIT || t.state == TX_COMMIT))
		return; /* listed already, with the note */
	heur_describe(r, what, sizeof(what));
	snprintf(detail, sizeof(detail), "participants=%s; %s", rv == 0 ? t.participants : "", what);
	(void)statlist_add(cl->l, txid, rv == 0 ? t.state : TX_NONE, atomic_load(&cl->c->epoch),
	    (uint64_t)(cl->now > r->decided_at ? cl->now - r->decided_at : 0), detail);
}

void
cres_status(coord *c, statlist *l, const char *only, int64_t now)
{
	cres_list cl = { .c = c, .l = l, .now = now, .only = only };
	heur_row r;
	if (only != NULL) {
		if (heur_get(c->db, only, &r) == 0)
			cres_status_add(&cl, only, &r);
		return;
	}
	(void)heur_each(c->db, 256, cres_status_add, &cl);
}

/* ---- resolution ---- */

static int
cres_error(wire_msg *rep, int code, const char *text, char *buf, size_t len)
{
	rep->type = WIRE_ERROR;
	rep->code = (uint16_t)(-code);
	snprintf(buf, len, "%s", text);
	rep->text = buf;
	return 1;
}

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
	statlist l;
	clog_txn t;
	char note[HEUR_NOTE_MAX + 32], full[HEUR_NOTE_MAX + 1200];
	if (statlist_init(&l, 1) != 0)
		return 0;
	db_lock(c->db);
	int have = clog_get(c->db, txid, &t) == 0;
	cres_note(c, txid, note, sizeof(note));
	db_unlock(c->db);
	snprintf(full, sizeof(full), "%s%s%s", detail, note[0] ? "; " : "", note);
	(void)statlist_add(&l, txid, have ? t.state : TX_NONE, atomic_load(&c->epoch), 0, full);
	return statlist_reply(&l, rep);
}

static int
cres_running(coord *c, const char *txid)
{
	for (coord_txn *t = c->running; t != NULL; t = t->next)
		if (strcmp(t->txid, txid) == 0)
			return 1;
	return 0;
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
		return cres_error(rep, TWOPC_EIO, "cannot write the coordinator log", buf, len);
	cres_forget_txid(&c->res, req->txid);
	if (had)
		tlog_info("%s: heuristic record dropped by the operator", req->txid);
	return cres_reply(c, req->txid, rep, had ? "heuristic record dropped" : "no heuristic record");
}

/* A forced resolution of a COMMIT: END if some participant holds ABORT. */
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
		if ((rv = clog_set_state(c->db, t->txid, TX_END, 0)) != 0 ||
		    (rv = clog_acks_drop(c->db, t->txid)) != 0 ||
		    (rv = heur_put(c->db, t->txid, outcome == TX_COMMIT ? "COMMIT" : "ABORT", note)) != 0)
			db_rollback(c->db);
		else
			rv = db_commit(c->db);
	}
	db_unlock(c->db);
	if (rv != 0 || db_durable(c->db) != 0)
		return cres_error(rep, TWOPC_EIO, "cannot write the coordinator log", buf, len);
	cres_forget_txid(&c->res, t->txid);
	tlog_state(t->txid, "COMMIT", "END", "heuristic: forced by the operator; the participants "
	    "disagree");
	tlog_warn("%s: HEURISTIC END by the operator: %s", t->txid, note);
	return cres_reply(c, t->txid, rep, "END recorded: the violation is repaired, nodes disagree");
}

int
coord_on_resolve(coord *c, const wire_msg *req, wire_msg *rep, char *buf, size_t len)
{
	tx_state outcome = (tx_state)req->state;
	int force = req->force;
	const char *txid = req->txid;
	const char *word = outcome == TX_COMMIT ? "COMMIT" : "ABORT";
	char text[1600], states[1200], peers[sizeof(((clog_txn *)0)->participants)] = "";
	clog_txn logged;
	int state[CFG_MAX_PARTICIPANTS];

	if (outcome == TX_NONE)
		return cres_forget(c, req, rep, buf, len);
	coord_txn *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return 0;
	snprintf(t->txid, sizeof(t->txid), "%s", txid);
	t->refs = 1;

	/* 1. What the coordinator knows. */
	db_lock(c->db);
	pthread_mutex_lock(&c->mtx);
	int running = cres_running(c, txid);
	pthread_mutex_unlock(&c->mtx);
	int rv = clog_get(c->db, txid, &logged);
	db_unlock(c->db);
	int sent;
	if (running) {
		snprintf(text, sizeof(text), "%s is running at the coordinator %s (collecting votes): "
		    "its vote round decides it", txid, c->cfg->coordinator.name);
		sent = cres_error(rep, TWOPC_ESTATE, text, buf, len);
		goto out;
	}
	if (rv != 0 && rv != TWOPC_ENOENT) {
		sent = cres_error(rep, TWOPC_EIO, "cannot read the coordinator log", buf, len);
		goto out;
	}
	if (rv == 0 && coord_parse_parts(c, logged.participants, t) != 0) {
		sent = cres_error(rep, TWOPC_ECONFIG, "the log names a participant that is not in the "
		    "cluster file", buf, len);
		goto out;
	}
	if (rv == 0 && logged.state != TX_WAIT) {
		if (force && logged.state == TX_COMMIT) {
			sent = cres_force_commit_row(c, t, outcome, rep, buf, len);
			goto out;
		}
		if (force) {
			sent = cres_reply(c, txid, rep, "already decided: left alone");
			goto out;
		}
		snprintf(text, sizeof(text), "the coordinator %s has already decided: %s%s",
		    c->cfg->coordinator.name, tx_state_name(logged.state),
		    logged.state == TX_END ? " (committed, every participant acknowledged)" :
		    logged.state == TX_COMMIT ? " (GLOBAL_COMMIT is being delivered)" : "");
		sent = cres_error(rep, TWOPC_ESTATE, text, buf, len);
		goto out;
	}

	/* 2. Its participants: from the WAIT row, or from their own records. */
	if (rv == TWOPC_ENOENT) {
		int all[CFG_MAX_PARTICIPANTS];
		size_t n = c->cfg->nparticipants;
		for (size_t i = 0; i < n; i++)
			all[i] = (int)i;
		cres_ask(c, txid, all, n, state, peers, sizeof(peers));
		if (peers[0] == '\0') {
			snprintf(text, sizeof(text), "no node has a record of %s%s", txid,
			    force ? "" : " (participants that could not be asked may)");
			for (size_t i = 0; i < n && !force; i++)
				if (state[i] < 0)
					snprintf(text + strlen(text), sizeof(text) - strlen(text),
					    "; %s unreachable", c->cfg->participants[i].name);
			sent = cres_error(rep, TWOPC_ENOENT, text, buf, len);
			goto out;
		}
		if (coord_parse_parts(c, peers, t) != 0) {
			sent = cres_error(rep, TWOPC_ECONFIG, "a participant's record names a node that "
			    "is not in the cluster file", buf, len);
			goto out;
		}
	}

	/* 3. What each of them holds. */
	cres_ask(c, txid, t->parts, t->nparts, state, NULL, 0);
	cres_states_text(c, t, state, states, sizeof(states));
	for (size_t i = 0; i < t->nparts && !force; i++) {
		const char *name = c->cfg->participants[t->parts[i]].name;
		if (state[i] < 0) {
			snprintf(text, sizeof(text), "participant %s cannot be reached (%s); resolve again "
			    "when it is back, or use --force to apply %s heuristically at the reachable "
			    "participants", name, states, word);
			sent = cres_error(rep, TWOPC_ETIMEDOUT, text, buf, len);
			goto out;
		}
		if (state[i] == TX_COMMIT || state[i] == TX_ABORT) {
			snprintf(text, sizeof(text), "participant %s has already decided %s (%s): "
			    "its decision is final", name, tx_state_name(state[i]), states);
			sent = cres_error(rep, TWOPC_ESTATE, text, buf, len);
			goto out;
		}
		if (outcome == TX_COMMIT && state[i] != TX_READY) {
			snprintf(text, sizeof(text), "participant %s never voted (state %s), so %s cannot "
			    "commit (%s)", name, tx_state_name(state[i]), txid, states);
			sent = cres_error(rep, TWOPC_ESTATE, text, buf, len);
			goto out;
		}
	}
	/* Decided participants get no GLOBAL; they are reported. */
	for (size_t i = 0; i < t->nparts; i++) {
		t->voted_readonly[i] = outcome == TX_COMMIT && state[i] == TX_COMMIT;
		t->voted_abort[i] = state[i] == TX_ABORT || (outcome == TX_ABORT && state[i] == TX_COMMIT);
	}

	/* 4. The decision, forced before anything leaves (R2); the checks of
	 * step 1 again, under the same locks as a SUBMIT's. */
	char parts[sizeof(peers)], note[2048];
	coord_join_parts(c, t, parts, sizeof(parts));
	snprintf(note, sizeof(note), "%s decided by the operator (twopc resolve --%s --force) "
	    "with no decision at the coordinator; %.400s", word,
	    outcome == TX_COMMIT ? "commit" : "abort", states);
	db_lock(c->db);
	pthread_mutex_lock(&c->mtx);
	running = cres_running(c, txid);
	pthread_mutex_unlock(&c->mtx);
	clog_txn again;
	int rv2 = clog_get(c->db, txid, &again);
	if (running || (rv2 == 0 && again.state != TX_WAIT) || (rv2 != 0 && rv2 != TWOPC_ENOENT)) {
		db_unlock(c->db);
		snprintf(text, sizeof(text), "%s changed at the coordinator while the participants were "
		    "asked (%s); nothing recorded", txid, running ? "a run started" :
		    rv2 == 0 ? tx_state_name(again.state) : "log error");
		sent = cres_error(rep, TWOPC_ESTATE, text, buf, len);
		goto out;
	}
	int64_t now = db_now_ms();
	if ((rv = db_begin(c->db)) == 0) {
		if ((rv = clog_put(c->db, txid, outcome, parts, rv2 == 0 ? again.created_at : now, now)) != 0 ||
		    (force && (rv = heur_put(c->db, txid, word, note)) != 0))
			db_rollback(c->db);
		else
			rv = db_commit(c->db);
	}
	db_unlock(c->db);
	if (rv != 0 || db_durable(c->db) != 0) {
		coord_fail(c, "cannot force the operator's decision");
		sent = cres_error(rep, TWOPC_EIO, "cannot force the decision to the coordinator log",
		    buf, len);
		goto out;
	}
	/* crash here: the decision is forced; a COMMIT is resent by recovery,
	 * an ABORT is what every question is answered. */
	t->state = outcome;
	tlog_state(txid, rv2 == 0 ? "WAIT" : "NONE", word, force ? "heuristic: forced by the operator" :
	    "resolved by the operator");

	/* 5. Delivery: the normal phase two. */
	if (outcome == TX_COMMIT)
		coord_deliver_commit(c, t);
	else
		coord_deliver_abort(c, t, 0);
	snprintf(text, sizeof(text), "%s recorded%s and delivered (before: %.1200s)", word,
	    force ? " (heuristic)" : "", states);
	sent = cres_reply(c, txid, rep, text);
out:
	free(t);
	return sent;
}
