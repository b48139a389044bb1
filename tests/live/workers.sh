#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Local workers end to end: bouncerd supervising Node.js and Python servers
# that listen on $PORT, with VIP connections steered to them by sk_lookup.
# A bridge (in its own namespace) joins the client C, the load balancer L
# and a remote backend B1. L holds the VIPs on lo; its XDP program passes
# the flows it gives to local workers to the stack, and forwards (dsr) the
# ones it gives to B1.
#
#   spread     400 new connections from C and 400 from L itself to a VIP
#              with 4 node workers: each gets a fair share, as each share
#              check here: at least the count that a fair ring misses with
#              probability under 1e-6 (tests/lib/share_bound.py); the
#              requests of every share check come from source ports of a
#              shuffled pool, each used once (see fair_load)
#   listing    worker list: 4 ready workers, pids, ports; the ring holds
#              them as backends
#   kill       kill -9 a worker every 2 s through 10 s of new connections:
#              none refused, each killed worker back with a new pid
#   crash      a worker that exits at once: backed off, then failed; the
#              other VIPs' workers are untouched
#   mixed      a VIP with 2 Python workers and B1: all three serve C; L's
#              own connections are all served by the workers
#   udp        200 datagrams, each a new flow, from C and from L to a UDP
#              VIP with 2 Python workers: each gets a fair share and answers
#              from the VIP's address
#   reload     rolling reload under new connections: no failure, every pid
#              replaced; a replacement that never listens aborts the next
#              reload and the old workers serve on
#   scale      worker scale --wait 4 -> 2 -> 3 takes effect when it returns,
#              traffic on the rest
#   adopt      kill -9 bouncerd: the workers serve on; the new agent adopts
#              them (same pids, no duplicates)
#   stop       SIGTERM to bouncerd stops its workers
#
# Run as root from anywhere; needs build/bouncerd, build/bouncerctl,
# build/bouncer-decap and node. Prints "ok - NAME" / "not ok - NAME" per
# scenario; exit 77 when not root.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BOUNCERD=${BOUNCERD:-$ROOT/build/bouncerd}
BOUNCERCTL=${BOUNCERCTL:-$ROOT/build/bouncerctl}
DECAP=${DECAP:-$ROOT/build/bouncer-decap}
PY=/usr/bin/python3

NS_SW=bnc-wk-$$-sw
NS_C=bnc-wk-$$-c
NS_L=bnc-wk-$$-l
NS_B1=bnc-wk-$$-b1
PIN=/sys/fs/bpf/bnc-wk-$$

C_IP=10.3.0.1
L_IP=10.3.0.2
B1_IP=10.3.0.11
VIP_NODE=10.3.0.100
VIP_MIX=10.3.0.101
VIP_CRASH=10.3.0.102
VIP_UDP=10.3.0.103

WORK=
FAILURES=0
SETUP_DONE=
# shellcheck source=tests/lib/live.sh
. "$ROOT/tests/lib/live.sh"

require_root workers
require_built "$BOUNCERD" "$BOUNCERCTL" "$DECAP"
require_tools curl nsenter node "$PY"

cleanup() {
	set +e
	trap '' PIPE
	if [[ -z $SETUP_DONE ]]; then
		echo "not ok - setup"
	fi
	if [[ -n $WORK && -f $WORK/agent.log && ($FAILURES -gt 0 || -z $SETUP_DONE) ]]; then
		tail -n 80 "$WORK/agent.log" | sed 's/^/# /' >&2
	fi
	[[ -n $WORK && -f $WORK/agent.pid ]] && kill -KILL "$(cat "$WORK/agent.pid")" 2>/dev/null
	# The workers run in sessions of their own, in L: netns_destroy
	# kills every process there.
	netns_destroy "$NS_C" "$NS_L" "$NS_B1" "$NS_SW"
	[[ -d $PIN ]] && rm -rf "$PIN"
	[[ -n $WORK ]] && rm -rf "$WORK"
}
trap cleanup EXIT
trap "exit 1" INT TERM HUP PIPE

