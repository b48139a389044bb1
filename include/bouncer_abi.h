/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The map ABI shared by the XDP programs, the agent and the tests: keys,
 * values, limits and counter names. Every struct has explicit padding and a
 * size assertion; byte order is stated for every field.
 */
#ifndef BOUNCER_ABI_H
#define BOUNCER_ABI_H

#include <linux/types.h>

/* Version of the layout of the pinned maps below, kept in the meta map
 * next to them (no meta map: version 1). A new agent that finds pinned
 * maps of another version converts them (agent/bouncerd/migrate*.c), so
 * every change to a pinned map's key, value, size or meaning comes with:
 * this number bumped; an entry in agent/bouncerd/migrate_table.c with the
 * old layout and the conversions both ways; a unit test of that entry;
 * and the last commit of the old version recorded in tests/live/upgrade.sh.
 * A map added or removed is a MAP_ADDED or MAP_REMOVED entry (a downgrade
 * removes what the older agent would not know); counters appended to a
 * value are an entry without conversions; a resized table needs none,
 * unless its indices name other entries at the new size (a cache indexed
 * by hash bits), which is a MAP_CLEARED entry.
 */
#define BNC_MAP_ABI_VERSION 5

#define BNC_MAX_VIPS 512
#define BNC_MAX_BACKENDS 4096
#define BNC_MAX_FLOWS 1048576
#define BNC_RING_SIZE_DEFAULT 65537
/* Upper bound for a VIP's ring; a prime, like every ring size. */
#define BNC_RING_SIZE_MAX 655373
/* How many ring slots a new flow tries, from its hashed one on, for a
 * backend that is up: covers the moments between a backend going down or
 * draining and the agent swapping in a ring without it.
 */
#define BNC_RING_PROBES 4
/* How many ring slots the sk_lookup program tries, from a flow's hashed
 * one on, for another local worker when the chosen one has no listening
 * socket: more than BNC_RING_PROBES, because a worker between a crash and
 * its restart is still up in the ring.
 */
#define BNC_SK_REPICK_PROBES 16
/* Ring slot value of an empty ring: the VIP has no usable backend. */
#define BNC_BACKEND_NONE 0xffffffffu

/* A ring slot word (host order): the backend that takes the slot's new
 * flows now (cur, low 16 bits; BNC_RING_CUR_NONE: none) and, when the
 * agent changed the slot, what it held before (high 16 bits: prev + 1;
 * 0: no previous, a clean slot). A plain backend id, as agents before
 * this layout wrote, and BNC_BACKEND_NONE read as clean slots.
 *
 * A clean slot forwards every packet to cur with no flow table lookup and
 * no insert. A changed slot asks the flow table: a hit goes to the
 * entry's backend; a TCP SYN that misses goes to cur and is recorded; any
 * other miss is a flow from before the change and goes to prev while
 * prev takes existing flows (drained or up), else to cur. The agent
 * keeps the oldest prev over later changes and cleans a slot when no
 * flow can depend on prev any more (see docs and ring_history.c).
 */
#define BNC_RING_CUR_MASK 0xffffu
#define BNC_RING_CUR_NONE 0xffffu
#define BNC_RING_PREV_SHIFT 16
_Static_assert(BNC_MAX_BACKENDS < BNC_RING_CUR_NONE, "a backend id fits a ring word's half");

static inline __u32 bnc_ring_word(__u32 cur, __u32 prev)
{
	__u32 c = cur == BNC_BACKEND_NONE ? BNC_RING_CUR_NONE : cur & BNC_RING_CUR_MASK;

	if (prev == BNC_BACKEND_NONE)
		return cur == BNC_BACKEND_NONE ? BNC_BACKEND_NONE : c;
	return ((prev + 1) << BNC_RING_PREV_SHIFT) | c;
}

