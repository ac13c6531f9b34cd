/*
 * faultvfs.c - see faultvfs.h.
 *
 * Method (the idea of SQLite's src/test6.c): every sqlite3_file the shim
 * opens is a faultvfs_file holding the real file of the wrapped VFS right
 * behind it. In powerloss mode a main-db or WAL file also points at a
 * faultvfs_node, shared by every handle open on that path (two connections
 * to one file must see each other's writes, as through the page cache):
 * the node keeps the writes not yet synced as an ordered list of chunks
 * (offset, length, data) - the dirty page cache of a kernel. xRead reads
 * the real file and lays the chunks over it, later chunks over earlier
 * ones; xFileSize is the larger of the real size and the chunks' end;
 * xTruncate trims the chunks and shrinks the real file; xSync writes the
 * chunks to the real file in order and then calls the real xSync. A power
 * cut writes to the real file what the disk would have kept (nothing, or
 * a random subset of whole sectors with their latest content) and _exits.
 *
 * The -shm file goes through untouched. That is sound: the wal-index in it
 * is only a cache of the WAL. Its content after the cut may describe WAL
 * frames that the cut dropped, but nobody reads it: the next process to
 * open the database finds no live holder of the "dead man switch" lock,
 * truncates the -shm file and rebuilds the wal-index from the WAL on disk
 * (walIndexRecover), checking every frame's checksum.
 *
 * Memory-mapped I/O would bypass xRead, so in powerloss mode xFetch hands
 * out no mapping (*pp = NULL) and SQLite falls back to xRead.
 */
#include "faultvfs.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "crash.h"

#define FAULTVFS_SECTOR 512
/* The real file follows our struct, aligned for anything. */
#define FAULTVFS_HDR ((sizeof(faultvfs_file) + 15) & ~(size_t)15)

enum {
	FAULTVFS_OFF,
	FAULTVFS_COUNT,
	FAULTVFS_POWERLOSS,
	FAULTVFS_IOERR_SYNC,
	FAULTVFS_IOERR_WRITE,
};

/* One unsynced write. */
typedef struct faultvfs_chunk {
	struct faultvfs_chunk *next;
	sqlite3_int64 off;
	int len;
	unsigned char data[];
} faultvfs_chunk;

/* One file (by full path) with its unsynced writes. */
typedef struct faultvfs_node {
	struct faultvfs_node *next;
	char *path;              /* NULL once deleted: no longer found by name */
	faultvfs_chunk *head;    /* in write order */
	int nopen;               /* faultvfs_files open on it */
} faultvfs_node;

typedef struct faultvfs_file {
	sqlite3_file base;
	sqlite3_file *real;
	faultvfs_node *node;     /* NULL: passed through */
} faultvfs_file;

static struct {
	int mode;
	int tear;                /* powerloss:tear */
	uint64_t seed;
	uint64_t k;              /* ioerror: the failing call */
	int flushed;             /* the exit flush ran: no more overlay */
	sqlite3_vfs *real;
	sqlite3_vfs vfs;
	pthread_mutex_t mtx;     /* nodes, chunks, flushed */
	faultvfs_node *nodes;
	_Atomic uint64_t syncs, writes;
} faultvfs_g = { .mtx = PTHREAD_MUTEX_INITIALIZER };

static pthread_once_t faultvfs_once = PTHREAD_ONCE_INIT;

static void faultvfs_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* One line to stderr with a single write (usable while dying). */
static void
faultvfs_say(const char *fmt, ...)
{
	char line[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 1)
		n = (int)sizeof(line) - 1;
	if (n > 0 && write(2, line, (size_t)n) < 0) {
		/* stderr is gone: nothing better to do */
	}
}

/* ------------------------------------------------------------------ */
/* the overlay (callers hold faultvfs_g.mtx)                           */

static sqlite3_int64
faultvfs_pending_end(const faultvfs_node *n)
{
	sqlite3_int64 end = 0;
	for (const faultvfs_chunk *c = n->head; c != NULL; c = c->next)
		if (c->off + c->len > end)
			end = c->off + c->len;
	return end;
}

