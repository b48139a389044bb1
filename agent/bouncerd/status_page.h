/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The status page on the metrics listener: / (HTML), /status.js,
 * /status.css, built into the agent from status_page.{html,js,css}, and
 * /status.json, which the page's script fetches every second. The JSON is
 * the replies of the control socket's read-only commands (what bouncerctl
 * top asks for: status, stats with the flow table, vip.list,
 * backend.list, worker.list) plus status_watch's history and events. It
 * is built at most once per STATUS_JSON_MAX_AGE_MS and shared by every
 * client, so ten open tabs cost what one does. Off (404) when the
 * config's metrics block says status_page = false.
 */
#ifndef BOUNCER_STATUS_PAGE_H
#define BOUNCER_STATUS_PAGE_H

#include <event2/http.h>

struct daemon;
struct status_page;

#define STATUS_JSON_MAX_AGE_MS 500

/* Adds the routes to http. 0 or -ENOMEM. */
int status_page_attach(struct evhttp *http, struct daemon *d, struct status_page **out);
/* After evhttp_free(). */
void status_page_free(struct status_page *p);

#endif /* BOUNCER_STATUS_PAGE_H */
