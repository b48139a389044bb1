// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Health checks: the rise/fall state machine, and each probe type against
 * servers this test runs on loopback inside the checks' own event loop.
 * Every wait is bounded by a deadline timer; intervals are 50-100 ms.
 */
#define _GNU_SOURCE /* accept4 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <event2/event.h>

#include "common/addr.h"
#include "evloop.h"
#include "bouncerd/health.h"

/* ---- helpers: time, loop, change recorder ---- */

/* What the change callback saw, and the stats at that moment. */
struct rec {
	int changes;
	bool up;
	char reason[96];
	struct health_check_stats st;
	int64_t at_ms; /* time of the last change */
	bool stop_self; /* health_check_stop() from inside the callback */
};

static void on_change(struct health_check *hc, bool up, const char *reason, void *arg)
{
	struct rec *r = arg;

	r->changes++;
	r->up = up;
	snprintf(r->reason, sizeof(r->reason), "%s", reason);
	health_check_get_stats(hc, &r->st);
	r->at_ms = now_ms();
	if (r->stop_self)
		health_check_stop(hc);
}

struct wait {
	struct health_check *hc;
	struct rec *rec;
	int changes; /* at least this many changes */
	uint64_t checks; /* and at least this many completed probes */
};

static bool wait_pred(void *arg)
{
	struct wait *w = arg;
	struct health_check_stats st;

	if (w->rec && w->rec->changes < w->changes)
		return false;
	if (!w->hc)
		return true;
	health_check_get_stats(w->hc, &st);
	return st.checks >= w->checks;
}

static bool wait_changes(struct event_base *base, struct rec *r, int changes, unsigned int ms)
{
	struct wait w = { .rec = r, .changes = changes };

	return run_until(base, wait_pred, &w, ms);
}

static bool wait_checks(struct event_base *base, struct health_check *hc, uint64_t checks,
			unsigned int ms)
{
	struct wait w = { .hc = hc, .checks = checks };

	return run_until(base, wait_pred, &w, ms);
}

static struct health_target target(const char *addr, __u16 port)
{
	struct health_target t = { .port = port };

	assert_int_equal(addr_parse(addr, t.addr, &t.family), 0);
	return t;
}

/* Short interval, no jitter, rise and fall of 1: one probe decides. */
static struct cfg_check quick_check(enum cfg_check_type type)
{
	struct cfg_check c = {
		.type = type,
		.interval_ms = 50,
		.timeout_ms = 40,
		.rise = 1,
		.fall = 1,
	};

	return c;
}

static struct event_base *new_base(void)
{
	struct event_base *base = event_base_new();

	assert_non_null(base);
	return base;
}

/* ---- helpers: servers ---- */

static int sock_bind(int family, int type, __u16 port)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len;
	int one = 1;
	int fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		sin6->sin6_addr = in6addr_loopback;
		len = sizeof(*sin6);
	}
	assert_int_equal(bind(fd, (struct sockaddr *)&ss, len), 0);
	if (type == SOCK_STREAM)
		assert_int_equal(listen(fd, 16), 0);
	return fd;
}

static __u16 sock_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

/* A port nothing listens on: bound, read, closed. */
static __u16 closed_port(int family, int type)
{
	int fd = sock_bind(family, type, 0);
	__u16 port = sock_port(fd);

	close(fd);
	return port;
}

/* TCP: accepts and closes. */
struct tcp_srv {
	int fd;
	struct event *ev;
	int accepted;
};

static void tcp_accept_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tcp_srv *s = arg;
	int c;

	(void)what;
	while ((c = accept4(fd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
		s->accepted++;
		close(c);
	}
}

static __u16 tcp_srv_start(struct tcp_srv *s, struct event_base *base, int family, __u16 port)
{
	s->fd = sock_bind(family, SOCK_STREAM, port);
	s->ev = event_new(base, s->fd, EV_READ | EV_PERSIST, tcp_accept_cb, s);
	assert_non_null(s->ev);
	assert_int_equal(event_add(s->ev, NULL), 0);
	return sock_port(s->fd);
}

static void tcp_srv_stop(struct tcp_srv *s)
{
	event_free(s->ev);
	close(s->fd);
	s->ev = NULL;
	s->fd = -1;
}

/* HTTP: reads a request up to its blank line, keeps it, answers with
 * status and body (or not at all when silent), then closes (or not, when
 * keep_open: a server that ignores "Connection: close").
 */
#define HTTP_CONNS 8

struct http_conn {
	struct http_srv *srv;
	int fd;
	struct event *ev;
	char req[512];
	size_t len;
};

struct http_srv {
	int fd;
	struct event *ev;
	struct event_base *base;
	int status;
	const char *body;
	bool silent, keep_open;
	char last_req[512];
	int requests;
	int open; /* connections open now */
	struct http_conn *conns[HTTP_CONNS];
};

static void http_conn_close(struct http_conn *c)
{
	struct http_srv *s = c->srv;

	for (int i = 0; i < HTTP_CONNS; i++)
		if (s->conns[i] == c)
			s->conns[i] = NULL;
	s->open--;
	event_free(c->ev);
	close(c->fd);
	free(c);
}

static void http_conn_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_conn *c = arg;
	struct http_srv *s = c->srv;
	char resp[1024];
	ssize_t n;
	int len;

	(void)what;
	n = recv(fd, c->req + c->len, sizeof(c->req) - 1 - c->len, 0);
	if (n < 0 && errno == EAGAIN)
		return;
	if (n <= 0) {
		http_conn_close(c);
		return;
	}
	c->len += (size_t)n;
	c->req[c->len] = '\0';
	if (!strstr(c->req, "\r\n\r\n"))
		return;
	if (s->silent)
		return;
	snprintf(s->last_req, sizeof(s->last_req), "%s", c->req);
	s->requests++;
	len = snprintf(resp, sizeof(resp),
		       "HTTP/1.0 %d Whatever\r\nContent-Type: text/plain\r\n"
		       "Content-Length: %zu\r\n\r\n%s",
		       s->status, strlen(s->body), s->body);
	assert_int_equal(send(fd, resp, (size_t)len, MSG_NOSIGNAL), len);
	c->len = 0;
	if (!s->keep_open)
		http_conn_close(c);
}

