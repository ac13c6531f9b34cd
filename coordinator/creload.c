/*
 * creload.c - SIGHUP at the coordinator: the cluster file read again, and
 * what may change while transactions run applied in place (coord.h,
 * coord_reload; the rules and the steps are cfgreload.c's: cfg_reload).
 *
 * A new participant is appended: its socket is dialed into the next slot
 * of c->socks (its FORGET queue, zeroed at start, is ready), c->nsocks
 * counts it, and only then does cfg_reload_add publish it in the cluster,
 * where SUBMIT finds names (csubmit.c). So a transaction can name it only
 * once its socket exists, and no index a running transaction holds
 * changes. The timeouts are atomics that every step reads afresh; a vote
 * round already waiting keeps the timeout it started with.
 */
#include "coord.h"

#include <stdio.h>
#include <string.h>

#include "config.h"
#include "tlog.h"

/* Dial and publish the NADD participants NEXT has after the current
 * ones; appends what was added to DONE. 0, or -1 if one could not be. */
static int
creload_add(void *arg, const cfg_cluster *next, size_t nadd, char *done, size_t len)
{
	coord *c = arg;
	int rv = 0;
	pthread_mutex_lock(&c->mtx);
	for (size_t k = 0; k < nadd; k++) {
		size_t i = c->cfg->nparticipants;
		const cfg_node *n = &next->participants[i];
		if (rpc_dial(n->listen, 1, &c->socks[i]) != 0) {
			tlog_error("%s: reload: cannot dial participant '%s' at %s: not added",
			    next->path, n->name, n->listen);
			rv = -1;
			break;
		}
		c->nsocks = i + 1;
		if (cfg_reload_publish(c->cfg, next, n, done, len) != 0) {
			/* Counted but not named: no transaction can reach it. */
			rv = -1;
			break;
		}
	}
	pthread_mutex_unlock(&c->mtx);
	return rv;
}

int
coord_reload(coord *c)
{
	return cfg_reload(c->cfg, c->cfg->coordinator.name, creload_add, c) != 0 ? -1 : 0;
}
