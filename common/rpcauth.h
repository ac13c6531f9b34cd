/*
 * rpcauth.h - per-node identity on the wire: every message between the
 * nodes of a cluster with a tls section carries a MAC made with the key of
 * the pair (sender, receiver), so a message is attributed to the node its
 * header names, and replays are refused (twopc(7), SECURITY).
 *
 * Why a MAC and not the TLS peer's name: NNG 1.5.2 cannot tell a server
 * which certificate its client presented, so TLS proves "some node of the
 * cluster" only. Each node (and the 'client' role, shared by every client)
 * has an X25519 key pair beside its certificate, NAME.kx.sec (0600) and
 * NAME.kx.pub, both 64 hex digits. The key of a pair (a, b) is BLAKE2b of
 * X25519(a's secret, b's public) and both names in a fixed order: only a
 * and b can compute it. A node loads its own secret and every other
 * node's public key at start.
 *
 * The trailer (wire.h, WIRE_FLAG_AUTH) holds the sender's stamp and
 *   MAC = BLAKE2b-256 keyed with K(sender, receiver) over
 *         "twopc-mac-1", 'Q' (a request) or 'R' (a reply), the receiver's
 *         name, for a reply the MAC of the request it answers, and every
 *         byte of the message before the MAC.
 * So a message made for one receiver does not verify at another, a
 * request cannot pass as a reply, and a reply answers one request only.
 *
 * Replays (requests; a reply is bound to its request): a receiver admits a
 * request's (sender, stamp) once. A copy of one admitted in the last
 * RPC_AUTH_WINDOW_MS is dropped without a reply (NNG's REQ resends the
 * very same bytes while the first copy is handled: that copy's reply
 * answers it); one stamped earlier than the window, or earlier than this
 * process started, or more than RPC_AUTH_WINDOW_MS ahead of the clock, is
 * refused. A request the handler did not answer is released: its resend
 * is handled (rpc.h: a handler returning 0 waits for a resend).
 *
 * Threads: the identity is installed before any socket opens and read by
 * every thread after; the replay table has its own lock.
 */
#ifndef TWOPC_RPCAUTH_H
#define TWOPC_RPCAUTH_H

#include <stddef.h>
#include <stdint.h>

#include <nng/nng.h>

#include "wire.h"

#define RPC_AUTH_WINDOW_MS 60000
/* Remembered stamps per sender; beyond it the oldest go, and the sender's
 * stamps up to theirs are refused as replays (never admitted twice). */
#define RPC_AUTH_SEEN_MAX (1u << 20)

typedef struct rpc_auth rpc_auth;

/*
 * Load SELF's secret DIR/SELF.kx.sec and the public key DIR/NAME.kx.pub of
 * each of the N NAMES other than SELF, and derive the pair keys. A public
 * key of SELF, when present, must match its secret. Returns 0 and *OUT,
 * or TWOPC_ECONFIG with one line "PATH: problem" in ERR (no newline), or
 * TWOPC_ENOMEM. Never exits.
 */
int rpc_auth_load(const char *dir, const char *self, const char *const *names, size_t n,
    rpc_auth **out, char *err, size_t errlen);
/* Requests to (and a server on) URL are between this process and NAME,
 * which must be one of the loaded names. 0 or TWOPC_ENOMEM. */
int rpc_auth_bind(rpc_auth *a, const char *url, const char *name);
/* Make A (taken over) the process's identity for the sockets opened from
 * now on; the previous one is freed. NULL: none (nothing sealed). */
void rpc_auth_use(rpc_auth *a);
void rpc_auth_free(rpc_auth *a);

/* The node bound to URL in the identity in use, or NULL: messages on
 * sockets of URL are then neither sealed nor checked. */
const char *rpc_auth_peer(const char *url);

/*
 * Seal the LEN encoded bytes at MSG (no trailer yet) for node TO: append
 * them with WIRE_FLAG_AUTH, a fresh stamp and the MAC to OUT (BIND: the
 * MAC of the request a reply answers, NULL for a request). The MAC goes
 * to TAG. 0, TWOPC_ENOENT (TO has no key), TWOPC_EINVAL (MSG is not a
 * message without a trailer), or TWOPC_ENOMEM.
 */
int rpc_auth_seal(const char *to, const uint8_t *msg, size_t len, const uint8_t *bind,
    nng_msg *out, uint8_t tag[WIRE_MAC_LEN]);

/*
 * Check the LEN bytes at DATA, decoded as M, as sent to this process by
 * the node in M's sender field (for a reply, FROM must be that node and
 * BIND the MAC of the request). 0, or TWOPC_EPROTO with *WHY set (a static
 * string): no trailer, unknown sender, bad MAC.
 */
int rpc_auth_check(const uint8_t *data, size_t len, const wire_msg *m, const char *from,
    const uint8_t *bind, const char **why);

/* Admit request stamp STAMP of sender FROM (already checked): 0 admitted,
 * RPC_AUTH_COPY (a copy of one admitted: drop it, no reply), or
 * RPC_AUTH_STALE with *WHY (a replay or a clock off by more than the
 * window: refuse it). */
#define RPC_AUTH_COPY 1
#define RPC_AUTH_STALE 2
int rpc_auth_admit(const char *from, uint64_t stamp, const char **why);
/* Forget an admitted stamp whose request got no reply: its resend is
 * handled. */
void rpc_auth_release(const char *from, uint64_t stamp);

#endif
