/*
 * prole.c - see prole.h. The peer check: the termination protocol lets
 * one participant ask another (DESIGN section 4), and only a peer of the
 * transaction has a reason to. Where this log holds the txid with its
 * peers (READY, COMMIT, ABORT after a VOTE_REQUEST), an asker not among
 * them is refused. Where it holds no record (or INIT), the question is
 * answered as DESIGN section 4 says (ABORT, forced first): refusing it, or
 * answering "no help", would leave READY peers blocked whose coordinator
 * died before this participant's VOTE_REQUEST left. The price, stated in
 * twopc(7): a participant's keys can abort, ahead of time, a txid at a
 * peer that has no record of it yet; never commit anything.
 */
#include "prole.h"

#include <stdio.h>
#include <string.h>

#include "config.h"
#include "plog.h"
#include "serve.h"
#include "twopc/error.h"

/* 1 if NAME is one of the comma-separated PEERS. */
static int
part_role_listed(const char *peers, const char *name)
{
	size_t n = strlen(name);
	for (const char *s = peers; *s != '\0';) {
		const char *e = strchr(s, ',');
		size_t len = e != NULL ? (size_t)(e - s) : strlen(s);
		if (len == n && strncmp(s, name, n) == 0)
			return 1;
		if (e == NULL)
			break;
		s = e + 1;
	}
	return 0;
}

int
part_role_refused(twopc_participant *p, const wire_msg *req, wire_msg *rep, char *buf,
    size_t len)
{
	plog_txn t;
	char text[WIRE_TEXT_MAX];

	if (cfg_role_refuse(p->cfg, CFG_ROLE_PARTICIPANT, req, rep, buf, len))
		return 1;
	if (req->type != WIRE_DECISION_REQUEST ||
	    cfg_role_of(p->cfg, req->sender) != CFG_ROLE_PARTICIPANT)
		return 0;
	db_lock(p->db);
	int rv = plog_get(p->db, req->txid, &t);
	db_unlock(p->db);
	if (rv != 0 || t.peers[0] == '\0' || part_role_listed(t.peers, req->sender))
		return 0;
	snprintf(text, sizeof(text), "%s is not a participant of %s (its participants here: %s): "
	    "only they may ask a peer about it", req->sender, req->txid, t.peers);
	serve_note_refused(req, text);
	return wire_reply_error(rep, TWOPC_EPROTO, text, buf, len);
}
