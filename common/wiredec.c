/*
 * wiredec.c - the strict decoder of twopc messages (layout in wire.h).
 *
 * The decoder reads through a cursor that fails closed: every read checks
 * the remaining length first, and every variable-length field is checked
 * against its cap before any memory is reserved for it. Decoded strings and
 * arrays come from one arena sized from the message length, so a hostile
 * message can make us reserve at most a fixed multiple of its own size.
 */
#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "twopc/error.h"
#include "txstate.h"
#include "wirepriv.h"

typedef struct wire_cur {
	const uint8_t *p;
	size_t left;
	uint8_t *arena;
	size_t arena_used;
	size_t arena_cap;
	int bad;
} wire_cur;

#define WIRE_FAIL(c, why) do { if (!(c)->bad) wire_err = (why); (c)->bad = 1; } while (0)

static void *
wc_alloc(wire_cur *c, size_t n)
{
	size_t at = (c->arena_used + 7) & ~(size_t)7;
	if (c->bad || n > c->arena_cap || at > c->arena_cap - n) {
		WIRE_FAIL(c, "message expands beyond its arena");
		return NULL;
	}
	c->arena_used = at + n;
	return c->arena + at;
}

static const uint8_t *
wc_take(wire_cur *c, size_t n, const char *what)
{
	if (c->bad)
		return NULL;
	if (n > c->left) {
		WIRE_FAIL(c, what);
		return NULL;
	}
	const uint8_t *p = c->p;
	c->p += n;
	c->left -= n;
	return p;
}

static uint8_t
wc_u8(wire_cur *c, const char *what)
{
	const uint8_t *p = wc_take(c, 1, what);
	return p ? p[0] : 0;
}

static uint16_t
wc_u16(wire_cur *c, const char *what)
{
	const uint8_t *p = wc_take(c, 2, what);
	return p ? (uint16_t)((p[0] << 8) | p[1]) : 0;
}

static uint32_t
wc_u32(wire_cur *c, const char *what)
{
	const uint8_t *p = wc_take(c, 4, what);
	return p ? ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	    ((uint32_t)p[2] << 8) | p[3] : 0;
}

static uint64_t
wc_u64(wire_cur *c, const char *what)
{
	uint64_t hi = wc_u32(c, what);
	return (hi << 32) | wc_u32(c, what);
}

/* A string of length prefix WIDE (1 or 2 bytes), at most MAX bytes, copied
 * NUL-terminated into the arena. Rejects embedded NUL bytes. */
