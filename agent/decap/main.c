// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* bouncer-decap: attaches the backend-side IPIP decapsulation program
 * (bpf/decap.bpf.c) to a device and pins it there, detaches it, and prints
 * its counters. For backends whose kernel has no ipip module.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bouncer_decap.h"
#include "decap.skel.h"
#include "common/addr.h"
#include "common/log.h"
#include "common/bpfsys.h"
#include "common/options.h"
#include "common/version.h"
#include "common/util.h"

#define PROG_NAME "bouncer-decap"
#define PIN_ROOT BPFFS_ROOT "/bouncer-decap"
/* Files in a pin directory. The link holds the program on the device. */
#define PIN_LINK "link"
#define PIN_STATS "stats"
#define PIN_ADDRS "addrs"
#define PIN_LBS "lbs"
#define PIN_PEERS "peers"

#define EXIT_USAGE 2

enum attach_mode {
	MODE_NATIVE,
	MODE_SKB,
};

/* The parsed command line. */
struct ctx {
	const char *pin_dir; /* --pin, or NULL for PIN_ROOT/DEV */
	enum attach_mode mode;
	bool mode_set;
	/* --lb and --peer, in the order given. */
	const char *lbs[BNC_DECAP_MAX_LBS];
	int nr_lbs;
	const char *peers[BNC_DECAP_MAX_PEERS];
	int nr_peers;
	int argc; /* arguments after the command */
	char **argv;
};

struct cmd {
	const char *name;
	const char *args;
	const char *help; /* lines separated by '\n' */
	int min_args;
	int max_args; /* -1: no limit */
	int (*run)(const struct ctx *ctx);
};

/* Options may come before the command or among its arguments. --mode and
 * --pin have no short name.
 */
static const struct opt_spec opts[] = {
	{ .long_name = "mode",
	  .arg = "native|skb",
	  .id = 'm',
	  .help = "attach: XDP mode (default native: in the driver;\n"
		  "skb: generic, after the skb is built, for devices\n"
		  "without native XDP)" },
	{ .long_name = "pin",
	  .arg = "DIR",
	  .id = 'p',
	  .help = "pin directory on a bpf filesystem\n"
		  "(default " PIN_ROOT "/DEV)" },
	{ .long_name = "lb",
	  .arg = "ADDR",
	  .id = 'l',
	  .help = "attach: a load balancer's ipip source address; a second\n"
		  "chance is trusted only from these (repeat for each,\n"
		  "at most 64; none: never hand on)" },
	{ .long_name = "peer",
	  .arg = "ADDR",
	  .id = 'P',
	  .help = "attach: an address a packet may be handed on to: the\n"
		  "other backends of this backend's VIPs (repeat for\n"
		  "each, at most 1024; none: never hand on)" },
	{ .short_name = 'v',
	  .long_name = "verbose",
	  .id = 'v',
	  .help = "also print libbpf's debug messages" },
	{ .short_name = 'V',
	  .long_name = "version",
	  .id = 'V',
	  .help = "print the version and exit" },
	{ .short_name = 'h', .long_name = "help", .id = 'h', .help = "print this help and exit" },
};

#define NR_OPTS (sizeof(opts) / sizeof(opts[0]))

static const char *const stat_names[] = {
#define BNC_DECAP_STAT_NAME(name, str) [BNC_DECAP_STAT_##name] = str,
	BNC_DECAP_STATS(BNC_DECAP_STAT_NAME)
#undef BNC_DECAP_STAT_NAME
};

static int cmd_attach(const struct ctx *ctx);
static int cmd_detach(const struct ctx *ctx);
static int cmd_stats(const struct ctx *ctx);
static int cmd_peers(const struct ctx *ctx);

