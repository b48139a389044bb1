// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* bouncerctl top: samples of the agent's state built from its replies,
 * rendered as text, and the loop that refreshes them on a terminal (raw
 * mode and ANSI escapes, no curses: the screen is redrawn whole, which is
 * all curses would do here) or as plain lines on anything else.
 */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "common/addr.h"
#include "cli_top.h"
#include "common/ctl.h"
#include "common/util.h"

/* Sample */

struct top_backend {
	char *name; /* ADDR:PORT, or worker/ID for a local worker */
	__be32 addr[4]; /* for sorting by address; zero for a local worker */
	__u8 family;
	int port;
	long long worker; /* a local worker's id; -1: a remote backend */
	char *admin, *health;
	unsigned long long packets, bytes;
	double pps, Bps;
	unsigned long long placed; /* flows the ring placed here, counted */
	double fps; /* of those a second; NAN: unknown */
	/* Of the VIP's new flows over the last refresh, 0-1; of its ring when
	 * it had none; NAN: unknown.
	 */
	double share;
	long long flows; /* flow table entries; -1: unknown */
	long long restarts; /* of a local worker; -1: not one */
};

struct top_vip {
	char *name, *service;
	int up, total;
	bool failing_open;
	unsigned long long packets, bytes, placed;
	double pps, Bps, fps;
	long long flows; /* -1: unknown */
	unsigned long long slots_changed; /* ring slots with a previous backend */
	struct top_backend *backends;
	size_t nbackends;
};

struct top_sample {
	double time;
	char *version;
	/* The host's announcements: ready, draining or drained; NULL when
	 * the agent announces nothing.
	 */
	char *host_state;
	double uptime_s; /* NAN: unknown */
	json_t *global; /* the global counters */
	json_t *before; /* the previous sample's, for their growth; may be NULL */
	double dt; /* seconds since the previous sample; 0: none */
	double pps, Bps; /* all VIPs */
	double new_flows; /* flows placed a second, all VIPs; NAN: unknown */
	bool flow_table;
	unsigned long long flows4, flows6, size4, size6;
	/* The agent's last sample of the table's turnover; NAN: none. */
	double inserts_per_s, evictions_per_s;
	unsigned long long slots_changed; /* all VIPs */
	struct top_vip *vips;
	size_t nvips;
};

static const char *const sort_names[TOP_SORT_MAX] = {
	[TOP_SORT_NAME] = "name",
	[TOP_SORT_PPS] = "packets",
	[TOP_SORT_BPS] = "bytes",
	[TOP_SORT_SHARE] = "share",
};

const char *top_sort_name(enum top_sort sort)
{
	return (unsigned int)sort < TOP_SORT_MAX ? sort_names[sort] : "?";
}

static const char *str_field(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "-";
}

static unsigned long long count_field(const json_t *o, const char *key)
{
	json_int_t v = json_integer_value(json_object_get(o, key));

	return v > 0 ? (unsigned long long)v : 0;
}

static double num_field(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_number(v) ? json_number_value(v) : NAN;
}

/* ADDR:PORT, [ADDR]:PORT for IPv6. */
static void endpoint(const char *addr, int port, char *buf, size_t len)
{
	snprintf(buf, len, strchr(addr, ':') ? "[%s]:%d" : "%s:%d", addr, port);
}

/* Growth per second of a counter since the last sample; the agent's own
 * rate when there is none to compare with or the counter went back (the
 * backend was removed and added again).
 */
static double rate(unsigned long long now, const unsigned long long *before, double dt,
		   double agent)
{
	if (!before || now < *before || !(dt > 0))
		return agent;
	return (double)(now - *before) / dt;
}

static const struct top_vip *prev_vip(const struct top_sample *prev, const char *name)
{
	for (size_t i = 0; prev && i < prev->nvips; i++)
		if (strcmp(prev->vips[i].name, name) == 0)
			return &prev->vips[i];
	return NULL;
}

