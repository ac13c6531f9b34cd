/*
 * hookctor.c - arms the test hooks (testhook.h) before main() runs.
 *
 * For test builds of programs written against the installed participant
 * library (the ledger example under twopc-crashtest, tests/library.sh):
 * such a program cannot call the internal testhook_arm_from_env() itself.
 * Link this object, libtwopc-testhook.a and the static
 * libtwopc-participant.a; the shared library alone never honours the
 * variables.
 */
#include "testhook.h"

__attribute__((constructor)) static void
hookctor_arm(void)
{
	testhook_arm_from_env();
}
