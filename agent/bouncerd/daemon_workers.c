// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* A VIP's local workers in bouncerd: the pool (workers.c) that runs them,
 * one local backend per worker id in the VIP's ring, and each ready
 * worker's listening socket in the workers map, where the sk_lookup
 * program finds it. A worker is in the ring exactly while it listens: the
 * pool's events move it in and out at once, no health check involved.
 */
#include <errno.h>
#include <ifaddrs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "common/addr.h"
#include "daemon.h"
#include "common/log.h"

static struct vip_rt *vip_of_pool(struct daemon *d, const struct worker_pool *p)
{
	for (size_t i = 0; i < d->nvips; i++)
		if (d->vips[i]->pool == p)
			return d->vips[i];
	return NULL;
}

/* Ring first, then the map: a worker leaving traffic is out of the ring
 * before its socket goes, and one joining has its socket in place before
 * the ring names it.
 */
static void on_worker_event(struct worker_pool *p, unsigned int id, enum worker_state state,
			    int sock_fd, void *arg)
{
	struct daemon *d = arg;
	/* Events of a pool being stopped after its VIP went find no VIP. */
	struct vip_rt *v = vip_of_pool(d, p);
	struct backend_rt *b = v ? daemon_local_backend_find(v, id) : NULL;
	bool was = b && b->healthy;
	int err;

	if (!b) {
		if (sock_fd >= 0)
			close(sock_fd);
		return;
	}
	b->worker_state = state;
	b->health_known = true;
	if (sock_fd >= 0) {
		err = bnc_maps_worker_set(d->maps, b->id, sock_fd);
		close(sock_fd);
		if (err)
			log_warnx("vip %s worker/%u: cannot put its socket in the workers map: %s",
				  v->name, id, strerror(-err));
		b->healthy = err == 0;
	} else if (state != WORKER_READY) {
		b->healthy = false;
	}
	if (b->healthy != was || sock_fd >= 0 || state == WORKER_FAILED)
		daemon_vip_apply(d, v);
	else
		daemon_state_save(d); /* pids and restarts changed */
	if (!b->healthy)
		bnc_maps_worker_clear(d->maps, b->id);
}

/* The pool's spec from a workers block; points into cw, which must live
 * as long as the call that takes the spec (the pool copies it).
 */
static void spec_of(const struct vip_rt *v, const struct cfg_workers *cw, struct worker_spec *s)
{
	memset(s, 0, sizeof(*s));
	s->name = v->name;
	s->argv = cw->argv;
	s->env = cw->env;
	s->cwd = cw->cwd;
	s->has_user = cw->has_user;
	s->uid = cw->uid;
	s->gid = cw->gid;
	s->count = cw->count;
	s->port_base = cw->port_base;
	s->alt_port_base = cw->alt_port_base;
	s->proto = v->key.proto;
	s->conn_port = ntohs(v->key.port);
	s->udp_moved = v->key.proto == IPPROTO_UDP && v->daemon->binds_attached;
	s->ready_timeout_ms = cw->ready_timeout_ms;
	s->kill_timeout_ms = cw->kill_timeout_ms;
	s->drain_ms = cw->drain_ms;
	s->min_uptime_ms = cw->min_uptime_ms;
	s->backoff_initial_ms = cw->backoff_initial_ms;
	s->backoff_max_ms = cw->backoff_max_ms;
	s->backoff_reset_ms = cw->backoff_reset_ms;
	s->crash_limit = cw->crash_limit;
	s->crash_window_ms = cw->crash_window_ms;
	s->permanent_exit = cw->permanent_exit;
	s->npermanent = cw->npermanent;
}

/* One local backend per id below count, none at or above. */
static int backends_sync(struct daemon *d, struct vip_rt *v, unsigned int count)
{
	int err = 0;

	for (size_t i = 0; i < v->nbackends;) {
		struct backend_rt *b = v->backends[i];

		if (b->local && b->worker_id >= count)
			daemon_backend_del(d, b); /* shifts the rest down */
		else
			i++;
	}
	for (unsigned int id = 0; id < count && !err; id++)
		if (!daemon_local_backend_find(v, id))
			err = daemon_local_backend_add(d, v, id);
	return err;
}

static unsigned int pool_count(const struct vip_rt *v)
{
	return v->pool ? (unsigned int)worker_pool_list(v->pool, NULL, 0) : 0;
}

/* Workers get a VIP's connections only where the stack delivers them
 * locally: the address must be on an interface (lo will do).
 */
