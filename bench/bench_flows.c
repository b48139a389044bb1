// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Datapath cost per packet by number of flows, from BPF_PROG_TEST_RUN:
 * established packets cycling through 1 to 1,000,000 flows in a fixed
 * random order (every flow opened and seen once before timing, so that
 * caches miss as they do with real traffic), a SYN per call, the first
 * packets of a connection (SYN, ACK, data), established packets while
 * a SYN flood runs, and mid-stream packets of flows never seen (a flow
 * table miss: in a changed slot it goes to the slot's previous backend). Each row is measured next to the floor program
 * (XDP_TX and nothing else) in the same process, interleaved round by
 * round, and reported as a ratio to it (min over min, per call).
 *
 * Every timed packet's output is checked: its destination MAC names the
 * backend, which must be the one the flow's first packets went to.
 *
 * The rows with "changed slots" use a VIP whose every ring slot the agent
 * changed (its backends rotated): every packet then asks the flow table.
 *
 * One call per packet starts each packet with an empty TLB on a kernel with
 * page-table isolation and no PCID, where every system call flushes it:
 * then the per-call figures count mostly the pages a packet touches. A
 * NIC's poll loop runs packet after packet without that. The rows marked
 * "one call" run lb_cycle (bench_wrap.bpf.c) instead: one call with a large
 * repeat, each run rewriting the packet's source to the next flow of a
 * table in the same fixed random order, next to cycle_floor, which does
 * only the rewrite; every run's backend is checked in the program. Their
 * figures are the kernel's, in whole ns: about 1 ns of rounding on a
 * floor of 10-25 ns, so compare their ns over the floor, not ratios.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>

#include "floor.skel.h"
#include "common/log.h"
#include "bouncerd/maglev.h"
#include "bouncerd/maps.h"
#include "cycle.h"
#include "pkt.h"
#include "wrap.h"

/* Rounds of interleaved floor/row samples (one more, untimed, first). */
#define ROUNDS 9
/* Calls of repeat=1 per sample. */
#define CALLS 2000
/* Every frame's buffer; an IPv4 frame is padded to 64 bytes, an IPv6 one
 * (its SYN to the length of its data packet) to 84.
 */
#define PKT_LEN 84
#define PKT_LEN_V4 64
#define OUT_MAX 256
#define NBACKENDS 4
#define VIP_PORT 80
/* The default flow table: what an agent loads without flow_table_size. */
#define FLOW_TABLE_SIZE BNC_MAX_FLOWS

static const __u8 dev_mac[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0x01 };
static const __u8 router_mac[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0xfe };

enum vip_kind {
	VIP_DSR,
	VIP_IPIP,
	VIP_CHANGED, /* dsr, every ring slot changed */
	VIP_CHANGED_IPIP, /* ipip, every ring slot changed */
	VIP_DSR6,
	VIP_IPIP6,
	VIP_KINDS,
};

/* IPv6 VIPs have IPv4 backends, as the others: dsr rewrites only MACs,
 * and ipip carries IPv6 in IPv4.
 */
static const struct {
	const char *addr;
	enum bnc_forwarding forwarding;
	bool v6;
} vips[VIP_KINDS] = {
	[VIP_DSR] = { "198.51.100.1", BNC_FWD_DSR },
	[VIP_IPIP] = { "198.51.100.2", BNC_FWD_IPIP },
	[VIP_CHANGED] = { "198.51.100.3", BNC_FWD_DSR },
	[VIP_CHANGED_IPIP] = { "198.51.100.4", BNC_FWD_IPIP },
	[VIP_DSR6] = { "2001:db8:100::1", BNC_FWD_DSR, true },
	[VIP_IPIP6] = { "2001:db8:100::2", BNC_FWD_IPIP, true },
};

enum row_kind {
	ROW_ESTABLISHED,
	ROW_SYN,
	ROW_FIRST_PACKETS, /* SYN, ACK, data of a new connection */
	ROW_SYN_FLOOD, /* established, one flood SYN untimed before each */
	/* Mid-stream packets of flows never seen (no SYN): in a changed slot
	 * each misses the flow table and goes to the slot's previous backend
	 * (ipip: with the current one as its second chance).
	 */
	ROW_MISS,
};

struct row {
	const char *name;
	enum row_kind kind;
	enum vip_kind vip;
	__u32 flows;
	double target; /* largest ratio to the floor; 0: none */
	double target_over_ns; /* largest ns over the floor; 0: none */
	bool one_call; /* lb_cycle with a large repeat, not a call per packet */
};

static const struct row rows[] = {
	{ "dsr established, 1 flow", ROW_ESTABLISHED, VIP_DSR, 1, 0, 0, false },
	{ "dsr established, 1,000 flows", ROW_ESTABLISHED, VIP_DSR, 1000, 0, 0, false },
	{ "dsr established, 10,000 flows", ROW_ESTABLISHED, VIP_DSR, 10000, 5, 0, false },
	{ "dsr established, 100,000 flows", ROW_ESTABLISHED, VIP_DSR, 100000, 0, 0, false },
	{ "dsr established, 1,000,000 flows", ROW_ESTABLISHED, VIP_DSR, 1000000, 5, 0, false },
	{ "ipip established, 1 flow", ROW_ESTABLISHED, VIP_IPIP, 1, 0, 0, false },
	{ "ipip established, 1,000 flows", ROW_ESTABLISHED, VIP_IPIP, 1000, 0, 0, false },
	{ "ipip established, 10,000 flows", ROW_ESTABLISHED, VIP_IPIP, 10000, 5, 0, false },
	{ "ipip established, 100,000 flows", ROW_ESTABLISHED, VIP_IPIP, 100000, 0, 0, false },
	{ "ipip established, 1,000,000 flows", ROW_ESTABLISHED, VIP_IPIP, 1000000, 5, 0, false },
	{ "dsr established, 100,000 flows, changed slots", ROW_ESTABLISHED, VIP_CHANGED, 100000, 0,
	  0, false },
	{ "ipip established, 100,000 flows, changed slots", ROW_ESTABLISHED, VIP_CHANGED_IPIP,
	  100000, 0, 0, false },
	{ "dsr miss, 100,000 flows, clean slots", ROW_MISS, VIP_DSR, 100000, 0, 0, false },
	{ "dsr miss, 100,000 flows, changed slots (to prev)", ROW_MISS, VIP_CHANGED, 100000, 0, 0,
	  false },
	{ "ipip miss, 100,000 flows, clean slots", ROW_MISS, VIP_IPIP, 100000, 0, 0, false },
	{ "ipip miss, 100,000 flows, changed slots (prev, 2nd chance)", ROW_MISS, VIP_CHANGED_IPIP,
	  100000, 0, 0, false },
	{ "dsr IPv6 established, 1 flow", ROW_ESTABLISHED, VIP_DSR6, 1, 0, 0, false },
	{ "dsr IPv6 established, 10,000 flows", ROW_ESTABLISHED, VIP_DSR6, 10000, 5, 0, false },
	{ "dsr IPv6 established, 1,000,000 flows", ROW_ESTABLISHED, VIP_DSR6, 1000000, 5, 0,
	  false },
	{ "ipip IPv6 established, 1 flow", ROW_ESTABLISHED, VIP_IPIP6, 1, 0, 0, false },
	{ "ipip IPv6 established, 10,000 flows", ROW_ESTABLISHED, VIP_IPIP6, 10000, 5, 0, false },
	{ "ipip IPv6 established, 1,000,000 flows", ROW_ESTABLISHED, VIP_IPIP6, 1000000, 5, 0,
	  false },
	{ "dsr SYN per call", ROW_SYN, VIP_DSR, 0, 0, 250, false },
	{ "ipip SYN per call", ROW_SYN, VIP_IPIP, 0, 0, 250, false },
	{ "dsr IPv6 SYN per call", ROW_SYN, VIP_DSR6, 0, 0, 250, false },
	{ "ipip IPv6 SYN per call", ROW_SYN, VIP_IPIP6, 0, 0, 250, false },
	{ "dsr SYN per call, changed slots", ROW_SYN, VIP_CHANGED, 0, 0, 0, false },
	{ "dsr SYN+ACK+data, per packet", ROW_FIRST_PACKETS, VIP_DSR, 0, 0, 0, false },
	{ "ipip SYN+ACK+data, per packet", ROW_FIRST_PACKETS, VIP_IPIP, 0, 0, 0, false },
	{ "dsr est. 100,000 flows under SYN flood", ROW_SYN_FLOOD, VIP_DSR, 100000, 0, 0, false },
	{ "dsr est. 100,000 flows under SYN flood, changed", ROW_SYN_FLOOD, VIP_CHANGED, 100000, 0,
	  0, false },
#define ONE_CALL(name, kind, vip, flows) \
	{ \
		name, kind, vip, flows, 0, 0, true \
	}
	ONE_CALL("dsr established, 1 flow", ROW_ESTABLISHED, VIP_DSR, 1),
	ONE_CALL("dsr established, 1,000 flows", ROW_ESTABLISHED, VIP_DSR, 1000),
	ONE_CALL("dsr established, 10,000 flows", ROW_ESTABLISHED, VIP_DSR, 10000),
	ONE_CALL("dsr established, 100,000 flows", ROW_ESTABLISHED, VIP_DSR, 100000),
	ONE_CALL("dsr established, 1,000,000 flows", ROW_ESTABLISHED, VIP_DSR, 1000000),
	ONE_CALL("ipip established, 1 flow", ROW_ESTABLISHED, VIP_IPIP, 1),
	ONE_CALL("ipip established, 10,000 flows", ROW_ESTABLISHED, VIP_IPIP, 10000),
	ONE_CALL("ipip established, 1,000,000 flows", ROW_ESTABLISHED, VIP_IPIP, 1000000),
	ONE_CALL("dsr established, 100,000 flows, changed slots", ROW_ESTABLISHED, VIP_CHANGED,
		 100000),
	ONE_CALL("ipip established, 100,000 flows, changed slots", ROW_ESTABLISHED,
		 VIP_CHANGED_IPIP, 100000),
	ONE_CALL("dsr IPv6 established, 1,000,000 flows", ROW_ESTABLISHED, VIP_DSR6, 1000000),
	ONE_CALL("ipip IPv6 established, 1,000,000 flows", ROW_ESTABLISHED, VIP_IPIP6, 1000000),
	ONE_CALL("dsr SYN", ROW_SYN, VIP_DSR, 0),
	ONE_CALL("ipip SYN", ROW_SYN, VIP_IPIP, 0),
#undef ONE_CALL
};

#define NROWS (sizeof(rows) / sizeof(rows[0]))

struct bench {
	struct bnc_maps *maps;
	struct floor *floor;
	struct bench_wrap *wrap;
	int lb_fd;
	int floor_fd;
	int cpu;
	/* The next unused client of new connections (SYN rows, floods). */
	__u32 next_new;
	/* Row packets, in the order they are sent, and each one's backend
	 * (the last byte of the stored next-hop MAC).
	 */
	__u8 (*pkts)[PKT_LEN];
	__u8 *want;
	size_t npkts;
	size_t pos;
	__u32 len; /* the row's frame length (its VIP's family) */
};

struct flow {
	bool v6;
	__be32 saddr[4];
	__be32 daddr[4];
	__u16 sport;
	__u8 tcp_flags;
	bool data;
};

static __u32 frame_len(bool v6)
{
	return v6 ? PKT_LEN : PKT_LEN_V4;
}

/* Client i of a block, of the VIP k's family: distinct address and port
 * for up to 2^26 clients per block; established flows and new
 * connections use separate blocks. Sets the flow's destination, the VIP.
 */
static void client(enum vip_kind k, __u32 block, __u32 i, struct flow *f)
{
	memset(f, 0, sizeof(*f));
	f->v6 = vips[k].v6;
	if (f->v6) {
		f->saddr[0] = htonl(0x20010db8);
		f->saddr[1] = htonl(block);
		f->saddr[3] = htonl(i >> 6);
		inet_pton(AF_INET6, vips[k].addr, f->daddr);
	} else {
		f->saddr[0] = htonl((block << 24) | (i >> 6));
		inet_pton(AF_INET, vips[k].addr, f->daddr);
	}
	f->sport = (__u16)(10000 + (i & 63));
}

static int build_tcp(__u8 *buf, const struct flow *f)
{
	const struct pkt_ipv4_opts ip = { .id = 1, .df = true };
	struct pkt_tcp_opts tcp = { .seq = 1000, .ack = 2000 };
	__u8 payload[10] = "0123456789";
	__u32 len = frame_len(f->v6);
	struct pkt p;

	pkt_init(&p);
	pkt_eth_bytes(&p, dev_mac, router_mac);
	if (f->v6)
		pkt_ipv6_bytes(&p, (const __u8 *)f->saddr, (const __u8 *)f->daddr, NULL);
	else
		pkt_ipv4_bytes(&p, (const __u8 *)f->saddr, (const __u8 *)f->daddr, &ip);
	pkt_tcp(&p, f->sport, VIP_PORT, f->tcp_flags, &tcp);
	if (f->data)
		pkt_payload(&p, payload, sizeof(payload));
	if (p.len < len)
		pkt_trailer(&p, NULL, len - p.len);
	if (pkt_finish(&p) || p.len != len)
		return -EINVAL;
	memcpy(buf, p.data, len);
	return 0;
}

static __be32 ip4(const char *s)
{
	struct in_addr a;

	return inet_pton(AF_INET, s, &a) == 1 ? a.s_addr : 0;
}

static int ring_set(struct bench *b, const struct bnc_vip_key *key, __u32 first, __u32 rotate)
{
	struct maglev_backend mb[NBACKENDS] = {};
	__u32 *ring = malloc(BNC_RING_SIZE_DEFAULT * sizeof(*ring));
	int err;

	if (!ring)
		return -ENOMEM;
	for (__u32 i = 0; i < NBACKENDS; i++) {
		mb[i].addr[0] = htonl(0x0a000000 | (first + i));
		mb[i].family = BNC_FAMILY_IPV4;
		mb[i].port = htons(VIP_PORT);
		mb[i].weight = 1;
		mb[i].id = first + (i + rotate) % NBACKENDS;
	}
	err = maglev_build(mb, NBACKENDS, BNC_RING_SIZE_DEFAULT, ring);
	if (!err)
		err = bnc_maps_ring_swap(b->maps, key, ring, BNC_RING_SIZE_DEFAULT);
	free(ring);
	return err;
}

static int vip_setup(struct bench *b, enum vip_kind k)
{
	struct bnc_vip_key key = {
		.port = htons(VIP_PORT),
		.proto = IPPROTO_TCP,
		.family = vips[k].v6 ? BNC_FAMILY_IPV6 : BNC_FAMILY_IPV4,
	};
	struct bnc_vip_value value = {
		.vip_id = k,
		.ring_size = BNC_RING_SIZE_DEFAULT,
		.forwarding = vips[k].forwarding,
	};
	__u32 first = k * NBACKENDS;
	int err;

	inet_pton(vips[k].v6 ? AF_INET6 : AF_INET, vips[k].addr, key.addr);
	err = bnc_maps_vip_add(b->maps, &key, &value);
	for (__u32 i = 0; i < NBACKENDS && !err; i++) {
		struct bnc_backend be = {
			.addr = { htonl(0x0a000000 | (first + i)) },
			.mtu = 1500,
			.port = htons(VIP_PORT),
			.family = BNC_FAMILY_IPV4,
			.kind = BNC_BACKEND_REMOTE,
			.state = BNC_BACKEND_UP,
			.next_hop_mac = { 0x02, 0, 0, 0, 0x01, (__u8)(first + i) },
		};

		memcpy(be.src_mac, dev_mac, ETH_ALEN);
		err = bnc_maps_backend_set(b->maps, first + i, &be);
	}
	if (!err)
		err = ring_set(b, &key, first, 0);
	/* Every slot to another backend: as after changes of the set. */
	if (!err && (k == VIP_CHANGED || k == VIP_CHANGED_IPIP))
		err = ring_set(b, &key, first, 1);
	return err;
}

static int run(const struct bench *b, int fd, const __u8 *pkt, __u8 *out, __u32 *retval,
	       __u32 *duration)
{
	struct bpf_test_run_opts opts = {
		.sz = sizeof(opts),
		.data_in = pkt,
		.data_out = out,
		.data_size_out = out ? OUT_MAX : 0,
		.repeat = 1,
	};

	opts.data_size_in = b->len;
	if (bpf_prog_test_run_opts(fd, &opts))
		return -errno;
	*retval = opts.retval;
	*duration = opts.duration;
	return 0;
}

/* Sends one packet through the load balancer untimed; *backend is the
 * backend it went to.
 */
static int send_one(const struct bench *b, const __u8 *pkt, __u8 *backend)
{
	__u8 out[OUT_MAX];
	__u32 retval = 0, dur = 0;
	int err = run(b, b->lb_fd, pkt, out, &retval, &dur);

	if (err)
		return err;
	if (retval != XDP_TX)
		return -EPROTO;
	*backend = out[5];
	return 0;
}

static __u64 rng_state = 0x9e3779b97f4a7c15ull;

static __u32 rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (__u32)(rng_state >> 16);
}

