/*
 * harness.c - see harness.h.
 */
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "config.h"
#include "db.h"
#include "mclock.h"
#include "rpc.h"
#include "twopc/client.h"
#include "wire.h"

static const char *const hc_pnames[] = { "alpha", "beta", "gamma", "delta", "epsilon",
	"zeta", "eta", "theta" };

static void
hc_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/*
 * The clusters created and not destroyed, by directory: a test that stops
 * at a failed fatal assertion never reaches its hc_destroy, and its
 * daemons would keep their ports (the next tests' clusters then fail to
 * start). hc_reap, after every test (tu_after_each), kills them. By
 * directory, not by hcluster: the struct lived on the test's stack.
 */
#define HC_LIVE_MAX 16
static char hc_live[HC_LIVE_MAX][256];

static void
hc_live_add(const char *dir)
{
	for (int i = 0; i < HC_LIVE_MAX; i++)
		if (hc_live[i][0] == '\0') {
			snprintf(hc_live[i], sizeof(hc_live[i]), "%s", dir);
			return;
		}
}

static void
hc_live_drop(const char *dir)
{
	for (int i = 0; i < HC_LIVE_MAX; i++)
		if (dir[0] != '\0' && strcmp(hc_live[i], dir) == 0)
			hc_live[i][0] = '\0';
}

/* Kill every process whose command line names DIR; how many. */
static int
hc_kill_named(const char *dir)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;
	while (d != NULL && (e = readdir(d)) != NULL) {
		char path[300], cmd[4096];
		pid_t pid = (pid_t)atoi(e->d_name);
		if (pid <= 0 || pid == getpid())
			continue;
		snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
		FILE *f = fopen(path, "r");
		if (f == NULL)
			continue;
		size_t len = fread(cmd, 1, sizeof(cmd) - 1, f);
		fclose(f);
		for (size_t k = 0; k < len; k++)
			cmd[k] = cmd[k] == '\0' ? ' ' : cmd[k];
		cmd[len] = '\0';
		if (strstr(cmd, dir) != NULL && kill(pid, SIGKILL) == 0)
			n++;
	}
	if (d != NULL)
		closedir(d);
	return n;
}

void
hc_reap(void)
{
	for (int i = 0; i < HC_LIVE_MAX; i++) {
		if (hc_live[i][0] == '\0')
			continue;
		int n = hc_kill_named(hc_live[i]);
		if (n > 0)
			fprintf(stderr, "\n  harness: killed %d daemon(s) of %s, left by the test\n", n,
			    hc_live[i]);
		hc_live[i][0] = '\0';
	}
}

int
hc_create(hcluster *c, int nparts, int vote_timeout_ms, int decision_timeout_ms)
{
	static int counter;
	const char *b = getenv("TWOPC_BUILD");
	FILE *f;

	memset(c, 0, sizeof(*c));
	if (nparts < 1 || nparts > HC_MAX_NODES - 1)
		return -1;
	snprintf(c->bin, sizeof(c->bin), "%s", b ? b : "build");
	snprintf(c->dir, sizeof(c->dir), "/tmp/twopc-test-XXXXXX");
	if (mkdtemp(c->dir) != NULL)
		hc_live_add(c->dir);
	else
		return -1;
	snprintf(c->file, sizeof(c->file), "%s/cluster.yaml", c->dir);
	c->nparts = nparts;
	c->nnodes = nparts + 1;
	/* Ports from the pid and a counter, so runs in parallel do not collide,
	 * and below 32768, where Linux never hands out an ephemeral port to an
	 * outgoing connection (one could otherwise take a listener's port). */
	int base = 10000 + (int)(getpid() % 1100) * 20 + (counter++ % 2) * 10;
	for (int i = 0; i < c->nnodes; i++) {
		snprintf(c->names[i], sizeof(c->names[i]), "%s", i == 0 ? "coord" : hc_pnames[i - 1]);
		snprintf(c->urls[i], sizeof(c->urls[i]), "tcp://127.0.0.1:%d", base + i);
		char dir[sizeof(c->dir)], name[sizeof(c->names[i])];
		memcpy(dir, c->dir, sizeof(dir));
		memcpy(name, c->names[i], sizeof(name));
		snprintf(c->logs[i], sizeof(c->logs[i]), "%s/%s.db", dir, name);
		c->pids[i] = 0;
	}
	if ((f = fopen(c->file, "w")) == NULL)
		return -1;
	/* Plain tcp:// (hc_use_tls turns the cluster to tls+tcp://). */
	fprintf(f, "insecure: true\n");
	fprintf(f, "coordinator:\n  name: coord\n  listen: %s\n  log: coord.db\n"
	    "  vote_timeout_ms: %d\nparticipants:\n", c->urls[0], vote_timeout_ms);
	for (int i = 1; i < c->nnodes; i++)
		fprintf(f, "  - name: %s\n    listen: %s\n    log: %s.db\n", c->names[i], c->urls[i],
		    c->names[i]);
	fprintf(f, "timeouts:\n  decision_timeout_ms: %d\n  ack_retry_ms: 200\ndurability: full\n",
	    decision_timeout_ms);
	fclose(f);
	return 0;
}

