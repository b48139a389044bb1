#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# The status page (bouncerd's / on its metrics listener) in a real browser:
# headless Chromium driven over its DevTools protocol
# (tests/lib/statuspage_browser.py), every check read from the rendered
# page, not from the HTML. The world is the demo's (scripts/demo.sh): a
# client, the bouncer host and two remote backends b1 and b2 on one bridge;
# VIP "demo" is served by b1, b2 and two local Node.js workers while the
# client sends about 50 requests a second. A second VIP is named
# <img/src=x/onerror=window.__pwned=1> (a valid VIP name: no blanks or
# quotes).
#
#   headers   /, /status.js, /status.css and /status.json answer with a
#             Content-Security-Policy that allows nothing from elsewhere and
#             no inline script or style, X-Content-Type-Options: nosniff,
#             and no caching of the JSON; the page's three files are small
#   render    the page shows both VIPs, and demo's four backends and workers
#   rising    each of the four shows a count of placed flows that rises
#   kill      kill -9 of worker 1: the page shows it dead within 2 s of the
#             agent knowing, then up with a new pid within 2 s of the agent
#             having restarted it; the events list says so
#   down      b2's server stops: the page shows b2 down within 2 s of the
#             agent's health check deciding; back up once it returns
#   hostile   the hostile VIP name is shown as text; no element it names
#             exists, no script of it ran (window.__pwned unset, no
#             dialog), the title is the page's
#   origin    every request the page made (the browser's network log) went
#             to the agent's origin; no CSP violation, no uncaught
#             exception, no console error
#   shot      a screenshot of the page, for the README (STATUSPAGE_PNG,
#             default build/statuspage.png)
#   limits    a request whose headers pass 8 KiB is refused; with 64
#             connections held open the listener accepts no more (the next
#             client waits in the backlog) and serves it once they close;
#             ten clients polling status.json together share one build
#   rules     every bouncer_* metric the alerting rules in
#             examples/prometheus/ name is in the agent's /metrics, with the
#             labels the rules match on
#   switch    a reload with metrics { status_page = false; } turns the page
#             off (404) and leaves /metrics on
#
# Run as root from anywhere; needs build/ (make), chromium,
# python3-websocket, node. Prints "ok - NAME" / "not ok - NAME"; exit 77
# when not root.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD_DIR:-build}
[[ $BUILD == /* ]] || BUILD=$ROOT/$BUILD
BOUNCERD=$BUILD/bouncerd
BOUNCERCTL=$BUILD/bouncerctl
DECAP=$BUILD/bouncer-decap
PY=/usr/bin/python3
SHOT=${STATUSPAGE_PNG:-$BUILD/statuspage.png}

FAILURES=0
# shellcheck source=tests/lib/live.sh
. "$ROOT/tests/lib/live.sh"

require_root statuspage
require_built "$BOUNCERD" "$BOUNCERCTL" "$DECAP"
require_tools chromium node "$PY" nsenter ethtool curl
if ! "$PY" -c 'import websocket' 2>/dev/null; then
	echo "not ok - setup # python3-websocket not installed: scripts/deps.sh installs it"
	exit 1
fi

C_IP=10.10.0.1
LB_IP=10.10.0.2
B1_IP=10.10.0.11
B2_IP=10.10.0.12
VIP=10.10.0.100
VIP2=10.10.0.101
HOSTILE='<img/src=x/onerror=window.__pwned=1>'
PORT=9368
ORIGIN=http://127.0.0.1:$PORT

RUN=bnc-sp-$$
NS_SW=$RUN-sw
NS_C=$RUN-c
NS_LB=$RUN-lb
PIN=/sys/fs/bpf/$RUN
WORK=$(mktemp -d /tmp/bnc-sp.XXXXXX)
AGENT_PID=
LOAD_PID=
BROWSER_PID=
declare -A BACKEND_PID=()

start_backend() {
	nsenter --net="/run/netns/$RUN-b$1" -- env PORT=80 WORKER_ID="b$1" "$PY" \
		"$ROOT/tests/live/worker_app.py" >>"$WORK/b$1.log" 2>&1 </dev/null &
	BACKEND_PID[$1]=$!
}

stop_backend() {
	kill -TERM "${BACKEND_PID[$1]}" 2>/dev/null || true
	wait "${BACKEND_PID[$1]}" 2>/dev/null || true
	unset "BACKEND_PID[$1]"
}

cleanup() {
	set +e
	trap '' INT TERM HUP PIPE
	touch "$WORK/load.stop"
	if [[ -n $BROWSER_PID ]]; then
		kill "$BROWSER_PID" 2>/dev/null
		wait "$BROWSER_PID" 2>/dev/null
	fi
	[[ -n $LOAD_PID ]] && wait "$LOAD_PID" 2>/dev/null
	if [[ -n $AGENT_PID ]]; then
		kill -TERM "$AGENT_PID" 2>/dev/null
		wait_for 10 test ! -e "/proc/$AGENT_PID"
		wait "$AGENT_PID" 2>/dev/null
	fi
	local i
	for i in "${!BACKEND_PID[@]}"; do
		stop_backend "$i"
	done
	in_ns "$NS_SW" "$DECAP" detach plb --pin "$PIN/decap-sw" >/dev/null 2>&1
	netns_destroy "$NS_C" "$NS_LB" "$RUN-b1" "$RUN-b2" "$NS_SW"
	rm -rf "$PIN" "$WORK"
}
trap cleanup EXIT
trap "exit 1" INT TERM HUP PIPE

ctl() { in_ns "$NS_LB" timeout 10 "$BOUNCERCTL" -s "$WORK/ctl.sock" "$@"; }
worker() {
	ctl -j worker list demo | json "[w for w in d['vips'][0]['workers'] if w['id'] == $2][0]['$1']"
}
backend() { ctl -j backend list demo | json "[b for b in d['backends'] if b['address'] == '$2'][0]['$1']"; }
# worker_is STATE ID, health_is STATE ADDRESS: for wait_for.
worker_is() { [[ $(worker state "$2" 2>/dev/null) == "$1" ]]; }
health_is() { [[ $(backend health "$2" 2>/dev/null) == "$1" ]]; }
http() { in_ns "$NS_LB" curl -sS --max-time "$(scaled 5)" "$@"; }

# ---- the browser: a co-process answering one JSON line per command ----

# ask CMD...: sends a command, prints the answer's line (bounded: a
# DevTools call is bounded by the driver's own time-out, 30 s, and a wait
# by its own; both scaled as here).
ask() {
	local line
	printf '%s\n' "$*" >&"$TO_BROWSER"
	if ! IFS= read -r -t "$(scaled_seconds 60)" line <&"$FROM_BROWSER"; then
		echo '{"ok": false, "error": "the browser driver did not answer"}'
		return 0
	fi
	printf '%s\n' "$line"
}
# page_ok CMD...: the command succeeded; its answer stays in $WORK/answer.
page_ok() {
	ask "$@" >"$WORK/answer"
	if [[ $(json "d['ok']" <"$WORK/answer") != True ]]; then
		diag "browser: $* -> $(cat "$WORK/answer")"
		return 1
	fi
}
page_value() { json "json.dumps(d['value'])" <"$WORK/answer"; }

# ---- the world ----

sed -e "s|^pin_dir = .*|pin_dir = \"$PIN/lb\";|" \
	-e "s|^control_socket = .*|control_socket = \"$WORK/ctl.sock\";|" \
	-e "s|\"examples/app/server.js\"|\"$ROOT/examples/app/server.js\"|" \
	"$ROOT/examples/demo.conf" >"$WORK/base.conf"
# The demo's world, with the metrics listener (and so the page) on, a
# worker restart that waits 3 s (so that the page can be seen showing it
# dead), and the hostile VIP.
conf() {
	"$PY" - "$WORK/base.conf" "$1" "$VIP2" "$HOSTILE" "$B1_IP" "$PORT" >"$WORK/agent.conf" <<'EOF'
import os, re, sys
base, page, vip2, name, b1, port = sys.argv[1:]
text = open(base).read()
text = text.replace("min_uptime = 1;", "min_uptime = 600;\n\t\t\t\tbackoff = 3;")
text, n = re.subn(r"metrics = \{[^}]*\};",
                 'metrics = { listen = "127.0.0.1"; port = %s; status_page = %s; };' % (port, page),
                 text)
assert n == 1, "no metrics block in the demo's config"

last = text.rindex(");")
text = text[:last] + (""",
	{
		name = "%s";
		address = "%s";
		port = 80;
		forwarding = "dsr";
		ring_size = 13;
		check = { type = "tcp"; interval = 0.3; timeout = 0.2; };
		backends = ( { address = "%s"; } );
	}
""" % (name, vip2, b1)) + text[last:]
# The health checks' pace times BOUNCER_TIME_SCALE, as in tests/lib/live.sh:
# under emulation a 0.2 s time-out fails a backend that is up.
scale = float(os.environ.get("BOUNCER_TIME_SCALE") or 1)
text = re.sub(r"\b(interval|timeout) = ([0-9.]+);",
              lambda m: "%s = %g;" % (m.group(1), float(m.group(2)) * scale), text)
print(text, end="")
EOF
}
conf true
grep -q "status_page = true" "$WORK/agent.conf"
grep -q "backoff = 3;" "$WORK/agent.conf"
"$BOUNCERD" -t -c "$WORK/agent.conf" >/dev/null

mkdir -p "$PIN"
bridge_world "$RUN" c lb b1 b2
ip -n "$NS_C" addr add "$C_IP/24" dev vc
ip -n "$NS_C" route add "$VIP/32" via "$LB_IP"
ip -n "$NS_LB" addr add "$LB_IP/24" dev vlb
ip -n "$NS_LB" addr add "$VIP/32" dev lo
in_ns "$NS_LB" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2
for i in 1 2; do
	ns=$RUN-b$i
	ip_var=B${i}_IP
	ip -n "$ns" addr add "${!ip_var}/24" dev "vb$i"
	ip -n "$ns" addr add "$VIP/32" dev lo
	in_ns "$ns" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 \
		net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
done
# As in the demo: XDP_TX out of a veth needs a program on its peer, and
# the client computes its own checksums.
in_ns "$NS_SW" "$DECAP" attach plb 192.0.2.1 --pin "$PIN/decap-sw" >"$WORK/decap.log" 2>&1
in_ns "$NS_C" ethtool -K vc tx off >/dev/null
start_backend 1
start_backend 2

nsenter --net="/run/netns/$NS_LB" -- "$BOUNCERD" -D -c "$WORK/agent.conf" -S "$WORK/state" \
	>>"$WORK/agent.log" 2>&1 </dev/null &
AGENT_PID=$!
workers_ready() {
	[[ $(ctl -j worker list demo 2>/dev/null |
		json "sum(w['state'] == 'ready' for w in d['vips'][0]['workers'])" 2>/dev/null) == 2 ]]
}
if ! wait_for 10 ctl status >/dev/null 2>&1 || ! wait_for 30 workers_ready ||
	! wait_for 20 health_is up "$B1_IP" || ! wait_for 20 health_is up "$B2_IP"; then
	echo "not ok - setup # the agent, its workers or backends are not up"
	tail -n 30 "$WORK/agent.log" | sed 's/^/# /'
	exit 1
fi

: >"$WORK/load.log"
nsenter --net="/run/netns/$NS_C" -- "$PY" "$ROOT/scripts/demo_load.py" \
	"http://$VIP/" "$WORK/load.log" "$WORK/load.stop" </dev/null &
LOAD_PID=$!

# The browser runs in the bouncer host's namespace, where the listener is.
# exec: BROWSER_PID is the driver itself, which cleanup's SIGTERM makes
# kill Chromium and remove its profile.
coproc BROWSER {
	exec nsenter --net="/run/netns/$NS_LB" -- "$PY" "$ROOT/tests/lib/statuspage_browser.py" "$ORIGIN/"
}
# Copies: bash closes a co-process's own descriptors in subshells, and
# each scenario runs in one.
exec {TO_BROWSER}>&"${BROWSER[1]}" {FROM_BROWSER}<&"${BROWSER[0]}"
# Its first line says whether Chromium started and loaded the page.
if ! IFS= read -r -t "$(scaled_seconds 60)" line <&"$FROM_BROWSER" ||
	[[ $line != *'"ok": true'* ]]; then
	echo "not ok - setup # the browser did not start: ${line:-no answer}"
	exit 1
fi

# ---- scenarios ----

# header_of URL NAME: the value of response header NAME.
header_of() {
	http -o /dev/null -D - "$1" | tr -d '\r' | awk -v h="$2" 'BEGIN { IGNORECASE = 1 }
		index(tolower($0), tolower(h) ":") == 1 { sub(/^[^:]*: */, ""); print }'
}

