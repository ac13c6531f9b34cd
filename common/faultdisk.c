/*
 * faultdisk.c - the disk as the powerloss modes of faultvfs.h model it:
 * which sectors were written since the last xSync and what the disk still
 * holds there, and the power cut that puts them back.
 *
 * Method (the idea of SQLite's src/test6.c, turned inside out): writes go
 * to the real file at once, so the file holds what a kernel's page cache
 * would - every process sees it, reads need no help, a crash keeps it. What
 * the shim remembers is the other side: for every 512-byte sector of a
 * main-db or WAL file written since that file's last xSync, the sector's
 * content as the disk still has it (its pre-image, read before the first
 * write touching it), and the file's size on disk. xSync forgets them: the
 * disk now has what the file has. A power cut puts back the pre-image of
 * every dirty sector (dropped) or of a random subset (torn), and cuts the
 * file back to its size on disk, extended only by sectors that were kept.
 *
 * The per-file state is a faultvfs_node shared by every handle open on that
 * path, as the page cache is shared: a sync through one connection makes
 * the writes of another durable too. A node outlives its last close while
 * it has dirty sectors (closing does not sync); xDelete forgets it.
 *
 * Invariants (under faultvfs_g.mtx): a node's dirty sectors are sorted by
 * number, each at most once; a deleted node (path NULL) is found by no
 * name, is left alone by the cut and lives only while handles are open on
 * it.
 */
#include "faultvfs.h"

#include <fcntl.h>
#include <stdarg.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crash.h"
#include "faultvfspriv.h"

/* The state both files share (faultvfspriv.h); defined here, at the bottom
 * of the two, so that faultvfs.c depends on this file and not back. */
faultvfs_state faultvfs_g = { .mtx = PTHREAD_MUTEX_INITIALIZER };

void
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

size_t
faultvfs_bsearch(const faultvfs_node *n, sqlite3_int64 no, int *found)
{
	size_t lo = 0, hi = n->ndirty;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (n->dirty[mid]->no < no)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < n->ndirty && n->dirty[lo]->no == no;
	return lo;
}

int
faultvfs_mark(faultvfs_file *f, sqlite3_int64 off, int amt)
{
	faultvfs_node *n = f->node;
	for (sqlite3_int64 no = off / FAULTVFS_SECTOR;
	    amt > 0 && no <= (off + amt - 1) / FAULTVFS_SECTOR; no++) {
		int found;
		size_t at = faultvfs_bsearch(n, no, &found);
		if (found)
			continue;
		if (n->ndirty == n->cap) {
			size_t cap = n->cap ? n->cap * 2 : 64;
			faultvfs_sector **d = realloc(n->dirty, cap * sizeof(*d));
			if (d == NULL)
				return SQLITE_IOERR_NOMEM;
			n->dirty = d;
			n->cap = cap;
		}
		faultvfs_sector *s = calloc(1, sizeof(*s));
		if (s == NULL)
			return SQLITE_IOERR_NOMEM;
		sqlite3_int64 on_disk = n->disk_size - no * FAULTVFS_SECTOR;
		s->no = no;
		s->oldlen = on_disk <= 0 ? 0 : on_disk >= FAULTVFS_SECTOR ? FAULTVFS_SECTOR : (int)on_disk;
		if (s->oldlen > 0) {
			int rc = f->real->pMethods->xRead(f->real, s->old, s->oldlen,
			    no * FAULTVFS_SECTOR);
			if (rc != SQLITE_OK && rc != SQLITE_IOERR_SHORT_READ) {
				free(s);
				return rc;
			}
		}
		memmove(n->dirty + at + 1, n->dirty + at, (n->ndirty - at) * sizeof(*n->dirty));
		n->dirty[at] = s;
		n->ndirty++;
	}
	return SQLITE_OK;
}

void
faultvfs_forget(faultvfs_node *n, size_t from)
{
	for (size_t i = from; i < n->ndirty; i++)
		free(n->dirty[i]);
	n->ndirty = from;
}

faultvfs_node *
faultvfs_find(const char *path)
{
	for (faultvfs_node *n = faultvfs_g.nodes; n != NULL; n = n->next)
		if (n->path != NULL && strcmp(n->path, path) == 0)
			return n;
	return NULL;
}