/* Lay the chunks over BUF, which holds [OFF, OFF+AMT) of the real file. */
static void
faultvfs_overlay(const faultvfs_node *n, unsigned char *buf, int amt, sqlite3_int64 off)
{
	for (const faultvfs_chunk *c = n->head; c != NULL; c = c->next) {
		sqlite3_int64 lo = c->off > off ? c->off : off;
		sqlite3_int64 hi = c->off + c->len < off + amt ? c->off + c->len : off + amt;
		if (lo < hi)
			memcpy(buf + (lo - off), c->data + (lo - c->off), (size_t)(hi - lo));
	}
}

static void
faultvfs_drop_chunks(faultvfs_node *n)
{
	while (n->head != NULL) {
		faultvfs_chunk *c = n->head;
		n->head = c->next;
		free(c);
	}
}

static faultvfs_node *
faultvfs_find(const char *path)
{
	for (faultvfs_node *n = faultvfs_g.nodes; n != NULL; n = n->next)
		if (n->path != NULL && strcmp(n->path, path) == 0)
			return n;
	return NULL;
}

/* Free N if nothing refers to it any more. */
static void
faultvfs_maybe_free(faultvfs_node *n)
{
	if (n->nopen > 0 || (n->head != NULL && n->path != NULL))
		return;
	for (faultvfs_node **pp = &faultvfs_g.nodes; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == n) {
			*pp = n->next;
			break;
		}
	}
	faultvfs_drop_chunks(n);
	free(n->path);
	free(n);
}

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

static int
faultvfs_read(sqlite3_file *file, void *buf, int amt, sqlite3_int64 off)
{
	faultvfs_file *f = (faultvfs_file *)file;
	if (f->node == NULL)
		return f->real->pMethods->xRead(f->real, buf, amt, off);
	pthread_mutex_lock(&faultvfs_g.mtx);
	sqlite3_int64 size = 0;
	int rc = f->real->pMethods->xRead(f->real, buf, amt, off);
	if (rc == SQLITE_OK || rc == SQLITE_IOERR_SHORT_READ) {
		/* A short real read zero-fills the rest; the chunks may cover it. */
		int src = f->real->pMethods->xFileSize(f->real, &size);
		if (src != SQLITE_OK) {
			rc = src;
		} else {
			sqlite3_int64 end = faultvfs_pending_end(f->node);
			faultvfs_overlay(f->node, buf, amt, off);
			rc = off + amt > (end > size ? end : size) ? SQLITE_IOERR_SHORT_READ : SQLITE_OK;
		}
	}
	pthread_mutex_unlock(&faultvfs_g.mtx);
	return rc;
}

