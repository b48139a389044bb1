/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* ICMP and ICMPv6 for VIPs: echo replies, and the flow that an error
 * ("fragmentation needed", "packet too big") quotes, so it can be sent to
 * the backend that owns that flow.
 */
#ifndef BOUNCER_BPF_ICMP_H
#define BOUNCER_BPF_ICMP_H

#include <linux/icmpv6.h>

#include "common.h"
#include "csum.h"
#include "parse.h"

/* <linux/icmp.h> pulls in libc's socket headers, which do not build for
 * the BPF target; the few ICMPv4 definitions needed are here instead:
 * message types (echo reply, destination unreachable, echo request) and
 * the destination unreachable code "fragmentation needed".
 */
#define ICMP_ECHOREPLY 0
#define ICMP_DEST_UNREACH 3
#define ICMP_FRAG_NEEDED 4
#define ICMP_ECHO 8

struct icmphdr {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	union {
		__be32 rest;
		struct {
			__be16 __unused;
			__be16 mtu;
		} frag;
	} un;
};

/* Answers an echo request in place: swap addresses and MACs, flip the
 * type, patch the checksum. The IPv4 header checksum does not change when
 * its two addresses swap, nor does the ICMPv6 pseudo-header sum.
 */
static __always_inline int reply_echo(struct xdp_md *ctx, const struct packet *pkt)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u8 mac[ETH_ALEN];

	if ((void *)(eth + 1) > data_end || pkt->l3_off > sizeof(struct l2_header))
		return XDP_DROP;
	if (pkt->flow.family == BNC_FAMILY_IPV4) {
		struct iphdr *iph = pkt_l3(data, pkt);
		struct icmphdr *icmp = pkt_l4(data, pkt);
		__be32 addr;

		if ((void *)(iph + 1) > data_end || (void *)(icmp + 1) > data_end)
			return XDP_DROP;
		addr = iph->saddr;
		iph->saddr = iph->daddr;
		iph->daddr = addr;
		icmp->type = ICMP_ECHOREPLY;
		icmp->checksum = csum_replace2(icmp->checksum, bpf_htons(ICMP_ECHO << 8),
					       bpf_htons(ICMP_ECHOREPLY << 8));
	} else {
		struct ipv6hdr *ip6 = pkt_l3(data, pkt);
		struct icmp6hdr *icmp6 = pkt_l4(data, pkt);
		struct in6_addr addr;

		if ((void *)(ip6 + 1) > data_end || (void *)(icmp6 + 1) > data_end)
			return XDP_DROP;
		addr = ip6->saddr;
		ip6->saddr = ip6->daddr;
		ip6->daddr = addr;
		icmp6->icmp6_type = ICMPV6_ECHO_REPLY;
		icmp6->icmp6_cksum =
			csum_replace2(icmp6->icmp6_cksum, bpf_htons(ICMPV6_ECHO_REQUEST << 8),
				      bpf_htons(ICMPV6_ECHO_REPLY << 8));
	}
	__builtin_memcpy(mac, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, mac, ETH_ALEN);
	count_pkt(pkt, BNC_STAT_REPLY_ECHO);
	return XDP_TX;
}

/* What kind of ICMP message this is, for the caller's dispatch. */
enum icmp_kind {
	ICMP_KIND_OTHER = 0,
	ICMP_KIND_ECHO_REQUEST,
	ICMP_KIND_TOO_BIG, /* quotes a packet: see icmp_quoted_flow() */
};

static __always_inline enum icmp_kind icmp_classify(void *data, void *data_end,
						    const struct packet *pkt)
{
	__u8 *type = pkt_l4(data, pkt);

	/* parse_l4() has checked 8 bytes of ICMP header. */
	if ((void *)(type + 2) > data_end)
		return ICMP_KIND_OTHER;
	if (pkt->flow.family == BNC_FAMILY_IPV4) {
		if (type[0] == ICMP_ECHO && type[1] == 0)
			return ICMP_KIND_ECHO_REQUEST;
		if (type[0] == ICMP_DEST_UNREACH && type[1] == ICMP_FRAG_NEEDED)
			return ICMP_KIND_TOO_BIG;
	} else {
		if (type[0] == ICMPV6_ECHO_REQUEST && type[1] == 0)
			return ICMP_KIND_ECHO_REQUEST;
		if (type[0] == ICMPV6_PKT_TOOBIG && type[1] == 0)
			return ICMP_KIND_TOO_BIG;
	}
	return ICMP_KIND_OTHER;
}

/* Reads the packet an ICMP error quotes. It was sent by a backend from the
 * VIP to a client, so the flow it belongs to is the quote reversed:
 * returns true and fills the client-to-VIP flow key, or false when the
 * quote is too short or not TCP/UDP.
 */
static __always_inline bool icmp_quoted_flow(void *data, void *data_end, const struct packet *pkt,
					     struct bnc_flow_key *flow)
{
	__u32 off = (pkt->l4_off & L4_OFF_MASK) + 8;
	__be16 *ports;
	__u8 proto;

	if (pkt->flow.family == BNC_FAMILY_IPV4) {
		struct iphdr *iph = data + off;

		if ((void *)(iph + 1) > data_end || iph->version != 4 || iph->ihl < 5)
			return false;
		proto = iph->protocol;
		flow->saddr[0] = iph->daddr;
		flow->daddr[0] = iph->saddr;
		off += iph->ihl * 4;
	} else {
		struct ipv6hdr *ip6 = data + off;

		if ((void *)(ip6 + 1) > data_end || ip6->version != 6)
			return false;
		proto = ip6->nexthdr;
		__builtin_memcpy(flow->saddr, &ip6->daddr, sizeof(flow->saddr));
		__builtin_memcpy(flow->daddr, &ip6->saddr, sizeof(flow->daddr));
		off += sizeof(*ip6);
	}
	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return false;
	/* Bound the offset so the verifier can track the pointer below. */
	if (off > L4_OFF_MASK + 128)
		return false;
	ports = data + off;
	if ((void *)(ports + 2) > data_end)
		return false;
	flow->sport = ports[1];
	flow->dport = ports[0];
	flow->proto = proto;
	flow->family = pkt->flow.family;
	return true;
}

#endif /* BOUNCER_BPF_ICMP_H */