# fresh_build: fetches status.json; true when it is another build than
# the one in $WORK/generated, with its size and time in $WORK/fresh.
fresh_build() {
	http -w '\n%{size_download} bytes in %{time_total} s' "$ORIGIN/status.json" >"$WORK/fetch"
	[[ $(head -n 1 "$WORK/fetch" | json "d['generated_ms']") != "$(cat "$WORK/generated")" ]] &&
		tail -n 1 "$WORK/fetch" >"$WORK/fresh"
}

test_headers() {
	local path csp size=0 n
	for path in / /status.js /status.css /status.json; do
		csp=$(header_of "$ORIGIN$path" Content-Security-Policy)
		[[ $csp == *"default-src 'none'"* && $csp == *"script-src 'self'"* &&
			$csp == *"style-src 'self'"* && $csp == *"connect-src 'self'"* ]] ||
			{ diag "$path: CSP '$csp'"; return 1; }
		[[ $csp != *unsafe* && $csp != *"*"* && $csp != *http* ]] ||
			{ diag "$path: CSP allows too much: '$csp'"; return 1; }
		[[ $(header_of "$ORIGIN$path" X-Content-Type-Options) == nosniff ]] ||
			{ diag "$path: no nosniff"; return 1; }
	done
	[[ $(header_of "$ORIGIN/status.json" Cache-Control) == no-store ]]
	[[ $(header_of "$ORIGIN/status.json" Content-Type) == application/json ]]
	[[ $(header_of "$ORIGIN/status.js" Content-Type) == text/javascript* ]]
	http "$ORIGIN/status.json" | json "d['status']['version'] and len(d['vips']['vips'])" >/dev/null
	for path in / /status.js /status.css; do
		n=$(http "$ORIGIN$path" | wc -c)
		size=$((size + n))
	done
	diag "page: $size bytes (HTML, script and style)"
	# What one build of the JSON costs the agent's loop, seen from a
	# client: the first answer that is a new build.
	http "$ORIGIN/status.json" | json "d['generated_ms']" >"$WORK/generated"
	wait_for 5 fresh_build
	diag "status.json: a new build, $(cat "$WORK/fresh")"
	# Small: well under what one web font weighs.
	((size < 65536))
	# A POST changes nothing and is refused.
	[[ $(http -o /dev/null -w '%{http_code}' -X POST "$ORIGIN/status.json") == 405 ]]
}

