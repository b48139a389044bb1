/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Includes, constants and small helpers that every XDP program here shares,
 * the load balancer and the backends' decapsulation alike; what only the
 * load balancer needs is in its own headers.
 */
#ifndef BOUNCER_BPF_COMMON_H
#define BOUNCER_BPF_COMMON_H

#include <stdbool.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* Branch hints for the compiler's block layout. */
#ifndef likely
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#endif

#ifndef READ_ONCE
/* A read the compiler must do where it stands: a map value that other
 * CPUs write while this program runs.
 */
#define READ_ONCE(x) (*(volatile __typeof__(x) *)&(x))
#endif

/* A helper that decided nothing yet returns this instead of an XDP action;
 * XDP actions are small non-negative numbers, so it cannot collide.
 */
#define BNC_CONTINUE (-1)

/* EtherTypes in network order, to compare with the fields as they are in
 * the frame: 802.1Q and 802.1ad VLAN tags, IPv4, IPv6.
 */
#define ETH_P_8021Q_BE bpf_htons(0x8100)
#define ETH_P_8021AD_BE bpf_htons(0x88A8)
#define ETH_P_IP_BE bpf_htons(ETH_P_IP)
#define ETH_P_IPV6_BE bpf_htons(ETH_P_IPV6)

/* Bits of iphdr.frag_off, host order: don't fragment, more fragments, and
 * the fragment offset (non-zero in every fragment but the first).
 */
#define IPV4_DF 0x4000
#define IPV4_MF 0x2000
#define IPV4_FRAG_OFFSET 0x1fff

/* VLAN tags stepped over in front of the IP header (802.1ad outer, 802.1Q
 * inner, or any mix of the two); a frame with more is not IP to us.
 */
#define MAX_VLAN_TAGS 2

/* 802.1Q / 802.1ad tag as it sits in the frame. */
struct vlan_tag {
	__be16 tci;
	__be16 proto; /* EtherType of what follows */
};

/* Ethernet header plus up to two VLAN tags, saved before the head of the
 * frame moves so it can be written back in front of new headers.
 */
struct l2_header {
	struct ethhdr eth;
	struct vlan_tag vlan[MAX_VLAN_TAGS];
};
_Static_assert(sizeof(struct l2_header) == 22, "l2_header: Ethernet and two tags, no padding");

/* Sets the EtherType that follows the last VLAN tag. */
static __always_inline void l2_set_proto(struct l2_header *l2, __u8 nvlan, __be16 proto)
{
	if (nvlan == 0)
		l2->eth.h_proto = proto;
	else if (nvlan == 1)
		l2->vlan[0].proto = proto;
	else
		l2->vlan[1].proto = proto;
}

#endif /* BOUNCER_BPF_COMMON_H */
