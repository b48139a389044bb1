#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Test runner: runs the cmocka programs and the live scripts, each under a
# time bound, counts the individual test cases and ends with the line
#
#	N passed, N failed, N skipped
#
# Usage:
#	tests/run.sh all                  every suite below, in this order
#	tests/run.sh SUITE,SUITE...       the suites named, in that order, each
#	                                  with its default list (datapath,live)
#	tests/run.sh unit [BIN...]        cmocka programs (default: one per
#	                                  tests/unit/test_*.c, from $BUILD_DIR)
#	tests/run.sh datapath [BIN...]    cmocka programs that load BPF (root;
#	                                  default: one per tests/datapath/test_*.c)
#	tests/run.sh live [SCRIPT...]     namespace scripts (root; default:
#	                                  tests/live/*.sh)
#
# The default lists come from the test sources, not from what happens to be
# in build/: a test that was not built counts as failed, a binary left over
# from a deleted test is not run.
#
# Counting: a cmocka program contributes its "[  PASSED  ] N test(s)",
# "[  FAILED  ] N test(s)" and "[  SKIPPED ] N test(s)" numbers; a live script
# one case per "ok - NAME" (skipped when it carries "# SKIP") or
# "not ok - NAME" line. A program that exits 77 is skipped. A program that
# fails (exit status, time-out, crash, sanitizer report) without reporting
# a failed case counts as one failed case, and so does a cmocka program that
# exits 0 without its summary. A live script that exits 0 and prints no case
# line counts as one passed case.
#
# Environment:
#	BUILD_DIR          where the test programs are (default: build)
#	TEST_TIMEOUT       seconds for any one program, overriding the defaults
#	                   (unit 300, datapath 300, live 900)
#	SKIP_TESTS         programs not to run, by the names the output gives
#	                   them (live/agent.sh, unit/test_maglev), separated by
#	                   spaces; each counts as one skipped case, with
#	                   SKIP_REASON as the reason (vm/run skips what an
#	                   emulated machine is too slow for)
#	ASAN_OPTIONS, UBSAN_OPTIONS   appended to the defaults below, so
#	                   they win
#
# Exit status: 0 when no case failed, 1 when one did (or when "all" found
# no test at all), 2 on a usage error.
set -euo pipefail

usage() {
	sed -n '/^# Usage:/,/^#$/{ /^#$/d; s/^# \{0,1\}//; p; }' "${BASH_SOURCE[0]}" >&2
	exit 2
}

