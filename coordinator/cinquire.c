/*
 * cinquire.c - a WAIT with two or more participants and no decision, left
 * by an earlier process (restart) or by a run that could not finish: the
 * coordinator asks the participants (DESIGN section 3).
 *
 * WAIT is forced before any vote can become a commit, so a WAIT without a
 * decision may have passed the commit point (every vote yes) and even
 * delivered GLOBAL_COMMIT with its COMMIT record lost (that record is
 * lazy). The coordinator therefore never aborts such a WAIT on its own:
 * it asks every participant about the run (DECISION_REQUEST with the
 * run's epoch, from the runs table, so that a participant's record of
 * another run of the txid does not answer for this one):
 *   - every participant READY (a READ-ONLY voter answers READY too) or
 *     COMMIT: the commit point was reached, COMMIT (lazily, as at the
 *     vote), and GLOBAL_COMMIT to every participant (cdeliver.c);
 *   - any ABORT (a participant with no record or INIT forces ABORT before
 *     it answers, R8, so no late VOTE_REQUEST can make it READY): ABORT,
 *     forced, then GLOBAL_ABORT to the others;
 *   - a participant that does not answer: the WAIT stays, in doubt
 *     (twopc list --in-doubt shows it); the participants' own questions
 *     are answered "undecided" meanwhile; the resender asks again every
 *     ack_retry_ms.
 * A WAIT with no runs row was written by a version that aborted every
 * WAIT at restart: it never was a commit point, and recovery aborts it
 * (crecover.c).
 */
#include "cinquire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cdeliver.h"
#include "cepoch.h"
#include "cflow.h"
#include "coord.h"
#include "tlog.h"

#define CINQUIRE_PASS 256   /* WAITs asked about per resender pass, at most */

typedef struct cinquire_due {
	coord *c;
	coord_txn **v;
	size_t n;
} cinquire_due;

static void
cinquire_collect(void *arg, const char *txid, const clog_txn *row)
{
	cinquire_due *d = arg;
	uint64_t epoch;
	if (d->n == CINQUIRE_PASS || strchr(row->participants, ',') == NULL ||
	    clog_run_get(d->c->db, txid, &epoch) != 0)
		return;
	coord_txn *t = ctxn_from_row(d->c->cfg, txid, row);
	if (t == NULL)
		return;
	t->run_epoch = epoch;
	d->v[d->n++] = t;
}

/* DECISION_REQUEST about T's run to every participant. */
static void
cinquire_ask(coord *c, coord_txn *t)
{
	wire_msg reqs[WIRE_MAX_WORK];
	for (size_t i = 0; i < t->nparts; i++) {
		wire_msg_init(&reqs[i], WIRE_DECISION_REQUEST, t->run_epoch, t->txid,
		    c->cfg->coordinator.name);
		t->who[i] = i;
	}
	cflow_batch(c, t, CSTAGE_INQUIRY, reqs, t->nparts);
}

void
cinquire_resolve(coord *c, cflow_group *group)
{
	cinquire_due d = { .c = c };
	if ((d.v = calloc(CINQUIRE_PASS, sizeof(*d.v))) == NULL)
		return;
	db_lock(c->db);
	(void)clog_each(c->db, TX_WAIT, (size_t)-1 >> 1, cinquire_collect, &d);
	db_unlock(c->db);
	cflow_start_idle(c, d.v, d.n, group, cinquire_ask);
	free(d.v);
}

/* Record DECISION for T (an ABORT forced and synced, a COMMIT lazy) and
 * enter it. 0 or an error (logged by the caller). */
static int
cinquire_record(coord *c, coord_txn *t, tx_state decision, const char *why)
{
	int rv;
	db_lock(c->db);
	rv = decision == TX_ABORT ? db_begin(c->db) : db_begin_lazy(c->db);
	if (rv == 0 && (rv = ctxn_write(c->db, t, decision, NULL)) != 0)
		db_rollback(c->db);
	else if (rv == 0)
		rv = db_commit(c->db);
	db_unlock(c->db);
	if (rv == 0 && decision == TX_ABORT)
		rv = db_durable(c->db);
	return rv != 0 ? rv : ctxn_enter(t, decision, why);
}

void
cinquire_step(coord *c, coord_txn *t)
{
	char silent[256] = "", why[COORD_REASON] = "";
	size_t nyes = 0;
	int abort = 0;

	for (size_t k = 0; k < t->nwho; k++) {
		size_t i = t->who[k];
		const char *who = c->cfg->participants[t->parts[i]].name;
		wire_msg rep;
		int rv = cflow_result(c, t, k, &rep);
		tx_state s = TX_NONE;
		if (rv == 0 && rep.type == WIRE_DECISION_REPLY)
			s = (tx_state)rep.state;
		if (rv == 0)
			wire_msg_free(&rep);
		if (s == TX_READY || s == TX_COMMIT) {
			nyes++;
			t->voted_commit[i] = 1;
		} else if (s == TX_ABORT) {
			t->voted_abort[i] = 1; /* it has forced ABORT: no GLOBAL_ABORT needed */
			if (!abort)
				snprintf(why, sizeof(why), "asked after a restart: %s answered ABORT", who);
			abort = 1;
		} else {
			size_t at = strlen(silent);
			snprintf(silent + at, sizeof(silent) - at, "%s%s", at ? ", " : "", who);
		}
	}
	cflow_batch_free(t);
	if (!abort && nyes < t->nparts) {
		tlog_warn("%s: in doubt (WAIT found after a restart): no answer from %s; "
		    "%zu of %zu participants READY; asking again in %u ms", t->txid, silent,
		    nyes, t->nparts, c->cfg->ack_retry_ms);
		cflow_release(c, t);
		return;
	}
	if (coord_is_fenced(c)) {
		cflow_release(c, t); /* a newer coordinator settles it */
		return;
	}
	tx_state decision = abort ? TX_ABORT : TX_COMMIT;
	if (!abort)
		snprintf(why, sizeof(why), "asked after a restart: every participant READY");
	if (cinquire_record(c, t, decision, why) != 0) {
		coord_fail(c, "cannot write the decision to the log");
		cflow_release(c, t);
		return;
	}
	cdeliver_start(c, t);
}
