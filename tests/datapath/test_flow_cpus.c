// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* One connection, one backend, whatever CPU each of its packets is
 * processed on. Every CPU has its own flow cache; these cases fill the
 * caches of two CPUs, change where the flow belongs on one of them (a SYN
 * on the reused 5-tuple, a re-pick, an entry placed again after eviction)
 * and check that the other CPU follows. BPF_PROG_TEST_RUN runs the program
 * on the calling thread's CPU, so the test moves itself between CPUs.
 */
#define _GNU_SOURCE /* sched_setaffinity */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <netinet/in.h>

#include "dp_case.h"

static int run_on_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

/* Root and two CPUs to move between, or the test skips. */
static void need_two_cpus(void)
{
	if (geteuid() != 0)
		skip();
	if (run_on_cpu(1) || run_on_cpu(0)) {
		run_on_cpu(0);
		skip(); /* one CPU: no other cache to go stale */
	}
}

static uint64_t stat(struct dp_env *env, enum bnc_stat which)
{
	struct bnc_global_stats g;

	assert_int_equal(bnc_maps_global_stats(env->maps, &g), 0);
	return g.counters[which];
}

/* Runs p on cpu and checks that it went, untouched but for the MACs, to
 * backend_id (the test VIPs used here are dsr).
 */
static void expect_backend(struct dp_env *env, int cpu, const struct pkt *p, uint32_t backend_id)
{
	uint8_t out[PKT_MAX_LEN];
	uint32_t verdict;
	struct pkt want;
	size_t len;

	assert_int_equal(run_on_cpu(cpu), 0);
	assert_int_equal(dp_run(env, p, out, &len, &verdict), 0);
	assert_int_equal(verdict, XDP_TX);
	assert_int_equal(dp_want_dsr(env, p, backend_id, &want), 0);
	assert_int_equal(len, want.len);
	/* The destination MAC names the backend. */
	assert_memory_equal(out, want.data, len);
}

static void ring_to(struct dp_env *env, const struct pkt *p, uint32_t backend_id)
{
	struct bnc_vip_key vip;

	dp_vip_of(p, &vip);
	assert_int_equal(dp_ring_fill(env, &vip, &backend_id, 1), 0);
}

/* A VIP's first ring: every slot clean. */
static void ring_fresh(struct dp_env *env, const struct pkt *p, uint32_t backend_id)
{
	struct bnc_vip_key vip;

	dp_vip_of(p, &vip);
	assert_int_equal(dp_ring_fresh(env, &vip, &backend_id, 1), 0);
}

/* A connection on backend A whose packets were processed on both CPUs:
 * each CPU's cache holds it. Leaves the packet an ACK of it.
 */
static void connection_on_a(struct dp_env *env, struct pkt *p, uint16_t sport)
{
	struct dp_input syn = { .family = 4,
				.proto = IPPROTO_TCP,
				.daddr = "10.100.0.1",
				.sport = sport,
				.dport = 80 };
	uint64_t cache_hits;

	dp_build_input(p, &syn);
	ring_fresh(env, p, DP_BE_V4_A);
	expect_backend(env, 0, p, DP_BE_V4_A);
	dp_set_tcp_flags(p, PKT_TCP_ACK);
	expect_backend(env, 1, p, DP_BE_V4_A);
	/* Both caches answer for it now. */
	cache_hits = stat(env, BNC_STAT_FLOW_CACHE_HIT);
	expect_backend(env, 0, p, DP_BE_V4_A);
	expect_backend(env, 1, p, DP_BE_V4_A);
	assert_int_equal(stat(env, BNC_STAT_FLOW_CACHE_HIT) - cache_hits, 2);
}

/* A client reuses the 5-tuple of a finished connection after the ring
 * changed: the SYN goes where the ring says now, and so must every later
 * packet of the new connection, on either CPU.
 */
static void test_reused_port_follows_its_syn(void **state)
{
	struct dp_env *env = *state;
	uint64_t cache_hits;
	struct pkt p;

	need_two_cpus();
	connection_on_a(env, &p, 4001);
	ring_to(env, &p, DP_BE_V4_B);
	dp_set_tcp_flags(&p, PKT_TCP_SYN);
	expect_backend(env, 0, &p, DP_BE_V4_B);
	dp_set_tcp_flags(&p, PKT_TCP_ACK);
	expect_backend(env, 1, &p, DP_BE_V4_B);
	/* Nor does the CPU that placed the SYN cache it: in a changed slot
	 * every packet reads the table, so that its entry's last_seen stays
	 * true for the agent.
	 */
	cache_hits = stat(env, BNC_STAT_FLOW_CACHE_HIT);
	expect_backend(env, 0, &p, DP_BE_V4_B);
	assert_int_equal(stat(env, BNC_STAT_FLOW_CACHE_HIT) - cache_hits, 0);
	expect_backend(env, 1, &p, DP_BE_V4_B);
	run_on_cpu(0);
}

/* A flow re-picked on one CPU while its backend was down stays on the new
 * backend when the old one comes back, on the other CPU too. As the agent
 * does, every change of a backend's state is followed by a ring swap.
 */
