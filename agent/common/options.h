/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Command-line options declared as one table per program: getopt_long's
 * arrays and the "Options:" section of the help are both made from it, so
 * that every program prints its options in one layout (after xdp-tools'
 * DEFINE_OPTION).
 */
#ifndef BOUNCER_OPTIONS_H
#define BOUNCER_OPTIONS_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Ordered large to small; designated initializers name the fields. */
struct opt_spec {
	const char *long_name;
	const char *arg; /* the argument's name in the help; NULL: a flag */
	const char *help; /* lines separated by '\n' */
	/* What opts_next() returns for the option: by custom its short
	 * name; for a long name alone, anything that is not another
	 * option's short name.
	 */
	int id;
	char short_name; /* 0: the long name only */
};

/* Options a table may have. */
#define OPTS_MAX 16

/* getopt_long()'s arguments, built from a table by opts_init(). */
struct opts_parser {
	struct option longopts[OPTS_MAX + 1];
	/* "+" (stop at the first word that is not an option), then "c:" or
	 * "t" for each option with a short name.
	 */
	char shortopts[1 + 2 * OPTS_MAX + 1];
};

/* 0, or -E2BIG for a table of more than OPTS_MAX options. */
int opts_init(struct opts_parser *p, const struct opt_spec *opts, size_t n);

/* getopt_long() over p's table: the next option's id (its argument in
 * optarg), '?' for an unknown option or a missing argument (getopt has
 * printed which), -1 after the last option. in_order stops at the first
 * word that is not an option; otherwise glibc's getopt takes options from
 * anywhere in argv.
 */
int opts_next(const struct opts_parser *p, int argc, char **argv, bool in_order);

/* The help's "Options:" section: "Options:", then per option its names
 * and argument ("-s, --socket SOCKET", "    --pin DIR"), with its help
 * from column OPTS_HELP_COLUMN, or on the next line when the names leave
 * less than two blanks before it; the help's further lines aligned under
 * its first.
 */
#define OPTS_HELP_COLUMN 24
void opts_print_help(FILE *f, const struct opt_spec *opts, size_t n);

#endif /* BOUNCER_OPTIONS_H */
