/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Where frames to a backend go: the route (rtnetlink), the next hop's MAC
 * from the neighbour table, and the egress device's MAC and MTU. The XDP
 * program uses the result instead of a FIB lookup per packet.
 */
#ifndef BOUNCER_NEXTHOP_H
#define BOUNCER_NEXTHOP_H

#include "bouncer_abi.h"

struct nexthop {
	__u8 dmac[6]; /* the gateway's, or the backend's own on-link */
	__u8 smac[6]; /* the egress device's */
	__u32 ifindex; /* the egress device */
	__u16 mtu; /* the route's MTU, else the device's (capped at 65535) */
};

/* 0, or -errno: -ENETUNREACH (no route), -EAGAIN (the neighbour is not
 * resolved: nexthop_solicit(), then try again), -EOPNOTSUPP (the egress
 * device has no Ethernet address, e.g. lo).
 */
int nexthop_resolve(const __be32 addr[4], __u8 family, struct nexthop *out);
/* Makes the kernel resolve addr's next hop: a datagram to its discard
 * port. A TCP health check's connect does the same.
 */
int nexthop_solicit(const __be32 addr[4], __u8 family);

#endif /* BOUNCER_NEXTHOP_H */
