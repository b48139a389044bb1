#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Backend-side IPIP decapsulation on real packets. Two network namespaces
# joined by a veth pair: A plays the load balancer and sends hand-built IPIP
# frames (Ethernet, outer IPv4/IPv6, inner IPv4/IPv6 + UDP) from a packet
# socket; B is the backend, with bouncer-decap attached to its veth in native
# mode, a VIP on lo and a UDP server on the VIP that records what it gets.
# For the second chance, A also plays a second backend (address A4_PEER,
# decap on its veth, the VIP on lo, a server on PORT_A that B lacks): B
# hands it what it has no socket for.
#
# Run as root from anywhere; needs build/bouncer-decap. Prints one
# "ok - NAME" / "not ok - NAME" line per scenario; exit 77 when not root.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DECAP=${DECAP:-$ROOT/build/bouncer-decap}
PY=/usr/bin/python3

NS_A=bnc-dc-$$-a
NS_B=bnc-dc-$$-b
# Device names are part of the default pin directory
# (/sys/fs/bpf/bouncer-decap/DEV), shared by every network namespace: make
# them unique so that runs side by side do not collide.
VETH_A=dca$$
VETH_B=dcb$$
PIN_DIR=/sys/fs/bpf/bouncer-decap/$VETH_B
# For the attaches that must fail, and the skb mode one.
PIN_LO=/sys/fs/bpf/bnc-dc-$$-lo
PIN_SKB=/sys/fs/bpf/bnc-dc-$$-skb
PIN_SC=/sys/fs/bpf/bnc-dc-$$-sc
PIN_SC_A=/sys/fs/bpf/bnc-dc-$$-sc-a

A4=10.0.0.1
B4=10.0.0.2
B4_OTHER=10.0.0.3 # B's too, but not given to decap
A6=fd00:dc::1
B6=fd00:dc::2
B6_OTHER=fd00:dc::3
A4_PEER=10.0.0.9 # A as the second backend
A4_FORGER=10.0.0.77 # A too, but no load balancer of B's
CLIENT4=10.99.0.7 # the client the load balancer forwards for
CLIENT6=fd00:99::7
VIP4=10.200.0.1
VIP6=fd00:200::1
PORT=7777
PORT_A=7778 # only A, the second backend, serves it
# This kernel has no 8021q module, so no VLAN devices: the tagged scenarios
# use priority tags (VLAN id 0), which the core stack strips by itself and
# delivers on the parent device. The program does not look at the id.
VLAN=0

WORK=
SERVER_PID=
SERVER_A_PID=
SETUP_DONE=
FAILURES=0
# shellcheck source=tests/lib/live.sh
. "$ROOT/tests/lib/live.sh"
TIMEOUT=5 # seconds any one condition may take

if [[ $(id -u) -ne 0 ]]; then
	echo "ok - decap # SKIP needs root"
	exit 77
fi
if [[ ! -x $DECAP ]]; then
	echo "not ok - setup # $DECAP missing: make build/bouncer-decap"
	exit 1
fi

cleanup() {
	set +e
	# Reporting to a closed pipe must not cut the clean-up short.
	trap '' PIPE
	if [[ -z $SETUP_DONE ]]; then
		echo "not ok - setup"
	fi
	for pid in "$SERVER_PID" "$SERVER_A_PID"; do
		if [[ -n $pid ]]; then
			kill "$pid" 2>/dev/null
			wait "$pid" 2>/dev/null
		fi
	done
	# Pins outlive namespaces: remove them, whatever state a scenario
	# left them in.
	for dir in "$PIN_DIR" "$PIN_LO" "$PIN_SKB" "$PIN_SC" "$PIN_SC_A"; do
		[[ -d $dir ]] && rm -rf "$dir"
	done
	rmdir /sys/fs/bpf/bouncer-decap 2>/dev/null
	netns_destroy "$NS_A" "$NS_B"
	[[ -n $WORK ]] && rm -rf "$WORK"
}
trap cleanup EXIT
trap "exit 1" INT TERM HUP PIPE

in_a() { in_ns "$NS_A" "$@"; }
in_b() { in_ns "$NS_B" "$@"; }
decap() { in_b timeout 10 "$DECAP" "$@"; }

