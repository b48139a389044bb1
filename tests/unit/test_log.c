// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The log's prefixes: "<N>" with each line's syslog priority when stderr is
 * the journal's stream (JOURNAL_STREAM names its device and inode), none
 * otherwise; errors at LOG_ERR, a worker's output without a level name.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "common/log.h"

static void stream_id(int fd, char *buf, size_t len)
{
	struct stat st;

	assert_int_equal(fstat(fd, &st), 0);
	snprintf(buf, len, "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
}

static void test_priority(void **state)
{
	(void)state;
	assert_int_equal(log_priority(LOG_LEVEL_ERROR), LOG_ERR);
	assert_int_equal(log_priority(LOG_LEVEL_WARN), LOG_WARNING);
	assert_int_equal(log_priority(LOG_LEVEL_INFO), LOG_INFO);
	assert_int_equal(log_priority(LOG_LEVEL_DEBUG), LOG_DEBUG);
}

static void test_stream_match(void **state)
{
	char id[64], other[64], bad[80];
	int p[2], q[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(pipe(q), 0);
	stream_id(p[1], id, sizeof(id));
	stream_id(q[1], other, sizeof(other));
	assert_true(log_stream_is_journal(id, p[1]));
	/* Another file: a child whose stderr was redirected. */
	assert_false(log_stream_is_journal(other, p[1]));
	assert_false(log_stream_is_journal(NULL, p[1]));
	assert_false(log_stream_is_journal("", p[1]));
	assert_false(log_stream_is_journal("12", p[1]));
	snprintf(bad, sizeof(bad), "%s:", id);
	assert_false(log_stream_is_journal(bad, p[1]));
	snprintf(bad, sizeof(bad), "%sx", id);
	assert_false(log_stream_is_journal(bad, p[1]));
	/* A closed descriptor is nobody's stream. */
	close(q[1]);
	assert_false(log_stream_is_journal(other, q[1]));
	close(p[0]);
	close(p[1]);
	close(q[0]);
}

/* Logs a few lines with stderr on a pipe, JOURNAL_STREAM set to that
 * stream (journal) or to another file's, and returns what was written.
 */
static char *capture(int journal)
{
	static char out[4096];
	char id[64];
	int p[2], saved;
	ssize_t n;

	assert_int_equal(pipe(p), 0);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	assert_true(dup2(p[1], STDERR_FILENO) >= 0);
	if (journal) {
		stream_id(p[1], id, sizeof(id));
		setenv("JOURNAL_STREAM", id, 1);
	} else {
		/* The original stderr: set, but not this stream. */
		stream_id(saved, id, sizeof(id));
		setenv("JOURNAL_STREAM", id, 1);
	}
	log_init("test", LOG_LEVEL_INFO);
	log_errx("start-up failed");
	log_warnx("two\nlines");
	log_info("hello");
	log_debug("filtered");
	log_output(LOG_LEVEL_WARN, "web/1 stderr: oops");
	fflush(stderr);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	close(p[1]);
	n = read(p[0], out, sizeof(out) - 1);
	assert_true(n > 0);
	out[n] = '\0';
	close(p[0]);
	unsetenv("JOURNAL_STREAM");
	log_init("test", LOG_LEVEL_INFO);
	return out;
}

static void test_journal_prefixes(void **state)
{
	(void)state;
	assert_string_equal(capture(1), "<3>test: error: start-up failed\n"
					"<4>test: warn: two\n"
					"<4>lines\n"
					"<6>test: hello\n"
					"<4>test: web/1 stderr: oops\n");
	assert_true(log_to_journal() == false);
}

static void test_no_journal(void **state)
{
	(void)state;
	assert_string_equal(capture(0), "test: error: start-up failed\n"
					"test: warn: two\n"
					"lines\n"
					"test: hello\n"
					"test: web/1 stderr: oops\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_priority),
		cmocka_unit_test(test_stream_match),
		cmocka_unit_test(test_journal_prefixes),
		cmocka_unit_test(test_no_journal),
	};

	return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
