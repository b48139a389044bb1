// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* bouncerd's life: start (load or adopt the datapath, attach), the event
 * loop with its signals and tick, reload, stop and detach.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#define _GNU_SOURCE /* syscall */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/capability.h>
#include <linux/if_link.h>

#include "common/ctl.h"
#include "daemon.h"
#include "common/log.h"
#include "metrics.h"
#include "notify.h"
#include "common/bpfsys.h"
#include "common/util.h"
#include "common/vocab.h"

static void link_pin_path(const struct daemon *d, const char *ifname, char *buf, size_t len)
{
	snprintf(buf, len, "%s/link_%s", d->cfg->pin_dir, ifname);
}

/* Attaches to one interface, or takes over the program a previous agent
 * left there.
 */
static int attach_one(struct daemon *d, size_t i, enum cfg_attach_mode mode)
{
	const char *ifname = d->cfg->interfaces[i];
	char pin[PATH_MAX], why[256];
	int ifindex = (int)if_nametoindex(ifname), err;

	if (!ifindex) {
		log_errx("interface %s: no such device", ifname);
		return -ENODEV;
	}
	link_pin_path(d, ifname, pin, sizeof(pin));
	err = bnc_maps_link_adopt(d->maps, pin);
	if (!err) {
		log_info("interface %s: took over the attached program", ifname);
		d->attached_mode[i] = mode == CFG_ATTACH_SKB ? CFG_ATTACH_SKB : CFG_ATTACH_NATIVE;
		return 0;
	}
	if (err != -ENOENT) {
		log_errx("interface %s: cannot take over the link pinned at %s: %s", ifname, pin,
			 strerror(-err));
		return err;
	}
	if (mode != CFG_ATTACH_SKB) {
		err = bnc_maps_attach(d->maps, ifindex, false, pin);
		if (!err) {
			d->attached_mode[i] = CFG_ATTACH_NATIVE;
			log_info("interface %s: attached in native mode", ifname);
			return 0;
		}
		if (mode == CFG_ATTACH_NATIVE) {
			log_errx("interface %s: %s", ifname,
				 xdp_link_explain(err, ifname, false, why, sizeof(why)));
			return err;
		}
		log_warnx("interface %s: native mode failed (%s): falling back to skb mode", ifname,
			  strerror(-err));
	}
	err = bnc_maps_attach(d->maps, ifindex, true, pin);
	if (err) {
		log_errx("interface %s: %s", ifname,
			 xdp_link_explain(err, ifname, true, why, sizeof(why)));
		return err;
	}
	d->attached_mode[i] = CFG_ATTACH_SKB;
	log_info("interface %s: attached in skb mode", ifname);
	return 0;
}

static bool cfg_has_workers(const struct cfg *c)
{
	for (size_t i = 0; i < c->nvips; i++)
		if (c->vips[i].workers)
			return true;
	return false;
}

/* The sk_lookup program that steers VIP connections to local workers:
 * taken over from a previous agent, or attached to this network
 * namespace when a VIP has workers (it runs on every socket lookup, so
 * not before).
 */
static int sk_lookup_ensure(struct daemon *d, const struct cfg *c)
{
	char pin[PATH_MAX];
	int err;

	if (d->sk_lookup_attached)
		return 0;
	snprintf(pin, sizeof(pin), "%s/link_sk_lookup", d->cfg->pin_dir);
	err = bnc_maps_sk_lookup_link_adopt(d->maps, pin);
	if (!err) {
		d->sk_lookup_attached = true;
		log_info("took over the sk_lookup program steering to local workers");
		return 0;
	}
	if (err != -ENOENT) {
		log_warnx("cannot take over the sk_lookup link pinned at %s: %s", pin,
			  strerror(-err));
		return err;
	}
	if (!cfg_has_workers(c))
		return 0;
	err = bnc_maps_sk_lookup_attach(d->maps, NULL, pin);
	if (err) {
		log_warnx("cannot attach the sk_lookup program for local workers: %s",
			  strerror(-err));
		return err;
	}
	d->sk_lookup_attached = true;
	log_info("sk_lookup program attached: VIP connections reach local workers");
	return 0;
}

