// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The backend's decapsulation program and the second chance, through
 * BPF_PROG_TEST_RUN in a network namespace of its own that holds real
 * sockets: a listener and an established connection on the VIP, connected
 * and unconnected UDP sockets. A packet carrying a second chance is handed
 * on (outer destination rewritten, marked handed on, MACs of the route to
 * the peer) only when this host has no connection for it; delivered here
 * with one, as a SYN, when forged (source not a load balancer, peer not one
 * of ours) and when it was handed on once already. The load balancer's
 * side is checked through the bench_wrap program encap_second, which runs
 * the ipip forwarding with a chosen second chance (the ring's slot history
 * that chooses it for real is not in this tree yet): its output, fed to
 * decap, is handed on.
 *
 * Runs as root; skips without root or without a network namespace.
 */
#define _GNU_SOURCE /* unshare */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/if_ether.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bouncer_abi.h"
#include "bouncer_decap.h"
#include "bench_wrap.skel.h"
#include "decap.skel.h"
#include "pkt.h"

#define DEV "dc0"
#define DEV_MAC "02:00:00:00:dc:00"
#define LB_MAC "02:00:00:00:dc:01"
#define PEER_MAC "02:00:00:00:dc:03"
/* This backend (outer destination), the load balancer (outer source), a
 * peer backend with a known MAC, one whose MAC is unknown, one with no
 * route, a backend that is not a peer and a source that is no load
 * balancer.
 */
#define SELF4 "10.70.0.2"
#define LB4 "10.70.0.1"
#define PEER4 "10.70.0.3"
#define PEER4_NO_NEIGH "10.70.0.4"
#define PEER4_NO_ROUTE "10.99.9.9"
#define STRANGER4 "10.70.0.66"
#define FORGER4 "10.70.0.77"
#define SELF6 "fd70::2"
#define LB6 "fd70::1"
#define PEER6 "fd70::3"
/* The VIP, held on lo, and the client address of the connection this host
 * has (also on lo, so that the connection can be made here).
 */
#define VIP4 "10.70.1.1"
#define CLIENT4 "10.70.2.5"
#define VIP6 "fd70:1::1"
#define CLIENT6 "fd70:2::5"
#define VIP_PORT 80
#define UDP_CONN_PORT 53 /* a connected UDP socket, to CLIENT:UDP_PEER_PORT */
#define UDP_OPEN_PORT 54 /* an unconnected one */
#define UDP_PEER_PORT 5353
#define STRANGER_PORT 40001 /* no socket of ours has it */

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static struct decap *skel;
static int ifindex;
static int listen4 = -1, listen6 = -1, conn4[2] = { -1, -1 }, conn6[2] = { -1, -1 };
static int udp_conn = -1, udp_open = -1;
static uint16_t client_port4, client_port6;

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (rc < 0 || (size_t)rc >= sizeof(cmd))
		return -1;
	rc = system(cmd);
	if (rc != 0)
		fprintf(stderr, "test_decap: \"%s\" failed (status %d)\n", cmd, rc);
	return rc;
}

static int add_addr(struct bpf_map *map, const char *s)
{
	struct bnc_decap_key key = {};
	__u32 zero = 0;

	if (inet_pton(AF_INET, s, key.addr) == 1)
		key.family = BNC_FAMILY_IPV4;
	else if (inet_pton(AF_INET6, s, key.addr) == 1)
		key.family = BNC_FAMILY_IPV6;
	else
		return -1;
	return bpf_map__update_elem(map, &key, sizeof(key), &zero, sizeof(zero), BPF_ANY);
}

static int sockaddr_of(const char *addr, uint16_t port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		*len = sizeof(*sin);
		return AF_INET;
	}
	if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		*len = sizeof(*sin6);
		return AF_INET6;
	}
	return -1;
}

/* A socket of type bound to addr:port; connected to peer:peer_port when
 * peer is set. -1 on failure.
 */
