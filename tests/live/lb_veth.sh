#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# The load balancer's XDP program on real veth devices, with real TCP
# through the VIPs. Four network namespaces:
#
#   C (client) --veth-- L (load balancer) --veth-- B  (backend)
#                                         --veth-- B2 (backend)
#
# C routes the VIPs via L. The XDP program runs natively on L's C-facing
# veth and sends VIP traffic to B or B2 (MAC rewrite for dsr, an outer IPv4
# header for ipip). The backends hold the VIPs on lo and reply straight to
# C through L's ordinary forwarding: direct server return.
#
# Native XDP on veth needs NAPI on the receiving peer: a frame redirected
# into L's backend-facing veth, or bounced back out of L's client-facing
# one with XDP_TX, is only delivered if the peer device has an XDP program.
# bouncer-decap provides it on B, B2 (where it also strips IPIP) and C
# (where it only passes). Frames forwarded by native XDP lose
# CHECKSUM_PARTIAL, so the client's veth computes checksums itself.
#
# Run as root from anywhere; needs build/tests/live/lb_load and
# build/bouncer-decap. Prints one "ok - NAME" / "not ok - NAME" line per
# scenario; exit 77 when not root.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LB_LOAD=${LB_LOAD:-$ROOT/build/tests/live/lb_load}
DECAP=${DECAP:-$ROOT/build/bouncer-decap}
PY=/usr/bin/python3

NS_C=bnc-lb-$$-c
NS_L=bnc-lb-$$-l
NS_B=bnc-lb-$$-b
NS_B2=bnc-lb-$$-b2
# Everything this test pins lives below one directory: removing it unpins
# every link, which detaches the programs once no process holds them.
PIN=/sys/fs/bpf/bnc-lb-$$
PIN_LB=$PIN/lb

# Device names are per namespace, so fixed ones do not collide between
# runs. MACs are fixed too: lb_load takes the next hop's as an argument.
C_DEV=vc
C_MAC=02:00:0a:00:01:02
C_IP=10.0.1.2
LC_DEV=vlc
LC_MAC=02:00:0a:00:01:01
LC_IP=10.0.1.1
LB_DEV=vlb
LB_MAC=02:00:0a:00:02:01
LB_IP=10.0.2.1
B_DEV=vb
B_MAC=02:00:0a:00:02:02
B_IP=10.0.2.2
LB2_DEV=vlb2
LB2_MAC=02:00:0a:00:03:01
LB2_IP=10.0.3.1
B2_DEV=vb2
B2_MAC=02:00:0a:00:03:02
B2_IP=10.0.3.2

# VIP ids 0, 1, 2: lb_load numbers VIPs in the order given.
VIP_DSR=10.200.0.1 # dsr, next hops stored by the loader
VIP_IPIP=10.200.0.2 # ipip to the backends' own addresses
VIP_FIB=10.200.0.3 # dsr, next hops from bpf_fib_lookup
PORT=80
L_PORT=8080 # a server on L itself, not a VIP

REQUESTS=50 # per VIP: enough connections for a share check (see check_balanced)
TIMEOUT=5 # seconds any one wait or client may take

WORK=
SERVER_PIDS=()
SETUP_DONE=
FAILURES=0
# shellcheck source=tests/lib/live.sh
. "$ROOT/tests/lib/live.sh"

require_root lb_veth
require_built "$LB_LOAD" "$DECAP"
require_tools curl ethtool nsenter "$PY"

cleanup() {
	set +e
	# Reporting to a closed pipe must not cut the clean-up short.
	trap '' PIPE
	if [[ -z $SETUP_DONE ]]; then
		echo "not ok - setup"
	fi
	for pid in "${SERVER_PIDS[@]}"; do
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	[[ -d $PIN ]] && rm -rf "$PIN"
	netns_destroy "$NS_C" "$NS_L" "$NS_B" "$NS_B2"
	[[ -n $WORK ]] && rm -rf "$WORK"
}
trap cleanup EXIT
# A signal (^C, a closed pipe, the runner's time-out) still cleans up.
trap "exit 1" INT TERM HUP PIPE

write_helpers() {
	# ping.py DST COUNT: COUNT echo requests from a raw socket (iputils
	# may be missing); succeeds when every one is answered by DST with a
	# valid checksum, which the XDP program patched.
	cat >"$WORK/ping.py" <<'EOF'
import os
import socket
import struct
import sys
import time

dst, count = sys.argv[1], int(sys.argv[2])


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


ident = os.getpid() & 0xFFFF
sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
for seq in range(1, count + 1):
    body = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + b"bouncer echo %d" % seq
    body = body[:2] + struct.pack("!H", csum(body)) + body[4:]
    sock.sendto(body, (dst, 0))
    deadline = time.monotonic() + 2
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            sys.exit("no reply from %s to echo %d" % (dst, seq))
        sock.settimeout(left)
        try:
            data, addr = sock.recvfrom(4096)
        except socket.timeout:
            continue
        icmp = data[(data[0] & 0xF) * 4 :]
        kind, _, _, rid, rseq = struct.unpack("!BBHHH", icmp[:8])
        if addr[0] != dst or kind != 0 or rid != ident or rseq != seq:
            continue
        if csum(icmp) != 0:
            sys.exit("echo reply %d from %s: bad ICMP checksum" % (seq, dst))
        break
EOF
}

