// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* UDP workers bound to their VIP's address and port. The cgroup bind hook
 * (bpf/bind.h), attached to a cgroup of the test's own with this process
 * in it: a UDP bind of a port in worker_binds becomes a bind of the VIP's
 * address and port with SO_REUSEPORT, in IPv4 and IPv6; a TCP bind, a
 * bind of another family or port, and one in another network namespace
 * (another cookie) stay as they are. Then the sk_lookup program with two
 * workers' sockets in one reuseport group on the VIP's address: every
 * datagram lands on the socket of the worker the ring names, never where
 * the group's own hash would put it.
 *
 * Runs as root in a network namespace of its own; skips without root, and
 * the hook's test without a cgroup2 mount.
 */
#define _GNU_SOURCE /* unshare */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "common/addr.h"
#include "dp.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

#define VIP4 "127.0.0.53" /* on lo already: 127.0.0.0/8 */
#define VIP6 "::1"
#define VIP_PORT 53
#define VIP_ID 300 /* above dp.c's VIP ids */
#define PORT_MOVED 47001 /* a worker's $PORT, moved for IPv4 and IPv6 */
#define PORT_OTHER_NS 47002 /* in the map under another namespace's cookie */
#define BE_A DP_BE_V4_A /* dp.c's ids, which its ring builder knows; made local here */
#define BE_B DP_BE_V4_B

static const char *skip_reason;

static void skip_unless_runnable(void)
{
	if (skip_reason) {
		print_message("skipped: %s\n", skip_reason);
		skip();
	}
}

static int env_setup(void **state)
{
	struct dp_env *env = calloc(1, sizeof(*env));

	if (!env)
		return -1;
	*state = env;
	if (skip_reason)
		return 0;
	return dp_env_setup(env) ? -1 : 0;
}

static int env_teardown(void **state)
{
	struct dp_env *env = *state;

	if (env->maps)
		dp_env_teardown(env);
	free(env);
	return 0;
}

static __u64 netns_cookie(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	socklen_t len = sizeof(__u64);
	__u64 cookie = 0;

	assert_true(fd >= 0);
	assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len), 0);
	close(fd);
	return cookie;
}

/* The cgroup2 mount point, from /proc/self/mountinfo; false when none. */
static bool cgroup2_mount(char *out, size_t len)
{
	char line[4096], mnt[PATH_MAX], type[64];
	bool found = false;
	FILE *f = fopen("/proc/self/mountinfo", "re");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		const char *sep = strstr(line, " - ");

		found = sep && sscanf(line, "%*s %*s %*s %*s %4095s", mnt) == 1 &&
			sscanf(sep + 3, "%63s", type) == 1 && !strcmp(type, "cgroup2") &&
			snprintf(out, len, "%s", mnt) < (int)len;
	}
	(void)fclose(f);
	return found;
}

/* This process's cgroup2 path under the mount ("/..."). */
static void own_cgroup(char *out, size_t len)
{
	char line[4096];
	FILE *f = fopen("/proc/self/cgroup", "re");
	bool found = false;

	assert_non_null(f);
	while (!found && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3))
			continue;
		line[strcspn(line, "\n")] = '\0';
		found = snprintf(out, len, "%s", line + 3) < (int)len;
	}
	(void)fclose(f);
	assert_true(found);
}

static void join_cgroup(const char *dir)
{
	char path[PATH_MAX + 32];
	FILE *f;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	f = fopen(path, "we");
	assert_non_null(f);
	assert_true(fprintf(f, "%d\n", (int)getpid()) > 0);
	assert_int_equal(fclose(f), 0);
}

static void bind_entry(struct bnc_bind_key *k, struct bnc_bind_value *v, uint16_t port,
		       const char *vip, __u64 cookie)
{
	memset(k, 0, sizeof(*k));
	memset(v, 0, sizeof(*v));
	assert_int_equal(addr_parse(vip, v->addr, &k->family), 0);
	k->port = htons(port);
	v->port = htons(VIP_PORT);
	v->netns_cookie = cookie;
}

/* Binds a new socket to the wildcard address and port; returns it, with
 * *bound set to where it ended up.
 */
static int bind_any(int family, int type, uint16_t port, struct sockaddr_storage *bound)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	socklen_t len = sizeof(*bound);
	int fd = socket(family, type | SOCK_CLOEXEC, 0), one = 1;

	assert_true(fd >= 0);
	if (family == AF_INET6)
		assert_int_equal(setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)), 0);
	if (family == AF_INET6)
		assert_int_equal(bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)), 0);
	else
		assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	memset(bound, 0, sizeof(*bound));
	assert_int_equal(getsockname(fd, (struct sockaddr *)bound, &len), 0);
	return fd;
}

