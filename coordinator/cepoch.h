/*
 * cepoch.h - the coordinator's epoch: where it starts, and fencing (R6).
 * See cepoch.c for the contract.
 */
#ifndef TWOPC_CEPOCH_H
#define TWOPC_CEPOCH_H

#include <stdint.h>

#include "wire.h"

struct coord;

/* The probe, the refusal or the next epoch, forced; before recovery and
 * before any txid. Blocks (at most one probe timeout). 0, TWOPC_ESTALE,
 * TWOPC_EIO. */
int coord_epoch_start(struct coord *c, uint64_t min_epoch);
/* Participant PART's reply (RESULT 0: REP decoded) carries a higher epoch
 * than ours: fence this coordinator (logged once; coord_fail). 1 if
 * fenced. Any thread. */
int coord_fence_check(struct coord *c, int part, int result, const wire_msg *rep);
int coord_is_fenced(struct coord *c);

#endif
