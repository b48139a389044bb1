// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* When a VIP's changed ring slots are clean again: see ring_clean.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bouncer_hash.h"
#include "common/log.h"
#include "common/util.h"
#include "daemon.h"
#include "ring_clean.h"
#include "ring_history.h"

/* A recorded flow of another backend than its slot's cur. */
struct stray {
	struct bnc_flow_key key;
	__u32 slot;
};

/* One VIP's ring while the flow table is read: its words, the slots that
 * hold a live recorded flow of another backend than the slot's cur, and
 * every such flow, live or idle (the strays).
 */
struct ring_scan {
	struct vip_rt *vip;
	__u32 flags, size;
	__u32 *words;
	bool *disagree;
	struct stray *strays;
	size_t nstrays, strays_cap;
};

struct table_scan {
	struct ring_scan *by_id[BNC_MAX_VIPS];
	__u32 seed;
	__u64 now_ns;
	double idle_s; /* older entries count as gone; 0: none does */
	bool strays; /* collect them: the cleaning deletes some */
};

static int stray_add(struct ring_scan *r, const struct bnc_flow_key *key, __u32 slot)
{
	struct stray *grown;

	if (r->nstrays == r->strays_cap) {
		r->strays_cap = r->strays_cap ? 2 * r->strays_cap : 64;
		grown = realloc(r->strays, r->strays_cap * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		r->strays = grown;
	}
	r->strays[r->nstrays++] = (struct stray){ .key = *key, .slot = slot };
	return 0;
}

static int scan_flow(const struct bnc_flow_key *key, const struct bnc_flow_value *value, void *arg)
{
	struct table_scan *t = arg;
	struct ring_scan *r = value->vip_id < BNC_MAX_VIPS ? t->by_id[value->vip_id] : NULL;
	__u32 slot;

	if (!r)
		return 0;
	/* The slot the datapath reads for this flow (ring_probe_first()). */
	slot = flow_hash(key, r->flags, t->seed) % r->size;
	if (bnc_ring_cur(r->words[slot]) == value->backend_id)
		return 0;
	if (t->idle_s <= 0 || bnc_flow_idle_s(value, t->now_ns) <= t->idle_s)
		r->disagree[slot] = true;
	return t->strays ? stray_add(r, key, slot) : 0;
}

static void ring_scan_free(struct ring_scan *r)
{
	free(r->words);
	free(r->disagree);
	free(r->strays);
}

/* Drops the entries of the strays whose slot is clean: the slot's cur
 * carries their flows now, live or not. Left in the table, one would
 * take a later connection on the same addresses and ports (a reused
 * port) to its old backend once the slot changes again, when the datapath
 * reads the table for it. Returns how many it dropped.
 */
static size_t drop_strays(struct daemon *d, const struct ring_scan *r)
{
	size_t dropped = 0;

	for (size_t i = 0; i < r->nstrays; i++)
		if (bnc_ring_prev(r->words[r->strays[i].slot]) == BNC_BACKEND_NONE &&
		    bnc_maps_flow_delete(d->maps, &r->strays[i].key) == 0)
			dropped++;
	return dropped;
}

/* Reads v's ring into r; -ENOENT when v has no ring in the datapath. */
static int ring_scan_load(struct daemon *d, struct vip_rt *v, struct ring_scan *r)
{
	struct bnc_vip_value value;
	int err;

	memset(r, 0, sizeof(*r));
	err = bnc_maps_vip_lookup(d->maps, &v->key, &value);
	if (err)
		return err;
	if (!value.ring_size)
		return -ENOENT;
	r->vip = v;
	r->flags = value.flags;
	r->size = value.ring_size;
	r->words = calloc(r->size, sizeof(*r->words));
	r->disagree = calloc(r->size, sizeof(*r->disagree));
	if (!r->words || !r->disagree)
		return -ENOMEM;
	return bnc_maps_ring_read(d->maps, value.vip_id, r->words, r->size);
}

/* Loads the rings of the VIPs want() picks and reads the flow table once
 * for all of them, with each ring's strays when strays is set. Returns how
 * many it loaded into rings (nvips long), or -errno.
 */
static int scan_rings(struct daemon *d, bool (*want)(const struct vip_rt *, double), double now,
		      double idle_s, bool strays, struct ring_scan *rings)
{
	struct table_scan *t = calloc(1, sizeof(*t));
	int n = 0, err = 0;

	if (!t)
		return -ENOMEM;
	t->seed = d->cfg->hash_seed;
	t->now_ns = bnc_flow_clock_ns();
	t->idle_s = idle_s;
	t->strays = strays;
	for (size_t i = 0; i < d->nvips && !err; i++) {
		struct vip_rt *v = d->vips[i];

		if (!want(v, now))
			continue;
		err = ring_scan_load(d, v, &rings[n]);
		if (err == -ENOENT) {
			ring_scan_free(&rings[n]);
			err = 0;
			continue;
		}
		if (!err && v->vip_id < BNC_MAX_VIPS)
			t->by_id[v->vip_id] = &rings[n];
		n++;
	}
	if (!err && n)
		err = bnc_maps_flow_foreach(d->maps, scan_flow, t);
	free(t);
	if (err) {
		for (int i = 0; i < n; i++)
			ring_scan_free(&rings[i]);
		return err < 0 ? err : -EIO;
	}
	return n;
}

void ring_clean_changed(struct vip_rt *v, __u32 changed, double now)
{
	/* Every swap starts the wait again: a slot it changed has flows
	 * from just before on its prev.
	 */
	if (changed)
		v->history_since = now;
	v->changed_slots = changed;
}

static bool history_due(const struct vip_rt *v, double now)
{
	const struct daemon *d = v->daemon;
	double quiet_since = v->history_since > d->ring_clean.prev_seen ? v->history_since
									: d->ring_clean.prev_seen;

	return v->changed_slots && now - quiet_since >= d->cfg->ring_history_idle;
}

static bool any_vip(const struct vip_rt *v, double now)
{
	(void)v;
	(void)now;
	return true;
}

/* Notes when the datapath last sent a packet to a previous backend. */
static void watch_miss_prev(struct daemon *d, double now)
{
	struct ring_clean *rc = &d->ring_clean;
	struct bnc_global_stats g;

	if (bnc_maps_global_stats(d->maps, &g))
		return;
	if (!rc->primed || g.counters[BNC_STAT_MISS_PREV] != rc->miss_prev)
		rc->prev_seen = now;
	rc->primed = true;
	rc->miss_prev = g.counters[BNC_STAT_MISS_PREV];
}

void ring_clean_tick(struct daemon *d, double now)
{
	struct ring_scan *rings;
	bool due = false;
	int n;

	watch_miss_prev(d, now);
	for (size_t i = 0; i < d->nvips && !due; i++)
		due = history_due(d->vips[i], now);
	if (!due)
		return;
	rings = calloc(d->nvips, sizeof(*rings));
	if (!rings)
		return;
	n = scan_rings(d, history_due, now, d->cfg->ring_history_idle, true, rings);
	if (n < 0)
		log_warnx("ring slots: cannot read the flow table to clean them: %s", strerror(-n));
	for (int i = 0; i < n; i++) {
		struct ring_scan *r = &rings[i];
		__u32 cleaned = ring_history_clean(r->words, r->disagree, r->size);
		int err =
			cleaned ? bnc_maps_ring_write(d->maps, &r->vip->key, r->words, r->size) : 0;
		size_t dropped;

		if (err)
			log_warnx("vip %s: cannot write its cleaned ring: %s", r->vip->name,
				  strerror(-err));
		else
			ring_clean_changed(r->vip, ring_history_changed(r->words, r->size), now);
		if (cleaned && !err) {
			dropped = drop_strays(d, r);
			log_info("vip %s: %u ring slots clean again (no packet to a previous "
				 "backend for %u s), %u stay changed for recorded flows; %zu "
				 "entries of other backends than their clean slot's dropped",
				 r->vip->name, cleaned, d->cfg->ring_history_idle,
				 r->vip->changed_slots, dropped);
		}
		/* Recorded flows keep these slots changed: look again later. */
		r->vip->history_since = now;
		ring_scan_free(r);
	}
	free(rings);
}

int ring_clean_adopt(struct daemon *d)
{
	struct ring_scan *rings = calloc(d->nvips + 1, sizeof(*rings));
	int n, err = 0;

	if (!rings)
		return -ENOMEM;
	/* Every entry: an idle one may still be a connection. */
	n = scan_rings(d, any_vip, 0, 0, false, rings);
	if (n < 0)
		err = n;
	for (int i = 0; i < n; i++) {
		struct ring_scan *r = &rings[i];
		__u32 marked = ring_history_mark(r->words, r->disagree, r->size);

		if (marked && !err)
			err = bnc_maps_ring_write(d->maps, &r->vip->key, r->words, r->size);
		if (marked && !err) {
			log_info("vip %s: %u ring slots hold recorded flows of another backend: "
				 "marked changed",
				 r->vip->name, marked);
			ring_clean_changed(r->vip, ring_history_changed(r->words, r->size),
					   (double)now_ms() / 1000.0);
		}
		ring_scan_free(r);
	}
	free(rings);
	return err;
}
