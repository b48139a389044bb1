// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* bouncerctl: the command line of the agent. Parses the arguments (cli.c),
 * sends one request over the control socket and prints the result as a
 * table, or as JSON with -j or -p; top runs its own loop (cli_top.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "common/ctl.h"
#include "common/util.h"
#include "common/version.h"

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

/* A reply's result, or NULL after saying why there is none. A reply
 * without a result is a command that only says "done": it gets an empty
 * one.
 */
static json_t *reply_result(json_t *reply)
{
	json_t *ok = json_object_get(reply, "ok"), *result;

	if (!json_is_boolean(ok)) {
		fprintf(stderr, "%s: the agent's reply has no \"ok\"\n", CLI_PROG);
		return NULL;
	}
	if (!json_is_true(ok)) {
		const char *text = json_string_value(json_object_get(reply, "error"));

		fprintf(stderr, "%s: %s\n", CLI_PROG, text ? text : "the agent reported an error");
		return NULL;
	}
	result = json_object_get(reply, "result");
	if (!result) {
		result = json_object();
		if (json_object_set_new(reply, "result", result))
			result = NULL;
	}
	return result;
}

/* worker reload --wait, after worker.reload has answered with started.
 * The agent answers as soon as the rolling reloads start, and they can
 * take minutes (each replacement must listen before the next worker is
 * replaced); the protocol has no notifications, so ask worker.list every
 * 200 ms until none of the started VIPs is reloading. 0 when each ended
 * "ok", else 1 with the reasons on stderr.
 */
static int wait_for_reload(const struct cli_request *req, const json_t *started)
{
	const struct timespec pause = { .tv_nsec = 200000000 }; /* 200 ms */
	long long deadline = now_ms() + (long long)req->wait_s * 1000;
	enum cli_reload_state state;
	json_t *reply, *list;
	const json_t *v;
	size_t i;
	int err;

	if (!json_array_size(started))
		return 0;
	for (;;) {
		nanosleep(&pause, NULL);
		/* req->args names the VIP of the reload, if it names one. */
		err = ctl_request(req->socket, "worker.list", req->args, req->timeout_ms, &reply);
		if (err) {
			report_ctl_error(req, err);
			return 1;
		}
		list = reply_result(reply);
		state = list ? cli_reload_state(stderr, list, started) : CLI_RELOAD_FAILED;
		json_decref(reply);
		if (state != CLI_RELOAD_RUNNING)
			break;
		if (now_ms() >= deadline) {
			fprintf(stderr,
				"%s: the rolling reload still runs after %u s (it goes on in the "
				"agent: see '%s worker list')\n",
				CLI_PROG, req->wait_s, CLI_PROG);
			return 1;
		}
	}
	if (state != CLI_RELOAD_OK)
		return 1;
	if (req->output == CLI_OUTPUT_TABLE) {
		printf("rolling reload done for: ");
		json_array_foreach(started, i, v)
		{
			printf("%s%s", i ? ", " : "",
			       json_is_string(v) ? json_string_value(v) : "-");
		}
		putchar('\n');
	}
	return 0;
}

/* host drain --wait, after host.drain has answered: asks host.show every
 * 500 ms until the agent says the traffic has gone. 0 when it has, 1 at
 * the time-out.
 */
static int wait_for_drain(const struct cli_request *req)
{
	const struct timespec pause = { .tv_nsec = 500000000 }; /* 500 ms */
	long long deadline = now_ms() + (long long)req->wait_s * 1000;
	const json_t *state;
	json_t *reply, *host;
	int err;

	for (;;) {
		err = ctl_request(req->socket, "host.show", NULL, req->timeout_ms, &reply);
		if (err) {
			report_ctl_error(req, err);
			return 1;
		}
		host = reply_result(reply);
		state = json_object_get(host, "state");
		if (json_is_string(state) && strcmp(json_string_value(state), "drained") == 0) {
			if (req->output == CLI_OUTPUT_TABLE)
				cli_render_host_drained(stdout, host);
			json_decref(reply);
			return 0;
		}
		json_decref(reply);
		if (now_ms() >= deadline) {
			fprintf(stderr,
				"%s: traffic still comes after %u s (the host stays withdrawn: see "
				"'%s host show')\n",
				CLI_PROG, req->wait_s, CLI_PROG);
			return 1;
		}
		nanosleep(&pause, NULL);
	}
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
	if (req.run) {
		ret = req.run(&req);
		goto cleanup;
	}
	ret = ctl_request(req.socket, req.cmd, req.args, req.timeout_ms, &reply);
	if (ret) {
		report_ctl_error(&req, ret);
		ret = 1;
		goto cleanup;
	}
	result = reply_result(reply);
	ret = result ? print_result(&req, result) : 1;
	if (ret == 0 && req.wait && strcmp(req.cmd, "host.drain") == 0)
		ret = wait_for_drain(&req);
	else if (ret == 0 && req.wait)
		ret = wait_for_reload(&req, json_object_get(result, "started"));
cleanup:
	json_decref(reply);
	cli_request_release(&req);
	return ret;
}
