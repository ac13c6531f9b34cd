#!/usr/bin/env bash
# tests/library.sh BUILD_DIR - libtwopc-participant as an installed C library.
#
# Installs the already-built tree into a temporary DESTDIR (PREFIX=/usr),
# then, using only what was installed:
#   - checks the files, the .pc files and the shared libraries (exported
#     symbols are twopc_ only and cover every TWOPC_API of the headers;
#     sonames), and that the man pages name every public function;
#   - builds participant/examples/ledger.c, minimal.c and transfer.c with the flags
#     pkg-config gives for the installed .pc (PKG_CONFIG_SYSROOT_DIR);
#   - runs minimal.c as a participant of a local cluster and commits with
#     `twopc commit`, reads back with `twopc get`;
#   - runs ledger.c in a cluster, crashes it inside its commit callback and
#     checks that commit is called again after the restart;
#   - checks that a program on the installed libtwopc-participant.so
#     ignores TWOPC_CRASH_AT, TWOPC_PAUSE_AT and TWOPC_FAULT_VFS (the
#     library never reads the environment for its test hooks);
#   - runs twopc-crashtest matrix and random with the ledger as every
#     participant, expecting no violation. The harness arms crash points
#     through the environment, so for these runs the ledger is linked with
#     the installed static libtwopc-participant.a and the build tree's test
#     hooks (tests/hookctor.o, libtwopc-testhook.a; never installed).
# Prints one line per case and "library: N passed, M failed"; exit 1 if any
# case failed, 2 if it could not run. Every wait is bounded.
#
# Note: `make install PREFIX=/usr` regenerates BUILD_DIR/*.pc with that
# prefix; the next plain `make` puts the default back.
set -e
set -u
set -o pipefail

B=${1:?usage: tests/library.sh BUILD_DIR}
B=$(cd "$B" && pwd)
SRC=$(cd "$(dirname "$0")/.." && pwd)
T=$(mktemp -d /tmp/twopc-library-XXXXXX)
ROOT=$T/root
PASS=0
FAIL=0
# Ports below 32768 (never an ephemeral port on Linux), from our pid.
BASE=$((20000 + ($$ % 1200) * 10))

cleanup() { # signal only our own children that are still running (jobs -pr)
	local p i
	for p in $(jobs -pr); do kill -TERM "$p" 2>/dev/null || true; done
	for ((i = 0; i < 200 && $(jobs -pr | wc -l) > 0; i++)); do sleep 0.05; done
	for p in $(jobs -pr); do kill -KILL "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	if [ -z "${TWOPC_KEEP:-}" ]; then rm -rf "$T"; else echo "library: kept $T"; fi
}
trap cleanup EXIT

ok() { PASS=$((PASS + 1)); printf 'ok     %s\n' "$1"; }
bad() { FAIL=$((FAIL + 1)); printf 'FAILED %s\n' "$1"; [ -z "${2:-}" ] || printf '       %s\n' "$2"; }
# check NAME COMMAND...: one case; the command's output goes to $T/NAME.out
check() {
	local name=$1 out
	shift
	out="$T/case-$(printf '%s' "$name" | tr -c 'A-Za-z0-9' '_').out"
	# On failure: the lines that say what went wrong, then the last ones.
	if "$@" >"$out" 2>&1; then ok "$name"; else bad "$name" "see $out: $({
		grep -E -m 3 "cannot|VIOLATION|still running|timed out|stacks of|not exited" "$out"
		tail -n 3 "$out"; } | tr '\n' ' ')"; fi
}

