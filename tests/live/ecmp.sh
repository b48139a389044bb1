#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Several bouncer hosts behind an ECMP router that learns the VIPs from
# each of them over BGP (BIRD 2, with BFD), as they would be deployed. Each
# host runs bouncerd with the same VIPs (web; api, for vipdown) and
# backends, and BIRD, which exports the host's blackhole route per VIP
# (kernel table 4242, protocol 201, written by the agent) to the router;
# the router's BIRD merges the hosts' routes into one multipath route per
# VIP. The backends answer the client directly (DSR, ipip through the
# router).
#
#        C (client)
#        |
#        R (router: BIRD, ECMP hashing addresses, protocol and ports)
#        |    \    \    \
#       SW     B1   B2   B3     (B3 is added later)
#    / |  |  \
#  H1 H2 H3  H4                 (H4 joins later)
#
# The hosts share one segment with the router, a bridge in namespace SW,
# as they would share a top-of-rack switch: a host that dies takes its
# port down, which the router does not see; only BFD tells it (the bridge
# floods no unknown unicast to the hosts' ports: see setup). The
# backends have a veth each to R. A host's XDP program sends a VIP packet
# back out of its veth (XDP_TX), encapsulated towards the backend;
# bouncer-decap on the bridge's end of that veth gives veth the NAPI it
# needs for that (FACTS.md), and strips the IPIP on the backends.
#
# Throughout each scenario, tests/lib/longconn.py runs in C: 60 long
# connections, each echoing a line every 100 ms (broken when reset or
# stalled over 2 s), and 50 new short connections a second (failed on an
# error, when not done in 3 s, or when a segment had to be sent again: a
# lost SYN).
#
#   examples   examples/bird-host.conf and bird-router.conf are valid
#              for bird, and what this test runs apart from addresses,
#              logging and names
#   spread     H1-H3 announce: new connections spread over the three hosts
#              (each agent's new-flow counter) and over both backends; the
#              router's own choice (ip route get with the ports) names, for
#              every long connection, the host whose flow table holds it
#   digest     the three hosts' rings of web have the same digest; a
#              host reloaded with another hash_seed has another
#   hostdies   H1 dies hard (its veth down, bouncerd and BIRD killed): BFD
#              takes it out; no long connection breaks; new connections
#              fail only between the death and the router's change
#   hostback   H1 comes back as after a reboot (no pins, no state): the
#              flows the router moves to it keep their backend
#   hostjoin   H4 joins: the same
#   killagent  kill -9 of H2's bouncerd, restarted on the same state: the
#              router's route never changes (the routes are the kernel's),
#              nothing breaks or fails
#   drain      bouncerctl host drain --wait on H4 under load: both VIPs
#              leave the router's routes, the traffic goes, then the host
#              is stopped: nothing breaks or fails; restarted, it stays
#              drained until host ready
#   vipdown    H3 alone cannot reach api's backends (B1 and B2 answer
#              nothing from those addresses to H3): H3 withdraws api and
#              keeps web; the other hosts serve api
#   secondchance B3 added on every host, then long connections opened,
#              then H3 dies: 0 broken in ipip; a moved flow misses the
#              flow table and reaches its slot's previous backend, which
#              hands it on to the current one (B3) when it has no socket
#              for it. Prints how many packets the backends handed on.
#   secondchance_weight  long connections opened, then B1's weight
#              changed on every host and H2 dies: 0 broken (moved flows
#              from before the change reach their previous backend).
#
# Each agent announces what it can serve (announce = { table = 4242; }):
# a blackhole route per VIP in kernel table 4242, which the host's BIRD
# exports; the test never writes those routes itself.
#
# Run as root from anywhere; needs build/bouncerd, build/bouncerctl,
# build/bouncer-decap and bird (bird2). Prints "ok - NAME" / "not ok -
# NAME" per scenario; exit 77 when not root. ECMP_KEEP=DIR keeps a copy
# of the work directory (configs, logs, the client's reports) in DIR.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BOUNCERD=${BOUNCERD:-$ROOT/build/bouncerd}
BOUNCERCTL=${BOUNCERCTL:-$ROOT/build/bouncerctl}
DECAP=${DECAP:-$ROOT/build/bouncer-decap}
PY=/usr/bin/python3

P=bnc-ec-$$
NS_C=$P-c
NS_R=$P-r
PIN=/sys/fs/bpf/$P
HOSTS=(h1 h2 h3 h4)
BACKENDS=(b1 b2 b3)

# Addresses: C-R 10.60.0.0/24; R and the hosts 10.61.0.0/24 (R .1, Hn
# .1n); R-Bn 10.62.n.0/24 (R .1, Bn .2).
C_IP=10.60.0.2
R_C_IP=10.60.0.1
R_H_IP=10.61.0.1
NS_SW=$P-sw
VIP=10.63.0.100
VIP_API=10.63.0.101
PORT=80
# Markers in the router's route monitor (blackholes, routed nowhere).
MARK_NET=10.99.0
R_AS=65000
H_AS=65001
# Health checks every 200 ms: a backend is up 0.4 s after it answers.
INTERVAL=0.2
# Seconds without a packet to a previous backend after which changed ring
# slots are clean again (ring_history_idle): long enough to outlast any
# scenario; secondchance_weight shortens it for a moment to start clean.
HISTORY_IDLE=600
RISE=2
FALL=2

WORK=
FAILURES=0
SETUP_DONE=
SETUP_STEP=  # what setup was doing, said when it fails
# shellcheck source=tests/lib/live.sh
. "$ROOT/tests/lib/live.sh"

require_root ecmp
require_built "$BOUNCERD" "$BOUNCERCTL" "$DECAP"
require_tools bird birdc ethtool nsenter "$PY"

host_n() { echo "${1#[hb]}"; }
host_ip() { echo "10.61.0.1$(host_n "$1")"; }
be_ip() { echo "10.62.$(host_n "$1").2"; }
# api's backends: a second address of B1 and B2.
api_ip() { echo "10.62.$(host_n "$1").3"; }
be_r_ip() { echo "10.62.$(host_n "$1").1"; }