/* Replace every "tcp://" in S (of size CAP) with "tls+tcp://". 0 or -1. */
static int
hc_tlsify(char *s, size_t cap)
{
	for (char *p = s; (p = strstr(p, "tcp://")) != NULL; p += 10) {
		if (p > s + 3 && strncmp(p - 4, "tls+", 4) == 0) {
			p -= 4;
			continue;
		}
		size_t len = strlen(p);
		if ((size_t)(p - s) + len + 5 > cap)
			return -1;
		memmove(p + 4, p, len + 1);
		memcpy(p, "tls+", 4);
	}
	return 0;
}

int
hc_use_tls(hcluster *c, const char *certdir)
{
	const char *src = getenv("TWOPC_SRCDIR");
	char cmd[1024], text[8192], out[9200], certs[300];
	FILE *f;
	size_t n;

	snprintf(certs, sizeof(certs), "%s/tls", c->dir);
	if (certdir == NULL) {
		snprintf(cmd, sizeof(cmd), "bash '%s/tests/mkcerts.sh' '%s' '%s' >/dev/null",
		    src ? src : ".", c->file, certs);
		if (system(cmd) != 0)
			return -1;
		certdir = certs;
	}
	if ((f = fopen(c->file, "r")) == NULL)
		return -1;
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	const char *body = strncmp(text, "insecure: true\n", 15) == 0 ? text + 15 : text;
	snprintf(out, sizeof(out), "tls:\n  ca: %s/ca.crt\n  dir: %s\n%s", certdir, certdir, body);
	if (hc_tlsify(out, sizeof(out)) != 0)
		return -1;
	for (int i = 0; i < c->nnodes; i++)
		if (hc_tlsify(c->urls[i], sizeof(c->urls[i])) != 0)
			return -1;
	if ((f = fopen(c->file, "w")) == NULL)
		return -1;
	fputs(out, f);
	if (fclose(f) != 0)
		return -1;
	/* This process talks to the nodes (hc_ping, the tests) as a client. */
	return hc_become(c, CFG_TLS_CLIENT);
}

int
hc_become(hcluster *c, const char *name)
{
	cfg_cluster *cfg = NULL;
	char errs[2048];
	int rv = cfg_load(c->file, &cfg, errs, sizeof(errs)) == 0 &&
	    cfg_tls_use(cfg, name, errs, sizeof(errs)) == 0 ? 0 : -1;
	if (rv != 0)
		fprintf(stderr, "hc_become %s: %s", name, errs);
	cfg_free(cfg);
	return rv;
}

/* A free port on 127.0.0.1: bound by FD (the caller closes it once every
 * port is chosen, so that no two nodes get the same). 0 or -1. */