/* The backend of a ring word's cur half, or BNC_BACKEND_NONE. */
static inline __u32 bnc_ring_cur(__u32 word)
{
	__u32 c = word & BNC_RING_CUR_MASK;

	return c == BNC_RING_CUR_NONE ? BNC_BACKEND_NONE : c;
}

/* The backend a changed slot held before, or BNC_BACKEND_NONE for a clean
 * slot (BNC_BACKEND_NONE itself, an empty ring, is clean).
 */
static inline __u32 bnc_ring_prev(__u32 word)
{
	__u32 p = word >> BNC_RING_PREV_SHIFT;

	return p == 0 || p > BNC_MAX_BACKENDS ? BNC_BACKEND_NONE : p - 1;
}

/* Address family of a key or backend: our own values, not AF_*, so that the
 * BPF side needs no libc header.
 */
enum bnc_family {
	BNC_FAMILY_IPV4 = 4,
	BNC_FAMILY_IPV6 = 6,
};

/* Per VIP forwarding towards remote backends. */
enum bnc_forwarding {
	BNC_FWD_DSR = 0, /* L2 direct server return: rewrite MACs only */
	BNC_FWD_IPIP = 1, /* push an outer IPv4/IPv6 header */
};

/* Per VIP flags. */
#define BNC_VIP_F_HASH_SRC_ONLY (1u << 0) /* sticky clients: hash saddr only */
/* Not a service but a VIP address: marks the address for echo replies and
 * fragment accounting. Key has port 0 and proto 0.
 */
#define BNC_VIP_F_ADDRESS (1u << 1)

/* Key of the vips map and of VIP addresses. An IPv4 address sits in
 * addr[0], the rest zero. Network byte order: addr, port.
 */
struct bnc_vip_key {
	__be32 addr[4];
	__be16 port; /* 0 for a VIP address entry */
	__u8 proto; /* IPPROTO_TCP, IPPROTO_UDP, or 0 for an address entry */
	__u8 family; /* enum bnc_family */
};
_Static_assert(sizeof(struct bnc_vip_key) == 20, "bnc_vip_key ABI");

/* Host byte order throughout. */
struct bnc_vip_value {
	__u32 vip_id; /* index into rings and vip_stats */
	__u32 flags; /* BNC_VIP_F_* */
	__u32 ring_size; /* slots in this VIP's ring; a prime */
	__u8 forwarding; /* enum bnc_forwarding */
	__u8 pad[3];
};
_Static_assert(sizeof(struct bnc_vip_value) == 16, "bnc_vip_value ABI");

enum bnc_backend_kind {
	BNC_BACKEND_REMOTE = 0, /* forwarded by XDP (dsr or ipip) */
	BNC_BACKEND_LOCAL = 1, /* a local worker: passed to the stack */
};

/* Datapath view of a backend. Admin maintenance and failed health checks
 * both read as DOWN here; the agent keeps the reason.
 */
enum bnc_backend_state {
	BNC_BACKEND_DOWN = 0, /* no traffic; existing flows are re-picked */
	BNC_BACKEND_UP = 1,
	BNC_BACKEND_DRAIN = 2, /* existing flows only */
};

/* Resolve the next hop with bpf_fib_lookup on every packet instead of the
 * stored next_hop_mac/src_mac/ifindex/mtu.
 */
#define BNC_BACKEND_F_FIB (1u << 0)

/* One backend, indexed by backend id. addr, port: network byte order; the
 * rest host order. For a remote backend the agent resolves and stores the
 * next hop: the backend's (or gateway's) MAC, our MAC and ifindex on the
 * egress device, and that device's MTU.
 */
struct bnc_backend {
	__be32 addr[4];
	__u32 ifindex;
	__u32 flags; /* BNC_BACKEND_F_* */
	__u16 mtu;
	__be16 port;
	__u8 next_hop_mac[6];
	__u8 src_mac[6];
	__u8 family; /* enum bnc_family */
	__u8 kind; /* enum bnc_backend_kind */
	__u8 state; /* enum bnc_backend_state */
	__u8 pad[5];
};
_Static_assert(sizeof(struct bnc_backend) == 48, "bnc_backend ABI");

