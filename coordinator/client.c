/*
 * client.c - the client API (twopc/client.h).
 *
 * One REQ socket per node, dialed lazily and kept. The socket to the
 * coordinator never resends (NNG would otherwise resend a SUBMIT whose
 * reply is slow, and a SUBMIT without a txid must not run twice); the
 * others may, their requests being idempotent. The threads' concurrent
 * SUBMITs share messages on that socket's channel (rpc.h), which never
 * sends one twice either.
 */
#include "twopc/client.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "netprobe.h"
#include "rpc.h"
#include "txstate.h"
#include "wire.h"

struct twopc_client {
	cfg_cluster *cfg;
	pthread_mutex_t mtx;
	nng_socket *socks; /* [0] coordinator, [1 + i] participant i */
	int *open;
};

struct twopc_tx {
	twopc_client *cl;
	char txid[WIRE_TXID_MAX + 1];
	/* Both grow with use, so that a transaction of a few keys costs a
	 * small block (a fixed array for 64 participants and a 4 KB reason
	 * were 5.7 KB, allocated and cleared for every transaction). */
	char *reason;                /* NULL: none */
	wire_work *work;             /* NWORK of them, room for CAP */
	size_t nwork, cap;
	size_t bytes;
	twopc_tx_done_fn done;       /* twopc_tx_commit_async's */
	void *done_arg;
};

static _Thread_local char client_cfg_errs[4096];

const char *
twopc_client_config_errors(void)
{
	return client_cfg_errs;
}

int
twopc_client_open(twopc_client **out, const char *file)
{
	twopc_client *cl;
	if (out == NULL || file == NULL)
		return TWOPC_EINVAL;
	if ((cl = calloc(1, sizeof(*cl))) == NULL)
		return TWOPC_ENOMEM;
	client_cfg_errs[0] = '\0';
	if (cfg_load(file, &cl->cfg, client_cfg_errs, sizeof(client_cfg_errs)) != 0) {
		free(cl);
		return TWOPC_ECONFIG;
	}
	/* Every client uses the 'client' certificate (twopc.yaml(5)). */
	if (cfg_tls_use(cl->cfg, CFG_TLS_CLIENT, client_cfg_errs, sizeof(client_cfg_errs)) != 0) {
		cfg_free(cl->cfg);
		free(cl);
		return TWOPC_ECONFIG;
	}
	cl->socks = calloc(cl->cfg->nparticipants + 1, sizeof(*cl->socks));
	cl->open = calloc(cl->cfg->nparticipants + 1, sizeof(*cl->open));
	if (cl->socks == NULL || cl->open == NULL) {
		free(cl->socks);
		free(cl->open);
		cfg_free(cl->cfg);
		free(cl);
		return TWOPC_ENOMEM;
	}
	pthread_mutex_init(&cl->mtx, NULL);
	*out = cl;
	return 0;
}

void
twopc_client_close(twopc_client *cl)
{
	if (cl == NULL)
		return;
	for (size_t i = 0; i <= cl->cfg->nparticipants; i++)
		if (cl->open[i])
			rpc_close(cl->socks[i]);
	free(cl->socks);
	free(cl->open);
	cfg_free(cl->cfg);
	pthread_mutex_destroy(&cl->mtx);
	free(cl);
}

int
twopc_client_has_participant(const twopc_client *cl, const char *name)
{
	return cl != NULL && name != NULL && cfg_participant(cl->cfg, name) != NULL;
}

const char *
twopc_client_node(const twopc_client *cl, size_t i)
{
	if (cl == NULL)
		return NULL;
	if (i == 0)
		return cl->cfg->coordinator.name;
	return i <= cl->cfg->nparticipants ? cl->cfg->participants[i - 1].name : NULL;
}

