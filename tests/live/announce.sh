#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# bouncerd's announcements, without a BGP daemon: the routes it keeps in
# its own kernel table (announce = { table = 4242; }), which a BGP daemon
# would export. Namespaces: the agent's host L and a backend B1 with an
# HTTP server, on one bridge. Three VIPs:
#   web     10.3.0.100, fail closed, backend B1
#   open    10.3.0.101, fails open, backend 10.3.0.99 that never answers
#   closed  10.3.0.102, fail closed, the same silent backend
#
#   announced  web and open are announced (a blackhole /32 each, protocol
#              201, table 4242), closed is not; vip list says which
#   vipdown    B1's server stops: web alone is withdrawn, and announced
#              again once B1 is back
#   kill9      kill -9 of the agent withdraws nothing; the next agent
#              finds the routes in place and withdraws none of them
#   drain      host drain withdraws everything and, with no traffic,
#              host drain --wait reports the host drained; the drain
#              survives kill -9 and a restart; host ready announces again
#   reload     a reload that changes announce.table is refused
#   detach     bouncerctl detach withdraws at once, keeps the program on
#              the interface for withdraw_wait (1 s), then detaches
#   stopdetach the same for SIGTERM to bouncerd --detach-on-exit
#
# Run as root; needs build/bouncerd and build/bouncerctl. Prints
# "ok - NAME" / "not ok - NAME" per scenario; exit 77 when not root.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BOUNCERD=${BOUNCERD:-$ROOT/build/bouncerd}
BOUNCERCTL=${BOUNCERCTL:-$ROOT/build/bouncerctl}
PY=/usr/bin/python3

NS_L=bnc-an-$$-l
NS_B1=bnc-an-$$-b1
PIN=/sys/fs/bpf/bnc-an-$$
TABLE=4242

L_IP=10.3.0.2
B1_IP=10.3.0.11
SILENT_IP=10.3.0.99 # no host: a backend whose check never passes
VIP_WEB=10.3.0.100
VIP_OPEN=10.3.0.101
VIP_CLOSED=10.3.0.102

WORK=
FAILURES=0
SETUP_DONE=
# shellcheck source=tests/lib/live.sh
. "$ROOT/tests/lib/live.sh"

require_root announce
require_built "$BOUNCERD" "$BOUNCERCTL"
require_tools ip nsenter "$PY"

cleanup() {
	set +e
	trap '' PIPE
	if [[ -z $SETUP_DONE ]]; then
		echo "not ok - setup"
		[[ -n $WORK && -f $WORK/agent.log ]] && sed 's/^/# /' "$WORK/agent.log" >&2
	fi
	[[ -n $WORK && -f $WORK/agent.pid ]] && kill -KILL "$(cat "$WORK/agent.pid")" 2>/dev/null
	netns_destroy "$NS_L" "$NS_B1" "bnc-an-$$-sw"
	[[ -d $PIN ]] && rm -rf "$PIN"
	[[ -n $WORK ]] && rm -rf "$WORK"
}
trap cleanup EXIT
trap "exit 1" INT TERM HUP PIPE

ctl() { in_ns "$NS_L" timeout 10 "$BOUNCERCTL" -s "$WORK/ctl.sock" "$@"; }

# The addresses announced now, sorted, one line.
routes() {
	ip -n "$NS_L" route show table "$TABLE" proto 201 | awk '{ print $1 " " $2 }' | sort | tr '\n' ' '
}

routes_are() { [[ $(routes) == "$1" ]]; }

