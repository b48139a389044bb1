// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* See bpfsys.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/sockios.h>
#include <linux/magic.h>

#include "bpfsys.h"
#include "log.h"

bool bpffs_is(const char *path)
{
	struct statfs st;

	return statfs(path, &st) == 0 && st.f_type == BPF_FS_MAGIC;
}

/* Every mount of the bpf filesystem is a new instance, and it lives as long
 * as its mount namespace. `ip netns exec` runs commands in a mount namespace
 * of its own, with a fresh /sys and no bpf filesystem: one mounted there
 * goes, with the pins in it and so the program, when the command exits.
 * Warns unless this is init's mount namespace; when that cannot be told
 * (no access to /proc/1), warns too.
 */
static void warn_if_private_mount_ns(void)
{
	char self[64], init[64];
	ssize_t n;

	n = readlink("/proc/self/ns/mnt", self, sizeof(self) - 1);
	if (n >= 0) {
		self[n] = '\0';
		n = readlink("/proc/1/ns/mnt", init, sizeof(init) - 1);
	}
	if (n >= 0) {
		init[n] = '\0';
		if (strcmp(self, init) == 0)
			return;
	}
	log_warnx("%s: the pins, and with them the program, last only as long as this "
		  "mount namespace; under 'ip netns exec' that is until this command exits. "
		  "Enter a network namespace with 'nsenter --net=/run/netns/NAME' instead",
		  BPFFS_ROOT);
}

int bpffs_mount_root(void)
{
	if (bpffs_is(BPFFS_ROOT))
		return 0;
	if (mount("bpf", BPFFS_ROOT, "bpf", 0, "mode=0700")) {
		int err = -errno;

		log_warnx("mount the bpf filesystem on %s: %s", BPFFS_ROOT, strerror(-err));
		return err;
	}
	log_info("mounted the bpf filesystem on %s", BPFFS_ROOT);
	warn_if_private_mount_ns();
	return 0;
}

/* Pins must live on bpffs; a plain directory would fail only at load time
 * with a less helpful message.
 */
int bpffs_check(const char *dir)
{
	struct statfs st;

	if (statfs(dir, &st))
		return -errno;
	if (st.f_type != BPF_FS_MAGIC) {
		log_warnx("%s is not on a bpf filesystem (mount -t bpf bpf %s)", dir, BPFFS_ROOT);
		return -ENOTSUP;
	}
	return 0;
}

int xdp_link_create(int prog_fd, int ifindex, bool skb)
{
	LIBBPF_OPTS(bpf_link_create_opts, opts);
	int fd;

	opts.flags = skb ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
	fd = bpf_link_create(prog_fd, ifindex, BPF_XDP, &opts);
	return fd < 0 ? -errno : fd;
}

/* The name of the driver behind dev, as ethtool -i gives it, in buf; false
 * when the device has none to tell (or is gone).
 */
static bool dev_driver(const char *dev, char *buf, size_t len)
{
	struct ethtool_drvinfo info = { .cmd = ETHTOOL_GDRVINFO };
	struct ifreq ifr = { 0 };
	int fd, err;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
	ifr.ifr_data = (char *)&info;
	err = ioctl(fd, SIOCETHTOOL, &ifr);
	close(fd);
	if (err || !info.driver[0])
		return false;
	snprintf(buf, len, "%.*s", (int)sizeof(info.driver), info.driver);
	return true;
}

/* Native mode refused by the driver (the kernel's reason goes to the
 * netlink request, which a link does not have): name the driver, and for
 * virtio_net, the one an operator meets first in a VM, what it asks for.
 */
static const char *native_refused(int err, const char *dev, char *buf, size_t len)
{
	char drv[64];

	if (!dev_driver(dev, drv, sizeof(drv))) {
		snprintf(buf, len, "native mode not supported by %s; try --mode skb", dev);
		return buf;
	}
	if (!strcmp(drv, "virtio_net")) {
		snprintf(
			buf, len,
			"the virtio_net driver of %s refused native mode (%s): it needs the host's "
			"receive offloads off (ethtool -K %s rx-gro-hw off, or QEMU's "
			"guest_tso4=off,guest_tso6=off,guest_ecn=off,guest_ufo=off,guest_csum=off "
			"where the device does not let the guest switch them), an MTU that fits a "
			"page (at most about 3500 bytes), and on older kernels a spare queue pair "
			"per CPU (QEMU: mq=on, and twice as many queues as CPUs); try --mode skb",
			dev, strerror(-err), dev);
		return buf;
	}
	snprintf(buf, len,
		 "the %s driver of %s refused native mode (%s): see the driver's XDP "
		 "requirements; try --mode skb",
		 drv, dev, strerror(-err));
	return buf;
}

const char *xdp_link_explain(int err, const char *dev, bool skb, char *buf, size_t len)
{
	if (!skb && (err == -EOPNOTSUPP || err == -EINVAL || err == -ENOMEM || err == -ENOSPC))
		return native_refused(err, dev, buf, len);
	switch (err) {
	case -EBUSY:
	case -EEXIST:
		/* EBUSY: another program in this mode; EEXIST: one in the
		 * other mode (native and generic exclude each other).
		 */
		snprintf(buf, len,
			 "%s already has an XDP program attached (see 'ip link show %s'); "
			 "detach it first",
			 dev, dev);
		break;
	case -EOPNOTSUPP:
		snprintf(buf, len, "attach to %s in skb mode: %s", dev, strerror(-err));
		break;
	default:
		if (!skb)
			snprintf(buf, len, "attach to %s in native mode: %s; try --mode skb", dev,
				 strerror(-err));
		else
			snprintf(buf, len, "attach to %s in skb mode: %s", dev, strerror(-err));
		break;
	}
	return buf;
}
