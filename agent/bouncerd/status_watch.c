// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The status page's history and events (status_watch.h): the model
 * compared with its last look, once a second.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/addr.h"
#include "common/util.h"
#include "daemon.h"
#include "status_watch.h"

/* What an event may be about: the page colours and filters by it. */
#define KIND_BACKEND "backend"
#define KIND_WORKER "worker"
#define KIND_VIP "vip"
#define KIND_AGENT "agent"

/* One backend or local worker as last seen. */
struct seen_backend {
	char *vip;
	__u32 id;
	bool local;
	unsigned int worker_id;
	char label[ADDR_STRLEN + 16]; /* "10.0.0.2:80", "[fd00::2]:80", "worker 1" */
	const char *health; /* daemon_backend_health(): a static string */
	enum cfg_admin admin;
	pid_t pid; /* local: 0 when not running */
	enum worker_state state;
	unsigned int restarts;
};

/* One VIP as last seen, and its history. */
struct seen_vip {
	char *name;
	bool failing_open;
	bool reloading;
	/* A ring of samples; head is the next to write. */
	float pps[STATUS_HISTORY], bps[STATUS_HISTORY], fps[STATUS_HISTORY];
	size_t head, n;
};

struct status_event {
	time_t at;
	const char *kind;
	char text[STATUS_EVENT_TEXT];
};

struct status_watch {
	struct daemon *d;
	struct event *tick;
	bool started; /* the first look is the baseline, not events */
	unsigned int reloads;
	const char *host_state;
	struct seen_vip **vips;
	size_t nvips;
	struct seen_backend *backends;
	size_t nbackends;
	/* A ring of events; head is the next to write. */
	struct status_event events[STATUS_EVENTS];
	size_t ev_head, nevents;
};

