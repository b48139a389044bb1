// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The state file loader: what an agent writes is taken whole; anything it
 * would not write (an invalid entry, an id given twice, an id out of
 * range) refuses the whole file, so the agent starts as with none.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bouncerd/daemon_state.h"

#define BACKEND(addr, id) \
	"{\"address\":\"" addr "\",\"port\":80,\"id\":" #id ",\"admin\":\"ready\"," \
	"\"healthy\":true,\"health_known\":true}"
/* As an agent that keeps run-time settings writes it. */
#define BACKEND_RT(addr, id, weight, cfg_weight, admin, cfg_admin) \
	"{\"address\":\"" addr "\",\"port\":80,\"id\":" #id ",\"admin\":\"" admin "\"," \
	"\"healthy\":true,\"health_known\":true,\"weight\":" #weight "," \
	"\"config_weight\":" #cfg_weight ",\"config_admin\":\"" cfg_admin "\"}"
#define VIP(name, vip_id, backends) \
	"{\"name\":\"" name "\",\"address\":\"10.0.0.1\",\"port\":80,\"protocol\":6," \
	"\"vip_id\":" #vip_id ",\"backends\":[" backends "]}"
#define STATE(next, vips) "{\"next_backend_id\":" #next ",\"vips\":[" vips "]}"

/* Writes text to a temporary file and reads it back as a state file. */
static int read_text(const char *text, struct saved_state *st)
{
	char path[] = "/tmp/test_state.XXXXXX";
	int fd = mkstemp(path), err;
	FILE *f;

	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		unlink(path);
		return -EIO;
	}
	fputs(text, f);
	fclose(f);
	err = daemon_state_read(path, st);
	unlink(path);
	return err;
}

static void test_valid(void **state)
{
	struct saved_state st;

	(void)state;
	assert_int_equal(
		read_text(STATE(4, VIP("web", 0,
				       BACKEND("10.1.0.1", 1) "," BACKEND(
					       "10.1.0.2", 2)) "," VIP("dns", 1,
								       BACKEND("10.1.0.3", 3))),
			  &st),
		0);
	assert_int_equal(st.nvips, 2);
	assert_int_equal(st.next_backend_id, 4);
	assert_int_equal(st.vips[0].nbackends, 2);
	assert_int_equal(st.vips[0].backends[1].id, 2);
	assert_string_equal(st.vips[1].name, "dns");
	daemon_state_free(&st);
}

/* Run-time settings come back with the config values they were made
 * against; a file of an older agent has none (has_config false).
 */
static void test_runtime_settings(void **state)
{
	struct saved_state st;
	const struct saved_backend *b;

	(void)state;
	assert_int_equal(
		read_text(
			STATE(4,
			      VIP("web", 0,
				  BACKEND_RT("10.1.0.1", 1, 6, 1, "ready", "ready") "," BACKEND_RT(
					  "10.1.0.2", 2, 1, 1, "drain",
					  "ready") "," BACKEND("10.1.0.3", 3))),
			&st),
		0);
	assert_int_equal(st.vips[0].nbackends, 3);
	b = &st.vips[0].backends[0];
	assert_true(b->has_config);
	assert_int_equal(b->weight, 6);
	assert_int_equal(b->cfg_weight, 1);
	assert_int_equal(b->admin, CFG_ADMIN_READY);
	assert_int_equal(b->cfg_admin, CFG_ADMIN_READY);
	b = &st.vips[0].backends[1];
	assert_true(b->has_config);
	assert_int_equal(b->weight, 1);
	assert_int_equal(b->admin, CFG_ADMIN_DRAIN);
	assert_int_equal(b->cfg_admin, CFG_ADMIN_READY);
	assert_false(st.vips[0].backends[2].has_config);
	daemon_state_free(&st);
}