static int
hc_free_port(int *fd, int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	if ((*fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return -1;
	if (bind(*fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    getsockname(*fd, (struct sockaddr *)&a, &alen) != 0) {
		close(*fd);
		return -1;
	}
	*port = ntohs(a.sin_port);
	return 0;
}

int
hc_use_http(hcluster *c)
{
	char text[8192], out[9000], needle[64];
	int fds[HC_MAX_NODES], rv = 0;
	FILE *f = fopen(c->file, "r");
	if (f == NULL)
		return -1;
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	for (int i = 0; i < c->nnodes; i++) {
		int port;
		if (hc_free_port(&fds[i], &port) != 0) {
			while (i-- > 0)
				close(fds[i]);
			return -1;
		}
		snprintf(c->http[i], sizeof(c->http[i]), "127.0.0.1:%d", port);
	}
	for (int i = 0; i < c->nnodes; i++)
		close(fds[i]);
	/* After each node's log line, at that line's indentation. */
	size_t used = 0;
	const char *at = text;
	for (int i = 0; i < c->nnodes && rv == 0; i++) {
		snprintf(needle, sizeof(needle), "log: %s.db\n", c->names[i]);
		const char *hit = strstr(at, needle);
		if (hit == NULL) {
			rv = -1;
			break;
		}
		const char *eol = hit + strlen(needle);
		int indent = i == 0 ? 2 : 4;
		used += (size_t)snprintf(out + used, sizeof(out) - used, "%.*s%*shttp: %s\n",
		    (int)(eol - at), at, indent, "", c->http[i]);
		at = eol;
		if (used >= sizeof(out))
			rv = -1;
	}
	if (rv == 0)
		used += (size_t)snprintf(out + used, sizeof(out) - used, "%s", at);
	if (rv != 0 || used >= sizeof(out) || (f = fopen(c->file, "w")) == NULL)
		return -1;
	fputs(out, f);
	return fclose(f) == 0 ? 0 : -1;
}

int
hc_http_get(hcluster *c, int i, const char *path, int *status, char *body, size_t len)
{
	char addr[32], req[512], resp[65536];
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct timeval tv = { 5, 0 };
	size_t got = 0;

	if (i < 0 || i >= c->nnodes || c->http[i][0] == '\0' || len == 0)
		return -1;
	snprintf(addr, sizeof(addr), "%s", c->http[i]);
	char *colon = strrchr(addr, ':');
	*colon = '\0';
	a.sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, addr, &a.sin_addr) != 1)
		return -1;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n",
	    path, c->http[i]);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || write(fd, req, (size_t)n) != n) {
		close(fd);
		return -1;
	}
	for (;;) {
		ssize_t r = read(fd, resp + got, sizeof(resp) - 1 - got);
		if (r <= 0)
			break;
		got += (size_t)r;
		if (got == sizeof(resp) - 1)
			break;
	}
	close(fd);
	resp[got] = '\0';
	int code = 0;
	if (sscanf(resp, "HTTP/1.%*d %d", &code) != 1)
		return -1;
	const char *b = strstr(resp, "\r\n\r\n");
	snprintf(body, len, "%s", b ? b + 4 : "");
	*status = code;
	return 0;
}

int
hc_set_durability(hcluster *c, const char *durability)
{
	FILE *f = fopen(c->file, "r+");
	char text[8192];
	size_t n;
	if (f == NULL)
		return -1;
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	char *d = strstr(text, "durability: ");
	if (d == NULL) {
		fclose(f);
		return -1;
	}
	*d = '\0';
	rewind(f);
	if (ftruncate(fileno(f), 0) != 0) {
		fclose(f);
		return -1;
	}
	fprintf(f, "%sdurability: %s\n", text, durability);
	return fclose(f) == 0 ? 0 : -1;
}

/* In a forked child: become node I's program with ENV, stdout and stderr
 * appended to LOGF. Never returns. */
