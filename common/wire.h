/*
 * wire.h - the twopc message codec (DESIGN section 2).
 *
 * Every message is one NNG message:
 *
 *   offset size  field
 *   0      4     magic and version: '2' 'P' 'C' WIRE_VERSION
 *   4      1     type (wire_type)
 *   5      1     flags (must be 0 except where a type defines one:
 *                 VOTE_REQUEST, DECISION_REQUEST: WIRE_FLAG_ONE_PHASE;
 *                 VOTE_ABORT: WIRE_FLAG_BUSY;
 *                 any type: WIRE_FLAG_AUTH, the trailer below)
 *   6      2     reserved, must be 0
 *   8      8     coordinator epoch, big-endian
 *   16     1+n   txid: length (0..WIRE_TXID_MAX) then printable ASCII bytes
 *   .      1+n   sender name: length (1..WIRE_NAME_MAX) then [A-Za-z0-9_.-]
 *   .      4     body length, big-endian
 *   .      n     body (layout per type, below)
 *   .      40    with WIRE_FLAG_AUTH only, the authentication trailer:
 *                 u64 stamp (the sender's, strictly increasing per
 *                 process: microseconds of the wall clock), 32-byte MAC
 *                 (rpcauth.h: over every byte before it, keyed with the
 *                 key of the pair sender-receiver)
 *
 * and nothing after that. The body length does not count the trailer.
 * The codec only carries the trailer (auth_stamp, auth_tag); rpcauth.c
 * makes and checks it. Decoding is strict: a message that does not
 * decode exactly (bad magic, unknown type, truncated, trailing bytes, a
 * length over its cap, a txid missing where the type needs one, a bad op
 * code or state) is rejected with an error code and never partly trusted.
 *
 * Bodies (str8 = u8 length + bytes, str16 = u16 length + bytes):
 *   SUBMIT         u32 timeout_ms, u16 nwork, nwork x {str8 participant, ops}
 *   VOTE_REQUEST   u16 npeers, npeers x str8 name, ops
 *   VOTE_ABORT     str16 reason          (VOTE_COMMIT, VOTE_READONLY: empty);
 *                  with WIRE_FLAG_BUSY the reason is the txid holding a key
 *                  (not a vote: see WIRE_FLAG_BUSY)
 *   GLOBAL_*       empty
 *   ACK            u8 state (the sender's state now: COMMIT or ABORT)
 *   DECISION_REQUEST empty
 *   DECISION_REPLY u8 state (COMMIT, ABORT, READY, UNDECIDED)
 *   RESULT         u8 state (COMMIT, ABORT, UNDECIDED), str16 reason
 *   STATUS_REQUEST u8 which (0 = the txid of the header, 1 = every unfinished,
 *                  2 = the node's counters: STATUS_REPLY entries whose txid is
 *                  the counter's name and epoch its value)
 *   STATUS_REPLY   u16 n, n x {str8 txid, u8 state, u64 epoch, u64 age_ms, str16 detail}
 *   FORGET         u16 n, n x str8 txid
 *   IAMALIVE       empty
 *   ERROR          u16 code (a positive twopc_err), str16 text
 *   GET            str16 key;  GET_REPLY u8 found, str16 value
 *   BATCH          u16 n (1..WIRE_BATCH_ITEMS), n x {u32 len, len bytes: one
 *                  complete message}. Several protocol messages to one peer
 *                  in one NNG message (a batch envelope; its txid is empty).
 *                  Every inner message is a whole message of its own (its
 *                  own header, txid and epoch) with the envelope's sender;
 *                  none is a BATCH or a client's request (wire_from_client)
 *                  other than SUBMIT, and a client's SUBMITs travel only
 *                  with other SUBMITs (the client's channel, rpc.h).
 *                  The reply to a BATCH is a BATCH of the replies, in the
 *                  same order, one each; a node that would not answer one
 *                  of them answers none (the sender's REQ resends the whole
 *                  envelope, and every handler is idempotent). Each inner
 *                  message is handled exactly as if it came alone.
 *                  Requests are at most WIRE_MAX_MSG bytes, envelope
 *                  included; a reply envelope at most WIRE_MAX_BATCH.
 *   RESOLVE        u8 outcome (COMMIT, ABORT, or NONE: forget the node's
 *                  heuristic record of the txid), u8 force (0 or 1; 1 only
 *                  with COMMIT or ABORT). Needs a txid. From a client (the
 *                  operator's `twopc resolve`) to the coordinator or a
 *                  participant; answered with a STATUS_REPLY of one entry
 *                  (the node's state after it) or an ERROR saying why not.
 *   ops = u16 nops, nops x {u8 op, str16 key, str16 value}
 *
 * Memory: wire_decode() returns a wire_msg whose strings and arrays live in
 * one arena owned by the message; wire_msg_free() releases it all. Strings
 * are NUL-terminated. wire_encode() writes into a caller-owned wire_buf.
 */
