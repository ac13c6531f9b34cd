/*
 * cepoch.c - the coordinator's epoch: where it starts, and fencing (R6).
 *
 * Contract:
 *   - coord_epoch_start(): before any txid is issued and before recovery,
 *     the coordinator asks every participant for the highest epoch it has
 *     seen (IAMALIVE: every reply is stamped with it). If one has seen an
 *     epoch above this log's, the log is missing or older than the
 *     cluster (deleted, restored from a backup) or another coordinator
 *     log is in use: decisions this log no longer holds may exist, and
 *     presumed abort would contradict them. The start is refused with the
 *     exact command that starts above them (--min-epoch). Given that, the
 *     new epoch is above every epoch seen and 'presume_from' is recorded:
 *     a txid of an older epoch that this log has no record of is answered
 *     READY, "no help" (the participants settle it among themselves,
 *     section 4, or an operator with twopc resolve), never a presumed
 *     ABORT.
 *   - coord_fence_check(): any reply carrying an epoch above ours means a
 *     newer coordinator has run: this one stops deciding and exits; what
 *     it was running is answered "outcome unknown", never COMMITTED.
 *
 * A participant that does not answer the probe in time is not waited for
 * (the start must not hang on one node down): if it had seen a higher
 * epoch, its first reply fences this coordinator, and the next start's
 * probe sees it.
 */
#include "cepoch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord.h"
#include "tlog.h"
#include "twopc/error.h"

#define COORD_PROBE_MS 1000   /* the probe's bound, below vote_timeout_ms */

/* The highest epoch any participant reports (0 if none answers), and who. */
static uint64_t
coord_probe(coord *c, uint64_t epoch, size_t *who, size_t *answered)
{
	size_t n = c->nsocks;
	wire_msg *reqs = calloc(n, sizeof(*reqs)), *reps = calloc(n, sizeof(*reps));
	const wire_msg **preqs = calloc(n, sizeof(*preqs));
	int *results = calloc(n, sizeof(*results));
	uint64_t max = 0;
	int timeout = (int)(c->cfg->vote_timeout_ms < COORD_PROBE_MS ? c->cfg->vote_timeout_ms :
	    COORD_PROBE_MS);

	*answered = 0;
	if (reqs == NULL || reps == NULL || preqs == NULL || results == NULL)
		goto out;
	for (size_t i = 0; i < n; i++) {
		wire_msg_init(&reqs[i], WIRE_IAMALIVE, epoch, NULL, c->cfg->coordinator.name);
		preqs[i] = &reqs[i];
	}
	if (rpc_call_many(n, c->socks, preqs, reps, results, timeout) != 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (results[i] != 0)
			continue;
		(*answered)++;
		if (reps[i].epoch > max) {
			max = reps[i].epoch;
			*who = i;
		}
		wire_msg_free(&reps[i]);
	}
out:
	free(reqs);
	free(reps);
	free(preqs);
	free(results);
	return max;
}

int
coord_epoch_start(coord *c, uint64_t min_epoch)
{
	uint64_t logged = 0, presume = 0, epoch;
	size_t who = 0, answered;
	int rv;

	db_lock(c->db);
	rv = clog_meta_get(c->db, "epoch", &logged);
	if (rv == TWOPC_ENOENT)
		rv = 0;
	if (rv == 0 && clog_meta_get(c->db, "presume_from", &presume) != 0)
		presume = 0;
	db_unlock(c->db);
	if (rv != 0)
		return rv;
	uint64_t seen = coord_probe(c, logged, &who, &answered);
	if (seen > logged && min_epoch <= seen) {
		tlog_error("%s: this log is at epoch %llu but participant %s has seen epoch %llu: "
		    "the log is missing or older than the cluster (deleted, restored from a backup), "
		    "or another coordinator has run with another log. Decisions recorded after "
		    "epoch %llu may be lost, and presumed abort could contradict them.",
		    c->cfg->coordinator.log, (unsigned long long)logged,
		    c->cfg->participants[who].name, (unsigned long long)seen,
		    (unsigned long long)logged);
		tlog_error("if no other coordinator is running, start above the cluster's epochs "
		    "(in-doubt transactions of older epochs are then settled by the participants, "
		    "or with twopc resolve): twopc-coordinator -c %s --min-epoch %llu",
		    c->cfg->path, (unsigned long long)seen + 1);
		return TWOPC_ESTALE;
	}
	uint64_t floor = min_epoch > seen ? min_epoch : 0;
	db_lock(c->db);
	rv = clog_epoch_next(c->db, floor, &epoch);
	if (rv == 0 && floor > logged + 1 && floor > presume) {
		/* Started above the participants: older epochs are in doubt.
		 * Lazy is enough: the epoch's own force below covers it. */
		rv = db_begin(c->db);
		if (rv == 0 && (rv = clog_meta_put(c->db, "presume_from", epoch)) != 0)
			db_rollback(c->db);
		if (rv == 0)
			rv = db_commit(c->db);
		presume = epoch;
	}
	db_unlock(c->db);
	if (rv == 0)
		rv = db_sync_now(c->db); /* also with durability normal: see db.h */
	if (rv != 0)
		return rv;
	atomic_store(&c->epoch, epoch);
	c->presume_from = presume;
	if (floor > logged + 1)
		tlog_warn("started at epoch %llu, above every epoch the participants have seen "
		    "(%llu, %zu of %zu answered); transactions of epochs below %llu that this log "
		    "has no record of are in doubt, not presumed aborted",
		    (unsigned long long)epoch, (unsigned long long)seen, answered, c->nsocks,
		    (unsigned long long)presume);
	return 0;
}

int
coord_fence_check(coord *c, int part, int result, const wire_msg *rep)
{
	uint64_t ours = atomic_load(&c->epoch);
	if (result != 0 || rep->epoch <= ours)
		return 0;
	if (!atomic_exchange(&c->fenced, 1)) {
		tlog_error("fenced: participant %s has seen coordinator epoch %llu and this "
		    "coordinator runs epoch %llu: a newer coordinator has started on this cluster, "
		    "or this log is older than the cluster's. Deciding nothing more; transactions "
		    "in flight get 'outcome unknown' from here", c->cfg->participants[part].name,
		    (unsigned long long)rep->epoch, (unsigned long long)ours);
		coord_fail(c, "fenced by a newer coordinator epoch");
	}
	return 1;
}

/* Read for every transaction: lock-free. */
int
coord_is_fenced(coord *c)
{
	return atomic_load(&c->fenced);
}