/* The socket of node I (0 = coordinator), dialed on first use. */
static int
client_sock(twopc_client *cl, size_t i, nng_socket *out)
{
	int rv = 0;
	pthread_mutex_lock(&cl->mtx);
	if (!cl->open[i]) {
		const char *url = i == 0 ? cl->cfg->coordinator.listen : cl->cfg->participants[i - 1].listen;
		rv = rpc_dial(url, i != 0, &cl->socks[i]);
		cl->open[i] = rv == 0;
	}
	if (rv == 0)
		*out = cl->socks[i];
	pthread_mutex_unlock(&cl->mtx);
	return rv;
}

static int
client_node_index(const twopc_client *cl, const char *name, size_t *out)
{
	if (strcmp(name, cl->cfg->coordinator.name) == 0) {
		*out = 0;
		return 0;
	}
	int idx = cfg_participant_index(cl->cfg, name);
	if (idx < 0)
		return TWOPC_ENOENT;
	*out = (size_t)idx + 1;
	return 0;
}

/* REQ to node I (0 = coordinator) and its reply in *REP (wire_msg_free
 * it). 0 or a twopc_err (no reply). */
static int
client_call(twopc_client *cl, size_t i, const wire_msg *req, wire_msg *rep, int timeout_ms)
{
	nng_socket s;
	int rv = client_sock(cl, i, &s);
	return rv != 0 ? rv : rpc_call(s, req, rep, timeout_ms);
}

/* client_call to the node named NODE: TWOPC_ENOENT if there is none. */
static int
client_node_call(twopc_client *cl, const char *node, const wire_msg *req, wire_msg *rep,
    int timeout_ms)
{
	size_t idx;
	if (client_node_index(cl, node, &idx) != 0)
		return TWOPC_ENOENT;
	return client_call(cl, idx, req, rep, timeout_ms);
}

/* What a reply of an unexpected type means: an ERROR's code (twopc_err),
 * anything else TWOPC_EPROTO. */
static int
client_reply_err(const wire_msg *rep)
{
	if (rep->type == WIRE_ERROR && rep->code > 0 && rep->code < 100)
		return -(int)rep->code;
	return TWOPC_EPROTO;
}

/* A STATUS_REPLY entry of NODE as the API gives it. */
static void
client_status_copy(twopc_status *dst, const char *node, const wire_status *src)
{
	memset(dst, 0, sizeof(*dst));
	snprintf(dst->node, sizeof(dst->node), "%s", node);
	snprintf(dst->txid, sizeof(dst->txid), "%s", src->txid);
	snprintf(dst->state, sizeof(dst->state), "%s", tx_state_name(src->state));
	dst->epoch = src->epoch;
	dst->age_ms = src->age_ms;
	snprintf(dst->detail, sizeof(dst->detail), "%s", src->detail);
}

int
twopc_client_probe(twopc_client *cl, const char *node, int timeout_ms, char *why, size_t whylen)
{
	size_t i;
	char buf[256] = "";
	if (cl == NULL || node == NULL || timeout_ms <= 0)
		return TWOPC_EINVAL;
	if (client_node_index(cl, node, &i) != 0)
		return TWOPC_ENOENT;
	const char *url = i == 0 ? cl->cfg->coordinator.listen : cl->cfg->participants[i - 1].listen;
	int rv = netprobe_url(url, timeout_ms, buf, sizeof(buf));
	if (why != NULL && whylen > 0)
		snprintf(why, whylen, "%s", buf);
	return rv;
}

int
twopc_tx_begin(twopc_client *cl, const char *txid, twopc_tx **out)
{
	if (cl == NULL || out == NULL || (txid != NULL && !wire_txid_valid(txid)))
		return TWOPC_EINVAL;
	twopc_tx *tx = calloc(1, sizeof(*tx));
	if (tx == NULL)
		return TWOPC_ENOMEM;
	tx->cl = cl;
	if (txid != NULL)
		snprintf(tx->txid, sizeof(tx->txid), "%s", txid);
	*out = tx;
	return 0;
}

