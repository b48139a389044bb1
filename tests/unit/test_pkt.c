// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Tests of the packet builder and checker the datapath tests rely on.
 *
 * The builder is compared with reference packets packed field by field by a
 * separate Python script (struct.pack and its own checksum), and checksums
 * are recomputed here by a deliberately naive RFC 1071 sum over explicit
 * pseudo-header bytes, sharing no code with pkt.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "../lib/pkt.h"

#define MAC_DST "02:00:00:00:00:02"
#define MAC_SRC "02:00:00:00:00:01"

/* Reference frames, from an independent Python implementation. */

/* VLAN 100; IPv4 10.0.0.1 -> 10.0.0.100, id 0x1234, DF; TCP SYN 40000 -> 80,
 * seq 1.
 */
static const uint8_t ref_vlan_tcp4[] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x81, 0x00, 0x00,
	0x64, 0x08, 0x00, 0x45, 0x00, 0x00, 0x28, 0x12, 0x34, 0x40, 0x00, 0x40, 0x06, 0x14, 0x38,
	0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x64, 0x9c, 0x40, 0x00, 0x50, 0x00, 0x00, 0x00,
	0x01, 0x00, 0x00, 0x00, 0x00, 0x50, 0x02, 0xff, 0xff, 0xfe, 0xec, 0x00, 0x00,
};

/* IPv6 fd00::1 -> fd00::100; UDP 5353 -> 53, payload "hello" (odd length). */
static const uint8_t ref_udp6[] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x86, 0xdd,
	0x60, 0x00, 0x00, 0x00, 0x00, 0x0d, 0x11, 0x40, 0xfd, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0xfd, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x14, 0xe9,
	0x00, 0x35, 0x00, 0x0d, 0xab, 0xe1, 0x68, 0x65, 0x6c, 0x6c, 0x6f,
};

/* IPv4 192.168.1.1 -> 192.168.2.2 carrying IPv4 10.0.0.1 -> 10.0.0.100 (id
 * 0x1234, DF), TCP PSH|ACK 40000 -> 80, seq 1000, ack 2000, an HTTP request.
 */
static const uint8_t ref_ipip[] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00,
	0x45, 0x00, 0x00, 0x4e, 0x00, 0x00, 0x00, 0x00, 0x40, 0x04, 0xf6, 0x58, 0xc0, 0xa8,
	0x01, 0x01, 0xc0, 0xa8, 0x02, 0x02, 0x45, 0x00, 0x00, 0x3a, 0x12, 0x34, 0x40, 0x00,
	0x40, 0x06, 0x14, 0x26, 0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x64, 0x9c, 0x40,
	0x00, 0x50, 0x00, 0x00, 0x03, 0xe8, 0x00, 0x00, 0x07, 0xd0, 0x50, 0x18, 0xff, 0xff,
	0x14, 0x6e, 0x00, 0x00, 0x47, 0x45, 0x54, 0x20, 0x2f, 0x20, 0x48, 0x54, 0x54, 0x50,
	0x2f, 0x31, 0x2e, 0x30, 0x0d, 0x0a, 0x0d, 0x0a,
};

/* ICMP fragmentation needed (MTU 1400) from 192.168.1.254 to 10.0.0.100,
 * quoting 10.0.0.100 -> 10.0.0.1 TCP ACK 80 -> 40000, seq 7, ack 8.
 */
static const uint8_t ref_icmp_frag[] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00,
	0x45, 0x00, 0x00, 0x44, 0x00, 0x00, 0x00, 0x00, 0x40, 0x01, 0xad, 0xaf, 0xc0, 0xa8,
	0x01, 0xfe, 0x0a, 0x00, 0x00, 0x64, 0x03, 0x04, 0x0c, 0x03, 0x00, 0x00, 0x05, 0x78,
	0x45, 0x00, 0x00, 0x28, 0x00, 0x00, 0x00, 0x00, 0x40, 0x06, 0x66, 0x6c, 0x0a, 0x00,
	0x00, 0x64, 0x0a, 0x00, 0x00, 0x01, 0x00, 0x50, 0x9c, 0x40, 0x00, 0x00, 0x00, 0x07,
	0x00, 0x00, 0x00, 0x08, 0x50, 0x10, 0xff, 0xff, 0xfe, 0xd0, 0x00, 0x00,
};

/* ICMPv6 echo request fd00::1 -> fd00::100, id 1, seq 2, data "ping". */
static const uint8_t ref_echo6[] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x86, 0xdd,
	0x60, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x3a, 0x40, 0xfd, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0xfd, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x80, 0x00,
	0xa5, 0xe2, 0x00, 0x01, 0x00, 0x02, 0x70, 0x69, 0x6e, 0x67,
};

static const char http_get[] = "GET / HTTP/1.0\r\n\r\n";

/* ---- independent checks ---- */

static uint16_t rd16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

/* RFC 1071 the slow way: even bytes are high halves, odd bytes low. */
static uint32_t ref_add(uint32_t sum, const uint8_t *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		sum += i % 2 == 0 ? (uint32_t)b[i] << 8 : b[i];
	return sum;
}

static uint16_t ref_fold(uint32_t sum)
{
	while (sum > 0xffff)
		sum = (sum >> 16) + (sum & 0xffff);
	return (uint16_t)sum;
}

/* True if an L4 message verifies: pseudo-header bytes laid out as in RFC
 * 768/793 (IPv4) or RFC 8200 8.1 (IPv6), then the message; no pseudo-header
 * for ICMPv4 (proto 0).
 */
static bool ref_l4_ok(const uint8_t *ip, bool v6, uint8_t proto, const uint8_t *l4, size_t len)
{
	uint8_t ph[40] = { 0 };
	size_t phlen = 0;

	if (proto && v6) {
		memcpy(ph, ip + 8, 32);
		ph[32] = (uint8_t)(len >> 24);
		ph[33] = (uint8_t)(len >> 16);
		ph[34] = (uint8_t)(len >> 8);
		ph[35] = (uint8_t)len;
		ph[39] = proto;
		phlen = 40;
	} else if (proto) {
		memcpy(ph, ip + 12, 8);
		ph[9] = proto;
		ph[10] = (uint8_t)(len >> 8);
		ph[11] = (uint8_t)len;
		phlen = 12;
	}
	return ref_fold(ref_add(ref_add(0, ph, phlen), l4, len)) == 0xffff;
}

