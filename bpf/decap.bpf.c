// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Backend-side IPIP decapsulation, for kernels without the ipip module.
 *
 * The load balancer forwards to IPIP backends by pushing an outer IPv4 or
 * IPv6 header (protocol / next header 4 for an inner IPv4 packet, 41 for an
 * inner IPv6 one). This program runs on the backend's NIC: when the outer
 * destination is one of the addresses in decap_addrs it cuts the outer header
 * out, so that the stack sees the client's packet as if it had been sent
 * straight to the backend, and passes it on. Everything else is passed
 * unchanged; the program never drops, except for the one case RFC 6040
 * requires (outer CE on a packet that is not ECN capable) and a packet to
 * be handed on that has no route.
 *
 * An outer header may carry a second chance (bouncer_decap.h): another
 * backend, the one the load balancer's current ring names, while this one
 * is the one its previous ring named. A mid-stream packet for which this
 * host has no connection is then sent on to that backend, outer header
 * kept and marked as handed on, instead of meeting a reset here.
 */
#include "common.h"
#include "csum.h"
#include "bouncer_decap.h"
#include "second_chance.h"

/* The two ECN bits of the IPv4 TOS / IPv6 traffic class (RFC 3168). */
#define ECN_MASK 0x3
#define ECN_NOT_ECT 0x0
#define ECN_CE 0x3

/* What the parsing steps found. The lengths are bytes, __u8 on purpose: a
 * byte loaded back from the stack is known to be at most 255, so packet
 * pointers offset by it stay bounded. As __u32 in this struct the verifier
 * (kernel 6.18) lost their bounds on a spill it does not track and rejected
 * the offset pointers.
 */
struct pkt {
	/* The link-layer header as received, kept aside while the outer IP
	 * header is cut out, then written back in front of the inner packet.
	 */
	struct l2_header l2;
	struct bnc_decap_key outer_dst;
	__be16 l3_proto; /* ethertype after the tags */
	__u16 inner_proto; /* ETH_P_IP or ETH_P_IPV6, host order */
	__u16 outer_frag; /* IPv4 MF and offset bits, host order; 0 for IPv6 */
	__u8 l2_len; /* Ethernet header and tags: 14, 18 or 22 */
	__u8 outer_len; /* outer IP header to remove: 20..60 or 40 */
	__u8 nr_vlan;
	__u8 outer_ecn; /* ECN bits of the outer header */
	__u8 set_ce; /* the inner packet must be marked CE */
	__u8 pad[1];
	struct sc_info sc;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BNC_DECAP_MAX_ADDRS);
	__type(key, struct bnc_decap_key);
	__type(value, __u32);
} decap_addrs SEC(".maps");

/* Outer sources a second chance is trusted from: the load balancers. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BNC_DECAP_MAX_LBS);
	__type(key, struct bnc_decap_key);
	__type(value, __u32);
} decap_lbs SEC(".maps");

/* Where a packet may be handed on to: the other backends of our VIPs. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BNC_DECAP_MAX_PEERS);
	__type(key, struct bnc_decap_key);
	__type(value, __u32);
} decap_peers SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, BNC_DECAP_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} decap_stats SEC(".maps");

/* Counts the packet under stat and returns action. */
static __always_inline int count(enum bnc_decap_stat stat, int action)
{
	__u32 key = stat;
	__u64 *val;

	val = bpf_map_lookup_elem(&decap_stats, &key);
	if (val)
		*val += 1;
	return action;
}

/* Ethernet and up to two VLAN tags (802.1ad outer, 802.1Q inner, or any mix
 * of the two ethertypes). The tags stay on the packet: after decapsulation the
 * stack untags it as it would any other frame.
 */
static __always_inline int parse_l2(void *data, void *data_end, struct pkt *pkt)
{
	struct ethhdr *eth = data;
	struct vlan_tag *tag;
	__be16 proto;
	int i;

	if ((void *)(eth + 1) > data_end)
		return count(BNC_DECAP_STAT_PASSED, XDP_PASS);
	pkt->l2.eth = *eth;
	pkt->l2_len = sizeof(*eth);
	proto = eth->h_proto;

#pragma unroll
	for (i = 0; i < MAX_VLAN_TAGS; i++) {
		if (proto != ETH_P_8021Q_BE && proto != ETH_P_8021AD_BE)
			break;
		tag = data + pkt->l2_len;
		if ((void *)(tag + 1) > data_end)
			return count(BNC_DECAP_STAT_PASSED, XDP_PASS);
		pkt->l2.vlan[i] = *tag;
		pkt->l2_len += sizeof(*tag);
		pkt->nr_vlan++;
		proto = tag->proto;
	}
	/* A third tag leaves proto at 0x8100/0x88a8: not IP, passed below. */
	pkt->l3_proto = proto;
	return BNC_CONTINUE;
}