# Each backend serves one file naming it, so a client sees who answered.
start_http() {
	local ns=$1 name=$2 bind=$3 port=$4
	mkdir -p "$WORK/www-$name"
	echo "backend-$name" >"$WORK/www-$name/index.html"
	# nsenter itself, not in_ns: a backgrounded function would leave $!
	# naming a subshell, and the server would outlive the kill. nsenter
	# execs the server, so $! is the server.
	nsenter --net="/run/netns/$ns" -- "$PY" -m http.server "$port" --bind "$bind" \
		--directory "$WORK/www-$name" >"$WORK/http-$name.log" 2>&1 &
	SERVER_PIDS+=("$!")
}

listening() {
	local ns=$1 port=$2
	[[ -n $(in_ns "$ns" ss -Hltn "sport = :$port") ]]
}

setup_backend() {
	local ns=$1 dev=$2 ip=$3 gw=$4 name=$5
	in_ns "$ns" ip link set lo up
	in_ns "$ns" ip link set "$dev" up
	in_ns "$ns" ip addr add "$ip/24" dev "$dev"
	in_ns "$ns" ip route add default via "$gw"
	# The VIPs are local here, but only the load balancer may answer
	# ARP for them.
	for vip in "$VIP_DSR" "$VIP_IPIP" "$VIP_FIB"; do
		in_ns "$ns" ip addr add "$vip/32" dev lo
	done
	for conf in all default "$dev"; do
		in_ns "$ns" sysctl -qw "net.ipv4.conf.$conf.arp_ignore=1"
		in_ns "$ns" sysctl -qw "net.ipv4.conf.$conf.arp_announce=2"
		in_ns "$ns" sysctl -qw "net.ipv4.conf.$conf.rp_filter=0"
	done
	# NAPI on the peer of the redirect target, and IPIP decapsulation.
	in_ns "$ns" timeout 10 "$DECAP" attach "$dev" "$ip" --mode native \
		--pin "$PIN/decap-$name" >/dev/null
	start_http "$ns" "$name" 0.0.0.0 "$PORT"
}