/* A flow as the API names it: the 5-tuple. IPv4 addresses sit in saddr[0]
 * and daddr[0], the rest zero. Network byte order except proto and family.
 * This is also the key of the flows6 map; IPv4 flows live in flows4 under
 * the shorter struct bnc_flow4_key, which is cheaper to hash and compare
 * on every packet. For a VIP that hashes the source address only, the
 * ports still name the flow; only the ring choice ignores them.
 */
struct bnc_flow_key {
	__be32 saddr[4];
	__be32 daddr[4];
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 family;
	__u8 pad[2];
};
_Static_assert(sizeof(struct bnc_flow_key) == 40, "bnc_flow_key ABI");

/* Key of the flows4 map; network byte order except proto. */
struct bnc_flow4_key {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 pad[3];
};
_Static_assert(sizeof(struct bnc_flow4_key) == 16, "bnc_flow4_key ABI");

/* Flow timestamps: CLOCK_MONOTONIC (coarse) in units of
 * 2^BNC_FLOW_TIME_SHIFT ns (about a millisecond) in 32 bits. They wrap
 * every 52 days, so an age is a difference modulo 2^32.
 */
#define BNC_FLOW_TIME_SHIFT 20

/* Host byte order. Established packets are forwarded from this value
 * alone, without a VIP lookup: it carries the VIP's id and forwarding, and
 * the VIP's generation when the flow was recorded. A VIP that is removed
 * or replaced gets a new generation (vip_gens), so its old flows go
 * through the VIP lookup again instead of being trusted. 16 bytes, so
 * that a million flows cost less memory and cache than the 24 of the
 * first layout.
 */
struct bnc_flow_value {
	/* Written when a packet finds the flow in this table, and every 64th
	 * packet a CPU's flow cache serves; see BNC_FLOW_TIME_SHIFT.
	 */
	__u32 last_seen;
	__u32 backend_id;
	__u32 vip_gen;
	__u16 vip_id;
	__u8 forwarding; /* enum bnc_forwarding */
	__u8 pad;
};
_Static_assert(sizeof(struct bnc_flow_value) == 16, "bnc_flow_value ABI");
_Static_assert(BNC_MAX_VIPS <= 65536, "a VIP id fits the flow value's 16 bits");

/* The flow cache: a small direct-mapped per-CPU copy of recently used
 * flow entries, indexed by the flow hash. A hit forwards an established
 * packet with an array read and a key compare instead of a hash table
 * lookup; a miss falls back to the flow table, which stays the authority.
 * Entries are checked like flow entries (VIP generation, backend state),
 * and the agent bumps every VIP generation when it flushes flows, so no
 * cached choice outlives the flow table's. Never read by user space.
 *
 * One connection's packets may be processed on several CPUs, each with
 * its own copy. When the datapath records a flow or moves it to another
 * backend (a SYN on a reused 5-tuple, a re-pick), every CPU's copy of it
 * must stop answering: the flow_epochs array (shared, one counter per
 * cache index) is bumped after the table write, and an entry is used only
 * while it carries its index's current epoch. An entry carries the epoch
 * read before the table entry it copies, so it cannot outlive a write it
 * did not see.
 */
#define BNC_FLOW_CACHE_BITS 8
#define BNC_FLOW_CACHE_SIZE (1u << BNC_FLOW_CACHE_BITS)
/* valid: entries written by a program of this layout. Older programs
 * wrote 1 and kept no epoch: their entries are ignored, not trusted.
 */
#define BNC_FLOW_CACHE_VALID 2