static void http_accept_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_srv *s = arg;
	int cfd;

	(void)what;
	while ((cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0) {
		struct http_conn *c = calloc(1, sizeof(*c));
		int i;

		assert_non_null(c);
		for (i = 0; i < HTTP_CONNS && s->conns[i]; i++)
			;
		if (i == HTTP_CONNS) {
			free(c);
			close(cfd);
			fail_msg("more than %d connections at once", HTTP_CONNS);
			return;
		}
		c->srv = s;
		c->fd = cfd;
		c->ev = event_new(s->base, cfd, EV_READ | EV_PERSIST, http_conn_cb, c);
		assert_non_null(c->ev);
		assert_int_equal(event_add(c->ev, NULL), 0);
		s->conns[i] = c;
		s->open++;
	}
}

static __u16 http_srv_start(struct http_srv *s, struct event_base *base, int family)
{
	memset(s, 0, sizeof(*s));
	s->base = base;
	s->status = 200;
	s->body = "ok\n";
	s->fd = sock_bind(family, SOCK_STREAM, 0);
	s->ev = event_new(base, s->fd, EV_READ | EV_PERSIST, http_accept_cb, s);
	assert_non_null(s->ev);
	assert_int_equal(event_add(s->ev, NULL), 0);
	return sock_port(s->fd);
}

static void http_srv_stop(struct http_srv *s)
{
	for (int i = 0; i < HTTP_CONNS; i++)
		if (s->conns[i])
			http_conn_close(s->conns[i]);
	event_free(s->ev);
	close(s->fd);
}

/* UDP: counts datagrams, keeps the last, answers with reply unless NULL. */
struct udp_srv {
	int fd;
	struct event *ev;
	const char *reply;
	int received;
	char last[64];
};

static void udp_cb(evutil_socket_t fd, short what, void *arg)
{
	struct udp_srv *s = arg;
	struct sockaddr_storage from;
	socklen_t len = sizeof(from);
	ssize_t n;

	(void)what;
	n = recvfrom(fd, s->last, sizeof(s->last) - 1, 0, (struct sockaddr *)&from, &len);
	if (n < 0)
		return;
	s->last[n] = '\0';
	s->received++;
	if (s->reply)
		sendto(fd, s->reply, strlen(s->reply), 0, (struct sockaddr *)&from, len);
}

static __u16 udp_srv_start(struct udp_srv *s, struct event_base *base, int family,
			   const char *reply)
{
	memset(s, 0, sizeof(*s));
	s->reply = reply;
	s->fd = sock_bind(family, SOCK_DGRAM, 0);
	s->ev = event_new(base, s->fd, EV_READ | EV_PERSIST, udp_cb, s);
	assert_non_null(s->ev);
	assert_int_equal(event_add(s->ev, NULL), 0);
	return sock_port(s->fd);
}

static void udp_srv_stop(struct udp_srv *s)
{
	event_free(s->ev);
	close(s->fd);
}