/* Outer IPv4 header: is it IP-in-IP, and to which address? */
static __always_inline int parse_outer_ipv4(void *l3, void *data_end, struct pkt *pkt)
{
	struct iphdr *iph = l3;

	if ((void *)(iph + 1) > data_end)
		return count(BNC_DECAP_STAT_PASSED, XDP_PASS);
	if (iph->version != 4 || iph->ihl < 5)
		return count(BNC_DECAP_STAT_PASSED, XDP_PASS);
	if (iph->protocol == IPPROTO_IPIP)
		pkt->inner_proto = ETH_P_IP;
	else if (iph->protocol == IPPROTO_IPV6)
		pkt->inner_proto = ETH_P_IPV6;
	else
		return count(BNC_DECAP_STAT_PASSED, XDP_PASS);

	pkt->outer_dst.family = BNC_FAMILY_IPV4;
	pkt->outer_dst.addr[0] = iph->daddr;
	pkt->outer_len = iph->ihl * 4;
	/* A second chance is the only option, right after the fixed header,
	 * as the load balancer writes it; other options are stepped over as
	 * before.
	 */
	if (iph->ihl == 5 + BNC_SC_OPT_V4_LEN / 4) {
		struct bnc_sc_v4 *opt = (void *)(iph + 1);

		if ((void *)(opt + 1) > data_end)
			return count(BNC_DECAP_STAT_PASSED, XDP_PASS);
		if (opt->type == BNC_SC_OPT_V4 && opt->len == BNC_SC_OPT_V4_LEN) {
			pkt->sc.present = 1;
			pkt->sc.flags = opt->flags;
			pkt->sc.addr.family = BNC_FAMILY_IPV4;
			pkt->sc.addr.addr[0] = opt->addr;
			pkt->sc.outer_src.family = BNC_FAMILY_IPV4;
			pkt->sc.outer_src.addr[0] = iph->saddr;
		}
	}
	pkt->outer_frag = bpf_ntohs(iph->frag_off) & (IPV4_MF | IPV4_FRAG_OFFSET);
	pkt->outer_ecn = iph->tos & ECN_MASK;
	return BNC_CONTINUE;
}

/* Outer IPv6 header: is it IP-in-IP, and to which address? The only
 * extension header the load balancer puts on it is the destination options
 * header of a second chance; no other is looked for.
 */
static __always_inline int parse_outer_ipv6(void *l3, void *data_end, struct pkt *pkt)
{
	struct ipv6hdr *ip6h = l3;
	struct bnc_sc_v6 *opt;
	__u8 nexthdr;

	if ((void *)(ip6h + 1) > data_end)
		return count(BNC_DECAP_STAT_PASSED, XDP_PASS);
	if (ip6h->version != 6)
		return count(BNC_DECAP_STAT_PASSED, XDP_PASS);
	nexthdr = ip6h->nexthdr;
	pkt->outer_len = sizeof(*ip6h);
	if (nexthdr == IPPROTO_DSTOPTS) {
		opt = (void *)(ip6h + 1);
		if ((void *)(opt + 1) > data_end)
			return count(BNC_DECAP_STAT_PASSED, XDP_PASS);
		if (opt->hdrlen != BNC_SC_DSTOPT_LEN / 8 - 1 || opt->type != BNC_SC_OPT_V6 ||
		    opt->len != BNC_SC_OPT_V6_DATA_LEN)
			return count(BNC_DECAP_STAT_PASSED, XDP_PASS);
		nexthdr = opt->nexthdr;
		pkt->outer_len += BNC_SC_DSTOPT_LEN;
		pkt->sc.present = 1;
		pkt->sc.flags = opt->flags;
		pkt->sc.addr.family = BNC_FAMILY_IPV6;
		__builtin_memcpy(pkt->sc.addr.addr, opt->addr, sizeof(pkt->sc.addr.addr));
		pkt->sc.outer_src.family = BNC_FAMILY_IPV6;
		__builtin_memcpy(pkt->sc.outer_src.addr, &ip6h->saddr,
				 sizeof(pkt->sc.outer_src.addr));
	}
	if (nexthdr == IPPROTO_IPIP)
		pkt->inner_proto = ETH_P_IP;
	else if (nexthdr == IPPROTO_IPV6)
		pkt->inner_proto = ETH_P_IPV6;
	else
		return count(BNC_DECAP_STAT_PASSED, XDP_PASS);

	pkt->outer_dst.family = BNC_FAMILY_IPV6;
	__builtin_memcpy(pkt->outer_dst.addr, &ip6h->daddr, sizeof(pkt->outer_dst.addr));
	/* Traffic class straddles the first two bytes; its ECN bits are bits
	 * 5:4 of the second, the first byte of flow_lbl.
	 */
	pkt->outer_ecn = (ip6h->flow_lbl[0] >> 4) & ECN_MASK;
	return BNC_CONTINUE;
}

