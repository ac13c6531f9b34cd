/*
 * ledger.c - a twopc participant whose resource is not a database: a
 * ledger that keeps one small file per account in a directory.
 *
 *   ledger -c FILE -n NAME [-d DIR] [-v]
 *
 * It is built only against the installed library (see README.md):
 *
 *   cc -o ledger ledger.c $(pkg-config --cflags --libs twopc-participant)
 *
 * Operations (the same words as twopc-participant's store):
 *   put KEY N      set the balance of account KEY to N (an integer >= 0)
 *   add KEY D      add D (may be negative) to the balance; vote ABORT if
 *                  the result would be negative (a missing account is 0)
 *   check KEY N    vote ABORT unless the balance of KEY is N
 *   del KEY        close the account; vote ABORT unless its balance is 0
 *
 * How the three callbacks keep the protocol's promises:
 *
 *   prepare  reads the balances (the library holds the locks of every key
 *            of the transaction, so they cannot change before the
 *            decision), evaluates the ops in order and stages the FINAL
 *            balance of every account written (twopc_txn_stage). Nothing
 *            is written to the ledger directory; the workspace lives in
 *            the library's log and is forced with READY.
 *   commit   writes each staged balance as a whole new file: write a
 *            temporary file, fsync it, rename it over the account, then
 *            fsync the directory. Staging final values (never deltas) is
 *            what makes commit idempotent: after a crash anywhere inside
 *            commit the transaction is still READY in the log, commit is
 *            called again, and writing the same values again is harmless.
 *   abort    nothing was written outside the workspace; it only removes
 *            temporary files a crashed commit may have left.
 *   read     returns the content of the account's file (`twopc get`).
 *
 * Files in DIR (default: the directory of FILE, then NAME.ledger/):
 *   KEY          one account: its balance and a newline. Keys of
 *                [A-Za-z0-9_-][A-Za-z0-9_.-]* (at most 200 bytes) are
 *                used as they are; any other key (at most 120 bytes) is
 *                stored as '%' followed by its bytes in hex.
 *   .counters    how many times each callback was called, "prepare N",
 *                "commit N", "abort N", one a line, updated when each call
 *                starts; tests read it to see a callback called again
 *                after a crash.
 *   .*.tmp       temporary files of a commit in progress.
 *
 * Test hook: LEDGER_CRASH_IN_COMMIT=N makes the N-th commit call end the
 * process (_exit(86), no cleanup, like TWOPC_CRASH_AT) after the files are
 * renamed into place and before the library forces COMMIT: a crash
 * between applying the resource and recording it, which the library must
 * repair by calling commit again.
 *
 * Exit status: 0 after SIGTERM or SIGINT, 1 when the library stopped
 * because its log could not be forced, 2 for usage or configuration errors.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <twopc/participant.h>

#define LEDGER_KEY_PLAIN_MAX 200
#define LEDGER_KEY_HEX_MAX 120
#define LEDGER_FNAME_MAX (2 * LEDGER_KEY_HEX_MAX + 8)
#define LEDGER_CRASH_EXIT 86

/* The resource's state. Callbacks are serialized by the library (one at a
 * time per handle), so nothing here needs a lock. */
typedef struct ledger {
	char dir[PATH_MAX];
	int dirfd;
	unsigned long nprepare, ncommit, nabort;
	long crash_in_commit;     /* LEDGER_CRASH_IN_COMMIT, 0 = off */
} ledger;

/* ---- account files ---- */

/* The file name of KEY in FNAME, or -1 if the key cannot be stored. */
static int
ledger_fname(const char *key, char *fname, size_t len)
{
	size_t n = strlen(key);
	int plain = n > 0 && n <= LEDGER_KEY_PLAIN_MAX && key[0] != '.';
	for (size_t i = 0; plain && i < n; i++) {
		unsigned char c = (unsigned char)key[i];
		plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '_' || c == '-' || c == '.';
	}
	if (plain)
		return snprintf(fname, len, "%s", key) < (int)len ? 0 : -1;
	if (n == 0 || n > LEDGER_KEY_HEX_MAX || 2 * n + 2 > len)
		return -1;
	fname[0] = '%';
	for (size_t i = 0; i < n; i++)
		snprintf(fname + 1 + 2 * i, 3, "%02x", (unsigned char)key[i]);
	return 0;
}

/* Read the file of KEY into BUF without its newline: 1 found, 0 absent,
 * TWOPC_EIO, TWOPC_EINVAL (the key cannot be stored). */
