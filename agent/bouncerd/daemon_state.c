// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The agent's state file, JSON (jansson); see daemon_state.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>

#include "common/addr.h"
#include "daemon.h"
#include "daemon_state.h"
#include "common/log.h"

static json_t *backend_json(const struct backend_rt *b)
{
	char addr[ADDR_STRLEN];

	addr_format(b->addr, b->family, addr, sizeof(addr));
	/* The config file's values next to the running ones: a restarted
	 * agent keeps a run-time setting only while the config file's value
	 * is the same as when it was made.
	 */
	return json_pack("{s:s, s:i, s:i, s:s, s:b, s:b, s:I, s:I, s:s, s:b}", "address", addr,
			 "port", (int)b->port, "id", (int)b->id, "admin", cfg_admin_name(b->admin),
			 "healthy", b->healthy, "health_known", b->health_known, "weight",
			 (json_int_t)b->weight, "config_weight", (json_int_t)b->cfg_weight,
			 "config_admin", cfg_admin_name(b->cfg_admin), "added", b->added);
}

/* The workers running now, for an agent started after a crash to adopt
 * instead of starting others next to them.
 */
static json_t *workers_json(const struct vip_rt *v)
{
	struct worker_info info[CFG_WORKERS_MAX];
	json_t *workers = json_array();
	size_t n;

	if (!workers || !v->pool)
		return workers;
	n = worker_pool_list(v->pool, info, CFG_WORKERS_MAX);
	for (size_t i = 0; i < n && i < CFG_WORKERS_MAX; i++) {
		if (info[i].pid <= 0)
			continue;
		json_array_append_new(workers,
				      json_pack("{s:i, s:i, s:i, s:I, s:i}", "id", (int)info[i].id,
						"pid", (int)info[i].pid, "port", (int)info[i].port,
						"start_time", (json_int_t)info[i].start_time,
						"restarts", (int)info[i].restarts));
	}
	return workers;
}

static json_t *vip_json(const struct vip_rt *v)
{
	char addr[ADDR_STRLEN];
	json_t *backends = json_array(), *workers = workers_json(v);

	for (size_t i = 0; backends && i < v->nbackends; i++)
		json_array_append_new(backends, backend_json(v->backends[i]));
	addr_format(v->key.addr, v->key.family, addr, sizeof(addr));
	/* The settings too: a VIP added at run time is made again from
	 * them.
	 */
	return json_pack(
		"{s:s, s:s, s:i, s:i, s:i, s:b, s:s, s:s, s:s, s:i, s:o, s:o}", "name", v->name,
		"address", addr, "port", (int)ntohs(v->key.port), "protocol", (int)v->key.proto,
		"vip_id", (int)v->vip_id, "added", v->added, "forwarding",
		vocab_name(&vocab_forwarding, v->forwarding), "hash",
		vocab_name(&vocab_hash, v->sticky ? CFG_HASH_SOURCE : CFG_HASH_5TUPLE), "fail",
		vocab_name(&vocab_fail, v->fail_open ? CFG_FAIL_OPEN : CFG_FAIL_CLOSED),
		"ring_size", (int)v->ring_size, "backends", backends ? backends : json_array(),
		"workers", workers ? workers : json_array());
}

/* A config VIP, or one of its backends, removed at run time. */
static json_t *removed_json(const struct removed_item *it)
{
	char addr[ADDR_STRLEN];
	json_t *j;

	addr_format(it->key.addr, it->key.family, addr, sizeof(addr));
	j = json_pack("{s:s, s:s, s:i, s:i}", "vip", it->vip, "address", addr, "port",
		      (int)ntohs(it->key.port), "protocol", (int)it->key.proto);
	if (!j || !it->is_backend)
		return j;
	addr_format(it->addr, it->family, addr, sizeof(addr));
	json_object_set_new(j, "backend",
			    json_pack("{s:s, s:i, s:I, s:s}", "address", addr, "port",
				      (int)it->port, "config_weight", (json_int_t)it->cfg_weight,
				      "config_admin", cfg_admin_name(it->cfg_admin)));
	return j;
}

int daemon_state_save(struct daemon *d)
{
	char tmp[sizeof(d->state_path) + 8];
	json_t *root, *vips = json_array(), *removed = json_array();
	int err = 0;

	if (!d->state_path[0] || !vips || !removed) {
		json_decref(vips);
		json_decref(removed);
		return 0;
	}
	for (size_t i = 0; i < d->nvips; i++)
		json_array_append_new(vips, vip_json(d->vips[i]));
	for (size_t i = 0; i < d->removed.n; i++)
		json_array_append_new(removed, removed_json(&d->removed.items[i]));
	root = json_pack("{s:i, s:o, s:o, s:b}", "next_backend_id", (int)d->next_backend_id, "vips",
			 vips, "removed", removed, "host_drained", d->host_drained);
	if (!root)
		return -ENOMEM;
	snprintf(tmp, sizeof(tmp), "%s.new", d->state_path);
	/* A crash half-way leaves the old file whole: write, then rename. */
	if (json_dump_file(root, tmp, JSON_INDENT(1)) || rename(tmp, d->state_path)) {
		err = -errno;
		log_warn("cannot write the state file %s", d->state_path);
		unlink(tmp);
	}
	json_decref(root);
	return err;
}

