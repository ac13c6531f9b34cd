/*
 * httpd.c - the metrics, health and status server; see httpd.h.
 *
 * Every request is answered from inside NNG's handler callback: the
 * source writes its body into an hbuf, the body is copied into the
 * response and the aio finished. A gate (active, stopping under mtx) lets
 * httpd_stop wait for callbacks in progress before the daemon frees what
 * the source reads: NNG's own stop closes connections but does not say
 * when a callback already running has returned.
 */
#include "httpd.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <nng/nng.h>
#include <nng/supplemental/http/http.h>

#include "histo.h"
#include "tlog.h"
#include "twopc/error.h"

struct httpd {
	httpd_source src;
	char title[96];
	nng_http_server *srv;
	nng_url *url;
	pthread_mutex_t mtx;
	pthread_cond_t cv;
	int active;     /* callbacks running */
	int stopping;
};

/* ---- the bounded body ---- */

static int
hbuf_room(hbuf *b, size_t n)
{
	if (b->cut)
		return 0;
	if (b->len + n + 1 > HBUF_MAX) {
		b->cut = 1;
		return 0;
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *s = realloc(b->s, cap);
		if (s == NULL) {
			b->cut = 1;
			return 0;
		}
		b->s = s;
		b->cap = cap;
	}
	return 1;
}

void
hbuf_printf(hbuf *b, const char *fmt, ...)
{
	va_list ap;
	char small[512];

	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0 || !hbuf_room(b, (size_t)n))
		return;
	if ((size_t)n < sizeof(small)) {
		memcpy(b->s + b->len, small, (size_t)n + 1);
	} else {
		va_start(ap, fmt);
		vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

void
hbuf_html(hbuf *b, const char *text)
{
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		switch (*p) {
		case '&': hbuf_printf(b, "&amp;"); break;
		case '<': hbuf_printf(b, "&lt;"); break;
		case '>': hbuf_printf(b, "&gt;"); break;
		case '"': hbuf_printf(b, "&quot;"); break;
		case '\'': hbuf_printf(b, "&#39;"); break;
		default: hbuf_printf(b, "%c", *p < 0x20 || *p == 0x7f ? '?' : *p); break;
		}
	}
}

void
hbuf_code(hbuf *b, const char *text)
{
	hbuf_printf(b, "<code>");
	hbuf_html(b, text);
	hbuf_printf(b, "</code>");
}

void
hbuf_metric_head(hbuf *b, const char *name, const char *type, const char *help)
{
	hbuf_printf(b, "# HELP twopc_%s %s\n# TYPE twopc_%s %s\n", name, help, name, type);
}

void
hbuf_metric(hbuf *b, const char *name, const char *type, const char *help, uint64_t value)
{
	hbuf_metric_head(b, name, type, help);
	hbuf_printf(b, "twopc_%s %llu\n", name, (unsigned long long)value);
}

void
hbuf_age(hbuf *b, uint64_t ms)
{
	if (ms < 10000)
		hbuf_printf(b, "%llu ms", (unsigned long long)ms);
	else if (ms < 600000)
		hbuf_printf(b, "%.1f s", (double)ms / 1000.0);
	else if (ms < 172800000)
		hbuf_printf(b, "%llu min", (unsigned long long)(ms / 60000));
	else
		hbuf_printf(b, "%llu d", (unsigned long long)(ms / 86400000));
}

void
hbuf_histo(hbuf *b, const char *name, const char *labels, const struct histo *h)
{
	histo_snap s;
	int with = labels != NULL && labels[0] != '\0';
	histo_read(h, &s);
	for (int i = 0; i <= HISTO_BOUNDS; i++)
		hbuf_printf(b, "twopc_%s_bucket{%s%sle=\"%s\"} %llu\n", name, with ? labels : "",
		    with ? "," : "", histo_le(i), (unsigned long long)s.cum[i]);
	hbuf_printf(b, "twopc_%s_sum%s%s%s %.6f\n", name, with ? "{" : "", with ? labels : "",
	    with ? "}" : "", s.sum_s);
	hbuf_printf(b, "twopc_%s_count%s%s%s %llu\n", name, with ? "{" : "", with ? labels : "",
	    with ? "}" : "", (unsigned long long)s.cum[HISTO_BOUNDS]);
}