static const struct cmd cmds[] = {
	{ "attach",
	  "DEV ADDR [ADDR...] [--lb ADDR]... [--peer ADDR]... [--mode native|skb] [--pin DIR]",
	  "Load the decap program, attach it to DEV and decapsulate IPIP packets\n"
	  "(outer IPv4 or IPv6, protocol 4 or 41) whose outer destination is one\n"
	  "of the ADDRs: IPv4 or IPv6 addresses of this host, at most 64. The\n"
	  "program stays attached after the command exits: its link and maps are\n"
	  "pinned in the pin directory. Mounts the bpf filesystem on " BPFFS_ROOT "\n"
	  "if it is not mounted. A packet whose outer header carries a second\n"
	  "chance, from an --lb address to a --peer address, and for which this\n"
	  "host has no connection, is handed on to that peer.",
	  2, -1, cmd_attach },
	{ "peers", "DEV [ADDR...] [--pin DIR]",
	  "Replace the addresses packets may be handed on to (--peer of attach)\n"
	  "with the ADDRs; none: never hand on. For when the VIPs' backends change.",
	  1, -1, cmd_peers },
	{ "detach", "DEV [--pin DIR]", "Detach the program from DEV and remove its pin directory.",
	  1, 1, cmd_detach },
	{ "stats", "[DEV] [--pin DIR]",
	  "Print the addresses and counters of DEV, of the pin directory DIR,\n"
	  "or of every device under " PIN_ROOT ".",
	  0, 1, cmd_stats },
};

#define NR_CMDS (sizeof(cmds) / sizeof(cmds[0]))

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "Usage: %s [OPTIONS] COMMAND [ARGS]\n\nCommands:\n", PROG_NAME);
	for (i = 0; i < NR_CMDS; i++) {
		fprintf(f, "  %s %s\n", cmds[i].name, cmds[i].args);
		print_indented(f, "        ", cmds[i].help);
	}
	fputc('\n', f);
	opts_print_help(f, opts, NR_OPTS);
	fprintf(f, "\nCounters (stats):\n"
		   "  decapsulated  IPIP to one of the ADDRs: outer header removed, passed on\n"
		   "  passed        not IPIP: passed unchanged\n"
		   "  not_for_us    IPIP to an address that is not one of the ADDRs: passed\n"
		   "                unchanged\n"
		   "  malformed     IPIP to an ADDR that cannot be decapsulated (outer fragment,\n"
		   "                bad outer checksum, inner header truncated or of the wrong\n"
		   "                version): passed unchanged, the stack drops it\n"
		   "  drop_ecn      outer header marked CE, inner packet not ECN capable:\n"
		   "                dropped (RFC 6040)\n"
		   "  handed_on     carried a second chance, no connection here: sent on to\n"
		   "                the second-chance backend\n"
		   "  handed_on_stack  the same, through the stack (next hop's MAC unknown)\n"
		   "  drop_nowhere  to be handed on, but no route there: dropped\n"
		   "Second-chance outcomes, counted besides decapsulated:\n"
		   "  sc_local      a connection here: delivered here\n"
		   "  sc_syn        a SYN: never handed on\n"
		   "  sc_refused    not from an --lb address or not to a --peer: ignored\n"
		   "  sc_second_hop handed on once already: never again\n"
		   "  sc_unknown    not TCP or UDP, a fragment, or UDP that only an unconnected\n"
		   "                socket here would take: delivered here\n");
	fprintf(f, "\nExit status: 0 on success, 1 on failure, 2 on a usage error.\n");
}

/* Prints a usage error; returns the exit status for it. */
static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", PROG_NAME);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help'.\n", PROG_NAME);
	return EXIT_USAGE;
}

static int parse_addr(const char *s, struct bnc_decap_key *key)
{
	memset(key, 0, sizeof(*key));
	return addr_parse(s, key->addr, &key->family);
}

static const char *format_addr(const struct bnc_decap_key *key, char *buf, size_t len)
{
	return addr_format(key->addr, key->family, buf, len);
}

static int join_path(char *buf, const char *dir, const char *name)
{
	int n = snprintf(buf, PATH_MAX, "%s/%s", dir, name);

	if (n < 0 || n >= PATH_MAX)
		return -ENAMETOOLONG;
	return 0;
}

/* The pin directory of dev: --pin, or PIN_ROOT/DEV. */
static int pin_dir_of(const struct ctx *ctx, const char *dev, char *buf)
{
	if (ctx->pin_dir) {
		if (strlen(ctx->pin_dir) >= PATH_MAX)
			return -ENAMETOOLONG;
		strcpy(buf, ctx->pin_dir);
		return 0;
	}
	return join_path(buf, PIN_ROOT, dev);
}