#define ADDED_VIP(name, vip_id, backends) \
	"{\"name\":\"" name "\",\"address\":\"10.0.0.2\",\"port\":80,\"protocol\":6," \
	"\"vip_id\":" #vip_id ",\"added\":true,\"forwarding\":\"ipip\",\"hash\":\"source\"," \
	"\"fail\":\"closed\",\"ring_size\":7,\"backends\":[" backends "]}"
#define ADDED_BACKEND(addr, id) \
	"{\"address\":\"" addr "\",\"port\":80,\"id\":" #id ",\"admin\":\"drain\"," \
	"\"healthy\":true,\"health_known\":true,\"weight\":3,\"config_weight\":3," \
	"\"config_admin\":\"drain\",\"added\":true}"
#define STATE_REMOVED(next, vips, removed) \
	"{\"next_backend_id\":" #next ",\"vips\":[" vips "],\"removed\":[" removed "]}"
#define REMOVED_VIP "{\"vip\":\"dns\",\"address\":\"10.0.0.53\",\"port\":53,\"protocol\":17}"
#define REMOVED_BACKEND \
	"{\"vip\":\"web\",\"address\":\"10.0.0.1\",\"port\":80,\"protocol\":6," \
	"\"backend\":{\"address\":\"fd00::2\",\"port\":8080,\"config_weight\":2," \
	"\"config_admin\":\"ready\"}}"

/* What was added and removed at run time comes back: a VIP added with its
 * settings, backends added, config entries removed.
 */
static void test_added_and_removed(void **state)
{
	struct saved_state st;
	const struct saved_vip *v;
	const struct removed_item *r;

	(void)state;
	assert_int_equal(
		read_text(STATE_REMOVED(5,
					VIP("web", 0,
					    BACKEND("10.1.0.1", 1) "," ADDED_BACKEND(
						    "10.1.0.9",
						    2)) "," ADDED_VIP("api", 1,
								      ADDED_BACKEND("10.1.0.7", 3)),
					REMOVED_VIP "," REMOVED_BACKEND),
			  &st),
		0);
	assert_int_equal(st.nvips, 2);
	v = &st.vips[0];
	assert_false(v->added);
	assert_false(v->backends[0].added);
	assert_true(v->backends[1].added);
	assert_int_equal(v->backends[1].weight, 3);
	assert_int_equal(v->backends[1].admin, CFG_ADMIN_DRAIN);
	v = &st.vips[1];
	assert_true(v->added);
	assert_int_equal(v->forwarding, BNC_FWD_IPIP);
	assert_int_equal(v->hash, CFG_HASH_SOURCE);
	assert_int_equal(v->fail, CFG_FAIL_CLOSED);
	assert_int_equal(v->ring_size, 7);
	assert_int_equal(st.removed.n, 2);
	r = &st.removed.items[0];
	assert_string_equal(r->vip, "dns");
	assert_false(r->is_backend);
	assert_int_equal(r->key.proto, 17);
	r = &st.removed.items[1];
	assert_true(r->is_backend);
	assert_int_equal(r->family, BNC_FAMILY_IPV6);
	assert_int_equal(r->port, 8080);
	assert_int_equal(r->cfg_weight, 2);
	daemon_state_free(&st);
}

