// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The control socket's commands (docs/control.md), answered from the
 * daemon's model and the maps.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>

#include "common/addr.h"
#include "common/ctl.h"
#include "daemon.h"
#include "common/log.h"
#include "common/util.h"
#include "common/vocab.h"
#include "workers_log.h"

#ifndef BOUNCER_VERSION
#define BOUNCER_VERSION "0.1"
#endif

#define FLOW_LIST_DEFAULT 100

/* A local worker is named by its worker: "address" "local", "port" where
 * it listens now, and a "worker" object. j is returned.
 */
static json_t *local_fields(json_t *j, const struct backend_rt *b)
{
	struct worker_info w = { .id = b->worker_id, .state = b->worker_state };

	if (!j || !b->local)
		return j;
	daemon_worker_info(b, &w);
	json_object_set_new(j, "address", json_string("local"));
	json_object_set_new(j, "port", json_integer(w.port));
	json_object_set_new(j, "local", json_true());
	json_object_set_new(j, "worker",
			    json_pack("{s:i, s:i, s:s, s:i}", "id", (int)w.id, "pid", (int)w.pid,
				      "state", worker_state_name(w.state), "restarts",
				      (int)w.restarts));
	return j;
}

/* The flows the ring placed, counted and a second: j is returned. */
static json_t *placed_fields(json_t *j, const struct bnc_traffic *t, double fps)
{
	if (j) {
		json_object_set_new(j, "new_flows", json_integer((json_int_t)t->flows));
		json_object_set_new(j, "fps", json_real(fps));
	}
	return j;
}

/* What of b was set at run time rather than read from the config file:
 * "added" (the whole backend), else "weight" and "admin" where they
 * differ from the file's values. j is returned.
 */
static json_t *run_time_fields(json_t *j, const struct backend_rt *b)
{
	json_t *what = json_array();

	if (!j || !what || b->local) {
		json_decref(what);
		return j;
	}
	if (b->added) {
		json_array_append_new(what, json_string("added"));
	} else {
		if (b->weight != b->cfg_weight)
			json_array_append_new(what, json_string("weight"));
		if (b->admin != b->cfg_admin)
			json_array_append_new(what, json_string("admin"));
		json_object_set_new(j, "config_weight", json_integer(b->cfg_weight));
		json_object_set_new(j, "config_admin", json_string(cfg_admin_name(b->cfg_admin)));
	}
	json_object_set_new(j, "run_time", what);
	return j;
}

static json_t *backend_json(struct daemon *d, const struct backend_rt *b)
{
	struct health_check_stats hs = { 0 };
	struct bnc_traffic t = { 0 };
	char addr[ADDR_STRLEN];

	addr_format(b->addr, b->family, addr, sizeof(addr));
	if (b->hc)
		health_check_get_stats(b->hc, &hs);
	bnc_maps_backend_stats(d->maps, b->id, &t);
	return run_time_fields(
		local_fields(
			placed_fields(
				json_pack(
					"{s:s, s:s, s:i, s:i, s:s, s:s, s:s, s:s, s:I, s:I, s:I, "
					"s:s, s:I, s:I, "
					"s:f, s:f}",
					"vip", b->vip->name, "address", addr, "port", (int)b->port,
					"weight", (int)b->weight, "admin", cfg_admin_name(b->admin),
					"health", daemon_backend_health(b), "datapath",
					daemon_datapath_state_name(b->datapath_state), "check",
					cfg_check_type_name(b->check.type), "checks",
					(json_int_t)hs.checks, "failures", (json_int_t)hs.failures,
					"transitions", (json_int_t)hs.transitions, "last_error",
					hs.last_error, "packets", (json_int_t)t.packets, "bytes",
					(json_int_t)t.bytes, "pps", b->pps, "bps", b->bps),
				&t, b->fps),
			b),
		b);
}

static json_t *vip_json(struct daemon *d, const struct vip_rt *v, bool with_backends)
{
	struct bnc_traffic t = { 0 };
	char addr[ADDR_STRLEN];
	unsigned int up = 0;
	json_t *j, *backends;

	for (size_t i = 0; i < v->nbackends; i++)
		up += v->backends[i]->datapath_state == BNC_BACKEND_UP;
	bnc_maps_vip_stats(d->maps, v->vip_id, &t);
	addr_format(v->key.addr, v->key.family, addr, sizeof(addr));
	j = json_pack("{s:s, s:s, s:i, s:s, s:s, s:i, s:s, s:b, s:i, s:i, s:b, s:I, s:I, s:f, "
		      "s:f}",
		      "name", v->name, "address", addr, "port", (int)ntohs(v->key.port), "protocol",
		      vocab_name(&vocab_protocol, v->key.proto), "forwarding",
		      vocab_name(&vocab_forwarding, v->forwarding), "ring_size", (int)v->ring_size,
		      "hash",
		      vocab_name(&vocab_hash, v->sticky ? CFG_HASH_SOURCE : CFG_HASH_5TUPLE),
		      "fail_open", v->fail_open, "backends_total", (int)v->nbackends, "backends_up",
		      (int)up, "failing_open", v->failing_open, "packets", (json_int_t)t.packets,
		      "bytes", (json_int_t)t.bytes, "pps", v->pps, "bps", v->bps);
	placed_fields(j, &t, v->fps);
	if (j) {
		json_object_set_new(j, "run_time",
				    v->added ? json_pack("[s]", "added") : json_array());
		json_object_set_new(j, "announced", json_boolean(daemon_vip_announced(d, v)));
		json_object_set_new(j, "slots_changed", json_integer(v->changed_slots));
	}
	if (!j || !with_backends)
		return j;
	backends = json_array();
	for (size_t i = 0; backends && i < v->nbackends; i++)
		json_array_append_new(backends, backend_json(d, v->backends[i]));
	json_object_set_new(j, "backends", backends ? backends : json_array());
	return j;
}

