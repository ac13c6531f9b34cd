/*
 * test_config.c - CUnit suite "config" for config/config.c.
 *
 * test_config_register() adds the suite; tests/main.c calls it after
 * CU_initialize_registry(). Every file is written under a fresh mkdtemp()
 * directory in /tmp and removed afterwards. The example cluster file is
 * found under $TWOPC_SRCDIR (the repository root, default ".").
 *
 * The invalid-file table gives, for each named case, the exact
 * "LINE:COLUMN: " of the first error (errors are sorted by position) with a
 * substring of its message, and the exact number of errors.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "config.h"
#include "testutil.h"

#define T_ERRLEN 8192

/* Lines 1-4: a valid coordinator. */
#define T_COORD \
	"coordinator:\n" \
	"  name: coord\n" \
	"  listen: tcp://127.0.0.1:7400\n" \
	"  log: coord.db\n"
/* Lines 5-8 after T_COORD: one valid participant. */
#define T_PARTS \
	"participants:\n" \
	"  - name: alpha\n" \
	"    listen: tcp://127.0.0.1:7401\n" \
	"    log: alpha.db\n"

static bool t_mkdtemp(char *dir, size_t len)
{
	snprintf(dir, len, "/tmp/twopc-cfg-XXXXXX");
	if (mkdtemp(dir) == NULL) {
		CU_FAIL("mkdtemp failed");
		return false;
	}
	return true;
}

/* Write TEXT to DIR/NAME; PATH gets the file's path. */
static bool t_write(const char *dir, const char *name, const char *text, char *path,
    size_t len)
{
	FILE *f;
	bool ok;

	snprintf(path, len, "%s/%s", dir, name);
	if ((f = fopen(path, "wb")) == NULL) {
		CU_FAIL("cannot create a test file");
		return false;
	}
	ok = fwrite(text, 1, strlen(text), f) == strlen(text);
	ok = fclose(f) == 0 && ok;
	CU_ASSERT(ok);
	return ok;
}

/* Write TEXT as DIR/cluster.yaml, load it, remove it. A file with plain
 * tcp:// URLs and neither an insecure nor a tls key gets "insecure: true"
 * appended (its line numbers do not change), so that the cases test what
 * they are about; t_load_as_is writes TEXT unchanged. */
static int t_load_as_is(const char *dir, const char *text, cfg_cluster **out, char *err,
    char *path, size_t pathlen)
{
	int rc;

	err[0] = '\0';
	if (!t_write(dir, "cluster.yaml", text, path, pathlen))
		return 1;
	rc = cfg_load(path, out, err, T_ERRLEN);
	unlink(path);
	return rc;
}

static int t_load(const char *dir, const char *text, cfg_cluster **out, char *err,
    char *path, size_t pathlen)
{
	size_t len = strlen(text);
	char *more;
	int rc;

	/* Not after a second document or an unclosed flow sequence either. */
	if (strstr(text, "tcp://") == NULL || strstr(text, "insecure:") != NULL ||
	    strstr(text, "tls:") != NULL || strstr(text, "\n---") != NULL ||
	    (strchr(text, '[') != NULL && strchr(text, ']') == NULL))
		return t_load_as_is(dir, text, out, err, path, pathlen);
	if ((more = malloc(len + 20)) == NULL) {
		CU_FAIL("out of memory");
		return 1;
	}
	snprintf(more, len + 20, "%s%sinsecure: true\n", text,
	    len > 0 && text[len - 1] != '\n' ? "\n" : "");
	rc = t_load_as_is(dir, more, out, err, path, pathlen);
	free(more);
	return rc;
}

static int t_count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* ---- valid files ---- */

static void t_check_node(const cfg_node *n, const char *name, const char *listen,
    const char *dir, const char *log)
{
	char want[PATH_MAX + 64];

	snprintf(want, sizeof want, "%s/%s", dir, log);
	CU_ASSERT_STRING_EQUAL(n->name, name);
	CU_ASSERT_STRING_EQUAL(n->listen, listen);
	CU_ASSERT_STRING_EQUAL(n->log, want);
}

static void test_example_file(void)
{
	const char *src = getenv("TWOPC_SRCDIR");
	char path[PATH_MAX], cdir[PATH_MAX + 16], dir[PATH_MAX], err[T_ERRLEN];
	cfg_cluster *c = NULL;

	snprintf(path, sizeof path, "%s/config/cluster.example.yaml", src ? src : ".");
	snprintf(cdir, sizeof cdir, "%s/config", src ? src : ".");
	CU_ASSERT_PTR_NOT_NULL_FATAL(realpath(cdir, dir));
	t_check(cfg_load(path, &c, err, sizeof err) == 0, __LINE__, "%s: %s", path, err);
	CU_ASSERT_STRING_EQUAL(err, "");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_STRING_EQUAL(c->path, path);
	t_check_node(&c->coordinator, "coord", "tls+tcp://127.0.0.1:7400", dir, "data/coord.db");
	CU_ASSERT_EQUAL(c->vote_timeout_ms, 2000);
	CU_ASSERT_EQUAL_FATAL(c->nparticipants, 3);
	t_check_node(&c->participants[0], "alpha", "tls+tcp://127.0.0.1:7401", dir, "data/alpha.db");
	t_check_node(&c->participants[1], "beta", "tls+tcp://127.0.0.1:7402", dir, "data/beta.db");
	t_check_node(&c->participants[2], "gamma", "tls+tcp://127.0.0.1:7403", dir, "data/gamma.db");
	/* The example is authenticated: a tls section, not insecure. */
	CU_ASSERT_EQUAL(c->insecure, 0);
	snprintf(cdir, sizeof cdir, "%s/tls/ca.crt", dir);
	CU_ASSERT_STRING_EQUAL(c->tls_ca ? c->tls_ca : "", cdir);
	snprintf(cdir, sizeof cdir, "%s/tls", dir);
	CU_ASSERT_STRING_EQUAL(c->tls_dir ? c->tls_dir : "", cdir);
	CU_ASSERT_EQUAL(c->decision_timeout_ms, 1000);
	CU_ASSERT_EQUAL(c->ack_retry_ms, 500);
	CU_ASSERT_EQUAL(c->retention_s, 86400);
	CU_ASSERT_EQUAL(c->durability, CFG_DURABILITY_FULL);
	cfg_free(c);
}

