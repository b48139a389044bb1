/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The benchmark-only programs of bench_wrap.bpf.c, loaded against the
 * load balancer's own maps.
 */
#ifndef BOUNCER_BENCH_WRAP_H
#define BOUNCER_BENCH_WRAP_H

#include "bench_wrap.skel.h"
#include "bouncerd/maps.h"

/* Opens and loads the programs so that every map of theirs is the one
 * bnc_maps_open() created (they see the VIPs, flows, flow cache and
 * counters the benchmark set up and checks), except the benchmark's own
 * ones, named bench_*, which they create. On a verifier rejection, logs
 * the end of the verifier's log. Returns 0 or a negative errno.
 */
int bench_wrap_load(struct bnc_maps *maps, struct bench_wrap **wrap);

#endif /* BOUNCER_BENCH_WRAP_H */
