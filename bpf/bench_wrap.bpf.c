// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Benchmark-only programs. BPF_PROG_TEST_RUN with repeat > 1 hands each run
 * the previous run's output, so a program that pushes a header would see
 * an encapsulated packet from the second run on. lb_ipip_undo runs the
 * load balancer and then strips the outer IPv4 header it pushed, so every
 * run sees the original packet; push_undo does only a push and the same
 * strip, to show what the wrapper itself costs. lb_cache_miss runs the
 * load balancer and then invalidates the packet's flow cache slot, so that
 * every run takes the flow table path; parse_clear does only that second
 * part, for its cost. encap_second runs the ipip forwarding alone with a
 * chosen second chance (the datapath test uses it too), encap_gue the
 * encapsulation candidate that was not taken. lb_cycle runs the load
 * balancer over a table of flows, one per run, so that one call with a
 * large repeat measures many flows; cycle_floor is its floor.
 */
#include "lb.h"
/* Shared with the benchmark that fills lb_cycle's table. */
#include "../bench/cycle.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Moves the Ethernet header (no VLAN tags in the benchmark) back over an
 * outer IPv4 header (around IPv4, or IPv6) and gives the bytes back to the
 * headroom.
 */
static __always_inline int strip_outer_ipv4(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct iphdr *outer = data + sizeof(struct ethhdr);
	struct ethhdr eth;

	/* Only ever strip what the load balancer pushed. */
	if ((void *)(outer + 1) > data_end || outer->version != 4 || outer->ihl != 5 ||
	    (outer->protocol != IPPROTO_IPIP && outer->protocol != IPPROTO_IPV6))
		return XDP_ABORTED;
	copy16(&eth, data, sizeof(eth));
	eth.h_proto = outer->protocol == IPPROTO_IPIP ? ETH_P_IP_BE : ETH_P_IPV6_BE;
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

/* forward_remote() alone, by ipip, to backends[encap_backend_id] with
 * encap_second_id as the second chance: lets the datapath test check the
 * outer header a second chance gives, and the benchmark measure what it
 * costs, before the ring's slot history chooses second_id for real. Set
 * both through the skeleton's bss before a run.
 */
__u32 encap_backend_id;
__u32 encap_second_id = BNC_BACKEND_NONE;

SEC("xdp")
int encap_second(struct xdp_md *ctx)
{
	struct packet pkt = {};
	struct bnc_backend *be;
	__u32 id = encap_backend_id;

	pkt.stats = global_stats_this_cpu();
	if (!pkt.stats || parse_packet(ctx, &pkt) != PARSE_OK)
		return XDP_ABORTED;
	be = bpf_map_lookup_elem(&backends, &id);
	if (!be)
		return XDP_ABORTED;
	return forward_remote(ctx, &pkt, BNC_FWD_IPIP, be, encap_second_id);
}

/* The candidate not taken, for the benchmark's comparison: the second
 * chance in a GUE-style UDP header (RFC 8086's FOU with a 4-byte GUE
 * header and 4 bytes of private data holding the address) on an outer
 * IPv4 header: 36 bytes pushed, against 20 for plain ipip and 28 with the
 * IP option. UDP checksum zero, as RFC 6935 allows for tunnels over IPv4.
 * A bare push, without forward_remote()'s MTU check and counters: its cost
 * is a lower bound for the format.
 */
#define GUE_PORT 6080
struct gue_encap {
	struct iphdr ip;
	struct udphdr udp;
	__u8 gue_flags; /* version 0, C 0, hlen 1 (words of private data) */
	__u8 gue_proto; /* IPPROTO_IPIP */
	__be16 gue_more; /* flags: none */
	__be32 second; /* private data: the second chance */
};

SEC("xdp")
int encap_gue(struct xdp_md *ctx)
{
	struct packet pkt = {};
	struct bnc_backend *be, *second;
	__u32 id = encap_backend_id, sid = encap_second_id, zero = 0;
	struct bnc_config *cfg = bpf_map_lookup_elem(&config, &zero);
	struct gue_encap *h;
	void *data, *data_end;
	struct ethhdr eth;

	pkt.stats = global_stats_this_cpu();
	if (!cfg || !pkt.stats || parse_packet(ctx, &pkt) != PARSE_OK)
		return XDP_ABORTED;
	be = bpf_map_lookup_elem(&backends, &id);
	second = bpf_map_lookup_elem(&backends, &sid);
	if (!be || !second)
		return XDP_ABORTED;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (data + sizeof(eth) > data_end)
		return XDP_ABORTED;
	copy16(&eth, data, sizeof(eth));
	if (bpf_xdp_adjust_head(ctx, -(int)sizeof(*h)))
		return XDP_ABORTED;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	h = data + sizeof(eth);
	if ((void *)(h + 1) > data_end)
		return XDP_ABORTED;
	eth.h_proto = ETH_P_IP_BE;
	copy16(data, &eth, sizeof(eth));
	encap_ipv4_fixed(&h->ip, &pkt, IPPROTO_UDP, cfg, be);
	h->ip.tot_len = bpf_htons(pkt.l3_len + sizeof(*h));
	h->udp.source = bpf_htons(0xc000 | (pkt.flow.sport & 0x3fff)); /* ECMP entropy */
	h->udp.dest = bpf_htons(GUE_PORT);
	h->udp.len = bpf_htons(pkt.l3_len + sizeof(*h) - sizeof(h->ip));
	h->udp.check = 0;
	h->gue_flags = 1;
	h->gue_proto = IPPROTO_IPIP;
	h->gue_more = 0;
	h->second = second->addr[0];
	h->ip.check = ipv4_header_csum(&h->ip);
	return transmit(ctx, be->next_hop_mac, be->src_mac, be->ifindex);
}

/* The benchmark's own map (its name says so: the benchmark loads these
 * programs against the load balancer's maps and creates only this one).
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BENCH_CYCLE_FLOWS);
	__type(key, __u32);
	__type(value, struct bench_flow);
} bench_cycle_flows SEC(".maps");

/* Set through the skeleton's bss: the table's entries in use, the next
 * one, and (read back) the runs whose packet reached another backend or
 * could not be rewritten.
 */
__u32 cycle_flows;
__u32 cycle_next;
__u32 cycle_wrong;

/* Writes the next flow's source address and port into the TCP packet (IPv4
 * without options, or IPv6 without extension headers, as the benchmark
 * builds them; checksums are left alone, as the load balancer reads none)
 * and returns that flow, or NULL.
 */
static __always_inline struct bench_flow *cycle_rewrite(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct bench_flow *f;
	struct tcphdr *tcp;
	__u32 i = cycle_next;

	cycle_next = i + 1 < cycle_flows ? i + 1 : 0;
	f = bpf_map_lookup_elem(&bench_cycle_flows, &i);
	if (!f || (void *)(eth + 1) > data_end)
		return NULL;
	if (eth->h_proto == ETH_P_IP_BE) {
		struct iphdr *ip = (void *)(eth + 1);

		tcp = (void *)(ip + 1);
		if ((void *)(tcp + 1) > data_end)
			return NULL;
		ip->saddr = f->saddr[0];
	} else {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		tcp = (void *)(ip6 + 1);
		if ((void *)(tcp + 1) > data_end)
			return NULL;
		copy16(&ip6->saddr, f->saddr, sizeof(ip6->saddr));
	}
	tcp->source = f->sport;
	return f;
}

SEC("xdp")
int lb_cycle(struct xdp_md *ctx)
{
	struct bench_flow *f = cycle_rewrite(ctx);
	void *data, *data_end;
	__u8 want;
	int action;

	if (!f) {
		cycle_wrong++;
		return XDP_ABORTED;
	}
	want = f->backend;
	action = lb_process(ctx);
	if (action != XDP_TX) {
		cycle_wrong++;
		return XDP_ABORTED;
	}
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (data + sizeof(struct ethhdr) + sizeof(struct iphdr) > data_end) {
		cycle_wrong++;
		return XDP_ABORTED;
	}
	if (((struct ethhdr *)data)->h_dest[5] != want)
		cycle_wrong++;
	/* ipip pushed an outer header: the next run must see the original. */
	if (((struct ethhdr *)data)->h_proto == ETH_P_IP_BE &&
	    ((struct iphdr *)(data + sizeof(struct ethhdr)))->protocol != IPPROTO_TCP)
		return strip_outer_ipv4(ctx);
	return XDP_TX;
}

SEC("xdp")
int cycle_floor(struct xdp_md *ctx)
{
	if (!cycle_rewrite(ctx)) {
		cycle_wrong++;
		return XDP_ABORTED;
	}
	return XDP_TX;
}
