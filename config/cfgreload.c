/*
 * cfgreload.c - what a running daemon takes from its cluster file read
 * again (SIGHUP): see config.h, cfg_reload_diff and after.
 *
 * Safe to change in place: the timeouts and the log level (atomics, read
 * afresh at each use) and participants appended at the end of the list
 * (room for CFG_MAX_PARTICIPANTS is allocated at load, so existing
 * entries never move and every index held by a transaction stays valid).
 * Refused, each naming its key: the coordinator's name, listen address,
 * log and http address; an existing participant's name, listen address,
 * log or http address, its removal or a change of its place in the list;
 * durability, insecure and the tls section. Those are read once at start (the log opened, the
 * socket bound, the identity loaded) or name what the logs already hold.
 *
 * cfg_reload is the whole of a reload for both daemons; each gives it only
 * the setting up of a new participant's slot (creload.c, preload.c).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlog.h"
#include "twopc/error.h"

#define CFGR_ERRS 8192

/* Append one formatted line to BUF (LEN), cut when full. */
__attribute__((format(printf, 4, 5)))
static void cfgr_line(char *buf, size_t len, size_t *used, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (buf == NULL || *used + 1 >= len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *used, len - *used, fmt, ap);
	va_end(ap);
	if (n > 0)
		*used = *used + (size_t)n < len ? *used + (size_t)n : len - 1;
}

static int cfgr_same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* One refused key: its line, and 1 to count it. */
static int cfgr_refuse(const cfg_cluster *next, char *buf, size_t len, size_t *used,
    const char *key, const char *was, const char *now)
{
	cfgr_line(buf, len, used, "%s: reload: %s changed (%s -> %s): not applied, it takes a "
	    "restart\n", next->path, key, was ? was : "(none)", now ? now : "(none)");
	return 1;
}

int cfg_reload_diff(const cfg_cluster *cur, const cfg_cluster *next, size_t *nadd,
    char *errbuf, size_t errlen)
{
	static const char *const durability[] = {"full", "normal"};
	size_t used = 0, ncur = cur->nparticipants, nnext = next->nparticipants;
	char key[96 + CFG_NAME_MAX];
	int refused = 0, moved = 0;

	if (errbuf != NULL && errlen > 0)
		errbuf[0] = '\0';
	if (!cfgr_same(cur->coordinator.name, next->coordinator.name))
		refused += cfgr_refuse(next, errbuf, errlen, &used, "'coordinator.name'",
		    cur->coordinator.name, next->coordinator.name);
	if (!cfgr_same(cur->coordinator.listen, next->coordinator.listen))
		refused += cfgr_refuse(next, errbuf, errlen, &used, "'coordinator.listen'",
		    cur->coordinator.listen, next->coordinator.listen);
	if (!cfgr_same(cur->coordinator.log, next->coordinator.log))
		refused += cfgr_refuse(next, errbuf, errlen, &used, "'coordinator.log'",
		    cur->coordinator.log, next->coordinator.log);
	if (!cfgr_same(cur->coordinator.http, next->coordinator.http))
		refused += cfgr_refuse(next, errbuf, errlen, &used, "'coordinator.http'",
		    cur->coordinator.http, next->coordinator.http);
	for (size_t i = 0; i < ncur; i++) {
		const cfg_node *a = &cur->participants[i];
		const cfg_node *b = i < nnext ? &next->participants[i] : NULL;

		if (b == NULL) {
			/* Transactions in the logs name it: it cannot go while running. */
			cfgr_line(errbuf, errlen, &used, "%s: reload: participant '%s' removed: not "
			    "applied (participants can only be added, at the end of the list)\n",
			    next->path, a->name);
			refused++;
			moved = 1;
			continue;
		}
		if (strcmp(a->name, b->name) != 0) {
			snprintf(key, sizeof(key), "'name' of participant %zu", i + 1);
			refused += cfgr_refuse(next, errbuf, errlen, &used, key, a->name, b->name);
			moved = 1;
			continue;
		}
		snprintf(key, sizeof(key), "'listen' of participant '%s'", a->name);
		if (!cfgr_same(a->listen, b->listen)) {
			refused += cfgr_refuse(next, errbuf, errlen, &used, key, a->listen, b->listen);
			moved = 1;
		}
		snprintf(key, sizeof(key), "'log' of participant '%s'", a->name);
		if (!cfgr_same(a->log, b->log))
			refused += cfgr_refuse(next, errbuf, errlen, &used, key, a->log, b->log);
		snprintf(key, sizeof(key), "'http' of participant '%s'", a->name);
		if (!cfgr_same(a->http, b->http))
			refused += cfgr_refuse(next, errbuf, errlen, &used, key, a->http, b->http);
	}
	if (cur->durability != next->durability)
		refused += cfgr_refuse(next, errbuf, errlen, &used, "'durability'",
		    durability[cur->durability != 0], durability[next->durability != 0]);
	if (cur->insecure != next->insecure)
		refused += cfgr_refuse(next, errbuf, errlen, &used, "'insecure'",
		    cur->insecure ? "true" : "false", next->insecure ? "true" : "false");
	if (!cfgr_same(cur->tls_ca, next->tls_ca))
		refused += cfgr_refuse(next, errbuf, errlen, &used, "'tls.ca'", cur->tls_ca,
		    next->tls_ca);
	if (!cfgr_same(cur->tls_dir, next->tls_dir))
		refused += cfgr_refuse(next, errbuf, errlen, &used, "'tls.dir'", cur->tls_dir,
		    next->tls_dir);
	/* A new participant's index must be the one the file gives it. */
	*nadd = !moved && nnext > ncur ? nnext - ncur : 0;
	if (moved && nnext > ncur)
		cfgr_line(errbuf, errlen, &used, "%s: reload: %zu new participant(s) not added "
		    "(the existing ones must stay as they are, first in the list)\n", next->path,
		    nnext - ncur);
	return refused;
}

