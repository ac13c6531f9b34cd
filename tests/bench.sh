#!/usr/bin/env bash
# make bench: throughput and latency of a local twopc cluster over a matrix,
# next to the machine's own limits. A benchmark, not a test: it asserts no
# speed; it fails only when a daemon does not start or a run commits nothing.
#
# Usage: tests/bench.sh BUILD_DIR [--quick]
#
#   durability full normal  x  participants 2 3 5  x  concurrency 1 16 64 256
#
# Each of the 24 runs gets a fresh cluster (coordinator + K participants on
# 127.0.0.1, ports below 32768 derived from $$), `twopc bench --json` for
# D seconds (5, or 2 with --quick), then the peak RSS (VmHWM) of every
# daemon, then SIGTERM. Before the matrix, twopc-limits measures the
# fdatasync rate, SQLite WAL commits and the NNG round trip in the same data
# directory.
#
# Output (under BUILD_DIR/bench): results.csv, limits.json and, when gnuplot
# is installed, throughput.svg and p99.svg. A progress line per run on
# stderr; the table with the ratios to the limits on stdout.
#
# The data directory is a temporary directory under BUILD_DIR/bench (on the
# disk the build is on, not a tmpfs /tmp); TWOPC_BENCH_TMP overrides its
# parent directory.
set -u

usage() { echo "usage: tests/bench.sh BUILD_DIR [--quick]" >&2; exit 2; }
[ $# -ge 1 ] || usage
B=$(cd "$1" 2>/dev/null && pwd) || { echo "bench: no build directory $1" >&2; exit 2; }
shift
DUR=5
while [ $# -gt 0 ]; do
	case $1 in
	--quick) DUR=2 ;;
	*) usage ;;
	esac
	shift
done
for bin in twopc twopc-coordinator twopc-participant twopc-limits; do
	[ -x "$B/$bin" ] || { echo "bench: $B/$bin is missing (make all $B/twopc-limits)" >&2; exit 2; }
done

# The matrix; the variables narrow it for a quick look (not used by make).
DURABILITIES=${TWOPC_BENCH_DURABILITY:-full normal}
PARTICIPANTS=${TWOPC_BENCH_PARTICIPANTS:-2 3 5}
CONCURRENCY=${TWOPC_BENCH_CONCURRENCY:-1 16 64 256}
OUT=$B/bench
mkdir -p "$OUT"
WORK=$(mktemp -d "${TWOPC_BENCH_TMP:-$OUT}/tmp.XXXXXX") || exit 1
# A snapshot of the binaries: the whole matrix runs one build, even if the
# build directory is relinked meanwhile (a half-written twopc is not
# executable).
mkdir -p "$WORK/bin"
for bin in twopc twopc-coordinator twopc-participant twopc-limits; do
	cp "$B/$bin" "$WORK/bin/$bin" || { echo "bench: cannot copy $B/$bin" >&2; rm -rf "$WORK"; exit 1; }
done
BIN=$WORK/bin
BASE=$((16384 + ($$ % 90) * 160))  # 24 runs x 6 ports: BASE+143 < 32768
ANOMALIES=()

note_anomaly() { ANOMALIES+=("$1"); }
TOOL=bench
. "$(dirname "$0")/cluster.sh"

