// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The status page's routes (status_page.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "common/util.h"
#include "daemon.h"
#include "status_page.h"
#include "status_watch.h"
/* Generated from status_page.{html,js,css} (scripts/embed.sh). */
#include "status_assets.h"

struct status_page {
	struct daemon *d;
	struct status_watch *watch;
	char *json; /* the last status.json, shared until it is too old */
	size_t json_len;
	int64_t json_ms;
};

/* What a security scanner expects of a page like this one: nothing from
 * anywhere else, no inline script or style, no framing, no MIME sniffing,
 * no referrer sent on.
 */
static const struct {
	const char *name, *value;
} safety_headers[] = {
	{ "Content-Security-Policy",
	  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
	  "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'" },
	{ "X-Content-Type-Options", "nosniff" },
	{ "X-Frame-Options", "DENY" },
	{ "Referrer-Policy", "no-referrer" },
	{ "Cross-Origin-Resource-Policy", "same-origin" },
};

static bool page_on(const struct status_page *p)
{
	return p->d->cfg->status_page;
}

/* GET or HEAD, and the page on; else the error is sent. */
static bool may_answer(struct evhttp_request *req, const struct status_page *p)
{
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);

	if (!page_on(p)) {
		evhttp_send_error(req, 404, "Not Found");
		return false;
	}
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		evhttp_send_error(req, 405, "Method Not Allowed");
		return false;
	}
	return true;
}

/* static_data: lives as long as the agent, and is sent without a copy. */
static void send_body(struct evhttp_request *req, const char *type, const char *cache,
		      const void *data, size_t len, bool static_data)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evbuffer *body = evbuffer_new();

	if (!body || (static_data ? evbuffer_add_reference(body, data, len, NULL, NULL)
				  : evbuffer_add(body, data, len))) {
		if (body)
			evbuffer_free(body);
		evhttp_send_error(req, 500, "Internal Server Error");
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(safety_headers); i++)
		evhttp_add_header(h, safety_headers[i].name, safety_headers[i].value);
	evhttp_add_header(h, "Content-Type", type);
	evhttp_add_header(h, "Cache-Control", cache);
	evhttp_send_reply(req, 200, "OK", body);
	evbuffer_free(body);
}

/* The page and its script and style: revalidated on each load, so that
 * an upgraded agent's page is the one shown.
 */
#define ASSET_CACHE "no-cache"

static void on_html(struct evhttp_request *req, void *arg)
{
	if (may_answer(req, arg))
		send_body(req, "text/html; charset=utf-8", ASSET_CACHE, status_page_html,
			  sizeof(status_page_html), true);
}

static void on_js(struct evhttp_request *req, void *arg)
{
	if (may_answer(req, arg))
		send_body(req, "text/javascript; charset=utf-8", ASSET_CACHE, status_page_js,
			  sizeof(status_page_js), true);
}

static void on_css(struct evhttp_request *req, void *arg)
{
	if (may_answer(req, arg))
		send_body(req, "text/css; charset=utf-8", ASSET_CACHE, status_page_css,
			  sizeof(status_page_css), true);
}

/* Browsers ask for it by themselves: nothing, rather than an error in
 * their console.
 */
static void on_favicon(struct evhttp_request *req, void *arg)
{
	if (may_answer(req, arg))
		evhttp_send_reply(req, 204, "No Content", NULL);
}

/* A read-only control command's result, or null when it failed. */
static json_t *ctl_result(struct daemon *d, const char *cmd, const json_t *args)
{
	json_t *reply = daemon_ctl_handle(cmd, args, d), *r = NULL;

	if (reply && json_is_true(json_object_get(reply, "ok")))
		r = json_incref(json_object_get(reply, "result"));
	json_decref(reply);
	return r ? r : json_null();
}

static char *build_json(struct status_page *p, size_t *len)
{
	json_t *flows = json_pack("{s:b}", "flows", 1), *j;
	struct daemon *d = p->d;
	struct timespec now;
	char *text;

	/* Milliseconds: clients tell one build from the next by it. */
	clock_gettime(CLOCK_REALTIME, &now);
	status_watch_poll(p->watch);
	j = json_pack(
		"{s:I, s:i, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "generated_ms",
		(json_int_t)now.tv_sec * 1000 + now.tv_nsec / 1000000, "refresh_ms", 1000, "status",
		ctl_result(d, "status", NULL), "stats", ctl_result(d, "stats", flows), "vips",
		ctl_result(d, "vip.list", NULL), "backends", ctl_result(d, "backend.list", NULL),
		"workers", ctl_result(d, "worker.list", NULL), "history",
		status_watch_history_json(p->watch), "events", status_watch_events_json(p->watch));
	json_decref(flows);
	if (!j)
		return NULL;
	/* Six digits are plenty for a rate; jansson's default is 17. */
	text = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(6));
	json_decref(j);
	if (text)
		*len = strlen(text);
	return text;
}

static void on_json(struct evhttp_request *req, void *arg)
{
	struct status_page *p = arg;
	int64_t now = now_ms();
	size_t len = 0;
	char *text;

	if (!may_answer(req, p))
		return;
	if (!p->json || now - p->json_ms >= STATUS_JSON_MAX_AGE_MS) {
		text = build_json(p, &len);
		if (!text) {
			evhttp_send_error(req, 500, "Internal Server Error");
			return;
		}
		free(p->json);
		p->json = text;
		p->json_len = len;
		p->json_ms = now;
	}
	/* Copied: a slow client may still be sent it after the next build
	 * freed it.
	 */
	send_body(req, "application/json", "no-store", p->json, p->json_len, false);
}

int status_page_attach(struct evhttp *http, struct daemon *d, struct status_page **out)
{
	struct status_page *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	p->d = d;
	p->watch = status_watch_new(d);
	if (!p->watch || evhttp_set_cb(http, "/", on_html, p) ||
	    evhttp_set_cb(http, "/status.js", on_js, p) ||
	    evhttp_set_cb(http, "/status.css", on_css, p) ||
	    evhttp_set_cb(http, "/status.json", on_json, p) ||
	    evhttp_set_cb(http, "/favicon.ico", on_favicon, p)) {
		status_page_free(p);
		return -ENOMEM;
	}
	*out = p;
	return 0;
}

void status_page_free(struct status_page *p)
{
	if (!p)
		return;
	status_watch_free(p->watch);
	free(p->json);
	free(p);
}