void
faultvfs_maybe_free(faultvfs_node *n)
{
	if (n->nopen > 0 || (n->ndirty > 0 && n->path != NULL))
		return;
	for (faultvfs_node **pp = &faultvfs_g.nodes; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == n) {
			*pp = n->next;
			break;
		}
	}
	faultvfs_forget(n, 0);
	free(n->dirty);
	free(n->path);
	free(n);
}

static uint64_t
faultvfs_rand(uint64_t *s)
{
	/* xorshift64* */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

/* Apply the cut to N's real file: draw each dirty sector (kept with its
 * new content, or put back), then cut the file to its size on disk, or to
 * the end of the last kept sector past it. Put-back sectors between the
 * two become zeros (a hole). The descriptor is not closed: closing would
 * drop SQLite's POSIX locks, and the process ends at once anyway. */
static void
faultvfs_cut_node(faultvfs_node *n, uint64_t *rng, unsigned long *kept, unsigned long *lost)
{
	int fd = open(n->path, O_RDWR);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		faultvfs_say("FAULT: power cut: %s: cannot reopen, %zu dirty sectors left as they are\n",
		    n->path, n->ndirty);
		return;
	}
	sqlite3_int64 size = n->disk_size;
	for (size_t i = 0; i < n->ndirty; i++) {
		faultvfs_sector *s = n->dirty[i];
		s->keep = faultvfs_g.tear && ((faultvfs_rand(rng) >> 32) & 1) != 0 &&
		    s->no * FAULTVFS_SECTOR < st.st_size;
		sqlite3_int64 end = (s->no + 1) * FAULTVFS_SECTOR;
		if (end > st.st_size)
			end = st.st_size;
		if (s->keep && end > size)
			size = end;
	}
	for (size_t i = 0; i < n->ndirty; i++) {
		faultvfs_sector *s = n->dirty[i];
		sqlite3_int64 off = s->no * FAULTVFS_SECTOR;
		if (s->keep) {
			(*kept)++;
			continue;
		}
		(*lost)++;
		if (off >= size)
			continue;        /* cut off below */
		unsigned char buf[FAULTVFS_SECTOR];
		int len = size - off < FAULTVFS_SECTOR ? (int)(size - off) : FAULTVFS_SECTOR;
		memset(buf, 0, sizeof(buf));
		memcpy(buf, s->old, (size_t)s->oldlen);
		if (pwrite(fd, buf, (size_t)len, off) != len)
			faultvfs_say("FAULT: power cut: %s: cannot put sector %lld back\n", n->path,
			    (long long)s->no);
	}
	if (size < st.st_size && ftruncate(fd, size) != 0)
		faultvfs_say("FAULT: power cut: %s: cannot cut back to %lld bytes\n", n->path,
		    (long long)size);
}

void
faultvfs_power_cut(void)
{
	unsigned long kept = 0, lost = 0;
	if (faultvfs_g.mode != FAULTVFS_POWERLOSS) {
		faultvfs_say("FAULT: power cut without the powerloss shim: a plain crash\n");
		_exit(CRASH_EXIT);
	}
	/* Never released: whoever writes next waits for the end. */
	pthread_mutex_lock(&faultvfs_g.mtx);
	uint64_t rng = faultvfs_g.seed ? faultvfs_g.seed : 0x9E3779B97F4A7C15ULL;
	for (faultvfs_node *n = faultvfs_g.nodes; n != NULL; n = n->next)
		if (n->path != NULL && n->ndirty > 0)
			faultvfs_cut_node(n, &rng, &kept, &lost);
	if (faultvfs_g.tear)
		faultvfs_say("FAULT: power cut (tear, seed %llu): %lu unsynced sectors written, "
		    "%lu lost\n", (unsigned long long)faultvfs_g.seed, kept, lost);
	else
		faultvfs_say("FAULT: power cut: %lu unsynced sectors lost\n", lost);
	_exit(CRASH_EXIT);
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

void
faultvfs_sigwait_start(void)
{
	pthread_t t;
	sigemptyset(&faultvfs_usr2);
	sigaddset(&faultvfs_usr2, SIGUSR2);
	/* Threads created from here on inherit the blocked mask. */
	pthread_sigmask(SIG_BLOCK, &faultvfs_usr2, NULL);
	if (pthread_create(&t, NULL, faultvfs_sigwaiter, NULL) != 0)
		fprintf(stderr, "TWOPC_FAULT_VFS: no SIGUSR2 thread: power cuts by signal off\n");
	else
		pthread_detach(t);
}
