/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* A short-lived rtnetlink socket (libmnl) and the requests the agent makes
 * on it: next-hop lookups (nexthop.c) and the VIP routes it announces
 * (announce.c). One socket per use: no state survives that could go stale.
 */
#ifndef BOUNCER_RTNL_H
#define BOUNCER_RTNL_H

#include <stddef.h>

#include <libmnl/libmnl.h>

#include "bouncer_abi.h"

/* The kernel answers route, link and neighbour requests synchronously; the
 * bound only keeps a lost reply from stalling the agent.
 */
#define NL_TIMEOUT_S 1
/* A dump message grows to the reader's buffer, up to 32 KiB (the kernel's
 * cap on max_recvmsg_len); a smaller buffer than what comes is reported
 * as -ENOSPC by libmnl rather than read truncated.
 */
#define NL_RECV_SIZE 32768
/* Our requests carry one header and at most a few short attributes. */
#define NL_REQ_SIZE 256

struct nl {
	struct mnl_socket *sock;
	unsigned int portid;
	unsigned int seq;
};

/* An address in the kernel's form: AF_* and len bytes of bytes. */
struct nl_addr {
	int af;
	unsigned int len;
	__u8 bytes[16];
};

/* a in the kernel's form from a bouncer address: 0 or -EAFNOSUPPORT. */
int nl_addr_from(struct nl_addr *a, const __be32 addr[4], __u8 family);
/* Sets a from a netlink attribute holding an address of family af. */
int nl_addr_set(struct nl_addr *a, int af, const void *data, size_t len);
int nl_open(struct nl *nl);
void nl_close(struct nl *nl);
/* errno after a libmnl failure, never 0. */
int nl_neg_errno(void);
/* Sends req and feeds every reply to cb until the kernel's ACK, error or
 * end of dump: 0 or -errno (-ETIMEDOUT when the kernel does not answer).
 */
int nl_query(struct nl *nl, struct nlmsghdr *req, mnl_cb_t cb, void *data);

#endif /* BOUNCER_RTNL_H */
