/*
 * crash.c - see crash.h.
 */
#include "crash.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *const crash_points[] = {
	"coordinator.after_epoch_logged",
	"coordinator.before_decision_logged",
	"coordinator.after_decision_logged",
	"coordinator.after_commit_logged",
	"coordinator.after_first_global",
	"coordinator.after_all_globals",
	"coordinator.after_end_logged",
	"participant.before_ready_logged",
	"participant.after_ready_logged",
	"participant.after_vote_sent",
	"participant.before_commit_applied",
	"participant.after_commit_applied",
	"participant.before_abort_applied",
	"participant.after_abort_applied",
	NULL,
};

typedef struct crash_spec {
	char point[96];
	long n;
	atomic_long hits;
} crash_spec;

static crash_spec crash_at, pause_at;
static int crash_armed;

void
crash_arm(const char *spec, int pause, const char *origin)
{
	crash_spec *a = pause ? &pause_at : &crash_at;

	if (spec == NULL || *spec == '\0')
		return;
	snprintf(a->point, sizeof(a->point), "%s", spec);
	a->n = 1;
	char *colon = strchr(a->point, ':');
	if (colon != NULL) {
		*colon = '\0';
		a->n = strtol(colon + 1, NULL, 10);
		if (a->n < 1)
			a->n = 1;
	}
	int known = 0;
	for (int i = 0; crash_points[i] != NULL; i++)
		known |= strcmp(crash_points[i], a->point) == 0;
	if (!known)
		fprintf(stderr, "%s: unknown crash point '%s' (see twopc-crashtest --list-points)\n",
		    origin, a->point);
	crash_armed = 1;
}

static int
crash_match(crash_spec *a, const char *name)
{
	return a->point[0] != '\0' && strcmp(a->point, name) == 0 &&
	    atomic_fetch_add(&a->hits, 1) + 1 == a->n;
}

void
crash_point(const char *name)
{
	if (!crash_armed)
		return;
	if (crash_match(&crash_at, name)) {
		char line[160];
		int n = snprintf(line, sizeof(line), "CRASH at %s\n", name);
		if (write(2, line, (size_t)n) < 0) {
			/* nothing to do: we are dying anyway */
		}
		_exit(CRASH_EXIT);
	}
	if (crash_match(&pause_at, name)) {
		char line[160];
		int n = snprintf(line, sizeof(line), "PAUSED at %s\n", name);
		if (write(2, line, (size_t)n) < 0) {
			/* the test will time out waiting for the marker */
		}
		for (;;)
			pause();
	}
}

int
crash_point_armed(const char *name)
{
	return crash_armed && (strcmp(crash_at.point, name) == 0 ||
	    strcmp(pause_at.point, name) == 0);
}