static bool ref_ipv4_hdr_ok(const uint8_t *ip)
{
	return ref_fold(ref_add(0, ip, (ip[0] & 0xf) * 4u)) == 0xffff;
}

static void assert_verify_ok(const uint8_t *data, size_t len)
{
	char err[256];

	if (pkt_verify(data, len, err, sizeof(err)) != 0)
		fail_msg("pkt_verify: %s", err);
}

/* pkt_verify() must fail, naming what (a substring of the message). */
static void assert_verify_fails(const uint8_t *data, size_t len, const char *what)
{
	char err[256];

	assert_int_equal(pkt_verify(data, len, err, sizeof(err)), -1);
	if (!strstr(err, what))
		fail_msg("pkt_verify said \"%s\", want \"%s\"", err, what);
}

static void assert_pkt_equal(const struct pkt *p, const uint8_t *want, size_t want_len)
{
	if (p->len != want_len || memcmp(p->data, want, want_len) != 0) {
		pkt_hexdiff(stderr, p->data, p->len, want, want_len);
		fail_msg("packet differs from the reference");
	}
}

static const uint8_t *layer(const struct pkt *p, int type, int nth)
{
	int i = pkt_find(p, type, nth);

	assert_true(i >= 0);
	return p->data + p->layers[i].off;
}

static size_t layer_off(const struct pkt *p, int type, int nth)
{
	int i = pkt_find(p, type, nth);

	assert_true(i >= 0);
	return p->layers[i].off;
}

/* ---- builders shared by several tests ---- */

static void build_vlan_tcp4(struct pkt *p)
{
	pkt_init(p);
	pkt_eth(p, MAC_DST, MAC_SRC);
	pkt_vlan(p, 0x8100, 100);
	pkt_ipv4(p, "10.0.0.1", "10.0.0.100", &(struct pkt_ipv4_opts){ .id = 0x1234, .df = true });
	pkt_tcp(p, 40000, 80, PKT_TCP_SYN, &(struct pkt_tcp_opts){ .seq = 1 });
	assert_int_equal(pkt_finish(p), 0);
}

static void build_ipip(struct pkt *p)
{
	pkt_init(p);
	pkt_eth(p, MAC_DST, MAC_SRC);
	pkt_ipv4(p, "192.168.1.1", "192.168.2.2", NULL);
	pkt_ipv4(p, "10.0.0.1", "10.0.0.100", &(struct pkt_ipv4_opts){ .id = 0x1234, .df = true });
	pkt_tcp(p, 40000, 80, PKT_TCP_PSH | PKT_TCP_ACK,
		&(struct pkt_tcp_opts){ .seq = 1000, .ack = 2000 });
	pkt_payload(p, http_get, strlen(http_get));
	assert_int_equal(pkt_finish(p), 0);
}

static void build_icmp_frag(struct pkt *p)
{
	pkt_init(p);
	pkt_eth(p, MAC_DST, MAC_SRC);
	pkt_ipv4(p, "192.168.1.254", "10.0.0.100", NULL);
	pkt_icmp4(p, 3, 4, 1400);
	pkt_ipv4(p, "10.0.0.100", "10.0.0.1", NULL);
	pkt_tcp(p, 80, 40000, PKT_TCP_ACK, &(struct pkt_tcp_opts){ .seq = 7, .ack = 8 });
	assert_int_equal(pkt_finish(p), 0);
}

static void build_udp6(struct pkt *p)
{
	pkt_init(p);
	pkt_eth(p, MAC_DST, MAC_SRC);
	pkt_ipv6(p, "fd00::1", "fd00::100", NULL);
	pkt_udp(p, 5353, 53);
	pkt_payload(p, "hello", 5);
	assert_int_equal(pkt_finish(p), 0);
}

/* ---- the checksum itself ---- */

static void test_rfc1071_example(void **state)
{
	/* RFC 1071 section 3: these bytes sum to 0xddf2. */
	static const uint8_t b[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };

	(void)state;
	assert_int_equal(ref_fold(ref_add(0, b, sizeof(b))), 0xddf2);
	assert_int_equal(pkt_csum(b, sizeof(b)), 0x220d);
	/* An odd length pads the last byte with a zero low half. */
	assert_int_equal(pkt_csum(b, 7), (uint16_t)~ref_fold(ref_add(0, b, 7)));
}

static void test_ipv4_header_reference(void **state)
{
	/* A frequently quoted worked example (the Wikipedia IPv4 header
	 * checksum article): 4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7.
	 */
	static const uint8_t want[] = {
		0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
		0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7
	};
	struct pkt p;

	(void)state;
	pkt_init(&p);
	pkt_eth(&p, MAC_DST, MAC_SRC);
	pkt_ipv4(&p, "192.168.0.1", "192.168.0.199",
		 &(struct pkt_ipv4_opts){ .proto = 17, .df = true });
	pkt_payload(&p, NULL, 0x73 - 20);
	assert_int_equal(pkt_finish(&p), 0);
	assert_int_equal(p.len, 14 + 0x73);
	assert_memory_equal(p.data + 14, want, sizeof(want));
}

/* ---- byte-exact comparison with the reference frames ---- */

static void test_ref_vlan_tcp4(void **state)
{
	struct pkt p;

	(void)state;
	build_vlan_tcp4(&p);
	assert_pkt_equal(&p, ref_vlan_tcp4, sizeof(ref_vlan_tcp4));
	assert_verify_ok(p.data, p.len);
}

static void test_ref_udp6(void **state)
{
	struct pkt p;

	(void)state;
	build_udp6(&p);
	assert_pkt_equal(&p, ref_udp6, sizeof(ref_udp6));
	assert_verify_ok(p.data, p.len);
}

static void test_ref_ipip(void **state)
{
	struct pkt p;

	(void)state;
	build_ipip(&p);
	assert_pkt_equal(&p, ref_ipip, sizeof(ref_ipip));
	assert_verify_ok(p.data, p.len);
}

static void test_ref_icmp_frag(void **state)
{
	struct pkt p;

	(void)state;
	build_icmp_frag(&p);
	assert_pkt_equal(&p, ref_icmp_frag, sizeof(ref_icmp_frag));
	assert_verify_ok(p.data, p.len);
}

