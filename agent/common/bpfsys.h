/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* What bouncerd and bouncer-decap share in dealing with the kernel's BPF
 * objects: the bpf filesystem their pins live on, and XDP links.
 */
#ifndef BOUNCER_BPFSYS_H
#define BOUNCER_BPFSYS_H

#include <stdbool.h>
#include <stddef.h>

#define BPFFS_ROOT "/sys/fs/bpf"

/* path is on a bpf filesystem. */
bool bpffs_is(const char *path);
/* Mounts the bpf filesystem on BPFFS_ROOT unless it is there already;
 * warns when the mount will not outlive this process's mount namespace.
 * 0 or -errno (logged).
 */
int bpffs_mount_root(void);
/* 0 when dir is on a bpf filesystem; else warns, saying how to mount one,
 * and returns -ENOTSUP (or -errno when dir cannot be looked at).
 */
int bpffs_check(const char *dir);

/* An XDP link of prog_fd on ifindex, in skb (generic) mode or native.
 * libbpf 1.1's bpf_program__attach_xdp() passes no flags, so the kernel
 * would fall back to skb mode silently where the driver has no native XDP;
 * the mode is the operator's choice here. The link's fd, or -errno.
 */
int xdp_link_create(int prog_fd, int ifindex, bool skb);
/* Why xdp_link_create() failed with err on dev, and what to try, in buf. */
const char *xdp_link_explain(int err, const char *dev, bool skb, char *buf, size_t len);

#endif /* BOUNCER_BPFSYS_H */