static void assert_bound(const struct sockaddr_storage *ss, const char *addr, uint16_t port)
{
	char got[INET6_ADDRSTRLEN];
	uint16_t got_port;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)ss;

		inet_ntop(AF_INET, &sin->sin_addr, got, sizeof(got));
		got_port = ntohs(sin->sin_port);
	} else {
		const struct sockaddr_in6 *sin6 = (const void *)ss;

		inet_ntop(AF_INET6, &sin6->sin6_addr, got, sizeof(got));
		got_port = ntohs(sin6->sin6_port);
	}
	if (strcmp(got, addr) || got_port != port)
		fail_msg("bound to %s port %u, expected %s port %u", got, got_port, addr, port);
}

static int reuseport_of(int fd)
{
	socklen_t len = sizeof(int);
	int on = 0;

	assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, &len), 0);
	return on;
}

static void test_bind_hook(void **state)
{
	struct dp_env *env = *state;
	char mnt[PATH_MAX], home[PATH_MAX], dir[PATH_MAX + 64], back[2 * PATH_MAX];
	struct bnc_bind_key keys[3];
	struct bnc_bind_value values[3];
	struct sockaddr_storage ss;
	__u64 cookie = netns_cookie();
	int cg, fds[6], n = 0;

	skip_unless_runnable();
	if (!cgroup2_mount(mnt, sizeof(mnt))) {
		print_message("skipped: no cgroup2 mount\n");
		skip();
	}
	own_cgroup(home, sizeof(home));
	snprintf(dir, sizeof(dir), "%s/bouncer-test-udp-bind-%d", mnt, (int)getpid());
	assert_int_equal(mkdir(dir, 0755), 0);
	cg = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(cg >= 0);
	assert_int_equal(bnc_maps_bind_attach(env->maps, cg, NULL, NULL), 0);
	close(cg);
	bind_entry(&keys[0], &values[0], PORT_MOVED, VIP4, cookie);
	bind_entry(&keys[1], &values[1], PORT_MOVED, VIP6, cookie);
	bind_entry(&keys[2], &values[2], PORT_OTHER_NS, VIP4, cookie + 1);
	assert_int_equal(bnc_maps_binds_replace(env->maps, keys, values, 3), 0);
	join_cgroup(dir);

	/* Two workers' UDP sockets: both on the VIP's address and port, in
	 * one reuseport group.
	 */
	fds[n++] = bind_any(AF_INET, SOCK_DGRAM, PORT_MOVED, &ss);
	assert_bound(&ss, VIP4, VIP_PORT);
	assert_int_equal(reuseport_of(fds[n - 1]), 1);
	fds[n++] = bind_any(AF_INET, SOCK_DGRAM, PORT_MOVED, &ss);
	assert_bound(&ss, VIP4, VIP_PORT);
	fds[n++] = bind_any(AF_INET6, SOCK_DGRAM, PORT_MOVED, &ss);
	assert_bound(&ss, VIP6, VIP_PORT);
	assert_int_equal(reuseport_of(fds[n - 1]), 1);
	/* TCP on the same port: untouched. */
	fds[n++] = bind_any(AF_INET, SOCK_STREAM, PORT_MOVED, &ss);
	assert_bound(&ss, "0.0.0.0", PORT_MOVED);
	assert_int_equal(reuseport_of(fds[n - 1]), 0);
	/* Another namespace's entry, and a port not in the map. */
	fds[n++] = bind_any(AF_INET, SOCK_DGRAM, PORT_OTHER_NS, &ss);
	assert_bound(&ss, "0.0.0.0", PORT_OTHER_NS);
	fds[n++] = bind_any(AF_INET, SOCK_DGRAM, PORT_OTHER_NS + 1, &ss);
	assert_bound(&ss, "0.0.0.0", PORT_OTHER_NS + 1);
	assert_int_equal(reuseport_of(fds[n - 1]), 0);

	for (int i = 0; i < n; i++)
		close(fds[i]);
	/* The map emptied: a bind of the port stays where it asked. */
	assert_int_equal(bnc_maps_binds_replace(env->maps, NULL, NULL, 0), 0);
	fds[0] = bind_any(AF_INET, SOCK_DGRAM, PORT_MOVED, &ss);
	assert_bound(&ss, "0.0.0.0", PORT_MOVED);
	close(fds[0]);
	snprintf(back, sizeof(back), "%s%s", mnt, home);
	join_cgroup(back);
	assert_int_equal(rmdir(dir), 0);
}

/* A UDP socket in the VIP's reuseport group, as the bind hook leaves a
 * worker's.
 */
