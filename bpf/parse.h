/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Packet parsing: Ethernet, VLAN tags, IPv4 (with options), IPv6 (with
 * extension headers), and the first bytes of TCP, UDP and ICMP. Every
 * length the packet claims is checked against the bytes present.
 */
#ifndef BOUNCER_BPF_PARSE_H
#define BOUNCER_BPF_PARSE_H

#include <linux/tcp.h>
#include <linux/udp.h>

#include "common.h"
#include "bouncer_abi.h"

/* Hop-by-hop, routing and destination options: the IPv6 extension headers
 * we step over. More than this many in one packet is treated as malformed.
 */
#define IPV6_MAX_EXT_HEADERS 4

/* What parsing learned; offsets are from the start of the frame. */
struct packet {
	struct bnc_flow_key flow; /* ports zero for ICMP */
	/* This CPU's global counters, looked up once per packet for the
	 * counts on the hot paths (count_pkt()).
	 */
	struct bnc_global_stats *stats;
	__u32 l3_off; /* 14, 18 or 22 */
	__u32 l4_off;
	__u32 l3_len; /* IP datagram length as the header claims it */
	__u8 nvlan;
	__u8 fragment; /* an IPv4 or IPv6 fragment: no trustworthy L4 */
	__u8 ipv4_df;
	__u8 tos; /* IPv4 TOS or IPv6 traffic class, copied to outer headers */
	/* A TCP SYN without ACK: a new connection, whatever the flow table
	 * remembers of an earlier one on the same 5-tuple (ports get reused).
	 */
	__u8 tcp_syn;
};

static __always_inline void count_pkt(const struct packet *pkt, enum bnc_stat stat)
{
	if (stat < BNC_STAT_MAX)
		pkt->stats->counters[stat]++;
}

/* Upper bounds of the offsets, also enforced by parsing. Pointers are
 * formed through pkt_l3()/pkt_l4(), which mask with them: offsets read
 * back from the stack lose the bounds the verifier knew (seen with clang
 * 14 on kernels 6.1 and 6.18), and a masked offset has them again.
 */
#define L3_OFF_MASK 0x1f
#define L4_OFF_MASK 0x3fff

static __always_inline void *pkt_l3(void *data, const struct packet *pkt)
{
	return data + (pkt->l3_off & L3_OFF_MASK);
}

static __always_inline void *pkt_l4(void *data, const struct packet *pkt)
{
	return data + (pkt->l4_off & L4_OFF_MASK);
}

/* Outcome of parsing that is not "go on": the caller counts and acts. */
enum parse_result {
	PARSE_OK = 0,
	PARSE_NOT_IP,
	PARSE_MALFORMED,
	PARSE_GENERAL, /* parse_common() declines: take the general parser */
};

static __always_inline enum parse_result parse_l2(void *data, void *data_end, struct packet *pkt,
						  __be16 *proto)
{
	struct ethhdr *eth = data;
	struct vlan_tag *tag;
	__u32 off = sizeof(*eth);

	if ((void *)(eth + 1) > data_end)
		return PARSE_MALFORMED;
	*proto = eth->h_proto;
#pragma unroll
	for (int i = 0; i < MAX_VLAN_TAGS; i++) {
		if (*proto != ETH_P_8021Q_BE && *proto != ETH_P_8021AD_BE)
			break;
		tag = data + off;
		if ((void *)(tag + 1) > data_end)
			return PARSE_MALFORMED;
		*proto = tag->proto;
		off += sizeof(*tag);
		pkt->nvlan++;
	}
	pkt->l3_off = off;
	return PARSE_OK;
}

/* What both IPv4 parsers take from the header; frag in host order. */
static __always_inline void ipv4_fields(struct packet *pkt, const struct iphdr *iph, __u16 frag)
{
	pkt->ipv4_df = (frag & IPV4_DF) != 0;
	pkt->tos = iph->tos;
	pkt->flow.family = BNC_FAMILY_IPV4;
	pkt->flow.proto = iph->protocol;
	pkt->flow.saddr[0] = iph->saddr;
	pkt->flow.daddr[0] = iph->daddr;
}