static int
client_is_int(const char *s)
{
	char *end;
	if (s == NULL || *s == '\0')
		return 0;
	(void)strtoll(s, &end, 10);
	return *end == '\0';
}

int
twopc_tx_add(twopc_tx *tx, const char *participant, const char *op, const char *key,
    const char *value)
{
	if (tx == NULL || participant == NULL || op == NULL || key == NULL)
		return TWOPC_EINVAL;
	if (cfg_participant(tx->cl->cfg, participant) == NULL)
		return TWOPC_ENOENT;
	int code = wire_op_parse(op);
	if (code == 0 || key[0] == '\0' || strlen(key) > WIRE_KEY_MAX)
		return TWOPC_EINVAL;
	if (code == WIRE_OP_DEL ? value != NULL && value[0] != '\0' : value == NULL)
		return TWOPC_EINVAL;
	if (code == WIRE_OP_ADD && !client_is_int(value))
		return TWOPC_EINVAL;
	if (value != NULL && strlen(value) > WIRE_VALUE_MAX)
		return TWOPC_ETOOBIG;
	size_t add = strlen(key) + (value ? strlen(value) : 0) + 8;
	if (tx->bytes + add > WIRE_MAX_MSG - 1024)
		return TWOPC_ETOOBIG;

	wire_work *w = NULL;
	for (size_t i = 0; i < tx->nwork; i++)
		if (strcmp(tx->work[i].participant, participant) == 0)
			w = &tx->work[i];
	if (w == NULL) {
		if (tx->nwork == WIRE_MAX_WORK)
			return TWOPC_ETOOBIG;
		if (tx->nwork == tx->cap) {
			size_t cap = tx->cap ? tx->cap * 2 : 4;
			wire_work *ws = realloc(tx->work, cap * sizeof(*ws));
			if (ws == NULL)
				return TWOPC_ENOMEM;
			memset(ws + tx->cap, 0, (cap - tx->cap) * sizeof(*ws));
			tx->work = ws;
			tx->cap = cap;
		}
		w = &tx->work[tx->nwork];
		if ((w->participant = strdup(participant)) == NULL)
			return TWOPC_ENOMEM;
		tx->nwork++;
	}
	if (w->nops == WIRE_MAX_OPS)
		return TWOPC_ETOOBIG;
	wire_op *ops = realloc(w->ops, (w->nops + 1) * sizeof(*ops));
	if (ops == NULL)
		return TWOPC_ENOMEM;
	w->ops = ops;
	wire_op *o = &w->ops[w->nops];
	o->op = (uint8_t)code;
	o->key = strdup(key);
	o->value = strdup(value ? value : "");
	if (o->key == NULL || o->value == NULL) {
		free(o->key);
		free(o->value);
		return TWOPC_ENOMEM;
	}
	w->nops++;
	tx->bytes += add;
	return 0;
}

/* TX's SUBMIT into *REQ (which points into TX). */
static void
client_submit_req(const twopc_tx *tx, int timeout_ms, wire_msg *req)
{
	wire_msg_init(req, WIRE_SUBMIT, 0, tx->txid[0] ? tx->txid : NULL, "client");
	req->nwork = tx->nwork;
	req->work = (wire_work *)tx->work;
	req->timeout_ms = (uint32_t)timeout_ms;
}

/* The SUBMIT's reply REP (freed here) into TX and *OUTCOME: what
 * twopc_tx_commit returns. */
static int
client_commit_result(twopc_tx *tx, wire_msg *rep, int *outcome)
{
	int rv = 0;
	free(tx->reason);
	tx->reason = rep->text != NULL && rep->text[0] != '\0' ? strdup(rep->text) : NULL;
	if (rep->type == WIRE_RESULT) {
		snprintf(tx->txid, sizeof(tx->txid), "%s", rep->txid);
		if (rep->state == TX_COMMIT)
			*outcome = TWOPC_COMMITTED;
		else if (rep->state == TX_ABORT)
			*outcome = TWOPC_ABORTED;
		else
			rv = TWOPC_ETIMEDOUT;
	} else {
		rv = client_reply_err(rep);
	}
	wire_msg_free(rep);
	return rv;
}