cleanup() {
	set +e
	trap '' PIPE
	if [[ -z $SETUP_DONE ]]; then
		echo "not ok - setup # ${SETUP_STEP:-}"
		if [[ -n $WORK ]]; then
			local f
			for f in "$WORK"/*/agent.log "$WORK"/*/bird.log; do
				[[ -f $f ]] && sed "s|^|# ${f#"$WORK"/}: |" "$f" | tail -20 >&2
			done
		fi
	fi
	local pidfile
	if [[ -n $WORK ]]; then
		for pidfile in "$WORK"/client.pid "$WORK"/monitor.pid "$WORK"/*/agent.pid "$WORK"/*/bird.pid; do
			[[ -f $pidfile ]] && kill -KILL "$(cat "$pidfile")" 2>/dev/null
		done
	fi
	local all=("$NS_C" "$NS_R" "$NS_SW") h
	for h in "${HOSTS[@]}" "${BACKENDS[@]}"; do
		all+=("$P-$h")
	done
	netns_destroy "${all[@]}"
	[[ -d $PIN ]] && rm -rf "$PIN"
	[[ -n ${ECMP_KEEP:-} && -n $WORK ]] && cp -r "$WORK" "$ECMP_KEEP"
	[[ -n $WORK ]] && rm -rf "$WORK"
}
trap cleanup EXIT
trap "exit 1" INT TERM HUP PIPE

# ctl HOST ARGS...: bouncerctl against HOST's agent.
ctl() { in_ns "$P-$1" timeout "$(scaled 10)" "$BOUNCERCTL" -s "$WORK/$1/ctl.sock" "${@:2}"; }

# birdc_at WHO ARGS...: WHO is a host or r.
birdc_at() { timeout "$(scaled 10)" birdc -s "$WORK/$1/bird.ctl" "${@:2}"; }

# --- Configs ----------------------------------------------------------------
# The BIRD configs are examples/bird-host.conf and examples/bird-router.conf
# with this test's addresses, a log file and a control socket of their
# own; the examples scenario checks that every other line is the same.

# BGP timers, the same at both ends (bird-host.conf says why), scaled like
# BFD's (bird_common): BFD, not the hold time, still takes a host out under
# emulation, and a session's state still shows why it went down when the
# test looks.
bgp_timers() {
	cat <<EOF
	hold time $(scaled 3);
	keepalive time $(scaled 1);
	connect delay time $(scaled 1);
	connect retry time $(scaled 1);
	error wait time $(scaled 1), $(scaled 2);
	bfd on;
EOF
}

# bird_common WHO ROUTER_ID: logging, the devices, BFD at 100 ms x 3.
bird_common() {
	cat <<EOF
log "$WORK/$1/bird.log" all;
debug protocols { states };
router id $2;
protocol device {
	scan time 10;
}
protocol bfd {
	interface "*" { min rx interval $(scaled 100) ms; min tx interval $(scaled 100) ms; multiplier 3; };
}
EOF
}

write_bird_host() {
	local h=$1
	{
		bird_common "$h" "$(host_ip "$h")"
		cat <<EOF
ipv4 table bouncer4;
protocol kernel bouncer_routes {
	kernel table 4242;
	learn;
	scan time 10;
	ipv4 { table bouncer4; import all; export none; };
}
protocol bgp uplink {
	local $(host_ip "$h") as $H_AS;
	neighbor $R_H_IP as $R_AS;
$(bgp_timers)
	ipv4 { table bouncer4; import none; export all; next hop self; };
}
EOF
	} >"$WORK/$h/bird.conf"
}

write_bird_router() {
	local h
	{
		bird_common r "$R_H_IP"
		cat <<EOF
protocol kernel {
	merge paths on;
	ipv4 { import none; export all; };
}
template bgp bouncer_host {
$(bgp_timers)
	ipv4 { import all; export none; };
}
EOF
		for h in "${HOSTS[@]}"; do
			cat <<EOF
protocol bgp $h from bouncer_host {
	local $R_H_IP as $R_AS;
	neighbor $(host_ip "$h") as $H_AS;
}
EOF
		done
	} >"$WORK/r/bird.conf"
}

# write_agent_config HOST [SEED]: the agent's config, the same on every
# host but for its own names and addresses (and SEED, when given). The
# agent announces what it can serve in table 4242. web fails open; api
# fails closed, and its backends are B1's and B2's second addresses, so
# that a host can lose api's backends alone (vipdown).
write_agent_config() {
	local h=$1
	cat >"$WORK/$h/bouncer.conf" <<EOF
interfaces = [ "v$h" ];
mode = "native";
log_level = "info";
pin_dir = "$PIN/$h";
control_socket = "$WORK/$h/ctl.sock";
flow_table_size = 65536;
ipip_source = { v4 = "$(host_ip "$h")"; };
${2:+hash_seed = $2;}
announce = { table = 4242; withdraw_wait = $(scaled 1.0); };
ring_history_idle = $(scaled "$HISTORY_IDLE");
vips = (
  { name = "web"; address = "$VIP"; port = $PORT; protocol = "tcp"; forwarding = "ipip";
    ring_size = 1021;
    check = { type = "tcp"; interval = $(scaled "$INTERVAL"); timeout = $(scaled 0.15); rise = $RISE; fall = $FALL; };
    backends = ( { address = "$(be_ip b1)"; port = $PORT; },
                 { address = "$(be_ip b2)"; port = $PORT; } ); },
  { name = "api"; address = "$VIP_API"; port = $PORT; protocol = "tcp"; forwarding = "ipip";
    ring_size = 1021; fail = "closed";
    check = { type = "tcp"; interval = $(scaled "$INTERVAL"); timeout = $(scaled 0.15); rise = $RISE; fall = $FALL; };
    backends = ( { address = "$(api_ip b1)"; port = $PORT; },
                 { address = "$(api_ip b2)"; port = $PORT; } ); }
);
EOF
}

# --- Processes ----------------------------------------------------------------

agent_answers() { ctl "$1" status >/dev/null 2>&1; }

