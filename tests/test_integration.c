/*
 * test_integration.c - real daemons on loopback (suite "integration").
 *
 * Each case starts a coordinator and participants as separate processes
 * (tests/harness.c), drives them with the real `twopc` driver or the
 * client API, kills them with real signals, restarts them, and checks the
 * outcome in each daemon's SQLite log directly. What each case proves is
 * in its comment.
 */
#include <pthread.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <CUnit/CUnit.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include "db.h"
#include "harness.h"
#include "rpc.h"
#include "twopc/client.h"
#include "wire.h"
#include "testutil.h"

void test_integration_register(void);

#define A 1 /* alpha */
#define B 2 /* beta */
#define G 3 /* gamma */


static long long
locks_of(hcluster *c, int i)
{
	return hc_query_int(c, i, "SELECT count(*) FROM locks") +
	    hc_query_int(c, i, "SELECT count(*) FROM workspace");
}

/* Participant I committed TXID: its log says COMMIT, or the row is gone
 * because the coordinator recorded END and sent FORGET (R9). */
static int
wait_committed(hcluster *c, int i, const char *txid, int timeout_ms)
{
	char st[32], cs[32];
	int64_t end = mono_ms() + timeout_ms;
	do {
		hc_state(c, i, txid, st, sizeof(st));
		if (strcmp(st, "COMMIT") == 0)
			return 0;
		hc_state(c, 0, txid, cs, sizeof(cs));
		if (st[0] == '\0' && strcmp(cs, "END") == 0)
			return 0;
		hc_wait_state(c, i, txid, "COMMIT", 10);
	} while (mono_ms() < end);
	return -1;
}

/* The last txid printed by the driver ("COMMITTED x" / "ABORTED x: ..."). */
static void
txid_of(const char *s, char *buf, size_t len)
{
	const char *p = strchr(s, ' ');
	buf[0] = '\0';
	if (p == NULL)
		return;
	p++;
	size_t n = strcspn(p, ": \n");
	snprintf(buf, len, "%.*s", (int)n, p);
}

/* REQ on S: a reply must come (else the test ends), of type WANT. */
static void
it_expect(nng_socket s, const wire_msg *req, int want)
{
	wire_msg rep;
	CU_ASSERT_FATAL(rpc_call(s, req, &rep, 2000) == 0);
	CU_ASSERT_EQUAL(rep.type, want);
	wire_msg_free(&rep);
}

static char *it_peers[] = { "alpha", "beta" };

/* REQ becomes the coordinator's VOTE_REQUEST for TXID at EPOCH: peers
 * alpha and beta, the one operation OP. */
static void
it_vote_req(wire_msg *req, wire_op *op, uint64_t epoch, const char *txid)
{
	wire_msg_init(req, WIRE_VOTE_REQUEST, epoch, txid, "coord");
	req->npeers = 2;
	req->peers = it_peers;
	req->nops = 1;
	req->ops = op;
}

/* Commit across three participants: each applies its part, logs COMMIT,
 * and the coordinator reaches END; `twopc get` reads the values. */
static void
test_commit(void)
{
	hcluster c;
	char v[64], id[80];
	T_CLUSTER_UP(&c, 3, 2000, 1000);
	CU_ASSERT_EQUAL(T_DRV(&c, "commit", "alpha:put:alice=100", "beta:put:bob=50", "gamma:put:carol=7",
	    NULL), 0);
	CU_ASSERT(strncmp(tu_out, "COMMITTED ", 10) == 0);
	txid_of(tu_out, id, sizeof(id));
	CU_ASSERT(strncmp(id, "coord-1-", 8) == 0);
	for (int i = A; i <= G; i++)
		CU_ASSERT_EQUAL(wait_committed(&c, i, id, 15000), 0);
	CU_ASSERT_EQUAL(hc_wait_state(&c, 0, id, "END", 15000), 0);
	hc_kv(&c, A, "alice", v, sizeof(v));
	CU_ASSERT_STRING_EQUAL(v, "100");
	hc_kv(&c, G, "carol", v, sizeof(v));
	CU_ASSERT_STRING_EQUAL(v, "7");
	CU_ASSERT_EQUAL(T_DRV(&c, "get", "beta", "bob", NULL, NULL), 0);
	CU_ASSERT_STRING_EQUAL(tu_out, "50\n");
	CU_ASSERT_EQUAL(T_DRV(&c, "get", "beta", "nobody", NULL, NULL), 1);
	CU_ASSERT_EQUAL(T_DRV(&c, "commit", "--json", "alpha:del:alice", "beta:check:bob=50", NULL), 0);
	CU_ASSERT(strstr(tu_out, "\"outcome\":\"committed\"") != NULL);
	CU_ASSERT_EQUAL(T_DRV(&c, "get", "alpha", "alice", NULL, NULL), 1);
	/* A put or del replaces the value without reading it; an add after
	 * it in the same transaction sees it, not the committed value. */
	CU_ASSERT_EQUAL(T_DRV(&c, "commit", "beta:put:bob=9", "beta:add:bob=1", "gamma:del:carol",
	    "gamma:add:carol=3"), 0);
	hc_kv(&c, B, "bob", v, sizeof(v));
	CU_ASSERT_STRING_EQUAL(v, "10");
	hc_kv(&c, G, "carol", v, sizeof(v));
	CU_ASSERT_STRING_EQUAL(v, "3");
	for (int i = A; i <= G; i++)
		CU_ASSERT_EQUAL(locks_of(&c, i), 0);
	hc_destroy(&c);
}

/* Abort by vote: insufficient funds at one participant; nobody applies
 * anything, the other participant learns ABORT, no lock remains. */
