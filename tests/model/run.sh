#!/usr/bin/env bash
#
# tests/model/run.sh -- exhaustive SPIN checks of the twopc protocol model.
#
# Runs, each in a fresh directory under a mktemp -d work directory (nothing
# is written to the source tree):
#   safety     the real model (twopc.pml: the commit point at the votes),
#              every assertion, exhaustively: errors 0 expected
#   coverage   that run reached every crash point of DESIGN section 8, the
#              key answers of the termination protocol and of the in-doubt
#              recovery (no vacuous pass)
#   liveness   the real model with -DLIVENESS, LTL `live` (acceptance
#              cycles): errors 0 expected
#   BUG_*      each broken variant: a counterexample expected; its violated
#              property and the tail of its trail replay are printed
#   locks      the R5 lock waits (locks.pml, two transactions): no deadlock
#              with younger->older waits; BUG_WAIT_BOTH_WAYS deadlocks (an
#              invalid end state), LOCKS_NO_WAIT (no waits) aborts both
#   forget     the R9 forgetting extension (-DFORGET), under the retention
#              assumption: errors 0 expected
#   FORGET_ANYTIME  forgetting without that assumption: a counterexample
#              expected (it shows why the assumption is needed)
#   incarnations  two coordinator processes on one log, with the log lock
#              and epochs (-DINCARN, R6 and DESIGN 3): errors 0 expected;
#              coverage-incarnations: the lock and the epoch check are used
#   NO_LOG_LOCK  the second process runs recovery on the live log: a
#              counterexample expected
#   COPY, COPY_SPLIT  (full only) a coordinator started on a copy of the
#              log while the old one runs, with every rule in place: a
#              counterexample expected (a finding: epochs cannot make that
#              safe)
#   NO_EPOCH_CHECK  (full only) the epoch check off, with the lock: errors 0
#              expected -- with the lock it cannot be told apart from the
#              correct rules (README: "Incarnations and epochs")
#   incarnations_dup  (full only) incarnations with a duplicated delivery
#
# Usage: bash tests/model/run.sh [--quick] [--keep] [--jobs N]
#   --quick  smaller fault bounds and fewer checks (see below): ~2 min
#            instead of ~8
#   --keep   keep the work directory (pan, trails) and print its path
#   --jobs N run N checks at a time (default: 2, or 1 on one core)
# Exit status: 0 if every check met its expectation, 1 otherwise, 2 on usage
# or missing tools.  The last line is "model: N passed, M failed".

set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

quick=0
keep=0
jobs=$(nproc 2>/dev/null || echo 1); [ "$jobs" -gt 2 ] && jobs=2
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) quick=1 ;;
	--keep) keep=1 ;;
	--jobs) shift; jobs=${1:-1} ;;
	-h|--help) sed -n '2,39p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "run.sh: unknown option: $1" >&2; exit 2 ;;
	esac
	shift
done

for tool in spin gcc; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "run.sh: $tool not found (Debian: apt-get install spin gcc)" >&2
		echo "model: 0 passed, 1 failed"
		exit 2
	fi
done