void cfg_reload_values(cfg_cluster *cur, const cfg_cluster *next, char *buf, size_t len)
{
	static const char *const levels[] = {"error", "warn", "info", "debug"};
	struct {
		const char *name;
		_Atomic uint32_t *to;
		uint32_t from;
	} v[] = {
		{"vote_timeout_ms", &cur->vote_timeout_ms, next->vote_timeout_ms},
		{"decision_timeout_ms", &cur->decision_timeout_ms, next->decision_timeout_ms},
		{"ack_retry_ms", &cur->ack_retry_ms, next->ack_retry_ms},
		{"retention_s", &cur->retention_s, next->retention_s},
		{"linger_ms", &cur->linger_ms, next->linger_ms},
	};
	size_t used = 0;

	if (buf != NULL && len > 0)
		buf[0] = '\0';
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint32_t was = atomic_exchange(v[i].to, v[i].from);

		if (was != v[i].from)
			cfgr_line(buf, len, &used, "%s%s %u -> %u", used ? ", " : "", v[i].name,
			    (unsigned)was, (unsigned)v[i].from);
	}
	int was = atomic_exchange(&cur->log_level, next->log_level), now = next->log_level;
	if (was != now)
		cfgr_line(buf, len, &used, "%slog_level %s -> %s", used ? ", " : "",
		    was >= 0 && was <= 3 ? levels[was] : "(none)",
		    now >= 0 && now <= 3 ? levels[now] : "(none)");
}

int cfg_reload_add(cfg_cluster *cur, const cfg_node *node)
{
	size_t n = cur->nparticipants;
	cfg_node *slot;

	if (n >= CFG_MAX_PARTICIPANTS)
		return -1;
	slot = &cur->participants[n];
	memset(slot, 0, sizeof(*slot));
	memcpy(slot->name, node->name, sizeof(slot->name));
	slot->listen = node->listen ? strdup(node->listen) : NULL;
	slot->log = node->log ? strdup(node->log) : NULL;
	slot->http = node->http ? strdup(node->http) : NULL;
	if ((node->listen && slot->listen == NULL) || (node->log && slot->log == NULL) ||
	    (node->http && slot->http == NULL)) {
		free(slot->listen);
		free(slot->log);
		free(slot->http);
		memset(slot, 0, sizeof(*slot));
		return -1;
	}
	slot->log_line = node->log_line;
	slot->log_col = node->log_col;
	/* Published last: a reader that counts it sees it whole. */
	atomic_store(&cur->nparticipants, n + 1);
	return 0;
}

int
cfg_reload_publish(cfg_cluster *cur, const cfg_cluster *next, const cfg_node *node,
    char *done, size_t len)
{
	if (cfg_reload_add(cur, node) != 0) {
		tlog_error("%s: reload: out of memory adding participant '%s'", next->path,
		    node->name);
		return -1;
	}
	size_t used = strlen(done);
	snprintf(done + used, len - used, "%sparticipant %s added (%s)", used ? ", " : "",
	    node->name, node->listen);
	return 0;
}

/* Log each line of TEXT at LEVEL. */
static void
cfgr_log_lines(int level, const char *text)
{
	const char *p = text;
	while (*p != '\0') {
		size_t n = strcspn(p, "\n");
		if (n > 0)
			tlog(level, "%.*s", (int)n, p);
		p += n + (p[n] == '\n');
	}
}

int
cfg_reload(cfg_cluster *cur, const char *self, cfg_reload_add_fn add, void *arg)
{
	const char *file = cur->path;
	char *errs = malloc(CFGR_ERRS);
	char done[1024] = "";
	cfg_cluster *next = NULL;
	size_t nadd = 0;
	int rv = 0, arv;

	if (errs == NULL) {
		tlog_error("%s: reload: out of memory; the running configuration is kept", file);
		return TWOPC_ENOMEM;
	}
	if (cfg_load(file, &next, errs, CFGR_ERRS) != 0) {
		cfgr_log_lines(TLOG_ERROR, errs);
		tlog_error("%s: reload: the file does not load; the running configuration is kept",
		    file);
		free(errs);
		return TWOPC_ECONFIG;
	}
	(void)cfg_reload_diff(cur, next, &nadd, errs, CFGR_ERRS);
	if (errs[0] != '\0') { /* a refused change: the rest still applies */
		cfgr_log_lines(TLOG_WARN, errs);
		rv = TWOPC_ECONFIG;
	}
	/* A tls+tcp:// dialer checks its server's name by URL: the identity
	 * is loaded again with the new URLs bound (rpc_tls_use swaps it). */
	if (nadd > 0 && next->tls_ca != NULL && cfg_tls_use(next, self, errs, CFGR_ERRS) != 0) {
		cfgr_log_lines(TLOG_ERROR, errs);
		tlog_error("%s: reload: the TLS identity does not load: no participant added", file);
		nadd = 0;
		rv = TWOPC_ECONFIG;
	}
	if (nadd > 0 && (arv = add(arg, next, nadd, done, sizeof(done))) != 0)
		rv = arv;
	size_t used = strlen(done), gap = used ? 2 : 0;
	cfg_reload_values(cur, next, done + used + gap, sizeof(done) - used - gap);
	if (used > 0 && done[used + gap] != '\0')
		memcpy(done + used, ", ", 2);
	tlog_info("%s: reloaded: %s", file, done[0] ? done : "nothing to change");
	cfg_free(next);
	free(errs);
	return rv;
}
