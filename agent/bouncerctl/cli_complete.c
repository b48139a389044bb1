// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* bouncerctl --completion bash: a bash completion script made from the
 * grammar's table (cli_grammar.c), so that a new command, keyword, choice
 * or option completes without a second list to keep. The script's fixed
 * part walks the words typed so far; the table becomes two functions of
 * data: what each command takes, and the choices after a keyword. VIP
 * names come from the running agent (`bouncerctl vip list`, with the -s or
 * -c typed), when it answers.
 */
#include <stdio.h>
#include <string.h>

#include "cli_grammar.h"

static bool is_option_arg(const struct cli_arg *a)
{
	return a->keyword && a->keyword[0] == '-';
}

/* The choices of a, separated by sep. */
static void print_choices(FILE *f, const struct cli_arg *a, const char *sep)
{
	for (size_t i = 0; i < a->choices->n; i++)
		fprintf(f, "%s%s", i ? sep : "", a->choices->words[i].name);
}

/* What a positional argument completes to: "vip" (a VIP's name),
 * "c:A,B" (one of the choices), "-" (nothing to offer); "?" after an
 * optional one.
 */
static void print_positional(FILE *f, const struct cli_arg *a)
{
	if (a->type == ARG_CHOICE) {
		fputs("c:", f);
		print_choices(f, a, ",");
	} else if (a->type == ARG_WORD &&
		   ((a->meta && strcmp(a->meta, "VIP") == 0) ||
		    (a->help && strncmp(a->help, "the VIP's name", 14) == 0))) {
		fputs("vip", f);
	} else {
		fputs("-", f);
	}
	if (a->flags & ARG_OPTIONAL)
		fputs("?", f);
}

/* _bouncerctl_spec OBJECT COMMAND: sets cmds (the object's commands),
 * kw (keywords taking a value), flags (keywords alone), bare (words that are
 * their own value), opts (the command's -- options and bouncerctl's own
 * options it takes), optargs (those taking a value) and pos (the
 * positional arguments in order).
 */
static void print_spec(FILE *f)
{
	fputs("_bouncerctl_spec()\n{\n"
	      "\tcmds='' kw='' flags='' bare='' opts='' optargs='' pos=''\n"
	      "\tcase $1 in\n",
	      f);
	for (size_t i = 0; i < CLI_NOBJECTS; i++) {
		const struct cli_object *o = &cli_objects[i];

		if (!o->cmds[0].name)
			continue;
		fprintf(f, "\t%s) cmds=\"", o->name);
		for (size_t k = 0; k < o->ncmds; k++)
			fprintf(f, "%s ", o->cmds[k].name);
		fputs("help\" ;;\n", f);
	}
	fputs("\tesac\n\tcase \"$1 $2\" in\n", f);
	for (size_t i = 0; i < CLI_NOBJECTS; i++) {
		const struct cli_object *o = &cli_objects[i];

		for (size_t k = 0; k < o->ncmds; k++) {
			const struct cli_command *c = &o->cmds[k];
			const char *sep;

			if (c->name)
				fprintf(f, "\t\"%s %s\")", o->name, c->name);
			else
				fprintf(f, "\t\"%s \")", o->name);
			fputs(" kw=\"", f);
			sep = "";
			for (size_t n = 0; n < c->nargs; n++) {
				const struct cli_arg *a = &c->args[n];

				if (a->keyword && !is_option_arg(a) && a->type != ARG_FLAG) {
					fprintf(f, "%s%s", sep, a->keyword);
					sep = " ";
				}
			}
			fputs("\" flags=\"", f);
			sep = "";
			for (size_t n = 0; n < c->nargs; n++) {
				const struct cli_arg *a = &c->args[n];

				if (a->keyword && !is_option_arg(a) && a->type == ARG_FLAG) {
					fprintf(f, "%s%s", sep, a->keyword);
					sep = " ";
				}
			}
			fputs("\" bare=\"", f);
			sep = "";
			for (size_t n = 0; n < c->nargs; n++) {
				const struct cli_arg *a = &c->args[n];

				if (a->flags & ARG_BARE) {
					fputs(sep, f);
					print_choices(f, a, " ");
					sep = " ";
				}
			}
			fputs("\" opts=\"", f);
			sep = "";
			for (size_t n = 0; n < c->nargs; n++) {
				if (is_option_arg(&c->args[n])) {
					fprintf(f, "%s%s", sep, c->args[n].keyword);
					sep = " ";
				}
			}
			if (c->flags & CMD_OPT_INTERVAL)
				fprintf(f, "%s-d --interval", sep), sep = " ";
			if (c->flags & CMD_OPT_COUNT)
				fprintf(f, "%s-n --count", sep), sep = " ";
			if (c->flags & CMD_OPT_FOLLOW)
				fprintf(f, "%s-f --follow", sep);
			fputs("\" optargs=\"", f);
			sep = "";
			for (size_t n = 0; n < c->nargs; n++) {
				const struct cli_arg *a = &c->args[n];

				if (is_option_arg(a) && a->type != ARG_FLAG) {
					fprintf(f, "%s%s", sep, a->keyword);
					sep = " ";
				}
			}
			fputs("\" pos=\"", f);
			sep = "";
			for (size_t n = 0; n < c->nargs; n++) {
				const struct cli_arg *a = &c->args[n];

				if (a->keyword || (a->flags & ARG_BARE))
					continue;
				fputs(sep, f);
				print_positional(f, a);
				sep = " ";
			}
			fputs("\" ;;\n", f);
		}
	}
	fputs("\tesac\n}\n\n", f);
}

