#!/bin/sh
# lsan-run.sh PROGRAM [ARGS...] - run a test program built with ASan under
# `make asan`, counting only the leaks that pass through twopc code.
#
# NNG 1.5.2 (Debian's libnng) loses objects of its own on its threads now
# and then; LeakSanitizer would then fail the whole test run at exit. Every
# report (of the program and of the daemons it starts) is printed, and
# tests/sanitizer-verdict.sh, which the daemons' harness uses too, says
# which count; the run fails when one does, or when the program itself
# failed (an ASan or UBSan error still ends it with a non-zero status).
dir=$(mktemp -d /tmp/twopc-lsan-XXXXXX) || exit 1
ASAN_OPTIONS="log_path=$dir/report${ASAN_OPTIONS:+:$ASAN_OPTIONS}" \
LSAN_OPTIONS="exitcode=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}" "$@"
rc=$?
ours=0
verdict="$(dirname "$0")/sanitizer-verdict.sh"
for f in "$dir"/report.*; do
	[ -f "$f" ] || continue
	cat "$f" >&2
	out=$(sh "$verdict" "$f")
	st=$?
	printf '%s\n' "$out" | sed 's/^/lsan-run: /' >&2
	[ "$st" -eq 0 ] || ours=$((ours + 1))
done
rm -rf "$dir"
if [ "$ours" -gt 0 ]; then
	echo "lsan-run: $ours sanitizer report(s) through twopc code" >&2
	exit 1
fi
exit "$rc"
