#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Workers' output, the agent's log priorities and bouncerctl's way to the
# agent: bouncerd in a namespace of its own (generic XDP on one end of a
# veth pair, the VIP on lo), a VIP with 2 Python workers (tests/live/worker_logs_app.py)
# that write a line on stdout and one on stderr per request. The agent's
# stderr is a file named by JOURNAL_STREAM, as systemd's journal stream is.
#
#   priorities  every line of the agent's log starts with its syslog
#               priority; workers' stdout at <6>, their stderr at <4>, told
#               apart by name
#   error       a start-up failure (a second agent) is logged at <3> as an
#               error; without JOURNAL_STREAM, or with one naming another
#               file, no prefix
#   logs        worker logs VIP ID -n N: the last N lines of one worker, in
#               order, both streams; every worker without an ID; 20 lines
#               without -n; an unknown worker refused
#   follow      worker logs -f prints the lines that come after it started
#   bound       3000 lines from one worker: the agent keeps the last 1000
#   wait        worker restart --wait returns once the new process listens
#               and the old has exited; worker scale --wait up and down
#               returns with every worker ready and the removed ones gone;
#               restart, scale and reload, each --wait, run one right after
#               the other (the README's block)
#   config      bouncerctl -c FILE finds the socket the config names; a
#               missing file is an error that says so
#   adopt       kill -9 of the agent: the workers write on (no SIGPIPE, no
#               EPIPE); the next agent adopts them, reads what they wrote
#               meanwhile from their pipes, and keeps what follows
#   stop        SIGTERM stops the agent and its workers
#
# Run as root from anywhere; needs build/bouncerd and build/bouncerctl.
# Prints "ok - NAME" / "not ok - NAME" per scenario; exit 77 when not root.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BOUNCERD=${BOUNCERD:-$ROOT/build/bouncerd}
BOUNCERCTL=${BOUNCERCTL:-$ROOT/build/bouncerctl}
PY=/usr/bin/python3
APP=$ROOT/tests/live/worker_logs_app.py

NS=bnc-wl-$$
DEV=wl$$
PIN=/sys/fs/bpf/bnc-wl-$$
VIP=10.78.0.1

WORK=
FAILURES=0
SETUP_DONE=
# shellcheck source=tests/lib/live.sh
. "$ROOT/tests/lib/live.sh"

require_root worker_logs
require_built "$BOUNCERD" "$BOUNCERCTL"
require_tools curl nsenter stat "$PY"

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
	# The workers run in sessions of their own, in the namespace:
	# netns_destroy kills every process there.
	netns_destroy "$NS"
	[[ -d $PIN ]] && rm -rf "$PIN"
	[[ -n $WORK ]] && rm -rf "$WORK"
}
trap cleanup EXIT
trap "exit 1" INT TERM HUP PIPE

ctl() { in_ns "$NS" timeout 60 "$BOUNCERCTL" -s "$WORK/ctl.sock" "$@"; }
workers() { ctl -j worker list app | json "(lambda v: $1)(d['vips'][0])"; }
all_ready() { [[ $(workers "sum(x['state'] == 'ready' for x in v['workers'])") -eq $1 ]]; }
port_of() { workers "[x['port'] for x in v['workers'] if x['id'] == $1][0]"; }
pid_of() { workers "[x['pid'] for x in v['workers'] if x['id'] == $1][0]"; }
# get ID PATH: a request to worker ID itself, on its own port.
get() { in_ns "$NS" curl -sf --max-time 5 -o /dev/null "http://127.0.0.1:$(port_of "$1")$2"; }
# kept ID PATTERN: worker ID's kept output has a line matching PATTERN.
kept() { ctl worker logs app "$1" -n 1000 | grep -q -- "$2"; }
# app_procs: how many worker processes run.
app_procs() { pgrep -f "worker_logs_app.py" | while read -r p; do
	[[ $(readlink "/proc/$p/ns/net" 2>/dev/null) == "$NS_ID" ]] && echo "$p"
done | wc -l; }

write_config() {
	cat >"$WORK/bouncer.conf" <<CONF
interfaces = [ "$DEV" ];
mode = "skb";
pin_dir = "$PIN/lb";
control_socket = "$WORK/ctl.sock";
vips = (
  { name = "app"; address = "$VIP"; port = 80; ring_size = 1021;
    workers = { command = [ "$PY", "$APP" ]; count = 2; port_base = 9500;
                alt_port_base = 9550; ready_timeout = 20; kill_timeout = 2;
                drain = 5; }; }
);
CONF
}

agent_answers() { ctl status >/dev/null 2>&1; }

