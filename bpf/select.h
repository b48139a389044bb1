/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Backend selection, shared by XDP and sk_lookup: the VIP lookup and
 * address filter, the flow table, and the VIP's Maglev ring for new flows.
 */
#ifndef BOUNCER_BPF_SELECT_H
#define BOUNCER_BPF_SELECT_H

#include "common.h"
#include "bouncer_hash.h"
#include "lb_maps.h"
#include "parse.h"

struct selection {
	struct bnc_backend *backend;
	__u32 backend_id;
	__u32 vip_id;
	__u8 forwarding;
	/* select_backend() only: the ring placed the flow (a new flow, or
	 * one whose backend went down), rather than its entry.
	 */
	bool placed;
	/* In: the flow's cache epoch as read before its table entry. Out of
	 * select_backend(): the epoch that a cache entry of this choice may
	 * carry (see flow_epoch_bump()).
	 */
	__u32 cache_epoch;
	/* The backend an ipip packet names as its second chance, or
	 * BNC_BACKEND_NONE (see second_chance_of() in forward.h).
	 */
	__u32 second_id;
};

static __always_inline struct bnc_vip_value *vip_lookup(const __be32 addr[4], __be16 port,
							__u8 proto, __u8 family)
{
	struct bnc_vip_key key = {};

	__builtin_memcpy(key.addr, addr, sizeof(key.addr));
	key.port = port;
	key.proto = proto;
	key.family = family;
	return bpf_map_lookup_elem(&vips, &key);
}

/* False when daddr is certainly not a VIP address. */
static __always_inline bool vip_filter_match(const struct bnc_flow_key *flow)
{
	__u32 bit = vip_filter_bit(flow->daddr, flow->family), word = bit / 64;
	__u64 *w = bpf_map_lookup_elem(&vip_filter, &word);

	return w && (*w & (1ull << (bit % 64)));
}

/* The flows4 key of an IPv4 flow. */
static __always_inline struct bnc_flow4_key flow4_key(const struct bnc_flow_key *flow)
{
	struct bnc_flow4_key k4 = {
		.saddr = flow->saddr[0],
		.daddr = flow->daddr[0],
		.sport = flow->sport,
		.dport = flow->dport,
		.proto = flow->proto,
	};

	return k4;
}

static __always_inline struct bnc_flow_value *flow_lookup(const struct bnc_flow_key *flow)
{
	struct bnc_flow4_key k4;

	if (flow->family == BNC_FAMILY_IPV4) {
		k4 = flow4_key(flow);
		return bpf_map_lookup_elem(&flows4, &k4);
	}
	return bpf_map_lookup_elem(&flows6, flow);
}

static __always_inline void flow_record(const struct bnc_flow_key *flow,
					const struct bnc_flow_value *value)
{
	struct bnc_flow4_key k4;

	if (flow->family == BNC_FAMILY_IPV4) {
		k4 = flow4_key(flow);
		bpf_map_update_elem(&flows4, &k4, value, BPF_ANY);
		return;
	}
	bpf_map_update_elem(&flows6, flow, value, BPF_ANY);
}

static __always_inline bool backend_takes_flow(const struct bnc_backend *be, bool existing)
{
	return be->state == BNC_BACKEND_UP || (existing && be->state == BNC_BACKEND_DRAIN);
}

static __always_inline __u32 vip_gen(__u32 vip_id)
{
	__u32 *gen = bpf_map_lookup_elem(&vip_gens, &vip_id);

	return gen ? *gen : 0;
}

/* An entry (flow or cache) still speaks for its flow while its VIP keeps
 * the generation it was made under and its backend takes the flow: then
 * fills sel from it and returns true.
 */
static __always_inline bool select_recorded(__u32 vip_id, __u32 gen, __u32 backend_id,
					    __u8 forwarding, struct selection *sel)
{
	struct bnc_backend *be;

	if (vip_gen(vip_id) != gen)
		return false;
	be = bpf_map_lookup_elem(&backends, &backend_id);
	if (!be || !backend_takes_flow(be, true))
		return false;
	sel->backend = be;
	sel->backend_id = backend_id;
	sel->vip_id = vip_id;
	sel->forwarding = forwarding;
	return true;
}

