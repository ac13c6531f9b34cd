/*
 * creload.c - SIGHUP at the coordinator: the cluster file read again, and
 * what may change while transactions run applied in place (coord.h,
 * coord_reload; the rules are cfgreload.c's).
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
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "tlog.h"

#define CRELOAD_ERRS 8192

/* Log each line of TEXT at LEVEL. */
static void
creload_lines(int level, const char *text)
{
	const char *p = text;
	while (*p != '\0') {
		size_t n = strcspn(p, "\n");
		if (n > 0)
			tlog(level, "%.*s", (int)n, p);
		p += n + (p[n] == '\n');
	}
}

/* Dial and publish the NADD participants NEXT has after the current
 * ones; appends what was added to DONE. 0, or -1 if one could not be. */
static int
creload_add(coord *c, const cfg_cluster *next, size_t nadd, char *done, size_t len)
{
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
		if (cfg_reload_add(c->cfg, n) != 0) {
			/* Counted but not named: no transaction can reach it. */
			tlog_error("%s: reload: out of memory adding participant '%s'", next->path,
			    n->name);
			rv = -1;
			break;
		}
		size_t used = strlen(done);
		snprintf(done + used, len - used, "%sparticipant %s added (%s)", used ? ", " : "",
		    n->name, n->listen);
	}
	pthread_mutex_unlock(&c->mtx);
	return rv;
}

int
coord_reload(coord *c)
{
	const char *file = c->cfg->path;
	char *errs = malloc(CRELOAD_ERRS);
	char done[1024] = "";
	cfg_cluster *next = NULL;
	size_t nadd = 0;
	int rv = 0;

	if (errs == NULL) {
		tlog_error("%s: reload: out of memory; the running configuration is kept", file);
		return -1;
	}
	if (cfg_load(file, &next, errs, CRELOAD_ERRS) != 0) {
		creload_lines(TLOG_ERROR, errs);
		tlog_error("%s: reload: the file does not load; the running configuration is kept",
		    file);
		free(errs);
		return -1;
	}
	(void)cfg_reload_diff(c->cfg, next, &nadd, errs, CRELOAD_ERRS);
	if (errs[0] != '\0') { /* a refused change: the rest still applies */
		creload_lines(TLOG_WARN, errs);
		rv = -1;
	}
	/* A tls+tcp:// dialer checks its server's name by URL: the identity
	 * is loaded again with the new URLs bound (rpc_tls_use swaps it). */
	if (nadd > 0 && next->tls_ca != NULL &&
	    cfg_tls_use(next, c->cfg->coordinator.name, errs, CRELOAD_ERRS) != 0) {
		creload_lines(TLOG_ERROR, errs);
		tlog_error("%s: reload: the TLS identity does not load: no participant added", file);
		nadd = 0;
		rv = -1;
	}
	if (nadd > 0 && creload_add(c, next, nadd, done, sizeof(done)) != 0)
		rv = -1;
	size_t used = strlen(done);
	cfg_reload_values(c->cfg, next, done + used + (used ? 2 : 0),
	    sizeof(done) - used - (used ? 2 : 0));
	if (used > 0 && done[used + 2] != '\0')
		memcpy(done + used, ", ", 2);
	tlog_info("%s: reloaded: %s", file, done[0] ? done : "nothing to change");
	cfg_free(next);
	free(errs);
	return rv;
}