start_agent() {
	local h=$1
	nsenter --net="/run/netns/$P-$h" -- "$BOUNCERD" -c "$WORK/$h/bouncer.conf" \
		-S "$WORK/$h/state" >>"$WORK/$h/agent.log" 2>&1 </dev/null &
	echo $! >"$WORK/$h/agent.pid"
	wait_for 10 agent_answers "$h"
}

bird_answers() { birdc_at "$1" show status >/dev/null 2>&1; }

start_bird() {
	local who=$1 ns=$P-$1
	[[ $who == r ]] && ns=$NS_R
	nsenter --net="/run/netns/$ns" -- bird -f -c "$WORK/$who/bird.conf" \
		-s "$WORK/$who/bird.ctl" -P "$WORK/$who/bird.bird-pid" \
		>>"$WORK/$who/bird.out" 2>&1 </dev/null &
	echo $! >"$WORK/$who/bird.pid"
	wait_for 10 bird_answers "$who"
}

# established WHO PROTOCOL: the BGP session is up.
established() { birdc_at "$1" show protocols "$2" | grep -q 'Established'; }

# all_up HOST [N]: N (default 2) backends up in HOST's datapath.
all_up() {
	[[ $(ctl "$1" -j backend list web |
		json "sum(b['health'] == 'up' and b['datapath'] == 'up' for b in d['backends'])") == "${2:-2}" ]]
}

# vip_field HOST FIELD: the VIP's counter on HOST.
vip_field() { ctl "$1" -j vip list | json "d['vips'][0]['$2']"; }

# history_idle SECONDS HOST...: the hosts reloaded with that
# ring_history_idle.
history_idle() {
	local h
	HISTORY_IDLE=$1
	for h in "${@:2}"; do
		write_agent_config "$h"
		ctl "$h" reload >/dev/null
	done
}

# slots_clean HOST: web's ring on HOST has no changed slot.
slots_clean() { [[ $(vip_field "$1" slots_changed) == 0 ]]; }

# global_field HOST NAME: one of HOST's datapath counters.
global_field() { ctl "$1" -j stats | json "d['global']['$2']"; }

# announced HOST: HOST's agent has both VIPs' routes in table 4242.
announced() {
	[[ $(ip -n "$P-$1" route show table 4242 proto 201 | grep -c blackhole) == 2 ]]
}

# host_start HOST: a host as after a boot: bouncerd (which announces the
# VIPs once their backends are up), then BIRD.
host_start() {
	local h=$1
	start_agent "$h"
	wait_for 10 all_up "$h"
	wait_for 10 announced "$h"
	start_bird "$h"
	wait_for 10 established "$h" uplink
}

# host_die HOST: the link first (nothing the host does reaches R after
# that; R's end loses its carrier, which nothing on R acts on), then its
# processes, at once and without a word to anyone.
host_die() {
	local h=$1
	ip -n "$P-$h" link set "v$h" down
	kill -KILL "$(cat "$WORK/$h/bird.pid")" "$(cat "$WORK/$h/agent.pid")"
	wait_for 5 pid_gone "$WORK/$h/bird.pid"
	wait_for 5 pid_gone "$WORK/$h/agent.pid"
}

# host_reboot HOST: what a reboot loses: the kernel's routes in table
# 4242, the pinned maps and programs (bpffs), the state directory (/run);
# then its network comes up again.
host_reboot() {
	local h=$1
	ip -n "$P-$h" route flush table 4242
	rm -rf "${PIN:?}/$h" "${WORK:?}/$h/state"
	ip -n "$P-$h" link set "v$h" up
	ip -n "$P-$h" route add default via "$R_H_IP"
}

# --- The router's view ------------------------------------------------------

# router_hosts [ADDR]: the hosts the router's route to ADDR (default:
# web's VIP) leads to, sorted.
router_hosts() {
	ip -n "$NS_R" route show "${1:-$VIP}/32" | grep -o 'via 10\.61\.0\.1[0-9]' |
		sed 's/via 10\.61\.0\.1/h/' | sort | tr '\n' ' ' | sed 's/ $//'
}

# router_hosts_are HOSTS [ADDR]
router_hosts_are() { [[ $(router_hosts "${2:-$VIP}") == "$1" ]]; }

# paths READY OUT: for each long connection listed in READY, "SPORT
# BACKEND HOST": the host the router sends it to now (policy 3 hashes the
# headers, so ip route get with the ports says what the router does).
paths() {
	local list=$WORK/paths.batch
	"$PY" -c '
import json, sys
for c in json.load(open(sys.argv[1]))["conns"]:
    print(c["sport"], c["backend"])' "$1" >"$2.conns"
	awk -v vip="$VIP" -v c="$C_IP" -v p="$PORT" \
		'{ print "route get " vip " from " c " iif rc ipproto 6 sport " $1 " dport " p }' \
		"$2.conns" >"$list"
	ip -n "$NS_R" -batch "$list" | grep -o 'via 10\.61\.0\.1[0-9]' |
		sed 's/via 10\.61\.0\.1/h/' >"$2.hosts"
	[[ $(wc -l <"$2.hosts") == $(wc -l <"$2.conns") ]]
	paste -d ' ' "$2.conns" "$2.hosts" >"$2"
}

# moved BEFORE AFTER: the "SPORT BACKEND HOST_BEFORE HOST_AFTER" lines of
# the connections whose host changed.
moved() { join <(sort "$1") <(sort "$2") | awk '$3 != $5 { print $1, $2, $3, $5 }'; }

# monitor_listens: R's route monitor logged a route added now (it may not
# listen yet the first time: the next call adds it again).
monitor_listens() {
	ip -n "$NS_R" route del blackhole "$MARK_NET.0/32" 2>/dev/null || true
	ip -n "$NS_R" route add blackhole "$MARK_NET.0/32"
	grep -q "blackhole $MARK_NET.0 " "$WORK/monitor.log"
}

