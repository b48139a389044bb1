/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The ABI of the backend-side IPIP decapsulation program (bpf/decap.bpf.c)
 * shared with bouncer-decap and the load balancer: the key of its address
 * maps, the counter names of decap_stats, and the wire format of the second
 * chance that the load balancer's outer header may carry.
 */
#ifndef BOUNCER_DECAP_H
#define BOUNCER_DECAP_H

#include <linux/types.h>

#include "bouncer_abi.h"

/* Entries of decap_addrs: the backend's own addresses, the ones the load
 * balancer puts in the outer destination.
 */
#define BNC_DECAP_MAX_ADDRS 64

/* Entries of decap_lbs (outer sources a second chance is trusted from: the
 * load balancers' ipip source addresses) and of decap_peers (addresses a
 * packet may be handed on to: the other backends of this backend's VIPs).
 */
#define BNC_DECAP_MAX_LBS 64
#define BNC_DECAP_MAX_PEERS 1024

/* Key of decap_addrs, decap_lbs and decap_peers: an address. addr is
 * network byte order; an IPv4 address sits in addr[0], the rest zero. The
 * value is a __u32, reserved, always 0.
 */
struct bnc_decap_key {
	__be32 addr[4];
	__u8 family; /* enum bnc_family */
	__u8 pad[3];
};
_Static_assert(sizeof(struct bnc_decap_key) == 20, "bnc_decap_key ABI");

/* Counters of decap_stats, one __u64 per CPU each, indexed by enum
 * bnc_decap_stat. Every packet the program sees lands in exactly one of the
 * first eight.
 *   decapsulated  IPIP to one of our addresses: outer header removed
 *   passed        not IP-in-IP (other protocol, not IP, truncated outer)
 *   not_for_us    IP-in-IP, but the outer destination is not in decap_addrs
 *   malformed     IP-in-IP to us that cannot be decapsulated: outer fragment,
 *                 bad outer IPv4 checksum, inner header truncated or of the
 *                 wrong version; passed unchanged, the stack drops it
 *   drop_ecn      outer header marked CE but the inner packet is not ECN
 *                 capable: dropped, as RFC 6040 and the kernel's ipip do
 *   handed_on     carried a second chance, had no socket here: outer
 *                 destination rewritten to the second chance, sent out
 *   handed_on_stack  the same, but the next hop's MAC was unknown: passed
 *                 to the stack, which forwards it and resolves the MAC
 *   drop_nowhere  to be handed on, but no route to the second chance:
 *                 dropped (a local reset would end the connection; a drop
 *                 lets TCP retransmit)
 * The second-chance outcomes below count in addition to decapsulated (the
 * packet was delivered here all the same):
 *   sc_local      carried a second chance, a socket here: delivered here
 *   sc_syn        carried a second chance, a SYN: never handed on
 *   sc_refused    a second chance from a source not in decap_lbs, or to an
 *                 address not in decap_peers: ignored, delivered here
 *   sc_second_hop already handed on once: never handed on again
 *   sc_unknown    not TCP or UDP, or a UDP packet that only an unconnected
 *                 socket here would take: delivered here (see the README)
 */
#define BNC_DECAP_STATS(X) \
	X(DECAPSULATED, "decapsulated") \
	X(PASSED, "passed") \
	X(NOT_FOR_US, "not_for_us") \
	X(MALFORMED, "malformed") \
	X(DROP_ECN, "drop_ecn") \
	X(HANDED_ON, "handed_on") \
	X(HANDED_ON_STACK, "handed_on_stack") \
	X(DROP_NOWHERE, "drop_nowhere") \
	X(SC_LOCAL, "sc_local") \
	X(SC_SYN, "sc_syn") \
	X(SC_REFUSED, "sc_refused") \
	X(SC_SECOND_HOP, "sc_second_hop") \
	X(SC_UNKNOWN, "sc_unknown")

#define BNC_DECAP_STAT_ENUM(name, str) BNC_DECAP_STAT_##name,
enum bnc_decap_stat { BNC_DECAP_STATS(BNC_DECAP_STAT_ENUM) BNC_DECAP_STAT_MAX };
#undef BNC_DECAP_STAT_ENUM

/* The second chance: the address of a backend that a packet may be handed
 * on to when the backend it was sent to has no connection for it.
 *
 * Outer IPv4: an IP option right after the fixed header (IHL 7), type 0x9e
 * (RFC 4727's experimental number 30 with the copy bit), length 8:
 *	type, length 8, flags, 0, IPv4 address
 * Outer IPv6: a destination options header right after the fixed header,
 * 24 bytes, holding one option of type 0x3e (RFC 4727 experimental, action
 * "skip" so that a host that does not know it ignores it, "may change en
 * route" because the flags do), data length 20:
 *	next header, 2 (length in 8-byte units, less one), 0x3e, 20,
 *	flags, 0, 0, 0, IPv6 address
 * The address is 4-byte aligned in both. Flags: BNC_SC_F_HANDED_ON, set
 * by the backend that hands the packet on; a packet carrying it is never
 * handed on again.
 */
#define BNC_SC_OPT_V4 0x9e
#define BNC_SC_OPT_V4_LEN 8
#define BNC_SC_OPT_V6 0x3e
#define BNC_SC_OPT_V6_DATA_LEN 20
#define BNC_SC_DSTOPT_LEN 24
#define BNC_SC_F_HANDED_ON 0x01

struct bnc_sc_v4 {
	__u8 type; /* BNC_SC_OPT_V4 */
	__u8 len; /* BNC_SC_OPT_V4_LEN */
	__u8 flags; /* BNC_SC_F_* */
	__u8 pad;
	__be32 addr;
};
_Static_assert(sizeof(struct bnc_sc_v4) == BNC_SC_OPT_V4_LEN, "bnc_sc_v4 wire format");

struct bnc_sc_v6 {
	__u8 nexthdr;
	__u8 hdrlen; /* (BNC_SC_DSTOPT_LEN / 8) - 1 */
	__u8 type; /* BNC_SC_OPT_V6 */
	__u8 len; /* BNC_SC_OPT_V6_DATA_LEN */
	__u8 flags; /* BNC_SC_F_* */
	__u8 pad[3];
	__be32 addr[4];
};
_Static_assert(sizeof(struct bnc_sc_v6) == BNC_SC_DSTOPT_LEN, "bnc_sc_v6 wire format");

#endif /* BOUNCER_DECAP_H */
