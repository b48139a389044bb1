// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Starting over pinned maps of any layout version this build knows, and
 * converting them down for an older agent; see migrate.h.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bouncer_abi.h"
#include "common/log.h"
#include "migrate.h"
#include "migrate_copy.h"

enum plan_action {
	PLAN_ADOPT, /* pinned, same layout: libbpf reuses the pin */
	PLAN_CREATE, /* not pinned yet: created and pinned by the load */
	PLAN_CONVERT, /* pinned, other layout: copied into a new map */
	PLAN_EMPTY, /* pinned, other layout, no conversion: a new map */
	PLAN_DROP, /* pinned, and no map of this build: the pin goes */
	PLAN_META, /* the meta map: written, then pinned, last */
};

struct map_plan {
	char name[BPF_OBJ_NAME_LEN];
	struct bpf_map *map; /* NULL for PLAN_DROP */
	enum plan_action action;
	/* PLAN_EMPTY by a MAP_CLEARED record: nothing was meant to carry
	 * over.
	 */
	bool cleared;
	struct migrate_chain chain;
	struct map_copy copy;
};

struct migration {
	char pin_dir[PATH_MAX];
	unsigned int from; /* the pinned version; 0: nothing pinned */
	struct migrate_ctx ctx;
	struct map_plan *plans;
	size_t nplans;
	double copy_ms; /* the first copy, while the old programs run */
};

/* Maps of counters that the datapath adds to. */
static bool is_counters(const char *map)
{
	return strcmp(map, "global_stats") == 0 || strcmp(map, "vip_stats") == 0 ||
	       strcmp(map, "backend_stats") == 0;
}

static __u64 coarse_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

static int pin_path(char *buf, size_t len, const char *dir, const char *name, const char *suffix)
{
	if (snprintf(buf, len, "%s/%s%s", dir, name, suffix) >= (int)len)
		return -ENAMETOOLONG;
	return 0;
}

int migration_pinned_version(const char *pin_dir, unsigned int *version)
{
	struct bnc_meta meta;
	char path[PATH_MAX];
	__u32 zero = 0;
	int fd, err = 0;

	err = pin_path(path, sizeof(path), pin_dir, "meta", "");
	if (err)
		return err;
	fd = bpf_obj_get(path);
	if (fd < 0) {
		if (errno != ENOENT)
			return -errno;
		/* The first layout had no meta map. */
		err = pin_path(path, sizeof(path), pin_dir, "vips", "");
		if (err)
			return err;
		*version = access(path, F_OK) == 0 ? 1 : 0;
		return 0;
	}
	if (bpf_map_lookup_elem(fd, &zero, &meta))
		err = -errno;
	else if (meta.abi_version == 0)
		err = -EBADMSG;
	else
		*version = meta.abi_version;
	close(fd);
	return err;
}

/* Whether fd is a map: a pin may also be a link or a program, whose info
 * bpf_obj_get_info_by_fd() returns just as well.
 */
static bool is_map_fd(int fd)
{
	char link[64], target[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return false;
	target[n] = '\0';
	return strcmp(target, "anon_inode:bpf-map") == 0;
}

static int map_layout_of_fd(int fd, struct map_layout *l)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);

	if (!is_map_fd(fd))
		return -EBADF;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	l->type = info.type;
	l->key_size = info.key_size;
	l->value_size = info.value_size;
	l->max_entries = info.max_entries;
	l->map_flags = info.map_flags;
	return 0;
}

static void map_layout_of(const struct bpf_map *map, struct map_layout *l)
{
	l->type = bpf_map__type(map);
	l->key_size = bpf_map__key_size(map);
	l->value_size = bpf_map__value_size(map);
	l->max_entries = bpf_map__max_entries(map);
	l->map_flags = bpf_map__map_flags(map);
}

static bool same_layout(const struct map_layout *a, const struct map_layout *b)
{
	return a->type == b->type && a->key_size == b->key_size && a->value_size == b->value_size &&
	       a->max_entries == b->max_entries && a->map_flags == b->map_flags;
}

