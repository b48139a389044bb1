// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Address and MAC parsing: the forms the maps hold, and what is refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>

#include "common/addr.h"

static void test_ipv4(void **state)
{
	__be32 addr[4] = { 1, 2, 3, 4 };
	char buf[ADDR_STRLEN];
	__u8 family = 0;

	(void)state;
	assert_int_equal(addr_parse("10.1.2.3", addr, &family), 0);
	assert_int_equal(family, BNC_FAMILY_IPV4);
	assert_int_equal(addr[0], htonl(0x0a010203));
	/* The other words are zeroed: the maps compare whole keys. */
	assert_int_equal(addr[1] | addr[2] | addr[3], 0);
	assert_string_equal(addr_format(addr, family, buf, sizeof(buf)), "10.1.2.3");
}

static void test_ipv6(void **state)
{
	__be32 addr[4];
	char buf[ADDR_STRLEN];
	__u8 family = 0;

	(void)state;
	assert_int_equal(addr_parse("fd00::1:2", addr, &family), 0);
	assert_int_equal(family, BNC_FAMILY_IPV6);
	assert_int_equal(addr[0], htonl(0xfd000000));
	assert_int_equal(addr[3], htonl(0x00010002));
	assert_string_equal(addr_format(addr, family, buf, sizeof(buf)), "fd00::1:2");
}

static void test_bad_addresses(void **state)
{
	static const char *const bad[] = { "",	       "10.0.0",       "10.0.0.256", "10.0.0.1/32",
					   "fd00:::1", "host.example", " 10.0.0.1" };
	__be32 addr[4];
	__u8 family;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(addr_parse(bad[i], addr, &family), -EINVAL);
}

static void test_format_unknown_family(void **state)
{
	__be32 addr[4] = { 0 };
	char buf[ADDR_STRLEN];

	(void)state;
	assert_string_equal(addr_format(addr, 0, buf, sizeof(buf)), "?");
}

static void test_mac(void **state)
{
	static const char *const bad[] = { "",
					   "02:00:00:00:00",
					   "02:00:00:00:00:0g",
					   "02-00-00-00-00-01",
					   "02:00:00:00:00:01:",
					   "2:0:0:0:0:1" };
	__u8 mac[6];

	(void)state;
	assert_int_equal(mac_parse("02:aB:00:ff:10:9c", mac), 0);
	assert_int_equal(mac[0], 0x02);
	assert_int_equal(mac[1], 0xab);
	assert_int_equal(mac[3], 0xff);
	assert_int_equal(mac[5], 0x9c);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(mac_parse(bad[i], mac), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4),	      cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_bad_addresses), cmocka_unit_test(test_format_unknown_family),
		cmocka_unit_test(test_mac),
	};

	return cmocka_run_group_tests_name("addresses", tests, NULL, NULL);
}
