#include <CUnit/CUnit.h>
void test_integration_register(void);
void test_integration_register(void) {}