static void test_ref_echo6(void **state)
{
	struct pkt p;

	(void)state;
	pkt_init(&p);
	pkt_eth(&p, MAC_DST, MAC_SRC);
	pkt_ipv6(&p, "fd00::1", "fd00::100", NULL);
	pkt_icmp6(&p, 128, 0, 1 << 16 | 2);
	pkt_payload(&p, "ping", 4);
	assert_int_equal(pkt_finish(&p), 0);
	assert_pkt_equal(&p, ref_echo6, sizeof(ref_echo6));
	assert_verify_ok(p.data, p.len);
}

/* ---- lengths, next headers, checksums on layouts without a reference ---- */

static void test_qinq_ethertypes(void **state)
{
	struct pkt p;

	(void)state;
	pkt_init(&p);
	pkt_eth(&p, MAC_DST, MAC_SRC);
	pkt_vlan(&p, 0x88a8, 10);
	pkt_vlan(&p, 0x8100, 20);
	pkt_ipv6(&p, "fd00::1", "fd00::2", NULL);
	pkt_udp(&p, 1, 2);
	assert_int_equal(pkt_finish(&p), 0);
	assert_int_equal(rd16(p.data + 12), 0x88a8);
	assert_int_equal(rd16(p.data + 14), 10);
	assert_int_equal(rd16(p.data + 16), 0x8100);
	assert_int_equal(rd16(p.data + 18), 20);
	assert_int_equal(rd16(p.data + 20), 0x86dd);
	assert_int_equal(p.data[22] >> 4, 6);
	assert_int_equal(p.len, 22 + 40 + 8);
	assert_verify_ok(p.data, p.len);

	/* A third tag is more than the checker (and the datapath) parse. */
	pkt_init(&p);
	pkt_eth(&p, MAC_DST, MAC_SRC);
	pkt_vlan(&p, 0x88a8, 10);
	pkt_vlan(&p, 0x8100, 20);
	pkt_vlan(&p, 0x8100, 30);
	pkt_ipv4(&p, "10.0.0.1", "10.0.0.2", NULL);
	assert_int_equal(pkt_finish(&p), 0);
	assert_verify_fails(p.data, p.len, "more than two tags");
}

static void test_ipv4_options(void **state)
{
	/* Router alert plus a NOP-padded end: 8 bytes, IHL 7. */
	static const uint8_t opts[] = { 0x94, 0x04, 0x00, 0x00, 0x01, 0x01, 0x01, 0x00 };
	const uint8_t *ip, *tcp;
	struct pkt p;

	(void)state;
	pkt_init(&p);
	pkt_eth(&p, MAC_DST, MAC_SRC);
	pkt_ipv4(&p, "10.0.0.1", "10.0.0.2",
		 &(struct pkt_ipv4_opts){ .ttl = 3,
					  .tos = 0x10,
					  .id = 77,
					  .mf = false,
					  .options = opts,
					  .options_len = sizeof(opts) });
	pkt_tcp(&p, 1234, 443, PKT_TCP_SYN, NULL);
	pkt_payload(&p, NULL, 3);
	assert_int_equal(pkt_finish(&p), 0);
	ip = layer(&p, PKT_IPV4, 0);
	tcp = layer(&p, PKT_TCP, 0);
	assert_int_equal(ip[0], 0x47);
	assert_int_equal(ip[1], 0x10);
	assert_int_equal(rd16(ip + 2), 28 + 20 + 3);
	assert_int_equal(rd16(ip + 4), 77);
	assert_int_equal(ip[8], 3);
	assert_int_equal(ip[9], 6);
	assert_memory_equal(ip + 20, opts, sizeof(opts));
	assert_ptr_equal(tcp, ip + 28);
	assert_true(ref_ipv4_hdr_ok(ip));
	assert_true(ref_l4_ok(ip, false, 6, tcp, 23));
	assert_verify_ok(p.data, p.len);
}

static void test_tcp_options_and_fields(void **state)
{
	/* MSS 1460, then NOP NOP SACK-permitted. */
	static const uint8_t opts[] = { 0x02, 0x04, 0x05, 0xb4, 0x01, 0x01, 0x04, 0x02 };
	const uint8_t *tcp;
	struct pkt p;

	(void)state;
	pkt_init(&p);
	pkt_eth(&p, MAC_DST, MAC_SRC);
	pkt_ipv6(&p, "2001:db8::1", "2001:db8::2", &(struct pkt_ipv6_opts){ .hop_limit = 9 });
	pkt_tcp(&p, 5, 6, PKT_TCP_SYN | PKT_TCP_ACK,
		&(struct pkt_tcp_opts){ .seq = 0xdeadbeef,
					.ack = 0x01020304,
					.window = 1000,
					.options = opts,
					.options_len = sizeof(opts) });
	assert_int_equal(pkt_finish(&p), 0);
	tcp = layer(&p, PKT_TCP, 0);
	assert_int_equal(p.data[14 + 7], 9);
	assert_int_equal(rd16(p.data + 14 + 4), 28);
	assert_int_equal(tcp[12], 7 << 4);
	assert_int_equal(tcp[13], 0x12);
	assert_int_equal(rd16(tcp + 14), 1000);
	assert_memory_equal(tcp + 4, "\xde\xad\xbe\xef\x01\x02\x03\x04", 8);
	assert_memory_equal(tcp + 20, opts, sizeof(opts));
	assert_true(ref_l4_ok(p.data + 14, true, 6, tcp, 28));
	assert_verify_ok(p.data, p.len);
}

static void test_ipv6_ext_headers(void **state)
{
	const uint8_t *ip, *hbh, *dst, *udp;
	struct pkt p;

	(void)state;
	pkt_init(&p);
	pkt_eth(&p, MAC_DST, MAC_SRC);
	pkt_ipv6(&p, "fd00::1", "fd00::2", NULL);
	pkt_ipv6_ext(&p, 0, NULL, 0);
	pkt_ipv6_ext(&p, 60,
		     (const uint8_t *)"\x01\x0a"
				      "0123456789",
		     12);
	pkt_udp(&p, 1000, 2000);
	pkt_payload(&p, NULL, 100);
	assert_int_equal(pkt_finish(&p), 0);
	ip = layer(&p, PKT_IPV6, 0);
	hbh = layer(&p, PKT_IPV6_EXT, 0);
	dst = layer(&p, PKT_IPV6_EXT, 1);
	udp = layer(&p, PKT_UDP, 0);
	assert_int_equal(ip[6], 0);
	assert_int_equal(hbh[0], 60);
	assert_int_equal(hbh[1], 0);
	assert_int_equal(dst[0], 17);
	assert_int_equal(dst[1], 1); /* 2 + 12 bytes padded to 16 */
	assert_ptr_equal(dst, hbh + 8);
	assert_ptr_equal(udp, dst + 16);
	assert_int_equal(rd16(ip + 4), 8 + 16 + 8 + 100);
	assert_int_equal(rd16(udp + 4), 108);
	/* The pseudo-header length is the UDP length, not the payload length. */
	assert_true(ref_l4_ok(ip, true, 17, udp, 108));
	assert_verify_ok(p.data, p.len);

	/* An extension header length that overruns the packet is caught. */
	pkt_put8(&p, layer_off(&p, PKT_IPV6_EXT, 1) + 1, 40);
	assert_verify_fails(p.data, p.len, "ipv6 extension 60");
}

