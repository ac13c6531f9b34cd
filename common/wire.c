/*
 * wire.c - the encoder of twopc messages (layout in wire.h), and the
 * checks the encoder and the decoder (wiredec.c) share: names, txids,
 * states and flags a message may carry.
 */
#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "twopc/error.h"
#include "txstate.h"
#include "wirepriv.h"

_Thread_local const char *wire_err = "no error";

const char *
wire_last_error(void)
{
	return wire_err;
}

static const char *const wire_type_names[] = {
	"?", "SUBMIT", "RESULT", "VOTE_REQUEST", "VOTE_COMMIT", "VOTE_ABORT",
	"GLOBAL_COMMIT", "GLOBAL_ABORT", "ACK", "DECISION_REQUEST",
	"DECISION_REPLY", "STATUS_REQUEST", "STATUS_REPLY", "FORGET", "IAMALIVE",
	"ERROR", "GET", "GET_REPLY", "VOTE_READONLY", "RESOLVE", "BATCH",
};

const char *
wire_type_name(int type)
{
	if (type < 1 || type > WIRE_TYPE_MAX)
		return "?";
	return wire_type_names[type];
}

int
wire_may_linger(int type)
{
	return type == WIRE_GLOBAL_COMMIT || type == WIRE_GLOBAL_ABORT;
}

int
wire_from_client(int type)
{
	return type == WIRE_SUBMIT || type == WIRE_STATUS_REQUEST || type == WIRE_GET ||
	    type == WIRE_RESOLVE;
}

static const char *const wire_op_names[] = { NULL, "put", "del", "check", "add" };

const char *
wire_op_name(int op)
{
	if (op < WIRE_OP_PUT || op > WIRE_OP_ADD)
		return NULL;
	return wire_op_names[op];
}

int
wire_op_parse(const char *s)
{
	for (int i = WIRE_OP_PUT; s != NULL && i <= WIRE_OP_ADD; i++)
		if (strcmp(s, wire_op_names[i]) == 0)
			return i;
	return 0;
}

int
wire_txid_bytes_valid(const uint8_t *p, size_t n)
{
	if (n < 1 || n > WIRE_TXID_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x21 || p[i] > 0x7e)
			return 0;
	return 1;
}

int
wire_name_bytes_valid(const uint8_t *p, size_t n)
{
	if (n < 1 || n > WIRE_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
			return 0;
	}
	return 1;
}

int
wire_txid_valid(const char *s)
{
	return s != NULL && wire_txid_bytes_valid((const uint8_t *)s, strlen(s));
}

int
wire_name_valid(const char *s)
{
	return s != NULL && wire_name_bytes_valid((const uint8_t *)s, strlen(s));
}

void
wire_msg_init(wire_msg *m, int type, uint64_t epoch, const char *txid,
    const char *sender)
{
	memset(m, 0, sizeof(*m));
	m->type = (uint8_t)type;
	m->epoch = epoch;
	if (txid != NULL) {
		size_t n = strlen(txid);
		memcpy(m->txid, txid, n > WIRE_TXID_MAX ? WIRE_TXID_MAX : n);
		if (n > WIRE_TXID_MAX)
			m->flags = 0xff; /* a truncated txid must not be sent: encode refuses */
	}
	if (sender != NULL) {
		size_t n = strlen(sender);
		memcpy(m->sender, sender, n > WIRE_NAME_MAX ? WIRE_NAME_MAX : n);
		if (n > WIRE_NAME_MAX)
			m->flags = 0xff;
	}
}

int
wire_reply_error(wire_msg *rep, int code, const char *text, char *buf, size_t len)
{
	rep->type = WIRE_ERROR;
	rep->code = (uint16_t)(-code);
	snprintf(buf, len, "%s", text);
	rep->text = buf;
	return 1;
}

/* ---- encoding ---- */