static int
ledger_load(ledger *l, const char *key, char *buf, size_t len)
{
	char fname[LEDGER_FNAME_MAX];
	if (ledger_fname(key, fname, sizeof(fname)) != 0)
		return TWOPC_EINVAL;
	int fd = openat(l->dirfd, fname, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : TWOPC_EIO;
	size_t at = 0;
	for (;;) {
		ssize_t r = read(fd, buf + at, len - 1 - at);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			close(fd);
			return TWOPC_EIO;
		}
		if (r == 0 || (at += (size_t)r) == len - 1)
			break;
	}
	close(fd);
	buf[at] = '\0';
	if (at > 0 && buf[at - 1] == '\n')
		buf[at - 1] = '\0';
	return 1;
}

static int
ledger_int(const char *s, int64_t *out)
{
	char *end;
	if (s == NULL || *s == '\0')
		return 0;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return 0;
	*out = v;
	return 1;
}

/* Write the whole string TEXT into DIR/NAME durably: the caller renames
 * it into place and fsyncs the directory. 0 or -1 (errno). */
static int
ledger_write_file(ledger *l, const char *name, const char *text)
{
	int fd = openat(l->dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	size_t n = strlen(text), at = 0;
	while (at < n) {
		ssize_t w = write(fd, text + at, n - at);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			/* a short write is an error, never "probably fine" */
			close(fd);
			return -1;
		}
		at += (size_t)w;
	}
	if (fsync(fd) != 0) {
		close(fd);
		return -1;
	}
	return close(fd);
}

/* Replace account KEY by BALANCE (no directory fsync: the caller's). */
static int
ledger_put_file(ledger *l, const char *key, const char *balance)
{
	char fname[LEDGER_FNAME_MAX], tmp[LEDGER_FNAME_MAX + 8], text[64];
	if (ledger_fname(key, fname, sizeof(fname)) != 0)
		return -1;
	snprintf(tmp, sizeof(tmp), ".%s.tmp", fname);
	snprintf(text, sizeof(text), "%s\n", balance);
	if (ledger_write_file(l, tmp, text) != 0)
		return -1;
	return renameat(l->dirfd, tmp, l->dirfd, fname);
}

static int
ledger_del_file(ledger *l, const char *key)
{
	char fname[LEDGER_FNAME_MAX];
	if (ledger_fname(key, fname, sizeof(fname)) != 0)
		return -1;
	return unlinkat(l->dirfd, fname, 0) == 0 || errno == ENOENT ? 0 : -1;
}

/* Count one call of a callback in .counters (rewritten whole, by rename,
 * so a reader never sees half a file). Best effort: a failure to count
 * must not fail the callback. */