static void test_encap_v6_in_v4_and_v4_in_v6(void **state)
{
	const uint8_t *outer, *inner, *l4;
	struct pkt p;

	(void)state;
	pkt_init(&p);
	pkt_eth(&p, MAC_DST, MAC_SRC);
	pkt_ipv4(&p, "192.0.2.1", "192.0.2.2", NULL);
	pkt_ipv6(&p, "fd00::1", "fd00::2", NULL);
	pkt_udp(&p, 53, 53);
	pkt_payload(&p, NULL, 33);
	assert_int_equal(pkt_finish(&p), 0);
	outer = layer(&p, PKT_IPV4, 0);
	inner = layer(&p, PKT_IPV6, 0);
	l4 = layer(&p, PKT_UDP, 0);
	assert_int_equal(rd16(p.data + 12), 0x0800);
	assert_int_equal(outer[9], 41);
	assert_int_equal(rd16(outer + 2), 20 + 40 + 8 + 33);
	assert_int_equal(rd16(inner + 4), 8 + 33);
	assert_int_equal(inner[6], 17);
	assert_true(ref_ipv4_hdr_ok(outer));
	assert_true(ref_l4_ok(inner, true, 17, l4, 41));
	assert_verify_ok(p.data, p.len);

	pkt_init(&p);
	pkt_eth(&p, MAC_DST, MAC_SRC);
	pkt_ipv6(&p, "2001:db8::1", "2001:db8::2", NULL);
	pkt_ipv4(&p, "10.1.1.1", "10.2.2.2", NULL);
	pkt_icmp4(&p, 8, 0, 0x00070001);
	pkt_payload(&p, NULL, 56);
	assert_int_equal(pkt_finish(&p), 0);
	outer = layer(&p, PKT_IPV6, 0);
	inner = layer(&p, PKT_IPV4, 0);
	l4 = layer(&p, PKT_ICMP4, 0);
	assert_int_equal(rd16(p.data + 12), 0x86dd);
	assert_int_equal(outer[6], 4);
	assert_int_equal(rd16(outer + 4), 20 + 8 + 56);
	assert_int_equal(rd16(inner + 2), 20 + 8 + 56);
	assert_int_equal(inner[9], 1);
	assert_true(ref_ipv4_hdr_ok(inner));
	assert_true(ref_l4_ok(NULL, false, 0, l4, 64));
	assert_verify_ok(p.data, p.len);
}

/* Innermost first: the quoted packet's checksums are final before the ICMP
 * checksum covers them.
 */
static void test_icmp6_packet_too_big(void **state)
{
	const uint8_t *outer, *icmp, *quoted, *tcp;
	struct pkt p;

	(void)state;
	pkt_init(&p);
	pkt_eth(&p, MAC_DST, MAC_SRC);
	pkt_vlan(&p, 0x8100, 7);
	pkt_ipv6(&p, "fd00::fe", "fd00::100", NULL);
	pkt_icmp6(&p, 2, 0, 1280);
	pkt_ipv6(&p, "fd00::100", "fd00::1", NULL);
	pkt_tcp(&p, 443, 50000, PKT_TCP_ACK, NULL);
	pkt_payload(&p, NULL, 40);
	assert_int_equal(pkt_finish(&p), 0);
	assert_string_equal(p.err, "");
	outer = layer(&p, PKT_IPV6, 0);
	quoted = layer(&p, PKT_IPV6, 1);
	icmp = layer(&p, PKT_ICMP6, 0);
	tcp = layer(&p, PKT_TCP, 0);
	assert_int_equal(rd16(p.data + 16), 0x86dd);
	assert_int_equal(outer[6], 58);
	assert_int_equal(quoted[6], 6);
	assert_int_equal(rd16(icmp + 4) << 16 | rd16(icmp + 6), 1280);
	assert_int_equal(rd16(outer + 4), 8 + 40 + 20 + 40);
	assert_int_equal(rd16(quoted + 4), 20 + 40);
	assert_true(ref_l4_ok(quoted, true, 6, tcp, 60));
	assert_true(ref_l4_ok(outer, true, 58, icmp, 108));
	assert_verify_ok(p.data, p.len);

	/* A quote is usually cut short, so its L4 checksum is not checked... */
	pkt_init(&p);
	pkt_eth(&p, MAC_DST, MAC_SRC);
	pkt_vlan(&p, 0x8100, 7);
	pkt_ipv6(&p, "fd00::fe", "fd00::100", NULL);
	pkt_icmp6(&p, 2, 0, 1280);
	pkt_ipv6(&p, "fd00::100", "fd00::1", NULL);
	pkt_tcp(&p, 443, 50000, PKT_TCP_ACK, NULL);
	pkt_lie(&p, PKT_LIE_CSUM, 0x1234);
	pkt_payload(&p, NULL, 40);
	assert_int_equal(pkt_finish(&p), 0);
	assert_int_equal(rd16(layer(&p, PKT_TCP, 0) + 16), 0x1234);
	assert_verify_ok(p.data, p.len);
	/* ...but the ICMP checksum covers every quoted byte. */
	pkt_put8(&p, layer_off(&p, PKT_TCP, 0) + 25, 0xee);
	assert_verify_fails(p.data, p.len, "icmpv6 at 58: checksum");
}