/* A new connection's packet (a client never used before). */
static int new_syn(struct bench *b, enum vip_kind k, __u8 *buf, struct flow *f)
{
	client(k, 12, b->next_new++, f);
	f->tcp_flags = PKT_TCP_SYN;
	f->data = false;
	return build_tcp(buf, f);
}

/* Opens n flows (SYN, then a data packet; a ROW_MISS row sends no SYN),
 * lays out their data packets in a fixed random order, and records each
 * one's backend.
 */
static int prepare_established(struct bench *b, const struct row *r)
{
	__u32 *order;
	__u8 syn[PKT_LEN];
	int err = 0;

	order = malloc(sizeof(*order) * r->flows);
	b->pkts = malloc(PKT_LEN * (size_t)r->flows);
	b->want = malloc(r->flows);
	if (!order || !b->pkts || !b->want) {
		free(order);
		return -ENOMEM;
	}
	for (__u32 i = 0; i < r->flows; i++)
		order[i] = i;
	for (__u32 i = r->flows; i > 1; i--) {
		__u32 j = rng() % i, t = order[i - 1];

		order[i - 1] = order[j];
		order[j] = t;
	}
	for (__u32 i = 0; i < r->flows && !err; i++) {
		struct flow f;
		__u8 first = 0;

		/* Miss rows' clients are their own: no other row opened them. */
		client(r->vip,
		       (__u32)(r->vip + 1) * 16 + (r->kind == ROW_MISS ? 8 : 0) +
			       (r->flows > 100000),
		       order[i], &f);
		f.tcp_flags = PKT_TCP_SYN;
		f.data = false;
		err = build_tcp(syn, &f);
		if (!err && r->kind != ROW_MISS)
			err = send_one(b, syn, &first);
		f.tcp_flags = PKT_TCP_ACK | PKT_TCP_PSH;
		f.data = true;
		if (!err)
			err = build_tcp(b->pkts[i], &f);
		/* Seen once more, as the flow's first data. */
		if (!err)
			err = send_one(b, b->pkts[i], &b->want[i]);
		if (!err && r->kind != ROW_MISS && b->want[i] != first)
			err = -EPROTO;
	}
	free(order);
	b->npkts = r->flows;
	b->pos = 0;
	return err;
}

