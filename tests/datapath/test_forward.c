// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Datapath cases through BPF_PROG_TEST_RUN on the real XDP object: what
 * is forwarded where and how, what is answered, passed or dropped. The
 * VIPs and backends are listed in tests/lib/dp.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "bouncer_hash.h"
#include "dp_case.h"

#define V4_TCP(dst, port) \
	.family = 4, .proto = IPPROTO_TCP, .daddr = dst, .sport = 40000, .dport = port
#define V4_UDP(dst, port) \
	.family = 4, .proto = IPPROTO_UDP, .daddr = dst, .sport = 40000, .dport = port
#define V6_TCP(dst, port) \
	.family = 6, .proto = IPPROTO_TCP, .daddr = dst, .sport = 40000, .dport = port
#define V6_UDP(dst, port) \
	.family = 6, .proto = IPPROTO_UDP, .daddr = dst, .sport = 40000, .dport = port

static int ring_of(struct dp_env *env, const struct pkt *in, uint32_t id)
{
	struct bnc_vip_key vip;

	dp_vip_of(in, &vip);
	return dp_ring_fill(env, &vip, &id, 1);
}

/* A VIP's first ring: every slot clean. */
static int ring_fresh(struct dp_env *env, const struct pkt *in, uint32_t id)
{
	struct bnc_vip_key vip;

	dp_vip_of(in, &vip);
	return dp_ring_fresh(env, &vip, &id, 1);
}

/* Opens in's connection (a SYN on its 5-tuple) so that its flow is
 * recorded on its ring's backend; in itself is a later packet of it.
 */
static int establish(struct dp_env *env, const struct pkt *in)
{
	uint8_t out[PKT_MAX_LEN];
	uint32_t verdict;
	struct pkt syn = *in;
	size_t len;
	int err;

	if (pkt_find(&syn, PKT_TCP, 0) >= 0)
		dp_set_tcp_flags(&syn, PKT_TCP_SYN);
	err = dp_run(env, &syn, out, &len, &verdict);
	if (err)
		return err;
	return verdict == XDP_TX ? 0 : -EIO;
}

/* The flow sticks: recorded on A, the ring then moves it to B. */
static int setup_sticks(struct dp_env *env, struct pkt *in)
{
	int err = ring_fresh(env, in, DP_BE_V4_A);

	if (!err)
		err = establish(env, in);
	if (!err)
		err = ring_of(env, in, DP_BE_V4_B);
	return err;
}

static int setup_down(struct dp_env *env, struct pkt *in)
{
	int err = setup_sticks(env, in);

	if (!err)
		err = bnc_maps_backend_set_state(env->maps, DP_BE_V4_A, BNC_BACKEND_DOWN);
	return err;
}

static int setup_drain_existing(struct dp_env *env, struct pkt *in)
{
	int err = setup_sticks(env, in);

	if (!err)
		err = bnc_maps_backend_set_state(env->maps, DP_BE_V4_A, BNC_BACKEND_DRAIN);
	return err;
}

/* A new flow whose slot holds a draining backend: the ring alternates A
 * and B, A drains, and the source port is chosen so that the flow hashes
 * onto one of A's slots.
 */
static int setup_drain_new(struct dp_env *env, struct pkt *in)
{
	static const uint32_t ab[] = { DP_BE_V4_A, DP_BE_V4_B };
	struct bnc_vip_key vip;
	struct bnc_flow_key flow;
	uint32_t slots[DP_RING_SIZE];
	struct bnc_vip_value value;
	int err, tcp = pkt_find(in, PKT_TCP, 0);

	dp_vip_of(in, &vip);
	for (uint32_t i = 0; i < DP_RING_SIZE; i++)
		slots[i] = ab[i % 2];
	err = bnc_maps_ring_swap(env->maps, &vip, slots, DP_RING_SIZE);
	if (err || tcp < 0)
		return err ? err : -EINVAL;
	err = bnc_maps_vip_lookup(env->maps, &vip, &value);
	if (err)
		return err;
	for (uint16_t port = 1024;; port++) {
		pkt_put16(in, in->layers[tcp].off, port);
		if (pkt_finish(in))
			return -EINVAL;
		dp_flow_of(in, &flow);
		if (flow_hash(&flow, value.flags, env->hash_seed) % DP_RING_SIZE % 2 == 0)
			break;
	}
	return bnc_maps_backend_set_state(env->maps, DP_BE_V4_A, BNC_BACKEND_DRAIN);
}

