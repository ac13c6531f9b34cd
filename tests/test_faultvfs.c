/*
 * test_faultvfs.c - CUnit suite "faultvfs" for the fault-injecting SQLite
 * VFS (common/faultvfs.c, common/faultdisk.c).
 *
 * The shim is installed from the environment once per process, so every
 * case runs a child process: fork, then exec of this very binary
 * (/proc/self/exe faultvfs) with TWOPC_FAULT_VFS and TWOPC_FVT_* set. A
 * fresh exec, not a bare fork: the runner may already have called db_open
 * (suite "logs"), which spends the pthread_once of a forked copy. In the
 * child, test_faultvfs_register() sees TWOPC_FVT_CHILD and runs one of two
 * programs instead of registering anything:
 *
 *   workload  db_open(DIR/t.db, FULL or NORMAL) with table t(id, v),
 *             cache_size 16; N transactions each inserting row i with a
 *             random blob, the outcome of each appended to DIR/report with
 *             one write(2) (survives _exit); optionally an explicit
 *             checkpoint after row CKPT_AT; the rows seen through this
 *             connection and a second one; then END: close (db_close, exit
 *             0), crash (_exit(CRASH_EXIT), no cut), pause (wait for the
 *             parent's SIGUSR2), cut (faultvfs_power_cut), txcut (a big
 *             uncommitted transaction spilling to the WAL, then the cut).
 *   unit      drives the VFS methods on five small files u1..u5 (see
 *             fvt_unit and fvt_images), then cuts.
 *
 * The parent then reads the files with a plain sqlite3 connection or
 * read(2) (this process never installs the shim). What each case proves:
 *
 *   off          TWOPC_FAULT_VFS unset: no shim (default VFS "unix", no
 *                counting).
 *   unknown      a bad value is reported on stderr naming the variable; no
 *                shim; the database works.
 *   sectors      the bookkeeping, file by file: writes reach the file at
 *                once (an outside reader sees them); a sync makes them
 *                durable, through any handle on the file; unsynced growth
 *                (also past a hole, also by a second handle) is cut back;
 *                unsynced data outlives close; a deleted file stays deleted;
 *                a shrink is durable at once, also inside a dirty sector.
 *                Drop (seed 0): every file is exactly as at its last sync.
 *                Tear (seeds 1..6): every 512-byte sector is all old or all
 *                new and the size lies between; over the seeds sectors are
 *                both kept and put back.
 *   count        N forced commits in FULL mode count >= N syncs, at least
 *                one per commit; writes are counted; nothing else changes.
 *   full         powerloss, synchronous=FULL, with checkpoints (db-file
 *                writes, WAL restarts): both connections see every row
 *                before the cut; after it, every committed row and no
 *                uncommitted one, integrity ok, and sectors were really lost.
 *   normal       powerloss, synchronous=NORMAL: rows up to the explicit
 *                checkpoint survive; the later commits (never synced) are
 *                lost; integrity ok.
 *   crash        powerloss, NORMAL, a crash (_exit) without a cut: nothing
 *                is lost (the kernel keeps unsynced writes).
 *   visible      powerloss, NORMAL: while the child lives, another process
 *                (the parent, read-only) sees all its rows, synced or not,
 *                and a sound file; then SIGUSR2 cuts the power and only the
 *                rows up to the checkpoint remain.
 *   tear         powerloss:tear with seeds 1..6: FULL keeps every committed
 *                row; NORMAL keeps a prefix of the commits at least up to
 *                the checkpoint; never a corrupt file; sectors were both
 *                written and dropped over the seeds.
 *   sigusr2      SIGUSR2 at a moment the child does not choose, while it
 *                commits in a loop (tear, FULL, frequent checkpoints): exit
 *                CRASH_EXIT, integrity ok, every reported commit present.
 *   ioerr_sync   ioerror:sync:K, K three syncs after the open (learned from
 *                a count run): exactly one db_commit fails, with TWOPC_EIO,
 *                at the commit that reached sync K; the stderr line names K;
 *                later commits succeed; integrity ok; every row whose commit
 *                succeeded is present. (Whether the failed row survived is
 *                left open: after a failed fsync nobody knows.)
 *   ioerr_write  ioerror:write:K: the same for a write (which may fail the
 *                insert or the commit).
 *
 * Every wait is bounded (FVT_CHILD_MS per child; the SIGUSR2 case polls the
 * report in 10 ms steps).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <sqlite3.h>

#include "crash.h"
#include "db.h"
#include "faultvfs.h"
#include "twopc/error.h"
#include "testutil.h"

void test_faultvfs_register(void);

#define FVT_CHILD_MS 60000
#define FVT_NAP_MS 10
#define FVT_MAXTX 512

/* ------------------------------------------------------------------ */
/* assertions that say what they saw                                   */

/* ------------------------------------------------------------------ */
/* the child                                                           */

static long
fvt_env(const char *name, long dflt)
{
	const char *v = getenv(name);
	return v != NULL && *v != '\0' ? strtol(v, NULL, 10) : dflt;
}

static void fvt_note(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One line, one write: it survives the _exit of a power cut. */
static void
fvt_note(int fd, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > 0 && write(fd, line, (size_t)n) != n)
		_exit(3);
}

