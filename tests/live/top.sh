#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# bouncerctl top against a running bouncerd with traffic: one IPv4 dsr VIP
# in front of two backends, on one L2 segment as in agent.sh (a bridge in
# its own namespace joins the client C, the load balancer L and the
# backends B1 and B2), and a loop of requests from C throughout.
#
#   terminal  top in a pseudo-terminal (script(1)) for a few refreshes:
#             both backends on the screen with packets and bytes per
#             second above zero, each with its share of the ring
#   keys      s changes the sort order on the screen, q quits before the
#             count, and the cursor is shown again on the way out
#   signal    SIGTERM ends top on a terminal as q does
#   plain     top through a pipe: a block of plain lines per refresh,
#             each starting with the date, no escape sequences
#   ring      ring show: a bar per backend
#
# Run as root from anywhere; needs build/bouncerd, build/bouncerctl and
# build/bouncer-decap. Prints "ok - NAME" / "not ok - NAME" per scenario;
# exit 77 when not root.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BOUNCERD=${BOUNCERD:-$ROOT/build/bouncerd}
BOUNCERCTL=${BOUNCERCTL:-$ROOT/build/bouncerctl}
DECAP=${DECAP:-$ROOT/build/bouncer-decap}
PY=/usr/bin/python3

NS_SW=bnc-top-$$-sw
NS_C=bnc-top-$$-c
NS_L=bnc-top-$$-l
NS_B1=bnc-top-$$-b1
NS_B2=bnc-top-$$-b2
PIN=/sys/fs/bpf/bnc-top-$$

C_IP=10.3.0.1
L_IP=10.3.0.2
B1_IP=10.3.0.11
B2_IP=10.3.0.12
VIP=10.3.0.100

WORK=
LOOP_PID=
FAILURES=0
SETUP_DONE=
# shellcheck source=tests/lib/live.sh
. "$ROOT/tests/lib/live.sh"

require_root top
require_built "$BOUNCERD" "$BOUNCERCTL" "$DECAP"
require_tools nsenter script "$PY"

cleanup() {
	set +e
	trap '' PIPE
	# The client ends after its request of the moment (at most 1 s).
	if [[ -n $LOOP_PID ]]; then
		touch "$WORK/traffic.stop"
		wait "$LOOP_PID"
	fi
	# Ours to end below, without a "Killed" line for each.
	disown -a
	if [[ -z $SETUP_DONE ]]; then
		echo "not ok - setup"
		[[ -n $WORK && -f $WORK/agent.log ]] && sed 's/^/# /' "$WORK/agent.log" >&2
	fi
	# The agent and the servers run in the namespaces: destroying them
	# ends them.
	netns_destroy "$NS_C" "$NS_L" "$NS_B1" "$NS_B2" "$NS_SW"
	[[ -d $PIN ]] && rm -rf "$PIN"
	[[ -n $WORK ]] && rm -rf "$WORK"
}
trap cleanup EXIT
trap "exit 1" INT TERM HUP PIPE

ctl() { in_ns "$NS_L" timeout 10 "$BOUNCERCTL" -s "$WORK/ctl.sock" "$@"; }

# on_tty SECONDS COMMAND: runs the shell command in L in a pseudo-terminal
# of 120 x 40, with stdin passed on to it; prints what the terminal got.
# script -e: its exit status is the command's.
on_tty() {
	in_ns "$NS_L" timeout "$1" script -qfec "stty cols 120 rows 40; $2" /dev/null
}

# bouncerctl top as a shell command, for script -c; set by setup.
TOP=

