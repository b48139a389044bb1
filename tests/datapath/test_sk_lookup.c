// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The sk_lookup program that hands a VIP's connections to local workers,
 * run through BPF_PROG_TEST_RUN on struct bpf_sk_lookup contexts: the
 * socket it assigns (its cookie) must be the one of the worker that the
 * flow table names, or that the ring names for a client XDP never saw;
 * another live worker's when that worker has no socket; none for remote
 * choices, VIPs without a live worker and non-VIP lookups. Then the same
 * program attached to a network namespace, with real connections to a VIP
 * landing on the workers' listening sockets.
 *
 * Runs as root in a network namespace of its own; skips without root or on
 * a kernel without sk_lookup test runs (before 5.15).
 */
#define _GNU_SOURCE /* unshare, sched_setaffinity */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <net/if.h>
#include <poll.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <linux/magic.h>

#include "common/addr.h"
#include "bouncer_hash.h"
#include "dp_case.h"
#include "bouncerd/maglev.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Local backends of this file's VIPs, each a worker with one socket. */
enum {
	BE_TCP_A = 30,
	BE_TCP_B = 31,
	BE_TCP_C = 32,
	BE_UDP_A = 40,
	BE_UDP_B = 41,
	BE_TCP6_A = 50,
	BE_TCP6_B = 51,
	BE_TCP6_V4 = 52, /* an AF_INET socket: cannot take IPv6 lookups */
	BE_UDP6_A = 60,
	BE_UDP6_B = 61,
};

struct worker_def {
	uint32_t id;
	int family; /* of its socket: AF_INET or AF_INET6 */
	int type; /* SOCK_STREAM or SOCK_DGRAM */
};

static const struct worker_def worker_defs[] = {
	{ BE_TCP_A, AF_INET, SOCK_STREAM },   { BE_TCP_B, AF_INET, SOCK_STREAM },
	{ BE_TCP_C, AF_INET, SOCK_STREAM },   { BE_UDP_A, AF_INET, SOCK_DGRAM },
	{ BE_UDP_B, AF_INET, SOCK_DGRAM },    { BE_TCP6_A, AF_INET6, SOCK_STREAM },
	{ BE_TCP6_B, AF_INET6, SOCK_STREAM }, { BE_TCP6_V4, AF_INET, SOCK_STREAM },
	{ BE_UDP6_A, AF_INET6, SOCK_DGRAM },  { BE_UDP6_B, AF_INET6, SOCK_DGRAM },
};

#define NWORKERS ARRAY_SIZE(worker_defs)

struct sk_vip_def {
	const char *addr;
	uint16_t port;
	uint8_t proto;
	uint32_t vip_id; /* above the ids dp.c uses */
	uint32_t backends[3]; /* 0 ends the list */
};

#define VIP4 "10.10.0.1"
#define VIP4_MIXED "10.10.0.2"
#define VIP6 "fd00:10::1"

static const struct sk_vip_def sk_vip_defs[] = {
	{ VIP4, 80, IPPROTO_TCP, 100, { BE_TCP_A, BE_TCP_B, BE_TCP_C } },
	{ VIP4, 53, IPPROTO_UDP, 101, { BE_UDP_A, BE_UDP_B } },
	{ VIP6, 80, IPPROTO_TCP, 102, { BE_TCP6_A, BE_TCP6_B, BE_TCP6_V4 } },
	{ VIP6, 53, IPPROTO_UDP, 103, { BE_UDP6_A, BE_UDP6_B } },
	/* A local worker and a remote backend of dp.c's world. */
	{ VIP4_MIXED, 80, IPPROTO_TCP, 104, { BE_TCP_A, DP_BE_V4_A } },
};

/* The counters that a lookup for a VIP raises, exactly one of them. */
static const enum bnc_stat sk_stats[] = {
	BNC_STAT_SK_ASSIGN,
	BNC_STAT_SK_REPICK,
	BNC_STAT_SK_NO_WORKER,
	BNC_STAT_SK_REMOTE,
};

/* Why the program cannot be run here; NULL when it can. */
static const char *skip_reason;

struct sk_case;

/* One test's world: dp.c's, plus this file's workers and VIPs. */
struct sk_world {
	const struct sk_case *c; /* NULL outside the table */
	struct dp_env env;
	int prog_fd;
	int fds[NWORKERS];
	__u64 cookies[NWORKERS];
};

static int worker_index(uint32_t id)
{
	for (size_t i = 0; i < NWORKERS; i++)
		if (worker_defs[i].id == id)
			return (int)i;
	return -1;
}

static __u64 socket_cookie(int fd)
{
	__u64 cookie = 0;
	socklen_t len = sizeof(cookie);

	assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_COOKIE, &cookie, &len), 0);
	return cookie;
}

/* A worker's socket on the loopback address, port picked by the kernel:
 * listening for TCP, bound for UDP. IPv6 sockets take IPv4 too.
 */
