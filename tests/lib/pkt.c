// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Packet builder and checker for the datapath tests; see pkt.h. */
#include "pkt.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <string.h>

#define ETH_HDR_LEN 14
#define VLAN_HDR_LEN 4
#define IPV4_HLEN 20
#define IPV6_HLEN 40
#define TCP_HLEN 20
#define UDP_HLEN 8
#define ICMP_HLEN 8
#define ETH_MIN_FRAME 60 /* without FCS: shorter frames get padded */

#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
#define ETHERTYPE_VLAN 0x8100
#define ETHERTYPE_QINQ 0x88a8

#define PROTO_HOPOPTS 0
#define PROTO_ICMP 1
#define PROTO_IPIP 4
#define PROTO_TCP 6
#define PROTO_UDP 17
#define PROTO_IPV6 41
#define PROTO_ROUTING 43
#define PROTO_FRAGMENT 44
#define PROTO_ICMPV6 58
#define PROTO_NONE 59
#define PROTO_DSTOPTS 60

/* Packet bytes are unaligned: every multi-byte access goes through these. */
static uint16_t get16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

static void set16(uint8_t *b, uint16_t v)
{
	b[0] = v >> 8;
	b[1] = v & 0xff;
}

static void set32(uint8_t *b, uint32_t v)
{
	set16(b, v >> 16);
	set16(b + 2, v & 0xffff);
}

/* Checksums: a 64-bit accumulator of big-endian 16-bit words, folded at the
 * end. Every chunk fed to csum_add() but the last has an even length, so
 * the words of consecutive chunks line up.
 */
static uint64_t csum_add(uint64_t sum, const uint8_t *b, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += get16(b + i);
	if (n & 1)
		sum += (uint64_t)b[n - 1] << 8;
	return sum;
}

