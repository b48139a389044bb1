// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The renderers: each command's result as a human table, and the field
 * formatters that bouncerctl top shares.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "cli_grammar.h"
#include "cli_top.h"
#include "common/util.h"

/* Tables */

struct table {
	size_t ncols;
	const char *const *heads; /* NULL: no header line */
	const bool *right; /* right-aligned columns (numbers); NULL: none */
	char **cells; /* row after row */
	size_t ncells, cap;
	bool failed; /* out of memory: the columns may be out of step */
};

static void table_cell(struct table *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void table_cell(struct table *t, const char *fmt, ...)
{
	va_list ap;
	char *s;

	if (t->ncells == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 32;
		char **n = realloc(t->cells, ncap * sizeof(*n));

		if (!n) {
			t->failed = true;
			return;
		}
		t->cells = n;
		t->cap = ncap;
	}
	va_start(ap, fmt);
	s = vformat(fmt, ap);
	va_end(ap);
	if (!s)
		t->failed = true;
	/* A failed cell is empty, so the columns stay in step. */
	t->cells[t->ncells++] = s;
}

static void print_row(FILE *f, const struct table *t, const char *const *row, const size_t *width)
{
	for (size_t c = 0; c < t->ncols; c++) {
		const char *s = row[c] ? row[c] : "";
		bool last = c + 1 == t->ncols;
		int pad = (int)(width[c] - strlen(s));

		/* An empty last cell leaves no blanks at the end. */
		if (c && !(last && !*s))
			fputs("  ", f);
		if (t->right && t->right[c])
			fprintf(f, "%*s%s", pad, "", s);
		else
			fprintf(f, "%s%*s", s, last ? 0 : pad, "");
	}
	fputc('\n', f);
}

static void table_print(FILE *f, struct table *t)
{
	size_t *width = calloc(t->ncols, sizeof(*width));

	if (!width || t->failed) {
		fprintf(f, "(out of memory)\n");
		free(width);
		return;
	}
	for (size_t c = 0; t->heads && c < t->ncols; c++)
		width[c] = strlen(t->heads[c]);
	for (size_t i = 0; i < t->ncells; i++) {
		size_t len = t->cells[i] ? strlen(t->cells[i]) : 0;

		if (len > width[i % t->ncols])
			width[i % t->ncols] = len;
	}
	if (t->heads)
		print_row(f, t, t->heads, width);
	for (size_t i = 0; i + t->ncols <= t->ncells; i += t->ncols)
		print_row(f, t, (const char *const *)&t->cells[i], width);
	free(width);
}

static void table_free(struct table *t)
{
	for (size_t i = 0; i < t->ncells; i++)
		free(t->cells[i]);
	free(t->cells);
}

/* Result fields, as text */

const char *cli_format_rate(double v, char *buf, size_t len)
{
	static const char suffix[] = " kMGTP";
	size_t i = 0;

	if (!isfinite(v) || v < 0) {
		snprintf(buf, len, "-");
		return buf;
	}
	/* Scale until the value rounds below 1000 at three digits. */
	while (v >= 999.5 && i + 1 < sizeof(suffix) - 1) {
		v /= 1000;
		i++;
	}
	if (i == 0)
		snprintf(buf, len, "%.0f", v);
	else if (v < 9.995)
		snprintf(buf, len, "%.2f%c", v, suffix[i]);
	else if (v < 99.95)
		snprintf(buf, len, "%.1f%c", v, suffix[i]);
	else
		snprintf(buf, len, "%.0f%c", v, suffix[i]);
	return buf;
}

const char *cli_format_duration(double seconds, bool padded, char *buf, size_t len)
{
	int w = padded ? 2 : 1;
	unsigned long long s;

	if (!isfinite(seconds) || seconds < 0) {
		snprintf(buf, len, "-");
		return buf;
	}
	s = (unsigned long long)seconds;
	if (s < 60)
		snprintf(buf, len, "%llus", s);
	else if (s < 3600)
		snprintf(buf, len, "%llum%0*llus", s / 60, w, s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%lluh%0*llum", s / 3600, w, s % 3600 / 60);
	else
		snprintf(buf, len, "%llud%0*lluh", s / 86400, w, s % 86400 / 3600);
	return buf;
}

const char *cli_format_bar(double share, int width, char *buf, size_t len)
{
	bool known = isfinite(share) && share >= 0 && share <= 1;
	int full = 0, i;

	if (!len)
		return buf;
	if (known) {
		/* Half up; share is not negative. No libm for lround(). */
		full = (int)(share * width + 0.5);
		if (share > 0 && full == 0)
			full = 1;
		if (share < 1 && full == width)
			full = width - 1;
	}
	for (i = 0; i < width && (size_t)i + 1 < len; i++)
		buf[i] = (char)(!known ? ' ' : i < full ? '#' : '.');
	buf[i] = '\0';
	return buf;
}

/* A scalar member as text: "-" when missing, null or empty. */
static const char *field_text(const json_t *obj, const char *key, char *buf, size_t len)
{
	const json_t *v = json_object_get(obj, key);

	/* An empty string too: a blank cell reads as a missing column. */
	if (json_is_string(v) && json_string_length(v))
		return json_string_value(v);
	if (json_is_integer(v))
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_real(v))
		snprintf(buf, len, "%.0f", json_real_value(v));
	else if (json_is_true(v))
		snprintf(buf, len, "yes");
	else if (json_is_false(v))
		snprintf(buf, len, "no");
	else
		snprintf(buf, len, "-");
	return buf;
}

/* ADDR:PORT, [ADDR]:PORT for IPv6. */
static const char *endpoint_text(const json_t *obj, const char *addr_key, const char *port_key,
				 char *buf, size_t len)
{
	const char *addr = json_string_value(json_object_get(obj, addr_key));
	char port[32];

	field_text(obj, port_key, port, sizeof(port));
	if (!addr)
		snprintf(buf, len, "-");
	else if (strchr(addr, ':'))
		snprintf(buf, len, "[%s]:%s", addr, port);
	else
		snprintf(buf, len, "%s:%s", addr, port);
	return buf;
}

/* A backend as ADDR:PORT, or as worker/ID for a local worker: its address
 * is "local" and its port changes with each replacement, so only the id
 * tells the operator which worker it is.
 */
static const char *backend_text(const json_t *b, char *buf, size_t len)
{
	char id[32];

	if (!json_is_true(json_object_get(b, "local")))
		return endpoint_text(b, "address", "port", buf, len);
	snprintf(buf, len, "worker/%s",
		 field_text(json_object_get(b, "worker"), "id", id, sizeof(id)));
	return buf;
}

/* A duration from a reply, as cli_format_duration() writes it. */
static const char *duration_text(const json_t *v, char *buf, size_t len)
{
	return cli_format_duration(json_is_number(v) ? json_number_value(v) : NAN, false, buf, len);
}

/* An array of strings as "a,b"; "-" when empty or absent. */
static const char *list_text(const json_t *list, char *buf, size_t len)
{
	const json_t *w;
	size_t i, used = 0;

	buf[0] = '\0';
	json_array_foreach(list, i, w)
	{
		int n = snprintf(buf + used, len - used, "%s%s", used ? "," : "",
				 json_is_string(w) ? json_string_value(w) : "?");

		if (n < 0 || (size_t)n >= len - used)
			break;
		used += (size_t)n;
	}
	return used ? buf : "-";
}

enum col_kind {
	COL_TEXT, /* key as text */
	COL_NUMBER, /* key, right-aligned */
	COL_RATE, /* key, a rate with a suffix, right-aligned */
	COL_ENDPOINT, /* key (address) and key2 (port) */
	COL_SERVICE, /* address:port/protocol */
	COL_UP, /* backends_up/backends_total, and whether failing open */
	COL_DURATION, /* key in seconds */
	COL_BACKEND, /* key (NULL: the row) is a backend: backend_text() */
	COL_LIST, /* key, an array of words: "a,b", "-" when empty */
};

struct col {
	const char *head;
	enum col_kind kind;
	const char *key, *key2;
};

static void col_cell(struct table *t, const struct col *c, const json_t *row)
{
	char buf[160], buf2[64];

	switch (c->kind) {
	case COL_TEXT:
	case COL_NUMBER:
		table_cell(t, "%s", field_text(row, c->key, buf, sizeof(buf)));
		return;
	case COL_RATE: {
		const json_t *v = json_object_get(row, c->key);

		table_cell(t, "%s",
			   json_is_number(v)
				   ? cli_format_rate(json_number_value(v), buf, sizeof(buf))
				   : "-");
		return;
	}
	case COL_ENDPOINT:
		table_cell(t, "%s", endpoint_text(row, c->key, c->key2, buf, sizeof(buf)));
		return;
	case COL_SERVICE:
		table_cell(t, "%s/%s", endpoint_text(row, "address", "port", buf, sizeof(buf)),
			   field_text(row, "protocol", buf2, sizeof(buf2)));
		return;
	case COL_UP:
		field_text(row, "backends_up", buf, sizeof(buf));
		table_cell(t, "%s/%s%s", buf, field_text(row, "backends_total", buf2, sizeof(buf2)),
			   json_is_true(json_object_get(row, "failing_open")) ? " failing open"
									      : "");
		return;
	case COL_DURATION:
		table_cell(t, "%s", duration_text(json_object_get(row, c->key), buf, sizeof(buf)));
		return;
	case COL_BACKEND:
		table_cell(t, "%s",
			   backend_text(c->key ? json_object_get(row, c->key) : row, buf,
					sizeof(buf)));
		return;
	case COL_LIST:
		table_cell(t, "%s", list_text(json_object_get(row, c->key), buf, sizeof(buf)));
		return;
	}
}

#define MAX_COLS 12

/* One row per element of rows (an array; anything else prints the header
 * alone).
 */
static void render_rows(FILE *f, const json_t *rows, const struct col *cols, size_t ncols)
{
	const char *heads[MAX_COLS];
	bool right[MAX_COLS];
	struct table t = { .ncols = ncols, .heads = heads, .right = right };
	const json_t *row;
	size_t i;

	if (ncols > MAX_COLS)
		return;
	for (i = 0; i < ncols; i++) {
		heads[i] = cols[i].head;
		right[i] = cols[i].kind == COL_NUMBER || cols[i].kind == COL_RATE;
	}
	json_array_foreach(rows, i, row) for (size_t c = 0; c < ncols; c++)
		col_cell(&t, &cols[c], row);
	table_print(f, &t);
	table_free(&t);
}

/* A two-column list of labels and values. */
struct kv {
	const char *label;
	const char *key;
	enum col_kind kind;
};

static void kv_rows(struct table *t, const json_t *obj, const struct kv *kv, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct col c = { .kind = kv[i].kind, .key = kv[i].key };

		table_cell(t, "%s", kv[i].label);
		col_cell(t, &c, obj);
	}
}

