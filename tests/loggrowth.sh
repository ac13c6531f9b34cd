#!/usr/bin/env bash
# make loggrowth: the logs stay bounded. Finished transactions leave the
# logs once nobody can ask about them any more (END and ABORT at the
# coordinator after retention_s; COMMIT at a participant on FORGET, ABORT
# after retention_s) and SQLite's WAL checkpoints keep the -wal files from
# growing, so the log files after N transactions (default one million) are
# no larger than after ten thousand.
#
# Usage: tests/loggrowth.sh BUILD_DIR [--txns N]
#
# One local cluster (coordinator + 3 participants, tcp on 127.0.0.1, ports
# below 32768 derived from $$ and above bench.sh's range), with
# `timeouts: retention_s: 5` and `durability: normal`: the growth of the
# files does not depend on fsync (normal writes the same records, only
# without syncing them), and it makes the run several times faster.
#
# `twopc bench --concurrency 64 --json` runs in rounds (a progress line per
# round on stderr) until 10,000 transactions have committed; then the
# script waits longer than retention_s plus the expiry interval of both
# daemons (cfg_expire_every_ms in config/config.c), so that expiry has run
# on everything the load left, then as long as the txn tables still shrink
# (FORGET catching up; at most 5 minutes more), and records the size of
# every *.db, *.db-wal and *.db-shm file and the row counts of the log
# tables (sqlite3 -readonly, while the daemons run). Then on to N
# transactions, the same wait, the same record.
#
# Output: the table on stdout (also BUILD_DIR/loggrowth/results.txt).
# Exit status 1 when a file after N is more than 1.5 times its size after
# 10,000 (each such file is named, with the tables that hold its rows), or
# when the cluster fails; 2 on a usage error.
#
# The data directory is a temporary directory under BUILD_DIR/loggrowth,
# removed at exit; TWOPC_LOGGROWTH_KEEP=1 keeps it (logs and daemon output).
set -u
TOOL=loggrowth
. "$(dirname "$0")/cluster.sh"

usage() { echo "usage: tests/loggrowth.sh BUILD_DIR [--txns N]" >&2; exit 2; }
[ $# -ge 1 ] || usage
B=$(build_dir "$1") || exit 2
shift
N=1000000
FIRST=10000
while [ $# -gt 0 ]; do
	case $1 in
	--txns)
		[ $# -ge 2 ] || usage
		N=$2
		shift
		;;
	*) usage ;;
	esac
	shift
done
case $N in '' | *[!0-9]*) usage ;; esac
if [ "$N" -le "$FIRST" ]; then
	echo "loggrowth: --txns must be more than $FIRST (the first measurement)" >&2
	exit 2
fi
for bin in twopc twopc-coordinator twopc-participant; do
	[ -x "$B/$bin" ] || { echo "loggrowth: $B/$bin is missing (make all)" >&2; exit 2; }
done
command -v sqlite3 >/dev/null 2>&1 || { echo "loggrowth: needs the sqlite3 command (apt-get install sqlite3)" >&2; exit 2; }

SRC=$(cd "$(dirname "$0")/.." && pwd)
RETENTION_S=5
CONCURRENCY=64
NPART=3
# The expiry interval: every half retention, between 1 s and 60 s
# (cfg_expire_every_ms in config/config.c).
EXPIRE_MS=$((RETENTION_S >= 120 ? 60000 : RETENTION_S >= 2 ? RETENTION_S * 500 : 1000))
# Longer than retention plus one expiry period, with a margin for a shared
# machine and for the FORGET queue to drain (every queued FORGET is sent each
# ack_retry_ms).
SETTLE_S=$((RETENTION_S + (EXPIRE_MS + 999) / 1000 + 15))
DRAIN_MAX_S=300

OUT=$B/loggrowth
mkdir -p "$OUT"
WORK=$(mktemp -d "$OUT/tmp.XXXXXX") || exit 1
# A snapshot of the binaries: the whole run uses one build, even if the
# build directory is relinked meanwhile.
mkdir -p "$WORK/bin" "$WORK/data"
for bin in twopc twopc-coordinator twopc-participant; do
	cp "$B/$bin" "$WORK/bin/$bin" || { echo "loggrowth: cannot copy $B/$bin" >&2; rm -rf "$WORK"; exit 1; }
