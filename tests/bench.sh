#!/usr/bin/env bash
# make bench: throughput and latency of a local twopc cluster over a matrix,
# next to the machine's own limits. A benchmark, not a test: it asserts no
# speed; it fails only when a daemon does not start or a run commits nothing.
#
# Usage: tests/bench.sh BUILD_DIR [--quick]
#
#   durability full normal  x  participants 2 3 5  x  concurrency 1 16 64 256
#
# Concurrency N: twopc bench keeps N transactions in flight from one
# client with twopc_tx_commit_async (libtwopc-client(3)); the peer runs N
# client threads, one blocking libpq transaction each.
#
# Each of the 24 runs gets a fresh cluster (coordinator + K participants on
# 127.0.0.1, ports below 32768 derived from $$), `twopc bench --json` for
# D seconds (5, or 2 with --quick), then the peak RSS (VmHWM) of every
# daemon, then SIGTERM. Before the matrix, twopc-limits measures the
# fdatasync rate, SQLite WAL commits and the NNG round trip in the same data
# directory.
#
# The peer baseline: for every durability-full run, the same work done as
# two-phase commit by hand with PostgreSQL (twopc-pgpeer: BEGIN, the upsert,
# PREPARE TRANSACTION at each participant, the decision appended to a file
# and fdatasynced, COMMIT PREPARED), right after the twopc run at the same
# participants and concurrency, and `twopc / peer` per row. Then one
# contention run of each: 64 transfers in flight among 10 hot accounts at 3
# participants (twopc bench --hot 10), committed/s and abort rate. Last,
# the price of mutual TLS: durability full, 3 participants, concurrency 1
# and 64 over tls+tcp:// (certificates from tests/mkcerts.sh; skipped
# without openssl), beside the plain tcp:// rows (the matrix and the peer
# run plain, as the peer has no TLS).
#
# The peer's PostgreSQL is a private server started once for the whole
# matrix: initdb into the temporary directory (the same disk as twopc's
# logs), a Unix socket there, no TCP (listen_addresses ''), fsync and
# synchronous_commit on, one database peer<i> per participant (one server,
# so the participants share one WAL: their flushes can be grouped, which
# K separate twopc logs cannot). PostgreSQL refuses to run as root, so as
# root it runs as the user `postgres` (which the postgresql package
# creates; `nobody` otherwise), owning only its directory, with the
# temporary directory made traversable (711). Not root: it runs as the
# caller. Without PostgreSQL (initdb, pg_ctl, psql) or twopc-pgpeer, one
# line says how to install them and the matrix runs without the peer.
#
# Per run, the context switches per transaction of the daemons: voluntary
# and involuntary, summed over every thread of the coordinator and the
# participants (/proc/PID/task/*/status) after the run minus before,
# divided by the transactions committed and aborted. The peer reports the
# same for itself and the PostgreSQL backends that served it.
#
# Output (under BUILD_DIR/bench): results.csv (a row per run; the peer's
# figures in the columns peer_*), limits.json and, when gnuplot
# is installed, throughput.svg and p99.svg. A progress line per run on
# stderr; the table with the ratios to the limits on stdout.
#
# The data directory is a temporary directory under BUILD_DIR/bench (on the
# disk the build is on, not a tmpfs /tmp); TWOPC_BENCH_TMP overrides its
# parent directory.
set -u
TOOL=bench
. "$(dirname "$0")/cluster.sh"

