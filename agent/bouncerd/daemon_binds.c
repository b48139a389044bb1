// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* UDP workers bound to their VIP's address and port. A worker binds
 * $PORT; the agent's cgroup bind hook (bpf/bind.h) binds a UDP worker's
 * socket to the VIP's address and port instead, in one reuseport group
 * with the VIP's other workers, so that its replies leave from where the
 * client sent its query. This file keeps the hook attached to the agent's
 * own cgroup (its workers are its children, and stay in it) and the
 * worker_binds map naming every port a UDP worker may bind.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "daemon.h"
#include "common/log.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71 /* <asm-generic/socket.h> of Linux 5.14 */
#endif

/* Stopped pools' ports go: a process binding one now is no worker. */
static bool is_udp_workers(const struct vip_rt *v, const struct vip_rt *grow)
{
	return v->key.proto == IPPROTO_UDP && v->workers && (v->pool || v == grow);
}

static bool cfg_has_udp_workers(const struct cfg *c)
{
	for (size_t i = 0; i < c->nvips; i++)
		if (c->vips[i].workers && c->vips[i].proto == IPPROTO_UDP)
			return true;
	return false;
}

/* Where the cgroup2 hierarchy is mounted, from /proc/self/mountinfo
 * (mount point: field 5; filesystem type: first field after " - ").
 */
static int cgroup2_mount(char *out, size_t len)
{
	char line[4096], mnt[PATH_MAX], type[64];
	int err = -ENOENT;
	FILE *f;

	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -errno;
	while (err && fgets(line, sizeof(line), f)) {
		const char *sep = strstr(line, " - ");

		if (!sep || sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1 ||
		    sscanf(sep + 3, "%63s", type) != 1 || strcmp(type, "cgroup2"))
			continue;
		if (snprintf(out, len, "%s", mnt) < (int)len)
			err = 0;
	}
	(void)fclose(f); /* read only: nothing to flush */
	return err;
}

/* This process's cgroup in the cgroup2 hierarchy: the "0::PATH" line of
 * /proc/self/cgroup.
 */
static int own_cgroup(char *out, size_t len)
{
	char line[4096];
	int err = -ENOENT;
	FILE *f;

	f = fopen("/proc/self/cgroup", "re");
	if (!f)
		return -errno;
	while (err && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3))
			continue;
		line[strcspn(line, "\n")] = '\0';
		if (snprintf(out, len, "%s", line + 3) < (int)len)
			err = 0;
	}
	(void)fclose(f); /* read only: nothing to flush */
	return err;
}

static int cgroup_open(char *path, size_t len)
{
	char mnt[PATH_MAX], cg[PATH_MAX];
	int fd, err;

	err = cgroup2_mount(mnt, sizeof(mnt));
	if (!err)
		err = own_cgroup(cg, sizeof(cg));
	if (err)
		return err;
	if (snprintf(path, len, "%s%s", mnt, strcmp(cg, "/") ? cg : "") >= (int)len)
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return fd;
}

int daemon_binds_ensure(struct daemon *d, const struct cfg *c)
{
	char pin4[PATH_MAX], pin6[PATH_MAX], path[PATH_MAX] = "";
	int fd, err;

	if (d->binds_attached)
		return 0;
	snprintf(pin4, sizeof(pin4), "%s/link_bind4", d->cfg->pin_dir);
	snprintf(pin6, sizeof(pin6), "%s/link_bind6", d->cfg->pin_dir);
	err = bnc_maps_bind_link_adopt(d->maps, pin4, pin6);
	if (!err) {
		d->binds_attached = true;
		log_info("took over the bind hook of UDP workers");
		return 0;
	}
	if (err != -ENOENT) {
		log_warnx("cannot take over the bind hook links pinned at %s: %s", pin4,
			  strerror(-err));
		return err;
	}
	if (!cfg_has_udp_workers(c))
		return 0;
	fd = cgroup_open(path, sizeof(path));
	if (fd < 0) {
		err = fd;
	} else {
		err = bnc_maps_bind_attach(d->maps, fd, pin4, pin6);
		close(fd);
	}
	/* Not fatal: the workers still get the VIP's datagrams, and the
	 * agent names each one whose socket stays on its own port.
	 */
	if (err) {
		log_warnx("cannot attach the bind hook of UDP workers to cgroup %s: %s: their "
			  "replies will leave from their own port, not the VIP's",
			  path[0] ? path : "(no cgroup2 mount)", strerror(-err));
		return 0;
	}
	d->binds_attached = true;
	log_info("bind hook attached to cgroup %s: UDP workers answer from their VIP's port", path);
	return 0;
}

static int netns_cookie(__u64 *cookie)
{
	socklen_t len = sizeof(*cookie);
	int fd, err = 0;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, cookie, &len))
		err = -errno;
	close(fd);
	return err;
}

struct binds {
	struct bnc_bind_key *keys;
	struct bnc_bind_value *values;
	size_t n, cap;
};

static int binds_add(struct binds *b, const struct vip_rt *v, __u64 cookie, unsigned int port)
{
	struct bnc_bind_value *val;
	struct bnc_bind_key *k;

	if (port > 0xffff)
		return 0; /* a port the pool never hands out */
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;

		k = realloc(b->keys, cap * sizeof(*k));
		if (!k)
			return -ENOMEM;
		b->keys = k;
		val = realloc(b->values, cap * sizeof(*val));
		if (!val)
			return -ENOMEM;
		b->values = val;
		b->cap = cap;
	}
	b->keys[b->n] =
		(struct bnc_bind_key){ .port = htons((__u16)port), .family = v->key.family };
	b->values[b->n] = (struct bnc_bind_value){ .netns_cookie = cookie, .port = v->key.port };
	memcpy(b->values[b->n].addr, v->key.addr, sizeof(v->key.addr));
	b->n++;
	return 0;
}

/* Both port ranges of a workers block, count wide. */
static int binds_add_block(struct binds *b, const struct vip_rt *v, const struct cfg_workers *cw,
			   unsigned int count, __u64 cookie)
{
	/* The pool's default when the block leaves it out. */
	unsigned int alt = cw->alt_port_base ? cw->alt_port_base : cw->port_base + cw->count;
	int err = 0;

	for (unsigned int i = 0; i < count && !err; i++) {
		err = binds_add(b, v, cookie, cw->port_base + i);
		if (!err)
			err = binds_add(b, v, cookie, alt + i);
	}
	return err;
}

static unsigned int max_u(unsigned int a, unsigned int b)
{
	return a > b ? a : b;
}

int daemon_binds_sync(struct daemon *d, const struct vip_rt *grow, unsigned int count)
{
	struct binds b = { 0 };
	__u64 cookie = 0;
	int err;

	err = netns_cookie(&cookie);
	for (size_t i = 0; i < d->nvips && !err; i++) {
		const struct vip_rt *v = d->vips[i];
		unsigned int n;

		if (!is_udp_workers(v, grow))
			continue;
		n = max_u(v->workers->count, v->pool ? worker_pool_list(v->pool, NULL, 0) : 0);
		if (v == grow)
			n = max_u(n, count);
		err = binds_add_block(&b, v, v->workers, n, cookie);
		if (!err && v->workers_next)
			err = binds_add_block(&b, v, v->workers_next,
					      max_u(n, v->workers_next->count), cookie);
	}
	if (!err)
		err = bnc_maps_binds_replace(d->maps, b.keys, b.values, b.n);
	if (err)
		log_warnx("cannot update the ports of UDP workers in the worker_binds map: %s",
			  strerror(-err));
	free(b.keys);
	free(b.values);
	return err;
}
