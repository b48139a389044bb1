/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Steering of a VIP's connections to local workers, for the sk_lookup
 * program: the backend that the flow table names (XDP recorded it), or
 * that the VIP's ring names for a client XDP never saw (one on this host),
 * gets the connection on its worker's listening socket from the workers
 * SOCKMAP. Nothing is rewritten: the worker's socket simply receives
 * connections to the VIP's address and port.
 */
#ifndef BOUNCER_BPF_STEER_H
#define BOUNCER_BPF_STEER_H

#include "common.h"
#include "lb_maps.h"
#include "parse.h"
#include "select.h"

/* Values of bpf_sk_lookup.family: <sys/socket.h> does not build for the
 * BPF target.
 */
#define STEER_AF_INET 2
#define STEER_AF_INET6 10

/* The lookup's flow keyed as XDP keys it: from the client (remote) to the
 * VIP (local). Returns BNC_CONTINUE, or SK_PASS for a family that cannot
 * be a VIP's.
 */
static __always_inline int steer_flow_of(const struct bpf_sk_lookup *ctx, struct bnc_flow_key *flow)
{
	/* remote_port: network order. The 6.1 UAPI declares it __be16;
	 * kernels before 5.18 declare a __u32 that holds the port in its
	 * first two bytes and take this 2-byte load as a narrow load of it
	 * (little-endian hosts). local_port: host order, in a __u32.
	 */
	flow->sport = ctx->remote_port;
	flow->dport = bpf_htons((__u16)ctx->local_port);
	flow->proto = (__u8)ctx->protocol;
	switch (ctx->family) {
	case STEER_AF_INET:
		flow->family = BNC_FAMILY_IPV4;
		flow->saddr[0] = ctx->remote_ip4;
		flow->daddr[0] = ctx->local_ip4;
		return BNC_CONTINUE;
	case STEER_AF_INET6:
		flow->family = BNC_FAMILY_IPV6;
#pragma unroll
		for (int i = 0; i < 4; i++) {
			/* One 4-byte context load per word: the verifier
			 * rejects wider loads of these fields.
			 */
			flow->saddr[i] = ctx->remote_ip6[i];
			flow->daddr[i] = ctx->local_ip6[i];
		}
		return BNC_CONTINUE;
	default:
		return SK_PASS;
	}
}

/* Hands the lookup to a worker's listening socket. Returns true, or false
 * when the worker has no socket in the map right now (between a crash and
 * its restart) or its socket cannot take this lookup (not listening,
 * another protocol, an IPv4 socket for an IPv6 VIP).
 */
static __always_inline bool worker_assign(struct bpf_sk_lookup *ctx, __u32 backend_id)
{
	struct bpf_sock *sk;
	long err;

	sk = bpf_map_lookup_elem(&workers, &backend_id);
	if (!sk)
		return false;
	/* A UDP VIP's workers share its address and port in one reuseport
	 * group (bind.h): the choice made here is final, else the group's
	 * own hash would pick another worker.
	 */
	err = bpf_sk_assign(ctx, sk,
			    ctx->protocol == IPPROTO_UDP ? BPF_SK_LOOKUP_F_NO_REUSEPORT : 0);
	/* The lookup took a reference; the assignment holds its own. */
	bpf_sk_release(sk);
	return err == 0;
}

/* Another worker for a flow whose worker could not take it: the first
 * backend, walking the VIP's ring from the flow's slot as ring_pick()
 * does, that is local, up, and takes the lookup on its socket. So every
 * lookup of the flow makes the same choice while the workers stay as they
 * are, rather than refusing a connection that a live worker could serve.
 * Returns true with *picked set, or false when BNC_SK_REPICK_PROBES slots
 * hold no such worker.
 */
static __always_inline bool worker_repick(struct bpf_sk_lookup *ctx,
					  const struct bnc_vip_value *vip,
					  const struct bnc_flow_key *flow, __u32 failed,
					  __u32 *picked)
{
	__u32 ring_size = vip->ring_size, slot, tried = failed, id;
	struct bnc_backend *be;
	__u32 *slot_id;
	void *ring;

	ring = bpf_map_lookup_elem(&rings, &vip->vip_id);
	if (!ring || !ring_size)
		return false;
	slot = ring_probe_first(vip, flow, ring_size);
	/* A bounded loop (kernel 5.3+), not unrolled: each pass holds a
	 * socket reference, and the verifier walks every pass anyway.
	 */
	for (int i = 0; i < BNC_SK_REPICK_PROBES; i++) {
		slot_id = bpf_map_lookup_elem(ring, &slot);
		if (!slot_id)
			return false;
		id = bnc_ring_cur(*slot_id);
		if (id == BNC_BACKEND_NONE)
			return false;
		/* A backend often holds a run of slots: try it once. */
		if (id != failed && id != tried) {
			tried = id;
			be = bpf_map_lookup_elem(&backends, &id);
			if (be && be->kind == BNC_BACKEND_LOCAL && backend_takes_flow(be, false) &&
			    worker_assign(ctx, id)) {
				*picked = id;
				return true;
			}
		}
		slot = ring_probe_next(slot, ring_size);
	}
	return false;
}