static void test_defaults(void)
{
	char tmp[64], dir[PATH_MAX], path[PATH_MAX], err[T_ERRLEN];
	cfg_cluster *c = NULL;

	if (!t_mkdtemp(tmp, sizeof tmp))
		return;
	CU_ASSERT_PTR_NOT_NULL(realpath(tmp, dir));
	CU_ASSERT_EQUAL(t_load(tmp, T_COORD T_PARTS, &c, err, path, sizeof path), 0);
	CU_ASSERT_STRING_EQUAL(err, "");
	if (c != NULL) {
		t_check_node(&c->coordinator, "coord", "tcp://127.0.0.1:7400", dir, "coord.db");
		CU_ASSERT_EQUAL(c->nparticipants, 1);
		t_check_node(&c->participants[0], "alpha", "tcp://127.0.0.1:7401", dir, "alpha.db");
		CU_ASSERT_EQUAL(c->vote_timeout_ms, 2000);
		CU_ASSERT_EQUAL(c->decision_timeout_ms, 1000);
		CU_ASSERT_EQUAL(c->ack_retry_ms, 500);
		CU_ASSERT_EQUAL(c->retention_s, 86400);
		CU_ASSERT_EQUAL(c->linger_ms, CFG_LINGER_MS);
		CU_ASSERT_EQUAL(c->durability, CFG_DURABILITY_FULL);
		CU_ASSERT_EQUAL(c->log_level, -1); /* none: the daemon's default */
	}
	cfg_free(c);
	rmdir(tmp);
}

/* Every optional key set, flow style, quotes, absolute paths, other URLs. */
static void test_explicit_values(void)
{
	static const char text[] =
	    "durability: normal\n"
	    "timeouts: {decision_timeout_ms: 1, ack_retry_ms: \"250\", retention_s: 4294967295,\n"
	    "  linger_ms: 0}\n"
	    "coordinator:\n"
	    "  name: Coord_1.x-y\n"
	    "  listen: 'tcp://[::1]:65535'\n"
	    "  log: /var/lib/twopc/coord.db\n"
	    "  vote_timeout_ms: 007\n"
	    "  http: '[::1]:9400'\n"
	    "participants:\n"
	    "  - {name: a, listen: ipc:///tmp/twopc-a.ipc, log: ./a.db, http: 'localhost:9401'}\n"
	    "  - name: \"12345678901234567890123456789012\"\n"
	    "    listen: inproc://b\n"
	    "    log: ../b/b.db\n";
	char tmp[64], dir[PATH_MAX], path[PATH_MAX], err[T_ERRLEN];
	cfg_cluster *c = NULL;

	if (!t_mkdtemp(tmp, sizeof tmp))
		return;
	CU_ASSERT_PTR_NOT_NULL(realpath(tmp, dir));
	t_check(t_load(tmp, text, &c, err, path, sizeof path) == 0, __LINE__, "%s", err);
	if (c != NULL) {
		CU_ASSERT_EQUAL(c->durability, CFG_DURABILITY_NORMAL);
		CU_ASSERT_EQUAL(c->decision_timeout_ms, 1);
		CU_ASSERT_EQUAL(c->ack_retry_ms, 250);
		CU_ASSERT_EQUAL(c->retention_s, 4294967295u);
		CU_ASSERT_EQUAL(c->linger_ms, 0); /* 0 is allowed here: no linger */
		CU_ASSERT_EQUAL(c->vote_timeout_ms, 7);
		CU_ASSERT_STRING_EQUAL(c->coordinator.name, "Coord_1.x-y");
		CU_ASSERT_STRING_EQUAL(c->coordinator.listen, "tcp://[::1]:65535");
		CU_ASSERT_STRING_EQUAL(c->coordinator.log, "/var/lib/twopc/coord.db");
		T_STREQ(c->coordinator.http, "[::1]:9400");
		CU_ASSERT_EQUAL_FATAL(c->nparticipants, 2);
		T_STREQ(c->participants[0].http, "localhost:9401");
		T_TRUE(c->participants[1].http == NULL);
		t_check_node(&c->participants[0], "a", "ipc:///tmp/twopc-a.ipc", dir, "./a.db");
		t_check_node(&c->participants[1], "12345678901234567890123456789012",
		    "inproc://b", dir, "../b/b.db");
	}
	cfg_free(c);
	rmdir(tmp);
}

/* A relative FILE still yields log paths usable from any directory. */
static void test_relative_file_path(void)
{
	char tmp[64], dir[PATH_MAX], path[PATH_MAX], want[PATH_MAX + 16], err[T_ERRLEN];
	cfg_cluster *c = NULL;
	char *cwd = getcwd(NULL, 0);
	int rc = 1;

	CU_ASSERT_PTR_NOT_NULL_FATAL(cwd);
	if (!t_mkdtemp(tmp, sizeof tmp)) {
		free(cwd);
		return;
	}
	CU_ASSERT_PTR_NOT_NULL(realpath(tmp, dir));
	if (t_write(tmp, "cluster.yaml", T_COORD T_PARTS "insecure: true\n", path, sizeof path) &&
	    chdir(tmp) == 0) {
		rc = cfg_load("cluster.yaml", &c, err, sizeof err);
		CU_ASSERT_EQUAL(chdir(cwd), 0);
	}
	CU_ASSERT_EQUAL(rc, 0);
	if (c != NULL) {
		CU_ASSERT_STRING_EQUAL(c->path, "cluster.yaml");
		snprintf(want, sizeof want, "%s/coord.db", dir);
		CU_ASSERT_STRING_EQUAL(c->coordinator.log, want);
		CU_ASSERT_EQUAL(c->coordinator.log[0], '/');
	}
	cfg_free(c);
	unlink(path);
	rmdir(tmp);
	free(cwd);
}