static bool dir_is_empty(const char *dir)
{
	struct dirent *de;
	bool empty = true;
	DIR *d;

	d = opendir(dir);
	if (!d)
		return true;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			empty = false;
			break;
		}
	}
	closedir(d);
	return empty;
}

/* Creates the pin directory of an attach: on a bpf filesystem, and empty. */
static int prepare_pin_dir(const char *dir, const char *dev, bool *created)
{
	int err;

	if (strncmp(dir, BPFFS_ROOT "/", strlen(BPFFS_ROOT "/")) == 0) {
		err = bpffs_mount_root();
		if (err)
			return err;
	}
	err = mkdir_p(dir, 0700, created);
	if (err) {
		log_warnx("create pin directory %s: %s", dir, strerror(-err));
		return err;
	}
	if (!bpffs_is(dir)) {
		log_warnx("pin directory %s is not on a bpf filesystem", dir);
		err = -EINVAL;
		goto fail;
	}
	if (!dir_is_empty(dir)) {
		log_warnx("%s is not empty: is decap already attached to %s? "
			  "Run '%s detach %s' first",
			  dir, dev, PROG_NAME, dev);
		return -EEXIST;
	}
	return 0;
fail:
	if (*created)
		rmdir(dir);
	*created = false;
	return err;
}

/* The mode is the operator's: no silent fallback to the other one. */
static int attach_xdp(int prog_fd, unsigned int ifindex, const char *dev, enum attach_mode mode)
{
	bool skb = mode == MODE_SKB;
	int fd = xdp_link_create(prog_fd, (int)ifindex, skb);
	char why[256];

	if (fd < 0)
		log_warnx("%s", xdp_link_explain(fd, dev, skb, why, sizeof(why)));
	return fd;
}

/* Adds the addresses strs[0..n) to an address map (decap_lbs or
 * decap_peers); what names them in messages.
 */
static int fill_addr_map(struct bpf_map *map, const char *const *strs, int n, const char *what)
{
	struct bnc_decap_key key;
	__u32 zero = 0;
	int i, err;

	for (i = 0; i < n; i++) {
		if (parse_addr(strs[i], &key)) {
			log_warnx("bad %s address '%s': not an IPv4 or IPv6 address", what,
				  strs[i]);
			return -EINVAL;
		}
		err = bpf_map__update_elem(map, &key, sizeof(key), &zero, sizeof(zero), BPF_ANY);
		if (err) {
			log_warnx("add %s address '%s': %s", what, strs[i], strerror(-err));
			return err;
		}
	}
	return 0;
}