usage() { echo "usage: tests/bench.sh BUILD_DIR [--quick]" >&2; exit 2; }
[ $# -ge 1 ] || usage
B=$(build_dir "$1") || exit 2
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
# The contention run: clients, hot accounts, participants.
HOT_C=64
HOT_N=10
HOT_K=3
OUT=$B/bench
mkdir -p "$OUT"
WORK=$(mktemp -d "${TWOPC_BENCH_TMP:-$OUT}/tmp.XXXXXX") || exit 1
# A snapshot of the binaries: the whole matrix runs one build, even if the
# build directory is relinked meanwhile (a half-written twopc is not
# executable). twopc-pgpeer is optional (see the peer below).
mkdir -p "$WORK/bin"
for bin in twopc twopc-coordinator twopc-participant twopc-limits twopc-pgpeer; do
	[ "$bin" = twopc-pgpeer ] && [ ! -x "$B/$bin" ] && continue
	cp "$B/$bin" "$WORK/bin/$bin" || { echo "bench: cannot copy $B/$bin" >&2; rm -rf "$WORK"; exit 1; }
done
BIN=$WORK/bin
BASE=$((16384 + ($$ % 90) * 160))  # 25 runs x 6 ports: BASE+149 < 32768
ANOMALIES=()

note_anomaly() { ANOMALIES+=("$1"); }
# ---- the peer's private PostgreSQL server ----
PEER=0          # 1 once the server is up
PGD=$WORK/pg    # data directory, socket, logs
PGPORT=5432     # names the socket file only: there is no TCP listener
PGAS=()         # the command prefix that runs a PostgreSQL program
PGBIN=

pg_find() { # the directory of initdb, pg_ctl and psql, or nothing
	local d
	for d in "$(pg_config --bindir 2>/dev/null)" $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r) \
		"$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/x)")"; do
		[ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/psql" ] && { echo "$d"; return; }
	done
}

maxof() { # maxof N...: the largest
	local m=0 n
	for n; do [ "$n" -gt "$m" ] && m=$n; done
	echo "$m"
}

pg_start() { # 0 once the server is up with databases peer0..peerK-1
	local user= kmax cmax conns i
	if [ "$(id -u)" = 0 ]; then
		user=postgres
		id -u postgres >/dev/null 2>&1 || user=nobody
		PGAS=(runuser -u "$user" --)
		chmod 711 "$WORK"
	fi
	mkdir -p "$PGD"
	[ -n "$user" ] && chown "$user" "$PGD"
	"${PGAS[@]}" "$PGBIN/initdb" -D "$PGD/data" -U twopc --auth=trust -N -E UTF8 --locale=C \
		>"$PGD/initdb.log" 2>&1 || { tail -n 5 "$PGD/initdb.log" >&2; return 1; }
	kmax=$(maxof $PARTICIPANTS $HOT_K)
	cmax=$(maxof $CONCURRENCY $HOT_C)
	# Every client thread holds a connection to each database and, between
	# PREPARE and COMMIT PREPARED, a prepared transaction in each.
	conns=$((kmax * cmax + kmax + 10))
	cat >>"$PGD/data/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$PGD'
port = $PGPORT
max_connections = $conns
max_prepared_transactions = $conns
fsync = on
synchronous_commit = on
EOF
	"${PGAS[@]}" "$PGBIN/pg_ctl" -D "$PGD/data" -l "$PGD/server.log" -w -t 60 start >/dev/null 2>&1 ||
		{ tail -n 5 "$PGD/server.log" >&2; return 1; }
	for i in $(seq 0 $((kmax - 1))); do
		"$PGBIN/psql" -h "$PGD" -p $PGPORT -U twopc -d postgres -qc "CREATE DATABASE peer$i" >/dev/null ||
			return 1
	done
}

pg_stop() {
	[ -f "$PGD/data/postmaster.pid" ] &&
		"${PGAS[@]}" "$PGBIN/pg_ctl" -D "$PGD/data" -m fast -w -t 30 stop >/dev/null 2>&1
}

