// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The map layout conversions: each record of migrate_table.c both ways,
 * the chains that string them together, and the table's own consistency
 * with the current layout.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "bouncer_abi.h"
#include "bouncerd/migrate_copy.h"
#include "bouncerd/migrate_table.h"

/* About 100 days after boot, in ns: far past the 52 days the stamps wrap. */
#define NOW_NS (100ull * 86400 * 1000000000ull + 123456789ull)

static const struct migrate_ctx ctx = { .now_ns = NOW_NS };

static struct bnc_flow_value_v1 v1_flow(__u64 age_ns)
{
	return (struct bnc_flow_value_v1){ .last_seen_ns = NOW_NS - age_ns,
					   .backend_id = 4095,
					   .vip_id = 511,
					   .vip_gen = 0xdeadbeef,
					   .forwarding = BNC_FWD_IPIP };
}

static void test_flow_value_up(void **state)
{
	struct bnc_flow_value_v1 old = v1_flow(5000000000ull);
	struct bnc_flow4_key key = { .saddr = 1, .sport = 2 }, new_key = key;
	struct bnc_flow_value v;

	(void)state;
	memset(&v, 0xaa, sizeof(v));
	assert_true(flow_value_v1_up(&ctx, &key, &old, &new_key, &v));
	assert_int_equal(v.backend_id, 4095);
	assert_int_equal(v.vip_id, 511);
	assert_int_equal(v.vip_gen, 0xdeadbeef);
	assert_int_equal(v.forwarding, BNC_FWD_IPIP);
	assert_int_equal(v.pad, 0);
	assert_int_equal(v.last_seen, (__u32)(old.last_seen_ns >> BNC_FLOW_TIME_SHIFT));
	/* The key stays as the machinery copied it. */
	assert_memory_equal(&new_key, &key, sizeof(key));
}

static void test_flow_value_up_drops_bad_vip(void **state)
{
	struct bnc_flow_value_v1 old = v1_flow(0);
	struct bnc_flow_key key = { 0 }, new_key = key;
	struct bnc_flow_value v;

	(void)state;
	old.vip_id = BNC_MAX_VIPS;
	assert_false(flow_value_v1_up(&ctx, &key, &old, &new_key, &v));
}

/* An age survives the way down to ns, within one stamp unit, also when
 * the 32-bit stamp has wrapped since the flow was seen.
 */
static void test_flow_value_down_keeps_age(void **state)
{
	const __u64 ages[] = { 0, 999999, 5000000000ull, 40ull * 86400 * 1000000000ull };
	struct bnc_flow_key key = { 0 }, new_key = key;

	(void)state;
	for (size_t i = 0; i < sizeof(ages) / sizeof(ages[0]); i++) {
		struct bnc_flow_value_v1 old = v1_flow(ages[i]), back;
		struct bnc_flow_value v;
		__u64 age;

		assert_true(flow_value_v1_up(&ctx, &key, &old, &new_key, &v));
		memset(&back, 0xaa, sizeof(back));
		assert_true(flow_value_v2_down(&ctx, &key, &v, &new_key, &back));
		assert_int_equal(back.backend_id, old.backend_id);
		assert_int_equal(back.vip_id, old.vip_id);
		assert_int_equal(back.vip_gen, old.vip_gen);
		assert_int_equal(back.forwarding, old.forwarding);
		assert_memory_equal(back.pad, (__u8[3]){ 0 }, 3);
		age = NOW_NS - back.last_seen_ns;
		assert_true(age + (1ull << BNC_FLOW_TIME_SHIFT) > ages[i]);
		assert_true(age < ages[i] + (1ull << BNC_FLOW_TIME_SHIFT));
	}
}