static const struct top_backend *prev_backend(const struct top_vip *pv, const char *name)
{
	for (size_t i = 0; pv && i < pv->nbackends; i++)
		if (strcmp(pv->backends[i].name, name) == 0)
			return &pv->backends[i];
	return NULL;
}

/* The element of stats' backends for b (same VIP, address and port). */
static const json_t *stats_backend(const json_t *stats, const json_t *b)
{
	const json_t *list = json_object_get(stats, "backends"), *s;
	size_t i;

	json_array_foreach(list, i, s)
	{
		if (strcmp(str_field(s, "vip"), str_field(b, "vip")) == 0 &&
		    strcmp(str_field(s, "address"), str_field(b, "address")) == 0 &&
		    count_field(s, "port") == count_field(b, "port"))
			return s;
	}
	return NULL;
}

static int backend_fill(struct top_backend *tb, const json_t *b, const json_t *stats,
			const struct top_vip *pv, double dt)
{
	const json_t *worker = json_object_get(b, "worker"), *s = stats_backend(stats, b);
	const struct top_backend *pb;
	const char *addr = str_field(b, "address");
	char ep[ADDR_STRLEN + 16];

	tb->port = (int)count_field(b, "port");
	tb->worker = -1;
	if (addr_parse(addr, tb->addr, &tb->family))
		tb->family = 0;
	/* A local worker's address is "local" and its port changes with each
	 * replacement: its id names it, as everywhere in bouncerctl, and
	 * matches it with the previous sample.
	 */
	if (json_is_true(json_object_get(b, "local")) &&
	    json_is_integer(json_object_get(worker, "id"))) {
		tb->worker = json_integer_value(json_object_get(worker, "id"));
		tb->name = format("worker/%lld", tb->worker);
	} else {
		endpoint(addr, tb->port, ep, sizeof(ep));
		tb->name = strdup(ep);
	}
	tb->admin = strdup(str_field(b, "admin"));
	tb->health = strdup(str_field(b, "health"));
	if (!tb->name || !tb->admin || !tb->health)
		return -ENOMEM;
	tb->packets = count_field(b, "packets");
	tb->bytes = count_field(b, "bytes");
	pb = prev_backend(pv, tb->name);
	tb->pps = rate(tb->packets, pb ? &pb->packets : NULL, dt, num_field(b, "pps"));
	tb->Bps = rate(tb->bytes, pb ? &pb->bytes : NULL, dt, num_field(b, "bps") / 8);
	tb->placed = count_field(b, "new_flows");
	tb->fps = rate(tb->placed, pb ? &pb->placed : NULL, dt, num_field(b, "fps"));
	tb->share = num_field(s, "share");
	tb->flows = json_is_integer(json_object_get(s, "flows"))
			    ? json_integer_value(json_object_get(s, "flows"))
			    : -1;
	tb->restarts = json_is_integer(json_object_get(worker, "restarts"))
			       ? json_integer_value(json_object_get(worker, "restarts"))
			       : -1;
	return 0;
}

