/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Sending a packet to a remote backend: next-hop resolution (stored by the
 * agent or bpf_fib_lookup), IPIP/IP6IP6 encapsulation (with a second chance
 * when the selection names one), the MAC rewrite and the transmit verdict;
 * and the ICMP reply for packets that would outgrow the egress MTU once
 * encapsulated.
 */
#ifndef BOUNCER_BPF_FORWARD_H
#define BOUNCER_BPF_FORWARD_H

#include "common.h"
#include "csum.h"
#include "bouncer_decap.h"
#include "bouncer_hash.h"
#include "icmp.h"
#include "lb_maps.h"
#include "parse.h"

/* Values of bpf_fib_lookup.family: <sys/socket.h> does not build for the
 * BPF target.
 */
#ifndef AF_INET
#define AF_INET 2
#define AF_INET6 10
#endif

/* TTL / hop limit of the IP headers we write: outer IPIP and IP6IP6
 * headers, and ICMP replies.
 */
#define BNC_TTL 64

/* The next hop bpf_fib_lookup() found. mtu 0 means no size check. */
struct next_hop {
	__u8 dmac[ETH_ALEN];
	__u8 smac[ETH_ALEN];
	__u32 ifindex;
	__u32 mtu;
};

/* Encapsulation overhead of an outer header of the backend's family, with
 * the second chance's option when there is one.
 */
static __always_inline __u32 encap_overhead(const struct bnc_backend *be,
					    const struct bnc_backend *second)
{
	if (be->family == BNC_FAMILY_IPV6)
		return sizeof(struct ipv6hdr) + (second ? BNC_SC_DSTOPT_LEN : 0);
	return sizeof(struct iphdr) + (second ? BNC_SC_OPT_V4_LEN : 0);
}

/* The backend that an ipip packet carries as its second chance (see
 * bouncer_decap.h), or NULL: second_id names one, the VIP forwards by ipip
 * (dsr has nowhere to carry it), and it is a remote backend of the first
 * one's family that is not down (the option holds one address of the outer
 * header's family).
 */
static __always_inline const struct bnc_backend *
second_chance_of(__u8 forwarding, const struct bnc_backend *be, __u32 second_id)
{
	const struct bnc_backend *second;

	if (second_id == BNC_BACKEND_NONE || forwarding != BNC_FWD_IPIP)
		return NULL;
	second = bpf_map_lookup_elem(&backends, &second_id);
	if (!second || second == be || second->kind != BNC_BACKEND_REMOTE ||
	    second->state == BNC_BACKEND_DOWN || second->family != be->family)
		return NULL;
	return second;
}

static __always_inline int next_hop_fib(struct xdp_md *ctx, const struct packet *pkt,
					const struct bnc_backend *be, __u32 out_len,
					struct next_hop *nh)
{
	struct bpf_fib_lookup params = {};
	long rc;

	params.ifindex = ctx->ingress_ifindex;
	params.tot_len = out_len;
	if (be->family == BNC_FAMILY_IPV6) {
		params.family = AF_INET6;
		__builtin_memcpy(params.ipv6_dst, be->addr, sizeof(params.ipv6_dst));
	} else {
		params.family = AF_INET;
		params.ipv4_dst = be->addr[0];
	}
	rc = bpf_fib_lookup(ctx, &params, sizeof(params), 0);
	switch (rc) {
	case BPF_FIB_LKUP_RET_SUCCESS:
		nh->mtu = 0; /* the lookup checked tot_len against it already */
		break;
	case BPF_FIB_LKUP_RET_FRAG_NEEDED:
		nh->mtu = params.mtu_result;
		break;
	case BPF_FIB_LKUP_RET_NO_NEIGH:
		/* Passing a DSR packet would not resolve the neighbour: its
		 * destination is the VIP. The agent resolves backends.
		 */
		count_pkt(pkt, BNC_STAT_PASS_NO_NEIGH);
		return XDP_PASS;
	default:
		count_pkt(pkt, BNC_STAT_DROP_FIB);
		return XDP_DROP;
	}
	__builtin_memcpy(nh->dmac, params.dmac, ETH_ALEN);
	__builtin_memcpy(nh->smac, params.smac, ETH_ALEN);
	nh->ifindex = params.ifindex;
	return BNC_CONTINUE;
}

