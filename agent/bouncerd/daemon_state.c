// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The agent's state file, JSON (jansson); see daemon_state.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <jansson.h>

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
	return json_pack("{s:s, s:i, s:i, s:s, s:b, s:b, s:I, s:I, s:s}", "address", addr, "port",
			 (int)b->port, "id", (int)b->id, "admin", cfg_admin_name(b->admin),
			 "healthy", b->healthy, "health_known", b->health_known, "weight",
			 (json_int_t)b->weight, "config_weight", (json_int_t)b->cfg_weight,
			 "config_admin", cfg_admin_name(b->cfg_admin));
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
	return json_pack("{s:s, s:s, s:i, s:i, s:i, s:o, s:o}", "name", v->name, "address", addr,
			 "port", (int)ntohs(v->key.port), "protocol", (int)v->key.proto, "vip_id",
			 (int)v->vip_id, "backends", backends ? backends : json_array(), "workers",
			 workers ? workers : json_array());
}

int daemon_state_save(struct daemon *d)
{
	char tmp[sizeof(d->state_path) + 8];
	json_t *root, *vips = json_array();
	int err = 0;

	if (!d->state_path[0] || !vips) {
		json_decref(vips);
		return 0;
	}
	for (size_t i = 0; i < d->nvips; i++)
		json_array_append_new(vips, vip_json(d->vips[i]));
	root = json_pack("{s:i, s:o}", "next_backend_id", (int)d->next_backend_id, "vips", vips);
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
	int port, id, healthy, known;
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
	/* All three or none (a file of an older agent). */
	weight = cfg_weight = -1;
	cfg_admin = NULL;
	if (json_unpack(j, "{s?I, s?I, s?s}", "weight", &weight, "config_weight", &cfg_weight,
			"config_admin", &cfg_admin))
		return -EINVAL;
	if (weight < 0 && cfg_weight < 0 && !cfg_admin)
		return 0;
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
	int next = 0, err = 0;
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
	memset(st, 0, sizeof(*st));
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
