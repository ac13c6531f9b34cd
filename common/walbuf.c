/*
 * walbuf.c - see walbuf.h: a SQLite VFS that hands SQLite's writes of one
 * commit to a WAL file to the kernel in one write.
 *
 * SQLite writes a WAL frame as two writes (its 24-byte header, then the
 * page), so a commit of N pages costs 2N system calls; on this project's
 * machines a system call costs microseconds, and a participant's group
 * commit writes dozens of frames. The shim gathers contiguous writes to a
 * WAL file in a buffer and writes them out:
 *   - right after the page of a commit frame (a frame header whose
 *     "database size" field is not zero marks the last frame of a
 *     commit): the commit is in the kernel, as without the shim, before
 *     SQLite publishes it in the wal-index; an error is SQLite's write
 *     error;
 *   - before anything else is done with the file (read, sync, size,
 *     truncate, file control, mapping, close) and before a write that does
 *     not continue the buffer;
 *   - and, as a safety net, in the database file's xShmBarrier, which
 *     SQLite calls before a new wal-index header becomes readable: every
 *     buffered frame of that database's WAL goes out first (a failure
 *     there cannot be reported to SQLite, and publishing frames that are
 *     not written would let a reader read garbage: the process aborts).
 * So every frame a reader can be pointed to, in this process or another,
 * is in the file, and a sync (db_durable's, through xSync) covers every
 * frame written before it. A crash loses only frames of a commit not yet
 * complete, which SQLite ignores on recovery anyway.
 *
 * Every other file, and every other method, goes to the VFS that was the
 * default when the shim was registered (the fault VFS under tests).
 *
 * Invariant: a WAL file's buffer holds bytes [off, off + len) of the file,
 * never yet written, under the file's mutex.
 */
#include "walbuf.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WALBUF_NAME "twopc-walbuf"
#define WALBUF_FRAME_HDR 24
#define WALBUF_MAX (1 << 20) /* a bigger commit goes out in pieces */
#define WALBUF_PIECE (64 << 10) /* the most one real write carries */

typedef struct walbuf_file {
	sqlite3_file base;
	sqlite3_file *real;         /* follows this struct */
	const char *name;           /* as SQLite gave it (valid until xClose) */
	int wal;                    /* a WAL file: writes are gathered */
	pthread_mutex_t mtx;        /* the buffer (a WAL file's) */
	unsigned char *buf;
	size_t len, cap;
	sqlite3_int64 off;
	int commit;                 /* the last write was a commit frame's header */
	struct walbuf_file *next;   /* walbuf_g.wals */
} walbuf_file;

#define WALBUF_HDR ((sizeof(walbuf_file) + 15) & ~(size_t)15)
#define WALBUF_REAL(f) (((walbuf_file *)(f))->real)
#define WALBUF_RM(f) (WALBUF_REAL(f)->pMethods)

static struct {
	sqlite3_vfs vfs;
	sqlite3_vfs *real;
	pthread_mutex_t mtx;        /* wals */
	walbuf_file *wals;          /* open WAL files */
	int ok;
} walbuf_g = { .mtx = PTHREAD_MUTEX_INITIALIZER };

static pthread_once_t walbuf_once = PTHREAD_ONCE_INIT;
static _Atomic uint64_t walbuf_real, walbuf_asked;

void
walbuf_counts(uint64_t *real, uint64_t *asked)
{
	*real = atomic_load(&walbuf_real);
	*asked = atomic_load(&walbuf_asked);
}

/* Write F's buffer out, in pieces below 128 KiB: SQLite's unix VFS masks
 * a write's length to 17 bits (it never writes more than a page), so a
 * bigger one would be cut short and reported as a full disk. F->mtx held. */
static int
walbuf_flush_locked(walbuf_file *f)
{
	int rc = SQLITE_OK;
	for (size_t at = 0; at < f->len && rc == SQLITE_OK; at += WALBUF_PIECE) {
		size_t n = f->len - at < WALBUF_PIECE ? f->len - at : WALBUF_PIECE;
		rc = WALBUF_RM(f)->xWrite(WALBUF_REAL(f), f->buf + at, (int)n,
		    f->off + (sqlite3_int64)at);
		atomic_fetch_add_explicit(&walbuf_real, 1, memory_order_relaxed);
	}
	f->len = 0;
	f->commit = 0;
	return rc;
}

static int
walbuf_flush(walbuf_file *f)
{
	if (!f->wal)
		return SQLITE_OK;
	pthread_mutex_lock(&f->mtx);
	int rc = walbuf_flush_locked(f);
	pthread_mutex_unlock(&f->mtx);
	return rc;
}

