/*
 * phttp.h - the participant's HTTP server: /metrics, /healthz and the
 * status page (phttp.c, on httpd.h), when its node has an 'http:'
 * address in the cluster file.
 */
#ifndef TWOPC_PHTTP_H
#define TWOPC_PHTTP_H

#include "part.h"

/* Serve P's metrics, health and status page on its 'http:' address, if
 * it has one. Called once recovery is done. 0, or TWOPC_ENET /
 * TWOPC_ENOMEM (logged). */
int part_http_start(twopc_participant *p);

/* Stop it, waiting for a page being built; before anything it reads is
 * freed. No-op without one. */
void part_http_stop(twopc_participant *p);

#endif
