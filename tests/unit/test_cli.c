// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* bouncerctl's grammar and output: command lines and the requests they
 * make, command lines refused and why, the help, and the tables printed
 * for sample results.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "bouncerctl/cli.h"

#define MAX_ARGS 24

/* Splits line at spaces into argv, after "bouncerctl". */
struct args {
	char buf[512];
	char *argv[MAX_ARGS + 1];
	int argc;
};

static void split(struct args *a, const char *line)
{
	char *save = NULL, *w;

	assert_true(strlen(line) < sizeof(a->buf));
	strcpy(a->buf, line);
	a->argc = 0;
	a->argv[a->argc++] = "bouncerctl";
	for (w = strtok_r(a->buf, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		assert_true(a->argc < MAX_ARGS);
		a->argv[a->argc++] = w;
	}
	a->argv[a->argc] = NULL;
}

/* A command line and the request it makes: {"cmd": ..., "args": ...}. */
static const struct {
	const char *line;
	const char *request;
} good[] = {
	{ "status", "{\"cmd\": \"status\", \"args\": {}}" },
	{ "vip list", "{\"cmd\": \"vip.list\", \"args\": {}}" },
	{ "vip", "{\"cmd\": \"vip.list\", \"args\": {}}" },
	{ "vip l", "{\"cmd\": \"vip.list\", \"args\": {}}" },
	{ "v li", "{\"cmd\": \"vip.list\", \"args\": {}}" },
	{ "vip show web", "{\"cmd\": \"vip.show\", \"args\": {\"name\": \"web\"}}" },
	{ "vip s web", "{\"cmd\": \"vip.show\", \"args\": {\"name\": \"web\"}}" },
	{ "vip add web 10.0.0.1:80/tcp",
	  "{\"cmd\": \"vip.add\", \"args\": {\"name\": \"web\", \"address\": \"10.0.0.1\","
	  " \"port\": 80, \"protocol\": \"tcp\"}}" },
	{ "vip add dns [fd00:0::53]:53/udp ipip ring 7 hash source",
	  "{\"cmd\": \"vip.add\", \"args\": {\"name\": \"dns\", \"address\": \"fd00::53\","
	  " \"port\": 53, \"protocol\": \"udp\", \"forwarding\": \"ipip\", \"ring_size\": 7,"
	  " \"hash\": \"source\"}}" },
	{ "vip add web 10.0.0.1:443/tcp hash 5tuple ring 655373 dsr",
	  "{\"cmd\": \"vip.add\", \"args\": {\"name\": \"web\", \"address\": \"10.0.0.1\","
	  " \"port\": 443, \"protocol\": \"tcp\", \"forwarding\": \"dsr\", \"ring_size\": 655373,"
	  " \"hash\": \"5tuple\"}}" },
	/* Required positions are positional: a VIP may be called "ring". */
	{ "vip add ring 10.0.0.1:80/tcp",
	  "{\"cmd\": \"vip.add\", \"args\": {\"name\": \"ring\", \"address\": \"10.0.0.1\","
	  " \"port\": 80, \"protocol\": \"tcp\"}}" },
	{ "vip del web", "{\"cmd\": \"vip.del\", \"args\": {\"name\": \"web\"}}" },
	{ "vip d web", "{\"cmd\": \"vip.del\", \"args\": {\"name\": \"web\"}}" },
	{ "backend list", "{\"cmd\": \"backend.list\", \"args\": {}}" },
	{ "backend", "{\"cmd\": \"backend.list\", \"args\": {}}" },
	{ "b l web", "{\"cmd\": \"backend.list\", \"args\": {\"vip\": \"web\"}}" },
	{ "backend add web 10.0.0.2:8080",
	  "{\"cmd\": \"backend.add\", \"args\": {\"vip\": \"web\", \"address\": \"10.0.0.2\","
	  " \"port\": 8080}}" },
	{ "backend add web 10.0.0.2:8080 state drain weight 0",
	  "{\"cmd\": \"backend.add\", \"args\": {\"vip\": \"web\", \"address\": \"10.0.0.2\","
	  " \"port\": 8080, \"weight\": 0, \"state\": \"drain\"}}" },
	{ "backend del web [::1]:80",
	  "{\"cmd\": \"backend.del\", \"args\": {\"vip\": \"web\", \"address\": \"::1\","
	  " \"port\": 80}}" },
	{ "backend set web 10.0.0.2:80 state maint",
	  "{\"cmd\": \"backend.set\", \"args\": {\"vip\": \"web\", \"address\": \"10.0.0.2\","
	  " \"port\": 80, \"state\": \"maint\"}}" },
	{ "backend set web 10.0.0.2:80 weight 65535 state ready",
	  "{\"cmd\": \"backend.set\", \"args\": {\"vip\": \"web\", \"address\": \"10.0.0.2\","
	  " \"port\": 80, \"weight\": 65535, \"state\": \"ready\"}}" },
	{ "stats", "{\"cmd\": \"stats\", \"args\": {}}" },
	{ "ring show web", "{\"cmd\": \"ring.show\", \"args\": {\"vip\": \"web\"}}" },
	{ "ri s web", "{\"cmd\": \"ring.show\", \"args\": {\"vip\": \"web\"}}" },
	{ "ring show web --digest", "{\"cmd\": \"ring.show\", \"args\": {\"vip\": \"web\"}}" },
	{ "--digest ring show web", "{\"cmd\": \"ring.show\", \"args\": {\"vip\": \"web\"}}" },
	{ "flow list", "{\"cmd\": \"flow.list\", \"args\": {}}" },
	{ "flow", "{\"cmd\": \"flow.list\", \"args\": {}}" },
	{ "flow list web limit 10",
	  "{\"cmd\": \"flow.list\", \"args\": {\"vip\": \"web\", \"limit\": 10}}" },
	{ "flow list limit 1 web",
	  "{\"cmd\": \"flow.list\", \"args\": {\"vip\": \"web\", \"limit\": 1}}" },
	{ "flow lookup udp 192.0.2.1:5000 10.0.0.1:53",
	  "{\"cmd\": \"flow.lookup\", \"args\": {\"protocol\": \"udp\", \"src\": \"192.0.2.1\","
	  " \"sport\": 5000, \"dst\": \"10.0.0.1\", \"dport\": 53}}" },
	{ "flow lo tcp [2001:db8::1]:40000 [fd00::1]:443",
	  "{\"cmd\": \"flow.lookup\", \"args\": {\"protocol\": \"tcp\", \"src\": \"2001:db8::1\","
	  " \"sport\": 40000, \"dst\": \"fd00::1\", \"dport\": 443}}" },
	{ "flow flush", "{\"cmd\": \"flow.flush\", \"args\": {}}" },
	{ "flow flush web 10.0.0.2:80",
	  "{\"cmd\": \"flow.flush\", \"args\": {\"vip\": \"web\", \"address\": \"10.0.0.2\","
	  " \"port\": 80}}" },
	{ "reload", "{\"cmd\": \"reload\", \"args\": {}}" },
	{ "rel", "{\"cmd\": \"reload\", \"args\": {}}" },
	{ "worker list", "{\"cmd\": \"worker.list\", \"args\": {}}" },
	{ "worker", "{\"cmd\": \"worker.list\", \"args\": {}}" },
	{ "w li app", "{\"cmd\": \"worker.list\", \"args\": {\"vip\": \"app\"}}" },
	{ "worker restart app 0",
	  "{\"cmd\": \"worker.restart\", \"args\": {\"vip\": \"app\", \"id\": 0}}" },
	{ "worker res app 255",
	  "{\"cmd\": \"worker.restart\", \"args\": {\"vip\": \"app\", \"id\": 255}}" },
	{ "worker scale app 256",
	  "{\"cmd\": \"worker.scale\", \"args\": {\"vip\": \"app\", \"count\": 256}}" },
	{ "worker s app 1",
	  "{\"cmd\": \"worker.scale\", \"args\": {\"vip\": \"app\", \"count\": 1}}" },
	{ "worker reload", "{\"cmd\": \"worker.reload\", \"args\": {}}" },
	{ "worker rel app", "{\"cmd\": \"worker.reload\", \"args\": {\"vip\": \"app\"}}" },
	/* The command's options stay in bouncerctl (test_command_options). */
	{ "worker reload --wait app",
	  "{\"cmd\": \"worker.reload\", \"args\": {\"vip\": \"app\"}}" },
	{ "--timeout 60 worker reload", "{\"cmd\": \"worker.reload\", \"args\": {}}" },
	/* After "--" a word is a word: a VIP may be called "--wait". */
	{ "worker reload -- --wait",
	  "{\"cmd\": \"worker.reload\", \"args\": {\"vip\": \"--wait\"}}" },
	{ "detach", "{\"cmd\": \"detach\", \"args\": {}}" },
	/* "--" ends the options: a name may start with a dash. */
	{ "vip show -- -odd", "{\"cmd\": \"vip.show\", \"args\": {\"name\": \"-odd\"}}" },
};

static void test_good(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct cli_request req;
		json_t *want, *got;
		char err[256];
		struct args a;

		split(&a, good[i].line);
		if (cli_parse(a.argc, a.argv, &req, err, sizeof(err)))
			fail_msg("'%s': %s", good[i].line, err);
		assert_false(req.help);
		assert_int_equal(req.output, CLI_OUTPUT_TABLE);
		assert_string_equal(req.socket, CLI_DEFAULT_SOCKET);
		assert_true(req.timeout_ms >= CLI_TIMEOUT_MS);
		want = json_loads(good[i].request, 0, NULL);
		assert_non_null(want);
		got = json_pack("{s:s, s:O}", "cmd", req.cmd, "args", req.args);
		assert_non_null(got);
		if (!json_equal(want, got))
			fail_msg("'%s': got %s", good[i].line, json_dumps(got, JSON_COMPACT));
		json_decref(want);
		json_decref(got);
		cli_request_release(&req);
	}
}