static void
hc_exec_node(hcluster *c, int i, const char *env, const char *logf)
{
	char exe[320];
	snprintf(exe, sizeof(exe), "%s/%s", c->bin, i == 0 ? "twopc-coordinator" : "twopc-participant");
	int fd = open(logf, O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (fd >= 0) {
		dup2(fd, 1);
		dup2(fd, 2);
		close(fd);
	}
	unsetenv("TWOPC_CRASH_AT");
	unsetenv("TWOPC_PAUSE_AT");
	/* extra_env, then env: "VAR=value" words separated by spaces. */
	for (int k = 0; k < 2; k++) {
		char buf[256], *save = NULL;
		snprintf(buf, sizeof(buf), "%s", k == 0 ? c->extra_env : env ? env : "");
		for (char *w = strtok_r(buf, " ", &save); w != NULL; w = strtok_r(NULL, " ", &save)) {
			char *eq = strchr(w, '=');
			if (eq != NULL) {
				*eq = '\0';
				setenv(w, eq + 1, 1);
			}
		}
	}
	if (i == 0) {
		/* No -n: a test may name a second coordinator's log file
		 * differently (names[0]) for the same cluster file. */
		char words[sizeof(c->coord_args)], *save = NULL;
		char *argv[16] = { exe, "-v", "-c", c->file };
		int n = 4;
		snprintf(words, sizeof(words), "%s", c->coord_args);
		for (char *w = strtok_r(words, " ", &save); w != NULL && n < 15;
		    w = strtok_r(NULL, " ", &save))
			argv[n++] = w;
		argv[n] = NULL;
		execv(exe, argv);
	} else if (c->pcmd[0] != '\0') {
		char cmd[1024];
		snprintf(cmd, sizeof(cmd), "exec %s -c '%s' -n '%s'", c->pcmd, c->file, c->names[i]);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
	} else
		execl(exe, exe, "-v", "-c", c->file, "-n", c->names[i], (char *)NULL);
	_exit(127);
}

int
hc_spawn(hcluster *c, int i, const char *env)
{
	char logf[320];
	if (i < 0 || i >= c->nnodes)
		return -1;
	snprintf(logf, sizeof(logf), "%s/%s.log", c->dir, c->names[i]);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0)
		hc_exec_node(c, i, env, logf);
	c->pids[i] = pid;
	return 0;
}

pid_t
hc_spawn_extra(hcluster *c, const char *env)
{
	char logf[320];
	snprintf(logf, sizeof(logf), "%s/%s-2.log", c->dir, c->names[0]);
	pid_t pid = fork();
	if (pid == 0)
		hc_exec_node(c, 0, env, logf);
	return pid;
}

int
hc_adopt(hcluster *c, int i, pid_t pid)
{
	if (i < 0 || i >= c->nnodes || c->pids[i] > 0 || pid <= 0)
		return -1;
	c->pids[i] = pid;
	return 0;
}

/* hc_bounded's call, shared by the caller and the thread that makes it:
 * the last of the two to let go frees it. */
typedef struct hc_call {
	void (*fn)(void *);
	void *arg;
	pthread_mutex_t mtx;
	pthread_cond_t cv;
	int done, refs;
} hc_call;

static void
hc_call_drop(hc_call *k)
{
	pthread_mutex_lock(&k->mtx);
	int last = --k->refs == 0;
	pthread_mutex_unlock(&k->mtx);
	if (last) {
		pthread_cond_destroy(&k->cv);
		pthread_mutex_destroy(&k->mtx);
		free(k);
	}
}

static void *
hc_call_main(void *arg)
{
	hc_call *k = arg;
	k->fn(k->arg);
	pthread_mutex_lock(&k->mtx);
	k->done = 1;
	pthread_cond_signal(&k->cv);
	pthread_mutex_unlock(&k->mtx);
	hc_call_drop(k);
	return NULL;
}

