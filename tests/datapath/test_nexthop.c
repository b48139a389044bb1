// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Next-hop resolution against real routing and neighbour tables. The test
 * moves itself into a private network namespace (gone when it exits) and
 * builds there:
 *
 *   nh0 10.9.0.1/24 fd00:9::1/64 ---veth--- nh1 10.9.0.3 fd00:9::3
 *       mtu 1480, static neighbours           in a second namespace, held
 *       and gateways on it                    by a child: a live peer that
 *                                             answers ARP and ND
 *   nh2 ---veth--- nh3                        a second device, for a
 *                                             neighbour on the wrong one
 */
#define _GNU_SOURCE /* unshare, pipe2 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <net/if.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "common/addr.h"
#include "bouncerd/nexthop.h"

#define DEV "nh0"
#define DEV_MAC "02:00:00:00:09:01"
#define DEV_MTU 1480
#define STR_(x) #x
#define STR(x) STR_(x)
#define ROUTE_MTU 1400
#define PEER_DEV "nh1"
#define PEER_MAC "02:00:00:00:09:03"
#define GW4_MAC "02:00:00:00:09:02" /* 10.9.0.2 */
#define GW4B_MAC "02:00:00:00:09:04" /* 10.9.0.4 */
#define GW6_MAC "02:00:00:00:96:02" /* fd00:9::2 */
#define GW6LL_MAC "02:00:00:00:96:04" /* fe80::9:4 */
/* How long a live peer may take to answer: it takes milliseconds. */
#define RESOLVE_DEADLINE_MS 3000

/* The child holding the peer's namespace, and the pipe whose closing tells
 * it to go.
 */
static pid_t peer_pid = -1;
static int peer_hold = -1;

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (rc < 0 || (size_t)rc >= sizeof(cmd))
		return -1;
	rc = system(cmd);
	if (rc != 0)
		fprintf(stderr, "test_nexthop: \"%s\" failed (status %d)\n", cmd, rc);
	return rc;
}

static const char *const topology[] = {
	"ip link set lo up",
	"ip link add " DEV " address " DEV_MAC " mtu " STR(DEV_MTU) " type veth peer name " PEER_DEV
								    " address " PEER_MAC,
	"ip link add nh2 type veth peer name nh3",
	"ip link set " DEV " up",
	"ip link set nh2 up",
	"ip addr add 10.9.0.1/24 dev " DEV,
	"ip -6 addr add fd00:9::1/64 dev " DEV " nodad",
	"ip neigh replace 10.9.0.2 lladdr " GW4_MAC " nud permanent dev " DEV,
	"ip neigh replace 10.9.0.4 lladdr " GW4B_MAC " nud permanent dev " DEV,
	"ip -6 neigh replace fd00:9::2 lladdr " GW6_MAC " nud permanent dev " DEV,
	"ip -6 neigh replace fe80::9:4 lladdr " GW6LL_MAC " nud permanent dev " DEV,
	/* 10.9.0.6 is on nh0's subnet, but known only on nh2. */
	"ip neigh replace 10.9.0.6 lladdr 02:00:00:00:09:06 nud permanent dev nh2",
	"ip route add 10.9.8.0/24 via 10.9.0.2 mtu " STR(ROUTE_MTU),
	"ip route add 10.9.9.0/24 via 10.9.0.4",
	"ip route add 10.9.7.0/24 via inet6 fd00:9::2 dev " DEV,
	"ip -6 route add fd00:98::/64 via fd00:9::2 mtu " STR(ROUTE_MTU),
	"ip -6 route add fd00:97::/64 via fe80::9:4 dev " DEV,
	"ip route add unreachable 198.51.100.0/26",
	"ip route add prohibit 198.51.100.64/26",
	"ip route add blackhole 198.51.100.128/26",
	"ip -6 route add unreachable 2001:db8:1::/64",
	"ip -6 route add prohibit 2001:db8:2::/64",
	"ip -6 route add blackhole 2001:db8:3::/64",
	"ip route add 203.0.113.0/24 dev lo",
};

/* The child: makes a namespace, waits for the parent to move the peer end
 * of the veth into it, configures it, then lives until the parent closes
 * hold (or dies), so that the namespace lives as long as the test.
 */
