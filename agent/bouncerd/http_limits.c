// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Bounds on the agent's HTTP listener (http_limits.h). */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "common/log.h"
#include "http_limits.h"

/* At the cap, how often the count is taken again. */
#define HTTP_RECHECK_US 200000L

struct http_limits {
	struct evconnlistener *listener;
	int listen_fd;
	struct sockaddr_storage addr; /* where it listens */
	socklen_t addrlen;
	size_t max_conns;
	struct event *recheck;
	bool paused;
};

/* The port of an IPv4 or IPv6 address, and whether it is the wildcard. */
static in_port_t port_of(const struct sockaddr_storage *ss, bool *any)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)ss;

		*any = in->sin_addr.s_addr == htonl(INADDR_ANY);
		return in->sin_port;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;

		*any = IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr);
		return in6->sin6_port;
	}
	*any = false;
	return 0;
}

/* A connection accepted on the listener: the same local address and port,
 * or the same port when it listens on every address (an accepted socket
 * has the address the client reached; a "::" listener's IPv4 clients are
 * IPv4-mapped IPv6).
 */
static bool same_local(const struct http_limits *l, int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int listening = 0;
	socklen_t optlen = sizeof(listening);
	bool any, unused;

	if (fd == l->listen_fd || getsockname(fd, (struct sockaddr *)&ss, &len))
		return false;
	if (port_of(&ss, &unused) != port_of(&l->addr, &any) || !port_of(&ss, &unused))
		return false;
	if (!any && (len != l->addrlen || memcmp(&ss, &l->addr, len)))
		return false;
	/* Another listener on the port (SO_REUSEPORT) is none of ours. */
	return !getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &optlen) && !listening;
}

int http_limits_count(const struct http_limits *l)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!dir)
		return -errno;
	while ((e = readdir(dir))) {
		char *end;
		long fd = strtol(e->d_name, &end, 10);

		if (*end || end == e->d_name || fd == dirfd(dir))
			continue;
		n += same_local(l, (int)fd);
	}
	closedir(dir);
	return n;
}

/* Accepting again once below the cap. */
static void check(struct http_limits *l)
{
	int n = http_limits_count(l);

	/* Cannot count: keep serving, as before there was a cap. */
	if (n < 0 || (size_t)n < l->max_conns) {
		if (l->paused) {
			evconnlistener_enable(l->listener);
			l->paused = false;
			log_debug("http: %d connections, accepting again", n);
		}
		return;
	}
	if (!l->paused) {
		evconnlistener_disable(l->listener);
		l->paused = true;
		log_info("http: %d connections, the most allowed: not accepting for now", n);
	}
	evtimer_add(l->recheck, &(struct timeval){ .tv_usec = HTTP_RECHECK_US });
}

static void on_recheck(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	check(arg);
}

/* Called by evhttp for each connection it accepts, the socket already
 * open; NULL lets evhttp make the bufferevent as it does without us.
 */
static struct bufferevent *on_accept(struct event_base *base, void *arg)
{
	(void)base;
	check(arg);
	return NULL;
}

int http_limits_apply(struct evhttp *http, struct evhttp_bound_socket *bound,
		      struct event_base *base, size_t max_conns, struct http_limits **out)
{
	struct http_limits *l = calloc(1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	l->listener = evhttp_bound_socket_get_listener(bound);
	l->listen_fd = evhttp_bound_socket_get_fd(bound);
	l->addrlen = sizeof(l->addr);
	l->max_conns = max_conns;
	l->recheck = evtimer_new(base, on_recheck, l);
	if (!l->recheck || getsockname(l->listen_fd, (struct sockaddr *)&l->addr, &l->addrlen)) {
		int ret = l->recheck ? -errno : -ENOMEM;

		http_limits_free(l);
		return ret;
	}
	evhttp_set_max_headers_size(http, HTTP_MAX_HEADERS);
	evhttp_set_max_body_size(http, HTTP_MAX_BODY);
	evhttp_set_timeout(http, HTTP_TIMEOUT_S);
	evhttp_set_bevcb(http, on_accept, l);
	*out = l;
	return 0;
}

void http_limits_free(struct http_limits *l)
{
	if (!l)
		return;
	if (l->recheck)
		event_free(l->recheck);
	free(l);
}
