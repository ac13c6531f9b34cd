#!/usr/bin/env bash
# tests/step.sh - one step of `make test`, and the record of it that
# tests/verdict.sh sums into the run's one verdict line.
#
#   bash tests/step.sh LOG NAME [--expected] -- COMMAND [ARG...]
#
# Runs COMMAND with stdout and stderr together, shown as they come; with
# --expected (a run that must find failures: a bug variant, a mutant
# model) every line is shown as "  [expected] LINE", so that what it
# caught does not read as a failure of the run. Then appends to LOG, under
# a lock (steps run side by side), the step's output, a line "step NAME:
# N s" (how long it took) and one line "step: NAME exit RC". Exits with
# COMMAND's status. A step that runs longer than STEP_TIMEOUT seconds
# (default 1500: the longest step takes about 8 minutes under ASan) is
# stopped and fails with status 124, so a hang fails the run instead of
# holding it until the CI's limit.
set -u
log=$1 name=$2
shift 2
prefix=""
if [ "${1:-}" = --expected ]; then prefix="  [expected] "; shift; fi
[ "${1:-}" = -- ] && shift
out=$(mktemp "${TMPDIR:-/tmp}/twopc-step.XXXXXX") || exit 2
set -o pipefail
limit=${STEP_TIMEOUT:-1500}
start=$(date +%s)
timeout --kill-after=10 "$limit" "$@" 2>&1 | sed -u "s/^/$prefix/" | tee "$out"
rc=$?
[ "$rc" -eq 124 ] && echo "step $name: stopped after $limit s (a hang?)" | tee -a "$out"
echo "step $name: $(($(date +%s) - start)) s" >>"$out"
{
	flock 9
	cat "$out" >>"$log"
	echo "step: $name exit $rc" >>"$log"
} 9>>"$log.lock"
rm -f "$out"
exit "$rc"