static __always_inline enum parse_result parse_ipv4(void *data, void *data_end, struct packet *pkt)
{
	struct iphdr *iph = pkt_l3(data, pkt);
	__u32 hdr_len, frame_len = data_end - data;
	__u16 frag;

	if ((void *)(iph + 1) > data_end)
		return PARSE_MALFORMED;
	if (iph->version != 4 || iph->ihl < 5)
		return PARSE_MALFORMED;
	hdr_len = iph->ihl * 4;
	pkt->l3_len = bpf_ntohs(iph->tot_len);
	/* The claimed length may be shorter than the frame (Ethernet pads
	 * short frames) but never longer, and must hold the header.
	 */
	if (pkt->l3_len < hdr_len || pkt->l3_off + pkt->l3_len > frame_len)
		return PARSE_MALFORMED;
	pkt->l4_off = pkt->l3_off + hdr_len;
	frag = bpf_ntohs(iph->frag_off);
	pkt->fragment = (frag & (IPV4_MF | IPV4_FRAG_OFFSET)) != 0;
	ipv4_fields(pkt, iph, frag);
	return PARSE_OK;
}

static __always_inline int ipv6_is_ext_header(__u8 nexthdr)
{
	return nexthdr == IPPROTO_HOPOPTS || nexthdr == IPPROTO_ROUTING ||
	       nexthdr == IPPROTO_DSTOPTS;
}

static __always_inline enum parse_result parse_ipv6(void *data, void *data_end, struct packet *pkt)
{
	struct ipv6hdr *ip6 = pkt_l3(data, pkt);
	__u32 off = pkt->l3_off + sizeof(*ip6), frame_len = data_end - data;
	struct ipv6_opt_hdr *ext;
	__u8 nexthdr;

	if ((void *)(ip6 + 1) > data_end)
		return PARSE_MALFORMED;
	if (ip6->version != 6)
		return PARSE_MALFORMED;
	pkt->l3_len = sizeof(*ip6) + bpf_ntohs(ip6->payload_len);
	if (pkt->l3_off + pkt->l3_len > frame_len)
		return PARSE_MALFORMED;
	nexthdr = ip6->nexthdr;
#pragma unroll
	for (int i = 0; i < IPV6_MAX_EXT_HEADERS; i++) {
		if (!ipv6_is_ext_header(nexthdr))
			break;
		ext = data + off;
		/* Extension headers are at least 8 bytes long. */
		if ((void *)ext + 8 > data_end)
			return PARSE_MALFORMED;
		nexthdr = ext->nexthdr;
		off += (ext->hdrlen + 1) * 8;
	}
	if (ipv6_is_ext_header(nexthdr) || off > pkt->l3_off + pkt->l3_len || off > L4_OFF_MASK)
		return PARSE_MALFORMED;
	pkt->fragment = nexthdr == IPPROTO_FRAGMENT;
	pkt->l4_off = off;
	pkt->tos = (ip6->priority << 4) | (ip6->flow_lbl[0] >> 4);
	pkt->flow.family = BNC_FAMILY_IPV6;
	pkt->flow.proto = nexthdr;
	__builtin_memcpy(pkt->flow.saddr, &ip6->saddr, sizeof(pkt->flow.saddr));
	__builtin_memcpy(pkt->flow.daddr, &ip6->daddr, sizeof(pkt->flow.daddr));
	return PARSE_OK;
}

/* Length of the L4 header we need to read: the whole TCP or UDP header,
 * and type, code, checksum and the 4-byte rest of an ICMP header.
 */
static __always_inline __u32 l4_min_len(__u8 proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return sizeof(struct tcphdr);
	case IPPROTO_UDP:
		return sizeof(struct udphdr);
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		return 8;
	default:
		return 0;
	}
}

