/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* bouncerd's runtime: the VIPs and backends it manages, their health and
 * admin states, the rings it builds from them, and keeping the datapath's
 * maps in step. daemon.c owns the model; daemon_ctl.c answers the control
 * socket; metrics.c renders it for Prometheus.
 */
#ifndef BOUNCER_DAEMON_H
#define BOUNCER_DAEMON_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <event2/event.h>

#include "announce.h"
#include "config.h"
#include "daemon_state.h"
#include "flow_watch.h"
#include "ring_clean.h"
#include "health.h"
#include "lock.h"
#include "maps.h"
#include "nexthop.h"
#include "removed.h"
#include "workers.h"

struct vip_rt;

struct backend_rt {
	struct vip_rt *vip;
	__u32 id; /* index in the backends map */
	/* A local worker of the VIP's pool: reached through sk_lookup, up
	 * while the worker listens (no health check). Its addr is all zero
	 * and its port worker_id + 1: a name for the ring and the state file,
	 * not where it listens.
	 */
	bool local;
	unsigned int worker_id;
	enum worker_state worker_state;
	__be32 addr[4];
	__u8 family;
	__u16 port;
	__u32 weight;
	enum cfg_admin admin;
	/* The config file's weight and admin state: a run-time setting
	 * (weight or admin that differs from these) stays across reloads and
	 * restarts until the config file's value changes.
	 */
	__u32 cfg_weight;
	enum cfg_admin cfg_admin;
	/* Added at run time (bouncerctl backend add), not from the config
	 * file: it stays across reloads and restarts until the file lists
	 * it, and the file's entry takes it over.
	 */
	bool added;
	struct cfg_check check; /* a private copy: strings owned here */
	struct health_check *hc; /* NULL when in maint */
	bool healthy; /* a check of type none is always healthy */
	bool health_known; /* a check has decided at least once */
	bool nexthop_ok;
	struct nexthop nh;
	__u8 datapath_state; /* enum bnc_backend_state last written */
	struct bnc_traffic last; /* for rates */
	double pps, bps, fps; /* fps: flows placed a second */
};

struct vip_rt {
	struct daemon *daemon;
	__u32 vip_id;
	char *name;
	/* Added at run time (bouncerctl vip add): it stays across reloads
	 * and restarts until the config file has a VIP of its name or
	 * address, which takes over.
	 */
	bool added;
	struct bnc_vip_key key;
	__u8 forwarding;
	__u32 ring_size;
	bool sticky;
	bool fail_open;
	bool failing_open; /* no healthy backend: all not in maint take traffic */
	struct cfg_check check; /* the VIP's default check (copy) */
	struct backend_rt **backends;
	size_t nbackends;
	__u32 *ring; /* the ring last swapped in */
	__u32 moved; /* slots that changed in the last rebuild */
	/* Ring slots changed (with a previous backend), and since when the
	 * VIP has had them: see ring_clean.h.
	 */
	__u32 changed_slots;
	double history_since;
	time_t rebuilt;
	struct bnc_traffic last;
	double pps, bps, fps; /* fps: flows placed a second */
	__u32 ring_backends; /* backends in the ring now: 0, nothing to serve */
	/* Local workers (daemon_workers.c); pool NULL when none. */
	struct cfg_workers *workers; /* the running block, a copy */
	struct cfg_workers *workers_next; /* what a rolling reload brings in */
	struct worker_pool *pool;
	bool workers_reloading;
	char *workers_last_reload; /* NULL, "ok" or the error */
};

