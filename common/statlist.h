/*
 * statlist.h - building a STATUS_REPLY: a bounded list of entries whose
 * strings live in one buffer, handed to the server to free after sending.
 *
 * The list never grows past what one message can carry: an entry that
 * would push the encoded reply over WIRE_MAX_MSG (less a margin for the
 * header) is refused, so a node with thousands of unfinished transactions
 * answers with the first ones rather than with nothing. Details are cut to
 * STATLIST_DETAIL_MAX bytes.
 */
#ifndef TWOPC_STATLIST_H
#define TWOPC_STATLIST_H

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

#define STATLIST_DETAIL_MAX 600

typedef struct statlist {
	wire_status *st;
	size_t n, cap;
	char *strs;
	size_t at, strs_cap;
	size_t wire_bytes;   /* the encoded size of the entries so far */
} statlist;

/* Room for CAP entries. 0 or TWOPC_ENOMEM. */
int statlist_init(statlist *l, size_t cap);
/* Append one entry; 0, or -1 when full (the entry is dropped). */
int statlist_add(statlist *l, const char *name, int state, uint64_t epoch, uint64_t age_ms,
    const char *detail);
/* Make REP the STATUS_REPLY carrying L (ownership passes to REP). Returns 1. */
int statlist_reply(statlist *l, wire_msg *rep);
/* Free a list that was not handed to a reply. */
void statlist_free(statlist *l);

#endif