# wait_for FILE TEXT [SECONDS]: until TEXT appears in FILE (bounded).
wait_for() {
	local i n=$((${3:-10} * 20))
	for ((i = 0; i < n; i++)); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "timed out waiting for '$2' in $1" >&2
	return 1
}
# stacks PID: where a process that should have exited is (tests/stacks.sh).
stacks() { bash "$SRC/tests/stacks.sh" "$1" "$T/stacks-$1.txt"; }
# wait_exit PID [SECONDS]: until PID has exited (bounded); its status in $?.
wait_exit() {
	local i n=$((${2:-10} * 20))
	for ((i = 0; i < n; i++)); do
		kill -0 "$1" 2>/dev/null || { wait "$1"; return $?; }
		sleep 0.05
	done
	echo "pid $1 still running" >&2
	stacks "$1" >&2
	return 255
}

# ---- install ----
if ! make -C "$SRC" --no-print-directory BUILD="$B" DESTDIR="$ROOT" PREFIX=/usr install \
	>"$T/install.log" 2>&1; then
	tail -n 20 "$T/install.log"
	echo "library: cannot install into $ROOT"
	echo "library: 0 passed, 1 failed"
	exit 2
fi
LIB=$ROOT/usr/lib
export PKG_CONFIG_PATH=$LIB/pkgconfig
export PKG_CONFIG_SYSROOT_DIR=$ROOT
export LD_LIBRARY_PATH=$LIB
pc() { pkg-config "$@"; }
# the same, on one line without the trailing blank pkgconf prints
# shellcheck disable=SC2086
pcs() { local out; out=$(pkg-config "$@") || return 1; echo $out; }
# flags of a system package (no sysroot: it is not in the DESTDIR)
syspc() { env -u PKG_CONFIG_SYSROOT_DIR -u PKG_CONFIG_PATH pkg-config "$@"; }

installed_files() {
	local f
	for f in include/twopc/participant.h include/twopc/client.h include/twopc/error.h \
		lib/libtwopc-participant.so.0 lib/libtwopc-participant.so lib/libtwopc-participant.a \
		lib/libtwopc-client.so.0 lib/libtwopc-client.so lib/libtwopc-client.a \
		lib/pkgconfig/twopc-participant.pc lib/pkgconfig/twopc-client.pc \
		bin/twopc bin/twopc-coordinator bin/twopc-participant \
		share/man/man3/libtwopc-participant.3 share/man/man3/libtwopc-client.3; do
		[ -e "$ROOT/usr/$f" ] || { echo "missing /usr/$f"; return 1; }
	done
}
check "install: headers, libraries, .pc files, binaries, man pages" installed_files

pc_files() {
	local m v
	for m in twopc-participant twopc-client; do
		# the installed .pc names the install prefix, not the build's default
		[ "$(env -u PKG_CONFIG_SYSROOT_DIR pkg-config --variable=prefix $m)" = /usr ] ||
			{ echo "$m.pc: prefix is not /usr"; cat "$LIB/pkgconfig/$m.pc"; return 1; }
		[ "$(pcs --cflags $m)" = "-I$ROOT/usr/include" ] || { pc --cflags $m; return 1; }
		[ "$(pcs --libs $m)" = "-L$LIB -l$m" ] || { pc --libs $m; return 1; }
	done
	v=$(sed -n 's/^#define TWOPC_VERSION_STRING "\(.*\)"/\1/p' "$ROOT/usr/include/twopc/participant.h")
	[ "$(pc --modversion twopc-participant)" = "$v" ] || { echo "version $v"; return 1; }
	[ "$(pc --modversion twopc-client)" = "$v" ]
}
check "pkg-config: prefix /usr, flags into the install tree, version" pc_files

# The functions a header declares TWOPC_API, one a line.
api_of() {
	tr '\n' ' ' <"$1" | grep -o 'TWOPC_API[^;(]*(' | sed 's/ *($//; s/.*[ *]//' |
		grep '^twopc_' | sort -u
}