# mark: a route R's monitor logs, to cut its log at; prints its number.
mark() {
	local n
	n=$(($(cat "$WORK/marks" 2>/dev/null || echo 0) + 1))
	echo "$n" >"$WORK/marks"
	ip -n "$NS_R" route add blackhole "$MARK_NET.$n/32"
	wait_for 5 grep -q "blackhole $MARK_NET.$n " "$WORK/monitor.log"
	echo "$n"
}

# vip_events FROM [TO]: R's route to the VIP each time it changed, between
# marker FROM and marker TO (or the end), one a line: the Unix time, then
# the hosts it leads to ("deleted" when it went).
vip_events() {
	"$PY" - "$WORK/monitor.log" "$VIP" "$MARK_NET.$1" "${2:+$MARK_NET.$2}" <<'EOF'
import datetime
import re
import sys

log, vip, start, end = sys.argv[1:5]
on = False
events = []  # [time, [words]]
for line in open(log):
    if not line.startswith("["):
        if events and events[-1] is not None:
            events[-1][1].append(line)
        continue
    stamp, rest = line[1:].split("] ", 1)
    words = rest.split()
    if not on:
        on = words[:2] == ["blackhole", start]
        continue
    if end and words[:2] == ["blackhole", end]:
        break
    if vip in words[:2]:
        events.append([datetime.datetime.fromisoformat(stamp).timestamp(), [rest]])
    else:
        events.append(None)
for e in events:
    if e is None:
        continue
    text = " ".join(e[1])
    hosts = sorted("h" + n for n in re.findall(r"via 10\.61\.0\.1(\d)", text))
    if text.startswith("Deleted"):
        hosts = ["deleted"]
    print("%.6f %s" % (e[0], " ".join(hosts)))
EOF
}

# story NAME: R's changes to the VIP's route while client NAME ran, each
# with its time in ms after the client was ready.
story() {
	awk -v t0="$(cat "$WORK/$1.t0")" '{ printf "%+dms:", ($1 - t0) * 1000; for (i = 2; i <= NF; i++) printf " %s", $i; printf "; " }' "$WORK/$1.events"
}

# route_changes NAME HOSTS...: while client NAME ran, R's route to the
# VIP changed once for each HOSTS given, to that set in that order (no
# argument: it never changed).
route_changes() {
	local name=$1 want=""
	shift
	for hosts in "$@"; do
		want+="$hosts;"
	done
	[[ $(cut -d ' ' -f 2- "$WORK/$name.events" | tr '\n' ';') == "$want" ]]
}

# --- The client ---------------------------------------------------------------

# client_start NAME: longconn.py in C, until its long connections are
# open. A scenario that fails stops it on the way out (its own trap).
client_start() {
	local name=$1
	rm -f "$WORK/$name.stop"
	in_ns "$NS_C" "$PY" "$ROOT/tests/lib/longconn.py" "$VIP" "$PORT" \
		--until "$WORK/$name.stop" --ready "$WORK/$name.ready" \
		--progress "$WORK/$name.progress" \
		--max-time 90 >"$WORK/$name.json" 2>"$WORK/$name.err" </dev/null &
	echo $! >"$WORK/client.pid"
	# shellcheck disable=SC2064 # the name now
	trap "touch '$WORK/$name.stop'" EXIT
	wait_for 20 test -e "$WORK/$name.ready"
	[[ $(json "d['open_failed']" <"$WORK/$name.ready") == 0 ]]
	[[ $(json "len(d['conns'])" <"$WORK/$name.ready") == 60 ]]
	wait_for 5 test -e "$WORK/$name.progress"
	# The router's route and sessions from here on are the scenario's.
	mark >"$WORK/$name.mark0"
	date +%s.%N >"$WORK/$name.t0"
	wc -l <"$WORK/r/bird.log" >"$WORK/$name.birdlog0"
}

# progress NAME KEY: the client's count so far.
progress() { json "d['$2']" <"$WORK/$1.progress"; }

progress_at_least() { (($(progress "$1" "$2") >= $3)); }

# more_new NAME N: wait for N more successful new connections (50 a
# second): traffic, not time, after an event.
more_new() {
	local n
	n=$(progress "$1" new_ok)
	wait_for 30 progress_at_least "$1" new_ok $((n + $2))
}

client_stop() {
	local name=$1
	mark >"$WORK/$name.mark1"
	touch "$WORK/$name.stop"
	wait_for 20 pid_gone "$WORK/client.pid"
	trap - EXIT
	[[ -s $WORK/$name.json ]]
	vip_events "$(cat "$WORK/$name.mark0")" "$(cat "$WORK/$name.mark1")" >"$WORK/$name.events"
	diag "$name: the router's route: $(story "$name")-"
	diag "$name: the router's sessions: $(tail -n +"$(($(cat "$WORK/$name.birdlog0") + 1))" "$WORK/r/bird.log" |
		grep 'State changed to \(up\|down\)' | sed 's/^[^ ]* //; s/<TRACE> //' | tr '\n' ';')-"
	# Why a session went down, as the router last saw it.
	diag "$name: the router's last errors: $(birdc_at r show protocols | grep -o '^h[0-9] .*Error: .*' | tr -s ' ' | tr '\n' ';')-"
	# The client's longest stall: one of the whole machine delays every
	# connection alike, and timers with them (BFD's too).
	diag "$name: the client's event loop was late by up to $(result "$name" "'%.3f s, at %+d ms' % (d['max_lag_s'], (d['lag_at'] - $(cat "$WORK/$name.t0")) * 1000) if d['lag_at'] else '0 s'")"
	diag "$name: $(json "'long %d, broken %d (%s), max echo wait %.3f s, echo waits over 0.5 s %d; new ok %d failed %d; long by %s, new by %s' % (d['long'], d['broken'], ', '.join(sorted(set(b['why'] for b in d['broken_list']))) or '-', d['max_echo_s'], d['slow'], d['new_ok'], d['new_failed'], d['long_by'], d['new_by'])" <"$WORK/$name.json")"
}

# result NAME EXPR: EXPR over the client's report d.
result() { json "$2" <"$WORK/$1.json"; }