static void test_quoted_ipv4_header_checked(void **state)
{
	char err[256];
	struct pkt p;

	(void)state;
	/* A real quote is cut short: the quoted total length says 1500. */
	pkt_init(&p);
	pkt_eth(&p, MAC_DST, MAC_SRC);
	pkt_ipv4(&p, "192.168.1.254", "10.0.0.100", NULL);
	pkt_icmp4(&p, 3, 4, 1400);
	pkt_ipv4(&p, "10.0.0.100", "10.0.0.1", &(struct pkt_ipv4_opts){ .df = true });
	pkt_lie(&p, PKT_LIE_LEN, 1500);
	pkt_tcp(&p, 80, 40000, PKT_TCP_ACK, NULL);
	assert_int_equal(pkt_finish(&p), 0);
	assert_int_equal(rd16(layer(&p, PKT_IPV4, 1) + 2), 1500);
	assert_true(ref_ipv4_hdr_ok(layer(&p, PKT_IPV4, 1)));
	assert_true(ref_l4_ok(NULL, false, 0, layer(&p, PKT_ICMP4, 0), 8 + 20 + 20));
	assert_int_equal(pkt_verify(p.data, p.len, err, sizeof(err)), 0);

	/* A bad quoted header checksum is caught even with the ICMP checksum
	 * right. Re-finishing would fix the quoted header: fix only the ICMP
	 * checksum.
	 */
	build_icmp_frag(&p);
	pkt_put8(&p, layer_off(&p, PKT_IPV4, 1) + 8, 1); /* quoted TTL */
	pkt_put16(&p, layer_off(&p, PKT_ICMP4, 0) + 2, 0);
	pkt_put16(&p, layer_off(&p, PKT_ICMP4, 0) + 2,
		  pkt_csum(layer(&p, PKT_ICMP4, 0), p.len - layer_off(&p, PKT_ICMP4, 0)));
	assert_true(ref_l4_ok(NULL, false, 0, layer(&p, PKT_ICMP4, 0), 48));
	assert_verify_fails(p.data, p.len, "quoted ipv4 at 42: header checksum");
}

/* ---- every corruption is seen ---- */

/* Flip each bit from first to the end; pkt_verify() must notice each. */
static void assert_every_flip_detected(const char *name, const uint8_t *data, size_t len,
				       size_t first)
{
	uint8_t buf[PKT_MAX_LEN];
	char err[256];
	size_t i;
	int bit;

	assert_true(len <= sizeof(buf));
	for (i = first; i < len; i++) {
		for (bit = 0; bit < 8; bit++) {
			memcpy(buf, data, len);
			buf[i] ^= (uint8_t)(1 << bit);
			if (pkt_verify(buf, len, err, sizeof(err)) == 0)
				fail_msg("%s: flipping bit %d of byte %zu went unnoticed", name,
					 bit, i);
		}
	}
}

static void test_bit_flips_detected(void **state)
{
	struct pkt p;

	(void)state;
	build_vlan_tcp4(&p);
	assert_every_flip_detected("vlan tcp4", p.data, p.len, 18);
	build_ipip(&p);
	assert_every_flip_detected("ipip", p.data, p.len, 14);
	build_icmp_frag(&p);
	assert_every_flip_detected("icmp frag needed", p.data, p.len, 14);
	/* IPv6 has no header checksum: from the addresses (pseudo-header) on. */
	build_udp6(&p);
	assert_every_flip_detected("udp6", p.data, p.len, 14 + 8);
}

static void test_verify_names_the_field(void **state)
{
	struct pkt p;

	(void)state;
	build_vlan_tcp4(&p);
	pkt_put8(&p, 18 + 8, 63); /* TTL */
	assert_verify_fails(p.data, p.len, "ipv4 at 18: header checksum 0x1438, want 0x1538");

	build_vlan_tcp4(&p);
	pkt_put8(&p, p.len - 1, 1); /* urgent pointer */
	assert_verify_fails(p.data, p.len, "tcp at 38: checksum 0xfeec, want 0xfeeb");

	build_ipip(&p);
	pkt_put8(&p, 34 + 8, 1);
	assert_verify_fails(p.data, p.len, "inner ipv4 at 34: header checksum");

	build_ipip(&p);
	pkt_put8(&p, p.len - 1, 'x');
	assert_verify_fails(p.data, p.len, "inner tcp at 54: checksum");

	build_udp6(&p);
	pkt_put8(&p, p.len - 1, 'O');
	assert_verify_fails(p.data, p.len, "udp at 54: checksum");

	build_udp6(&p);
	pkt_put16(&p, 54 + 6, 0);
	assert_verify_fails(p.data, p.len, "checksum 0 (none) over ipv6");

	assert_verify_fails(p.data, 10, "ethernet header");
}

/* ---- lies ---- */

static void test_lie_ipv4(void **state)
{
	const uint8_t *ip;
	struct pkt p;

	(void)state;
	pkt_init(&p);
	pkt_eth(&p, MAC_DST, MAC_SRC);
	pkt_ipv4(&p, "10.0.0.1", "10.0.0.2", NULL);
	pkt_lie(&p, PKT_LIE_LEN, 1500);
	pkt_udp(&p, 1, 2);
	pkt_payload(&p, NULL, 10);
	assert_int_equal(pkt_finish(&p), 0);
	ip = layer(&p, PKT_IPV4, 0);
	assert_int_equal(rd16(ip + 2), 1500);
	/* The header checksum covers the lie, so only the length is wrong. */
	assert_true(ref_ipv4_hdr_ok(ip));
	assert_verify_fails(p.data, p.len, "ipv4 at 14: total length 1500, only 38 bytes present");

	pkt_init(&p);
	pkt_eth(&p, MAC_DST, MAC_SRC);
	pkt_ipv4(&p, "10.0.0.1", "10.0.0.2", NULL);
	pkt_lie(&p, PKT_LIE_IHL, 4);
	pkt_tcp(&p, 1, 2, PKT_TCP_SYN, NULL);
	assert_int_equal(pkt_finish(&p), 0);
	ip = layer(&p, PKT_IPV4, 0);
	assert_int_equal(ip[0], 0x44);
	/* The checksum covers the 20 bytes built, not the 16 claimed. */
	assert_int_equal(ref_fold(ref_add(0, ip, 20)), 0xffff);
	assert_verify_fails(p.data, p.len, "ihl 4");

	pkt_init(&p);
	pkt_eth(&p, MAC_DST, MAC_SRC);
	pkt_ipv4(&p, "10.0.0.1", "10.0.0.2", NULL);
	pkt_lie(&p, PKT_LIE_CSUM, 0xbeef);
	pkt_tcp(&p, 1, 2, PKT_TCP_SYN, NULL);
	assert_int_equal(pkt_finish(&p), 0);
	assert_int_equal(rd16(layer(&p, PKT_IPV4, 0) + 10), 0xbeef);
	assert_verify_fails(p.data, p.len, "header checksum 0xbeef");
}