/* Verifies the IPv4 header checksum, options included; the stack would have
 * done so before handing the packet to an ipip tunnel.
 */
static __always_inline bool ipv4_csum_ok(struct iphdr *iph, void *data_end)
{
	__u32 nr_words = iph->ihl * 2;
	__u32 sum = 0;
	__u16 *word;
	__u32 i;

	/* Up to 30 words (IHL 15), a bounds check per word: a check of iph
	 * plus the variable header length does not cover fixed offsets from
	 * iph for the verifier, and clang 14 does not unroll a loop whose exit
	 * depends on the header. barrier_var() keeps clang 14 from turning the
	 * check into arithmetic on data_end, which the verifier (6.1, 6.18)
	 * refuses: "pointer arithmetic on pkt_end prohibited".
	 */
	for (i = 0; i < 30; i++) {
		if (i >= nr_words)
			break;
		word = (__u16 *)iph + i;
		barrier_var(word);
		if ((void *)(word + 1) > data_end)
			return false;
		sum += *word;
	}
	return csum_fold(sum) == 0;
}

/* The packet is IP-in-IP to us: can it be decapsulated? Anything that stops
 * it is counted as malformed and the packet passed unchanged; the stack has
 * no ipip handler and drops it. Also decides the ECN outcome (RFC 6040, as
 * the kernel's INET_ECN_decapsulate): outer CE is copied onto an ECN capable
 * inner packet; outer CE on a not-ECT inner packet is dropped.
 */
static __always_inline int check_decapable(void *l3, void *data_end, struct pkt *pkt)
{
	void *inner = l3 + pkt->outer_len;
	struct ipv6hdr *ip6h;
	struct iphdr *iph;
	__u8 inner_ecn;

	if (pkt->outer_frag)
		return count(BNC_DECAP_STAT_MALFORMED, XDP_PASS);
	if (pkt->outer_dst.family == BNC_FAMILY_IPV4 && !ipv4_csum_ok(l3, data_end))
		return count(BNC_DECAP_STAT_MALFORMED, XDP_PASS);

	if (pkt->inner_proto == ETH_P_IP) {
		iph = inner;
		if ((void *)(iph + 1) > data_end)
			return count(BNC_DECAP_STAT_MALFORMED, XDP_PASS);
		if (iph->version != 4 || iph->ihl < 5)
			return count(BNC_DECAP_STAT_MALFORMED, XDP_PASS);
		inner_ecn = iph->tos & ECN_MASK;
	} else {
		ip6h = inner;
		if ((void *)(ip6h + 1) > data_end)
			return count(BNC_DECAP_STAT_MALFORMED, XDP_PASS);
		if (ip6h->version != 6)
			return count(BNC_DECAP_STAT_MALFORMED, XDP_PASS);
		inner_ecn = (ip6h->flow_lbl[0] >> 4) & ECN_MASK;
	}

	if (pkt->outer_ecn == ECN_CE) {
		if (inner_ecn == ECN_NOT_ECT)
			return count(BNC_DECAP_STAT_DROP_ECN, XDP_DROP);
		pkt->set_ce = inner_ecn != ECN_CE;
	}
	return BNC_CONTINUE;
}