#ifndef TWOPC_WIRE_H
#define TWOPC_WIRE_H

#include <stddef.h>
#include <stdint.h>

/* 2: the BATCH envelope; 3: the authentication trailer (WIRE_FLAG_AUTH);
 * 4: a client's SUBMITs in a BATCH. A node refuses a message of another
 * version and logs the version the peer speaks (wire_last_error). */
#define WIRE_VERSION 4

/*
 * VOTE_REQUEST flag: one-phase commit. The transaction has this single
 * participant, so its vote is the decision: on a COMMIT vote it applies
 * the work and forces COMMIT in the same SQLite transaction that stages
 * it, and VOTE_COMMIT means "committed". On a DECISION_REQUEST (the
 * coordinator asking a one-phase participant whose vote it did not hear)
 * a COMMIT record of any epoch answers COMMIT: the txid committed there.
 */
#define WIRE_FLAG_ONE_PHASE 0x01
/*
 * VOTE_ABORT flag: busy, not a vote. A key of the request is locked by
 * the READY transaction whose txid is the reason; the participant kept
 * nothing of this request (no record, no staging), so the coordinator may
 * send the same VOTE_REQUEST again once that transaction is decided (R5:
 * it waits only where waiting cannot close a cycle), or count it as a NO
 * vote. A node that does not know the flag refuses the message.
 */
#define WIRE_FLAG_BUSY 0x02
/* Any type: the message ends with the authentication trailer (WIRE_AUTH_LEN
 * bytes after the body). Never on a message inside a BATCH: the envelope's
 * trailer covers its items. */
#define WIRE_FLAG_AUTH 0x80
#define WIRE_AUTH_LEN 40     /* u64 stamp + 32-byte MAC */
#define WIRE_MAC_LEN 32
#define WIRE_MAX_MSG 65536u  /* a message, header included, trailer not (rpcpriv.h: NNG's cap) */
#define WIRE_TXID_MAX 64
#define WIRE_NAME_MAX 32
#define WIRE_KEY_MAX 1024
#define WIRE_VALUE_MAX 4096
#define WIRE_TEXT_MAX 4096
#define WIRE_MAX_WORK 64     /* participants in one SUBMIT */
#define WIRE_MAX_OPS 1024    /* ops for one participant */
#define WIRE_MAX_LIST 4096   /* STATUS_REPLY entries, FORGET txids */
#define WIRE_BATCH_ITEMS 128 /* messages in one BATCH */
/* A BATCH reply: WIRE_BATCH_ITEMS replies of at most about 4.2 KB each
 * (a VOTE_ABORT with the longest reason). The NNG_OPT_RECVMAXSZ of the
 * sockets that send requests; a server's socket keeps WIRE_MAX_MSG. */
#define WIRE_MAX_BATCH (1u << 20)

typedef enum wire_type {
	WIRE_SUBMIT = 1,
	WIRE_RESULT = 2,
	WIRE_VOTE_REQUEST = 3,
	WIRE_VOTE_COMMIT = 4,
	WIRE_VOTE_ABORT = 5,
	WIRE_GLOBAL_COMMIT = 6,
	WIRE_GLOBAL_ABORT = 7,
	WIRE_ACK = 8,
	WIRE_DECISION_REQUEST = 9,
	WIRE_DECISION_REPLY = 10,
	WIRE_STATUS_REQUEST = 11,
	WIRE_STATUS_REPLY = 12,
	WIRE_FORGET = 13,
	WIRE_IAMALIVE = 14,
	WIRE_ERROR = 15,
	WIRE_GET = 16,
	WIRE_GET_REPLY = 17,
	WIRE_VOTE_READONLY = 18,
	WIRE_RESOLVE = 19,
	WIRE_BATCH = 20,
} wire_type;
#define WIRE_TYPE_MAX 20

typedef enum wire_opcode {
	WIRE_OP_PUT = 1,
	WIRE_OP_DEL = 2,
	WIRE_OP_CHECK = 3,
	WIRE_OP_ADD = 4,
} wire_opcode;

typedef struct wire_op {
	uint8_t op;     /* wire_opcode */
	char *key;
	char *value;    /* "" for del */
} wire_op;

typedef struct wire_work {
	char *participant;
	size_t nops;
	wire_op *ops;
} wire_work;

typedef struct wire_status {
	char *txid;
	uint8_t state;  /* tx_state */
	uint64_t epoch;
	uint64_t age_ms;
	char *detail;
} wire_status;

/* One message of a BATCH, encoded (a whole message, header included). */
typedef struct wire_item {
	const uint8_t *data;
	size_t len;
} wire_item;