static int sock_at(int type, const char *addr, uint16_t port, const char *peer, uint16_t peer_port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fam = sockaddr_of(addr, port, &ss, &len), fd, one = 1;

	if (fam < 0)
		return -1;
	fd = socket(fam, type, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len))
		goto fail;
	if (peer) {
		sockaddr_of(peer, peer_port, &ss, &len);
		if (connect(fd, (struct sockaddr *)&ss, len))
			goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

/* An established connection from client (any port) to the VIP's
 * listener: conn[0] the client's end, conn[1] ours. Returns the client's
 * port, 0 on failure.
 */
static uint16_t connect_pair(int lfd, const char *client, const char *vip, int conn[2])
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	conn[0] = sock_at(SOCK_STREAM, client, 0, vip, VIP_PORT);
	if (conn[0] < 0)
		return 0;
	conn[1] = accept(lfd, NULL, NULL);
	if (conn[1] < 0 || getsockname(conn[0], (struct sockaddr *)&ss, &len))
		return 0;
	return ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					     : ((struct sockaddr_in6 *)&ss)->sin6_port);
}

static int world_setup(void **state)
{
	(void)state;
	if (sh("ip link set lo up && "
	       "ip link add " DEV " address " DEV_MAC " type veth peer name dc1 && "
	       "ip link set " DEV " up && ip link set dc1 up && "
	       "ip addr add " SELF4 "/24 dev " DEV " && "
	       "ip addr add " SELF6 "/64 dev " DEV " nodad && "
	       "ip addr add " VIP4 "/32 dev lo && ip addr add " CLIENT4 "/32 dev lo && "
	       "ip addr add " VIP6 "/128 dev lo nodad && ip addr add " CLIENT6
	       "/128 dev lo nodad && "
	       "ip neigh replace " PEER4 " lladdr " PEER_MAC " dev " DEV " nud permanent && "
	       "ip neigh replace " PEER6 " lladdr " PEER_MAC " dev " DEV " nud permanent && "
	       "sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1"))
		return -1;
	ifindex = (int)if_nametoindex(DEV);

	skel = decap__open_and_load();
	if (!skel || !ifindex)
		return -1;
	if (add_addr(skel->maps.decap_addrs, SELF4) || add_addr(skel->maps.decap_addrs, SELF6) ||
	    add_addr(skel->maps.decap_lbs, LB4) || add_addr(skel->maps.decap_lbs, LB6) ||
	    add_addr(skel->maps.decap_peers, PEER4) ||
	    add_addr(skel->maps.decap_peers, PEER4_NO_NEIGH) ||
	    add_addr(skel->maps.decap_peers, PEER4_NO_ROUTE) ||
	    add_addr(skel->maps.decap_peers, SELF4) || add_addr(skel->maps.decap_peers, PEER6))
		return -1;

	listen4 = sock_at(SOCK_STREAM, VIP4, VIP_PORT, NULL, 0);
	listen6 = sock_at(SOCK_STREAM, VIP6, VIP_PORT, NULL, 0);
	if (listen4 < 0 || listen6 < 0 || listen(listen4, 8) || listen(listen6, 8))
		return -1;
	client_port4 = connect_pair(listen4, CLIENT4, VIP4, conn4);
	client_port6 = connect_pair(listen6, CLIENT6, VIP6, conn6);
	udp_conn = sock_at(SOCK_DGRAM, VIP4, UDP_CONN_PORT, CLIENT4, UDP_PEER_PORT);
	udp_open = sock_at(SOCK_DGRAM, VIP4, UDP_OPEN_PORT, NULL, 0);
	if (!client_port4 || !client_port6 || udp_conn < 0 || udp_open < 0)
		return -1;
	return 0;
}

static int world_teardown(void **state)
{
	int *fds[] = { &listen4,  &listen6,  &conn4[0], &conn4[1],
		       &conn6[0], &conn6[1], &udp_conn, &udp_open };

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(fds); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
	}
	decap__destroy(skel);
	return 0;
}

/* Clients' IPv4 packets ask for path MTU discovery, as TCP's do: the load
 * balancer then sets DF on the outer header, as build() does.
 */
static const struct pkt_ipv4_opts inner_df = { .df = true };

/* The second chance a test packet carries. */
struct sc_spec {
	const char *addr; /* NULL: none */
	uint8_t flags;
};

