// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The config file's local workers: a VIP's workers block, its restart
 * policy, the ports its workers take and their clashes with other ports,
 * and the block's own copies, which the agent keeps and a reload compares.
 */
#include <errno.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libconfig.h>

#include "config.h"
#include "config_parser.h"
#include "common/util.h"

/* Workers' defaults (config.h) and limits. Zero stands for "the default"
 * in workers.h, so every time is at least a millisecond.
 */
#define WORKER_TIME_MAX_MS 86400000u /* one day */
#define WORKER_READY_TIMEOUT_MS 10000u
#define WORKER_KILL_TIMEOUT_MS 5000u
#define WORKER_DRAIN_MS 30000u
#define WORKER_MIN_UPTIME_MS 5000u
#define WORKER_BACKOFF_MS 100u
#define WORKER_BACKOFF_MAX_MS 30000u
#define WORKER_BACKOFF_RESET_MS 60000u
#define WORKER_CRASH_LIMIT 10u
#define WORKER_CRASH_LIMIT_MAX 1000u
#define WORKER_CRASH_WINDOW_MS 60000u

#define STR_(x) #x
#define STR(x) STR_(x)

void cfg_workers_free(struct cfg_workers *w)
{
	if (!w)
		return;
	strv_free(w->argv);
	strv_free(w->env);
	free(w->cwd);
	free(w->user);
	free(w->permanent_exit);
	free(w);
}

struct cfg_workers *cfg_workers_dup(const struct cfg_workers *w)
{
	struct cfg_workers *d;

	if (!w)
		return NULL;
	d = malloc(sizeof(*d));
	if (!d)
		return NULL;
	*d = *w;
	d->argv = NULL;
	d->env = NULL;
	d->cwd = cfgp_dup_or_null(w->cwd);
	d->user = cfgp_dup_or_null(w->user);
	d->permanent_exit = NULL;
	if (w->npermanent) {
		d->permanent_exit = calloc(w->npermanent, sizeof(*d->permanent_exit));
		if (d->permanent_exit)
			memcpy(d->permanent_exit, w->permanent_exit,
			       w->npermanent * sizeof(*d->permanent_exit));
	}
	if (strv_dup(w->argv, &d->argv) || strv_dup(w->env, &d->env) || (w->cwd && !d->cwd) ||
	    (w->user && !d->user) || (w->npermanent && !d->permanent_exit)) {
		cfg_workers_free(d);
		return NULL;
	}
	return d;
}

/* Everything but count (and where the block is in the file). */
bool cfg_workers_same_program(const struct cfg_workers *a, const struct cfg_workers *b)
{
	if (!a || !b)
		return a == b;
	if (!strv_equal(a->argv, b->argv) || !strv_equal(a->env, b->env) ||
	    !cfgp_str_equal(a->cwd, b->cwd) || !cfgp_str_equal(a->user, b->user) ||
	    a->has_user != b->has_user || a->uid != b->uid || a->gid != b->gid ||
	    a->port_base != b->port_base || a->alt_port_base != b->alt_port_base ||
	    a->ready_timeout_ms != b->ready_timeout_ms ||
	    a->kill_timeout_ms != b->kill_timeout_ms || a->drain_ms != b->drain_ms ||
	    a->min_uptime_ms != b->min_uptime_ms ||
	    a->backoff_initial_ms != b->backoff_initial_ms ||
	    a->backoff_max_ms != b->backoff_max_ms || a->backoff_reset_ms != b->backoff_reset_ms ||
	    a->crash_limit != b->crash_limit || a->crash_window_ms != b->crash_window_ms ||
	    a->npermanent != b->npermanent)
		return false;
	return !a->npermanent || memcmp(a->permanent_exit, b->permanent_exit,
					a->npermanent * sizeof(*a->permanent_exit)) == 0;
}

static const char *const workers_keys[] = {
	"command", "count",	    "port_base",    "alt_port_base", "env",	"cwd",
	"user",	   "ready_timeout", "kill_timeout", "drain",	     "restart", NULL,
};

static const char *const restart_keys[] = {
	"min_uptime",  "backoff",      "backoff_max",	 "backoff_reset",
	"crash_limit", "crash_window", "permanent_exit", NULL,
};

