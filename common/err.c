/*
 * err.c - twopc_strerror(): the text of every twopc_err code.
 */
#include "twopc/error.h"

const char *
twopc_strerror(int err)
{
	switch ((twopc_err)err) {
	case TWOPC_OK: return "success";
	case TWOPC_EINVAL: return "invalid argument";
	case TWOPC_ENOMEM: return "out of memory";
	case TWOPC_ECONFIG: return "invalid configuration";
	case TWOPC_EIO: return "log I/O error (the record could not be read or forced)";
	case TWOPC_ENET: return "network error";
	case TWOPC_ETIMEDOUT: return "timed out";
	case TWOPC_EPROTO: return "protocol error (malformed or unexpected message)";
	case TWOPC_ESTALE: return "message from a stale coordinator epoch";
	case TWOPC_ENOENT: return "no such participant, key or transaction";
	case TWOPC_EBUSY: return "key locked by another transaction";
	case TWOPC_ESTATE: return "operation not valid in the current state";
	case TWOPC_ETOOBIG: return "message or field too large";
	case TWOPC_ECLOSED: return "closed";
	case TWOPC_EUNSUPPORTED: return "operation not supported by the resource";
	case TWOPC_ERESOURCE: return "resource callback failed";
	case TWOPC_ELOCKED: return "the log is in use by another process";
	case TWOPC_ECORRUPT: return "the log is damaged";
	}
	return "unknown error";
}