int
twopc_tx_commit(twopc_tx *tx, int timeout_ms, int *outcome)
{
	wire_msg req, rep;
	int rv;

	if (tx == NULL || outcome == NULL || tx->nwork == 0)
		return TWOPC_EINVAL;
	client_submit_req(tx, timeout_ms, &req);
	if ((rv = client_call(tx->cl, 0, &req, &rep, timeout_ms)) != 0)
		return rv;
	return client_commit_result(tx, &rep, outcome);
}

/* twopc_tx_commit_async's SUBMIT is over. B may be freed here: a SUBMIT
 * travels through its channel, with no aio of B's own (rpc.h). */
static void
client_commit_done(rpc_batch *b, void *arg)
{
	twopc_tx *tx = arg;
	wire_msg rep;
	int outcome = 0;
	int rv = rpc_batch_result(b, 0, &rep);
	rpc_batch_free(b);
	if (rv == 0)
		rv = client_commit_result(tx, &rep, &outcome);
	tx->done(tx, rv, outcome, tx->done_arg);
}

int
twopc_tx_commit_async(twopc_tx *tx, int timeout_ms, twopc_tx_done_fn fn, void *arg)
{
	wire_msg req;
	nng_socket s;
	int rv;

	if (tx == NULL || fn == NULL || tx->nwork == 0 || timeout_ms <= 0)
		return TWOPC_EINVAL;
	if ((rv = client_sock(tx->cl, 0, &s)) != 0)
		return rv;
	client_submit_req(tx, timeout_ms, &req);
	tx->done = fn;
	tx->done_arg = arg;
	const wire_msg *reqs[1] = { &req };
	return rpc_batch_start(1, &s, reqs, timeout_ms, client_commit_done, tx);
}

const char *
twopc_tx_id(const twopc_tx *tx)
{
	return tx ? tx->txid : "";
}

const char *
twopc_tx_reason(const twopc_tx *tx)
{
	return tx && tx->reason ? tx->reason : "";
}

void
twopc_tx_free(twopc_tx *tx)
{
	if (tx == NULL)
		return;
	for (size_t i = 0; i < tx->nwork; i++) {
		for (size_t j = 0; j < tx->work[i].nops; j++) {
			free(tx->work[i].ops[j].key);
			free(tx->work[i].ops[j].value);
		}
		free(tx->work[i].ops);
		free(tx->work[i].participant);
	}
	free(tx->work);
	free(tx->reason);
	free(tx);
}

int
twopc_client_get(twopc_client *cl, const char *participant, const char *key, char *buf,
    size_t len, int *found, int timeout_ms)
{
	wire_msg req, rep;
	size_t idx;
	int rv;

	if (cl == NULL || participant == NULL || key == NULL || key[0] == '\0' || found == NULL)
		return TWOPC_EINVAL;
	if (client_node_index(cl, participant, &idx) != 0 || idx == 0)
		return TWOPC_ENOENT;
	wire_msg_init(&req, WIRE_GET, 0, NULL, "client");
	req.text = (char *)key;
	if ((rv = client_call(cl, idx, &req, &rep, timeout_ms)) != 0)
		return rv;
	if (rep.type == WIRE_GET_REPLY) {
		*found = rep.state == 1;
		snprintf(buf, len, "%s", rep.text ? rep.text : "");
	} else {
		rv = client_reply_err(&rep);
	}
	wire_msg_free(&rep);
	return rv;
}

