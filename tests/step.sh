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
# a lock (steps run side by side), the step's output and one line
# "step: NAME exit RC". Exits with COMMAND's status.
set -u
log=$1 name=$2
shift 2
prefix=""
if [ "${1:-}" = --expected ]; then prefix="  [expected] "; shift; fi
[ "${1:-}" = -- ] && shift
out=$(mktemp "${TMPDIR:-/tmp}/twopc-step.XXXXXX") || exit 2
set -o pipefail
"$@" 2>&1 | sed -u "s/^/$prefix/" | tee "$out"
rc=$?
{
	flock 9
	cat "$out" >>"$log"
	echo "step: $name exit $rc" >>"$log"
} 9>>"$log.lock"
rm -f "$out"
exit "$rc"