/* A map of maps: whether its inner maps (the rings) have the layout of
 * map's inner map. libbpf compares only the outer map when it reuses a
 * pin, and a program verified against another inner layout would read
 * the wrong slots.
 */
static bool same_inner(const struct bpf_map *map, int fd, __u32 max_entries)
{
	const struct bpf_map *inner = bpf_map__inner_map((struct bpf_map *)map);
	struct map_layout have = { 0 };
	__u32 id;
	int ifd, err;

	if (!inner)
		return true;
	for (__u32 i = 0; i < max_entries; i++) {
		if (bpf_map_lookup_elem(fd, &i, &id))
			continue;
		ifd = bpf_map_get_fd_by_id(id);
		if (ifd < 0)
			continue;
		err = map_layout_of_fd(ifd, &have);
		close(ifd);
		return !err && have.type == bpf_map__type(inner) &&
		       have.key_size == bpf_map__key_size(inner) &&
		       have.value_size == bpf_map__value_size(inner);
	}
	return true;
}

static struct map_plan *plan_add(struct migration *mg, const char *name)
{
	struct map_plan *p = realloc(mg->plans, (mg->nplans + 1) * sizeof(*p));

	if (!p)
		return NULL;
	mg->plans = p;
	p = &mg->plans[mg->nplans++];
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->copy.old_fd = -1;
	p->copy.new_fd = -1;
	return p;
}

static int plan_map(struct migration *mg, struct bpf_map *map)
{
	const char *name = bpf_map__name(map);
	struct map_plan *p = plan_add(mg, name);
	char path[PATH_MAX];
	struct map_layout *old, *new;
	__u32 ks, vs;
	int fd, err;

	if (!p)
		return -ENOMEM;
	p->map = map;
	if (strcmp(name, "meta") == 0) {
		p->action = PLAN_META;
		return 0;
	}
	err = pin_path(path, sizeof(path), mg->pin_dir, name, "");
	if (err)
		return err;
	fd = bpf_obj_get(path);
	if (fd < 0) {
		if (errno != ENOENT)
			return -errno;
		p->action = PLAN_CREATE;
		return bpf_map__set_pin_path(map, path);
	}
	old = &p->copy.old;
	new = &p->copy.new;
	err = map_layout_of_fd(fd, old);
	if (err) {
		close(fd);
		log_warnx("%s is not a map: %s", path, strerror(-err));
		return err;
	}
	map_layout_of(map, new);
	migrate_chain_build(name, mg->from, BNC_MAP_ABI_VERSION, &p->chain);
	ks = old->key_size;
	vs = old->value_size;
	bool chain_fits = migrate_chain_sizes(&p->chain, &ks, &vs);

	/* A map with a conversion that already has the new layout was
	 * converted by a start that did not finish.
	 */
	if (same_layout(old, new) && same_inner(map, fd, old->max_entries) &&
	    (p->chain.n == 0 || !chain_fits)) {
		close(fd);
		p->action = PLAN_ADOPT;
		return bpf_map__set_pin_path(map, path);
	}
	p->copy.old_fd = fd;
	if (migrate_cleared(name, mg->from, BNC_MAP_ABI_VERSION)) {
		p->action = PLAN_EMPTY;
		p->cleared = true;
		return 0;
	}
	if (old->type == new->type && old->map_flags == new->map_flags &&chain_fits &&ks ==
					      new->key_size &&vs ==
					      new->value_size &&migrate_copyable(old->type))
		p->action = PLAN_CONVERT;
	else
		p->action = PLAN_EMPTY;
	return 0;
}

static bool obj_has_map(struct bpf_object *obj, const char *name)
{
	return bpf_object__find_map_by_name(obj, name) != NULL;
}

/* Calls fn for every pin in dir that is a map (links and the lock file
 * are not), with its name and an fd it may keep.
 */
