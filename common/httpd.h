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
/* Append a metric's "# HELP" and "# TYPE" lines; NAME gets the prefix
 * "twopc_"; TYPE is "counter" or "gauge". The samples follow. */
void hbuf_metric_head(hbuf *b, const char *name, const char *type, const char *help);
/* A metric without labels: its head and its one sample. */
void hbuf_metric(hbuf *b, const char *name, const char *type, const char *help, uint64_t value);
/* An age in ms as text an operator reads ("850 ms", "12.3 s", "4 min"). */
void hbuf_age(hbuf *b, uint64_t ms);

typedef struct httpd_source {
	void *user;
	const char *title;  /* "coordinator coord", "participant alpha" */
	/* 1 when the node serves and has not failed; else 0 with WHY. */
	int (*healthy)(void *user, char *why, size_t len);
	/* The metrics, in the text format (hbuf_metric...). */
	void (*metrics)(void *user, hbuf *b);
	/* The status page's body (HTML inside <body>, after the title). */
	void (*page)(void *user, hbuf *b);
} httpd_source;

typedef struct httpd httpd;

/* Serve SRC (copied; its user and title must outlive the server) on ADDR,
 * HOST:PORT as the cluster file gives it. 0, TWOPC_ENET (cannot listen:
 * logged with the address) or TWOPC_ENOMEM. */
int httpd_start(const char *addr, const httpd_source *src, httpd **out);

/* Stop serving and free H (NULL: nothing). Waits for the callbacks
 * running; none starts after it returns. */
void httpd_stop(httpd *h);

#endif
