/*
 * serve.h - what the two daemons' request handlers answer the same way:
 * the liveness probe, a message type the node does not serve, a client
 * while the node is still recovering, and the counters of a STATUS_REQUEST
 * (which = 2, wire.h).
 *
 * Each answer fills REP with its strings in the caller's BUF of LEN bytes,
 * which must outlive the reply's encoding, and returns as an rpc_server
 * handler does: 1 to send REP, 0 to send nothing.
 */
#ifndef TWOPC_SERVE_H
#define TWOPC_SERVE_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "rpc.h"
#include "statlist.h"
#include "wire.h"

/* REQ is not one of the node's own types: an IAMALIVE is answered in
 * kind; anything else is logged and refused with TWOPC_EPROTO, the text
 * naming WHO ("the coordinator", "a participant") and the type. */
int serve_other(const wire_msg *req, wire_msg *rep, const char *who, char *buf, size_t len);

/* The node is recovering. A client hears TWOPC_ECLOSED with WHY (nothing
 * ran; it may try again); a peer's protocol message or probe hears
 * nothing: its sender resends and is answered from the recovered log,
 * where an error now would read as a refusal. */
int serve_starting(const wire_msg *req, wire_msg *rep, const char *why, char *buf, size_t len);

/* Count a refused message REQ (a stale or invalid epoch, a type the node
 * does not serve) and log it rate-limited (tlimit.h): "TXID: refused
 * TYPE from SENDER: WHY". */
void serve_note_refused(const wire_msg *req, const char *why);

/* Append the counters every node reports: forced_writes and log_commits
 * of D (takes its lock); requests, malformed (dropped undecodable) of SRV;
 * refused (serve_note_refused, process-wide, plus SRV's unauthenticated:
 * requests that failed authentication or were replays, also reported
 * alone as unauthenticated); connections_refused
 * (over RPC_MAX_PIPES) of SRV; messages_sent. */
void serve_counters(statlist *l, db *d, rpc_server *srv);

struct hbuf;
/* The same counters (serve_counters) and EXTRA, a list of further
 * name/value counters (its entries' epoch field; NULL: none), as
 * Prometheus metrics "twopc_..." with their HELP and TYPE lines
 * (httpd.h), then the histogram of D's fsyncs, for GET /metrics. Takes
 * D's lock briefly. */
void serve_metrics(struct hbuf *b, db *d, rpc_server *srv, const statlist *extra);

/* Make REP the one-entry STATUS_REPLY that answers a RESOLVE: TXID in
 * STATE at EPOCH, its detail DETAIL and, when not "", NOTE (its heuristic
 * record, heur_note). Returns 1, or 0 out of memory. */
int serve_resolved(wire_msg *rep, const char *txid, int state, uint64_t epoch, const char *detail,
    const char *note);

/*
 * A STATUS_REQUEST, the way both daemons answer it (wire.h, its state
 * field): 2, the counters (serve_counters, then COUNTERS(ARG, L, NULL,
 * now) adds the node's own, if not NULL); 1, every unfinished transaction
 * (LIST(ARG, L, NULL, now), at most CAP entries); else REQ's txid alone
 * (LIST(ARG, L, txid, now)). LIST runs with D's lock held; NOW is
 * db_now_ms() at the request. Returns as a handler does: 1 to send the
 * STATUS_REPLY in REP, 0 (out of memory) to send nothing.
 */
typedef void (*serve_status_fn)(void *arg, statlist *l, const char *only, int64_t now);
int serve_status(const wire_msg *req, wire_msg *rep, db *d, rpc_server *srv, size_t cap,
    serve_status_fn list, serve_status_fn counters, void *arg);

/* The age in ms of something stamped THEN (db_now_ms), at NOW; 0 if the
 * clock read earlier. */
uint64_t serve_age_ms(int64_t now, int64_t then);

#endif