# The agent's stderr is agent.log, which JOURNAL_STREAM names.
start_agent() {
	local stream
	touch "$WORK/agent.log"
	stream=$(stat -c %d:%i "$WORK/agent.log")
	JOURNAL_STREAM=$stream nsenter --net="/run/netns/$NS" -- "$BOUNCERD" -c "$WORK/bouncer.conf" \
		-S "$WORK/state" >>"$WORK/agent.log" 2>&1 </dev/null &
	echo $! >"$WORK/agent.pid"
	# Generous: under emulation (make vm-test) loading the datapath alone
	# takes seconds.
	wait_for 60 agent_answers
}

stop_agent() {
	local pid
	pid=$(cat "$WORK/agent.pid")
	kill "-$1" "$pid" 2>/dev/null
	wait_for 15 test ! -e "/proc/$pid"
}

setup() {
	WORK=$(mktemp -d /tmp/bnc-wlogs.XXXXXX)
	mkdir -p "$PIN"
	ip netns add "$NS"
	ip -n "$NS" link set lo up
	ip -n "$NS" link add "$DEV" type veth peer name "${DEV}p"
	ip -n "$NS" link set "$DEV" up
	ip -n "$NS" link set "${DEV}p" up
	ip -n "$NS" addr add "$VIP/32" dev lo
	NS_ID=$(in_ns "$NS" readlink /proc/self/ns/net)
	write_config
	start_agent
	wait_for 60 all_ready 2
	SETUP_DONE=1
}

t_priorities() {
	get 0 /prio-0
	wait_for 5 grep -q '^<6>bouncerd: app/0 stdout: out /prio-0$' "$WORK/agent.log"
	wait_for 5 grep -q '^<4>bouncerd: app/0 stderr: err /prio-0$' "$WORK/agent.log"
	grep -q '^<6>bouncerd: app/1 stdout: listening on 95' "$WORK/agent.log"
	grep -q '^<4>bouncerd: app/1 stderr: started on stderr$' "$WORK/agent.log"
	grep -q '^<6>bouncerd: app/1: started, pid ' "$WORK/agent.log"
	# Every line has its priority.
	if grep -v '^<[0-7]>' "$WORK/agent.log" >"$WORK/bare"; then
		diag "lines without a priority: $(head -3 "$WORK/bare")"
		return 1
	fi
}

t_error() {
	local out=$WORK/second.log stream
	: >"$out"
	stream=$(stat -c %d:%i "$out")
	# A second agent refuses to start: an error, at error priority.
	if JOURNAL_STREAM=$stream in_ns "$NS" "$BOUNCERD" \
		-c "$WORK/bouncer.conf" -S "$WORK/state" >>"$out" 2>&1 </dev/null; then
		return 1
	fi
	diag "$(head -1 "$out")"
	grep -q "^<3>bouncerd: error: another bouncerd (pid $(cat "$WORK/agent.pid"))" "$out"
	lacks '^<4>' "$out"
	# No journal: no prefix.
	env -u JOURNAL_STREAM nsenter --net="/run/netns/$NS" -- "$BOUNCERD" \
		-c "$WORK/bouncer.conf" -S "$WORK/state" >"$out" 2>&1 </dev/null && return 1
	grep -q '^bouncerd: error: another bouncerd' "$out"
	# JOURNAL_STREAM inherited, stderr elsewhere: no prefix either.
	JOURNAL_STREAM=$(stat -c %d:%i "$WORK/agent.log") in_ns "$NS" "$BOUNCERD" \
		-c "$WORK/bouncer.conf" -S "$WORK/state" >"$out" 2>&1 </dev/null && return 1
	grep -q '^bouncerd: error: another bouncerd' "$out"
}

t_logs() {
	local p
	# One request at a time, each read by the agent before the next: the
	# kept lines are then in request order.
	for p in /a /b /c; do
		get 0 "$p"
		wait_for 5 kept 0 "stdout: out $p\$"
		wait_for 5 kept 0 "stderr: err $p\$"
	done
	ctl worker logs app 0 -n 4 >"$WORK/logs"
	diag "$(tr '\n' '|' <"$WORK/logs")"
	[[ $(wc -l <"$WORK/logs") -eq 4 ]]
	# Each: date, time, VIP/ID, the stream, the text.
	[[ $(grep -cE '^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8} app/0 (stdout|stderr): (out|err) /[bc]$' \
		"$WORK/logs") -eq 4 ]]
	grep -q 'app/0 stdout: out /b$' "$WORK/logs"
	grep -q 'app/0 stderr: err /b$' "$WORK/logs"
	grep -q 'app/0 stdout: out /c$' "$WORK/logs"
	grep -q 'app/0 stderr: err /c$' "$WORK/logs"
	# Every worker of the VIP: worker 1's start too.
	ctl worker logs app -n 1000 >"$WORK/all"
	grep -q 'app/1 stdout: listening on' "$WORK/all"
	grep -q 'app/0 stdout: out /c$' "$WORK/all"
	# 20 lines unless -n says otherwise.
	for p in $(seq 1 12); do get 1 "/n$p"; done
	wait_for 5 kept 1 'stderr: err /n12$'
	[[ $(ctl worker logs app 1 | wc -l) -eq 20 ]]
	if ctl worker logs app 7 2>"$WORK/err"; then return 1; fi
	grep -q 'vip app has no worker 7' "$WORK/err"
	if ctl worker logs nope 2>"$WORK/err"; then return 1; fi
}

