/*
 * test_tls.c - CUnit suite "tls": mutual TLS between real daemons on
 * loopback (tls+tcp://, certificates from tests/mkcerts.sh), the refusal
 * of plain tcp:// without insecure: true, the warning that insecure: true
 * gives, and epochs above 2^63-1 refused by participants.
 *
 * An attacker here is a raw NNG REQ socket that sends a well-formed,
 * forged one-phase VOTE_REQUEST (the message that alone would write a
 * key at a participant): a refusal is no reply, and the key absent.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <CUnit/CUnit.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/tls/tls.h>

#include "config.h"
#include "harness.h"
#include "rpc.h"
#include "testutil.h"
#include "twopc/error.h"
#include "wire.h"

#define A 1 /* alpha */

static int
t_tls_cluster(hcluster *c)
{
	if (hc_create(c, 2, 2000, 1000) != 0)
		return -1;
	if (hc_use_tls(c, NULL) != 0 || hc_start_all(c) != 0) {
		hc_destroy(c);
		return -1;
	}
	return 0;
}

/* The encoded forged one-phase VOTE_REQUEST: put KEY=evil at alpha. */
static int
t_forged(const char *key, wire_buf *b)
{
	wire_msg m;
	wire_op op = { WIRE_OP_PUT, (char *)key, "evil" };
	char *peers[] = { "alpha" };
	wire_msg_init(&m, WIRE_VOTE_REQUEST, 1, "forged-1", "coord");
	m.npeers = 1;
	m.peers = peers;
	m.nops = 1;
	m.ops = &op;
	memset(b, 0, sizeof(*b));
	return wire_encode(&m, b);
}

/* MSG on a raw REQ socket to URL (tu_raw). */
static int
t_raw_send(const char *url, const char *ca, const char *crt, const char *key, const wire_buf *msg)
{
	return tu_raw(url, ca, crt, key, msg->data, msg->len);
}

/* tls+tcp://H:P -> tcp://H:P */
static const char *
t_plain(const char *url)
{
	return strncmp(url, "tls+", 4) == 0 ? url + 4 : url;
}

static void
test_commit_over_tls(void)
{
	hcluster c;
	char v[32];
	CU_ASSERT_FATAL(t_tls_cluster(&c) == 0);
	T_HAS(c.urls[A], "tls+tcp://");
	T_EQ(T_DRV(&c, "commit", "alpha:put:alice=100", "beta:put:bob=7"), 0);
	T_HAS(tu_out, "COMMITTED");
	hc_kv(&c, A, "alice", v, sizeof(v));
	T_STREQ(v, "100");
	T_EQ(T_DRV(&c, "get", "beta", "bob"), 0);
	T_HAS(tu_out, "7");
	/* An authenticated cluster does not warn. */
	T_EQ(hc_log_count(&c, 0, "unauthenticated"), 0);
	T_EQ(hc_log_count(&c, A, "unauthenticated"), 0);
	hc_destroy(&c);
}

static void
test_plain_client_refused(void)
{
	hcluster c;
	wire_buf b;
	char v[32];
	CU_ASSERT_FATAL(t_tls_cluster(&c) == 0);
	CU_ASSERT_FATAL(t_forged("k1", &b) == 0);
	/* No TLS at all, and TLS without a client certificate's proof. */
	T_EQ(t_raw_send(t_plain(c.urls[A]), NULL, NULL, NULL, &b), -1);
	T_EQ(t_raw_send(c.urls[A], NULL, NULL, NULL, &b), -1);
	hc_kv(&c, A, "k1", v, sizeof(v));
	T_STREQ(v, "");
	T_EQ(hc_query_int(&c, A, "SELECT count(*) FROM txn"), 0);
	T_TRUE(hc_alive(&c, A));
	/* The listener still serves the cluster. */
	T_EQ(T_DRV(&c, "commit", "alpha:put:k2=1", "beta:put:k2=1"), 0);
	wire_buf_free(&b);
	hc_destroy(&c);
}