write_helpers() {
	# The backend's server: one line per datagram, "SOURCE TOS PAYLOAD",
	# TOS being the IPv4 TOS or IPv6 traffic class the packet arrived
	# with.
	cat >"$WORK/server.py" <<'EOF'
import select
import socket
import sys

out, ready, vip4, vip6, port = sys.argv[1:6]
s4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s4.setsockopt(socket.IPPROTO_IP, socket.IP_RECVTOS, 1)
s4.bind((vip4, int(port)))
s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVTCLASS, 1)
s6.bind((vip6, int(port)))
with open(ready, "w") as f:
    f.write("ready\n")
with open(out, "a", buffering=1) as f:
    while True:
        readable, _, _ = select.select([s4, s6], [], [])
        for s in readable:
            data, anc, _, addr = s.recvmsg(4096, socket.CMSG_SPACE(4))
            tos = -1
            for level, kind, cdata in anc:
                if (level, kind) == (socket.IPPROTO_IP, socket.IP_TOS):
                    tos = cdata[0]
                elif (level, kind) == (socket.IPPROTO_IPV6, socket.IPV6_TCLASS):
                    tos = int.from_bytes(cdata[:4], sys.byteorder)
            f.write("%s %d %s\n" % (addr[0], tos, data.decode("ascii", "replace")))
EOF

	# The load balancer: one IPIP frame on a packet socket, lengths and
	# checksums computed over the real contents.
	cat >"$WORK/send.py" <<'EOF'
import argparse
import socket
import struct


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def udp(src, dst, sport, dport, payload):
    length = 8 + len(payload)
    s, d = socket.inet_pton(family(src), src), socket.inet_pton(family(dst), dst)
    if family(src) == socket.AF_INET:
        pseudo = s + d + struct.pack("!BBH", 0, socket.IPPROTO_UDP, length)
    else:
        pseudo = s + d + struct.pack("!I3xB", length, socket.IPPROTO_UDP)
    hdr = struct.pack("!HHHH", sport, dport, length, 0)
    c = csum(pseudo + hdr + payload) or 0xFFFF
    return struct.pack("!HHHH", sport, dport, length, c) + payload


def ipv4(src, dst, proto, tos, body, options=b"", frag=0x4000, bad_csum=False):
    ihl = 5 + len(options) // 4
    hdr = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, tos, ihl * 4 + len(body), 1, frag,
                      64, proto, 0, socket.inet_pton(socket.AF_INET, src),
                      socket.inet_pton(socket.AF_INET, dst)) + options
    c = csum(hdr) ^ (0x1234 if bad_csum else 0)
    return hdr[:10] + struct.pack("!H", c) + hdr[12:] + body


def ipv6(src, dst, nexthdr, tclass, body):
    return struct.pack("!IHBB16s16s", 6 << 28 | tclass << 20, len(body), nexthdr, 64,
                       socket.inet_pton(socket.AF_INET6, src),
                       socket.inet_pton(socket.AF_INET6, dst)) + body


p = argparse.ArgumentParser()
p.add_argument("--dev", required=True)
p.add_argument("--src-mac", required=True)
p.add_argument("--dst-mac", required=True)
p.add_argument("--vlan", action="append", default=[], help="TPID:VID, outermost first")
p.add_argument("--outer-src", required=True)
p.add_argument("--outer-dst", required=True)
p.add_argument("--outer-tos", type=int, default=0)
p.add_argument("--outer-proto", type=int, help="default: 4 or 41 by the inner family")
p.add_argument("--outer-options", type=int, default=0, help="bytes of NOP options")
p.add_argument("--outer-frag", action="store_true", help="set MF")
p.add_argument("--bad-csum", action="store_true", help="corrupt the outer checksum")
p.add_argument("--inner-src", required=True)
p.add_argument("--inner-dst", required=True)
p.add_argument("--inner-tos", type=int, default=0)
p.add_argument("--sc", help="a second chance: this IPv4 address in the option")
p.add_argument("--sc-flags", type=int, default=0)
p.add_argument("--dport", type=int, required=True)
p.add_argument("--payload", required=True)
a = p.parse_args()

seg = udp(a.inner_src, a.inner_dst, 40000, a.dport, a.payload.encode())
if family(a.inner_dst) == socket.AF_INET:
    inner, proto = ipv4(a.inner_src, a.inner_dst, socket.IPPROTO_UDP, a.inner_tos, seg), 4
else:
    inner, proto = ipv6(a.inner_src, a.inner_dst, socket.IPPROTO_UDP, a.inner_tos, seg), 41
if a.outer_proto is not None:
    proto = a.outer_proto
