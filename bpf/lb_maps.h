/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The load balancer's maps (layout in include/bouncer_abi.h) and the
 * counter helpers over them.
 */
#ifndef BOUNCER_BPF_LB_MAPS_H
#define BOUNCER_BPF_LB_MAPS_H

#include "common.h"
#include "bouncer_abi.h"

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

/* The listening socket of each local worker (BNC_BACKEND_LOCAL), by
 * backend id: where the sk_lookup program hands a VIP's connections. User
 * space writes a socket's fd as the value (a u64, so that user-space
 * lookups return the socket's cookie); a lookup from BPF returns a
 * reference to the socket, to be released.
 */
struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, BNC_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, __u64);
} workers SEC(".maps");

/* The flow table, one map per family. Sizes set by the agent before
 * load. Per-CPU LRU lists: a new flow takes a free entry from its own CPU's
 * list instead of a lock shared by all CPUs; lookups see every CPU's flows.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, BNC_MAX_FLOWS);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__type(key, struct bnc_flow4_key);
	__type(value, struct bnc_flow_value);
} flows4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, BNC_MAX_FLOWS);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__type(key, struct bnc_flow_key);
	__type(value, struct bnc_flow_value);
} flows6 SEC(".maps");

/* A flow's last_seen stamp for now; see BNC_FLOW_TIME_SHIFT. */
static __always_inline __u32 flow_now(void)
{
	return (__u32)(bpf_ktime_get_coarse_ns() >> BNC_FLOW_TIME_SHIFT);
}

/* The meta map: the layout version of the maps pinned with it. Only the
 * agent reads and writes it.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bnc_meta);
} meta SEC(".maps");

/* See BNC_FLOW_CACHE_SIZE. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, BNC_FLOW_CACHE_SIZE);
	__type(key, __u32);
	__type(value, struct bnc_flow_cache_entry);
} flow_cache SEC(".maps");

/* One epoch per flow cache index, shared by every CPU: see
 * BNC_FLOW_CACHE_SIZE. Written only when a flow is placed or moved.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BNC_FLOW_CACHE_SIZE);
	__type(key, __u32);
	__type(value, __u32);
} flow_epochs SEC(".maps");

/* Generation of each VIP id, bumped when the VIP is added, replaced or
 * removed; see struct bnc_flow_value.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BNC_MAX_VIPS);
	__type(key, __u32);
	__type(value, __u32);
} vip_gens SEC(".maps");

/* See BNC_VIP_SLOTS_LOG2. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BNC_VIP_SLOTS);
	__type(key, __u32);
	__type(value, struct bnc_vip_slot);
} vip_slots SEC(".maps");

/* See BNC_VIP_FILTER_BITS_LOG2. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BNC_VIP_FILTER_WORDS);
	__type(key, __u32);
	__type(value, __u64);
} vip_filter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bnc_config);
} config SEC(".maps");

/* Where UDP workers' binds of their own ports go: see struct
 * bnc_bind_key. Two ports per worker (see the agent's port alternation).
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 2 * BNC_MAX_BACKENDS);
	__type(key, struct bnc_bind_key);
	__type(value, struct bnc_bind_value);
} worker_binds SEC(".maps");

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

static __always_inline struct bnc_global_stats *global_stats_this_cpu(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&global_stats, &zero);
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

static __always_inline void count_flow(void *map, __u32 id)
{
	struct bnc_traffic *t = bpf_map_lookup_elem(map, &id);

	if (t)
		t->flows++;
}

/* A flow the ring placed on backend_id of vip_id. Apart from
 * count_traffic(), so that the established paths carry nothing of it.
 */
static __always_inline void count_placed(__u32 vip_id, __u32 backend_id)
{
	count_flow(&vip_stats, vip_id);
	count_flow(&backend_stats, backend_id);
}

#endif /* BOUNCER_BPF_LB_MAPS_H */