static int config_apply_globals(struct daemon *d)
{
	struct bnc_config bc = { 0 };

	bc.ipip_src_v4 = d->cfg->ipip_src4;
	memcpy(bc.ipip_src_v6, d->cfg->ipip_src6, sizeof(bc.ipip_src_v6));
	bc.hash_seed = d->cfg->hash_seed;
	return bnc_maps_set_config(d->maps, &bc);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	static unsigned int ticks;
	struct daemon *d = arg;

	(void)fd;
	(void)what;
	daemon_refresh(d, ++ticks % 5 == 0);
	daemon_host_tick(d);
	flow_watch_tick(&d->flow_watch, d->maps, (double)now_ms() / 1000.0);
	ring_clean_tick(d, (double)now_ms() / 1000.0);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;
	struct reload_summary sum;
	char err[512];

	(void)what;
	if (sig == SIGHUP) {
		log_info("SIGHUP: reloading %s", d->cfg->path);
		if (daemon_reload(d, &sum, err, sizeof(err)))
			log_warnx("reload failed, the running config stays: %s", err);
		return;
	}
	log_info("%s: stopping (%s)", strsignal((int)sig),
		 d->detach_on_exit ? "detaching" : "the datapath stays attached");
	event_base_loopbreak(d->base);
}

/* CAP_BPF arrived in 5.8; before it, and as its superset, CAP_SYS_ADMIN. */
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

static bool cap_effective(const struct __user_cap_data_struct data[2], int cap)
{
	return data[cap / 32].effective & (1u << (cap % 32));
}

/* Loading BPF programs and attaching them to interfaces needs CAP_BPF (or
 * CAP_SYS_ADMIN) and CAP_NET_ADMIN: without them every step below would
 * fail with a less helpful message, and leave its directories behind.
 */
static int need_privileges(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = { 0 };

	if (syscall(SYS_capget, &hdr, data)) {
		log_warn("capget");
		return -errno;
	}
	if ((cap_effective(data, CAP_BPF) || cap_effective(data, CAP_SYS_ADMIN)) &&
	    cap_effective(data, CAP_NET_ADMIN))
		return 0;
	log_errx("bouncerd must run as root (CAP_BPF, CAP_NET_ADMIN)");
	return -EPERM;
}

/* The soft limit on open files up to the hard one: a ring swap, a health
 * check or a flow dump must not fail for want of a descriptor (systemd
 * and most shells give 1024 soft, far more hard). Control connections
 * are capped apart (CTL_MAX_CONNS), so clients cannot take these.
 */
static void raise_nofile_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl)) {
		log_warn("getrlimit(RLIMIT_NOFILE)");
		return;
	}
	if (rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		log_warn("cannot raise the open files limit to %llu",
			 (unsigned long long)rl.rlim_max);
	else
		log_debug("open files limit raised to %llu", (unsigned long long)rl.rlim_max);
}

/* BOUNCERD_CTL_IDLE_TIMEOUT (seconds) shortens the control connections'
 * idle time-out, for the tests; unset, CTL_IDLE_TIMEOUT_MS.
 */
static unsigned int ctl_idle_ms(void)
{
	const char *s = getenv("BOUNCERD_CTL_IDLE_TIMEOUT");
	unsigned long v;
	char *end;

	if (!s || !*s)
		return 0;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v == 0 || v > 86400) {
		log_warnx("BOUNCERD_CTL_IDLE_TIMEOUT=%s: not seconds in 1..86400, ignored", s);
		return 0;
	}
	return (unsigned int)v * 1000;
}

static bool pinned_maps_exist(const char *pin_dir)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/vips", pin_dir);
	return access(path, F_OK) == 0;
}