static void test_participant_limit(void)
{
	char tmp[64], path[PATH_MAX], err[T_ERRLEN], *text;
	size_t len = 0;
	cfg_cluster *c = NULL;
	FILE *f;

	if (!t_mkdtemp(tmp, sizeof tmp))
		return;
	for (int n = CFG_MAX_PARTICIPANTS; n <= CFG_MAX_PARTICIPANTS + 1; n++) {
		text = NULL;
		if ((f = open_memstream(&text, &len)) == NULL) {
			CU_FAIL("open_memstream");
			break;
		}
		fputs(T_COORD "participants:\n", f);
		for (int i = 0; i < n; i++) /* one line each: item i is on line 6 + i */
			fprintf(f, "  - {name: p%d, listen: 'tcp://127.0.0.1:%d', log: p%d.db}\n",
			    i, 8000 + i, i);
		fclose(f);
		c = NULL;
		if (n == CFG_MAX_PARTICIPANTS) {
			CU_ASSERT_EQUAL(t_load(tmp, text, &c, err, path, sizeof path), 0);
			CU_ASSERT_EQUAL(c ? c->nparticipants : 0, 64);
			CU_ASSERT_EQUAL(cfg_participant_index(c, "p63"), 63);
		} else {
			CU_ASSERT_EQUAL(t_load(tmp, text, &c, err, path, sizeof path), -1);
			t_check(strstr(err, "cluster.yaml:70:5: too many participants (65, at most 64)\n")
			    != NULL, __LINE__, "got %s", err);
			CU_ASSERT_PTR_NULL(c);
		}
		cfg_free(c);
		free(text);
	}
	rmdir(tmp);
}

static void test_helpers(void)
{
	char tmp[64], path[PATH_MAX], err[T_ERRLEN];
	cfg_cluster *c = NULL;

	cfg_free(NULL); /* a no-op */
	CU_ASSERT_PTR_NULL(cfg_participant(NULL, "alpha"));
	CU_ASSERT_EQUAL(cfg_participant_index(NULL, "alpha"), -1);
	if (!t_mkdtemp(tmp, sizeof tmp))
		return;
	CU_ASSERT_EQUAL(t_load(tmp, T_COORD T_PARTS
	    "  - name: beta\n    listen: tcp://127.0.0.1:7402\n    log: beta.db\n",
	    &c, err, path, sizeof path), 0);
	if (c != NULL) {
		CU_ASSERT_EQUAL(cfg_participant_index(c, "alpha"), 0);
		CU_ASSERT_EQUAL(cfg_participant_index(c, "beta"), 1);
		CU_ASSERT_EQUAL(cfg_participant_index(c, "coord"), -1); /* not a participant */
		CU_ASSERT_EQUAL(cfg_participant_index(c, "Beta"), -1);
		CU_ASSERT_EQUAL(cfg_participant_index(c, ""), -1);
		CU_ASSERT_EQUAL(cfg_participant_index(c, NULL), -1);
		CU_ASSERT_PTR_EQUAL(cfg_participant(c, "beta"), &c->participants[1]);
		CU_ASSERT_STRING_EQUAL(cfg_participant(c, "beta")->listen, "tcp://127.0.0.1:7402");
		CU_ASSERT_PTR_NULL(cfg_participant(c, "gamma"));
		CU_ASSERT_PTR_NULL(cfg_participant(c, "coord"));
		/* Expiry: every half retention, between 1 s and 60 s. */
		CU_ASSERT_EQUAL(cfg_expire_every_ms(c), 60000); /* default: a day */
		c->retention_s = 5;
		CU_ASSERT_EQUAL(cfg_expire_every_ms(c), 2500);
		c->retention_s = 1;
		CU_ASSERT_EQUAL(cfg_expire_every_ms(c), 1000);
		c->retention_s = 119;
		CU_ASSERT_EQUAL(cfg_expire_every_ms(c), 59500);
	}
	cfg_free(c);
	rmdir(tmp);
}

/* ---- files that cannot be read ---- */

static void test_unreadable(void)
{
	char tmp[64], path[PATH_MAX], want[PATH_MAX + 128], err[T_ERRLEN];
	cfg_cluster *sentinel = (cfg_cluster *)&sentinel, *c = sentinel;

	if (!t_mkdtemp(tmp, sizeof tmp))
		return;
	/* missing: no line or column, the strerror() text */
	snprintf(path, sizeof path, "%s/missing.yaml", tmp);
	CU_ASSERT_EQUAL(cfg_load(path, &c, err, sizeof err), -1);
	snprintf(want, sizeof want, "%s: cannot open: %s\n", path, strerror(ENOENT));
	CU_ASSERT_STRING_EQUAL(err, want);
	CU_ASSERT_PTR_EQUAL(c, sentinel); /* untouched on error */
	/* a directory opens but cannot be read */
	CU_ASSERT_EQUAL(cfg_load(tmp, &c, err, sizeof err), -1);
	snprintf(want, sizeof want, "%s: cannot read: %s\n", tmp, strerror(EISDIR));
	CU_ASSERT_STRING_EQUAL(err, want);
	/* a path through a regular file */
	if (t_write(tmp, "file", "x: 1\n", path, sizeof path)) {
		strcat(path, "/cluster.yaml");
		CU_ASSERT_EQUAL(cfg_load(path, &c, err, sizeof err), -1);
		snprintf(want, sizeof want, "%s: cannot open: %s\n", path, strerror(ENOTDIR));
		CU_ASSERT_STRING_EQUAL(err, want);
		path[strlen(path) - strlen("/cluster.yaml")] = '\0';
		unlink(path);
	}
	/* no permission (root reads anything, so only as another user) */
	if (geteuid() != 0 && t_write(tmp, "secret.yaml", T_COORD T_PARTS, path, sizeof path)) {
		chmod(path, 0);
		CU_ASSERT_EQUAL(cfg_load(path, &c, err, sizeof err), -1);
		snprintf(want, sizeof want, "%s: cannot open: %s\n", path, strerror(EACCES));
		CU_ASSERT_STRING_EQUAL(err, want);
		unlink(path);
	}
	CU_ASSERT_EQUAL(cfg_load(NULL, &c, err, sizeof err), -1);
	CU_ASSERT_PTR_EQUAL(c, sentinel);
	rmdir(tmp);
}