/* Copies in 16-bit moves. __builtin_memcpy() would move packet bytes one
 * at a time, since nothing tells clang the frame is 2-byte aligned; it is
 * here (the Ethernet header starts the frame), and so are the L2 header
 * copies on the stack and the MACs in struct bnc_backend.
 */
static __always_inline void copy16(void *dst, const void *src, const int len)
{
	__u16 *d = dst;
	const __u16 *s = src;

#pragma unroll
	for (int i = 0; i < len / 2; i++)
		d[i] = s[i];
}

static __always_inline void mac_copy(__u8 *dst, const __u8 *src)
{
	copy16(dst, src, ETH_ALEN);
}

/* Copies the Ethernet header and VLAN tags aside. Every frame we rewrite
 * holds an IP header behind them, so all of struct l2_header is readable;
 * false only if the frame is shorter than that.
 */
static __always_inline bool l2_save(struct xdp_md *ctx, struct l2_header *l2)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	if (data + sizeof(*l2) > data_end)
		return false;
	copy16(l2, data, sizeof(*l2));
	return true;
}

/* Writes a saved L2 header at the (moved) start of the frame. Bytes past
 * the real L2 length land where the caller writes its new L3 header next.
 * False, writing nothing, if the frame is shorter than struct l2_header.
 */
static __always_inline bool l2_restore(struct xdp_md *ctx, const struct l2_header *l2)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	if (data + sizeof(*l2) > data_end)
		return false;
	copy16(data, l2, sizeof(*l2));
	return true;
}

/* After the head moved: writes what follows the MACs, the saved VLAN tags
 * (with the EtherType that announces them) or the EtherType proto, which
 * the last tag carries when there are tags. False, writing nothing, if the
 * frame is shorter than struct l2_header.
 */
static __always_inline bool l2_push(struct xdp_md *ctx, const struct packet *pkt,
				    struct l2_header *l2, __be16 proto)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	if (data + sizeof(*l2) > data_end)
		return false;
	if (!pkt->nvlan) {
		eth->h_proto = proto;
		return true;
	}
	l2_set_proto(l2, pkt->nvlan, proto);
	copy16(&eth->h_proto, &l2->eth.h_proto, sizeof(l2->eth.h_proto) + sizeof(l2->vlan));
	return true;
}

static __always_inline int transmit(struct xdp_md *ctx, const __u8 *dmac, const __u8 *smac,
				    __u32 ifindex)
{
	struct ethhdr *eth = (void *)(long)ctx->data;

	if ((void *)(eth + 1) > (void *)(long)ctx->data_end)
		return XDP_DROP;
	mac_copy(eth->h_dest, dmac);
	mac_copy(eth->h_source, smac);
	/* ifindex 0: a one-arm set-up, out through the device it came in on;
	 * checked first because reading ingress_ifindex costs two loads.
	 */
	if (ifindex == 0 || ifindex == ctx->ingress_ifindex)
		return XDP_TX;
	return bpf_redirect(ifindex, 0);
}

/* The fixed 20 bytes of an outer IPv4 header without options, checksum
 * zero.
 */
static __always_inline void encap_ipv4_fixed(struct iphdr *iph, const struct packet *pkt,
					     __u8 inner_proto, const struct bnc_config *cfg,
					     const struct bnc_backend *be)
{
	iph->version = 4;
	iph->ihl = 5;
	iph->tos = pkt->tos;
	iph->tot_len = bpf_htons(pkt->l3_len + sizeof(*iph));
	iph->id = 0;
	/* Keep the sender's DF: it asked for PMTU discovery. */
	iph->frag_off =
		(pkt->ipv4_df || pkt->flow.family == BNC_FAMILY_IPV6) ? bpf_htons(IPV4_DF) : 0;
	iph->ttl = BNC_TTL;
	iph->protocol = inner_proto;
	iph->check = 0;
	iph->saddr = cfg->ipip_src_v4;
	iph->daddr = be->addr[0];
}

