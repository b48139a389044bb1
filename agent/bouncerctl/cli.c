// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* bouncerctl's grammar as one table (objects, their commands, each
 * command's arguments, with help strings), the parser and the help
 * generated from it, and the renderers that print each command's result.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "bouncer_abi.h"
#include "cli.h"
#include "bouncerd/config.h"
#include "cli_top.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

/* Grammar */

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
/* No keyword: the word itself is the value ("dsr" or "ipip"). */
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
	const char *const *choices; /* ARG_CHOICE, NULL-terminated */
	unsigned long min, max; /* ARG_NUMBER, ARG_PRIME */
	const char *help;
};

/* At least one keyword argument must be given (backend set). */
#define CMD_NEEDS_KEYWORD (1u << 0)
/* Destructive: the name must be spelled out, never a prefix. */
#define CMD_NO_PREFIX (1u << 1)

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

static const char *const protocols[] = { "tcp", "udp", NULL };
static const char *const forwardings[] = { "dsr", "ipip", NULL };
static const char *const hashes[] = { "5tuple", "source", NULL };
static const char *const admin_states[] = { "ready", "drain", "maint", NULL };

#define HELP_VIP_NAME "the VIP's name"
#define HELP_BACKEND "the backend's address and port; IPv6 as\n[ADDR]:PORT"
#define HELP_STATE \
	"ready: new flows while healthy;\n" \
	"drain: existing flows only;\n" \
	"maint: no traffic and no health checks"
#define HELP_WEIGHT "share of new flows relative to the other\nbackends of the VIP, 0-65535"

#define ARG_VIP(flags_) \
	{ \
		.meta = "VIP", .type = ARG_WORD, .flags = (flags_), .key = "vip", \
		.help = HELP_VIP_NAME \
	}
#define ARG_BACKEND(flags_) \
	{ \
		.meta = "ADDR:PORT", .name = "backend", .type = ARG_ENDPOINT, .flags = (flags_), \
		.key = "address", .port_key = "port", .help = HELP_BACKEND \
	}
#define ARG_STATE \
	{ \
		.keyword = "state", .type = ARG_CHOICE, .flags = ARG_OPTIONAL, .key = "state", \
		.choices = admin_states, .help = HELP_STATE \
	}
#define ARG_WEIGHT \
	{ \
		.keyword = "weight", .meta = "N", .type = ARG_NUMBER, .flags = ARG_OPTIONAL, \
		.key = "weight", .min = 0, .max = 65535, .help = HELP_WEIGHT \
	}

static const struct cli_arg vip_name_args[] = {
	{ .meta = "NAME", .type = ARG_WORD, .key = "name", .help = HELP_VIP_NAME },
};

static const struct cli_arg vip_add_args[] = {
	{ .meta = "NAME", .type = ARG_WORD, .key = "name", .help = "a name for the new VIP" },
	{ .meta = "ADDR:PORT/PROTO",
	  .name = "service",
	  .type = ARG_SERVICE,
	  .help = "address, port and protocol (tcp or udp);\n"
		  "IPv6 as [ADDR]:PORT/PROTO" },
	{ .name = "forwarding",
	  .type = ARG_CHOICE,
	  .flags = ARG_OPTIONAL | ARG_BARE,
	  .key = "forwarding",
	  .choices = forwardings,
	  .help = "to remote backends: dsr rewrites MAC\n"
		  "addresses (default), ipip encapsulates" },
	{ .keyword = "ring",
	  .meta = "N",
	  .type = ARG_PRIME,
	  .flags = ARG_OPTIONAL,
	  .key = "ring_size",
	  .min = 2,
	  .max = BNC_RING_SIZE_MAX,
	  .help = "slots in the Maglev ring, a prime (default 65537)" },
	{ .keyword = "hash",
	  .type = ARG_CHOICE,
	  .flags = ARG_OPTIONAL,
	  .key = "hash",
	  .choices = hashes,
	  .help = "what picks the backend: the 5-tuple\n"
		  "(default), or the source address only, so\n"
		  "that a client sticks to one backend" },
};

static const struct cli_arg backend_list_args[] = {
	ARG_VIP(ARG_OPTIONAL),
};

static const struct cli_arg backend_add_args[] = {
	ARG_VIP(0),
	ARG_BACKEND(0),
	ARG_WEIGHT,
	ARG_STATE,
};

static const struct cli_arg backend_del_args[] = {
	ARG_VIP(0),
	ARG_BACKEND(0),
};

static const struct cli_arg backend_set_args[] = {
	ARG_VIP(0),
	ARG_BACKEND(0),
	ARG_STATE,
	ARG_WEIGHT,
};

static const struct cli_arg ring_show_args[] = {
	ARG_VIP(0),
};

static const struct cli_arg flow_list_args[] = {
	ARG_VIP(ARG_OPTIONAL),
	{ .keyword = "limit",
	  .meta = "N",
	  .type = ARG_NUMBER,
	  .flags = ARG_OPTIONAL,
	  .key = "limit",
	  .min = 1,
	  .max = BNC_MAX_FLOWS,
	  .help = "list at most N flows (default 100)" },
};

static const struct cli_arg flow_lookup_args[] = {
	{ .name = "protocol",
	  .type = ARG_CHOICE,
	  .key = "protocol",
	  .choices = protocols,
	  .help = "the flow's protocol" },
	{ .meta = "SRC:SPORT",
	  .name = "source",
	  .type = ARG_ENDPOINT,
	  .key = "src",
	  .port_key = "sport",
	  .help = "the client's address and port" },
	{ .meta = "DST:DPORT",
	  .name = "destination",
	  .type = ARG_ENDPOINT,
	  .key = "dst",
	  .port_key = "dport",
	  .help = "the VIP's address and port" },
};

static const struct cli_arg flow_flush_args[] = {
	ARG_VIP(ARG_OPTIONAL | ARG_PAIRED),
	ARG_BACKEND(ARG_OPTIONAL),
};

static const struct cli_arg worker_list_args[] = {
	ARG_VIP(ARG_OPTIONAL),
};

static const struct cli_arg worker_restart_args[] = {
	ARG_VIP(0),
	{ .meta = "ID",
	  .type = ARG_NUMBER,
	  .key = "id",
	  .min = 0,
	  .max = CFG_WORKERS_MAX - 1,
	  .help = "the worker's id (worker list)" },
};

static const struct cli_arg worker_scale_args[] = {
	ARG_VIP(0),
	{ .meta = "COUNT",
	  .type = ARG_NUMBER,
	  .key = "count",
	  .min = 1,
	  .max = CFG_WORKERS_MAX,
	  .help = "how many workers to run; the highest ids\nstop first" },
};

static const struct cli_arg worker_reload_args[] = {
	{ .meta = "VIP",
	  .type = ARG_WORD,
	  .flags = ARG_OPTIONAL,
	  .key = "vip",
	  .help = "the VIP's name (default: every VIP with\nworkers)" },
	{ .keyword = "--wait",
	  .type = ARG_FLAG,
	  .flags = ARG_OPTIONAL,
	  .key = "wait",
	  .help = "wait until the reload ends: exit 1 and\n"
		  "print the errors if it failed" },
	{ .keyword = "--timeout",
	  .meta = "SECONDS",
	  .type = ARG_NUMBER,
	  .flags = ARG_OPTIONAL,
	  .key = "timeout",
	  .min = 1,
	  .max = 86400,
	  .help = "wait at most SECONDS (default " STRINGIFY(CLI_WAIT_S) ");\nimplies --wait" },
};

static void render_status(FILE *f, const json_t *r);
static void render_vip_list(FILE *f, const json_t *r);
static void render_vip_show(FILE *f, const json_t *r);
static void render_backend_list(FILE *f, const json_t *r);
static void render_stats(FILE *f, const json_t *r);
static void render_ring_show(FILE *f, const json_t *r);
static void render_flow_list(FILE *f, const json_t *r);
static void render_flow_lookup(FILE *f, const json_t *r);
static void render_flow_flush(FILE *f, const json_t *r);
static void render_worker_list(FILE *f, const json_t *r);
static void render_worker_reload(FILE *f, const json_t *r);
static void render_reload(FILE *f, const json_t *r);
static void render_detach(FILE *f, const json_t *r);

#define ARGS(a) .args = (a), .nargs = ARRAY_SIZE(a)

static const struct cli_command status_cmds[] = {
	{ .cmd = "status",
	  .help = "Show the agent's version, uptime, config, interfaces and counts.",
	  .render = render_status },
};

static const struct cli_command vip_cmds[] = {
	{ .name = "list",
	  .cmd = "vip.list",
	  .help = "List the VIPs with their traffic and how many backends are up.",
	  .render = render_vip_list },
	{ .name = "show",
	  .cmd = "vip.show",
	  .help = "Show one VIP and its backends.",
	  ARGS(vip_name_args),
	  .render = render_vip_show },
	{ .name = "add",
	  .cmd = "vip.add",
	  .help = "Add a VIP.\n"
		  "It takes traffic once it has a backend (backend add).",
	  ARGS(vip_add_args) },
	{ .name = "del",
	  .cmd = "vip.del",
	  .help = "Remove a VIP and its backends.",
	  ARGS(vip_name_args) },
};