exports() { # LIB HEADER...: exported = twopc_ only, and every API function exported
	local so=$1 bad_syms missing
	shift
	bad_syms=$(nm -D --defined-only "$so" | awk '$2 ~ /^[TDBRVWiu]$/ && $3 !~ /^twopc_/ {print $3}')
	[ -z "$bad_syms" ] || { echo "exports beyond twopc_: $bad_syms"; return 1; }
	missing=$(for h in "$@"; do api_of "$h"; done | sort -u |
		comm -23 - <(nm -D --defined-only "$so" | awk '{print $3}' | sort -u))
	[ -z "$missing" ] || { echo "declared but not exported: $missing"; return 1; }
}
INC=$ROOT/usr/include/twopc
check "libtwopc-participant.so exports only twopc_, every TWOPC_API" \
	exports "$LIB/libtwopc-participant.so.0" "$INC/participant.h" "$INC/error.h"
check "libtwopc-client.so exports only twopc_, every TWOPC_API" \
	exports "$LIB/libtwopc-client.so.0" "$INC/client.h" "$INC/error.h"

sonames() {
	# (grep -q on a here-string: with pipefail, a pipe into grep -q fails
	# when grep exits before the writer is done)
	grep -q 'SONAME.*\[libtwopc-participant\.so\.0\]' <<<"$(readelf -d "$LIB/libtwopc-participant.so.0")" &&
		grep -q 'SONAME.*\[libtwopc-client\.so\.0\]' <<<"$(readelf -d "$LIB/libtwopc-client.so.0")" &&
		[ "$(readlink "$LIB/libtwopc-participant.so")" = libtwopc-participant.so.0 ] &&
		[ "$(readlink "$LIB/libtwopc-client.so")" = libtwopc-client.so.0 ]
}
check "sonames libtwopc-participant.so.0, libtwopc-client.so.0" sonames

man_covers() { # every API function and type is in the man pages
	local f n missing=""
	for f in $(api_of "$INC/participant.h") $(api_of "$INC/error.h"); do
		grep -q "^\.F[no] $f\b" "$SRC/man/libtwopc-participant.3" || missing="$missing $f"
	done
	for f in $(api_of "$INC/client.h"); do
		grep -q "^\.F[no] $f\b" "$SRC/man/libtwopc-client.3" || missing="$missing $f"
	done
	# shellcheck disable=SC2013
	for n in $(grep -ho 'typedef [a-z]* *[a-z_]* *{\?' "$INC/participant.h" "$INC/error.h" |
		awk '{print $3}' | grep '^twopc_' | sort -u); do
		grep -q "$n" "$SRC/man/libtwopc-participant.3" || missing="$missing $n"
	done
	# shellcheck disable=SC2013
	for n in $(grep -ho 'typedef [a-z]* *[a-z_]* *{\?' "$INC/client.h" |
		awk '{print $3}' | grep '^twopc_' | sort -u); do
		grep -q "$n" "$SRC/man/libtwopc-client.3" || missing="$missing $n"
	done
	[ -z "$missing" ] || { echo "not in the man pages:$missing"; return 1; }
	if command -v mandoc >/dev/null; then
		out=$(mandoc -T lint -W warning "$SRC/man/libtwopc-participant.3" "$SRC/man/libtwopc-client.3" 2>&1)
		[ -z "$out" ] || { echo "$out"; return 1; }
	fi
}
check "man pages: every public function and type, mandoc -T lint clean" man_covers

man_example() { # PAGE FILE: the EXAMPLES program of PAGE is FILE, verbatim
	awk -v f="$(basename "$2")" '$0 ~ "^[.]Pq Pa participant/examples/" f {s = 1; next}
		s && /^[.]Bd -literal$/ {g = 1; next} g && /^[.]Ed$/ {exit} g {print}' "$1" |
		sed -e 's/^\\&//' -e 's/\\e/\\/g' | diff - "$2"
}
man_examples() {
	man_example "$SRC/man/libtwopc-participant.3" "$SRC/participant/examples/minimal.c" &&
		man_example "$SRC/man/libtwopc-client.3" "$SRC/participant/examples/transfer.c"
}
check "man pages: EXAMPLES are participant/examples/{minimal,transfer}.c verbatim" man_examples