/* Options, before the object or anywhere after it. */
static void test_options(void **state)
{
	static const struct {
		const char *line;
		enum cli_output output;
		const char *socket;
	} cases[] = {
		{ "-j vip list", CLI_OUTPUT_JSON, CLI_DEFAULT_SOCKET },
		{ "--json vip list", CLI_OUTPUT_JSON, CLI_DEFAULT_SOCKET },
		{ "vip list -j", CLI_OUTPUT_JSON, CLI_DEFAULT_SOCKET },
		{ "-p vip list", CLI_OUTPUT_PRETTY, CLI_DEFAULT_SOCKET },
		{ "-j -p vip list", CLI_OUTPUT_PRETTY, CLI_DEFAULT_SOCKET },
		{ "--pretty status", CLI_OUTPUT_PRETTY, CLI_DEFAULT_SOCKET },
		{ "-s /tmp/a.sock status", CLI_OUTPUT_TABLE, "/tmp/a.sock" },
		{ "-s/tmp/b.sock status", CLI_OUTPUT_TABLE, "/tmp/b.sock" },
		{ "--socket /tmp/c.sock status", CLI_OUTPUT_TABLE, "/tmp/c.sock" },
		{ "--socket=/tmp/d.sock -j status", CLI_OUTPUT_JSON, "/tmp/d.sock" },
		{ "status -s /tmp/e.sock", CLI_OUTPUT_TABLE, "/tmp/e.sock" },
		{ "top -d 0.5 -n 3", CLI_OUTPUT_TABLE, CLI_DEFAULT_SOCKET },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cli_request req;
		char err[256];
		struct args a;

		split(&a, cases[i].line);
		if (cli_parse(a.argc, a.argv, &req, err, sizeof(err)))
			fail_msg("'%s': %s", cases[i].line, err);
		assert_int_equal(req.output, cases[i].output);
		assert_string_equal(req.socket, cases[i].socket);
		cli_request_release(&req);
	}
}

