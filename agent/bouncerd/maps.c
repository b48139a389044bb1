// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Typed access to the load balancer's maps. This file is the only code that
 * touches the skeleton; the agent, tests and benchmarks all go through it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/magic.h>

#include "bouncer_hash.h"
#include "lb.skel.h"
#include "common/log.h"
#include "maps.h"
#include "ring_history.h"
#include "migrate.h"
#include "common/bpfsys.h"
#include "common/util.h"

/* Links attached without a pin live as long as this object holds them. */
#define MAX_UNPINNED_LINKS 16

struct bnc_maps {
	struct lb *skel;
	int link_fds[MAX_UNPINNED_LINKS];
	int nlinks;
	int ncpus;
	/* From the load until bnc_maps_pins_settle(). */
	struct migration *migration;
};

static const char *const stat_names[] = {
#define BNC_STAT_NAME(name, str) [BNC_STAT_##name] = str,
	BNC_GLOBAL_STATS(BNC_STAT_NAME)
#undef BNC_STAT_NAME
};

const char *bnc_stat_name(enum bnc_stat stat)
{
	if ((unsigned int)stat >= BNC_STAT_MAX)
		return NULL;
	return stat_names[stat];
}

/* The pin directory, and the plan for the maps pinned there: adopted as
 * they are, converted, or created (migrate.h).
 */
static int pin_maps(struct bnc_maps *m, const char *dir)
{
	int err;

	err = mkdir_p(dir, 0700, NULL);
	if (err) {
		log_warnx("cannot create %s: %s", dir, strerror(-err));
		return err;
	}
	err = bpffs_check(dir);
	if (err)
		return err;
	return migration_plan(m->skel->obj, dir, &m->migration);
}

static int slots_fill(const struct bnc_vip_key *key, const struct bnc_vip_value *value, void *arg);

int bnc_maps_open(const struct bnc_maps_opts *opts, struct bnc_maps **out)
{
	struct bnc_maps *m;
	__u32 flows = BNC_MAX_FLOWS;
	int err;

	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->ncpus = libbpf_num_possible_cpus();
	if (m->ncpus < 0) {
		err = m->ncpus;
		goto cleanup;
	}
	m->skel = lb__open();
	if (!m->skel) {
		err = -errno;
		log_warnx("cannot open the XDP object: %s", strerror(-err));
		goto cleanup;
	}
	if (opts && opts->flow_table_size)
		flows = opts->flow_table_size;
	err = bpf_map__set_max_entries(m->skel->maps.flows4, flows);
	if (!err)
		err = bpf_map__set_max_entries(m->skel->maps.flows6, flows);
	if (err)
		goto cleanup;
	if (opts && opts->pin_dir) {
		err = pin_maps(m, opts->pin_dir);
		if (err)
			goto cleanup;
	}
	err = lb__load(m->skel);
	if (err) {
		log_warnx("cannot load the XDP object: %s", strerror(-err));
		goto cleanup;
	}
	if (m->migration) {
		err = migration_copy(m->migration);
		if (err)
			goto cleanup;
	}
	err = bnc_maps_vip_foreach(m, slots_fill, m);
	if (err)
		goto cleanup;
	*out = m;
	return 0;
cleanup:
	bnc_maps_close(m);
	return err;
}

void bnc_maps_close(struct bnc_maps *m)
{
	if (!m)
		return;
	for (int i = 0; i < m->nlinks; i++)
		close(m->link_fds[i]);
	migration_free(m->migration);
	lb__destroy(m->skel);
	free(m);
}

int bnc_maps_pins_settle(struct bnc_maps *m)
{
	int err;

	if (!m->migration)
		return 0;
	err = migration_finish(m->migration);
	migration_free(m->migration);
	m->migration = NULL;
	return err;
}

int bnc_maps_prog_fd(const struct bnc_maps *m)
{
	return bpf_program__fd(m->skel->progs.lb_xdp);
}

int bnc_maps_map_fd(const struct bnc_maps *m, const char *name)
{
	const struct bpf_map *map = bpf_object__find_map_by_name(m->skel->obj, name);

	return map ? bpf_map__fd(map) : -ENOENT;
}

/* A new link: pinned at link_pin, which then holds it, or kept in m. */
static int link_keep(struct bnc_maps *m, int fd, const char *link_pin)
{
	int err;

	if (!link_pin) {
		m->link_fds[m->nlinks++] = fd;
		return 0;
	}
	err = bpf_obj_pin(fd, link_pin) ? -errno : 0;
	close(fd);
	return err;
}

int bnc_maps_attach(struct bnc_maps *m, int ifindex, bool skb, const char *link_pin)
{
	int fd;

	if (!link_pin && m->nlinks == MAX_UNPINNED_LINKS)
		return -ENOSPC;
	fd = xdp_link_create(bnc_maps_prog_fd(m), ifindex, skb);
	if (fd < 0)
		return fd;
	return link_keep(m, fd, link_pin);
}

