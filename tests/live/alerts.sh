#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# The Prometheus alerting rules shipped in examples/prometheus/, with
# Debian's promtool (no root, no agent):
#
#   check   promtool check rules: they parse, and their expressions and
#           templates are valid
#   unit    promtool test rules on tests/prometheus/bouncer-alerts.test.yml:
#           each alert fires on series shaped like the agent's, when and
#           with the labels and text it should, and stays quiet otherwise
#   names   every bouncer_* metric a rule or a test series names is one that
#           agent/bouncerd/metrics.c writes (tests/live/statuspage.sh checks
#           them against a running agent's /metrics too)
#
# Prints "ok - NAME" / "not ok - NAME".
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
RULES=$ROOT/examples/prometheus/bouncer-alerts.yml
TESTS=$ROOT/tests/prometheus/bouncer-alerts.test.yml

FAILURES=0
# shellcheck source=tests/lib/live.sh
. "$ROOT/tests/lib/live.sh"

require_tools promtool

test_check() { promtool check rules "$RULES" >/dev/null; }

test_unit() { (cd "$(dirname "$TESTS")" && promtool test rules "$(basename "$TESTS")" >/dev/null); }

test_names() {
	local name used=0
	while read -r name; do
		used=$((used + 1))
		grep -q "\"$name\"" "$ROOT/agent/bouncerd/metrics.c" ||
			{ diag "$name: not a metric of metrics.c"; return 1; }
	done < <(grep -ohE 'bouncer_[a-z_]+' "$RULES" "$TESTS" | sort -u)
	# The rules do name metrics: a grep that found none proves nothing.
	((used >= 6))
}

run check test_check
run unit test_unit
run names test_names
((FAILURES == 0))
