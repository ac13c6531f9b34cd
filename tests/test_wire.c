/*
 * test_wire.c - CUnit suite "wire" for the message codec (common/wire.c).
 *
 * test_wire_register() adds the suite; tests/main.c calls it. What each case
 * proves:
 *
 *   roundtrip      every message type, with the variants of its body (every
 *                  op code, fields at their caps, empty lists), survives
 *                  wire_encode -> wire_decode with every field equal, at
 *                  epochs 0, 1, 0x0102030405060708 and UINT64_MAX; encoding
 *                  the decoded message gives the same bytes (one encoding per
 *                  message), and wire_msg_free releases it.
 *   golden         the bytes are the layout of wire.h (field order,
 *                  big-endian), in both directions: a codec whose encoder and
 *                  decoder agree on a wrong layout fails here.
 *   malformed      a table of named malformed inputs, each a valid encoding
 *                  edited at one named field, is refused with the exact code
 *                  and reason (wire_last_error) and leaves the output message
 *                  untouched (DESIGN section 2: never partly trusted).
 *   truncation     every proper prefix of every sample fails with the reason
 *                  of the field it cuts, also when the body length is made to
 *                  agree; one byte more fails too.
 *   encode_checks  wire_encode refuses what would not decode (TWOPC_EINVAL)
 *                  and what exceeds a cap (TWOPC_ETOOBIG).
 *   encode_limit   a message of exactly WIRE_MAX_MSG bytes encodes and
 *                  decodes; one byte more is TWOPC_ETOOBIG on both sides.
 *   mutation       20,000 seeded random edits of valid encodings: decoding
 *                  never crashes, fails only with TWOPC_EPROTO, and whatever
 *                  it accepts re-encodes to the same bytes.
 *   names          wire_type_name, wire_op_name, wire_op_parse,
 *                  wire_txid_valid and wire_name_valid, valid and invalid.
 *
 * Every input given to wire_decode is copied into a heap block of exactly
 * its length, so an ASan build reports any read outside it (STYLE habit 7:
 * outside input never trips anything). Malformed inputs are written as a
 * base sample plus edits in hex, "TOKEN[*N] ...": "0001 61*65" is the bytes
 * 00 01 then 65 bytes 0x61.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "txstate.h"
#include "wire.h"
#include "twopc/error.h"
#include "testutil.h"

void test_wire_register(void);

#define T_EPOCH 42u /* the epoch of the samples the tables edit */
#define T_NAME32 "p0123456789abcdefghijklmnopqrstu"
#define T_NAME33 T_NAME32 "v"
#define T_TXID64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define T_TXID65 T_TXID64 "0"

/* ---- assertions ---- */

/* CU_ASSERT_EQUAL on an exact return code, naming the case when it fails. */
#define T_CODE(rv, want, name) do { \
	CU_ASSERT_EQUAL(rv, want); \
	if ((rv) != (want)) \
		fprintf(stderr, "test_wire.c:%d: case \"%s\": got %d, want %d\n", \
		    __LINE__, (name), (int)(rv), (int)(want)); \
} while (0)

/* ---- bytes ---- */

typedef struct t_bytes {
	uint8_t *p;
	size_t len;
	size_t cap;
} t_bytes;

static void
t_put(t_bytes *b, const void *src, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		while (cap < b->len + n)
			cap *= 2;
		uint8_t *p = realloc(b->p, cap);
		if (p == NULL)
			abort(); /* the test's own allocation */
		b->p = p;
		b->cap = cap;
	}
	if (n > 0)
		memcpy(b->p + b->len, src, n);
	b->len += n;
}