static void peer_main(int ready, int hold)
{
	char c = 'n';

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (unshare(CLONE_NEWNET) == 0)
		c = 'u';
	if (write(ready, &c, 1) != 1 || c != 'u' || read(hold, &c, 1) != 1)
		_exit(1);
	c = sh("ip link set lo up && ip link set " PEER_DEV " up && "
	       "ip addr add 10.9.0.3/24 dev " PEER_DEV " && "
	       "ip -6 addr add fd00:9::3/64 dev " PEER_DEV " nodad") == 0
		    ? 'c'
		    : 'f';
	if (write(ready, &c, 1) != 1)
		_exit(1);
	while (read(hold, &c, 1) > 0)
		;
	/* No exit handlers: LeakSanitizer belongs to the parent. */
	_exit(0);
}

static int peer_start(void)
{
	int ready[2] = { -1, -1 }, hold[2] = { -1, -1 };
	int err = -1;
	char c = 0;

	if (pipe2(ready, O_CLOEXEC) || pipe2(hold, O_CLOEXEC))
		goto cleanup;
	peer_pid = fork();
	if (peer_pid < 0)
		goto cleanup;
	if (peer_pid == 0) {
		close(ready[0]);
		close(hold[1]);
		peer_main(ready[1], hold[0]);
	}
	close(ready[1]);
	ready[1] = -1;
	close(hold[0]);
	hold[0] = -1;
	peer_hold = hold[1];
	hold[1] = -1;
	if (read(ready[0], &c, 1) != 1 || c != 'u') {
		fprintf(stderr, "test_nexthop: the peer's namespace failed\n");
		goto cleanup;
	}
	if (sh("ip link set " PEER_DEV " netns %d", (int)peer_pid) || write(peer_hold, "m", 1) != 1)
		goto cleanup;
	if (read(ready[0], &c, 1) != 1 || c != 'c') {
		fprintf(stderr, "test_nexthop: configuring the peer failed\n");
		goto cleanup;
	}
	err = 0;
cleanup:
	for (int i = 0; i < 2; i++) {
		if (ready[i] >= 0)
			close(ready[i]);
		if (hold[i] >= 0)
			close(hold[i]);
	}
	return err;
}

static int peer_stop(void **state)
{
	(void)state;
	if (peer_hold >= 0)
		close(peer_hold);
	peer_hold = -1;
	if (peer_pid > 0)
		waitpid(peer_pid, NULL, 0);
	peer_pid = -1;
	return 0;
}

static int topology_setup(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(topology) / sizeof(topology[0]); i++)
		if (sh("%s", topology[i]))
			return -1;
	return peer_start();
}

static int resolve(const char *addr, struct nexthop *nh)
{
	__be32 a[4];
	__u8 family;

	assert_int_equal(addr_parse(addr, a, &family), 0);
	memset(nh, 0xa5, sizeof(*nh));
	return nexthop_resolve(a, family, nh);
}

