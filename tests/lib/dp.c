// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The datapath test world; see dp.h. */
#include "dp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <netinet/in.h>

#include "common/addr.h"
#include "bouncer_hash.h"
#include "bouncerd/maglev.h"

struct dp_backend_def {
	uint32_t id;
	const char *addr;
	const char *mac;
	uint8_t kind;
	uint32_t ifindex;
};

static const struct dp_backend_def backend_defs[] = {
	{ DP_BE_V4_A, "10.0.2.11", "02:00:00:00:02:11", BNC_BACKEND_REMOTE, 0 },
	{ DP_BE_V4_B, "10.0.2.12", "02:00:00:00:02:12", BNC_BACKEND_REMOTE, 0 },
	{ DP_BE_V4_C, "10.0.2.13", "02:00:00:00:02:13", BNC_BACKEND_REMOTE, 0 },
	{ DP_BE_V6_A, "fd00:2::11", "02:00:00:00:06:11", BNC_BACKEND_REMOTE, 0 },
	{ DP_BE_V6_B, "fd00:2::12", "02:00:00:00:06:12", BNC_BACKEND_REMOTE, 0 },
	{ DP_BE_LOCAL, "127.0.0.1", "00:00:00:00:00:00", BNC_BACKEND_LOCAL, 0 },
	{ DP_BE_REDIRECT, "10.0.2.21", "02:00:00:00:02:21", BNC_BACKEND_REMOTE,
	  DP_REDIRECT_IFINDEX },
};

struct dp_vip_def {
	const char *addr;
	uint16_t port;
	uint8_t proto;
	uint8_t forwarding;
	uint32_t flags;
	uint32_t backends[4]; /* 0 ends the list */
};

