// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Config parsing: the example file's values, the defaults, a backend's
 * check merged over its VIP's, the limits, and a table of bad configs with
 * the exact message each must give.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bouncer_hash.h"
#include "bouncerd/config.h"

/* Tests run from the top of the tree (tests/run.sh). */
#define EXAMPLE "examples/bouncer.conf"

static struct cfg *parse_ok(const char *text)
{
	char err[512] = "";
	struct cfg *c = NULL;
	int ret = cfg_parse_string(text, "test.conf", &c, err, sizeof(err));

	if (ret)
		print_error("unexpected error %d: %s\n", ret, err);
	assert_int_equal(ret, 0);
	assert_non_null(c);
	return c;
}

static void assert_v4(const __be32 addr[4], __u8 family, uint32_t host_order)
{
	assert_int_equal(family, BNC_FAMILY_IPV4);
	assert_int_equal(addr[0], htonl(host_order));
	assert_int_equal(addr[1] | addr[2] | addr[3], 0);
}

static void assert_v6(const __be32 addr[4], __u8 family, const char *text)
{
	struct in6_addr want;

	assert_int_equal(family, BNC_FAMILY_IPV6);
	assert_int_equal(inet_pton(AF_INET6, text, &want), 1);
	assert_memory_equal(addr, &want, sizeof(want));
}

/* Line of the first line of EXAMPLE holding needle, so that the test
 * does not break when the comments at the top change.
 */
static int example_line(const char *needle)
{
	char buf[512];
	int line = 0;
	FILE *f = fopen(EXAMPLE, "r");

	assert_non_null(f);
	while (fgets(buf, sizeof(buf), f)) {
		line++;
		if (strstr(buf, needle)) {
			fclose(f);
			return line;
		}
	}
	fclose(f);
	fail_msg("'%s' is not in %s", needle, EXAMPLE);
	return -1;
}

