/*
 * pserve.c - the participant library's lifecycle (open, start, wait,
 * stop, close) and the dispatch of every message to its handler: phase one
 * (pvote.c), phase two (pdecide.c), termination (pterm.c), resolution
 * (presolve.c), STATUS and GET (pstatus.c), each after the role check
 * (prole.c); the HTTP server (phttp.c) once recovered. Recovery runs in start, before anything is served
 * (precover.c).
 *
 * Every handler is idempotent (NNG's REQ resends): it looks at the logged
 * state first and answers from it.
 */
#include "part.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mclock.h"
#include "pdecide.h"
#include "phttp.h"
#include "precover.h"
#include "presolve.h"
#include "prole.h"
#include "pstatus.h"
#include "pterm.h"
#include "pvote.h"
#include "serve.h"
#include "tlog.h"

/* Handler threads. Handlers never wait for a sync (the reply waits at
 * the gate instead) and serialize on the log's lock, so a few suffice. */
#define PART_WORKERS 4

/* The reply's strings live in this thread's buffers until the server has
 * encoded them. */
static int
part_dispatch(twopc_participant *p, const wire_msg *req, wire_msg *rep)
{
	static _Thread_local char buf[WIRE_TEXT_MAX + 1];
	if (part_role_refused(p, req, rep, buf, sizeof(buf)))
		return 1;
	switch ((wire_type)req->type) {
	case WIRE_VOTE_REQUEST: {
		int send = part_on_vote_request(p, req, rep, buf, sizeof(buf));
		if (send == 1 && (rep->type == WIRE_VOTE_COMMIT || rep->type == WIRE_VOTE_ABORT ||
		    rep->type == WIRE_VOTE_READONLY))
			rpc_time_reply(&p->vote_time);
		return send;
	}
	case WIRE_GLOBAL_COMMIT:
	case WIRE_GLOBAL_ABORT:
		return part_on_global(p, req, rep, buf, sizeof(buf));
	case WIRE_DECISION_REQUEST:
		return part_on_decision_request(p, req, rep);
	case WIRE_STATUS_REQUEST:
		return part_on_status(p, req, rep);
	case WIRE_FORGET:
		return part_on_forget(p, req, rep, buf, sizeof(buf));
	case WIRE_GET:
		return part_on_get(p, req, rep, buf, sizeof(buf));
	case WIRE_RESOLVE:
		return part_on_resolve(p, req, rep, buf, sizeof(buf));
	default:
		return serve_other(req, rep, "a participant", buf, sizeof(buf));
	}
}

/* The rpc_server handler. */
static int
part_handle(void *user, const wire_msg *req, wire_msg *rep)
{
	twopc_participant *p = user;
	if (part_failed(p))
		return 0; /* promise nothing after a failed force */
	if (strcmp(req->sender, p->cfg->coordinator.name) == 0)
		fd_heard(&p->fd, 0); /* it is up: an outage of it is over */
	if (!atomic_load(&p->ready)) {
		/* Recovering: as the coordinator's coord_handle. A VOTE_REQUEST
		 * resent after a crash may be for a transaction this log has
		 * already committed: it must be answered from the log, later,
		 * not refused now. */
		static _Thread_local char buf[WIRE_TEXT_MAX + 1];
		return serve_starting(req, rep, "the participant is starting (recovery is not "
		    "finished); try again", buf, sizeof(buf));
	}
	return part_dispatch(p, req, rep);
}

/*
 * The gate of every reply (group commit, db.h): a reply leaves only once
 * every forced record committed before it is durable. That covers the
 * records its handler forced (READY before VOTE_COMMIT, R1; COMMIT before
 * ACK, R3; ABORT before a termination answer, R8) and any forced record
 * it merely read: a duplicate VOTE_REQUEST that finds READY committed by
 * another thread, not yet synced, must not answer VOTE_COMMIT before that
 * READY is on disk. The worker does not wait: the reply leaves from the
 * thread that ends the covering sync.
 */
static void
part_gate(void *arg, rpc_done_fn done, void *slot)
{
	twopc_participant *p = arg;
	db_durable_async(p->db, done, slot);
}