static void render_kv(FILE *f, const json_t *obj, const struct kv *kv, size_t n)
{
	struct table t = { .ncols = 2 };

	kv_rows(&t, obj, kv, n);
	table_print(f, &t);
	table_free(&t);
}

/* Renderers, one per command */

/* The config file's VIPs and backends removed at run time, if any. */
static void render_removed(FILE *f, const json_t *removed)
{
	struct table t = { .ncols = 2 };
	const json_t *it;
	char buf[160];
	size_t i;

	if (!json_array_size(removed))
		return;
	fputc('\n', f);
	t.heads = (const char *const[]){ "REMOVED AT RUN TIME", "BACKEND" };
	json_array_foreach(removed, i, it)
	{
		table_cell(&t, "%s", field_text(it, "vip", buf, sizeof(buf)));
		table_cell(&t, "%s",
			   json_object_get(it, "address") ? backend_text(it, buf, sizeof(buf))
							  : "(the whole VIP)");
	}
	table_print(f, &t);
	table_free(&t);
}

/* The host's state and announcements (host.show, and status's "host"). */
static void render_host_kv(struct table *t, const json_t *h)
{
	const json_t *routes = json_object_get(h, "announced"), *after, *a;
	char buf[160], list[256] = "";
	size_t i, used = 0;

	table_cell(t, "host");
	after = json_object_get(h, "drained_after_s");
	if (json_is_number(after))
		table_cell(t, "%s (traffic gone after %s)",
			   field_text(h, "state", buf, sizeof(buf)),
			   duration_text(after, list, sizeof(list)));
	else
		table_cell(t, "%s", field_text(h, "state", buf, sizeof(buf)));
	table_cell(t, "announced");
	if (!json_is_true(json_object_get(h, "announce"))) {
		table_cell(t, "nothing: no announce block in the config");
		return;
	}
	json_array_foreach(routes, i, a)
	{
		int n = snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "",
				 json_is_string(a) ? json_string_value(a) : "?");

		if (n < 0 || (size_t)n >= sizeof(list) - used)
			break;
		used += (size_t)n;
	}
	table_cell(t, "%s (table %s)", used ? list : "none",
		   field_text(h, "table", buf, sizeof(buf)));
}

