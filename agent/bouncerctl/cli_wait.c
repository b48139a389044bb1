// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* --wait: bouncerctl follows a change that the agent carries out after its
 * answer (a rolling reload, a worker's restart, a scale, a host's drain),
 * asking again every 200 or 500 ms, since the protocol has no
 * notifications, until it is done, has failed or the time-out (--timeout)
 * has passed.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "common/ctl.h"
#include "common/util.h"

static void pause_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* worker reload --wait, after worker.reload has answered with started.
 * 0 when each rolling reload ended "ok", else 1 with the reasons on stderr.
 */
static int wait_for_reload(const struct cli_request *req, const json_t *started)
{
	long long deadline = now_ms() + (long long)req->wait_s * 1000;
	enum cli_reload_state state;
	json_t *reply, *list;
	const json_t *v;
	size_t i;
	int err;

	if (!json_array_size(started))
		return 0;
	for (;;) {
		pause_ms(200);
		/* req->args names the VIP of the reload, if it names one. */
		err = ctl_request(req->socket, "worker.list", req->args, req->timeout_ms, &reply);
		if (err) {
			cli_ctl_error(req, err);
			return 1;
		}
		list = cli_reply_result(reply);
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
	long long deadline = now_ms() + (long long)req->wait_s * 1000;
	const json_t *state;
	json_t *reply, *host;
	int err;

	for (;;) {
		err = ctl_request(req->socket, "host.show", NULL, req->timeout_ms, &reply);
		if (err) {
			cli_ctl_error(req, err);
			return 1;
		}
		host = cli_reply_result(reply);
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
		pause_ms(500);
	}
}

/* How a VIP's workers stand after a restart or a scale. */
enum settle {
	SETTLE_RUNNING, /* something is still starting or stopping */
	SETTLE_DONE,
	SETTLE_FAILED, /* said why on stderr */
};

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "-";
}

static long long num(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

/* The entry of vip in a worker.list result, or NULL. */
static const json_t *vip_entry(const json_t *list, const char *vip)
{
	const json_t *v;
	size_t i;

	json_array_foreach(json_object_get(list, "vips"), i, v)
	{
		if (strcmp(str(v, "vip"), vip) == 0)
			return v;
	}
	return NULL;
}

/* worker restart: done once the slot's replacement is its process, ready,
 * and the processes that left a slot have exited; failed when the old pid
 * serves on (the replacement did not listen) or the worker is down.
 */
static enum settle restart_state(const json_t *v, long long id, long long old_pid, char *done,
				 size_t len)
{
	const json_t *w, *found = NULL;
	const char *state;
	size_t i;

	json_array_foreach(json_object_get(v, "workers"), i, w)
	{
		if (num(w, "id") == id)
			found = w;
	}
	if (!found) {
		fprintf(stderr, "%s: %s has no worker %lld any more\n", CLI_PROG, str(v, "vip"),
			id);
		return SETTLE_FAILED;
	}
	state = str(found, "state");
	if (json_is_true(json_object_get(found, "replacing")) || strcmp(state, "starting") == 0 ||
	    num(v, "stopping") > 0)
		return SETTLE_RUNNING;
	if (strcmp(state, "ready") != 0) {
		fprintf(stderr, "%s: %s/%lld is %s (see '%s worker logs %s %lld')\n", CLI_PROG,
			str(v, "vip"), id, state, CLI_PROG, str(v, "vip"), id);
		return SETTLE_FAILED;
	}
	if (num(found, "pid") == old_pid) {
		fprintf(stderr,
			"%s: the new process of %s/%lld did not listen; pid %lld serves on (see "
			"'%s worker logs %s %lld')\n",
			CLI_PROG, str(v, "vip"), id, old_pid, CLI_PROG, str(v, "vip"), id);
		return SETTLE_FAILED;
	}
	if (old_pid > 0)
		snprintf(done, len, "%s/%lld restarted: pid %lld -> %lld", str(v, "vip"), id,
			 old_pid, num(found, "pid"));
	else
		snprintf(done, len, "%s/%lld started: pid %lld", str(v, "vip"), id,
			 num(found, "pid"));
	return SETTLE_DONE;
}

/* worker scale: done once count workers are ready and the removed ones
 * have exited; failed when a worker is down.
 */
static enum settle scale_state(const json_t *v, long long count, char *done, size_t len)
{
	const json_t *workers = json_object_get(v, "workers"), *w;
	bool running = num(v, "stopping") > 0;
	size_t i;

	json_array_foreach(workers, i, w)
	{
		const char *state = str(w, "state");

		if (strcmp(state, "starting") == 0 || json_is_true(json_object_get(w, "replacing")))
			running = true;
		else if (strcmp(state, "ready") != 0) {
			fprintf(stderr, "%s: %s/%lld is %s (see '%s worker logs %s %lld')\n",
				CLI_PROG, str(v, "vip"), num(w, "id"), state, CLI_PROG,
				str(v, "vip"), num(w, "id"));
			return SETTLE_FAILED;
		}
	}
	if (running || (long long)json_array_size(workers) != count)
		return SETTLE_RUNNING;
	snprintf(done, len, "%s: %lld worker%s ready", str(v, "vip"), count, count == 1 ? "" : "s");
	return SETTLE_DONE;
}

/* worker restart --wait and worker scale --wait. */
static int wait_for_workers(const struct cli_request *req, const json_t *result, bool restart)
{
	long long deadline = now_ms() + (long long)req->wait_s * 1000;
	const char *vip = json_string_value(json_object_get(req->args, "vip"));
	json_t *args = json_pack("{s:s}", "vip", vip ? vip : ""), *reply, *list;
	enum settle state = SETTLE_FAILED;
	char done[160] = "";
	int err;

	if (!args)
		return 1;
	for (;;) {
		const json_t *v;

		pause_ms(200);
		err = ctl_request(req->socket, "worker.list", args, req->timeout_ms, &reply);
		if (err) {
			cli_ctl_error(req, err);
			break;
		}
		list = cli_reply_result(reply);
		v = list ? vip_entry(list, vip ? vip : "") : NULL;
		if (list && !v)
			fprintf(stderr, "%s: %s has no workers any more\n", CLI_PROG, vip);
		if (!v)
			state = SETTLE_FAILED;
		else if (restart)
			state = restart_state(v, num(result, "id"), num(result, "pid"), done,
					      sizeof(done));
		else
			state = scale_state(v, num(result, "count"), done, sizeof(done));
		json_decref(reply);
		if (state != SETTLE_RUNNING)
			break;
		if (now_ms() >= deadline) {
			fprintf(stderr,
				"%s: workers of %s still starting or stopping after %u s (see '%s "
				"worker list')\n",
				CLI_PROG, vip, req->wait_s, CLI_PROG);
			state = SETTLE_FAILED;
			break;
		}
	}
	json_decref(args);
	if (state != SETTLE_DONE)
		return 1;
	if (req->output == CLI_OUTPUT_TABLE)
		printf("%s\n", done);
	return 0;
}

int cli_wait(const struct cli_request *req, const json_t *result)
{
	if (strcmp(req->cmd, "host.drain") == 0)
		return wait_for_drain(req);
	if (strcmp(req->cmd, "worker.restart") == 0)
		return wait_for_workers(req, result, true);
	if (strcmp(req->cmd, "worker.scale") == 0)
		return wait_for_workers(req, result, false);
	return wait_for_reload(req, json_object_get(result, "started"));
}
