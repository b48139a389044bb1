#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Installs the Debian 12 packages that building, testing and checking bouncer
# need, and mounts bpffs. Only missing packages are installed, and apt-get
# update runs only then, so a second run is fast and needs no network.
# As non-root it only reports what is missing and fails if anything is.
set -euo pipefail

pkgs=(
	# Build: the agent with gcc, the BPF objects with clang (llvm brings
	# llvm-strip and llvm-objdump for inspecting them), bpftool to turn
	# each object into a skeleton header.
	make gcc clang llvm pkg-config bpftool
	# Libraries the agent links, found through pkg-config. libelf and zlib
	# are libbpf's own dependencies, needed for static linking and by its
	# .pc file. linux-libc-dev has the UAPI headers (linux/bpf.h,
	# linux/if_ether.h, asm/types.h) that the BPF programs include.
	libbpf-dev libelf-dev zlib1g-dev linux-libc-dev
	# The agent: its config file (libconfig), JSON control socket
	# (jansson), event loop, health check connections and metrics HTTP
	# listener (libevent), and route/neighbour look-ups over rtnetlink to
	# resolve each backend's next hop (libmnl).
	libconfig-dev libjansson-dev libevent-dev libmnl-dev
	# Unit and datapath tests are cmocka programs.
	libcmocka-dev
	# Live tests: namespaces and veth (ip), offload settings on veth
	# (ethtool), reachability (ping), process handling (pkill, sysctl),
	# helper servers and clients (python3, curl).
	iproute2 ethtool iputils-ping procps python3 curl
	# Live tests: /metrics read by Prometheus' own text parser.
	python3-prometheus-client
	# Live tests: several bouncer hosts announce their VIPs over BGP,
	# with BFD, to an ECMP router (tests/live/ecmp.sh), with BIRD 2 on
	# both ends, as examples/bird-host.conf and bird-router.conf run it.
	# The test starts its own bird processes: the system service is
	# neither started nor enabled (below).
	bird2
	# Live tests: dnsmasq as the UDP workers of DNS VIPs, queried by dig
	# (dnsutils), which drops an answer from another address or port
	# (tests/live/udp_workers.sh). dnsmasq-base is the program without the
	# dnsmasq package's system service.
	dnsmasq-base dnsutils
	# Live tests: trafgen (netsniff-ng) sends the spoofed floods of
	# tests/live/flood.sh from a namespace.
	netsniff-ng
	# Live tests: script(1) gives bouncerctl top the pseudo-terminal its
	# screen needs (essential in Debian, listed for minimal images).
	bsdutils
	# Local workers in the live tests and make demo run the Node.js app
	# (examples/app/server.js).
	nodejs
	# make check: formatting, static analysis, shell scripts; the lists of
	# files to check come from git ls-files.
	clang-format clang-tidy cppcheck shellcheck git
	# make check renders the man pages to catch their warnings, and
	# lints them with mandoc.
	man-db groff-base mandoc
	# make check: systemd-analyze verify and security on the unit as
	# make install writes it (scripts/check-unit.sh); the tools work
	# without systemd running as init.
	systemd
	# make deb: the package is built with debhelper (dpkg-buildpackage)
	# and checked with lintian.
	debhelper lintian
	# make vm-test: QEMU boots another kernel; busybox-static gives the
	# guest's initramfs its mount, modprobe and poweroff, and cpio and
	# depmod to build it (vm/mkinitramfs; the guest's other programs are
	# the host's, from the packages above).
	qemu-system-x86 busybox-static
	# make bench-e2e (bench/bench_e2e.sh): HTTP load (wrk) on the example
	# app (nodejs, above) behind Node's cluster module, behind nginx and behind
	# bouncerd. Debian 12's nginx has the proxy and upstream modules
	# (keepalive included) built in; nginx-light only adds the echo module
	# to it. The bench runs its own nginx with -c and -p: the system
	# service is neither started nor enabled (below).
	wrk nginx
	# The status page's live test (tests/live/statuspage.sh) loads it in a
	# real browser, headless, and drives it over the DevTools protocol
	# from Python (tests/lib/statuspage_browser.py).
	chromium python3-websocket
	# make check runs promtool check rules on the alerting rules in
	# examples/, and make test promtool test rules on them; Debian ships
	# promtool in the prometheus package. Its server is neither started
	# nor enabled (below).
	prometheus
)

