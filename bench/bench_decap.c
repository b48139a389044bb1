// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The second chance's cost per packet, through BPF_PROG_TEST_RUN, as
 * ratios to the floor program (XDP_TX and nothing else) measured in the
 * same rounds: on the backend, bouncer-decap for a packet without a second
 * chance, one with a second chance and a connection here (a socket lookup
 * more), and one handed on (a socket lookup, a route lookup, the rewrite);
 * on the load balancer, the ipip encapsulation without a second chance,
 * with the one chosen (an IPv4 option, an IPv6 destination option) and
 * with the candidate not taken (a GUE-style UDP header).
 *
 * Every run gets a fresh copy of the packet (repeat 1, the per-call
 * method of bench_datapath): each of these programs rewrites the frame,
 * so a run on its own output would take another path. The kernel's
 * per-call duration includes a fixed cost that the floor shares, so the
 * ratios sit closer to 1 than batch ratios would; "over floor" is the
 * program's own cost in ns.
 *
 * Root; runs in a network namespace of its own (a veth, the VIP on lo, a
 * listener and one established connection).
 */
#define _GNU_SOURCE /* unshare, sched_setaffinity */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bouncer_abi.h"
#include "bouncer_decap.h"
#include "bench_wrap.skel.h"
#include "decap.skel.h"
#include "floor.skel.h"
#include "pkt.h"

#define ROUNDS 15
#define CALLS 2000

#define DEV "bd0"
#define DEV_MAC "02:00:00:00:bd:00"
#define LB_MAC "02:00:00:00:bd:01"
#define PEER_MAC "02:00:00:00:bd:03"
#define SELF4 "10.71.0.2"
#define LB4 "10.71.0.1"
#define PEER4 "10.71.0.3"
#define SELF6 "fd71::2"
#define LB6 "fd71::1"
#define PEER6 "fd71::3"
#define VIP4 "10.71.1.1"
#define CLIENT4 "10.71.2.5"
#define VIP_PORT 80
#define STRANGER_PORT 40001

enum prog_kind { P_DECAP, P_ENCAP, P_GUE };

struct row {
	const char *name;
	enum prog_kind prog;
	const char *outer_src; /* decap rows: the frame's outer source */
	const char *sc; /* its second chance, NULL for none */
	bool established; /* from the connection this host has */
	__u32 be_id, second_id; /* encap rows */
	int action;
};

static struct row rows[] = {
	{ "decap: no second chance (today's path)", P_DECAP, LB4, NULL, false, 0, 0, XDP_PASS },
	{ "decap: second chance, connection here", P_DECAP, LB4, PEER4, true, 0, 0, XDP_PASS },
	{ "decap: second chance, handed on", P_DECAP, LB4, PEER4, false, 0, 0, XDP_TX },
	{ "decap: IPv6 outer, handed on", P_DECAP, LB6, PEER6, false, 0, 0, XDP_TX },
	{ "lb ipip IPv4 outer, no second chance", P_ENCAP, NULL, NULL, false, 1, BNC_BACKEND_NONE,
	  XDP_TX },
	{ "lb ipip IPv4 outer + IP option (chosen)", P_ENCAP, NULL, NULL, false, 1, 2, XDP_TX },
	{ "lb ipip IPv4 outer + GUE header (not taken)", P_GUE, NULL, NULL, false, 1, 2, XDP_TX },
	{ "lb ipip IPv6 outer, no second chance", P_ENCAP, NULL, NULL, false, 3, BNC_BACKEND_NONE,
	  XDP_TX },
	{ "lb ipip IPv6 outer + destination option", P_ENCAP, NULL, NULL, false, 3, 4, XDP_TX },
};

#define NROWS (sizeof(rows) / sizeof(rows[0]))

/* Each row's lowest sample and the floor's lowest in the same rounds. */
static double best_ns[NROWS], best_floor[NROWS];