/* An ICMP error about the flow 10.0.1.5:40000 -> VIP:80, from a router on
 * the way back to the client, sent to outer_dst. It quotes the backend's
 * reply, which was sent from the VIP: the quote is the flow reversed.
 */
static void build_error_to(struct pkt *p, const struct dp_input *in, const char *outer_dst)
{
	pkt_init(p);
	pkt_eth(p, DP_LB_MAC, DP_CLIENT_MAC);
	if (in->family == 6) {
		pkt_ipv6(p, "fd00:9::9", outer_dst, NULL);
		pkt_icmp6(p, 2, 0, 1400); /* packet too big */
		pkt_ipv6(p, in->daddr, "fd00:1::5", NULL);
	} else {
		struct pkt_ipv4_opts df = { .df = true };

		pkt_ipv4(p, "10.9.9.9", outer_dst, NULL);
		pkt_icmp4(p, 3, 4, 1400); /* fragmentation needed */
		pkt_ipv4(p, in->daddr, "10.0.1.5", &df);
	}
	pkt_tcp(p, in->dport, in->sport, PKT_TCP_ACK, NULL);
	pkt_payload(p, NULL, 16);
	assert_int_equal(pkt_finish(p), 0);
}

/* Sent to the VIP, which sent the packet the error is about. */
static void build_frag_needed(struct pkt *p, const struct dp_input *in)
{
	build_error_to(p, in, in->daddr);
}

/* Sent to the load balancer's own address: an error for its own stack,
 * whatever flow it quotes.
 */
static void build_error_to_lb(struct pkt *p, const struct dp_input *in)
{
	build_error_to(p, in, in->family == 6 ? DP_IPIP_SRC6 : DP_IPIP_SRC4);
}

/* Sent to another host through this one: not ours to redirect. */
static void build_error_to_other(struct pkt *p, const struct dp_input *in)
{
	build_error_to(p, in, in->family == 6 ? "fd00:77::1" : "10.77.0.1");
}

/* The flow the error quotes was recorded on A; new flows now go to B.
 * The error must follow the flow to A.
 */
static int setup_error_flow(struct dp_env *env, struct pkt *in)
{
	struct dp_input client = { .proto = IPPROTO_TCP, .sport = 40000, .dport = 80 };
	struct bnc_vip_key vip;
	uint32_t a, b;
	struct pkt syn;
	int err, quote;

	/* The quote was sent from the VIP (the ICMP's destination need not
	 * be it); the service is :80.
	 */
	dp_vip_of(in, &vip);
	quote = pkt_find(in, vip.family == BNC_FAMILY_IPV6 ? PKT_IPV6 : PKT_IPV4, 1);
	if (quote < 0)
		return -EINVAL;
	memset(vip.addr, 0, sizeof(vip.addr));
	/* The source address: 12 bytes into an IPv4 header, 8 into IPv6. */
	memcpy(vip.addr,
	       in->data + in->layers[quote].off + (vip.family == BNC_FAMILY_IPV6 ? 8 : 12),
	       vip.family == BNC_FAMILY_IPV6 ? 16 : 4);
	vip.port = htons(80);
	vip.proto = IPPROTO_TCP;
	client.family = vip.family == BNC_FAMILY_IPV6 ? 6 : 4;
	client.daddr = client.family == 6 ? "fd00:100::2" : "10.100.0.1";
	a = client.family == 6 ? DP_BE_V6_A : DP_BE_V4_A;
	b = client.family == 6 ? DP_BE_V6_B : DP_BE_V4_B;
	dp_build_input(&syn, &client);
	err = dp_ring_fill(env, &vip, &a, 1);
	if (!err)
		err = establish(env, &syn);
	if (!err)
		err = dp_ring_fill(env, &vip, &b, 1);
	return err;
}

static void want_echo_reply(const struct pkt *in, struct pkt *want)
{
	int v6 = pkt_find(in, PKT_IPV6, 0) >= 0;

	pkt_init(want);
	pkt_eth(want, DP_CLIENT_MAC, DP_LB_MAC);
	if (v6) {
		pkt_ipv6(want, "fd00:100::1", "fd00:1::5", NULL);
		pkt_icmp6(want, 129, 0, 0x42 << 16 | 1);
	} else {
		struct pkt_ipv4_opts df = { .df = true };

		pkt_ipv4(want, "10.100.0.1", "10.0.1.5", &df);
		pkt_icmp4(want, 0, 0, 0x42 << 16 | 1);
	}
	pkt_payload(want, NULL, 32);
	assert_int_equal(pkt_finish(want), 0);
}

