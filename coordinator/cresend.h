/*
 * cresend.h - the resender thread (see cresend.c).
 */
#ifndef TWOPC_CRESEND_H
#define TWOPC_CRESEND_H

/* The thread's body; ARG is the coord. Returns once stopping or failed,
 * after the flows it started have ended. */
void *cresend_main(void *arg);

#endif
