/*
 * test_batch.c - batching: the BATCH envelope of the wire format, the
 * group transaction of the log, a participant answering a BATCH exactly
 * as it answers each message alone, and the channel that puts concurrent
 * requests to one peer into one message.
 *
 * The wire and log cases run in process on real SQLite files; the rest
 * on a real participant over loopback (harness.h), with envelopes built
 * by hand so that what travels is known byte for byte.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include "db.h"
#include "harness.h"
#include "histo.h"
#include "mclock.h"
#include "rpc.h"
#include "testutil.h"
#include "tmr.h"
#include "twopc/client.h"
#include "twopc/error.h"
#include "txstate.h"
#include "wire.h"

/* ---- the envelope ---- */

/* Encode M into a fresh buffer: the bytes, or NULL. */
static uint8_t *
t_enc(const wire_msg *m, size_t *len)
{
	wire_buf b = { 0 };
	if (wire_encode(m, &b) != 0) {
		wire_buf_free(&b);
		return NULL;
	}
	*len = b.len;
	return b.data;
}

static void
test_envelope(void)
{
	wire_msg m[3], env, d, in;
	wire_item items[3];
	uint8_t *enc[3];
	wire_buf b = { 0 }, again = { 0 };

	wire_msg_init(&m[0], WIRE_ACK, 7, "tx-1", "alpha");
	m[0].state = TX_COMMIT;
	wire_msg_init(&m[1], WIRE_VOTE_ABORT, 7, "tx-2", "alpha");
	m[1].text = "key 'k' is locked by tx-1";
	wire_msg_init(&m[2], WIRE_DECISION_REPLY, 7, "tx-3", "alpha");
	m[2].state = TX_READY;
	for (int i = 0; i < 3; i++) {
		enc[i] = t_enc(&m[i], &items[i].len);
		T_CHECK(enc[i] != NULL, "message %d encodes", i);
		items[i].data = enc[i];
	}
	wire_msg_init(&env, WIRE_BATCH, 7, "", "alpha");
	env.nitems = 3;
	env.items = items;
	T_EQ(wire_encode(&env, &b), 0);
	T_EQ(wire_decode(b.data, b.len, &d), 0);
	T_EQ(d.type, WIRE_BATCH);
	T_EQ(d.nitems, 3);
	for (size_t i = 0; i < d.nitems && i < 3; i++) {
		T_EQ(wire_batch_item(&d, i, &in), 0);
		T_EQ(in.type, m[i].type);
		T_STREQ(in.txid, m[i].txid);
		T_EQ(in.epoch, 7);
		wire_msg_free(&in);
	}
	/* Decoded and encoded again: the same bytes. */
	T_EQ(wire_encode(&d, &again), 0);
	T_CHECK(again.len == b.len && memcmp(again.data, b.data, b.len) == 0,
	    "re-encoded BATCH differs");
	wire_msg_free(&d);

	/* The layout of wire.h, byte for byte: one ACK in an envelope. */
	static const uint8_t golden[] = {
		'2', 'P', 'C', WIRE_VERSION, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7, 0, 5, 'a', 'l', 'p', 'h', 'a',
		0, 0, 0, 38, 0, 1, 0, 0, 0, 32,
		'2', 'P', 'C', WIRE_VERSION, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7, 4, 't', 'x', '-', '1',
		5, 'a', 'l', 'p', 'h', 'a', 0, 0, 0, 1, TX_COMMIT,
	};
	env.nitems = 1;
	T_EQ(wire_encode(&env, &b), 0);
	T_CHECK(b.len == sizeof(golden) && memcmp(b.data, golden, b.len) == 0,
	    "one-ACK envelope differs from the layout of wire.h");
	for (int i = 0; i < 3; i++)
		free(enc[i]);
	wire_buf_free(&b);
	wire_buf_free(&again);
}

/* An envelope of the N encoded messages at ITEMS from SENDER, as bytes. */
static uint8_t *
t_env(const char *sender, wire_item *items, size_t n, size_t *len)
{
	wire_msg env;
	wire_msg_init(&env, WIRE_BATCH, 1, "", sender);
	env.nitems = n;
	env.items = items;
	return t_enc(&env, len);
}

static void
test_envelope_refused(void)
{
	wire_msg ack, sub, d, in;
	wire_item it[2];
	size_t len = 0;
	uint8_t *p;

	wire_msg_init(&ack, WIRE_ACK, 1, "tx-1", "coord");
	ack.state = TX_COMMIT;
	it[0].data = t_enc(&ack, &it[0].len);
	/* Encoder: no empty batch, no item shorter than a header, no nesting. */
	T_CHECK(t_env("coord", it, 0, &len) == NULL, "empty BATCH encoded");
	wire_item shorty = { it[0].data, 7 };
	T_CHECK(t_env("coord", &shorty, 1, &len) == NULL, "7-byte item encoded");

	/* Decoder: a count of 0 and 129, an item cut, a BATCH inside. */
	p = t_env("coord", it, 1, &len);
	CU_ASSERT_FATAL(p != NULL);
	size_t count_at = len - it[0].len - 6;
	p[count_at + 1] = 0;
	T_EQ(wire_decode(p, len, &d), TWOPC_EPROTO);
	T_HAS(wire_last_error(), "empty BATCH");
	p[count_at + 1] = 129;
	T_EQ(wire_decode(p, len, &d), TWOPC_EPROTO);
	p[count_at + 1] = 1;
	T_EQ(wire_decode(p, len - 1, &d), TWOPC_EPROTO);
	p[count_at + 2 + 4 + 4] = WIRE_BATCH;  /* the item's type byte */
	T_EQ(wire_decode(p, len, &d), TWOPC_EPROTO);
	T_HAS(wire_last_error(), "BATCH inside a BATCH");
	free(p);

	/* An item from another sender, and a client's request, are refused
	 * one by one (the envelope itself decodes). */
	p = t_env("mallory", it, 1, &len);
	T_EQ(wire_decode(p, len, &d), 0);
	T_EQ(wire_batch_item(&d, 0, &in), TWOPC_EPROTO);
	T_HAS(wire_last_error(), "another sender");
	wire_msg_free(&d);
	free(p);
	wire_op op = { WIRE_OP_PUT, "k", "v" };
	wire_work w = { "alpha", 1, &op };
	wire_msg_init(&sub, WIRE_SUBMIT, 1, NULL, "coord");
	sub.nwork = 1;
	sub.work = &w;
	it[1].data = t_enc(&sub, &it[1].len);
	CU_ASSERT_FATAL(it[1].data != NULL);
	/* SUBMITs travel only among themselves ... */
	p = t_env("coord", it, 2, &len);
	CU_ASSERT_FATAL(p != NULL);
	T_EQ(wire_decode(p, len, &d), TWOPC_EPROTO);
	T_HAS(wire_last_error(), "mixing SUBMITs with other messages");
	free(p);
	/* ... where each decodes as if it came alone ... */
	free((void *)it[0].data);
	it[0].data = t_enc(&sub, &it[0].len);
	p = t_env("coord", it, 2, &len);
	T_EQ(wire_decode(p, len, &d), 0);
	for (size_t i = 0; i < 2; i++) {
		T_EQ(wire_batch_item(&d, i, &in), 0);
		T_EQ(in.type, WIRE_SUBMIT);
		T_EQ(in.nwork, 1);
		wire_msg_free(&in);
	}
	wire_msg_free(&d);
	free(p);
	/* ... and no other client's request travels in a BATCH. */
	wire_msg st;
	wire_msg_init(&st, WIRE_STATUS_REQUEST, 1, "tx-1", "coord");
	free((void *)it[1].data);
	it[1].data = t_enc(&st, &it[1].len);
	free((void *)it[0].data);
	it[0].data = t_enc(&ack, &it[0].len);
	p = t_env("coord", it, 2, &len);
	T_EQ(wire_decode(p, len, &d), 0);
	T_EQ(wire_batch_item(&d, 1, &in), TWOPC_EPROTO);
	T_HAS(wire_last_error(), "client's request other than SUBMIT");
	wire_msg_free(&d);
	free(p);
	free((void *)it[0].data);
	free((void *)it[1].data);
}

