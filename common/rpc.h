/*
 * rpc.h - request/reply over NNG for twopc messages.
 *
 * Every daemon listens on one REP socket with RPC_SLOTS contexts (nng_ctx
 * + nng_aio, each one request in flight): receiving and sending are
 * asynchronous, so thousands of requests can be in flight while a small
 * fixed pool of worker threads runs the handlers. A reply may wait for a
 * gate (the log's group commit) without holding a worker: the worker
 * hands the slot to the gate and takes the next request; the reply leaves
 * from whichever thread opens the gate. Requests go out on REQ sockets,
 * one per peer, shared by all threads: each call opens its own context.
 *
 * Memory per request in flight: one slot (an nng_ctx, an nng_aio and
 * 64 bytes) plus its message, at most WIRE_MAX_MSG; the slots are
 * allocated at start (RPC_SLOTS of them).
 *
 * Every socket caps incoming messages at WIRE_MAX_MSG (NNG_OPT_RECVMAXSZ,
 * with room for the SP header: rpcpriv.h; NNG's default is unlimited). A message that does not decode is dropped,
 * counted in rpc_server_malformed(), and logged (rate-limited); the sender
 * gets no reply, so a REQ peer times out.
 *
 * NNG's REQ resends a request that has no reply after RPC_RESEND_MS (and
 * when a connection drops), so every handler must be idempotent.
 *
 * Batching (rpcchan.c): the protocol's requests to one peer share one
 * NNG message when they meet: with nothing in flight to the peer a
 * request leaves at once, alone; while a message is in flight, requests
 * wait and leave together as one BATCH when it is answered. A client's
 * SUBMITs share messages the same way, with up to 8 in flight at once
 * (each SUBMIT's reply waits for its transaction) and never sent twice;
 * its other requests (wire_from_client) always travel alone. The server
 * handles a BATCH's messages one by one, as if each came alone, in one
 * group transaction, and answers them with one BATCH once each has its
 * reply (a handler may give one later: rpc_defer).
 *
 * The linger (rpc_set_linger): a lazy request (wire_may_linger: a GLOBAL,
 * whose answer no client waits for) that finds nothing in flight to its
 * peer does not leave at once; it waits up to the linger for the next
 * request to that peer and leaves with it, or leaves alone when the
 * linger is over. Under a light load one message then carries a GLOBAL
 * with the next VOTE_REQUEST, and one group transaction and one fsync at
 * the participant cover both. A request that is not lazy never waits.
 */
#ifndef TWOPC_RPC_H
#define TWOPC_RPC_H

#include <stddef.h>
#include <stdint.h>
#include <nng/nng.h>

#include "wire.h"

#define RPC_RESEND_MS 1000
#define RPC_SLOTS 1024   /* requests in flight per server */
/*
 * Connections a server keeps at once (NNG pipes of its listening socket,
 * every peer together): one past it is closed as soon as NNG hands it
 * over (NNG_PIPE_EV_ADD_PRE), counted and logged rate-limited. Lowered to
 * half the descriptor limit when that is smaller, so that connections
 * never take the descriptors the log and the dialed peers need.
 * Connections still in their handshake are not pipes yet: NNG closes each
 * after 10 s, and daemon_harden() gives the daemon the descriptors for a
 * flood of them.
 */
#define RPC_MAX_PIPES 1024

/*
 * A handler fills REPLY (already wire_msg_init'ed by the server with the
 * request's txid, type 0) and returns 1 to send it, 0 to send nothing.
 * Called from worker threads, concurrently; must be idempotent.
 */
typedef int (*rpc_handler)(void *user, const wire_msg *req, wire_msg *reply);

/*
 * A handler that answers later (it waits for other messages, not for a
 * lock) takes the request with rpc_defer() and returns RPC_DEFERRED (also
 * for a message of a BATCH, whose reply then waits for it); it
 * then owns it and must call rpc_reply_deferred() exactly once, from any
 * thread: with a reply (stamped and sent through the gate, like a
 * handler's) or NULL (no reply). No worker is held meanwhile: this is how
 * thousands of transactions are in flight at once. rpc_server_stop waits
 * until every deferred request is answered.
 */
#define RPC_DEFERRED 2
typedef struct rpc_deferred rpc_deferred;
rpc_deferred *rpc_defer(void);          /* only inside a handler */
/* Inside a handler: take the request being handled (a heap copy of the
 * decoded message; the caller frees it with wire_msg_free and free). NULL
 * when out of memory (the request stays the server's). */