static int vip_fill(struct top_vip *tv, const json_t *v, const struct top_replies *r,
		    const struct top_sample *prev, double dt)
{
	const json_t *list = json_object_get(r->backends, "backends"), *b;
	const struct top_vip *pv;
	char ep[ADDR_STRLEN + 16];
	size_t i, n = 0;

	endpoint(str_field(v, "address"), (int)count_field(v, "port"), ep, sizeof(ep));
	tv->name = strdup(str_field(v, "name"));
	tv->service = format("%s/%s", ep, str_field(v, "protocol"));
	if (!tv->name || !tv->service)
		return -ENOMEM;
	tv->up = (int)count_field(v, "backends_up");
	tv->total = (int)count_field(v, "backends_total");
	tv->failing_open = json_is_true(json_object_get(v, "failing_open"));
	tv->packets = count_field(v, "packets");
	tv->bytes = count_field(v, "bytes");
	pv = prev_vip(prev, tv->name);
	tv->pps = rate(tv->packets, pv ? &pv->packets : NULL, dt, num_field(v, "pps"));
	tv->Bps = rate(tv->bytes, pv ? &pv->bytes : NULL, dt, num_field(v, "bps") / 8);
	tv->placed = count_field(v, "new_flows");
	tv->fps = rate(tv->placed, pv ? &pv->placed : NULL, dt, num_field(v, "fps"));
	tv->flows = -1;
	tv->slots_changed = count_field(v, "slots_changed");
	json_array_foreach(list, i, b) n += strcmp(str_field(b, "vip"), tv->name) == 0;
	tv->backends = calloc(n ? n : 1, sizeof(*tv->backends));
	if (!tv->backends)
		return -ENOMEM;
	json_array_foreach(list, i, b)
	{
		struct top_backend *tb = &tv->backends[tv->nbackends];

		if (strcmp(str_field(b, "vip"), tv->name))
			continue;
		tv->nbackends++;
		if (backend_fill(tb, b, r->stats, pv, dt))
			return -ENOMEM;
		if (tb->flows >= 0)
			tv->flows = (tv->flows < 0 ? 0 : tv->flows) + tb->flows;
	}
	/* Who got the new flows, when there were any; else the ring says who
	 * would.
	 */
	if (isfinite(tv->fps) && tv->fps > 0)
		for (i = 0; i < tv->nbackends; i++)
			tv->backends[i].share =
				isfinite(tv->backends[i].fps) ? tv->backends[i].fps / tv->fps : NAN;
	return 0;
}

/* Growth per second of global counter name; NAN without an earlier one. */
static double global_rate(const struct top_sample *s, const char *name)
{
	const json_t *now = json_object_get(s->global, name);
	const json_t *before = json_object_get(s->before, name);

	if (!json_is_integer(now) || !json_is_integer(before) || !(s->dt > 0) ||
	    json_integer_value(now) < json_integer_value(before))
		return NAN;
	return (double)(json_integer_value(now) - json_integer_value(before)) / s->dt;
}

struct top_sample *top_sample_new(const struct top_replies *r, const struct top_sample *prev,
				  double now)
{
	struct top_sample *s = calloc(1, sizeof(*s));
	const json_t *vips = json_object_get(r->vips, "vips"), *v;
	const json_t *ft = json_object_get(r->stats, "flow_table"), *host;
	double dt = prev ? now - prev->time : 0;
	size_t i;

	if (!s)
		return NULL;
	s->time = now;
	s->version = strdup(str_field(r->status, "version"));
	s->uptime_s = num_field(r->status, "uptime_s");
	host = json_object_get(r->status, "host");
	if (json_is_true(json_object_get(host, "announce"))) {
		s->host_state = strdup(str_field(host, "state"));
		if (!s->host_state)
			goto fail;
	}
	s->global = json_incref(json_object_get(r->stats, "global"));
	s->before = prev ? json_incref(prev->global) : NULL;
	s->dt = dt;
	s->new_flows = NAN;
	s->vips = calloc(json_array_size(vips) ? json_array_size(vips) : 1, sizeof(*s->vips));
	if (!s->version || !s->vips)
		goto fail;
	json_array_foreach(vips, i, v)
	{
		struct top_vip *tv = &s->vips[s->nvips++];

		if (vip_fill(tv, v, r, prev, dt))
			goto fail;
		if (isfinite(tv->pps))
			s->pps += tv->pps;
		if (isfinite(tv->Bps))
			s->Bps += tv->Bps;
		if (isfinite(tv->fps))
			s->new_flows = (isfinite(s->new_flows) ? s->new_flows : 0) + tv->fps;
		s->slots_changed += tv->slots_changed;
	}
	s->flow_table = json_is_object(ft);
	s->flows4 = count_field(ft, "ipv4");
	s->flows6 = count_field(ft, "ipv6");
	s->size4 = count_field(ft, "size_ipv4");
	s->size6 = count_field(ft, "size_ipv6");
	s->inserts_per_s = num_field(ft, "inserts_per_s");
	s->evictions_per_s = num_field(ft, "evictions_per_s");
	return s;
fail:
	top_sample_free(s);
	return NULL;
}

