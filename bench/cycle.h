/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* One flow of lb_cycle's table (bench_wrap.bpf.c), shared with the
 * benchmark that fills it.
 */
#ifndef BOUNCER_BENCH_CYCLE_H
#define BOUNCER_BENCH_CYCLE_H

#include <linux/types.h>

/* What lb_cycle writes into the packet before a run, and the backend the
 * flow must reach: the last byte of its next hop MAC, as the benchmark's
 * backends have it.
 */
struct bench_flow {
	__be32 saddr[4]; /* an IPv4 address in the first word */
	__be16 sport;
	__u8 backend;
	__u8 pad;
};

/* Entries of the table. */
#define BENCH_CYCLE_FLOWS (1u << 20)

#endif /* BOUNCER_BENCH_CYCLE_H */