/* The vip_id of each is its index. */
static const struct dp_vip_def vip_defs[] = {
	{ "10.100.0.1", 80, IPPROTO_TCP, BNC_FWD_DSR, 0, { DP_BE_V4_A, DP_BE_V4_B, DP_BE_V4_C } },
	{ "10.100.0.1", 53, IPPROTO_UDP, BNC_FWD_DSR, 0, { DP_BE_V4_A, DP_BE_V4_B, DP_BE_V4_C } },
	{ "10.100.0.2", 80, IPPROTO_TCP, BNC_FWD_IPIP, 0, { DP_BE_V4_A, DP_BE_V4_B, DP_BE_V4_C } },
	{ "10.100.0.2", 53, IPPROTO_UDP, BNC_FWD_IPIP, 0, { DP_BE_V4_A, DP_BE_V4_B, DP_BE_V4_C } },
	{ "fd00:100::1", 80, IPPROTO_TCP, BNC_FWD_DSR, 0, { DP_BE_V6_A, DP_BE_V6_B } },
	{ "fd00:100::1", 53, IPPROTO_UDP, BNC_FWD_DSR, 0, { DP_BE_V6_A, DP_BE_V6_B } },
	{ "fd00:100::2", 80, IPPROTO_TCP, BNC_FWD_IPIP, 0, { DP_BE_V6_A, DP_BE_V6_B } },
	{ "fd00:100::2", 53, IPPROTO_UDP, BNC_FWD_IPIP, 0, { DP_BE_V6_A, DP_BE_V6_B } },
	/* No backends: an empty ring. */
	{ "10.100.0.3", 80, IPPROTO_TCP, BNC_FWD_DSR, 0, { 0 } },
	/* IPv4 service on IPv6 backends, and the other way round. */
	{ "10.100.0.4", 80, IPPROTO_TCP, BNC_FWD_IPIP, 0, { DP_BE_V6_A, DP_BE_V6_B } },
	{ "fd00:100::4", 80, IPPROTO_TCP, BNC_FWD_IPIP, 0, { DP_BE_V4_A, DP_BE_V4_B } },
	{ "10.100.0.5",
	  80,
	  IPPROTO_TCP,
	  BNC_FWD_DSR,
	  BNC_VIP_F_HASH_SRC_ONLY,
	  { DP_BE_V4_A, DP_BE_V4_B, DP_BE_V4_C } },
	{ "10.100.0.6", 80, IPPROTO_TCP, BNC_FWD_DSR, 0, { DP_BE_LOCAL } },
	{ "10.100.0.7", 80, IPPROTO_TCP, BNC_FWD_DSR, 0, { DP_BE_REDIRECT } },
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const struct dp_backend_def *backend_def(uint32_t id)
{
	for (size_t i = 0; i < ARRAY_SIZE(backend_defs); i++)
		if (backend_defs[i].id == id)
			return &backend_defs[i];
	return NULL;
}

static int install_backends(struct dp_env *env)
{
	for (size_t i = 0; i < ARRAY_SIZE(backend_defs); i++) {
		const struct dp_backend_def *d = &backend_defs[i];
		struct bnc_backend be = { 0 };
		int err;

		if (addr_parse(d->addr, be.addr, &be.family) ||
		    pkt_parse_mac(d->mac, be.next_hop_mac) || pkt_parse_mac(DP_LB_MAC, be.src_mac))
			return -EINVAL;
		be.kind = d->kind;
		be.state = BNC_BACKEND_UP;
		be.mtu = DP_MTU;
		be.ifindex = d->ifindex;
		err = bnc_maps_backend_set(env->maps, d->id, &be);
		if (err)
			return err;
	}
	return 0;
}

static int vip_key_of(const struct dp_vip_def *d, struct bnc_vip_key *key)
{
	memset(key, 0, sizeof(*key));
	key->port = htons(d->port);
	key->proto = d->proto;
	return addr_parse(d->addr, key->addr, &key->family);
}

static int install_vips(struct dp_env *env)
{
	for (size_t i = 0; i < ARRAY_SIZE(vip_defs); i++) {
		const struct dp_vip_def *d = &vip_defs[i];
		struct bnc_vip_value value = { 0 };
		struct bnc_vip_key key;
		uint32_t ids[4];
		size_t n = 0;
		int err;

		if (vip_key_of(d, &key))
			return -EINVAL;
		value.vip_id = i;
		value.flags = d->flags;
		value.forwarding = d->forwarding;
		err = bnc_maps_vip_add(env->maps, &key, &value);
		if (err)
			return err;
		while (n < ARRAY_SIZE(d->backends) && d->backends[n])
			ids[n] = d->backends[n], n++;
		err = dp_ring_fill(env, &key, ids, n);
		if (err)
			return err;
	}
	return 0;
}

/* The real Maglev table, as the agent would build it. */
static int maglev_ring(const uint32_t *ids, size_t n, uint32_t *slots)
{
	struct maglev_backend mb[4] = { 0 };

	if (n > ARRAY_SIZE(mb))
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		const struct dp_backend_def *d = backend_def(ids[i]);

		if (!d || addr_parse(d->addr, mb[i].addr, &mb[i].family))
			return -EINVAL;
		mb[i].port = htons(80);
		mb[i].weight = 1;
		mb[i].id = ids[i];
	}
	return maglev_build(mb, n, DP_RING_SIZE, slots);
}

/* Swaps in the Maglev ring of ids, with history or every slot clean. */
static int ring_swap(struct dp_env *env, const struct bnc_vip_key *vip, const uint32_t *ids,
		     size_t n, bool history)
{
	uint32_t *slots = calloc(DP_RING_SIZE, sizeof(*slots));
	int err;

	if (!slots)
		return -ENOMEM;
	err = maglev_ring(ids, n, slots);
	if (!err)
		err = bnc_maps_ring_swap_history(env->maps, vip, slots, DP_RING_SIZE, history,
						 NULL);
	free(slots);
	return err;
}

int dp_ring_fill(struct dp_env *env, const struct bnc_vip_key *vip, const uint32_t *ids, size_t n)
{
	return ring_swap(env, vip, ids, n, true);
}

int dp_ring_fresh(struct dp_env *env, const struct bnc_vip_key *vip, const uint32_t *ids, size_t n)
{
	return ring_swap(env, vip, ids, n, false);
}

int dp_set_hash_seed(struct dp_env *env, uint32_t seed)
{
	struct bnc_config cfg = { .hash_seed = seed };
	int err;

	if (pkt_parse_ip4(DP_IPIP_SRC4, (uint8_t *)&cfg.ipip_src_v4) ||
	    pkt_parse_ip6(DP_IPIP_SRC6, (uint8_t *)cfg.ipip_src_v6))
		return -EINVAL;
	err = bnc_maps_set_config(env->maps, &cfg);
	if (!err)
		env->hash_seed = seed;
	return err;
}