static void test_chains(void **state)
{
	struct migrate_chain up, down, none;
	__u32 ks = sizeof(struct bnc_flow4_key), vs = sizeof(struct bnc_flow_value_v1);

	(void)state;
	/* One change of the flow value, from version 1 to 2. */
	migrate_chain_build("flows4", 1, BNC_MAP_ABI_VERSION, &up);
	assert_int_equal(up.n, 1);
	assert_false(up.down);
	assert_true(migrate_chain_sizes(&up, &ks, &vs));
	assert_int_equal(ks, sizeof(struct bnc_flow4_key));
	assert_int_equal(vs, sizeof(struct bnc_flow_value));
	/* A map already of the new layout does not fit the chain. */
	assert_false(migrate_chain_sizes(&up, &ks, &vs));

	migrate_chain_build("flows6", BNC_MAP_ABI_VERSION, 1, &down);
	assert_true(down.down);
	ks = sizeof(struct bnc_flow_key);
	vs = sizeof(struct bnc_flow_value);
	assert_true(migrate_chain_sizes(&down, &ks, &vs));
	assert_int_equal(vs, sizeof(struct bnc_flow_value_v1));

	migrate_chain_build("vip_stats", 1, BNC_MAP_ABI_VERSION, &none);
	assert_int_equal(none.n, 0);
}

/* Through the chain, as the copy calls it: a flows4 entry up and down. */
static void test_chain_convert_flow(void **state)
{
	const struct map_layout v1 = { .type = BPF_MAP_TYPE_LRU_HASH,
				       .key_size = sizeof(struct bnc_flow4_key),
				       .value_size = sizeof(struct bnc_flow_value_v1) };
	const struct map_layout v2 = { .type = BPF_MAP_TYPE_LRU_HASH,
				       .key_size = sizeof(struct bnc_flow4_key),
				       .value_size = sizeof(struct bnc_flow_value) };
	struct bnc_flow4_key key = { .saddr = 0x0a000001, .daddr = 0x0a000064, .sport = 1234 };
	struct bnc_flow4_key k2, k1;
	struct bnc_flow_value_v1 old = v1_flow(1000), back;
	struct bnc_flow_value v;
	struct migrate_chain up, down;

	(void)state;
	migrate_chain_build("flows4", 1, 2, &up);
	migrate_chain_build("flows4", 2, 1, &down);
	assert_true(migrate_chain_convert(&up, &ctx, &v1, 2, &key, &old, &k2, &v));
	assert_memory_equal(&k2, &key, sizeof(key));
	assert_int_equal(v.backend_id, old.backend_id);
	assert_true(migrate_chain_convert(&down, &ctx, &v2, 2, &k2, &v, &k1, &back));
	assert_memory_equal(&k1, &key, sizeof(key));
	assert_int_equal(back.vip_gen, old.vip_gen);
}

/* A record without functions: counters appended to a per-CPU value keep
 * their old ones on the way up (the new ones zero) and lose the new ones
 * on the way down, on every CPU.
 */
static void test_counters_appended(void **state)
{
	static const struct map_change rec = { .map = "global_stats",
					       .from = 1,
					       .kind = MAP_CONVERTED,
					       .old_key_size = 4,
					       .old_value_size = 16,
					       .new_key_size = 4,
					       .new_value_size = 24 };
	struct migrate_chain up = { .steps = { &rec }, .n = 1 };
	struct migrate_chain down = { .steps = { &rec }, .n = 1, .down = true };
	const struct map_layout old = { .type = BPF_MAP_TYPE_PERCPU_ARRAY,
					.key_size = 4,
					.value_size = 16 };
	const struct map_layout new = { .type = BPF_MAP_TYPE_PERCPU_ARRAY,
					.key_size = 4,
					.value_size = 24 };
	__u64 before[3][2] = { { 1, 2 }, { 3, 4 }, { 5, 6 } }, after[3][3], back[3][2];
	__u32 key = 0, nkey;

	(void)state;
	memset(after, 0xaa, sizeof(after));
	assert_true(migrate_chain_convert(&up, &ctx, &old, 3, &key, before, &nkey, after));
	for (int cpu = 0; cpu < 3; cpu++) {
		assert_int_equal(after[cpu][0], before[cpu][0]);
		assert_int_equal(after[cpu][1], before[cpu][1]);
		assert_int_equal(after[cpu][2], 0);
	}
	assert_true(migrate_chain_convert(&down, &ctx, &new, 3, &key, after, &nkey, back));
	assert_memory_equal(back, before, sizeof(before));
}

