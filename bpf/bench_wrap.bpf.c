// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Benchmark-only programs. BPF_PROG_TEST_RUN with repeat > 1 hands each run
 * the previous run's output, so a program that pushes a header would see
 * an encapsulated packet from the second run on. lb_ipip_undo runs the
 * load balancer and then strips the outer IPv4 header it pushed, so every
 * run sees the original packet; push_undo does only a push and the same
 * strip, to show what the wrapper itself costs. lb_cache_miss runs the
 * load balancer and then invalidates the packet's flow cache slot, so that
 * every run takes the flow table path; parse_clear does only that second
 * part, for its cost.
 */
#include "lb.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Moves the Ethernet header (no VLAN tags in the benchmark) back over an
 * outer IPv4 header and gives the bytes back to the headroom.
 */
static __always_inline int strip_outer_ipv4(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct iphdr *outer = data + sizeof(struct ethhdr);
	struct ethhdr eth;

	/* Only ever strip what the load balancer pushed. */
	if ((void *)(outer + 1) > data_end || outer->version != 4 || outer->ihl != 5 ||
	    outer->protocol != IPPROTO_IPIP)
		return XDP_ABORTED;
	copy16(&eth, data, sizeof(eth));
	eth.h_proto = ETH_P_IP_BE;
	if (bpf_xdp_adjust_head(ctx, sizeof(struct iphdr)))
		return XDP_ABORTED;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (data + sizeof(eth) > data_end)
		return XDP_ABORTED;
	copy16(data, &eth, sizeof(eth));
	return XDP_TX;
}

SEC("xdp")
int lb_ipip_undo(struct xdp_md *ctx)
{
	int action = lb_process(ctx);

	if (action != XDP_TX)
		return XDP_ABORTED; /* the benchmark checks for XDP_TX */
	return strip_outer_ipv4(ctx);
}

SEC("xdp")
int push_undo(struct xdp_md *ctx)
{
	void *data, *data_end;
	struct ethhdr eth;

	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (data + sizeof(eth) > data_end)
		return XDP_ABORTED;
	copy16(&eth, data, sizeof(eth));
	if (bpf_xdp_adjust_head(ctx, -(int)sizeof(struct iphdr)))
		return XDP_ABORTED;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (data + sizeof(eth) + sizeof(struct iphdr) > data_end)
		return XDP_ABORTED;
	copy16(data, &eth, sizeof(eth));
	/* A header for strip_outer_ipv4() to find. */
	((struct iphdr *)(data + sizeof(eth)))->version = 4;
	((struct iphdr *)(data + sizeof(eth)))->ihl = 5;
	((struct iphdr *)(data + sizeof(eth)))->protocol = IPPROTO_IPIP;
	return strip_outer_ipv4(ctx);
}

/* Parses the packet again and empties its flow cache slot. */
static __always_inline int clear_cache_slot(struct xdp_md *ctx)
{
	struct cache_ref ref;
	struct packet pkt = {};

	if (parse_packet(ctx, &pkt) != PARSE_OK)
		return XDP_ABORTED;
	ref = flow_cache_ref(&pkt.flow);
	if (ref.entry)
		ref.entry->valid = 0;
	return XDP_TX;
}

SEC("xdp")
int lb_cache_miss(struct xdp_md *ctx)
{
	int action = lb_process(ctx);

	if (action != XDP_TX)
		return XDP_ABORTED;
	return clear_cache_slot(ctx);
}

SEC("xdp")
int parse_clear(struct xdp_md *ctx)
{
	return clear_cache_slot(ctx);
}
