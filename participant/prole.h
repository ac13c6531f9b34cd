/*
 * prole.h - the participant's role checks, made before any handler runs
 * (cfgrole.c has the table; twopc(7), ROLES).
 */
#ifndef TWOPC_PROLE_H
#define TWOPC_PROLE_H

#include <stddef.h>

#include "part.h"
#include "wire.h"

/*
 * May REQ reach a handler? 0: yes. 1: no, REP is the ERROR that says why
 * (strings in BUF of LEN bytes), counted and logged as refused: a sender
 * whose role may not send REQ's type here, or a participant asking
 * (DECISION_REQUEST) about a txid whose record here names its peers
 * without it. Takes the log's lock for that read. Worker threads.
 */
int part_role_refused(twopc_participant *p, const wire_msg *req, wire_msg *rep, char *buf,
    size_t len);

#endif
