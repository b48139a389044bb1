// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* See flow_watch.h. */
#include <stdlib.h>
#include <string.h>

#include "flow_watch.h"
#include "common/log.h"
#include "common/util.h"

/* Seconds between samples at least; a count that took t seconds waits
 * COUNT_COST_FACTOR * t before the next, so that counting a full table of
 * millions of entries (about a second) takes at most 5% of the agent.
 */
#define PERIOD_MIN_S 10.0
#define COUNT_COST_FACTOR 20.0

/* The datapath's inserts into the flow table, from its counters. */
static unsigned long long datapath_inserts(const struct bnc_global_stats *g)
{
	return g->counters[BNC_STAT_FLOW_INSERT];
}

static void log_pressure(const struct flow_watch *w)
{
	__u32 share = w->cpu_share4 ? w->cpu_share4 : 1;

	if (w->pressure)
		log_warnx("flow table: evicting about %.0f entries/s (%.0f inserts/s); "
			  "with %u entries for each CPU, a flow idle for more than about "
			  "%.0f s loses its entry",
			  w->evictions_per_s, w->inserts_per_s, share,
			  (double)share / w->evictions_per_s);
	else
		log_info("flow table: no more evictions (%.0f inserts/s)", w->inserts_per_s);
}

void flow_watch_tick(struct flow_watch *w, struct bnc_maps *m, double now)
{
	struct bnc_global_stats g;
	struct bnc_flow_usage u;
	unsigned long long inserts, entries;
	long long evicted;
	double began, dt;
	bool was = w->pressure;

	if (w->sampled && now - w->last_at < w->period_s)
		return;
	began = (double)now_ms() / 1000.0;
	if (bnc_maps_global_stats(m, &g) || bnc_maps_flow_usage(m, &u, NULL))
		return;
	w->period_s = COUNT_COST_FACTOR * ((double)now_ms() / 1000.0 - began);
	if (w->period_s < PERIOD_MIN_S)
		w->period_s = PERIOD_MIN_S;
	inserts = datapath_inserts(&g);
	entries = u.ipv4 + u.ipv6;
	bnc_maps_flow_cpu_share(m, &w->cpu_share4, &w->cpu_share6);
	if (w->sampled && now > w->last_at && inserts >= w->last_inserts) {
		dt = now - w->last_at;
		/* Inserts that neither grew the table nor replaced what the
		 * agent deleted took the place of other flows.
		 */
		evicted = (long long)(inserts - w->last_inserts) + (long long)w->deleted -
			  ((long long)entries - (long long)w->last_entries);
		if (evicted < 0)
			evicted = 0;
		w->inserts_per_s = (double)(inserts - w->last_inserts) / dt;
		w->evictions_per_s = (double)evicted / dt;
		w->evictions += (unsigned long long)evicted;
		w->pressure = evicted > 0;
	}
	w->usage = u;
	w->sampled = true;
	w->last_at = now;
	w->last_inserts = inserts;
	w->last_entries = entries;
	w->deleted = 0;
	if (w->pressure != was)
		log_pressure(w);
}

void flow_watch_deleted(struct flow_watch *w, size_t n)
{
	w->deleted += n;
	w->count_cost_s = -1;
}

const __u32 *flow_watch_count(struct flow_watch *w, struct bnc_maps *m, double now,
			      struct bnc_flow_usage *usage, double *age_s)
{
	double began;

	if (!w->per_backend || w->count_cost_s < 0 ||
	    now - w->counted_at >= COUNT_COST_FACTOR * w->count_cost_s) {
		if (!w->per_backend)
			w->per_backend = calloc(BNC_MAX_BACKENDS, sizeof(*w->per_backend));
		if (!w->per_backend)
			return NULL;
		memset(w->per_backend, 0, BNC_MAX_BACKENDS * sizeof(*w->per_backend));
		/* now_s(), not now_ms(): a small table is counted in well
		 * under a millisecond.
		 */
		began = now_s();
		if (bnc_maps_flow_usage(m, &w->counted, w->per_backend)) {
			w->count_cost_s = -1;
			return NULL;
		}
		w->count_cost_s = now_s() - began;
		w->counted_at = now;
	}
	*usage = w->counted;
	*age_s = now - w->counted_at;
	return w->per_backend;
}

void flow_watch_free(struct flow_watch *w)
{
	free(w->per_backend);
	w->per_backend = NULL;
}

json_t *flow_watch_json(const struct flow_watch *w, double now)
{
	if (!w->sampled)
		return NULL;
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:I, s:b, s:f}", "ipv4",
			 (json_int_t)w->usage.ipv4, "ipv6", (json_int_t)w->usage.ipv6, "size_ipv4",
			 (json_int_t)w->usage.size4, "size_ipv6", (json_int_t)w->usage.size6,
			 "cpu_share_ipv4", (json_int_t)w->cpu_share4, "cpu_share_ipv6",
			 (json_int_t)w->cpu_share6, "inserts_per_s", w->inserts_per_s,
			 "evictions_per_s", w->evictions_per_s, "evictions",
			 (json_int_t)w->evictions, "evicting", w->pressure, "sampled_s_ago",
			 now - w->last_at);
}
