/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Packet builder and checker for the datapath tests.
 *
 * A packet is built by appending layers, outermost first, into a struct pkt;
 * pkt_finish() then fills in every next-protocol field, every length and
 * every checksum from the bytes really present, innermost layer first, so
 * that encapsulated packets and packets quoted by ICMP errors come out
 * right. Multi-byte arguments are in host order unless they are addresses;
 * address arguments are strings ("10.0.0.1", "fd00::1",
 * "02:00:00:00:00:01") or, in the _bytes variants, network-order bytes.
 *
 *	struct pkt p;
 *
 *	pkt_init(&p);
 *	pkt_eth(&p, "02:00:00:00:00:02", "02:00:00:00:00:01");
 *	pkt_vlan(&p, 0x8100, 100);
 *	pkt_ipv4(&p, "10.0.0.1", "10.0.0.100", NULL);
 *	pkt_tcp(&p, 40000, 80, PKT_TCP_SYN, NULL);
 *	if (pkt_finish(&p))
 *		fail();
 *
 * Malformed packets: pkt_lie() makes pkt_finish() write a chosen value
 * instead of the computed one (checksums of enclosing layers are still
 * computed over it); pkt_truncate(), pkt_trailer() and pkt_put8/16/32()
 * change bytes behind the builder's back.
 *
 * Misuse (a bad address string, too many bytes, an unsupported layer
 * order) is reported on stderr, remembered in p->err, makes every later
 * builder call a no-op and pkt_finish() return -1.
 */
#ifndef BOUNCER_TESTS_PKT_H
#define BOUNCER_TESTS_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define PKT_MAX_LEN 4096
#define PKT_MAX_LAYERS 16

enum pkt_layer_type {
	PKT_ETH = 1,
	PKT_VLAN,
	PKT_IPV4,
	PKT_IPV6,
	PKT_IPV6_EXT, /* hop-by-hop, routing, fragment, destination options */
	PKT_TCP,
	PKT_UDP,
	PKT_ICMP4,
	PKT_ICMP6,
	PKT_PAYLOAD,
};

/* What pkt_lie() can override, on the layer appended last. */
enum pkt_lie_field {
	PKT_LIE_LEN, /* IPv4 total length, IPv6 payload length, UDP length */
	PKT_LIE_CSUM, /* IPv4 header, TCP, UDP, ICMP or ICMPv6 checksum */
	PKT_LIE_IHL, /* IPv4 IHL; the checksum still covers the header as built */
};

struct pkt_layer {
	uint8_t type; /* enum pkt_layer_type */
	uint8_t next_set; /* next protocol given by the caller ... */
	uint8_t next; /* ... and its value */
	uint8_t lies; /* bit per enum pkt_lie_field */
	uint16_t off; /* offset of the header in data */
	uint16_t hlen; /* header length (all bytes, for PKT_PAYLOAD) */
	uint16_t tag; /* VLAN: TPID; IPv6 extension: header type */
	uint16_t lie_len;
	uint16_t lie_csum;
	uint8_t lie_ihl;
};

struct pkt {
	uint8_t data[PKT_MAX_LEN];
	size_t len;
	/* Bytes from here on are a trailer (e.g. Ethernet padding) that no
	 * length field or checksum covers; 0 when there is none.
	 */
	size_t trailer_off;
	int nlayers;
	struct pkt_layer layers[PKT_MAX_LAYERS];
	char err[160]; /* first misuse, empty if none */
};

/* IPv4 header fields; NULL or a zeroed struct gives the defaults. */
struct pkt_ipv4_opts {
	uint8_t proto; /* 0: from the next layer (59 if there is none) */
	uint8_t ttl; /* 0: 64 */
	uint8_t tos;
	bool df;
	bool mf;
	uint16_t id;
	uint16_t frag_off; /* in 8-byte units */
	const uint8_t *options; /* options_len a multiple of 4, at most 40 */
	size_t options_len;
};

/* IPv6 header fields; NULL or a zeroed struct gives the defaults. */
struct pkt_ipv6_opts {
	uint8_t nexthdr; /* 0: from the next layer (59 if there is none) */
	uint8_t hop_limit; /* 0: 64 */
	uint8_t tclass;
	uint32_t flow_label; /* 20 bits */
};

#define PKT_TCP_FIN 0x01
#define PKT_TCP_SYN 0x02
#define PKT_TCP_RST 0x04
#define PKT_TCP_PSH 0x08
#define PKT_TCP_ACK 0x10
#define PKT_TCP_URG 0x20

/* TCP header fields; NULL or a zeroed struct gives the defaults. */
struct pkt_tcp_opts {
	uint32_t seq;
	uint32_t ack;
	uint16_t window; /* 0: 65535 */
	const uint8_t *options; /* options_len a multiple of 4, at most 40 */
	size_t options_len;
};

void pkt_init(struct pkt *p);

/* Ethernet; the EtherType comes from the next layer (VLAN TPID, 0x0800 or
 * 0x86DD), or stays 0.
 */
void pkt_eth(struct pkt *p, const char *dst, const char *src);
void pkt_eth_bytes(struct pkt *p, const uint8_t dst[6], const uint8_t src[6]);
/* A VLAN tag after pkt_eth() or another tag. tpid: 0x8100 or 0x88a8 (any
 * value is written); tci: the VLAN id, with PCP and DEI in the top bits if
 * wanted.
 */
