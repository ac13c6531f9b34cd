/*
 * cfgbuild.c - a cluster from values instead of a file (cfg_build in
 * config.h), for programs that embed the participant library and keep
 * their configuration elsewhere. The checks are the loader's: valid and
 * unique names, accepted and unique URLs. It has no TLS settings: a
 * tls+tcp:// URL is refused, and tcp:// URLs make the cluster insecure
 * (as `insecure: true` in a file; the participant warns at start).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

static int
cfgb_err(char *buf, size_t len, int n, const char *fmt, ...)
{
	va_list ap;
	size_t at = buf ? strlen(buf) : 0;
	if (buf != NULL && at + 1 < len) {
		va_start(ap, fmt);
		int w = vsnprintf(buf + at, len - at, fmt, ap);
		va_end(ap);
		at = strlen(buf);
		if (w >= 0 && at + 1 < len) {
			buf[at] = '\n';
			buf[at + 1] = '\0';
		}
	}
	return n + 1;
}

static char *
cfgb_dup(const char *s)
{
	return s ? strdup(s) : strdup("");
}

int
cfg_build(const char *const *names, const char *const *urls, const char *const *logs, size_t n,
    uint32_t decision_timeout_ms, uint32_t retention_s, int durability_normal,
    cfg_cluster **out, char *errbuf, size_t errlen)
{
	int errs = 0;
	const char *why = NULL;

	if (errbuf != NULL && errlen > 0)
		errbuf[0] = '\0';
	if (names == NULL || urls == NULL || out == NULL || n < 2)
		return -cfgb_err(errbuf, errlen, 0, "config: a coordinator and at least one participant are needed");
	if (n - 1 > CFG_MAX_PARTICIPANTS)
		return -cfgb_err(errbuf, errlen, 0, "config: more than %d participants", CFG_MAX_PARTICIPANTS);
	for (size_t i = 0; i < n; i++) {
		why = NULL;
		if (names[i] == NULL || !wire_name_valid(names[i]))
			errs = cfgb_err(errbuf, errlen, errs, "config: bad name '%s' (1-%d of A-Z a-z 0-9 _ . -)",
			    names[i] ? names[i] : "(null)", CFG_NAME_MAX);
		if (urls[i] != NULL && strncmp(urls[i], "tls+tcp://", 10) == 0)
			why = "tls+tcp:// needs a cluster file with a 'tls' section";
		if (urls[i] == NULL || why != NULL || (why = cfg_url_problem(urls[i])) != NULL)
			errs = cfgb_err(errbuf, errlen, errs, "config: bad URL '%s' for '%s' (%s)",
			    urls[i] ? urls[i] : "(null)", names[i] ? names[i] : "?",
			    urls[i] ? why : "missing");
		for (size_t j = 0; j < i; j++) {
			if (names[i] && names[j] && strcmp(names[i], names[j]) == 0)
				errs = cfgb_err(errbuf, errlen, errs, "config: duplicate name '%s'", names[i]);
			if (urls[i] && urls[j] && strcmp(urls[i], urls[j]) == 0)
				errs = cfgb_err(errbuf, errlen, errs, "config: duplicate URL '%s'", urls[i]);
		}
	}
	if (errs)
		return -errs;
	cfg_cluster *c = calloc(1, sizeof(*c));
	if (c == NULL || (c->participants = calloc(CFG_MAX_PARTICIPANTS, sizeof(cfg_node))) == NULL) {
		free(c);
		return -cfgb_err(errbuf, errlen, 0, "config: out of memory");
	}
	c->path = strdup("(built)");
	snprintf(c->coordinator.name, sizeof(c->coordinator.name), "%s", names[0]);
	c->coordinator.listen = cfgb_dup(urls[0]);
	c->coordinator.log = cfgb_dup(logs ? logs[0] : NULL);
	c->nparticipants = n - 1;
	int oom = c->path == NULL || c->coordinator.listen == NULL || c->coordinator.log == NULL;
	for (size_t i = 1; i < n; i++) {
		cfg_node *p = &c->participants[i - 1];
		snprintf(p->name, sizeof(p->name), "%s", names[i]);
		p->listen = cfgb_dup(urls[i]);
		p->log = cfgb_dup(logs ? logs[i] : NULL);
		oom |= p->listen == NULL || p->log == NULL;
	}
	c->vote_timeout_ms = 2000;
	c->decision_timeout_ms = decision_timeout_ms ? decision_timeout_ms : 1000;
	c->ack_retry_ms = 500;
	c->linger_ms = CFG_LINGER_MS;
	c->retention_s = retention_s ? retention_s : 86400;
	c->log_level = -1;
	c->durability = durability_normal ? CFG_DURABILITY_NORMAL : CFG_DURABILITY_FULL;
	/* The struct has no TLS settings: its tcp:// URLs are plain, and the
	 * daemon warns at start as for a file that says insecure: true. */
	for (size_t i = 0; i < n; i++)
		if (strncmp(urls[i], "tcp://", 6) == 0)
			c->insecure = 1;
	if (oom) {
		cfg_free(c);
		return -cfgb_err(errbuf, errlen, 0, "config: out of memory");
	}
	*out = c;
	return 0;
}