/* A packet from the load balancer (outer source lb) to this backend: an
 * outer header of the family of lb, the second chance sc, and inside it a
 * client's TCP (flags) or UDP (flags 0 with udp) packet to the VIP.
 */
struct spec {
	const char *lb;
	struct sc_spec sc;
	bool udp;
	bool inner6;
	uint16_t sport, dport;
	uint8_t tcp_flags;
};

static void build(struct pkt *p, const struct spec *s)
{
	bool outer6 = strchr(s->lb, ':') != NULL;
	uint8_t opt[BNC_SC_DSTOPT_LEN] = {};

	pkt_init(p);
	pkt_eth(p, DEV_MAC, LB_MAC);
	if (!outer6) {
		struct pkt_ipv4_opts o = { .df = true };

		if (s->sc.addr) {
			opt[0] = BNC_SC_OPT_V4;
			opt[1] = BNC_SC_OPT_V4_LEN;
			opt[2] = s->sc.flags;
			assert_int_equal(inet_pton(AF_INET, s->sc.addr, opt + 4), 1);
			o.options = opt;
			o.options_len = BNC_SC_OPT_V4_LEN;
		}
		pkt_ipv4(p, s->lb, SELF4, &o);
	} else {
		pkt_ipv6(p, s->lb, SELF6, NULL);
		if (s->sc.addr) {
			/* What follows the next-header and length bytes. */
			opt[0] = BNC_SC_OPT_V6;
			opt[1] = BNC_SC_OPT_V6_DATA_LEN;
			opt[2] = s->sc.flags;
			assert_int_equal(inet_pton(AF_INET6, s->sc.addr, opt + 6), 1);
			pkt_ipv6_ext(p, IPPROTO_DSTOPTS, opt, BNC_SC_DSTOPT_LEN - 2);
		}
	}
	if (s->inner6)
		pkt_ipv6(p, CLIENT6, VIP6, NULL);
	else
		pkt_ipv4(p, CLIENT4, VIP4, &inner_df);
	if (s->udp)
		pkt_udp(p, s->sport, s->dport);
	else
		pkt_tcp(p, s->sport, s->dport, s->tcp_flags, NULL);
	pkt_payload(p, NULL, 20);
	assert_int_equal(pkt_finish(p), 0);
}

static __u64 counter(enum bnc_decap_stat stat)
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 values[512] = {}, sum = 0;
	__u32 key = stat;

	assert_true(ncpu > 0 && ncpu <= 512);
	assert_int_equal(bpf_map__lookup_elem(skel->maps.decap_stats, &key, sizeof(key), values,
					      sizeof(values[0]) * (size_t)ncpu, 0),
			 0);
	for (int i = 0; i < ncpu; i++)
		sum += values[i];
	return sum;
}

static int run_prog(int prog_fd, const struct pkt *in, uint8_t *out, __u32 *out_len)
{
	struct xdp_md md = { .data_end = (__u32)in->len, .ingress_ifindex = (__u32)ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in->data, .data_size_in = (__u32)in->len,
		    .data_out = out, .data_size_out = PKT_MAX_LEN, .ctx_in = &md,
		    .ctx_size_in = sizeof(md), .repeat = 1);

	assert_int_equal(bpf_prog_test_run_opts(prog_fd, &opts), 0);
	*out_len = opts.data_size_out;
	return (int)opts.retval;
}

/* Runs a packet through decap; checks the verdict and that the counters
 * in want[] (up to two; BNC_DECAP_STAT_MAX for none) rose by one and
 * every other by none.
 */
static void run_decap(const struct pkt *in, int verdict, const enum bnc_decap_stat want[2],
		      uint8_t *out, __u32 *out_len)
{
	__u64 before[BNC_DECAP_STAT_MAX];
	int stat;

	for (stat = 0; stat < BNC_DECAP_STAT_MAX; stat++)
		before[stat] = counter((enum bnc_decap_stat)stat);
	assert_int_equal(run_prog(bpf_program__fd(skel->progs.decap), in, out, out_len), verdict);
	for (stat = 0; stat < BNC_DECAP_STAT_MAX; stat++) {
		__u64 rise = (stat == (int)want[0] || stat == (int)want[1]) ? 1 : 0;

		if (counter((enum bnc_decap_stat)stat) != before[stat] + rise)
			fail_msg("counter %d rose by %llu, want %llu", stat,
				 (unsigned long long)(counter((enum bnc_decap_stat)stat) -
						      before[stat]),
				 (unsigned long long)rise);
	}
}

