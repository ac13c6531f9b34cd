/*
 * faultvfs.c - see faultvfs.h: the shim itself (a sqlite3_vfs and its
 * sqlite3_io_methods wrapping the default VFS), the injected I/O errors,
 * the counters, and the installation from the environment. What the
 * powerloss modes remember about the disk, and the power cut, are in
 * faultdisk.c.
 *
 * Every method the shim does not change goes to the real VFS or file as
 * it is. In the powerloss modes xOpen, xClose and xDelete keep the disk
 * model's nodes, and xWrite, xSync and xTruncate update its sectors under
 * faultvfs_g.mtx, held across the real call.
 *
 * The -shm file goes through untouched. That is sound: the wal-index in it
 * is only a cache of the WAL, and a power cut takes it with it: the next
 * process to open the database finds no live holder of the "dead man
 * switch" lock, truncates the -shm file and rebuilds the wal-index from the
 * WAL on disk (walIndexRecover), checking every frame's checksum. Likewise
 * reads, xFetch (a read-only mapping of the same page cache) and size hints
 * (extensions with zeros; the cut cuts them back) pass through.
 */
#include "faultvfs.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "faultvfspriv.h"

/* The real file follows our struct, aligned for anything. */
#define FAULTVFS_HDR ((sizeof(faultvfs_file) + 15) & ~(size_t)15)

static pthread_once_t faultvfs_once = PTHREAD_ONCE_INIT;


/* ------------------------------------------------------------------ */
/* sqlite3_io_methods                                                  */

#define FAULTVFS_REAL(f) (((faultvfs_file *)(f))->real)
#define FAULTVFS_RM(f) (FAULTVFS_REAL(f)->pMethods)

static int
faultvfs_close(sqlite3_file *file)
{
	faultvfs_file *f = (faultvfs_file *)file;
	int rc = f->real->pMethods->xClose(f->real);
	if (f->node != NULL) {
		pthread_mutex_lock(&faultvfs_g.mtx);
		f->node->nopen--;
		faultvfs_maybe_free(f->node);
		f->node = NULL;
		pthread_mutex_unlock(&faultvfs_g.mtx);
	}
	return rc;
}

/* Count one call in *COUNTER; the K-th fails with ERR (the ioerror mode
 * MODE armed), named WHAT on stderr. 0, or ERR. */
static int
faultvfs_inject(_Atomic uint64_t *counter, int mode, const char *what, int err)
{
	uint64_t nth = atomic_fetch_add(counter, 1) + 1;
	if (faultvfs_g.mode != mode || nth != faultvfs_g.k)
		return 0;
	faultvfs_say("FAULT: %s #%llu failed (injected)\n", what, (unsigned long long)nth);
	return err;
}

static int
faultvfs_write(sqlite3_file *file, const void *buf, int amt, sqlite3_int64 off)
{
	faultvfs_file *f = (faultvfs_file *)file;
	if (faultvfs_inject(&faultvfs_g.writes, FAULTVFS_IOERR_WRITE, "write", SQLITE_IOERR_WRITE))
		return SQLITE_IOERR_WRITE;
	if (faultvfs_g.mode != FAULTVFS_POWERLOSS)
		return f->real->pMethods->xWrite(f->real, buf, amt, off);
	/* Powerloss: every write holds the lock, so a cut never lands in the
	 * middle of one. */
	pthread_mutex_lock(&faultvfs_g.mtx);
	int rc = f->node != NULL ? faultvfs_mark(f, off, amt) : SQLITE_OK;
	if (rc == SQLITE_OK)
		rc = f->real->pMethods->xWrite(f->real, buf, amt, off);
	pthread_mutex_unlock(&faultvfs_g.mtx);
	return rc;
}

static int
faultvfs_truncate(sqlite3_file *file, sqlite3_int64 size)
{
	faultvfs_file *f = (faultvfs_file *)file;
	if (f->node == NULL)
		return f->real->pMethods->xTruncate(f->real, size);
	pthread_mutex_lock(&faultvfs_g.mtx);
	int rc = f->real->pMethods->xTruncate(f->real, size);
	faultvfs_node *n = f->node;
	if (rc == SQLITE_OK) {
		/* Sectors wholly past SIZE are gone; a shrink below the size on
		 * disk reaches the disk at once (faultvfs.h), also inside the
		 * sector that SIZE cuts. */
		int found;
		size_t at = faultvfs_bsearch(n, (size + FAULTVFS_SECTOR - 1) / FAULTVFS_SECTOR, &found);
		faultvfs_forget(n, at);
		if (size < n->disk_size) {
			faultvfs_sector *cut = at > 0 ? n->dirty[at - 1] : NULL;
			if (cut != NULL && cut->no == size / FAULTVFS_SECTOR &&
			    cut->oldlen > size % FAULTVFS_SECTOR)
				cut->oldlen = (int)(size % FAULTVFS_SECTOR);
			n->disk_size = size;
		}
	}
	pthread_mutex_unlock(&faultvfs_g.mtx);
	return rc;
}