int dp_env_setup(struct dp_env *env)
{
	struct bnc_maps_opts opts = { .flow_table_size = 4096 };
	int err;

	memset(env, 0, sizeof(*env));
	err = bnc_maps_open(&opts, &env->maps);
	if (err)
		return err;
	env->prog_fd = bnc_maps_prog_fd(env->maps);
	err = dp_set_hash_seed(env, DP_HASH_SEED);
	if (!err)
		err = install_backends(env);
	if (!err)
		err = install_vips(env);
	return err;
}

void dp_env_teardown(struct dp_env *env)
{
	bnc_maps_close(env->maps);
	env->maps = NULL;
}

int dp_run(struct dp_env *env, const struct pkt *in, uint8_t *out, size_t *out_len,
	   uint32_t *verdict)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in->data, .data_size_in = in->len,
		    .data_out = out, .data_size_out = PKT_MAX_LEN, .repeat = 1);

	if (bpf_prog_test_run_opts(env->prog_fd, &opts))
		return -errno;
	*out_len = opts.data_size_out;
	*verdict = opts.retval;
	return 0;
}

/* Offset of the outermost IP header, and whether it is IPv6; -1 if none. */
static int outer_ip(const struct pkt *p, bool *v6)
{
	int i4 = pkt_find(p, PKT_IPV4, 0), i6 = pkt_find(p, PKT_IPV6, 0);

	if (i4 < 0 && i6 < 0)
		return -1;
	*v6 = i4 < 0 || (i6 >= 0 && p->layers[i6].off < p->layers[i4].off);
	return *v6 ? i6 : i4;
}

void dp_flow_of(const struct pkt *p, struct bnc_flow_key *flow)
{
	bool v6;
	int ip = outer_ip(p, &v6), l4 = ip + 1;
	const uint8_t *h;

	memset(flow, 0, sizeof(*flow));
	if (ip < 0)
		return;
	h = p->data + p->layers[ip].off;
	if (v6) {
		flow->family = BNC_FAMILY_IPV6;
		memcpy(flow->saddr, h + 8, 16);
		memcpy(flow->daddr, h + 24, 16);
	} else {
		flow->family = BNC_FAMILY_IPV4;
		memcpy(flow->saddr, h + 12, 4);
		memcpy(flow->daddr, h + 16, 4);
		flow->proto = h[9];
	}
	while (l4 < p->nlayers && p->layers[l4].type == PKT_IPV6_EXT)
		l4++;
	if (l4 >= p->nlayers)
		return;
	switch (p->layers[l4].type) {
	case PKT_TCP:
	case PKT_UDP:
		flow->proto = p->layers[l4].type == PKT_TCP ? IPPROTO_TCP : IPPROTO_UDP;
		memcpy(&flow->sport, p->data + p->layers[l4].off, 2);
		memcpy(&flow->dport, p->data + p->layers[l4].off + 2, 2);
		break;
	case PKT_ICMP4:
		flow->proto = IPPROTO_ICMP;
		break;
	case PKT_ICMP6:
		flow->proto = IPPROTO_ICMPV6;
		break;
	default:
		break;
	}
}

void dp_vip_of(const struct pkt *p, struct bnc_vip_key *vip)
{
	struct bnc_flow_key flow;

	dp_flow_of(p, &flow);
	memset(vip, 0, sizeof(*vip));
	memcpy(vip->addr, flow.daddr, sizeof(vip->addr));
	vip->port = flow.dport;
	vip->proto = flow.proto;
	vip->family = flow.family;
}

