/*
 * ptxn.c - the participant transaction's state machine; see ptxn.h.
 */
#include "ptxn.h"

#include <stdatomic.h>
#include <stdio.h>

#include "tlog.h"
#include "twopc/error.h"

enum { PTXN_NO = 0, PTXN_YES = 1, PTXN_NEW_RUN = 2 };

/* Moves entered, by new state (ptxn_count). */
static _Atomic uint64_t ptxn_entered[TX_ABORT + 1];

/* [from][to]: allowed always, never, or only for a newer run (the
 * record's epoch is lower than the one entered). Rows and columns are
 * TX_NONE, TX_INIT, TX_READY, TX_COMMIT, TX_ABORT. */
static const unsigned char ptxn_table[TX_ABORT + 1][TX_ABORT + 1] = {
	/*              NONE     INIT          READY    COMMIT   ABORT */
	[TX_NONE]   = { PTXN_NO, PTXN_YES,     PTXN_NO, PTXN_NO, PTXN_YES },
	[TX_INIT]   = { PTXN_NO, PTXN_NO,      PTXN_YES, PTXN_YES, PTXN_YES },
	[TX_READY]  = { PTXN_NO, PTXN_NO,      PTXN_NO, PTXN_YES, PTXN_YES },
	[TX_COMMIT] = { PTXN_NO, PTXN_NO,      PTXN_NO, PTXN_NO, PTXN_NO },
	[TX_ABORT]  = { PTXN_NO, PTXN_NEW_RUN, PTXN_NO, PTXN_NO, PTXN_NEW_RUN },
};

/* 1 if FROM -> TO is legal for a record of run OLD_EPOCH entering run
 * EPOCH. A state outside the table (a corrupt row, a coordinator state)
 * is never legal: it names itself in the violation. */
static int
ptxn_legal(tx_state from, tx_state to, uint64_t old_epoch, uint64_t epoch)
{
	if ((int)from < TX_NONE || from > TX_ABORT || (int)to < TX_NONE || to > TX_ABORT)
		return 0;
	switch (ptxn_table[from][to]) {
	case PTXN_YES:
		return 1;
	case PTXN_NEW_RUN:
		return epoch > old_epoch;
	default:
		return 0;
	}
}

static void
ptxn_violation(const char *txid, const plog_txn *t, const char *to, uint64_t epoch,
    const char *why)
{
	tlog_error("%s: PROTOCOL VIOLATION: illegal transition %s (epoch %llu) -> %s (epoch %llu)"
	    " (%s); the log keeps %s", txid, tx_state_name(t->state), (unsigned long long)t->epoch,
	    to, (unsigned long long)epoch, why ? why : "no reason given", tx_state_name(t->state));
}

int
ptxn_enter(db *d, const char *txid, plog_txn *t, tx_state to, uint64_t epoch,
    const char *peers, const char *why)
{
	if (!ptxn_legal(t->state, to, t->epoch, epoch)) {
		ptxn_violation(txid, t, tx_state_name(to), epoch, why);
		return TWOPC_ESTATE;
	}
	if (peers == NULL)
		peers = t->peers;
	/* INIT is never written: it lives in the open SQLite transaction. */
	if (to != TX_INIT) {
		int rv = plog_put(d, txid, to, epoch, peers);
		if (rv != 0)
			return rv;
	}
	tlog_state(txid, tx_state_name(t->state), tx_state_name(to), why);
	if (t->state != to)
		atomic_fetch_add(&ptxn_entered[to], 1);
	if (peers != t->peers)
		snprintf(t->peers, sizeof(t->peers), "%s", peers);
	t->state = to;
	t->epoch = epoch;
	t->updated_at = db_now_ms();
	return 0;
}

uint64_t
ptxn_count(tx_state to)
{
	return (int)to >= TX_NONE && to <= TX_ABORT ? atomic_load(&ptxn_entered[to]) : 0;
}

int
ptxn_readonly(db *d, const char *txid, const plog_txn *t, uint64_t epoch)
{
	static const char why[] = "voted READ-ONLY: nothing to write; leaves the transaction";
	if (t->state != TX_INIT) {
		ptxn_violation(txid, t, "READ-ONLY", epoch, why);
		return TWOPC_ESTATE;
	}
	int rv = plog_readonly_put(d, txid, epoch);
	if (rv == 0)
		tlog_state(txid, "INIT", "READ-ONLY", why);
	return rv;
}

int
ptxn_forget(db *d, const char *txid)
{
	return plog_forget(d, txid);
}

int
ptxn_expire(db *d, int64_t before_ms)
{
	return plog_expire(d, before_ms);
}