test_render() {
	page_ok wait 20 "card('demo') && card('$HOSTILE') && ['worker 0', 'worker 1', '$B1_IP:80', '$B2_IP:80'].every((b) => state('demo', b) === 'up')"
}

test_rising() {
	local b placed
	for b in "worker 0" "worker 1" "$B1_IP:80" "$B2_IP:80"; do
		page_ok eval "Number(cell('demo', '$b', 'placed'))"
		placed=$(page_value)
		# About 12 new flows a second each (50/s over four); 15 s is
		# an eternity unless the page stopped updating.
		page_ok wait 15 "Number(cell('demo', '$b', 'placed')) > $placed" ||
			{ diag "$b: placed stays $placed"; return 1; }
	done
}

test_kill() {
	local old_pid new_pid shown
	old_pid=$(worker pid 1)
	page_ok wait 5 "cell('demo', 'worker 1', 'pid')"
	shown=$(page_value)
	[[ $shown == "\"$old_pid\"" ]] || { diag "page pid $shown, agent $old_pid"; return 1; }
	kill -KILL "$old_pid"
	# min_uptime 600 s: the exit is a crash, restarted after 3 s.
	wait_for 5 worker_is backoff 1
	# The page asks every second for a status at most 0.5 s old: 1.5 s
	# plus a render. The rest of the 2 s is for a slow headless browser.
	page_ok wait 2 "state('demo', 'worker 1') === 'dead, restarting'" ||
		{ diag "worker 1 not shown dead"; return 1; }
	diag "worker 1 shown dead $(json "d['after_s']" <"$WORK/answer") s after the agent knew"
	wait_for 10 worker_is ready 1
	new_pid=$(worker pid 1)
	[[ $new_pid != "$old_pid" ]]
	page_ok wait 2 "state('demo', 'worker 1') === 'up' && cell('demo', 'worker 1', 'pid') === '$new_pid'" ||
		{ diag "worker 1 not shown up as pid $new_pid"; return 1; }
	diag "worker 1 shown up as pid $new_pid after $(json "d['after_s']" <"$WORK/answer") s"
	page_ok wait 2 "[...document.querySelectorAll('#events li')].some((li) => li.textContent.includes('worker 1 (pid $old_pid) exited'))"
	page_ok eval "cell('demo', 'worker 1', 'restarts')"
	[[ $(page_value) == '"1"' ]]
}

