// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Maglev lookup table with weights.
 *
 * Each backend prefers the slots in the order of its own permutation of the
 * ring, (offset + j * skip) mod M, where offset and skip are two keyed hashes
 * of its family, address and port. Backends then take turns; at each turn a
 * backend claims the first slot of its permutation that is still empty.
 *
 * Weights: every backend first gets a target number of slots, floor or ceil
 * of M * w / sum(w) by the largest-remainder method, so the targets add up to
 * M exactly. The turns are then interleaved in proportion to the targets:
 * the k-th claim (k from 0) of a backend with target t is scheduled at
 * virtual time (k + 1/2) / t, and claims run in virtual-time order; at
 * equal times the larger target goes first, then the canonical order. With
 * equal weights this is plain Maglev round robin (the backends holding one
 * of the M mod N extra slots go first in each round); with unequal weights
 * every backend is spread evenly over the whole fill, so a light backend
 * does not find the ring already full of heavy ones and its preferences keep
 * mattering. A backend stops at its target, which makes the shares exact
 * and ends the fill after exactly M claims; the probing costs about M ln M
 * in total, as in the paper.
 *
 * Everything that decides the table is derived from the sorted set of
 * (family, addr, port, weight), and the hash reads bytes in a fixed order, so
 * two hosts with the same configuration build byte-identical rings whatever
 * their endianness or the order the backends were configured in.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "maglev.h"

/* family, 16 address bytes (IPv4 zero padded), 2 port bytes */
#define MG_KEY_LEN 19

/* SipHash keys for offset and skip. Fixed, because every host that serves a
 * VIP must compute the same permutations: changing them reshuffles every
 * ring, and hosts on either side of an upgrade would disagree.
 */
static const __u64 mg_offset_key[2] = { 0x6d61676c65762d6fULL, 0x66667365742d6b31ULL };
static const __u64 mg_skip_key[2] = { 0x6d61676c65762d73ULL, 0x6b69702d6b65792dULL };

struct mg_backend {
	__u8 key[MG_KEY_LEN];
	__u32 id;
	__u32 weight;
	__u32 skip;
	__u32 pos; /* next slot of this backend's permutation to try */
	__u32 target; /* slots this backend ends with */
};

static __u64 rotl64(__u64 x, int b)
{
	return (x << b) | (x >> (64 - b));
}

/* Little-endian load whatever the host order, so that every host hashes the
 * same key to the same value.
 */