/* Layout 3 to 4: the global counters through the table's own record, on
 * three CPUs. Up, layout 3's counters keep their place and the four
 * appended ones start at zero; down, those four are dropped and nothing
 * is written past layout 3's value.
 */
static void test_global_stats_v3(void **state)
{
	const struct map_layout v3 = { .type = BPF_MAP_TYPE_PERCPU_ARRAY,
				       .key_size = 4,
				       .value_size = sizeof(struct bnc_global_stats_v3),
				       .max_entries = 1 };
	const struct map_layout v4 = { .type = BPF_MAP_TYPE_PERCPU_ARRAY,
				       .key_size = 4,
				       .value_size = sizeof(struct bnc_global_stats),
				       .max_entries = 1 };
	struct bnc_global_stats_v3 before[3], back[4];
	struct bnc_global_stats after[3];
	struct migrate_chain up, down;
	__u32 key = 0, nkey, ks = 4, vs = sizeof(struct bnc_global_stats_v3);

	(void)state;
	/* The counters new in layout 4 are the ones appended. */
	assert_int_equal(BNC_STAT_RING_CLEAN, BNC_STAT_MAX_V3);
	assert_int_equal(BNC_STAT_MAX, BNC_STAT_MAX_V3 + 4);
	migrate_chain_build("global_stats", 3, 4, &up);
	migrate_chain_build("global_stats", 4, 3, &down);
	assert_int_equal(up.n, 1);
	assert_int_equal(down.n, 1);
	assert_true(migrate_chain_sizes(&up, &ks, &vs));
	assert_int_equal(vs, sizeof(struct bnc_global_stats));
	assert_true(migrate_chain_sizes(&down, &ks, &vs));
	assert_int_equal(vs, sizeof(struct bnc_global_stats_v3));

	for (int cpu = 0; cpu < 3; cpu++)
		for (int i = 0; i < BNC_STAT_MAX_V3; i++)
			before[cpu].counters[i] = 1000ull * (__u64)cpu + (__u64)i + 1;
	memset(after, 0xaa, sizeof(after));
	assert_true(migrate_chain_convert(&up, &ctx, &v3, 3, &key, before, &nkey, after));
	assert_int_equal(nkey, 0);
	for (int cpu = 0; cpu < 3; cpu++) {
		assert_memory_equal(after[cpu].counters, before[cpu].counters, sizeof(before[cpu]));
		for (int i = BNC_STAT_MAX_V3; i < BNC_STAT_MAX; i++)
			assert_int_equal(after[cpu].counters[i], 0);
	}

	/* The new program counted in the new counters before the way down. */
	for (int cpu = 0; cpu < 3; cpu++) {
		after[cpu].counters[BNC_STAT_RING_CLEAN] = 77;
		after[cpu].counters[BNC_STAT_MISS_PREV] = 5;
	}
	memset(back, 0xaa, sizeof(back));
	assert_true(migrate_chain_convert(&down, &ctx, &v4, 3, &key, after, &nkey, back));
	assert_memory_equal(back, before, sizeof(before));
	for (size_t i = 0; i < sizeof(back[3]); i++)
		assert_int_equal(((const __u8 *)&back[3])[i], 0xaa);
}

/* Layout 3 to 4: the flow cache's index takes 8 hash bits instead of 12,
 * so the cache and its epochs start empty, up and down, and go back to
 * layout 3's size on the way down. Neither has a conversion to run.
 */