/* Pushes an outer header of the backend's family in front of the IP
 * datagram, with second's address as its second chance when second is not
 * NULL. The inner packet is not touched: its checksums stay valid. False
 * when it could not be (no config entry, a frame too short): the frame,
 * perhaps half rewritten, is then to be dropped.
 */
static __always_inline bool encap_push(struct xdp_md *ctx, const struct packet *pkt,
				       const struct bnc_backend *be,
				       const struct bnc_backend *second)
{
	__u32 zero = 0, l3_off = pkt->l3_off & L3_OFF_MASK, flow_label;
	struct bnc_config *cfg = bpf_map_lookup_elem(&config, &zero);
	__u8 inner_proto = pkt->flow.family == BNC_FAMILY_IPV6 ? IPPROTO_IPV6 : IPPROTO_IPIP;
	/* Zeroed: the verifier cannot tell that nvlan, read twice, is the same
	 * both times, and would see the tags read unwritten (clang 14,
	 * kernel 6.18).
	 */
	struct l2_header l2 = {};
	void *data, *data_end;
	int outer_len;

	/* Only the tags move: transmit() writes both MACs afterwards. */
	if (!cfg || l3_off > sizeof(l2) || (pkt->nvlan && !l2_save(ctx, &l2)))
		return false;
	outer_len = encap_overhead(be, second);
	if (bpf_xdp_adjust_head(ctx, -outer_len))
		return false;
	if (!l2_push(ctx, pkt, &l2, be->family == BNC_FAMILY_IPV6 ? ETH_P_IPV6_BE : ETH_P_IP_BE))
		return false;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;

	if (be->family == BNC_FAMILY_IPV6) {
		struct ipv6hdr *ip6 = data + l3_off;

		if ((void *)(ip6 + 1) > data_end)
			return false;
		flow_label = encap_flow_label(&pkt->flow, cfg->hash_seed);
		ip6->version = 6;
		ip6->priority = pkt->tos >> 4;
		ip6->flow_lbl[0] = ((pkt->tos & 0xf) << 4) | (flow_label >> 16);
		ip6->flow_lbl[1] = flow_label >> 8;
		ip6->flow_lbl[2] = flow_label;
		ip6->payload_len = bpf_htons(pkt->l3_len + (second ? BNC_SC_DSTOPT_LEN : 0));
		ip6->nexthdr = second ? IPPROTO_DSTOPTS : inner_proto;
		ip6->hop_limit = BNC_TTL;
		__builtin_memcpy(&ip6->saddr, cfg->ipip_src_v6, sizeof(ip6->saddr));
		__builtin_memcpy(&ip6->daddr, be->addr, sizeof(ip6->daddr));
		if (second) {
			struct bnc_sc_v6 *opt = (void *)(ip6 + 1);

			if ((void *)(opt + 1) > data_end)
				return false;
			opt->nexthdr = inner_proto;
			opt->hdrlen = BNC_SC_DSTOPT_LEN / 8 - 1;
			opt->type = BNC_SC_OPT_V6;
			opt->len = BNC_SC_OPT_V6_DATA_LEN;
			*(__u32 *)&opt->flags = 0; /* flags and padding */
			__builtin_memcpy(opt->addr, second->addr, sizeof(opt->addr));
		}
	} else if (second) {
		struct iphdr *iph = data + l3_off;
		struct bnc_sc_v4 *opt = (void *)(iph + 1);

		if ((void *)(opt + 1) > data_end)
			return false;
		encap_ipv4_fixed(iph, pkt, inner_proto, cfg, be);
		iph->ihl = 5 + BNC_SC_OPT_V4_LEN / 4;
		iph->tot_len = bpf_htons(pkt->l3_len + sizeof(*iph) + sizeof(*opt));
		opt->type = BNC_SC_OPT_V4;
		opt->len = BNC_SC_OPT_V4_LEN;
		opt->flags = 0;
		opt->pad = 0;
		opt->addr = second->addr[0];
		iph->check = ipv4_header_csum_len(iph, sizeof(*iph) + sizeof(*opt));
	} else {
		struct iphdr *iph = data + l3_off;

		if ((void *)(iph + 1) > data_end)
			return false;
		encap_ipv4_fixed(iph, pkt, inner_proto, cfg, be);
		iph->check = ipv4_header_csum(iph);
	}
	return true;
}

