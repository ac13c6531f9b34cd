/*
 * httpd.h - a daemon's optional HTTP server (its node's 'http:' address in
 * the cluster file): GET /metrics (the Prometheus text exposition format),
 * GET /healthz and GET / (a status page in HTML, no external assets), on
 * NNG's HTTP server.
 *
 * The server knows nothing of the daemon: the daemon hands it a source,
 * three callbacks that write into a bounded buffer (hbuf). They run on
 * NNG's threads, one request at a time per connection, and must be short
 * and read-only: take the log's lock only to read a bounded number of rows.
 * httpd_stop returns only once no callback runs and none will start, so
 * the source's memory may then be freed.
 *
 * What both daemons show alike is here: the health sentence (httpd_health),
 * the metric twopc_up and the state line of the page (from the source's
 * healthy callback), histograms (hbuf_histo) and the bounded tables of the
 * page (httpd_rows).
 */
#ifndef TWOPC_HTTPD_H
#define TWOPC_HTTPD_H

#include <stddef.h>
#include <stdint.h>

/* A response body: grows up to HBUF_MAX bytes, then drops what would
 * not fit and sets CUT (the page then says it was cut). */
#define HBUF_MAX (1024 * 1024)

typedef struct hbuf {
	char *s;
	size_t len, cap;
	int cut;   /* something was dropped (too long, or out of memory) */
} hbuf;

/* Append printf-style text. */
__attribute__((format(printf, 2, 3)))
void hbuf_printf(hbuf *b, const char *fmt, ...);
/* Append TEXT escaped for HTML (&, <, >, ", '); control bytes as '?'. */
void hbuf_html(hbuf *b, const char *text);
/* Append TEXT escaped for HTML inside <code>..</code>. */
void hbuf_code(hbuf *b, const char *text);
/* Append a metric's "# HELP" and "# TYPE" lines; NAME gets the prefix
 * "twopc_"; TYPE is "counter", "gauge" or "histogram". The samples
 * follow. */
void hbuf_metric_head(hbuf *b, const char *name, const char *type, const char *help);
/* A metric without labels: its head and its one sample. */
void hbuf_metric(hbuf *b, const char *name, const char *type, const char *help, uint64_t value);
/* An age in ms as text an operator reads ("850 ms", "12.3 s", "4 min"). */
void hbuf_age(hbuf *b, uint64_t ms);

struct histo;
/* The samples of histogram NAME (after its hbuf_metric_head) read from
 * H: NAME_bucket{LABELS,le="..."} (cumulative), NAME_sum (seconds) and
 * NAME_count. LABELS: 'k="v"' pairs, or NULL. */
void hbuf_histo(hbuf *b, const char *name, const char *labels, const struct histo *h);

/* A table of the status page that shows at most HTTPD_ROWS rows and
 * counts them all. Rows are counted without B (NULL) for a metric. */
#define HTTPD_ROWS 200
typedef struct httpd_rows {
	hbuf *b;            /* NULL: count only */
	size_t n, shown;
} httpd_rows;

/* Count one row; 1 when it is to be written into R->b. */
int httpd_row(httpd_rows *r);
/* Close R's table: "</table>" and "<p>N WHAT.</p>", saying so when only
 * the first HTTPD_ROWS are shown. */
void httpd_rows_end(const httpd_rows *r, const char *what);

/* The health sentence of either daemon, first match: FAILED (a forced
 * write did not complete), REFUSAL (the daemon's own reason, or NULL),
 * STOPPING, not READY (recovering). 1 when none holds, else 0 with WHY. */
int httpd_health(char *why, size_t len, int failed, const char *refusal, int stopping, int ready);

typedef struct httpd_source {
	void *user;
	const char *title;  /* "coordinator coord", "participant alpha" (copied) */
	/* 1 when the node serves and has not failed; else 0 with WHY. Also
	 * twopc_up and the page's state line. */
	int (*healthy)(void *user, char *why, size_t len);
	/* The metrics, in the text format (hbuf_metric...); twopc_up follows. */
	void (*metrics)(void *user, hbuf *b);
	/* The status page's body (HTML inside <body>, after the title and
	 * the state line). */
	void (*page)(void *user, hbuf *b);
} httpd_source;

typedef struct httpd httpd;

/* Serve SRC (copied; its user must outlive the server) on ADDR,
 * HOST:PORT as the cluster file gives it. 0, TWOPC_ENET (cannot listen:
 * logged with the address) or TWOPC_ENOMEM. */
int httpd_start(const char *addr, const httpd_source *src, httpd **out);

/* Stop serving and free H (NULL: nothing). Waits for the callbacks
 * running; none starts after it returns. */
void httpd_stop(httpd *h);

#endif
