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
	/* select_backend() only: the ring placed a new flow (a TCP SYN). */
	bool placed;
	/* select_backend() only: the flow's table entry decided. */
	bool from_entry;
	/* select_backend() only: a clean ring slot chose. Only such a choice
	 * goes into the flow cache: in a changed slot every packet must reach
	 * the table (a hit keeps its entry's last_seen true) or count in
	 * miss_prev (flows still on the previous backend), which is what the
	 * agent reads to tell when the slot can be clean again (ring_clean.h).
	 */
	bool clean;
	/* select_backend() only: the flow's slot named a backend that takes
	 * no new flows, and the walk past it chose another slot's backend.
	 */
	bool walked;
	/* In: the flow's cache epoch as read before its table entry. Out of
	 * select_backend(): the epoch that a cache entry of this choice may
	 * carry (see flow_epoch_bump()).
	 */
	__u32 cache_epoch;
	/* BNC_BACKEND_NONE, unless the packet is a changed slot's miss sent
	 * to the slot's previous backend (select_unknown()): then the slot's
	 * current backend, the second chance for a packet prev does not know
	 * (ipip only: see second_chance_of() in forward.h).
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

/* Both addresses in the flow key's layout: an IPv4 address has zeros in
 * the words past the first.
 */
static __always_inline bool addr_equal(const __be32 a[4], const __be32 b[4])
{
	return ((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) | (a[3] ^ b[3])) == 0;
}

/* A copy of a vip_slots entry, read once word by word: the agent may
 * rewrite the slot meanwhile, and the check only vouches for what was
 * read.
 */
union vip_slot_copy {
	struct bnc_vip_slot slot;
	__u64 words[sizeof(struct bnc_vip_slot) / sizeof(__u64)];
};

/* The VIP a flow is for: its slot's copy when the slot holds it whole (see
 * BNC_VIP_SLOTS_LOG2), else vips' entry; NULL for none.
 */
static __always_inline struct bnc_vip_value *vip_of_flow(const struct bnc_flow_key *flow,
							 union vip_slot_copy *copy)
{
	__u32 i = vip_slot_index(flow->daddr, flow->dport, flow->proto);
	struct bnc_vip_slot *s = bpf_map_lookup_elem(&vip_slots, &i);
	struct bnc_vip_key *k = &copy->slot.key;

	if (!s)
		return NULL; /* an array entry that always exists */
	for (int w = 0; w < (int)(sizeof(copy->words) / sizeof(copy->words[0])); w++)
		copy->words[w] = READ_ONCE(((__u64 *)s)[w]);
	if (addr_equal(k->addr, flow->daddr) && k->port == flow->dport && k->proto == flow->proto &&
	    k->family == flow->family && copy->slot.check == vip_slot_check(&copy->slot))
		return &copy->slot.value;
	return vip_lookup(flow->daddr, flow->dport, flow->proto, flow->family);
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

/* A flow's slot in its VIP's ring. */
struct ring_ref {
	void *ring;
	__u32 slot;
	__u32 size;
};

/* Finds the flow's slot and reads its word (see BNC_RING_PREV_SHIFT):
 * false when the VIP has no ring.
 */
static __always_inline bool ring_read(const struct bnc_vip_value *vip,
				      const struct bnc_flow_key *flow, struct ring_ref *r,
				      __u32 *word)
{
	__u32 *w;

	r->size = vip->ring_size;
	r->ring = bpf_map_lookup_elem(&rings, &vip->vip_id);
	if (!r->ring || !r->size)
		return false;
	r->slot = ring_probe_first(vip, flow, r->size);
	w = bpf_map_lookup_elem(r->ring, &r->slot);
	if (!w)
		return false;
	*word = *w;
	return true;
}

/* Marks the flow's slot changed (prev = cur) if it is clean, so that the
 * entry just written for the flow with a backend other than the slot's is
 * read: a clean slot reads no entry. Misses there still go to cur.
 */
static __always_inline void ring_mark_changed(const struct bnc_vip_value *vip,
					      const struct bnc_flow_key *flow)
{
	__u32 size = vip->ring_size, slot, word, cur, *w;
	void *ring = bpf_map_lookup_elem(&rings, &vip->vip_id);

	if (!ring || !size)
		return;
	slot = ring_probe_first(vip, flow, size);
	w = bpf_map_lookup_elem(ring, &slot);
	if (!w)
		return;
	word = READ_ONCE(*w);
	cur = bnc_ring_cur(word);
	if (bnc_ring_prev(word) != BNC_BACKEND_NONE || cur == BNC_BACKEND_NONE)
		return;
	/* Lost to the agent's own write of the slot: that one stands. */
	__sync_val_compare_and_swap(w, word, bnc_ring_word(cur, cur));
}

/* Backend id when it takes new flows (or, with existing, existing ones
 * too), else NULL.
 */
static __always_inline struct bnc_backend *backend_taking(__u32 id, bool existing)
{
	struct bnc_backend *be;

	if (id >= BNC_MAX_BACKENDS)
		return NULL;
	be = bpf_map_lookup_elem(&backends, &id);
	return be && backend_takes_flow(be, existing) ? be : NULL;
}

/* A new flow's backend: the slot's cur when it takes new flows, else the
 * first cur that does among BNC_RING_PROBES slots from it. The walk covers
 * the moments between the agent writing a backend's state and swapping in
 * the ring that no longer gives it new flows. Returns true with
 * sel->backend, sel->backend_id and sel->walked set, false when there is
 * none.
 */
static __always_inline bool ring_pick_new(const struct ring_ref *r, __u32 word,
					  struct selection *sel)
{
	__u32 slot = r->slot, id, *w;
	struct bnc_backend *be;

#pragma unroll
	for (int i = 0; i < BNC_RING_PROBES; i++) {
		id = bnc_ring_cur(word);
		be = backend_taking(id, false);
		if (be) {
			sel->backend = be;
			sel->backend_id = id;
			sel->walked = i > 0;
			return true;
		}
		slot = ring_probe_next(slot, r->size);
		w = bpf_map_lookup_elem(r->ring, &slot);
		if (!w || id == BNC_BACKEND_NONE)
			return false;
		word = *w;
	}
	return false;
}

/* Writes the flow's entry (a new one, or over a stale one) with sel's
 * choice. A CPU's cache may still hold the flow from before its entry was
 * evicted or rewritten: the bump retires that copy.
 */
static __always_inline void select_record(const struct packet *pkt, const struct bnc_flow_key *flow,
					  const struct bnc_vip_value *vip, struct selection *sel)
{
	struct bnc_flow_value fresh = {
		.backend_id = sel->backend_id,
		.vip_id = vip->vip_id,
		.vip_gen = vip_gen(vip->vip_id),
		.forwarding = vip->forwarding,
		.last_seen = flow_now(),
	};

	flow_record(flow, &fresh);
	count_pkt(pkt, BNC_STAT_FLOW_INSERT);
	sel->cache_epoch = flow_epoch_bump(flow, sel->cache_epoch);
}

/* A packet whose flow table lookup missed in a changed slot (or whose
 * entry's backend takes no flows any more), other than a TCP SYN: a flow
 * from before the slot changed, or one whose entry another host or an
 * eviction holds. It goes to prev while prev takes existing flows; then
 * second_id names cur, where a decapsulating backend may hand a packet it
 * has no connection for. Else it is placed like a new flow. Nothing is
 * recorded: a flood of such packets grows no state.
 */
static __always_inline bool select_unknown(const struct packet *pkt, const struct ring_ref *r,
					   __u32 word, __u32 prev, struct selection *sel)
{
	struct bnc_backend *be = backend_taking(prev, true);
	__u32 cur = bnc_ring_cur(word);

	if (be) {
		count_pkt(pkt, BNC_STAT_MISS_PREV);
		sel->backend = be;
		sel->backend_id = prev;
		if (cur != prev && backend_taking(cur, false))
			sel->second_id = cur;
		return true;
	}
	count_pkt(pkt, BNC_STAT_FLOW_MISS);
	return ring_pick_new(r, word, sel);
}

/* Every packet to a VIP, whatever its flow's state: reads the flow's ring
 * slot. A clean slot names the backend (no table read, no insert, SYN or
 * not). A changed slot asks the flow table: an entry whose backend still
 * takes existing flows decides; a TCP SYN goes to the ring's new-flow
 * choice and is recorded when record is set (not for ICMP errors, which
 * only follow a flow), so that a later change cannot move it; anything
 * else goes by select_unknown(). A clean slot whose backend takes no new
 * flows is one the agent is about to change: it is read as changed with
 * prev = cur. Returns true, or false when the VIP has no usable backend.
 */
static __always_inline bool select_backend(const struct packet *pkt,
					   const struct bnc_flow_key *flow,
					   const struct bnc_vip_value *vip, bool record,
					   struct selection *sel)
{
	struct bnc_flow_value *known;
	struct bnc_backend *be;
	struct ring_ref r;
	__u32 word, prev;

