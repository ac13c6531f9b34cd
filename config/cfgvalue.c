/*
 * cfgvalue.c - the checks of single YAML values in the cluster file: the
 * kind of a node, a mapping's keys against the allowed list, and the
 * scalar kinds the schema uses (name, listen URL, http address, path,
 * positive 32-bit integer).
 *
 * Contract (see cfgpriv.h): each check reports what is wrong through
 * cfg_err at the node's line and column and leaves the destination
 * untouched; on success it stores the value (strings newly allocated,
 * paths made absolute against the file's directory) and records names
 * and addresses in the context for config.c's duplicate checks. Nothing
 * here knows the schema's layout (config.c does) or opens a file.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfgpriv.h"

const char *cfg_kind_name(const cfg_yn *n)
{
	if (n->kind == CFG_SEQ)
		return "a sequence";
	if (n->kind == CFG_MAP)
		return "a mapping";
	return n->text && n->text[0] ? "a scalar" : "an empty value";
}

/* Is N of kind WANT? Reports a type error naming WHAT if not. */
bool cfg_want(cfg_ctx *x, const cfg_yn *n, cfg_kind want, const char *what)
{
	static const char *const kinds[] = {"a string", "a sequence", "a mapping"};

	if (n->kind != want && n->kind != CFG_BAD)
		cfg_err(x, CFG_AT(n), "expected %s for %s, got %s", kinds[want], what,
		    cfg_kind_name(n));
	return n->kind == want;
}

/*
 * Match the pairs of mapping MAP against KEYS (NULL-terminated): vals[i]
 * gets the value of keys[i] or stays NULL. Reports keys that are not
 * scalars, unknown or repeated; WHERE ("in coordinator") and EXPECTED (the
 * key list) go into the messages.
 */
void cfg_fields(cfg_ctx *x, const cfg_yn *map, const char *where,
    const char *const *keys, const char *expected, const cfg_yn **vals)
{
	for (size_t i = 0; i + 1 < map->nkids; i += 2) {
		const cfg_yn *k = map->kids[i];
		size_t j = 0, m = 1;

		if (k->kind != CFG_SCALAR) {
			if (k->kind != CFG_BAD)
				cfg_err(x, CFG_AT(k), "expected a scalar key %s, got %s", where,
				    cfg_kind_name(k));
			continue;
		}
		while (keys[j] != NULL && strcmp(keys[j], k->text) != 0)
			j++;
		if (keys[j] == NULL) {
			cfg_err(x, CFG_AT(k), "unknown key " CFG_Q " %s (expected %s)",
			    CFG_QA(k->text), where, expected);
		} else if (vals[j] != NULL) {
			while (map->kids[m] != vals[j]) /* cite the first key */
				m += 2;
			cfg_err(x, CFG_AT(k), "duplicate key '%s' %s (first at %d:%d)", keys[j],
			    where, CFG_AT(map->kids[m - 1]));
		} else {
			vals[j] = map->kids[i + 1];
		}
	}
}

void cfg_missing(cfg_ctx *x, const cfg_yn *map, const char *where,
    const char *const *keys, const cfg_yn **vals, size_t required)
{
	for (size_t i = 0; i < required; i++)
		if (vals[i] == NULL)
			cfg_err(x, CFG_AT(map), "missing field '%s' %s", keys[i], where);
}

bool cfg_check_name(cfg_ctx *x, const cfg_yn *n, char *dst)
{
	const char *s = n->text;
	size_t len;

	if (!cfg_want(x, n, CFG_SCALAR, "'name'"))
		return false;
	if ((len = strlen(s)) == 0) {
		cfg_err(x, CFG_AT(n), "empty name");
		return false;
	}
	if (len > CFG_NAME_MAX) {
		cfg_err(x, CFG_AT(n), "name " CFG_Q " is too long (%zu bytes, at most %d)",
		    CFG_QA(s), len, CFG_NAME_MAX);
		return false;
	}
	for (const char *p = s; *p; p++) {
		unsigned char ch = (unsigned char)*p;

		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '-')
			continue;
		if (ch > 0x20 && ch < 0x7f)
			cfg_err(x, CFG_AT(n), "invalid character '%c' in name " CFG_Q
			    " (allowed: A-Z a-z 0-9 _ . -)", ch, CFG_QA(s));
		else /* space, control or non-ASCII: name the byte */
			cfg_err(x, CFG_AT(n), "invalid byte 0x%02x in name " CFG_Q
			    " (allowed: A-Z a-z 0-9 _ . -)", ch, CFG_QA(s));
		return false;
	}
	memcpy(dst, s, len + 1);
	if (x->nnames < CFG_NAMES_MAX)
		x->names[x->nnames++] = (cfg_seen){s, n};
	return true;
}