static int saved_backend_read(json_t *j, struct saved_backend *b)
{
	const char *addr, *admin, *cfg_admin;
	int port, id, healthy, known, added;
	json_int_t weight, cfg_weight;

	if (json_unpack(j, "{s:s, s:i, s:i, s:s, s:b, s:b}", "address", &addr, "port", &port, "id",
			&id, "admin", &admin, "healthy", &healthy, "health_known", &known))
		return -EINVAL;
	if (addr_parse(addr, b->addr, &b->family) || port <= 0 || port > 65535 || id <= 0 ||
	    id >= BNC_MAX_BACKENDS || cfg_admin_parse(admin, &b->admin))
		return -EINVAL;
	b->port = (__u16)port;
	b->id = (__u32)id;
	b->healthy = healthy;
	b->health_known = known;
	added = 0;
	if (json_unpack(j, "{s?b}", "added", &added))
		return -EINVAL;
	b->added = added;
	/* All three or none (a file of an older agent). */
	weight = cfg_weight = -1;
	cfg_admin = NULL;
	if (json_unpack(j, "{s?I, s?I, s?s}", "weight", &weight, "config_weight", &cfg_weight,
			"config_admin", &cfg_admin))
		return -EINVAL;
	/* One added at run time has no config to fall back on. */
	if (weight < 0 && cfg_weight < 0 && !cfg_admin)
		return b->added ? -EINVAL : 0;
	if (weight < 0 || weight > 65535 || cfg_weight < 0 || cfg_weight > 65535 || !cfg_admin ||
	    cfg_admin_parse(cfg_admin, &b->cfg_admin))
		return -EINVAL;
	b->weight = (__u32)weight;
	b->cfg_weight = (__u32)cfg_weight;
	b->has_config = true;
	return 0;
}

static int saved_worker_read(json_t *j, struct worker_info *w)
{
	int id, pid, port, restarts;
	json_int_t start_time;

	memset(w, 0, sizeof(*w));
	if (json_unpack(j, "{s:i, s:i, s:i, s:I, s:i}", "id", &id, "pid", &pid, "port", &port,
			"start_time", &start_time, "restarts", &restarts) ||
	    id < 0 || id >= CFG_WORKERS_MAX || pid <= 0 || port <= 0 || port > 65535 ||
	    start_time < 0 || restarts < 0)
		return -EINVAL;
	w->id = (unsigned int)id;
	w->pid = (pid_t)pid;
	w->port = (__u16)port;
	w->start_time = (uint64_t)start_time;
	w->restarts = (unsigned int)restarts;
	return 0;
}

/* A word of vocab v at key, into *out; absent: *out untouched. */
static int saved_word_read(json_t *j, const char *key, const struct vocab *v, int *out)
{
	const char *word = NULL;

	if (json_unpack(j, "{s?s}", key, &word))
		return -EINVAL;
	return word ? vocab_value(v, word, out) : 0;
}

/* "added" and the settings a VIP added at run time is made again from:
 * required for one, optional (older agents wrote none) for the others.
 */
static int saved_vip_settings_read(json_t *j, struct saved_vip *v)
{
	int added = 0;
	json_int_t ring_size = -1;

	v->forwarding = v->hash = v->fail = -1;
	if (json_unpack(j, "{s?b, s?I}", "added", &added, "ring_size", &ring_size) ||
	    saved_word_read(j, "forwarding", &vocab_forwarding, &v->forwarding) ||
	    saved_word_read(j, "hash", &vocab_hash, &v->hash) ||
	    saved_word_read(j, "fail", &vocab_fail, &v->fail))
		return -EINVAL;
	v->added = added;
	if (ring_size > BNC_RING_SIZE_MAX)
		return -EINVAL;
	v->ring_size = ring_size > 0 ? (__u32)ring_size : 0;
	if (v->added && (v->forwarding < 0 || v->hash < 0 || v->fail < 0 || !v->ring_size))
		return -EINVAL;
	return 0;
}

