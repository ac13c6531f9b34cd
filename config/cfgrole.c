/*
 * cfgrole.c - who may send what (DESIGN section 2, twopc(7) ROLES): the
 * role of a sender name in the cluster file, and the table of the
 * message types each role may send to the coordinator and to a
 * participant. The sender name is authenticated by its MAC in a cluster
 * with keys (rpcauth.h); with insecure: true it is only what the message
 * says, and the table still stops the honest mistakes.
 *
 *   to the coordinator   SUBMIT, STATUS_REQUEST, RESOLVE   clients
 *                        DECISION_REQUEST                  participants
 *   to a participant     VOTE_REQUEST, GLOBAL_COMMIT,
 *                        GLOBAL_ABORT, FORGET              the coordinator
 *                        DECISION_REQUEST                  the coordinator, a
 *                                                          participant (a peer
 *                                                          of the txid: prole.c)
 *                        STATUS_REQUEST                    clients, the coordinator
 *                        GET, RESOLVE                      clients
 *   to anyone            IAMALIVE                          anyone
 *
 * Only the coordinator raises a participant's epoch: the participant takes
 * a higher epoch only from VOTE_REQUEST and GLOBAL_*, which only the
 * coordinator may send. Any other type is not served by the node at all
 * (serve_other). A name that is neither the coordinator nor a participant
 * is a client ('client' with keys: the role all clients share).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "serve.h"
#include "twopc/error.h"

cfg_role
cfg_role_of(const cfg_cluster *c, const char *name)
{
	if (strcmp(name, c->coordinator.name) == 0)
		return CFG_ROLE_COORDINATOR;
	return cfg_participant(c, name) != NULL ? CFG_ROLE_PARTICIPANT : CFG_ROLE_CLIENT;
}

#define R_CLIENT (1u << CFG_ROLE_CLIENT)
#define R_COORD (1u << CFG_ROLE_COORDINATOR)
#define R_PART (1u << CFG_ROLE_PARTICIPANT)

/* The roles that may send TYPE to a node of role TO; every role for a
 * type the table does not name (the node refuses it as not served). */
static unsigned
cfg_role_senders(cfg_role to, int type)
{
	if (type == WIRE_IAMALIVE)
		return R_CLIENT | R_COORD | R_PART;
	if (to == CFG_ROLE_COORDINATOR) {
		switch (type) {
		case WIRE_SUBMIT: case WIRE_STATUS_REQUEST: case WIRE_RESOLVE:
			return R_CLIENT;
		case WIRE_DECISION_REQUEST:
			return R_PART;
		}
	} else {
		switch (type) {
		case WIRE_VOTE_REQUEST: case WIRE_GLOBAL_COMMIT: case WIRE_GLOBAL_ABORT:
		case WIRE_FORGET:
			return R_COORD;
		case WIRE_DECISION_REQUEST:
			return R_COORD | R_PART;
		case WIRE_STATUS_REQUEST:
			return R_CLIENT | R_COORD;
		case WIRE_GET: case WIRE_RESOLVE:
			return R_CLIENT;
		}
	}
	return R_CLIENT | R_COORD | R_PART;
}

static const char *
cfg_role_name(cfg_role r)
{
	return r == CFG_ROLE_COORDINATOR ? "the coordinator" :
	    r == CFG_ROLE_PARTICIPANT ? "a participant" : "a client";
}

/* "the coordinator coord", "participants", "clients", joined with "or". */
static void
cfg_role_list(const cfg_cluster *c, unsigned roles, char *buf, size_t len)
{
	size_t at = 0;
	buf[0] = '\0';
	if (roles & R_COORD)
		at += (size_t)snprintf(buf + at, len - at, "the coordinator (%s)", c->coordinator.name);
	if ((roles & R_PART) && at < len)
		at += (size_t)snprintf(buf + at, len - at, "%sparticipants", at ? " or " : "");
	if ((roles & R_CLIENT) && at < len)
		snprintf(buf + at, len - at, "%sclients", at ? " or " : "");
}

int
cfg_role_refuse(const cfg_cluster *c, cfg_role self, const wire_msg *req, wire_msg *rep,
    char *buf, size_t len)
{
	cfg_role from = cfg_role_of(c, req->sender);
	unsigned may = cfg_role_senders(self, req->type);
	char who[96], text[320];

	if (may & (1u << from))
		return 0;
	cfg_role_list(c, may, who, sizeof(who));
	snprintf(text, sizeof(text), "%s is %s and may not send %s to %s: only %s may",
	    req->sender, cfg_role_name(from), wire_type_name(req->type),
	    self == CFG_ROLE_COORDINATOR ? "the coordinator" : "a participant", who);
	serve_note_refused(req, text);
	return wire_reply_error(rep, TWOPC_EPROTO, text, buf, len);
}
