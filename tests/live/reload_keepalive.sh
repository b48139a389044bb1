#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Rolling reloads of Node.js workers under keep-alive clients. The client C
# and the load balancer L share a bridge; L holds the VIPs on lo and runs
# bouncerd with workers of examples/app/server.js, which on SIGTERM stops
# accepting, finishes its requests, closes its idle connections and exits.
#
#   keepalive  RELOADS (5) rolling reloads, one after the other, while
#              clients in C send requests on keep-alive connections, some
#              busy (a pause of up to 20 ms between requests), some not
#              (up to 2 s), so each old worker still holds connections
#              when its drain time (2 s) runs out. A client that retries a
#              request once when its reused connection closes under it
#              loses none; no request on a new connection fails. The
#              failures of a client that never retries are reported, not
#              judged: a server that closes an idle keep-alive connection
#              can always meet the client's next request on its way.
#   early      a reload under clients that open a connection per request:
#              each old worker is stopped once its connections have ended,
#              long before its drain time (30 s) is up
#
# APP (default examples/app/server.js) is the workers' program, RELOADS
# the number of reloads. Run as root from anywhere; needs build/bouncerd,
# build/bouncerctl and node. Prints "ok - NAME" / "not ok - NAME" per
# scenario; exit 77 when not root.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BOUNCERD=${BOUNCERD:-$ROOT/build/bouncerd}
BOUNCERCTL=${BOUNCERCTL:-$ROOT/build/bouncerctl}
APP=${APP:-$ROOT/examples/app/server.js}
RELOADS=${RELOADS:-5}
PY=/usr/bin/python3

NS_SW=bnc-ka-$$-sw
NS_C=bnc-ka-$$-c
NS_L=bnc-ka-$$-l
PIN=/sys/fs/bpf/bnc-ka-$$

C_IP=10.4.0.1
L_IP=10.4.0.2
VIP_KA=10.4.0.100
VIP_SHORT=10.4.0.101

WORK=
FAILURES=0
SETUP_DONE=
# shellcheck source=tests/lib/live.sh
. "$ROOT/tests/lib/live.sh"

require_root reload_keepalive
require_built "$BOUNCERD" "$BOUNCERCTL"
require_tools nsenter node "$PY"

cleanup() {
	set +e
	trap '' PIPE
	if [[ -z $SETUP_DONE ]]; then
		echo "not ok - setup"
	fi
	if [[ -n $WORK && -f $WORK/agent.log && ($FAILURES -gt 0 || -z $SETUP_DONE) ]]; then
		tail -n 60 "$WORK/agent.log" | sed 's/^/# /' >&2
	fi
	[[ -n $WORK && -f $WORK/agent.pid ]] && kill -KILL "$(cat "$WORK/agent.pid")" 2>/dev/null
	# The workers and the clients run in the namespaces: netns_destroy
	# kills every process there.
	netns_destroy "$NS_C" "$NS_L" "$NS_SW"
	[[ -d $PIN ]] && rm -rf "$PIN"
	[[ -n $WORK ]] && rm -rf "$WORK"
}
trap cleanup EXIT
trap "exit 1" INT TERM HUP PIPE

ctl() { in_ns "$NS_L" timeout 90 "$BOUNCERCTL" -s "$WORK/ctl.sock" "$@"; }
workers() {
	ctl -j worker list "$1" | json "(lambda w: $2)(d['vips'][0]['workers'])"
}
all_ready() { [[ $(workers "$1" "sum(x['state'] == 'ready' for x in w)") -eq $2 ]]; }
pids() { workers "$1" "' '.join(str(x['pid']) for x in sorted(w, key=lambda x: x['id']))"; }
agent_answers() { ctl status >/dev/null 2>&1; }

# gone PID...: none of the processes exists any more.
gone() {
	local pid
	for pid in "$@"; do
		[[ ! -e /proc/$pid ]] || return 1
	done
}

write_config() {
	cat >"$WORK/bouncer.conf" <<EOF
interfaces = [ "vl" ];
mode = "native";
pin_dir = "$PIN/lb";
control_socket = "$WORK/ctl.sock";
metrics = { listen = "127.0.0.1"; port = 9369; };
vips = (
  { name = "ka"; address = "$VIP_KA"; port = 80; ring_size = 1021;
    workers = { command = [ "node", "$APP" ]; count = 2; port_base = 9500;
                alt_port_base = 9510; drain = 2; kill_timeout = $(scaled 2);
                ready_timeout = $(scaled 10); }; },
  { name = "short"; address = "$VIP_SHORT"; port = 80; ring_size = 1021;
    workers = { command = [ "node", "$APP" ]; count = 2; port_base = 9600;
                alt_port_base = 9610; drain = $(scaled 30); kill_timeout = $(scaled 2);
                ready_timeout = $(scaled 10); }; }
);
EOF
}

