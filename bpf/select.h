/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Backend selection: the flow table first, then the VIP's Maglev ring. */
#ifndef BOUNCER_BPF_SELECT_H
#define BOUNCER_BPF_SELECT_H

#include "common.h"
#include "bouncer_hash.h"
#include "lb_maps.h"

/* last_seen is written at most this often, so that established flows
 * mostly only read their flow entry.
 */
#define FLOW_TOUCH_NS (1ull << 30)

struct selection {
	struct bnc_backend *backend;
	__u32 backend_id;
};

static __always_inline int ring_pick(const struct bnc_vip_value *vip,
				     const struct bnc_flow_key *flow, struct selection *sel)
{
	__u32 ring_size = vip->ring_size, slot, *id;
	struct bnc_backend *be;
	void *ring;

	ring = bpf_map_lookup_elem(&rings, &vip->vip_id);
	if (!ring || !ring_size)
		return -1;
	slot = flow_hash(flow, vip->flags) % ring_size;
#pragma unroll
	for (int i = 0; i < BNC_RING_PROBES; i++) {
		id = bpf_map_lookup_elem(ring, &slot);
		if (!id || *id == BNC_BACKEND_NONE)
			return -1;
		be = bpf_map_lookup_elem(&backends, id);
		if (be && be->state == BNC_BACKEND_UP) {
			sel->backend = be;
			sel->backend_id = *id;
			return 0;
		}
		slot = slot + 1 < ring_size ? slot + 1 : 0;
	}
	return -1;
}

/* A flow keeps its backend while that backend is up or draining; a flow
 * whose backend went down is re-picked from the ring. New flows are
 * recorded when record is set (not for ICMP errors, which only follow a
 * flow). Returns 0, or -1 when the VIP has no usable backend.
 */
static __always_inline int select_backend(const struct bnc_flow_key *flow,
					  const struct bnc_vip_value *vip, bool record,
					  struct selection *sel)
{
	struct bnc_flow_value *known, fresh = {};
	struct bnc_backend *be;
	__u64 now;

	known = bpf_map_lookup_elem(&flows, flow);
	if (known) {
		be = bpf_map_lookup_elem(&backends, &known->backend_id);
		if (be && (be->state == BNC_BACKEND_UP || be->state == BNC_BACKEND_DRAIN)) {
			count(BNC_STAT_FLOW_HIT);
			now = bpf_ktime_get_coarse_ns();
			if (now - known->last_seen_ns > FLOW_TOUCH_NS)
				known->last_seen_ns = now;
			sel->backend = be;
			sel->backend_id = known->backend_id;
			return 0;
		}
		count(BNC_STAT_REPICK_DOWN);
	} else {
		count(BNC_STAT_FLOW_MISS);
	}
	if (ring_pick(vip, flow, sel))
		return -1;
	if (known) {
		known->backend_id = sel->backend_id;
		known->last_seen_ns = bpf_ktime_get_coarse_ns();
	} else if (record) {
		fresh.backend_id = sel->backend_id;
		fresh.last_seen_ns = bpf_ktime_get_coarse_ns();
		bpf_map_update_elem(&flows, flow, &fresh, BPF_ANY);
	}
	return 0;
}

#endif /* BOUNCER_BPF_SELECT_H */