/* top runs in bouncerctl, with -d and -n, anywhere on the line. */
static void test_top_options(void **state)
{
	static const struct {
		const char *line;
		double interval;
		long count;
	} cases[] = {
		{ "top", 0, 0 },
		{ "t", 0, 0 },
		{ "top -d 2", 2, 0 },
		{ "-d .5 top", 0.5, 0 },
		{ "top --interval=0.1 --count 7", 0.1, 7 },
		{ "-n1 top -s /tmp/x.sock", 0, 1 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cli_request req;
		char err[256];
		struct args a;

		split(&a, cases[i].line);
		if (cli_parse(a.argc, a.argv, &req, err, sizeof(err)))
			fail_msg("'%s': %s", cases[i].line, err);
		assert_non_null(req.run);
		assert_false(req.help);
		assert_true(req.interval_s == cases[i].interval);
		assert_int_equal(req.count, cases[i].count);
		cli_request_release(&req);
	}
}

/* A command line that is refused, and what the message must say. */
static const struct {
	const char *line;
	const char *error;
} bad[] = {
	{ "", "missing OBJECT" },
	{ "foo", "unknown object 'foo' (objects: status, vip, backend, stats, top, ring, flow" },
	{ "s", "'s' is ambiguous: status, stats" },
	{ "r", "'r' is ambiguous: ring, reload" },
	{ "det", "'det': write detach in full" },
	{ "status now", "status: unexpected argument 'now'" },
	{ "vip foo", "vip: unknown command 'foo' (commands: list, show, add, del)" },
	{ "vip show", "vip show: missing NAME" },
	{ "vip show a b", "vip show: unexpected argument 'b'" },
	{ "vip list web", "vip list: unexpected argument 'web'" },
	{ "vip add web", "vip add: missing ADDR:PORT/PROTO" },
	{ "vip add web 10.0.0.1:80", "vip add: expected ADDR:PORT/PROTO, got '10.0.0.1:80'" },
	{ "vip add web 10.0.0.1:80/sctp", "vip add: protocol needs one of tcp, udp, got 'sctp'" },
	{ "vip add web 10.0.0.1:99999/tcp",
	  "vip add: '10.0.0.1:99999/tcp': port needs a number 1-65535, got '99999'" },
	{ "vip add web 10.0.0.1:/tcp", "port needs a number 1-65535, got ''" },
	{ "vip add web 10.0.0.1:0x50/tcp", "port needs a number 1-65535, got '0x50'" },
	{ "vip add web fd00::1:80/tcp",
	  "vip add: 'fd00::1:80/tcp': an IPv6 address goes in brackets: [fd00::1]:80" },
	{ "vip add web 10.0.0.300:80/tcp", "'10.0.0.300' is not an IPv4 or IPv6 address" },
	{ "vip add web example.com:80/tcp", "'example.com' is not an IPv4 or IPv6 address" },
	{ "vip add web 10.0.0.1:80/tcp ring 100",
	  "vip add: ring needs a prime number 2-655373, got '100'" },
	{ "vip add web 10.0.0.1:80/tcp ring 655379", "ring needs a prime number 2-655373" },
	{ "vip add web 10.0.0.1:80/tcp ring", "vip add: ring needs a prime number 2-655373" },
	{ "vip add web 10.0.0.1:80/tcp ring 7 ring 11", "vip add: ring given twice" },
	{ "vip add web 10.0.0.1:80/tcp hash md5",
	  "vip add: hash needs one of 5tuple, source, got 'md5'" },
	{ "vip add web 10.0.0.1:80/tcp dsr ipip", "vip add: forwarding given twice" },
	{ "vip add web 10.0.0.1:80/tcp fast",
	  "vip add: unknown argument 'fast' (expected forwarding, ring, hash)" },
	{ "backend add web", "backend add: missing ADDR:PORT" },
	{ "backend add web 10.0.0.2", "backend add: expected ADDR:PORT, got '10.0.0.2'" },
	{ "backend add web [10.0.0.2:80", "backend add: expected ADDR:PORT, got '[10.0.0.2:80'" },
	{ "backend add web 10.0.0.2:80 weight 1 weight 2", "backend add: weight given twice" },
	{ "backend add web 10.0.0.2:80 heavy",
	  "backend add: unknown argument 'heavy' (expected weight, state)" },
	{ "backend set web 10.0.0.2:80 weight x",
	  "backend set: weight needs a number 0-65535, got 'x'" },
	{ "backend set web 10.0.0.2:80 weight 65536",
	  "backend set: weight needs a number 0-65535, got '65536'" },
	{ "backend set web 10.0.0.2:80 weight -1",
	  "backend set: weight needs a number 0-65535, got '-1'" },
	{ "backend set web 10.0.0.2:80 weight 1.5", "got '1.5'" },
	{ "backend set web 10.0.0.2:80 weight", "backend set: weight needs a number 0-65535" },
	{ "backend set web 10.0.0.2:80",
	  "backend set: nothing to change: give state and/or weight" },
	{ "backend set web 10.0.0.2:80 state up",
	  "backend set: state needs one of ready, drain, maint, got 'up'" },
	{ "backend set web 10.0.0.2:80 state drain state ready", "backend set: state given twice" },
	{ "backend del web 10.0.0.2:80 now", "backend del: unexpected argument 'now'" },
	{ "ring", "ring: missing command" },
	{ "ring show", "ring show: missing VIP" },
	{ "ring show --digest", "ring show: missing VIP" },
	{ "ring show web --digest=yes", "ring show: --digest takes no value" },
	{ "ring show web --digest --digest", "ring show: --digest given twice" },
	{ "-j ring show web --digest", "ring show: -j and -p do not go with --digest" },
	{ "ring show web --digest -p", "ring show: -j and -p do not go with --digest" },
	{ "vip show web --digest", "vip show: unknown option '--digest'" },
	{ "flow list limit 0", "flow list: limit needs a number 1-1048576, got '0'" },
	{ "flow list web other", "flow list: unknown argument 'other' (expected limit)" },
	{ "flow lookup icmp 192.0.2.1:1 10.0.0.1:80",
	  "flow lookup: protocol needs one of tcp, udp, got 'icmp'" },
	{ "flow lookup tcp 192.0.2.1:1", "flow lookup: missing DST:DPORT" },
	{ "flow lookup tcp 192.0.2.1 10.0.0.1:80",
	  "flow lookup: expected SRC:SPORT, got '192.0.2.1'" },
	{ "flow flush web", "flow flush: VIP needs ADDR:PORT after it" },
	{ "flow f", "flow: 'f': write flush in full" },
	{ "flow l", "flow: 'l' is ambiguous: list, lookup" },
	{ "-x status", "unknown option '-x'" },
	{ "--jsonn status", "unknown option '--jsonn'" },
	{ "status -s", "option '-s' needs SOCKET" },
	{ "--socket= status", "option '--socket=' needs SOCKET" },
	{ "help foo", "unknown object 'foo'" },
	{ "help vip foo", "vip: unknown command 'foo'" },
	{ "help vip list more", "unexpected argument 'more' after help" },
	{ "help status list", "status has no commands" },
	{ "worker foo",
	  "worker: unknown command 'foo' (commands: list, restart, scale, reload, logs)" },
	{ "worker r app", "worker: 'r' is ambiguous: restart, reload" },
	{ "worker list app more", "worker list: unexpected argument 'more'" },
	{ "worker restart", "worker restart: missing VIP" },
	{ "worker restart app", "worker restart: ID needs a number 0-255" },
	{ "worker restart app 256", "worker restart: ID needs a number 0-255, got '256'" },
	{ "worker restart app -1", "worker restart: ID needs a number 0-255, got '-1'" },
	{ "worker restart app one", "worker restart: ID needs a number 0-255, got 'one'" },
	{ "worker restart app 1 2", "worker restart: unexpected argument '2'" },
	{ "worker scale app", "worker scale: COUNT needs a number 1-256" },
	{ "worker scale app 0", "worker scale: COUNT needs a number 1-256, got '0'" },
	{ "worker scale app 257", "worker scale: COUNT needs a number 1-256, got '257'" },
	{ "worker reload app other", "worker reload: unexpected argument 'other'" },
	{ "worker reload --wait --wait", "worker reload: --wait given twice" },
	{ "worker reload --wait=yes", "worker reload: --wait takes no value" },
	{ "worker reload --timeout", "worker reload: --timeout needs a number 1-86400" },
	{ "worker reload --timeout 0", "worker reload: --timeout needs a number 1-86400, got '0'" },
	{ "worker reload --timeout=", "worker reload: --timeout needs a number 1-86400, got ''" },
	{ "worker reload --timeout app",
	  "worker reload: --timeout needs a number 1-86400, got 'app'" },
	{ "worker reload --timeout 1 --timeout 2", "worker reload: --timeout given twice" },
	{ "vip list --wait", "vip list: unknown option '--wait'" },
	{ "worker reload --wai", "unknown option '--wai'" },
	{ "-d 0 top", "option '-d' needs a number of seconds 0.1-3600, got '0'" },
	{ "top -d x", "option '-d' needs a number of seconds 0.1-3600, got 'x'" },
	{ "top -d -1", "option '-d' needs a number of seconds" },
	{ "top --interval=1s", "option '--interval=1s' needs a number of seconds" },
	{ "top -n 0", "option '-n' needs a number 1 or more, got '0'" },
	{ "top -n", "option '-n' needs COUNT" },
	{ "top now", "top: unexpected argument 'now'" },
	{ "stats -n 3",
	  "stats: -d goes with top only, -n with top and worker logs, -f with worker logs" },
	{ "-d 2 vip list",
	  "vip list: -d goes with top only, -n with top and worker logs, -f with worker logs" },
	{ "-d 2 worker logs web",
	  "worker logs: -d goes with top only, -n with top and worker logs, -f with worker logs" },
	{ "-f top",
	  "top: -d goes with top only, -n with top and worker logs, -f with worker logs" },
	{ "-j worker logs web", "worker logs: -j and -p do not go with worker logs" },
	{ "--completion zsh", "option '--completion' knows bash only, not 'zsh'" },
	{ "-c", "option '-c' needs FILE" },
	{ "-j top", "top: -j and -p do not go with top" },
};

static void test_bad(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct cli_request req;
		char err[256];
		struct args a;

		split(&a, bad[i].line);
		if (cli_parse(a.argc, a.argv, &req, err, sizeof(err)) != -EINVAL)
			fail_msg("'%s' was accepted", bad[i].line);
		if (!strstr(err, bad[i].error))
			fail_msg("'%s': error '%s' lacks '%s'", bad[i].line, err, bad[i].error);
		assert_null(req.args);
		cli_request_release(&req);
	}
}

