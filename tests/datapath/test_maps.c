// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The map API against the real object: VIP address entries, ring swaps
 * across sizes, flow listing and flushing, the flow count that stats
 * reuses, counters, the flow hash seed of the config map, and maps pinned
 * and adopted by a second load (what an agent restart relies on).
 */
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

#include <arpa/inet.h>
#include <netinet/in.h>

#include "bouncer_hash.h"
#include "bouncerd/flow_watch.h"
#include "dp_case.h"

static uint32_t run(struct dp_env *env, const struct pkt *in)
{
	uint8_t out[PKT_MAX_LEN];
	uint32_t verdict;
	size_t len;

	assert_int_equal(dp_run(env, in, out, &len, &verdict), 0);
	return verdict;
}

static struct bnc_vip_key v4_vip(const char *addr, uint16_t port, uint8_t proto)
{
	struct bnc_vip_key key = { .port = htons(port), .proto = proto, .family = BNC_FAMILY_IPV4 };

	assert_int_equal(pkt_parse_ip4(addr, (uint8_t *)key.addr), 0);
	return key;
}

/* Marks every slot of the VIP's ring changed (prev = cur), as rings are
 * after changes of the VIP's backends: new flows are then recorded.
 */
static void ring_all_changed(struct dp_env *env, const struct bnc_vip_key *key)
{
	struct bnc_vip_value vip;
	uint32_t *slots;

	assert_int_equal(bnc_maps_vip_lookup(env->maps, key, &vip), 0);
	slots = calloc(vip.ring_size, sizeof(*slots));
	assert_non_null(slots);
	assert_int_equal(bnc_maps_ring_read(env->maps, vip.vip_id, slots, vip.ring_size), 0);
	for (uint32_t i = 0; i < vip.ring_size; i++)
		slots[i] = bnc_ring_word(bnc_ring_cur(slots[i]), bnc_ring_cur(slots[i]));
	assert_int_equal(bnc_maps_ring_write(env->maps, key, slots, vip.ring_size), 0);
	free(slots);
}

/* Echo is answered while any VIP uses the address, and not after. */
static void test_address_entry_follows_vips(void **state)
{
	struct dp_env *env = *state;
	struct bnc_vip_key http = v4_vip("10.100.0.50", 80, IPPROTO_TCP);
	struct bnc_vip_key https = v4_vip("10.100.0.50", 443, IPPROTO_TCP);
	struct bnc_vip_value value = { .vip_id = 100 };
	struct dp_input echo = { .family = 4, .proto = IPPROTO_ICMP, .daddr = "10.100.0.50" };
	struct pkt p;

	if (geteuid() != 0)
		skip();
	dp_build_input(&p, &echo);
	assert_int_equal(run(env, &p), XDP_PASS);
	assert_int_equal(bnc_maps_vip_add(env->maps, &http, &value), 0);
	value.vip_id = 101;
	assert_int_equal(bnc_maps_vip_add(env->maps, &https, &value), 0);
	assert_int_equal(run(env, &p), XDP_TX);
	assert_int_equal(bnc_maps_vip_del(env->maps, &http), 0);
	assert_int_equal(run(env, &p), XDP_TX);
	assert_int_equal(bnc_maps_vip_del(env->maps, &https), 0);
	assert_int_equal(run(env, &p), XDP_PASS);
	assert_int_equal(bnc_maps_vip_del(env->maps, &https), -ENOENT);
}

static int count_vip(const struct bnc_vip_key *key, const struct bnc_vip_value *value, void *arg)
{
	(void)key;
	(void)value;
	(*(int *)arg)++;
	return 0;
}

static void test_vip_foreach_skips_address_entries(void **state)
{
	struct dp_env *env = *state;
	int n = 0;

	if (geteuid() != 0)
		skip();
	assert_int_equal(bnc_maps_vip_foreach(env->maps, count_vip, &n), 0);
	/* dp.c installs 14 services on 9 addresses. */
	assert_int_equal(n, 14);
}

