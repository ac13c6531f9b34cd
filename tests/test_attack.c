/*
 * test_attack.c - CUnit suite "attack": real daemons over mutual TLS with
 * message keys (three participants), and the attacks of an outsider and
 * of insiders holding one node's credentials, each of which must be
 * refused and leave every table of every node unchanged (the .dump of
 * each log, compared before and after). The suite ends with a table of
 * the cases: refused yes/no, tables unchanged yes/no.
 *
 * The attacker is this process: it installs the certificate and message
 * keys of whichever node (or the clients' role) a case grants it
 * (cfg_tls_use), or none, and sends well-formed messages of the
 * documented wire format, sealed with those keys or raw.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/tls/tls.h>

#include "config.h"
#include "harness.h"
#include "db.h"
#include "rpc.h"
#include "rpcauth.h"
#include "testutil.h"
#include "twopc/error.h"
#include "txstate.h"
#include "wire.h"

#define CO 0 /* coord */
#define A 1  /* alpha */
#define B 2  /* beta */
#define G 3  /* gamma */

typedef struct t_row {
	const char *name;
	int refused;
	int unchanged;
} t_row;

static t_row t_rows[16];
static int t_nrows;

/* Every table of every node, as sqlite3's .dump (malloc'd), or NULL. */
static char *
t_dump(hcluster *c)
{
	size_t cap = 1 << 16, len = 0;
	char *out = malloc(cap), cmd[800];
	for (int i = 0; out != NULL && i < c->nnodes; i++) {
		snprintf(cmd, sizeof(cmd), "sqlite3 -readonly '%s' .dump 2>&1", c->logs[i]);
		FILE *p = popen(cmd, "r");
		size_t n;
		if (p == NULL) {
			free(out);
			return NULL;
		}
		len += (size_t)snprintf(out + len, cap - len, "== %s\n", c->names[i]);
		while ((n = fread(out + len, 1, cap - len - 1, p)) > 0) {
			len += n;
			if (cap - len < 4096) {
				char *g = realloc(out, cap *= 2);
				if (g == NULL) {
					free(out);
					pclose(p);
					return NULL;
				}
				out = g;
			}
		}
		out[len] = '\0';
		pclose(p);
	}
	return out;
}

/* The dump once nothing moves any more (END, FORGET and the acks of the
 * legitimate traffic are lazy): first every run decided and ENDed at the
 * coordinator and every COMMIT row forgotten at the participants (FORGET
 * goes with the resender's pass, which a busy machine may delay past any
 * fixed pause), then two dumps 300 ms apart alike, at most 8 s. */
static char *
t_quiet_dump(hcluster *c)
{
	int64_t until = mono_ms() + 15000;
	for (int i = 0; i < c->nnodes && mono_ms() < until; i++) {
		const char *sql = i == CO ?
		    "SELECT (SELECT count(*) FROM txn WHERE state IN ('WAIT', 'COMMIT')) + "
		    "(SELECT count(*) FROM acks)" :
		    "SELECT count(*) FROM txn WHERE state IN ('READY', 'COMMIT')";
		while (hc_query_int(c, i, sql) != 0 && mono_ms() < until)
			tu_nap_ms(20);
	}
	char *a = t_dump(c);
	int64_t end = mono_ms() + 8000;
	while (a != NULL && mono_ms() < end) {
		tu_nap_ms(300);
		char *b = t_dump(c);
		if (b != NULL && strcmp(a, b) == 0) {
			free(b);
			return a;
		}
		free(a);
		a = b;
	}
	return a;
}

/* Send M to node I as NAME (sealed with NAME's keys); the reply in *REP
 * (free it) when 0. */
static int
t_call_as(hcluster *c, const char *name, int i, const wire_msg *m, wire_msg *rep)
{
	nng_socket s;
	if (hc_become(c, name) != 0 || rpc_dial(c->urls[i], 0, &s) != 0)
		return -100;
	int rv = rpc_call(s, m, rep, 3000);
	rpc_close(s);
	return rv;
}

/* 1 if M, sent to node I as NAME, is answered with an ERROR holding
 * NEEDLE, or (NEEDLE NULL) not accepted at all (an unsealed ERROR: the
 * call fails with TWOPC_EPROTO). */