/* Words of struct bnc_flow_key: an IPv4 flow has zeros in the address
 * words past the first, in the key and in every entry, so only five words
 * need comparing.
 */
#define FLOW_KEY_SADDR0 0
#define FLOW_KEY_DADDR0 4
#define FLOW_KEY_PORTS 8
#define FLOW_KEY_TAIL 9

static __always_inline bool flow_key_equal(const struct bnc_flow_key *a,
					   const struct bnc_flow_key *b)
{
	const __u32 *x = (const __u32 *)a, *y = (const __u32 *)b;
	__u32 diff;

	diff = (x[FLOW_KEY_SADDR0] ^ y[FLOW_KEY_SADDR0]) |
	       (x[FLOW_KEY_DADDR0] ^ y[FLOW_KEY_DADDR0]) | (x[FLOW_KEY_PORTS] ^ y[FLOW_KEY_PORTS]) |
	       (x[FLOW_KEY_TAIL] ^ y[FLOW_KEY_TAIL]);
	if (diff || a->family == BNC_FAMILY_IPV4)
		return diff == 0;
#pragma unroll
	for (int i = 1; i < 4; i++)
		diff |= (a->saddr[i] ^ b->saddr[i]) | (a->daddr[i] ^ b->daddr[i]);
	return diff == 0;
}

/* The cache index needs spread, not the ring hash's quality: one multiply
 * over the words that differ between flows.
 */
static __always_inline __u32 flow_cache_index(const struct bnc_flow_key *flow)
{
	__u32 x = flow->saddr[0] ^ hash_rol32(flow->daddr[0], 7) ^
		  hash_rol32(((__u32)flow->sport << 16) | flow->dport, 13) ^ flow->proto;

	if (flow->family == BNC_FAMILY_IPV6)
		x ^= flow->saddr[1] ^ flow->saddr[2] ^ flow->saddr[3];
	return (x * 0x9e3779b1u) >> (32 - BNC_FLOW_CACHE_BITS);
}

/* A flow's place in the cache: this CPU's entry, and the epoch that every
 * CPU's entry at that index must carry to be used.
 */
struct cache_ref {
	struct bnc_flow_cache_entry *entry;
	__u32 *epoch;
};

static __always_inline struct cache_ref flow_cache_ref(const struct bnc_flow_key *flow)
{
	__u32 idx = flow_cache_index(flow);
	struct cache_ref ref = {
		.entry = bpf_map_lookup_elem(&flow_cache, &idx),
		.epoch = bpf_map_lookup_elem(&flow_epochs, &idx),
	};

	return ref;
}

/* The epoch, read before the flow table so that a cache entry filled from
 * what the table said then is stale if the table changed since.
 */
static __always_inline __u32 flow_cache_epoch(const struct cache_ref *ref)
{
	return ref->epoch ? READ_ONCE(*ref->epoch) : 0;
}

/* Called after the datapath wrote a flow's entry with another backend (or
 * a new entry): every CPU's cached copy at the flow's index stops being
 * used. Returns the epoch that the writer's own cache entry may carry:
 * the new one when no other writer bumped since seen was read (then no
 * write can have come between seen and this bump unseen), else seen,
 * which is stale already, so the next packet asks the table.
 */
static __always_inline __u32 flow_epoch_bump(const struct bnc_flow_key *flow, __u32 seen)
{
	__u32 idx = flow_cache_index(flow);
	__u32 *epoch = bpf_map_lookup_elem(&flow_epochs, &idx);

	if (!epoch)
		return seen;
	return __sync_fetch_and_add(epoch, 1) == seen ? seen + 1 : seen;
}