/* A small or absent errbuf is cut, not overrun; the count stays exact. */
static void test_errbuf_limits(void)
{
	static const char text[] = "coordinator: 1\nparticipants: 2\ntimeouts: 3\n";
	char tmp[64], path[PATH_MAX], err[T_ERRLEN], small[24];
	cfg_cluster *c = NULL;

	if (!t_mkdtemp(tmp, sizeof tmp) || !t_write(tmp, "c.yaml", text, path, sizeof path))
		return;
	CU_ASSERT_EQUAL(cfg_load(path, &c, err, sizeof err), -3);
	CU_ASSERT_EQUAL(t_count_lines(err), 3);
	memset(small, 'x', sizeof small);
	CU_ASSERT_EQUAL(cfg_load(path, &c, small, sizeof small), -3);
	CU_ASSERT_EQUAL(strlen(small), sizeof small - 1);
	CU_ASSERT_NSTRING_EQUAL(small, err, sizeof small - 1);
	CU_ASSERT_EQUAL(cfg_load(path, &c, small, 1), -3);
	CU_ASSERT_STRING_EQUAL(small, "");
	CU_ASSERT_EQUAL(cfg_load(path, &c, NULL, 0), -3);
	CU_ASSERT_EQUAL(cfg_load(path, NULL, NULL, 0), -3);
	CU_ASSERT_PTR_NULL(c);
	unlink(path);
	if (t_write(tmp, "c.yaml", T_COORD T_PARTS "insecure: true\n", path, sizeof path)) {
		CU_ASSERT_EQUAL(cfg_load(path, NULL, err, sizeof err), 0); /* validate only */
		unlink(path);
	}
	rmdir(tmp);
}

/* ---- invalid files ---- */

typedef struct t_bad {
	const char *name;
	const char *text;
	const char *first; /* "LINE:COLUMN: substring" of the first error */
	int nerr;
	const char *also;  /* multi-error files: another error, "LINE:COLUMN: ..." */
} t_bad;

