/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The datapath test world: the real XDP object loaded through the map API,
 * a fixed set of VIPs and backends, and helpers to run a packet through
 * BPF_PROG_TEST_RUN and to build the packet a backend should receive.
 */
#ifndef BOUNCER_TESTS_DP_H
#define BOUNCER_TESTS_DP_H

#include <stdbool.h>
#include <stdint.h>

#include "bouncer_abi.h"
#include "bouncerd/maps.h"
#include <linux/bpf.h>

#include "pkt.h"

/* Our MAC (every backend's src_mac) and the client's. */
#define DP_LB_MAC "02:00:00:00:00:01"
#define DP_CLIENT_MAC "02:00:00:00:00:aa"
#define DP_IPIP_SRC4 "10.0.0.1"
#define DP_IPIP_SRC6 "fd00::1"
#define DP_RING_SIZE 1021 /* prime, small: tests build many rings */
/* Not BNC_HASH_SEED: a ring choice that matches flow_hash() under this
 * seed shows that the program hashes with the config map's.
 */
#define DP_HASH_SEED 0x5eed5eedu
#define DP_MTU 1500

/* Backends: ids and addresses. */
enum {
	DP_BE_V4_A = 1, /* 10.0.2.11 */
	DP_BE_V4_B = 2, /* 10.0.2.12 */
	DP_BE_V4_C = 3, /* 10.0.2.13 */
	DP_BE_V6_A = 11, /* fd00:2::11 */
	DP_BE_V6_B = 12, /* fd00:2::12 */
	DP_BE_LOCAL = 20, /* a local worker */
	DP_BE_REDIRECT = 21, /* 10.0.2.21, behind another device */
};

/* Ifindex of DP_BE_REDIRECT's egress device: any index but the ingress's. */
#define DP_REDIRECT_IFINDEX 4242

struct dp_env {
	struct bnc_maps *maps;
	int prog_fd;
	uint32_t hash_seed; /* in the config map: DP_HASH_SEED unless set */
};

/* Loads the object and installs the world (see dp.c for the VIP list). */
int dp_env_setup(struct dp_env *env);
void dp_env_teardown(struct dp_env *env);
/* Writes seed as the config map's hash seed, the ipip sources unchanged. */
int dp_set_hash_seed(struct dp_env *env, uint32_t seed);

/* Runs one packet. out must hold PKT_MAX_LEN bytes. Returns 0 or -errno. */
int dp_run(struct dp_env *env, const struct pkt *in, uint8_t *out, size_t *out_len,
	   uint32_t *verdict);

/* The 5-tuple of a built packet's outermost IP and L4 headers. */
void dp_flow_of(const struct pkt *p, struct bnc_flow_key *flow);
/* Backend a new flow gets: its ring slot (same hash and seed as the
 * datapath), and the next slots while the backend there is not up. -1 if
 * none.
 */
int dp_ring_choice(struct dp_env *env, const struct bnc_flow_key *flow, uint32_t *backend_id);
/* Swaps in the Maglev ring of the given backends as the agent does,
 * keeping each slot's history (bnc_maps_ring_swap()).
 */
int dp_ring_fill(struct dp_env *env, const struct bnc_vip_key *vip, const uint32_t *ids, size_t n);
/* The same ring with every slot clean, as a VIP's first ring: no flow of
 * an earlier ring is kept.
 */
int dp_ring_fresh(struct dp_env *env, const struct bnc_vip_key *vip, const uint32_t *ids, size_t n);
/* The VIP key a built packet is addressed to (daddr, dport, proto). */
void dp_vip_of(const struct pkt *p, struct bnc_vip_key *vip);

/* Expected frames: the input as a backend should receive it. */
int dp_want_dsr(struct dp_env *env, const struct pkt *in, uint32_t backend_id, struct pkt *want);
int dp_want_ipip(struct dp_env *env, const struct pkt *in, uint32_t backend_id, struct pkt *want);
/* Which of the IPv4 backends A, B and C an output frame is in's dsr frame
 * to: *backend is its id, or BNC_BACKEND_NONE for none of them. Returns 0
 * or -errno.
 */
int dp_dsr_backend(struct dp_env *env, const struct pkt *in, const uint8_t *out, size_t len,
		   uint32_t *backend);

#endif /* BOUNCER_TESTS_DP_H */