/* Refreshes the flow table entry behind cache hits every 64th packet:
 * its last_seen for the agent, and its place in the LRU so that a flow
 * served from the cache is not the first to be evicted. Counting packets
 * instead of reading the clock keeps the helper call off most hits; a flow
 * too slow to reach 64 packets rarely stays cached, since the table only
 * runs short of room when many flows compete for the cache as well.
 */
#define FLOW_CACHE_TOUCH_MASK 63

static __always_inline void flow_cache_touch(struct bnc_flow_cache_entry *c)
{
	struct bnc_flow_value *known;

	if (++c->hits & FLOW_CACHE_TOUCH_MASK)
		return;
	known = flow_lookup(&c->key);
	if (known)
		known->last_seen = flow_now();
}

/* The fastest path: this CPU forwarded the flow recently, and no CPU
 * has placed or moved a flow at its cache index since. Returns true when
 * the cache entry chose the backend.
 */
static __always_inline bool select_cached(const struct cache_ref *ref,
					  const struct bnc_flow_key *flow, struct selection *sel)
{
	struct bnc_flow_cache_entry *c = ref->entry;

	if (!c || c->valid != BNC_FLOW_CACHE_VALID || !flow_key_equal(&c->key, flow))
		return false;
	if (!ref->epoch || c->epoch != READ_ONCE(*ref->epoch))
		return false;
	if (!select_recorded(c->vip_id, c->vip_gen, c->backend_id, c->forwarding, sel))
		return false;
	flow_cache_touch(c);
	return true;
}

/* sel->cache_epoch: see struct selection. */
static __always_inline void flow_cache_fill(const struct cache_ref *ref,
					    const struct bnc_flow_key *flow,
					    const struct selection *sel)
{
	struct bnc_flow_cache_entry *c = ref->entry;

	if (!c)
		return;
	c->key = *flow;
	c->backend_id = sel->backend_id;
	c->vip_id = sel->vip_id;
	c->vip_gen = vip_gen(sel->vip_id);
	c->forwarding = sel->forwarding;
	c->epoch = sel->cache_epoch;
	c->valid = BNC_FLOW_CACHE_VALID;
	c->hits = 0;
}

/* An established flow whose table entry alone names the VIP, the
 * forwarding and the backend. Returns true when it applies.
 */
static __always_inline bool select_established(struct bnc_flow_value *known, struct selection *sel)
{
	if (!select_recorded(known->vip_id, known->vip_gen, known->backend_id, known->forwarding,
			     sel))
		return false;
	known->last_seen = flow_now();
	return true;
}

/* The host's flow hash seed, which the agent writes in the config map
 * (hash_seed in bouncer.conf). The array's one entry always exists; the
 * default stands in should the lookup ever fail, rather than no choice.
 */
static __always_inline __u32 flow_hash_seed(void)
{
	__u32 zero = 0;
	struct bnc_config *cfg = bpf_map_lookup_elem(&config, &zero);

	return cfg ? cfg->hash_seed : BNC_HASH_SEED;
}

/* A walk over a VIP's ring from a flow's hashed slot on. XDP's ring_pick()
 * and the sk_lookup program's worker re-pick both walk this way, so that
 * they visit the same slots in the same order.
 */
static __always_inline __u32 ring_probe_first(const struct bnc_vip_value *vip,
					      const struct bnc_flow_key *flow, __u32 ring_size)
{
	return flow_hash(flow, vip->flags, flow_hash_seed()) % ring_size;
}

static __always_inline __u32 ring_probe_next(__u32 slot, __u32 ring_size)
{
	return slot + 1 < ring_size ? slot + 1 : 0;
}

/* The first backend that takes new flows among BNC_RING_PROBES slots of
 * the VIP's ring from the flow's: returns true with sel->backend and
 * sel->backend_id set, false when there is none.
 */