void cli_render_host(FILE *f, const json_t *r)
{
	struct table t = { .ncols = 2 };
	char buf[64];
	const json_t *pps = json_object_get(r, "pps");

	render_host_kv(&t, r);
	table_cell(&t, "traffic");
	table_cell(&t, "%s pkt/s",
		   json_is_number(pps) ? cli_format_rate(json_number_value(pps), buf, sizeof(buf))
				       : "-");
	table_print(f, &t);
	table_free(&t);
}

void cli_render_host_drained(FILE *f, const json_t *host)
{
	char buf[64];

	fprintf(f, "host drained: traffic gone after %s\n",
		duration_text(json_object_get(host, "drained_after_s"), buf, sizeof(buf)));
}

void cli_render_status(FILE *f, const json_t *r)
{
	static const struct kv kv[] = {
		{ "version", "version", COL_TEXT },	{ "map layout", "map_abi", COL_NUMBER },
		{ "uptime", "uptime_s", COL_DURATION }, { "config", "config", COL_TEXT },
		{ "pin dir", "pin_dir", COL_TEXT },	{ "vips", "vips", COL_NUMBER },
		{ "backends", "backends", COL_NUMBER }, { "adopted", "adopted", COL_TEXT },
	};
	struct table t = { .ncols = 2 };
	const json_t *ifs = json_object_get(r, "interfaces"), *it;
	char buf[64];
	size_t i;

	kv_rows(&t, r, kv, ARRAY_SIZE(kv));
	if (json_is_object(json_object_get(r, "host")))
		render_host_kv(&t, json_object_get(r, "host"));
	table_print(f, &t);
	table_free(&t);
	t = (struct table){ .ncols = 2 };
	fputc('\n', f);
	t.heads = (const char *const[]){ "INTERFACE", "MODE" };
	json_array_foreach(ifs, i, it)
	{
		table_cell(&t, "%s", field_text(it, "name", buf, sizeof(buf)));
		table_cell(&t, "%s", field_text(it, "mode", buf, sizeof(buf)));
	}
	table_print(f, &t);
	table_free(&t);
	render_removed(f, json_object_get(r, "removed"));
}

