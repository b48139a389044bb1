// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Ring slot history: the word encoding (old rings read clean), the merge
 * of a new ring over the old one (first change, second change, a down
 * previous backend, a slot back to its backend), cleaning, and marking
 * the slots an adopted table needs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "bouncerd/ring_history.h"

#define A 1u
#define B 2u
#define C 3u
#define NONE BNC_BACKEND_NONE

static void test_old_words_read_clean(void **state)
{
	(void)state;
	assert_int_equal(bnc_ring_cur(A), A);
	assert_int_equal(bnc_ring_prev(A), NONE);
	assert_int_equal(bnc_ring_cur(NONE), NONE);
	assert_int_equal(bnc_ring_prev(NONE), NONE);
	assert_int_equal(bnc_ring_word(A, NONE), A);
	assert_int_equal(bnc_ring_word(NONE, NONE), NONE);
	assert_int_equal(bnc_ring_cur(bnc_ring_word(B, A)), B);
	assert_int_equal(bnc_ring_prev(bnc_ring_word(B, A)), A);
	/* Backend 0 as prev is told from no prev. */
	assert_int_equal(bnc_ring_prev(bnc_ring_word(B, 0)), 0);
	assert_int_equal(bnc_ring_cur(bnc_ring_word(NONE, A)), NONE);
	assert_int_equal(bnc_ring_prev(bnc_ring_word(NONE, A)), A);
}

static void test_merge(void **state)
{
	const __u32 old[5] = { A, A, bnc_ring_word(B, A), bnc_ring_word(B, A), NONE };
	const __u32 cur[5] = { A, B, C, A, B };
	bool down[BNC_MAX_BACKENDS] = { false };
	__u32 out[5];

	(void)state;
	assert_int_equal(ring_history_merge(NULL, cur, 5, NULL, out), 0);
	assert_int_equal(out[1], B);
	assert_int_equal(ring_history_merge(old, cur, 5, NULL, out), 3);
	assert_int_equal(out[0], A); /* unchanged: clean */
	assert_int_equal(out[1], bnc_ring_word(B, A)); /* first change */
	assert_int_equal(out[2], bnc_ring_word(C, A)); /* second: oldest prev */
	assert_int_equal(out[3], bnc_ring_word(A, A)); /* back: entries of B count */
	assert_int_equal(out[4], B); /* was empty: nothing to keep */
	/* A down: its flows went to the old cur, which they keep. A clean
	 * slot of A was read as changed (flows placed meanwhile have
	 * entries): it stays changed, its flows with no entry on B.
	 */
	down[A] = true;
	assert_int_equal(ring_history_merge(old, cur, 5, down, out), 4);
	assert_int_equal(out[0], bnc_ring_word(A, A));
	assert_int_equal(out[1], bnc_ring_word(B, B));
	assert_int_equal(out[2], bnc_ring_word(C, B));
	assert_int_equal(out[3], bnc_ring_word(A, B));
}

static void test_clean(void **state)
{
	__u32 words[3] = { A, bnc_ring_word(B, A), bnc_ring_word(C, A) };
	const bool keep[3] = { false, false, true };

	(void)state;
	assert_int_equal(ring_history_changed(words, 3), 2);
	assert_int_equal(ring_history_clean(words, keep, 3), 1);
	assert_int_equal(words[1], B);
	assert_int_equal(words[2], bnc_ring_word(C, A));
	assert_int_equal(ring_history_clean(words, NULL, 3), 1);
	assert_int_equal(ring_history_changed(words, 3), 0);
}

/* Slots with a recorded flow of another backend, in a ring without
 * history: marked changed with prev = cur; a changed slot, an empty one
 * and an unmarked one stay as they are.
 */
static void test_mark(void **state)
{
	__u32 words[4] = { A, B, bnc_ring_word(C, A), NONE };
	const bool mark[4] = { true, false, true, true };

	(void)state;
	assert_int_equal(ring_history_mark(words, mark, 4), 1);
	assert_int_equal(words[0], bnc_ring_word(A, A));
	assert_int_equal(bnc_ring_prev(words[0]), A);
	assert_int_equal(words[1], B);
	assert_int_equal(words[2], bnc_ring_word(C, A));
	assert_int_equal(words[3], NONE);
	/* Marked once: a second pass changes nothing. */
	assert_int_equal(ring_history_mark(words, mark, 4), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_old_words_read_clean),
		cmocka_unit_test(test_merge),
		cmocka_unit_test(test_clean),
		cmocka_unit_test(test_mark),
	};

	return cmocka_run_group_tests_name("ring slot history", tests, NULL, NULL);
}
