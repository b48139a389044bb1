#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# An upgrade and a downgrade across a change of the maps' layout, under
# traffic. The previous layout's agent is the real one: built from the
# last commit of that layout (OLD_COMMIT, from git archive; cached in
# build/abiN, N the old version). One L2 segment joins a client C, the load balancer L and
# two dsr backends B1 and B2; the VIP also has two local workers on L.
# Every backend and worker runs tests/lib/echo_server.py. Through all the
# scenarios tests/lib/longconn.py keeps 60 long-lived connections echoing
# and opens 50 new ones a second.
#
#   old       the old agent serves; its status shows the old map layout
#             (none for version 1)
#   upgrade   kill -9 of the old agent, the new one started: it converts
#             the maps (its log says so, its status shows the new layout); every
#             flow the old agent listed is in the new table with the same
#             backend; no counter went back; the same worker pids
#   downgrade kill -9 of the new agent, `bouncerd --downgrade-maps OLD`,
#             the old agent started: the same checks the other way
#   traffic   not one long-lived connection broken, not one new
#             connection failed, through both changes
#
# Run as root from anywhere; needs build/bouncerd, build/bouncerctl and
# build/bouncer-decap, git and the tree's history. Prints "ok - NAME" /
# "not ok - NAME" per scenario; exit 77 when not root.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BOUNCERD=${BOUNCERD:-$ROOT/build/bouncerd}
BOUNCERCTL=${BOUNCERCTL:-$ROOT/build/bouncerctl}
DECAP=${DECAP:-$ROOT/build/bouncer-decap}
PY=/usr/bin/python3

# The last commit whose maps have layout version 4 (version 3's was
# d47c260a0742114eefc3c0a94ac7c4dea62a5576, version 2's
# fe9bb126e3a79de3b08759cff519338e5250cecb, version 1's
# 2c558c5adc1edb70190c1afc27b8a3b80fb6351a): each layout change records
# the last commit of the layout before it here.
OLD_COMMIT=a05cc98e512f29ad8572782f0451615364239158
OLD_VERSION=4
OLD_TREE=${OLD_TREE:-$ROOT/build/abi$OLD_VERSION}

NS_C=bnc-up-$$-c
NS_L=bnc-up-$$-l
NS_B1=bnc-up-$$-b1
NS_B2=bnc-up-$$-b2
NS_SW=bnc-up-$$-sw
PIN=/sys/fs/bpf/bnc-up-$$

C_IP=10.7.0.1
L_IP=10.7.0.2
B1_IP=10.7.0.11
B2_IP=10.7.0.12
VIP=10.7.0.100
PORT=7

WORK=
CLIENT_PID=
FAILURES=0
SETUP_DONE=
# shellcheck source=tests/lib/live.sh
. "$ROOT/tests/lib/live.sh"

require_root upgrade
require_built "$BOUNCERD" "$BOUNCERCTL" "$DECAP"
require_tools ethtool nsenter "$PY"

cleanup() {
	set +e
	trap '' PIPE
	if [[ -z $SETUP_DONE ]]; then
		echo "not ok - setup"
		[[ -n $WORK && -f $WORK/agent.log ]] && sed 's/^/# /' "$WORK/agent.log" >&2
	fi
	[[ -n $CLIENT_PID ]] && kill "$CLIENT_PID" 2>/dev/null
	[[ -n $WORK && -f $WORK/agent.pid ]] && kill -KILL "$(cat "$WORK/agent.pid")" 2>/dev/null
	# The workers outlive a killed agent: they go with their namespace's
	# processes.
	[[ -n $WORK ]] && pkill -KILL -f "$WORK/" 2>/dev/null
	netns_destroy "$NS_C" "$NS_L" "$NS_B1" "$NS_B2" "$NS_SW"
	[[ -d $PIN ]] && rm -rf "$PIN"
	[[ -n $WORK ]] && rm -rf "$WORK"
}
trap cleanup EXIT
trap "exit 1" INT TERM HUP PIPE

