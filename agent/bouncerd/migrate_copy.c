// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The copy engine of a migration: conversion chains, and copies of hash
 * maps (in batches, spread over the CPUs) and arrays (entry by entry).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "migrate_copy.h"

/* Entries per batch system call. */
#define COPY_BATCH 4096

void migrate_chain_build(const char *map, unsigned int from, unsigned int to,
			 struct migrate_chain *c)
{
	memset(c, 0, sizeof(*c));
	c->down = to < from;
	for (unsigned int v = c->down ? from - 1 : from; c->down ? v + 1 > to : v < to;
	     c->down ? v-- : v++) {
		for (size_t i = 0; i < nmap_changes; i++) {
			const struct map_change *r = &map_changes[i];

			if (r->from == v && r->kind == MAP_CONVERTED && strcmp(r->map, map) == 0 &&
			    c->n < MIGRATE_MAX_STEPS)
				c->steps[c->n++] = r;
		}
	}
}

const struct map_change *migrate_cleared(const char *map, unsigned int from, unsigned int to)
{
	unsigned int lo = from < to ? from : to, hi = from < to ? to : from;
	const struct map_change *found = NULL;

	for (size_t i = 0; i < nmap_changes; i++) {
		const struct map_change *r = &map_changes[i];

		if (r->kind != MAP_CLEARED || r->from < lo || r->from >= hi ||
		    strcmp(r->map, map) != 0)
			continue;
		if (!found || r->from < found->from)
			found = r;
	}
	return found;
}

bool migrate_chain_sizes(const struct migrate_chain *c, __u32 *key_size, __u32 *value_size)
{
	for (size_t i = 0; i < c->n; i++) {
		const struct map_change *r = c->steps[i];
		__u32 in_k = c->down ? r->new_key_size : r->old_key_size;
		__u32 in_v = c->down ? r->new_value_size : r->old_value_size;

		if (*key_size != in_k || *value_size != in_v)
			return false;
		*key_size = c->down ? r->old_key_size : r->new_key_size;
		*value_size = c->down ? r->old_value_size : r->new_value_size;
	}
	return *key_size <= MIGRATE_MAX_SIZE && *value_size <= MIGRATE_MAX_SIZE;
}

