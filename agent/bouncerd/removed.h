/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* VIPs and backends of the config file that an operator removed at run
 * time (bouncerctl vip del, backend del). Each stays out across reloads
 * and restarts while the config file lists it as it did when it was
 * removed: the same VIP address, port and protocol, and for a backend the
 * same weight and admin state. Once the file changes it, or no longer
 * lists it, the file's word is the last one and the record is dropped.
 * The same rule as a run-time weight's (see daemon.h, struct backend_rt).
 */
#ifndef BOUNCER_REMOVED_H
#define BOUNCER_REMOVED_H

#include <stdbool.h>
#include <stddef.h>

#include "bouncer_abi.h"
#include "config.h"

struct removed_item {
	char *vip; /* the VIP's name */
	struct bnc_vip_key key; /* the VIP's address, port and protocol */
	bool is_backend; /* else the whole VIP */
	/* A backend: which one, and the config file's values for it when
	 * it was removed.
	 */
	__be32 addr[4];
	__u8 family;
	__u16 port; /* host order */
	__u32 cfg_weight;
	enum cfg_admin cfg_admin;
};

struct removed_list {
	struct removed_item *items;
	size_t n;
};

/* Records a removal (replacing an older record of the same VIP or
 * backend). 0 or -ENOMEM.
 */
int removed_add(struct removed_list *l, const struct removed_item *it);
/* Whether the config's cv, or its backend cb, stays out. */
bool removed_has_vip(const struct removed_list *l, const struct cfg_vip *cv);
bool removed_has_backend(const struct removed_list *l, const struct cfg_vip *cv,
			 const struct cfg_backend *cb);
/* Added again at run time: the record goes (a VIP's takes its backends'
 * records with it).
 */
void removed_forget_vip(struct removed_list *l, const char *vip);
void removed_forget_backend(struct removed_list *l, const char *vip, const __be32 addr[4],
			    __u8 family, __u16 port);
/* Drops the records that c does not match: the file changed or dropped
 * what was removed. Returns how many went.
 */
size_t removed_prune(struct removed_list *l, const struct cfg *c);
void removed_free(struct removed_list *l);

#endif /* BOUNCER_REMOVED_H */