static __u64 load_le64(const __u8 *p)
{
	__u64 v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static void sipround(__u64 v[4])
{
	v[0] += v[1];
	v[1] = rotl64(v[1], 13);
	v[1] ^= v[0];
	v[0] = rotl64(v[0], 32);
	v[2] += v[3];
	v[3] = rotl64(v[3], 16);
	v[3] ^= v[2];
	v[0] += v[3];
	v[3] = rotl64(v[3], 21);
	v[3] ^= v[0];
	v[2] += v[1];
	v[1] = rotl64(v[1], 17);
	v[1] ^= v[2];
	v[2] = rotl64(v[2], 32);
}

/* SipHash-2-4 (Aumasson and Bernstein): good mixing for short keys, and a
 * keyed function, so that the two hashes of one backend are independent.
 */
static __u64 siphash24(const __u8 *in, size_t len, const __u64 k[2])
{
	__u64 v[4] = {
		k[0] ^ 0x736f6d6570736575ULL,
		k[1] ^ 0x646f72616e646f6dULL,
		k[0] ^ 0x6c7967656e657261ULL,
		k[1] ^ 0x7465646279746573ULL,
	};
	size_t tail = len & 7;
	const __u8 *end = in + (len - tail);
	__u64 b = (__u64)len << 56;
	size_t i;

	for (; in != end; in += 8) {
		__u64 m = load_le64(in);

		v[3] ^= m;
		sipround(v);
		sipround(v);
		v[0] ^= m;
	}
	for (i = 0; i < tail; i++)
		b |= (__u64)in[i] << (8 * i);
	v[3] ^= b;
	sipround(v);
	sipround(v);
	v[0] ^= b;
	v[2] ^= 0xff;
	for (i = 0; i < 4; i++)
		sipround(v);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

bool maglev_is_prime(__u32 n)
{
	__u32 d;

	if (n < 2)
		return false;
	if (n < 4)
		return true;
	if (n % 2 == 0 || n % 3 == 0)
		return false;
	/* d * d would overflow a __u32 near the top, hence the division. */
	for (d = 5; d <= n / d; d += 6)
		if (n % d == 0 || n % (d + 2) == 0)
			return false;
	return true;
}

/* Canonical bytes of a backend: the sort key, the duplicate check and the
 * hash input all read the same bytes, all in network order.
 */
static int mg_make_key(const struct maglev_backend *b, __u8 key[MG_KEY_LEN])
{
	memset(key, 0, MG_KEY_LEN);
	key[0] = b->family;
	switch (b->family) {
	case BNC_FAMILY_IPV4:
		memcpy(key + 1, &b->addr[0], 4);
		break;
	case BNC_FAMILY_IPV6:
		memcpy(key + 1, b->addr, 16);
		break;
	default:
		return -EINVAL;
	}
	memcpy(key + 17, &b->port, 2);
	return 0;
}

static int mg_cmp_key(const void *a, const void *b)
{
	const struct mg_backend *x = a, *y = b;

	return memcmp(x->key, y->key, MG_KEY_LEN);
}

/* A backend index with a sort key: a remainder, or a target. */
struct mg_rank {
	__u64 key;
	__u32 idx;
};

/* Larger key first, then the canonical order, so that ties never depend on
 * qsort.
 */
static int mg_cmp_rank(const void *a, const void *b)
{
	const struct mg_rank *x = a, *y = b;

	if (x->key != y->key)
		return x->key > y->key ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Targets by the largest-remainder method: floor of the exact share, plus
 * one for the backends with the largest remainders until the sum is M.
 */
static void mg_targets(struct mg_backend *bk, struct mg_rank *rank, size_t n, __u32 m,
		       __u64 weight_sum)
{
	__u64 assigned = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		/* m < 2^31 and weight < 2^32: no overflow. */
		__u64 share = (__u64)m * bk[i].weight;

		bk[i].target = share / weight_sum;
		assigned += bk[i].target;
		rank[i].key = share % weight_sum;
		rank[i].idx = i;
	}
	qsort(rank, n, sizeof(*rank), mg_cmp_rank);
	/* The remainders add up to (m - assigned) * weight_sum and each is
	 * below weight_sum, so more than m - assigned of them are non-zero:
	 * a zero-weight backend (remainder 0) never gets a slot here.
	 */
	for (i = 0; assigned < m; i++, assigned++)
		bk[rank[i].idx].target++;
}

/* Backends with the same target share a schedule, so they take their turns
 * together. With equal weights there are one or two groups (floor and ceil
 * of M / N), which keeps the scheduling cost negligible beside the probing.
 */
struct mg_group {
	__u32 target;
	__u32 turns; /* turns taken so far; each member claimed one slot per turn */
	__u32 first; /* members[first .. first + count) */
	__u32 count;
};

/* True if group a's next turn comes before group b's. Turn k (from 0) of a
 * group with target t sits at virtual time (2k + 1) / 2t: its claims spread
 * evenly over the whole fill. Cross-multiplied: both factors stay below
 * 2^32 and 2^31. Targets differ between groups; on a tie the larger target
 * goes first.
 */
static bool mg_before(const struct mg_group *g, __u32 a, __u32 b)
{
	__u64 ta = (2ULL * g[a].turns + 1) * g[b].target;
	__u64 tb = (2ULL * g[b].turns + 1) * g[a].target;

	if (ta != tb)
		return ta < tb;
	return g[a].target > g[b].target;
}

static void mg_sift_down(const struct mg_group *g, __u32 *heap, size_t len, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, min = i;
		__u32 tmp;

		if (l < len && mg_before(g, heap[l], heap[min]))
			min = l;
		if (r < len && mg_before(g, heap[r], heap[min]))
			min = r;
		if (min == i)
			return;
		tmp = heap[i];
		heap[i] = heap[min];
		heap[min] = tmp;
		i = min;
	}
}

/* Claim the first empty slot of backend b's permutation. One exists: the
 * targets add up to m, so a backend below its target means an empty slot,
 * and the permutation visits every slot because m is prime and 0 < skip < m.
 * Occupancy is probed in a bitmap rather than in the table: at the largest
 * rings the table is megabytes, the bitmap fits in L2, and the probes are
 * the cost of the whole build.
 */
static void mg_claim(struct mg_backend *b, __u32 m, __u64 *used, __u32 *table)
{
	__u32 pos = b->pos;

	while (used[pos / 64] & (1ULL << (pos % 64))) {
		/* pos, skip < m < 2^31: the sum fits. */
		pos += b->skip;
		if (pos >= m)
			pos -= m;
	}
	used[pos / 64] |= 1ULL << (pos % 64);
	table[pos] = b->id;
	pos += b->skip;
	if (pos >= m)
		pos -= m;
	b->pos = pos;
}

/* Split the backends with a non-zero target into groups of equal target,
 * members in canonical order. rank is scratch. Returns the group count.
 */
static size_t mg_group(const struct mg_backend *bk, size_t n, struct mg_rank *rank, __u32 *members,
		       struct mg_group *groups)
{
	size_t i, ngroups = 0;

	for (i = 0; i < n; i++) {
		rank[i].key = bk[i].target;
		rank[i].idx = i;
	}
	qsort(rank, n, sizeof(*rank), mg_cmp_rank);
	for (i = 0; i < n && rank[i].key; i++) {
		members[i] = rank[i].idx;
		if (!ngroups || groups[ngroups - 1].target != rank[i].key) {
			groups[ngroups].target = rank[i].key;
			groups[ngroups].turns = 0;
			groups[ngroups].first = i;
			groups[ngroups].count = 0;
			ngroups++;
		}
		groups[ngroups - 1].count++;
	}
	return ngroups;
}

int maglev_build(const struct maglev_backend *backends, size_t n, __u32 ring_size, __u32 *table_out)
{
	struct mg_backend *bk = NULL;
	struct mg_group *groups = NULL;
	struct mg_rank *rank = NULL;
	__u32 *members = NULL, *heap = NULL;
	__u64 *used = NULL;
	__u64 weight_sum = 0;
	size_t i, len;
	int err;

	if (!maglev_is_prime(ring_size) || ring_size > MAGLEV_RING_SIZE_LIMIT || n > ring_size)
		return -EINVAL;
	if (!table_out || (n && !backends))
		return -EINVAL;

	if (n) {
		bk = calloc(n, sizeof(*bk));
		rank = calloc(n, sizeof(*rank));
		groups = calloc(n, sizeof(*groups));
		members = calloc(n, sizeof(*members));
		heap = calloc(n, sizeof(*heap));
		used = calloc((ring_size + 63) / 64, sizeof(*used));
		if (!bk || !rank || !groups || !members || !heap || !used) {
			err = -ENOMEM;
			goto cleanup;
		}
	}

	for (i = 0; i < n; i++) {
		err = mg_make_key(&backends[i], bk[i].key);
		if (err)
			goto cleanup;
		if (backends[i].id == BNC_BACKEND_NONE) {
			err = -EINVAL;
			goto cleanup;
		}
		bk[i].id = backends[i].id;
		bk[i].weight = backends[i].weight;
		weight_sum += backends[i].weight;
	}

	/* Every tie below is broken by position in this sorted copy, so the
	 * position must come from the backends themselves, not from the
	 * caller's array.
	 */
	if (n)
		qsort(bk, n, sizeof(*bk), mg_cmp_key);
	for (i = 1; i < n; i++) {
		if (!memcmp(bk[i - 1].key, bk[i].key, MG_KEY_LEN)) {
			err = -EINVAL;
			goto cleanup;
		}
	}

	/* Nothing can fail from here on: the caller's table is only written
	 * once the result is certain.
	 */
	err = 0;
	if (!weight_sum) {
		for (i = 0; i < ring_size; i++)
			table_out[i] = BNC_BACKEND_NONE;
		goto cleanup;
	}

	mg_targets(bk, rank, n, ring_size, weight_sum);
	for (i = 0; i < n; i++) {
		bk[i].pos = siphash24(bk[i].key, MG_KEY_LEN, mg_offset_key) % ring_size;
		/* ring_size == 2 gives skip == 1, still a full cycle. */
		bk[i].skip = siphash24(bk[i].key, MG_KEY_LEN, mg_skip_key) % (ring_size - 1) + 1;
	}

	len = mg_group(bk, n, rank, members, groups);
	for (i = 0; i < len; i++)
		heap[i] = i;
	for (i = len / 2; i-- > 0;)
		mg_sift_down(groups, heap, len, i);

	/* The targets add up to ring_size, so this writes every slot. */
	while (len) {
		struct mg_group *g = &groups[heap[0]];
		__u32 j;

		for (j = g->first; j < g->first + g->count; j++)
			mg_claim(&bk[members[j]], ring_size, used, table_out);
		if (++g->turns == g->target)
			heap[0] = heap[--len];
		mg_sift_down(groups, heap, len, 0);
	}

cleanup:
	free(used);
	free(heap);
	free(members);
	free(groups);
	free(rank);
	free(bk);
	return err;
}

int maglev_count_moved(const __u32 *a, const __u32 *b, __u32 ring_size)
{
	int moved = 0;
	__u32 i;

	for (i = 0; i < ring_size; i++)
		moved += a[i] != b[i];
	return moved;
}

/* FNV-1a, 64 bits: a digest for operators to compare, not a defence
 * against anyone, and short enough to write again in a script.
 */
#define FNV64_OFFSET 0xcbf29ce484222325ULL
#define FNV64_PRIME 0x100000001b3ULL
/* An empty slot's byte: no family is 0, so it never starts a key. */
#define MG_DIGEST_EMPTY 0

static __u64 fnv1a(__u64 h, const __u8 *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= FNV64_PRIME;
	}
	return h;
}

