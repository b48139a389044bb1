#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# bouncer in action, in about 40 s (`make demo`, as root).
#
# Builds a small world of network namespaces on one bridge: a client, the
# bouncer host (bouncerd, the XDP program, two local Node.js workers) and
# two remote backends b1 and b2 (Python servers holding the VIP on lo, for
# direct server return). bouncerd runs examples/demo.conf: one VIP served
# by all four. The client sends a steady stream of HTTP requests to the VIP
# while the demo goes through its phases:
#
#   1 everyone serves      the four share the traffic
#   2 a worker dies        kill -9 of worker 1: bouncerd starts it again
#   3 a backend stops      b2's server stops: its health check takes it out
#   4 the backend is back  b2's server starts again: it serves again
#
# and shows after each who served how many requests, the backends' health
# (bouncerctl backend list), the workers (bouncerctl worker list) and the
# ring's shares (bouncerctl ring show). It ends with a summary, and lines
# for machines (tests/live/demo.sh reads them):
#
#   summary: requests=N failed=N
#   summary: failed_worker_kill=N refused=N
#                                   failed while worker 1 was killed, and
#                                   how many of those were refused
#   summary: failed_backend_down=N  failed between b2's stop and its check
#                                   taking it out
#   summary: failed_other=N         failed at any other time
#   summary: served NAME=N          for worker0, worker1, b1, b2
#   summary: status_page=yes|no     the page's status.json answered at the end
#   summary: worker_restarted=yes|no
#   summary: backend_returned=yes|no
#   summary: leftovers=none|WHAT     after the teardown
#   summary: duration_s=N            the whole run, teardown included
#
# It prints the URL of bouncerd's status page first (127.0.0.1 on this
# host, port 9368 unless taken; BNC_DEMO_PAGE_PORT picks another): open it
# in a browser to watch the phases happen.
#
# Everything is torn down at the end, on error and on Ctrl-C: namespaces
# (and their links), the pinned maps and programs, processes, temporary
# files; then the demo looks for anything of its own left behind. Every
# process it starts carries BNC_DEMO_RUN in its environment.
#
# Colour only when stdout is a terminal. Needs build/bouncerd,
# build/bouncerctl, build/bouncer-decap (make), node and python3. Exits 1
# when a step does not happen in time (the agent answering, a worker or
# backend coming up, going down, coming back) or something is left behind;
# the numbers are for the reader, or tests/live/demo.sh, to judge.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD_DIR:-build}
[[ $BUILD == /* ]] || BUILD=$ROOT/$BUILD
BOUNCERD=$BUILD/bouncerd
BOUNCERCTL=$BUILD/bouncerctl
DECAP=$BUILD/bouncer-decap
PY=/usr/bin/python3
CONF=$ROOT/examples/demo.conf

# The addresses of examples/demo.conf.
C_IP=10.10.0.1
LB_IP=10.10.0.2
B1_IP=10.10.0.11
B2_IP=10.10.0.12
VIP=10.10.0.100

RUN=bnc-demo-$$
NS_SW=$RUN-sw
NS_C=$RUN-c
NS_LB=$RUN-lb
NS_B1=$RUN-b1
NS_B2=$RUN-b2
PIN=/sys/fs/bpf/$RUN
WORK=
export BNC_DEMO_RUN=$RUN

# tests/lib/live.sh: in_ns, wait_for, netns_destroy. It counts failures
# in FAILURES, which the demo does not use.
FAILURES=0
# shellcheck source=tests/lib/live.sh
. "$ROOT/tests/lib/live.sh"

if [[ -t 1 ]]; then
	B=$'\e[1m' DIM=$'\e[2m' RED=$'\e[31m' GREEN=$'\e[32m' CYAN=$'\e[36m' N=$'\e[0m'
else
	B='' DIM='' RED='' GREEN='' CYAN='' N=''
fi

die() {
	echo "${RED}demo: $*${N}" >&2
	exit 1
}

[[ $(id -u) -eq 0 ]] || die "needs root (network namespaces, BPF)"
for bin in "$BOUNCERD" "$BOUNCERCTL" "$DECAP"; do
	[[ -x $bin ]] || die "$bin missing: run make"
done
for tool in node "$PY" nsenter ethtool ip; do
	command -v "$tool" >/dev/null || die "$tool not installed: scripts/deps.sh installs it"
done

START=$SECONDS
T0=$(date +%s.%N)
STEP=setup
AGENT_PID=
LOAD_PID=
FORWARD_PID=
PAGE_URL=
declare -A BACKEND_PID=()

# What is left of this run: namespaces, pins, processes, temporary files,
# one word each; nothing prints nothing.
leftovers() {
	local what=()
	ip netns list | grep -q "^$RUN-" && what+=(namespaces)
	[[ -e $PIN ]] && what+=("pins:$PIN")
	[[ -n $WORK && -e $WORK ]] && what+=("files:$WORK")
	local pids
	pids=$(demo_pids)
	[[ -n $pids ]] && what+=("processes:${pids// /,}")
	echo "${what[*]}"
}

# demo_pids: the processes that carry this run's mark. Python without the
# mark does the looking, so that it does not find itself.
demo_pids() {
	env -u BNC_DEMO_RUN "$PY" - "$RUN" <<'EOF'
import glob, sys
mark = b"BNC_DEMO_RUN=" + sys.argv[1].encode() + b"\0"
found = []
for f in glob.glob("/proc/[0-9]*/environ"):
    try:
        with open(f, "rb") as e:
            if mark in e.read():
                found.append(f.split("/")[2])
    except OSError:
        pass
print(" ".join(sorted(found, key=int)))
EOF
}

cleanup() {
	local rc=$? left
	set +e
	trap '' INT TERM HUP PIPE
	echo
	if ((rc != 0)); then
		echo "${RED}demo: stopped during $STEP (status $rc)${N}"
		# Not interrupted (Ctrl-C, kill): an error, which the log may explain.
		if ((rc != 130 && rc != 143)) && [[ -n $WORK && -s $WORK/agent.log ]]; then
			echo "${DIM}last lines of bouncerd's log:${N}"
			tail -n 30 "$WORK/agent.log" | sed 's/^/    /'
		fi
	fi
	echo "${DIM}tearing down${N}"
	[[ -n $WORK ]] && touch "$WORK/load.stop"
	[[ -n $LOAD_PID ]] && wait "$LOAD_PID" 2>/dev/null
	# -D: on SIGTERM bouncerd stops its workers, detaches the XDP and
	# sk_lookup programs and removes its pins.
	if [[ -n $AGENT_PID ]]; then
		kill -TERM "$AGENT_PID" 2>/dev/null
		wait_for 10 test ! -e "/proc/$AGENT_PID"
		wait "$AGENT_PID" 2>/dev/null
	fi
	if [[ -n $FORWARD_PID ]]; then
		kill "$FORWARD_PID" 2>/dev/null
		wait "$FORWARD_PID" 2>/dev/null
	fi
	local i
	for i in "${!BACKEND_PID[@]}"; do
		stop_backend "$i"
	done
	in_ns "$NS_SW" "$DECAP" detach plb --pin "$PIN/decap-sw" >/dev/null 2>&1
	# Whatever still runs in a namespace is killed with it.
	netns_destroy "$NS_C" "$NS_LB" "$NS_B1" "$NS_B2" "$NS_SW"
	rm -rf "$PIN"
	[[ -n $WORK ]] && rm -rf "$WORK"
	left=$(leftovers)
	echo "summary: leftovers=${left:-none}"
	echo "summary: duration_s=$((SECONDS - START))"
	if [[ -n $left ]]; then
		echo "${RED}demo: left behind: $left${N}"
		((rc != 0)) || rc=1
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# ---- helpers ----

ctl() { in_ns "$NS_LB" timeout 10 "$BOUNCERCTL" -s "$WORK/ctl.sock" "$@"; }
json() { "$PY" -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
indent() { sed 's/^/    /'; }
# yes or no, in green or red.
yesno() { if [[ $1 == yes ]]; then echo "${GREEN}yes${N}"; else echo "${RED}no${N}"; fi; }
# Seconds since the demo started, one decimal.
now() { awk -v t0="$T0" -v t="$(date +%s.%N)" 'BEGIN { printf "%.1f", t - t0 }'; }

# backend FIELD ADDRESS: a field of the remote backend at ADDRESS.
backend() { ctl -j backend list demo | json "[b for b in d['backends'] if b['address'] == '$2'][0]['$1']"; }
health_is() { [[ $(backend health "$2") == "$1" ]]; }

# worker FIELD ID: a field of local worker ID.
worker() {
	ctl -j worker list demo | json "[w for w in d['vips'][0]['workers'] if w['id'] == $2][0]['$1']"
}
workers_ready() {
	[[ $(ctl -j worker list demo | json "sum(w['state'] == 'ready' for w in d['vips'][0]['workers'])") -eq $1 ]]
}

show_backends() {
	echo "${CYAN}\$ bouncerctl backend list demo${N}"
	ctl backend list demo | indent
}
show_workers() {
	echo "${CYAN}\$ bouncerctl worker list demo${N}"
	ctl worker list demo | indent
}
show_ring() {
	echo "${CYAN}\$ bouncerctl ring show demo${N}"
	ctl ring show demo | indent
}

# Requests so far: the client appends one line per request to load.log.
mark() { wc -l <"$WORK/load.log"; }
# made_since MARK N: N requests or more since MARK.
made_since() { (($(mark) - $1 >= $2)); }

# served FROM TO: who answered requests FROM+1 .. TO (line numbers of
# load.log), one line each with a bar, and the failures.
served() {
	awk -v from="$1" -v to="$2" -v b1="$B1_IP" -v b2="$B2_IP" -v red="$RED" -v n="$N" '
	NR > from && NR <= to { total++; if ($2 == "OK") c[$3]++; else failed++ }
	END {
		split("worker0 worker1 b1 b2", names, " ")
		label["worker0"] = "worker/0"; what["worker0"] = "local, node"
		label["worker1"] = "worker/1"; what["worker1"] = "local, node"
		label["b1"] = "b1"; what["b1"] = b1 ":80"
		label["b2"] = "b2"; what["b2"] = b2 ":80"
		max = 1
		for (i = 1; i <= 4; i++) if (c[names[i]] > max) max = c[names[i]]
		for (i = 1; i <= 4; i++) {
			k = names[i]
			bar = ""
			for (j = 0; j < int(c[k] * 40 / max + 0.5); j++) bar = bar "#"
			printf "    %-8s %-20s %5d  %s\n", label[k], what[k], c[k], bar
		}
		for (k in c) if (!(k in what)) printf "    %-29s %5d  (unexpected)\n", k, c[k]
		if (failed) printf "    %s%-29s %5d%s\n", red, "failed", failed, n
		printf "    %-29s %5d\n", "requests", total
	}' "$WORK/load.log"
}

# failed FROM TO [PATTERN]: failed requests among FROM+1 .. TO, those
# whose error matches PATTERN if given.
failed() {
	awk -v from="$1" -v to="$2" -v re="${3:-}" \
		'NR > from && NR <= to && $2 == "FAIL" && $0 ~ re' "$WORK/load.log" | wc -l
}

# why_failed FROM TO: the first failures among FROM+1 .. TO, when and why.
why_failed() {
	awk -v from="$1" -v to="$2" -v t0="$T0" 'NR > from && NR <= to && $2 == "FAIL" && n++ < 3 {
		printf "    failed at %.2f s:", $1 - t0; for (i = 3; i <= NF; i++) printf " %s", $i; print ""
	}' "$WORK/load.log"
}

phase() {
	STEP=$1
	echo
	echo "${B}== $1 ${DIM}  [at $(now) s]${N}"
	shift
	local line
	for line in "$@"; do
		echo "   $line"
	done
}

# start_backend N: b N's server on port 80, answering "py bN pid PID".
start_backend() {
	local ns=$RUN-b$1
	nsenter --net="/run/netns/$ns" -- env PORT=80 WORKER_ID="b$1" "$PY" \
		"$ROOT/tests/live/worker_app.py" >>"$WORK/b$1.log" 2>&1 </dev/null &
	BACKEND_PID[$1]=$!
}

stop_backend() {
	kill -TERM "${BACKEND_PID[$1]}" 2>/dev/null
	wait "${BACKEND_PID[$1]}" 2>/dev/null || true
	unset "BACKEND_PID[$1]"
}

# ---- setup ----

echo "${B}bouncer demo${N}: a client, the bouncer host with two local workers, and two"
echo "remote backends, on one bridge; one VIP, $VIP:80, served by all four."

WORK=$(mktemp -d /tmp/bnc-demo.XXXXXX)
mkdir -p "$PIN"

# The config as shipped, with this run's pin directory and control socket.
sed -e "s|^pin_dir = .*|pin_dir = \"$PIN/lb\";|" \
	-e "s|^control_socket = .*|control_socket = \"$WORK/ctl.sock\";|" "$CONF" >"$WORK/demo.conf"
grep -q "^pin_dir = \"$PIN/lb\";" "$WORK/demo.conf" || die "no pin_dir line in $CONF"
grep -q "^control_socket = \"$WORK/ctl.sock\";" "$WORK/demo.conf" || die "no control_socket line in $CONF"
"$BOUNCERD" -t -c "$WORK/demo.conf" >/dev/null

bridge_world "$RUN" c lb b1 b2
ip -n "$NS_C" addr add "$C_IP/24" dev vc
ip -n "$NS_C" route add "$VIP/32" via "$LB_IP"
ip -n "$NS_LB" addr add "$LB_IP/24" dev vlb
# The bouncer host holds the VIP too: what XDP passes up for a local worker,
# its stack delivers, and sk_lookup hands to the worker's socket.
ip -n "$NS_LB" addr add "$VIP/32" dev lo
in_ns "$NS_LB" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2
# Direct server return: the backends hold the VIP on lo, answer the client
# from it, and never answer ARP for it.
for i in 1 2; do
	ns=$RUN-b$i
	ip_var=B${i}_IP
	ip -n "$ns" addr add "${!ip_var}/24" dev "vb$i"
	ip -n "$ns" addr add "$VIP/32" dev lo
	in_ns "$ns" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 \
		net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
done
# XDP_TX out of a veth reaches the bridge only with an XDP program on the
# peer (any program; bouncer-decap passes all that is not IPIP). Frames
# forwarded by XDP lose their checksum offload: the client, which they
# reach, computes its own checksums.
in_ns "$NS_SW" "$DECAP" attach plb 192.0.2.1 --pin "$PIN/decap-sw" >"$WORK/decap.log" 2>&1 ||
	die "bouncer-decap: $(cat "$WORK/decap.log")"
in_ns "$NS_C" ethtool -K vc tx off >/dev/null

start_backend 1
start_backend 2

# From the top of the tree: the workers' command names
# examples/app/server.js relative to bouncerd's directory.
nsenter --net="/run/netns/$NS_LB" -- "$BOUNCERD" -D -c "$WORK/demo.conf" -S "$WORK/state" \
	>>"$WORK/agent.log" 2>&1 </dev/null &
AGENT_PID=$!
wait_for 10 ctl status >/dev/null 2>&1 || die "bouncerd does not answer"
wait_for 20 workers_ready 2 || die "the workers are not ready"
wait_for 20 health_is up "$B1_IP" || die "b1 is not healthy"
wait_for 20 health_is up "$B2_IP" || die "b2 is not healthy"
echo "${DIM}set up in $(now) s: namespaces $RUN-{c,lb,b1,b2,sw}, bouncerd pid $AGENT_PID${N}"

# The status page: bouncerd serves it on 127.0.0.1 in the bouncer host's
# namespace (examples/demo.conf); a forwarder brings it to this host's
# 127.0.0.1, on port 9368 or a free one if that is taken.
"$PY" "$ROOT/scripts/ns_forward.py" "/run/netns/$NS_LB" 9368 "${BNC_DEMO_PAGE_PORT:-9368}" \
	"$WORK/page.port" >>"$WORK/forward.log" 2>&1 </dev/null &
FORWARD_PID=$!
wait_for 5 test -s "$WORK/page.port" || die "the status page's forwarder did not start"
PAGE_URL=http://127.0.0.1:$(cat "$WORK/page.port")/
echo "${B}Watch it in a browser:${N} $PAGE_URL ${DIM}(bouncerd's status page, live while the demo runs)${N}"

# ---- traffic ----

: >"$WORK/load.log"
nsenter --net="/run/netns/$NS_C" -- "$PY" "$ROOT/scripts/demo_load.py" \
	"http://$VIP/" "$WORK/load.log" "$WORK/load.stop" </dev/null &
LOAD_PID=$!

# ---- 1: everyone serves ----

phase "1. Everyone serves" \
	"The client sends about 50 requests a second, each on a new connection." \
	"XDP hashes each new flow onto the VIP's ring: b1 and b2 get theirs by a MAC" \
	"rewrite (they answer the client directly); flows for the workers go up to" \
	"this host's stack, where sk_lookup hands them to the worker's socket."
m1=$(mark)
sleep 5
# 60 requests at least, however slow the machine: tests/live/demo.sh
# counts on them.
wait_for 20 made_since "$m1" 60 || die "the client is stuck"
m2=$(mark)
served "$m1" "$m2"
show_backends
show_workers
show_ring

# ---- 2: a worker dies ----

old_pid=$(worker pid 1)
phase "2. kill -9 worker 1, pid $old_pid" \
	"bouncerd sees it exit, takes it out of the ring and starts it again."
kill -KILL "$old_pid"
t_kill=$(date +%s.%N)
restarted() { [[ $(worker pid 1) != "$old_pid" && $(worker state 1) == ready ]]; }
wait_for 15 restarted || die "worker 1 did not come back"
new_pid=$(worker pid 1)
restarts=$(worker restarts 1)
echo "   worker 1 is back after" \
	"$(awk -v a="$t_kill" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s:" \
	"pid $old_pid -> $new_pid, restarts=$restarts"
sleep 3
m3=$(mark)
served "$m2" "$m3"
why_failed "$m2" "$m3"
show_workers
worker_restarted=no
[[ $new_pid != "$old_pid" && $restarts -eq 1 ]] && worker_restarted=yes
echo "   worker 1 restarted: $(yesno "$worker_restarted")"

# ---- 3: a backend stops ----

phase "3. b2's server stops" \
	"Until its health check fails twice (every 0.3 s), b2's share of new" \
	"connections is refused; then the ring leaves b2 out and nothing more fails."
stop_backend 2
t_stop=$(date +%s.%N)
wait_for 15 health_is down "$B2_IP" || die "b2 was not taken out"
m_down=$(mark)
echo "   ${B}b2 is down${N}: taken out" \
	"$(awk -v a="$t_stop" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s after its server stopped"
sleep 4
m4=$(mark)
echo "   from the stop until the check took b2 out:"
served "$m3" "$m_down"
why_failed "$m3" "$m_down"
echo "   since b2 is out:"
served "$m_down" "$m4"
show_backends
show_ring

# ---- 4: the backend is back ----

phase "4. b2's server starts again" \
	"Two successful checks and b2 is back in the ring, with its old slots."
start_backend 2
t_start=$(date +%s.%N)
wait_for 15 health_is up "$B2_IP" || die "b2 did not come back"
echo "   ${B}b2 is up${N} again" \
	"$(awk -v a="$t_start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s after its server started"
m_up=$(mark)
sleep 4
wait_for 20 made_since "$m_up" 60 || die "the client is stuck"
m5=$(mark)
served "$m_up" "$m5"
show_backends
show_ring

# ---- summary ----

touch "$WORK/load.stop"
wait "$LOAD_PID"
LOAD_PID=
STEP=summary
total=$(mark)
phase "Summary"
served 0 "$total"
f_all=$(failed 0 "$total")
f_kill=$(failed "$m2" "$m3")
refused_kill=$(failed "$m2" "$m3" refused)
f_down=$(failed "$m3" "$m_down")
f_other=$((f_all - f_kill - f_down))
b2_back=$(awk -v from="$m_up" 'NR > from && $2 == "OK" && $3 == "b2"' "$WORK/load.log" | wc -l)
backend_returned=no
((b2_back > 0)) && backend_returned=yes
echo "   failed while worker 1 was killed: $f_kill (at most the one request it was serving)"
echo "   failed before b2's check took it out: $f_down (b2's share, refused)"
echo "   failed otherwise: $f_other"
echo "   worker 1 restarted: $(yesno "$worker_restarted"); b2 served again: $(yesno "$backend_returned")"
echo
echo "summary: requests=$total failed=$f_all"
echo "summary: failed_worker_kill=$f_kill refused=$refused_kill"
echo "summary: failed_backend_down=$f_down"
echo "summary: failed_other=$f_other"
for k in worker0 worker1 b1 b2; do
	echo "summary: served $k=$(awk -v k="$k" '$2 == "OK" && $3 == k' "$WORK/load.log" | wc -l)"
done
status_page=no
curl -sf --max-time 5 "${PAGE_URL}status.json" | json "d['vips']['vips'][0]['name']" 2>/dev/null |
	grep -qx demo && status_page=yes
echo "summary: status_page=$status_page"
echo "summary: worker_restarted=$worker_restarted"
echo "summary: backend_returned=$backend_returned"
STEP=teardown