/* Replies may be larger than requests: only a BATCH above WIRE_MAX_MSG. */
static void
test_envelope_sizes(void)
{
	static char text[4001];
	wire_item items[40];
	wire_msg m, env, d;
	wire_buf b = { 0 };
	memset(text, 'x', sizeof(text) - 1);
	wire_msg_init(&m, WIRE_VOTE_ABORT, 1, "tx", "alpha");
	m.text = text;
	for (size_t i = 0; i < 40; i++)
		items[i].data = t_enc(&m, &items[i].len);
	wire_msg_init(&env, WIRE_BATCH, 1, "", "alpha");
	env.nitems = 40;
	env.items = items;
	T_EQ(wire_encode(&env, &b), TWOPC_ETOOBIG);   /* a request's limit */
	b.limit = WIRE_MAX_BATCH;
	T_EQ(wire_encode(&env, &b), 0);
	T_CHECK(b.len > WIRE_MAX_MSG, "reply envelope of %zu bytes", b.len);
	T_EQ(wire_decode(b.data, b.len, &d), 0);
	T_EQ(d.nitems, 40);
	wire_msg_free(&d);
	/* The same size as a plain message: refused. */
	b.data[4] = WIRE_VOTE_ABORT;
	T_EQ(wire_decode(b.data, b.len, &d), TWOPC_ETOOBIG);
	for (size_t i = 0; i < 40; i++)
		free((void *)items[i].data);
	wire_buf_free(&b);
}

/* ---- the group transaction ---- */

static int t_durable_rc = 99, t_durable_calls;

static void
t_durable_cb(void *arg, int rc)
{
	(void)arg;
	t_durable_rc = rc;
	t_durable_calls++;
}

/* Rows of table t in PATH, seen from another connection. */
static int
t_rows(const char *path, const char *where)
{
	char sql[128];
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM t WHERE %s", where);
	return (int)hc_file_int(path, sql);
}

static int
t_put(db *d, const char *k)
{
	char sql[64];
	snprintf(sql, sizeof(sql), "INSERT INTO t VALUES ('%s')", k);
	return db_exec(d, sql);
}

typedef struct t_flush_arg {
	db *d;
	const char *path;
	int ok;
} t_flush_arg;

static void *
t_flush_body(void *arg)
{
	t_flush_arg *fa = arg;
	db *d = fa->d;
	fa->ok = db_group_begin(d) == 0 && db_begin(d) == 0 && t_put(d, "d") == 0 &&
	    db_commit(d) == 0;
	db_durable_async(d, t_durable_cb, NULL);
	fa->ok = fa->ok && db_durable(d) == 0 && t_rows(fa->path, "k = 'd'") == 1 &&
	    db_begin(d) == 0 && t_put(d, "e") == 0 && db_commit(d) == 0 &&
	    t_rows(fa->path, "k = 'e'") == 0 && db_group_end(d) == 0 &&
	    t_rows(fa->path, "k = 'e'") == 1;
	return NULL;
}

static void
test_group(void)
{
	char dir[] = "/tmp/twopc-group-XXXXXX", path[64];
	db *d;
	T_CHECK(mkdtemp(dir) != NULL, "mkdtemp");
	snprintf(path, sizeof(path), "%s/g.db", dir);
	T_EQ(db_open(path, 1, "CREATE TABLE IF NOT EXISTS t(k TEXT PRIMARY KEY)", &d), 0);
	uint64_t commits = db_commits(d);

	T_EQ(db_group_begin(d), 0);
	/* Member 1 forced, its reply waiting for the group. */
	db_lock(d);
	T_EQ(db_begin(d), 0);
	T_EQ(t_put(d, "a"), 0);
	T_EQ(db_commit(d), 0);
	db_unlock(d);
	db_durable_async(d, t_durable_cb, NULL);
	T_EQ(t_durable_calls, 0);
	/* Member 2 rolled back: its row goes, member 1's stays. */
	T_EQ(db_begin(d), 0);
	T_EQ(t_put(d, "b"), 0);
	db_rollback(d);
	/* Member 3 lazy, and it sees member 1's row. */
	T_EQ(db_begin_lazy(d), 0);
	T_CHECK(t_put(d, "a") != 0, "member 3 does not see member 1's row");
	T_EQ(t_put(d, "c"), 0);
	T_EQ(db_commit(d), 0);
	/* Nothing is in the log before the group's COMMIT. */
	T_EQ(t_rows(path, "1"), 0);
	T_EQ(db_group_end(d), 0);
	T_EQ(t_durable_calls, 1);
	T_EQ(t_durable_rc, 0);
	T_EQ(db_commits(d) - commits, 1);
	T_EQ(t_rows(path, "k = 'a'"), 1);
	T_EQ(t_rows(path, "k = 'b'"), 0);
	T_EQ(t_rows(path, "k = 'c'"), 1);

	/* db_durable inside a group commits what the group holds so far (and
	 * runs what waited for it: here a deferred reply, which leads a sync
	 * of its own), and the members go on in a new one. On a thread of its
	 * own, bounded: a self-deadlock must fail the test, not hang it. */
	t_flush_arg fa = { d, path, -1 };
	pthread_t th;
	struct timespec until;
	T_EQ(pthread_create(&th, NULL, t_flush_body, &fa), 0);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	int joined = pthread_timedjoin_np(th, NULL, &until) == 0;
	T_CHECK(joined, "db_durable inside a group with a deferred reply returns");
	if (!joined)
		return; /* the thread holds the db for good: leave it */
	T_EQ(fa.ok, 1);
	T_EQ(t_durable_calls, 2);
	db_close(d);

	/* Without savepoints (db_group_savepoints 0): no SQL per member; a
	 * member that rolls back having written nothing leaves the group
	 * alone, one that wrote fails it, and with it every member. */
	snprintf(path, sizeof(path), "%s/n.db", dir);
	T_EQ(db_open(path, 1, "CREATE TABLE IF NOT EXISTS t(k TEXT PRIMARY KEY)", &d), 0);
	db_group_savepoints(d, 0);
	T_EQ(db_group_begin(d), 0);
	T_EQ(db_begin(d), 0);
	T_EQ(t_put(d, "a"), 0);
	T_EQ(db_commit(d), 0);
	db_durable_async(d, t_durable_cb, NULL);
	T_EQ(db_begin(d), 0);
	db_rollback(d);
	T_EQ(db_begin_lazy(d), 0);
	T_EQ(t_put(d, "c"), 0);
	T_EQ(db_commit(d), 0);
	T_EQ(db_group_end(d), 0);
	T_EQ(t_durable_calls, 3);
	T_EQ(t_durable_rc, 0);
	T_EQ(t_rows(path, "k IN ('a', 'c')"), 2);
	T_EQ(db_group_begin(d), 0);
	T_EQ(db_begin(d), 0);
	T_EQ(t_put(d, "x"), 0);
	T_EQ(db_commit(d), 0);
	db_durable_async(d, t_durable_cb, NULL);
	T_EQ(db_begin(d), 0);
	T_EQ(t_put(d, "y"), 0);
	db_rollback(d);
	T_EQ(db_group_end(d), TWOPC_EIO);
	T_EQ(t_durable_calls, 4);
	T_EQ(t_durable_rc, TWOPC_EIO);
	T_EQ(t_rows(path, "k IN ('x', 'y')"), 0);
	db_close(d);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	T_EQ(system(cmd), 0);
}