# ---- bounds ----------------------------------------------------------------
# crashes (all processes together) / duplicated deliveries / lost messages,
# per run.  The liveness check uses smaller bounds: its product with the
# never claim is about twice as large per state.
# A broken variant only needs one counterexample: it runs with the small
# bounds in both modes (each one fails there already; those of the
# forgetting extension with one crash).  The forgetting extension (R9) is
# checked with the small bounds too (one crash in --quick).  The lock-wait
# model (locks.pml) has no faults.
# The incarnation model (two coordinator processes, epochs) is larger per
# fault: its own bounds.  Loss adds nothing to safety (a message may stay in
# flight for ever), so it runs without.  Slot 1 starting needs no fault;
# with the lock it starts only after a crash of slot 0, so the correct
# model needs at least one crash; the counterexamples need none.
SMALL_BOUNDS="-DMAXCRASH=2 -DMAXDUP=1 -DMAXLOSS=1"
BUG_BOUNDS=$SMALL_BOUNDS
FORGET_BOUNDS=$SMALL_BOUNDS
FORGET_BUG_BOUNDS="-DMAXCRASH=1 -DMAXDUP=1 -DMAXLOSS=1"
INC_BUG_BOUNDS="-DMAXCRASH=0 -DMAXDUP=0 -DMAXLOSS=0"
INC_LOCK_BUG_BOUNDS="-DMAXCRASH=1 -DMAXDUP=0 -DMAXLOSS=0"
INC_DUP_BOUNDS=""
if [ "$quick" = 1 ]; then
	SAFETY_BOUNDS=$SMALL_BOUNDS
	LIVENESS_BOUNDS=$SMALL_BOUNDS
	FORGET_BOUNDS="-DMAXCRASH=1 -DMAXDUP=1 -DMAXLOSS=1"
	INC_BOUNDS="-DMAXCRASH=1 -DMAXDUP=0 -DMAXLOSS=0"
	HASH=-w25
else
	SAFETY_BOUNDS="-DMAXCRASH=3 -DMAXDUP=2 -DMAXLOSS=1"
	LIVENESS_BOUNDS="-DMAXCRASH=3 -DMAXDUP=1 -DMAXLOSS=1"
	INC_BOUNDS="-DMAXCRASH=2 -DMAXDUP=0 -DMAXLOSS=0"
	INC_DUP_BOUNDS="-DMAXCRASH=1 -DMAXDUP=1 -DMAXLOSS=0"
	HASH=-w27
fi
DEPTH=-m100000          # search depth limit; the real model needs < 200
MEMLIM=16000            # MB, pan gives up (and the check fails) beyond

work=$(mktemp -d "${TMPDIR:-/tmp}/twopc-model.XXXXXX") || exit 2
if [ "$keep" = 1 ]; then
	echo "run.sh: work directory $work"
else
	trap 'rm -rf "$work"' EXIT
fi

# the crash points of DESIGN section 8, the termination answers and the
# in-doubt recovery's answers that the real model must reach (checked
# against pan's "unreached" report)
COVER_POINTS="
coordinator.before_decision_logged
coordinator.after_decision_logged
coordinator.after_first_global
coordinator.after_all_globals
participant.before_ready_logged
participant.after_ready_logged
participant.after_vote_sent
participant.before_commit_applied
participant.after_commit_applied
asks, INIT/no record -> ABORT
asks -> READY (no help)
asks -> READ-ONLY (no help)
asks -> COMMIT
asks in WAIT -> decides ABORT
asks in WAIT -> undecided
asks in doubt -> undecided
asks, no record -> ABORT
VOTE_REQUEST in ABORT -> VOTE_ABORT
votes READ-ONLY (note forced)
vote timeout -> ABORT (forced)
-> ABORT (not forced)
answers READY/COMMIT
answers READ-ONLY
no record/INIT, forces ABORT
in doubt: ABORT -> ABORT
in doubt: all yes -> COMMIT
"
# ... and that the incarnation model reaches: the second process blocked by
# the lock, started after the first died, and a stale epoch refused
INC_COVER_POINTS="
log locked, waits
starts on log
refuses epoch
"