# Debian's nginx, bird2 and prometheus packages start their system services
# (nginx on port 80, BIRD with a config that does nothing, Prometheus on
# port 9090) from their postinst. A
# policy-rc.d that exits 101 forbids every service start during
# the install; one the machine already has (Docker images ship one) is set
# aside and put back afterwards.
POLICY=/usr/sbin/policy-rc.d
POLICY_SAVED=$POLICY.bouncer-deps
restore_policy() {
	if [[ -e $POLICY_SAVED ]]; then
		mv -f "$POLICY_SAVED" "$POLICY"
	else
		rm -f "$POLICY"
	fi
}
no_service_starts() {
	if [[ -e $POLICY ]]; then
		mv "$POLICY" "$POLICY_SAVED"
	fi
	trap restore_policy EXIT
	trap "exit 1" INT TERM HUP PIPE
	printf '#!/bin/sh\n# scripts/deps.sh: no service starts while it installs.\nexit 101\n' >"$POLICY"
	chmod 755 "$POLICY"
}

missing=()
for p in "${pkgs[@]}"; do
	# "ii" = wanted and installed; anything else (absent, half-installed,
	# removed with config left) needs an install.
	status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
	if [[ $status != ii* ]]; then
		missing+=("$p")
	fi
done

is_root=false
if [[ $(id -u) -eq 0 ]]; then
	is_root=true
fi

if ((${#missing[@]} > 0)); then
	if ! $is_root; then
		echo "deps: missing packages: ${missing[*]}" >&2
		echo "deps: as root, run: apt-get update &&" \
			"apt-get install -y --no-install-recommends ${missing[*]}" >&2
		exit 1
	fi
	echo "deps: installing ${missing[*]}"
	# No prompts: CI runs without a terminal or stdin.
	export DEBIAN_FRONTEND=noninteractive
	apt-get update
	services=()
	if [[ " ${missing[*]} " == *" nginx "* ]]; then
		services+=(nginx)
	fi
	if [[ " ${missing[*]} " == *" bird2 "* ]]; then
		services+=(bird)
	fi
	if [[ " ${missing[*]} " == *" prometheus "* ]]; then
		services+=(prometheus)
	fi
	if ((${#services[@]} > 0)); then
		no_service_starts
	fi
	# Another install on the machine holds dpkg's lock for a while:
	# wait for it rather than fail.
	apt-get install -y --no-install-recommends -o DPkg::Lock::Timeout=600 \
		"${missing[@]}" </dev/null
	for service in "${services[@]}"; do
		# Nor at boot: only the bench runs nginx, only the ECMP test
		# runs bird, each on its own config, and only promtool of the
		# prometheus package is used.
		if command -v systemctl >/dev/null; then
			systemctl disable --quiet "$service.service" 2>/dev/null || true
		fi
		if command -v update-rc.d >/dev/null; then
			update-rc.d "$service" disable >/dev/null 2>&1 || true
		fi
	done
else
	echo "deps: all ${#pkgs[@]} packages installed"
fi

# Pinned maps, programs and links live on bpffs; the agent and the live
# tests pin there.
bpffs=/sys/fs/bpf
if [[ $(stat -f -c %T "$bpffs" 2>/dev/null || true) != bpf_fs ]]; then
	if ! $is_root; then
		echo "deps: warning: bpffs is not mounted at $bpffs; as root: mount -t bpf bpf $bpffs" >&2
	else
		echo "deps: mounting bpffs at $bpffs"
		mkdir -p "$bpffs"
		if ! mount -t bpf bpf "$bpffs"; then
			echo "deps: cannot mount bpffs at $bpffs (missing CAP_SYS_ADMIN?);" \
				"the datapath and live tests need it" >&2
			exit 1
		fi
	fi
fi