# no_breaks NAME: nothing broken, with details when something was.
no_breaks() {
	[[ $(result "$1" "d['broken']") == 0 ]] || {
		diag "broken: $(result "$1" "d['broken_list'][:10]")"
		return 1
	}
}

no_failures() {
	[[ $(result "$1" "d['new_failed']") == 0 ]] || {
		diag "failed new: $(result "$1" "d['new_failures'][:10]")"
		return 1
	}
}

# --- Setup ----------------------------------------------------------------------

setup() {
	local h ns x sc_args
	WORK=$(mktemp -d /tmp/bnc-ecmp.XXXXXX)
	mkdir -p "$PIN" "$WORK/r"
	# The segment of the router and the hosts: R's end is vr, a host's vhN.
	bridge_world "$P" r "${HOSTS[@]}"
	# No netfilter on the bridge (FACTS.md: br_netfilter is on by default
	# here; a kernel without it has no such settings).
	if in_ns "$NS_SW" test -e /proc/sys/net/bridge/bridge-nf-call-iptables; then
		in_ns "$NS_SW" sysctl -qw net.bridge.bridge-nf-call-iptables=0 \
			net.bridge.bridge-nf-call-ip6tables=0 net.bridge.bridge-nf-call-arptables=0
	fi
	# Unknown unicast is not flooded to the hosts' ports. A dead host's
	# port goes down, and the bridge forgets its MAC address: flooded,
	# the frames the router still sends to that address would reach the
	# other hosts, whose XDP program forwards them (it does not look at
	# the destination MAC), and the host's death would go unseen.
	for h in "${HOSTS[@]}"; do
		bridge -n "$NS_SW" link set dev "p$h" flood off
	done
	ip -n "$NS_R" addr add "$R_H_IP/24" dev vr
	ip netns add "$NS_C"
	ip link add vc netns "$NS_C" type veth peer name rc netns "$NS_R"
	ip -n "$NS_C" addr add "$C_IP/24" dev vc
	ip -n "$NS_R" addr add "$R_C_IP/24" dev rc
	ip -n "$NS_C" link set vc up
	ip -n "$NS_C" link set lo up
	ip -n "$NS_C" route add default via "$R_C_IP"
	ip -n "$NS_R" link set rc up
	# The client's segments cross the hosts' XDP_TX: they must carry
	# full checksums (FACTS.md), and so must R's to the hosts.
	in_ns "$NS_C" ethtool -K vc tx off >/dev/null
	in_ns "$NS_R" ethtool -K vr tx off >/dev/null
	# The backends answer from the VIP, which R routes to the hosts:
	# no reverse-path filter. ECMP hashes addresses, protocol and ports
	# (FACTS.md: policy 1 would keep the senders' socket hashes).
	in_ns "$NS_R" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
		net.ipv4.conf.default.rp_filter=0 net.ipv4.fib_multipath_hash_policy=3 \
		net.ipv4.fib_multipath_hash_fields=0x0037
	for h in "${HOSTS[@]}"; do
		mkdir -p "$WORK/$h"
		ip -n "$P-$h" addr add "$(host_ip "$h")/24" dev "v$h"
		ip -n "$P-$h" route add default via "$R_H_IP"
		# The host's XDP_TX reaches the bridge only with a program on
		# the bridge's end of its veth.
		in_ns "$NS_SW" "$DECAP" attach "p$h" 192.0.2.1 --pin "$PIN/decap-p$h" 2>/dev/null
		write_agent_config "$h"
		write_bird_host "$h"
	done
	for h in "${BACKENDS[@]}"; do
		ns=$P-$h
		mkdir -p "$WORK/$h"
		ip netns add "$ns"
		ip link add vb netns "$ns" type veth peer name "r$h" netns "$NS_R"
		ip -n "$ns" addr add "$(be_ip "$h")/24" dev vb
		ip -n "$ns" addr add "$(api_ip "$h")/24" dev vb
		ip -n "$NS_R" addr add "$(be_r_ip "$h")/24" dev "r$h"
		ip -n "$ns" link set vb up
		ip -n "$ns" link set lo up
		ip -n "$NS_R" link set "r$h" up
		# A backend's XDP_TX (a packet handed on) reaches the router
		# only with a program on the router's end of its veth.
		in_ns "$NS_R" "$DECAP" attach "r$h" 192.0.2.1 --pin "$PIN/decap-r$h" 2>/dev/null
		ip -n "$ns" route add default via "$(be_r_ip "$h")"
		ip -n "$ns" addr add "$VIP/32" dev lo
		ip -n "$ns" addr add "$VIP_API/32" dev lo
		in_ns "$ns" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
		# Second chances trusted from the hosts, handed on to the other
		# backends; the route lookup that hands on needs forwarding.
		in_ns "$ns" sysctl -qw net.ipv4.ip_forward=1
		sc_args=()
		for x in "${HOSTS[@]}"; do sc_args+=(--lb "$(host_ip "$x")"); done
		for x in "${BACKENDS[@]}"; do sc_args+=(--peer "$(be_ip "$x")" --peer "$(api_ip "$x")"); done
		in_ns "$ns" "$DECAP" attach vb "$(be_ip "$h")" "$(api_ip "$h")" --pin "$PIN/decap-$h" \
			"${sc_args[@]}" 2>/dev/null
		nsenter --net="/run/netns/$ns" -- "$PY" "$ROOT/tests/lib/echo_server.py" "$PORT" "$h" \
			>"$WORK/$h/server.log" 2>&1 </dev/null &
		echo $! >"$WORK/$h/server.pid"
		SETUP_STEP="$h's server does not answer"
		wait_for 20 in_ns "$ns" bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT" 2>/dev/null
	done
	# Every route change on R, timed.
	nsenter --net="/run/netns/$NS_R" -- ip -ts monitor route >"$WORK/monitor.log" 2>&1 </dev/null &
	echo $! >"$WORK/monitor.pid"
	SETUP_STEP="the router's route monitor logs nothing"
	wait_for 5 monitor_listens
	write_bird_router
	SETUP_STEP="the router's bird does not answer"
	start_bird r
	for h in h1 h2 h3; do
		SETUP_STEP="$h does not start (agent, backends up, bird, session)"
		host_start "$h"
	done
	SETUP_STEP="the router's route does not lead to h1 h2 h3"
	wait_for 10 router_hosts_are "h1 h2 h3"
	SETUP_DONE=1
}

