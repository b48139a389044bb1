#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Floods against the flow path. One L2 segment (a bridge in its own
# namespace) joins the client C, the load balancer L and three backends
# B1-B3 (one-arm direct server return, the VIPs on the backends' lo). The
# flow table is made small (FLOW_TABLE entries) so that a flood ten times
# its size takes a second.
#
# Each scenario runs tests/lib/longconn.py twice in C: 100 busy
# connections (an echo every 0.2 s) that also open 20 new connections a
# second, and 100 idle ones (an echo when they open, the next IDLE seconds
# later, nothing between). While the idle ones are silent, trafgen sends
# 10 x FLOW_TABLE spoofed packets (random source address and port) from
# C's side, and half way through the VIP's ring changes. Then every idle
# connection echoes once more on the new ring. Each must end with no
# connection broken (reset, closed, a wrong or missing echo), idle ones
# included, and no new connection failed.
#
#   syn   SYNs to the TCP VIP; b3 is added half way
#   ack   ACKs to the TCP VIP, mid-stream packets that match no flow;
#         b1's weight goes to 3 half way
#   udp   datagrams to the UDP VIP on the same address; b2 is drained
#         half way (its connections stay, new ones go elsewhere)
#   clean the ring changes back (b2 ready again) under 100 busy
#         connections, with ring_history_idle reloaded to HISTORY_IDLE s:
#         the changed slots stay changed while those connections run
#         (their packets still reach previous backends), and are clean
#         again within HISTORY_IDLE s of their end; nothing broke, and new
#         connections after the cleaning keep working
#   stats `bouncerctl stats` shows the flow table as sampled within the
#         sample period: its size, each CPU's share (the size over the
#         possible CPUs: one LRU list each), and its turnover
#
# Run as root from anywhere; needs build/bouncerd, build/bouncerctl and
# build/bouncer-decap, and trafgen (netsniff-ng). Prints "ok - NAME" /
# "not ok - NAME" per scenario; exit 77 when not root.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BOUNCERD=${BOUNCERD:-$ROOT/build/bouncerd}
BOUNCERCTL=${BOUNCERCTL:-$ROOT/build/bouncerctl}
DECAP=${DECAP:-$ROOT/build/bouncer-decap}
PY=/usr/bin/python3

P=bnc-fl-$$
NS_SW=$P-sw
NS_C=$P-c
NS_L=$P-l
NS_B1=$P-b1
NS_B2=$P-b2
NS_B3=$P-b3
PIN=/sys/fs/bpf/$P

C_IP=10.7.0.1
L_IP=10.7.0.2
B1_IP=10.7.0.11
B2_IP=10.7.0.12
B3_IP=10.7.0.13
VIP=10.7.0.100
PORT=7000
UDP_PORT=5300
# The smallest table the agent accepts is 1024; this one is small enough
# that ten times its size is sent in about two seconds.
FLOW_TABLE=8192
FLOOD=$((10 * FLOW_TABLE))
# trafgen's gap between packets. With a gap it sends one packet a system
# call: about 45,000 a second here, which the bridge and the backends
# absorb without dropping the client's own packets.
FLOOD_GAP=1us
CONNS=100
# Seconds the idle connections stay silent. Everything between their
# first and second echo (the flood, the ring change) must fit in it: about
# 2 s here, 20 s under emulation. It is the length of the load, not a
# bound on it: under emulation (BOUNCER_TIME_SCALE) it grows threefold at
# most, as longconn.py's rate shrinks (RATE_SCALE_MAX), where the whole
# factor would make every scenario wait minutes on connections whose flood
# has long been sent.
IDLE=$(awk -v f="${BOUNCER_TIME_SCALE:-1}" 'BEGIN { print 30 * (f < 3 ? f : 3) }')
INTERVAL=0.5
CHECK_TIMEOUT=0.45
# The client and the flood send from one CPU. A veth's XDP program runs
# on the sending CPU, and a flow table with per-CPU LRU lists evicts from
# the list of the CPU that inserts: a flood from another CPU than the
# client's would leave the client's flows alone by chance.
CPU=0
# The clean scenario's ring_history_idle (s).
HISTORY_IDLE=3

