// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Malformed input never reaches a backend: every header truncated at every
 * byte, and lengths that lie. Each such frame must be dropped, untouched,
 * and counted as malformed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <netinet/in.h>

#include "dp_case.h"

static uint64_t counter(struct dp_env *env, enum bnc_stat stat)
{
	struct bnc_global_stats g;

	assert_int_equal(bnc_maps_global_stats(env->maps, &g), 0);
	return g.counters[stat];
}

/* Sends in and requires: dropped, unchanged, counted as malformed. */
static void expect_malformed(struct dp_env *env, const struct pkt *in, const char *what)
{
	uint64_t before = counter(env, BNC_STAT_DROP_MALFORMED);
	uint8_t out[PKT_MAX_LEN];
	uint32_t verdict;
	size_t out_len;

	assert_int_equal(dp_run(env, in, out, &out_len, &verdict), 0);
	if (verdict != XDP_DROP)
		fail_msg("%s: verdict %u, want XDP_DROP", what, verdict);
	if (out_len != in->len || memcmp(out, in->data, in->len) != 0)
		fail_msg("%s: the frame was rewritten", what);
	if (counter(env, BNC_STAT_DROP_MALFORMED) - before != 1)
		fail_msg("%s: not counted as malformed", what);
}

/* Valid VIP traffic of every shape the parser knows; each is forwarded
 * whole (checked first), then cut at every byte.
 */
static const struct dp_input bases[] = {
	{ .family = 4,
	  .proto = IPPROTO_TCP,
	  .daddr = "10.100.0.1",
	  .sport = 1,
	  .dport = 80,
	  .nvlan = 1,
	  .ip_options = true,
	  .payload = 4 },
	{ .family = 4,
	  .proto = IPPROTO_UDP,
	  .daddr = "10.100.0.2",
	  .sport = 1,
	  .dport = 53,
	  .nvlan = 2,
	  .payload = 3 },
	{ .family = 6,
	  .proto = IPPROTO_UDP,
	  .daddr = "fd00:100::2",
	  .sport = 1,
	  .dport = 53,
	  .ext_headers = true,
	  .payload = 5 },
	{ .family = 6, .proto = IPPROTO_TCP, .daddr = "fd00:100::1", .sport = 1, .dport = 80 },
	{ .family = 4, .proto = IPPROTO_ICMP, .daddr = "10.100.0.1", .payload = 8 },
	{ .family = 6, .proto = IPPROTO_ICMPV6, .daddr = "fd00:100::1", .payload = 8 },
};

/* Ethernet is the least the kernel's test run accepts. */
#define MIN_FRAME 14

static void test_truncated_everywhere(void **state)
{
	struct dp_env *env = *state;
	uint8_t out[PKT_MAX_LEN];
	char what[96];
	uint32_t verdict;
	size_t out_len;
	struct pkt whole, cut;

	if (geteuid() != 0)
		skip();
	for (size_t b = 0; b < sizeof(bases) / sizeof(bases[0]); b++) {
		dp_build_input(&whole, &bases[b]);
		assert_int_equal(dp_run(env, &whole, out, &out_len, &verdict), 0);
		if (verdict != XDP_TX)
			fail_msg("base packet %zu is not forwarded whole (verdict %u)", b, verdict);
		for (size_t len = MIN_FRAME; len < whole.len; len++) {
			cut = whole;
			pkt_truncate(&cut, len);
			snprintf(what, sizeof(what), "base %zu cut to %zu of %zu bytes", b, len,
				 whole.len);
			expect_malformed(env, &cut, what);
		}
	}
}

/* A field overwritten after the packet was built correctly. */
struct lie {
	const char *name;
	struct dp_input in;
	enum pkt_layer_type layer;
	size_t field; /* offset in that layer's header */
	uint8_t width; /* 1 or 2 bytes */
	uint16_t value;
};

#define V4_TCP .family = 4, .proto = IPPROTO_TCP, .daddr = "10.100.0.1", .sport = 1, .dport = 80
#define V4_UDP .family = 4, .proto = IPPROTO_UDP, .daddr = "10.100.0.1", .sport = 1, .dport = 53
#define V6_TCP .family = 6, .proto = IPPROTO_TCP, .daddr = "fd00:100::1", .sport = 1, .dport = 80

