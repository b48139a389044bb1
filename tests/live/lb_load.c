// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* lb_load: the live tests' loader. Loads the load balancer with its maps
 * pinned under a bpffs directory, fills in VIPs, backends and rings from the
 * command line, and attaches the XDP program through a pinned link so that
 * it stays attached after this process exits; or prints the counters of a
 * program loaded that way. Not the operator's tool: no health checks, no
 * updates, just enough to put a known state in front of real traffic.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bouncer_abi.h"
#include "bouncer_hash.h"
#include "common/addr.h"
#include "common/log.h"
#include "bouncerd/maglev.h"
#include "bouncerd/maps.h"

#define PROG_NAME "lb_load"
#define EXIT_USAGE 2

/* Small on purpose: the flow table is preallocated, and the pinned maps
 * are adopted again by --stats only if every size matches.
 */
#define LB_LOAD_FLOWS 65536
#define MAX_VIPS 16
#define MAX_BACKENDS 64
#define MAX_VIP_BACKENDS 64

struct backend_spec {
	__u32 id;
	struct bnc_backend be;
	const char *text; /* as given, to spot one id with two meanings */
};

struct vip_spec {
	struct bnc_vip_key key;
	struct bnc_vip_value value;
	const char *text;
	size_t nbackends;
	size_t backends[MAX_VIP_BACKENDS]; /* indexes into args.backends */
};

struct args {
	const char *pin_dir;
	const char *dev;
	bool skb; /* skb (generic) mode, else native */
	bool stats;
	__u32 ring_size;
	struct bnc_config config;
	bool have_src4, have_src6;
	size_t nvips;
	struct vip_spec vips[MAX_VIPS];
	size_t nbackends;
	struct backend_spec backends[MAX_BACKENDS];
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: " PROG_NAME " --pin DIR --dev IFNAME [--mode native|skb]\n"
		   "               [--ipip-src4 ADDR] [--ipip-src6 ADDR] [--ring-size PRIME]\n"
		   "               --vip VIP [--backend BACKEND]... [--vip VIP [--backend "
		   "BACKEND]...]...\n"
		   "       " PROG_NAME " --pin DIR --stats\n"
		   "\n"
		   "Loads the load balancer with its maps pinned in DIR (on a bpf filesystem)\n"
		   "and attaches it to IFNAME through a link pinned as DIR/link: it stays\n"
		   "attached until DIR/link is removed. Every --backend joins the ring of\n"
		   "the --vip before it; VIPs get ids 0, 1, ... in the order given.\n"
		   "\n"
		   "  VIP      ADDR:PORT/tcp|udp:dsr|ipip  ([ADDR]:PORT for IPv6)\n"
		   "  BACKEND  ID,ADDR,MAC,SRCMAC[,IFNAME]  next hop MAC and our MAC on the\n"
		   "           egress device IFNAME (default: back out of --dev)\n"
		   "           ID,ADDR,fib  next hop from bpf_fib_lookup on every packet\n"
		   "\n"
		   "--stats prints every global counter and the packets and bytes of each\n"
		   "VIP and backend, one 'name value' pair a line.\n"
		   "Exit status: 0 on success, 1 on failure, 2 on a usage error.\n");
}

static int parse_u32(const char *s, unsigned long max, __u32 *out)
{
	unsigned long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = (__u32)v;
	return 0;
}

/* MTU of a device in the current network namespace. Through an ioctl, not
 * /sys: under 'nsenter --net' /sys still shows the namespace it was
 * mounted in.
 */
static int dev_mtu(const char *dev, __u16 *mtu)
{
	struct ifreq ifr = { 0 };
	int fd, err = 0;

	if (strlen(dev) >= sizeof(ifr.ifr_name))
		return -ENAMETOOLONG;
	strcpy(ifr.ifr_name, dev);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, SIOCGIFMTU, &ifr)) {
		err = -errno;
		goto cleanup;
	}
	if (ifr.ifr_mtu <= 0) {
		err = -ERANGE;
		goto cleanup;
	}
	/* No IP datagram is longer than 65535 bytes, so a larger MTU (lo
	 * has 65536) limits nothing the 16 bits of the ABI cannot say.
	 */
	*mtu = ifr.ifr_mtu > 0xffff ? 0xffff : (__u16)ifr.ifr_mtu;