static void
test_abort_by_vote(void)
{
	hcluster c;
	char v[64], id[80];
	T_CLUSTER_UP(&c, 2, 2000, 1000);
	CU_ASSERT_EQUAL(T_DRV(&c, "commit", "alpha:put:alice=100", "beta:put:bob=0", NULL, NULL), 0);
	CU_ASSERT_EQUAL(T_DRV(&c, "commit", "alpha:add:alice=500", "beta:add:bob=-500", NULL, NULL), 1);
	CU_ASSERT(strstr(tu_out, "ABORTED") == tu_out);
	CU_ASSERT(strstr(tu_out, "beta: insufficient funds: bob is 0, cannot add -500") != NULL);
	txid_of(tu_out, id, sizeof(id));
	CU_ASSERT_EQUAL(hc_wait_state(&c, A, id, "ABORT", 15000), 0);
	CU_ASSERT_EQUAL(hc_wait_state(&c, B, id, "ABORT", 15000), 0);
	CU_ASSERT_EQUAL(hc_wait_state(&c, 0, id, "ABORT", 15000), 0);
	hc_kv(&c, A, "alice", v, sizeof(v));
	CU_ASSERT_STRING_EQUAL(v, "100");
	CU_ASSERT_EQUAL(locks_of(&c, A), 0);
	CU_ASSERT_EQUAL(T_DRV(&c, "commit", "alpha:check:alice=99", "beta:put:x=1", NULL, NULL), 1);
	CU_ASSERT(strstr(tu_out, "check failed") != NULL);
	hc_destroy(&c);
}

/* Abort by vote timeout: beta is SIGKILLed; the transaction aborts after
 * vote_timeout_ms naming beta; alpha releases its locks; beta, restarted,
 * has nothing in doubt. */
static void
test_abort_by_timeout(void)
{
	hcluster c;
	char id[80];
	/* Long enough for alpha's vote (a forced READY) on a busy machine:
	 * the reason names the first participant that did not vote, and
	 * must name beta. */
	T_CLUSTER_UP(&c, 2, 2000, 1000);
	CU_ASSERT_EQUAL(hc_kill(&c, B), 0);
	int64_t t0 = mono_ms();
	CU_ASSERT_EQUAL(T_DRV(&c, "commit", "alpha:put:k=1", "beta:put:k=2", NULL, NULL), 1);
	int64_t took = mono_ms() - t0;
	T_HAS(tu_out, "no vote from beta within 2000 ms");
	CU_ASSERT(took >= 2000);
	txid_of(tu_out, id, sizeof(id));
	CU_ASSERT_EQUAL(hc_wait_state(&c, A, id, "ABORT", 10000), 0);
	CU_ASSERT_EQUAL(locks_of(&c, A), 0);
	CU_ASSERT_FATAL(hc_start(&c, B, NULL) == 0);
	/* The restarted beta may receive the resent VOTE_REQUEST (and then
	 * GLOBAL_ABORT) or nothing: either way nothing stays READY. */
	CU_ASSERT_EQUAL(T_DRV(&c, "commit", "alpha:put:k=3", "beta:put:k=4", NULL, NULL), 0);
	/* (The new one is READY there until its GLOBAL_COMMIT, which leaves
	 * after COMMITTED.) */
	CU_ASSERT_EQUAL(hc_wait_query(&c, B, "SELECT count(*) FROM txn WHERE state = 'READY'", 0,
	    10000), 0);
	hc_destroy(&c);
}

/* Duplicate, reordered and malformed messages sent straight to a
 * participant daemon: each is answered from the log (R4) or dropped, and
 * the daemon keeps serving. */
static void
test_duplicates_and_garbage(void)
{
	hcluster c;
	nng_socket s;
	wire_msg req, rep;
	T_CLUSTER_UP(&c, 2, 2000, 60000);
	CU_ASSERT_FATAL(T_DRV(&c, "commit", "--txid", "dup-1", "alpha:put:a=1", "beta:put:b=1") == 0);
	CU_ASSERT_FATAL(rpc_dial(c.urls[A], 0, &s) == 0);

	/* A transaction driven by hand (so no FORGET can race with it): its
	 * VOTE_REQUEST and GLOBAL_COMMIT each sent twice get the same vote and
	 * the same ACK, and the value is applied once. */
	wire_op dop = { WIRE_OP_ADD, "d", "5" };
	char *dpeers[] = { "alpha" };
	char v[32];
	wire_msg_init(&req, WIRE_VOTE_REQUEST, 1, "dup-2", "coord");
	req.npeers = 1;
	req.peers = dpeers;
	req.nops = 1;
	req.ops = &dop;
	for (int k = 0; k < 2; k++) {
		it_expect(s, &req, WIRE_VOTE_COMMIT);
	}
	wire_msg_init(&req, WIRE_GLOBAL_COMMIT, 1, "dup-2", "coord");
	for (int k = 0; k < 2; k++) {
		CU_ASSERT_FATAL(rpc_call(s, &req, &rep, 2000) == 0);
		CU_ASSERT_EQUAL(rep.type, WIRE_ACK);
		CU_ASSERT_EQUAL(rep.state, 3 /* COMMIT */);
		wire_msg_free(&rep);
	}
	hc_kv(&c, A, "d", v, sizeof(v));
	CU_ASSERT_STRING_EQUAL(v, "5");

	/* Reordered: GLOBAL_ABORT before its VOTE_REQUEST; the late vote
	 * request must then be refused. */
	wire_msg_init(&req, WIRE_GLOBAL_ABORT, 1, "reorder-1", "coord");
	it_expect(s, &req, WIRE_ACK);
	wire_op op = { WIRE_OP_PUT, "r", "1" };
	it_vote_req(&req, &op, 1, "reorder-1");
	it_expect(s, &req, WIRE_VOTE_ABORT);
	/* The same vote request twice more: the same answer. */
	it_expect(s, &req, WIRE_VOTE_ABORT);
	rpc_close(s);

	/* Garbage on a raw REQ socket: no reply, no crash. */
	nng_socket raw;
	CU_ASSERT_FATAL(nng_req0_open(&raw) == 0);
	nng_socket_set_ms(raw, NNG_OPT_RECVTIMEO, 300);
	CU_ASSERT_FATAL(nng_dial(raw, c.urls[A], NULL, 0) == 0);
	static const char junk[] = "\x32\x50\x43\x01\x63garbage that is not a message";
	for (int k = 0; k < 5; k++) {
		char *buf = NULL;
		size_t sz = 0;
		CU_ASSERT_EQUAL(nng_send(raw, (void *)junk, sizeof(junk) - (size_t)k, 0), 0);
		CU_ASSERT_EQUAL(nng_recv(raw, &buf, &sz, NNG_FLAG_ALLOC), NNG_ETIMEDOUT);
	}
	nng_close(raw);
	CU_ASSERT(hc_alive(&c, A));
	CU_ASSERT_EQUAL(hc_wait_log_line(&c, A, "dropped malformed message #5", 15000), 0);
	CU_ASSERT_EQUAL(T_DRV(&c, "commit", "alpha:put:a=2", "beta:put:b=2", NULL, NULL), 0);
	hc_destroy(&c);
}

