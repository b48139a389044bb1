// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The migration's copy engine on real maps: a flow table of the first
 * layout copied whole into one with per-CPU LRU lists (where a copy from
 * one CPU would keep only that CPU's share), the second copy adding only
 * the flows recorded since and leaving the new program's entries alone,
 * and counters that keep what the old program counted after the first
 * copy; layout 3's global counters grown by layout 4's record and back,
 * an array copied into a smaller one, and the changed ring slots a
 * downgrade to a layout without them counts.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bouncer_abi.h"
#include "bouncerd/migrate.h"
#include "bouncerd/migrate_copy.h"

/* Room for 4096 flows; 3000 of them, more than any one CPU's share on a
 * machine of two or more CPUs.
 */
#define TABLE 4096
#define FLOWS 3000

static const struct migrate_ctx ctx = { .now_ns = 1ull << 40 };

static int flow_table(__u32 value_size)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_NO_COMMON_LRU);

	return bpf_map_create(BPF_MAP_TYPE_LRU_HASH, "flows4", sizeof(struct bnc_flow4_key),
			      value_size, TABLE, &opts);
}

static struct bnc_flow4_key key_of(__u32 i)
{
	return (struct bnc_flow4_key){ .saddr = htobe32(0x0a000000 + i),
				       .daddr = htobe32(0x0a640064),
				       .sport = htobe16((__u16)(1024 + i % 60000)),
				       .dport = htobe16(80),
				       .proto = 6 };
}

/* Writes flow i from CPU i % 2, as the datapath of a two-CPU machine
 * would: from one CPU the table would hold only that CPU's share.
 */
static void put_spread(int fd, __u32 i, const void *value)
{
	struct bnc_flow4_key k = key_of(i);
	cpu_set_t one;

	CPU_ZERO(&one);
	CPU_SET(i % 2, &one);
	assert_int_equal(sched_setaffinity(0, sizeof(one), &one), 0);
	assert_int_equal(bpf_map_update_elem(fd, &k, value, BPF_NOEXIST), 0);
}

static struct bnc_flow_value_v1 old_value_of(__u32 i)
{
	return (struct bnc_flow_value_v1){
		.last_seen_ns = ctx.now_ns - i, .backend_id = i % 7, .vip_id = i % 3, .vip_gen = 1
	};
}

static void test_flows_copied_and_caught_up(void **state)
{
	struct migrate_chain chain;
	struct map_copy mc = { .ctx = &ctx, .chain = &chain };
	struct bnc_flow4_key k;
	struct bnc_flow_value_v1 ov;
	struct bnc_flow_value v, mine = { .backend_id = 99 };
	cpu_set_t allowed;

	(void)state;
	assert_int_equal(sched_getaffinity(0, sizeof(allowed), &allowed), 0);
	if (!CPU_ISSET(0, &allowed) || !CPU_ISSET(1, &allowed))
		skip();
	migrate_chain_build("flows4", 1, 2, &chain);
	mc.old_fd = flow_table(sizeof(struct bnc_flow_value_v1));
	mc.new_fd = flow_table(sizeof(struct bnc_flow_value));
	assert_true(mc.old_fd >= 0 && mc.new_fd >= 0);
	mc.old = (struct map_layout){ BPF_MAP_TYPE_LRU_HASH, sizeof(k), sizeof(ov), TABLE,
				      BPF_F_NO_COMMON_LRU };
	mc.new = mc.old;
	mc.new.value_size = sizeof(v);
	for (__u32 i = 0; i < FLOWS; i++) {
		ov = old_value_of(i);
		put_spread(mc.old_fd, i, &ov);
	}
	assert_int_equal(sched_setaffinity(0, sizeof(allowed), &allowed), 0);
	assert_int_equal(migrate_copy_all(&mc), 0);
	assert_int_equal(mc.stats.copied, FLOWS);
	for (__u32 i = 0; i < FLOWS; i++) {
		k = key_of(i);
		assert_int_equal(bpf_map_lookup_elem(mc.new_fd, &k, &v), 0);
		assert_int_equal(v.backend_id, i % 7);
		assert_int_equal(v.vip_id, i % 3);
	}
	/* While the old program ran: two new flows; the new one has already
	 * recorded one of them, on its own backend.
	 */
	for (__u32 i = FLOWS; i < FLOWS + 2; i++) {
		k = key_of(i);
		ov = old_value_of(i);
		assert_int_equal(bpf_map_update_elem(mc.old_fd, &k, &ov, BPF_NOEXIST), 0);
	}
	k = key_of(FLOWS + 1);
	assert_int_equal(bpf_map_update_elem(mc.new_fd, &k, &mine, BPF_NOEXIST), 0);
	assert_int_equal(migrate_copy_again(&mc), 0);
	assert_int_equal(mc.stats.later, 1);
	k = key_of(FLOWS);
	assert_int_equal(bpf_map_lookup_elem(mc.new_fd, &k, &v), 0);
	assert_int_equal(v.backend_id, FLOWS % 7);
	k = key_of(FLOWS + 1);
	assert_int_equal(bpf_map_lookup_elem(mc.new_fd, &k, &v), 0);
	assert_int_equal(v.backend_id, 99);
	migrate_copy_free(&mc);
	close(mc.old_fd);
	close(mc.new_fd);
}

