#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# End to end: HTTP requests per second and server CPU per request for the
# same Node.js app (examples/app/server.js, N processes) behind
#
#   cluster   Node's cluster module (bench/cluster.js): the primary accepts
#             and hands each connection to a worker, round robin
#   nginx     nginx proxying to N separate node processes, with keep-alive
#             connections to them
#   bouncer   bouncerd: the XDP program on the server's interface, the VIP
#             on lo, N local workers reached through sk_lookup
#
# A client namespace and a server namespace joined by a veth pair. The load
# generator (wrk, one thread) runs on the first CPU this script may use, every
# server process on the others. Each setup is started alone, measured and
# stopped, round after round (cluster, nginx, bouncer, cluster, ...); each
# figure is the median over the rounds, since the machine is shared and
# noisy. Two loads: keep-alive (wrk's connections stay open) and new
# connections (Connection: close, one TCP connection per request).
#
# CPU per request, two ways, over each measurement window:
#   process   utime + stime of every process in the server namespace (the
#             cluster primary and workers; nginx master, workers and node
#             backends; bouncerd and its workers)
#   server    busy time of the server CPUs in /proc/stat: also the softirq
#             work (TCP receive, the XDP program) charged to no process.
#             Anything else the machine runs there counts too.
# A veth receives on the CPU that sent. RPS on both veths moves each side's
# receive processing to its own CPUs; without it the server's TCP receive,
# with the handshake that creates each accepted socket and bouncer's
# sk_lookup, would be done and paid for by the client's CPU. RPS costs the
# IPIs between the CPUs, alike for every setup. bouncer's XDP program
# still runs on the client's CPU (in veth's NAPI, before RPS); on a NIC it
# would be the server's, at tens of ns a packet (make bench).
#
# Environment (defaults in brackets):
#   BENCH_E2E_WORKERS      node processes per setup [server CPUs, at least 2]
#   BENCH_E2E_DURATION     seconds per measurement [5]
#   BENCH_E2E_WARMUP       seconds of load before each measurement [1]
#   BENCH_E2E_ROUNDS       rounds [5]
#   BENCH_E2E_CONNECTIONS  wrk's connections [64]
#   BENCH_E2E_SETUPS       which setups, cluster first ["cluster nginx bouncer"]
#
# Root; needs build/bouncerd and build/bouncerctl (make), wrk, node, nginx
# (scripts/deps.sh). A bouncerd that does not know the workers block yet
# makes the bouncer setup a skip, said in the output. Goals missed are
# reported (MISS), not failed: the exit status is non-zero only when the
# bench itself could not run.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BOUNCERD=${BOUNCERD:-$ROOT/build/bouncerd}
BOUNCERCTL=${BOUNCERCTL:-$ROOT/build/bouncerctl}
APP=$ROOT/examples/app/server.js
CLUSTER_JS=$ROOT/bench/cluster.js

DURATION=${BENCH_E2E_DURATION:-5}
WARMUP=${BENCH_E2E_WARMUP:-1}
ROUNDS=${BENCH_E2E_ROUNDS:-5}
CONNS=${BENCH_E2E_CONNECTIONS:-64}
read -ra SETUPS <<<"${BENCH_E2E_SETUPS:-cluster nginx bouncer}"

NS_C=bnc-e2e-$$-c
NS_S=bnc-e2e-$$-s
PIN=/sys/fs/bpf/bnc-e2e-$$
C_IP=10.98.0.1
S_IP=10.98.0.2
VIP=10.99.0.100
URL=http://$VIP/
# Ports of the node processes behind nginx and of bouncerd's workers.
NGINX_PORT_BASE=9100
WORKERS_PORT_BASE=9000
HZ=$(getconf CLK_TCK)

WORK=
# shellcheck source=tests/lib/live.sh
. "$ROOT/tests/lib/live.sh"

die() {
	echo "bench_e2e: $*" >&2
	exit 1
}

posint() { [[ $1 =~ ^[1-9][0-9]*$ ]]; }

if [[ $(id -u) -ne 0 ]]; then
	die "needs root (network namespaces, XDP)"
fi
for tool in wrk node nginx curl taskset nsenter; do
	command -v "$tool" >/dev/null || die "$tool not installed: scripts/deps.sh installs it"