cleanup:
	close(fd);
	return err;
}

/* ADDR:PORT/PROTO:FWD, with [ADDR] for IPv6. */
static int parse_vip(const char *s, struct vip_spec *v)
{
	char buf[128], *addr, *port, *proto, *fwd;
	__u32 port_num;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	proto = strchr(buf, '/');
	if (!proto)
		return -EINVAL;
	*proto++ = '\0';
	fwd = strchr(proto, ':');
	if (!fwd)
		return -EINVAL;
	*fwd++ = '\0';
	if (buf[0] == '[') {
		addr = buf + 1;
		port = strchr(addr, ']');
		if (!port || port[1] != ':')
			return -EINVAL;
		*port = '\0';
		port += 2;
	} else {
		addr = buf;
		port = strrchr(buf, ':');
		if (!port)
			return -EINVAL;
		*port++ = '\0';
	}
	memset(&v->key, 0, sizeof(v->key));
	memset(&v->value, 0, sizeof(v->value));
	if (addr_parse(addr, v->key.addr, &v->key.family))
		return -EINVAL;
	if (buf[0] == '[' && v->key.family != BNC_FAMILY_IPV6)
		return -EINVAL;
	if (parse_u32(port, 0xffff, &port_num) || port_num == 0)
		return -EINVAL;
	v->key.port = htons((__u16)port_num);
	if (!strcmp(proto, "tcp"))
		v->key.proto = IPPROTO_TCP;
	else if (!strcmp(proto, "udp"))
		v->key.proto = IPPROTO_UDP;
	else
		return -EINVAL;
	if (!strcmp(fwd, "dsr"))
		v->value.forwarding = BNC_FWD_DSR;
	else if (!strcmp(fwd, "ipip"))
		v->value.forwarding = BNC_FWD_IPIP;
	else
		return -EINVAL;
	v->text = s;
	return 0;
}

/* ID,ADDR,MAC,SRCMAC[,IFNAME] or ID,ADDR,fib. The egress device defaults
 * to the one the program is attached to (ifindex 0: XDP_TX).
 */
static int parse_backend(const char *s, const char *dev, struct backend_spec *b)
{
	char buf[256], *field[6], *save = NULL;
	const char *egress = dev;
	unsigned int ifindex;
	int n = 0, err;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (n == 6)
			return -EINVAL;
		field[n++] = tok;
	}
	memset(b, 0, sizeof(*b));
	b->text = s;
	if (n < 3 || parse_u32(field[0], BNC_MAX_BACKENDS - 1, &b->id))
		return -EINVAL;
	if (addr_parse(field[1], b->be.addr, &b->be.family))
		return -EINVAL;
	b->be.kind = BNC_BACKEND_REMOTE;
	b->be.state = BNC_BACKEND_UP;
	if (n == 3 && !strcmp(field[2], "fib")) {
		b->be.flags = BNC_BACKEND_F_FIB;
	} else {
		if (n < 4 || n > 5)
			return -EINVAL;
		if (mac_parse(field[2], b->be.next_hop_mac) || mac_parse(field[3], b->be.src_mac))
			return -EINVAL;
		if (n == 5) {
			egress = field[4];
			ifindex = if_nametoindex(egress);
			if (!ifindex) {
				log_warnx("backend '%s': unknown device '%s'", s, egress);
				return -ENODEV;
			}
			b->be.ifindex = ifindex;
		}
	}
	/* The datapath compares encapsulated sizes against this MTU. */
	err = dev_mtu(egress, &b->be.mtu);
	if (err) {
		log_warnx("backend '%s': MTU of %s: %s", s, egress, strerror(-err));
		return err;
	}
	return 0;
}