static int for_each_pinned_map(const char *dir, int (*fn)(const char *name, int fd, void *arg),
			       void *arg)
{
	struct map_layout l;
	char path[PATH_MAX];
	struct dirent *e;
	DIR *d = opendir(dir);
	int err = 0, fd;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while (!err && (e = readdir(d))) {
		if (e->d_name[0] == '.' || pin_path(path, sizeof(path), dir, e->d_name, ""))
			continue;
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		if (map_layout_of_fd(fd, &l)) {
			close(fd);
			continue;
		}
		err = fn(e->d_name, fd, arg);
	}
	closedir(d);
	return err;
}

struct drop_scan {
	struct migration *mg;
	struct bpf_object *obj;
};

static int plan_drop(const char *name, int fd, void *arg)
{
	struct drop_scan *s = arg;
	struct map_plan *p;

	close(fd);
	/* A "-new" pin is what a start that did not finish left. */
	if (obj_has_map(s->obj, name) && !strstr(name, "-new"))
		return 0;
	p = plan_add(s->mg, name);
	if (!p)
		return -ENOMEM;
	p->action = PLAN_DROP;
	return 0;
}

int migration_plan(struct bpf_object *obj, const char *pin_dir, struct migration **out)
{
	struct migration *mg = calloc(1, sizeof(*mg));
	struct drop_scan scan = { .mg = mg, .obj = obj };
	struct bpf_map *map;
	int err;

	if (!mg)
		return -ENOMEM;
	mg->ctx.now_ns = coarse_ns();
	snprintf(mg->pin_dir, sizeof(mg->pin_dir), "%s", pin_dir);
	err = migration_pinned_version(pin_dir, &mg->from);
	if (err) {
		log_errx("cannot read the layout version of the maps pinned at %s: %s", pin_dir,
			 strerror(-err));
		goto fail;
	}
	if (mg->from > BNC_MAP_ABI_VERSION) {
		log_errx("the maps pinned at %s have layout version %u, newer than this bouncerd's "
			 "(%u): stop the newer agent, convert them with its `bouncerd -c FILE "
			 "--downgrade-maps %u`, then start this one",
			 pin_dir, mg->from, BNC_MAP_ABI_VERSION, BNC_MAP_ABI_VERSION);
		err = -EPROTONOSUPPORT;
		goto fail;
	}
	bpf_object__for_each_map(map, obj)
	{
		/* .rodata/.bss and the like stay private to each load. */
		if (bpf_map__is_internal(map))
			continue;
		err = plan_map(mg, map);
		if (err)
			goto fail;
	}
	err = for_each_pinned_map(pin_dir, plan_drop, &scan);
	if (err)
		goto fail;
	if (mg->from && mg->from != BNC_MAP_ABI_VERSION)
		log_info("the maps pinned at %s have layout version %u: converting them to %u",
			 pin_dir, mg->from, BNC_MAP_ABI_VERSION);
	*out = mg;
	return 0;
fail:
	migration_free(mg);
	return err;
}

int migration_copy(struct migration *mg)
{
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (size_t i = 0; i < mg->nplans; i++) {
		struct map_plan *p = &mg->plans[i];
		int err;

		if (p->action != PLAN_CONVERT)
			continue;
		p->copy.new_fd = bpf_map__fd(p->map);
		p->copy.chain = &p->chain;
		p->copy.ctx = &mg->ctx;
		p->copy.counters = is_counters(p->name);
		err = migrate_copy_all(&p->copy);
		if (err) {
			log_errx("%s: cannot copy into the new layout: %s", p->name,
				 strerror(-err));
			return err;
		}
	}
	return 0;
}

/* Pins fd at dir/name in place of what is pinned there, in one rename:
 * the path never names nothing. The temporary name has a '-', which no
 * map's name has (bpffs refuses names with a '.').
 */
static int pin_replace(const char *dir, const char *name, int fd)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	int err;

	err = pin_path(path, sizeof(path), dir, name, "");
	if (!err)
		err = pin_path(tmp, sizeof(tmp), dir, name, "-new");
	if (err)
		return err;
	unlink(tmp);
	if (bpf_obj_pin(fd, tmp))
		return -errno;
	if (rename(tmp, path)) {
		err = -errno;
		unlink(tmp);
	}
	return err;
}