if family(a.outer_dst) == socket.AF_INET:
    outer = ipv4(a.outer_src, a.outer_dst, proto, a.outer_tos, inner,
                 options=(b"\x01" * a.outer_options if not a.sc else
                          struct.pack("!BBBx4s", 0x9E, 8, a.sc_flags,
                                      socket.inet_pton(socket.AF_INET, a.sc))),
                 frag=0x2000 if a.outer_frag else 0x4000, bad_csum=a.bad_csum)
    ethertype = 0x0800
else:
    outer = ipv6(a.outer_src, a.outer_dst, proto, a.outer_tos, inner)
    ethertype = 0x86DD
l2 = bytes.fromhex(a.dst_mac.replace(":", "")) + bytes.fromhex(a.src_mac.replace(":", ""))
for tag in a.vlan:
    tpid, vid = tag.split(":")
    l2 += struct.pack("!HH", int(tpid, 16), int(vid))
l2 += struct.pack("!H", ethertype)
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((a.dev, 0))
s.send(l2 + outer)
EOF
}

setup() {
	local dev

	WORK=$(mktemp -d)
	write_helpers
	ip netns add "$NS_A"
	ip netns add "$NS_B"
	ip link add "$VETH_A" netns "$NS_A" type veth peer name "$VETH_B" netns "$NS_B"
	ip -n "$NS_A" link set lo up
	ip -n "$NS_B" link set lo up
	ip -n "$NS_A" addr add "$A4/24" dev "$VETH_A"
	ip -n "$NS_B" addr add "$B4/24" dev "$VETH_B"
	ip -n "$NS_B" addr add "$B4_OTHER/24" dev "$VETH_B"
	ip -n "$NS_A" addr add "$A6/64" dev "$VETH_A" nodad
	ip -n "$NS_B" addr add "$B6/64" dev "$VETH_B" nodad
	ip -n "$NS_B" addr add "$B6_OTHER/64" dev "$VETH_B" nodad
	ip -n "$NS_B" addr add "$VIP4/32" dev lo
	ip -n "$NS_B" addr add "$VIP6/128" dev lo
	ip -n "$NS_A" link set "$VETH_A" up
	ip -n "$NS_B" link set "$VETH_B" up
	# The inner source is a client B has no route to over the interface
	# the packet came in on: loose reverse path filtering would do, none
	# is simpler. A DSR backend sets the same.
	for dev in all default "$VETH_B"; do
		in_b sysctl -qw "net.ipv4.conf.$dev.rp_filter=0"
	done

	MAC_A=$(ip -n "$NS_A" -br link show dev "$VETH_A" | awk '{ print $3 }')
	MAC_B=$(ip -n "$NS_B" -br link show dev "$VETH_B" | awk '{ print $3 }')

	# Not through in_b: a function in the background runs in a subshell,
	# and $! would be that subshell rather than timeout, which forwards
	# the kill to the server.
	nsenter --net="/run/netns/$NS_B" -- timeout 300 "$PY" "$WORK/server.py" \
		"$WORK/received" "$WORK/ready" "$VIP4" "$VIP6" "$PORT" &
	SERVER_PID=$!
	if ! wait_for "$TIMEOUT" test -s "$WORK/ready"; then
		diag "the UDP server in $NS_B did not start"
		return 1
	fi
}

# send [send.py options]: one IPIP frame from A to B; inner addresses default
# to the IPv4 client and VIP.
send() {
	in_a timeout 10 "$PY" "$WORK/send.py" --dev "$VETH_A" --src-mac "$MAC_A" \
		--dst-mac "$MAC_B" --dport "$PORT" "$@"
}
send44() { send --outer-src "$A4" --outer-dst "$B4" --inner-src "$CLIENT4" --inner-dst "$VIP4" "$@"; }
send64() { send --outer-src "$A6" --outer-dst "$B6" --inner-src "$CLIENT4" --inner-dst "$VIP4" "$@"; }

# received LINE: the server has recorded exactly LINE.
received() { grep -qxF -- "$1" "$WORK/received"; }

expect_received() {
	if ! wait_for "$TIMEOUT" received "$1"; then
		diag "the server did not receive '$1'; it has:"
		sed 's/^/#   /' "$WORK/received" >&2 || true
		return 1
	fi
}

