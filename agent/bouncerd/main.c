// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* bouncerd: the agent. Loads (or takes over) the XDP datapath, keeps its
 * maps in step with the config and the backends' health, and serves the
 * control socket.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "daemon.h"
#include "notify.h"
#include "common/log.h"
#include "common/options.h"
#include "common/version.h"

#define PROG "bouncerd"

/* Exit statuses: 0 fine (and a valid config with -t), 1 failure or an
 * invalid config, 2 usage.
 */
#define EXIT_USAGE 2

/* The options, with their help: usage is generated from this table. */
static const struct opt_spec options[] = {
	{ .short_name = 'c',
	  .long_name = "config",
	  .arg = "FILE",
	  .id = 'c',
	  .help = "the config file (required)" },
	{ .short_name = 't',
	  .long_name = "test",
	  .id = 't',
	  .help = "check the config file and exit: 0 if valid" },
	{ .short_name = 'm',
	  .long_name = "mode",
	  .arg = "MODE",
	  .id = 'm',
	  .help = "XDP attach mode: native, skb or auto (native,\n"
		  "else skb); overrides the config" },
	{ .short_name = 'D',
	  .long_name = "detach-on-exit",
	  .id = 'D',
	  .help = "on SIGTERM/SIGINT remove the datapath too\n"
		  "(default: it stays attached)" },
	{ .short_name = 'S',
	  .long_name = "state-dir",
	  .arg = "DIR",
	  .id = 'S',
	  .help = "where the state for a restart is kept\n"
		  "(default /run/bouncer)" },
	{ .short_name = 'V',
	  .long_name = "version",
	  .id = 'V',
	  .help = "print the version and exit" },
	{ .long_name = "downgrade-maps",
	  .arg = "VERSION",
	  .id = 'G',
	  .help = "convert the pinned maps to an older layout\n"
		  "version for an older bouncerd, then exit\n"
		  "(no agent may run)" },
	{ .short_name = 'h', .long_name = "help", .id = 'h', .help = "show this help" },
};

#define NOPTIONS (sizeof(options) / sizeof(options[0]))

static void usage(FILE *f)
{
	fprintf(f, "Usage: %s -c FILE [options]\n\n", PROG);
	opts_print_help(f, options, NOPTIONS);
	fprintf(f, "\nSignals: SIGHUP reloads the config (the running one stays if the new one\n"
		   "is invalid); SIGTERM and SIGINT stop the agent, the datapath staying\n"
		   "attached unless --detach-on-exit. Control: bouncerctl (see --help there).\n");
}

static int parse_mode(const char *s, enum cfg_attach_mode *mode)
{
	if (strcmp(s, "native") == 0)
		*mode = CFG_ATTACH_NATIVE;
	else if (strcmp(s, "skb") == 0)
		*mode = CFG_ATTACH_SKB;
	else if (strcmp(s, "auto") == 0)
		*mode = CFG_ATTACH_AUTO;
	else
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	struct daemon_opts opts = { 0 };
	struct opts_parser parser;
	struct daemon d;
	bool test = false;
	long downgrade = 0;
	char err[512], *end;
	int c, ret;

	log_init(PROG, LOG_LEVEL_INFO);
	notify_init();
	log_route_libbpf();
	if (opts_init(&parser, options, NOPTIONS))
		return 1;
	while ((c = opts_next(&parser, argc, argv, false)) != -1) {
		switch (c) {
		case 'c':
			opts.config_path = optarg;
			break;
		case 't':
			test = true;
			break;
		case 'm':
			if (parse_mode(optarg, &opts.mode)) {
				fprintf(stderr, "%s: --mode takes native, skb or auto, not '%s'\n",
					PROG, optarg);
				return EXIT_USAGE;
			}
			opts.mode_set = true;
			break;
		case 'D':
			opts.detach_on_exit = true;
			break;
		case 'S':
			opts.state_dir = optarg;
			break;
		case 'V':
			version_print(stdout, PROG);
			return 0;
		case 'G':
			downgrade = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end || downgrade < 1 || downgrade > 65535) {
				fprintf(stderr,
					"%s: --downgrade-maps takes a layout version (1, 2, ...), "
					"not '%s'\n",
					PROG, optarg);
				return EXIT_USAGE;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", PROG, argv[optind]);
		return EXIT_USAGE;
	}
	if (!opts.config_path) {
		fprintf(stderr, "%s: a config file is required: -c FILE\n", PROG);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (test) {
		struct cfg *cfg;

		ret = cfg_load(opts.config_path, &cfg, err, sizeof(err));
		if (ret) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		printf("%s: valid (%zu VIPs)\n", opts.config_path, cfg->nvips);
		cfg_free(cfg);
		return 0;
	}
	if (downgrade)
		return daemon_downgrade_maps(&opts, (unsigned int)downgrade) ? 1 : 0;
	ret = daemon_start(&d, &opts);
	if (!ret)
		ret = notify_ready(&d);
	if (!ret) {
		ret = daemon_run(&d);
		notify_stopping();
	}
	daemon_stop(&d);
	return ret ? 1 : 0;
}