/* Marks the inner packet, now right after the link-layer header, CE. */
static __always_inline int set_inner_ce(void *data, void *data_end, struct pkt *pkt)
{
	void *inner = data + pkt->l2_len;
	struct ipv6hdr *ip6h;
	struct iphdr *iph;
	__be16 old;

	if (pkt->inner_proto == ETH_P_IP) {
		iph = inner;
		/* Checked before the head moved, but the verifier has
		 * forgotten: packet pointers are reset by bpf_xdp_adjust_head.
		 */
		if ((void *)(iph + 1) > data_end)
			return count(BNC_DECAP_STAT_MALFORMED, XDP_ABORTED);
		old = *(__be16 *)iph;
		iph->tos |= ECN_CE;
		iph->check = csum_replace2(iph->check, old, *(__be16 *)iph);
	} else {
		ip6h = inner;
		if ((void *)(ip6h + 1) > data_end)
			return count(BNC_DECAP_STAT_MALFORMED, XDP_ABORTED);
		ip6h->flow_lbl[0] |= ECN_CE << 4;
	}
	return BNC_CONTINUE;
}

/* Cuts the outer header out: the link-layer header, with its innermost
 * ethertype now the inner family's, is written back right in front of the
 * inner packet, and the head moves forward over what is left.
 */
static __always_inline int remove_outer(struct xdp_md *ctx, struct pkt *pkt)
{
	void *data, *data_end;

	l2_set_proto(&pkt->l2, pkt->nr_vlan, bpf_htons(pkt->inner_proto));

	/* Only fails when fewer than ETH_HLEN bytes would be left, and a whole
	 * inner IP header is known to follow: cannot happen.
	 */
	if (bpf_xdp_adjust_head(ctx, (int)pkt->outer_len))
		return count(BNC_DECAP_STAT_MALFORMED, XDP_PASS);

	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	/* Never true, as above (the l2 header plus an inner header of at least
	 * 20 bytes is longer than struct l2_header), but the verifier needs to see
	 * the check. Past this point the packet is half rewritten: abort.
	 */
	if (data + sizeof(struct l2_header) > data_end)
		return count(BNC_DECAP_STAT_MALFORMED, XDP_ABORTED);

	/* One fixed-size copy per tag count: stores into the packet need a
	 * size the verifier knows.
	 */
	if (pkt->nr_vlan == 0)
		__builtin_memcpy(data, &pkt->l2, sizeof(struct ethhdr));
	else if (pkt->nr_vlan == 1)
		__builtin_memcpy(data, &pkt->l2, sizeof(struct ethhdr) + sizeof(struct vlan_tag));
	else
		__builtin_memcpy(data, &pkt->l2, sizeof(struct l2_header));

	if (pkt->set_ce)
		return set_inner_ce(data, data_end, pkt);
	return BNC_CONTINUE;
}

/* Sends the packet, outer header and all, to the second-chance backend:
 * the outer destination becomes its address and the second chance is
 * marked as used, so that the next backend never hands it on again. The
 * outer source stays the load balancer's, which the next backend checks.
 */
static __always_inline int hand_on(struct xdp_md *ctx, void *l3, void *data_end, struct pkt *pkt)
{
	struct bpf_fib_lookup params = {};
	struct ethhdr *eth = (void *)(long)ctx->data;
	long rc;

	if ((void *)(eth + 1) > data_end)
		return count(BNC_DECAP_STAT_MALFORMED, XDP_PASS);
	params.ifindex = ctx->ingress_ifindex;
	if (pkt->sc.addr.family == BNC_FAMILY_IPV4) {
		struct iphdr *iph = l3;
		struct bnc_sc_v4 *opt = (void *)(iph + 1);

		if ((void *)(opt + 1) > data_end)
			return count(BNC_DECAP_STAT_MALFORMED, XDP_PASS);
		iph->daddr = pkt->sc.addr.addr[0];
		opt->flags |= BNC_SC_F_HANDED_ON;
		iph->check = 0;
		iph->check = ipv4_header_csum_len(iph, sizeof(*iph) + sizeof(*opt));
		params.family = AF_INET;
		params.ipv4_src = iph->saddr;
		params.ipv4_dst = iph->daddr;
		params.tot_len = bpf_ntohs(iph->tot_len);
	} else {
		struct ipv6hdr *ip6h = l3;
		struct bnc_sc_v6 *opt = (void *)(ip6h + 1);

		if ((void *)(opt + 1) > data_end)
			return count(BNC_DECAP_STAT_MALFORMED, XDP_PASS);
		__builtin_memcpy(&ip6h->daddr, pkt->sc.addr.addr, sizeof(ip6h->daddr));
		opt->flags |= BNC_SC_F_HANDED_ON;
		params.family = AF_INET6;
		__builtin_memcpy(params.ipv6_src, &ip6h->saddr, sizeof(params.ipv6_src));
		__builtin_memcpy(params.ipv6_dst, pkt->sc.addr.addr, sizeof(params.ipv6_dst));
		params.tot_len = sizeof(*ip6h) + bpf_ntohs(ip6h->payload_len);
	}

	rc = bpf_fib_lookup(ctx, &params, sizeof(params), 0);
	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH)
		/* The stack forwards it (the outer destination is not ours
		 * now) and resolves the neighbour on the way.
		 */
		return count(BNC_DECAP_STAT_HANDED_ON_STACK, XDP_PASS);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS)
		return count(BNC_DECAP_STAT_DROP_NOWHERE, XDP_DROP);
	__builtin_memcpy(eth->h_dest, params.dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, params.smac, ETH_ALEN);
	if (params.ifindex == ctx->ingress_ifindex)
		return count(BNC_DECAP_STAT_HANDED_ON, XDP_TX);
	return count(BNC_DECAP_STAT_HANDED_ON, bpf_redirect(params.ifindex, 0));
}