typedef struct wire_msg {
	uint8_t type;
	uint8_t flags;
	uint64_t epoch;
	char txid[WIRE_TXID_MAX + 1];
	char sender[WIRE_NAME_MAX + 1];

	uint32_t timeout_ms;   /* SUBMIT */
	size_t nwork;          /* SUBMIT: one per participant */
	wire_work *work;
	size_t npeers;         /* VOTE_REQUEST */
	char **peers;
	size_t nops;           /* VOTE_REQUEST */
	wire_op *ops;
	uint8_t state;         /* ACK, DECISION_REPLY, RESULT, STATUS_REQUEST (which), GET_REPLY (found),
	                        * RESOLVE (outcome) */
	uint8_t force;         /* RESOLVE: 1 = heuristic (apply without the coordinator) */
	uint16_t code;         /* ERROR */
	char *text;            /* VOTE_ABORT, RESULT, ERROR reason; GET key; GET_REPLY value */
	size_t nstatus;        /* STATUS_REPLY */
	wire_status *status;
	size_t ntxids;         /* FORGET */
	char **txids;
	size_t nitems;         /* BATCH: encoded messages (decoded: in the arena) */
	wire_item *items;

	uint64_t auth_stamp;   /* WIRE_FLAG_AUTH: the trailer */
	uint8_t auth_tag[WIRE_MAC_LEN];

	void *arena;           /* owned by decoded messages only */

	/* Not on the wire: set by a handler on its reply. */
	const char *crash_after_send; /* crash point hit once the reply is sent */
	void *owned[2];        /* freed by the server after the reply is encoded */
} wire_msg;

/* A growable output buffer. */
typedef struct wire_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
	size_t limit;   /* the largest message it may hold; 0: WIRE_MAX_MSG */
} wire_buf;

/* Name of a message type ("VOTE_REQUEST"), "?" when unknown. */
const char *wire_type_name(int type);
/* 1 for the types a client sends (SUBMIT, STATUS_REQUEST, GET, RESOLVE),
 * 0 for the protocol's own messages between nodes. */
int wire_from_client(int type);
/* Whether a request of TYPE may wait for another to the same peer
 * (rpcchan.c, the linger). */
int wire_may_linger(int type);
/* "put", "del", "check", "add"; NULL when unknown. */
const char *wire_op_name(int op);
/* Parse "put" etc.; 0 when unknown. */
int wire_op_parse(const char *s);

/* 1 if S is a valid txid: 1..WIRE_TXID_MAX printable ASCII, no space. */
int wire_txid_valid(const char *s);
/* 1 if S is a valid node name: 1..WIRE_NAME_MAX of [A-Za-z0-9_.-]. */
int wire_name_valid(const char *s);

/* Initialise M as an empty message of TYPE (all counts 0, strings NULL). */
void wire_msg_init(wire_msg *m, int type, uint64_t epoch, const char *txid,
    const char *sender);

/*
 * Make REP an ERROR of CODE (a negative twopc_err) with TEXT, copied into the
 * caller's BUF of LEN bytes (cut to fit), which must outlive the encoding.
 * Returns 1: "answer it", as a daemon's handler returns.
 */
int wire_reply_error(wire_msg *rep, int code, const char *text, char *buf, size_t len);

/*
 * Encode M into B (B->len reset first; B->data grown with realloc and owned
 * by the caller, free with wire_buf_free). Returns 0, TWOPC_EINVAL for a
 * field that would not decode (bad name, txid, op), TWOPC_ETOOBIG when the
 * message would exceed B's limit or a field cap, TWOPC_ENOMEM. A BATCH
 * needs 1..WIRE_BATCH_ITEMS items, each at least a header long and not
 * itself a BATCH (the items are copied as they are).
 */
int wire_encode(const wire_msg *m, wire_buf *b);
void wire_buf_free(wire_buf *b);

/*
 * Decode LEN bytes at DATA into *OUT. Returns 0 and fills *OUT (release with
 * wire_msg_free), or a negative twopc_err (TWOPC_EPROTO for anything
 * malformed, TWOPC_ETOOBIG for LEN > WIRE_MAX_MSG (WIRE_MAX_BATCH for a
 * BATCH; WIRE_AUTH_LEN more with WIRE_FLAG_AUTH), TWOPC_ENOMEM); on error
 * *OUT is untouched. Never reads outside DATA[0..LEN).
 */
int wire_decode(const void *data, size_t len, wire_msg *out);

/* Release a decoded message; safe on an initialised, never-decoded one. */
void wire_msg_free(wire_msg *m);

/*
 * The messages of a decoded BATCH, one at a time: decodes item I of BATCH
 * into *OUT as wire_decode does, and also refuses an item whose sender is
 * not the envelope's, a BATCH, a client's request other than SUBMIT, or one
 * with a trailer. 0 or TWOPC_EPROTO /
 * TWOPC_ENOMEM (wire_last_error says why).
 */
int wire_batch_item(const wire_msg *batch, size_t i, wire_msg *out);

/* Why the last wire_decode on this thread failed ("truncated body", ...). */
const char *wire_last_error(void);

#endif