int
hc_bounded(void (*fn)(void *), void *arg, int timeout_ms, const char *what)
{
	hc_call *k = calloc(1, sizeof(*k));
	pthread_t t;
	if (k == NULL) {
		fn(arg);
		return 0;
	}
	k->fn = fn;
	k->arg = arg;
	k->refs = 2;
	pthread_mutex_init(&k->mtx, NULL);
	mclock_cond_init(&k->cv);
	if (pthread_create(&t, NULL, hc_call_main, k) != 0) {
		k->refs = 1;
		hc_call_drop(k);
		fn(arg);
		return 0;
	}
	pthread_detach(t);
	int64_t end = mono_ms() + timeout_ms;
	pthread_mutex_lock(&k->mtx);
	for (int64_t left; !k->done && (left = end - mono_ms()) > 0;)
		mclock_cond_wait_ms(&k->cv, &k->mtx, (long)left);
	int done = k->done;
	pthread_mutex_unlock(&k->mtx);
	hc_call_drop(k);
	if (!done)
		fprintf(stderr, "\n  harness: %s has not returned after %d ms; going on without it "
		    "(NNG 1.5.2's close can hang: nanomsg/nng#1543, #1813)\n", what, timeout_ms);
	return done ? 0 : -1;
}

static void
hc_client_close_fn(void *cl)
{
	twopc_client_close(cl);
}

void
hc_client_close(struct twopc_client *cl)
{
	if (cl != NULL)
		(void)hc_bounded(hc_client_close_fn, cl, HC_CLOSE_MS, "closing a client");
}

static void
hc_close_sock(void *arg)
{
	rpc_close(*(nng_socket *)arg);
	free(arg);
}

/* Ask node I for IAMALIVE until it answers. */
static int
hc_ping(hcluster *c, int i, int timeout_ms)
{
	nng_socket s;
	int64_t end = mono_ms() + timeout_ms;
	if (rpc_dial(c->urls[i], 0, &s) != 0)
		return -1;
	int ok = -1;
	while (mono_ms() < end) {
		wire_msg req, rep;
		wire_msg_init(&req, WIRE_IAMALIVE, 0, NULL, "client"); /* the role this process dials as */
		if (rpc_call(s, &req, &rep, 200) == 0) {
			wire_msg_free(&rep);
			ok = 0;
			break;
		}
		if (!hc_alive(c, i))
			break;
	}
	nng_socket *sp = malloc(sizeof(*sp));
	if (sp == NULL)
		rpc_close(s);
	else {
		*sp = s;
		(void)hc_bounded(hc_close_sock, sp, HC_CLOSE_MS, "closing the start probe's socket");
	}
	return ok;
}

void
hc_why_silent(hcluster *c, int i)
{
	char line[512], keep[8][512], path[600];
	size_t n = 0;
	int alive = hc_alive(c, i), st = -c->pids[i] - 1;
	if (alive)
		fprintf(stderr, "harness: %s (pid %d) is running but did not answer\n", c->names[i],
		    (int)c->pids[i]);
	else if (c->pids[i] < 0 && WIFSIGNALED(st))
		fprintf(stderr, "harness: %s died of signal %d\n", c->names[i], WTERMSIG(st));
	else if (c->pids[i] < 0)
		fprintf(stderr, "harness: %s exited %d\n", c->names[i], WEXITSTATUS(st));
	snprintf(path, sizeof(path), "%s/%s.log", c->dir, c->names[i]);
	FILE *f = fopen(path, "r");
	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		snprintf(keep[n++ % 8], sizeof(keep[0]), "%s", line);
	if (f != NULL)
		fclose(f);
	for (size_t k = n > 8 ? n - 8 : 0; k < n; k++)
		fprintf(stderr, "harness: %s.log: %s%s", c->names[i], keep[k % 8],
		    strchr(keep[k % 8], '\n') ? "" : "\n");
	if (alive)
		hc_stacks(c, i);
}

int
hc_start(hcluster *c, int i, const char *env)
{
	if (hc_spawn(c, i, env) != 0)
		return -1;
	return hc_ping(c, i, HC_START_MS);
}

