/*
 * harness.h - real clusters for tests: a temporary directory with a
 * cluster file, daemons started as child processes (their stderr in
 * DIR/NAME.log), killed and restarted at will, and their SQLite logs read
 * directly.
 *
 * Every wait is a bounded poll of a real condition (a reply, a log row, a
 * line in a daemon's stderr), never a sleep that hopes.
 * Node index 0 is the coordinator, 1..n the participants.
 */
#ifndef TWOPC_HARNESS_H
#define TWOPC_HARNESS_H

#include <stddef.h>
#include <sys/types.h>

#define HC_MAX_NODES 9

typedef struct hcluster {
	char dir[256];
	char file[300];
	int nparts;
	int nnodes;
	char names[HC_MAX_NODES][16];
	char urls[HC_MAX_NODES][64];
	char logs[HC_MAX_NODES][320];
	pid_t pids[HC_MAX_NODES];
	char bin[256];   /* the build directory */
	char pcmd[512];  /* participant command ("" = BIN/twopc-participant);
	                  * run by sh with " -c FILE -n NAME" appended */
	char extra_env[256]; /* "VAR=value" given to every node started */
	char coord_args[128]; /* extra words for the coordinator's command line */
	char http[HC_MAX_NODES][32]; /* "127.0.0.1:PORT" after hc_use_http, else "" */
} hcluster;

/* Create the directory and cluster file: NPARTS participants (alpha, beta,
 * gamma, ...), the given timeouts, durability full. 0 or -1. */
int hc_create(hcluster *c, int nparts, int vote_timeout_ms, int decision_timeout_ms);

/* Turn the cluster of hc_create to mutual TLS: every URL tls+tcp://, a
 * tls section instead of insecure: true, with the certificates in
 * CERTDIR (NULL: tests/mkcerts.sh makes them in DIR/tls); this process
 * then dials as 'client' (cfg_tls_use). Before any node starts. 0 or -1. */
int hc_use_tls(hcluster *c, const char *certdir);
/* Make this process node NAME of C's TLS cluster (its certificate and
 * message keys, cfg_tls_use; CFG_TLS_CLIENT: a client). 0 or -1. */
int hc_become(hcluster *c, const char *name);

/* Give every node an http: address (127.0.0.1 and a port the kernel
 * found free) in the cluster file and in c->http. Before the nodes
 * start. 0 or -1. */
int hc_use_http(hcluster *c);

/* GET PATH from node I's http address, HTTP/1.1 with "Connection:
 * close": the status code in *STATUS, the body (NUL-terminated, cut to
 * LEN) in BODY. Waits at most 5 s. 0, or -1 (no address, cannot
 * connect, no status line). */
int hc_http_get(hcluster *c, int i, const char *path, int *status, char *body, size_t len);

/* Rewrite the cluster file's durability ("full" or "normal"). 0 or -1. */
int hc_set_durability(hcluster *c, const char *durability);

/* Start node I with the extra environment ENV ("VAR=value ...", or NULL) and
 * wait until it answers (IAMALIVE), at most HC_START_MS (a node that exits
 * ends the wait at once). 0 or -1. */
#define HC_START_MS 15000
int hc_start(hcluster *c, int i, const char *env);
/* After a start that failed: on stderr, whether node I exited (how) or
 * runs silent (then its stacks, hc_stacks), and the last 8 lines of its
 * log, which goes with the directory. */
void hc_why_silent(hcluster *c, int i);
/* Start without waiting for it to answer. */
int hc_spawn(hcluster *c, int i, const char *env);
int hc_start_all(hcluster *c);
/* Start ANOTHER coordinator process with node 0's cluster file and name
 * (and ENV, as hc_start), its stdout and stderr appended to
 * DIR/coord-2.log, without waiting; node 0 stays what it was. Returns its
 * pid (the caller reaps it, or hands it over with hc_adopt), or -1. */
pid_t hc_spawn_extra(hcluster *c, const char *env);
/* Make PID (a child the caller started) node I, whose previous process
 * must be reaped already: it is then signalled, waited for and stopped
 * like any node. 0, or -1 if node I still has a process. */
int hc_adopt(hcluster *c, int i, pid_t pid);