static int worker_socket(const struct worker_def *d)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(d->family, d->type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int err;

	if (fd < 0)
		return -errno;
	if (d->family == AF_INET6)
		err = bind(fd, (struct sockaddr *)&sin6, sizeof(sin6));
	else
		err = bind(fd, (struct sockaddr *)&sin, sizeof(sin));
	if (!err && d->type == SOCK_STREAM)
		err = listen(fd, 64);
	if (err) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* Backend entries for the workers. The port only shapes the ring: the
 * datapath never rewrites packets for a local worker.
 */
static int install_workers(struct sk_world *w)
{
	for (size_t i = 0; i < NWORKERS; i++) {
		const struct worker_def *d = &worker_defs[i];
		struct bnc_backend be = { 0 };
		int err;

		err = addr_parse(d->family == AF_INET6 ? "::1" : "127.0.0.1", be.addr, &be.family);
		if (err)
			return err;
		be.port = htons(8000 + d->id);
		be.kind = BNC_BACKEND_LOCAL;
		be.state = BNC_BACKEND_UP;
		err = bnc_maps_backend_set(w->env.maps, d->id, &be);
		if (err)
			return err;
		w->fds[i] = worker_socket(d);
		if (w->fds[i] < 0)
			return w->fds[i];
		w->cookies[i] = socket_cookie(w->fds[i]);
		err = bnc_maps_worker_set(w->env.maps, d->id, w->fds[i]);
		if (err)
			return err;
	}
	return 0;
}

static int vip_key(const char *addr, uint16_t port, uint8_t proto, struct bnc_vip_key *key)
{
	memset(key, 0, sizeof(*key));
	key->port = htons(port);
	key->proto = proto;
	return addr_parse(addr, key->addr, &key->family);
}

/* The VIP's Maglev ring over the given backends, as the agent builds it
 * from the backend entries.
 */
/* Builds the VIP's ring over ids and swaps it in: fresh, every slot
 * clean (a VIP's first ring); else as the agent does, slots whose backend
 * changed keeping the one before.
 */
static int ring_build(struct sk_world *w, const struct bnc_vip_key *key, const uint32_t *ids,
		      size_t n, bool fresh)
{
	struct maglev_backend mb[3] = { 0 };
	uint32_t *slots;
	int err;

	if (n > ARRAY_SIZE(mb))
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		struct bnc_backend be;

		err = bnc_maps_backend_get(w->env.maps, ids[i], &be);
		if (err)
			return err;
		memcpy(mb[i].addr, be.addr, sizeof(mb[i].addr));
		mb[i].family = be.family;
		mb[i].port = be.port ? be.port : htons(80);
		mb[i].weight = 1;
		mb[i].id = ids[i];
	}
	slots = calloc(DP_RING_SIZE, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	err = maglev_build(mb, n, DP_RING_SIZE, slots);
	if (!err)
		err = fresh ? bnc_maps_ring_write(w->env.maps, key, slots, DP_RING_SIZE)
			    : bnc_maps_ring_swap(w->env.maps, key, slots, DP_RING_SIZE);
	free(slots);
	return err;
}

static int ring_fill(struct sk_world *w, const struct bnc_vip_key *key, const uint32_t *ids,
		     size_t n)
{
	return ring_build(w, key, ids, n, false);
}

static int install_vips(struct sk_world *w)
{
	for (size_t i = 0; i < ARRAY_SIZE(sk_vip_defs); i++) {
		const struct sk_vip_def *d = &sk_vip_defs[i];
		struct bnc_vip_value value = { .vip_id = d->vip_id };
		struct bnc_vip_key key;
		size_t n = 0;
		int err;

		err = vip_key(d->addr, d->port, d->proto, &key);
		if (!err)
			err = bnc_maps_vip_add(w->env.maps, &key, &value);
		if (err)
			return err;
		while (n < ARRAY_SIZE(d->backends) && d->backends[n])
			n++;
		err = ring_fill(w, &key, d->backends, n);
		if (err)
			return err;
	}
	return 0;
}

/* *state: the table's case, or NULL. */
static int world_setup(void **state)
{
	struct sk_world *w = calloc(1, sizeof(*w));
	int err;

	if (!w)
		return -1;
	w->c = *state;
	for (size_t i = 0; i < NWORKERS; i++)
		w->fds[i] = -1;
	*state = w;
	if (skip_reason)
		return 0; /* the test skips */
	err = dp_env_setup(&w->env);
	if (!err)
		err = install_workers(w);
	if (!err)
		err = install_vips(w);
	if (err) {
		fprintf(stderr, "cannot set up the sk_lookup world: %s\n", strerror(-err));
		return -1;
	}
	w->prog_fd = bnc_maps_sk_lookup_prog_fd(w->env.maps);
	return 0;
}

static int world_teardown(void **state)
{
	struct sk_world *w = *state;

	for (size_t i = 0; i < NWORKERS; i++)
		if (w->fds[i] >= 0)
			close(w->fds[i]);
	dp_env_teardown(&w->env);
	free(w);
	return 0;
}

static __u64 worker_cookie(const struct sk_world *w, uint32_t id)
{
	int i = worker_index(id);

	assert_true(i >= 0);
	return w->cookies[i];
}

/* The worker whose socket has this cookie, for messages; 0 if none. */
static uint32_t worker_of_cookie(const struct sk_world *w, __u64 cookie)
{
	for (size_t i = 0; i < NWORKERS; i++)
		if (cookie && w->cookies[i] == cookie)
			return worker_defs[i].id;
	return 0;
}

static struct bnc_flow_key flow_of(uint8_t proto, const char *client, uint16_t sport,
				   const char *vip, uint16_t dport)
{
	struct bnc_flow_key flow = { .proto = proto };
	uint8_t family;

	assert_int_equal(addr_parse(client, flow.saddr, &flow.family), 0);
	assert_int_equal(addr_parse(vip, flow.daddr, &family), 0);
	assert_int_equal(family, flow.family);
	flow.sport = htons(sport);
	flow.dport = htons(dport);
	return flow;
}

/* One run of the program on the lookup of a flow: the socket lookup the
 * stack makes for a SYN (or a UDP datagram) from saddr:sport to
 * daddr:dport. Returns the program's verdict, *cookie the assigned
 * socket's cookie (0 for none).
 */
static int sk_run(int prog_fd, const struct bnc_flow_key *flow, __u64 *cookie, uint32_t *verdict)
{
	struct bpf_sk_lookup ctx = {
		.protocol = flow->proto,
		.remote_port = flow->sport, /* network order */
		.local_port = ntohs(flow->dport), /* host order */
	};
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = &ctx, .ctx_size_in = sizeof(ctx),
		    .ctx_out = &ctx, .ctx_size_out = sizeof(ctx), .repeat = 1);

	if (flow->family == BNC_FAMILY_IPV6) {
		ctx.family = AF_INET6;
		memcpy(ctx.remote_ip6, flow->saddr, sizeof(ctx.remote_ip6));
		memcpy(ctx.local_ip6, flow->daddr, sizeof(ctx.local_ip6));
	} else {
		ctx.family = AF_INET;
		ctx.remote_ip4 = flow->saddr[0];
		ctx.local_ip4 = flow->daddr[0];
	}
	if (bpf_prog_test_run_opts(prog_fd, &opts))
		return -errno;
	*verdict = opts.retval;
	*cookie = ctx.cookie;
	return 0;
}

