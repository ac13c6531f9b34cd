/*
 * cfgtree.c - the cluster file read into a tree of YAML nodes, each with
 * its 1-based line and column (libyaml's event API), for config.c to check
 * against the schema, and the error list both fill (cfg_err). See
 * config.c for the decisions on YAML features.
 */
#include "config.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "cfgpriv.h"

/* Record one error; LINE 0 means it has no position. */
void cfg_err(cfg_ctx *x, int line, int col, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int r;

	x->nerr++;
	if (x->nmsgs == x->cap) {
		size_t cap = x->cap ? 2 * x->cap : 16;
		cfg_msg *m = realloc(x->msgs, cap * sizeof *m);

		if (m == NULL)
			return;
		x->msgs = m;
		x->cap = cap;
	}
	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0)
		return;
	for (char *p = s; *p; p++) /* keys and values may hold newlines */
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	x->msgs[x->nmsgs] = (cfg_msg){line, col, x->nmsgs, s};
	x->nmsgs++;
}

void cfg_yn_free(cfg_yn *n)
{
	if (n == NULL)
		return;
	for (size_t i = 0; i < n->nkids; i++)
		cfg_yn_free(n->kids[i]);
	free(n->kids);
	free(n->text);
	free(n);
}

static int cfg_yn_add(cfg_yn *parent, cfg_yn *kid)
{
	if (parent->nkids == parent->cap) {
		size_t cap = parent->cap ? 2 * parent->cap : 8;
		cfg_yn **k = realloc(parent->kids, cap * sizeof *k);

		if (k == NULL)
			return -1;
		parent->kids = k;
		parent->cap = cap;
	}
	parent->kids[parent->nkids++] = kid;
	return 0;
}

/* The node for a scalar, alias, sequence-start or mapping-start event. */
static cfg_yn *cfg_yn_new(cfg_ctx *x, const yaml_event_t *e)
{
	cfg_yn *n = calloc(1, sizeof *n);

	if (n == NULL)
		goto nomem;
	n->line = (int)e->start_mark.line + 1;
	n->col = (int)e->start_mark.column + 1;
	n->kind = e->type == YAML_SEQUENCE_START_EVENT ? CFG_SEQ :
	    e->type == YAML_MAPPING_START_EVENT ? CFG_MAP :
	    e->type == YAML_SCALAR_EVENT ? CFG_SCALAR : CFG_BAD;
	if (e->type == YAML_ALIAS_EVENT)
		cfg_err(x, CFG_AT(n), "alias '*%s' is not supported", e->data.alias.anchor);
	if (e->type != YAML_SCALAR_EVENT)
		return n;
	n->text = strndup((const char *)e->data.scalar.value, e->data.scalar.length);
	if (n->text == NULL)
		goto nomem;
	/* A "\0" escape would silently cut every later check short. */
	if (strlen(n->text) != e->data.scalar.length) {
		cfg_err(x, CFG_AT(n), "value contains a NUL byte");
		n->kind = CFG_BAD;
	}
	return n;
nomem:
	cfg_yn_free(n);
	cfg_err(x, 0, 0, "out of memory");
	return NULL;
}

static void cfg_yaml_error(cfg_ctx *x, const yaml_parser_t *p, const unsigned char *buf,
    size_t len)
{
	int line = (int)p->problem_mark.line + 1, col = (int)p->problem_mark.column + 1;
	const char *problem = p->problem ? p->problem : "unknown error";

	if (p->error == YAML_MEMORY_ERROR) {
		cfg_err(x, 0, 0, "out of memory");
	} else if (p->error == YAML_READER_ERROR) {
		/* Reader errors (bad UTF-8, ...) come as a byte offset only. */
		line = col = 1;
		for (size_t i = 0; i < p->problem_offset && i < len; i++)
			if (buf[i] == '\n')
				line++, col = 1;
			else if ((buf[i] & 0xc0) != 0x80) /* count characters */
				col++;
		cfg_err(x, line, col, "invalid input: %s", problem);
	} else if (p->context != NULL) {
		cfg_err(x, line, col, "syntax error: %s (%s at %d:%d)", problem, p->context,
		    (int)p->context_mark.line + 1, (int)p->context_mark.column + 1);
	} else {
		cfg_err(x, line, col, "syntax error: %s", problem);
	}
}

/* Parse BUF into *rootp (NULL for an empty stream). Returns 0, or -1 when
 * the tree is unusable (syntax error, too deep, out of memory). */
int cfg_parse(cfg_ctx *x, const unsigned char *buf, size_t len, cfg_yn **rootp)
{
	yaml_parser_t p;
	yaml_event_t e;
	cfg_yn *root = NULL, *stack[CFG_DEPTH_MAX], *n;
	size_t depth = 0;
	int ndocs = 0, rc = 0;
	bool done = false;

	if (!yaml_parser_initialize(&p)) {
		cfg_err(x, 0, 0, "out of memory");
		return -1;
	}
	yaml_parser_set_input_string(&p, buf, len);
	while (!done && rc == 0) {
		if (!yaml_parser_parse(&p, &e)) {
			cfg_yaml_error(x, &p, buf, len);
			rc = -1;
			break;
		}
		switch (e.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++ndocs > 1) {
				cfg_err(x, (int)e.start_mark.line + 1, (int)e.start_mark.column + 1,
				    "more than one YAML document (expected one)");
				done = true;
			}
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--; /* libyaml balances start and end events */
			break;
		case YAML_SCALAR_EVENT:
		case YAML_ALIAS_EVENT:
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if ((n = cfg_yn_new(x, &e)) == NULL) {
				rc = -1;
			} else if (depth == 0) {
				root = n;
			} else if (cfg_yn_add(stack[depth - 1], n) < 0) {
				cfg_yn_free(n);
				cfg_err(x, 0, 0, "out of memory");
				rc = -1;
			}
			if (rc < 0 || (n->kind != CFG_SEQ && n->kind != CFG_MAP))
				break;
			if (depth == CFG_DEPTH_MAX) {
				cfg_err(x, CFG_AT(n), "nesting too deep (more than %d levels)",
				    CFG_DEPTH_MAX);
				rc = -1;
			} else {
				stack[depth++] = n;
			}
			break;
		default: /* stream start, document end */
			break;
		}
		yaml_event_delete(&e);
	}
	yaml_parser_delete(&p);
	if (rc == 0)
		*rootp = root;
	else
		cfg_yn_free(root);
	return rc;
}