/* Each must be refused whole, leaving st empty. */
static const struct bad_case {
	const char *desc;
	const char *text;
} bad_cases[] = {
	{ "backend id twice in a VIP",
	  STATE(4, VIP("web", 0, BACKEND("10.1.0.1", 1) "," BACKEND("10.1.0.2", 1))) },
	{ "backend id twice across VIPs", STATE(4, VIP("web", 0, BACKEND("10.1.0.1", 1)) "," VIP(
							   "dns", 1, BACKEND("10.1.0.2", 1))) },
	{ "VIP id twice", STATE(4, VIP("web", 0, BACKEND("10.1.0.1", 1)) "," VIP(
					   "dns", 0, BACKEND("10.1.0.2", 2))) },
	{ "VIP name twice", STATE(4, VIP("web", 0, BACKEND("10.1.0.1", 1)) "," VIP(
					     "web", 1, BACKEND("10.1.0.2", 2))) },
	{ "backend id 0", STATE(4, VIP("web", 0, BACKEND("10.1.0.1", 0))) },
	{ "backend id past the table", STATE(4, VIP("web", 0, BACKEND("10.1.0.1", 4096))) },
	{ "negative backend id", STATE(4, VIP("web", 0, BACKEND("10.1.0.1", -3))) },
	{ "VIP id past the table", STATE(4, VIP("web", 512, BACKEND("10.1.0.1", 1))) },
	{ "next_backend_id past the table", STATE(5000, VIP("web", 0, BACKEND("10.1.0.1", 1))) },
	{ "next_backend_id 0", STATE(0, VIP("web", 0, BACKEND("10.1.0.1", 1))) },
	{ "a backend that is not valid",
	  STATE(4, VIP("web", 0, BACKEND("10.1.0.1", 1) ",{\"address\":\"nowhere\"}")) },
	{ "a weight past 65535",
	  STATE(4, VIP("web", 0, BACKEND_RT("10.1.0.1", 1, 70000, 1, "ready", "ready"))) },
	{ "an unknown config admin state",
	  STATE(4, VIP("web", 0, BACKEND_RT("10.1.0.1", 1, 6, 1, "ready", "sleepy"))) },
	{ "a weight without its config value",
	  STATE(4, VIP("web", 0,
		       "{\"address\":\"10.1.0.1\",\"port\":80,\"id\":1,\"admin\":\"ready\","
		       "\"healthy\":true,\"health_known\":true,\"weight\":6}")) },
	{ "a VIP that is not valid", STATE(4, VIP("web", 0, BACKEND("10.1.0.1", 1)) ",{}") },
	{ "a VIP added at run time without its settings",
	  STATE(4, "{\"name\":\"api\",\"address\":\"10.0.0.2\",\"port\":80,\"protocol\":6,"
		   "\"vip_id\":1,\"added\":true,\"backends\":[]}") },
	{ "an unknown forwarding",
	  STATE(4, "{\"name\":\"api\",\"address\":\"10.0.0.2\",\"port\":80,\"protocol\":6,"
		   "\"vip_id\":1,\"forwarding\":\"teleport\",\"backends\":[]}") },
	{ "a backend added at run time without its weight",
	  STATE(4, VIP("web", 0,
		       BACKEND("10.1.0.1", 1) ",{\"address\":\"10.1.0.2\",\"port\":80,"
					      "\"id\":2,\"admin\":\"ready\",\"healthy\":true,"
					      "\"health_known\":true,\"added\":true}")) },
	{ "a removed entry without its VIP's address",
	  STATE_REMOVED(4, VIP("web", 0, BACKEND("10.1.0.1", 1)), "{\"vip\":\"dns\"}") },
	{ "a removed backend with an unknown config state",
	  STATE_REMOVED(4, VIP("web", 0, BACKEND("10.1.0.1", 1)),
			"{\"vip\":\"web\",\"address\":\"10.0.0.1\",\"port\":80,\"protocol\":6,"
			"\"backend\":{\"address\":\"10.1.0.2\",\"port\":80,\"config_weight\":1,"
			"\"config_admin\":\"asleep\"}}") },
	{ "removed that is not a list",
	  "{\"next_backend_id\":4,\"vips\":[" VIP("web", 0,
						  BACKEND("10.1.0.1", 1)) "],"
									  "\"removed\":{}}" },
};

static void test_refused(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		struct saved_state st;
		int err = read_text(bad_cases[i].text, &st);

		print_message("  %s\n", bad_cases[i].desc);
		assert_int_equal(err, -EINVAL);
		assert_int_equal(st.nvips, 0);
		assert_null(st.vips);
	}
}

static void test_missing(void **state)
{
	struct saved_state st;

	(void)state;
	assert_int_equal(daemon_state_read("/nonexistent/state.json", &st), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_runtime_settings),
		cmocka_unit_test(test_added_and_removed),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_missing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
