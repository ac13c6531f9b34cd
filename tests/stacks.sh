#!/usr/bin/env bash
# tests/stacks.sh - where a process that should have exited is stuck.
#
#   bash tests/stacks.sh PID FILE
#
# Writes gdb's backtrace of every thread of PID to FILE and prints one
# line (the last lines of a failure are all a CI log keeps): per thread,
# its innermost four frames outside the C library's internals; threads
# with none (NNG's own, which has no symbols) are left out. Used by the
# cluster harness (hc_stacks) and tests/library.sh. Exits 0 always.
pid=$1 out=$2
command -v gdb >/dev/null || { echo "(no gdb for the stacks of $pid)"; exit 0; }
gdb -batch -p "$pid" -ex "thread apply all bt" >"$out" 2>&1 || true
awk -v pid="$pid" 'BEGIN {printf "stacks of pid %s: ", pid}
	/^Thread /{if (t != "" && t != "start_thread<clone3") printf "%s | ", t; t = ""; n = 0; next}
	/^#[0-9]+ / && n < 4 {f = ($2 ~ /^0x/) ? $4 : $2
		if (f !~ /^(_|\?\?)/) {t = t (n ? "<" : "") f; n++}}
	END {print t}' "$out"
exit 0
