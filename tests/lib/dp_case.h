/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Table-driven datapath cases: the input packet, the map set-up, the
 * expected verdict, counter and output bytes, and the runner that checks
 * them all with cmocka.
 */
#ifndef BOUNCER_TESTS_DP_CASE_H
#define BOUNCER_TESTS_DP_CASE_H

#include <stdbool.h>
#include <stdint.h>

#include "dp.h"

/* A packet from a client, described rather than spelled out. */
struct dp_input {
	uint8_t family; /* 4 or 6 */
	uint8_t proto; /* IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP(V6) (echo) */
	const char *saddr, *daddr;
	uint16_t sport, dport;
	uint8_t nvlan; /* 0, 1 or 2 tags */
	bool ip_options; /* IPv4: 8 bytes of options */
	bool ext_headers; /* IPv6: hop-by-hop, destination options, routing */
	uint8_t frag; /* 0: none, 1: first fragment, 2: a later one */
	bool no_df; /* IPv4: DF clear */
	uint16_t payload; /* L4 payload bytes */
	uint8_t tcp_flags; /* PKT_TCP_*; 0: a SYN */
};

enum dp_expect {
	DP_SAME, /* output identical to input */
	DP_DSR, /* input with the backend's next-hop MAC and ours */
	DP_IPIP, /* input encapsulated toward the backend */
	DP_BUILT, /* the frame that want() builds */
};

struct dp_case {
	const char *name;
	struct dp_input in;
	/* Builds the input when the generic builder does not fit. */
	void (*build)(struct pkt *p, const struct dp_input *in);
	/* Map changes before the run; may also adjust the input. */
	int (*setup)(struct dp_env *env, struct pkt *in);
	uint32_t verdict;
	enum dp_expect expect;
	/* DP_DSR/DP_IPIP: the backend; 0 for the ring's choice. */
	uint32_t backend;
	void (*want)(const struct pkt *in, struct pkt *want);
	/* The global counter this packet must raise by exactly one. */
	enum bnc_stat counter;
};

/* cmocka set-up and tear-down giving *state a freshly loaded struct
 * dp_env (left unloaded when not root: the tests then skip).
 */
int dp_env_cmocka_setup(void **state);
int dp_env_cmocka_teardown(void **state);

/* Rewrites the flags of p's TCP header (checksum recomputed). */
void dp_set_tcp_flags(struct pkt *p, uint8_t flags);

/* Builds the packet that in describes; fails the test on misuse. */
void dp_build_input(struct pkt *p, const struct dp_input *in);
/* Runs one case: the cmocka test function, state is the struct dp_case. */
void dp_case_run(void **state);
/* Runs cases[0..n) as a cmocka group named name; returns failures. */
int dp_cases_main(const char *name, const struct dp_case *cases, size_t n);

#endif /* BOUNCER_TESTS_DP_CASE_H */