/* New connections' packets, at least packets of them (whole connections:
 * a ROW_FIRST_PACKETS row sends three each).
 */
static int prepare_new(struct bench *b, const struct row *r, size_t packets)
{
	size_t per = r->kind == ROW_FIRST_PACKETS ? 3 : 1;
	size_t n = (packets + per - 1) / per * per;
	int err = 0;

	b->pkts = malloc(PKT_LEN * n);
	b->want = calloc(n, 1);
	if (!b->pkts || !b->want)
		return -ENOMEM;
	for (size_t i = 0; i < n && !err; i += per) {
		struct flow f;

		err = new_syn(b, r->vip, b->pkts[i], &f);
		if (per == 3 && !err) {
			f.tcp_flags = PKT_TCP_ACK;
			err = build_tcp(b->pkts[i + 1], &f);
			f.tcp_flags = PKT_TCP_ACK | PKT_TCP_PSH;
			f.data = true;
			if (!err)
				err = build_tcp(b->pkts[i + 2], &f);
		}
	}
	b->npkts = n;
	b->pos = 0;
	return err;
}

/* One sample: CALLS packets from the row's next ones through fd; with
 * check, each one's backend must be the recorded one (a new connection's
 * first packet records it for the next two).
 */
static int sample(struct bench *b, const struct row *r, int fd, bool check, size_t start,
		  double *ns)
{
	__u8 out[OUT_MAX] = { 0 }, flood[PKT_LEN], ignored;
	__u32 retval = 0, dur = 0;
	__u64 sum = 0;
	struct flow f;
	int err;

	for (__u32 i = 0; i < CALLS; i++) {
		size_t at = (start + i) % b->npkts;

		if (check && r->kind == ROW_SYN_FLOOD) {
			err = new_syn(b, r->vip, flood, &f);
			if (!err)
				err = send_one(b, flood, &ignored);
			if (err)
				return err;
		}
		err = run(b, fd, b->pkts[at], check ? out : NULL, &retval, &dur);
		if (err)
			return err;
		if (retval != XDP_TX) {
			log_warnx("%s: call %u returned %u", r->name, i, retval);
			return -EPROTO;
		}
		sum += dur;
		if (!check)
			continue;
		if (r->kind == ROW_SYN || r->kind == ROW_FIRST_PACKETS) {
			if (r->kind == ROW_SYN || at % 3 == 0)
				b->want[at] = out[5];
			else if (out[5] != b->want[at - at % 3])
				return -EPROTO;
		} else if (out[5] != b->want[at]) {
			log_warnx("%s: flow %zu went to backend %u, first to %u", r->name, at,
				  out[5], b->want[at]);
			return -EPROTO;
		}
	}
	*ns = (double)sum / CALLS;
	return 0;
}

