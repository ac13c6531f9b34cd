#!/bin/sh
# lsan-run.sh PROGRAM [ARGS...] - run a test program built with ASan under
# `make asan`, counting only the leaks that pass through twopc code.
#
# NNG 1.5.2 (Debian's libnng) loses an object of its own on its threads
# now and then; LeakSanitizer then fails the whole test run at exit with a
# report none of whose frames is ours. The harness already treats such
# reports from the daemons this way (tests/harness.c, hc_scan_sanitizers);
# this does the same for the test program and the crash harness: every
# report is printed, and the run fails when one has a frame in common/,
# config/, coordinator/, participant/ or tests/ (unless it is only an NNG
# cycle, below), or when the program itself failed (an ASan or UBSan error
# still ends it with a non-zero status).
# nng_cycle REPORT: true when REPORT is a LeakSanitizer report of indirect
# leaks only, each of an object NNG itself allocated (the frame right after
# the allocator is in libnng). Such objects hang off each other and off no
# root: NNG lost them when a socket we closed was torn down (seen after a
# close during a reconnect). A socket we forgot to close would still be on
# NNG's list of sockets, so not leaked at all; memory we allocate, or a
# direct leak, still counts.
nng_cycle() {
	grep -q 'ERROR: LeakSanitizer' "$1" || return 1
	grep -q 'Direct leak' "$1" && return 1
	awk '/^Indirect leak/ { want = 1; next }
	     want && /^ *#1 / { if ($0 !~ /libnng\.so/) bad = 1; want = 0 }
	     END { exit bad }' "$1"
}

# nng_lost_request REPORT: true when REPORT is a LeakSanitizer report whose
# every leak with a frame of ours first reaches our code in rpc_env_msg or
# rpc_env_put (common/rpcchan.c): a peer channel's request, and its body,
# lost by NNG after nng_ctx_send took it. NNG 1.5.2 loses a request when
# a REQ pipe closes as the request goes out on it: req0_pipe_close closes
# the pipe's send aio before it takes the socket lock, req0_run_send_queue
# may meanwhile put a clone of the request on that aio, and the
# transport's send on a closed aio returns without completing it, so the
# clone is never freed. The channel frees the request on every failure
# its callback sees, so a loss after the hand-over is NNG's. Seen when a
# participant dies right after its vote while the GLOBAL waits out the
# linger (rpc.h). Keep in step with hc_scan_sanitizers (tests/harness.c).
nng_lost_request() {
	grep -q 'ERROR: LeakSanitizer' "$1" || return 1
	awk '/^(Direct|Indirect) leak/ { inleak = 1; seen = 0; next }
	     inleak && / in [^ ]+ [^ ]*(common|config|coordinator|participant|tests)\/[^ ]+\.c:[0-9]+/ {
		if (!seen && $0 !~ / in rpc_env_(msg|put) /) bad = 1
		seen = 1
	     }
	     /^$/ { inleak = 0 }
	     END { exit bad }' "$1"
}

dir=$(mktemp -d /tmp/twopc-lsan-XXXXXX) || exit 1
ASAN_OPTIONS="log_path=$dir/report${ASAN_OPTIONS:+:$ASAN_OPTIONS}" \
LSAN_OPTIONS="exitcode=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}" "$@"
rc=$?
ours=0
for f in "$dir"/report.*; do
	[ -f "$f" ] || continue
	cat "$f" >&2
	if ! grep -Eq ' in [^ ]+ [^ ]*(common|config|coordinator|participant|tests)/[^ ]+\.c:[0-9]+' "$f"; then
		echo "lsan-run: a report with no frame of ours (NNG's own): printed, not counted" >&2
	elif nng_cycle "$f"; then
		echo "lsan-run: only indirect leaks of objects NNG allocated (a cycle of its own left at close): printed, not counted" >&2
	elif nng_lost_request "$f"; then
		echo "lsan-run: a channel's request lost by NNG at a pipe's close (see nng_lost_request): printed, not counted" >&2
	else
		ours=$((ours + 1))
	fi
done
rm -rf "$dir"
if [ "$ours" -gt 0 ]; then
	echo "lsan-run: $ours sanitizer report(s) through twopc code" >&2
	exit 1
fi
exit "$rc"