int
hc_start_all(hcluster *c)
{
	for (int i = c->nnodes - 1; i >= 0; i--)
		if (hc_spawn(c, i, NULL) != 0)
			return -1;
	for (int i = 0; i < c->nnodes; i++) {
		if (hc_ping(c, i, HC_START_MS) != 0) {
			fprintf(stderr, "harness: %s did not answer on %s within %d ms (see %s/%s.log)\n",
			    c->names[i], c->urls[i], HC_START_MS, c->dir, c->names[i]);
			hc_why_silent(c, i);
			return -1;
		}
	}
	return 0;
}

int
hc_alive(hcluster *c, int i)
{
	int st;
	if (c->pids[i] <= 0)
		return 0;
	pid_t r = waitpid(c->pids[i], &st, WNOHANG);
	if (r == c->pids[i]) {
		c->pids[i] = -st - 1; /* remember the status, negative: reaped */
		return 0;
	}
	return 1;
}

int
hc_signal(hcluster *c, int i, int sig)
{
	return c->pids[i] > 0 ? kill(c->pids[i], sig) : -1;
}

int
hc_wait_exit(hcluster *c, int i, int timeout_ms, int *status)
{
	int64_t end = mono_ms() + timeout_ms;
	for (;;) {
		if (c->pids[i] < 0) {
			if (status)
				*status = -(c->pids[i] + 1);
			c->pids[i] = 0;
			return 0;
		}
		if (c->pids[i] == 0)
			return -1;
		int st;
		pid_t r = waitpid(c->pids[i], &st, WNOHANG);
		if (r == c->pids[i]) {
			if (status)
				*status = st;
			c->pids[i] = 0;
			return 0;
		}
		if (mono_ms() >= end)
			return -1;
		hc_sleep_ms(5);
	}
}

/* Where node I's threads are, for a process that does not exit when it
 * should: tests/stacks.sh (found from TWOPC_SRCDIR, else the current
 * directory, where make runs) writes gdb's dump to DIR/stacks-NAME.txt
 * and prints one line on stderr. */
void
hc_stacks_pid(int pid, const char *file, const char *name)
{
	char cmd[1200];
	const char *src = getenv("TWOPC_SRCDIR");
	snprintf(cmd, sizeof(cmd), "bash '%s/tests/stacks.sh' %d '%s' >&2",
	    src != NULL ? src : ".", pid, file);
	if (system(cmd) != 0)
		fprintf(stderr, "  (could not take the stacks of %s)\n", name);
}

void
hc_stacks(hcluster *c, int i)
{
	char file[320];
	if (c->pids[i] <= 0)
		return;
	snprintf(file, sizeof(file), "%s/stacks-%s.txt", c->dir, c->names[i]);
	hc_stacks_pid((int)c->pids[i], file, c->names[i]);
}

int
hc_stop(hcluster *c, int i, int timeout_ms)
{
	(void)hc_signal(c, i, SIGTERM); /* nothing to signal once reaped */
	if (hc_wait_exit(c, i, timeout_ms, NULL) == 0 || c->pids[i] == 0)
		return 0;
	fprintf(stderr, "  %s (pid %d) has not exited %d ms after SIGTERM\n", c->names[i],
	    (int)c->pids[i], timeout_ms);
	hc_stacks(c, i);
	return -1;
}

int
hc_kill(hcluster *c, int i)
{
	if (c->pids[i] <= 0) {
		c->pids[i] = 0;
		return 0;
	}
	kill(c->pids[i], SIGKILL);
	return hc_wait_exit(c, i, 5000, NULL);
}

int hc_sanitizer_reports;

/* Whether the file at PATH holds a sanitizer report at all (most node
 * logs do not, and the verdict script need not run for them). */
static int
hc_has_report(const char *path)
{
	char line[1024];
	int found = 0;
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return 0;
	while (!found && fgets(line, sizeof(line), f) != NULL)
		found = strstr(line, "ERROR: LeakSanitizer") != NULL ||
		    strstr(line, "ERROR: AddressSanitizer") != NULL ||
		    strstr(line, "runtime error:") != NULL;
	fclose(f);
	return found;
}

