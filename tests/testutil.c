/*
 * testutil.c - see testutil.h.
 */
#include "testutil.h"

#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include <CUnit/CUnit.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/tls/tls.h>

char tu_out[8192];

void
tu_check(int ok, const char *file, int line, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (ok) {
		CU_assertImplementation(CU_TRUE, (unsigned)line, "", file, "", CU_FALSE);
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	CU_assertImplementation(CU_FALSE, (unsigned)line, msg, file, "", CU_FALSE);
}

void
tu_fatal(int ok, const char *file, int line, const char *fmt, ...)
{
	char msg[1024] = "";
	va_list ap;

	if (!ok) {
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
	}
	CU_assertImplementation(ok ? CU_TRUE : CU_FALSE, (unsigned)line, msg, file, "", CU_TRUE);
}

void
tu_cluster_up(hcluster *c, int nparts, int vote_ms, int decision_ms, const char *file, int line)
{
	tu_fatal(hc_create(c, nparts, vote_ms, decision_ms) == 0, file, line,
	    "hc_create(%d participants) failed", nparts);
	tu_fatal(hc_start_all(c) == 0, file, line, "hc_start_all failed (see %s)", c->dir);
}

int
tu_drv(hcluster *c, const char *const *args)
{
	return hc_twopc(c, tu_out, sizeof(tu_out), args);
}

void
tu_nap_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

void (*tu_after_each)(void);

static void
tu_teardown(void)
{
	if (tu_after_each != NULL)
		tu_after_each();
}

void
tu_suite(const char *name, const tu_test *tests, size_t n)
{
	CU_pSuite s = CU_add_suite_with_setup_and_teardown(name, NULL, NULL, NULL, tu_teardown);
	for (size_t i = 0; s != NULL && i < n; i++)
		CU_add_test(s, tests[i].name, tests[i].fn);
}

static int
tu_rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void
tu_rmtree(const char *dir)
{
	if (dir[0] != '\0')
		(void)nftw(dir, tu_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int
tu_txn_nop(void *user, twopc_txn *txn)
{
	(void)user;
	(void)txn;
	return 0;
}

char *
tu_slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = calloc(1, 65536);
	if (f == NULL || buf == NULL) {
		if (f != NULL)
			fclose(f);
		free(buf);
		return NULL;
	}
	size_t n = fread(buf, 1, 65535, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

int
tu_sh(const char *cmd, char *out, size_t len)
{
	FILE *f = popen(cmd, "r");
	if (f == NULL)
		return -1;
	size_t n = fread(out, 1, len - 1, f);
	out[n] = '\0';
	int st = pclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int
tu_raw(const char *url, const char *ca, const char *crt, const char *key, const void *msg,
    size_t len)
{
	nng_socket s;
	nng_dialer d;
	nng_tls_config *cfg = NULL;
	char *cap = NULL, *crtp = NULL, *keyp = NULL, *buf = NULL;
	size_t sz = 0;
	int got = -1;

	if (nng_req0_open(&s) != 0)
		return -2;
	nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 1500);
	nng_socket_set_ms(s, NNG_OPT_SENDTIMEO, 1500);
	if (nng_dialer_create(&d, s, url) != 0)
		goto out;
	if (ca != NULL && ((cap = tu_slurp(ca)) == NULL || (crtp = tu_slurp(crt)) == NULL ||
	    (keyp = tu_slurp(key)) == NULL || nng_tls_config_alloc(&cfg, NNG_TLS_MODE_CLIENT) != 0 ||
	    nng_tls_config_auth_mode(cfg, NNG_TLS_AUTH_MODE_REQUIRED) != 0 ||
	    nng_tls_config_ca_chain(cfg, cap, NULL) != 0 ||
	    nng_tls_config_own_cert(cfg, crtp, keyp, NULL) != 0 ||
	    nng_dialer_set_ptr(d, NNG_OPT_TLS_CONFIG, cfg) != 0))
		goto out;
	/* In the background: a refused handshake must not fail the dial,
	 * only starve the request. */
	if (nng_dialer_start(d, NNG_FLAG_NONBLOCK) != 0)
		goto out;
	if (nng_send(s, (void *)msg, len, 0) == 0 && nng_recv(s, &buf, &sz, NNG_FLAG_ALLOC) == 0) {
		got = (int)sz;
		nng_free(buf, sz);
	}
out:
	if (cfg != NULL)
		nng_tls_config_free(cfg);
	free(cap);
	free(crtp);
	free(keyp);
	nng_close(s);
	return got;
}