int
httpd_row(httpd_rows *r)
{
	r->n++;
	if (r->b == NULL || r->shown >= HTTPD_ROWS)
		return 0;
	r->shown++;
	return 1;
}

void
httpd_rows_end(const httpd_rows *r, const char *what)
{
	hbuf_printf(r->b, "</table>\n<p>%zu %s%s.</p>\n", r->n, what,
	    r->n > r->shown ? " (the first 200 shown)" : "");
}

int
httpd_health(char *why, size_t len, int failed, const char *refusal, int stopping, int ready)
{
	if (failed)
		snprintf(why, len, "failed: a forced write did not complete");
	else if (refusal != NULL)
		snprintf(why, len, "%s", refusal);
	else if (stopping)
		snprintf(why, len, "stopping");
	else if (!ready)
		snprintf(why, len, "recovering");
	else
		return 1;
	return 0;
}

/* ---- requests ---- */

enum { HTTPD_METRICS, HTTPD_HEALTH, HTTPD_PAGE };

/* The status page around the source's body. */
static void
httpd_page(httpd *h, hbuf *b)
{
	char why[200] = "";
	int ok = h->src.healthy(h->src.user, why, sizeof(why));

	hbuf_printf(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	    "<meta http-equiv=\"refresh\" content=\"5\"><title>twopc ");
	hbuf_html(b, h->title);
	hbuf_printf(b, "</title><style>"
	    "body{font-family:sans-serif;margin:1.5em;color:#222}"
	    "table{border-collapse:collapse;margin-bottom:1.5em}"
	    "th,td{border:1px solid #bbb;padding:.25em .6em;text-align:left;font-size:90%%}"
	    "th{background:#eee}td.n{text-align:right;white-space:nowrap}"
	    "td code{white-space:nowrap}.bad{color:#a00;font-weight:bold}"
	    "code{font-family:monospace}"
	    "</style></head><body><h1>twopc ");
	hbuf_html(b, h->title);
	hbuf_printf(b, "</h1>\n<p>State: <b%s>", ok ? "" : " class=\"bad\"");
	hbuf_html(b, ok ? "serving" : why);
	hbuf_printf(b, "</b>.</p>\n");
	h->src.page(h->src.user, b);
	if (b->cut) {
		/* The closing tags must fit: drop the cut tail, say so. */
		b->cut = 0;
		if (b->len > 256)
			b->len -= 256;
		hbuf_printf(b, "\n<p class=\"bad\">(page cut at %d bytes)</p>", HBUF_MAX);
	}
	hbuf_printf(b, "<p>Metrics: <a href=\"/metrics\">/metrics</a>, health: "
	    "<a href=\"/healthz\">/healthz</a>. The page reloads every 5 s.</p></body></html>\n");
}

/* Build the response to request KIND; NULL out of memory. */
static nng_http_res *
httpd_answer(httpd *h, int kind)
{
	hbuf b = {0};
	uint16_t status = 200;
	const char *type = "text/plain; charset=utf-8";
	nng_http_res *res = NULL;

	switch (kind) {
	case HTTPD_METRICS:
		type = "text/plain; version=0.0.4; charset=utf-8";
		h->src.metrics(h->src.user, &b);
		hbuf_metric(&b, "up", "gauge", "1 when serving and not failed (as /healthz).",
		    (uint64_t)h->src.healthy(h->src.user, (char[200]){0}, 200));
		break;
	case HTTPD_HEALTH: {
		char why[200] = "";
		if (h->src.healthy(h->src.user, why, sizeof(why))) {
			hbuf_printf(&b, "ok\n");
		} else {
			status = 503;
			hbuf_printf(&b, "%s\n", why[0] ? why : "not serving");
		}
		break;
	}
	default:
		type = "text/html; charset=utf-8";
		httpd_page(h, &b);
		break;
	}
	if (nng_http_res_alloc(&res) != 0)
		res = NULL;
	else if (nng_http_res_set_status(res, status) != 0 ||
	    nng_http_res_set_header(res, "Content-Type", type) != 0 ||
	    nng_http_res_set_header(res, "Cache-Control", "no-store") != 0 ||
	    nng_http_res_copy_data(res, b.s ? b.s : "", b.len) != 0) {
		nng_http_res_free(res);
		res = NULL;
	}
	free(b.s);
	return res;
}

