// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* bouncerctl's grammar as one table: the objects, their commands, each
 * command's arguments with their help strings and renderer, and
 * bouncerctl's own options. The parser, the help (cli.c) and the renderers
 * (cli_render.c) all read it.
 */
#include "bouncer_abi.h"
#include "cli_grammar.h"
#include "cli_top.h"

#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

/* Grammar: the choices are the shared vocabularies (common/vocab.h). */

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
		.choices = &vocab_admin, .help = HELP_STATE \
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
	  .choices = &vocab_forwarding,
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
	  .choices = &vocab_hash,
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
	{ .keyword = "--digest",
	  .type = ARG_FLAG,
	  .flags = ARG_OPTIONAL,
	  .key = "digest",
	  .render = cli_render_ring_digest,
	  .help = "print the first line alone: the ring size,\n"
		  "the seed and the digest, for scripts that\n"
		  "compare hosts" },
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
	  .choices = &vocab_protocol,
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

/* --wait, with what it waits for, and --timeout: bouncerctl follows a
 * change that the agent carries out after its answer.
 */
#define ARG_WAIT(wait_help) \
	{ .keyword = "--wait", \
	  .type = ARG_FLAG, \
	  .flags = ARG_OPTIONAL, \
	  .key = "wait", \
	  .help = (wait_help) }, \
	{ \
		.keyword = "--timeout", .meta = "SECONDS", .type = ARG_NUMBER, \
		.flags = ARG_OPTIONAL, .key = "timeout", .min = 1, .max = 86400, \
		.help = "wait at most SECONDS (default " STRINGIFY( \
			CLI_WAIT_S) ");\nimplies --wait" \
	}

static const struct cli_arg worker_restart_args[] = {
	ARG_VIP(0),
	{ .meta = "ID",
	  .type = ARG_NUMBER,
	  .key = "id",
	  .min = 0,
	  .max = CFG_WORKERS_MAX - 1,
	  .help = "the worker's id (worker list)" },
	ARG_WAIT("wait until the new process listens and the\n"
		 "old one has exited: exit 1 if the new one\n"
		 "failed (the old one serves on)"),
};

static const struct cli_arg worker_scale_args[] = {
	ARG_VIP(0),
	{ .meta = "COUNT",
	  .type = ARG_NUMBER,
	  .key = "count",
	  .min = 1,
	  .max = CFG_WORKERS_MAX,
	  .help = "how many workers to run; the highest ids\nstop first" },
	ARG_WAIT("wait until COUNT workers listen and the\n"
		 "removed ones have exited: exit 1 if a\n"
		 "worker fails"),
};

static const struct cli_arg worker_logs_args[] = {
	ARG_VIP(0),
	{ .meta = "ID",
	  .type = ARG_NUMBER,
	  .flags = ARG_OPTIONAL,
	  .key = "id",
	  .min = 0,
	  .max = CFG_WORKERS_MAX - 1,
	  .help = "the worker's id (default: every worker of\nthe VIP)" },
};

static const struct cli_arg worker_reload_args[] = {
	{ .meta = "VIP",
	  .type = ARG_WORD,
	  .flags = ARG_OPTIONAL,
	  .key = "vip",
	  .help = "the VIP's name (default: every VIP with\nworkers)" },
	ARG_WAIT("wait until the reload ends: exit 1 and\n"
		 "print the errors if it failed"),
};

static const struct cli_arg host_drain_args[] = {
	ARG_WAIT("wait until the traffic has gone: exit 1 if\n"
		 "it has not by the time-out"),
};

#define ARGS(a) .args = (a), .nargs = ARRAY_SIZE(a)

static const struct cli_command status_cmds[] = {
	{ .cmd = "status",
	  .help = "Show the agent's version, uptime, config, interfaces and counts.",
	  .render = cli_render_status },
};

static const struct cli_command vip_cmds[] = {
	{ .name = "list",
	  .cmd = "vip.list",
	  .help = "List the VIPs with their traffic and how many backends are up.",
	  .render = cli_render_vip_list },
	{ .name = "show",
	  .cmd = "vip.show",
	  .help = "Show one VIP and its backends.",
	  ARGS(vip_name_args),
	  .render = cli_render_vip_show },
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
	  .render = cli_render_backend_list },
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
	  .render = cli_render_stats },
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
	  .flags = CMD_OPT_INTERVAL | CMD_OPT_COUNT,
	  .run = cli_top_run },
};

static const struct cli_command ring_cmds[] = {
	{ .name = "show",
	  .cmd = "ring.show",
	  .help = "Show how a VIP's Maglev ring is shared among its backends.\n"
		  "Also the ring's digest, the same on hosts that send every new flow\n"
		  "to the same backend, and how many slots moved in the last rebuild,\n"
		  "and when.",
	  ARGS(ring_show_args),
	  .render = cli_render_ring_show },
};

static const struct cli_command flow_cmds[] = {
	{ .name = "list",
	  .cmd = "flow.list",
	  .help = "List flows from the flow table, of one VIP or of all.",
	  ARGS(flow_list_args),
	  .render = cli_render_flow_list },
	{ .name = "lookup",
	  .cmd = "flow.lookup",
	  .help = "Show the backend a flow is bound to.",
	  ARGS(flow_lookup_args),
	  .render = cli_render_flow_lookup },
	{ .name = "flush",
	  .cmd = "flow.flush",
	  .help = "Forget the flows of one backend, or all flows.\n"
		  "Their next packets pick a backend from the ring again.",
	  ARGS(flow_flush_args),
	  .flags = CMD_NO_PREFIX,
	  .render = cli_render_flow_flush },
};

