/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Internet checksums (RFC 1071) and incremental updates (RFC 1624). */
#ifndef BOUNCER_BPF_CSUM_H
#define BOUNCER_BPF_CSUM_H

#include "common.h"

static __always_inline __u16 csum_fold(__u64 sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* Checksum of a 20-byte IPv4 header without options, check field zero. */
static __always_inline __u16 ipv4_header_csum(const struct iphdr *iph)
{
	const __u16 *w = (const __u16 *)iph;
	__u64 sum = 0;

#pragma unroll
	for (int i = 0; i < (int)(sizeof(*iph) / 2); i++)
		sum += w[i];
	return csum_fold(sum);
}

/* Checksum of an IPv4 header of len bytes (a constant, a multiple of 4:
 * a header with options of a known size), check field zero.
 */
static __always_inline __u16 ipv4_header_csum_len(const struct iphdr *iph, const int len)
{
	const __u16 *w = (const __u16 *)iph;
	__u64 sum = 0;

#pragma unroll
	for (int i = 0; i < len / 2; i++)
		sum += w[i];
	return csum_fold(sum);
}

/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m') for a 16-bit field change. Byte
 * order does not matter as long as all three are in the same one.
 */
static __always_inline __u16 csum_replace2(__u16 check, __u16 old, __u16 new)
{
	__u32 sum = (__u16)~check;

	sum += (__u16)~old;
	sum += new;
	return csum_fold(sum);
}

/* Sum of the 32-bit words of an IPv6 address, for pseudo-headers. */
static __always_inline __u64 csum_ipv6_addr(const struct in6_addr *a)
{
	return (__u64)a->in6_u.u6_addr32[0] + a->in6_u.u6_addr32[1] + a->in6_u.u6_addr32[2] +
	       a->in6_u.u6_addr32[3];
}

/* Sum of nwords 32-bit words from start, reading no further than data_end.
 * The bound max_words is a compile-time constant so the verifier sees a
 * finite loop; the loop variable is checked against the packet end on each
 * step because the verifier cannot relate a variable length to data_end.
 */
static __always_inline __u64 csum_words(const void *start, __u32 nwords, __u32 max_words,
					const void *data_end)
{
	const __u32 *w = start;
	__u64 sum = 0;

	for (__u32 i = 0; i < max_words; i++) {
		if (i >= nwords)
			break;
		if ((const void *)(w + i + 1) > data_end)
			break;
		sum += w[i];
	}
	return sum;
}

#endif /* BOUNCER_BPF_CSUM_H */