static __u64 run_lookup(const struct sk_world *w, const struct bnc_flow_key *flow)
{
	uint32_t verdict = 0;
	__u64 cookie = 0;

	assert_int_equal(sk_run(w->prog_fd, flow, &cookie, &verdict), 0);
	/* Always SK_PASS: SK_DROP would refuse what the stack may serve. */
	assert_int_equal(verdict, SK_PASS);
	return cookie;
}

static void read_stats(const struct sk_world *w, struct bnc_global_stats *g)
{
	assert_int_equal(bnc_maps_global_stats(w->env.maps, g), 0);
}

/* Whether the worker's socket takes the flow's lookup: one is in the map,
 * of the flow's protocol, and of its family (an IPv6 socket takes both).
 */
static bool worker_fits(const struct sk_world *w, uint32_t id, const struct bnc_flow_key *flow)
{
	int i = worker_index(id);
	__u64 cookie;

	if (i < 0 || bnc_maps_worker_cookie(w->env.maps, id, &cookie))
		return false;
	if ((worker_defs[i].type == SOCK_STREAM) != (flow->proto == IPPROTO_TCP))
		return false;
	return worker_defs[i].family == AF_INET6 || flow->family == BNC_FAMILY_IPV4;
}

/* The rule for a worker without a socket, stated apart from the program:
 * the first other backend, from the flow's slot on and within
 * BNC_SK_REPICK_PROBES slots, that is a local worker, up, and whose socket
 * fits. BNC_BACKEND_NONE if there is none.
 */
static uint32_t expected_repick(const struct sk_world *w, const struct bnc_flow_key *flow,
				uint32_t failed)
{
	struct bnc_vip_key key = { .port = flow->dport, .proto = flow->proto };
	uint32_t *slots, slot, found = BNC_BACKEND_NONE;
	struct bnc_vip_value vip;
	struct bnc_backend be;

	memcpy(key.addr, flow->daddr, sizeof(key.addr));
	key.family = flow->family;
	assert_int_equal(bnc_maps_vip_lookup(w->env.maps, &key, &vip), 0);
	slots = calloc(vip.ring_size, sizeof(*slots));
	assert_non_null(slots);
	assert_int_equal(bnc_maps_ring_read(w->env.maps, vip.vip_id, slots, vip.ring_size), 0);
	slot = flow_hash(flow, vip.flags, w->env.hash_seed) % vip.ring_size;
	for (int i = 0; i < BNC_SK_REPICK_PROBES && bnc_ring_cur(slots[slot]) != BNC_BACKEND_NONE;
	     i++) {
		uint32_t id = bnc_ring_cur(slots[slot]);

		if (id != failed && bnc_maps_backend_get(w->env.maps, id, &be) == 0 &&
		    be.kind == BNC_BACKEND_LOCAL && be.state == BNC_BACKEND_UP &&
		    worker_fits(w, id, flow)) {
			found = id;
			break;
		}
		slot = (slot + 1) % vip.ring_size;
	}
	free(slots);
	return found;
}

/* Moves flow's client port until the ring picks backend id for it. */
static void flow_choosing(struct sk_world *w, struct bnc_flow_key *flow, uint32_t id)
{
	uint32_t choice;

	for (uint32_t port = 40000; port < 65536; port++) {
		flow->sport = htons((uint16_t)port);
		if (dp_ring_choice(&w->env, flow, &choice) == 0 && choice == id)
			return;
	}
	fail_msg("no client port makes the ring choose backend %u", id);
}

/* The packet XDP sees first: a SYN, or a UDP datagram. */
static void xdp_first_packet(struct sk_world *w, const struct bnc_flow_key *flow)
{
	char saddr[INET6_ADDRSTRLEN], daddr[INET6_ADDRSTRLEN];
	int af = flow->family == BNC_FAMILY_IPV6 ? AF_INET6 : AF_INET;
	struct dp_input in = {
		.family = flow->family,
		.proto = flow->proto,
		.saddr = saddr,
		.daddr = daddr,
		.sport = ntohs(flow->sport),
		.dport = ntohs(flow->dport),
	};
	uint8_t out[PKT_MAX_LEN];
	uint32_t verdict;
	size_t out_len;
	struct pkt p;

	assert_non_null(inet_ntop(af, flow->saddr, saddr, sizeof(saddr)));
	assert_non_null(inet_ntop(af, flow->daddr, daddr, sizeof(daddr)));
	dp_build_input(&p, &in);
	assert_int_equal(dp_run(&w->env, &p, out, &out_len, &verdict), 0);
	/* A local worker's packets go up the stack, unchanged. */
	assert_int_equal(verdict, XDP_PASS);
	assert_int_equal(out_len, p.len);
	assert_memory_equal(out, p.data, p.len);
}

