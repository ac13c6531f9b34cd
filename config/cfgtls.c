/*
 * cfgtls.c - the transport part of the cluster file: the top-level
 * insecure flag and tls section, the rules that tie them to the listen
 * URLs, and loading a node's TLS identity (config.h, twopc.yaml(5)).
 *
 *   insecure: true | false   plain tcp:// URLs allowed (default false)
 *   tls:
 *     ca: FILE               PEM CA certificate(s) every node trusts
 *     dir: DIR               NAME.crt and NAME.key for every node NAME,
 *                            and client.crt/client.key for the clients;
 *                            NAME.kx.sec / NAME.kx.pub, the X25519 key
 *                            pairs of the message MACs (rpcauth.h)
 *
 * Why one directory rather than a cert and key per node entry: every
 * process reads the same file, and a directory lets each machine hold only
 * the keys it needs (a node's NAME.key, the CA), while the file names
 * every node's certificate without listing it, as tests/mkcerts.sh makes
 * them. A key that is missing is an error only for the process that needs
 * it: its own NAME.key and NAME.kx.sec, and every other name's NAME.kx.pub.
 * With a tls section the name 'client' is reserved for clients.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfgpriv.h"
#include "rpc.h"
#include "rpcauth.h"
#include "twopc/error.h"

void cfg_check_insecure(cfg_ctx *x, const cfg_yn *n)
{
	if (!cfg_want(x, n, CFG_SCALAR, "'insecure'"))
		return;
	if (strcmp(n->text, "true") == 0)
		x->c->insecure = 1;
	else if (strcmp(n->text, "false") == 0)
		x->c->insecure = 0;
	else
		cfg_err(x, CFG_AT(n), "bad insecure value " CFG_Q " (expected true or false)",
		    CFG_QA(n->text));
}

void cfg_check_tls(cfg_ctx *x, const cfg_yn *map)
{
	static const char *const keys[] = {"ca", "dir", NULL};
	const cfg_yn *vals[2] = {NULL};
	cfg_cluster *c = x->c;

	if (!cfg_want(x, map, CFG_MAP, "'tls'"))
		return;
	cfg_fields(x, map, "in tls", keys, "ca, dir", vals);
	cfg_missing(x, map, "in tls", keys, vals, 2);
	if (vals[0] != NULL) {
		cfg_check_path(x, vals[0], "ca", &c->tls_ca);
		c->tls_ca_line = vals[0]->line;
		c->tls_ca_col = vals[0]->col;
	}
	if (vals[1] != NULL) {
		cfg_check_path(x, vals[1], "dir", &c->tls_dir);
		c->tls_dir_line = vals[1]->line;
		c->tls_dir_col = vals[1]->col;
	}
}

void cfg_check_transport(cfg_ctx *x, bool has_tls)
{
	for (size_t i = 0; i < x->nurls; i++) {
		const cfg_seen *u = &x->urls[i];

		if (strncmp(u->text, "tls+tcp://", 10) == 0 && !has_tls)
			cfg_err(x, CFG_AT(u->at), "URL " CFG_Q " needs a 'tls' section at top "
			    "level (ca: FILE, dir: DIR)", CFG_QA(u->text));
		else if (strncmp(u->text, "tcp://", 6) == 0 && !x->c->insecure)
			cfg_err(x, CFG_AT(u->at), "plain URL " CFG_Q " is unauthenticated: "
			    "use tls+tcp:// (with a 'tls' section) or set 'insecure: true' at "
			    "top level", CFG_QA(u->text));
	}
	for (size_t i = 0; has_tls && i < x->nnames; i++)
		if (strcmp(x->names[i].text, CFG_TLS_CLIENT) == 0)
			cfg_err(x, CFG_AT(x->names[i].at), "name '%s' is reserved for the "
			    "clients' certificate when there is a 'tls' section", CFG_TLS_CLIENT);
}

/* Append LINE (and a newline) to BUF. */
static void cfg_tls_emit(char *buf, size_t len, const char *line)
{
	size_t at;

	if (buf == NULL || len == 0)
		return;
	at = strlen(buf);
	snprintf(buf + at, len - at, "%s\n", line);
}

/* Load NAME's identity into *OUT; an error line, cited at tls.dir (or at
 * tls.ca when the CA is the problem), appended to ERRBUF. */