(($# >= 1)) || usage
mode=$1
shift
suites=() # the suites that run with their default lists, one count
case $mode in
all)
	(($# == 0)) || usage
	suites=(unit datapath live)
	;;
unit | datapath | live) ;;
-h | --help) usage ;;
*,*)
	(($# == 0)) || usage
	IFS=, read -r -a suites <<<"$mode"
	for s in "${suites[@]}"; do
		[[ $s == unit || $s == datapath || $s == live ]] || usage
	done
	;;
*) usage ;;
esac

# Arguments are relative to the caller's directory; the programs run from
# the top of the tree, where the live scripts and fixtures expect them.
args=()
for a in "$@"; do
	if [[ $a == /* ]]; then
		args+=("$a")
	else
		args+=("$PWD/$a")
	fi
done
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BUILD_DIR=${BUILD_DIR:-build}

declare -A default_timeout=([unit]=300 [datapath]=300 [live]=900)

# Sanitizers: stop at the first error with a stack trace. LeakSanitizer
# stops the threads with ptrace, which fails in a process that is already
# traced (gdb, strace -f): turn it off then rather than fail every test.
detect_leaks=1
if [[ $(awk '/^TracerPid:/ { print $2 }' /proc/self/status 2>/dev/null || echo 0) != 0 ]]; then
	echo "run: traced, so LeakSanitizer is off" >&2
	detect_leaks=0
fi
asan_defaults=halt_on_error=1:abort_on_error=0:detect_leaks=$detect_leaks
asan_defaults+=:detect_stack_use_after_return=1:strict_string_checks=1
asan_defaults+=:check_initialization_order=1:strict_init_order=1:print_summary=1
export ASAN_OPTIONS=$asan_defaults${ASAN_OPTIONS:+:$ASAN_OPTIONS}
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}
# The counting below reads cmocka's default output, whatever the caller's
# environment asks for.
export CMOCKA_MESSAGE_OUTPUT=STDOUT
unset CMOCKA_XML_FILE

is_root=false
if [[ $(id -u) -eq 0 ]]; then
	is_root=true
fi

total_pass=0
total_fail=0
total_skip=0
failures=() # one line per failed case or program, repeated at the end
ran_any=false

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The program running now. Being in a process group of its own, it does
# not get the terminal's ^C: pass that on, and wait for it to stop.
current=
tailer=
# shellcheck disable=SC2317 # reached through the trap, not by a call
stop() {
	if [[ -n $current ]]; then
		kill -TERM -- "-$current" 2>/dev/null || true
		wait "$current" 2>/dev/null || true
		wait "$tailer" 2>/dev/null || true
	fi
	echo "run: interrupted"
	exit 130
}
trap stop INT TERM HUP

# cmocka prints each number once per group; a program may run several.
count_cmocka() {
	local log=$1
	pass=$(awk '/^\[  PASSED  \] [0-9]+ test/ { s += $4 } END { print s + 0 }' "$log")
	fail=$(awk '/^\[  FAILED  \] [0-9]+ test/ { s += $4 } END { print s + 0 }' "$log")
	skip=$(awk '/^\[  SKIPPED \] [0-9]+ test/ { s += $4 } END { print s + 0 }' "$log")
	summary=$(awk '/^\[  (PASSED|FAILED|SKIPPED) +\] [0-9]+ test/ { n++ } END { print n + 0 }' "$log")
	# A program that crashed or was aborted by a sanitizer printed no
	# summary: count the cases it finished.
	if ((summary == 0)); then
		pass=$(awk '/^\[       OK \] / { n++ } END { print n + 0 }' "$log")
		skip=$(awk '/^\[  SKIPPED \] / && !/^\[  SKIPPED \] [0-9]+ test/ { n++ } END { print n + 0 }' "$log")
	fi
	# Names of the failed cases: the FAILED lines that carry no count,
	# each printed once when it fails and again in the closing list.
	grep -E '^\[  FAILED  \] ' "$log" | grep -vE '^\[  FAILED  \] [0-9]+ test' |
		sed 's/^\[  FAILED  \] //' | awk '!seen[$0]++' >"$tmp/failed" || true
}

# TAP-like lines: "ok - NAME", "ok - NAME # SKIP why", "not ok - NAME";
# a number after ok is allowed.
count_live() {
	local log=$1
	skip=$(grep -cEi '^ok\b.*#[[:space:]]*skip' "$log" || true)
	pass=$(($(grep -cE '^ok\b' "$log" || true) - skip))
	fail=$(grep -cE '^not ok\b' "$log" || true)
	summary=$((pass + fail + skip))
	grep -E '^not ok\b' "$log" | sed -E 's/^not ok[[:space:]]*[0-9]*[[:space:]]*-?[[:space:]]*//' \
		>"$tmp/failed" || true
}

# run_one SUITE PATH: runs one program and adds its cases to the totals.
run_one() {
	local suite=$1 path=$2 name rc log t start note=""
	local pass=0 fail=0 skip=0 summary=0

	name=$suite/$(basename "$path")
	log=$tmp/log
	t=${TEST_TIMEOUT:-${default_timeout[$suite]}}
	ran_any=true

	if [[ " ${SKIP_TESTS:-} " == *" $name "* ]]; then
		echo "--- SKIP $name: 0 passed, 0 failed, 1 skipped (${SKIP_REASON:-SKIP_TESTS})"
		total_skip=$((total_skip + 1))
		return
	fi

	if [[ ! -e $path ]]; then
		if [[ $suite != live ]]; then
			note=" (not built? run make)"
		fi
		echo "not ok - $name: $path does not exist$note"
		failures+=("$name: missing")
		total_fail=$((total_fail + 1))
		return
	fi
	if [[ $suite != live && ! -x $path ]]; then
		echo "not ok - $name: $path is not executable"
		failures+=("$name: not executable")
		total_fail=$((total_fail + 1))
		return
	fi

	echo "=== $name"
	start=$SECONDS
	local cmd=("$path")
	# A script that lost its mode bits still runs.
	if [[ $suite == live && ! -x $path ]]; then
		cmd=(bash "$path")
	fi
	# No stdin: CI has none, and a test must not wait for a terminal.
	# timeout runs the program in a process group of its own and signals
	# all of it, so a live script's servers go too; -k gives its cleanup
	# trap time before the KILL. The output goes to a file that tail
	# follows until timeout exits, not through a pipe: a process the
	# program leaves behind would hold a pipe open and stall the run.
	timeout -k 30 "$t" "${cmd[@]}" </dev/null >"$log" 2>&1 &
	current=$!
	# Both in the background: bash runs a trap only once the foreground
	# command is done, and wait is what a signal interrupts.
	tail -n +1 -s 0.2 -f --pid="$current" "$log" &
	tailer=$!
	rc=0
	wait "$current" || rc=$?
	wait "$tailer" || true
	# Whatever is left in the group would disturb the next program. Give
	# what got timeout's TERM a moment to go.
	if pgrep -g "$current" >/dev/null && sleep 1 && pgrep -g "$current" >/dev/null; then
		echo "run: $name left processes behind, killed:" \
			"$(pgrep -g "$current" -l | tr '\n' ' ')"
		kill -KILL -- "-$current" 2>/dev/null || true
	fi
	current=

	if [[ $suite == live ]]; then
		count_live "$log"
	else
		count_cmocka "$log"
	fi
	while IFS= read -r c; do
		failures+=("$name: $c")
	done <"$tmp/failed"

	if ((rc == 77)); then
		if ((skip == 0)); then
			skip=1
		fi
		note="skipped"
	elif ((rc == 0)); then
		if ((summary == 0)); then
			if [[ $suite == live ]]; then
				pass=1
			else
				fail=1
				note="exited 0 without a cmocka summary"
				failures+=("$name: $note")
			fi
		fi
	else
		if ((rc == 124)); then
			note="timed out after ${t}s"
		elif ((rc == 137)); then
			note="killed, by the time-out (${t}s) or out of memory"
		elif ((rc > 128)); then
			note="killed by signal $((rc - 128))"
		else
			note="exit status $rc"
		fi
		if grep -qE '^==[0-9]+==ERROR: [A-Za-z]+Sanitizer|: runtime error: ' "$log"; then
			note="sanitizer report, $note"
		fi
		# A crash or sanitizer abort after the last reported case, or
		# before any: the program itself is the failed case.
		if ((fail == 0)); then
			fail=1
			failures+=("$name: $note")
		fi
	fi

	total_pass=$((total_pass + pass))
	total_fail=$((total_fail + fail))
	total_skip=$((total_skip + skip))
	local verdict=PASS
	if ((fail > 0)); then
		verdict=FAIL
	elif ((rc == 77)); then
		verdict=SKIP
	fi
	echo "--- $verdict $name: $pass passed, $fail failed, $skip skipped," \
		"$((SECONDS - start))s${note:+ ($note)}"
}

# run_suite SUITE PATH...: an empty list is reported, not an error.
run_suite() {
	local suite=$1 p
	shift
	if (($# == 0)); then
		echo "### $suite: no tests"
		return
	fi
	if [[ $suite != unit ]] && ! $is_root; then
		echo "### $suite: SKIPPED, needs root ($# program(s); CI runs as root)"
		total_skip=$((total_skip + $#))
		ran_any=true
		return
	fi
	echo "### $suite: $# program(s)"
	for p in "$@"; do
		run_one "$suite" "$p"
	done
}

# The default list of a suite.
list_suite() {
	local suite=$1 src
	shopt -s nullglob
	case $suite in
	unit | datapath)
		for src in tests/"$suite"/test_*.c; do
			src=${src%.c}
			echo "$BUILD_DIR/$src"
		done
		;;
	live)
		for src in tests/live/*.sh; do
			echo "$src"
		done
		;;
	esac
	shopt -u nullglob
}

run_default() {
	local list=()
	mapfile -t list < <(list_suite "$1")
	run_suite "$1" "${list[@]}"
}

if ((${#suites[@]} > 0)); then
	for s in "${suites[@]}"; do
		run_default "$s"
	done
elif ((${#args[@]} > 0)); then
	run_suite "$mode" "${args[@]}"
else
	run_default "$mode"
fi

if ((${#failures[@]} > 0)); then
	echo
	echo "Failed:"
	printf '  %s\n' "${failures[@]}"
fi
echo
status=0
if ((total_fail > 0)); then
	status=1
elif ((${#suites[@]} > 0)) && ! $ran_any; then
	echo "run: no test found: run make first" >&2
	status=1
fi
echo "$total_pass passed, $total_fail failed, $total_skip skipped"
exit $status
