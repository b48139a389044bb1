// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The record of every change to the pinned maps' layout. A change to
 * include/bouncer_abi.h that changes a pinned map's key or value comes
 * with one MAP_CONVERTED record here (the old layout kept below as
 * struct NAME_vN), a unit test of both conversions in
 * tests/unit/test_migrate.c, BNC_MAP_ABI_VERSION bumped, and the last
 * commit of the old version in tests/live/upgrade.sh. A map added or
 * removed is one MAP_ADDED or MAP_REMOVED record, a pinned link added one
 * LINK_ADDED. A change of max_entries
 * alone needs nothing: entries are copied as they are (an array's first
 * min(old, new) indices; every entry of a hash map, an LRU map evicting
 * past its size), unless an index means another entry at the new size
 * (a cache indexed by hash bits): one MAP_CLEARED record then.
 */
#include <string.h>

#include "bouncer_abi.h"
#include "migrate_table.h"

/* Version 1 to 2: flow values from 24 to 16 bytes, the timestamp in
 * 2^BNC_FLOW_TIME_SHIFT ns units and 32 bits, the VIP id in 16.
 */
bool flow_value_v1_up(const struct migrate_ctx *ctx, const void *key, const void *value,
		      void *new_key, void *new_value)
{
	const struct bnc_flow_value_v1 *old = value;
	struct bnc_flow_value v = {
		.last_seen = (__u32)(old->last_seen_ns >> BNC_FLOW_TIME_SHIFT),
		.backend_id = old->backend_id,
		.vip_gen = old->vip_gen,
		.vip_id = (__u16)old->vip_id,
		.forwarding = old->forwarding,
	};

	(void)ctx;
	(void)key;
	(void)new_key;
	if (old->vip_id >= BNC_MAX_VIPS)
		return false;
	memcpy(new_value, &v, sizeof(v));
	return true;
}

bool flow_value_v2_down(const struct migrate_ctx *ctx, const void *key, const void *value,
			void *new_key, void *new_value)
{
	const struct bnc_flow_value *cur = value;
	/* The stamp wrapped every 52 days: rebuild it as an age from now. */
	__u32 age = (__u32)(ctx->now_ns >> BNC_FLOW_TIME_SHIFT) - cur->last_seen;
	__u64 age_ns = (__u64)age << BNC_FLOW_TIME_SHIFT;
	struct bnc_flow_value_v1 v = {
		.last_seen_ns = age_ns < ctx->now_ns ? ctx->now_ns - age_ns : 0,
		.backend_id = cur->backend_id,
		.vip_id = cur->vip_id,
		.vip_gen = cur->vip_gen,
		.forwarding = cur->forwarding,
	};

	(void)key;
	(void)new_key;
	memcpy(new_value, &v, sizeof(v));
	return true;
}

#define FLOW_VALUE_V1_TO_V2(name, key_type) \
	{ \
		.map = name, .from = 1, .kind = MAP_CONVERTED, .old_key_size = sizeof(key_type), \
		.old_value_size = sizeof(struct bnc_flow_value_v1), \
		.new_key_size = sizeof(key_type), .new_value_size = sizeof(struct bnc_flow_value), \
		.up = flow_value_v1_up, .down = flow_value_v2_down \
	}

/* Keys convert by the machinery when their size stays: new_key holds a
 * copy of the key when a conversion is called.
 */
const struct map_change map_changes[] = {
	FLOW_VALUE_V1_TO_V2("flows4", struct bnc_flow4_key),
	FLOW_VALUE_V1_TO_V2("flows6", struct bnc_flow_key),
	{ .map = "meta", .from = 1, .kind = MAP_ADDED },
	/* Version 2 to 3: UDP workers bound to their VIP's address and port
	 * by a cgroup bind hook.
	 */
	{ .map = "worker_binds", .from = 2, .kind = MAP_ADDED },
	{ .map = "link_bind4", .from = 2, .kind = LINK_ADDED },
	{ .map = "link_bind6", .from = 2, .kind = LINK_ADDED },
	/* Version 3 to 4: four counters appended to the global ones, which
	 * a prefix copy keeps (up: zero; down: dropped). The flow cache
	 * takes the top 8 bits of a flow's hash as its index instead of 12:
	 * an entry's index names other flows at the new size, so the cache
	 * and its epochs start empty, both ways. The ring words gained the
	 * slot's previous backend in their high half, with no record: an
	 * older ring's plain backend ids read as clean slots in layout 4, and
	 * down, the older agent builds every VIP's ring again from its config
	 * before its programs run, so no older program reads a word with a
	 * previous backend. Up, the flows layout 3 recorded on another
	 * backend than their slot's keep it as on any start over pinned maps
	 * (ring_clean_adopt() marks their slots changed). Down, the flows a
	 * changed slot sends to its previous backend without an entry are
	 * lost to the words: the downgrade counts those slots and warns.
	 */
	{ .map = "global_stats",
	  .from = 3,
	  .kind = MAP_CONVERTED,
	  .old_key_size = sizeof(__u32),
	  .old_value_size = sizeof(struct bnc_global_stats_v3),
	  .new_key_size = sizeof(__u32),
	  .new_value_size = sizeof(struct bnc_global_stats) },
	{ .map = "flow_cache",
	  .from = 3,
	  .kind = MAP_CLEARED,
	  .old_max_entries = BNC_FLOW_CACHE_SIZE_V3,
	  .new_max_entries = BNC_FLOW_CACHE_SIZE },
	{ .map = "flow_epochs",
	  .from = 3,
	  .kind = MAP_CLEARED,
	  .old_max_entries = BNC_FLOW_CACHE_SIZE_V3,
	  .new_max_entries = BNC_FLOW_CACHE_SIZE },
	/* Version 4 to 5: a direct-mapped copy of the VIPs, filled from
	 * vips when the maps are opened.
	 */
	{ .map = "vip_slots", .from = 4, .kind = MAP_ADDED },
};

const size_t nmap_changes = sizeof(map_changes) / sizeof(map_changes[0]);

static const struct {
	const char *map;
	const char *cost;
} empty_costs[] = {
	{ "flows4", "flow table started empty: established IPv4 flows re-hash to the ring" },
	{ "flows6", "flow table started empty: established IPv6 flows re-hash to the ring" },
	{ "flow_cache", "nothing: a cache, refilled from the flow table" },
	{ "flow_epochs", "nothing: the flow cache starts cold with it" },
	{ "vip_stats", "the VIPs' traffic counters start from zero" },
	{ "backend_stats", "the backends' traffic counters start from zero" },
	{ "global_stats", "the datapath's counters start from zero" },
	{ "vips", "nothing: rebuilt from the config before the new program runs" },
	{ "rings", "nothing: rebuilt from the config before the new program runs" },
	{ "backends", "nothing: rebuilt from the config before the new program runs" },
	{ "vip_filter", "nothing: rebuilt from the config before the new program runs" },
	{ "vip_slots", "nothing: filled from vips before the new program runs" },
	{ "config", "nothing: rebuilt from the config before the new program runs" },
	{ "vip_gens", "recorded flows are checked against their VIP again" },
	{ "workers", "nothing: the workers' sockets are put back as they are adopted" },
	{ "worker_binds", "nothing: the UDP workers' ports are written before any worker starts" },
	{ "meta", "nothing: written by the agent" },
};

const char *map_empty_cost(const char *map)
{
	for (size_t i = 0; i < sizeof(empty_costs) / sizeof(empty_costs[0]); i++)
		if (strcmp(empty_costs[i].map, map) == 0)
			return empty_costs[i].cost;
	return NULL;
}
