// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The load balancer's programs, sharing one set of maps: XDP (the logic is
 * in lb.h) and sk_lookup, which hands a VIP's connections to local workers
 * (steer.h).
 */
#include "lb.h"
#include "steer.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("xdp")
int lb_xdp(struct xdp_md *ctx)
{
	return lb_process(ctx);
}

SEC("sk_lookup")
int lb_sk_lookup(struct bpf_sk_lookup *ctx)
{
	return steer_lookup(ctx);
}
