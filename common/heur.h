/*
 * heur.h - the heuristic table, kept by the coordinator and by every
 * participant beside the tables of DESIGN section 5:
 *
 *   heuristic(txid TEXT PRIMARY KEY, outcome TEXT, decided_at INTEGER, note TEXT)
 *
 * One row per transaction whose outcome at this node was not the normal
 * protocol's: outcome COMMIT or ABORT when an operator forced it
 * (`twopc resolve --force`, a heuristic decision in XA's words), or
 * VIOLATION at the coordinator when a participant answered GLOBAL_COMMIT
 * with ABORT (a damage that resending cannot heal). decided_at is
 * wall-clock milliseconds; note says what happened, naming the nodes.
 *
 * Rows are never expired with the transactions' rows (R9): they stay
 * until the operator drops them with `twopc resolve TXID
 * --forget-heuristic`, so damage is not forgotten before it was seen.
 *
 * The caller holds db_lock() and chooses the transaction boundaries.
 * Statement slots 50-54 of the db are this module's.
 */
#ifndef TWOPC_HEUR_H
#define TWOPC_HEUR_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "statlist.h"
#include "txstate.h"

/* Appended to each role's schema. */
#define HEUR_SCHEMA \
    "CREATE TABLE IF NOT EXISTS heuristic(txid TEXT PRIMARY KEY, outcome TEXT, " \
    "  decided_at INTEGER, note TEXT) WITHOUT ROWID;"

#define HEUR_VIOLATION "VIOLATION"
#define HEUR_NOTE_MAX 512

typedef struct heur_row {
	char outcome[16];      /* "COMMIT", "ABORT" or "VIOLATION" */
	int64_t decided_at;
	char note[HEUR_NOTE_MAX];
} heur_row;

/* Insert or replace TXID's row (decided_at now). 0 or TWOPC_EIO. */
int heur_put(db *d, const char *txid, const char *outcome, const char *note);
/* 0 and *out, TWOPC_ENOENT, TWOPC_EIO. */
int heur_get(db *d, const char *txid, heur_row *out);
/* Drop TXID's row: 1 if there was one, 0 if not, TWOPC_EIO. */
int heur_del(db *d, const char *txid);

typedef void (*heur_each_fn)(void *arg, const char *txid, const heur_row *r);
/* FN for each row, oldest first, at most LIMIT. 0 or TWOPC_EIO. */
int heur_each(db *d, size_t limit, heur_each_fn fn, void *arg);

/*
 * The words a status entry's detail carries for R: "heuristic COMMIT:
 * NOTE" or "VIOLATION: NOTE". twopc(1) marks a transaction DAMAGED when a
 * node's detail holds either (heur_damaged).
 */
void heur_describe(const heur_row *r, char *buf, size_t len);
/* TXID's record, if any, described as heur_describe does into BUF ("" if
 * none). The caller holds D's lock. */
void heur_note(db *d, const char *txid, char *buf, size_t len);
/* 1 if a status DETAIL reports a heuristic outcome or a violation. */
int heur_damaged(const char *detail);

/*
 * What a daemon's own log says of TXID, for its heuristic row's STATUS
 * entry: *STATE (TX_NONE: no record) and *EPOCH to list, and CTX, the
 * detail's first words ("participants=a,b"). Returns 1 when a full
 * listing shows TXID already (with the note), else 0. D's lock is held.
 */
typedef int (*heur_log_fn)(void *arg, const char *txid, tx_state *state, uint64_t *epoch,
    char *ctx, size_t len);
/*
 * The heuristic rows as STATUS entries into L: ONLY's row if it has one,
 * or (ONLY NULL) the oldest 256 that LOG does not say are listed already;
 * each entry's detail is LOG's CTX and heur_describe's words, its age
 * taken at NOW (wall clock). The caller holds D's lock.
 */
void heur_status(db *d, statlist *l, const char *only, int64_t now, heur_log_fn log, void *arg);

#endif