/*
 * The sanitizer reports in the nodes' stderr: tests/sanitizer-verdict.sh
 * (found from TWOPC_SRCDIR, else the current directory, where make runs)
 * prints one line on each and says which count, by the rules it states
 * (the same ones tests/lsan-run.sh applies to the test programs). A node
 * counts once however many of its reports count.
 */
int
hc_scan_sanitizers(hcluster *c)
{
	const char *src = getenv("TWOPC_SRCDIR");
	int found = 0;
	for (int i = 0; i < c->nnodes; i++) {
		char path[320], cmd[1024];
		snprintf(path, sizeof(path), "%s/%s.log", c->dir, c->names[i]);
		if (!hc_has_report(path))
			continue;
		snprintf(cmd, sizeof(cmd), "out=$(sh '%s/tests/sanitizer-verdict.sh' '%s'); st=$?; "
		    "printf '%%s\\n' \"$out\" | sed 's|^|harness: %s: |' >&2; exit $st",
		    src != NULL ? src : ".", path, path);
		int rc = system(cmd);
		/* 0: nothing counts; anything else (a report counts, or the
		 * script could not run) counts the node. */
		found += !(rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 0);
	}
	hc_sanitizer_reports += found;
	return found;
}

void
hc_destroy(hcluster *c)
{
	hc_live_drop(c->dir);
	for (int i = 0; i < c->nnodes; i++)
		if (c->pids[i] > 0)
			kill(c->pids[i], SIGTERM);
	for (int i = 0; i < c->nnodes; i++) {
		if (c->pids[i] != 0 && hc_wait_exit(c, i, 5000, NULL) != 0)
			hc_kill(c, i);
	}
	if (c->nnodes > 0 && hc_scan_sanitizers(c) > 0)
		fprintf(stderr, "harness: keeping %s for the sanitizer report\n", c->dir);
	else if (c->dir[0] != '\0' && getenv("TWOPC_KEEP") == NULL) {
		char cmd[300];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", c->dir);
		if (system(cmd) != 0) {
			/* leftovers in /tmp only */
		}
	}
}

int
hc_wait_log_line(hcluster *c, int i, const char *needle, int timeout_ms)
{
	return hc_wait_log_count(c, i, needle, 1, timeout_ms);
}

int
hc_log_count(hcluster *c, int i, const char *needle)
{
	char path[320], line[8192];
	int n = 0;
	snprintf(path, sizeof(path), "%s/%s.log", c->dir, c->names[i]);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		n += strstr(line, needle) != NULL;
	fclose(f);
	return n;
}

int
hc_wait_log_count(hcluster *c, int i, const char *needle, int n, int timeout_ms)
{
	int64_t end = mono_ms() + timeout_ms;
	do {
		if (hc_log_count(c, i, needle) >= n)
			return 0;
		hc_sleep_ms(10);
	} while (mono_ms() < end);
	return -1;
}

