/*
 * main.c - the twopc test runner: every CUnit suite in one binary, so the
 * run ends with one CUnit summary.
 *
 *   twopc-tests [SUITE...]     run all suites, or only those named
 *
 * Environment: TWOPC_SRCDIR (the source tree, for example files) and
 * TWOPC_BUILD (where the daemons are, for the integration suites).
 * Exit status: 0 if every test passed, 1 otherwise.
 */
#include <stdio.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "harness.h"
#include "testutil.h"

void test_config_register(void);
void test_wire_register(void);
void test_logs_register(void);
void test_integration_register(void);
void test_termination_register(void);
void test_faultvfs_register(void);
void test_library_register(void);
void test_fence_register(void);
void test_honest_register(void);
void test_resolve_register(void);
void test_batch_register(void);
void test_tls_register(void);
void test_ops_register(void);
void test_abuse_register(void);
void test_reload_register(void);
void test_attack_register(void);
void test_http_register(void);

static const tu_test suites[] = {
	{ "config", test_config_register },
	{ "wire", test_wire_register },
	{ "logs", test_logs_register },
	{ "integration", test_integration_register },
	{ "termination", test_termination_register },
	{ "faultvfs", test_faultvfs_register },
	{ "library", test_library_register },
	{ "fence", test_fence_register },
	{ "honest", test_honest_register },
	{ "resolve", test_resolve_register },
	{ "batch", test_batch_register },
	{ "tls", test_tls_register },
	{ "ops", test_ops_register },
	{ "abuse", test_abuse_register },
	{ "reload", test_reload_register },
	{ "attack", test_attack_register },
	{ "http", test_http_register },
};

int
main(int argc, char **argv)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	tu_after_each = hc_reap;
	for (size_t i = 0; i < T_NITEMS(suites); i++) {
		int want = argc == 1;
		for (int a = 1; a < argc; a++)
			want |= strcmp(argv[a], suites[i].name) == 0;
		if (want)
			suites[i].fn();
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	if (hc_sanitizer_reports > 0) {
		fprintf(stderr, "twopc-tests: %d sanitizer report(s) from daemons (see above)\n",
		    hc_sanitizer_reports);
		failed++;
	}
	unsigned fsuites = CU_get_number_of_suites_failed();
	CU_cleanup_registry();
	return failed || fsuites ? 1 : 0;
}