/* What POSIX calls a name in the shell: [A-Za-z_][A-Za-z0-9_]*. */
static bool env_name_ok(const char *s)
{
	if (!(*s == '_' || (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z')))
		return false;
	for (s++; *s; s++) {
		if (!(*s == '_' || (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= '0' && *s <= '9')))
			return false;
	}
	return true;
}

static int parse_workers_env(struct cfg_parser *p, struct cfg_workers *w, const config_setting_t *g)
{
	size_t ctx = cfgp_ctx_push(p, "env: ");
	int n, err = 0;

	if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
		err = cfgp_fail(p, g, "must be a group { NAME = \"value\"; ... }");
		goto cleanup;
	}
	n = config_setting_length(g);
	if (n == 0)
		goto cleanup;
	w->env = calloc((size_t)n + 1, sizeof(*w->env));
	if (!w->env) {
		err = cfgp_fail_nomem(p);
		goto cleanup;
	}
	for (int i = 0; i < n; i++) {
		const config_setting_t *s = config_setting_get_elem(g, (unsigned int)i);
		const char *name = config_setting_name(s);
		const char *value;
		size_t len;

		if (!env_name_ok(name)) {
			err = cfgp_fail(
				p, s, "'%s' is not a variable name ([A-Za-z_][A-Za-z0-9_]*)", name);
			goto cleanup;
		}
		if (strcmp(name, "PORT") == 0 || strcmp(name, "WORKER_ID") == 0) {
			err = cfgp_fail(p, s, "%s is reserved: it is set for each worker", name);
			goto cleanup;
		}
		if (config_setting_type(s) != CONFIG_TYPE_STRING) {
			err = cfgp_fail(p, s, "%s must be a string", name);
			goto cleanup;
		}
		value = config_setting_get_string(s);
		len = strlen(name) + 1 + strlen(value) + 1;
		w->env[i] = malloc(len);
		if (!w->env[i]) {
			err = cfgp_fail_nomem(p);
			goto cleanup;
		}
		snprintf(w->env[i], len, "%s=%s", name, value);
	}
cleanup:
	cfgp_ctx_pop(p, ctx);
	return err;
}

static int int_cmp(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* Exit statuses, kept sorted and without repeats, so that two lists that
 * mean the same compare equal.
 */
static int parse_permanent_exit(struct cfg_parser *p, struct cfg_workers *w,
				const config_setting_t *s)
{
	int n;

	if ((config_setting_type(s) != CONFIG_TYPE_ARRAY &&
	     config_setting_type(s) != CONFIG_TYPE_LIST))
		return cfgp_fail(p, s,
				 "permanent_exit must be a list of exit statuses, [ 78, ... ]");
	n = config_setting_length(s);
	if (n == 0)
		return 0;
	w->permanent_exit = calloc((size_t)n, sizeof(*w->permanent_exit));
	if (!w->permanent_exit)
		return cfgp_fail_nomem(p);
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned int)i);
		long long v;

		if (!cfgp_is_int(e))
			return cfgp_fail(p, e, "permanent_exit must be a list of exit statuses");
		v = config_setting_get_int64(e);
		if (v < 0 || v > 255)
			return cfgp_fail(p, e, "permanent_exit: %lld is not an exit status (0-255)",
					 v);
		w->permanent_exit[i] = (int)v;
	}
	qsort(w->permanent_exit, (size_t)n, sizeof(*w->permanent_exit), int_cmp);
	w->npermanent = 1;
	for (int i = 1; i < n; i++) {
		if (w->permanent_exit[i] != w->permanent_exit[w->npermanent - 1])
			w->permanent_exit[w->npermanent++] = w->permanent_exit[i];
	}
	return 0;
}

