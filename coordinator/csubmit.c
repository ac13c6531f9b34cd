/*
 * csubmit.c - SUBMIT: a client's transaction enters the coordinator.
 *
 * Everything is validated before anything is recorded. R7: a txid the log
 * or the running table knows is answered with its outcome (a running one
 * waited for), never run again; the check and the insertion into the
 * running table are one step under both locks (a txid the coordinator
 * makes itself is new by construction and not looked up). Then the
 * transaction becomes a flow (cflow.c): its first step, on a step thread
 * and in one log transaction with the other steps queued meanwhile,
 * starts the vote round (cvote.c) and forces WAIT, naming every
 * participant and the run's epoch (cwait.c), without waiting for the
 * fsync: the vote step runs once both the votes and WAIT's fsync are done
 * (R2: the commit point is WAIT durable and every vote yes). No thread
 * waits for it.
 */
#include "csubmit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "cflow.h"
#include "coord.h"
#include "cvote.h"
#include "cwait.h"
#include "mclock.h"
#include "tlimit.h"
#include "tlog.h"
#include "twopc/error.h"

/* T's participants from REQ's work: 0, or 1 with REP an error. */
static int
csubmit_parts(coord *c, const wire_msg *req, coord_txn *t, wire_msg *rep, char *buf, size_t len)
{
	char reason[WIRE_NAME_MAX + 64];
	t->nparts = req->nwork;
	for (size_t i = 0; i < req->nwork; i++) {
		int idx = cfg_participant_index(c->cfg, req->work[i].participant);
		if (idx < 0) {
			snprintf(reason, sizeof(reason), "unknown participant '%s'", req->work[i].participant);
			return wire_reply_error(rep, TWOPC_ENOENT, reason, buf, len);
		}
		for (size_t j = 0; j < i; j++) {
			if (t->parts[j] == idx) {
				snprintf(reason, sizeof(reason), "participant '%s' named twice",
				    req->work[i].participant);
				return wire_reply_error(rep, TWOPC_EINVAL, reason, buf, len);
			}
		}
		t->parts[i] = idx;
	}
	return 0;
}

/* A repeated SUBMIT of running DUP (c->mtx held, released here): wait for
 * its outcome. */
static int
csubmit_repeat(coord *c, coord_txn *dup, wire_msg *rep, char *buf, size_t len)
{
	char reason[512];
	ctxn_ref(dup);
	tlog_debug("%s: SUBMIT again while it runs: waiting for its outcome", dup->txid);
	c->done_waiters++;
	while (dup->outcome == TX_NONE && !c->failed)
		pthread_cond_wait(&c->done_cv, &c->mtx);
	c->done_waiters--;
	tx_state out = dup->outcome;
	snprintf(reason, sizeof(reason), "%.500s", dup->reason);
	pthread_mutex_unlock(&c->mtx);
	ctxn_unref(dup);
	/* The outcome is set inside the deciding step's group transaction
	 * (cflow.c), which holds the log until its COMMIT: once we get the
	 * log, the decision is in it, so the gate's sync covers it. */
	db_lock(c->db);
	db_unlock(c->db);
	if (out == TX_NONE)
		return 0;
	return coord_reply_result(rep, out, reason, buf, len);
}

/*
 * A txid of the coordinator's own: NAME-EPOCH-SEQ-RANDOM. Epoch and
 * sequence make it unique; the random part (CSUBMIT_TXID_RAND characters
 * of [0-9a-z], about 51 bits, from getrandom) makes it unguessable. A
 * participant asked by a peer about a txid it has no record of must force
 * ABORT for it (DESIGN section 4), so a holder of one participant's keys
 * who could name transactions before they start could abort them at any
 * other participant; with the random part it can name only those it
 * takes part in, where its own NO vote does the same. Without a random
 * source (never on Linux) the part is derived from the clock and the
 * address space, which is unique but not secret, and a warning says so.
 */
#define CSUBMIT_TXID_RAND 10

/* Random bytes for the txids a thread makes, drawn CSUBMIT_POOL at a time:
 * one getrandom per 51 txids instead of one each (a system call cost this
 * machine's coordinator 2-3 us; each byte is still used once). */
#define CSUBMIT_POOL (CSUBMIT_TXID_RAND * 51)

static int
csubmit_random(unsigned char *r, size_t n)
{
	static _Thread_local unsigned char pool[CSUBMIT_POOL];
	static _Thread_local size_t left;
	if (left < n) {
		if (getrandom(pool, sizeof(pool), 0) != (ssize_t)sizeof(pool))
			return -1;
		left = sizeof(pool);
	}
	memcpy(r, pool + sizeof(pool) - left, n);
	memset(pool + sizeof(pool) - left, 0, n);
	left -= n;
	return 0;
}