/* Little-endian whatever the host's order, as the hash keys are read. */
static __u64 fnv1a_le32(__u64 h, __u32 v)
{
	const __u8 b[4] = { (__u8)v, (__u8)(v >> 8), (__u8)(v >> 16), (__u8)(v >> 24) };

	return fnv1a(h, b, sizeof(b));
}

/* A backend's id and canonical key, sorted by id to name a slot's backend. */
struct mg_named {
	__u32 id;
	__u8 key[MG_KEY_LEN];
};

static int mg_cmp_id(const void *a, const void *b)
{
	const struct mg_named *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static int mg_name_backends(const struct maglev_backend *backends, size_t n, struct mg_named *named)
{
	for (size_t i = 0; i < n; i++) {
		named[i].id = backends[i].id;
		if (mg_make_key(&backends[i], named[i].key))
			return -EINVAL;
	}
	qsort(named, n, sizeof(*named), mg_cmp_id);
	for (size_t i = 1; i < n; i++)
		if (named[i].id == named[i - 1].id)
			return -EINVAL;
	return 0;
}

int maglev_digest(__u32 seed, const __u32 *table, __u32 ring_size,
		  const struct maglev_backend *backends, size_t n, __u64 *out)
{
	static const __u8 empty = MG_DIGEST_EMPTY;
	struct mg_named *named = calloc(n ? n : 1, sizeof(*named)), probe = { 0 };
	const struct mg_named *b;
	__u64 h = FNV64_OFFSET;
	int err;

	if (!named)
		return -ENOMEM;
	err = mg_name_backends(backends, n, named);
	if (err)
		goto cleanup;
	h = fnv1a_le32(h, seed);
	h = fnv1a_le32(h, ring_size);
	for (__u32 s = 0; s < ring_size; s++) {
		probe.id = table ? table[s] : BNC_BACKEND_NONE;
		if (probe.id == BNC_BACKEND_NONE) {
			h = fnv1a(h, &empty, 1);
			continue;
		}
		b = bsearch(&probe, named, n, sizeof(*named), mg_cmp_id);
		if (!b) {
			err = -ENOENT;
			goto cleanup;
		}
		h = fnv1a(h, b->key, MG_KEY_LEN);
	}
	*out = h;
cleanup:
	free(named);
	return err;
}