static int
faultvfs_write(sqlite3_file *file, const void *buf, int amt, sqlite3_int64 off)
{
	faultvfs_file *f = (faultvfs_file *)file;
	uint64_t nth = atomic_fetch_add(&faultvfs_g.writes, 1) + 1;
	if (faultvfs_g.mode == FAULTVFS_IOERR_WRITE && nth == faultvfs_g.k) {
		faultvfs_say("FAULT: write #%llu failed (injected)\n", (unsigned long long)nth);
		return SQLITE_IOERR_WRITE;
	}
	if (faultvfs_g.mode != FAULTVFS_POWERLOSS)
		return f->real->pMethods->xWrite(f->real, buf, amt, off);
	/* Powerloss: even pass-through writes hold the lock, so a cut never
	 * lands in the middle of one. */
	pthread_mutex_lock(&faultvfs_g.mtx);
	int rc = SQLITE_OK;
	if (f->node == NULL || faultvfs_g.flushed) {
		rc = f->real->pMethods->xWrite(f->real, buf, amt, off);
	} else {
		faultvfs_chunk *c = malloc(sizeof(*c) + (size_t)amt);
		if (c == NULL) {
			rc = SQLITE_IOERR_NOMEM;
		} else {
			c->off = off;
			c->len = amt;
			c->next = NULL;
			memcpy(c->data, buf, (size_t)amt);
			/* Forget the chunks this one covers; append it. */
			faultvfs_chunk **pp = &f->node->head;
			while (*pp != NULL) {
				faultvfs_chunk *o = *pp;
				if (o->off >= off && o->off + o->len <= off + amt) {
					*pp = o->next;
					free(o);
				} else {
					pp = &o->next;
				}
			}
			*pp = c;
		}
	}
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
	faultvfs_chunk **pp = &f->node->head;
	while (*pp != NULL) {
		faultvfs_chunk *c = *pp;
		if (c->off >= size) {
			*pp = c->next;
			free(c);
			continue;
		}
		if (c->off + c->len > size)
			c->len = (int)(size - c->off);
		pp = &c->next;
	}
	/* The real file changes only if it must: when it is longer (the
	 * shrink reaches the disk at once), or when even the overlay is
	 * shorter than SIZE (ftruncate extends with zeros). A shrink that
	 * only cuts unsynced data stays in memory. */
	sqlite3_int64 real = 0;
	int rc = f->real->pMethods->xFileSize(f->real, &real);
	if (rc == SQLITE_OK && (real > size || faultvfs_pending_end(f->node) < size))
		rc = f->real->pMethods->xTruncate(f->real, size);
	pthread_mutex_unlock(&faultvfs_g.mtx);
	return rc;
}

static int
faultvfs_sync(sqlite3_file *file, int flags)
{
	faultvfs_file *f = (faultvfs_file *)file;
	uint64_t nth = atomic_fetch_add(&faultvfs_g.syncs, 1) + 1;
	if (faultvfs_g.mode == FAULTVFS_IOERR_SYNC && nth == faultvfs_g.k) {
		faultvfs_say("FAULT: sync #%llu failed (injected)\n", (unsigned long long)nth);
		return SQLITE_IOERR_FSYNC;
	}
	if (faultvfs_g.mode != FAULTVFS_POWERLOSS)
		return f->real->pMethods->xSync(f->real, flags);
	pthread_mutex_lock(&faultvfs_g.mtx);
	int rc = SQLITE_OK;
	if (f->node != NULL) {
		/* To the page cache, in order; a cut from now on keeps them
		 * (the kernel would: fsync has begun). */
		while (f->node->head != NULL && rc == SQLITE_OK) {
			faultvfs_chunk *c = f->node->head;
			rc = f->real->pMethods->xWrite(f->real, c->data, c->len, c->off);
			if (rc == SQLITE_OK) {
				f->node->head = c->next;
				free(c);
			}
		}
	}
	if (rc == SQLITE_OK)
		rc = f->real->pMethods->xSync(f->real, flags);
	pthread_mutex_unlock(&faultvfs_g.mtx);
	return rc;
}

static int
faultvfs_file_size(sqlite3_file *file, sqlite3_int64 *size)
{
	faultvfs_file *f = (faultvfs_file *)file;
	if (f->node == NULL)
		return f->real->pMethods->xFileSize(f->real, size);
	pthread_mutex_lock(&faultvfs_g.mtx);
	int rc = f->real->pMethods->xFileSize(f->real, size);
	if (rc == SQLITE_OK) {
		sqlite3_int64 end = faultvfs_pending_end(f->node);
		if (end > *size)
			*size = end;
	}
	pthread_mutex_unlock(&faultvfs_g.mtx);
	return rc;
}

static int
faultvfs_lock(sqlite3_file *f, int lock)
{
	return FAULTVFS_RM(f)->xLock(FAULTVFS_REAL(f), lock);
}

static int
faultvfs_unlock(sqlite3_file *f, int lock)
{
	return FAULTVFS_RM(f)->xUnlock(FAULTVFS_REAL(f), lock);
}

static int
faultvfs_check_reserved(sqlite3_file *f, int *out)
{
	return FAULTVFS_RM(f)->xCheckReservedLock(FAULTVFS_REAL(f), out);
}