static int cmd_attach(const struct ctx *ctx)
{
	struct bnc_decap_key keys[BNC_DECAP_MAX_ADDRS];
	bool created_dir = false, pinned_link = false;
	char dir[PATH_MAX], path[PATH_MAX];
	const char *dev = ctx->argv[0];
	int nr_keys = ctx->argc - 1;
	struct decap *skel = NULL;
	unsigned int ifindex;
	int link_fd = -1;
	__u32 zero = 0;
	int err, i;

	if (nr_keys > BNC_DECAP_MAX_ADDRS) {
		log_warnx("too many addresses: %d, at most %d", nr_keys, BNC_DECAP_MAX_ADDRS);
		return -E2BIG;
	}
	for (i = 0; i < nr_keys; i++) {
		if (parse_addr(ctx->argv[i + 1], &keys[i])) {
			log_warnx("bad address '%s': not an IPv4 or IPv6 address",
				  ctx->argv[i + 1]);
			return -EINVAL;
		}
	}
	ifindex = if_nametoindex(dev);
	if (!ifindex) {
		log_warnx("unknown device '%s'", dev);
		return -ENODEV;
	}
	err = pin_dir_of(ctx, dev, dir);
	if (err) {
		log_warnx("pin directory of %s: %s", dev, strerror(-err));
		return err;
	}
	err = prepare_pin_dir(dir, dev, &created_dir);
	if (err)
		return err;

	skel = decap__open();
	if (!skel) {
		err = -errno;
		log_warnx("open the decap program: %s", strerror(-err));
		goto cleanup;
	}
	err = decap__load(skel);
	if (err) {
		log_warnx("load the decap program: %s", strerror(-err));
		goto cleanup;
	}
	for (i = 0; i < nr_keys; i++) {
		err = bpf_map__update_elem(skel->maps.decap_addrs, &keys[i], sizeof(keys[i]), &zero,
					   sizeof(zero), BPF_ANY);
		if (err) {
			log_warnx("add address '%s': %s", ctx->argv[i + 1], strerror(-err));
			goto cleanup;
		}
	}

	err = fill_addr_map(skel->maps.decap_lbs, ctx->lbs, ctx->nr_lbs, "load balancer");
	if (!err)
		err = fill_addr_map(skel->maps.decap_peers, ctx->peers, ctx->nr_peers, "peer");
	if (err)
		goto cleanup;

	link_fd = attach_xdp(bpf_program__fd(skel->progs.decap), ifindex, dev, ctx->mode);
	if (link_fd < 0) {
		err = link_fd;
		goto cleanup;
	}
	err = join_path(path, dir, PIN_LINK);
	if (!err)
		err = bpf_obj_pin(link_fd, path);
	if (err) {
		log_warnx("pin the link in %s: %s", dir, strerror(-err));
		goto cleanup;
	}
	pinned_link = true;
	err = join_path(path, dir, PIN_STATS);
	if (!err)
		err = bpf_map__pin(skel->maps.decap_stats, path);
	if (err) {
		log_warnx("pin the stats map in %s: %s", dir, strerror(-err));
		goto cleanup;
	}
	err = join_path(path, dir, PIN_ADDRS);
	if (!err)
		err = bpf_map__pin(skel->maps.decap_addrs, path);
	if (err) {
		log_warnx("pin the address map in %s: %s", dir, strerror(-err));
		goto cleanup;
	}
	err = join_path(path, dir, PIN_LBS);
	if (!err)
		err = bpf_map__pin(skel->maps.decap_lbs, path);
	if (!err)
		err = join_path(path, dir, PIN_PEERS);
	if (!err)
		err = bpf_map__pin(skel->maps.decap_peers, path);
	if (err) {
		log_warnx("pin the second-chance maps in %s: %s", dir, strerror(-err));
		goto cleanup;
	}
	log_info("attached to %s in %s mode for %d address%s; pinned in %s", dev,
		 ctx->mode == MODE_SKB ? "skb" : "native", nr_keys, nr_keys == 1 ? "" : "es", dir);

cleanup:
	if (err) {
		/* Unpinned, the link goes with its last fd: closing it below
		 * detaches the program.
		 */
		if (pinned_link && !join_path(path, dir, PIN_LINK))
			unlink(path);
		if (!join_path(path, dir, PIN_STATS))
			unlink(path);
		if (!join_path(path, dir, PIN_ADDRS))
			unlink(path);
		if (!join_path(path, dir, PIN_LBS))
			unlink(path);
		if (!join_path(path, dir, PIN_PEERS))
			unlink(path);
		if (created_dir)
			rmdir(dir);
		/* The shared parent, if this was to be its first entry. */
		if (created_dir && !ctx->pin_dir)
			rmdir(PIN_ROOT);
	}
	if (link_fd >= 0)
		close(link_fd);
	decap__destroy(skel);
	return err;
}

