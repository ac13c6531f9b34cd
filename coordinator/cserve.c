/*
 * cserve.c - what the coordinator answers: the dispatch of every request,
 * DECISION_REQUEST (a READY participant's question, DESIGN section 4) and
 * STATUS_REQUEST (twopc status, twopc list, the counters).
 *
 * Every reply leaves through the gate (cserve_gate): only once every
 * record forced before it is durable, so a RESULT or DECISION_REPLY of
 * COMMIT never runs ahead of the decision's fsync (R2).
 */
#include "cserve.h"

#include <stdio.h>
#include <string.h>

#include "coord.h"
#include "cresolve.h"
#include "csubmit.h"
#include "heur.h"
#include "serve.h"
#include "statlist.h"
#include "tlog.h"
#include "twopc/error.h"

/* DECISION_REQUEST (a READY participant's question). Never ABORT for a
 * transaction that may still commit: WAIT answers UNDECIDED. */
static int
cserve_decision(coord *c, const wire_msg *req, wire_msg *rep)
{
	clog_txn logged;
	tx_state answer;

	db_lock(c->db);
	pthread_mutex_lock(&c->mtx);
	coord_txn *t = coord_running_find(c, req->txid);
	int running = t != NULL;
	pthread_mutex_unlock(&c->mtx);
	int rv = running ? 0 : clog_get(c->db, req->txid, &logged);
	db_unlock(c->db);
	if (running)
		answer = TX_UNDECIDED;
	else if (rv == TWOPC_ENOENT && req->epoch < c->presume_from)
		answer = TX_READY;           /* from before this log: in doubt here (cepoch.c);
		                              * "no help", as a READY peer: the participants
		                              * settle it among themselves (section 4) */
	else if (rv == TWOPC_ENOENT)
		answer = TX_ABORT;           /* R3: presumed abort */
	else if (rv != 0)
		return 0;                    /* cannot read: say nothing */
	else
		answer = coord_outcome(logged.state);
	rep->type = WIRE_DECISION_REPLY;
	rep->state = (uint8_t)answer;
	tlog_debug("%s: DECISION_REQUEST from %s -> %s", req->txid, req->sender,
	    tx_state_name(answer));
	return 1;
}

typedef struct cserve_list {
	coord *c;
	statlist *l;
	int64_t now;
} cserve_list;

static void
cserve_list_add(void *arg, const char *txid, const clog_txn *t)
{
	cserve_list *cl = arg;
	char detail[2800], heur[600]; /* statlist cuts it */
	heur_note(cl->c->db, txid, heur, sizeof(heur));
	snprintf(detail, sizeof(detail), "participants=%s%s%s", t->participants, heur[0] ? "; " : "",
	    heur);
	(void)statlist_add(cl->l, txid, t->state, atomic_load(&cl->c->epoch),
	    serve_age_ms(cl->now, t->created_at), detail);
}

/* STATUS_REQUEST (serve_status): one txid, or every unfinished
 * transaction (WAIT, or COMMIT not yet ACKed everywhere). */
static void
cserve_status_list(void *arg, statlist *l, const char *only, int64_t now)
{
	cserve_list cl = { .c = arg, .l = l, .now = now };
	clog_txn t;
	if (only == NULL) {
		(void)clog_each(cl.c->db, TX_WAIT, 256, cserve_list_add, &cl);
		(void)clog_each(cl.c->db, TX_COMMIT, 256, cserve_list_add, &cl);
		cviol_status(cl.c, l, NULL, now);
	} else if (clog_get(cl.c->db, only, &t) == 0) {
		cserve_list_add(&cl, only, &t);
	} else {
		cviol_status(cl.c, l, only, now);
	}
}

/* The coordinator's own counter beside serve_counters'. */
static void
cserve_status_counters(void *arg, statlist *l, const char *only, int64_t now)
{
	(void)only;
	(void)now;
	statlist_add(l, "resend_cycles", 0, atomic_load(&((coord *)arg)->viol.resend_cycles), 0, "");
}

static int
cserve_dispatch(coord *c, const wire_msg *req, wire_msg *rep)
{
	static _Thread_local char buf[WIRE_TEXT_MAX + 1];

	/* Who may send what (cfgrole.c): refused before any handler. */
	if (cfg_role_refuse(c->cfg, CFG_ROLE_COORDINATOR, req, rep, buf, sizeof(buf)))
		return 1;
	switch ((wire_type)req->type) {
	case WIRE_SUBMIT:
		return csubmit_handle(c, req, rep, buf, sizeof(buf));
	case WIRE_DECISION_REQUEST:
		return cserve_decision(c, req, rep);
	case WIRE_STATUS_REQUEST:
		return serve_status(req, rep, c->db, c->srv, 512, cserve_status_list,
		    cserve_status_counters, c);
	case WIRE_RESOLVE:
		return coord_on_resolve(c, req, rep, buf, sizeof(buf));
	default:
		return serve_other(req, rep, "the coordinator", buf, sizeof(buf));
	}
}

int
cserve_handle(void *user, const wire_msg *req, wire_msg *rep)
{
	coord *c = user;

	pthread_mutex_lock(&c->mtx);
	int dead = c->failed || c->stopping;
	pthread_mutex_unlock(&c->mtx);
	if (dead)
		return 0;
	if (!atomic_load(&c->ready)) {
		/* Recovering. A client hears "starting" (nothing ran). A peer's
		 * protocol message (or a liveness probe) hears nothing: its
		 * sender resends, and the answer then comes from the recovered
		 * log; an error now would read as a refusal. */
		static _Thread_local char buf[WIRE_TEXT_MAX + 1];
		return serve_starting(req, rep, "the coordinator is starting (recovery is not "
		    "finished); try again", buf, sizeof(buf));
	}
	return cserve_dispatch(c, req, rep);
}

/* The gate of every reply: it leaves only once every forced record
 * committed before it is durable (group commit, db.h), so a RESULT or a
 * DECISION_REPLY of COMMIT read from memory or the log never runs ahead of
 * the decision's fsync. */
void
cserve_gate(void *arg, rpc_done_fn done, void *slot)
{
	coord *c = arg;
	db_durable_async(c->db, done, slot);
}

void
cserve_gate_failed(void *user)
{
	coord_fail(user, "cannot force the log");
}