static int meta_write(int fd, unsigned int version)
{
	struct bnc_meta meta = { .abi_version = version };
	__u32 zero = 0;

	return bpf_map_update_elem(fd, &zero, &meta, BPF_ANY) ? -errno : 0;
}

static void log_plan(const struct migration *mg, const struct map_plan *p)
{
	const char *cost;

	switch (p->action) {
	case PLAN_CONVERT:
		log_info("%s: %zu entries converted, %zu more recorded meanwhile, %zu dropped",
			 p->name, p->copy.stats.copied, p->copy.stats.later, p->copy.stats.dropped);
		break;
	case PLAN_EMPTY:
		cost = map_empty_cost(p->name);
		if (p->cleared) {
			log_info("%s: started empty: its entries mean nothing in layout version "
				 "%u; cost: %s",
				 p->name, BNC_MAP_ABI_VERSION, cost ? cost : "unknown");
			break;
		}
		log_warnx("%s: cannot convert the pinned map (layout version %u): started empty; "
			  "cost: %s",
			  p->name, mg->from, cost ? cost : "unknown");
		break;
	case PLAN_DROP:
		log_info("%s: not a map of layout version %u: its pin is removed", p->name,
			 BNC_MAP_ABI_VERSION);
		break;
	case PLAN_CREATE:
		if (mg->from)
			log_info("%s: new in layout version %u", p->name, BNC_MAP_ABI_VERSION);
		break;
	default:
		break;
	}
}

int migration_finish(struct migration *mg)
{
	bool changed = false;
	struct timespec t0;
	int err = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (size_t i = 0; i < mg->nplans && !err; i++) {
		struct map_plan *p = &mg->plans[i];

		if (p->action == PLAN_CONVERT) {
			err = migrate_copy_again(&p->copy);
			if (err)
				log_errx("%s: cannot copy what was recorded during the conversion: "
					 "%s",
					 p->name, strerror(-err));
		}
	}
	for (size_t i = 0; i < mg->nplans && !err; i++) {
		struct map_plan *p = &mg->plans[i];
		char path[PATH_MAX];

		switch (p->action) {
		case PLAN_CONVERT:
		case PLAN_EMPTY:
			err = pin_replace(mg->pin_dir, p->name, bpf_map__fd(p->map));
			changed = true;
			break;
		case PLAN_DROP:
			err = pin_path(path, sizeof(path), mg->pin_dir, p->name, "");
			if (!err && unlink(path) && errno != ENOENT)
				err = -errno;
			changed = true;
			break;
		default:
			break;
		}
		if (err)
			log_errx("%s: cannot pin the new map: %s", p->name, strerror(-err));
		else
			log_plan(mg, p);
	}
	/* Last: the version is only ever that of the maps pinned. */
	for (size_t i = 0; i < mg->nplans && !err; i++) {
		if (mg->plans[i].action != PLAN_META)
			continue;
		err = meta_write(bpf_map__fd(mg->plans[i].map), BNC_MAP_ABI_VERSION);
		if (!err)
			err = pin_replace(mg->pin_dir, "meta", bpf_map__fd(mg->plans[i].map));
		if (err)
			log_errx("cannot record the maps' layout version: %s", strerror(-err));
	}
	if (!err && (changed || (mg->from && mg->from != BNC_MAP_ABI_VERSION)))
		log_info("maps at %s converted from layout version %u to %u: %.0f ms of copy "
			 "before the programs were swapped, %.0f ms after",
			 mg->pin_dir, mg->from, BNC_MAP_ABI_VERSION, mg->copy_ms, ms_since(&t0));
	return err;
}

void migration_free(struct migration *mg)
{
	if (!mg)
		return;
	for (size_t i = 0; i < mg->nplans; i++) {
		migrate_copy_free(&mg->plans[i].copy);
		if (mg->plans[i].copy.old_fd >= 0)
			close(mg->plans[i].copy.old_fd);
	}
	free(mg->plans);
	free(mg);
}

/* Ring words read per system call. */
#define RING_BATCH 4096

