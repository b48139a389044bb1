#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# `make demo` (scripts/demo.sh), without a terminal, as a newcomer would run
# it; its summary lines are checked:
#
#   run        it exits 0 within 120 s (times BOUNCER_TIME_SCALE, which
#              vm/run sets under emulation)
#   served     the two workers and the two backends each served requests
#   worker     the worker killed with kill -9 came back (new pid,
#              restarts=1)
#   backend    the stopped backend served again once restarted
#   failures   at most 1 request failed while the worker was killed: the
#              client sends one request at a time, and a kill -9 can cut
#              the one the worker was serving; none was refused (the
#              killed worker's socket leaves the sk_lookup map with it).
#              At most 25 failed between the backend's stop and its health
#              check taking it out: at 50 requests a second, a quarter of
#              them for that backend, that is 2 s, where the config's
#              check (every 0.3 s, fall 2) needs under 1 s. None failed at
#              any other time.
#   page       it printed the URL of the status page, which answered (its
#              status.json naming the demo's VIP) at the end
#   leftovers  the demo says none, and none is found here either: no
#              namespace, pin directory, temporary directory or process of
#              a demo that was not there before.
#
# Run as root from anywhere; needs build/ (make), node and python3. Prints
# "ok - NAME" / "not ok - NAME"; exit 77 when not root.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD_DIR:-build}
[[ $BUILD == /* ]] || BUILD=$ROOT/$BUILD
PY=/usr/bin/python3

FAILURES=0
# shellcheck source=tests/lib/live.sh
. "$ROOT/tests/lib/live.sh"

require_root demo
require_built "$BUILD/bouncerd" "$BUILD/bouncerctl" "$BUILD/bouncer-decap"
require_tools node "$PY" nsenter ethtool

WORK=$(mktemp -d /tmp/bnc-demotest.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
trap "exit 1" INT TERM HUP PIPE

# What any demo leaves on this machine: its namespaces, pin directories,
# temporary directories, and the processes that carry its mark in their
# environment (every process a demo starts does). snapshot RUN: only what
# demo RUN left (bnc-demo-PID; its temporary directory names its pins),
# so that demos run meanwhile by other tests are not taken for ours.
snapshot() {
	local run=${1:-} d
	ip netns list | awk -v run="$run" '$1 ~ /^bnc-demo-/ && (run == "" || index($1, run "-") == 1) { print "netns " $1 }'
	for d in /sys/fs/bpf/bnc-demo-* /tmp/bnc-demo.*; do
		[[ -e $d ]] || continue
		if [[ -n $run ]]; then
			case $d in
			/sys/fs/bpf/*) [[ $d == "/sys/fs/bpf/$run" ]] || continue ;;
			*) grep -rqsF "/sys/fs/bpf/$run/" "$d" || continue ;;
			esac
		fi
		echo "path $d"
	done
	"$PY" - "$run" <<'EOF'
import glob, sys
mark = b"\0BNC_DEMO_RUN=" + sys.argv[1].encode()
if sys.argv[1]:
    mark += b"\0"
for f in glob.glob("/proc/[0-9]*/environ"):
    try:
        with open(f, "rb") as e:
            if mark in b"\0" + e.read() + b"\0":
                with open(f[:-len("environ")] + "cmdline", "rb") as c:
                    cmd = c.read().replace(b"\0", b" ").decode(errors="replace")
                print("process", f.split("/")[2], cmd.strip())
    except OSError:
        pass
EOF
}

# value KEY: the value of "summary: KEY=VALUE ..." in the demo's output;
# KEY may name a later field of the line ("failed_worker_kill=[0-9]* refused").
value() { sed -n "s/^summary: $1=\([^ ]*\).*/\1/p" "$WORK/out" | tail -n 1; }

snapshot | sort >"$WORK/before"
start=$SECONDS
demo_rc=0
# What the README says to run: make demo (its dependencies are met and
# its programs built by now, so it goes straight to scripts/demo.sh).
limit=$(scaled_seconds 120)
timeout -k 10 "$limit" make -C "$ROOT" --no-print-directory BUILD="$BUILD" demo </dev/null \
	>"$WORK/out" 2>&1 || demo_rc=$?
took=$((SECONDS - start))
# This demo's name, from its "set up" line; none if it got no further.
run=$(grep -o 'namespaces bnc-demo-[0-9]*' "$WORK/out" | head -n 1 | cut -d' ' -f2 || true)
# The processes a demo killed may take a moment to be gone from /proc.
left_behind() {
	snapshot "$run" | sort >"$WORK/after"
	comm -13 "$WORK/before" "$WORK/after" >"$WORK/new"
	[[ ! -s $WORK/new ]]
}
wait_for 5 left_behind || true

diag "demo: exit status $demo_rc after ${took}s"
grep '^summary: ' "$WORK/out" | sed 's/^/# /' >&2

scenario_page() {
	grep -qE 'Watch it in a browser:.* http://127\.0\.0\.1:[0-9]+/' "$WORK/out"
	[[ $(value status_page) == yes ]]
}

scenario_run() {
	((demo_rc == 0 && took < limit))
}

# Each of the four has 255 of the ring's 1021 slots at the least, and the
# demo's first phase, with all four in the ring, has 60 requests at least:
# P(false failure) < 1.3e-7, 4 x (766/1021)^60 (the demo waited a fixed
# 5 s before: 250 requests at its client's 50 a second, fewer on a busy
# machine).
scenario_served() {
	local k n
	for k in worker0 worker1 b1 b2; do
		n=$(value "served $k")
		if [[ -z $n ]] || ((n == 0)); then
			diag "$k served ${n:-nothing}"
			return 1
		fi
	done
}

scenario_worker() {
	[[ $(value worker_restarted) == yes ]]
	grep -q "pid [0-9]* -> [0-9]*, restarts=1$" "$WORK/out"
}

# b2 served at least one of the 60 requests or more after its return:
# P(false failure) < 3.3e-8, (766/1021)^60.
scenario_backend() {
	[[ $(value backend_returned) == yes ]]
}

scenario_failures() {
	local kill refused down other
	kill=$(value failed_worker_kill)
	refused=$(value "failed_worker_kill=[0-9]* refused")
	down=$(value failed_backend_down)
	other=$(value failed_other)
	[[ -n $kill && -n $refused && -n $down && -n $other ]]
	# down <= 25 is a bound on time as much as on chance: b2's share of
	# the requests from its stop to the check taking it out, 50 a second.
	# By chance alone, P(false failure) is 1.2e-7 if that takes 0.8 s (40
	# requests, binomial(40, 256/1021)), 4.0e-5 at 1 s and 1.5e-3 at 1.2 s.
	((kill <= 1 && refused == 0 && down <= 25 && other == 0))
}

scenario_leftovers() {
	[[ $(value leftovers) == none ]]
	if [[ -s $WORK/new ]]; then
		diag "left behind:"
		sed 's/^/#   /' "$WORK/new" >&2
		return 1
	fi
}

run run scenario_run
run served scenario_served
run worker scenario_worker
run backend scenario_backend
run failures scenario_failures
run page scenario_page
run leftovers scenario_leftovers
if ((FAILURES > 0)); then
	sed 's/^/# /' "$WORK/out" >&2
fi
((FAILURES == 0))