/* Delivered here: the output is the inner packet behind the same L2
 * header, with the inner family's EtherType.
 */
static void expect_delivered(const struct spec *s, enum bnc_decap_stat sc_stat)
{
	const enum bnc_decap_stat want[2] = { BNC_DECAP_STAT_DECAPSULATED, sc_stat };
	uint8_t out[PKT_MAX_LEN];
	struct pkt in, inner;
	__u32 out_len;
	struct spec plain = *s;

	build(&in, s);
	run_decap(&in, XDP_PASS, want, out, &out_len);
	/* The packet the client sent, framed as it arrived. */
	pkt_init(&inner);
	pkt_eth(&inner, DEV_MAC, LB_MAC);
	if (plain.inner6)
		pkt_ipv6(&inner, CLIENT6, VIP6, NULL);
	else
		pkt_ipv4(&inner, CLIENT4, VIP4, &inner_df);
	if (plain.udp)
		pkt_udp(&inner, plain.sport, plain.dport);
	else
		pkt_tcp(&inner, plain.sport, plain.dport, plain.tcp_flags, NULL);
	pkt_payload(&inner, NULL, 20);
	assert_int_equal(pkt_finish(&inner), 0);
	if (out_len != inner.len || memcmp(out, inner.data, inner.len)) {
		pkt_hexdiff(stderr, out, out_len, inner.data, inner.len);
		fail_msg("not the inner packet");
	}
}

/* Handed on to peer: the same frame with the route's MACs, the outer
 * destination the peer's, the second chance marked handed on, and every
 * checksum right.
 */
static void expect_handed_on(const struct spec *s, const char *peer)
{
	const enum bnc_decap_stat want[2] = { BNC_DECAP_STAT_HANDED_ON, BNC_DECAP_STAT_MAX };
	struct spec next = *s;
	uint8_t out[PKT_MAX_LEN];
	struct pkt in, expect;
	__u32 out_len;
	char err[160];
	bool outer6 = strchr(s->lb, ':') != NULL;

	build(&in, s);
	run_decap(&in, XDP_TX, want, out, &out_len);
	next.sc.flags |= BNC_SC_F_HANDED_ON;
	build(&expect, &next);
	/* Outer destination: the peer. */
	if (outer6)
		assert_int_equal(inet_pton(AF_INET6, peer, expect.data + ETH_HLEN + 24), 1);
	else
		assert_int_equal(inet_pton(AF_INET, peer, expect.data + ETH_HLEN + 16), 1);
	assert_int_equal(pkt_parse_mac(PEER_MAC, expect.data), 0);
	assert_int_equal(pkt_parse_mac(DEV_MAC, expect.data + 6), 0);
	assert_int_equal(pkt_finish(&expect), 0);
	if (pkt_verify(out, out_len, err, sizeof(err)))
		fail_msg("handed-on frame: %s", err);
	if (out_len != expect.len || memcmp(out, expect.data, expect.len)) {
		pkt_hexdiff(stderr, out, out_len, expect.data, expect.len);
		fail_msg("not the frame to hand on");
	}
}

static void test_no_second_chance(void **state)
{
	const struct spec s = {
		.lb = LB4, .sport = STRANGER_PORT, .dport = VIP_PORT, .tcp_flags = PKT_TCP_ACK
	};

	(void)state;
	/* As before second chances existed: no socket, decapsulated all
	 * the same, the stack answers.
	 */
	expect_delivered(&s, BNC_DECAP_STAT_MAX);
}

static void test_handed_on_listener_only(void **state)
{
	/* Only the listener matches: a mid-stream packet has no
	 * connection here.
	 */
	const struct spec s = { .lb = LB4,
				.sc = { PEER4, 0 },
				.sport = STRANGER_PORT,
				.dport = VIP_PORT,
				.tcp_flags = PKT_TCP_ACK };

	(void)state;
	expect_handed_on(&s, PEER4);
}

