// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Prometheus metrics: every name starts with bouncer_, counters end in
 * _total, sizes are bytes.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/http.h>

#include "common/addr.h"
#include "daemon.h"
#include "http_limits.h"
#include "common/log.h"
#include "metrics.h"
#include "status_page.h"
#include "common/util.h"

#ifndef BOUNCER_VERSION
#define BOUNCER_VERSION "0.1"
#endif

struct metrics {
	struct evhttp *http;
	struct daemon *d;
	struct http_limits *limits;
	struct status_page *page; /* at /, unless the config turns it off */
};

enum metric_type {
	METRIC_COUNTER,
	METRIC_GAUGE,
};

static const char *const metric_type_names[] = {
	[METRIC_COUNTER] = "counter",
	[METRIC_GAUGE] = "gauge",
};

/* The values of one VIP, backend or local worker, read before anything
 * is printed; each metric family below prints one of them.
 */
struct sample {
	struct bnc_traffic traffic; /* VIPs and backends: from the stats maps */
	__u64 failing_open, announced, slots_changed; /* VIPs */
	__u64 up, admin, checks, failures, transitions; /* backends */
	__u64 restarts, state; /* local workers */
	char *labels; /* vip="web",backend="10.0.0.2",port="80"; malloc'ed */
	bool has_traffic; /* traffic was read */
};

/* A metric family: its HELP and TYPE, and the field of struct sample that
 * each object's sample shows.
 */
struct metric {
	const char *name;
	const char *help;
	size_t offset;
	/* A state set: a sample per state 0..nstates-1, labelled
	 * state="NAME", 1 for the state in the field and 0 for the others.
	 */
	const char *(*state_name)(int state);
	int nstates;
	enum metric_type type;
	bool traffic; /* no sample for an object whose traffic was not read */
};

#define METRIC(name_, type_, help_) .name = (name_), .type = METRIC_##type_, .help = (help_)
#define FIELD(field) .offset = offsetof(struct sample, field)
#define TRAFFIC(field) FIELD(traffic.field), .traffic = true
/* States 0..last, named by name_fn. */
#define STATES(name_fn, last) .state_name = (name_fn), .nstates = (last) + 1

static const char *admin_name(int admin)
{
	return cfg_admin_name((enum cfg_admin)admin);
}

static const char *worker_state_label(int state)
{
	return worker_state_name((enum worker_state)state);
}

static const struct metric vip_metrics[] = {
	{ METRIC("bouncer_vip_packets_total", COUNTER, "Packets to each VIP."), TRAFFIC(packets) },
	{ METRIC("bouncer_vip_bytes_total", COUNTER, "Bytes to each VIP."), TRAFFIC(bytes) },
	{ METRIC("bouncer_vip_failing_open", GAUGE,
		 "1 while a VIP has no healthy backend and sends to all not in maintenance."),
	  FIELD(failing_open) },
	{ METRIC("bouncer_vip_announced", GAUGE,
		 "1 while this host announces the VIP's address to its routers."),
	  FIELD(announced) },
	{ METRIC("bouncer_vip_ring_slots_changed", GAUGE,
		 "Ring slots that keep their previous backend since a change; their packets "
		 "read the flow table."),
	  FIELD(slots_changed) },
};

static const struct metric backend_traffic_metrics[] = {
	{ METRIC("bouncer_backend_packets_total", COUNTER, "Packets sent to each backend."),
	  TRAFFIC(packets) },
	{ METRIC("bouncer_backend_bytes_total", COUNTER, "Bytes sent to each backend."),
	  TRAFFIC(bytes) },
	{ METRIC("bouncer_backend_flows_total", COUNTER,
		 "Flows the ring placed on each backend (new, or moved off a down one)."),
	  TRAFFIC(flows) },
};

static const struct metric backend_health_metrics[] = {
	{ METRIC("bouncer_backend_up", GAUGE,
		 "1 when the backend's health check passes (or it has none)."),
	  FIELD(up) },
	{ METRIC("bouncer_backend_admin_state", GAUGE, "1 for the backend's administrative state."),
	  FIELD(admin), STATES(admin_name, CFG_ADMIN_MAINT) },
	{ METRIC("bouncer_backend_checks_total", COUNTER, "Health checks completed."),
	  FIELD(checks) },
	{ METRIC("bouncer_backend_check_failures_total", COUNTER, "Health checks failed."),
	  FIELD(failures) },
	{ METRIC("bouncer_backend_transitions_total", COUNTER, "Changes between up and down."),
	  FIELD(transitions) },
};

