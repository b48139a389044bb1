// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The load balancer's programs, sharing one set of maps: XDP (the logic is
 * in lb.h), sk_lookup, which hands a VIP's connections to local workers
 * (steer.h), and the cgroup bind hooks that bind UDP workers to their
 * VIP's address and port (bind.h).
 */
#include "lb.h"
#include "steer.h"
#include "bind.h"

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

SEC("cgroup/bind4")
int lb_bind4(struct bpf_sock_addr *ctx)
{
	return bind_move4(ctx);
}

SEC("cgroup/bind6")
int lb_bind6(struct bpf_sock_addr *ctx)
{
	return bind_move6(ctx);
}
