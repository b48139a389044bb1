// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* bouncerd's model of VIPs and backends, and keeping the maps in step with
 * it: backend states, rings, next hops. See daemon.h.
 */
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/if_link.h>
#include <netinet/in.h>

#include "common/addr.h"
#include "common/ctl.h"
#include "daemon.h"
#include "daemon_state.h"
#include "common/log.h"
#include "common/util.h"
#include "maglev.h"
#include "metrics.h"

/* Next hops are looked up again this often, in ticks of a second. */
#define NEXTHOP_REFRESH_TICKS 5

const char *daemon_datapath_state_name(__u8 state)
{
	switch (state) {
	case BNC_BACKEND_UP:
		return "up";
	case BNC_BACKEND_DRAIN:
		return "drain";
	default:
		return "down";
	}
}

const char *daemon_backend_health(const struct backend_rt *b)
{
	if (b->admin == CFG_ADMIN_MAINT || !b->health_known)
		return "unchecked";
	return b->healthy ? "up" : "down";
}

static void backend_name(const struct backend_rt *b, char *buf, size_t len)
{
	char addr[ADDR_STRLEN];

	if (b->local) {
		snprintf(buf, len, "worker/%u", b->worker_id);
		return;
	}
	addr_format(b->addr, b->family, addr, sizeof(addr));
	snprintf(buf, len, b->family == BNC_FAMILY_IPV6 ? "[%s]:%u" : "%s:%u", addr, b->port);
}

/* Backend ids: handed out round-robin, so that an id just freed (whose
 * flows may still name it) is the last to be given again.
 */
static bool backend_id_used(const struct daemon *d, __u32 id)
{
	for (size_t i = 0; i < d->nvips; i++)
		for (size_t j = 0; j < d->vips[i]->nbackends; j++)
			if (d->vips[i]->backends[j]->id == id)
				return true;
	return false;
}

static int backend_id_alloc(struct daemon *d, __u32 *id)
{
	for (__u32 n = 0; n < BNC_MAX_BACKENDS; n++) {
		__u32 cand = (d->next_backend_id + n) % BNC_MAX_BACKENDS;

		/* 0 stays unused: an all-zero entry is never a backend. */
		if (cand == 0 || backend_id_used(d, cand))
			continue;
		*id = cand;
		d->next_backend_id = cand + 1;
		return 0;
	}
	return -ENOSPC;
}

static int vip_id_alloc(const struct daemon *d, __u32 *id)
{
	for (__u32 cand = 0; cand < BNC_MAX_VIPS; cand++) {
		bool used = false;

		for (size_t i = 0; i < d->nvips && !used; i++)
			used = d->vips[i]->vip_id == cand;
		if (!used) {
			*id = cand;
			return 0;
		}
	}
	return -ENOSPC;
}

/* What the XDP program must see for b. */
static __u8 backend_datapath_state(const struct vip_rt *v, const struct backend_rt *b)
{
	if (b->admin == CFG_ADMIN_MAINT)
		return BNC_BACKEND_DOWN;
	/* Failing open never reaches a worker that does not listen. */
	if ((!v->failing_open || b->local) && !b->healthy) {
		/* A remote TCP backend that fails its checks keeps its
		 * established connections, as IPVS and HAProxy do: another
		 * backend would only reset them, and a check that timed out
		 * on a busy machine must not cost a working connection. UDP
		 * has no connection to keep: its flows move to a live one.
		 */
		if (!b->local && v->key.proto == IPPROTO_TCP)
			return BNC_BACKEND_DRAIN;
		return BNC_BACKEND_DOWN;
	}
	return b->admin == CFG_ADMIN_DRAIN ? BNC_BACKEND_DRAIN : BNC_BACKEND_UP;
}

static int backend_write(struct daemon *d, struct backend_rt *b)
{
	struct bnc_backend be = { 0 };
	int err;

	memcpy(be.addr, b->addr, sizeof(be.addr));
	be.family = b->family;
	be.port = htons(b->port);
	be.kind = b->local ? BNC_BACKEND_LOCAL : BNC_BACKEND_REMOTE;
	be.state = backend_datapath_state(b->vip, b);
	if (b->local) {
		/* Passed to the stack: sk_lookup finds the worker's socket. */
	} else if (b->nexthop_ok) {
		memcpy(be.next_hop_mac, b->nh.dmac, sizeof(be.next_hop_mac));
		memcpy(be.src_mac, b->nh.smac, sizeof(be.src_mac));
		be.ifindex = b->nh.ifindex;
		be.mtu = b->nh.mtu;
	} else {
		/* Until the agent knows the next hop, the datapath asks the
		 * FIB on every packet: slower, but it forwards.
		 */
		be.flags = BNC_BACKEND_F_FIB;
	}
	err = bnc_maps_backend_set(d->maps, b->id, &be);
	if (err) {
		log_warnx("backend id %u: cannot write the backends map: %s", b->id,
			  strerror(-err));
		return err;
	}
	b->datapath_state = be.state;
	return 0;
}