/* Runs per call of a one-call row: every flow once, and at least this
 * many, so that the call's own cost (a system call, the packet's copy) is
 * a few ns per run at most.
 */
#define ONE_CALL_MIN_RUNS 100000

static __u32 one_call_runs(const struct row *r)
{
	return r->flows > ONE_CALL_MIN_RUNS ? r->flows : ONE_CALL_MIN_RUNS;
}

/* A one-call SYN row's packets: a new client for every run of every round,
 * each sent once untimed first so that the program knows its backend. A
 * SYN in a clean slot records nothing and never reads the flow cache: the
 * timed SYN takes the path a new client's does.
 */
static int prepare_syns(struct bench *b, const struct row *r, size_t n)
{
	int err = prepare_new(b, r, n);

	for (size_t i = 0; i < b->npkts && !err; i++)
		err = send_one(b, b->pkts[i], &b->want[i]);
	return err;
}

/* lb_cycle's table: each row packet's source and backend, in send order.
 * The frames are untagged, IPv4 without options or IPv6 without extension
 * headers (build_tcp()).
 */
static int cycle_fill(struct bench *b, bool v6)
{
	int fd = bpf_map__fd(b->wrap->maps.bench_cycle_flows);
	size_t saddr_at = v6 ? ETH_HLEN + 8 : ETH_HLEN + 12;
	size_t sport_at = v6 ? ETH_HLEN + 40 : ETH_HLEN + 20;

	if (b->npkts > BENCH_CYCLE_FLOWS)
		return -E2BIG;
	for (__u32 i = 0; i < b->npkts; i++) {
		struct bench_flow f = { .backend = b->want[i] };

		memcpy(f.saddr, b->pkts[i] + saddr_at, v6 ? 16 : 4);
		memcpy(&f.sport, b->pkts[i] + sport_at, sizeof(f.sport));
		if (bpf_map_update_elem(fd, &i, &f, BPF_ANY))
			return -errno;
	}
	return 0;
}

