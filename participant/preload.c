/*
 * preload.c - twopc_participant_reload and twopc_participant_log_level:
 * the cluster file read again while the handle serves (the rules are
 * cfgreload.c's).
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

#define PRELOAD_ERRS 8192

/* Log each line of TEXT at LEVEL. */
static void
preload_lines(int level, const char *text)
{
	const char *s = text;
	while (*s != '\0') {
		size_t n = strcspn(s, "\n");
		if (n > 0)
			tlog(level, "%.*s", (int)n, s);
		s += n + (s[n] == '\n');
	}
}

/* Publish the NADD participants NEXT has after the current ones; what was
 * added goes to DONE. 0, or -1 if one could not be. */
static int
preload_add(twopc_participant *p, const cfg_cluster *next, size_t nadd, char *done, size_t len)
{
	int rv = 0;
	pthread_mutex_lock(&p->mtx);
	for (size_t k = 0; k < nadd; k++) {
		size_t i = p->cfg->nparticipants;
		const cfg_node *n = &next->participants[i];
		fd_set_name(&p->fd, (int)i + 1, n->name);
		if (cfg_reload_add(p->cfg, n) != 0) {
			tlog_error("%s: reload: out of memory adding participant '%s'", next->path,
			    n->name);
			rv = -1;
			break;
		}
		size_t used = strlen(done);
		snprintf(done + used, len - used, "%sparticipant %s added (%s)", used ? ", " : "",
		    n->name, n->listen);
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
	char *errs = malloc(PRELOAD_ERRS);
	char done[1024] = "";
	cfg_cluster *next = NULL;
	size_t nadd = 0;
	int rv = 0;
	if (errs == NULL)
		return TWOPC_ENOMEM;
	if (cfg_load(file, &next, errs, PRELOAD_ERRS) != 0) {
		preload_lines(TLOG_ERROR, errs);
		tlog_error("%s: reload: the file does not load; the running configuration is kept",
		    file);
		free(errs);
		return TWOPC_ECONFIG;
	}
	(void)cfg_reload_diff(p->cfg, next, &nadd, errs, PRELOAD_ERRS);
	if (errs[0] != '\0') { /* a refused change: the rest still applies */
		preload_lines(TLOG_WARN, errs);
		rv = TWOPC_ECONFIG;
	}
	/* A tls+tcp:// dialer checks its server's name by URL: the identity
	 * is loaded again with the new URLs bound (rpc_tls_use swaps it). */
	if (nadd > 0 && next->tls_ca != NULL &&
	    cfg_tls_use(next, p->self->name, errs, PRELOAD_ERRS) != 0) {
		preload_lines(TLOG_ERROR, errs);
		tlog_error("%s: reload: the TLS identity does not load: no participant added", file);
		nadd = 0;
		rv = TWOPC_ECONFIG;
	}
	if (nadd > 0 && preload_add(p, next, nadd, done, sizeof(done)) != 0)
		rv = TWOPC_ENOMEM;
	size_t used = strlen(done), gap = used ? 2 : 0;
	cfg_reload_values(p->cfg, next, done + used + gap, sizeof(done) - used - gap);
	if (used > 0 && done[used + gap] != '\0')
		memcpy(done + used, ", ", 2);
	tlog_info("%s: reloaded: %s", file, done[0] ? done : "nothing to change");
	cfg_free(next);
	free(errs);
	return rv;
}

int
twopc_participant_log_level(const twopc_participant *p)
{
	return p == NULL || p->cfg == NULL ? -1 : p->cfg->log_level;
}
