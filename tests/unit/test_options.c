// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Option tables: the getopt_long() arrays made from them, parsing in order
 * and permuted, and the layout of the help's "Options:" section.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/options.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

enum { ID_PIN = 256 };

static const struct opt_spec table[] = {
	{ .short_name = 'c', .long_name = "config", .arg = "FILE", .id = 'c', .help = "one line" },
	{ .short_name = 't', .long_name = "test", .id = 't', .help = "two\nlines" },
	{ .long_name = "pin", .arg = "DIR", .id = ID_PIN, .help = "long name only" },
	{ .short_name = 'i',
	  .long_name = "interval",
	  .arg = "SECONDS",
	  .id = 'i',
	  .help = "names too long\nfor the column" },
};

static void test_init(void **state)
{
	struct opt_spec many[OPTS_MAX + 1] = { { 0 } };
	struct opts_parser p;

	(void)state;
	assert_int_equal(opts_init(&p, table, N(table)), 0);
	assert_string_equal(p.shortopts, "+c:ti:");
	assert_string_equal(p.longopts[0].name, "config");
	assert_int_equal(p.longopts[0].has_arg, required_argument);
	assert_int_equal(p.longopts[1].has_arg, no_argument);
	assert_int_equal(p.longopts[2].val, ID_PIN);
	assert_null(p.longopts[N(table)].name);
	assert_int_equal(opts_init(&p, many, N(many)), -E2BIG);
}

/* Parses line (words separated by one blank) and returns the ids seen, as
 * characters ('P' for --pin), with each argument after its id.
 */
static void parse(const char *line, bool in_order, char *out, size_t len, int *rest)
{
	char buf[128], *argv[16], *save = NULL;
	struct opts_parser p;
	int argc = 0, c;
	size_t n = 0;

	assert_int_equal(opts_init(&p, table, N(table)), 0);
	snprintf(buf, sizeof(buf), "prog %s", line);
	for (char *w = strtok_r(buf, " ", &save); w && argc < 15; w = strtok_r(NULL, " ", &save))
		argv[argc++] = w;
	argv[argc] = NULL;
	optind = 0;
	opterr = 0;
	out[0] = '\0';
	while ((c = opts_next(&p, argc, argv, in_order)) != -1)
		n += (size_t)snprintf(out + n, len - n, "%c%s%s", c == ID_PIN ? 'P' : c,
				      optarg ? "=" : "", optarg ? optarg : "");
	*rest = argc - optind;
}

static void test_next(void **state)
{
	char out[64];
	int rest;

	(void)state;
	parse("-c f --test --pin=/d -ix", false, out, sizeof(out), &rest);
	assert_string_equal(out, "c=ftP=/di=x");
	assert_int_equal(rest, 0);
	/* Permuted: options after a word too. */
	parse("-t cmd arg --pin /d", false, out, sizeof(out), &rest);
	assert_string_equal(out, "tP=/d");
	assert_int_equal(rest, 2);
	/* In order: up to the first word. */
	parse("-t cmd arg --pin /d", true, out, sizeof(out), &rest);
	assert_string_equal(out, "t");
	assert_int_equal(rest, 4);
	/* No short name, no short option; a missing argument. */
	parse("-p /d", false, out, sizeof(out), &rest);
	assert_string_equal(out, "?");
	parse("--config", false, out, sizeof(out), &rest);
	assert_string_equal(out, "?");
}

static void test_help(void **state)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	f = open_memstream(&text, &len);
	assert_non_null(f);
	opts_print_help(f, table, N(table));
	assert_int_equal(fclose(f), 0);
	assert_string_equal(text, "Options:\n"
				  "  -c, --config FILE     one line\n"
				  "  -t, --test            two\n"
				  "                        lines\n"
				  "      --pin DIR         long name only\n"
				  "  -i, --interval SECONDS\n"
				  "                        names too long\n"
				  "                        for the column\n");
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init),
		cmocka_unit_test(test_next),
		cmocka_unit_test(test_help),
	};

	return cmocka_run_group_tests_name("options", tests, NULL, NULL);
}