static const struct col vip_cols[] = {
	{ "NAME", COL_TEXT, "name", NULL },	    { "ADDRESS", COL_SERVICE, NULL, NULL },
	{ "FWD", COL_TEXT, "forwarding", NULL },    { "HASH", COL_TEXT, "hash", NULL },
	{ "RING", COL_NUMBER, "ring_size", NULL },  { "PACKETS", COL_NUMBER, "packets", NULL },
	{ "BYTES", COL_NUMBER, "bytes", NULL },	    { "UP", COL_UP, NULL, NULL },
	{ "RUN-TIME", COL_LIST, "run_time", NULL },
};

void cli_render_vip_list(FILE *f, const json_t *r)
{
	render_rows(f, json_object_get(r, "vips"), vip_cols, ARRAY_SIZE(vip_cols));
}

/* The backend columns after VIP: vip.show leaves VIP out. */
static const struct col backend_cols[] = {
	{ "VIP", COL_TEXT, "vip", NULL },	    { "BACKEND", COL_BACKEND, NULL, NULL },
	{ "WEIGHT", COL_NUMBER, "weight", NULL },   { "ADMIN", COL_TEXT, "admin", NULL },
	{ "HEALTH", COL_TEXT, "health", NULL },	    { "DATAPATH", COL_TEXT, "datapath", NULL },
	{ "CHECK", COL_TEXT, "check", NULL },	    { "FAILS", COL_NUMBER, "failures", NULL },
	{ "PACKETS", COL_NUMBER, "packets", NULL }, { "BYTES", COL_NUMBER, "bytes", NULL },
	{ "RUN-TIME", COL_LIST, "run_time", NULL }, { "LAST ERROR", COL_TEXT, "last_error", NULL },
};