/* Adds a backend to the last VIP; one id given twice must mean one thing. */
static int add_backend(struct args *a, const char *s)
{
	struct vip_spec *v;
	struct backend_spec b;
	size_t i;
	int err;

	if (a->nvips == 0) {
		log_warnx("--backend '%s' before any --vip", s);
		return -EINVAL;
	}
	v = &a->vips[a->nvips - 1];
	err = parse_backend(s, a->dev, &b);
	if (err) {
		if (err == -EINVAL)
			log_warnx("bad backend '%s': want ID,ADDR,MAC,SRCMAC[,IFNAME] or "
				  "ID,ADDR,fib with ID below %d",
				  s, BNC_MAX_BACKENDS);
		return err;
	}
	for (i = 0; i < a->nbackends; i++) {
		if (a->backends[i].id != b.id)
			continue;
		if (memcmp(&a->backends[i].be, &b.be, sizeof(b.be))) {
			log_warnx("backend %u given twice: '%s' and '%s'", b.id,
				  a->backends[i].text, s);
			return -EINVAL;
		}
		break;
	}
	if (i == a->nbackends) {
		if (a->nbackends == MAX_BACKENDS) {
			log_warnx("too many backends: at most %d", MAX_BACKENDS);
			return -E2BIG;
		}
		a->backends[a->nbackends++] = b;
	}
	for (size_t j = 0; j < v->nbackends; j++) {
		if (v->backends[j] == i) {
			log_warnx("backend %u given twice for VIP '%s'", b.id, v->text);
			return -EINVAL;
		}
	}
	if (v->nbackends == MAX_VIP_BACKENDS) {
		log_warnx("too many backends for VIP '%s': at most %d", v->text, MAX_VIP_BACKENDS);
		return -E2BIG;
	}
	v->backends[v->nbackends++] = i;
	return 0;
}

static int add_vip(struct args *a, const char *s)
{
	struct vip_spec *v;

	if (a->nvips == MAX_VIPS) {
		log_warnx("too many VIPs: at most %d", MAX_VIPS);
		return -E2BIG;
	}
	v = &a->vips[a->nvips];
	if (parse_vip(s, v)) {
		log_warnx("bad VIP '%s': want ADDR:PORT/tcp|udp:dsr|ipip", s);
		return -EINVAL;
	}
	for (size_t i = 0; i < a->nvips; i++) {
		if (!memcmp(&a->vips[i].key, &v->key, sizeof(v->key))) {
			log_warnx("VIP '%s' given twice", s);
			return -EINVAL;
		}
	}
	v->value.vip_id = (__u32)a->nvips;
	a->nvips++;
	return 0;
}

/* Encapsulating towards a backend of a family needs our source address of
 * that family: without it the outer header would come from 0.0.0.0 or ::.
 */
static int check_args(const struct args *a)
{
	for (size_t i = 0; i < a->nvips; i++) {
		const struct vip_spec *v = &a->vips[i];

		if (v->value.forwarding != BNC_FWD_IPIP)
			continue;
		for (size_t j = 0; j < v->nbackends; j++) {
			const struct backend_spec *b = &a->backends[v->backends[j]];

			if (b->be.family == BNC_FAMILY_IPV4 && !a->have_src4) {
				log_warnx("VIP '%s' encapsulates to '%s': needs --ipip-src4",
					  v->text, b->text);
				return -EINVAL;
			}
			if (b->be.family == BNC_FAMILY_IPV6 && !a->have_src6) {
				log_warnx("VIP '%s' encapsulates to '%s': needs --ipip-src6",
					  v->text, b->text);
				return -EINVAL;
			}
		}
	}
	return 0;
}

