/*
 * preload.c - twopc_participant_reload and twopc_participant_log_level:
 * the cluster file read again while the handle serves (the rules and the
 * steps are cfgreload.c's: cfg_reload).
 *
 * A new participant is a new peer: its failure-detector slot is named,
 * then cfg_reload_add publishes it, under p->mtx, which also guards the
 * peer sockets (dialed on first use by the termination protocol, into
 * slots allocated for CFG_MAX_PARTICIPANTS at open). The timeouts are
 * atomics read afresh at each use; the failure detector keeps the base
 * timeout it was opened with (a peer's timeout only grows within a
 * process lifetime, fdetect.h).
 */
#include "part.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlog.h"

/* Publish the NADD participants NEXT has after the current ones; what was
 * added goes to DONE. 0, or -1 if one could not be. */
static int
preload_add(void *arg, const cfg_cluster *next, size_t nadd, char *done, size_t len)
{
	twopc_participant *p = arg;
	int rv = 0;
	pthread_mutex_lock(&p->mtx);
	for (size_t k = 0; k < nadd; k++) {
		size_t i = p->cfg->nparticipants;
		const cfg_node *n = &next->participants[i];
		fd_set_name(&p->fd, (int)i + 1, n->name);
		if (cfg_reload_publish(p->cfg, next, n, done, len) != 0) {
			rv = TWOPC_ENOMEM;
			break;
		}
	}
	pthread_mutex_unlock(&p->mtx);
	return rv;
}

int
twopc_participant_reload(twopc_participant *p)
{
	if (p == NULL)
		return TWOPC_EINVAL;
	const char *file = p->cfg->path;
	if (strcmp(file, "(built)") == 0) {
		tlog_error("reload: the handle was opened without a cluster file");
		return TWOPC_EINVAL;
	}
	return cfg_reload(p->cfg, p->self->name, preload_add, p);
}

int
twopc_participant_log_level(const twopc_participant *p)
{
	return p == NULL || p->cfg == NULL ? -1 : p->cfg->log_level;
}