static int solicit(const char *addr)
{
	__be32 a[4];
	__u8 family;

	assert_int_equal(addr_parse(addr, a, &family), 0);
	return nexthop_solicit(a, family);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Polls until addr resolves or the deadline passes; the last result. */
static int resolve_within(const char *addr, struct nexthop *nh, int ms)
{
	const struct timespec pause = { .tv_nsec = 5L * 1000 * 1000 };
	long long deadline = now_ms() + ms;
	int rc;

	while ((rc = resolve(addr, nh)) == -EAGAIN && now_ms() < deadline)
		nanosleep(&pause, NULL);
	return rc;
}

static void assert_mac(const __u8 mac[6], const char *want)
{
	__u8 w[6];

	assert_int_equal(mac_parse(want, w), 0);
	assert_memory_equal(mac, w, sizeof(w));
}

/* What every resolution out of nh0 has in common. */
static void assert_on_dev(const struct nexthop *nh, const char *dmac, unsigned int mtu)
{
	assert_mac(nh->dmac, dmac);
	assert_mac(nh->smac, DEV_MAC);
	assert_int_equal(nh->ifindex, if_nametoindex(DEV));
	assert_int_equal(nh->mtu, mtu);
}

static void test_v4_on_link(void **state)
{
	struct nexthop nh;

	(void)state;
	assert_int_equal(resolve("10.9.0.2", &nh), 0);
	assert_on_dev(&nh, GW4_MAC, DEV_MTU);
}

static void test_v4_via_gateway_route_mtu(void **state)
{
	struct nexthop nh;

	(void)state;
	assert_int_equal(resolve("10.9.8.7", &nh), 0);
	assert_on_dev(&nh, GW4_MAC, ROUTE_MTU);
}

static void test_v4_via_gateway_device_mtu(void **state)
{
	struct nexthop nh;

	(void)state;
	assert_int_equal(resolve("10.9.9.7", &nh), 0);
	assert_on_dev(&nh, GW4B_MAC, DEV_MTU);
}

/* An IPv4 route via an IPv6 router (RTA_VIA): the router's MAC comes from
 * the IPv6 neighbour table.
 */
static void test_v4_via_v6_gateway(void **state)
{
	struct nexthop nh;

	(void)state;
	assert_int_equal(resolve("10.9.7.7", &nh), 0);
	assert_on_dev(&nh, GW6_MAC, DEV_MTU);
}

/* Which neighbour states give a usable MAC. DELAY turns into PROBE at
 * once; both count.
 */
static void test_v4_neighbour_states(void **state)
{
	static const struct {
		const char *addr, *nud;
		int want;
	} cases[] = {
		{ "10.9.0.20", "stale", 0 },	    { "10.9.0.21", "reachable", 0 },
		{ "10.9.0.22", "noarp", 0 },	    { "10.9.0.23", "delay", 0 },
		{ "10.9.0.24", "probe", 0 },	    { "10.9.0.25", "permanent", 0 },
		{ "10.9.0.26", "failed", -EAGAIN },
	};
	struct nexthop nh;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char mac[18];

		snprintf(mac, sizeof(mac), "02:00:00:00:09:%s", cases[i].addr + 7);
		assert_int_equal(sh("ip neigh replace %s lladdr %s nud %s dev " DEV, cases[i].addr,
				    mac, cases[i].nud),
				 0);
		if (resolve(cases[i].addr, &nh) != cases[i].want)
			fail_msg("%s in state %s", cases[i].addr, cases[i].nud);
		if (cases[i].want == 0)
			assert_on_dev(&nh, mac, DEV_MTU);
	}
	assert_int_equal(sh("ip neigh replace 10.9.0.27 nud incomplete dev " DEV), 0);
	assert_int_equal(resolve("10.9.0.27", &nh), -EAGAIN);
}

/* Nobody answers for 10.9.0.5: soliciting leaves an INCOMPLETE entry,
 * which is not resolved; a static entry then is.
 */
static void test_v4_unresolved_then_static(void **state)
{
	struct nexthop nh;

	(void)state;
	assert_int_equal(resolve("10.9.0.5", &nh), -EAGAIN);
	assert_int_equal(solicit("10.9.0.5"), 0);
	assert_int_equal(resolve("10.9.0.5", &nh), -EAGAIN);
	assert_int_equal(
		sh("ip neigh replace 10.9.0.5 lladdr 02:00:00:00:09:05 nud permanent dev " DEV), 0);
	assert_int_equal(resolve("10.9.0.5", &nh), 0);
	assert_on_dev(&nh, "02:00:00:00:09:05", DEV_MTU);
}

/* The same address known on another device does not count. */
static void test_v4_neighbour_on_other_device(void **state)
{
	struct nexthop nh;

	(void)state;
	assert_int_equal(resolve("10.9.0.6", &nh), -EAGAIN);
}

/* A live peer answers the ARP request that soliciting sends. */
static void test_v4_solicit_resolves_peer(void **state)
{
	struct nexthop nh;

	(void)state;
	assert_int_equal(resolve("10.9.0.3", &nh), -EAGAIN);
	assert_int_equal(solicit("10.9.0.3"), 0);
	assert_int_equal(resolve_within("10.9.0.3", &nh, RESOLVE_DEADLINE_MS), 0);
	assert_on_dev(&nh, PEER_MAC, DEV_MTU);
}

static void test_v4_no_route(void **state)
{
	struct nexthop nh;

	(void)state;
	assert_int_equal(resolve("192.0.2.1", &nh), -ENETUNREACH);
	/* Send errors are not the caller's business. */
	assert_int_equal(solicit("192.0.2.1"), 0);
	assert_int_equal(resolve("198.51.100.1", &nh), -ENETUNREACH); /* unreachable */
	assert_int_equal(resolve("198.51.100.65", &nh), -ENETUNREACH); /* prohibit */
	assert_int_equal(resolve("198.51.100.129", &nh), -ENETUNREACH); /* blackhole */
}

static void test_v4_local(void **state)
{
	struct nexthop nh;

	(void)state;
	assert_int_equal(resolve("10.9.0.1", &nh), -EOPNOTSUPP);
	assert_int_equal(resolve("127.0.0.1", &nh), -EOPNOTSUPP);
	assert_int_equal(resolve("10.9.0.255", &nh), -EOPNOTSUPP); /* broadcast */
	/* A unicast route out of lo: no Ethernet address there. */
	assert_int_equal(resolve("203.0.113.1", &nh), -EOPNOTSUPP);
}