# ---- one check ---------------------------------------------------------------
# check NAME MODE EXPECT MODEL DEFINES...
#   MODE   safety | liveness
#   EXPECT pass (exhaustive, errors 0) | fail (a counterexample)
#   MODEL  twopc | locks (the .pml file beside this script)
# Writes $work/NAME/result ("PASS"/"FAIL") and $work/NAME/report.
check() {
	local name=$1 mode=$2 expect=$3 model=$4
	shift 4
	local dir="$work/$name"
	mkdir -p "$dir"
	cp "$here/$model.pml" "$dir/twopc.pml"
	(
		cd "$dir" || exit 1
		local cflags runflags opt=-O1
		# a counterexample (or a small check) is found in seconds: the
		# compilation is the cost there, and -O0 compiles five times faster
		if [ "$expect" = fail ] || [ "$model" = locks ] ||
			{ [ "$quick" = 1 ] && [ "$name" = incarnations ]; }; then
			opt=-O0
		fi
		if [ "$mode" = safety ]; then
			cflags="-DSAFETY -DNOFAIR"
			runflags=""
		else
			cflags=""
			runflags="-a"
		fi
		{
			echo "defines: $*"
			spin -a "$@" twopc.pml >spin.out 2>&1 ||
				{ cat spin.out; echo "spin -a failed"; echo FAIL >result; exit 0; }
			gcc $opt -w -DNOBOUNDCHECK -DMEMLIM=$MEMLIM $cflags -o pan pan.c \
				>gcc.out 2>&1 ||
				{ cat gcc.out; echo "gcc failed"; echo FAIL >result; exit 0; }
		} >report 2>&1
		[ -f result ] && exit 0
		local t0 t1
		t0=$(date +%s.%N)
		./pan $DEPTH $HASH -c1 $runflags >pan.out 2>&1
		t1=$(date +%s.%N)

		local states depth errors elapsed complete=1 why=""
		states=$(sed -n 's/^ *\([0-9.e+]*\) states, stored.*/\1/p' pan.out | head -1)
		depth=$(sed -n 's/.*depth reached \([0-9]*\),.*/\1/p' pan.out | head -1)
		errors=$(sed -n 's/.*errors: \([0-9]*\).*/\1/p' pan.out | head -1)
		elapsed=$(sed -n 's/^pan: elapsed time \([0-9.e+]*\) seconds.*/\1/p' pan.out | head -1)
		[ -n "$elapsed" ] || elapsed=$(awk "BEGIN{printf \"%.1f\", $t1-$t0}")
		states=$(awk "BEGIN{printf \"%d\", ${states:-0}}")
		if grep -q "max search depth too small" pan.out; then complete=0; why="depth limit hit"; fi
		if grep -qiE "out of memory|MEMLIM" pan.out; then complete=0; why="memory limit hit"; fi
		[ -n "$errors" ] || { errors=-1; complete=0; why="pan did not finish"; }

		local verdict=FAIL
		if [ "$expect" = pass ] && [ "$errors" = 0 ] && [ "$complete" = 1 ]; then
			verdict=PASS
		elif [ "$expect" = fail ] && [ "$errors" -gt 0 ] 2>/dev/null; then
			verdict=PASS
		fi
		echo "$verdict" >result
		# A mutant that must be caught: what it violated is shown as
		# expected, not as a failure beside PASS.
		local xp=""
		if [ "$expect" = fail ] && [ "$verdict" = PASS ]; then
			xp="  [expected] "
			why="${why:+$why; }expected failure caught"
		fi
		printf '%-4s %-30s %-8s states=%s depth=%s time=%ss errors=%s%s\n' \
			"$verdict" "$name" "$mode" "$states" "$depth" "$elapsed" "$errors" \
			"${why:+ ($why)}" >summary
		{
			cat summary
			if [ "$errors" -gt 0 ] 2>/dev/null; then
				{
				local prop
				prop=$(grep -o '[AL][1-8]_[a-z_]*' pan.out | head -1)
				if grep -q "acceptance cycle" pan.out; then
					prop="liveness (LTL live: a run that never settles)"
				fi
				echo "     violated: ${prop:-$(grep -m1 -E 'assertion violated|invalid end state|acceptance cycle' pan.out)}"
				# replay the trail: the model's printf events and the failure
				spin -t "$@" twopc.pml 2>&1 |
					sed -n '1,/trail ends/p' |
					grep -vE '^(ltl |Never claim|spin: trail ends|#processes)' |
					awk '{ print } /text of failed assertion/ { exit }' |
					sed 's/^[[:space:]]*//' | grep -v '^$' >trail.txt
				local n
				n=$(wc -l <trail.txt)
				echo "     trail ($n events, last 16):"
				tail -16 trail.txt | sed 's/^/       | /'
				} | sed "s/^/$xp/"
			elif [ "$complete" = 0 ] || [ "$errors" != 0 ]; then
				tail -25 pan.out | sed 's/^/     | /'
			fi
		} >>report
	)
}