static void test_lie_ipv6_udp_tcp(void **state)
{
	const uint8_t *ip, *udp;
	struct pkt p;

	(void)state;
	pkt_init(&p);
	pkt_eth(&p, MAC_DST, MAC_SRC);
	pkt_ipv6(&p, "fd00::1", "fd00::2", NULL);
	pkt_lie(&p, PKT_LIE_LEN, 4);
	pkt_udp(&p, 1, 2);
	pkt_payload(&p, NULL, 10);
	assert_int_equal(pkt_finish(&p), 0);
	ip = layer(&p, PKT_IPV6, 0);
	udp = layer(&p, PKT_UDP, 0);
	assert_int_equal(rd16(ip + 4), 4);
	/* The UDP layer is still built over the 18 bytes really present. */
	assert_int_equal(rd16(udp + 4), 18);
	assert_true(ref_l4_ok(ip, true, 17, udp, 18));
	assert_verify_fails(p.data, p.len, "ipv6 at 14: payload length 4, 18 bytes present");

	pkt_init(&p);
	pkt_eth(&p, MAC_DST, MAC_SRC);
	pkt_ipv6(&p, "fd00::1", "fd00::2", NULL);
	pkt_udp(&p, 1, 2);
	pkt_lie(&p, PKT_LIE_LEN, 30);
	pkt_payload(&p, NULL, 10);
	assert_int_equal(pkt_finish(&p), 0);
	assert_int_equal(rd16(layer(&p, PKT_UDP, 0) + 4), 30);
	assert_verify_fails(p.data, p.len, "udp at 54: length 30, 18 bytes present");

	/* Short of the bytes present is as wrong as beyond them. */
	pkt_init(&p);
	pkt_eth(&p, MAC_DST, MAC_SRC);
	pkt_ipv6(&p, "fd00::1", "fd00::2", NULL);
	pkt_udp(&p, 1, 2);
	pkt_lie(&p, PKT_LIE_LEN, 12);
	pkt_payload(&p, NULL, 10);
	assert_int_equal(pkt_finish(&p), 0);
	assert_verify_fails(p.data, p.len, "udp at 54: length 12, 18 bytes present");

	/* UDP over IPv4 may carry no checksum. */
	pkt_init(&p);
	pkt_eth(&p, MAC_DST, MAC_SRC);
	pkt_ipv4(&p, "10.0.0.1", "10.0.0.2", NULL);
	pkt_udp(&p, 1, 2);
	pkt_lie(&p, PKT_LIE_CSUM, 0);
	pkt_payload(&p, NULL, 10);
	assert_int_equal(pkt_finish(&p), 0);
	assert_int_equal(rd16(layer(&p, PKT_UDP, 0) + 6), 0);
	assert_verify_ok(p.data, p.len);

	pkt_init(&p);
	pkt_eth(&p, MAC_DST, MAC_SRC);
	pkt_ipv4(&p, "10.0.0.1", "10.0.0.2", NULL);
	pkt_tcp(&p, 1, 2, PKT_TCP_RST, NULL);
	pkt_lie(&p, PKT_LIE_CSUM, 0x0102);
	assert_int_equal(pkt_finish(&p), 0);
	assert_int_equal(rd16(layer(&p, PKT_TCP, 0) + 16), 0x0102);
	assert_verify_fails(p.data, p.len, "tcp at 34: checksum 0x0102");
}

/* A computed UDP checksum of 0 goes on the wire as 0xffff. */
static void test_udp_checksum_zero_sent_as_ffff(void **state)
{
	uint8_t word[2] = { 0, 0 };
	uint16_t c;
	struct pkt p;

	(void)state;
	pkt_init(&p);
	pkt_eth(&p, MAC_DST, MAC_SRC);
	pkt_ipv4(&p, "10.0.0.1", "10.0.0.2", NULL);
	pkt_udp(&p, 1000, 2000);
	pkt_payload(&p, word, 2);
	assert_int_equal(pkt_finish(&p), 0);
	c = rd16(layer(&p, PKT_UDP, 0) + 6);
	/* Adding the current checksum as data makes the sum 0xffff. */
	pkt_put16(&p, p.len - 2, c);
	assert_int_equal(pkt_finish(&p), 0);
	assert_int_equal(rd16(layer(&p, PKT_UDP, 0) + 6), 0xffff);
	assert_true(ref_l4_ok(layer(&p, PKT_IPV4, 0), false, 17, layer(&p, PKT_UDP, 0), 10));
	assert_verify_ok(p.data, p.len);
}

static void test_truncate_and_trailer(void **state)
{
	struct pkt p;

	(void)state;
	build_vlan_tcp4(&p);
	pkt_truncate(&p, p.len - 1);
	assert_int_equal(p.len, sizeof(ref_vlan_tcp4) - 1);
	assert_verify_fails(p.data, p.len, "ipv4 at 18: total length 40, only 39 bytes present");
	/* Finishing again cannot rebuild a cut header. */
	assert_int_equal(pkt_finish(&p), -1);

	build_vlan_tcp4(&p);
	pkt_truncate(&p, 18 + 10);
	assert_verify_fails(p.data, p.len, "ipv4 at 18: 10 bytes, header needs 20");

	/* 14 + 20 + 8 + 2 = 44 bytes padded to the 60-byte minimum frame. */
	pkt_init(&p);
	pkt_eth(&p, MAC_DST, MAC_SRC);
	pkt_ipv4(&p, "10.0.0.1", "10.0.0.2", NULL);
	pkt_udp(&p, 1, 2);
	pkt_payload(&p, "hi", 2);
	pkt_trailer(&p, NULL, 16);
	assert_int_equal(pkt_finish(&p), 0);
	assert_int_equal(p.len, 60);
	assert_int_equal(rd16(layer(&p, PKT_IPV4, 0) + 2), 30);
	assert_int_equal(rd16(layer(&p, PKT_UDP, 0) + 4), 10);
	assert_true(ref_l4_ok(layer(&p, PKT_IPV4, 0), false, 17, layer(&p, PKT_UDP, 0), 10));
	assert_verify_ok(p.data, p.len);
	/* Nothing goes after the trailer. */
	pkt_payload(&p, "x", 1);
	assert_int_equal(pkt_finish(&p), -1);

	/* Trailing bytes in a frame above 60 bytes are a length bug. */
	build_ipip(&p);
	pkt_trailer(&p, "\0\0\0\0", 4);
	assert_int_equal(pkt_finish(&p), 0);
	assert_verify_fails(p.data, p.len, "ipv4 at 14: total length 78, 82 bytes present");
}