cleanup() {
	stop_all
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

peak_rss() { # peak_rss PID: VmHWM in kB
	awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0
}

# ---- the machine's limits ----
echo "[limits] fdatasync, SQLite WAL commits, NNG round trip in $WORK (about 8 s)" >&2
if ! "$BIN/twopc-limits" "$WORK" >"$OUT/limits.json"; then
	echo "bench: twopc-limits failed" >&2
	exit 1
fi
FSYNC_PER_S=$(jget fsync_per_s "$OUT/limits.json")
SQLITE_PER_S=$(jget sqlite_commits_per_s "$OUT/limits.json")
RTT_US=$(jget nng_rtt_us "$OUT/limits.json")
echo "[limits] $(cat "$OUT/limits.json")" >&2

# ---- the matrix ----
CSV=$OUT/results.csv
echo "durability,participants,concurrency,committed_per_s,aborted_per_s,p50_ms,p99_ms,fsyncs_per_txn,messages_per_txn,coord_rss_kb,max_participant_rss_kb" >"$CSV"
STATUS=0
total=0
for _ in $DURABILITIES; do for _ in $PARTICIPANTS; do for _ in $CONCURRENCY; do total=$((total + 1)); done; done; done
run=0
T_START=$(date +%s)

for dur in $DURABILITIES; do
for k in $PARTICIPANTS; do
for c in $CONCURRENCY; do
	port=$((BASE + run * 6))
	run=$((run + 1))
	printf '[%d/%d] %s k=%d c=%d ...\n' "$run" "$total" "$dur" "$k" "$c" >&2
	D=$WORK/run$run
	mkdir -p "$D"
	F=$D/cluster.yaml
	write_cluster "$F" "$port" "$k" "$dur"

	declare -A PID=()
	for i in $(seq 1 "$k"); do
		"$BIN/twopc-participant" -c "$F" -n "p$i" >"$D/p$i.log" 2>&1 &
		PID[p$i]=$!
		PIDS+=($!)
	done
	"$BIN/twopc-coordinator" -c "$F" >"$D/coord.log" 2>&1 &
	PID[coord]=$!
	PIDS+=($!)
	for n in "${!PID[@]}"; do wait_up "$n" "${PID[$n]}" "$D/$n.log"; done
	# Every node answers a status request (bounded: 10 s).
	up=0
	for _ in $(seq 1 100); do
		if "$BIN/twopc" -c "$F" list --json 2>/dev/null | grep -q '"unreachable":\[\]'; then up=1; break; fi
		sleep 0.1
	done
	[ $up = 1 ] || fail_daemon coord "$D/coord.log" "cluster did not answer 'twopc list' within 10 s"

	timeout $((DUR + 120)) "$BIN/twopc" -c "$F" bench --concurrency "$c" --duration "$DUR" \
		--participants "$k" --json >"$D/bench.json" 2>"$D/bench.err"
	rc=$?
	coord_rss=$(peak_rss "${PID[coord]}")
	part_rss=0
	for i in $(seq 1 "$k"); do
		r=$(peak_rss "${PID[p$i]}")
		[ "${r:-0}" -gt "$part_rss" ] && part_rss=$r
	done
	for n in "${!PID[@]}"; do
		kill -0 "${PID[$n]}" 2>/dev/null || ANOMALIES+=("$dur k=$k c=$c: $n exited during the run")
	done
	stop_all
	unset PID

	committed_per_s=$(jget committed_per_s "$D/bench.json")
	if [ -z "$committed_per_s" ]; then
		printf '[%d/%d] %s k=%d c=%d: twopc bench exit %d, no result: %s\n' "$run" "$total" "$dur" "$k" "$c" \
			"$rc" "$(head -c 300 "$D/bench.err")" >&2
		ANOMALIES+=("$dur k=$k c=$c: no result (twopc bench exit $rc)")
		STATUS=1
		rm -rf "$D"
		continue
	fi
	aborted_per_s=$(jget aborted_per_s "$D/bench.json")
	p50=$(jget p50_ms "$D/bench.json")
	p99=$(jget p99_ms "$D/bench.json")
	fpt=$(jget fsyncs_per_txn "$D/bench.json")
	mpt=$(jget messages_per_txn "$D/bench.json")
	committed=$(jget committed "$D/bench.json")
	aborted=$(jget aborted "$D/bench.json")
	errors=$(jget errors "$D/bench.json")
	echo "$dur,$k,$c,$committed_per_s,$aborted_per_s,$p50,$p99,$fpt,$mpt,$coord_rss,$part_rss" >>"$CSV"
	printf '[%d/%d] %s k=%d c=%d: %s committed/s, p99 %s ms (%s aborted, %s errors)\n' "$run" "$total" \
		"$dur" "$k" "$c" "$committed_per_s" "$p99" "$aborted" "$errors" >&2
	if [ "${errors:-0}" -gt 0 ] && [ "${committed:-0}" -eq 0 ]; then
		ANOMALIES+=("$dur k=$k c=$c: $errors errors and no commit")
		STATUS=1
	elif [ "${errors:-0}" -gt 0 ] || [ "${aborted:-0}" -gt 0 ]; then
		ANOMALIES+=("$dur k=$k c=$c: $aborted aborted, $errors errors (no conflicts by construction)")
	fi
	rm -rf "$D"
done
done
done
ELAPSED=$(( $(date +%s) - T_START ))

# ---- the table ----
echo
echo "twopc bench: ${DUR} s per run, $(nproc 2>/dev/null || echo '?') CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
echo "limits: $(cat "$OUT/limits.json")"
echo
awk -F, -v fs="$FSYNC_PER_S" -v sq="$SQLITE_PER_S" -v rtt="$RTT_US" '
NR == 1 {
	printf "%-6s %2s %4s %10s %9s %8s %9s %7s %7s %9s %9s %8s %8s %8s\n",
	    "dur", "k", "c", "commit/s", "abort/s", "p50 ms", "p99 ms", "fs/txn", "msg/txn",
	    "coordKB", "partKB", "fsync%", "sqlite%", "p50/rtt"
	next
}
{
	fb = ($8 > 0) ? fs / $8 : 0       # the fsync bound in transactions/s
	sb = ($8 > 0) ? sq / $8 : 0       # the SQLite WAL commit bound
	printf "%-6s %2d %4d %10.1f %9.1f %8.3f %9.3f %7.2f %7.2f %9d %9d %8s %8s %7.1fx\n",
	    $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,
	    (fb > 0 ? sprintf("%.0f%%", 100 * $4 / fb) : "-"),
	    (sb > 0 ? sprintf("%.0f%%", 100 * $4 / sb) : "-"),
	    (rtt > 0 ? 1000 * $6 / rtt : 0)
}' "$CSV"
cat <<'EOF'

fsync%  = committed/s / (fsync_per_s / fsyncs_per_txn): share of the bound one
          disk's serial fdatasync rate puts on forced writes (>100% means the
          writes overlap or are grouped; with durability normal the forced
          writes are not fsynced (fs/txn 0), so there is no bound: "-").