# ---- build the examples from the install tree only ----
EX=$SRC/participant/examples
LEDGER=$T/bin/ledger
MINIMAL=$T/bin/minimal
mkdir -p "$T/bin"
# Sanitizer builds (make asan) pass their -fsanitize flags: an ASan library
# can only be loaded by a program whose own runtime comes first.
CFLAGS_EX="-std=c11 -Wall -Wextra -Werror -O2 ${TWOPC_EXAMPLE_CFLAGS:-}"
# shellcheck disable=SC2046,SC2086
check "build ledger.c with pkg-config twopc-participant only" \
	cc $CFLAGS_EX -o "$LEDGER" "$EX/ledger.c" $(pc --cflags --libs twopc-participant)
# shellcheck disable=SC2046,SC2086
check "build minimal.c with pkg-config twopc-participant (+ sqlite3)" \
	cc $CFLAGS_EX -o "$MINIMAL" "$EX/minimal.c" $(pc --cflags --libs twopc-participant) \
	$(syspc --cflags --libs sqlite3)
TRANSFER=$T/bin/transfer
transfer_build() { # the client example; with a missing file it says why, exit 2
	local rc=0
	# shellcheck disable=SC2046,SC2086
	cc $CFLAGS_EX -o "$TRANSFER" "$EX/transfer.c" $(pc --cflags --libs twopc-client) || return 1
	"$TRANSFER" "$T/nonexistent.yaml" alpha:a beta:b 1 || rc=$?
	[ "$rc" = 2 ]
}
check "build transfer.c with pkg-config twopc-client only" transfer_build
LEDGER_HOOKED=$T/bin/ledger-hooked
ledger_hooked_build() { # installed .a + the test hooks, for twopc-crashtest
	local libs
	libs=$(pc --static --libs-only-l twopc-participant | sed 's/-ltwopc-participant//') || return 1
	# shellcheck disable=SC2046,SC2086
	cc $CFLAGS_EX -o "$LEDGER_HOOKED" "$EX/ledger.c" $(pc --cflags twopc-participant) \
		"$B/obj/tests/hookctor.o" "$B/libtwopc-testhook.a" "$LIB/libtwopc-participant.a" $libs
}
check "build a test ledger: installed libtwopc-participant.a + the test hooks" ledger_hooked_build
resolved() { # the examples load the installed library, not the build tree's
	local f
	for f in "$LEDGER" "$MINIMAL"; do
		grep -q "libtwopc-participant.so.0 => $LIB/libtwopc-participant.so.0" <<<"$(ldd "$f")" ||
			{ ldd "$f"; return 1; }
	done
	grep -q "libtwopc-client.so.0 => $LIB/libtwopc-client.so.0" <<<"$(ldd "$TRANSFER")" ||
		{ ldd "$TRANSFER"; return 1; }
}
check "the examples load the libraries of the install tree" resolved

if [ ! -x "$LEDGER" ] || [ ! -x "$MINIMAL" ]; then
	echo "library: $PASS passed, $((FAIL + 1)) failed (examples not built)"
	exit 1
fi

