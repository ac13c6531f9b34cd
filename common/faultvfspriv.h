/*
 * faultvfspriv.h - what faultvfs.c (the VFS shim, its methods, the mode
 * parser and the installation) and faultdisk.c (the disk model of the
 * powerloss modes: unsynced sectors and the power cut) share; not for
 * other modules, which use faultvfs.h.
 *
 * Invariant: faultvfs_g.mtx guards the nodes and their sectors; in the
 * powerloss modes every xWrite, xSync and xTruncate on a tracked file
 * holds it across the real call, and the power cut takes it for good, so
 * a cut never lands inside one of them.
 */
#ifndef TWOPC_FAULTVFSPRIV_H
#define TWOPC_FAULTVFSPRIV_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#define FAULTVFS_SECTOR 512

enum {
	FAULTVFS_OFF,
	FAULTVFS_COUNT,
	FAULTVFS_POWERLOSS,
	FAULTVFS_IOERR_SYNC,
	FAULTVFS_IOERR_WRITE,
};

/* A sector written since the last sync, and what the disk still holds. */
typedef struct faultvfs_sector {
	sqlite3_int64 no;                  /* sector number */
	int oldlen;                        /* bytes of it on disk, 0..512 */
	int keep;                          /* the cut's draw */
	unsigned char old[FAULTVFS_SECTOR];
} faultvfs_sector;

/* One file (by full path) of the powerloss mode. */
typedef struct faultvfs_node {
	struct faultvfs_node *next;
	char *path;              /* NULL once deleted: no longer found by name */
	sqlite3_int64 disk_size; /* the size the disk has */
	faultvfs_sector **dirty; /* sorted by sector number */
	size_t ndirty, cap;
	int nopen;               /* faultvfs_files open on it */
} faultvfs_node;

typedef struct faultvfs_file {
	sqlite3_file base;
	sqlite3_file *real;
	faultvfs_node *node;     /* NULL: passed through */
} faultvfs_file;

typedef struct faultvfs_state {
	int mode;
	int tear;                /* powerloss:tear */
	uint64_t seed;
	uint64_t k;              /* ioerror: the failing call */
	sqlite3_vfs *real;
	sqlite3_vfs vfs;
	pthread_mutex_t mtx;     /* nodes and their sectors */
	faultvfs_node *nodes;
	_Atomic uint64_t syncs, writes;
} faultvfs_state;

/* The mode, the real VFS and the disk model: one per process (faultvfs.c). */
extern faultvfs_state faultvfs_g;

/* One line to stderr with a single write (usable while dying). */
void faultvfs_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The disk model (faultdisk.c); callers hold faultvfs_g.mtx. */

/* The index of sector NO in N->dirty, or where it would go (*found 0). */
size_t faultvfs_bsearch(const faultvfs_node *n, sqlite3_int64 no, int *found);
/* Remember the pre-image of every sector of [OFF, OFF+AMT) of F's node
 * not yet dirty, read through F's real file. SQLITE_OK, or the read's
 * error or SQLITE_IOERR_NOMEM (the sectors marked so far stay marked). */
int faultvfs_mark(faultvfs_file *f, sqlite3_int64 off, int amt);
/* Forget the dirty sectors from index FROM on. */
void faultvfs_forget(faultvfs_node *n, size_t from);
/* The node of PATH, or NULL; deleted nodes are not found. */
faultvfs_node *faultvfs_find(const char *path);
/* Free N if nothing refers to it any more: no handle open on it, and it
 * was deleted or has nothing to put back. */
void faultvfs_maybe_free(faultvfs_node *n);

/* Block SIGUSR2 in the calling thread and start the thread that answers
 * it with faultvfs_power_cut(); reports on stderr if it cannot. Called
 * once, at installation, before the process creates other threads. */
void faultvfs_sigwait_start(void);

#endif
