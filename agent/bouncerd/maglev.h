/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Maglev lookup table (Eisenbud et al., NSDI 2016) with weights, and a
 * digest of one for hosts to compare: pure computation, no I/O and no
 * global state.
 */
#ifndef BOUNCER_MAGLEV_H
#define BOUNCER_MAGLEV_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "bouncer_abi.h"

/* Largest ring maglev_build accepts: a prime that keeps every intermediate
 * product of the weighted schedule below 2^63.
 */
#define MAGLEV_RING_SIZE_LIMIT 2147483647u

/* One backend as the table builder sees it. addr and port are in network
 * byte order; an IPv4 address sits in addr[0] and addr[1..3] are ignored.
 * Only (family, addr, port) and weight shape the table; id is copied into the
 * slots the backend wins and nothing else.
 */
struct maglev_backend {
	__be32 addr[4];
	__u8 family; /* enum bnc_family */
	__be16 port;
	__u32 weight; /* 0: present but gets no slot */
	__u32 id; /* written into the table; must not be BNC_BACKEND_NONE */
};

/* True if n is prime. */
bool maglev_is_prime(__u32 n);

/* Fill table_out[0..ring_size) with backend ids. Every backend with a
 * non-zero weight gets floor or ceil of ring_size * weight / sum(weights)
 * slots. The result depends only on the set of (family, addr, port, weight):
 * the order of backends[] does not matter. With n == 0 or every weight 0 the
 * table is all BNC_BACKEND_NONE.
 *
 * Returns 0, -EINVAL (ring_size not a prime or above MAGLEV_RING_SIZE_LIMIT,
 * n > ring_size, unknown family, an id equal to BNC_BACKEND_NONE, two
 * backends with the same family, address and port) or -ENOMEM. On error
 * table_out is not written, so a caller can keep serving the old ring.
 */
int maglev_build(const struct maglev_backend *backends, size_t n, __u32 ring_size,
		 __u32 *table_out);

/* Number of slots whose ids differ between two tables of ring_size slots. */
int maglev_count_moved(const __u32 *a, const __u32 *b, __u32 ring_size);

/* A digest of where a VIP's new flows go: the flow hash seed, the ring
 * size, and the backend of every slot of table (NULL: every slot empty)
 * named as the table's build names it, by (family, addr, port) from
 * backends[] (whose ids the slots hold), never by id: ids are one host's,
 * while two hosts with the same backends, weights, states, ring size and
 * seed send every flow to the same backend and get the same digest.
 *
 * FNV-1a 64 over: the seed and the ring size, 4 bytes each, little-endian;
 * then for each slot in order one byte 0 when it is empty, else 19 bytes:
 * the family (4 or 6), the address in network order (16 bytes, an IPv4 one
 * zero padded), the port in network order.
 *
 * Returns 0, -ENOENT (a slot holds an id that backends[] lacks), -EINVAL
 * (an unknown family, an id given twice) or -ENOMEM.
 */
int maglev_digest(__u32 seed, const __u32 *table, __u32 ring_size,
		  const struct maglev_backend *backends, size_t n, __u64 *out);

#endif /* BOUNCER_MAGLEV_H */