static int
faultvfs_sync(sqlite3_file *file, int flags)
{
	faultvfs_file *f = (faultvfs_file *)file;
	if (faultvfs_inject(&faultvfs_g.syncs, FAULTVFS_IOERR_SYNC, "sync", SQLITE_IOERR_FSYNC))
		return SQLITE_IOERR_FSYNC;
	if (faultvfs_g.mode != FAULTVFS_POWERLOSS)
		return f->real->pMethods->xSync(f->real, flags);
	/* Held across the fsync: a cut sees the file before or after it. */
	pthread_mutex_lock(&faultvfs_g.mtx);
	int rc = f->real->pMethods->xSync(f->real, flags);
	sqlite3_int64 size = 0;
	if (rc == SQLITE_OK && f->node != NULL &&
	    (rc = f->real->pMethods->xFileSize(f->real, &size)) == SQLITE_OK) {
		faultvfs_forget(f->node, 0);
		f->node->disk_size = size;
	}
	pthread_mutex_unlock(&faultvfs_g.mtx);
	return rc;
}

/* What the shim leaves alone goes to the real file as it is. */
#define FAULTVFS_IO(name, method, params, args) \
	static int faultvfs_##name params \
	{ \
		return FAULTVFS_RM(f)->method args; \
	}

FAULTVFS_IO(read, xRead, (sqlite3_file *f, void *buf, int amt, sqlite3_int64 off),
    (FAULTVFS_REAL(f), buf, amt, off))
FAULTVFS_IO(file_size, xFileSize, (sqlite3_file *f, sqlite3_int64 *size),
    (FAULTVFS_REAL(f), size))
FAULTVFS_IO(lock, xLock, (sqlite3_file *f, int lock),
    (FAULTVFS_REAL(f), lock))
FAULTVFS_IO(unlock, xUnlock, (sqlite3_file *f, int lock),
    (FAULTVFS_REAL(f), lock))
FAULTVFS_IO(check_reserved, xCheckReservedLock, (sqlite3_file *f, int *out),
    (FAULTVFS_REAL(f), out))
FAULTVFS_IO(file_control, xFileControl, (sqlite3_file *f, int op, void *arg),
    (FAULTVFS_REAL(f), op, arg))
FAULTVFS_IO(sector_size, xSectorSize, (sqlite3_file *f),
    (FAULTVFS_REAL(f)))
FAULTVFS_IO(device_chars, xDeviceCharacteristics, (sqlite3_file *f),
    (FAULTVFS_REAL(f)))
FAULTVFS_IO(shm_map, xShmMap, (sqlite3_file *f, int pg, int pgsz, int extend, void volatile **pp),
    (FAULTVFS_REAL(f), pg, pgsz, extend, pp))
FAULTVFS_IO(shm_lock, xShmLock, (sqlite3_file *f, int off, int n, int flags),
    (FAULTVFS_REAL(f), off, n, flags))
FAULTVFS_IO(shm_unmap, xShmUnmap, (sqlite3_file *f, int del),
    (FAULTVFS_REAL(f), del))
FAULTVFS_IO(fetch, xFetch, (sqlite3_file *f, sqlite3_int64 off, int amt, void **pp),
    (FAULTVFS_REAL(f), off, amt, pp))
FAULTVFS_IO(unfetch, xUnfetch, (sqlite3_file *f, sqlite3_int64 off, void *p),
    (FAULTVFS_REAL(f), off, p))

static void
faultvfs_shm_barrier(sqlite3_file *f)
{
	FAULTVFS_RM(f)->xShmBarrier(FAULTVFS_REAL(f));
}

static const sqlite3_io_methods faultvfs_io = {
	.iVersion = 3,
	.xClose = faultvfs_close,
	.xRead = faultvfs_read,
	.xWrite = faultvfs_write,
	.xTruncate = faultvfs_truncate,
	.xSync = faultvfs_sync,
	.xFileSize = faultvfs_file_size,
	.xLock = faultvfs_lock,
	.xUnlock = faultvfs_unlock,
	.xCheckReservedLock = faultvfs_check_reserved,
	.xFileControl = faultvfs_file_control,
	.xSectorSize = faultvfs_sector_size,
	.xDeviceCharacteristics = faultvfs_device_chars,
	.xShmMap = faultvfs_shm_map,
	.xShmLock = faultvfs_shm_lock,
	.xShmBarrier = faultvfs_shm_barrier,
	.xShmUnmap = faultvfs_shm_unmap,
	.xFetch = faultvfs_fetch,
	.xUnfetch = faultvfs_unfetch,
};

