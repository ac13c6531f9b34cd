/*
 * rpcsrvpriv.h - what the REP server (rpcsrv.c: start, stop, workers,
 * request handling) and its slots (rpcslot.c: receive, reply path) share;
 * not for other modules, which use rpc.h.
 *
 * A slot is always in exactly one place: in NNG, waiting for a request
 * or for its reply to leave (the aio owns it); on the work queue; with a
 * worker running the handler, or deferred (both counted in deferred; a
 * deferred slot belongs to the handler's owner until rpc_reply_deferred);
 * or held at the gate (counted in gated). A BATCH whose handlers answer
 * some of its messages later is one deferred slot until the last answer
 * (rpc_bpend, rpcsrv.c).
 */
#ifndef TWOPC_RPCSRVPRIV_H
#define TWOPC_RPCSRVPRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <nng/nng.h>

#include "rpc.h"
#include "rpcpriv.h"
#include "wire.h"

/* What an rpc_deferred points at: a slot (a request that came alone) or
 * one message of a BATCH. The first member of both. */
typedef struct rpc_dhead {
	int item;                     /* 1: an rpc_bitem (rpcsrv.c) */
} rpc_dhead;

/* One request in flight: a context of the REP socket and its aio. */
typedef struct rpc_slot {
	rpc_dhead d;
	struct rpc_server *s;
	nng_ctx ctx;
	nng_aio *aio;
	int sending;                  /* the aio's operation is the reply */
	nng_msg *msg;                 /* the request, then the reply */
	const char *crash_after_send; /* from the handler's reply ... */
	int crash_hits;               /* ... once per reply that carried it */
	int admitted;                 /* an authenticated request (rpcauth.h): */
	char peer[WIRE_NAME_MAX + 1]; /* its sender, */
	uint64_t stamp;               /* its stamp, */
	uint8_t bind[WIRE_MAC_LEN];   /* its MAC: the reply's is bound to it */
	int64_t t0;                   /* histo_now() when it was taken */
	int durable;                  /* the reply skips the gate (rpc_reply_durable) */
	struct histo *lat;            /* rpc_time_reply: observe there, */
	uint64_t lat_n;               /* this many times */
	struct histo **lats;          /* a BATCH's, one per message (NULL: none), */
	size_t nlats;                 /* this many (malloc'ed: rpc_slot_lats) */
	struct rpc_slot *next;        /* work queue */
} rpc_slot;

struct rpc_server {
	nng_socket sock;
	int nworkers;
	pthread_t *threads;
	rpc_slot *slots;
	int nslots;              /* contexts opened */
	rpc_server_opts o;
	char sender[WIRE_NAME_MAX + 1];
	atomic_uint_fast64_t malformed;
	atomic_uint_fast64_t requests;
	atomic_int pipes;                 /* connections (NNG pipes) open */
	int max_pipes;                    /* RPC_MAX_PIPES, or less (rpc.h) */
	atomic_uint_fast64_t pipes_refused;
	atomic_uint_fast64_t unauthenticated;
	int auth;                         /* requests must be sealed (rpcauth.h) */
	char url[256];

	pthread_mutex_t mtx;     /* the fields below */
	pthread_cond_t cv;       /* work queued, or stopping */
	pthread_cond_t gated_cv; /* a held reply left the gate */
	rpc_slot *head, *tail;   /* received, waiting for a worker */
	int stopping;
	int gated;               /* replies held at the gate */
	int deferred;            /* requests whose handler answers later */
};

/* Wait for SL's next request (the aio owns the slot). */
void rpc_slot_recv(rpc_slot *sl);
/* The slots' aio callback, on an NNG thread: never blocks. A received
 * request goes to the work queue; a sent reply re-arms the receive. */
void rpc_slot_cb(void *arg);
/* Send the encoded bytes in OUT as SL's reply, through the gate; POINT
 * (or NULL) is hit HITS times once it is sent. 0, or -1 when it could not
 * be put in the message (the caller drops the reply). */
int rpc_slot_send(rpc_server *s, rpc_slot *sl, const wire_buf *out, const char *point, int hits);
/* Stamp and encode REP into OUT, freeing what the handler gave it to own.
 * 0 or a twopc_err (logged). */
int rpc_encode_reply(rpc_server *s, wire_msg *rep, wire_buf *out);
/* Count and log (rate-limited) a message dropped because it did not
 * decode (WHY), LEN bytes long. */
void rpc_note_malformed(rpc_server *s, const char *why, size_t len);
/* Run the handler on REQ, which came alone on SL (freed unless the
 * handler keeps it), and give its reply now or later (rpchandle.c). */
void rpc_slot_run(rpc_server *s, rpc_slot *sl, wire_msg *req, wire_buf *out);
/* Handle each message of BATCH, which came on SL, and give their replies
 * as one BATCH once every one has its reply (rpchandle.c). */
void rpc_slot_batch(rpc_server *s, rpc_slot *sl, const wire_msg *batch);
/* Observe SL's latency histograms (rpc_time_reply), each once per
 * message it was named for, with the time since the request was taken
 * (SENT: the reply leaves), and forget them. */
void rpc_slot_lats(rpc_slot *sl, int sent);
/* Send nothing; the slot waits for its next request. */
void rpc_slot_drop(rpc_slot *sl);
/* Encode REP and send it through the gate; or, with REP NULL (or not
 * encodable), send nothing and re-arm the slot. */
void rpc_slot_finish(rpc_server *s, rpc_slot *sl, wire_msg *rep, wire_buf *out);

#endif