setup() {
	WORK=$(mktemp -d /tmp/bnc-lb-veth.XXXXXX)
	write_helpers
	if [[ $(stat -f -c %T /sys/fs/bpf) != bpf_fs ]]; then
		mount -t bpf bpf /sys/fs/bpf
	fi
	for ns in "$NS_C" "$NS_L" "$NS_B" "$NS_B2"; do
		ip netns add "$ns"
	done
	ip -n "$NS_C" link add "$C_DEV" address "$C_MAC" type veth \
		peer name "$LC_DEV" address "$LC_MAC" netns "$NS_L"
	ip -n "$NS_L" link add "$LB_DEV" address "$LB_MAC" type veth \
		peer name "$B_DEV" address "$B_MAC" netns "$NS_B"
	ip -n "$NS_L" link add "$LB2_DEV" address "$LB2_MAC" type veth \
		peer name "$B2_DEV" address "$B2_MAC" netns "$NS_B2"

	in_ns "$NS_C" ip link set lo up
	in_ns "$NS_C" ip link set "$C_DEV" up
	in_ns "$NS_C" ip addr add "$C_IP/24" dev "$C_DEV"
	in_ns "$NS_C" ip route add 10.200.0.0/24 via "$LC_IP"
	# The client's frames cross the XDP program's redirect.
	in_ns "$NS_C" ethtool -K "$C_DEV" tx off >/dev/null
	# Only for NAPI on C's veth, which echo replies sent with XDP_TX need.
	in_ns "$NS_C" timeout 10 "$DECAP" attach "$C_DEV" "$C_IP" --mode native \
		--pin "$PIN/decap-c" >/dev/null

	in_ns "$NS_L" ip link set lo up
	for dev in "$LC_DEV" "$LB_DEV" "$LB2_DEV"; do
		in_ns "$NS_L" ip link set "$dev" up
	done
	in_ns "$NS_L" ip addr add "$LC_IP/24" dev "$LC_DEV"
	in_ns "$NS_L" ip addr add "$LB_IP/24" dev "$LB_DEV"
	in_ns "$NS_L" ip addr add "$LB2_IP/24" dev "$LB2_DEV"
	# Forwarding carries the backends' replies (and bpf_fib_lookup needs
	# it); their source is a VIP L has no route to.
	in_ns "$NS_L" sysctl -qw net.ipv4.ip_forward=1
	for conf in all default "$LC_DEV" "$LB_DEV" "$LB2_DEV"; do
		in_ns "$NS_L" sysctl -qw "net.ipv4.conf.$conf.rp_filter=0"
	done
	# bpf_fib_lookup does not resolve neighbours: the agent would, the
	# test pins them.
	in_ns "$NS_L" ip neigh replace "$B_IP" lladdr "$B_MAC" dev "$LB_DEV" nud permanent
	in_ns "$NS_L" ip neigh replace "$B2_IP" lladdr "$B2_MAC" dev "$LB2_DEV" nud permanent
	start_http "$NS_L" l "$LC_IP" "$L_PORT"

	setup_backend "$NS_B" "$B_DEV" "$B_IP" "$LB_IP" b
	setup_backend "$NS_B2" "$B2_DEV" "$B2_IP" "$LB2_IP" b2

	in_ns "$NS_L" timeout 20 "$LB_LOAD" --pin "$PIN_LB" --dev "$LC_DEV" --mode native \
		--ipip-src4 "$LB_IP" \
		--vip "$VIP_DSR:$PORT/tcp:dsr" \
		--backend "1,$B_IP,$B_MAC,$LB_MAC,$LB_DEV" \
		--backend "2,$B2_IP,$B2_MAC,$LB2_MAC,$LB2_DEV" \
		--vip "$VIP_IPIP:$PORT/tcp:ipip" \
		--backend "3,$B_IP,$B_MAC,$LB_MAC,$LB_DEV" \
		--backend "4,$B2_IP,$B2_MAC,$LB2_MAC,$LB2_DEV" \
		--vip "$VIP_FIB:$PORT/tcp:dsr" \
		--backend "5,$B_IP,fib" \
		--backend "6,$B2_IP,fib"
	[[ -e $PIN_LB/link ]]

	wait_for "$TIMEOUT" listening "$NS_B" "$PORT"
	wait_for "$TIMEOUT" listening "$NS_B2" "$PORT"
	wait_for "$TIMEOUT" listening "$NS_L" "$L_PORT"
	SETUP_DONE=1
}

# snapshot NAME: the load balancer's counters now, in $WORK/NAME.
snapshot() {
	timeout 20 "$LB_LOAD" --pin "$PIN_LB" --stats >"$WORK/$1"
}

# delta BEFORE AFTER COUNTER: how much COUNTER grew between two snapshots.
delta() {
	local before after
	before=$(awk -v k="$3" '$1 == k { print $2 }' "$WORK/$1")
	after=$(awk -v k="$3" '$1 == k { print $2 }' "$WORK/$2")
	if [[ -z $before || -z $after ]]; then
		diag "no counter $3"
		echo -1
		return
	fi
	echo $((after - before))
}

# expect_grew BEFORE AFTER COUNTER...: each COUNTER went up.
expect_grew() {
	local before=$1 after=$2 counter d ok=0
	shift 2
	for counter in "$@"; do
		d=$(delta "$before" "$after" "$counter")
		if ((d <= 0)); then
			diag "$counter did not grow (by $d)"
			ok=1
		fi
	done
	return "$ok"
}

# expect_grew_any BEFORE AFTER COUNTER...: the COUNTERs together grew. An
# established packet counts as a flow cache hit on the CPU that saw its
# flow before, as a flow table hit on another: which one is up to RSS.
expect_grew_any() {
	local before=$1 after=$2 counter sum=0
	shift 2
	for counter in "$@"; do
		sum=$((sum + $(delta "$before" "$after" "$counter")))
	done
	if ((sum <= 0)); then
		diag "none of $* grew"
		return 1
	fi
}

# expect_same BEFORE AFTER COUNTER...: each COUNTER stayed put.
expect_same() {
	local before=$1 after=$2 counter d ok=0
	shift 2
	for counter in "$@"; do
		d=$(delta "$before" "$after" "$counter")
		if ((d != 0)); then
			diag "$counter changed by $d"
			ok=1
		fi
	done
	return "$ok"
}

# fetch_many URL N: N requests, one connection each, from C. Prints how
# many each backend answered, one "backend-NAME COUNT" a line; fails if any
# request went unanswered, and gives up after MAX_FAILED so that a broken
# path costs seconds, not N timeouts.
MAX_FAILED=3
fetch_many() {
	local url=$1 n=$2 i body failed=0
	: >"$WORK/bodies"
	for ((i = 0; i < n && failed < MAX_FAILED; i++)); do
		if ! body=$(in_ns "$NS_C" timeout "$TIMEOUT" curl -sS --fail \
			--max-time "$((TIMEOUT - 1))" "$url"); then
			failed=$((failed + 1))
			continue
		fi
		echo "$body" >>"$WORK/bodies"
	done
	sort "$WORK/bodies" | uniq -c | awk '{ print $2, $1 }'
	if ((failed)); then
		diag "$failed of $i requests to $url failed"
		return 1
	fi
}

