// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* A worker id's recent output: the ring keeps the newest lines within its
 * bounds in lines and bytes, in order, and cuts a line too long for it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "bouncerd/workers_log.h"

static void add(struct wlog *l, uint64_t seq, const char *text)
{
	assert_int_equal(
		wlog_add(l, seq, 1000 + (int64_t)seq, 42, 3, WLOG_STDERR, text, strlen(text)), 0);
}

static void test_lines_bound(void **state)
{
	struct wlog l;
	char text[16];

	(void)state;
	wlog_init(&l, 5, 1 << 20);
	for (uint64_t i = 1; i <= 12; i++) {
		snprintf(text, sizeof(text), "line %llu", (unsigned long long)i);
		add(&l, i, text);
		assert_int_equal(l.n, i < 5 ? i : 5);
	}
	/* The last five, oldest first. */
	for (size_t i = 0; i < 5; i++) {
		const struct wlog_line *x = wlog_at(&l, i);

		assert_non_null(x);
		assert_int_equal(x->seq, 8 + i);
		snprintf(text, sizeof(text), "line %zu", 8 + i);
		assert_string_equal(x->text, text);
		assert_int_equal(x->pid, 42);
		assert_int_equal(x->id, 3);
		assert_int_equal(x->time_ms, 1008 + (int64_t)i);
		assert_string_equal(wlog_stream_name(x->stream), "stderr");
	}
	assert_null(wlog_at(&l, 5));
	wlog_free(&l);
	assert_int_equal(l.n, 0);
}

static void test_bytes_bound(void **state)
{
	char text[101];
	struct wlog l;
	size_t kept;

	(void)state;
	memset(text, 'x', 100);
	text[100] = '\0';
	/* Room for 3 lines of 100 bytes with their overhead, not 4. */
	wlog_init(&l, 1000, 3 * (100 + WLOG_LINE_OVERHEAD) + 10);
	for (uint64_t i = 1; i <= 10; i++) {
		add(&l, i, text);
		assert_true(l.bytes <= l.max_bytes);
	}
	kept = l.n;
	assert_int_equal(kept, 3);
	assert_int_equal(wlog_at(&l, 0)->seq, 8);
	/* A short line makes room for itself only. */
	add(&l, 11, "y");
	assert_int_equal(l.n, 3);
	assert_int_equal(wlog_at(&l, 0)->seq, 9);
	assert_string_equal(wlog_at(&l, 2)->text, "y");
	wlog_free(&l);
}

static void test_long_line_cut(void **state)
{
	char text[300];
	struct wlog l;

	(void)state;
	memset(text, 'z', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	wlog_init(&l, 10, 100 + WLOG_LINE_OVERHEAD);
	add(&l, 1, "before");
	add(&l, 2, text);
	assert_int_equal(l.n, 1);
	assert_int_equal(wlog_at(&l, 0)->len, 100);
	assert_int_equal(strlen(wlog_at(&l, 0)->text), 100);
	assert_true(l.bytes <= l.max_bytes);
	wlog_free(&l);
}

static void test_defaults_and_names(void **state)
{
	struct wlog l;

	(void)state;
	wlog_init(&l, 0, 0);
	assert_int_equal(l.max_lines, WLOG_MAX_LINES);
	assert_int_equal(l.max_bytes, WLOG_MAX_BYTES);
	assert_null(wlog_at(&l, 0));
	wlog_free(&l);
	assert_string_equal(wlog_stream_name(WLOG_STDOUT), "stdout");
	assert_string_equal(wlog_stream_name(WLOG_MERGED), "output");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines_bound),
		cmocka_unit_test(test_bytes_bound),
		cmocka_unit_test(test_long_line_cut),
		cmocka_unit_test(test_defaults_and_names),
	};

	return cmocka_run_group_tests_name("workers_log", tests, NULL, NULL);
}