static bool is_percpu(enum bpf_map_type type)
{
	return type == BPF_MAP_TYPE_PERCPU_ARRAY || type == BPF_MAP_TYPE_PERCPU_HASH ||
	       type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

static bool is_hash(enum bpf_map_type type)
{
	return type == BPF_MAP_TYPE_HASH || type == BPF_MAP_TYPE_LRU_HASH ||
	       type == BPF_MAP_TYPE_PERCPU_HASH || type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

bool migrate_copyable(enum bpf_map_type type)
{
	return is_hash(type) || type == BPF_MAP_TYPE_ARRAY || type == BPF_MAP_TYPE_PERCPU_ARRAY;
}

/* Bytes of one value as user space reads and writes it. */
static size_t value_bytes(const struct map_layout *l, int ncpus)
{
	if (!is_percpu(l->type))
		return l->value_size;
	return (size_t)ncpus * ((l->value_size + 7) & ~7u);
}

/* One step on one CPU's value: the record's function, or for a record
 * without one the common prefix (counters appended at the end).
 */
static bool step_one(const struct map_change *r, bool down, const struct migrate_ctx *ctx,
		     const void *key, const void *value, __u32 in_size, void *new_key,
		     void *new_value, __u32 out_size)
{
	migrate_fn fn = down ? r->down : r->up;

	memset(new_value, 0, out_size);
	if (!fn) {
		memcpy(new_value, value, in_size < out_size ? in_size : out_size);
		return true;
	}
	return fn(ctx, key, value, new_key, new_value);
}

bool migrate_chain_convert(const struct migrate_chain *c, const struct migrate_ctx *ctx,
			   const struct map_layout *from, int ncpus, const void *key,
			   const void *value, void *new_key, void *new_value)
{
	unsigned char kbuf[2][MIGRATE_MAX_SIZE], vbuf[2][MIGRATE_MAX_SIZE];
	int cpus = is_percpu(from->type) ? ncpus : 1;
	__u32 ks = from->key_size, vs = from->value_size;
	const unsigned char *in_v = value;
	unsigned char *out_v = new_value;

	if (c->n == 0) {
		memcpy(new_key, key, ks);
		memcpy(new_value, value, value_bytes(from, ncpus));
		return true;
	}
	for (int cpu = 0; cpu < cpus; cpu++) {
		__u32 k = ks, v = vs;
		int cur = 0;

		memcpy(kbuf[cur], key, k);
		memcpy(vbuf[cur], in_v + (size_t)cpu * ((vs + 7) & ~7u), v);
		for (size_t i = 0; i < c->n; i++) {
			const struct map_change *r = c->steps[i];
			__u32 nk = c->down ? r->old_key_size : r->new_key_size;
			__u32 nv = c->down ? r->old_value_size : r->new_value_size;

			/* A conversion that keeps the key's size finds it
			 * copied.
			 */
			memset(kbuf[!cur], 0, nk);
			if (nk == k)
				memcpy(kbuf[!cur], kbuf[cur], k);
			if (!step_one(r, c->down, ctx, kbuf[cur], vbuf[cur], v, kbuf[!cur],
				      vbuf[!cur], nv))
				return false;
			cur = !cur;
			k = nk;
			v = nv;
		}
		if (cpu == 0)
			memcpy(new_key, kbuf[cur], k);
		memcpy(out_v + (size_t)cpu * ((v + 7) & ~7u), vbuf[cur], v);
	}
	return true;
}

static int key_cmp(const void *a, const void *b, void *size)
{
	return memcmp(a, b, *(const __u32 *)size);
}

/* Every entry of a hash map, by batches. */
static int hash_read_all(int fd, const struct map_layout *l, int ncpus, void **keys_out,
			 void **values_out, size_t *n_out)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	size_t vb = value_bytes(l, ncpus), cap = 0, n = 0;
	unsigned char *keys = NULL, *values = NULL;
	__u64 token = 0;
	void *in = NULL;
	int err = 0;

	for (;;) {
		__u32 count = COPY_BATCH;

		if (n + COPY_BATCH > cap) {
			void *k, *v;

			cap = cap ? 2 * cap : COPY_BATCH;
			k = realloc(keys, cap * l->key_size);
			if (k)
				keys = k;
			v = realloc(values, cap * vb);
			if (v)
				values = v;
			if (!k || !v) {
				err = -ENOMEM;
				break;
			}
		}
		err = bpf_map_lookup_batch(fd, in, &token, keys + n * l->key_size, values + n * vb,
					   &count, &opts)
			      ? -errno
			      : 0;
		if (err && err != -ENOENT)
			break;
		n += count;
		if (err == -ENOENT) {
			err = 0;
			break;
		}
		in = &token;
	}
	if (err) {
		free(keys);
		free(values);
		return err;
	}
	*keys_out = keys;
	*values_out = values;
	*n_out = n;
	return 0;
}

/* Writes n entries, spread evenly over the CPUs this thread may run on:
 * a map with per-CPU LRU lists (BPF_F_NO_COMMON_LRU) gives each CPU only
 * its share of the entries, and an update takes from the list of the CPU
 * it runs on.
 */
static int hash_write_spread(int fd, const void *keys, __u32 key_size, const void *values,
			     size_t value_size, size_t n)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = BPF_ANY);
	cpu_set_t allowed, one;
	int cpus[CPU_SETSIZE], ncpus = 0, err = 0;

	if (sched_getaffinity(0, sizeof(allowed), &allowed))
		return -errno;
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &allowed))
			cpus[ncpus++] = cpu;
	for (int i = 0; i < ncpus && !err; i++) {
		size_t from = n * (size_t)i / (size_t)ncpus,
		       to = n * (size_t)(i + 1) / (size_t)ncpus;

		CPU_ZERO(&one);
		CPU_SET(cpus[i], &one);
		if (sched_setaffinity(0, sizeof(one), &one)) {
			err = -errno;
			break;
		}
		while (from < to && !err) {
			__u32 count = to - from > COPY_BATCH ? COPY_BATCH : (__u32)(to - from);

			err = bpf_map_update_batch(fd, (const char *)keys + from * key_size,
						   (const char *)values + from * value_size, &count,
						   &opts)
				      ? -errno
				      : 0;
			from += count;
		}
	}
	if (sched_setaffinity(0, sizeof(allowed), &allowed) && !err)
		err = -errno;
	return err;
}