test_down() {
	stop_backend 2
	wait_for 10 health_is down "$B2_IP"
	page_ok wait 2 "state('demo', '$B2_IP:80') === 'down'" ||
		{ diag "b2 not shown down"; return 1; }
	diag "b2 shown down $(json "d['after_s']" <"$WORK/answer") s after the agent knew"
	page_ok wait 2 "[...document.querySelectorAll('#events li')].some((li) => li.textContent.includes('backend $B2_IP:80 down'))"
	start_backend 2
	wait_for 10 health_is up "$B2_IP"
	page_ok wait 2 "state('demo', '$B2_IP:80') === 'up'"
}

test_hostile() {
	page_ok eval "card('$HOSTILE').querySelector('.vipname').textContent"
	[[ $(page_value) == "\"$HOSTILE\"" ]] || { diag "shown as $(page_value)"; return 1; }
	page_ok eval "[document.querySelectorAll('img').length, typeof window.__pwned, document.title].join(' ')"
	[[ $(page_value) == '"0 undefined bouncer status"' ]] || { diag "$(page_value)"; return 1; }
	page_ok problems
	[[ $(json "sum(p.startswith('dialog') for p in d['value'])" <"$WORK/answer") == 0 ]]
}

test_origin() {
	local n others
	page_ok requests
	n=$(json "len(d['value'])" <"$WORK/answer")
	others=$(json "[u for u in d['value'] if not u.startswith('$ORIGIN/')]" <"$WORK/answer")
	diag "the page made $n requests"
	# The page, its script and style, and a status.json a second.
	((n >= 4))
	[[ $others == "[]" ]] || { diag "to other origins: $others"; return 1; }
	page_ok problems
	[[ $(json "d['value']" <"$WORK/answer") == "[]" ]] || { diag "$(cat "$WORK/answer")"; return 1; }
}