# --- Scenarios -------------------------------------------------------------------

# bird_statements FILE: FILE's statements, one a line, sorted, without
# comments, addresses, names of sessions, logging and debugging.
# Under emulation (BOUNCER_TIME_SCALE) the test's timers are scaled: their
# lines are left out of both sides there, and compared on the host.
bird_statements() {
	local timers='^\(interface "\*" { min rx interval\|hold time\|keepalive time\|connect delay time\|connect retry time\|error wait time\) '
	[[ ${BOUNCER_TIME_SCALE:-1} == 1 ]] && timers='^$'
	sed -e 's/^[[:space:]]*//' -e '/^#/d' -e '/^$/d' \
		-e '/^\(log\|debug\|router id\|local\|neighbor\|protocol bgp\) /d' "$1" |
		grep -v "$timers" | sort -u
}

scenario_examples() {
	local ex conf
	for ex in host router; do
		bird -p -c "$ROOT/examples/bird-$ex.conf"
		conf=$WORK/r/bird.conf
		[[ $ex == host ]] && conf=$WORK/h1/bird.conf
		diff <(bird_statements "$ROOT/examples/bird-$ex.conf") <(bird_statements "$conf") |
			sed "s/^/# bird-$ex.conf vs the test's: /" >&2 || return 1
	done
}

# spread: every host the router sends long connections to forwards them
# from clean ring slots (no flow table entry needed: each host's ring is
# the same); new connections spread over the hosts and backends.
#
# Hosts: the router splits its hash space in three equal ranges. Each host
# must have placed at least T of the N flows that all three placed, T from
# tests/lib/share_bound.py N 3 --ring 2147483647 (a share of
# floor((2^31 - 1) / 3) / (2^31 - 1), a hair under 1/3): P(false failure)
# < 1e-6, union over the three; for about 600 connections T is about 160
# of a fair 200. Backends: each must have served at least T of the N
# connections (ring of 1021 slots, 510 each at the least: share_bound.py N
# 2), P(false failure) < 1e-6, union over the two; for 600, T is about 250.
scenario_spread() {
	local h before=() after=() clean=() n=0 t d counts="" name=spread
	for h in h1 h2 h3; do
		before+=("$(vip_field "$h" new_flows)")
		clean+=("$(global_field "$h" ring_clean)")
	done
	client_start "$name"
	paths "$WORK/$name.ready" "$WORK/$name.paths"
	diag "long connections per host (router): $(awk '{ print $3 }' "$WORK/$name.paths" | sort | uniq -c | tr '\n' ' ')"
	# The router's choice is where the flow went: that host forwarded
	# from clean slots, and recorded nothing for them.
	for i in 0 1 2; do
		if ! lacks_host "h$((i + 1))" "$WORK/$name.paths"; then
			(($(global_field "h$((i + 1))" ring_clean) > clean[i]))
		fi
		[[ $(ctl "h$((i + 1))" -j flow list web limit 10000 | json "len(d['flows'])") == 0 ]]
	done
	wait_for 40 progress_at_least "$name" new_ok 600
	client_stop "$name"
	route_changes "$name"
	no_breaks "$name"
	no_failures "$name"
	for h in h1 h2 h3; do
		after+=("$(vip_field "$h" new_flows)")
	done
	for i in 0 1 2; do
		d=$((after[i] - before[i]))
		counts+="h$((i + 1)) $d "
		n=$((n + d))
	done
	diag "new flows per host: $counts(client: $(result "$name" "d['long'] + d['new_ok'] + d['new_failed']") connections)"
	t=$("$PY" "$ROOT/tests/lib/share_bound.py" "$n" 3 --ring 2147483647 --explain)
	for i in 0 1 2; do
		(((after[i] - before[i]) >= t))
	done
	# Backends, from the client's side: long and new connections.
	read -r n b1 b2 < <(result "$name" "'%d %d %d' % (d['long'] + d['new_ok'], d['long_by'].get('b1', 0) + d['new_by'].get('b1', 0), d['long_by'].get('b2', 0) + d['new_by'].get('b2', 0))")
	diag "connections per backend: b1 $b1, b2 $b2 of $n"
	t=$("$PY" "$ROOT/tests/lib/share_bound.py" "$n" 2 --explain)
	((b1 >= t && b2 >= t && b1 + b2 == n))
}