WORK=
FAILURES=0
SETUP_DONE=
# shellcheck source=tests/lib/live.sh
. "$ROOT/tests/lib/live.sh"

require_root flood
require_built "$BOUNCERD" "$BOUNCERCTL" "$DECAP"
require_tools trafgen ethtool nsenter "$PY"

cleanup() {
	set +e
	trap '' PIPE
	if [[ -z $SETUP_DONE ]]; then
		echo "not ok - setup"
		[[ -n $WORK && -f $WORK/agent.log ]] && sed 's/^/# /' "$WORK/agent.log" >&2
	fi
	[[ -n $WORK && -f $WORK/agent.pid ]] && kill -KILL "$(cat "$WORK/agent.pid")" 2>/dev/null
	netns_destroy "$NS_C" "$NS_L" "$NS_B1" "$NS_B2" "$NS_B3" "$NS_SW"
	[[ -d $PIN ]] && rm -rf "$PIN"
	[[ -n $WORK ]] && rm -rf "$WORK"
}
trap cleanup EXIT
trap "exit 1" INT TERM HUP PIPE

ctl() { in_ns "$NS_L" timeout 10 "$BOUNCERCTL" -s "$WORK/ctl.sock" "$@"; }

# write_config [RING_HISTORY_IDLE]
write_config() {
	cat >"$WORK/bouncer.conf" <<EOF
interfaces = [ "vl" ];
mode = "native";
log_level = "info";
pin_dir = "$PIN/lb";
control_socket = "$WORK/ctl.sock";
flow_table_size = $FLOW_TABLE;
${1:+ring_history_idle = $1;}
vips = (
  { name = "web"; address = "$VIP"; port = $PORT; protocol = "tcp"; forwarding = "dsr";
    ring_size = 1021;
    check = { type = "tcp"; interval = $INTERVAL; timeout = $CHECK_TIMEOUT; rise = 2; fall = 2; };
    backends = ( { address = "$B1_IP"; port = $PORT; }, { address = "$B2_IP"; port = $PORT; } ); },
  { name = "dns"; address = "$VIP"; port = $UDP_PORT; protocol = "udp"; forwarding = "dsr";
    ring_size = 1021;
    check = { type = "none"; };
    backends = ( { address = "$B1_IP"; port = $UDP_PORT; },
                 { address = "$B2_IP"; port = $UDP_PORT; } ); }
);
EOF
}

agent_answers() { ctl status >/dev/null 2>&1; }

backend_is() { # VIP ADDR FIELD VALUE
	[[ $(ctl -j backend list "$1" |
		json "[b['$3'] for b in d['backends'] if b['address'] == '$2'][0]") == "$4" ]]
}

all_up() {
	[[ $(ctl -j backend list "$1" |
		json "all(b['datapath'] == 'up' for b in d['backends'])") == True ]]
}

