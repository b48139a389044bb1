/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* How many connections a process still serves, from sock_diag
 * (NETLINK_SOCK_DIAG, what ss(8) reads) in the caller's network namespace:
 * its sockets, known by their inodes (/proc/PID/fd), on the given local
 * ports, IPv4 and IPv6.
 *
 * Inodes, not ports alone: a connection accepted through a socket that
 * sk_lookup chose has the address and port the client connected to (the
 * VIP's), which every worker of the VIP shares; sock_diag names no owning
 * process, only the socket's inode.
 */
#ifndef BOUNCER_SOCKDIAG_H
#define BOUNCER_SOCKDIAG_H

#include <stddef.h>

#include "bouncer_abi.h"

struct sockdiag_filter {
	__u8 proto; /* IPPROTO_TCP or IPPROTO_UDP */
	__u16 ports[2]; /* local ports, host order; 0: none */
	const unsigned long *inodes; /* the process's sockets, sockdiag_sort()ed */
	size_t ninodes;
};

/* What is counted, for the filter's sockets on its ports. TCP: each
 * connection in ESTABLISHED or CLOSE_WAIT (the states in which the process
 * may still read a request or write an answer; after its FIN the kernel
 * finishes alone), and each connection waiting in a listening socket's
 * accept queue (not accepted yet, so held by no descriptor). UDP: each
 * socket with datagrams queued. Returns the count, or -errno (-EPROTO for
 * a malformed reply, -EAGAIN if the kernel's reply was not there to read).
 * Never waits: the kernel writes a dump's replies as they are read.
 */
int sockdiag_count(const struct sockdiag_filter *f);
/* Puts n socket inodes in the order struct sockdiag_filter wants. */
void sockdiag_sort(unsigned long *inodes, size_t n);

/* The parsing part of sockdiag_count(): adds what the replies in buf
 * (len bytes, answering request seq on port portid) count to *count.
 * Returns 1 at the end of the dump, 0 when more is to come, -errno for an
 * error reply or a malformed one.
 */
int sockdiag_parse(const void *buf, size_t len, unsigned int seq, unsigned int portid,
		   const struct sockdiag_filter *f, unsigned int *count);

#endif /* BOUNCER_SOCKDIAG_H */