static void
csubmit_txid(coord *c, char *out, size_t len)
{
	static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	unsigned char r[CSUBMIT_TXID_RAND];
	char tail[CSUBMIT_TXID_RAND + 1];
	if (csubmit_random(r, sizeof(r)) != 0) {
		static tlimit warned = TLIMIT_INIT("txids without a random part");
		tlimit_log(&warned, TLOG_WARN, "getrandom failed: txids are unique but guessable");
		uint64_t x = (uint64_t)mono_ms() ^ (uint64_t)(uintptr_t)out;
		for (size_t i = 0; i < sizeof(r); i++, x = x * 6364136223846793005ULL + 1)
			r[i] = (unsigned char)(x >> 56);
	}
	for (size_t i = 0; i < sizeof(r); i++)
		tail[i] = digits[r[i] % 36]; /* a slight bias, harmless here */
	tail[CSUBMIT_TXID_RAND] = '\0';
	snprintf(out, len, "%s-%llu-%llu-%s", c->cfg->coordinator.name,
	    (unsigned long long)atomic_load(&c->epoch),
	    (unsigned long long)(atomic_fetch_add(&c->seq, 1) + 1), tail);
}

/* R7 and the running table: 0 (T runs), or what to return. A txid this
 * coordinator made (epoch and sequence) is new by construction: only a
 * client's own txid is looked up in the log. */
static int
csubmit_enter(coord *c, coord_txn *t, int chosen, wire_msg *rep, char *buf, size_t len)
{
	char reason[128];
	clog_txn logged;
	int rv = TWOPC_ENOENT;

	if (chosen)
		db_lock(c->db);
	if (chosen && (rv = clog_get(c->db, t->txid, &logged)) == TWOPC_EIO) {
		db_unlock(c->db);
		return wire_reply_error(rep, TWOPC_EIO, "cannot read the coordinator log", buf, len);
	}
	pthread_mutex_lock(&c->mtx);
	coord_txn *dup = chosen ? coord_running_find(c, t->txid) : NULL;
	if (chosen)
		db_unlock(c->db);
	if (dup != NULL)
		return csubmit_repeat(c, dup, rep, buf, len);
	if (rv == 0) {
		pthread_mutex_unlock(&c->mtx);
		snprintf(reason, sizeof(reason), "txid already known (%s): not run again",
		    tx_state_name(logged.state));
		return coord_reply_result(rep, coord_outcome(logged.state), reason, buf, len);
	}
	coord_running_add(c, t);
	pthread_mutex_unlock(&c->mtx);
	return -1;
}

void
csubmit_step(coord *c, coord_txn *t)
{
	/* R2: WAIT is forced, and its fsync overlaps the vote round: the vote
	 * step runs when both are done. The votes leave first: WAIT must be
	 * durable before the decision, not before the requests (a crash
	 * before it is written leaves READY participants and no record: ABORT
	 * by presumption, as when a power cut takes an unsynced WAIT), so its
	 * write is not on the client's path. One-phase: the participant's log
	 * is the decision; WAIT stays lazy and is written first (the vote
	 * step may run as soon as the one vote is in). */
	int two_phase = t->nparts > 1;
	int late = two_phase && cwait_late();
	t->run_epoch = atomic_load(&c->epoch);
	if (late) {
		t->flags |= CTXN_WAIT_LATE;
	} else if (!two_phase && cwait_write(c, t, 1) != 0) {
		coord_running_done(c, t, TX_NONE, NULL);
		coord_fail(c, "cannot write the log");
		cflow_release(c, t);
		return;
	}
	/* WAIT's write and fsync are one of the things the vote step waits
	 * for: until they end, the flow cannot move on, so T stays ours. */
	atomic_store(&t->pending, two_phase && !late ? 1 : 0);
	cvote_start(c, t);
	if (two_phase && !late)
		cwait_async(c, t);
}

int
csubmit_handle(coord *c, const wire_msg *req, wire_msg *rep, char *buf, size_t len)
{
	coord_txn *t = ctxn_new(NULL);
	int sent;

	if (t == NULL)
		return 0;
	if ((sent = csubmit_parts(c, req, t, rep, buf, len)) != 0) {
		ctxn_unref(t);
		return sent;
	}
	int chosen = req->txid[0] != '\0';
	if (chosen)
		snprintf(t->txid, sizeof(t->txid), "%s", req->txid);
	else
		csubmit_txid(c, t->txid, sizeof(t->txid));
	snprintf(rep->txid, sizeof(rep->txid), "%s", t->txid);
	if ((sent = csubmit_enter(c, t, chosen, rep, buf, len)) >= 0) {
		ctxn_unref(t);
		return sent;
	}
	if ((t->sub = rpc_keep_request()) == NULL) {
		coord_running_done(c, t, TX_NONE, NULL);
		ctxn_unref(t);
		return wire_reply_error(rep, TWOPC_ENOMEM, "out of memory", buf, len);
	}
	/* From here the transaction runs as a flow, which answers the client
	 * when it is done. Under load WAIT and the vote requests go from a
	 * step thread, with the records of every transaction submitted
	 * meanwhile in one log transaction. */
	cflow_hold(c, t, rpc_defer(), NULL);
	cflow_step(c, t, CSTAGE_SUBMIT);
	return RPC_DEFERRED;
}
