#!/usr/bin/env bash
# tests/systemd-boot.sh [--debs DIR] [--keep] - the Debian packages installed
# and run by a real systemd, without touching the machine's root file system.
#
# Proves, end to end:
#   - `dpkg-buildpackage -us -uc -b` builds twopc, libtwopc0 and libtwopc-dev
#     (from a copy of the tree, so the tree and its parent folder get no
#     build output); --debs DIR uses the .debs already in DIR instead;
#   - systemd (/lib/systemd/systemd) boots as PID 1 of private namespaces
#     (mount, PID, network with its own loopback, UTS, IPC, cgroup) on an
#     overlay whose lower layer is / and whose upper layer is a scratch
#     folder: every write, dpkg's included, lands in the scratch folder;
#   - `dpkg -i` of the three packages succeeds under that systemd and
#     creates the system user twopc; `systemd-analyze verify` passes on the
#     installed units;
#   - with /etc/twopc/cluster.yaml for a coordinator and two participants
#     (mutual TLS, tests/mkcerts.sh), `systemctl start` of
#     twopc-participant@alpha, twopc-participant@beta and twopc-coordinator
#     returns and each is active (Type=notify: READY=1 arrived), runs as
#     twopc with no capability, no new privileges and a seccomp filter, sees
#     / read-only and /var/lib/twopc writable (ProtectSystem=strict,
#     StateDirectory=), has WatchdogUSec=30s and keeps pinging;
#   - `twopc commit` and `twopc get` work through them, and /healthz answers;
#   - SIGKILL of the coordinator's main process: Restart=on-failure brings
#     it back (NRestarts=1) and the next commit works;
#   - a participant frozen with SIGSTOP stops pinging: systemd's watchdog
#     kills it after WatchdogSec and restarts it (Result=watchdog);
#   - `systemctl stop` ends all three cleanly (inactive, Result=success),
#     and the machine itself has no twopc package, user or /etc/twopc.
# Also prints `systemd-analyze security`'s exposure of both units.
#
# Needs: root, systemd (/lib/systemd/systemd, systemctl), util-linux's
# unshare and nsenter, overlayfs with / as a lower layer, a cgroup2
# hierarchy, iproute2, openssl; dpkg-buildpackage and debhelper unless
# --debs is given. Exit 0 when every check passed, 1 when one failed, 77
# (skipped, with the reason) when it cannot run here. Takes about three
# minutes (the watchdog case alone waits WatchdogSec).
#
# Nothing outside the namespaces changes: systemd's writes to global
# sysctls are refused (/proc/sys is read-only inside, as container managers
# do), the daemons' ports are in the private network namespace, and every
# process is in one cgroup made for the run. Whatever way the script ends,
# systemd is powered off (or its namespace killed), the cgroup removed and
# the scratch folder deleted (--keep leaves the folder for inspection).
set -e
set -u
set -o pipefail
umask 022

SELF=$(readlink -f "$0")
SRC=$(cd "$(dirname "$SELF")/.." && pwd)
SYSTEMD=/lib/systemd/systemd
UNITS=(twopc-participant@alpha twopc-participant@beta twopc-coordinator)
TARGET=twopc-check.target

# ---- inside the namespaces (the script runs itself as their first process) ----