# coverage NAME-OF-SAFETY-RUN [POINTS]: every point (default COVER_POINTS)
# was reached; the result is named coverage (for safety) or coverage-NAME
coverage() {
	local dir="$work/$1" name=coverage
	local points=${2:-$COVER_POINTS}
	[ "$1" = safety ] || name=coverage-$1
	mkdir -p "$work/$name"
	local unreached missing="" line p
	if [ ! -f "$dir/pan.out" ] || [ "$(cat "$dir/result" 2>/dev/null)" != PASS ]; then
		echo FAIL >"$work/$name/result"
		printf '%-4s %-30s %-8s no complete error-free safety run to measure\n' \
			FAIL "$name" safety >"$work/$name/report"
		return
	fi
	unreached=$(sed -n 's/^[[:space:]]*twopc\.pml:\([0-9]*\),.*/\1/p' "$dir/pan.out" | sort -u)
	while IFS= read -r p; do
		[ -n "$p" ] || continue
		local lines
		lines=$(grep -nF -- "$p" "$dir/twopc.pml" | grep -v '^\([0-9]*\):[[:space:]]*\(/\*\|\*\|#\)' |
			grep -E 'printf|CRASH_AT' | cut -d: -f1)
		if [ -z "$lines" ]; then
			missing="$missing
     not in the model: $p"
			continue
		fi
		for line in $lines; do
			if printf '%s\n' "$unreached" | grep -qx "$line"; then
				missing="$missing
     unreached: $p (twopc.pml:$line)"
			fi
		done
	done <<<"$points"
	local npoints
	npoints=$(printf '%s\n' "$points" | grep -c .)
	if [ -z "$missing" ]; then
		echo PASS >"$work/$name/result"
		local what="crash points / termination answers"
		[ "$name" = coverage ] || what="points"
		printf '%-4s %-30s %-8s all %d %s reached\n' \
			PASS "$name" safety "$npoints" "$what" >"$work/$name/report"
	else
		echo FAIL >"$work/$name/result"
		{ printf '%-4s %-30s %-8s\n' FAIL "$name" safety; echo "$missing"; } >"$work/$name/report"
	fi
}

# ---- the checks --------------------------------------------------------------
# name                          mode      expect model defines
CHECKS="
safety                          safety    pass   twopc  $SAFETY_BOUNDS
liveness                        liveness  pass   twopc  -DLIVENESS $LIVENESS_BOUNDS
BUG_INIT_ABORT_NOT_FORCED       safety    fail   twopc  -DBUG_INIT_ABORT_NOT_FORCED $BUG_BOUNDS
BUG_READY_DECIDES_ALONE         safety    fail   twopc  -DBUG_READY_DECIDES_ALONE $BUG_BOUNDS
BUG_VOTE_BEFORE_READY           safety    fail   twopc  -DBUG_VOTE_BEFORE_READY $BUG_BOUNDS
BUG_GLOBAL_BEFORE_WAIT          safety    fail   twopc  -DBUG_GLOBAL_BEFORE_WAIT $BUG_BOUNDS
BUG_TIMEOUT_ABORT_LAZY          safety    fail   twopc  -DBUG_TIMEOUT_ABORT_LAZY $BUG_BOUNDS
BUG_NO_VOTE_LAZY                safety    fail   twopc  -DBUG_NO_VOTE_LAZY $BUG_BOUNDS
BUG_RESTART_PRESUMES_ABORT      safety    fail   twopc  -DBUG_RESTART_PRESUMES_ABORT $BUG_BOUNDS
BUG_INDOUBT_ABORT               safety    fail   twopc  -DBUG_INDOUBT_ABORT $BUG_BOUNDS
BUG_NOREC_SILENT                liveness  fail   twopc  -DLIVENESS -DBUG_NOREC_SILENT $BUG_BOUNDS
forget                          safety    pass   twopc  -DFORGET $FORGET_BOUNDS
FORGET_ANYTIME                  safety    fail   twopc  -DFORGET -DFORGET_ANYTIME -DACK_UNKNOWN_COMMIT $FORGET_BUG_BOUNDS
BUG_FORGET_BEFORE_END           safety    fail   twopc  -DFORGET -DBUG_FORGET_BEFORE_END $FORGET_BUG_BOUNDS
BUG_RO_NOTE_DROPPED             safety    fail   twopc  -DFORGET -DBUG_RO_NOTE_DROPPED $FORGET_BUG_BOUNDS
BUG_COMMIT_DROPPED              safety    fail   twopc  -DFORGET -DBUG_COMMIT_DROPPED $FORGET_BUG_BOUNDS
incarnations                    safety    pass   twopc  -DINCARN $INC_BOUNDS
NO_LOG_LOCK                     safety    fail   twopc  -DINCARN -DNO_LOG_LOCK $INC_BUG_BOUNDS
locks                           safety    pass   locks
BUG_WAIT_BOTH_WAYS              safety    fail   locks  -DBUG_WAIT_BOTH_WAYS
LOCKS_NO_WAIT                   safety    fail   locks  -DNO_WAIT
"
if [ "$quick" = 0 ]; then
	# full only (make test runs --quick): the incarnation model with a
	# duplicated delivery; the findings on a log copy (with the client, and
	# without the client and A5, down to the split among the participants);
	# the epoch check that the lock makes harmless to leave out
	CHECKS="$CHECKS
