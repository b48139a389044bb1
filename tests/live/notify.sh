#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# bouncerd and its service manager: the notifications systemd's
# Type=notify reads (sd_notify(3)), received on a datagram socket of the
# test's own that NOTIFY_SOCKET names (tests/live/notify_socket.py). One
# namespace, the agent attached to a veth, one VIP.
#
#   ready      READY=1 comes once, with a STATUS= line, and the control
#              socket answers a request sent the moment it arrives; the
#              program is attached by then
#   reload     bouncerctl reload and SIGHUP: each RELOADING=1 with a
#              MONOTONIC_USEC taken during the reload, then READY=1
#   badreload  a broken config: bouncerctl reload (the unit's ExecReload)
#              exits 1 naming the line, RELOADING=1 and READY=1 still
#              pair up, STATUS= names the failure, the agent serves on
#   noinherit  workers do not inherit NOTIFY_SOCKET
#   stopping   SIGTERM: STOPPING=1, then the agent exits 0
#
# Run as root; needs build/bouncerd and build/bouncerctl. Prints
# "ok - NAME" / "not ok - NAME" per scenario; exit 77 when not root.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BOUNCERD=${BOUNCERD:-$ROOT/build/bouncerd}
BOUNCERCTL=${BOUNCERCTL:-$ROOT/build/bouncerctl}
PY=/usr/bin/python3

NS=bnc-nt-$$
PIN=/sys/fs/bpf/bnc-nt-$$
VIP=10.4.0.100

WORK=
FAILURES=0
SETUP_DONE=
# shellcheck source=tests/lib/live.sh
. "$ROOT/tests/lib/live.sh"

require_root notify
require_built "$BOUNCERD" "$BOUNCERCTL"
require_tools ip nsenter "$PY"

cleanup() {
	set +e
	trap '' PIPE
	if [[ -z $SETUP_DONE ]]; then
		echo "not ok - setup"
		[[ -n $WORK && -f $WORK/agent.log ]] && sed 's/^/# /' "$WORK/agent.log" >&2
	fi
	[[ -n $WORK && -f $WORK/agent.pid && ! -s $WORK/agent.rc ]] && kill -KILL "$(cat "$WORK/agent.pid")" 2>/dev/null
	[[ -n $WORK && -f $WORK/listener.pid ]] && kill "$(cat "$WORK/listener.pid")" 2>/dev/null
	netns_destroy "$NS"
	[[ -d $PIN ]] && rm -rf "$PIN"
	[[ -n $WORK ]] && rm -rf "$WORK"
}
trap cleanup EXIT
trap "exit 1" INT TERM HUP PIPE

ctl() { in_ns "$NS" timeout 10 "$BOUNCERCTL" -s "$WORK/ctl.sock" "$@"; }

# write_config WEIGHT: a valid config; the weight gives a reload something
# to change. The worker writes down the environment it inherited, then
# sleeps (it never listens: it need not serve).
write_config() {
	cat >"$WORK/bouncer.conf" <<EOF2
interfaces = [ "vn0" ];
pin_dir = "$PIN/lb";
control_socket = "$WORK/ctl.sock";
flow_table_size = 65536;
vips = (
  { name = "web"; address = "$VIP"; port = 80;
    check = { type = "none"; };
    backends = ( { address = "10.4.0.11"; port = 80; weight = $1; } );
    workers = { command = [ "/bin/sh", "-c", "env >$WORK/worker.env; exec sleep 600" ];
                count = 1; port_base = 8000; }; }
);
EOF2
}

# The messages received so far, one per line, without their timestamps.
messages() { cut -d' ' -f2- "$WORK/notify.log"; }
# count TEXT: messages holding TEXT.
count() { grep -cF -- "$1" "$WORK/notify.log" || true; }
has_count() { [[ $(count "$1") -eq $2 ]]; }