/* Converts n entries in place of the read ones' order into new arrays;
 * the count written is *kept.
 */
static int convert_all(struct map_copy *mc, int ncpus, const unsigned char *keys,
		       const unsigned char *values, size_t n, void **nkeys_out, void **nvalues_out,
		       size_t *kept)
{
	size_t ovb = value_bytes(&mc->old, ncpus), nvb = value_bytes(&mc->new, ncpus);
	unsigned char *nkeys = malloc(n ? n * mc->new.key_size : 1);
	unsigned char *nvalues = malloc(n ? n * nvb : 1);
	size_t k = 0;

	if (!nkeys || !nvalues) {
		free(nkeys);
		free(nvalues);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		if (migrate_chain_convert(mc->chain, mc->ctx, &mc->old, ncpus,
					  keys + i * mc->old.key_size, values + i * ovb,
					  nkeys + k * mc->new.key_size, nvalues + k * nvb))
			k++;
		else
			mc->stats.dropped++;
	}
	*nkeys_out = nkeys;
	*nvalues_out = nvalues;
	*kept = k;
	return 0;
}

static int hash_copy_all(struct map_copy *mc, int ncpus)
{
	void *keys, *values, *nkeys = NULL, *nvalues = NULL;
	size_t n, kept = 0;
	int err;

	err = hash_read_all(mc->old_fd, &mc->old, ncpus, &keys, &values, &n);
	if (err)
		return err;
	err = convert_all(mc, ncpus, keys, values, n, &nkeys, &nvalues, &kept);
	if (!err)
		err = hash_write_spread(mc->new_fd, nkeys, mc->new.key_size, nvalues,
					value_bytes(&mc->new, ncpus), kept);
	if (!err)
		mc->stats.copied += kept;
	free(values);
	free(nkeys);
	free(nvalues);
	if (err) {
		free(keys);
		return err;
	}
	/* Sorted, so that the second copy finds what is new by search. */
	qsort_r(keys, n, mc->old.key_size, key_cmp, &mc->old.key_size);
	mc->snap.keys = keys;
	mc->snap.n = n;
	return 0;
}

/* Whether key is among the n sorted keys. */
static bool sorted_has(const unsigned char *keys, size_t n, __u32 key_size, const void *key)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(keys + mid * key_size, key, key_size);

		if (c == 0)
			return true;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

static int hash_copy_again(struct map_copy *mc, int ncpus)
{
	size_t ovb = value_bytes(&mc->old, ncpus);
	unsigned char nkey[MIGRATE_MAX_SIZE], *values, *keys, *nvalue;
	size_t n;
	int err;

	err = hash_read_all(mc->old_fd, &mc->old, ncpus, (void **)&keys, (void **)&values, &n);
	if (err)
		return err;
	nvalue = malloc(value_bytes(&mc->new, ncpus));
	for (size_t i = 0; i < n && nvalue && !err; i++) {
		const unsigned char *key = keys + i * mc->old.key_size;

		if (sorted_has(mc->snap.keys, mc->snap.n, mc->old.key_size, key))
			continue;
		if (!migrate_chain_convert(mc->chain, mc->ctx, &mc->old, ncpus, key,
					   values + i * ovb, nkey, nvalue)) {
			mc->stats.dropped++;
			continue;
		}
		/* The new program may have recorded the flow since the swap:
		 * its entry stands.
		 */
		if (bpf_map_update_elem(mc->new_fd, nkey, nvalue, BPF_NOEXIST) == 0)
			mc->stats.later++;
		else if (errno != EEXIST)
			err = -errno;
	}
	if (!nvalue)
		err = -ENOMEM;
	free(nvalue);
	free(keys);
	free(values);
	return err;
}