static void test_repicked_flow_stays_on_every_cpu(void **state)
{
	struct dp_env *env = *state;
	struct pkt p;

	need_two_cpus();
	connection_on_a(env, &p, 4002);
	ring_to(env, &p, DP_BE_V4_B);
	assert_int_equal(bnc_maps_backend_set_state(env->maps, DP_BE_V4_A, BNC_BACKEND_DOWN), 0);
	expect_backend(env, 0, &p, DP_BE_V4_B);
	ring_to(env, &p, DP_BE_V4_B);
	expect_backend(env, 0, &p, DP_BE_V4_B);
	assert_int_equal(bnc_maps_backend_set_state(env->maps, DP_BE_V4_A, BNC_BACKEND_UP), 0);
	ring_to(env, &p, DP_BE_V4_A);
	expect_backend(env, 1, &p, DP_BE_V4_B);
	expect_backend(env, 0, &p, DP_BE_V4_B);
	run_on_cpu(0);
}

/* A UDP flow from before a ring change, cached on one CPU, has no table
 * entry (a clean slot records none): its next datagram, on another CPU,
 * finds the slot changed and goes to the slot's previous backend, as the
 * first CPU's cache says, not to the new one.
 */
static void test_udp_flow_keeps_prev_on_every_cpu(void **state)
{
	struct dp_env *env = *state;
	struct dp_input dgram = {
		.family = 4, .proto = IPPROTO_UDP, .daddr = "10.100.0.1", .sport = 4003, .dport = 53
	};
	struct bnc_flow_value fv;
	struct bnc_flow_key flow;
	uint64_t prev_sent;
	struct pkt p;

	need_two_cpus();
	dp_build_input(&p, &dgram);
	ring_fresh(env, &p, DP_BE_V4_A);
	expect_backend(env, 0, &p, DP_BE_V4_A);
	expect_backend(env, 0, &p, DP_BE_V4_A);
	ring_to(env, &p, DP_BE_V4_B);
	dp_flow_of(&p, &flow);
	assert_int_equal(bnc_maps_flow_lookup(env->maps, &flow, &fv), -ENOENT);
	prev_sent = stat(env, BNC_STAT_MISS_PREV);
	expect_backend(env, 1, &p, DP_BE_V4_A);
	assert_int_equal(stat(env, BNC_STAT_MISS_PREV) - prev_sent, 1);
	expect_backend(env, 0, &p, DP_BE_V4_A);
	/* Still nothing recorded: a flood of such datagrams grows no state. */
	assert_int_equal(bnc_maps_flow_lookup(env->maps, &flow, &fv), -ENOENT);
	run_on_cpu(0);
}

/* A flow recorded on one CPU and seen next on another (RSS moved it, or
 * a second queue): the other CPU's cache has never seen it, so the flow
 * table answers, and the flow keeps its backend.
 */
static void test_flow_table_serves_another_cpu(void **state)
{
	struct dp_env *env = *state;
	struct dp_input syn = {
		.family = 4, .proto = IPPROTO_TCP, .daddr = "10.100.0.1", .sport = 8, .dport = 80
	};
	uint64_t hits, cache_hits;
	struct pkt p;

	need_two_cpus();
	dp_build_input(&p, &syn);
	/* A changed slot (A, then C): its SYN is recorded, on C. */
	ring_fresh(env, &p, DP_BE_V4_A);
	ring_to(env, &p, DP_BE_V4_C);
	expect_backend(env, 0, &p, DP_BE_V4_C);
	dp_set_tcp_flags(&p, PKT_TCP_ACK);
	ring_to(env, &p, DP_BE_V4_B);
	hits = stat(env, BNC_STAT_FLOW_HIT);
	cache_hits = stat(env, BNC_STAT_FLOW_CACHE_HIT);
	expect_backend(env, 1, &p, DP_BE_V4_C);
	assert_int_equal(stat(env, BNC_STAT_FLOW_HIT) - hits, 1);
	assert_int_equal(stat(env, BNC_STAT_FLOW_CACHE_HIT) - cache_hits, 0);
	/* Back on the first CPU the table answers too (changed slot). */
	expect_backend(env, 0, &p, DP_BE_V4_C);
	assert_int_equal(stat(env, BNC_STAT_FLOW_HIT) - hits, 2);
	assert_int_equal(stat(env, BNC_STAT_FLOW_CACHE_HIT) - cache_hits, 0);
}

/* Each test gets a freshly loaded world. */
#define WITH_ENV(test) \
	cmocka_unit_test_setup_teardown(test, dp_env_cmocka_setup, dp_env_cmocka_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		WITH_ENV(test_reused_port_follows_its_syn),
		WITH_ENV(test_repicked_flow_stays_on_every_cpu),
		WITH_ENV(test_udp_flow_keeps_prev_on_every_cpu),
		WITH_ENV(test_flow_table_serves_another_cpu),
	};

	return cmocka_run_group_tests_name("one flow, one backend, on every CPU", tests, NULL,
					   NULL);
}