static void
test_foreign_ca_refused(void)
{
	hcluster c;
	wire_buf b, ping;
	wire_msg m;
	char v[32], ca[400], crt[400], key[400], ocrt[400], okey[400], cmd[1200];
	CU_ASSERT_FATAL(t_tls_cluster(&c) == 0);
	/* A second CA, whose 'client' certificate is as well-formed as ours. */
	snprintf(cmd, sizeof(cmd), "bash '%s/tests/mkcerts.sh' '%s' '%s/other' >/dev/null",
	    getenv("TWOPC_SRCDIR") ? getenv("TWOPC_SRCDIR") : ".", c.file, c.dir);
	CU_ASSERT_FATAL(system(cmd) == 0);
	snprintf(ca, sizeof(ca), "%s/tls/ca.crt", c.dir);
	snprintf(crt, sizeof(crt), "%s/tls/client.crt", c.dir);
	snprintf(key, sizeof(key), "%s/tls/client.key", c.dir);
	snprintf(ocrt, sizeof(ocrt), "%s/other/client.crt", c.dir);
	snprintf(okey, sizeof(okey), "%s/other/client.key", c.dir);
	/* The raw path works with the cluster's own client certificate ... */
	wire_msg_init(&m, WIRE_IAMALIVE, 0, NULL, "client");
	memset(&ping, 0, sizeof(ping));
	CU_ASSERT_FATAL(wire_encode(&m, &ping) == 0);
	T_TRUE(t_raw_send(c.urls[A], ca, crt, key, &ping) > 0);
	/* ... and a certificate of another CA gets no message through: the
	 * server refuses the handshake. */
	CU_ASSERT_FATAL(t_forged("k3", &b) == 0);
	T_EQ(t_raw_send(c.urls[A], ca, ocrt, okey, &b), -1);
	T_EQ(t_raw_send(c.urls[A], ca, ocrt, okey, &ping), -1);
	hc_kv(&c, A, "k3", v, sizeof(v));
	T_STREQ(v, "");
	T_EQ(hc_query_int(&c, A, "SELECT count(*) FROM txn"), 0);
	T_TRUE(hc_alive(&c, A));
	wire_buf_free(&b);
	wire_buf_free(&ping);
	hc_destroy(&c);
}

/* Run CMD (stdout and stderr into OUT); its exit status, or -1. */
static int
t_run(const char *cmd, char *out, size_t len)
{
	char full[1200];
	if (snprintf(full, sizeof(full), "%s 2>&1", cmd) >= (int)sizeof(full))
		return -1;
	return tu_sh(full, out, len);
}

static void
test_plain_tcp_needs_insecure(void)
{
	hcluster c;
	char cmd[1200], out[4096], want[800], *text;
	FILE *f;
	CU_ASSERT_FATAL(hc_create(&c, 2, 2000, 1000) == 0);
	/* hc_create's file without its first line, "insecure: true". */
	text = tu_slurp(c.file);
	CU_ASSERT_FATAL(text != NULL && strncmp(text, "insecure: true\n", 15) == 0);
	CU_ASSERT_FATAL((f = fopen(c.file, "w")) != NULL);
	fputs(text + 15, f);
	fclose(f);
	free(text);
	snprintf(want, sizeof(want), "%s:3:11: plain URL '%s' is unauthenticated: use "
	    "tls+tcp:// (with a 'tls' section) or set 'insecure: true' at top level",
	    c.file, c.urls[0]);
	snprintf(cmd, sizeof(cmd), "'%s/twopc-coordinator' -c '%s' --check-config", c.bin, c.file);
	T_EQ(t_run(cmd, out, sizeof(out)), 2);
	T_HAS(out, want);
	snprintf(cmd, sizeof(cmd), "'%s/twopc-participant' -c '%s' -n alpha", c.bin, c.file);
	T_EQ(t_run(cmd, out, sizeof(out)), 2);
	T_HAS(out, want);
	T_EQ(T_DRV(&c, "get", "alpha", "x"), 2);
	T_HAS(tu_out, want);
	hc_destroy(&c);
}

static void
test_insecure_warns(void)
{
	hcluster c;
	T_CLUSTER_UP(&c, 2, 2000, 1000);
	for (int i = 0; i < c.nnodes; i++)
		T_EQ(hc_wait_log_line(&c, i, "WARN", 10000) == 0 &&
		    hc_log_count(&c, i, "insecure: true: the cluster is unauthenticated") == 1, 1);
	T_EQ(T_DRV(&c, "commit", "alpha:put:a=1", "beta:put:b=1"), 0);
	hc_destroy(&c);
}

/* One message with EPOCH from "coord" to alpha; the reply in *REP. */
static int
t_epoch_msg(hcluster *c, int type, uint64_t epoch, const char *txid, wire_msg *rep)
{
	nng_socket s;
	wire_msg req;
	wire_op op = { WIRE_OP_PUT, "e", "1" };
	char *peers[] = { "alpha" };
	if (rpc_dial(c->urls[A], 0, &s) != 0)
		return -1;
	wire_msg_init(&req, type, epoch, txid, "coord");
	if (type == WIRE_VOTE_REQUEST) {
		req.npeers = 1;
		req.peers = peers;
		req.nops = 1;
		req.ops = &op;
	}
	int rv = rpc_call(s, &req, rep, 3000);
	rpc_close(s);
	return rv;
}

