// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Every state a flow can be in under ring slot history (see
 * BNC_RING_PREV_SHIFT): a clean slot forwards with no flow table read and
 * records nothing; a changed slot's table hit keeps its backend, its SYN
 * miss is recorded on the new backend, its other misses go to the slot's
 * previous backend; a second change keeps the oldest previous backend; a
 * cleaned slot sends every packet to its backend; and floods of SYNs,
 * ACKs or UDP datagrams record nothing in clean slots; a flow that the
 * walk past a down backend placed in another slot's backend moves once;
 * the agent's cleaning drops the idle entries of other backends than
 * their slot's, which a reused port would otherwise meet after the next
 * change.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <netinet/in.h>

#include <bpf/bpf.h>

#include "bouncerd/daemon.h"
#include "bouncerd/ring_clean.h"
#include "bouncerd/ring_history.h"
#include "dp_case.h"

struct seen {
	uint32_t backend;
	uint64_t counter; /* how much the counter asked for moved */
};

static uint64_t stat(struct dp_env *env, enum bnc_stat which)
{
	struct bnc_global_stats g;

	assert_int_equal(bnc_maps_global_stats(env->maps, &g), 0);
	return g.counters[which];
}

/* Runs p and returns the backend it went to (the dsr output names it by
 * its MAC), and how much counter moved.
 */
static struct seen send_pkt(struct dp_env *env, const struct pkt *p, enum bnc_stat counter)
{
	uint8_t out[PKT_MAX_LEN];
	struct seen s;
	uint64_t before = stat(env, counter);
	uint32_t verdict;
	size_t len;

	assert_int_equal(dp_run(env, p, out, &len, &verdict), 0);
	assert_int_equal(verdict, XDP_TX);
	assert_int_equal(dp_dsr_backend(env, p, out, len, &s.backend), 0);
	s.counter = stat(env, counter) - before;
	return s;
}

static void ring_to(struct dp_env *env, const struct pkt *p, uint32_t id, bool fresh)
{
	struct bnc_vip_key vip;

	dp_vip_of(p, &vip);
	assert_int_equal(fresh ? dp_ring_fresh(env, &vip, &id, 1) : dp_ring_fill(env, &vip, &id, 1),
			 0);
}

static void build(struct pkt *p, uint8_t proto, uint16_t sport, uint8_t tcp_flags)
{
	struct dp_input in = { .family = 4,
			       .proto = proto,
			       .daddr = "10.100.0.1",
			       .sport = sport,
			       .dport = proto == IPPROTO_UDP ? 53 : 80,
			       .tcp_flags = tcp_flags };

	dp_build_input(p, &in);
}

static bool recorded(struct dp_env *env, const struct pkt *p, uint32_t *backend)
{
	struct bnc_flow_value fv;
	struct bnc_flow_key flow;

	dp_flow_of(p, &flow);
	if (bnc_maps_flow_lookup(env->maps, &flow, &fv))
		return false;
	*backend = fv.backend_id;
	return true;
}

/* A clean slot: SYN and data go to its backend, nothing is read from or
 * written to the flow table.
 */
static void test_clean_slot_records_nothing(void **state)
{
	struct dp_env *env = *state;
	struct seen s;
	uint32_t id;
	struct pkt p;

	if (geteuid() != 0)
		skip();
	build(&p, IPPROTO_TCP, 5001, 0);
	ring_to(env, &p, DP_BE_V4_A, true);
	s = send_pkt(env, &p, BNC_STAT_RING_CLEAN);
	assert_int_equal(s.backend, DP_BE_V4_A);
	assert_int_equal(s.counter, 1);
	assert_false(recorded(env, &p, &id));
	assert_int_equal(stat(env, BNC_STAT_RING_CHANGED), 0);
}

/* A changed slot (A, then B): a SYN is recorded on B and its data follows
 * the entry after a second change (to C); a mid-stream packet no entry
 * knows goes to the oldest previous backend, A, and is not recorded.
 */