static bool vip_is_local(const struct vip_rt *v)
{
	struct ifaddrs *ifa, *i;
	bool found = false;

	if (getifaddrs(&ifa))
		return true; /* cannot tell: no warning */
	for (i = ifa; i && !found; i = i->ifa_next) {
		if (!i->ifa_addr)
			continue;
		if (i->ifa_addr->sa_family == AF_INET && v->key.family == BNC_FAMILY_IPV4)
			found = ((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr.s_addr ==
				v->key.addr[0];
		else if (i->ifa_addr->sa_family == AF_INET6 && v->key.family == BNC_FAMILY_IPV6)
			found = memcmp(&((struct sockaddr_in6 *)(void *)i->ifa_addr)->sin6_addr,
				       v->key.addr, 16) == 0;
	}
	freeifaddrs(ifa);
	return found;
}

int daemon_workers_start(struct daemon *d, struct vip_rt *v, const struct cfg_workers *cw,
			 char *err, size_t errlen)
{
	const struct saved_vip *saved = daemon_state_vip(d, v->name);
	struct worker_spec spec;
	int ret;

	v->workers = cfg_workers_dup(cw);
	if (!v->workers)
		return -ENOMEM;
	ret = backends_sync(d, v, cw->count);
	if (ret) {
		snprintf(err, errlen, "vip %s: no backend ids left for %u workers", v->name,
			 cw->count);
		return ret;
	}
	spec_of(v, v->workers, &spec);
	/* Its ports in worker_binds before any worker binds them. */
	daemon_binds_sync(d, v, cw->count);
	if (saved && memcmp(&saved->key, &v->key, sizeof(v->key)) == 0) {
		spec.adopt = saved->workers;
		spec.nadopt = saved->nworkers;
	}
	v->pool = worker_pool_start(d->base, &spec, on_worker_event, d);
	if (!v->pool) {
		ret = -errno;
		snprintf(err, errlen, "vip %s: cannot start workers (%s): %s", v->name, cw->argv[0],
			 ret == -ENOENT ? "no such program" : strerror(-ret));
		backends_sync(d, v, 0);
		daemon_binds_sync(d, NULL, 0);
		return ret;
	}
	log_info("vip %s: %u workers of %s on ports %u+", v->name, cw->count, cw->argv[0],
		 cw->port_base);
	/* Without the bind hook (see daemon_binds_ensure's warning) a UDP
	 * worker's replies leave from the port its socket is bound to.
	 */
	if (v->key.proto == IPPROTO_UDP && !spec.udp_moved)
		log_warnx("vip %s: UDP workers receive the VIP's datagrams, but their replies "
			  "leave from their own port (PORT), not %u: clients that check the "
			  "source port drop them",
			  v->name, ntohs(v->key.port));
	if (!vip_is_local(v)) {
		char addr[ADDR_STRLEN];

		addr_format(v->key.addr, v->key.family, addr, sizeof(addr));
		log_warnx("vip %s: %s is on no interface of this host: its workers get no "
			  "%s until it is (e.g. ip addr add %s dev lo)",
			  v->name, addr,
			  spec.udp_moved ? "datagrams, and cannot bind," : "connections", addr);
	}
	return 0;
}

void daemon_workers_stop(struct daemon *d, struct vip_rt *v, bool wait)
{
	struct worker_pool *p = v->pool;

	if (!p)
		return;
	/* Out of the ring while still serving: new connections go to the
	 * VIP's other backends before any worker is told to stop.
	 */
	for (size_t i = 0; i < v->nbackends; i++)
		if (v->backends[i]->local)
			v->backends[i]->healthy = false;
	daemon_vip_apply(d, v);
	v->pool = NULL;
	v->workers_reloading = false;
	cfg_workers_free(v->workers_next);
	v->workers_next = NULL;
	worker_pool_stop(p, wait);
	for (size_t i = 0; i < v->nbackends; i++)
		if (v->backends[i]->local)
			bnc_maps_worker_clear(d->maps, v->backends[i]->id);
	daemon_binds_sync(d, NULL, 0);
}

int daemon_workers_scale(struct daemon *d, struct vip_rt *v, unsigned int count, char *err,
			 size_t errlen)
{
	unsigned int now = pool_count(v);
	int ret;

	if (!v->pool) {
		snprintf(err, errlen, "vip %s has no workers", v->name);
		return -ENOENT;
	}
	if (count < 1 || count > CFG_WORKERS_MAX) {
		snprintf(err, errlen, "count must be 1 to %d", CFG_WORKERS_MAX);
		return -EINVAL;
	}
	/* Maglev gives every backend at least one slot. */
	if (v->nbackends - now + count > v->ring_size) {
		snprintf(err, errlen,
			 "vip %s: %u workers and its other backends need more than its "
			 "%u ring slots",
			 v->name, count, v->ring_size);
		return -ERANGE;
	}
	/* Backends for new ids exist before their workers can be ready. */
	ret = backends_sync(d, v, count > now ? count : now);
	if (!ret)
		ret = daemon_binds_sync(d, v, count);
	if (!ret)
		ret = worker_pool_scale(v->pool, count);
	if (ret == -ERANGE)
		snprintf(err, errlen,
			 "vip %s: %u workers do not fit between port_base %u and alt_port_base %u",
			 v->name, count, v->workers->port_base, v->workers->alt_port_base);
	else if (ret == -EBUSY)
		snprintf(err, errlen, "vip %s: a rolling reload or restart is running", v->name);
	else if (ret)
		snprintf(err, errlen, "vip %s: %s", v->name, strerror(-ret));
	backends_sync(d, v, pool_count(v));
	if (!ret) {
		v->workers->count = count;
		daemon_binds_sync(d, NULL, 0);
		log_info("vip %s: scaled from %u to %u workers", v->name, now, count);
	}
	daemon_vip_apply(d, v);
	return ret;
}

int daemon_workers_restart(struct daemon *d, struct vip_rt *v, unsigned int id, char *err,
			   size_t errlen)
{
	int ret;

	(void)d;
	if (!v->pool) {
		snprintf(err, errlen, "vip %s has no workers", v->name);
		return -ENOENT;
	}
	ret = worker_pool_restart(v->pool, id);
	if (ret == -ENOENT)
		snprintf(err, errlen, "vip %s has no worker %u", v->name, id);
	else if (ret == -EBUSY)
		snprintf(err, errlen,
			 "vip %s: a rolling reload or a restart of worker %u is running, or the "
			 "process it replaced is still stopping",
			 v->name, id);
	else if (ret)
		snprintf(err, errlen, "vip %s worker %u: %s", v->name, id, strerror(-ret));
	return ret;
}

static void on_reload_done(struct worker_pool *p, int result, void *arg)
{
	struct daemon *d = arg;
	struct vip_rt *v = vip_of_pool(d, p);
	char msg[160];

	if (!v)
		return;
	v->workers_reloading = false;
	if (result == 0)
		snprintf(msg, sizeof(msg), "ok");
	else if (result == -ETIMEDOUT)
		snprintf(msg, sizeof(msg),
			 "a replacement did not listen within the ready timeout: the old "
			 "workers serve on");
	else if (result == -ECHILD)
		snprintf(msg, sizeof(msg),
			 "a replacement exited before it listened: the old workers serve on");
	else
		snprintf(msg, sizeof(msg), "%s", strerror(-result));
	free(v->workers_last_reload);
	v->workers_last_reload = strdup(msg);
	/* The block the workers run is the new one only once all run it: a
	 * reload that stopped half-way is done again by the next config
	 * reload that asks for the new program.
	 */
	if (!result && v->workers_next) {
		cfg_workers_free(v->workers);
		v->workers = v->workers_next;
	} else {
		cfg_workers_free(v->workers_next);
	}
	v->workers_next = NULL;
	if (result)
		log_warnx("vip %s: rolling reload of the workers failed: %s", v->name, msg);
	else
		log_info("vip %s: rolling reload of the workers done", v->name);
	/* A reload that ended well also scaled the pool to the new count. */
	backends_sync(d, v, pool_count(v));
	daemon_binds_sync(d, NULL, 0);
	daemon_vip_apply(d, v);
}

/* Replaces every worker with one running next (NULL: the running block). */
static int workers_reload_with(struct daemon *d, struct vip_rt *v, const struct cfg_workers *next,
			       char *err, size_t errlen)
{
	struct cfg_workers *copy = next ? cfg_workers_dup(next) : NULL;
	unsigned int now = pool_count(v);
	struct worker_spec spec;
	int ret;

	if (next && !copy)
		return -ENOMEM;
	spec_of(v, copy ? copy : v->workers, &spec);
	ret = backends_sync(d, v, spec.count > now ? spec.count : now);
	/* The new block's ports in worker_binds before its workers bind. */
	v->workers_next = copy;
	if (!ret)
		ret = daemon_binds_sync(d, NULL, 0);
	if (!ret)
		ret = worker_pool_reload(v->pool, &spec, on_reload_done, d);
	if (ret) {
		v->workers_next = NULL;
		daemon_binds_sync(d, NULL, 0);
		cfg_workers_free(copy);
		backends_sync(d, v, now);
		snprintf(err, errlen, "vip %s: %s", v->name,
			 ret == -EBUSY ? "a rolling reload or a restart of the workers is running"
				       : strerror(-ret));
		return ret;
	}
	v->workers_reloading = true;
	log_info("vip %s: rolling reload of %u workers started", v->name, now);
	return 0;
}

int daemon_workers_reload(struct daemon *d, struct vip_rt *v, char *err, size_t errlen)
{
	if (!v->pool) {
		snprintf(err, errlen, "vip %s has no workers", v->name);
		return -ENOENT;
	}
	return workers_reload_with(d, v, NULL, err, errlen);
}

int daemon_workers_reconfigure(struct daemon *d, struct vip_rt *v, const struct cfg_workers *cw,
			       bool *changed, char *err, size_t errlen)
{
	if (!cw && !v->pool)
		return 0;
	*changed = true;
	if (!cw) {
		daemon_workers_stop(d, v, false);
		backends_sync(d, v, 0);
		cfg_workers_free(v->workers);
		v->workers = NULL;
		return 0;
	}
	if (!v->pool) {
		cfg_workers_free(v->workers);
		v->workers = NULL;
		return daemon_workers_start(d, v, cw, err, errlen);
	}
	if (!cfg_workers_same_program(v->workers, cw))
		return workers_reload_with(d, v, cw, err, errlen);
	if (v->workers->count != cw->count)
		return daemon_workers_scale(d, v, cw->count, err, errlen);
	*changed = false;
	return 0;
}

bool daemon_worker_info(const struct backend_rt *b, struct worker_info *out)
{
	return b->local && worker_pool_info(b->vip->pool, b->worker_id, out);
}
