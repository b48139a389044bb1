#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# bouncerctl's bash completion (dist/bouncerctl.bash-completion, made from
# the grammar by `bouncerctl --completion bash`): the tracked file is the
# one the build makes, and sourced in bash with COMP_WORDS and COMP_CWORD
# set as readline sets them, _bouncerctl offers the objects, commands,
# keywords, choices and options of the grammar, and VIP names from the
# agent (a stand-in for bouncerctl here, which records how it was asked).
#
# Needs build/bouncerctl; no root, no namespace. Prints one
# "ok - NAME" / "not ok - NAME" line per scenario.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BOUNCERCTL=${BOUNCERCTL:-$ROOT/build/bouncerctl}
SCRIPT=$ROOT/dist/bouncerctl.bash-completion
FAILURES=0
# shellcheck source=tests/lib/live.sh
. "$ROOT/tests/lib/live.sh"

if [[ ! -x $BOUNCERCTL ]]; then
	echo "not ok - setup # $BOUNCERCTL missing: make build/bouncerctl"
	exit 1
fi
WORK=$(mktemp -d "/tmp/bnc-compl-$$.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# A bouncerctl that knows two VIPs and writes down its arguments.
STUB=$WORK/bouncerctl
cat >"$STUB" <<STUB
#!/bin/bash
printf '%s\n' "\$*" >>"$WORK/stub.args"
printf 'NAME  ADDRESS\nweb   192.0.2.10:80/tcp\napi   192.0.2.11:80/tcp\n'
STUB
chmod +x "$STUB"

# complete LINE: the completions bash offers for the last word of LINE (a
# trailing space starts an empty word), sorted, on one line. LINE's first
# word is the program run for VIP names.
complete() {
	bash -c '
		. "$1"
		read -r -a COMP_WORDS <<<"$2"
		[[ $2 == *" " ]] && COMP_WORDS+=("")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		# No bouncerctl installed on this host answers for VIP names.
		PATH=/nonexistent _bouncerctl
		printf "%s\n" "${COMPREPLY[@]}" | LC_ALL=C sort | tr "\n" " " | sed "s/ $//"
	' _ "$SCRIPT" "$1"
}

# expect LINE WANT: complete LINE gives exactly WANT (sorted words).
expect() {
	local got
	got=$(complete "$1")
	if [[ $got != "$2" ]]; then
		diag "'$1': got '$got', want '$2'"
		return 1
	fi
}

t_current() {
	"$BOUNCERCTL" --completion bash >"$WORK/made"
	cmp "$WORK/made" "$SCRIPT"
	bash -n "$SCRIPT"
	# Registered for bouncerctl.
	bash -c '. "$1"; complete -p bouncerctl' _ "$SCRIPT" | grep -q -- '-F _bouncerctl bouncerctl$'
}

t_objects() {
	expect "bouncerctl " "backend detach flow help host reload ring stats status top vip worker"
	expect "bouncerctl w" "worker"
	expect "bouncerctl -j st" "stats status"
	expect "bouncerctl -s /run/x.sock wo" "worker"
}

t_commands() {
	expect "bouncerctl worker " "help list logs reload restart scale"
	expect "bouncerctl vip s" "show"
	expect "bouncerctl host " "drain help ready show"
	# An object that is its own command takes nothing more.
	expect "bouncerctl status " ""
}

t_options() {
	expect "bouncerctl worker restart web 1 --" "--completion --config --help --json --pretty --socket --timeout --version --wait"
	expect "bouncerctl worker scale web 3 --w" "--wait"
	expect "bouncerctl worker logs web -" "--completion --config --count --follow --help --json --pretty --socket --version -V -c -f -h -j -n -p -s"
	expect "bouncerctl ring show web --d" "--digest"
	# -f belongs to worker logs alone.
	expect "bouncerctl top -f" ""
	expect "bouncerctl --completion " "bash"
}

t_keywords() {
	expect "bouncerctl backend set web 10.0.0.1:80 " "state weight"
	expect "bouncerctl backend set web 10.0.0.1:80 state " "drain maint ready"
	expect "bouncerctl backend set web 10.0.0.1:80 state drain " "state weight"
	expect "bouncerctl backend add web 10.0.0.1:80 weight " ""
	expect "bouncerctl vip add web 192.0.2.1:80/tcp " "dsr hash ipip ring"
	expect "bouncerctl vip add web 192.0.2.1:80/tcp hash " "5tuple source"
	expect "bouncerctl flow lookup " "tcp udp"
	# The required positional arguments first.
	expect "bouncerctl backend set " ""
	expect "bouncerctl flow list " "limit"
	# The value of an option is not an argument.
	expect "bouncerctl -n 5 worker logs web " ""
}

t_vip_names() {
	rm -f "$WORK/stub.args"
	expect "$STUB worker logs " "api web"
	expect "$STUB -s /tmp/other.sock backend list w" "web"
	expect "$STUB -c /etc/b.conf ring show " "api web"
	# The socket and config typed are passed on.
	[[ $(sed -n 2p "$WORK/stub.args") == "-s /tmp/other.sock vip list" ]]
	[[ $(sed -n 3p "$WORK/stub.args") == "-c /etc/b.conf vip list" ]]
	# A new VIP's name is not an existing one's.
	expect "$STUB vip add " ""
}

run current t_current
run objects t_objects
run commands t_commands
run options t_options
run keywords t_keywords
run vip_names t_vip_names

if ((FAILURES)); then
	echo "# $FAILURES scenario(s) failed"
	exit 1
fi