static void test_example(void **state)
{
	char err[512] = "";
	struct cfg *c = NULL;
	const struct cfg_vip *v;
	const struct cfg_backend *b;
	const struct cfg_check *ck;
	const struct cfg_workers *w;
	__be32 src6[4];

	(void)state;
	assert_int_equal(cfg_load(EXAMPLE, &c, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_non_null(c);

	assert_string_equal(c->path, EXAMPLE);
	assert_int_equal(c->ninterfaces, 1);
	assert_string_equal(c->interfaces[0], "eth0");
	assert_int_equal(c->mode, CFG_ATTACH_NATIVE);
	assert_int_equal(c->log_level, LOG_LEVEL_INFO);
	assert_string_equal(c->pin_dir, "/sys/fs/bpf/bouncer");
	assert_string_equal(c->control_socket, "/run/bouncer/bouncer.sock");
	assert_int_equal(c->flow_table_size, 1048576);
	assert_int_equal(c->hash_seed, 0x2f8e61c3);
	assert_int_equal(c->ring_history_idle, 600);
	assert_true(c->has_ipip_src4);
	assert_int_equal(c->ipip_src4, htonl(0x0a000001));
	assert_true(c->has_ipip_src6);
	memcpy(src6, c->ipip_src6, sizeof(src6));
	assert_v6(src6, BNC_FAMILY_IPV6, "fd00::1");
	assert_true(c->metrics);
	assert_string_equal(c->metrics_addr, "127.0.0.1");
	assert_int_equal(c->metrics_port, 9368);
	assert_true(c->status_page);
	assert_int_equal(c->nvips, 4);

	/* web: dsr, http check, one backend with its own timeout. */
	v = &c->vips[0];
	assert_string_equal(v->name, "web");
	assert_int_equal(v->line, example_line("name = \"web\"") - 1);
	assert_v4(v->addr, v->family, 0x0ac80001);
	assert_int_equal(v->port, 80);
	assert_int_equal(v->proto, IPPROTO_TCP);
	assert_int_equal(v->forwarding, BNC_FWD_DSR);
	assert_int_equal(v->ring_size, 65537);
	assert_false(v->sticky);
	assert_true(v->fail_open);
	ck = &v->check;
	assert_int_equal(ck->type, CFG_CHECK_HTTP);
	assert_string_equal(ck->http_path, "/healthz");
	assert_string_equal(ck->http_host, "web.example");
	assert_int_equal(ck->http_status_min, 200);
	assert_int_equal(ck->http_status_max, 399);
	assert_string_equal(ck->http_expect, "ok");
	assert_int_equal(ck->interval_ms, 2000);
	assert_int_equal(ck->timeout_ms, 1000);
	assert_int_equal(ck->rise, 2);
	assert_int_equal(ck->fall, 3);
	assert_int_equal(ck->jitter_ms, 1000);
	assert_int_equal(ck->port, 8080);
	assert_int_equal(v->nbackends, 3);

	b = &v->backends[0];
	assert_int_equal(b->line, example_line("address = \"10.0.2.11\""));
	assert_v4(b->addr, b->family, 0x0a00020b);
	assert_int_equal(b->port, 80);
	assert_int_equal(b->weight, 1);
	assert_int_equal(b->admin, CFG_ADMIN_READY);
	assert_int_equal(b->check.type, CFG_CHECK_HTTP);
	assert_int_equal(b->check.timeout_ms, 500);
	assert_int_equal(b->check.interval_ms, 2000);
	assert_int_equal(b->check.port, 8080);
	assert_string_equal(b->check.http_path, "/healthz");
	assert_string_equal(b->check.http_host, "web.example");
	assert_string_equal(b->check.http_expect, "ok");

	b = &v->backends[1];
	assert_v4(b->addr, b->family, 0x0a00020c);
	assert_int_equal(b->port, 80); /* the VIP's */
	assert_int_equal(b->weight, 2);
	assert_int_equal(b->check.timeout_ms, 1000);
	b = &v->backends[2];
	assert_int_equal(b->admin, CFG_ADMIN_DRAIN);
	assert_int_equal(b->weight, 1);

	/* dns: IPv6 VIP, udp, ipip to both families, sticky, fail closed. */
	v = &c->vips[1];
	assert_string_equal(v->name, "dns");
	assert_v6(v->addr, v->family, "fd00:200::53");
	assert_int_equal(v->port, 53);
	assert_int_equal(v->proto, IPPROTO_UDP);
	assert_int_equal(v->forwarding, BNC_FWD_IPIP);
	assert_int_equal(v->ring_size, 4099);
	assert_true(v->sticky);
	assert_false(v->fail_open);
	ck = &v->check;
	assert_int_equal(ck->type, CFG_CHECK_UDP);
	assert_string_equal(ck->udp_send, "ping");
	assert_string_equal(ck->udp_expect, "pong");
	assert_int_equal(ck->interval_ms, 5000);
	assert_int_equal(ck->timeout_ms, 2000);
	assert_int_equal(ck->jitter_ms, 2500); /* half the interval */
	assert_null(ck->http_path);
	assert_int_equal(v->nbackends, 3);
	assert_v4(v->backends[0].addr, v->backends[0].family, 0x0a000335);
	assert_v6(v->backends[1].addr, v->backends[1].family, "fd00:3::53");
	assert_int_equal(v->backends[1].check.type, CFG_CHECK_UDP);
	assert_string_equal(v->backends[1].check.udp_send, "ping");
	b = &v->backends[2];
	assert_int_equal(b->admin, CFG_ADMIN_MAINT);
	assert_int_equal(b->check.type, CFG_CHECK_TCP);
	assert_int_equal(b->check.port, 53);
	assert_int_equal(b->check.interval_ms, 5000);
	assert_int_equal(b->check.timeout_ms, 2000);
	assert_null(b->check.udp_send);
	assert_null(b->check.udp_expect);

	/* The unnamed VIP: default name, exec check. */
	v = &c->vips[2];
	assert_string_equal(v->name, "10.200.0.2:443/tcp");
	assert_int_equal(v->proto, IPPROTO_TCP);
	assert_int_equal(v->forwarding, BNC_FWD_DSR);
	ck = &v->check;
	assert_int_equal(ck->type, CFG_CHECK_EXEC);
	assert_non_null(ck->exec_argv);
	assert_string_equal(ck->exec_argv[0], "/usr/local/lib/bouncer/check-tls");
	assert_string_equal(ck->exec_argv[1], "--sni");
	assert_string_equal(ck->exec_argv[2], "shop.example");
	assert_null(ck->exec_argv[3]);
	assert_int_equal(ck->interval_ms, 10000);
	assert_int_equal(ck->timeout_ms, 5000);
	assert_int_equal(v->nbackends, 2);
	assert_int_equal(v->backends[0].weight, 3);
	assert_int_equal(v->backends[0].port, 443);
	assert_int_equal(v->backends[1].weight, 0);
	assert_string_equal(v->backends[1].check.exec_argv[2], "shop.example");
	/* Each backend owns its copy. */
	assert_ptr_not_equal(v->backends[1].check.exec_argv, ck->exec_argv);
	assert_null(v->workers);

	/* app: local workers only. */
	v = &c->vips[3];
	assert_string_equal(v->name, "app");
	assert_v4(v->addr, v->family, 0x0ac80003);
	assert_int_equal(v->port, 80);
	assert_int_equal(v->proto, IPPROTO_TCP);
	assert_int_equal(v->nbackends, 0);
	w = v->workers;
	assert_non_null(w);
	assert_int_equal(w->line, example_line("workers = {"));
	assert_string_equal(w->argv[0], "node");
	assert_string_equal(w->argv[1], "examples/app/server.js");
	assert_null(w->argv[2]);
	assert_int_equal(w->count, 4);
	assert_false(w->count_default);
	assert_int_equal(w->port_base, 8000);
	assert_int_equal(w->alt_port_base, 8300);
	assert_string_equal(w->env[0], "NODE_ENV=production");
	assert_null(w->env[1]);
	assert_null(w->cwd);
	assert_false(w->has_user);
	assert_int_equal(w->ready_timeout_ms, 10000);
	assert_int_equal(w->kill_timeout_ms, 5000);
	assert_int_equal(w->drain_ms, 30000);
	assert_int_equal(w->min_uptime_ms, 5000);
	assert_int_equal(w->backoff_initial_ms, 100);
	assert_int_equal(w->backoff_max_ms, 30000);
	assert_int_equal(w->backoff_reset_ms, 60000);
	assert_int_equal(w->crash_limit, 10);
	assert_int_equal(w->crash_window_ms, 60000);
	assert_int_equal(w->npermanent, 1);
	assert_int_equal(w->permanent_exit[0], 78);
	assert_null(c->vips[0].workers);

	assert_ptr_equal(cfg_vip_find(c, "dns"), &c->vips[1]);
	assert_ptr_equal(cfg_vip_find(c, "10.200.0.2:443/tcp"), &c->vips[2]);
	assert_null(cfg_vip_find(c, "DNS"));
	cfg_free(c);
}

static void test_defaults(void **state)
{
	struct cfg *c = parse_ok("interfaces = [ \"eth0\", \"eth1\" ];\n"
				 "vips = ( { address = \"fd00::80\"; port = 443;\n"
				 "  backends = ( { address = \"fd00::2\"; } ); } );\n");
	const struct cfg_vip *v;
	const struct cfg_backend *b;

	(void)state;
	assert_string_equal(c->path, "test.conf");
	assert_int_equal(c->ninterfaces, 2);
	assert_string_equal(c->interfaces[1], "eth1");
	assert_int_equal(c->mode, CFG_ATTACH_NATIVE);
	assert_int_equal(c->log_level, LOG_LEVEL_INFO);
	assert_string_equal(c->pin_dir, CFG_DEFAULT_PIN_DIR);
	assert_string_equal(c->control_socket, CFG_DEFAULT_SOCKET);
	assert_int_equal(c->flow_table_size, BNC_MAX_FLOWS);
	assert_int_equal(c->ring_history_idle, CFG_DEFAULT_RING_HISTORY_IDLE);
	/* The seed every bouncer used before it was a setting: hosts that
	 * leave it out keep agreeing with those.
	 */
	assert_int_equal(c->hash_seed, BNC_HASH_SEED);
	assert_int_equal(BNC_HASH_SEED, 0x6b6f756e);
	assert_false(c->metrics);
	assert_string_equal(c->metrics_addr, "127.0.0.1");
	assert_int_equal(c->metrics_port, CFG_DEFAULT_METRICS_PORT);
	assert_false(c->has_ipip_src4);
	assert_false(c->has_ipip_src6);
	assert_int_equal(c->nvips, 1);

	v = &c->vips[0];
	assert_string_equal(v->name, "[fd00::80]:443/tcp");
	assert_int_equal(v->line, 2);
	assert_int_equal(v->proto, IPPROTO_TCP);
	assert_int_equal(v->forwarding, BNC_FWD_DSR);
	assert_int_equal(v->ring_size, BNC_RING_SIZE_DEFAULT);
	assert_false(v->sticky);
	assert_true(v->fail_open);
	assert_int_equal(v->check.type, CFG_CHECK_NONE);
	assert_int_equal(v->check.interval_ms, 2000);
	assert_int_equal(v->check.timeout_ms, 1000);
	assert_int_equal(v->check.rise, 2);
	assert_int_equal(v->check.fall, 3);
	assert_int_equal(v->check.jitter_ms, 1000);
	assert_int_equal(v->check.port, 0);
	assert_null(v->check.http_path);
	assert_null(v->check.exec_argv);

	assert_int_equal(v->nbackends, 1);
	b = &v->backends[0];
	assert_int_equal(b->line, 3);
	assert_v6(b->addr, b->family, "fd00::2");
	assert_int_equal(b->port, 443);
	assert_int_equal(b->weight, 1);
	assert_int_equal(b->admin, CFG_ADMIN_READY);
	assert_int_equal(b->check.type, CFG_CHECK_NONE);
	assert_int_equal(b->check.timeout_ms, 1000);
	cfg_free(c);

	/* No VIP at all is a valid start; an http check's own defaults. */
	c = parse_ok("interfaces = [\"eth0\"];\n"
		     "mode = \"auto\"; log_level = \"debug\"; metrics = { };\n"
		     "vips = ( { address = \"10.0.0.1\"; port = 80;\n"
		     "  check = { type = \"http\"; interval = 3; }; } );\n");
	assert_int_equal(c->mode, CFG_ATTACH_AUTO);
	assert_int_equal(c->log_level, LOG_LEVEL_DEBUG);
	assert_true(c->metrics);
	assert_string_equal(c->metrics_addr, "127.0.0.1");
	assert_int_equal(c->metrics_port, CFG_DEFAULT_METRICS_PORT);
	assert_true(c->status_page);
	assert_false(c->announce);
	assert_int_equal(c->announce_withdraw_wait_ms, 2000);
	v = &c->vips[0];
	assert_int_equal(v->nbackends, 0);
	assert_int_equal(v->check.type, CFG_CHECK_HTTP);
	assert_string_equal(v->check.http_path, "/");
	assert_null(v->check.http_host);
	assert_null(v->check.http_expect);
	assert_int_equal(v->check.http_status_min, 200);
	assert_int_equal(v->check.http_status_max, 399);
	assert_int_equal(v->check.jitter_ms, 1500);
	cfg_free(c);

	c = parse_ok("interfaces = [\"eth0\"];\nvips = ();\n");
	assert_int_equal(c->nvips, 0);
	assert_null(c->vips);
	cfg_free(c);
}

/* A backend's check block overrides single fields; defaults that depend
 * on other fields follow the merged values.
 */
static void test_backend_override(void **state)
{
	struct cfg *c = parse_ok(
		"interfaces = [\"eth0\"];\n"
		"vips = ( { name = \"v\"; address = \"10.0.0.1\"; port = 80;\n"
		"  check = { type = \"http\"; interval = 4; path = \"/a\"; expect = \"x\"; };\n"
		"  backends = (\n"
		"    { address = \"10.0.0.2\"; check = { interval = 10; rise = 5; }; },\n"
		"    { address = \"10.0.0.3\"; check = { type = \"tcp\"; }; },\n"
		"    { address = \"10.0.0.4\"; check = { status = 204; host = \"h\"; }; },\n"
		"    { address = \"10.0.0.5\"; },\n"
		"    { address = \"10.0.0.6\"; check = { type = \"udp\"; send = \"s\"; }; },\n"
		"    { address = \"10.0.0.7\"; check = { type = \"http\"; }; }\n"
		"  ); } );\n");
	const struct cfg_vip *v = &c->vips[0];
	const struct cfg_check *ck;

	(void)state;
	assert_int_equal(v->nbackends, 6);
	assert_int_equal(v->check.jitter_ms, 2000);

	ck = &v->backends[0].check;
	assert_int_equal(ck->type, CFG_CHECK_HTTP);
	assert_int_equal(ck->interval_ms, 10000);
	assert_int_equal(ck->jitter_ms, 5000); /* half the merged interval */
	assert_int_equal(ck->rise, 5);
	assert_int_equal(ck->fall, 3);
	assert_string_equal(ck->http_path, "/a");
	assert_string_equal(ck->http_expect, "x");
	assert_int_equal(v->check.rise, 2); /* the VIP's is untouched */

	/* Another type drops the VIP's http settings, keeps the timing. */
	ck = &v->backends[1].check;
	assert_int_equal(ck->type, CFG_CHECK_TCP);
	assert_int_equal(ck->interval_ms, 4000);
	assert_null(ck->http_path);
	assert_null(ck->http_expect);

	ck = &v->backends[2].check;
	assert_int_equal(ck->http_status_min, 204);
	assert_int_equal(ck->http_status_max, 204);
	assert_string_equal(ck->http_host, "h");
	assert_string_equal(ck->http_path, "/a");

	ck = &v->backends[3].check;
	assert_int_equal(ck->type, CFG_CHECK_HTTP);
	assert_string_equal(ck->http_path, "/a");
	assert_ptr_not_equal(ck->http_path, v->check.http_path);

	ck = &v->backends[4].check;
	assert_int_equal(ck->type, CFG_CHECK_UDP);
	assert_string_equal(ck->udp_send, "s");
	assert_null(ck->udp_expect); /* the VIP's expect was an http one */
	assert_null(ck->http_path);

	/* The same type named again keeps the VIP's settings for it. */
	ck = &v->backends[5].check;
	assert_string_equal(ck->http_path, "/a");
	assert_string_equal(ck->http_expect, "x");
	cfg_free(c);

	/* A VIP without a check: a backend may still have one. */
	c = parse_ok("interfaces = [\"eth0\"];\n"
		     "vips = ( { address = \"10.0.0.1\"; port = 80; backends = (\n"
		     "  { address = \"10.0.0.2\"; check = { type = \"tcp\"; port = 81; }; },\n"
		     "  { address = \"10.0.0.3\"; } ); } );\n");
	v = &c->vips[0];
	assert_int_equal(v->check.type, CFG_CHECK_NONE);
	assert_int_equal(v->backends[0].check.type, CFG_CHECK_TCP);
	assert_int_equal(v->backends[0].check.port, 81);
	assert_int_equal(v->backends[1].check.type, CFG_CHECK_NONE);
	cfg_free(c);
}

/* What must be accepted although it looks close to an error. */
static void test_accepted(void **state)
{
	struct cfg *c = parse_ok(
		"interfaces = [\"eth0\"];\n"
		"ipip_source = { v4 = \"10.0.0.9\"; v6 = \"fd00::1\"; };\n"
		"metrics = { listen = \"::\"; port = 9100; status_page = false; };\n"
		/* A table past 255 (rtnetlink's attribute), no wait. */
		"announce = { table = 4242; withdraw_wait = 0; };\n"
		"vips = (\n"
		/* One address and port, two protocols: two VIPs. */
		"  { address = \"10.0.0.1\"; port = 53; protocol = \"udp\"; },\n"
		"  { address = \"10.0.0.1\"; port = 53; protocol = \"tcp\"; },\n"
		/* ipip crosses families: IPv4 in IPv6 next to IPv4 in IPv4
		 * (dsr cannot: see bad_cases).
		 */
		"  { address = \"10.0.0.2\"; port = 80; forwarding = \"ipip\"; backends = (\n"
		"    { address = \"fd00::2\"; }, { address = \"10.0.0.3\"; } ); },\n"
		/* ipip with only IPv6 backends needs only v6. */
		"  { address = \"10.0.0.4\"; port = 80; forwarding = \"ipip\"; backends = (\n"
		"    { address = \"fd00::4\"; } ); },\n"
		/* The same backend in two VIPs; seconds as floats and ints. */
		"  { address = \"10.0.0.5\"; port = 80; ring_size = 2; forwarding = \"ipip\";\n"
		"    backends = (\n"
		"    { address = \"fd00::4\"; weight = 65535; }, { address = \"fd00::5\"; } );\n"
		"    check = { type = \"tcp\"; interval = 1; timeout = 0.999; jitter = 0; }; }\n"
		");\n");

	(void)state;
	assert_int_equal(c->nvips, 5);
	assert_string_equal(c->metrics_addr, "::");
	assert_int_equal(c->metrics_port, 9100);
	assert_false(c->status_page);
	assert_true(c->announce);
	assert_int_equal(c->announce_table, 4242);
	assert_int_equal(c->announce_withdraw_wait_ms, 0);
	assert_int_equal(c->vips[0].proto, IPPROTO_UDP);
	assert_string_equal(c->vips[0].name, "10.0.0.1:53/udp");
	assert_string_equal(c->vips[1].name, "10.0.0.1:53/tcp");
	assert_int_equal(c->vips[4].ring_size, 2);
	assert_int_equal(c->vips[4].backends[0].weight, 65535);
	assert_int_equal(c->vips[4].check.timeout_ms, 999);
	assert_int_equal(c->vips[4].check.jitter_ms, 0);
	cfg_free(c);
}

#define IF "interfaces = [\"eth0\"];\n"

/* hash_seed: every 32-bit value, in hex (libconfig reads those above
 * 0x7fffffff as negative ints) and in decimal (above INT_MAX with an L, as
 * libconfig 1.5 wants).
 */
static void test_hash_seed(void **state)
{
	static const struct {
		const char *text;
		uint32_t seed;
	} cases[] = {
		{ IF "hash_seed = 0x6b6f756e;\n", 0x6b6f756e },
		{ IF "hash_seed = 0;\n", 0 },
		{ IF "hash_seed = 0x0;\n", 0 },
		{ IF "hash_seed = 2147483647;\n", 2147483647u },
		{ IF "hash_seed = 0x80000000;\n", 0x80000000u },
		{ IF "hash_seed = 0xffffffff;\n", 0xffffffffu },
		{ IF "hash_seed = 0xFFFFFFFFL;\n", 0xffffffffu },
		{ IF "hash_seed = 3000000000L;\n", 3000000000u },
		{ IF "hash_seed = 4294967295L;\n", 4294967295u },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cfg *c = parse_ok(cases[i].text);

		if (c->hash_seed != cases[i].seed)
			fail_msg("%s: seed %u, want %u", cases[i].text, c->hash_seed,
				 cases[i].seed);
		cfg_free(c);
	}
}

/* A VIP on line 2 whose workers block follows from line 3. */
#define WVIP IF "vips = ( { name = \"app\"; address = \"10.0.0.1\"; port = 80;\n"

struct bad_case {
	const char *text;
	const char *msg; /* exactly what err must hold */
};

/* Each text is one line per C line, so the line numbers can be read off. */
static const struct bad_case bad_cases[] = {
	/* libconfig's own errors, passed on with file and line. */
	{ IF "mode = ;\n", "bad.conf:2: syntax error" },
	{ IF "mode = \"skb\";\n"
	     "mode = \"skb\";\n",
	  "bad.conf:3: duplicate setting name" },
	/* The top level. */
	{ "mode = \"native\";\n", "bad.conf: interfaces is required" },
	{ "interfaces = [];\n", "bad.conf:1: interfaces must name at least one device" },
	{ "interfaces = \"eth0\";\n",
	  "bad.conf:1: interfaces must be a list of device names, [\"eth0\", ...]" },
	{ "interfaces = [\"eth0\", \"a/b\"];\n", "bad.conf:1: 'a/b' is not a valid device name" },
	{ "interfaces = [\"eth0\",\n"
	  "  \"eth0\"];\n",
	  "bad.conf:2: interface 'eth0' is listed twice" },
	{ IF "log_levle = \"info\";\n",
	  "bad.conf:2: unknown setting 'log_levle' (did you mean 'log_level'?)" },
	{ IF "frobnicate = 1;\n", "bad.conf:2: unknown setting 'frobnicate'" },
	{ IF "mode = \"nativ\";\n", "bad.conf:2: mode 'nativ' is not one of native, skb, auto" },
	{ IF "log_level = \"trace\";\n",
	  "bad.conf:2: log_level 'trace' is not one of error, warn, info, debug" },
	{ IF "mode = 1;\n", "bad.conf:2: mode must be a string" },
	{ IF "flow_table_size = \"big\";\n", "bad.conf:2: flow_table_size must be an integer" },
	{ IF "ring_history_idle = 0;\n",
	  "bad.conf:2: ring_history_idle must be between 1 and 604800, not 0" },
	{ IF "flow_table_size = 10;\n",
	  "bad.conf:2: flow_table_size must be between 1024 and 67108864, not 10" },
	{ IF "hash_seed = \"0x6b6f756e\";\n", "bad.conf:2: hash_seed must be an integer" },
	{ IF "hash_seed = 1.5;\n", "bad.conf:2: hash_seed must be an integer" },
	{ IF "hash_seed = 4294967296L;\n",
	  "bad.conf:2: hash_seed must be between 0 and 4294967295, not 4294967296" },
	{ IF "hash_seed = 0x100000000L;\n",
	  "bad.conf:2: hash_seed must be between 0 and 4294967295, not 4294967296" },
	{ IF "hash_seed = -1L;\n",
	  "bad.conf:2: hash_seed must be between 0 and 4294967295, not -1" },
	/* An int of libconfig: a negative one may be what libconfig before
	 * 1.7 makes of a decimal value above INT_MAX.
	 */
	{ IF "\n"
	     "hash_seed = -1;\n",
	  "bad.conf:3: hash_seed must be between 0 and 4294967295, not -1 (if the file says "
	  "4294967295: libconfig may read a decimal value above 2147483647 as negative; write "
	  "0xffffffff or 4294967295L)" },
	{ IF "pin_dir = \"bpf\";\n", "bad.conf:2: pin_dir 'bpf' must be an absolute path" },
	{ IF "pin_dir = \"\";\n", "bad.conf:2: pin_dir must not be empty" },
	{ IF "control_socket = "
	     "\"/run/bouncer/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.sock\";\n",
	  "bad.conf:2: control_socket is longer than 107 characters" },
	{ IF "ipip_source = { v4 = \"fd00::1\"; };\n",
	  "bad.conf:2: ipip_source: v4 must be an IPv4 address" },
	{ IF "ipip_source = { v6 = \"fd00::/64\"; };\n",
	  "bad.conf:2: ipip_source: v6 'fd00::/64' is not an IPv4 or IPv6 address" },
	{ IF "ipip_source = \"10.0.0.1\";\n",
	  "bad.conf:2: ipip_source: must be a group { v4 = ...; v6 = ...; }" },
	{ IF "metrics = { port = 0; };\n",
	  "bad.conf:2: metrics: port must be between 1 and 65535, not 0" },
	{ IF "metrics = {\n"
	     "  prot = 9100; };\n",
	  "bad.conf:3: metrics: unknown setting 'prot' (did you mean 'port'?)" },
	{ IF "metrics = { listen = \"localhost\"; };\n",
	  "bad.conf:2: metrics: listen 'localhost' is not an IPv4 or IPv6 address" },
	{ IF "metrics = { status_page = \"no\"; };\n",
	  "bad.conf:2: metrics: status_page must be true or false" },
	{ IF "announce = { withdraw_wait = 1; };\n", "bad.conf:2: announce: table is required" },
	{ IF "announce = { table = 254; };\n",
	  "bad.conf:2: announce: table 254 is one of the kernel's own (default, main, local): "
	  "give the agent a table of its own" },
	{ IF "announce = { table = 0; };\n",
	  "bad.conf:2: announce: table must be between 1 and 4294967295, not 0" },
	{ IF "announce = { table = 7; withdraw_wait = 61; };\n",
	  "bad.conf:2: announce: withdraw_wait must be between 0.0 and 60.0 s, not 61 s" },
	{ IF "announce = 7;\n", "bad.conf:2: announce: must be a group { table = ...; }" },
	/* VIPs. */
	{ IF "vips = { };\n", "bad.conf:2: vips must be a list ( { address = ...; }, ... )" },
	{ IF "vips = ( \"web\" );\n", "bad.conf:2: vip 1: must be a group { address = ...; }" },
	{ IF "vips = (\n"
	     "  { port = 80; } );\n",
	  "bad.conf:3: vip 1: address is required" },
	{ IF "vips = ( { address = \"10.0.0.1\"; } );\n", "bad.conf:2: vip 1: port is required" },
	{ IF "vips = ( { name = \"web\";\n"
	     "  adress = \"10.0.0.1\"; port = 80; } );\n",
	  "bad.conf:3: vip 1: unknown setting 'adress' (did you mean 'address'?)" },
	{ IF "vips = ( { name = \"web\";\n"
	     "  address = \"10.0.0.256\"; port = 80; } );\n",
	  "bad.conf:3: vip 'web': address '10.0.0.256' is not an IPv4 or IPv6 address" },
	{ IF "vips = ( { address = \"224.0.0.1\"; port = 80; } );\n",
	  "bad.conf:2: vip 1: address '224.0.0.1' is not a unicast address" },
	{ IF "vips = ( { address = \"::\"; port = 80; } );\n",
	  "bad.conf:2: vip 1: address '::' is not a unicast address" },
	{ IF "vips = ( { address = \"10.0.0.1\"; port = 0; } );\n",
	  "bad.conf:2: vip 1: port must be between 1 and 65535, not 0" },
	{ IF "vips = ( { address = \"10.0.0.1\"; port = 65536; } );\n",
	  "bad.conf:2: vip 1: port must be between 1 and 65535, not 65536" },
	{ IF "vips = ( { address = \"10.0.0.1\"; port = \"80\"; } );\n",
	  "bad.conf:2: vip 1: port must be an integer" },
	{ IF "vips = ( { address = \"10.0.0.1\"; port = 80; protocol = \"sctp\"; } );\n",
	  "bad.conf:2: vip 1: protocol 'sctp' is not one of tcp, udp" },
	{ IF "vips = ( { address = \"10.0.0.1\"; port = 80;\n"
	     "  forwarding = \"nat\"; } );\n",
	  "bad.conf:3: vip '10.0.0.1:80/tcp': forwarding 'nat' is not one of dsr, ipip" },
	{ IF "vips = ( { name = \"web\"; address = \"10.0.0.1\"; port = 80;\n"
	     "  ring_size = 65536; } );\n",
	  "bad.conf:3: vip 'web': ring_size 65536 is not a prime (65537 is)" },
	{ IF "vips = ( { name = \"web\"; address = \"10.0.0.1\"; port = 80;\n"
	     "  ring_size = 1000003; } );\n",
	  "bad.conf:3: vip 'web': ring_size must be between 2 and 655373, not 1000003" },
	{ IF "vips = ( { name = \"web\"; address = \"10.0.0.1\"; port = 80;\n"
	     "  hash = \"src\"; } );\n",
	  "bad.conf:3: vip 'web': hash 'src' is not one of 5tuple, source" },
	{ IF "vips = ( { name = \"web\"; address = \"10.0.0.1\"; port = 80;\n"
	     "  fail = \"half\"; } );\n",
	  "bad.conf:3: vip 'web': fail 'half' is not one of open, closed" },
	{ IF "vips = ( { name = \"my web\"; address = \"10.0.0.1\"; port = 80; } );\n",
	  "bad.conf:2: vip 'my web': name must be at most 63 printable characters, no blanks or "
	  "quotes" },
	{ IF "vips = ( { name = \"web\"; address = \"10.0.0.1\"; port = 80; },\n"
	     "  { name = \"web\";\n"
	     "    address = \"10.0.0.2\"; port = 80; } );\n",
	  "bad.conf:3: vip 'web': name is already used by the vip at line 2" },
	{ IF "vips = ( { name = \"a\"; address = \"fd00::1\"; port = 80; },\n"
	     "  { name = \"b\";\n"
	     "    address = \"fd00:0::1\"; port = 80; } );\n",
	  "bad.conf:4: vip 'b': [fd00::1]:80/tcp is already vip 'a' (line 2)" },
	{ IF "vips = ( { address = \"10.0.0.1\"; port = 80; backends = (\n"
	     "  { address = \"10.0.0.2\"; }, { address = \"10.0.0.3\"; }, { address = "
	     "\"10.0.0.4\"; } );\n"
	     "  ring_size = 2; } );\n",
	  "bad.conf:4: vip '10.0.0.1:80/tcp': ring_size 2 is smaller than the number of backends "
	  "(3)" },
	{ IF "vips = ( { address = \"10.0.0.1\"; port = 80; backends = (\n"
	     "  { address = \"10.0.0.2\"; } );\n"
	     "  workers = { command = [ \"true\" ]; count = 3; port_base = 9000; };\n"
	     "  ring_size = 3; } );\n",
	  "bad.conf:5: vip '10.0.0.1:80/tcp': ring_size 3 is smaller than the number of backends "
	  "(4)" },
	/* Checks. */
	{ IF "vips = ( { name = \"web\"; address = \"10.0.0.1\"; port = 80;\n"
	     "  check = \"http\"; } );\n",
	  "bad.conf:3: vip 'web': check: must be a group { type = ...; }" },
	{ IF "vips = ( { name = \"web\"; address = \"10.0.0.1\"; port = 80;\n"
	     "  check = { interval = 2; }; } );\n",
	  "bad.conf:3: vip 'web': check: type is required" },
	{ IF "vips = ( { name = \"web\"; address = \"10.0.0.1\"; port = 80;\n"
	     "  check = { type = \"icmp\"; }; } );\n",
	  "bad.conf:3: vip 'web': check: type 'icmp' is not one of none, tcp, http, udp, exec" },
	{ IF "vips = ( { name = \"web\"; address = \"10.0.0.1\"; port = 80;\n"
	     "  check = { type = \"tcp\"; timout = 1; }; } );\n",
	  "bad.conf:3: vip 'web': check: unknown setting 'timout' (did you mean 'timeout'?)" },
	{ IF "vips = ( { name = \"web\"; address = \"10.0.0.1\"; port = 80;\n"
	     "  check = { type = \"tcp\"; interval = 1.0;\n"
	     "    timeout = 2.0; }; } );\n",
	  "bad.conf:4: vip 'web': check: timeout (2.0 s) must be shorter than interval (1.0 s)" },
	{ IF "vips = ( { name = \"web\"; address = \"10.0.0.1\"; port = 80;\n"
	     "  check = { type = \"tcp\"; timeout = 1;\n"
	     "    interval = 1; }; } );\n",
	  "bad.conf:4: vip 'web': check: timeout (1.0 s) must be shorter than interval (1.0 s)" },
	{ IF "vips = ( { name = \"web\"; address = \"10.0.0.1\"; port = 80;\n"
	     "  check = { type = \"tcp\"; interval = 0.5; }; } );\n",
	  "bad.conf:3: vip 'web': check: timeout (1.0 s, the default) must be shorter than "
	  "interval (0.5 s)" },
	{ IF "vips = ( { name = \"web\"; address = \"10.0.0.1\"; port = 80;\n"
	     "  check = { type = \"tcp\"; interval = 0; }; } );\n",
	  "bad.conf:3: vip 'web': check: interval must be between 0.001 and 3600.0 s, not 0 s" },
	{ IF "vips = ( { name = \"web\"; address = \"10.0.0.1\"; port = 80;\n"
	     "  check = { type = \"tcp\"; interval = \"2s\"; }; } );\n",
	  "bad.conf:3: vip 'web': check: interval must be a number of seconds" },
	{ IF "vips = ( { name = \"web\"; address = \"10.0.0.1\"; port = 80;\n"
	     "  check = { type = \"tcp\"; jitter = -1.5; }; } );\n",
	  "bad.conf:3: vip 'web': check: jitter must be between 0.0 and 3600.0 s, not -1.5 s" },
	{ IF "vips = ( { name = \"web\"; address = \"10.0.0.1\"; port = 80;\n"
	     "  check = { type = \"tcp\"; jitter = 3; }; } );\n",
	  "bad.conf:3: vip 'web': check: jitter (3.0 s) must not exceed interval (2.0 s)" },
	{ IF "vips = ( { name = \"web\"; address = \"10.0.0.1\"; port = 80;\n"
	     "  check = { type = \"tcp\"; rise = 0; }; } );\n",
	  "bad.conf:3: vip 'web': check: rise must be between 1 and 100, not 0" },
	{ IF "vips = ( { name = \"web\"; address = \"10.0.0.1\"; port = 80;\n"
	     "  check = { type = \"tcp\"; fall = 0; }; } );\n",
	  "bad.conf:3: vip 'web': check: fall must be between 1 and 100, not 0" },
	{ IF "vips = ( { name = \"web\"; address = \"10.0.0.1\"; port = 80;\n"
	     "  check = { type = \"tcp\"; port = 70000; }; } );\n",
	  "bad.conf:3: vip 'web': check: port must be between 1 and 65535, not 70000" },
	{ IF "vips = ( { name = \"web\"; address = \"10.0.0.1\"; port = 80;\n"
	     "  check = { type = \"tcp\";\n"
	     "    path = \"/\"; }; } );\n",
	  "bad.conf:4: vip 'web': check: path does not apply to a tcp check" },
	{ IF "vips = ( { name = \"web\"; address = \"10.0.0.1\"; port = 80;\n"
	     "  check = { type = \"exec\"; }; } );\n",
	  "bad.conf:3: vip 'web': check: an exec check needs command" },
	{ IF "vips = ( { name = \"web\"; address = \"10.0.0.1\"; port = 80;\n"
	     "  check = { type = \"exec\"; command = []; }; } );\n",
	  "bad.conf:3: vip 'web': check: command is empty" },
	{ IF "vips = ( { name = \"web\"; address = \"10.0.0.1\"; port = 80;\n"
	     "  check = { type = \"exec\"; command = ( \"/bin/check\", 1 ); }; } );\n",
	  "bad.conf:3: vip 'web': check: command must be a list of strings" },
	{ IF "vips = ( { name = \"web\"; address = \"10.0.0.1\"; port = 80;\n"
	     "  check = { type = \"exec\"; command = \"/bin/check\"; }; } );\n",
	  "bad.conf:3: vip 'web': check: command must be a list of strings, [\"program\", \"arg\", "
	  "...]" },
	{ IF "vips = ( { name = \"dns\"; address = \"10.0.0.1\"; port = 53; protocol = \"udp\";\n"
	     "  check = {\n"
	     "    type = \"udp\"; expect = \"pong\"; }; } );\n",
	  "bad.conf:4: vip 'dns': check: a udp check needs send" },
	{ IF "vips = ( { name = \"web\"; address = \"10.0.0.1\"; port = 80;\n"
	     "  check = { type = \"http\"; status = [ 400, 200 ]; }; } );\n",
	  "bad.conf:3: vip 'web': check: status range [400, 200] is empty" },
	{ IF "vips = ( { name = \"web\"; address = \"10.0.0.1\"; port = 80;\n"
	     "  check = { type = \"http\"; status = [ 200, 700 ]; }; } );\n",
	  "bad.conf:3: vip 'web': check: status 700 is not an HTTP status (100-599)" },
	{ IF "vips = ( { name = \"web\"; address = \"10.0.0.1\"; port = 80;\n"
	     "  check = { type = \"http\"; status = [ 200, 300, 400 ]; }; } );\n",
	  "bad.conf:3: vip 'web': check: status must be a status or a range [min, max]" },
	{ IF "vips = ( { name = \"web\"; address = \"10.0.0.1\"; port = 80;\n"
	     "  check = { type = \"http\"; path = \"healthz\"; }; } );\n",
	  "bad.conf:3: vip 'web': check: path 'healthz' must start with / and hold no blanks" },
	{ IF "vips = ( { name = \"web\"; address = \"10.0.0.1\"; port = 80;\n"
	     "  check = { type = \"http\"; host = \"a\\r\\nX-Evil: 1\"; }; } );\n",
	  "bad.conf:3: vip 'web': check: host 'a\r\nX-Evil: 1' must hold no blanks" },
	/* Backends. */
	{ IF "vips = ( { name = \"web\"; address = \"10.0.0.1\"; port = 80;\n"
	     "  backends = { address = \"10.0.0.2\"; }; } );\n",
	  "bad.conf:3: vip 'web': backends must be a list ( { address = ...; }, ... )" },
	{ IF "vips = ( { name = \"web\"; address = \"10.0.0.1\"; port = 80; backends = (\n"
	     "  { weight = 1; } ); } );\n",
	  "bad.conf:3: vip 'web': backend 1: address is required" },
	{ IF "vips = ( { name = \"web\"; address = \"10.0.0.1\"; port = 80; backends = (\n"
	     "  { address = \"10.0.0.2\"; },\n"
	     "  { address = \"backend-2\"; } ); } );\n",
	  "bad.conf:4: vip 'web': backend 2: address 'backend-2' is not an IPv4 or IPv6 address" },
	{ IF "vips = ( { name = \"web\"; address = \"10.0.0.1\"; port = 80; backends = (\n"
	     "  { address = \"10.0.0.2\"; },\n"
	     "  { address = \"10.0.0.2\"; port = 80; } ); } );\n",
	  "bad.conf:4: vip 'web': backend 10.0.0.2:80: duplicate of the backend at line 3" },
	{ IF "vips = ( { name = \"web\"; address = \"10.0.0.1\"; port = 80; backends = (\n"
	     "  { address = \"10.0.0.2\";\n"
	     "    port = 8080; } ); } );\n",
	  "bad.conf:4: vip 'web': backend 10.0.0.2:8080: port 8080 differs from the vip's port "
	  "80: dsr and ipip do not rewrite ports (check.port checks another port)" },
	{ IF "vips = ( { name = \"web\"; address = \"10.0.0.1\"; port = 80; backends = (\n"
	     "  { address = \"10.0.0.1\"; } ); } );\n",
	  "bad.conf:3: vip 'web': backend 10.0.0.1:80: address is the vip's own address" },
	{ IF "vips = ( { name = \"web\"; address = \"10.0.0.1\"; port = 80; backends = (\n"
	     "  { address = \"10.0.0.2\"; weight = 65536; } ); } );\n",
	  "bad.conf:3: vip 'web': backend 10.0.0.2:80: weight must be between 0 and 65535, not "
	  "65536" },
	{ IF "vips = ( { name = \"web\"; address = \"10.0.0.1\"; port = 80; backends = (\n"
	     "  { address = \"10.0.0.2\"; weight = -1; } ); } );\n",
	  "bad.conf:3: vip 'web': backend 10.0.0.2:80: weight must be between 0 and 65535, not "
	  "-1" },
	{ IF "vips = ( { name = \"web\"; address = \"10.0.0.1\"; port = 80; backends = (\n"
	     "  { address = \"10.0.0.2\"; state = \"down\"; } ); } );\n",
	  "bad.conf:3: vip 'web': backend 10.0.0.2:80: state 'down' is not one of ready, drain, "
	  "maint" },
	{ IF "vips = ( { name = \"web\"; address = \"10.0.0.1\"; port = 80; backends = (\n"
	     "  { address = \"10.0.0.2\"; wieght = 2; } ); } );\n",
	  "bad.conf:3: vip 'web': backend 1: unknown setting 'wieght' (did you mean 'weight'?)" },
	{ IF "vips = ( { name = \"web\"; address = \"10.0.0.1\"; port = 80;\n"
	     "  backends = ( { address = \"fd00::2\"; } ); } );\n",
	  "bad.conf:3: vip 'web': backend [fd00::2]:80: an IPv6 backend of an IPv4 vip needs "
	  "forwarding \"ipip\": dsr keeps the packet's addresses" },
	{ IF "vips = ( { name = \"web6\"; address = \"fd00::1\"; port = 80; forwarding = \"dsr\";\n"
	     "  backends = ( { address = \"10.0.0.2\"; } ); } );\n",
	  "bad.conf:3: vip 'web6': backend 10.0.0.2:80: an IPv4 backend of an IPv6 vip needs "
	  "forwarding \"ipip\": dsr keeps the packet's addresses" },
	{ IF
	  "vips = ( { name = \"web\"; address = \"10.0.0.1\"; port = 80; forwarding = \"ipip\";\n"
	  "  backends = ( { address = \"10.0.0.2\"; } ); } );\n",
	  "bad.conf:3: vip 'web': backend 10.0.0.2:80: forwarding ipip to an IPv4 backend needs "
	  "ipip_source.v4" },
	{ IF
	  "ipip_source = { v4 = \"10.0.0.9\"; };\n"
	  "vips = ( { name = \"web\"; address = \"10.0.0.1\"; port = 80; forwarding = \"ipip\";\n"
	  "  backends = ( { address = \"10.0.0.2\"; },\n"
	  "    { address = \"fd00::2\"; } ); } );\n",
	  "bad.conf:5: vip 'web': backend [fd00::2]:80: forwarding ipip to an IPv6 backend needs "
	  "ipip_source.v6" },
	/* A backend's check, merged over the VIP's. */
	{ IF "vips = ( { name = \"web\"; address = \"10.0.0.1\"; port = 80;\n"
	     "  check = { type = \"tcp\"; interval = 2; timeout = 1; };\n"
	     "  backends = ( { address = \"10.0.0.2\"; check = {\n"
	     "    timeout = 3; }; } ); } );\n",
	  "bad.conf:5: vip 'web': backend 10.0.0.2:80: check: timeout (3.0 s) must be shorter "
	  "than interval (2.0 s)" },
	{ IF "vips = ( { name = \"web\"; address = \"10.0.0.1\"; port = 80;\n"
	     "  check = { type = \"tcp\"; };\n"
	     "  backends = ( { address = \"10.0.0.2\"; check = {\n"
	     "    path = \"/x\"; }; } ); } );\n",
	  "bad.conf:5: vip 'web': backend 10.0.0.2:80: check: path does not apply to a tcp "
	  "check" },
	{ IF "vips = ( { name = \"web\"; address = \"10.0.0.1\"; port = 80;\n"
	     "  check = { type = \"http\"; };\n"
	     "  backends = ( { address = \"10.0.0.2\"; check = {\n"
	     "    type = \"udp\"; }; } ); } );\n",
	  "bad.conf:5: vip 'web': backend 10.0.0.2:80: check: a udp check needs send" },
	{ IF "vips = ( { name = \"web\"; address = \"10.0.0.1\"; port = 80;\n"
	     "  backends = ( { address = \"10.0.0.2\"; check = { rise = 0; }; } ); } );\n",
	  "bad.conf:3: vip 'web': backend 10.0.0.2:80: check: rise must be between 1 and 100, "
	  "not 0" },
	/* Local workers. */
	{ WVIP "  workers = \"node\"; } );\n",
	  "bad.conf:3: vip 'app': workers: must be a group { command = ...; port_base = ...; }" },
	{ WVIP "  workers = {\n"
	       "    port_base = 9000; }; } );\n",
	  "bad.conf:3: vip 'app': workers: command is required" },
	{ WVIP "  workers = { port_base = 9000;\n"
	       "    command = []; }; } );\n",
	  "bad.conf:4: vip 'app': workers: command is empty" },
	{ WVIP "  workers = { port_base = 9000;\n"
	       "    command = \"node server.js\"; }; } );\n",
	  "bad.conf:4: vip 'app': workers: command must be a list of strings, [\"program\", "
	  "\"arg\", ...]" },
	{ WVIP "  workers = { port_base = 9000; command = ( \"node\",\n"
	       "    1 ); }; } );\n",
	  "bad.conf:4: vip 'app': workers: command must be a list of strings" },
	{ WVIP "  workers = { command = [ \"node\" ];\n"
	       "    comand = [ \"x\" ]; port_base = 9000; }; } );\n",
	  "bad.conf:4: vip 'app': workers: unknown setting 'comand' (did you mean 'command'?)" },
	{ WVIP "  workers = { command = [ \"node\" ]; }; } );\n",
	  "bad.conf:3: vip 'app': workers: port_base is required" },
	{ WVIP "  workers = { command = [ \"node\" ];\n"
	       "    port_base = 0; }; } );\n",
	  "bad.conf:4: vip 'app': workers: port_base must be between 1 and 65535, not 0" },
	{ WVIP "  workers = { command = [ \"node\" ]; port_base = 9000;\n"
	       "    count = 0; }; } );\n",
	  "bad.conf:4: vip 'app': workers: count must be between 1 and 256, not 0" },
	{ WVIP "  workers = { command = [ \"node\" ]; port_base = 9000;\n"
	       "    count = 257; }; } );\n",
	  "bad.conf:4: vip 'app': workers: count must be between 1 and 256, not 257" },
	{ WVIP "  workers = { command = [ \"node\" ]; port_base = 9000; count = 4;\n"
	       "    alt_port_base = 9002; }; } );\n",
	  "bad.conf:4: vip 'app': workers: ports 9000-9003 overlap alternate ports 9002-9005: "
	  "alt_port_base must be at least count (4) away from port_base" },
	{ WVIP "  workers = { command = [ \"node\" ]; port_base = 9000;\n"
	       "    alt_port_base = 9000; }; } );\n",
	  "bad.conf:4: vip 'app': workers: ports 9000-9000 overlap alternate ports 9000-9000: "
	  "alt_port_base must be at least count (1) away from port_base" },
	{ WVIP "  workers = { command = [ \"node\" ]; count = 2;\n"
	       "    port_base = 65500; }; } );\n",
	  "bad.conf:4: vip 'app': workers: ports 65500-65755 go past 65535 (room for 256 "
	  "workers)" },
	{ WVIP "  workers = { command = [ \"node\" ]; count = 2;\n"
	       "    port_base = 65100; }; } );\n",
	  "bad.conf:4: vip 'app': workers: alternate ports 65356-65611 go past 65535 (room for "
	  "256 workers; alt_port_base defaults to port_base + 256)" },
	{ WVIP "  workers = { command = [ \"node\" ]; port_base = 9000; count = 2;\n"
	       "    alt_port_base = 65530; }; } );\n",
	  "bad.conf:4: vip 'app': workers: alternate ports 65530-65785 go past 65535 (room for "
	  "256 workers)" },
	{ WVIP "  workers = { command = [ \"node\" ]; count = 2;\n"
	       "    port_base = 75; }; } );\n",
	  "bad.conf:4: vip 'app': workers: ports 75-330 include port 80 of vip 'app' (line 2)" },
	{ IF "vips = ( { name = \"web\"; address = \"10.0.0.2\"; port = 8015; },\n"
	     "  { name = \"app\"; address = \"10.0.0.1\"; port = 80;\n"
	     "    workers = { command = [ \"node\" ]; count = 2; port_base = 8000;\n"
	     "      alt_port_base = 8010; }; } );\n",
	  "bad.conf:5: vip 'app': workers: alternate ports 8010-8019 include port 8015 of vip "
	  "'web' (line 2)" },
	{ IF "vips = ( { name = \"app\"; address = \"10.0.0.1\"; port = 80;\n"
	     "    workers = { command = [ \"node\" ]; port_base = 9000; count = 2; }; },\n"
	     "  { name = \"web\"; address = \"10.0.0.2\";\n"
	     "    port = 9300; } );\n",
	  "bad.conf:5: vip 'web': port 9300 is one of the worker alternate ports 9256-9511 of vip "
	  "'app' (line 3)" },
	{ IF "vips = ( { name = \"a\"; address = \"10.0.0.1\"; port = 80;\n"
	     "    workers = { command = [ \"node\" ]; port_base = 9000; count = 2; }; },\n"
	     "  { name = \"b\"; address = \"10.0.0.2\"; port = 80; workers = {\n"
	     "    command = [ \"node\" ]; count = 2;\n"
	     "    port_base = 9500; }; } );\n",
	  "bad.conf:6: vip 'b': workers: ports 9500-9755 overlap the alternate ports 9256-9511 of "
	  "vip 'a' (line 3)" },
	{ IF "metrics = { port = 9300; };\n"
	     "vips = ( { name = \"app\"; address = \"10.0.0.1\"; port = 80;\n"
	     "  workers = { command = [ \"node\" ]; count = 2;\n"
	     "    port_base = 9000; }; } );\n",
	  "bad.conf:5: vip 'app': workers: alternate ports 9256-9511 include the metrics port "
	  "9300" },
	{ WVIP "  workers = { command = [ \"node\" ]; port_base = 9000; env = {\n"
	       "    PORT = \"1\"; }; }; } );\n",
	  "bad.conf:4: vip 'app': workers: env: PORT is reserved: it is set for each worker" },
	{ WVIP "  workers = { command = [ \"node\" ]; port_base = 9000; env = {\n"
	       "    WORKER_ID = \"1\"; }; }; } );\n",
	  "bad.conf:4: vip 'app': workers: env: WORKER_ID is reserved: it is set for each worker" },
	{ WVIP "  workers = { command = [ \"node\" ]; port_base = 9000; env = {\n"
	       "    NODE-ENV = \"production\"; }; }; } );\n",
	  "bad.conf:4: vip 'app': workers: env: 'NODE-ENV' is not a variable name "
	  "([A-Za-z_][A-Za-z0-9_]*)" },
	{ WVIP "  workers = { command = [ \"node\" ]; port_base = 9000; env = {\n"
	       "    DEBUG = 1; }; }; } );\n",
	  "bad.conf:4: vip 'app': workers: env: DEBUG must be a string" },
	{ WVIP "  workers = { command = [ \"node\" ]; port_base = 9000;\n"
	       "    env = [ \"A=1\" ]; }; } );\n",
	  "bad.conf:4: vip 'app': workers: env: must be a group { NAME = \"value\"; ... }" },
	{ WVIP "  workers = { command = [ \"node\" ]; port_base = 9000;\n"
	       "    cwd = \"srv/app\"; }; } );\n",
	  "bad.conf:4: vip 'app': workers: cwd 'srv/app' must be an absolute path" },
	{ WVIP "  workers = { command = [ \"node\" ]; port_base = 9000;\n"
	       "    cwd = \"/nonexistent/bouncer\"; }; } );\n",
	  "bad.conf:4: vip 'app': workers: cwd '/nonexistent/bouncer': No such file or "
	  "directory" },
	{ WVIP "  workers = { command = [ \"node\" ]; port_base = 9000;\n"
	       "    cwd = \"/dev/null\"; }; } );\n",
	  "bad.conf:4: vip 'app': workers: cwd '/dev/null' is not a directory" },
	{ WVIP "  workers = { command = [ \"node\" ]; port_base = 9000;\n"
	       "    user = \"no-such-user-bouncer\"; }; } );\n",
	  "bad.conf:4: vip 'app': workers: user 'no-such-user-bouncer' does not exist" },
	{ WVIP "  workers = { command = [ \"node\" ]; port_base = 9000;\n"
	       "    ready_timeout = 0; }; } );\n",
	  "bad.conf:4: vip 'app': workers: ready_timeout must be between 0.001 and 86400.0 s, not "
	  "0 s" },
	{ WVIP "  workers = { command = [ \"node\" ]; port_base = 9000;\n"
	       "    kill_timeout = \"5s\"; }; } );\n",
	  "bad.conf:4: vip 'app': workers: kill_timeout must be a number of seconds" },
	{ WVIP "  workers = { command = [ \"node\" ]; port_base = 9000;\n"
	       "    restart = 1; }; } );\n",
	  "bad.conf:4: vip 'app': workers: restart: must be a group { backoff = ...; }" },
	{ WVIP "  workers = { command = [ \"node\" ]; port_base = 9000; restart = {\n"
	       "    backof = 1; }; }; } );\n",
	  "bad.conf:4: vip 'app': workers: restart: unknown setting 'backof' (did you mean "
	  "'backoff'?)" },
	{ WVIP "  workers = { command = [ \"node\" ]; port_base = 9000; restart = {\n"
	       "    backoff = 2; backoff_max = 1; }; }; } );\n",
	  "bad.conf:4: vip 'app': workers: restart: backoff_max (1.0 s) must not be less than "
	  "backoff (2.0 s)" },
	{ WVIP "  workers = { command = [ \"node\" ]; port_base = 9000; restart = {\n"
	       "    backoff = 40; }; }; } );\n",
	  "bad.conf:4: vip 'app': workers: restart: backoff_max (30.0 s, the default) must not be "
	  "less than backoff (40.0 s)" },
	{ WVIP "  workers = { command = [ \"node\" ]; port_base = 9000; restart = {\n"
	       "    crash_limit = 1001; }; }; } );\n",
	  "bad.conf:4: vip 'app': workers: restart: crash_limit must be between 1 and 1000, not "
	  "1001" },
	{ WVIP "  workers = { command = [ \"node\" ]; port_base = 9000; restart = {\n"
	       "    permanent_exit = [ 78, 256 ]; }; }; } );\n",
	  "bad.conf:4: vip 'app': workers: restart: permanent_exit: 256 is not an exit status "
	  "(0-255)" },
	{ WVIP "  workers = { command = [ \"node\" ]; port_base = 9000; restart = {\n"
	       "    permanent_exit = [ -1 ]; }; }; } );\n",
	  "bad.conf:4: vip 'app': workers: restart: permanent_exit: -1 is not an exit status "
	  "(0-255)" },
	{ WVIP "  workers = { command = [ \"node\" ]; port_base = 9000; restart = {\n"
	       "    permanent_exit = 78; }; }; } );\n",
	  "bad.conf:4: vip 'app': workers: restart: permanent_exit must be a list of exit "
	  "statuses, [ 78, ... ]" },
};

static void test_bad_configs(void **state)
{
	size_t failed = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *t = &bad_cases[i];
		struct cfg *c = (struct cfg *)&failed; /* must be reset to NULL */
		char err[512] = "";
		int ret = cfg_parse_string(t->text, "bad.conf", &c, err, sizeof(err));

		if (ret != -EINVAL || c || strcmp(err, t->msg) != 0) {
			print_error("case %zu: ret %d, cfg %p\n  want: %s\n  got:  %s\n", i, ret,
				    (void *)c, t->msg, err);
			failed++;
			if (!ret)
				cfg_free(c);
		}
	}
	assert_int_equal(failed, 0);
}

/* A growing text buffer for the generated configs. */
struct text {
	char *buf;
	size_t len, cap;
};

static void __attribute__((format(printf, 2, 3))) text_add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->buf ? t->buf + t->len : NULL, t->cap - t->len, fmt, ap);
		va_end(ap);
		assert_true(n >= 0);
		if (t->len + (size_t)n < t->cap)
			break;
		t->cap = (t->cap + (size_t)n + 1) * 2;
		t->buf = realloc(t->buf, t->cap);
		assert_non_null(t->buf);
	}
	t->len += (size_t)n;
}