/* One VIP's ring: how many of its words name a previous backend. */
static int ring_count_changed(int fd, __u64 *n)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 keys[RING_BATCH], words[RING_BATCH], token = 0, count;
	void *in = NULL;
	bool more = true;

	*n = 0;
	while (more) {
		count = RING_BATCH;
		if (bpf_map_lookup_batch(fd, in, &token, keys, words, &count, &opts)) {
			/* ENOENT: the last batch. */
			if (errno != ENOENT)
				return -errno;
			more = false;
		}
		for (__u32 i = 0; i < count; i++)
			*n += bnc_ring_prev(words[i]) != BNC_BACKEND_NONE;
		in = &token;
	}
	return 0;
}

int migration_ring_changed(int rings_fd, __u64 *slots, __u32 *vips)
{
	struct map_layout outer = { 0 };
	int err = map_layout_of_fd(rings_fd, &outer);

	*slots = 0;
	*vips = 0;
	for (__u32 vip = 0; !err && vip < outer.max_entries; vip++) {
		__u32 inner_id;
		__u64 n;
		int fd;

		if (bpf_map_lookup_elem(rings_fd, &vip, &inner_id)) {
			if (errno != ENOENT)
				err = -errno;
			continue;
		}
		fd = bpf_map_get_fd_by_id(inner_id);
		if (fd < 0) {
			err = -errno;
			break;
		}
		err = ring_count_changed(fd, &n);
		close(fd);
		*slots += n;
		*vips += n > 0;
	}
	return err;
}

/* A downgrade below BNC_RING_PREV_LAYOUT loses what the changed slots
 * remember: the older agent writes every slot's current backend alone,
 * and the older datapath sends there the flows that the slot sent to its
 * previous backend without a flow table entry. Said before it happens.
 */
static void warn_ring_changed(const char *pin_dir, unsigned int to)
{
	char path[PATH_MAX];
	__u64 slots;
	__u32 vips;
	int fd, err;

	err = pin_path(path, sizeof(path), pin_dir, "rings", "");
	fd = err ? -1 : bpf_obj_get(path);
	if (fd < 0)
		return;
	err = migration_ring_changed(fd, &slots, &vips);
	close(fd);
	if (err)
		log_warnx("rings: cannot count the slots that remember a previous backend: %s",
			  strerror(-err));
	else if (slots)
		log_warnx("rings: %llu slots of %u VIPs send the flows from before a ring change "
			  "to the backend they had before it; layout version %u's datapath knows "
			  "only a slot's current backend: once the older agent runs, those of "
			  "them not in the flow table (TCP connections older than the change, "
			  "UDP flows) go to the current backend and break",
			  (unsigned long long)slots, vips, to);
}

struct down_scan {
	unsigned int from, to;
	struct migrate_ctx ctx;
	const char *pin_dir;
	bool check_only; /* first pass: every map can be converted */
	size_t converted;
};

