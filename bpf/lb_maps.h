/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The load balancer's maps (layout in include/bouncer_abi.h) and the
 * counter helpers over them.
 */
#ifndef BOUNCER_BPF_LB_MAPS_H
#define BOUNCER_BPF_LB_MAPS_H

#include "common.h"

/* Services and VIP addresses (BNC_VIP_F_ADDRESS entries). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 2 * BNC_MAX_VIPS);
	__type(key, struct bnc_vip_key);
	__type(value, struct bnc_vip_value);
} vips SEC(".maps");

/* One Maglev ring per VIP. BPF_F_INNER_MAP lets each VIP's ring have its
 * own size; the agent swaps a whole new ring in with one update.
 */
struct ring {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BNC_RING_SIZE_DEFAULT);
	__uint(map_flags, BPF_F_INNER_MAP);
	__type(key, __u32);
	__type(value, __u32);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, BNC_MAX_VIPS);
	__type(key, __u32);
	__array(values, struct ring);
} rings SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BNC_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct bnc_backend);
} backends SEC(".maps");

/* Size set by the agent before load. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, BNC_MAX_FLOWS);
	__type(key, struct bnc_flow_key);
	__type(value, struct bnc_flow_value);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bnc_config);
} config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, BNC_MAX_VIPS);
	__type(key, __u32);
	__type(value, struct bnc_traffic);
} vip_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, BNC_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct bnc_traffic);
} backend_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bnc_global_stats);
} global_stats SEC(".maps");

static __always_inline void count(enum bnc_stat stat)
{
	__u32 zero = 0;
	struct bnc_global_stats *g = bpf_map_lookup_elem(&global_stats, &zero);

	if (g && stat < BNC_STAT_MAX)
		g->counters[stat]++;
}

/* Per-CPU entries: plain increments are safe without atomics. */
static __always_inline void count_traffic(void *map, __u32 id, __u64 bytes)
{
	struct bnc_traffic *t = bpf_map_lookup_elem(map, &id);

	if (t) {
		t->packets++;
		t->bytes += bytes;
	}
}

#endif /* BOUNCER_BPF_LB_MAPS_H */
