/*
 * rpcpriv.h - what rpc.c (setup, errors, dial, close), rpcsrv.c (the REP
 * server) and rpccall.c (the REQ calls) share; not for other modules,
 * which use rpc.h.
 *
 * Invariant: every nng_ctx_* call on a socket that rpc_close() may close
 * while the call runs is made inside RPC_CTX_CALL (see rpc.c for why).
 * The exceptions are the server's own contexts (closed only by
 * rpc_server_stop) and calls on NNG's threads (rpccall.c: a batch's
 * sockets are not closed while it runs).
 */
#ifndef TWOPC_RPCPRIV_H
#define TWOPC_RPCPRIV_H

#include <pthread.h>
#include <nng/nng.h>

/* Held shared by nng_ctx_* calls, exclusively by rpc_close (rpc.c). */
extern pthread_rwlock_t rpc_close_lk;

#define RPC_CTX_CALL(call) do { \
	pthread_rwlock_rdlock(&rpc_close_lk); \
	call; \
	pthread_rwlock_unlock(&rpc_close_lk); \
} while (0)

/* The options every socket gets: the WIRE_MAX_MSG receive cap, quick
 * reconnects. Returns 0 or an NNG error. */
int rpc_setup(nng_socket s);

#endif