static void
ledger_count(ledger *l, unsigned long *counter)
{
	char text[128];
	(*counter)++;
	snprintf(text, sizeof(text), "prepare %lu\ncommit %lu\nabort %lu\n", l->nprepare,
	    l->ncommit, l->nabort);
	int fd = openat(l->dirfd, ".counters.new", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	ssize_t w = write(fd, text, strlen(text));
	if (close(fd) == 0 && w == (ssize_t)strlen(text))
		(void)renameat(l->dirfd, ".counters.new", l->dirfd, ".counters");
}

static void
ledger_count_load(ledger *l)
{
	char buf[128];
	int fd = openat(l->dirfd, ".counters", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t r = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (r <= 0)
		return;
	buf[r] = '\0';
	if (sscanf(buf, "prepare %lu commit %lu abort %lu", &l->nprepare, &l->ncommit,
	    &l->nabort) != 3)
		l->nprepare = l->ncommit = l->nabort = 0;
}

/* ---- the callbacks ---- */

/* One account as the transaction sees it so far. */
typedef struct ledger_view {
	const char *key;
	int present;
	int64_t balance;
	int written;
} ledger_view;

static int
ledger_prepare(void *user, twopc_txn *txn, const twopc_op *ops, size_t nops)
{
	ledger *l = user;
	ledger_view *view = calloc(nops ? nops : 1, sizeof(*view));
	size_t nview = 0;
	char reason[200] = "";
	int vote = TWOPC_VOTE_COMMIT;

	ledger_count(l, &l->nprepare);
	if (view == NULL)
		return TWOPC_ENOMEM;
	for (size_t i = 0; i < nops && vote == TWOPC_VOTE_COMMIT; i++) {
		const twopc_op *op = &ops[i];
		ledger_view *v = NULL;
		for (size_t k = 0; k < nview && v == NULL; k++)
			if (strcmp(view[k].key, op->key) == 0)
				v = &view[k];
		if (v == NULL) {
			char text[64];
			v = &view[nview++];
			v->key = op->key;
			int rv = ledger_load(l, op->key, text, sizeof(text));
			if (rv == TWOPC_EINVAL) {
				snprintf(reason, sizeof(reason), "key '%.40s...' cannot be a ledger account",
				    op->key);
				vote = TWOPC_VOTE_ABORT;
				break;
			}
			if (rv < 0) {
				vote = rv; /* counts as ABORT; the library gives the reason */
				break;
			}
			v->present = rv == 1;
			if (v->present && !ledger_int(text, &v->balance)) {
				snprintf(reason, sizeof(reason), "account %.40s holds '%.40s', not a balance",
				    op->key, text);
				vote = TWOPC_VOTE_ABORT;
				break;
			}
		}
		int64_t n = 0;
		if (strcmp(op->op, "put") == 0) {
			if (!ledger_int(op->value, &n) || n < 0) {
				snprintf(reason, sizeof(reason), "put: '%.40s' is not a balance (integer >= 0)",
				    op->value);
				vote = TWOPC_VOTE_ABORT;
			} else {
				v->present = 1;
				v->balance = n;
				v->written = 1;
			}
		} else if (strcmp(op->op, "add") == 0) {
			int64_t res;
			if (!ledger_int(op->value, &n)) {
				snprintf(reason, sizeof(reason), "add: '%.40s' is not an integer", op->value);
				vote = TWOPC_VOTE_ABORT;
			} else if (__builtin_add_overflow(v->present ? v->balance : 0, n, &res)) {
				snprintf(reason, sizeof(reason), "add: %.40s would overflow", op->key);
				vote = TWOPC_VOTE_ABORT;
			} else if (res < 0) {
				snprintf(reason, sizeof(reason),
				    "insufficient funds: %.40s is %" PRId64 ", cannot add %" PRId64, op->key,
				    v->present ? v->balance : 0, n);
				vote = TWOPC_VOTE_ABORT;
			} else {
				v->present = 1;
				v->balance = res;
				v->written = 1;
			}
		} else if (strcmp(op->op, "check") == 0) {
			if (!v->present || !ledger_int(op->value, &n) || n != v->balance) {
				snprintf(reason, sizeof(reason), "check failed: %.40s is %s, expected '%.40s'",
				    op->key, v->present ? "set" : "absent", op->value);
				vote = TWOPC_VOTE_ABORT;
			}
		} else if (strcmp(op->op, "del") == 0) {
			if (v->present && v->balance != 0) {
				snprintf(reason, sizeof(reason),
				    "del: account %.40s still holds %" PRId64, op->key, v->balance);
				vote = TWOPC_VOTE_ABORT;
			} else {
				v->present = 0;
				v->written = 1;
			}
		} else {
			snprintf(reason, sizeof(reason), "the ledger does not know op '%.20s'", op->op);
			vote = TWOPC_VOTE_ABORT;
		}
	}
	/* Stage final balances, not the ops: commit only copies them, so
	 * running it twice writes the same files. */
	for (size_t k = 0; k < nview && vote == TWOPC_VOTE_COMMIT; k++) {
		if (!view[k].written)
			continue;
		char text[32];
		snprintf(text, sizeof(text), "%" PRId64, view[k].balance);
		int rv = view[k].present ? twopc_txn_stage(txn, "put", view[k].key, text) :
		    twopc_txn_stage(txn, "del", view[k].key, "");
		if (rv != 0)
			vote = rv;
	}
	free(view);
	if (reason[0] != '\0')
		twopc_txn_set_reason(txn, reason);
	return vote;
}

static int
ledger_commit(void *user, twopc_txn *txn)
{
	ledger *l = user;
	twopc_op op;

	ledger_count(l, &l->ncommit);
	for (size_t i = 0; i < twopc_txn_nstaged(txn); i++) {
		if (twopc_txn_staged(txn, i, &op) != 0)
			return TWOPC_ERESOURCE;
		int rv = strcmp(op.op, "del") == 0 ? ledger_del_file(l, op.key) :
		    ledger_put_file(l, op.key, op.value);
		if (rv != 0)
			return TWOPC_ERESOURCE; /* retried later; nothing is lost */
	}
	/* The renames are durable only once the directory is. */
	if (fsync(l->dirfd) != 0)
		return TWOPC_ERESOURCE;
	if (l->crash_in_commit > 0 && (long)l->ncommit == l->crash_in_commit) {
		static const char line[] = "CRASH in ledger commit (LEDGER_CRASH_IN_COMMIT)\n";
		if (write(2, line, sizeof(line) - 1) < 0) {
			/* dying anyway */
		}
		_exit(LEDGER_CRASH_EXIT);
	}
	return 0;
}

static int
ledger_abort(void *user, twopc_txn *txn)
{
	ledger *l = user;
	twopc_op op;
	char fname[LEDGER_FNAME_MAX], tmp[LEDGER_FNAME_MAX + 8];

	ledger_count(l, &l->nabort);
	for (size_t i = 0; i < twopc_txn_nstaged(txn); i++) {
		if (twopc_txn_staged(txn, i, &op) != 0 ||
		    ledger_fname(op.key, fname, sizeof(fname)) != 0)
			continue;
		snprintf(tmp, sizeof(tmp), ".%s.tmp", fname);
		(void)unlinkat(l->dirfd, tmp, 0);
	}
	return 0;
}

static int
ledger_read(void *user, void *sqlite_db, const char *key, char *buf, size_t len)
{
	(void)sqlite_db; /* the ledger keeps nothing in the log's database */
	if (len == 0)
		return TWOPC_EINVAL;
	int rv = ledger_load(user, key, buf, len);
	return rv == TWOPC_EINVAL ? 0 : rv; /* a key that cannot be stored is absent */
}

/* ---- the daemon ---- */

static void
ledger_log(void *user, int level, const char *line)
{
	static const char *const lv[] = { "ERROR", "WARN", "INFO", "DEBUG" };
	struct timespec ts;
	struct tm tm;
	char when[16];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ld %s %s %s\n", when, ts.tv_nsec / 1000000L, (const char *)user,
	    lv[level < 0 ? 0 : level > 3 ? 3 : level], line);
}

/* Create DIR if needed, open it, and make its entry durable. */
static int
ledger_open_dir(ledger *l)
{
	if (mkdir(l->dir, 0755) != 0 && errno != EEXIST)
		return -1;
	l->dirfd = open(l->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (l->dirfd < 0)
		return -1;
	int pfd = openat(l->dirfd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pfd >= 0) {
		(void)fsync(pfd);
		close(pfd);
	}
	return 0;
}

typedef struct ledger_sig {
	sigset_t set;
	twopc_participant *p;
} ledger_sig;

static void *
ledger_signal_thread(void *arg)
{
	ledger_sig *s = arg;
	int sig;
	if (sigwait(&s->set, &sig) == 0)
		twopc_participant_stop(s->p);
	return NULL;
}

static void
usage(void)
{
	fprintf(stderr, "usage: ledger -c FILE -n NAME [-d DIR] [-v]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static ledger l;
	static ledger_sig sig;
	const char *file = NULL, *name = NULL, *dir = NULL, *crash;
	int verbose = 0, c;

	while ((c = getopt(argc, argv, "c:n:d:v")) != -1) {
		switch (c) {
		case 'c': file = optarg; break;
		case 'n': name = optarg; break;
		case 'd': dir = optarg; break;
		case 'v': verbose = 1; break;
		default: usage();
		}
	}
	if (file == NULL || name == NULL || optind != argc)
		usage();
	if (dir != NULL) {
		snprintf(l.dir, sizeof(l.dir), "%s", dir);
	} else {
		const char *slash = strrchr(file, '/');
		int n = slash ? (int)(slash - file) : 1;
		snprintf(l.dir, sizeof(l.dir), "%.*s/%s.ledger", n, slash ? file : ".", name);
	}
	if ((crash = getenv("LEDGER_CRASH_IN_COMMIT")) != NULL)
		l.crash_in_commit = strtol(crash, NULL, 10);
	if (ledger_open_dir(&l) != 0) {
		fprintf(stderr, "ledger: %s: %s\n", l.dir, strerror(errno));
		return 2;
	}
	ledger_count_load(&l);

	/* Signals go to one thread, which asks the library to stop. */
	sigemptyset(&sig.set);
	sigaddset(&sig.set, SIGTERM);
	sigaddset(&sig.set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sig.set, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* The library prints nothing unless given a log function. */
	twopc_set_log(ledger_log, (void *)name, verbose ? 3 : 2);
	twopc_resource res = {
		.prepare = ledger_prepare,
		.commit = ledger_commit,
		.abort = ledger_abort,
		.read = ledger_read,
		.user = &l,
	};
	int rv = twopc_participant_open(&sig.p, file, name, &res);
	if (rv != 0) {
		fprintf(stderr, "ledger: cannot open %s as %s: %s\n", file, name, twopc_strerror(rv));
		return rv == TWOPC_ECONFIG || rv == TWOPC_ENOENT || rv == TWOPC_EINVAL ? 2 : 1;
	}
	fprintf(stderr, "ledger: %s keeps its accounts in %s (libtwopc-participant %s)\n", name,
	    l.dir, twopc_version());
	if ((rv = twopc_participant_start(sig.p)) != 0) {
		fprintf(stderr, "ledger: cannot start: %s\n", twopc_strerror(rv));
		twopc_participant_close(sig.p);
		return 1;
	}
	pthread_t st;
	if (pthread_create(&st, NULL, ledger_signal_thread, &sig) != 0) {
		twopc_participant_close(sig.p);
		return 1;
	}
	pthread_detach(st);
	rv = twopc_participant_wait(sig.p);
	twopc_participant_close(sig.p);
	close(l.dirfd);
	return rv == 0 ? 0 : 1;
}