void top_sample_free(struct top_sample *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nvips; i++) {
		struct top_vip *tv = &s->vips[i];

		for (size_t k = 0; k < tv->nbackends; k++) {
			free(tv->backends[k].name);
			free(tv->backends[k].admin);
			free(tv->backends[k].health);
		}
		free(tv->backends);
		free(tv->name);
		free(tv->service);
	}
	free(s->vips);
	free(s->version);
	free(s->host_state);
	json_decref(s->global);
	json_decref(s->before);
	free(s);
}

/* Sorting */

static int cmp_name(const struct top_backend *a, const struct top_backend *b)
{
	int c;

	/* Local workers first, by id. */
	if ((a->worker >= 0) != (b->worker >= 0))
		return a->worker >= 0 ? -1 : 1;
	if (a->worker != b->worker)
		return a->worker < b->worker ? -1 : 1;
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	/* Network byte order compares as the address reads. */
	c = memcmp(a->addr, b->addr, sizeof(a->addr));
	if (c)
		return c;
	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	return strcmp(a->name, b->name);
}

/* Larger first; unknown (NAN) last. */
static int cmp_desc(double a, double b)
{
	bool ka = !isnan(a), kb = !isnan(b);

	if (ka != kb)
		return ka ? -1 : 1;
	if (!ka || a == b)
		return 0;
	return a > b ? -1 : 1;
}

static enum top_sort sort_by;

static int cmp_backend(const void *pa, const void *pb)
{
	const struct top_backend *a = pa, *b = pb;
	int c = 0;

	switch (sort_by) {
	case TOP_SORT_PPS:
		c = cmp_desc(a->pps, b->pps);
		break;
	case TOP_SORT_BPS:
		c = cmp_desc(a->Bps, b->Bps);
		break;
	case TOP_SORT_SHARE:
		c = cmp_desc(a->share, b->share);
		break;
	case TOP_SORT_NAME:
	case TOP_SORT_MAX:
		break;
	}
	/* Ties by name: rows that compare equal stay put between refreshes. */
	return c ? c : cmp_name(a, b);
}

void top_sample_sort(struct top_sample *s, enum top_sort sort)
{
	if (!s)
		return;
	/* qsort has no argument for the comparison; top is single-threaded. */
	sort_by = sort;
	for (size_t i = 0; i < s->nvips; i++)
		qsort(s->vips[i].backends, s->vips[i].nbackends, sizeof(struct top_backend),
		      cmp_backend);
}

/* Rendering */

#define BAR_MAX 20
#define BAR_MIN 5