/* The packet carries a second chance: hand it on, or BNC_CONTINUE to
 * decapsulate it here. Handed on only when the load balancer sent it (its
 * outer source is in decap_lbs), the second chance is one of our VIPs'
 * backends (in decap_peers) and not ourselves, it was not handed on
 * before, and this host has no connection for it.
 */
static __always_inline int second_chance(struct xdp_md *ctx, void *l3, void *data_end,
					 struct pkt *pkt)
{
	struct inner_flow f = {};
	bool unknown = false;
	void *inner = l3 + pkt->outer_len;
	void *th = NULL;
	enum sc_verdict v;

	if (pkt->sc.flags & BNC_SC_F_HANDED_ON)
		return count(BNC_DECAP_STAT_SC_SECOND_HOP, BNC_CONTINUE);
	if (pkt->sc.addr.family != pkt->outer_dst.family ||
	    !bpf_map_lookup_elem(&decap_lbs, &pkt->sc.outer_src) ||
	    !bpf_map_lookup_elem(&decap_peers, &pkt->sc.addr))
		return count(BNC_DECAP_STAT_SC_REFUSED, BNC_CONTINUE);
	if (bpf_map_lookup_elem(&decap_addrs, &pkt->sc.addr))
		return count(BNC_DECAP_STAT_SC_LOCAL, BNC_CONTINUE);
	if (!inner_flow_of(inner, data_end, pkt->inner_proto, &f, &th))
		return count(BNC_DECAP_STAT_SC_UNKNOWN, BNC_CONTINUE);
	if (f.proto == IPPROTO_TCP) {
		if (f.syn)
			return count(BNC_DECAP_STAT_SC_SYN, BNC_CONTINUE);
		if (!th)
			return count(BNC_DECAP_STAT_SC_UNKNOWN, BNC_CONTINUE);
		v = tcp_verdict(ctx, &f, inner, th, data_end);
	} else {
		v = udp_verdict(ctx, &f, &unknown);
		if (unknown)
			return count(BNC_DECAP_STAT_SC_UNKNOWN, BNC_CONTINUE);
	}
	if (v == SC_DELIVER)
		return count(BNC_DECAP_STAT_SC_LOCAL, BNC_CONTINUE);
	return hand_on(ctx, l3, data_end, pkt);
}

SEC("xdp")
int decap(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct pkt pkt = {};
	void *l3;
	int ret;

	ret = parse_l2(data, data_end, &pkt);
	if (ret != BNC_CONTINUE)
		return ret;

	l3 = data + pkt.l2_len;
	if (pkt.l3_proto == ETH_P_IP_BE)
		ret = parse_outer_ipv4(l3, data_end, &pkt);
	else if (pkt.l3_proto == ETH_P_IPV6_BE)
		ret = parse_outer_ipv6(l3, data_end, &pkt);
	else
		ret = count(BNC_DECAP_STAT_PASSED, XDP_PASS);
	if (ret != BNC_CONTINUE)
		return ret;

	if (!bpf_map_lookup_elem(&decap_addrs, &pkt.outer_dst))
		return count(BNC_DECAP_STAT_NOT_FOR_US, XDP_PASS);

	ret = check_decapable(l3, data_end, &pkt);
	if (ret != BNC_CONTINUE)
		return ret;

	if (pkt.sc.present) {
		ret = second_chance(ctx, l3, data_end, &pkt);
		if (ret != BNC_CONTINUE)
			return ret;
	}

	ret = remove_outer(ctx, &pkt);
	if (ret != BNC_CONTINUE)
		return ret;
	return count(BNC_DECAP_STAT_DECAPSULATED, XDP_PASS);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
