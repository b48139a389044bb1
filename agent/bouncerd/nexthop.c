// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Next-hop resolution over rtnetlink, as `ip route get` and `ip neigh`
 * would find it: the route gives the egress device, the gateway and the
 * route's MTU; the neighbour table gives the next hop's MAC; the link gives
 * our MAC and the device MTU.
 *
 * Each nexthop_resolve() opens its own netlink socket and closes it before
 * returning: calls are rare (backend changes, periodic refresh), and no
 * state survives that could go stale or be shared between threads.
 *
 * Errors beyond the header's: -EAFNOSUPPORT for an unknown family,
 * -EOPNOTSUPP also for a local, broadcast or multicast destination, and
 * -ETIMEDOUT when the kernel does not answer in time.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <libmnl/libmnl.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

#include "common/addr.h"
#include "common/log.h"
#include "nexthop.h"
#include "rtnl.h"

/* UDP discard service: whatever listens there, if anything, ignores us. */
#define DISCARD_PORT 9

/* Neighbour states whose link-layer address may be used. STALE, DELAY and
 * PROBE entries are in use by the kernel too while it re-confirms them;
 * INCOMPLETE, FAILED and NONE have no usable address (the kernel sends
 * none for them today; the state is checked so as not to depend on that).
 */
#define NUD_USABLE (NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT | NUD_NOARP)

struct route_info {
	int af; /* the family asked for */
	bool seen;
	__u8 type; /* RTN_* */
	__u32 oif;
	__u32 mtu; /* RTAX_MTU, 0 when the route sets none */
	struct nl_addr gw; /* af 0 when on-link */
};

struct link_info {
	__u32 ifindex; /* the device asked for */
	bool seen;
	unsigned short type; /* ARPHRD_* */
	__u32 mtu;
	unsigned int addr_len;
	__u8 addr[6];
};

struct neigh_info {
	const struct nl_addr *dst;
	__u32 ifindex;
	bool seen;
	__u16 state; /* NUD_* of the entry found */
	unsigned int lladdr_len;
	__u8 lladdr[6];
};

static int route_metric_cb(const struct nlattr *attr, void *data)
{
	struct route_info *ri = data;

	if (mnl_attr_get_type(attr) == RTAX_MTU) {
		if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
			return MNL_CB_ERROR;
		ri->mtu = mnl_attr_get_u32(attr);
	}
	return MNL_CB_OK;
}

static int route_attr_cb(const struct nlattr *attr, void *data)
{
	struct route_info *ri = data;
	const struct rtvia *via;
	size_t len = mnl_attr_get_payload_len(attr);
	int err;

	switch (mnl_attr_get_type(attr)) {
	case RTA_OIF:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
			return MNL_CB_ERROR;
		ri->oif = mnl_attr_get_u32(attr);
		break;
	case RTA_GATEWAY:
		err = nl_addr_set(&ri->gw, ri->af, mnl_attr_get_payload(attr), len);
		if (err) {
			errno = -err;
			return MNL_CB_ERROR;
		}
		break;
	case RTA_VIA:
		/* A gateway of the other family (IPv4 via an IPv6 router):
		 * its neighbour entry is in that family's table.
		 */
		if (len < sizeof(*via)) {
			errno = EPROTO;
			return MNL_CB_ERROR;
		}
		via = mnl_attr_get_payload(attr);
		err = nl_addr_set(&ri->gw, via->rtvia_family, via->rtvia_addr, len - sizeof(*via));
		if (err) {
			errno = -err;
			return MNL_CB_ERROR;
		}
		break;
	case RTA_METRICS:
		if (mnl_attr_validate(attr, MNL_TYPE_NESTED) < 0)
			return MNL_CB_ERROR;
		return mnl_attr_parse_nested(attr, route_metric_cb, ri);
	default:
		break;
	}
	return MNL_CB_OK;
}

static int route_cb(const struct nlmsghdr *nlh, void *data)
{
	struct route_info *ri = data;
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_type != RTM_NEWROUTE)
		return MNL_CB_OK;
	if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof(*rtm) || rtm->rtm_family != ri->af ||
	    ri->seen) {
		errno = EPROTO;
		return MNL_CB_ERROR;
	}
	ri->seen = true;
	ri->type = rtm->rtm_type;
	return mnl_attr_parse(nlh, sizeof(*rtm), route_attr_cb, ri);
}