int
twopc_client_counters(twopc_client *cl, const char *node, twopc_counters *out, int timeout_ms)
{
	wire_msg req, rep;
	int rv;

	if (cl == NULL || node == NULL || out == NULL)
		return TWOPC_EINVAL;
	wire_msg_init(&req, WIRE_STATUS_REQUEST, 0, NULL, "client");
	req.state = 2;
	if ((rv = client_node_call(cl, node, &req, &rep, timeout_ms)) != 0)
		return rv;
	if (rep.type != WIRE_STATUS_REPLY) {
		wire_msg_free(&rep);
		return TWOPC_EPROTO;
	}
	twopc_counters c = { 0 };
	for (size_t i = 0; i < rep.nstatus; i++) {
		if (strcmp(rep.status[i].txid, "forced_writes") == 0)
			c.forced_writes = rep.status[i].epoch;
		else if (strcmp(rep.status[i].txid, "log_commits") == 0)
			c.log_commits = rep.status[i].epoch;
		else if (strcmp(rep.status[i].txid, "requests") == 0)
			c.requests = rep.status[i].epoch;
		else if (strcmp(rep.status[i].txid, "messages_sent") == 0)
			c.messages_sent = rep.status[i].epoch;
	}
	wire_msg_free(&rep);
	*out = c;
	return 0;
}

int
twopc_client_status(twopc_client *cl, const char *node, const char *txid, twopc_status **out,
    size_t *n, int timeout_ms)
{
	wire_msg req, rep;
	int rv;

	if (cl == NULL || node == NULL || out == NULL || n == NULL ||
	    (txid != NULL && !wire_txid_valid(txid)))
		return TWOPC_EINVAL;
	wire_msg_init(&req, WIRE_STATUS_REQUEST, 0, txid, "client");
	req.state = txid == NULL;
	if ((rv = client_node_call(cl, node, &req, &rep, timeout_ms)) != 0)
		return rv;
	if (rep.type != WIRE_STATUS_REPLY) {
		wire_msg_free(&rep);
		return TWOPC_EPROTO;
	}
	twopc_status *v = calloc(rep.nstatus ? rep.nstatus : 1, sizeof(*v));
	if (v == NULL) {
		wire_msg_free(&rep);
		return TWOPC_ENOMEM;
	}
	for (size_t i = 0; i < rep.nstatus; i++)
		client_status_copy(&v[i], node, &rep.status[i]);
	*out = v;
	*n = rep.nstatus;
	wire_msg_free(&rep);
	return 0;
}

int
twopc_client_resolve(twopc_client *cl, const char *node, const char *txid, int outcome, int force,
    twopc_status *out, char *why, size_t whylen, int timeout_ms)
{
	wire_msg req, rep;
	int rv;

	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (cl == NULL || node == NULL || out == NULL || !wire_txid_valid(txid) ||
	    (outcome != TWOPC_COMMITTED && outcome != TWOPC_ABORTED && outcome != 0) ||
	    (outcome == 0 && force))
		return TWOPC_EINVAL;
	wire_msg_init(&req, WIRE_RESOLVE, 0, txid, "client");
	req.state = outcome == TWOPC_COMMITTED ? TX_COMMIT : outcome == TWOPC_ABORTED ? TX_ABORT : TX_NONE;
	req.force = force != 0;
	if ((rv = client_node_call(cl, node, &req, &rep, timeout_ms)) != 0)
		return rv;
	if (rep.type == WIRE_STATUS_REPLY && rep.nstatus == 1) {
		client_status_copy(out, node, &rep.status[0]);
	} else if (rep.type == WIRE_ERROR) {
		rv = client_reply_err(&rep);
		if (why != NULL && whylen > 0)
			snprintf(why, whylen, "%s", rep.text ? rep.text : "");
		if (rv == TWOPC_ETIMEDOUT && why != NULL && why[0] == '\0')
			snprintf(why, whylen, "%s", "refused");
	} else {
		rv = TWOPC_EPROTO;
	}
	wire_msg_free(&rep);
	return rv;
}