static int group_socket(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(VIP_PORT) };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), one = 1;

	assert_true(fd >= 0);
	assert_int_equal(inet_pton(AF_INET, VIP4, &sin.sin_addr), 1);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)), 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	return fd;
}

/* Which of the two sockets got the datagram: 0, 1, or -1 for none. */
static int landed_on(const int fds[2])
{
	struct pollfd p[2] = { { .fd = fds[0], .events = POLLIN },
			       { .fd = fds[1], .events = POLLIN } };
	char buf[16];

	if (poll(p, 2, 1000) <= 0)
		return -1;
	for (int i = 0; i < 2; i++)
		if (p[i].revents & POLLIN) {
			assert_true(recv(fds[i], buf, sizeof(buf), 0) > 0);
			return i;
		}
	return -1;
}

static void test_reuseport_group_bypassed(void **state)
{
	static const uint32_t ids[] = { BE_A, BE_B };
	struct dp_env *env = *state;
	struct bnc_vip_value value = { .vip_id = VIP_ID, .ring_size = DP_RING_SIZE };
	struct sockaddr_in vip = { .sin_family = AF_INET, .sin_port = htons(VIP_PORT) };
	struct bnc_vip_key key = { .port = htons(VIP_PORT), .proto = IPPROTO_UDP };
	unsigned int on[2] = { 0 };
	int fds[2];

	skip_unless_runnable();
	assert_int_equal(addr_parse(VIP4, key.addr, &key.family), 0);
	assert_int_equal(inet_pton(AF_INET, VIP4, &vip.sin_addr), 1);
	for (int i = 0; i < 2; i++) {
		struct bnc_backend be = { .kind = BNC_BACKEND_LOCAL, .state = BNC_BACKEND_UP };

		assert_int_equal(addr_parse("127.0.0.1", be.addr, &be.family), 0);
		be.port = htons(9500 + i);
		assert_int_equal(bnc_maps_backend_set(env->maps, ids[i], &be), 0);
		fds[i] = group_socket();
		assert_int_equal(bnc_maps_worker_set(env->maps, ids[i], fds[i]), 0);
	}
	assert_int_equal(bnc_maps_vip_add(env->maps, &key, &value), 0);
	assert_int_equal(dp_ring_fill(env, &key, ids, 2), 0);
	assert_int_equal(bnc_maps_sk_lookup_attach(env->maps, NULL, NULL), 0);
	/* 64 flows: a reuseport group's hash would put about half of them on
	 * the other socket; all of them on one worker would take odds of 2^-63.
	 */
	for (uint16_t sport = 40000; sport < 40064; sport++) {
		struct sockaddr_in src = { .sin_family = AF_INET,
					   .sin_port = htons(sport),
					   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		struct bnc_flow_key flow = { .sport = htons(sport),
					     .dport = htons(VIP_PORT),
					     .proto = IPPROTO_UDP,
					     .family = BNC_FAMILY_IPV4 };
		uint32_t choice;
		int c, at;

		flow.saddr[0] = src.sin_addr.s_addr;
		flow.daddr[0] = vip.sin_addr.s_addr;
		assert_int_equal(dp_ring_choice(env, &flow, &choice), 0);
		c = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		assert_true(c >= 0);
		assert_int_equal(bind(c, (struct sockaddr *)&src, sizeof(src)), 0);
		assert_int_equal(sendto(c, "q", 1, 0, (struct sockaddr *)&vip, sizeof(vip)), 1);
		at = landed_on(fds);
		close(c);
		if (at < 0)
			fail_msg("the datagram from port %u reached no worker", sport);
		if (ids[at] != choice)
			fail_msg("the datagram from port %u reached worker %u, the ring names %u",
				 sport, ids[at], choice);
		on[at]++;
	}
	assert_true(on[0] > 0 && on[1] > 0);
	close(fds[0]);
	close(fds[1]);
}

static int lo_up(void)
{
	struct ifreq ifr = { 0 };
	int fd, err = 0;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(fd, SIOCSIFFLAGS, &ifr))
			err = -errno;
	} else {
		err = -errno;
	}
	close(fd);
	return err;
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bind_hook, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_reuseport_group_bypassed, env_setup,
						env_teardown),
	};

	if (geteuid() != 0) {
		skip_reason = "needs root (BPF, a network namespace of its own)";
	} else if (unshare(CLONE_NEWNET) || lo_up()) {
		/* Our own namespace: the attached program goes with it. */
		perror("private network namespace");
		return 1;
	}
	return cmocka_run_group_tests_name("udp_bind", tests, NULL, NULL);
}