/* The route the kernel would use for a packet to dst. */
static int route_get(struct nl *nl, const struct nl_addr *dst, struct route_info *ri)
{
	char buf[NL_REQ_SIZE] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	int err;

	memset(ri, 0, sizeof(*ri));
	ri->af = dst->af;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (unsigned char)dst->af;
	rtm->rtm_dst_len = (unsigned char)(dst->len * 8);
	mnl_attr_put(nlh, RTA_DST, dst->len, dst->bytes);

	err = nl_query(nl, nlh, route_cb, ri);
	/* How the kernel refuses a lookup that ends on an unreachable,
	 * prohibit or blackhole route, or on none at all: for us they all
	 * mean no way to the backend.
	 */
	if (err == -ENETUNREACH || err == -EHOSTUNREACH || err == -EACCES || err == -EINVAL)
		return -ENETUNREACH;
	if (err)
		return err;
	if (!ri->seen)
		return -EPROTO;
	switch (ri->type) {
	case RTN_UNICAST:
		break;
	case RTN_LOCAL:
	case RTN_BROADCAST:
	case RTN_ANYCAST:
	case RTN_MULTICAST:
		/* Not a neighbour we could address a frame to. */
		return -EOPNOTSUPP;
	default:
		return -ENETUNREACH;
	}
	return ri->oif ? 0 : -EPROTO;
}

static int link_attr_cb(const struct nlattr *attr, void *data)
{
	struct link_info *li = data;
	size_t len = mnl_attr_get_payload_len(attr);

	switch (mnl_attr_get_type(attr)) {
	case IFLA_ADDRESS:
		/* Only an Ethernet address is used; others are just noted. */
		li->addr_len = (unsigned int)len;
		if (len == sizeof(li->addr))
			memcpy(li->addr, mnl_attr_get_payload(attr), len);
		break;
	case IFLA_MTU:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
			return MNL_CB_ERROR;
		li->mtu = mnl_attr_get_u32(attr);
		break;
	default:
		break;
	}
	return MNL_CB_OK;
}

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	struct link_info *li = data;
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_type != RTM_NEWLINK)
		return MNL_CB_OK;
	if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof(*ifi) ||
	    (__u32)ifi->ifi_index != li->ifindex || li->seen) {
		errno = EPROTO;
		return MNL_CB_ERROR;
	}
	li->seen = true;
	li->type = ifi->ifi_type;
	return mnl_attr_parse(nlh, sizeof(*ifi), link_attr_cb, li);
}

/* The egress device's type, MAC and MTU. */
static int link_get(struct nl *nl, __u32 ifindex, struct link_info *li)
{
	char buf[NL_REQ_SIZE] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh;
	int err;

	memset(li, 0, sizeof(*li));
	li->ifindex = ifindex;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = (int)ifindex;
	/* Counters would only lengthen the reply. */
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);

	err = nl_query(nl, nlh, link_cb, li);
	if (err)
		return err;
	if (!li->seen)
		return -EPROTO;
	if (li->type != ARPHRD_ETHER || li->addr_len != sizeof(li->addr))
		return -EOPNOTSUPP;
	return li->mtu ? 0 : -EPROTO;
}

static int neigh_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	unsigned int type = mnl_attr_get_type(attr);

	if (type == NDA_DST || type == NDA_LLADDR)
		tb[type] = attr;
	return MNL_CB_OK;
}

static int neigh_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[NDA_MAX + 1] = { NULL };
	struct neigh_info *ni = data;
	const struct ndmsg *ndm = mnl_nlmsg_get_payload(nlh);
	size_t len;

	if (nlh->nlmsg_type != RTM_NEWNEIGH)
		return MNL_CB_OK;
	if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof(*ndm)) {
		errno = EPROTO;
		return MNL_CB_ERROR;
	}
	/* The kernel filters the dump by device, but kernels older than
	 * that filter send the whole table: check again.
	 */
	if (ndm->ndm_family != ni->dst->af || (__u32)ndm->ndm_ifindex != ni->ifindex)
		return MNL_CB_OK;
	if (mnl_attr_parse(nlh, sizeof(*ndm), neigh_attr_cb, tb) < 0)
		return MNL_CB_ERROR;
	if (!tb[NDA_DST] || mnl_attr_get_payload_len(tb[NDA_DST]) != ni->dst->len ||
	    memcmp(mnl_attr_get_payload(tb[NDA_DST]), ni->dst->bytes, ni->dst->len))
		return MNL_CB_OK;
	ni->seen = true;
	ni->state = ndm->ndm_state;
	ni->lladdr_len = 0;
	if (tb[NDA_LLADDR]) {
		len = mnl_attr_get_payload_len(tb[NDA_LLADDR]);
		ni->lladdr_len = (unsigned int)len;
		if (len == sizeof(ni->lladdr))
			memcpy(ni->lladdr, mnl_attr_get_payload(tb[NDA_LLADDR]), len);
	}
	return MNL_CB_OK;
}

