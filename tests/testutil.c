/*
 * testutil.c - see testutil.h.
 */
#include "testutil.h"

#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

#include <CUnit/CUnit.h>

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

void
tu_suite(const char *name, const tu_test *tests, size_t n)
{
	CU_pSuite s = CU_add_suite(name, NULL, NULL);
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
