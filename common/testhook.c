/*
 * testhook.c - see testhook.h.
 */
#include "testhook.h"

#include <stdlib.h>

#include "crash.h"
#include "faultvfs.h"

void
testhook_arm_from_env(void)
{
	crash_arm(getenv("TWOPC_CRASH_AT"), 0, "TWOPC_CRASH_AT");
	crash_arm(getenv("TWOPC_PAUSE_AT"), 1, "TWOPC_PAUSE_AT");
	faultvfs_install_from_env();
}