/* Records a re-picked worker as the flow's backend, as XDP records a
 * choice: the flow's next lookups (each datagram to an unconnected UDP
 * socket) go straight to it, and stay there when the first worker is back.
 */
static __always_inline void steer_record(const struct bnc_flow_key *flow,
					 const struct bnc_vip_value *vip, __u32 backend_id)
{
	struct bnc_flow_value value = {
		.backend_id = backend_id,
		.vip_id = vip->vip_id,
		.vip_gen = vip_gen(vip->vip_id),
		.forwarding = vip->forwarding,
		.last_seen = flow_now(),
	};

	flow_record(flow, &value);
	ring_mark_changed(vip, flow);
}

/* The sk_lookup program's logic. A lookup for a VIP ends in one of the
 * SK_ counters (see BNC_GLOBAL_STATS); the flow table counters also count
 * the flows recorded or re-picked here, which XDP never saw. Always
 * SK_PASS: with a socket assigned the stack takes it, without one the
 * stack's own lookup goes on (and refuses a VIP connection nobody serves).
 * A same-host client of a VIP with local workers and remote backends is
 * always served by a local worker: the ring's remote choices are re-picked
 * among the workers.
 */
static __always_inline int steer_lookup(struct bpf_sk_lookup *ctx)
{
	union vip_slot_copy slot;
	struct bnc_vip_value *vip;
	struct packet pkt = {};
	struct selection sel = { .second_id = BNC_BACKEND_NONE };
	__u32 picked;
	bool remote;

	if (steer_flow_of(ctx, &pkt.flow) != BNC_CONTINUE)
		return SK_PASS;
	if (!vip_filter_match(&pkt.flow))
		return SK_PASS;
	pkt.stats = global_stats_this_cpu();
	if (!pkt.stats)
		return SK_PASS; /* an array entry that always exists */
	/* A lookup is read as a packet of its flow (tcp_syn stays clear), so
	 * that it agrees with what XDP did with the same packet: an entry
	 * XDP wrote decides, and a miss in a changed slot goes to the slot's
	 * previous backend. So a new TCP connection from a client XDP did
	 * not see goes there too while the slot is changed, a draining
	 * worker included.
	 */
	vip = vip_of_flow(&pkt.flow, &slot);
	if (!vip)
		return SK_PASS;
	if (!select_backend(&pkt, &pkt.flow, vip, true, &sel)) {
		count_pkt(&pkt, BNC_STAT_SK_NO_WORKER);
		return SK_PASS;
	}
	remote = sel.backend->kind != BNC_BACKEND_LOCAL;
	if (!remote && worker_assign(ctx, sel.backend_id)) {
		count_pkt(&pkt, BNC_STAT_SK_ASSIGN);
		/* Placed here: a new TCP connection of a client XDP did not
		 * see (clean slots record nothing, so a lookup cannot tell;
		 * a flow XDP recorded is a hit).
		 */
		if (pkt.flow.proto == IPPROTO_TCP && !sel.from_entry)
			count_placed(sel.vip_id, sel.backend_id);
		return SK_PASS;
	}
	/* A remote choice gets here only for a client XDP did not see (one on
	 * this host, or behind an interface without the program) connecting
	 * to a VIP this host holds: forwarding it is not this program's job,
	 * and the stack would refuse it, so a local worker takes it if the
	 * VIP has one.
	 */
	if (!worker_repick(ctx, vip, &pkt.flow, sel.backend_id, &picked)) {
		count_pkt(&pkt, remote ? BNC_STAT_SK_REMOTE : BNC_STAT_SK_NO_WORKER);
		return SK_PASS;
	}
	steer_record(&pkt.flow, vip, picked);
	count_pkt(&pkt, BNC_STAT_SK_REPICK);
	count_placed(vip->vip_id, picked);
	return SK_PASS;
}

#endif /* BOUNCER_BPF_STEER_H */
