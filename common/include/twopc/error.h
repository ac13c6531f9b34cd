/*
 * twopc/error.h - error codes shared by every twopc API.
 *
 * Contract: every fallible twopc_ function returns 0 (TWOPC_OK) or one of the
 * negative codes below; output parameters are written only on success.
 * twopc_strerror() never returns NULL, also for codes it does not know.
 */
#ifndef TWOPC_ERROR_H
#define TWOPC_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

/* Marks the functions a shared twopc library exports; everything else in
 * it is hidden (built with -fvisibility=hidden). */
#if defined(__GNUC__)
#define TWOPC_API __attribute__((visibility("default")))
#else
#define TWOPC_API
#endif

typedef enum twopc_err {
	TWOPC_OK = 0,
	TWOPC_EINVAL = -1,      /* an argument is invalid (NULL handle, bad name, bad op) */
	TWOPC_ENOMEM = -2,      /* out of memory */
	TWOPC_ECONFIG = -3,     /* the cluster configuration is invalid */
	TWOPC_EIO = -4,         /* the log could not be read or forced (disk full, I/O error) */
	TWOPC_ENET = -5,        /* a socket could not be opened, dialed or listened on */
	TWOPC_ETIMEDOUT = -6,   /* no answer within the time allowed */
	TWOPC_EPROTO = -7,      /* a message did not decode or broke the protocol */
	TWOPC_ESTALE = -8,      /* a message came from an older coordinator epoch */
	TWOPC_ENOENT = -9,      /* unknown participant, key or transaction */
	TWOPC_EBUSY = -10,      /* a key is locked by another transaction */
	TWOPC_ESTATE = -11,     /* the call is not valid in the object's state (double start) */
	TWOPC_ETOOBIG = -12,    /* a message or a field exceeds its documented cap */
	TWOPC_ECLOSED = -13,    /* the object is stopping or stopped */
	TWOPC_EUNSUPPORTED = -14, /* the resource does not implement the operation */
	TWOPC_ERESOURCE = -15,  /* the application's resource callback failed */
	TWOPC_ELOCKED = -16,    /* the log is in use by another process */
	TWOPC_ECORRUPT = -17,   /* the log is damaged (its integrity check failed) */
} twopc_err;

/* A static English description of ERR. Thread-safe; never NULL. */
TWOPC_API const char *twopc_strerror(int err);

#ifdef __cplusplus
}
#endif
#endif