enum sk_want {
	WANT_CHOICE, /* the flow's backend: XDP's record, or the ring's choice */
	WANT_REPICK, /* another live worker: the chosen one cannot take it */
	WANT_NONE, /* no socket assigned */
};

struct sk_case {
	const char *name;
	uint8_t proto;
	const char *client, *vip;
	uint16_t dport;
	/* XDP sees the flow's first packet and records it; the VIP's ring is
	 * then changed, so that only the flow table can name the worker.
	 */
	bool via_xdp;
	/* A client port is found for which the ring chooses this backend;
	 * 0: any port.
	 */
	uint32_t chosen;
	uint32_t no_socket[3]; /* workers taken out of the map first */
	enum sk_want want;
	/* The SK_ counter raised by one; BNC_STAT_MAX: none (not a VIP). */
	enum bnc_stat counter;
};

#define C4 "10.0.1.5"
#define C6 "fd00:1::5"

static const struct sk_case cases[] = {
	/* Connections that XDP saw first. */
	{ "xdp flow, tcp4",
	  IPPROTO_TCP,
	  C4,
	  VIP4,
	  80,
	  true,
	  0,
	  { 0 },
	  WANT_CHOICE,
	  BNC_STAT_SK_ASSIGN },
	{ "xdp flow, udp4",
	  IPPROTO_UDP,
	  C4,
	  VIP4,
	  53,
	  true,
	  0,
	  { 0 },
	  WANT_CHOICE,
	  BNC_STAT_SK_ASSIGN },
	{ "xdp flow, tcp6",
	  IPPROTO_TCP,
	  C6,
	  VIP6,
	  80,
	  true,
	  BE_TCP6_B,
	  { 0 },
	  WANT_CHOICE,
	  BNC_STAT_SK_ASSIGN },
	{ "xdp flow, udp6",
	  IPPROTO_UDP,
	  C6,
	  VIP6,
	  53,
	  true,
	  0,
	  { 0 },
	  WANT_CHOICE,
	  BNC_STAT_SK_ASSIGN },
	/* Clients on this host: no flow until the program records one. */
	{ "same-host client, tcp4",
	  IPPROTO_TCP,
	  VIP4,
	  VIP4,
	  80,
	  false,
	  0,
	  { 0 },
	  WANT_CHOICE,
	  BNC_STAT_SK_ASSIGN },
	{ "same-host client, udp4",
	  IPPROTO_UDP,
	  "127.0.0.1",
	  VIP4,
	  53,
	  false,
	  0,
	  { 0 },
	  WANT_CHOICE,
	  BNC_STAT_SK_ASSIGN },
	{ "same-host client, tcp6",
	  IPPROTO_TCP,
	  VIP6,
	  VIP6,
	  80,
	  false,
	  BE_TCP6_A,
	  { 0 },
	  WANT_CHOICE,
	  BNC_STAT_SK_ASSIGN },
	{ "same-host client, udp6",
	  IPPROTO_UDP,
	  "::1",
	  VIP6,
	  53,
	  false,
	  0,
	  { 0 },
	  WANT_CHOICE,
	  BNC_STAT_SK_ASSIGN },
	{ "local choice of a mixed vip",
	  IPPROTO_TCP,
	  C4,
	  VIP4_MIXED,
	  80,
	  false,
	  BE_TCP_A,
	  { 0 },
	  WANT_CHOICE,
	  BNC_STAT_SK_ASSIGN },
	/* The chosen worker cannot take it: another live one does. (The
	 * IPv6 TCP VIP's cases choose a worker with an IPv6 socket unless
	 * they mean BE_TCP6_V4.)
	 */
	{ "worker without socket, tcp4",
	  IPPROTO_TCP,
	  C4,
	  VIP4,
	  80,
	  false,
	  BE_TCP_A,
	  { BE_TCP_A },
	  WANT_REPICK,
	  BNC_STAT_SK_REPICK },
	{ "worker without socket, xdp flow",
	  IPPROTO_TCP,
	  C4,
	  VIP4,
	  80,
	  true,
	  BE_TCP_B,
	  { BE_TCP_B },
	  WANT_REPICK,
	  BNC_STAT_SK_REPICK },
	{ "two workers without socket, tcp4",
	  IPPROTO_TCP,
	  C4,
	  VIP4,
	  80,
	  false,
	  BE_TCP_C,
	  { BE_TCP_C, BE_TCP_A },
	  WANT_REPICK,
	  BNC_STAT_SK_REPICK },
	{ "worker without socket, udp4",
	  IPPROTO_UDP,
	  C4,
	  VIP4,
	  53,
	  false,
	  BE_UDP_B,
	  { BE_UDP_B },
	  WANT_REPICK,
	  BNC_STAT_SK_REPICK },
	{ "worker without socket, tcp6",
	  IPPROTO_TCP,
	  C6,
	  VIP6,
	  80,
	  false,
	  BE_TCP6_A,
	  { BE_TCP6_A },
	  WANT_REPICK,
	  BNC_STAT_SK_REPICK },
	{ "worker without socket, udp6",
	  IPPROTO_UDP,
	  C6,
	  VIP6,
	  53,
	  true,
	  BE_UDP6_A,
	  { BE_UDP6_A },
	  WANT_REPICK,
	  BNC_STAT_SK_REPICK },
	{ "ipv4 socket for an ipv6 vip",
	  IPPROTO_TCP,
	  C6,
	  VIP6,
	  80,
	  false,
	  BE_TCP6_V4,
	  { 0 },
	  WANT_REPICK,
	  BNC_STAT_SK_REPICK },
	/* No live worker: the stack refuses the connection. */
	{ "no live worker, tcp4",
	  IPPROTO_TCP,
	  C4,
	  VIP4,
	  80,
	  false,
	  0,
	  { BE_TCP_A, BE_TCP_B, BE_TCP_C },
	  WANT_NONE,
	  BNC_STAT_SK_NO_WORKER },
	{ "no live worker, xdp flow udp4",
	  IPPROTO_UDP,
	  C4,
	  VIP4,
	  53,
	  true,
	  0,
	  { BE_UDP_A, BE_UDP_B },
	  WANT_NONE,
	  BNC_STAT_SK_NO_WORKER },
	{ "no live worker, udp6",
	  IPPROTO_UDP,
	  C6,
	  VIP6,
	  53,
	  false,
	  0,
	  { BE_UDP6_A, BE_UDP6_B },
	  WANT_NONE,
	  BNC_STAT_SK_NO_WORKER },
	{ "no repick to a remote backend",
	  IPPROTO_TCP,
	  C4,
	  VIP4_MIXED,
	  80,
	  false,
	  BE_TCP_A,
	  { BE_TCP_A },
	  WANT_NONE,
	  BNC_STAT_SK_NO_WORKER },
	{ "vip without backends",
	  IPPROTO_TCP,
	  C4,
	  "10.100.0.3",
	  80,
	  false,
	  0,
	  { 0 },
	  WANT_NONE,
	  BNC_STAT_SK_NO_WORKER },
	/* Remote backends: the stack's own lookup. */
	{ "remote vip",
	  IPPROTO_TCP,
	  C4,
	  "10.100.0.1",
	  80,
	  false,
	  0,
	  { 0 },
	  WANT_NONE,
	  BNC_STAT_SK_REMOTE },
	{ "remote vip, udp6",
	  IPPROTO_UDP,
	  C6,
	  "fd00:100::1",
	  53,
	  false,
	  0,
	  { 0 },
	  WANT_NONE,
	  BNC_STAT_SK_REMOTE },
	/* A client XDP did not see (on this host) whose ring choice is
	 * remote: the stack would refuse it, a local worker takes it.
	 */
	{ "remote choice of a mixed vip: a worker takes it",
	  IPPROTO_TCP,
	  C4,
	  VIP4_MIXED,
	  80,
	  false,
	  DP_BE_V4_A,
	  { 0 },
	  WANT_REPICK,
	  BNC_STAT_SK_REPICK },
	{ "remote choice of a mixed vip, no live worker",
	  IPPROTO_TCP,
	  C4,
	  VIP4_MIXED,
	  80,
	  false,
	  DP_BE_V4_A,
	  { BE_TCP_A },
	  WANT_NONE,
	  BNC_STAT_SK_REMOTE },
	/* Not a VIP: untouched and uncounted. */
	{ "not a vip: address",
	  IPPROTO_TCP,
	  C4,
	  "10.10.0.9",
	  80,
	  false,
	  0,
	  { 0 },
	  WANT_NONE,
	  BNC_STAT_MAX },
	{ "not a vip: port", IPPROTO_TCP, C4, VIP4, 81, false, 0, { 0 }, WANT_NONE, BNC_STAT_MAX },
	{ "not a vip: protocol",
	  IPPROTO_UDP,
	  C4,
	  VIP4,
	  80,
	  false,
	  0,
	  { 0 },
	  WANT_NONE,
	  BNC_STAT_MAX },
	{ "not a vip: ipv6",
	  IPPROTO_TCP,
	  C6,
	  "fd00:10::9",
	  80,
	  false,
	  0,
	  { 0 },
	  WANT_NONE,
	  BNC_STAT_MAX },
};

