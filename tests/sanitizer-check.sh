#!/bin/sh
# tests/sanitizer-check.sh - the rules of tests/sanitizer-verdict.sh
# against captured reports: tests/sanitizer/count-*.txt must count (exit
# 1), skip-*.txt must not (exit 0). A step of `make test`.
cd "$(dirname "$0")" || exit 2
failed=0 passed=0
for f in sanitizer/*.txt; do
	case $f in
	sanitizer/count-*) want=1 ;;
	*) want=0 ;;
	esac
	out=$(sh sanitizer-verdict.sh "$f")
	got=$?
	if [ "$got" -eq "$want" ]; then
		echo "ok     $f: ${out:-no report}"
		passed=$((passed + 1))
	else
		echo "FAILED $f: exit $got, want $want: ${out:-no report}"
		failed=$((failed + 1))
	fi
done
echo "sanitizer-verdict: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
