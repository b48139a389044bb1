/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The routes that announce this host's VIPs: one blackhole route per VIP
 * address (/32 or /128) in a kernel routing table of the agent's own,
 * tagged with the rtnetlink protocol RTPROT_BOUNCER. A BGP daemon exports
 * the table to its peers (BIRD's kernel protocol with `learn`, FRR's
 * `ip import-table`); the agent never talks BGP itself.
 *
 * The routes are the kernel's, not the agent's: they outlive a killed
 * agent, as the datapath does, so kill -9 withdraws nothing and the next
 * agent finds them in place. No ip rule points at the table: the host
 * itself never forwards by it.
 */
#ifndef BOUNCER_ANNOUNCE_H
#define BOUNCER_ANNOUNCE_H

#include <stdbool.h>
#include <stddef.h>

#include "bouncer_abi.h"

/* In /etc/iproute2/rt_protos terms, a number no routing daemon uses. */
#define RTPROT_BOUNCER 201

struct announce_addr {
	__be32 addr[4];
	__u8 family;
};

/* Adds (on) or deletes the route to a in table. Adding one that is there
 * and deleting one that is not both succeed. 0 or -errno.
 */
int announce_route_set(__u32 table, const struct announce_addr *a, bool on);
/* The routes of ours in table, both families: *out (malloc'ed, the
 * caller's to free) and *n. 0 or -errno.
 */
int announce_routes_list(__u32 table, struct announce_addr **out, size_t *n);

#endif /* BOUNCER_ANNOUNCE_H */