sqlite% = the same against SQLite WAL synchronous=FULL single-row commits/s.
p50/rtt = median transaction latency in NNG loopback round trips (one
          outstanding); a 2PC commit needs at least 3 sequential round trips
          (client, PREPARE, GLOBAL_COMMIT) plus the forced writes.
EOF
echo
echo "results: $CSV, $OUT/limits.json"

# ---- the plots ----
if command -v gnuplot >/dev/null 2>&1; then
	P=$WORK/plot
	mkdir -p "$P"
	for dur in $DURABILITIES; do for k in $PARTICIPANTS; do
		awk -F, -v d="$dur" -v k="$k" 'NR > 1 && $1 == d && $2 == k { print $3, $4, $7 }' "$CSV" >"$P/$dur-$k.dat"
	done; done
	plotcmd() { # plotcmd COLUMN
		local sep="plot" lt=1 dt
		for k in $PARTICIPANTS; do
			for dur in $DURABILITIES; do
				[ "$dur" = full ] && dt=1 || dt=2
				printf "%s '%s/%s-%s.dat' using 1:%d with linespoints lt %d dt %d pt 7 title '%s, k=%s'" \
					"$sep" "$P" "$dur" "$k" "$1" "$lt" "$dt" "$dur" "$k"
				sep=","
			done
			lt=$((lt + 1))
		done
		echo
	}
	if gnuplot 2>"$WORK/gnuplot.err" <<EOF
set terminal svg size 900,560 dynamic font 'sans,11'
set key outside right top
set grid
set logscale x 2
set xrange [0.7:370]
set xtics ("1" 1, "16" 16, "64" 64, "256" 256)
set xlabel 'concurrency (client threads)'
set output '$OUT/throughput.svg'
set title 'twopc: committed transactions/s (fsync bound $FSYNC_PER_S fdatasync/s)'
set ylabel 'committed/s'
set yrange [0:*]
$(plotcmd 2)
set output '$OUT/p99.svg'
set title 'twopc: p99 latency'
set ylabel 'p99 latency (ms)'
set logscale y 10
set yrange [*:*]
$(plotcmd 3)
EOF
	then
		echo "plots: $OUT/throughput.svg, $OUT/p99.svg"
	else
		echo "bench: gnuplot failed: $(head -c 500 "$WORK/gnuplot.err")" >&2
		ANOMALIES+=("gnuplot failed")
	fi
else
	echo "plots: skipped (gnuplot is not installed; apt-get install gnuplot-nox)"
fi

echo "matrix: $run runs in ${ELAPSED} s"
if [ ${#ANOMALIES[@]} -gt 0 ]; then
	echo
	echo "anomalies:"
	printf '  %s\n' "${ANOMALIES[@]}"
fi
exit $STATUS