/* Swaps prog_fd into the link pinned at link_pin. */
static int link_adopt(const char *link_pin, int prog_fd)
{
	int fd, err = 0;

	fd = bpf_obj_get(link_pin);
	if (fd < 0)
		return -errno;
	if (bpf_link_update(fd, prog_fd, NULL))
		err = -errno;
	close(fd);
	return err;
}

int bnc_maps_link_adopt(struct bnc_maps *m, const char *link_pin)
{
	return link_adopt(link_pin, bnc_maps_prog_fd(m));
}

int bnc_maps_sk_lookup_prog_fd(const struct bnc_maps *m)
{
	return bpf_program__fd(m->skel->progs.lb_sk_lookup);
}

int bnc_maps_sk_lookup_attach(struct bnc_maps *m, const char *netns_path, const char *link_pin)
{
	int netns_fd, fd, err;

	if (!link_pin && m->nlinks == MAX_UNPINNED_LINKS)
		return -ENOSPC;
	netns_fd = open(netns_path ? netns_path : "/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (netns_fd < 0)
		return -errno;
	fd = bpf_link_create(bnc_maps_sk_lookup_prog_fd(m), netns_fd, BPF_SK_LOOKUP, NULL);
	err = fd < 0 ? -errno : 0;
	close(netns_fd);
	if (err)
		return err;
	return link_keep(m, fd, link_pin);
}

int bnc_maps_sk_lookup_link_adopt(struct bnc_maps *m, const char *link_pin)
{
	return link_adopt(link_pin, bnc_maps_sk_lookup_prog_fd(m));
}

static int cgroup_link(struct bnc_maps *m, const struct bpf_program *prog, int cgroup_fd,
		       enum bpf_attach_type type, const char *pin)
{
	int fd;

	if (!pin && m->nlinks == MAX_UNPINNED_LINKS)
		return -ENOSPC;
	fd = bpf_link_create(bpf_program__fd(prog), cgroup_fd, type, NULL);
	if (fd < 0)
		return -errno;
	return link_keep(m, fd, pin);
}

int bnc_maps_bind_attach(struct bnc_maps *m, int cgroup_fd, const char *pin4, const char *pin6)
{
	int err;

	err = cgroup_link(m, m->skel->progs.lb_bind4, cgroup_fd, BPF_CGROUP_INET4_BIND, pin4);
	if (!err)
		err = cgroup_link(m, m->skel->progs.lb_bind6, cgroup_fd, BPF_CGROUP_INET6_BIND,
				  pin6);
	/* Half attached is useless: an IPv4 hook alone would be left behind. */
	if (err && pin4)
		unlink(pin4);
	return err;
}

int bnc_maps_bind_link_adopt(struct bnc_maps *m, const char *pin4, const char *pin6)
{
	int err = link_adopt(pin4, bpf_program__fd(m->skel->progs.lb_bind4));

	if (!err)
		err = link_adopt(pin6, bpf_program__fd(m->skel->progs.lb_bind6));
	return err;
}

static int map_fd(const struct bpf_map *map)
{
	return bpf_map__fd(map);
}

static int update(const struct bpf_map *map, const void *key, const void *value, __u64 flags)
{
	return bpf_map_update_elem(map_fd(map), key, value, flags) ? -errno : 0;
}

static int lookup(const struct bpf_map *map, const void *key, void *value)
{
	return bpf_map_lookup_elem(map_fd(map), key, value) ? -errno : 0;
}

int bnc_maps_set_config(struct bnc_maps *m, const struct bnc_config *cfg)
{
	__u32 zero = 0;

	return update(m->skel->maps.config, &zero, cfg, BPF_ANY);
}

int bnc_maps_get_config(struct bnc_maps *m, struct bnc_config *cfg)
{
	__u32 zero = 0;

	return lookup(m->skel->maps.config, &zero, cfg);
}

static void address_key(const struct bnc_vip_key *vip, struct bnc_vip_key *addr)
{
	memset(addr, 0, sizeof(*addr));
	memcpy(addr->addr, vip->addr, sizeof(addr->addr));
	addr->family = vip->family;
}

static bool is_address_entry(const struct bnc_vip_key *key)
{
	return key->port == 0 && key->proto == 0;
}

/* A new generation makes the datapath look the VIP up again for flows
 * recorded before: they may belong to a VIP that is gone or changed.
 */
static int vip_gen_bump(struct bnc_maps *m, __u32 vip_id)
{
	__u32 gen;
	int err;

	err = lookup(m->skel->maps.vip_gens, &vip_id, &gen);
	if (err)
		return err;
	gen++;
	return update(m->skel->maps.vip_gens, &vip_id, &gen, BPF_ANY);
}

static void filter_set(__u64 *words, const struct bnc_vip_key *key)
{
	__u32 bit = vip_filter_bit(key->addr, key->family);

	words[bit / 64] |= 1ull << (bit % 64);
}

/* Sets the filter bit of one address; bits are only ever added here. */
static int filter_add(struct bnc_maps *m, const struct bnc_vip_key *key)
{
	__u32 bit = vip_filter_bit(key->addr, key->family), word = bit / 64;
	__u64 value;
	int err;

	err = lookup(m->skel->maps.vip_filter, &word, &value);
	if (err)
		return err;
	value |= 1ull << (bit % 64);
	return update(m->skel->maps.vip_filter, &word, &value, BPF_ANY);
}

/* Recomputes the filter from every VIP address and writes only the words
 * that changed: a word that keeps a VIP's bit is written with that bit
 * still set, so no VIP ever reads as absent.
 */
static int filter_rebuild(struct bnc_maps *m)
{
	int fd = map_fd(m->skel->maps.vips), err = 0;
	struct bnc_vip_key key, next;
	void *prev = NULL;
	__u64 *words, old;

	words = calloc(BNC_VIP_FILTER_WORDS, sizeof(*words));
	if (!words)
		return -ENOMEM;
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		filter_set(words, &key);
	}
	if (errno != ENOENT)
		err = -errno;
	for (__u32 i = 0; i < BNC_VIP_FILTER_WORDS && !err; i++) {
		err = lookup(m->skel->maps.vip_filter, &i, &old);
		if (!err && old != words[i])
			err = update(m->skel->maps.vip_filter, &i, &words[i], BPF_ANY);
	}
	free(words);
	return err;
}