int daemon_start(struct daemon *d, const struct daemon_opts *opts)
{
	struct bnc_maps_opts mopts = { 0 };
	char err[512];
	struct saved_state saved;
	const char *state_dir = opts->state_dir ? opts->state_dir : "/run/bouncer";
	int ret;

	memset(d, 0, sizeof(*d));
	agent_lock_init(&d->lock);
	d->started = time(NULL);
	d->next_backend_id = 1;
	d->drained_after_s = -1;
	d->detach_on_exit = opts->detach_on_exit;
	ret = cfg_load(opts->config_path, &d->cfg, err, sizeof(err));
	if (ret) {
		log_errx("%s", err);
		return ret;
	}
	ret = need_privileges();
	if (ret)
		return ret;
	/* The pins' filesystem, as bouncer-decap mounts it: the lock below
	 * already lives in the pin directory.
	 */
	if (strncmp(d->cfg->pin_dir, BPFFS_ROOT "/", strlen(BPFFS_ROOT "/")) == 0) {
		ret = bpffs_mount_root();
		if (ret)
			return ret;
	}
	/* Before anything is touched: a second agent must not take over the
	 * running one's program, maps, state file or workers.
	 */
	ret = agent_lock_take(&d->lock, state_dir, d->cfg->pin_dir, d->cfg->control_socket);
	if (ret)
		return ret;
	raise_nofile_limit();
	if (opts->mode_set)
		d->cfg->mode = opts->mode;
	if (d->cfg->ninterfaces > sizeof(d->attached_mode) / sizeof(d->attached_mode[0])) {
		log_errx("at most %zu interfaces",
			 sizeof(d->attached_mode) / sizeof(d->attached_mode[0]));
		return -E2BIG;
	}
	log_set_level(d->cfg->log_level);
	d->base = event_base_new();
	if (!d->base)
		return -ENOMEM;

	ret = mkdir_p(state_dir, 0700, NULL);
	if (ret) {
		log_errx("cannot create %s: %s", state_dir, strerror(-ret));
		return ret;
	}
	snprintf(d->state_path, sizeof(d->state_path), "%s/state.json", state_dir);
	d->adopted = pinned_maps_exist(d->cfg->pin_dir);
	if (d->adopted && daemon_state_read(d->state_path, &saved) == 0) {
		/* The run-time removals stay in force; the rest of the saved
		 * state is let go once the start is done.
		 */
		d->removed = saved.removed;
		memset(&saved.removed, 0, sizeof(saved.removed));
		d->host_drained = saved.host_drained;
		d->saved = calloc(1, sizeof(*d->saved));
		if (d->saved)
			*d->saved = saved;
		d->next_backend_id = saved.next_backend_id;
	}
	mopts.pin_dir = d->cfg->pin_dir;
	mopts.flow_table_size = d->cfg->flow_table_size;
	ret = bnc_maps_open(&mopts, &d->maps);
	if (ret) {
		log_errx("cannot load the datapath: %s", strerror(-ret));
		return ret;
	}
	if (d->adopted) {
		log_info("taking over the datapath pinned at %s%s", d->cfg->pin_dir,
			 d->saved ? "" : " (no state file: new ids, flows flushed)");
		/* Without the old ids, flows would name the wrong backends. */
		if (!d->saved)
			bnc_maps_flow_flush(d->maps, NULL, NULL);
	}
	err[0] = '\0';
	ret = daemon_announce_start(d);
	if (!ret)
		ret = config_apply_globals(d);
	/* The bind hook before the VIPs: their UDP workers bind as they start. */
	if (!ret)
		ret = daemon_binds_ensure(d, d->cfg);
	if (!ret)
		ret = daemon_vips_attach(d, d->cfg, err, sizeof(err));
	/* Flows the old agent recorded against rings without history. */
	if (!ret && d->adopted)
		ret = ring_clean_adopt(d);
	/* The programs go in only now, over maps that are complete. */
	if (!ret)
		ret = sk_lookup_ensure(d, d->cfg);
	if (ret) {
		log_errx("cannot set up the VIPs: %s", err[0] ? err : strerror(-ret));
		return ret;
	}
	daemon_state_free(d->saved);
	free(d->saved);
	d->saved = NULL;
	for (size_t i = 0; i < d->cfg->ninterfaces; i++) {
		ret = attach_one(d, i, d->cfg->mode);
		if (ret)
			return ret;
	}
	/* Every link runs the new programs: converted maps replace the old. */
	ret = bnc_maps_pins_settle(d->maps);
	if (ret)
		return ret;
	ret = ctl_server_open(d->base, d->cfg->control_socket, daemon_ctl_handle, d, &d->ctl);
	if (ret) {
		log_errx("cannot listen on %s: %s", d->cfg->control_socket, strerror(-ret));
		return ret;
	}
	ctl_server_set_limits(d->ctl, 0, ctl_idle_ms());
	if (d->cfg->metrics) {
		ret = metrics_start(d, &d->metrics);
		if (ret)
			return ret;
	}
	d->tick = event_new(d->base, -1, EV_PERSIST, on_tick, d);
	d->sig_hup = evsignal_new(d->base, SIGHUP, on_signal, d);
	d->sig_term = evsignal_new(d->base, SIGTERM, on_signal, d);
	d->sig_int = evsignal_new(d->base, SIGINT, on_signal, d);
	if (!d->tick || !d->sig_hup || !d->sig_term || !d->sig_int)
		return -ENOMEM;
	event_add(d->tick, &(struct timeval){ .tv_sec = 1 });
	event_add(d->sig_hup, NULL);
	event_add(d->sig_term, NULL);
	event_add(d->sig_int, NULL);
	d->serving = true;
	daemon_announce_sync(d);
	daemon_state_save(d);
	log_info("serving %zu VIPs on %zu interfaces; control socket %s", d->nvips,
		 d->cfg->ninterfaces, d->cfg->control_socket);
	for (size_t i = 0; i < d->cfg->ninterfaces; i++)
		log_debug("interface %s: %s", d->cfg->interfaces[i],
			  vocab_name(&vocab_attach_mode, (int)d->attached_mode[i]));
	return 0;
}

