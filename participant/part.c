/*
 * part.c - the participant handle's shared helpers (part.h): fail-fast,
 * the coordinator epochs (R6), the ask schedule, and the
 * txn handle the resource's callbacks are given. Every other file of the
 * library may call these; they call nothing above them.
 */
#include "part.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve.h"
#include "tlog.h"

const char *
twopc_version(void)
{
	return TWOPC_VERSION_STRING;
}

void
twopc_set_log(void (*fn)(void *, int, const char *), void *user, int max_level)
{
	tlog_set_sink(fn, user, max_level);
}

void
part_fail(twopc_participant *p, const char *why)
{
	runstate_fail(&p->run, why);
}


/* ---- the txn handle given to callbacks ---- */

const char *
twopc_txn_id(const twopc_txn *txn)
{
	return txn ? txn->txid : NULL;
}

int
twopc_txn_stage(twopc_txn *txn, const char *op, const char *key, const char *value)
{
	if (txn == NULL || !txn->in_prepare || op == NULL || key == NULL)
		return TWOPC_EINVAL;
	return plog_stage(txn->p->db, txn->txid, txn->seq++, op, key, value);
}

size_t
twopc_txn_nstaged(const twopc_txn *txn)
{
	return txn ? txn->ws.n : 0;
}

int
twopc_txn_staged(const twopc_txn *txn, size_t i, twopc_op *out)
{
	if (txn == NULL || out == NULL || i >= txn->ws.n)
		return TWOPC_EINVAL;
	out->op = txn->ws.op[i];
	out->key = txn->ws.key[i];
	out->value = txn->ws.value[i];
	return 0;
}

void
twopc_txn_set_reason(twopc_txn *txn, const char *reason)
{
	if (txn != NULL && reason != NULL)
		snprintf(txn->reason, sizeof(txn->reason), "%s", reason);
}

void *
twopc_txn_sqlite(const twopc_txn *txn)
{
	return txn ? db_sqlite(txn->p->db) : NULL;
}

void *
twopc_txn_stmt(twopc_txn *txn, const char *sql)
{
	return txn && sql ? db_stmt_sql(txn->p->db, sql) : NULL;
}

/* Make the highest epoch seen durable with the write under way, but only
 * when it rose: it changes once per coordinator start, so most forced
 * writes need no meta row. Caller holds the db lock (guards epoch_stored);
 * a write that then fails stops the handle, so a stale epoch_stored never
 * outlives it. */
int
part_store_epoch(twopc_participant *p)
{
	uint64_t e = atomic_load(&p->max_epoch);
	if (e <= p->epoch_stored)
		return 0;
	int rv = plog_epoch_set(p->db, e);
	if (rv == 0)
		p->epoch_stored = e;
	return rv;
}

/* R6: a message from an older coordinator epoch is refused. Returns 1 if
 * stale (REP filled with the error). */
int
part_stale(twopc_participant *p, const wire_msg *req, wire_msg *rep, char *buf, size_t len)
{
	uint64_t seen = atomic_load(&p->max_epoch);
	char text[128];
	int invalid = req->epoch > PART_EPOCH_MAX;
	if (!invalid && req->epoch >= seen)
		return 0;
	if (invalid)
		snprintf(text, sizeof(text), "invalid coordinator epoch %llu (above %llu)",
		    (unsigned long long)req->epoch, (unsigned long long)PART_EPOCH_MAX);
	else
		snprintf(text, sizeof(text), "stale coordinator epoch %llu (highest seen %llu)",
		    (unsigned long long)req->epoch, (unsigned long long)seen);
	serve_note_refused(req, text);
	return wire_reply_error(rep, invalid ? TWOPC_EPROTO : TWOPC_ESTALE, text, buf, len);
}

/* Remember a higher epoch; made durable with the next log write. */
void
part_see_epoch(twopc_participant *p, uint64_t epoch)
{
	uint64_t cur = atomic_load(&p->max_epoch);
	if (epoch > PART_EPOCH_MAX)
		return;
	while (epoch > cur && !atomic_compare_exchange_weak(&p->max_epoch, &cur, epoch))
		;
}

uint64_t
part_epoch_from_log(uint64_t logged)
{
	if (logged <= PART_EPOCH_MAX)
		return logged;
	tlog_warn("the log's highest coordinator epoch %lld is invalid (above %llu): ignored; "
	    "the coordinator's next epoch is accepted", (long long)logged,
	    (unsigned long long)PART_EPOCH_MAX);
	return 0;
}

int
part_solo(const twopc_participant *p, const plog_txn *t)
{
	return strcmp(t->peers, p->self->name) == 0;
}

/* ---- the ask schedule ---- */

part_ask *
part_ask_find(twopc_participant *p, const char *txid, int create)
{
	for (size_t i = 0; i < p->nasks; i++)
		if (strcmp(p->asks[i].txid, txid) == 0)
			return &p->asks[i];
	if (!create)
		return NULL;
	if (p->nasks == p->capasks) {
		size_t cap = p->capasks ? p->capasks * 2 : 16;
		part_ask *a = realloc(p->asks, cap * sizeof(*a));
		if (a == NULL)
			return NULL;
		p->asks = a;
		p->capasks = cap;
	}
	part_ask *a = &p->asks[p->nasks++];
	memset(a, 0, sizeof(*a));
	snprintf(a->txid, sizeof(a->txid), "%s", txid);
	return a;
}

void
part_ask_drop(twopc_participant *p, const char *txid)
{
	pthread_mutex_lock(&p->mtx);
	part_ask *a = part_ask_find(p, txid, 0);
	if (a != NULL)
		*a = p->asks[--p->nasks];
	p->released++;
	pthread_cond_broadcast(&p->released_cv);
	pthread_mutex_unlock(&p->mtx);
}

void
part_ask_note(twopc_participant *p, const char *txid, char *buf, size_t len)
{
	pthread_mutex_lock(&p->mtx);
	part_ask *a = part_ask_find(p, txid, 0);
	snprintf(buf, len, "%s", a ? a->why : "");
	pthread_mutex_unlock(&p->mtx);
}