void cli_render_vip_show(FILE *f, const json_t *r)
{
	static const struct kv kv[] = {
		{ "name", "name", COL_TEXT },
		{ "address", NULL, COL_SERVICE },
		{ "forwarding", "forwarding", COL_TEXT },
		{ "hash", "hash", COL_TEXT },
		{ "ring", "ring_size", COL_TEXT },
		{ "fail open", "fail_open", COL_TEXT },
		{ "backends up", NULL, COL_UP },
		{ "packets", "packets", COL_TEXT },
		{ "bytes", "bytes", COL_TEXT },
	};

	render_kv(f, r, kv, ARRAY_SIZE(kv));
	fputc('\n', f);
	render_rows(f, json_object_get(r, "backends"), backend_cols + 1,
		    ARRAY_SIZE(backend_cols) - 1);
}

void cli_render_backend_list(FILE *f, const json_t *r)
{
	render_rows(f, json_object_get(r, "backends"), backend_cols, ARRAY_SIZE(backend_cols));
}

/* The agent's sample of the flow table (none in its first seconds). */
static void render_flow_table(FILE *f, const json_t *ft)
{
	static const char *const families[] = { "ipv4", "ipv6" };
	char key[32];

	if (!json_is_object(ft))
		return;
	for (size_t i = 0; i < ARRAY_SIZE(families); i++) {
		long long n, size, share;

		n = json_integer_value(json_object_get(ft, families[i]));
		snprintf(key, sizeof(key), "size_%s", families[i]);
		size = json_integer_value(json_object_get(ft, key));
		snprintf(key, sizeof(key), "cpu_share_%s", families[i]);
		share = json_integer_value(json_object_get(ft, key));
		fprintf(f,
			"flow table %s: %lld of %lld entries (%.1f%%), %lld for the flows each CPU "
			"sees first\n",
			families[i], n, size, size ? 100.0 * (double)n / (double)size : 0.0, share);
	}
	fprintf(f,
		"flow table turnover: %.0f inserts/s, %.0f evictions/s, %lld evictions in all%s "
		"(sampled %.0f s ago)\n\n",
		json_number_value(json_object_get(ft, "inserts_per_s")),
		json_number_value(json_object_get(ft, "evictions_per_s")),
		json_integer_value(json_object_get(ft, "evictions")),
		json_is_true(json_object_get(ft, "evicting")) ? ", EVICTING" : "",
		json_number_value(json_object_get(ft, "sampled_s_ago")));
}