/* Writes key's slot in vip_slots with value, unless another VIP holds it
 * (that one keeps the shortcut; key's packets find it in vips).
 */
static int slot_write(struct bnc_maps *m, const struct bnc_vip_key *key,
		      const struct bnc_vip_value *value)
{
	__u32 i = vip_key_slot(key);
	struct bnc_vip_slot slot;
	int err;

	err = lookup(m->skel->maps.vip_slots, &i, &slot);
	if (err)
		return err;
	if (slot.check && memcmp(&slot.key, key, sizeof(*key)) != 0)
		return 0;
	memset(&slot, 0, sizeof(slot));
	slot.key = *key;
	slot.value = *value;
	slot.check = vip_slot_check(&slot);
	return update(m->skel->maps.vip_slots, &i, &slot, BPF_ANY);
}

/* A VIP's service entry, in vips and then in its slot: a packet that reads
 * the slot before the write finds the old value there or in vips.
 */
static int vip_entry_write(struct bnc_maps *m, const struct bnc_vip_key *key,
			   const struct bnc_vip_value *value, __u64 flags)
{
	int err = update(m->skel->maps.vips, key, value, flags);

	return err ? err : slot_write(m, key, value);
}

struct slot_claim {
	struct bnc_maps *m;
	__u32 index;
};

/* Writes the first VIP of the slot's index to it. */
static int slot_claim(const struct bnc_vip_key *key, const struct bnc_vip_value *value, void *arg)
{
	const struct slot_claim *c = arg;
	int err;

	if (vip_key_slot(key) != c->index)
		return 0;
	err = slot_write(c->m, key, value);
	return err ? err : 1;
}

/* Empties key's slot if it holds key, before key leaves vips (until then
 * its packets find it there); slot_reclaim() gives it to another VIP after.
 */
static int slot_clear(struct bnc_maps *m, const struct bnc_vip_key *key)
{
	__u32 i = vip_key_slot(key);
	struct bnc_vip_slot slot;
	int err;

	err = lookup(m->skel->maps.vip_slots, &i, &slot);
	if (err || !slot.check || memcmp(&slot.key, key, sizeof(*key)) != 0)
		return err;
	memset(&slot, 0, sizeof(slot));
	return update(m->skel->maps.vip_slots, &i, &slot, BPF_ANY);
}

/* After key left vips: its slot to another VIP of the same index. */
static int slot_reclaim(struct bnc_maps *m, const struct bnc_vip_key *key)
{
	struct slot_claim claim = { m, vip_key_slot(key) };
	int ret = bnc_maps_vip_foreach(m, slot_claim, &claim);

	return ret < 0 ? ret : 0;
}

/* Every VIP of vips to its slot: after maps are adopted or converted,
 * whatever an older layout had no slots for.
 */
static int slots_fill(const struct bnc_vip_key *key, const struct bnc_vip_value *value, void *arg)
{
	return slot_write(arg, key, value);
}

int bnc_maps_vip_add(struct bnc_maps *m, const struct bnc_vip_key *key,
		     const struct bnc_vip_value *value)
{
	struct bnc_vip_value addr_value = { .flags = BNC_VIP_F_ADDRESS };
	struct bnc_vip_key addr;
	int err;

	if (value->vip_id >= BNC_MAX_VIPS || is_address_entry(key))
		return -EINVAL;
	if (key->family != BNC_FAMILY_IPV4 && key->family != BNC_FAMILY_IPV6)
		return -EINVAL;
	address_key(key, &addr);
	err = vip_gen_bump(m, value->vip_id);
	if (!err)
		err = update(m->skel->maps.vips, &addr, &addr_value, BPF_ANY);
	if (!err)
		err = vip_entry_write(m, key, value, BPF_ANY);
	/* The filter bit goes last: until then the VIP is simply not seen. */
	if (!err)
		err = filter_add(m, key);
	return err;
}