setup() {
	local ns i
	WORK=$(mktemp -d /tmp/bnc-flood.XXXXXX)
	mkdir -p "$PIN"
	bridge_world "$P" c l b1 b2 b3
	# No netfilter on the bridge: it would check every spoofed packet.
	if in_ns "$NS_SW" test -e /proc/sys/net/bridge/bridge-nf-call-iptables; then
		in_ns "$NS_SW" sysctl -qw net.bridge.bridge-nf-call-iptables=0 \
			net.bridge.bridge-nf-call-ip6tables=0 net.bridge.bridge-nf-call-arptables=0
	fi
	ip -n "$NS_C" addr add "$C_IP/24" dev vc
	ip -n "$NS_L" addr add "$L_IP/24" dev vl
	i=1
	for ns in "$NS_B1" "$NS_B2" "$NS_B3"; do
		ip -n "$ns" addr add "10.7.0.1$i/24" dev "vb$i"
		ip -n "$ns" addr add "$VIP/32" dev lo
		in_ns "$ns" sysctl -qw net.ipv4.conf.all.arp_ignore=1 \
			net.ipv4.conf.all.arp_announce=2 net.ipv4.conf.all.rp_filter=0 \
			net.ipv4.conf.default.rp_filter=0
		nsenter --net="/run/netns/$ns" -- "$PY" "$ROOT/tests/lib/echo_server.py" "$PORT" \
			"b$i" >/dev/null 2>&1 </dev/null &
		i=$((i + 1))
	done
	ip -n "$NS_C" route add "$VIP/32" via "$L_IP"
	# XDP_TX out of L's veth reaches the bridge only with a program on the
	# peer (FACTS: veth needs NAPI there); the client computes its own
	# checksums, as the frames the load balancer forwards lose
	# CHECKSUM_PARTIAL.
	in_ns "$NS_SW" "$DECAP" attach pl 192.0.2.1 --pin "$PIN/decap-sw" >/dev/null
	in_ns "$NS_C" ethtool -K vc tx off >/dev/null
	for i in 1 2 3; do
		wait_for 5 in_ns "$P-b$i" "$PY" -c "import socket; socket.create_connection(('10.7.0.1$i', $PORT), 1)"
	done
	write_config
	nsenter --net="/run/netns/$NS_L" -- "$BOUNCERD" -c "$WORK/bouncer.conf" \
		-S "$WORK/state" >>"$WORK/agent.log" 2>&1 </dev/null &
	echo $! >"$WORK/agent.pid"
	wait_for 10 agent_answers
	wait_for 10 all_up web
	L_MAC=$(ip -n "$NS_L" -j link show vl | json "d[0]['address']")
	SETUP_DONE=1
}

# flood_config KIND: trafgen's packet for KIND (syn, ack, udp) from a
# random source address and port to the VIP, through L's MAC. A source
# that happens to be the client's own address and port is a 2^-48 event
# per packet: P < 3e-10 over a flood.
flood_config() {
	local l4
	case $1 in
	syn) l4="tcp(sp=drnd(), dp=$PORT, syn, seq=drnd())" ;;
	ack) l4="tcp(sp=drnd(), dp=$PORT, ack, seq=drnd(), ackseq=drnd())" ;;
	udp) l4="udp(sp=drnd(), dp=$UDP_PORT), fill(0x61, 32)" ;;
	esac
	cat <<EOF
{
  eth(da=$L_MAC, type=0x0800),
  ipv4(saddr=drnd(), daddr=$VIP, ttl=64),
  $l4,
}
EOF
}

# flood KIND N: N spoofed packets of KIND, then trafgen's own count must
# say they all left.
flood() {
	flood_config "$1" >"$WORK/flood-$1.cfg"
	in_ns "$NS_C" timeout 60 taskset -c "$CPU" trafgen -i "$WORK/flood-$1.cfg" -o vc -n "$2" --cpus 1 \
		-t "$FLOOD_GAP" >"$WORK/trafgen.out" 2>&1 || {
		diag "trafgen: $(grep -v 'socket memory' "$WORK/trafgen.out" | tr '\n' ' ')"
		return 1
	}
	# Its counts start with a carriage return.
	grep -q "[[:space:]]$2 packets outgoing" "$WORK/trafgen.out"
}

# client_start NAME INTERVAL RATE [fixed]: longconn.py in C with CONNS long
# connections, until they are open; with "fixed", INTERVAL is not scaled
# (IDLE is already the machine's).
client_start() {
	rm -f "$WORK/$1.stop" "$WORK/$1.ready" "$WORK/$1.progress"
	in_ns "$NS_C" taskset -c "$CPU" "$PY" "$ROOT/tests/lib/longconn.py" "$VIP" "$PORT" \
		--conns "$CONNS" --interval "$2" ${4:+--fixed-interval} --rate "$3" \
		--until "$WORK/$1.stop" --ready "$WORK/$1.ready" \
		--progress "$WORK/$1.progress" \
		--max-time 120 >"$WORK/$1.json" 2>"$WORK/$1.err" </dev/null &
	echo $! >"$WORK/$1.pid"
	wait_for 20 test -e "$WORK/$1.ready"
	wait_for 5 test -e "$WORK/$1.progress"
	[[ $(json "d['open_failed']" <"$WORK/$1.ready") == 0 ]]
}