static int
faultvfs_file_control(sqlite3_file *file, int op, void *arg)
{
	faultvfs_file *f = (faultvfs_file *)file;
	/* The unix VFS grows the real file for a size hint: that would write
	 * behind the overlay's back. It is only a hint; skip it. */
	if (f->node != NULL && op == SQLITE_FCNTL_SIZE_HINT)
		return SQLITE_OK;
	return f->real->pMethods->xFileControl(f->real, op, arg);
}

static int
faultvfs_sector_size(sqlite3_file *f)
{
	return FAULTVFS_RM(f)->xSectorSize(FAULTVFS_REAL(f));
}

static int
faultvfs_device_chars(sqlite3_file *f)
{
	return FAULTVFS_RM(f)->xDeviceCharacteristics(FAULTVFS_REAL(f));
}

static int
faultvfs_shm_map(sqlite3_file *f, int pg, int pgsz, int extend, void volatile **pp)
{
	return FAULTVFS_RM(f)->xShmMap(FAULTVFS_REAL(f), pg, pgsz, extend, pp);
}

static int
faultvfs_shm_lock(sqlite3_file *f, int off, int n, int flags)
{
	return FAULTVFS_RM(f)->xShmLock(FAULTVFS_REAL(f), off, n, flags);
}

static void
faultvfs_shm_barrier(sqlite3_file *f)
{
	FAULTVFS_RM(f)->xShmBarrier(FAULTVFS_REAL(f));
}

static int
faultvfs_shm_unmap(sqlite3_file *f, int del)
{
	return FAULTVFS_RM(f)->xShmUnmap(FAULTVFS_REAL(f), del);
}

static int
faultvfs_fetch(sqlite3_file *file, sqlite3_int64 off, int amt, void **pp)
{
	faultvfs_file *f = (faultvfs_file *)file;
	if (f->node != NULL) {
		*pp = NULL;      /* no mapping: read through xRead and the overlay */
		return SQLITE_OK;
	}
	return f->real->pMethods->xFetch(f->real, off, amt, pp);
}

static int
faultvfs_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
	return FAULTVFS_RM(f)->xUnfetch(FAULTVFS_REAL(f), off, p);
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
		pthread_mutex_lock(&faultvfs_g.mtx);
		faultvfs_node *n = faultvfs_find(name);
		if (n == NULL && (n = calloc(1, sizeof(*n))) != NULL) {
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
			return SQLITE_NOMEM;
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
			/* Gone with its unsynced data; open handles keep the node. */
			faultvfs_drop_chunks(n);
			free(n->path);
			n->path = NULL;
			faultvfs_maybe_free(n);
		}
		pthread_mutex_unlock(&faultvfs_g.mtx);
	}
	return FAULTVFS_R->xDelete(FAULTVFS_R, path, dirsync);
}

static int
faultvfs_access(sqlite3_vfs *vfs, const char *path, int flags, int *out)
{
	(void)vfs;
	int rc = FAULTVFS_R->xAccess(FAULTVFS_R, path, flags, out);
	/* unix says a file of size 0 does not exist: one with unsynced
	 * writes does. */
	if (rc == SQLITE_OK && *out == 0 && flags == SQLITE_ACCESS_EXISTS &&
	    faultvfs_g.mode == FAULTVFS_POWERLOSS) {
		pthread_mutex_lock(&faultvfs_g.mtx);
		faultvfs_node *n = faultvfs_find(path);
		*out = n != NULL && n->head != NULL;
		pthread_mutex_unlock(&faultvfs_g.mtx);
	}
	return rc;
}

static int
faultvfs_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
	(void)vfs;
	return FAULTVFS_R->xFullPathname(FAULTVFS_R, name, n, out);
}

static void *
faultvfs_dlopen(sqlite3_vfs *vfs, const char *name)
{
	(void)vfs;
	return FAULTVFS_R->xDlOpen(FAULTVFS_R, name);
}

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

