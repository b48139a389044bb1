/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The ABI of the backend-side IPIP decapsulation program (bpf/decap.bpf.c)
 * shared with bouncer-decap: the key of decap_addrs and the counter names of
 * decap_stats.
 */
#ifndef BOUNCER_DECAP_H
#define BOUNCER_DECAP_H

#include <linux/types.h>

#include "bouncer_abi.h"

/* Entries of decap_addrs: the backend's own addresses, the ones the load
 * balancer puts in the outer destination.
 */
#define BNC_DECAP_MAX_ADDRS 64

/* Key of decap_addrs: an outer destination address to decapsulate. addr is
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
 * bnc_decap_stat. Every packet the program sees lands in exactly one.
 *   decapsulated  IPIP to one of our addresses: outer header removed
 *   passed        not IP-in-IP (other protocol, not IP, truncated outer)
 *   not_for_us    IP-in-IP, but the outer destination is not in decap_addrs
 *   malformed     IP-in-IP to us that cannot be decapsulated: outer fragment,
 *                 bad outer IPv4 checksum, inner header truncated or of the
 *                 wrong version; passed unchanged, the stack drops it
 *   drop_ecn      outer header marked CE but the inner packet is not ECN
 *                 capable: dropped, as RFC 6040 and the kernel's ipip do
 */
#define BNC_DECAP_STATS(X) \
	X(DECAPSULATED, "decapsulated") \
	X(PASSED, "passed") \
	X(NOT_FOR_US, "not_for_us") \
	X(MALFORMED, "malformed") \
	X(DROP_ECN, "drop_ecn")

#define BNC_DECAP_STAT_ENUM(name, str) BNC_DECAP_STAT_##name,
enum bnc_decap_stat { BNC_DECAP_STATS(BNC_DECAP_STAT_ENUM) BNC_DECAP_STAT_MAX };
#undef BNC_DECAP_STAT_ENUM

#endif /* BOUNCER_DECAP_H */