/* _bouncerctl_choices OBJECT COMMAND KEYWORD: the words after a keyword. */
static void print_keyword_choices(FILE *f)
{
	fputs("_bouncerctl_choices()\n{\n\tcase \"$1 $2 $3\" in\n", f);
	for (size_t i = 0; i < CLI_NOBJECTS; i++) {
		const struct cli_object *o = &cli_objects[i];

		for (size_t k = 0; k < o->ncmds; k++) {
			const struct cli_command *c = &o->cmds[k];

			for (size_t n = 0; n < c->nargs; n++) {
				const struct cli_arg *a = &c->args[n];

				if (!a->keyword || a->type != ARG_CHOICE)
					continue;
				fprintf(f, "\t\"%s %s %s\") echo \"", o->name,
					c->name ? c->name : "", a->keyword);
				print_choices(f, a, " ");
				fputs("\" ;;\n", f);
			}
		}
	}
	fputs("\tesac\n}\n\n", f);
}

/* The global options: all, and those taking a value. */
static void print_global_options(FILE *f)
{
	const char *sep = "";

	fputs("_bouncerctl_gopts=\"", f);
	for (size_t i = 0; i < CLI_NOPTIONS; i++) {
		const struct opt_spec *o = &cli_options[i];

		/* -d, -n and -f belong to the commands that take them. */
		if (o->id == OPT_INTERVAL || o->id == OPT_COUNT || o->id == OPT_FOLLOW)
			continue;
		if (o->short_name)
			fprintf(f, "%s-%c", sep, o->short_name), sep = " ";
		fprintf(f, "%s--%s", sep, o->long_name);
		sep = " ";
	}
	fputs("\"\n_bouncerctl_gargs=\"", f);
	sep = "";
	for (size_t i = 0; i < CLI_NOPTIONS; i++) {
		const struct opt_spec *o = &cli_options[i];

		if (!o->arg)
			continue;
		if (o->short_name)
			fprintf(f, "%s-%c", sep, o->short_name), sep = " ";
		fprintf(f, "%s--%s", sep, o->long_name);
		sep = " ";
	}
	fputs("\"\n\n", f);
}

static const char script_head[] =
	"# bash completion for bouncerctl(8). Made from bouncerctl's grammar by\n"
	"# `bouncerctl --completion bash`: regenerate it rather than edit it.\n"
	"# shellcheck shell=bash disable=SC2207\n\n";