/* Argument helpers: each returns NULL after filling err when missing. */
static const char *arg_str(const json_t *args, const char *key, char *err, size_t errlen)
{
	const char *s = json_string_value(json_object_get(args, key));

	if (!s)
		snprintf(err, errlen, "missing string argument '%s'", key);
	return s;
}

static int arg_int(const json_t *args, const char *key, long long min, long long max,
		   long long *out, bool required, char *err, size_t errlen)
{
	json_t *v = json_object_get(args, key);

	if (!v) {
		if (required)
			snprintf(err, errlen, "missing number argument '%s'", key);
		return required ? -EINVAL : -ENOENT;
	}
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
		snprintf(err, errlen, "'%s' must be a whole number from %lld to %lld", key, min,
			 max);
		return -EINVAL;
	}
	*out = json_integer_value(v);
	return 0;
}

/* A whole number of any size, for the config's checks to judge: -ENOENT
 * when absent and not required.
 */
static int arg_number(const json_t *args, const char *key, bool required, long long *out, char *err,
		      size_t errlen)
{
	json_t *v = json_object_get(args, key);

	if (!v) {
		if (required)
			snprintf(err, errlen, "missing number argument '%s'", key);
		return required ? -EINVAL : -ENOENT;
	}
	if (!json_is_integer(v)) {
		snprintf(err, errlen, "'%s' must be a whole number", key);
		return -EINVAL;
	}
	*out = json_integer_value(v);
	return 0;
}

/* An optional string: *out NULL when absent. */
static int arg_opt_str(const json_t *args, const char *key, const char **out, char *err,
		       size_t errlen)
{
	json_t *v = json_object_get(args, key);

	*out = NULL;
	if (!v)
		return 0;
	if (!json_is_string(v)) {
		snprintf(err, errlen, "'%s' must be a string", key);
		return -EINVAL;
	}
	*out = json_string_value(v);
	return 0;
}

/* The value of one of v's words: else "KEY must be a, b or c, not 'TEXT'". */
static int arg_word(const struct vocab *v, const char *key, const char *text, int *out, char *err,
		    size_t errlen)
{
	char list[64];

	if (vocab_value(v, text, out) == 0)
		return 0;
	vocab_join(v, ", ", " or ", list, sizeof(list));
	snprintf(err, errlen, "%s must be %s, not '%s'", key, list, text);
	return -EINVAL;
}

static struct vip_rt *arg_vip(struct daemon *d, const json_t *args, const char *key, char *err,
			      size_t errlen)
{
	const char *name = arg_str(args, key, err, errlen);
	struct vip_rt *v;

	if (!name)
		return NULL;
	v = daemon_vip_find(d, name);
	if (!v)
		snprintf(err, errlen, "no VIP named '%s'", name);
	return v;
}

static struct backend_rt *arg_backend(struct daemon *d, const json_t *args, char *err,
				      size_t errlen)
{
	struct vip_rt *v = arg_vip(d, args, "vip", err, errlen);
	const char *addr_s;
	__be32 addr[4];
	long long port;
	__u8 family;
	struct backend_rt *b;

	if (!v)
		return NULL;
	addr_s = arg_str(args, "address", err, errlen);
	if (!addr_s || arg_int(args, "port", 1, 65535, &port, true, err, errlen))
		return NULL;
	if (strcmp(addr_s, "local") == 0) {
		snprintf(err, errlen,
			 "local workers are managed with worker.restart, worker.scale and "
			 "worker.reload");
		return NULL;
	}
	if (addr_parse(addr_s, addr, &family)) {
		snprintf(err, errlen, "'%s' is not an IP address", addr_s);
		return NULL;
	}
	b = daemon_backend_find(v, addr, family, (__u16)port);
	if (!b)
		snprintf(err, errlen, "vip %s has no backend %s port %lld", v->name, addr_s, port);
	return b;
}

/* The config file's VIPs and backends removed at run time: kept out of
 * reloads and restarts while the file lists them unchanged.
 */
static json_t *removed_json(const struct daemon *d)
{
	json_t *list = json_array();

	for (size_t i = 0; list && i < d->removed.n; i++) {
		const struct removed_item *it = &d->removed.items[i];
		char addr[ADDR_STRLEN];
		json_t *j = json_pack("{s:s}", "vip", it->vip);

		if (j && it->is_backend) {
			addr_format(it->addr, it->family, addr, sizeof(addr));
			json_object_set_new(j, "address", json_string(addr));
			json_object_set_new(j, "port", json_integer(it->port));
		}
		json_array_append_new(list, j);
	}
	return list ? list : json_array();
}