static void test_counters_keep_what_was_counted(void **state)
{
	int ncpus = libbpf_num_possible_cpus();
	struct migrate_chain none = { 0 };
	struct map_copy mc = { .ctx = &ctx, .chain = &none, .counters = true };
	struct bnc_traffic t[ncpus];
	__u32 id = 5;

	(void)state;
	mc.old_fd =
		bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, "vip_stats", 4, sizeof(t[0]), 8, NULL);
	mc.new_fd =
		bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, "vip_stats", 4, sizeof(t[0]), 16, NULL);
	assert_true(mc.old_fd >= 0 && mc.new_fd >= 0);
	mc.old = (struct map_layout){ BPF_MAP_TYPE_PERCPU_ARRAY, 4, sizeof(t[0]), 8, 0 };
	mc.new = mc.old;
	mc.new.max_entries = 16;
	for (int c = 0; c < ncpus; c++)
		t[c] = (struct bnc_traffic){ .packets = 10, .bytes = 1000, .flows = 1 };
	assert_int_equal(bpf_map_update_elem(mc.old_fd, &id, t, BPF_ANY), 0);
	assert_int_equal(migrate_copy_all(&mc), 0);
	/* The old program counts on; so does the new one after the swap. */
	for (int c = 0; c < ncpus; c++)
		t[c].packets = 15;
	assert_int_equal(bpf_map_update_elem(mc.old_fd, &id, t, BPF_ANY), 0);
	assert_int_equal(bpf_map_lookup_elem(mc.new_fd, &id, t), 0);
	t[0].packets += 3;
	assert_int_equal(bpf_map_update_elem(mc.new_fd, &id, t, BPF_ANY), 0);
	assert_int_equal(migrate_copy_again(&mc), 0);
	assert_int_equal(bpf_map_lookup_elem(mc.new_fd, &id, t), 0);
	assert_int_equal(t[0].packets, 18);
	for (int c = 1; c < ncpus; c++)
		assert_int_equal(t[c].packets, 15);
	assert_int_equal(t[0].bytes, 1000);
	migrate_copy_free(&mc);
	close(mc.old_fd);
	close(mc.new_fd);
}

/* Layout 3 to 4 and back on real per-CPU arrays, through the table's
 * record: what both programs counted is kept, the appended counters start
 * at zero up and are dropped down.
 */