static bool nexthop_equal(const struct nexthop *a, const struct nexthop *b)
{
	return memcmp(a->dmac, b->dmac, sizeof(a->dmac)) == 0 &&
	       memcmp(a->smac, b->smac, sizeof(a->smac)) == 0 && a->ifindex == b->ifindex &&
	       a->mtu == b->mtu;
}

/* Looks up b's next hop; true when it changed. */
static bool backend_resolve(struct backend_rt *b)
{
	struct nexthop nh;
	char name[64];
	int err;

	if (b->local)
		return false;
	err = nexthop_resolve(b->addr, b->family, &nh);
	if (err == -EAGAIN)
		nexthop_solicit(b->addr, b->family);
	if (err) {
		bool was = b->nexthop_ok;

		if (was) {
			backend_name(b, name, sizeof(name));
			log_warnx("vip %s backend %s: next hop lost (%s): using FIB lookups",
				  b->vip->name, name, strerror(-err));
		}
		b->nexthop_ok = false;
		return was;
	}
	if (b->nexthop_ok && nexthop_equal(&nh, &b->nh))
		return false;
	b->nh = nh;
	b->nexthop_ok = true;
	return true;
}

static int vip_write(struct daemon *d, struct vip_rt *v)
{
	struct bnc_vip_value value = {
		.vip_id = v->vip_id,
		.flags = v->sticky ? BNC_VIP_F_HASH_SRC_ONLY : 0,
		.forwarding = v->forwarding,
	};
	struct bnc_vip_value old;

	/* The ring swap sets ring_size; keep the one in place meanwhile. */
	if (bnc_maps_vip_lookup(d->maps, &v->key, &old) == 0)
		value.ring_size = old.ring_size;
	return bnc_maps_vip_add(d->maps, &v->key, &value);
}

/* b as the ring's build names it. A local worker's addr is zero and its
 * port worker_id + 1 (daemon_local_backend_add()): the ring, and its
 * digest, name it by its worker id.
 */
static void backend_maglev(const struct backend_rt *b, struct maglev_backend *mb)
{
	memset(mb, 0, sizeof(*mb));
	memcpy(mb->addr, b->addr, sizeof(mb->addr));
	mb->family = b->family;
	mb->port = htons(b->port);
	mb->weight = b->weight;
	mb->id = b->id;
}

/* Whether any packet reached v: until one has, no flow can depend on what
 * its ring said, and a new ring needs no history (so hosts whose backends
 * came up in another order before any traffic have the same clean rings).
 */
static bool vip_carried_traffic(struct daemon *d, const struct vip_rt *v)
{
	struct bnc_traffic t;

	return bnc_maps_vip_stats(d->maps, v->vip_id, &t) || t.packets > 0;
}

/* Builds v's ring from the backends that take new flows and swaps it in. */
static int vip_rebuild_ring(struct daemon *d, struct vip_rt *v)
{
	struct maglev_backend *mb = calloc(v->nbackends + 1, sizeof(*mb));
	__u32 *ring = calloc(v->ring_size, sizeof(*ring));
	__u32 changed = 0;
	size_t n = 0;
	int err = -ENOMEM;

	if (!mb || !ring)
		goto cleanup;
	for (size_t i = 0; i < v->nbackends; i++) {
		struct backend_rt *b = v->backends[i];

		if (backend_datapath_state(v, b) != BNC_BACKEND_UP || !b->weight)
			continue;
		backend_maglev(b, &mb[n++]);
	}
	err = maglev_build(mb, n, v->ring_size, ring);
	if (err) {
		log_warnx("vip %s: cannot build the ring: %s", v->name, strerror(-err));
		goto cleanup;
	}
	err = bnc_maps_ring_swap_history(d->maps, &v->key, ring, v->ring_size,
					 vip_carried_traffic(d, v), &changed);
	if (err) {
		log_warnx("vip %s: cannot swap the ring in: %s", v->name, strerror(-err));
		goto cleanup;
	}
	ring_clean_changed(v, changed, (double)now_ms() / 1000.0);
	v->ring_backends = (__u32)n;
	v->moved = v->ring ? (__u32)maglev_count_moved(v->ring, ring, v->ring_size) : v->ring_size;
	if (v->ring && v->moved)
		log_info("vip %s: ring rebuilt for %zu backends, %u of %u slots moved", v->name, n,
			 v->moved, v->ring_size);
	free(v->ring);
	v->ring = ring;
	ring = NULL;
	v->rebuilt = time(NULL);
cleanup:
	free(mb);
	free(ring);
	return err;
}