static void test_ring_swap_sizes(void **state)
{
	static const uint32_t sizes[] = { 7, 1021, 65537, 13 };
	struct dp_env *env = *state;
	struct bnc_vip_key key = v4_vip("10.100.0.1", 80, IPPROTO_TCP);
	struct bnc_vip_value value;
	struct dp_input syn = {
		.family = 4, .proto = IPPROTO_TCP, .daddr = "10.100.0.1", .sport = 1, .dport = 80
	};
	uint32_t *slots = calloc(65537, sizeof(*slots)), *back = calloc(65537, sizeof(*back));
	struct pkt p;

	if (geteuid() != 0)
		skip();
	assert_non_null(slots);
	assert_non_null(back);
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		for (uint32_t i = 0; i < sizes[s]; i++)
			slots[i] = i % 2 ? DP_BE_V4_A : DP_BE_V4_B;
		assert_int_equal(bnc_maps_ring_swap(env->maps, &key, slots, sizes[s]), 0);
		assert_int_equal(bnc_maps_vip_lookup(env->maps, &key, &value), 0);
		assert_int_equal(value.ring_size, sizes[s]);
		assert_int_equal(bnc_maps_ring_read(env->maps, value.vip_id, back, sizes[s]), 0);
		assert_memory_equal(slots, back, sizes[s] * sizeof(*slots));
		/* New flows still find a backend in the new ring. */
		syn.sport = 1000 + s;
		dp_build_input(&p, &syn);
		assert_int_equal(run(env, &p), XDP_TX);
	}
	assert_int_equal(bnc_maps_ring_swap(env->maps, &key, slots, 0), -EINVAL);
	assert_int_equal(bnc_maps_ring_swap(env->maps, &key, slots, BNC_RING_SIZE_MAX + 1),
			 -EINVAL);
	free(slots);
	free(back);
}

struct flow_tally {
	int total;
	int on_a;
};

static int tally_flow(const struct bnc_flow_key *key, const struct bnc_flow_value *value, void *arg)
{
	struct flow_tally *t = arg;

	(void)key;
	t->total++;
	t->on_a += value->backend_id == DP_BE_V4_A;
	return 0;
}

static void test_flow_list_and_flush(void **state)
{
	struct dp_env *env = *state;
	struct bnc_vip_key key = v4_vip("10.100.0.1", 80, IPPROTO_TCP);
	struct dp_input syn = {
		.family = 4, .proto = IPPROTO_TCP, .daddr = "10.100.0.1", .dport = 80
	};
	uint32_t a = DP_BE_V4_A, b = DP_BE_V4_B;
	struct flow_tally t = { 0 };
	size_t flushed;
	struct pkt p;

	if (geteuid() != 0)
		skip();
	assert_int_equal(bnc_maps_flow_flush(env->maps, NULL, NULL), 0);
	/* Ten flows on A, then five on B, in changed slots (which record
	 * new flows).
	 */
	assert_int_equal(dp_ring_fill(env, &key, &a, 1), 0);
	ring_all_changed(env, &key);
	for (int i = 0; i < 15; i++) {
		if (i == 10)
			assert_int_equal(dp_ring_fill(env, &key, &b, 1), 0);
		syn.sport = 2000 + i;
		dp_build_input(&p, &syn);
		assert_int_equal(run(env, &p), XDP_TX);
	}
	assert_int_equal(bnc_maps_flow_foreach(env->maps, tally_flow, &t), 0);
	assert_int_equal(t.total, 15);
	assert_int_equal(t.on_a, 10);
	assert_int_equal(bnc_maps_flow_flush(env->maps, &a, &flushed), 0);
	assert_int_equal(flushed, 10);
	t = (struct flow_tally){ 0 };
	assert_int_equal(bnc_maps_flow_foreach(env->maps, tally_flow, &t), 0);
	assert_int_equal(t.total, 5);
	assert_int_equal(t.on_a, 0);
	assert_int_equal(bnc_maps_flow_flush(env->maps, NULL, &flushed), 0);
	assert_int_equal(flushed, 5);
}

/* stats with "flows" (top, the status page: every second) reuses a count
 * until it is COUNT_COST_FACTOR (20) times as old as it took to make, and
 * counts afresh after the agent deletes flows.
 */