/* Options of one command: anywhere before "--", and for bouncerctl. */
static void test_command_options(void **state)
{
	static const struct {
		const char *line;
		bool wait;
		unsigned int wait_s;
	} cases[] = {
		{ "worker reload", false, CLI_WAIT_S },
		{ "worker reload app --wait", true, CLI_WAIT_S },
		{ "--wait worker reload", true, CLI_WAIT_S },
		{ "worker reload --timeout 30 app", true, 30 },
		{ "worker reload --timeout=86400 --wait", true, 86400 },
		{ "-j worker reload --wait --timeout 1 -s /tmp/a.sock", true, 1 },
		{ "worker list", false, CLI_WAIT_S },
		{ "worker restart app 1 --wait", true, CLI_WAIT_S },
		{ "worker scale app 3 --timeout 20", true, 20 },
		{ "--wait worker scale app 3", true, CLI_WAIT_S },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cli_request req;
		char err[256];
		struct args a;

		split(&a, cases[i].line);
		if (cli_parse(a.argc, a.argv, &req, err, sizeof(err)))
			fail_msg("'%s': %s", cases[i].line, err);
		if (req.wait != cases[i].wait || req.wait_s != cases[i].wait_s)
			fail_msg("'%s': wait %d for %u s", cases[i].line, req.wait, req.wait_s);
		assert_null(json_object_get(req.args, "wait"));
		assert_null(json_object_get(req.args, "timeout"));
		cli_request_release(&req);
	}
}

/* worker logs runs in bouncerctl: VIP, an optional ID, -n and -f. */
static void test_logs_options(void **state)
{
	static const struct {
		const char *line;
		const char *args;
		long count;
		bool follow;
	} cases[] = {
		{ "worker logs app", "{\"vip\": \"app\"}", 0, false },
		{ "worker logs app 2 -f -n 50", "{\"vip\": \"app\", \"id\": 2}", 50, true },
		{ "-f worker lo app", "{\"vip\": \"app\"}", 0, true },
		{ "worker logs --follow app --count=3 0", "{\"vip\": \"app\", \"id\": 0}", 3,
		  true },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cli_request req;
		json_t *want;
		char err[256];
		struct args a;

		split(&a, cases[i].line);
		if (cli_parse(a.argc, a.argv, &req, err, sizeof(err)))
			fail_msg("'%s': %s", cases[i].line, err);
		assert_ptr_equal(req.run, cli_worker_logs_run);
		assert_string_equal(req.cmd, "worker.logs");
		want = json_loads(cases[i].args, 0, NULL);
		assert_non_null(want);
		if (!json_equal(want, req.args))
			fail_msg("'%s': got %s", cases[i].line, json_dumps(req.args, JSON_COMPACT));
		json_decref(want);
		assert_int_equal(req.count, cases[i].count);
		assert_int_equal(req.follow, cases[i].follow);
		cli_request_release(&req);
	}
}

static void test_render_log_line(void **state)
{
	json_t *line;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	setenv("TZ", "UTC", 1);
	tzset();
	f = open_memstream(&text, &len);
	assert_non_null(f);
	line = json_pack("{s:I, s:I, s:i, s:i, s:s, s:s}", "seq", (json_int_t)7, "time_ms",
			 (json_int_t)1700000000123, "id", 2, "pid", 4242, "stream", "stderr",
			 "text", "boom");
	cli_render_log_line(f, "web", line);
	json_decref(line);
	line = json_pack("{s:I, s:i, s:s, s:s}", "time_ms", (json_int_t)1700000001000, "id", 0,
			 "stream", "output", "text", "both");
	cli_render_log_line(f, "web", line);
	json_decref(line);
	assert_int_equal(fclose(f), 0);
	assert_string_equal(text, "2023-11-14 22:13:20 web/2 stderr: boom\n"
				  "2023-11-14 22:13:21 web/0: both\n");
	free(text);
}

/* A config file for cli_resolve_socket(), in a file of its own. */
static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static int resolve(const char *line, char *err, size_t errlen, char *socket, size_t len)
{
	struct cli_request req;
	struct args a;
	int ret;

	split(&a, line);
	assert_int_equal(cli_parse(a.argc, a.argv, &req, err, errlen), 0);
	ret = cli_resolve_socket(&req, err, errlen);
	if (!ret)
		snprintf(socket, len, "%s", req.socket);
	cli_request_release(&req);
	return ret;
}

/* The socket: -s, else the control_socket of -c's file (the agent's
 * default when it has none); errors name the file and the line.
 */
static void test_socket_from_config(void **state)
{
	char dir[] = "/tmp/bnc-cli-XXXXXX", path[128], line[256], err[256], sock[256];

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/a.conf", dir);
	write_file(path, "interfaces = [ \"eth0\" ];\ncontrol_socket = \"/tmp/x.sock\";\n");
	snprintf(line, sizeof(line), "-c %s status", path);
	assert_int_equal(resolve(line, err, sizeof(err), sock, sizeof(sock)), 0);
	assert_string_equal(sock, "/tmp/x.sock");
	snprintf(line, sizeof(line), "--config=%s -s /tmp/y.sock status", path);
	assert_int_equal(resolve(line, err, sizeof(err), sock, sizeof(sock)), 0);
	assert_string_equal(sock, "/tmp/y.sock");

	write_file(path, "interfaces = [ \"eth0\" ];\n");
	snprintf(line, sizeof(line), "status -c %s", path);
	assert_int_equal(resolve(line, err, sizeof(err), sock, sizeof(sock)), 0);
	assert_string_equal(sock, CLI_DEFAULT_SOCKET);

	write_file(path, "interfaces = [ \"eth0\" ];\ncontrol_socket = 5;\n");
	assert_int_equal(resolve(line, err, sizeof(err), sock, sizeof(sock)), -EINVAL);
	assert_non_null(strstr(err, "control_socket is not a string"));

	write_file(path, "interfaces = [ \"eth0\" ];\nvips = (\n");
	assert_int_equal(resolve(line, err, sizeof(err), sock, sizeof(sock)), -EINVAL);
	snprintf(line, sizeof(line), "%s:3: ", path);
	if (!strstr(err, line))
		fail_msg("'%s' lacks '%s'", err, line);
	assert_non_null(strstr(err, "-s SOCKET"));

	unlink(path);
	snprintf(line, sizeof(line), "status -c %s", path);
	assert_int_equal(resolve(line, err, sizeof(err), sock, sizeof(sock)), -ENOENT);
	assert_non_null(strstr(err, "cannot read"));
	assert_int_equal(rmdir(dir), 0);
}

/* --completion bash asks for the script, made from the grammar. */
static void test_completion(void **state)
{
	struct cli_request req;
	char *text = NULL, err[256];
	size_t len = 0;
	struct args a;
	FILE *f;

	(void)state;
	split(&a, "--completion bash");
	assert_int_equal(cli_parse(a.argc, a.argv, &req, err, sizeof(err)), 0);
	assert_string_equal(req.completion, "bash");
	cli_request_release(&req);
	f = open_memstream(&text, &len);
	assert_non_null(f);
	cli_completion_bash(f);
	assert_int_equal(fclose(f), 0);
	assert_non_null(strstr(text, "worker) cmds=\"list restart scale reload logs help\""));
	assert_non_null(strstr(text, "\"backend set state\") echo \"ready drain maint\""));
	assert_non_null(strstr(text, "\"worker restart\") kw=\"\" flags=\"\" bare=\"\" "
				     "opts=\"--wait --timeout\""));
	assert_non_null(strstr(text, "complete -F _bouncerctl bouncerctl\n"));
	free(text);
}