int daemon_ring_digest(const struct vip_rt *v, __u32 seed, __u64 *out)
{
	struct maglev_backend *mb = calloc(v->nbackends + 1, sizeof(*mb));
	int err;

	if (!mb)
		return -ENOMEM;
	for (size_t i = 0; i < v->nbackends; i++)
		backend_maglev(v->backends[i], &mb[i]);
	err = maglev_digest(seed, v->ring, v->ring_size, mb, v->nbackends, out);
	free(mb);
	return err;
}

/* Brings the maps in line with v's backends after any change: fail-open,
 * each backend's state, then the ring (states first, so the new ring never
 * names a backend the datapath still sees as down).
 */
int daemon_vip_apply(struct daemon *d, struct vip_rt *v)
{
	bool any_ready = false, any_candidate = false, all_known = true, was = v->failing_open;
	int err = 0;

	for (size_t i = 0; i < v->nbackends; i++) {
		const struct backend_rt *b = v->backends[i];

		if (b->admin == CFG_ADMIN_MAINT)
			continue;
		if (b->admin == CFG_ADMIN_READY && b->healthy)
			any_ready = true;
		/* A listening worker counts as healthy; a silent one is no
		 * candidate to fail open to.
		 */
		if (b->local)
			continue;
		any_candidate = true;
		all_known = all_known && b->health_known;
	}
	/* Only checks that have failed open the VIP: right after a start,
	 * a backend is down until its first success, not failed.
	 */
	v->failing_open = v->fail_open && !any_ready && any_candidate && all_known;
	if (v->failing_open && !was) {
		d->fail_open_events++;
		log_warnx("vip %s: no healthy backend: failing open to every backend not in "
			  "maintenance",
			  v->name);
	} else if (!v->failing_open && was) {
		log_info("vip %s: a backend is healthy again: no longer failing open", v->name);
	}
	for (size_t i = 0; i < v->nbackends && !err; i++)
		err = backend_write(d, v->backends[i]);
	if (!err)
		err = vip_rebuild_ring(d, v);
	if (!err) {
		daemon_announce_sync(d);
		daemon_state_save(d);
	}
	return err;
}

static void on_health_change(struct health_check *hc, bool up, const char *reason, void *arg)
{
	struct backend_rt *b = arg;
	struct daemon *d = b->vip->daemon;
	char name[64];

	(void)hc;
	backend_name(b, name, sizeof(name));
	b->health_known = true;
	if (b->healthy == up)
		return;
	b->healthy = up;
	log_info("vip %s backend %s: %s (%s)", b->vip->name, name, up ? "up" : "down",
		 reason ? reason : "");
	if (up)
		backend_resolve(b);
	daemon_vip_apply(d, b->vip);
}

static void backend_check_stop(struct backend_rt *b)
{
	if (b->hc)
		health_check_stop(b->hc);
	b->hc = NULL;
}

static int backend_check_start(struct daemon *d, struct backend_rt *b)
{
	struct health_target t = { .family = b->family, .port = b->port };
	char name[64];

	backend_check_stop(b);
	if (b->admin == CFG_ADMIN_MAINT)
		return 0;
	memcpy(t.addr, b->addr, sizeof(t.addr));
	b->hc = health_check_start(d->base, &t, &b->check, on_health_change, b);
	if (!b->hc) {
		backend_name(b, name, sizeof(name));
		log_warn("vip %s backend %s: cannot start its health check", b->vip->name, name);
		return -errno;
	}
	return 0;
}

static void backend_free(struct backend_rt *b)
{
	if (!b)
		return;
	backend_check_stop(b);
	cfg_check_free(&b->check);
	free(b);
}

static void vip_free(struct vip_rt *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->nbackends; i++)
		backend_free(v->backends[i]);
	free(v->backends);
	cfg_workers_free(v->workers);
	cfg_workers_free(v->workers_next);
	free(v->workers_last_reload);
	cfg_check_free(&v->check);
	free(v->ring);
	free(v->name);
	free(v);
}

struct vip_rt *daemon_vip_find(struct daemon *d, const char *name)
{
	for (size_t i = 0; i < d->nvips; i++)
		if (strcmp(d->vips[i]->name, name) == 0)
			return d->vips[i];
	return NULL;
}

