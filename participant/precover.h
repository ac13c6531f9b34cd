/*
 * precover.h - restart recovery and the participant's background thread
 * (DESIGN section 3): INIT -> ABORT at start; then, every tick, READY
 * transactions past decision_timeout_ms are asked about (pterm.c) and
 * ABORT records and READ-ONLY notes past retention are dropped (R9).
 */
#ifndef TWOPC_PRECOVER_H
#define TWOPC_PRECOVER_H

#include "part.h"

/* Recovery at start, before serving: every INIT record -> ABORT. Takes
 * the db lock. 0 or TWOPC_EIO. READY needs nothing here: the background
 * thread asks about it at once. */
int part_recover(twopc_participant *p);

/* The background thread's body (pthread_create): runs until the handle
 * stops or fails. */
void *part_bg_main(void *arg);

#endif