/* Send SIG to node I. */
int hc_signal(hcluster *c, int i, int sig);
/* Wait for node I to exit; its wait status in *status. 0 or -1 on timeout. */
int hc_wait_exit(hcluster *c, int i, int timeout_ms, int *status);
/* SIGTERM node I and reap it within TIMEOUT_MS: 0; -1 if it did not
 * exit, after printing where its threads are (hc_stacks). A node already
 * reaped counts as stopped. */
int hc_stop(hcluster *c, int i, int timeout_ms);
/* Print where node I's threads are (gdb), on one line of stderr. */
void hc_stacks(hcluster *c, int i);
/* The same for any process PID, the whole dump written to FILE
 * (tests/stacks.sh, found from TWOPC_SRCDIR, else the current
 * directory); NAME says whose stacks could not be taken. */
void hc_stacks_pid(int pid, const char *file, const char *name);
/* SIGKILL node I and reap it. */
int hc_kill(hcluster *c, int i);
/* SIGTERM every running node, reap, and remove the directory. Before
 * removing it, scans every node's stderr for a sanitizer report (ASan,
 * UBSan, LeakSanitizer): each is printed and counted in
 * hc_sanitizer_reports, which the test runners turn into a failure. */
void hc_destroy(hcluster *c);
/* FN(ARG) on a thread of its own, waited for at most TIMEOUT_MS: 0 when
 * it returned, -1 (with a line on stderr naming WHAT) when the harness
 * goes on without it. For the harness's own closes of NNG sockets and
 * clients: NNG 1.5.2's nng_close can hang (nanomsg/nng#1543), and the
 * harness must not hang with it. FN must own ARG (free it itself). */
int hc_bounded(void (*fn)(void *), void *arg, int timeout_ms, const char *what);
#define HC_CLOSE_MS 20000
/* twopc_client_close(CL) (NULL: nothing), bounded by hc_bounded. */
struct twopc_client;
void hc_client_close(struct twopc_client *cl);

/* Kill the daemons of every cluster created and not destroyed (a test
 * that stopped at a fatal assertion); run after each test. */
void hc_reap(void);
extern int hc_sanitizer_reports;
/* Scan node logs now; returns the number of reports found (and counts them). */
int hc_scan_sanitizers(hcluster *c);
int hc_alive(hcluster *c, int i);

/* Wait until NEEDLE appears in node I's stderr log. 0 or -1. The log
 * holds every incarnation of the node: a line an earlier one printed is
 * found at once (see hc_log_count). */
int hc_wait_log_line(hcluster *c, int i, const char *needle, int timeout_ms);

/* How many lines of node I's stderr log hold NEEDLE (0 without a log). */
int hc_log_count(hcluster *c, int i, const char *needle);

/* Wait until N lines of node I's log hold NEEDLE: with N one more than
 * hc_log_count() before a restart, a line of the new incarnation. */
int hc_wait_log_count(hcluster *c, int i, const char *needle, int n, int timeout_ms);

/* The state column of TXID in node I's txn table ("" if no row, "?" on
 * error), read with a separate read-only connection. */
void hc_state(hcluster *c, int i, const char *txid, char *buf, size_t len);
/* Wait until node I's log says STATE for TXID. 0 or -1. */
int hc_wait_state(hcluster *c, int i, const char *txid, const char *state, int timeout_ms);
/* The single integer of a SQL query on node I's log (-1 on error). */
long long hc_query_int(hcluster *c, int i, const char *sql);
/* Wait until SQL on node I's log gives WANT. 0 or -1. */
int hc_wait_query(hcluster *c, int i, const char *sql, long long want, int timeout_ms);
/* The same on the SQLite file at PATH (any log, read-only). */
long long hc_file_int(const char *path, const char *sql);
/* The committed kv value of KEY at participant I ("" if absent), read as
 * twopc get reads: once no READY transaction holds KEY, or after
 * HC_KV_WAIT_MS. */
#define HC_KV_WAIT_MS 10000
void hc_kv(hcluster *c, int i, const char *key, char *buf, size_t len);

/* Run the driver: build/twopc -c FILE ARGS..., stdout+stderr into OUT.
 * Returns its exit status, or -1. */
int hc_twopc(hcluster *c, char *out, size_t len, const char *const *args);
/* Start the driver in the background; hc_twopc_wait collects it. */
pid_t hc_twopc_bg(hcluster *c, const char *outfile, const char *const *args);
int hc_twopc_wait(pid_t pid, int timeout_ms);

#endif
