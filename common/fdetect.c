/*
 * fdetect.c - see fdetect.h.
 */
#include "fdetect.h"

#include <stdio.h>
#include <stdlib.h>

#include "mclock.h"
#include "tlog.h"
#include "twopc/error.h"

int
fd_init(fdetect *f, int n, uint32_t base_ms, uint32_t max_ms)
{
	f->peers = calloc(n > 0 ? (size_t)n : 1, sizeof(*f->peers));
	if (f->peers == NULL)
		return TWOPC_ENOMEM;
	pthread_mutex_init(&f->mtx, NULL);
	f->n = n;
	f->base_ms = base_ms;
	f->max_ms = max_ms < base_ms ? base_ms : max_ms;
	for (int i = 0; i < n; i++)
		f->peers[i].timeout_ms = base_ms;
	return 0;
}

void
fd_fini(fdetect *f)
{
	if (f->peers == NULL)
		return;
	pthread_mutex_destroy(&f->mtx);
	free(f->peers);
	f->peers = NULL;
}

void
fd_set_name(fdetect *f, int i, const char *name)
{
	if (i < 0 || i >= f->n || name == NULL)
		return;
	pthread_mutex_lock(&f->mtx);
	snprintf(f->peers[i].name, sizeof(f->peers[i].name), "%s", name);
	pthread_mutex_unlock(&f->mtx);
}

uint32_t
fd_timeout(fdetect *f, int i)
{
	if (i < 0 || i >= f->n)
		return f->base_ms;
	pthread_mutex_lock(&f->mtx);
	uint32_t t = f->peers[i].timeout_ms;
	pthread_mutex_unlock(&f->mtx);
	return t;
}

void
fd_report(fdetect *f, int i, int answered)
{
	if (i < 0 || i >= f->n)
		return;
	pthread_mutex_lock(&f->mtx);
	fd_peer *p = &f->peers[i];
	int64_t now = mono_ms();
	if (answered) {
		if (p->suspected) {
			/* Suspected, yet alive: we were too impatient. */
			uint32_t t = p->timeout_ms + p->timeout_ms / 2;
			p->timeout_ms = t > f->max_ms ? f->max_ms : t;
			p->suspected = 0;
			p->suspected_since = 0;
			tlog_info("%s answered after being suspected: its timeout is now %u ms",
			    p->name[0] ? p->name : "a peer", p->timeout_ms);
		}
		p->last_heard = now;
	} else if (!p->suspected) {
		p->suspected = 1;
		p->suspected_since = now;
	}
	pthread_mutex_unlock(&f->mtx);
}

void
fd_heard(fdetect *f, int i)
{
	if (i < 0 || i >= f->n)
		return;
	pthread_mutex_lock(&f->mtx);
	fd_peer *p = &f->peers[i];
	/* No timeout change: nothing says the last question was answered
	 * late, only that the peer is up now. An outage that began before
	 * this message is over; the next unanswered question starts a new
	 * one, and its age with it. */
	p->suspected = 0;
	p->suspected_since = 0;
	p->last_heard = mono_ms();
	pthread_mutex_unlock(&f->mtx);
}

int
fd_suspected(fdetect *f, int i, int64_t *since_ms)
{
	if (i < 0 || i >= f->n)
		return 0;
	pthread_mutex_lock(&f->mtx);
	int s = f->peers[i].suspected;
	if (since_ms != NULL)
		*since_ms = s ? mono_ms() - f->peers[i].suspected_since : 0;
	pthread_mutex_unlock(&f->mtx);
	return s;
}