/* No child of ours is left, running or zombie. */
static void assert_no_children(void)
{
	int status;

	assert_int_equal(waitpid(-1, &status, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

/* ---- 1. state machine ---- */

static void test_sm_table(void **state)
{
	/* Input: + success, - failure. Expected: U/D after each step. */
	static const struct {
		unsigned int rise, fall;
		const char *in, *want;
	} cases[] = {
		{ 1, 1, "+-+-", "UDUD" },
		{ 1, 1, "---+", "DDDU" }, /* failures while down change nothing */
		{ 2, 3, "++-+++---", "UUUUUUUUD" }, /* the first success brings it up */
		{ 2, 2, "--+", "DDU" }, /* also after failures: it has never been up */
		{ 3, 2, "+--++-+++", "UUDDDDDDU" }, /* a failure resets the success run */
		{ 2, 2, "+--+-+-", "UUDDDDD" }, /* flapping after going down never comes up */
		{ 2, 2, "++-+-+--", "UUUUUUUD" }, /* a success resets the failure run */
		{ 2, 2, "++--++", "UUUDDU" },
		{ 0, 0, "+-", "UD" }, /* 0 reads as 1 */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct health_sm sm;
		bool prev = false;

		health_sm_init(&sm, cases[i].rise, cases[i].fall);
		assert_false(sm.up);
		assert_int_equal(strlen(cases[i].in), strlen(cases[i].want));
		for (size_t j = 0; cases[i].in[j]; j++) {
			bool changed = health_sm_feed(&sm, cases[i].in[j] == '+');

			if (sm.up != (cases[i].want[j] == 'U') || changed != (sm.up != prev))
				fail_msg("case %zu (rise %u fall %u \"%s\") step %zu: up %d "
					 "changed %d",
					 i, cases[i].rise, cases[i].fall, cases[i].in, j, sm.up,
					 changed);
			prev = sm.up;
		}
	}
}

/* ---- argument checks and the none type ---- */

static void test_start_rejects(void **state)
{
	struct event_base *base = new_base();
	struct health_target t = target("127.0.0.1", 80), bad_family = t;
	struct cfg_check tcp = quick_check(CFG_CHECK_TCP), c;
	struct health_target no_port = target("127.0.0.1", 0);
	char *bad_path = "/x\r\nEvil: 1";

	(void)state;
	bad_family.family = 0;
	assert_null(health_check_start(base, &bad_family, &tcp, on_change, NULL));
	assert_int_equal(errno, EINVAL);
	assert_null(health_check_start(base, &no_port, &tcp, on_change, NULL));
	assert_int_equal(errno, EINVAL);
	c = tcp;
	c.interval_ms = 0;
	assert_null(health_check_start(base, &t, &c, on_change, NULL));
	assert_int_equal(errno, EINVAL);
	c = quick_check(CFG_CHECK_EXEC);
	assert_null(health_check_start(base, &t, &c, on_change, NULL));
	assert_int_equal(errno, EINVAL);
	c = quick_check(CFG_CHECK_HTTP);
	c.http_path = bad_path;
	assert_null(health_check_start(base, &t, &c, on_change, NULL));
	assert_int_equal(errno, EINVAL);
	c = tcp;
	c.type = (enum cfg_check_type)42;
	assert_null(health_check_start(base, &t, &c, on_change, NULL));
	assert_int_equal(errno, EINVAL);
	/* Nothing was left behind in the loop. */
	assert_int_equal(event_base_get_num_events(base, EVENT_BASE_COUNT_ADDED), 0);
	event_base_free(base);
}

static void test_none_up_once(void **state)
{
	struct event_base *base = new_base();
	struct health_target t = target("127.0.0.1", 0);
	struct cfg_check c = { .type = CFG_CHECK_NONE, .interval_ms = 50, .rise = 3 };
	struct rec r = { 0 };
	struct health_check *hc;

	(void)state;
	hc = health_check_start(base, &t, &c, on_change, &r);
	assert_non_null(hc);
	/* Never from inside start: the caller may not be ready for it. */
	assert_int_equal(r.changes, 0);
	assert_true(wait_changes(base, &r, 1, 500));
	assert_true(r.up);
	assert_string_equal(r.reason, "no check");
	run_for(base, 200);
	assert_int_equal(r.changes, 1);
	health_check_stop(hc);
	event_base_free(base);
}

/* ---- 2. tcp ---- */

static void test_tcp_up_down_up(void **state)
{
	struct event_base *base = new_base();
	struct cfg_check c = quick_check(CFG_CHECK_TCP);
	struct tcp_srv srv;
	struct rec r = { 0 };
	struct health_check *hc;
	struct health_target t;
	__u16 port;

	(void)state;
	port = tcp_srv_start(&srv, base, AF_INET, 0);
	t = target("127.0.0.1", port);
	c.rise = 2;
	c.fall = 3;
	hc = health_check_start(base, &t, &c, on_change, &r);
	assert_non_null(hc);

	/* Up at the first success: it has never been up before. */
	assert_true(wait_changes(base, &r, 1, 1000));
	assert_true(r.up);
	assert_string_equal(r.reason, "1 success");
	assert_int_equal(r.st.checks, 1);
	assert_int_equal(r.st.failures, 0);
	assert_int_equal(r.st.transitions, 1);
	assert_true(r.st.up);
	assert_string_equal(r.st.last_error, "");
	assert_true(srv.accepted >= 1);

	/* Down exactly at the fall-th failure once the listener is gone. */
	tcp_srv_stop(&srv);
	assert_true(wait_changes(base, &r, 2, 1000));
	assert_false(r.up);
	assert_string_equal(r.reason, "connect: Connection refused");
	assert_int_equal(r.st.failures, 3);
	assert_int_equal(r.st.transitions, 2);
	assert_false(r.st.up);
	assert_string_equal(r.st.last_error, "connect: Connection refused");

	/* Back on the same port: up again after rise successes. */
	tcp_srv_start(&srv, base, AF_INET, port);
	assert_true(wait_changes(base, &r, 3, 1000));
	assert_true(r.up);
	assert_string_equal(r.reason, "2 successes");
	assert_int_equal(r.st.failures, 3);
	assert_int_equal(r.st.transitions, 3);
	assert_string_equal(r.st.last_error, "");

	health_check_stop(hc);
	tcp_srv_stop(&srv);
	event_base_free(base);
}

static void test_tcp_ipv6(void **state)
{
	struct event_base *base = new_base();
	struct cfg_check c = quick_check(CFG_CHECK_TCP);
	struct health_target t, refused;
	struct health_check *hc, *hc2;
	struct health_check_stats st;
	struct tcp_srv srv;
	struct rec r = { 0 };

	(void)state;
	t = target("::1", tcp_srv_start(&srv, base, AF_INET6, 0));
	refused = target("::1", closed_port(AF_INET6, SOCK_STREAM));
	hc = health_check_start(base, &t, &c, on_change, &r);
	hc2 = health_check_start(base, &refused, &c, NULL, NULL);
	assert_non_null(hc);
	assert_non_null(hc2);
	assert_true(wait_changes(base, &r, 1, 1000));
	assert_true(r.up);
	assert_true(wait_checks(base, hc2, 1, 1000));
	health_check_get_stats(hc2, &st);
	assert_false(st.up);
	assert_int_equal(st.failures, st.checks);
	assert_string_equal(st.last_error, "connect: Connection refused");
	health_check_stop(hc);
	health_check_stop(hc2);
	tcp_srv_stop(&srv);
	event_base_free(base);
}

/* ---- 3. http ---- */

static void test_http_cases(void **state)
{
	static const struct {
		int status;
		const char *body, *expect;
		unsigned int min, max; /* 0, 0: the default 200-399 */
		const char *want_error; /* NULL: success */
	} cases[] = {
		{ 200, "ok\n", NULL, 0, 0, NULL },
		{ 301, "", NULL, 0, 0, NULL },
		{ 503, "ok\n", NULL, 0, 0, "http status 503" },
		{ 404, "", NULL, 0, 0, "http status 404" },
		{ 204, "", NULL, 200, 204, NULL },
		{ 301, "", NULL, 200, 299, "http status 301" },
		{ 200, "all ok", "ok", 0, 0, NULL },
		{ 200, "starting", "ok", 0, 0, "body lacks 'ok'" },
		/* The status is judged before the body. */
		{ 503, "ok", "ok", 0, 0, "http status 503" },
	};
	struct event_base *base = new_base();
	struct http_srv srv;
	struct health_target t;

	(void)state;
	t = target("127.0.0.1", http_srv_start(&srv, base, AF_INET));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cfg_check c = quick_check(CFG_CHECK_HTTP);
		struct health_check_stats st;
		struct health_check *hc;

		c.timeout_ms = 500;
		c.interval_ms = 1000;
		c.http_expect = (char *)cases[i].expect;
		c.http_status_min = cases[i].min;
		c.http_status_max = cases[i].max;
		srv.status = cases[i].status;
		srv.body = cases[i].body;
		hc = health_check_start(base, &t, &c, NULL, NULL);
		assert_non_null(hc);
		assert_true(wait_checks(base, hc, 1, 1000));
		health_check_get_stats(hc, &st);
		if (st.up != !cases[i].want_error ||
		    strcmp(st.last_error, cases[i].want_error ? cases[i].want_error : ""))
			fail_msg("case %zu (status %d body \"%s\"): up %d error \"%s\"", i,
				 cases[i].status, cases[i].body, st.up, st.last_error);
		health_check_stop(hc);
	}
	http_srv_stop(&srv);
	event_base_free(base);
}

static void test_http_request(void **state)
{
	struct event_base *base = new_base();
	struct cfg_check c = quick_check(CFG_CHECK_HTTP);
	struct http_srv srv, srv6;
	struct health_check *hc;
	struct health_target t;
	char want[256];
	__u16 port;

	(void)state;
	c.timeout_ms = 500;
	c.interval_ms = 1000;
	/* Default path and Host: the address and port. */
	port = http_srv_start(&srv6, base, AF_INET6);
	t = target("::1", port);
	hc = health_check_start(base, &t, &c, NULL, NULL);
	assert_non_null(hc);
	assert_true(wait_checks(base, hc, 1, 1000));
	snprintf(want, sizeof(want),
		 "GET / HTTP/1.0\r\nHost: [::1]:%u\r\nUser-Agent: bouncer\r\n"
		 "Connection: close\r\n\r\n",
		 port);
	assert_string_equal(srv6.last_req, want);
	health_check_stop(hc);

	/* Configured path and host. */
	t = target("127.0.0.1", http_srv_start(&srv, base, AF_INET));
	c.http_path = "/healthz?full=1";
	c.http_host = "api.example.test";
	hc = health_check_start(base, &t, &c, NULL, NULL);
	assert_non_null(hc);
	assert_true(wait_checks(base, hc, 1, 1000));
	assert_string_equal(srv.last_req, "GET /healthz?full=1 HTTP/1.0\r\n"
					  "Host: api.example.test\r\nUser-Agent: bouncer\r\n"
					  "Connection: close\r\n\r\n");
	health_check_stop(hc);
	http_srv_stop(&srv);
	http_srv_stop(&srv6);
	event_base_free(base);
}

static void test_http_down_on_503(void **state)
{
	struct event_base *base = new_base();
	struct cfg_check c = quick_check(CFG_CHECK_HTTP);
	struct health_check *hc;
	struct health_target t;
	struct http_srv srv;
	struct rec r = { 0 };

	(void)state;
	t = target("127.0.0.1", http_srv_start(&srv, base, AF_INET));
	c.fall = 2;
	c.http_expect = "ok";
	hc = health_check_start(base, &t, &c, on_change, &r);
	assert_non_null(hc);
	assert_true(wait_changes(base, &r, 1, 1000));
	assert_true(r.up);
	assert_string_equal(r.reason, "1 success");

	srv.status = 503;
	assert_true(wait_changes(base, &r, 2, 1000));
	assert_false(r.up);
	assert_string_equal(r.reason, "http status 503");
	assert_int_equal(r.st.failures, 2);

	srv.status = 200;
	assert_true(wait_changes(base, &r, 3, 1000));
	assert_true(r.up);

	srv.body = "maintenance";
	assert_true(wait_changes(base, &r, 4, 1000));
	assert_false(r.up);
	assert_string_equal(r.reason, "body lacks 'ok'");
	health_check_stop(hc);
	http_srv_stop(&srv);
	event_base_free(base);
}

static void test_http_timeout(void **state)
{
	struct event_base *base = new_base();
	struct cfg_check c = quick_check(CFG_CHECK_HTTP);
	struct health_check_stats st;
	struct health_check *hc;
	struct health_target t;
	struct http_srv srv;
	int64_t t0, dt;

	(void)state;
	t = target("127.0.0.1", http_srv_start(&srv, base, AF_INET));
	srv.silent = true;
	c.timeout_ms = 150;
	c.interval_ms = 1000;
	t0 = now_ms();
	hc = health_check_start(base, &t, &c, NULL, NULL);
	assert_non_null(hc);
	assert_true(wait_checks(base, hc, 1, 1000));
	dt = now_ms() - t0;
	health_check_get_stats(hc, &st);
	assert_false(st.up);
	assert_int_equal(st.failures, 1);
	assert_string_equal(st.last_error, "timeout after 150 ms");
	assert_true(dt >= 145);
	assert_true(dt < 600);
	/* The probe's connection was closed at the timeout. */
	run_for(base, 50);
	assert_int_equal(srv.open, 0);
	health_check_stop(hc);
	http_srv_stop(&srv);
	event_base_free(base);
}

/* A server that ignores "Connection: close" is judged by its Content-Length,
 * not left to the timeout.
 */
static void test_http_keep_open(void **state)
{
	struct event_base *base = new_base();
	struct cfg_check c = quick_check(CFG_CHECK_HTTP);
	struct health_check_stats st;
	struct health_check *hc;
	struct health_target t;
	struct http_srv srv;
	int64_t t0;

	(void)state;
	t = target("127.0.0.1", http_srv_start(&srv, base, AF_INET));
	srv.keep_open = true;
	srv.body = "not yet";
	c.timeout_ms = 800;
	c.interval_ms = 1000;
	c.http_expect = "ready";
	t0 = now_ms();
	hc = health_check_start(base, &t, &c, NULL, NULL);
	assert_non_null(hc);
	assert_true(wait_checks(base, hc, 1, 1000));
	assert_true(now_ms() - t0 < 400);
	health_check_get_stats(hc, &st);
	assert_string_equal(st.last_error, "body lacks 'ready'");
	health_check_stop(hc);

	srv.body = "ready";
	t0 = now_ms();
	hc = health_check_start(base, &t, &c, NULL, NULL);
	assert_non_null(hc);
	assert_true(wait_checks(base, hc, 1, 1000));
	assert_true(now_ms() - t0 < 400);
	health_check_get_stats(hc, &st);
	assert_true(st.up);
	health_check_stop(hc);
	http_srv_stop(&srv);
	event_base_free(base);
}

/* ---- 4. udp ---- */

static void test_udp_reply(void **state)
{
	struct event_base *base = new_base();
	struct cfg_check c = quick_check(CFG_CHECK_UDP);
	struct udp_srv srv, srv6;
	struct health_check_stats st;
	struct health_check *hc, *hc6;
	struct health_target t;
	struct rec r = { 0 }, r6 = { 0 };

	(void)state;
	c.udp_send = "ping";
	c.udp_expect = "ok";
	t = target("127.0.0.1", udp_srv_start(&srv, base, AF_INET, "pong ok"));
	hc = health_check_start(base, &t, &c, on_change, &r);
	assert_non_null(hc);
	t = target("::1", udp_srv_start(&srv6, base, AF_INET6, "ok"));
	hc6 = health_check_start(base, &t, &c, on_change, &r6);
	assert_non_null(hc6);
	assert_true(wait_changes(base, &r, 1, 1000));
	assert_true(wait_changes(base, &r6, 1, 1000));
	assert_true(r.up);
	assert_true(r6.up);
	assert_string_equal(srv.last, "ping");

	/* A reply without the expected text fails. */
	srv.reply = "pong";
	assert_true(wait_changes(base, &r, 2, 1000));
	assert_false(r.up);
	assert_string_equal(r.reason, "reply lacks 'ok'");
	health_check_stop(hc);
	health_check_stop(hc6);

	/* No expect: any reply, even an empty one. */
	c.udp_expect = NULL;
	srv.reply = "";
	t = target("127.0.0.1", sock_port(srv.fd));
	hc = health_check_start(base, &t, &c, NULL, NULL);
	assert_non_null(hc);
	assert_true(wait_checks(base, hc, 1, 1000));
	health_check_get_stats(hc, &st);
	assert_true(st.up);
	health_check_stop(hc);
	udp_srv_stop(&srv);
	udp_srv_stop(&srv6);
	event_base_free(base);
}

static void test_udp_unreachable(void **state)
{
	struct event_base *base = new_base();
	struct cfg_check c = quick_check(CFG_CHECK_UDP);
	struct health_check_stats st;
	struct health_check *hc;
	struct health_target t;
	int64_t t0;

	(void)state;
	c.udp_send = "ping";
	c.timeout_ms = 2000;
	c.interval_ms = 3000;
	t = target("127.0.0.1", closed_port(AF_INET, SOCK_DGRAM));
	t0 = now_ms();
	hc = health_check_start(base, &t, &c, NULL, NULL);
	assert_non_null(hc);
	assert_true(wait_checks(base, hc, 1, 1000));
	/* The ICMP error, not the 2 s timeout. */
	assert_true(now_ms() - t0 < 500);
	health_check_get_stats(hc, &st);
	assert_false(st.up);
	assert_int_equal(st.failures, 1);
	assert_string_equal(st.last_error, "recv: Connection refused");
	health_check_stop(hc);
	event_base_free(base);
}

static void test_udp_silence(void **state)
{
	struct event_base *base = new_base();
	struct cfg_check c = quick_check(CFG_CHECK_UDP);
	struct health_check_stats st;
	struct health_check *hc;
	struct health_target t;
	struct udp_srv srv;
	int64_t t0, dt;

	(void)state;
	c.timeout_ms = 150;
	c.interval_ms = 1000;
	t = target("127.0.0.1", udp_srv_start(&srv, base, AF_INET, NULL));
	t0 = now_ms();
	hc = health_check_start(base, &t, &c, NULL, NULL);
	assert_non_null(hc);
	assert_true(wait_checks(base, hc, 1, 1000));
	dt = now_ms() - t0;
	health_check_get_stats(hc, &st);
	assert_int_equal(srv.received, 1);
	/* No udp_send: an empty datagram. */
	assert_string_equal(srv.last, "");
	assert_false(st.up);
	assert_string_equal(st.last_error, "timeout after 150 ms");
	assert_true(dt >= 145);
	assert_true(dt < 600);
	health_check_stop(hc);
	udp_srv_stop(&srv);
	event_base_free(base);
}

/* ---- 5. exec ---- */

static void test_exec_env(void **state)
{
	char *argv[] = { "/bin/sh", "-c",
			 "test \"$BOUNCER_BACKEND_PORT\" = 1234 && "
			 "test \"$BOUNCER_BACKEND_ADDR\" = 127.0.0.1 && "
			 "test \"$(readlink /proc/self/fd/0)\" = /dev/null && "
			 "test \"$(tr '\\0' '\\n' < /proc/$$/environ | grep -c "
			 "^BOUNCER_BACKEND_PORT=)\" = 1",
			 NULL };
	struct event_base *base = new_base();
	struct cfg_check c = quick_check(CFG_CHECK_EXEC);
	struct health_target t = target("127.0.0.1", 1234);
	struct health_check *hc;
	struct rec r = { 0 };

	(void)state;
	/* Ours replaces one the agent inherited. */
	assert_int_equal(setenv("BOUNCER_BACKEND_PORT", "999", 1), 0);
	c.exec_argv = argv;
	c.timeout_ms = 1000;
	c.interval_ms = 1500;
	hc = health_check_start(base, &t, &c, on_change, &r);
	assert_non_null(hc);
	assert_true(wait_changes(base, &r, 1, 1500));
	assert_int_equal(unsetenv("BOUNCER_BACKEND_PORT"), 0);
	assert_true(r.up);
	assert_string_equal(r.st.last_error, "");
	health_check_stop(hc);
	assert_no_children();
	event_base_free(base);
}

static void test_exec_exit_status(void **state)
{
	char path[] = "/tmp/test_health_XXXXXX";
	char *argv[] = { "/bin/sh", "-c", "test -e \"$0\"", path, NULL };
	char *missing[] = { "/nonexistent/check", NULL };
	struct event_base *base = new_base();
	struct cfg_check c = quick_check(CFG_CHECK_EXEC);
	struct health_target t = target("127.0.0.1", 80);
	struct health_check_stats st;
	struct health_check *hc;
	struct rec r = { 0 };
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	c.exec_argv = argv;
	c.timeout_ms = 1000;
	c.interval_ms = 100;
	hc = health_check_start(base, &t, &c, on_change, &r);
	assert_non_null(hc);
	assert_true(wait_changes(base, &r, 1, 1500));
	assert_true(r.up);
	assert_int_equal(unlink(path), 0);
	assert_true(wait_changes(base, &r, 2, 1500));
	assert_false(r.up);
	assert_string_equal(r.reason, "exit status 1");
	health_check_stop(hc);
	assert_no_children();

	c.exec_argv = missing;
	hc = health_check_start(base, &t, &c, NULL, NULL);
	assert_non_null(hc);
	assert_true(wait_checks(base, hc, 1, 1000));
	health_check_get_stats(hc, &st);
	assert_string_equal(st.last_error, "spawn /nonexistent/check: No such file or directory");
	health_check_stop(hc);
	assert_no_children();
	event_base_free(base);
}

/* State letter of /proc/PID/stat, or 0 when the process is gone. */
static char proc_state(pid_t pid)
{
	char path[64], buf[256], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : '?';
}

static void test_exec_timeout_kills(void **state)
{
	char path[] = "/tmp/test_health_XXXXXX";
	/* The shell forks sleep and waits: the grandchild must die too. */
	char *argv[] = { "/bin/sh", "-c", "sleep 5 & echo $! > \"$0\"; wait", path, NULL };
	struct event_base *base = new_base();
	struct cfg_check c = quick_check(CFG_CHECK_EXEC);
	struct health_target t = target("127.0.0.1", 80);
	struct health_check_stats st;
	struct health_check *hc;
	char pidbuf[32] = "";
	int64_t t0, dt;
	ssize_t n;
	pid_t gc;
	char s;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	c.exec_argv = argv;
	c.timeout_ms = 200;
	c.interval_ms = 2000;
	t0 = now_ms();
	hc = health_check_start(base, &t, &c, NULL, NULL);
	assert_non_null(hc);
	assert_true(wait_checks(base, hc, 1, 1500));
	dt = now_ms() - t0;
	health_check_get_stats(hc, &st);
	assert_string_equal(st.last_error, "timeout after 200 ms");
	assert_true(dt >= 195);
	assert_true(dt < 1000);
	/* Reaped before the failure was reported. */
	assert_no_children();

	n = read(fd, pidbuf, sizeof(pidbuf) - 1);
	close(fd);
	unlink(path);
	assert_true(n > 0);
	gc = (pid_t)atoi(pidbuf);
	assert_true(gc > 0);
	/* Gone, or a zombie of whoever adopted it; not sleeping on. */
	for (int i = 0; i < 100 && (s = proc_state(gc)) != 0 && s != 'Z'; i++)
		run_for(base, 10);
	s = proc_state(gc);
	assert_true(s == 0 || s == 'Z');
	health_check_stop(hc);
	event_base_free(base);
}

/* A probe that outlives the interval makes the ticks in between skip: the
 * lock directory would catch two probes at once.
 */
static void test_exec_one_at_a_time(void **state)
{
	char path[] = "/tmp/test_health_XXXXXX";
	char *argv[] = { "/bin/sh", "-c", "mkdir \"$0\" || exit 3; sleep 0.15; rmdir \"$0\"", path,
			 NULL };
	struct event_base *base = new_base();
	struct cfg_check c = quick_check(CFG_CHECK_EXEC);
	struct health_target t = target("127.0.0.1", 80);
	struct health_check_stats st;
	struct health_check *hc;

	(void)state;
	assert_non_null(mkdtemp(path));
	assert_int_equal(rmdir(path), 0);
	c.exec_argv = argv;
	c.interval_ms = 50;
	c.timeout_ms = 1000;
	hc = health_check_start(base, &t, &c, NULL, NULL);
	assert_non_null(hc);
	assert_true(wait_checks(base, hc, 3, 2000));
	health_check_get_stats(hc, &st);
	assert_int_equal(st.failures, 0);
	assert_true(st.up);
	health_check_stop(hc);
	assert_no_children();
	rmdir(path);
	event_base_free(base);
}

/* ---- 6. jitter ---- */

#define JITTER_CHECKS 8

static void test_jitter(void **state)
{
	struct event_base *base = new_base();
	struct cfg_check c = quick_check(CFG_CHECK_TCP);
	struct health_check *hc[JITTER_CHECKS], *now;
	struct rec r[JITTER_CHECKS] = { 0 }, r0 = { 0 };
	int64_t t0, lo = INT64_MAX, hi = 0;
	struct health_target t;
	struct tcp_srv srv;

	(void)state;
	t = target("127.0.0.1", tcp_srv_start(&srv, base, AF_INET, 0));
	c.interval_ms = 5000;
	c.timeout_ms = 1000;
	c.jitter_ms = 300;
	t0 = now_ms();
	for (int i = 0; i < JITTER_CHECKS; i++) {
		hc[i] = health_check_start(base, &t, &c, on_change, &r[i]);
		assert_non_null(hc[i]);
	}
	c.jitter_ms = 0;
	now = health_check_start(base, &t, &c, on_change, &r0);
	assert_non_null(now);
	for (int i = 0; i < JITTER_CHECKS; i++)
		assert_true(wait_changes(base, &r[i], 1, 1000));
	assert_int_equal(r0.changes, 1);
	/* Without jitter, at once. */
	assert_true(r0.at_ms - t0 < 100);
	for (int i = 0; i < JITTER_CHECKS; i++) {
		int64_t dt = r[i].at_ms - t0;

		/* Within jitter_ms, give or take the loop's latency. */
		assert_true(dt <= 300 + 100);
		lo = dt < lo ? dt : lo;
		hi = dt > hi ? dt : hi;
	}
	/* Spread out: 8 draws from 0..300 ms all within 20 ms of each other
	 * would be a broken random source (chance about 1e-7).
	 */
	assert_true(hi - lo >= 20);
	for (int i = 0; i < JITTER_CHECKS; i++)
		health_check_stop(hc[i]);
	health_check_stop(now);
	tcp_srv_stop(&srv);
	event_base_free(base);
}

/* ---- 7. stop ---- */

struct in_flight {
	struct http_srv *http;
	struct udp_srv *udp;
	const char *marker;
};

static bool in_flight_pred(void *arg)
{
	struct in_flight *f = arg;

	return f->http->open > 0 && f->udp->received > 0 && access(f->marker, F_OK) == 0;
}

static void test_stop_in_flight(void **state)
{
	char path[] = "/tmp/test_health_XXXXXX";
	char *argv[] = { "/bin/sh", "-c", "echo > \"$0\"; sleep 5; true", path, NULL };
	struct event_base *base = new_base();
	struct cfg_check hcheck = quick_check(CFG_CHECK_HTTP);
	struct cfg_check ucheck = quick_check(CFG_CHECK_UDP);
	struct cfg_check echeck = quick_check(CFG_CHECK_EXEC);
	struct health_check *hc[3];
	struct health_target t;
	struct http_srv hsrv;
	struct udp_srv usrv;
	struct in_flight f = { &hsrv, &usrv, path };
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(unlink(path), 0);
	hcheck.timeout_ms = ucheck.timeout_ms = echeck.timeout_ms = 3000;
	hcheck.interval_ms = ucheck.interval_ms = echeck.interval_ms = 4000;
	echeck.exec_argv = argv;

	t = target("127.0.0.1", http_srv_start(&hsrv, base, AF_INET));
	hsrv.silent = true;
	hc[0] = health_check_start(base, &t, &hcheck, NULL, NULL);
	t = target("127.0.0.1", udp_srv_start(&usrv, base, AF_INET, NULL));
	hc[1] = health_check_start(base, &t, &ucheck, NULL, NULL);
	hc[2] = health_check_start(base, &t, &echeck, NULL, NULL);
	for (int i = 0; i < 3; i++)
		assert_non_null(hc[i]);
	assert_true(run_until(base, in_flight_pred, &f, 2000));
	for (int i = 0; i < 3; i++) {
		struct health_check_stats st;

		health_check_get_stats(hc[i], &st);
		assert_int_equal(st.checks, 0);
		health_check_stop(hc[i]);
	}
	/* The child is killed and reaped by stop itself. */
	assert_no_children();
	/* Only the servers' events are left: the listener, its one
	 * connection and the UDP socket.
	 */
	assert_int_equal(event_base_get_num_events(base, EVENT_BASE_COUNT_ADDED), 3);
	/* The http probe's socket is closed: the server sees its end. */
	run_for(base, 50);
	assert_int_equal(hsrv.open, 0);
	unlink(path);
	http_srv_stop(&hsrv);
	udp_srv_stop(&usrv);
	event_base_free(base);
}

static void test_stop_in_callback(void **state)
{
	struct event_base *base = new_base();
	struct cfg_check c = quick_check(CFG_CHECK_TCP);
	struct health_target t;
	struct tcp_srv srv;
	struct rec r = { .stop_self = true };

	(void)state;
	t = target("127.0.0.1", tcp_srv_start(&srv, base, AF_INET, 0));
	assert_non_null(health_check_start(base, &t, &c, on_change, &r));
	assert_true(wait_changes(base, &r, 1, 1000));
	run_for(base, 150);
	/* Stopped: no more probes, no more changes, nothing left behind. */
	assert_int_equal(r.changes, 1);
	assert_int_equal(event_base_get_num_events(base, EVENT_BASE_COUNT_ADDED), 1);
	tcp_srv_stop(&srv);
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sm_table),
		cmocka_unit_test(test_start_rejects),
		cmocka_unit_test(test_none_up_once),
		cmocka_unit_test(test_tcp_up_down_up),
		cmocka_unit_test(test_tcp_ipv6),
		cmocka_unit_test(test_http_cases),
		cmocka_unit_test(test_http_request),
		cmocka_unit_test(test_http_down_on_503),
		cmocka_unit_test(test_http_timeout),
		cmocka_unit_test(test_http_keep_open),
		cmocka_unit_test(test_udp_reply),
		cmocka_unit_test(test_udp_unreachable),
		cmocka_unit_test(test_udp_silence),
		cmocka_unit_test(test_exec_env),
		cmocka_unit_test(test_exec_exit_status),
		cmocka_unit_test(test_exec_timeout_kills),
		cmocka_unit_test(test_exec_one_at_a_time),
		cmocka_unit_test(test_jitter),
		cmocka_unit_test(test_stop_in_flight),
		cmocka_unit_test(test_stop_in_callback),
	};

	/* A server writing to a probe that gave up must not kill the test. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("health", tests, NULL, NULL);
}
