#!/usr/bin/env bash
# make demo: a local twopc cluster on loopback, real transactions, explained.
# Usage: tests/demo.sh BUILD_DIR
set -u
B=${1:-build}
DIR=$(mktemp -d /tmp/twopc-demo-XXXXXX)
PIDS=()
BASE=$((7400 + ($$ % 50) * 10))

cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$DIR"
}
trap cleanup EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "twopc ${*}"; "$B/twopc" -c "$DIR/cluster.yaml" "$@"; local rc=$?; printf '  (exit %d)\n' "$rc"; return 0; }

cat > "$DIR/cluster.yaml" <<YAML
# Mutual TLS: every node proves itself with its certificate from tls/,
# signed by tls/ca.crt; so does the twopc command (tls/client.crt).
tls:
  ca: tls/ca.crt
  dir: tls
coordinator:
  name: coord
  listen: tls+tcp://127.0.0.1:$BASE
  log: coord.db
  vote_timeout_ms: 1000
participants:
  - name: alpha
    listen: tls+tcp://127.0.0.1:$((BASE + 1))
    log: alpha.db
  - name: beta
    listen: tls+tcp://127.0.0.1:$((BASE + 2))
    log: beta.db
  - name: gamma
    listen: tls+tcp://127.0.0.1:$((BASE + 3))
    log: gamma.db
timeouts:
  decision_timeout_ms: 500
  ack_retry_ms: 200
durability: full
YAML

declare -A PID
start() { # start NAME [ENV=VALUE]
	local name=$1 env=${2:-}
	if [ "$name" = coord ]; then
		env $env "$B/twopc-coordinator" -c "$DIR/cluster.yaml" >>"$DIR/$name.log" 2>&1 &
	else
		env $env "$B/twopc-participant" -c "$DIR/cluster.yaml" -n "$name" >>"$DIR/$name.log" 2>&1 &
	fi
	PID[$name]=$!
	PIDS+=($!)
}
wait_for() { # wait_for FILE TEXT: until TEXT appears (at most 10 s)
	for _ in $(seq 1 1000); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.01; done
	echo "demo: timed out waiting for '$2' in $1" >&2; exit 1
}
balance() { "$B/twopc" -c "$DIR/cluster.yaml" get "$1" "$2" 2>/dev/null || echo "?"; }
balances() {
	local a b c
	a=$(balance alpha alice); b=$(balance beta bob); c=$(balance gamma carol)
	printf '  alice@alpha=%-5s bob@beta=%-5s carol@gamma=%-5s total=%s\n' "$a" "$b" "$c" $((a + b + c))
}

say "A test CA and one certificate per node (tests/mkcerts.sh)"
printf '$ tests/mkcerts.sh cluster.yaml tls\n'
bash "$(dirname "$0")/mkcerts.sh" "$DIR/cluster.yaml" "$DIR/tls" | sed 's/^/  /'

say "Starting a coordinator and three participants on loopback, mutual TLS (data in $DIR)"
for n in alpha beta gamma coord; do start $n; done
for n in alpha beta gamma coord; do wait_for "$DIR/$n.log" "serving on"; done
grep -h "serving on" "$DIR"/*.log | sed 's/^/  /'

say "Seeding three bank accounts, one per participant, in one transaction"
run commit alpha:put:alice=500 beta:put:bob=300 gamma:put:carol=200
balances

say "Transfers that commit: each is one transaction across two stores"
run commit alpha:add:alice=-100 beta:add:bob=100
run commit beta:add:bob=-50 gamma:add:carol=50
balances

say "A transfer that aborts: alice cannot pay 10000 (the add would go negative)"
run commit alpha:add:alice=-10000 gamma:add:carol=10000
balances

say "A transfer that aborts because a participant is down: gamma is killed"
kill -9 "${PID[gamma]}"; wait "${PID[gamma]}" 2>/dev/null
run commit gamma:add:carol=-20 alpha:add:alice=20
start gamma; wait_for "$DIR/gamma.log" "serving on"
echo "  gamma restarted"
balances

say "The coordinator is killed (SIGKILL) mid-run, right after it forced COMMIT"
kill "${PID[coord]}"; wait "${PID[coord]}" 2>/dev/null
start coord TWOPC_PAUSE_AT=coordinator.after_decision_logged
wait_for "$DIR/coord.log" "epoch 2"
"$B/twopc" -c "$DIR/cluster.yaml" commit --timeout 5000 --txid demo-crash alpha:add:alice=-30 beta:add:bob=30 >"$DIR/driver.out" 2>&1 &
DRV=$!
wait_for "$DIR/coord.log" "PAUSED at coordinator.after_decision_logged"
echo "  the coordinator has forced COMMIT for demo-crash but sent no GLOBAL_COMMIT yet:"
run status demo-crash
kill -9 "${PID[coord]}"; wait "${PID[coord]}" 2>/dev/null
echo "  coordinator killed with SIGKILL; the client could not learn the outcome:"
wait $DRV; rc=$?; echo "  $(head -1 "$DIR/driver.out") (exit $rc)"
start coord; wait_for "$DIR/coord.log" "epoch 3"
echo "  coordinator restarted: it resends GLOBAL_COMMIT from its log"
for _ in $(seq 1 500); do
	st=$("$B/twopc" -c "$DIR/cluster.yaml" status --json demo-crash 2>/dev/null)
	case $st in *'"node":"coord","role":"coordinator","state":"END"'*) break;; esac
	sleep 0.01
done
run status demo-crash
echo "  the client retries with the same txid: it learns the outcome, nothing runs twice"
run commit --txid demo-crash alpha:add:alice=-30 beta:add:bob=30
balances

say "An operator starts the coordinator a second time by mistake: refused"
printf '$ twopc-coordinator -c cluster.yaml\n'
"$B/twopc-coordinator" -c "$DIR/cluster.yaml" 2>&1 | sed -e 's/^[0-9][^ ]* //' -e "s|$DIR/||g"
printf '  (exit %d)\n' "${PIPESTATUS[0]}"
echo "  it read nothing: the running coordinator holds the log (flock), and keeps serving"
run commit alpha:add:alice=-1 beta:add:bob=1

say "Nothing is left in doubt"
run list --in-doubt

say "Balances: the total never changed"
balances
total=$(( $(balance alpha alice) + $(balance beta bob) + $(balance gamma carol) ))
if [ "$total" -eq 1000 ]; then echo "  total is 1000 before and after: money was neither created nor lost"; else echo "  TOTAL CHANGED: $total"; exit 1; fi

say "Stopping every process (SIGTERM)"
for n in coord alpha beta gamma; do kill "${PID[$n]}" 2>/dev/null; done
wait 2>/dev/null
PIDS=()
echo "  done; the logs are SQLite files: sqlite3 coord.db 'SELECT * FROM txn' shows every decision"
