/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Includes, constants and small helpers every XDP program here shares. */
#ifndef BOUNCER_BPF_COMMON_H
#define BOUNCER_BPF_COMMON_H

#include <stdbool.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/icmpv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "bouncer_abi.h"

#ifndef likely
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
/* A read the compiler must do where it stands: a map value that other
 * CPUs write while this program runs.
 */
#define READ_ONCE(x) (*(volatile __typeof__(x) *)&(x))
#endif

/* A helper that decided nothing yet returns this instead of an XDP action;
 * XDP actions are small non-negative numbers, so it cannot collide.
 */
#define BNC_CONTINUE (-1)

#define ETH_P_8021Q_BE bpf_htons(0x8100)
#define ETH_P_8021AD_BE bpf_htons(0x88A8)
#define ETH_P_IP_BE bpf_htons(ETH_P_IP)
#define ETH_P_IPV6_BE bpf_htons(ETH_P_IPV6)

#define IPV4_DF 0x4000
#define IPV4_MF 0x2000
#define IPV4_FRAG_OFFSET 0x1fff

/* Hop-by-hop, routing and destination options: the IPv6 extension headers
 * we step over. More than this many in one packet is treated as malformed.
 */
#define IPV6_MAX_EXT_HEADERS 4

#define BNC_TTL 64

/* <linux/icmp.h> pulls in libc's socket headers, which do not build for
 * the BPF target; the few ICMPv4 definitions needed are here instead.
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

/* 802.1Q / 802.1ad tag as it sits in the frame. */
struct vlan_tag {
	__be16 tci;
	__be16 proto;
};

/* Ethernet header plus up to two VLAN tags, saved before the head of the
 * frame moves so it can be written back in front of new headers.
 */
struct l2_header {
	struct ethhdr eth;
	struct vlan_tag vlan[2];
};

#endif /* BOUNCER_BPF_COMMON_H */