int daemon_run(struct daemon *d)
{
	return event_base_dispatch(d->base) < 0 ? -EIO : 0;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if ((type == FTW_DP ? rmdir(path) : unlink(path)) && errno != ENOENT)
		log_warn("cannot remove %s", path);
	return 0;
}

/* Removing a link's pin detaches its program once no fd holds it;
 * removing the maps' pins frees them with the program.
 */
static void unpin_all(struct daemon *d)
{
	if (nftw(d->cfg->pin_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) && errno != ENOENT)
		log_warn("cannot remove %s", d->cfg->pin_dir);
}

int daemon_detach(struct daemon *d)
{
	/* Not at once: the reply to the request that asked for it is still
	 * to be written.
	 */
	struct timeval soon = { .tv_usec = 200000 };

	d->detach_on_exit = true;
	/* Routers first: they stop sending before the program goes. */
	if (d->nannounced) {
		daemon_announce_withdraw_all(d, false);
		soon.tv_sec = d->cfg->announce_withdraw_wait_ms / 1000;
		soon.tv_usec = (d->cfg->announce_withdraw_wait_ms % 1000) * 1000 + 200000;
	}
	return event_base_loopexit(d->base, &soon) ? -EIO : 0;
}

void daemon_stop(struct daemon *d)
{
	/* A stop with --detach-on-exit: the routes go, and the peers hear
	 * of it, while everything still serves (bouncerctl detach did both
	 * before the loop ended).
	 */
	if (d->cfg && d->lock.held && d->detach_on_exit && d->serving && !d->withdrawing)
		daemon_announce_withdraw_all(d, true);
	if (d->ctl)
		ctl_server_close(d->ctl);
	if (d->metrics)
		metrics_stop(d->metrics);
	/* Workers are stopped (and waited for) before the state is saved:
	 * the next agent has none to adopt.
	 */
	for (size_t i = 0; i < d->nvips; i++)
		daemon_workers_stop(d, d->vips[i], true);
	/* A start that failed before it had maps knows nothing worth
	 * saving over the state the previous agent left.
	 */
	if (d->cfg && d->lock.held && !d->detach_on_exit && d->maps)
		daemon_state_save(d);
	daemon_vips_free(d);
	if (d->tick)
		event_free(d->tick);
	if (d->sig_hup)
		event_free(d->sig_hup);
	if (d->sig_term)
		event_free(d->sig_term);
	if (d->sig_int)
		event_free(d->sig_int);
	bnc_maps_close(d->maps);
	if (d->cfg && d->lock.held && d->detach_on_exit) {
		unpin_all(d);
		if (d->state_path[0])
			unlink(d->state_path);
		log_info("detached from every interface");
	}
	daemon_state_free(d->saved);
	free(d->saved);
	removed_free(&d->removed);
	flow_watch_free(&d->flow_watch);
	free(d->announced);
	cfg_free(d->cfg);
	if (d->base)
		event_base_free(d->base);
	/* Last: the next agent may start once everything above is done. */
	agent_lock_release(&d->lock);
	memset(d, 0, sizeof(*d));
}

/* Settings that need a restart: the reload refuses to silently ignore them. */
static int reload_check_globals(const struct cfg *old, const struct cfg *new, char *err,
				size_t errlen)
{
	bool same_ifaces = old->ninterfaces == new->ninterfaces;

	for (size_t i = 0; same_ifaces && i < old->ninterfaces; i++)
		same_ifaces = strcmp(old->interfaces[i], new->interfaces[i]) == 0;
	if (!same_ifaces || old->mode != new->mode || strcmp(old->pin_dir, new->pin_dir) ||
	    strcmp(old->control_socket, new->control_socket) ||
	    old->flow_table_size != new->flow_table_size || old->metrics != new->metrics ||
	    old->announce != new->announce ||
	    (old->announce && old->announce_table != new->announce_table) ||
	    (old->metrics && (strcmp(old->metrics_addr, new->metrics_addr) ||
			      old->metrics_port != new->metrics_port))) {
		snprintf(err, errlen,
			 "%s: interfaces, mode, pin_dir, control_socket, flow_table_size, "
			 "metrics and announce.table take effect on a restart only; the running "
			 "config stays",
			 new->path);
		return -EINVAL;
	}
	return 0;
}