struct daemon {
	struct event_base *base;
	struct cfg *cfg;
	struct bnc_maps *maps;
	struct vip_rt **vips;
	size_t nvips;
	bool adopted; /* took over a datapath a previous agent left */
	bool sk_lookup_attached; /* steering to local workers */
	bool binds_attached; /* UDP workers bound to their VIP's port */
	bool detach_on_exit;
	time_t started;
	enum cfg_attach_mode attached_mode[8]; /* per interface: native or skb */
	struct ctl_server *ctl;
	struct metrics *metrics;
	struct event *tick; /* rates, next hops, state file */
	struct flow_watch flow_watch; /* the flow table's fill and turnover */
	struct ring_clean ring_clean; /* when changed ring slots are clean again */
	struct event *sig_hup, *sig_term, *sig_int;
	char state_path[256];
	struct saved_state *saved; /* what the previous agent left, until start ends */
	__u32 next_backend_id; /* ids are handed out round-robin */
	/* Config VIPs and backends removed at run time, kept out of reloads
	 * and restarts (and in the state file).
	 */
	struct removed_list removed;
	/* Announcing (daemon_announce.c): the addresses whose routes are
	 * in the table now, and the host's drain (kept in the state file).
	 */
	struct announce_addr *announced;
	size_t nannounced;
	bool announce_failing; /* a route could not be written: retried each tick */
	bool withdrawing; /* detaching: nothing is announced */
	bool serving; /* the start is done: every VIP set up, interfaces attached */
	bool host_drained;
	time_t drain_started;
	unsigned int drain_quiet_ticks;
	double drained_after_s; /* < 0 while traffic still comes */
	uint64_t fail_open_events;
	unsigned int reloads; /* config reloads that passed the checks */
	/* Taken first at start: without it, the agent touches nothing on
	 * its way out either (another agent owns the pins and the state).
	 */
	struct agent_lock lock;
};

struct reload_summary {
	unsigned int vips_added, vips_removed, vips_changed;
	unsigned int backends_added, backends_removed, backends_changed;
};

/* Options from the command line. */
struct daemon_opts {
	const char *config_path;
	bool mode_set; /* --mode overrides the config's */
	enum cfg_attach_mode mode;
	bool detach_on_exit;
	const char *state_dir; /* default /run/bouncer */
};

/* Loads the config, opens (or adopts) the maps, attaches, starts checks,
 * the control socket and metrics. 0 or -errno (logged).
 */
int daemon_start(struct daemon *d, const struct daemon_opts *opts);
/* Converts the maps pinned at the config's pin_dir to the older layout
 * version, for an older agent to start over; refused while an agent
 * runs. 0 or -errno (logged).
 */
int daemon_downgrade_maps(const struct daemon_opts *opts, unsigned int version);
/* Runs the event loop until a stop signal or a detach. */
int daemon_run(struct daemon *d);
/* Stops everything; the datapath stays attached unless detaching. */
void daemon_stop(struct daemon *d);

/* Re-reads the config file; on any error keeps the running config and
 * returns -EINVAL with the message in err. On success, summary counts
 * what changed (six counters, see docs/control.md "reload").
 */
int daemon_reload(struct daemon *d, struct reload_summary *summary, char *err, size_t errlen);

/* Model access and changes, for the control handlers. */
struct vip_rt *daemon_vip_find(struct daemon *d, const char *name);
struct backend_rt *daemon_backend_find(struct vip_rt *v, const __be32 addr[4], __u8 family,
				       __u16 port);
/* Adds a VIP of the config file, or one added at run time (added). */
int daemon_vip_add(struct daemon *d, const struct cfg_vip *cv, bool added, char *err,
		   size_t errlen);
int daemon_vip_del(struct daemon *d, struct vip_rt *v);
/* A backend at run time (bouncerctl backend add): one the config file
 * lists for v comes back as the file's, with cb's weight and admin state as
 * run-time settings; any other is added.
 */
int daemon_backend_add(struct daemon *d, struct vip_rt *v, const struct cfg_backend *cb, char *err,
		       size_t errlen);
int daemon_backend_del(struct daemon *d, struct backend_rt *b);
/* bouncerctl vip del and backend del: removed, and one of the config
 * file's is kept out of reloads and restarts (removed.h).
 */
int daemon_vip_remove_at_run_time(struct daemon *d, struct vip_rt *v);
int daemon_backend_remove_at_run_time(struct daemon *d, struct backend_rt *b);
int daemon_backend_set_admin(struct daemon *d, struct backend_rt *b, enum cfg_admin admin);
int daemon_backend_set_weight(struct daemon *d, struct backend_rt *b, __u32 weight);
/* Removes the XDP program from every interface and the pins; the loop
 * then ends.
 */
int daemon_detach(struct daemon *d);