static void test_changed_slot_hit_and_misses(void **state)
{
	struct dp_env *env = *state;
	struct pkt syn, old;
	struct seen s;
	uint32_t id;

	if (geteuid() != 0)
		skip();
	build(&syn, IPPROTO_TCP, 5002, 0);
	build(&old, IPPROTO_TCP, 5003, PKT_TCP_ACK);
	ring_to(env, &syn, DP_BE_V4_A, true);
	ring_to(env, &syn, DP_BE_V4_B, false);
	s = send_pkt(env, &syn, BNC_STAT_FLOW_INSERT);
	assert_int_equal(s.backend, DP_BE_V4_B);
	assert_int_equal(s.counter, 1);
	assert_true(recorded(env, &syn, &id));
	assert_int_equal(id, DP_BE_V4_B);
	/* The second change keeps A as the previous backend. */
	ring_to(env, &syn, DP_BE_V4_C, false);
	dp_set_tcp_flags(&syn, PKT_TCP_ACK);
	/* The table answers: a changed slot's flows are never cached. */
	s = send_pkt(env, &syn, BNC_STAT_FLOW_HIT);
	assert_int_equal(s.backend, DP_BE_V4_B);
	assert_int_equal(s.counter, 1);
	s = send_pkt(env, &old, BNC_STAT_MISS_PREV);
	assert_int_equal(s.backend, DP_BE_V4_A);
	assert_int_equal(s.counter, 1);
	assert_false(recorded(env, &old, &id));
	/* The previous backend down: its flows are lost, and go to cur. */
	assert_int_equal(bnc_maps_backend_set_state(env->maps, DP_BE_V4_A, BNC_BACKEND_DOWN), 0);
	s = send_pkt(env, &old, BNC_STAT_FLOW_MISS);
	assert_int_equal(s.backend, DP_BE_V4_C);
	assert_int_equal(s.counter, 1);
}

/* A drained backend: the agent's ring no longer gives it new flows, and
 * its slots remember it, so its connections keep it while new ones
 * (SYNs) go to the new backend, recorded.
 */
static void test_drained_backend_keeps_its_flows_only(void **state)
{
	struct dp_env *env = *state;
	struct pkt syn, est;
	struct seen s;
	uint32_t id;

	if (geteuid() != 0)
		skip();
	build(&syn, IPPROTO_TCP, 5004, 0);
	build(&est, IPPROTO_TCP, 5005, PKT_TCP_ACK);
	ring_to(env, &syn, DP_BE_V4_A, true);
	assert_int_equal(send_pkt(env, &est, BNC_STAT_RING_CLEAN).backend, DP_BE_V4_A);
	assert_int_equal(bnc_maps_backend_set_state(env->maps, DP_BE_V4_A, BNC_BACKEND_DRAIN), 0);
	/* Before the agent's ring swap the slot reads as changed: the flow
	 * keeps A, a new one finds no other backend in this one-backend ring.
	 */
	assert_int_equal(send_pkt(env, &est, BNC_STAT_MISS_PREV).counter, 0);
	ring_to(env, &syn, DP_BE_V4_B, false);
	assert_int_equal(send_pkt(env, &est, BNC_STAT_MISS_PREV).backend, DP_BE_V4_A);
	dp_set_tcp_flags(&syn, PKT_TCP_SYN);
	s = send_pkt(env, &syn, BNC_STAT_FLOW_INSERT);
	assert_int_equal(s.backend, DP_BE_V4_B);
	assert_true(recorded(env, &syn, &id));
	assert_int_equal(id, DP_BE_V4_B);
}

/* A cleaned slot (ring_history_clean()) forwards every packet to its
 * backend again, without reading the table.
 */
static void test_cleaned_slot_is_clean(void **state)
{
	struct dp_env *env = *state;
	struct bnc_vip_key key;
	struct bnc_vip_value vip;
	uint32_t slots[DP_RING_SIZE];
	struct pkt old;
	struct seen s;

	if (geteuid() != 0)
		skip();
	build(&old, IPPROTO_TCP, 5006, PKT_TCP_ACK);
	ring_to(env, &old, DP_BE_V4_A, true);
	ring_to(env, &old, DP_BE_V4_B, false);
	assert_int_equal(send_pkt(env, &old, BNC_STAT_MISS_PREV).backend, DP_BE_V4_A);
	dp_vip_of(&old, &key);
	assert_int_equal(bnc_maps_vip_lookup(env->maps, &key, &vip), 0);
	assert_int_equal(bnc_maps_ring_read(env->maps, vip.vip_id, slots, DP_RING_SIZE), 0);
	assert_int_equal(ring_history_changed(slots, DP_RING_SIZE), DP_RING_SIZE);
	assert_int_equal(ring_history_clean(slots, NULL, DP_RING_SIZE), DP_RING_SIZE);
	assert_int_equal(bnc_maps_ring_write(env->maps, &key, slots, DP_RING_SIZE), 0);
	/* No new generation, as the agent's cleaning makes none: a changed
	 * slot's choices never reach the flow cache, so none is stale.
	 */
	s = send_pkt(env, &old, BNC_STAT_RING_CLEAN);
	assert_int_equal(s.backend, DP_BE_V4_B);
	assert_int_equal(s.counter, 1);
}