static void event_add_text(struct status_watch *w, const char *kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void event_add_text(struct status_watch *w, const char *kind, const char *fmt, ...)
{
	struct status_event *e = &w->events[w->ev_head];
	va_list ap;

	e->at = time(NULL);
	e->kind = kind;
	va_start(ap, fmt);
	vsnprintf(e->text, sizeof(e->text), fmt, ap);
	va_end(ap);
	w->ev_head = (w->ev_head + 1) % STATUS_EVENTS;
	if (w->nevents < STATUS_EVENTS)
		w->nevents++;
}

static void backend_label(const struct backend_rt *b, char *buf, size_t len)
{
	char addr[ADDR_STRLEN];

	if (b->local) {
		snprintf(buf, len, "worker %u", b->worker_id);
		return;
	}
	addr_format(b->addr, b->family, addr, sizeof(addr));
	snprintf(buf, len, b->family == BNC_FAMILY_IPV6 ? "[%s]:%u" : "%s:%u", addr, b->port);
}

static void seen_backend_free(struct seen_backend *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(s[i].vip);
	free(s);
}

static void seen_vip_free(struct seen_vip *v)
{
	if (v) {
		free(v->name);
		free(v);
	}
}

static const struct seen_backend *find_backend(const struct status_watch *w, const char *vip,
					       __u32 id)
{
	for (size_t i = 0; i < w->nbackends; i++)
		if (w->backends[i].id == id && !strcmp(w->backends[i].vip, vip))
			return &w->backends[i];
	return NULL;
}

static struct seen_vip *find_vip(const struct status_watch *w, const char *name)
{
	/* NULL: taken over by this look already. */
	for (size_t i = 0; i < w->nvips; i++)
		if (w->vips[i] && !strcmp(w->vips[i]->name, name))
			return w->vips[i];
	return NULL;
}

/* What became of a local worker since the last look. */
static void worker_events(struct status_watch *w, const struct seen_backend *o,
			  const struct seen_backend *n)
{
	const char *vip = n->vip;
	unsigned int id = n->worker_id;

	if (n->restarts > o->restarts) {
		/* It exited (restarts counts exits that are restarted or
		 * judged): say what comes next.
		 */
		if (n->state == WORKER_READY && n->pid > 0 && n->pid != o->pid)
			event_add_text(w, KIND_WORKER,
				       "%s: worker %u (pid %d) exited; restarted as pid %d", vip,
				       id, (int)o->pid, (int)n->pid);
		else if (n->state == WORKER_BACKOFF)
			event_add_text(w, KIND_WORKER,
				       "%s: worker %u (pid %d) exited; restart after a back-off",
				       vip, id, (int)o->pid);
		else if (n->state == WORKER_FAILED)
			event_add_text(w, KIND_WORKER,
				       "%s: worker %u (pid %d) exited; failed, not restarted", vip,
				       id, (int)o->pid);
		else
			event_add_text(w, KIND_WORKER, "%s: worker %u (pid %d) exited; restarting",
				       vip, id, (int)o->pid);
		return;
	}
	if (n->state != o->state) {
		if (n->state == WORKER_READY)
			event_add_text(w, KIND_WORKER, "%s: worker %u ready as pid %d", vip, id,
				       (int)n->pid);
		else if (n->state == WORKER_FAILED)
			event_add_text(w, KIND_WORKER, "%s: worker %u failed, not restarted", vip,
				       id);
		else if (n->state == WORKER_STOPPED)
			event_add_text(w, KIND_WORKER, "%s: worker %u stopped", vip, id);
		return;
	}
	if (n->state == WORKER_READY && n->pid != o->pid)
		event_add_text(w, KIND_WORKER, "%s: worker %u replaced: pid %d, then pid %d", vip,
			       id, (int)o->pid, (int)n->pid);
}

static void backend_events(struct status_watch *w, const struct seen_backend *o,
			   const struct seen_backend *n)
{
	if (!o) {
		event_add_text(w, n->local ? KIND_WORKER : KIND_BACKEND, "%s: %s added", n->vip,
			       n->label);
		return;
	}
	if (n->local) {
		worker_events(w, o, n);
		return;
	}
	if (strcmp(o->health, n->health))
		event_add_text(w, KIND_BACKEND, "%s: backend %s %s", n->vip, n->label, n->health);
	if (o->admin != n->admin)
		event_add_text(w, KIND_BACKEND, "%s: backend %s set to %s", n->vip, n->label,
			       cfg_admin_name(n->admin));
}

/* The model's backends now, each compared with its last look. */
static int look_backends(struct status_watch *w, bool report)
{
	struct daemon *d = w->d;
	struct seen_backend *now;
	size_t n = 0, total = 0;

	for (size_t i = 0; i < d->nvips; i++)
		total += d->vips[i]->nbackends;
	now = calloc(total + 1, sizeof(*now));
	if (!now)
		return -ENOMEM;
	for (size_t i = 0; i < d->nvips; i++) {
		for (size_t j = 0; j < d->vips[i]->nbackends; j++) {
			const struct backend_rt *b = d->vips[i]->backends[j];
			struct seen_backend *s = &now[n];
			struct worker_info wi = { .id = b->worker_id, .state = b->worker_state };

			s->vip = strdup(b->vip->name);
			if (!s->vip) {
				seen_backend_free(now, n);
				return -ENOMEM;
			}
			n++;
			s->id = b->id;
			s->local = b->local;
			s->worker_id = b->worker_id;
			backend_label(b, s->label, sizeof(s->label));
			s->health = daemon_backend_health(b);
			s->admin = b->admin;
			if (b->local) {
				daemon_worker_info(b, &wi);
				s->pid = wi.pid;
				s->state = wi.state;
				s->restarts = wi.restarts;
			}
			if (report)
				backend_events(w, find_backend(w, s->vip, s->id), s);
		}
	}
	for (size_t i = 0; report && i < w->nbackends; i++) {
		const struct seen_backend *o = &w->backends[i];
		bool gone = true;

		for (size_t j = 0; j < n && gone; j++)
			gone = !(now[j].id == o->id && !strcmp(now[j].vip, o->vip));
		/* A VIP's removal says it for all its backends. */
		if (gone && daemon_vip_find(d, o->vip))
			event_add_text(w, o->local ? KIND_WORKER : KIND_BACKEND, "%s: %s removed",
				       o->vip, o->label);
	}
	seen_backend_free(w->backends, w->nbackends);
	w->backends = now;
	w->nbackends = n;
	return 0;
}

/* The model's VIPs now: history kept for those that stay. */
static int look_vips(struct status_watch *w, bool report, bool sample)
{
	struct daemon *d = w->d;
	struct seen_vip **now = calloc(d->nvips + 1, sizeof(struct seen_vip *));

	if (!now)
		return -ENOMEM;
	for (size_t i = 0; i < d->nvips; i++) {
		const struct vip_rt *v = d->vips[i];
		struct seen_vip *s = find_vip(w, v->name);

		if (s) {
			/* Taken over: out of the old list. */
			for (size_t j = 0; j < w->nvips; j++)
				if (w->vips[j] == s)
					w->vips[j] = NULL;
		} else {
			s = calloc(1, sizeof(*s));
			if (s)
				s->name = strdup(v->name);
			if (!s || !s->name) {
				seen_vip_free(s);
				for (size_t j = 0; j < i; j++)
					seen_vip_free(now[j]);
				free(now);
				return -ENOMEM;
			}
			s->failing_open = v->failing_open;
			s->reloading = v->workers_reloading;
			if (report)
				event_add_text(w, KIND_VIP, "%s: VIP added", v->name);
		}
		if (report && s->failing_open != v->failing_open)
			event_add_text(w, KIND_VIP,
				       v->failing_open
					       ? "%s: no healthy backend: failing open to all"
					       : "%s: healthy backends again: failing open ended",
				       v->name);
		if (report && s->reloading != v->workers_reloading)
			event_add_text(w, KIND_WORKER,
				       v->workers_reloading ? "%s: rolling reload of the workers"
							    : "%s: rolling reload done: %s",
				       v->name,
				       v->workers_last_reload ? v->workers_last_reload : "ok");
		s->failing_open = v->failing_open;
		s->reloading = v->workers_reloading;
		if (sample) {
			s->pps[s->head] = (float)v->pps;
			s->bps[s->head] = (float)v->bps;
			s->fps[s->head] = (float)v->fps;
			s->head = (s->head + 1) % STATUS_HISTORY;
			if (s->n < STATUS_HISTORY)
				s->n++;
		}
		now[i] = s;
	}
	for (size_t j = 0; j < w->nvips; j++) {
		if (w->vips[j] && report)
			event_add_text(w, KIND_VIP, "%s: VIP removed", w->vips[j]->name);
		seen_vip_free(w->vips[j]);
	}
	free(w->vips);
	w->vips = now;
	w->nvips = d->nvips;
	return 0;
}

static void look(struct status_watch *w, bool sample)
{
	struct daemon *d = w->d;
	bool report = w->started;
	const char *host = daemon_host_state(d);

	if (!report)
		event_add_text(w, KIND_AGENT, "agent serving %zu VIP%s", d->nvips,
			       d->nvips == 1 ? "" : "s");
	if (report && d->reloads != w->reloads)
		event_add_text(w, KIND_AGENT, "config reloaded (%s)", d->cfg->path);
	w->reloads = d->reloads;
	if (report && strcmp(host, w->host_state))
		event_add_text(w, KIND_AGENT, "host %s", host);
	w->host_state = host;
	/* Out of memory: the next look tries again, against the last. */
	if (look_vips(w, report, sample) || look_backends(w, report))
		return;
	w->started = true;
}

void status_watch_poll(struct status_watch *w)
{
	look(w, false);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	look(arg, true);
}

struct status_watch *status_watch_new(struct daemon *d)
{
	struct status_watch *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->d = d;
	w->host_state = daemon_host_state(d);
	w->tick = event_new(d->base, -1, EV_PERSIST, on_tick, w);
	if (!w->tick || event_add(w->tick, &(struct timeval){ .tv_sec = 1 })) {
		status_watch_free(w);
		return NULL;
	}
	look(w, false);
	return w;
}

void status_watch_free(struct status_watch *w)
{
	if (!w)
		return;
	if (w->tick)
		event_free(w->tick);
	for (size_t i = 0; i < w->nvips; i++)
		seen_vip_free(w->vips[i]);
	free(w->vips);
	seen_backend_free(w->backends, w->nbackends);
	free(w);
}

json_t *status_watch_events_json(const struct status_watch *w)
{
	json_t *list = json_array();

	for (size_t i = 0; list && i < w->nevents; i++) {
		const struct status_event *e =
			&w->events[(w->ev_head + STATUS_EVENTS - 1 - i) % STATUS_EVENTS];

		json_array_append_new(list, json_pack("{s:I, s:s, s:s}", "t", (json_int_t)e->at,
						      "kind", e->kind, "text", e->text));
	}
	return list;
}

static json_t *series(const float *ring, size_t head, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++)
		json_array_append_new(
			a, json_real(ring[(head + STATUS_HISTORY - n + i) % STATUS_HISTORY]));
	return a;
}

json_t *status_watch_history_json(const struct status_watch *w)
{
	json_t *vips = json_array();

	for (size_t i = 0; vips && i < w->nvips; i++) {
		const struct seen_vip *s = w->vips[i];

		json_array_append_new(vips, json_pack("{s:s, s:o, s:o, s:o}", "name", s->name,
						      "pps", series(s->pps, s->head, s->n), "bps",
						      series(s->bps, s->head, s->n), "fps",
						      series(s->fps, s->head, s->n)));
	}
	return json_pack("{s:i, s:o}", "interval_s", 1, "vips", vips ? vips : json_array());
}