void
wire_buf_free(wire_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

static int
wb_reserve(wire_buf *b, size_t n)
{
	if (b->len + n > (b->limit ? b->limit : WIRE_MAX_MSG))
		return TWOPC_ETOOBIG;
	if (b->len + n <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + n)
		cap *= 2;
	uint8_t *d = realloc(b->data, cap);
	if (d == NULL)
		return TWOPC_ENOMEM;
	b->data = d;
	b->cap = cap;
	return 0;
}

static int
wb_put(wire_buf *b, const void *p, size_t n)
{
	int rv = wb_reserve(b, n);
	if (rv == 0 && n > 0) {
		memcpy(b->data + b->len, p, n);
		b->len += n;
	}
	return rv;
}

static int
wb_u8(wire_buf *b, uint8_t v)
{
	return wb_put(b, &v, 1);
}

static int
wb_u16(wire_buf *b, uint16_t v)
{
	uint8_t x[2] = { (uint8_t)(v >> 8), (uint8_t)v };
	return wb_put(b, x, 2);
}

static int
wb_u32(wire_buf *b, uint32_t v)
{
	uint8_t x[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
	return wb_put(b, x, 4);
}

static int
wb_u64(wire_buf *b, uint64_t v)
{
	int rv = wb_u32(b, (uint32_t)(v >> 32));
	return rv ? rv : wb_u32(b, (uint32_t)v);
}

static int
wb_str8(wire_buf *b, const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;
	if (n > max || n > 255)
		return TWOPC_ETOOBIG;
	int rv = wb_u8(b, (uint8_t)n);
	return rv ? rv : wb_put(b, s, n);
}

static int
wb_str16(wire_buf *b, const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;
	if (n > max)
		return TWOPC_ETOOBIG;
	int rv = wb_u16(b, (uint16_t)n);
	return rv ? rv : wb_put(b, s, n);
}

static int
wb_ops(wire_buf *b, const wire_op *ops, size_t nops)
{
	if (nops > WIRE_MAX_OPS)
		return TWOPC_ETOOBIG;
	int rv = wb_u16(b, (uint16_t)nops);
	for (size_t i = 0; rv == 0 && i < nops; i++) {
		if (wire_op_name(ops[i].op) == NULL || ops[i].key == NULL || ops[i].key[0] == '\0')
			return TWOPC_EINVAL;
		if ((rv = wb_u8(b, ops[i].op)) != 0 ||
		    (rv = wb_str16(b, ops[i].key, WIRE_KEY_MAX)) != 0)
			break;
		rv = wb_str16(b, ops[i].value, WIRE_VALUE_MAX);
	}
	return rv;
}

/* RESOLVE: COMMIT or ABORT, forced or not; NONE (forget) never forced. */
int
wire_resolve_valid(uint8_t outcome, uint8_t force)
{
	if (force > 1)
		return 0;
	return outcome == TX_COMMIT || outcome == TX_ABORT || (outcome == TX_NONE && !force);
}

/* Is M's one-byte state one that its type may carry? (The types without
 * a state are never asked.) */
int
wire_body_state_valid(const wire_msg *m)
{
	uint8_t st = m->state;

	switch (m->type) {
	case WIRE_RESULT:
		return st == TX_COMMIT || st == TX_ABORT || st == TX_UNDECIDED;
	case WIRE_ACK:
		return st == TX_COMMIT || st == TX_ABORT;
	case WIRE_DECISION_REPLY:
		return st == TX_COMMIT || st == TX_ABORT || st == TX_READY || st == TX_UNDECIDED;
	case WIRE_STATUS_REQUEST:
		return st <= 2;         /* one txn, in doubt, all unfinished */
	case WIRE_GET_REPLY:
		return st <= 1;         /* found or not */
	}
	return 0;
}

/* A u16 count, then N names of at most CAP bytes each, every one passing
 * VALID (participant names or txids); at most MAXN of them. */
static int
wb_names(wire_buf *b, char *const *names, size_t n, size_t maxn, size_t cap,
    int (*valid)(const char *))
{
	int rv;

	if (n > maxn)
		return TWOPC_ETOOBIG;
	if ((rv = wb_u16(b, (uint16_t)n)))
		return rv;
	for (size_t i = 0; i < n; i++) {
		if (!valid(names[i]))
			return TWOPC_EINVAL;
		if ((rv = wb_str8(b, names[i], cap)))
			return rv;
	}
	return 0;
}

static int
wb_submit(const wire_msg *m, wire_buf *b)
{
	int rv;

	if (m->nwork < 1 || m->nwork > WIRE_MAX_WORK)
		return m->nwork ? TWOPC_ETOOBIG : TWOPC_EINVAL;
	if ((rv = wb_u32(b, m->timeout_ms)) || (rv = wb_u16(b, (uint16_t)m->nwork)))
		return rv;
	for (size_t i = 0; i < m->nwork; i++) {
		if (!wire_name_valid(m->work[i].participant) || m->work[i].nops < 1)
			return TWOPC_EINVAL;
		if ((rv = wb_str8(b, m->work[i].participant, WIRE_NAME_MAX)) ||
		    (rv = wb_ops(b, m->work[i].ops, m->work[i].nops)))
			return rv;
	}
	return 0;
}

/* BATCH: the items as they are, each at least a header long and not a
 * BATCH itself. */
static int
wb_batch(const wire_msg *m, wire_buf *b)
{
	int rv;
	if (m->nitems < 1 || m->nitems > WIRE_BATCH_ITEMS)
		return TWOPC_EINVAL;
	if ((rv = wb_u16(b, (uint16_t)m->nitems)))
		return rv;
	for (size_t i = 0; i < m->nitems; i++) {
		const wire_item *it = &m->items[i];
		if (it->len < 8 || it->data[4] == WIRE_BATCH)
			return TWOPC_EINVAL;
		if ((rv = wb_u32(b, (uint32_t)it->len)) || (rv = wb_put(b, it->data, it->len)))
			return rv;
	}
	return 0;
}

static int
wb_status_list(const wire_msg *m, wire_buf *b)
{
	int rv;

	if (m->nstatus > WIRE_MAX_LIST)
		return TWOPC_ETOOBIG;
	if ((rv = wb_u16(b, (uint16_t)m->nstatus)))
		return rv;
	for (size_t i = 0; i < m->nstatus; i++) {
		const wire_status *s = &m->status[i];
		if (!wire_txid_valid(s->txid) || s->state > TX_STATE_MAX)
			return TWOPC_EINVAL;
		if ((rv = wb_str8(b, s->txid, WIRE_TXID_MAX)) || (rv = wb_u8(b, s->state)) ||
		    (rv = wb_u64(b, s->epoch)) || (rv = wb_u64(b, s->age_ms)) ||
		    (rv = wb_str16(b, s->detail, WIRE_TEXT_MAX)))
			return rv;
	}
	return 0;
}

/* The one-byte STATE, valid for M's type, then (TEXT_CAP > 0) the text. */
static int
wb_state_text(const wire_msg *m, wire_buf *b, size_t text_cap)
{
	int rv;

	if (!wire_body_state_valid(m))
		return TWOPC_EINVAL;
	if ((rv = wb_u8(b, m->state)) || text_cap == 0)
		return rv;
	return wb_str16(b, m->text, text_cap);
}

static int
wire_encode_body(const wire_msg *m, wire_buf *b)
{
	int rv;

	switch ((wire_type)m->type) {
	case WIRE_SUBMIT:
		return wb_submit(m, b);
	case WIRE_VOTE_REQUEST:
		if ((rv = wb_names(b, m->peers, m->npeers, WIRE_MAX_WORK, WIRE_NAME_MAX,
		    wire_name_valid)))
			return rv;
		return wb_ops(b, m->ops, m->nops);
	case WIRE_VOTE_ABORT:
		return wb_str16(b, m->text, WIRE_TEXT_MAX);
	case WIRE_RESULT:
		return wb_state_text(m, b, WIRE_TEXT_MAX);
	case WIRE_ACK:
	case WIRE_DECISION_REPLY:
		return wb_state_text(m, b, 0);
	case WIRE_STATUS_REQUEST:
		if (m->state == 0 && m->txid[0] == '\0')
			return TWOPC_EINVAL;
		return wb_state_text(m, b, 0);
	case WIRE_STATUS_REPLY:
		return wb_status_list(m, b);
	case WIRE_FORGET:
		return wb_names(b, m->txids, m->ntxids, WIRE_MAX_LIST, WIRE_TXID_MAX, wire_txid_valid);
	case WIRE_ERROR:
		if ((rv = wb_u16(b, m->code)))
			return rv;
		return wb_str16(b, m->text, WIRE_TEXT_MAX);
	case WIRE_GET:
		if (m->text == NULL || m->text[0] == '\0')
			return TWOPC_EINVAL;
		return wb_str16(b, m->text, WIRE_KEY_MAX);
	case WIRE_GET_REPLY:
		return wb_state_text(m, b, WIRE_VALUE_MAX);
	case WIRE_RESOLVE:
		if (!wire_resolve_valid(m->state, m->force))
			return TWOPC_EINVAL;
		if ((rv = wb_u8(b, m->state)))
			return rv;
		return wb_u8(b, m->force);
	case WIRE_BATCH:
		return wb_batch(m, b);
	case WIRE_VOTE_COMMIT:
	case WIRE_VOTE_READONLY:
	case WIRE_GLOBAL_COMMIT:
	case WIRE_GLOBAL_ABORT:
	case WIRE_DECISION_REQUEST:
	case WIRE_IAMALIVE:
		return 0;
	}
	return TWOPC_EINVAL;
}

/* Types whose header must carry a txid. */
int
wire_needs_txid(int type)
{
	switch (type) {
	case WIRE_VOTE_REQUEST: case WIRE_VOTE_COMMIT: case WIRE_VOTE_ABORT:
	case WIRE_VOTE_READONLY: case WIRE_GLOBAL_COMMIT: case WIRE_GLOBAL_ABORT:
	case WIRE_ACK: case WIRE_DECISION_REQUEST: case WIRE_DECISION_REPLY:
	case WIRE_RESULT: case WIRE_RESOLVE:
		return 1;
	default:
		return 0;
	}
}

/* The flags a type defines (wire.h). */
uint8_t
wire_flags_allowed(int type)
{
	if (type == WIRE_VOTE_ABORT)
		return WIRE_FLAG_BUSY;
	return type == WIRE_VOTE_REQUEST || type == WIRE_DECISION_REQUEST ? WIRE_FLAG_ONE_PHASE : 0;
}

int
wire_encode(const wire_msg *m, wire_buf *b)
{
	int rv;
	size_t txlen = strlen(m->txid);

	b->len = 0;
	if (m->type < 1 || m->type > WIRE_TYPE_MAX ||
	    (m->flags & ~(wire_flags_allowed(m->type) | WIRE_FLAG_AUTH)) != 0)
		return TWOPC_EINVAL;
	if ((txlen > 0 || wire_needs_txid(m->type)) && !wire_txid_valid(m->txid))
		return TWOPC_EINVAL;
	if (!wire_name_valid(m->sender))
		return TWOPC_EINVAL;
	uint8_t hdr[8] = { '2', 'P', 'C', WIRE_VERSION, m->type, m->flags, 0, 0 };
	if ((rv = wb_put(b, hdr, sizeof(hdr))) || (rv = wb_u64(b, m->epoch)) ||
	    (rv = wb_str8(b, m->txid, WIRE_TXID_MAX)) ||
	    (rv = wb_str8(b, m->sender, WIRE_NAME_MAX)) || (rv = wb_u32(b, 0)))
		return rv;
	size_t body_at = b->len;
	if ((rv = wire_encode_body(m, b)) != 0)
		return rv;
	uint32_t blen = (uint32_t)(b->len - body_at);
	b->data[body_at - 4] = (uint8_t)(blen >> 24);
	b->data[body_at - 3] = (uint8_t)(blen >> 16);
	b->data[body_at - 2] = (uint8_t)(blen >> 8);
	b->data[body_at - 1] = (uint8_t)blen;
	if ((m->flags & WIRE_FLAG_AUTH) == 0)
		return 0;
	/* The trailer may pass the body's limit by its own length. */
	size_t limit = b->limit;
	b->limit = (limit ? limit : WIRE_MAX_MSG) + WIRE_AUTH_LEN;
	if ((rv = wb_u64(b, m->auth_stamp)) == 0)
		rv = wb_put(b, m->auth_tag, WIRE_MAC_LEN);
	b->limit = limit;
	return rv;
}