setup() {
	WORK=$(mktemp -d /tmp/bnc-ka.XXXXXX)
	mkdir -p "$PIN"
	bridge_world "bnc-ka-$$" c l
	ip -n "$NS_C" addr add "$C_IP/24" dev vc
	ip -n "$NS_L" addr add "$L_IP/24" dev vl
	for vip in "$VIP_KA" "$VIP_SHORT"; do
		ip -n "$NS_L" addr add "$vip/32" dev lo
		ip -n "$NS_C" route add "$vip/32" via "$L_IP"
	done
	in_ns "$NS_L" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2
	write_config
	nsenter --net="/run/netns/$NS_L" -- "$BOUNCERD" -c "$WORK/bouncer.conf" \
		-S "$WORK/state" >>"$WORK/agent.log" 2>&1 </dev/null &
	echo $! >"$WORK/agent.pid"
	wait_for 10 agent_answers
	wait_for 20 all_ready ka 2
	wait_for 20 all_ready short 2
	SETUP_DONE=1
}

# clients NAME URL ARGS...: keep-alive clients in C until $WORK/NAME.stop,
# their report in $WORK/NAME.json. Their time-outs are scaled, not their
# pauses: the pauses are what the scenario is about.
clients() {
	local name=$1 url=$2
	shift 2
	in_ns "$NS_C" "$PY" "$ROOT/tests/lib/keepalive_load.py" "$url" \
		--until "$WORK/$name.stop" --timeout "$(scaled 5)" --max-time "$(scaled 300)" \
		"$@" >"$WORK/$name.json" &
}

# reload VIP: a rolling reload that must succeed, then the old workers'
# exit (drain 2 s, kill_timeout 2 s: within 10 s even on a busy host).
reload() {
	local before
	before=$(pids "$1")
	ctl worker reload "$1" --wait >/dev/null
	[[ $(ctl -j worker list "$1" | json "d['vips'][0]['last_reload']") == ok ]]
	# shellcheck disable=SC2086 # one pid per word
	wait_for 10 gone $before
}

# report NAME: what client NAME found, as a diagnostic line.
report() {
	json "'%s: %d of %d requests failed (%d on a new connection), %d retried' % ('$1', \
		d['failed'], d['requests'], d['fresh_failed'], d['retried'])" <"$WORK/$1.json"
}

scenario_keepalive() {
	local i name
	# Busy clients, whose connections are never idle for long, and
	# others that pause up to 2 s, each retrying or not.
	clients busy_retry "http://$VIP_KA/" --conns 4 --retry
	clients busy_raw "http://$VIP_KA/" --conns 4
	clients idle_retry "http://$VIP_KA/" --conns 2 --think 2000 --retry
	clients idle_raw "http://$VIP_KA/" --conns 2 --think 2000
	sleep 1
	for ((i = 0; i < RELOADS; i++)); do
		reload ka
	done
	sleep 0.5
	touch "$WORK"/{busy,idle}_{retry,raw}.stop
	wait
	for name in busy_retry busy_raw idle_retry idle_raw; do
		diag "$name: $(cat "$WORK/$name.json")"
	done
	diag "drains: $(grep -c 'drain time is up' "$WORK/agent.log" || true) ran out," \
		"$(grep -c 'connections ended' "$WORK/agent.log" || true) ended early"
	diag "$RELOADS reloads, retrying once: $(report busy_retry); $(report idle_retry)"
	diag "$RELOADS reloads, never retrying: $(report busy_raw); $(report idle_raw)"
	# Retrying once, no request is lost; no new connection ever fails.
	for name in busy_retry idle_retry; do
		[[ $(json "d['failed']" <"$WORK/$name.json") -eq 0 ]]
	done
	for name in busy_retry busy_raw; do
		[[ $(json "d['ok'] > 500 and d['fresh_failed'] == 0" <"$WORK/$name.json") == True ]]
	done
	for name in idle_retry idle_raw; do
		[[ $(json "d['ok'] > 10 and d['fresh_failed'] == 0" <"$WORK/$name.json") == True ]]
	done
	all_ready ka 2
}

scenario_early() {
	local before t0 took
	before=$(pids short)
	# 21 requests at least, for the count checked below, however slow the
	# machine.
	in_ns "$NS_C" "$PY" "$ROOT/tests/lib/http_load.py" "http://$VIP_SHORT/" \
		--until "$WORK/early.stop" --min-count 21 --timeout "$(scaled 2)" >"$WORK/early.json" &
	local loader=$!
	sleep 0.5
	t0=$SECONDS
	ctl worker reload short --wait >/dev/null
	# shellcheck disable=SC2086 # one pid per word
	wait_for 15 gone $before
	took=$((SECONDS - t0))
	touch "$WORK/early.stop"
	wait "$loader"
	diag "early: old workers gone ${took}s after the reload began; $(cat "$WORK/early.json")"
	# Long before the drain time: both scaled alike.
	((took < $(scaled 15)))
	[[ $(json "d['failed'] == 0 and d['ok'] > 20" <"$WORK/early.json") == True ]]
	grep -q 'short/[01]: pid [0-9]*: connections ended' "$WORK/agent.log"
}

setup
run keepalive scenario_keepalive
run early scenario_early
((FAILURES == 0))