# Mounts the overlay root and the API file systems, pivots into it and
# becomes systemd. Runs as PID 1 of the new PID namespace.
ns_init() {
	local s=$1 r=$1/root d
	mount --make-rprivate /
	mount -t overlay twopc-check -o "lowerdir=/,upperdir=$s/upper,workdir=$s/work" "$r"
	mount -t proc -o nosuid,nodev,noexec proc "$r/proc"
	# Global kernel settings stay out of reach (systemd bumps fs.file-max
	# when it boots).
	for d in sys sysrq-trigger; do
		[ -e "$r/proc/$d" ] || continue
		mount --bind "$r/proc/$d" "$r/proc/$d"
		mount -o remount,bind,ro "$r/proc/$d"
	done
	mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$r/sys"
	mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 "$r/sys/fs/cgroup"
	mount -t tmpfs -o mode=755,nosuid tmpfs "$r/dev"
	for d in null:1:3 zero:1:5 full:1:7 random:1:8 urandom:1:9 tty:5:0; do
		IFS=: read -r n maj min <<<"$d"
		mknod -m 666 "$r/dev/$n" c "$maj" "$min"
	done
	mkdir "$r/dev/pts" "$r/dev/shm"
	mount -t devpts -o newinstance,ptmxmode=0666,mode=620 devpts "$r/dev/pts"
	ln -s pts/ptmx "$r/dev/ptmx"
	ln -s /proc/self/fd "$r/dev/fd"
	mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$r/dev/shm"
	mount -t tmpfs -o mode=755,nosuid,nodev tmpfs "$r/run"
	mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$r/tmp"
	ip link set lo up
	cd "$r"
	mkdir -p .oldroot
	pivot_root . .oldroot
	cd /
	umount -l /.oldroot
	rmdir /.oldroot
	exec "$SYSTEMD" --system --unit="$TARGET" --log-target=journal --show-status=no
}

if [ "${1:-}" = --ns-init ]; then
	ns_init "$2"
fi

# ---- outside ----

DEBS=
KEEP=0
while [ $# -gt 0 ]; do
	case $1 in
	--debs) DEBS=$(cd "${2:?--debs needs a folder}" && pwd); shift 2 ;;
	--keep) KEEP=1; shift ;;
	*) echo "usage: $0 [--debs DIR] [--keep]" >&2; exit 2 ;;
	esac
done

PASS=0
FAIL=0
S=
UPID=
INIT=
CG=

step() { printf '== %s\n' "$*"; }
ok() { PASS=$((PASS + 1)); printf '  ok    %s\n' "$*"; }
bad() { FAIL=$((FAIL + 1)); printf '  FAIL  %s\n' "$*"; }
skip() {
	echo "systemd-boot: SKIP: $*"
	exit 77
}
# A check: DESCRIPTION then the command; its output is shown on failure.
# Status 0 or 1.
check() {
	local what=$1 out
	shift
	if out=$("$@" 2>&1); then
		ok "$what"
		return 0
	fi
	bad "$what"
	printf '%s\n' "$out" | sed 's/^/        /' | tail -n 30
	return 1
}
# A step that the rest depends on: on failure, FAIL and stop.
must() {
	check "$@" || exit 1
}

# Runs a command inside the namespaces, once systemd is their PID 1 (before
# that, the mount namespace's root could still be the machine's own).
in_ns() {
	if [ -z "$INIT" ] || [ "$(cat "/proc/$INIT/comm" 2>/dev/null)" != systemd ]; then
		echo "in_ns: systemd is not running in the namespace" >&2
		return 1
	fi
	nsenter --target "$INIT" --mount --uts --ipc --net --pid --cgroup --root --wd -- "$@"
}

# Polls CMD every 0.2 s until it succeeds or SECONDS pass.
wait_for() {
	local secs=$1 end
	shift
	end=$((SECONDS + secs))
	until "$@" >/dev/null 2>&1; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.2
	done
}

alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if alive "$UPID"; then
		# SIGRTMIN+4: systemd's poweroff; in a PID namespace its final
		# reboot(2) ends only the namespace.
		local t0=$SECONDS
		if alive "$INIT"; then
			kill -s SIGRTMIN+4 "$INIT" 2>/dev/null || true
		fi
		for _ in $(seq 1 150); do alive "$UPID" || break; sleep 0.2; done
		if alive "$UPID"; then
			echo "== teardown: systemd did not power off in 30 s: killing its namespace" >&2
			kill -KILL "$INIT" 2>/dev/null || true
		else
			echo "== teardown: systemd powered off in $((SECONDS - t0)) s"
		fi
		wait "$UPID" 2>/dev/null || true
	fi
	if [ -n "$CG" ] && [ -d "$CG" ]; then
		for _ in $(seq 1 50); do
			find "$CG" -depth -type d -exec rmdir {} + 2>/dev/null || true
			[ -d "$CG" ] || break
			sleep 0.2
		done
		[ -d "$CG" ] && echo "cgroup $CG left behind" >&2
	fi
	if [ -n "$S" ] && [ -d "$S" ]; then
		if [ "$KEEP" = 1 ]; then
			echo "scratch folder kept: $S"
		elif alive "$UPID"; then
			echo "namespace still alive: scratch folder $S kept" >&2
		else
			rm -rf "$S"
		fi
	fi
	if [ "$rc" = 77 ]; then
		exit 77
	elif [ "$rc" = 0 ] && [ "$FAIL" = 0 ] && [ "$PASS" -gt 0 ]; then
		echo "systemd-boot: PASS ($PASS checks)"
		exit 0
	elif [ "$FAIL" -gt 0 ]; then
		echo "systemd-boot: FAIL ($FAIL of $((PASS + FAIL)) checks failed)"
		exit 1
	else
		echo "systemd-boot: FAIL (ended with exit status $rc after $PASS checks)"
		exit 1
	fi
}

# ---- can it run here? ----
[ "$(id -u)" = 0 ] || skip "needs root (namespaces, overlayfs, dpkg inside them)"
[ -x "$SYSTEMD" ] || skip "no systemd binary at $SYSTEMD"
for c in unshare nsenter systemctl ip openssl mknod pivot_root; do
	command -v "$c" >/dev/null || skip "no $c"
done
if [ -z "$DEBS" ]; then
	command -v dpkg-buildpackage >/dev/null || skip "no dpkg-buildpackage (apt-get install dpkg-dev debhelper, or give --debs DIR)"
fi
grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null || true
grep -qw overlay /proc/filesystems || skip "the kernel has no overlayfs"
CG2=$(findmnt -n -t cgroup2 -o TARGET | head -n 1)
[ -n "$CG2" ] || skip "no cgroup2 hierarchy mounted"

S=$(mktemp -d /tmp/twopc-systemd-XXXXXX)
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir "$S/upper" "$S/work" "$S/root" "$S/probe"

# The namespaces and the overlay, tried in a throwaway process first so
# that a refusal is a skip with the kernel's reason, not a failure.
if ! out=$(unshare --mount --propagation private --pid --fork --net --uts --ipc --cgroup -- \
	sh -c "mount -t overlay twopc-probe -o lowerdir=/,upperdir=$S/upper,workdir=$S/work $S/probe" 2>&1); then
	skip "namespaces or an overlay of / refused: $out"
fi
rm -rf "$S/work" && mkdir "$S/work"