wire_msg *rpc_keep_request(void);
/* Inside a handler: 1 when its request is one message of a BATCH (the
 * others are handled right after it, on this thread), else 0. */
int rpc_batching(void);
void rpc_reply_deferred(rpc_deferred *d, wire_msg *reply);
/* The same past the gate: for a reply whose every record the caller knows
 * durable already (the gate would wait for other requests' records). Any
 * thread; does not block. */
void rpc_reply_durable(rpc_deferred *d, wire_msg *reply);

/*
 * Latency of a request, seen from its sender's side of this server: from
 * when the request was taken from the socket until its reply is handed
 * to NNG, past the gate. rpc_time_reply, inside a handler, asks for it in
 * H; rpc_time_deferred asks the same for a deferred request, before its
 * rpc_reply_deferred. Each message of a BATCH counts once in its own H,
 * with the batch's time. One H per request or message (the last call's);
 * nothing is observed if no reply is sent. H must outlive the server.
 * Costs a clock read and two atomic adds per H when the reply leaves.
 */
struct histo;
void rpc_time_reply(struct histo *h);
void rpc_time_deferred(rpc_deferred *d, struct histo *h);

typedef struct rpc_server rpc_server;

/*
 * The gate every reply passes: GATE(GATE_ARG, done, arg) must call
 * done(arg, rc) exactly once, now or later, from any thread: rc 0 sends
 * the reply, non-zero drops it and calls FAIL(user) (the promise behind
 * the reply is broken: the daemon stops). A NULL gate sends at once.
 */
typedef void (*rpc_done_fn)(void *arg, int rc);
typedef void (*rpc_gate_fn)(void *gate_arg, rpc_done_fn done, void *arg);

typedef struct rpc_server_opts {
	int nworkers;            /* handler threads */
	rpc_handler handler;
	void *user;
	const char *sender;      /* stamped on every reply */
	const _Atomic uint64_t *epoch; /* stamped on every reply, read at send time */
	rpc_gate_fn gate;
	void *gate_arg;
	void (*fail)(void *user);
	/* A BATCH (wire.h) is handled between GROUP_BEGIN(user), which returns
	 * 0 or an error (then each message runs alone), and GROUP_END(user),
	 * which runs before the batch's reply goes to the gate: the daemon's
	 * log makes one transaction of the batch (db_group_begin). NULL: none. */
	int (*group_begin)(void *user);
	void (*group_end)(void *user);
} rpc_server_opts;

/*
 * Listen on URL and serve with O. Returns 0 and *out, TWOPC_ENET (logged,
 * naming the URL), TWOPC_ECONFIG (a tls+tcp:// URL without a usable TLS
 * identity, logged) or TWOPC_ENOMEM.
 */
int rpc_server_start(const char *url, const rpc_server_opts *o, rpc_server **out);
/* Stop receiving, join the workers, wait for every reply held at the
 * gate, close, free. NULL is a no-op. Blocks until running handlers
 * return. */
void rpc_server_stop(rpc_server *s);
/* Messages dropped because they did not decode; requests served;
 * connections closed over the limit (RPC_MAX_PIPES); the limit. */
uint64_t rpc_server_malformed(rpc_server *s);
uint64_t rpc_server_pipes_refused(rpc_server *s);
/* Requests refused before any handler: failed authentication or replays
 * (rpcauth.h). */
uint64_t rpc_server_unauthenticated(rpc_server *s);
int rpc_server_max_pipes(rpc_server *s);
uint64_t rpc_server_requests(rpc_server *s);

/*
 * Open a REQ socket dialing URL in the background (reconnects forever).
 * RESEND: let NNG resend an unanswered request every RPC_RESEND_MS and
 * when a connection drops; pass 0 for requests that are not idempotent
 * (a SUBMIT without a txid must never run twice). Returns 0, TWOPC_ENET or
 * TWOPC_ECONFIG (tls+tcp:// without a usable TLS identity), logged.
 */
int rpc_dial(const char *url, int resend, nng_socket *out);

/*
 * Send REQ on SOCK and wait at most TIMEOUT_MS for the reply, decoded into
 * *REP (free with wire_msg_free). Returns 0, TWOPC_ETIMEDOUT, TWOPC_ENET,
 * TWOPC_EPROTO (reply did not decode), TWOPC_EINVAL (REQ does not encode).
 * Blocks the calling thread.
 */
int rpc_call(nng_socket sock, const wire_msg *req, wire_msg *rep, int timeout_ms);