# The per-backend answer counts of fetch_many's output.
answered_by() {
	awk -v k="backend-$2" '$1 == k { n = $2 } END { print n + 0 }' <<<"$1"
}

dump_diag() {
	diag "receiver side, for frames the program counted but nobody got:"
	for ns in "$NS_B" "$NS_B2" "$NS_C"; do
		diag "$ns: $(in_ns "$ns" nstat -asz TcpInCsumErrors IpInReceives 2>/dev/null |
			awk 'NR > 1 { printf "%s=%s ", $1, $2 }')"
	done
	diag "load balancer counters that are not zero:"
	awk '$2 != 0 { printf "#   %s %s\n", $1, $2 }' "$WORK/after" >&2 || true
}

# Both backends of a VIP answer over real TCP; the counters name the path.
# check_balanced VIP VIP_ID FORWARD_COUNTER BACKEND_ID BACKEND2_ID
check_balanced() {
	local vip=$1 vip_id=$2 fwd=$3 id_b=$4 id_b2=$5 out nb nb2 t
	snapshot before
	if ! out=$(fetch_many "http://$vip:$PORT/" "$REQUESTS"); then
		snapshot after
		dump_diag
		return 1
	fi
	snapshot after
	nb=$(answered_by "$out" b)
	nb2=$(answered_by "$out" b2)
	diag "$vip: B answered $nb, B2 answered $nb2 of $REQUESTS"
	((nb + nb2 == REQUESTS))
	# Each backend at least its share's count that a fair ring (65537
	# slots, the loader's default: 32768 each at the least) misses with
	# probability under 1e-6: 8 of 50, P(false failure) < 2.2e-7,
	# binomial(50, 32768/65537), union over the two (was "both answered":
	# 1.8e-15, but blind to any skew short of a backend left out).
	t=$("$PY" "$ROOT/tests/lib/share_bound.py" "$REQUESTS" 2 --ring 65537 --explain)
	((nb >= t && nb2 >= t))
	expect_grew before after "$fwd" ring_clean "vip.$vip_id.packets" \
		"backend.$id_b.packets" "backend.$id_b2.packets"
	expect_grew_any before after flow_cache_hit flow_hit
	expect_same before after drop_no_backend drop_fib drop_internal drop_too_big \
		pass_no_neigh drop_malformed
}

scenario_dsr() {
	check_balanced "$VIP_DSR" 0 fwd_dsr 1 2
	expect_same before after fwd_ipip
}

scenario_ipip() {
	local decap_b decap_b2
	check_balanced "$VIP_IPIP" 1 fwd_ipip 3 4
	expect_same before after fwd_dsr
	# The backends got encapsulated packets and stripped them.
	decap_b=$(timeout 10 "$DECAP" stats --pin "$PIN/decap-b" | awk '$1 == "decapsulated" { print $2 }')
	decap_b2=$(timeout 10 "$DECAP" stats --pin "$PIN/decap-b2" | awk '$1 == "decapsulated" { print $2 }')
	diag "decapsulated: B $decap_b, B2 $decap_b2"
	# Each answered 8 requests at least (check_balanced).
	((decap_b > 0 && decap_b2 > 0))
}

scenario_fib() {
	check_balanced "$VIP_FIB" 2 fwd_dsr 5 6
	expect_same before after fwd_ipip
}

scenario_echo() {
	snapshot before
	in_ns "$NS_C" timeout "$TIMEOUT" "$PY" "$WORK/ping.py" "$VIP_DSR" 3
	snapshot after
	(($(delta before after reply_echo) == 3))
}

scenario_pass() {
	local body
	snapshot before
	# The kernel on L answers, not the program.
	in_ns "$NS_C" timeout "$TIMEOUT" "$PY" "$WORK/ping.py" "$LC_IP" 3
	body=$(in_ns "$NS_C" timeout "$TIMEOUT" curl -sS --fail --max-time "$((TIMEOUT - 1))" \
		"http://$LC_IP:$L_PORT/")
	[[ $body == backend-l ]]
	snapshot after
	expect_grew before after pass_not_vip pass_icmp
	expect_same before after reply_echo fwd_dsr fwd_ipip flow_miss flow_hit flow_cache_hit ring_clean ring_changed
}

setup
run dsr scenario_dsr
run ipip scenario_ipip
run fib scenario_fib
run echo scenario_echo
run pass scenario_pass

if ((FAILURES)); then
	diag "$FAILURES scenario(s) failed"
	exit 1
fi
