# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Shared by the live test scripts (sourced, not run): running commands in a
# namespace, waiting for conditions, reporting scenarios, tearing down.
# The sourcing script sets FAILURES=0 first.

# in_ns NS CMD...: runs CMD in network namespace NS. nsenter --net switches
# the network namespace only; `ip netns exec` would also give the command a
# private mount namespace with a fresh /sys, where the pins made by the
# tools would vanish when they exit, and the programs with them.
in_ns() {
	local ns=$1
	shift
	nsenter --net="/run/netns/$ns" -- "$@"
}

# scaled SECONDS: SECONDS times BOUNCER_TIME_SCALE (default 1), for a
# wall-clock bound that holds on this machine: vm/run sets the factor under
# emulation, where everything takes several times longer, so that the
# same check holds there without being loosened here. Keeps a fraction
# ("0.45" at 10 is "4.5").
scaled() {
	awk -v s="$1" -v f="${BOUNCER_TIME_SCALE:-1}" 'BEGIN { print s * f }'
}

# scaled_seconds SECONDS: scaled (above), rounded up to whole seconds, for
# what takes no fraction (bash's SECONDS, dig's +timeout).
scaled_seconds() {
	awk -v s="$1" -v f="${BOUNCER_TIME_SCALE:-1}" \
		'BEGIN { x = s * f; n = int(x); if (n < x) n++; print n }'
}

# wait_for SECONDS CMD...: polls CMD until it succeeds or time runs out;
# SECONDS is scaled_seconds (above).
wait_for() {
	local deadline
	deadline=$((SECONDS + $(scaled_seconds "$1")))
	shift
	until "$@"; do
		if ((SECONDS >= deadline)); then
			return 1
		fi
		sleep 0.05
	done
}

diag() { echo "# $*" >&2; }

# json EXPR: prints Python's EXPR over d, the JSON read on stdin (no jq
# needed); the sourcing script sets PY.
json() { "$PY" -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# lacks PATTERN FILE: no line of FILE matches (a function, so that errexit
# sees the negation).
lacks() { ! grep -q "$1" "$2"; }

# pid_exited PID: the process has exited (a zombie counts: it serves
# nothing, and its parent may be this shell).
pid_exited() {
	# -s: the process may go between the two tests.
	[[ ! -e /proc/$1 ]] || grep -qs '^State:[[:space:]]*Z' "/proc/$1/status"
}

# pid_gone FILE: the process whose pid FILE holds has exited.
pid_gone() { pid_exited "$(cat "$1")"; }

# run NAME FUNCTION: one scenario, in a subshell with errexit, so that any
# failing command fails the scenario. With ONLY="NAME..." in the
# environment, the scenarios not named are left out (to chase one).
run() {
	local rc
	if [[ -n ${ONLY:-} && " $ONLY " != *" $1 "* ]]; then
		return 0
	fi
	set +e
	(
		set -e
		"$2"
	)
	rc=$?
	set -e
	if ((rc == 0)); then
		echo "ok - $1"
	else
		echo "not ok - $1"
		FAILURES=$((FAILURES + 1))
	fi
}

# sport_pool FILE LO HI: a pool of client source ports for share checks.
# FILE gets the ports LO..HI in a random order, one a line, and FILE.next
# the index of the first not taken yet. The kernel's own picks will not do
# after many connections (tests/lib/http_load.py says why): keep HI below
# the client namespace's ip_local_port_range, so that no connection of
# the kernel's choosing ever used one of these ports. The shuffle's seed
# is printed, to replay a failure's ports.
sport_pool() {
	local seed=$RANDOM$RANDOM
	diag "source port pool $2-$3, seed $seed"
	"$PY" -c 'import random, sys
lo, hi, seed = map(int, sys.argv[1:])
p = list(range(lo, hi + 1))
random.Random(seed).shuffle(p)
print("\n".join(map(str, p)))' "$2" "$3" "$seed" >"$1"
	echo 0 >"$1.next"
}

# sport_take FILE N: takes the next N ports of pool FILE and prints
# FILE:INDEX, for http_load.py --source-ports. Each port serves one
# connection in the whole run, so none is in TIME_WAIT on either side
# when it is used, and the ports a load uses depend on nothing that an
# earlier connection did. One taker at a time (the scenarios run one by
# one).
sport_take() {
	local i
	i=$(cat "$1.next")
	if ((i + $2 > $(wc -l <"$1"))); then
		diag "source port pool $1: fewer than $2 ports left"
		return 1
	fi
	echo $((i + $2)) >"$1.next"
	echo "$1:$i"
}

# netns_destroy NS...: kills whatever still runs in each namespace (a
# process left there would keep it, its veths and the programs on them
# alive after 'ip netns del'), waits up to 5 s (scaled) for them to be
# gone (a killed browser takes a while to die, and the next test should
# not share the CPUs with it), then deletes it.
netns_destroy() {
	local ns pid pids
	for ns in "$@"; do
		[[ -e /run/netns/$ns ]] || continue
		pids=$(ip netns pids "$ns" 2>/dev/null)
		for pid in $pids; do
			kill -KILL "$pid" 2>/dev/null
		done
		for pid in $pids; do
			wait_for 5 pid_exited "$pid" || true
		done
		ip netns del "$ns" 2>/dev/null
	done
	return 0
}

# bridge_world PREFIX HOST...: one L2 segment. Namespace PREFIX-sw holds
# bridge br0; each HOST gets namespace PREFIX-HOST, joined to the bridge by
# a veth (vHOST inside, pHOST on the bridge), both ends and lo up.
bridge_world() {
	local prefix=$1 h
	shift
	ip netns add "$prefix-sw"
	ip -n "$prefix-sw" link add br0 type bridge
	ip -n "$prefix-sw" link set br0 up
	for h in "$@"; do
		ip netns add "$prefix-$h"
		ip link add "v$h" netns "$prefix-$h" type veth peer name "p$h" netns "$prefix-sw"
		ip -n "$prefix-sw" link set "p$h" master br0 up
		ip -n "$prefix-$h" link set "v$h" up
		ip -n "$prefix-$h" link set lo up
	done
}

# require_root NAME: skip (exit 77) unless root.
require_root() {
	if [[ $(id -u) -ne 0 ]]; then
		echo "ok - $1 # SKIP needs root"
		exit 77
	fi
}

# require_built BIN...: fail setup unless each program is built.
require_built() {
	local bin
	for bin in "$@"; do
		if [[ ! -x $bin ]]; then
			echo "not ok - setup # $bin missing: make"
			exit 1
		fi
	done
}

# require_tools TOOL...: fail setup unless each tool is installed.
require_tools() {
	local tool
	for tool in "$@"; do
		if ! command -v "$tool" >/dev/null; then
			echo "not ok - setup # $tool not installed: scripts/deps.sh installs it"
			exit 1
		fi
	done
}
