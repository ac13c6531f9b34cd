/*
 * ctxn.c - the coordinator transaction's state machine (see ctxn.h).
 */
#include "ctxn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlog.h"
#include "twopc/error.h"

/* The transitions of DESIGN section 3, as the code takes them. */
static const struct {
	tx_state from, to;
	const char *what;
} ctxn_table[] = {
	{ TX_NONE, TX_WAIT, "SUBMIT: forced while the vote requests are out" },
	{ TX_WAIT, TX_COMMIT, "WAIT durable and every vote COMMIT or READ-ONLY (R2); "
	    "or every participant READY when asked after a restart" },
	{ TX_WAIT, TX_ABORT, "a NO vote, a vote timeout (forced), a participant's ABORT "
	    "when asked after a restart" },
	{ TX_WAIT, TX_END, "one-phase: the single participant committed" },
	{ TX_COMMIT, TX_END, "every participant ACKed, or the operator's repair" },
	{ TX_NONE, TX_COMMIT, "the operator's resolution of a txid with no row" },
	{ TX_NONE, TX_ABORT, "the operator's resolution of a txid with no row" },
};

coord_txn *
ctxn_new(const char *txid)
{
	coord_txn *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NULL;
	snprintf(t->txid, sizeof(t->txid), "%s", txid ? txid : "");
	atomic_init(&t->refs, 1);
	return t;
}

void
ctxn_ref(coord_txn *t)
{
	atomic_fetch_add(&t->refs, 1);
}

void
ctxn_unref(coord_txn *t)
{
	if (t != NULL && atomic_fetch_sub(&t->refs, 1) == 1) {
		if (t->wait_tmr.fn != NULL)
			tmr_stop(&t->wait_tmr);
		wire_msg_free(t->sub);
		free(t->sub);
		free(t);
	}
}

int
ctxn_legal(tx_state from, tx_state to)
{
	for (size_t i = 0; i < sizeof(ctxn_table) / sizeof(ctxn_table[0]); i++)
		if (ctxn_table[i].from == from && ctxn_table[i].to == to)
			return 1;
	return 0;
}

static int
ctxn_check(const coord_txn *t, tx_state to, const char *doing)
{
	if (ctxn_legal(t->state, to))
		return 0;
	tlog_error("%s: PROTOCOL VIOLATION (coordinator): illegal transition %s -> %s refused "
	    "while %s; the coordinator's state machine (DESIGN section 3) has no such step",
	    t->txid, tx_state_name(t->state), tx_state_name(to), doing);
	return TWOPC_ESTATE;
}

int
ctxn_write(db *d, const coord_txn *t, tx_state to, const char *parts)
{
	int rv = ctxn_check(t, to, "writing the log");
	if (rv != 0)
		return rv;
	int64_t now = db_now_ms();
	if (t->state == TX_NONE && to == TX_WAIT)
		return clog_put(d, t->txid, to, parts ? parts : "", now, 0) |
		    clog_run_put(d, t->txid, t->run_epoch);
	if (t->state == TX_NONE)
		return clog_put(d, t->txid, to, parts ? parts : "", now, now);
	/* Leaving WAIT is the decision (its run needs no name any more);
	 * COMMIT -> END keeps its time. */
	if (t->state == TX_WAIT)
		return clog_set_state(d, t->txid, to, now) | clog_run_drop(d, t->txid);
	return clog_set_state(d, t->txid, to, 0);
}

int
ctxn_enter(coord_txn *t, tx_state to, const char *why)
{
	int rv = ctxn_check(t, to, "entering the state");
	if (rv != 0)
		return rv;
	tlog_state(t->txid, tx_state_name(t->state), tx_state_name(to), why && why[0] ? why : NULL);
	t->state = to;
	return 0;
}

int
ctxn_parse_parts(coord_txn *t, const cfg_cluster *cfg, const char *csv)
{
	char buf[sizeof(((clog_txn *)0)->participants)];
	char *save = NULL;
	snprintf(buf, sizeof(buf), "%s", csv);
	t->nparts = 0;
	for (char *tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		int idx = cfg_participant_index(cfg, tok);
		if (idx < 0 || t->nparts == WIRE_MAX_WORK) {
			tlog_error("%s: log names participant '%s', which is not in %s", t->txid, tok,
			    cfg->path);
			return TWOPC_ECONFIG;
		}
		t->parts[t->nparts++] = idx;
	}
	return 0;
}

void
ctxn_join_parts(const coord_txn *t, const cfg_cluster *cfg, char *buf, size_t len)
{
	size_t at = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < t->nparts && at < len; i++)
		at += (size_t)snprintf(buf + at, len - at, "%s%s", i ? "," : "",
		    cfg->participants[t->parts[i]].name);
}

int
ctxn_load(coord_txn *t, const cfg_cluster *cfg, const char *txid, const clog_txn *row)
{
	if (txid != t->txid) /* a copy onto itself would empty it */
		snprintf(t->txid, sizeof(t->txid), "%s", txid);
	t->state = row->state; /* what the log holds: no transition */
	return ctxn_parse_parts(t, cfg, row->participants);
}

coord_txn *
ctxn_from_row(const cfg_cluster *cfg, const char *txid, const clog_txn *row)
{
	coord_txn *t = ctxn_new(txid);
	if (t != NULL && ctxn_load(t, cfg, txid, row) != 0) {
		ctxn_unref(t);
		t = NULL;
	}
	return t;
}