static void test_handed_on_no_socket(void **state)
{
	const struct spec s = { .lb = LB4,
				.sc = { PEER4, 0 },
				.sport = STRANGER_PORT,
				.dport = 81,
				.tcp_flags = PKT_TCP_ACK | PKT_TCP_PSH };

	(void)state;
	expect_handed_on(&s, PEER4);
}

static void test_handed_on_v6(void **state)
{
	const struct spec s = { .lb = LB6,
				.sc = { PEER6, 0 },
				.inner6 = true,
				.sport = STRANGER_PORT,
				.dport = VIP_PORT,
				.tcp_flags = PKT_TCP_ACK };

	(void)state;
	expect_handed_on(&s, PEER6);
}

static void test_local_established(void **state)
{
	const struct spec s = { .lb = LB4,
				.sc = { PEER4, 0 },
				.sport = client_port4,
				.dport = VIP_PORT,
				.tcp_flags = PKT_TCP_ACK };

	(void)state;
	expect_delivered(&s, BNC_DECAP_STAT_SC_LOCAL);
}

static void test_local_established_v6(void **state)
{
	const struct spec s = { .lb = LB6,
				.sc = { PEER6, 0 },
				.inner6 = true,
				.sport = client_port6,
				.dport = VIP_PORT,
				.tcp_flags = PKT_TCP_ACK };

	(void)state;
	expect_delivered(&s, BNC_DECAP_STAT_SC_LOCAL);
}

static void test_syn_never_handed_on(void **state)
{
	const struct spec s = { .lb = LB4,
				.sc = { PEER4, 0 },
				.sport = STRANGER_PORT,
				.dport = 81,
				.tcp_flags = PKT_TCP_SYN };

	(void)state;
	expect_delivered(&s, BNC_DECAP_STAT_SC_SYN);
}

static void test_forged_source(void **state)
{
	const struct spec s = { .lb = FORGER4,
				.sc = { PEER4, 0 },
				.sport = STRANGER_PORT,
				.dport = VIP_PORT,
				.tcp_flags = PKT_TCP_ACK };

	(void)state;
	expect_delivered(&s, BNC_DECAP_STAT_SC_REFUSED);
}

static void test_forged_peer(void **state)
{
	const struct spec s = { .lb = LB4,
				.sc = { STRANGER4, 0 },
				.sport = STRANGER_PORT,
				.dport = VIP_PORT,
				.tcp_flags = PKT_TCP_ACK };

	(void)state;
	expect_delivered(&s, BNC_DECAP_STAT_SC_REFUSED);
}

static void test_second_hop_refused(void **state)
{
	const struct spec s = { .lb = LB4,
				.sc = { PEER4, BNC_SC_F_HANDED_ON },
				.sport = STRANGER_PORT,
				.dport = VIP_PORT,
				.tcp_flags = PKT_TCP_ACK };

	(void)state;
	expect_delivered(&s, BNC_DECAP_STAT_SC_SECOND_HOP);
}

static void test_second_chance_is_self(void **state)
{
	const struct spec s = { .lb = LB4,
				.sc = { SELF4, 0 },
				.sport = STRANGER_PORT,
				.dport = VIP_PORT,
				.tcp_flags = PKT_TCP_ACK };

	(void)state;
	expect_delivered(&s, BNC_DECAP_STAT_SC_LOCAL);
}

static void test_udp_connected_local(void **state)
{
	const struct spec s = { .lb = LB4,
				.sc = { PEER4, 0 },
				.udp = true,
				.sport = UDP_PEER_PORT,
				.dport = UDP_CONN_PORT };

	(void)state;
	expect_delivered(&s, BNC_DECAP_STAT_SC_LOCAL);
}

static void test_udp_unconnected_unknown(void **state)
{
	const struct spec s = { .lb = LB4,
				.sc = { PEER4, 0 },
				.udp = true,
				.sport = UDP_PEER_PORT,
				.dport = UDP_OPEN_PORT };

	(void)state;
	expect_delivered(&s, BNC_DECAP_STAT_SC_UNKNOWN);
}