static int saved_vip_read(json_t *j, struct saved_vip *v)
{
	const char *name, *addr;
	int port, proto, vip_id;
	json_t *backends, *workers, *b;
	size_t i;

	if (json_unpack(j, "{s:s, s:s, s:i, s:i, s:i, s:o}", "name", &name, "address", &addr,
			"port", &port, "protocol", &proto, "vip_id", &vip_id, "backends",
			&backends) ||
	    !json_is_array(backends))
		return -EINVAL;
	memset(&v->key, 0, sizeof(v->key));
	if (addr_parse(addr, v->key.addr, &v->key.family) || port <= 0 || port > 65535 ||
	    vip_id < 0 || vip_id >= BNC_MAX_VIPS)
		return -EINVAL;
	v->key.port = htons((__u16)port);
	v->key.proto = (__u8)proto;
	v->vip_id = (__u32)vip_id;
	if (saved_vip_settings_read(j, v))
		return -EINVAL;
	v->name = strdup(name);
	v->backends = calloc(json_array_size(backends) + 1, sizeof(*v->backends));
	if (!v->name || !v->backends)
		return -ENOMEM;
	json_array_foreach(backends, i, b)
	{
		if (saved_backend_read(b, &v->backends[v->nbackends]))
			return -EINVAL;
		v->nbackends++;
	}
	/* A state file of an agent without workers has none. */
	workers = json_object_get(j, "workers");
	if (!json_is_array(workers))
		return 0;
	v->workers = calloc(json_array_size(workers) + 1, sizeof(*v->workers));
	if (!v->workers)
		return -ENOMEM;
	json_array_foreach(workers, i, b)
	{
		if (saved_worker_read(b, &v->workers[v->nworkers]))
			return -EINVAL;
		v->nworkers++;
	}
	return 0;
}

static int saved_removed_read(json_t *j, struct removed_item *it)
{
	const char *vip, *addr, *baddr, *admin;
	int port, proto, bport;
	json_int_t weight;
	json_t *b = NULL;

	memset(it, 0, sizeof(*it));
	if (json_unpack(j, "{s:s, s:s, s:i, s:i, s?o}", "vip", &vip, "address", &addr, "port",
			&port, "protocol", &proto, "backend", &b) ||
	    addr_parse(addr, it->key.addr, &it->key.family) || port <= 0 || port > 65535 ||
	    (proto != IPPROTO_TCP && proto != IPPROTO_UDP))
		return -EINVAL;
	it->key.port = htons((__u16)port);
	it->key.proto = (__u8)proto;
	if (b) {
		if (json_unpack(b, "{s:s, s:i, s:I, s:s}", "address", &baddr, "port", &bport,
				"config_weight", &weight, "config_admin", &admin) ||
		    addr_parse(baddr, it->addr, &it->family) || bport <= 0 || bport > 65535 ||
		    weight < 0 || weight > 65535 || cfg_admin_parse(admin, &it->cfg_admin))
			return -EINVAL;
		it->is_backend = true;
		it->port = (__u16)bport;
		it->cfg_weight = (__u32)weight;
	}
	it->vip = (char *)vip; /* copied by removed_add() */
	return 0;
}

/* The config entries removed at run time (none in a file of an older
 * agent).
 */
static int saved_removed_list_read(json_t *root, struct removed_list *l)
{
	json_t *list = json_object_get(root, "removed"), *j;
	struct removed_item it;
	size_t i;

	if (!list)
		return 0;
	if (!json_is_array(list))
		return -EINVAL;
	json_array_foreach(list, i, j)
	{
		if (saved_removed_read(j, &it) || removed_add(l, &it))
			return -EINVAL;
	}
	return 0;
}

/* Ids given twice would make two backends (or VIPs) share flows and
 * counters: the file was not written by an agent, or not whole. Backend
 * ids are unique across VIPs (one id space, handed out round-robin).
 */
static int saved_state_check(const struct saved_state *st, const char *path)
{
	static bool backend_seen[BNC_MAX_BACKENDS], vip_seen[BNC_MAX_VIPS];

	memset(backend_seen, 0, sizeof(backend_seen));
	memset(vip_seen, 0, sizeof(vip_seen));
	for (size_t i = 0; i < st->nvips; i++) {
		const struct saved_vip *v = &st->vips[i];

		if (vip_seen[v->vip_id]) {
			log_warnx("%s: VIP id %u is given twice", path, v->vip_id);
			return -EINVAL;
		}
		vip_seen[v->vip_id] = true;
		for (size_t j = 0; j < i; j++) {
			if (strcmp(st->vips[j].name, v->name) == 0) {
				log_warnx("%s: VIP %s is listed twice", path, v->name);
				return -EINVAL;
			}
		}
		for (size_t j = 0; j < v->nbackends; j++) {
			__u32 id = v->backends[j].id;

			if (backend_seen[id]) {
				log_warnx("%s: backend id %u is given twice", path, id);
				return -EINVAL;
			}
			backend_seen[id] = true;
		}
	}
	return 0;
}