static int parse_workers_restart(struct cfg_parser *p, struct cfg_workers *w,
				 const config_setting_t *g)
{
	size_t ctx = cfgp_ctx_push(p, "restart: ");
	const config_setting_t *s;
	char a[24], b[24];
	int err;

	if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
		err = cfgp_fail(p, g, "must be a group { backoff = ...; }");
		goto cleanup;
	}
	err = cfgp_check_keys(p, g, restart_keys);
	if (!err)
		err = cfgp_get_secs(p, g, "min_uptime", 1, WORKER_TIME_MAX_MS, &w->min_uptime_ms);
	if (!err)
		err = cfgp_get_secs(p, g, "backoff", 1, WORKER_TIME_MAX_MS, &w->backoff_initial_ms);
	if (!err)
		err = cfgp_get_secs(p, g, "backoff_max", 1, WORKER_TIME_MAX_MS, &w->backoff_max_ms);
	if (!err)
		err = cfgp_get_secs(p, g, "backoff_reset", 1, WORKER_TIME_MAX_MS,
				    &w->backoff_reset_ms);
	if (!err)
		err = cfgp_get_u32(p, g, "crash_limit", 1, WORKER_CRASH_LIMIT_MAX, &w->crash_limit);
	if (!err)
		err = cfgp_get_secs(p, g, "crash_window", 1, WORKER_TIME_MAX_MS,
				    &w->crash_window_ms);
	if (err)
		goto cleanup;
	s = config_setting_get_member(g, "permanent_exit");
	if (s) {
		err = parse_permanent_exit(p, w, s);
		if (err)
			goto cleanup;
	}
	if (w->backoff_max_ms < w->backoff_initial_ms) {
		const config_setting_t *at_max = config_setting_get_member(g, "backoff_max");
		const config_setting_t *at_ini = config_setting_get_member(g, "backoff");

		err = cfgp_fail(p, cfgp_later(at_max, at_ini),
				"backoff_max (%s s%s) must not be less than backoff (%s s)",
				cfgp_fmt_secs(w->backoff_max_ms, a, sizeof(a)),
				at_max ? "" : ", the default",
				cfgp_fmt_secs(w->backoff_initial_ms, b, sizeof(b)));
	}
cleanup:
	cfgp_ctx_pop(p, ctx);
	return err;
}

