// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The runner for table-driven datapath cases; see dp_case.h. */
#define _GNU_SOURCE /* sched_setaffinity */
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <netinet/in.h>

#include "dp_case.h"

void dp_build_input(struct pkt *p, const struct dp_input *in)
{
	static const uint8_t ip_options[8] = { 1, 1, 1, 1, 1, 1, 1, 0 }; /* NOPs, EOL */
	static const uint8_t routing[6] = { 0, 0 }; /* type 0, no segments left */
	const char *client = in->saddr ? in->saddr : (in->family == 6 ? "fd00:1::5" : "10.0.1.5");

	pkt_init(p);
	pkt_eth(p, DP_LB_MAC, DP_CLIENT_MAC);
	for (int i = 0; i < in->nvlan; i++)
		pkt_vlan(p, in->nvlan == 2 && i == 0 ? 0x88a8 : 0x8100, 100 + i);
	if (in->family == 6) {
		pkt_ipv6(p, client, in->daddr, NULL);
		if (in->ext_headers) {
			pkt_ipv6_ext(p, 0, NULL, 0);
			pkt_ipv6_ext(p, 60, NULL, 0);
			pkt_ipv6_ext(p, 43, routing, sizeof(routing));
		}
		if (in->frag)
			pkt_ipv6_frag(p, in->frag == 2 ? in->proto : 0, in->frag == 2 ? 185 : 0,
				      in->frag == 1, 0x1234);
	} else {
		struct pkt_ipv4_opts o = {
			.df = !in->no_df && !in->frag,
			.mf = in->frag == 1,
			.frag_off = in->frag == 2 ? 185 : 0,
			.id = in->frag ? 0x1234 : 0,
			.options = in->ip_options ? ip_options : NULL,
			.options_len = in->ip_options ? sizeof(ip_options) : 0,
			/* A later fragment has no L4 header to name it. */
			.proto = in->frag == 2 ? in->proto : 0,
		};

		pkt_ipv4(p, client, in->daddr, &o);
	}
	if (in->frag != 2) {
		switch (in->proto) {
		case IPPROTO_TCP:
			pkt_tcp(p, in->sport, in->dport,
				in->tcp_flags ? in->tcp_flags : PKT_TCP_SYN, NULL);
			break;
		case IPPROTO_UDP:
			pkt_udp(p, in->sport, in->dport);
			break;
		case IPPROTO_ICMP:
			pkt_icmp4(p, 8, 0, 0x42 << 16 | 1); /* echo request */
			break;
		case IPPROTO_ICMPV6:
			pkt_icmp6(p, 128, 0, 0x42 << 16 | 1);
			break;
		default:
			break;
		}
	}
	if (in->payload)
		pkt_payload(p, NULL, in->payload);
	assert_int_equal(pkt_finish(p), 0);
}

int dp_env_cmocka_setup(void **state)
{
	struct dp_env *env = calloc(1, sizeof(*env));

	if (!env)
		return -1;
	*state = env;
	if (geteuid() != 0)
		return 0;
	return dp_env_setup(env) ? -1 : 0;
}

int dp_env_cmocka_teardown(void **state)
{
	dp_env_teardown(*state);
	free(*state);
	return 0;
}

void dp_set_tcp_flags(struct pkt *p, uint8_t flags)
{
	int tcp = pkt_find(p, PKT_TCP, 0);

	assert_true(tcp >= 0);
	pkt_put8(p, p->layers[tcp].off + 13, flags);
	assert_int_equal(pkt_finish(p), 0);
}

/* A global counter summed over CPUs. */
static uint64_t counter(struct dp_env *env, enum bnc_stat stat)
{
	struct bnc_global_stats g;

	assert_int_equal(bnc_maps_global_stats(env->maps, &g), 0);
	return g.counters[stat];
}

static struct bnc_traffic backend_traffic(struct dp_env *env, uint32_t id)
{
	struct bnc_traffic t;

	assert_int_equal(bnc_maps_backend_stats(env->maps, id, &t), 0);
	return t;
}

/* Whether the ring places in's flow as a new one: a TCP SYN. */
static bool placed_by_ring(const struct dp_input *in)
{
	return in->proto == IPPROTO_TCP && (in->tcp_flags == 0 || in->tcp_flags == PKT_TCP_SYN);
}

static const char *verdict_name(uint32_t v)
{
	static const char *const names[] = { "ABORTED", "DROP", "PASS", "TX", "REDIRECT" };

	return v < sizeof(names) / sizeof(names[0]) ? names[v] : "?";
}

static void expect_bytes(const uint8_t *got, size_t got_len, const struct pkt *want)
{
	if (got_len == want->len && memcmp(got, want->data, got_len) == 0)
		return;
	fprintf(stderr, "output differs from the expected frame:\n");
	pkt_hexdiff(stderr, got, got_len, want->data, want->len);
	fail();
}