incarnations_dup                safety    pass   twopc  -DINCARN $INC_DUP_BOUNDS
COPY                            safety    fail   twopc  -DINCARN -DCOPY $INC_BUG_BOUNDS
COPY_SPLIT                      safety    fail   twopc  -DINCARN -DCOPY -DNO_CLIENT -DNO_A5 $INC_BUG_BOUNDS
NO_EPOCH_CHECK                  safety    pass   twopc  -DINCARN -DNO_EPOCH_CHECK $INC_LOCK_BUG_BOUNDS
"
fi

start=$(date +%s)
echo "model: SPIN $(spin -V 2>/dev/null | sed -n 's/^Spin Version \([^ ]*\).*/\1/p'), $( [ $quick = 1 ] && echo quick || echo full ) bounds"
echo "model: safety bounds   $SAFETY_BOUNDS"
echo "model: liveness bounds $LIVENESS_BOUNDS"
echo "model: broken variants $BUG_BOUNDS"
echo "model: forgetting      $FORGET_BOUNDS; broken: $FORGET_BUG_BOUNDS"
echo "model: incarnations    $INC_BOUNDS${INC_DUP_BOUNDS:+, $INC_DUP_BOUNDS}; broken: $INC_BUG_BOUNDS (lock: $INC_LOCK_BUG_BOUNDS)"

names=()
running=0
while read -r name mode expect model defs; do
	[ -n "$name" ] || continue
	names+=("$name")
	check "$name" "$mode" "$expect" "$model" $defs &
	running=$((running + 1))
	if [ "$running" -ge "$jobs" ]; then
		wait -n 2>/dev/null || wait
		running=$((running - 1))
	fi
done <<<"$CHECKS"
wait
coverage safety
coverage incarnations "$INC_COVER_POINTS"

passed=0
failed=0
for name in "${names[@]}"; do
	case "$name" in
	safety) set -- "$name" coverage ;;
	incarnations) set -- "$name" coverage-incarnations ;;
	*) set -- "$name" ;;
	esac
	for name in "$@"; do
		grep -v '^defines:' "$work/$name/report" 2>/dev/null ||
			echo "FAIL $name (no report)"
		if [ "$(cat "$work/$name/result" 2>/dev/null)" = PASS ]; then
			passed=$((passed + 1))
		else
			failed=$((failed + 1))
		fi
	done
done

echo "model: total time $(( $(date +%s) - start ))s"
echo "model: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
