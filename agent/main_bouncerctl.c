// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* bouncerctl: the command line of the agent. Parses the arguments (cli.c),
 * sends one request over the control socket and prints the result as a
 * table, or as JSON with -j or -p.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ctl.h"

#define EXIT_USAGE 2

/* What to tell the operator when the request did not get a reply. */
static void report_ctl_error(const struct cli_request *req, int err)
{
	switch (err) {
	case -ENOENT:
	case -ECONNREFUSED:
		fprintf(stderr,
			"%s: cannot reach the agent at %s: %s\n"
			"Is bouncerd running? (-s SOCKET if it listens elsewhere)\n",
			CLI_PROG, req->socket, strerror(-err));
		break;
	case -EACCES:
	case -EPERM:
		fprintf(stderr, "%s: %s: %s (the control socket is root only)\n", CLI_PROG,
			req->socket, strerror(-err));
		break;
	case -ETIMEDOUT:
		fprintf(stderr, "%s: no reply from the agent at %s within %d ms\n", CLI_PROG,
			req->socket, req->timeout_ms);
		break;
	case -EPROTO:
		fprintf(stderr, "%s: the agent at %s sent a reply that is not a JSON object\n",
			CLI_PROG, req->socket);
		break;
	default:
		fprintf(stderr, "%s: %s: %s\n", CLI_PROG, req->socket, strerror(-err));
		break;
	}
}

/* Prints a successful reply's result: 0, or 1 when it cannot be printed. */
static int print_result(const struct cli_request *req, const json_t *result)
{
	size_t flags = req->output == CLI_OUTPUT_PRETTY ? JSON_INDENT(2) : JSON_COMPACT;

	if (req->output == CLI_OUTPUT_TABLE) {
		if (cli_render(stdout, req->cmd, result))
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
	json_t *reply = NULL, *result, *ok;
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
	if (req.help) {
		cli_help(stdout, &req);
		ret = 0;
		goto cleanup;
	}
	ret = ctl_request(req.socket, req.cmd, req.args, req.timeout_ms, &reply);
	if (ret) {
		report_ctl_error(&req, ret);
		ret = 1;
		goto cleanup;
	}
	ok = json_object_get(reply, "ok");
	if (!json_is_boolean(ok)) {
		fprintf(stderr, "%s: the agent's reply has no \"ok\"\n", CLI_PROG);
		ret = 1;
		goto cleanup;
	}
	if (!json_is_true(ok)) {
		const char *text = json_string_value(json_object_get(reply, "error"));

		fprintf(stderr, "%s: %s\n", CLI_PROG, text ? text : "the agent reported an error");
		ret = 1;
		goto cleanup;
	}
	/* A reply without a result is a command that only says "done". */
	result = json_object_get(reply, "result");
	if (!result) {
		result = json_object();
		if (json_object_set_new(reply, "result", result))
			result = NULL;
	}
	ret = result ? print_result(&req, result) : 1;
cleanup:
	json_decref(reply);
	cli_request_release(&req);
	return ret;
}
