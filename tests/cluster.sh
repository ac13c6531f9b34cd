# tests/cluster.sh - sourced by tests/bench.sh and tests/loggrowth.sh: a
# local cluster of real daemons on 127.0.0.1, and stopping it.
#
# The caller sets TOOL (its name, for messages) before sourcing, appends
# every daemon's pid to PIDS, and may define note_anomaly MSG (called when
# a daemon needs SIGKILL; by default the message is only printed).

PIDS=()
type note_anomaly >/dev/null 2>&1 || note_anomaly() { :; }

# write_cluster FILE BASE_PORT NPART DURABILITY [RETENTION_S]
# With CLUSTER_TLS set to a directory made by tests/mkcerts.sh: mutual TLS
# (tls+tcp://); otherwise plain tcp:// with insecure: true.
write_cluster() {
	local scheme=tcp
	[ -n "${CLUSTER_TLS:-}" ] && scheme=tls+tcp
	{
		if [ -n "${CLUSTER_TLS:-}" ]; then
			echo "tls:"
			echo "  ca: $CLUSTER_TLS/ca.crt"
			echo "  dir: $CLUSTER_TLS"
		else
			echo "insecure: true  # plain tcp://, as the peer it is compared with"
		fi
		echo "coordinator:"
		echo "  name: coord"
		echo "  listen: $scheme://127.0.0.1:$2"
		echo "  log: coord.db"
		echo "  vote_timeout_ms: 2000"
		echo "participants:"
		for i in $(seq 1 "$3"); do
			echo "  - name: p$i"
			echo "    listen: $scheme://127.0.0.1:$(($2 + i))"
			echo "    log: p$i.db"
		done
		echo "timeouts:"
		echo "  decision_timeout_ms: 1000"
		[ -n "${5:-}" ] && echo "  retention_s: $5"
		echo "durability: $4"
	} >"$1"
}

stop_all() { # SIGTERM every daemon still running, wait (bounded), then SIGKILL
	local p
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for _ in $(seq 1 100); do
		local alive=0
		for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
		[ $alive = 0 ] && break
		sleep 0.1
	done
	for p in "${PIDS[@]}"; do
		if kill -0 "$p" 2>/dev/null; then
			echo "$TOOL: pid $p ignored SIGTERM for 10 s; SIGKILL" >&2
			note_anomaly "pid $p needed SIGKILL"
			kill -KILL "$p" 2>/dev/null
		fi
		wait "$p" 2>/dev/null
	done
	PIDS=()
}

# jget KEY FILE: a value from a flat JSON object (jq if present).
if command -v jq >/dev/null 2>&1; then
	jget() { jq -r ".$1 // empty" "$2" 2>/dev/null; }
else
	jget() { sed -n "s/.*\"$1\":[[:space:]]*\"\{0,1\}\([^,\"}]*\).*/\1/p" "$2" | head -n 1; }
fi

# build_dir DIR: DIR as an absolute path on stdout; status 2, saying so,
# when it is no directory.
build_dir() {
	(cd "$1" 2>/dev/null && pwd) && return 0
	echo "$TOOL: no build directory $1" >&2
	return 2
}

fail_daemon() { # fail_daemon NAME LOG WHY
	echo "$TOOL: $1 $3; last lines of $2:" >&2
	tail -n 20 "$2" >&2
	exit 1
}

# wait_up NAME PID LOG: until the daemon logs "serving on" (at most 10 s).
wait_up() {
	for _ in $(seq 1 1000); do
		grep -q "serving on" "$3" 2>/dev/null && return 0
		kill -0 "$2" 2>/dev/null || fail_daemon "$1" "$3" "exited during start-up"
		sleep 0.01
	done
	fail_daemon "$1" "$3" "did not start within 10 s"
}

# wait_listed FILE COORD_LOG: until every node of cluster FILE answers a
# status request ('twopc list' with BIN/twopc; at most 10 s).
wait_listed() {
	for _ in $(seq 1 100); do
		"$BIN/twopc" -c "$1" list --json 2>/dev/null | grep -q '"unreachable":\[\]' && return 0
		sleep 0.1
	done
	fail_daemon coord "$2" "cluster did not answer 'twopc list' within 10 s"
}
