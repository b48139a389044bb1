/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The one typed API over the load balancer's BPF object and its maps:
 * loading (or adopting pinned maps), VIPs, backends, rings, counters and
 * the flow table. Every function returns 0 or -errno.
 */
#ifndef BOUNCER_MAPS_H
#define BOUNCER_MAPS_H

#include <stdbool.h>
#include <stddef.h>

#include "bouncer_abi.h"

struct bnc_maps;

struct bnc_maps_opts {
	/* Pin maps under this bpffs directory and adopt maps already pinned
	 * there (the flow table survives an agent restart); NULL: no pins.
	 */
	const char *pin_dir;
	/* Entries in the flow table; 0 means BNC_MAX_FLOWS. */
	__u32 flow_table_size;
};

/* With a pin_dir, maps pinned there by an agent of another layout
 * version are converted (migrate.h): the old ones stay pinned, and in
 * use by the programs attached, until bnc_maps_pins_settle().
 */
int bnc_maps_open(const struct bnc_maps_opts *opts, struct bnc_maps **out);
/* Once every pinned link runs this object's programs: the maps it
 * converted or created replace the pinned ones, and the pins record the
 * layout version. Nothing to do without a pin_dir.
 */
int bnc_maps_pins_settle(struct bnc_maps *m);
void bnc_maps_close(struct bnc_maps *m);
/* File descriptor of the XDP program, for attaching and test runs. */
int bnc_maps_prog_fd(const struct bnc_maps *m);
/* File descriptor of the map named name ("vips", "flows4", ...), for
 * programs that share these maps (bpf_map__reuse_fd); -ENOENT if none.
 */
int bnc_maps_map_fd(const struct bnc_maps *m, const char *name);

/* Attaches the XDP program to ifindex via a BPF link, in skb (generic)
 * mode or native (see xdp_link_create()). With link_pin, the link is pinned there and stays (and the
 * program attached) when this process exits; without, it lasts as long as
 * m.
 */
int bnc_maps_attach(struct bnc_maps *m, int ifindex, bool skb, const char *link_pin);
/* Takes over the link pinned at link_pin: this object's program replaces
 * the one attached, in one step, so no packet goes unprocessed. -ENOENT
 * when nothing is pinned there.
 */
int bnc_maps_link_adopt(struct bnc_maps *m, const char *link_pin);

/* File descriptor of the sk_lookup program, for attaching and test runs. */
int bnc_maps_sk_lookup_prog_fd(const struct bnc_maps *m);
/* Attaches the sk_lookup program to a network namespace via a BPF link:
 * from then on, connections there to a VIP whose choice is a local worker
 * go to that worker's socket in the workers map. netns_path names the
 * namespace (/proc/PID/ns/net, a bind mount under /run/netns, or
 * /proc/self/fd/N for an open one); NULL means this process's. link_pin
 * as in bnc_maps_attach(). Several programs may be attached to one
 * namespace; they run in attach order.
 */
int bnc_maps_sk_lookup_attach(struct bnc_maps *m, const char *netns_path, const char *link_pin);
/* bnc_maps_link_adopt() for the sk_lookup link pinned at link_pin. */
int bnc_maps_sk_lookup_link_adopt(struct bnc_maps *m, const char *link_pin);
/* Attaches the UDP worker bind hooks (IPv4 and IPv6, bpf/bind.h) to the
 * cgroup open at cgroup_fd, via BPF links pinned at pin4 and pin6 (or
 * kept in m when NULL): from then on a bind there of a port in the
 * worker_binds map goes to its VIP's address and port.
 */
int bnc_maps_bind_attach(struct bnc_maps *m, int cgroup_fd, const char *pin4, const char *pin6);
/* bnc_maps_link_adopt() for the bind hook links pinned at pin4 and pin6. */
int bnc_maps_bind_link_adopt(struct bnc_maps *m, const char *pin4, const char *pin6);

int bnc_maps_set_config(struct bnc_maps *m, const struct bnc_config *cfg);
/* The config entry as the programs read it. */
int bnc_maps_get_config(struct bnc_maps *m, struct bnc_config *cfg);

/* Adds or replaces a VIP, and the address entry that marks its address
 * for echo replies and fragment accounting. value->vip_id must be below
 * BNC_MAX_VIPS; the ring stays empty until bnc_maps_ring_swap().
 */
int bnc_maps_vip_add(struct bnc_maps *m, const struct bnc_vip_key *key,
		     const struct bnc_vip_value *value);
/* Removes a VIP, its ring, and its address entry once no other VIP uses
 * the address.
 */
int bnc_maps_vip_del(struct bnc_maps *m, const struct bnc_vip_key *key);
int bnc_maps_vip_lookup(struct bnc_maps *m, const struct bnc_vip_key *key,
			struct bnc_vip_value *value);
/* Calls fn for every VIP (address entries are skipped); stops early and
 * returns fn's value if it is not 0.
 */
int bnc_maps_vip_foreach(struct bnc_maps *m,
			 int (*fn)(const struct bnc_vip_key *key, const struct bnc_vip_value *value,
				   void *arg),
			 void *arg);

int bnc_maps_backend_set(struct bnc_maps *m, __u32 id, const struct bnc_backend *backend);
int bnc_maps_backend_get(struct bnc_maps *m, __u32 id, struct bnc_backend *backend);
int bnc_maps_backend_set_state(struct bnc_maps *m, __u32 id, enum bnc_backend_state state);

