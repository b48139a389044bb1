// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The VIP slots (see BNC_VIP_SLOTS_LOG2): each VIP's direct-mapped copy,
 * what the datapath does when a slot holds another VIP or a mix of two
 * writes, and who gets a slot when its VIP goes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <netinet/in.h>

#include "bouncer_hash.h"
#include "dp_case.h"

#define VIP_ADDR "10.100.0.1"
/* An id no VIP of the test world has. */
#define SPARE_VIP_ID 40

/* Runs a DSR packet and returns the backend (A, B or C) it went to. */
static uint32_t backend_of(struct dp_env *env, const struct pkt *p)
{
	uint8_t out[PKT_MAX_LEN];
	uint32_t verdict, backend;
	size_t len;

	assert_int_equal(dp_run(env, p, out, &len, &verdict), 0);
	if (verdict != XDP_TX)
		return BNC_BACKEND_NONE;
	assert_int_equal(dp_dsr_backend(env, p, out, len, &backend), 0);
	return backend;
}

/* A TCP data packet to VIP_ADDR:dport from its own source port: each one a
 * new flow, so that no flow cache entry answers for it.
 */
static void build(struct pkt *p, uint16_t dport)
{
	static uint16_t next_sport = 1000;
	struct dp_input in = { .family = 4,
			       .proto = IPPROTO_TCP,
			       .daddr = VIP_ADDR,
			       .sport = next_sport,
			       .dport = dport,
			       .tcp_flags = PKT_TCP_ACK };

	next_sport++;
	dp_build_input(p, &in);
}

static struct bnc_vip_key vip_key(uint16_t port)
{
	struct bnc_vip_key key = { .port = htons(port),
				   .proto = IPPROTO_TCP,
				   .family = BNC_FAMILY_IPV4 };

	assert_int_equal(pkt_parse_ip4(VIP_ADDR, (uint8_t *)key.addr), 0);
	return key;
}

static void slot_read(struct dp_env *env, uint32_t index, struct bnc_vip_slot *slot)
{
	int fd = bnc_maps_map_fd(env->maps, "vip_slots");

	assert_true(fd >= 0);
	assert_int_equal(bpf_map_lookup_elem(fd, &index, slot), 0);
}

static void slot_put(struct dp_env *env, uint32_t index, const struct bnc_vip_slot *slot)
{
	int fd = bnc_maps_map_fd(env->maps, "vip_slots");

	assert_true(fd >= 0);
	assert_int_equal(bpf_map_update_elem(fd, &index, slot, BPF_ANY), 0);
}

/* Adds VIP_ADDR:port with SPARE_VIP_ID and a ring of backend id alone. */
static void add_vip(struct dp_env *env, uint16_t port, uint32_t id)
{
	struct bnc_vip_key key = vip_key(port);
	struct bnc_vip_value value = { .vip_id = SPARE_VIP_ID, .forwarding = BNC_FWD_DSR };

	assert_int_equal(bnc_maps_vip_add(env->maps, &key, &value), 0);
	assert_int_equal(dp_ring_fill(env, &key, &id, 1), 0);
}

/* A port of VIP_ADDR whose key shares the slot of port 80's. */
static uint16_t colliding_port(void)
{
	struct bnc_vip_key http = vip_key(80), other;

	for (uint32_t port = 1024; port < 65536; port++) {
		other = vip_key((uint16_t)port);
		if (vip_key_slot(&other) == vip_key_slot(&http))
			return (uint16_t)port;
	}
	fail_msg("no port of %s shares port 80's slot", VIP_ADDR);
	return 0;
}

/* Every VIP of the world sits in its slot, whole, unless another took it
 * first; each of those is in its own.
 */
static void test_each_vip_in_its_slot(void **state)
{
	struct dp_env *env = *state;
	struct bnc_vip_key http = vip_key(80);
	struct bnc_vip_value value;
	struct bnc_vip_slot slot;

	if (geteuid() != 0)
		skip();
	assert_int_equal(bnc_maps_vip_lookup(env->maps, &http, &value), 0);
	slot_read(env, vip_key_slot(&http), &slot);
	assert_memory_equal(&slot.key, &http, sizeof(http));
	assert_memory_equal(&slot.value, &value, sizeof(value));
	assert_int_equal(slot.check, vip_slot_check(&slot));
}

/* A VIP whose slot another holds is found in vips; when the holder goes,
 * the slot passes to it.
 */
static void test_collision_then_reclaim(void **state)
{
	struct dp_env *env = *state;
	uint16_t port = colliding_port();
	struct bnc_vip_key http = vip_key(80), other = vip_key(port);
	struct bnc_vip_slot slot;
	struct pkt p;

	if (geteuid() != 0)
		skip();
	add_vip(env, port, DP_BE_V4_B);
	slot_read(env, vip_key_slot(&other), &slot);
	assert_memory_equal(&slot.key, &http, sizeof(http));
	build(&p, port);
	assert_int_equal(backend_of(env, &p), DP_BE_V4_B);
	build(&p, 80);
	assert_int_not_equal(backend_of(env, &p), BNC_BACKEND_NONE);

	assert_int_equal(bnc_maps_vip_del(env->maps, &http), 0);
	slot_read(env, vip_key_slot(&other), &slot);
	assert_memory_equal(&slot.key, &other, sizeof(other));
	assert_int_equal(slot.check, vip_slot_check(&slot));
	build(&p, port);
	assert_int_equal(backend_of(env, &p), DP_BE_V4_B);
	build(&p, 80);
	assert_int_equal(backend_of(env, &p), BNC_BACKEND_NONE); /* passed: no VIP */
}

/* The datapath takes a slot's VIP only when its check holds: a slot that
 * names another VIP's ring with a wrong check (as a read during a write
 * may see) is ignored; with its check, it is what the packet goes by.
 */
static void test_slot_needs_its_check(void **state)
{
	struct dp_env *env = *state;
	struct bnc_vip_key http = vip_key(80), spare = vip_key(8080);
	uint32_t a = DP_BE_V4_A, index = vip_key_slot(&http);
	struct bnc_vip_value spare_value;
	struct bnc_vip_slot slot;
	struct pkt p;

	if (geteuid() != 0)
		skip();
	assert_int_equal(dp_ring_fill(env, &http, &a, 1), 0);
	add_vip(env, 8080, DP_BE_V4_C);
	assert_int_equal(bnc_maps_vip_lookup(env->maps, &spare, &spare_value), 0);

	slot_read(env, index, &slot);
	slot.value = spare_value;
	slot.check = vip_slot_check(&slot) + 2; /* still odd, not 0: wrong */
	slot_put(env, index, &slot);
	build(&p, 80);
	assert_int_equal(backend_of(env, &p), DP_BE_V4_A);

	slot.check = vip_slot_check(&slot);
	slot_put(env, index, &slot);
	build(&p, 80);
	assert_int_equal(backend_of(env, &p), DP_BE_V4_C);
}

/* Each test gets a freshly loaded world. */
#define WITH_ENV(test) \
	cmocka_unit_test_setup_teardown(test, dp_env_cmocka_setup, dp_env_cmocka_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		WITH_ENV(test_each_vip_in_its_slot),
		WITH_ENV(test_collision_then_reclaim),
		WITH_ENV(test_slot_needs_its_check),
	};

	return cmocka_run_group_tests_name("VIP slots", tests, NULL, NULL);
}
