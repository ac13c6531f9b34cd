/*
 * rpctls.c - the process's TLS identity (rpc.h): loading and checking the
 * PEM files once, and an NNG TLS configuration per listener or dialer.
 *
 * The files are checked here with mbedTLS (the library NNG itself uses) so
 * that a wrong file is an error naming it at start-up, not a handshake that
 * fails later without a word: NNG accepts a key that does not match its
 * certificate, and an expired or foreign certificate only shows when a peer
 * refuses it. The identity keeps the PEM text; each socket gets its own
 * nng_tls_config from it, so a dialer can carry its peer's name (the
 * server_name mbedTLS checks the certificate against).
 *
 * Names: a node's certificate carries its node name as subject CN (and as
 * a DNS subjectAltName, which mbedTLS then checks instead), whatever host
 * it runs on; tests/mkcerts.sh makes them so.
 */
#include "rpc.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/error.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

#include "rpcpriv.h"
#include "tlog.h"
#include "twopc/error.h"

#define RPC_TLS_FILE_MAX (256 * 1024) /* a PEM chain is a few KiB */

typedef struct rpc_tls_peer {
	char *url;
	char *name;
} rpc_tls_peer;

struct rpc_tls {
	char *ca, *crt, *key; /* PEM text, NUL-terminated */
	rpc_tls_peer *peers;
	size_t npeers;
};

static pthread_mutex_t rpc_tls_mtx = PTHREAD_MUTEX_INITIALIZER;
static rpc_tls *rpc_tls_cur; /* guarded by rpc_tls_mtx */

int
rpc_tls_url(const char *url)
{
	return url != NULL && strncmp(url, "tls+tcp://", 10) == 0;
}

/* Read PATH whole into a NUL-terminated heap string. */
static int
rpc_tls_read(const char *path, const char *what, char **out, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0;
	int rv = TWOPC_ECONFIG;

	if (f == NULL) {
		snprintf(err, errlen, "%s %s: cannot open: %s", what, path, strerror(errno));
		return rv;
	}
	if ((buf = malloc(RPC_TLS_FILE_MAX + 1)) == NULL)
		rv = TWOPC_ENOMEM;
	else if ((n = fread(buf, 1, RPC_TLS_FILE_MAX + 1, f)) > RPC_TLS_FILE_MAX)
		snprintf(err, errlen, "%s %s: too large (more than %d bytes)", what, path,
		    RPC_TLS_FILE_MAX);
	else if (ferror(f))
		snprintf(err, errlen, "%s %s: cannot read: %s", what, path, strerror(errno));
	else if (n == 0 || memchr(buf, '\0', n) != NULL)
		snprintf(err, errlen, "%s %s: %s", what, path, n == 0 ? "empty file" :
		    "not a PEM file (binary data)");
	else
		rv = 0;
	fclose(f);
	if (rv != 0) {
		free(buf);
		return rv;
	}
	buf[n] = '\0';
	*out = buf;
	return 0;
}

static void
rpc_tls_mberr(int ret, char *buf, size_t len)
{
	mbedtls_strerror(ret, buf, len);
}

/* The checks of rpc_tls_load on the PEM text in T. */
static int
rpc_tls_check(const rpc_tls *t, const char *capath, const char *crtpath, const char *keypath,
    const char *name, char *err, size_t errlen)
{
	mbedtls_x509_crt ca, crt;
	mbedtls_pk_context pk;
	char why[200];
	uint32_t flags = 0;
	int ret, rv = TWOPC_ECONFIG;

	mbedtls_x509_crt_init(&ca);
	mbedtls_x509_crt_init(&crt);
	mbedtls_pk_init(&pk);
	if ((ret = mbedtls_x509_crt_parse(&ca, (const unsigned char *)t->ca,
	    strlen(t->ca) + 1)) != 0) {
		rpc_tls_mberr(ret, why, sizeof(why));
		snprintf(err, errlen, "CA %s: not a PEM certificate (%s)", capath, why);
	} else if ((ret = mbedtls_x509_crt_parse(&crt, (const unsigned char *)t->crt,
	    strlen(t->crt) + 1)) != 0) {
		rpc_tls_mberr(ret, why, sizeof(why));
		snprintf(err, errlen, "certificate %s: not a PEM certificate (%s)", crtpath, why);
	} else if ((ret = mbedtls_pk_parse_key(&pk, (const unsigned char *)t->key,
	    strlen(t->key) + 1, NULL, 0)) != 0) {
		rpc_tls_mberr(ret, why, sizeof(why));
		snprintf(err, errlen, "key %s: not an unencrypted PEM private key (%s)", keypath,
		    why);
	} else if (mbedtls_pk_check_pair(&crt.pk, &pk) != 0) {
		snprintf(err, errlen, "key %s does not match certificate %s", keypath, crtpath);
	} else if (mbedtls_x509_crt_verify(&crt, &ca, NULL, name, &flags, NULL, NULL) != 0) {
		/* The worst problem first: an operator fixes one at a time. */
		if (flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED)
			snprintf(err, errlen, "certificate %s is not signed by the CA %s", crtpath,
			    capath);
		else if (flags & MBEDTLS_X509_BADCERT_EXPIRED)
			snprintf(err, errlen, "certificate %s has expired", crtpath);
		else if (flags & MBEDTLS_X509_BADCERT_FUTURE)
			snprintf(err, errlen, "certificate %s is not valid yet", crtpath);
		else if (flags & MBEDTLS_X509_BADCERT_CN_MISMATCH)
			snprintf(err, errlen, "certificate %s is not issued to '%s' (its subject CN "
			    "or DNS subjectAltName must be the node name)", crtpath, name);
		else {
			mbedtls_x509_crt_verify_info(why, sizeof(why), "", flags);
			why[strcspn(why, "\n")] = '\0';
			snprintf(err, errlen, "certificate %s: %s", crtpath, why);
		}
	} else {
		rv = 0;
	}
	mbedtls_pk_free(&pk);
	mbedtls_x509_crt_free(&crt);
	mbedtls_x509_crt_free(&ca);
	return rv;
}

