/*
 * cviol.h - protocol violations that cannot heal, as the coordinator
 * tracks them (cviol.c); their repair is twopc resolve (cresolve.h).
 *
 * A violation: a participant answered GLOBAL_COMMIT with ABORT. Its
 * decision is final (DESIGN section 4), so resending cannot change it.
 * It is logged once per txid and participant (later repeats are counted
 * and summed up in at most one line a minute), recorded durably in the
 * heuristic table (outcome VIOLATION, so `twopc list` shows it after a
 * restart), and GLOBAL_COMMIT is no longer resent to that participant; the
 * others still get it. `twopc resolve TXID --commit|--abort --force`
 * repairs it: END with a heuristic record, and resending stops.
 */
#ifndef TWOPC_CVIOL_H
#define TWOPC_CVIOL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "wire.h"

#define CVIOL_MAX 256
#define CVIOL_SUMMARY_MS 60000

typedef struct cviol_entry {
	char txid[WIRE_TXID_MAX + 1];
	char part[WIRE_NAME_MAX + 1];
	uint64_t repeats;            /* since the last line about it */
	int64_t last_line_ms;        /* monotonic */
	int64_t used_ms;             /* monotonic, for reuse of the oldest slot */
} cviol_entry;

typedef struct cviol_state {
	pthread_mutex_t mtx;         /* initialised with the coord (coord.c) */
	cviol_entry v[CVIOL_MAX];
	size_t n;
	atomic_uint_fast64_t resend_cycles; /* resender passes, for status counters */
} cviol_state;

struct coord;
struct statlist;

/* Before serving (from recovery): load the recorded violations, so
 * resending stays stopped across a restart. Takes the db lock. */
void cviol_init(struct coord *c);
/* Participant PART answered GLOBAL_COMMIT for TXID with STATE. No lock held. */
void cviol_report(struct coord *c, const char *txid, const char *part, int state);
/* 1 if GLOBAL_COMMIT for TXID must no longer be resent to PART. */
int cviol_stopped(struct coord *c, const char *txid, const char *part);
/* The operator repaired TXID (or dropped its record): forget it here. */
void cviol_forget(struct coord *c, const char *txid);
/* With the db lock held: entries for heuristic records to L (ONLY: that txid,
 * when the txn table has no row; NULL: every one whose txid is not WAIT or
 * COMMIT, those being listed already). */
void cviol_status(struct coord *c, struct statlist *l, const char *only, int64_t now);

#endif
