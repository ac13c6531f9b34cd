#include <CUnit/CUnit.h>
void test_logs_register(void);
void test_logs_register(void) {}
