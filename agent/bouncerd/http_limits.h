/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Bounds on what clients of the agent's HTTP listener (metrics and the
 * status page) may hold: the size of a request, the time a connection may
 * stay idle or half-sent, and the number of connections at once. Each
 * connection costs a descriptor, which health checks and ring swaps need
 * more.
 *
 * libevent 2.1 has no connection cap of its own (evhttp_set_max_connections
 * came in 2.2), so: at each accept the connected sockets on the listener's
 * address and port (its port alone when it listens on every address) are
 * counted among the agent's descriptors (/proc/self/fd), and at the cap
 * the listener stops accepting until one has gone, checking every 200 ms;
 * the kernel holds further clients in the listen backlog meanwhile.
 */
#ifndef BOUNCER_HTTP_LIMITS_H
#define BOUNCER_HTTP_LIMITS_H

#include <stddef.h>

#include <event2/http.h>

/* A request's line and headers together, and its body (GET has none). */
#define HTTP_MAX_HEADERS 8192
#define HTTP_MAX_BODY 1024
/* Idle keep-alive, or a request not finished, for this long: closed. */
#define HTTP_TIMEOUT_S 10
#define HTTP_MAX_CONNS 64

struct http_limits;

/* Applies the bounds to http, listening on bound. 0 or -errno. */
int http_limits_apply(struct evhttp *http, struct evhttp_bound_socket *bound,
		      struct event_base *base, size_t max_conns, struct http_limits **out);
/* After evhttp_free(). */
void http_limits_free(struct http_limits *l);
/* Connected sockets on the listener's address now (tests); -errno. */
int http_limits_count(const struct http_limits *l);

#endif /* BOUNCER_HTTP_LIMITS_H */