/* Leaves only the flow's recorded backend out of its VIP's ring, so that
 * the ring would now choose another worker.
 */
static void ring_without(struct sk_world *w, const struct bnc_flow_key *flow, uint32_t id)
{
	struct bnc_vip_key key = { .port = flow->dport, .proto = flow->proto };
	uint32_t rest[3];
	size_t n = 0;

	memcpy(key.addr, flow->daddr, sizeof(key.addr));
	key.family = flow->family;
	for (size_t i = 0; i < ARRAY_SIZE(sk_vip_defs); i++) {
		const struct sk_vip_def *d = &sk_vip_defs[i];
		struct bnc_vip_key k;

		assert_int_equal(vip_key(d->addr, d->port, d->proto, &k), 0);
		if (memcmp(&k, &key, sizeof(k)))
			continue;
		for (size_t j = 0; j < ARRAY_SIZE(d->backends) && d->backends[j]; j++)
			if (d->backends[j] != id)
				rest[n++] = d->backends[j];
	}
	assert_true(n > 0);
	assert_int_equal(ring_fill(w, &key, rest, n), 0);
}

static void skip_unless_runnable(void)
{
	if (skip_reason) {
		print_message("skipped: %s\n", skip_reason);
		skip();
	}
}

static void sk_case_run(void **state)
{
	struct sk_world *w = *state;
	const struct sk_case *c = w->c;
	struct bnc_global_stats before, after;
	struct bnc_traffic t_before, t_after;
	struct bnc_flow_key flow;
	struct bnc_flow_value fv;
	uint32_t chosen = 0, want_id = 0;
	__u64 cookie, want = 0;

	skip_unless_runnable();
	flow = flow_of(c->proto, c->client, 40000, c->vip, c->dport);
	if (c->chosen) {
		flow_choosing(w, &flow, c->chosen);
		chosen = c->chosen;
	} else if (c->via_xdp || c->want != WANT_NONE) {
		assert_int_equal(dp_ring_choice(&w->env, &flow, &chosen), 0);
	}
	if (c->via_xdp) {
		xdp_first_packet(w, &flow);
		/* A clean slot records nothing; a recorded flow names it. */
		if (bnc_maps_flow_lookup(w->env.maps, &flow, &fv) == 0)
			assert_int_equal(fv.backend_id, chosen);
		ring_without(w, &flow, chosen);
	}
	for (size_t i = 0; i < ARRAY_SIZE(c->no_socket) && c->no_socket[i]; i++)
		assert_int_equal(bnc_maps_worker_clear(w->env.maps, c->no_socket[i]), 0);

	switch (c->want) {
	case WANT_CHOICE:
		want_id = chosen;
		break;
	case WANT_REPICK:
		want_id = expected_repick(w, &flow, chosen);
		assert_int_not_equal(want_id, BNC_BACKEND_NONE);
		assert_int_not_equal(want_id, chosen);
		break;
	case WANT_NONE:
		break;
	}
	if (want_id) {
		want = worker_cookie(w, want_id);
		assert_int_equal(bnc_maps_backend_stats(w->env.maps, want_id, &t_before), 0);
	}

	read_stats(w, &before);
	cookie = run_lookup(w, &flow);
	read_stats(w, &after);
	/* The worker's flow count moved when this lookup placed the flow: a
	 * TCP connection no entry decided, or a re-pick.
	 */
	if (want_id) {
		assert_int_equal(bnc_maps_backend_stats(w->env.maps, want_id, &t_after), 0);
		assert_int_equal(t_after.flows - t_before.flows,
				 c->want == WANT_REPICK || c->proto == IPPROTO_TCP ? 1 : 0);
	}
	if (cookie != want)
		fail_msg("assigned the socket of worker %u, want worker %u (ring chose %u)",
			 worker_of_cookie(w, cookie), want_id, chosen);
	for (size_t i = 0; i < ARRAY_SIZE(sk_stats); i++) {
		__u64 moved = after.counters[sk_stats[i]] - before.counters[sk_stats[i]];

		if (moved != (sk_stats[i] == c->counter))
			fail_msg("counter %s moved by %llu", bnc_stat_name(sk_stats[i]),
				 (unsigned long long)moved);
	}
	if (c->counter == BNC_STAT_MAX) {
		/* Not a VIP: nothing recorded either. */
		assert_int_equal(bnc_maps_flow_lookup(w->env.maps, &flow, &fv), -ENOENT);
		return;
	}
	if (c->want == WANT_NONE)
		return;
	/* A re-picked flow names the worker now, for XDP and for the next
	 * lookup (the next datagram), which agrees even with every worker
	 * back; the ring's own choice needs no entry.
	 */
	if (c->want == WANT_REPICK) {
		assert_int_equal(bnc_maps_flow_lookup(w->env.maps, &flow, &fv), 0);
		assert_int_equal(fv.backend_id, want_id);
	} else if (bnc_maps_flow_lookup(w->env.maps, &flow, &fv) == 0) {
		assert_int_equal(fv.backend_id, want_id);
	}
	for (size_t i = 0; i < ARRAY_SIZE(c->no_socket) && c->no_socket[i]; i++) {
		int wi = worker_index(c->no_socket[i]);

		assert_int_equal(bnc_maps_worker_set(w->env.maps, c->no_socket[i], w->fds[wi]), 0);
	}
	read_stats(w, &before);
	assert_int_equal(run_lookup(w, &flow), want);
	read_stats(w, &after);
	assert_int_equal(after.counters[BNC_STAT_SK_ASSIGN] - before.counters[BNC_STAT_SK_ASSIGN],
			 1);
}