/* ---- a participant answering a BATCH ---- */

#define A 1
#define B 2

/* A VOTE_REQUEST from coord (epoch 1) putting KEY=VAL, naming alpha, beta. */
static uint8_t *
t_vote(const char *txid, const char *key, const char *val, size_t *len)
{
	static char *peers[] = { "alpha", "beta" };
	wire_op op = { WIRE_OP_PUT, (char *)key, (char *)val };
	wire_msg m;
	wire_msg_init(&m, WIRE_VOTE_REQUEST, 1, txid, "coord");
	m.npeers = 2;
	m.peers = peers;
	m.nops = 1;
	m.ops = &op;
	return t_enc(&m, len);
}

static uint8_t *
t_global(int type, const char *txid, size_t *len)
{
	wire_msg m;
	wire_msg_init(&m, type, 1, txid, "coord");
	return t_enc(&m, len);
}

/* Send the envelope of ITEMS to URL on a raw REQ socket; decode the reply
 * into *REP. 0, or -1 when no reply came within TIMEOUT_MS. */
static int
t_raw(const char *url, wire_item *items, size_t n, const char *sender, wire_msg *rep,
    int timeout_ms)
{
	nng_socket s;
	size_t len;
	void *buf = NULL;
	size_t rlen;
	int rv = -1;
	uint8_t *p = n == 1 && sender == NULL ? (uint8_t *)items[0].data :
	    t_env(sender ? sender : "coord", items, n, &len);
	if (n == 1 && sender == NULL)
		len = items[0].len;
	if (p == NULL || nng_req0_open(&s) != 0)
		return -1;
	nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, timeout_ms);
	nng_socket_set_ms(s, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
	nng_socket_set_size(s, NNG_OPT_RECVMAXSZ, WIRE_MAX_BATCH);
	if (nng_dial(s, url, NULL, 0) == 0 && nng_send(s, p, len, 0) == 0 &&
	    nng_recv(s, &buf, &rlen, NNG_FLAG_ALLOC) == 0) {
		rv = wire_decode(buf, rlen, rep) == 0 ? 0 : -1;
		nng_free(buf, rlen);
	}
	nng_close(s);
	if (p != items[0].data)
		free(p);
	return rv;
}

/* Check REP is a BATCH of N replies of TYPES for TXIDS. */
static void
t_expect(const wire_msg *rep, size_t n, const int *types, const char *const *txids)
{
	T_EQ(rep->type, WIRE_BATCH);
	T_EQ(rep->nitems, n);
	for (size_t i = 0; i < n && i < rep->nitems; i++) {
		wire_msg in;
		T_EQ(wire_batch_item(rep, i, &in), 0);
		T_CHECK(in.type == types[i], "reply %zu: %s, want %s", i, wire_type_name(in.type),
		    wire_type_name(types[i]));
		T_STREQ(in.txid, txids[i]);
		wire_msg_free(&in);
	}
}

static void
test_participant_batch(void)
{
	hcluster c;
	wire_item it[4];
	wire_msg rep;
	char v[16];
	static const char *const txids[] = { "b-1", "b-2", "b-3", "b-4" };

	CU_ASSERT_FATAL(hc_create(&c, 2, 2000, 60000) == 0);
	CU_ASSERT_FATAL(hc_start(&c, A, NULL) == 0);
	/* b-3 wants the key b-1 stages just before it in the same batch: it
	 * is answered busy (a VOTE_ABORT flagged busy, R5: the coordinator
	 * decides whether to wait) and its savepoint goes, b-1's READY stays;
	 * b-3 leaves no record. */
	it[0].data = t_vote("b-1", "k1", "1", &it[0].len);
	it[1].data = t_vote("b-2", "k2", "2", &it[1].len);
	it[2].data = t_vote("b-3", "k1", "3", &it[2].len);
	it[3].data = t_vote("b-4", "k4", "4", &it[3].len);
	static const int votes[] = { WIRE_VOTE_COMMIT, WIRE_VOTE_COMMIT, WIRE_VOTE_ABORT,
		WIRE_VOTE_COMMIT };
	for (int round = 0; round < 2; round++) {  /* the second: a duplicate, same votes */
		CU_ASSERT_FATAL(t_raw(c.urls[A], it, 4, "coord", &rep, 5000) == 0);
		t_expect(&rep, 4, votes, txids);
		wire_msg_free(&rep);
	}
	for (int i = 0; i < 4; i++)
		free((void *)it[i].data);
	T_EQ(hc_wait_state(&c, A, "b-1", "READY", 10), 0);
	T_EQ(hc_wait_state(&c, A, "b-2", "READY", 10), 0);
	T_EQ(hc_query_int(&c, A, "SELECT count(*) FROM txn WHERE txid = 'b-3'"), 0);
	T_EQ(hc_wait_state(&c, A, "b-4", "READY", 10), 0);
	T_EQ(hc_query_int(&c, A, "SELECT count(*) FROM workspace WHERE txid = 'b-3'"), 0);
	T_EQ(hc_query_int(&c, A, "SELECT count(*) FROM locks WHERE key = 'k1' AND txid = 'b-1'"), 1);

	/* Phase two in one batch: commit, abort, commit. */
	it[0].data = t_global(WIRE_GLOBAL_COMMIT, "b-1", &it[0].len);
	it[1].data = t_global(WIRE_GLOBAL_ABORT, "b-2", &it[1].len);
	it[2].data = t_global(WIRE_GLOBAL_COMMIT, "b-4", &it[2].len);
	static const int acks[] = { WIRE_ACK, WIRE_ACK, WIRE_ACK };
	static const char *const gtx[] = { "b-1", "b-2", "b-4" };
	CU_ASSERT_FATAL(t_raw(c.urls[A], it, 3, "coord", &rep, 5000) == 0);
	t_expect(&rep, 3, acks, gtx);
	wire_msg_free(&rep);
	hc_kv(&c, A, "k1", v, sizeof(v));
	T_STREQ(v, "1");
	hc_kv(&c, A, "k4", v, sizeof(v));
	T_STREQ(v, "4");
	T_EQ(hc_query_int(&c, A, "SELECT count(*) FROM kv WHERE key = 'k2'"), 0);
	T_EQ(hc_query_int(&c, A, "SELECT count(*) FROM locks"), 0);

	/* An item that is not the envelope's sender's: no reply at all, and
	 * the participant says why. */
	free((void *)it[1].data);
	it[1].data = t_vote("b-5", "k5", "5", &it[1].len);
	CU_ASSERT(t_raw(c.urls[A], &it[1], 1, "mallory", &rep, 500) != 0);
	T_EQ(hc_wait_log_line(&c, A, "another sender than its envelope", 5000), 0);
	T_EQ(hc_query_int(&c, A, "SELECT count(*) FROM txn WHERE txid = 'b-5'"), 0);
	/* A peer speaking wire version 1: refused, with the versions named. */
	((uint8_t *)it[1].data)[3] = 1;
	CU_ASSERT(t_raw(c.urls[A], &it[1], 1, NULL, &rep, 500) != 0);
	T_EQ(hc_wait_log_line(&c, A, "the peer speaks wire version 1; this node speaks 4", 5000), 0);
	for (int i = 0; i < 3; i++)
		free((void *)it[i].data);
	hc_destroy(&c);
}

/* ---- the channel: concurrent requests to one peer share a message ---- */

/* A node's counters "requests" and "messages_sent" (STATUS_REQUEST
 * selector 2), read by one request: 0, or -1. */