# ---- a local cluster: coordinator, one example participant, one twopc-participant ----
BIN=$ROOT/usr/bin
cluster() { # DIR PORT0: cluster file for coord, alpha, beta on PORT0..PORT0+2
	mkdir -p "$1"
	cat >"$1/cluster.yaml" <<EOF
insecure: true
coordinator:
  name: coord
  listen: tcp://127.0.0.1:$2
  log: coord.db
  vote_timeout_ms: 1000
participants:
  - name: alpha
    listen: tcp://127.0.0.1:$(($2 + 1))
    log: alpha.db
  - name: beta
    listen: tcp://127.0.0.1:$(($2 + 2))
    log: beta.db
timeouts:
  decision_timeout_ms: 300
  ack_retry_ms: 200
durability: full
EOF
}
# start NAME LOG CMD...: run in the background, remember the pid in PID[NAME]
declare -A PID
start() {
	local name=$1 log=$2
	shift 2
	"$@" >>"$log" 2>&1 &
	PID[$name]=$!
}
twopc() { "$BIN/twopc" -c "$C/cluster.yaml" "$@"; }
stop_cluster() { # SIGTERM coord, alpha, beta; reap them (bounded), SIGKILL if needed
	local n
	for n in coord alpha beta; do kill -TERM "${PID[$n]}" 2>/dev/null || true; done
	for n in coord alpha beta; do
		local rc=0
		wait_exit "${PID[$n]}" 10 >/dev/null 2>&1 || rc=$?
		# 255: still running after 10 s (any other status: it has exited)
		[ "$rc" != 255 ] || kill -KILL "${PID[$n]}" 2>/dev/null || true
	done
}

C=$T/minimal
cluster "$C" "$BASE"
start coord "$C/coord.log" "$BIN/twopc-coordinator" -c "$C/cluster.yaml"
start alpha "$C/alpha.log" "$MINIMAL" -c "$C/cluster.yaml" -n alpha
start beta "$C/beta.log" "$BIN/twopc-participant" -c "$C/cluster.yaml" -n beta
minimal_up() {
	wait_for "$C/alpha.log" "minimal: alpha serving" && wait_for "$C/beta.log" "serving on" &&
		wait_for "$C/coord.log" "serving on"
}
check "minimal example joins the cluster" minimal_up

check "twopc commit to the minimal example: exit 0" \
	twopc commit --txid lib-m1 alpha:put:greeting=hello beta:put:greeting=world
minimal_get() {
	[ "$(twopc get alpha greeting)" = hello ] && [ "$(twopc get beta greeting)" = world ]
}
check "twopc get reads it back from the minimal example" minimal_get
minimal_abort() { # minimal votes ABORT on anything but put/del
	local rc=0
	twopc commit --txid lib-m2 alpha:add:n=1 beta:put:greeting=changed || rc=$?
	[ "$rc" = 1 ] && [ "$(twopc get beta greeting)" = world ] &&
		[ "$(twopc get alpha greeting)" = hello ]
}
check "an op the minimal example refuses aborts everywhere: exit 1" minimal_abort
minimal_del_restart() { # del, then SIGTERM, exit 0, restart: data is durable
	local rc=0
	twopc commit --txid lib-m3 alpha:del:greeting alpha:put:kept=yes beta:del:greeting || return 1
	twopc get alpha greeting || rc=$?
	[ "$rc" = 1 ] || return 1
	kill -TERM "${PID[alpha]}"
	wait_exit "${PID[alpha]}" || return 1
	start alpha "$C/alpha-2.log" "$MINIMAL" -c "$C/cluster.yaml" -n alpha
	wait_for "$C/alpha-2.log" "minimal: alpha serving" 10 || return 1
	[ "$(twopc get alpha kept)" = yes ]
}
check "del, SIGTERM (exit 0), restart: the minimal example's data survives" minimal_del_restart
minimal_ignores_hooks() {
	# Every variable names a step this commit passes at alpha (READY
	# forced, vote sent, COMMIT applied; the first fsync). Armed, each
	# would end, stop or fail the process; the library must not read them.
	kill -TERM "${PID[alpha]}"
	wait_exit "${PID[alpha]}" || return 1
	start alpha "$C/alpha-3.log" env TWOPC_CRASH_AT=participant.after_ready_logged \
		TWOPC_PAUSE_AT=participant.after_vote_sent TWOPC_FAULT_VFS=ioerror:sync:1 \
		"$MINIMAL" -c "$C/cluster.yaml" -n alpha
	wait_for "$C/alpha-3.log" "minimal: alpha serving" 10 || return 1
	twopc commit --timeout 10000 --txid lib-m4 alpha:put:hooks=ignored beta:put:hooks=ignored ||
		return 1
	[ "$(twopc get alpha hooks)" = ignored ] || return 1
	kill -0 "${PID[alpha]}" || { echo "alpha exited"; return 1; }
	! grep -E "CRASH at|PAUSED at|FAULT:|TWOPC_" "$C/alpha-3.log"
}
check "a program on the installed .so ignores TWOPC_CRASH_AT, TWOPC_PAUSE_AT, TWOPC_FAULT_VFS" \
	minimal_ignores_hooks