/* nvips VIPs of one line each from line 3 on, each with one backend. */
static char *many_vips(int nvips)
{
	struct text t = { 0 };

	text_add(&t, IF "vips = (\n");
	for (int i = 0; i < nvips; i++)
		text_add(&t,
			 "{ address = \"10.1.%d.%d\"; port = 80; backends = ( { address = "
			 "\"10.2.0.1\"; } ); }%s\n",
			 i / 256, i % 256, i + 1 < nvips ? "," : "");
	text_add(&t, ");\n");
	return t.buf;
}

/* Two VIPs; the second's backends start on line 6 + first. */
static char *many_backends(int first, int second)
{
	struct text t = { 0 };
	int counts[2] = { first, second };

	text_add(&t, IF "vips = (\n");
	for (int v = 0; v < 2; v++) {
		text_add(&t, "{ name = \"%c\"; address = \"10.0.0.%d\"; port = 80; backends = (\n",
			 'a' + v, v + 1);
		for (int i = 0; i < counts[v]; i++)
			text_add(&t, "{ address = \"10.3.%d.%d\"; }%s\n", i / 256, i % 256,
				 i + 1 < counts[v] ? "," : "");
		text_add(&t, "); }%s\n", v == 0 ? "," : "");
	}
	text_add(&t, ");\n");
	return t.buf;
}