/* The map API: a socket in, its cookie back, out again; and what the map
 * refuses.
 */
static void test_worker_map_api(void **state)
{
	struct sk_world *w = *state;
	struct bnc_maps *m = w->env.maps;
	__u64 cookie;
	int fd;

	skip_unless_runnable();
	assert_int_equal(bnc_maps_worker_cookie(m, BE_TCP_A, &cookie), 0);
	assert_true(cookie == worker_cookie(w, BE_TCP_A));
	assert_int_equal(bnc_maps_worker_clear(m, BE_TCP_A), 0);
	assert_int_equal(bnc_maps_worker_cookie(m, BE_TCP_A, &cookie), -ENOENT);
	assert_int_equal(bnc_maps_worker_clear(m, BE_TCP_A), 0);
	/* A replacement takes the slot: the worker's new socket. */
	assert_int_equal(bnc_maps_worker_set(m, BE_TCP_A, w->fds[worker_index(BE_TCP_B)]), 0);
	assert_int_equal(bnc_maps_worker_cookie(m, BE_TCP_A, &cookie), 0);
	assert_true(cookie == worker_cookie(w, BE_TCP_B));

	assert_int_equal(bnc_maps_worker_set(m, BNC_MAX_BACKENDS, w->fds[0]), -EINVAL);
	assert_int_equal(bnc_maps_worker_clear(m, BNC_MAX_BACKENDS), -EINVAL);
	assert_int_equal(bnc_maps_worker_cookie(m, BNC_MAX_BACKENDS, &cookie), -EINVAL);
	assert_int_equal(bnc_maps_worker_set(m, BE_TCP_C, -1), -EBADF);
	/* A TCP socket that does not listen cannot take connections. */
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(bnc_maps_worker_set(m, BE_TCP_C, fd), -EOPNOTSUPP);
	close(fd);

	/* A worker's socket leaves the map when the worker closes it. */
	fd = worker_socket(&worker_defs[worker_index(BE_TCP_C)]);
	assert_true(fd >= 0);
	assert_int_equal(bnc_maps_worker_set(m, BE_TCP_C, fd), 0);
	assert_int_equal(bnc_maps_worker_cookie(m, BE_TCP_C, &cookie), 0);
	close(fd);
	assert_int_equal(bnc_maps_worker_cookie(m, BE_TCP_C, &cookie), -ENOENT);
}