struct backend_rt *daemon_backend_find(struct vip_rt *v, const __be32 addr[4], __u8 family,
				       __u16 port)
{
	for (size_t i = 0; i < v->nbackends; i++) {
		struct backend_rt *b = v->backends[i];

		if (b->family == family && b->port == port &&
		    memcmp(b->addr, addr, sizeof(b->addr)) == 0)
			return b;
	}
	return NULL;
}

static struct vip_rt *vip_find_key(struct daemon *d, const struct bnc_vip_key *key)
{
	for (size_t i = 0; i < d->nvips; i++)
		if (memcmp(&d->vips[i]->key, key, sizeof(*key)) == 0)
			return d->vips[i];
	return NULL;
}

/* Gives b its id, the one the state file saved for it (with its states)
 * after a restart, else a free one, and appends it to v. b is the
 * caller's to free on error.
 */
static int backend_place(struct daemon *d, struct vip_rt *v, struct backend_rt *b)
{
	const struct saved_backend *saved =
		daemon_state_backend(d, v->name, b->addr, b->family, b->port);
	struct backend_rt **grown;
	int ret;

	if (saved && !backend_id_used(d, saved->id)) {
		/* Added at run time before, listed in the config file now:
		 * the file's entry takes over, weight and state too.
		 */
		bool file_took_over = saved->added && !b->added;

		b->id = saved->id;
		/* A run-time setting the previous agent had stays while the
		 * config file's value is the one it was made against; a file
		 * of an older agent gives the admin state only.
		 */
		if (!file_took_over && (!saved->has_config || saved->cfg_admin == b->cfg_admin))
			b->admin = saved->admin;
		if (!file_took_over && saved->has_config && saved->cfg_weight == b->cfg_weight)
			b->weight = saved->weight;
		b->healthy = saved->healthy;
		b->health_known = saved->health_known;
	} else if ((ret = backend_id_alloc(d, &b->id))) {
		return ret;
	}
	grown = realloc(v->backends, (v->nbackends + 1) * sizeof(struct backend_rt *));
	if (!grown)
		return -ENOMEM;
	v->backends = grown;
	v->backends[v->nbackends++] = b;
	return 0;
}

/* Adds the backend cb to v: id (the saved one after a restart), map
 * entry, check. file is the config file's entry for it (its weight and
 * state are the config values; cb's may be run-time settings), NULL for a
 * backend added at run time.
 */
static int backend_attach(struct daemon *d, struct vip_rt *v, const struct cfg_backend *cb,
			  const struct cfg_backend *file, char *err, size_t errlen)
{
	struct backend_rt *b = calloc(1, sizeof(*b));
	int ret;

	if (!b)
		return -ENOMEM;
	b->vip = v;
	memcpy(b->addr, cb->addr, sizeof(b->addr));
	b->family = cb->family;
	b->port = cb->port;
	b->weight = cb->weight;
	b->admin = cb->admin;
	b->added = !file;
	b->cfg_weight = file ? file->weight : cb->weight;
	b->cfg_admin = file ? file->admin : cb->admin;
	cfg_check_copy(&b->check, file ? &file->check : &cb->check);
	b->healthy = b->check.type == CFG_CHECK_NONE;
	b->health_known = b->healthy;
	ret = backend_place(d, v, b);
	if (ret) {
		if (ret == -ENOSPC)
			snprintf(err, errlen, "no free backend id (at most %d backends)",
				 BNC_MAX_BACKENDS);
		backend_free(b);
		return ret;
	}
	backend_resolve(b);
	ret = backend_write(d, b);
	if (!ret)
		ret = backend_check_start(d, b);
	return ret;
}

struct backend_rt *daemon_local_backend_find(struct vip_rt *v, unsigned int worker_id)
{
	for (size_t i = 0; i < v->nbackends; i++)
		if (v->backends[i]->local && v->backends[i]->worker_id == worker_id)
			return v->backends[i];
	return NULL;
}

/* A backend for worker_id, down until the worker listens, or as the
 * previous agent left it: its workers may be serving still, and are
 * adopted.
 */
int daemon_local_backend_add(struct daemon *d, struct vip_rt *v, unsigned int worker_id)
{
	struct backend_rt *b = calloc(1, sizeof(*b));
	int ret;

	if (!b)
		return -ENOMEM;
	b->vip = v;
	b->local = true;
	b->worker_id = worker_id;
	b->family = v->key.family;
	b->port = (__u16)(worker_id + 1);
	b->weight = b->cfg_weight = 1;
	b->admin = b->cfg_admin = CFG_ADMIN_READY;
	b->worker_state = WORKER_STARTING;
	ret = backend_place(d, v, b);
	if (ret) {
		free(b);
		return ret;
	}
	return backend_write(d, b);
}

/* cv's entry for the backend at addr, family, port; NULL when cv does not
 * list it.
 */