static int cmd_detach(const struct ctx *ctx)
{
	const char *names[] = { PIN_LINK, PIN_STATS, PIN_ADDRS, PIN_LBS, PIN_PEERS };
	char dir[PATH_MAX], path[PATH_MAX];
	const char *dev = ctx->argv[0];
	int link_fd = -1;
	size_t i;
	int err;

	err = pin_dir_of(ctx, dev, dir);
	if (err) {
		log_warnx("pin directory of %s: %s", dev, strerror(-err));
		return err;
	}
	if (access(dir, F_OK)) {
		err = -errno;
		if (err == -ENOENT)
			log_warnx("decap is not attached to %s: no pin directory %s", dev, dir);
		else
			log_warnx("%s: %s", dir, strerror(-err));
		return err;
	}

	err = join_path(path, dir, PIN_LINK);
	if (err)
		goto cleanup;
	link_fd = bpf_obj_get(path);
	if (link_fd >= 0) {
		/* Detach now rather than when the last reference goes, which
		 * the kernel does from a work queue after the unlink: when this
		 * command returns, the program is off the device. A link whose
		 * device is gone detaches as a no-op.
		 */
		err = bpf_link_detach(link_fd);
		if (err) {
			log_warnx("detach from %s: %s", dev, strerror(-err));
			goto cleanup;
		}
	} else if (link_fd != -ENOENT) {
		err = link_fd;
		log_warnx("open %s: %s", path, strerror(-err));
		goto cleanup;
	}

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		err = join_path(path, dir, names[i]);
		if (err)
			goto cleanup;
		if (unlink(path) && errno != ENOENT) {
			err = -errno;
			log_warnx("remove %s: %s", path, strerror(-err));
			goto cleanup;
		}
	}
	if (rmdir(dir)) {
		err = -errno;
		log_warnx("remove %s: %s", dir, strerror(-err));
		goto cleanup;
	}
	/* The shared parent of the default directories goes with the last. */
	if (!ctx->pin_dir)
		rmdir(PIN_ROOT);
	log_info("detached from %s", dev);
	err = 0;

cleanup:
	if (link_fd >= 0)
		close(link_fd);
	return err;
}

/* "native", "skb", ... for the device the link is on, or "detached". */
static const char *link_state(const char *dir, char *buf, size_t len)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, qopts);
	struct bpf_link_info info;
	__u32 info_len = sizeof(info);
	char path[PATH_MAX];
	int fd;

	if (join_path(path, dir, PIN_LINK))
		return "unknown";
	fd = bpf_obj_get(path);
	if (fd < 0)
		return "not attached (no link)";
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &info_len)) {
		close(fd);
		return "unknown";
	}
	close(fd);
	if (info.type != BPF_LINK_TYPE_XDP || !info.xdp.ifindex)
		return "detached (device gone?)";
	if (bpf_xdp_query((int)info.xdp.ifindex, 0, &qopts))
		return "unknown";
	snprintf(buf, len, "attached in %s mode, program %u",
		 qopts.attach_mode == XDP_ATTACHED_SKB	 ? "skb"
		 : qopts.attach_mode == XDP_ATTACHED_DRV ? "native"
							 : "other",
		 info.prog_id);
	return buf;
}

/* Prints the addresses of the map pinned as dir/name under the heading
 * title. A map that an attach of an older version did not pin is left
 * out when optional.
 */
static int print_addrs(const char *dir, const char *name, const char *title, bool optional)
{
	struct bnc_decap_key key, next, *prev = NULL;
	char path[PATH_MAX], buf[INET6_ADDRSTRLEN];
	int fd, err;

	err = join_path(path, dir, name);
	if (err)
		return err;
	fd = bpf_obj_get(path);
	if (fd < 0) {
		if (optional && fd == -ENOENT)
			return 0;
		log_warnx("open %s: %s", path, strerror(-fd));
		return fd;
	}
	printf("  %-13s", title);
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		printf(" %s", format_addr(&next, buf, sizeof(buf)));
		key = next;
		prev = &key;
	}
	printf("\n");
	close(fd);
	return 0;
}

/* Prints the addresses and counters pinned in dir under the heading name. */
static int print_stats(const char *name, const char *dir)
{
	char path[PATH_MAX], state[128];
	__u64 *values = NULL;
	int fd = -1, nr_cpus;
	__u32 key;
	int err, cpu;

	nr_cpus = libbpf_num_possible_cpus();
	if (nr_cpus < 0)
		return nr_cpus;
	values = calloc((size_t)nr_cpus, sizeof(*values));
	if (!values)
		return -ENOMEM;
	err = join_path(path, dir, PIN_STATS);
	if (err)
		goto cleanup;
	fd = bpf_obj_get(path);
	if (fd < 0) {
		err = fd;
		if (err == -ENOENT)
			log_warnx("decap is not attached to %s: no %s", name, path);
		else
			log_warnx("open %s: %s", path, strerror(-err));
		goto cleanup;
	}

	printf("%s: %s\n", name, link_state(dir, state, sizeof(state)));
	err = print_addrs(dir, PIN_ADDRS, "addresses", false);
	if (!err)
		err = print_addrs(dir, PIN_LBS, "lbs", true);
	if (!err)
		err = print_addrs(dir, PIN_PEERS, "peers", true);
	if (err)
		goto cleanup;
	for (key = 0; key < BNC_DECAP_STAT_MAX; key++) {
		__u64 sum = 0;

		err = bpf_map_lookup_elem(fd, &key, values);
		if (err) {
			log_warnx("read counter %s: %s", stat_names[key], strerror(-err));
			goto cleanup;
		}
		for (cpu = 0; cpu < nr_cpus; cpu++)
			sum += values[cpu];
		printf("  %-13s %llu\n", stat_names[key], (unsigned long long)sum);
	}

cleanup:
	if (fd >= 0)
		close(fd);
	free(values);
	return err;
}

