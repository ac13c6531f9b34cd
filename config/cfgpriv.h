/*
 * cfgpriv.h - what config.c (the schema check and cfg_load), cfgvalue.c
 * (single values), cfgtree.c (the YAML tree) and cfgtls.c share; not for
 * other modules, which use config.h.
 */
#ifndef TWOPC_CFGPRIV_H
#define TWOPC_CFGPRIV_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "config.h"

#define CFG_FILE_MAX (1024 * 1024) /* a cluster file is a few hundred bytes */
#define CFG_DEPTH_MAX 32           /* the schema needs 4 levels */
#define CFG_NAMES_MAX (CFG_MAX_PARTICIPANTS + 1)

/* Echo a value in a message: at most 64 bytes, "..." when cut. */
#define CFG_Q "'%.64s%s'"
#define CFG_QA(s) (s), (strlen(s) > 64 ? "..." : "")
#define CFG_AT(n) (n)->line, (n)->col

typedef enum cfg_kind { CFG_SCALAR, CFG_SEQ, CFG_MAP, CFG_BAD } cfg_kind;

/* One YAML node; a mapping's kids alternate key, value. CFG_BAD marks a
 * node already reported (an alias), which later checks skip silently. */
typedef struct cfg_yn {
	cfg_kind kind;
	int line, col;
	char *text; /* scalars only, NUL-terminated */
	struct cfg_yn **kids;
	size_t nkids, cap;
} cfg_yn;

typedef struct cfg_msg {
	int line, col; /* 0:0 when the error has no position */
	size_t seq;    /* discovery order, to keep the sort stable */
	char *text;
} cfg_msg;

/* A name or URL and the node that defined it, for duplicate checks. */
typedef struct cfg_seen {
	const char *text;
	const cfg_yn *at;
} cfg_seen;

typedef struct cfg_ctx {
	const char *file;
	char *dir; /* absolute directory of FILE */
	cfg_msg *msgs;
	size_t nmsgs, cap;
	int nerr; /* exceeds nmsgs if recording a message ran out of memory */
	cfg_cluster *c;
	cfg_seen names[CFG_NAMES_MAX], urls[CFG_NAMES_MAX], https[CFG_NAMES_MAX];
	size_t nnames, nurls, nhttps;
} cfg_ctx;

/* Record one error at LINE:COL (LINE 0: the error has no position). */
__attribute__((format(printf, 4, 5)))
void cfg_err(cfg_ctx *x, int line, int col, const char *fmt, ...);

/* Parse the LEN bytes at BUF into a tree (*ROOTP, NULL for an empty
 * file); errors go to X. 0, or -1 after a YAML error (reported). */
int cfg_parse(cfg_ctx *x, const unsigned char *buf, size_t len, cfg_yn **rootp);

/* Free a tree from cfg_parse (NULL is fine). */
void cfg_yn_free(cfg_yn *n);

/* ---- single values (cfgvalue.c) ---- */
/* "a sequence", "a mapping", "a scalar" or "an empty value", for messages. */
const char *cfg_kind_name(const cfg_yn *n);
/* Is N of kind WANT? Reports a type error naming WHAT if not. */
bool cfg_want(cfg_ctx *x, const cfg_yn *n, cfg_kind want, const char *what);
/* Match mapping MAP's keys against KEYS into VALS; report unknown, repeated
 * and missing (the first REQUIRED keys) ones (config.c). */
void cfg_fields(cfg_ctx *x, const cfg_yn *map, const char *where,
    const char *const *keys, const char *expected, const cfg_yn **vals);
void cfg_missing(cfg_ctx *x, const cfg_yn *map, const char *where,
    const char *const *keys, const cfg_yn **vals, size_t required);
/* The path N for KEY, made absolute against the file's directory, in *DST. */
void cfg_check_path(cfg_ctx *x, const cfg_yn *n, const char *key, char **dst);
/* A node name (copied into DST, CFG_NAME_MAX + 1 bytes) and recorded in
 * x->names; false if reported. */
bool cfg_check_name(cfg_ctx *x, const cfg_yn *n, char *dst);
/* A listen URL (cfg_url_problem), strdup'ed into *DST and recorded. */
void cfg_check_url(cfg_ctx *x, const cfg_yn *n, char **dst);
/* An http HOST:PORT, strdup'ed into *DST and recorded. */
void cfg_check_http(cfg_ctx *x, const cfg_yn *n, char **dst);
/* A positive decimal integer up to UINT32_MAX for KEY, stored in *DST. */
void cfg_check_uint(cfg_ctx *x, const cfg_yn *n, const char *key, _Atomic uint32_t *dst);
/* An integer from LO to HI for KEY into *DST, or an error at N. */
void cfg_check_range(cfg_ctx *x, const cfg_yn *n, const char *key, uint32_t lo, uint32_t hi,
    _Atomic uint32_t *dst);

/* The top-level insecure and tls values, and the transport rules over the
 * listen URLs once every node is read (cfgtls.c). */
void cfg_check_insecure(cfg_ctx *x, const cfg_yn *n);
void cfg_check_tls(cfg_ctx *x, const cfg_yn *map);
void cfg_check_transport(cfg_ctx *x, bool has_tls);

#endif