typedef struct conflict_arg {
	hcluster *c;
	twopc_client *cl;
	int outcome;
	int rv;
	char reason[256];
} conflict_arg;

static void *
conflict_thread(void *p)
{
	conflict_arg *a = p;
	twopc_tx *tx;
	a->rv = twopc_tx_begin(a->cl, NULL, &tx);
	if (a->rv != 0)
		return NULL;
	twopc_tx_add(tx, "alpha", "add", "hot", "1");
	twopc_tx_add(tx, "beta", "add", "hot", "1");
	a->rv = twopc_tx_commit(tx, 10000, &a->outcome);
	snprintf(a->reason, sizeof(a->reason), "%s", twopc_tx_reason(tx));
	twopc_tx_free(tx);
	return NULL;
}

/* Concurrent conflicting transactions. First a deterministic pair: a
 * transaction holding 'hot' READY at alpha, that this coordinator does not
 * run (it waits for nothing), makes a second one touching 'hot' wait for
 * it (R5), at most the vote timeout; the holder is aborted meanwhile, so
 * the second commits. Then 16 at once, three rounds: every one gets a
 * definite outcome (no deadlock: waits go only to decided transactions;
 * one that meets an undecided holder votes ABORT, naming it), and the
 * counter equals the number of commits at both participants. */
static void
test_conflicts(void)
{
	enum { N = 16 };
	hcluster c;
	twopc_client *cl;
	pthread_t th[N];
	conflict_arg args[N];
	int commits = 0;
	char v[64], want[32];
	nng_socket s;
	wire_msg req, rep;

	/* The vote timeout only bounds a wait that goes wrong; every client
	 * call below has its own (10 s), so a deadlock still fails the test,
	 * and a slow machine cannot run the first pair into it. */
	T_CLUSTER_UP(&c, 2, 30000, 60000);

	CU_ASSERT_FATAL(rpc_dial(c.urls[A], 0, &s) == 0);
	wire_op op = { WIRE_OP_ADD, "hot", "1" };
	it_vote_req(&req, &op, 1, "holder");
	it_expect(s, &req, WIRE_VOTE_COMMIT);
	char path[320];
	snprintf(path, sizeof(path), "%s/driver.wait_out", c.dir);
	const char *dargs[] = { "commit", "alpha:add:hot=1", "beta:add:hot=1", NULL };
	pid_t d = hc_twopc_bg(&c, path, dargs);
	/* It waits: asked again and again, busy each time. */
	CU_ASSERT_EQUAL(hc_wait_log_line(&c, A, "busy: a key is held by READY holder", 10000), 0);
	wire_msg_init(&req, WIRE_GLOBAL_ABORT, 1, "holder", "coord");
	CU_ASSERT_FATAL(rpc_call(s, &req, &rep, 5000) == 0);
	wire_msg_free(&rep);
	rpc_close(s);
	/* Committed (0): it waited for the holder's decision, not for its
	 * own vote timeout (which would abort it). */
	CU_ASSERT_EQUAL(hc_twopc_wait(d, 20000), 0);
	commits = 1;

	CU_ASSERT_FATAL(twopc_client_open(&cl, c.file) == 0);
	for (int r = 0; r < 3; r++) {
		for (int i = 0; i < N; i++) {
			args[i] = (conflict_arg){ .c = &c, .cl = cl };
			pthread_create(&th[i], NULL, conflict_thread, &args[i]);
		}
		for (int i = 0; i < N; i++) {
			pthread_join(th[i], NULL);
			CU_ASSERT_EQUAL(args[i].rv, 0);
			if (args[i].outcome == TWOPC_COMMITTED)
				commits++;
			else
				CU_ASSERT(strstr(args[i].reason, "is held by") != NULL);
		}
	}
	/* COMMITTED leaves before GLOBAL_COMMIT (R2: the decision is made,
	 * not yet applied everywhere): the last ones land just after. */
	for (int i = A; i <= B; i++)
		CU_ASSERT_EQUAL(hc_wait_query(&c, i, "SELECT count(*) FROM locks", 0, 10000), 0);
	snprintf(want, sizeof(want), "%d", commits);
	hc_kv(&c, A, "hot", v, sizeof(v));
	CU_ASSERT_STRING_EQUAL(v, want);
	hc_kv(&c, B, "hot", v, sizeof(v));
	CU_ASSERT_STRING_EQUAL(v, want);
	twopc_client_close(cl);
	hc_destroy(&c);
}

/* Coordinator SIGKILLed in WAIT (every vote in, no decision): the
 * participants stay READY holding their locks; the driver reports the
 * outcome unknown (exit 3); after the restart recovery aborts (presumed
 * abort) and every lock is released. */
