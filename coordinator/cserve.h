/*
 * cserve.h - what the coordinator serves (see cserve.c).
 */
#ifndef TWOPC_CSERVE_H
#define TWOPC_CSERVE_H

#include "rpc.h"
#include "wire.h"

struct coord;

/* The rpc_server handler (USER is the coord): every request. */
int cserve_handle(void *user, const wire_msg *req, wire_msg *rep);
/* The rpc_server gate and its failure (see cserve.c). */
void cserve_gate(void *arg, rpc_done_fn done, void *slot);
void cserve_gate_failed(void *user);

#endif
