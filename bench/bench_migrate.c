// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* What a change of the maps' layout costs an agent that starts over them:
 *
 *   - a full flow table (1,048,576 flows, IPv4 and IPv6) of the first
 *     layout converted to the current one: the first copy (while the old
 *     program forwards) and the second (after the swap, nothing new), as
 *     ratios to one batched read of the same table in the same run;
 *   - 64 VIPs with rings of 65537 slots: adopting the pinned maps
 *     (bnc_maps_open and bnc_maps_pins_settle over pins of the same
 *     layout), against a load without pins; and rebuilding the 64 rings,
 *     which is what a change of the ring's layout costs (rings are built
 *     from the config, not converted).
 *
 * Root: it creates maps and pins under /sys/fs/bpf.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bouncer_abi.h"
#include "bouncerd/maps.h"
#include "bouncerd/migrate_copy.h"

#define FLOWS (1u << 20)
#define VIPS 64
#define BATCH 8192

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int flow_table(__u32 key_size, __u32 value_size)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_NO_COMMON_LRU);

	return bpf_map_create(BPF_MAP_TYPE_LRU_HASH, "flows", key_size, value_size, FLOWS, &opts);
}

/* FLOWS entries of the first layout, each CPU writing its share: the
 * table holds them all, as it would after traffic on every CPU.
 */
static int fill(int fd, __u32 key_size)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	unsigned char *keys = calloc(BATCH, key_size);
	struct bnc_flow_value_v1 *values = calloc(BATCH, sizeof(*values));
	int ncpus = libbpf_num_possible_cpus(), err = 0;
	cpu_set_t allowed, one;

	if (!keys || !values || sched_getaffinity(0, sizeof(allowed), &allowed))
		err = -ENOMEM;
	for (__u32 base = 0; base < FLOWS && !err; base += BATCH) {
		__u32 count = BATCH;
		int cpu = (int)(base / BATCH) % ncpus;

		for (__u32 i = 0; i < BATCH; i++) {
			__u32 n = base + i;

			/* saddr, then the rest zero: unique per n. */
			memcpy(keys + (size_t)i * key_size, &n, sizeof(n));
			values[i] = (struct bnc_flow_value_v1){ .backend_id = n % 100,
								.vip_id = n % 64 };
		}
		if (!CPU_ISSET(cpu, &allowed))
			cpu = 0;
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		if (sched_setaffinity(0, sizeof(one), &one) ||
		    bpf_map_update_batch(fd, keys, values, &count, &opts))
			err = -errno;
	}
	if (!err && sched_setaffinity(0, sizeof(allowed), &allowed))
		err = -errno;
	free(keys);
	free(values);
	return err;
}

/* One batched read of every entry: the baseline. */
static double read_all_ms(int fd, __u32 key_size, __u32 value_size, size_t *n)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	unsigned char *keys = malloc((size_t)BATCH * key_size);
	unsigned char *values = malloc((size_t)BATCH * value_size);
	double t0 = now_ms();
	__u64 token = 0;
	void *in = NULL;

	*n = 0;
	while (keys && values) {
		__u32 count = BATCH;
		int err = bpf_map_lookup_batch(fd, in, &token, keys, values, &count, &opts);

		*n += count;
		if (err)
			break;
		in = &token;
	}
	free(keys);
	free(values);
	return now_ms() - t0;
}

static int bench_flows(const char *map, __u32 key_size)
{
	struct migrate_ctx ctx = { .now_ns = 1ull << 40 };
	struct migrate_chain chain;
	struct map_copy mc = { .ctx = &ctx, .chain = &chain };
	double read_ms, first_ms, second_ms, t0;
	size_t n;
	int err;

	migrate_chain_build(map, 1, BNC_MAP_ABI_VERSION, &chain);
	mc.old =
		(struct map_layout){ BPF_MAP_TYPE_LRU_HASH, key_size,
				     sizeof(struct bnc_flow_value_v1), FLOWS, BPF_F_NO_COMMON_LRU };
	mc.new = mc.old;
	mc.new.value_size = sizeof(struct bnc_flow_value);
	mc.old_fd = flow_table(key_size, mc.old.value_size);
	mc.new_fd = flow_table(key_size, mc.new.value_size);
	if (mc.old_fd < 0 || mc.new_fd < 0)
		return -errno;
	err = fill(mc.old_fd, key_size);
	if (err)
		goto out;
	read_ms = read_all_ms(mc.old_fd, key_size, mc.old.value_size, &n);
	t0 = now_ms();
	err = migrate_copy_all(&mc);
	first_ms = now_ms() - t0;
	if (err)
		goto out;
	t0 = now_ms();
	err = migrate_copy_again(&mc);
	second_ms = now_ms() - t0;
	if (err)
		goto out;
	printf("%-7s %9zu flows  read %6.0f ms  first copy %6.0f ms (%4.1fx read)  "
	       "second %6.0f ms (%4.1fx read)  kept %zu\n",
	       map, n, read_ms, first_ms, first_ms / read_ms, second_ms, second_ms / read_ms,
	       mc.stats.copied);
	if (mc.stats.copied != n)
		err = -EIO;
out:
	migrate_copy_free(&mc);
	close(mc.old_fd);
	close(mc.new_fd);
	return err;
}