/* One connect() to VIP4:80 from this namespace. Returns the worker whose
 * listening socket accepted it, after checking that it is the one the
 * flow table names and the only one that got it, and sets *ring_choice to
 * the worker the ring chooses for the connection; 0 with *err set when
 * connect() failed.
 */
static uint32_t connect_vip(struct sk_world *w, const uint32_t *ids, size_t n,
			    uint32_t *ring_choice, int *err)
{
	struct sockaddr_in vip = { .sin_family = AF_INET, .sin_port = htons(80) };
	struct sockaddr_in local, accepted_local, accepted_peer;
	socklen_t len = sizeof(local);
	struct bnc_flow_key flow = { .proto = IPPROTO_TCP, .family = BNC_FAMILY_IPV4 };
	struct bnc_flow_value fv;
	uint32_t landed = 0;
	int fd, afd;

	assert_int_equal(inet_pton(AF_INET, VIP4, &vip.sin_addr), 1);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	if (connect(fd, (struct sockaddr *)&vip, sizeof(vip))) {
		*err = errno;
		close(fd);
		return 0;
	}
	assert_int_equal(getsockname(fd, (struct sockaddr *)&local, &len), 0);
	flow.saddr[0] = local.sin_addr.s_addr;
	flow.daddr[0] = vip.sin_addr.s_addr;
	flow.sport = local.sin_port;
	flow.dport = vip.sin_port;
	assert_int_equal(dp_ring_choice(&w->env, &flow, ring_choice), 0);
	/* The flow's entry names the worker; a clean slot's choice has none
	 * and is the ring's.
	 */
	if (bnc_maps_flow_lookup(w->env.maps, &flow, &fv))
		fv.backend_id = *ring_choice;

	for (size_t i = 0; i < n; i++) {
		struct pollfd pfd = { .fd = w->fds[worker_index(ids[i])], .events = POLLIN };

		/* The handshake's last ACK may still be on its way. */
		if (ids[i] == fv.backend_id)
			assert_int_equal(poll(&pfd, 1, 2000), 1);
		afd = accept4(pfd.fd, NULL, NULL, SOCK_CLOEXEC);
		if (afd < 0) {
			assert_int_equal(errno, EAGAIN);
			continue;
		}
		assert_int_equal(landed, 0);
		landed = ids[i];
		/* The worker sees the VIP and the client, nothing rewritten. */
		len = sizeof(accepted_local);
		assert_int_equal(getsockname(afd, (struct sockaddr *)&accepted_local, &len), 0);
		assert_memory_equal(&accepted_local.sin_addr, &vip.sin_addr, 4);
		assert_int_equal(accepted_local.sin_port, vip.sin_port);
		len = sizeof(accepted_peer);
		assert_int_equal(getpeername(afd, (struct sockaddr *)&accepted_peer, &len), 0);
		assert_int_equal(accepted_peer.sin_port, local.sin_port);
		close(afd);
	}
	close(fd);
	assert_int_equal(landed, fv.backend_id);
	return landed;
}

/* The program attached to this namespace, real TCP to a VIP on lo: the
 * connections spread over two workers' listening sockets as the ring
 * says; with one worker's socket gone they all land on the other; with
 * none left they are refused.
 */
static void test_live_connections(void **state)
{
	static const uint32_t ids[] = { BE_TCP_A, BE_TCP_B };
	struct sk_world *w = *state;
	struct bnc_global_stats before, after;
	struct bnc_vip_key key;
	unsigned int on[2] = { 0 }, was_a = 0;
	uint32_t landed, choice;
	int err = 0;

	skip_unless_runnable();
	assert_int_equal(vip_key(VIP4, 80, IPPROTO_TCP, &key), 0);
	assert_int_equal(ring_build(w, &key, ids, 2, true), 0);
	assert_int_equal(bnc_maps_worker_clear(w->env.maps, BE_TCP_C), 0);
	assert_int_equal(system("ip address replace " VIP4 "/32 dev lo"), 0);
	assert_int_equal(bnc_maps_sk_lookup_attach(w->env.maps, NULL, NULL), 0);

	/* XDP never sees these: each lands where the ring says. Two workers
	 * and 40 connections: all on one would take odds of 2^-39.
	 */
	for (int i = 0; i < 40; i++) {
		landed = connect_vip(w, ids, 2, &choice, &err);
		if (!landed)
			fail_msg("connect to " VIP4 ":80: %s", strerror(err));
		assert_int_equal(landed, choice);
		on[landed == BE_TCP_B]++;
	}
	if (!on[0] || !on[1])
		fail_msg("40 connections: %u on worker A, %u on worker B", on[0], on[1]);

	/* Worker A's socket goes: the connections the ring gives A go to B,
	 * each counted as a re-pick.
	 */
	assert_int_equal(bnc_maps_worker_clear(w->env.maps, BE_TCP_A), 0);
	read_stats(w, &before);
	for (int i = 0; i < 20; i++) {
		landed = connect_vip(w, ids, 2, &choice, &err);
		if (!landed)
			fail_msg("connect to " VIP4 ":80 with one worker: %s", strerror(err));
		assert_int_equal(landed, BE_TCP_B);
		was_a += choice == BE_TCP_A;
	}
	read_stats(w, &after);
	assert_int_equal(after.counters[BNC_STAT_SK_REPICK] - before.counters[BNC_STAT_SK_REPICK],
			 was_a);
	assert_int_equal(after.counters[BNC_STAT_SK_ASSIGN] - before.counters[BNC_STAT_SK_ASSIGN],
			 20 - was_a);
	/* Odds of 2^-20 against. */
	assert_true(was_a > 0);

	/* No worker left: refused by the stack. */
	assert_int_equal(bnc_maps_worker_clear(w->env.maps, BE_TCP_B), 0);
	read_stats(w, &before);
	assert_int_equal(connect_vip(w, ids, 2, &choice, &err), 0);
	assert_int_equal(err, ECONNREFUSED);
	read_stats(w, &after);
	assert_int_equal(
		after.counters[BNC_STAT_SK_NO_WORKER] - before.counters[BNC_STAT_SK_NO_WORKER], 1);
}