int bnc_maps_vip_lookup(struct bnc_maps *m, const struct bnc_vip_key *key,
			struct bnc_vip_value *value)
{
	return lookup(m->skel->maps.vips, key, value);
}

int bnc_maps_vip_foreach(struct bnc_maps *m,
			 int (*fn)(const struct bnc_vip_key *key, const struct bnc_vip_value *value,
				   void *arg),
			 void *arg)
{
	int fd = map_fd(m->skel->maps.vips);
	struct bnc_vip_key key, next;
	struct bnc_vip_value value;
	void *prev = NULL;
	int ret;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (is_address_entry(&key))
			continue;
		if (bpf_map_lookup_elem(fd, &key, &value))
			continue; /* deleted meanwhile */
		ret = fn(&key, &value, arg);
		if (ret)
			return ret;
	}
	return errno == ENOENT ? 0 : -errno;
}

struct address_use {
	const struct bnc_vip_key *addr;
	const struct bnc_vip_key *removed;
};

static int address_in_use(const struct bnc_vip_key *key, const struct bnc_vip_value *value,
			  void *arg)
{
	const struct address_use *use = arg;

	(void)value;
	if (memcmp(key, use->removed, sizeof(*key)) == 0)
		return 0;
	return key->family == use->addr->family &&
	       memcmp(key->addr, use->addr->addr, sizeof(key->addr)) == 0;
}

int bnc_maps_vip_del(struct bnc_maps *m, const struct bnc_vip_key *key)
{
	struct bnc_vip_value value;
	struct bnc_vip_key addr;
	struct address_use use = { .addr = &addr, .removed = key };
	int err, in_use;

	if (is_address_entry(key))
		return -EINVAL;
	err = lookup(m->skel->maps.vips, key, &value);
	if (!err)
		err = slot_clear(m, key);
	if (err)
		return err;
	if (bpf_map_delete_elem(map_fd(m->skel->maps.vips), key))
		return -errno;
	/* The ring goes after the VIP: no packet finds a VIP without one. */
	if (bpf_map_delete_elem(map_fd(m->skel->maps.rings), &value.vip_id) && errno != ENOENT)
		return -errno;
	address_key(key, &addr);
	in_use = bnc_maps_vip_foreach(m, address_in_use, &use);
	if (in_use < 0)
		return in_use;
	if (!in_use) {
		if (bpf_map_delete_elem(map_fd(m->skel->maps.vips), &addr) && errno != ENOENT)
			return -errno;
		err = filter_rebuild(m);
		if (err)
			return err;
	}
	err = slot_reclaim(m, key);
	return err ? err : vip_gen_bump(m, value.vip_id);
}

static bool takes_existing(__u8 state)
{
	return state == BNC_BACKEND_UP || state == BNC_BACKEND_DRAIN;
}

int bnc_maps_backend_set(struct bnc_maps *m, __u32 id, const struct bnc_backend *backend)
{
	struct bnc_backend was;
	bool retire;
	int err;

	if (id >= BNC_MAX_BACKENDS)
		return -EINVAL;
	retire = lookup(m->skel->maps.backends, &id, &was) == 0 && takes_existing(was.state) &&
		 !takes_existing(backend->state);
	err = update(m->skel->maps.backends, &id, backend, BPF_ANY);
	/* The flows of a backend that goes down are placed again, without
	 * an entry (see select_unknown()): no CPU's cached copy may send
	 * one back to it when it returns. A new generation for every VIP
	 * retires all of them; the caches refill from the next packets.
	 */
	for (__u32 vip = 0; retire && !err && vip < BNC_MAX_VIPS; vip++)
		err = vip_gen_bump(m, vip);
	return err;
}

int bnc_maps_backend_get(struct bnc_maps *m, __u32 id, struct bnc_backend *backend)
{
	if (id >= BNC_MAX_BACKENDS)
		return -EINVAL;
	return lookup(m->skel->maps.backends, &id, backend);
}

int bnc_maps_backend_set_state(struct bnc_maps *m, __u32 id, enum bnc_backend_state state)
{
	struct bnc_backend be;
	int err;

	err = bnc_maps_backend_get(m, id, &be);
	if (err)
		return err;
	be.state = state;
	return bnc_maps_backend_set(m, id, &be);
}

int bnc_maps_worker_set(struct bnc_maps *m, __u32 backend_id, int sock_fd)
{
	/* A u64 value: the map's value size, which makes lookups from user
	 * space return the socket's cookie.
	 */
	__u64 value = (__u64)sock_fd;

	if (backend_id >= BNC_MAX_BACKENDS)
		return -EINVAL;
	if (sock_fd < 0)
		return -EBADF;
	return update(m->skel->maps.workers, &backend_id, &value, BPF_ANY);
}

