// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* bouncerctl: the command line of the agent. Parses the arguments (cli.c),
 * finds the control socket (cli_config.c), sends one request and prints
 * the result as a table, or as JSON with -j or -p, then follows it with
 * --wait (cli_wait.c); top and worker logs run their own loops (cli_top.c,
 * cli_logs.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common/ctl.h"
#include "common/util.h"
#include "common/version.h"

#define EXIT_USAGE 2

/* Prints a successful reply's result: 0, or 1 when it cannot be printed. */
static int print_result(const struct cli_request *req, const json_t *result)
{
	size_t flags = req->output == CLI_OUTPUT_PRETTY ? JSON_INDENT(2) : JSON_COMPACT;

	if (req->output == CLI_OUTPUT_TABLE) {
		if (cli_render_request(stdout, req, result))
			fprintf(stderr, "%s: no table for %s\n", CLI_PROG, req->cmd);
	} else if (json_dumpf(result, stdout, flags) == 0) {
		fputc('\n', stdout);
	} else {
		fprintf(stderr, "%s: cannot print the result\n", CLI_PROG);
		return 1;
	}
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "%s: writing the output: %s\n", CLI_PROG, strerror(errno));
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct cli_request req;
	json_t *reply = NULL, *result;
	char err[256], hint[96];
	int ret;

	ret = cli_parse(argc, argv, &req, err, sizeof(err));
	if (ret == -ENOMEM) {
		fprintf(stderr, "%s: out of memory\n", CLI_PROG);
		ret = 1;
		goto cleanup;
	}
	if (ret) {
		fprintf(stderr, "%s: %s\nTry '%s'.\n", CLI_PROG, err,
			cli_help_command(&req, hint, sizeof(hint)));
		ret = EXIT_USAGE;
		goto cleanup;
	}
	if (req.version) {
		version_print(stdout, CLI_PROG);
		ret = 0;
		goto cleanup;
	}
	if (req.help) {
		cli_help(stdout, &req);
		ret = 0;
		goto cleanup;
	}
	if (req.completion) {
		cli_completion_bash(stdout);
		ret = fflush(stdout) ? 1 : 0;
		goto cleanup;
	}
	if (cli_resolve_socket(&req, err, sizeof(err))) {
		fprintf(stderr, "%s: %s\n", CLI_PROG, err);
		ret = 1;
		goto cleanup;
	}
	if (req.run) {
		ret = req.run(&req);
		goto cleanup;
	}
	ret = ctl_request(req.socket, req.cmd, req.args, req.timeout_ms, &reply);
	if (ret) {
		cli_ctl_error(&req, ret);
		ret = 1;
		goto cleanup;
	}
	result = cli_reply_result(reply);
	ret = result ? print_result(&req, result) : 1;
	if (ret == 0 && req.wait)
		ret = cli_wait(&req, result);
cleanup:
	json_decref(reply);
	cli_request_release(&req);
	return ret;
}