static int
faultvfs_randomness(sqlite3_vfs *vfs, int n, char *out)
{
	(void)vfs;
	return FAULTVFS_R->xRandomness(FAULTVFS_R, n, out);
}

static int
faultvfs_sleep(sqlite3_vfs *vfs, int us)
{
	(void)vfs;
	return FAULTVFS_R->xSleep(FAULTVFS_R, us);
}

static int
faultvfs_current_time(sqlite3_vfs *vfs, double *t)
{
	(void)vfs;
	return FAULTVFS_R->xCurrentTime(FAULTVFS_R, t);
}

static int
faultvfs_last_error(sqlite3_vfs *vfs, int n, char *msg)
{
	(void)vfs;
	return FAULTVFS_R->xGetLastError(FAULTVFS_R, n, msg);
}

static int
faultvfs_current_time64(sqlite3_vfs *vfs, sqlite3_int64 *t)
{
	(void)vfs;
	return FAULTVFS_R->xCurrentTimeInt64(FAULTVFS_R, t);
}

static int
faultvfs_set_syscall(sqlite3_vfs *vfs, const char *name, sqlite3_syscall_ptr p)
{
	(void)vfs;
	return FAULTVFS_R->xSetSystemCall(FAULTVFS_R, name, p);
}

static sqlite3_syscall_ptr
faultvfs_get_syscall(sqlite3_vfs *vfs, const char *name)
{
	(void)vfs;
	return FAULTVFS_R->xGetSystemCall(FAULTVFS_R, name);
}

static const char *
faultvfs_next_syscall(sqlite3_vfs *vfs, const char *name)
{
	(void)vfs;
	return FAULTVFS_R->xNextSystemCall(FAULTVFS_R, name);
}

/* ------------------------------------------------------------------ */
/* power cut                                                           */