static __always_inline bool ring_pick(const struct bnc_vip_value *vip,
				      const struct bnc_flow_key *flow, struct selection *sel)
{
	__u32 ring_size = vip->ring_size, slot, *id;
	struct bnc_backend *be;
	void *ring;

	ring = bpf_map_lookup_elem(&rings, &vip->vip_id);
	if (!ring || !ring_size)
		return false;
	slot = ring_probe_first(vip, flow, ring_size);
#pragma unroll
	for (int i = 0; i < BNC_RING_PROBES; i++) {
		id = bpf_map_lookup_elem(ring, &slot);
		if (!id || *id == BNC_BACKEND_NONE)
			return false;
		be = bpf_map_lookup_elem(&backends, id);
		if (be && backend_takes_flow(be, false)) {
			sel->backend = be;
			sel->backend_id = *id;
			return true;
		}
		slot = ring_probe_next(slot, ring_size);
	}
	return false;
}

/* The slow path, with the VIP looked up: known (may be NULL) is the flow's
 * entry that the fast path could not use. A flow keeps its backend while
 * that backend is up or draining, even when its VIP was replaced; a flow
 * whose backend went down is re-picked from the ring. New flows are
 * recorded when record is set (not for ICMP errors, which only follow a
 * flow). Returns true, or false when the VIP has no usable backend.
 */
static __always_inline bool select_backend(const struct packet *pkt,
					   const struct bnc_flow_key *flow,
					   const struct bnc_vip_value *vip,
					   struct bnc_flow_value *known, bool record,
					   struct selection *sel)
{
	struct bnc_flow_value fresh = {};
	struct bnc_backend *be;
	bool moved;

	sel->vip_id = vip->vip_id;
	sel->forwarding = vip->forwarding;
	sel->placed = true;
	/* An entry left by another VIP that had this id is no flow of ours. */
	if (known && known->vip_id != vip->vip_id)
		known = NULL;
	/* A SYN on a remembered 5-tuple is a new connection on a reused
	 * port: it goes where the ring says (so a drained or weight-0 backend
	 * gets no new connection), and its entry is overwritten.
	 */
	if (known && pkt->tcp_syn) {
		count_pkt(pkt, BNC_STAT_FLOW_MISS);
		if (!ring_pick(vip, flow, sel))
			return false;
		goto refresh;
	}
	if (known) {
		be = bpf_map_lookup_elem(&backends, &known->backend_id);
		if (be && backend_takes_flow(be, true)) {
			count_pkt(pkt, BNC_STAT_FLOW_HIT);
			sel->backend = be;
			sel->backend_id = known->backend_id;
			sel->placed = false;
			goto refresh;
		}
		count_pkt(pkt, BNC_STAT_REPICK_DOWN);
	} else {
		count_pkt(pkt, BNC_STAT_FLOW_MISS);
	}
	if (!ring_pick(vip, flow, sel))
		return false;
	if (!known) {
		/* Replaces a stale entry of another VIP, if there was one. A
		 * CPU's cache may still hold the flow from before its entry
		 * was evicted: the bump retires that copy.
		 */
		if (record) {
			fresh.backend_id = sel->backend_id;
			fresh.vip_id = vip->vip_id;
			fresh.vip_gen = vip_gen(vip->vip_id);
			fresh.forwarding = vip->forwarding;
			fresh.last_seen = flow_now();
			flow_record(flow, &fresh);
			sel->cache_epoch = flow_epoch_bump(flow, sel->cache_epoch);
		}
		return true;
	}
refresh:
	/* The entry now speaks for the current VIP, so the fast path can
	 * take the flow's next packets again.
	 */
	moved = known->backend_id != sel->backend_id;
	known->backend_id = sel->backend_id;
	known->vip_id = vip->vip_id;
	known->vip_gen = vip_gen(vip->vip_id);
	known->forwarding = vip->forwarding;
	known->last_seen = flow_now();
	/* Other CPUs' caches may hold the flow on its old backend. */
	if (moved)
		sel->cache_epoch = flow_epoch_bump(flow, sel->cache_epoch);
	return true;
}

#endif /* BOUNCER_BPF_SELECT_H */