# The last screen of a typescript, as text: the part after the last
# cursor-home, without escape sequences and carriage returns.
last_screen() {
	"$PY" -c '
import re, sys
data = sys.stdin.buffer.read().decode("utf-8", "replace")
frame = data.split("\x1b[H")[-1]
print(re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", frame).replace("\r", ""))
'
}

# busy SCREEN ADDR: the backend's row shows packets and bytes per second
# above zero, and a share of the ring. Columns: name, admin, health,
# pkt/s, B/s, flows, share. The rates are over the last half second, in
# which a backend with 510 of the 1021 slots gets none of m new
# connections with probability (511/1021)^m: both rows busy, P(false
# failure) < 1e-6 once m >= 21, 42 connections a second. The client makes
# up to 200 a second, and the test reports how many it made; the curl loop
# it replaced made a few dozen, fewer on a busy machine (2 x 2^-10 = 2e-3
# at 20 a second).
busy() {
	local row
	row=$(grep -E "^  $2:80 " "$1" | head -n1)
	diag "row: $row; the client made $(rate) connections a second"
	[[ -n $row ]]
	awk '{ exit !($4 != "0" && $4 != "-" && $5 != "0" && $5 != "-" && $7 ~ /%$/) }' \
		<<<"$row"
}

setup() {
	WORK=$(mktemp -d /tmp/bnc-top.XXXXXX)
	mkdir -p "$PIN"
	local h ns
	bridge_world "bnc-top-$$" c l b1 b2
	ip -n "$NS_C" addr add "$C_IP/24" dev vc
	ip -n "$NS_L" addr add "$L_IP/24" dev vl
	ip -n "$NS_B1" addr add "$B1_IP/24" dev vb1
	ip -n "$NS_B2" addr add "$B2_IP/24" dev vb2
	for ns in "$NS_B1" "$NS_B2"; do
		ip -n "$ns" addr add "$VIP/32" dev lo
		in_ns "$ns" sysctl -qw net.ipv4.conf.all.arp_ignore=1 \
			net.ipv4.conf.all.arp_announce=2 net.ipv4.conf.all.rp_filter=0 \
			net.ipv4.conf.default.rp_filter=0
	done
	ip -n "$NS_C" route add "$VIP/32" via "$L_IP"
	# As in agent.sh: XDP_TX out of L's veth needs a program on the
	# peer, and the client computes its own checksums.
	in_ns "$NS_SW" "$DECAP" attach pl 192.0.2.1 --pin "$PIN/decap-sw" >/dev/null
	in_ns "$NS_C" ethtool -K vc tx off >/dev/null
	for h in b1 b2; do
		mkdir -p "$WORK/www-$h"
		echo "$h" >"$WORK/www-$h/index.html"
		nsenter --net="/run/netns/bnc-top-$$-$h" -- "$PY" -m http.server 80 \
			--directory "$WORK/www-$h" >/dev/null 2>&1 </dev/null &
	done
	cat >"$WORK/bouncer.conf" <<EOF
interfaces = [ "vl" ];
mode = "native";
pin_dir = "$PIN/lb";
control_socket = "$WORK/ctl.sock";
flow_table_size = 4096;
vips = (
  { name = "web"; address = "$VIP"; port = 80; protocol = "tcp"; forwarding = "dsr";
    ring_size = 1021;
    check = { type = "tcp"; interval = $(scaled 0.5); timeout = $(scaled 0.4); rise = 1; fall = 3; };
    backends = ( { address = "$B1_IP"; port = 80; }, { address = "$B2_IP"; port = 80; } ); }
);
EOF
	nsenter --net="/run/netns/$NS_L" -- "$BOUNCERD" -c "$WORK/bouncer.conf" \
		-S "$WORK/state" >>"$WORK/agent.log" 2>&1 </dev/null &
	wait_for 10 agent_answers
	wait_for 10 all_up
	# Requests all along, from C, each on a new connection, 200 a second
	# at most, until cleanup makes the stop file (see busy for why so
	# many). nsenter becomes the client: its pid.
	nsenter --net="/run/netns/$NS_C" -- "$PY" "$ROOT/scripts/demo_load.py" \
		"http://$VIP/" "$WORK/traffic.log" "$WORK/traffic.stop" --rate 200 --timeout 1 \
		>/dev/null 2>&1 </dev/null &
	LOOP_PID=$!
	wait_for 10 traffic_on_both
	TOP="$(printf '%q' "$BOUNCERCTL") -s $(printf '%q' "$WORK/ctl.sock") top"
	SETUP_DONE=1
}

# rate: the client's connections a second over the last 2 s.
rate() {
	awk -v now="$(date +%s.%N)" '$1 > now - 2 { n++ } END { printf "%d", n / 2 }' \
		"$WORK/traffic.log"
}

agent_answers() { ctl status >/dev/null 2>&1; }
all_up() {
	[[ $(ctl -j backend list | json "all(b['datapath'] == 'up' for b in d['backends'])") == True ]]
}
# Both backends have had packets: the flows hash over both.
traffic_on_both() {
	[[ $(ctl -j backend list | json "all(b['packets'] > 0 for b in d['backends'])") == True ]]
}

scenario_terminal() {
	on_tty 20 "$TOP -d 0.5 -n 4" >"$WORK/screen.raw" </dev/null
	last_screen <"$WORK/screen.raw" >"$WORK/screen.txt"
	sed 's/^/# /' "$WORK/screen.txt" >&2
	# Four frames, each with its table.
	[[ $(grep -o 'PKT/S' "$WORK/screen.raw" | wc -l) -eq 4 ]]
	grep -qE '^web 10\.3\.0\.100:80/tcp +2/2 up' "$WORK/screen.txt"
	# Clean ring slots record nothing: the table is shown, however full.
	grep -qE 'flow table  v4 [0-9]+/4096 \([0-9.]+%\)' "$WORK/screen.txt"
	busy "$WORK/screen.txt" "$B1_IP"
	busy "$WORK/screen.txt" "$B2_IP"
	# The cursor, hidden while drawing, is back.
	[[ $(tail -c 6 "$WORK/screen.raw") == $'\e[?25h' ]]
}

scenario_keys() {
	local start=$SECONDS
	# No -n: only q ends it, well before the time-out.
	{
		sleep 1.5
		printf s
		sleep 1
		printf q
	} | on_tty 8 "$TOP -d 0.5" >"$WORK/keys.raw"
	diag "q after $((SECONDS - start))s"
	((SECONDS - start < 8))
	last_screen <"$WORK/keys.raw" >"$WORK/keys.txt"
	grep -q 'sort name' "$WORK/keys.raw"
	grep -q 'sort packets' "$WORK/keys.txt"
	[[ $(tail -c 6 "$WORK/keys.raw") == $'\e[?25h' ]]
}

scenario_signal() {
	local rc=0
	# top's own pid, from the shell script runs: exec keeps it.
	on_tty 10 "echo \$\$ >$WORK/top.pid; exec $TOP" \
		>"$WORK/term.raw" </dev/null &
	local pid=$!
	wait_for 5 test -s "$WORK/top.pid"
	wait_for 5 grep -q 'PKT/S' "$WORK/term.raw"
	kill -TERM "$(cat "$WORK/top.pid")"
	wait "$pid" || rc=$?
	diag "top after SIGTERM: exit status $rc"
	((rc == 0))
	[[ $(tail -c 6 "$WORK/term.raw") == $'\e[?25h' ]]
}

scenario_plain() {
	ctl top -d 0.5 -n 3 | cat >"$WORK/plain.txt"
	sed 's/^/# /' "$WORK/plain.txt" >&2
	# Three blocks, each opened by the date and time.
	[[ $(grep -cE '^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}  bouncer ' \
		"$WORK/plain.txt") -eq 3 ]]
	[[ $(grep -c "^  $B1_IP:80 " "$WORK/plain.txt") -eq 3 ]]
	[[ $(grep -c "^  $B2_IP:80 " "$WORK/plain.txt") -eq 3 ]]
	# Nothing for a terminal: no escape, no carriage return.
	lacks $'[\e\r]' "$WORK/plain.txt"
	# The last block's rates are from two counts half a second apart.
	tac "$WORK/plain.txt" | awk '/  bouncer /{ exit } { print }' | tac >"$WORK/last.txt"
	busy "$WORK/last.txt" "$B1_IP"
	busy "$WORK/last.txt" "$B2_IP"
}

scenario_ring() {
	ctl ring show web >"$WORK/ring.txt"
	sed 's/^/# /' "$WORK/ring.txt" >&2
	grep -qE "^$B1_IP:80 +[0-9]+ +[0-9.]+%  #+\.+$" "$WORK/ring.txt"
	grep -qE "^$B2_IP:80 +[0-9]+ +[0-9.]+%  #+\.+$" "$WORK/ring.txt"
	# -j stays the agent's reply: no bar in it.
	ctl -j ring show web >"$WORK/ring.json"
	lacks '#' "$WORK/ring.json"
}

setup
run terminal scenario_terminal
run keys scenario_keys
run signal scenario_signal
run plain scenario_plain
run ring scenario_ring
if ((FAILURES)); then
	sed 's/^/# agent: /' "$WORK/agent.log" | tail -40 >&2
fi
((FAILURES == 0))