static uint16_t csum_fold(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* The value to store: the one's complement of the folded sum. */
static uint16_t csum_final(uint64_t sum)
{
	return (uint16_t)(0xffff - csum_fold(sum));
}

uint16_t pkt_csum(const void *data, size_t n)
{
	return csum_final(csum_add(0, data, n));
}

/* Pseudo-header sum; ip points at the IPv4 or IPv6 header. */
static uint64_t csum_pseudo(const uint8_t *ip, bool v6, uint8_t proto, size_t l4_len)
{
	uint64_t sum;

	if (v6)
		sum = csum_add(0, ip + 8, 32);
	else
		sum = csum_add(0, ip + 12, 8);
	return sum + proto + (l4_len >> 16) + (l4_len & 0xffff);
}

/* ---- builder ---- */

/* Only the first misuse is kept: later ones are usually its echoes. */
static void __attribute__((format(printf, 2, 3))) misuse(struct pkt *p, const char *fmt, ...)
{
	if (!p->err[0]) {
		va_list ap;

		va_start(ap, fmt);
		vsnprintf(p->err, sizeof(p->err), fmt, ap);
		va_end(ap);
		fprintf(stderr, "pkt: %s\n", p->err);
	}
}

static const char *nonnull(const char *s)
{
	return s ? s : "(null)";
}

static struct pkt_layer *last_layer(struct pkt *p)
{
	return p->nlayers ? &p->layers[p->nlayers - 1] : NULL;
}

static uint8_t last_type(struct pkt *p)
{
	struct pkt_layer *l = last_layer(p);

	return l ? l->type : 0;
}

/* Room for n more bytes at the end, or NULL after misuse. */
static uint8_t *reserve(struct pkt *p, size_t n)
{
	if (p->err[0])
		return NULL;
	if (p->trailer_off) {
		misuse(p, "bytes appended after the trailer");
		return NULL;
	}
	if (n > PKT_MAX_LEN - p->len) {
		misuse(p, "packet longer than %d bytes", PKT_MAX_LEN);
		return NULL;
	}
	return p->data + p->len;
}

/* Append a layer of hlen zero bytes; returns them, or NULL after misuse. */
static uint8_t *push(struct pkt *p, enum pkt_layer_type type, size_t hlen)
{
	struct pkt_layer *l;
	uint8_t *b = reserve(p, hlen);

	if (!b)
		return NULL;
	if (p->nlayers == PKT_MAX_LAYERS) {
		misuse(p, "more than %d layers", PKT_MAX_LAYERS);
		return NULL;
	}
	l = &p->layers[p->nlayers++];
	memset(l, 0, sizeof(*l));
	l->type = type;
	l->off = (uint16_t)p->len;
	l->hlen = (uint16_t)hlen;
	memset(b, 0, hlen);
	p->len += hlen;
	return b;
}

void pkt_init(struct pkt *p)
{
	memset(p, 0, sizeof(*p));
}

void pkt_eth_bytes(struct pkt *p, const uint8_t dst[6], const uint8_t src[6])
{
	uint8_t *b;

	if (p->nlayers && !p->err[0]) {
		misuse(p, "ethernet must be the first layer");
		return;
	}
	b = push(p, PKT_ETH, ETH_HDR_LEN);
	if (!b)
		return;
	memcpy(b, dst, 6);
	memcpy(b + 6, src, 6);
}

void pkt_eth(struct pkt *p, const char *dst, const char *src)
{
	uint8_t d[6], s[6];

	if (pkt_parse_mac(dst, d) || pkt_parse_mac(src, s)) {
		misuse(p, "bad MAC address \"%s\" or \"%s\"", nonnull(dst), nonnull(src));
		return;
	}
	pkt_eth_bytes(p, d, s);
}

void pkt_vlan(struct pkt *p, uint16_t tpid, uint16_t tci)
{
	uint8_t *b;

	if (last_type(p) != PKT_ETH && last_type(p) != PKT_VLAN && !p->err[0]) {
		misuse(p, "vlan tag not after ethernet or another tag");
		return;
	}
	b = push(p, PKT_VLAN, VLAN_HDR_LEN);
	if (!b)
		return;
	set16(b, tci);
	last_layer(p)->tag = tpid;
}

void pkt_ipv4_bytes(struct pkt *p, const uint8_t saddr[4], const uint8_t daddr[4],
		    const struct pkt_ipv4_opts *o)
{
	static const struct pkt_ipv4_opts defaults;
	uint16_t frag;
	uint8_t *b;

	if (!o)
		o = &defaults;
	if (o->options_len % 4 || o->options_len > 40 || (o->options_len && !o->options)) {
		misuse(p, "ipv4 options of %zu bytes: need a multiple of 4, at most 40",
		       o->options_len);
		return;
	}
	b = push(p, PKT_IPV4, IPV4_HLEN + o->options_len);
	if (!b)
		return;
	b[0] = 0x40 | (uint8_t)((IPV4_HLEN + o->options_len) / 4);
	b[1] = o->tos;
	set16(b + 4, o->id);
	frag = o->frag_off & 0x1fff;
	if (o->df)
		frag |= 0x4000;
	if (o->mf)
		frag |= 0x2000;
	set16(b + 6, frag);
	b[8] = o->ttl ? o->ttl : 64;
	memcpy(b + 12, saddr, 4);
	memcpy(b + 16, daddr, 4);
	if (o->options_len)
		memcpy(b + IPV4_HLEN, o->options, o->options_len);
	if (o->proto) {
		last_layer(p)->next_set = 1;
		last_layer(p)->next = o->proto;
	}
}

void pkt_ipv4(struct pkt *p, const char *saddr, const char *daddr, const struct pkt_ipv4_opts *o)
{
	uint8_t s[4], d[4];

	if (pkt_parse_ip4(saddr, s) || pkt_parse_ip4(daddr, d)) {
		misuse(p, "bad IPv4 address \"%s\" or \"%s\"", nonnull(saddr), nonnull(daddr));
		return;
	}
	pkt_ipv4_bytes(p, s, d, o);
}

void pkt_ipv6_bytes(struct pkt *p, const uint8_t saddr[16], const uint8_t daddr[16],
		    const struct pkt_ipv6_opts *o)
{
	static const struct pkt_ipv6_opts defaults;
	uint8_t *b;

	if (!o)
		o = &defaults;
	b = push(p, PKT_IPV6, IPV6_HLEN);
	if (!b)
		return;
	set32(b, 6u << 28 | (uint32_t)o->tclass << 20 | (o->flow_label & 0xfffff));
	b[7] = o->hop_limit ? o->hop_limit : 64;
	memcpy(b + 8, saddr, 16);
	memcpy(b + 24, daddr, 16);
	if (o->nexthdr) {
		last_layer(p)->next_set = 1;
		last_layer(p)->next = o->nexthdr;
	}
}

void pkt_ipv6(struct pkt *p, const char *saddr, const char *daddr, const struct pkt_ipv6_opts *o)
{
	uint8_t s[16], d[16];

	if (pkt_parse_ip6(saddr, s) || pkt_parse_ip6(daddr, d)) {
		misuse(p, "bad IPv6 address \"%s\" or \"%s\"", nonnull(saddr), nonnull(daddr));
		return;
	}
	pkt_ipv6_bytes(p, s, d, o);
}

void pkt_ipv6_ext(struct pkt *p, uint8_t type, const uint8_t *body, size_t body_len)
{
	size_t hlen;
	uint8_t *b;

	if (p->err[0])
		return;
	if (last_type(p) != PKT_IPV6 && last_type(p) != PKT_IPV6_EXT) {
		misuse(p, "ipv6 extension header not after ipv6 or another extension");
		return;
	}
	if (type == PROTO_FRAGMENT) {
		if (body_len > 6) {
			misuse(p, "fragment header body of %zu bytes, at most 6", body_len);
			return;
		}
		hlen = 8;
	} else if (type == PROTO_HOPOPTS || type == PROTO_ROUTING || type == PROTO_DSTOPTS) {
		/* The length byte counts 8-byte units after the first 8. */
		hlen = (2 + body_len + 7) / 8 * 8;
		if (hlen > 8 * 256) {
			misuse(p, "extension header body of %zu bytes", body_len);
			return;
		}
	} else {
		misuse(p, "ipv6 extension header type %u not supported", type);
		return;
	}
	b = push(p, PKT_IPV6_EXT, hlen);
	if (!b)
		return;
	if (type != PROTO_FRAGMENT)
		b[1] = (uint8_t)(hlen / 8 - 1);
	if (body)
		memcpy(b + 2, body, body_len);
	last_layer(p)->tag = type;
}

void pkt_ipv6_frag(struct pkt *p, uint8_t nexthdr, uint16_t frag_off, bool more, uint32_t id)
{
	uint8_t body[6];

	set16(body, (uint16_t)(frag_off << 3 | (more ? 1 : 0)));
	set32(body + 2, id);
	pkt_ipv6_ext(p, PROTO_FRAGMENT, body, sizeof(body));
	if (nexthdr && last_type(p) == PKT_IPV6_EXT && !p->err[0]) {
		last_layer(p)->next_set = 1;
		last_layer(p)->next = nexthdr;
	}
}

void pkt_tcp(struct pkt *p, uint16_t sport, uint16_t dport, uint8_t flags,
	     const struct pkt_tcp_opts *o)
{
	static const struct pkt_tcp_opts defaults;
	size_t hlen;
	uint8_t *b;

	if (!o)
		o = &defaults;
	if (o->options_len % 4 || o->options_len > 40 || (o->options_len && !o->options)) {
		misuse(p, "tcp options of %zu bytes: need a multiple of 4, at most 40",
		       o->options_len);
		return;
	}
	hlen = TCP_HLEN + o->options_len;
	b = push(p, PKT_TCP, hlen);
	if (!b)
		return;
	set16(b, sport);
	set16(b + 2, dport);
	set32(b + 4, o->seq);
	set32(b + 8, o->ack);
	b[12] = (uint8_t)(hlen / 4 << 4);
	b[13] = flags;
	set16(b + 14, o->window ? o->window : 65535);
	if (o->options_len)
		memcpy(b + TCP_HLEN, o->options, o->options_len);
}

void pkt_udp(struct pkt *p, uint16_t sport, uint16_t dport)
{
	uint8_t *b = push(p, PKT_UDP, UDP_HLEN);

	if (!b)
		return;
	set16(b, sport);
	set16(b + 2, dport);
}

static void icmp(struct pkt *p, enum pkt_layer_type type, uint8_t t, uint8_t code, uint32_t rest)
{
	uint8_t *b = push(p, type, ICMP_HLEN);

	if (!b)
		return;
	b[0] = t;
	b[1] = code;
	set32(b + 4, rest);
}

void pkt_icmp4(struct pkt *p, uint8_t type, uint8_t code, uint32_t rest)
{
	icmp(p, PKT_ICMP4, type, code, rest);
}

void pkt_icmp6(struct pkt *p, uint8_t type, uint8_t code, uint32_t rest)
{
	icmp(p, PKT_ICMP6, type, code, rest);
}

void pkt_payload(struct pkt *p, const void *bytes, size_t n)
{
	uint8_t *b;
	size_t i;

	if (last_type(p) == PKT_PAYLOAD) {
		/* Consecutive payloads make one layer. */
		b = reserve(p, n);
		if (!b)
			return;
		last_layer(p)->hlen = (uint16_t)(last_layer(p)->hlen + n);
		p->len += n;
	} else {
		b = push(p, PKT_PAYLOAD, n);
		if (!b)
			return;
	}
	for (i = 0; i < n; i++)
		b[i] = bytes ? ((const uint8_t *)bytes)[i] : (uint8_t)i;
}

void pkt_trailer(struct pkt *p, const void *bytes, size_t n)
{
	uint8_t *b;

	if (p->err[0])
		return;
	if (n > PKT_MAX_LEN - p->len) {
		misuse(p, "packet longer than %d bytes", PKT_MAX_LEN);
		return;
	}
	if (!p->trailer_off)
		p->trailer_off = p->len;
	b = p->data + p->len;
	if (bytes)
		memcpy(b, bytes, n);
	else
		memset(b, 0, n);
	p->len += n;
}

void pkt_lie(struct pkt *p, enum pkt_lie_field field, uint16_t value)
{
	struct pkt_layer *l = last_layer(p);
	bool ok;

	if (p->err[0])
		return;
	switch (field) {
	case PKT_LIE_LEN:
		ok = l && (l->type == PKT_IPV4 || l->type == PKT_IPV6 || l->type == PKT_UDP);
		if (ok)
			l->lie_len = value;
		break;
	case PKT_LIE_CSUM:
		ok = l && (l->type == PKT_IPV4 || l->type == PKT_TCP || l->type == PKT_UDP ||
			   l->type == PKT_ICMP4 || l->type == PKT_ICMP6);
		if (ok)
			l->lie_csum = value;
		break;
	case PKT_LIE_IHL:
		ok = l && l->type == PKT_IPV4 && value <= 15;
		if (ok)
			l->lie_ihl = (uint8_t)value;
		break;
	default:
		ok = false;
		break;
	}
	if (!ok) {
		misuse(p, "pkt_lie(%d) does not fit the last layer (type %d)", field,
		       l ? l->type : 0);
		return;
	}
	l->lies |= 1u << field;
}

/* The value the previous layer announces for layer l: EtherType for
 * Ethernet and VLAN, protocol number for IPv4, IPv6 and extension headers.
 */
static int l2_next(const struct pkt_layer *l)
{
	switch (l ? l->type : 0) {
	case PKT_VLAN:
		return l->tag;
	case PKT_IPV4:
		return ETHERTYPE_IPV4;
	case PKT_IPV6:
		return ETHERTYPE_IPV6;
	default:
		return -1;
	}
}

static uint8_t l3_next(const struct pkt_layer *l)
{
	switch (l ? l->type : 0) {
	case PKT_IPV4:
		return PROTO_IPIP;
	case PKT_IPV6:
		return PROTO_IPV6;
	case PKT_IPV6_EXT:
		return (uint8_t)l->tag;
	case PKT_TCP:
		return PROTO_TCP;
	case PKT_UDP:
		return PROTO_UDP;
	case PKT_ICMP4:
		return PROTO_ICMP;
	case PKT_ICMP6:
		return PROTO_ICMPV6;
	default:
		return PROTO_NONE;
	}
}

static void fill_next(struct pkt *p)
{
	int i;

	for (i = 0; i < p->nlayers; i++) {
		const struct pkt_layer *l = &p->layers[i];
		const struct pkt_layer *n = i + 1 < p->nlayers ? &p->layers[i + 1] : NULL;
		uint8_t *b = p->data + l->off;
		uint8_t next = l->next_set ? l->next : l3_next(n);

		switch (l->type) {
		case PKT_ETH:
		case PKT_VLAN:
			if (l2_next(n) >= 0)
				set16(b + (l->type == PKT_ETH ? 12 : 2), (uint16_t)l2_next(n));
			break;
		case PKT_IPV4:
			b[9] = next;
			break;
		case PKT_IPV6:
			b[6] = next;
			break;
		case PKT_IPV6_EXT:
			b[0] = next;
			break;
		default:
			break;
		}
	}
}

/* The IPv4 or IPv6 layer that carries layer i: the closest one before it. */
static const struct pkt_layer *enclosing_ip(const struct pkt *p, int i)
{
	while (--i >= 0) {
		if (p->layers[i].type == PKT_IPV4 || p->layers[i].type == PKT_IPV6)
			return &p->layers[i];
	}
	return NULL;
}

/* The value pkt_finish() writes: the caller's lie, if any, else computed. */
static uint16_t lie_or(const struct pkt_layer *l, enum pkt_lie_field f, uint16_t computed)
{
	if (!(l->lies & 1u << f))
		return computed;
	return f == PKT_LIE_LEN ? l->lie_len : l->lie_csum;
}

/* Lengths and checksums of layer i, whose bytes run to end. */
static int finish_layer(struct pkt *p, int i, size_t end)
{
	const struct pkt_layer *l = &p->layers[i];
	const struct pkt_layer *ip = enclosing_ip(p, i);
	uint8_t *b = p->data + l->off;
	size_t len = end - l->off;
	uint8_t proto = 0;
	size_t csum_at;
	uint64_t sum;
	uint16_t csum;

	switch (l->type) {
	case PKT_IPV4:
		set16(b + 2, lie_or(l, PKT_LIE_LEN, (uint16_t)len));
		if (l->lies & 1u << PKT_LIE_IHL)
			b[0] = 0x40 | l->lie_ihl;
		set16(b + 10, 0);
		csum = pkt_csum(b, l->hlen);
		set16(b + 10, lie_or(l, PKT_LIE_CSUM, csum));
		return 0;
	case PKT_IPV6:
		set16(b + 4, lie_or(l, PKT_LIE_LEN, (uint16_t)(len - IPV6_HLEN)));
		return 0;
	case PKT_TCP:
		proto = PROTO_TCP;
		csum_at = 16;
		break;
	case PKT_UDP:
		proto = PROTO_UDP;
		csum_at = 6;
		set16(b + 4, lie_or(l, PKT_LIE_LEN, (uint16_t)len));
		break;
	case PKT_ICMP4:
		csum_at = 2;
		break;
	case PKT_ICMP6:
		proto = PROTO_ICMPV6;
		csum_at = 2;
		break;
	default:
		return 0;
	}

	if (proto && !ip) {
		misuse(p, "layer %d (type %d) has no ip layer for its pseudo-header", i, l->type);
		return -1;
	}
	if (l->type == PKT_ICMP6 && ip->type != PKT_IPV6) {
		misuse(p, "icmpv6 layer %d not carried by ipv6", i);
		return -1;
	}
	set16(b + csum_at, 0);
	sum = csum_add(0, b, len);
	if (proto)
		sum += csum_pseudo(p->data + ip->off, ip->type == PKT_IPV6, proto, len);
	csum = csum_final(sum);
	/* A UDP checksum of 0 means "none"; the computed 0 is sent as its
	 * one's complement twin.
	 */
	if (l->type == PKT_UDP && csum == 0)
		csum = 0xffff;
	set16(b + csum_at, lie_or(l, PKT_LIE_CSUM, csum));
	return 0;
}

int pkt_finish(struct pkt *p)
{
	size_t end = p->trailer_off ? p->trailer_off : p->len;
	int i;

	if (p->err[0])
		return -1;
	for (i = 0; i < p->nlayers; i++) {
		if (p->layers[i].off + p->layers[i].hlen > end) {
			misuse(p, "layer %d cut by pkt_truncate()", i);
			return -1;
		}
	}
	fill_next(p);
	/* Innermost first: an outer checksum covers the inner checksums, and
	 * an ICMP error covers the quoted packet.
	 */
	for (i = p->nlayers - 1; i >= 0; i--) {
		if (finish_layer(p, i, end))
			return -1;
	}
	return 0;
}

void pkt_truncate(struct pkt *p, size_t len)
{
	if (len < p->len)
		p->len = len;
	if (p->trailer_off > p->len)
		p->trailer_off = p->len;
}

void pkt_put8(struct pkt *p, size_t off, uint8_t v)
{
	if (off < p->len)
		p->data[off] = v;
	else
		misuse(p, "pkt_put8 at %zu beyond %zu bytes", off, p->len);
}

void pkt_put16(struct pkt *p, size_t off, uint16_t v)
{
	if (off + 2 <= p->len)
		set16(p->data + off, v);
	else
		misuse(p, "pkt_put16 at %zu beyond %zu bytes", off, p->len);
}

void pkt_put32(struct pkt *p, size_t off, uint32_t v)
{
	if (off + 4 <= p->len)
		set32(p->data + off, v);
	else
		misuse(p, "pkt_put32 at %zu beyond %zu bytes", off, p->len);
}

int pkt_find(const struct pkt *p, enum pkt_layer_type type, int nth)
{
	int i;

	for (i = 0; i < p->nlayers; i++) {
		if (p->layers[i].type == type && nth-- == 0)
			return i;
	}
	return -1;
}

/* ---- addresses ---- */

int pkt_parse_ip4(const char *s, uint8_t out[4])
{
	return s && inet_pton(AF_INET, s, out) == 1 ? 0 : -1;
}

int pkt_parse_ip6(const char *s, uint8_t out[16])
{
	return s && inet_pton(AF_INET6, s, out) == 1 ? 0 : -1;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Exactly six two-digit groups separated by ':' (sscanf would accept
 * "1:2:3:4:5:6" and trailing junk).
 */
int pkt_parse_mac(const char *s, uint8_t out[6])
{
	uint8_t mac[6];
	int i;

	if (!s || strlen(s) != 17)
		return -1;
	for (i = 0; i < 6; i++) {
		int hi = hexval(s[3 * i]), lo = hexval(s[3 * i + 1]);

		if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':'))
			return -1;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	memcpy(out, mac, 6);
	return 0;
}

/* ---- checker ---- */

struct vctx {
	const uint8_t *d;
	size_t frame_len;
	char *err;
	size_t errlen;
};

/* How a packet is reached, for the trailing-bytes rule and the messages. */
enum vwhere {
	V_OUTER,
	V_INNER, /* tunnelled */
	V_QUOTED, /* quoted by an ICMP error: truncated */
};

static const char *const where_name[] = { "", "inner ", "quoted " };

#define MAX_NESTING 4

static int __attribute__((format(printf, 2, 3))) vfail(struct vctx *v, const char *fmt, ...)
{
	if (v->err && v->errlen) {
		va_list ap;

		va_start(ap, fmt);
		vsnprintf(v->err, v->errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int verify_ipv4(struct vctx *v, size_t off, size_t end, enum vwhere w, int depth);
static int verify_ipv6(struct vctx *v, size_t off, size_t end, enum vwhere w, int depth);

/* An L4 checksum over [off, end) plus the pseudo-header of the IP header at
 * ip_off; csum_at is the field's offset in the L4 header. Returns the
 * checksum the field should hold, and whether it holds it.
 */
static bool l4_csum_ok(struct vctx *v, size_t ip_off, bool v6, uint8_t proto, size_t off,
		       size_t end, size_t csum_at, uint16_t *want)
{
	uint64_t sum = 0;

	if (proto)
		sum = csum_pseudo(v->d + ip_off, v6, proto, end - off);
	sum = csum_add(sum, v->d + off, csum_at);
	sum = csum_add(sum, v->d + off + csum_at + 2, end - off - csum_at - 2);
	*want = csum_final(sum);
	/* One's complement has two zeros: a field of 0xffff where 0 is
	 * computed (or the reverse) sums to the same and is valid.
	 */
	return csum_fold(sum + get16(v->d + off + csum_at)) == 0xffff;
}

static bool icmp4_is_error(uint8_t type)
{
	/* unreachable, source quench, redirect, time exceeded, parameter */
	return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}

static int verify_l4(struct vctx *v, uint8_t proto, size_t ip_off, bool v6, size_t off, size_t end,
		     enum vwhere w, int depth)
{
	const char *pfx = where_name[w];
	const uint8_t *b = v->d + off;
	size_t len = end - off;
	uint16_t want;

	switch (proto) {
	case PROTO_IPIP:
		return verify_ipv4(v, off, end, V_INNER, depth + 1);
	case PROTO_IPV6:
		return verify_ipv6(v, off, end, V_INNER, depth + 1);
	case PROTO_TCP:
		if (len < TCP_HLEN)
			return vfail(v, "%stcp at %zu: %zu bytes, header needs %d", pfx, off, len,
				     TCP_HLEN);
		if ((b[12] >> 4) * 4u < TCP_HLEN || (b[12] >> 4) * 4u > len)
			return vfail(v, "%stcp at %zu: data offset %u words, %zu bytes present",
				     pfx, off, b[12] >> 4, len);
		if (!l4_csum_ok(v, ip_off, v6, PROTO_TCP, off, end, 16, &want))
			return vfail(v, "%stcp at %zu: checksum 0x%04x, want 0x%04x", pfx, off,
				     get16(b + 16), want);
		return 0;
	case PROTO_UDP:
		if (len < UDP_HLEN)
			return vfail(v, "%sudp at %zu: %zu bytes, header needs %d", pfx, off, len,
				     UDP_HLEN);
		if (get16(b + 4) != len)
			return vfail(v, "%sudp at %zu: length %u, %zu bytes present", pfx, off,
				     get16(b + 4), len);
		if (!v6 && get16(b + 6) == 0)
			return 0; /* no checksum: allowed over IPv4 only */
		if (v6 && get16(b + 6) == 0)
			return vfail(v, "%sudp at %zu: checksum 0 (none) over ipv6", pfx, off);
		if (!l4_csum_ok(v, ip_off, v6, PROTO_UDP, off, end, 6, &want))
			return vfail(v, "%sudp at %zu: checksum 0x%04x, want 0x%04x", pfx, off,
				     get16(b + 6), want ? want : 0xffff);
		return 0;
	case PROTO_ICMP:
		if (len < ICMP_HLEN)
			return vfail(v, "%sicmp at %zu: %zu bytes, header needs %d", pfx, off, len,
				     ICMP_HLEN);
		if (!l4_csum_ok(v, ip_off, v6, 0, off, end, 2, &want))
			return vfail(v, "%sicmp at %zu: checksum 0x%04x, want 0x%04x", pfx, off,
				     get16(b + 2), want);
		if (icmp4_is_error(b[0]))
			return verify_ipv4(v, off + ICMP_HLEN, end, V_QUOTED, depth + 1);
		return 0;
	case PROTO_ICMPV6:
		if (!v6)
			return vfail(v, "%sicmpv6 at %zu: carried by ipv4", pfx, off);
		if (len < ICMP_HLEN)
			return vfail(v, "%sicmpv6 at %zu: %zu bytes, header needs %d", pfx, off,
				     len, ICMP_HLEN);
		if (!l4_csum_ok(v, ip_off, v6, PROTO_ICMPV6, off, end, 2, &want))
			return vfail(v, "%sicmpv6 at %zu: checksum 0x%04x, want 0x%04x", pfx, off,
				     get16(b + 2), want);
		/* Types below 128 are errors quoting the offending packet. */
		if (b[0] < 128)
			return verify_ipv6(v, off + ICMP_HLEN, end, V_QUOTED, depth + 1);
		return 0;
	default:
		return 0;
	}
}

/* An IP length field (IPv4 total length, IPv6 payload length) against the
 * bytes it should count, which run to end.
 */
static int check_ip_len(struct vctx *v, const char *what, size_t off, const char *field,
			size_t value, size_t avail, enum vwhere w)
{
	const char *pfx = where_name[w];

	if (w == V_QUOTED) {
		/* A quote is a prefix of the original packet. */
		if (value < avail)
			return vfail(v, "%s%s at %zu: %s %zu < %zu bytes quoted", pfx, what, off,
				     field, value, avail);
		return 0;
	}
	if (value > avail)
		return vfail(v, "%s%s at %zu: %s %zu, only %zu bytes present", pfx, what, off,
			     field, value, avail);
	if (value < avail && !(w == V_OUTER && v->frame_len <= ETH_MIN_FRAME))
		return vfail(v, "%s%s at %zu: %s %zu, %zu bytes present", pfx, what, off, field,
			     value, avail);
	return 0;
}

static int verify_ipv4(struct vctx *v, size_t off, size_t end, enum vwhere w, int depth)
{
	const char *pfx = where_name[w];
	const uint8_t *b = v->d + off;
	size_t avail = end - off, hl;
	uint16_t frag;

	if (depth > MAX_NESTING)
		return vfail(v, "%sipv4 at %zu: nested more than %d deep", pfx, off, MAX_NESTING);
	if (avail < IPV4_HLEN)
		return vfail(v, "%sipv4 at %zu: %zu bytes, header needs %d", pfx, off, avail,
			     IPV4_HLEN);
	if (b[0] >> 4 != 4)
		return vfail(v, "%sipv4 at %zu: version %u", pfx, off, b[0] >> 4);
	hl = (b[0] & 0xf) * 4u;
	if (hl < IPV4_HLEN || hl > avail)
		return vfail(v, "%sipv4 at %zu: ihl %u (%zu bytes), %zu bytes present", pfx, off,
			     b[0] & 0xf, hl, avail);
	if (csum_fold(csum_add(0, b, hl)) != 0xffff) {
		uint64_t sum = csum_add(csum_add(0, b, 10), b + 12, hl - 12);

		return vfail(v, "%sipv4 at %zu: header checksum 0x%04x, want 0x%04x", pfx, off,
			     get16(b + 10), csum_final(sum));
	}
	if (get16(b + 2) < hl)
		return vfail(v, "%sipv4 at %zu: total length %u < header length %zu", pfx, off,
			     get16(b + 2), hl);
	if (check_ip_len(v, "ipv4", off, "total length", get16(b + 2), avail, w))
		return -1;
	if (w == V_QUOTED)
		return 0;
	frag = get16(b + 6);
	/* A fragment's L4 header and checksum need the whole datagram. */
	if (frag & 0x3fff)
		return 0;
	return verify_l4(v, b[9], off, false, off + hl, off + get16(b + 2), w, depth);
}

static int verify_ipv6(struct vctx *v, size_t off, size_t end, enum vwhere w, int depth)
{
	const char *pfx = where_name[w];
	const uint8_t *b = v->d + off;
	size_t avail = end - off, cur, elen;
	uint8_t nh;
	int n;

	if (depth > MAX_NESTING)
		return vfail(v, "%sipv6 at %zu: nested more than %d deep", pfx, off, MAX_NESTING);
	if (avail < IPV6_HLEN)
		return vfail(v, "%sipv6 at %zu: %zu bytes, header needs %d", pfx, off, avail,
			     IPV6_HLEN);
	if (b[0] >> 4 != 6)
		return vfail(v, "%sipv6 at %zu: version %u", pfx, off, b[0] >> 4);
	if (check_ip_len(v, "ipv6", off, "payload length", get16(b + 4), avail - IPV6_HLEN, w))
		return -1;
	if (w == V_QUOTED)
		return 0;
	end = off + IPV6_HLEN + get16(b + 4);
	nh = b[6];
	cur = off + IPV6_HLEN;
	for (n = 0; n < 8; n++) {
		switch (nh) {
		case PROTO_HOPOPTS:
		case PROTO_ROUTING:
		case PROTO_DSTOPTS:
			if (end - cur < 2)
				return vfail(v, "%sipv6 extension %u at %zu: truncated", pfx, nh,
					     cur);
			elen = (v->d[cur + 1] + 1) * 8u;
			if (elen > end - cur)
				return vfail(
					v, "%sipv6 extension %u at %zu: length %zu, %zu bytes left",
					pfx, nh, cur, elen, end - cur);
			nh = v->d[cur];
			cur += elen;
			break;
		case PROTO_FRAGMENT:
			if (end - cur < 8)
				return vfail(v, "%sipv6 fragment header at %zu: truncated", pfx,
					     cur);
			/* Offset or more-fragments: L4 needs the whole datagram. */
			if (get16(v->d + cur + 2) & 0xfff9)
				return 0;
			nh = v->d[cur];
			cur += 8;
			break;
		case PROTO_NONE:
			return 0;
		default:
			return verify_l4(v, nh, off, true, cur, end, w, depth);
		}
	}
	return vfail(v, "%sipv6 at %zu: more than %d extension headers", pfx, off, n);
}

int pkt_verify(const uint8_t *data, size_t len, char *err, size_t errlen)
{
	struct vctx v = { .d = data, .frame_len = len, .err = err, .errlen = errlen };
	size_t off = ETH_HDR_LEN;
	uint16_t type;
	int tags;

	if (err && errlen)
		err[0] = '\0';
	if (len < ETH_HDR_LEN)
		return vfail(&v, "frame of %zu bytes, ethernet header needs %d", len, ETH_HDR_LEN);
	type = get16(data + 12);
	for (tags = 0; type == ETHERTYPE_VLAN || type == ETHERTYPE_QINQ; tags++) {
		if (tags == 2)
			return vfail(&v, "vlan at %zu: more than two tags", off - 4);
		if (len - off < VLAN_HDR_LEN)
			return vfail(&v, "vlan at %zu: truncated", off);
		type = get16(data + off + 2);
		off += VLAN_HDR_LEN;
	}
	if (type == ETHERTYPE_IPV4)
		return verify_ipv4(&v, off, len, V_OUTER, 0);
	if (type == ETHERTYPE_IPV6)
		return verify_ipv6(&v, off, len, V_OUTER, 0);
	return 0;
}

/* ---- hex diff ---- */

#define ROW 16

static void hexrow(FILE *f, const char *label, const uint8_t *b, size_t len, size_t row)
{
	size_t i;

	fprintf(f, "%04zx %-5s", row, label);
	for (i = row; i < row + ROW; i++) {
		if (i < len)
			fprintf(f, " %02x", b[i]);
		else
			fprintf(f, "   ");
	}
	fputc('\n', f);
}

void pkt_hexdiff(FILE *f, const uint8_t *got, size_t got_len, const uint8_t *want, size_t want_len)
{
	size_t max = got_len > want_len ? got_len : want_len;
	size_t min = got_len < want_len ? got_len : want_len;
	size_t first = max, row, last, i;

	for (i = 0; i < min; i++) {
		if (got[i] != want[i]) {
			first = i;
			break;
		}
	}
	if (first == max && got_len == want_len) {
		fprintf(f, "packets identical, %zu bytes\n", got_len);
		return;
	}
	if (first == max)
		first = min;
	fprintf(f, "got %zu bytes, want %zu; first difference at offset %zu (0x%zx)\n", got_len,
		want_len, first, first);
	for (row = 0; row < max; row += ROW) {
		bool differs = false;

		for (i = row; i < row + ROW && i < max; i++)
			differs |= i >= min || got[i] != want[i];
		if (!differs) {
			hexrow(f, "", got, got_len, row);
			continue;
		}
		hexrow(f, "got", got, got_len, row);
		hexrow(f, "want", want, want_len, row);
		fprintf(f, "%10s", "");
		for (i = row, last = row; i < row + ROW && i < max; i++) {
			if (i >= min || got[i] != want[i])
				last = i;
		}
		for (i = row; i <= last; i++)
			fprintf(f, "%s", i >= min || got[i] != want[i] ? " ^^" : "   ");
		fputc('\n', f);
	}
}
