/*
 * txstate.h - the states of a transaction, shared by both roles and the wire.
 *
 * The names are the exact strings stored in the `state` columns of the logs
 * (DESIGN section 5), so an operator reading a log with sqlite3 and a program
 * reading a STATUS_REPLY see the same words.
 *
 *   participant:  INIT -> READY -> COMMIT | ABORT ;  INIT -> ABORT
 *   coordinator:  WAIT -> COMMIT | ABORT -> END
 *
 * TX_NONE means "no record": by presumed abort (R3) it answers like ABORT.
 */
#ifndef TWOPC_TXSTATE_H
#define TWOPC_TXSTATE_H

typedef enum tx_state {
	TX_NONE = 0,
	TX_INIT = 1,
	TX_READY = 2,
	TX_COMMIT = 3,
	TX_ABORT = 4,
	TX_WAIT = 5,
	TX_END = 6,
	TX_UNDECIDED = 7, /* a DECISION_REPLY: asked party knows nothing final yet */
} tx_state;

#define TX_STATE_MAX TX_UNDECIDED

/* "INIT", "READY", ...; "NONE" for TX_NONE; "?" for a value out of range. */
const char *tx_state_name(int s);

/* Parse a log string back; returns TX_NONE and sets *ok=0 if unknown. */
tx_state tx_state_parse(const char *s, int *ok);

#endif
