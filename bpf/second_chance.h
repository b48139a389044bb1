/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The backend's side of the second chance (wire format in bouncer_decap.h):
 * what the outer header carries, and whether this host has a connection for
 * the inner packet, as the socket lookups say. Included by decap.bpf.c only,
 * which does the sending on.
 */
#ifndef BOUNCER_BPF_SECOND_CHANCE_H
#define BOUNCER_BPF_SECOND_CHANCE_H

#include <linux/tcp.h>
#include <linux/udp.h>

#include "common.h"
#include "bouncer_decap.h"

#ifndef AF_INET
#define AF_INET 2
#define AF_INET6 10
#endif

/* What the outer header said about the second chance. */
struct sc_info {
	struct bnc_decap_key addr; /* where to hand the packet on to */
	struct bnc_decap_key outer_src; /* who sent it */
	__u8 present; /* the outer header carries a second chance */
	__u8 flags; /* BNC_SC_F_* as received */
	__u8 pad[2];
};

/* Outcome of the socket lookup for the inner packet. */
enum sc_verdict {
	SC_DELIVER, /* this host has a connection: decapsulate as usual */
	SC_HAND_ON, /* no connection here */
};

/* The inner flow as bpf_sk_lookup_*() wants it, and what kind it is. */
struct inner_flow {
	struct bpf_sock_tuple tuple;
	__u32 tuple_len;
	__u8 proto; /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 syn;
	__u8 ack_only; /* ACK without SYN, RST or FIN: could answer a SYN cookie */
	__u8 pad;
};

/* Reads the inner IP and L4 headers. False for what no socket lookup can
 * decide on: a fragment, an IPv6 extension header, another protocol.
 * iph_out/th_out point at the inner IPv4 (or IPv6) and TCP headers, for
 * the SYN cookie check.
 */
static __always_inline bool inner_flow_of(void *inner, void *data_end, __u16 inner_proto,
					  struct inner_flow *f, void **th_out)
{
	void *l4;
	__u8 proto;

	if (inner_proto == ETH_P_IP) {
		struct iphdr *iph = inner;

		if ((void *)(iph + 1) > data_end)
			return false;
		if (bpf_ntohs(iph->frag_off) & (IPV4_MF | IPV4_FRAG_OFFSET))
			return false;
		proto = iph->protocol;
		f->tuple.ipv4.saddr = iph->saddr;
		f->tuple.ipv4.daddr = iph->daddr;
		f->tuple_len = sizeof(f->tuple.ipv4);
		l4 = inner + (iph->ihl & 0xf) * 4;
	} else {
		struct ipv6hdr *ip6h = inner;

		if ((void *)(ip6h + 1) > data_end)
			return false;
		proto = ip6h->nexthdr;
		__builtin_memcpy(f->tuple.ipv6.saddr, &ip6h->saddr, sizeof(f->tuple.ipv6.saddr));
		__builtin_memcpy(f->tuple.ipv6.daddr, &ip6h->daddr, sizeof(f->tuple.ipv6.daddr));
		f->tuple_len = sizeof(f->tuple.ipv6);
		l4 = ip6h + 1;
	}
	f->proto = proto;
	if (proto == IPPROTO_TCP) {
		struct tcphdr *th = l4;

		if ((void *)(th + 1) > data_end)
			return false;
		f->syn = th->syn;
		f->ack_only = th->ack && !th->syn && !th->rst && !th->fin;
		*th_out = th;
		/* sport and dport sit at the same place in both tuples. */
		if (inner_proto == ETH_P_IP) {
			f->tuple.ipv4.sport = th->source;
			f->tuple.ipv4.dport = th->dest;
		} else {
			f->tuple.ipv6.sport = th->source;
			f->tuple.ipv6.dport = th->dest;
		}
		return true;
	}
	if (proto == IPPROTO_UDP) {
		struct udphdr *uh = l4;

		if ((void *)(uh + 1) > data_end)
			return false;
		if (inner_proto == ETH_P_IP) {
			f->tuple.ipv4.sport = uh->source;
			f->tuple.ipv4.dport = uh->dest;
		} else {
			f->tuple.ipv6.sport = uh->source;
			f->tuple.ipv6.dport = uh->dest;
		}
		return true;
	}
	return false;
}

/* A TCP packet: any socket but a listener is a connection here (an
 * established or closing one, a request socket of a handshake in
 * progress, a time-wait one). A listener alone is no connection, unless
 * the packet is the ACK of a SYN cookie this host sent: the listener then
 * makes the connection from it.
 */
static __always_inline enum sc_verdict tcp_verdict(struct xdp_md *ctx, struct inner_flow *f,
						   void *inner, void *th, void *data_end)
{
	struct bpf_sock *sk;
	enum sc_verdict v = SC_HAND_ON;
	__u32 iph_len;

	sk = bpf_skc_lookup_tcp(ctx, &f->tuple, f->tuple_len, BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return SC_HAND_ON;
	if (sk->state != BPF_TCP_LISTEN) {
		v = SC_DELIVER;
	} else if (f->ack_only) {
		/* The helper reads the fixed IP header only (addresses,
		 * version) and checks nothing but its length against that: a
		 * constant length, which the verifier can bound, unlike the
		 * IHL (kernel 6.18: "R3 min value is negative").
		 */
		iph_len = f->tuple_len == sizeof(f->tuple.ipv4) ? sizeof(struct iphdr)
								: sizeof(struct ipv6hdr);
		if (inner + iph_len <= data_end && th + sizeof(struct tcphdr) <= data_end &&
		    bpf_tcp_check_syncookie(sk, inner, iph_len, th, sizeof(struct tcphdr)) == 0)
			v = SC_DELIVER;
	}
	bpf_sk_release(sk);
	return v;
}

/* A UDP packet: a connected socket of this 4-tuple is a flow here. An
 * unconnected socket that would take the datagram is no proof either way
 * (see the README): the caller delivers it here.
 */
static __always_inline enum sc_verdict udp_verdict(struct xdp_md *ctx, struct inner_flow *f,
						   bool *unknown)
{
	struct bpf_sock *sk;
	enum sc_verdict v = SC_HAND_ON;

	sk = bpf_sk_lookup_udp(ctx, &f->tuple, f->tuple_len, BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return SC_HAND_ON;
	v = SC_DELIVER;
	if (!sk->dst_port)
		*unknown = true;
	bpf_sk_release(sk);
	return v;
}

#endif /* BOUNCER_BPF_SECOND_CHANCE_H */
