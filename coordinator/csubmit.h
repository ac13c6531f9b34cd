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

#endif
