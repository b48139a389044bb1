/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The agent's state file: which ids it gave which VIPs and backends, and
 * their admin and health states, so that an agent started after a crash
 * takes over the running datapath with the same ids (the flow table names
 * backends by id) and the same states, instead of starting from scratch.
 */
#ifndef BOUNCER_DAEMON_STATE_H
#define BOUNCER_DAEMON_STATE_H

#include <stdbool.h>

#include "bouncer_abi.h"
#include "config.h"
#include "removed.h"
#include "workers.h"

struct daemon;

struct saved_backend {
	__be32 addr[4];
	__u8 family;
	__u16 port;
	__u32 id;
	enum cfg_admin admin;
	bool healthy;
	bool health_known;
	/* Written by agents that keep run-time settings; an older file has
	 * none, and only its admin state is taken.
	 */
	bool has_config;
	__u32 weight;
	__u32 cfg_weight;
	enum cfg_admin cfg_admin;
	bool added; /* at run time, not from the config file */
};

struct saved_vip {
	char *name;
	struct bnc_vip_key key;
	__u32 vip_id;
	/* Added at run time, and the settings it was added with (a file
	 * of an older agent has none: added is false).
	 */
	bool added;
	int forwarding; /* enum bnc_forwarding */
	int hash; /* enum cfg_hash */
	int fail; /* enum cfg_fail */
	__u32 ring_size;
	struct saved_backend *backends;
	size_t nbackends;
	struct worker_info *workers; /* still running when the state was saved */
	size_t nworkers;
};

struct saved_state {
	struct saved_vip *vips;
	size_t nvips;
	__u32 next_backend_id;
	struct removed_list removed; /* config entries removed at run time */
	bool host_drained; /* bouncerctl host drain: announces nothing */
};

/* Reads path into st; -ENOENT when there is none. */
int daemon_state_read(const char *path, struct saved_state *st);
void daemon_state_free(struct saved_state *st);
/* Writes the daemon's current state to its state file, atomically
 * (a new file renamed over the old). Logs failures.
 */
int daemon_state_save(struct daemon *d);
/* The config of a VIP added at run time, as vip.add made it: 0, or
 * -EINVAL (message in err) / -ENOMEM. cv is the caller's to release
 * either way.
 */
int daemon_state_vip_cfg(const struct saved_vip *sv, struct cfg_vip *cv, char *err, size_t errlen);
/* The saved entries the daemon adopted at start, if any. */
const struct saved_vip *daemon_state_vip(struct daemon *d, const char *name);
const struct saved_backend *daemon_state_backend(struct daemon *d, const char *vip,
						 const __be32 addr[4], __u8 family, __u16 port);

#endif /* BOUNCER_DAEMON_STATE_H */