/* One call of runs packets through fd from the table's entry at b->pos;
 * *ns is the kernel's time per run, whole ns: the call's wall time also
 * holds moving the program into the XDP dispatcher and out, which waits
 * for RCU grace periods (milliseconds, in steps of a jiffy on some
 * machines), too much and too uneven to spread over the runs.
 * Fails if any run's packet went to another backend than its flow's.
 */
static int one_call_sample(struct bench *b, const struct row *r, int fd, __u32 runs, double *ns)
{
	struct bpf_test_run_opts opts = {
		.sz = sizeof(opts),
		.data_in = b->pkts[0],
		.data_size_in = b->len,
		.repeat = runs,
	};

	b->wrap->bss->cycle_flows = (__u32)b->npkts;
	b->wrap->bss->cycle_next = (__u32)(b->pos % b->npkts);
	b->wrap->bss->cycle_wrong = 0;
	if (bpf_prog_test_run_opts(fd, &opts))
		return -errno;
	*ns = opts.duration;
	if (opts.retval != XDP_TX || b->wrap->bss->cycle_wrong) {
		log_warnx("%s: %u of %u runs failed or went to another backend", r->name,
			  b->wrap->bss->cycle_wrong, runs);
		return -EPROTO;
	}
	return 0;
}

static int prepare_row(struct bench *b, const struct row *r)
{
	bool v6 = vips[r->vip].v6;
	int err;

	b->len = frame_len(v6);
	if (r->one_call && r->kind == ROW_SYN)
		err = prepare_syns(b, r, (size_t)one_call_runs(r) * (ROUNDS + 1));
	else if (r->kind == ROW_ESTABLISHED || r->kind == ROW_SYN_FLOOD || r->kind == ROW_MISS)
		err = prepare_established(b, r);
	else
		err = prepare_new(b, r, (size_t)CALLS * (ROUNDS + 1));
	if (!err && r->one_call)
		err = cycle_fill(b, v6);
	return err;
}