static int cmd_stats(const struct ctx *ctx)
{
	char dir[PATH_MAX];
	struct dirent *de;
	DIR *d = NULL;
	int err, found = 0;

	if (ctx->argc == 1 || ctx->pin_dir) {
		const char *name = ctx->argc == 1 ? ctx->argv[0] : ctx->pin_dir;

		err = pin_dir_of(ctx, name, dir);
		if (err)
			return err;
		return print_stats(name, dir);
	}

	d = opendir(PIN_ROOT);
	if (!d) {
		err = -errno;
		if (err == -ENOENT)
			log_warnx("decap is not attached anywhere: no %s", PIN_ROOT);
		else
			log_warnx("%s: %s", PIN_ROOT, strerror(-err));
		return err;
	}
	err = 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		err = join_path(dir, PIN_ROOT, de->d_name);
		if (!err)
			err = print_stats(de->d_name, dir);
		if (err)
			goto cleanup;
		found++;
	}
	if (!found) {
		log_warnx("decap is not attached anywhere: %s is empty", PIN_ROOT);
		err = -ENOENT;
	}

cleanup:
	closedir(d);
	return err;
}

/* Replaces the pinned peer map's entries: the new ones are added first,
 * then the ones no longer named removed, so that a peer in both sets is
 * never missing in between.
 */
static int cmd_peers(const struct ctx *ctx)
{
	struct bnc_decap_key keys[BNC_DECAP_MAX_PEERS], cur, next, *prev = NULL;
	int nr = ctx->argc - 1, fd = -1, err = 0, i;
	char dir[PATH_MAX], path[PATH_MAX];
	bool keep;
	__u32 zero = 0;

	if (nr > BNC_DECAP_MAX_PEERS) {
		log_warnx("too many peers: %d, at most %d", nr, BNC_DECAP_MAX_PEERS);
		return -E2BIG;
	}
	for (i = 0; i < nr; i++) {
		if (parse_addr(ctx->argv[i + 1], &keys[i])) {
			log_warnx("bad address '%s': not an IPv4 or IPv6 address",
				  ctx->argv[i + 1]);
			return -EINVAL;
		}
	}
	err = pin_dir_of(ctx, ctx->argv[0], dir);
	if (!err)
		err = join_path(path, dir, PIN_PEERS);
	if (err)
		return err;
	fd = bpf_obj_get(path);
	if (fd < 0) {
		log_warnx("open %s: %s (is decap attached to %s?)", path, strerror(-fd),
			  ctx->argv[0]);
		return fd;
	}
	for (i = 0; i < nr; i++) {
		if (bpf_map_update_elem(fd, &keys[i], &zero, BPF_ANY)) {
			err = -errno;
			log_warnx("add peer '%s': %s", ctx->argv[i + 1], strerror(-err));
			goto cleanup;
		}
	}
	/* A deleted key restarts the walk from the start: next is looked up
	 * again from prev, which stays a key that is kept.
	 */
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		keep = false;
		for (i = 0; i < nr && !keep; i++)
			keep = memcmp(&keys[i], &next, sizeof(next)) == 0;
		if (keep) {
			cur = next;
			prev = &cur;
			continue;
		}
		if (bpf_map_delete_elem(fd, &next) && errno != ENOENT) {
			err = -errno;
			log_warnx("remove a peer: %s", strerror(-err));
			goto cleanup;
		}
	}
	log_info("%d peer%s for %s", nr, nr == 1 ? "" : "s", ctx->argv[0]);