done
BIN=$WORK/bin
D=$WORK/data
F=$D/cluster.yaml
# 4 ports from 30768 + ($$ % 240) * 8: above bench.sh's 16384..30767, below
# the ephemeral range (32768 on Linux).
BASE=$((30768 + ($$ % 240) * 8))
NODES=(coord)
for i in $(seq 1 $NPART); do NODES+=("p$i"); done
declare -A PID=()

cleanup() {
	stop_all
	if [ "${TWOPC_LOGGROWTH_KEEP:-0}" = 1 ]; then
		echo "loggrowth: kept $WORK" >&2
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

check_alive() {
	local n
	for n in "${NODES[@]}"; do
		kill -0 "${PID[$n]}" 2>/dev/null || fail_daemon "$n" "$D/$n.log" "exited during the run"
	done
}

# ---- the cluster ----
write_cluster "$F" "$BASE" "$NPART" normal "$RETENTION_S"

# Every state change is an INFO line (several per transaction per node, a
# few hundred MB per daemon at a million): the daemons' output keeps
# everything else (start, expiry, warnings, errors).
start() { # start NAME CMD...
	local name=$1
	shift
	"$@" > >(grep --line-buffered -Ev ' INFO [^ ]+: [A-Z]+ -> [A-Z]+' >"$D/$name.log") 2>&1 &
	PID[$name]=$!
	PIDS+=($!)
}
for i in $(seq 1 $NPART); do start "p$i" "$BIN/twopc-participant" -c "$F" -n "p$i"; done
start coord "$BIN/twopc-coordinator" -c "$F"
for n in "${NODES[@]}"; do wait_up "$n" "${PID[$n]}" "$D/$n.log"; done
wait_listed "$F" "$D/coord.log"

# ---- the record ----
declare -A SIZE=()  # SIZE[tag,file]
declare -A ROWS=()  # ROWS[tag,node,table]
declare -A PAGES=() # PAGES[tag,node]: "free of total" pages of NODE.db
declare -A PEAK=()  # PEAK[tag,node,table]: most rows seen at the end of a round
declare -A STATES=()
declare -A AUTOVAC=()
COORD_TABLES="txn acks"
PART_TABLES="txn workspace locks readonly kv"
FILES=()

q() { # q DB SQL: one read-only query while the daemons run
	sqlite3 -readonly -cmd '.timeout 5000' "$1" "$2" 2>/dev/null
}

snapshot() { # snapshot TAG
	local tag=$1 f n t tables
	for n in "${NODES[@]}"; do
		for f in "$n.db" "$n.db-wal" "$n.db-shm"; do
			if [ -f "$D/$f" ]; then
				SIZE[$tag,$f]=$(stat -c %s "$D/$f")
			else
				SIZE[$tag,$f]=0
			fi
		done
		[ "$n" = coord ] && tables=$COORD_TABLES || tables=$PART_TABLES
		for t in $tables; do
			ROWS[$tag,$n,$t]=$(q "$D/$n.db" "SELECT count(*) FROM $t")
			: "${ROWS[$tag,$n,$t]:=?}"
		done
		STATES[$tag,$n]=$(q "$D/$n.db" "SELECT group_concat(state || '=' || n, ' ') FROM (SELECT state, count(*) AS n FROM txn GROUP BY state ORDER BY state)")
		STATES[$tag,$n]=${STATES[$tag,$n]:-none}
		AUTOVAC[$n]=$(q "$D/$n.db" "PRAGMA auto_vacuum")
		PAGES[$tag,$n]=$(q "$D/$n.db" "SELECT f.freelist_count || ' of ' || c.page_count FROM pragma_freelist_count AS f, pragma_page_count AS c")
	done
}

peak() { # peak TAG: the live rows of the log tables now, kept when highest
	local tag=$1 n t v
	for n in "${NODES[@]}"; do
		for t in txn $([ "$n" = coord ] && echo acks); do
			v=$(q "$D/$n.db" "SELECT count(*) FROM $t")
			[ -n "$v" ] || continue
			[ "$v" -gt "${PEAK[$tag,$n,$t]:-0}" ] && PEAK[$tag,$n,$t]=$v
		done
	done
}
for n in "${NODES[@]}"; do FILES+=("$n.db" "$n.db-wal" "$n.db-shm"); done

# ---- the load ----
DONE=0       # committed so far
ABORTED=0
ERRORS=0
ROUND=0
RATE=0       # committed/s of the last round
LOAD_S=0     # seconds spent in twopc bench
T0=$(date +%s)

drive_to() { # drive_to TAG TARGET: bench rounds until TARGET transactions committed
	local tag=$1 target=$2 dur left c a e secs zero=0
	while [ "$DONE" -lt "$target" ]; do
		left=$((target - DONE))
		if [ "$RATE" -gt 0 ]; then
			dur=$(((left + RATE - 1) / RATE))
		else
			dur=2
		fi
		[ "$dur" -lt 1 ] && dur=1
		[ "$dur" -gt 30 ] && dur=30
		ROUND=$((ROUND + 1))
		timeout $((dur + 120)) "$BIN/twopc" -c "$F" bench --concurrency $CONCURRENCY \
			--duration "$dur" --json >"$WORK/bench.json" 2>"$WORK/bench.err"
		local rc=$?
		check_alive
		peak "$tag"
		c=$(jget committed "$WORK/bench.json")
		if [ -z "$c" ]; then
			echo "loggrowth: round $ROUND: twopc bench exit $rc, no result: $(head -c 300 "$WORK/bench.err")" >&2
			exit 1
		fi
		a=$(jget aborted "$WORK/bench.json")
		e=$(jget errors "$WORK/bench.json")
		secs=$(jget duration_s "$WORK/bench.json")
		DONE=$((DONE + c))
		ABORTED=$((ABORTED + ${a:-0}))
		ERRORS=$((ERRORS + ${e:-0}))
		LOAD_S=$(awk -v a="$LOAD_S" -v b="${secs:-$dur}" 'BEGIN { printf "%.1f", a + b }')
		RATE=$(awk -v c="$c" -v s="${secs:-$dur}" 'BEGIN { printf "%d", (s > 0 ? c / s : 0) }')
		printf '[round %d] %d/%d committed (+%d in %s s, %d/s; %s/s overall), %d aborted, %d errors, %d s elapsed\n' \
			"$ROUND" "$DONE" "$target" "$c" "${secs:-$dur}" "$RATE" \
			"$(awk -v d="$DONE" -v s="$LOAD_S" 'BEGIN { printf "%.0f", (s > 0 ? d / s : 0) }')" \
			"$ABORTED" "$ERRORS" $(($(date +%s) - T0)) >&2
		if [ "$c" -eq 0 ]; then
			zero=$((zero + 1))
			[ $zero -ge 3 ] && { echo "loggrowth: three rounds committed nothing" >&2; exit 1; }
		else
			zero=0
		fi
	done
}

live_rows() { # the rows of every txn table, summed
	local n v sum=0
	for n in "${NODES[@]}"; do
		v=$(q "$D/$n.db" "SELECT count(*) FROM txn")
		sum=$((sum + ${v:-0}))
	done
	echo "$sum"
}

declare -A EXTRA=() # EXTRA[tag]: seconds waited after SETTLE_S for the txn tables
settle() { # settle TAG
	echo "[settle] ${SETTLE_S} s: retention ${RETENTION_S} s + expiry every $((EXPIRE_MS / 1000)) s + margin" >&2
	local t=0 before now
	while [ $t -lt "$SETTLE_S" ]; do
		sleep 5
		t=$((t + 5))
		check_alive
	done
	# Then, while the txn tables still shrink (FORGET catching up: 512
	# txids per participant per ack_retry_ms), up to DRAIN_MAX_S more, so
	# that the rows left are the ones nothing will delete.
	t=0
	now=$(live_rows)
	while [ "$now" -gt 0 ] && [ $t -lt $DRAIN_MAX_S ]; do
		before=$now
		sleep 10
		t=$((t + 10))
		check_alive
		now=$(live_rows)
		echo "[settle] +$t s: $now rows in the txn tables (was $before)" >&2
		[ "$now" -lt "$before" ] || break
	done
	EXTRA[$1]=$t
}

drive_to first $FIRST
AT_FIRST=$DONE
settle first
snapshot first
drive_to last "$N"
AT_N=$DONE
settle last
snapshot last
ELAPSED=$(($(date +%s) - T0))

# ---- the table ----
STATUS=0
REASONS=()
RES=$OUT/results.txt
{
	echo "twopc loggrowth: $AT_N transactions committed ($ABORTED aborted, $ERRORS errors) in ${LOAD_S} s of load, ${ELAPSED} s in all"
	echo "cluster: coordinator + $NPART participants, durability normal, retention_s $RETENTION_S, concurrency $CONCURRENCY;"
	echo "  measured ${SETTLE_S} s after the load (+${EXTRA[first]} s and +${EXTRA[last]} s while the txn tables still shrank),"
	echo "  expiry every $((EXPIRE_MS / 1000)).$((EXPIRE_MS % 1000 / 100)) s at the coordinator and at the participants;"
	echo "  $(nproc 2>/dev/null || echo '?') CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
	echo
	printf '%-14s %14s %14s %8s\n' "file" "after $AT_FIRST" "after $AT_N" "ratio"
	for f in "${FILES[@]}"; do
		a=${SIZE[first,$f]} b=${SIZE[last,$f]}
		if [ "$a" -gt 0 ]; then
			r=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", b / a }')
		else
			r=-
		fi
		flag=""
		if [ $((2 * b)) -gt $((3 * a)) ]; then
			flag="  GREW"
			STATUS=1
			n=${f%%.db*}
			[ "$n" = coord ] && tables=$COORD_TABLES || tables=$PART_TABLES
			why=""
			for t in $tables; do why="$why $t ${ROWS[first,$n,$t]}->${ROWS[last,$n,$t]},"; done
			why="rows${why%,}; txn states now: ${STATES[last,$n]}"
			case $f in
			*.db)
				why="$why; free pages ${PAGES[first,$n]} -> ${PAGES[last,$n]}; most live rows seen during the load: txn ${PEAK[first,$n,txn]:-?} -> ${PEAK[last,$n,txn]:-?}"
				[ "$n" = coord ] && why="$why, acks ${PEAK[first,$n,acks]:-?} -> ${PEAK[last,$n,acks]:-?}"
				why="$why. Deleted rows leave free pages that SQLite reuses but does not give back (auto_vacuum ${AUTOVAC[$n]:-?}, 0 = none): the file keeps the size of the most rows it held at once"
				;;
			*.db-wal)
				why="$why. A WAL is rewritten from its start after a checkpoint but not shortened (no journal_size_limit): it keeps the size of the most pages written between two checkpoints, such as one large DELETE at expiry"
				;;
			esac
			REASONS+=("$f: $b bytes after $AT_N, more than 1.5 x $a bytes after $AT_FIRST ($why)")
		fi
		printf '%-14s %14d %14d %8s%s\n' "$f" "$a" "$b" "$r" "$flag"
	done
	echo
	printf '%-18s %12s %12s %14s %14s\n' "rows" "after $AT_FIRST" "after $AT_N" "peak to $AT_FIRST" "peak to $AT_N"
	for n in "${NODES[@]}"; do
		printf '%-18s %12s %12s %14s %14s\n' "$n txn" "${ROWS[first,$n,txn]}" "${ROWS[last,$n,txn]}" \
			"${PEAK[first,$n,txn]:-?}" "${PEAK[last,$n,txn]:-?}"
	done
	for n in "${NODES[@]}"; do
		[ "$n" = coord ] && tables=$COORD_TABLES || tables=$PART_TABLES
		for t in $tables; do
			[ "$t" = txn ] && continue
			printf '%-18s %12s %12s %14s %14s\n' "$n $t" "${ROWS[first,$n,$t]}" "${ROWS[last,$n,$t]}" \
				"${PEAK[first,$n,$t]:--}" "${PEAK[last,$n,$t]:--}"
		done
	done
	echo "(peak: the most rows seen at the end of a bench round, before expiry and FORGET caught up)"
	echo
	echo "free pages of each .db after $AT_FIRST / after $AT_N; txn states after $AT_FIRST / after $AT_N:"
	for n in "${NODES[@]}"; do
		printf '  %-6s %-16s / %-16s   %s / %s\n' "$n" "${PAGES[first,$n]}" "${PAGES[last,$n]}" \
			"${STATES[first,$n]}" "${STATES[last,$n]}"
	done
	if [ ${#REASONS[@]} -gt 0 ]; then
		echo
		echo "FAIL: log files grew:"
		printf '  %s\n' "${REASONS[@]}"
	else
		echo
		echo "ok: no log file after $AT_N transactions is more than 1.5 x its size after $AT_FIRST"
	fi
} >"$RES"
cat "$RES"
echo "results: $RES" >&2
exit $STATUS
