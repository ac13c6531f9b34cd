#!/bin/sh
# tests/sanitizer-verdict.sh - which sanitizer reports in a file count.
#
#   sh tests/sanitizer-verdict.sh FILE
#
# FILE is a report file (tests/lsan-run.sh) or a daemon's stderr
# (hc_scan_sanitizers, tests/harness.c): any lines, with any number of
# reports among them. Prints one line per report, "counted: FIRST LINE"
# or "not counted (WHY): SUMMARY LINE", and exits 1 when a report counts,
# else 0. The one place these rules are written.
#
# Every AddressSanitizer error and UBSan "runtime error:" counts, and so
# does every LeakSanitizer report except three kinds, which NNG 1.5.2
# (Debian's libnng) causes on its own threads:
# - no stack of it has a frame of ours (a twopc source file or binary):
#   NNG lost one of its own objects (seen when a socket closes right
#   after dialing);
# - only indirect leaks, each of an object NNG itself allocated (the
#   frame right after the allocator is in libnng): objects hanging off
#   each other and off no root, lost when a socket we closed was torn
#   down during a reconnect (a socket we forgot to close would still be
#   on NNG's list, so not leaked at all);
# - each stack with a frame of ours reaches our code first in
#   rpc_env_msg or rpc_env_put (common/rpcchan.c): a peer channel's
#   request, or its body, lost after nng_ctx_send took it. NNG loses one
#   when a REQ pipe closes as the request goes out on it:
#   req0_pipe_close closes the pipe's send aio before it takes the socket
#   lock, req0_run_send_queue may meanwhile put a clone of the request on
#   that aio, and the transport's send on a closed aio returns without
#   completing it, so the clone is never freed. The channel frees the
#   request on every failure its callback sees, so a loss after the
#   hand-over is NNG's (seen when a participant dies right after its vote
#   while the GLOBAL waits out the linger, rpc.h).
# A leak report cut short (no SUMMARY line) counts.
exec awk '
function ours(line) {
	return line ~ /^ *#[0-9]+ / &&
	    line ~ /(common|coordinator|participant|config|tests)\/[^ ]+\.c:[0-9]|twopc/
}
function verdict(why) {
	if (why == "") {
		print "counted: " first
		counted = 1
	} else {
		print "not counted (" why "): " $0
	}
}
inleak && /^(Direct|Indirect) leak/ {
	direct += ($1 == "Direct"); stack = 1; seen = 0; hash1 = 1; next
}
inleak && stack && /^ *#1 / && hash1 {
	if ($0 !~ /libnng\.so/) notnng = 1
	hash1 = 0
}
inleak && stack && ours($0) {
	anyours = 1
	if (!seen && $0 !~ / in rpc_env_(msg|put) /) other = 1
	seen = 1
}
inleak && /^SUMMARY:/ {
	inleak = 0
	if (!anyours) verdict("only NNG frames")
	else if (!direct && !notnng) verdict("an NNG cycle left at a close")
	else if (!other) verdict("a channel request NNG lost at a pipe close")
	else verdict("")
	next
}
/ERROR: LeakSanitizer/ {
	inleak = 1; first = $0; direct = 0; notnng = 0; anyours = 0; other = 0; stack = 0
	next
}
/ERROR: AddressSanitizer|runtime error:/ { first = $0; verdict(""); next }
END {
	if (inleak) { print "counted (cut short): " first; counted = 1 }
	exit counted
}' "$1"