static const char script_body[] =
	"# The VIP names the agent knows, asked with the -s or -c typed.\n"
	"_bouncerctl_vips()\n"
	"{\n"
	"\t\"${COMP_WORDS[0]}\" \"${_bouncerctl_conn[@]}\" vip list 2>/dev/null |\n"
	"\t\twhile read -r name _; do\n"
	"\t\t\t[[ $name == NAME ]] || printf '%s\\n' \"$name\"\n"
	"\t\tdone\n"
	"}\n"
	"\n"
	"_bouncerctl()\n"
	"{\n"
	"\tlocal cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}\n"
	"\tlocal obj='' cmd='' w i skip=0 npos=0 kwval=0\n"
	"\tlocal cmds kw flags bare opts optargs pos\n"
	"\t_bouncerctl_conn=()\n"
	"\tCOMPREPLY=()\n"
	"\t# The words before the cursor: options (and their values) aside,\n"
	"\t# the object, the command, then its arguments.\n"
	"\tfor ((i = 1; i < COMP_CWORD; i++)); do\n"
	"\t\tw=${COMP_WORDS[i]}\n"
	"\t\tif ((skip)); then\n"
	"\t\t\tskip=0\n"
	"\t\t\tcontinue\n"
	"\t\tfi\n"
	"\t\tcase $w in\n"
	"\t\t-s | --socket | -c | --config)\n"
	"\t\t\t_bouncerctl_conn+=(\"$w\" \"${COMP_WORDS[i + 1]}\")\n"
	"\t\t\tskip=1\n"
	"\t\t\tcontinue\n"
	"\t\t\t;;\n"
	"\t\t-*=*) continue ;;\n"
	"\t\t-*)\n"
	"\t\t\t[[ \" $_bouncerctl_gargs $optargs -d --interval -n --count \" == *\" $w \"* ]] "
	"&& skip=1\n"
	"\t\t\tcontinue\n"
	"\t\t\t;;\n"
	"\t\tesac\n"
	"\t\tif [[ -z $obj ]]; then\n"
	"\t\t\tobj=$w\n"
	"\t\t\t_bouncerctl_spec \"$obj\" ''\n"
	"\t\t\t[[ -n $cmds ]] || cmd=' '\n"
	"\t\telif [[ -z $cmd ]]; then\n"
	"\t\t\tcmd=$w\n"
	"\t\t\t_bouncerctl_spec \"$obj\" \"$cmd\"\n"
	"\t\telif ((kwval)); then\n"
	"\t\t\tkwval=0\n"
	"\t\telif [[ \" $kw \" == *\" $w \"* ]]; then\n"
	"\t\t\tkwval=1\n"
	"\t\telif [[ \" $flags $bare \" != *\" $w \"* ]]; then\n"
	"\t\t\tnpos=$((npos + 1))\n"
	"\t\tfi\n"
	"\tdone\n"
	"\t[[ $cmd == ' ' ]] && cmd=''\n"
	"\tcase $prev in\n"
	"\t-s | --socket | -c | --config)\n"
	"\t\tCOMPREPLY=($(compgen -f -- \"$cur\"))\n"
	"\t\treturn\n"
	"\t\t;;\n"
	"\t--completion)\n"
	"\t\tCOMPREPLY=($(compgen -W bash -- \"$cur\"))\n"
	"\t\treturn\n"
	"\t\t;;\n"
	"\tesac\n"
	"\tif [[ \" $_bouncerctl_gargs $optargs -d --interval -n --count \" == *\" $prev \"* ]]; "
	"then\n"
	"\t\treturn\n"
	"\tfi\n"
	"\tif [[ $cur == -* ]]; then\n"
	"\t\tCOMPREPLY=($(compgen -W \"$_bouncerctl_gopts $opts\" -- \"$cur\"))\n"
	"\t\treturn\n"
	"\tfi\n"
	"\tif [[ -z $obj ]]; then\n"
	"\t\tCOMPREPLY=($(compgen -W \"$_bouncerctl_objects help\" -- \"$cur\"))\n"
	"\t\treturn\n"
	"\tfi\n"
	"\tif [[ -z $cmd && -n $cmds ]]; then\n"
	"\t\tCOMPREPLY=($(compgen -W \"$cmds\" -- \"$cur\"))\n"
	"\t\treturn\n"
	"\tfi\n"
	"\tif ((kwval)); then\n"
	"\t\tCOMPREPLY=($(compgen -W \"$(_bouncerctl_choices \"$obj\" \"$cmd\" \"$prev\")\" -- "
	"\"$cur\"))\n"
	"\t\treturn\n"
	"\tfi\n"
	"\t# The required positional arguments come first, then the rest in any\n"
	"\t# order.\n"
	"\tlocal -a p\n"
	"\tread -r -a p <<<\"$pos\"\n"
	"\tlocal next=${p[npos]:-} words=''\n"
	"\tif [[ -z $next || $next == *\\? ]]; then\n"
	"\t\twords=\"$kw $flags $bare\"\n"
	"\tfi\n"
	"\tcase ${next%\\?} in\n"
	"\tvip) words+=\" $(_bouncerctl_vips)\" ;;\n"
	"\tc:*) words+=\" ${next#c:}\" && words=${words//,/ } ;;\n"
	"\tesac\n"
	"\tCOMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n"
	"}\n"
	"\n"
	"complete -F _bouncerctl bouncerctl\n";

void cli_completion_bash(FILE *f)
{
	fputs(script_head, f);
	fputs("_bouncerctl_objects=\"", f);
	for (size_t i = 0; i < CLI_NOBJECTS; i++)
		fprintf(f, "%s%s", i ? " " : "", cli_objects[i].name);
	fputs("\"\n", f);
	print_global_options(f);
	print_spec(f);
	print_keyword_choices(f);
	fputs(script_body, f);
}