/* The host's announcements and drain: host.show, and status's "host". */
static json_t *host_json(const struct daemon *d)
{
	json_t *routes = json_array(), *j;
	char addr[ADDR_STRLEN];

	for (size_t i = 0; routes && i < d->nannounced; i++) {
		addr_format(d->announced[i].addr, d->announced[i].family, addr, sizeof(addr));
		json_array_append_new(routes, json_string(addr));
	}
	j = json_pack("{s:s, s:b, s:o, s:f}", "state", daemon_host_state(d), "announce",
		      d->cfg->announce, "announced", routes ? routes : json_array(), "pps",
		      daemon_host_pps(d));
	if (!j)
		return NULL;
	if (d->cfg->announce) {
		json_object_set_new(j, "table", json_integer(d->cfg->announce_table));
		json_object_set_new(j, "withdraw_wait_s",
				    json_real(d->cfg->announce_withdraw_wait_ms / 1000.0));
	}
	if (d->host_drained)
		json_object_set_new(j, "drained_after_s",
				    d->drained_after_s < 0 ? json_null()
							   : json_real(d->drained_after_s));
	return j;
}

static json_t *cmd_host_show(struct daemon *d, const json_t *args, char *err, size_t errlen)
{
	(void)args;
	(void)err;
	(void)errlen;
	return host_json(d);
}

static json_t *host_set(struct daemon *d, bool drain, char *err, size_t errlen)
{
	return daemon_host_drain(d, drain, err, errlen) ? NULL : host_json(d);
}

static json_t *cmd_host_drain(struct daemon *d, const json_t *args, char *err, size_t errlen)
{
	(void)args;
	return host_set(d, true, err, errlen);
}

static json_t *cmd_host_ready(struct daemon *d, const json_t *args, char *err, size_t errlen)
{
	(void)args;
	return host_set(d, false, err, errlen);
}

static json_t *cmd_status(struct daemon *d, const json_t *args, char *err, size_t errlen)
{
	json_t *ifaces = json_array();
	size_t nbackends = 0;

	(void)args;
	(void)err;
	(void)errlen;
	for (size_t i = 0; i < d->cfg->ninterfaces && ifaces; i++)
		json_array_append_new(
			ifaces,
			json_pack("{s:s, s:s}", "name", d->cfg->interfaces[i], "mode",
				  vocab_name(&vocab_attach_mode, (int)d->attached_mode[i])));
	for (size_t i = 0; i < d->nvips; i++)
		nbackends += d->vips[i]->nbackends;
	return json_pack("{s:s, s:i, s:I, s:s, s:s, s:o, s:i, s:i, s:b, s:o, s:o}", "version",
			 BOUNCER_VERSION, "map_abi", BNC_MAP_ABI_VERSION, "uptime_s",
			 (json_int_t)(time(NULL) - d->started), "config", d->cfg->path, "pin_dir",
			 d->cfg->pin_dir, "interfaces", ifaces ? ifaces : json_array(), "vips",
			 (int)d->nvips, "backends", (int)nbackends, "adopted", d->adopted,
			 "removed", removed_json(d), "host", host_json(d));
}

static json_t *cmd_vip_list(struct daemon *d, const json_t *args, char *err, size_t errlen)
{
	json_t *vips = json_array();

	(void)args;
	(void)err;
	(void)errlen;
	for (size_t i = 0; vips && i < d->nvips; i++)
		json_array_append_new(vips, vip_json(d, d->vips[i], false));
	return json_pack("{s:o}", "vips", vips ? vips : json_array());
}

static json_t *cmd_vip_show(struct daemon *d, const json_t *args, char *err, size_t errlen)
{
	struct vip_rt *v = arg_vip(d, args, "name", err, errlen);

	return v ? vip_json(d, v, true) : NULL;
}

/* The request's settings as given: what they mean is cfg_vip_init()'s,
 * whose defaults and checks are the config file's, and so are its
 * messages. The request names no check: backends added to the VIP later
 * are checked over TCP, as check = { type = "tcp"; } would have them.
 */
static json_t *cmd_vip_add(struct daemon *d, const json_t *args, char *err, size_t errlen)
{
	struct cfg_vip_args a = { .check = CFG_CHECK_TCP, .has_port = true };
	struct cfg_vip cv;
	int ret;

	if (!(a.name = arg_str(args, "name", err, errlen)) ||
	    !(a.address = arg_str(args, "address", err, errlen)) ||
	    !(a.protocol = arg_str(args, "protocol", err, errlen)) ||
	    arg_number(args, "port", true, &a.port, err, errlen) ||
	    arg_opt_str(args, "forwarding", &a.forwarding, err, errlen) ||
	    arg_opt_str(args, "hash", &a.hash, err, errlen))
		return NULL;
	ret = arg_number(args, "ring_size", false, &a.ring_size, err, errlen);
	if (ret == -EINVAL)
		return NULL;
	a.has_ring_size = ret == 0;
	ret = cfg_vip_init(&cv, &a, err, errlen);
	if (!ret)
		ret = daemon_vip_add(d, &cv, true, err, errlen);
	cfg_vip_release(&cv);
	if (ret && !err[0])
		snprintf(err, errlen, "%s", strerror(-ret));
	return ret ? NULL : json_object();
}