static int sh(const char *cmd)
{
	int rc = system(cmd);

	if (rc)
		fprintf(stderr, "bench_decap: \"%s\" failed (status %d)\n", cmd, rc);
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

static int add_backend(struct bench_wrap *w, __u32 id, const char *addr, const char *mac)
{
	struct bnc_backend be = { .kind = BNC_BACKEND_REMOTE,
				  .state = BNC_BACKEND_UP,
				  .mtu = 1500 };

	if (inet_pton(AF_INET, addr, be.addr) == 1)
		be.family = BNC_FAMILY_IPV4;
	else if (inet_pton(AF_INET6, addr, be.addr) == 1)
		be.family = BNC_FAMILY_IPV6;
	else
		return -1;
	if (pkt_parse_mac(mac, be.next_hop_mac) || pkt_parse_mac(LB_MAC, be.src_mac))
		return -1;
	return bpf_map__update_elem(w->maps.backends, &id, sizeof(id), &be, sizeof(be), BPF_ANY);
}

/* The client's packet: an ACK with 10 bytes of payload (a 64-byte frame
 * before encapsulation), from port sport.
 */
static int build(struct pkt *p, const struct row *r, uint16_t sport)
{
	static const struct pkt_ipv4_opts df = { .df = true };
	uint8_t opt[BNC_SC_DSTOPT_LEN] = {};

	pkt_init(p);
	pkt_eth(p, DEV_MAC, LB_MAC);
	if (r->prog == P_DECAP && !strchr(r->outer_src, ':')) {
		struct pkt_ipv4_opts o = { .df = true };

		if (r->sc) {
			opt[0] = BNC_SC_OPT_V4;
			opt[1] = BNC_SC_OPT_V4_LEN;
			inet_pton(AF_INET, r->sc, opt + 4);
			o.options = opt;
			o.options_len = BNC_SC_OPT_V4_LEN;
		}
		pkt_ipv4(p, r->outer_src, SELF4, &o);
	} else if (r->prog == P_DECAP) {
		pkt_ipv6(p, r->outer_src, SELF6, NULL);
		opt[0] = BNC_SC_OPT_V6;
		opt[1] = BNC_SC_OPT_V6_DATA_LEN;
		inet_pton(AF_INET6, r->sc, opt + 6);
		pkt_ipv6_ext(p, IPPROTO_DSTOPTS, opt, BNC_SC_DSTOPT_LEN - 2);
	}
	pkt_ipv4(p, CLIENT4, VIP4, &df);
	pkt_tcp(p, sport, VIP_PORT, PKT_TCP_ACK, NULL);
	pkt_payload(p, NULL, 10);
	return pkt_finish(p);
}

static int run(int fd, const struct pkt *p, int ifindex, __u32 *retval, __u32 *duration)
{
	static uint8_t out[PKT_MAX_LEN];
	struct xdp_md md = { .data_end = (__u32)p->len, .ingress_ifindex = (__u32)ifindex };
	struct bpf_test_run_opts opts = {
		.sz = sizeof(opts),
		.data_in = p->data,
		.data_size_in = (__u32)p->len,
		.data_out = out,
		.data_size_out = sizeof(out),
		.ctx_in = &md,
		.ctx_size_in = sizeof(md),
		.repeat = 1,
	};

	if (bpf_prog_test_run_opts(fd, &opts))
		return -errno;
	*retval = opts.retval;
	*duration = opts.duration;
	return 0;
}

/* Mean ns of CALLS runs of fd on p; -1 if a run did not end in action. */
static double sample(int fd, const struct pkt *p, int ifindex, int action)
{
	__u32 retval = 0, duration = 0;
	double sum = 0;

	for (int i = 0; i < CALLS; i++) {
		if (run(fd, p, ifindex, &retval, &duration) || (int)retval != action)
			return -1;
		sum += duration;
	}
	return sum / CALLS;
}

static int world(int *ifindex, uint16_t *client_port, int fds[3])
{
	struct sockaddr_in vip = { .sin_family = AF_INET, .sin_port = htons(VIP_PORT) };
	struct sockaddr_in cl = { .sin_family = AF_INET };
	socklen_t len = sizeof(cl);

	if (sh("ip link set lo up && "
	       "ip link add " DEV " address " DEV_MAC " type veth peer name bd1 && "
	       "ip link set " DEV " up && ip link set bd1 up && "
	       "ip addr add " SELF4 "/24 dev " DEV " && ip addr add " SELF6 "/64 dev " DEV
	       " nodad && ip addr add " VIP4 "/32 dev lo && ip addr add " CLIENT4 "/32 dev lo && "
	       "ip neigh replace " PEER4 " lladdr " PEER_MAC " dev " DEV " nud permanent && "
	       "ip neigh replace " PEER6 " lladdr " PEER_MAC " dev " DEV " nud permanent && "
	       "sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1"))
		return -1;
	*ifindex = (int)if_nametoindex(DEV);
	inet_pton(AF_INET, VIP4, &vip.sin_addr);
	inet_pton(AF_INET, CLIENT4, &cl.sin_addr);
	fds[0] = socket(AF_INET, SOCK_STREAM, 0);
	fds[1] = socket(AF_INET, SOCK_STREAM, 0);
	if (fds[0] < 0 || fds[1] < 0 || bind(fds[0], (struct sockaddr *)&vip, sizeof(vip)) ||
	    listen(fds[0], 4) || bind(fds[1], (struct sockaddr *)&cl, sizeof(cl)) ||
	    connect(fds[1], (struct sockaddr *)&vip, sizeof(vip)))
		return -1;
	fds[2] = accept(fds[0], NULL, NULL);
	if (fds[2] < 0 || getsockname(fds[1], (struct sockaddr *)&cl, &len))
		return -1;
	*client_port = ntohs(cl.sin_port);
	return 0;
}

int main(void)
{
	struct bench_wrap *w = NULL;
	struct decap *d = NULL;
	struct floor *f = NULL;
	struct bnc_config cfg = {};
	struct pkt pkts[NROWS], floor_pkt;
	int ifindex = 0, fds[3] = { -1, -1, -1 }, err = 1, cpu;
	uint16_t client_port = 0;
	__u32 zero = 0;
	cpu_set_t set;

	if (geteuid() != 0) {
		printf("bench_decap: skipped: needs root\n");
		return 0;
	}
	cpu = sched_getcpu();
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (cpu < 0 || sched_setaffinity(0, sizeof(set), &set) || unshare(CLONE_NEWNET) ||
	    world(&ifindex, &client_port, fds)) {
		fprintf(stderr, "bench_decap: cannot set up: %s\n", strerror(errno));
		goto out;
	}
	d = decap__open_and_load();
	w = bench_wrap__open_and_load();
	f = floor__open_and_load();
	if (!d || !w || !f)
		goto out;
	inet_pton(AF_INET, LB4, &cfg.ipip_src_v4);
	inet_pton(AF_INET6, LB6, cfg.ipip_src_v6);
	if (add_addr(d->maps.decap_addrs, SELF4) || add_addr(d->maps.decap_addrs, SELF6) ||
	    add_addr(d->maps.decap_lbs, LB4) || add_addr(d->maps.decap_lbs, LB6) ||
	    add_addr(d->maps.decap_peers, PEER4) || add_addr(d->maps.decap_peers, PEER6) ||
	    bpf_map__update_elem(w->maps.config, &zero, sizeof(zero), &cfg, sizeof(cfg), 0) ||
	    add_backend(w, 1, SELF4, DEV_MAC) || add_backend(w, 2, PEER4, PEER_MAC) ||
	    add_backend(w, 3, SELF6, DEV_MAC) || add_backend(w, 4, PEER6, PEER_MAC))
		goto out;
	for (size_t i = 0; i < NROWS; i++) {
		if (build(&pkts[i], &rows[i], rows[i].established ? client_port : STRANGER_PORT))
			goto out;
		best_ns[i] = best_floor[i] = 1e18;
	}
	floor_pkt = pkts[0];

	/* One untimed round first, to warm caches and the JIT'd code. */
	for (int round = -1; round < ROUNDS; round++) {
		for (size_t i = 0; i < NROWS; i++) {
			struct row *r = &rows[i];
			int fd = r->prog == P_DECAP ? bpf_program__fd(d->progs.decap)
				 : r->prog == P_GUE ? bpf_program__fd(w->progs.encap_gue)
						    : bpf_program__fd(w->progs.encap_second);
			double fl, ns;

			w->bss->encap_backend_id = r->be_id;
			w->data->encap_second_id = r->second_id;
			fl = sample(bpf_program__fd(f->progs.floor_xdp), &floor_pkt, ifindex,
				    XDP_TX);
			ns = sample(fd, &pkts[i], ifindex, r->action);
			if (fl < 0 || ns < 0) {
				fprintf(stderr, "bench_decap: %s: not the expected verdict\n",
					r->name);
				goto out;
			}
			if (round < 0)
				continue;
			if (ns < best_ns[i])
				best_ns[i] = ns;
			if (fl < best_floor[i])
				best_floor[i] = fl;
		}
	}

	printf("Second chance: per-call (repeat 1), best of %d interleaved rounds of %d calls, "
	       "CPU %d\n",
	       ROUNDS, CALLS, cpu);
	printf("%-46s %8s %8s %7s %11s\n", "", "ns/pkt", "floor", "ratio", "over floor");
	for (size_t i = 0; i < NROWS; i++)
		printf("%-46s %8.1f %8.1f %6.2fx %8.1f ns\n", rows[i].name, best_ns[i],
		       best_floor[i], best_ns[i] / best_floor[i], best_ns[i] - best_floor[i]);
	err = 0;
out:
	for (int i = 0; i < 3; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
	}
	decap__destroy(d);
	bench_wrap__destroy(w);
	floor__destroy(f);
	return err;
}