/* A BATCH of requests is one transaction of the log (rpc.h). */
static int
part_group_begin(void *user)
{
	twopc_participant *p = user;
	return db_group_begin(p->db);
}

static void
part_group_end(void *user)
{
	twopc_participant *p = user;
	if (db_group_end(p->db) != 0)
		part_fail(p, "cannot write the log");
}

static void
part_gate_failed(void *user)
{
	part_fail(user, "cannot force the log");
}

/* ---- lifecycle ---- */

static void
part_log_cfg_errors(const char *errs)
{
	char line[1024];
	const char *s = errs;
	while (*s) {
		const char *e = strchr(s, '\n');
		size_t n = e ? (size_t)(e - s) : strlen(s);
		snprintf(line, sizeof(line), "%.*s", (int)n, s);
		tlog_error("%s", line);
		s += n + (e != NULL);
	}
}

/* Free P and what it owns; nothing of it may run any more. Also for a
 * handle part_open did not finish (calloc'd: unset parts are zero). */
static void
part_free(twopc_participant *p)
{
	free(p->peer_socks);
	free(p->peer_open);
	fd_fini(&p->fd);
	db_close(p->db);
	cfg_free(p->cfg);
	free(p->asks);
	pthread_cond_destroy(&p->cv);
	pthread_cond_destroy(&p->released_cv);
	pthread_mutex_destroy(&p->mtx);
	free(p);
}

/* Open with CFG (owned from here on, also on failure). */
static int
part_open(twopc_participant **out, cfg_cluster *cfg, const char *name, const twopc_resource *res)
{
	twopc_participant *p;
	int rv;

	if ((p = calloc(1, sizeof(*p))) == NULL) {
		cfg_free(cfg);
		return TWOPC_ENOMEM;
	}
	pthread_mutex_init(&p->mtx, NULL);
	mclock_cond_init(&p->cv); /* timed waits in precover.c */
	mclock_cond_init(&p->released_cv); /* timed waits in pstatus.c */
	p->res = *res;
	p->cfg = cfg;
	if ((p->self = cfg_participant(p->cfg, name)) == NULL) {
		tlog_error("%s: no participant named '%s'", p->cfg->path, name);
		rv = TWOPC_ENOENT;
		goto fail;
	}
	if (p->self->log == NULL || p->self->log[0] == '\0') {
		tlog_error("participant '%s' has no log path", name);
		rv = TWOPC_ECONFIG;
		goto fail;
	}
	tlog_set_name(name);
	rv = db_open(p->self->log, p->cfg->durability == CFG_DURABILITY_FULL, plog_schema, &p->db);
	if (rv != 0)
		goto fail;
	uint64_t e = 0;
	if ((rv = plog_epoch_get(p->db, &e)) != 0)
		goto fail;
	e = part_epoch_from_log(e);
	p->ro_notes = plog_readonly_any(p->db);
	atomic_store(&p->max_epoch, e);
	p->epoch_stored = e;
	/* Room for every participant a cluster may have: a reload appends
	 * peers (preload.c) without moving these. */
	p->peer_socks = calloc(CFG_MAX_PARTICIPANTS, sizeof(*p->peer_socks));
	p->peer_open = calloc(CFG_MAX_PARTICIPANTS, sizeof(*p->peer_open));
	if (p->peer_socks == NULL || p->peer_open == NULL ||
	    fd_init(&p->fd, CFG_MAX_PARTICIPANTS + 1, p->cfg->decision_timeout_ms,
	    p->cfg->decision_timeout_ms * 4) != 0) {
		rv = TWOPC_ENOMEM;
		goto fail;
	}
	fd_set_name(&p->fd, 0, p->cfg->coordinator.name);
	for (size_t i = 0; i < p->cfg->nparticipants; i++)
		fd_set_name(&p->fd, (int)i + 1, p->cfg->participants[i].name);
	*out = p;
	return 0;
fail:
	part_free(p);
	return rv;
}

static int
part_res_ok(const twopc_resource *res)
{
	return res != NULL && res->prepare != NULL && res->commit != NULL;
}