static void test_fragments(void **state)
{
	const uint8_t *ip;
	struct pkt p;

	(void)state;
	/* First fragment: TCP header present, checksum not checkable. */
	pkt_init(&p);
	pkt_eth(&p, MAC_DST, MAC_SRC);
	pkt_ipv4(&p, "10.0.0.1", "10.0.0.2", &(struct pkt_ipv4_opts){ .id = 9, .mf = true });
	pkt_tcp(&p, 1, 80, PKT_TCP_ACK, NULL);
	pkt_lie(&p, PKT_LIE_CSUM, 0x5555);
	pkt_payload(&p, NULL, 28);
	assert_int_equal(pkt_finish(&p), 0);
	ip = layer(&p, PKT_IPV4, 0);
	assert_int_equal(rd16(ip + 6), 0x2000);
	assert_verify_ok(p.data, p.len);

	/* Non-first fragment: raw bytes, protocol given by the caller. */
	pkt_init(&p);
	pkt_eth(&p, MAC_DST, MAC_SRC);
	pkt_ipv4(&p, "10.0.0.1", "10.0.0.2",
		 &(struct pkt_ipv4_opts){ .id = 9, .frag_off = 6, .df = false, .proto = 6 });
	pkt_payload(&p, NULL, 20);
	assert_int_equal(pkt_finish(&p), 0);
	ip = layer(&p, PKT_IPV4, 0);
	assert_int_equal(rd16(ip + 6), 6);
	assert_int_equal(ip[9], 6);
	assert_int_equal(rd16(ip + 2), 40);
	assert_true(ref_ipv4_hdr_ok(ip));
	assert_verify_ok(p.data, p.len);

	/* IPv6: fragment header carrying the first part of a UDP datagram. */
	pkt_init(&p);
	pkt_eth(&p, MAC_DST, MAC_SRC);
	pkt_ipv6(&p, "fd00::1", "fd00::2", NULL);
	pkt_ipv6_frag(&p, 0, 0, true, 0xabcdef01);
	pkt_udp(&p, 1, 2);
	pkt_lie(&p, PKT_LIE_LEN, 1000);
	pkt_payload(&p, NULL, 16);
	assert_int_equal(pkt_finish(&p), 0);
	ip = layer(&p, PKT_IPV6, 0);
	assert_int_equal(ip[6], 44);
	assert_memory_equal(ip + 40, "\x11\x00\x00\x01\xab\xcd\xef\x01", 8);
	assert_int_equal(rd16(ip + 4), 8 + 8 + 16);
	assert_verify_ok(p.data, p.len);

	/* ...and a later part: offset 3 (24 bytes), protocol given. */
	pkt_init(&p);
	pkt_eth(&p, MAC_DST, MAC_SRC);
	pkt_ipv6(&p, "fd00::1", "fd00::2", NULL);
	pkt_ipv6_frag(&p, 17, 3, false, 0xabcdef01);
	pkt_payload(&p, NULL, 5);
	assert_int_equal(pkt_finish(&p), 0);
	assert_memory_equal(p.data + 54, "\x11\x00\x00\x18\xab\xcd\xef\x01", 8);
	assert_verify_ok(p.data, p.len);
}

/* ---- finish, misuse, helpers ---- */

static void test_finish_is_idempotent(void **state)
{
	uint8_t before[PKT_MAX_LEN];
	size_t len;
	struct pkt p;

	(void)state;
	build_ipip(&p);
	memcpy(before, p.data, p.len);
	len = p.len;
	assert_int_equal(pkt_finish(&p), 0);
	assert_int_equal(p.len, len);
	assert_memory_equal(p.data, before, len);

	/* A poked field the builder does not own survives and is summed. */
	pkt_put8(&p, 34 + 8, 0); /* inner TTL 0 */
	assert_int_equal(pkt_finish(&p), 0);
	assert_int_equal(p.data[34 + 8], 0);
	assert_true(ref_ipv4_hdr_ok(p.data + 34));
	assert_true(ref_ipv4_hdr_ok(p.data + 14));
	assert_verify_ok(p.data, p.len);
}