static __always_inline enum parse_result parse_l4(void *data, void *data_end, struct packet *pkt)
{
	__u32 need = l4_min_len(pkt->flow.proto), l4_end = pkt->l3_off + pkt->l3_len;
	struct tcphdr *tcp;
	__be16 *ports;

	if (!need)
		return PARSE_OK;
	/* The L4 header must be inside both the datagram and the frame. */
	if (pkt->l4_off + need > l4_end)
		return PARSE_MALFORMED;
	ports = pkt_l4(data, pkt);
	/* Constant-size checks: the verifier cannot use a variable length to
	 * prove the reads below are inside the packet.
	 */
	if ((void *)ports + 8 > data_end)
		return PARSE_MALFORMED;
	if (pkt->flow.proto == IPPROTO_TCP) {
		tcp = (void *)ports;
		if ((void *)(tcp + 1) > data_end || tcp->doff < 5)
			return PARSE_MALFORMED;
		if (tcp->doff * 4 > l4_end - pkt->l4_off)
			return PARSE_MALFORMED;
		pkt->tcp_syn = tcp->syn && !tcp->ack;
	}
	if (pkt->flow.proto == IPPROTO_UDP) {
		__u16 udp_len = bpf_ntohs(((struct udphdr *)ports)->len);

		if (udp_len < sizeof(struct udphdr) || udp_len > l4_end - pkt->l4_off)
			return PARSE_MALFORMED;
	}
	if (pkt->flow.proto == IPPROTO_TCP || pkt->flow.proto == IPPROTO_UDP) {
		pkt->flow.sport = ports[0];
		pkt->flow.dport = ports[1];
	}
	return PARSE_OK;
}

/* The common case with one bounds check: untagged IPv4 without options,
 * not a fragment, with a whole TCP header (or UDP header and 12 bytes).
 * It checks what the general parser checks, in fewer steps; anything it
 * does not accept goes to the general parser, which then decides.
 */
static __always_inline enum parse_result parse_common(void *data, void *data_end,
						      struct packet *pkt)
{
	struct ethhdr *eth = data;
	struct iphdr *iph = (void *)(eth + 1);
	struct tcphdr *tcp = (void *)(iph + 1);
	__u32 frame_len = data_end - data, l4_len;
	__u16 frag;

	if ((void *)(tcp + 1) > data_end || eth->h_proto != ETH_P_IP_BE || *(__u8 *)iph != 0x45)
		return PARSE_GENERAL;
	frag = bpf_ntohs(iph->frag_off);
	pkt->l3_len = bpf_ntohs(iph->tot_len);
	if ((frag & (IPV4_MF | IPV4_FRAG_OFFSET)) || sizeof(*eth) + pkt->l3_len > frame_len ||
	    pkt->l3_len < sizeof(*iph))
		return PARSE_GENERAL;
	l4_len = pkt->l3_len - sizeof(*iph);
	if (iph->protocol == IPPROTO_TCP) {
		if (l4_len < sizeof(*tcp) || tcp->doff < 5 || tcp->doff * 4 > l4_len)
			return PARSE_GENERAL;
		pkt->tcp_syn = tcp->syn && !tcp->ack;
	} else if (iph->protocol == IPPROTO_UDP) {
		__u16 udp_len = bpf_ntohs(((struct udphdr *)tcp)->len);

		if (udp_len < sizeof(struct udphdr) || udp_len > l4_len)
			return PARSE_GENERAL;
	} else {
		return PARSE_GENERAL;
	}
	pkt->l3_off = sizeof(*eth);
	pkt->l4_off = sizeof(*eth) + sizeof(*iph);
	ipv4_fields(pkt, iph, frag);
	pkt->flow.sport = tcp->source;
	pkt->flow.dport = tcp->dest;
	return PARSE_OK;
}

/* Parses everything up to the L4 ports. Fragments stop at L3: only the
 * first one carries ports, so none of them can be trusted to name a flow.
 */
static __always_inline enum parse_result parse_packet(struct xdp_md *ctx, struct packet *pkt)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	enum parse_result res;
	__be16 proto;

	res = parse_common(data, data_end, pkt);
	if (res != PARSE_GENERAL)
		return res;
	res = parse_l2(data, data_end, pkt, &proto);
	if (res != PARSE_OK)
		return res;
	if (proto == ETH_P_IP_BE)
		res = parse_ipv4(data, data_end, pkt);
	else if (proto == ETH_P_IPV6_BE)
		res = parse_ipv6(data, data_end, pkt);
	else
		return PARSE_NOT_IP;
	if (res != PARSE_OK || pkt->fragment)
		return res;
	return parse_l4(data, data_end, pkt);
}

#endif /* BOUNCER_BPF_PARSE_H */
