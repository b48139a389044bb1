/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Inside bouncerctl's command line: the grammar's types and tables
 * (cli_grammar.c), which the parser and help (cli.c) and the renderers
 * (cli_render.c) share. Not for the rest of bouncerctl: cli.h is.
 */
#ifndef BOUNCER_CLI_GRAMMAR_H
#define BOUNCER_CLI_GRAMMAR_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "cli.h"
#include "common/options.h"
#include "common/vocab.h"
#include "common/util.h"

enum arg_type {
	ARG_WORD, /* any word: a string */
	ARG_CHOICE, /* one of choices: a string */
	ARG_NUMBER, /* min..max: an integer */
	ARG_PRIME, /* a prime min..max: an integer */
	ARG_SERVICE, /* ADDR:PORT/PROTO: "address", "port", "protocol" */
	ARG_ENDPOINT, /* ADDR:PORT: key (address) and port_key */
	ARG_FLAG, /* a keyword alone: true */
};

/* May be left out. */
#define ARG_OPTIONAL (1u << 0)
/* No keyword: the word itself is the value (a forwarding). */
#define ARG_BARE (1u << 1)
/* An optional positional argument that comes only with the next one. */
#define ARG_PAIRED (1u << 2)

/* A keyword that starts with "--" is an option of its command: it may come
 * anywhere before "--" like bouncerctl's own options, and its value is for
 * bouncerctl (struct cli_request), not part of the request. One name means
 * one thing in every command: parse_options() finds it in any command.
 */
struct cli_arg {
	const char *keyword; /* "weight N", "--wait"; NULL: positional or bare */
	const char *meta; /* "N", "NAME"; NULL: the choices, a|b */
	const char *name; /* what error messages call it; NULL: keyword or meta */
	enum arg_type type;
	unsigned int flags; /* ARG_* */
	const char *key; /* the JSON member it fills */
	const char *port_key; /* ARG_ENDPOINT: the member for the port */
	const struct vocab *choices; /* ARG_CHOICE */
	unsigned long min, max; /* ARG_NUMBER, ARG_PRIME */
	/* An ARG_FLAG option that asks for part of the result: prints it
	 * instead of the command's renderer, as text only (ring show
	 * --digest). NULL: none.
	 */
	void (*render)(FILE *f, const json_t *result);
	const char *help;
};

/* At least one keyword argument must be given (backend set). */
#define CMD_NEEDS_KEYWORD (1u << 0)
/* Destructive: the name must be spelled out, never a prefix. */
#define CMD_NO_PREFIX (1u << 1)
/* Which of bouncerctl's own options for one command it takes: -d, -n, -f. */
#define CMD_OPT_INTERVAL (1u << 2)
#define CMD_OPT_COUNT (1u << 3)
#define CMD_OPT_FOLLOW (1u << 4)

struct cli_command {
	const char *name; /* NULL: the object is the command (status) */
	const char *cmd; /* protocol command */
	const char *help; /* first line: the summary */
	const struct cli_arg *args;
	size_t nargs;
	unsigned int flags; /* CMD_* */
	int timeout_ms; /* 0: CLI_TIMEOUT_MS */
	void (*render)(FILE *f, const json_t *result); /* NULL: prints nothing */
	int (*run)(const struct cli_request *req); /* see struct cli_request */
};

struct cli_object {
	const char *name;
	const char *help;
	const struct cli_command *cmds;
	size_t ncmds;
	const char *default_cmd; /* run when no command is given; NULL: none */
};

/* The ids of bouncerctl's own options (struct opt_spec's id). */
enum opt_id {
	OPT_JSON,
	OPT_PRETTY,
	OPT_SOCKET,
	OPT_INTERVAL,
	OPT_COUNT,
	OPT_HELP,
	OPT_CONFIG,
	OPT_FOLLOW,
	OPT_COMPLETION,
	OPT_VERSION,
};

/* The objects, in the order help lists them, and bouncerctl's own options. */
#define CLI_NOBJECTS 11
#define CLI_NOPTIONS 10
extern const struct cli_object cli_objects[CLI_NOBJECTS];
extern const struct opt_spec cli_options[CLI_NOPTIONS];

/* Renderers of the commands' results (cli_render.c), named by the table. */
void cli_render_status(FILE *f, const json_t *r);
void cli_render_vip_list(FILE *f, const json_t *r);
void cli_render_vip_show(FILE *f, const json_t *r);
void cli_render_backend_list(FILE *f, const json_t *r);
void cli_render_stats(FILE *f, const json_t *r);
void cli_render_ring_show(FILE *f, const json_t *r);
void cli_render_ring_digest(FILE *f, const json_t *r);
void cli_render_flow_list(FILE *f, const json_t *r);
void cli_render_flow_lookup(FILE *f, const json_t *r);
void cli_render_flow_flush(FILE *f, const json_t *r);
void cli_render_worker_list(FILE *f, const json_t *r);
void cli_render_worker_reload(FILE *f, const json_t *r);
void cli_render_reload(FILE *f, const json_t *r);
void cli_render_detach(FILE *f, const json_t *r);
void cli_render_host(FILE *f, const json_t *r);

#endif /* BOUNCER_CLI_GRAMMAR_H */