static int
t_refused_as(hcluster *c, const char *name, int i, const wire_msg *m, const char *needle)
{
	wire_msg rep;
	int rv = t_call_as(c, name, i, m, &rep);
	if (rv != 0)
		return needle == NULL && rv == TWOPC_EPROTO;
	int ok = needle != NULL && rep.type == WIRE_ERROR && rep.text != NULL &&
	    strstr(rep.text, needle) != NULL;
	if (!ok)
		fprintf(stderr, "attack: %s got %s %s\n", wire_type_name(m->type),
		    wire_type_name(rep.type), rep.text ? rep.text : "");
	wire_msg_free(&rep);
	return ok;
}

/* A one-phase VOTE_REQUEST: add KEY DELTA at alpha, as SENDER. */
static void
t_one_phase(wire_msg *m, wire_op *op, char **peers, const char *txid, const char *sender,
    const char *key, const char *delta)
{
	*op = (wire_op){ WIRE_OP_ADD, (char *)key, (char *)delta };
	peers[0] = "alpha";
	wire_msg_init(m, WIRE_VOTE_REQUEST, 1, txid, sender);
	m->flags = WIRE_FLAG_ONE_PHASE, m->npeers = 1, m->peers = peers, m->nops = 1, m->ops = op;
}

static long long
t_counter(hcluster *c, int i, const char *name)
{
	wire_msg req, rep;
	long long v = -1;
	wire_msg_init(&req, WIRE_STATUS_REQUEST, 0, NULL, "client");
	req.state = 2;
	if (t_call_as(c, CFG_TLS_CLIENT, i, &req, &rep) == 0) {
		for (size_t k = 0; rep.type == WIRE_STATUS_REPLY && k < rep.nstatus; k++)
			if (strcmp(rep.status[k].txid, name) == 0)
				v = (long long)rep.status[k].epoch;
		wire_msg_free(&rep);
	}
	return v;
}

/* Record case NAME: REFUSED as observed; unchanged if the dump now equals
 * BEFORE (taken after every legitimate write settled). */
static void
t_row_end(hcluster *c, const char *name, int refused, const char *before)
{
	char *after = t_dump(c);
	int same = after != NULL && before != NULL && strcmp(after, before) == 0;
	if (!same && after != NULL)
		fprintf(stderr, "attack: %s changed the tables\n", name);
	free(after);
	CU_ASSERT(refused);
	CU_ASSERT(same);
	if (!refused)
		fprintf(stderr, "attack: %s was not refused\n", name);
	if (t_nrows < (int)T_NITEMS(t_rows))
		t_rows[t_nrows++] = (t_row){ name, refused, same };
}

static void
t_table(void)
{
	printf("\n  %-58s %-8s %s\n", "attack", "refused", "tables unchanged");
	for (int i = 0; i < t_nrows; i++)
		printf("  %-58s %-8s %s\n", t_rows[i].name, t_rows[i].refused ? "yes" : "NO",
		    t_rows[i].unchanged ? "yes" : "NO");
}

/* An expired certificate for 'client', signed by the cluster's own CA,
 * into DIR/old.crt and DIR/old.key. 0 or -1. */