static const struct cli_command backend_cmds[] = {
	{ .name = "list",
	  .cmd = "backend.list",
	  .help = "List the backends of one VIP, or of all VIPs.\n"
		  "Weight, administrative state, health, what the datapath sees, traffic.",
	  ARGS(backend_list_args),
	  .render = render_backend_list },
	{ .name = "add",
	  .cmd = "backend.add",
	  .help = "Add a backend to a VIP.\n"
		  "Weight 1 and state ready unless given.",
	  ARGS(backend_add_args) },
	{ .name = "del",
	  .cmd = "backend.del",
	  .help = "Remove a backend from a VIP.",
	  ARGS(backend_del_args) },
	{ .name = "set",
	  .cmd = "backend.set",
	  .help = "Change a backend's administrative state, its weight, or both.",
	  ARGS(backend_set_args),
	  .flags = CMD_NEEDS_KEYWORD },
};

static const struct cli_command stats_cmds[] = {
	{ .cmd = "stats",
	  .help = "Show the global counters and the traffic of each VIP and backend.\n"
		  "Totals, and rates: packets and bits per second.",
	  .render = render_stats },
};

/* cmd is not sent: top makes its own requests. */
static const struct cli_command top_cmds[] = {
	{ .cmd = "top",
	  .help = "Show the traffic of each VIP and backend live, refreshed every second.\n"
		  "Packets and bytes per second, share of the ring, flows, health,\n"
		  "restarts of local workers, and the drop counters that are not zero.\n"
		  "-d SECONDS between refreshes, -n COUNT refreshes and exit.\n"
		  "Keys: q quits, s sorts the backends by name, packets, bytes or\n"
		  "share in turn, p pauses. Not on a terminal: a block of lines per\n"
		  "refresh, each starting with the time.",
	  .run = cli_top_run },
};

static const struct cli_command ring_cmds[] = {
	{ .name = "show",
	  .cmd = "ring.show",
	  .help = "Show how a VIP's Maglev ring is shared among its backends.\n"
		  "Also how many slots moved in the last rebuild, and when it was.",
	  ARGS(ring_show_args),
	  .render = render_ring_show },
};

static const struct cli_command flow_cmds[] = {
	{ .name = "list",
	  .cmd = "flow.list",
	  .help = "List flows from the flow table, of one VIP or of all.",
	  ARGS(flow_list_args),
	  .render = render_flow_list },
	{ .name = "lookup",
	  .cmd = "flow.lookup",
	  .help = "Show the backend a flow is bound to.",
	  ARGS(flow_lookup_args),
	  .render = render_flow_lookup },
	{ .name = "flush",
	  .cmd = "flow.flush",
	  .help = "Forget the flows of one backend, or all flows.\n"
		  "Their next packets pick a backend from the ring again.",
	  ARGS(flow_flush_args),
	  .flags = CMD_NO_PREFIX,
	  .render = render_flow_flush },
};

static const struct cli_command worker_cmds[] = {
	{ .name = "list",
	  .cmd = "worker.list",
	  .help = "List the local workers of one VIP, or of all VIPs.\n"
		  "Process, port, state, uptime, restarts and share of the traffic;\n"
		  "and a line for each VIP whose rolling reload runs or failed.",
	  ARGS(worker_list_args),
	  .render = render_worker_list },
	{ .name = "restart",
	  .cmd = "worker.restart",
	  .help = "Replace one worker with a new process.\n"
		  "The old one serves until the new one listens; a worker in backoff or\n"
		  "failed is started now.",
	  ARGS(worker_restart_args) },
	{ .name = "scale",
	  .cmd = "worker.scale",
	  .help = "Start or stop workers to run COUNT of them.",
	  ARGS(worker_scale_args) },
	{ .name = "reload",
	  .cmd = "worker.reload",
	  .help = "Replace the workers of one VIP, or of all, one at a time.\n"
		  "Each new worker must listen before its predecessor stops. The reload\n"
		  "runs in the agent: without --wait, follow it with worker list;\n"
		  "interrupting --wait does not stop it.",
	  ARGS(worker_reload_args),
	  .render = render_worker_reload },
};

static const struct cli_command reload_cmds[] = {
	{ .cmd = "reload",
	  .help = "Read the config file again and apply what changed.\n"
		  "A config that does not parse or validate changes nothing.",
	  .timeout_ms = 30000,
	  .render = render_reload },
};

static const struct cli_command detach_cmds[] = {
	{ .cmd = "detach",
	  .help = "Remove the XDP programs and their pins, and stop the agent.\n"
		  "Traffic to the VIPs is no longer balanced; the flow table is lost.",
	  .flags = CMD_NO_PREFIX,
	  .timeout_ms = 30000,
	  .render = render_detach },
};

#define CMDS(c) .cmds = (c), .ncmds = ARRAY_SIZE(c)

static const struct cli_object objects[] = {
	{ .name = "status", .help = "The agent itself.", CMDS(status_cmds) },
	{ .name = "vip",
	  .help = "Virtual services: an address, port and protocol balanced over backends.",
	  CMDS(vip_cmds),
	  .default_cmd = "list" },
	{ .name = "backend",
	  .help = "The servers behind a VIP.",
	  CMDS(backend_cmds),
	  .default_cmd = "list" },
	{ .name = "stats", .help = "Counters and traffic rates.", CMDS(stats_cmds) },
	{ .name = "top", .help = "A live view of the traffic.", CMDS(top_cmds) },
	{ .name = "ring", .help = "The Maglev ring of a VIP.", CMDS(ring_cmds) },
	{ .name = "flow",
	  .help = "The flow table: which backend each connection is bound to.",
	  CMDS(flow_cmds),
	  .default_cmd = "list" },
	{ .name = "worker",
	  .help = "Local workers: programs the agent runs and balances a VIP over.",
	  CMDS(worker_cmds),
	  .default_cmd = "list" },
	{ .name = "reload", .help = "Apply the config file.", CMDS(reload_cmds) },
	{ .name = "detach", .help = "Remove the datapath and stop the agent.", CMDS(detach_cmds) },
};

enum opt_id {
	OPT_JSON,
	OPT_PRETTY,
	OPT_SOCKET,
	OPT_INTERVAL,
	OPT_COUNT,
	OPT_HELP,
};

struct cli_option {
	const char *long_name;
	const char *arg; /* NULL: a flag */
	const char *help;
	enum opt_id id;
	char short_name;
};

static const struct cli_option options[] = {
	{ .short_name = 'j',
	  .long_name = "json",
	  .id = OPT_JSON,
	  .help = "print the result as JSON, on one line" },
	{ .short_name = 'p',
	  .long_name = "pretty",
	  .id = OPT_PRETTY,
	  .help = "print the result as indented JSON (implies -j)" },
	{ .short_name = 's',
	  .long_name = "socket",
	  .arg = "SOCKET",
	  .id = OPT_SOCKET,
	  .help = "control socket (default " CLI_DEFAULT_SOCKET ")" },
	{ .short_name = 'd',
	  .long_name = "interval",
	  .arg = "SECONDS",
	  .id = OPT_INTERVAL,
	  .help = "top: seconds between refreshes (default 1)" },
	{ .short_name = 'n',
	  .long_name = "count",
	  .arg = "COUNT",
	  .id = OPT_COUNT,
	  .help = "top: exit after COUNT refreshes" },
	{ .short_name = 'h', .long_name = "help", .id = OPT_HELP, .help = "print this help" },
};

/* Parsing */

struct parse_ctx {
	char *err;
	size_t errlen;
	char where[64]; /* "backend set": the prefix of every message */
	json_t *args;
};