ctl() { in_ns "$NS_L" timeout 90 "$BOUNCERCTL" -s "$WORK/ctl.sock" "$@"; }

# workers VIP PYEXPR: PYEXPR over the VIP's worker list w.
workers() {
	ctl -j worker list "$1" | json "(lambda w: $2)(d['vips'][0]['workers'])"
}
ready_count() { workers "$1" "sum(x['state'] == 'ready' for x in w)"; }
all_ready() { [[ $(ready_count "$1") -eq $2 ]]; }
pids() { workers "$1" "' '.join(str(x['pid']) for x in sorted(w, key=lambda x: x['id']))"; }
# in_l PATTERN: how many processes in L match PATTERN, whoever started them.
in_l() {
	local p l_ns
	l_ns=$(in_ns "$NS_L" readlink /proc/self/ns/net)
	for p in $(pgrep -f "$1"); do
		[[ $(readlink "/proc/$p/ns/net" 2>/dev/null) == "$l_ns" ]] && echo "$p"
	done | wc -l
}

write_config() {
	# $1: the mixed VIP's worker command (the reload scenario swaps it).
	local mix_cmd=${1:-"\"$PY\", \"$ROOT/tests/live/worker_app.py\""}
	cat >"$WORK/bouncer.conf" <<EOF
interfaces = [ "vl" ];
mode = "native";
pin_dir = "$PIN/lb";
control_socket = "$WORK/ctl.sock";
flow_table_size = 65536;
metrics = { listen = "127.0.0.1"; port = 9368; };
vips = (
  { name = "node"; address = "$VIP_NODE"; port = 80; ring_size = 1021;
    workers = { command = [ "node", "$ROOT/examples/app/server.js" ]; count = 4;
                port_base = 9000; alt_port_base = 9100; kill_timeout = 2;
                ready_timeout = $(scaled 10);
                env = { LOG_REQUESTS = "1"; };
                restart = { min_uptime = 1; }; }; },
  { name = "mix"; address = "$VIP_MIX"; port = 80; ring_size = 1021; forwarding = "dsr";
    check = { type = "tcp"; interval = $(scaled 0.2); timeout = $(scaled 0.15); rise = 1; fall = 2; };
    backends = ( { address = "$B1_IP"; port = 80; } );
    workers = { command = [ $mix_cmd ]; count = 2; port_base = 9200;
                alt_port_base = 9250; ready_timeout = $(scaled 3); kill_timeout = 2; }; },
  { name = "crash"; address = "$VIP_CRASH"; port = 80; ring_size = 1021;
    workers = { command = [ "sh", "-c", "echo giving up; exit 3" ]; count = 1;
                port_base = 9300; alt_port_base = 9310;
                restart = { backoff = 0.05; backoff_max = 0.4; crash_limit = 4;
                            crash_window = 60; }; }; },
  { name = "udp"; address = "$VIP_UDP"; port = 53; protocol = "udp"; ring_size = 1021;
    workers = { command = [ "$PY", "$ROOT/tests/live/worker_app.py", "--udp" ]; count = 2;
                port_base = 9400; alt_port_base = 9410; }; }
);
EOF
}

agent_answers() { ctl status >/dev/null 2>&1; }

start_agent() {
	nsenter --net="/run/netns/$NS_L" -- "$BOUNCERD" -c "$WORK/bouncer.conf" \
		-S "$WORK/state" >>"$WORK/agent.log" 2>&1 </dev/null &
	echo $! >"$WORK/agent.pid"
	wait_for 10 agent_answers
}

stop_agent() {
	local pid
	pid=$(cat "$WORK/agent.pid")
	kill "-$1" "$pid" 2>/dev/null
	# Not our child in a scenario's subshell: wait for /proc to lose it.
	wait_for 15 test ! -e "/proc/$pid"
}