write_config() {
	cat >"$WORK/bouncer.conf" <<EOF
interfaces = [ "vl" ];
pin_dir = "$PIN/lb";
control_socket = "$WORK/ctl.sock";
flow_table_size = 65536;
announce = { table = $1; withdraw_wait = 1.0; };
vips = (
  { name = "web"; address = "$VIP_WEB"; port = 80; fail = "closed";
    check = { type = "tcp"; interval = $(scaled 0.2); timeout = $(scaled 0.15); rise = 1; fall = 2; };
    backends = ( { address = "$B1_IP"; port = 80; } ); },
  { name = "open"; address = "$VIP_OPEN"; port = 80;
    check = { type = "tcp"; interval = $(scaled 0.2); timeout = $(scaled 0.15); rise = 1; fall = 2; };
    backends = ( { address = "$SILENT_IP"; port = 80; } ); },
  { name = "closed"; address = "$VIP_CLOSED"; port = 80; fail = "closed";
    check = { type = "tcp"; interval = $(scaled 0.2); timeout = $(scaled 0.15); rise = 1; fall = 2; };
    backends = ( { address = "$SILENT_IP"; port = 80; } ); }
);
EOF
}

agent_answers() { ctl status >/dev/null 2>&1; }

agent_gone() { pid_gone "$WORK/agent.pid"; }

# start_agent [OPTION...]: bouncerd in L, with OPTIONs (--detach-on-exit).
start_agent() {
	nsenter --net="/run/netns/$NS_L" -- \
		"$BOUNCERD" -c "$WORK/bouncer.conf" -S "$WORK/state" "$@" >>"$WORK/agent.log" 2>&1 </dev/null &
	echo $! >"$WORK/agent.pid"
	wait_for 10 agent_answers
}

server_answers() {
	in_ns "$NS_B1" "$PY" -c \
		"import socket; socket.create_connection(('$B1_IP', 80), 1).close()" 2>/dev/null
}

start_server() {
	nsenter --net="/run/netns/$NS_B1" -- "$PY" -m http.server -b "$B1_IP" 80 \
		>/dev/null 2>&1 </dev/null &
	echo $! >"$WORK/server.pid"
	wait_for 5 server_answers
}

stop_server() {
	kill "$(cat "$WORK/server.pid")" 2>/dev/null
	wait "$(cat "$WORK/server.pid")" 2>/dev/null || true
}

setup() {
	WORK=$(mktemp -d /tmp/bnc-announce.XXXXXX)
	mkdir -p "$PIN"
	bridge_world "bnc-an-$$" l b1
	ip -n "$NS_L" addr add "$L_IP/24" dev vl
	ip -n "$NS_B1" addr add "$B1_IP/24" dev vb1
	start_server
	write_config "$TABLE"
	start_agent
	# web once B1's check passes, open once its check has failed fall
	# times (then it fails open); closed never.
	wait_for 10 routes_are "blackhole $VIP_WEB blackhole $VIP_OPEN "
	SETUP_DONE=1
}

scenario_announced() {
	diag "table $TABLE, protocol 201: $(routes)"
	routes_are "blackhole $VIP_WEB blackhole $VIP_OPEN "
	# Host routes, nothing in the main table.
	[[ $(ip -n "$NS_L" route show table "$TABLE" proto 201 "$VIP_WEB/32" | wc -l) -eq 1 ]]
	[[ -z $(ip -n "$NS_L" route show proto 201) ]]
	[[ $(ctl -j vip list | json "sorted((v['name'], v['announced']) for v in d['vips'])") == \
		"[('closed', False), ('open', True), ('web', True)]" ]]
	[[ $(ctl -j host show | json "(d['state'], d['announced'], d['table'])") == \
		"('ready', ['$VIP_WEB', '$VIP_OPEN'], $TABLE)" ]]
}

scenario_vipdown() {
	stop_server
	wait_for 10 routes_are "blackhole $VIP_OPEN "
	grep -q "withdrew $VIP_WEB (table $TABLE): no VIP there can be served" "$WORK/agent.log"
	start_server
	wait_for 10 routes_are "blackhole $VIP_WEB blackhole $VIP_OPEN "
}

