/*
 * config.h - the cluster file (DESIGN section 7, twopc.yaml(5)).
 *
 * Contract: cfg_load() parses one YAML file with libyaml into a cfg_cluster.
 * Every problem found is reported, not only the first, as one line
 * "FILE:LINE:COLUMN: message" (1-based line and column of the offending node),
 * appended to the caller's error buffer, one per line. On any error the
 * function returns a negative count of errors and *out is left untouched;
 * on success it returns 0 and *out owns a heap cluster freed by cfg_free().
 *
 * Relative log and TLS paths are resolved against the directory of the
 * file, so a loaded cluster holds absolute (or as-given absolute) paths only.
 *
 * Invariants of a loaded cluster: names are unique across the coordinator and
 * all participants, non-empty, at most CFG_NAME_MAX bytes of [A-Za-z0-9_.-];
 * listen URLs start with tls+tcp://, tcp://, ipc:// or inproc:// and are
 * unique; an http address (optional) is HOST:PORT or [ADDRESS]:PORT and
 * unique among the http addresses; a tls+tcp:// URL implies a tls section (tls_ca, tls_dir set); a
 * tcp:// URL implies insecure; at least one participant; every timeout > 0.
 */
#ifndef TWOPC_CONFIG_H
#define TWOPC_CONFIG_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define CFG_NAME_MAX 32
#define CFG_MAX_PARTICIPANTS 64
/* timeouts.linger_ms: its default and its most (rpc.h, "the linger"). */
#define CFG_LINGER_MS 2
#define CFG_LINGER_MAX_MS 100

typedef enum cfg_durability {
	CFG_DURABILITY_FULL = 0,   /* fsync every forced write (default) */
	CFG_DURABILITY_NORMAL = 1, /* WAL synchronous=NORMAL: a power cut may lose recent commits */
} cfg_durability;

typedef struct cfg_node {
	char name[CFG_NAME_MAX + 1];
	char *listen; /* NNG URL */
	char *log;    /* SQLite file, absolute after loading */
	int log_line, log_col; /* where 'log' is in the file (0: not from a file) */
	char *http;   /* 'http' HOST:PORT of the metrics and status server, or NULL */
} cfg_node;

/*
 * What a running daemon may change in place (cfgreload.c, on SIGHUP): the
 * timeouts and the log level, read by many threads, are atomics (a plain
 * read of the field is an atomic load); participants are only ever added
 * at the end, into room for CFG_MAX_PARTICIPANTS allocated at load, so
 * no entry moves and the index of an existing one never changes: an entry
 * is written in full before nparticipants counts it. Every other field is
 * fixed once loaded.
 */
typedef struct cfg_cluster {
	char *path;               /* the file it was loaded from */
	cfg_node coordinator;
	_Atomic uint32_t vote_timeout_ms; /* coordinator.vote_timeout_ms, default 2000 */
	_Atomic size_t nparticipants;     /* grows only (cfg_reload_add) */
	cfg_node *participants;           /* room for CFG_MAX_PARTICIPANTS */
	_Atomic uint32_t decision_timeout_ms; /* timeouts.decision_timeout_ms, default 1000 */
	_Atomic uint32_t ack_retry_ms;    /* timeouts.ack_retry_ms, default 500: GLOBAL resend period */
	_Atomic uint32_t retention_s;     /* timeouts.retention_s, default 86400 (R7, R9) */
	_Atomic uint32_t linger_ms;       /* timeouts.linger_ms, default CFG_LINGER_MS: rpc.h */
	_Atomic int log_level;            /* log_level as TLOG_ERROR..TLOG_DEBUG; -1: not given */
	cfg_durability durability;    /* default full */
	int insecure;                 /* insecure: true (plain tcp:// allowed), default 0 */
	char *tls_ca;                 /* tls.ca (PEM CA), absolute; NULL: no tls section */
	char *tls_dir;                /* tls.dir: NAME.crt, NAME.key per node; absolute */
	int tls_ca_line, tls_ca_col;  /* where tls.ca and tls.dir are, for errors */
	int tls_dir_line, tls_dir_col;
} cfg_cluster;

/* The name whose certificate the twopc command and the client library use. */
#define CFG_TLS_CLIENT "client"

/*
 * Load and validate FILE. errbuf (size errlen, may be NULL/0) receives the
 * error lines, NUL-terminated, truncated if too small.
 * Returns 0 on success, -N when N errors were found. Never exits.
 */
int cfg_load(const char *file, cfg_cluster **out, char *errbuf, size_t errlen);

/* Free a cluster from cfg_load(); NULL is a no-op. */
void cfg_free(cfg_cluster *c);

/* Why URL is not a listen URL we accept (a static string), or NULL. */
const char *cfg_url_problem(const char *url);

/*
 * Build a cluster without a file (the library's open from a struct):
 * NAMES[0] / URLS[0] are the coordinator, then N participants; LOGS[i] the
 * participants' log paths (NULL allowed except for SELF, which must be one
 * of them). Validates like cfg_load (names, URLs, duplicates); errors go
 * to ERRBUF as "config: message" lines. Returns 0 or -N.
 */
int cfg_build(const char *const *names, const char *const *urls, const char *const *logs,
    size_t n, uint32_t decision_timeout_ms, uint32_t retention_s, int durability_normal,
    cfg_cluster **out, char *errbuf, size_t errlen);