static void
t_bytes_free(t_bytes *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static int
t_nibble(char c)
{
	return isdigit((unsigned char)c) ? c - '0' : tolower((unsigned char)c) - 'a' + 10;
}

/* Append the bytes of SPEC, "TOKEN[*N] ..." (TOKEN: hex pairs). */
static bool
t_hex(t_bytes *b, const char *spec)
{
	const char *s = spec;

	while (*s != '\0') {
		uint8_t tok[64];
		size_t n = 0;
		unsigned long rep = 1;

		if (*s == ' ') {
			s++;
			continue;
		}
		while (isxdigit((unsigned char)s[0])) {
			if (!isxdigit((unsigned char)s[1]) || n == sizeof tok)
				return false;
			tok[n++] = (uint8_t)(t_nibble(s[0]) << 4 | t_nibble(s[1]));
			s += 2;
		}
		if (*s == '*') {
			char *end;
			rep = strtoul(s + 1, &end, 10);
			if (end == s + 1)
				return false;
			s = end;
		}
		if (n == 0 || (*s != '\0' && *s != ' '))
			return false;
		while (rep-- > 0)
			t_put(b, tok, n);
	}
	return true;
}

/* Where the fields of an encoding are (wire.h: header, txid, sender, body). */
typedef struct t_layout {
	size_t txid_at, txlen;
	size_t sender_at, slen;
	size_t blen_at, body_at;
} t_layout;

static bool
t_layout_of(const uint8_t *p, size_t len, t_layout *l)
{
	if (len < 17)
		return false;
	l->txid_at = 17;
	l->txlen = p[16];
	if (len < 18 + l->txlen)
		return false;
	l->slen = p[17 + l->txlen];
	l->sender_at = 18 + l->txlen;
	l->blen_at = l->sender_at + l->slen;
	l->body_at = l->blen_at + 4;
	return l->body_at <= len;
}

static void
t_set_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* wire_decode on a heap copy of exactly LEN bytes (ASan sees any overread). */
static int
t_decode(const uint8_t *p, size_t len, wire_msg *out)
{
	uint8_t *copy = malloc(len ? len : 1);
	if (copy == NULL)
		abort();
	if (len > 0)
		memcpy(copy, p, len);
	int rv = wire_decode(copy, len, out);
	free(copy);
	return rv;
}

/* ---- sample messages ---- */

typedef struct t_sample {
	const char *name;
	int type;
	const char *txid;     /* NULL: none */
	const char *sender;
	uint8_t state;
	uint16_t code;
	const char *text;
	uint32_t timeout_ms;
	bool bare;            /* leave the lists (work, peers, ops, entries) empty */
	uint8_t force;        /* RESOLVE */
} t_sample;

static const t_sample t_samples[] = {
	{ .name = "SUBMIT", .type = WIRE_SUBMIT, .txid = "client-7f3a.0001",
	  .sender = "client", .timeout_ms = 2500 },
	{ .name = "SUBMIT without txid", .type = WIRE_SUBMIT, .sender = "client",
	  .timeout_ms = UINT32_MAX },
	{ .name = "VOTE_REQUEST", .type = WIRE_VOTE_REQUEST, .txid = "tx-0001", .sender = "coord" },
	{ .name = "VOTE_REQUEST without peers or ops", .type = WIRE_VOTE_REQUEST,
	  .txid = "tx-0001", .sender = "coord", .bare = true },
	{ .name = "VOTE_COMMIT", .type = WIRE_VOTE_COMMIT, .txid = "tx-0001", .sender = "alpha" },
	{ .name = "VOTE_ABORT", .type = WIRE_VOTE_ABORT, .txid = "tx-0001", .sender = "beta",
	  .text = "key k1 is locked by tx-0002" },
	{ .name = "VOTE_ABORT with empty reason", .type = WIRE_VOTE_ABORT, .txid = "tx-0001",
	  .sender = "beta", .text = "" },
	{ .name = "VOTE_READONLY", .type = WIRE_VOTE_READONLY, .txid = T_TXID64, .sender = T_NAME32 },
	{ .name = "GLOBAL_COMMIT", .type = WIRE_GLOBAL_COMMIT, .txid = "tx-0001", .sender = "coord" },
	{ .name = "GLOBAL_ABORT", .type = WIRE_GLOBAL_ABORT, .txid = "tx-0001", .sender = "coord" },
	{ .name = "ACK COMMIT", .type = WIRE_ACK, .txid = "tx-0001", .sender = "alpha",
	  .state = TX_COMMIT },
	{ .name = "ACK ABORT", .type = WIRE_ACK, .txid = "tx-0001", .sender = "alpha",
	  .state = TX_ABORT },
	{ .name = "DECISION_REQUEST", .type = WIRE_DECISION_REQUEST, .txid = "tx-0001",
	  .sender = "gamma" },
	{ .name = "DECISION_REPLY COMMIT", .type = WIRE_DECISION_REPLY, .txid = "tx-0001",
	  .sender = "coord", .state = TX_COMMIT },
	{ .name = "DECISION_REPLY ABORT", .type = WIRE_DECISION_REPLY, .txid = "tx-0001",
	  .sender = "coord", .state = TX_ABORT },
	{ .name = "DECISION_REPLY READY", .type = WIRE_DECISION_REPLY, .txid = "tx-0001",
	  .sender = "beta", .state = TX_READY },
	{ .name = "DECISION_REPLY UNDECIDED", .type = WIRE_DECISION_REPLY, .txid = "tx-0001",
	  .sender = "coord", .state = TX_UNDECIDED },
	{ .name = "RESULT COMMIT", .type = WIRE_RESULT, .txid = "tx-0001", .sender = "coord",
	  .state = TX_COMMIT, .text = "" },
	{ .name = "RESULT ABORT", .type = WIRE_RESULT, .txid = "tx-0001", .sender = "coord",
	  .state = TX_ABORT, .text = "beta voted abort: key k1 is locked" },
	{ .name = "RESULT UNDECIDED", .type = WIRE_RESULT, .txid = "tx-0001", .sender = "coord",
	  .state = TX_UNDECIDED, .text = "still waiting for\tgamma\n" },
	{ .name = "STATUS_REQUEST one txid", .type = WIRE_STATUS_REQUEST, .txid = "tx-0001",
	  .sender = "client", .state = 0 },
	{ .name = "STATUS_REQUEST every unfinished", .type = WIRE_STATUS_REQUEST,
	  .sender = "client", .state = 1 },
	{ .name = "STATUS_REPLY", .type = WIRE_STATUS_REPLY, .sender = "alpha" },
	{ .name = "STATUS_REPLY empty", .type = WIRE_STATUS_REPLY, .sender = "alpha", .bare = true },
	{ .name = "FORGET", .type = WIRE_FORGET, .sender = "coord" },
	{ .name = "FORGET empty", .type = WIRE_FORGET, .sender = "coord", .bare = true },
	{ .name = "IAMALIVE", .type = WIRE_IAMALIVE, .sender = "coord" },
	{ .name = "ERROR", .type = WIRE_ERROR, .txid = "tx-0001", .sender = "alpha",
	  .code = 7, .text = "malformed message" },
	{ .name = "GET", .type = WIRE_GET, .sender = "client", .text = "k\xc3\xbc/\xe2\x82\xac" },
	{ .name = "GET_REPLY found", .type = WIRE_GET_REPLY, .sender = "alpha", .state = 1,
	  .text = "value 1" },
	{ .name = "GET_REPLY not found", .type = WIRE_GET_REPLY, .sender = "alpha", .state = 0,
	  .text = "" },
	{ .name = "RESOLVE COMMIT", .type = WIRE_RESOLVE, .txid = "tx-0001", .sender = "client",
	  .state = TX_COMMIT },
	{ .name = "RESOLVE ABORT", .type = WIRE_RESOLVE, .txid = T_TXID64, .sender = "client",
	  .state = TX_ABORT },
	{ .name = "RESOLVE COMMIT forced", .type = WIRE_RESOLVE, .txid = "tx-0001",
	  .sender = "client", .state = TX_COMMIT, .force = 1 },
	{ .name = "RESOLVE ABORT forced", .type = WIRE_RESOLVE, .txid = "tx-0001",
	  .sender = T_NAME32, .state = TX_ABORT, .force = 1 },
	{ .name = "RESOLVE forget", .type = WIRE_RESOLVE, .txid = "tx-0001", .sender = "client",
	  .state = TX_NONE },
};

/* The lists the samples point at; t_build() resets them every time. */
static char t_key_max[WIRE_KEY_MAX + 2], t_value_max[WIRE_VALUE_MAX + 2];
static char t_text_max[WIRE_TEXT_MAX + 2];
static wire_op t_ops_alpha[4], t_ops_beta[2], t_ops_gamma[1], t_ops_vote[5];
static wire_work t_work[3];
static char *t_peers[3];
static wire_status t_status[3];
static char *t_txids[3];

/* Large lists for the cap cases. */
static wire_op t_many_ops[WIRE_MAX_OPS + 1];
static wire_work t_many_work[WIRE_MAX_WORK + 1];
static char *t_many_names[WIRE_MAX_WORK + 1];
static char *t_many_txids[WIRE_MAX_LIST + 1];

static void
t_fill(char *buf, size_t n, char c)
{
	memset(buf, c, n);
	buf[n] = '\0';
}

/* Build sample S at EPOCH into M; SMALL shortens the fields that sit at their caps. */
static void
t_build(const t_sample *s, uint64_t epoch, bool small, wire_msg *m)
{
	t_fill(t_key_max, small ? 1 : WIRE_KEY_MAX, 'K');
	t_fill(t_value_max, small ? 1 : WIRE_VALUE_MAX, 'V');
	t_fill(t_text_max, small ? 1 : WIRE_TEXT_MAX, 'T');
	const wire_op alpha[] = {
		{ WIRE_OP_PUT, "k1", "v1" }, { WIRE_OP_DEL, "k2", "" },
		{ WIRE_OP_CHECK, "k3", "v3" }, { WIRE_OP_ADD, "counter", "5" },
	};
	const wire_op beta[] = {
		{ WIRE_OP_PUT, t_key_max, t_value_max },
		{ WIRE_OP_PUT, "k\xc3\xbc y", "line1\nline2\t\x01\x7f\xff" },
	};
	const wire_op gamma[] = { { WIRE_OP_ADD, "n", "-2" } };
	const wire_op vote[] = {
		{ WIRE_OP_PUT, "k1", "v1" }, { WIRE_OP_DEL, "k2", "" },
		{ WIRE_OP_CHECK, "k3", "" }, { WIRE_OP_ADD, "counter", "+5" },
		{ WIRE_OP_PUT, t_key_max, t_value_max },
	};
	const wire_work work[] = {
		{ "alpha", 4, t_ops_alpha }, { "beta-2.x_Y", 2, t_ops_beta },
		{ T_NAME32, 1, t_ops_gamma },
	};
	const wire_status status[] = {
		{ "tx-0001", TX_READY, 0, 0, "waiting for the decision" },
		{ T_TXID64, TX_COMMIT, UINT64_MAX, UINT64_MAX, "" },
		{ "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", TX_UNDECIDED, 7, 86400000, t_text_max },
	};

	memcpy(t_ops_alpha, alpha, sizeof alpha);
	memcpy(t_ops_beta, beta, sizeof beta);
	memcpy(t_ops_gamma, gamma, sizeof gamma);
	memcpy(t_ops_vote, vote, sizeof vote);
	memcpy(t_work, work, sizeof work);
	memcpy(t_status, status, sizeof status);
	t_peers[0] = "alpha", t_peers[1] = "beta", t_peers[2] = T_NAME32;
	t_txids[0] = "tx-0001", t_txids[1] = "a", t_txids[2] = T_TXID64;

	wire_msg_init(m, s->type, epoch, s->txid, s->sender);
	m->state = s->state;
	m->code = s->code;
	m->text = (char *)s->text;
	m->timeout_ms = s->timeout_ms;
	m->force = s->force;
	if (s->bare)
		return;
	switch (s->type) {
	case WIRE_SUBMIT:
		m->nwork = T_NITEMS(t_work), m->work = t_work;
		break;
	case WIRE_VOTE_REQUEST:
		m->npeers = T_NITEMS(t_peers), m->peers = t_peers;
		m->nops = T_NITEMS(t_ops_vote), m->ops = t_ops_vote;
		break;
	case WIRE_STATUS_REPLY:
		m->nstatus = T_NITEMS(t_status), m->status = t_status;
		break;
	case WIRE_FORGET:
		m->ntxids = T_NITEMS(t_txids), m->txids = t_txids;
		break;
	default:
		break;
	}
}

static const t_sample *
t_sample_of(int type)
{
	for (size_t i = 0; i < T_NITEMS(t_samples); i++)
		if (t_samples[i].type == type)
			return &t_samples[i];
	return NULL;
}

/* ---- field-by-field comparison ---- */

static void
t_same_str(const char *ctx, const char *field, const char *want, const char *got)
{
	if (want == NULL || got == NULL)
		T_CHECK(want == got, "%s: %s is %s, want %s", ctx, field,
		    got ? "a string" : "NULL", want ? "a string" : "NULL");
	else
		T_CHECK(strcmp(want, got) == 0, "%s: %s is \"%.60s\", want \"%.60s\"", ctx,
		    field, got, want);
}

static void
t_same_ops(const char *ctx, const wire_op *want, size_t nwant, const wire_op *got, size_t ngot)
{
	T_CHECK(ngot == nwant, "%s: %zu ops, want %zu", ctx, ngot, nwant);
	for (size_t i = 0; i < nwant && i < ngot; i++) {
		T_CHECK(got[i].op == want[i].op, "%s: op %zu code %d, want %d", ctx, i,
		    got[i].op, want[i].op);
		t_same_str(ctx, "op key", want[i].key, got[i].key);
		t_same_str(ctx, "op value", want[i].value, got[i].value);
	}
}

/* Every field of a decoded message against the message that was encoded. */
static void
t_same_msg(const char *ctx, const wire_msg *want, const wire_msg *got)
{
	T_CHECK(got->type == want->type, "%s: type %d", ctx, got->type);
	T_CHECK(got->flags == want->flags, "%s: flags %d", ctx, got->flags);
	T_CHECK(got->auth_stamp == want->auth_stamp &&
	    memcmp(got->auth_tag, want->auth_tag, WIRE_MAC_LEN) == 0, "%s: trailer differs", ctx);
	T_CHECK(got->epoch == want->epoch, "%s: epoch %llu, want %llu", ctx,
	    (unsigned long long)got->epoch, (unsigned long long)want->epoch);
	t_same_str(ctx, "txid", want->txid, got->txid);
	t_same_str(ctx, "sender", want->sender, got->sender);
	T_CHECK(got->timeout_ms == want->timeout_ms, "%s: timeout_ms %u", ctx, got->timeout_ms);
	T_CHECK(got->state == want->state, "%s: state %d", ctx, got->state);
	T_CHECK(got->force == want->force, "%s: force %d", ctx, got->force);
	T_CHECK(got->code == want->code, "%s: code %d", ctx, got->code);
	t_same_str(ctx, "text", want->text, got->text);

	T_CHECK(got->nwork == want->nwork, "%s: nwork %zu", ctx, got->nwork);
	for (size_t i = 0; i < want->nwork && i < got->nwork; i++) {
		t_same_str(ctx, "participant", want->work[i].participant, got->work[i].participant);
		t_same_ops(ctx, want->work[i].ops, want->work[i].nops, got->work[i].ops,
		    got->work[i].nops);
	}
	T_CHECK(got->npeers == want->npeers, "%s: npeers %zu", ctx, got->npeers);
	for (size_t i = 0; i < want->npeers && i < got->npeers; i++)
		t_same_str(ctx, "peer", want->peers[i], got->peers[i]);
	t_same_ops(ctx, want->ops, want->nops, got->ops, got->nops);

	T_CHECK(got->nstatus == want->nstatus, "%s: nstatus %zu", ctx, got->nstatus);
	for (size_t i = 0; i < want->nstatus && i < got->nstatus; i++) {
		const wire_status *w = &want->status[i], *g = &got->status[i];
		t_same_str(ctx, "status txid", w->txid, g->txid);
		T_CHECK(g->state == w->state && g->epoch == w->epoch && g->age_ms == w->age_ms,
		    "%s: status %zu state/epoch/age differ", ctx, i);
		t_same_str(ctx, "status detail", w->detail, g->detail);
	}
	T_CHECK(got->ntxids == want->ntxids, "%s: ntxids %zu", ctx, got->ntxids);
	for (size_t i = 0; i < want->ntxids && i < got->ntxids; i++)
		t_same_str(ctx, "FORGET txid", want->txids[i], got->txids[i]);
	T_CHECK(got->arena != NULL, "%s: no arena", ctx);
}

/* ---- 1. round trip ---- */

static void
test_roundtrip(void)
{
	static const uint64_t epochs[] = { 0, 1, 0x0102030405060708ull, UINT64_MAX };
	wire_buf b = { 0 }, again = { 0 };
	char ctx[160];

	T_CHECK(strlen(T_NAME32) == WIRE_NAME_MAX && strlen(T_TXID64) == WIRE_TXID_MAX,
	    "the cap-sized names are not at their caps");
	for (size_t e = 0; e < T_NITEMS(epochs); e++) {
		for (size_t i = 0; i < T_NITEMS(t_samples); i++) {
			wire_msg m, d;
			int rv;

			snprintf(ctx, sizeof ctx, "%s at epoch %llu", t_samples[i].name,
			    (unsigned long long)epochs[e]);
			t_build(&t_samples[i], epochs[e], false, &m);
			rv = wire_encode(&m, &b);
			T_CODE(rv, 0, ctx);
			if (rv != 0)
				continue;
			memset(&d, 0, sizeof d);
			rv = t_decode(b.data, b.len, &d);
			T_CODE(rv, 0, ctx);
			if (rv != 0) {
				T_CHECK(false, "%s: decode: %s", ctx, wire_last_error());
				continue;
			}
			t_same_msg(ctx, &m, &d);
			rv = wire_encode(&d, &again);
			T_CODE(rv, 0, ctx);
			T_CHECK(rv == 0 && again.len == b.len && memcmp(again.data, b.data, b.len) == 0,
			    "%s: re-encoding the decoded message changed the bytes", ctx);
			wire_msg_free(&d);
			T_CHECK(d.arena == NULL, "%s: wire_msg_free left the arena", ctx);
			wire_msg_free(&d); /* a second free is harmless */
		}
	}
	/* The one-phase flag: defined for VOTE_REQUEST and DECISION_REQUEST,
	 * carried in header byte 5 and decoded back. */
	static const int flagged[] = { WIRE_VOTE_REQUEST, WIRE_DECISION_REQUEST };
	for (size_t i = 0; i < T_NITEMS(flagged); i++) {
		wire_msg m, d;
		wire_msg_init(&m, flagged[i], 7, "tx-1p", "coord");
		m.flags = WIRE_FLAG_ONE_PHASE;
		int erc = wire_encode(&m, &b);
		T_CODE(erc, 0, wire_type_name(flagged[i]));
		T_CHECK(b.len > 5 && b.data[5] == WIRE_FLAG_ONE_PHASE, "%s: flag byte %d",
		    wire_type_name(flagged[i]), b.len > 5 ? b.data[5] : -1);
		memset(&d, 0, sizeof d);
		int drc = t_decode(b.data, b.len, &d);
		T_CODE(drc, 0, wire_type_name(flagged[i]));
		T_CHECK(d.flags == WIRE_FLAG_ONE_PHASE, "%s: decoded flags %d",
		    wire_type_name(flagged[i]), d.flags);
		wire_msg_free(&d);
	}
	wire_msg never;
	wire_msg_init(&never, WIRE_ACK, 0, "tx", "a");
	wire_msg_free(&never); /* safe on a message that was never decoded */
	wire_buf_free(&b);
	wire_buf_free(&again);
}

/* ---- 2. golden bytes ---- */

typedef struct t_golden {
	const char *name;
	const char *hex;
} t_golden;

static void
test_golden(void)
{
	static const t_golden cases[] = {
		{ "ACK", "32504304 08 00 0000 0102030405060708 04 74782d31 05 616c706861 "
		    "00000001 03" },
		{ "VOTE_REQUEST", "32504304 03 00 0000 0000000000000001 01 74 01 63 0000000d "
		    "0001 0161 0001 01 00016b 000176" },
		{ "STATUS_REPLY", "32504304 0c 00 0000 0000000000000000 00 01 63 00000018 "
		    "0001 0174 02 0000000000000002 0000000000000003 000164" },
		{ "SUBMIT", "32504304 01 00 0000 ffffffffffffffff 00 01 63 00000011 "
		    "01020304 0001 0170 0001 04 00016e 000131" },
		{ "ACK with the trailer", "32504304 08 80 0000 0000000000000009 01 74 01 63 "
		    "00000001 04 0102030405060708 "
		    "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf" },
	};
	wire_op op_v = { WIRE_OP_PUT, "k", "v" }, op_s = { WIRE_OP_ADD, "n", "1" };
	char *peer = "a";
	wire_status st = { "t", TX_READY, 2, 3, "d" };
	wire_work work = { "p", 1, &op_s };
	wire_msg m[5];
	wire_buf b = { 0 };

	wire_msg_init(&m[0], WIRE_ACK, 0x0102030405060708ull, "tx-1", "alpha");
	m[0].state = TX_COMMIT;
	wire_msg_init(&m[1], WIRE_VOTE_REQUEST, 1, "t", "c");
	m[1].npeers = 1, m[1].peers = &peer, m[1].nops = 1, m[1].ops = &op_v;
	wire_msg_init(&m[2], WIRE_STATUS_REPLY, 0, NULL, "c");
	m[2].nstatus = 1, m[2].status = &st;
	wire_msg_init(&m[3], WIRE_SUBMIT, UINT64_MAX, NULL, "c");
	m[3].timeout_ms = 0x01020304, m[3].nwork = 1, m[3].work = &work;
	wire_msg_init(&m[4], WIRE_ACK, 9, "t", "c");
	m[4].state = TX_ABORT, m[4].flags = WIRE_FLAG_AUTH, m[4].auth_stamp = 0x0102030405060708ull;
	for (int i = 0; i < WIRE_MAC_LEN; i++)
		m[4].auth_tag[i] = (uint8_t)(0xa0 + i);

	for (size_t i = 0; i < T_NITEMS(cases); i++) {
		t_bytes want = { 0 };
		wire_msg d;

		T_CHECK(t_hex(&want, cases[i].hex), "%s: bad hex in the table", cases[i].name);
		int rv = wire_encode(&m[i], &b);
		T_CODE(rv, 0, cases[i].name);
		T_CHECK(rv == 0 && b.len == want.len && memcmp(b.data, want.p, want.len) == 0,
		    "%s: encoding differs from the layout of wire.h", cases[i].name);
		rv = t_decode(want.p, want.len, &d);
		T_CODE(rv, 0, cases[i].name);
		if (rv == 0) {
			t_same_msg(cases[i].name, &m[i], &d);
			wire_msg_free(&d);
		}
		t_bytes_free(&want);
	}
	wire_buf_free(&b);
}

/* ---- 3. malformed inputs ---- */

typedef enum t_anchor { AT_START, AT_TXID, AT_SENDER, AT_BLEN, AT_BODY } t_anchor;
typedef enum t_edit { ED_NONE, ED_SET, ED_CUT } t_edit;

/*
 * The valid encoding of the first sample of type BASE (at T_EPOCH), with its
 * txid, sender or body replaced (hex), the body length field off by
 * BLEN_DELTA, then one byte set or the message cut at ANCHOR + AT, then
 * APPEND added at the end.
 */
typedef struct t_bad {
	const char *name;
	int base;
	const char *txid;
	const char *sender;
	const char *body;
	int blen_delta;
	t_edit edit;
	t_anchor anchor;
	int at;
	uint8_t val;
	const char *append;
	int want;
	const char *why;     /* substring of wire_last_error() */
} t_bad;

#define P TWOPC_EPROTO
/* A well-formed entry of a STATUS_REPLY after its txid: state, epoch, age, detail. */
#define T_ENTRY_TAIL "03 0000000000000001 0000000000000002 0000"
/* One SUBMIT participant "a" with one op: put "a" = "". */
#define T_WORK_ONE "0161 0001 01 000161 0000"

static const t_bad t_bads[] = {
	/* header */
	{ "empty buffer", WIRE_ACK, .edit = ED_CUT, .at = 0, .want = P, .why = "truncated header" },
	{ "header cut to 1 byte", WIRE_ACK, .edit = ED_CUT, .at = 1, .want = P,
	  .why = "truncated header" },
	{ "header cut to 4 bytes", WIRE_ACK, .edit = ED_CUT, .at = 4, .want = P,
	  .why = "truncated header" },
	{ "header cut to 7 bytes", WIRE_ACK, .edit = ED_CUT, .at = 7, .want = P,
	  .why = "truncated header" },
	{ "header cut inside the epoch", WIRE_ACK, .edit = ED_CUT, .at = 12, .want = P,
	  .why = "truncated epoch" },
	{ "header cut before the txid length", WIRE_ACK, .edit = ED_CUT, .at = 16, .want = P,
	  .why = "truncated txid" },
	{ "header cut inside the txid", WIRE_ACK, .edit = ED_CUT, .anchor = AT_TXID, .at = 3,
	  .want = P, .why = "truncated txid" },
	{ "header cut before the sender length", WIRE_ACK, .edit = ED_CUT, .anchor = AT_SENDER,
	  .at = -1, .want = P, .why = "truncated sender" },
	{ "header cut inside the sender", WIRE_ACK, .edit = ED_CUT, .anchor = AT_SENDER, .at = 2,
	  .want = P, .why = "truncated sender" },
	{ "header cut inside the body length", WIRE_ACK, .edit = ED_CUT, .anchor = AT_BLEN,
	  .at = 3, .want = P, .why = "truncated body length" },
	{ "bad magic", WIRE_ACK, .edit = ED_SET, .at = 0, .val = 'X', .want = P,
	  .why = "bad magic" },
	{ "bad magic, lower-case p", WIRE_ACK, .edit = ED_SET, .at = 1, .val = 'p', .want = P,
	  .why = "bad magic" },
	{ "version 0", WIRE_ACK, .edit = ED_SET, .at = 3, .val = 0, .want = P,
	  .why = "unsupported protocol version" },
	{ "version 1 (before BATCH)", WIRE_ACK, .edit = ED_SET, .at = 3, .val = 1, .want = P,
	  .why = "the peer speaks wire version 1; this node speaks 4" },
	{ "version 2 (before the trailer)", WIRE_ACK, .edit = ED_SET, .at = 3, .val = 2, .want = P,
	  .why = "the peer speaks wire version 2; this node speaks 4" },
	{ "version 3 (before a client's BATCH)", WIRE_ACK, .edit = ED_SET, .at = 3, .val = 3,
	  .want = P, .why = "the peer speaks wire version 3; this node speaks 4" },
	{ "version 5", WIRE_ACK, .edit = ED_SET, .at = 3, .val = 5, .want = P,
	  .why = "unsupported protocol version" },
	{ "type 0", WIRE_ACK, .edit = ED_SET, .at = 4, .val = 0, .want = P,
	  .why = "unknown message type" },
	{ "type 21", WIRE_ACK, .edit = ED_SET, .at = 4, .val = 21, .want = P,
	  .why = "unknown message type" },
	{ "type 255", WIRE_ACK, .edit = ED_SET, .at = 4, .val = 255, .want = P,
	  .why = "unknown message type" },
	{ "non-zero flags", WIRE_ACK, .edit = ED_SET, .at = 5, .val = 1, .want = P,
	  .why = "unknown flags or non-zero reserved bytes" },
	{ "VOTE_REQUEST unknown flag 2", WIRE_VOTE_REQUEST, .edit = ED_SET, .at = 5, .val = 2,
	  .want = P, .why = "unknown flags or non-zero reserved bytes" },
	{ "DECISION_REQUEST unknown flag 0x40", WIRE_DECISION_REQUEST, .edit = ED_SET, .at = 5,
	  .val = 0x40, .want = P, .why = "unknown flags or non-zero reserved bytes" },
	{ "AUTH flag without its trailer", WIRE_DECISION_REQUEST, .edit = ED_SET, .at = 5,
	  .val = 0x80, .want = P, .why = "truncated body" },
	{ "non-zero reserved byte 6", WIRE_ACK, .edit = ED_SET, .at = 6, .val = 0x80, .want = P,
	  .why = "unknown flags or non-zero reserved bytes" },
	{ "non-zero reserved byte 7", WIRE_ACK, .edit = ED_SET, .at = 7, .val = 1, .want = P,
	  .why = "unknown flags or non-zero reserved bytes" },
	/* txid */
	{ "txid length 65", WIRE_ACK, .txid = "61*65", .want = P, .why = "bad txid" },
	{ "txid length 255", WIRE_STATUS_REQUEST, .txid = "61*255", .want = P, .why = "bad txid" },
	{ "txid with a space", WIRE_ACK, .txid = "74 20 31", .want = P, .why = "bad txid" },
	{ "txid with a control byte", WIRE_ACK, .txid = "74 09 31", .want = P, .why = "bad txid" },
	{ "txid with 0x7f", WIRE_ACK, .txid = "74 7f", .want = P, .why = "bad txid" },
	{ "txid with 0x80", WIRE_ACK, .txid = "74 80", .want = P, .why = "bad txid" },
	{ "txid with a NUL byte", WIRE_ACK, .txid = "74 00 31", .want = P, .why = "bad txid" },
	{ "txid length past the message", WIRE_IAMALIVE, .edit = ED_SET, .at = 16, .val = 200,
	  .want = P, .why = "truncated txid" },
	{ "VOTE_REQUEST without txid", WIRE_VOTE_REQUEST, .txid = "", .want = P,
	  .why = "missing txid" },
	{ "VOTE_COMMIT without txid", WIRE_VOTE_COMMIT, .txid = "", .want = P,
	  .why = "missing txid" },
	{ "VOTE_ABORT without txid", WIRE_VOTE_ABORT, .txid = "", .want = P,
	  .why = "missing txid" },
	{ "VOTE_READONLY without txid", WIRE_VOTE_READONLY, .txid = "", .want = P,
	  .why = "missing txid" },
	{ "GLOBAL_COMMIT without txid", WIRE_GLOBAL_COMMIT, .txid = "", .want = P,
	  .why = "missing txid" },
	{ "GLOBAL_ABORT without txid", WIRE_GLOBAL_ABORT, .txid = "", .want = P,
	  .why = "missing txid" },
	{ "ACK without txid", WIRE_ACK, .txid = "", .want = P, .why = "missing txid" },
	{ "DECISION_REQUEST without txid", WIRE_DECISION_REQUEST, .txid = "", .want = P,
	  .why = "missing txid" },
	{ "DECISION_REPLY without txid", WIRE_DECISION_REPLY, .txid = "", .want = P,
	  .why = "missing txid" },
	{ "RESULT without txid", WIRE_RESULT, .txid = "", .want = P, .why = "missing txid" },
	{ "RESOLVE without txid", WIRE_RESOLVE, .txid = "", .want = P, .why = "missing txid" },
	/* sender */
	{ "sender empty", WIRE_ACK, .sender = "", .want = P, .why = "bad sender name" },
	{ "sender with a slash", WIRE_ACK, .sender = "61 2f 62", .want = P,
	  .why = "bad sender name" },
	{ "sender with a space", WIRE_IAMALIVE, .sender = "61 20 62", .want = P,
	  .why = "bad sender name" },
	{ "sender with a NUL byte", WIRE_IAMALIVE, .sender = "61 00", .want = P,
	  .why = "bad sender name" },
	{ "sender length 33", WIRE_ACK, .sender = "61*33", .want = P, .why = "bad sender name" },
	/* body length */
	{ "body length larger than remaining", WIRE_ACK, .blen_delta = 1, .want = P,
	  .why = "truncated body" },
	{ "body length 0xffffffff", WIRE_ACK, .edit = ED_SET, .anchor = AT_BLEN, .at = 0,
	  .val = 0xff, .want = P, .why = "truncated body" },
	{ "body length smaller (trailing bytes)", WIRE_ACK, .blen_delta = -1, .want = P,
	  .why = "bytes after the body" },
	{ "one byte after the body", WIRE_VOTE_REQUEST, .append = "00", .want = P,
	  .why = "bytes after the body" },
	{ "ACK body longer than its fields", WIRE_ACK, .body = "03 00", .want = P,
	  .why = "body longer than its fields" },
	{ "GLOBAL_COMMIT with a body", WIRE_GLOBAL_COMMIT, .body = "00", .want = P,
	  .why = "body longer than its fields" },
	{ "VOTE_ABORT reason shorter than the body", WIRE_VOTE_ABORT, .body = "0001 61 62",
	  .want = P, .why = "body longer than its fields" },
	/* SUBMIT and ops */
	{ "SUBMIT with 0 participants", WIRE_SUBMIT, .body = "000003e8 0000", .want = P,
	  .why = "SUBMIT participant count out of range" },
	{ "SUBMIT with 65 participants", WIRE_SUBMIT,
	  .body = "000003e8 0041 01610001010001610000*65", .want = P,
	  .why = "SUBMIT participant count out of range" },
	{ "SUBMIT participant with 0 ops", WIRE_SUBMIT, .body = "000003e8 0001 0161 0000",
	  .want = P, .why = "participant with no ops" },
	{ "SUBMIT participant with an empty name", WIRE_SUBMIT,
	  .body = "000003e8 0001 00 0001 01 000161 0000", .want = P,
	  .why = "bad participant name" },
	{ "SUBMIT participant with a bad char", WIRE_SUBMIT,
	  .body = "000003e8 0001 012a 0001 01 000161 0000", .want = P,
	  .why = "bad participant name" },
	{ "SUBMIT participant name length 33", WIRE_SUBMIT,
	  .body = "000003e8 0001 21 61*33 0001 01 000161 0000", .want = P,
	  .why = "string longer than its cap" },
	{ "SUBMIT with fewer participants than counted", WIRE_SUBMIT,
	  .body = "000003e8 0002 " T_WORK_ONE, .want = P, .why = "truncated participant" },
	{ "SUBMIT with fewer ops than counted", WIRE_SUBMIT,
	  .body = "000003e8 0001 0161 0002 01 000161 0000", .want = P, .why = "truncated op" },
	{ "SUBMIT ops count above WIRE_MAX_OPS", WIRE_SUBMIT,
	  .body = "000003e8 0001 0161 0401", .want = P, .why = "too many ops" },
	{ "op code 0", WIRE_VOTE_REQUEST, .body = "0000 0001 00 000161 0000", .want = P,
	  .why = "unknown op code" },
	{ "op code 5", WIRE_VOTE_REQUEST, .body = "0000 0001 05 000161 0000", .want = P,
	  .why = "unknown op code" },
	{ "op code 255", WIRE_SUBMIT, .body = "000003e8 0001 0161 0001 ff 000161 0000",
	  .want = P, .why = "unknown op code" },
	{ "empty key", WIRE_VOTE_REQUEST, .body = "0000 0001 01 0000 0000", .want = P,
	  .why = "empty key" },
	{ "key length 1025", WIRE_VOTE_REQUEST, .body = "0000 0001 01 0401 61*1025 0000",
	  .want = P, .why = "string longer than its cap" },
	{ "value length 4097", WIRE_VOTE_REQUEST, .body = "0000 0001 01 000161 1001 62*4097",
	  .want = P, .why = "string longer than its cap" },
	{ "key with an embedded NUL", WIRE_VOTE_REQUEST, .body = "0000 0001 01 0003 610062 0000",
	  .want = P, .why = "string holds a NUL byte" },
	{ "value with an embedded NUL", WIRE_VOTE_REQUEST, .body = "0000 0001 02 000161 000100",
	  .want = P, .why = "string holds a NUL byte" },
	{ "VOTE_REQUEST ops count above WIRE_MAX_OPS", WIRE_VOTE_REQUEST, .body = "0000 0401",
	  .want = P, .why = "too many ops" },
	{ "VOTE_REQUEST with 65 peers", WIRE_VOTE_REQUEST, .body = "0041 0161*65 0000",
	  .want = P, .why = "too many peers" },
	{ "VOTE_REQUEST peer with a space", WIRE_VOTE_REQUEST, .body = "0001 0120 0000",
	  .want = P, .why = "bad peer name" },
	{ "VOTE_REQUEST peer count past the body", WIRE_VOTE_REQUEST, .body = "0002 0161",
	  .want = P, .why = "truncated peer" },
	/* states and other bodies */
	{ "VOTE_ABORT reason with an embedded NUL", WIRE_VOTE_ABORT, .body = "0002 6100",
	  .want = P, .why = "string holds a NUL byte" },
	{ "VOTE_ABORT reason length past the body", WIRE_VOTE_ABORT, .body = "0010 61",
	  .want = P, .why = "truncated reason" },
	{ "VOTE_ABORT reason length 4097", WIRE_VOTE_ABORT, .body = "1001 61*4097", .want = P,
	  .why = "string longer than its cap" },
	{ "ACK with state READY", WIRE_ACK, .body = "02", .want = P, .why = "bad ACK state" },
	{ "ACK with state NONE", WIRE_ACK, .body = "00", .want = P, .why = "bad ACK state" },
	{ "ACK with an empty body", WIRE_ACK, .body = "", .want = P, .why = "truncated ACK" },
	{ "DECISION_REPLY with state 9", WIRE_DECISION_REPLY, .body = "09", .want = P,
	  .why = "bad DECISION_REPLY state" },
	{ "DECISION_REPLY with state INIT", WIRE_DECISION_REPLY, .body = "01", .want = P,
	  .why = "bad DECISION_REPLY state" },
	{ "RESULT with state READY", WIRE_RESULT, .body = "02 0000", .want = P,
	  .why = "bad RESULT state" },
	{ "RESULT with state END", WIRE_RESULT, .body = "06 0000", .want = P,
	  .why = "bad RESULT state" },
	{ "STATUS_REQUEST selector 3", WIRE_STATUS_REQUEST, .body = "03", .want = P,
	  .why = "bad STATUS_REQUEST selector" },
	{ "STATUS_REQUEST single without txid", WIRE_STATUS_REQUEST, .txid = "", .body = "00",
	  .want = P, .why = "STATUS_REQUEST for one txn without a txid" },
	{ "STATUS_REPLY entry with a space in its txid", WIRE_STATUS_REPLY,
	  .body = "0001 03742031 " T_ENTRY_TAIL, .want = P, .why = "bad status txid" },
	{ "STATUS_REPLY entry with an empty txid", WIRE_STATUS_REPLY,
	  .body = "0001 00 " T_ENTRY_TAIL, .want = P, .why = "bad status txid" },
	{ "STATUS_REPLY entry with txid length 65", WIRE_STATUS_REPLY,
	  .body = "0001 41 61*65 " T_ENTRY_TAIL, .want = P, .why = "string longer than its cap" },
	{ "STATUS_REPLY entry with state 8", WIRE_STATUS_REPLY,
	  .body = "0001 0161 08 0000000000000001 0000000000000002 0000", .want = P,
	  .why = "bad status state" },
	{ "STATUS_REPLY with 4097 entries", WIRE_STATUS_REPLY, .body = "1001", .want = P,
	  .why = "too many status entries" },
	{ "FORGET with a bad txid", WIRE_FORGET, .body = "0002 0161 0274 7f", .want = P,
	  .why = "bad txid in FORGET" },
	{ "FORGET with 4097 txids", WIRE_FORGET, .body = "1001", .want = P,
	  .why = "too many txids" },
	{ "ERROR text length past the body", WIRE_ERROR, .body = "0007 0005 61", .want = P,
	  .why = "truncated ERROR text" },
	{ "GET with an empty key", WIRE_GET, .body = "0000", .want = P, .why = "empty key" },
	{ "GET key length 1025", WIRE_GET, .body = "0401 61*1025", .want = P,
	  .why = "string longer than its cap" },
	{ "GET_REPLY flag 2", WIRE_GET_REPLY, .body = "02 0000", .want = P,
	  .why = "bad GET_REPLY flag" },
	{ "GET_REPLY value length 4097", WIRE_GET_REPLY, .body = "01 1001 61*4097", .want = P,
	  .why = "string longer than its cap" },
	{ "RESOLVE with an empty body", WIRE_RESOLVE, .body = "", .want = P,
	  .why = "truncated RESOLVE" },
	{ "RESOLVE without its force flag", WIRE_RESOLVE, .body = "03", .want = P,
	  .why = "truncated RESOLVE" },
	{ "RESOLVE with a byte after the flag", WIRE_RESOLVE, .body = "03 01 00", .want = P,
	  .why = "body longer than its fields" },
	{ "RESOLVE outcome READY", WIRE_RESOLVE, .body = "02 00", .want = P,
	  .why = "bad RESOLVE outcome or force flag" },
	{ "RESOLVE outcome END", WIRE_RESOLVE, .body = "06 01", .want = P,
	  .why = "bad RESOLVE outcome or force flag" },
	{ "RESOLVE outcome 255", WIRE_RESOLVE, .body = "ff 00", .want = P,
	  .why = "bad RESOLVE outcome or force flag" },
	{ "RESOLVE force flag 2", WIRE_RESOLVE, .body = "03 02", .want = P,
	  .why = "bad RESOLVE outcome or force flag" },
	{ "RESOLVE forced forget", WIRE_RESOLVE, .body = "00 01", .want = P,
	  .why = "bad RESOLVE outcome or force flag" },
	/* size */
	{ "message larger than WIRE_MAX_MSG", WIRE_ACK, .append = "00*65536",
	  .want = TWOPC_ETOOBIG, .why = "message larger than WIRE_MAX_MSG" },
	{ "huge body, its length agreeing", WIRE_GET_REPLY, .body = "01 1000 61*4096 00*70000",
	  .want = TWOPC_ETOOBIG, .why = "message larger than WIRE_MAX_MSG" },
};
#undef P

/* Put the input of case C in OUT; false if the case itself is malformed. */
static bool
t_bad_input(const t_bad *c, t_bytes *out)
{
	const t_sample *s = t_sample_of(c->base);
	wire_buf enc = { 0 };
	wire_msg m;
	t_layout l;
	bool ok;

	if (s == NULL)
		return false;
	t_build(s, T_EPOCH, true, &m);
	if (wire_encode(&m, &enc) != 0 || !t_layout_of(enc.data, enc.len, &l)) {
		wire_buf_free(&enc);
		return false;
	}
	t_bytes txid = { 0 }, sender = { 0 }, body = { 0 };
	ok = c->txid ? t_hex(&txid, c->txid) : (t_put(&txid, enc.data + l.txid_at, l.txlen), true);
	ok = ok && (c->sender ? t_hex(&sender, c->sender) :
	    (t_put(&sender, enc.data + l.sender_at, l.slen), true));
	ok = ok && (c->body ? t_hex(&body, c->body) :
	    (t_put(&body, enc.data + l.body_at, enc.len - l.body_at), true));
	ok = ok && txid.len <= 255 && sender.len <= 255;
	if (ok) {
		uint8_t n, blen[4];
		t_put(out, enc.data, 16);
		n = (uint8_t)txid.len, t_put(out, &n, 1), t_put(out, txid.p, txid.len);
		n = (uint8_t)sender.len, t_put(out, &n, 1), t_put(out, sender.p, sender.len);
		t_set_u32(blen, (uint32_t)((int64_t)body.len + c->blen_delta));
		t_put(out, blen, 4);
		t_put(out, body.p, body.len);
	}
	if (ok && c->edit != ED_NONE) {
		size_t anchor[] = { 0, 17, 18 + txid.len, 18 + txid.len + sender.len,
		    22 + txid.len + sender.len };
		size_t at = (size_t)((int64_t)anchor[c->anchor] + c->at);
		ok = at < out->len;
		if (ok && c->edit == ED_SET)
			out->p[at] = c->val;
		else if (ok)
			out->len = at;
	}
	if (ok && c->append)
		ok = t_hex(out, c->append);
	t_bytes_free(&txid);
	t_bytes_free(&sender);
	t_bytes_free(&body);
	wire_buf_free(&enc);
	return ok;
}

static void
test_malformed(void)
{
	wire_msg out, sentinel;

	memset(&sentinel, 0xa5, sizeof sentinel);
	T_CHECK(T_NITEMS(t_bads) >= 30, "only %zu malformed cases", T_NITEMS(t_bads));
	for (size_t i = 0; i < T_NITEMS(t_bads); i++) {
		const t_bad *c = &t_bads[i];
		t_bytes in = { 0 };

		if (!t_bad_input(c, &in)) {
			T_CHECK(false, "%s: the case cannot be built", c->name);
			t_bytes_free(&in);
			continue;
		}
		memcpy(&out, &sentinel, sizeof out);
		int rv = t_decode(in.p, in.len, &out);
		T_CODE(rv, c->want, c->name);
		T_CHECK(strstr(wire_last_error(), c->why) != NULL,
		    "%s: reason \"%s\", want \"%s\"", c->name, wire_last_error(), c->why);
		T_CHECK(memcmp(&out, &sentinel, sizeof out) == 0,
		    "%s: the output message was written on failure", c->name);
		if (rv == 0)
			wire_msg_free(&out);
		t_bytes_free(&in);
	}
}

/* ---- 4. every truncation ---- */

/* The reason wire_decode gives for the first K bytes of an encoding laid out as L. */
static const char *
t_cut_reason(const t_layout *l, size_t k)
{
	if (k < 8)
		return "truncated header";
	if (k < 16)
		return "truncated epoch";
	if (k < l->sender_at - 1)
		return "truncated txid";
	if (k < l->blen_at)
		return "truncated sender";
	if (k < l->body_at)
		return "truncated body length";
	return "truncated body";
}

static void
t_cuts_of(const char *name, const uint8_t *p, size_t len)
{
	t_layout l;
	wire_msg out, sentinel;
	uint8_t *buf = malloc(len + 1);

	if (buf == NULL)
		abort();
	memset(&sentinel, 0x5a, sizeof sentinel);
	if (!t_layout_of(p, len, &l)) {
		T_CHECK(false, "%s: no layout", name);
		free(buf);
		return;
	}
	for (size_t k = 0; k < len; k++) {
		memcpy(&out, &sentinel, sizeof out);
		int rv = t_decode(p, k, &out);
		T_CODE(rv, TWOPC_EPROTO, name);
		const char *want = t_cut_reason(&l, k);
		T_CHECK(strcmp(wire_last_error(), want) == 0 &&
		    memcmp(&out, &sentinel, sizeof out) == 0,
		    "%s cut to %zu bytes: reason \"%s\", want \"%s\"", name, k,
		    wire_last_error(), want);
		if (rv == 0)
			wire_msg_free(&out);
	}
	/* The body cut short with its length made to agree: the field cut says so. */
	memcpy(buf, p, len);
	for (size_t k = l.body_at; k < len; k++) {
		t_set_u32(buf + l.blen_at, (uint32_t)(k - l.body_at));
		int rv = t_decode(buf, k, &out);
		T_CODE(rv, TWOPC_EPROTO, name);
		T_CHECK(strncmp(wire_last_error(), "truncated ", 10) == 0,
		    "%s: body cut to %zu bytes: reason \"%s\"", name, k - l.body_at,
		    wire_last_error());
		if (rv == 0)
			wire_msg_free(&out);
	}
	/* One byte more: after the body, then inside it. */
	memcpy(buf, p, len);
	buf[len] = 0;
	int rv = t_decode(buf, len + 1, &out);
	T_CODE(rv, TWOPC_EPROTO, name);
	T_CHECK(strcmp(wire_last_error(), "bytes after the body") == 0, "%s + 1 byte: \"%s\"",
	    name, wire_last_error());
	t_set_u32(buf + l.blen_at, (uint32_t)(len + 1 - l.body_at));
	rv = t_decode(buf, len + 1, &out);
	T_CODE(rv, TWOPC_EPROTO, name);
	T_CHECK(strcmp(wire_last_error(), "body longer than its fields") == 0,
	    "%s + 1 body byte: \"%s\"", name, wire_last_error());
	free(buf);
}

static void
test_truncation(void)
{
	wire_buf b = { 0 };
	wire_msg m;

	for (size_t i = 0; i < T_NITEMS(t_samples); i++) {
		t_build(&t_samples[i], 0x8000000000000001ull, true, &m);
		if (wire_encode(&m, &b) != 0) {
			T_CHECK(false, "%s: cannot encode the sample", t_samples[i].name);
			continue;
		}
		t_cuts_of(t_samples[i].name, b.data, b.len);
	}
	/* One sample with its fields at their caps (about 15 kB). */
	t_build(t_sample_of(WIRE_SUBMIT), 0, false, &m);
	int rv = wire_encode(&m, &b);
	T_CODE(rv, 0, "SUBMIT at its caps");
	if (rv == 0)
		t_cuts_of("SUBMIT at its caps", b.data, b.len);
	wire_buf_free(&b);
}

/* ---- 5. encode-side validation ---- */

static char t_key_buf[WIRE_KEY_MAX + 2], t_val_buf[WIRE_VALUE_MAX + 2];

/* Replace the header txid and sender the way a caller would, via wire_msg_init. */
static void
t_reheader(wire_msg *m, const char *txid, const char *sender)
{
	wire_msg h;

	wire_msg_init(&h, m->type, m->epoch, txid, sender);
	m->flags = h.flags;
	memcpy(m->txid, h.txid, sizeof m->txid);
	memcpy(m->sender, h.sender, sizeof m->sender);
}

static void e_sender_empty(wire_msg *m) { m->sender[0] = '\0'; }
static void e_sender_space(wire_msg *m) { strcpy(m->sender, "al pha"); }
static void e_sender_slash(wire_msg *m) { strcpy(m->sender, "a/b"); }
static void e_sender_33(wire_msg *m) { t_reheader(m, m->txid, T_NAME33); }
static void e_txid_65(wire_msg *m) { t_reheader(m, T_TXID65, m->sender); }
static void e_txid_space(wire_msg *m) { strcpy(m->txid, "tx 1"); }
static void e_txid_ctrl(wire_msg *m) { strcpy(m->txid, "tx\x01"); }
static void e_txid_none(wire_msg *m) { m->txid[0] = '\0'; }
static void e_type_0(wire_msg *m) { m->type = 0; }
static void e_type_20(wire_msg *m) { m->type = 20; }
static void e_resolve_ready(wire_msg *m) { m->state = TX_READY; }
static void e_resolve_force_2(wire_msg *m) { m->force = 2; }
static void e_resolve_forced_forget(wire_msg *m) { m->state = TX_NONE, m->force = 1; }
static void e_type_255(wire_msg *m) { m->type = 255; }
static void e_flags(wire_msg *m) { m->flags = 1; }
static void e_flags_2(wire_msg *m) { m->flags = 2; }
static void e_op_0(wire_msg *m) { (void)m; t_ops_vote[1].op = 0; }
static void e_op_5(wire_msg *m) { (void)m; t_ops_vote[4].op = 5; }
static void e_submit_op_9(wire_msg *m) { (void)m; t_ops_gamma[0].op = 9; }
static void e_key_empty(wire_msg *m) { (void)m; t_ops_vote[2].key = ""; }
static void e_key_null(wire_msg *m) { (void)m; t_ops_alpha[3].key = NULL; }
static void e_submit_none(wire_msg *m) { m->nwork = 0; }
static void e_submit_no_ops(wire_msg *m) { (void)m; t_work[1].nops = 0; }
static void e_submit_bad_name(wire_msg *m) { (void)m; t_work[2].participant = "al/pha"; }
static void e_peer_bad(wire_msg *m) { (void)m; t_peers[1] = ""; }
static void e_status_txid(wire_msg *m) { (void)m; t_status[0].txid = "a b"; }
static void e_status_state(wire_msg *m) { (void)m; t_status[1].state = TX_STATE_MAX + 1; }
static void e_forget_txid(wire_msg *m) { (void)m; t_txids[1] = ""; }
static void e_get_empty(wire_msg *m) { m->text = ""; }
static void e_get_null(wire_msg *m) { m->text = NULL; }
static void e_ack_ready(wire_msg *m) { m->state = TX_READY; }
static void e_decision_9(wire_msg *m) { m->state = 9; }
static void e_result_ready(wire_msg *m) { m->state = TX_READY; }
static void e_status_req_3(wire_msg *m) { m->state = 3; }
static void e_status_req_one(wire_msg *m) { m->state = 0; m->txid[0] = '\0'; }
static void e_get_reply_2(wire_msg *m) { m->state = 2; }

static void
e_key_1025(wire_msg *m)
{
	(void)m;
	t_fill(t_key_buf, WIRE_KEY_MAX + 1, 'k');
	t_ops_vote[0].key = t_key_buf;
}

static void
e_value_4097(wire_msg *m)
{
	(void)m;
	t_fill(t_val_buf, WIRE_VALUE_MAX + 1, 'v');
	t_ops_alpha[0].value = t_val_buf;
}

static void
e_text_4097(wire_msg *m)
{
	t_fill(t_val_buf, WIRE_TEXT_MAX + 1, 't');
	m->text = t_val_buf;
}

static void
e_get_key_1025(wire_msg *m)
{
	t_fill(t_key_buf, WIRE_KEY_MAX + 1, 'k');
	m->text = t_key_buf;
}

/* N ops put "k" = VALUE in t_many_ops. */
static void
t_many_ops_of(size_t n, char *value)
{
	for (size_t i = 0; i < n; i++)
		t_many_ops[i] = (wire_op){ WIRE_OP_PUT, "k", value };
}

static void
e_ops_1025(wire_msg *m)
{
	t_many_ops_of(WIRE_MAX_OPS + 1, "");
	m->ops = t_many_ops, m->nops = WIRE_MAX_OPS + 1;
}

static void
e_submit_65(wire_msg *m)
{
	t_many_ops_of(1, "v");
	for (size_t i = 0; i < WIRE_MAX_WORK + 1; i++)
		t_many_work[i] = (wire_work){ "p", 1, t_many_ops };
	m->work = t_many_work, m->nwork = WIRE_MAX_WORK + 1;
}

static void
e_peers_65(wire_msg *m)
{
	for (size_t i = 0; i < WIRE_MAX_WORK + 1; i++)
		t_many_names[i] = "p";
	m->peers = t_many_names, m->npeers = WIRE_MAX_WORK + 1;
}

static void
e_forget_4097(wire_msg *m)
{
	for (size_t i = 0; i < WIRE_MAX_LIST + 1; i++)
		t_many_txids[i] = "t";
	m->txids = t_many_txids, m->ntxids = WIRE_MAX_LIST + 1;
}

/* 17 values of 4096 bytes: every field within its cap, the message not. */
static void
e_too_big(wire_msg *m)
{
	t_many_ops_of(17, t_value_max);
	m->ops = t_many_ops, m->nops = 17;
}

typedef struct t_enc_bad {
	const char *name;
	int base;                   /* the type of the sample to edit */
	void (*edit)(wire_msg *m);
	int want;
} t_enc_bad;

#define EI TWOPC_EINVAL
#define EB TWOPC_ETOOBIG
static const t_enc_bad t_enc_bads[] = {
	{ "sender empty", WIRE_ACK, e_sender_empty, EI },
	{ "sender with a space", WIRE_ACK, e_sender_space, EI },
	{ "sender with a slash", WIRE_IAMALIVE, e_sender_slash, EI },
	{ "sender of 33 bytes via wire_msg_init", WIRE_ACK, e_sender_33, EI },
	{ "txid of 65 bytes via wire_msg_init", WIRE_ACK, e_txid_65, EI },
	{ "txid of 65 bytes on a type without txid", WIRE_STATUS_REQUEST, e_txid_65, EI },
	{ "txid with a space", WIRE_SUBMIT, e_txid_space, EI },
	{ "txid with a control byte", WIRE_GLOBAL_COMMIT, e_txid_ctrl, EI },
	{ "VOTE_REQUEST without txid", WIRE_VOTE_REQUEST, e_txid_none, EI },
	{ "VOTE_COMMIT without txid", WIRE_VOTE_COMMIT, e_txid_none, EI },
	{ "GLOBAL_COMMIT without txid", WIRE_GLOBAL_COMMIT, e_txid_none, EI },
	{ "GLOBAL_ABORT without txid", WIRE_GLOBAL_ABORT, e_txid_none, EI },
	{ "ACK without txid", WIRE_ACK, e_txid_none, EI },
	{ "DECISION_REQUEST without txid", WIRE_DECISION_REQUEST, e_txid_none, EI },
	{ "RESULT without txid", WIRE_RESULT, e_txid_none, EI },
	{ "RESOLVE without txid", WIRE_RESOLVE, e_txid_none, EI },
	{ "RESOLVE outcome READY", WIRE_RESOLVE, e_resolve_ready, EI },
	{ "RESOLVE force flag 2", WIRE_RESOLVE, e_resolve_force_2, EI },
	{ "RESOLVE forced forget", WIRE_RESOLVE, e_resolve_forced_forget, EI },
	{ "type 0", WIRE_ACK, e_type_0, EI },
	{ "type 20", WIRE_ACK, e_type_20, EI },
	{ "type 255", WIRE_ACK, e_type_255, EI },
	{ "non-zero flags", WIRE_ACK, e_flags, EI },
	{ "GLOBAL_COMMIT one-phase flag", WIRE_GLOBAL_COMMIT, e_flags, EI },
	{ "VOTE_REQUEST unknown flag 2", WIRE_VOTE_REQUEST, e_flags_2, EI },
	{ "op code 0", WIRE_VOTE_REQUEST, e_op_0, EI },
	{ "op code 5", WIRE_VOTE_REQUEST, e_op_5, EI },
	{ "SUBMIT op code 9", WIRE_SUBMIT, e_submit_op_9, EI },
	{ "empty key", WIRE_VOTE_REQUEST, e_key_empty, EI },
	{ "NULL key", WIRE_SUBMIT, e_key_null, EI },
	{ "key of 1025 bytes", WIRE_VOTE_REQUEST, e_key_1025, EB },
	{ "value of 4097 bytes", WIRE_SUBMIT, e_value_4097, EB },
	{ "VOTE_ABORT reason of 4097 bytes", WIRE_VOTE_ABORT, e_text_4097, EB },
	{ "ERROR text of 4097 bytes", WIRE_ERROR, e_text_4097, EB },
	{ "SUBMIT with 0 participants", WIRE_SUBMIT, e_submit_none, EI },
	{ "SUBMIT with 65 participants", WIRE_SUBMIT, e_submit_65, EB },
	{ "SUBMIT participant with 0 ops", WIRE_SUBMIT, e_submit_no_ops, EI },
	{ "SUBMIT participant with a bad name", WIRE_SUBMIT, e_submit_bad_name, EI },
	{ "ops above WIRE_MAX_OPS", WIRE_VOTE_REQUEST, e_ops_1025, EB },
	{ "VOTE_REQUEST with 65 peers", WIRE_VOTE_REQUEST, e_peers_65, EB },
	{ "VOTE_REQUEST with an empty peer", WIRE_VOTE_REQUEST, e_peer_bad, EI },
	{ "STATUS_REPLY entry with a bad txid", WIRE_STATUS_REPLY, e_status_txid, EI },
	{ "STATUS_REPLY entry with state 8", WIRE_STATUS_REPLY, e_status_state, EI },
	{ "FORGET with an empty txid", WIRE_FORGET, e_forget_txid, EI },
	{ "FORGET with 4097 txids", WIRE_FORGET, e_forget_4097, EB },
	{ "GET with an empty key", WIRE_GET, e_get_empty, EI },
	{ "GET with a NULL key", WIRE_GET, e_get_null, EI },
	{ "GET key of 1025 bytes", WIRE_GET, e_get_key_1025, EB },
	{ "ACK with state READY", WIRE_ACK, e_ack_ready, EI },
	{ "DECISION_REPLY with state 9", WIRE_DECISION_REPLY, e_decision_9, EI },
	{ "RESULT with state READY", WIRE_RESULT, e_result_ready, EI },
	{ "STATUS_REQUEST selector 3", WIRE_STATUS_REQUEST, e_status_req_3, EI },
	{ "STATUS_REQUEST single without txid", WIRE_STATUS_REQUEST, e_status_req_one, EI },
	{ "GET_REPLY flag 2", WIRE_GET_REPLY, e_get_reply_2, EI },
	{ "message larger than WIRE_MAX_MSG", WIRE_VOTE_REQUEST, e_too_big, EB },
};
#undef EI
#undef EB

static void
test_encode_checks(void)
{
	wire_buf b = { 0 };
	wire_msg m;

	for (size_t i = 0; i < T_NITEMS(t_enc_bads); i++) {
		const t_enc_bad *c = &t_enc_bads[i];
		const t_sample *s = t_sample_of(c->base);

		/* The unedited sample encodes: the edit alone is refused. */
		t_build(s, T_EPOCH, false, &m);
		int rv = wire_encode(&m, &b);
		T_CODE(rv, 0, c->name);
		t_build(s, T_EPOCH, false, &m);
		c->edit(&m);
		rv = wire_encode(&m, &b);
		T_CODE(rv, c->want, c->name);
	}
	wire_buf_free(&b);
}

/* ---- 6. the size limit, to the byte ---- */

static void
test_encode_limit(void)
{
	static char last[WIRE_VALUE_MAX + 2];
	wire_buf b = { 0 };
	wire_msg m, d;

	t_fill(t_value_max, WIRE_VALUE_MAX, 'V');
	t_many_ops_of(16, t_value_max);
	t_many_ops[15].value = last;
	last[0] = '\0';
	wire_msg_init(&m, WIRE_VOTE_REQUEST, UINT64_MAX, "tx-limit", "coord");
	m.ops = t_many_ops, m.nops = 16;
	T_CODE(wire_encode(&m, &b), 0, "limit probe");
	size_t room = WIRE_MAX_MSG - b.len;
	T_CHECK(b.len < WIRE_MAX_MSG && room <= WIRE_VALUE_MAX, "probe is %zu bytes", b.len);
	if (b.len >= WIRE_MAX_MSG || room > WIRE_VALUE_MAX)
		goto out;

	t_fill(last, room, 'L');
	int rv = wire_encode(&m, &b);
	T_CODE(rv, 0, "exactly WIRE_MAX_MSG");
	T_CHECK(b.len == WIRE_MAX_MSG, "encoded %zu bytes, want %u", b.len, WIRE_MAX_MSG);
	rv = t_decode(b.data, b.len, &d);
	T_CODE(rv, 0, "decode exactly WIRE_MAX_MSG");
	if (rv == 0) {
		t_same_msg("exactly WIRE_MAX_MSG", &m, &d);
		wire_msg_free(&d);
	}
	/* One byte more: refused by the encoder, and by the decoder before all else. */
	uint8_t *big = malloc(WIRE_MAX_MSG + 1);
	if (big == NULL)
		abort();
	memcpy(big, b.data, WIRE_MAX_MSG);
	big[WIRE_MAX_MSG] = 0;
	rv = t_decode(big, WIRE_MAX_MSG + 1, &d);
	T_CODE(rv, TWOPC_ETOOBIG, "decode WIRE_MAX_MSG + 1");
	free(big);
	t_fill(last, room + 1, 'L');
	rv = wire_encode(&m, &b);
	T_CODE(rv, TWOPC_ETOOBIG, "encode WIRE_MAX_MSG + 1");
out:
	wire_buf_free(&b);
}

/* ---- 7. seeded random mutation ---- */

#define T_MUTATIONS 20000
#define T_SEED 0x2bc0ffee5eed1234ull

static uint64_t t_rng;

static uint64_t
t_rand(void)
{
	t_rng ^= t_rng >> 12;
	t_rng ^= t_rng << 25;
	t_rng ^= t_rng >> 27;
	return t_rng * 0x2545f4914f6cdd1dull;
}

static size_t
t_below(size_t n)
{
	return n ? (size_t)(t_rand() % n) : 0;
}

/* One random edit of B (which has room for a few more bytes). */
static void
t_mutate(t_bytes *b)
{
	static const uint8_t odd[] = { 0x00, 0x01, 0x02, 0x03, 0x04, 0x07, 0x08, 0x20, 0x40,
	    0x41, 0x7e, 0x7f, 0x80, 0xfe, 0xff };
	size_t at = t_below(b->len + 1);
	uint8_t v = t_rand() & 1 ? odd[t_below(sizeof odd)] : (uint8_t)t_rand();

	switch (t_below(6)) {
	case 0: /* flip one bit */
		if (at < b->len)
			b->p[at] ^= (uint8_t)(1u << t_below(8));
		break;
	case 1: /* set one byte */
		if (at < b->len)
			b->p[at] = v;
		break;
	case 2: /* insert one byte */
		t_put(b, "", 1);
		memmove(b->p + at + 1, b->p + at, b->len - 1 - at);
		b->p[at] = v;
		break;
	case 3: /* delete one byte */
		if (at < b->len) {
			memmove(b->p + at, b->p + at + 1, b->len - at - 1);
			b->len--;
		}
		break;
	case 4: /* cut */
		b->len = at;
		break;
	default: /* duplicate up to 8 bytes in place */
		if (at < b->len) {
			size_t n = 1 + t_below(8);
			if (n > b->len - at)
				n = b->len - at;
			uint8_t tmp[8];
			memcpy(tmp, b->p + at, n);
			size_t old = b->len;
			t_put(b, tmp, n);
			memmove(b->p + at + n, b->p + at, old - at);
			memcpy(b->p + at, tmp, n);
		}
		break;
	}
}

static void
test_mutation(void)
{
	t_bytes base[T_NITEMS(t_samples)];
	wire_buf enc = { 0 }, again = { 0 };
	size_t accepted = 0, rejected = 0, problems = 0;

	t_rng = T_SEED;
	for (size_t i = 0; i < T_NITEMS(t_samples); i++) {
		wire_msg m;
		memset(&base[i], 0, sizeof base[i]);
		t_build(&t_samples[i], 0x0102030405060708ull, true, &m);
		T_CODE(wire_encode(&m, &enc), 0, t_samples[i].name);
		t_put(&base[i], enc.data, enc.len);
	}
	for (int it = 0; it < T_MUTATIONS; it++) {
		const t_bytes *src = &base[t_below(T_NITEMS(t_samples))];
		t_bytes in = { 0 };
		t_layout l;
		wire_msg d, d2;
		bool bad = false;

		t_put(&in, src->p, src->len);
		for (size_t n = 1 + t_below(3); n > 0; n--)
			t_mutate(&in);
		/* Half the time make the body length agree, so edits reach the body. */
		if (t_rand() & 1 && t_layout_of(in.p, in.len, &l))
			t_set_u32(in.p + l.blen_at, (uint32_t)(in.len - l.body_at));

		int rv = t_decode(in.p, in.len, &d);
		if (rv != 0) {
			rejected++;
			bad = rv != TWOPC_EPROTO || wire_last_error()[0] == '\0';
		} else {
			accepted++;
			rv = wire_encode(&d, &again);
			bad = rv != 0 || again.len != in.len || memcmp(again.data, in.p, in.len) != 0;
			if (!bad) {
				rv = t_decode(again.data, again.len, &d2);
				bad = rv != 0 || d2.type != d.type || d2.epoch != d.epoch ||
				    strcmp(d2.txid, d.txid) != 0 || strcmp(d2.sender, d.sender) != 0;
				if (rv == 0)
					wire_msg_free(&d2);
			}
			wire_msg_free(&d);
		}
		if (bad && problems++ < 10)
			T_CHECK(false, "mutation %d (seed %#llx): rv %d, reason \"%s\"", it,
			    (unsigned long long)T_SEED, rv, wire_last_error());
		t_bytes_free(&in);
	}
	CU_ASSERT_EQUAL(problems, 0);
	/* Neither side empty, or the loop proved little. */
	T_CHECK(accepted >= T_MUTATIONS / 50 && rejected >= T_MUTATIONS / 2,
	    "accepted %zu, rejected %zu of %d", accepted, rejected, T_MUTATIONS);
	for (size_t i = 0; i < T_NITEMS(t_samples); i++)
		t_bytes_free(&base[i]);
	wire_buf_free(&enc);
	wire_buf_free(&again);
}

/* ---- 8. names and validity ---- */

typedef struct t_valid {
	const char *name;
	const char *s;
	int want;
} t_valid;

static void
test_names(void)
{
	static const char *const types[] = { NULL, "SUBMIT", "RESULT", "VOTE_REQUEST",
	    "VOTE_COMMIT", "VOTE_ABORT", "GLOBAL_COMMIT", "GLOBAL_ABORT", "ACK",
	    "DECISION_REQUEST", "DECISION_REPLY", "STATUS_REQUEST", "STATUS_REPLY", "FORGET",
	    "IAMALIVE", "ERROR", "GET", "GET_REPLY", "VOTE_READONLY", "RESOLVE", "BATCH" };
	static const char *const ops[] = { NULL, "put", "del", "check", "add" };
	static const int bad_types[] = { 0, -1, WIRE_TYPE_MAX + 1, 255, 256, -256 };
	static const int bad_ops[] = { 0, -1, 5, 255, 257 };
	static const char *const bad_op_names[] = { "", "PUT", "Put", "pu", "puts", "put ",
	    " put", "delete", "get", "?" };
	static const t_valid txids[] = {
		{ "one byte", "a", 1 },
		{ "64 bytes", T_TXID64, 1 },
		{ "punctuation", "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", 1 },
		{ "empty", "", 0 },
		{ "65 bytes", T_TXID65, 0 },
		{ "a space", "tx 1", 0 },
		{ "a tab", "tx\t1", 0 },
		{ "a control byte", "tx\x01", 0 },
		{ "0x7f", "tx\x7f", 0 },
		{ "a UTF-8 letter", "tx\xc3\xbc", 0 },
		{ "NULL", NULL, 0 },
	};
	static const t_valid names[] = {
		{ "one byte", "a", 1 },
		{ "every allowed class", "Az09_.-", 1 },
		{ "32 bytes", T_NAME32, 1 },
		{ "empty", "", 0 },
		{ "33 bytes", T_NAME33, 0 },
		{ "a space", "al pha", 0 },
		{ "a slash", "a/b", 0 },
		{ "a colon", "a:1", 0 },
		{ "a plus", "a+b", 0 },
		{ "a UTF-8 letter", "\xc3\xbc", 0 },
		{ "a control byte", "a\x01", 0 },
		{ "NULL", NULL, 0 },
	};

	for (int t = 1; t <= WIRE_TYPE_MAX; t++)
		T_CHECK(strcmp(wire_type_name(t), types[t]) == 0, "type %d is %s", t,
		    wire_type_name(t));
	for (size_t i = 0; i < T_NITEMS(bad_types); i++)
		T_CHECK(strcmp(wire_type_name(bad_types[i]), "?") == 0, "type %d is %s",
		    bad_types[i], wire_type_name(bad_types[i]));
	for (int op = WIRE_OP_PUT; op <= WIRE_OP_ADD; op++) {
		const char *n = wire_op_name(op);
		T_CHECK(n != NULL && strcmp(n, ops[op]) == 0, "op %d is %s", op, n ? n : "NULL");
		CU_ASSERT_EQUAL(wire_op_parse(ops[op]), op);
	}
	for (size_t i = 0; i < T_NITEMS(bad_ops); i++)
		T_CHECK(wire_op_name(bad_ops[i]) == NULL, "op %d has a name", bad_ops[i]);
	for (size_t i = 0; i < T_NITEMS(bad_op_names); i++) {
		int op = wire_op_parse(bad_op_names[i]);
		T_CODE(op, 0, bad_op_names[i]);
	}
	CU_ASSERT_EQUAL(wire_op_parse(NULL), 0);
	for (size_t i = 0; i < T_NITEMS(txids); i++) {
		int ok = wire_txid_valid(txids[i].s);
		T_CODE(ok, txids[i].want, txids[i].name);
	}
	for (size_t i = 0; i < T_NITEMS(names); i++) {
		int ok = wire_name_valid(names[i].s);
		T_CODE(ok, names[i].want, names[i].name);
	}
}

void
test_wire_register(void)
{
	static const tu_test tests[] = {
		{ "roundtrip", test_roundtrip },
		{ "golden", test_golden },
		{ "malformed", test_malformed },
		{ "truncation", test_truncation },
		{ "encode_checks", test_encode_checks },
		{ "encode_limit", test_encode_limit },
		{ "mutation", test_mutation },
		{ "names", test_names },
	};
	TU_SUITE("wire", tests);
}