scenario_kill9() {
	local before
	before=$(routes)
	kill -KILL "$(cat "$WORK/agent.pid")"
	wait_for 5 agent_gone
	[[ $(routes) == "$before" ]]
	: >"$WORK/agent.log"
	start_agent
	grep -q "routing table $TABLE: 2 VIP addresses announced already" "$WORK/agent.log"
	[[ $(routes) == "$before" ]]
	# The first health checks after the start change nothing either.
	wait_for 5 grep -q "vip web backend $B1_IP:80: up" "$WORK/agent.log" || true
	[[ $(routes) == "$before" ]]
	lacks withdrew "$WORK/agent.log"
}

scenario_drain() {
	local out
	ctl host drain >/dev/null
	routes_are ""
	[[ $(ctl -j vip list | json "[v['announced'] for v in d['vips']]") == "[False, False, False]" ]]
	# No traffic comes here at all: drained within a few ticks.
	out=$(ctl host drain --wait --timeout 10)
	diag "$(tr '\n' ' ' <<<"$out")"
	grep -q "^host drained: traffic gone after" <<<"$out"
	[[ $(ctl -j host show | json "d['state']") == drained ]]
	kill -KILL "$(cat "$WORK/agent.pid")"
	wait_for 5 agent_gone
	start_agent
	[[ $(ctl -j host show | json "d['state'] != 'ready'") == True ]]
	routes_are ""
	ctl host ready >/dev/null
	[[ $(ctl -j host show | json "d['state']") == ready ]]
	routes_are "blackhole $VIP_WEB blackhole $VIP_OPEN "
}

scenario_reload() {
	write_config 4243
	if ctl reload 2>"$WORK/reload.err"; then
		diag "a reload changed announce.table"
		return 1
	fi
	grep -q "announce.table take effect on a restart only" "$WORK/reload.err"
	write_config "$TABLE"
	ctl reload >/dev/null
	routes_are "blackhole $VIP_WEB blackhole $VIP_OPEN "
}

xdp_attached() { ip -n "$NS_L" link show vl | grep -q 'xdp'; }

scenario_detach() {
	local t0 t1
	t0=$(date +%s%N)
	ctl detach >/dev/null
	# Withdrawn before the answer; the program stays for withdraw_wait.
	routes_are ""
	xdp_attached
	wait_for 10 agent_gone
	t1=$(date +%s%N)
	diag "detached $(((t1 - t0) / 1000000)) ms after the request"
	(((t1 - t0) / 1000000 >= 1000))
	if xdp_attached; then
		diag "the program is still on vl after the agent exited"
		return 1
	fi
	grep -q "withdrew $VIP_WEB (table $TABLE): detaching" "$WORK/agent.log"
}

# A stop with --detach-on-exit: the same order as detach, on SIGTERM.
scenario_stopdetach() {
	local t0 t1
	: >"$WORK/agent.log"
	start_agent --detach-on-exit
	wait_for 10 routes_are "blackhole $VIP_WEB blackhole $VIP_OPEN "
	xdp_attached
	t0=$(date +%s%N)
	kill -TERM "$(cat "$WORK/agent.pid")"
	wait_for 10 agent_gone
	t1=$(date +%s%N)
	diag "stopped $(((t1 - t0) / 1000000)) ms after SIGTERM"
	routes_are ""
	if xdp_attached; then
		diag "the program is still on vl after the agent exited"
		return 1
	fi
	# Withdrawn, then withdraw_wait (1 s), then detached.
	(((t1 - t0) / 1000000 >= 1000))
	[[ $(grep -n "withdrew $VIP_WEB (table $TABLE): detaching\|detached from every interface" \
		"$WORK/agent.log" | cut -d: -f2- | sed 's/ (table.*//') == \
		"bouncerd: withdrew $VIP_WEB"$'\n'"bouncerd: detached from every interface" ]]
}

setup
run announced scenario_announced
run vipdown scenario_vipdown
run kill9 scenario_kill9
run drain scenario_drain
run reload scenario_reload
run detach scenario_detach
run stopdetach scenario_stopdetach
if ((FAILURES)); then
	sed 's/^/# agent: /' "$WORK/agent.log" | tail -40 >&2
fi
((FAILURES == 0))
