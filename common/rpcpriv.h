/*
 * rpcpriv.h - what the files of the rpc module share; not for other
 * modules, which use rpc.h. Bottom to top: rpcbase.c (the close lock,
 * errors, socket options, peers, the reply check), rpcbatch.c (a batch's
 * calls end and are read), rpcchan.c (a peer's channel), rpccall.c
 * (starting calls) and rpc.c (dial, close); rpcsrv.c and rpcslot.c (the
 * REP server) on rpcbase.c. Each file calls only those below it.
 *
 * Invariant: every nng_ctx_* call on a socket that rpc_close() may close
 * while the call runs is made inside RPC_CTX_CALL (see rpcbase.c for why).
 * The exceptions are the server's own contexts (closed only by
 * rpc_server_stop) and calls on NNG's threads (rpccall.c: a batch's
 * sockets are not closed while it runs).
 */
#ifndef TWOPC_RPCPRIV_H
#define TWOPC_RPCPRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <nng/nng.h>
#include <nng/supplemental/tls/tls.h>

#include "rpc.h"
#include "tlimit.h"
#include "wire.h"

/* The TLS configuration for a tls+tcp:// listener (server) or a dialer
 * of URL (client), from the identity of rpc_tls_use: a new reference
 * (nng_tls_config_free it), or NULL with the reason logged. */
nng_tls_config *rpc_tls_config(int server, const char *url);

/* Held shared by nng_ctx_* calls, exclusively by rpc_close (rpcbase.c says
 * why). */
extern pthread_rwlock_t rpc_close_lk;

#define RPC_CTX_CALL(call) do { \
	pthread_rwlock_rdlock(&rpc_close_lk); \
	call; \
	pthread_rwlock_unlock(&rpc_close_lk); \
} while (0)

/*
 * One call of a batch (rpccall.c). A client's request goes alone on its
 * own context (CTX, AIO); the protocol's requests go through the peer's
 * channel (rpcchan.c), which may send several in one BATCH and hands the
 * reply back with rpc_bcall_end.
 */
typedef struct rpc_bcall {
	struct rpc_batch *b;
	nng_ctx ctx;                 /* alone: its context */
	nng_aio *aio;
	int open;
	int sending;
	int rc;
	nng_msg *reply;              /* alone: the reply */
	uint8_t *rbuf;               /* channel: the reply's bytes */
	size_t rlen;
	wire_buf req;                /* channel: the request, encoded */
	char sender[WIRE_NAME_MAX + 1];
	const char *peer;            /* alone, sealed: the node asked ... */
	uint8_t tag[WIRE_MAC_LEN];   /* ... and the request's MAC */
	uint64_t epoch;
	int lazy;                    /* may wait for company (rpcchan.c) */
	int once;                    /* never sent again (a client's SUBMIT) */
	int64_t deadline;            /* mono_ms */
	struct rpc_bcall *next;      /* channel queue */
} rpc_bcall;

/* A batch (rpcbatch.c): N calls with one deadline. */
struct rpc_batch {
	size_t n;
	atomic_size_t left;      /* calls not finished, plus one while starting */
	int64_t deadline;
	rpc_batch_fn fn;
	void *arg;
	rpc_bcall c[];
};

/* K's call is over: RC 0 with the reply's LEN bytes at REPLY (copied), or
 * a twopc_err. Any thread; K may be freed by the time it returns. */
void rpc_bcall_end(rpc_bcall *k, int rc, const uint8_t *reply, size_t len);
/* One call of B is over (its rc and reply set): the last one runs B's FN. */
void rpc_bcall_done(rpc_batch *b);

/* Send K (K->req encoded, K->deadline set) through SOCK's channel. */
void rpc_chan_send(nng_socket sock, rpc_bcall *k);
/* Before SOCK is closed: its queued calls end with TWOPC_ECLOSED, its
 * messages in flight are cancelled and waited for, the channel freed. */
void rpc_chan_close(nng_socket sock);

/* Malformed replies (a peer's garbage answer): logged rate-limited. */
extern tlimit rpc_bad_reply_log;

/* The node SOCK (from rpc_dial) talks to when its URL is bound in the
 * identity (rpcauth.h): its requests are sealed for it and its replies
 * checked. NULL: neither. The string lives as long as the process. */
const char *rpc_sock_peer(nng_socket sock);
/* Record PEER for SOCK (rpc_dial): 0 or TWOPC_ENOMEM; forget it (rpc_close). */
int rpc_sock_peer_set(nng_socket sock, const char *peer);
void rpc_sock_peer_drop(nng_socket sock);

/* Check REP, decoded from the LEN bytes at DATA, as PEER's reply to the
 * request whose MAC is TAG (rpc_auth_check). 0, or TWOPC_EPROTO, logged
 * rate-limited (with the text of an unauthenticated ERROR: a peer that
 * refused this node's own authentication says why there). */
int rpc_reply_check(const uint8_t *data, size_t len, const wire_msg *rep, const char *peer,
    const uint8_t *tag);

/* Count one message handed to nng_ctx_send (rpc_messages_sent). */
void rpc_count_send(void);

/*
 * NNG_OPT_RECVMAXSZ counts the SP header with the body: REQ/REP carry a
 * 4-byte request id (and 4 more bytes per device hop, at most 8 hops by
 * NNG's default NNG_OPT_MAXTTL). The cap of every socket is the codec's
 * limit plus this room, so that a message of exactly WIRE_MAX_MSG (or a
 * reply of WIRE_MAX_BATCH) arrives, and one over it arrives too and is
 * refused by wire_decode (counted in rpc_server_malformed) rather than
 * by NNG closing the connection without a word (NNG 1.5 tcp/ipc/tls
 * transports: "len > rcvmax" on the whole SP message).
 */
#define RPC_SP_HEADER_ROOM 64

/* The options every socket gets: the WIRE_MAX_MSG receive cap (with
 * RPC_SP_HEADER_ROOM), quick reconnects. Returns 0 or an NNG error. */
int rpc_setup(nng_socket s);

#endif