void pkt_vlan(struct pkt *p, uint16_t tpid, uint16_t tci);
void pkt_ipv4(struct pkt *p, const char *saddr, const char *daddr, const struct pkt_ipv4_opts *o);
void pkt_ipv4_bytes(struct pkt *p, const uint8_t saddr[4], const uint8_t daddr[4],
		    const struct pkt_ipv4_opts *o);
void pkt_ipv6(struct pkt *p, const char *saddr, const char *daddr, const struct pkt_ipv6_opts *o);
void pkt_ipv6_bytes(struct pkt *p, const uint8_t saddr[16], const uint8_t daddr[16],
		    const struct pkt_ipv6_opts *o);
/* An IPv6 extension header after pkt_ipv6() or another extension header.
 * type 0 (hop-by-hop), 43 (routing) or 60 (destination options): body is
 * what follows the next-header and length bytes, zero-padded (Pad1
 * options) to a multiple of 8 in all; body may be NULL. type 44
 * (fragment): body is the 6 bytes after the next-header and reserved
 * bytes, or NULL for an atomic fragment; pkt_ipv6_frag() is easier.
 * The next header comes from the next layer. L4 pseudo-headers always use
 * the IPv6 header's destination: a routing header is not followed.
 */
void pkt_ipv6_ext(struct pkt *p, uint8_t type, const uint8_t *body, size_t body_len);
/* A fragment header. nexthdr: 0 to take it from the next layer, else the
 * protocol of a non-first fragment's payload. frag_off in 8-byte units.
 */
void pkt_ipv6_frag(struct pkt *p, uint8_t nexthdr, uint16_t frag_off, bool more, uint32_t id);
/* TCP, UDP: in a fragment the checksum covers only the bytes present. */
void pkt_tcp(struct pkt *p, uint16_t sport, uint16_t dport, uint8_t flags,
	     const struct pkt_tcp_opts *o);
void pkt_udp(struct pkt *p, uint16_t sport, uint16_t dport);
/* ICMP and ICMPv6: rest is the second 32-bit word of the header (echo:
 * id << 16 | seq; fragmentation needed, packet too big: the MTU). Layers
 * appended after an error type are the quoted packet.
 */
void pkt_icmp4(struct pkt *p, uint8_t type, uint8_t code, uint32_t rest);
void pkt_icmp6(struct pkt *p, uint8_t type, uint8_t code, uint32_t rest);
/* n payload bytes; NULL gives the pattern 0, 1, 2, ... so that a hex diff
 * shows where bytes moved.
 */
void pkt_payload(struct pkt *p, const void *bytes, size_t n);
/* Bytes after the packet that no length covers (Ethernet padding); NULL
 * gives zeros. Nothing can be appended after a trailer.
 */
void pkt_trailer(struct pkt *p, const void *bytes, size_t n);

/* Override a field of the layer appended last (see enum pkt_lie_field). */
void pkt_lie(struct pkt *p, enum pkt_lie_field field, uint16_t value);

/* Fill in next-protocol fields, lengths and checksums. 0 or -1 (p->err).
 * Idempotent: calling it again recomputes everything, so a field poked
 * with pkt_put8() that pkt_finish() does not own (TTL, flags, ports)
 * survives and is covered by the new checksums.
 */
int pkt_finish(struct pkt *p);

/* After pkt_finish(): cut the packet to len bytes (never grows it). */
void pkt_truncate(struct pkt *p, size_t len);
/* Write bytes in network order at off, within p->len. */
void pkt_put8(struct pkt *p, size_t off, uint8_t v);
void pkt_put16(struct pkt *p, size_t off, uint16_t v);
void pkt_put32(struct pkt *p, size_t off, uint32_t v);

/* Index in p->layers of the nth (0-based) layer of a type, or -1. */
int pkt_find(const struct pkt *p, enum pkt_layer_type type, int nth);

/* Text to network-order bytes; 0, or -1 if s is not an address. */
int pkt_parse_ip4(const char *s, uint8_t out[4]);
int pkt_parse_ip6(const char *s, uint8_t out[16]);
int pkt_parse_mac(const char *s, uint8_t out[6]);

/* RFC 1071 Internet checksum of n bytes (the value to store, host order). */
uint16_t pkt_csum(const void *data, size_t n);

/* Check an Ethernet frame: up to two VLAN tags, IPv4 or IPv6 with
 * extension headers, TCP, UDP, ICMP, ICMPv6, and IPv4/IPv6 tunnelled in
 * IPv4/IPv6 (protocol 4 or 41) down to the innermost packet. Verifies every
 * IPv4 header checksum, every L4 checksum and that every length agrees
 * with the bytes present; trailing bytes after the outermost IP packet are
 * accepted only in a frame of at most 60 bytes (Ethernet padding). In an
 * ICMP error only the quoted IPv4 header's checksum is checked (the quote
 * is truncated); fragments get no L4 check. Non-IP frames pass.
 * Returns 0, or -1 with a message naming the layer, its offset and the
 * field in err (which may be NULL).
 */
int pkt_verify(const uint8_t *data, size_t len, char *err, size_t errlen);

/* Hex dump of got, with want's bytes and a marker under every byte that
 * differs on lines that differ, and the first differing offset.
 */
void pkt_hexdiff(FILE *f, const uint8_t *got, size_t got_len, const uint8_t *want, size_t want_len);

#endif /* BOUNCER_TESTS_PKT_H */