/* Floods in clean slots: SYNs, ACKs and UDP datagrams of 2,000 spoofed
 * sources each record nothing, so they cannot evict the entry of a flow
 * born in a changed slot, which keeps its backend.
 */
static void test_floods_record_nothing(void **state)
{
	static const struct {
		uint8_t proto, flags;
	} kinds[] = { { IPPROTO_TCP, 0 }, { IPPROTO_TCP, PKT_TCP_ACK }, { IPPROTO_UDP, 0 } };
	struct dp_env *env = *state;
	struct pkt est, flood;
	uint64_t inserts;
	uint32_t id;

	if (geteuid() != 0)
		skip();
	build(&est, IPPROTO_TCP, 5007, 0);
	ring_to(env, &est, DP_BE_V4_A, true);
	ring_to(env, &est, DP_BE_V4_B, false);
	assert_int_equal(send_pkt(env, &est, BNC_STAT_FLOW_INSERT).backend, DP_BE_V4_B);
	/* Clean slots again (the agent cleaned them), on the flow's backend. */
	ring_to(env, &est, DP_BE_V4_B, true);
	inserts = stat(env, BNC_STAT_FLOW_INSERT);
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		for (uint16_t i = 0; i < 2000; i++) {
			build(&flood, kinds[k].proto, (uint16_t)(20000 + i), kinds[k].flags);
			assert_int_equal(send_pkt(env, &flood, BNC_STAT_RING_CLEAN).counter, 1);
		}
	}
	assert_int_equal(stat(env, BNC_STAT_FLOW_INSERT) - inserts, 0);
	assert_true(recorded(env, &est, &id));
	assert_int_equal(id, DP_BE_V4_B);
	dp_set_tcp_flags(&est, PKT_TCP_ACK);
	assert_int_equal(send_pkt(env, &est, BNC_STAT_RING_CLEAN).backend, DP_BE_V4_B);
}

/* A clean slot whose backend went down before the agent's next ring: a
 * flow's packet walks to another slot's backend and is recorded there,
 * and the next ring keeps the slot changed, so that the entry holds the
 * flow there instead of the ring moving it a second time.
 */
static void test_walked_flow_moves_once(void **state)
{
	const uint32_t before[] = { DP_BE_V4_A, DP_BE_V4_B }, after[] = { DP_BE_V4_B, DP_BE_V4_C };
	struct dp_env *env = *state;
	struct bnc_flow_key flow;
	struct bnc_vip_key vip;
	uint32_t id = BNC_BACKEND_NONE;
	uint16_t sport;
	struct seen s;
	struct pkt p;

	if (geteuid() != 0)
		skip();
	/* A flow on A now, on C in the next ring, and within the walk's
	 * reach of a slot of B while A is down: about a fifth of them.
	 */
	for (sport = 6000; sport < 6100; sport++) {
		build(&p, IPPROTO_UDP, sport, 0);
		dp_vip_of(&p, &vip);
		dp_flow_of(&p, &flow);
		assert_int_equal(dp_ring_fresh(env, &vip, after, 2), 0);
		assert_int_equal(dp_ring_choice(env, &flow, &id), 0);
		if (id != DP_BE_V4_C)
			continue;
		assert_int_equal(dp_ring_fresh(env, &vip, before, 2), 0);
		assert_int_equal(bnc_maps_backend_set_state(env->maps, DP_BE_V4_A, BNC_BACKEND_UP),
				 0);
		assert_int_equal(dp_ring_choice(env, &flow, &id), 0);
		if (id != DP_BE_V4_A)
			continue;
		assert_int_equal(
			bnc_maps_backend_set_state(env->maps, DP_BE_V4_A, BNC_BACKEND_DOWN), 0);
		if (dp_ring_choice(env, &flow, &id) == 0 && id == DP_BE_V4_B)
			break;
	}
	assert_true(sport < 6100);
	s = send_pkt(env, &p, BNC_STAT_FLOW_INSERT);
	assert_int_equal(s.backend, DP_BE_V4_B);
	assert_int_equal(s.counter, 1);
	assert_true(recorded(env, &p, &id));
	assert_int_equal(id, DP_BE_V4_B);
	assert_int_equal(dp_ring_fill(env, &vip, after, 2), 0);
	s = send_pkt(env, &p, BNC_STAT_FLOW_HIT);
	assert_int_equal(s.backend, DP_BE_V4_B);
	assert_int_equal(s.counter, 1);
}

