// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Announcement routes over rtnetlink; see announce.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include <linux/rtnetlink.h>

#include "announce.h"
#include "rtnl.h"

/* The request for a's route, up to its attributes. */
static struct nlmsghdr *route_request(char *buf, __u16 type, __u16 flags, __u32 table,
				      const struct nl_addr *dst)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rtm;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (__u8)dst->af;
	rtm->rtm_dst_len = (__u8)(dst->len * 8);
	/* Tables past 255 only fit the attribute. */
	rtm->rtm_table = table < 256 ? (__u8)table : RT_TABLE_UNSPEC;
	rtm->rtm_protocol = RTPROT_BOUNCER;
	rtm->rtm_scope = RT_SCOPE_UNIVERSE;
	rtm->rtm_type = RTN_BLACKHOLE;
	mnl_attr_put_u32(nlh, RTA_TABLE, table);
	mnl_attr_put(nlh, RTA_DST, dst->len, dst->bytes);
	return nlh;
}

int announce_route_set(__u32 table, const struct announce_addr *a, bool on)
{
	char buf[NL_REQ_SIZE];
	struct nl_addr dst;
	struct nl nl;
	int err;

	err = nl_addr_from(&dst, a->addr, a->family);
	if (err)
		return err;
	err = nl_open(&nl);
	if (err)
		return err;
	/* REPLACE: a route of another type left at the address (by hand)
	 * becomes ours rather than failing the add.
	 */
	err = nl_query(&nl,
		       route_request(buf, on ? RTM_NEWROUTE : RTM_DELROUTE,
				     on ? NLM_F_CREATE | NLM_F_REPLACE : 0, table, &dst),
		       NULL, NULL);
	nl_close(&nl);
	return !on && err == -ESRCH ? 0 : err;
}

struct route_list {
	__u32 table;
	struct announce_addr *addrs;
	size_t n, cap;
	int err;
};

static int route_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	unsigned int type = mnl_attr_get_type(attr);

	if (type == RTA_TABLE || type == RTA_DST)
		tb[type] = attr;
	return MNL_CB_OK;
}

/* Keeps the host routes of ours in the table asked for. */
static int route_list_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[RTA_MAX + 1] = { 0 };
	struct route_list *l = data;
	struct announce_addr *a;
	__u32 table = rtm->rtm_table;
	size_t len;

	if (rtm->rtm_protocol != RTPROT_BOUNCER ||
	    mnl_attr_parse(nlh, sizeof(*rtm), route_attr_cb, tb) < 0 || !tb[RTA_DST])
		return MNL_CB_OK;
	if (tb[RTA_TABLE] && mnl_attr_get_payload_len(tb[RTA_TABLE]) == sizeof(__u32))
		table = mnl_attr_get_u32(tb[RTA_TABLE]);
	len = mnl_attr_get_payload_len(tb[RTA_DST]);
	if (table != l->table || !((rtm->rtm_family == AF_INET && len == 4) ||
				   (rtm->rtm_family == AF_INET6 && len == 16)))
		return MNL_CB_OK;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		struct announce_addr *grown = realloc(l->addrs, cap * sizeof(*grown));

		if (!grown) {
			l->err = -ENOMEM;
			return MNL_CB_ERROR;
		}
		l->addrs = grown;
		l->cap = cap;
	}
	a = &l->addrs[l->n++];
	memset(a, 0, sizeof(*a));
	a->family = rtm->rtm_family == AF_INET ? BNC_FAMILY_IPV4 : BNC_FAMILY_IPV6;
	memcpy(a->addr, mnl_attr_get_payload(tb[RTA_DST]), len);
	return MNL_CB_OK;
}

int announce_routes_list(__u32 table, struct announce_addr **out, size_t *n)
{
	struct route_list l = { .table = table };
	char buf[NL_REQ_SIZE];
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	struct nl nl;
	int err;

	*out = NULL;
	*n = 0;
	err = nl_open(&nl);
	if (err)
		return err;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_UNSPEC; /* both families */
	err = nl_query(&nl, nlh, route_list_cb, &l);
	nl_close(&nl);
	if (l.err)
		err = l.err;
	if (err) {
		free(l.addrs);
		return err;
	}
	*out = l.addrs;
	*n = l.n;
	return 0;
}
