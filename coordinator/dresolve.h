/*
 * dresolve.h - `twopc resolve`, the operator's manual resolution of an
 * in-doubt transaction (dresolve.c, part of the driver).
 */
#ifndef TWOPC_DRESOLVE_H
#define TWOPC_DRESOLVE_H

#include "twopc/client.h"

/* Exit status of twopc(1) for resolve: 0 applied consistently everywhere,
 * 1 refused, 2 usage, 3 a node needed could not be reached (or has not
 * applied it yet), 4 applied with heuristic damage (nodes disagree). */
#define DRES_EXIT_DAMAGE 4

/* ARGV[0] is "resolve". Returns the exit status. */
int dres_main(twopc_client *cl, int argc, char **argv);

#endif