static void
test_coordinator_killed_in_wait(void)
{
	hcluster c;
	char path[320];
	CU_ASSERT_FATAL(hc_create(&c, 2, 2000, 300) == 0);
	CU_ASSERT_FATAL(hc_start(&c, A, NULL) == 0 && hc_start(&c, B, NULL) == 0);
	CU_ASSERT_FATAL(hc_start(&c, 0, "TWOPC_PAUSE_AT=coordinator.before_decision_logged") == 0);
	snprintf(path, sizeof(path), "%s/driver.tu_out", c.dir);
	const char *args[] = { "commit", "--timeout", "20000", "--txid", "w-1", "alpha:put:k=1",
		"beta:put:k=2", NULL };
	pid_t d = hc_twopc_bg(&c, path, args);
	CU_ASSERT_FATAL(hc_wait_log_line(&c, 0, "PAUSED at coordinator.before_decision_logged", 15000) == 0);
	CU_ASSERT_EQUAL(hc_wait_state(&c, A, "w-1", "READY", 15000), 0);
	CU_ASSERT_EQUAL(hc_wait_state(&c, B, "w-1", "READY", 15000), 0);
	CU_ASSERT_EQUAL(hc_kill(&c, 0), 0);
	CU_ASSERT_EQUAL(hc_twopc_wait(d, 5000), 3);
	/* Without a coordinator the participants stay READY: never alone. */
	CU_ASSERT_EQUAL(hc_wait_log_line(&c, A, "w-1: READY without a decision", 15000), 0);
	CU_ASSERT_EQUAL(hc_wait_state(&c, A, "w-1", "READY", 10), 0);
	CU_ASSERT_FATAL(hc_start(&c, 0, NULL) == 0);
	/* WAIT never became durable (the point stops the process with every
	 * vote in and WAIT held back): no record, so ABORT by presumption. */
	CU_ASSERT_EQUAL(hc_wait_state(&c, A, "w-1", "ABORT", 15000), 0);
	CU_ASSERT_EQUAL(hc_wait_state(&c, B, "w-1", "ABORT", 15000), 0);
	char st[16];
	hc_state(&c, 0, "w-1", st, sizeof(st));
	CU_ASSERT_STRING_EQUAL(st, "");
	CU_ASSERT_EQUAL(locks_of(&c, A) + locks_of(&c, B), 0);
	CU_ASSERT_EQUAL(hc_query_int(&c, 0, "SELECT value FROM meta WHERE key = 'epoch'"), 2);
	/* No record is proof that no run of w-1 committed (R7): a repeated
	 * SUBMIT runs it again, as a new run of the new epoch, and commits. */
	CU_ASSERT_EQUAL(T_DRV(&c, "commit", "--txid", "w-1", "alpha:put:k=1", "beta:put:k=2"), 0);
	CU_ASSERT_EQUAL(wait_committed(&c, B, "w-1", 15000), 0); /* (FORGET may follow at once) */
	hc_destroy(&c);
}

/* Coordinator SIGKILLed at the commit point (WAIT durable, every vote
 * yes, nothing recorded or sent since): after the restart it asks the
 * participants, finds both READY, commits; both participants commit, the
 * coordinator reaches END, and the client's retry learns COMMITTED. */
static void
test_coordinator_killed_after_commit(void)
{
	hcluster c;
	char path[320], v[32];
	CU_ASSERT_FATAL(hc_create(&c, 2, 2000, 60000) == 0);
	CU_ASSERT_FATAL(hc_start(&c, A, NULL) == 0 && hc_start(&c, B, NULL) == 0);
	CU_ASSERT_FATAL(hc_start(&c, 0, "TWOPC_PAUSE_AT=coordinator.after_decision_logged") == 0);
	snprintf(path, sizeof(path), "%s/driver.tu_out", c.dir);
	const char *args[] = { "commit", "--txid", "c-1", "alpha:put:k=1", "beta:put:k=2", NULL };
	pid_t d = hc_twopc_bg(&c, path, args);
	CU_ASSERT_FATAL(hc_wait_log_line(&c, 0, "PAUSED at coordinator.after_decision_logged", 15000) == 0);
	CU_ASSERT_EQUAL(hc_wait_state(&c, 0, "c-1", "WAIT", 10), 0);
	CU_ASSERT_EQUAL(hc_wait_state(&c, A, "c-1", "READY", 10), 0);
	CU_ASSERT_EQUAL(hc_kill(&c, 0), 0);
	CU_ASSERT_EQUAL(hc_twopc_wait(d, 5000), 3);
	CU_ASSERT_FATAL(hc_start(&c, 0, NULL) == 0);
	CU_ASSERT_EQUAL(wait_committed(&c, A, "c-1", 15000), 0);
	CU_ASSERT_EQUAL(wait_committed(&c, B, "c-1", 15000), 0);
	CU_ASSERT_EQUAL(hc_wait_state(&c, 0, "c-1", "END", 15000), 0);
	hc_kv(&c, B, "k", v, sizeof(v));
	CU_ASSERT_STRING_EQUAL(v, "2");
	CU_ASSERT_EQUAL(T_DRV(&c, "commit", "--txid", "c-1", "alpha:put:k=1", "beta:put:k=2"), 0);
	hc_destroy(&c);
}

/* A participant SIGKILLed in READY (GLOBAL_COMMIT received, not applied):
 * the coordinator keeps resending; the restarted participant commits from
 * its forced READY record, and the coordinator reaches END. */
