// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Counting a process's connections with sock_diag: the parsing on replies
 * built here, then the kernel's own answers about the test's sockets on
 * loopback, IPv4 and IPv6 (no privilege needed).
 */
#define _GNU_SOURCE /* accept4 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>

#include "bouncerd/sockdiag.h"

#define SEQ 7
#define PORTID 1234

/* ---- replies built here ---- */

struct reply {
	char buf[4096];
	size_t len;
};

static void put_msg(struct reply *r, __u16 type, const void *payload, size_t plen)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)(r->buf + r->len);
	size_t len = NLMSG_LENGTH(plen);

	assert_true(r->len + NLMSG_ALIGN(len) <= sizeof(r->buf));
	memset(nlh, 0, NLMSG_ALIGN(len));
	nlh->nlmsg_len = (__u32)len;
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_MULTI;
	nlh->nlmsg_seq = SEQ;
	nlh->nlmsg_pid = PORTID;
	memcpy(NLMSG_DATA(nlh), payload, plen);
	r->len += NLMSG_ALIGN(len);
}

static void put_sock(struct reply *r, __u8 state, __u16 sport, __u32 inode, __u32 rqueue)
{
	struct inet_diag_msg m = { .idiag_family = AF_INET6, .idiag_state = state };

	m.id.idiag_sport = htons(sport);
	m.id.idiag_dport = htons(40000);
	m.idiag_inode = inode;
	m.idiag_rqueue = rqueue;
	put_msg(r, SOCK_DIAG_BY_FAMILY, &m, sizeof(m));
}

static void put_done(struct reply *r)
{
	int zero = 0;

	put_msg(r, NLMSG_DONE, &zero, sizeof(zero));
}

static const unsigned long inodes[] = { 100, 101, 102, 103 };

static const struct sockdiag_filter tcp_filter = {
	.proto = IPPROTO_TCP,
	.ports = { 9000, 80 },
	.inodes = inodes,
	.ninodes = 4,
};

/* What counts: each connection of ours that may still carry a request or
 * an answer, and what waits in our listener's accept queue.
 */
static void test_parse_tcp(void **state)
{
	struct reply r = { .len = 0 };
	unsigned int count = 0;

	(void)state;
	put_sock(&r, TCP_ESTABLISHED, 80, 100, 0); /* a VIP connection: 1 */
	put_sock(&r, TCP_CLOSE_WAIT, 9000, 101, 0); /* the client is done: 1 */
	put_sock(&r, TCP_LISTEN, 9000, 102, 3); /* 3 not accepted yet */
	put_sock(&r, TCP_ESTABLISHED, 80, 999, 0); /* another worker's */
	put_sock(&r, TCP_ESTABLISHED, 443, 100, 0); /* another port */
	put_sock(&r, TCP_FIN_WAIT1, 80, 103, 0); /* our FIN is sent */
	put_sock(&r, TCP_ESTABLISHED, 80, 0, 0); /* no inode: orphaned */
	assert_int_equal(sockdiag_parse(r.buf, r.len, SEQ, PORTID, &tcp_filter, &count), 0);
	assert_int_equal(count, 5);
	/* The dump ends with its own message, possibly in a later read. */
	r.len = 0;
	put_done(&r);
	assert_int_equal(sockdiag_parse(r.buf, r.len, SEQ, PORTID, &tcp_filter, &count), 1);
	assert_int_equal(count, 5);
}

static void test_parse_udp(void **state)
{
	struct sockdiag_filter f = tcp_filter;
	struct reply r = { .len = 0 };
	unsigned int count = 0;

	(void)state;
	f.proto = IPPROTO_UDP;
	put_sock(&r, TCP_CLOSE, 9000, 100, 768); /* datagrams queued */
	put_sock(&r, TCP_CLOSE, 9000, 101, 0); /* an empty queue */
	put_done(&r);
	assert_int_equal(sockdiag_parse(r.buf, r.len, SEQ, PORTID, &f, &count), 1);
	assert_int_equal(count, 1);
}

static void test_parse_errors(void **state)
{
	struct nlmsgerr e = { .error = -ENOENT };
	struct reply r = { .len = 0 };
	unsigned int count = 0;
	char half[8] = { 0 };

	(void)state;
	/* The kernel has no sock_diag for the protocol. */
	put_msg(&r, NLMSG_ERROR, &e, sizeof(e));
	assert_int_equal(sockdiag_parse(r.buf, r.len, SEQ, PORTID, &tcp_filter, &count), -ENOENT);
	/* A socket message too short for its inet_diag_msg. */
	r.len = 0;
	put_msg(&r, SOCK_DIAG_BY_FAMILY, half, sizeof(half));
	assert_int_equal(sockdiag_parse(r.buf, r.len, SEQ, PORTID, &tcp_filter, &count), -EPROTO);
	/* An answer to another request. */
	r.len = 0;
	put_sock(&r, TCP_ESTABLISHED, 80, 100, 0);
	assert_true(sockdiag_parse(r.buf, r.len, SEQ + 1, PORTID, &tcp_filter, &count) < 0);
	assert_int_equal(count, 0);
}

