/*
 * wirepriv.h - what wire.c (encoding) and wiredec.c (decoding) share; not
 * for other modules, which use wire.h.
 */
#ifndef TWOPC_WIREPRIV_H
#define TWOPC_WIREPRIV_H

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

/* Why the last wire_decode() of this thread failed (wire_last_error). */
extern _Thread_local const char *wire_err;

/* The N bytes at P form a valid txid / participant name (wire.h). */
int wire_txid_bytes_valid(const uint8_t *p, size_t n);
int wire_name_bytes_valid(const uint8_t *p, size_t n);

/* RESOLVE: COMMIT or ABORT, forced or not; NONE (forget) never forced. */
int wire_resolve_valid(uint8_t outcome, uint8_t force);

/* Is M's one-byte state one that its type may carry? */
int wire_body_state_valid(const wire_msg *m);

/* 1 if the header of a message of TYPE must carry a txid. */
int wire_needs_txid(int type);

/* The header flags TYPE defines (wire.h). */
uint8_t wire_flags_allowed(int type);

#endif