static const struct cfg_backend *cfg_vip_backend(const struct cfg_vip *cv, const __be32 addr[4],
						 __u8 family, __u16 port)
{
	for (size_t i = 0; i < cv->nbackends; i++) {
		const struct cfg_backend *cb = &cv->backends[i];

		if (cb->family == family && cb->port == port &&
		    memcmp(cb->addr, addr, sizeof(cb->addr)) == 0)
			return cb;
	}
	return NULL;
}

/* The config file's entry for the backend at addr, family, port of v;
 * NULL when the file does not list it (or v was added at run time).
 */
static const struct cfg_backend *backend_in_file(struct daemon *d, const struct vip_rt *v,
						 const __be32 addr[4], __u8 family, __u16 port)
{
	const struct cfg_vip *cv = v->added ? NULL : cfg_vip_find(d->cfg, v->name);

	return cv ? cfg_vip_backend(cv, addr, family, port) : NULL;
}

int daemon_backend_add(struct daemon *d, struct vip_rt *v, const struct cfg_backend *cb, char *err,
		       size_t errlen)
{
	int ret;

	if (daemon_backend_find(v, cb->addr, cb->family, cb->port)) {
		snprintf(err, errlen, "vip %s has this backend already", v->name);
		return -EEXIST;
	}
	removed_forget_backend(&d->removed, v->name, cb->addr, cb->family, cb->port);
	ret = backend_attach(d, v, cb, backend_in_file(d, v, cb->addr, cb->family, cb->port), err,
			     errlen);
	if (!ret)
		ret = daemon_vip_apply(d, v);
	return ret;
}

int daemon_backend_del(struct daemon *d, struct backend_rt *b)
{
	struct vip_rt *v = b->vip;
	struct bnc_backend gone = { .state = BNC_BACKEND_DOWN };
	size_t i;

	for (i = 0; i < v->nbackends && v->backends[i] != b; i++)
		;
	if (i == v->nbackends)
		return -ENOENT;
	for (; i + 1 < v->nbackends; i++)
		v->backends[i] = v->backends[i + 1];
	v->nbackends--;
	/* The ring goes first, then the entry: flows that still name the id
	 * see a down backend and are re-picked.
	 */
	daemon_vip_apply(d, v);
	bnc_maps_backend_set(d->maps, b->id, &gone);
	if (b->local)
		bnc_maps_worker_clear(d->maps, b->id);
	backend_free(b);
	daemon_state_save(d);
	return 0;
}

int daemon_backend_remove_at_run_time(struct daemon *d, struct backend_rt *b)
{
	struct removed_item it = { .vip = b->vip->name,
				   .key = b->vip->key,
				   .is_backend = true,
				   .family = b->family,
				   .port = b->port,
				   .cfg_weight = b->cfg_weight,
				   .cfg_admin = b->cfg_admin };
	int ret;

	memcpy(it.addr, b->addr, sizeof(it.addr));
	if (!b->added && !b->vip->added) {
		ret = removed_add(&d->removed, &it);
		if (ret)
			return ret;
	}
	return daemon_backend_del(d, b);
}

/* Changes b's admin state, its check with it; the ring is not rebuilt. */
static bool backend_admin_change(struct daemon *d, struct backend_rt *b, enum cfg_admin admin)
{
	char name[64];

	if (b->admin == admin)
		return false;
	backend_name(b, name, sizeof(name));
	log_info("vip %s backend %s: %s -> %s", b->vip->name, name, cfg_admin_name(b->admin),
		 cfg_admin_name(admin));
	b->admin = admin;
	if (admin == CFG_ADMIN_MAINT) {
		backend_check_stop(b);
		b->health_known = false;
		b->healthy = b->check.type == CFG_CHECK_NONE;
	} else if (!b->hc) {
		backend_check_start(d, b);
	}
	return true;
}

int daemon_backend_set_admin(struct daemon *d, struct backend_rt *b, enum cfg_admin admin)
{
	if (!backend_admin_change(d, b, admin))
		return 0;
	return daemon_vip_apply(d, b->vip);
}

int daemon_backend_set_weight(struct daemon *d, struct backend_rt *b, __u32 weight)
{
	if (b->weight == weight)
		return 0;
	b->weight = weight;
	return daemon_vip_apply(d, b->vip);
}

/* After a restart: the backends the previous agent had added to v at run
 * time, with their ids and states, unless the config file lists them now
 * (then they are attached already, as the file's).
 */
