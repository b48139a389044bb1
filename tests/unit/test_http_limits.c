// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The HTTP listener's connection cap (http_limits.c): an evhttp on a
 * loopback port of its own with a cap of 2, clients that connect and
 * hold; the loop runs on the test's thread, pumped until a condition
 * holds or a time-out.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <event2/event.h>
#include <event2/http.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "bouncerd/http_limits.h"
#include "common/util.h"

/* Only a guard against a hang: no test waits this long when it passes. */
#define TIMEOUT_MS 5000
#define CAP 2
#define NCLIENTS 3

struct fixture {
	struct event_base *base;
	struct evhttp *http;
	struct http_limits *limits;
	uint16_t port;
	int clients[NCLIENTS];
};

static int start(struct fixture *fx, const char *addr)
{
	struct evhttp_bound_socket *bound;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	memset(fx, 0, sizeof(*fx));
	for (int i = 0; i < NCLIENTS; i++)
		fx->clients[i] = -1;
	fx->base = event_base_new();
	fx->http = fx->base ? evhttp_new(fx->base) : NULL;
	/* Port 0: one the kernel picks, free. */
	bound = fx->http ? evhttp_bind_socket_with_handle(fx->http, addr, 0) : NULL;
	if (!bound || getsockname(evhttp_bound_socket_get_fd(bound), (struct sockaddr *)&ss, &len))
		return -1;
	fx->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return http_limits_apply(fx->http, bound, fx->base, CAP, &fx->limits);
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	for (int i = 0; i < NCLIENTS; i++)
		if (fx->clients[i] >= 0)
			close(fx->clients[i]);
	if (fx->http)
		evhttp_free(fx->http);
	http_limits_free(fx->limits);
	if (fx->base)
		event_base_free(fx->base);
	return 0;
}

/* A client on 127.0.0.1: connect() returns once the kernel has queued the
 * connection, accepted or not.
 */
static int client(const struct fixture *fx)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(fx->port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sin, sizeof(sin))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Runs the loop until cond(fx) or ms have passed; cond's last value. */
static bool pump(struct fixture *fx, bool (*cond)(struct fixture *fx), int64_t ms)
{
	int64_t deadline = now_ms() + ms;

	for (;;) {
		if (cond(fx))
			return true;
		if (now_ms() >= deadline)
			return false;
		event_base_loop(fx->base, EVLOOP_NONBLOCK);
		usleep(1000);
	}
}

static bool at_cap(struct fixture *fx)
{
	return http_limits_count(fx->limits) == CAP;
}

static bool over_cap(struct fixture *fx)
{
	return http_limits_count(fx->limits) > CAP;
}

/* The last client got an answer (evhttp's 404: no route is set). */
static bool last_answered(struct fixture *fx)
{
	char buf[16];

	return recv(fx->clients[NCLIENTS - 1], buf, sizeof(buf), MSG_DONTWAIT | MSG_PEEK) > 0;
}

static void check_cap(struct fixture *fx)
{
	static const char req[] = "GET / HTTP/1.0\r\n\r\n";

	for (int i = 0; i < NCLIENTS; i++) {
		fx->clients[i] = client(fx);
		assert_true(fx->clients[i] >= 0);
	}
	/* The last one asks at once: it is answered only once accepted. */
	assert_int_equal(send(fx->clients[NCLIENTS - 1], req, sizeof(req) - 1, 0),
			 (ssize_t)sizeof(req) - 1);
	assert_true(pump(fx, at_cap, TIMEOUT_MS));
	/* Held at the cap for three of its re-checks (200 ms each): never
	 * over it, and the last client waits in the backlog.
	 */
	assert_false(pump(fx, over_cap, 600));
	assert_false(last_answered(fx));
	/* One goes: evhttp reads its end, the count drops, the listener
	 * takes the waiting one and answers it.
	 */
	close(fx->clients[0]);
	fx->clients[0] = -1;
	assert_true(pump(fx, last_answered, TIMEOUT_MS));
}

static void test_cap_on_address(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(start(fx, "127.0.0.1"), 0);
	check_cap(fx);
}

/* A listener on every address: an accepted socket has the address the
 * client reached, not 0.0.0.0, and is counted by its port.
 */
static void test_cap_on_wildcard(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(start(fx, "0.0.0.0"), 0);
	check_cap(fx);
}

int main(void)
{
	static struct fixture fx;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_prestate_setup_teardown(test_cap_on_address, NULL, teardown, &fx),
		cmocka_unit_test_prestate_setup_teardown(test_cap_on_wildcard, NULL, teardown, &fx),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