/* The ICMP error a too-big packet gets: from the VIP to the client,
 * quoting the IP header and 8 bytes, with the MTU left after the outer
 * header (1500 - 20 for IPv4 backends, 1500 - 40 for IPv6 ones).
 */
static void want_too_big(const struct pkt *in, struct pkt *want)
{
	int v6 = pkt_find(in, PKT_IPV6, 0) >= 0;
	int ip = pkt_find(in, v6 ? PKT_IPV6 : PKT_IPV4, 0);
	const uint8_t *quote = in->data + in->layers[ip].off;

	pkt_init(want);
	pkt_eth(want, DP_CLIENT_MAC, DP_LB_MAC);
	if (v6) {
		pkt_ipv6(want, "fd00:100::2", "fd00:1::5", NULL);
		pkt_icmp6(want, 2, 0, DP_MTU - 40);
		pkt_payload(want, quote, 40 + 8);
	} else {
		pkt_ipv4(want, "10.100.0.2", "10.0.1.5", NULL);
		pkt_icmp4(want, 3, 4, DP_MTU - 20);
		pkt_payload(want, quote, 20 + 8);
	}
	assert_int_equal(pkt_finish(want), 0);
}

static void build_arp(struct pkt *p, const struct dp_input *in)
{
	static const uint8_t arp[28] = { 0, 1, 8, 0, 6, 4, 0, 1 };

	(void)in;
	pkt_init(p);
	pkt_eth(p, "ff:ff:ff:ff:ff:ff", DP_CLIENT_MAC);
	pkt_payload(p, arp, sizeof(arp));
	assert_int_equal(pkt_finish(p), 0);
	pkt_put16(p, 12, 0x0806); /* no builder layer sets ARP's EtherType */
}

