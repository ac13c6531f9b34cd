/*
 * config.c - load and validate the cluster file (DESIGN section 7).
 *
 * Contract (see config.h): cfg_load() reads FILE, parses it with libyaml's
 * event API into a small tree that keeps the 1-based line and column of
 * every node, then checks the tree against the schema below. Every problem
 * is collected, sorted by position and written to errbuf as
 * "FILE:LINE:COLUMN: message", one per line; the errors that have no
 * position (the file cannot be opened or read) are written "FILE: message".
 * Returns 0 and sets *out on success; -N for N errors, *out untouched.
 * OUT may be NULL to validate only. Never exits and never asserts on input;
 * running out of memory is reported as an error.
 *
 *   coordinator:   {name, listen, log, vote_timeout_ms?, http?}  required
 *   participants:  [{name, listen, log, http?}, ...] 1 to 64      required
 *   timeouts:      {decision_timeout_ms?, ack_retry_ms?, retention_s?, linger_ms?}
 *   durability:    full | normal
 *   log_level:     error | warn | info | debug (default: info, or -v / -q)
 *   insecure:      true | false (default false)
 *   tls:           {ca, dir}     both required in the section (cfgtls.c)
 *
 * Decisions where DESIGN is silent:
 * - Scalars are typed by their text, not by YAML tags or quotes: "2000" is
 *   an integer and `name: 123` a name. An empty value (`key:`) is the empty
 *   string, so it fails whatever check applies to that key.
 * - Aliases are rejected as unsupported; anchors alone are ignored. Only one
 *   YAML document is read; a second one is an error.
 * - Integers are plain decimal digits (no sign, 0x or exponent), 1 to
 *   4294967295; leading zeros are read as decimal.
 * - After a YAML syntax error the structure is unknown, so the schema is not
 *   checked: only the syntax error (and alias errors before it) count.
 * - Relative log and tls paths are joined to realpath(dirname(FILE));
 *   absolute ones are kept as written. cfg_load does not open them (the
 *   twopc command reads the file too, and holds only the client's key):
 *   cfg_tls_use and cfg_tls_check do.
 * - Transport: a tls+tcp:// URL needs the tls section; a tcp:// URL needs
 *   insecure: true; each refusal is reported at the URL. ipc:// and
 *   inproc:// need neither (an ipc:// socket is as private as its
 *   directory: twopc.yaml(5)).
 * - Values echoed in messages are cut at 64 bytes and control characters
 *   become '?', so one error is always one line.
 * - errbuf is written from its start (it is "" on success).
 */
#include "config.h"

#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfgpriv.h"

static int cfg_msg_cmp(const void *a, const void *b)
{
	const cfg_msg *m = a, *n = b;

	if (m->line != n->line)
		return m->line < n->line ? -1 : 1;
	if (m->col != n->col)
		return m->col < n->col ? -1 : 1;
	return m->seq < n->seq ? -1 : m->seq > n->seq;
}

/* Write the sorted errors into errbuf, cut (still NUL-terminated) if small. */
static void cfg_emit(cfg_ctx *x, char *buf, size_t len)
{
	size_t used = 0;

	if (buf == NULL || len == 0)
		return;
	buf[0] = '\0';
	if (x->nmsgs > 0)
		qsort(x->msgs, x->nmsgs, sizeof *x->msgs, cfg_msg_cmp);
	for (size_t i = 0; i < x->nmsgs && used < len; i++) {
		const cfg_msg *m = &x->msgs[i];
		int n;

		if (m->line > 0)
			n = snprintf(buf + used, len - used, "%s:%d:%d: %s\n", x->file,
			    m->line, m->col, m->text);
		else
			n = snprintf(buf + used, len - used, "%s: %s\n", x->file, m->text);
		if (n < 0)
			return;
		used += (size_t)n;
	}
	if ((size_t)x->nerr > x->nmsgs && used < len)
		snprintf(buf + used, len - used, "%s: out of memory (%zu errors not shown)\n",
		    x->file, (size_t)x->nerr - x->nmsgs);
}

/* ---- checking the tree against the schema (values: cfgvalue.c) ---- */