static int
walbuf_write(sqlite3_file *file, const void *p, int amt, sqlite3_int64 off)
{
	walbuf_file *f = (walbuf_file *)file;
	int rc = SQLITE_OK;
	if (!f->wal)
		return WALBUF_RM(f)->xWrite(WALBUF_REAL(f), p, amt, off);
	atomic_fetch_add_explicit(&walbuf_asked, 1, memory_order_relaxed);
	pthread_mutex_lock(&f->mtx);
	if (f->len > 0 && (off != f->off + (sqlite3_int64)f->len || f->len + (size_t)amt > WALBUF_MAX))
		rc = walbuf_flush_locked(f);
	if (rc == SQLITE_OK && f->len + (size_t)amt > f->cap) {
		size_t cap = f->cap ? f->cap : 65536;
		while (cap < f->len + (size_t)amt && cap < WALBUF_MAX)
			cap *= 2;
		unsigned char *b = cap >= f->len + (size_t)amt ? realloc(f->buf, cap) : NULL;
		if (b != NULL) {
			f->buf = b;
			f->cap = cap;
		}
	}
	if (rc == SQLITE_OK && (f->len + (size_t)amt > f->cap || (size_t)amt > WALBUF_PIECE)) {
		/* No room (no memory), or a write bigger than a piece: out as
		 * it comes, after what was gathered. */
		if ((rc = walbuf_flush_locked(f)) == SQLITE_OK) {
			rc = WALBUF_RM(f)->xWrite(WALBUF_REAL(f), p, amt, off);
			atomic_fetch_add_explicit(&walbuf_real, 1, memory_order_relaxed);
		}
		pthread_mutex_unlock(&f->mtx);
		return rc;
	}
	if (rc == SQLITE_OK) {
		if (f->len == 0)
			f->off = off;
		memcpy(f->buf + f->len, p, (size_t)amt);
		f->len += (size_t)amt;
		if (amt == WALBUF_FRAME_HDR) {
			/* Bytes 4-7: the database size after a commit, 0 in
			 * every other frame (SQLite's WAL format). */
			const unsigned char *h = p;
			f->commit = (h[4] | h[5] | h[6] | h[7]) != 0;
		} else if (f->commit) {
			rc = walbuf_flush_locked(f);
		}
	}
	pthread_mutex_unlock(&f->mtx);
	return rc;
}

static int
walbuf_close(sqlite3_file *file)
{
	walbuf_file *f = (walbuf_file *)file;
	int rc = walbuf_flush(f);
	if (f->wal) {
		pthread_mutex_lock(&walbuf_g.mtx);
		walbuf_file **pp = &walbuf_g.wals;
		while (*pp != NULL && *pp != f)
			pp = &(*pp)->next;
		if (*pp == f)
			*pp = f->next;
		pthread_mutex_unlock(&walbuf_g.mtx);
		pthread_mutex_destroy(&f->mtx);
		free(f->buf);
	}
	int rc2 = WALBUF_RM(f)->xClose(WALBUF_REAL(f));
	return rc != SQLITE_OK ? rc : rc2;
}

static int
walbuf_read(sqlite3_file *file, void *p, int amt, sqlite3_int64 off)
{
	int rc = walbuf_flush((walbuf_file *)file);
	return rc != SQLITE_OK ? rc : WALBUF_RM(file)->xRead(WALBUF_REAL(file), p, amt, off);
}

static int
walbuf_truncate(sqlite3_file *file, sqlite3_int64 size)
{
	int rc = walbuf_flush((walbuf_file *)file);
	return rc != SQLITE_OK ? rc : WALBUF_RM(file)->xTruncate(WALBUF_REAL(file), size);
}

static int
walbuf_sync(sqlite3_file *file, int flags)
{
	int rc = walbuf_flush((walbuf_file *)file);
	return rc != SQLITE_OK ? rc : WALBUF_RM(file)->xSync(WALBUF_REAL(file), flags);
}

static int
walbuf_file_size(sqlite3_file *file, sqlite3_int64 *size)
{
	int rc = walbuf_flush((walbuf_file *)file);
	return rc != SQLITE_OK ? rc : WALBUF_RM(file)->xFileSize(WALBUF_REAL(file), size);
}

static int
walbuf_lock(sqlite3_file *file, int lock)
{
	return WALBUF_RM(file)->xLock(WALBUF_REAL(file), lock);
}

static int
walbuf_unlock(sqlite3_file *file, int lock)
{
	return WALBUF_RM(file)->xUnlock(WALBUF_REAL(file), lock);
}

static int
walbuf_check_reserved(sqlite3_file *file, int *out)
{
	return WALBUF_RM(file)->xCheckReservedLock(WALBUF_REAL(file), out);
}

static int
walbuf_file_control(sqlite3_file *file, int op, void *arg)
{
	int rc = walbuf_flush((walbuf_file *)file);
	return rc != SQLITE_OK ? rc : WALBUF_RM(file)->xFileControl(WALBUF_REAL(file), op, arg);
}

static int
walbuf_sector_size(sqlite3_file *file)
{
	return WALBUF_RM(file)->xSectorSize(WALBUF_REAL(file));
}

static int
walbuf_device_chars(sqlite3_file *file)
{
	return WALBUF_RM(file)->xDeviceCharacteristics(WALBUF_REAL(file));
}

static int
walbuf_shm_map(sqlite3_file *file, int pg, int pgsz, int extend, void volatile **pp)
{
	return WALBUF_RM(file)->xShmMap(WALBUF_REAL(file), pg, pgsz, extend, pp);
}