t_follow() {
	local pid
	nsenter --net="/run/netns/$NS" -- "$BOUNCERCTL" -s "$WORK/ctl.sock" worker logs app 1 \
		-f -n 1 >"$WORK/follow" 2>&1 &
	pid=$!
	wait_for 5 test -s "$WORK/follow"
	get 1 /follow-1
	get 0 /follow-0
	wait_for 5 grep -q 'app/1 stdout: out /follow-1$' "$WORK/follow"
	wait_for 5 grep -q 'app/1 stderr: err /follow-1$' "$WORK/follow"
	kill "$pid"
	wait "$pid" || true
	# Worker 1's only, and nothing twice.
	lacks 'follow-0' "$WORK/follow"
	[[ $(grep -c 'out /follow-1$' "$WORK/follow") -eq 1 ]]
}

t_bound() {
	get 0 /spam/3000
	wait_for 10 kept 0 'stdout: spam 3000 of 3000$'
	ctl worker logs app 0 -n 5000 >"$WORK/bound"
	diag "kept $(wc -l <"$WORK/bound") lines, first: $(head -1 "$WORK/bound")"
	[[ $(wc -l <"$WORK/bound") -eq 1000 ]]
	head -1 "$WORK/bound" | grep -q 'spam 2001 of 3000$'
	tail -1 "$WORK/bound" | grep -q 'spam 3000 of 3000$'
}

t_wait() {
	local before out
	before=$(pid_of 0)
	out=$(ctl worker restart app 0 --wait)
	diag "$out"
	[[ $out == "app/0 restarted: pid $before -> $(pid_of 0)" ]]
	# Settled: the old process is gone, nothing starts or stops.
	test ! -e "/proc/$before"
	[[ $(workers "v['stopping']") -eq 0 ]]
	# Then, in the order of the README's block, each right after the
	# other.
	out=$(ctl worker scale app 3 --wait)
	[[ $out == "app: 3 workers ready" ]]
	all_ready 3
	[[ $(app_procs) -eq 3 ]]
	ctl worker reload app --wait >/dev/null
	out=$(ctl worker scale app 2 --wait)
	[[ $out == "app: 2 workers ready" ]]
	[[ $(workers "len(v['workers'])") -eq 2 ]]
	[[ $(app_procs) -eq 2 ]]
}

t_config() {
	in_ns "$NS" "$BOUNCERCTL" -c "$WORK/bouncer.conf" status >/dev/null
	[[ $(in_ns "$NS" "$BOUNCERCTL" --config="$WORK/bouncer.conf" -j worker list app |
		json "len(d['vips'][0]['workers'])") -eq 2 ]]
	if in_ns "$NS" "$BOUNCERCTL" -c "$WORK/missing.conf" status 2>"$WORK/err"; then
		return 1
	fi
	grep -q "cannot read $WORK/missing.conf" "$WORK/err"
}

t_adopt() {
	local before mark p0 p1
	before="$(pid_of 0) $(pid_of 1)"
	p0=$(port_of 0)
	p1=$(port_of 1)
	stop_agent KILL
	# No agent: the workers write on to their pipes.
	in_ns "$NS" curl -sf --max-time 5 -o /dev/null "http://127.0.0.1:$p0/absent-0"
	in_ns "$NS" curl -sf --max-time 5 -o /dev/null "http://127.0.0.1:$p1/absent-1"
	mark=$(wc -l <"$WORK/agent.log")
	start_agent || { diag "$(tail -n "+$((mark + 1))" "$WORK/agent.log" | head -20)"; return 1; }
	wait_for 20 all_ready 2
	[[ "$(pid_of 0) $(pid_of 1)" == "$before" ]]
	# What they wrote meanwhile, read by the new agent from their pipes.
	wait_for 5 kept 0 'stdout: out /absent-0$'
	wait_for 5 kept 1 'stderr: err /absent-1$'
	tail -n "+$((mark + 1))" "$WORK/agent.log" | grep -q '^<4>bouncerd: app/1 stderr: err /absent-1$'
	# The previous agent's lines are not kept: a fresh start.
	if kept 0 'out /c$'; then return 1; fi
	get 0 /after-0
	wait_for 5 kept 0 'stderr: err /after-0$'
}

t_stop() {
	stop_agent TERM
	[[ $(app_procs) -eq 0 ]]
}

setup
run priorities t_priorities
run error t_error
run logs t_logs
run follow t_follow
run bound t_bound
run wait t_wait
run config t_config
run adopt t_adopt
run stop t_stop
((FAILURES == 0))
