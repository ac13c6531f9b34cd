/*
 * fdetect.h - an adaptive failure detector: how long to wait for each peer.
 *
 * Every peer starts with the base timeout. A call that times out makes the
 * peer suspected; if a suspected peer is then heard from, it was alive but
 * slow, so its timeout grows by half (up to the cap) and the suspicion is
 * cleared. A peer is never trusted faster again within a process lifetime:
 * false suspicions cost a round of the termination protocol, a long
 * timeout only costs waiting. Any message from a peer (fd_heard) also
 * ends a suspicion: a participant rarely asks the coordinator anything,
 * so without it a suspicion from an outage long over would still date
 * the next one.
 *
 * Thread-safe. Peers are small integer indexes (0..n-1).
 */
#ifndef TWOPC_FDETECT_H
#define TWOPC_FDETECT_H

#include <pthread.h>
#include <stdint.h>

typedef struct fd_peer {
	char name[33];
	uint32_t timeout_ms;
	int suspected;
	int64_t suspected_since; /* monotonic ms, 0 when not suspected */
	int64_t last_heard;      /* monotonic ms of the last answer, 0 never */
} fd_peer;

typedef struct fdetect {
	pthread_mutex_t mtx;
	fd_peer *peers;
	int n;
	uint32_t base_ms, max_ms;
} fdetect;

/* 0, or TWOPC_ENOMEM. */
int fd_init(fdetect *f, int n, uint32_t base_ms, uint32_t max_ms);
void fd_fini(fdetect *f);

/* Name peer I in log lines (copied, truncated to 32 bytes). */
void fd_set_name(fdetect *f, int i, const char *name);

/* The current timeout for peer I. */
uint32_t fd_timeout(fdetect *f, int i);
/* Peer I answered (ANSWERED=1) or did not within its timeout (0). */
void fd_report(fdetect *f, int i, int answered);
/* A message from peer I arrived unasked (a request it sent us): it is
 * alive, so any suspicion of it ends here. */
void fd_heard(fdetect *f, int i);
/* 1 if peer I is suspected; *since_ms (may be NULL) gets how long, on the
 * monotonic clock, since the first unanswered question after it was last
 * heard from (answered, or fd_heard). */
int fd_suspected(fdetect *f, int i, int64_t *since_ms);

#endif