cleanup:
	close(fd);
	return err;
}

/* Exit status of a command line that main() should return, or OPT_CONTINUE. */
#define OPT_CONTINUE (-1)

static int handle_opt(int c, struct ctx *ctx, bool *verbose)
{
	switch (c) {
	case 'm':
		if (strcmp(optarg, "native") == 0)
			ctx->mode = MODE_NATIVE;
		else if (strcmp(optarg, "skb") == 0)
			ctx->mode = MODE_SKB;
		else
			return usage_error("bad --mode '%s': native or skb", optarg);
		ctx->mode_set = true;
		return OPT_CONTINUE;
	case 'p':
		if (!*optarg)
			return usage_error("empty --pin");
		ctx->pin_dir = optarg;
		return OPT_CONTINUE;
	case 'l':
		if (ctx->nr_lbs >= BNC_DECAP_MAX_LBS)
			return usage_error("more than %d --lb", BNC_DECAP_MAX_LBS);
		ctx->lbs[ctx->nr_lbs++] = optarg;
		return OPT_CONTINUE;
	case 'P':
		if (ctx->nr_peers >= BNC_DECAP_MAX_PEERS)
			return usage_error("more than %d --peer", BNC_DECAP_MAX_PEERS);
		ctx->peers[ctx->nr_peers++] = optarg;
		return OPT_CONTINUE;
	case 'v':
		*verbose = true;
		return OPT_CONTINUE;
	case 'V':
		version_print(stdout, PROG_NAME);
		return EXIT_SUCCESS;
	case 'h':
		usage(stdout);
		return EXIT_SUCCESS;
	default:
		/* getopt has said what is wrong. */
		fprintf(stderr, "Try '%s --help'.\n", PROG_NAME);
		return EXIT_USAGE;
	}
}

int main(int argc, char **argv)
{
	static struct ctx ctx = { .mode = MODE_NATIVE }; /* 8 KB of --peer: not on the stack */
	struct opts_parser parser;
	const struct cmd *cmd = NULL;
	bool verbose = false;
	int c, ret;
	size_t i;

	log_init(PROG_NAME, LOG_LEVEL_INFO);
	if (opts_init(&parser, opts, NR_OPTS))
		return EXIT_FAILURE;

	/* Options before the command: stop at the first non-option. */
	while ((c = opts_next(&parser, argc, argv, true)) != -1) {
		ret = handle_opt(c, &ctx, &verbose);
		if (ret != OPT_CONTINUE)
			return ret;
	}
	if (optind >= argc)
		return usage_error("missing command");
	for (i = 0; i < NR_CMDS; i++) {
		if (strcmp(argv[optind], cmds[i].name) == 0)
			cmd = &cmds[i];
	}
	if (!cmd)
		return usage_error("unknown command '%s'", argv[optind]);

	/* The command's arguments and options, in any order. optind 0 makes
	 * glibc's getopt start afresh, in permuting mode this time.
	 */
	argc -= optind;
	argv += optind;
	optind = 0;
	while ((c = opts_next(&parser, argc, argv, false)) != -1) {
		ret = handle_opt(c, &ctx, &verbose);
		if (ret != OPT_CONTINUE)
			return ret;
	}
	ctx.argc = argc - optind;
	ctx.argv = argv + optind;

	if (ctx.mode_set && cmd->run != cmd_attach)
		return usage_error("--mode applies to attach only, not to %s", cmd->name);
	if ((ctx.nr_lbs || ctx.nr_peers) && cmd->run != cmd_attach)
		return usage_error("--lb and --peer apply to attach only, not to %s", cmd->name);
	if (ctx.argc < cmd->min_args || (cmd->max_args >= 0 && ctx.argc > cmd->max_args))
		return usage_error("%s: %s arguments; usage: %s %s %s", cmd->name,
				   ctx.argc < cmd->min_args ? "missing" : "too many", PROG_NAME,
				   cmd->name, cmd->args);

	if (verbose)
		log_set_level(LOG_LEVEL_DEBUG);
	log_route_libbpf();
	return cmd->run(&ctx) ? EXIT_FAILURE : EXIT_SUCCESS;
}