static int parse_workers_cwd(struct cfg_parser *p, struct cfg_workers *w, const config_setting_t *g)
{
	const config_setting_t *s = config_setting_get_member(g, "cwd");
	const char *v = NULL;
	struct stat st;
	int err;

	err = cfgp_get_string(p, g, "cwd", &v);
	if (err || !v)
		return err;
	if (v[0] != '/')
		return cfgp_fail(p, s, "cwd '%s' must be an absolute path", v);
	if (stat(v, &st))
		return cfgp_fail(p, s, "cwd '%s': %s", v, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return cfgp_fail(p, s, "cwd '%s' is not a directory", v);
	w->cwd = strdup(v);
	return w->cwd ? 0 : cfgp_fail_nomem(p);
}

static int parse_workers_user(struct cfg_parser *p, struct cfg_workers *w,
			      const config_setting_t *g)
{
	const config_setting_t *s = config_setting_get_member(g, "user");
	struct passwd pwd, *pw = NULL;
	long max = sysconf(_SC_GETPW_R_SIZE_MAX);
	size_t len = max > 0 ? (size_t)max : 16384;
	const char *v = NULL;
	char *buf = NULL;
	int err;

	err = cfgp_get_string(p, g, "user", &v);
	if (err || !v)
		return err;
	/* getpwnam_r() says ERANGE until the buffer holds the entry. */
	for (;;) {
		char *nbuf = realloc(buf, len);

		if (!nbuf) {
			free(buf);
			return cfgp_fail_nomem(p);
		}
		buf = nbuf;
		err = getpwnam_r(v, &pwd, buf, len, &pw);
		if (err != ERANGE || len >= (1u << 20))
			break;
		len *= 2;
	}
	if (pw) {
		w->has_user = true;
		w->uid = pw->pw_uid;
		w->gid = pw->pw_gid;
	}
	free(buf);
	/* Not found is 0 or, for some NSS modules, one of these. */
	if (!pw && err && err != ENOENT && err != ESRCH && err != EBADF && err != EPERM)
		return cfgp_fail(p, s, "user '%s': %s", v, strerror(err));
	if (!pw)
		return cfgp_fail(p, s, "user '%s' does not exist", v);
	w->user = strdup(v);
	return w->user ? 0 : cfgp_fail_nomem(p);
}

/* The ports a workers block holds: port_base + id and alt_port_base + id
 * for every id it may scale to, up to CFG_WORKERS_MAX or the distance
 * between the two bases, whichever is less.
 */
static unsigned int workers_span(unsigned int base, unsigned int alt)
{
	unsigned int d = alt > base ? alt - base : base - alt;

	return d < CFG_WORKERS_MAX ? d : CFG_WORKERS_MAX;
}

/* Default count: the online CPUs, within what the ports allow. */
static unsigned int cpu_count(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		return 1;
	return n < CFG_WORKERS_MAX ? (unsigned int)n : CFG_WORKERS_MAX;
}

/* The two port ranges: [port_base, +span) and [alt_port_base, +span). */
static int check_workers_ports(struct cfg_parser *p, const struct cfg_workers *w,
			       const config_setting_t *g, unsigned int alt)
{
	const config_setting_t *at_base = config_setting_get_member(g, "port_base");
	const config_setting_t *at_alt = config_setting_get_member(g, "alt_port_base");
	const config_setting_t *at_count = config_setting_get_member(g, "count");
	unsigned int base = w->port_base;
	unsigned int dist = alt > base ? alt - base : base - alt;
	unsigned int span = workers_span(base, alt);

	if (w->count > dist)
		return cfgp_fail(
			p, cfgp_later(at_alt, at_count),
			"ports %u-%u overlap alternate ports %u-%u: alt_port_base must be at "
			"least count (%u) away from port_base",
			base, base + w->count - 1, alt, alt + w->count - 1, w->count);
	if (base + span - 1 > 65535)
		return cfgp_fail(p, at_base, "ports %u-%u go past 65535 (room for %u workers)",
				 base, base + span - 1, span);
	if (alt + span - 1 > 65535)
		return cfgp_fail(
			p, at_alt ? at_alt : at_base,
			"alternate ports %u-%u go past 65535 (room for %u workers%s)", alt,
			alt + span - 1, span,
			at_alt ? ""
			       : "; alt_port_base defaults to port_base + " STR(CFG_WORKERS_MAX));
	return 0;
}

int cfgp_workers_parse(struct cfg_parser *p, struct cfg_vip *v, const config_setting_t *g)
{
	struct cfg_workers *w;
	const config_setting_t *s;
	long long base = 0, alt;
	size_t ctx = cfgp_ctx_push(p, "workers: ");
	int err;

	if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
		err = cfgp_fail(p, g, "must be a group { command = ...; port_base = ...; }");
		goto cleanup;
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		err = cfgp_fail_nomem(p);
		goto cleanup;
	}
	/* Held by the VIP at once: cfg_free frees what a failed one holds. */
	v->workers = w;
	w->line = (int)cfgp_setting_line(g);
	w->ready_timeout_ms = WORKER_READY_TIMEOUT_MS;
	w->kill_timeout_ms = WORKER_KILL_TIMEOUT_MS;
	w->drain_ms = WORKER_DRAIN_MS;
	w->min_uptime_ms = WORKER_MIN_UPTIME_MS;
	w->backoff_initial_ms = WORKER_BACKOFF_MS;
	w->backoff_max_ms = WORKER_BACKOFF_MAX_MS;
	w->backoff_reset_ms = WORKER_BACKOFF_RESET_MS;
	w->crash_limit = WORKER_CRASH_LIMIT;
	w->crash_window_ms = WORKER_CRASH_WINDOW_MS;

	err = cfgp_check_keys(p, g, workers_keys);
	if (!err)
		err = cfgp_need(p, g, "command");
	if (!err)
		err = cfgp_parse_command(p, config_setting_get_member(g, "command"));
	if (err)
		goto cleanup;
	if (cfgp_build_argv(config_setting_get_member(g, "command"), &w->argv)) {
		err = cfgp_fail_nomem(p);
		goto cleanup;
	}
	err = cfgp_need(p, g, "port_base");
	if (!err)
		err = cfgp_get_int(p, g, "port_base", 1, 65535, &base);
	if (err)
		goto cleanup;
	alt = base + CFG_WORKERS_MAX;
	err = cfgp_get_int(p, g, "alt_port_base", 1, 65535, &alt);
	if (!err)
		err = cfgp_get_u32(p, g, "count", 1, CFG_WORKERS_MAX, &w->count);
	if (err)
		goto cleanup;
	w->port_base = (__u16)base;
	if (!config_setting_get_member(g, "count")) {
		unsigned int dist = workers_span((unsigned int)base, (unsigned int)alt);

		w->count = cpu_count();
		w->count_default = true;
		if (w->count > dist)
			w->count = dist ? dist : 1;
	}
	err = check_workers_ports(p, w, g, (unsigned int)alt);
	if (err)
		goto cleanup;
	w->alt_port_base = (__u16)alt;

	s = config_setting_get_member(g, "env");
	if (s) {
		err = parse_workers_env(p, w, s);
		if (err)
			goto cleanup;
	}
	err = parse_workers_cwd(p, w, g);
	if (!err)
		err = parse_workers_user(p, w, g);
	if (!err)
		err = cfgp_get_secs(p, g, "ready_timeout", 1, WORKER_TIME_MAX_MS,
				    &w->ready_timeout_ms);
	if (!err)
		err = cfgp_get_secs(p, g, "kill_timeout", 1, WORKER_TIME_MAX_MS,
				    &w->kill_timeout_ms);
	if (!err)
		err = cfgp_get_secs(p, g, "drain", 0, WORKER_TIME_MAX_MS, &w->drain_ms);
	if (err)
		goto cleanup;
	s = config_setting_get_member(g, "restart");
	if (s)
		err = parse_workers_restart(p, w, s);
cleanup:
	cfgp_ctx_pop(p, ctx);
	return err;
}