static const struct lie lies[] = {
	{ "IPv4 IHL 4", { V4_TCP }, PKT_IPV4, 0, 1, 0x44 },
	{ "IPv4 IHL 0", { V4_TCP }, PKT_IPV4, 0, 1, 0x40 },
	{ "IPv4 IHL past the datagram", { V4_TCP }, PKT_IPV4, 0, 1, 0x4f },
	{ "IPv4 version 6 in an IPv4 frame", { V4_TCP }, PKT_IPV4, 0, 1, 0x65 },
	{ "IPv4 total length past the frame", { V4_TCP, .payload = 10 }, PKT_IPV4, 2, 2, 61 },
	{ "IPv4 total length below the header", { V4_TCP }, PKT_IPV4, 2, 2, 19 },
	{ "IPv4 total length cuts the TCP header", { V4_TCP }, PKT_IPV4, 2, 2, 30 },
	{ "IPv4 total length cuts the UDP header", { V4_UDP }, PKT_IPV4, 2, 2, 24 },
	{ "IPv6 payload length past the frame", { V6_TCP }, PKT_IPV6, 4, 2, 21 },
	{ "IPv6 payload length cuts the TCP header", { V6_TCP }, PKT_IPV6, 4, 2, 12 },
	{ "IPv6 version 4 in an IPv6 frame", { V6_TCP }, PKT_IPV6, 0, 1, 0x40 },
	{ "IPv6 extension header longer than the packet",
	  { V6_TCP, .ext_headers = true },
	  PKT_IPV6_EXT,
	  1,
	  1,
	  200 },
	{ "TCP data offset 4", { V4_TCP }, PKT_TCP, 12, 1, 0x40 },
	{ "TCP data offset past the segment", { V4_TCP, .payload = 8 }, PKT_TCP, 12, 1, 0xf0 },
	{ "UDP length 7", { V4_UDP, .payload = 8 }, PKT_UDP, 4, 2, 7 },
	{ "UDP length past the datagram", { V4_UDP, .payload = 8 }, PKT_UDP, 4, 2, 17 },
};

static void test_lying_lengths(void **state)
{
	struct dp_env *env = *state;
	struct pkt p;
	int layer;

	if (geteuid() != 0)
		skip();
	for (size_t i = 0; i < sizeof(lies) / sizeof(lies[0]); i++) {
		const struct lie *l = &lies[i];

		dp_build_input(&p, &l->in);
		layer = pkt_find(&p, l->layer, 0);
		assert_true(layer >= 0);
		if (l->width == 1)
			pkt_put8(&p, p.layers[layer].off + l->field, (uint8_t)l->value);
		else
			pkt_put16(&p, p.layers[layer].off + l->field, l->value);
		expect_malformed(env, &p, l->name);
	}
}

/* More IPv6 extension headers than the parser steps over. */
static void test_too_many_extension_headers(void **state)
{
	struct dp_env *env = *state;
	struct pkt p;

	if (geteuid() != 0)
		skip();
	pkt_init(&p);
	pkt_eth(&p, DP_LB_MAC, DP_CLIENT_MAC);
	pkt_ipv6(&p, "fd00:1::5", "fd00:100::1", NULL);
	for (int i = 0; i < 5; i++)
		pkt_ipv6_ext(&p, 60, NULL, 0);
	pkt_tcp(&p, 1, 80, PKT_TCP_SYN, NULL);
	assert_int_equal(pkt_finish(&p), 0);
	expect_malformed(env, &p, "five destination options headers");
}

/* A frame that ends inside a VLAN tag. */
static void test_truncated_vlan_tag(void **state)
{
	struct dp_env *env = *state;
	struct pkt p;

	if (geteuid() != 0)
		skip();
	pkt_init(&p);
	pkt_eth(&p, DP_LB_MAC, DP_CLIENT_MAC);
	pkt_vlan(&p, 0x8100, 7);
	pkt_vlan(&p, 0x8100, 8);
	pkt_ipv4(&p, "10.0.1.5", "10.100.0.1", NULL);
	pkt_tcp(&p, 1, 80, PKT_TCP_SYN, NULL);
	assert_int_equal(pkt_finish(&p), 0);
	pkt_truncate(&p, 20);
	expect_malformed(env, &p, "second VLAN tag cut");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_truncated_everywhere),
		cmocka_unit_test(test_lying_lengths),
		cmocka_unit_test(test_too_many_extension_headers),
		cmocka_unit_test(test_truncated_vlan_tag),
	};

	return cmocka_run_group_tests_name("datapath malformed input", tests, dp_env_cmocka_setup,
					   dp_env_cmocka_teardown);
}