struct bnc_flow_cache_entry {
	struct bnc_flow_key key;
	__u32 backend_id;
	__u32 vip_id;
	__u32 vip_gen;
	__u8 forwarding;
	__u8 valid; /* BNC_FLOW_CACHE_VALID, or 0 */
	__u8 pad[2];
	__u32 hits; /* the flow table entry is refreshed every 64th */
	__u32 epoch; /* flow_epochs[index] when the entry was filled */
};
_Static_assert(sizeof(struct bnc_flow_cache_entry) == 64, "bnc_flow_cache_entry ABI");

/* The worker_binds map: where a UDP worker's bind() of its own port goes
 * instead. A worker of a UDP VIP binds $PORT like any worker, but its
 * replies must leave from the VIP's address and port, which are those its
 * socket is bound to; so the agent's cgroup bind hook binds it there,
 * with SO_REUSEPORT so that all the VIP's workers share the address, and
 * the sk_lookup program picks among them (bypassing reuseport's own
 * choice). Key: the port the worker binds, network order, and the family
 * of its socket.
 */
struct bnc_bind_key {
	__be16 port;
	__u8 family; /* enum bnc_family */
	__u8 pad;
};
_Static_assert(sizeof(struct bnc_bind_key) == 4, "bnc_bind_key ABI");

/* The VIP's address and port (network order), of the key's family. Only
 * binds in the network namespace whose cookie is netns_cookie (host order)
 * are moved: the hook sees the binds of a whole cgroup, and another
 * agent's namespace may use the same ports.
 */
struct bnc_bind_value {
	__u64 netns_cookie;
	__be32 addr[4];
	__be16 port;
	__u8 pad[6];
};
_Static_assert(sizeof(struct bnc_bind_value) == 32, "bnc_bind_value ABI");

/* The VIP address filter: one bit per hash of a destination address, set
 * for every VIP address. A clear bit proves the packet is not for a VIP,
 * so non-VIP traffic leaves after one array read; a set bit may be a
 * collision and the lookups decide. The hash is vip_filter_bit() in
 * bouncer_hash.h.
 */
#define BNC_VIP_FILTER_BITS_LOG2 16
#define BNC_VIP_FILTER_WORDS ((1u << BNC_VIP_FILTER_BITS_LOG2) / 64)

/* The vip_slots map: a direct-mapped copy of vips' service entries (those
 * with a port), so that a packet's VIP is found with one array read and a
 * compare instead of a hash table lookup. A VIP's slot is vip_slot_index()
 * (bouncer_hash.h) of its address, port and protocol. The agent writes a
 * VIP to its slot unless another VIP holds it; a packet whose key is not
 * in its slot asks vips, as before, so a slot is only ever a shortcut. An
 * array entry is copied without a lock: check, vip_slot_check() of the
 * rest, lets a packet that reads a slot while the agent rewrites it see a
 * mix of two entries as a miss. A zeroed slot holds nothing. At most
 * 32 KiB, so that the kernel allocates it in its linear mapping.
 */
#define BNC_VIP_SLOTS_LOG2 9
#define BNC_VIP_SLOTS (1u << BNC_VIP_SLOTS_LOG2)

struct bnc_vip_slot {
	struct bnc_vip_key key;
	struct bnc_vip_value value;
	__u32 check;
};
_Static_assert(sizeof(struct bnc_vip_slot) == 40, "bnc_vip_slot ABI");

/* The one entry of the config map: host-wide settings the agent may change
 * at run time. Addresses network byte order, the rest host order.
 */
struct bnc_config {
	__be32 ipip_src_v4; /* outer source of IPv4 encapsulation */
	__be32 ipip_src_v6[4]; /* outer source of IPv6 encapsulation */
	/* Seed of flow_hash() (bouncer_hash.h): the same on every host that
	 * must map a flow to the same ring slot.
	 */
	__u32 hash_seed;
	__u32 pad[2];
};
_Static_assert(sizeof(struct bnc_config) == 32, "bnc_config ABI");

/* The one entry of the meta map: what the agent must know of pinned maps
 * before it reads any other. Its layout never changes.
 */