static const struct metric worker_metrics[] = {
	{ METRIC("bouncer_worker_restarts_total", COUNTER,
		 "Times each local worker was started again after it exited."),
	  FIELD(restarts) },
	{ METRIC("bouncer_worker_state", GAUGE, "1 for the local worker's state."), FIELD(state),
	  STATES(worker_state_label, WORKER_STOPPED) },
};

/* bouncer_flow_lookups_total: three of the global counters, by result. */
static const struct {
	const char *result;
	enum bnc_stat stat;
} flow_lookups[] = {
	{ "cache_hit", BNC_STAT_FLOW_CACHE_HIT },
	{ "hit", BNC_STAT_FLOW_HIT },
	{ "miss", BNC_STAT_FLOW_MISS },
};

static void help_type(FILE *f, const char *name, enum metric_type type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, metric_type_names[type]);
}

/* m's samples for one object: one, or one per state. */
static void print_samples(FILE *f, const struct metric *m, const struct sample *s)
{
	__u64 v;

	if (m->traffic && !s->has_traffic)
		return;
	memcpy(&v, (const char *)s + m->offset, sizeof(v));
	if (!m->state_name) {
		fprintf(f, "%s{%s} %llu\n", m->name, s->labels, (unsigned long long)v);
		return;
	}
	for (int st = 0; st < m->nstates; st++)
		fprintf(f, "%s{%s,state=\"%s\"} %d\n", m->name, s->labels, m->state_name(st),
			v == (__u64)st);
}

/* Family by family: HELP and TYPE, then the family's sample for each
 * object, as Prometheus' text format wants them.
 */
static void render_by_family(FILE *f, const struct metric *ms, size_t nms, const struct sample *ss,
			     size_t nss)
{
	for (size_t i = 0; i < nms; i++) {
		help_type(f, ms[i].name, ms[i].type, ms[i].help);
		for (size_t j = 0; j < nss; j++)
			print_samples(f, &ms[i], &ss[j]);
	}
}

/* A VIP name as a label value: the text format escapes backslash, double
 * quote and newline. A name the config accepted has none of them; one
 * that came another way must still not break the exposition.
 */
static const char *label_value(const char *in, char *buf, size_t len)
{
	size_t n = 0;

	for (; *in && n + 3 < len; in++) {
		if (*in == '\n') {
			buf[n++] = '\\';
			buf[n++] = 'n';
		} else if (*in == '\\' || *in == '"') {
			buf[n++] = '\\';
			buf[n++] = *in;
		} else {
			buf[n++] = *in;
		}
	}
	buf[n] = '\0';
	return buf;
}

/* The longest VIP name a label takes, escaped, with room to spare. */
#define LABEL_MAX 512

/* A new string, or NULL. */
static char *backend_labels(const struct backend_rt *b)
{
	char addr[ADDR_STRLEN], vip[LABEL_MAX];

	label_value(b->vip->name, vip, sizeof(vip));
	/* A local worker by its id: its port changes with every reload. */
	if (b->local)
		return format("vip=\"%s\",backend=\"worker/%u\",port=\"\"", vip, b->worker_id);
	addr_format(b->addr, b->family, addr, sizeof(addr));
	return format("vip=\"%s\",backend=\"%s\",port=\"%u\"", vip, addr, b->port);
}

/* The samples of every VIP, every backend and every local worker that
 * has one, each in the daemon's order.
 */
struct samples {
	struct sample *vips, *backends, *workers;
	size_t nvips, nbackends, nworkers;
};

static void samples_free(struct samples *ss)
{
	for (size_t i = 0; i < ss->nvips; i++)
		free(ss->vips[i].labels);
	for (size_t i = 0; i < ss->nbackends; i++)
		free(ss->backends[i].labels);
	for (size_t i = 0; i < ss->nworkers; i++)
		free(ss->workers[i].labels);
	free(ss->vips);
}