/* Per-test state: the case and its own freshly loaded world, so that no
 * case sees another's flows or counters, and a failed case still frees it.
 */
struct dp_case_state {
	const struct dp_case *c;
	struct dp_env env;
};

static int dp_case_setup(void **state)
{
	struct dp_case_state *st = calloc(1, sizeof(*st));
	int err;

	if (!st)
		return -1;
	st->c = *state;
	*state = st;
	if (geteuid() != 0)
		return 0; /* dp_case_run() skips */
	err = dp_env_setup(&st->env);
	if (err) {
		fprintf(stderr, "cannot set up the datapath: %s\n", strerror(-err));
		return -1;
	}
	return 0;
}

static int dp_case_teardown(void **state)
{
	struct dp_case_state *st = *state;

	dp_env_teardown(&st->env);
	free(st);
	return 0;
}

void dp_case_run(void **state)
{
	struct dp_case_state *st = *state;
	const struct dp_case *c = st->c;
	struct dp_env *env = &st->env;
	uint8_t out[PKT_MAX_LEN];
	struct bnc_traffic be_before = { 0 }, be_after;
	uint64_t before;
	struct bnc_flow_key flow;
	struct bnc_flow_value fv;
	uint32_t verdict, backend = c->backend;
	struct pkt in, want;
	size_t out_len;
	char err[256];

	if (geteuid() != 0)
		skip();

	if (c->build)
		c->build(&in, &c->in);
	else
		dp_build_input(&in, &c->in);
	if (c->setup)
		assert_int_equal(c->setup(env, &in), 0);
	dp_flow_of(&in, &flow);
	if ((c->expect == DP_DSR || c->expect == DP_IPIP) && !backend)
		assert_int_equal(dp_ring_choice(env, &flow, &backend), 0);
	if (backend)
		be_before = backend_traffic(env, backend);
	before = counter(env, c->counter);

	assert_int_equal(dp_run(env, &in, out, &out_len, &verdict), 0);

	if (verdict != c->verdict)
		fail_msg("verdict %s, want %s", verdict_name(verdict), verdict_name(c->verdict));
	assert_int_equal(counter(env, c->counter) - before, 1);
	switch (c->expect) {
	case DP_SAME:
		expect_bytes(out, out_len, &in);
		break;
	case DP_DSR:
		assert_int_equal(dp_want_dsr(env, &in, backend, &want), 0);
		expect_bytes(out, out_len, &want);
		break;
	case DP_IPIP:
		assert_int_equal(dp_want_ipip(env, &in, backend, &want), 0);
		expect_bytes(out, out_len, &want);
		break;
	case DP_BUILT:
		c->want(&in, &want);
		expect_bytes(out, out_len, &want);
		break;
	}
	if (verdict == XDP_TX || verdict == XDP_REDIRECT) {
		if (pkt_verify(out, out_len, err, sizeof(err)))
			fail_msg("output frame is not valid: %s", err);
	}
	if (c->expect == DP_DSR || c->expect == DP_IPIP) {
		/* The backend's counter moved, and a TCP/UDP flow's entry,
		 * if it has one (a clean ring slot records none), names the
		 * backend it went to.
		 */
		be_after = backend_traffic(env, backend);
		assert_int_equal(be_after.packets - be_before.packets, 1);
		/* Its flow count moved exactly when the ring placed the flow. */
		assert_int_equal(be_after.flows - be_before.flows, placed_by_ring(&c->in) ? 1 : 0);
		if (flow.proto == IPPROTO_TCP || flow.proto == IPPROTO_UDP) {
			if (bnc_maps_flow_lookup(env->maps, &flow, &fv) == 0)
				assert_int_equal(fv.backend_id, backend);
		}
	}
}

int dp_cases_main(const char *name, const struct dp_case *cases, size_t n)
{
	struct CMUnitTest *tests = calloc(n, sizeof(*tests));
	cpu_set_t one;
	int failed;

	if (!tests)
		return 1;
	/* Test runs use the per-CPU flow cache of the CPU they run on: stay
	 * on one, so a case's set-up and its packet see the same cache.
	 */
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu(), &one);
	if (sched_setaffinity(0, sizeof(one), &one))
		perror("sched_setaffinity");
	for (size_t i = 0; i < n; i++) {
		tests[i].name = cases[i].name;
		tests[i].test_func = dp_case_run;
		tests[i].initial_state = (void *)&cases[i];
		tests[i].setup_func = dp_case_setup;
		tests[i].teardown_func = dp_case_teardown;
	}
	failed = _cmocka_run_group_tests(name, tests, n, NULL, NULL);
	free(tests);
	return failed;
}
