// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* sock_diag dumps for sockdiag.h: per address family, one
 * SOCK_DIAG_BY_FAMILY request carrying the states wanted and an inet_diag
 * bytecode filter on the local ports, so that the kernel sends only the
 * sockets on those ports; the inodes are matched here.
 *
 * Each sockdiag_count() opens its own netlink socket and closes it before
 * returning, as nexthop.c does: no state survives between calls.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>

#include "sockdiag.h"

/* A dump message grows to the reader's buffer, up to 32 KiB (the kernel's
 * cap on max_recvmsg_len); a smaller buffer than what comes is reported
 * as -ENOSPC by libmnl rather than read truncated.
 */
#define NL_RECV_SIZE 32768
/* Two port tests and the jump between them. */
#define BC_OPS_MAX 5

#define TCP_STATES ((1U << TCP_ESTABLISHED) | (1U << TCP_CLOSE_WAIT) | (1U << TCP_LISTEN))
/* An unconnected UDP socket is in TCP_CLOSE, a connected one in
 * TCP_ESTABLISHED.
 */
#define UDP_STATES ((1U << TCP_CLOSE) | (1U << TCP_ESTABLISHED))

struct count_ctx {
	const struct sockdiag_filter *f;
	unsigned int count;
};

static bool has_port(const struct sockdiag_filter *f, __u16 port)
{
	return port && (port == f->ports[0] || port == f->ports[1]);
}

static int inode_cmp(const void *a, const void *b)
{
	unsigned long x = *(const unsigned long *)a, y = *(const unsigned long *)b;

	return x < y ? -1 : x > y;
}

void sockdiag_sort(unsigned long *inodes, size_t n)
{
	qsort(inodes, n, sizeof(*inodes), inode_cmp);
}

static bool has_inode(const struct sockdiag_filter *f, unsigned long ino)
{
	return ino && f->ninodes &&
	       bsearch(&ino, f->inodes, f->ninodes, sizeof(*f->inodes), inode_cmp);
}

/* What one socket of the dump counts for. The kernel filtered on the
 * ports already; checked again, the reply is not ours to trust blindly.
 */
static unsigned int msg_count(const struct inet_diag_msg *m, const struct sockdiag_filter *f)
{
	if (!has_port(f, ntohs(m->id.idiag_sport)) || !has_inode(f, m->idiag_inode))
		return 0;
	if (f->proto == IPPROTO_UDP)
		return m->idiag_rqueue > 0;
	switch (m->idiag_state) {
	case TCP_LISTEN:
		return m->idiag_rqueue; /* a listener's: its accept queue */
	case TCP_ESTABLISHED:
	case TCP_CLOSE_WAIT:
		return 1;
	default:
		return 0;
	}
}

static int diag_cb(const struct nlmsghdr *nlh, void *data)
{
	struct count_ctx *c = data;

	if (nlh->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(struct inet_diag_msg)) {
		errno = EPROTO;
		return MNL_CB_ERROR;
	}
	c->count += msg_count(mnl_nlmsg_get_payload(nlh), c->f);
	return MNL_CB_OK;
}

int sockdiag_parse(const void *buf, size_t len, unsigned int seq, unsigned int portid,
		   const struct sockdiag_filter *f, unsigned int *count)
{
	struct count_ctx c = { .f = f };
	int ret;

	errno = 0;
	ret = mnl_cb_run(buf, len, seq, portid, diag_cb, &c);
	*count += c.count;
	if (ret < 0)
		return errno > 0 ? -errno : -EPROTO;
	return ret == MNL_CB_STOP;
}

/* The kernel's filter, "sport = A" or "sport = A or sport = B" as ss(8)
 * compiles it: a test that fails jumps 4 bytes past the end (no match),
 * one that passes jumps to the end (match), through a jump between the
 * two tests. A port test is two ops, the second holding the port.
 */
static size_t bytecode(const __u16 ports[2], struct inet_diag_bc_op *bc)
{
	__u16 a = ports[0] ? ports[0] : ports[1], b = ports[0] ? ports[1] : 0;

	bc[0] = (struct inet_diag_bc_op){ INET_DIAG_BC_S_EQ, 8, 12 };
	bc[1] = (struct inet_diag_bc_op){ 0, 0, a };
	if (!b || b == a)
		return 2 * sizeof(*bc);
	bc[2] = (struct inet_diag_bc_op){ INET_DIAG_BC_JMP, 4, 12 };
	bc[3] = (struct inet_diag_bc_op){ INET_DIAG_BC_S_EQ, 8, 12 };
	bc[4] = (struct inet_diag_bc_op){ 0, 0, b };
	return 5 * sizeof(*bc);
}

static struct nlmsghdr *request_put(void *buf, unsigned int seq, int family,
				    const struct sockdiag_filter *f)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct inet_diag_bc_op bc[BC_OPS_MAX];
	struct inet_diag_req_v2 *r;

	nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	r = mnl_nlmsg_put_extra_header(nlh, sizeof(*r));
	r->sdiag_family = (__u8)family;
	r->sdiag_protocol = f->proto;
	r->idiag_states = f->proto == IPPROTO_TCP ? TCP_STATES : UDP_STATES;
	mnl_attr_put(nlh, INET_DIAG_REQ_BYTECODE, bytecode(f->ports, bc), bc);
	return nlh;
}

/* One family's dump, read to its end. The socket does not block: the
 * kernel queues the first replies when the request is sent and each next
 * one as the last is read, so an empty socket means a lost reply.
 */
static int dump_family(struct mnl_socket *nl, unsigned int seq, int family,
		       const struct sockdiag_filter *f, unsigned int *count)
{
	char buf[NL_RECV_SIZE];
	unsigned int portid = mnl_socket_get_portid(nl);
	const struct nlmsghdr *req = request_put(buf, seq, family, f);
	ssize_t n;
	int ret;

	if (mnl_socket_sendto(nl, req, req->nlmsg_len) < 0)
		return errno > 0 ? -errno : -EIO;
	do {
		n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0)
			return errno > 0 ? -errno : -EIO;
		ret = sockdiag_parse(buf, (size_t)n, seq, portid, f, count);
	} while (ret == 0);
	return ret < 0 ? ret : 0;
}

int sockdiag_count(const struct sockdiag_filter *f)
{
	static const int families[] = { AF_INET, AF_INET6 };
	unsigned int count = 0, seq = (unsigned int)time(NULL);
	struct mnl_socket *nl;
	int err = 0;

	if (f->proto != IPPROTO_TCP && f->proto != IPPROTO_UDP)
		return -EINVAL;
	if (!f->ninodes || (!f->ports[0] && !f->ports[1]))
		return 0;
	nl = mnl_socket_open2(NETLINK_SOCK_DIAG, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
		err = -errno;
	for (size_t i = 0; !err && i < sizeof(families) / sizeof(families[0]); i++)
		err = dump_family(nl, ++seq, families[i], f, &count);
	mnl_socket_close(nl);
	if (err)
		return err;
	return count > 0x7fffffff ? 0x7fffffff : (int)count;
}