# load NS URL ARGS...: the client's report (JSON) on stdout.
load() {
	local ns=$1
	shift
	in_ns "$ns" "$PY" "$ROOT/tests/lib/http_load.py" "$@"
}

# fair_load NS URL N: load's report of N requests to URL, each from its
# own source port, the next N of the run's shuffled pool. A share check
# needs them: after the kill scenario's thousands of connections to one
# VIP:port, the kernel's own picks are the ports whose last connection
# is not in TIME_WAIT in C, which are mostly those of the workers that
# closed first (a race their CPU decides), so the ring sends fewer new
# connections to the others: 53 of 400 where 100 was due, while every
# connection went where the ring said (tests/lib/http_load.py).
fair_load() {
	local src
	src=$(sport_take "$WORK/sports" "$3") || return 1
	load "$1" "$2" --count "$3" --source-ports "$src"
}

# fair_share REPORT N M NAME...: no failure, and each NAME answered at
# least T of the N requests, T from tests/lib/share_bound.py: the largest
# count that each of the NAMEs, holding floor(1021/M) of the ring's 1021
# slots (M backends in the ring), misses with probability below 1e-6 in
# all (binomial, union over the NAMEs). N must be large enough for T to be
# a quarter of a fair share at least, or share_bound.py fails the check.
fair_share() {
	local report=$1 n=$2 m=$3 t
	shift 3
	diag "$(echo "$report" | json "d['by'], d['failed'], d['errors'][:3]")"
	[[ $(echo "$report" | json "d['failed']") -eq 0 ]]
	t=$("$PY" "$ROOT/tests/lib/share_bound.py" "$n" $# --over "$m" --explain)
	local name got
	for name in "$@"; do
		got=$(echo "$report" | json "d['by'].get('$name', 0)")
		((got >= t)) || {
			diag "$name answered $got of $n, under $t"
			return 1
		}
	done
}

setup() {
	WORK=$(mktemp -d /tmp/bnc-workers.XXXXXX)
	mkdir -p "$PIN"
	bridge_world "bnc-wk-$$" c l b1
	ip -n "$NS_C" addr add "$C_IP/24" dev vc
	ip -n "$NS_L" addr add "$L_IP/24" dev vl
	ip -n "$NS_B1" addr add "$B1_IP/24" dev vb1
	# The kernel picks the clients' source ports from 32768 up (as in
	# any new namespace; said here because the pool below must stay
	# under it), the share checks from the pool.
	for ns in "$NS_C" "$NS_L"; do
		in_ns "$ns" sysctl -qw net.ipv4.ip_local_port_range="32768 60999"
	done
	sport_pool "$WORK/sports" 10000 32767
	# L holds the VIPs: what XDP passes, its stack delivers to the workers.
	for vip in "$VIP_NODE" "$VIP_MIX" "$VIP_CRASH" "$VIP_UDP"; do
		ip -n "$NS_L" addr add "$vip/32" dev lo
		ip -n "$NS_C" route add "$vip/32" via "$L_IP"
	done
	in_ns "$NS_L" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2
	ip -n "$NS_B1" addr add "$VIP_MIX/32" dev lo
	in_ns "$NS_B1" sysctl -qw net.ipv4.conf.all.arp_ignore=1 \
		net.ipv4.conf.all.arp_announce=2 net.ipv4.conf.all.rp_filter=0 \
		net.ipv4.conf.default.rp_filter=0
	# XDP_TX out of L's veth reaches the bridge only with a program on
	# the peer (FACTS: veth needs NAPI there); the client computes its
	# own checksums for frames that crossed it.
	in_ns "$NS_SW" "$DECAP" attach pl 192.0.2.1 --pin "$PIN/decap-sw" >/dev/null
	in_ns "$NS_C" ethtool -K vc tx off >/dev/null
	# B1's server answers "py -".
	nsenter --net="/run/netns/$NS_B1" -- env PORT=80 WORKER_ID=- "$PY" \
		"$ROOT/tests/live/worker_app.py" >/dev/null 2>&1 </dev/null &
	wait_for 5 in_ns "$NS_B1" curl -s -o /dev/null --max-time 1 "http://127.0.0.1/"
	write_config
	start_agent
	wait_for 20 all_ready node 4
	wait_for 20 all_ready mix 2
	wait_for 20 all_ready udp 2
	SETUP_DONE=1
}

scenario_spread() {
	local r
	r=$(fair_load "$NS_C" "http://$VIP_NODE/" 400)
	# At least 59 each: P(false failure) < 8.7e-7, binomial(400, 255/1021),
	# union over 4 workers (was half a share, 50: 7.8e-10).
	fair_share "$r" 400 4 "worker 0" "worker 1" "worker 2" "worker 3"
	r=$(fair_load "$NS_L" "http://$VIP_NODE/" 400)
	# As above: P(false failure) < 8.7e-7.
	fair_share "$r" 400 4 "worker 0" "worker 1" "worker 2" "worker 3"
	# Both paths were taken: XDP passed C's flows, sk_lookup steered all.
	ctl -j stats | json "d['global']['pass_local'], d['global']['sk_assign']" >"$WORK/st"
	diag "pass_local, sk_assign: $(cat "$WORK/st")"
	[[ $(ctl -j stats | json "d['global']['pass_local'] >= 400") == True ]]
	[[ $(ctl -j stats | json "d['global']['sk_assign'] >= 800") == True ]]
}

scenario_listing() {
	local out
	out=$(ctl -j worker list node)
	[[ $(echo "$out" | json "len(d['vips'][0]['workers'])") -eq 4 ]]
	[[ $(echo "$out" | json "all(w['pid'] > 0 and w['state'] == 'ready' for w in d['vips'][0]['workers'])") == True ]]
	[[ $(echo "$out" | json "sorted(w['port'] for w in d['vips'][0]['workers'])[0] in (9000, 9100)") == True ]]
	ctl worker list node | tee "$WORK/list.txt" | sed 's/^/# /' >&2
	grep -q "ready" "$WORK/list.txt"
	# Prometheus: each worker's state and restarts, traffic by worker.
	in_ns "$NS_L" curl -s --max-time 2 http://127.0.0.1:9368/metrics >"$WORK/metrics"
	grep -q '^bouncer_worker_state{vip="node",worker="3",state="ready"} 1$' "$WORK/metrics"
	grep -q '^bouncer_worker_restarts_total{vip="node",worker="0"} 0$' "$WORK/metrics"
	grep -q '^bouncer_backend_packets_total{vip="node",backend="worker/2",port=""} [1-9]' \
		"$WORK/metrics"
	# The ring holds the 4 workers as its backends.
	[[ $(ctl -j ring show node | json "sum(1 for b in d['backends'] if b.get('local') and b['slots'] > 0)") -eq 4 ]]
}

# bursts REPORT: the sizes of the bursts of failures in an http_load.py
# report, in order; a burst's failures are at most 0.5 s apart.
bursts() {
	"$PY" -c '
import json, sys
times = [float(e.split("s:")[0]) for e in json.load(sys.stdin)["errors"]]
sizes = []
for i, t in enumerate(times):
    if i and t - times[i - 1] <= 0.5:
        sizes[-1] += 1
    else:
        sizes.append(1)
print(" ".join(map(str, sizes)))' <"$1"
}

scenario_kill() {
	local before after i pid n sizes killed=()
	before=$(pids node)
	# 100 requests at least, however slow the machine: the count below
	# checked its speed, not bouncer's.
	load "$NS_C" "http://$VIP_NODE/" --until "$WORK/kill.stop" --min-count 101 \
		>"$WORK/kill.json" &
	local loader=$!
	for i in 0 1 2 3 0; do
		pid=$(workers node "[x['pid'] for x in w if x['id'] == $i][0]")
		# A worker still starting after the last kill: wait for it.
		wait_for 10 all_ready node 4
		pid=$(workers node "[x['pid'] for x in w if x['id'] == $i][0]")
		kill -KILL "$pid"
		killed+=("$pid")
		sleep 2 # the issue's cadence: a kill every 2 s, not a wait for a condition
	done
	touch "$WORK/kill.stop"
	wait "$loader"
	diag "killed ${killed[*]}: $(cat "$WORK/kill.json")"
	# No connection refused. A kill cuts what its worker held when its
	# files were closed: the request it was serving and, as the client
	# reconnects at once, at most one more whose handshake the dying
	# listener completed (node may close the served connection's socket
	# before the listener's). So the failures, all listed (at most 10),
	# come in at most one burst per kill, each of at most 2; kills are
	# 2 s apart, a burst's failures milliseconds.
	[[ $(json "sum('refused' in e for e in d['errors'])" <"$WORK/kill.json") -eq 0 ]]
	[[ $(json "d['failed'] <= 2 * ${#killed[@]} and d['failed'] == len(d['errors']) and d['ok'] > 100" \
		<"$WORK/kill.json") == True ]]
	read -ra sizes < <(bursts "$WORK/kill.json")
	((${#sizes[@]} <= ${#killed[@]}))
	for n in "${sizes[@]}"; do
		((n <= 2))
	done
	wait_for 15 all_ready node 4
	after=$(pids node)
	diag "pids before $before, after $after"
	for pid in "${killed[@]}"; do
		[[ " $after " != *" $pid "* ]]
	done
	[[ $(workers node "sum(x['restarts'] for x in w)") -ge 5 ]]
}

crash_failed() { [[ $(workers crash "w[0]['state']") == failed ]]; }

scenario_crash() {
	wait_for 20 crash_failed
	[[ $(workers crash "w[0]['restarts']") -ge 4 ]]
	grep -q "crash/0 stdout: giving up" "$WORK/agent.log"
	grep -q "crash/0: .*restart in [0-9]* ms" "$WORK/agent.log"
	grep -q "crash/0: .*failed, not restarted" "$WORK/agent.log"
	# Back off doubled: the delays logged grow.
	grep -o "crash/0: .*restart in [0-9]* ms" "$WORK/agent.log" |
		sed 's/.*restart in \([0-9]*\) ms/\1/' >"$WORK/delays"
	diag "backoff delays: $(tr '\n' ' ' <"$WORK/delays")"
	[[ $(head -1 "$WORK/delays") -lt $(tail -1 "$WORK/delays") ]]
	all_ready node 4
	all_ready mix 2
}

scenario_mixed() {
	local r
	r=$(fair_load "$NS_C" "http://$VIP_MIX/" 300)
	# At least 61 each: P(false failure) < 7.3e-7, binomial(300, 340/1021),
	# union over 3 backends (was half a share, 50: 8.6e-11).
	fair_share "$r" 300 3 "py 0" "py 1" "py -"
	# From L itself, XDP never sees the flows: the workers serve them all,
	# the ring's choices of B1 included.
	r=$(fair_load "$NS_L" "http://$VIP_MIX/" 200)
	# Each worker has its own 340 of the 1021 slots, and the re-picks of
	# some of B1's: at least 36 each, P(false failure) < 8.8e-7,
	# binomial(200, 340/1021), union over 2 workers (was 50, half of a
	# two-way share: 8.7e-3 from their own slots alone, less by as much as
	# the re-picks add).
	fair_share "$r" 200 3 "py 0" "py 1"
	[[ $(echo "$r" | json "d['by'].get('py -', 0)") -eq 0 ]]
	[[ $(ctl -j ring show mix | json "len([b for b in d['backends'] if b['slots'] > 0])") -eq 3 ]]
}

# udp_load NS COUNT: COUNT datagrams to the UDP VIP, each from a new
# socket (a new flow); the report as load's. The answer must come from
# the VIP's address and port.
udp_load() {
	in_ns "$1" "$PY" - "$VIP_UDP" "$2" <<'EOF'
import json, socket, sys
ok, failed, by, errors = 0, 0, {}, []
for i in range(int(sys.argv[2])):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1.0)
    try:
        s.sendto(b"who", (sys.argv[1], 53))
        data, peer = s.recvfrom(512)
        if peer != (sys.argv[1], 53):
            raise OSError("answer from %s:%d" % peer)
        who = " ".join(data.decode().split()[:2])
        ok += 1
        by[who] = by.get(who, 0) + 1
    except OSError as e:
        failed += 1
        errors.append(str(e))
    s.close()
json.dump({"ok": ok, "failed": failed, "by": by, "errors": errors[:5]}, sys.stdout)
EOF
}

scenario_udp() {
	local r
	r=$(udp_load "$NS_C" 200)
	# At least 66 each: P(false failure) < 8.9e-7, binomial(200, 510/1021),
	# union over 2 workers (was half a share, 50: 3.0e-13).
	fair_share "$r" 200 2 "py 0" "py 1"
	r=$(udp_load "$NS_L" 200)
	# As above: P(false failure) < 8.9e-7.
	fair_share "$r" 200 2 "py 0" "py 1"
	# sk_lookup ran once per datagram: 400 in all, each assigned.
	[[ $(ctl -j stats | json "d['global']['sk_assign'] >= 400") == True ]]
}

reload_done() { [[ $(ctl -j worker list "$1" | json "d['vips'][0]['reloading']") == False ]]; }

scenario_reload() {
	local before after pid
	before=$(pids node)
	# Started before the reload and stopped after it: the requests span it
	# whatever their rate. 51 at least, for the count checked below (a
	# busy machine made 49 in the reload's time).
	load "$NS_C" "http://$VIP_NODE/" --until "$WORK/reload.stop" --min-count 51 \
		>"$WORK/reload.json" &
	local loader=$!
	# --wait: bouncerctl returns when the reload has ended, 0 if it worked.
	ctl worker reload node --wait >/dev/null
	touch "$WORK/reload.stop"
	wait "$loader"
	diag "reload: $(cat "$WORK/reload.json")"
	[[ $(ctl -j worker list node | json "d['vips'][0]['last_reload']") == ok ]]
	[[ $(json "d['failed'] == 0 and d['ok'] > 50" <"$WORK/reload.json") == True ]]
	after=$(pids node)
	diag "pids before $before, after $after"
	for pid in $before; do
		[[ " $after " != *" $pid "* ]]
	done
	all_ready node 4

	# A program that never listens: the reload gives up, the old serve.
	before=$(pids mix)
	write_config '"sleep", "600"'
	# 60 requests at least, for the check on py 0's below.
	load "$NS_C" "http://$VIP_MIX/" --until "$WORK/abort.stop" --min-count 60 \
		>"$WORK/abort.json" &
	loader=$!
	ctl reload >/dev/null
	wait_for 30 reload_done mix
	touch "$WORK/abort.stop"
	wait "$loader"
	diag "aborted reload: $(ctl -j worker list mix | json "d['vips'][0]['last_reload']")"
	[[ $(ctl -j worker list mix | json "d['vips'][0]['last_reload']") != ok ]]
	[[ $(pids mix) == "$before" ]]
	all_ready mix 2
	# py 0 served: P(false failure) < 3e-11, none of 60 or more requests
	# for 340 of 1021 slots, (681/1021)^60 (was any number of requests, as
	# many as came in the reload's time: (681/1021)^n, above 1e-6 for n < 35).
	[[ $(json "d['failed'] == 0 and d['by'].get('py 0', 0) > 0" <"$WORK/abort.json") == True ]]
	[[ $(in_l "^sleep 600") -eq 0 ]]
	# The workers run the old program, and say so; the file put back
	# asks for nothing new.
	[[ $(ctl -j worker list mix | json "d['vips'][0]['command']") == *worker_app.py ]]
	write_config
	ctl reload >/dev/null
	[[ $(ctl -j worker list mix | json "d['vips'][0]['reloading']") == False ]]
	[[ $(pids mix) == "$before" ]]
}

scenario_scale() {
	local r
	# --wait returns once the removed workers have exited.
	ctl worker scale node 2 --wait >/dev/null
	[[ $(workers node "len(w)") -eq 2 ]]
	[[ $(in_l examples/app/server.js) -eq 2 ]]
	r=$(fair_load "$NS_C" "http://$VIP_NODE/" 100)
	# At least 26 each: P(false failure) < 5.9e-7, binomial(100, 510/1021),
	# union over 2 workers (was half a share, 25: 1.9e-7).
	fair_share "$r" 100 2 "worker 0" "worker 1"
	# ... and once the new one listens.
	ctl worker scale node 3 --wait >/dev/null
	all_ready node 3
	r=$(fair_load "$NS_C" "http://$VIP_NODE/" 300)
	# At least 61 each: P(false failure) < 7.3e-7, binomial(300, 340/1021),
	# union over 3 workers (was half a share of 150, 25: 4.4e-6).
	fair_share "$r" 300 3 "worker 0" "worker 1" "worker 2"
	ctl worker scale node 4 >/dev/null
	wait_for 20 all_ready node 4
}

# logged_since LINE PATTERN: the agent logged PATTERN after line LINE.
logged_since() { tail -n "+$(($1 + 1))" "$WORK/agent.log" | grep -q "$2"; }

scenario_adopt() {
	local before after r
	before=$(pids node)
	stop_agent KILL
	# No agent: the workers serve on, and log each request (to a pipe
	# nobody reads now: node dies of EPIPE if it has no reader).
	r=$(fair_load "$NS_C" "http://$VIP_NODE/" 400)
	# At least 59 each: P(false failure) < 8.7e-7, binomial(400, 255/1021),
	# union over 4 workers (was half a share of 100, 13: 4.2e-3). The
	# binomial needs fair_load's ports: with the kernel's picks, after the
	# kill scenario, the ring was as fair and the shares were 105/149/53/93.
	fair_share "$r" 400 4 "worker 0" "worker 1" "worker 2" "worker 3"
	local mark
	mark=$(wc -l <"$WORK/agent.log")
	start_agent
	wait_for 20 all_ready node 4
	after=$(pids node)
	diag "pids before $before, after $after"
	[[ $before == "$after" ]]
	[[ $(in_l examples/app/server.js) -eq 4 ]]
	grep -q "node/0: adopted pid" "$WORK/agent.log"
	# What they logged meanwhile, read by the new agent.
	wait_for 5 logged_since "$mark" "node/[0-3] stdout: GET / from"
	r=$(fair_load "$NS_C" "http://$VIP_NODE/" 400)
	# As before the agent left: P(false failure) < 8.7e-7 (was half a
	# share of 200, 25: 1.6e-5).
	fair_share "$r" 400 4 "worker 0" "worker 1" "worker 2" "worker 3"
}

scenario_stop() {
	stop_agent TERM
	[[ $(in_l examples/app/server.js) -eq 0 ]]
	[[ $(in_l tests/live/worker_app.py) -eq 0 ]]
}

setup
run spread scenario_spread
run listing scenario_listing
run kill scenario_kill
run crash scenario_crash
run mixed scenario_mixed
run udp scenario_udp
run reload scenario_reload
run scale scenario_scale
run adopt scenario_adopt
run stop scenario_stop
((FAILURES == 0))