static const t_bad t_bad_files[] = {
	/* the file as a whole */
	{"empty_file", "", "1:1: empty file", 1, NULL},
	{"comments_only", "# nothing here\n\n", "1:1: empty file", 1, NULL},
	{"top_level_sequence", "- coordinator\n- participants\n",
	    "1:1: expected a mapping at top level, got a sequence", 1, NULL},
	{"top_level_scalar", "just text\n", "1:1: expected a mapping at top level, got a scalar", 1, NULL},
	{"two_documents", T_COORD T_PARTS "insecure: true\n---\nfoo: bar\n",
	    "10:1: more than one YAML document", 1, NULL},
	{"syntax_bad_indent", "coordinator:\n  name: coord\n listen: x\n",
	    "3:2: syntax error: did not find expected key (while parsing a block mapping at 1:1)", 1, NULL},
	{"syntax_unclosed_flow", T_COORD "participants: [alpha\n",
	    "6:1: syntax error: did not find expected ',' or ']'", 1, NULL},
	{"syntax_tab_indent", "coordinator:\n\tname: coord\n",
	    "2:1: syntax error: found character that cannot start any token", 1, NULL},
	{"invalid_utf8", T_COORD "participants:\n  - name: al\xff\n",
	    "6:13: invalid input: invalid leading UTF-8 octet", 1, NULL},
	{"alias", "coordinator: &c\n  name: coord\n  listen: tcp://127.0.0.1:7400\n"
	    "  log: coord.db\nparticipants:\n  - *c\n", "6:5: alias '*c' is not supported", 1, NULL},
	{"nul_byte", T_COORD "participants:\n  - name: \"al\\0pha\"\n"
	    "    listen: tcp://127.0.0.1:7401\n    log: alpha.db\n",
	    "6:11: value contains a NUL byte", 1, NULL},
	{"too_deep", T_COORD T_PARTS "x: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]"
	    "]]]]]]]]]]]]]]]]]]]]]]]\n", "9:35: nesting too deep (more than 32 levels)", 1, NULL},
	/* unknown and repeated keys */
	{"unknown_top_key", T_COORD T_PARTS "colour: red\n",
	    "9:1: unknown key 'colour' at top level (expected coordinator, participants, "
	    "timeouts, durability, insecure, tls, log_level)", 1, NULL},
	{"log_level_bad", T_COORD T_PARTS "log_level: loud\n",
	    "9:12: bad log_level value 'loud' (expected error, warn, info or debug)", 1, NULL},
	{"log_level_not_scalar", T_COORD T_PARTS "log_level: [info]\n",
	    "9:12: expected a string for 'log_level', got a sequence", 1, NULL},
	{"unknown_coordinator_key", "coordinator:\n  name: coord\n  listen: tcp://127.0.0.1:7400\n"
	    "  log: coord.db\n  timeout: 5\n" T_PARTS,
	    "5:3: unknown key 'timeout' in coordinator (expected name, listen, log, http, "
	    "vote_timeout_ms)", 1, NULL},
	{"unknown_participant_key", T_COORD T_PARTS "    lisen: tcp://127.0.0.1:7409\n",
	    "9:5: unknown key 'lisen' in participant (expected name, listen, log, http)", 1, NULL},
	{"unknown_timeouts_key", T_COORD T_PARTS "timeouts:\n  decision_timeout: 100\n",
	    "10:3: unknown key 'decision_timeout' in timeouts (expected decision_timeout_ms, "
	    "ack_retry_ms, retention_s, linger_ms)", 1, NULL},
	{"non_scalar_key", T_COORD T_PARTS "? [a]\n: b\n",
	    "9:3: expected a scalar key at top level, got a sequence", 1, NULL},
	{"duplicate_key", T_COORD T_PARTS "    log: other.db\n",
	    "9:5: duplicate key 'log' in participant (first at 8:5)", 1, NULL},
	{"duplicate_top_key", T_COORD T_PARTS "participants: []\n",
	    "9:1: duplicate key 'participants' at top level (first at 5:1)", 1, NULL},
	/* wrong types */
	{"coordinator_sequence", "coordinator:\n  - coord\n" T_PARTS,
	    "2:3: expected a mapping for 'coordinator', got a sequence", 1, NULL},
	{"coordinator_empty", "coordinator:\n" T_PARTS,
	    "1:13: expected a mapping for 'coordinator', got an empty value", 1, NULL},
	{"participants_mapping", T_COORD "participants:\n  name: alpha\n",
	    "6:3: expected a sequence for 'participants', got a mapping", 1, NULL},
	{"participants_scalar", T_COORD "participants: alpha\n",
	    "5:15: expected a sequence for 'participants', got a scalar", 1, NULL},
	{"participants_empty", T_COORD "participants: []\n",
	    "5:15: no participants (expected at least one)", 1, NULL},
	{"participant_scalar", T_COORD "participants:\n  - alpha\n",
	    "6:5: expected a mapping for participant 1, got a scalar", 1, NULL},
	{"name_mapping", T_COORD "participants:\n  - name: {first: al}\n"
	    "    listen: tcp://127.0.0.1:7401\n    log: alpha.db\n",
	    "6:11: expected a string for 'name', got a mapping", 1, NULL},
	{"timeouts_sequence", T_COORD T_PARTS "timeouts: [1, 2]\n",
	    "9:11: expected a mapping for 'timeouts', got a sequence", 1, NULL},
	{"durability_sequence", T_COORD T_PARTS "durability: [full]\n",
	    "9:13: expected a string for 'durability', got a sequence", 1, NULL},
	/* missing fields: reported at the start of the mapping */
	{"missing_coordinator", T_PARTS, "1:1: missing field 'coordinator' at top level", 1, NULL},
	{"missing_participants", T_COORD, "1:1: missing field 'participants' at top level", 1, NULL},
	{"missing_coordinator_listen", "coordinator:\n  name: coord\n  log: coord.db\n" T_PARTS,
	    "2:3: missing field 'listen' in coordinator", 1, NULL},
	{"missing_participant_log", T_COORD T_PARTS
	    "  - name: beta\n    listen: tcp://127.0.0.1:7402\n",
	    "9:5: missing field 'log' in participant 'beta'", 1, NULL},
	{"missing_participant_name", T_COORD "participants:\n"
	    "  - listen: tcp://127.0.0.1:7401\n    log: alpha.db\n",
	    "6:5: missing field 'name' in participant 1", 1, NULL},
	/* names */
	{"name_empty", T_COORD "participants:\n  - name: \"\"\n"
	    "    listen: tcp://127.0.0.1:7401\n    log: alpha.db\n", "6:11: empty name", 1, NULL},
	{"name_too_long", T_COORD "participants:\n  - name: a23456789012345678901234567890123\n"
	    "    listen: tcp://127.0.0.1:7401\n    log: alpha.db\n",
	    "6:11: name 'a23456789012345678901234567890123' is too long (33 bytes, at most 32)", 1, NULL},
	{"name_bad_character", T_COORD "participants:\n  - name: al/pha\n"
	    "    listen: tcp://127.0.0.1:7401\n    log: alpha.db\n",
	    "6:11: invalid character '/' in name 'al/pha'", 1, NULL},
	{"name_space", T_COORD "participants:\n  - name: al pha\n"
	    "    listen: tcp://127.0.0.1:7401\n    log: alpha.db\n",
	    "6:11: invalid byte 0x20 in name 'al pha'", 1, NULL},
	{"duplicate_name_coordinator", "coordinator:\n  name: alpha\n"
	    "  listen: tcp://127.0.0.1:7400\n  log: coord.db\n" T_PARTS,
	    "6:11: duplicate name 'alpha' (first defined at 2:9)", 1, NULL},
	{"duplicate_name_participants", "coordinator:\n  name: coord\n"
	    "  listen: tcp://127.0.0.1:7400\n  log: coord.db\n  vote_timeout_ms: 100\n"
	    "participants:\n  - name: alpha\n    listen: tcp://127.0.0.1:7401\n    log: a.db\n"
	    "  - name: alpha\n    listen: tcp://127.0.0.1:7402\n    log: b.db\n",
	    "10:11: duplicate name 'alpha' (first defined at 7:11)", 1, NULL},
	/* URLs */
	{"duplicate_listen", T_COORD T_PARTS
	    "  - name: beta\n    listen: tcp://127.0.0.1:7401\n    log: beta.db\n",
	    "10:13: duplicate listen URL 'tcp://127.0.0.1:7401' (first defined at 7:13)", 1, NULL},
	{"url_http", T_COORD "participants:\n  - name: alpha\n    listen: http://x\n"
	    "    log: alpha.db\n", "7:13: bad URL 'http://x' for 'listen' (expected "
	    "tls+tcp://HOST:PORT, tcp://HOST:PORT, ipc://PATH or inproc://NAME)", 1, NULL},
	{"url_tcp_no_port", T_COORD "participants:\n  - name: alpha\n"
	    "    listen: tcp://127.0.0.1\n    log: alpha.db\n",
	    "7:13: bad URL 'tcp://127.0.0.1' for 'listen' (expected tcp://HOST:PORT)", 1, NULL},
	{"url_tcp_empty_port", T_COORD "participants:\n  - name: alpha\n"
	    "    listen: 'tcp://127.0.0.1:'\n    log: alpha.db\n",
	    "7:13: bad URL 'tcp://127.0.0.1:' for 'listen' (missing PORT", 1, NULL},
	{"url_tcp_port_too_big", T_COORD "participants:\n  - name: alpha\n"
	    "    listen: tcp://127.0.0.1:65536\n    log: alpha.db\n",
	    "7:13: bad URL 'tcp://127.0.0.1:65536' for 'listen' (PORT must be a number "
	    "from 1 to 65535)", 1, NULL},
	{"url_tcp_port_zero", T_COORD "participants:\n  - name: alpha\n"
	    "    listen: tcp://127.0.0.1:0\n    log: alpha.db\n",
	    "7:13: bad URL 'tcp://127.0.0.1:0' for 'listen' (PORT must be", 1, NULL},
	{"url_tcp_no_host", T_COORD "participants:\n  - name: alpha\n"
	    "    listen: tcp://:7401\n    log: alpha.db\n",
	    "7:13: bad URL 'tcp://:7401' for 'listen' (missing HOST", 1, NULL},
	{"url_ipc_no_path", T_COORD "participants:\n  - name: alpha\n"
	    "    listen: ipc://\n    log: alpha.db\n",
	    "7:13: bad URL 'ipc://' for 'listen' (missing PATH", 1, NULL},
	{"log_empty", T_COORD "participants:\n  - name: alpha\n"
	    "    listen: tcp://127.0.0.1:7401\n    log: ''\n", "8:10: empty path for 'log'", 1, NULL},
	/* integers */
	{"int_not_a_number", "coordinator:\n  name: coord\n  listen: tcp://127.0.0.1:7400\n"
	    "  log: coord.db\n  vote_timeout_ms: abc\n" T_PARTS,
	    "5:20: expected an integer for 'vote_timeout_ms', got 'abc'", 1, NULL},
	{"int_mapping", "coordinator:\n  name: coord\n  listen: tcp://127.0.0.1:7400\n"
	    "  log: coord.db\n  vote_timeout_ms: {ms: 5}\n" T_PARTS,
	    "5:20: expected an integer for 'vote_timeout_ms', got a mapping", 1, NULL},
	{"int_zero", T_COORD T_PARTS "timeouts:\n  decision_timeout_ms: 0\n",
	    "10:24: expected a positive integer for 'decision_timeout_ms', got '0'", 1, NULL},
	{"int_negative", T_COORD T_PARTS "timeouts:\n  ack_retry_ms: -5\n",
	    "10:17: expected a positive integer for 'ack_retry_ms', got '-5'", 1, NULL},
	{"int_float", T_COORD T_PARTS "timeouts:\n  retention_s: 1.5\n",
	    "10:16: expected an integer for 'retention_s', got '1.5'", 1, NULL},
	{"int_overflow", T_COORD T_PARTS "timeouts:\n  retention_s: 4294967296\n",
	    "10:16: integer '4294967296' for 'retention_s' is out of range (1 to 4294967295)", 1, NULL},
	{"linger_too_long", T_COORD T_PARTS "timeouts:\n  linger_ms: 101\n",
	    "10:14: integer '101' for 'linger_ms' is out of range (0 to 100)", 1, NULL},
	{"linger_negative", T_COORD T_PARTS "timeouts:\n  linger_ms: -1\n",
	    "10:14: integer '-1' for 'linger_ms' is out of range (0 to 100)", 1, NULL},
	{"durability_bad", T_COORD T_PARTS "durability: fast\n",
	    "9:13: bad durability value 'fast' (expected full or normal)", 1, NULL},
	/* several errors in one file: all reported, sorted by position */
	{"multi_typo_listen", T_COORD "participants:\n  - name: alpha\n"
	    "    listn: tcp://127.0.0.1:7401\n    log: alpha.db\n",
	    "6:5: missing field 'listen' in participant 'alpha'", 2,
	    "7:5: unknown key 'listn' in participant (expected name, listen, log, http)"},
	{"multi_coordinator", "coordinator:\n  name: co ord\n  listen: tcp://x\n"
	    "  vote_timeout_ms: 0\n  colour: red\n" T_PARTS,
	    "2:3: missing field 'log' in coordinator", 5,
	    "3:11: bad URL 'tcp://x' for 'listen' (expected tcp://HOST:PORT)"},
	{"multi_timeouts", T_COORD T_PARTS "timeouts:\n  decision_timeout_ms: 0\n"
	    "  ack_retry_ms: 1e3\n  retention_s: 99999999999\n  ack_retry_ms: 5\n"
	    "durability: FULL\n",
	    "10:24: expected a positive integer for 'decision_timeout_ms', got '0'", 5,
	    "13:3: duplicate key 'ack_retry_ms' in timeouts (first at 11:3)"},
	{"multi_participants_first", "participants:\n  - name: alpha\n"
	    "    listen: tcp://127.0.0.1:7400\n    log: a.db\n  - {}\n"
	    "coordinator:\n  name: alpha\n  listen: tcp://127.0.0.1:7400\n  log: c.db\n",
	    "5:5: missing field 'name' in participant 2", 5,
	    "7:9: duplicate name 'alpha' (first defined at 2:11)"},
	/* transport: tls+tcp:// needs tls, tcp:// needs insecure: true */
	{"tcp_not_insecure", T_COORD T_PARTS "insecure: false\n",
	    "3:11: plain URL 'tcp://127.0.0.1:7400' is unauthenticated: use tls+tcp:// (with a "
	    "'tls' section) or set 'insecure: true' at top level", 2,
	    "7:13: plain URL 'tcp://127.0.0.1:7401' is unauthenticated"},
	{"tcp_with_tls_only", "tls: {ca: ca.crt, dir: certs}\n" T_COORD T_PARTS,
	    "4:11: plain URL 'tcp://127.0.0.1:7400' is unauthenticated", 2, NULL},
	{"tls_url_without_tls", "coordinator:\n  name: coord\n  listen: tls+tcp://h:7400\n"
	    "  log: c.db\nparticipants:\n  - {name: alpha, listen: 'ipc:///tmp/a', log: a.db}\n",
	    "3:11: URL 'tls+tcp://h:7400' needs a 'tls' section at top level (ca: FILE, dir: DIR)",
	    1, NULL},
	{"tls_url_bad", "tls: {ca: ca.crt, dir: certs}\ncoordinator:\n  name: coord\n"
	    "  listen: tls+tcp://h\n  log: c.db\n"
	    "participants:\n  - {name: alpha, listen: 'ipc:///tmp/a', log: a.db}\n",
	    "4:11: bad URL 'tls+tcp://h' for 'listen' (expected tcp://HOST:PORT)", 1, NULL},
	{"tls_missing_dir", "tls:\n  ca: ca.crt\ninsecure: true\n" T_COORD T_PARTS,
	    "2:3: missing field 'dir' in tls", 1, NULL},
	{"tls_unknown_key", "tls:\n  ca: ca.crt\n  dir: d\n  cert: alpha.crt\ninsecure: true\n"
	    T_COORD T_PARTS, "4:3: unknown key 'cert' in tls (expected ca, dir)", 1, NULL},
	{"tls_not_a_map", "tls: yes\ninsecure: true\n" T_COORD T_PARTS,
	    "1:6: expected a mapping for 'tls', got a scalar", 1, NULL},
	{"tls_empty_path", "tls: {ca: '', dir: d}\ninsecure: true\n" T_COORD T_PARTS,
	    "1:11: empty path for 'ca'", 1, NULL},
	{"insecure_bad", T_COORD T_PARTS "insecure: yes\n",
	    "3:11: plain URL 'tcp://127.0.0.1:7400' is unauthenticated", 3,
	    "9:11: bad insecure value 'yes' (expected true or false)"},
	{"client_name_reserved", "tls: {ca: ca.crt, dir: d}\ninsecure: true\n" T_COORD
	    "participants:\n  - {name: client, listen: 'tcp://127.0.0.1:7401', log: a.db}\n",
	    "8:12: name 'client' is reserved for the clients' certificate", 1, NULL},
	/* the http address */
	{"http_scheme", T_COORD "  http: http://127.0.0.1:9400\n" T_PARTS "insecure: true\n",
	    "5:9: bad address 'http://127.0.0.1:9400' for 'http' (expected HOST:PORT, without a "
	    "scheme)", 1, NULL},
	{"http_no_port", T_COORD "  http: localhost\n" T_PARTS "insecure: true\n",
	    "5:9: bad address 'localhost' for 'http' (expected HOST:PORT or [ADDRESS]:PORT)", 1, NULL},
	{"http_bad_port", T_COORD T_PARTS "    http: 127.0.0.1:70000\ninsecure: true\n",
	    "9:11: bad address '127.0.0.1:70000' for 'http' (PORT must be a number from 1 to 65535)",
	    1, NULL},
	{"http_not_scalar", T_COORD T_PARTS "    http: [a, b]\ninsecure: true\n",
	    "9:11: expected a string for 'http', got a sequence", 1, NULL},
	{"http_duplicate", T_COORD "  http: 127.0.0.1:9400\n" T_PARTS
	    "    http: 127.0.0.1:9400\ninsecure: true\n",
	    "10:11: duplicate http address '127.0.0.1:9400' (first defined at 5:9)", 1, NULL},
	{"multi_every_section", "coordinator: []\nparticipants: {}\ntimeouts: 5\n"
	    "durability: {}\nextra: 1\n",
	    "1:14: expected a mapping for 'coordinator', got a sequence", 5,
	    "3:11: expected a mapping for 'timeouts', got a scalar"},
};