int dp_ring_choice(struct dp_env *env, const struct bnc_flow_key *flow, uint32_t *backend_id)
{
	struct bnc_vip_key key = { 0 };
	struct bnc_vip_value vip;
	struct bnc_backend be;
	uint32_t *slots, slot;
	int err;

	memcpy(key.addr, flow->daddr, sizeof(key.addr));
	key.port = flow->dport;
	key.proto = flow->proto;
	key.family = flow->family;
	err = bnc_maps_vip_lookup(env->maps, &key, &vip);
	if (err)
		return err;
	slots = calloc(vip.ring_size, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	err = bnc_maps_ring_read(env->maps, vip.vip_id, slots, vip.ring_size);
	if (err)
		goto cleanup;
	err = -ENOENT;
	slot = flow_hash(flow, vip.flags, env->hash_seed) % vip.ring_size;
	for (int i = 0; i < BNC_RING_PROBES; i++) {
		uint32_t id = bnc_ring_cur(slots[slot]);

		if (id == BNC_BACKEND_NONE)
			break;
		if (bnc_maps_backend_get(env->maps, id, &be) == 0 && be.state == BNC_BACKEND_UP) {
			*backend_id = id;
			err = 0;
			break;
		}
		slot = (slot + 1) % vip.ring_size;
	}
cleanup:
	free(slots);
	return err;
}

int dp_want_dsr(struct dp_env *env, const struct pkt *in, uint32_t backend_id, struct pkt *want)
{
	struct bnc_backend be;
	int err;

	err = bnc_maps_backend_get(env->maps, backend_id, &be);
	if (err)
		return err;
	*want = *in;
	memcpy(want->data, be.next_hop_mac, 6);
	return pkt_parse_mac(DP_LB_MAC, want->data + 6);
}

int dp_dsr_backend(struct dp_env *env, const struct pkt *in, const uint8_t *out, size_t len,
		   uint32_t *backend)
{
	static const uint32_t ids[] = { DP_BE_V4_A, DP_BE_V4_B, DP_BE_V4_C };
	struct pkt want;
	int err;

	*backend = BNC_BACKEND_NONE;
	for (size_t i = 0; i < ARRAY_SIZE(ids); i++) {
		err = dp_want_dsr(env, in, ids[i], &want);
		if (err)
			return err;
		if (len == want.len && memcmp(out, want.data, len) == 0)
			*backend = ids[i];
	}
	return 0;
}

int dp_want_ipip(struct dp_env *env, const struct pkt *in, uint32_t backend_id, struct pkt *want)
{
	uint8_t lb_mac[6], src6[16], src4[4];
	struct bnc_flow_key flow;
	struct bnc_backend be;
	size_t l3_off, l3_len;
	const uint8_t *ip;
	bool inner_v6;
	int ipl, err;

	err = bnc_maps_backend_get(env->maps, backend_id, &be);
	if (err)
		return err;
	ipl = outer_ip(in, &inner_v6);
	if (ipl < 0)
		return -EINVAL;
	l3_off = in->layers[ipl].off;
	ip = in->data + l3_off;
	l3_len = inner_v6 ? 40u + (ip[4] << 8 | ip[5]) : (size_t)(ip[2] << 8 | ip[3]);
	dp_flow_of(in, &flow);
	pkt_parse_mac(DP_LB_MAC, lb_mac);
	pkt_parse_ip4(DP_IPIP_SRC4, src4);
	pkt_parse_ip6(DP_IPIP_SRC6, src6);

	pkt_init(want);
	pkt_eth_bytes(want, be.next_hop_mac, lb_mac);
	for (int i = 1; i < in->nlayers && in->layers[i].type == PKT_VLAN; i++) {
		const uint8_t *tag = in->data + in->layers[i].off;

		pkt_vlan(want, in->layers[i].tag, (uint16_t)(tag[0] << 8 | tag[1]));
	}
	if (be.family == BNC_FAMILY_IPV6) {
		struct pkt_ipv6_opts o = {
			.nexthdr = inner_v6 ? IPPROTO_IPV6 : IPPROTO_IPIP,
			.hop_limit = 64,
			.tclass = inner_v6 ? (uint8_t)((ip[0] & 0xf) << 4 | ip[1] >> 4) : ip[1],
			.flow_label = encap_flow_label(&flow, env->hash_seed),
		};

		pkt_ipv6_bytes(want, src6, (const uint8_t *)be.addr, &o);
	} else {
		struct pkt_ipv4_opts o = {
			.proto = inner_v6 ? IPPROTO_IPV6 : IPPROTO_IPIP,
			.ttl = 64,
			.tos = inner_v6 ? (uint8_t)((ip[0] & 0xf) << 4 | ip[1] >> 4) : ip[1],
			.df = inner_v6 || (ip[6] & 0x40),
		};

		pkt_ipv4_bytes(want, src4, (const uint8_t *)be.addr, &o);
	}
	pkt_payload(want, ip, l3_len);
	if (l3_off + l3_len < in->len)
		pkt_trailer(want, ip + l3_len, in->len - l3_off - l3_len);
	return pkt_finish(want);
}
