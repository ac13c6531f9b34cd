/*
 * crecover.h - restart recovery at the coordinator (see crecover.c).
 */
#ifndef TWOPC_CRECOVER_H
#define TWOPC_CRECOVER_H

struct coord;

/* Before serving, with the step threads running: 0, or TWOPC_EIO (the log
 * cannot be read or written). */
int crecover_run(struct coord *c);

#endif