static void
test_participant_killed_in_ready(void)
{
	hcluster c;
	char v[32];
	CU_ASSERT_FATAL(hc_create(&c, 2, 2000, 60000) == 0);
	CU_ASSERT_FATAL(hc_start(&c, 0, NULL) == 0 && hc_start(&c, A, NULL) == 0);
	CU_ASSERT_FATAL(hc_start(&c, B, "TWOPC_PAUSE_AT=participant.before_commit_applied") == 0);
	CU_ASSERT_EQUAL(T_DRV(&c, "commit", "--txid", "p-1", "alpha:put:k=1", "beta:put:k=2"), 0);
	CU_ASSERT_FATAL(hc_wait_log_line(&c, B, "PAUSED at participant.before_commit_applied", 15000) == 0);
	CU_ASSERT_EQUAL(hc_wait_state(&c, B, "p-1", "READY", 10), 0);
	CU_ASSERT_EQUAL(hc_kill(&c, B), 0);
	CU_ASSERT_EQUAL(hc_wait_state(&c, 0, "p-1", "COMMIT", 10), 0);
	CU_ASSERT_FATAL(hc_start(&c, B, NULL) == 0);
	CU_ASSERT_EQUAL(wait_committed(&c, B, "p-1", 15000), 0);
	CU_ASSERT_EQUAL(hc_wait_state(&c, 0, "p-1", "END", 15000), 0);
	hc_kv(&c, B, "k", v, sizeof(v));
	CU_ASSERT_STRING_EQUAL(v, "2");
	CU_ASSERT_EQUAL(locks_of(&c, B), 0);
	hc_destroy(&c);
}

/* A resubmitted txid is applied once (R7), also when the repeat carries
 * different work: the first outcome is returned, nothing runs again. */
static void
test_resubmit_once(void)
{
	hcluster c;
	char v[32];
	T_CLUSTER_UP(&c, 2, 2000, 1000);
	for (int k = 0; k < 3; k++) {
		CU_ASSERT_EQUAL(T_DRV(&c, "commit", "--txid", "once-1", "alpha:add:n=10", "beta:add:n=10"), 0);
		CU_ASSERT_STRING_EQUAL(tu_out, "COMMITTED once-1\n");
	}
	CU_ASSERT_EQUAL(T_DRV(&c, "commit", "--txid", "once-1", "alpha:add:n=99", "beta:add:n=99"), 0);
	hc_kv(&c, A, "n", v, sizeof(v));
	CU_ASSERT_STRING_EQUAL(v, "10");
	hc_kv(&c, B, "n", v, sizeof(v));
	CU_ASSERT_STRING_EQUAL(v, "10");
	CU_ASSERT_EQUAL(T_DRV(&c, "commit", "--txid", "once-2", "alpha:add:n=-50", "beta:add:n=1"), 1);
	CU_ASSERT_EQUAL(T_DRV(&c, "commit", "--txid", "once-2", "alpha:add:n=1", "beta:add:n=1"), 1);
	hc_kv(&c, A, "n", v, sizeof(v));
	CU_ASSERT_STRING_EQUAL(v, "10");
	hc_destroy(&c);
}

/* A repeated SUBMIT of a txid whose first run is still going waits for
 * that run's outcome (R7): beta is paused, so the run waits for its vote;
 * the repeat, with other work, waits with it; once beta goes on, both
 * clients hear COMMITTED and only the first run's work is applied. */
static void
test_resubmit_running(void)
{
	hcluster c;
	char p1[320], p2[320], v[32];
	T_CLUSTER_UP(&c, 2, 20000, 1000);
	snprintf(p1, sizeof(p1), "%s/driver1.out", c.dir);
	snprintf(p2, sizeof(p2), "%s/driver2.out", c.dir);
	const char *a1[] = { "commit", "--timeout", "30000", "--txid", "rr-1", "alpha:add:n=10",
		"beta:add:n=10", NULL };
	const char *a2[] = { "commit", "--timeout", "30000", "--txid", "rr-1", "alpha:add:n=99",
		"beta:add:n=99", NULL };
	T_EQ(hc_signal(&c, B, SIGSTOP), 0);
	pid_t d1 = hc_twopc_bg(&c, p1, a1);
	T_EQ(hc_wait_state(&c, A, "rr-1", "READY", 15000), 0);
	pid_t d2 = hc_twopc_bg(&c, p2, a2);
	T_EQ(hc_wait_log_line(&c, 0, "rr-1: SUBMIT again while it runs: waiting for its outcome",
	    15000), 0);
	T_EQ(hc_signal(&c, B, SIGCONT), 0);
	T_EQ(hc_twopc_wait(d1, 20000), 0);
	T_EQ(hc_twopc_wait(d2, 20000), 0);
	for (int k = 0; k < 2; k++) {
		char *out = tu_slurp(k == 0 ? p1 : p2);
		T_CHECK(out != NULL && strcmp(out, "COMMITTED rr-1\n") == 0, "client %d said: %s", k + 1,
		    out != NULL ? out : "(nothing)");
		free(out);
	}
	hc_kv(&c, A, "n", v, sizeof(v));
	CU_ASSERT_STRING_EQUAL(v, "10");
	hc_kv(&c, B, "n", v, sizeof(v));
	CU_ASSERT_STRING_EQUAL(v, "10");
	hc_destroy(&c);
}

/* One-phase commit (a single participant): the participant stages,
 * applies and forces COMMIT in one step (never READY) and the coordinator
 * records END without forcing anything; a single participant's ABORT vote
 * aborts. A participant that dies after forcing COMMIT but before its vote
 * leaves is asked, never presumed aborted: the client hears "outcome
 * unknown", and once the participant is back the coordinator learns
 * COMMIT from it (END); a retry of the txid is told COMMITTED, not run. */