# ---- packages ----
VERSION=$(sed -n 's/^VERSION *= *//p' "$SRC/Makefile")
step "packages"
if [ -z "$DEBS" ]; then
	DEBS=$S/debs
	mkdir -p "$DEBS" "$S/src/twopc-$VERSION"
	# The tree as git sees it (tracked and new files, nothing ignored), or
	# all of it but build/ outside a git checkout.
	if git -C "$SRC" rev-parse --git-dir >/dev/null 2>&1; then
		(cd "$SRC" && git ls-files -z --cached --others --exclude-standard |
			tar --null --ignore-failed-read -T - -cf - 2>/dev/null) | tar -xf - -C "$S/src/twopc-$VERSION"
	else
		(cd "$SRC" && tar --exclude=./build -cf - .) | tar -xf - -C "$S/src/twopc-$VERSION"
	fi
	t0=$SECONDS
	must "dpkg-buildpackage -us -uc -b (log $S/build.log while running)" \
		sh -c "cd '$S/src/twopc-$VERSION' && dpkg-buildpackage -us -uc -b >'$S/build.log' 2>&1"
	mv "$S"/src/*.deb "$DEBS/"
	echo "        built in $((SECONDS - t0)) s: $(cd "$DEBS" && echo ./*.deb | sed 's|\./||g')"
else
	ok "the .debs of $DEBS"
fi
mkdir -p "$S/upper/twopc-check"
for p in twopc libtwopc0 libtwopc-dev; do
	f=("$DEBS/${p}_${VERSION}_"*.deb)
	[ -f "${f[0]}" ] || { bad "no ${p}_${VERSION}_*.deb in $DEBS"; exit 1; }
	cp "${f[0]}" "$S/upper/twopc-check/"
done
cp "$SRC/tests/mkcerts.sh" "$S/upper/twopc-check/"

# What the overlay adds before boot: the target systemd boots into (only
# the journal besides it: no getty, no udev, nothing of the machine's own)
# and the cluster file.
mkdir -p "$S/upper/etc/systemd/system" "$S/upper/etc/twopc"
cat >"$S/upper/etc/systemd/system/$TARGET" <<'EOF'
[Unit]
Description=twopc package check
Wants=systemd-journald.socket
EOF
cat >"$S/upper/etc/twopc/cluster.yaml" <<'EOF'
# One coordinator and two participants on the namespace's own loopback.
tls:
  ca: tls/ca.crt
  dir: tls
coordinator:
  name: coord
  listen: tls+tcp://127.0.0.1:7400
  log: /var/lib/twopc/coord.db
  http: 127.0.0.1:9400
participants:
  - name: alpha
    listen: tls+tcp://127.0.0.1:7401
    log: /var/lib/twopc/alpha.db
  - name: beta
    listen: tls+tcp://127.0.0.1:7402
    log: /var/lib/twopc/beta.db
EOF

# What the machine has before: compared at the end.
host_before=$(dpkg-query -W -f='${Status}' twopc 2>/dev/null || true)/$(getent passwd twopc || true)/$(ls -d /etc/twopc 2>/dev/null || true)

# ---- boot ----
step "boot systemd as PID 1 of private namespaces (overlay $S)"
own=$(sed -n 's/^0:://p' /proc/self/cgroup)
CG=$CG2${own%/}/twopc-systemd-check-$$
mkdir "$CG"
(
	echo "$BASHPID" >"$CG/cgroup.procs"
	export container=twopc-check
	exec unshare --mount --propagation private --pid --fork --net --uts --ipc --cgroup -- \
		"$SELF" --ns-init "$S"
) >"$S/init.log" 2>&1 &
UPID=$!
init_pid() {
	INIT=$(awk '{print $1}' "/proc/$UPID/task/$UPID/children" 2>/dev/null)
	[ -n "$INIT" ] && [ "$(cat "/proc/$INIT/comm" 2>/dev/null)" = systemd ]
}
# Stops early when the namespace's first process has already ended.
init_or_gone() { init_pid || ! alive "$UPID"; }
if ! wait_for 20 init_or_gone || ! init_pid; then
	bad "systemd started in the namespace"
	sed 's/^/        /' "$S/init.log" | tail -n 20
	exit 1
fi
booted() { in_ns systemctl is-system-running | grep -qxE 'running|degraded'; }
if wait_for 60 booted; then
	ok "systemd $(in_ns systemctl --version | awk 'NR==1{print $2}') is PID 1 (host pid $INIT), state $(in_ns systemctl is-system-running)"
else
	bad "systemd reached $TARGET: $(in_ns systemctl is-system-running 2>&1)"
	in_ns systemctl --failed --no-pager 2>&1 | sed 's/^/        /'
	exit 1
fi

# ---- install ----
step "install the packages"
must "dpkg -i twopc libtwopc0 libtwopc-dev" in_ns env DEBIAN_FRONTEND=noninteractive \
	sh -c 'dpkg -i /twopc-check/*.deb'
check "the system user twopc exists" in_ns getent passwd twopc
must "systemd-analyze verify of the installed units" in_ns systemd-analyze verify \
	/usr/lib/systemd/system/twopc-coordinator.service /usr/lib/systemd/system/twopc-participant@.service
is_disabled() { [ "$(in_ns systemctl is-enabled "$1")" = disabled ]; }
check "twopc-coordinator.service known and disabled (installed, not enabled)" \
	is_disabled twopc-coordinator.service

# ---- configure and start ----
step "configure (mutual TLS) and start"
must "certificates and message keys (tests/mkcerts.sh)" in_ns sh -c '
	bash /twopc-check/mkcerts.sh /etc/twopc/cluster.yaml /etc/twopc/tls &&
	cd /etc/twopc/tls && chown twopc:twopc coord.* alpha.* beta.* && chgrp twopc . &&
	chmod 750 .'
check "twopc-coordinator --check-config (as root, before the first start)" in_ns \
	twopc-coordinator -c /etc/twopc/cluster.yaml --check-config
must "systemctl start ${UNITS[*]}" in_ns timeout 120 systemctl start "${UNITS[@]}"
for u in "${UNITS[@]}"; do
	check "$u is-active: $(in_ns systemctl is-active "$u" 2>&1)" in_ns systemctl is-active -q "$u"
done
prop() { in_ns systemctl show -p "$2" --value "$1"; }
for u in "${UNITS[@]}"; do
	show=$(in_ns systemctl show -p Type,WatchdogUSec,NRestarts,User,MainPID,StatusText "$u" | sort | tr '\n' ' ')
	echo "        $u: $show"
	check "$u: Type=notify, WatchdogUSec=30s, NRestarts=0, User=twopc, READY's STATUS= shown" \
		grep -q 'NRestarts=0 StatusText=[a-z].* Type=notify User=twopc WatchdogUSec=30s' <<<"$show"
done

step "sandbox of the running coordinator"
mp=$(prop twopc-coordinator MainPID)
status=$(in_ns cat "/proc/$mp/status")
# FIELD VALUE: the line of /proc/PID/status.
has() { grep -qE "^$1:[[:space:]]*$2\$" <<<"$status"; }
is_user() { [ "$(in_ns ps -o user= -p "$1")" = "$2" ]; }
check "runs as twopc" is_user "$mp" twopc
check "no capability (CapEff and CapBnd 0)" eval 'has CapEff "0+" && has CapBnd "0+"'
check "NoNewPrivs 1, Seccomp 2 (a filter)" eval 'has NoNewPrivs 1 && has Seccomp 2'
check "/usr and /etc read-only in its mount namespace (ProtectSystem=strict)" in_ns sh -c "
	! nsenter -t $mp -m touch /usr/twopc-probe 2>/dev/null && ! nsenter -t $mp -m touch /etc/twopc-probe 2>/dev/null"
check "/var/lib/twopc writable in it (StateDirectory=)" in_ns sh -c "
	nsenter -t $mp -m touch /var/lib/twopc/.probe && rm /var/lib/twopc/.probe"
check "its /tmp is private (PrivateTmp=)" in_ns sh -c "
	touch /tmp/twopc-outside && ! nsenter -t $mp -m test -e /tmp/twopc-outside"
for u in twopc-coordinator.service twopc-participant@alpha.service; do
	echo "        systemd-analyze security $u: $(in_ns systemd-analyze security --no-pager "$u" 2>/dev/null |
		sed -n 's/.*Overall exposure level for [^:]*: //p')"
done

step "watchdog pings"
w0=$(prop twopc-coordinator WatchdogTimestampMonotonic)
wd_moved() { [ "$(prop twopc-coordinator WatchdogTimestampMonotonic)" != "$w0" ]; }
check "WATCHDOG=1 arrives (WatchdogTimestamp moves within 20 s)" wait_for 20 wd_moved

# ---- use ----
TW=(twopc -c /etc/twopc/cluster.yaml)
step "transactions through the units"
out=$(in_ns "${TW[@]}" commit alpha:put:alice=100 beta:put:bob=7 2>&1) || true
echo "        twopc commit alpha:put:alice=100 beta:put:bob=7 -> $out"
check "commit COMMITTED" grep -q '^COMMITTED ' <<<"$out"
# PARTICIPANT KEY VALUE
get_is() { [ "$(in_ns "${TW[@]}" get "$1" "$2")" = "$3" ]; }
check "get alpha alice = 100" get_is alpha alice 100
check "get beta bob = 7" get_is beta bob 7
if in_ns sh -c 'command -v curl' >/dev/null 2>&1; then
	check "coordinator /healthz answers ok" in_ns curl -fsS --max-time 5 http://127.0.0.1:9400/healthz
fi

# ---- failures ----
step "kill -9 the coordinator's main process"
mp=$(prop twopc-coordinator MainPID)
in_ns kill -KILL "$mp"
restarted() {
	[ "$(prop twopc-coordinator ActiveState)" = active ] &&
		[ "$(prop twopc-coordinator NRestarts)" = 1 ] &&
		[ "$(prop twopc-coordinator MainPID)" != "$mp" ]
}
check "Restart=on-failure: active again with a new MainPID, NRestarts=1 (within 20 s)" wait_for 20 restarted
echo "        $(in_ns systemctl show -p ActiveState,MainPID,NRestarts twopc-coordinator | sort | tr '\n' ' ')"
out=$(in_ns "${TW[@]}" commit alpha:add:alice=-10 beta:add:bob=10 2>&1) || true
echo "        twopc commit alpha:add:alice=-10 beta:add:bob=10 -> $out"
check "commit after the restart COMMITTED" grep -q '^COMMITTED ' <<<"$out"

step "freeze participant beta (SIGSTOP): the watchdog must fire after 30 s"
mp=$(prop twopc-participant@beta MainPID)
in_ns kill -STOP "$mp"
t0=$SECONDS
bitten() {
	[ "$(prop twopc-participant@beta NRestarts)" = 1 ] &&
		[ "$(prop twopc-participant@beta ActiveState)" = active ]
}
check "watchdog timeout, then restarted and active (within 50 s)" wait_for 50 bitten
echo "        after $((SECONDS - t0)) s: $(in_ns journalctl -q --no-pager -u twopc-participant@beta.service |
	grep -m1 -o 'Watchdog timeout.*' || echo 'no watchdog line in the journal')"
wd_logged() { in_ns journalctl -q --no-pager -u twopc-participant@beta.service | grep -q 'Watchdog timeout'; }
check "the journal names the watchdog" wd_logged
out=$(in_ns "${TW[@]}" get beta bob 2>&1) || true
check "beta's data after the restart: bob = $out" test "$out" = 17

# ---- stop ----
step "stop"
check "systemctl stop ${UNITS[*]}" in_ns timeout 90 systemctl stop "${UNITS[@]}"
for u in "${UNITS[@]}"; do
	st=$(in_ns systemctl show -p ActiveState,Result "$u" | sort | tr '\n' ' ')
	check "$u: $st" test "$st" = "ActiveState=inactive Result=success "
done

step "the machine itself"
host_after=$(dpkg-query -W -f='${Status}' twopc 2>/dev/null || true)/$(getent passwd twopc || true)/$(ls -d /etc/twopc 2>/dev/null || true)
check "no twopc package, user or /etc/twopc appeared outside" test "$host_after" = "$host_before"
sysctl_ro() { in_ns findmnt -n -o OPTIONS /proc/sys | grep -q '^ro,'; }
check "global sysctls were out of systemd's reach (/proc/sys read-only inside)" sysctl_ro
