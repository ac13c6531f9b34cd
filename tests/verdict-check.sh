#!/bin/sh
# tests/verdict-check.sh - tests/verdict.sh against recorded runs: for
# each tests/verdict/NAME.txt, its output must be NAME.want, line for
# line (what a CI log's tail shows of a failure is all a reader gets).
# A step of `make test`.
cd "$(dirname "$0")" || exit 2
failed=0 passed=0
for f in verdict/*.txt; do
	want=${f%.txt}.want
	if bash verdict.sh "$f" | diff -u "$want" - >/tmp/twopc-verdict-diff.$$; then
		echo "ok     $f"
		passed=$((passed + 1))
	else
		echo "FAILED $f: output differs from $want:"
		cat /tmp/twopc-verdict-diff.$$
		failed=$((failed + 1))
	fi
done
rm -f /tmp/twopc-verdict-diff.$$
echo "verdict-check: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
