/*
 * statlist.c - see statlist.h.
 */
#include "statlist.h"

#include <stdlib.h>
#include <string.h>

#include "twopc/error.h"

int
statlist_init(statlist *l, size_t cap)
{
	memset(l, 0, sizeof(*l));
	l->cap = cap ? cap : 1;
	l->st = calloc(l->cap, sizeof(*l->st));
	l->strs_cap = l->cap * (WIRE_TXID_MAX + 1 + STATLIST_DETAIL_MAX + 1);
	l->strs = malloc(l->strs_cap);
	if (l->st == NULL || l->strs == NULL) {
		statlist_free(l);
		return TWOPC_ENOMEM;
	}
	return 0;
}

static char *
statlist_str(statlist *l, const char *s, size_t max)
{
	size_t n = strnlen(s, max);
	if (l->at + n + 1 > l->strs_cap)
		return NULL;
	char *d = l->strs + l->at;
	memcpy(d, s, n);
	d[n] = '\0';
	l->at += n + 1;
	return d;
}

int
statlist_add(statlist *l, const char *name, int state, uint64_t epoch, uint64_t age_ms,
    const char *detail)
{
	size_t dl = strnlen(detail ? detail : "", STATLIST_DETAIL_MAX);
	/* str8 txid, u8 state, u64 epoch, u64 age, str16 detail */
	size_t need = 1 + strnlen(name, WIRE_TXID_MAX) + 1 + 8 + 8 + 2 + dl;
	if (l->n == l->cap || l->wire_bytes + need > WIRE_MAX_MSG - 1024)
		return -1;
	size_t mark = l->at;
	wire_status *s = &l->st[l->n];
	s->txid = statlist_str(l, name, WIRE_TXID_MAX);
	s->detail = s->txid ? statlist_str(l, detail ? detail : "", STATLIST_DETAIL_MAX) : NULL;
	if (s->detail == NULL) {
		l->at = mark;
		return -1;
	}
	s->state = (uint8_t)state;
	s->epoch = epoch;
	s->age_ms = age_ms;
	l->wire_bytes += need;
	l->n++;
	return 0;
}

int
statlist_reply(statlist *l, wire_msg *rep)
{
	rep->type = WIRE_STATUS_REPLY;
	rep->nstatus = l->n;
	rep->status = l->st;
	rep->owned[0] = l->st;
	rep->owned[1] = l->strs;
	memset(l, 0, sizeof(*l));
	return 1;
}

void
statlist_free(statlist *l)
{
	free(l->st);
	free(l->strs);
	memset(l, 0, sizeof(*l));
}