/* Why URL is not one NNG can listen on, or NULL if it is fine. */
const char *cfg_url_problem(const char *u)
{
	static const char badport[] = "PORT must be a number from 1 to 65535";
	const char *host, *colon;
	long port = 0;

	if (u[strcspn(u, " \t\r\n\v\f")] != '\0')
		return "contains whitespace";
	if (strncmp(u, "ipc://", 6) == 0)
		return u[6] ? NULL : "missing PATH in ipc://PATH";
	if (strncmp(u, "inproc://", 9) == 0)
		return u[9] ? NULL : "missing NAME in inproc://NAME";
	if (strncmp(u, "tls+tcp://", 10) == 0)
		host = u + 10;
	else if (strncmp(u, "tcp://", 6) == 0)
		host = u + 6;
	else
		return "expected tls+tcp://HOST:PORT, tcp://HOST:PORT, ipc://PATH or inproc://NAME";
	if (*host == '[') { /* IPv6 literal: tcp://[::1]:7400 */
		const char *end = strchr(host, ']');

		if (end == NULL || end == host + 1 || end[1] != ':')
			return "expected tcp://[ADDRESS]:PORT";
		colon = end + 1;
	} else {
		colon = strchr(host, ':');
		if (colon == host)
			return "missing HOST in tcp://HOST:PORT";
		if (colon == NULL || strchr(colon + 1, ':') != NULL ||
		    memchr(host, '/', (size_t)(colon - host)) != NULL)
			return "expected tcp://HOST:PORT";
	}
	if (colon[1] == '\0')
		return "missing PORT in tcp://HOST:PORT";
	for (const char *p = colon + 1; *p; p++)
		if (*p < '0' || *p > '9' || (port = port * 10 + (*p - '0')) > 65535)
			return badport;
	return port == 0 ? badport : NULL;
}

void cfg_check_url(cfg_ctx *x, const cfg_yn *n, char **dst)
{
	const char *why;

	if (!cfg_want(x, n, CFG_SCALAR, "'listen'"))
		return;
	if ((why = cfg_url_problem(n->text)) != NULL)
		cfg_err(x, CFG_AT(n), "bad URL " CFG_Q " for 'listen' (%s)", CFG_QA(n->text), why);
	else if ((*dst = strdup(n->text)) == NULL)
		cfg_err(x, CFG_AT(n), "out of memory");
	else if (x->nurls < CFG_NAMES_MAX)
		x->urls[x->nurls++] = (cfg_seen){n->text, n};
}

/* The http address: HOST:PORT or [ADDRESS]:PORT (the URL rules of
 * tcp://, which NNG's HTTP server is given as http://). */
void cfg_check_http(cfg_ctx *x, const cfg_yn *n, char **dst)
{
	char url[300];
	const char *why = NULL;

	if (!cfg_want(x, n, CFG_SCALAR, "'http'"))
		return;
	if (strstr(n->text, "://") != NULL)
		why = "expected HOST:PORT, without a scheme";
	else if (strlen(n->text) > 255)
		why = "longer than 255 bytes";
	else {
		snprintf(url, sizeof url, "tcp://%s", n->text);
		why = cfg_url_problem(url);
	}
	if (why != NULL) {
		/* The tcp:// rules speak of tcp://HOST:PORT; this key has no scheme. */
		if (strncmp(why, "expected tcp://", 15) == 0 || strncmp(why, "missing", 7) == 0)
			why = "expected HOST:PORT or [ADDRESS]:PORT";
		cfg_err(x, CFG_AT(n), "bad address " CFG_Q " for 'http' (%s)", CFG_QA(n->text), why);
	} else if ((*dst = strdup(n->text)) == NULL)
		cfg_err(x, CFG_AT(n), "out of memory");
	else if (x->nhttps < CFG_NAMES_MAX)
		x->https[x->nhttps++] = (cfg_seen){n->text, n};
}

void cfg_check_path(cfg_ctx *x, const cfg_yn *n, const char *key, char **dst)
{
	char what[40];

	snprintf(what, sizeof what, "'%s'", key);
	if (!cfg_want(x, n, CFG_SCALAR, what))
		return;
	if (n->text[0] == '\0') {
		cfg_err(x, CFG_AT(n), "empty path for '%s'", key);
		return;
	}
	/* Daemons may chdir; a path relative to the file is fixed now. */
	if (n->text[0] == '/')
		*dst = strdup(n->text);
	else if (asprintf(dst, "%s/%s", x->dir, n->text) < 0)
		*dst = NULL;
	if (*dst == NULL)
		cfg_err(x, CFG_AT(n), "out of memory");
}

void cfg_check_uint(cfg_ctx *x, const cfg_yn *n, const char *key, _Atomic uint32_t *dst)
{
	cfg_check_range(x, n, key, 1, UINT32_MAX, dst);
}

void cfg_check_range(cfg_ctx *x, const cfg_yn *n, const char *key, uint32_t lo, uint32_t hi,
    _Atomic uint32_t *dst)
{
	const char *s = n->text, *p;
	uint64_t v = 0;

	if (n->kind != CFG_SCALAR) {
		if (n->kind != CFG_BAD)
			cfg_err(x, CFG_AT(n), "expected an integer for '%s', got %s", key,
			    cfg_kind_name(n));
		return;
	}
	p = s + (*s == '-'); /* a negative number gets the clearer message */
	if (*p == '\0' || p[strspn(p, "0123456789")] != '\0') {
		cfg_err(x, CFG_AT(n), "expected an integer for '%s', got " CFG_Q, key, CFG_QA(s));
		return;
	}
	for (; *p && v <= UINT32_MAX; p++)
		v = v * 10 + (uint64_t)(*p - '0');
	if ((*s == '-' || v == 0) && lo == 1)
		cfg_err(x, CFG_AT(n), "expected a positive integer for '%s', got " CFG_Q, key,
		    CFG_QA(s));
	else if (*s == '-' || v < lo || v > hi)
		cfg_err(x, CFG_AT(n), "integer " CFG_Q " for '%s' is out of range (%u to %u)",
		    CFG_QA(s), key, (unsigned)lo, (unsigned)hi);
	else
		*dst = (uint32_t)v;
}