static void test_misuse(void **state)
{
	static const uint8_t three[3] = { 1, 1, 1 };
	struct pkt p;

	(void)state;
	pkt_init(&p);
	pkt_eth(&p, MAC_DST, MAC_SRC);
	pkt_ipv4(&p, "10.0.0.256", "10.0.0.1", NULL);
	assert_int_equal(pkt_finish(&p), -1);
	assert_non_null(strstr(p.err, "10.0.0.256"));
	/* Later calls are no-ops. */
	pkt_ipv4(&p, "10.0.0.1", "10.0.0.2", NULL);
	assert_int_equal(p.nlayers, 1);

	pkt_init(&p);
	pkt_eth(&p, "02:00:00:00:00", MAC_SRC);
	assert_int_equal(pkt_finish(&p), -1);

	pkt_init(&p);
	pkt_eth(&p, MAC_DST, MAC_SRC);
	pkt_ipv4(&p, "10.0.0.1", "10.0.0.2",
		 &(struct pkt_ipv4_opts){ .options = three, .options_len = 3 });
	assert_int_equal(pkt_finish(&p), -1);

	pkt_init(&p);
	pkt_eth(&p, MAC_DST, MAC_SRC);
	pkt_ipv4(&p, "10.0.0.1", "10.0.0.2", NULL);
	pkt_vlan(&p, 0x8100, 1);
	assert_int_equal(pkt_finish(&p), -1);

	pkt_init(&p);
	pkt_eth(&p, MAC_DST, MAC_SRC);
	pkt_ipv4(&p, "10.0.0.1", "10.0.0.2", NULL);
	pkt_ipv6_ext(&p, 0, NULL, 0);
	assert_int_equal(pkt_finish(&p), -1);

	pkt_init(&p);
	pkt_eth(&p, MAC_DST, MAC_SRC);
	pkt_ipv4(&p, "10.0.0.1", "10.0.0.2", NULL);
	pkt_icmp6(&p, 128, 0, 0);
	assert_int_equal(pkt_finish(&p), -1);

	pkt_init(&p);
	pkt_eth(&p, MAC_DST, MAC_SRC);
	pkt_tcp(&p, 1, 2, 0, NULL);
	assert_int_equal(pkt_finish(&p), -1);

	pkt_init(&p);
	pkt_eth(&p, MAC_DST, MAC_SRC);
	pkt_payload(&p, NULL, PKT_MAX_LEN);
	assert_int_equal(pkt_finish(&p), -1);
	assert_int_equal(p.len, 14);

	pkt_init(&p);
	pkt_eth(&p, MAC_DST, MAC_SRC);
	pkt_udp(&p, 1, 2);
	pkt_lie(&p, PKT_LIE_IHL, 5);
	assert_int_equal(pkt_finish(&p), -1);

	/* The length byte counts at most 256 units of 8 bytes. */
	pkt_init(&p);
	pkt_eth(&p, MAC_DST, MAC_SRC);
	pkt_ipv6(&p, "fd00::1", "fd00::2", NULL);
	pkt_ipv6_ext(&p, 60, NULL, 8 * 256 - 2);
	assert_int_equal(pkt_finish(&p), 0);
	assert_int_equal(p.data[14 + 40 + 1], 255);
	pkt_ipv6_ext(&p, 60, NULL, 8 * 256 - 1);
	assert_int_equal(pkt_finish(&p), -1);
}

static void test_parse_addresses(void **state)
{
	uint8_t a4[4], a6[16], mac[6];

	(void)state;
	assert_int_equal(pkt_parse_ip4("10.0.0.1", a4), 0);
	assert_memory_equal(a4, "\x0a\x00\x00\x01", 4);
	assert_int_equal(pkt_parse_ip4("10.0.0", a4), -1);
	assert_int_equal(pkt_parse_ip4("fd00::1", a4), -1);
	assert_int_equal(pkt_parse_ip4(NULL, a4), -1);
	assert_int_equal(pkt_parse_ip6("fd00::1", a6), 0);
	assert_memory_equal(a6, "\xfd\x00\0\0\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
	assert_int_equal(pkt_parse_ip6("::ffff:10.0.0.1", a6), 0);
	assert_memory_equal(a6 + 10, "\xff\xff\x0a\x00\x00\x01", 6);
	assert_int_equal(pkt_parse_ip6("10.0.0.1", a6), -1);
	assert_int_equal(pkt_parse_mac("02:Ab:cd:EF:00:ff", mac), 0);
	assert_memory_equal(mac, "\x02\xab\xcd\xef\x00\xff", 6);
	assert_int_equal(pkt_parse_mac("2:0:0:0:0:1", mac), -1);
	assert_int_equal(pkt_parse_mac("02:00:00:00:00:0g", mac), -1);
	assert_int_equal(pkt_parse_mac("02-00-00-00-00-01", mac), -1);
	assert_int_equal(pkt_parse_mac("02:00:00:00:00:01:", mac), -1);
}

static char *hexdiff_text(const uint8_t *got, size_t got_len, const uint8_t *want, size_t want_len)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);

	assert_non_null(f);
	pkt_hexdiff(f, got, got_len, want, want_len);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void test_hexdiff(void **state)
{
	uint8_t a[40], b[40];
	const char *line;
	char *out;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(a); i++)
		a[i] = b[i] = (uint8_t)i;
	out = hexdiff_text(a, sizeof(a), b, sizeof(b));
	assert_non_null(strstr(out, "identical, 40 bytes"));
	free(out);

	b[20] = 0xaa;
	out = hexdiff_text(a, sizeof(a), b, sizeof(b));
	assert_non_null(strstr(out, "first difference at offset 20 (0x14)"));
	/* Row 0 is the same in both and printed once. */
	assert_non_null(strstr(out, "0000       00 01 02"));
	assert_non_null(strstr(out, "0010 got   10 11 12 13 14 15"));
	assert_non_null(strstr(out, "0010 want  10 11 12 13 aa 15"));
	/* The marker sits under byte 20, the fifth of its row. */
	line = strstr(out, "0010 want");
	assert_non_null(line);
	line = strchr(line, '\n') + 1;
	/* 10 columns of offset and label, then " xx" per byte. */
	assert_memory_equal(line,
			    "          " /* offset, label */
			    "            " /* bytes 16 to 19 */
			    " ^^\n",
			    26);
	free(out);

	/* Same bytes, different lengths: the difference is where one ends. */
	out = hexdiff_text(a, 20, a, 40);
	assert_non_null(strstr(out, "got 20 bytes, want 40; first difference at offset 20"));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc1071_example),
		cmocka_unit_test(test_ipv4_header_reference),
		cmocka_unit_test(test_ref_vlan_tcp4),
		cmocka_unit_test(test_ref_udp6),
		cmocka_unit_test(test_ref_ipip),
		cmocka_unit_test(test_ref_icmp_frag),
		cmocka_unit_test(test_ref_echo6),
		cmocka_unit_test(test_qinq_ethertypes),
		cmocka_unit_test(test_ipv4_options),
		cmocka_unit_test(test_tcp_options_and_fields),
		cmocka_unit_test(test_ipv6_ext_headers),
		cmocka_unit_test(test_encap_v6_in_v4_and_v4_in_v6),
		cmocka_unit_test(test_icmp6_packet_too_big),
		cmocka_unit_test(test_quoted_ipv4_header_checked),
		cmocka_unit_test(test_bit_flips_detected),
		cmocka_unit_test(test_verify_names_the_field),
		cmocka_unit_test(test_lie_ipv4),
		cmocka_unit_test(test_lie_ipv6_udp_tcp),
		cmocka_unit_test(test_udp_checksum_zero_sent_as_ffff),
		cmocka_unit_test(test_truncate_and_trailer),
		cmocka_unit_test(test_fragments),
		cmocka_unit_test(test_finish_is_idempotent),
		cmocka_unit_test(test_misuse),
		cmocka_unit_test(test_parse_addresses),
		cmocka_unit_test(test_hexdiff),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