/* dst's MAC on device ifindex, from a dump of that device's neighbours: a
 * get request for one entry needs Linux 5.x and strict checking.
 */
static int neigh_get(struct nl *nl, const struct nl_addr *dst, __u32 ifindex, __u8 mac[6])
{
	char buf[NL_REQ_SIZE] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct neigh_info ni = { .dst = dst, .ifindex = ifindex };
	struct nlmsghdr *nlh;
	struct ndmsg *ndm;
	int err;

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETNEIGH;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	ndm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ndm));
	ndm->ndm_family = (__u8)dst->af;
	mnl_attr_put_u32(nlh, NDA_IFINDEX, ifindex);

	err = nl_query(nl, nlh, neigh_cb, &ni);
	if (err)
		return err;
	if (!ni.seen || !(ni.state & NUD_USABLE) || ni.lladdr_len != sizeof(ni.lladdr))
		return -EAGAIN;
	memcpy(mac, ni.lladdr, sizeof(ni.lladdr));
	return 0;
}

int nexthop_resolve(const __be32 addr[4], __u8 family, struct nexthop *out)
{
	struct nexthop nh = { 0 };
	struct route_info ri;
	struct link_info li;
	struct nl nl = { 0 };
	struct nl_addr dst;
	__u32 mtu;
	int err;

	err = nl_addr_from(&dst, addr, family);
	if (err)
		return err;
	err = nl_open(&nl);
	if (err)
		return err;

	err = route_get(&nl, &dst, &ri);
	if (err)
		goto cleanup;
	/* Before the neighbour: a device without Ethernet addresses (lo, a
	 * tunnel) has no entry to wait for.
	 */
	err = link_get(&nl, ri.oif, &li);
	if (err)
		goto cleanup;
	err = neigh_get(&nl, ri.gw.af ? &ri.gw : &dst, ri.oif, nh.dmac);
	if (err)
		goto cleanup;

	memcpy(nh.smac, li.addr, sizeof(nh.smac));
	nh.ifindex = ri.oif;
	/* A route's MTU (or a learned path MTU), when set, is the one that
	 * holds past the device; 65535 is all an IP packet can use.
	 */
	mtu = ri.mtu ? ri.mtu : li.mtu;
	nh.mtu = (__u16)(mtu > 65535 ? 65535 : mtu);
	*out = nh;

	if (log_get_level() >= LOG_LEVEL_DEBUG) {
		char text[ADDR_STRLEN];

		log_debug("nexthop: %s dev %u mtu %u mac %02x:%02x:%02x:%02x:%02x:%02x",
			  addr_format(addr, family, text, sizeof(text)), nh.ifindex, nh.mtu,
			  nh.dmac[0], nh.dmac[1], nh.dmac[2], nh.dmac[3], nh.dmac[4], nh.dmac[5]);
	}

cleanup:
	nl_close(&nl);
	return err;
}

int nexthop_solicit(const __be32 addr[4], __u8 family)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(DISCARD_PORT) };
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(DISCARD_PORT) };
	const struct sockaddr *sa;
	socklen_t salen;
	int fd;

	switch (family) {
	case BNC_FAMILY_IPV4:
		sin.sin_addr.s_addr = addr[0];
		sa = (const struct sockaddr *)&sin;
		salen = sizeof(sin);
		break;
	case BNC_FAMILY_IPV6:
		memcpy(&sin6.sin6_addr, addr, sizeof(sin6.sin6_addr));
		sa = (const struct sockaddr *)&sin6;
		salen = sizeof(sin6);
		break;
	default:
		return -EAFNOSUPPORT;
	}
	fd = socket(sa->sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* The datagram's only purpose is the neighbour lookup that sending it
	 * starts; that it fails (no route yet, a full queue, an ICMP error
	 * from an earlier one) changes nothing for the caller, who learns the
	 * outcome from nexthop_resolve().
	 */
	if (sendto(fd, "", 0, 0, sa, salen) < 0)
		log_debug("nexthop: solicit datagram not sent: %s", strerror(errno));
	close(fd);
	return 0;
}
