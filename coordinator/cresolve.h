/*
 * cresolve.h - the operator's resolution at the coordinator (twopc
 * resolve, the RESOLVE message); see cresolve.c.
 */
#ifndef TWOPC_CRESOLVE_H
#define TWOPC_CRESOLVE_H

#include <stddef.h>

#include "wire.h"

struct coord;

/* RESOLVE from the operator's driver (a worker thread; blocks for the
 * participants' answers and the delivery). REP is a one-entry
 * STATUS_REPLY or an ERROR (text in BUF). */
int coord_on_resolve(struct coord *c, const wire_msg *req, wire_msg *rep, char *buf, size_t len);

#endif