static void
httpd_serve(nng_aio *aio, int kind)
{
	nng_http_handler *hd = nng_aio_get_input(aio, 1);
	httpd *h = nng_http_handler_get_data(hd);
	nng_http_res *res = NULL;

	pthread_mutex_lock(&h->mtx);
	int go = !h->stopping;
	h->active += go;
	pthread_mutex_unlock(&h->mtx);
	if (go) {
		res = httpd_answer(h, kind);
		pthread_mutex_lock(&h->mtx);
		if (--h->active == 0)
			pthread_cond_broadcast(&h->cv);
		pthread_mutex_unlock(&h->mtx);
	}
	if (res == NULL) {
		/* Stopping, or out of memory: the server closes the connection. */
		nng_aio_finish(aio, NNG_ECLOSED);
		return;
	}
	nng_aio_set_output(aio, 0, res);
	nng_aio_finish(aio, 0);
}

static void httpd_metrics_cb(nng_aio *aio) { httpd_serve(aio, HTTPD_METRICS); }
static void httpd_health_cb(nng_aio *aio) { httpd_serve(aio, HTTPD_HEALTH); }
static void httpd_page_cb(nng_aio *aio) { httpd_serve(aio, HTTPD_PAGE); }

/* ---- lifecycle ---- */

static int
httpd_route(httpd *h, const char *path, void (*cb)(nng_aio *))
{
	nng_http_handler *hd;
	int rv = nng_http_handler_alloc(&hd, path, cb);
	if (rv != 0)
		return rv;
	if ((rv = nng_http_handler_set_data(hd, h, NULL)) != 0 ||
	    (rv = nng_http_handler_collect_body(hd, true, 0)) != 0 ||
	    (rv = nng_http_server_add_handler(h->srv, hd)) != 0) {
		nng_http_handler_free(hd);
		return rv;
	}
	return 0; /* the server owns it now */
}

int
httpd_start(const char *addr, const httpd_source *src, httpd **out)
{
	char url[300];
	httpd *h;
	int rv;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return TWOPC_ENOMEM;
	h->src = *src;
	snprintf(h->title, sizeof(h->title), "%s", src->title);
	h->src.title = h->title;
	pthread_mutex_init(&h->mtx, NULL);
	pthread_cond_init(&h->cv, NULL);
	snprintf(url, sizeof(url), "http://%s", addr);
	if ((rv = nng_url_parse(&h->url, url)) != 0 ||
	    (rv = nng_http_server_hold(&h->srv, h->url)) != 0) {
		h->srv = NULL;
		goto fail;
	}
	if ((rv = httpd_route(h, "/metrics", httpd_metrics_cb)) != 0 ||
	    (rv = httpd_route(h, "/healthz", httpd_health_cb)) != 0 ||
	    (rv = httpd_route(h, "/", httpd_page_cb)) != 0 ||
	    (rv = nng_http_server_start(h->srv)) != 0)
		goto fail;
	tlog_info("http: metrics, health and status on http://%s/", addr);
	*out = h;
	return 0;
fail:
	tlog_error("http: cannot serve on %s: %s", addr, nng_strerror(rv));
	if (h->srv != NULL)
		nng_http_server_release(h->srv);
	if (h->url != NULL)
		nng_url_free(h->url);
	pthread_cond_destroy(&h->cv);
	pthread_mutex_destroy(&h->mtx);
	free(h);
	return rv == NNG_ENOMEM ? TWOPC_ENOMEM : TWOPC_ENET;
}

void
httpd_stop(httpd *h)
{
	if (h == NULL)
		return;
	pthread_mutex_lock(&h->mtx);
	h->stopping = 1;
	while (h->active > 0)
		pthread_cond_wait(&h->cv, &h->mtx);
	pthread_mutex_unlock(&h->mtx);
	nng_http_server_stop(h->srv);
	nng_http_server_release(h->srv);
	nng_url_free(h->url);
	pthread_cond_destroy(&h->cv);
	pthread_mutex_destroy(&h->mtx);
	free(h);
}