static int
t_counters(const char *url, long long *served, long long *sent)
{
	nng_socket s;
	wire_msg req, rep;
	*served = *sent = -1;
	if (rpc_dial(url, 0, &s) != 0)
		return -1;
	wire_msg_init(&req, WIRE_STATUS_REQUEST, 0, NULL, "client");
	req.state = 2;
	if (rpc_call(s, &req, &rep, 2000) == 0) {
		for (size_t i = 0; rep.type == WIRE_STATUS_REPLY && i < rep.nstatus; i++) {
			if (strcmp(rep.status[i].txid, "requests") == 0)
				*served = (long long)rep.status[i].epoch;
			if (strcmp(rep.status[i].txid, "messages_sent") == 0)
				*sent = (long long)rep.status[i].epoch;
		}
		wire_msg_free(&rep);
	}
	rpc_close(s);
	return *served >= 0 && *sent >= 0 ? 0 : -1;
}

typedef struct t_done {
	pthread_mutex_t mtx;
	pthread_cond_t cv;
	rpc_batch *b;
} t_done;

static void
t_done_cb(rpc_batch *b, void *arg)
{
	t_done *d = arg;
	pthread_mutex_lock(&d->mtx);
	d->b = b;
	pthread_cond_signal(&d->cv);
	pthread_mutex_unlock(&d->mtx);
}

/* D's batch once it has ended, taken from D; NULL after 20 s (a request
 * that never leaves fails its case instead of hanging the suite). */
static rpc_batch *
t_wait(t_done *d)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 20;
	pthread_mutex_lock(&d->mtx);
	while (d->b == NULL && pthread_cond_timedwait(&d->cv, &d->mtx, &until) == 0)
		;
	rpc_batch *b = d->b;
	d->b = NULL;
	pthread_mutex_unlock(&d->mtx);
	return b;
}

#define T_NREQ 20

static void
test_channel(void)
{
	hcluster c;
	nng_socket s;
	wire_msg reqs[T_NREQ];
	const wire_msg *preqs[T_NREQ];
	nng_socket socks[T_NREQ];
	char txids[T_NREQ][16], keys[T_NREQ][16];
	wire_op ops[T_NREQ];
	char *peers[] = { "beta" };
	t_done done = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL };

	CU_ASSERT_FATAL(hc_create(&c, 2, 2000, 60000) == 0);
	CU_ASSERT_FATAL(hc_start(&c, B, NULL) == 0);
	CU_ASSERT_FATAL(rpc_dial(c.urls[B], 1, &s) == 0);
	long long served0, sent0, served, sent;
	T_EQ(t_counters(c.urls[B], &served0, &sent0), 0);
	/* beta paused: the first request stays in flight, the others queue
	 * behind it and must leave together once it is answered. */
	T_EQ(hc_signal(&c, B, SIGSTOP), 0);
	for (int i = 0; i < T_NREQ; i++) {
		snprintf(txids[i], sizeof(txids[i]), "ch-%d", i);
		snprintf(keys[i], sizeof(keys[i]), "ck-%d", i);
		ops[i] = (wire_op){ WIRE_OP_PUT, keys[i], "1" };
		wire_msg_init(&reqs[i], WIRE_VOTE_REQUEST, 1, txids[i], "coord");
		reqs[i].npeers = 1;
		reqs[i].peers = peers;
		reqs[i].nops = 1;
		reqs[i].ops = &ops[i];
		preqs[i] = &reqs[i];
		socks[i] = s;
	}
	T_EQ(rpc_batch_start(T_NREQ, socks, preqs, 10000, t_done_cb, &done), 0);
	T_EQ(hc_signal(&c, B, SIGCONT), 0);
	rpc_batch *b = t_wait(&done);
	CU_ASSERT_FATAL(b != NULL);
	for (int i = 0; i < T_NREQ; i++) {
		wire_msg rep;
		int rv = rpc_batch_result(b, (size_t)i, &rep);
		T_CHECK(rv == 0 && rep.type == WIRE_VOTE_COMMIT && strcmp(rep.txid, txids[i]) == 0,
		    "request %d: rv %d, %s for %s", i, rv, rv ? "-" : wire_type_name(rep.type),
		    rv ? "-" : rep.txid);
		if (rv == 0)
			wire_msg_free(&rep);
	}
	rpc_batch_free(b);
	/* 20 requests served (and the counter read after them) with two
	 * replies: the first alone, then one BATCH; plus the reply to the
	 * counter read before them. */
	T_EQ(t_counters(c.urls[B], &served, &sent), 0);
	T_CHECK(served - served0 == T_NREQ + 1, "requests served: %lld", served - served0);
	T_CHECK(sent - sent0 == 2 + 1, "messages sent by beta: %lld, want 2 replies and the "
	    "counter read's", sent - sent0);
	rpc_close(s);
	hc_destroy(&c);
}

/* Start REQ to SOCK alone, its end reported to D. */
static void
t_start(nng_socket sock, const wire_msg *req, t_done *d)
{
	const wire_msg *preq = req;
	T_EQ(rpc_batch_start(1, &sock, &preq, 30000, t_done_cb, d), 0);
}

/* The type of the one reply of D's batch (0: none, -1: no end in 20 s). */
static int
t_wait_type(t_done *d)
{
	wire_msg rep;
	int type = 0;
	rpc_batch *b = t_wait(d);
	if (b == NULL)
		return -1;
	if (rpc_batch_result(b, 0, &rep) == 0) {
		type = rep.type;
		wire_msg_free(&rep);
	}
	rpc_batch_free(b);
	return type;
}

/* GLOBAL_ABORT GTX, then VOTE_REQUEST VTX (a put of "lk"), to beta on
 * S, started one right after the other; each must be answered. How
 * many messages beta sent for them (its counter, read before and after:
 * one more for the read after), or -1. */
static long long
t_pair(hcluster *c, nng_socket s, const char *gtx, const char *vtx)
{
	static char *peers[] = { "beta" };
	wire_op op = { WIRE_OP_PUT, "lk", "1" };
	wire_msg g, v;
	/* Static: a call that never ended still reports here later. */
	static t_done d1 = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL };
	static t_done d2 = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL };
	long long served0, sent0, served, sent;
	if (t_counters(c->urls[B], &served0, &sent0) != 0)
		return -1;
	wire_msg_init(&g, WIRE_GLOBAL_ABORT, 1, gtx, "coord");
	wire_msg_init(&v, WIRE_VOTE_REQUEST, 1, vtx, "coord");
	v.npeers = 1;
	v.peers = peers;
	v.nops = 1;
	v.ops = &op;
	t_start(s, &g, &d1);
	t_start(s, &v, &d2);
	T_EQ(t_wait_type(&d1), WIRE_ACK);
	T_EQ(t_wait_type(&d2), WIRE_VOTE_COMMIT);
	if (t_counters(c->urls[B], &served, &sent) != 0)
		return -1;
	T_CHECK(served - served0 == 2 + 1, "requests served: %lld", served - served0);
	return sent - sent0;
}

/*
 * The linger (rpc.h): a GLOBAL that finds nothing in flight waits for the
 * next request to its peer and travels with it; alone, it leaves when the
 * linger is over and not before; with no linger it leaves at once. Each
 * case on its own socket, so that each has a channel of its own. Beta's
 * own count of the messages it sent says what travelled.
 */