enum opt_id {
	OPT_PIN = 'p',
	OPT_DEV = 'd',
	OPT_MODE = 'm',
	OPT_VIP = 'V',
	OPT_BACKEND = 'b',
	OPT_STATS = 's',
	OPT_HELP = 'h',
	OPT_SRC4 = 256,
	OPT_SRC6,
	OPT_RING_SIZE,
};

static const struct option long_opts[] = {
	{ "pin", required_argument, NULL, OPT_PIN },
	{ "dev", required_argument, NULL, OPT_DEV },
	{ "mode", required_argument, NULL, OPT_MODE },
	{ "ipip-src4", required_argument, NULL, OPT_SRC4 },
	{ "ipip-src6", required_argument, NULL, OPT_SRC6 },
	{ "ring-size", required_argument, NULL, OPT_RING_SIZE },
	{ "vip", required_argument, NULL, OPT_VIP },
	{ "backend", required_argument, NULL, OPT_BACKEND },
	{ "stats", no_argument, NULL, OPT_STATS },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

/* Returns 0, -EINVAL for a usage error (already reported), or another
 * -errno.
 */
static int parse_args(int argc, char **argv, struct args *a)
{
	__be32 addr[4];
	__u8 family;
	int opt, err;

	a->skb = false;
	a->ring_size = BNC_RING_SIZE_DEFAULT;
	a->config.hash_seed = BNC_HASH_SEED; /* bouncerd's default */
	/* '+': options are taken in order; --backend belongs to the --vip
	 * before it.
	 */
	while ((opt = getopt_long(argc, argv, "+h", long_opts, NULL)) != -1) {
		switch (opt) {
		case OPT_PIN:
			a->pin_dir = optarg;
			break;
		case OPT_DEV:
			if (a->nvips) {
				log_warnx("--dev must come before --vip");
				return -EINVAL;
			}
			a->dev = optarg;
			break;
		case OPT_MODE:
			if (!strcmp(optarg, "native")) {
				a->skb = false;
			} else if (!strcmp(optarg, "skb")) {
				a->skb = true;
			} else {
				log_warnx("bad --mode '%s': want native or skb", optarg);
				return -EINVAL;
			}
			break;
		case OPT_SRC4:
			if (addr_parse(optarg, addr, &family) || family != BNC_FAMILY_IPV4) {
				log_warnx("bad --ipip-src4 '%s': not an IPv4 address", optarg);
				return -EINVAL;
			}
			a->config.ipip_src_v4 = addr[0];
			a->have_src4 = true;
			break;
		case OPT_SRC6:
			if (addr_parse(optarg, a->config.ipip_src_v6, &family) ||
			    family != BNC_FAMILY_IPV6) {
				log_warnx("bad --ipip-src6 '%s': not an IPv6 address", optarg);
				return -EINVAL;
			}
			a->have_src6 = true;
			break;
		case OPT_RING_SIZE:
			if (parse_u32(optarg, BNC_RING_SIZE_MAX, &a->ring_size) ||
			    !maglev_is_prime(a->ring_size)) {
				log_warnx("bad --ring-size '%s': want a prime up to %u", optarg,
					  BNC_RING_SIZE_MAX);
				return -EINVAL;
			}
			break;
		case OPT_VIP:
			err = add_vip(a, optarg);
			if (err)
				return err;
			break;
		case OPT_BACKEND:
			if (!a->dev) {
				log_warnx("--dev must come before --backend");
				return -EINVAL;
			}
			err = add_backend(a, optarg);
			if (err)
				return err;
			break;
		case OPT_STATS:
			a->stats = true;
			break;
		case OPT_HELP:
			usage(stdout);
			exit(0);
		default:
			return -EINVAL;
		}
	}
	if (optind < argc) {
		log_warnx("unexpected argument '%s'", argv[optind]);
		return -EINVAL;
	}
	if (!a->pin_dir) {
		log_warnx("--pin DIR is required");
		return -EINVAL;
	}
	if (a->stats) {
		if (a->dev || a->nvips) {
			log_warnx("--stats takes only --pin");
			return -EINVAL;
		}
		return 0;
	}
	if (!a->dev) {
		log_warnx("--dev IFNAME is required");
		return -EINVAL;
	}
	if (!if_nametoindex(a->dev)) {
		log_warnx("unknown device '%s'", a->dev);
		return -ENODEV;
	}
	if (a->nvips == 0) {
		log_warnx("at least one --vip is required");
		return -EINVAL;
	}
	return check_args(a);
}

static int build_ring(struct bnc_maps *m, const struct args *a, const struct vip_spec *v)
{
	struct maglev_backend mb[MAX_VIP_BACKENDS] = { 0 };
	__u32 *slots;
	int err;

	for (size_t i = 0; i < v->nbackends; i++) {
		const struct backend_spec *b = &a->backends[v->backends[i]];

		/* Remote backends keep the client's port: the address alone
		 * names them.
		 */
		memcpy(mb[i].addr, b->be.addr, sizeof(mb[i].addr));
		mb[i].family = b->be.family;
		mb[i].weight = 1;
		mb[i].id = b->id;
	}
	slots = calloc(a->ring_size, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	err = maglev_build(mb, v->nbackends, a->ring_size, slots);
	if (err) {
		log_warnx("VIP '%s': build the ring: %s", v->text, strerror(-err));
		goto cleanup;
	}
	err = bnc_maps_ring_swap(m, &v->key, slots, a->ring_size);
	if (err)
		log_warnx("VIP '%s': swap the ring in: %s", v->text, strerror(-err));
cleanup:
	free(slots);
	return err;
}

static int attach(struct bnc_maps *m, const struct args *a)
{
	char link[PATH_MAX];
	unsigned int ifindex;
	int err;

	ifindex = if_nametoindex(a->dev);
	if (!ifindex) {
		log_warnx("unknown device '%s'", a->dev);
		return -ENODEV;
	}
	if (snprintf(link, sizeof(link), "%s/link", a->pin_dir) >= (int)sizeof(link))
		return -ENAMETOOLONG;
	err = bnc_maps_attach(m, (int)ifindex, a->skb, link);
	if (err == -EOPNOTSUPP && !a->skb)
		log_warnx("native mode not supported by %s; try --mode skb", a->dev);
	else if (err == -EBUSY || err == -EEXIST)
		log_warnx("%s already has an XDP program (or %s exists)", a->dev, link);
	else if (err)
		log_warnx("attach to %s and pin %s: %s", a->dev, link, strerror(-err));
	return err;
}

/* Removes the pins of a load that failed in a directory it created: the
 * maps would otherwise stay, and be adopted by the next load there.
 */
static void remove_pins(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;

	d = opendir(dir);
	if (!d)
		return;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) < (int)sizeof(path))
			unlink(path);
	}
	closedir(d);
	if (rmdir(dir))
		log_warn("remove %s", dir);
}

