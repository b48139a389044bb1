#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# UDP workers that answer from their VIP's address and port: dnsmasq from
# Debian, unchanged, run by bouncerd as the workers of DNS VIPs on port 53
# (each started with --port=$PORT, and named by its TXT record for w.test,
# "worker$WORKER_ID"), queried by dig, which drops an answer from another
# source ("reply from unexpected source"), and by connected Python sockets
# (tests/live/dns_client.py), which receive nothing else. A bridge (in
# its own namespace) joins the client C, the load balancer L and a remote
# backend B1, whose own dnsmasq answers "b1" (dsr). L holds the VIPs on lo.
#
#   dig4       300 queries from C and 300 from L itself to the IPv4 VIP
#              (3 workers and B1): every one answered, each backend with a
#              fair share (as each share check here: at least the count a
#              fair ring misses with probability under 1e-6,
#              tests/lib/share_bound.py); L's own queries all go to the
#              workers
#   dig6       the same over IPv6: 200 queries from C and from L to the
#              IPv6 VIP (2 workers)
#   connected  16 connected sockets from C and 16 from L to each VIP, 20
#              queries each: every answer from the VIP's address and port,
#              and each socket (one flow) answered by one server throughout
#   reload     a rolling reload of the IPv4 VIP's workers under dig and
#              connected clients from C and L: no query unanswered, each
#              flow stays on its worker id, every worker's pid replaced
#   kill       kill -9 of a worker under the same load: the unanswered
#              queries are counted and reported; each client (one query at
#              a time) loses at most the one it had in flight; a flow of
#              the killed worker moves once and never back, the others
#              stay; the worker restarts with a new pid
#   sockets    each worker's UDP socket is bound to the VIP's address and
#              port (ss), and the agent does not warn about source ports
#
# Run as root from anywhere; needs build/bouncerd, build/bouncerctl,
# build/bouncer-decap, dnsmasq and dig. Prints "ok - NAME" / "not ok - NAME"
# per scenario; exit 77 when not root.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BOUNCERD=${BOUNCERD:-$ROOT/build/bouncerd}
BOUNCERCTL=${BOUNCERCTL:-$ROOT/build/bouncerctl}
DECAP=${DECAP:-$ROOT/build/bouncer-decap}
PY=/usr/bin/python3

NS_SW=bnc-uw-$$-sw
NS_C=bnc-uw-$$-c
NS_L=bnc-uw-$$-l
NS_B1=bnc-uw-$$-b1
PIN=/sys/fs/bpf/bnc-uw-$$

C_IP=10.6.0.1
L_IP=10.6.0.2
B1_IP=10.6.0.11
C_IP6=fd00:6::1
L_IP6=fd00:6::2
VIP4=10.6.0.53
VIP6=fd00:6:53::53

WORK=
FAILURES=0
SETUP_DONE=
# shellcheck source=tests/lib/live.sh
. "$ROOT/tests/lib/live.sh"

# How long a client waits for each answer before counting the query lost:
# 1 s, scaled (under emulation a busy guest can take longer to answer
# without losing anything); whole seconds, as dig takes them.
QUERY_TIMEOUT=$(scaled_seconds 1)

require_root udp_workers
require_built "$BOUNCERD" "$BOUNCERCTL" "$DECAP"
require_tools nsenter dnsmasq dig "$PY"