static void test_invalid_files(void)
{
	char tmp[64], path[PATH_MAX], err[T_ERRLEN];
	size_t n = sizeof t_bad_files / sizeof t_bad_files[0];

	if (!t_mkdtemp(tmp, sizeof tmp))
		return;
	for (size_t i = 0; i < n; i++) {
		const t_bad *b = &t_bad_files[i];
		cfg_cluster *sentinel = (cfg_cluster *)&sentinel, *c = sentinel;
		const char *loc_end = strstr(b->first, ": ");
		size_t loclen = loc_end ? (size_t)(loc_end - b->first) + 2 : 0;
		char *first, *nl;
		int rc = t_load(tmp, b->text, &c, err, path, sizeof path);

		t_check(rc == -b->nerr, __LINE__, "%s: rc %d, expected %d; errors:\n%s",
		    b->name, rc, -b->nerr, err);
		t_check(t_count_lines(err) == b->nerr, __LINE__, "%s: %d lines, expected %d",
		    b->name, t_count_lines(err), b->nerr);
		t_check(c == sentinel, __LINE__, "%s: *out was written", b->name);
		if (b->also != NULL) {
			char want[PATH_MAX + 256];

			snprintf(want, sizeof want, "%s:%s", path, b->also);
			t_check(strstr(err, want) != NULL, __LINE__, "%s: no '%s' in:\n%s",
			    b->name, b->also, err);
		}
		/* first line: PATH:LINE:COLUMN: ...substring... */
		first = strncmp(err, path, strlen(path)) == 0 && err[strlen(path)] == ':' ?
		    err + strlen(path) + 1 : NULL;
		if (first != NULL && (nl = strchr(first, '\n')) != NULL)
			*nl = '\0';
		t_check(first != NULL && loclen > 0 && strncmp(first, b->first, loclen) == 0 &&
		    strstr(first + loclen, b->first + loclen) != NULL, __LINE__,
		    "%s: first error '%s', expected '%s'", b->name, first ? first : err, b->first);
	}
	rmdir(tmp);
}

