/*
 * pstatus.h - what the participant tells operators and clients: STATUS
 * (one txid, every unfinished transaction, or the counters) and GET (the
 * resource's committed value of a key). Neither changes anything.
 */
#ifndef TWOPC_PSTATUS_H
#define TWOPC_PSTATUS_H

#include "part.h"

/* Take the db lock. Return 1 with REP filled (strings in BUF or in the
 * reply's own memory), or 0 for no reply (no memory). */
int part_on_status(twopc_participant *p, const wire_msg *req, wire_msg *rep);
int part_on_get(twopc_participant *p, const wire_msg *req, wire_msg *rep, char *buf, size_t len);

#endif