static void test_flow_count_is_reused_then_renewed(void **state)
{
	struct dp_env *env = *state;
	struct bnc_vip_key key = v4_vip("10.100.0.1", 80, IPPROTO_TCP);
	struct dp_input syn = {
		.family = 4, .proto = IPPROTO_TCP, .daddr = "10.100.0.1", .dport = 80
	};
	struct flow_watch w = { 0 };
	struct bnc_flow_usage u;
	uint32_t a = DP_BE_V4_A;
	const __u32 *per_backend;
	double age, later;
	struct pkt p;

	if (geteuid() != 0)
		skip();
	assert_int_equal(dp_ring_fill(env, &key, &a, 1), 0);
	ring_all_changed(env, &key);
	for (int i = 0; i < 15; i++) {
		if (i == 10) {
			per_backend = flow_watch_count(&w, env->maps, 100.0, &u, &age);
			assert_non_null(per_backend);
			assert_int_equal(per_backend[a], 10);
			assert_int_equal(u.ipv4, 10);
			assert_true(age == 0.0);
		}
		syn.sport = 3000 + i;
		dp_build_input(&p, &syn);
		assert_int_equal(run(env, &p), XDP_TX);
	}
	/* Asked again at once: the first count, with its age. */
	later = 100.0 + 10 * w.count_cost_s;
	per_backend = flow_watch_count(&w, env->maps, later, &u, &age);
	assert_non_null(per_backend);
	assert_int_equal(per_backend[a], 10);
	assert_true(age == later - 100.0);
	/* Older than twenty times its cost: counted again. */
	later = 100.0 + 20 * w.count_cost_s + 0.001;
	per_backend = flow_watch_count(&w, env->maps, later, &u, &age);
	assert_non_null(per_backend);
	assert_int_equal(per_backend[a], 15);
	assert_int_equal(u.ipv4, 15);
	assert_true(age == 0.0);
	/* A flush is counted at once. */
	assert_int_equal(bnc_maps_flow_flush(env->maps, NULL, NULL), 0);
	flow_watch_deleted(&w, 15);
	per_backend = flow_watch_count(&w, env->maps, later, &u, &age);
	assert_non_null(per_backend);
	assert_int_equal(per_backend[a], 0);
	assert_int_equal(u.ipv4, 0);
	flow_watch_free(&w);
}

static void test_counters_and_reset(void **state)
{
	struct dp_env *env = *state;
	struct dp_input syn = {
		.family = 4, .proto = IPPROTO_TCP, .daddr = "10.100.0.1", .sport = 7, .dport = 80
	};
	struct bnc_global_stats g;
	struct bnc_traffic vip;
	struct pkt p;

	if (geteuid() != 0)
		skip();
	assert_int_equal(bnc_maps_stats_reset(env->maps), 0);
	dp_build_input(&p, &syn);
	/* The SYN, then two packets of the established connection. */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(run(env, &p), XDP_TX);
		dp_set_tcp_flags(&p, PKT_TCP_ACK);
	}
	assert_int_equal(bnc_maps_vip_stats(env->maps, 0, &vip), 0);
	assert_int_equal(vip.packets, 3);
	assert_int_equal(vip.bytes, 3 * p.len);
	assert_int_equal(bnc_maps_global_stats(env->maps, &g), 0);
	assert_int_equal(g.counters[BNC_STAT_FWD_DSR], 3);
	/* A clean ring slot: no flow table read, no entry. */
	assert_int_equal(g.counters[BNC_STAT_RING_CLEAN], 1);
	assert_int_equal(g.counters[BNC_STAT_FLOW_MISS], 0);
	assert_int_equal(g.counters[BNC_STAT_FLOW_INSERT], 0);
	assert_int_equal(g.counters[BNC_STAT_FLOW_CACHE_HIT], 2);
	assert_string_equal(bnc_stat_name(BNC_STAT_FWD_DSR), "fwd_dsr");
	assert_null(bnc_stat_name(BNC_STAT_MAX));
	assert_int_equal(bnc_maps_stats_reset(env->maps), 0);
	assert_int_equal(bnc_maps_global_stats(env->maps, &g), 0);
	assert_int_equal(g.counters[BNC_STAT_FWD_DSR], 0);
}