static int cfg_tls_load(const cfg_cluster *c, const char *name, rpc_tls **out, char *errbuf,
    size_t errlen)
{
	char *crt = NULL, *key = NULL, why[1024], line[1400];
	int rv;

	if (asprintf(&crt, "%s/%s.crt", c->tls_dir, name) < 0)
		crt = NULL;
	if (asprintf(&key, "%s/%s.key", c->tls_dir, name) < 0)
		key = NULL;
	if (crt == NULL || key == NULL) {
		snprintf(why, sizeof(why), "out of memory");
		rv = TWOPC_ENOMEM;
	} else {
		rv = rpc_tls_load(c->tls_ca, crt, key, name, out, why, sizeof(why));
	}
	if (rv != 0) {
		int ca = strncmp(why, "CA ", 3) == 0;
		snprintf(line, sizeof(line), "%s:%d:%d: tls: %s", c->path,
		    ca ? c->tls_ca_line : c->tls_dir_line, ca ? c->tls_ca_col : c->tls_dir_col,
		    why);
		cfg_tls_emit(errbuf, errlen, line);
	}
	free(crt);
	free(key);
	return rv;
}

/* Load NAME's message keys (its secret, every other name's public key)
 * into *OUT; an error line, cited at tls.dir, appended to ERRBUF. */
static int cfg_auth_load(const cfg_cluster *c, const char *name, rpc_auth **out, char *errbuf,
    size_t errlen)
{
	const char *names[CFG_MAX_PARTICIPANTS + 2];
	char why[1024], line[1400];
	size_t n = 0;

	names[n++] = c->coordinator.name;
	for (size_t i = 0; i < c->nparticipants && n < CFG_MAX_PARTICIPANTS + 1; i++)
		names[n++] = c->participants[i].name;
	names[n++] = CFG_TLS_CLIENT;
	int rv = rpc_auth_load(c->tls_dir, name, names, n, out, why, sizeof(why));
	if (rv != 0) {
		snprintf(line, sizeof(line), "%s:%d:%d: tls: %s", c->path, c->tls_dir_line,
		    c->tls_dir_col, rv == TWOPC_ENOMEM ? "out of memory" : why);
		cfg_tls_emit(errbuf, errlen, line);
	}
	return rv;
}

int cfg_tls_use(const cfg_cluster *c, const char *name, char *errbuf, size_t errlen)
{
	rpc_tls *t = NULL;
	rpc_auth *a = NULL;

	if (errbuf != NULL && errlen > 0)
		errbuf[0] = '\0';
	if (c->tls_ca == NULL || c->tls_dir == NULL)
		return 0;
	if (cfg_tls_load(c, name, &t, errbuf, errlen) != 0)
		return -1;
	if (cfg_auth_load(c, name, &a, errbuf, errlen) != 0) {
		rpc_tls_free(t);
		return -1;
	}
	/* Every node's URL names it: a dialer checks the server's certificate
	 * is that node's, and seals its requests for that node. */
	int rv = rpc_tls_bind(t, c->coordinator.listen, c->coordinator.name);
	if (rv == 0)
		rv = rpc_auth_bind(a, c->coordinator.listen, c->coordinator.name);
	for (size_t i = 0; rv == 0 && i < c->nparticipants; i++)
		if ((rv = rpc_tls_bind(t, c->participants[i].listen, c->participants[i].name)) == 0)
			rv = rpc_auth_bind(a, c->participants[i].listen, c->participants[i].name);
	if (rv != 0) {
		rpc_tls_free(t);
		rpc_auth_free(a);
		cfg_tls_emit(errbuf, errlen, "tls: out of memory");
		return -1;
	}
	rpc_tls_use(t);
	rpc_auth_use(a);
	return 0;
}

int cfg_tls_check(const cfg_cluster *c, const char *name, char *errbuf, size_t errlen)
{
	rpc_tls *t = NULL;
	int bad = 0;

	if (errbuf != NULL && errlen > 0)
		errbuf[0] = '\0';
	if (c->tls_ca == NULL || c->tls_dir == NULL)
		return 0;
	for (size_t i = 0; i < c->nparticipants + 2; i++) {
		const char *n = i == 0 ? c->coordinator.name :
		    i <= c->nparticipants ? c->participants[i - 1].name : CFG_TLS_CLIENT;
		if (name != NULL && strcmp(name, n) != 0)
			continue;
		rpc_auth *a = NULL;
		if (cfg_tls_load(c, n, &t, errbuf, errlen) != 0)
			bad++;
		else if (cfg_auth_load(c, n, &a, errbuf, errlen) != 0)
			bad++;
		rpc_tls_free(t);
		rpc_auth_free(a);
		t = NULL;
		if (name != NULL)
			break;
	}
	return -bad;
}