static const char *count_text(long long n, char *buf, size_t len)
{
	if (n < 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%lld", n);
	return buf;
}

static void flow_table_line(FILE *f, const char *family, unsigned long long n,
			    unsigned long long size)
{
	fprintf(f, "  %s %llu/%llu", family, n, size);
	if (size)
		fprintf(f, " (%.1f%%)", 100.0 * (double)n / (double)size);
}

static void header(FILE *f, const struct top_sample *s, const struct top_view *v)
{
	const char *name;
	const json_t *val;
	char a[32], b[32], c[32];
	bool any = false;

	cli_format_duration(s->uptime_s, false, a, sizeof(a));
	fprintf(f, "%s%sbouncer %s  up %s%s%s  sort %s%s%s\n", v->stamp ? v->stamp : "",
		v->stamp ? "  " : "", s->version, a, s->host_state ? "  host " : "",
		s->host_state ? s->host_state : "", top_sort_name(v->sort),
		v->paused ? "  PAUSED" : "", v->keys ? "  (q quit, s sort, p pause)" : "");
	fprintf(f, "total %s pkt/s  %s B/s  new flows %s/s", cli_format_rate(s->pps, a, sizeof(a)),
		cli_format_rate(s->Bps, b, sizeof(b)), cli_format_rate(s->new_flows, c, sizeof(c)));
	if (s->flow_table) {
		fputs("  flow table", f);
		flow_table_line(f, "v4", s->flows4, s->size4);
		flow_table_line(f, "v6", s->flows6, s->size6);
		if (isfinite(s->inserts_per_s))
			fprintf(f, "  inserts %s/s  evictions %s/s",
				cli_format_rate(s->inserts_per_s, a, sizeof(a)),
				cli_format_rate(s->evictions_per_s, b, sizeof(b)));
	}
	/* Slots whose packets read the flow table since a ring change. */
	if (s->slots_changed)
		fprintf(f, "  changed slots %llu", s->slots_changed);
	fputs("\ndrops", f);
	/* Only the reasons that happened: the others are noise here. */
	json_object_foreach((json_t *)s->global, name, val)
	{
		double r = global_rate(s, name);

		if (strncmp(name, "drop_", 5) || json_integer_value(val) <= 0)
			continue;
		fprintf(f, "  %s %" JSON_INTEGER_FORMAT, name + 5, json_integer_value(val));
		if (isfinite(r))
			fprintf(f, " (%s/s)", cli_format_rate(r, a, sizeof(a)));
		any = true;
	}
	fputs(any ? "\n" : "  none\n", f);
	if (v->error)
		fprintf(f, "error: %s\n", v->error);
}

/* Column widths of the table. */
struct layout {
	int name, health, flows, bar;
	bool restarts; /* a local worker is listed: the RESTARTS column */
};

#define PCT_WIDTH 6 /* "100.0%" */
#define ROW_FMT "%-*s  %-5s  %-*s  %6s  %6s  %*s  %-*s  %8s"

/* The table's width with bars of bar characters. */
static int layout_width(const struct layout *l, int bar)
{
	return l->name + 2 + 5 + 2 + l->health + 2 + 6 + 2 + 6 + 2 + l->flows + 2 +
	       (PCT_WIDTH + 1 + bar) + (l->restarts ? 2 + 8 : 0);
}

static void vip_health(const struct top_vip *tv, char *buf, size_t len)
{
	snprintf(buf, len, "%d/%d up%s", tv->up, tv->total,
		 tv->failing_open ? ", failing open" : "");
}

static int max_int(int a, int b)
{
	return a > b ? a : b;
}

static void layout_of(const struct top_sample *s, int width, struct layout *l)
{
	char buf[64];

	*l = (struct layout){ .name = 4, .health = 6, .flows = 5, .bar = BAR_MAX };
	for (size_t i = 0; i < s->nvips; i++) {
		const struct top_vip *tv = &s->vips[i];

		l->name = max_int(l->name, (int)(strlen(tv->name) + 1 + strlen(tv->service)));
		vip_health(tv, buf, sizeof(buf));
		l->health = max_int(l->health, (int)strlen(buf));
		l->flows = max_int(l->flows, (int)strlen(count_text(tv->flows, buf, sizeof(buf))));
		for (size_t k = 0; k < tv->nbackends; k++) {
			const struct top_backend *tb = &tv->backends[k];

			/* Backends are indented under their VIP. */
			l->name = max_int(l->name, 2 + (int)strlen(tb->name));
			l->health = max_int(l->health, (int)strlen(tb->health));
			/* Only local workers restart: without one, no column. */
			l->restarts |= tb->restarts >= 0;
		}
	}
	/* Narrow bars before cutting lines. */
	if (width > 0 && layout_width(l, l->bar) > width)
		l->bar = max_int(BAR_MIN, l->bar - (layout_width(l, l->bar) - width));
}

/* Prints a row without the blanks an empty last column leaves. */
static void row(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void row(FILE *f, const char *fmt, ...)
{
	char buf[1024];
	size_t n;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	n = strlen(buf);
	while (n && buf[n - 1] == ' ')
		n--;
	fprintf(f, "%.*s\n", (int)n, buf);
}

static void backend_row(FILE *f, const struct top_backend *tb, const struct layout *l)
{
	char name[256], pps[16], bps[16], flows[32], share[64], bar[BAR_MAX + 1], restarts[32];

	snprintf(name, sizeof(name), "  %s", tb->name);
	if (isfinite(tb->share))
		snprintf(share, sizeof(share), "%*.1f%% %s", PCT_WIDTH - 1, 100.0 * tb->share,
			 cli_format_bar(tb->share, l->bar, bar, sizeof(bar)));
	else
		snprintf(share, sizeof(share), "%*s", PCT_WIDTH, "-");
	row(f, ROW_FMT, l->name, name, tb->admin, l->health, tb->health,
	    cli_format_rate(tb->pps, pps, sizeof(pps)), cli_format_rate(tb->Bps, bps, sizeof(bps)),
	    l->flows, count_text(tb->flows, flows, sizeof(flows)), PCT_WIDTH + 1 + l->bar, share,
	    l->restarts ? count_text(tb->restarts, restarts, sizeof(restarts)) : "");
}

void top_render(FILE *f, const struct top_sample *s, const struct top_view *v)
{
	char name[256], health[64], pps[16], bps[16], flows[32];
	struct layout l;

	header(f, s, v);
	layout_of(s, v->width, &l);
	fputc('\n', f);
	row(f, ROW_FMT, l.name, "NAME", "ADMIN", l.health, "HEALTH", "PKT/S", "B/S", l.flows,
	    "FLOWS", PCT_WIDTH + 1 + l.bar, "SHARE", l.restarts ? "RESTARTS" : "");
	for (size_t i = 0; i < s->nvips; i++) {
		const struct top_vip *tv = &s->vips[i];

		snprintf(name, sizeof(name), "%s %s", tv->name, tv->service);
		vip_health(tv, health, sizeof(health));
		row(f, ROW_FMT, l.name, name, "", l.health, health,
		    cli_format_rate(tv->pps, pps, sizeof(pps)),
		    cli_format_rate(tv->Bps, bps, sizeof(bps)), l.flows,
		    count_text(tv->flows, flows, sizeof(flows)), PCT_WIDTH + 1 + l.bar, "", "");
		for (size_t k = 0; k < tv->nbackends; k++)
			backend_row(f, &tv->backends[k], &l);
	}
	if (!s->nvips)
		fputs("(no VIPs)\n", f);
}

void top_screen(FILE *out, const char *frame, int width, int height)
{
	int rows = 0;

	fputs("\033[H", out);
	/* One line short of the screen: a newline on the last one would
	 * scroll the first away.
	 */
	while (*frame && rows < height - 1) {
		size_t len = strcspn(frame, "\n");

		/* Cleared first: the old line may be longer. */
		fputs("\033[K", out);
		for (size_t i = 0; i < len && (int)i < width; i++) {
			unsigned char ch = (unsigned char)frame[i];

			fputc(ch < 0x20 || ch == 0x7f ? '?' : ch, out);
		}
		fputc('\n', out);
		rows++;
		frame += len + (frame[len] == '\n');
	}
	fputs("\033[J", out);
}

/* The loop */

static volatile sig_atomic_t got_quit, got_winch, got_tstp;

static void on_signal(int sig)
{
	if (sig == SIGWINCH)
		got_winch = 1;
	else if (sig == SIGTSTP)
		got_tstp = 1;
	else
		got_quit = 1;
}

/* What the loop keeps between refreshes. */
struct top_loop {
	const struct cli_request *req;
	bool screen; /* stdout is a terminal */
	bool keys; /* stdin is a terminal: read keys from it */
	struct termios saved;
	struct top_sample *sample;
	enum top_sort sort;
	bool paused;
	bool write_failed; /* stdout: a closed pipe, a full disk */
	char error[256]; /* why the last refresh failed; empty: it did not */
};

/* Raw enough for single keys, without echo; ^C and ^Z still signal. */
static void term_enter(struct top_loop *l)
{
	struct termios t = l->saved;

	if (l->keys) {
		t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		t.c_cc[VMIN] = 1;
		t.c_cc[VTIME] = 0;
		tcsetattr(STDIN_FILENO, TCSANOW, &t);
	}
	if (l->screen) {
		/* Cursor hidden, screen cleared. */
		fputs("\033[?25l\033[H\033[2J", stdout);
		l->write_failed |= fflush(stdout) != 0;
	}
}

/* The terminal as it was; the last frame stays on the screen. */
static void term_leave(struct top_loop *l)
{
	if (l->screen) {
		fputs("\033[?25h", stdout);
		l->write_failed |= fflush(stdout) != 0;
	}
	if (l->keys)
		tcsetattr(STDIN_FILENO, TCSANOW, &l->saved);
}

static void term_size(int *width, int *height)
{
	struct winsize ws = { 0 };

	/* A pseudo-terminal nobody sized reads 0 x 0. */
	ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws);
	*width = ws.ws_col ? ws.ws_col : 80;
	*height = ws.ws_row ? ws.ws_row : 24;
}

/* Prints the sample, if there is one yet; a failed write is kept in
 * l->write_failed for the loop to end on.
 */
static void draw(struct top_loop *l)
{
	struct top_view v = { .sort = l->sort, .paused = l->paused, .keys = l->keys };
	char stamp[32];
	char *frame = NULL;
	size_t len = 0;
	struct tm tm;
	time_t now = time(NULL);
	int width, height;
	FILE *f;

	if (!l->sample)
		return;
	localtime_r(&now, &tm);
	/* Plain lines carry the date: they are read later. */
	if (!strftime(stamp, sizeof(stamp), l->screen ? "%H:%M:%S" : "%Y-%m-%d %H:%M:%S", &tm))
		stamp[0] = '\0';
	v.stamp = stamp;
	v.error = l->error[0] ? l->error : NULL;
	term_size(&width, &height);
	if (l->screen)
		v.width = width;
	f = open_memstream(&frame, &len);
	if (!f)
		return;
	top_render(f, l->sample, &v);
	if (fclose(f)) {
		free(frame);
		return;
	}
	if (l->screen) {
		top_screen(stdout, frame, width, height);
	} else {
		/* A blank line between blocks. */
		fputs(frame, stdout);
		fputc('\n', stdout);
	}
	l->write_failed |= fflush(stdout) != 0 || ferror(stdout);
	free(frame);
}

/* The result of one request, a new reference; NULL with err filled. */
static json_t *ask(const struct cli_request *req, const char *cmd, const json_t *args, char *err,
		   size_t errlen)
{
	json_t *reply = NULL, *result = NULL;
	int ret = ctl_request(req->socket, cmd, args, req->timeout_ms, &reply);

	if (ret)
		snprintf(err, errlen, "cannot reach the agent at %s: %s", req->socket,
			 ret == -EPROTO ? "a reply that is not JSON" : strerror(-ret));
	else if (!json_is_true(json_object_get(reply, "ok")))
		snprintf(err, errlen, "%s: %s", cmd,
			 json_string_value(json_object_get(reply, "error"))
				 ? json_string_value(json_object_get(reply, "error"))
				 : "the agent reported an error");
	else
		result = json_incref(json_object_get(reply, "result"));
	if (!ret && !result && !err[0])
		snprintf(err, errlen, "%s: no result", cmd);
	json_decref(reply);
	return result;
}

/* Asks the agent and replaces the sample: 0, or -1 with l->error set. */
static int refresh(struct top_loop *l)
{
	json_t *flows = json_pack("{s:b}", "flows", 1);
	json_t *status, *stats, *vips, *backends;
	struct top_replies r;
	struct top_sample *s;
	double now = now_s();

	l->error[0] = '\0';
	status = ask(l->req, "status", NULL, l->error, sizeof(l->error));
	stats = l->error[0] ? NULL : ask(l->req, "stats", flows, l->error, sizeof(l->error));
	vips = l->error[0] ? NULL : ask(l->req, "vip.list", NULL, l->error, sizeof(l->error));
	backends =
		l->error[0] ? NULL : ask(l->req, "backend.list", NULL, l->error, sizeof(l->error));
	json_decref(flows);
	if (!l->error[0]) {
		r = (struct top_replies){ status, stats, vips, backends };
		s = top_sample_new(&r, l->sample, now);
		if (s) {
			top_sample_sort(s, l->sort);
			top_sample_free(l->sample);
			l->sample = s;
		} else {
			snprintf(l->error, sizeof(l->error), "out of memory");
		}
	}
	json_decref(status);
	json_decref(stats);
	json_decref(vips);
	json_decref(backends);
	return l->error[0] ? -1 : 0;
}

/* ^Z: the terminal as it was while stopped, top's again after. */
static void suspend(struct top_loop *l)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL }, ours = { .sa_handler = on_signal };

	got_tstp = 0;
	term_leave(l);
	sigemptyset(&dfl.sa_mask);
	sigemptyset(&ours.sa_mask);
	sigaction(SIGTSTP, &dfl, NULL);
	/* Cannot fail for a valid signal; the process stops here. */
	(void)raise(SIGTSTP);
	/* Here again after SIGCONT. */
	sigaction(SIGTSTP, &ours, NULL);
	term_enter(l);
	draw(l);
}