/* A flow forwarded a moment ago (in the table and this CPU's cache) stops
 * being forwarded as soon as its VIP is removed.
 */
static void test_removed_vip_stops_its_flows(void **state)
{
	struct dp_env *env = *state;
	struct bnc_vip_key key = v4_vip("10.100.0.1", 80, IPPROTO_TCP);
	struct dp_input syn = {
		.family = 4, .proto = IPPROTO_TCP, .daddr = "10.100.0.1", .sport = 5, .dport = 80
	};
	struct pkt p;

	if (geteuid() != 0)
		skip();
	dp_build_input(&p, &syn);
	assert_int_equal(run(env, &p), XDP_TX);
	assert_int_equal(run(env, &p), XDP_TX);
	assert_int_equal(bnc_maps_vip_del(env->maps, &key), 0);
	assert_int_equal(run(env, &p), XDP_PASS);
}

/* After a flush, a flow is a new flow again: the ring decides, even for a
 * flow that this CPU's cache still held.
 */
static void test_flushed_flow_follows_the_ring(void **state)
{
	struct dp_env *env = *state;
	struct bnc_vip_key key = v4_vip("10.100.0.1", 80, IPPROTO_TCP);
	struct dp_input syn = {
		.family = 4, .proto = IPPROTO_TCP, .daddr = "10.100.0.1", .sport = 6, .dport = 80
	};
	uint32_t a = DP_BE_V4_A, b = DP_BE_V4_B;
	struct bnc_global_stats before, after;
	struct bnc_traffic on_b, on_b_after;
	struct bnc_flow_key flow;
	struct bnc_flow_value fv;
	struct pkt p;

	if (geteuid() != 0)
		skip();
	dp_build_input(&p, &syn);
	dp_flow_of(&p, &flow);
	assert_int_equal(dp_ring_fresh(env, &key, &b, 1), 0);
	assert_int_equal(dp_ring_fill(env, &key, &a, 1), 0);
	/* Born in a changed slot (B, then A): recorded on A. */
	assert_int_equal(run(env, &p), XDP_TX);
	dp_set_tcp_flags(&p, PKT_TCP_ACK);
	assert_int_equal(dp_ring_fill(env, &key, &b, 1), 0);
	assert_int_equal(run(env, &p), XDP_TX);
	assert_int_equal(bnc_maps_flow_lookup(env->maps, &flow, &fv), 0);
	assert_int_equal(fv.backend_id, a);
	/* Flushed, it is a flow the slot's changes do not know: it goes to
	 * the slot's previous backend, B, and nothing is recorded.
	 */
	assert_int_equal(bnc_maps_flow_flush(env->maps, NULL, NULL), 0);
	assert_int_equal(bnc_maps_global_stats(env->maps, &before), 0);
	assert_int_equal(bnc_maps_backend_stats(env->maps, b, &on_b), 0);
	assert_int_equal(run(env, &p), XDP_TX);
	assert_int_equal(bnc_maps_global_stats(env->maps, &after), 0);
	assert_int_equal(after.counters[BNC_STAT_MISS_PREV] - before.counters[BNC_STAT_MISS_PREV],
			 1);
	assert_int_equal(bnc_maps_backend_stats(env->maps, b, &on_b_after), 0);
	assert_int_equal(on_b_after.packets - on_b.packets, 1);
	assert_int_equal(bnc_maps_flow_lookup(env->maps, &flow, &fv), -ENOENT);
}

#define SEED_FLOWS 32

/* Runs a packet of flow number i (its client port) to the VIP at
 * 10.100.0.1:80, a SYN or tcp_flags, and returns the backend that the
 * program recorded for the flow.
 */
static uint32_t run_flow(struct dp_env *env, unsigned int i, uint8_t tcp_flags,
			 struct bnc_flow_key *flow)
{
	struct dp_input in = { .family = 4,
			       .proto = IPPROTO_TCP,
			       .daddr = "10.100.0.1",
			       .sport = (uint16_t)(1000 + i),
			       .dport = 80,
			       .tcp_flags = tcp_flags };
	struct bnc_flow_value fv;
	struct pkt p;