# expect_not_received PAYLOAD: sends a decapsulable marker behind the packet
# under test and waits for it. Frames on one veth arrive in order, so once
# the marker is in, the packet under test would be too.
MARKS=0
expect_not_received() {
	MARKS=$((MARKS + 1))
	send44 --payload "mark-$1-$MARKS"
	expect_received "$CLIENT4 0 mark-$1-$MARKS"
	if awk -v p="$1" '$3 == p { found = 1 } END { exit !found }' "$WORK/received"; then
		diag "the server received '$1', which should not have reached it"
		return 1
	fi
}

# counter NAME: the value bouncer-decap stats prints for NAME.
counter() {
	decap stats "$VETH_B" | awk -v name="$1" '$1 == name { print $2; found = 1 }
		END { exit !found }'
}

# expect_counter NAME BEFORE DELTA
expect_counter() {
	local now
	now=$(counter "$1")
	if ((now != $2 + $3)); then
		diag "counter $1: $now, expected $2 + $3"
		return 1
	fi
}

t_attach() {
	decap attach "$VETH_B" "$B4" "$B6"
	# "xdp" is native mode; skb mode shows "xdpgeneric".
	ip -n "$NS_B" link show dev "$VETH_B" | grep -qw xdp
	test -e "$PIN_DIR/link"
	test -e "$PIN_DIR/stats"
}

t_attach_again_fails() {
	local out
	if out=$(decap attach "$VETH_B" "$B4" 2>&1); then
		diag "a second attach succeeded"
		return 1
	fi
	grep -q "detach" <<<"$out"
	# The first one is untouched.
	test -e "$PIN_DIR/link"
}

t_bad_input_fails() {
	local out
	if out=$(decap attach "nosuch$$" "$B4" 2>&1); then
		return 1
	fi
	grep -q "unknown device 'nosuch$$'" <<<"$out"
	if out=$(decap attach "$VETH_B" 10.0.0.256 2>&1); then
		return 1
	fi
	grep -q "bad address '10.0.0.256'" <<<"$out"
	if decap attach "$VETH_B" 2>/dev/null; then
		return 1
	fi
	if decap detach "nosuch$$" 2>/dev/null; then
		return 1
	fi
	out=$("$DECAP" --help)
	grep -q "^Usage: bouncer-decap" <<<"$out"
}

t_native_unsupported_hint() {
	local out
	# lo has no native XDP.
	if out=$(decap attach lo "$B4" --pin "$PIN_LO" 2>&1); then
		diag "native attach to lo succeeded"
		return 1
	fi
	grep -q "native mode not supported by lo; try --mode skb" <<<"$out"
	# Nothing left behind.
	test ! -e "$PIN_LO"
}

t_ipv4_in_ipv4() {
	local before
	before=$(counter decapsulated)
	send44 --payload v4-in-v4
	expect_received "$CLIENT4 0 v4-in-v4"
	expect_counter decapsulated "$before" 1
}

t_ipv6_in_ipv4() {
	send --outer-src "$A4" --outer-dst "$B4" --inner-src "$CLIENT6" --inner-dst "$VIP6" \
		--payload v6-in-v4
	expect_received "$CLIENT6 0 v6-in-v4"
}

t_ipv4_in_ipv6() {
	send64 --payload v4-in-v6
	expect_received "$CLIENT4 0 v4-in-v6"
}

t_ipv6_in_ipv6() {
	send --outer-src "$A6" --outer-dst "$B6" --inner-src "$CLIENT6" --inner-dst "$VIP6" \
		--payload v6-in-v6
	expect_received "$CLIENT6 0 v6-in-v6"
}

t_outer_ipv4_options() {
	# IHL 15: 40 bytes of options, all cut out with the header.
	send44 --outer-options 40 --payload v4-options
	expect_received "$CLIENT4 0 v4-options"
}

t_vlan() {
	send44 --vlan "8100:$VLAN" --payload v4-vlan
	expect_received "$CLIENT4 0 v4-vlan"
	send64 --vlan "8100:$VLAN" --payload v4-in-v6-vlan
	expect_received "$CLIENT4 0 v4-in-v6-vlan"
}

t_qinq() {
	send44 --vlan "88a8:$VLAN" --vlan "8100:$VLAN" --payload v4-qinq
	expect_received "$CLIENT4 0 v4-qinq"
}

t_not_for_us() {
	local before
	before=$(counter not_for_us)
	# Addresses of B, but not given to decap: left alone, and the stack
	# (no ipip module here) has nothing to hand them to.
	send --outer-src "$A4" --outer-dst "$B4_OTHER" --inner-src "$CLIENT4" \
		--inner-dst "$VIP4" --payload other-v4
	send --outer-src "$A6" --outer-dst "$B6_OTHER" --inner-src "$CLIENT4" \
		--inner-dst "$VIP4" --payload other-v6
	expect_not_received other-v4
	expect_not_received other-v6
	expect_counter not_for_us "$before" 2
}