static void test_global_stats_up_and_down(void **state)
{
	int ncpus = libbpf_num_possible_cpus();
	struct migrate_chain up, down;
	struct map_copy mc = { .ctx = &ctx, .chain = &up, .counters = true };
	struct map_copy back = { .ctx = &ctx, .chain = &down };
	struct bnc_global_stats_v3 o[ncpus];
	struct bnc_global_stats n[ncpus];
	__u32 zero = 0;

	(void)state;
	migrate_chain_build("global_stats", 3, 4, &up);
	migrate_chain_build("global_stats", 4, 3, &down);
	mc.old = (struct map_layout){ BPF_MAP_TYPE_PERCPU_ARRAY, 4, sizeof(o[0]), 1, 0 };
	mc.new = (struct map_layout){ BPF_MAP_TYPE_PERCPU_ARRAY, 4, sizeof(n[0]), 1, 0 };
	mc.old_fd = bpf_map_create(mc.old.type, "global_stats", 4, sizeof(o[0]), 1, NULL);
	mc.new_fd = bpf_map_create(mc.new.type, "global_stats", 4, sizeof(n[0]), 1, NULL);
	assert_true(mc.old_fd >= 0 && mc.new_fd >= 0);
	for (int c = 0; c < ncpus; c++)
		for (int i = 0; i < BNC_STAT_MAX_V3; i++)
			o[c].counters[i] = 100ull * (__u64)c + (__u64)i;
	assert_int_equal(bpf_map_update_elem(mc.old_fd, &zero, o, BPF_ANY), 0);
	assert_int_equal(migrate_copy_all(&mc), 0);
	assert_int_equal(mc.stats.copied, 1);
	/* The old program counts on; the new one counts after the swap,
	 * also in a counter the old layout lacks.
	 */
	o[0].counters[BNC_STAT_FLOW_HIT] += 7;
	assert_int_equal(bpf_map_update_elem(mc.old_fd, &zero, o, BPF_ANY), 0);
	assert_int_equal(bpf_map_lookup_elem(mc.new_fd, &zero, n), 0);
	for (int c = 0; c < ncpus; c++)
		for (int i = BNC_STAT_MAX_V3; i < BNC_STAT_MAX; i++)
			assert_int_equal(n[c].counters[i], 0);
	n[0].counters[BNC_STAT_FLOW_HIT] += 2;
	n[0].counters[BNC_STAT_RING_CLEAN] = 9;
	assert_int_equal(bpf_map_update_elem(mc.new_fd, &zero, n, BPF_ANY), 0);
	assert_int_equal(migrate_copy_again(&mc), 0);
	assert_int_equal(bpf_map_lookup_elem(mc.new_fd, &zero, n), 0);
	assert_int_equal(n[0].counters[BNC_STAT_FLOW_HIT], o[0].counters[BNC_STAT_FLOW_HIT] + 2);
	assert_int_equal(n[0].counters[BNC_STAT_RING_CLEAN], 9);
	for (int c = 1; c < ncpus; c++)
		assert_memory_equal(n[c].counters, o[c].counters, sizeof(o[c]));

	/* Down, as --downgrade-maps copies: layout 3's counters as they are. */
	back.old = mc.new;
	back.new = mc.old;
	back.old_fd = mc.new_fd;
	back.new_fd = bpf_map_create(back.new.type, "global_stats", 4, sizeof(o[0]), 1, NULL);
	assert_true(back.new_fd >= 0);
	assert_int_equal(migrate_copy_all(&back), 0);
	assert_int_equal(bpf_map_lookup_elem(back.new_fd, &zero, o), 0);
	for (int c = 0; c < ncpus; c++)
		assert_memory_equal(o[c].counters, n[c].counters, sizeof(o[c]));
	migrate_copy_free(&mc);
	migrate_copy_free(&back);
	close(mc.old_fd);
	close(mc.new_fd);
	close(back.new_fd);
}

/* An array copied into a smaller one (a max_entries change without a
 * record): the indices that fit are copied, the others are not an error.
 */