static json_t *cmd_vip_del(struct daemon *d, const json_t *args, char *err, size_t errlen)
{
	struct vip_rt *v = arg_vip(d, args, "name", err, errlen);

	if (!v)
		return NULL;
	if (daemon_vip_remove_at_run_time(d, v)) {
		snprintf(err, errlen, "cannot remove it: out of memory");
		return NULL;
	}
	return json_object();
}

static json_t *cmd_backend_list(struct daemon *d, const json_t *args, char *err, size_t errlen)
{
	json_t *list = json_array();
	struct vip_rt *only = NULL;

	if (json_object_get(args, "vip")) {
		only = arg_vip(d, args, "vip", err, errlen);
		if (!only) {
			json_decref(list);
			return NULL;
		}
	}
	for (size_t i = 0; list && i < d->nvips; i++) {
		if (only && d->vips[i] != only)
			continue;
		for (size_t j = 0; j < d->vips[i]->nbackends; j++)
			json_array_append_new(list, backend_json(d, d->vips[i]->backends[j]));
	}
	return json_pack("{s:o}", "backends", list ? list : json_array());
}

static json_t *cmd_backend_add(struct daemon *d, const json_t *args, char *err, size_t errlen)
{
	struct vip_rt *v = arg_vip(d, args, "vip", err, errlen);
	struct cfg_backend cb = { .weight = 1 };
	long long port, weight = 1;
	const char *addr, *state, *setting;
	int ret, admin = CFG_ADMIN_READY;

	if (!v || !(addr = arg_str(args, "address", err, errlen)) ||
	    arg_int(args, "port", 1, 65535, &port, true, err, errlen))
		return NULL;
	if (arg_int(args, "weight", 0, 65535, &weight, false, err, errlen) == -EINVAL)
		return NULL;
	if (addr_parse(addr, cb.addr, &cb.family)) {
		snprintf(err, errlen, "'%s' is not an IP address", addr);
		return NULL;
	}
	cb.port = (__u16)port;
	/* What the config file would refuse for this VIP. */
	if (cfg_backend_fits(d->cfg, v->forwarding, v->key.addr, v->key.family, ntohs(v->key.port),
			     &cb, &setting, err, errlen))
		return NULL;
	state = json_string_value(json_object_get(args, "state"));
	if (state && arg_word(&vocab_admin, "state", state, &admin, err, errlen))
		return NULL;
	cb.admin = (enum cfg_admin)admin;
	cb.weight = (__u32)weight;
	cb.check = v->check;
	ret = daemon_backend_add(d, v, &cb, err, errlen);
	if (ret && !err[0])
		snprintf(err, errlen, "%s", strerror(-ret));
	return ret ? NULL : json_object();
}

static json_t *cmd_backend_del(struct daemon *d, const json_t *args, char *err, size_t errlen)
{
	struct backend_rt *b = arg_backend(d, args, err, errlen);

	if (!b)
		return NULL;
	if (daemon_backend_remove_at_run_time(d, b)) {
		snprintf(err, errlen, "cannot remove it: out of memory");
		return NULL;
	}
	return json_object();
}

static json_t *cmd_backend_set(struct daemon *d, const json_t *args, char *err, size_t errlen)
{
	struct backend_rt *b = arg_backend(d, args, err, errlen);
	const char *state;
	long long weight;
	int ret, admin = CFG_ADMIN_READY;

	if (!b)
		return NULL;
	state = json_string_value(json_object_get(args, "state"));
	ret = arg_int(args, "weight", 0, 65535, &weight, false, err, errlen);
	if (ret == -EINVAL)
		return NULL;
	if (!state && ret == -ENOENT) {
		snprintf(err, errlen, "nothing to set: give state and/or weight");
		return NULL;
	}
	if (state && arg_word(&vocab_admin, "state", state, &admin, err, errlen))
		return NULL;
	/* Both checked before either is applied. */
	if (state && daemon_backend_set_admin(d, b, (enum cfg_admin)admin))
		snprintf(err, errlen, "cannot apply the state");
	if (ret == 0 && daemon_backend_set_weight(d, b, (__u32)weight))
		snprintf(err, errlen, "cannot apply the weight");
	return err[0] ? NULL : json_object();
}

/* Ring slots of every backend, indexed by backend id: ids are unique
 * across VIPs, so one pass over each ring fills one array.
 */
static __u32 *ring_slots(struct daemon *d)
{
	__u32 *slots = calloc(BNC_MAX_BACKENDS, sizeof(*slots));

	for (size_t i = 0; slots && i < d->nvips; i++)
		for (__u32 s = 0; d->vips[i]->ring && s < d->vips[i]->ring_size; s++)
			if (d->vips[i]->ring[s] < BNC_MAX_BACKENDS)
				slots[d->vips[i]->ring[s]]++;
	return slots;
}

/* With "flows": the flow table's use, and each backend's flows. Asked
 * for, not always sent: it reads the whole table (flow_watch_count() says
 * how often at most).
 */