/* Largest quote of an IPv6 packet in a "packet too big" reply that we sum
 * with a bounded loop; longer extension header chains are cut to the fixed
 * header plus 8 bytes.
 */
#define TOO_BIG_QUOTE_MAX_V6 256
#define TOO_BIG_QUOTE_MIN_V6 (sizeof(struct ipv6hdr) + 8)
/* IPv4 header with the longest options plus 8 bytes. */
#define TOO_BIG_QUOTE_MAX_V4 (60 + 8)

/* Turns the frame into an ICMP "fragmentation needed" (IPv4) or "packet
 * too big" (IPv6) error back to the sender, from the VIP, quoting the
 * start of the packet, with mtu as the largest datagram that fits.
 */
static __always_inline int reply_too_big(struct xdp_md *ctx, const struct packet *pkt, __u32 mtu)
{
	__u32 l3_off = pkt->l3_off & L3_OFF_MASK, quote, new_len, cur_len, hdr_len, nwords;
	struct l2_header l2;
	__u8 tmp[ETH_ALEN];
	void *data, *data_end;
	__u64 sum;

	if (pkt->flow.family == BNC_FAMILY_IPV4) {
		quote = pkt->l4_off - l3_off + 8;
		hdr_len = sizeof(struct iphdr) + sizeof(struct icmphdr);
	} else {
		quote = pkt->l4_off - l3_off + 8;
		if (quote > TOO_BIG_QUOTE_MAX_V6)
			quote = TOO_BIG_QUOTE_MIN_V6;
		hdr_len = sizeof(struct ipv6hdr) + sizeof(struct icmp6hdr);
	}
	if (!l2_save(ctx, &l2) || l3_off > sizeof(l2))
		return XDP_DROP;
	__builtin_memcpy(tmp, l2.eth.h_dest, ETH_ALEN);
	__builtin_memcpy(l2.eth.h_dest, l2.eth.h_source, ETH_ALEN);
	__builtin_memcpy(l2.eth.h_source, tmp, ETH_ALEN);

	cur_len = ctx->data_end - ctx->data;
	new_len = l3_off + quote;
	if (new_len > cur_len)
		return XDP_DROP;
	if (bpf_xdp_adjust_tail(ctx, (int)new_len - (int)cur_len))
		return XDP_DROP;
	if (bpf_xdp_adjust_head(ctx, -(int)hdr_len))
		return XDP_DROP;
	if (!l2_restore(ctx, &l2))
		return XDP_DROP;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	nwords = (sizeof(struct icmphdr) + quote) / 4;

	if (pkt->flow.family == BNC_FAMILY_IPV4) {
		struct iphdr *iph = data + l3_off;
		struct icmphdr *icmp = (void *)(iph + 1);

		if ((void *)(icmp + 1) > data_end)
			return XDP_DROP;
		iph->version = 4;
		iph->ihl = 5;
		iph->tos = 0;
		iph->tot_len = bpf_htons(hdr_len + quote);
		iph->id = 0;
		iph->frag_off = 0;
		iph->ttl = BNC_TTL;
		iph->protocol = IPPROTO_ICMP;
		iph->check = 0;
		iph->saddr = pkt->flow.daddr[0];
		iph->daddr = pkt->flow.saddr[0];
		iph->check = ipv4_header_csum(iph);
		icmp->type = ICMP_DEST_UNREACH;
		icmp->code = ICMP_FRAG_NEEDED;
		icmp->checksum = 0;
		icmp->un.frag.__unused = 0;
		icmp->un.frag.mtu = bpf_htons(mtu);
		sum = csum_words(icmp, nwords, (sizeof(*icmp) + TOO_BIG_QUOTE_MAX_V4) / 4,
				 data_end);
		icmp->checksum = csum_fold(sum);
	} else {
		struct ipv6hdr *ip6 = data + l3_off;
		struct icmp6hdr *icmp6 = (void *)(ip6 + 1);

		if ((void *)(icmp6 + 1) > data_end)
			return XDP_DROP;
		ip6->version = 6;
		ip6->priority = 0;
		ip6->flow_lbl[0] = 0;
		ip6->flow_lbl[1] = 0;
		ip6->flow_lbl[2] = 0;
		ip6->payload_len = bpf_htons(sizeof(*icmp6) + quote);
		ip6->nexthdr = IPPROTO_ICMPV6;
		ip6->hop_limit = BNC_TTL;
		__builtin_memcpy(&ip6->saddr, pkt->flow.daddr, sizeof(ip6->saddr));
		__builtin_memcpy(&ip6->daddr, pkt->flow.saddr, sizeof(ip6->daddr));
		icmp6->icmp6_type = ICMPV6_PKT_TOOBIG;
		icmp6->icmp6_code = 0;
		icmp6->icmp6_cksum = 0;
		icmp6->icmp6_mtu = bpf_htonl(mtu);
		/* Pseudo-header: addresses, upper-layer length, next header. */
		sum = csum_ipv6_addr(&ip6->saddr) + csum_ipv6_addr(&ip6->daddr);
		sum += bpf_htonl(sizeof(*icmp6) + quote) + bpf_htonl(IPPROTO_ICMPV6);
		sum += csum_words(icmp6, nwords, (sizeof(*icmp6) + TOO_BIG_QUOTE_MAX_V6) / 4,
				  data_end);
		icmp6->icmp6_cksum = csum_fold(sum);
	}
	count_pkt(pkt, BNC_STAT_REPLY_TOO_BIG);
	return XDP_TX;
}