static int fail(struct parse_ctx *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct parse_ctx *p, const char *fmt, ...)
{
	size_t n = 0;
	va_list ap;

	if (!p->errlen)
		return -EINVAL;
	if (p->where[0])
		n = (size_t)snprintf(p->err, p->errlen, "%s: ", p->where);
	if (n < p->errlen) {
		va_start(ap, fmt);
		vsnprintf(p->err + n, p->errlen - n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static int set_string(struct parse_ctx *p, const char *key, const char *value)
{
	return json_object_set_new(p->args, key, json_string(value)) ? -ENOMEM : 0;
}

static int set_integer(struct parse_ctx *p, const char *key, unsigned long value)
{
	return json_object_set_new(p->args, key, json_integer((json_int_t)value)) ? -ENOMEM : 0;
}

/* A decimal number min..max, digits only: no sign, no spaces, no hex. */
static bool parse_number(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	unsigned long v;
	char *end;

	if (!isdigit((unsigned char)s[0]))
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static bool is_prime(unsigned long n)
{
	if (n < 2)
		return false;
	for (unsigned long d = 2; d * d <= n; d++)
		if (n % d == 0)
			return false;
	return true;
}

static const char *arg_name(const struct cli_arg *a)
{
	return a->name ? a->name : a->keyword ? a->keyword : a->meta;
}

/* "ready, drain, maint" */
static void join_choices(const char *const *choices, const char *sep, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; choices[i] && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%s", i ? sep : "", choices[i]);
}

static int choice_index(const char *const *choices, const char *word)
{
	for (int i = 0; choices[i]; i++)
		if (strcmp(choices[i], word) == 0)
			return i;
	return -1;
}

/* ADDR:PORT, IPv6 as [ADDR]:PORT. The address is sent as addr_format()
 * writes it, so that the agent compares one spelling of each address.
 */
static int parse_endpoint(struct parse_ctx *p, const char *shown, const char *word,
			  const char *meta, const char *addr_key, const char *port_key)
{
	char buf[ADDR_STRLEN + 16], text[ADDR_STRLEN];
	const char *host, *port;
	unsigned long portnum;
	__be32 addr[4];
	__u8 family;
	char *sep;

	if (strlen(word) >= sizeof(buf))
		return fail(p, "expected %s, got '%s'", meta, shown);
	strcpy(buf, word);
	if (buf[0] == '[') {
		sep = strchr(buf, ']');
		if (!sep || sep[1] != ':')
			return fail(p, "expected %s, got '%s'", meta, shown);
		*sep = '\0';
		host = buf + 1;
		port = sep + 2;
	} else {
		sep = strrchr(buf, ':');
		if (!sep)
			return fail(p, "expected %s, got '%s'", meta, shown);
		*sep = '\0';
		host = buf;
		port = sep + 1;
		if (strchr(host, ':'))
			return fail(p, "'%s': an IPv6 address goes in brackets: [%s]:%s", shown,
				    host, port);
	}
	if (addr_parse(host, addr, &family))
		return fail(p, "'%s': '%s' is not an IPv4 or IPv6 address", shown, host);
	if (!parse_number(port, 1, 65535, &portnum))
		return fail(p, "'%s': port needs a number 1-65535, got '%s'", shown, port);
	addr_format(addr, family, text, sizeof(text));
	if (set_string(p, addr_key, text) || set_integer(p, port_key, portnum))
		return -ENOMEM;
	return 0;
}

/* ADDR:PORT/PROTO */
static int parse_service(struct parse_ctx *p, const struct cli_arg *a, const char *word)
{
	char buf[ADDR_STRLEN + 32], choices[32];
	char *slash;
	int err;

	if (strlen(word) >= sizeof(buf))
		return fail(p, "expected %s, got '%s'", a->meta, word);
	strcpy(buf, word);
	slash = strrchr(buf, '/');
	if (!slash)
		return fail(p, "expected %s, got '%s'", a->meta, word);
	*slash = '\0';
	if (choice_index(protocols, slash + 1) < 0) {
		join_choices(protocols, ", ", choices, sizeof(choices));
		return fail(p, "protocol needs one of %s, got '%s'", choices, slash + 1);
	}
	err = parse_endpoint(p, word, buf, a->meta, "address", "port");
	if (err)
		return err;
	return set_string(p, "protocol", slash + 1);
}

/* One argument's value; word is NULL when the command line ended first. */
static int parse_value(struct parse_ctx *p, const struct cli_arg *a, const char *word)
{
	unsigned long n;
	char choices[64];

	switch (a->type) {
	case ARG_WORD:
		if (!word || !word[0])
			return fail(p, "missing %s", a->meta);
		return set_string(p, a->key, word);
	case ARG_CHOICE:
		join_choices(a->choices, ", ", choices, sizeof(choices));
		if (!word)
			return fail(p, "%s needs one of %s", arg_name(a), choices);
		if (choice_index(a->choices, word) < 0)
			return fail(p, "%s needs one of %s, got '%s'", arg_name(a), choices, word);
		return set_string(p, a->key, word);
	case ARG_NUMBER:
		if (!word)
			return fail(p, "%s needs a number %lu-%lu", arg_name(a), a->min, a->max);
		if (!parse_number(word, a->min, a->max, &n))
			return fail(p, "%s needs a number %lu-%lu, got '%s'", arg_name(a), a->min,
				    a->max, word);
		return set_integer(p, a->key, n);
	case ARG_PRIME:
		if (!word)
			return fail(p, "%s needs a prime number %lu-%lu", arg_name(a), a->min,
				    a->max);
		if (!parse_number(word, a->min, a->max, &n) || !is_prime(n))
			return fail(p, "%s needs a prime number %lu-%lu, got '%s'", arg_name(a),
				    a->min, a->max, word);
		return set_integer(p, a->key, n);
	case ARG_SERVICE:
		if (!word)
			return fail(p, "missing %s", a->meta);
		return parse_service(p, a, word);
	case ARG_ENDPOINT:
		if (!word)
			return fail(p, "missing %s", a->meta);
		return parse_endpoint(p, word, word, a->meta, a->key, a->port_key);
	case ARG_FLAG:
		return json_object_set_new(p->args, a->key, json_true()) ? -ENOMEM : 0;
	}
	return -EINVAL;
}

static bool is_positional(const struct cli_arg *a)
{
	return !a->keyword && !(a->flags & ARG_BARE);
}

static bool is_option(const struct cli_arg *a)
{
	return a->keyword && a->keyword[0] == '-';
}

/* "--timeout" and "--timeout=60" are the option --timeout. */
static bool is_option_word(const struct cli_arg *a, const char *word)
{
	size_t len = strcspn(word, "=");

	return is_option(a) && strlen(a->keyword) == len && strncmp(a->keyword, word, len) == 0;
}

/* The command option word names, in whichever command has it. */
static const struct cli_arg *find_command_option(const char *word)
{
	for (size_t i = 0; i < ARRAY_SIZE(objects); i++)
		for (size_t k = 0; k < objects[i].ncmds; k++)
			for (size_t n = 0; n < objects[i].cmds[k].nargs; n++)
				if (is_option_word(&objects[i].cmds[k].args[n], word))
					return &objects[i].cmds[k].args[n];
	return NULL;
}

/* The command's options, which parse_options() set aside, each with its
 * value after it (or after "="). Their values go to opts, not to the
 * request's args.
 */
static int parse_command_options(struct parse_ctx *p, const struct cli_command *c, int argc,
				 char **argv, json_t *opts)
{
	struct parse_ctx o = *p;
	int err;

	o.args = opts;
	for (int w = 0; w < argc; w++) {
		const char *word = argv[w], *eq = strchr(word, '=');
		const struct cli_arg *a = NULL;

		for (size_t i = 0; i < c->nargs && !a; i++)
			if (is_option_word(&c->args[i], word))
				a = &c->args[i];
		if (!a)
			return fail(p, "unknown option '%s'", word);
		if (json_object_get(opts, a->key))
			return fail(p, "%s given twice", a->keyword);
		if (a->type == ARG_FLAG && eq)
			return fail(p, "%s takes no value", a->keyword);
		if (a->type == ARG_FLAG || eq)
			err = parse_value(&o, a, eq ? eq + 1 : NULL);
		else
			err = parse_value(&o, a, w + 1 < argc ? argv[++w] : NULL);
		if (err)
			return err;
	}
	return 0;
}

/* The arguments after the command: the required positional ones first, in
 * order; then keywords, bare words and optional positional ones in any
 * order. Keywords win over an optional positional (a VIP named "limit"
 * cannot be listed by flow list), never over a required one.
 */
static int parse_args(struct parse_ctx *p, const struct cli_command *c, int argc, char **argv)
{
	bool seen[8] = { false }, any_keyword = false;
	char expected[128];
	size_t i, n;
	int w = 0, err;

	if (c->nargs > ARRAY_SIZE(seen))
		return -EINVAL;
	for (i = 0; i < c->nargs; i++) {
		const struct cli_arg *a = &c->args[i];

		if (!is_positional(a) || (a->flags & ARG_OPTIONAL))
			continue;
		err = parse_value(p, a, w < argc ? argv[w] : NULL);
		if (err)
			return err;
		seen[i] = true;
		w++;
	}
	while (w < argc) {
		const char *word = argv[w];
		const struct cli_arg *a = NULL;

		for (i = 0; i < c->nargs && !a; i++) {
			const struct cli_arg *b = &c->args[i];

			/* An option is never a word here: after "--" it is a
			 * name.
			 */
			if ((b->keyword && !is_option(b) && strcmp(b->keyword, word) == 0) ||
			    ((b->flags & ARG_BARE) && choice_index(b->choices, word) >= 0))
				a = b;
		}
		for (i = 0; i < c->nargs && !a; i++)
			if (is_positional(&c->args[i]) && !seen[i])
				a = &c->args[i];
		if (!a) {
			n = 0;
			expected[0] = '\0';
			for (i = 0; i < c->nargs && n < sizeof(expected); i++) {
				const struct cli_arg *b = &c->args[i];

				if ((b->keyword && !is_option(b)) || (b->flags & ARG_BARE))
					n += (size_t)snprintf(expected + n, sizeof(expected) - n,
							      "%s%s", n ? ", " : "",
							      b->keyword ? b->keyword
									 : arg_name(b));
			}
			if (n)
				return fail(p, "unknown argument '%s' (expected %s)", word,
					    expected);
			return fail(p, "unexpected argument '%s'", word);
		}
		i = (size_t)(a - c->args);
		if (seen[i])
			return fail(p, "%s given twice", arg_name(a));
		seen[i] = true;
		if (a->keyword) {
			any_keyword = true;
			err = parse_value(p, a, w + 1 < argc ? argv[w + 1] : NULL);
			w += 2;
		} else {
			err = parse_value(p, a, word);
			w++;
		}
		if (err)
			return err;
		if (a->flags & ARG_PAIRED) {
			/* The next argument completes this one. */
			const struct cli_arg *next = a + 1;

			seen[i + 1] = true;
			if (w >= argc)
				return fail(p, "%s needs %s after it", a->meta, next->meta);
			err = parse_value(p, next, argv[w]);
			if (err)
				return err;
			w++;
		}
	}
	if ((c->flags & CMD_NEEDS_KEYWORD) && !any_keyword) {
		n = 0;
		for (i = 0; i < c->nargs && n < sizeof(expected); i++)
			if (c->args[i].keyword)
				n += (size_t)snprintf(expected + n, sizeof(expected) - n, "%s%s",
						      n ? " and/or " : "", c->args[i].keyword);
		return fail(p, "nothing to change: give %s", expected);
	}
	return 0;
}

/* A name or a prefix of exactly one name (an exact match wins). Returns the
 * index, -ENOENT, -EAGAIN (ambiguous) or -EPERM (a prefix of a name that
 * must be spelled out).
 */
static int match_name(const char *word, const char *const *names, const bool *no_prefix, size_t n)
{
	size_t len = strlen(word);
	int found = -ENOENT;
	bool guarded = false;

	if (!len)
		return -ENOENT;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(names[i], word) == 0)
			return (int)i;
		if (strncmp(names[i], word, len))
			continue;
		if (no_prefix[i])
			guarded = true;
		else
			found = found == -ENOENT ? (int)i : -EAGAIN;
	}
	return found == -ENOENT && guarded ? -EPERM : found;
}

/* match_name() with an error message for what it refuses; what is
 * "object" or "command".
 */
static int match_word(struct parse_ctx *p, const char *word, const char *const *names,
		      const bool *no_prefix, size_t n, const char *what)
{
	int i = match_name(word, names, no_prefix, n);
	char list[128];
	size_t len = 0;

	if (i >= 0)
		return i;
	/* The candidates, or every name when there is none. */
	for (size_t k = 0; k < n && len < sizeof(list); k++)
		if (i == -ENOENT || strncmp(names[k], word, strlen(word)) == 0)
			len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s",
						len ? ", " : "", names[k]);
	if (i == -EAGAIN)
		return fail(p, "'%s' is ambiguous: %s", word, list);
	if (i == -EPERM)
		return fail(p, "'%s': write %s in full", word, list);
	return fail(p, "unknown %s '%s' (%ss: %s)", what, word, what, list);
}

static int match_object(struct parse_ctx *p, const char *word, const struct cli_object **out)
{
	const char *names[ARRAY_SIZE(objects)];
	bool no_prefix[ARRAY_SIZE(objects)];
	int i;

	for (i = 0; i < (int)ARRAY_SIZE(objects); i++) {
		names[i] = objects[i].name;
		/* An object that is its own command shares its flags. */
		no_prefix[i] =
			!objects[i].cmds[0].name && (objects[i].cmds[0].flags & CMD_NO_PREFIX);
	}
	i = match_word(p, word, names, no_prefix, ARRAY_SIZE(objects), "object");
	if (i < 0)
		return i;
	*out = &objects[i];
	return 0;
}

static int match_command(struct parse_ctx *p, const struct cli_object *o, const char *word,
			 const struct cli_command **out)
{
	const char *names[8];
	bool no_prefix[8];
	int i;

	if (o->ncmds > ARRAY_SIZE(names))
		return -EINVAL;
	for (i = 0; i < (int)o->ncmds; i++) {
		names[i] = o->cmds[i].name;
		no_prefix[i] = o->cmds[i].flags & CMD_NO_PREFIX;
	}
	i = match_word(p, word, names, no_prefix, o->ncmds, "command");
	if (i < 0)
		return i;
	*out = &o->cmds[i];
	return 0;
}

#define INTERVAL_MIN 0.1
#define INTERVAL_MAX 3600.0

/* Seconds INTERVAL_MIN..INTERVAL_MAX, a fraction allowed: 0.5, 2. */
static bool parse_seconds(const char *s, double *out)
{
	char *end;
	double v;

	if (!isdigit((unsigned char)s[0]) && s[0] != '.')
		return false;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !(v >= INTERVAL_MIN && v <= INTERVAL_MAX))
		return false;
	*out = v;
	return true;
}