static void test_v6_on_link(void **state)
{
	struct nexthop nh;

	(void)state;
	assert_int_equal(resolve("fd00:9::2", &nh), 0);
	assert_on_dev(&nh, GW6_MAC, DEV_MTU);
}

static void test_v6_via_gateway(void **state)
{
	struct nexthop nh;

	(void)state;
	assert_int_equal(resolve("fd00:98::7", &nh), 0);
	assert_on_dev(&nh, GW6_MAC, ROUTE_MTU);
	/* The usual IPv6 router: a link-local gateway. */
	assert_int_equal(resolve("fd00:97::7", &nh), 0);
	assert_on_dev(&nh, GW6LL_MAC, DEV_MTU);
}

static void test_v6_solicit_resolves_peer(void **state)
{
	struct nexthop nh;

	(void)state;
	assert_int_equal(resolve("fd00:9::3", &nh), -EAGAIN);
	assert_int_equal(solicit("fd00:9::3"), 0);
	assert_int_equal(resolve_within("fd00:9::3", &nh, RESOLVE_DEADLINE_MS), 0);
	assert_on_dev(&nh, PEER_MAC, DEV_MTU);
}

static void test_v6_unresolved(void **state)
{
	struct nexthop nh;

	(void)state;
	assert_int_equal(resolve("fd00:9::5", &nh), -EAGAIN);
	assert_int_equal(solicit("fd00:9::5"), 0);
	assert_int_equal(resolve("fd00:9::5", &nh), -EAGAIN);
}

static void test_v6_no_route(void **state)
{
	struct nexthop nh;

	(void)state;
	assert_int_equal(resolve("2001:db8:99::1", &nh), -ENETUNREACH);
	assert_int_equal(solicit("2001:db8:99::1"), 0);
	assert_int_equal(resolve("2001:db8:1::1", &nh), -ENETUNREACH); /* unreachable */
	assert_int_equal(resolve("2001:db8:2::1", &nh), -ENETUNREACH); /* prohibit */
	assert_int_equal(resolve("2001:db8:3::1", &nh), -ENETUNREACH); /* blackhole */
}

static void test_v6_local(void **state)
{
	struct nexthop nh;

	(void)state;
	assert_int_equal(resolve("fd00:9::1", &nh), -EOPNOTSUPP);
	assert_int_equal(resolve("::1", &nh), -EOPNOTSUPP);
}

static void test_bad_family(void **state)
{
	const __be32 addr[4] = { 0 };
	struct nexthop nh;

	(void)state;
	assert_int_equal(nexthop_resolve(addr, 5, &nh), -EAFNOSUPPORT);
	assert_int_equal(nexthop_solicit(addr, 0), -EAFNOSUPPORT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v4_on_link),
		cmocka_unit_test(test_v4_via_gateway_route_mtu),
		cmocka_unit_test(test_v4_via_gateway_device_mtu),
		cmocka_unit_test(test_v4_via_v6_gateway),
		cmocka_unit_test(test_v4_neighbour_states),
		cmocka_unit_test(test_v4_unresolved_then_static),
		cmocka_unit_test(test_v4_neighbour_on_other_device),
		cmocka_unit_test(test_v4_solicit_resolves_peer),
		cmocka_unit_test(test_v4_no_route),
		cmocka_unit_test(test_v4_local),
		cmocka_unit_test(test_v6_on_link),
		cmocka_unit_test(test_v6_via_gateway),
		cmocka_unit_test(test_v6_solicit_resolves_peer),
		cmocka_unit_test(test_v6_unresolved),
		cmocka_unit_test(test_v6_no_route),
		cmocka_unit_test(test_v6_local),
		cmocka_unit_test(test_bad_family),
	};

	/* Everything below happens in a namespace of our own: nothing to
	 * clean up, nothing of the host's to disturb.
	 */
	if (geteuid() != 0) {
		printf("test_nexthop: skipped: needs root for a network namespace\n");
		return 77;
	}
	if (unshare(CLONE_NEWNET)) {
		printf("test_nexthop: skipped: cannot make a network namespace: %s\n",
		       strerror(errno));
		return 77;
	}
	return cmocka_run_group_tests_name("next-hop resolution", tests, topology_setup, peer_stop);
}