int
twopc_participant_check(const char *cluster_file, const char *name, size_t *nparticipants)
{
	cfg_cluster *cfg = NULL;
	char errs[8192];
	int rv = 0;

	if (cluster_file == NULL)
		return TWOPC_EINVAL;
	errs[0] = '\0';
	if (cfg_load(cluster_file, &cfg, errs, sizeof(errs)) != 0) {
		part_log_cfg_errors(errs);
		return TWOPC_ECONFIG;
	}
	if (name != NULL && cfg_participant(cfg, name) == NULL) {
		tlog_error("%s: no participant named '%s'", cluster_file, name);
		rv = TWOPC_ENOENT;
	} else if (cfg_tls_check(cfg, name, errs, sizeof(errs)) != 0) {
		/* Without NAME, every node's and the client's TLS files. */
		part_log_cfg_errors(errs);
		rv = TWOPC_ECONFIG;
	} else {
		/* The log file of NAME (of every participant without one). */
		for (size_t i = 0; i < cfg->nparticipants; i++) {
			const cfg_node *n = &cfg->participants[i];
			if ((name == NULL || strcmp(n->name, name) == 0) &&
			    cfg_check_log(cfg, n, errs, sizeof(errs)) != 0)
				rv = TWOPC_ECONFIG;
		}
		if (rv != 0)
			part_log_cfg_errors(errs);
		else if (nparticipants != NULL)
			*nparticipants = cfg->nparticipants;
	}
	cfg_free(cfg);
	return rv;
}

int
twopc_participant_open(twopc_participant **out, const char *cluster_file, const char *name,
    const twopc_resource *res)
{
	cfg_cluster *cfg = NULL;
	char errs[8192];

	if (out == NULL || cluster_file == NULL || name == NULL || !part_res_ok(res))
		return TWOPC_EINVAL;
	errs[0] = '\0';
	if (cfg_load(cluster_file, &cfg, errs, sizeof(errs)) != 0) {
		part_log_cfg_errors(errs);
		return TWOPC_ECONFIG;
	}
	/* The node's TLS identity, read before anything else is opened (an
	 * unknown NAME is left to part_open's error). */
	if (cfg_participant(cfg, name) != NULL && cfg_tls_use(cfg, name, errs, sizeof(errs)) != 0) {
		part_log_cfg_errors(errs);
		cfg_free(cfg);
		return TWOPC_ECONFIG;
	}
	return part_open(out, cfg, name, res);
}

int
twopc_participant_open_config(twopc_participant **out, const twopc_participant_config *c,
    const twopc_resource *res)
{
	const char *names[CFG_MAX_PARTICIPANTS + 1], *urls[CFG_MAX_PARTICIPANTS + 1];
	const char *logs[CFG_MAX_PARTICIPANTS + 1];
	cfg_cluster *cfg = NULL;
	char errs[4096];

	if (out == NULL || c == NULL || c->name == NULL || c->log == NULL || !part_res_ok(res) ||
	    c->participants == NULL || c->nparticipants == 0)
		return TWOPC_EINVAL;
	if (c->nparticipants > CFG_MAX_PARTICIPANTS)
		return TWOPC_ECONFIG;
	names[0] = c->coordinator.name;
	urls[0] = c->coordinator.listen;
	logs[0] = NULL;
	for (size_t i = 0; i < c->nparticipants; i++) {
		names[i + 1] = c->participants[i].name;
		urls[i + 1] = c->participants[i].listen;
		logs[i + 1] = names[i + 1] != NULL && strcmp(names[i + 1], c->name) == 0 ? c->log : NULL;
	}
	if (cfg_build(names, urls, logs, c->nparticipants + 1, c->decision_timeout_ms, c->retention_s,
	    c->durability_normal, &cfg, errs, sizeof(errs)) != 0) {
		part_log_cfg_errors(errs);
		return TWOPC_ECONFIG;
	}
	return part_open(out, cfg, c->name, res);
}

int
twopc_participant_set_atomic_commit(twopc_participant *p, int atomic)
{
	if (p == NULL)
		return TWOPC_EINVAL;
	pthread_mutex_lock(&p->mtx);
	int started = p->started;
	if (!started)
		p->atomic_commit = atomic != 0;
	pthread_mutex_unlock(&p->mtx);
	return started ? TWOPC_ESTATE : 0;
}

