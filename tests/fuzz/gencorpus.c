/*
 * gencorpus.c - writes the wire seed corpus: one valid message of every
 * type (two or three shapes of some), a BATCH of them, and a client's
 * BATCH of SUBMITs, each a file
 * DIR/NN-TYPE. Run by make fuzz-corpus; its output is kept in the tree
 * (tests/fuzz/corpus/wire) beside the config seeds (tests/fuzz/corpus/config).
 */
#include <stdio.h>
#include <string.h>

#include "txstate.h"
#include "wire.h"

static const char *dir;
static int nfile;

static int
put(const wire_msg *m)
{
	wire_buf b = { 0 };
	char path[4096];
	b.limit = WIRE_MAX_BATCH;
	if (wire_encode(m, &b) != 0) {
		fprintf(stderr, "gencorpus: %s does not encode\n", wire_type_name(m->type));
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%02d-%s", dir, nfile++, wire_type_name(m->type));
	FILE *f = fopen(path, "wb");
	if (f == NULL || fwrite(b.data, 1, b.len, f) != b.len) {
		perror(path);
		return -1;
	}
	fclose(f);
	wire_buf_free(&b);
	return 0;
}

int
main(int argc, char **argv)
{
	wire_op ops[] = {
		{ WIRE_OP_PUT, "alice", "100" }, { WIRE_OP_DEL, "bob", "" },
		{ WIRE_OP_CHECK, "carol", "7" }, { WIRE_OP_ADD, "dave", "-5" },
	};
	wire_work work[] = { { "alpha", 2, ops }, { "beta", 2, ops + 2 } };
	char *peers[] = { "alpha", "beta" };
	char *txids[] = { "coord-3-1", "coord-3-2", "x" };
	wire_status st[] = {
		{ "coord-3-1", TX_READY, 3, 1200, "participants=alpha,beta" },
		{ "forced_writes", 0, 42, 0, "" },
	};
	wire_msg m;
	int bad = 0;
	if (argc != 2) {
		fprintf(stderr, "usage: gencorpus DIR\n");
		return 2;
	}
	dir = argv[1];
	wire_msg_init(&m, WIRE_SUBMIT, 0, "", "client");
	m.timeout_ms = 5000, m.nwork = 2, m.work = work;
	bad |= put(&m);
	wire_msg_init(&m, WIRE_SUBMIT, 0, "my-tx-1", "client");
	m.timeout_ms = 1, m.nwork = 1, m.work = work;
	bad |= put(&m);
	wire_msg_init(&m, WIRE_RESULT, 3, "coord-3-1", "coord");
	m.state = TX_ABORT, m.text = "alpha: check failed";
	bad |= put(&m);
	wire_msg_init(&m, WIRE_VOTE_REQUEST, 3, "coord-3-1", "coord");
	m.npeers = 2, m.peers = peers, m.nops = 4, m.ops = ops;
	bad |= put(&m);
	wire_msg_init(&m, WIRE_VOTE_REQUEST, 3, "coord-3-2", "coord");
	m.flags = WIRE_FLAG_ONE_PHASE, m.npeers = 1, m.peers = peers, m.nops = 1, m.ops = ops;
	bad |= put(&m);
	wire_msg_init(&m, WIRE_VOTE_COMMIT, 3, "coord-3-1", "alpha");
	bad |= put(&m);
	wire_msg_init(&m, WIRE_VOTE_ABORT, 3, "coord-3-1", "beta");
	m.text = "check failed: carol is 6, expected '7'";
	bad |= put(&m);
	wire_msg_init(&m, WIRE_VOTE_READONLY, 3, "coord-3-1", "beta");
	bad |= put(&m);
	wire_msg_init(&m, WIRE_GLOBAL_COMMIT, 3, "coord-3-1", "coord");
	bad |= put(&m);
	wire_msg_init(&m, WIRE_GLOBAL_ABORT, 3, "coord-3-1", "coord");
	bad |= put(&m);
	wire_msg_init(&m, WIRE_ACK, 3, "coord-3-1", "alpha");
	m.state = TX_COMMIT;
	bad |= put(&m);
	wire_msg_init(&m, WIRE_DECISION_REQUEST, 3, "coord-3-1", "alpha");
	bad |= put(&m);
	wire_msg_init(&m, WIRE_DECISION_REQUEST, 3, "coord-3-2", "alpha");
	m.flags = WIRE_FLAG_ONE_PHASE;
	bad |= put(&m);
	wire_msg_init(&m, WIRE_DECISION_REPLY, 3, "coord-3-1", "coord");
	m.state = TX_UNDECIDED;
	bad |= put(&m);
	for (uint8_t which = 0; which <= 2; which++) {
		wire_msg_init(&m, WIRE_STATUS_REQUEST, 0, which == 0 ? "coord-3-1" : "", "client");
		m.state = which;
		bad |= put(&m);
	}
	wire_msg_init(&m, WIRE_STATUS_REPLY, 3, "", "alpha");
	m.nstatus = 2, m.status = st;
	bad |= put(&m);
	wire_msg_init(&m, WIRE_FORGET, 3, "", "coord");
	m.ntxids = 3, m.txids = txids;
	bad |= put(&m);
	wire_msg_init(&m, WIRE_IAMALIVE, 0, "", "client");
	bad |= put(&m);
	wire_msg_init(&m, WIRE_ERROR, 3, "coord-3-1", "alpha");
	m.code = 9, m.text = "stale coordinator epoch 2 (highest seen 3)";
	bad |= put(&m);
	wire_msg_init(&m, WIRE_GET, 0, "", "client");
	m.text = "alice";
	bad |= put(&m);
	wire_msg_init(&m, WIRE_GET_REPLY, 0, "", "alpha");
	m.state = 1, m.text = "100";
	bad |= put(&m);
	wire_msg_init(&m, WIRE_RESOLVE, 0, "coord-3-1", "client");
	m.state = TX_COMMIT, m.force = 1;
	bad |= put(&m);
	wire_msg_init(&m, WIRE_RESOLVE, 0, "coord-3-1", "client");
	m.state = TX_NONE;
	bad |= put(&m);

	/* A BATCH of three protocol messages to alpha, and its reply. */
	wire_buf in[3] = { { 0 }, { 0 }, { 0 } };
	wire_item items[3];
	const int types[3] = { WIRE_GLOBAL_COMMIT, WIRE_DECISION_REQUEST, WIRE_IAMALIVE };
	for (int i = 0; i < 3; i++) {
		wire_msg_init(&m, types[i], 3, i == 2 ? "" : txids[i], "coord");
		bad |= wire_encode(&m, &in[i]) != 0;
		items[i] = (wire_item){ in[i].data, in[i].len };
	}
	wire_msg_init(&m, WIRE_BATCH, 3, "", "coord");
	m.nitems = 3, m.items = items;
	bad |= put(&m);
	/* The same BATCH sealed (the trailer of rpcauth.h; the MAC here is
	 * not a real one: the codec only carries it), and a sealed request. */
	m.flags = WIRE_FLAG_AUTH, m.auth_stamp = 1767225600000000ull;
	for (int i = 0; i < WIRE_MAC_LEN; i++)
		m.auth_tag[i] = (uint8_t)(i * 37 + 11);
	bad |= put(&m);
	for (int i = 0; i < 3; i++)
		wire_buf_free(&in[i]);
	wire_msg_init(&m, WIRE_GLOBAL_ABORT, 3, "coord-3-1", "coord");
	m.flags = WIRE_FLAG_AUTH, m.auth_stamp = 1767225600000001ull;
	for (int i = 0; i < WIRE_MAC_LEN; i++)
		m.auth_tag[i] = (uint8_t)(255 - i);
	bad |= put(&m);
	/* A client's BATCH of two SUBMITs (the client's channel, rpc.h). */
	for (int i = 0; i < 2; i++) {
		wire_msg_init(&m, WIRE_SUBMIT, 0, i ? "my-tx-2" : "", "client");
		m.timeout_ms = 5000, m.nwork = 2 - i, m.work = work;
		bad |= wire_encode(&m, &in[i]) != 0;
		items[i] = (wire_item){ in[i].data, in[i].len };
	}
	wire_msg_init(&m, WIRE_BATCH, 0, "", "client");
	m.nitems = 2, m.items = items;
	bad |= put(&m);
	for (int i = 0; i < 2; i++)
		wire_buf_free(&in[i]);
	printf("gencorpus: %d messages in %s\n", nfile, dir);
	return bad ? 1 : 0;
}
