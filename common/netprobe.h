/*
 * netprobe.h - is anything listening at an NNG URL right now? One
 * connection attempt, bounded in time, nothing sent.
 *
 * Why not NNG: a dialer retries in the background and a request then
 * waits its whole timeout when nobody listens; a client that is about to
 * hand over a transaction wants to know at once that it cannot, and say
 * so. A TCP connection that opens says something listens (for
 * tls+tcp://, before the handshake); the request that follows still
 * decides whether it is the right server.
 */
#ifndef TWOPC_NETPROBE_H
#define TWOPC_NETPROBE_H

#include <stddef.h>

/*
 * Connect to URL (tcp://, tls+tcp://, ipc://) within TIMEOUT_MS and close
 * at once. Returns 0 when the connection opened (and for inproc:// or any
 * scheme it cannot test: the caller goes on), TWOPC_ENET with the reason
 * ("Connection refused", "no address for HOST") in WHY, or
 * TWOPC_ETIMEDOUT. Blocks at most TIMEOUT_MS (name resolution aside);
 * thread-safe.
 */
int netprobe_url(const char *url, int timeout_ms, char *why, size_t whylen);

#endif