static const struct cli_option *find_option(const char *word, const char **value)
{
	*value = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(options); i++) {
		const struct cli_option *o = &options[i];
		size_t len = strlen(o->long_name);

		if (word[1] == '-') {
			if (strncmp(word + 2, o->long_name, len))
				continue;
			if (word[2 + len] == '\0')
				return o;
			if (word[2 + len] == '=' && o->arg) {
				*value = word + 3 + len;
				return o;
			}
		} else if (word[1] == o->short_name) {
			if (word[2] == '\0')
				return o;
			if (o->arg) {
				*value = word + 2;
				return o;
			}
		}
	}
	return NULL;
}

/* Takes the options out of argv wherever they are (up to "--") and leaves
 * the other words in words[], in order, and the commands' options with
 * their values in opts[], for the command to parse.
 */
static int parse_options(struct parse_ctx *p, int argc, char **argv, struct cli_request *out,
			 char **words, int *nwords, char **opts, int *nopts)
{
	bool json = false, pretty = false, dashdash = false;
	int n = 0, m = 0;
	unsigned long count;

	for (int i = 1; i < argc; i++) {
		const struct cli_option *o;
		const char *value, *word;

		/* "-1" is a (bad) number for an argument to refuse, not an
		 * unknown option.
		 */
		if (dashdash || argv[i][0] != '-' || argv[i][1] == '\0' ||
		    isdigit((unsigned char)argv[i][1])) {
			words[n++] = argv[i];
			continue;
		}
		if (strcmp(argv[i], "--") == 0) {
			dashdash = true;
			continue;
		}
		word = argv[i];
		o = find_option(word, &value);
		if (!o) {
			const struct cli_arg *a = find_command_option(word);

			if (!a)
				return fail(p, "unknown option '%s'", word);
			opts[m++] = argv[i];
			if (a->type != ARG_FLAG && !strchr(word, '=') && i + 1 < argc)
				opts[m++] = argv[++i];
			continue;
		}
		if (o->arg && !value) {
			if (i + 1 >= argc)
				return fail(p, "option '%s' needs %s", word, o->arg);
			value = argv[++i];
		}
		switch (o->id) {
		case OPT_JSON:
			json = true;
			break;
		case OPT_PRETTY:
			pretty = true;
			break;
		case OPT_SOCKET:
			if (!value || !value[0])
				return fail(p, "option '%s' needs %s", word, o->arg);
			out->socket = value;
			break;
		case OPT_INTERVAL:
			if (!value || !parse_seconds(value, &out->interval_s))
				return fail(p,
					    "option '%s' needs a number of seconds %g-%g, got '%s'",
					    word, INTERVAL_MIN, INTERVAL_MAX, value);
			break;
		case OPT_COUNT:
			if (!value || !parse_number(value, 1, LONG_MAX, &count))
				return fail(p, "option '%s' needs a number 1 or more, got '%s'",
					    word, value);
			out->count = (long)count;
			break;
		case OPT_HELP:
			out->help = true;
			break;
		}
	}
	out->output = pretty ? CLI_OUTPUT_PRETTY : json ? CLI_OUTPUT_JSON : CLI_OUTPUT_TABLE;
	*nwords = n;
	*nopts = m;
	return 0;
}

/* help [OBJECT [COMMAND]], with the words after "help". */
static int parse_help(struct parse_ctx *p, int argc, char **argv, struct cli_request *out)
{
	int err;

	out->help = true;
	if (argc == 0)
		return 0;
	err = match_object(p, argv[0], &out->object);
	if (err || argc == 1)
		return err;
	if (!out->object->cmds[0].name)
		return fail(p, "%s has no commands", out->object->name);
	snprintf(p->where, sizeof(p->where), "%s", out->object->name);
	err = match_command(p, out->object, argv[1], &out->command);
	if (err || argc == 2)
		return err;
	return fail(p, "unexpected argument '%s' after help", argv[2]);
}

static bool is_help(const char *word)
{
	return strcmp(word, "help") == 0;
}