/*
 * N calls at once: REQS[i] on SOCKS[i]; waits until every reply is in or
 * TIMEOUT_MS has passed. RESULTS[i] is what rpc_call would have returned;
 * REPS[i] is valid where RESULTS[i] == 0. Returns 0 or TWOPC_ENOMEM.
 */
int rpc_call_many(size_t n, const nng_socket *socks, const wire_msg *const *reqs,
    wire_msg *reps, int *results, int timeout_ms);

/*
 * N calls at once without blocking: REQS[i] on SOCKS[i], one deadline
 * TIMEOUT_MS. FN(b, ARG) runs once, when every call has its reply or its
 * error: on an NNG thread, or on the caller's when nothing could be sent.
 * FN must not block and must not free B (hand it to a thread that then
 * reads each rpc_batch_result() and calls rpc_batch_free()), except when
 * every request of B is a protocol request or a SUBMIT: those travel
 * through their peer's channel, and B holds no aio of its own. The sockets
 * must not be closed while a batch is running on them (the owner stops
 * starting batches and waits for them before rpc_close).
 * Returns 0, or TWOPC_ENOMEM (FN not called).
 */
typedef struct rpc_batch rpc_batch;
typedef void (*rpc_batch_fn)(rpc_batch *b, void *arg);
int rpc_batch_start(size_t n, const nng_socket *socks, const wire_msg *const *reqs,
    int timeout_ms, rpc_batch_fn fn, void *arg);
/* Call I's outcome, as rpc_call_many's RESULTS[i]; *REP valid (free with
 * wire_msg_free) where 0. At most once per I. */
int rpc_batch_result(rpc_batch *b, size_t i, wire_msg *rep);
void rpc_batch_free(rpc_batch *b);

/*
 * Close SOCK (from rpc_dial, or any socket used with rpc_call*) while other
 * threads may still be calling on it: their calls end with TWOPC_ECLOSED.
 * Use this rather than nng_close for a shared socket (see rpcbase.c: NNG 1.5
 * can crash when a close overlaps an nng_ctx_* call). Blocks only for the
 * close itself.
 */
void rpc_close(nng_socket sock);

/* How long a lazy request may wait for company (the linger, above): *MS
 * milliseconds, read at each lazy request, so a reload takes effect; 0
 * or MS NULL (the default): it does not wait. MS must outlive every
 * channel (a daemon's configuration does). */
void rpc_set_linger(const _Atomic uint32_t *ms);

/*
 * TLS (rpctls.c). A tls+tcp:// socket, listening or dialing, uses this
 * process's identity: one CA, one certificate and key. Servers require a
 * client certificate signed by the CA (mutual TLS); dialers verify the
 * server against the CA and, when its URL is bound to a node name
 * (rpc_tls_bind), that the server's certificate was issued to that name.
 * tcp://, ipc:// and inproc:// sockets are unaffected. Without an
 * identity, a tls+tcp:// socket cannot be opened (TWOPC_ECONFIG, logged).
 */
typedef struct rpc_tls rpc_tls;

/*
 * Read and check CA, CRT and KEY (PEM files) for node NAME: the key must
 * match the certificate, which must be signed by the CA, valid now and
 * issued to NAME (subject CN, or a DNS subjectAltName). Returns 0 and *OUT,
 * or TWOPC_ECONFIG with one line "PATH: problem" in ERR (no newline), or
 * TWOPC_ENOMEM. Never exits.
 */
int rpc_tls_load(const char *ca, const char *crt, const char *key, const char *name,
    rpc_tls **out, char *err, size_t errlen);
/* Dialing URL with T requires the server's certificate to be NAME's.
 * 0 or TWOPC_ENOMEM. */
int rpc_tls_bind(rpc_tls *t, const char *url, const char *name);
/* Make T (from rpc_tls_load; taken over) the process's identity for the
 * sockets opened from now on; the previous one is freed. NULL: none. */
void rpc_tls_use(rpc_tls *t);
/* Free an identity that was not handed to rpc_tls_use. NULL is fine. */
void rpc_tls_free(rpc_tls *t);
/* 1 if URL is a tls+tcp:// URL. */
int rpc_tls_url(const char *url);

/* NNG messages this process has handed to NNG to send (requests, BATCH
 * envelopes counted once, replies; NNG's own resends not counted). */
uint64_t rpc_messages_sent(void);

/* Map an nng error to a twopc_err. */
int rpc_err(int nng_rv);

#endif