static char *
wc_str(wire_cur *c, int wide, size_t max, const char *what)
{
	size_t n = wide ? wc_u16(c, what) : wc_u8(c, what);
	if (c->bad)
		return NULL;
	if (n > max) {
		WIRE_FAIL(c, "string longer than its cap");
		return NULL;
	}
	const uint8_t *p = wc_take(c, n, what);
	if (p == NULL)
		return NULL;
	if (memchr(p, '\0', n) != NULL) {
		WIRE_FAIL(c, "string holds a NUL byte");
		return NULL;
	}
	char *s = wc_alloc(c, n + 1);
	if (s == NULL)
		return NULL;
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

static wire_op *
wc_ops(wire_cur *c, size_t *nops)
{
	size_t n = wc_u16(c, "truncated op count");
	if (c->bad)
		return NULL;
	if (n > WIRE_MAX_OPS) {
		WIRE_FAIL(c, "too many ops");
		return NULL;
	}
	wire_op *ops = n ? wc_alloc(c, n * sizeof(*ops)) : NULL;
	for (size_t i = 0; i < n && !c->bad; i++) {
		ops[i].op = wc_u8(c, "truncated op");
		if (!c->bad && wire_op_name(ops[i].op) == NULL)
			WIRE_FAIL(c, "unknown op code");
		ops[i].key = wc_str(c, 1, WIRE_KEY_MAX, "truncated key");
		if (!c->bad && ops[i].key[0] == '\0')
			WIRE_FAIL(c, "empty key");
		ops[i].value = wc_str(c, 1, WIRE_VALUE_MAX, "truncated value");
	}
	*nops = n;
	return ops;
}

/* What a failing name list says, at each step. */
typedef struct wc_list_why {
	const char *count;      /* count truncated */
	const char *too_many;
	const char *item;       /* a name truncated */
	const char *bad;        /* a name fails VALID */
} wc_list_why;

/* The inverse of wb_names(): *N names, or NULL for none. */
static char **
wc_names(wire_cur *c, size_t *n, size_t maxn, size_t cap, int (*valid)(const char *),
    const wc_list_why *why)
{
	*n = wc_u16(c, why->count);
	if (!c->bad && *n > maxn) {
		WIRE_FAIL(c, why->too_many);
		return NULL;
	}
	char **names = *n ? wc_alloc(c, *n * sizeof(char *)) : NULL;
	for (size_t i = 0; i < *n && !c->bad; i++) {
		names[i] = wc_str(c, 0, cap, why->item);
		if (!c->bad && !valid(names[i]))
			WIRE_FAIL(c, why->bad);
	}
	return names;
}

/* BATCH: the items, copied into the arena (each decoded later, alone, by
 * wire_batch_item). */
static void
wc_batch(wire_cur *c, wire_msg *m)
{
	size_t n = wc_u16(c, "truncated BATCH count");
	if (!c->bad && (n < 1 || n > WIRE_BATCH_ITEMS))
		WIRE_FAIL(c, n ? "too many messages in a BATCH" : "empty BATCH");
	wire_item *items = c->bad ? NULL : wc_alloc(c, n * sizeof(*items));
	int submits = -1; /* whether the items are a client's SUBMITs */
	for (size_t i = 0; i < n && !c->bad; i++) {
		size_t len = wc_u32(c, "truncated BATCH item length");
		const uint8_t *p = wc_take(c, len, "truncated BATCH item");
		if (!c->bad && (len < 8 || p[4] == WIRE_BATCH))
			WIRE_FAIL(c, len < 8 ? "BATCH item shorter than a header" : "BATCH inside a BATCH");
		if (!c->bad && submits >= 0 && submits != (p[4] == WIRE_SUBMIT))
			WIRE_FAIL(c, "a BATCH mixing SUBMITs with other messages");
		if (!c->bad)
			submits = p[4] == WIRE_SUBMIT;
		uint8_t *copy = wc_alloc(c, len);
		if (copy != NULL) {
			memcpy(copy, p, len);
			items[i] = (wire_item){ copy, len };
		}
	}
	m->nitems = n;
	m->items = items;
}

static void
wc_submit(wire_cur *c, wire_msg *m)
{
	m->timeout_ms = wc_u32(c, "truncated SUBMIT");
	m->nwork = wc_u16(c, "truncated SUBMIT");
	if (!c->bad && (m->nwork < 1 || m->nwork > WIRE_MAX_WORK)) {
		WIRE_FAIL(c, "SUBMIT participant count out of range");
		return;
	}
	m->work = wc_alloc(c, m->nwork * sizeof(*m->work));
	for (size_t i = 0; i < m->nwork && !c->bad; i++) {
		m->work[i].participant = wc_str(c, 0, WIRE_NAME_MAX, "truncated participant");
		if (!c->bad && !wire_name_valid(m->work[i].participant))
			WIRE_FAIL(c, "bad participant name");
		m->work[i].ops = wc_ops(c, &m->work[i].nops);
		if (!c->bad && m->work[i].nops == 0)
			WIRE_FAIL(c, "participant with no ops");
	}
}

static void
wc_status_list(wire_cur *c, wire_msg *m)
{
	m->nstatus = wc_u16(c, "truncated STATUS_REPLY");
	if (!c->bad && m->nstatus > WIRE_MAX_LIST) {
		WIRE_FAIL(c, "too many status entries");
		return;
	}
	m->status = m->nstatus ? wc_alloc(c, m->nstatus * sizeof(*m->status)) : NULL;
	for (size_t i = 0; i < m->nstatus && !c->bad; i++) {
		wire_status *s = &m->status[i];
		s->txid = wc_str(c, 0, WIRE_TXID_MAX, "truncated status txid");
		if (!c->bad && !wire_txid_valid(s->txid))
			WIRE_FAIL(c, "bad status txid");
		s->state = wc_u8(c, "truncated status");
		if (!c->bad && s->state > TX_STATE_MAX)
			WIRE_FAIL(c, "bad status state");
		s->epoch = wc_u64(c, "truncated status");
		s->age_ms = wc_u64(c, "truncated status");
		s->detail = wc_str(c, 1, WIRE_TEXT_MAX, "truncated status detail");
	}
}

/* The one-byte state of M's type (see wire_body_state_valid). */
static void
wc_state(wire_cur *c, wire_msg *m, const char *truncated, const char *bad)
{
	m->state = wc_u8(c, truncated);
	if (!c->bad && !wire_body_state_valid(m))
		WIRE_FAIL(c, bad);
}

static void
wc_body(wire_cur *c, wire_msg *m)
{
	static const wc_list_why peers = { "truncated peer count", "too many peers",
		"truncated peer", "bad peer name" };
	static const wc_list_why forget = { "truncated FORGET", "too many txids",
		"truncated txid", "bad txid in FORGET" };

	switch ((wire_type)m->type) {
	case WIRE_SUBMIT:
		wc_submit(c, m);
		return;
	case WIRE_VOTE_REQUEST:
		m->peers = wc_names(c, &m->npeers, WIRE_MAX_WORK, WIRE_NAME_MAX, wire_name_valid,
		    &peers);
		if (!c->bad)
			m->ops = wc_ops(c, &m->nops);
		return;
	case WIRE_VOTE_ABORT:
		m->text = wc_str(c, 1, WIRE_TEXT_MAX, "truncated reason");
		return;
	case WIRE_RESULT:
		wc_state(c, m, "truncated RESULT", "bad RESULT state");
		m->text = wc_str(c, 1, WIRE_TEXT_MAX, "truncated reason");
		return;
	case WIRE_ACK:
		wc_state(c, m, "truncated ACK", "bad ACK state");
		return;
	case WIRE_DECISION_REPLY:
		wc_state(c, m, "truncated DECISION_REPLY", "bad DECISION_REPLY state");
		return;
	case WIRE_STATUS_REQUEST:
		wc_state(c, m, "truncated STATUS_REQUEST", "bad STATUS_REQUEST selector");
		if (!c->bad && m->state == 0 && m->txid[0] == '\0')
			WIRE_FAIL(c, "STATUS_REQUEST for one txn without a txid");
		return;
	case WIRE_STATUS_REPLY:
		wc_status_list(c, m);
		return;
	case WIRE_FORGET:
		m->txids = wc_names(c, &m->ntxids, WIRE_MAX_LIST, WIRE_TXID_MAX, wire_txid_valid,
		    &forget);
		return;
	case WIRE_ERROR:
		m->code = wc_u16(c, "truncated ERROR");
		m->text = wc_str(c, 1, WIRE_TEXT_MAX, "truncated ERROR text");
		return;
	case WIRE_GET:
		m->text = wc_str(c, 1, WIRE_KEY_MAX, "truncated key");
		if (!c->bad && m->text[0] == '\0')
			WIRE_FAIL(c, "empty key");
		return;
	case WIRE_GET_REPLY:
		wc_state(c, m, "truncated GET_REPLY", "bad GET_REPLY flag");
		m->text = wc_str(c, 1, WIRE_VALUE_MAX, "truncated value");
		return;
	case WIRE_RESOLVE:
		m->state = wc_u8(c, "truncated RESOLVE");
		m->force = wc_u8(c, "truncated RESOLVE");
		if (!c->bad && !wire_resolve_valid(m->state, m->force))
			WIRE_FAIL(c, "bad RESOLVE outcome or force flag");
		return;
	case WIRE_BATCH:
		wc_batch(c, m);
		return;
	case WIRE_VOTE_COMMIT:
	case WIRE_VOTE_READONLY:
	case WIRE_GLOBAL_COMMIT:
	case WIRE_GLOBAL_ABORT:
	case WIRE_DECISION_REQUEST:
	case WIRE_IAMALIVE:
		return;
	}
	WIRE_FAIL(c, "unknown message type");
}

/* "peer speaks wire version 1; this node speaks 2" (thread-local). */
static const char *
wire_version_why(int v)
{
	static _Thread_local char why[128];
	snprintf(why, sizeof(why), "unsupported protocol version: the peer speaks wire version %d; "
	    "this node speaks %d", v, WIRE_VERSION);
	return why;
}

/* The envelope before the body: magic, version, type, flags, reserved
 * bytes, epoch, txid and sender (DESIGN section 4); fails C on the first
 * field that is wrong. */
static void
wc_header(wire_cur *c, wire_msg *m)
{
	const uint8_t *h = wc_take(c, 8, "truncated header");
	if (h != NULL) {
		if (h[0] != '2' || h[1] != 'P' || h[2] != 'C')
			WIRE_FAIL(c, "bad magic");
		else if (h[3] != WIRE_VERSION)
			WIRE_FAIL(c, wire_version_why(h[3]));
		else if (h[4] < 1 || h[4] > WIRE_TYPE_MAX)
			WIRE_FAIL(c, "unknown message type");
		else if ((h[5] & ~(wire_flags_allowed(h[4]) | WIRE_FLAG_AUTH)) != 0 || h[6] != 0 ||
		    h[7] != 0)
			WIRE_FAIL(c, "unknown flags or non-zero reserved bytes");
		else {
			m->type = h[4];
			m->flags = h[5];
		}
	}
	m->epoch = wc_u64(c, "truncated epoch");
	size_t tl = wc_u8(c, "truncated txid");
	const uint8_t *tp = wc_take(c, tl, "truncated txid");
	if (!c->bad) {
		if (tl > 0 && !wire_txid_bytes_valid(tp, tl))
			WIRE_FAIL(c, "bad txid");
		else if (tl == 0 && wire_needs_txid(m->type))
			WIRE_FAIL(c, "missing txid");
		else
			memcpy(m->txid, tp, tl);
	}
	size_t sl = wc_u8(c, "truncated sender");
	const uint8_t *sp = wc_take(c, sl, "truncated sender");
	if (!c->bad) {
		if (!wire_name_bytes_valid(sp, sl))
			WIRE_FAIL(c, "bad sender name");
		else
			memcpy(m->sender, sp, sl);
	}
}

int
wire_decode(const void *data, size_t len, wire_msg *out)
{
	wire_msg m;
	wire_cur c;

	const uint8_t *raw = data;
	size_t trailer = len > 5 && (raw[5] & WIRE_FLAG_AUTH) ? WIRE_AUTH_LEN : 0;
	if (len > WIRE_MAX_BATCH + trailer ||
	    (len > WIRE_MAX_MSG + trailer && raw[4] != WIRE_BATCH)) {
		wire_err = "message larger than WIRE_MAX_MSG";
		return TWOPC_ETOOBIG;
	}
	memset(&m, 0, sizeof(m));
	memset(&c, 0, sizeof(c));
	c.p = data;
	c.left = len;
	/* Bound: each wire byte becomes at most ~8 bytes of structs + NULs. */
	c.arena_cap = len * 8 + 64;
	c.arena = malloc(c.arena_cap);
	if (c.arena == NULL)
		return TWOPC_ENOMEM;

	wc_header(&c, &m);
	uint32_t blen = wc_u32(&c, "truncated body length");
	size_t tlen = (m.flags & WIRE_FLAG_AUTH) ? WIRE_AUTH_LEN : 0;
	if (!c.bad && (c.left < tlen || blen != c.left - tlen))
		WIRE_FAIL(&c, c.left < tlen || blen > c.left - tlen ? "truncated body" :
		    "bytes after the body");
	if (!c.bad) {
		c.left -= tlen;   /* the body alone, then the trailer */
		wc_body(&c, &m);
	}
	if (!c.bad && c.left != 0)
		WIRE_FAIL(&c, "body longer than its fields");
	if (!c.bad && tlen > 0) {
		c.left = tlen;
		m.auth_stamp = wc_u64(&c, "truncated trailer");
		const uint8_t *tag = wc_take(&c, WIRE_MAC_LEN, "truncated trailer");
		if (tag != NULL)
			memcpy(m.auth_tag, tag, WIRE_MAC_LEN);
	}
	if (c.bad) {
		free(c.arena);
		return TWOPC_EPROTO;
	}
	m.arena = c.arena;
	*out = m;
	return 0;
}

int
wire_batch_item(const wire_msg *batch, size_t i, wire_msg *out)
{
	wire_msg m;
	const wire_item *it = &batch->items[i];
	int rv = wire_decode(it->data, it->len, &m);
	if (rv != 0)
		return rv;
	if (strcmp(m.sender, batch->sender) != 0)
		wire_err = "BATCH item from another sender than its envelope";
	else if (m.type == WIRE_BATCH || (wire_from_client(m.type) && m.type != WIRE_SUBMIT))
		wire_err = "a client's request other than SUBMIT inside a BATCH";
	else if (m.flags & WIRE_FLAG_AUTH)
		wire_err = "an authentication trailer inside a BATCH";
	else {
		*out = m;
		return 0;
	}
	wire_msg_free(&m);
	return TWOPC_EPROTO;
}

void
wire_msg_free(wire_msg *m)
{
	if (m == NULL)
		return;
	free(m->arena);
	m->arena = NULL;
}
