/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The agent's configuration: the file's model, parsing (libconfig) and
 * validation. Every error names file:line and what is wrong.
 */
#ifndef BOUNCER_CONFIG_H
#define BOUNCER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "bouncer_abi.h"
#include "common/log.h"
#include "common/vocab.h" /* the enums, CFG_WORKERS_MAX */

#define CFG_DEFAULT_PIN_DIR "/sys/fs/bpf/bouncer"
#define CFG_DEFAULT_SOCKET "/run/bouncer/bouncer.sock"
#define CFG_DEFAULT_METRICS_PORT 9368
/* As long as IPVS keeps an idle established TCP connection. */
#define CFG_DEFAULT_RING_HISTORY_IDLE 900u
/* How long the agent waits after withdrawing its routes before it
 * detaches: time for the BGP daemon to learn the change and tell its
 * peers (BIRD learns it at once over netlink; the update takes well under
 * a second).
 */
#define ANNOUNCE_WITHDRAW_WAIT_DEFAULT_MS 2000
#define ANNOUNCE_WITHDRAW_WAIT_MAX_MS 60000

/* A health check. Times in milliseconds. A backend's own check block
 * overrides single fields of its VIP's.
 */
struct cfg_check {
	enum cfg_check_type type;
	unsigned int interval_ms; /* default 2000 */
	unsigned int timeout_ms; /* default 1000, must be < interval */
	unsigned int rise; /* default 2 */
	unsigned int fall; /* default 3 */
	unsigned int jitter_ms; /* start-up spread, default interval / 2 */
	unsigned int port; /* 0: the backend's port */
	/* http */
	char *http_path; /* default "/" */
	char *http_host; /* default: the backend's address */
	unsigned int http_status_min, http_status_max; /* default 200-399 */
	char *http_expect; /* body substring, NULL: any body */
	/* udp */
	char *udp_send; /* payload sent */
	char *udp_expect; /* reply substring, NULL: any reply */
	/* exec: argv, NULL-terminated; BOUNCER_BACKEND_ADDR and
	 * BOUNCER_BACKEND_PORT in its environment; exit 0 = healthy.
	 */
	char **exec_argv;
};

struct cfg_backend {
	__be32 addr[4];
	__u8 family; /* BNC_FAMILY_* */
	__u16 port; /* host order */
	__u32 weight; /* default 1; 0 = no new flows by weight */
	enum cfg_admin admin; /* default ready */
	struct cfg_check check; /* the VIP's, with this backend's overrides */
	int line;
};

/* Local workers of a VIP (see workers.h): a program that listens on
 * $PORT, supervised by the agent and reached through sk_lookup. Times in
 * milliseconds.
 */
struct cfg_workers {
	char **argv; /* command, NULL-terminated, required */
	char **env; /* "NAME=value" from the env group, NULL-terminated; may be NULL */
	char *cwd; /* NULL: the agent's */
	char *user; /* NULL: run as the agent's user */
	bool has_user; /* uid, gid resolved from user when the file was read */
	unsigned int uid, gid;
	unsigned int count; /* default: online CPUs */
	bool count_default; /* count came from the CPU count */
	__u16 port_base; /* required: worker i gets PORT = port_base + i */
	__u16 alt_port_base; /* replacements' ports; default port_base + CFG_WORKERS_MAX */
	unsigned int ready_timeout_ms; /* default 10000 */
	unsigned int kill_timeout_ms; /* default 5000 */
	unsigned int drain_ms; /* default 30000: at most, for a replaced worker's connections */
	/* restart policy */
	unsigned int min_uptime_ms; /* default 5000 */
	unsigned int backoff_initial_ms; /* default 100 */
	unsigned int backoff_max_ms; /* default 30000 */
	unsigned int backoff_reset_ms; /* default 60000 */
	unsigned int crash_limit; /* default 10 ... */
	unsigned int crash_window_ms; /* ... in 60000 */
	int *permanent_exit; /* exit statuses never restarted */
	size_t npermanent;
	int line;
};

struct cfg_vip {
	char *name; /* unique; default "ADDR:PORT/PROTO" */
	__be32 addr[4];
	__u8 family;
	__u16 port; /* host order */
	__u8 proto; /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 forwarding; /* enum bnc_forwarding */
	__u32 ring_size; /* prime, default BNC_RING_SIZE_DEFAULT */
	bool sticky; /* hash = "source": the client address only */
	bool fail_open; /* default true: no healthy backend -> all not in maint */
	struct cfg_check check;
	struct cfg_backend *backends;
	size_t nbackends;
	struct cfg_workers *workers; /* NULL: no local workers */
	int line;
};