static void test_udp_no_socket_handed_on(void **state)
{
	const struct spec s = {
		.lb = LB4, .sc = { PEER4, 0 }, .udp = true, .sport = UDP_PEER_PORT, .dport = 55
	};

	(void)state;
	expect_handed_on(&s, PEER4);
}

static void test_no_neighbour_through_stack(void **state)
{
	const struct spec s = { .lb = LB4,
				.sc = { PEER4_NO_NEIGH, 0 },
				.sport = STRANGER_PORT,
				.dport = VIP_PORT,
				.tcp_flags = PKT_TCP_ACK };
	const enum bnc_decap_stat want[2] = { BNC_DECAP_STAT_HANDED_ON_STACK, BNC_DECAP_STAT_MAX };
	uint8_t out[PKT_MAX_LEN], dst[4];
	__u32 out_len;
	struct pkt in;

	(void)state;
	build(&in, &s);
	run_decap(&in, XDP_PASS, want, out, &out_len);
	/* Still encapsulated, now to the peer: the stack forwards it. */
	assert_int_equal(out_len, in.len);
	assert_int_equal(inet_pton(AF_INET, PEER4_NO_NEIGH, dst), 1);
	assert_memory_equal(out + ETH_HLEN + 16, dst, 4);
	assert_int_equal(out[ETH_HLEN + 22], BNC_SC_F_HANDED_ON);
	assert_int_equal(pkt_verify(out, out_len, NULL, 0), 0);
}

static void test_no_route_dropped(void **state)
{
	const struct spec s = { .lb = LB4,
				.sc = { PEER4_NO_ROUTE, 0 },
				.sport = STRANGER_PORT,
				.dport = VIP_PORT,
				.tcp_flags = PKT_TCP_ACK };
	const enum bnc_decap_stat want[2] = { BNC_DECAP_STAT_DROP_NOWHERE, BNC_DECAP_STAT_MAX };
	uint8_t out[PKT_MAX_LEN];
	__u32 out_len;
	struct pkt in;

	(void)state;
	build(&in, &s);
	run_decap(&in, XDP_DROP, want, out, &out_len);
}

/* The load balancer's side: encap_second (bench_wrap) forwards a client's
 * packet by ipip to backend 1 (this host) with backend 2 (PEER4) as the
 * second chance; the frame it makes is the one the cases above build, and
 * decap hands it on. Without a second chance, or with one of another
 * family, the outer header is plain ipip.
 */
static void lb_backend(struct bench_wrap *w, __u32 id, const char *addr, const char *mac)
{
	struct bnc_backend be = {
		.kind = BNC_BACKEND_REMOTE, .state = BNC_BACKEND_UP, .mtu = 1500, .ifindex = 0
	};

	if (inet_pton(AF_INET, addr, be.addr) == 1) {
		be.family = BNC_FAMILY_IPV4;
	} else {
		assert_int_equal(inet_pton(AF_INET6, addr, be.addr), 1);
		be.family = BNC_FAMILY_IPV6;
	}
	assert_int_equal(pkt_parse_mac(mac, be.next_hop_mac), 0);
	assert_int_equal(pkt_parse_mac(LB_MAC, be.src_mac), 0);
	assert_int_equal(
		bpf_map__update_elem(w->maps.backends, &id, sizeof(id), &be, sizeof(be), BPF_ANY),
		0);
}

static void lb_case(struct bench_wrap *w, __u32 second_id, const struct sc_spec *sc)
{
	const struct spec s = { .lb = LB4,
				.sc = *sc,
				.sport = STRANGER_PORT,
				.dport = VIP_PORT,
				.tcp_flags = PKT_TCP_ACK };
	uint8_t out[PKT_MAX_LEN];
	struct pkt client, expect;
	__u32 out_len;

	w->bss->encap_backend_id = 1;
	w->data->encap_second_id = second_id;
	pkt_init(&client);
	pkt_eth(&client, LB_MAC, "02:00:00:00:00:aa");
	pkt_ipv4(&client, CLIENT4, VIP4, &inner_df);
	pkt_tcp(&client, STRANGER_PORT, VIP_PORT, PKT_TCP_ACK, NULL);
	pkt_payload(&client, NULL, 20);
	assert_int_equal(pkt_finish(&client), 0);
	assert_int_equal(run_prog(bpf_program__fd(w->progs.encap_second), &client, out, &out_len),
			 XDP_TX);
	build(&expect, &s);
	if (out_len != expect.len || memcmp(out, expect.data, expect.len)) {
		pkt_hexdiff(stderr, out, out_len, expect.data, expect.len);
		fail_msg("not the ipip frame with second chance %s",
			 sc->addr ? sc->addr : "(none)");
	}
}

