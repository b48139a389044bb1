/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
#ifndef BOUNCER_FLOW_WATCH_H
#define BOUNCER_FLOW_WATCH_H

#include <jansson.h>
#include <stdbool.h>

#include "maps.h"

/* The flow table's fill and turnover, sampled by the agent's tick so that
 * stats, top and /metrics read figures instead of counting a table of a
 * million entries on every request.
 *
 * Evictions are not counted by the kernel: they are estimated as the
 * datapath's inserts less the growth of the table less what the agent
 * deleted itself, over a sample period. An insert that replaces an entry
 * of the same key in place counts as an eviction; the datapath makes few.
 */
struct flow_watch {
	bool sampled; /* usage and rates below hold a sample */
	struct bnc_flow_usage usage;
	/* Entries one CPU's share of the table holds: the table's size with
	 * one LRU list for all CPUs, size / possible CPUs with a list each
	 * (a flow takes its entry from the list of the CPU that sees its
	 * first packet).
	 */
	__u32 cpu_share4, cpu_share6;
	double inserts_per_s, evictions_per_s;
	unsigned long long evictions; /* since the agent started */
	bool pressure; /* evicting in the last sample */
	/* The previous sample, and the agent's own deletions since. */
	double last_at;
	unsigned long long last_inserts, last_entries, deleted;
	double period_s; /* grows with the time a count takes */
	/* The last count of each backend's flows, for stats with "flows",
	 * which top and the status page ask for every second: reused until
	 * it is COUNT_COST_FACTOR times as old as it took to make, so that
	 * counting a table of millions of entries takes at most 5% of the
	 * agent however many ask. NULL until first asked for.
	 */
	__u32 *per_backend; /* BNC_MAX_BACKENDS entries */
	struct bnc_flow_usage counted;
	double counted_at, count_cost_s;
};

/* Samples when the period is up (called every tick, now in seconds of
 * CLOCK_MONOTONIC); logs when evictions start and stop.
 */
void flow_watch_tick(struct flow_watch *w, struct bnc_maps *m, double now);
/* Entries the agent deleted (flush), kept out of the evictions; the next
 * count is made afresh.
 */
void flow_watch_deleted(struct flow_watch *w, size_t n);
/* Each backend's flows (BNC_MAX_BACKENDS entries) and the table's use,
 * counted now or reused (see per_backend); *age_s is the count's age.
 * NULL when the table cannot be read or memory runs out.
 */
const __u32 *flow_watch_count(struct flow_watch *w, struct bnc_maps *m, double now,
			      struct bnc_flow_usage *usage, double *age_s);
void flow_watch_free(struct flow_watch *w);
/* The figures for `stats`; NULL before the first sample. */
json_t *flow_watch_json(const struct flow_watch *w, double now);

#endif /* BOUNCER_FLOW_WATCH_H */