int cli_parse(int argc, char **argv, struct cli_request *out, char *err, size_t errlen)
{
	struct parse_ctx p = { .err = err, .errlen = errlen };
	const struct cli_object *o;
	const struct cli_command *c;
	json_t *opts = NULL, *timeout;
	char **words, **optv;
	int nwords = 0, nopts = 0, w = 0, ret;

	memset(out, 0, sizeof(*out));
	out->socket = CLI_DEFAULT_SOCKET;
	if (errlen)
		err[0] = '\0';
	/* words, then the command options */
	words = calloc(2 * (size_t)(argc > 0 ? argc : 1), sizeof(*words));
	if (!words)
		return -ENOMEM;
	optv = words + (argc > 0 ? argc : 1);
	ret = parse_options(&p, argc, argv, out, words, &nwords, optv, &nopts);
	if (ret)
		goto cleanup;
	/* -h anywhere: the help of the object and command before it. */
	if (out->help) {
		ret = parse_help(&p, nwords < 2 ? nwords : 2, words, out);
		goto cleanup;
	}
	if (nwords == 0) {
		ret = fail(&p, "missing OBJECT");
		goto cleanup;
	}
	if (is_help(words[0])) {
		ret = parse_help(&p, nwords - 1, words + 1, out);
		goto cleanup;
	}
	ret = match_object(&p, words[w++], &out->object);
	if (ret)
		goto cleanup;
	o = out->object;
	if (w < nwords && is_help(words[w])) {
		out->help = true;
		goto cleanup;
	}
	if (!o->cmds[0].name) {
		c = &o->cmds[0];
	} else if (w < nwords) {
		snprintf(p.where, sizeof(p.where), "%s", o->name);
		ret = match_command(&p, o, words[w++], &c);
		if (ret)
			goto cleanup;
	} else if (o->default_cmd) {
		ret = match_command(&p, o, o->default_cmd, &c);
		if (ret)
			goto cleanup;
	} else {
		ret = fail(&p, "%s: missing command (try '%s %s help')", o->name, CLI_PROG,
			   o->name);
		goto cleanup;
	}
	out->command = c;
	if (w < nwords && is_help(words[w])) {
		out->help = true;
		goto cleanup;
	}
	snprintf(p.where, sizeof(p.where), "%s%s%s", o->name, c->name ? " " : "",
		 c->name ? c->name : "");
	p.args = json_object();
	opts = json_object();
	if (!p.args || !opts) {
		ret = -ENOMEM;
		goto cleanup;
	}
	ret = parse_args(&p, c, nwords - w, words + w);
	if (ret)
		goto cleanup;
	ret = parse_command_options(&p, c, nopts, optv, opts);
	if (ret)
		goto cleanup;
	/* worker reload: --timeout means to wait. */
	timeout = json_object_get(opts, "timeout");
	out->wait = json_is_true(json_object_get(opts, "wait")) || timeout;
	out->wait_s = timeout ? (unsigned int)json_integer_value(timeout) : CLI_WAIT_S;
	/* -d and -n shape top's loop; top prints no JSON. */
	if ((out->interval_s > 0 || out->count) && !c->run) {
		ret = fail(&p, "-d and -n go with top only");
		goto cleanup;
	}
	if (c->run && out->output != CLI_OUTPUT_TABLE) {
		ret = fail(&p, "-j and -p do not go with top");
		goto cleanup;
	}
	out->cmd = c->cmd;
	out->run = c->run;
	out->args = p.args;
	p.args = NULL;
	out->timeout_ms = c->timeout_ms ? c->timeout_ms : CLI_TIMEOUT_MS;
cleanup:
	json_decref(p.args);
	json_decref(opts);
	free(words);
	return ret;
}

void cli_request_release(struct cli_request *req)
{
	json_decref(req->args);
	req->args = NULL;
}

/* Help */

/* The synopsis of an argument list: NAME ADDR:PORT/PROTO [dsr|ipip] [ring N]. */
static void arg_synopsis(const struct cli_arg *a, char *buf, size_t len)
{
	char choices[64] = "";
	const char *meta = a->meta;

	if (a->type == ARG_FLAG) {
		snprintf(buf, len, "%s", a->keyword);
		return;
	}
	if (!meta) {
		join_choices(a->choices, "|", choices, sizeof(choices));
		meta = choices;
	}
	if (a->keyword)
		snprintf(buf, len, "%s %s", a->keyword, meta);
	else
		snprintf(buf, len, "%s", meta);
}

static void command_synopsis(const struct cli_object *o, const struct cli_command *c, char *buf,
			     size_t len)
{
	size_t n = (size_t)snprintf(buf, len, "%s%s%s", o->name, c->name ? " " : "",
				    c->name ? c->name : "");
	bool braces = c->flags & CMD_NEEDS_KEYWORD, first_kw = true;
	char one[96];

	for (size_t i = 0; i < c->nargs && n < len; i++) {
		const struct cli_arg *a = &c->args[i];

		arg_synopsis(a, one, sizeof(one));
		if (braces && a->keyword) {
			n += (size_t)snprintf(buf + n, len - n, "%s%s", first_kw ? " { " : " | ",
					      one);
			first_kw = false;
			continue;
		}
		if (!(a->flags & ARG_OPTIONAL)) {
			n += (size_t)snprintf(buf + n, len - n, " %s", one);
		} else if (a->flags & ARG_PAIRED) {
			char next[96];

			arg_synopsis(a + 1, next, sizeof(next));
			n += (size_t)snprintf(buf + n, len - n, " [%s %s]", one, next);
			i++;
		} else {
			n += (size_t)snprintf(buf + n, len - n, " [%s]", one);
		}
	}
	if (braces && !first_kw && n < len)
		snprintf(buf + n, len - n, " }...");
}

/* Prints text line by line, each line after indent. */
static void print_indented(FILE *f, const char *indent, const char *text)
{
	const char *nl;

	while ((nl = strchr(text, '\n'))) {
		fprintf(f, "%s%.*s\n", indent, (int)(nl - text), text);
		text = nl + 1;
	}
	fprintf(f, "%s%s\n", indent, text);
}

#define HELP_INDENT "        "
#define ARG_COLUMN 24

static void command_help(FILE *f, const struct cli_object *o, const struct cli_command *c)
{
	char synopsis[256], one[96];

	command_synopsis(o, c, synopsis, sizeof(synopsis));
	fprintf(f, "Usage: %s [OPTIONS] %s\n\n", CLI_PROG, synopsis);
	print_indented(f, "", c->help);
	if (c->nargs)
		fputc('\n', f);
	for (size_t i = 0; i < c->nargs; i++) {
		const struct cli_arg *a = &c->args[i];
		const char *nl;

		arg_synopsis(a, one, sizeof(one));
		if (strlen(one) + 4 > ARG_COLUMN) {
			fprintf(f, "  %s\n", one);
			print_indented(f, "                        ", a->help);
			continue;
		}
		/* The first line follows the name; the others align under it. */
		nl = strchr(a->help, '\n');
		fprintf(f, "  %-*s", ARG_COLUMN - 2, one);
		if (!nl) {
			fprintf(f, "%s\n", a->help);
			continue;
		}
		fprintf(f, "%.*s\n", (int)(nl - a->help), a->help);
		print_indented(f, "                        ", nl + 1);
	}
}

static void object_help(FILE *f, const struct cli_object *o)
{
	char synopsis[256];

	if (!o->cmds[0].name) {
		command_help(f, o, &o->cmds[0]);
		return;
	}
	fprintf(f, "%s: %s\n\n", o->name, o->help);
	for (size_t i = 0; i < o->ncmds; i++) {
		command_synopsis(o, &o->cmds[i], synopsis, sizeof(synopsis));
		fprintf(f, "  %s %s\n", CLI_PROG, synopsis);
		print_indented(f, HELP_INDENT, o->cmds[i].help);
	}
	if (o->default_cmd)
		fprintf(f, "\n'%s %s' alone runs '%s %s %s'.\n", CLI_PROG, o->name, CLI_PROG,
			o->name, o->default_cmd);
	fprintf(f, "\nArguments of one command: %s %s COMMAND help\n", CLI_PROG, o->name);
}