/* ------------------------------------------------------------------ */
/* sqlite3_vfs                                                         */

#define FAULTVFS_R (faultvfs_g.real)

static int
faultvfs_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags, int *oflags)
{
	faultvfs_file *f = (faultvfs_file *)file;
	(void)vfs;
	f->real = (sqlite3_file *)((char *)f + FAULTVFS_HDR);
	f->real->pMethods = NULL;
	f->node = NULL;
	f->base.pMethods = NULL;
	int rc = FAULTVFS_R->xOpen(FAULTVFS_R, name, f->real, flags, oflags);
	if (rc != SQLITE_OK) {
		if (f->real->pMethods != NULL)
			f->real->pMethods->xClose(f->real);
		return rc;
	}
	if (faultvfs_g.mode == FAULTVFS_POWERLOSS && name != NULL &&
	    (flags & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_WAL)) != 0) {
		sqlite3_int64 size = 0;
		pthread_mutex_lock(&faultvfs_g.mtx);
		faultvfs_node *n = faultvfs_find(name);
		if (n == NULL && f->real->pMethods->xFileSize(f->real, &size) == SQLITE_OK &&
		    (n = calloc(1, sizeof(*n))) != NULL) {
			/* What a file has when we first see it is on disk. */
			n->disk_size = size;
			if ((n->path = strdup(name)) == NULL) {
				free(n);
				n = NULL;
			} else {
				n->next = faultvfs_g.nodes;
				faultvfs_g.nodes = n;
			}
		}
		if (n != NULL)
			n->nopen++;
		pthread_mutex_unlock(&faultvfs_g.mtx);
		if (n == NULL) {
			f->real->pMethods->xClose(f->real);
			return SQLITE_IOERR_NOMEM;
		}
		f->node = n;
	}
	f->base.pMethods = &faultvfs_io;
	return SQLITE_OK;
}

static int
faultvfs_delete(sqlite3_vfs *vfs, const char *path, int dirsync)
{
	(void)vfs;
	if (faultvfs_g.mode == FAULTVFS_POWERLOSS) {
		pthread_mutex_lock(&faultvfs_g.mtx);
		faultvfs_node *n = faultvfs_find(path);
		if (n != NULL) {
			/* Deleting reaches the disk at once: nothing to put back.
			 * Handles still open keep the node until they close. */
			faultvfs_forget(n, 0);
			free(n->path);
			n->path = NULL;
			faultvfs_maybe_free(n);
		}
		pthread_mutex_unlock(&faultvfs_g.mtx);
	}
	return FAULTVFS_R->xDelete(FAULTVFS_R, path, dirsync);
}

/* What the shim leaves alone goes to the real VFS as it is. */
#define FAULTVFS_VFS(ret, name, method, params, args) \
	static ret faultvfs_##name params \
	{ \
		(void)vfs; \
		return FAULTVFS_R->method(FAULTVFS_R, FAULTVFS_UNPAREN args); \
	}
#define FAULTVFS_UNPAREN(...) __VA_ARGS__

FAULTVFS_VFS(int, access, xAccess, (sqlite3_vfs *vfs, const char *path, int flags, int *out),
    (path, flags, out))
FAULTVFS_VFS(int, full_pathname, xFullPathname,
    (sqlite3_vfs *vfs, const char *name, int n, char *out), (name, n, out))
FAULTVFS_VFS(void *, dlopen, xDlOpen, (sqlite3_vfs *vfs, const char *name),
    (name))
FAULTVFS_VFS(int, randomness, xRandomness, (sqlite3_vfs *vfs, int n, char *out),
    (n, out))
FAULTVFS_VFS(int, sleep, xSleep, (sqlite3_vfs *vfs, int us),
    (us))
FAULTVFS_VFS(int, current_time, xCurrentTime, (sqlite3_vfs *vfs, double *t),
    (t))
FAULTVFS_VFS(int, last_error, xGetLastError, (sqlite3_vfs *vfs, int n, char *msg),
    (n, msg))
FAULTVFS_VFS(int, current_time64, xCurrentTimeInt64, (sqlite3_vfs *vfs, sqlite3_int64 *t),
    (t))

static void
faultvfs_dlerror(sqlite3_vfs *vfs, int n, char *msg)
{
	(void)vfs;
	FAULTVFS_R->xDlError(FAULTVFS_R, n, msg);
}