cleanup() {
	stop_all
	pg_stop
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

peak_rss() { # peak_rss PID: VmHWM in kB
	awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0
}

ctxsw() { # ctxsw PID...: context switches of every thread, voluntary and not
	local p
	for p; do cat /proc/"$p"/task/*/status 2>/dev/null; done |
		awk '/^(non)?voluntary_ctxt_switches:/ { s += $2 } END { print s + 0 }'
}

# ---- the machine's limits ----
echo "[limits] fdatasync, SQLite WAL commits, NNG round trip, a round of NNG alone in $WORK (about 10 s)" >&2
if ! "$BIN/twopc-limits" "$WORK" >"$OUT/limits.json"; then
	echo "bench: twopc-limits failed" >&2
	exit 1
fi
FSYNC_PER_S=$(jget fsync_per_s "$OUT/limits.json")
SQLITE_PER_S=$(jget sqlite_commits_per_s "$OUT/limits.json")
RTT_US=$(jget nng_rtt_us "$OUT/limits.json")
ROUND_US=$(jget nng_round_us "$OUT/limits.json")
echo "[limits] $(cat "$OUT/limits.json")" >&2

# ---- the peer ----
PGBIN=$(pg_find)
PEER_SKIP=
if [ -z "$PGBIN" ] || [ ! -x "$BIN/twopc-pgpeer" ]; then
	PEER_SKIP="PostgreSQL or libpq is not installed: apt-get install -y postgresql libpq-dev, then make bench"
else
	echo "[peer] a private PostgreSQL server ($PGBIN) in $PGD" >&2
	if pg_start; then
		PEER=1
	else
		PEER_SKIP="the private PostgreSQL server did not start (see above)"
		ANOMALIES+=("peer: $PEER_SKIP")
		pg_stop
	fi
fi
[ -n "$PEER_SKIP" ] && echo "bench: the peer baseline is skipped: $PEER_SKIP"

# twopc_run DUR K C HOT RUN: a fresh cluster in D=$WORK/runRUN, `twopc
# bench`, its JSON in $D/bench.json; sets R_COORD_RSS, R_PART_RSS,
# R_CTXSW. 1 (the reason printed) when there is no result.
twopc_run() {
	local dur=$1 k=$2 c=$3 hot=$4 port=$((BASE + $5 * 6)) i n rc before after
	D=$WORK/run$5
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
	wait_listed "$F" "$D/coord.log"

	before=$(ctxsw "${PID[@]}")
	timeout $((DUR + 120)) "$BIN/twopc" -c "$F" bench --concurrency "$c" --duration "$DUR" \
		--participants "$k" --hot "$hot" --json >"$D/bench.json" 2>"$D/bench.err"
	rc=$?
	after=$(ctxsw "${PID[@]}")
	R_CTXSW=$((after - before))
	R_COORD_RSS=$(peak_rss "${PID[coord]}")
	R_PART_RSS=0
	for i in $(seq 1 "$k"); do
		n=$(peak_rss "${PID[p$i]}")
		[ "${n:-0}" -gt "$R_PART_RSS" ] && R_PART_RSS=$n
	done
	for n in "${!PID[@]}"; do
		kill -0 "${PID[$n]}" 2>/dev/null || ANOMALIES+=("$dur k=$k c=$c: $n exited during the run; the end of its log:
$(tail -n 5 "$D/$n.log" 2>/dev/null | sed 's/^/    /')")
	done
	stop_all
	if [ -z "$(jget committed_per_s "$D/bench.json")" ]; then
		echo "bench: $dur k=$k c=$c hot=$hot: twopc bench exit $rc, no result: $(head -c 300 "$D/bench.err")" >&2
		ANOMALIES+=("$dur k=$k c=$c hot=$hot: no result (twopc bench exit $rc)")
		return 1
	fi
}

# peer_run K C HOT: twopc-pgpeer with its JSON in $D/peer.json, run after
# the twopc cluster has stopped; R_PEER: the peer's CSV fields (empty
# fields when there is no peer).
R_NOPEER=",,,,,,,"
peer_run() {
	local rc f
	R_PEER=$R_NOPEER
	[ $PEER = 1 ] || return 0
	PGUSER=twopc timeout $((DUR + 120)) "$BIN/twopc-pgpeer" --host "$PGD" --port $PGPORT \
		--participants "$1" --concurrency "$2" --duration "$DUR" --hot "$3" \
		--decisions "$D/peer.decisions" --json >"$D/peer.json" 2>"$D/peer.err"
	rc=$?
	if [ -z "$(jget committed_per_s "$D/peer.json")" ]; then
		echo "bench: peer k=$1 c=$2 hot=$3: twopc-pgpeer exit $rc, no result: $(head -c 300 "$D/peer.err")" >&2
		ANOMALIES+=("peer k=$1 c=$2 hot=$3: no result (twopc-pgpeer exit $rc)")
		return 0
	fi
	R_PEER=
	for f in committed_per_s aborted_per_s abort_rate p50_ms p99_ms fsyncs_per_txn wal_syncs_per_txn \
		ctxsw_per_txn; do
		R_PEER="$R_PEER,$(jget $f "$D/peer.json")"
	done
	R_PEER=${R_PEER#,}
	if [ "$3" = 0 ] && [ "$(jget aborted "$D/peer.json")" != 0 ]; then
		ANOMALIES+=("peer k=$1 c=$2: $(jget aborted "$D/peer.json") aborted (no conflicts by construction)")
	fi
	return 0
}

# csv_row DUR K C HOT: the row of the run just made ($D/bench.json, R_*).
csv_row() {
	local j=$D/bench.json txns ctx peer ratio
	txns=$(( $(jget committed "$j") + $(jget aborted "$j") ))
	ctx=$(awk -v s="$R_CTXSW" -v t="$txns" 'BEGIN { printf "%.2f", (t > 0 ? s / t : 0) }')
	peer=${R_PEER%%,*}
	ratio=$(awk -v a="$(jget committed_per_s "$j")" -v b="$peer" \
		'BEGIN { if (b != "" && b > 0) printf "%.3f", a / b }')
	echo "$1,$2,$3,$(jget committed_per_s "$j"),$(jget aborted_per_s "$j"),$(jget p50_ms "$j")"\
",$(jget p99_ms "$j"),$(jget fsyncs_per_txn "$j"),$(jget messages_per_txn "$j"),$R_COORD_RSS"\
",$R_PART_RSS,$4,$(jget abort_rate "$j"),$ctx,$R_PEER,$ratio" >>"$CSV"
}

# ---- the matrix ----
CSV=$OUT/results.csv
echo "durability,participants,concurrency,committed_per_s,aborted_per_s,p50_ms,p99_ms,fsyncs_per_txn,"\
"messages_per_txn,coord_rss_kb,max_participant_rss_kb,hot,abort_rate,ctxsw_per_txn,peer_committed_per_s,"\
"peer_aborted_per_s,peer_abort_rate,peer_p50_ms,peer_p99_ms,peer_fsyncs_per_txn,peer_wal_syncs_per_txn,"\
"peer_ctxsw_per_txn,twopc_per_peer" >"$CSV"
STATUS=0
total=1
for _ in $DURABILITIES; do for _ in $PARTICIPANTS; do for _ in $CONCURRENCY; do total=$((total + 1)); done; done; done
run=0
T_START=$(date +%s)

for dur in $DURABILITIES; do
for k in $PARTICIPANTS; do
for c in $CONCURRENCY; do
	run=$((run + 1))
	printf '[%d/%d] %s k=%d c=%d ...\n' "$run" "$total" "$dur" "$k" "$c" >&2
	if ! twopc_run "$dur" "$k" "$c" 0 "$run"; then
		STATUS=1
		rm -rf "$D"
		continue
	fi
	R_PEER=$R_NOPEER
	[ "$dur" = full ] && peer_run "$k" "$c" 0
	csv_row "$dur" "$k" "$c" 0
	committed=$(jget committed "$D/bench.json")
	aborted=$(jget aborted "$D/bench.json")
	errors=$(jget errors "$D/bench.json")
	peer=${R_PEER%%,*}
	printf '[%d/%d] %s k=%d c=%d: %s committed/s, p99 %s ms (%s aborted, %s errors)%s\n' "$run" "$total" \
		"$dur" "$k" "$c" "$(jget committed_per_s "$D/bench.json")" "$(jget p99_ms "$D/bench.json")" \
		"$aborted" "$errors" "${peer:+; peer $peer committed/s}" >&2
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

# ---- contention: transfers among hot accounts ----
run=$((run + 1))
printf '[%d/%d] full k=%d c=%d, %d hot accounts ...\n' "$run" "$total" $HOT_K $HOT_C $HOT_N >&2
if twopc_run full $HOT_K $HOT_C $HOT_N "$run"; then
	peer_run $HOT_K $HOT_C $HOT_N
	csv_row full $HOT_K $HOT_C $HOT_N
	peer=${R_PEER%%,*}
	printf '[%d/%d] hot: %s committed/s, abort rate %s%s\n' "$run" "$total" \
		"$(jget committed_per_s "$D/bench.json")" "$(jget abort_rate "$D/bench.json")" \
		"${peer:+; peer $peer committed/s}" >&2
	[ "$(jget committed "$D/bench.json")" = 0 ] && ANOMALIES+=("hot: twopc committed nothing")
else
	STATUS=1
fi
rm -rf "$D"

# ---- the price of mutual TLS: full k=3 at c=1 and c=64, tls+tcp:// ----
TLS_ROWS=()
if command -v openssl >/dev/null 2>&1; then
	write_cluster "$WORK/tls.yaml" 1 3 full
	if bash "$(dirname "$0")/mkcerts.sh" "$WORK/tls.yaml" "$WORK/tls" >/dev/null 2>&1; then
		for c in 1 64; do
			run=$((run + 1))
			printf '[%d] full k=3 c=%d over mutual TLS ...\n' "$run" "$c" >&2
			if CLUSTER_TLS=$WORK/tls twopc_run full 3 "$c" 0 "$run"; then
				TLS_ROWS+=("$c $(jget committed_per_s "$D/bench.json") $(jget p50_ms "$D/bench.json") $(jget p99_ms "$D/bench.json")")
			else
				ANOMALIES+=("tls k=3 c=$c: no result")
			fi
			rm -rf "$D"
		done
	else
		ANOMALIES+=("tls: tests/mkcerts.sh failed; no TLS rows")
	fi
else
	echo "bench: the TLS rows are skipped: openssl is not installed (apt-get install -y openssl)" >&2
fi
ELAPSED=$(( $(date +%s) - T_START ))

# ---- the tables ----
echo
echo "twopc bench: ${DUR} s per run, $(nproc 2>/dev/null || echo '?') CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
echo "limits: $(cat "$OUT/limits.json")"
echo
awk -F, -v fs="$FSYNC_PER_S" -v sq="$SQLITE_PER_S" -v rtt="$RTT_US" -v rnd="$ROUND_US" '
NR == 1 {
	printf "%-6s %2s %4s %10s %9s %8s %9s %7s %7s %9s %9s %8s %8s %8s %9s %7s\n",
	    "dur", "k", "c", "commit/s", "abort/s", "p50 ms", "p99 ms", "fs/txn", "msg/txn",
	    "coordKB", "partKB", "fsync%", "sqlite%", "p50/rtt", "p50/round", "csw/txn"
	next
}
$12 == 0 {
	fb = ($8 > 0) ? fs / $8 : 0       # the fsync bound in transactions/s
	sb = ($8 > 0) ? sq / $8 : 0       # the SQLite WAL commit bound
	printf "%-6s %2d %4d %10.1f %9.1f %8.3f %9.3f %7.2f %7.2f %9d %9d %8s %8s %7.1fx %8.2fx %7.1f\n",
	    $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,
	    (fb > 0 ? sprintf("%.0f%%", 100 * $4 / fb) : "-"),
	    (sb > 0 ? sprintf("%.0f%%", 100 * $4 / sb) : "-"),
	    (rtt > 0 ? 1000 * $6 / rtt : 0), (rnd > 0 ? 1000 * $6 / rnd : 0), $14
}' "$CSV"
cat <<'EOF'

fsync%  = committed/s / (fsync_per_s / fsyncs_per_txn): share of the bound one
          disk's serial fdatasync rate puts on forced writes (>100% means the
          writes overlap or are grouped; with durability normal the forced
          writes are not fsynced (fs/txn 0), so there is no bound: "-").
sqlite% = the same against SQLite WAL synchronous=FULL single-row commits/s.
p50/rtt = median transaction latency in NNG loopback round trips (one
          outstanding); a commit needs at least 2 sequential round trips
          (client, VOTE_REQUEST) plus one forced write (WAIT and READY are
          forced in parallel).
p50/round = the same against nng_round_us: one transaction's messages and
          forced writes with no log and no logic, a process per node
          (client -> coordinator -> 3 participants, each forcing a 4 KiB
          record, the coordinator one meanwhile -> client), the floor of
          any implementation over NNG on this machine (3 participants).
csw/txn = context switches (voluntary and involuntary, every thread) of the
          coordinator and the participants per transaction.
EOF
if [ $PEER = 1 ]; then
	echo
	echo "twopc vs peer: the same transactions as two-phase commit by hand with PostgreSQL" \
		"$("$PGBIN/postgres" -V 2>/dev/null | awk '{ print $3 }') (durability full)"
	echo
	awk -F, '
	NR == 1 {
		printf "%2s %4s %4s %10s %10s %11s %9s %9s %7s %8s %7s %8s\n", "k", "c", "hot", "twopc c/s",
		    "peer c/s", "twopc/peer", "twopc p99", "peer p99", "csw/txn", "peer csw", "peer fs", "peer wal"
		next
	}
	$15 != "" {
		printf "%2d %4d %4d %10.1f %10.1f %10.2fx %9.3f %9.3f %7.1f %8.1f %7.2f %8.2f\n",
		    $2, $3, $12, $4, $15, $23, $7, $19, $14, $22, $20, $21
	}' "$CSV"
	cat <<'EOF'

peer csw = context switches of twopc-pgpeer and of the PostgreSQL backends
           serving it, per transaction.
peer fs  = the client's decision fdatasyncs per transaction (grouped across
           client threads, as a coordinator groups its forced writes).
peer wal = PostgreSQL WAL syncs per transaction (pg_stat_wal wal_sync; one
           server holds every participant's database, so one WAL).
EOF
fi
echo
echo "contention: $HOT_C transfers in flight (the peer: $HOT_C client threads), each moving 1 between random accounts, among $HOT_N hot accounts at each of $HOT_K participants"
awk -F, 'NR > 1 && $12 > 0 {
	printf "  twopc: %8.1f committed/s, %8.1f aborted/s, abort rate %5.1f%%, p99 %.3f ms\n",
	    $4, $5, 100 * $13, $7
	if ($15 != "")
		printf "  peer:  %8.1f committed/s, %8.1f aborted/s, abort rate %5.1f%%, p99 %.3f ms\n",
		    $15, $16, 100 * $17, $19
}' "$CSV"
if [ ${#TLS_ROWS[@]} -gt 0 ]; then
	echo
	echo "the price of mutual TLS (tls+tcp://, durability full, 3 participants) against plain tcp:// (rows above):"
	for r in "${TLS_ROWS[@]}"; do
		set -- $r
		awk -F, -v c="$1" -v cps="$2" -v p50="$3" -v p99="$4" 'NR > 1 && $1 == "full" && $2 == 3 &&
		    $3 == c && $12 == 0 {
			printf "  c=%-3d TLS %8.1f committed/s (%.2fx plain), p50 %.3f ms (plain %.3f), p99 %.3f ms\n",
			    c, cps, ($4 > 0 ? cps / $4 : 0), p50, $6, p99
		}' "$CSV"
	done
fi
echo
echo "results: $CSV, $OUT/limits.json"

# ---- the plots ----
if command -v gnuplot >/dev/null 2>&1; then
	P=$WORK/plot
	mkdir -p "$P"
	for dur in $DURABILITIES; do for k in $PARTICIPANTS; do
		awk -F, -v d="$dur" -v k="$k" 'NR > 1 && $1 == d && $2 == k && $12 == 0 { print $3, $4, $7 }' "$CSV" >"$P/$dur-$k.dat"
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
set xlabel 'concurrency (transactions in flight)'
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