static void
test_linger(void)
{
	static _Atomic uint32_t ms;
	hcluster c;
	nng_socket s;
	wire_msg g;
	static t_done d = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL };
	long long sent;

	CU_ASSERT_FATAL(hc_create(&c, 2, 2000, 60000) == 0);
	CU_ASSERT_FATAL(hc_start(&c, B, NULL) == 0);
	rpc_set_linger(&ms);

	/* Long enough that only the VOTE_REQUEST can take the GLOBAL along. */
	atomic_store(&ms, 30000);
	CU_ASSERT_FATAL(rpc_dial(c.urls[B], 1, &s) == 0);
	sent = t_pair(&c, s, "lg-1", "lg-2");
	T_CHECK(sent == 1 + 1, "messages sent by beta: %lld, want one BATCH reply and the "
	    "counter read's", sent);
	rpc_close(s);

	/* Alone: it waits out the linger, then leaves. */
	atomic_store(&ms, 300);
	CU_ASSERT_FATAL(rpc_dial(c.urls[B], 1, &s) == 0);
	wire_msg_init(&g, WIRE_GLOBAL_COMMIT, 1, "lg-2", "coord");
	int64_t t0 = mono_ms();
	t_start(s, &g, &d);
	T_EQ(t_wait_type(&d), WIRE_ACK);
	int64_t took = mono_ms() - t0;
	T_CHECK(took >= 295, "a lone GLOBAL came back after %lld ms, before the 300 ms linger",
	    (long long)took);
	rpc_close(s);

	/* No linger: the GLOBAL leaves at once, the VOTE_REQUEST on its own. */
	atomic_store(&ms, 0);
	CU_ASSERT_FATAL(rpc_dial(c.urls[B], 1, &s) == 0);
	sent = t_pair(&c, s, "lg-3", "lg-4");
	T_CHECK(sent == 2 + 1, "messages sent by beta: %lld, want two replies and the counter "
	    "read's", sent);
	rpc_close(s);
	rpc_set_linger(NULL);
	hc_destroy(&c);
}

/* ---- a client's SUBMITs: one channel, never sent twice ---- */

#define T_NSUB 20

/* The SUBMITs of cases below: put KEYS[i]=1 at alpha and beta. */
typedef struct t_subs {
	wire_msg m[T_NSUB];
	const wire_msg *p[T_NSUB];
	nng_socket socks[T_NSUB];
	char keys[T_NSUB][24];
	wire_op ops[T_NSUB];
	wire_work work[T_NSUB][2];
} t_subs;

static void
t_subs_init(t_subs *s, nng_socket sock, const char *prefix)
{
	for (int i = 0; i < T_NSUB; i++) {
		snprintf(s->keys[i], sizeof(s->keys[i]), "%s-%d", prefix, i);
		s->ops[i] = (wire_op){ WIRE_OP_PUT, s->keys[i], "1" };
		s->work[i][0] = (wire_work){ "alpha", 1, &s->ops[i] };
		s->work[i][1] = (wire_work){ "beta", 1, &s->ops[i] };
		wire_msg_init(&s->m[i], WIRE_SUBMIT, 0, NULL, "client");
		s->m[i].nwork = 2;
		s->m[i].work = s->work[i];
		s->m[i].timeout_ms = 30000;
		s->p[i] = &s->m[i];
		s->socks[i] = sock;
	}
}

/* The outcome of call I of B: its RESULT's state, or -rv. */
static int
t_sub_state(rpc_batch *b, size_t i)
{
	wire_msg rep;
	int rv = rpc_batch_result(b, i, &rep);
	if (rv != 0)
		return -rv;
	int state = rep.type == WIRE_RESULT ? (int)rep.state : -1000 - (int)rep.type;
	wire_msg_free(&rep);
	return state;
}

/* A cluster of two participants (VOTE_MS vote timeout) started, a socket
 * *S to its coordinator, SUBS of keys PREFIX-i on it, and the
 * coordinator's count of requests served so far in *SERVED0. 0 or -1. */
static int
t_subs_cluster(hcluster *c, int vote_ms, nng_socket *s, t_subs *subs, const char *prefix,
    long long *served0)
{
	long long sent0;
	if (hc_create(c, 2, vote_ms, 60000) != 0)
		return -1;
	if (hc_start_all(c) != 0 || rpc_dial(c->urls[0], 0, s) != 0) {
		hc_destroy(c);
		return -1;
	}
	t_subs_init(subs, *s, prefix);
	return t_counters(c->urls[0], served0, &sent0);
}

/* The coordinator served WANT requests since SERVED0 (plus the read). */
static void
t_served(hcluster *c, long long served0, long long want)
{
	long long served, sent;
	T_EQ(t_counters(c->urls[0], &served, &sent), 0);
	T_CHECK(served - served0 == want + 1, "the coordinator served %lld requests, want %lld "
	    "SUBMITs and the counter read", served - served0, want);
}

/*
 * A client's concurrent SUBMITs to the coordinator: the first 8 leave
 * alone, and with the coordinator paused the other 12 wait and leave as
 * one BATCH, which the coordinator runs as 12 transactions and answers
 * once all have their outcome.
 */
static void
test_client_submits(void)
{
	hcluster c;
	nng_socket s;
	t_subs subs;
	t_done done = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL };
	long long served0;

	CU_ASSERT_FATAL(t_subs_cluster(&c, 5000, &s, &subs, "cs", &served0) == 0);
	T_EQ(hc_signal(&c, 0, SIGSTOP), 0);
	uint64_t msgs0 = rpc_messages_sent();
	T_EQ(rpc_batch_start(T_NSUB, subs.socks, subs.p, 30000, t_done_cb, &done), 0);
	T_EQ(hc_signal(&c, 0, SIGCONT), 0);
	rpc_batch *b = t_wait(&done);
	uint64_t msgs = rpc_messages_sent() - msgs0;
	CU_ASSERT_FATAL(b != NULL);
	for (size_t i = 0; i < T_NSUB; i++) {
		int st = t_sub_state(b, i);
		T_CHECK(st == TX_COMMIT, "SUBMIT %zu: %d, want COMMIT", i, st);
	}
	rpc_batch_free(b);
	T_CHECK(msgs == 8 + 1, "the client sent %llu messages for %d SUBMITs, want 8 alone and one "
	    "BATCH", (unsigned long long)msgs, T_NSUB);
	t_served(&c, served0, T_NSUB);
	/* Each ran as if it came alone: committed at both participants. */
	for (int n = 1; n <= 2; n++) {
		long long keys = -1;
		for (int64_t until = mono_ms() + 20000; keys != T_NSUB && mono_ms() < until; usleep(20000))
			keys = hc_query_int(&c, n, "SELECT count(*) FROM kv WHERE key LIKE 'cs-%'");
		T_CHECK(keys == T_NSUB, "%s holds %lld of the %d keys", c.names[n], keys, T_NSUB);
	}
	rpc_close(s);
	hc_destroy(&c);
}

/*
 * A SUBMIT is never sent twice. Beta is paused, so 8 SUBMITs hold the 8
 * messages until their votes time out (3 s); two more wait and then
 * leave together: one with a 4.5 s timeout, one with 60 s. When the
 * first's deadline passes, both end timed out, the second too: sending it
 * again would run a SUBMIT without a txid twice (the coordinator has it
 * already). The coordinator serves each of the ten once.
 */
static void
test_submit_once(void)
{
	hcluster c;
	nng_socket s;
	t_subs subs;
	t_done da = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL };
	t_done db = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL };
	t_done dc = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL };
	long long served0;

	CU_ASSERT_FATAL(t_subs_cluster(&c, 3000, &s, &subs, "once", &served0) == 0);
	T_EQ(hc_signal(&c, 2, SIGSTOP), 0);
	uint64_t msgs0 = rpc_messages_sent();
	int64_t t0 = mono_ms();
	T_EQ(rpc_batch_start(8, subs.socks, subs.p, 60000, t_done_cb, &da), 0);
	T_EQ(rpc_batch_start(1, subs.socks + 8, subs.p + 8, 4500, t_done_cb, &db), 0);
	T_EQ(rpc_batch_start(1, subs.socks + 9, subs.p + 9, 60000, t_done_cb, &dc), 0);
	rpc_batch *a = t_wait(&da), *bb = t_wait(&db), *cc = t_wait(&dc);
	int64_t took = mono_ms() - t0;
	uint64_t msgs = rpc_messages_sent() - msgs0;
	CU_ASSERT_FATAL(a != NULL && bb != NULL && cc != NULL);
	for (size_t i = 0; i < 8; i++)
		T_EQ(t_sub_state(a, i), TX_ABORT); /* beta's vote timed out */
	T_EQ(t_sub_state(bb, 0), -TWOPC_ETIMEDOUT);
	T_EQ(t_sub_state(cc, 0), -TWOPC_ETIMEDOUT);
	T_CHECK(took < 20000, "the 60 s SUBMIT ended after %lld ms, not with its batch's 4.5 s",
	    (long long)took);
	rpc_batch_free(a);
	rpc_batch_free(bb);
	rpc_batch_free(cc);
	T_CHECK(msgs == 8 + 1, "the client sent %llu messages, want 8 and one BATCH of two, none "
	    "again", (unsigned long long)msgs);
	T_EQ(hc_signal(&c, 2, SIGCONT), 0);
	t_served(&c, served0, 10);
	rpc_close(s);
	hc_destroy(&c);
}