	dp_build_input(&p, &in);
	dp_flow_of(&p, flow);
	assert_int_equal(run(env, &p), XDP_TX);
	assert_int_equal(bnc_maps_flow_lookup(env->maps, flow, &fv), 0);
	return fv.backend_id;
}

/* Reads the ring of 10.100.0.1:80 into slots (DP_RING_SIZE of them) and
 * returns the VIP's flags, which flow_hash() takes.
 */
static uint32_t read_ring(struct dp_env *env, uint32_t *slots)
{
	struct bnc_vip_key key = v4_vip("10.100.0.1", 80, IPPROTO_TCP);
	struct bnc_vip_value vip;

	/* Changed slots record new flows, so that run_flow() reads them;
	 * slots gets each slot's backend.
	 */
	ring_all_changed(env, &key);
	assert_int_equal(bnc_maps_vip_lookup(env->maps, &key, &vip), 0);
	assert_int_equal(vip.ring_size, DP_RING_SIZE);
	assert_int_equal(bnc_maps_ring_read(env->maps, vip.vip_id, slots, DP_RING_SIZE), 0);
	for (uint32_t i = 0; i < DP_RING_SIZE; i++)
		slots[i] = bnc_ring_cur(slots[i]);
	return vip.flags;
}

/* New flows follow the seed in the config map: under each of two seeds,
 * every flow goes to the backend of the slot that flow_hash() with that
 * seed names, and some flow goes elsewhere under the other seed (which is
 * what lets a tier pick a seed of its own).
 */
static void test_ring_choice_follows_the_seed(void **state)
{
	static const uint32_t seeds[2] = { BNC_HASH_SEED, 0x9e3779b9u };
	struct dp_env *env = *state;
	uint32_t slots[DP_RING_SIZE], chosen[2][SEED_FLOWS], flags;
	struct bnc_flow_key flow;
	struct bnc_config bc;
	unsigned int moved = 0;

	if (geteuid() != 0)
		skip();
	flags = read_ring(env, slots);
	for (int s = 0; s < 2; s++) {
		assert_int_equal(dp_set_hash_seed(env, seeds[s]), 0);
		/* What ring.show reports as the seed new flows hash with. */
		assert_int_equal(bnc_maps_get_config(env->maps, &bc), 0);
		assert_int_equal(bc.hash_seed, seeds[s]);
		/* Placed under the other seed, they would stay where they are. */
		assert_int_equal(bnc_maps_flow_flush(env->maps, NULL, NULL), 0);
		for (unsigned int i = 0; i < SEED_FLOWS; i++) {
			chosen[s][i] = run_flow(env, i, 0, &flow);
			assert_int_equal(chosen[s][i],
					 slots[flow_hash(&flow, flags, seeds[s]) % DP_RING_SIZE]);
		}
	}
	for (unsigned int i = 0; i < SEED_FLOWS; i++)
		moved += chosen[0][i] != chosen[1][i];
	assert_int_not_equal(moved, 0);
}

/* What a reload that changes the seed does to established flows: nothing.
 * Their next packets go to the backend their entry names, also those that
 * the new seed would place elsewhere (there must be some, or this proves
 * nothing).
 */
static void test_established_flows_keep_their_backend_across_seeds(void **state)
{
	struct dp_env *env = *state;
	uint32_t slots[DP_RING_SIZE], placed[SEED_FLOWS], flags;
	struct bnc_flow_key flow;
	unsigned int elsewhere = 0;

	if (geteuid() != 0)
		skip();
	flags = read_ring(env, slots);
	for (unsigned int i = 0; i < SEED_FLOWS; i++)
		placed[i] = run_flow(env, i, 0, &flow);
	assert_int_equal(dp_set_hash_seed(env, 0x9e3779b9u), 0);
	for (unsigned int i = 0; i < SEED_FLOWS; i++) {
		assert_int_equal(run_flow(env, i, PKT_TCP_ACK, &flow), placed[i]);
		elsewhere +=
			slots[flow_hash(&flow, flags, env->hash_seed) % DP_RING_SIZE] != placed[i];
	}
	assert_int_not_equal(elsewhere, 0);
}