# The old agent, built once from the commit's tree.
build_old() {
	[[ -x $OLD_TREE/build/bouncerd && -x $OLD_TREE/build/bouncerctl ]] && return 0
	# Only to build it: the guest of vm/run gets it built.
	require_tools git
	# A shallow clone lacks the commit: its origin may still have it.
	git -C "$ROOT" cat-file -e "$OLD_COMMIT^{commit}" 2>/dev/null ||
		git -C "$ROOT" fetch -q origin "$OLD_COMMIT" 2>/dev/null || true
	if ! git -C "$ROOT" cat-file -e "$OLD_COMMIT^{commit}" 2>/dev/null; then
		echo "not ok - setup # commit $OLD_COMMIT is not in this clone: a full clone (not shallow) is needed"
		exit 1
	fi
	rm -rf "$OLD_TREE"
	mkdir -p "$OLD_TREE"
	git -C "$ROOT" archive "$OLD_COMMIT" | tar -x -C "$OLD_TREE"
	make -C "$OLD_TREE" -j2 build/bouncerd build/bouncerctl >"$OLD_TREE.log" 2>&1 || {
		echo "not ok - setup # building the layout $OLD_VERSION agent failed: $OLD_TREE.log"
		exit 1
	}
}

# --build-old: build the old agent and stop (vm/run does, for its guest,
# which has neither the history nor a compiler).
if [[ ${1:-} == --build-old ]]; then
	SETUP_DONE=1
	build_old
	exit 0
fi

# Every echo server is named: the backends b1 and b2, the workers w0, w1.
write_config() {
	cat >"$WORK/bouncer.conf" <<EOF
interfaces = [ "vl" ];
mode = "native";
pin_dir = "$PIN/lb";
control_socket = "$WORK/ctl.sock";
flow_table_size = 65536;
vips = (
  { name = "echo"; address = "$VIP"; port = $PORT; ring_size = 1021; forwarding = "dsr";
    check = { type = "tcp"; interval = $(scaled 0.5); timeout = $(scaled 0.45); rise = 1; fall = 2; };
    backends = ( { address = "$B1_IP"; port = $PORT; }, { address = "$B2_IP"; port = $PORT; } );
    workers = { command = [ "sh", "-c", "exec $PY $WORK/echo_server.py \$PORT w\$WORKER_ID" ];
                count = 2; port_base = 9700; alt_port_base = 9750;
                ready_timeout = $(scaled 10); }; }
);
EOF
}

# start_agent BOUNCERD
start_agent() {
	echo "# --- $1" >>"$WORK/agent.log"
	nsenter --net="/run/netns/$NS_L" -- \
		"$1" -c "$WORK/bouncer.conf" -S "$WORK/state" >>"$WORK/agent.log" 2>&1 </dev/null &
	echo $! >"$WORK/agent.pid"
	# kill -9 is the test's: no "Killed" from bash for it.
	disown
	wait_for 10 agent_answers
}

kill_agent() {
	local pid
	pid=$(cat "$WORK/agent.pid")
	kill -KILL "$pid"
	wait_for 5 pid_gone "$WORK/agent.pid"
}

ctl() { in_ns "$NS_L" timeout "$(scaled 10)" "$BOUNCERCTL" -s "$WORK/ctl.sock" "$@"; }
agent_answers() { ctl status >/dev/null 2>&1; }

all_up() {
	[[ $(ctl -j backend list echo |
		json "len(d['backends']) == 4 and all(b['datapath'] == 'up' for b in d['backends'])") == True ]]
}

# What the agent serves, in a form both versions give: the flows (5-tuple
# to backend address and port), the counters, the workers' pids.
snapshot() {
	ctl -j flow list limit 1000000 >"$1.flows"
	ctl -j stats >"$1.stats"
	ctl -j worker list echo >"$1.workers"
}