static int vip_restore_added_backends(struct daemon *d, struct vip_rt *v, char *err, size_t errlen)
{
	const struct saved_vip *saved = daemon_state_vip(d, v->name);
	int ret = 0;

	if (!saved || memcmp(&saved->key, &v->key, sizeof(v->key)))
		return 0;
	for (size_t i = 0; i < saved->nbackends && !ret; i++) {
		const struct saved_backend *sb = &saved->backends[i];
		struct cfg_backend cb = { .family = sb->family,
					  .port = sb->port,
					  .weight = sb->cfg_weight,
					  .admin = sb->cfg_admin,
					  .check = v->check };

		if (!sb->added || daemon_backend_find(v, sb->addr, sb->family, sb->port))
			continue;
		memcpy(cb.addr, sb->addr, sizeof(cb.addr));
		ret = backend_attach(d, v, &cb, NULL, err, errlen);
	}
	return ret;
}

/* Creates v from cv, writes it and its backends, starts their checks. A
 * VIP of the config file leaves out the backends removed at run time.
 */
static int vip_attach(struct daemon *d, const struct cfg_vip *cv, bool added, char *err,
		      size_t errlen)
{
	struct vip_rt *v = calloc(1, sizeof(*v)), **grown;
	const struct saved_vip *saved;
	int ret = -ENOMEM;

	if (!v)
		return -ENOMEM;
	v->daemon = d;
	v->added = added;
	v->name = strdup(cv->name);
	if (!v->name)
		goto fail;
	cfg_vip_key(cv, &v->key);
	v->forwarding = cv->forwarding;
	v->ring_size = cv->ring_size;
	v->sticky = cv->sticky;
	v->fail_open = cv->fail_open;
	cfg_check_copy(&v->check, &cv->check);
	saved = daemon_state_vip(d, cv->name);
	if (saved && memcmp(&saved->key, &v->key, sizeof(v->key)) == 0) {
		v->vip_id = saved->vip_id;
	} else if ((ret = vip_id_alloc(d, &v->vip_id))) {
		snprintf(err, errlen, "no free VIP id (at most %d VIPs)", BNC_MAX_VIPS);
		goto fail;
	}
	grown = realloc(d->vips, (d->nvips + 1) * sizeof(struct vip_rt *));
	if (!grown)
		goto fail;
	d->vips = grown;
	d->vips[d->nvips++] = v;
	ret = vip_write(d, v);
	if (ret) {
		snprintf(err, errlen, "vip %s: cannot write the vips map: %s", v->name,
			 strerror(-ret));
		return ret;
	}
	for (size_t i = 0; i < cv->nbackends && !ret; i++) {
		const struct cfg_backend *cb = &cv->backends[i];

		if (!added && removed_has_backend(&d->removed, cv, cb))
			continue;
		ret = backend_attach(d, v, cb, added ? NULL : cb, err, errlen);
	}
	if (!ret)
		ret = vip_restore_added_backends(d, v, err, errlen);
	if (!ret && cv->workers)
		ret = daemon_workers_start(d, v, cv->workers, err, errlen);
	if (!ret)
		ret = daemon_vip_apply(d, v);
	return ret;
fail:
	vip_free(v);
	return ret;
}

/* Takes d->vips[i] out of the model and the maps, and frees it: its
 * workers first, then its entry and ring, then its backends' entries.
 */
static void vip_remove(struct daemon *d, size_t i)
{
	struct bnc_backend gone = { .state = BNC_BACKEND_DOWN };
	struct vip_rt *v = d->vips[i];
	int err;

	daemon_workers_stop(d, v, false);
	err = bnc_maps_vip_del(d->maps, &v->key);
	if (err && err != -ENOENT)
		log_warnx("vip %s: cannot remove it from the maps: %s", v->name, strerror(-err));
	for (size_t j = 0; j < v->nbackends; j++) {
		bnc_maps_backend_set(d->maps, v->backends[j]->id, &gone);
		if (v->backends[j]->local)
			bnc_maps_worker_clear(d->maps, v->backends[j]->id);
	}
	for (; i + 1 < d->nvips; i++)
		d->vips[i] = d->vips[i + 1];
	d->nvips--;
	log_info("vip %s removed", v->name);
	vip_free(v);
	daemon_announce_sync(d);
	daemon_state_save(d);
}

int daemon_vip_add(struct daemon *d, const struct cfg_vip *cv, bool added, char *err, size_t errlen)
{
	struct bnc_vip_key key;
	int ret;

	cfg_vip_key(cv, &key);
	if (daemon_vip_find(d, cv->name) || vip_find_key(d, &key)) {
		snprintf(err, errlen,
			 "a VIP named %s or with this address, port and protocol exists", cv->name);
		return -EEXIST;
	}
	if (added)
		removed_forget_vip(&d->removed, cv->name);
	ret = vip_attach(d, cv, added, err, errlen);
	if (!ret)
		return 0;
	/* Nothing of a failed add stays: vip_attach() leaves the VIP in
	 * the model, and what it wrote in the maps, once it got that far.
	 */
	for (size_t i = 0; i < d->nvips; i++) {
		if (strcmp(d->vips[i]->name, cv->name) == 0) {
			log_warnx("vip %s: not added: %s", cv->name, err[0] ? err : strerror(-ret));
			vip_remove(d, i);
			break;
		}
	}
	return ret;
}