/* A port range [lo, lo + n) with a name for messages. */
struct port_range {
	const char *what;
	unsigned int lo, n;
};

static void workers_ranges(const struct cfg_workers *w, struct port_range r[2])
{
	unsigned int span = workers_span(w->port_base, w->alt_port_base);

	r[0] = (struct port_range){ "ports", w->port_base, span };
	r[1] = (struct port_range){ "alternate ports", w->alt_port_base, span };
}

/* The setting a message about range a (0: ports, 1: alternate ports)
 * points at: alt_port_base, or port_base when that is the default.
 */
static const config_setting_t *range_at(const config_setting_t *g, int a)
{
	const config_setting_t *at = a ? config_setting_get_member(g, "alt_port_base") : NULL;

	return at ? at : config_setting_get_member(g, "port_base");
}

static bool in_range(unsigned int port, const struct port_range *r)
{
	return port >= r->lo && port < r->lo + r->n;
}

static bool ranges_overlap(const struct port_range *a, const struct port_range *b)
{
	return a->lo < b->lo + b->n && b->lo < a->lo + a->n;
}

/* VIP idx's workers against the metrics port, VIP ports up to its own and
 * the workers of the VIPs before it.
 */
static int check_workers_clash(struct cfg_parser *p, const struct cfg *c, size_t idx,
			       const config_setting_t *g)
{
	const struct cfg_vip *v = &c->vips[idx];
	struct port_range mine[2], theirs[2];

	workers_ranges(v->workers, mine);
	for (int a = 0; a < 2; a++) {
		const struct port_range *r = &mine[a];

		if (c->metrics && v->proto == IPPROTO_TCP && in_range(c->metrics_port, r))
			return cfgp_fail(p, range_at(g, a),
					 "workers: %s %u-%u include the metrics port %u", r->what,
					 r->lo, r->lo + r->n - 1, c->metrics_port);
		for (size_t j = 0; j <= idx; j++) {
			const struct cfg_vip *o = &c->vips[j];

			if (o->proto != v->proto)
				continue;
			if (in_range(o->port, r))
				return cfgp_fail(
					p, range_at(g, a),
					"workers: %s %u-%u include port %u of vip '%s' (line %d)",
					r->what, r->lo, r->lo + r->n - 1, o->port, o->name,
					o->line);
			if (j == idx || !o->workers)
				continue;
			workers_ranges(o->workers, theirs);
			for (int b = 0; b < 2; b++) {
				const struct port_range *t = &theirs[b];

				if (ranges_overlap(r, t))
					return cfgp_fail(
						p, range_at(g, a),
						"workers: %s %u-%u overlap the %s %u-%u of vip "
						"'%s' "
						"(line %d)",
						r->what, r->lo, r->lo + r->n - 1, t->what, t->lo,
						t->lo + t->n - 1, o->name, o->workers->line);
			}
		}
	}
	return 0;
}

/* Worker ports are bound on every address: they must not collide with
 * another VIP's workers, with a VIP's own port, of the same protocol, or
 * with the metrics listener. Called for each VIP in turn: VIP idx is
 * checked against those before it and its own port.
 */
int cfgp_vip_ports_check(struct cfg_parser *p, const struct cfg *c, size_t idx,
			 const config_setting_t *s)
{
	const struct cfg_vip *v = &c->vips[idx];
	struct port_range theirs[2];

	if (v->workers) {
		int err = check_workers_clash(p, c, idx, config_setting_get_member(s, "workers"));

		if (err)
			return err;
	}
	for (size_t j = 0; j < idx; j++) {
		const struct cfg_vip *o = &c->vips[j];

		if (o->proto != v->proto || !o->workers)
			continue;
		workers_ranges(o->workers, theirs);
		for (int b = 0; b < 2; b++) {
			const struct port_range *t = &theirs[b];

			if (in_range(v->port, t))
				return cfgp_fail(
					p, config_setting_get_member(s, "port"),
					"port %u is one of the worker %s %u-%u of vip '%s' "
					"(line %d)",
					v->port, t->what, t->lo, t->lo + t->n - 1, o->name,
					o->workers->line);
		}
	}
	return 0;
}
