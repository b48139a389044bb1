/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The load balancer's per-packet logic: parse, find the VIP, pick the
 * backend, forward. Anything not for a VIP leaves untouched with XDP_PASS.
 * lb.bpf.c makes it the XDP program; benchmarks wrap it.
 */
#ifndef BOUNCER_BPF_LB_H
#define BOUNCER_BPF_LB_H

#include "common.h"
#include "forward.h"
#include "icmp.h"
#include "lb_maps.h"
#include "parse.h"
#include "select.h"

/* Whether daddr is a VIP address at all, whatever the port. */
static __always_inline bool is_vip_address(const struct packet *pkt)
{
	return vip_lookup(pkt->flow.daddr, 0, 0, pkt->flow.family) != NULL;
}

static __always_inline int send_to_backend(struct xdp_md *ctx, const struct packet *pkt,
					   const struct selection *sel)
{
	__u64 bytes = ctx->data_end - ctx->data;

	count_traffic(&vip_stats, sel->vip_id, bytes);
	count_traffic(&backend_stats, sel->backend_id, bytes);
	if (sel->backend->kind == BNC_BACKEND_LOCAL) {
		/* The sk_lookup program hands it to the worker's socket. */
		count_pkt(pkt, BNC_STAT_PASS_LOCAL);
		return XDP_PASS;
	}
	return forward_remote(ctx, pkt, sel->forwarding, sel->backend, sel->second_id);
}

static __always_inline int handle_service(struct xdp_md *ctx, const struct packet *pkt)
{
	union vip_slot_copy slot;
	struct bnc_vip_value *vip;
	struct selection sel = { .second_id = BNC_BACKEND_NONE };
	struct cache_ref cache;

	/* The cache first: an established flow then needs no filter read,
	 * and non-VIP traffic pays one array read and compare for it. A SYN
	 * is a new connection: the ring decides (see select_backend()).
	 */
	cache = flow_cache_ref(&pkt->flow);
	if (!pkt->tcp_syn && select_cached(&cache, &pkt->flow, &sel)) {
		count_pkt(pkt, BNC_STAT_FLOW_CACHE_HIT);
		return send_to_backend(ctx, pkt, &sel);
	}
	if (!vip_filter_match(&pkt->flow))
		goto not_vip;
	vip = vip_of_flow(&pkt->flow, &slot);
	if (!vip)
		goto not_vip;
	sel.cache_epoch = flow_cache_epoch(&cache);
	if (!select_backend(pkt, &pkt->flow, vip, true, &sel)) {
		count_pkt(pkt, BNC_STAT_DROP_NO_BACKEND);
		count_traffic(&vip_stats, vip->vip_id, ctx->data_end - ctx->data);
		return XDP_DROP;
	}
	if (sel.placed)
		count_placed(sel.vip_id, sel.backend_id);
	if (sel.clean)
		flow_cache_fill(&cache, &pkt->flow, &sel);
	return send_to_backend(ctx, pkt, &sel);
not_vip:
	count_pkt(pkt, BNC_STAT_PASS_NOT_VIP);
	return XDP_PASS;
}

/* An ICMP error about a VIP flow goes where that flow goes: the backend
 * needs it for path MTU discovery, since under DSR it sends the replies.
 */
static __always_inline int forward_icmp_error(struct xdp_md *ctx, const struct packet *pkt)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct bnc_flow_key flow = {};
	union vip_slot_copy slot;
	struct bnc_vip_value *vip;
	struct selection sel = { .second_id = BNC_BACKEND_NONE };

	if (!icmp_quoted_flow(data, data_end, pkt, &flow))
		goto pass;
	/* A router sends the error to the source of the packet it is about:
	 * for a VIP flow, the VIP. One sent to this host or to any other is
	 * not the backend's to see, whatever it quotes.
	 */
	if (!addr_equal(pkt->flow.daddr, flow.daddr))
		goto pass;
	vip = vip_of_flow(&flow, &slot);
	if (!vip)
		goto pass;
	if (!select_backend(pkt, &flow, vip, false, &sel)) {
		count_pkt(pkt, BNC_STAT_DROP_NO_BACKEND);
		return XDP_DROP;
	}
	count_pkt(pkt, BNC_STAT_FWD_ICMP_ERROR);
	return send_to_backend(ctx, pkt, &sel);
pass:
	count_pkt(pkt, BNC_STAT_PASS_ICMP);
	return XDP_PASS;
}

static __always_inline int handle_icmp(struct xdp_md *ctx, const struct packet *pkt)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	switch (icmp_classify(data, data_end, pkt)) {
	case ICMP_KIND_ECHO_REQUEST:
		if (is_vip_address(pkt))
			return reply_echo(ctx, pkt);
		break;
	case ICMP_KIND_TOO_BIG:
		return forward_icmp_error(ctx, pkt);
	default:
		break;
	}
	count_pkt(pkt, BNC_STAT_PASS_ICMP);
	return XDP_PASS;
}

static __always_inline int lb_process(struct xdp_md *ctx)
{
	struct packet pkt = {};

	pkt.stats = global_stats_this_cpu();
	if (!pkt.stats)
		return XDP_ABORTED; /* an array entry that always exists */

	switch (parse_packet(ctx, &pkt)) {
	case PARSE_OK:
		break;
	case PARSE_NOT_IP:
		count_pkt(&pkt, BNC_STAT_PASS_NOT_IP);
		return XDP_PASS;
	default:
		count_pkt(&pkt, BNC_STAT_DROP_MALFORMED);
		return XDP_DROP;
	}
	if (pkt.fragment) {
		/* Only the first fragment has ports: none can be hashed to
		 * the right backend, so the stack gets them all.
		 */
		count_pkt(&pkt,
			  is_vip_address(&pkt) ? BNC_STAT_PASS_FRAGMENT : BNC_STAT_PASS_NOT_VIP);
		return XDP_PASS;
	}
	switch (pkt.flow.proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
		return handle_service(ctx, &pkt);
	case IPPROTO_ICMP:
		if (pkt.flow.family == BNC_FAMILY_IPV4)
			return handle_icmp(ctx, &pkt);
		break;
	case IPPROTO_ICMPV6:
		if (pkt.flow.family == BNC_FAMILY_IPV6)
			return handle_icmp(ctx, &pkt);
		break;
	default:
		break;
	}
	count_pkt(&pkt, BNC_STAT_PASS_NOT_VIP);
	return XDP_PASS;
}

#endif /* BOUNCER_BPF_LB_H */
