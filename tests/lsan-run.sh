#!/bin/sh
# lsan-run.sh PROGRAM [ARGS...] - run a test program built with ASan under
# `make asan`, counting only the leaks that pass through twopc code.
#
# NNG 1.5.2 (Debian's libnng) loses an object of its own on its threads
# now and then; LeakSanitizer then fails the whole test run at exit with a
# report none of whose frames is ours. The harness already treats such
# reports from the daemons this way (tests/harness.c, hc_scan_sanitizers);
# this does the same for the test program itself: every report is printed,
# and the run fails when one has a frame in common/, config/, coordinator/,
# participant/ or tests/, or when the program itself failed (an ASan or
# UBSan error still ends it with a non-zero status).
dir=$(mktemp -d /tmp/twopc-lsan-XXXXXX) || exit 1
ASAN_OPTIONS="log_path=$dir/report${ASAN_OPTIONS:+:$ASAN_OPTIONS}" \
LSAN_OPTIONS="exitcode=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}" "$@"
rc=$?
ours=0
for f in "$dir"/report.*; do
	[ -f "$f" ] || continue
	cat "$f" >&2
	if grep -Eq ' in [^ ]+ [^ ]*(common|config|coordinator|participant|tests)/[^ ]+\.c:[0-9]+' "$f"; then
		ours=$((ours + 1))
	else
		echo "lsan-run: a report with no frame of ours (NNG's own): printed, not counted" >&2
	fi
done
rm -rf "$dir"
if [ "$ours" -gt 0 ]; then
	echo "lsan-run: $ours sanitizer report(s) through twopc code" >&2
	exit 1
fi
exit "$rc"