int daemon_state_read(const char *path, struct saved_state *st)
{
	json_t *root, *vips, *v;
	json_error_t jerr;
	int next = 0, err = 0, drained = 0;
	size_t i;

	memset(st, 0, sizeof(*st));
	if (access(path, F_OK))
		return -errno;
	/* Anything not as an agent writes it is refused whole: a state half
	 * taken would give flows to the wrong backends, or adopt processes
	 * that are not workers.
	 */
	root = json_load_file(path, 0, &jerr);
	if (!root) {
		log_warnx("%s:%d: the state file is not valid JSON (%s): ignored", path, jerr.line,
			  jerr.text);
		return -EINVAL;
	}
	if (json_unpack(root, "{s:i, s:o}", "next_backend_id", &next, "vips", &vips) ||
	    !json_is_array(vips)) {
		log_warnx("%s: not a state file: ignored", path);
		json_decref(root);
		return -EINVAL;
	}
	/* The id the next backend gets: BNC_MAX_BACKENDS itself wraps to 0,
	 * which is skipped.
	 */
	if (next <= 0 || next > BNC_MAX_BACKENDS) {
		log_warnx("%s: next_backend_id %d is out of range: the state file is ignored", path,
			  next);
		json_decref(root);
		return -EINVAL;
	}
	st->next_backend_id = (__u32)next;
	if (json_unpack(root, "{s?b}", "host_drained", &drained)) {
		log_warnx("%s: host_drained is not true or false: the state file is ignored", path);
		json_decref(root);
		return -EINVAL;
	}
	st->host_drained = drained;
	st->vips = calloc(json_array_size(vips) + 1, sizeof(*st->vips));
	if (!st->vips) {
		err = -ENOMEM;
		goto cleanup;
	}
	json_array_foreach(vips, i, v)
	{
		err = saved_vip_read(v, &st->vips[st->nvips]);
		if (err) {
			log_warnx("%s: VIP entry %zu (or one of its backends or workers) is not "
				  "valid: the state file is ignored",
				  path, i + 1);
			goto cleanup;
		}
		st->nvips++;
	}
	err = saved_removed_list_read(root, &st->removed);
	if (err) {
		log_warnx("%s: an entry of \"removed\" is not valid: the state file is ignored",
			  path);
		goto cleanup;
	}
	err = saved_state_check(st, path);
	if (err)
		log_warnx("%s: the state file is ignored", path);
cleanup:
	json_decref(root);
	if (err)
		daemon_state_free(st);
	return err;
}

void daemon_state_free(struct saved_state *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->nvips; i++) {
		free(st->vips[i].name);
		free(st->vips[i].backends);
		free(st->vips[i].workers);
	}
	/* Entries past nvips may hold a half-read VIP. */
	if (st->vips && st->vips[st->nvips].name) {
		free(st->vips[st->nvips].name);
		free(st->vips[st->nvips].backends);
		free(st->vips[st->nvips].workers);
	}
	free(st->vips);
	removed_free(&st->removed);
	memset(st, 0, sizeof(*st));
}

int daemon_state_vip_cfg(const struct saved_vip *sv, struct cfg_vip *cv, char *err, size_t errlen)
{
	char addr[ADDR_STRLEN];
	/* As vip.add makes one: a TCP check for the backends added later. */
	struct cfg_vip_args a = {
		.name = sv->name,
		.address = addr,
		.has_port = true,
		.port = ntohs(sv->key.port),
		.protocol = vocab_name(&vocab_protocol, sv->key.proto),
		.forwarding = vocab_name(&vocab_forwarding, sv->forwarding),
		.has_ring_size = true,
		.ring_size = sv->ring_size,
		.hash = vocab_name(&vocab_hash, sv->hash),
		.fail = vocab_name(&vocab_fail, sv->fail),
		.check = CFG_CHECK_TCP,
	};

	addr_format(sv->key.addr, sv->key.family, addr, sizeof(addr));
	return cfg_vip_init(cv, &a, err, errlen);
}

const struct saved_vip *daemon_state_vip(struct daemon *d, const char *name)
{
	if (!d->saved)
		return NULL;
	for (size_t i = 0; i < d->saved->nvips; i++)
		if (strcmp(d->saved->vips[i].name, name) == 0)
			return &d->saved->vips[i];
	return NULL;
}

const struct saved_backend *daemon_state_backend(struct daemon *d, const char *vip,
						 const __be32 addr[4], __u8 family, __u16 port)
{
	const struct saved_vip *v = daemon_state_vip(d, vip);

	if (!v)
		return NULL;
	for (size_t i = 0; i < v->nbackends; i++) {
		const struct saved_backend *b = &v->backends[i];

		if (b->family == family && b->port == port &&
		    memcmp(b->addr, addr, sizeof(b->addr)) == 0)
			return b;
	}
	return NULL;
}
