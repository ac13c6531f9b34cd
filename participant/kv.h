/*
 * kv.h - the built-in key-value resource (DESIGN section 6).
 *
 * Operations, staged per participant:
 *   put KEY VALUE    set
 *   del KEY          remove
 *   check KEY VALUE  vote ABORT unless KEY's committed value equals VALUE
 *   add KEY DELTA    integer add (missing key = 0); vote ABORT if the
 *                    result would be negative or either side is not an
 *                    integer
 * A participant whose ops are all checks, all true, votes READ-ONLY: it
 * has nothing to write and leaves the transaction at the vote.
 * prepare evaluates the ops in order against the committed data (keys are
 * locked, so it cannot change before the decision) and stages the results
 * as put/del rows, so commit only copies rows: applying twice writes the
 * same values. The data lives in the `kv` table of the participant's log
 * file, so commit is atomic with the COMMIT record.
 */
#ifndef TWOPC_KV_H
#define TWOPC_KV_H

#include "twopc/participant.h"

/* The resource's callbacks (user = NULL). */
extern const twopc_resource kv_resource;

#endif
