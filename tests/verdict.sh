#!/usr/bin/env bash
# tests/verdict.sh - the one verdict line of `make test`.
#
#   bash tests/verdict.sh LOG
#
# LOG is what tests/step.sh recorded. Counted: the CUnit tests (the
# "tests" row of CUnit's Run Summary), every "WHAT: N passed, M failed"
# line (crash-harness cases, bug variants caught, library cases, model
# checks), and a step that printed neither as one test. A step that
# failed without a failure counted in its output counts one failure.
# Before that line, when anything failed, it names each failed step and
# repeats the lines that say what failed (CUnit's numbered assertion
# lines with the test before them, the model's "FAIL" lines, the crash
# harness's "VIOLATION" cases, the library cases' "FAILED" lines), at
# most 40, so that the tail of a CI log is enough. A step that failed
# with no failure counted (it crashed, or was stopped as a hang) gets its
# watchdog's lines (tests/stall.h), or else its last 6 lines.
# Prints "make test: N passed, M failed" and exits 1 if M > 0.
set -u
log=$1
[ -f "$log" ] || { echo "make test: 0 passed, 1 failed (no record of the run in $log)"; exit 1; }
awk '
function note(line) {
	if (nwhy < 40) why[nwhy++] = line
}
function flush_step(name, rc,    i) {
	if (rc != 0) note("failed step: " name " (exit " rc ")")
	if (rc != 0 && sf == 0) {
		# Failed with nothing counted (a crash, a hang): what it said
		# last, or what its watchdog said (tests/stall.h).
		if (nstall) for (i = 0; i < nstall; i++) note("  | " stall[i])
		else for (i = (ntail > 6 ? ntail - 6 : 0); i < ntail; i++) note("  | " tail[i % 6])
	}
	ntail = nstall = 0
	if (counted) {
		passed += sp; failed += sf
		if (rc != 0 && sf == 0) failed++
	} else if (rc == 0) passed++
	else failed++
	sp = sf = counted = 0
}
!/^step: .* exit [0-9]+$/ {
	line = substr($0, 1, 600)
	tail[ntail++ % 6] = line
	if (line ~ /^( *\[expected\] )?(stall: |stacks of pid )/ && nstall < 12) stall[nstall++] = line
}
/^[[:space:]]*tests[[:space:]]+[0-9]+[[:space:]]+[0-9]+[[:space:]]+[0-9]+[[:space:]]+[0-9]+/ {
	sp += $4; sf += $5; counted = 1; next
}
/^( *\[expected\] )?[a-z-]+: [0-9]+ passed, [0-9]+ failed/ {
	match($0, /[0-9]+ passed, [0-9]+ failed/)
	split(substr($0, RSTART, RLENGTH), w, " ")
	sp += w[1]; sf += w[3]; counted = 1; next
}
/^  Test: / { test = $0; next }
/^    [0-9]+\. [^ ]+:[0-9]+ +- / { note(test); note($0); next }
/^FAIL |VIOLATION$/ { note($0); next }
/^FAILED [^ ]|^       see / { note(substr($0, 1, 2000)); next }
/^step: .* exit [0-9]+$/ { flush_step($2, $NF + 0); next }
END {
	for (i = 0; i < nwhy; i++) print "  " why[i]
	printf "make test: %d passed, %d failed\n", passed, failed
	exit failed > 0
}' "$log"