struct bnc_meta {
	__u32 abi_version; /* BNC_MAP_ABI_VERSION of the maps pinned with it */
	__u32 pad[15];
};
_Static_assert(sizeof(struct bnc_meta) == 64, "bnc_meta ABI");

/* Value of vip_stats (per VIP) and backend_stats (per backend). */
struct bnc_traffic {
	__u64 packets;
	__u64 bytes;
	/* Flows the ring placed here: new ones, and those whose backend went
	 * down; by XDP, and by the sk_lookup program for clients XDP did not
	 * see.
	 */
	__u64 flows;
};
_Static_assert(sizeof(struct bnc_traffic) == 24, "bnc_traffic ABI");

/* Global counters: why each packet was passed, dropped, answered or
 * re-picked. Index into struct bnc_global_stats.counters. New counters go
 * at the end. The SK_ ones count socket lookups of the sk_lookup program
 * for a VIP (one per connection for TCP, one per datagram for unconnected
 * UDP sockets), each ending in exactly one of them: handed to the chosen
 * worker's socket; to another worker's because the chosen one had no
 * socket that could take it; to no socket because no live worker of the
 * VIP had one, or the VIP has no usable backend (the stack then refuses
 * the connection); or left to the stack's own lookup because the choice
 * is a remote backend and no local worker of the VIP could take it
 * instead (a remote choice that a worker takes counts as a re-pick).
 * RING_CLEAN counts packets a clean ring slot forwarded (no flow table
 * read), RING_CHANGED flow table lookups in changed slots, FLOW_INSERT
 * flows recorded (new entries and rewritten ones), MISS_PREV changed-slot
 * misses sent to the slot's previous backend.
 */
#define BNC_GLOBAL_STATS(X) \
	X(PASS_NOT_IP, "pass_not_ip") \
	X(PASS_NOT_VIP, "pass_not_vip") \
	X(PASS_FRAGMENT, "pass_fragment") \
	X(PASS_LOCAL, "pass_local") \
	X(PASS_ICMP, "pass_icmp") \
	X(PASS_NO_NEIGH, "pass_no_neigh") \
	X(FWD_DSR, "fwd_dsr") \
	X(FWD_IPIP, "fwd_ipip") \
	X(FWD_ICMP_ERROR, "fwd_icmp_error") \
	X(FLOW_CACHE_HIT, "flow_cache_hit") \
	X(FLOW_HIT, "flow_hit") \
	X(FLOW_MISS, "flow_miss") \
	X(REPICK_DOWN, "repick_down") \
	X(REPLY_ECHO, "reply_echo") \
	X(REPLY_TOO_BIG, "reply_too_big") \
	X(DROP_MALFORMED, "drop_malformed") \
	X(DROP_NO_BACKEND, "drop_no_backend") \
	X(DROP_TOO_BIG, "drop_too_big") \
	X(DROP_FIB, "drop_fib") \
	X(DROP_INTERNAL, "drop_internal") \
	X(SK_ASSIGN, "sk_assign") \
	X(SK_REPICK, "sk_repick") \
	X(SK_NO_WORKER, "sk_no_worker") \
	X(SK_REMOTE, "sk_remote") \
	X(RING_CLEAN, "ring_clean") \
	X(RING_CHANGED, "ring_changed") \
	X(FLOW_INSERT, "flow_insert") \
	X(MISS_PREV, "miss_prev")

#define BNC_STAT_ENUM(name, str) BNC_STAT_##name,
enum bnc_stat { BNC_GLOBAL_STATS(BNC_STAT_ENUM) BNC_STAT_MAX };
#undef BNC_STAT_ENUM

struct bnc_global_stats {
	__u64 counters[BNC_STAT_MAX];
};
_Static_assert(sizeof(struct bnc_global_stats) == sizeof(__u64) * BNC_STAT_MAX,
	       "bnc_global_stats ABI");

#endif /* BOUNCER_ABI_H */