static int
t_expired_cert(hcluster *c)
{
	char cmd[3000];
	snprintf(cmd, sizeof(cmd),
	    "cd '%s' && mkdir -p old && cd old && touch index.txt && echo 01 >serial && "
	    "printf '[ca]\\ndefault_ca=d\\n[d]\\ndatabase=index.txt\\nnew_certs_dir=.\\n"
	    "serial=serial\\ndefault_md=sha256\\npolicy=p\\n[p]\\ncommonName=supplied\\n' >ca.cnf && "
	    "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout old.key "
	    "-out old.csr -subj /CN=client 2>/dev/null && "
	    "openssl ca -batch -config ca.cnf -cert ../tls/ca.crt -keyfile ../tls/ca.key -in old.csr "
	    "-out old.crt -startdate 20200101000000Z -enddate 20200102000000Z -notext "
	    ">/dev/null 2>&1", c->dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
test_attacks(void)
{
	hcluster c;
	wire_msg m, rep;
	wire_op op;
	char *peers[3], *before, v[32], ca[400], crt[400], key[400];
	char txid[WIRE_TXID_MAX + 1];
	wire_buf enc = { 0 };

	CU_ASSERT_FATAL(hc_create(&c, 3, 2000, 1000) == 0);
	if (hc_use_tls(&c, NULL) != 0 || hc_start_all(&c) != 0) {
		hc_destroy(&c);
		CU_FAIL_FATAL("TLS cluster did not start");
	}
	snprintf(ca, sizeof(ca), "%s/tls/ca.crt", c.dir);
	snprintf(crt, sizeof(crt), "%s/tls/client.crt", c.dir);
	snprintf(key, sizeof(key), "%s/tls/client.key", c.dir);
	CU_ASSERT_FATAL(hc_become(&c, CFG_TLS_CLIENT) == 0);
	T_EQ(T_DRV(&c, "commit", "--txid", "seed-1", "alpha:put:alice=100", "beta:put:bob=50"), 0);
	T_EQ(T_DRV(&c, "commit", "--txid", "seed-2", "beta:add:bob=1", "gamma:put:carol=7"), 0);
	/* An aborted one: alpha keeps its record (with peers) for a day. */
	T_EQ(T_DRV(&c, "commit", "--txid", "seed-3", "alpha:check:alice=1", "gamma:put:x=1"), 1);
	CU_ASSERT_FATAL(t_expired_cert(&c) == 0);
	before = t_quiet_dump(&c);
	CU_ASSERT_FATAL(before != NULL);
	long long ref0 = t_counter(&c, A, "refused");

	/* 1. One forged one-phase VOTE_REQUEST ("coord") with a client's keys. */
	t_one_phase(&m, &op, peers, "evil-1", "coord", "bob", "999950");
	t_row_end(&c, "forged one-phase commit (client keys, as coord)",
	    t_refused_as(&c, CFG_TLS_CLIENT, A, &m, NULL), before);

	/* 2. A two-phase commit forged by a client under its own name. */
	char *two[] = { "alpha", "beta" };
	op = (wire_op){ WIRE_OP_PUT, "mallory", "1000000" };
	wire_msg_init(&m, WIRE_VOTE_REQUEST, 1, "evil-2", "client");
	m.npeers = 2, m.peers = two, m.nops = 1, m.ops = &op;
	int r2 = t_refused_as(&c, CFG_TLS_CLIENT, A, &m, "client is a client and may not send "
	    "VOTE_REQUEST");
	wire_msg_init(&m, WIRE_GLOBAL_COMMIT, 1, "evil-2", "client");
	r2 &= t_refused_as(&c, CFG_TLS_CLIENT, A, &m, "may not send GLOBAL_COMMIT");
	t_row_end(&c, "forged two-phase commit (client keys, own name)", r2, before);

	/* 3. GLOBAL_ABORT with no keys at all (a valid client certificate,
	 * the message unsealed). */
	wire_msg_init(&m, WIRE_GLOBAL_ABORT, 1, "seed-1", "coord");
	CU_ASSERT_FATAL(wire_encode(&m, &enc) == 0);
	long long un0 = t_counter(&c, A, "unauthenticated");
	(void)tu_raw(c.urls[A], ca, crt, key, enc.data, enc.len);
	t_row_end(&c, "forged GLOBAL_ABORT (certificate, no keys)",
	    t_counter(&c, A, "unauthenticated") == un0 + 1, before);

	/* 4. FORGET of a committed txid with beta's keys, as coord. */
	char *fg[] = { "seed-1" };
	wire_msg_init(&m, WIRE_FORGET, 1, NULL, "coord");
	m.ntxids = 1, m.txids = fg;
	t_row_end(&c, "forged FORGET (participant keys, as coord)",
	    t_refused_as(&c, "beta", A, &m, NULL), before);

	/* 5. The 2^64-1 epoch, from beta under its own name. */
	wire_msg_init(&m, WIRE_GLOBAL_ABORT, UINT64_MAX, "seed-1", "beta");
	t_row_end(&c, "GLOBAL_ABORT with epoch 2^64-1 (participant keys)",
	    t_refused_as(&c, "beta", A, &m, "beta is a participant and may not send GLOBAL_ABORT"),
	    before);

	/* 6. Pre-aborting the next txids, guessed, with GLOBAL_ABORTs from a
	 * participant and from a client posing as the coordinator (the
	 * question of a peer, which may force ABORT, is case 14). */
	long long seq = hc_query_int(&c, CO, "SELECT max(CAST(substr(txid, length(rtrim(txid, "
	    "'0123456789')) + 1) AS INTEGER)) FROM txn WHERE txid LIKE 'coord-%'");
	long long ep = hc_query_int(&c, CO, "SELECT value FROM meta WHERE key = 'epoch'");
	int r6 = 1;
	for (long long k = 1; k <= 3; k++) {
		snprintf(txid, sizeof(txid), "coord-%lld-%lld", ep, (seq > 0 ? seq : 0) + k);
		wire_msg_init(&m, WIRE_GLOBAL_ABORT, (uint64_t)ep, txid, "gamma");
		r6 &= t_refused_as(&c, "gamma", A, &m, "may not send GLOBAL_ABORT");
		wire_msg_init(&m, WIRE_GLOBAL_ABORT, (uint64_t)ep, txid, "coord");
		r6 &= t_refused_as(&c, CFG_TLS_CLIENT, A, &m, NULL);
	}
	t_row_end(&c, "pre-abort predictable txids (participant keys)", r6, before);

	/* 7. A participant's keys acting as the coordinator. */
	t_one_phase(&m, &op, peers, "evil-7", "coord", "alice", "5");
	t_row_end(&c, "participant keys as the coordinator (one-phase)",
	    t_refused_as(&c, "beta", A, &m, NULL), before);

	/* 8. ... and as another participant: beta asks gamma, as alpha, about
	 * a txid gamma has no record of (answered, it would force ABORT). */
	wire_msg_init(&m, WIRE_DECISION_REQUEST, 1, "evil-8", "alpha");
	t_row_end(&c, "participant keys as another participant",
	    t_refused_as(&c, "beta", G, &m, NULL), before);

	/* 9-11. TLS: another CA's certificate, an expired one of our CA, and
	 * no TLS at all. None gets a message through. */
	wire_msg_init(&m, WIRE_IAMALIVE, 0, NULL, "client");
	CU_ASSERT_FATAL(wire_encode(&m, &enc) == 0);
	char cmd[1200], ocrt[400], okey[400];
	snprintf(cmd, sizeof(cmd), "bash '%s/tests/mkcerts.sh' '%s' '%s/other' >/dev/null",
	    getenv("TWOPC_SRCDIR") ? getenv("TWOPC_SRCDIR") : ".", c.file, c.dir);
	CU_ASSERT_FATAL(system(cmd) == 0);
	snprintf(ocrt, sizeof(ocrt), "%s/other/client.crt", c.dir);
	snprintf(okey, sizeof(okey), "%s/other/client.key", c.dir);
	T_TRUE(tu_raw(c.urls[A], ca, crt, key, enc.data, enc.len) > 0); /* the control */
	t_row_end(&c, "certificate of an untrusted CA",
	    tu_raw(c.urls[A], ca, ocrt, okey, enc.data, enc.len) == -1, before);
	snprintf(ocrt, sizeof(ocrt), "%s/old/old.crt", c.dir);
	snprintf(okey, sizeof(okey), "%s/old/old.key", c.dir);
	t_row_end(&c, "expired certificate of the cluster's CA",
	    tu_raw(c.urls[A], ca, ocrt, okey, enc.data, enc.len) == -1, before);
	t_row_end(&c, "plain TCP client against the TLS listener",
	    tu_raw(c.urls[A] + 4, NULL, NULL, NULL, enc.data, enc.len) == -1, before);

	/* 12. A replay. The coordinator's own one-phase VOTE_REQUEST (add
	 * ctr 1) is captured on its way (sealed here with its keys, as it
	 * would be on the wire), delivered, and its record then forgotten
	 * (FORGET, also the coordinator's). Replayed, it would add again. */
	nng_msg *cap = NULL;
	uint8_t tag[WIRE_MAC_LEN];
	t_one_phase(&m, &op, peers, "rp-1", "coord", "ctr", "1");
	CU_ASSERT_FATAL(wire_encode(&m, &enc) == 0);
	CU_ASSERT_FATAL(hc_become(&c, "coord") == 0);
	CU_ASSERT_FATAL(nng_msg_alloc(&cap, 0) == 0);
	CU_ASSERT_FATAL(rpc_auth_seal("alpha", enc.data, enc.len, NULL, cap, tag) == 0);
	T_TRUE(tu_raw(c.urls[A], ca, crt, key, nng_msg_body(cap), nng_msg_len(cap)) > 0);
	char *rp[] = { "rp-1" };
	wire_msg_init(&m, WIRE_FORGET, (uint64_t)ep, NULL, "coord");
	m.ntxids = 1, m.txids = rp;
	T_EQ(t_call_as(&c, "coord", A, &m, &rep), 0);
	wire_msg_free(&rep);
	hc_kv(&c, A, "ctr", v, sizeof(v));
	T_STREQ(v, "1");
	T_EQ(hc_query_int(&c, A, "SELECT count(*) FROM txn WHERE txid = 'rp-1'"), 0);
	free(before);
	before = t_quiet_dump(&c);
	t_row_end(&c, "replay of a captured VOTE_REQUEST after FORGET",
	    tu_raw(c.urls[A], ca, crt, key, nng_msg_body(cap), nng_msg_len(cap)) == -1, before);

	/* 13. The same replay once alpha has restarted (its memory of the
	 * stamps is gone; the stamp is older than the process). */
	CU_ASSERT_EQUAL(hc_kill(&c, A), 0);
	CU_ASSERT_FATAL(hc_become(&c, CFG_TLS_CLIENT) == 0); /* hc_start pings as a client */
	CU_ASSERT_FATAL(hc_start(&c, A, NULL) == 0);
	free(before);
	before = t_quiet_dump(&c);
	int r13 = tu_raw(c.urls[A], ca, crt, key, nng_msg_body(cap), nng_msg_len(cap)) == -1;
	r13 &= hc_wait_log_line(&c, A, "stamped before this process started", 10000) == 0;
	t_row_end(&c, "replay of it after the participant restarted", r13, before);
	nng_msg_free(cap);
	hc_kv(&c, A, "ctr", v, sizeof(v));
	T_STREQ(v, "1");

	/* Every refusal by a handler's role check was counted (alpha's
	 * restart reset its counters: gamma's count the case 8 one). */
	T_TRUE(t_counter(&c, G, "refused") >= 1);
	(void)ref0;
	/* 14. Pre-aborting by a peer's question: gamma, under its own name,
	 * asks alpha and beta about the txids the next commits would get if
	 * they were only NAME-EPOCH-SEQ. Having no record, they force ABORT
	 * for those names, as the termination protocol requires (DESIGN
	 * section 4). The coordinator's txids carry a random part, so the
	 * next commit is none of them and commits. */
	int asked = 0;
	for (long long k = 1; k <= 3; k++) {
		snprintf(txid, sizeof(txid), "coord-%lld-%lld", ep, (seq > 0 ? seq : 0) + k);
		for (int i = A; i <= B; i++) {
			wire_msg_init(&m, WIRE_DECISION_REQUEST, (uint64_t)ep, txid, "gamma");
			if (t_call_as(&c, "gamma", i, &m, &rep) == 0) {
				asked += rep.type == WIRE_DECISION_REPLY && rep.state == TX_ABORT;
				wire_msg_free(&rep);
			}
		}
	}
	T_EQ(asked, 6); /* the question itself is legitimate and answered */
	T_EQ(hc_query_int(&c, A, "SELECT count(*) FROM txn WHERE txid LIKE 'coord-%' "
	    "AND state = 'ABORT'"), 3);
	/* The cluster still works, as before, and the guesses missed. */
	CU_ASSERT_FATAL(hc_become(&c, CFG_TLS_CLIENT) == 0);
	T_EQ(T_DRV(&c, "commit", "alpha:add:alice=-10", "beta:add:bob=10"), 0);
	/* The guesses stay the only ABORTs; the commit's own row may be
	 * COMMIT or already forgotten (END, FORGET): its value is read below. */
	T_EQ(hc_query_int(&c, A, "SELECT count(*) FROM txn WHERE txid LIKE 'coord-%' "
	    "AND state = 'ABORT'"), 3);
	hc_kv(&c, A, "alice", v, sizeof(v));
	T_STREQ(v, "90");
	hc_kv(&c, B, "bob", v, sizeof(v));
	T_STREQ(v, "61");
	t_table();
	printf("  %-58s %s\n", "pre-abort of guessed txids by a peer's question",
	    "forced ABORT for the guesses; the real commit committed");
	free(before);
	wire_buf_free(&enc);
	hc_destroy(&c);
}

void test_attack_register(void);

void
test_attack_register(void)
{
	static const tu_test tests[] = {
		{ "attacks over mutual TLS with message keys", test_attacks },
	};
	TU_SUITE("attack", tests);
}