/* Used by the modules that make up the daemon. */
int daemon_vips_attach(struct daemon *d, const struct cfg *c, char *err, size_t errlen);
void daemon_vips_free(struct daemon *d);
int daemon_vip_reconfigure(struct daemon *d, struct vip_rt *v, const struct cfg_vip *cv,
			   struct reload_summary *sum, char *err, size_t errlen);
void daemon_refresh(struct daemon *d, bool nexthops);

/* A VIP's local workers (daemon_workers.c). */
int daemon_workers_start(struct daemon *d, struct vip_rt *v, const struct cfg_workers *cw,
			 char *err, size_t errlen);
/* Out of traffic first, then stopped: blocking (agent exit) or in the
 * loop.
 */
void daemon_workers_stop(struct daemon *d, struct vip_rt *v, bool wait);
/* A reload's workers block for v (NULL: none): started, stopped, scaled,
 * or replaced one by one when the program changed. -EBUSY while a
 * rolling reload runs.
 */
int daemon_workers_reconfigure(struct daemon *d, struct vip_rt *v, const struct cfg_workers *cw,
			       bool *changed, char *err, size_t errlen);
int daemon_workers_scale(struct daemon *d, struct vip_rt *v, unsigned int count, char *err,
			 size_t errlen);
int daemon_workers_restart(struct daemon *d, struct vip_rt *v, unsigned int id, char *err,
			   size_t errlen);
int daemon_workers_reload(struct daemon *d, struct vip_rt *v, char *err, size_t errlen);
/* UDP workers bound to their VIP's address and port (daemon_binds.c):
 * the bind hook taken over, or attached when c has UDP workers (a
 * failure is logged, and UDP workers then answer from their own port);
 * and the worker_binds map made to name the ports of every UDP VIP's
 * workers, those of grow counted as count wide at least.
 */
int daemon_binds_ensure(struct daemon *d, const struct cfg *c);
int daemon_binds_sync(struct daemon *d, const struct vip_rt *grow, unsigned int count);
/* The worker behind a local backend, from the pool; false when none. */
bool daemon_worker_info(const struct backend_rt *b, struct worker_info *out);

/* Local backends, one per worker id (daemon.c). */
struct backend_rt *daemon_local_backend_find(struct vip_rt *v, unsigned int worker_id);
int daemon_local_backend_add(struct daemon *d, struct vip_rt *v, unsigned int worker_id);
/* Brings the maps in line with v: fail-open, backend states, ring. */
int daemon_vip_apply(struct daemon *d, struct vip_rt *v);
/* maglev_digest() of v's ring under seed: the same on every host whose
 * ring sends each flow where this one does. 0 or -errno.
 */
int daemon_ring_digest(const struct vip_rt *v, __u32 seed, __u64 *out);

/* The health state as text: "up", "down" or "unchecked". */
const char *daemon_backend_health(const struct backend_rt *b);
const char *daemon_datapath_state_name(__u8 state);

/* Announcing and host drain (daemon_announce.c). */
/* Reads what a previous agent announced: at start, before the VIPs. */
int daemon_announce_start(struct daemon *d);
/* Brings the table in line with what can be served now. */
void daemon_announce_sync(struct daemon *d);
/* Before a detach: every route goes; with wait, blocks for the config's
 * withdraw_wait so that the BGP daemon's peers hear of it first.
 */
void daemon_announce_withdraw_all(struct daemon *d, bool wait);
bool daemon_announcing(const struct daemon *d);
bool daemon_vip_announced(const struct daemon *d, const struct vip_rt *v);
/* bouncerctl host drain (drain) and host ready: -EINVAL without an
 * announce block (err says why).
 */
int daemon_host_drain(struct daemon *d, bool drain, char *err, size_t errlen);
/* "ready", "draining" (withdrawn, traffic still comes) or "drained". */
const char *daemon_host_state(const struct daemon *d);
double daemon_host_pps(const struct daemon *d);
/* Every second: retries, and tells when a drained host's traffic went. */
void daemon_host_tick(struct daemon *d);

/* Control socket handler (daemon_ctl.c). */
struct json_t;
struct json_t *daemon_ctl_handle(const char *cmd, const struct json_t *args, void *arg);

#endif /* BOUNCER_DAEMON_H */