static void test_limits(void **state)
{
	char err[512] = "", want[128];
	struct cfg *c = NULL;
	char *text;

	(void)state;
	text = many_vips(BNC_MAX_VIPS);
	c = parse_ok(text);
	assert_int_equal(c->nvips, BNC_MAX_VIPS);
	assert_string_equal(c->vips[BNC_MAX_VIPS - 1].name, "10.1.1.255:80/tcp");
	cfg_free(c);
	free(text);

	/* The 513th VIP is on line 515. */
	text = many_vips(BNC_MAX_VIPS + 1);
	assert_int_equal(cfg_parse_string(text, "bad.conf", &c, err, sizeof(err)), -EINVAL);
	assert_null(c);
	snprintf(want, sizeof(want), "bad.conf:%d: more than %d vips", BNC_MAX_VIPS + 3,
		 BNC_MAX_VIPS);
	assert_string_equal(err, want);
	free(text);

	text = many_backends(4000, BNC_MAX_BACKENDS - 4000);
	c = parse_ok(text);
	assert_int_equal(c->vips[0].nbackends + c->vips[1].nbackends, BNC_MAX_BACKENDS);
	cfg_free(c);
	free(text);

	/* Backends count over all VIPs: the 97th of "b" is one too many. */
	text = many_backends(4000, BNC_MAX_BACKENDS - 4000 + 1);
	assert_int_equal(cfg_parse_string(text, "bad.conf", &c, err, sizeof(err)), -EINVAL);
	assert_null(c);
	snprintf(want, sizeof(want),
		 "bad.conf:%d: vip 'b': backend %d: more than %d backends in all",
		 4 + 4000 + 1 + BNC_MAX_BACKENDS - 4000 + 1, BNC_MAX_BACKENDS - 4000 + 1,
		 BNC_MAX_BACKENDS);
	assert_string_equal(err, want);
	free(text);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* cfg_load: errno of a file that cannot be read, @include relative to the
 * including file, and the included file's name in a message.
 */
static void test_load(void **state)
{
	char dir[] = "/tmp/bouncer-test-config-XXXXXX";
	char main_conf[64], vips_conf[64], err[512] = "", want[256];
	struct cfg *c = (struct cfg *)&state;

	(void)state;
	assert_int_equal(cfg_load("/nonexistent/bouncer.conf", &c, err, sizeof(err)), -ENOENT);
	assert_null(c);
	assert_string_equal(err, "/nonexistent/bouncer.conf: No such file or directory");

	assert_non_null(mkdtemp(dir));
	assert_int_equal(cfg_load(dir, &c, err, sizeof(err)), -EISDIR);
	snprintf(want, sizeof(want), "%s: Is a directory", dir);
	assert_string_equal(err, want);

	snprintf(main_conf, sizeof(main_conf), "%s/main.conf", dir);
	snprintf(vips_conf, sizeof(vips_conf), "%s/vips.conf", dir);
	write_file(main_conf, IF "@include \"vips.conf\"\n");
	write_file(vips_conf,
		   "vips = ( { name = \"inc\"; address = \"10.0.0.1\"; port = 80; } );\n");
	assert_int_equal(cfg_load(main_conf, &c, err, sizeof(err)), 0);
	assert_non_null(cfg_vip_find(c, "inc"));
	assert_string_equal(c->path, main_conf);
	cfg_free(c);

	write_file(vips_conf, "vips = ( { name = \"inc\";\n"
			      "  address = \"10.0.0.1\"; port = 0; } );\n");
	assert_int_equal(cfg_load(main_conf, &c, err, sizeof(err)), -EINVAL);
	assert_null(c);
	snprintf(want, sizeof(want), "%s:2: vip 'inc': port must be between 1 and 65535, not 0",
		 vips_conf);
	assert_string_equal(err, want);

	write_file(main_conf, IF "mode = ;\n");
	assert_int_equal(cfg_load(main_conf, &c, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:2: syntax error", main_conf);
	assert_string_equal(err, want);

	write_file(main_conf, IF "@include \"vips.conf\"\n");
	write_file(vips_conf, "vips = (\n"
			      "  { name = ; } );\n");
	assert_int_equal(cfg_load(main_conf, &c, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:2: syntax error", vips_conf);
	assert_string_equal(err, want);

	assert_int_equal(unlink(main_conf), 0);
	assert_int_equal(unlink(vips_conf), 0);
	assert_int_equal(rmdir(dir), 0);
}

/* A short buffer gets a truncated, terminated message; none is fine. */
static void test_err_buffer(void **state)
{
	struct cfg *c = NULL;
	char err[9];

	(void)state;
	memset(err, 'x', sizeof(err));
	assert_int_equal(cfg_parse_string("mode = 1;\n", "bad.conf", &c, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "bad.conf");
	memset(err, 'x', sizeof(err));
	assert_int_equal(cfg_parse_string("interfaces = [\"eth0\"];\nmode = 1;\n", "bad.conf", &c,
					  err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "bad.conf");
	assert_int_equal(cfg_parse_string("mode = 1;\n", "bad.conf", &c, NULL, 0), -EINVAL);
	assert_null(c);
	cfg_free(NULL);
}

/* The config file's text for one VIP named "web" with extra settings. */
#define WEB(extra) \
	IF "vips = ( { name = \"web\"; address = \"10.0.0.1\"; port = 80; " extra " } );\n"

struct vip_case {
	struct cfg_vip_args args; /* name "web", address and port unless given */
	const char *text; /* the same VIP in a config file */
};

/* A VIP from a control request gets the config file's messages, less the
 * file and line.
 */
static const struct vip_case vip_cases[] = {
	{ { .ring_size = 100, .has_ring_size = true }, WEB("ring_size = 100;") },
	{ { .ring_size = 1, .has_ring_size = true }, WEB("ring_size = 1;") },
	{ { .ring_size = 1000003, .has_ring_size = true }, WEB("ring_size = 1000003;") },
	{ { .address = "10.0.0.256" },
	  IF "vips = ( { name = \"web\"; address = \"10.0.0.256\"; port = 80; } );\n" },
	{ { .address = "224.0.0.1" },
	  IF "vips = ( { name = \"web\"; address = \"224.0.0.1\"; port = 80; } );\n" },
	{ { .port = 70000, .has_port = true },
	  IF "vips = ( { name = \"web\"; address = \"10.0.0.1\"; port = 70000; } );\n" },
	{ { .protocol = "sctp" }, WEB("protocol = \"sctp\";") },
	{ { .forwarding = "gre" }, WEB("forwarding = \"gre\";") },
	{ { .hash = "src" }, WEB("hash = \"src\";") },
	{ { .fail = "half" }, WEB("fail = \"half\";") },
	{ { .name = "my web" },
	  IF "vips = ( { name = \"my web\"; address = \"10.0.0.1\"; port = 80; } );\n" },
	{ { .check = CFG_CHECK_UDP }, WEB("check = { type = \"udp\"; };") },
};

static void test_vip_init(void **state)
{
	size_t failed = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(vip_cases) / sizeof(vip_cases[0]); i++) {
		struct cfg_vip_args a = vip_cases[i].args;
		char err[512] = "", want[512] = "";
		struct cfg *c = NULL;
		struct cfg_vip v;
		const char *rest;

		if (!a.name)
			a.name = "web";
		if (!a.address)
			a.address = "10.0.0.1";
		if (!a.has_port) {
			a.port = 80;
			a.has_port = true;
		}
		assert_int_equal(
			cfg_parse_string(vip_cases[i].text, "bad.conf", &c, want, sizeof(want)),
			-EINVAL);
		/* "bad.conf:2: vip 'web': ..." less "bad.conf:2: " */
		rest = strchr(want + strlen("bad.conf:"), ' ');
		assert_non_null(rest);
		rest++;
		if (cfg_vip_init(&v, &a, err, sizeof(err)) != -EINVAL || strcmp(err, rest) != 0) {
			print_error("case %zu:\n  want: %s\n  got:  %s\n", i, rest, err);
			failed++;
		}
		cfg_vip_release(&v);
	}
	assert_int_equal(failed, 0);
}

/* The defaults of a VIP from a request are the file's. */
static void test_vip_init_defaults(void **state)
{
	struct cfg_vip_args a = { .address = "fd00::80", .port = 443, .has_port = true };
	struct cfg *c = parse_ok(IF "vips = ( { address = \"fd00::80\"; port = 443;\n"
				    "  check = { type = \"tcp\"; }; } );\n");
	const struct cfg_vip *f = &c->vips[0];
	char err[256] = "x";
	struct cfg_vip v;

	(void)state;
	assert_int_equal(cfg_vip_init(&v, &a, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_string_equal(v.name, "[fd00::80]:443/tcp");
	assert_memory_equal(v.addr, f->addr, sizeof(v.addr));
	assert_int_equal(v.family, BNC_FAMILY_IPV6);
	assert_int_equal(v.port, 443);
	assert_int_equal(v.proto, IPPROTO_TCP);
	assert_int_equal(v.forwarding, BNC_FWD_DSR);
	assert_int_equal(v.ring_size, BNC_RING_SIZE_DEFAULT);
	assert_false(v.sticky);
	assert_true(v.fail_open);
	assert_int_equal(v.check.type, CFG_CHECK_NONE);
	assert_int_equal(v.nbackends, 0);
	assert_null(v.workers);
	cfg_vip_release(&v);

	/* A check type alone: as a block naming only that type. */
	a.check = CFG_CHECK_TCP;
	a.name = "web";
	a.protocol = "udp";
	a.forwarding = "ipip";
	a.hash = "source";
	a.fail = "closed";
	a.ring_size = 7;
	a.has_ring_size = true;
	assert_int_equal(cfg_vip_init(&v, &a, err, sizeof(err)), 0);
	assert_true(cfg_check_equal(&v.check, &f->check));
	assert_string_equal(v.name, "web");
	assert_int_equal(v.proto, IPPROTO_UDP);
	assert_int_equal(v.forwarding, BNC_FWD_IPIP);
	assert_int_equal(v.ring_size, 7);
	assert_true(v.sticky);
	assert_false(v.fail_open);
	cfg_vip_release(&v);
	cfg_free(c);

	/* What the file requires, a request must give too. */
	a.address = NULL;
	assert_int_equal(cfg_vip_init(&v, &a, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "vip 'web': address is required");
	cfg_vip_release(&v);
	a.address = "10.0.0.1";
	a.has_port = false;
	assert_int_equal(cfg_vip_init(&v, &a, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "vip 'web': port is required");
	cfg_vip_release(&v);
}

static void test_names(void **state)
{
	enum cfg_admin admin = CFG_ADMIN_MAINT;

	(void)state;
	assert_string_equal(cfg_admin_name(CFG_ADMIN_READY), "ready");
	assert_string_equal(cfg_admin_name(CFG_ADMIN_DRAIN), "drain");
	assert_string_equal(cfg_admin_name(CFG_ADMIN_MAINT), "maint");
	assert_string_equal(cfg_admin_name((enum cfg_admin)3), "?");
	assert_int_equal(cfg_admin_parse("ready", &admin), 0);
	assert_int_equal(admin, CFG_ADMIN_READY);
	assert_int_equal(cfg_admin_parse("drain", &admin), 0);
	assert_int_equal(admin, CFG_ADMIN_DRAIN);
	assert_int_equal(cfg_admin_parse("maint", &admin), 0);
	assert_int_equal(admin, CFG_ADMIN_MAINT);
	assert_int_equal(cfg_admin_parse("Ready", &admin), -EINVAL);
	assert_int_equal(cfg_admin_parse("", &admin), -EINVAL);
	assert_int_equal(admin, CFG_ADMIN_MAINT);

	assert_string_equal(cfg_check_type_name(CFG_CHECK_NONE), "none");
	assert_string_equal(cfg_check_type_name(CFG_CHECK_TCP), "tcp");
	assert_string_equal(cfg_check_type_name(CFG_CHECK_HTTP), "http");
	assert_string_equal(cfg_check_type_name(CFG_CHECK_UDP), "udp");
	assert_string_equal(cfg_check_type_name(CFG_CHECK_EXEC), "exec");
	assert_string_equal(cfg_check_type_name((enum cfg_check_type)5), "?");
}

/* A check copied outlives its config, compares equal to the original, and
 * any one field changed makes it differ.
 */
static void test_check_copy(void **state)
{
	static char *argv[] = { "/bin/check", "--port", NULL };
	struct cfg_check a = { .type = CFG_CHECK_HTTP,
			       .interval_ms = 2000,
			       .timeout_ms = 1000,
			       .rise = 2,
			       .fall = 3,
			       .http_path = "/healthz",
			       .http_expect = "ok",
			       .exec_argv = argv };
	struct cfg_check b, c;

	(void)state;
	assert_int_equal(cfg_check_copy(&b, &a), 0);
	assert_ptr_not_equal(b.http_path, a.http_path);
	assert_string_equal(b.http_path, "/healthz");
	assert_ptr_not_equal(b.exec_argv, a.exec_argv);
	assert_string_equal(b.exec_argv[1], "--port");
	assert_null(b.exec_argv[2]);
	assert_true(cfg_check_equal(&a, &b));
	assert_int_equal(cfg_check_copy(&c, &b), 0);
	free(c.http_expect);
	c.http_expect = strdup("OK");
	assert_false(cfg_check_equal(&b, &c));
	cfg_check_free(&c);
	assert_int_equal(cfg_check_copy(&c, &b), 0);
	c.exec_argv[1][0] = 'x';
	assert_false(cfg_check_equal(&b, &c));
	cfg_check_free(&c);
	assert_int_equal(cfg_check_copy(&c, &b), 0);
	c.fall = 4;
	assert_false(cfg_check_equal(&b, &c));
	cfg_check_free(&c);
	cfg_check_free(&b);
	assert_null(b.http_path);
}

/* Every field of a workers block read back. */
static void test_workers(void **state)
{
	struct cfg *c = parse_ok(
		IF
		"vips = ( { name = \"app\"; address = \"10.0.0.1\"; port = 80;\n"
		"  workers = {\n"
		"    command = [ \"node\", \"examples/app/server.js\" ];\n"
		"    count = 4; port_base = 9000; alt_port_base = 9300;\n"
		"    env = { NODE_ENV = \"production\"; GREETING = \"hi there\"; EMPTY = \"\"; };\n"
		"    cwd = \"/\"; user = \"root\";\n"
		"    ready_timeout = 2.5; kill_timeout = 1; drain = 0;\n"
		"    restart = { min_uptime = 3; backoff = 0.25; backoff_max = 10;\n"
		"      backoff_reset = 120; crash_limit = 7; crash_window = 30.5;\n"
		"      permanent_exit = [ 78, 1, 78, 0 ]; };\n"
		"  }; } );\n");
	const struct cfg_vip *v = &c->vips[0];
	const struct cfg_workers *w = v->workers;

	(void)state;
	assert_int_equal(v->nbackends, 0);
	assert_null(v->backends);
	assert_non_null(w);
	assert_int_equal(w->line, 3);
	assert_string_equal(w->argv[0], "node");
	assert_string_equal(w->argv[1], "examples/app/server.js");
	assert_null(w->argv[2]);
	assert_non_null(w->env);
	assert_string_equal(w->env[0], "NODE_ENV=production");
	assert_string_equal(w->env[1], "GREETING=hi there");
	assert_string_equal(w->env[2], "EMPTY=");
	assert_null(w->env[3]);
	assert_string_equal(w->cwd, "/");
	assert_string_equal(w->user, "root");
	assert_true(w->has_user);
	assert_int_equal(w->uid, 0);
	assert_int_equal(w->gid, 0);
	assert_int_equal(w->count, 4);
	assert_false(w->count_default);
	assert_int_equal(w->port_base, 9000);
	assert_int_equal(w->alt_port_base, 9300);
	assert_int_equal(w->ready_timeout_ms, 2500);
	assert_int_equal(w->kill_timeout_ms, 1000);
	assert_int_equal(w->drain_ms, 0);
	assert_int_equal(w->min_uptime_ms, 3000);
	assert_int_equal(w->backoff_initial_ms, 250);
	assert_int_equal(w->backoff_max_ms, 10000);
	assert_int_equal(w->backoff_reset_ms, 120000);
	assert_int_equal(w->crash_limit, 7);
	assert_int_equal(w->crash_window_ms, 30500);
	/* Sorted, without repeats. */
	assert_int_equal(w->npermanent, 3);
	assert_int_equal(w->permanent_exit[0], 0);
	assert_int_equal(w->permanent_exit[1], 1);
	assert_int_equal(w->permanent_exit[2], 78);
	cfg_free(c);
}

static void test_workers_defaults(void **state)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned int want = cpus < 1		     ? 1
			    : cpus > CFG_WORKERS_MAX ? CFG_WORKERS_MAX
						     : (unsigned)cpus;
	struct cfg *c =
		parse_ok(IF "vips = (\n"
			    "  { address = \"10.0.0.1\"; port = 80;\n"
			    "    workers = { command = [ \"app\" ]; port_base = 9000; }; },\n"
			    "  { address = \"10.0.0.2\"; port = 80; workers = {\n"
			    "    command = [ \"app\" ]; port_base = 10000;\n"
			    "    alt_port_base = 10001; env = { }; restart = { }; }; },\n"
			    "  { address = \"10.0.0.3\"; port = 80; } );\n");
	const struct cfg_workers *w = c->vips[0].workers;

	(void)state;
	assert_non_null(w);
	assert_int_equal(w->count, want);
	assert_true(w->count_default);
	assert_int_equal(w->port_base, 9000);
	assert_int_equal(w->alt_port_base, 9000 + CFG_WORKERS_MAX);
	assert_null(w->argv[1]);
	assert_null(w->env);
	assert_null(w->cwd);
	assert_null(w->user);
	assert_false(w->has_user);
	assert_int_equal(w->ready_timeout_ms, 10000);
	assert_int_equal(w->kill_timeout_ms, 5000);
	assert_int_equal(w->drain_ms, 30000);
	assert_int_equal(w->min_uptime_ms, 5000);
	assert_int_equal(w->backoff_initial_ms, 100);
	assert_int_equal(w->backoff_max_ms, 30000);
	assert_int_equal(w->backoff_reset_ms, 60000);
	assert_int_equal(w->crash_limit, 10);
	assert_int_equal(w->crash_window_ms, 60000);
	assert_int_equal(w->npermanent, 0);
	assert_null(w->permanent_exit);

	/* The default count stays within the room the ports leave. */
	w = c->vips[1].workers;
	assert_int_equal(w->count, 1);
	assert_true(w->count_default);
	assert_int_equal(w->alt_port_base, 10001);
	assert_null(w->env);
	assert_int_equal(w->backoff_max_ms, 30000);

	assert_null(c->vips[2].workers);
	cfg_free(c);
}

/* Workers only, workers and backends, and ports that only look close to
 * a clash.
 */
static void test_workers_accepted(void **state)
{
	struct cfg *c = parse_ok(
		IF "metrics = { port = 9368; };\n"
		   "vips = (\n"
		   /* Workers only, no backends setting at all. */
		   "  { name = \"a\"; address = \"10.0.0.1\"; port = 80;\n"
		   "    workers = { command = [ \"app\" ]; count = 2; port_base = 8000; }; },\n"
		   /* Both; ranges right after a's; below the base. */
		   "  { name = \"b\"; address = \"10.0.0.2\"; port = 80;\n"
		   "    backends = ( { address = \"10.0.0.3\"; } );\n"
		   "    workers = { command = [ \"app\" ]; count = 2; port_base = 8520;\n"
		   "      alt_port_base = 8512; }; },\n"
		   /* udp: the tcp VIPs' ports and workers do not matter, nor the
		    * metrics port.
		    */
		   "  { name = \"c\"; address = \"10.0.0.4\"; port = 53; protocol = \"udp\";\n"
		   "    backends = ( );\n"
		   "    workers = { command = [ \"app\" ]; count = 256; port_base = 8000;\n"
		   "      alt_port_base = 9256; }; },\n"
		   /* Right at the top: 65280-65535, 65024-65279. */
		   "  { name = \"d\"; address = \"10.0.0.5\"; port = 80;\n"
		   "    workers = { command = [ \"app\" ]; count = 256; port_base = 65280;\n"
		   "      alt_port_base = 65024; }; },\n"
		   /* A VIP port just past b's ports. */
		   "  { name = \"e\"; address = \"10.0.0.6\"; port = 8528; }\n"
		   ");\n");

	(void)state;
	assert_int_equal(c->nvips, 5);
	assert_non_null(c->vips[0].workers);
	assert_int_equal(c->vips[0].nbackends, 0);
	assert_int_equal(c->vips[1].nbackends, 1);
	assert_int_equal(c->vips[1].workers->alt_port_base, 8512);
	assert_int_equal(c->vips[2].workers->count, 256);
	assert_int_equal(c->vips[3].workers->port_base, 65280);
	assert_null(c->vips[4].workers);
	cfg_free(c);
}

/* A copy owns its strings and compares equal; only count and
 * count_default may differ for the same program.
 */
static void test_workers_copy(void **state)
{
	struct cfg *c = parse_ok(
		IF "vips = ( { address = \"10.0.0.1\"; port = 80; workers = {\n"
		   "  command = [ \"node\", \"server.js\" ]; count = 2; port_base = 9000;\n"
		   "  env = { A = \"1\"; }; cwd = \"/\"; user = \"root\";\n"
		   "  restart = { permanent_exit = [ 78 ]; }; }; } );\n");
	const struct cfg_workers *w = c->vips[0].workers;
	struct cfg_workers *d, *e;

	(void)state;
	assert_null(cfg_workers_dup(NULL));
	cfg_workers_free(NULL);
	d = cfg_workers_dup(w);
	assert_non_null(d);
	assert_ptr_not_equal(d->argv, w->argv);
	assert_ptr_not_equal(d->argv[0], w->argv[0]);
	assert_string_equal(d->argv[1], "server.js");
	assert_null(d->argv[2]);
	assert_ptr_not_equal(d->env, w->env);
	assert_string_equal(d->env[0], "A=1");
	assert_ptr_not_equal(d->cwd, w->cwd);
	assert_string_equal(d->user, "root");
	assert_ptr_not_equal(d->permanent_exit, w->permanent_exit);
	assert_int_equal(d->permanent_exit[0], 78);
	assert_int_equal(d->port_base, 9000);
	assert_true(cfg_workers_same_program(w, d));
	assert_true(cfg_workers_same_program(NULL, NULL));
	assert_false(cfg_workers_same_program(w, NULL));
	assert_false(cfg_workers_same_program(NULL, w));

	/* count is what a reload may change in place. */
	d->count = 7;
	d->count_default = true;
	assert_true(cfg_workers_same_program(w, d));

	/* Any other field makes another program. */
	e = cfg_workers_dup(d);
	e->argv[1][0] = 'x';
	assert_false(cfg_workers_same_program(d, e));
	cfg_workers_free(e);
	e = cfg_workers_dup(d);
	free(e->env[0]);
	e->env[0] = strdup("A=2");
	assert_false(cfg_workers_same_program(d, e));
	cfg_workers_free(e);
	e = cfg_workers_dup(d);
	free(e->env[0]);
	e->env[0] = NULL; /* no env entry at all */
	assert_false(cfg_workers_same_program(d, e));
	cfg_workers_free(e);
	e = cfg_workers_dup(d);
	free(e->cwd);
	e->cwd = NULL;
	assert_false(cfg_workers_same_program(d, e));
	cfg_workers_free(e);
	e = cfg_workers_dup(d);
	e->uid = 1;
	assert_false(cfg_workers_same_program(d, e));
	cfg_workers_free(e);
	e = cfg_workers_dup(d);
	e->alt_port_base++;
	assert_false(cfg_workers_same_program(d, e));
	cfg_workers_free(e);
	e = cfg_workers_dup(d);
	e->backoff_max_ms++;
	assert_false(cfg_workers_same_program(d, e));
	cfg_workers_free(e);
	e = cfg_workers_dup(d);
	e->permanent_exit[0] = 77;
	assert_false(cfg_workers_same_program(d, e));
	cfg_workers_free(e);
	e = cfg_workers_dup(d);
	e->npermanent = 0;
	assert_false(cfg_workers_same_program(d, e));
	cfg_workers_free(e);

	/* The copy outlives the config. */
	cfg_free(c);
	assert_string_equal(d->argv[0], "node");
	assert_string_equal(d->cwd, "/");
	cfg_workers_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_backend_override),
		cmocka_unit_test(test_accepted),
		cmocka_unit_test(test_hash_seed),
		cmocka_unit_test(test_bad_configs),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_err_buffer),
		cmocka_unit_test(test_vip_init),
		cmocka_unit_test(test_vip_init_defaults),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_check_copy),
		cmocka_unit_test(test_workers),
		cmocka_unit_test(test_workers_defaults),
		cmocka_unit_test(test_workers_accepted),
		cmocka_unit_test(test_workers_copy),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