/* ---- the client's asynchronous commit (twopc_tx_commit_async) ---- */

typedef struct t_async {
	pthread_mutex_t mtx;
	pthread_cond_t cv;
	twopc_client *cl;
	int done, committed, aborted, closed, other;
	int chain;              /* callbacks that still start one more */
	char reason[256];       /* the aborted one's */
	char txids[64][WIRE_TXID_MAX + 1];
} t_async;

static int t_async_start(t_async *a, const char *key, const char *check, int timeout_ms);

static void
t_async_cb(twopc_tx *tx, int rv, int outcome, void *arg)
{
	t_async *a = arg;
	int chain = 0;
	if (rv == TWOPC_ECLOSED)
		usleep(100000); /* a slow callback: the close must still wait for it */
	pthread_mutex_lock(&a->mtx);
	if (rv == TWOPC_ECLOSED)
		a->closed++;
	else if (rv != 0)
		a->other++;
	else if (outcome == TWOPC_COMMITTED && a->committed < 64)
		snprintf(a->txids[a->committed++], sizeof(a->txids[0]), "%s", twopc_tx_id(tx));
	else if (outcome == TWOPC_ABORTED) {
		a->aborted++;
		snprintf(a->reason, sizeof(a->reason), "%s", twopc_tx_reason(tx));
	}
	if (rv == 0 && a->chain > 0)
		chain = a->chain--;
	a->done++;
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mtx);
	twopc_tx_free(tx);
	if (chain > 0) {
		/* From the callback's own thread, as the API allows. */
		char key[32];
		snprintf(key, sizeof(key), "async-chain-%d", chain);
		if (t_async_start(a, key, NULL, 30000) != 0) {
			pthread_mutex_lock(&a->mtx);
			a->other++;
			a->done++;
			pthread_cond_broadcast(&a->cv);
			pthread_mutex_unlock(&a->mtx);
		}
	}
}

/* Put KEY at alpha and beta, or with CHECK check KEY=CHECK at alpha. */
static int
t_async_start(t_async *a, const char *key, const char *check, int timeout_ms)
{
	twopc_tx *tx;
	if (twopc_tx_begin(a->cl, NULL, &tx) != 0)
		return -1;
	twopc_tx_add(tx, "alpha", check ? "check" : "put", key, check ? check : "1");
	twopc_tx_add(tx, "beta", "put", key, "1");
	int rv = twopc_tx_commit_async(tx, timeout_ms, t_async_cb, a);
	if (rv != 0)
		twopc_tx_free(tx);
	return rv;
}

/* Until N callbacks ran (30 s at most): 1, or 0. */
static int
t_async_wait(t_async *a, int n)
{
	int64_t until = mono_ms() + 30000;
	pthread_mutex_lock(&a->mtx);
	while (a->done < n && mono_ms() < until)
		(void)mclock_cond_wait_ms(&a->cv, &a->mtx, 100);
	int ok = a->done >= n;
	pthread_mutex_unlock(&a->mtx);
	return ok;
}

/*
 * twopc_tx_commit_async: refused calls start nothing and call nothing
 * back; 25 commits in flight at once, 8 of whose callbacks each start one
 * more from the library's thread, all end with their outcome (one aborts,
 * with its reason), each commit with its own txid, applied at both
 * participants; closing the client with commits in flight (the
 * coordinator paused) calls each back with TWOPC_ECLOSED before the
 * close returns.
 */
static void
test_client_async(void)
{
	hcluster c;
	t_async a = { .chain = 8 };
	twopc_tx *tx;
	pthread_mutex_init(&a.mtx, NULL);
	mclock_cond_init(&a.cv);
	CU_ASSERT_FATAL(hc_create(&c, 2, 5000, 60000) == 0);
	if (hc_start_all(&c) != 0 || twopc_client_open(&a.cl, c.file) != 0) {
		CU_FAIL("cluster or client");
		hc_destroy(&c);
		return;
	}
	T_EQ(twopc_tx_begin(a.cl, NULL, &tx), 0);
	T_EQ(twopc_tx_commit_async(tx, 1000, t_async_cb, &a), TWOPC_EINVAL); /* no work */
	T_EQ(twopc_tx_add(tx, "alpha", "put", "k", "v"), 0);
	T_EQ(twopc_tx_commit_async(NULL, 1000, t_async_cb, &a), TWOPC_EINVAL);
	T_EQ(twopc_tx_commit_async(tx, 1000, NULL, &a), TWOPC_EINVAL);
	T_EQ(twopc_tx_commit_async(tx, 0, t_async_cb, &a), TWOPC_EINVAL);
	twopc_tx_free(tx);

	for (int i = 0; i < 24; i++) {
		char key[32];
		snprintf(key, sizeof(key), "async-%d", i);
		T_EQ(t_async_start(&a, key, NULL, 30000), 0);
	}
	T_EQ(t_async_start(&a, "async-abort", "no-such-value", 30000), 0);
	T_TRUE(t_async_wait(&a, 33));
	pthread_mutex_lock(&a.mtx);
	T_EQ(a.done, 33);
	T_EQ(a.committed, 32);
	T_EQ(a.aborted, 1);
	T_EQ(a.closed + a.other, 0);
	T_CHECK(strstr(a.reason, "check failed") != NULL, "the abort's reason: '%s'", a.reason);
	for (int i = 0; i < a.committed; i++) {
		T_CHECK(a.txids[i][0] != '\0', "commit %d has no txid", i);
		for (int j = 0; j < i; j++)
			T_CHECK(strcmp(a.txids[i], a.txids[j]) != 0, "commits %d and %d share txid %s", j,
			    i, a.txids[i]);
	}
	pthread_mutex_unlock(&a.mtx);
	for (int n = 1; n <= 2; n++) {
		long long keys = -1;
		for (int64_t until = mono_ms() + 20000; keys != 32 && mono_ms() < until; usleep(20000))
			keys = hc_query_int(&c, n, "SELECT count(*) FROM kv WHERE key LIKE 'async-%'");
		T_CHECK(keys == 32, "%s holds %lld of the 32 keys", c.names[n], keys);
	}

	T_EQ(hc_signal(&c, 0, SIGSTOP), 0);
	for (int i = 0; i < 3; i++) {
		char key[32];
		snprintf(key, sizeof(key), "late-%d", i);
		T_EQ(t_async_start(&a, key, NULL, 60000), 0);
	}
	hc_client_close(a.cl);
	pthread_mutex_lock(&a.mtx);
	T_CHECK(a.closed == 3, "%d of 3 commits in flight were called back (TWOPC_ECLOSED) "
	    "before the close returned", a.closed);
	T_EQ(a.done, 36);
	pthread_mutex_unlock(&a.mtx);
	T_EQ(hc_signal(&c, 0, SIGCONT), 0);
	hc_destroy(&c);
}

/* ---- the server: messages of a BATCH answered later ---- */

/* A server whose handler answers "now-*" at once and defers "later-*",
 * keeping the handles for the case to answer; its gate counts its uses. */