static void
test_one_phase(void)
{
	hcluster c;
	char v[32], path[320];
	/* A vote timeout a busy machine's one-phase vote (stage, apply,
	 * force COMMIT) stays well within; op-3 below waits it out twice. */
	T_CLUSTER_UP(&c, 2, 2000, 1000);
	CU_ASSERT_EQUAL(T_DRV(&c, "commit", "--txid", "op-1", "alpha:put:a=10", "alpha:put:b=5"), 0);
	CU_ASSERT_STRING_EQUAL(tu_out, "COMMITTED op-1\n");
	CU_ASSERT_EQUAL(wait_committed(&c, A, "op-1", 15000), 0);
	CU_ASSERT_EQUAL(hc_wait_state(&c, 0, "op-1", "END", 15000), 0);
	CU_ASSERT_EQUAL(hc_wait_log_line(&c, A, "op-1: INIT -> COMMIT (one-phase commit)", 15000), 0);
	CU_ASSERT_EQUAL(hc_query_int(&c, 0, "SELECT count(*) FROM acks WHERE txid = 'op-1'"), 0);
	hc_kv(&c, A, "b", v, sizeof(v));
	CU_ASSERT_STRING_EQUAL(v, "5");
	CU_ASSERT_EQUAL(locks_of(&c, A), 0);
	/* An ABORT vote aborts; nothing is applied. */
	CU_ASSERT_EQUAL(T_DRV(&c, "commit", "--txid", "op-2", "alpha:add:a=-11", "alpha:put:b=6"), 1);
	CU_ASSERT(strstr(tu_out, "insufficient funds") != NULL);
	CU_ASSERT_EQUAL(hc_wait_state(&c, 0, "op-2", "ABORT", 15000), 0);
	hc_kv(&c, A, "b", v, sizeof(v));
	CU_ASSERT_STRING_EQUAL(v, "5");
	CU_ASSERT_EQUAL(locks_of(&c, A), 0);

	/* COMMIT forced, vote never sent: alpha stops there and is killed. */
	CU_ASSERT_EQUAL(hc_kill(&c, A), 0);
	CU_ASSERT_FATAL(hc_start(&c, A, "TWOPC_PAUSE_AT=participant.after_ready_logged") == 0);
	snprintf(path, sizeof(path), "%s/driver.tu_out", c.dir);
	const char *args[] = { "commit", "--timeout", "20000", "--txid", "op-3", "alpha:add:a=1",
		NULL };
	pid_t d = hc_twopc_bg(&c, path, args);
	CU_ASSERT_FATAL(hc_wait_log_line(&c, A, "PAUSED at participant.after_ready_logged", 15000) == 0);
	/* No vote, and the DECISION_REQUEST gets no answer: outcome unknown,
	 * and the coordinator keeps WAIT (it must not presume ABORT). */
	CU_ASSERT_EQUAL(hc_twopc_wait(d, 25000), 3);
	CU_ASSERT_EQUAL(hc_wait_log_line(&c, 0, "op-3: outcome unknown: one-phase participant alpha",
	    10000), 0);
	CU_ASSERT_EQUAL(hc_wait_state(&c, 0, "op-3", "WAIT", 10), 0);
	CU_ASSERT_EQUAL(T_DRV(&c, "commit", "--txid", "op-3", "alpha:add:a=1", NULL), 3);
	CU_ASSERT_EQUAL(hc_kill(&c, A), 0);
	CU_ASSERT_FATAL(hc_start(&c, A, NULL) == 0);
	CU_ASSERT_EQUAL(hc_wait_state(&c, 0, "op-3", "END", 15000), 0);
	CU_ASSERT_EQUAL(wait_committed(&c, A, "op-3", 15000), 0);
	CU_ASSERT_EQUAL(T_DRV(&c, "commit", "--txid", "op-3", "alpha:add:a=1", NULL), 0);
	hc_kv(&c, A, "a", v, sizeof(v));
	CU_ASSERT_STRING_EQUAL(v, "11");
	hc_destroy(&c);
}

/* The driver's errors: exit 2 naming the bad part, exit 3 when the
 * coordinator is unreachable; status and list with and without --json. */
static void
test_driver_errors_and_status(void)
{
	hcluster c;
	CU_ASSERT_FATAL(hc_create(&c, 2, 2000, 1000) == 0);
	CU_ASSERT_EQUAL(T_DRV(&c, "commit", "alpha-put-x", NULL, NULL, NULL), 2);
	CU_ASSERT(strstr(tu_out, "malformed operation 'alpha-put-x'") != NULL);
	CU_ASSERT_EQUAL(T_DRV(&c, "commit", "omega:put:x=1", NULL, NULL, NULL), 2);
	CU_ASSERT(strstr(tu_out, "unknown participant 'omega'") != NULL);
	CU_ASSERT_EQUAL(T_DRV(&c, "commit", "alpha:inc:x=1", NULL, NULL, NULL), 2);
	CU_ASSERT(strstr(tu_out, "unknown operation 'inc'") != NULL);
	CU_ASSERT_EQUAL(T_DRV(&c, "commit", "alpha:add:x=ten", NULL, NULL, NULL), 2);
	CU_ASSERT(strstr(tu_out, "add needs an integer") != NULL);
	CU_ASSERT_EQUAL(T_DRV(&c, "commit", "alpha:put:x", NULL, NULL, NULL), 2);
	CU_ASSERT(strstr(tu_out, "put needs a value") != NULL);
	CU_ASSERT_EQUAL(T_DRV(&c, "frobnicate", NULL, NULL, NULL, NULL), 2);
	/* Nothing is running: exit 3 at once, and nothing was submitted. */
	CU_ASSERT_EQUAL(T_DRV(&c, "commit", "--timeout", "300", "alpha:put:x=1", NULL), 3);
	CU_ASSERT(strstr(tu_out, "cannot reach the coordinator coord") != NULL);
	CU_ASSERT_EQUAL(T_DRV(&c, "status", "--timeout", "200", "t-1", NULL), 3);

	CU_ASSERT_FATAL(hc_start_all(&c) == 0);
	CU_ASSERT_EQUAL(T_DRV(&c, "commit", "--txid", "s-1", "alpha:put:x=1", "beta:put:y=1"), 0);
	CU_ASSERT_EQUAL(hc_wait_state(&c, 0, "s-1", "END", 15000), 0);
	CU_ASSERT_EQUAL(T_DRV(&c, "status", "s-1", NULL, NULL, NULL), 0);
	CU_ASSERT(strstr(tu_out, "coord") != NULL && strstr(tu_out, "END") != NULL);
	CU_ASSERT_EQUAL(T_DRV(&c, "status", "--json", "nope-1", NULL, NULL), 0);
	CU_ASSERT(strstr(tu_out, "\"state\":\"NONE\"") != NULL);
	CU_ASSERT_EQUAL(T_DRV(&c, "list", "--json", NULL, NULL, NULL), 0);
	CU_ASSERT(strstr(tu_out, "\"nodes_reached\":3") != NULL);
	hc_destroy(&c);
}