static json_t *flow_table_json(struct daemon *d, const __u32 **per_backend)
{
	struct bnc_flow_usage u;
	double age_s;

	*per_backend =
		flow_watch_count(&d->flow_watch, d->maps, (double)now_ms() / 1000.0, &u, &age_s);
	if (!*per_backend)
		return NULL;
	return json_pack("{s:I, s:I, s:I, s:I, s:f}", "ipv4", (json_int_t)u.ipv4, "ipv6",
			 (json_int_t)u.ipv6, "size_ipv4", (json_int_t)u.size4, "size_ipv6",
			 (json_int_t)u.size6, "counted_s_ago", age_s);
}

static json_t *cmd_stats(struct daemon *d, const json_t *args, char *err, size_t errlen)
{
	json_t *global = json_object(), *vips = json_array(), *backends = json_array();
	json_t *flows = NULL, *sampled, *reply;
	bool want_flows = json_is_true(json_object_get(args, "flows"));
	__u32 *slots = ring_slots(d);
	const __u32 *per_backend = NULL;
	struct bnc_global_stats g;

	if (want_flows)
		flows = flow_table_json(d, &per_backend);
	if (!global || !vips || !backends || !slots || (want_flows && !flows) ||
	    bnc_maps_global_stats(d->maps, &g)) {
		snprintf(err, errlen, "cannot read the counters");
		json_decref(global);
		json_decref(vips);
		json_decref(backends);
		json_decref(flows);
		free(slots);
		return NULL;
	}
	for (int i = 0; i < BNC_STAT_MAX; i++)
		json_object_set_new(global, bnc_stat_name((enum bnc_stat)i),
				    json_integer((json_int_t)g.counters[i]));
	for (size_t i = 0; i < d->nvips; i++) {
		const struct vip_rt *v = d->vips[i];
		struct bnc_traffic t = { 0 };

		bnc_maps_vip_stats(d->maps, v->vip_id, &t);
		json_array_append_new(
			vips,
			placed_fields(json_pack("{s:s, s:I, s:I, s:f, s:f}", "name", v->name,
						"packets", (json_int_t)t.packets, "bytes",
						(json_int_t)t.bytes, "pps", v->pps, "bps", v->bps),
				      &t, v->fps));
		for (size_t j = 0; j < v->nbackends; j++) {
			const struct backend_rt *b = v->backends[j];
			__u32 n = b->id < BNC_MAX_BACKENDS ? slots[b->id] : 0;
			char addr[ADDR_STRLEN];
			json_t *one;

			memset(&t, 0, sizeof(t));
			bnc_maps_backend_stats(d->maps, b->id, &t);
			addr_format(b->addr, b->family, addr, sizeof(addr));
			one = json_pack("{s:s, s:s, s:i, s:I, s:I, s:f, s:f, s:i, s:f}", "vip",
					v->name, "address", addr, "port", (int)b->port, "packets",
					(json_int_t)t.packets, "bytes", (json_int_t)t.bytes, "pps",
					b->pps, "bps", b->bps, "slots", (int)n, "share",
					v->ring_size ? (double)n / v->ring_size : 0.0);
			placed_fields(one, &t, b->fps);
			if (one && per_backend && b->id < BNC_MAX_BACKENDS)
				json_object_set_new(one, "flows",
						    json_integer((json_int_t)per_backend[b->id]));
			json_array_append_new(backends, local_fields(one, b));
		}
	}
	free(slots);
	reply = json_pack("{s:o, s:o, s:o}", "global", global, "vips", vips, "backends", backends);
	/* Before the tick's first sample, one now. */
	if (!d->flow_watch.sampled)
		flow_watch_tick(&d->flow_watch, d->maps, (double)now_ms() / 1000.0);
	sampled = flow_watch_json(&d->flow_watch, (double)now_ms() / 1000.0);
	/* A count asked for (made now, or reused: counted_s_ago) wins over
	 * the sample's.
	 */
	if (sampled && flows)
		json_object_update(sampled, flows);
	json_decref(flows);
	if (reply && sampled)
		json_object_set_new(reply, "flow_table", sampled);
	else
		json_decref(sampled);
	return reply;
}

/* The seed new flows hash with (the datapath's, from the config map) and
 * the digest of v's ring under it, as 16 hex digits: a string, since JSON
 * integers are signed and not always 64 bits wide.
 */
static int ring_digest_fields(struct daemon *d, const struct vip_rt *v, json_t *j, char *err,
			      size_t errlen)
{
	struct bnc_config bc;
	char hex[17];
	__u64 digest;
	int ret;

	ret = bnc_maps_get_config(d->maps, &bc);
	if (!ret)
		ret = daemon_ring_digest(v, bc.hash_seed, &digest);
	if (ret) {
		snprintf(err, errlen, "vip %s: cannot compute the ring's digest: %s", v->name,
			 ret == -ENOENT ? "a slot names a backend the VIP no longer has"
					: strerror(-ret));
		return ret;
	}
	snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)digest);
	json_object_set_new(j, "hash_seed", json_integer(bc.hash_seed));
	json_object_set_new(j, "digest", json_string(hex));
	return 0;
}