/* ---- the kernel's answers ---- */

static unsigned long inode_of(int fd)
{
	struct stat st;

	assert_int_equal(fstat(fd, &st), 0);
	return (unsigned long)st.st_ino;
}

static int ulong_cmp(const void *a, const void *b)
{
	unsigned long x = *(const unsigned long *)a, y = *(const unsigned long *)b;

	return x < y ? -1 : x > y;
}

/* The count for sockets a and b (-1: none) on port. */
static int count_for(__u16 port, int a, int b)
{
	unsigned long ino[2];
	struct sockdiag_filter f = { .proto = IPPROTO_TCP, .ports = { port, 0 }, .inodes = ino };

	if (a >= 0)
		ino[f.ninodes++] = inode_of(a);
	if (b >= 0)
		ino[f.ninodes++] = inode_of(b);
	qsort(ino, f.ninodes, sizeof(ino[0]), ulong_cmp);
	return sockdiag_count(&f);
}

/* A listener on the loopback address of family af and its port; -1 when
 * the family is not there (no IPv6).
 */
static int listener(int af, __u16 *port)
{
	struct sockaddr_storage ss = { .ss_family = (sa_family_t)af };
	socklen_t len = sizeof(ss);
	int fd = socket(af, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (af == AF_INET)
		((struct sockaddr_in *)&ss)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else
		((struct sockaddr_in6 *)&ss)->sin6_addr = in6addr_loopback;
	if (fd < 0 || bind(fd, (struct sockaddr *)&ss, sizeof(ss)) < 0 || listen(fd, 8) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
	*port = ntohs(af == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
				    : ((struct sockaddr_in6 *)&ss)->sin6_port);
	return fd;
}

static int connect_to(int af, __u16 port)
{
	struct sockaddr_storage ss = { .ss_family = (sa_family_t)af };
	int fd = socket(af, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	if (af == AF_INET) {
		((struct sockaddr_in *)&ss)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		((struct sockaddr_in *)&ss)->sin_port = htons(port);
	} else {
		((struct sockaddr_in6 *)&ss)->sin6_addr = in6addr_loopback;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(port);
	}
	assert_int_equal(connect(fd, (struct sockaddr *)&ss, sizeof(ss)), 0);
	return fd;
}

/* The connection a server socket sees go through its states. */
static void count_family(int af)
{
	__u16 port = 0;
	int l = listener(af, &port), c, a;
	struct pollfd pfd;

	if (l < 0) {
		assert_int_equal(af, AF_INET6);
		return;
	}
	assert_int_equal(count_for(port, l, -1), 0);
	c = connect_to(af, port);
	/* In the accept queue: counted through the listener. */
	assert_int_equal(count_for(port, l, -1), 1);
	assert_int_equal(count_for((__u16)(port + 1), l, -1), 0);
	a = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	assert_true(a >= 0);
	/* Accepted: counted if it is ours. */
	assert_int_equal(count_for(port, l, a), 1);
	assert_int_equal(count_for(port, l, -1), 0);
	/* The client is done: CLOSE_WAIT, still ours to answer on. */
	close(c);
	pfd = (struct pollfd){ .fd = a, .events = POLLIN };
	assert_int_equal(poll(&pfd, 1, 1000), 1);
	assert_int_equal(count_for(port, l, a), 1);
	close(a);
	assert_int_equal(count_for(port, l, -1), 0);
	close(l);
}

static void test_count_ipv4(void **state)
{
	(void)state;
	count_family(AF_INET);
}

static void test_count_ipv6(void **state)
{
	(void)state;
	count_family(AF_INET6);
}

/* Nothing to look for: no dump at all. */
static void test_count_nothing(void **state)
{
	struct sockdiag_filter f = { .proto = IPPROTO_TCP, .ports = { 80, 0 } };

	(void)state;
	assert_int_equal(sockdiag_count(&f), 0);
	f.proto = IPPROTO_SCTP;
	assert_int_equal(sockdiag_count(&f), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_tcp),    cmocka_unit_test(test_parse_udp),
		cmocka_unit_test(test_parse_errors), cmocka_unit_test(test_count_ipv4),
		cmocka_unit_test(test_count_ipv6),   cmocka_unit_test(test_count_nothing),
	};

	return cmocka_run_group_tests_name("sockdiag", tests, NULL, NULL);
}