stop_cluster

# ---- the ledger: commit called again after a crash inside it ----
C=$T/ledger
cluster "$C" $((BASE + 5))
start coord "$C/coord.log" "$BIN/twopc-coordinator" -c "$C/cluster.yaml"
start alpha "$C/alpha.log" env LEDGER_CRASH_IN_COMMIT=2 "$LEDGER" -c "$C/cluster.yaml" -n alpha
start beta "$C/beta.log" "$LEDGER" -c "$C/cluster.yaml" -n beta
counter() { # NODE NAME: the count of callback NAME at NODE
	sed -n "s/^$2 //p" "$C/$1.ledger/.counters" 2>/dev/null || echo 0
}
ledger_up() {
	wait_for "$C/alpha.log" "serving on" && wait_for "$C/beta.log" "serving on" &&
		wait_for "$C/coord.log" "serving on" &&
		[ -d "$C/alpha.ledger" ] && [ -d "$C/beta.ledger" ]
}
check "ledger example joins the cluster (accounts next to the cluster file)" ledger_up
ledger_seed() {
	twopc commit --txid lib-l1 alpha:put:acct0=100 beta:put:acct0=100 &&
		[ "$(cat "$C/alpha.ledger/acct0")" = 100 ] && [ "$(twopc get beta acct0)" = 100 ] &&
		[ "$(counter alpha prepare)" = 1 ] && [ "$(counter alpha commit)" = 1 ]
}
check "ledger: put, files written, read through twopc get" ledger_seed
ledger_crash() {
	local rc=0
	# alpha dies in its 2nd commit call, after renaming its files into
	# place and before the library forces COMMIT
	twopc commit --txid lib-l2 alpha:add:acct0=-30 beta:add:acct0=30 || rc=$?
	[ "$rc" = 0 ] || { echo "commit exit $rc"; return 1; }
	rc=0
	wait_exit "${PID[alpha]}" 10 || rc=$?
	[ "$rc" = 86 ] || { echo "alpha exit $rc, not 86"; return 1; }
	grep -q "CRASH in ledger commit" "$C/alpha.log" || return 1
	[ "$(counter alpha commit)" = 2 ] || return 1
	# restarted, alpha is READY: it asks, learns COMMIT, commits again
	start alpha "$C/alpha.log" "$LEDGER" -c "$C/cluster.yaml" -n alpha
	local i
	for ((i = 0; i < 200; i++)); do
		[ "$(counter alpha commit)" = 3 ] && break
		sleep 0.05
	done
	[ "$(counter alpha commit)" = 3 ] || { echo "commit count $(counter alpha commit)"; return 1; }
	[ "$(twopc get alpha acct0)" = 70 ] && [ "$(twopc get beta acct0)" = 130 ]
}
check "ledger: crash inside commit, restart: commit called again, applied once" ledger_crash
ledger_abort() {
	local rc=0 before
	before=$(counter beta abort)
	twopc commit --txid lib-l3 alpha:add:acct0=-1000 beta:add:acct0=1000 || rc=$?
	[ "$rc" = 1 ] || { echo "commit exit $rc"; return 1; }
	[ "$(twopc get alpha acct0)" = 70 ] && [ "$(twopc get beta acct0)" = 130 ] || return 1
	# beta voted COMMIT and heard GLOBAL_ABORT: its abort callback ran
	local i
	for ((i = 0; i < 100; i++)); do
		[ "$(counter beta abort)" -gt "$before" ] && break
		sleep 0.05
	done
	[ "$(counter beta abort)" -gt "$before" ] || return 1
	[ -z "$(find "$C/alpha.ledger" "$C/beta.ledger" -name '*.tmp')" ]
}
check "ledger: overdraft aborts everywhere, abort called, no temp files" ledger_abort
transfer_run() {
	"$TRANSFER" "$C/cluster.yaml" alpha:acct0 beta:acct0 20 &&
		[ "$(twopc get alpha acct0)" = 50 ] && [ "$(twopc get beta acct0)" = 150 ] || return 1
	local rc=0
	"$TRANSFER" "$C/cluster.yaml" alpha:acct0 beta:acct0 51 || rc=$?
	[ "$rc" = 1 ] && [ "$(twopc get alpha acct0)" = 50 ]
}
check "transfer example against the ledger: commit exit 0, overdraft exit 1" transfer_run
ledger_one_phase_crash() {
	# A transaction at alpha alone is a one-phase commit. The ledger does
	# not declare atomic commit, so READY (alpha's own decision) is forced
	# before commit runs; alpha dies inside that commit, before COMMIT is
	# recorded and before its vote leaves.
	local n rc=0
	n=$(($(counter alpha commit) + 1))
	kill -TERM "${PID[alpha]}" && wait_exit "${PID[alpha]}" 10 || return 1
	# a log of its own: alpha.log already holds an earlier "serving on"
	start alpha "$C/alpha-op.log" env LEDGER_CRASH_IN_COMMIT=$n "$LEDGER" -c "$C/cluster.yaml" -n alpha
	wait_for "$C/alpha-op.log" "serving on" || return 1
	twopc commit --timeout 10000 --txid lib-l4 alpha:add:acct0=-5 alpha:put:acct9=5 || rc=$?
	# no vote, no answer to the coordinator's question: outcome unknown
	[ "$rc" = 3 ] || { echo "commit exit $rc, not 3"; return 1; }
	rc=0
	wait_exit "${PID[alpha]}" 10 || rc=$?
	[ "$rc" = 86 ] || { echo "alpha exit $rc, not 86"; return 1; }
	# restarted, alpha finds its solo READY, commits it itself (commit is
	# called again); the coordinator asks it and records END
	start alpha "$C/alpha.log" "$LEDGER" -c "$C/cluster.yaml" -n alpha
	local i out
	for ((i = 0; i < 200; i++)); do
		out=$(twopc status --json lib-l4 2>/dev/null)
		case $out in *'"role":"coordinator","state":"END"'*) break ;; esac
		sleep 0.05
	done
	case $out in *'"role":"coordinator","state":"END"'*) ;; *) echo "status: $out"; return 1 ;; esac
	[ "$(counter alpha commit)" = $((n + 1)) ] || { echo "commit count $(counter alpha commit)"; return 1; }
	[ "$(twopc get alpha acct0)" = 45 ] && [ "$(twopc get alpha acct9)" = 5 ] || return 1
	# the client's retry learns COMMITTED; nothing runs twice
	twopc commit --txid lib-l4 alpha:add:acct0=-5 alpha:put:acct9=5 &&
		[ "$(twopc get alpha acct0)" = 45 ]
}
check "ledger: one-phase, crash inside commit after READY: recovered, COMMIT learned, not run twice" \
	ledger_one_phase_crash
stop_cluster

# ---- the crash harness with the ledger as every participant ----
check "twopc-crashtest matrix with the ledger: no violation" \
	"$B/twopc-crashtest" --build "$B" --participant-cmd "$LEDGER_HOOKED" matrix
check "twopc-crashtest random --cycles 30 with the ledger: no violation" \
	"$B/twopc-crashtest" --build "$B" --participant-cmd "$LEDGER_HOOKED" random --cycles 30

echo "library: $PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