static void test_array_shrinks(void **state)
{
	int ncpus = libbpf_num_possible_cpus();
	struct migrate_chain none = { 0 };
	struct map_copy mc = { .ctx = &ctx, .chain = &none };
	__u64 v[ncpus];

	(void)state;
	mc.old = (struct map_layout){ BPF_MAP_TYPE_PERCPU_ARRAY, 4, sizeof(__u64), 4096, 0 };
	mc.new = mc.old;
	mc.new.max_entries = 256;
	mc.old_fd = bpf_map_create(mc.old.type, "shrinks", 4, sizeof(__u64), 4096, NULL);
	mc.new_fd = bpf_map_create(mc.new.type, "shrinks", 4, sizeof(__u64), 256, NULL);
	assert_true(mc.old_fd >= 0 && mc.new_fd >= 0);
	for (__u32 i = 0; i < 4096; i += 255) {
		for (int c = 0; c < ncpus; c++)
			v[c] = i + 1;
		assert_int_equal(bpf_map_update_elem(mc.old_fd, &i, v, BPF_ANY), 0);
	}
	assert_int_equal(migrate_copy_all(&mc), 0);
	assert_int_equal(mc.stats.copied, 256);
	assert_int_equal(migrate_copy_again(&mc), 0);
	for (__u32 i = 0; i < 256; i++) {
		assert_int_equal(bpf_map_lookup_elem(mc.new_fd, &i, v), 0);
		for (int c = 0; c < ncpus; c++)
			assert_int_equal(v[c], i % 255 == 0 ? i + 1 : 0);
	}
	migrate_copy_free(&mc);
	close(mc.old_fd);
	close(mc.new_fd);
}

/* A ring of n words, as the agent creates one: each VIP's of its own
 * size (BPF_F_INNER_MAP).
 */
static int ring_create(__u32 n)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_INNER_MAP);

	return bpf_map_create(BPF_MAP_TYPE_ARRAY, "ring", 4, 4, n, &opts);
}

/* VIP vip's ring of n words, all backend 2 but those of changed[] (slot,
 * word).
 */
static int ring_of(int outer, __u32 vip, __u32 n, const __u32 (*changed)[2], size_t nchanged)
{
	int fd = ring_create(n);
	__u32 two = 2;

	assert_true(fd >= 0);
	for (__u32 i = 0; i < n; i++)
		assert_int_equal(bpf_map_update_elem(fd, &i, &two, BPF_ANY), 0);
	for (size_t i = 0; i < nchanged; i++)
		assert_int_equal(bpf_map_update_elem(fd, &changed[i][0], &changed[i][1], BPF_ANY),
				 0);
	assert_int_equal(bpf_map_update_elem(outer, &vip, &fd, BPF_ANY), 0);
	return fd;
}

/* The slots a downgrade below layout 4 warns about: words naming a
 * previous backend, over every VIP's ring, also past one read's batch; a
 * plain backend id and an empty ring's word are clean.
 */
static void test_ring_changed_counted(void **state)
{
	/* (slot, word): an empty ring's word is clean, the others changed. */
	const __u32 wa[][2] = { { 0, BNC_BACKEND_NONE },
				{ 1, bnc_ring_word(3, 5) },
				{ 3, bnc_ring_word(4, 4) },
				{ 6, bnc_ring_word(BNC_BACKEND_NONE, 1) } };
	const __u32 c[][2] = { { 4500, bnc_ring_word(2, 7) } };
	int inner = ring_create(7), outer, fds[3];
	__u64 slots;
	__u32 vips;

	(void)state;
	assert_true(inner >= 0);
	LIBBPF_OPTS(bpf_map_create_opts, opts, .inner_map_fd = inner);
	outer = bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, "rings", 4, 4, 8, &opts);
	assert_true(outer >= 0);
	assert_int_equal(migration_ring_changed(outer, &slots, &vips), 0);
	assert_int_equal(slots, 0);
	assert_int_equal(vips, 0);

	fds[0] = ring_of(outer, 1, 7, wa, 4);
	fds[1] = ring_of(outer, 4, 7, NULL, 0);
	fds[2] = ring_of(outer, 6, 5003, c, 1);
	assert_int_equal(migration_ring_changed(outer, &slots, &vips), 0);
	assert_int_equal(slots, 4);
	assert_int_equal(vips, 2);
	for (int i = 0; i < 3; i++)
		close(fds[i]);
	close(outer);
	close(inner);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flows_copied_and_caught_up),
		cmocka_unit_test(test_counters_keep_what_was_counted),
		cmocka_unit_test(test_global_stats_up_and_down),
		cmocka_unit_test(test_array_shrinks),
		cmocka_unit_test(test_ring_changed_counted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