static const struct dp_case cases[] = {
	/* Both forwarding modes, TCP and UDP, IPv4 and IPv6. */
	{ "v4 tcp dsr",
	  { V4_TCP("10.100.0.1", 80) },
	  .verdict = XDP_TX,
	  .expect = DP_DSR,
	  .counter = BNC_STAT_FWD_DSR },
	{ "v4 udp dsr",
	  { V4_UDP("10.100.0.1", 53), .payload = 40 },
	  .verdict = XDP_TX,
	  .expect = DP_DSR,
	  .counter = BNC_STAT_FWD_DSR },
	{ "v4 tcp ipip",
	  { V4_TCP("10.100.0.2", 80), .payload = 100 },
	  .verdict = XDP_TX,
	  .expect = DP_IPIP,
	  .counter = BNC_STAT_FWD_IPIP },
	{ "v4 udp ipip",
	  { V4_UDP("10.100.0.2", 53), .payload = 40, .no_df = true },
	  .verdict = XDP_TX,
	  .expect = DP_IPIP,
	  .counter = BNC_STAT_FWD_IPIP },
	{ "v6 tcp dsr",
	  { V6_TCP("fd00:100::1", 80) },
	  .verdict = XDP_TX,
	  .expect = DP_DSR,
	  .counter = BNC_STAT_FWD_DSR },
	{ "v6 udp dsr",
	  { V6_UDP("fd00:100::1", 53), .payload = 40 },
	  .verdict = XDP_TX,
	  .expect = DP_DSR,
	  .counter = BNC_STAT_FWD_DSR },
	{ "v6 tcp ipip (ip6ip6)",
	  { V6_TCP("fd00:100::2", 80), .payload = 100 },
	  .verdict = XDP_TX,
	  .expect = DP_IPIP,
	  .counter = BNC_STAT_FWD_IPIP },
	{ "v6 udp ipip (ip6ip6)",
	  { V6_UDP("fd00:100::2", 53), .payload = 40 },
	  .verdict = XDP_TX,
	  .expect = DP_IPIP,
	  .counter = BNC_STAT_FWD_IPIP },
	{ "v4 in v6 ipip",
	  { V4_TCP("10.100.0.4", 80) },
	  .verdict = XDP_TX,
	  .expect = DP_IPIP,
	  .counter = BNC_STAT_FWD_IPIP },
	{ "v6 in v4 ipip",
	  { V6_TCP("fd00:100::4", 80) },
	  .verdict = XDP_TX,
	  .expect = DP_IPIP,
	  .counter = BNC_STAT_FWD_IPIP },
	{ "redirect to another device",
	  { V4_TCP("10.100.0.7", 80) },
	  .verdict = XDP_REDIRECT,
	  .expect = DP_DSR,
	  .backend = DP_BE_REDIRECT,
	  .counter = BNC_STAT_FWD_DSR },
	{ "sticky VIP hashes the source address",
	  { V4_TCP("10.100.0.5", 80) },
	  .verdict = XDP_TX,
	  .expect = DP_DSR,
	  .counter = BNC_STAT_FWD_DSR },

	/* Headers in front of and inside IP. */
	{ "802.1Q tag dsr",
	  { V4_TCP("10.100.0.1", 80), .nvlan = 1 },
	  .verdict = XDP_TX,
	  .expect = DP_DSR,
	  .counter = BNC_STAT_FWD_DSR },
	{ "802.1ad double tag dsr",
	  { V4_TCP("10.100.0.1", 80), .nvlan = 2 },
	  .verdict = XDP_TX,
	  .expect = DP_DSR,
	  .counter = BNC_STAT_FWD_DSR },
	{ "802.1ad double tag ipip",
	  { V6_TCP("fd00:100::2", 80), .nvlan = 2 },
	  .verdict = XDP_TX,
	  .expect = DP_IPIP,
	  .counter = BNC_STAT_FWD_IPIP },
	{ "802.1Q tag, v6 in v4 ipip",
	  { V6_TCP("fd00:100::4", 80), .nvlan = 1 },
	  .verdict = XDP_TX,
	  .expect = DP_IPIP,
	  .counter = BNC_STAT_FWD_IPIP },
	{ "v4 options dsr",
	  { V4_TCP("10.100.0.1", 80), .ip_options = true },
	  .verdict = XDP_TX,
	  .expect = DP_DSR,
	  .counter = BNC_STAT_FWD_DSR },
	{ "v4 options ipip",
	  { V4_UDP("10.100.0.2", 53), .ip_options = true, .payload = 9 },
	  .verdict = XDP_TX,
	  .expect = DP_IPIP,
	  .counter = BNC_STAT_FWD_IPIP },
	{ "v6 extension headers dsr",
	  { V6_TCP("fd00:100::1", 80), .ext_headers = true },
	  .verdict = XDP_TX,
	  .expect = DP_DSR,
	  .counter = BNC_STAT_FWD_DSR },
	{ "v6 extension headers ipip",
	  { V6_UDP("fd00:100::2", 53), .ext_headers = true },
	  .verdict = XDP_TX,
	  .expect = DP_IPIP,
	  .counter = BNC_STAT_FWD_IPIP },

	/* The flow table. */
	{ "same flow sticks after the ring changes",
	  { V4_TCP("10.100.0.1", 80), .tcp_flags = PKT_TCP_ACK },
	  .setup = setup_sticks,
	  .verdict = XDP_TX,
	  .expect = DP_DSR,
	  .backend = DP_BE_V4_A,
	  .counter = BNC_STAT_MISS_PREV },
	{ "down backend is re-picked",
	  { V4_TCP("10.100.0.1", 80), .tcp_flags = PKT_TCP_ACK },
	  .setup = setup_down,
	  .verdict = XDP_TX,
	  .expect = DP_DSR,
	  .backend = DP_BE_V4_B,
	  .counter = BNC_STAT_FLOW_MISS },
	{ "draining backend keeps its flow",
	  { V4_TCP("10.100.0.1", 80), .tcp_flags = PKT_TCP_ACK },
	  .setup = setup_drain_existing,
	  .verdict = XDP_TX,
	  .expect = DP_DSR,
	  .backend = DP_BE_V4_A,
	  .counter = BNC_STAT_MISS_PREV },
	{ "a SYN on a remembered 5-tuple is a new flow: the ring decides",
	  { V4_TCP("10.100.0.1", 80) },
	  .setup = setup_sticks,
	  .verdict = XDP_TX,
	  .expect = DP_DSR,
	  .backend = DP_BE_V4_B,
	  .counter = BNC_STAT_FLOW_MISS },
	{ "a SYN reusing a draining backend's 5-tuple goes elsewhere",
	  { V4_TCP("10.100.0.1", 80) },
	  .setup = setup_drain_existing,
	  .verdict = XDP_TX,
	  .expect = DP_DSR,
	  .backend = DP_BE_V4_B,
	  .counter = BNC_STAT_FLOW_MISS },
	{ "draining backend gets no new flow",
	  { V4_TCP("10.100.0.1", 80) },
	  .setup = setup_drain_new,
	  .verdict = XDP_TX,
	  .expect = DP_DSR,
	  .backend = DP_BE_V4_B,
	  .counter = BNC_STAT_FLOW_MISS },
	{ "empty ring drops",
	  { V4_TCP("10.100.0.3", 80) },
	  .verdict = XDP_DROP,
	  .expect = DP_SAME,
	  .counter = BNC_STAT_DROP_NO_BACKEND },
	{ "local worker is passed to the stack",
	  { V4_TCP("10.100.0.6", 80) },
	  .verdict = XDP_PASS,
	  .expect = DP_SAME,
	  .counter = BNC_STAT_PASS_LOCAL },

	/* Not for a VIP: untouched. */
	{ "non-VIP address",
	  { V4_TCP("10.100.9.9", 80) },
	  .verdict = XDP_PASS,
	  .expect = DP_SAME,
	  .counter = BNC_STAT_PASS_NOT_VIP },
	{ "VIP address, wrong port",
	  { V4_TCP("10.100.0.1", 81) },
	  .verdict = XDP_PASS,
	  .expect = DP_SAME,
	  .counter = BNC_STAT_PASS_NOT_VIP },
	{ "VIP address and port, wrong protocol",
	  { V4_UDP("10.100.0.1", 80) },
	  .verdict = XDP_PASS,
	  .expect = DP_SAME,
	  .counter = BNC_STAT_PASS_NOT_VIP },
	{ "v6 non-VIP address",
	  { V6_UDP("fd00:100::99", 53) },
	  .verdict = XDP_PASS,
	  .expect = DP_SAME,
	  .counter = BNC_STAT_PASS_NOT_VIP },
	{ "ARP",
	  { .family = 4 },
	  .build = build_arp,
	  .verdict = XDP_PASS,
	  .expect = DP_SAME,
	  .counter = BNC_STAT_PASS_NOT_IP },

	/* Fragments never reach a backend: the stack gets them all. */
	{ "v4 first fragment to a VIP",
	  { V4_UDP("10.100.0.1", 53), .frag = 1, .payload = 64 },
	  .verdict = XDP_PASS,
	  .expect = DP_SAME,
	  .counter = BNC_STAT_PASS_FRAGMENT },
	{ "v4 later fragment to a VIP",
	  { V4_UDP("10.100.0.1", 53), .frag = 2, .payload = 64 },
	  .verdict = XDP_PASS,
	  .expect = DP_SAME,
	  .counter = BNC_STAT_PASS_FRAGMENT },
	{ "v6 first fragment to a VIP",
	  { V6_UDP("fd00:100::1", 53), .frag = 1, .payload = 64 },
	  .verdict = XDP_PASS,
	  .expect = DP_SAME,
	  .counter = BNC_STAT_PASS_FRAGMENT },
	{ "v6 later fragment to a VIP",
	  { V6_UDP("fd00:100::1", 53), .frag = 2, .payload = 64 },
	  .verdict = XDP_PASS,
	  .expect = DP_SAME,
	  .counter = BNC_STAT_PASS_FRAGMENT },
	{ "fragment to a non-VIP",
	  { V4_UDP("10.100.9.9", 53), .frag = 1, .payload = 64 },
	  .verdict = XDP_PASS,
	  .expect = DP_SAME,
	  .counter = BNC_STAT_PASS_NOT_VIP },

	/* ICMP. */
	{ "v4 echo to a VIP is answered",
	  { .family = 4, .proto = IPPROTO_ICMP, .daddr = "10.100.0.1", .payload = 32 },
	  .verdict = XDP_TX,
	  .expect = DP_BUILT,
	  .want = want_echo_reply,
	  .counter = BNC_STAT_REPLY_ECHO },
	{ "v6 echo to a VIP is answered",
	  { .family = 6, .proto = IPPROTO_ICMPV6, .daddr = "fd00:100::1", .payload = 32 },
	  .verdict = XDP_TX,
	  .expect = DP_BUILT,
	  .want = want_echo_reply,
	  .counter = BNC_STAT_REPLY_ECHO },
	{ "echo to a non-VIP is passed",
	  { .family = 4, .proto = IPPROTO_ICMP, .daddr = "10.100.9.9", .payload = 32 },
	  .verdict = XDP_PASS,
	  .expect = DP_SAME,
	  .counter = BNC_STAT_PASS_ICMP },
	{ "frag needed follows its flow (dsr)",
	  { .family = 4, .daddr = "10.100.0.1", .sport = 40000, .dport = 80 },
	  .build = build_frag_needed,
	  .setup = setup_error_flow,
	  .verdict = XDP_TX,
	  .expect = DP_DSR,
	  .backend = DP_BE_V4_A,
	  .counter = BNC_STAT_FWD_ICMP_ERROR },
	{ "packet too big follows its flow (ipip)",
	  { .family = 6, .daddr = "fd00:100::2", .sport = 40000, .dport = 80 },
	  .build = build_frag_needed,
	  .setup = setup_error_flow,
	  .verdict = XDP_TX,
	  .expect = DP_IPIP,
	  .backend = DP_BE_V6_A,
	  .counter = BNC_STAT_FWD_ICMP_ERROR },
	{ "frag needed for a VIP flow sent to the LB itself is passed",
	  { .family = 4, .daddr = "10.100.0.1", .sport = 40000, .dport = 80 },
	  .build = build_error_to_lb,
	  .setup = setup_error_flow,
	  .verdict = XDP_PASS,
	  .expect = DP_SAME,
	  .counter = BNC_STAT_PASS_ICMP },
	{ "frag needed for a VIP flow sent to another host is passed",
	  { .family = 4, .daddr = "10.100.0.1", .sport = 40000, .dport = 80 },
	  .build = build_error_to_other,
	  .setup = setup_error_flow,
	  .verdict = XDP_PASS,
	  .expect = DP_SAME,
	  .counter = BNC_STAT_PASS_ICMP },
	{ "packet too big for a VIP flow sent to the LB itself is passed",
	  { .family = 6, .daddr = "fd00:100::2", .sport = 40000, .dport = 80 },
	  .build = build_error_to_lb,
	  .setup = setup_error_flow,
	  .verdict = XDP_PASS,
	  .expect = DP_SAME,
	  .counter = BNC_STAT_PASS_ICMP },
	{ "packet too big for a VIP flow sent to another host is passed",
	  { .family = 6, .daddr = "fd00:100::2", .sport = 40000, .dport = 80 },
	  .build = build_error_to_other,
	  .setup = setup_error_flow,
	  .verdict = XDP_PASS,
	  .expect = DP_SAME,
	  .counter = BNC_STAT_PASS_ICMP },
	{ "ICMP error quoting a non-VIP flow is passed",
	  { .family = 4, .daddr = "10.100.0.9", .sport = 40000, .dport = 80 },
	  .build = build_frag_needed,
	  .verdict = XDP_PASS,
	  .expect = DP_SAME,
	  .counter = BNC_STAT_PASS_ICMP },

	/* Encapsulation that would outgrow the MTU (1500). */
	{ "v4 too big for ipip, DF: frag needed",
	  { V4_TCP("10.100.0.2", 80), .payload = 1460 },
	  .verdict = XDP_TX,
	  .expect = DP_BUILT,
	  .want = want_too_big,
	  .counter = BNC_STAT_REPLY_TOO_BIG },
	{ "v4 too big for ipip, no DF: dropped",
	  { V4_TCP("10.100.0.2", 80), .payload = 1460, .no_df = true },
	  .verdict = XDP_DROP,
	  .expect = DP_SAME,
	  .counter = BNC_STAT_DROP_TOO_BIG },
	{ "v6 too big for ip6ip6: packet too big",
	  { V6_TCP("fd00:100::2", 80), .payload = 1440 },
	  .verdict = XDP_TX,
	  .expect = DP_BUILT,
	  .want = want_too_big,
	  .counter = BNC_STAT_REPLY_TOO_BIG },
	{ "v4 exactly fits after ipip",
	  { V4_TCP("10.100.0.2", 80), .payload = 1440 },
	  .verdict = XDP_TX,
	  .expect = DP_IPIP,
	  .counter = BNC_STAT_FWD_IPIP },
	{ "v4 fits with DSR at full MTU",
	  { V4_TCP("10.100.0.1", 80), .payload = 1460 },
	  .verdict = XDP_TX,
	  .expect = DP_DSR,
	  .counter = BNC_STAT_FWD_DSR },
};

int main(void)
{
	return dp_cases_main("datapath forwarding", cases, sizeof(cases) / sizeof(cases[0]));
}