static json_t *cmd_ring_show(struct daemon *d, const json_t *args, char *err, size_t errlen)
{
	struct vip_rt *v = arg_vip(d, args, "vip", err, errlen);
	json_t *list, *reply;

	if (!v)
		return NULL;
	list = json_array();
	for (size_t i = 0; list && i < v->nbackends; i++) {
		const struct backend_rt *b = v->backends[i];
		char addr[ADDR_STRLEN];
		__u32 slots = 0;

		for (__u32 s = 0; v->ring && s < v->ring_size; s++)
			slots += v->ring[s] == b->id;
		addr_format(b->addr, b->family, addr, sizeof(addr));
		json_array_append_new(
			list, local_fields(json_pack("{s:s, s:i, s:i, s:f}", "address", addr,
						     "port", (int)b->port, "slots", (int)slots,
						     "share", (double)slots / v->ring_size),
					   b));
	}
	reply = json_pack("{s:s, s:i, s:o, s:i, s:I}", "vip", v->name, "ring_size",
			  (int)v->ring_size, "backends", list ? list : json_array(), "moved",
			  (int)v->moved, "rebuilt_s", (json_int_t)(time(NULL) - v->rebuilt));
	if (reply && ring_digest_fields(d, v, reply, err, errlen)) {
		json_decref(reply);
		return NULL;
	}
	return reply;
}

struct flow_collect {
	struct daemon *d;
	const struct vip_rt *only;
	json_t *list;
	long long limit;
	long long total;
	__u64 now_ns;
};

static const struct backend_rt *backend_by_id(struct daemon *d, __u32 id)
{
	for (size_t i = 0; i < d->nvips; i++)
		for (size_t j = 0; j < d->vips[i]->nbackends; j++)
			if (d->vips[i]->backends[j]->id == id)
				return d->vips[i]->backends[j];
	return NULL;
}

static json_t *flow_json(struct daemon *d, const struct bnc_flow_key *k,
			 const struct bnc_flow_value *v, __u64 now_ns)
{
	const struct backend_rt *b = backend_by_id(d, v->backend_id);
	char src[ADDR_STRLEN], dst[ADDR_STRLEN], baddr[ADDR_STRLEN] = "?";

	addr_format(k->saddr, k->family, src, sizeof(src));
	addr_format(k->daddr, k->family, dst, sizeof(dst));
	json_t *j;

	if (b)
		addr_format(b->addr, b->family, baddr, sizeof(baddr));
	j = json_pack("{s:s, s:s, s:i, s:s, s:i, s:{s:s, s:i}, s:f}", "protocol",
		      vocab_name(&vocab_protocol, k->proto), "src", src, "sport",
		      (int)ntohs(k->sport), "dst", dst, "dport", (int)ntohs(k->dport), "backend",
		      "address", baddr, "port", b ? (int)b->port : 0, "idle_s",
		      bnc_flow_idle_s(v, now_ns));
	if (j && b)
		local_fields(json_object_get(j, "backend"), b);
	return j;
}

static int collect_flow(const struct bnc_flow_key *k, const struct bnc_flow_value *v, void *arg)
{
	struct flow_collect *c = arg;

	if (c->only && v->vip_id != c->only->vip_id)
		return 0;
	c->total++;
	if ((long long)json_array_size(c->list) < c->limit)
		json_array_append_new(c->list, flow_json(c->d, k, v, c->now_ns));
	return 0;
}

static json_t *cmd_flow_list(struct daemon *d, const json_t *args, char *err, size_t errlen)
{
	struct flow_collect c = { .d = d,
				  .limit = FLOW_LIST_DEFAULT,
				  .now_ns = bnc_flow_clock_ns() };

	if (json_object_get(args, "vip")) {
		c.only = arg_vip(d, args, "vip", err, errlen);
		if (!c.only)
			return NULL;
	}
	if (arg_int(args, "limit", 1, 1000000, &c.limit, false, err, errlen) == -EINVAL)
		return NULL;
	c.list = json_array();
	if (!c.list || bnc_maps_flow_foreach(d->maps, collect_flow, &c)) {
		json_decref(c.list);
		snprintf(err, errlen, "cannot read the flow table");
		return NULL;
	}
	return json_pack("{s:o, s:I}", "flows", c.list, "total", (json_int_t)c.total);
}

static json_t *cmd_flow_lookup(struct daemon *d, const json_t *args, char *err, size_t errlen)
{
	const char *proto = arg_str(args, "protocol", err, errlen), *src, *dst;
	struct bnc_flow_key k = { 0 };
	struct bnc_flow_value v;
	long long sport, dport;
	char list[32];
	int pn = 0;
	__u8 dfam;

	if (!proto || !(src = arg_str(args, "src", err, errlen)) ||
	    !(dst = arg_str(args, "dst", err, errlen)) ||
	    arg_int(args, "sport", 1, 65535, &sport, true, err, errlen) ||
	    arg_int(args, "dport", 1, 65535, &dport, true, err, errlen))
		return NULL;
	if (vocab_value(&vocab_protocol, proto, &pn) || addr_parse(src, k.saddr, &k.family) ||
	    addr_parse(dst, k.daddr, &dfam) || dfam != k.family) {
		vocab_join(&vocab_protocol, "|", NULL, list, sizeof(list));
		snprintf(err, errlen, "need %s and two addresses of one family", list);
		return NULL;
	}
	k.proto = (__u8)pn;
	k.sport = htons((__u16)sport);
	k.dport = htons((__u16)dport);
	if (bnc_maps_flow_lookup(d->maps, &k, &v)) {
		snprintf(err, errlen, "no such flow");
		return NULL;
	}
	return json_pack("{s:o}", "flow", flow_json(d, &k, &v, bnc_flow_clock_ns()));
}