/* ---- reloading (cfgreload.c) ---- */

/* Load TEXT as a second cluster; NULL on failure (asserted). */
static cfg_cluster *t_load_next(const char *dir, const char *text)
{
	char path[PATH_MAX], err[T_ERRLEN];
	cfg_cluster *c = NULL;

	t_check(t_load(dir, text, &c, err, path, sizeof path) == 0, __LINE__, "%s", err);
	return c;
}

#define T_BETA "  - name: beta\n    listen: tcp://127.0.0.1:7402\n    log: beta.db\n"

/* Each change a running daemon may refuse names its key; the safe ones
 * (timeouts, log level, participants appended) are applied in place. */
static void test_reload_rules(void)
{
	static const struct {
		const char *name, *text, *line;
		int refused;
		size_t nadd;
	} cases[] = {
		{"nothing", T_COORD T_PARTS, "", 0, 0},
		{"appended", T_COORD T_PARTS T_BETA, "", 0, 1},
		{"coordinator_listen", "coordinator:\n  name: coord\n  listen: tcp://127.0.0.1:7499\n"
		    "  log: coord.db\n" T_PARTS, "reload: 'coordinator.listen' changed "
		    "(tcp://127.0.0.1:7400 -> tcp://127.0.0.1:7499): not applied, it takes a restart",
		    1, 0},
		{"renamed", T_COORD "participants:\n" T_BETA,
		    "reload: 'name' of participant 1 changed (alpha -> beta)", 1, 0},
		{"moved", T_COORD "participants:\n" T_BETA
		    "  - name: alpha\n    listen: tcp://127.0.0.1:7401\n    log: alpha.db\n",
		    "1 new participant(s) not added", 1, 0},
		{"participant_listen", T_COORD "participants:\n  - name: alpha\n"
		    "    listen: tcp://127.0.0.1:7409\n    log: alpha.db\n" T_BETA,
		    "'listen' of participant 'alpha' changed", 1, 0},
		{"participant_log", T_COORD "participants:\n  - name: alpha\n"
		    "    listen: tcp://127.0.0.1:7401\n    log: other.db\n" T_BETA,
		    "'log' of participant 'alpha' changed", 1, 1},
		{"participant_http", T_COORD T_PARTS "    http: 127.0.0.1:9401\n",
		    "'http' of participant 'alpha' changed ((none) -> 127.0.0.1:9401)", 1, 0},
		{"durability", T_COORD T_PARTS "durability: normal\n",
		    "'durability' changed (full -> normal)", 1, 0},
	};
	char tmp[64], err[T_ERRLEN], done[512];

	if (!t_mkdtemp(tmp, sizeof tmp))
		return;
	for (size_t i = 0; i < T_NITEMS(cases); i++) {
		cfg_cluster *cur = t_load_next(tmp, T_COORD T_PARTS);
		cfg_cluster *next = t_load_next(tmp, cases[i].text);
		size_t nadd = 99;

		if (cur == NULL || next == NULL) {
			cfg_free(cur);
			cfg_free(next);
			continue;
		}
		int refused = cfg_reload_diff(cur, next, &nadd, err, sizeof err);
		t_check(refused == cases[i].refused && nadd == cases[i].nadd, __LINE__,
		    "%s: %d refused, %zu to add; want %d, %zu:\n%s", cases[i].name, refused, nadd,
		    cases[i].refused, cases[i].nadd, err);
		t_check(cases[i].line[0] ? strstr(err, cases[i].line) != NULL : err[0] == '\0',
		    __LINE__, "%s: want \"%s\" in:\n%s", cases[i].name, cases[i].line, err);
		cfg_free(cur);
		cfg_free(next);
	}

	/* Applied: new timeouts and level; beta appended without moving alpha. */
	cfg_cluster *cur = t_load_next(tmp, T_COORD T_PARTS);
	cfg_cluster *next = t_load_next(tmp, "coordinator:\n  name: coord\n"
	    "  listen: tcp://127.0.0.1:7400\n  log: coord.db\n  vote_timeout_ms: 300\n"
	    T_PARTS T_BETA "timeouts: {retention_s: 60}\nlog_level: debug\n");
	if (cur != NULL && next != NULL) {
		const cfg_node *alpha = &cur->participants[0];
		cfg_reload_values(cur, next, done, sizeof done);
		T_STREQ(done, "vote_timeout_ms 2000 -> 300, retention_s 86400 -> 60, "
		    "log_level (none) -> debug");
		T_EQ(cur->vote_timeout_ms, 300);
		T_EQ(cur->log_level, 3);
		T_EQ(cfg_reload_add(cur, &next->participants[1]), 0);
		T_EQ(cur->nparticipants, 2);
		T_TRUE(&cur->participants[0] == alpha);
		T_EQ(cfg_participant_index(cur, "beta"), 1);
		T_STREQ(cur->participants[1].listen, "tcp://127.0.0.1:7402");
		cfg_reload_values(cur, next, done, sizeof done);
		T_STREQ(done, ""); /* nothing left to change */
	}
	cfg_free(cur);
	cfg_free(next);
	T_EQ(cfg_log_level("warn"), 1);
	T_EQ(cfg_log_level("WARN"), -1);
	rmdir(tmp);
}

void test_config_register(void);

void test_config_register(void)
{
	static const tu_test tests[] = {
		{ "example file loads", test_example_file },
		{ "defaults apply", test_defaults },
		{ "explicit values", test_explicit_values },
		{ "relative file path", test_relative_file_path },
		{ "participant limit", test_participant_limit },
		{ "helpers", test_helpers },
		{ "unreadable files", test_unreadable },
		{ "error buffer limits", test_errbuf_limits },
		{ "invalid files", test_invalid_files },
		{ "reload rules", test_reload_rules },
	};
	TU_SUITE("config", tests);
}