static void usage(FILE *f)
{
	char synopsis[256], left[64];

	fprintf(f, "Usage: %s [OPTIONS] OBJECT COMMAND [ARGS]\n\nCommands:\n", CLI_PROG);
	for (size_t i = 0; i < ARRAY_SIZE(objects); i++) {
		for (size_t k = 0; k < objects[i].ncmds; k++) {
			const struct cli_command *c = &objects[i].cmds[k];
			const char *nl = strchr(c->help, '\n');

			command_synopsis(&objects[i], c, synopsis, sizeof(synopsis));
			fprintf(f, "  %s\n", synopsis);
			/* The summary: the help's first line. */
			if (nl)
				fprintf(f, HELP_INDENT "%.*s\n", (int)(nl - c->help), c->help);
			else
				fprintf(f, HELP_INDENT "%s\n", c->help);
		}
	}
	fprintf(f, "  help\n" HELP_INDENT "Print this help.\n\nOptions:\n");
	for (size_t i = 0; i < ARRAY_SIZE(options); i++) {
		const struct cli_option *o = &options[i];

		snprintf(left, sizeof(left), "-%c, --%s%s%s", o->short_name, o->long_name,
			 o->arg ? " " : "", o->arg ? o->arg : "");
		/* Too long to share a line with its help: one of its own. */
		if (strlen(left) + 2 >= ARG_COLUMN)
			fprintf(f, "  %s\n%*s%s\n", left, ARG_COLUMN, "", o->help);
		else
			fprintf(f, "  %-*s%s\n", ARG_COLUMN - 2, left, o->help);
	}
	fprintf(f,
		"\n"
		"More about an object or a command: %s OBJECT help,\n"
		"%s OBJECT COMMAND help.\n"
		"Names of objects and commands may be shortened to a unique prefix\n"
		"(\"vip l\" for \"vip list\"); detach and flow flush must be spelled out.\n"
		"IPv6 addresses go in brackets: [fd00::1]:80.\n"
		"Exit status: 0 on success, 1 when the agent reports an error or cannot be\n"
		"reached, 2 on a usage error.\n",
		CLI_PROG, CLI_PROG);
}

void cli_help(FILE *f, const struct cli_request *req)
{
	if (req->command)
		command_help(f, req->object, req->command);
	else if (req->object)
		object_help(f, req->object);
	else
		usage(f);
}

const char *cli_help_command(const struct cli_request *req, char *buf, size_t len)
{
	if (req->command && req->command->name)
		snprintf(buf, len, "%s %s %s help", CLI_PROG, req->object->name,
			 req->command->name);
	else if (req->object)
		snprintf(buf, len, "%s %s help", CLI_PROG, req->object->name);
	else
		snprintf(buf, len, "%s help", CLI_PROG);
	return buf;
}

/* Tables */

struct table {
	size_t ncols;
	const char *const *heads; /* NULL: no header line */
	const bool *right; /* right-aligned columns (numbers); NULL: none */
	char **cells; /* row after row */
	size_t ncells, cap;
	bool failed; /* out of memory: the columns may be out of step */
};