typedef struct t_dsrv {
	pthread_mutex_t mtx;
	pthread_cond_t cv;
	rpc_deferred *held[8];
	char txids[8][WIRE_TXID_MAX + 1];
	int nheld;
	atomic_int gated;
} t_dsrv;

/* Latency histograms the first case names: later-a's, now-b's, later-c's. */
static histo t_lat[3];

static int
t_dsrv_handler(void *user, const wire_msg *req, wire_msg *rep)
{
	t_dsrv *d = user;
	if (strncmp(req->txid, "later-", 6) != 0) {
		rpc_time_reply(&t_lat[1]);
		rep->type = WIRE_VOTE_COMMIT;
		return 1;
	}
	pthread_mutex_lock(&d->mtx);
	if (d->nheld < 8) {
		snprintf(d->txids[d->nheld], sizeof(d->txids[0]), "%s", req->txid);
		d->held[d->nheld++] = rpc_defer();
	}
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mtx);
	return RPC_DEFERRED;
}

static void
t_dsrv_gate(void *arg, rpc_done_fn done, void *darg)
{
	t_dsrv *d = arg;
	atomic_fetch_add(&d->gated, 1);
	done(darg, 0);
}

/* What a case's answering thread does: wait (20 s at most) until N
 * requests are held, then answer them last to first; the first one held
 * gets NULL (no reply) with NONE, and the last one is durable with
 * DURABLE (every one, with DURABLE 2). */
typedef struct t_answer {
	t_dsrv *d;
	int n, none, durable;
	int answered;
	int timed;   /* name t_lat[0] for the first held, t_lat[2] for the others */
} t_answer;

static void *
t_answer_run(void *arg)
{
	t_answer *a = arg;
	t_dsrv *d = a->d;
	int64_t until = mono_ms() + 20000;
	pthread_mutex_lock(&d->mtx);
	while (d->nheld < a->n && mono_ms() < until) {
		pthread_mutex_unlock(&d->mtx);
		usleep(2000);
		pthread_mutex_lock(&d->mtx);
	}
	int n = d->nheld;
	pthread_mutex_unlock(&d->mtx);
	for (int i = n - 1; i >= 0 && n == a->n; i--) {
		wire_msg rep;
		wire_msg_init(&rep, WIRE_VOTE_COMMIT, 0, d->txids[i], "x");
		if (a->timed)
			rpc_time_deferred(d->held[i], &t_lat[i == 0 ? 0 : 2]);
		if (i == 0 && a->none)
			rpc_reply_deferred(d->held[i], NULL);
		else if (a->durable == 2 || (a->durable && i == n - 1))
			rpc_reply_durable(d->held[i], &rep);
		else
			rpc_reply_deferred(d->held[i], &rep);
		a->answered++;
	}
	pthread_mutex_lock(&d->mtx);
	d->nheld = 0;
	pthread_mutex_unlock(&d->mtx);
	return NULL;
}

static struct {
	rpc_server *srv;
	atomic_int stopped;
} t_stop;

static void
t_dsrv_stop(void *arg)
{
	(void)arg;
	rpc_server_stop(t_stop.srv);
	atomic_store(&t_stop.stopped, 1);
}

/*
 * A handler may answer a message of a BATCH later, from another thread,
 * and in any order: the BATCH reply leaves once the last one is given,
 * with each reply at its message's index; through the gate unless every
 * reply was durable; and not at all when one message gets no reply. The
 * server stops only once every held message is answered.
 */
static void
test_deferred_items(void)
{
	char url[128];
	t_dsrv d = { .mtx = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };
	rpc_server_opts o = { .nworkers = 2, .handler = t_dsrv_handler, .user = &d, .sender = "alpha",
	    .gate = t_dsrv_gate, .gate_arg = &d };
	rpc_server *srv;
	wire_item it[3];
	wire_msg rep;
	pthread_t th;

	snprintf(url, sizeof(url), "ipc:///tmp/twopc-test-defer-%d.sock", (int)getpid());
	CU_ASSERT_FATAL(rpc_server_start(url, &o, &srv) == 0);

	/* later-a, now-b, later-c: answered c, then a; one BATCH, in order. */
	it[0].data = t_vote("later-a", "k1", "1", &it[0].len);
	it[1].data = t_vote("now-b", "k2", "2", &it[1].len);
	it[2].data = t_vote("later-c", "k3", "3", &it[2].len);
	t_answer a = { &d, 2, 0, 1, 0, 1 };
	CU_ASSERT_FATAL(pthread_create(&th, NULL, t_answer_run, &a) == 0);
	int rv = t_raw(url, it, 3, NULL, &rep, 20000);
	pthread_join(th, NULL);
	T_EQ(a.answered, 2);
	T_EQ(rv, 0);
	if (rv == 0) {
		static const int types[] = { WIRE_VOTE_COMMIT, WIRE_VOTE_COMMIT, WIRE_VOTE_COMMIT };
		static const char *const txids[] = { "later-a", "now-b", "later-c" };
		t_expect(&rep, 3, types, txids);
		T_STREQ(rep.sender, "alpha");
		wire_msg_free(&rep);
	}
	T_CHECK(atomic_load(&d.gated) == 1, "gate passed %d times, want 1: a reply given at once "
	    "is not known durable", atomic_load(&d.gated));
	/* Each message's latency in the histogram its handler named, once. */
	for (int k = 0; k < 3; k++) {
		histo_snap snap;
		histo_read(&t_lat[k], &snap);
		T_CHECK(snap.cum[HISTO_BOUNDS] == 1, "histogram %d counted %llu, want 1", k,
		    (unsigned long long)snap.cum[HISTO_BOUNDS]);
	}

	/* Every reply durable: the BATCH skips the gate. */
	atomic_store(&d.gated, 0);
	for (int i = 0; i < 3; i++)
		free((void *)it[i].data);
	it[0].data = t_vote("later-d", "k1", "1", &it[0].len);
	it[1].data = t_vote("later-e", "k2", "2", &it[1].len);
	t_answer all = { &d, 2, 0, 2, 0, 0 };
	CU_ASSERT_FATAL(pthread_create(&th, NULL, t_answer_run, &all) == 0);
	rv = t_raw(url, it, 2, NULL, &rep, 20000);
	pthread_join(th, NULL);
	T_EQ(rv, 0);
	if (rv == 0) {
		static const int types[] = { WIRE_VOTE_COMMIT, WIRE_VOTE_COMMIT };
		static const char *const txids[] = { "later-d", "later-e" };
		t_expect(&rep, 2, types, txids);
		wire_msg_free(&rep);
	}
	T_EQ(atomic_load(&d.gated), 0);

	/* One held message answered with nothing: no reply at all. */
	t_answer none = { &d, 2, 1, 0, 0, 0 };
	CU_ASSERT_FATAL(pthread_create(&th, NULL, t_answer_run, &none) == 0);
	T_CHECK(t_raw(url, it, 2, NULL, &rep, 1000) != 0, "a BATCH with a message answered "
	    "with nothing was answered");
	pthread_join(th, NULL);
	T_EQ(none.answered, 2);

	/* A message that does not decode, after a held one: no reply, the
	 * malformed one counted, and the held one's answer still ends the
	 * batch (the stop below would wait for it forever otherwise). */
	for (int i = 0; i < 2; i++)
		free((void *)it[i].data);
	it[0].data = t_vote("later-g", "k1", "1", &it[0].len);
	it[1].data = t_vote("later-h", "k2", "2", &it[1].len);
	it[1].len -= 1; /* cut: the envelope decodes, the message does not */
	uint64_t bad0 = rpc_server_malformed(srv);
	t_answer cut = { &d, 1, 0, 0, 0, 0 };
	CU_ASSERT_FATAL(pthread_create(&th, NULL, t_answer_run, &cut) == 0);
	T_CHECK(t_raw(url, it, 2, NULL, &rep, 1000) != 0, "a BATCH with a malformed message was "
	    "answered");
	pthread_join(th, NULL);
	T_EQ(cut.answered, 1);
	T_EQ(rpc_server_malformed(srv) - bad0, 1);

	/* Stop waits for a held message: it returns only once answered. */
	for (int i = 0; i < 2; i++)
		free((void *)it[i].data);
	it[0].data = t_vote("later-f", "k1", "1", &it[0].len);
	t_answer last = { &d, 1, 0, 0, 0, 0 };
	CU_ASSERT(t_raw(url, it, 1, "coord", &rep, 300) != 0); /* held: no reply yet */
	t_stop.srv = srv;
	atomic_store(&t_stop.stopped, 0);
	T_CHECK(hc_bounded(t_dsrv_stop, NULL, 500, "rpc_server_stop") != 0,
	    "the server stopped with a message of a BATCH still held");
	CU_ASSERT_FATAL(pthread_create(&th, NULL, t_answer_run, &last) == 0);
	pthread_join(th, NULL);
	T_EQ(last.answered, 1);
	/* The stop left behind above ends now (20 s at most). */
	for (int64_t until = mono_ms() + 20000; !atomic_load(&t_stop.stopped) && mono_ms() < until;)
		usleep(2000);
	T_EQ(atomic_load(&t_stop.stopped), 1);
	free((void *)it[0].data);
}