done
for v in DURATION WARMUP ROUNDS CONNS; do
	posint "${!v}" || die "$v must be a positive integer, not '${!v}'"
done
[[ ${SETUPS[0]:-} == cluster ]] || die "BENCH_E2E_SETUPS must start with cluster: the ratios are to it"
for s in "${SETUPS[@]}"; do
	[[ $s == cluster || $s == nginx || $s == bouncer ]] || die "unknown setup '$s'"
done

# The CPUs we may use, from our affinity: the first for the client, the
# rest for the server.
cpu_list() {
	local part lo hi i
	local -a parts
	IFS=, read -ra parts <<<"$(awk '/^Cpus_allowed_list/ { print $2 }' /proc/self/status)"
	for part in "${parts[@]}"; do
		lo=${part%-*}
		hi=${part#*-}
		for ((i = lo; i <= hi; i++)); do
			echo "$i"
		done
	done
}
mapfile -t CPUS < <(cpu_list)
if ((${#CPUS[@]} < 2)); then
	echo "bench_e2e: skipped: needs 2 CPUs or more (one for the client, the rest for the server)"
	exit 0
fi
CLIENT_CPU=${CPUS[0]}
SERVER_CPUS=("${CPUS[@]:1}")
SERVER_LIST=$(
	IFS=,
	echo "${SERVER_CPUS[*]}"
)

# Workers per setup: one per server CPU, but at least 2. With 2 CPUs there
# is one server CPU, and a single worker would leave nothing to balance:
# the cluster primary, nginx's upstream and bouncer's sk_lookup would each
# hand every connection to the one process there is, and the numbers would
# compare a path that chooses nothing. Two workers sharing the CPU keep the
# choice in every path, at the price of context switches that all three
# setups pay alike.
WORKERS=${BENCH_E2E_WORKERS:-$((${#SERVER_CPUS[@]} < 2 ? 2 : ${#SERVER_CPUS[@]}))}
if ! posint "$WORKERS" || ((WORKERS > 256)); then
	die "BENCH_E2E_WORKERS must be 1 to 256, not '$WORKERS'"
fi

# cpu_mask CPU...: hex mask, in the comma-separated 32-bit groups sysfs takes.
cpu_mask() {
	local -a words=()
	local c i out=
	for c in "$@"; do
		words[c / 32]=$((${words[c / 32]:-0} | 1 << (c % 32)))
	done
	for ((i = ${#words[@]} - 1; i >= 0; i--)); do
		out+=$(printf '%08x' "${words[i]:-0}")
		((i > 0)) && out+=,
	done
	echo "$out"
}

# nginx's worker_cpu_affinity mask: binary, CPU 0 rightmost.
cpu_bits() {
	local c max=0 out=
	for c in "$@"; do
		((c > max)) && max=$c
	done
	for ((c = max; c >= 0; c--)); do
		if [[ " $* " == *" $c "* ]]; then out+=1; else out+=0; fi
	done
	echo "$out"
}

cleanup() {
	set +e
	trap '' PIPE
	netns_destroy "$NS_C" "$NS_S"
	[[ -d $PIN ]] && rm -rf "$PIN"
	[[ -n $WORK ]] && rm -rf "$WORK"
}
trap cleanup EXIT
# ^C, a closed pipe, a time-out: still clean up.
trap "exit 1" INT TERM HUP PIPE

# on_server CMD...: CMD in the server namespace, on the server CPUs.
on_server() { in_ns "$NS_S" taskset -c "$SERVER_LIST" "$@"; }
on_client() { in_ns "$NS_C" taskset -c "$CLIENT_CPU" "$@"; }
ctl() { in_ns "$NS_S" timeout 10 "$BOUNCERCTL" -s "$WORK/ctl.sock" "$@"; }

setup_net() {
	WORK=$(mktemp -d /tmp/bnc-e2e.XXXXXX)
	ip netns add "$NS_C"
	ip netns add "$NS_S"
	ip link add vc netns "$NS_C" type veth peer name vs netns "$NS_S"
	ip -n "$NS_C" addr add "$C_IP/24" dev vc
	ip -n "$NS_S" addr add "$S_IP/24" dev vs
	ip -n "$NS_S" addr add "$VIP/32" dev lo
	local ns
	for ns in "$NS_C" "$NS_S"; do
		ip -n "$ns" link set lo up
	done
	ip -n "$NS_C" link set vc up
	ip -n "$NS_S" link set vs up
	ip -n "$NS_C" route add "$VIP/32" via "$S_IP"
	# New connections: about 5 s x some thousands a second, each leaving a
	# TIME_WAIT on the server; the client needs ports for all of them.
	in_ns "$NS_C" sysctl -qw net.ipv4.ip_local_port_range="1024 65535"
	# sysfs shows the namespace of whoever mounted it: ip netns exec
	# mounts the namespace's own, in a mount namespace of its own.
	ip netns exec "$NS_S" sh -c "echo $(cpu_mask "${SERVER_CPUS[@]}") >/sys/class/net/vs/queues/rx-0/rps_cpus"
	ip netns exec "$NS_C" sh -c "echo $(cpu_mask "$CLIENT_CPU") >/sys/class/net/vc/queues/rx-0/rps_cpus"
}

# ---- the setups: start_NAME starts one and returns once it listens ----

start_cluster() {
	on_server env PORT=80 node "$CLUSTER_JS" "$WORKERS" >"$WORK/cluster.log" 2>&1 </dev/null &
	wait_for 20 grep -qs '^ready' "$WORK/cluster.log" || {
		cat "$WORK/cluster.log" >&2
		return 1
	}
}

# start_nodes PORT_BASE: WORKERS separate node processes on the server CPUs.
start_nodes() {
	local i
	for ((i = 0; i < WORKERS; i++)); do
		on_server env PORT=$(($1 + i)) WORKER_ID="$i" node "$APP" \
			>"$WORK/node-$i.log" 2>&1 </dev/null &
	done
	for ((i = 0; i < WORKERS; i++)); do
		wait_for 20 grep -qs '^listening' "$WORK/node-$i.log" || {
			cat "$WORK/node-$i.log" >&2
			return 1
		}
	done
}

write_nginx_conf() {
	local i servers=
	for ((i = 0; i < WORKERS; i++)); do
		servers+="		server 127.0.0.1:$((NGINX_PORT_BASE + i));"$'\n'
	done
	mkdir -p "$WORK/nginx/logs"
	cat >"$WORK/nginx/nginx.conf" <<EOF
# Generated by bench/bench_e2e.sh: a reverse proxy as one would run it.
daemon off;
master_process on;
worker_processes $WORKERS;
worker_cpu_affinity auto $(cpu_bits "${SERVER_CPUS[@]}");
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/logs/error.log warn;

events {
	worker_connections 4096;
}

http {
	access_log off;
	client_body_temp_path $WORK/nginx/client_body;
	proxy_temp_path $WORK/nginx/proxy;
	fastcgi_temp_path $WORK/nginx/fastcgi;
	uwsgi_temp_path $WORK/nginx/uwsgi;
	scgi_temp_path $WORK/nginx/scgi;

	upstream app {
$servers		keepalive 64;
	}

	server {
		listen $VIP:80 backlog=4096;
		location / {
			proxy_pass http://app;
			# Keep-alive to the backends needs HTTP/1.1 and no
			# "Connection: close" passed on.
			proxy_http_version 1.1;
			proxy_set_header Connection "";
		}
	}
}
EOF
}

start_nginx() {
	start_nodes "$NGINX_PORT_BASE"
	write_nginx_conf
	on_server nginx -q -t -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf"
	on_server nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" \
		>"$WORK/nginx/stdout.log" 2>&1 </dev/null &
	wait_for 20 test -s "$WORK/nginx/nginx.pid" || {
		cat "$WORK/nginx/stdout.log" "$WORK/nginx/logs/error.log" >&2
		return 1
	}
}

write_bouncer_conf() {
	cat >"$WORK/bouncer.conf" <<EOF
interfaces = [ "vs" ];
mode = "native";
log_level = "info";
pin_dir = "$PIN";
control_socket = "$WORK/ctl.sock";
flow_table_size = 65536;
vips = ( {
  name = "app"; address = "$VIP"; port = 80;
  workers = {
    command = [ "$(command -v node)", "$APP" ];
    count = $WORKERS;
    port_base = $WORKERS_PORT_BASE;
  };
} );
EOF
}

start_bouncer() {
	mkdir -p "$WORK/state"
	# --detach-on-exit: SIGTERM takes the program and the pins away.
	on_server "$BOUNCERD" -c "$WORK/bouncer.conf" -S "$WORK/state" --detach-on-exit \
		>>"$WORK/bouncerd.log" 2>&1 </dev/null &
	echo $! >"$WORK/bouncerd.pid"
	wait_for 20 ctl status >/dev/null 2>&1 || {
		echo "bench_e2e: bouncerd does not answer on its control socket" >&2
		return 1
	}
}

# Every worker has answered: the replies name them ("worker ID pid PID").
all_answered() {
	local i
	for ((i = 0; i < 8; i++)); do
		on_client curl -s --max-time 1 "$URL" || true
	done >>"$WORK/answers"
	(($(grep '^worker ' "$WORK/answers" | sort -u | wc -l) >= WORKERS))
}

# proc_gone PID: exited (a child of ours stays a zombie until reaped).
proc_gone() { [[ ! -e /proc/$1 ]] || grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }

server_pids() { ip netns pids "$NS_S" 2>/dev/null; }
no_server_process() { [[ -z $(server_pids) ]]; }

# stop_setup: every process in the server namespace goes.
stop_setup() {
	local pid
	if [[ -f $WORK/bouncerd.pid ]]; then
		# bouncerd first, so that it stops its workers and detaches.
		kill -TERM "$(cat "$WORK/bouncerd.pid")" 2>/dev/null || true
		wait_for 10 proc_gone "$(cat "$WORK/bouncerd.pid")" ||
			echo "bench_e2e: bouncerd did not exit within 10 s of SIGTERM" >&2
		rm -f "$WORK/bouncerd.pid"
	fi
	for pid in $(server_pids); do
		kill -TERM "$pid" 2>/dev/null || true
	done
	if ! wait_for 10 no_server_process; then
		for pid in $(server_pids); do
			kill -KILL "$pid" 2>/dev/null || true
		done
		wait_for 5 no_server_process
	fi
	# Reap our children (the nsenter'd servers).
	wait 2>/dev/null || true
	if ip -n "$NS_S" link show vs | grep -q xdp; then
		echo "bench_e2e: an XDP program stayed on vs after bouncerd exited; removing it" >&2
		ip -n "$NS_S" link set vs xdp off
	fi
	rm -rf "$PIN"
}

start_setup() {
	rm -f "$WORK/answers"
	"start_$1"
	wait_for 20 all_answered || {
		echo "bench_e2e: $1: not all $WORKERS workers answered; replies:" >&2
		sort "$WORK/answers" | uniq -c >&2
		return 1
	}
}

# ---- measuring ----

# proc_ticks: "PID TICKS" (utime + stime) of every server process.
proc_ticks() {
	local pid stat
	local -a f
	for pid in $(server_pids); do
		read -r stat 2>/dev/null <"/proc/$pid/stat" || continue
		# Past the command name, which may hold blanks: field 3 on.
		read -ra f <<<"${stat##*) }"
		echo "$pid $((f[11] + f[12]))"
	done
}

# cpu_ticks CPU...: busy ticks of these CPUs (all but idle and iowait).
cpu_ticks() {
	local c sum=0
	local -a f
	for c in "$@"; do
		read -ra f < <(grep "^cpu$c " /proc/stat)
		sum=$((sum + f[1] + f[2] + f[3] + f[6] + f[7] + f[8]))
	done
	echo "$sum"
}

# wrk_run SECONDS MODE OUT
wrk_run() {
	local -a hdr=()
	[[ $2 == close ]] && hdr=(-H "Connection: close")
	on_client timeout $(($1 + 30)) wrk -t1 -c"$CONNS" -d"$1s" "${hdr[@]}" "$URL" >"$3"
}

# timed_wrk_run SECONDS MODE OUT: wrk_run, and wrk's own CPU seconds
# (user + system) in OUT.cpu. A subshell, so that a time cut short by ^C
# still reports into the file.
timed_wrk_run() {
	(
		TIMEFORMAT='%U %S'
		time wrk_run "$@" 2>&3
	) 3>&2 2>"$3.cpu"
}

# measure SETUP MODE ROUND: appends "SETUP MODE ROUND REQS/S REQUESTS
# PROC_TICKS CPU_TICKS ERRORS" to the results.
measure() {
	local out=$WORK/wrk.$1.$2.$3 p0=$WORK/proc0 p1=$WORK/proc1 c0 c1 k0 k1 t0 t1 reqs rps errs ptk
	wrk_run "$WARMUP" "$2" /dev/null
	proc_ticks >"$p0"
	c0=$(cpu_ticks "${SERVER_CPUS[@]}")
	k0=$(cpu_ticks "$CLIENT_CPU")
	t0=$EPOCHREALTIME
	timed_wrk_run "$DURATION" "$2" "$out"
	t1=$EPOCHREALTIME
	k1=$(cpu_ticks "$CLIENT_CPU")
	c1=$(cpu_ticks "${SERVER_CPUS[@]}")
	proc_ticks >"$p1"
	reqs=$(awk '/ requests in / { print $1 }' "$out")
	rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
	errs=$(awk '/Socket errors:/ { gsub(/,/, ""); n += $4 + $6 + $8 + $10 }
		/Non-2xx/ { n += $NF } END { print n + 0 }' "$out")
	# A process that started in the window counts from zero; one that
	# ended is lost (none should).
	ptk=$(awk 'NR == FNR { t0[$1] = $2; next } { s += $2 - t0[$1] } END { print s + 0 }' "$p0" "$p1")
	if [[ -z $reqs || -z $rps || $reqs -eq 0 ]]; then
		echo "bench_e2e: $1 $2: wrk did no requests:" >&2
		cat "$out" >&2
		return 1
	fi
	echo "$1 $2 $3 $rps $reqs $ptk $((c1 - c0)) $errs" >>"$WORK/results"
	# How busy the CPUs were over the window (other tenants included),
	# and how much of the client's CPU wrk itself took: near 100%, the
	# load generator, not the server, may be what limits a run.
	awk -v s="$1" -v m="$([[ $2 == close ]] && echo new-conn || echo keep-alive)" -v r="$3" \
		-v rps="$rps" -v errs="$errs" -v hz="$HZ" -v n="${#SERVER_CPUS[@]}" \
		-v t="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" \
		-v sc=$((c1 - c0)) -v cc=$((k1 - k0)) -v w="$(awk '{ print $1 + $2 }' "$out.cpu")" \
		'BEGIN { printf "  %-8s %-10s round %d: %6.0f req/s; busy: server CPUs %3.0f%%, client CPU %3.0f%%, wrk %3.0f%%%s\n",
			s, m, r, rps, 100 * sc / hz / t / n, 100 * cc / hz / t, 100 * w / t,
			(errs > 0 ? sprintf(", %d errors", errs) : "") }' >&2
}

# Does this bouncerd know the workers block?
bouncer_supported() {
	write_bouncer_conf
	if ! "$BOUNCERD" -t -c "$WORK/bouncer.conf" >"$WORK/bouncerd-t.log" 2>&1; then
		echo "bench_e2e: bouncer: skipped: this bouncerd rejects the workers block:" >&2
		sed 's/^/  /' "$WORK/bouncerd-t.log" >&2
		return 1
	fi
}

# ---- the report ----

# median: of the numbers on stdin.
median() {
	sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# figure SETUP MODE WHAT: median over the rounds; WHAT is rps, proc (us of
# process CPU per request), cpu (us of server CPU per request) or errs
# (summed).
figure() {
	awk -v s="$1" -v m="$2" -v w="$3" -v hz="$HZ" '
	$1 != s || $2 != m { next }
	w == "rps" { print $4 }
	w == "proc" { print $6 * 1e6 / hz / $5 }
	w == "cpu" { print $7 * 1e6 / hz / $5 }
	w == "errs" { n += $8 }
	END { if (w == "errs") print n + 0 }' "$WORK/results" | median
}

report() {
	local s
	: >"$WORK/summary"
	for s in "${SETUPS[@]}"; do
		echo "$s $(figure "$s" keep rps) $(figure "$s" close rps)" \
			"$(figure "$s" close proc) $(figure "$s" close cpu)" \
			"$(figure "$s" keep proc) $(figure "$s" keep cpu)" \
			"$(figure "$s" keep errs) $(figure "$s" close errs)" >>"$WORK/summary"
	done
	echo
	echo "bench_e2e: examples/app/server.js x $WORKERS, $CONNS connections, ${DURATION} s per run" \
		"after ${WARMUP} s warm-up, median of $ROUNDS rounds;" \
		"client on CPU $CLIENT_CPU, server on CPU ${SERVER_LIST}"
	awk '
	function r(v, base) { return base > 0 ? sprintf("%.2fx", v / base) : "-" }
	function inv(v, base) { return v > 0 ? sprintf("%.2fx", base / v) : "-" }
	NR == 1 { ka = $2; nc = $3; ncp = $4; ncc = $5; kap = $6; kac = $7 }
	{
		if (NR == 1) {
			printf "%-8s %17s %17s | %-31s | %-31s\n", "", "keep-alive", "new connections",
				"  CPU us/request, new conn", "  CPU us/request, keep-alive"
			printf "%-8s %17s %17s | %15s %15s | %15s %15s\n", "setup", "req/s", "req/s",
				"process", "server CPUs", "process", "server CPUs"
		}
		printf "%-8s %9.0f (%5s) %9.0f (%5s) | %7.1f (%5s) %7.1f (%5s) | %7.1f (%5s) %7.1f (%5s)\n",
			$1, $2, r($2, ka), $3, r($3, nc), $4, inv($4, ncp), $5, inv($5, ncc),
			$6, inv($6, kap), $7, inv($7, kac)
		if ($8 + $9 > 0)
			errs = errs sprintf("  %s: %d errors keep-alive, %d new-conn (wrk: socket errors, non-2xx)\n", $1, $8, $9)
	}
	END {
		print "(x): ratio to cluster, higher is better; for CPU, requests per CPU-second"
		printf "%s", errs
	}' "$WORK/summary"
	goals
}

# goal TEXT OK: one PASS/MISS line.
goal() {
	printf '  %-4s %s\n' "$([[ $2 == 1 ]] && echo PASS || echo MISS)" "$1"
}

goals() {
	local -a cl ng bo
	echo "goals:"
	if ! grep -q '^bouncer ' "$WORK/summary"; then
		echo "  n/a  bouncer was not measured"
		return
	fi
	read -ra cl < <(grep '^cluster ' "$WORK/summary")
	read -ra bo < <(grep '^bouncer ' "$WORK/summary")
	ge() { awk -v a="$1" -v b="$2" 'BEGIN { print (a >= b) ? 1 : 0 }'; }
	goal "bouncer new connections/s >= 1.5x cluster's" "$(ge "${bo[2]}" "$(awk -v c="${cl[2]}" 'BEGIN { print 1.5 * c }')")"
	goal "bouncer new connections per process CPU-second >= 1.5x cluster's" \
		"$(ge "$(awk -v c="${cl[3]}" 'BEGIN { print c / 1.5 }')" "${bo[3]}")"
	goal "bouncer new connections per server CPU-second >= 1.5x cluster's" \
		"$(ge "$(awk -v c="${cl[4]}" 'BEGIN { print c / 1.5 }')" "${bo[4]}")"
	goal "bouncer keep-alive req/s >= cluster's" "$(ge "${bo[1]}" "${cl[1]}")"
	if grep -q '^nginx ' "$WORK/summary"; then
		read -ra ng < <(grep '^nginx ' "$WORK/summary")
		goal "bouncer keep-alive req/s >= nginx's" "$(ge "${bo[1]}" "${ng[1]}")"
	fi
}

# ---- main ----

START=$SECONDS
setup_net
if [[ " ${SETUPS[*]} " == *" bouncer "* ]]; then
	[[ -x $BOUNCERD && -x $BOUNCERCTL ]] || die "$BOUNCERD or $BOUNCERCTL missing: make"
	if ! bouncer_supported; then
		read -ra SETUPS <<<"${SETUPS[*]/bouncer/}"
	fi
fi
echo "bench_e2e: ${SETUPS[*]}; $ROUNDS rounds of keep-alive and new connections, ${DURATION} s each" >&2
for ((round = 1; round <= ROUNDS; round++)); do
	for s in "${SETUPS[@]}"; do
		if ! start_setup "$s"; then
			[[ $s == bouncer ]] && sed 's/^/  bouncerd: /' "$WORK/bouncerd.log" | tail -40 >&2
			die "$s did not start"
		fi
		measure "$s" keep "$round"
		measure "$s" close "$round"
		stop_setup
	done
done
report
echo "bench_e2e: took $((SECONDS - START)) s"
