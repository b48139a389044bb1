/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The flow hash that picks a ring slot, and the flow label of IPv6
 * encapsulation. XDP, sk_lookup and user space (tests, the agent's ring
 * views) must compute the same values, so all of them include this header:
 * it needs nothing but the ABI header.
 */
#ifndef BOUNCER_HASH_H
#define BOUNCER_HASH_H

#include "bouncer_abi.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* Default seed of the flow hash (hash_seed in bouncer.conf). Every bouncer
 * host behind one ECMP group must hash with the same seed, so that they map
 * a flow to the same slot without sharing state; a seed of its own keeps a
 * tier's slot choice from being the one every default install makes.
 */
#define BNC_HASH_SEED 0x6b6f756eu

static __always_inline __u32 hash_rol32(__u32 x, int r)
{
	return (x << r) | (x >> (32 - r));
}

/* murmur3's 32-bit block step and finalizer: cheap (a few multiplies) and
 * good enough avalanche for slot choice; no secret is needed because the
 * ring, not the hash, bounds what a client can choose.
 */
static __always_inline __u32 hash_mix(__u32 h, __u32 k)
{
	k *= 0xcc9e2d51u;
	k = hash_rol32(k, 15);
	k *= 0x1b873593u;
	h ^= k;
	h = hash_rol32(h, 13);
	return h * 5 + 0xe6546b64u;
}

static __always_inline __u32 hash_final(__u32 h, __u32 len)
{
	h ^= len;
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

static __always_inline __u32 hash_addr(__u32 h, const __be32 addr[4], __u8 family)
{
	h = hash_mix(h, addr[0]);
	if (family == BNC_FAMILY_IPV6) {
		h = hash_mix(h, addr[1]);
		h = hash_mix(h, addr[2]);
		h = hash_mix(h, addr[3]);
	}
	return h;
}

/* Slot hash of a flow: the whole 5-tuple, or the source address alone for
 * VIPs whose clients must stick to one backend across connections. seed is
 * the host's (struct bnc_config's hash_seed).
 */
static __always_inline __u32 flow_hash(const struct bnc_flow_key *key, __u32 vip_flags, __u32 seed)
{
	__u32 h = seed;

	h = hash_addr(h, key->saddr, key->family);
	if (vip_flags & BNC_VIP_F_HASH_SRC_ONLY)
		return hash_final(h, key->family);
	h = hash_addr(h, key->daddr, key->family);
	h = hash_mix(h, ((__u32)key->sport << 16) | key->dport);
	h = hash_mix(h, ((__u32)key->proto << 8) | key->family);
	return hash_final(h, key->family);
}

/* Flow label of an IPv6 outer header: carries the flow's entropy to ECMP
 * and RSS hashing on the way to the backend.
 */
static __always_inline __u32 encap_flow_label(const struct bnc_flow_key *key, __u32 seed)
{
	return flow_hash(key, 0, seed) & 0xfffff;
}

/* An address's four words folded into one, for the VIP filter and slots.
 * An IPv4 address (zeros past its first word) folds to itself.
 */
static __always_inline __u32 vip_addr_fold(const __be32 addr[4])
{
	return addr[0] ^ hash_rol32(addr[1], 8) ^ hash_rol32(addr[2], 16) ^ hash_rol32(addr[3], 24);
}

/* Bit of the VIP address filter for a destination address: a
 * multiplicative hash of the address (its four words folded for IPv6),
 * top bits.
 */
static __always_inline __u32 vip_filter_bit(const __be32 addr[4], __u8 family)
{
	__u32 x = family == BNC_FAMILY_IPV6 ? vip_addr_fold(addr) : addr[0];

	return (x * 0x9e3779b1u) >> (32 - BNC_VIP_FILTER_BITS_LOG2);
}

/* A VIP's slot in vip_slots (see BNC_VIP_SLOTS_LOG2): the address folded
 * as for the filter, with the port and protocol, multiplied, top bits.
 */
static __always_inline __u32 vip_slot_index(const __be32 addr[4], __be16 port, __u8 proto)
{
	__u32 x = vip_addr_fold(addr) ^ ((__u32)port << 16) ^ proto;

	return (x * 0x9e3779b1u) >> (32 - BNC_VIP_SLOTS_LOG2);
}

/* The slot of a VIP key (a service entry: with a port). */
static __always_inline __u32 vip_key_slot(const struct bnc_vip_key *key)
{
	return vip_slot_index(key->addr, key->port, key->proto);
}

/* A slot's check: its 36 bytes before the check as four 64-bit words and
 * one 32-bit word, each multiplied by its own odd constant (independent
 * multiplies: a few cycles), xored, folded to 32 bits; never 0, which a
 * zeroed slot holds. A slot mixed from two writes differs from both in
 * some word, and so almost surely in its check.
 */
static __always_inline __u32 vip_slot_check(const struct bnc_vip_slot *s)
{
	__u64 w[4], h;
	__u32 last;

	__builtin_memcpy(w, s, sizeof(w));
	__builtin_memcpy(&last, (const __u8 *)s + sizeof(w), sizeof(last));
	h = w[0] * 0x9e3779b97f4a7c15ull ^ w[1] * 0xc2b2ae3d27d4eb4full ^
	    w[2] * 0x165667b19e3779f9ull ^ w[3] * 0xd6e8feb86659fd93ull ^
	    (__u64)last * 0xff51afd7ed558ccdull;
	return ((__u32)(h >> 32) ^ (__u32)h) | 1;
}

#endif /* BOUNCER_HASH_H */