setup() {
	WORK=$(mktemp -d /tmp/bnc-notify.XXXXXX)
	mkdir -p "$PIN"
	ip netns add "$NS"
	ip -n "$NS" link add vn0 type veth peer name vn1
	ip -n "$NS" link set lo up
	ip -n "$NS" link set vn0 up
	ip -n "$NS" link set vn1 up
	ip -n "$NS" addr add 10.4.0.2/24 dev vn0
	write_config 1
	"$PY" "$ROOT/tests/live/notify_socket.py" "$WORK/notify.sock" "$WORK/ctl.sock" \
		>"$WORK/notify.log" 2>&1 </dev/null &
	echo $! >"$WORK/listener.pid"
	wait_for 30 grep -q '^listening' "$WORK/notify.log"
	# In a subshell that keeps the agent's exit status, for stopping.
	(
		NOTIFY_SOCKET=$WORK/notify.sock nsenter --net="/run/netns/$NS" -- \
			"$BOUNCERD" -c "$WORK/bouncer.conf" -S "$WORK/state" \
			>>"$WORK/agent.log" 2>&1 </dev/null &
		echo $! >"$WORK/agent.pid"
		rc=0
		wait $! || rc=$?
		echo "$rc" >"$WORK/agent.rc"
	) &
	wait_for 10 test -s "$WORK/agent.pid"
	wait_for 60 grep -q '^probe' "$WORK/notify.log"
	SETUP_DONE=1
}

test_ready() {
	has_count 'READY=1' 1
	grep -qx 'probe ok' "$WORK/notify.log"
	messages | grep -q '^READY=1 | STATUS=1 VIPs on 1 interfaces'
	ip -n "$NS" link show vn0 | grep -q 'prog/xdp'
	ctl status >/dev/null
}

# reload_pairs_up N: the Nth RELOADING=1 and the Nth READY=1 after the
# first have arrived, in that order, the reload's MONOTONIC_USEC between
# $before and the READY's receipt.
reload_pairs_up() {
	local n=$1
	"$PY" - "$WORK/notify.log" "$n" "$before" <<'EOF2'
import re, sys
path, n, before = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
lines = [l.rstrip("\n") for l in open(path) if re.match(r"^[0-9]+ ", l)]
reloads = [i for i, l in enumerate(lines) if "RELOADING=1" in l]
readies = [i for i, l in enumerate(lines) if "READY=1" in l][1:]
assert len(reloads) == n and len(readies) == n, (reloads, readies)
r, a = reloads[-1], readies[-1]
assert r < a, "READY=1 before RELOADING=1"
usec = int(re.search(r"MONOTONIC_USEC=([0-9]+)", lines[r]).group(1))
received = int(lines[a].split()[0])
assert before <= usec <= received, (before, usec, received)
EOF2
}

now_usec() { "$PY" -c 'import time; print(time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000)'; }

test_reload() {
	write_config 2
	before=$(now_usec)
	ctl reload >/dev/null
	wait_for 20 has_count 'READY=1' 2
	reload_pairs_up 1
	[[ $(ctl -j backend list web | json '[b["weight"] for b in d["backends"] if b["address"] == "10.4.0.11"][0]') == 2 ]]
	write_config 3
	before=$(now_usec)
	kill -HUP "$(cat "$WORK/agent.pid")"
	wait_for 20 has_count 'READY=1' 3
	reload_pairs_up 2
}

test_badreload() {
	local out rc=0
	echo 'vips = ( { name = "web"; address = ; } );' >>"$WORK/bouncer.conf"
	before=$(now_usec)
	out=$(ctl reload 2>&1) || rc=$?
	diag "bouncerctl reload: $out (exit $rc)"
	((rc == 1))
	[[ $out == *bouncer.conf:* ]]
	wait_for 20 has_count 'READY=1' 4
	reload_pairs_up 3
	tail -n 2 "$WORK/notify.log" | grep -q 'STATUS=.*last reload failed: .*bouncer.conf:'
	grep -qx 'probe ok' <(tail -n 1 "$WORK/notify.log")
	write_config 3
	ctl reload >/dev/null
	wait_for 20 has_count 'READY=1' 5
	tail -n 2 "$WORK/notify.log" | lacks_reload_error
}

lacks_reload_error() { ! grep -q 'last reload failed'; }

test_noinherit() {
	wait_for 20 grep -q '^PORT=8000$' "$WORK/worker.env"
	lacks '^NOTIFY_SOCKET=' "$WORK/worker.env"
}

test_stopping() {
	kill -TERM "$(cat "$WORK/agent.pid")"
	wait_for 60 test -s "$WORK/agent.rc"
	[[ $(cat "$WORK/agent.rc") == 0 ]]
	has_count 'STOPPING=1' 1
	tail -n 1 "$WORK/notify.log" | grep -q 'STOPPING=1'
	rm -f "$WORK/agent.pid"
}

setup
run ready test_ready
run reload test_reload
run badreload test_badreload
run noinherit test_noinherit
run stopping test_stopping
if ((FAILURES)); then
	sed 's/^/# agent: /' "$WORK/agent.log" | tail -40 >&2
	sed 's/^/# notify: /' "$WORK/notify.log" >&2
fi
((FAILURES == 0))
