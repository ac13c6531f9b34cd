/*
 * kv.c - the built-in key-value resource (see kv.h).
 */
#include "kv.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#define KV_SQL_GET "SELECT value FROM kv WHERE key = ?1"
#define KV_SQL_PUT "INSERT OR REPLACE INTO kv(key, value) VALUES (?1, ?2)"
#define KV_SQL_DEL "DELETE FROM kv WHERE key = ?1"

/* Committed value of KEY by ST (KV_SQL_GET, left reset), malloc'ed, or
 * NULL (absent or error: *err). */
static char *
kv_get(sqlite3_stmt *st, const char *key, int *err)
{
	char *v = NULL;
	*err = 0;
	if (st == NULL) {
		*err = TWOPC_EIO;
		return NULL;
	}
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *s = (const char *)sqlite3_column_text(st, 0);
		v = strdup(s ? s : "");
		if (v == NULL)
			*err = TWOPC_ENOMEM;
	} else if (rc != SQLITE_DONE) {
		*err = TWOPC_EIO;
	}
	sqlite3_reset(st);
	return v;
}

static int
kv_int(const char *s, int64_t *out)
{
	char *end;
	if (s == NULL || *s == '\0')
		return 0;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return 0;
	*out = v;
	return 1;
}

/* The value of KEY as this transaction sees it so far: its own earlier
 * ops win over the committed data. */
typedef struct kv_view {
	const char *key;
	char *value; /* NULL = deleted / absent */
} kv_view;

/* KEY's view, made on first use: with the committed value when OP reads
 * it, empty when OP replaces it whole (put, del: one statement fewer). */
static kv_view *
kv_view_of(kv_view *v, size_t *n, twopc_txn *txn, const twopc_op *op, int *err)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp(v[i].key, op->key) == 0)
			return &v[i];
	v[*n].key = op->key;
	*err = 0;
	v[*n].value = strcmp(op->op, "put") == 0 || strcmp(op->op, "del") == 0 ? NULL :
	    kv_get(twopc_txn_stmt(txn, KV_SQL_GET), op->key, err);
	return *err ? NULL : &v[(*n)++];
}

/* Replace KV's value by a copy of V (NULL: deleted). 0 or TWOPC_ENOMEM. */
static int
kv_set(kv_view *kv, const char *v)
{
	char *nv = NULL;
	if (v != NULL && (nv = strdup(v)) == NULL)
		return TWOPC_ENOMEM;
	free(kv->value);
	kv->value = nv;
	return 0;
}

/* add KEY DELTA on KV: the vote so far (COMMIT), ABORT with REASON, or
 * TWOPC_ENOMEM. */
static int
kv_add(kv_view *kv, const twopc_op *op, char *reason, size_t len)
{
	int64_t cur = 0, delta, res;
	char buf[32];
	if (!kv_int(op->value, &delta))
		snprintf(reason, len, "add: '%.40s' is not an integer", op->value);
	else if (kv->value != NULL && !kv_int(kv->value, &cur))
		snprintf(reason, len, "add: %.40s holds '%.40s', not an integer", op->key, kv->value);
	else if (__builtin_add_overflow(cur, delta, &res))
		snprintf(reason, len, "add: %.40s would overflow", op->key);
	else if (res < 0)
		snprintf(reason, len, "insufficient funds: %.40s is %" PRId64 ", cannot add %" PRId64,
		    op->key, cur, delta);
	else {
		snprintf(buf, sizeof(buf), "%" PRId64, res);
		return kv_set(kv, buf) == 0 ? TWOPC_VOTE_COMMIT : TWOPC_ENOMEM;
	}
	return TWOPC_VOTE_ABORT;
}

/* Apply OP to KV, the key's value as the transaction sees it so far: the
 * vote so far (COMMIT), ABORT with REASON, or TWOPC_ENOMEM. */