static int add_vips(struct bnc_maps *m, __u32 *ring)
{
	for (__u32 v = 0; v < VIPS; v++) {
		struct bnc_vip_key key = { .addr = { htonl(0x0a640000 + v) },
					   .port = htons(80),
					   .proto = 6,
					   .family = BNC_FAMILY_IPV4 };
		struct bnc_vip_value value = { .vip_id = v, .ring_size = BNC_RING_SIZE_DEFAULT };
		int err = bnc_maps_vip_add(m, &key, &value);

		if (!err)
			err = bnc_maps_ring_swap(m, &key, ring, BNC_RING_SIZE_DEFAULT);
		if (err)
			return err;
	}
	return 0;
}

static int bench_rings(void)
{
	char pin[64];
	struct bnc_maps_opts pinned = { .pin_dir = pin, .flow_table_size = 65536 };
	struct bnc_maps_opts unpinned = { .flow_table_size = 65536 };
	__u32 *ring = malloc(BNC_RING_SIZE_DEFAULT * sizeof(*ring));
	struct bnc_maps *m = NULL;
	double t0, load_ms, rings_ms, adopt_ms;
	int err;

	snprintf(pin, sizeof(pin), "/sys/fs/bpf/bnc-bench-migrate-%d", getpid());
	if (!ring)
		return -ENOMEM;
	for (__u32 i = 0; i < BNC_RING_SIZE_DEFAULT; i++)
		ring[i] = i % 100;
	t0 = now_ms();
	err = bnc_maps_open(&unpinned, &m);
	load_ms = now_ms() - t0;
	bnc_maps_close(m);
	m = NULL;
	if (!err)
		err = bnc_maps_open(&pinned, &m);
	if (!err)
		err = bnc_maps_pins_settle(m);
	t0 = now_ms();
	if (!err)
		err = add_vips(m, ring);
	rings_ms = now_ms() - t0;
	bnc_maps_close(m);
	m = NULL;
	t0 = now_ms();
	if (!err)
		err = bnc_maps_open(&pinned, &m);
	if (!err)
		err = bnc_maps_pins_settle(m);
	adopt_ms = now_ms() - t0;
	bnc_maps_close(m);
	if (!err)
		printf("%d VIPs, rings of %u: load without pins %.0f ms; adopting the pins "
		       "%.0f ms (%.2fx); the rings rebuilt %.0f ms (%.2fx)\n",
		       VIPS, (unsigned int)BNC_RING_SIZE_DEFAULT, load_ms, adopt_ms,
		       adopt_ms / load_ms, rings_ms, rings_ms / load_ms);
	free(ring);
	if (system(NULL)) {
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", pin);
		if (system(cmd))
			fprintf(stderr, "bench_migrate: cannot remove %s\n", pin);
	}
	return err;
}

int main(void)
{
	int err;

	if (geteuid() != 0) {
		fprintf(stderr, "bench_migrate: needs root (maps and pins)\n");
		return 1;
	}
	printf("bench_migrate: converting maps of layout version 1 to %d\n", BNC_MAP_ABI_VERSION);
	err = bench_flows("flows4", sizeof(struct bnc_flow4_key));
	if (!err)
		err = bench_flows("flows6", sizeof(struct bnc_flow_key));
	if (!err)
		err = bench_rings();
	if (err) {
		fprintf(stderr, "bench_migrate: %s\n", strerror(-err));
		return 1;
	}
	return 0;
}