static long long
fvt_count(sqlite3 *h)
{
	sqlite3_stmt *st = NULL;
	long long n = -1;
	if (sqlite3_prepare_v2(h, "SELECT count(*) FROM t", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static int
fvt_insert(db *d, long id, long blob)
{
	sqlite3_stmt *st = db_stmt(d, 10, "INSERT INTO t(id, v) VALUES(?1, randomblob(?2))");
	if (st == NULL)
		return TWOPC_EIO;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, blob);
	return db_step_done(d, st);
}

/* ---- the "unit" child: the VFS methods called directly */

static int fvt_ufd = -1;     /* the report */
static int fvt_ufails;

#define U_TRUE(cond) do { \
	if (!(cond)) { \
		fvt_note(fvt_ufd, "unit-fail %d %s\n", __LINE__, #cond); \
		fvt_ufails++; \
	} \
} while (0)

static sqlite3_file *
fvt_uopen(sqlite3_vfs *v, const char *path)
{
	sqlite3_file *f = calloc(1, (size_t)v->szOsFile);
	int out = 0;
	if (f != NULL && v->xOpen(v, path, f, SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_CREATE |
	    SQLITE_OPEN_READWRITE, &out) != SQLITE_OK) {
		free(f);
		f = NULL;
	}
	return f;
}

static void
fvt_uclose(sqlite3_file *f)
{
	f->pMethods->xClose(f);
	free(f);
}

static sqlite3_int64
fvt_usize(sqlite3_file *f)
{
	sqlite3_int64 sz = -1;
	return f->pMethods->xFileSize(f, &sz) == SQLITE_OK ? sz : -1;
}

static long long
fvt_disk_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* BUF[0..N) all C? */
static int
fvt_all(const unsigned char *buf, int n, int c)
{
	for (int i = 0; i < n; i++)
		if (buf[i] != c)
			return 0;
	return 1;
}

static int
fvt_uwrite(sqlite3_file *f, int c, int n, sqlite3_int64 off)
{
	unsigned char buf[1024];
	memset(buf, c, sizeof(buf));
	return f->pMethods->xWrite(f, buf, n, off);
}

/* FD's bytes at [OFF, OFF+N) all C? */
static int
fvt_disk_all(int fd, sqlite3_int64 off, int n, int c)
{
	unsigned char b[1024];
	return n <= (int)sizeof(b) && pread(fd, b, (size_t)n, off) == n && fvt_all(b, n, c);
}

static void
fvt_unit(const char *dir)
{
	char p[5][512];
	for (int i = 0; i < 5; i++)
		snprintf(p[i], sizeof(p[i]), "%s/u%d.db", dir, i + 1);
	faultvfs_install_from_env();
	sqlite3_vfs *v = sqlite3_vfs_find(NULL);
	if (v == NULL || strcmp(v->zName, "faultvfs") != 0 || !faultvfs_powerloss()) {
		fvt_note(fvt_ufd, "unit-fail %d no powerloss shim\n", __LINE__);
		_exit(4);
	}
	int fd = open(p[0], O_RDWR | O_CREAT, 0644);    /* an outside reader */
	/* u1: synced A*1000, then unsynced B, C (growth), D (past a hole) */
	sqlite3_file *f = fvt_uopen(v, p[0]);
	if (f == NULL || fd < 0)
		_exit(4);
	U_TRUE(fvt_uwrite(f, 'A', 1000, 0) == SQLITE_OK);
	U_TRUE(f->pMethods->xSync(f, SQLITE_SYNC_NORMAL) == SQLITE_OK);
	U_TRUE(fvt_uwrite(f, 'B', 10, 500) == SQLITE_OK);
	U_TRUE(fvt_disk_all(fd, 500, 10, 'B'));       /* in the file at once */
	U_TRUE(fvt_uwrite(f, 'C', 100, 950) == SQLITE_OK);
	U_TRUE(fvt_usize(f) == 1050 && fvt_disk_size(p[0]) == 1050);
	U_TRUE(fvt_uwrite(f, 'D', 10, 4000) == SQLITE_OK);
	U_TRUE(fvt_usize(f) == 4010);
	/* a second handle shares the bookkeeping: its write into the hole is
	 * unsynced growth too (a handle of its own would take 4010 as the
	 * size on disk, and the cut would leave the file that long) */
	sqlite3_file *g = fvt_uopen(v, p[0]);
	U_TRUE(g != NULL);
	if (g != NULL) {
		U_TRUE(fvt_uwrite(g, 'E', 10, 3000) == SQLITE_OK);
		fvt_uclose(g);
	}
	/* u2: unsynced data outlives close */
	sqlite3_file *h = fvt_uopen(v, p[1]);
	U_TRUE(h != NULL);
	if (h != NULL) {
		U_TRUE(fvt_uwrite(h, 'X', 10, 0) == SQLITE_OK);
		U_TRUE(h->pMethods->xSync(h, SQLITE_SYNC_NORMAL) == SQLITE_OK);
		U_TRUE(fvt_uwrite(h, 'Y', 10, 0) == SQLITE_OK);
		fvt_uclose(h);
	}
	/* u3: a deleted file stays deleted */
	h = fvt_uopen(v, p[2]);
	U_TRUE(h != NULL);
	if (h != NULL) {
		U_TRUE(fvt_uwrite(h, 'Z', 10, 0) == SQLITE_OK);
		fvt_uclose(h);
	}
	U_TRUE(v->xDelete(v, p[2], 0) == SQLITE_OK);
	/* u4: a shrink reaches the disk at once, also inside a dirty sector */
	h = fvt_uopen(v, p[3]);
	U_TRUE(h != NULL);
	if (h != NULL) {
		U_TRUE(fvt_uwrite(h, 'F', 1000, 0) == SQLITE_OK);
		U_TRUE(fvt_uwrite(h, 'F', 1000, 1000) == SQLITE_OK);
		U_TRUE(h->pMethods->xSync(h, SQLITE_SYNC_NORMAL) == SQLITE_OK);
		U_TRUE(fvt_uwrite(h, 'H', 100, 900) == SQLITE_OK);
		U_TRUE(h->pMethods->xTruncate(h, 950) == SQLITE_OK);
		U_TRUE(fvt_usize(h) == 950);
		U_TRUE(fvt_uwrite(h, 'G', 10, 1500) == SQLITE_OK);
		U_TRUE(fvt_usize(h) == 1510);
		fvt_uclose(h);
	}
	/* u5: a sync through one handle makes the other's writes durable */
	h = fvt_uopen(v, p[4]);
	g = fvt_uopen(v, p[4]);
	U_TRUE(h != NULL && g != NULL);
	if (h != NULL && g != NULL) {
		U_TRUE(fvt_uwrite(h, 'P', 100, 0) == SQLITE_OK);
		U_TRUE(g->pMethods->xSync(g, SQLITE_SYNC_NORMAL) == SQLITE_OK);
	}
	if (h != NULL)
		fvt_uclose(h);
	if (g != NULL)
		fvt_uclose(g);
	fvt_note(fvt_ufd, "unit-done %d\n", fvt_ufails);
	faultvfs_power_cut();    /* f still open */
}

static void
fvt_child(const char *what)
{
	const char *dir = getenv("TWOPC_FVT_DIR");
	char path[512], rpath[512];
	db *d = NULL;

	if (dir == NULL)
		_exit(2);
	snprintf(path, sizeof(path), "%s/t.db", dir);
	snprintf(rpath, sizeof(rpath), "%s/report", dir);
	int rfd = open(rpath, O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (rfd < 0)
		_exit(2);
	if (strcmp(what, "unit") == 0) {
		fvt_ufd = rfd;
		fvt_unit(dir);
	}
	if (strcmp(what, "workload") != 0)
		_exit(2);
	faultvfs_install_from_env();    /* as a daemon's main() does; db_open does not */
	long n = fvt_env("TWOPC_FVT_N", 10), blob = fvt_env("TWOPC_FVT_BLOB", 100);
	long ckpt_at = fvt_env("TWOPC_FVT_CKPT_AT", 0);
	const char *end = getenv("TWOPC_FVT_END");
	char pragma[128];

	if (db_open(path, (int)fvt_env("TWOPC_FVT_FULL", 1),
	    "CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, v BLOB)", &d) != 0) {
		fvt_note(rfd, "open-failed\n");
		_exit(4);
	}
	sqlite3_vfs *v = sqlite3_vfs_find(NULL);
	fvt_note(rfd, "open %llu %llu %s %d\n", (unsigned long long)faultvfs_syncs(),
	    (unsigned long long)faultvfs_writes(), v ? v->zName : "none", faultvfs_powerloss());
	snprintf(pragma, sizeof(pragma), "PRAGMA cache_size=16; PRAGMA wal_autocheckpoint=%ld;",
	    fvt_env("TWOPC_FVT_CKPT", 1000));
	if (db_exec(d, pragma) != 0)
		_exit(4);
	for (long i = 1; i <= n; i++) {
		const char *stage = "ok";
		int rc = db_begin(d);
		if (rc != 0) {
			stage = "begin";
		} else if ((rc = fvt_insert(d, i, blob)) != 0) {
			stage = "insert";
			db_rollback(d);
		} else if ((rc = db_commit(d)) != 0) {
			stage = "commit";
		} else if ((rc = db_durable(d)) != 0) {
			stage = "sync";
		}
		fvt_note(rfd, "tx %ld %s %d %llu %llu\n", i, stage, rc,
		    (unsigned long long)faultvfs_syncs(), (unsigned long long)faultvfs_writes());
		if (i == ckpt_at) {
			rc = db_exec(d, "PRAGMA wal_checkpoint(FULL)");
			fvt_note(rfd, "ckpt %ld %d\n", i, rc);
		}
	}
	sqlite3 *h2 = NULL;
	long long other = -1;
	if (sqlite3_open_v2(path, &h2, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK) {
		sqlite3_busy_timeout(h2, 2000);
		other = fvt_count(h2);
	}
	sqlite3_close(h2);
	fvt_note(rfd, "seen %lld %lld\n", fvt_count(db_sqlite(d)), other);
	if (end == NULL || strcmp(end, "close") == 0) {
		db_close(d);
		exit(0);
	}
	if (strcmp(end, "crash") == 0)
		_exit(CRASH_EXIT);      /* a crash point: no cut, db left open */
	if (strcmp(end, "pause") == 0) {
		fvt_note(rfd, "paused\n");     /* the parent cuts with SIGUSR2 */
		for (int i = 0; i < FVT_CHILD_MS / 100; i++)
			tu_nap_ms(100);
		_exit(5);
	}
	if (strcmp(end, "txcut") == 0 && db_begin(d) == 0) {
		/* 2 MB: more than walbuf.c gathers, so frames reach the file. */
		for (long i = 1; i <= 1000; i++)
			if (fvt_insert(d, 1000000 + i, 2000) != 0)
				break;
		fvt_note(rfd, "uncommitted %llu\n", (unsigned long long)faultvfs_writes());
	}
	faultvfs_power_cut();
}

/* ------------------------------------------------------------------ */
/* the parent                                                          */

typedef struct fvt_run {
	char dir[64];
	char db[128];
	int status;              /* wait status; -1 if it had to be killed */
	char err[8192];          /* the child's stderr */
	char report[65536];
	/* parsed report */
	unsigned long long open_syncs, open_writes;
	char vfs[32];
	int powerloss;
	int ntx;                 /* lines "tx" */
	char stage[FVT_MAXTX][8];
	int rc[FVT_MAXTX];
	unsigned long long syncs[FVT_MAXTX], writes[FVT_MAXTX];
	long long seen1, seen2;
	long long live_rows;     /* fvt_peek, before the cut */
	int live_ok;
} fvt_run;

static void
fvt_slurp(const char *path, char *buf, size_t len)
{
	buf[0] = '\0';
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return;
	ssize_t n = read(fd, buf, len - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
}

static void
fvt_read_report(fvt_run *r)
{
	char path[160];
	snprintf(path, sizeof(path), "%s/report", r->dir);
	fvt_slurp(path, r->report, sizeof(r->report));
}

static void
fvt_parse(fvt_run *r)
{
	fvt_read_report(r);
	r->ntx = 0;
	r->seen1 = r->seen2 = -2;
	char *copy = strdup(r->report);
	for (char *line = copy; line != NULL && *line; ) {
		char *nl = strchr(line, '\n');
		if (nl != NULL)
			*nl = '\0';
		int i;
		char stage[8];
		int rc;
		unsigned long long s, w;
		if (sscanf(line, "open %llu %llu %31s %d", &r->open_syncs, &r->open_writes, r->vfs,
		    &r->powerloss) == 4) {
			/* parsed */
		} else if (sscanf(line, "tx %d %7s %d %llu %llu", &i, stage, &rc, &s, &w) == 5 &&
		    i == r->ntx + 1 && i <= FVT_MAXTX) {
			snprintf(r->stage[r->ntx], sizeof(r->stage[0]), "%s", stage);
			r->rc[r->ntx] = rc;
			r->syncs[r->ntx] = s;
			r->writes[r->ntx] = w;
			r->ntx++;
		} else if (sscanf(line, "seen %lld %lld", &r->seen1, &r->seen2) == 2) {
			/* parsed */
		}
		line = nl != NULL ? nl + 1 : NULL;
	}
	free(copy);
}

/* Run the child KIND ("workload" or "unit") with ENV ("VAR=value",
 * NULL-terminated) added to ours minus any TWOPC_FAULT_* / TWOPC_FVT_*, and
 * wait for its end. USR2_MARK: once the report holds it, call HOOK (unless
 * NULL) and send SIGUSR2. 0, or -1 (CUnit told). */
static int
fvt_spawn_kind(fvt_run *r, const char *kind, const char *const *env, const char *usr2_mark,
    void (*hook)(fvt_run *))
{
	memset(r, 0, sizeof(*r));
	snprintf(r->dir, sizeof(r->dir), "/tmp/twopc-fvt-XXXXXX");
	if (mkdtemp(r->dir) == NULL) {
		CU_FAIL("mkdtemp failed");
		return -1;
	}
	snprintf(r->db, sizeof(r->db), "%s/t.db", r->dir);

	char dirvar[128], errpath[128], kindvar[64];
	snprintf(dirvar, sizeof(dirvar), "TWOPC_FVT_DIR=%s", r->dir);
	snprintf(kindvar, sizeof(kindvar), "TWOPC_FVT_CHILD=%s", kind);
	snprintf(errpath, sizeof(errpath), "%s/stderr", r->dir);
	size_t n = 0, ne = 0;
	while (environ[n] != NULL)
		n++;
	while (env[ne] != NULL)
		ne++;
	char **envp = calloc(n + ne + 3, sizeof(*envp));
	if (envp == NULL) {
		CU_FAIL("out of memory");
		return -1;
	}
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "TWOPC_FAULT_", 12) != 0 &&
		    strncmp(environ[i], "TWOPC_FVT_", 10) != 0)
			envp[k++] = environ[i];
	for (size_t i = 0; i < ne; i++)
		envp[k++] = (char *)env[i];
	envp[k++] = dirvar;
	envp[k++] = kindvar;
	char *argv[] = { (char *)"twopc-tests", (char *)"faultvfs", NULL };

	int efd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	pid_t pid = efd < 0 ? -1 : fork();
	if (pid == 0) {
		dup2(efd, 2);
		dup2(efd, 1);
		execve("/proc/self/exe", argv, envp);
		_exit(127);
	}
	free(envp);
	if (efd >= 0)
		close(efd);
	if (pid < 0) {
		CU_FAIL("fork failed");
		return -1;
	}
	int waited = 0, st = 0, sent = usr2_mark == NULL;
	pid_t got = 0;
	while ((got = waitpid(pid, &st, WNOHANG)) == 0 && waited < FVT_CHILD_MS) {
		if (!sent && (fvt_read_report(r), strstr(r->report, usr2_mark) != NULL)) {
			if (hook != NULL)
				hook(r);
			kill(pid, SIGUSR2);
			sent = 1;
		}
		tu_nap_ms(FVT_NAP_MS);
		waited += FVT_NAP_MS;
	}
	if (got == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		r->status = -1;
	} else {
		r->status = st;
	}
	fvt_slurp(errpath, r->err, sizeof(r->err));
	fvt_parse(r);
	t_check(r->status != -1, __LINE__, "child still running after %d ms (stderr: %s)",
	    FVT_CHILD_MS, r->err);
	return r->status == -1 ? -1 : 0;
}

static int
fvt_spawn(fvt_run *r, const char *const *env)
{
	return fvt_spawn_kind(r, "workload", env, NULL, NULL);
}

static int
fvt_exit_code(const fvt_run *r)
{
	return r->status >= 0 && WIFEXITED(r->status) ? WEXITSTATUS(r->status) : -1;
}

#define T_EXIT(r, code) t_check(fvt_exit_code(r) == (code), __LINE__, \
	"child exit %d (status 0x%x), want %d; stderr: %s", fvt_exit_code(r), \
	(unsigned)(r)->status, (code), (r)->err)

static void
fvt_cleanup(fvt_run *r)
{
	tu_rmtree(r->dir);
}

/* R, a finished run of the workload child with the environment ENV
 * (USR2_MARK and HOOK as fvt_spawn_kind). 0, or -1 (CUnit told) with
 * nothing left behind. */
static int
fvt_begin(fvt_run *r, const char *const *env, const char *usr2_mark, void (*hook)(fvt_run *))
{
	if (fvt_spawn_kind(r, "workload", env, usr2_mark, hook) == 0)
		return 0;
	fvt_cleanup(r);
	return -1;
}

/* A case on one run R of the workload child with the environment given
 * (fvt_begin); the run is removed after. */
#define FVT_CASE(name, usr2_mark, hook, ...) \
	T_CASE(name, fvt_run, r, \
	    fvt_begin(r, (const char *const[]){ __VA_ARGS__, NULL }, (usr2_mark), (hook)), \
	    fvt_cleanup)

/* The first column of SQL's first row on the database, read without the
 * shim (this process never installs it); -1 on error. */
static long long
fvt_sql_int(const fvt_run *r, const char *sql)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;
	long long v = -1;
	if (sqlite3_open_v2(r->db, &h, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return v;
}

static void
fvt_integrity(const fvt_run *r, int line)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;
	char got[256] = "(no answer)";
	if (sqlite3_open_v2(r->db, &h, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		snprintf(got, sizeof(got), "%s", (const char *)sqlite3_column_text(st, 0));
	else
		snprintf(got, sizeof(got), "error: %s", h ? sqlite3_errmsg(h) : "no handle");
	sqlite3_finalize(st);
	sqlite3_close(h);
	t_check(strcmp(got, "ok") == 0, line, "%s: integrity_check says \"%s\"", r->db, got);
}

/* Rows with id <= C: exactly 1..C must be there. */
static void
fvt_has_prefix(const fvt_run *r, long c, int line)
{
	char sql[128];
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM t WHERE id <= %ld", c);
	long long got = fvt_sql_int(r, sql);
	t_check(got == c, line, "%s: rows 1..%ld: %lld present", r->db, c, got);
}

/* "... N unsynced sectors written, M lost" / "... M unsynced sectors lost" */
static void
fvt_cut_sectors(const fvt_run *r, unsigned long *written, unsigned long *lost)
{
	const char *p = strstr(r->err, "FAULT: power cut");
	unsigned long w = 0, l = 0;
	*written = *lost = 0;
	if (p == NULL)
		return;
	p = strchr(p, ':');
	p = p ? strchr(p + 1, ':') : NULL;
	if (p == NULL)
		return;
	if (sscanf(p, ": %lu unsynced sectors written, %lu lost", &w, &l) == 2) {
		*written = w;
		*lost = l;
	} else if (sscanf(p, ": %lu unsynced sectors lost", &l) == 1) {
		*lost = l;
	}
}

/* ------------------------------------------------------------------ */
/* cases                                                               */

FVT_CASE(off, NULL, NULL,
    "TWOPC_FVT_N=3")
{
	T_EXIT(r, 0);
	T_HAS(r->vfs, "unix");
	T_EQ(r->open_syncs, 0);
	T_EQ(r->ntx, 3);
	T_EQ(r->ntx > 0 ? r->syncs[r->ntx - 1] : 1, 0);
	T_EQ(fvt_sql_int(r, "SELECT count(*) FROM t"), 3);
}

FVT_CASE(unknown, NULL, NULL,
    "TWOPC_FAULT_VFS=bogus", "TWOPC_FVT_N=3")
{
	T_EXIT(r, 0);
	T_HAS(r->err, "TWOPC_FAULT_VFS");
	T_HAS(r->err, "bogus");
	T_HAS(r->vfs, "unix");
	T_EQ(r->ntx > 0 ? r->syncs[r->ntx - 1] : 1, 0);
	T_EQ(fvt_sql_int(r, "SELECT count(*) FROM t"), 3);
}

/* The images the "unit" child leaves: before (on disk at its last sync)
 * and after (every write) the unsynced writes, per file u1..u5. */
typedef struct fvt_image {
	unsigned char old[4096], new[4096];
	int oldlen, newlen;
} fvt_image;

static void
fvt_fill(unsigned char *buf, int off, int n, int c)
{
	memset(buf + off, c, (size_t)n);
}

static void
fvt_images(fvt_image im[5])
{
	memset(im, 0, 5 * sizeof(*im));
	fvt_fill(im[0].old, 0, 1000, 'A');
	im[0].oldlen = 1000;
	memcpy(im[0].new, im[0].old, 1000);
	fvt_fill(im[0].new, 500, 10, 'B');
	fvt_fill(im[0].new, 950, 100, 'C');
	fvt_fill(im[0].new, 3000, 10, 'E');
	fvt_fill(im[0].new, 4000, 10, 'D');
	im[0].newlen = 4010;
	fvt_fill(im[1].old, 0, 10, 'X');
	fvt_fill(im[1].new, 0, 10, 'Y');
	im[1].oldlen = im[1].newlen = 10;
	im[2].oldlen = im[2].newlen = -1;          /* deleted */
	fvt_fill(im[3].old, 0, 950, 'F');
	im[3].oldlen = 950;
	fvt_fill(im[3].new, 0, 900, 'F');
	fvt_fill(im[3].new, 900, 50, 'H');
	fvt_fill(im[3].new, 1500, 10, 'G');
	im[3].newlen = 1510;
	fvt_fill(im[4].old, 0, 100, 'P');
	fvt_fill(im[4].new, 0, 100, 'P');
	im[4].oldlen = im[4].newlen = 100;
}

/* PATH after a cut: exactly the old image (DROP), or each 512-byte sector
 * either all old or all new, the size between the two. 1 if so; else 0
 * and WHY. */
static int
fvt_cut_ok(const char *path, const fvt_image *im, int drop, char *why, size_t len)
{
	unsigned char buf[8192];
	int fd = open(path, O_RDONLY);
	if (fd < 0) {
		snprintf(why, len, "%s: missing", path);
		return im->oldlen < 0;
	}
	int n = (int)read(fd, buf, sizeof(buf));
	close(fd);
	if (im->oldlen < 0) {
		snprintf(why, len, "%s: deleted, but there (%d bytes)", path, n);
		return 0;
	}
	if (drop ? n != im->oldlen : n < im->oldlen || n > im->newlen) {
		snprintf(why, len, "%s: %d bytes (old %d, new %d)", path, n, im->oldlen, im->newlen);
		return 0;
	}
	for (int lo = 0; lo < n; lo += 512) {
		int hi = lo + 512 < n ? lo + 512 : n;
		int is_old = memcmp(buf + lo, im->old + lo, (size_t)(hi - lo)) == 0;
		int is_new = memcmp(buf + lo, im->new + lo, (size_t)(hi - lo)) == 0;
		if (!(is_old || (!drop && is_new))) {
			snprintf(why, len, "%s: sector %d is neither old nor new", path, lo / 512);
			return 0;
		}
	}
	return 1;
}

static void
test_sectors(void)
{
	fvt_run *r = calloc(1, sizeof(*r));
	fvt_image im[5];
	unsigned long tw = 0, tl = 0;
	if (r == NULL)
		return;
	fvt_images(im);
	for (int seed = 0; seed <= 6; seed++) {
		char seedvar[40], path[160], why[256];
		unsigned long w, l;
		snprintf(seedvar, sizeof(seedvar), "TWOPC_FAULT_SEED=%d", seed);
		const char *env[] = { seed ? "TWOPC_FAULT_VFS=powerloss:tear" : "TWOPC_FAULT_VFS=powerloss",
			seedvar, NULL };
		if (fvt_spawn_kind(r, "unit", env, NULL, NULL) == 0) {
			T_EXIT(r, CRASH_EXIT);
			t_check(strstr(r->report, "unit-fail") == NULL, __LINE__, "%s", r->report);
			T_HAS(r->report, "unit-done 0");
			for (int i = 0; i < 5; i++) {
				snprintf(path, sizeof(path), "%s/u%d.db", r->dir, i + 1);
				t_check(fvt_cut_ok(path, &im[i], seed == 0, why, sizeof(why)), __LINE__,
				    "seed %d: %s", seed, why);
			}
			fvt_cut_sectors(r, &w, &l);
			if (seed == 0)
				t_check(w == 0 && l > 0, __LINE__, "drop: %lu written, %lu lost", w, l);
			tw += w;
			tl += l;
		}
		fvt_cleanup(r);
	}
	t_check(tw > 0 && tl > 0, __LINE__, "tearing: %lu sectors kept, %lu put back", tw, tl);
	free(r);
}

FVT_CASE(count, NULL, NULL,
    "TWOPC_FAULT_VFS=count", "TWOPC_FVT_N=10")
{
	T_EXIT(r, 0);
	T_HAS(r->vfs, "faultvfs");
	T_EQ(r->powerloss, 0);
	T_EQ(r->ntx, 10);
	if (r->ntx == 10) {
		t_check(r->syncs[9] - r->open_syncs >= 10, __LINE__,
		    "10 forced commits, %llu syncs", r->syncs[9] - r->open_syncs);
		T_TRUE(r->writes[9] > r->open_writes);
		for (int i = 0; i < 10; i++)
			t_check(r->syncs[i] > (i ? r->syncs[i - 1] : r->open_syncs), __LINE__,
			    "commit %d did not sync", i + 1);
	}
	fvt_integrity(r, __LINE__);
	T_EQ(fvt_sql_int(r, "SELECT count(*) FROM t"), 10);
}

FVT_CASE(full, NULL, NULL,
    "TWOPC_FAULT_VFS=powerloss", "TWOPC_FVT_N=60", "TWOPC_FVT_BLOB=3000",
    "TWOPC_FVT_CKPT=8", "TWOPC_FVT_END=txcut")
{
	unsigned long w, l;
	T_EXIT(r, CRASH_EXIT);
	T_EQ(r->powerloss, 1);
	T_EQ(r->ntx, 60);
	for (int i = 0; i < r->ntx; i++)
		t_check(r->rc[i] == 0, __LINE__, "commit %d: %s %d", i + 1, r->stage[i], r->rc[i]);
	T_EQ(r->seen1, 60);
	T_EQ(r->seen2, 60);
	T_HAS(r->report, "uncommitted");
	fvt_cut_sectors(r, &w, &l);
	t_check(l > 0, __LINE__, "the cut lost no sector: %s", r->err);
	fvt_integrity(r, __LINE__);
	T_EQ(fvt_sql_int(r, "SELECT count(*) FROM t"), 60);
	T_EQ(fvt_sql_int(r, "SELECT sum(id) FROM t"), 60 * 61 / 2);
}

FVT_CASE(normal, NULL, NULL,
    "TWOPC_FAULT_VFS=powerloss", "TWOPC_FVT_FULL=0", "TWOPC_FVT_N=20",
    "TWOPC_FVT_CKPT_AT=8", "TWOPC_FVT_BLOB=500", "TWOPC_FVT_END=cut")
{
	T_EXIT(r, CRASH_EXIT);
	T_HAS(r->err, "FAULT: power cut");
	T_EQ(r->ntx, 20);
	T_EQ(r->seen1, 20);
	T_EQ(r->seen2, 20);
	T_HAS(r->report, "ckpt 8 0");
	fvt_integrity(r, __LINE__);
	fvt_has_prefix(r, 8, __LINE__);
	long long n = fvt_sql_int(r, "SELECT count(*) FROM t");
	t_check(n < 20, __LINE__, "NORMAL: %lld of 20 rows survived the cut, none lost", n);
	/* Drop-all: every commit after the checkpoint's sync is gone. */
	T_EQ(n, 8);
}

FVT_CASE(crash, NULL, NULL,
    "TWOPC_FAULT_VFS=powerloss", "TWOPC_FVT_FULL=0", "TWOPC_FVT_N=10",
    "TWOPC_FVT_END=crash")
{
	T_EXIT(r, CRASH_EXIT);
	t_check(strstr(r->err, "FAULT") == NULL, __LINE__, "a crash is no fault: %s", r->err);
	T_EQ(r->seen1, 10);
	fvt_integrity(r, __LINE__);
	T_EQ(fvt_sql_int(r, "SELECT count(*) FROM t"), 10);
}

/* Before the cut: the rows another process sees (read-only, so its close
 * cannot checkpoint), and whether it found the file sound. */
static void
fvt_peek(fvt_run *r)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;
	r->live_rows = -1;
	if (sqlite3_open_v2(r->db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(h, "SELECT count(*) FROM t", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		r->live_rows = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	st = NULL;
	r->live_ok = h != NULL &&
	    sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW &&
	    strcmp((const char *)sqlite3_column_text(st, 0), "ok") == 0;
	sqlite3_finalize(st);
	sqlite3_close(h);
}

FVT_CASE(visible, "paused", fvt_peek,
    "TWOPC_FAULT_VFS=powerloss", "TWOPC_FVT_FULL=0", "TWOPC_FVT_N=10",
    "TWOPC_FVT_CKPT_AT=4", "TWOPC_FVT_END=pause")
{
	T_EXIT(r, CRASH_EXIT);
	T_HAS(r->err, "FAULT: power cut");
	T_EQ(r->live_rows, 10);
	T_TRUE(r->live_ok);
	fvt_integrity(r, __LINE__);
	T_EQ(fvt_sql_int(r, "SELECT count(*) FROM t"), 4);
}

static void
test_tear(void)
{
	unsigned long tw = 0, tl = 0;
	fvt_run *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return;
	for (int seed = 1; seed <= 6; seed++) {
		char seedvar[40];
		unsigned long w, l;
		snprintf(seedvar, sizeof(seedvar), "TWOPC_FAULT_SEED=%d", seed);
		const char *full[] = { "TWOPC_FAULT_VFS=powerloss:tear", seedvar, "TWOPC_FVT_N=40",
			"TWOPC_FVT_BLOB=3000", "TWOPC_FVT_CKPT=8", "TWOPC_FVT_END=txcut", NULL };
		if (fvt_spawn(r, full) == 0) {
			T_EXIT(r, CRASH_EXIT);
			T_EQ(r->ntx, 40);
			fvt_integrity(r, __LINE__);
			T_EQ(fvt_sql_int(r, "SELECT count(*) FROM t"), 40);
			fvt_has_prefix(r, 40, __LINE__);
			fvt_cut_sectors(r, &w, &l);
			tw += w;
			tl += l;
		}
		fvt_cleanup(r);
		const char *normal[] = { "TWOPC_FAULT_VFS=powerloss:tear", seedvar,
			"TWOPC_FVT_FULL=0", "TWOPC_FVT_N=30", "TWOPC_FVT_BLOB=1500",
			"TWOPC_FVT_CKPT_AT=10", "TWOPC_FVT_END=cut", NULL };
		if (fvt_spawn(r, normal) == 0) {
			T_EXIT(r, CRASH_EXIT);
			fvt_integrity(r, __LINE__);
			fvt_has_prefix(r, 10, __LINE__);
			long long n = fvt_sql_int(r, "SELECT count(*) FROM t");
			long long max = fvt_sql_int(r, "SELECT max(id) FROM t");
			t_check(n >= 10 && n <= 30 && max == n, __LINE__,
			    "seed %d NORMAL: %lld rows, max id %lld: not a prefix of 30 commits",
			    seed, n, max);
			fvt_cut_sectors(r, &w, &l);
			tw += w;
			tl += l;
		}
		fvt_cleanup(r);
	}
	t_check(tw > 0 && tl > 0, __LINE__, "tearing: %lu sectors written, %lu lost over the seeds",
	    tw, tl);
	free(r);
}

static void
test_sigusr2(void)
{
	fvt_run *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return;
	for (int seed = 1; seed <= 4; seed++) {
		char seedvar[40], mark[32];
		snprintf(seedvar, sizeof(seedvar), "TWOPC_FAULT_SEED=%d", seed);
		snprintf(mark, sizeof(mark), "\ntx %d ", 15 + 7 * seed);
		const char *env[] = { "TWOPC_FAULT_VFS=powerloss:tear", seedvar, "TWOPC_FVT_N=100000",
			"TWOPC_FVT_BLOB=1500", "TWOPC_FVT_CKPT=4", "TWOPC_FVT_END=none", NULL };
		if (fvt_spawn_kind(r, "workload", env, mark, NULL) == 0) {
			T_EXIT(r, CRASH_EXIT);
			T_HAS(r->err, "FAULT: power cut");
			t_check(r->ntx >= 15 + 7 * seed, __LINE__, "seed %d: %d commits reported",
			    seed, r->ntx);
			for (int i = 0; i < r->ntx; i++)
				t_check(r->rc[i] == 0, __LINE__, "commit %d: %s %d", i + 1,
				    r->stage[i], r->rc[i]);
			fvt_integrity(r, __LINE__);
			fvt_has_prefix(r, r->ntx, __LINE__);
			/* the commit in flight at the cut may or may not be there */
			long long n = fvt_sql_int(r, "SELECT count(*) FROM t");
			t_check(n == r->ntx || n == r->ntx + 1, __LINE__,
			    "seed %d: %lld rows after %d reported commits", seed, n, r->ntx);
		}
		fvt_cleanup(r);
	}
	free(r);
}

/* ioerror:KIND:K with K three calls after the open. */
static void
fvt_ioerr(int sync)
{
	const char *cenv[] = { "TWOPC_FAULT_VFS=count", "TWOPC_FVT_N=8", NULL };
	fvt_run *r = calloc(1, sizeof(*r));
	char mode[64], line[64];
	if (r == NULL)
		return;
	if (fvt_spawn(r, cenv) != 0)
		goto out;
	T_EXIT(r, 0);
	unsigned long long k = (sync ? r->open_syncs : r->open_writes) + 3;
	fvt_cleanup(r);
	snprintf(mode, sizeof(mode), "TWOPC_FAULT_VFS=ioerror:%s:%llu", sync ? "sync" : "write", k);
	snprintf(line, sizeof(line), "FAULT: %s #%llu failed (injected)", sync ? "sync" : "write", k);
	const char *env[] = { mode, "TWOPC_FVT_N=8", NULL };
	if (fvt_spawn(r, env) != 0)
		goto out;
	T_EXIT(r, 0);
	T_HAS(r->err, line);
	T_EQ(r->ntx, 8);
	int first = -1;
	long ok_rows = 0;
	char sql[256] = "SELECT count(*) FROM t WHERE id IN (0";
	for (int i = 0; i < r->ntx; i++) {
		unsigned long long before = i ? (sync ? r->syncs[i - 1] : r->writes[i - 1])
		    : (sync ? r->open_syncs : r->open_writes);
		unsigned long long after = sync ? r->syncs[i] : r->writes[i];
		int hit = before < k && k <= after;
		if (r->rc[i] != 0) {
			T_EQ(r->rc[i], TWOPC_EIO);
			if (first >= 0) {
				/* After a failed sync or commit nothing is promised
				 * again: every later db_durable fails. */
				T_HAS(r->stage[i], "sync");
				continue;
			}
			first = i;
			t_check(hit, __LINE__, "tx %d failed (%s) but calls %llu..%llu miss #%llu",
			    i + 1, r->stage[i], before + 1, after, k);
			if (sync)
				T_HAS(r->stage[i], "sync");
		} else {
			t_check(first < 0, __LINE__, "tx %d succeeded after a failed one", i + 1);
			t_check(!hit, __LINE__, "tx %d reached call #%llu and still succeeded",
			    i + 1, k);
			size_t len = strlen(sql);
			snprintf(sql + len, sizeof(sql) - len, ",%d", i + 1);
			ok_rows++;
		}
	}
	T_TRUE(first >= 0);
	fvt_integrity(r, __LINE__);
	strncat(sql, ")", sizeof(sql) - strlen(sql) - 1);
	T_EQ(fvt_sql_int(r, sql), ok_rows);
out:
	fvt_cleanup(r);
	free(r);
}

static void
test_ioerr_sync(void)
{
	fvt_ioerr(1);
}

static void
test_ioerr_write(void)
{
	fvt_ioerr(0);
}

void
test_faultvfs_register(void)
{
	const char *child = getenv("TWOPC_FVT_CHILD");
	if (child != NULL && *child != '\0') {
		fvt_child(child);       /* never returns */
		_exit(2);
	}
	static const tu_test tests[] = {
		{ "off", test_off },
		{ "unknown", test_unknown },
		{ "sectors", test_sectors },
		{ "count", test_count },
		{ "full", test_full },
		{ "normal", test_normal },
		{ "crash", test_crash },
		{ "visible", test_visible },
		{ "tear", test_tear },
		{ "sigusr2", test_sigusr2 },
		{ "ioerr_sync", test_ioerr_sync },
		{ "ioerr_write", test_ioerr_write },
	};
	TU_SUITE("faultvfs", tests);
}