/* The coordinator (INDEX < 0) or participant number INDEX (0-based). */
static void cfg_check_node(cfg_ctx *x, const cfg_yn *map, int index, cfg_node *dst)
{
	static const char *const keys[] = {"name", "listen", "log", "http", "vote_timeout_ms",
	    NULL};
	static const char *const pkeys[] = {"name", "listen", "log", "http", NULL};
	const cfg_yn *vals[5] = {NULL};
	char where[64 + CFG_NAME_MAX];
	bool named = false;

	snprintf(where, sizeof where, "participant %d", index + 1);
	if (!cfg_want(x, map, CFG_MAP, index < 0 ? "'coordinator'" : where))
		return;
	if (index < 0)
		cfg_fields(x, map, "in coordinator", keys,
		    "name, listen, log, http, vote_timeout_ms", vals);
	else
		cfg_fields(x, map, "in participant", pkeys, "name, listen, log, http", vals);
	if (vals[0] != NULL)
		named = cfg_check_name(x, vals[0], dst->name);
	if (vals[1] != NULL)
		cfg_check_url(x, vals[1], &dst->listen);
	if (vals[2] != NULL) {
		cfg_check_path(x, vals[2], "log", &dst->log);
		dst->log_line = vals[2]->line;
		dst->log_col = vals[2]->col;
	}
	if (vals[3] != NULL)
		cfg_check_http(x, vals[3], &dst->http);
	if (vals[4] != NULL)
		cfg_check_uint(x, vals[4], "vote_timeout_ms", &x->c->vote_timeout_ms);
	if (index < 0)
		snprintf(where, sizeof where, "in coordinator");
	else if (named)
		snprintf(where, sizeof where, "in participant '%s'", dst->name);
	else
		snprintf(where, sizeof where, "in participant %d", index + 1);
	cfg_missing(x, map, where, keys, vals, 3);
}

static void cfg_check_participants(cfg_ctx *x, const cfg_yn *seq)
{
	cfg_cluster *c = x->c;
	size_t n;

	if (!cfg_want(x, seq, CFG_SEQ, "'participants'"))
		return;
	if ((n = seq->nkids) == 0) {
		cfg_err(x, CFG_AT(seq), "no participants (expected at least one)");
		return;
	}
	if (n > CFG_MAX_PARTICIPANTS) {
		cfg_err(x, CFG_AT(seq->kids[CFG_MAX_PARTICIPANTS]),
		    "too many participants (%zu, at most %d)", n, CFG_MAX_PARTICIPANTS);
		n = CFG_MAX_PARTICIPANTS;
	}
	/* Room for the most: a reload appends without moving an entry. */
	if ((c->participants = calloc(CFG_MAX_PARTICIPANTS, sizeof *c->participants)) == NULL) {
		cfg_err(x, CFG_AT(seq), "out of memory");
		return;
	}
	c->nparticipants = n;
	for (size_t i = 0; i < n; i++)
		cfg_check_node(x, seq->kids[i], (int)i, &c->participants[i]);
}

static void cfg_check_timeouts(cfg_ctx *x, const cfg_yn *map)
{
	static const char *const keys[] = {"decision_timeout_ms", "ack_retry_ms",
	    "retention_s", "linger_ms", NULL};
	const cfg_yn *vals[4] = {NULL};
	_Atomic uint32_t *dst[] = {&x->c->decision_timeout_ms, &x->c->ack_retry_ms,
	    &x->c->retention_s};

	if (!cfg_want(x, map, CFG_MAP, "'timeouts'"))
		return;
	cfg_fields(x, map, "in timeouts", keys,
	    "decision_timeout_ms, ack_retry_ms, retention_s, linger_ms", vals);
	for (size_t i = 0; i < 3; i++)
		if (vals[i] != NULL)
			cfg_check_uint(x, vals[i], keys[i], dst[i]);
	/* 0 turns the linger off; more than CFG_LINGER_MAX_MS would hold a
	 * participant's locks for longer than a vote should take. */
	if (vals[3] != NULL)
		cfg_check_range(x, vals[3], keys[3], 0, CFG_LINGER_MAX_MS, &x->c->linger_ms);
}