/* Whether v stays through a reload to next. A VIP of the file stays
 * while the file has it at the same address, port and protocol. One added
 * at run time stays while the file has none of its name or address; if
 * the file has it at the same address, it stays as the file's from now
 * on. One that goes makes way for the file's VIP of its name, if any.
 */
static bool vip_stays(struct vip_rt *v, const struct cfg *next)
{
	const struct cfg_vip *cv = cfg_vip_find(next, v->name);
	struct bnc_vip_key key;

	if (cv) {
		cfg_vip_key(cv, &key);
		if (memcmp(&key, &v->key, sizeof(key)))
			return false;
		v->added = false;
		return true;
	}
	if (!v->added)
		return false;
	for (size_t i = 0; i < next->nvips; i++) {
		cfg_vip_key(&next->vips[i], &key);
		if (memcmp(&key, &v->key, sizeof(key)) == 0)
			return false;
	}
	return true;
}

/* A new seed hashes every flow to another ring slot. Only flows in the
 * table (those of changed slots) keep their backends: the rest follow the
 * ring, and most move.
 */
static void log_seed_change(__u32 old, __u32 new)
{
	if (old != new)
		log_warnx(
			"hash_seed 0x%08x -> 0x%08x: every flow hashes to another ring slot, and "
			"established flows not in the flow table move to other backends; change it "
			"on a drained tier, the same on every host",
			old, new);
}

static int reload_config(struct daemon *d, struct reload_summary *sum, char *err, size_t errlen)
{
	struct cfg *next;
	__u32 old_seed;
	int ret;

	memset(sum, 0, sizeof(*sum));
	err[0] = '\0';
	/* Everything is parsed and checked before anything changes. */
	ret = cfg_load(d->cfg->path, &next, err, errlen);
	if (ret)
		return ret;
	ret = reload_check_globals(d->cfg, next, err, errlen);
	if (!ret)
		ret = sk_lookup_ensure(d, next);
	if (!ret)
		ret = daemon_binds_ensure(d, next);
	if (ret) {
		if (!err[0])
			snprintf(err, errlen, "cannot attach the sk_lookup program: %s",
				 strerror(-ret));
		cfg_free(next);
		return ret;
	}
	log_set_level(next->log_level);
	removed_prune(&d->removed, next);
	for (size_t i = 0; i < d->nvips;) {
		struct vip_rt *v = d->vips[i];

		if (vip_stays(v, next)) {
			i++;
			continue;
		}
		sum->vips_removed++;
		daemon_vip_del(d, v);
	}
	ret = 0;
	for (size_t i = 0; i < next->nvips && !ret; i++) {
		const struct cfg_vip *cv = &next->vips[i];
		struct vip_rt *v = daemon_vip_find(d, cv->name);

		if (v) {
			ret = daemon_vip_reconfigure(d, v, cv, sum, err, errlen);
		} else if (!removed_has_vip(&d->removed, cv)) {
			sum->vips_added++;
			sum->backends_added += cv->nbackends;
			ret = daemon_vip_add(d, cv, false, err, errlen);
		}
	}
	old_seed = d->cfg->hash_seed;
	cfg_free(d->cfg);
	d->cfg = next;
	if (!ret)
		ret = config_apply_globals(d);
	if (!ret)
		log_seed_change(old_seed, d->cfg->hash_seed);
	d->reloads++;
	log_info("reloaded: vips +%u -%u ~%u, backends +%u -%u ~%u", sum->vips_added,
		 sum->vips_removed, sum->vips_changed, sum->backends_added, sum->backends_removed,
		 sum->backends_changed);
	return ret;
}

/* The service manager hears of every reload, by signal or by request. */
int daemon_reload(struct daemon *d, struct reload_summary *sum, char *err, size_t errlen)
{
	int ret;

	notify_reloading();
	ret = reload_config(d, sum, err, errlen);
	notify_reloaded(d, ret ? (err[0] ? err : strerror(-ret)) : NULL);
	return ret;
}
