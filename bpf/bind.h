/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The cgroup bind hook for UDP workers: a worker's bind() of its own port
 * ($PORT) becomes a bind of its VIP's address and port, in a reuseport
 * group with the VIP's other workers (see struct bnc_bind_key). Its
 * replies then leave from the VIP's address and port, as clients that
 * check the source (DNS resolvers, QUIC, connected sockets) require, with
 * no change to the worker. Every other bind passes untouched.
 */
#ifndef BOUNCER_BPF_BIND_H
#define BOUNCER_BPF_BIND_H

#include "common.h"
#include "lb_maps.h"

/* <sys/socket.h> does not build for the BPF target: the generic values,
 * which every architecture with BPF uses for these.
 */
#define BIND_SOCK_DGRAM 2
#define BIND_SOL_SOCKET 1
#define BIND_SO_REUSEPORT 15

/* Return values of a bind hook: allow the bind, and allow it without
 * CAP_NET_BIND_SERVICE, which a worker running as a user lacks for a VIP
 * port below 1024 (BPF_RET_BIND_NO_CAP_NET_BIND_SERVICE, kernel 5.16+).
 */
#define BIND_ALLOW 1
#define BIND_ALLOW_NO_CAP 3

/* The bind's destination, or NULL when it is not a UDP worker's bind of
 * its own port in the agent's network namespace.
 */
static __always_inline const struct bnc_bind_value *bind_target(struct bpf_sock_addr *ctx,
								__u8 family)
{
	struct bnc_bind_key key = { .family = family };
	const struct bnc_bind_value *to;

	if (ctx->type != BIND_SOCK_DGRAM || ctx->protocol != IPPROTO_UDP)
		return NULL;
	/* user_port: the port in network order in the low 16 bits. */
	key.port = (__be16)ctx->user_port;
	to = bpf_map_lookup_elem(&worker_binds, &key);
	if (!to || to->netns_cookie != bpf_get_netns_cookie(ctx))
		return NULL;
	return to;
}

/* SO_REUSEPORT first: without it the VIP's second worker could not bind.
 * A bind that cannot get it keeps its own port: the worker still serves,
 * from the wrong port, and the agent says so when it finds the socket.
 */
static __always_inline bool bind_share(struct bpf_sock_addr *ctx)
{
	int one = 1;

	return bpf_setsockopt(ctx, BIND_SOL_SOCKET, BIND_SO_REUSEPORT, &one, sizeof(one)) == 0;
}

static __always_inline int bind_move4(struct bpf_sock_addr *ctx)
{
	const struct bnc_bind_value *to = bind_target(ctx, BNC_FAMILY_IPV4);

	if (!to || !bind_share(ctx))
		return BIND_ALLOW;
	ctx->user_ip4 = to->addr[0];
	ctx->user_port = to->port;
	return BIND_ALLOW_NO_CAP;
}

static __always_inline int bind_move6(struct bpf_sock_addr *ctx)
{
	const struct bnc_bind_value *to = bind_target(ctx, BNC_FAMILY_IPV6);

	if (!to || !bind_share(ctx))
		return BIND_ALLOW;
#pragma unroll
	for (int i = 0; i < 4; i++)
		ctx->user_ip6[i] = to->addr[i]; /* 4-byte stores: the only width allowed */
	ctx->user_port = to->port;
	return BIND_ALLOW_NO_CAP;
}

#endif /* BOUNCER_BPF_BIND_H */