static int
kv_apply(kv_view *kv, const twopc_op *op, char *reason, size_t len)
{
	if (strcmp(op->op, "put") == 0)
		return kv_set(kv, op->value) == 0 ? TWOPC_VOTE_COMMIT : TWOPC_ENOMEM;
	if (strcmp(op->op, "del") == 0)
		return kv_set(kv, NULL) == 0 ? TWOPC_VOTE_COMMIT : TWOPC_ENOMEM;
	if (strcmp(op->op, "add") == 0)
		return kv_add(kv, op, reason, len);
	if (strcmp(op->op, "check") != 0) {
		snprintf(reason, len, "unknown op '%.20s'", op->op);
		return TWOPC_VOTE_ABORT;
	}
	if (kv->value != NULL && strcmp(kv->value, op->value) == 0)
		return TWOPC_VOTE_COMMIT;
	snprintf(reason, len, "check failed: %.40s is %s%.40s%s, expected '%.40s'", op->key,
	    kv->value ? "'" : "", kv->value ? kv->value : "absent", kv->value ? "'" : "",
	    op->value);
	return TWOPC_VOTE_ABORT;
}

static int
kv_prepare(void *user, twopc_txn *txn, const twopc_op *ops, size_t nops)
{
	kv_view *view = calloc(nops ? nops : 1, sizeof(*view));
	size_t nview = 0;
	char reason[200];
	int vote = TWOPC_VOTE_COMMIT, err = 0, writes = 0;

	(void)user;
	if (view == NULL)
		return TWOPC_ENOMEM;
	reason[0] = '\0';
	for (size_t i = 0; i < nops && vote == TWOPC_VOTE_COMMIT; i++) {
		kv_view *kv = kv_view_of(view, &nview, txn, &ops[i], &err);
		if (kv == NULL) {
			vote = err;
			break;
		}
		writes |= strcmp(ops[i].op, "check") != 0;
		vote = kv_apply(kv, &ops[i], reason, sizeof(reason));
	}
	/* Only checks, all true: nothing to write, no phase two (READ-ONLY). */
	if (vote == TWOPC_VOTE_COMMIT && !writes)
		vote = TWOPC_VOTE_READONLY;
	/* Stage the final value of every key touched by a write. Keys only
	 * checked are staged too (as puts of the same value): harmless, and
	 * it keeps commit a plain copy. */
	for (size_t i = 0; i < nview && vote == TWOPC_VOTE_COMMIT; i++) {
		int rv = view[i].value ? twopc_txn_stage(txn, "put", view[i].key, view[i].value) :
		    twopc_txn_stage(txn, "del", view[i].key, "");
		if (rv != 0)
			vote = rv;
	}
	for (size_t i = 0; i < nview; i++)
		free(view[i].value);
	free(view);
	if (reason[0])
		twopc_txn_set_reason(txn, reason);
	return vote;
}

static int
kv_commit(void *user, twopc_txn *txn)
{
	int rv = 0;

	(void)user;
	for (size_t i = 0; rv == 0 && i < twopc_txn_nstaged(txn); i++) {
		twopc_op op;
		if (twopc_txn_staged(txn, i, &op) != 0) {
			rv = TWOPC_EINVAL;
			break;
		}
		int del = strcmp(op.op, "del") == 0;
		sqlite3_stmt *st = twopc_txn_stmt(txn, del ? KV_SQL_DEL : KV_SQL_PUT);
		if (st == NULL) {
			rv = TWOPC_EIO;
			break;
		}
		sqlite3_bind_text(st, 1, op.key, -1, SQLITE_STATIC);
		if (!del)
			sqlite3_bind_text(st, 2, op.value, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			rv = TWOPC_EIO;
		sqlite3_reset(st);
	}
	return rv;
}

static int
kv_read(void *user, void *sqlite_db, const char *key, char *buf, size_t len)
{
	int err;
	sqlite3_stmt *st = NULL;
	(void)user;
	/* A read outside any transaction: prepared for this one call. */
	if (sqlite3_prepare_v2(sqlite_db, KV_SQL_GET, -1, &st, NULL) != SQLITE_OK)
		st = NULL;
	char *v = kv_get(st, key, &err);
	sqlite3_finalize(st);
	if (err)
		return err;
	if (v == NULL)
		return 0;
	snprintf(buf, len, "%s", v);
	free(v);
	return 1;
}

const twopc_resource kv_resource = {
	.prepare = kv_prepare,
	.commit = kv_commit,
	.abort = NULL, /* prepare writes nothing outside the workspace */
	.read = kv_read,
	.user = NULL,
};