# same_flows BEFORE AFTER: every flow of BEFORE is in AFTER, on the same
# backend.
same_flows() {
	"$PY" - "$1.flows" "$2.flows" <<'EOF'
import json, sys

def flows(path):
    d = json.load(open(path))
    return {(f["protocol"], f["src"], f["sport"], f["dst"], f["dport"]):
            (f["backend"]["address"], f["backend"]["port"]) for f in d["flows"]}

before, after = flows(sys.argv[1]), flows(sys.argv[2])
missing = [k for k in before if k not in after]
moved = [k for k in before if k in after and after[k] != before[k]]
print(f"# {len(before)} flows before, {len(after)} after, {len(missing)} missing, "
      f"{len(moved)} on another backend", file=sys.stderr)
for k in (missing + moved)[:5]:
    print(f"#   {k}: {before[k]} -> {after.get(k)}", file=sys.stderr)
sys.exit(0 if before and not missing and not moved else 1)
EOF
}

# counters_kept BEFORE AFTER: no global counter and no VIP or backend
# traffic counter is lower after.
counters_kept() {
	"$PY" - "$1.stats" "$2.stats" <<'EOF'
import json, sys

def numbers(d, path=""):
    if isinstance(d, dict):
        for k, v in d.items():
            yield from numbers(v, f"{path}/{k}")
    elif isinstance(d, list):
        for i, v in enumerate(d):
            yield from numbers(v, f"{path}/{v.get('name', i) if isinstance(v, dict) else i}")
    elif isinstance(d, int) and not isinstance(d, bool):
        yield path, d

before = dict(numbers(json.load(open(sys.argv[1]))))
after = dict(numbers(json.load(open(sys.argv[2]))))
# Rates are not counters.
lower = [k for k, v in before.items() if "rate" not in k and k in after and after[k] < v]
checked = [k for k in before if "rate" not in k and k in after]
print(f"# {len(checked)} counters compared, {len(lower)} lower after", file=sys.stderr)
for k in lower[:5]:
    print(f"#   {k}: {before[k]} -> {after[k]}", file=sys.stderr)
sys.exit(0 if checked and not lower else 1)
EOF
}

pids() { json "sorted(w['pid'] for w in d['vips'][0]['workers'])" <"$1.workers"; }

same_pids() {
	local a b
	a=$(pids "$1")
	b=$(pids "$2")
	diag "worker pids: $a then $b"
	[[ $a == "$b" && $a != "[]" ]]
}

# new_ok_past N: the client has completed more than N new connections.
new_ok_past() {
	[[ -f $WORK/progress ]] && (($(json "d['new_ok']" <"$WORK/progress") > $1))
}

# Traffic flows before a snapshot: a hundred more new connections.
more_traffic() {
	local n
	wait_for 10 test -s "$WORK/progress"
	n=$(json "d['new_ok']" <"$WORK/progress")
	wait_for 20 new_ok_past $((n + 100))
}

setup() {
	WORK=$(mktemp -d /tmp/bnc-upgrade.XXXXXX)
	mkdir -p "$PIN"
	build_old
	cp "$ROOT/tests/lib/echo_server.py" "$WORK/"
	local ns
	bridge_world "bnc-up-$$" c l b1 b2
	ip -n "$NS_C" addr add "$C_IP/24" dev vc
	ip -n "$NS_L" addr add "$L_IP/24" dev vl
	ip -n "$NS_B1" addr add "$B1_IP/24" dev vb1
	ip -n "$NS_B2" addr add "$B2_IP/24" dev vb2
	# The workers take the VIP's connections on L itself.
	ip -n "$NS_L" addr add "$VIP/32" dev lo
	for ns in "$NS_B1" "$NS_B2" "$NS_L"; do
		in_ns "$ns" sysctl -qw net.ipv4.conf.all.arp_ignore=1 \
			net.ipv4.conf.all.arp_announce=2 net.ipv4.conf.all.rp_filter=0 \
			net.ipv4.conf.default.rp_filter=0
	done
	for ns in "$NS_B1" "$NS_B2"; do
		ip -n "$ns" addr add "$VIP/32" dev lo
	done
	ip -n "$NS_C" route add "$VIP/32" via "$L_IP"
	# XDP_TX out of L's veth reaches the bridge only with a program on
	# the peer (FACTS: veth needs NAPI there); the client computes its
	# own checksums.
	in_ns "$NS_SW" "$DECAP" attach pl 192.0.2.1 --pin "$PIN/decap-sw" >/dev/null 2>&1
	in_ns "$NS_C" ethtool -K vc tx off >/dev/null
	nsenter --net="/run/netns/$NS_B1" -- "$PY" "$WORK/echo_server.py" "$PORT" b1 \
		>/dev/null 2>&1 </dev/null &
	nsenter --net="/run/netns/$NS_B2" -- "$PY" "$WORK/echo_server.py" "$PORT" b2 \
		>/dev/null 2>&1 </dev/null &
	# They go with their namespaces, killed: no "Killed" from bash.
	disown -a
	write_config
	start_agent "$OLD_TREE/build/bouncerd"
	wait_for 15 all_up
	nsenter --net="/run/netns/$NS_C" -- "$PY" "$ROOT/tests/lib/longconn.py" "$VIP" "$PORT" \
		--conns 60 --rate 50 --until "$WORK/until" --ready "$WORK/ready" \
		--progress "$WORK/progress" --max-time 200 >"$WORK/client.json" 2>"$WORK/client.err" &
	CLIENT_PID=$!
	echo "$CLIENT_PID" >"$WORK/client.pid"
	wait_for 30 test -f "$WORK/ready"
	# Since layout 4 a flow has an entry only where the ring changed
	# after traffic began: a weight change makes a quarter of the slots
	# changed, and their new connections recorded, for the upgrade and
	# the downgrade to carry.
	ctl backend set echo "$B1_IP:$PORT" weight 3 >/dev/null
	more_traffic
	SETUP_DONE=1
}