# A host dies hard under load: the router learns it from BFD (100 ms x 3)
# and BIRD withdraws its routes. The connections on it stall until then,
# and their next retransmission goes to another host, which places them
# on the same ring: the same backend. A new connection can fail only if
# it was under way when the host died, or started before the router's
# change.
scenario_hostdies() {
	local name=hostdies t_kill change window moved_n waits h1_at_r
	client_start "$name"
	paths "$WORK/$name.ready" "$WORK/$name.before"
	more_new "$name" 50
	t_kill=$(date +%s.%N)
	host_die h1
	wait_for 10 router_hosts_are "h2 h3"
	# Why the router let h1 go, before its next attempt to connect
	# replaces the reason.
	h1_at_r=$(birdc_at r show protocols all h1 | tr -s ' ' | tr '\n' ';')
	more_new "$name" 150
	client_stop "$name"
	paths "$WORK/$name.ready" "$WORK/$name.after"
	moved "$WORK/$name.before" "$WORK/$name.after" >"$WORK/$name.moved"
	moved_n=$(wc -l <"$WORK/$name.moved")
	# One change: h1 out.
	route_changes "$name" "h2 h3"
	change=$(awk '{ print $1 }' "$WORK/$name.events")
	diag "h1 out of the router's route $(awk -v a="$change" -v b="$t_kill" 'BEGIN { printf "%d", (a - b) * 1000 }') ms after it died (detection)"
	window=$(result "$name" "'%d failed, from %s to %s ms after the death' % (d['new_failed'], *(['%d' % ((f['t'] - $t_kill) * 1000) for f in (d['new_failures'][0], d['new_failures'][-1])] if d['new_failures'] else ['-', '-']))")
	diag "new connections: $window"
	diag "long connections moved to another host: $moved_n, broken $(result "$name" "d['broken']")"
	waits=$(awk '$3 == "h1" { print $1 }' "$WORK/$name.before" |
		while read -r sport; do result "$name" "d['waits'].get('$sport', 0)"; done | sort -n)
	diag "longest echo wait of each connection that was on h1: $(tr '\n' ' ' <<<"$waits")"
	no_breaks "$name"
	# The death was real: each connection on h1 had a line in flight
	# (one every 0.1 s), which waited for the router's change.
	[[ -n $waits ]]
	awk '$1 < 0.1 { exit 1 }' <<<"$waits"
	# BFD, not the hold time (3 s, scaled), took the host out, fast.
	grep -q 'BFD session down' <<<"$h1_at_r" || {
		diag "h1 at the router: $h1_at_r"
		return 1
	}
	awk -v a="$change" -v b="$t_kill" -v limit="$(scaled 1.5)" 'BEGIN { exit !(a - b < limit) }'
	# Each failed new connection was under way when the host died, and
	# started before the router's change.
	[[ $(result "$name" "sum(1 for f in d['new_failures'] if not (f['t'] <= $change and f['end'] >= $t_kill))") == 0 ]]
	# Every connection that was on h1 moved (P(none on h1) = (2/3)^60).
	[[ $(awk '$3 == "h1"' "$WORK/$name.before" | wc -l) -gt 0 ]]
	lacks_host h1 "$WORK/$name.after"
}

# lacks_host HOST PATHS: no connection routed to HOST.
lacks_host() { ! awk '{ print $3 }' "$2" | grep -qx "$1"; }

# join_host NAME HOST WANT: HOST (re)starts under load; the router moves
# some flows to it (and some between the others: hash-threshold), none
# breaks, no new connection fails.
join_host() {
	local name=$1 h=$2 to_h
	client_start "$name"
	paths "$WORK/$name.ready" "$WORK/$name.before"
	more_new "$name" 50
	host_start "$h"
	wait_for 10 router_hosts_are "$3"
	more_new "$name" 150
	client_stop "$name"
	paths "$WORK/$name.ready" "$WORK/$name.after"
	moved "$WORK/$name.before" "$WORK/$name.after" >"$WORK/$name.moved"
	to_h=$(awk -v h="$h" '$4 == h' "$WORK/$name.moved" | wc -l)
	diag "long connections moved: $(wc -l <"$WORK/$name.moved"), to $h: $to_h; broken $(result "$name" "d['broken']")"
	# Nothing died: a wait over 0.2 s is a retransmission (or a stall
	# of the machine); shown with whether that connection moved.
	diag "echo waits over 0.2 s: $(result "$name" "'\n'.join('%s %s' % w for w in d['waits'].items() if w[1] > 0.2)" |
		while read -r sport wait; do
			[[ -n $sport ]] || continue
			if grep -q "^$sport " "$WORK/$name.moved"; then echo -n "$sport ${wait}s moved, "; else echo -n "$sport ${wait}s, "; fi
		done)-"
	# One change: the host in.
	route_changes "$name" "$3"
	no_breaks "$name"
	no_failures "$name"
	# Some flows went to the new host: P(none) = (2/3)^60 for a third
	# of the hash space, (3/4)^60 = 3.2e-8 for a quarter.
	((to_h > 0))
	# It forwarded them from clean slots (same ring, same backend: none
	# broke), with no entry needed.
	(($(global_field "$h" ring_clean) > 0))
}

scenario_hostback() {
	host_reboot h1
	join_host hostback h1 "h1 h2 h3"
}

scenario_hostjoin() {
	join_host hostjoin h4 "h1 h2 h3 h4"
}

# The rings of the three hosts are the same, digest for digest; a host
# with another hash seed has another digest (and would send a flow that
# the router moves to it elsewhere).
digests() {
	local h
	for h in "$@"; do
		ctl "$h" ring show web --digest | grep -o 'digest [0-9a-f]*'
	done | sort -u | wc -l
}

scenario_digest() {
	[[ $(digests h1 h2 h3) == 1 ]]
	diag "web's ring on h1: $(ctl h1 ring show web --digest)"
	write_agent_config h1 0x1234abcd
	ctl h1 reload >/dev/null
	diag "with hash_seed 0x1234abcd: $(ctl h1 ring show web --digest)"
	[[ $(digests h1 h2 h3) == 2 ]]
	write_agent_config h1
	ctl h1 reload >/dev/null
	[[ $(digests h1 h2 h3) == 1 ]]
}

# kill -9 of an agent: the datapath forwards on, BIRD goes on announcing
# (the route is the kernel's, not the agent's), the new agent adopts it.
scenario_killagent() {
	local name=killagent p0 p1
	client_start "$name"
	more_new "$name" 50
	p0=$(vip_field h2 packets)
	kill -KILL "$(cat "$WORK/h2/agent.pid")"
	wait_for 5 pid_gone "$WORK/h2/agent.pid"
	more_new "$name" 50
	start_agent h2
	[[ $(ctl h2 -j status | json "d['adopted']") == True ]]
	more_new "$name" 100
	client_stop "$name"
	p1=$(vip_field h2 packets)
	diag "h2's VIP packets across the restart: $((p1 - p0))"
	# Nothing withdrawn, not for a moment.
	route_changes "$name"
	router_hosts_are "h1 h2 h3 h4"
	established h2 uplink
	no_breaks "$name"
	no_failures "$name"
	((p1 > p0))
}