void cli_render_stats(FILE *f, const json_t *r)
{
	static const struct col vip_rate_cols[] = {
		{ "VIP", COL_TEXT, "name", NULL },
		{ "PACKETS", COL_NUMBER, "packets", NULL },
		{ "BYTES", COL_NUMBER, "bytes", NULL },
		{ "PKT/S", COL_RATE, "pps", NULL },
		{ "BIT/S", COL_RATE, "bps", NULL },
		{ "CHANGED SLOTS", COL_NUMBER, "slots_changed", NULL },
	};
	static const struct col backend_rate_cols[] = {
		{ "VIP", COL_TEXT, "vip", NULL },	    { "BACKEND", COL_BACKEND, NULL, NULL },
		{ "PACKETS", COL_NUMBER, "packets", NULL }, { "BYTES", COL_NUMBER, "bytes", NULL },
		{ "PKT/S", COL_RATE, "pps", NULL },	    { "BIT/S", COL_RATE, "bps", NULL },
	};
	struct table t = { .ncols = 2,
			   .heads = (const char *const[]){ "COUNTER", "VALUE" },
			   .right = (const bool[]){ false, true } };
	const json_t *global = json_object_get(r, "global"), *v;
	const char *name;
	char buf[32];

	json_object_foreach((json_t *)global, name, v)
	{
		table_cell(&t, "%s", name);
		table_cell(&t, "%s", field_text(global, name, buf, sizeof(buf)));
	}
	table_print(f, &t);
	table_free(&t);
	fputc('\n', f);
	render_flow_table(f, json_object_get(r, "flow_table"));
	render_rows(f, json_object_get(r, "vips"), vip_rate_cols, ARRAY_SIZE(vip_rate_cols));
	fputc('\n', f);
	render_rows(f, json_object_get(r, "backends"), backend_rate_cols,
		    ARRAY_SIZE(backend_rate_cols));
}

/* Wide enough that one character is 5% of the ring. */
#define RING_BAR_WIDTH 20

/* The ring's first line: what every host of a tier must agree on, and
 * nothing of this host's alone, so that scripts can compare it whole
 * (ring show --digest prints it alone). The digest comes last.
 */
void cli_render_ring_digest(FILE *f, const json_t *r)
{
	const json_t *seed = json_object_get(r, "hash_seed");
	char buf[160], buf2[64], buf3[64];

	if (json_is_integer(seed))
		snprintf(buf3, sizeof(buf3), "0x%08llx",
			 (unsigned long long)json_integer_value(seed));
	else
		snprintf(buf3, sizeof(buf3), "-");
	fprintf(f, "vip %s: %s slots, hash_seed %s, ", field_text(r, "vip", buf, sizeof(buf)),
		field_text(r, "ring_size", buf2, sizeof(buf2)), buf3);
	fprintf(f, "digest %s\n", field_text(r, "digest", buf, sizeof(buf)));
}

void cli_render_ring_show(FILE *f, const json_t *r)
{
	const json_t *backends = json_object_get(r, "backends"), *b;
	json_int_t size = json_integer_value(json_object_get(r, "ring_size"));
	const json_t *moved = json_object_get(r, "moved");
	struct table t = { .ncols = 4,
			   .heads = (const char *const[]){ "BACKEND", "SLOTS", "SHARE", "" },
			   .right = (const bool[]){ false, true, true, false } };
	char buf[160], ago[32], bar[RING_BAR_WIDTH + 1];
	size_t i;

	cli_render_ring_digest(f, r);
	fprintf(f, "%s", field_text(r, "moved", buf, sizeof(buf)));
	if (json_is_integer(moved) && size > 0)
		fprintf(f, " (%.2f%%)", 100.0 * (double)json_integer_value(moved) / (double)size);
	fprintf(f, " slots moved in the last rebuild, %s ago\n\n",
		duration_text(json_object_get(r, "rebuilt_s"), ago, sizeof(ago)));
	json_array_foreach(backends, i, b)
	{
		json_int_t slots = json_integer_value(json_object_get(b, "slots"));
		double share = size > 0 ? (double)slots / (double)size : NAN;

		table_cell(&t, "%s", backend_text(b, buf, sizeof(buf)));
		table_cell(&t, "%s", field_text(b, "slots", buf, sizeof(buf)));
		/* From the slots rather than "share": exact, whatever scale
		 * the agent reports share in.
		 */
		if (size > 0)
			table_cell(&t, "%.2f%%", 100.0 * share);
		else
			table_cell(&t, "-");
		table_cell(&t, "%s",
			   size > 0 ? cli_format_bar(share, RING_BAR_WIDTH, bar, sizeof(bar)) : "");
	}
	table_print(f, &t);
	table_free(&t);
}

