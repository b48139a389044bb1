// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The shared vocabularies: every name round-trips through its value, names
 * and values are unique in each table, unknown names and values are
 * refused, and the lists that messages and help print.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "bouncer_abi.h"
#include "common/log.h"
#include "common/vocab.h"

static const struct {
	const char *what;
	const struct vocab *v;
} vocabs[] = {
	{ "forwarding", &vocab_forwarding },
	{ "hash", &vocab_hash },
	{ "fail", &vocab_fail },
	{ "protocol", &vocab_protocol },
	{ "admin", &vocab_admin },
	{ "check type", &vocab_check_type },
	{ "attach mode", &vocab_attach_mode },
	{ "log level", &vocab_log_level },
};

#define NVOCABS (sizeof(vocabs) / sizeof(vocabs[0]))

static void test_round_trip(void **state)
{
	(void)state;
	for (size_t i = 0; i < NVOCABS; i++) {
		const struct vocab *v = vocabs[i].v;

		if (!v->n)
			fail_msg("%s: no words", vocabs[i].what);
		for (size_t j = 0; j < v->n; j++) {
			const struct vocab_word *w = &v->words[j];
			int value = -12345;

			assert_non_null(w->name);
			assert_true(w->name[0] != '\0');
			assert_int_equal(vocab_value(v, w->name, &value), 0);
			assert_int_equal(value, w->value);
			assert_string_equal(vocab_name(v, value), w->name);
			assert_int_equal(vocab_value(v, w->name, NULL), 0);
			/* One name per value, one value per name. */
			for (size_t k = 0; k < j; k++) {
				assert_string_not_equal(v->words[k].name, w->name);
				assert_int_not_equal(v->words[k].value, w->value);
			}
		}
	}
}

static void test_unknown(void **state)
{
	static const char *const strangers[] = { "",	 "?",	"DSR",	   "Ready", " tcp",
						 "tcp ", "nat", "5-tuple", "trace", "icmp" };

	(void)state;
	for (size_t i = 0; i < NVOCABS; i++) {
		const struct vocab *v = vocabs[i].v;

		for (size_t j = 0; j < sizeof(strangers) / sizeof(strangers[0]); j++) {
			int value = -12345;

			assert_int_equal(vocab_value(v, strangers[j], &value), -EINVAL);
			assert_int_equal(value, -12345);
			assert_int_equal(vocab_value(v, strangers[j], NULL), -EINVAL);
		}
		assert_string_equal(vocab_name(v, -1), "?");
		assert_string_equal(vocab_name(v, 1000), "?");
	}
	/* A word of one vocabulary is not one of another. */
	assert_int_equal(vocab_value(&vocab_forwarding, "tcp", NULL), -EINVAL);
	assert_int_equal(vocab_value(&vocab_admin, "none", NULL), -EINVAL);
}

/* The values are the enums' and the kernel's, not positions. */
static void test_values(void **state)
{
	int value = -1;

	(void)state;
	assert_int_equal(vocab_value(&vocab_protocol, "udp", &value), 0);
	assert_int_equal(value, IPPROTO_UDP);
	assert_string_equal(vocab_name(&vocab_protocol, IPPROTO_TCP), "tcp");
	assert_string_equal(vocab_name(&vocab_protocol, 0), "?");
	assert_string_equal(vocab_name(&vocab_forwarding, BNC_FWD_IPIP), "ipip");
	assert_string_equal(vocab_name(&vocab_hash, CFG_HASH_SOURCE), "source");
	assert_string_equal(vocab_name(&vocab_fail, CFG_FAIL_CLOSED), "closed");
	assert_string_equal(vocab_name(&vocab_admin, CFG_ADMIN_MAINT), "maint");
	assert_string_equal(vocab_name(&vocab_check_type, CFG_CHECK_EXEC), "exec");
	assert_string_equal(vocab_name(&vocab_attach_mode, CFG_ATTACH_SKB), "skb");
	assert_string_equal(vocab_name(&vocab_log_level, LOG_LEVEL_DEBUG), "debug");
}

static void test_join(void **state)
{
	char buf[64], small[8];

	(void)state;
	vocab_join(&vocab_forwarding, ", ", NULL, buf, sizeof(buf));
	assert_string_equal(buf, "dsr, ipip");
	vocab_join(&vocab_forwarding, "|", NULL, buf, sizeof(buf));
	assert_string_equal(buf, "dsr|ipip");
	vocab_join(&vocab_admin, ", ", " or ", buf, sizeof(buf));
	assert_string_equal(buf, "ready, drain or maint");
	vocab_join(&vocab_check_type, ", ", NULL, buf, sizeof(buf));
	assert_string_equal(buf, "none, tcp, http, udp, exec");
	vocab_join(&vocab_log_level, ", ", NULL, buf, sizeof(buf));
	assert_string_equal(buf, "error, warn, info, debug");
	/* Truncated, terminated; a zero length writes nothing. */
	vocab_join(&vocab_check_type, ", ", NULL, small, sizeof(small));
	assert_string_equal(small, "none, t");
	small[0] = 'x';
	vocab_join(&vocab_check_type, ", ", NULL, small, 0);
	assert_int_equal(small[0], 'x');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_unknown),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_join),
	};

	return cmocka_run_group_tests_name("vocab", tests, NULL, NULL);
}