/* Makes p's flow table entry look idle for seconds. */
static void age_entry(struct dp_env *env, const struct pkt *p, unsigned seconds)
{
	struct bnc_flow_value fv;
	struct bnc_flow_key flow;
	struct bnc_flow4_key k4;
	int fd = bnc_maps_map_fd(env->maps, "flows4");

	dp_flow_of(p, &flow);
	assert_true(fd >= 0);
	assert_int_equal(bnc_maps_flow_lookup(env->maps, &flow, &fv), 0);
	fv.last_seen -= (__u32)(((__u64)seconds * 1000000000ull) >> BNC_FLOW_TIME_SHIFT);
	bnc_flow4_key_of(&flow, &k4);
	assert_int_equal(bpf_map_update_elem(fd, &k4, &fv, BPF_EXIST), 0);
}

/* The agent's cleaning of p's VIP (ring_clean_tick()), its history due:
 * nothing has gone to a previous backend since long before now.
 */
static void agent_cleans(struct dp_env *env, const struct pkt *p, uint32_t seed)
{
	struct daemon *d = calloc(1, sizeof(*d));
	struct vip_rt v = { 0 }, *vp = &v;
	struct cfg cfg = { 0 };
	struct bnc_vip_value value;

	assert_non_null(d);
	cfg.hash_seed = seed;
	cfg.ring_history_idle = 5;
	dp_vip_of(p, &v.key);
	assert_int_equal(bnc_maps_vip_lookup(env->maps, &v.key, &value), 0);
	v.daemon = d;
	v.vip_id = value.vip_id;
	v.name = "web";
	v.changed_slots = DP_RING_SIZE;
	d->cfg = &cfg;
	d->maps = env->maps;
	d->vips = &vp;
	d->nvips = 1;
	d->ring_clean.primed = true;
	d->ring_clean.miss_prev = stat(env, BNC_STAT_MISS_PREV);
	ring_clean_tick(d, 100.0);
	free(d);
}

/* A connection recorded on B in a changed slot, gone idle for longer than
 * ring_history_idle when the ring is back on A: the agent cleans the slot
 * and drops the entry. A new connection on the same addresses and ports
 * (a reused port) then starts on A in the clean slot, and after the next
 * change (to C) its packets stay on A. Left in the table, the old entry
 * would have sent them to B.
 */
static void test_cleaning_drops_idle_entries_of_other_backends(void **state)
{
	const uint32_t seed = 7;
	struct dp_env *env = *state;
	struct pkt syn, data;
	struct seen s;
	uint32_t id;

	if (geteuid() != 0)
		skip();
	assert_int_equal(dp_set_hash_seed(env, seed), 0);
	build(&syn, IPPROTO_TCP, 5010, 0);
	build(&data, IPPROTO_TCP, 5010, PKT_TCP_ACK);
	ring_to(env, &syn, DP_BE_V4_A, true);
	ring_to(env, &syn, DP_BE_V4_B, false);
	assert_int_equal(send_pkt(env, &syn, BNC_STAT_FLOW_INSERT).backend, DP_BE_V4_B);
	age_entry(env, &syn, 10);
	/* Back on A: changed (the oldest prev, A), with an idle entry on B. */
	ring_to(env, &syn, DP_BE_V4_A, false);
	agent_cleans(env, &syn, seed);
	assert_false(recorded(env, &syn, &id));
	s = send_pkt(env, &syn, BNC_STAT_RING_CLEAN);
	assert_int_equal(s.backend, DP_BE_V4_A);
	assert_int_equal(s.counter, 1);
	ring_to(env, &syn, DP_BE_V4_C, false);
	s = send_pkt(env, &data, BNC_STAT_MISS_PREV);
	assert_int_equal(s.backend, DP_BE_V4_A);
	assert_int_equal(s.counter, 1);
}

#define WITH_ENV(test) \
	cmocka_unit_test_setup_teardown(test, dp_env_cmocka_setup, dp_env_cmocka_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		WITH_ENV(test_clean_slot_records_nothing),
		WITH_ENV(test_changed_slot_hit_and_misses),
		WITH_ENV(test_drained_backend_keeps_its_flows_only),
		WITH_ENV(test_cleaned_slot_is_clean),
		WITH_ENV(test_floods_record_nothing),
		WITH_ENV(test_walked_flow_moves_once),
		WITH_ENV(test_cleaning_drops_idle_entries_of_other_backends),
	};

	return cmocka_run_group_tests_name("ring slot history", tests, NULL, NULL);
}