/* SIGTERM stops each daemon cleanly (exit 0); a bad cluster file makes a
 * daemon exit 2 naming FILE:LINE:COLUMN; --check-config says OK. */
static void
test_daemon_lifecycle(void)
{
	hcluster c;
	int st = -1;
	T_CLUSTER_UP(&c, 1, 2000, 1000);
	CU_ASSERT_EQUAL(hc_signal(&c, 0, SIGTERM), 0);
	CU_ASSERT_EQUAL(hc_wait_exit(&c, 0, 5000, &st), 0);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CU_ASSERT_EQUAL(hc_signal(&c, A, SIGTERM), 0);
	CU_ASSERT_EQUAL(hc_wait_exit(&c, A, 5000, &st), 0);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);

	FILE *f = fopen(c.file, "a");
	CU_ASSERT_FATAL(f != NULL);
	fputs("bogus: 1\n", f);
	fclose(f);
	CU_ASSERT_EQUAL(hc_spawn(&c, 0, NULL), 0);
	CU_ASSERT_EQUAL(hc_wait_exit(&c, 0, 5000, &st), 0);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 2);
	CU_ASSERT_EQUAL(hc_wait_log_line(&c, 0, "cluster.yaml:15:1: unknown key 'bogus' at top level", 100), 0);
	hc_destroy(&c);
}

/* RESULT leaves just before GLOBAL_COMMIT, before the participants apply
 * it. A client's next transaction on the same keys must not abort on its
 * predecessor's locks (its requests almost always reach each participant
 * behind that GLOBAL_COMMIT; one that does not is answered busy and sent
 * again, the holder being decided), and a read right after COMMITTED must
 * see the write (a key held by a READY transaction waits for its
 * decision, R5). */
static void
test_sequential_same_key(void)
{
	hcluster c;
	twopc_client *cl = NULL;
	int aborted = 0, stale = 0;
	T_CLUSTER_UP(&c, 2, 2000, 60000);
	CU_ASSERT_FATAL(twopc_client_open(&cl, c.file) == 0);
	for (int i = 1; i <= 100; i++) {
		twopc_tx *tx;
		int outcome = 0, found = 0;
		char n[16], v[32] = "";
		snprintf(n, sizeof(n), "%d", i);
		CU_ASSERT_FATAL(twopc_tx_begin(cl, NULL, &tx) == 0);
		twopc_tx_add(tx, "alpha", "add", "hot", "1");
		twopc_tx_add(tx, "beta", "put", "hot", n);
		if (twopc_tx_commit(tx, 5000, &outcome) != 0 || outcome != TWOPC_COMMITTED) {
			fprintf(stderr, "\n  %s: %s\n", twopc_tx_id(tx), twopc_tx_reason(tx));
			aborted++;
		}
		twopc_tx_free(tx);
		for (int p = 0; p < 2; p++) {
			const char *who = p == 0 ? "alpha" : "beta";
			if (twopc_client_get(cl, who, "hot", v, sizeof(v), &found, 5000) != 0 || !found ||
			    atoi(v) != i - aborted) {
				fprintf(stderr, "\n  after commit %d: %s has hot=%s\n", i, who, v);
				stale++;
			}
		}
	}
	CU_ASSERT_EQUAL(aborted, 0);
	CU_ASSERT_EQUAL(stale, 0);
	twopc_client_close(cl);
	hc_destroy(&c);
}

/* The contention run of make bench, shortened: 64 clients transfer among
 * 10 hot accounts at 3 participants. Busy keys are waited for only where a
 * wait cannot close a cycle (R5), so every client finishes: no deadlock,
 * no request left unanswered. */
static void
test_hot_accounts(void)
{
	hcluster c;
	char out[4096];
	T_CLUSTER_UP(&c, 3, 2000, 1000);
	const char *args[] = { "bench", "--concurrency", "64", "--duration", "3", "--participants",
		"3", "--hot", "10", "--json", NULL };
	int64_t t0 = mono_ms();
	CU_ASSERT_EQUAL(hc_twopc(&c, out, sizeof(out), args), 0);
	int64_t took = mono_ms() - t0;
	const char *e = strstr(out, "\"errors\":");
	const char *k = strstr(out, "\"committed\":");
	const char *r = strstr(out, "\"abort_rate\":");
	CU_ASSERT_FATAL(e != NULL && k != NULL && r != NULL);
	CU_ASSERT_EQUAL(atoi(e + 9), 0);
	CU_ASSERT(atoi(k + 12) > 0);
	/* Bounded: the run, then each client's last commit, which gives up
	 * after 10 s (bench.c) and would count as an error. The bound leaves
	 * a busy machine room; a client stuck for good fails it. */
	CU_ASSERT(took < 3000 + 10000 + 15000);
	printf("\n    64 clients, 10 hot accounts: %.200s ", out);
	hc_destroy(&c);
}

/* READ-ONLY: a participant whose work is only true checks votes
 * READ-ONLY and leaves at once: no COMMIT record, no lock, a forced note;
 * asked by a peer it answers READY (voted yes, knows no decision), never
 * ABORT; a repeated VOTE_REQUEST gets the same vote. The note is kept
 * until the coordinator's END (R9: FORGET drops it). A transaction whose
 * participants are all read-only commits with no phase two. */