static int load(const struct args *a)
{
	struct bnc_maps_opts opts = { .pin_dir = a->pin_dir, .flow_table_size = LB_LOAD_FLOWS };
	bool existed = access(a->pin_dir, F_OK) == 0;
	struct bnc_maps *m = NULL;
	size_t i;
	int err;

	err = bnc_maps_open(&opts, &m);
	if (err) {
		log_warnx("open the maps in %s: %s", a->pin_dir, strerror(-err));
		goto cleanup;
	}
	err = bnc_maps_set_config(m, &a->config);
	if (err) {
		log_warnx("set the config: %s", strerror(-err));
		goto cleanup;
	}
	/* Backends first, rings next, the program last: no packet sees a
	 * VIP whose ring names a backend not written yet.
	 */
	for (i = 0; i < a->nbackends; i++) {
		err = bnc_maps_backend_set(m, a->backends[i].id, &a->backends[i].be);
		if (err) {
			log_warnx("backend '%s': %s", a->backends[i].text, strerror(-err));
			goto cleanup;
		}
	}
	for (i = 0; i < a->nvips; i++) {
		err = bnc_maps_vip_add(m, &a->vips[i].key, &a->vips[i].value);
		if (err) {
			log_warnx("VIP '%s': %s", a->vips[i].text, strerror(-err));
			goto cleanup;
		}
		err = build_ring(m, a, &a->vips[i]);
		if (err)
			goto cleanup;
	}
	err = attach(m, a);
cleanup:
	bnc_maps_close(m);
	if (err && !existed)
		remove_pins(a->pin_dir);
	return err;
}