static __u32 array_entries(const struct map_copy *mc)
{
	return mc->old.max_entries < mc->new.max_entries ? mc->old.max_entries
							 : mc->new.max_entries;
}

static int array_copy_all(struct map_copy *mc, int ncpus)
{
	size_t ovb = value_bytes(&mc->old, ncpus), nvb = value_bytes(&mc->new, ncpus);
	__u32 n = array_entries(mc);
	unsigned char nkey[MIGRATE_MAX_SIZE], *values, *nvalue;
	int err = 0;

	values = calloc(n ? n : 1, ovb);
	nvalue = malloc(nvb);
	for (__u32 i = 0; i < n && values && nvalue && !err; i++) {
		if (bpf_map_lookup_elem(mc->old_fd, &i, values + i * ovb)) {
			err = -errno;
			break;
		}
		if (!migrate_chain_convert(mc->chain, mc->ctx, &mc->old, ncpus, &i,
					   values + i * ovb, nkey, nvalue)) {
			mc->stats.dropped++;
			continue;
		}
		if (bpf_map_update_elem(mc->new_fd, &i, nvalue, BPF_ANY))
			err = -errno;
		else
			mc->stats.copied++;
	}
	if (!values || !nvalue)
		err = -ENOMEM;
	free(nvalue);
	if (err) {
		free(values);
		return err;
	}
	mc->snap.values = values;
	mc->snap.n = n;
	return 0;
}

/* Counters: what the old program counted since the first copy is added
 * to what the new one has counted since the swap.
 */
static int counters_add_since(struct map_copy *mc, int ncpus)
{
	size_t ovb = value_bytes(&mc->old, ncpus), nvb = value_bytes(&mc->new, ncpus);
	unsigned char nkey[MIGRATE_MAX_SIZE], *now, *delta, *nvalue, *cur;
	int err = 0;

	now = malloc(ovb);
	delta = malloc(ovb);
	nvalue = malloc(nvb);
	cur = malloc(nvb);
	for (__u32 i = 0; i < mc->snap.n && now && delta && nvalue && cur && !err; i++) {
		const __u64 *before =
			(const __u64 *)((const unsigned char *)mc->snap.values + i * ovb);
		bool moved = false;

		if (bpf_map_lookup_elem(mc->old_fd, &i, now)) {
			err = -errno;
			break;
		}
		for (size_t w = 0; w < ovb / 8; w++) {
			((__u64 *)delta)[w] = ((__u64 *)now)[w] - before[w];
			moved |= ((__u64 *)delta)[w] != 0;
		}
		if (!moved || !migrate_chain_convert(mc->chain, mc->ctx, &mc->old, ncpus, &i, delta,
						     nkey, nvalue))
			continue;
		if (bpf_map_lookup_elem(mc->new_fd, &i, cur)) {
			err = -errno;
			break;
		}
		for (size_t w = 0; w < nvb / 8; w++)
			((__u64 *)cur)[w] += ((__u64 *)nvalue)[w];
		if (bpf_map_update_elem(mc->new_fd, &i, cur, BPF_ANY))
			err = -errno;
		else
			mc->stats.later++;
	}
	if (!now || !delta || !nvalue || !cur)
		err = -ENOMEM;
	free(now);
	free(delta);
	free(nvalue);
	free(cur);
	return err;
}

int migrate_copy_all(struct map_copy *mc)
{
	int ncpus = libbpf_num_possible_cpus();

	if (ncpus < 0)
		return ncpus;
	if (is_hash(mc->old.type))
		return hash_copy_all(mc, ncpus);
	return array_copy_all(mc, ncpus);
}

int migrate_copy_again(struct map_copy *mc)
{
	int ncpus = libbpf_num_possible_cpus();

	if (ncpus < 0)
		return ncpus;
	if (is_hash(mc->old.type))
		return hash_copy_again(mc, ncpus);
	/* Other arrays hold what the agent writes, not the datapath. */
	return mc->counters ? counters_add_since(mc, ncpus) : 0;
}

void migrate_copy_free(struct map_copy *mc)
{
	free(mc->snap.keys);
	free(mc->snap.values);
	memset(&mc->snap, 0, sizeof(mc->snap));
}