/* Sends the packet to a remote backend as the VIP's forwarding asks; an
 * ipip packet carries backends[second_id] as its second chance when
 * second_chance_of() allows it.
 */
static __always_inline int forward_remote(struct xdp_md *ctx, const struct packet *pkt,
					  __u8 forwarding, const struct bnc_backend *be,
					  __u32 second_id)
{
	const struct bnc_backend *second = second_chance_of(forwarding, be, second_id);
	__u32 overhead = forwarding == BNC_FWD_IPIP ? encap_overhead(be, second) : 0;
	bool fib = be->flags & BNC_BACKEND_F_FIB;
	struct next_hop nh;
	__u32 mtu = be->mtu;
	int action;

	if (fib) {
		/* Only encapsulation grows the packet; a zero length asks
		 * the FIB for no MTU check.
		 */
		action = next_hop_fib(ctx, pkt, be, overhead ? pkt->l3_len + overhead : 0, &nh);
		if (action != BNC_CONTINUE)
			return action;
		mtu = nh.mtu;
	}
	if (overhead && mtu && pkt->l3_len + overhead > mtu) {
		/* An IPv4 sender that allows fragmentation would expect us to
		 * fragment, which XDP cannot: drop and count instead.
		 */
		if (pkt->flow.family == BNC_FAMILY_IPV4 && !pkt->ipv4_df) {
			count_pkt(pkt, BNC_STAT_DROP_TOO_BIG);
			return XDP_DROP;
		}
		return reply_too_big(ctx, pkt, mtu - overhead);
	}
	if (overhead) {
		if (!encap_push(ctx, pkt, be, second)) {
			count_pkt(pkt, BNC_STAT_DROP_INTERNAL);
			return XDP_DROP;
		}
		count_pkt(pkt, BNC_STAT_FWD_IPIP);
	} else {
		count_pkt(pkt, BNC_STAT_FWD_DSR);
	}
	if (fib)
		return transmit(ctx, nh.dmac, nh.smac, nh.ifindex);
	/* The stored next hop: the agent resolved it. */
	return transmit(ctx, be->next_hop_mac, be->src_mac, be->ifindex);
}

#endif /* BOUNCER_BPF_FORWARD_H */