/* One round: the floor's sample, then the row's, from the same packets. */
static int round_sample(struct bench *b, const struct row *r, double *floor_ns, double *ns)
{
	__u32 runs;
	int err;

	if (!r->one_call) {
		err = sample(b, r, b->floor_fd, false, b->pos, floor_ns);
		if (!err)
			err = sample(b, r, b->lb_fd, true, b->pos, ns);
		b->pos += CALLS;
		return err;
	}
	runs = one_call_runs(r);
	err = one_call_sample(b, r, bpf_program__fd(b->wrap->progs.cycle_floor), runs, floor_ns);
	if (!err)
		err = one_call_sample(b, r, bpf_program__fd(b->wrap->progs.lb_cycle), runs, ns);
	b->pos += runs;
	return err;
}

static int measure_row(struct bench *b, const struct row *r, double *best, double *floor_best)
{
	double ns, floor_ns;
	int err = prepare_row(b, r);

	*best = *floor_best = 1e18;
	for (int round = 0; round <= ROUNDS && !err; round++) {
		err = round_sample(b, r, &floor_ns, &ns);
		if (err || round == 0)
			continue;
		if (ns < *best)
			*best = ns;
		if (floor_ns < *floor_best)
			*floor_best = floor_ns;
	}
	free(b->pkts);
	free(b->want);
	b->pkts = NULL;
	b->want = NULL;
	return err;
}