progress_at_least() { (($(json "d['$2']" <"$WORK/$1.progress") >= $3)); }

client_stop() {
	touch "$WORK/$1.stop"
	wait_for 20 pid_gone "$WORK/$1.pid"
	[[ -s $WORK/$1.json ]]
	diag "$1: $(json "'long %d, broken %d, echoes %d, max echo wait %.3f s; new ok %d failed %d; long by %s, new by %s' % (d['long'], d['broken'], d['echoes'], d['max_echo_s'], d['new_ok'], d['new_failed'], d['long_by'], d['new_by'])" <"$WORK/$1.json")"
}

# intact NAME...: no connection of the clients NAME... broke, no new one
# failed.
intact() {
	local ok=0 name
	for name in "$@"; do
		[[ $(json "d['broken']" <"$WORK/$name.json") == 0 ]] ||
			{ diag "$name broken: $(json "d['broken_list'][:5]" <"$WORK/$name.json")"; ok=1; }
		[[ $(json "d['new_failed']" <"$WORK/$name.json") == 0 ]] ||
			{ diag "$name failed new: $(json "d['new_failures'][:5]" <"$WORK/$name.json")"; ok=1; }
	done
	return $ok
}

# counters: the datapath's global counters, one "name value" a line.
counters() {
	ctl -j stats | json "' '.join('%s=%s' % kv for kv in sorted(d['global'].items()) if kv[1])"
}

# idle_done NAME: every idle connection echoed twice or broke.
idle_done() {
	(($(json "d['echoes'] + d['broken']" <"$WORK/$1.progress") >= 2 * CONNS))
}

# flood_scenario KIND SETTLED CHANGE...: the scenario above, with
# bouncerctl CHANGE... as the ring change half way; the second half of the
# flood starts once the command SETTLED says the change is in the
# datapath.
flood_scenario() {
	local kind=$1 settled=$2 t0 took
	shift 2
	# A scenario that fails half way stops its clients on the way out.
	# shellcheck disable=SC2064 # the names now
	trap "touch '$WORK/$kind-busy.stop' '$WORK/$kind-idle.stop'" EXIT
	client_start "$kind-busy" 0.2 20
	client_start "$kind-idle" "$IDLE" 0 fixed
	t0=$(date +%s)
	# Every idle connection's first echo is done: from here on they are
	# silent until IDLE seconds after they opened.
	wait_for 10 progress_at_least "$kind-idle" echoes "$CONNS"
	diag "before: $(counters)"
	flood "$kind" $((FLOOD / 2))
	ctl "$@" >/dev/null
	wait_for 10 "$settled"
	flood "$kind" $((FLOOD / 2))
	took=$(($(date +%s) - t0))
	diag "flood of $FLOOD $kind packets and the change ($*) took $took s; after: $(counters)"
	# Otherwise the idle connections were not idle throughout.
	((took < IDLE - 5)) || {
		diag "the flood took too long for the idle connections' silence"
		return 1
	}
	# Each idle connection echoes once more, on the new ring, or broke.
	wait_for $((IDLE + 10)) idle_done "$kind-idle"
	diag "$(ctl stats >"$WORK/stats.txt" && grep '^flow table' "$WORK/stats.txt" | tr '\n' ';')"
	diag "agent: $(grep 'flow table:' "$WORK/agent.log" | tr '\n' ';')"
	client_stop "$kind-idle"
	client_stop "$kind-busy"
	trap - EXIT
	# New connections kept succeeding through the flood (20 a second).
	(($(json "d['new_ok']" <"$WORK/$kind-busy.json") >= 100))
	intact "$kind-idle" "$kind-busy"
}

b3_up() { backend_is web "$B3_IP" datapath up; }
b1_weight3() { backend_is web "$B1_IP" weight 3; }
b2_drained() { backend_is web "$B2_IP" datapath drain; }