int daemon_vip_del(struct daemon *d, struct vip_rt *v)
{
	for (size_t i = 0; i < d->nvips; i++) {
		if (d->vips[i] == v) {
			vip_remove(d, i);
			return 0;
		}
	}
	return -ENOENT;
}

int daemon_vip_remove_at_run_time(struct daemon *d, struct vip_rt *v)
{
	struct removed_item it = { .vip = v->name, .key = v->key };
	int ret;

	if (!v->added) {
		ret = removed_add(&d->removed, &it);
		if (ret)
			return ret;
	}
	return daemon_vip_del(d, v);
}

/* After a restart: the VIPs the previous agent had added at run time,
 * unless the config file has one of the name or address now (the file's
 * wins).
 */
static int vips_restore_added(struct daemon *d, char *err, size_t errlen)
{
	int ret = 0;

	for (size_t i = 0; d->saved && i < d->saved->nvips && !ret; i++) {
		const struct saved_vip *sv = &d->saved->vips[i];
		struct cfg_vip cv;

		if (!sv->added)
			continue;
		if (daemon_vip_find(d, sv->name) || vip_find_key(d, &sv->key)) {
			log_warnx("vip %s, added at run time, is left out: the config file has a "
				  "VIP of its name or address now",
				  sv->name);
			continue;
		}
		err[0] = '\0';
		ret = daemon_state_vip_cfg(sv, &cv, err, errlen);
		if (!ret)
			ret = daemon_vip_add(d, &cv, true, err, errlen);
		cfg_vip_release(&cv);
		/* The config file's VIPs are up: one the agent cannot make
		 * again is said, not a reason to stop.
		 */
		if (ret && ret != -ENOMEM) {
			log_warnx("vip %s, added at run time, cannot be set up again: %s", sv->name,
				  err[0] ? err : strerror(-ret));
			ret = 0;
		}
	}
	return ret;
}

/* At start: the config file's VIPs but those removed at run time, then
 * those added at run time.
 */
int daemon_vips_attach(struct daemon *d, const struct cfg *c, char *err, size_t errlen)
{
	int ret = 0;

	removed_prune(&d->removed, c);
	for (size_t i = 0; i < c->nvips && !ret; i++)
		if (!removed_has_vip(&d->removed, &c->vips[i]))
			ret = vip_attach(d, &c->vips[i], false, err, errlen);
	if (!ret)
		ret = vips_restore_added(d, err, errlen);
	return ret;
}

void daemon_vips_free(struct daemon *d)
{
	/* Workers first, while the model they update is whole. */
	for (size_t i = 0; i < d->nvips; i++)
		daemon_workers_stop(d, d->vips[i], true);
	for (size_t i = 0; i < d->nvips; i++)
		vip_free(d->vips[i]);
	free(d->vips);
	d->vips = NULL;
	d->nvips = 0;
}

/* Removes v's backends that cv no longer lists: picked first, removed
 * after, since each removal reshuffles v->backends.
 */
static int vip_drop_backends_not_in(struct daemon *d, struct vip_rt *v, const struct cfg_vip *cv,
				    unsigned int *removed)
{
	struct backend_rt **gone = calloc(v->nbackends + 1, sizeof(struct backend_rt *));
	size_t n = 0;

	if (!gone)
		return -ENOMEM;
	/* Local backends come and go with the workers block; those added
	 * at run time stay.
	 */
	for (size_t i = 0; i < v->nbackends; i++) {
		struct backend_rt *b = v->backends[i];

		if (!b->local && !b->added && !cfg_vip_backend(cv, b->addr, b->family, b->port))
			gone[n++] = b;
	}
	for (size_t i = 0; i < n; i++)
		daemon_backend_del(d, gone[i]);
	*removed += n;
	free(gone);
	return 0;
}

/* Applies the difference between v and cv (same name and key): VIP
 * settings, then backends removed, changed and added. The old config is
 * old_cv, to tell a setting the file changed from one changed at run time
 * (bouncerctl), which the reload keeps.
 */