static void print_section(bool one_call)
{
	if (one_call)
		printf("\nOne call per sample: lb_cycle with repeat = flows, at least %d, so that "
		       "the TLB stays warm from packet to packet as in a NIC's poll loop; the "
		       "floor, cycle_floor, does the same source rewrite and XDP_TX\n",
		       ONE_CALL_MIN_RUNS);
	else
		printf("\nOne call per packet (repeat = 1), %d calls per sample: every packet "
		       "starts with the TLB a system call left (see the top of bench_flows.c)\n",
		       CALLS);
	printf("%-50s %8s %8s %8s %8s  %s\n", "row", "ns", "floor", "over", "ratio", "target");
}

static int setup(struct bench *b)
{
	struct bnc_maps_opts opts = { .flow_table_size = FLOW_TABLE_SIZE };
	struct bnc_config cfg = { .ipip_src_v4 = ip4("10.99.0.1"), .hash_seed = 1 };
	cpu_set_t set;
	int err;

	b->cpu = sched_getcpu();
	CPU_ZERO(&set);
	CPU_SET(b->cpu, &set);
	if (b->cpu < 0 || sched_setaffinity(0, sizeof(set), &set))
		return -errno;
	err = bnc_maps_open(&opts, &b->maps);
	if (err)
		return err;
	b->lb_fd = bnc_maps_prog_fd(b->maps);
	err = bnc_maps_set_config(b->maps, &cfg);
	for (int k = 0; k < VIP_KINDS && !err; k++)
		err = vip_setup(b, k);
	if (err)
		return err;
	b->floor = floor__open_and_load();
	if (!b->floor)
		return -errno;
	b->floor_fd = bpf_program__fd(b->floor->progs.floor_xdp);
	return bench_wrap_load(b->maps, &b->wrap);
}