static const struct col flow_cols[] = {
	{ "PROTO", COL_TEXT, "protocol", NULL },
	{ "SOURCE", COL_ENDPOINT, "src", "sport" },
	{ "DESTINATION", COL_ENDPOINT, "dst", "dport" },
	{ "BACKEND", COL_BACKEND, "backend", NULL },
	{ "IDLE", COL_DURATION, "idle_s", NULL },
};

void cli_render_flow_list(FILE *f, const json_t *r)
{
	const json_t *flows = json_object_get(r, "flows");
	char buf[32];

	render_rows(f, flows, flow_cols, ARRAY_SIZE(flow_cols));
	fprintf(f, "%zu of %s flows\n", json_array_size(flows),
		field_text(r, "total", buf, sizeof(buf)));
}

void cli_render_flow_lookup(FILE *f, const json_t *r)
{
	json_t *one = json_array();

	if (!one)
		return;
	if (json_object_get(r, "flow"))
		json_array_append(one, json_object_get(r, "flow"));
	render_rows(f, one, flow_cols, ARRAY_SIZE(flow_cols));
	json_decref(one);
}

void cli_render_flow_flush(FILE *f, const json_t *r)
{
	const json_t *n = json_object_get(r, "flushed");
	char buf[32];

	fprintf(f, "flushed %s flow%s\n", field_text(r, "flushed", buf, sizeof(buf)),
		json_integer_value(n) == 1 ? "" : "s");
}

/* A row per worker, VIP after VIP; then a line for each VIP whose rolling
 * reload runs or failed, since that explains workers that are still the
 * old ones.
 */
void cli_render_worker_list(FILE *f, const json_t *r)
{
	struct table t = {
		.ncols = 8,
		.heads = (const char *const[]){ "VIP", "ID", "PID", "PORT", "STATE", "UPTIME",
						"RESTARTS", "TRAFFIC" },
		.right = (const bool[]){ false, true, true, true, false, true, true, true },
	};
	const json_t *vips = json_object_get(r, "vips"), *v, *workers, *w, *last;
	char namebuf[160], buf[64];
	const char *name;
	size_t i, k;

	json_array_foreach(vips, i, v)
	{
		name = field_text(v, "vip", namebuf, sizeof(namebuf));
		workers = json_object_get(v, "workers");
		json_array_foreach(workers, k, w)
		{
			/* pid and uptime are 0 when the worker has no process. */
			bool running = json_integer_value(json_object_get(w, "pid")) > 0;
			const json_t *uptime = json_object_get(w, "uptime_s");
			const json_t *share = json_object_get(w, "share");

			table_cell(&t, "%s", name);
			table_cell(&t, "%s", field_text(w, "id", buf, sizeof(buf)));
			table_cell(&t, "%s",
				   running ? field_text(w, "pid", buf, sizeof(buf)) : "-");
			table_cell(&t, "%s", field_text(w, "port", buf, sizeof(buf)));
			table_cell(&t, "%s", field_text(w, "state", buf, sizeof(buf)));
			table_cell(&t, "%s",
				   running && json_is_number(uptime)
					   ? cli_format_duration(json_number_value(uptime), true,
								 buf, sizeof(buf))
					   : "-");
			table_cell(&t, "%s", field_text(w, "restarts", buf, sizeof(buf)));
			if (json_is_number(share))
				table_cell(&t, "%.1f%%", 100.0 * json_number_value(share));
			else
				table_cell(&t, "-");
		}
	}
	table_print(f, &t);
	table_free(&t);
	json_array_foreach(vips, i, v)
	{
		name = field_text(v, "vip", namebuf, sizeof(namebuf));
		last = json_object_get(v, "last_reload");
		if (json_is_true(json_object_get(v, "reloading")))
			fprintf(f, "%s: rolling reload running\n", name);
		else if (json_is_string(last) && strcmp(json_string_value(last), "ok"))
			fprintf(f, "%s: last rolling reload failed: %s\n", name,
				json_string_value(last));
	}
}