	sel->vip_id = vip->vip_id;
	sel->forwarding = vip->forwarding;
	sel->placed = false;
	sel->from_entry = false;
	sel->clean = false;
	sel->walked = false;
	sel->second_id = BNC_BACKEND_NONE;
	if (!ring_read(vip, flow, &r, &word))
		return false;
	prev = bnc_ring_prev(word);
	if (prev == BNC_BACKEND_NONE) {
		prev = bnc_ring_cur(word);
		be = backend_taking(prev, false);
		if (be) {
			count_pkt(pkt, BNC_STAT_RING_CLEAN);
			sel->backend = be;
			sel->backend_id = prev;
			sel->placed = pkt->tcp_syn;
			sel->clean = true;
			return true;
		}
	}
	count_pkt(pkt, BNC_STAT_RING_CHANGED);
	known = flow_lookup(flow);
	/* An entry left by another VIP that had this id is no flow of ours. */
	if (known && known->vip_id != vip->vip_id)
		known = NULL;
	if (known && !pkt->tcp_syn) {
		be = backend_taking(known->backend_id, true);
		if (be) {
			count_pkt(pkt, BNC_STAT_FLOW_HIT);
			sel->backend = be;
			sel->backend_id = known->backend_id;
			sel->from_entry = true;
			known->last_seen = flow_now();
			return true;
		}
		count_pkt(pkt, BNC_STAT_REPICK_DOWN);
	}
	/* A SYN is a new connection, also on a remembered 5-tuple (a reused
	 * port): it goes where the ring places new flows, so that a drained
	 * or weight-0 backend gets none, and its entry is written.
	 */
	if (pkt->tcp_syn) {
		count_pkt(pkt, BNC_STAT_FLOW_MISS);
		if (!ring_pick_new(&r, word, sel))
			return false;
		sel->placed = true;
		if (record)
			select_record(pkt, flow, vip, sel);
		return true;
	}
	if (!select_unknown(pkt, &r, word, prev, sel))
		return false;
	/* An entry whose backend went down now names where the flow goes,
	 * so that it stays there. A flow the walk placed on another slot's
	 * backend gets an entry too: the ring's history only follows flows
	 * that stayed in their own slot, so the next ring would move it again.
	 */
	if ((known || sel->walked) && record)
		select_record(pkt, flow, vip, sel);
	return true;
}

#endif /* BOUNCER_BPF_SELECT_H */