t_malformed() {
	local before
	before=$(counter malformed)
	# Protocol 4 says IPv4 inside; it is IPv6.
	send --outer-src "$A4" --outer-dst "$B4" --outer-proto 4 --inner-src "$CLIENT6" \
		--inner-dst "$VIP6" --payload bad-version
	send44 --bad-csum --payload bad-csum
	send44 --outer-frag --payload outer-fragment
	expect_not_received bad-version
	expect_not_received bad-csum
	expect_not_received outer-fragment
	expect_counter malformed "$before" 3
}

t_ecn() {
	local before
	before=$(counter drop_ecn)
	# Outer CE onto an ECT(0) inner packet: delivered as CE (and, for
	# IPv4, with a checksum the stack accepts).
	send44 --outer-tos 3 --inner-tos 2 --payload ecn-ce-v4
	expect_received "$CLIENT4 3 ecn-ce-v4"
	send --outer-src "$A4" --outer-dst "$B4" --inner-src "$CLIENT6" --inner-dst "$VIP6" \
		--outer-tos 3 --inner-tos 1 --payload ecn-ce-v6
	expect_received "$CLIENT6 3 ecn-ce-v6"
	send64 --outer-tos 3 --inner-tos 2 --payload ecn-ce-v4-in-v6
	expect_received "$CLIENT4 3 ecn-ce-v4-in-v6"
	# Outer ECT does not change the inner packet.
	send44 --outer-tos 2 --inner-tos 0 --payload ecn-ect-v4
	expect_received "$CLIENT4 0 ecn-ect-v4"
	# Outer CE onto a packet that is not ECN capable: dropped.
	send44 --outer-tos 3 --inner-tos 0 --payload ecn-not-ect
	expect_not_received ecn-not-ect
	expect_counter drop_ecn "$before" 1
}

t_stats() {
	local out name lines
	out=$(decap stats "$VETH_B")
	mapfile -t lines <<<"$out"
	printf '# %s\n' "${lines[@]}"
	grep -q "^$VETH_B: attached in native mode" <<<"$out"
	grep -qE "^  addresses +$B4 $B6\$|^  addresses +$B6 $B4\$" <<<"$out"
	for name in decapsulated passed not_for_us malformed drop_ecn; do
		grep -qE "^  $name +[0-9]+\$" <<<"$out"
	done
	# The deliveries of the scenarios above, markers included.
	if (($(counter decapsulated) < 18)); then
		diag "decapsulated $(counter decapsulated), expected at least 18"
		return 1
	fi
	# Without DEV: every device under the default directory, ours too.
	out=$(decap stats)
	grep -q "^$VETH_B: " <<<"$out"
}

t_detach() {
	decap detach "$VETH_B"
	if ip -n "$NS_B" link show dev "$VETH_B" | grep -q xdp; then
		diag "still attached after detach"
		return 1
	fi
	test ! -e "$PIN_DIR"
	if decap stats "$VETH_B" 2>/dev/null; then
		return 1
	fi
}

t_skb_mode() {
	local out
	decap attach "$VETH_B" "$B4" --mode skb --pin "$PIN_SKB"
	ip -n "$NS_B" link show dev "$VETH_B" | grep -qw xdpgeneric
	send44 --payload v4-skb-mode
	expect_received "$CLIENT4 0 v4-skb-mode"
	out=$(decap stats --pin "$PIN_SKB")
	grep -qE "^  decapsulated +1\$" <<<"$out"
	decap detach "$VETH_B" --pin "$PIN_SKB"
	if ip -n "$NS_B" link show dev "$VETH_B" | grep -q xdp; then
		return 1
	fi
	test ! -e "$PIN_SKB"
}

# counter_at PIN NAME: a counter of the decap pinned in PIN, in NS.
counter_at() {
	in_ns "$1" "$DECAP" stats --pin "$2" | awk -v name="$3" '$1 == name { print $2; found = 1 }
		END { exit !found }'
}