int bnc_maps_worker_clear(struct bnc_maps *m, __u32 backend_id)
{
	if (backend_id >= BNC_MAX_BACKENDS)
		return -EINVAL;
	/* A SOCKMAP answers EINVAL, not ENOENT, for an empty slot; the id
	 * is in range, so that is all EINVAL can mean here.
	 */
	if (bpf_map_delete_elem(map_fd(m->skel->maps.workers), &backend_id) && errno != EINVAL &&
	    errno != ENOENT)
		return -errno;
	return 0;
}

int bnc_maps_worker_cookie(struct bnc_maps *m, __u32 backend_id, __u64 *cookie)
{
	if (backend_id >= BNC_MAX_BACKENDS)
		return -EINVAL;
	return lookup(m->skel->maps.workers, &backend_id, cookie);
}

static bool bind_key_in(const struct bnc_bind_key *k, const struct bnc_bind_key *keys, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (keys[i].port == k->port && keys[i].family == k->family)
			return true;
	return false;
}

int bnc_maps_binds_replace(struct bnc_maps *m, const struct bnc_bind_key *keys,
			   const struct bnc_bind_value *values, size_t n)
{
	int fd = map_fd(m->skel->maps.worker_binds);
	struct bnc_bind_key key, next;
	bool first = true;
	int err;

	/* Deleting the key just returned would restart the walk: step to the
	 * next key first, then delete.
	 */
	while (!bpf_map_get_next_key(fd, first ? NULL : &key, &next)) {
		if (!first && !bind_key_in(&key, keys, n) && bpf_map_delete_elem(fd, &key) &&
		    errno != ENOENT)
			return -errno;
		key = next;
		first = false;
	}
	if (!first && !bind_key_in(&key, keys, n) && bpf_map_delete_elem(fd, &key) &&
	    errno != ENOENT)
		return -errno;
	for (size_t i = 0; i < n; i++) {
		err = update(m->skel->maps.worker_binds, &keys[i], &values[i], BPF_ANY);
		if (err)
			return err;
	}
	return 0;
}

static int ring_create(const __u32 *slots, __u32 ring_size)
{
	LIBBPF_OPTS(bpf_map_create_opts, create, .map_flags = BPF_F_INNER_MAP);
	LIBBPF_OPTS(bpf_map_batch_opts, batch);
	__u32 *keys, count = ring_size;
	int fd, err = 0;

	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "ring", sizeof(__u32), sizeof(__u32), ring_size,
			    &create);
	if (fd < 0)
		return -errno;
	keys = malloc(sizeof(*keys) * ring_size);
	if (!keys) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (__u32 i = 0; i < ring_size; i++)
		keys[i] = i;
	if (bpf_map_update_batch(fd, keys, slots, &count, &batch))
		err = -errno;
	else if (count != ring_size)
		err = -EIO;
cleanup:
	free(keys);
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

int bnc_maps_ring_write(struct bnc_maps *m, const struct bnc_vip_key *key, const __u32 *slots,
			__u32 ring_size)
{
	struct bnc_vip_value value;
	int fd, err;
	bool growing;

	if (ring_size == 0 || ring_size > BNC_RING_SIZE_MAX)
		return -EINVAL;
	err = lookup(m->skel->maps.vips, key, &value);
	if (err)
		return err;
	fd = ring_create(slots, ring_size);
	if (fd < 0)
		return fd;
	/* The datapath indexes the ring with hash % value.ring_size. A larger
	 * ring goes in before the size grows, a smaller one after it shrinks,
	 * so every index stays inside whichever ring a packet sees.
	 */
	growing = ring_size >= value.ring_size;
	if (!growing) {
		value.ring_size = ring_size;
		err = vip_entry_write(m, key, &value, BPF_EXIST);
		if (err)
			goto cleanup;
	}
	err = update(m->skel->maps.rings, &value.vip_id, &fd, BPF_ANY);
	if (err)
		goto cleanup;
	if (growing && value.ring_size != ring_size) {
		value.ring_size = ring_size;
		err = vip_entry_write(m, key, &value, BPF_EXIST);
	}
cleanup:
	/* The outer map holds its own reference to the ring. */
	close(fd);
	return err;
}

/* Which backends named as prev in words take no flows (down or unset),
 * for ring_history_merge().
 */
static int backends_down(struct bnc_maps *m, const __u32 *words, __u32 n, bool **out)
{
	/* 0: not read yet, 1: takes existing flows, 2: down */
	__u8 *seen = calloc(BNC_MAX_BACKENDS, 1);
	bool *down = calloc(BNC_MAX_BACKENDS, sizeof(*down));
	struct bnc_backend be;

	if (!seen || !down) {
		free(seen);
		free(down);
		return -ENOMEM;
	}
	for (__u32 i = 0; i < n; i++) {
		__u32 ids[2] = { bnc_ring_prev(words[i]), bnc_ring_cur(words[i]) };

		for (int k = 0; k < 2; k++) {
			__u32 id = ids[k];

			if (id >= BNC_MAX_BACKENDS || seen[id])
				continue;
			seen[id] = bnc_maps_backend_get(m, id, &be) == 0 &&
						   (be.state == BNC_BACKEND_UP ||
						    be.state == BNC_BACKEND_DRAIN)
					   ? 1
					   : 2;
			down[id] = seen[id] == 2;
		}
	}
	free(seen);
	*out = down;
	return 0;
}

