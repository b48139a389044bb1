/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* How each change of a pinned map's layout converts its entries, one
 * record per map per ABI version (BNC_MAP_ABI_VERSION), both ways: an
 * agent upgrading finds older maps and converts up; `bouncerd
 * --downgrade-maps` converts down for the older agent, which cannot know
 * the newer layout. The machinery that applies them is migrate.c.
 */
#ifndef BOUNCER_MIGRATE_TABLE_H
#define BOUNCER_MIGRATE_TABLE_H

#include <stdbool.h>
#include <stddef.h>

#include <linux/types.h>

/* What a conversion may need besides the entry. */
struct migrate_ctx {
	__u64 now_ns; /* CLOCK_MONOTONIC_COARSE, as the datapath stamps */
};

/* Converts one entry (key and value) to the other layout; per-CPU maps
 * call it once per CPU's value with the same key. false: the entry has
 * no place in the other layout and is dropped (counted in the log).
 */
typedef bool (*migrate_fn)(const struct migrate_ctx *ctx, const void *key, const void *value,
			   void *new_key, void *new_value);

enum map_change_kind {
	MAP_CONVERTED, /* key or value layout changed: up and down convert */
	MAP_ADDED, /* the map is new in version from + 1 */
	MAP_REMOVED, /* the map is gone in version from + 1 */
	/* A pinned link (named by map, its pin's name) new in version
	 * from + 1: a downgrade removes the pin, and with it the program the
	 * older agent would not know.
	 */
	LINK_ADDED,
	/* The map's entries mean nothing in version from + 1 (a cache
	 * indexed by another number of hash bits): it starts empty there,
	 * and empty again at old_max_entries on the way down.
	 */
	MAP_CLEARED,
};

struct map_change {
	const char *map;
	/* The change is from this ABI version to the next. */
	unsigned int from;
	enum map_change_kind kind;
	/* MAP_CONVERTED: sizes before (old) and after (new) the change. */
	__u32 old_key_size, old_value_size;
	__u32 new_key_size, new_value_size;
	/* NULL: the common prefix of the values is copied and the rest
	 * zeroed, which is right for counters appended at a value's end.
	 */
	migrate_fn up, down;
	/* MAP_CLEARED: max_entries before and after the change. */
	__u32 old_max_entries, new_max_entries;
};

extern const struct map_change map_changes[];
extern const size_t nmap_changes;

/* What starting a map empty costs, for maps that cannot be converted
 * (no record, or a kernel that refuses): said in the log. NULL for a map
 * this build does not know.
 */
const char *map_empty_cost(const char *map);

/* The conversions of the table, for their unit tests. */
bool flow_value_v1_up(const struct migrate_ctx *ctx, const void *key, const void *value,
		      void *new_key, void *new_value);
bool flow_value_v2_down(const struct migrate_ctx *ctx, const void *key, const void *value,
			void *new_key, void *new_value);

/* The counters of layout 3: struct bnc_global_stats before ring_clean,
 * ring_changed, flow_insert and miss_prev were appended.
 */
#define BNC_STAT_MAX_V3 24
struct bnc_global_stats_v3 {
	__u64 counters[BNC_STAT_MAX_V3];
};
_Static_assert(sizeof(struct bnc_global_stats_v3) == 192, "bnc_global_stats v3 ABI");

/* The first layout whose ring words carry a slot's previous backend
 * (BNC_RING_PREV_SHIFT); older datapaths read a word as one backend id.
 */
#define BNC_RING_PREV_LAYOUT 4

/* The flow cache's size in layout 3 (BNC_FLOW_CACHE_BITS 12). */
#define BNC_FLOW_CACHE_SIZE_V3 4096u

/* The first layout of struct bnc_flow_value: 24 bytes, ns timestamps. */
struct bnc_flow_value_v1 {
	__u64 last_seen_ns;
	__u32 backend_id;
	__u32 vip_id;
	__u32 vip_gen;
	__u8 forwarding;
	__u8 pad[3];
};
_Static_assert(sizeof(struct bnc_flow_value_v1) == 24, "bnc_flow_value v1 ABI");

#endif /* BOUNCER_MIGRATE_TABLE_H */