/* ---- tmr.c: the timer thread ---- */

typedef struct t_tick {
	tmr t;
	int64_t armed_at, ms;   /* mono_ms at tmr_arm, and the delay */
	int fired, order, early;
	int self_stop;          /* the function stops its own timer */
	int hold_ms;            /* the function sleeps this long */
	atomic_int entered, left;
	int rearm;              /* arm again this many times, 5 ms each */
} t_tick;

static pthread_mutex_t t_tick_mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t t_tick_cv;
static int t_tick_seq;

static void
t_tick_fn(void *arg)
{
	t_tick *k = arg;
	atomic_store(&k->entered, 1);
	if (k->self_stop)
		tmr_stop(&k->t);
	if (k->hold_ms > 0)
		usleep((useconds_t)k->hold_ms * 1000);
	pthread_mutex_lock(&t_tick_mtx);
	k->fired++;
	k->order = ++t_tick_seq;
	if (mono_ms() - k->armed_at < k->ms)
		k->early++;
	pthread_cond_broadcast(&t_tick_cv);
	pthread_mutex_unlock(&t_tick_mtx);
	if (k->rearm > 0) {
		k->rearm--;
		k->armed_at = mono_ms();
		k->ms = 5;
		(void)tmr_arm(&k->t, 5);
	}
	atomic_store(&k->left, 1);
}

static void
t_tick_arm(t_tick *k, int64_t ms)
{
	k->armed_at = mono_ms();
	k->ms = ms;
	T_EQ(tmr_arm(&k->t, (uint32_t)ms), 0);
}

/* Wait (5 s at most) until K has fired N times in all. */
static int
t_tick_wait(t_tick *k, int n)
{
	int64_t until = mono_ms() + 5000;
	pthread_mutex_lock(&t_tick_mtx);
	while (k->fired < n && mono_ms() < until)
		(void)mclock_cond_wait_ms(&t_tick_cv, &t_tick_mtx, 50);
	int ok = k->fired >= n;
	pthread_mutex_unlock(&t_tick_mtx);
	return ok;
}

static void *
t_tick_stopper(void *arg)
{
	tmr_stop(&((t_tick *)arg)->t);
	return NULL;
}

/*
 * The timer thread (tmr.h): functions run once each, in deadline order
 * and never before their deadline; re-arming moves a timer; a stopped
 * one never runs (a later timer is the fence: the thread runs them in
 * order); tmr_stop waits for a function that runs, except from that
 * function itself; a function may arm its own timer again.
 */
static void
test_timer(void)
{
	t_tick k[3] = { 0 };
	mclock_cond_init(&t_tick_cv);
	for (int i = 0; i < 3; i++)
		tmr_init(&k[i].t, t_tick_fn, &k[i]);
	t_tick_arm(&k[0], 60);
	t_tick_arm(&k[1], 20);
	t_tick_arm(&k[2], 40);
	T_TRUE(t_tick_wait(&k[0], 1));
	T_TRUE(t_tick_wait(&k[1], 1) && t_tick_wait(&k[2], 1));
	T_CHECK(k[1].order < k[2].order && k[2].order < k[0].order,
	    "ran in the order %d %d %d for deadlines 60 20 40 ms", k[0].order, k[1].order,
	    k[2].order);
	for (int i = 0; i < 3; i++) {
		T_EQ(k[i].fired, 1);
		T_EQ(k[i].early, 0);
	}

	/* Re-armed: once, at the later deadline. Stopped: never. */
	t_tick m = { 0 }, s = { 0 }, fence = { 0 };
	tmr_init(&m.t, t_tick_fn, &m);
	tmr_init(&s.t, t_tick_fn, &s);
	tmr_init(&fence.t, t_tick_fn, &fence);
	t_tick_arm(&m, 10);
	t_tick_arm(&s, 20);
	t_tick_arm(&m, 80);
	tmr_stop(&s.t);
	t_tick_arm(&fence, 120);
	T_TRUE(t_tick_wait(&fence, 1));
	T_EQ(m.fired, 1);
	T_EQ(m.early, 0);
	T_CHECK(m.order < fence.order, "the moved timer ran after the fence");
	T_EQ(s.fired, 0);

	/* tmr_stop waits for a running function. */
	t_tick h = { .hold_ms = 150 };
	tmr_init(&h.t, t_tick_fn, &h);
	t_tick_arm(&h, 1);
	for (int64_t until = mono_ms() + 5000; !atomic_load(&h.entered) && mono_ms() < until;)
		usleep(1000);
	T_TRUE(atomic_load(&h.entered));
	pthread_t th;
	T_EQ(pthread_create(&th, NULL, t_tick_stopper, &h), 0);
	pthread_join(th, NULL);
	T_CHECK(atomic_load(&h.left), "tmr_stop returned while the function still ran");

	/* From its own function it does not wait for itself; a function
	 * arms its own timer again. */
	t_tick self = { .self_stop = 1 }, again = { .rearm = 3 };
	tmr_init(&self.t, t_tick_fn, &self);
	tmr_init(&again.t, t_tick_fn, &again);
	t_tick_arm(&self, 1);
	t_tick_arm(&again, 1);
	T_TRUE(t_tick_wait(&self, 1));
	T_TRUE(t_tick_wait(&again, 4));
	tmr_stop(&again.t);
	T_EQ(again.fired, 4);
	T_EQ(again.early, 0);
}

void
test_batch_register(void)
{
	static const tu_test tests[] = {
		{ "envelope: round trip and layout", test_envelope },
		{ "envelope: refused shapes", test_envelope_refused },
		{ "envelope: a reply may exceed a request's size", test_envelope_sizes },
		{ "group transaction: savepoints, one COMMIT, deferred replies", test_group },
		{ "participant: a BATCH answered as each alone", test_participant_batch },
		{ "channel: concurrent requests to one peer share a message", test_channel },
		{ "channel: a GLOBAL lingers for the next request, or leaves alone", test_linger },
		{ "timer: in deadline order, moved, stopped, waited for", test_timer },
		{ "server: messages of a BATCH answered later, in any order", test_deferred_items },
		{ "client: concurrent SUBMITs share a message", test_client_submits },
		{ "client: a SUBMIT is never sent twice", test_submit_once },
		{ "client: asynchronous commits, called back once each", test_client_async },
	};
	TU_SUITE("batch", tests);
}