static int down_one(const char *name, int fd, void *arg)
{
	struct down_scan *s = arg;
	struct migrate_chain chain;
	struct map_copy mc = { .old_fd = fd, .new_fd = -1, .chain = &chain, .ctx = &s->ctx };
	const struct map_change *cleared = migrate_cleared(name, s->from, s->to);
	const char *cost = map_empty_cost(name);
	__u32 ks, vs;
	int err;

	migrate_chain_build(name, s->from, s->to, &chain);
	err = map_layout_of_fd(fd, &mc.old);
	if (err || (chain.n == 0 && !cleared)) {
		close(fd);
		return err;
	}
	ks = mc.old.key_size;
	vs = mc.old.value_size;
	if (!migrate_chain_sizes(&chain, &ks, &vs) || !migrate_copyable(mc.old.type)) {
		close(fd);
		log_errx("%s: cannot convert to layout version %u: its layout is not that of "
			 "version %u",
			 name, s->to, s->from);
		return -EPROTO;
	}
	if (s->check_only) {
		close(fd);
		return 0;
	}
	mc.new = mc.old;
	mc.new.key_size = ks;
	mc.new.value_size = vs;
	/* A cleared map goes back to its older size, empty: the older agent
	 * adopts it as it is.
	 */
	if (cleared)
		mc.new.max_entries = cleared->old_max_entries;
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = mc.old.map_flags);
	mc.new_fd = bpf_map_create(mc.old.type, name, ks, vs, mc.new.max_entries, &opts);
	if (mc.new_fd < 0)
		err = -errno;
	if (!err && !cleared)
		err = migrate_copy_all(&mc);
	if (!err)
		err = pin_replace(s->pin_dir, name, mc.new_fd);
	if (err)
		log_errx("%s: cannot convert to layout version %u: %s", name, s->to,
			 strerror(-err));
	else if (cleared)
		log_info("%s: started empty at layout version %u's size (%u entries): its "
			 "entries mean nothing there; cost: %s",
			 name, s->to, mc.new.max_entries, cost ? cost : "unknown");
	else
		log_info("%s: %zu entries converted to layout version %u, %zu dropped", name,
			 mc.stats.copied, s->to, mc.stats.dropped);
	s->converted++;
	migrate_copy_free(&mc);
	if (mc.new_fd >= 0)
		close(mc.new_fd);
	close(fd);
	return err;
}

int migration_downgrade(const char *pin_dir, unsigned int to)
{
	struct down_scan s = { .to = to, .pin_dir = pin_dir, .check_only = true };
	struct timespec t0;
	char path[PATH_MAX];
	int err, fd;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	s.ctx.now_ns = coarse_ns();
	err = migration_pinned_version(pin_dir, &s.from);
	if (err) {
		log_errx("cannot read the layout version of the maps pinned at %s: %s", pin_dir,
			 strerror(-err));
		return err;
	}
	if (s.from == 0) {
		log_errx("no maps are pinned at %s", pin_dir);
		return -ENOENT;
	}
	if (s.from > BNC_MAP_ABI_VERSION) {
		log_errx("the maps pinned at %s have layout version %u, newer than this "
			 "bouncerd's (%u)",
			 pin_dir, s.from, BNC_MAP_ABI_VERSION);
		return -EPROTONOSUPPORT;
	}
	if (to == 0 || to >= s.from) {
		log_errx("the maps pinned at %s have layout version %u: --downgrade-maps takes "
			 "an older version, from 1 to %u",
			 pin_dir, s.from, s.from - 1);
		return -EINVAL;
	}
	/* Every map is checked before any is converted. */
	err = for_each_pinned_map(pin_dir, down_one, &s);
	s.check_only = false;
	if (!err)
		err = for_each_pinned_map(pin_dir, down_one, &s);
	for (size_t i = 0; i < nmap_changes && !err; i++) {
		const struct map_change *r = &map_changes[i];

		if ((r->kind != MAP_ADDED && r->kind != LINK_ADDED) || r->from < to ||
		    r->from >= s.from)
			continue;
		err = pin_path(path, sizeof(path), pin_dir, r->map, "");
		if (!err && unlink(path) && errno != ENOENT)
			err = -errno;
		if (!err)
			log_info("%s: not a %s of layout version %u: its pin is removed", r->map,
				 r->kind == LINK_ADDED ? "link" : "map", to);
	}
	if (err)
		return err;
	if (s.from >= BNC_RING_PREV_LAYOUT && to < BNC_RING_PREV_LAYOUT)
		warn_ring_changed(pin_dir, to);
	/* A version whose maps had no meta map lost it above. */
	err = pin_path(path, sizeof(path), pin_dir, "meta", "");
	fd = err ? -1 : bpf_obj_get(path);
	if (fd >= 0) {
		err = meta_write(fd, to);
		close(fd);
	}
	if (!err)
		log_info("maps at %s converted from layout version %u to %u in %.0f ms: start "
			 "the older bouncerd now. Until it takes over, the attached program "
			 "forwards on the maps it holds: flows it records meanwhile are not "
			 "carried over and follow the ring (the same backend while the ring "
			 "does not change)",
			 pin_dir, s.from, to, ms_since(&t0));
	return err;
}