static json_t *cmd_flow_flush(struct daemon *d, const json_t *args, char *err, size_t errlen)
{
	const struct backend_rt *b = NULL;
	size_t flushed = 0;

	if (json_object_get(args, "vip")) {
		b = arg_backend(d, args, err, errlen);
		if (!b)
			return NULL;
	}
	if (bnc_maps_flow_flush(d->maps, b ? &b->id : NULL, &flushed)) {
		snprintf(err, errlen, "cannot flush the flow table");
		return NULL;
	}
	flow_watch_deleted(&d->flow_watch, flushed);
	log_info("flushed %zu flows", flushed);
	return json_pack("{s:I}", "flushed", (json_int_t)flushed);
}

static json_t *cmd_reload(struct daemon *d, const json_t *args, char *err, size_t errlen)
{
	struct reload_summary s;

	(void)args;
	if (daemon_reload(d, &s, err, errlen)) {
		log_warnx("reload failed, the running config stays: %s", err);
		return NULL;
	}
	return json_pack("{s:i, s:i, s:i, s:i, s:i, s:i}", "vips_added", s.vips_added,
			 "vips_removed", s.vips_removed, "vips_changed", s.vips_changed,
			 "backends_added", s.backends_added, "backends_removed", s.backends_removed,
			 "backends_changed", s.backends_changed);
}

static json_t *cmd_detach(struct daemon *d, const json_t *args, char *err, size_t errlen)
{
	(void)args;
	(void)err;
	(void)errlen;
	log_info("detach requested over the control socket");
	daemon_detach(d);
	return json_object();
}

/* local_pps: the packets a second of all the VIP's workers, for shares. */
static json_t *worker_json(struct vip_rt *v, const struct worker_info *w, double local_pps,
			   time_t now)
{
	struct backend_rt *b = daemon_local_backend_find(v, w->id);

	return json_pack(
		"{s:i, s:i, s:i, s:s, s:I, s:i, s:i, s:f, s:f, s:I, s:b}", "id", (int)w->id, "pid",
		(int)w->pid, "port", (int)w->port, "state", worker_state_name(w->state), "uptime_s",
		(json_int_t)(w->pid > 0 && now > w->started ? now - w->started : 0), "restarts",
		(int)w->restarts, "backend_id", b ? (int)b->id : 0, "share",
		b && local_pps > 0 ? b->pps / local_pps : 0.0, "pps", b ? b->pps : 0.0, "packets",
		(json_int_t)(b ? b->last.packets : 0), "replacing", w->replacing);
}

static json_t *vip_workers_json(struct vip_rt *v)
{
	struct worker_info info[CFG_WORKERS_MAX];
	json_t *workers = json_array();
	time_t now = time(NULL);
	char command[512] = "";
	size_t n = worker_pool_list(v->pool, info, CFG_WORKERS_MAX), len = 0;
	double local_pps = 0;

	for (size_t i = 0; i < v->nbackends; i++)
		if (v->backends[i]->local)
			local_pps += v->backends[i]->pps;
	for (size_t i = 0; workers && i < n && i < CFG_WORKERS_MAX; i++)
		json_array_append_new(workers, worker_json(v, &info[i], local_pps, now));
	for (char **a = v->workers->argv; *a && len < sizeof(command); a++)
		len += (size_t)snprintf(command + len, sizeof(command) - len, "%s%s",
					len ? " " : "", *a);
	return json_pack("{s:s, s:i, s:s, s:b, s:s?, s:i, s:o}", "vip", v->name, "count",
			 (int)v->workers->count, "command", command, "reloading",
			 v->workers_reloading, "last_reload", v->workers_last_reload, "stopping",
			 (int)worker_pool_stopping(v->pool), "workers",
			 workers ? workers : json_array());
}

static json_t *cmd_worker_list(struct daemon *d, const json_t *args, char *err, size_t errlen)
{
	json_t *vips = json_array();
	struct vip_rt *only = NULL;

	if (json_object_get(args, "vip")) {
		only = arg_vip(d, args, "vip", err, errlen);
		if (!only) {
			json_decref(vips);
			return NULL;
		}
	}
	for (size_t i = 0; vips && i < d->nvips; i++) {
		struct vip_rt *v = d->vips[i];

		if ((!only || v == only) && v->pool)
			json_array_append_new(vips, vip_workers_json(v));
	}
	if (only && !only->pool) {
		snprintf(err, errlen, "vip %s has no workers", only->name);
		json_decref(vips);
		return NULL;
	}
	return json_pack("{s:o}", "vips", vips ? vips : json_array());
}

static json_t *cmd_worker_restart(struct daemon *d, const json_t *args, char *err, size_t errlen)
{
	struct vip_rt *v = arg_vip(d, args, "vip", err, errlen);
	struct worker_info w = { 0 };
	long long id;

	if (!v || arg_int(args, "id", 0, CFG_WORKERS_MAX - 1, &id, true, err, errlen))
		return NULL;
	/* The pid replaced, for bouncerctl's --wait to tell the new one. */
	worker_pool_info(v->pool, (unsigned int)id, &w);
	if (daemon_workers_restart(d, v, (unsigned int)id, err, errlen))
		return NULL;
	return json_pack("{s:i, s:i}", "id", (int)id, "pid", (int)w.pid);
}