cleanup() {
	set +e
	trap '' PIPE
	if [[ -z $SETUP_DONE ]]; then
		echo "not ok - setup"
	fi
	if [[ -n $WORK && -f $WORK/agent.log && ($FAILURES -gt 0 || -z $SETUP_DONE) ]]; then
		grep -v "compile time options" "$WORK/agent.log" | tail -n 60 | sed 's/^/# /' >&2
		# Where packets went: the datapath's counters (drops, passes,
		# sk_lookup's choices) and each backend's traffic.
		ctl stats 2>&1 | sed 's/^/# /' >&2
	fi
	[[ -n $WORK && -f $WORK/agent.pid ]] && kill -KILL "$(cat "$WORK/agent.pid")" 2>/dev/null
	# The workers and B1's server run in L and B1: netns_destroy kills
	# every process there.
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
all_ready() { [[ $(workers "$1" "sum(x['state'] == 'ready' for x in w)") -eq $2 ]]; }
pids() { workers "$1" "' '.join(str(x['pid']) for x in sorted(w, key=lambda x: x['id']))"; }
reload_done() { [[ $(ctl -j worker list "$1" | json "d['vips'][0]['reloading']") == False ]]; }

# dnsmasq as it comes, answering only its own TXT record: no upstream,
# no hosts file, no pid file, in the foreground, logging to stderr.
DNSMASQ_ARGS="-k --conf-file=/dev/null --no-resolv --no-hosts --pid-file= --user=root \
--log-facility=-"

write_config() {
	cat >"$WORK/bouncer.conf" <<EOF
interfaces = [ "vl" ];
mode = "native";
pin_dir = "$PIN/lb";
control_socket = "$WORK/ctl.sock";
flow_table_size = 65536;
vips = (
  { name = "dns4"; address = "$VIP4"; port = 53; protocol = "udp"; ring_size = 1021;
    forwarding = "dsr"; check = { type = "none"; };
    backends = ( { address = "$B1_IP"; port = 53; } );
    workers = { command = [ "sh", "-c",
                            "exec dnsmasq $DNSMASQ_ARGS --port=\$PORT --txt-record=w.test,worker\$WORKER_ID" ];
                count = 3; port_base = 9500; alt_port_base = 9550; kill_timeout = 2; }; },
  { name = "dns6"; address = "$VIP6"; port = 53; protocol = "udp"; ring_size = 1021;
    workers = { command = [ "sh", "-c",
                            "exec dnsmasq $DNSMASQ_ARGS --port=\$PORT --txt-record=w.test,worker\$WORKER_ID" ];
                count = 2; port_base = 9600; alt_port_base = 9650; kill_timeout = 2; }; }
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

b1_answers() {
	in_ns "$NS_B1" dig +short +tries=1 +timeout="$QUERY_TIMEOUT" @127.0.0.1 w.test TXT | grep -q b1
}

dsr_warm() {
	[[ $(dig_load "$NS_C" "$VIP4" 20 | dig_report | json "d['ok']") -eq 20 ]]
}

setup() {
	WORK=$(mktemp -d /tmp/bnc-udp-workers.XXXXXX)
	mkdir -p "$PIN"
	bridge_world "bnc-uw-$$" c l b1
	ip -n "$NS_C" addr add "$C_IP/24" dev vc
	ip -n "$NS_L" addr add "$L_IP/24" dev vl
	ip -n "$NS_B1" addr add "$B1_IP/24" dev vb1
	ip -n "$NS_C" addr add "$C_IP6/64" dev vc nodad
	ip -n "$NS_L" addr add "$L_IP6/64" dev vl nodad
	# L holds the VIPs: what XDP passes, its stack delivers to the workers.
	ip -n "$NS_L" addr add "$VIP4/32" dev lo
	ip -n "$NS_L" addr add "$VIP6/128" dev lo
	ip -n "$NS_C" route add "$VIP4/32" via "$L_IP"
	ip -n "$NS_C" -6 route add "$VIP6/128" via "$L_IP6"
	in_ns "$NS_L" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2
	# B1 is a DSR backend of the IPv4 VIP: it holds the VIP on lo and
	# answers from it.
	ip -n "$NS_B1" addr add "$VIP4/32" dev lo
	in_ns "$NS_B1" sysctl -qw net.ipv4.conf.all.arp_ignore=1 \
		net.ipv4.conf.all.arp_announce=2 net.ipv4.conf.all.rp_filter=0 \
		net.ipv4.conf.default.rp_filter=0
	# XDP_TX out of L's veth reaches the bridge only with a program on
	# the peer (FACTS: veth needs NAPI there); the client computes its
	# own checksums for frames that crossed it.
	in_ns "$NS_SW" "$DECAP" attach pl 192.0.2.1 --pin "$PIN/decap-sw" >/dev/null
	in_ns "$NS_C" ethtool -K vc tx off >/dev/null
	# shellcheck disable=SC2086 # DNSMASQ_ARGS is a list of words
	nsenter --net="/run/netns/$NS_B1" -- dnsmasq $DNSMASQ_ARGS --port=53 \
		--txt-record=w.test,b1 >"$WORK/b1.log" 2>&1 </dev/null &
	wait_for 5 b1_answers
	write_config
	start_agent
	wait_for 20 all_ready dns4 3
	wait_for 20 all_ready dns6 2
	# B1 has no health check: it is in the ring before the agent has
	# resolved its next hop (every 5 s), and XDP drops what it forwards
	# until then (drop_fib): wait until a batch from C loses nothing.
	wait_for 20 dsr_warm
	SETUP_DONE=1
}

# dig_load NS VIP COUNT: COUNT queries from NS to VIP for w.test TXT in
# one dig (batch mode: each query from a socket of its own, a new flow),
# each tried once with QUERY_TIMEOUT; dig's output on stdout, for
# dig_report.
dig_load() {
	local i
	for ((i = 0; i < $3; i++)); do
		echo "@$2 w.test TXT"
	done >"$WORK/batch.$1.$2.$3"
	in_ns "$1" dig +short +tries=1 +timeout="$QUERY_TIMEOUT" -f "$WORK/batch.$1.$2.$3" || true
}

# dig_loop NS VIP STOP OUT: dig_load's batches of 25 until STOP exists,
# the output appended to OUT.
dig_loop() {
	while [[ ! -e $3 ]]; do
		dig_load "$1" "$2" 25 >>"$4"
	done
}

# dig_report: a JSON object from dig_load's output on stdin: "ok" (answers),
# "lost" (queries no answer was accepted for), "unexpected" (answers dig
# dropped for their source), "by" (answers by server name), and "errors":
# dig's reasons for the lost ones ("timed out", "connection refused": an
# ICMP error, which no server sent if sk_lookup found none), to tell where
# a query was lost.
dig_report() {
	"$PY" -c '
import json, sys
r = {"ok": 0, "lost": 0, "unexpected": 0, "by": {}, "errors": {}}
for line in sys.stdin:
    line = line.strip()
    if line.startswith("\""):
        r["ok"] += 1
        name = line.strip("\"")
        r["by"][name] = r["by"].get(name, 0) + 1
    elif "no servers could be reached" in line:
        r["lost"] += 1
    elif "unexpected source" in line:
        r["unexpected"] += 1
    elif "communications error" in line:
        why = line.rsplit(":", 1)[-1].strip()
        r["errors"][why] = r["errors"].get(why, 0) + 1
json.dump(r, sys.stdout)'
}

# shares REPORT N M NAME...: N answered, none lost or dropped, and each NAME
# answered at least T, T from tests/lib/share_bound.py: the count that a
# server holding floor(1021/M) of the ring's slots misses with probability
# below 1e-6, union over the NAMEs.
shares() {
	local report=$1 n=$2 m=$3 t name got
	shift 3
	diag "$report"
	[[ $(echo "$report" | json "d['ok'] == $n and d['lost'] == 0 and d['unexpected'] == 0") == True ]]
	t=$("$PY" "$ROOT/tests/lib/share_bound.py" "$n" $# --over "$m" --explain)
	for name in "$@"; do
		got=$(echo "$report" | json "d['by'].get('$name', 0)")
		((got >= t)) || {
			diag "$name answered $got of $n, under $t"
			return 1
		}
	done
}

scenario_dig4() {
	local r
	r=$(dig_load "$NS_C" "$VIP4" 300 | dig_report)
	# At least 47 each: P(false failure) < 1e-6, binomial(300, 255/1021),
	# union over 4 servers.
	shares "$r" 300 4 worker0 worker1 worker2 b1
	# From L itself XDP sees nothing: sk_lookup steers every query, B1's
	# share re-picked among the workers, whose shares only grow.
	r=$(dig_load "$NS_L" "$VIP4" 300 | dig_report)
	shares "$r" 300 4 worker0 worker1 worker2
	[[ $(echo "$r" | json "d['by'].get('b1', 0)") -eq 0 ]]
}

scenario_dig6() {
	local r
	r=$(dig_load "$NS_C" "$VIP6" 200 | dig_report)
	# At least 66 each: P(false failure) < 1e-6, binomial(200, 510/1021),
	# union over 2 workers.
	shares "$r" 200 2 worker0 worker1
	r=$(dig_load "$NS_L" "$VIP6" 200 | dig_report)
	shares "$r" 200 2 worker0 worker1
}

# client NS VIP ARGS...: dns_client.py's report.
client() {
	local ns=$1 vip=$2
	shift 2
	in_ns "$ns" "$PY" "$ROOT/tests/live/dns_client.py" "$vip" --timeout "$QUERY_TIMEOUT" "$@"
}

scenario_connected() {
	local ns vip r
	for ns in "$NS_C" "$NS_L"; do
		for vip in "$VIP4" "$VIP6"; do
			r=$(client "$ns" "$vip" --clients 16 --count 20)
			diag "$vip from ${ns##*-}: $r"
			[[ $(echo "$r" | json "d['ok'] == 320 and d['lost'] == 0 and d['wrong_source'] == 0") == True ]]
			# One flow, one server.
			[[ $(echo "$r" | json "all(len(f) == 1 for f in d['flows'])") == True ]]
		done
	done
}

# progress NAME: the work each loader of under_load has done so far:
# answers for dig, rounds for the connected clients.
progress() {
	local ns
	for ns in c l; do
		grep -c '^"' "$WORK/$1.digraw.$ns" || true
		cat "$WORK/$1.rounds.$ns" 2>/dev/null || echo 0
	done
}

# progressed NAME MIN...: each loader's progress is at least its MIN.
progressed() {
	local name=$1 i=0 p
	shift
	local mins=("$@")
	for p in $(progress "$name"); do
		((p >= mins[i])) || return 1
		i=$((i + 1))
	done
}

# under_load NAME ACTION...: dig from C and from L, and 8 connected
# sockets from each, all to the IPv4 VIP, from before ACTION runs until
# each has done more work after it returned (50 answers for dig, 3 rounds
# for the sockets); the four reports in $WORK/NAME.{dig,client}.{c,l}.
under_load() {
	local name=$1 ns loaders=() before=() p
	shift
	for ns in "$NS_C" "$NS_L"; do
		: >"$WORK/$name.digraw.${ns##*-}"
		dig_loop "$ns" "$VIP4" "$WORK/$name.stop" "$WORK/$name.digraw.${ns##*-}" &
		loaders+=($!)
		client "$ns" "$VIP4" --clients 8 --until "$WORK/$name.stop" \
			--progress "$WORK/$name.rounds.${ns##*-}" >"$WORK/$name.client.${ns##*-}" &
		loaders+=($!)
	done
	# Every loader under way, then the action.
	wait_for 20 progressed "$name" 1 1 1 1
	"$@"
	for p in $(progress "$name"); do
		before+=($((p + (${#before[@]} % 2 ? 3 : 50))))
	done
	wait_for 30 progressed "$name" "${before[@]}"
	touch "$WORK/$name.stop"
	wait "${loaders[@]}"
	for ns in c l; do
		dig_report <"$WORK/$name.digraw.$ns" >"$WORK/$name.dig.$ns"
		diag "$name: dig from $ns: $(cat "$WORK/$name.dig.$ns")"
		diag "$name: connected from $ns: $(cat "$WORK/$name.client.$ns")"
	done
}

# unanswered NAME: the queries lost in all four reports.
unanswered() {
	cat "$WORK/$1".dig.* "$WORK/$1".client.* | "$PY" -c '
import json, sys
print(sum(json.loads(line).get("lost", 0) for line in sys.stdin.read().replace("}{", "}\n{").splitlines()))'
}

do_reload() {
	ctl worker reload dns4 >/dev/null
	wait_for 30 reload_done dns4
}

scenario_reload() {
	local before after pid f
	before=$(pids dns4)
	under_load reload do_reload
	after=$(pids dns4)
	diag "pids before $before, after $after; unanswered: $(unanswered reload)"
	for pid in $before; do
		[[ " $after " != *" $pid "* ]]
	done
	all_ready dns4 3
	[[ $(unanswered reload) -eq 0 ]]
	for f in "$WORK"/reload.dig.*; do
		[[ $(json "d['unexpected'] == 0 and d['ok'] > 0" <"$f") == True ]]
	done
	# A flow stays on its worker id: the replacement took over its socket.
	for f in "$WORK"/reload.client.*; do
		[[ $(json "d['wrong_source'] == 0 and all(len(x) == 1 for x in d['flows'])" <"$f") == True ]]
	done
}

KILLED=
new_pid_ready() {
	local pid
	pid=$(workers dns4 "[x['pid'] for x in w if x['id'] == 1 and x['state'] == 'ready'] or [0]")
	pid=${pid//[^0-9]/}
	[[ $pid -gt 0 && $pid -ne $KILLED ]]
}

do_kill() {
	KILLED=$(workers dns4 "[x['pid'] for x in w if x['id'] == 1][0]")
	kill -KILL "$KILLED"
	wait_for 15 new_pid_ready
}

scenario_kill() {
	local f
	under_load kill do_kill
	diag "killed worker1 (pid $KILLED): $(unanswered kill) queries unanswered"
	# Each loader has one query in flight at a time: it may lose that
	# one, if the killed worker held it, and nothing else.
	for f in "$WORK"/kill.dig.* "$WORK"/kill.client.*; do
		[[ $(json "d['lost'] <= 1 and d['ok'] > 0" <"$f") == True ]]
	done
	for f in "$WORK"/kill.dig.*; do
		[[ $(json "d['unexpected']" <"$f") -eq 0 ]]
	done
	# A flow of the killed worker moved once, to a live worker, and stayed
	# there when it came back; every other flow stayed where it was.
	for f in "$WORK"/kill.client.*; do
		[[ $(json "d['wrong_source'] == 0 and all(len(x) == 1 or (len(x) == 2 and x[0] == 'worker1') for x in d['flows'])" <"$f") == True ]]
	done
}

scenario_sockets() {
	local n
	# ss lists each worker's UDP socket on the VIP's address and port.
	n=$(in_ns "$NS_L" ss -Hun state unconnected "( sport = :53 )" | grep -c "$VIP4:53")
	[[ $n -eq 3 ]]
	n=$(in_ns "$NS_L" ss -Hun state unconnected "( sport = :53 )" | grep -c "\[$VIP6\]:53")
	[[ $n -eq 2 ]]
	lacks "leave from their own port" "$WORK/agent.log"
	lacks "was not bound to the VIP's port" "$WORK/agent.log"
	grep -q "bind hook attached" "$WORK/agent.log"
}

setup
run dig4 scenario_dig4
run dig6 scenario_dig6
run connected scenario_connected
run reload scenario_reload
run kill scenario_kill
run sockets scenario_sockets
((FAILURES == 0))