static void
test_epoch_above_bound(void)
{
	static const uint64_t bad[] = { UINT64_MAX, (uint64_t)INT64_MAX + 1 };
	hcluster c;
	wire_msg rep;
	char st[32];
	T_CLUSTER_UP(&c, 2, 2000, 1000);
	T_EQ(T_DRV(&c, "commit", "alpha:put:a=1", "beta:put:b=1"), 0);
	for (size_t i = 0; i < T_NITEMS(bad); i++) {
		const int types[] = { WIRE_GLOBAL_ABORT, WIRE_VOTE_REQUEST };
		for (size_t k = 0; k < 2; k++) {
			CU_ASSERT_FATAL(t_epoch_msg(&c, types[k], bad[i], "epoch-x", &rep) == 0);
			T_EQ(rep.type, WIRE_ERROR);
			T_EQ(rep.code, (uint16_t)-TWOPC_EPROTO);
			T_HAS(rep.text ? rep.text : "", "invalid coordinator epoch");
			wire_msg_free(&rep);
		}
	}
	hc_state(&c, A, "epoch-x", st, sizeof(st));
	T_STREQ(st, "");
	/* Not fenced: commits go on, before and after a restart. */
	T_EQ(T_DRV(&c, "commit", "alpha:put:a=2", "beta:put:b=2"), 0);
	T_TRUE(hc_query_int(&c, A, "SELECT value FROM meta WHERE key = 'epoch'") >= 1);
	T_TRUE(hc_query_int(&c, A, "SELECT value FROM meta WHERE key = 'epoch'") < 100);
	CU_ASSERT_FATAL(hc_signal(&c, A, SIGTERM) == 0);
	int status;
	CU_ASSERT_FATAL(hc_wait_exit(&c, A, 10000, &status) == 0);
	CU_ASSERT_FATAL(hc_start(&c, A, NULL) == 0);
	T_EQ(T_DRV(&c, "commit", "alpha:put:a=3", "beta:put:b=3"), 0);
	/* The largest valid epoch is taken as is (it is then the highest
	 * seen: the running coordinator's requests are stale from now on). */
	CU_ASSERT_FATAL(t_epoch_msg(&c, WIRE_GLOBAL_ABORT, (uint64_t)INT64_MAX, "epoch-y", &rep) == 0);
	T_EQ(rep.type, WIRE_ACK);
	wire_msg_free(&rep);
	hc_destroy(&c);
}

/* A log poisoned before the bound existed (meta epoch -1) is read as 0. */
static void
test_epoch_poisoned_log(void)
{
	hcluster c;
	char sql[600];
	T_CLUSTER_UP(&c, 2, 2000, 1000);
	T_EQ(T_DRV(&c, "commit", "alpha:put:a=1", "beta:put:b=1"), 0);
	CU_ASSERT_FATAL(hc_signal(&c, A, SIGTERM) == 0);
	int status;
	CU_ASSERT_FATAL(hc_wait_exit(&c, A, 10000, &status) == 0);
	snprintf(sql, sizeof(sql), "sqlite3 '%s' \"UPDATE meta SET value = -1 WHERE key = 'epoch'\"",
	    c.logs[A]);
	CU_ASSERT_FATAL(system(sql) == 0);
	CU_ASSERT_FATAL(hc_start(&c, A, NULL) == 0);
	T_EQ(hc_wait_log_line(&c, A, "epoch -1 is invalid", 10000), 0);
	T_EQ(T_DRV(&c, "commit", "alpha:put:a=2", "beta:put:b=2"), 0);
	T_TRUE(hc_query_int(&c, A, "SELECT value FROM meta WHERE key = 'epoch'") >= 1);
	hc_destroy(&c);
}

/* M to URL, sent as whoever this process is now: a reply must come, an
 * ERROR whose text holds WANT. */
#define T_REFUSED(url, m, want) do { \
	nng_socket s_; \
	wire_msg r_; \
	CU_ASSERT_FATAL(rpc_dial((url), 0, &s_) == 0); \
	T_EQ(rpc_call(s_, (m), &r_, 3000), 0); \
	T_EQ(r_.type, WIRE_ERROR); \
	T_HAS(r_.text, (want)); \
	wire_msg_free(&r_); \
	rpc_close(s_); \
} while (0)

/*
 * Per-node identity: a message sealed with beta's keys that names the
 * coordinator as its sender fails authentication at alpha (refused,
 * counted, nothing written); an unsealed one too; the same message sealed
 * with the coordinator's keys is accepted (here: it commits the key).
 */