static void cfg_check_durability(cfg_ctx *x, const cfg_yn *n)
{
	if (!cfg_want(x, n, CFG_SCALAR, "'durability'"))
		return;
	if (strcmp(n->text, "full") == 0)
		x->c->durability = CFG_DURABILITY_FULL;
	else if (strcmp(n->text, "normal") == 0)
		x->c->durability = CFG_DURABILITY_NORMAL;
	else
		cfg_err(x, CFG_AT(n), "bad durability value " CFG_Q " (expected full or normal)",
		    CFG_QA(n->text));
}

int cfg_log_level(const char *text)
{
	static const char *const names[] = {"error", "warn", "info", "debug"};

	for (int i = 0; i < 4; i++)
		if (strcmp(text, names[i]) == 0)
			return i;
	return -1;
}

static void cfg_check_log_level(cfg_ctx *x, const cfg_yn *n)
{
	int level;

	if (!cfg_want(x, n, CFG_SCALAR, "'log_level'"))
		return;
	if ((level = cfg_log_level(n->text)) < 0)
		cfg_err(x, CFG_AT(n), "bad log_level value " CFG_Q
		    " (expected error, warn, info or debug)", CFG_QA(n->text));
	else
		x->c->log_level = level;
}

/* Report each repeat in SEEN, which is in file order, citing the first. */
static void cfg_check_unique(cfg_ctx *x, const cfg_seen *seen, size_t n, const char *what)
{
	for (size_t i = 1; i < n; i++)
		for (size_t j = 0; j < i; j++)
			if (strcmp(seen[j].text, seen[i].text) == 0) {
				cfg_err(x, CFG_AT(seen[i].at), "duplicate %s " CFG_Q
				    " (first defined at %d:%d)", what, CFG_QA(seen[i].text),
				    CFG_AT(seen[j].at));
				break;
			}
}

static void cfg_check(cfg_ctx *x, const cfg_yn *root)
{
	static const char *const keys[] = {"coordinator", "participants", "timeouts",
	    "durability", "insecure", "tls", "log_level", NULL};
	const cfg_yn *vals[7] = {NULL};
	bool pfirst;

	if (root == NULL) {
		cfg_err(x, 1, 1, "empty file (expected a mapping with coordinator and "
		    "participants)");
		return;
	}
	if (root->kind != CFG_MAP) {
		if (root->kind != CFG_BAD)
			cfg_err(x, CFG_AT(root), "expected a mapping at top level, got %s",
			    cfg_kind_name(root));
		return;
	}
	cfg_fields(x, root, "at top level", keys,
	    "coordinator, participants, timeouts, durability, insecure, tls, log_level", vals);
	/* Names and URLs are recorded in file order, so the first is cited. */
	pfirst = vals[0] && vals[1] && vals[1]->line < vals[0]->line;
	if (vals[1] != NULL && pfirst)
		cfg_check_participants(x, vals[1]);
	if (vals[0] != NULL)
		cfg_check_node(x, vals[0], -1, &x->c->coordinator);
	if (vals[1] != NULL && !pfirst)
		cfg_check_participants(x, vals[1]);
	if (vals[2] != NULL)
		cfg_check_timeouts(x, vals[2]);
	if (vals[3] != NULL)
		cfg_check_durability(x, vals[3]);
	if (vals[4] != NULL)
		cfg_check_insecure(x, vals[4]);
	if (vals[5] != NULL)
		cfg_check_tls(x, vals[5]);
	if (vals[6] != NULL)
		cfg_check_log_level(x, vals[6]);
	cfg_missing(x, root, "at top level", keys, vals, 2);
	cfg_check_unique(x, x->names, x->nnames, "name");
	cfg_check_unique(x, x->urls, x->nurls, "listen URL");
	cfg_check_unique(x, x->https, x->nhttps, "http address");
	cfg_check_transport(x, vals[5] != NULL);
}