test_shot() {
	page_ok screenshot "$WORK/shot.png"
	[[ $(head -c 8 "$WORK/shot.png" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]]
	mkdir -p "$(dirname "$SHOT")"
	cp "$WORK/shot.png" "$SHOT"
	diag "screenshot: $SHOT, $(wc -c <"$SHOT") bytes"
}

test_limits() {
	in_ns "$NS_LB" "$PY" - "$PORT" <<'EOF'
import concurrent.futures, json, socket, sys, time
port = int(sys.argv[1])

def get(path, extra="", timeout=5.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n%sConnection: close\r\n\r\n" % (path, extra)).encode())
    data = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
    finally:
        s.close()
    return data

# Headers over 8 KiB: refused (an error status, or closed unanswered).
big = get("/", "X-Big: %s\r\n" % ("a" * 9000))
assert not big.startswith(b"HTTP/1.1 200"), big[:80]

# 64 held connections fill the cap; one more is not served meanwhile.
held = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(64)]
time.sleep(0.3)  # the agent accepts them; none sends a request
late = socket.create_connection(("127.0.0.1", port), timeout=5)
late.sendall(b"GET /status.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
late.settimeout(1.0)
try:
    early = late.recv(100)
except socket.timeout:
    early = b""
assert early == b"", "served past the cap: %r" % early[:40]
for s in held:
    s.close()
late.settimeout(5.0)
answer = late.recv(100)
assert answer.startswith(b"HTTP/1.1 200"), answer
late.close()

# Ten clients at once get one build: the same generated_ms (the build is
# shared for 0.5 s; ten GETs on loopback take a few ms).
def one(_):
    body = get("/status.json").split(b"\r\n\r\n", 1)[1]
    return json.loads(body)["generated_ms"]
for attempt in range(3):
    with concurrent.futures.ThreadPoolExecutor(10) as ex:
        stamps = set(ex.map(one, range(10)))
    if len(stamps) == 1:
        break
# Two stamps when the ten straddle a build's end; three tries in a row
# straddling needs the ten to take 0.5 s each time.
assert len(stamps) == 1, stamps
EOF
}

test_rules() {
	local name
	http "$ORIGIN/metrics" >"$WORK/metrics"
	while read -r name; do
		# With labels or without.
		grep -qE "^${name}[{ ]" "$WORK/metrics" || { diag "$name: not in /metrics"; return 1; }
	done < <(grep -ohE 'bouncer_[a-z_]+' "$ROOT/examples/prometheus/bouncer-alerts.yml" | sort -u)
	grep -q '^bouncer_backend_up{vip="demo",backend="10.10.0.11",port="80"} 1$' "$WORK/metrics"
	grep -q '^bouncer_backend_admin_state{vip="demo",backend="worker/1",port="",state="ready"} 1$' "$WORK/metrics"
	grep -q '^bouncer_worker_restarts_total{vip="demo",worker="1"} 1$' "$WORK/metrics"
	grep -q '^bouncer_flow_table_size{family="ipv4"} 65536$' "$WORK/metrics"
}

test_switch() {
	conf false
	ctl reload >/dev/null
	[[ $(http -o /dev/null -w '%{http_code}' "$ORIGIN/") == 404 ]]
	[[ $(http -o /dev/null -w '%{http_code}' "$ORIGIN/status.json") == 404 ]]
	[[ $(http -o /dev/null -w '%{http_code}' "$ORIGIN/metrics") == 200 ]]
	conf true
	ctl reload >/dev/null
	[[ $(http -o /dev/null -w '%{http_code}' "$ORIGIN/") == 200 ]]
}

run headers test_headers
run render test_render
run rising test_rising
run kill test_kill
run down test_down
run hostile test_hostile
run origin test_origin
run shot test_shot
run limits test_limits
run rules test_rules
run switch test_switch

ask quit >/dev/null
if ((FAILURES > 0)); then
	diag "agent log:"
	tail -n 20 "$WORK/agent.log" | sed 's/^/# /' >&2
fi
((FAILURES == 0))