static int print_vip(const struct bnc_vip_key *key, const struct bnc_vip_value *value, void *arg)
{
	struct bnc_maps *m = arg;
	struct bnc_traffic t;
	int err;

	(void)key;
	err = bnc_maps_vip_stats(m, value->vip_id, &t);
	if (err)
		return err;
	printf("vip.%u.packets %llu\n", value->vip_id, (unsigned long long)t.packets);
	printf("vip.%u.bytes %llu\n", value->vip_id, (unsigned long long)t.bytes);
	return 0;
}

static int stats(const struct args *a)
{
	struct bnc_maps_opts opts = { .pin_dir = a->pin_dir, .flow_table_size = LB_LOAD_FLOWS };
	struct bnc_global_stats g;
	struct bnc_maps *m = NULL;
	struct bnc_backend be;
	struct bnc_traffic t;
	char path[PATH_MAX];
	int err;

	/* Opening would pin a fresh, empty set of maps: all zeros, which a
	 * test would read as "no traffic" rather than "nothing loaded".
	 */
	if (snprintf(path, sizeof(path), "%s/vips", a->pin_dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	if (access(path, F_OK)) {
		err = -errno;
		log_warnx("nothing loaded in %s: %s", a->pin_dir, strerror(-err));
		return err;
	}
	err = bnc_maps_open(&opts, &m);
	if (err) {
		log_warnx("open the maps in %s: %s", a->pin_dir, strerror(-err));
		goto cleanup;
	}
	err = bnc_maps_global_stats(m, &g);
	if (err) {
		log_warnx("read the global counters: %s", strerror(-err));
		goto cleanup;
	}
	for (int i = 0; i < BNC_STAT_MAX; i++)
		printf("%s %llu\n", bnc_stat_name((enum bnc_stat)i),
		       (unsigned long long)g.counters[i]);
	err = bnc_maps_vip_foreach(m, print_vip, m);
	if (err) {
		log_warnx("read the VIP counters: %s", strerror(-err));
		goto cleanup;
	}
	for (__u32 id = 0; id < BNC_MAX_BACKENDS; id++) {
		err = bnc_maps_backend_get(m, id, &be);
		if (err) {
			log_warnx("read backend %u: %s", id, strerror(-err));
			goto cleanup;
		}
		/* Unused slots of the array are all zero. */
		if (be.family == 0)
			continue;
		err = bnc_maps_backend_stats(m, id, &t);
		if (err) {
			log_warnx("read the counters of backend %u: %s", id, strerror(-err));
			goto cleanup;
		}
		printf("backend.%u.packets %llu\n", id, (unsigned long long)t.packets);
		printf("backend.%u.bytes %llu\n", id, (unsigned long long)t.bytes);
	}
	if (fflush(stdout))
		err = -errno;
cleanup:
	bnc_maps_close(m);
	return err;
}

int main(int argc, char **argv)
{
	static struct args a;
	int err;

	log_init(PROG_NAME, LOG_LEVEL_WARN);
	log_route_libbpf();
	err = parse_args(argc, argv, &a);
	if (err) {
		fprintf(stderr, "Try '" PROG_NAME " --help'.\n");
		return EXIT_USAGE;
	}
	err = a.stats ? stats(&a) : load(&a);
	return err ? EXIT_FAILURE : EXIT_SUCCESS;
}
