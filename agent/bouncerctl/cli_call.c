// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* What bouncerctl says about a request's outcome: why it got no reply,
 * and the result of a reply, or the error the agent reported.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

void cli_ctl_error(const struct cli_request *req, int err)
{
	switch (err) {
	case -ENOENT:
	case -ECONNREFUSED:
		fprintf(stderr,
			"%s: cannot reach the agent at %s: %s\n"
			"Is bouncerd running? (-s SOCKET if it listens elsewhere, or -c FILE for "
			"the config that names it)\n",
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

json_t *cli_reply_result(json_t *reply)
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