int bnc_maps_ring_swap(struct bnc_maps *m, const struct bnc_vip_key *key, const __u32 *slots,
		       __u32 ring_size)
{
	return bnc_maps_ring_swap_history(m, key, slots, ring_size, true, NULL);
}

int bnc_maps_ring_swap_history(struct bnc_maps *m, const struct bnc_vip_key *key,
			       const __u32 *slots, __u32 ring_size, bool history, __u32 *changed)
{
	struct bnc_vip_value value;
	__u32 *old = NULL, *words;
	bool *down = NULL;
	int err;

	if (ring_size == 0 || ring_size > BNC_RING_SIZE_MAX)
		return -EINVAL;
	err = lookup(m->skel->maps.vips, key, &value);
	if (err)
		return err;
	words = malloc(sizeof(*words) * ring_size);
	if (!words)
		return -ENOMEM;
	/* A ring of another size hashes flows to other slots: nothing of
	 * the old one carries over.
	 */
	if (history && value.ring_size == ring_size) {
		old = calloc(ring_size, sizeof(*old));
		if (old && bnc_maps_ring_read(m, value.vip_id, old, ring_size)) {
			free(old);
			old = NULL;
		}
	}
	if (old)
		err = backends_down(m, old, ring_size, &down);
	if (!err) {
		__u32 n = ring_history_merge(old, slots, ring_size, down, words);

		if (changed)
			*changed = n;
	}
	free(down);
	if (err) {
		free(old);
		free(words);
		return err;
	}
	err = bnc_maps_ring_write(m, key, words, ring_size);
	/* A CPU's cached choice from a slot that just changed would keep its
	 * flow off the table and off miss_prev: a new generation retires
	 * every cached choice of the VIP.
	 */
	if (!err && old)
		err = vip_gen_bump(m, value.vip_id);
	free(old);
	free(words);
	return err;
}

int bnc_maps_ring_read(struct bnc_maps *m, __u32 vip_id, __u32 *slots, __u32 ring_size)
{
	LIBBPF_OPTS(bpf_map_batch_opts, batch);
	__u32 inner_id, *keys, count, out_batch;
	int fd, err = 0;

	err = lookup(m->skel->maps.rings, &vip_id, &inner_id);
	if (err)
		return err;
	fd = bpf_map_get_fd_by_id(inner_id);
	if (fd < 0)
		return -errno;
	keys = malloc(sizeof(*keys) * ring_size);
	if (!keys) {
		close(fd);
		return -ENOMEM;
	}
	count = ring_size;
	/* One batch for the whole ring; ENOENT only says the map ended. */
	if (bpf_map_lookup_batch(fd, NULL, &out_batch, keys, slots, &count, &batch) &&
	    errno != ENOENT)
		err = -errno;
	else if (count != ring_size)
		err = -EIO;
	free(keys);
	close(fd);
	return err;
}

/* Reads one per-CPU entry of __u64 fields and sums them over CPUs. */
static int percpu_sum(const struct bpf_map *map, __u32 key, __u64 *sum, size_t nfields, int ncpus)
{
	__u64 *values;
	int err;

	values = calloc((size_t)ncpus * nfields, sizeof(__u64));
	if (!values)
		return -ENOMEM;
	err = lookup(map, &key, values);
	if (!err) {
		memset(sum, 0, nfields * sizeof(__u64));
		for (int cpu = 0; cpu < ncpus; cpu++)
			for (size_t f = 0; f < nfields; f++)
				sum[f] += values[(size_t)cpu * nfields + f];
	}
	free(values);
	return err;
}

int bnc_maps_global_stats(struct bnc_maps *m, struct bnc_global_stats *out)
{
	return percpu_sum(m->skel->maps.global_stats, 0, out->counters, BNC_STAT_MAX, m->ncpus);
}

int bnc_maps_vip_stats(struct bnc_maps *m, __u32 vip_id, struct bnc_traffic *out)
{
	__u64 sum[3];
	int err;

	err = percpu_sum(m->skel->maps.vip_stats, vip_id, sum, 3, m->ncpus);
	if (!err) {
		out->packets = sum[0];
		out->bytes = sum[1];
		out->flows = sum[2];
	}
	return err;
}

int bnc_maps_backend_stats(struct bnc_maps *m, __u32 backend_id, struct bnc_traffic *out)
{
	__u64 sum[3];
	int err;

	err = percpu_sum(m->skel->maps.backend_stats, backend_id, sum, 3, m->ncpus);
	if (!err) {
		out->packets = sum[0];
		out->bytes = sum[1];
		out->flows = sum[2];
	}
	return err;
}