int main(void)
{
	struct bench b = {};
	const char *only = getenv("BENCH_FLOWS_ONLY");
	struct utsname u;
	int err, failed = 0, section = -1;

	log_init("bench_flows", LOG_LEVEL_WARN);
	if (geteuid() != 0) {
		fprintf(stderr, "bench_flows: needs root (BPF_PROG_TEST_RUN)\n");
		return 1;
	}
	log_route_libbpf();
	err = setup(&b);
	if (err) {
		fprintf(stderr, "bench_flows: %s\n", strerror(-err));
		return 1;
	}
	if (uname(&u))
		memset(&u, 0, sizeof(u));
	printf("bouncer datapath by number of flows: ns per packet, BPF_PROG_TEST_RUN, TCP frames "
	       "of 64 bytes (IPv4) and 84 (IPv6)\n");
	printf("kernel %s, CPU %d, flow table %d entries, %d rounds, min over rounds of the mean\n",
	       u.release, b.cpu, (int)FLOW_TABLE_SIZE, ROUNDS);
	for (size_t i = 0; i < NROWS; i++) {
		const struct row *r = &rows[i];
		double ns, floor_ns, over, ratio;
		char target[32] = "", label[96];
		bool miss = false;

		/* BENCH_FLOWS_ONLY=TEXT: only the rows whose name holds it
		 * (the one-call rows' names as "one call: NAME").
		 */
		snprintf(label, sizeof(label), "%s%s", r->one_call ? "one call: " : "", r->name);
		if (only && !strstr(label, only))
			continue;
		if (r->one_call != section) {
			section = r->one_call;
			print_section(r->one_call);
		}
		err = measure_row(&b, r, &ns, &floor_ns);
		if (err) {
			printf("%-50s failed: %s\n", r->name, strerror(-err));
			failed++;
			continue;
		}
		over = ns - floor_ns;
		ratio = ns / floor_ns;
		if (r->target) {
			snprintf(target, sizeof(target), "<= %.0fx", r->target);
			miss = ratio > r->target;
		} else if (r->target_over_ns) {
			snprintf(target, sizeof(target), "<= %.0f ns over", r->target_over_ns);
			miss = over > r->target_over_ns;
		}
		printf("%-50s %8.1f %8.1f %8.1f %7.2fx  %s%s\n", r->name, ns, floor_ns, over, ratio,
		       target, miss ? " MISSED" : "");
		fflush(stdout);
	}
	bench_wrap__destroy(b.wrap);
	floor__destroy(b.floor);
	bnc_maps_close(b.maps);
	return failed ? 1 : 0;
}