/* Read FILE whole; it is small, and a reader error needs the bytes. */
static int cfg_read(cfg_ctx *x, unsigned char **bufp, size_t *lenp)
{
	FILE *f = fopen(x->file, "rb");
	unsigned char *buf;
	size_t len = 0;

	if (f == NULL) {
		cfg_err(x, 0, 0, "cannot open: %s", strerror(errno));
		return -1;
	}
	/* One byte over the limit tells "too large" from "exactly full". */
	if ((buf = malloc(CFG_FILE_MAX + 1)) == NULL)
		cfg_err(x, 0, 0, "out of memory");
	else if ((len = fread(buf, 1, CFG_FILE_MAX + 1, f)) > CFG_FILE_MAX)
		cfg_err(x, 0, 0, "file too large (more than %d bytes)", CFG_FILE_MAX);
	else if (ferror(f))
		cfg_err(x, 0, 0, "cannot read: %s", strerror(errno));
	fclose(f);
	if (x->nerr > 0) {
		free(buf);
		return -1;
	}
	*bufp = buf;
	*lenp = len;
	return 0;
}

/* realpath(dirname(FILE)): log paths must not depend on the caller's cwd. */
static int cfg_dir(cfg_ctx *x)
{
	char *copy = strdup(x->file);

	if (copy != NULL && (x->dir = realpath(dirname(copy), NULL)) == NULL)
		cfg_err(x, 0, 0, "cannot resolve the file's directory: %s", strerror(errno));
	else if (copy == NULL)
		cfg_err(x, 0, 0, "out of memory");
	free(copy);
	return x->dir ? 0 : -1;
}

int cfg_load(const char *file, cfg_cluster **out, char *errbuf, size_t errlen)
{
	cfg_ctx x = {.file = file ? file : "(null)"};
	unsigned char *buf = NULL;
	size_t len = 0;
	cfg_yn *root = NULL;

	if (file == NULL)
		cfg_err(&x, 0, 0, "cannot open: %s", strerror(EINVAL));
	else if (cfg_read(&x, &buf, &len) == 0 && cfg_dir(&x) == 0) {
		if ((x.c = calloc(1, sizeof *x.c)) == NULL ||
		    (x.c->path = strdup(file)) == NULL)
			cfg_err(&x, 0, 0, "out of memory");
	}
	if (x.nerr == 0) {
		x.c->vote_timeout_ms = 2000;
		x.c->decision_timeout_ms = 1000;
		x.c->ack_retry_ms = 500;
		x.c->linger_ms = CFG_LINGER_MS;
		x.c->retention_s = 86400;
		x.c->durability = CFG_DURABILITY_FULL;
		x.c->log_level = -1;
		if (cfg_parse(&x, buf, len, &root) == 0)
			cfg_check(&x, root);
	}
	cfg_emit(&x, errbuf, errlen);
	if (x.nerr == 0 && out != NULL) {
		*out = x.c; /* success: the caller owns it */
		x.c = NULL;
	}
	cfg_free(x.c);
	cfg_yn_free(root);
	free(buf);
	free(x.dir);
	for (size_t i = 0; i < x.nmsgs; i++)
		free(x.msgs[i].text);
	free(x.msgs);
	return -x.nerr;
}

void cfg_free(cfg_cluster *c)
{
	if (c == NULL)
		return;
	free(c->coordinator.listen);
	free(c->coordinator.log);
	free(c->coordinator.http);
	for (size_t i = 0; i < c->nparticipants; i++) {
		free(c->participants[i].listen);
		free(c->participants[i].log);
		free(c->participants[i].http);
	}
	free(c->participants);
	free(c->tls_ca);
	free(c->tls_dir);
	free(c->path);
	free(c);
}

const cfg_node *cfg_participant(const cfg_cluster *c, const char *name)
{
	int i = cfg_participant_index(c, name);

	return i < 0 ? NULL : &c->participants[i];
}

int cfg_participant_index(const cfg_cluster *c, const char *name)
{
	if (c == NULL || name == NULL)
		return -1;
	for (size_t i = 0; i < c->nparticipants; i++)
		if (strcmp(c->participants[i].name, name) == 0)
			return (int)i;
	return -1;
}

int64_t
cfg_expire_every_ms(const cfg_cluster *c)
{
	if (c->retention_s >= 120)
		return 60000;
	return c->retention_s >= 2 ? (int64_t)c->retention_s * 500 : 1000;
}
