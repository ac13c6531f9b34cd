/*
 * dlist.h - `twopc list`, the unfinished and in-doubt transactions as
 * every node sees them (dlist.c, part of the driver).
 */
#ifndef TWOPC_DLIST_H
#define TWOPC_DLIST_H

#include "twopc/client.h"

/* ARGV[0] is "list". Returns the exit status (0, or 3: no node answered). */
int drv_list(twopc_client *cl, int argc, char **argv);

#endif