static sqlite3 *
hc_open_path(const char *path)
{
	sqlite3 *h = NULL;
	if (sqlite3_open_v2(path, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		sqlite3_close(h);
		return NULL;
	}
	sqlite3_busy_timeout(h, 2000);
	return h;
}

static sqlite3 *
hc_open(hcluster *c, int i)
{
	return hc_open_path(c->logs[i]);
}

void
hc_state(hcluster *c, int i, const char *txid, char *buf, size_t len)
{
	sqlite3 *h = hc_open(c, i);
	sqlite3_stmt *st = NULL;
	snprintf(buf, len, "?");
	if (h == NULL)
		return;
	if (sqlite3_prepare_v2(h, "SELECT state FROM txn WHERE txid = ?1", -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, txid, -1, SQLITE_STATIC);
		int rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			snprintf(buf, len, "%s", (const char *)sqlite3_column_text(st, 0));
		else if (rc == SQLITE_DONE)
			snprintf(buf, len, "%s", "");
	}
	sqlite3_finalize(st);
	sqlite3_close(h);
}

int
hc_wait_state(hcluster *c, int i, const char *txid, const char *state, int timeout_ms)
{
	char buf[32];
	int64_t end = mono_ms() + timeout_ms;
	do {
		hc_state(c, i, txid, buf, sizeof(buf));
		if (strcmp(buf, state) == 0)
			return 0;
		hc_sleep_ms(10);
	} while (mono_ms() < end);
	return -1;
}

int
hc_wait_query(hcluster *c, int i, const char *sql, long long want, int timeout_ms)
{
	int64_t end = mono_ms() + timeout_ms;
	do {
		if (hc_query_int(c, i, sql) == want)
			return 0;
		hc_sleep_ms(10);
	} while (mono_ms() < end);
	return -1;
}

long long
hc_query_int(hcluster *c, int i, const char *sql)
{
	return hc_file_int(c->logs[i], sql);
}

long long
hc_file_int(const char *path, const char *sql)
{
	sqlite3 *h = hc_open_path(path);
	sqlite3_stmt *st = NULL;
	long long v = -1;
	if (h == NULL)
		return -1;
	if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return v;
}

void
hc_kv(hcluster *c, int i, const char *key, char *buf, size_t len)
{
	sqlite3 *h = hc_open(c, i);
	sqlite3_stmt *st = NULL;
	snprintf(buf, len, "%s", "");
	if (h == NULL)
		return;
	/* As a reader does (twopc get): a key held by a READY transaction is
	 * read once its decision is applied, at most HC_KV_WAIT_MS later.
	 * COMMITTED reaches the client before GLOBAL_COMMIT reaches the
	 * participants, so a read right after it would race the apply. */
	int64_t until = mono_ms() + HC_KV_WAIT_MS;
	while (mono_ms() < until) {
		int held = 0;
		if (sqlite3_prepare_v2(h, "SELECT count(*) FROM locks WHERE key = ?1", -1, &st,
		    NULL) == SQLITE_OK) {
			sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
			held = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) > 0;
		}
		sqlite3_finalize(st);
		st = NULL;
		if (!held)
			break;
		hc_sleep_ms(5);
	}
	if (sqlite3_prepare_v2(h, "SELECT value FROM kv WHERE key = ?1", -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW)
			snprintf(buf, len, "%s", (const char *)sqlite3_column_text(st, 0));
	}
	sqlite3_finalize(st);
	sqlite3_close(h);
}

static pid_t
hc_exec_driver(hcluster *c, int outfd, const char *const *args)
{
	char exe[320];
	const char *argv[64];
	int n = 0;
	snprintf(exe, sizeof(exe), "%s/twopc", c->bin);
	argv[n++] = exe;
	argv[n++] = "-c";
	argv[n++] = c->file;
	for (int k = 0; args[k] != NULL && n < 63; k++)
		argv[n++] = args[k];
	argv[n] = NULL;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(outfd, 1);
		dup2(outfd, 2);
		close(outfd);
		execv(exe, (char *const *)argv);
		_exit(127);
	}
	return pid;
}

int
hc_twopc(hcluster *c, char *out, size_t len, const char *const *args)
{
	int fds[2];
	if (pipe(fds) != 0)
		return -1;
	pid_t pid = hc_exec_driver(c, fds[1], args);
	close(fds[1]);
	size_t at = 0;
	ssize_t r;
	char sink[256];
	while ((r = read(fds[0], at + 1 < len ? out + at : sink,
	    at + 1 < len ? len - at - 1 : sizeof(sink))) > 0)
		if (at + 1 < len)
			at += (size_t)r;
	close(fds[0]);
	if (len > 0)
		out[at < len ? at : len - 1] = '\0';
	int st;
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

pid_t
hc_twopc_bg(hcluster *c, const char *outfile, const char *const *args)
{
	int fd = open(outfile, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return -1;
	pid_t pid = hc_exec_driver(c, fd, args);
	close(fd);
	return pid;
}

int
hc_twopc_wait(pid_t pid, int timeout_ms)
{
	int64_t end = mono_ms() + timeout_ms;
	for (;;) {
		int st;
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		if (r < 0 || mono_ms() >= end) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return -1;
		}
		hc_sleep_ms(5);
	}
}
