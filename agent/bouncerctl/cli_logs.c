// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* bouncerctl worker logs VIP [ID] [-n COUNT] [-f]: the recent output of a
 * VIP's workers, as the agent keeps it, then with -f the lines that follow,
 * asked for every 250 ms after the last one seen (the protocol has no
 * notifications), the way `pm2 logs` and `tail -f` print them.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "common/ctl.h"

#define FOLLOW_MS 250

void cli_render_log_line(FILE *f, const char *vip, const json_t *line)
{
	const char *stream = json_string_value(json_object_get(line, "stream"));
	const char *text = json_string_value(json_object_get(line, "text"));
	json_int_t ms = json_integer_value(json_object_get(line, "time_ms"));
	time_t t = (time_t)(ms / 1000);
	char when[32] = "-";
	struct tm tm;

	if (ms > 0 && localtime_r(&t, &tm) &&
	    !strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(when, sizeof(when), "-");
	fprintf(f, "%s %s/%lld", when, vip,
		(long long)json_integer_value(json_object_get(line, "id")));
	/* One pipe for both streams (a worker an older agent started). */
	if (stream && strcmp(stream, "output") != 0)
		fprintf(f, " %s", stream);
	fprintf(f, ": %s\n", text ? text : "");
}

/* One worker.logs request; prints its lines and moves *after past them. 0,
 * or 1 after saying why.
 */
static int fetch(const struct cli_request *req, json_t *args, unsigned long long *after)
{
	const json_t *lines, *line, *last;
	json_t *reply, *result;
	const char *vip;
	size_t i;
	int err;

	err = ctl_request(req->socket, "worker.logs", args, req->timeout_ms, &reply);
	if (err) {
		cli_ctl_error(req, err);
		return 1;
	}
	result = cli_reply_result(reply);
	if (!result) {
		json_decref(reply);
		return 1;
	}
	vip = json_string_value(json_object_get(result, "vip"));
	lines = json_object_get(result, "lines");
	last = json_object_get(result, "last");
	json_array_foreach(lines, i, line)
	{
		cli_render_log_line(stdout, vip ? vip : "-", line);
	}
	if (json_is_integer(last)) {
		/* Lower than before: another agent, whose lines count from 1. */
		unsigned long long l = (unsigned long long)json_integer_value(last);

		*after = l < *after ? 0 : l;
	}
	json_decref(reply);
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "%s: writing the output: %s\n", CLI_PROG, strerror(errno));
		return 1;
	}
	return 0;
}

int cli_worker_logs_run(const struct cli_request *req)
{
	const struct timespec pause = { .tv_sec = FOLLOW_MS / 1000,
					.tv_nsec = (FOLLOW_MS % 1000) * 1000000L };
	json_t *args = json_deep_copy(req->args);
	unsigned long long after = 0;
	int ret;

	if (!args)
		return 1;
	if (req->count)
		json_object_set_new(args, "lines", json_integer(req->count));
	ret = fetch(req, args, &after);
	json_object_del(args, "lines");
	while (ret == 0 && req->follow) {
		nanosleep(&pause, NULL);
		json_object_set_new(args, "after", json_integer((json_int_t)after));
		ret = fetch(req, args, &after);
	}
	json_decref(args);
	return ret;
}