static void (*faultvfs_dlsym(sqlite3_vfs *vfs, void *h, const char *sym))(void)
{
	(void)vfs;
	return FAULTVFS_R->xDlSym(FAULTVFS_R, h, sym);
}

static void
faultvfs_dlclose(sqlite3_vfs *vfs, void *h)
{
	(void)vfs;
	FAULTVFS_R->xDlClose(FAULTVFS_R, h);
}

/* ------------------------------------------------------------------ */
/* installation                                                        */

/* "ioerror:sync:K" etc.: 0 and the mode, or -1. */
static int
faultvfs_parse(const char *v, int *mode, int *tear, uint64_t *k)
{
	char *end = NULL;
	*tear = 0;
	*k = 0;
	if (strcmp(v, "count") == 0) {
		*mode = FAULTVFS_COUNT;
	} else if (strcmp(v, "powerloss") == 0 || strcmp(v, "powerloss:tear") == 0) {
		*mode = FAULTVFS_POWERLOSS;
		*tear = v[9] != '\0';
	} else if (strncmp(v, "ioerror:sync:", 13) == 0 || strncmp(v, "ioerror:write:", 14) == 0) {
		*mode = v[8] == 's' ? FAULTVFS_IOERR_SYNC : FAULTVFS_IOERR_WRITE;
		const char *num = v + (v[8] == 's' ? 13 : 14);
		if (*num < '0' || *num > '9')
			return -1;
		*k = strtoull(num, &end, 10);
		if (*end != '\0' || *k == 0)
			return -1;
	} else {
		return -1;
	}
	return 0;
}

static void
faultvfs_init(void)
{
	const char *v = getenv("TWOPC_FAULT_VFS");
	int mode, tear;
	uint64_t k;

	if (v == NULL || *v == '\0')
		return;
	if (faultvfs_parse(v, &mode, &tear, &k) != 0) {
		fprintf(stderr, "TWOPC_FAULT_VFS: unknown value '%s' (want count, powerloss, "
		    "powerloss:tear, ioerror:sync:K or ioerror:write:K): no fault VFS\n", v);
		return;
	}
	sqlite3_vfs *real = sqlite3_vfs_find(NULL);
	if (real == NULL || real->iVersion < 2) {
		fprintf(stderr, "TWOPC_FAULT_VFS: no usable default SQLite VFS: no fault VFS\n");
		return;
	}
	faultvfs_g.seed = 1;
	const char *s = getenv("TWOPC_FAULT_SEED");
	if (s != NULL && *s != '\0') {
		char *end = NULL;
		faultvfs_g.seed = strtoull(s, &end, 10);
		if (*end != '\0') {
			fprintf(stderr, "TWOPC_FAULT_SEED: not a number '%s': using 1\n", s);
			faultvfs_g.seed = 1;
		}
	}
	faultvfs_g.real = real;
	faultvfs_g.mode = mode;
	faultvfs_g.tear = tear;
	faultvfs_g.k = k;
	sqlite3_vfs *w = &faultvfs_g.vfs;
	w->iVersion = 2;        /* no xSetSystemCall & co: tests only */
	w->szOsFile = (int)FAULTVFS_HDR + real->szOsFile;
	w->mxPathname = real->mxPathname;
	w->zName = "faultvfs";
	w->xOpen = faultvfs_open;
	w->xDelete = faultvfs_delete;
	w->xAccess = faultvfs_access;
	w->xFullPathname = faultvfs_full_pathname;
	w->xDlOpen = faultvfs_dlopen;
	w->xDlError = faultvfs_dlerror;
	w->xDlSym = faultvfs_dlsym;
	w->xDlClose = faultvfs_dlclose;
	w->xRandomness = faultvfs_randomness;
	w->xSleep = faultvfs_sleep;
	w->xCurrentTime = faultvfs_current_time;
	w->xGetLastError = faultvfs_last_error;
	w->xCurrentTimeInt64 = faultvfs_current_time64;
	if (mode == FAULTVFS_POWERLOSS)
		faultvfs_sigwait_start();
	if (sqlite3_vfs_register(w, 1) != SQLITE_OK) {
		fprintf(stderr, "TWOPC_FAULT_VFS: cannot register the fault VFS\n");
		faultvfs_g.mode = FAULTVFS_OFF;
	}
}

void
faultvfs_install_from_env(void)
{
	pthread_once(&faultvfs_once, faultvfs_init);
}

uint64_t
faultvfs_syncs(void)
{
	return atomic_load(&faultvfs_g.syncs);
}

uint64_t
faultvfs_writes(void)
{
	return atomic_load(&faultvfs_g.writes);
}

int
faultvfs_powerloss(void)
{
	return faultvfs_g.mode == FAULTVFS_POWERLOSS;
}
