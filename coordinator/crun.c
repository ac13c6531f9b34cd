/*
 * crun.c - what every part of the coordinator shares: failing, the table
 * of running transactions, and the shape of its answers (see coord.h).
 */
#include "coord.h"

#include <stdio.h>
#include <string.h>

#include "tlog.h"

void
coord_fail(coord *c, const char *why)
{
	runstate_fail(&c->run, why);
	pthread_mutex_lock(&c->mtx);
	pthread_cond_broadcast(&c->done_cv); /* a repeated SUBMIT's wait ends */
	pthread_mutex_unlock(&c->mtx);
}

coord_txn *
coord_running_find(coord *c, const char *txid)
{
	for (coord_txn *t = c->running; t != NULL; t = t->next)
		if (strcmp(t->txid, txid) == 0)
			return t;
	return NULL;
}

void
coord_running_add(coord *c, coord_txn *t)
{
	t->next = c->running;
	t->since_ms = db_now_ms();
	c->running = t;
}

void
coord_running_done(coord *c, coord_txn *t, tx_state outcome, const char *reason)
{
	pthread_mutex_lock(&c->mtx);
	if (reason != NULL)
		snprintf(t->reason, sizeof(t->reason), "%s", reason);
	t->outcome = outcome;
	/* Counted once per run: a run leaves the table once. */
	for (coord_txn **pp = &c->running; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == t) {
			*pp = t->next;
			t->next = NULL;
			int k = outcome == TX_COMMIT ? COORD_OUT_COMMITTED :
			    outcome == TX_ABORT ? COORD_OUT_ABORTED : COORD_OUT_UNKNOWN;
			atomic_fetch_add(&c->outcomes[k], 1);
			break;
		}
	}
	if (c->done_waiters > 0)
		pthread_cond_broadcast(&c->done_cv);
	pthread_mutex_unlock(&c->mtx);
}

int
coord_reply_result(wire_msg *rep, tx_state outcome, const char *reason, char *buf, size_t len)
{
	rep->type = WIRE_RESULT;
	rep->state = (uint8_t)outcome;
	snprintf(buf, len, "%s", reason ? reason : "");
	rep->text = buf;
	return 1;
}

tx_state
coord_outcome(tx_state logged)
{
	/* WAIT with nobody running it: a one-phase commit whose participant
	 * has not answered yet (recovery turns every other WAIT to ABORT). */
	if (logged == TX_WAIT)
		return TX_UNDECIDED;
	return logged == TX_COMMIT || logged == TX_END ? TX_COMMIT : TX_ABORT;
}