static int
walbuf_shm_lock(sqlite3_file *file, int offset, int n, int flags)
{
	return WALBUF_RM(file)->xShmLock(WALBUF_REAL(file), offset, n, flags);
}

/* 1 if WAL is the WAL of database DB ("DB-wal"). */
static int
walbuf_pair(const char *db, const char *wal)
{
	size_t n = strlen(db);
	return strncmp(db, wal, n) == 0 && strcmp(wal + n, "-wal") == 0;
}

static void
walbuf_shm_barrier(sqlite3_file *file)
{
	walbuf_file *f = (walbuf_file *)file;
	if (f->name != NULL) {
		pthread_mutex_lock(&walbuf_g.mtx);
		for (walbuf_file *w = walbuf_g.wals; w != NULL; w = w->next) {
			if (!walbuf_pair(f->name, w->name))
				continue;
			pthread_mutex_lock(&w->mtx);
			if (w->len > 0 && walbuf_flush_locked(w) != SQLITE_OK) {
				fprintf(stderr, "twopc: cannot write frames of %s before they are "
				    "published; stopping rather than let a reader see them\n", w->name);
				abort();
			}
			pthread_mutex_unlock(&w->mtx);
		}
		pthread_mutex_unlock(&walbuf_g.mtx);
	}
	WALBUF_RM(f)->xShmBarrier(WALBUF_REAL(f));
}

static int
walbuf_shm_unmap(sqlite3_file *file, int del)
{
	return WALBUF_RM(file)->xShmUnmap(WALBUF_REAL(file), del);
}

static int
walbuf_fetch(sqlite3_file *file, sqlite3_int64 off, int amt, void **pp)
{
	int rc = walbuf_flush((walbuf_file *)file);
	return rc != SQLITE_OK ? rc : WALBUF_RM(file)->xFetch(WALBUF_REAL(file), off, amt, pp);
}

static int
walbuf_unfetch(sqlite3_file *file, sqlite3_int64 off, void *p)
{
	return WALBUF_RM(file)->xUnfetch(WALBUF_REAL(file), off, p);
}

static const sqlite3_io_methods walbuf_io = {
	.iVersion = 3,
	.xClose = walbuf_close,
	.xRead = walbuf_read,
	.xWrite = walbuf_write,
	.xTruncate = walbuf_truncate,
	.xSync = walbuf_sync,
	.xFileSize = walbuf_file_size,
	.xLock = walbuf_lock,
	.xUnlock = walbuf_unlock,
	.xCheckReservedLock = walbuf_check_reserved,
	.xFileControl = walbuf_file_control,
	.xSectorSize = walbuf_sector_size,
	.xDeviceCharacteristics = walbuf_device_chars,
	.xShmMap = walbuf_shm_map,
	.xShmLock = walbuf_shm_lock,
	.xShmBarrier = walbuf_shm_barrier,
	.xShmUnmap = walbuf_shm_unmap,
	.xFetch = walbuf_fetch,
	.xUnfetch = walbuf_unfetch,
};

static int
walbuf_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags, int *oflags)
{
	walbuf_file *f = (walbuf_file *)file;
	(void)vfs;
	memset(f, 0, sizeof(*f));
	f->real = (sqlite3_file *)((char *)f + WALBUF_HDR);
	f->real->pMethods = NULL;
	int rc = walbuf_g.real->xOpen(walbuf_g.real, name, f->real, flags, oflags);
	if (rc != SQLITE_OK) {
		if (f->real->pMethods != NULL)
			f->real->pMethods->xClose(f->real);
		return rc;
	}
	/* The real file's methods must have every one we forward. */
	if (f->real->pMethods->iVersion < 3) {
		f->real->pMethods->xClose(f->real);
		return SQLITE_CANTOPEN;
	}
	f->name = (flags & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_WAL)) ? name : NULL;
	f->wal = name != NULL && (flags & SQLITE_OPEN_WAL) != 0;
	if (f->wal) {
		pthread_mutex_init(&f->mtx, NULL);
		pthread_mutex_lock(&walbuf_g.mtx);
		f->next = walbuf_g.wals;
		walbuf_g.wals = f;
		pthread_mutex_unlock(&walbuf_g.mtx);
	}
	f->base.pMethods = &walbuf_io;
	return SQLITE_OK;
}

static void
walbuf_init(void)
{
	sqlite3_vfs *real = sqlite3_vfs_find(NULL);
	if (real == NULL || real->iVersion < 1)
		return;
	walbuf_g.real = real;
	/* Every other method of the VFS is the real one's, called with our
	 * struct: they use nothing of it but what is copied here. */
	walbuf_g.vfs = *real;
	walbuf_g.vfs.zName = WALBUF_NAME;
	walbuf_g.vfs.szOsFile = (int)WALBUF_HDR + real->szOsFile;
	walbuf_g.vfs.pNext = NULL;
	walbuf_g.vfs.xOpen = walbuf_open;
	walbuf_g.ok = sqlite3_vfs_register(&walbuf_g.vfs, 0) == SQLITE_OK;
}

const char *
walbuf_vfs(void)
{
	pthread_once(&walbuf_once, walbuf_init);
	return walbuf_g.ok ? WALBUF_NAME : NULL;
}