/* vasprintf, which needs _GNU_SOURCE. */
static char *vformat(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

static char *vformat(const char *fmt, va_list ap)
{
	va_list ap2;
	char *s;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return NULL;
	s = malloc((size_t)n + 1);
	if (s)
		vsnprintf(s, (size_t)n + 1, fmt, ap);
	return s;
}

static void table_cell(struct table *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void table_cell(struct table *t, const char *fmt, ...)
{
	va_list ap;
	char *s;

	if (t->ncells == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 32;
		char **n = realloc(t->cells, ncap * sizeof(*n));

		if (!n) {
			t->failed = true;
			return;
		}
		t->cells = n;
		t->cap = ncap;
	}
	va_start(ap, fmt);
	s = vformat(fmt, ap);
	va_end(ap);
	if (!s)
		t->failed = true;
	/* A failed cell is empty, so the columns stay in step. */
	t->cells[t->ncells++] = s;
}

static void print_row(FILE *f, const struct table *t, const char *const *row, const size_t *width)
{
	for (size_t c = 0; c < t->ncols; c++) {
		const char *s = row[c] ? row[c] : "";
		bool last = c + 1 == t->ncols;
		int pad = (int)(width[c] - strlen(s));

		/* An empty last cell leaves no blanks at the end. */
		if (c && !(last && !*s))
			fputs("  ", f);
		if (t->right && t->right[c])
			fprintf(f, "%*s%s", pad, "", s);
		else
			fprintf(f, "%s%*s", s, last ? 0 : pad, "");
	}
	fputc('\n', f);
}

static void table_print(FILE *f, struct table *t)
{
	size_t *width = calloc(t->ncols, sizeof(*width));

	if (!width || t->failed) {
		fprintf(f, "(out of memory)\n");
		free(width);
		return;
	}
	for (size_t c = 0; t->heads && c < t->ncols; c++)
		width[c] = strlen(t->heads[c]);
	for (size_t i = 0; i < t->ncells; i++) {
		size_t len = t->cells[i] ? strlen(t->cells[i]) : 0;

		if (len > width[i % t->ncols])
			width[i % t->ncols] = len;
	}
	if (t->heads)
		print_row(f, t, t->heads, width);
	for (size_t i = 0; i + t->ncols <= t->ncells; i += t->ncols)
		print_row(f, t, (const char *const *)&t->cells[i], width);
	free(width);
}

static void table_free(struct table *t)
{
	for (size_t i = 0; i < t->ncells; i++)
		free(t->cells[i]);
	free(t->cells);
}

/* Result fields, as text */

const char *cli_format_rate(double v, char *buf, size_t len)
{
	static const char suffix[] = " kMGTP";
	size_t i = 0;

	if (!isfinite(v) || v < 0) {
		snprintf(buf, len, "-");
		return buf;
	}
	/* Scale until the value rounds below 1000 at three digits. */
	while (v >= 999.5 && i + 1 < sizeof(suffix) - 1) {
		v /= 1000;
		i++;
	}
	if (i == 0)
		snprintf(buf, len, "%.0f", v);
	else if (v < 9.995)
		snprintf(buf, len, "%.2f%c", v, suffix[i]);
	else if (v < 99.95)
		snprintf(buf, len, "%.1f%c", v, suffix[i]);
	else
		snprintf(buf, len, "%.0f%c", v, suffix[i]);
	return buf;
}

const char *cli_format_duration(double seconds, bool padded, char *buf, size_t len)
{
	int w = padded ? 2 : 1;
	unsigned long long s;

	if (!isfinite(seconds) || seconds < 0) {
		snprintf(buf, len, "-");
		return buf;
	}
	s = (unsigned long long)seconds;
	if (s < 60)
		snprintf(buf, len, "%llus", s);
	else if (s < 3600)
		snprintf(buf, len, "%llum%0*llus", s / 60, w, s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%lluh%0*llum", s / 3600, w, s % 3600 / 60);
	else
		snprintf(buf, len, "%llud%0*lluh", s / 86400, w, s % 86400 / 3600);
	return buf;
}

const char *cli_format_bar(double share, int width, char *buf, size_t len)
{
	bool known = isfinite(share) && share >= 0 && share <= 1;
	int full = 0, i;

	if (!len)
		return buf;
	if (known) {
		/* Half up; share is not negative. No libm for lround(). */
		full = (int)(share * width + 0.5);
		if (share > 0 && full == 0)
			full = 1;
		if (share < 1 && full == width)
			full = width - 1;
	}
	for (i = 0; i < width && (size_t)i + 1 < len; i++)
		buf[i] = (char)(!known ? ' ' : i < full ? '#' : '.');
	buf[i] = '\0';
	return buf;
}

/* A scalar member as text: "-" when missing, null or empty. */
static const char *field_text(const json_t *obj, const char *key, char *buf, size_t len)
{
	const json_t *v = json_object_get(obj, key);

	/* An empty string too: a blank cell reads as a missing column. */
	if (json_is_string(v) && json_string_length(v))
		return json_string_value(v);
	if (json_is_integer(v))
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_real(v))
		snprintf(buf, len, "%.0f", json_real_value(v));
	else if (json_is_true(v))
		snprintf(buf, len, "yes");
	else if (json_is_false(v))
		snprintf(buf, len, "no");
	else
		snprintf(buf, len, "-");
	return buf;
}

/* ADDR:PORT, [ADDR]:PORT for IPv6. */
static const char *endpoint_text(const json_t *obj, const char *addr_key, const char *port_key,
				 char *buf, size_t len)
{
	const char *addr = json_string_value(json_object_get(obj, addr_key));
	char port[32];

	field_text(obj, port_key, port, sizeof(port));
	if (!addr)
		snprintf(buf, len, "-");
	else if (strchr(addr, ':'))
		snprintf(buf, len, "[%s]:%s", addr, port);
	else
		snprintf(buf, len, "%s:%s", addr, port);
	return buf;
}

/* A backend as ADDR:PORT, or as worker/ID for a local worker: its address
 * is "local" and its port changes with each replacement, so only the id
 * tells the operator which worker it is.
 */
static const char *backend_text(const json_t *b, char *buf, size_t len)
{
	char id[32];

	if (!json_is_true(json_object_get(b, "local")))
		return endpoint_text(b, "address", "port", buf, len);
	snprintf(buf, len, "worker/%s",
		 field_text(json_object_get(b, "worker"), "id", id, sizeof(id)));
	return buf;
}

/* A duration from a reply, as cli_format_duration() writes it. */
static const char *duration_text(const json_t *v, char *buf, size_t len)
{
	return cli_format_duration(json_is_number(v) ? json_number_value(v) : NAN, false, buf, len);
}

enum col_kind {
	COL_TEXT, /* key as text */
	COL_NUMBER, /* key, right-aligned */
	COL_RATE, /* key, a rate with a suffix, right-aligned */
	COL_ENDPOINT, /* key (address) and key2 (port) */
	COL_SERVICE, /* address:port/protocol */
	COL_UP, /* backends_up/backends_total, and whether failing open */
	COL_DURATION, /* key in seconds */
	COL_BACKEND, /* key (NULL: the row) is a backend: backend_text() */
};

struct col {
	const char *head;
	enum col_kind kind;
	const char *key, *key2;
};

static void col_cell(struct table *t, const struct col *c, const json_t *row)
{
	char buf[160], buf2[64];

	switch (c->kind) {
	case COL_TEXT:
	case COL_NUMBER:
		table_cell(t, "%s", field_text(row, c->key, buf, sizeof(buf)));
		return;
	case COL_RATE: {
		const json_t *v = json_object_get(row, c->key);

		table_cell(t, "%s",
			   json_is_number(v)
				   ? cli_format_rate(json_number_value(v), buf, sizeof(buf))
				   : "-");
		return;
	}
	case COL_ENDPOINT:
		table_cell(t, "%s", endpoint_text(row, c->key, c->key2, buf, sizeof(buf)));
		return;
	case COL_SERVICE:
		table_cell(t, "%s/%s", endpoint_text(row, "address", "port", buf, sizeof(buf)),
			   field_text(row, "protocol", buf2, sizeof(buf2)));
		return;
	case COL_UP:
		field_text(row, "backends_up", buf, sizeof(buf));
		table_cell(t, "%s/%s%s", buf, field_text(row, "backends_total", buf2, sizeof(buf2)),
			   json_is_true(json_object_get(row, "failing_open")) ? " failing open"
									      : "");
		return;
	case COL_DURATION:
		table_cell(t, "%s", duration_text(json_object_get(row, c->key), buf, sizeof(buf)));
		return;
	case COL_BACKEND:
		table_cell(t, "%s",
			   backend_text(c->key ? json_object_get(row, c->key) : row, buf,
					sizeof(buf)));
		return;
	}
}

#define MAX_COLS 12

/* One row per element of rows (an array; anything else prints the header
 * alone).
 */
static void render_rows(FILE *f, const json_t *rows, const struct col *cols, size_t ncols)
{
	const char *heads[MAX_COLS];
	bool right[MAX_COLS];
	struct table t = { .ncols = ncols, .heads = heads, .right = right };
	const json_t *row;
	size_t i;

	if (ncols > MAX_COLS)
		return;
	for (i = 0; i < ncols; i++) {
		heads[i] = cols[i].head;
		right[i] = cols[i].kind == COL_NUMBER || cols[i].kind == COL_RATE;
	}
	json_array_foreach(rows, i, row) for (size_t c = 0; c < ncols; c++)
		col_cell(&t, &cols[c], row);
	table_print(f, &t);
	table_free(&t);
}

/* A two-column list of labels and values. */
struct kv {
	const char *label;
	const char *key;
	enum col_kind kind;
};

static void render_kv(FILE *f, const json_t *obj, const struct kv *kv, size_t n)
{
	struct table t = { .ncols = 2 };

	for (size_t i = 0; i < n; i++) {
		struct col c = { .kind = kv[i].kind, .key = kv[i].key };

		table_cell(&t, "%s", kv[i].label);
		col_cell(&t, &c, obj);
	}
	table_print(f, &t);
	table_free(&t);
}

/* Renderers, one per command */

static void render_status(FILE *f, const json_t *r)
{
	static const struct kv kv[] = {
		{ "version", "version", COL_TEXT }, { "uptime", "uptime_s", COL_DURATION },
		{ "config", "config", COL_TEXT },   { "pin dir", "pin_dir", COL_TEXT },
		{ "vips", "vips", COL_NUMBER },	    { "backends", "backends", COL_NUMBER },
		{ "adopted", "adopted", COL_TEXT },
	};
	struct table t = { .ncols = 2 };
	const json_t *ifs = json_object_get(r, "interfaces"), *it;
	char buf[64];
	size_t i;

	render_kv(f, r, kv, ARRAY_SIZE(kv));
	fputc('\n', f);
	t.heads = (const char *const[]){ "INTERFACE", "MODE" };
	json_array_foreach(ifs, i, it)
	{
		table_cell(&t, "%s", field_text(it, "name", buf, sizeof(buf)));
		table_cell(&t, "%s", field_text(it, "mode", buf, sizeof(buf)));
	}
	table_print(f, &t);
	table_free(&t);
}

static const struct col vip_cols[] = {
	{ "NAME", COL_TEXT, "name", NULL },	   { "ADDRESS", COL_SERVICE, NULL, NULL },
	{ "FWD", COL_TEXT, "forwarding", NULL },   { "HASH", COL_TEXT, "hash", NULL },
	{ "RING", COL_NUMBER, "ring_size", NULL }, { "PACKETS", COL_NUMBER, "packets", NULL },
	{ "BYTES", COL_NUMBER, "bytes", NULL },	   { "UP", COL_UP, NULL, NULL },
};

static void render_vip_list(FILE *f, const json_t *r)
{
	render_rows(f, json_object_get(r, "vips"), vip_cols, ARRAY_SIZE(vip_cols));
}

/* The backend columns after VIP: vip.show leaves VIP out. */
static const struct col backend_cols[] = {
	{ "VIP", COL_TEXT, "vip", NULL },
	{ "BACKEND", COL_BACKEND, NULL, NULL },
	{ "WEIGHT", COL_NUMBER, "weight", NULL },
	{ "ADMIN", COL_TEXT, "admin", NULL },
	{ "HEALTH", COL_TEXT, "health", NULL },
	{ "DATAPATH", COL_TEXT, "datapath", NULL },
	{ "CHECK", COL_TEXT, "check", NULL },
	{ "FAILS", COL_NUMBER, "failures", NULL },
	{ "PACKETS", COL_NUMBER, "packets", NULL },
	{ "BYTES", COL_NUMBER, "bytes", NULL },
	{ "LAST ERROR", COL_TEXT, "last_error", NULL },
};

static void render_vip_show(FILE *f, const json_t *r)
{
	static const struct kv kv[] = {
		{ "name", "name", COL_TEXT },
		{ "address", NULL, COL_SERVICE },
		{ "forwarding", "forwarding", COL_TEXT },
		{ "hash", "hash", COL_TEXT },
		{ "ring", "ring_size", COL_TEXT },
		{ "fail open", "fail_open", COL_TEXT },
		{ "backends up", NULL, COL_UP },
		{ "packets", "packets", COL_TEXT },
		{ "bytes", "bytes", COL_TEXT },
	};

	render_kv(f, r, kv, ARRAY_SIZE(kv));
	fputc('\n', f);
	render_rows(f, json_object_get(r, "backends"), backend_cols + 1,
		    ARRAY_SIZE(backend_cols) - 1);
}

static void render_backend_list(FILE *f, const json_t *r)
{
	render_rows(f, json_object_get(r, "backends"), backend_cols, ARRAY_SIZE(backend_cols));
}

static void render_stats(FILE *f, const json_t *r)
{
	static const struct col vip_rate_cols[] = {
		{ "VIP", COL_TEXT, "name", NULL },	{ "PACKETS", COL_NUMBER, "packets", NULL },
		{ "BYTES", COL_NUMBER, "bytes", NULL }, { "PKT/S", COL_RATE, "pps", NULL },
		{ "BIT/S", COL_RATE, "bps", NULL },
	};
	static const struct col backend_rate_cols[] = {
		{ "VIP", COL_TEXT, "vip", NULL },	    { "BACKEND", COL_BACKEND, NULL, NULL },
		{ "PACKETS", COL_NUMBER, "packets", NULL }, { "BYTES", COL_NUMBER, "bytes", NULL },
		{ "PKT/S", COL_RATE, "pps", NULL },	    { "BIT/S", COL_RATE, "bps", NULL },
	};
	struct table t = { .ncols = 2,
			   .heads = (const char *const[]){ "COUNTER", "VALUE" },
			   .right = (const bool[]){ false, true } };
	const json_t *global = json_object_get(r, "global"), *v;
	const char *name;
	char buf[32];

	json_object_foreach((json_t *)global, name, v)
	{
		table_cell(&t, "%s", name);
		table_cell(&t, "%s", field_text(global, name, buf, sizeof(buf)));
	}
	table_print(f, &t);
	table_free(&t);
	fputc('\n', f);
	render_rows(f, json_object_get(r, "vips"), vip_rate_cols, ARRAY_SIZE(vip_rate_cols));
	fputc('\n', f);
	render_rows(f, json_object_get(r, "backends"), backend_rate_cols,
		    ARRAY_SIZE(backend_rate_cols));
}

/* Wide enough that one character is 5% of the ring. */
#define RING_BAR_WIDTH 20

static void render_ring_show(FILE *f, const json_t *r)
{
	const json_t *backends = json_object_get(r, "backends"), *b;
	json_int_t size = json_integer_value(json_object_get(r, "ring_size"));
	const json_t *moved = json_object_get(r, "moved");
	struct table t = { .ncols = 4,
			   .heads = (const char *const[]){ "BACKEND", "SLOTS", "SHARE", "" },
			   .right = (const bool[]){ false, true, true, false } };
	char buf[160], buf2[64], ago[32], bar[RING_BAR_WIDTH + 1];
	size_t i;

	fprintf(f, "vip %s: %s slots, ", field_text(r, "vip", buf, sizeof(buf)),
		field_text(r, "ring_size", buf2, sizeof(buf2)));
	fprintf(f, "%s", field_text(r, "moved", buf, sizeof(buf)));
	if (json_is_integer(moved) && size > 0)
		fprintf(f, " (%.2f%%)", 100.0 * (double)json_integer_value(moved) / (double)size);
	fprintf(f, " moved in the last rebuild, %s ago\n\n",
		duration_text(json_object_get(r, "rebuilt_s"), ago, sizeof(ago)));
	json_array_foreach(backends, i, b)
	{
		json_int_t slots = json_integer_value(json_object_get(b, "slots"));
		double share = size > 0 ? (double)slots / (double)size : NAN;

		table_cell(&t, "%s", backend_text(b, buf, sizeof(buf)));
		table_cell(&t, "%s", field_text(b, "slots", buf, sizeof(buf)));
		/* From the slots rather than "share": exact, whatever scale
		 * the agent reports share in.
		 */
		if (size > 0)
			table_cell(&t, "%.2f%%", 100.0 * share);
		else
			table_cell(&t, "-");
		table_cell(&t, "%s",
			   size > 0 ? cli_format_bar(share, RING_BAR_WIDTH, bar, sizeof(bar)) : "");
	}
	table_print(f, &t);
	table_free(&t);
}

static const struct col flow_cols[] = {
	{ "PROTO", COL_TEXT, "protocol", NULL },
	{ "SOURCE", COL_ENDPOINT, "src", "sport" },
	{ "DESTINATION", COL_ENDPOINT, "dst", "dport" },
	{ "BACKEND", COL_BACKEND, "backend", NULL },
	{ "IDLE", COL_DURATION, "idle_s", NULL },
};

static void render_flow_list(FILE *f, const json_t *r)
{
	const json_t *flows = json_object_get(r, "flows");
	char buf[32];

	render_rows(f, flows, flow_cols, ARRAY_SIZE(flow_cols));
	fprintf(f, "%zu of %s flows\n", json_array_size(flows),
		field_text(r, "total", buf, sizeof(buf)));
}

static void render_flow_lookup(FILE *f, const json_t *r)
{
	json_t *one = json_array();

	if (!one)
		return;
	if (json_object_get(r, "flow"))
		json_array_append(one, json_object_get(r, "flow"));
	render_rows(f, one, flow_cols, ARRAY_SIZE(flow_cols));
	json_decref(one);
}

static void render_flow_flush(FILE *f, const json_t *r)
{
	const json_t *n = json_object_get(r, "flushed");
	char buf[32];

	fprintf(f, "flushed %s flow%s\n", field_text(r, "flushed", buf, sizeof(buf)),
		json_integer_value(n) == 1 ? "" : "s");
}

/* A row per worker, VIP after VIP; then a line for each VIP whose rolling
 * reload runs or failed, since that explains workers that are still the
 * old ones.
 */
static void render_worker_list(FILE *f, const json_t *r)
{
	struct table t = {
		.ncols = 8,
		.heads = (const char *const[]){ "VIP", "ID", "PID", "PORT", "STATE", "UPTIME",
						"RESTARTS", "SHARE" },
		.right = (const bool[]){ false, true, true, true, false, true, true, true },
	};
	const json_t *vips = json_object_get(r, "vips"), *v, *workers, *w, *last;
	char namebuf[160], buf[64];
	const char *name;
	size_t i, k;

	json_array_foreach(vips, i, v)
	{
		name = field_text(v, "vip", namebuf, sizeof(namebuf));
		workers = json_object_get(v, "workers");
		json_array_foreach(workers, k, w)
		{
			/* pid and uptime are 0 when the worker has no process. */
			bool running = json_integer_value(json_object_get(w, "pid")) > 0;
			const json_t *uptime = json_object_get(w, "uptime_s");
			const json_t *share = json_object_get(w, "share");

			table_cell(&t, "%s", name);
			table_cell(&t, "%s", field_text(w, "id", buf, sizeof(buf)));
			table_cell(&t, "%s",
				   running ? field_text(w, "pid", buf, sizeof(buf)) : "-");
			table_cell(&t, "%s", field_text(w, "port", buf, sizeof(buf)));
			table_cell(&t, "%s", field_text(w, "state", buf, sizeof(buf)));
			table_cell(&t, "%s",
				   running && json_is_number(uptime)
					   ? cli_format_duration(json_number_value(uptime), true,
								 buf, sizeof(buf))
					   : "-");
			table_cell(&t, "%s", field_text(w, "restarts", buf, sizeof(buf)));
			if (json_is_number(share))
				table_cell(&t, "%.1f%%", 100.0 * json_number_value(share));
			else
				table_cell(&t, "-");
		}
	}
	table_print(f, &t);
	table_free(&t);
	json_array_foreach(vips, i, v)
	{
		name = field_text(v, "vip", namebuf, sizeof(namebuf));
		last = json_object_get(v, "last_reload");
		if (json_is_true(json_object_get(v, "reloading")))
			fprintf(f, "%s: rolling reload running\n", name);
		else if (json_is_string(last) && strcmp(json_string_value(last), "ok"))
			fprintf(f, "%s: last rolling reload failed: %s\n", name,
				json_string_value(last));
	}
}

static void render_worker_reload(FILE *f, const json_t *r)
{
	const json_t *started = json_object_get(r, "started"), *v;
	size_t i;

	if (!json_array_size(started)) {
		fprintf(f, "no VIP has workers: nothing to reload\n");
		return;
	}
	fprintf(f, "rolling reload started for: ");
	json_array_foreach(started, i, v)
	{
		fprintf(f, "%s%s", i ? ", " : "", json_is_string(v) ? json_string_value(v) : "-");
	}
	fputc('\n', f);
}

/* The element of worker.list's vips named name, or NULL. */
static const json_t *find_worker_vip(const json_t *vips, const json_t *name)
{
	const json_t *v;
	size_t i;

	json_array_foreach(vips, i, v)
	{
		if (json_equal(json_object_get(v, "vip"), name))
			return v;
	}
	return NULL;
}

enum cli_reload_state cli_reload_state(FILE *err, const json_t *list, const json_t *started)
{
	const json_t *vips = json_object_get(list, "vips"), *name, *found, *last;
	bool failed = false;
	size_t i;

	json_array_foreach(started, i, name)
	{
		found = find_worker_vip(vips, name);
		if (json_is_true(json_object_get(found, "reloading")))
			return CLI_RELOAD_RUNNING;
	}
	json_array_foreach(started, i, name)
	{
		const char *vip = json_is_string(name) ? json_string_value(name) : "-";

		found = find_worker_vip(vips, name);
		last = json_object_get(found, "last_reload");
		if (!found)
			fprintf(err, "%s: %s: no longer has workers\n", CLI_PROG, vip);
		else if (!json_is_string(last))
			fprintf(err, "%s: %s: the rolling reload ended without a result\n",
				CLI_PROG, vip);
		else if (strcmp(json_string_value(last), "ok"))
			fprintf(err, "%s: %s: rolling reload failed: %s\n", CLI_PROG, vip,
				json_string_value(last));
		else
			continue;
		failed = true;
	}
	return failed ? CLI_RELOAD_FAILED : CLI_RELOAD_OK;
}

static void render_reload(FILE *f, const json_t *r)
{
	static const char *const what[] = { "vips", "backends" };
	char a[32], d[32], c[32], key[32];

	for (size_t i = 0; i < ARRAY_SIZE(what); i++) {
		snprintf(key, sizeof(key), "%s_added", what[i]);
		field_text(r, key, a, sizeof(a));
		snprintf(key, sizeof(key), "%s_removed", what[i]);
		field_text(r, key, d, sizeof(d));
		snprintf(key, sizeof(key), "%s_changed", what[i]);
		field_text(r, key, c, sizeof(c));
		fprintf(f, "%-9s %s added, %s removed, %s changed\n", what[i], a, d, c);
	}
}

static void render_detach(FILE *f, const json_t *r)
{
	(void)r;
	fprintf(f, "detached: the XDP programs are off the interfaces, the pins are removed\n"
		   "and the agent exits\n");
}

int cli_render(FILE *f, const char *cmd, const json_t *result)
{
	for (size_t i = 0; i < ARRAY_SIZE(objects); i++) {
		for (size_t k = 0; k < objects[i].ncmds; k++) {
			const struct cli_command *c = &objects[i].cmds[k];

			if (strcmp(c->cmd, cmd))
				continue;
			if (c->render)
				c->render(f, result);
			return 0;
		}
	}
	return -ENOENT;
}