int
rpc_tls_load(const char *ca, const char *crt, const char *key, const char *name,
    rpc_tls **out, char *err, size_t errlen)
{
	rpc_tls *t = calloc(1, sizeof(*t));
	int rv;

	if (errlen > 0)
		err[0] = '\0';
	if (t == NULL)
		return TWOPC_ENOMEM;
	if ((rv = rpc_tls_read(ca, "CA", &t->ca, err, errlen)) == 0 &&
	    (rv = rpc_tls_read(crt, "certificate", &t->crt, err, errlen)) == 0 &&
	    (rv = rpc_tls_read(key, "key", &t->key, err, errlen)) == 0)
		rv = rpc_tls_check(t, ca, crt, key, name, err, errlen);
	if (rv != 0) {
		if (rv == TWOPC_ENOMEM)
			snprintf(err, errlen, "out of memory");
		rpc_tls_free(t);
		return rv;
	}
	*out = t;
	return 0;
}

int
rpc_tls_bind(rpc_tls *t, const char *url, const char *name)
{
	rpc_tls_peer *p = realloc(t->peers, (t->npeers + 1) * sizeof(*p));
	if (p == NULL)
		return TWOPC_ENOMEM;
	t->peers = p;
	p = &t->peers[t->npeers];
	p->url = strdup(url);
	p->name = strdup(name);
	if (p->url == NULL || p->name == NULL) {
		free(p->url);
		free(p->name);
		return TWOPC_ENOMEM;
	}
	t->npeers++;
	return 0;
}

void
rpc_tls_free(rpc_tls *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->npeers; i++) {
		free(t->peers[i].url);
		free(t->peers[i].name);
	}
	free(t->peers);
	free(t->ca);
	free(t->crt);
	free(t->key);
	free(t);
}

void
rpc_tls_use(rpc_tls *t)
{
	pthread_mutex_lock(&rpc_tls_mtx);
	rpc_tls *old = rpc_tls_cur;
	rpc_tls_cur = t;
	pthread_mutex_unlock(&rpc_tls_mtx);
	rpc_tls_free(old);
}

nng_tls_config *
rpc_tls_config(int server, const char *url)
{
	nng_tls_config *cfg = NULL;
	const char *peer = NULL;
	int rv;

	pthread_mutex_lock(&rpc_tls_mtx);
	const rpc_tls *t = rpc_tls_cur;
	if (t == NULL) {
		pthread_mutex_unlock(&rpc_tls_mtx);
		tlog_error("%s: no TLS identity (the cluster file needs a tls section)", url);
		return NULL;
	}
	for (size_t i = 0; !server && i < t->npeers; i++)
		if (strcmp(t->peers[i].url, url) == 0)
			peer = t->peers[i].name;
	if ((rv = nng_tls_config_alloc(&cfg, server ? NNG_TLS_MODE_SERVER :
	    NNG_TLS_MODE_CLIENT)) == 0 &&
	    (rv = nng_tls_config_auth_mode(cfg, NNG_TLS_AUTH_MODE_REQUIRED)) == 0 &&
	    (rv = nng_tls_config_ca_chain(cfg, t->ca, NULL)) == 0 &&
	    (rv = nng_tls_config_own_cert(cfg, t->crt, t->key, NULL)) == 0 && peer != NULL)
		rv = nng_tls_config_server_name(cfg, peer);
	pthread_mutex_unlock(&rpc_tls_mtx);
	if (rv != 0) {
		tlog_error("%s: cannot set up TLS: %s", url, nng_strerror(rv));
		if (cfg != NULL)
			nng_tls_config_free(cfg);
		return NULL;
	}
	return cfg;
}