static void test_lb_carries_second_chance(void **state)
{
	const struct sc_spec none = { NULL, 0 }, peer = { PEER4, 0 };
	const enum bnc_decap_stat want[2] = { BNC_DECAP_STAT_HANDED_ON, BNC_DECAP_STAT_MAX };
	struct bnc_config cfg = {};
	uint8_t out[PKT_MAX_LEN];
	struct bench_wrap *w;
	__u32 zero = 0, out_len;
	struct pkt in;

	(void)state;
	w = bench_wrap__open_and_load();
	assert_non_null(w);
	assert_int_equal(inet_pton(AF_INET, LB4, &cfg.ipip_src_v4), 1);
	assert_int_equal(bpf_map__update_elem(w->maps.config, &zero, sizeof(zero), &cfg,
					      sizeof(cfg), BPF_ANY),
			 0);
	lb_backend(w, 1, SELF4, DEV_MAC);
	lb_backend(w, 2, PEER4, PEER_MAC);
	lb_backend(w, 3, PEER6, PEER_MAC);
	lb_case(w, BNC_BACKEND_NONE, &none);
	lb_case(w, 3, &none); /* IPv6 second chance, IPv4 outer header */
	lb_case(w, 1, &none); /* the backend itself */
	lb_case(w, 2, &peer);

	/* And the backend hands that frame on. */
	memset(&in, 0, sizeof(in));
	w->data->encap_second_id = 2;
	pkt_init(&in);
	pkt_eth(&in, LB_MAC, "02:00:00:00:00:aa");
	pkt_ipv4(&in, CLIENT4, VIP4, &inner_df);
	pkt_tcp(&in, STRANGER_PORT, VIP_PORT, PKT_TCP_ACK, NULL);
	pkt_payload(&in, NULL, 20);
	assert_int_equal(pkt_finish(&in), 0);
	assert_int_equal(run_prog(bpf_program__fd(w->progs.encap_second), &in, out, &out_len),
			 XDP_TX);
	memcpy(in.data, out, out_len);
	in.len = out_len;
	in.nlayers = 0; /* raw bytes from here on */
	run_decap(&in, XDP_TX, want, out, &out_len);
	bench_wrap__destroy(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_second_chance),
		cmocka_unit_test(test_handed_on_listener_only),
		cmocka_unit_test(test_handed_on_no_socket),
		cmocka_unit_test(test_handed_on_v6),
		cmocka_unit_test(test_local_established),
		cmocka_unit_test(test_local_established_v6),
		cmocka_unit_test(test_syn_never_handed_on),
		cmocka_unit_test(test_forged_source),
		cmocka_unit_test(test_forged_peer),
		cmocka_unit_test(test_second_hop_refused),
		cmocka_unit_test(test_second_chance_is_self),
		cmocka_unit_test(test_udp_connected_local),
		cmocka_unit_test(test_udp_unconnected_unknown),
		cmocka_unit_test(test_udp_no_socket_handed_on),
		cmocka_unit_test(test_no_neighbour_through_stack),
		cmocka_unit_test(test_no_route_dropped),
		cmocka_unit_test(test_lb_carries_second_chance),
	};

	/* Everything happens in a namespace of our own: nothing to clean
	 * up, nothing of the host's to disturb.
	 */
	if (geteuid() != 0) {
		printf("test_decap: skipped: needs root for a network namespace\n");
		return 77;
	}
	if (unshare(CLONE_NEWNET)) {
		printf("test_decap: skipped: cannot make a network namespace: %s\n",
		       strerror(errno));
		return 77;
	}
	return cmocka_run_group_tests_name("decap and second chance", tests, world_setup,
					   world_teardown);
}
