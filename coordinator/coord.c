/*
 * coord.c - the coordinator's lifecycle (start, stop), and the switch
 * that runs each step of a flow (cflow.h) by its stage. See coord.h for
 * the map of the other files.
 *
 * Start: the log's lock, the listen address, the participants' epochs and
 * the new epoch, the step threads, recovery, the resender, serving.
 * Stop: no new request; the requests in hand are answered; the resender
 * ends its pass; every flow ends (its batches by their deadlines); only
 * then are the participant sockets closed, so no batch outlives them.
 */
#include "coord.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cdecide.h"
#include "cdeliver.h"
#include "cepoch.h"
#include "cflow.h"
#include "cinquire.h"
#include "cforget.h"
#include "conephase.h"
#include "crash.h"
#include "crecover.h"
#include "cresend.h"
#include "cserve.h"
#include "csubmit.h"
#include "cvote.h"
#include "mclock.h"
#include "tlog.h"
#include "twopc/error.h"

/* The step of T's finished batch. An unknown stage is the program's own
 * mistake: it names itself and stops the process. */
static void
coord_step(coord *c, coord_txn *t)
{
	switch (t->stage) {
	case CSTAGE_VOTES:
		cvote_step(c, t);
		return;
	case CSTAGE_ASKED:
		conephase_step_asked(c, t);
		return;
	case CSTAGE_EARLY:
#ifdef TWOPC_BUG_GLOBAL_BEFORE_DECISION
		cdecide_step_early(c, t);
		return;
#else
		break; /* only the bug variant has it */
#endif
	case CSTAGE_FIRST:
		cdeliver_step_first(c, t);
		return;
	case CSTAGE_ACKS:
		cdeliver_step_acks(c, t);
		return;
	case CSTAGE_ABORTED:
		cdeliver_step_aborted(c, t);
		return;
	case CSTAGE_SUBMIT:
		csubmit_step(c, t);
		return;
	case CSTAGE_INQUIRY:
		cinquire_step(c, t);
		return;
	case CSTAGE_RETRY:
		cvote_step_retry(c, t);
		return;
	}
	tlog_error("%s: a step of unknown stage %d (%s): the coordinator's own mistake; "
	    "aborting", t->txid, t->stage, cflow_stage_name(t->stage));
	abort();
}

static void
coord_init(coord *c, cfg_cluster *cfg)
{
	memset(c, 0, sizeof(*c));
	c->cfg = cfg;
	pthread_mutex_init(&c->mtx, NULL);
	pthread_mutex_init(&c->viol.mtx, NULL);
	pthread_cond_init(&c->cv, NULL);
	mclock_cond_init(&c->wake_cv); /* the resender's timed waits */
	c->wake = &c->wake_cv;
	pthread_cond_init(&c->steps_cv, NULL);
	pthread_cond_init(&c->group_cv, NULL);
	pthread_cond_init(&c->done_cv, NULL);
}

/* The participant sockets and the FORGET queues, with room for as many
 * as a cluster may have: a reload appends without moving them. */
static int
coord_dial(coord *c)
{
	c->nsocks = c->cfg->nparticipants;
	c->socks = calloc(CFG_MAX_PARTICIPANTS, sizeof(*c->socks));
	c->forget = calloc(CFG_MAX_PARTICIPANTS, sizeof(*c->forget));
	if (c->socks == NULL || c->forget == NULL)
		return TWOPC_ENOMEM;
	rpc_set_linger(&c->cfg->linger_ms); /* GLOBALs wait for company */
	for (size_t i = 0; i < c->nsocks; i++) {
		int rv = rpc_dial(c->cfg->participants[i].listen, 1, &c->socks[i]);
		if (rv != 0)
			return rv;
	}
	return 0;
}

int
coord_start(coord *c, cfg_cluster *cfg, uint64_t min_epoch)
{
	int rv;

	coord_init(c, cfg);
	/* The lock first (db_open takes it before SQLite reads a page), then
	 * the address: a second coordinator on a live log or address stops
	 * here, having read and written nothing. Requests are received from
	 * now on but answered "starting" until recovery is done (cserve.c):
	 * left unread in NNG's queue instead, they can wedge a client's
	 * nng_close (NNG 1.5.2). */
	rv = db_open(cfg->coordinator.log, cfg->durability == CFG_DURABILITY_FULL, clog_schema, &c->db);
	if (rv != 0)
		return rv;
	/* A step rolls back only after a write of the log failed, which
	 * fails the coordinator anyway: its steps need no savepoints. */
	db_group_savepoints(c->db, 0);
	rpc_server_opts so = {
		.nworkers = COORD_WORKERS, .handler = cserve_handle, .user = c,
		.sender = cfg->coordinator.name, .epoch = &c->epoch,
		.gate = cserve_gate, .gate_arg = c, .fail = cserve_gate_failed,
	};
#ifndef TWOPC_BUG_NO_LOG_LOCK
	if ((rv = rpc_server_start(cfg->coordinator.listen, &so, &c->srv)) != 0)
		return rv;
#endif
	if ((rv = coord_dial(c)) != 0 || (rv = coord_epoch_start(c, min_epoch)) != 0)
		return rv;
	/* crash here: the new epoch is forced, nothing else happened. */
	crash_point("coordinator.after_epoch_logged");
	if ((rv = cflow_start(c, coord_step, cvote_votes_in)) != 0 || (rv = crecover_run(c)) != 0)
		return rv;
#ifdef TWOPC_BUG_NO_LOG_LOCK
	/* TEST-ONLY BUG VARIANT: the address is bound after recovery ran. */
	if ((rv = rpc_server_start(cfg->coordinator.listen, &so, &c->srv)) != 0)
		return rv;
#endif
	if (pthread_create(&c->resender, NULL, cresend_main, c) != 0)
		return TWOPC_ENOMEM;
	c->resender_running = 1;
	atomic_store(&c->ready, 1);
	if ((rv = chttp_start(c)) != 0)
		return rv;
	tlog_info("coordinator %s serving on %s (log %s, epoch %llu, %zu participants)",
	    cfg->coordinator.name, cfg->coordinator.listen, cfg->coordinator.log,
	    (unsigned long long)atomic_load(&c->epoch), cfg->nparticipants);
	return 0;
}

void
coord_request_stop(coord *c)
{
	runstate_stop(&c->run);
}

int
coord_wait(coord *c)
{
	return runstate_wait(&c->run);
}

void
coord_stop(coord *c)
{
	coord_request_stop(c);
	/*
	 * No new request is taken; those in hand are answered (their flows
	 * go on to their answer), which the server waits for. The resender's
	 * pass waits for its own flows. Then every flow still going (a
	 * GLOBAL_ABORT to the silent, recovery's) ends by its deadline, its
	 * batch freed by its step: only then are the participant sockets
	 * closed (a batch's callbacks post receives on them, rpc.h). The
	 * HTTP server goes first: its pages read the running table and the log.
	 */
	chttp_stop(c);
	rpc_server_stop(c->srv);
	if (c->resender_running)
		pthread_join(c->resender, NULL);
	cflow_stop(c);
	for (size_t i = 0; c->socks != NULL && i < c->nsocks; i++)
		rpc_close(c->socks[i]);
	rpc_set_linger(NULL); /* the configuration may go after this */
	cforget_free(c);
	free(c->socks);
	db_close(c->db);
	pthread_cond_destroy(&c->group_cv);
	pthread_cond_destroy(&c->done_cv);
	pthread_cond_destroy(&c->steps_cv);
	pthread_cond_destroy(&c->wake_cv);
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->viol.mtx);
	pthread_mutex_destroy(&c->mtx);
}