static uint32_t prog_id(int fd)
{
	struct bpf_prog_info info = { 0 };
	__u32 len = sizeof(info);

	assert_int_equal(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	return info.id;
}

/* A pinned link outlives its maker, and a new object takes it over. */
static void test_link_pin_and_adopt(void **state)
{
	struct sk_world *w = *state;
	struct bpf_link_info info = { 0 };
	__u32 len = sizeof(info);
	struct bnc_maps *next;
	struct statfs st;
	char pin[64];
	int fd;

	skip_unless_runnable();
	if (statfs("/sys/fs/bpf", &st) || st.f_type != BPF_FS_MAGIC) {
		print_message("skipped: no bpffs at /sys/fs/bpf\n");
		skip();
	}
	assert_int_equal(bnc_maps_sk_lookup_attach(w->env.maps, "/nonexistent", NULL), -ENOENT);
	snprintf(pin, sizeof(pin), "/sys/fs/bpf/bouncer-test-sk-lookup-%d", (int)getpid());
	unlink(pin);
	assert_int_equal(bnc_maps_sk_lookup_attach(w->env.maps, "/proc/self/ns/net", pin), 0);
	fd = bpf_obj_get(pin);
	assert_true(fd >= 0);
	assert_int_equal(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	assert_int_equal(info.type, BPF_LINK_TYPE_NETNS);
	assert_int_equal(info.netns.attach_type, BPF_SK_LOOKUP);
	assert_int_equal(info.prog_id, prog_id(w->prog_fd));

	assert_int_equal(bnc_maps_open(NULL, &next), 0);
	assert_int_equal(bnc_maps_sk_lookup_link_adopt(next, pin), 0);
	memset(&info, 0, sizeof(info));
	len = sizeof(info);
	assert_int_equal(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	assert_int_equal(info.prog_id, prog_id(bnc_maps_sk_lookup_prog_fd(next)));
	bnc_maps_close(next);
	assert_int_equal(
		bnc_maps_sk_lookup_link_adopt(w->env.maps, "/sys/fs/bpf/bouncer-no-such-link"),
		-ENOENT);
	close(fd);
	assert_int_equal(unlink(pin), 0);
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

/* Whether this kernel test-runs sk_lookup programs (5.15 and later). */
static const char *probe_test_run(void)
{
	static char reason[160];
	struct bnc_flow_key flow = { .proto = IPPROTO_TCP, .family = BNC_FAMILY_IPV4 };
	struct dp_env env;
	uint32_t verdict;
	__u64 cookie;
	int err;

	err = dp_env_setup(&env);
	if (!err)
		err = sk_run(bnc_maps_sk_lookup_prog_fd(env.maps), &flow, &cookie, &verdict);
	dp_env_teardown(&env);
	if (err == -EINVAL || err == -ENOTSUP || err == -EOPNOTSUPP) {
		snprintf(reason, sizeof(reason),
			 "this kernel cannot test-run sk_lookup programs (%s); 5.15 and later can",
			 strerror(-err));
		return reason;
	}
	/* Anything else is a failure the tests will report. */
	return NULL;
}

int main(void)
{
	static const struct CMUnitTest extra[] = {
		cmocka_unit_test_setup_teardown(test_worker_map_api, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_live_connections, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_link_pin_and_adopt, world_setup,
						world_teardown),
	};
	size_t n = ARRAY_SIZE(cases) + ARRAY_SIZE(extra);
	struct CMUnitTest *tests = calloc(n, sizeof(*tests));
	int failed;

	if (!tests)
		return 1;
	if (geteuid() != 0) {
		skip_reason = "needs root (BPF, a network namespace of its own)";
	} else {
		/* Our own namespace: the attached program and the VIP address
		 * on lo stay in it, and go with it.
		 */
		if (unshare(CLONE_NEWNET) || lo_up()) {
			perror("private network namespace");
			free(tests);
			return 1;
		}
		skip_reason = probe_test_run();
	}
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		tests[i].name = cases[i].name;
		tests[i].test_func = sk_case_run;
		tests[i].initial_state = (void *)&cases[i];
		tests[i].setup_func = world_setup;
		tests[i].teardown_func = world_teardown;
	}
	memcpy(&tests[ARRAY_SIZE(cases)], extra, sizeof(extra));
	failed = _cmocka_run_group_tests("sk_lookup", tests, n, NULL, NULL);
	free(tests);
	return failed;
}