static void test_flow_cache_cleared(void **state)
{
	static const char *const maps[] = { "flow_cache", "flow_epochs" };

	(void)state;
	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		const struct map_change *up = migrate_cleared(maps[i], 3, 4);
		const struct map_change *down = migrate_cleared(maps[i], 4, 3);
		struct migrate_chain c;

		assert_non_null(up);
		assert_ptr_equal(up, down);
		assert_int_equal(up->old_max_entries, 4096);
		assert_int_equal(up->new_max_entries, BNC_FLOW_CACHE_SIZE);
		/* From any older layout, and down to any. */
		assert_ptr_equal(migrate_cleared(maps[i], 1, BNC_MAP_ABI_VERSION), up);
		assert_ptr_equal(migrate_cleared(maps[i], BNC_MAP_ABI_VERSION, 1), up);
		/* Not before layout 3, nor once at 4. */
		assert_null(migrate_cleared(maps[i], 1, 3));
		assert_null(migrate_cleared(maps[i], 3, 1));
		assert_null(migrate_cleared(maps[i], 4, 4));
		migrate_chain_build(maps[i], 3, 4, &c);
		assert_int_equal(c.n, 0);
		migrate_chain_build(maps[i], 4, 3, &c);
		assert_int_equal(c.n, 0);
		/* What starting empty costs is said in the log. */
		assert_non_null(map_empty_cost(maps[i]));
	}
	/* The other maps' entries carry over. */
	assert_null(migrate_cleared("flows4", 3, 4));
	assert_null(migrate_cleared("global_stats", 4, 3));
}

/* Every record is consistent: conversions both ways or neither, versions
 * below the current one, and the newest record of each map ends at the
 * layout this build has.
 */
static void test_table_consistent(void **state)
{
	(void)state;
	for (size_t i = 0; i < nmap_changes; i++) {
		const struct map_change *r = &map_changes[i];

		assert_true(r->from >= 1 && r->from < BNC_MAP_ABI_VERSION);
		if (r->kind != MAP_CONVERTED)
			continue;
		assert_true((r->up == NULL) == (r->down == NULL));
		assert_true(r->old_value_size <= MIGRATE_MAX_SIZE &&
			    r->new_value_size <= MIGRATE_MAX_SIZE);
	}
	/* A cleared map has sizes both ways and a cost to log. */
	for (size_t i = 0; i < nmap_changes; i++) {
		const struct map_change *r = &map_changes[i];

		if (r->kind != MAP_CLEARED)
			continue;
		assert_true(r->old_max_entries > 0 && r->new_max_entries > 0);
		assert_non_null(map_empty_cost(r->map));
	}
	struct {
		const char *map;
		__u32 key, value;
	} now[] = {
		{ "flows4", sizeof(struct bnc_flow4_key), sizeof(struct bnc_flow_value) },
		{ "flows6", sizeof(struct bnc_flow_key), sizeof(struct bnc_flow_value) },
		{ "global_stats", sizeof(__u32), sizeof(struct bnc_global_stats) },
	};
	for (size_t i = 0; i < sizeof(now) / sizeof(now[0]); i++) {
		struct migrate_chain c;
		__u32 ks, vs;

		migrate_chain_build(now[i].map, 1, BNC_MAP_ABI_VERSION, &c);
		assert_true(c.n > 0);
		ks = c.steps[0]->old_key_size;
		vs = c.steps[0]->old_value_size;
		assert_true(migrate_chain_sizes(&c, &ks, &vs));
		assert_int_equal(ks, now[i].key);
		assert_int_equal(vs, now[i].value);
	}
	assert_non_null(map_empty_cost("flows4"));
	assert_null(map_empty_cost("no_such_map"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flow_value_up),
		cmocka_unit_test(test_flow_value_up_drops_bad_vip),
		cmocka_unit_test(test_flow_value_down_keeps_age),
		cmocka_unit_test(test_chains),
		cmocka_unit_test(test_chain_convert_flow),
		cmocka_unit_test(test_counters_appended),
		cmocka_unit_test(test_global_stats_v3),
		cmocka_unit_test(test_flow_cache_cleared),
		cmocka_unit_test(test_table_consistent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