# B trusts A4 and hands on to A4_PEER, where A decapsulates: a datagram to
# a port B has no socket of reaches A's server; one with a socket at B, a
# forged one and one handed on already stay at B.
t_second_chance() {
	local n
	decap attach "$VETH_B" "$B4" --pin "$PIN_SC" --lb "$A4" --peer "$A4_PEER"
	in_b sysctl -qw net.ipv4.ip_forward=1
	in_b ip neigh replace "$A4_PEER" lladdr "$MAC_A" dev "$VETH_B" nud permanent
	ip -n "$NS_A" addr add "$A4_PEER/24" dev "$VETH_A"
	ip -n "$NS_A" addr add "$A4_FORGER/24" dev "$VETH_A"
	ip -n "$NS_A" addr add "$VIP4/32" dev lo
	ip -n "$NS_A" addr add "$VIP6/128" dev lo
	for dev in all default "$VETH_A"; do
		in_a sysctl -qw "net.ipv4.conf.$dev.rp_filter=0"
	done
	# Also the program XDP_TX on B's veth needs on A's end (FACTS.md).
	in_a timeout 10 "$DECAP" attach "$VETH_A" "$A4_PEER" --pin "$PIN_SC_A"
	nsenter --net="/run/netns/$NS_A" -- timeout 300 "$PY" "$WORK/server.py" \
		"$WORK/received_a" "$WORK/ready_a" "$VIP4" "$VIP6" "$PORT_A" &
	SERVER_A_PID=$!
	wait_for "$TIMEOUT" test -s "$WORK/ready_a"

	send44 --dport "$PORT_A" --sc "$A4_PEER" --payload sc-handed-on
	wait_for "$TIMEOUT" grep -qxF -- "$CLIENT4 0 sc-handed-on" "$WORK/received_a"
	[[ $(counter_at "$NS_B" "$PIN_SC" handed_on) == 1 ]]
	[[ $(counter_at "$NS_A" "$PIN_SC_A" sc_second_hop) == 1 ]]
	# B's server has an unconnected socket on PORT: B cannot tell, keeps it.
	send44 --sc "$A4_PEER" --payload sc-unknown
	expect_received "$CLIENT4 0 sc-unknown"
	[[ $(counter_at "$NS_B" "$PIN_SC" sc_unknown) == 1 ]]
	# Not from a load balancer: never handed on.
	send --outer-src "$A4_FORGER" --outer-dst "$B4" --inner-src "$CLIENT4" \
		--inner-dst "$VIP4" --dport "$PORT_A" --sc "$A4_PEER" --payload sc-forged
	wait_for "$TIMEOUT" test "$(counter_at "$NS_B" "$PIN_SC" sc_refused)" == 1
	# Handed on once already: never again.
	send44 --dport "$PORT_A" --sc "$A4_PEER" --sc-flags 1 --payload sc-second-hop
	wait_for "$TIMEOUT" test "$(counter_at "$NS_B" "$PIN_SC" sc_second_hop)" == 1
	n=$(counter_at "$NS_B" "$PIN_SC" handed_on)
	diag "handed on by B: $n"
	[[ $n == 1 ]]
	if grep -qE "sc-forged|sc-second-hop" "$WORK/received_a"; then
		diag "A received what B must not hand on"
		return 1
	fi
	decap stats --pin "$PIN_SC" | grep -qE "^  peers +$A4_PEER\$"
	decap peers "$VETH_B" --pin "$PIN_SC"
	if decap stats --pin "$PIN_SC" | grep -qF "$A4_PEER"; then
		diag "peers left $A4_PEER in place"
		return 1
	fi
	decap detach "$VETH_B" --pin "$PIN_SC"
	in_a timeout 10 "$DECAP" detach "$VETH_A" --pin "$PIN_SC_A"
}

setup
SETUP_DONE=1
echo "ok - setup"
run attach t_attach
run attach_again_fails t_attach_again_fails
run bad_input_fails t_bad_input_fails
run native_unsupported_hint t_native_unsupported_hint
run ipv4_in_ipv4 t_ipv4_in_ipv4
run ipv6_in_ipv4 t_ipv6_in_ipv4
run ipv4_in_ipv6 t_ipv4_in_ipv6
run ipv6_in_ipv6 t_ipv6_in_ipv6
run outer_ipv4_options t_outer_ipv4_options
run vlan t_vlan
run qinq t_qinq
run not_for_us t_not_for_us
run malformed t_malformed
run ecn t_ecn
run stats t_stats
run detach t_detach
run skb_mode t_skb_mode
run second_chance t_second_chance

if ((FAILURES)); then
	echo "# $FAILURES scenario(s) failed"
	exit 1
fi