static int percpu_zero(const struct bpf_map *map, __u32 entries, size_t value_size, int ncpus)
{
	void *zeros = calloc((size_t)ncpus, value_size);
	int err = 0;

	if (!zeros)
		return -ENOMEM;
	for (__u32 i = 0; i < entries && !err; i++)
		err = update(map, &i, zeros, BPF_ANY);
	free(zeros);
	return err;
}

int bnc_maps_stats_reset(struct bnc_maps *m)
{
	int err;

	err = percpu_zero(m->skel->maps.global_stats, 1, sizeof(struct bnc_global_stats), m->ncpus);
	if (!err)
		err = percpu_zero(m->skel->maps.vip_stats, BNC_MAX_VIPS, sizeof(struct bnc_traffic),
				  m->ncpus);
	if (!err)
		err = percpu_zero(m->skel->maps.backend_stats, BNC_MAX_BACKENDS,
				  sizeof(struct bnc_traffic), m->ncpus);
	return err;
}

void bnc_flow4_key_of(const struct bnc_flow_key *key, struct bnc_flow4_key *k4)
{
	memset(k4, 0, sizeof(*k4));
	k4->saddr = key->saddr[0];
	k4->daddr = key->daddr[0];
	k4->sport = key->sport;
	k4->dport = key->dport;
	k4->proto = key->proto;
}

static void flow_key_of4(const struct bnc_flow4_key *k4, struct bnc_flow_key *key)
{
	memset(key, 0, sizeof(*key));
	key->saddr[0] = k4->saddr;
	key->daddr[0] = k4->daddr;
	key->sport = k4->sport;
	key->dport = k4->dport;
	key->proto = k4->proto;
	key->family = BNC_FAMILY_IPV4;
}

__u64 bnc_flow_clock_ns(void)
{
	struct timespec ts;

	/* The datapath stamps flows with the coarse monotonic clock. */
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
}

double bnc_flow_idle_s(const struct bnc_flow_value *v, __u64 now_ns)
{
	__u32 age = (__u32)(now_ns >> BNC_FLOW_TIME_SHIFT) - v->last_seen;

	return (double)((__u64)age << BNC_FLOW_TIME_SHIFT) / 1e9;
}

int bnc_maps_flow_lookup(struct bnc_maps *m, const struct bnc_flow_key *key,
			 struct bnc_flow_value *value)
{
	struct bnc_flow4_key k4;

	if (key->family == BNC_FAMILY_IPV4) {
		bnc_flow4_key_of(key, &k4);
		return lookup(m->skel->maps.flows4, &k4, value);
	}
	if (key->family == BNC_FAMILY_IPV6)
		return lookup(m->skel->maps.flows6, key, value);
	return -EINVAL;
}

/* Walks one flow map. Keys are copied out of the iteration before fn
 * runs, so fn may delete the flow it is given.
 */
static int flow_walk(const struct bpf_map *map, bool v4,
		     int (*fn)(const struct bnc_flow_key *key, const struct bnc_flow_value *value,
			       void *arg),
		     void *arg)
{
	union {
		struct bnc_flow4_key k4;
		struct bnc_flow_key k6;
	} cur, next;
	int fd = map_fd(map), ret;
	struct bnc_flow_value value;
	struct bnc_flow_key key;
	void *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		cur = next;
		prev = &cur;
		if (bpf_map_lookup_elem(fd, &cur, &value))
			continue; /* evicted meanwhile */
		if (v4)
			flow_key_of4(&cur.k4, &key);
		else
			key = cur.k6;
		ret = fn(&key, &value, arg);
		if (ret)
			return ret;
	}
	return errno == ENOENT ? 0 : -errno;
}

int bnc_maps_flow_foreach(struct bnc_maps *m,
			  int (*fn)(const struct bnc_flow_key *key,
				    const struct bnc_flow_value *value, void *arg),
			  void *arg)
{
	int ret = flow_walk(m->skel->maps.flows4, true, fn, arg);

	if (ret)
		return ret;
	return flow_walk(m->skel->maps.flows6, false, fn, arg);
}

struct flow_tally {
	__u64 n;
	__u32 *per_backend;
};

static void tally_one(struct flow_tally *t, const struct bnc_flow_value *value)
{
	t->n++;
	if (t->per_backend && value->backend_id < BNC_MAX_BACKENDS)
		t->per_backend[value->backend_id]++;
}

static int tally_flow(const struct bnc_flow_key *key, const struct bnc_flow_value *value, void *arg)
{
	(void)key;
	tally_one(arg, value);
	return 0;
}

/* Batches of this many entries: one system call each instead of two per
 * entry, which on a full table of a million flows is the difference
 * between milliseconds and seconds.
 */
#define FLOW_BATCH 4096

