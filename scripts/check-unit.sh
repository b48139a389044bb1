#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Checks a systemd unit as make install wrote it under ROOT (a DESTDIR):
# systemd-analyze verify (every command it runs is there and executable,
# every man: page it names is installed, no unknown directive) and
# systemd-analyze security, whose overall exposure must be at most MAX.
# Neither needs systemd running: the host may have another init.
#
# Usage: scripts/check-unit.sh ROOT UNIT MAX
set -euo pipefail

(($# == 3)) || {
	echo "usage: $0 ROOT UNIT MAX" >&2
	exit 2
}
root=$(cd "$1" && pwd)
unit=$2
max=$3

command -v systemd-analyze >/dev/null || {
	echo "check-unit: systemd-analyze not found: scripts/deps.sh installs systemd" >&2
	exit 1
}
file=
for dir in lib/systemd/system usr/lib/systemd/system usr/local/lib/systemd/system; do
	if [[ -f $root/$dir/$unit ]]; then
		file=$root/$dir/$unit
	fi
done
[[ -n $file ]] || {
	echo "check-unit: no $unit installed under $root" >&2
	exit 1
}

# verify --root reads every unit from ROOT: a start's transaction needs
# the targets and slices it names, which the host has. Copies, in a
# directory of their own that make install does not use.
stock=$root/usr/lib/systemd/system
mkdir -p "$stock"
for f in /usr/lib/systemd/system/*.target /usr/lib/systemd/system/*.slice; do
	[[ -e $stock/${f##*/} ]] || cp "$f" "$stock/"
done
# Its man: links are looked up with man(1), in the installed pages only.
if ! out=$(MANPATH=$root/usr/share/man:$root/usr/local/share/man \
	systemd-analyze verify --root="$root" "$file" 2>&1) || [[ -n $out ]]; then
	echo "check-unit: systemd-analyze verify $file:" >&2
	printf '%s\n' "$out" >&2
	exit 1
fi

level=$(systemd-analyze security --offline=true --root="$root" "$file" 2>&1 |
	sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
[[ -n $level ]] || {
	echo "check-unit: systemd-analyze security printed no exposure level" >&2
	exit 1
}
if awk -v l="$level" -v m="$max" 'BEGIN { exit !(l > m) }'; then
	echo "check-unit: $unit: exposure $level, more than $max:" >&2
	systemd-analyze security --offline=true --root="$root" "$file" 2>&1 | grep '✗' >&2
	exit 1
fi
echo "  $unit: verified; exposure $level (at most $max)"