scenario_syn() { flood_scenario syn b3_up backend add web "$B3_IP:$PORT"; }
scenario_ack() { flood_scenario ack b1_weight3 backend set web "$B1_IP:$PORT" weight 3; }
scenario_udp() { flood_scenario udp b2_drained backend set web "$B2_IP:$PORT" state drain; }

# ft_field KEY: the flow table's KEY in bouncerctl stats.
ft_field() { ctl -j stats | json "d['flow_table']['$1']"; }

scenario_stats() {
	local cpus out
	cpus=$(awk -F- '{ print $NF + 1 }' /sys/devices/system/cpu/possible)
	[[ $(ft_field size_ipv4) == "$FLOW_TABLE" && $(ft_field size_ipv6) == "$FLOW_TABLE" ]]
	[[ $(ft_field cpu_share_ipv4) == $((FLOW_TABLE / cpus)) ]]
	# Sampled every 10 s at least (more when a count takes long).
	"$PY" -c "import sys; sys.exit(0 if float(sys.argv[1]) <= 11 else 1)" "$(ft_field sampled_s_ago)"
	out=$(ctl stats)
	grep -q "^flow table ipv4: [0-9]* of $FLOW_TABLE entries" <<<"$out"
	grep -q '^flow table turnover: [0-9]* inserts/s, [0-9]* evictions/s' <<<"$out"
}

# slots_changed: web's ring slots that keep a previous backend.
slots_changed() { ctl -j vip list | json "[v['slots_changed'] for v in d['vips'] if v['name'] == 'web'][0]"; }
slots_clean() { (($(slots_changed) == 0)); }
# seconds_past T0 S: S seconds have passed since T0 (date +%s).
seconds_past() { (($(date +%s) - $1 >= $2)); }

scenario_clean() {
	local n miss t0 name=clean
	write_config "$HISTORY_IDLE"
	ctl reload >/dev/null
	# The earlier scenarios' changes are history once nothing has gone to
	# a previous backend for HISTORY_IDLE s (their entries idle as long).
	wait_for $((3 * HISTORY_IDLE + 5)) slots_clean
	# shellcheck disable=SC2064 # the names now
	trap "touch '$WORK/$name.stop' '$WORK/$name-after.stop'" EXIT
	client_start "$name" 0.2 0
	ctl backend set web "$B2_IP:$PORT" state ready >/dev/null
	wait_for 10 backend_is web "$B2_IP" datapath up
	n=$(slots_changed)
	diag "slots changed when b2 is back: $n of 1021"
	# b2 takes back a fifth of the ring (weights 3, 1, 1): the same slots
	# on every run, since the ring depends only on the backends.
	((n >= 150))
	# The connections opened on the clean ring that hash to changed slots
	# reach their previous backends on every echo, unrecorded: miss_prev
	# moves, and no slot may be cleaned while they run. That none of 100
	# lands in one of n >= 150 changed slots: P < (1 - 150/1021)^100 =
	# 1.2e-7.
	miss=$(ctl -j stats | json "d['global'].get('miss_prev', 0)")
	t0=$(date +%s)
	wait_for $((4 * HISTORY_IDLE)) seconds_past "$t0" $((2 * HISTORY_IDLE))
	(($(ctl -j stats | json "d['global'].get('miss_prev', 0)") > miss))
	[[ $(slots_changed) == "$n" ]] || {
		diag "cleaned while connections still reached previous backends: $(slots_changed)"
		return 1
	}
	client_stop "$name"
	wait_for $((3 * HISTORY_IDLE + 5)) slots_clean
	diag "agent: $(grep 'clean again' "$WORK/agent.log" | tail -1)"
	# New connections on the clean ring.
	client_start "$name-after" 0.2 20
	wait_for 20 progress_at_least "$name-after" new_ok 40
	client_stop "$name-after"
	trap - EXIT
	intact "$name" "$name-after"
	write_config
	ctl reload >/dev/null
}

setup
run stats scenario_stats
run syn scenario_syn
run ack scenario_ack
run udp scenario_udp
run clean scenario_clean
((FAILURES == 0))