/*
 * TLS identity (cfgtls.c). Load and check the CA and the certificate and
 * key of node NAME (CFG_TLS_CLIENT for clients), TLS_DIR/NAME.crt and
 * TLS_DIR/NAME.key: readable, PEM, the key matches the certificate, the
 * certificate is signed by the CA, valid now, and issued to NAME. Then
 * make them this process's identity on every tls+tcp:// socket
 * (rpc_tls_use), with every node's listen URL bound to its name (a dialer
 * checks the server's certificate is that node's). A cluster without a
 * tls section: 0, nothing done. Errors: "FILE:LINE:COLUMN: tls: ..." lines
 * (the position of tls.ca or tls.dir) in ERRBUF; returns -1. Not thread
 * safe against sockets being opened: call before any.
 */
int cfg_tls_use(const cfg_cluster *c, const char *name, char *errbuf, size_t errlen);

/* The same checks, nothing installed; NAME NULL checks every node of the
 * cluster and CFG_TLS_CLIENT. 0, or -N for N bad identities. */
int cfg_tls_check(const cfg_cluster *c, const char *name, char *errbuf, size_t errlen);

/*
 * Can NODE's log be used (cfgpath.c, for --check-config)? The file exists
 * and opens for reading and writing, or it does not and the nearest
 * existing folder above it is a folder this process may write into (the
 * daemons create the missing folders); either way its folder must be
 * writable too (SQLite puts its -wal and -shm files beside it). Nothing
 * is created or changed. Errors: one "FILE:LINE:COLUMN: log 'PATH': why"
 * line in ERRBUF; returns 0 or -1.
 */
int cfg_check_log(const cfg_cluster *c, const cfg_node *node, char *errbuf, size_t errlen);

/* The log level named TEXT (error, warn, info, debug: TLOG_ERROR ..
 * TLOG_DEBUG), or -1. */
int cfg_log_level(const char *text);

/*
 * Reloading (cfgreload.c): what of NEXT, the file loaded again, a daemon
 * running CUR may take. Changes that are safe are the timeouts, the log
 * level and participants added at the end of the list; everything else
 * that differs is refused. Returns how many differences are refused, each
 * one line "FILE: reload: KEY changed (OLD -> NEW): not applied, it takes
 * a restart" into ERRBUF (cut to fit; "" when none), and in *NADD the
 * number of participants NEXT adds at the end (0 when an existing one was
 * removed, renamed or moved: that is refused). Reads only.
 */
int cfg_reload_diff(const cfg_cluster *cur, const cfg_cluster *next, size_t *nadd,
    char *errbuf, size_t errlen);

/* Copy NEXT's timeouts and log level into CUR (atomic stores) and write
 * what changed, "vote_timeout_ms 2000 -> 300, ...", into BUF ("" when
 * nothing did). Any thread; readers see each value old or new. */
void cfg_reload_values(cfg_cluster *cur, const cfg_cluster *next, char *buf, size_t len);

/* Append NODE (copied) to CUR's participants: written whole, then
 * counted, so readers never see half of it. The caller serializes calls
 * and sets up whatever it keeps per participant index before. 0, or -1
 * (full, or out of memory: nothing changed). */
int cfg_reload_add(cfg_cluster *cur, const cfg_node *node);

/*
 * The whole of a reload but what each daemon keeps per participant:
 * CUR's file read again (an error there logged and nothing changed),
 * the diff checked (each refusal logged at warn; the rest still applies),
 * the TLS identity of SELF loaded again when participants are added,
 * ADD(ARG, NEXT, NADD, DONE, LEN) called to set up and publish (with
 * cfg_reload_add) the NADD new ones, appending what it added to DONE,
 * then the timeouts and log level applied and one info line "FILE:
 * reloaded: WHAT" logged. Returns 0, TWOPC_ECONFIG (the file does not
 * load, a change was refused, or the identity does not load),
 * TWOPC_ENOMEM, or what ADD returned.
 */
/* In an ADD of cfg_reload: publish NODE (cfg_reload_add) and append
 * "participant NAME added (URL)" to DONE; 0, or -1 logged (nothing
 * published). */
int cfg_reload_publish(cfg_cluster *cur, const cfg_cluster *next, const cfg_node *node,
    char *done, size_t len);
typedef int (*cfg_reload_add_fn)(void *arg, const cfg_cluster *next, size_t nadd, char *done,
    size_t len);
int cfg_reload(cfg_cluster *cur, const char *self, cfg_reload_add_fn add, void *arg);
/* Roles (cfgrole.c): who may send which message type to whom. */
typedef enum cfg_role {
	CFG_ROLE_CLIENT = 0,       /* any name that is not a node's */
	CFG_ROLE_COORDINATOR = 1,
	CFG_ROLE_PARTICIPANT = 2,
} cfg_role;

/* The role of sender NAME in C. */
cfg_role cfg_role_of(const cfg_cluster *c, const char *name);

struct wire_msg;
/*
 * May REQ's sender send REQ's type to this node, of role SELF? 0: yes.
 * 1: no: REP is an ERROR (TWOPC_EPROTO) naming the sender, its role and
 * what it may not do (text in the caller's BUF of LEN bytes), and the
 * refusal is counted and logged (serve_note_refused). Only the role is
 * checked here; a participant also checks that a DECISION_REQUEST comes
 * from a peer of the txid (prole.c).
 */
int cfg_role_refuse(const cfg_cluster *c, cfg_role self, const struct wire_msg *req,
    struct wire_msg *rep, char *buf, size_t len);

/* The participant named NAME, or NULL. */
const cfg_node *cfg_participant(const cfg_cluster *c, const char *name);

/* Index of participant NAME in c->participants, or -1. */
int cfg_participant_index(const cfg_cluster *c, const char *name);

/* How often both daemons delete expired records: every half retention,
 * at least every second and at most every minute. The rows a log holds
 * are about rate x (retention + this), so it must not dwarf a short
 * retention. */
int64_t cfg_expire_every_ms(const cfg_cluster *c);

#endif
