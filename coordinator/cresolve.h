/*
 * cresolve.h - the coordinator's manual resolution and its handling of
 * protocol violations that cannot heal (cresolve.c).
 *
 * A violation: a participant answered GLOBAL_COMMIT with ABORT. Its
 * decision is final (DESIGN section 4), so resending cannot change it.
 * It is logged once per txid and participant (later repeats are counted
 * and summed up in at most one line a minute), recorded durably in the
 * heuristic table (outcome VIOLATION, so `twopc list` shows it after a
 * restart), and GLOBAL_COMMIT is no longer sent to that participant; the
 * others still get it. `twopc resolve TXID --commit|--abort --force`
 * repairs it: END with a heuristic record, and resending stops.
 */
#ifndef TWOPC_CRESOLVE_H
#define TWOPC_CRESOLVE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "wire.h"

#define CRES_MAX_VIOL 256
#define CRES_SUMMARY_MS 60000

typedef struct cres_viol {
	char txid[WIRE_TXID_MAX + 1];
	char part[WIRE_NAME_MAX + 1];
	uint64_t repeats;            /* since the last line about it */
	int64_t last_line_ms;        /* monotonic */
	int64_t used_ms;             /* monotonic, for reuse of the oldest slot */
} cres_viol;

typedef struct cres_state {
	pthread_mutex_t mtx;
	int ready;
	cres_viol v[CRES_MAX_VIOL];
	size_t n;
	atomic_uint_fast64_t resend_cycles; /* resender passes, for status counters */
} cres_state;

struct coord;
struct statlist;

/* Before serving (from recovery): load the recorded violations, so
 * resending stays stopped across a restart. Takes the db lock. */
void cres_init(struct coord *c);
/* Participant PART answered GLOBAL_COMMIT for TXID with STATE. No lock held. */
void cres_violation(struct coord *c, const char *txid, const char *part, int state);
/* 1 if GLOBAL_COMMIT for TXID must no longer go to PART. */
int cres_stopped(struct coord *c, const char *txid, const char *part);
/* With the db lock held: TXID's heuristic record as status words ("" if none). */
void cres_note(struct coord *c, const char *txid, char *buf, size_t len);
/* With the db lock held: entries for heuristic records to L (ONLY: that txid,
 * when the txn table has no row; NULL: every one whose txid is not WAIT or
 * COMMIT, those being listed already). */
void cres_status(struct coord *c, struct statlist *l, const char *only, int64_t now);
/* RESOLVE from the operator's driver (a worker thread; blocks for the
 * participants' answers). REP is a one-entry STATUS_REPLY or an ERROR. */
int coord_on_resolve(struct coord *c, const wire_msg *req, wire_msg *rep, char *buf, size_t len);

#endif