# map_layout_is VERSION: what status says; version 1 said nothing.
map_layout_is() {
	local want=$1
	((want == 1)) && want=none
	[[ $(ctl -j status | json "d.get('map_abi', 'none')") == "$want" ]]
}

scenario_old() {
	snapshot "$WORK/old"
	map_layout_is "$OLD_VERSION"
}

scenario_upgrade() {
	more_traffic
	snapshot "$WORK/before-up"
	kill_agent
	start_agent "$BOUNCERD"
	local new
	new=$(ctl -j status | json "d['map_abi']")
	((new > OLD_VERSION))
	grep -q "converted from layout version $OLD_VERSION to $new" "$WORK/agent.log"
	snapshot "$WORK/after-up"
	same_flows "$WORK/before-up" "$WORK/after-up"
	counters_kept "$WORK/before-up" "$WORK/after-up"
	same_pids "$WORK/before-up" "$WORK/after-up"
	wait_for 15 all_up
}

scenario_downgrade() {
	more_traffic
	snapshot "$WORK/before-down"
	kill_agent
	in_ns "$NS_L" "$BOUNCERD" -c "$WORK/bouncer.conf" -S "$WORK/state" \
		--downgrade-maps "$OLD_VERSION" >>"$WORK/agent.log" 2>&1
	start_agent "$OLD_TREE/build/bouncerd"
	map_layout_is "$OLD_VERSION"
	snapshot "$WORK/after-down"
	same_flows "$WORK/before-down" "$WORK/after-down"
	counters_kept "$WORK/before-down" "$WORK/after-down"
	same_pids "$WORK/before-down" "$WORK/after-down"
	wait_for 15 all_up
}

scenario_traffic() {
	more_traffic
	touch "$WORK/until"
	wait_for 30 pid_gone "$WORK/client.pid"
	CLIENT_PID=
	"$PY" - "$WORK/client.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"# long {r['long']}, open failed {r['open_failed']}, broken {r['broken']}, "
      f"new ok {r['new_ok']}, new failed {r['new_failed']}, by backend {r['new_by']}",
      file=sys.stderr)
for f in r["broken_list"][:5] + r["new_failures"][:5]:
    print(f"#   {f}", file=sys.stderr)
sys.exit(0 if r["long"] >= 50 and r["open_failed"] == 0 and r["broken"] == 0
         and r["new_failed"] == 0 and r["new_ok"] > 0 else 1)
EOF
}

setup
run old scenario_old
run upgrade scenario_upgrade
run downgrade scenario_downgrade
run traffic scenario_traffic
if ((FAILURES)); then
	sed 's/^/# /' "$WORK/agent.log" | tail -n 60 >&2
fi
((FAILURES == 0))
