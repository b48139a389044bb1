// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Option tables: getopt_long()'s arrays and the help's "Options:" section
 * made from one table.
 */
#include <errno.h>
#include <string.h>

#include "options.h"

int opts_init(struct opts_parser *p, const struct opt_spec *opts, size_t n)
{
	size_t k = 0;

	if (n > OPTS_MAX)
		return -E2BIG;
	memset(p, 0, sizeof(*p));
	p->shortopts[k++] = '+';
	for (size_t i = 0; i < n; i++) {
		p->longopts[i] = (struct option){
			.name = opts[i].long_name,
			.has_arg = opts[i].arg ? required_argument : no_argument,
			.val = opts[i].id,
		};
		if (!opts[i].short_name)
			continue;
		p->shortopts[k++] = opts[i].short_name;
		if (opts[i].arg)
			p->shortopts[k++] = ':';
	}
	return 0;
}

int opts_next(const struct opts_parser *p, int argc, char **argv, bool in_order)
{
	return getopt_long(argc, argv, p->shortopts + (in_order ? 0 : 1), p->longopts, NULL);
}

void opts_print_help(FILE *f, const struct opt_spec *opts, size_t n)
{
	char left[64];

	fprintf(f, "Options:\n");
	for (size_t i = 0; i < n; i++) {
		const struct opt_spec *o = &opts[i];
		const char *help = o->help, *nl;

		/* Long names align whether or not a short one comes first. */
		if (o->short_name)
			snprintf(left, sizeof(left), "-%c, --%s%s%s", o->short_name, o->long_name,
				 o->arg ? " " : "", o->arg ? o->arg : "");
		else
			snprintf(left, sizeof(left), "    --%s%s%s", o->long_name,
				 o->arg ? " " : "", o->arg ? o->arg : "");
		/* Too long to share a line with its help, two blanks between
		 * them: one of its own.
		 */
		if (2 + strlen(left) + 2 > OPTS_HELP_COLUMN)
			fprintf(f, "  %s\n%*s", left, OPTS_HELP_COLUMN, "");
		else
			fprintf(f, "  %-*s", OPTS_HELP_COLUMN - 2, left);
		while ((nl = strchr(help, '\n'))) {
			fprintf(f, "%.*s\n%*s", (int)(nl - help), help, OPTS_HELP_COLUMN, "");
			help = nl + 1;
		}
		fprintf(f, "%s\n", help);
	}
}
