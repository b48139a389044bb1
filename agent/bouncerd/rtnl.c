// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* rtnetlink sockets and requests; see rtnl.h. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include <sys/socket.h>
#include <sys/time.h>

#include <linux/rtnetlink.h>

#include "rtnl.h"

int nl_addr_from(struct nl_addr *a, const __be32 addr[4], __u8 family)
{
	memset(a, 0, sizeof(*a));
	switch (family) {
	case BNC_FAMILY_IPV4:
		a->af = AF_INET;
		a->len = 4;
		break;
	case BNC_FAMILY_IPV6:
		a->af = AF_INET6;
		a->len = 16;
		break;
	default:
		return -EAFNOSUPPORT;
	}
	memcpy(a->bytes, addr, a->len);
	return 0;
}

/* Sets a from a netlink attribute holding an address of family af. */
int nl_addr_set(struct nl_addr *a, int af, const void *data, size_t len)
{
	if (!((af == AF_INET && len == 4) || (af == AF_INET6 && len == 16)))
		return -EPROTO;
	memset(a, 0, sizeof(*a));
	a->af = af;
	a->len = (unsigned int)len;
	memcpy(a->bytes, data, len);
	return 0;
}

void nl_close(struct nl *nl)
{
	if (nl->sock)
		mnl_socket_close(nl->sock);
	nl->sock = NULL;
}

int nl_open(struct nl *nl)
{
	struct timeval tv = { .tv_sec = NL_TIMEOUT_S };
	int err;

	nl->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl->sock)
		return -errno;
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		goto cleanup;
	}
	if (setsockopt(mnl_socket_get_fd(nl->sock), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv))) {
		err = -errno;
		goto cleanup;
	}
	nl->portid = mnl_socket_get_portid(nl->sock);
	/* Any start will do: the socket is ours alone and short-lived. */
	nl->seq = (unsigned int)time(NULL);
	return 0;

cleanup:
	nl_close(nl);
	return err;
}

/* errno after a libmnl failure, never 0: a callback may fail without
 * setting it.
 */
int nl_neg_errno(void)
{
	return errno > 0 ? -errno : -EIO;
}

/* Sends req and feeds every reply to cb until the kernel's ACK, error or
 * end of dump. A get request asks for an ACK so that, like a dump, it ends
 * with a message of its own: a successful query reads its whole answer, so
 * the next request on the socket starts clean (after a failed one the
 * socket is closed, whatever is left in it).
 */
int nl_query(struct nl *nl, struct nlmsghdr *req, mnl_cb_t cb, void *data)
{
	char buf[NL_RECV_SIZE];
	unsigned int seq = ++nl->seq;
	ssize_t n;
	int ret;

	req->nlmsg_seq = seq;
	/* Both bits: NLM_F_ROOT alone is NLM_F_REPLACE in a new request. */
	if ((req->nlmsg_flags & NLM_F_DUMP) != NLM_F_DUMP)
		req->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(nl->sock, req, req->nlmsg_len) < 0)
		return nl_neg_errno();
	for (;;) {
		n = mnl_socket_recvfrom(nl->sock, buf, sizeof(buf));
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT
								       : nl_neg_errno();
		errno = 0;
		ret = mnl_cb_run(buf, (size_t)n, seq, nl->portid, cb, data);
		if (ret < 0)
			return nl_neg_errno();
		if (ret == MNL_CB_STOP)
			return 0;
	}
}