static const struct cli_command worker_cmds[] = {
	{ .name = "list",
	  .cmd = "worker.list",
	  .help = "List the local workers of one VIP, or of all VIPs.\n"
		  "Process, port, state, uptime, restarts and share of the traffic;\n"
		  "and a line for each VIP whose rolling reload runs or failed.",
	  ARGS(worker_list_args),
	  .render = cli_render_worker_list },
	{ .name = "restart",
	  .cmd = "worker.restart",
	  .help = "Replace one worker with a new process.\n"
		  "The old one serves until the new one listens; a worker in backoff or\n"
		  "failed is started now. Without --wait, this returns once the new\n"
		  "process runs.",
	  ARGS(worker_restart_args) },
	{ .name = "scale",
	  .cmd = "worker.scale",
	  .help = "Start or stop workers to run COUNT of them.\n"
		  "Without --wait, this returns once they are started or signalled.",
	  ARGS(worker_scale_args) },
	{ .name = "reload",
	  .cmd = "worker.reload",
	  .help = "Replace the workers of one VIP, or of all, one at a time.\n"
		  "Each new worker must listen before its predecessor stops. The reload\n"
		  "runs in the agent: without --wait, follow it with worker list;\n"
		  "interrupting --wait does not stop it.",
	  ARGS(worker_reload_args),
	  .render = cli_render_worker_reload },
	{ .name = "logs",
	  .cmd = "worker.logs",
	  .help = "Show the recent output of a VIP's workers, or of one.\n"
		  "The last lines each worker wrote on stdout and stderr, as the agent\n"
		  "keeps them (1000 lines or 64 KiB per worker, from this agent's\n"
		  "start), oldest first. -n COUNT lines (default 20); -f prints new\n"
		  "lines as they come, until interrupted.",
	  ARGS(worker_logs_args),
	  .flags = CMD_OPT_COUNT | CMD_OPT_FOLLOW,
	  .run = cli_worker_logs_run },
};

static const struct cli_command reload_cmds[] = {
	{ .cmd = "reload",
	  .help = "Read the config file again and apply what changed.\n"
		  "A config that does not parse or validate changes nothing.",
	  .timeout_ms = 30000,
	  .render = cli_render_reload },
};

static const struct cli_command detach_cmds[] = {
	{ .cmd = "detach",
	  .help = "Remove the XDP programs and their pins, and stop the agent.\n"
		  "Traffic to the VIPs is no longer balanced; the flow table is lost.",
	  .flags = CMD_NO_PREFIX,
	  .timeout_ms = 30000,
	  .render = cli_render_detach },
};

static const struct cli_command host_cmds[] = {
	{ .name = "show",
	  .cmd = "host.show",
	  .help = "Show whether this host announces its VIPs, and its traffic.\n"
		  "ready, draining (withdrawn, traffic still comes) or drained.",
	  .render = cli_render_host },
	{ .name = "drain",
	  .cmd = "host.drain",
	  .help = "Withdraw every VIP of this host, for maintenance.\n"
		  "Routers stop sending new traffic here; what still comes is\n"
		  "forwarded. The host is drained once its traffic has gone; it\n"
		  "stays drained across restarts until host ready.",
	  ARGS(host_drain_args),
	  .render = cli_render_host },
	{ .name = "ready",
	  .cmd = "host.ready",
	  .help = "Announce this host's VIPs again after a drain.",
	  .render = cli_render_host },
};

#define CMDS(c) .cmds = (c), .ncmds = ARRAY_SIZE(c)

const struct cli_object cli_objects[CLI_NOBJECTS] = {
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
	{ .name = "host",
	  .help = "This host's announcements to the routers, and its drain.",
	  CMDS(host_cmds),
	  .default_cmd = "show" },
	{ .name = "reload", .help = "Apply the config file.", CMDS(reload_cmds) },
	{ .name = "detach", .help = "Remove the datapath and stop the agent.", CMDS(detach_cmds) },
};

const struct opt_spec cli_options[CLI_NOPTIONS] = {
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
	  .help = "control socket (default: the config file's\ncontrol_socket)" },
	{ .short_name = 'c',
	  .long_name = "config",
	  .arg = "FILE",
	  .id = OPT_CONFIG,
	  .help = "the agent's config file, which names the\ncontrol socket "
		  "(default " CLI_DEFAULT_CONFIG ";\nwithout it, " CLI_DEFAULT_SOCKET ")" },
	{ .short_name = 'd',
	  .long_name = "interval",
	  .arg = "SECONDS",
	  .id = OPT_INTERVAL,
	  .help = "top: seconds between refreshes (default 1)" },
	{ .short_name = 'n',
	  .long_name = "count",
	  .arg = "COUNT",
	  .id = OPT_COUNT,
	  .help = "top: exit after COUNT refreshes;\nworker logs: the last COUNT lines" },
	{ .short_name = 'f',
	  .long_name = "follow",
	  .id = OPT_FOLLOW,
	  .help = "worker logs: print new lines as they come" },
	{ .long_name = "completion",
	  .arg = "SHELL",
	  .id = OPT_COMPLETION,
	  .help = "print the completion script for SHELL (bash)" },
	{ .short_name = 'h', .long_name = "help", .id = OPT_HELP, .help = "print this help" },
	{ .short_name = 'V',
	  .long_name = "version",
	  .id = OPT_VERSION,
	  .help = "print the version and exit" },
};
