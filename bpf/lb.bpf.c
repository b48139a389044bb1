// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The load balancer's XDP program; the logic is in lb.h. */
#include "lb.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("xdp")
int lb_xdp(struct xdp_md *ctx)
{
	return lb_process(ctx);
}