/* A short buffer truncates the message, never overruns. */
static void test_short_error_buffer(void **state)
{
	struct cli_request req;
	char err[8];
	struct args a;

	(void)state;
	memset(err, 'x', sizeof(err));
	split(&a, "backend set web 10.0.0.2:80 weight x");
	assert_int_equal(cli_parse(a.argc, a.argv, &req, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "backend");
	assert_int_equal(cli_parse(a.argc, a.argv, &req, NULL, 0), -EINVAL);
}

/* The help text for a command line, which must be a help request. */
static char *help_text(const char *line, struct cli_request *req)
{
	char *text = NULL, err[256];
	size_t len = 0;
	struct args a;
	FILE *f;

	split(&a, line);
	if (cli_parse(a.argc, a.argv, req, err, sizeof(err)))
		fail_msg("'%s': %s", line, err);
	assert_true(req->help);
	assert_null(req->args);
	f = open_memstream(&text, &len);
	assert_non_null(f);
	cli_help(f, req);
	fclose(f);
	return text;
}

static void assert_contains(const char *text, const char *what)
{
	if (!strstr(text, what))
		fail_msg("help lacks '%s':\n%s", what, text);
}

/* The synopsis of every command of the grammar. */
static const char *const synopses[] = {
	"status",
	"vip list",
	"vip show NAME",
	"vip add NAME ADDR:PORT/PROTO [dsr|ipip] [ring N] [hash 5tuple|source]",
	"vip del NAME",
	"backend list [VIP]",
	"backend add VIP ADDR:PORT [weight N] [state ready|drain|maint]",
	"backend del VIP ADDR:PORT",
	"backend set VIP ADDR:PORT { state ready|drain|maint | weight N }...",
	"stats",
	"ring show VIP [--digest]",
	"flow list [VIP] [limit N]",
	"flow lookup tcp|udp SRC:SPORT DST:DPORT",
	"flow flush [VIP ADDR:PORT]",
	"worker list [VIP]",
	"worker restart VIP ID",
	"worker scale VIP COUNT",
	"worker reload [VIP] [--wait] [--timeout SECONDS]",
	"top",
	"reload",
	"detach",
	"help",
};

static void test_help(void **state)
{
	struct cli_request req;
	char *text;

	(void)state;
	text = help_text("help", &req);
	assert_null(req.object);
	for (size_t i = 0; i < sizeof(synopses) / sizeof(synopses[0]); i++)
		assert_contains(text, synopses[i]);
	assert_contains(text, "-j, --json");
	assert_contains(text, "-p, --pretty");
	assert_contains(text, "-s, --socket SOCKET");
	assert_contains(text, "\n  -d, --interval SECONDS\n                        top: seconds");
	assert_contains(text, "-n, --count COUNT");
	assert_contains(text, CLI_DEFAULT_SOCKET);
	free(text);

	/* The same from -h, wherever it is. */
	text = help_text("-h", &req);
	assert_contains(text, synopses[3]);
	free(text);
	text = help_text("vip list --help", &req);
	assert_contains(text, "Usage: bouncerctl [OPTIONS] vip list\n");
	free(text);

	/* An object's help has each of its commands with its help. */
	text = help_text("backend help", &req);
	for (size_t i = 5; i < 9; i++)
		assert_contains(text, synopses[i]);
	assert_contains(text, "Add a backend to a VIP.");
	assert_null(strstr(text, "vip add"));
	free(text);

	/* A command's help explains each argument. */
	text = help_text("backend set help", &req);
	assert_contains(text, synopses[8]);
	assert_contains(text, "drain: existing flows only");
	assert_contains(text, "0-65535");
	free(text);
	text = help_text("help vip add", &req);
	assert_contains(text, synopses[3]);
	assert_contains(text, "ipip encapsulates");
	free(text);
	text = help_text("b a help", &req);
	assert_contains(text, synopses[6]);
	free(text);
	text = help_text("status help", &req);
	assert_contains(text, "Usage: bouncerctl [OPTIONS] status");
	free(text);
	text = help_text("worker help", &req);
	for (size_t i = 14; i < 18; i++)
		assert_contains(text, synopses[i]);
	assert_contains(text, "'bouncerctl worker' alone runs 'bouncerctl worker list'");
	free(text);
	text = help_text("worker reload --wait -h", &req);
	assert_contains(text, synopses[17]);
	assert_contains(text, "  --wait                wait until the reload ends");
	assert_contains(text, "  --timeout SECONDS     wait at most SECONDS (default 600)");
	free(text);
	text = help_text("top help", &req);
	assert_contains(text, "Usage: bouncerctl [OPTIONS] top");
	assert_contains(text, "q quits");
	free(text);
}

/* An error names the help of where parsing stopped. */
static void test_help_command(void **state)
{
	static const struct {
		const char *line;
		const char *help;
	} cases[] = {
		{ "foo", "bouncerctl help" },
		{ "vip foo", "bouncerctl vip help" },
		{ "backend set web 10.0.0.2:80", "bouncerctl backend set help" },
		{ "stats now", "bouncerctl stats help" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cli_request req;
		char err[256], buf[64];
		struct args a;

		split(&a, cases[i].line);
		assert_int_equal(cli_parse(a.argc, a.argv, &req, err, sizeof(err)), -EINVAL);
		assert_string_equal(cli_help_command(&req, buf, sizeof(buf)), cases[i].help);
	}
}

static void test_rates(void **state)
{
	static const struct {
		double v;
		const char *text;
	} cases[] = {
		{ 0, "0" },	     { 999, "999" },	 { 999.4, "999" },    { 999.6, "1.00k" },
		{ 1234, "1.23k" },   { 12345, "12.3k" }, { 123456, "123k" },  { 999999, "1.00M" },
		{ 9.87e6, "9.87M" }, { 1e9, "1.00G" },	 { 4.2e12, "4.20T" }, { -1, "-" },
	};
	char buf[32];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_string_equal(cli_format_rate(cases[i].v, buf, sizeof(buf)), cases[i].text);
}

static void test_uptimes(void **state)
{
	static const struct {
		double s;
		const char *text;
	} cases[] = {
		{ 0, "0s" },	    { 5, "5s" },	 { 59.9, "59s" },
		{ 60, "1m00s" },    { 192, "3m12s" },	 { 3599, "59m59s" },
		{ 3600, "1h00m" },  { 7380, "2h03m" },	 { 86399, "23h59m" },
		{ 86400, "1d00h" }, { 352800, "4d02h" }, { 8640000, "100d00h" },
		{ -1, "-" },
	};
	char buf[32];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_string_equal(cli_format_duration(cases[i].s, true, buf, sizeof(buf)),
				    cases[i].text);
}

/* Bars round to the nearest character, but never hide a share above 0
 * or fill up for one below 1.
 */
static void test_bars(void **state)
{
	static const struct {
		double share;
		int width;
		const char *bar;
	} cases[] = {
		{ 0, 10, ".........." },
		{ 1, 10, "##########" },
		{ 0.5, 10, "#####....." },
		{ 0.44, 10, "####......" },
		{ 0.45, 10, "#####....." }, /* half up */
		{ 0.001, 10, "#........." }, /* above 0: one at least */
		{ 0.999, 10, "#########." }, /* below 1: never full */
		{ 1.0 / 3, 20, "#######............." },
		{ 0.5, 1, "." }, /* one character: only 1 fills it */
		{ 0.5, 0, "" },
		{ -0.1, 4, "    " }, /* out of range: blank */
		{ 1.5, 4, "    " },
		{ NAN, 4, "    " },
	};
	char buf[32], small[4];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (strcmp(cli_format_bar(cases[i].share, cases[i].width, buf, sizeof(buf)),
			   cases[i].bar))
			fail_msg("share %g width %d: '%s', not '%s'", cases[i].share,
				 cases[i].width, buf, cases[i].bar);
	/* A short buffer cuts the bar and still ends the string. */
	assert_string_equal(cli_format_bar(1, 10, small, sizeof(small)), "###");
}

/* What cli_render prints for cmd and the result in JSON text. */
static char *render(const char *cmd, const char *result)
{
	json_t *r = json_loads(result, 0, NULL);
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	assert_non_null(r);
	f = open_memstream(&text, &len);
	assert_non_null(f);
	assert_int_equal(cli_render(f, cmd, r), 0);
	fclose(f);
	json_decref(r);
	return text;
}

static void assert_render(const char *cmd, const char *result, const char *want)
{
	char *text = render(cmd, result);

	if (strcmp(text, want))
		fail_msg("%s printed\n%s\ninstead of\n%s", cmd, text, want);
	free(text);
}

static void test_render_vip_list(void **state)
{
	(void)state;
	assert_render(
		"vip.list",
		"{\"vips\": ["
		"{\"name\": \"web\", \"address\": \"10.0.0.1\", \"port\": 80,"
		" \"protocol\": \"tcp\", \"forwarding\": \"dsr\", \"ring_size\": 65537,"
		" \"hash\": \"5tuple\", \"fail_open\": true, \"backends_total\": 3,"
		" \"backends_up\": 2, \"failing_open\": false, \"packets\": 123456,"
		" \"bytes\": 98765432, \"run_time\": [\"added\"]},"
		"{\"name\": \"dns6\", \"address\": \"fd00::53\", \"port\": 53,"
		" \"protocol\": \"udp\", \"forwarding\": \"ipip\", \"ring_size\": 7,"
		" \"hash\": \"source\", \"fail_open\": true, \"backends_total\": 2,"
		" \"backends_up\": 0, \"failing_open\": true, \"packets\": 0, \"bytes\": 0}]}",
		"NAME  ADDRESS            FWD   HASH     RING  PACKETS     BYTES  UP"
		"                RUN-TIME\n"
		"web   10.0.0.1:80/tcp    dsr   5tuple  65537   123456  98765432  2/3"
		"               added\n"
		"dns6  [fd00::53]:53/udp  ipip  source      7        0         0  0/2 failing open"
		"  -\n");
}

static void test_render_stats(void **state)
{
	(void)state;
	assert_render(
		"stats",
		"{\"global\": {\"pass_not_ip\": 12, \"fwd_dsr\": 123456789},"
		" \"vips\": [{\"name\": \"web\", \"packets\": 1000, \"bytes\": 64000,"
		" \"pps\": 1234.5, \"bps\": 9876543.2, \"slots_changed\": 341}],"
		" \"backends\": ["
		"{\"vip\": \"web\", \"address\": \"10.0.0.2\", \"port\": 8080, \"packets\": 600,"
		" \"bytes\": 40000, \"pps\": 999.4, \"bps\": 0},"
		"{\"vip\": \"web\", \"address\": \"fd00::2\", \"port\": 80, \"packets\": 400,"
		" \"bytes\": 24000, \"pps\": 999.6, \"bps\": 1e10}]}",
		"COUNTER          VALUE\n"
		"pass_not_ip         12\n"
		"fwd_dsr      123456789\n"
		"\n"
		"VIP  PACKETS  BYTES  PKT/S  BIT/S  CHANGED SLOTS\n"
		"web     1000  64000  1.23k  9.88M            341\n"
		"\n"
		"VIP  BACKEND        PACKETS  BYTES  PKT/S  BIT/S\n"
		"web  10.0.0.2:8080      600  40000    999      0\n"
		"web  [fd00::2]:80       400  24000  1.00k  10.0G\n");
}

static void test_render_flows(void **state)
{
	(void)state;
	assert_render("flow.list",
		      "{\"flows\": ["
		      "{\"protocol\": \"tcp\", \"src\": \"192.0.2.1\", \"sport\": 40000,"
		      " \"dst\": \"10.0.0.1\", \"dport\": 80,"
		      " \"backend\": {\"address\": \"10.0.0.2\", \"port\": 80}, \"idle_s\": 3},"
		      "{\"protocol\": \"udp\", \"src\": \"2001:db8::1\", \"sport\": 5353,"
		      " \"dst\": \"fd00::53\", \"dport\": 53,"
		      " \"backend\": {\"address\": \"fd00::2\", \"port\": 53}, \"idle_s\": 125.5}],"
		      " \"total\": 1234}",
		      "PROTO  SOURCE              DESTINATION    BACKEND       IDLE\n"
		      "tcp    192.0.2.1:40000     10.0.0.1:80    10.0.0.2:80   3s\n"
		      "udp    [2001:db8::1]:5353  [fd00::53]:53  [fd00::2]:53  2m5s\n"
		      "2 of 1234 flows\n");
	assert_render("flow.flush", "{\"flushed\": 1}", "flushed 1 flow\n");
	assert_render("flow.flush", "{\"flushed\": 20}", "flushed 20 flows\n");
}

static void test_render_ring(void **state)
{
	(void)state;
	assert_render("ring.show",
		      "{\"vip\": \"web\", \"ring_size\": 7, \"moved\": 2, \"rebuilt_s\": 65,"
		      " \"hash_seed\": 3735928559, \"digest\": \"0123456789abcdef\","
		      " \"backends\": ["
		      "{\"address\": \"10.0.0.2\", \"port\": 80, \"slots\": 4, \"share\": 0.57},"
		      "{\"address\": \"10.0.0.3\", \"port\": 80, \"slots\": 3, \"share\": 0.43}]}",
		      "vip web: 7 slots, hash_seed 0xdeadbeef, digest 0123456789abcdef\n"
		      "2 (28.57%) slots moved in the last rebuild, 1m5s ago\n"
		      "\n"
		      "BACKEND      SLOTS   SHARE\n"
		      "10.0.0.2:80      4  57.14%  ###########.........\n"
		      "10.0.0.3:80      3  42.86%  #########...........\n");
	/* A backend with no slot (weight 0) has an empty bar; -j is the
	 * agent's reply as it is, bars are the table's only. A seed below
	 * 2^28 keeps its 8 digits; an agent that sends no digest gets "-".
	 */
	assert_render("ring.show",
		      "{\"vip\": \"web\", \"ring_size\": 7, \"moved\": 7, \"rebuilt_s\": 2,"
		      " \"hash_seed\": 0, \"backends\": ["
		      "{\"address\": \"10.0.0.2\", \"port\": 80, \"slots\": 7, \"share\": 1},"
		      "{\"address\": \"10.0.0.3\", \"port\": 80, \"slots\": 0, \"share\": 0}]}",
		      "vip web: 7 slots, hash_seed 0x00000000, digest -\n"
		      "7 (100.00%) slots moved in the last rebuild, 2s ago\n"
		      "\n"
		      "BACKEND      SLOTS    SHARE\n"
		      "10.0.0.2:80      7  100.00%  ####################\n"
		      "10.0.0.3:80      0    0.00%  ....................\n");
}

/* The text a command line prints for result, as bouncerctl prints it. */
static char *render_line(const char *line, const char *result)
{
	json_t *r = json_loads(result, 0, NULL);
	struct cli_request req;
	char *text = NULL, err[256];
	size_t len = 0;
	struct args a;
	FILE *f;

	assert_non_null(r);
	split(&a, line);
	if (cli_parse(a.argc, a.argv, &req, err, sizeof(err)))
		fail_msg("'%s': %s", line, err);
	f = open_memstream(&text, &len);
	assert_non_null(f);
	assert_int_equal(cli_render_request(f, &req, r), 0);
	fclose(f);
	json_decref(r);
	cli_request_release(&req);
	return text;
}

/* ring show --digest prints the first line of ring show alone: what a
 * script compares between hosts.
 */
static void test_render_ring_digest(void **state)
{
	static const char result[] =
		"{\"vip\": \"web\", \"ring_size\": 7, \"moved\": 2, \"rebuilt_s\": 65,"
		" \"hash_seed\": 1802466670, \"digest\": \"f247dae94c0d23c7\","
		" \"backends\": [{\"address\": \"10.0.0.2\", \"port\": 80, \"slots\": 7}]}";
	char *whole = render("ring.show", result);
	char *text;

	(void)state;
	text = render_line("ring show web --digest", result);
	assert_string_equal(text,
			    "vip web: 7 slots, hash_seed 0x6b6f756e, digest f247dae94c0d23c7\n");
	assert_memory_equal(whole, text, strlen(text));
	free(text);
	text = render_line("ring show web", result);
	assert_string_equal(text, whole);
	assert_true(strlen(whole) > strlen("vip web: 7 slots, hash_seed 0x6b6f756e, digest "
					   "f247dae94c0d23c7\n"));
	free(text);
	free(whole);
}

static void test_render_workers(void **state)
{
	(void)state;
	assert_render(
		"worker.list",
		"{\"vips\": ["
		"{\"vip\": \"app\", \"count\": 3, \"command\": \"node server.js\","
		" \"reloading\": true, \"last_reload\": null, \"workers\": ["
		"{\"id\": 0, \"pid\": 4242, \"port\": 9000, \"state\": \"ready\","
		" \"uptime_s\": 7380, \"restarts\": 0, \"backend_id\": 7, \"share\": 0.6667,"
		" \"pps\": 200, \"packets\": 123456},"
		"{\"id\": 1, \"pid\": 4250, \"port\": 9101, \"state\": \"starting\","
		" \"uptime_s\": 5, \"restarts\": 12, \"backend_id\": 8, \"share\": 0.3333,"
		" \"pps\": 100, \"packets\": 99},"
		"{\"id\": 2, \"pid\": 0, \"port\": 9002, \"state\": \"backoff\","
		" \"uptime_s\": 0, \"restarts\": 3, \"backend_id\": 9, \"share\": 0,"
		" \"pps\": 0, \"packets\": 0}]},"
		"{\"vip\": \"api\", \"count\": 1, \"command\": \"./api\", \"reloading\": false,"
		" \"last_reload\": \"worker 0 exited before it listened\", \"workers\": ["
		"{\"id\": 0, \"pid\": 77, \"port\": 8000, \"state\": \"ready\","
		" \"uptime_s\": 352800, \"restarts\": 1, \"share\": 1}]},"
		"{\"vip\": \"ok\", \"count\": 1, \"reloading\": false, \"last_reload\": \"ok\","
		" \"workers\": [{\"id\": 0, \"pid\": 78, \"port\": 7000, \"state\": \"ready\","
		" \"uptime_s\": 192, \"restarts\": 0}]}]}",
		"VIP  ID   PID  PORT  STATE     UPTIME  RESTARTS  TRAFFIC\n"
		"app   0  4242  9000  ready      2h03m         0    66.7%\n"
		"app   1  4250  9101  starting      5s        12    33.3%\n"
		"app   2     -  9002  backoff        -         3     0.0%\n"
		"api   0    77  8000  ready      4d02h         1   100.0%\n"
		"ok    0    78  7000  ready      3m12s         0        -\n"
		"app: rolling reload running\n"
		"api: last rolling reload failed: worker 0 exited before it listened\n");
	assert_render("worker.list", "{\"vips\": []}",
		      "VIP  ID  PID  PORT  STATE  UPTIME  RESTARTS  TRAFFIC\n");
	assert_render("worker.reload", "{\"started\": [\"app\", \"api\"]}",
		      "rolling reload started for: app, api\n");
	assert_render("worker.reload", "{\"started\": []}",
		      "no VIP has workers: nothing to reload\n");
}

/* worker reload --wait: running while a started VIP reloads, then ok or
 * failed with a line per VIP that did not end "ok".
 */
static void test_reload_state(void **state)
{
	static const struct {
		const char *list;
		enum cli_reload_state want;
		const char *err;
	} cases[] = {
		{ "{\"vips\": [{\"vip\": \"a\", \"reloading\": true, \"last_reload\": null},"
		  " {\"vip\": \"b\", \"reloading\": false, \"last_reload\": \"ok\"}]}",
		  CLI_RELOAD_RUNNING, "" },
		{ "{\"vips\": [{\"vip\": \"a\", \"reloading\": false, \"last_reload\": \"ok\"},"
		  " {\"vip\": \"b\", \"reloading\": false, \"last_reload\": \"ok\"},"
		  " {\"vip\": \"c\", \"reloading\": true}]}",
		  CLI_RELOAD_OK, "" },
		{ "{\"vips\": [{\"vip\": \"a\", \"reloading\": false, \"last_reload\": \"ok\"},"
		  " {\"vip\": \"b\", \"reloading\": false, \"last_reload\": \"timed out\"}]}",
		  CLI_RELOAD_FAILED, "bouncerctl: b: rolling reload failed: timed out\n" },
		{ "{\"vips\": [{\"vip\": \"b\", \"reloading\": false, \"last_reload\": null}]}",
		  CLI_RELOAD_FAILED,
		  "bouncerctl: a: no longer has workers\n"
		  "bouncerctl: b: the rolling reload ended without a result\n" },
	};
	json_t *started = json_pack("[s, s]", "a", "b");

	(void)state;
	assert_non_null(started);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *list = json_loads(cases[i].list, 0, NULL);
		enum cli_reload_state got;
		char *text = NULL;
		size_t len = 0;
		FILE *f;

		assert_non_null(list);
		f = open_memstream(&text, &len);
		assert_non_null(f);
		got = cli_reload_state(f, list, started);
		fclose(f);
		if (got != cases[i].want || strcmp(text, cases[i].err))
			fail_msg("case %zu: state %d, printed '%s'", i, got, text);
		free(text);
		json_decref(list);
	}
	json_decref(started);
}

/* A local worker is named worker/ID wherever a backend is printed: its
 * address is "local" and its port changes with each replacement.
 */
static void test_render_local_workers(void **state)
{
	(void)state;
	assert_render(
		"backend.list",
		"{\"backends\": ["
		"{\"vip\": \"app\", \"address\": \"local\", \"port\": 9001, \"local\": true,"
		" \"worker\": {\"id\": 1, \"pid\": 4242, \"state\": \"ready\", \"restarts\": 0},"
		" \"weight\": 1, \"admin\": \"ready\", \"health\": \"up\", \"datapath\": \"up\","
		" \"check\": \"tcp\", \"failures\": 0, \"packets\": 10, \"bytes\": 640,"
		" \"last_error\": \"\"},"
		"{\"vip\": \"app\", \"address\": \"10.0.0.3\", \"port\": 80, \"local\": false,"
		" \"weight\": 1, \"admin\": \"ready\", \"health\": \"up\", \"datapath\": \"up\","
		" \"check\": \"tcp\", \"failures\": 0, \"packets\": 5, \"bytes\": 320}]}",
		"VIP  BACKEND      WEIGHT  ADMIN  HEALTH  DATAPATH  CHECK  FAILS  PACKETS  BYTES"
		"  RUN-TIME  LAST ERROR\n"
		"app  worker/1          1  ready  up      up        tcp        0       10    640"
		"  -         -\n"
		"app  10.0.0.3:80       1  ready  up      up        tcp        0        5    320"
		"  -         -\n");
	assert_render("ring.show",
		      "{\"vip\": \"app\", \"ring_size\": 7, \"moved\": 0, \"rebuilt_s\": 5,"
		      " \"hash_seed\": 1802466670, \"digest\": \"00000000000000ff\","
		      " \"backends\": ["
		      "{\"address\": \"local\", \"port\": 9000, \"local\": true,"
		      " \"worker\": {\"id\": 0}, \"slots\": 4},"
		      "{\"address\": \"local\", \"port\": 9101, \"local\": true,"
		      " \"worker\": {\"id\": 1}, \"slots\": 3}]}",
		      "vip app: 7 slots, hash_seed 0x6b6f756e, digest 00000000000000ff\n"
		      "0 (0.00%) slots moved in the last rebuild, 5s ago\n"
		      "\n"
		      "BACKEND   SLOTS   SHARE\n"
		      "worker/0      4  57.14%  ###########.........\n"
		      "worker/1      3  42.86%  #########...........\n");
	assert_render(
		"flow.list",
		"{\"flows\": [{\"protocol\": \"tcp\", \"src\": \"192.0.2.1\", \"sport\": 40000,"
		" \"dst\": \"10.0.0.1\", \"dport\": 80, \"backend\": {\"address\": \"local\","
		" \"port\": 9002, \"local\": true, \"worker\": {\"id\": 2}}, \"idle_s\": 1}],"
		" \"total\": 1}",
		"PROTO  SOURCE           DESTINATION  BACKEND   IDLE\n"
		"tcp    192.0.2.1:40000  10.0.0.1:80  worker/2  1s\n"
		"1 of 1 flows\n");
	/* local without its worker: still not an address. */
	assert_render("stats",
		      "{\"global\": {}, \"vips\": [], \"backends\": [{\"vip\": \"app\","
		      " \"address\": \"local\", \"port\": 9000, \"local\": true, \"packets\": 1,"
		      " \"bytes\": 64, \"pps\": 0, \"bps\": 0}]}",
		      "COUNTER  VALUE\n"
		      "\n"
		      "VIP  PACKETS  BYTES  PKT/S  BIT/S  CHANGED SLOTS\n"
		      "\n"
		      "VIP  BACKEND   PACKETS  BYTES  PKT/S  BIT/S\n"
		      "app  worker/-        1     64      0      0\n");
}

/* Every command has a renderer that copes with the result it documents
 * and with an empty one; the "done" commands print nothing.
 */
static void test_render_every_command(void **state)
{
	static const char *const cmds[] = {
		"status",	"vip.list",    "vip.show",	 "vip.add",	 "vip.del",
		"backend.list", "backend.add", "backend.del",	 "backend.set",	 "stats",
		"ring.show",	"flow.list",   "flow.lookup",	 "flow.flush",	 "reload",
		"detach",	"worker.list", "worker.restart", "worker.scale", "worker.reload",
	};
	static const char *const silent[] = { "vip.add",     "vip.del",	    "backend.add",
					      "backend.del", "backend.set", "worker.restart",
					      "worker.scale" };
	json_t *empty = json_object();

	(void)state;
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		char *text = render(cmds[i], "{}");

		free(text);
	}
	for (size_t i = 0; i < sizeof(silent) / sizeof(silent[0]); i++) {
		char *text = render(silent[i], "{}");

		assert_string_equal(text, "");
		free(text);
	}
	assert_int_equal(cli_render(stdout, "no.such", empty), -ENOENT);
	json_decref(empty);

	assert_render(
		"backend.list",
		"{\"backends\": [{\"vip\": \"web\", \"address\": \"10.0.0.3\", \"port\": 80,"
		" \"weight\": 2, \"admin\": \"drain\", \"health\": \"down\","
		" \"datapath\": \"drain\", \"check\": \"tcp\", \"checks\": 100,"
		" \"failures\": 7, \"transitions\": 3, \"last_error\": \"refused\","
		" \"packets\": 0, \"bytes\": 0, \"run_time\": [\"weight\", \"admin\"],"
		" \"config_weight\": 1, \"config_admin\": \"ready\"}]}",
		"VIP  BACKEND      WEIGHT  ADMIN  HEALTH  DATAPATH  CHECK  FAILS  PACKETS  BYTES"
		"  RUN-TIME      LAST ERROR\n"
		"web  10.0.0.3:80       2  drain  down    drain     tcp        7        0      0"
		"  weight,admin  refused\n");
	/* What was removed at run time, under the interfaces. */
	assert_render(
		"status",
		"{\"version\": \"1.0\", \"map_abi\": 2, \"uptime_s\": 61, \"config\": \"/b.conf\","
		" \"pin_dir\": \"/p\", \"vips\": 1, \"backends\": 1, \"adopted\": true,"
		" \"interfaces\": [{\"name\": \"eth0\", \"mode\": \"native\"}],"
		" \"removed\": [{\"vip\": \"web\", \"address\": \"fd00::2\", \"port\": 80},"
		" {\"vip\": \"dns\"}]}",
		"version     1.0\n"
		"map layout  2\n"
		"uptime      1m1s\n"
		"config      /b.conf\n"
		"pin dir     /p\n"
		"vips        1\n"
		"backends    1\n"
		"adopted     yes\n"
		"\n"
		"INTERFACE  MODE\n"
		"eth0       native\n"
		"\n"
		"REMOVED AT RUN TIME  BACKEND\n"
		"web                  [fd00::2]:80\n"
		"dns                  (the whole VIP)\n");
	/* The host's announcements: in status, and host show once drained. */
	assert_render(
		"status",
		"{\"version\": \"1.0\", \"map_abi\": 2, \"uptime_s\": 61, \"config\": \"/b.conf\","
		" \"pin_dir\": \"/p\", \"vips\": 2, \"backends\": 4, \"adopted\": false,"
		" \"interfaces\": [], \"removed\": [], \"host\": {\"state\": \"ready\","
		" \"announce\": true, \"announced\": [\"10.0.0.1\", \"fd00::1\"],"
		" \"pps\": 12.5, \"table\": 4242, \"withdraw_wait_s\": 2.0}}",
		"version     1.0\n"
		"map layout  2\n"
		"uptime      1m1s\n"
		"config      /b.conf\n"
		"pin dir     /p\n"
		"vips        2\n"
		"backends    4\n"
		"adopted     no\n"
		"host        ready\n"
		"announced   10.0.0.1, fd00::1 (table 4242)\n"
		"\n"
		"INTERFACE  MODE\n");
	assert_render("host.show",
		      "{\"state\": \"drained\", \"announce\": true, \"announced\": [],"
		      " \"pps\": 0.4, \"table\": 4242, \"drained_after_s\": 3.0}",
		      "host       drained (traffic gone after 3s)\n"
		      "announced  none (table 4242)\n"
		      "traffic    0 pkt/s\n");
	assert_render("host.show",
		      "{\"state\": \"ready\", \"announce\": false, \"announced\": [],"
		      " \"pps\": 1500}",
		      "host       ready\n"
		      "announced  nothing: no announce block in the config\n"
		      "traffic    1.50k pkt/s\n");
	assert_render("reload",
		      "{\"vips_added\": 1, \"vips_removed\": 0, \"vips_changed\": 2,"
		      " \"backends_added\": 3, \"backends_removed\": 1, \"backends_changed\": 0}",
		      "vips      1 added, 0 removed, 2 changed\n"
		      "backends  3 added, 1 removed, 0 changed\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_command_options),
		cmocka_unit_test(test_logs_options),
		cmocka_unit_test(test_render_log_line),
		cmocka_unit_test(test_socket_from_config),
		cmocka_unit_test(test_completion),
		cmocka_unit_test(test_short_error_buffer),
		cmocka_unit_test(test_help),
		cmocka_unit_test(test_help_command),
		cmocka_unit_test(test_rates),
		cmocka_unit_test(test_uptimes),
		cmocka_unit_test(test_render_vip_list),
		cmocka_unit_test(test_render_stats),
		cmocka_unit_test(test_render_flows),
		cmocka_unit_test(test_render_ring),
		cmocka_unit_test(test_render_ring_digest),
		cmocka_unit_test(test_render_workers),
		cmocka_unit_test(test_reload_state),
		cmocka_unit_test(test_render_local_workers),
		cmocka_unit_test(test_render_every_command),
		cmocka_unit_test(test_bars),
		cmocka_unit_test(test_top_options),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
