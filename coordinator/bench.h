/*
 * bench.h - `twopc bench`: a closed-loop load generator against a running
 * cluster (DESIGN section 9).
 */
#ifndef TWOPC_BENCH_H
#define TWOPC_BENCH_H

#include "twopc/client.h"

/* ARGV[0] is "bench". Prints the result; returns the exit status. */
int bench_main(twopc_client *cl, int argc, char **argv);

#endif