int
twopc_participant_start(twopc_participant *p)
{
	int rv;

	if (p == NULL)
		return TWOPC_EINVAL;
	pthread_mutex_lock(&p->mtx);
	if (p->started) {
		pthread_mutex_unlock(&p->mtx);
		return TWOPC_ESTATE;
	}
	p->started = 1;
	pthread_mutex_unlock(&p->mtx);
	/* The log is locked (part_open); bind before recovery, so that a
	 * second process on this address stops before it changes a row.
	 * Until recovery is done requests are answered "starting"
	 * (part_handle). */
	rpc_server_opts so = {
		.nworkers = PART_WORKERS, .handler = part_handle, .user = p,
		.sender = p->self->name, .epoch = &p->max_epoch,
		.gate = part_gate, .gate_arg = p, .fail = part_gate_failed,
		.group_begin = part_group_begin, .group_end = part_group_end,
	};
	if (p->cfg->insecure)
		tlog_warn("%s: insecure: true: the cluster is unauthenticated; anyone who can "
		    "reach a tcp:// address can commit, abort or erase transactions", p->cfg->path);
	if ((rv = rpc_server_start(p->self->listen, &so, &p->srv)) != 0)
		return rv;
	if ((rv = part_recover(p)) != 0)
		return rv;
	if ((rv = rpc_dial(p->cfg->coordinator.listen, 1, &p->coord)) != 0)
		return rv;
	p->coord_open = 1;
	atomic_store(&p->ready, 1);
	if (pthread_create(&p->bg, NULL, part_bg_main, p) != 0)
		return TWOPC_ENOMEM;
	p->bg_running = 1;
	if ((rv = part_http_start(p)) != 0)
		return rv;
	pthread_mutex_lock(&p->mtx);
	p->running = 1;
	pthread_mutex_unlock(&p->mtx);
	tlog_info("participant %s serving on %s (log %s, epoch %llu)", p->self->name,
	    p->self->listen, p->self->log, (unsigned long long)atomic_load(&p->max_epoch));
	return 0;
}

int
twopc_participant_wait(twopc_participant *p)
{
	if (p == NULL)
		return TWOPC_EINVAL;
	pthread_mutex_lock(&p->mtx);
	if (!p->running) {
		/* Never started, or its start failed: nothing would wake us. */
		pthread_mutex_unlock(&p->mtx);
		return TWOPC_ESTATE;
	}
	while (!p->stopping && !p->failed)
		pthread_cond_wait(&p->cv, &p->mtx);
	int rv = p->failed ? TWOPC_EIO : 0;
	pthread_mutex_unlock(&p->mtx);
	return rv;
}

int
twopc_participant_stop(twopc_participant *p)
{
	if (p == NULL)
		return TWOPC_EINVAL;
	pthread_mutex_lock(&p->mtx);
	p->stopping = 1;
	pthread_cond_broadcast(&p->cv);
	pthread_cond_broadcast(&p->released_cv);
	pthread_mutex_unlock(&p->mtx);
	return 0;
}

uint64_t
twopc_participant_progress(const twopc_participant *p)
{
	return p == NULL ? 0 : atomic_load(&((twopc_participant *)p)->bg_passes);
}

void
twopc_participant_close(twopc_participant *p)
{
	if (p == NULL)
		return;
	twopc_participant_stop(p);
	part_http_stop(p); /* its pages read the log and the ask schedule */
	rpc_server_stop(p->srv);
	/* Close the coordinator socket before joining the background thread:
	 * it wakes a DECISION_REQUEST that would otherwise wait out
	 * decision_timeout_ms. */
	if (p->coord_open)
		rpc_close(p->coord);
	p->coord_open = 0;
	pthread_mutex_lock(&p->mtx);
	for (size_t i = 0; i < p->cfg->nparticipants; i++)
		if (p->peer_open[i])
			rpc_close(p->peer_socks[i]);
	pthread_mutex_unlock(&p->mtx);
	if (p->bg_running)
		pthread_join(p->bg, NULL);
	part_free(p);
}