static uint64_t
faultvfs_rand(uint64_t *s)
{
	/* xorshift64* */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

static int
faultvfs_cmp64(const void *a, const void *b)
{
	sqlite3_int64 x = *(const sqlite3_int64 *)a, y = *(const sqlite3_int64 *)b;
	return (x > y) - (x < y);
}

/* Apply the cut to N's real file: each dirty sector, in file order, is
 * written with its latest content or left as the disk had it. The file
 * descriptor is not closed: closing would drop SQLite's POSIX locks, and
 * the process ends at once anyway. */
static void
faultvfs_cut_node(faultvfs_node *n, uint64_t *rng, unsigned long *kept, unsigned long *lost)
{
	size_t cap = 0, m = 0;
	for (faultvfs_chunk *c = n->head; c != NULL; c = c->next)
		if (c->len > 0)
			cap += (size_t)((c->off + c->len - 1) / FAULTVFS_SECTOR - c->off / FAULTVFS_SECTOR + 1);
	sqlite3_int64 *sec = cap ? malloc(cap * sizeof(*sec)) : NULL;
	if (sec == NULL)
		return;          /* nothing dirty, or no memory: all dropped */
	for (faultvfs_chunk *c = n->head; c != NULL; c = c->next)
		for (sqlite3_int64 s = c->off / FAULTVFS_SECTOR;
		    c->len > 0 && s <= (c->off + c->len - 1) / FAULTVFS_SECTOR; s++)
			sec[m++] = s;
	qsort(sec, m, sizeof(*sec), faultvfs_cmp64);
	size_t u = 0;
	for (size_t i = 0; i < m; i++)
		if (u == 0 || sec[u - 1] != sec[i])
			sec[u++] = sec[i];
	int fd = faultvfs_g.tear ? open(n->path, O_RDWR) : -1;
	struct stat st;
	sqlite3_int64 end = faultvfs_pending_end(n);
	if (fd >= 0 && fstat(fd, &st) == 0 && st.st_size > end)
		end = st.st_size;
	for (size_t i = 0; i < u; i++) {
		unsigned char buf[FAULTVFS_SECTOR];
		sqlite3_int64 off = sec[i] * FAULTVFS_SECTOR;
		int len = end - off < FAULTVFS_SECTOR ? (int)(end - off) : FAULTVFS_SECTOR;
		int ok = fd >= 0 && ((faultvfs_rand(rng) >> 32) & 1) != 0;
		memset(buf, 0, sizeof(buf));
		if (ok && pread(fd, buf, (size_t)len, off) >= 0) {
			faultvfs_overlay(n, buf, len, off);
			ok = pwrite(fd, buf, (size_t)len, off) == len;
		} else {
			ok = 0;
		}
		if (ok)
			(*kept)++;
		else
			(*lost)++;
	}
	free(sec);
}

void
faultvfs_power_cut(void)
{
	unsigned long kept = 0, lost = 0;
	if (faultvfs_g.mode != FAULTVFS_POWERLOSS) {
		faultvfs_say("FAULT: power cut without the powerloss shim: a plain crash\n");
		_exit(CRASH_EXIT);
	}
	/* Never released: whoever does I/O next waits for the end. */
	pthread_mutex_lock(&faultvfs_g.mtx);
	uint64_t rng = faultvfs_g.seed ? faultvfs_g.seed : 0x9E3779B97F4A7C15ULL;
	for (faultvfs_node *n = faultvfs_g.nodes; n != NULL; n = n->next)
		if (n->path != NULL && n->head != NULL)
			faultvfs_cut_node(n, &rng, &kept, &lost);
	if (faultvfs_g.tear)
		faultvfs_say("FAULT: power cut (tear, seed %llu): %lu unsynced sectors written, "
		    "%lu lost\n", (unsigned long long)faultvfs_g.seed, kept, lost);
	else
		faultvfs_say("FAULT: power cut: %lu unsynced sectors lost\n", lost);
	_exit(CRASH_EXIT);
}

/* A normal exit: the kernel keeps what was written, synced or not. */
static void
faultvfs_at_exit(void)
{
	pthread_mutex_lock(&faultvfs_g.mtx);
	for (faultvfs_node *n = faultvfs_g.nodes; n != NULL; n = n->next) {
		if (n->path == NULL || n->head == NULL)
			continue;
		int fd = open(n->path, O_WRONLY);   /* not closed: see cut_node */
		for (faultvfs_chunk *c = n->head; fd >= 0 && c != NULL; c = c->next)
			if (pwrite(fd, c->data, (size_t)c->len, c->off) != c->len)
				faultvfs_say("faultvfs: %s: write at exit failed\n", n->path);
		faultvfs_drop_chunks(n);
	}
	faultvfs_g.flushed = 1;
	pthread_mutex_unlock(&faultvfs_g.mtx);
}

static sigset_t faultvfs_usr2;

static void *
faultvfs_sigwaiter(void *arg)
{
	(void)arg;
	for (;;) {
		int sig = 0;
		if (sigwait(&faultvfs_usr2, &sig) == 0 && sig == SIGUSR2)
			faultvfs_power_cut();
	}
	return NULL;
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
	w->iVersion = real->iVersion > 3 ? 3 : real->iVersion;
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
	w->xSetSystemCall = faultvfs_set_syscall;
	w->xGetSystemCall = faultvfs_get_syscall;
	w->xNextSystemCall = faultvfs_next_syscall;
	if (mode == FAULTVFS_POWERLOSS) {
		pthread_t t;
		sigemptyset(&faultvfs_usr2);
		sigaddset(&faultvfs_usr2, SIGUSR2);
		/* Threads created from here on inherit the blocked mask. */
		pthread_sigmask(SIG_BLOCK, &faultvfs_usr2, NULL);
		if (pthread_create(&t, NULL, faultvfs_sigwaiter, NULL) != 0)
			fprintf(stderr, "TWOPC_FAULT_VFS: no SIGUSR2 thread: power cuts by signal off\n");
		else
			pthread_detach(t);
		atexit(faultvfs_at_exit);
	}
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
