/*
 * walbuf.h - the VFS the logs are opened with: SQLite's writes of one
 * commit to a WAL file reach the kernel as one write instead of two per
 * page (walbuf.c says how, and why that is safe).
 *
 * Contract: walbuf_vfs() registers the VFS once per process (not as the
 * default: an application's other databases are not touched) over the VFS
 * that is the default at that moment, and returns its name for
 * sqlite3_open_v2, or NULL if it could not (then the default VFS serves).
 * What a process sees of the files, and what a crash or a sync leaves on
 * disk, is as without it: a commit is in the kernel before SQLite
 * publishes it, and xSync writes out anything gathered before it syncs.
 */
#ifndef TWOPC_WALBUF_H
#define TWOPC_WALBUF_H

#include <stdint.h>

#include <sqlite3.h>

const char *walbuf_vfs(void);
/* Writes to WAL files that reached the VFS below, and those SQLite made,
 * in this process so far (the difference is what was gathered). */
void walbuf_counts(uint64_t *real, uint64_t *asked);

#endif