/* Puts a local worker's socket in the workers map under its backend id
 * (a BNC_BACKEND_LOCAL backend), replacing the one there: a listening TCP
 * socket for TCP VIPs, an unconnected bound UDP socket for UDP VIPs,
 * AF_INET6 (not v6only) to serve IPv6 VIPs as well as IPv4 ones. The map
 * holds the socket, not the fd: the caller may close sock_fd, and the
 * kernel takes the socket out when it is closed everywhere (the worker
 * exited). -EOPNOTSUPP: a socket the map does not take (TCP not
 * listening, UDP connected).
 */
int bnc_maps_worker_set(struct bnc_maps *m, __u32 backend_id, int sock_fd);
/* Takes the worker's socket out of the map; 0 also when there was none.
 * Its connections then go to another live worker of the VIP.
 */
int bnc_maps_worker_clear(struct bnc_maps *m, __u32 backend_id);
/* The socket cookie (SO_COOKIE) of the worker's socket in the map;
 * -ENOENT when it has none.
 */
int bnc_maps_worker_cookie(struct bnc_maps *m, __u32 backend_id, __u64 *cookie);
/* Makes the worker_binds map hold exactly the n entries given: the others
 * are deleted first, then these written.
 */
int bnc_maps_binds_replace(struct bnc_maps *m, const struct bnc_bind_key *keys,
			   const struct bnc_bind_value *values, size_t n);

/* Builds a new ring for the VIP from slots[0..ring_size) and swaps it in
 * with one map update: no packet sees a half-written ring. ring_size may
 * differ from the VIP's current one; the VIP's ring_size and the ring are
 * updated in the order that keeps every slot index valid.
 */
int bnc_maps_ring_swap(struct bnc_maps *m, const struct bnc_vip_key *key, const __u32 *slots,
		       __u32 ring_size);
/* bnc_maps_ring_swap(), but with history false the new ring's slots are
 * all clean (for a VIP no flow can have used yet); *changed (if not
 * NULL) gets how many slots are changed in the ring swapped in.
 */
int bnc_maps_ring_swap_history(struct bnc_maps *m, const struct bnc_vip_key *key,
			       const __u32 *slots, __u32 ring_size, bool history, __u32 *changed);
/* The swap itself: slots are ring words as the datapath reads them (see
 * BNC_RING_PREV_SHIFT), written as they are. bnc_maps_ring_swap() takes
 * backend ids and marks the slots whose backend changed
 * (ring_history_merge()); this one serves the slots' cleaning.
 */
int bnc_maps_ring_write(struct bnc_maps *m, const struct bnc_vip_key *key, const __u32 *slots,
			__u32 ring_size);
/* Reads a VIP's current ring words into slots (ring_size entries). */
int bnc_maps_ring_read(struct bnc_maps *m, __u32 vip_id, __u32 *slots, __u32 ring_size);

/* Counters summed over CPUs. */
int bnc_maps_global_stats(struct bnc_maps *m, struct bnc_global_stats *out);
int bnc_maps_vip_stats(struct bnc_maps *m, __u32 vip_id, struct bnc_traffic *out);
int bnc_maps_backend_stats(struct bnc_maps *m, __u32 backend_id, struct bnc_traffic *out);
/* Name of a global counter ("pass_not_vip", ...), NULL when out of range. */
const char *bnc_stat_name(enum bnc_stat stat);
/* Zeroes every counter (tests and benchmarks). */
int bnc_maps_stats_reset(struct bnc_maps *m);

/* The clock the datapath stamps flows with (ns), and a flow's seconds
 * since its last packet by it; stamps wrap (BNC_FLOW_TIME_SHIFT).
 */
__u64 bnc_flow_clock_ns(void);
double bnc_flow_idle_s(const struct bnc_flow_value *v, __u64 now_ns);

/* The key of the flows4 map for an IPv4 flow. */
void bnc_flow4_key_of(const struct bnc_flow_key *key, struct bnc_flow4_key *k4);
int bnc_maps_flow_lookup(struct bnc_maps *m, const struct bnc_flow_key *key,
			 struct bnc_flow_value *value);
/* Deletes one flow's entry: 0, or -ENOENT when it has none. */
int bnc_maps_flow_delete(struct bnc_maps *m, const struct bnc_flow_key *key);
int bnc_maps_flow_foreach(struct bnc_maps *m,
			  int (*fn)(const struct bnc_flow_key *key,
				    const struct bnc_flow_value *value, void *arg),
			  void *arg);
/* How full the flow table is: entries in each family's map and the size
 * of each (they are sized alike, but an IPv4 flow cannot use an IPv6
 * entry). Idle flows count until the LRU evicts them.
 */
struct bnc_flow_usage {
	__u64 ipv4, ipv6;
	__u32 size4, size6;
};

/* Counts the flow table's entries, and when per_backend is not NULL (an
 * array of BNC_MAX_BACKENDS) adds each flow to its backend's count there.
 * Reads the table in batches: cost in proportion to the entries in use.
 */
int bnc_maps_flow_usage(struct bnc_maps *m, struct bnc_flow_usage *out, __u32 *per_backend);
/* Entries the flow table holds for the flows one CPU sees first: its
 * size, or its size over the possible CPUs when each CPU has an LRU list
 * of its own (BPF_F_NO_COMMON_LRU).
 */
void bnc_maps_flow_cpu_share(struct bnc_maps *m, __u32 *share4, __u32 *share6);
/* Deletes every flow, or only those on backend_id when it is not NULL;
 * *flushed (if not NULL) gets the number deleted.
 */
int bnc_maps_flow_flush(struct bnc_maps *m, const __u32 *backend_id, size_t *flushed);

#endif /* BOUNCER_MAPS_H */