static void worker_log_json(const struct worker_log_line *l, void *arg)
{
	json_array_append_new(arg,
			      json_pack("{s:I, s:I, s:i, s:i, s:s, s:s}", "seq", (json_int_t)l->seq,
					"time_ms", (json_int_t)l->time_ms, "id", (int)l->id, "pid",
					(int)l->pid, "stream", l->stream, "text", l->text));
}

/* The recent output of a VIP's workers, or of one: the last `lines`
 * (default 20), or every kept line after `after` (a `last` of before).
 */
static json_t *cmd_worker_logs(struct daemon *d, const json_t *args, char *err, size_t errlen)
{
	struct vip_rt *v = arg_vip(d, args, "vip", err, errlen);
	long long id = -1, lines = 20, after = 0;
	json_t *out;
	uint64_t last;

	/* Each optional: -ENOENT when not given. */
	if (!v || arg_int(args, "id", 0, CFG_WORKERS_MAX - 1, &id, false, err, errlen) == -EINVAL ||
	    arg_int(args, "lines", 1, (long long)WLOG_MAX_LINES * CFG_WORKERS_MAX, &lines, false,
		    err, errlen) == -EINVAL ||
	    arg_int(args, "after", 0, LLONG_MAX, &after, false, err, errlen) == -EINVAL)
		return NULL;
	if (!v->pool) {
		snprintf(err, errlen, "vip %s has no workers", v->name);
		return NULL;
	}
	if (id >= 0 && !worker_pool_info(v->pool, (unsigned int)id, &(struct worker_info){ 0 })) {
		snprintf(err, errlen, "vip %s has no worker %lld", v->name, id);
		return NULL;
	}
	out = json_array();
	/* After a sequence number: everything since, as tail -f does. */
	if (!out || worker_pool_logs(v->pool, (int)id, (uint64_t)after,
				     json_object_get(args, "after") ? 0 : (size_t)lines,
				     worker_log_json, out, &last)) {
		json_decref(out);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	return json_pack("{s:s, s:o, s:I}", "vip", v->name, "lines", out, "last", (json_int_t)last);
}

static json_t *cmd_worker_scale(struct daemon *d, const json_t *args, char *err, size_t errlen)
{
	struct vip_rt *v = arg_vip(d, args, "vip", err, errlen);
	long long count;

	if (!v || arg_int(args, "count", 1, CFG_WORKERS_MAX, &count, true, err, errlen) ||
	    daemon_workers_scale(d, v, (unsigned int)count, err, errlen))
		return NULL;
	return json_pack("{s:i}", "count", (int)count);
}

static json_t *cmd_worker_reload(struct daemon *d, const json_t *args, char *err, size_t errlen)
{
	json_t *started = json_array();
	struct vip_rt *only = NULL;

	if (json_object_get(args, "vip")) {
		only = arg_vip(d, args, "vip", err, errlen);
		if (!only) {
			json_decref(started);
			return NULL;
		}
	}
	for (size_t i = 0; started && i < d->nvips; i++) {
		struct vip_rt *v = d->vips[i];

		if ((only && v != only) || (!only && !v->pool))
			continue;
		if (daemon_workers_reload(d, v, err, errlen)) {
			json_decref(started);
			return NULL;
		}
		json_array_append_new(started, json_string(v->name));
	}
	return json_pack("{s:o}", "started", started ? started : json_array());
}

static const struct {
	const char *cmd;
	json_t *(*fn)(struct daemon *d, const json_t *args, char *err, size_t errlen);
} commands[] = {
	{ "status", cmd_status },
	{ "vip.list", cmd_vip_list },
	{ "vip.show", cmd_vip_show },
	{ "vip.add", cmd_vip_add },
	{ "vip.del", cmd_vip_del },
	{ "backend.list", cmd_backend_list },
	{ "backend.add", cmd_backend_add },
	{ "backend.del", cmd_backend_del },
	{ "backend.set", cmd_backend_set },
	{ "stats", cmd_stats },
	{ "ring.show", cmd_ring_show },
	{ "flow.list", cmd_flow_list },
	{ "flow.lookup", cmd_flow_lookup },
	{ "flow.flush", cmd_flow_flush },
	{ "reload", cmd_reload },
	{ "detach", cmd_detach },
	{ "worker.list", cmd_worker_list },
	{ "worker.restart", cmd_worker_restart },
	{ "worker.scale", cmd_worker_scale },
	{ "worker.reload", cmd_worker_reload },
	{ "worker.logs", cmd_worker_logs },
	{ "host.show", cmd_host_show },
	{ "host.drain", cmd_host_drain },
	{ "host.ready", cmd_host_ready },
};

json_t *daemon_ctl_handle(const char *cmd, const json_t *args, void *arg)
{
	struct daemon *d = arg;
	char err[512] = "";
	json_t *result;

	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(commands[i].cmd, cmd))
			continue;
		result = commands[i].fn(d, args, err, sizeof(err));
		if (!result)
			return ctl_reply_error("%s", err[0] ? err : "internal error");
		return ctl_reply_ok(result);
	}
	return ctl_reply_error("unknown command '%s'", cmd);
}
