#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Installs a bouncer .deb into a chroot that holds its declared
# dependencies (Depends, recursively, as apt resolves them) and nothing
# else, then runs its programs from the installed paths there: a library
# the package uses without declaring it fails here, not on an operator's
# host. The dependencies come from the host's apt (apt-get download, kept
# in build/deb/chroot-debs/); each package is unpacked with dpkg -x, as
# debootstrap's first stage does.
#
# Usage: scripts/deb-test.sh BOUNCER.deb
# Prints "ok - NAME" / "not ok - NAME" per check; exit 1 if one failed.
set -euo pipefail

(($# == 1)) || {
	echo "usage: $0 BOUNCER.deb" >&2
	exit 2
}
deb=$(readlink -f "$1")
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=$ROOT/${BUILD_DIR:-build}/deb/chroot-debs
mkdir -p "$cache"
[[ $(id -u) -eq 0 ]] || {
	echo "deb-test: chroot needs root" >&2
	exit 1
}

root=$(mktemp -d /tmp/bnc-debroot.XXXXXX)
trap 'rm -rf "$root"' EXIT
failures=0
check() {
	local name=$1
	shift
	if "$@"; then
		echo "ok - $name"
	else
		echo "not ok - $name"
		failures=$((failures + 1))
	fi
}

# The names in Depends (versions and alternatives but the first dropped),
# then everything they depend on.
direct=$(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed -E 's/\|.*//; s/\(.*\)//; s/[[:space:]]//g' |
	grep -v '^$')
# shellcheck disable=SC2086 # one word per package
closure=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
	--no-replaces --no-enhances $direct | grep -vE '^[[:space:]<]' | sort -u)
echo "# dependencies: $(echo "$closure" | tr '\n' ' ')"
for p in $closure; do
	if ! compgen -G "$cache/${p}_*.deb" >/dev/null; then
		(cd "$cache" && apt-get -q -o APT::Sandbox::User=root download "$p" >/dev/null)
	fi
	f=$(find "$cache" -name "${p}_*.deb" | sort | tail -n1)
	dpkg -x "$f" "$root"
done
dpkg -x "$deb" "$root"

version=$(dpkg-deb -f "$deb" Version)
for prog in bouncerd bouncerctl bouncer-decap; do
	out=$(chroot "$root" "/usr/sbin/$prog" --version 2>&1) || true
	echo "# $prog --version: $out"
	check "$prog --version" grep -qE "^$prog $version( \(git [^)]+\))?, map ABI version [0-9]+$" \
		<<<"$out"
done
# The example config the package installs is valid.
check "bouncerd -t the packaged config" chroot "$root" /usr/sbin/bouncerd -t \
	-c /etc/bouncer/bouncer.conf
check "unit installed" test -f "$root/lib/systemd/system/bouncerd.service"
check "unit runs the installed bouncerd" \
	grep -qx 'ExecStart=/usr/sbin/bouncerd -c /etc/bouncer/bouncer.conf' \
	"$root/lib/systemd/system/bouncerd.service"
((failures == 0))
