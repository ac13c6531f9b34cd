/*
 * csubmit.h - SUBMIT at the coordinator (see csubmit.c).
 */
#ifndef TWOPC_CSUBMIT_H
#define TWOPC_CSUBMIT_H

#include <stddef.h>

#include "wire.h"

struct coord;

/* SUBMIT REQ (a worker thread): RPC_DEFERRED (the flow answers), 1 (REP
 * filled: an error, or a repeated txid's outcome; text in BUF), or 0
 * (no answer: the coordinator failed). */
int csubmit_handle(struct coord *c, const wire_msg *req, wire_msg *rep, char *buf, size_t len);
/* The step of a new transaction T (CSTAGE_SUBMIT): WAIT, then the votes. */
struct coord_txn;
void csubmit_step(struct coord *c, struct coord_txn *t);

#endif
