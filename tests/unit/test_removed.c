// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Config entries removed at run time stay out while the config file lists
 * them as it did when they were removed; a change to them in the file, or
 * their leaving it, ends the removal.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "bouncerd/removed.h"

/* web at 10.0.0.1:80/tcp with backends .2 (weight w2) and .3; dns. */
static struct cfg *config(const char *web_addr, int w2, const char *admin3)
{
	char text[1024], err[256];
	struct cfg *c = NULL;

	snprintf(text, sizeof(text),
		 "interfaces = [ \"eth0\" ];\n"
		 "vips = ( { name = \"web\"; address = \"%s\"; port = 80;\n"
		 "  backends = ( { address = \"10.1.0.2\"; weight = %d; },\n"
		 "               { address = \"10.1.0.3\"; state = \"%s\"; } ); },\n"
		 " { name = \"dns\"; address = \"10.0.0.53\"; port = 53; protocol = \"udp\";\n"
		 "  backends = ( { address = \"10.1.0.4\"; } ); } );\n",
		 web_addr, w2, admin3);
	if (cfg_parse_string(text, "test.conf", &c, err, sizeof(err)))
		fail_msg("config: %s", err);
	return c;
}

/* The record bouncerd makes when bouncerctl removes cv's i-th backend
 * (i < 0: the whole VIP).
 */
static void remove_entry(struct removed_list *l, const struct cfg_vip *cv, int i)
{
	struct removed_item it = { .vip = cv->name };

	cfg_vip_key(cv, &it.key);
	if (i >= 0) {
		const struct cfg_backend *cb = &cv->backends[i];

		it.is_backend = true;
		memcpy(it.addr, cb->addr, sizeof(it.addr));
		it.family = cb->family;
		it.port = cb->port;
		it.cfg_weight = cb->weight;
		it.cfg_admin = cb->admin;
	}
	assert_int_equal(removed_add(l, &it), 0);
}

static void test_kept_while_unchanged(void **state)
{
	struct cfg *c = config("10.0.0.1", 1, "ready"), *same = config("10.0.0.1", 1, "ready");
	struct removed_list l = { 0 };
	const struct cfg_vip *web, *dns;

	(void)state;
	remove_entry(&l, cfg_vip_find(c, "web"), 0);
	remove_entry(&l, cfg_vip_find(c, "dns"), -1);
	remove_entry(&l, cfg_vip_find(c, "web"), 0); /* again: one record */
	assert_int_equal(l.n, 2);
	assert_int_equal(removed_prune(&l, same), 0);
	web = cfg_vip_find(same, "web");
	dns = cfg_vip_find(same, "dns");
	assert_true(removed_has_backend(&l, web, &web->backends[0]));
	assert_false(removed_has_backend(&l, web, &web->backends[1]));
	assert_false(removed_has_vip(&l, web));
	assert_true(removed_has_vip(&l, dns));
	/* A backend record is not the VIP's. */
	assert_false(removed_has_backend(&l, dns, &dns->backends[0]));
	removed_free(&l);
	cfg_free(c);
	cfg_free(same);
}

static void test_file_change_ends_it(void **state)
{
	struct cfg *c = config("10.0.0.1", 1, "ready");
	struct cfg *weight = config("10.0.0.1", 5, "ready");
	struct cfg *moved = config("10.0.0.9", 1, "ready");
	struct removed_list l = { 0 };
	const struct cfg_vip *web = cfg_vip_find(c, "web");

	(void)state;
	remove_entry(&l, web, 0);
	remove_entry(&l, web, 1);
	remove_entry(&l, cfg_vip_find(c, "dns"), -1);
	/* .2's weight changed in the file: it comes back; .3 and dns stay out. */
	assert_int_equal(removed_prune(&l, weight), 1);
	assert_int_equal(l.n, 2);
	assert_false(removed_has_backend(&l, cfg_vip_find(weight, "web"),
					 &cfg_vip_find(weight, "web")->backends[0]));
	assert_true(removed_has_backend(&l, cfg_vip_find(weight, "web"),
					&cfg_vip_find(weight, "web")->backends[1]));
	/* web at another address is another VIP: its records go. */
	assert_int_equal(removed_prune(&l, moved), 1);
	assert_int_equal(l.n, 1);
	assert_true(removed_has_vip(&l, cfg_vip_find(moved, "dns")));
	removed_free(&l);
	cfg_free(c);
	cfg_free(weight);
	cfg_free(moved);
}

static void test_admin_change_and_forget(void **state)
{
	struct cfg *c = config("10.0.0.1", 1, "ready"), *maint = config("10.0.0.1", 1, "maint");
	struct removed_list l = { 0 };
	const struct cfg_vip *web = cfg_vip_find(c, "web");

	(void)state;
	remove_entry(&l, web, 1);
	assert_int_equal(removed_prune(&l, maint), 1);
	assert_int_equal(l.n, 0);
	/* Added again at run time: the record goes, the VIP's with its
	 * backends'.
	 */
	remove_entry(&l, web, 0);
	remove_entry(&l, web, 1);
	removed_forget_backend(&l, "web", web->backends[1].addr, web->backends[1].family,
			       web->backends[1].port);
	assert_int_equal(l.n, 1);
	assert_true(removed_has_backend(&l, web, &web->backends[0]));
	remove_entry(&l, web, -1);
	remove_entry(&l, cfg_vip_find(c, "dns"), -1);
	removed_forget_vip(&l, "web");
	assert_int_equal(l.n, 1);
	assert_string_equal(l.items[0].vip, "dns");
	removed_free(&l);
	cfg_free(c);
	cfg_free(maint);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kept_while_unchanged),
		cmocka_unit_test(test_file_change_ends_it),
		cmocka_unit_test(test_admin_change_and_forget),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