/* One key: false when it asks to quit. */
static bool key(struct top_loop *l, char c, double *next)
{
	switch (c) {
	case 'q':
	case 'Q':
		return false;
	case 's':
		l->sort = (l->sort + 1) % TOP_SORT_MAX;
		if (l->sample)
			top_sample_sort(l->sample, l->sort);
		break;
	case 'p':
		l->paused = !l->paused;
		/* Unpaused: fresh numbers now, not at the old time. */
		*next = now_s();
		break;
	default:
		return true;
	}
	draw(l);
	return true;
}

static void on_signals(void (*fn)(int))
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGWINCH, SIGTSTP };
	struct sigaction sa = { .sa_handler = fn };

	/* No SA_RESTART: a signal must wake poll(). */
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

static void wait_input(struct top_loop *l, double *next)
{
	struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
	double left = *next - now_s();
	/* Rounded up, so as not to wake just before the time. */
	int timeout = l->paused ? -1 : left > 0 ? (int)(left * 1000) + 1 : 0;
	char buf[16];
	ssize_t n;

	if (poll(&pfd, l->keys ? 1 : 0, timeout) <= 0)
		return;
	if (!(pfd.revents & POLLIN)) {
		/* The terminal went away: no more keys. */
		l->keys = false;
		return;
	}
	n = read(STDIN_FILENO, buf, sizeof(buf));
	if (n <= 0)
		l->keys = false;
	for (ssize_t i = 0; i < n; i++)
		if (!key(l, buf[i], next))
			got_quit = 1;
}

