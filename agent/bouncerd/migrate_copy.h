/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Copying one map's entries into a map of another layout, through the
 * conversions of migrate_table.c: the engine under migrate.c.
 */
#ifndef BOUNCER_MIGRATE_COPY_H
#define BOUNCER_MIGRATE_COPY_H

#include <stdbool.h>
#include <stddef.h>

#include <linux/bpf.h>

#include "migrate_table.h"

/* Versions a chain may span. */
#define MIGRATE_MAX_STEPS 32
/* Largest key or value (one CPU's) a conversion handles. */
#define MIGRATE_MAX_SIZE 256

struct map_layout {
	enum bpf_map_type type;
	__u32 key_size, value_size, max_entries, map_flags;
};

/* The conversions of one map from one version to another, in the order
 * they apply: up (each record's up) or down (each record's down, newest
 * first).
 */
struct migrate_chain {
	const struct map_change *steps[MIGRATE_MAX_STEPS];
	size_t n;
	bool down;
};

void migrate_chain_build(const char *map, unsigned int from, unsigned int to,
			 struct migrate_chain *c);
/* The MAP_CLEARED record of map between the versions from and to,
 * either way: NULL when its entries carry over. Down, the oldest, whose
 * old_max_entries is the size the map had at version to.
 */
const struct map_change *migrate_cleared(const char *map, unsigned int from, unsigned int to);
/* The sizes after the chain for a map of key_size and value_size now:
 * false when the chain does not start from those sizes.
 */
bool migrate_chain_sizes(const struct migrate_chain *c, __u32 *key_size, __u32 *value_size);
/* Converts one entry of the layout before the chain (a per-CPU value is
 * converted per CPU: ncpus values of value_size rounded up to 8 bytes).
 * false: the entry is dropped.
 */
bool migrate_chain_convert(const struct migrate_chain *c, const struct migrate_ctx *ctx,
			   const struct map_layout *from, int ncpus, const void *key,
			   const void *value, void *new_key, void *new_value);

/* Hash and array maps can be copied; socket maps and maps of maps not. */
bool migrate_copyable(enum bpf_map_type type);

/* What the first copy saw, for the second. */
struct copy_snapshot {
	void *keys; /* hash maps: the keys copied, sorted */
	void *values; /* arrays: the values copied */
	size_t n;
};

struct copy_stats {
	size_t copied; /* entries written to the new map */
	size_t dropped; /* entries a conversion refused */
	size_t later; /* entries of the second copy */
};

struct map_copy {
	int old_fd, new_fd;
	struct map_layout old, new;
	const struct migrate_chain *chain;
	const struct migrate_ctx *ctx;
	/* Arrays of counters: the second copy adds what the old map counted
	 * since the first, instead of overwriting.
	 */
	bool counters;
	struct copy_snapshot snap;
	struct copy_stats stats;
};

/* The first copy: every entry of the old map, converted. Entries of a
 * hash map are spread over the CPUs this process may run on, so that a
 * map with per-CPU LRU lists keeps them all.
 */
int migrate_copy_all(struct map_copy *mc);
/* The second copy, once the old map's program is gone: hash entries
 * that were not there at the first (new flows) are added, unless the new
 * program recorded them meanwhile; counters add what they counted since.
 */
int migrate_copy_again(struct map_copy *mc);
void migrate_copy_free(struct map_copy *mc);

#endif /* BOUNCER_MIGRATE_COPY_H */