static char pin_dir[64];

/* The pinned maps go whatever the test's outcome: nothing is left on bpffs. */
static int remove_pin_dir(void **state)
{
	char cmd[96];

	(void)state;
	if (!pin_dir[0])
		return 0;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", pin_dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* A second load adopts the pinned maps: VIPs, rings and flows survive. */
static void test_pinned_maps_are_adopted(void **state)
{
	struct dp_input syn = {
		.family = 4, .proto = IPPROTO_TCP, .daddr = "10.100.0.1", .sport = 9, .dport = 80
	};
	struct bnc_maps_opts opts = { .flow_table_size = 4096 };
	struct bnc_vip_key key = v4_vip("10.100.0.1", 80, IPPROTO_TCP);
	struct bnc_flow_value fv;
	struct bnc_flow_key flow;
	struct bnc_vip_value value;
	struct bnc_maps *first, *second;
	struct dp_env env;
	struct pkt p;

	(void)state;
	if (geteuid() != 0)
		skip();
	snprintf(pin_dir, sizeof(pin_dir), "/sys/fs/bpf/bouncer-test-%d", (int)getpid());
	opts.pin_dir = pin_dir;
	assert_int_equal(bnc_maps_open(&opts, &first), 0);
	value = (struct bnc_vip_value){ .vip_id = 3 };
	assert_int_equal(bnc_maps_vip_add(first, &key, &value), 0);
	assert_int_equal(bnc_maps_backend_set(first, DP_BE_V4_A,
					      &(struct bnc_backend){ .state = BNC_BACKEND_UP,
								     .family = BNC_FAMILY_IPV4 }),
			 0);
	{
		/* Changed slots, whose new flows are recorded. */
		uint32_t w = bnc_ring_word(DP_BE_V4_A, DP_BE_V4_B);
		uint32_t slots[7] = { w, w, w, w, w, w, w };

		assert_int_equal(bnc_maps_ring_write(first, &key, slots, 7), 0);
	}
	env.maps = first;
	env.prog_fd = bnc_maps_prog_fd(first);
	dp_build_input(&p, &syn);
	assert_int_equal(run(&env, &p), XDP_TX);
	bnc_maps_close(first);

	assert_int_equal(bnc_maps_open(&opts, &second), 0);
	assert_int_equal(bnc_maps_vip_lookup(second, &key, &value), 0);
	assert_int_equal(value.vip_id, 3);
	assert_int_equal(value.ring_size, 7);
	dp_flow_of(&p, &flow);
	assert_int_equal(bnc_maps_flow_lookup(second, &flow, &fv), 0);
	assert_int_equal(fv.backend_id, DP_BE_V4_A);
	env.maps = second;
	env.prog_fd = bnc_maps_prog_fd(second);
	assert_int_equal(run(&env, &p), XDP_TX);
	bnc_maps_close(second);
}

/* Each test gets a freshly loaded world. */
#define WITH_ENV(test) \
	cmocka_unit_test_setup_teardown(test, dp_env_cmocka_setup, dp_env_cmocka_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		WITH_ENV(test_address_entry_follows_vips),
		WITH_ENV(test_vip_foreach_skips_address_entries),
		WITH_ENV(test_ring_swap_sizes),
		WITH_ENV(test_flow_list_and_flush),
		WITH_ENV(test_flow_count_is_reused_then_renewed),
		WITH_ENV(test_counters_and_reset),
		WITH_ENV(test_removed_vip_stops_its_flows),
		WITH_ENV(test_flushed_flow_follows_the_ring),
		WITH_ENV(test_ring_choice_follows_the_seed),
		WITH_ENV(test_established_flows_keep_their_backend_across_seeds),
		cmocka_unit_test_teardown(test_pinned_maps_are_adopted, remove_pin_dir),
	};

	return cmocka_run_group_tests_name("map API", tests, NULL, NULL);
}