void cli_render_worker_reload(FILE *f, const json_t *r)
{
	const json_t *started = json_object_get(r, "started"), *v;
	size_t i;

	if (!json_array_size(started)) {
		fprintf(f, "no VIP has workers: nothing to reload\n");
		return;
	}
	fprintf(f, "rolling reload started for: ");
	json_array_foreach(started, i, v)
	{
		fprintf(f, "%s%s", i ? ", " : "", json_is_string(v) ? json_string_value(v) : "-");
	}
	fputc('\n', f);
}

/* The element of worker.list's vips named name, or NULL. */
static const json_t *find_worker_vip(const json_t *vips, const json_t *name)
{
	const json_t *v;
	size_t i;

	json_array_foreach(vips, i, v)
	{
		if (json_equal(json_object_get(v, "vip"), name))
			return v;
	}
	return NULL;
}

enum cli_reload_state cli_reload_state(FILE *err, const json_t *list, const json_t *started)
{
	const json_t *vips = json_object_get(list, "vips"), *name, *found, *last;
	bool failed = false;
	size_t i;

	json_array_foreach(started, i, name)
	{
		found = find_worker_vip(vips, name);
		if (json_is_true(json_object_get(found, "reloading")))
			return CLI_RELOAD_RUNNING;
	}
	json_array_foreach(started, i, name)
	{
		const char *vip = json_is_string(name) ? json_string_value(name) : "-";

		found = find_worker_vip(vips, name);
		last = json_object_get(found, "last_reload");
		if (!found)
			fprintf(err, "%s: %s: no longer has workers\n", CLI_PROG, vip);
		else if (!json_is_string(last))
			fprintf(err, "%s: %s: the rolling reload ended without a result\n",
				CLI_PROG, vip);
		else if (strcmp(json_string_value(last), "ok"))
			fprintf(err, "%s: %s: rolling reload failed: %s\n", CLI_PROG, vip,
				json_string_value(last));
		else
			continue;
		failed = true;
	}
	return failed ? CLI_RELOAD_FAILED : CLI_RELOAD_OK;
}

void cli_render_reload(FILE *f, const json_t *r)
{
	static const char *const what[] = { "vips", "backends" };
	char a[32], d[32], c[32], key[32];

	for (size_t i = 0; i < ARRAY_SIZE(what); i++) {
		snprintf(key, sizeof(key), "%s_added", what[i]);
		field_text(r, key, a, sizeof(a));
		snprintf(key, sizeof(key), "%s_removed", what[i]);
		field_text(r, key, d, sizeof(d));
		snprintf(key, sizeof(key), "%s_changed", what[i]);
		field_text(r, key, c, sizeof(c));
		fprintf(f, "%-9s %s added, %s removed, %s changed\n", what[i], a, d, c);
	}
}

void cli_render_detach(FILE *f, const json_t *r)
{
	(void)r;
	fprintf(f, "detached: the XDP programs are off the interfaces, the pins are removed\n"
		   "and the agent exits\n");
}

int cli_render(FILE *f, const char *cmd, const json_t *result)
{
	for (size_t i = 0; i < ARRAY_SIZE(cli_objects); i++) {
		for (size_t k = 0; k < cli_objects[i].ncmds; k++) {
			const struct cli_command *c = &cli_objects[i].cmds[k];

			if (strcmp(c->cmd, cmd))
				continue;
			if (c->render)
				c->render(f, result);
			return 0;
		}
	}
	return -ENOENT;
}

int cli_render_request(FILE *f, const struct cli_request *req, const json_t *result)
{
	if (!req->render)
		return cli_render(f, req->cmd, result);
	req->render(f, result);
	return 0;
}