/* Counts one flow map with batched lookups. -EINVAL or -EOPNOTSUPP from a
 * kernel without batch lookups on LRU maps; the caller then walks.
 */
static int flow_tally_batch(const struct bpf_map *map, struct flow_tally *t)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	struct bnc_flow_value *values = calloc(FLOW_BATCH, sizeof(*values));
	void *keys = calloc(FLOW_BATCH, bpf_map__key_size(map));
	/* The position token: a bucket index for hash maps. */
	__u64 token = 0;
	void *in = NULL;
	int fd = map_fd(map), err = 0;

	while (values && keys) {
		__u32 count = FLOW_BATCH;

		err = bpf_map_lookup_batch(fd, in, &token, keys, values, &count, &opts) ? -errno
											: 0;
		if (err && err != -ENOENT)
			break;
		for (__u32 i = 0; i < count; i++)
			tally_one(t, &values[i]);
		if (err == -ENOENT) {
			/* The end of the map. */
			err = 0;
			break;
		}
		in = &token;
	}
	if (!values || !keys)
		err = -ENOMEM;
	free(values);
	free(keys);
	return err;
}

int bnc_maps_flow_usage(struct bnc_maps *m, struct bnc_flow_usage *out, __u32 *per_backend)
{
	const struct bpf_map *maps[2] = { m->skel->maps.flows4, m->skel->maps.flows6 };
	struct flow_tally t[2] = { { .per_backend = per_backend }, { .per_backend = per_backend } };
	bool walk = false;
	int err = 0;

	for (int i = 0; i < 2 && !err; i++) {
		err = flow_tally_batch(maps[i], &t[i]);
		if (err == -EINVAL || err == -EOPNOTSUPP)
			walk = true;
	}
	if (walk) {
		/* Counted nothing that stays: walk both maps entry by entry. */
		if (per_backend)
			memset(per_backend, 0, BNC_MAX_BACKENDS * sizeof(*per_backend));
		t[0].n = t[1].n = 0;
		err = flow_walk(maps[0], true, tally_flow, &t[0]);
		if (!err)
			err = flow_walk(maps[1], false, tally_flow, &t[1]);
	}
	if (err)
		return err;
	out->ipv4 = t[0].n;
	out->ipv6 = t[1].n;
	out->size4 = bpf_map__max_entries(maps[0]);
	out->size6 = bpf_map__max_entries(maps[1]);
	return 0;
}

static __u32 cpu_share(const struct bpf_map *map)
{
	int cpus = libbpf_num_possible_cpus();
	__u32 size = bpf_map__max_entries(map);

	if (!(bpf_map__map_flags(map) & BPF_F_NO_COMMON_LRU) || cpus <= 0)
		return size;
	return size / (__u32)cpus;
}

void bnc_maps_flow_cpu_share(struct bnc_maps *m, __u32 *share4, __u32 *share6)
{
	*share4 = cpu_share(m->skel->maps.flows4);
	*share6 = cpu_share(m->skel->maps.flows6);
}

struct flow_victims {
	const __u32 *backend_id;
	struct bnc_flow_key *keys;
	size_t n, cap;
};

static int collect_victim(const struct bnc_flow_key *key, const struct bnc_flow_value *value,
			  void *arg)
{
	struct flow_victims *v = arg;
	struct bnc_flow_key *grown;

	if (v->backend_id && value->backend_id != *v->backend_id)
		return 0;
	if (v->n == v->cap) {
		v->cap = v->cap ? 2 * v->cap : 256;
		grown = realloc(v->keys, v->cap * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		v->keys = grown;
	}
	v->keys[v->n++] = *key;
	return 0;
}

int bnc_maps_flow_delete(struct bnc_maps *m, const struct bnc_flow_key *key)
{
	struct bnc_flow4_key k4;

	if (key->family == BNC_FAMILY_IPV4) {
		bnc_flow4_key_of(key, &k4);
		return bpf_map_delete_elem(map_fd(m->skel->maps.flows4), &k4) ? -errno : 0;
	}
	return bpf_map_delete_elem(map_fd(m->skel->maps.flows6), key) ? -errno : 0;
}

int bnc_maps_flow_flush(struct bnc_maps *m, const __u32 *backend_id, size_t *flushed)
{
	struct flow_victims v = { .backend_id = backend_id };
	size_t deleted = 0;
	int err;

	/* Collect first: deleting while iterating restarts the walk. */
	err = bnc_maps_flow_foreach(m, collect_victim, &v);
	for (size_t i = 0; i < v.n && !err; i++)
		if (bnc_maps_flow_delete(m, &v.keys[i]) == 0)
			deleted++;
	free(v.keys);
	/* The per-CPU flow caches may still hold the flushed flows: a new
	 * generation for every VIP sends their packets back to the table.
	 */
	for (__u32 id = 0; id < BNC_MAX_VIPS && !err; id++)
		err = vip_gen_bump(m, id);
	if (flushed)
		*flushed = deleted;
	return err;
}