struct cfg {
	char *path;
	char **interfaces; /* at least one */
	size_t ninterfaces;
	enum cfg_attach_mode mode; /* default native */
	char *pin_dir; /* default CFG_DEFAULT_PIN_DIR */
	char *control_socket; /* default CFG_DEFAULT_SOCKET */
	enum log_level log_level; /* default info */
	bool metrics; /* the metrics listener is on */
	char *metrics_addr; /* default "127.0.0.1" */
	__u16 metrics_port; /* default CFG_DEFAULT_METRICS_PORT */
	bool status_page; /* the status page at / on the metrics listener; default on */
	bool has_ipip_src4, has_ipip_src6;
	__be32 ipip_src4;
	__be32 ipip_src6[4];
	__u32 flow_table_size; /* default BNC_MAX_FLOWS */
	/* announce block: routes to the VIPs this host can serve, in a
	 * kernel table of the agent's own, for a BGP daemon to export.
	 */
	bool announce;
	__u32 announce_table;
	unsigned int announce_withdraw_wait_ms;
	/* Seed of the flow hash, default BNC_HASH_SEED: the same on every
	 * host that must map a flow to the same ring slot.
	 */
	__u32 hash_seed;
	/* Seconds without a packet sent to a ring slot's previous backend
	 * after which the changed slots are clean again (ring_clean.c).
	 */
	__u32 ring_history_idle;
	struct cfg_vip *vips;
	size_t nvips;
};

/* Parses and validates path. On error returns -EINVAL (or -errno when the
 * file cannot be read) and writes "FILE:LINE: what is wrong" into err.
 */
int cfg_load(const char *path, struct cfg **out, char *err, size_t errlen);
/* The same for a config held in memory; name stands for the file name in
 * messages. Used by the tests.
 */
int cfg_parse_string(const char *text, const char *name, struct cfg **out, char *err,
		     size_t errlen);
void cfg_free(struct cfg *c);

/* A VIP's own settings as given, before any default: strings as written,
 * NULL (or has_* false) when not given. vip.add fills it from its request;
 * the config file's VIPs go through the same defaults and checks.
 */
struct cfg_vip_args {
	const char *name; /* default "ADDR:PORT/PROTO" */
	const char *address; /* required */
	bool has_port; /* required */
	long long port;
	const char *protocol; /* default tcp */
	const char *forwarding; /* default dsr */
	bool has_ring_size;
	long long ring_size; /* default BNC_RING_SIZE_DEFAULT */
	const char *hash; /* default 5tuple */
	const char *fail; /* default open */
	/* The check, as a check block naming only this type would give it;
	 * default none.
	 */
	enum cfg_check_type check;
};

/* Fills v from a with the defaults and checks it as cfg_load() checks a
 * VIP of the file: 0, or -EINVAL with "vip 'NAME': what is wrong" in err
 * in the words of cfg_load() less its "FILE:LINE: ", or -ENOMEM. Backends,
 * workers and what only a whole config can tell (duplicates) are not
 * its part. Either way v is the caller's to release.
 */
int cfg_vip_init(struct cfg_vip *v, const struct cfg_vip_args *a, char *err, size_t errlen);
/* Whether backend b can serve a VIP forwarding so at vip_addr, vip_family,
 * vip_port (host order) under c's globals: the VIP's port (dsr and ipip do
 * not rewrite ports), not the VIP's own address, a family dsr reaches (only
 * ipip crosses families), an ipip source for its family. 0, or -EINVAL
 * with the reason in err and the backend's setting it is about ("address"
 * or "port") in *setting. The config file and backend.add both ask.
 */
int cfg_backend_fits(const struct cfg *c, __u8 forwarding, const __be32 vip_addr[4],
		     __u8 vip_family, __u16 vip_port, const struct cfg_backend *b,
		     const char **setting, char *err, size_t errlen);
/* Frees what v holds, not v. */
void cfg_vip_release(struct cfg_vip *v);

/* A check's strings are owned by it: the agent keeps copies of checks
 * beyond the life of the config they came from.
 */
int cfg_check_copy(struct cfg_check *dst, const struct cfg_check *src);
void cfg_check_free(struct cfg_check *c);
bool cfg_check_equal(const struct cfg_check *a, const struct cfg_check *b);

/* Deep copies and comparison of a workers block: the agent keeps its
 * own copy, and a reload compares the old with the new.
 */
struct cfg_workers *cfg_workers_dup(const struct cfg_workers *w);
void cfg_workers_free(struct cfg_workers *w);
/* Equal but for count: what a rolling reload would change. */
bool cfg_workers_same_program(const struct cfg_workers *a, const struct cfg_workers *b);

struct cfg_vip *cfg_vip_find(const struct cfg *c, const char *name);
/* cv's address, port and protocol as the vips map's key. */
void cfg_vip_key(const struct cfg_vip *cv, struct bnc_vip_key *key);
/* The vocabularies of common/vocab.h, typed: "?" for a value without a
 * name, -EINVAL for a name without a value.
 */
const char *cfg_admin_name(enum cfg_admin admin);
int cfg_admin_parse(const char *s, enum cfg_admin *out);
const char *cfg_check_type_name(enum cfg_check_type type);

#endif /* BOUNCER_CONFIG_H */