# bouncerctl host drain on H4 under load: its routes go, the router moves
# its flows to the others (same ring: same backends), and once the traffic
# has gone the host is stopped: nothing breaks, nothing fails. Then it
# comes back drained (the state file) and host ready announces it again.
scenario_drain() {
	local name=drain out
	client_start "$name"
	more_new "$name" 50
	out=$(ctl h4 host drain --wait --timeout "$(scaled 30)")
	diag "h4: $(tr '\n' ' ' <<<"$out")"
	grep -q '^host drained' <<<"$out"
	router_hosts_are "h1 h2 h3"
	router_hosts_are "h1 h2 h3" "$VIP_API"
	kill -TERM "$(cat "$WORK/h4/agent.pid")" "$(cat "$WORK/h4/bird.pid")"
	wait_for 10 pid_gone "$WORK/h4/agent.pid"
	wait_for 10 pid_gone "$WORK/h4/bird.pid"
	more_new "$name" 100
	client_stop "$name"
	route_changes "$name" "h1 h2 h3"
	no_breaks "$name"
	no_failures "$name"
	# Back: still drained after the restart, until host ready.
	start_agent h4
	[[ $(ctl h4 -j host show | json "d['state'] != 'ready' and d['announced'] == []") == True ]]
	start_bird h4
	wait_for 10 established h4 uplink
	router_hosts_are "h1 h2 h3"
	ctl h4 host ready >/dev/null
	wait_for 10 router_hosts_are "h1 h2 h3 h4"
	wait_for 10 router_hosts_are "h1 h2 h3 h4" "$VIP_API"
}

# api_serves N: N new connections to api all answer, from B1 or B2.
api_serves() {
	local i
	for ((i = 0; i < $1; i++)); do
		in_ns "$NS_C" timeout "$(scaled 3)" bash -c "exec 3<>/dev/tcp/$VIP_API/$PORT; head -1 <&3" ||
			echo FAIL
	done >"$WORK/api.out"
	[[ $(grep -c '^b[12]$' "$WORK/api.out") == "$1" ]]
}

# H3 alone loses api's backends: B1 and B2 answer nothing from api's
# addresses to H3, so H3's checks of them time out. H3 withdraws api
# (it fails closed) and keeps web; the others serve api.
scenario_vipdown() {
	local b
	for b in b1 b2; do
		ip -n "$P-$b" rule add from "$(api_ip "$b")" to "$(host_ip h3)" prohibit
	done
	wait_for 10 router_hosts_are "h1 h2 h4" "$VIP_API"
	router_hosts_are "h1 h2 h3 h4"
	[[ $(ctl h3 -j vip list | json "sorted((v['name'], v['announced']) for v in d['vips'])") == \
		"[('api', False), ('web', True)]" ]]
	# Every connection answered: h3 is not in api's route.
	api_serves 40
	for b in b1 b2; do
		ip -n "$P-$b" rule del from "$(api_ip "$b")" to "$(host_ip h3)" prohibit
	done
	wait_for 10 router_hosts_are "h1 h2 h3 h4" "$VIP_API"
	api_serves 40
}

# handed_on: packets the backends handed on to a second chance, all told.
handed_on() {
	local h n=0 c
	for h in "${BACKENDS[@]}"; do
		c=$(in_ns "$P-$h" "$DECAP" stats --pin "$PIN/decap-$h" | awk '$1 == "handed_on" { print $2 }')
		n=$((n + ${c:-0}))
	done
	echo "$n"
}

# A backend added on every host, then a host lost, with second chances:
# no connection breaks, whether it moved host or not.
scenario_secondchance() {
	local name=secondchance h before
	before=$(handed_on)
	for h in h1 h2 h3 h4; do
		ctl "$h" backend add web "$(be_ip b3):$PORT"
	done
	for h in h1 h2 h3 h4; do
		wait_for 10 all_up "$h" 3
	done
	# Born after the change: those in slots B3 took are recorded on their
	# host only, and reach the previous backend on another.
	client_start "$name"
	paths "$WORK/$name.ready" "$WORK/$name.before"
	more_new "$name" 50
	host_die h3
	wait_for 10 router_hosts_are "h1 h2 h4"
	more_new "$name" 150
	client_stop "$name"
	paths "$WORK/$name.ready" "$WORK/$name.after"
	moved "$WORK/$name.before" "$WORK/$name.after" >"$WORK/$name.moved"
	diag "moved $(wc -l <"$WORK/$name.moved"), broken $(result "$name" "d['broken']"), packets handed on $(($(handed_on) - before))"
	no_breaks "$name"
}

# The same with a weight change instead of a backend added: B1's weight
# on every live host, then H2 lost.
scenario_secondchance_weight() {
	local name=secondchance_weight h before
	# B3's addition is history first: a slot keeps only its oldest
	# previous backend, so flows born between two changes of it survive a
	# host loss only if the first change was cleaned before the second
	# (README, "What survives what"). A short ring_history_idle for that.
	history_idle 2 h1 h2 h4
	for h in h1 h2 h4; do
		wait_for 20 slots_clean "$h"
	done
	history_idle 600 h1 h2 h4
	before=$(handed_on)
	client_start "$name"
	paths "$WORK/$name.ready" "$WORK/$name.before"
	for h in h1 h2 h4; do
		ctl "$h" backend set web "$(be_ip b1):$PORT" weight 3
	done
	more_new "$name" 50
	host_die h2
	wait_for 10 router_hosts_are "h1 h4"
	more_new "$name" 150
	client_stop "$name"
	paths "$WORK/$name.ready" "$WORK/$name.after"
	moved "$WORK/$name.before" "$WORK/$name.after" >"$WORK/$name.moved"
	diag "moved $(wc -l <"$WORK/$name.moved"), broken $(result "$name" "d['broken']"), packets handed on $(($(handed_on) - before))"
	no_breaks "$name"
}

setup
run examples scenario_examples
run spread scenario_spread
run digest scenario_digest
run hostdies scenario_hostdies
run hostback scenario_hostback
run hostjoin scenario_hostjoin
run killagent scenario_killagent
run drain scenario_drain
run vipdown scenario_vipdown
run secondchance scenario_secondchance
run secondchance_weight scenario_secondchance_weight
if ((FAILURES)); then
	for f in "$WORK"/*/agent.log "$WORK"/r/bird.log; do
		tail -15 "$f" | sed "s|^|# ${f#"$WORK"/}: |" >&2
	done
fi
((FAILURES == 0))