static void
test_identity_mac(void)
{
	hcluster c;
	nng_socket s;
	wire_msg m, rep;
	wire_op op = { WIRE_OP_PUT, "mac", "forged" };
	char *peers[] = { "alpha" }, v[32];
	CU_ASSERT_FATAL(t_tls_cluster(&c) == 0);
	wire_msg_init(&m, WIRE_VOTE_REQUEST, 1, "mac-1", "coord");
	m.flags = WIRE_FLAG_ONE_PHASE, m.npeers = 1, m.peers = peers, m.nops = 1, m.ops = &op;

	CU_ASSERT_FATAL(hc_become(&c, "beta") == 0);
	CU_ASSERT_FATAL(rpc_dial(c.urls[A], 0, &s) == 0);
	/* The answer is an unsealed ERROR: not trusted, only logged here. */
	T_EQ(rpc_call(s, &m, &rep, 3000), TWOPC_EPROTO);
	rpc_close(s);
	T_EQ(hc_wait_log_line(&c, A, "refused VOTE_REQUEST claiming to be from coord", 10000), 0);
	T_EQ(hc_log_count(&c, A, "bad MAC"), 1);
	hc_kv(&c, A, "mac", v, sizeof(v));
	T_STREQ(v, "");
	T_EQ(hc_query_int(&c, A, "SELECT count(*) FROM txn"), 0);

	CU_ASSERT_FATAL(hc_become(&c, "coord") == 0);
	CU_ASSERT_FATAL(rpc_dial(c.urls[A], 0, &s) == 0);
	T_EQ(rpc_call(s, &m, &rep, 3000), 0);
	T_EQ(rep.type, WIRE_VOTE_COMMIT);
	wire_msg_free(&rep);
	rpc_close(s);
	hc_kv(&c, A, "mac", v, sizeof(v));
	T_STREQ(v, "forged");
	CU_ASSERT_FATAL(hc_become(&c, CFG_TLS_CLIENT) == 0);
	hc_destroy(&c);
}

/*
 * Roles: beta, authenticated as itself, may not send the coordinator's
 * messages to alpha nor SUBMIT to the coordinator; alpha may not ask beta
 * about beta's one-participant transaction. Each is refused
 * with an error naming the sender and what it may not do, and counted.
 */
static void
test_roles(void)
{
	hcluster c;
	wire_msg m;
	wire_op op = { WIRE_OP_PUT, "role", "x" };
	wire_work w = { "alpha", 1, &op };
	char *peers[] = { "alpha" }, v[32];
	CU_ASSERT_FATAL(t_tls_cluster(&c) == 0);
	/* Aborted: beta keeps the record, with its peers, for the retention. */
	T_EQ(T_DRV(&c, "commit", "--txid", "b-1", "beta:check:q=1"), 1);

	CU_ASSERT_FATAL(hc_become(&c, "beta") == 0);
	wire_msg_init(&m, WIRE_VOTE_REQUEST, 1, "role-1", "beta");
	m.flags = WIRE_FLAG_ONE_PHASE, m.npeers = 1, m.peers = peers, m.nops = 1, m.ops = &op;
	T_REFUSED(c.urls[A], &m,
	    "beta is a participant and may not send VOTE_REQUEST to a participant: "
	    "only the coordinator (coord) may");
	wire_msg_init(&m, WIRE_SUBMIT, 0, "role-2", "beta");
	m.timeout_ms = 1000, m.nwork = 1, m.work = &w;
	T_REFUSED(c.urls[0], &m,
	    "beta is a participant and may not send SUBMIT to the coordinator: only clients may");

	CU_ASSERT_FATAL(hc_become(&c, "alpha") == 0);
	wire_msg_init(&m, WIRE_DECISION_REQUEST, 1, "b-1", "alpha");
	T_REFUSED(c.urls[2], &m, "alpha is not a participant of b-1");
	CU_ASSERT_FATAL(hc_become(&c, CFG_TLS_CLIENT) == 0);
	hc_kv(&c, A, "role", v, sizeof(v));
	T_STREQ(v, "");
	T_EQ(hc_query_int(&c, A, "SELECT count(*) FROM txn"), 0);
	T_EQ(hc_log_count(&c, A, "refused VOTE_REQUEST from beta"), 1);
	hc_destroy(&c);
}

void test_tls_register(void);

void
test_tls_register(void)
{
	static const tu_test tests[] = {
		{ "commit over mutual TLS", test_commit_over_tls },
		{ "plain tcp client gets nothing", test_plain_client_refused },
		{ "certificate of another CA refused", test_foreign_ca_refused },
		{ "tcp:// needs insecure: true", test_plain_tcp_needs_insecure },
		{ "insecure: true warns at every start", test_insecure_warns },
		{ "epoch above 2^63-1 refused", test_epoch_above_bound },
		{ "poisoned log epoch ignored", test_epoch_poisoned_log },
		{ "another node's message keys refused", test_identity_mac },
		{ "roles: each node sends only its own messages", test_roles },
	};
	TU_SUITE("tls", tests);
}