static void
test_read_only(void)
{
	hcluster c;
	char v[32];
	nng_socket s;
	wire_msg req, rep;
	T_CLUSTER_UP(&c, 2, 2000, 60000);
	CU_ASSERT_EQUAL(T_DRV(&c, "commit", "--txid", "ro-0", "alpha:put:a=1", "beta:put:b=2"), 0);
	CU_ASSERT_EQUAL(hc_wait_state(&c, 0, "ro-0", "END", 15000), 0);
	/* Restarted to be held at ro-1's END, before any FORGET for it. */
	CU_ASSERT_EQUAL(hc_signal(&c, 0, SIGTERM), 0);
	CU_ASSERT_EQUAL(hc_wait_exit(&c, 0, 5000, NULL), 0);
	CU_ASSERT_FATAL(hc_start(&c, 0, "TWOPC_PAUSE_AT=coordinator.after_end_logged") == 0);
	CU_ASSERT_EQUAL(T_DRV(&c, "commit", "--txid", "ro-1", "alpha:add:a=5", "beta:check:b=2"), 0);
	CU_ASSERT_FATAL(hc_wait_log_line(&c, 0, "PAUSED at coordinator.after_end_logged", 15000) == 0);
	/* beta's READ-ONLY vote was recorded as its ACK with the decision;
	 * END drops it (with every other ACK) in its own write. */
	CU_ASSERT_EQUAL(hc_query_int(&c, 0, "SELECT count(*) FROM acks WHERE txid = 'ro-1'"), 0);
	hc_kv(&c, A, "a", v, sizeof(v));
	CU_ASSERT_STRING_EQUAL(v, "6");
	CU_ASSERT_EQUAL(hc_query_int(&c, B, "SELECT count(*) FROM txn WHERE txid = 'ro-1'"), 0);
	CU_ASSERT_EQUAL(hc_query_int(&c, B, "SELECT count(*) FROM readonly WHERE txid = 'ro-1'"), 1);
	CU_ASSERT_EQUAL(locks_of(&c, B), 0);
	CU_ASSERT_EQUAL(hc_wait_log_line(&c, B, "ro-1: INIT -> READ-ONLY", 100), 0);

	uint64_t epoch = (uint64_t)hc_query_int(&c, 0, "SELECT value FROM meta WHERE key = 'epoch'");
	CU_ASSERT_FATAL(rpc_dial(c.urls[B], 0, &s) == 0);
	wire_msg_init(&req, WIRE_DECISION_REQUEST, epoch, "ro-1", "alpha");
	CU_ASSERT_FATAL(rpc_call(s, &req, &rep, 2000) == 0);
	CU_ASSERT_EQUAL(rep.type, WIRE_DECISION_REPLY);
	CU_ASSERT_EQUAL(rep.state, 2 /* READY: no help, and certainly not ABORT */);
	wire_msg_free(&rep);
	wire_op op = { WIRE_OP_CHECK, "b", "2" };
	it_vote_req(&req, &op, epoch, "ro-1");
	it_expect(s, &req, WIRE_VOTE_READONLY);
	rpc_close(s);
	CU_ASSERT_EQUAL(hc_query_int(&c, B, "SELECT count(*) FROM txn WHERE txid = 'ro-1'"), 0);

	/* Back without the pause: recovery sends FORGET for the END, and the
	 * note goes with it. */
	CU_ASSERT_EQUAL(hc_kill(&c, 0), 0);
	CU_ASSERT_FATAL(hc_start(&c, 0, NULL) == 0);
	int64_t until = mono_ms() + 5000;
	while (hc_query_int(&c, B, "SELECT count(*) FROM readonly WHERE txid = 'ro-1'") != 0 &&
	    mono_ms() < until)
		poll(NULL, 0, 20);
	CU_ASSERT_EQUAL(hc_query_int(&c, B, "SELECT count(*) FROM readonly WHERE txid = 'ro-1'"), 0);
	/* All read-only: committed, nobody had anything to apply. */
	CU_ASSERT_EQUAL(T_DRV(&c, "commit", "--txid", "ro-2", "alpha:check:a=6", "beta:check:b=2"), 0);
	CU_ASSERT_EQUAL(hc_wait_state(&c, 0, "ro-2", "END", 15000), 0);
	/* A failing check still aborts. */
	CU_ASSERT_EQUAL(T_DRV(&c, "commit", "alpha:check:a=7", "beta:check:b=2", NULL, NULL), 1);
	hc_destroy(&c);
}

void
test_integration_register(void)
{
	static const tu_test cases[] = {
		{ "commit across three participants", test_commit },
		{ "one-phase commit: one participant, its vote decides", test_one_phase },
		{ "abort by vote", test_abort_by_vote },
		{ "abort by vote timeout, participant killed", test_abort_by_timeout },
		{ "duplicate, reordered and malformed messages", test_duplicates_and_garbage },
		{ "concurrent conflicting transactions", test_conflicts },
		{ "coordinator SIGKILL in WAIT, restart", test_coordinator_killed_in_wait },
		{ "coordinator SIGKILL after COMMIT, restart", test_coordinator_killed_after_commit },
		{ "participant SIGKILL in READY, restart", test_participant_killed_in_ready },
		{ "resubmitted txid applied once", test_resubmit_once },
		{ "a txid submitted again while it runs waits for its outcome", test_resubmit_running },
		{ "driver errors, status and list", test_driver_errors_and_status },
		{ "daemon lifecycle and bad config", test_daemon_lifecycle },
		{ "READ-ONLY vote", test_read_only },
		{ "sequential commits on one key, each read back at once", test_sequential_same_key },
		{ "64 clients on 10 hot accounts: every one finishes", test_hot_accounts },
	};
	TU_SUITE("integration", cases);
}