int cli_top_run(const struct cli_request *req)
{
	struct top_loop l = { .req = req, .screen = isatty(STDOUT_FILENO) };
	double interval = req->interval_s > 0 ? req->interval_s : 1.0, next;
	long done = 0;
	int ret = 0;

	l.keys = l.screen && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &l.saved) == 0;
	got_quit = got_winch = got_tstp = 0;
	on_signals(on_signal);
	term_enter(&l);
	next = now_s();
	while (!got_quit && !l.write_failed) {
		if (got_tstp)
			suspend(&l);
		if (got_winch) {
			got_winch = 0;
			/* Lines that no longer fit would stay behind. */
			if (l.screen)
				fputs("\033[2J", stdout);
			draw(&l);
		}
		if (!l.paused && now_s() >= next) {
			if (refresh(&l) && !l.sample) {
				ret = 1;
				break;
			}
			draw(&l);
			if (req->count && ++done >= req->count)
				break;
			next += interval;
			/* Late (a slow agent, a stop): the next one a full
			 * interval on, not a burst to catch up.
			 */
			if (next < now_s())
				next = now_s() + interval;
			continue;
		}
		wait_input(&l, &next);
	}
	term_leave(&l);
	on_signals(SIG_DFL);
	if (ret)
		fprintf(stderr, "%s: %s\n", CLI_PROG, l.error);
	if (l.write_failed) {
		fprintf(stderr, "%s: writing the output: %s\n", CLI_PROG, strerror(errno));
		ret = 1;
	}
	top_sample_free(l.sample);
	return ret;
}
