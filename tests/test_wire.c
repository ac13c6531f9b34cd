#include <CUnit/CUnit.h>
void test_wire_register(void);
void test_wire_register(void) {}
