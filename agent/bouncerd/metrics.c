// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Prometheus metrics: every name starts with bouncer_, counters end in
 * _total, sizes are bytes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/http.h>

#include "common/addr.h"
#include "daemon.h"
#include "common/log.h"
#include "metrics.h"

#ifndef BOUNCER_VERSION
#define BOUNCER_VERSION "0.1"
#endif

struct metrics {
	struct evhttp *http;
	struct daemon *d;
};

static void help_type(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void backend_labels(const struct backend_rt *b, char *buf, size_t len)
{
	char addr[ADDR_STRLEN];

	/* A local worker by its id: its port changes with every reload. */
	if (b->local) {
		snprintf(buf, len, "vip=\"%s\",backend=\"worker/%u\",port=\"\"", b->vip->name,
			 b->worker_id);
		return;
	}
	addr_format(b->addr, b->family, addr, sizeof(addr));
	snprintf(buf, len, "vip=\"%s\",backend=\"%s\",port=\"%u\"", b->vip->name, addr, b->port);
}

static void render_workers(struct daemon *d, FILE *f)
{
	struct worker_info w;

	help_type(f, "bouncer_worker_restarts_total", "counter",
		  "Times each local worker was started again after it exited.");
	help_type(f, "bouncer_worker_state", "gauge", "1 for the local worker's state.");
	for (size_t i = 0; i < d->nvips; i++)
		for (size_t j = 0; j < d->vips[i]->nbackends; j++) {
			const struct backend_rt *b = d->vips[i]->backends[j];

			if (!b->local || !daemon_worker_info(b, &w))
				continue;
			fprintf(f, "bouncer_worker_restarts_total{vip=\"%s\",worker=\"%u\"} %u\n",
				b->vip->name, w.id, w.restarts);
			for (int st = WORKER_STARTING; st <= WORKER_STOPPED; st++)
				fprintf(f,
					"bouncer_worker_state{vip=\"%s\",worker=\"%u\",state=\"%"
					"s\"} "
					"%d\n",
					b->vip->name, w.id,
					worker_state_name((enum worker_state)st),
					(int)w.state == st);
		}
}

int metrics_render(struct daemon *d, FILE *f)
{
	struct bnc_global_stats g;
	struct health_check_stats hs;
	struct bnc_traffic t;
	char labels[256];

	help_type(f, "bouncer_build_info", "gauge", "Version of the running agent.");
	fprintf(f, "bouncer_build_info{version=\"%s\"} 1\n", BOUNCER_VERSION);
	help_type(f, "bouncer_start_time_seconds", "gauge", "When the agent started (Unix time).");
	fprintf(f, "bouncer_start_time_seconds %lld\n", (long long)d->started);

	if (bnc_maps_global_stats(d->maps, &g) == 0) {
		help_type(f, "bouncer_datapath_packets_total", "counter",
			  "Packets by what the XDP program did with them.");
		for (int i = 0; i < BNC_STAT_MAX; i++)
			fprintf(f, "bouncer_datapath_packets_total{reason=\"%s\"} %llu\n",
				bnc_stat_name((enum bnc_stat)i), (unsigned long long)g.counters[i]);
		help_type(f, "bouncer_flow_lookups_total", "counter",
			  "Flow look-ups of new and established packets, by result.");
		fprintf(f, "bouncer_flow_lookups_total{result=\"cache_hit\"} %llu\n",
			(unsigned long long)g.counters[BNC_STAT_FLOW_CACHE_HIT]);
		fprintf(f, "bouncer_flow_lookups_total{result=\"hit\"} %llu\n",
			(unsigned long long)g.counters[BNC_STAT_FLOW_HIT]);
		fprintf(f, "bouncer_flow_lookups_total{result=\"miss\"} %llu\n",
			(unsigned long long)g.counters[BNC_STAT_FLOW_MISS]);
	}
	help_type(f, "bouncer_vip_packets_total", "counter", "Packets to each VIP.");
	for (size_t i = 0; i < d->nvips; i++)
		if (bnc_maps_vip_stats(d->maps, d->vips[i]->vip_id, &t) == 0)
			fprintf(f, "bouncer_vip_packets_total{vip=\"%s\"} %llu\n", d->vips[i]->name,
				(unsigned long long)t.packets);
	help_type(f, "bouncer_vip_bytes_total", "counter", "Bytes to each VIP.");
	for (size_t i = 0; i < d->nvips; i++)
		if (bnc_maps_vip_stats(d->maps, d->vips[i]->vip_id, &t) == 0)
			fprintf(f, "bouncer_vip_bytes_total{vip=\"%s\"} %llu\n", d->vips[i]->name,
				(unsigned long long)t.bytes);
	help_type(f, "bouncer_vip_failing_open", "gauge",
		  "1 while a VIP has no healthy backend and sends to all not in maintenance.");
	for (size_t i = 0; i < d->nvips; i++)
		fprintf(f, "bouncer_vip_failing_open{vip=\"%s\"} %d\n", d->vips[i]->name,
			d->vips[i]->failing_open);
	help_type(f, "bouncer_fail_open_events_total", "counter",
		  "Times a VIP started failing open.");
	fprintf(f, "bouncer_fail_open_events_total %llu\n",
		(unsigned long long)d->fail_open_events);

	help_type(f, "bouncer_backend_packets_total", "counter", "Packets sent to each backend.");
	for (size_t i = 0; i < d->nvips; i++)
		for (size_t j = 0; j < d->vips[i]->nbackends; j++) {
			const struct backend_rt *b = d->vips[i]->backends[j];

			backend_labels(b, labels, sizeof(labels));
			if (bnc_maps_backend_stats(d->maps, b->id, &t) == 0)
				fprintf(f, "bouncer_backend_packets_total{%s} %llu\n", labels,
					(unsigned long long)t.packets);
		}
	help_type(f, "bouncer_backend_bytes_total", "counter", "Bytes sent to each backend.");
	for (size_t i = 0; i < d->nvips; i++)
		for (size_t j = 0; j < d->vips[i]->nbackends; j++) {
			const struct backend_rt *b = d->vips[i]->backends[j];

			backend_labels(b, labels, sizeof(labels));
			if (bnc_maps_backend_stats(d->maps, b->id, &t) == 0)
				fprintf(f, "bouncer_backend_bytes_total{%s} %llu\n", labels,
					(unsigned long long)t.bytes);
		}
	help_type(f, "bouncer_backend_flows_total", "counter",
		  "Flows the ring placed on each backend (new, or moved off a down one).");
	for (size_t i = 0; i < d->nvips; i++)
		for (size_t j = 0; j < d->vips[i]->nbackends; j++) {
			const struct backend_rt *b = d->vips[i]->backends[j];

			backend_labels(b, labels, sizeof(labels));
			if (bnc_maps_backend_stats(d->maps, b->id, &t) == 0)
				fprintf(f, "bouncer_backend_flows_total{%s} %llu\n", labels,
					(unsigned long long)t.flows);
		}
	help_type(f, "bouncer_backend_up", "gauge",
		  "1 when the backend's health check passes (or it has none).");
	help_type(f, "bouncer_backend_admin_state", "gauge",
		  "1 for the backend's administrative state.");
	help_type(f, "bouncer_backend_checks_total", "counter", "Health checks completed.");
	help_type(f, "bouncer_backend_check_failures_total", "counter", "Health checks failed.");
	help_type(f, "bouncer_backend_transitions_total", "counter",
		  "Changes between up and down.");
	for (size_t i = 0; i < d->nvips; i++)
		for (size_t j = 0; j < d->vips[i]->nbackends; j++) {
			const struct backend_rt *b = d->vips[i]->backends[j];

			backend_labels(b, labels, sizeof(labels));
			fprintf(f, "bouncer_backend_up{%s} %d\n", labels, b->healthy);
			for (int a = CFG_ADMIN_READY; a <= CFG_ADMIN_MAINT; a++)
				fprintf(f, "bouncer_backend_admin_state{%s,state=\"%s\"} %d\n",
					labels, cfg_admin_name((enum cfg_admin)a),
					(int)b->admin == a);
			memset(&hs, 0, sizeof(hs));
			if (b->hc)
				health_check_get_stats(b->hc, &hs);
			fprintf(f, "bouncer_backend_checks_total{%s} %llu\n", labels,
				(unsigned long long)hs.checks);
			fprintf(f, "bouncer_backend_check_failures_total{%s} %llu\n", labels,
				(unsigned long long)hs.failures);
			fprintf(f, "bouncer_backend_transitions_total{%s} %llu\n", labels,
				(unsigned long long)hs.transitions);
		}
	render_workers(d, f);
	return ferror(f) ? -EIO : 0;
}

static void on_request(struct evhttp_request *req, void *arg)
{
	struct metrics *m = arg;
	struct evbuffer *body;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
		evhttp_send_error(req, 405, "Method Not Allowed");
		return;
	}
	f = open_memstream(&text, &len);
	if (!f) {
		evhttp_send_error(req, 500, "Internal Server Error");
		return;
	}
	/* The text exists only after fclose(); a failed render or flush is
	 * an error either way.
	 */
	if (metrics_render(m->d, f) | fclose(f)) {
		free(text);
		evhttp_send_error(req, 500, "Internal Server Error");
		return;
	}
	body = evbuffer_new();
	if (!body) {
		free(text);
		evhttp_send_error(req, 500, "Internal Server Error");
		return;
	}
	evbuffer_add(body, text, len);
	free(text);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  "text/plain; version=0.0.4");
	evhttp_send_reply(req, 200, "OK", body);
	evbuffer_free(body);
}

static void on_other(struct evhttp_request *req, void *arg)
{
	(void)arg;
	evhttp_send_error(req, 404, "Not Found");
}

int metrics_start(struct daemon *d, struct metrics **out)
{
	struct metrics *m = calloc(1, sizeof(*m));

	if (!m)
		return -ENOMEM;
	m->d = d;
	m->http = evhttp_new(d->base);
	if (!m->http || evhttp_set_cb(m->http, "/metrics", on_request, m)) {
		metrics_stop(m);
		return -ENOMEM;
	}
	evhttp_set_gencb(m->http, on_other, m);
	if (evhttp_bind_socket(m->http, d->cfg->metrics_addr, d->cfg->metrics_port)) {
		log_warnx("metrics: cannot listen on %s port %u", d->cfg->metrics_addr,
			  d->cfg->metrics_port);
		metrics_stop(m);
		return -EADDRINUSE;
	}
	log_info("metrics: http://%s:%u/metrics", d->cfg->metrics_addr, d->cfg->metrics_port);
	*out = m;
	return 0;
}

void metrics_stop(struct metrics *m)
{
	if (!m)
		return;
	if (m->http)
		evhttp_free(m->http);
	free(m);
}