static int samples_read(struct daemon *d, struct samples *out)
{
	struct health_check_stats hs;
	size_t nbackends = 0, i, j;
	struct worker_info w;
	char vip[LABEL_MAX];
	struct sample *s;

	for (i = 0; i < d->nvips; i++)
		nbackends += d->vips[i]->nbackends;
	/* The workers' samples: at most one per backend. */
	s = calloc(d->nvips + 2 * nbackends + 1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	*out = (struct samples){ .vips = s };
	out->backends = out->vips + d->nvips;
	out->workers = out->backends + nbackends;
	for (i = 0; i < d->nvips; i++) {
		const struct vip_rt *v = d->vips[i];

		s = &out->vips[out->nvips++];
		s->labels = format("vip=\"%s\"", label_value(v->name, vip, sizeof(vip)));
		if (!s->labels)
			goto fail;
		s->has_traffic = bnc_maps_vip_stats(d->maps, v->vip_id, &s->traffic) == 0;
		s->failing_open = v->failing_open;
		s->announced = daemon_vip_announced(d, v);
		s->slots_changed = v->changed_slots;
	}
	for (i = 0; i < d->nvips; i++)
		for (j = 0; j < d->vips[i]->nbackends; j++) {
			const struct backend_rt *b = d->vips[i]->backends[j];

			s = &out->backends[out->nbackends++];
			s->labels = backend_labels(b);
			if (!s->labels)
				goto fail;
			s->has_traffic = bnc_maps_backend_stats(d->maps, b->id, &s->traffic) == 0;
			s->up = b->healthy;
			s->admin = b->admin;
			memset(&hs, 0, sizeof(hs));
			if (b->hc)
				health_check_get_stats(b->hc, &hs);
			s->checks = hs.checks;
			s->failures = hs.failures;
			s->transitions = hs.transitions;
			if (!b->local || !daemon_worker_info(b, &w))
				continue;
			s = &out->workers[out->nworkers++];
			s->labels = format("vip=\"%s\",worker=\"%u\"",
					   label_value(b->vip->name, vip, sizeof(vip)), w.id);
			if (!s->labels)
				goto fail;
			s->restarts = w.restarts;
			s->state = w.state;
		}
	return 0;

fail:
	samples_free(out);
	return -ENOMEM;
}

int metrics_render(struct daemon *d, FILE *f)
{
	struct bnc_global_stats g;
	struct samples s;

	if (samples_read(d, &s))
		return -ENOMEM;
	help_type(f, "bouncer_build_info", METRIC_GAUGE, "Version of the running agent.");
	fprintf(f, "bouncer_build_info{version=\"%s\"} 1\n", BOUNCER_VERSION);
	help_type(f, "bouncer_start_time_seconds", METRIC_GAUGE,
		  "When the agent started (Unix time).");
	fprintf(f, "bouncer_start_time_seconds %lld\n", (long long)d->started);

	if (bnc_maps_global_stats(d->maps, &g) == 0) {
		help_type(f, "bouncer_datapath_packets_total", METRIC_COUNTER,
			  "Packets by what the XDP program did with them.");
		for (int i = 0; i < BNC_STAT_MAX; i++)
			fprintf(f, "bouncer_datapath_packets_total{reason=\"%s\"} %llu\n",
				bnc_stat_name((enum bnc_stat)i), (unsigned long long)g.counters[i]);
		help_type(f, "bouncer_flow_lookups_total", METRIC_COUNTER,
			  "Flow look-ups of new and established packets, by result.");
		for (size_t i = 0; i < ARRAY_SIZE(flow_lookups); i++)
			fprintf(f, "bouncer_flow_lookups_total{result=\"%s\"} %llu\n",
				flow_lookups[i].result,
				(unsigned long long)g.counters[flow_lookups[i].stat]);
	}
	if (d->flow_watch.sampled) {
		const struct flow_watch *w = &d->flow_watch;

		/* Sampled by the agent's tick (see flow_watch.h): counting a
		 * table of millions of entries on every scrape would cost a
		 * second each time. The table is LRU: full, it evicts the flows
		 * idle longest, which may still be open.
		 */
		help_type(f, "bouncer_flow_table_entries", METRIC_GAUGE,
			  "Entries in use in the flow table, by address family (sampled).");
		fprintf(f, "bouncer_flow_table_entries{family=\"ipv4\"} %llu\n",
			(unsigned long long)w->usage.ipv4);
		fprintf(f, "bouncer_flow_table_entries{family=\"ipv6\"} %llu\n",
			(unsigned long long)w->usage.ipv6);
		help_type(f, "bouncer_flow_table_size", METRIC_GAUGE,
			  "Entries the flow table holds, by address family.");
		fprintf(f, "bouncer_flow_table_size{family=\"ipv4\"} %u\n", w->usage.size4);
		fprintf(f, "bouncer_flow_table_size{family=\"ipv6\"} %u\n", w->usage.size6);
		help_type(f, "bouncer_flow_table_cpu_share", METRIC_GAUGE,
			  "Entries the flow table holds for the flows one CPU sees first.");
		fprintf(f, "bouncer_flow_table_cpu_share{family=\"ipv4\"} %u\n", w->cpu_share4);
		fprintf(f, "bouncer_flow_table_cpu_share{family=\"ipv6\"} %u\n", w->cpu_share6);
		help_type(f, "bouncer_flow_table_evictions_total", METRIC_COUNTER,
			  "Entries the flow table evicted to make room, estimated from inserts "
			  "and fill.");
		fprintf(f, "bouncer_flow_table_evictions_total %llu\n", w->evictions);
	}
	help_type(f, "bouncer_host_drained", METRIC_GAUGE,
		  "1 while the host is drained (bouncerctl host drain): it announces nothing.");
	fprintf(f, "bouncer_host_drained %d\n", d->host_drained);
	render_by_family(f, vip_metrics, ARRAY_SIZE(vip_metrics), s.vips, s.nvips);
	help_type(f, "bouncer_fail_open_events_total", METRIC_COUNTER,
		  "Times a VIP started failing open.");
	fprintf(f, "bouncer_fail_open_events_total %llu\n",
		(unsigned long long)d->fail_open_events);
	render_by_family(f, backend_traffic_metrics, ARRAY_SIZE(backend_traffic_metrics),
			 s.backends, s.nbackends);
	render_by_family(f, backend_health_metrics, ARRAY_SIZE(backend_health_metrics), s.backends,
			 s.nbackends);
	render_by_family(f, worker_metrics, ARRAY_SIZE(worker_metrics), s.workers, s.nworkers);
	samples_free(&s);
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
	struct evhttp_bound_socket *bound;
	int ret;

	if (!m)
		return -ENOMEM;
	m->d = d;
	m->http = evhttp_new(d->base);
	if (!m->http || evhttp_set_cb(m->http, "/metrics", on_request, m)) {
		metrics_stop(m);
		return -ENOMEM;
	}
	evhttp_set_gencb(m->http, on_other, m);
	bound = evhttp_bind_socket_with_handle(m->http, d->cfg->metrics_addr, d->cfg->metrics_port);
	if (!bound) {
		log_errx("metrics: cannot listen on %s port %u", d->cfg->metrics_addr,
			 d->cfg->metrics_port);
		metrics_stop(m);
		return -EADDRINUSE;
	}
	/* The page's routes exist even when it is off: the config may turn
	 * it on at a reload, and each route answers 404 while it is off.
	 */
	ret = http_limits_apply(m->http, bound, d->base, HTTP_MAX_CONNS, &m->limits);
	if (!ret)
		ret = status_page_attach(m->http, d, &m->page);
	if (ret) {
		metrics_stop(m);
		return ret;
	}
	log_info("metrics: http://%s:%u/metrics", d->cfg->metrics_addr, d->cfg->metrics_port);
	if (d->cfg->status_page)
		log_info("status page: http://%s:%u/", d->cfg->metrics_addr, d->cfg->metrics_port);
	*out = m;
	return 0;
}

void metrics_stop(struct metrics *m)
{
	if (!m)
		return;
	if (m->http)
		evhttp_free(m->http);
	/* After the connections that use them have gone with the evhttp. */
	status_page_free(m->page);
	http_limits_free(m->limits);
	free(m);
}