int daemon_vip_reconfigure(struct daemon *d, struct vip_rt *v, const struct cfg_vip *cv,
			   struct reload_summary *sum, char *err, size_t errlen)
{
	bool vip_changed = v->forwarding != cv->forwarding || v->ring_size != cv->ring_size ||
			   v->sticky != cv->sticky || v->fail_open != cv->fail_open;
	int ret = 0;

	if (vip_changed) {
		v->forwarding = cv->forwarding;
		v->ring_size = cv->ring_size;
		v->sticky = cv->sticky;
		v->fail_open = cv->fail_open;
		ret = vip_write(d, v);
		if (ret) {
			snprintf(err, errlen, "vip %s: cannot update the vips map", v->name);
			return ret;
		}
	}
	if (!cfg_check_equal(&v->check, &cv->check)) {
		vip_changed = true;
		cfg_check_free(&v->check);
		cfg_check_copy(&v->check, &cv->check);
	}
	ret = daemon_workers_reconfigure(d, v, cv->workers, &vip_changed, err, errlen);
	if (ret)
		return ret;
	sum->vips_changed += vip_changed;
	ret = vip_drop_backends_not_in(d, v, cv, &sum->backends_removed);
	for (size_t i = 0; i < cv->nbackends && !ret; i++) {
		const struct cfg_backend *cb = &cv->backends[i];
		struct backend_rt *b = daemon_backend_find(v, cb->addr, cb->family, cb->port);
		bool changed = false, file_took_over;

		if (!b && removed_has_backend(&d->removed, cv, cb))
			continue;
		if (!b) {
			sum->backends_added++;
			ret = backend_attach(d, v, cb, cb, err, errlen);
			continue;
		}
		/* One added at run time that the file lists now is the
		 * file's, weight and state too.
		 */
		file_took_over = b->added;
		b->added = false;
		/* A run-time weight or admin state stays until the config
		 * file's value for it changes (see bouncerd(8), RELOAD).
		 */
		if (file_took_over || b->cfg_weight != cb->weight) {
			changed = b->weight != cb->weight;
			b->weight = b->cfg_weight = cb->weight;
		}
		if (file_took_over || b->cfg_admin != cb->admin) {
			b->cfg_admin = cb->admin;
			changed |= backend_admin_change(d, b, cb->admin);
		}
		if (!cfg_check_equal(&b->check, &cb->check)) {
			cfg_check_free(&b->check);
			cfg_check_copy(&b->check, &cb->check);
			if (b->admin != CFG_ADMIN_MAINT)
				backend_check_start(d, b);
			changed = true;
		}
		sum->backends_changed += changed;
	}
	if (!ret)
		ret = daemon_vip_apply(d, v);
	return ret;
}

static void traffic_rate(const struct bnc_traffic *now, struct bnc_traffic *last, double dt,
			 double *pps, double *bps, double *fps)
{
	/* Counters only grow; a reset (another agent zeroed them) reads as
	 * no traffic rather than a negative rate.
	 */
	*pps = now->packets >= last->packets ? (double)(now->packets - last->packets) / dt : 0;
	*bps = now->bytes >= last->bytes ? 8.0 * (double)(now->bytes - last->bytes) / dt : 0;
	*fps = now->flows >= last->flows ? (double)(now->flows - last->flows) / dt : 0;
	*last = *now;
}

/* A check reports changes only, and a backend starts down: one that has
 * failed from the start is never reported. Once it has failed fall times it
 * counts as known down, which fail-open waits for.
 */
static void backend_settle(struct backend_rt *b, bool *apply)
{
	struct health_check_stats hs;

	if (!b->hc || b->health_known)
		return;
	health_check_get_stats(b->hc, &hs);
	if (!hs.up && hs.failures >= b->check.fall) {
		b->health_known = true;
		*apply = true;
	}
}

void daemon_refresh(struct daemon *d, bool nexthops)
{
	struct bnc_traffic t;

	for (size_t i = 0; i < d->nvips; i++) {
		struct vip_rt *v = d->vips[i];
		bool moved = false, apply = false;

		if (bnc_maps_vip_stats(d->maps, v->vip_id, &t) == 0)
			traffic_rate(&t, &v->last, 1.0, &v->pps, &v->bps, &v->fps);
		for (size_t j = 0; j < v->nbackends; j++) {
			struct backend_rt *b = v->backends[j];

			if (bnc_maps_backend_stats(d->maps, b->id, &t) == 0)
				traffic_rate(&t, &b->last, 1.0, &b->pps, &b->bps, &b->fps);
			if (nexthops && backend_resolve(b)) {
				backend_write(d, b);
				moved = true;
			}
			backend_settle(b, &apply);
		}
		if (apply)
			daemon_vip_apply(d, v);
		if (moved)
			log_debug("vip %s: next hops refreshed", v->name);
	}
}
