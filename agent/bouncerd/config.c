// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The config file: libconfig syntax, read setting by setting into struct
 * cfg and validated on the way. Every message names the file and line of
 * the setting at fault; unknown settings are refused, so that a typo does
 * not silently leave a default in place. examples/bouncer.conf documents
 * the format. Here: the parser's helpers (config_parser.h), VIPs, backends
 * and the top level; health check blocks are read in config_check.c and
 * workers blocks in config_workers.c.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <libconfig.h>
#include <linux/rtnetlink.h>

#include "bouncer_hash.h"
#include "common/addr.h"
#include "config.h"
#include "config_parser.h"
#include "maglev.h"
#include "common/util.h"

/* VIP names travel in control requests and metrics labels: printable,
 * no blanks or quotes, and short.
 */
#define NAME_MAX_LEN 63
/* Below this the LRU evicts live flows on any real host; above it the two
 * flow tables would take gigabytes of kernel memory.
 */
#define FLOW_TABLE_MIN 1024u
/* A week: longer than any idle timeout a TCP path keeps. */
#define RING_HISTORY_IDLE_MAX (7u * 24 * 3600)
#define FLOW_TABLE_MAX (1u << 26)
/* Weights are shares of a ring of at most BNC_RING_SIZE_MAX slots: a ratio
 * beyond that cannot be represented anyway, and the cap keeps the sum of
 * BNC_MAX_BACKENDS weights within 32 bits.
 */
#define WEIGHT_MAX 65535

/* Writes "FILE:LINE: CONTEXT MESSAGE" for the setting s (without LINE
 * for the root, which has none) and returns -EINVAL. Without a setting or
 * a file name (a VIP from a control request): "CONTEXT MESSAGE".
 */
int cfgp_fail(struct cfg_parser *p, const config_setting_t *s, const char *fmt, ...)
{
	const char *file = s ? config_setting_source_file(s) : NULL;
	unsigned int line = s ? config_setting_source_line(s) : 0;
	const char *dir = "", *sep = "";
	va_list ap;
	int n;

	if (!p->err || !p->errlen)
		return -EINVAL;
	/* A setting from an @include'd file carries that file's name. */
	if (!file) {
		file = p->name;
	} else if (file[0] != '/' && p->dir) {
		dir = p->dir;
		sep = "/";
	}
	if (!file)
		n = snprintf(p->err, p->errlen, "%s", p->ctx);
	else if (line)
		n = snprintf(p->err, p->errlen, "%s%s%s:%u: %s", dir, sep, file, line, p->ctx);
	else
		n = snprintf(p->err, p->errlen, "%s%s%s: %s", dir, sep, file, p->ctx);
	if (n < 0 || (size_t)n >= p->errlen)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int cfgp_fail_nomem(struct cfg_parser *p)
{
	if (p->err && p->errlen)
		snprintf(p->err, p->errlen, "%s%sout of memory", p->name ? p->name : "",
			 p->name ? ": " : "");
	return -ENOMEM;
}

/* Appends to the context; returns the length to restore with ctx_pop. */
size_t cfgp_ctx_push(struct cfg_parser *p, const char *fmt, ...)
{
	size_t len = strlen(p->ctx);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->ctx + len, sizeof(p->ctx) - len, fmt, ap);
	va_end(ap);
	return len;
}

void cfgp_ctx_pop(struct cfg_parser *p, size_t len)
{
	p->ctx[len] = '\0';
}

unsigned int cfgp_setting_line(const config_setting_t *s)
{
	return config_setting_source_line(s);
}

/* Levenshtein distance, for "did you mean". Names longer than the row
 * are too far from any setting to be worth a hint.
 */
static unsigned int edit_distance(const char *a, const char *b)
{
	unsigned int row[33];
	size_t la = strlen(a), lb = strlen(b);

	if (la >= ARRAY_SIZE(row) || lb >= ARRAY_SIZE(row))
		return ~0u;
	for (size_t j = 0; j <= lb; j++)
		row[j] = (unsigned int)j;
	for (size_t i = 1; i <= la; i++) {
		unsigned int diag = row[0];

		row[0] = (unsigned int)i;
		for (size_t j = 1; j <= lb; j++) {
			unsigned int up = row[j];
			unsigned int best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

/* Refuses any member of group not in keys (NULL-terminated). */
int cfgp_check_keys(struct cfg_parser *p, const config_setting_t *group, const char *const *keys)
{
	int n = config_setting_length(group);

	for (int i = 0; i < n; i++) {
		const config_setting_t *s = config_setting_get_elem(group, (unsigned int)i);
		const char *name = config_setting_name(s);
		const char *hint = NULL;
		unsigned int hint_dist = 3; /* at most 2 edits away */
		const char *const *k;

		for (k = keys; *k; k++) {
			unsigned int d;

			if (strcmp(name, *k) == 0)
				break;
			d = edit_distance(name, *k);
			if (d < hint_dist) {
				hint = *k;
				hint_dist = d;
			}
		}
		if (*k)
			continue;
		if (hint)
			return cfgp_fail(p, s, "unknown setting '%s' (did you mean '%s'?)", name,
					 hint);
		return cfgp_fail(p, s, "unknown setting '%s'", name);
	}
	return 0;
}

int cfgp_need(struct cfg_parser *p, const config_setting_t *group, const char *name)
{
	if (!config_setting_get_member(group, name))
		return cfgp_fail(p, group, "%s is required", name);
	return 0;
}

static bool is_list(const config_setting_t *s)
{
	/* An empty [] is an array; let it stand for an empty list. */
	return config_setting_type(s) == CONFIG_TYPE_LIST ||
	       (config_setting_type(s) == CONFIG_TYPE_ARRAY && config_setting_length(s) == 0);
}

bool cfgp_is_int(const config_setting_t *s)
{
	return config_setting_type(s) == CONFIG_TYPE_INT ||
	       config_setting_type(s) == CONFIG_TYPE_INT64;
}

/* Printable and without blanks: no header injection through an http
 * check, no surprises in a log line.
 */
bool cfgp_is_token(const char *s)
{
	for (; *s; s++) {
		if (*s <= ' ' || *s == 0x7f)
			return false;
	}
	return true;
}

/* The typed getters leave *out alone when the setting is absent, so the
 * caller sets the default first.
 */
int cfgp_get_string(struct cfg_parser *p, const config_setting_t *group, const char *name,
		    const char **out)
{
	const config_setting_t *s = config_setting_get_member(group, name);

	if (!s)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return cfgp_fail(p, s, "%s must be a string", name);
	if (!*config_setting_get_string(s))
		return cfgp_fail(p, s, "%s must not be empty", name);
	*out = config_setting_get_string(s);
	return 0;
}

/* The checks on a value, apart from reading it: the setting s (NULL for
 * a control request) named name holds v or text.
 */
static int range_check(struct cfg_parser *p, const config_setting_t *s, const char *name,
		       long long min, long long max, long long v)
{
	if (v < min || v > max)
		return cfgp_fail(p, s, "%s must be between %lld and %lld, not %lld", name, min, max,
				 v);
	return 0;
}

/* One of the words of v; *out becomes its value. */
static int word_value(struct cfg_parser *p, const config_setting_t *s, const char *name,
		      const struct vocab *v, const char *text, int *out)
{
	char list[128];

	if (vocab_value(v, text, out) == 0)
		return 0;
	vocab_join(v, ", ", NULL, list, sizeof(list));
	return cfgp_fail(p, s, "%s '%s' is not one of %s", name, text, list);
}

static bool addr_is_unicast(const __be32 addr[4], __u8 family)
{
	const __u8 *b = (const __u8 *)addr;

	if (family == BNC_FAMILY_IPV4)
		return addr[0] != 0 && b[0] < 224; /* not 0.0.0.0, multicast, class E */
	return (addr[0] | addr[1] | addr[2] | addr[3]) != 0 && b[0] != 0xff;
}

static int addr_value(struct cfg_parser *p, const config_setting_t *s, const char *name,
		      const char *text, __be32 addr[4], __u8 *family)
{
	if (addr_parse(text, addr, family))
		return cfgp_fail(p, s, "%s '%s' is not an IPv4 or IPv6 address", name, text);
	if (!addr_is_unicast(addr, *family))
		return cfgp_fail(p, s, "%s '%s' is not a unicast address", name, text);
	return 0;
}

int cfgp_get_int(struct cfg_parser *p, const config_setting_t *group, const char *name,
		 long long min, long long max, long long *out)
{
	const config_setting_t *s = config_setting_get_member(group, name);
	long long v;
	int err;

	if (!s)
		return 0;
	if (!cfgp_is_int(s))
		return cfgp_fail(p, s, "%s must be an integer", name);
	v = config_setting_get_int64(s);
	err = range_check(p, s, name, min, max, v);
	if (!err)
		*out = v;
	return err;
}

int cfgp_get_u32(struct cfg_parser *p, const config_setting_t *group, const char *name, __u32 min,
		 __u32 max, __u32 *out)
{
	long long v = *out;
	int err = cfgp_get_int(p, group, name, min, max, &v);

	*out = (__u32)v;
	return err;
}

int cfgp_get_enum(struct cfg_parser *p, const config_setting_t *group, const char *name,
		  const struct vocab *v, int *out)
{
	const char *text = NULL;
	int err;

	err = cfgp_get_string(p, group, name, &text);
	if (err || !text)
		return err;
	return word_value(p, config_setting_get_member(group, name), name, v, text, out);
}

static int get_addr(struct cfg_parser *p, const config_setting_t *group, const char *name,
		    __be32 addr[4], __u8 *family)
{
	const char *text = NULL;
	int err;

	err = cfgp_get_string(p, group, name, &text);
	if (err || !text)
		return err;
	return addr_value(p, config_setting_get_member(group, name), name, text, addr, family);
}

/* Milliseconds as seconds, at least one decimal: "2.0", "0.25". */
const char *cfgp_fmt_secs(unsigned int ms, char *buf, size_t len)
{
	size_t n;

	snprintf(buf, len, "%u.%03u", ms / 1000, ms % 1000);
	n = strlen(buf);
	while (n > 0 && buf[n - 1] == '0' && buf[n - 2] != '.')
		buf[--n] = '\0';
	return buf;
}

/* Seconds, integer or float, into milliseconds. */
int cfgp_get_secs(struct cfg_parser *p, const config_setting_t *group, const char *name,
		  unsigned int min_ms, unsigned int max_ms, unsigned int *out)
{
	const config_setting_t *s = config_setting_get_member(group, name);
	char lo[24], hi[24];
	double v, ms;

	if (!s)
		return 0;
	if (cfgp_is_int(s))
		v = (double)config_setting_get_int64(s);
	else if (config_setting_type(s) == CONFIG_TYPE_FLOAT)
		v = config_setting_get_float(s);
	else
		return cfgp_fail(p, s, "%s must be a number of seconds", name);
	ms = v * 1000.0 + 0.5;
	if (!isfinite(v) || v < 0 || ms < (double)min_ms || ms >= (double)max_ms + 1.0)
		return cfgp_fail(p, s, "%s must be between %s and %s s, not %g s", name,
				 cfgp_fmt_secs(min_ms, lo, sizeof(lo)),
				 cfgp_fmt_secs(max_ms, hi, sizeof(hi)), v);
	*out = (unsigned int)ms;
	return 0;
}

/* The later of two settings (either may be NULL): the one a message about
 * a conflict between them should point at.
 */
const config_setting_t *cfgp_later(const config_setting_t *a, const config_setting_t *b)
{
	if (!a)
		return b;
	if (!b)
		return a;
	return cfgp_setting_line(a) >= cfgp_setting_line(b) ? a : b;
}

char *cfgp_dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

bool cfgp_str_equal(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* A command: a list of strings naming a program and its arguments. */
int cfgp_parse_command(struct cfg_parser *p, const config_setting_t *s)
{
	int n;

	if (config_setting_type(s) != CONFIG_TYPE_ARRAY &&
	    config_setting_type(s) != CONFIG_TYPE_LIST)
		return cfgp_fail(p, s,
				 "command must be a list of strings, [\"program\", \"arg\", ...]");
	n = config_setting_length(s);
	if (n == 0)
		return cfgp_fail(p, s, "command is empty");
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned int)i);

		if (config_setting_type(e) != CONFIG_TYPE_STRING)
			return cfgp_fail(p, e, "command must be a list of strings");
	}
	if (!*config_setting_get_string_elem(s, 0))
		return cfgp_fail(p, s, "command names no program");
	return 0;
}

/* A command that cfgp_parse_command() accepted, as an argv of its own. */
int cfgp_build_argv(const config_setting_t *cmd, char ***out)
{
	int n = config_setting_length(cmd);
	char **argv = calloc((size_t)n + 1, sizeof(*argv));

	*out = NULL;
	if (!argv)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		argv[i] = strdup(config_setting_get_string_elem(cmd, i));
		if (!argv[i]) {
			strv_free(argv);
			return -ENOMEM;
		}
	}
	*out = argv;
	return 0;
}

/* "10.0.0.1:80" or "[fd00::1]:80". */
int cfg_backend_fits(const struct cfg *c, __u8 forwarding, const __be32 vip_addr[4],
		     __u8 vip_family, __u16 vip_port, const struct cfg_backend *b,
		     const char **setting, char *err, size_t errlen)
{
	*setting = "address";
	/* dsr and ipip forward the client's packet as it came: a backend
	 * that listens on another port never sees it.
	 */
	if (b->port != vip_port) {
		*setting = "port";
		snprintf(err, errlen,
			 "port %u differs from the vip's port %u: dsr and ipip do not rewrite "
			 "ports (check.port checks another port)",
			 b->port, vip_port);
		return -EINVAL;
	}
	if (b->family == vip_family && memcmp(b->addr, vip_addr, sizeof(b->addr)) == 0) {
		snprintf(err, errlen, "address is the vip's own address");
		return -EINVAL;
	}
	if (forwarding == BNC_FWD_DSR && b->family != vip_family) {
		snprintf(
			err, errlen,
			"an IPv%u backend of an IPv%u vip needs forwarding \"ipip\": dsr keeps the "
			"packet's addresses",
			b->family, vip_family);
		return -EINVAL;
	}
	if (forwarding == BNC_FWD_IPIP && ((b->family == BNC_FAMILY_IPV4 && !c->has_ipip_src4) ||
					   (b->family == BNC_FAMILY_IPV6 && !c->has_ipip_src6))) {
		snprintf(err, errlen, "forwarding ipip to an IPv%u backend needs ipip_source.v%u",
			 b->family, b->family);
		return -EINVAL;
	}
	return 0;
}

static void fmt_addr_port(const __be32 addr[4], __u8 family, __u16 port, char *buf, size_t len)
{
	char a[ADDR_STRLEN];

	addr_format(addr, family, a, sizeof(a));
	if (family == BNC_FAMILY_IPV6)
		snprintf(buf, len, "[%s]:%u", a, port);
	else
		snprintf(buf, len, "%s:%u", a, port);
}

static const char *const backend_keys[] = { "address", "port", "weight", "state", "check", NULL };

static int parse_backend(struct cfg_parser *p, struct cfg *c, struct cfg_vip *v,
			 const struct cfgp_check_spec *vspec, const config_setting_t *s, size_t idx)
{
	struct cfg_backend *b = &v->backends[idx];
	const config_setting_t *chk, *at_addr;
	struct cfgp_check_spec bspec = { 0 }, merged;
	char name[ADDR_STRLEN + 8], why[160];
	const char *setting;
	long long port = v->port;
	int admin = CFG_ADMIN_READY;
	size_t ctx;
	int err;

	ctx = cfgp_ctx_push(p, "backend %zu: ", idx + 1);
	if (config_setting_type(s) != CONFIG_TYPE_GROUP) {
		err = cfgp_fail(p, s, "must be a group { address = ...; }");
		goto cleanup;
	}
	b->line = (int)cfgp_setting_line(s);
	b->weight = 1;
	if (++p->nbackends > BNC_MAX_BACKENDS) {
		err = cfgp_fail(p, s, "more than %d backends in all", BNC_MAX_BACKENDS);
		goto cleanup;
	}
	err = cfgp_check_keys(p, s, backend_keys);
	if (!err)
		err = cfgp_need(p, s, "address");
	if (!err)
		err = get_addr(p, s, "address", b->addr, &b->family);
	if (!err)
		err = cfgp_get_int(p, s, "port", 1, 65535, &port);
	if (err)
		goto cleanup;
	b->port = (__u16)port;
	at_addr = config_setting_get_member(s, "address");

	cfgp_ctx_pop(p, ctx);
	fmt_addr_port(b->addr, b->family, b->port, name, sizeof(name));
	cfgp_ctx_push(p, "backend %s: ", name);
	if (cfg_backend_fits(c, v->forwarding, v->addr, v->family, v->port, b, &setting, why,
			     sizeof(why))) {
		err = cfgp_fail(p, config_setting_get_member(s, setting), "%s", why);
		goto cleanup;
	}
	for (size_t j = 0; j < idx; j++) {
		const struct cfg_backend *o = &v->backends[j];

		if (o->family == b->family && o->port == b->port &&
		    memcmp(o->addr, b->addr, sizeof(o->addr)) == 0) {
			err = cfgp_fail(p, at_addr, "duplicate of the backend at line %d", o->line);
			goto cleanup;
		}
	}
	err = cfgp_get_u32(p, s, "weight", 0, WEIGHT_MAX, &b->weight);
	if (!err)
		err = cfgp_get_enum(p, s, "state", &vocab_admin, &admin);
	if (err)
		goto cleanup;
	b->admin = (enum cfg_admin)admin;

	chk = config_setting_get_member(s, "check");
	if (!chk) {
		err = cfgp_check_resolve(p, vspec, &b->check);
		goto cleanup;
	}
	cfgp_ctx_push(p, "check: ");
	err = cfgp_check_parse(p, chk, true, vspec->at[CK_TYPE] ? vspec->type : CFG_CHECK_NONE,
			       &bspec);
	if (err)
		goto cleanup;
	cfgp_check_merge(vspec, &bspec, &merged);
	err = cfgp_check_resolve(p, &merged, &b->check);
cleanup:
	cfgp_ctx_pop(p, ctx);
	return err;
}

static const char *const vip_keys[] = { "name",	      "address",   "port",    "protocol",
					"forwarding", "ring_size", "hash",    "fail",
					"check",      "backends",  "workers", NULL };

/* Printable, no blanks or quotes: names go into requests and labels. */
static bool vip_name_ok(const char *name)
{
	if (strlen(name) > NAME_MAX_LEN || !cfgp_is_token(name))
		return false;
	return !strpbrk(name, "\"'\\");
}

/* Smallest prime >= n, for a helpful message; 0 if none up to max. */
static __u32 next_prime(__u32 n, __u32 max)
{
	for (; n <= max; n++) {
		if (maglev_is_prime(n))
			return n;
	}
	return 0;
}

static int parse_vip_backends(struct cfg_parser *p, struct cfg *c, struct cfg_vip *v,
			      const struct cfgp_check_spec *vspec, const config_setting_t *list)
{
	int n;

	if (!is_list(list))
		return cfgp_fail(p, list, "backends must be a list ( { address = ...; }, ... )");
	n = config_setting_length(list);
	if (n == 0)
		return 0;
	v->backends = calloc((size_t)n, sizeof(*v->backends));
	if (!v->backends)
		return cfgp_fail_nomem(p);
	for (int i = 0; i < n; i++) {
		int err;

		/* Counted first: cfg_free frees what a failed one holds. */
		v->nbackends++;
		err = parse_backend(p, c, v, vspec, config_setting_get_elem(list, (unsigned int)i),
				    (size_t)i);
		if (err)
			return err;
	}
	return 0;
}

/* "10.0.0.1:80/tcp": a VIP's service, and its name when it has none. */
static void vip_service(const struct cfg_vip *v, char *buf, size_t len)
{
	size_t n;

	fmt_addr_port(v->addr, v->family, v->port, buf, len);
	n = strlen(buf);
	snprintf(buf + n, len - n, "/%s", vocab_name(&vocab_protocol, v->proto));
}

/* The member key of a VIP's group, whose line a message names; NULL for a
 * VIP from a control request, which has no group.
 */
static const config_setting_t *vip_at(const config_setting_t *s, const char *key)
{
	return s ? config_setting_get_member(s, key) : NULL;
}

/* Defaults and checks of a VIP's own settings, the config file's and a
 * vip.add request's alike: what a says (as written, before any default)
 * into v, in two steps so that the file can check for a duplicate between
 * them. s is the VIP's group in the file, NULL for a request.
 *
 * The first: the address, port and protocol, and the name (by default
 * "ADDR:PORT/PROTO"). Until the name is known, messages carry the context
 * the caller pushed at ctx ("vip 1: "); then "vip 'NAME': ".
 */
static int vip_identity(struct cfg_parser *p, const config_setting_t *s, size_t ctx,
			const struct cfg_vip_args *a, struct cfg_vip *v)
{
	char buf[ADDR_STRLEN + 16];
	int proto = IPPROTO_TCP;
	int err;

	if (a->name) {
		cfgp_ctx_pop(p, ctx);
		cfgp_ctx_push(p, "vip '%s': ", a->name);
	}
	if (!a->address)
		return cfgp_fail(p, s, "address is required");
	err = addr_value(p, vip_at(s, "address"), "address", a->address, v->addr, &v->family);
	if (!err && !a->has_port)
		err = cfgp_fail(p, s, "port is required");
	if (!err)
		err = range_check(p, vip_at(s, "port"), "port", 1, 65535, a->port);
	if (!err && a->protocol)
		err = word_value(p, vip_at(s, "protocol"), "protocol", &vocab_protocol, a->protocol,
				 &proto);
	if (err)
		return err;
	v->port = (__u16)a->port;
	v->proto = (__u8)proto;

	vip_service(v, buf, sizeof(buf));
	v->name = strdup(a->name ? a->name : buf);
	if (!v->name)
		return cfgp_fail_nomem(p);
	cfgp_ctx_pop(p, ctx);
	cfgp_ctx_push(p, "vip '%s': ", v->name);
	if (a->name && !vip_name_ok(a->name))
		return cfgp_fail(p, vip_at(s, "name"),
				 "name must be at most %d printable characters, no blanks "
				 "or quotes",
				 NAME_MAX_LEN);
	return 0;
}

/* The second: forwarding, ring size, hash, fail mode and the check. spec
 * becomes the VIP's check as its backends' blocks inherit it.
 */
static int vip_options(struct cfg_parser *p, const config_setting_t *s,
		       const struct cfg_vip_args *a, struct cfgp_check_spec *spec,
		       struct cfg_vip *v)
{
	const config_setting_t *at_ring = vip_at(s, "ring_size"), *chk = vip_at(s, "check");
	int fwd = BNC_FWD_DSR, hash = CFG_HASH_5TUPLE, failmode = CFG_FAIL_OPEN;
	size_t ctx_chk;
	int err = 0;

	if (a->forwarding)
		err = word_value(p, vip_at(s, "forwarding"), "forwarding", &vocab_forwarding,
				 a->forwarding, &fwd);
	if (!err && a->has_ring_size)
		err = range_check(p, at_ring, "ring_size", 2, BNC_RING_SIZE_MAX, a->ring_size);
	if (!err && a->hash)
		err = word_value(p, vip_at(s, "hash"), "hash", &vocab_hash, a->hash, &hash);
	if (!err && a->fail)
		err = word_value(p, vip_at(s, "fail"), "fail", &vocab_fail, a->fail, &failmode);
	if (err)
		return err;
	v->forwarding = (__u8)fwd;
	v->ring_size = a->has_ring_size ? (__u32)a->ring_size : BNC_RING_SIZE_DEFAULT;
	v->sticky = hash == CFG_HASH_SOURCE;
	v->fail_open = failmode == CFG_FAIL_OPEN;
	if (!maglev_is_prime(v->ring_size)) {
		__u32 next = next_prime(v->ring_size, BNC_RING_SIZE_MAX);

		if (next)
			return cfgp_fail(p, at_ring, "ring_size %u is not a prime (%u is)",
					 v->ring_size, next);
		return cfgp_fail(p, at_ring, "ring_size %u is not a prime", v->ring_size);
	}

	/* Without a check block: the type a asks for (none from the file),
	 * with the default timing.
	 */
	ctx_chk = cfgp_ctx_push(p, "check: ");
	if (chk)
		err = cfgp_check_parse(p, chk, false, CFG_CHECK_NONE, spec);
	else
		spec->type = a->check;
	if (!err)
		err = cfgp_check_resolve(p, spec, &v->check);
	cfgp_ctx_pop(p, ctx_chk);
	return err;
}

int cfg_vip_init(struct cfg_vip *v, const struct cfg_vip_args *a, char *err, size_t errlen)
{
	struct cfg_parser p = { .err = err, .errlen = errlen };
	struct cfgp_check_spec spec = { 0 };
	int ret;

	memset(v, 0, sizeof(*v));
	if (err && errlen)
		err[0] = '\0';
	ret = vip_identity(&p, NULL, 0, a, v);
	if (!ret)
		ret = vip_options(&p, NULL, a, &spec, v);
	return ret;
}

/* The settings of a VIP's group, type-checked only: what they mean is
 * for vip_identity() and vip_options(). Each getter leaves an absent one
 * NULL (or has_* false).
 */
static int vip_read_identity(struct cfg_parser *p, const config_setting_t *s,
			     struct cfg_vip_args *a)
{
	int err = cfgp_get_string(p, s, "address", &a->address);

	/* A missing address or port is reported before what comes after. */
	if (err || !a->address)
		return err;
	a->has_port = config_setting_get_member(s, "port") != NULL;
	err = cfgp_get_int(p, s, "port", LLONG_MIN, LLONG_MAX, &a->port);
	if (err || !a->has_port)
		return err;
	return cfgp_get_string(p, s, "protocol", &a->protocol);
}

static int vip_read_options(struct cfg_parser *p, const config_setting_t *s, struct cfg_vip_args *a)
{
	int err;

	err = cfgp_get_string(p, s, "forwarding", &a->forwarding);
	if (!err) {
		a->has_ring_size = config_setting_get_member(s, "ring_size") != NULL;
		err = cfgp_get_int(p, s, "ring_size", LLONG_MIN, LLONG_MAX, &a->ring_size);
	}
	if (!err)
		err = cfgp_get_string(p, s, "hash", &a->hash);
	if (!err)
		err = cfgp_get_string(p, s, "fail", &a->fail);
	return err;
}

static int parse_vip(struct cfg_parser *p, struct cfg *c, const config_setting_t *s, size_t idx)
{
	struct cfg_vip *v = &c->vips[idx];
	const config_setting_t *at_name, *at_ring, *list, *wk;
	struct cfgp_check_spec spec = { 0 };
	struct cfg_vip_args a = { 0 };
	char buf[ADDR_STRLEN + 16];
	size_t ctx;
	int err;

	ctx = cfgp_ctx_push(p, "vip %zu: ", idx + 1);
	if (config_setting_type(s) != CONFIG_TYPE_GROUP) {
		err = cfgp_fail(p, s, "must be a group { address = ...; }");
		goto cleanup;
	}
	v->line = (int)cfgp_setting_line(s);
	err = cfgp_check_keys(p, s, vip_keys);
	if (!err)
		err = cfgp_get_string(p, s, "name", &a.name);
	if (err)
		goto cleanup;
	if (a.name) {
		cfgp_ctx_pop(p, ctx);
		cfgp_ctx_push(p, "vip '%s': ", a.name);
	}
	err = vip_read_identity(p, s, &a);
	if (!err)
		err = vip_identity(p, s, ctx, &a, v);
	if (err)
		goto cleanup;
	at_name = config_setting_get_member(s, "name");
	vip_service(v, buf, sizeof(buf));
	for (size_t j = 0; j < idx; j++) {
		const struct cfg_vip *o = &c->vips[j];

		if (o->family == v->family && o->port == v->port && o->proto == v->proto &&
		    memcmp(o->addr, v->addr, sizeof(o->addr)) == 0) {
			err = cfgp_fail(p, config_setting_get_member(s, "address"),
					"%s is already vip '%s' (line %d)", buf, o->name, o->line);
			goto cleanup;
		}
		if (strcmp(o->name, v->name) == 0) {
			err = cfgp_fail(p, at_name ? at_name : s,
					"name is already used by the vip at line %d", o->line);
			goto cleanup;
		}
	}
	err = vip_read_options(p, s, &a);
	if (!err)
		err = vip_options(p, s, &a, &spec, v);
	if (err)
		goto cleanup;

	list = config_setting_get_member(s, "backends");
	if (list) {
		err = parse_vip_backends(p, c, v, &spec, list);
		if (err)
			goto cleanup;
	}
	/* A VIP may have backends, local workers, or both. */
	wk = config_setting_get_member(s, "workers");
	if (wk) {
		err = cfgp_workers_parse(p, v, wk);
		if (err)
			goto cleanup;
	}
	err = cfgp_vip_ports_check(p, c, idx, s);
	if (err)
		goto cleanup;
	/* Maglev gives every backend, local workers too, at least one slot. */
	at_ring = config_setting_get_member(s, "ring_size");
	if (v->nbackends + (v->workers ? v->workers->count : 0) > v->ring_size)
		err = cfgp_fail(p, at_ring ? at_ring : s,
				"ring_size %u is smaller than the number of backends (%zu)",
				v->ring_size, v->nbackends + (v->workers ? v->workers->count : 0));
cleanup:
	cfgp_ctx_pop(p, ctx);
	return err;
}

static int parse_vips(struct cfg_parser *p, struct cfg *c, const config_setting_t *list)
{
	int n;

	if (!is_list(list))
		return cfgp_fail(p, list, "vips must be a list ( { address = ...; }, ... )");
	n = config_setting_length(list);
	if (n > BNC_MAX_VIPS)
		return cfgp_fail(p, config_setting_get_elem(list, BNC_MAX_VIPS),
				 "more than %d vips", BNC_MAX_VIPS);
	if (n == 0)
		return 0;
	c->vips = calloc((size_t)n, sizeof(*c->vips));
	if (!c->vips)
		return cfgp_fail_nomem(p);
	for (int i = 0; i < n; i++) {
		int err;

		/* Counted first: cfg_free frees what a failed one holds. */
		c->nvips++;
		err = parse_vip(p, c, config_setting_get_elem(list, (unsigned int)i), (size_t)i);
		if (err)
			return err;
	}
	return 0;
}

/* Linux's dev_valid_name(). */
static bool ifname_ok(const char *name)
{
	return strlen(name) < IFNAMSIZ && strcmp(name, ".") != 0 && strcmp(name, "..") != 0 &&
	       cfgp_is_token(name) && !strpbrk(name, "/:");
}

static int parse_interfaces(struct cfg_parser *p, struct cfg *c, const config_setting_t *root)
{
	const config_setting_t *s = config_setting_get_member(root, "interfaces");
	int n;

	if (!s)
		return cfgp_fail(p, root, "interfaces is required");
	if (config_setting_type(s) != CONFIG_TYPE_ARRAY &&
	    config_setting_type(s) != CONFIG_TYPE_LIST)
		return cfgp_fail(p, s,
				 "interfaces must be a list of device names, [\"eth0\", ...]");
	n = config_setting_length(s);
	if (n == 0)
		return cfgp_fail(p, s, "interfaces must name at least one device");
	c->interfaces = calloc((size_t)n, sizeof(*c->interfaces));
	if (!c->interfaces)
		return cfgp_fail_nomem(p);
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned int)i);
		const char *name;

		if (config_setting_type(e) != CONFIG_TYPE_STRING)
			return cfgp_fail(p, e, "interfaces must be a list of device names");
		name = config_setting_get_string(e);
		if (!ifname_ok(name))
			return cfgp_fail(p, e, "'%s' is not a valid device name", name);
		for (size_t j = 0; j < c->ninterfaces; j++) {
			if (strcmp(c->interfaces[j], name) == 0)
				return cfgp_fail(p, e, "interface '%s' is listed twice", name);
		}
		c->interfaces[i] = strdup(name);
		if (!c->interfaces[i])
			return cfgp_fail_nomem(p);
		c->ninterfaces++;
	}
	return 0;
}

static int parse_path(struct cfg_parser *p, const config_setting_t *root, const char *name,
		      size_t max_len, char **out)
{
	const config_setting_t *s = config_setting_get_member(root, name);
	const char *v = NULL;
	int err;

	err = cfgp_get_string(p, root, name, &v);
	if (err || !v)
		return err;
	if (v[0] != '/')
		return cfgp_fail(p, s, "%s '%s' must be an absolute path", name, v);
	if (strlen(v) > max_len)
		return cfgp_fail(p, s, "%s is longer than %zu characters", name, max_len);
	free(*out);
	*out = strdup(v);
	return *out ? 0 : cfgp_fail_nomem(p);
}

static int parse_ipip_source(struct cfg_parser *p, struct cfg *c, const config_setting_t *g)
{
	static const char *const keys[] = { "v4", "v6", NULL };
	const config_setting_t *s;
	size_t ctx = cfgp_ctx_push(p, "ipip_source: ");
	__be32 addr[4];
	__u8 family = 0;
	int err;

	if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
		err = cfgp_fail(p, g, "must be a group { v4 = ...; v6 = ...; }");
		goto cleanup;
	}
	err = cfgp_check_keys(p, g, keys);
	if (err)
		goto cleanup;
	for (int i = 0; keys[i]; i++) {
		__u8 want = i == 0 ? BNC_FAMILY_IPV4 : BNC_FAMILY_IPV6;

		s = config_setting_get_member(g, keys[i]);
		if (!s)
			continue;
		err = get_addr(p, g, keys[i], addr, &family);
		if (err)
			goto cleanup;
		if (family != want) {
			err = cfgp_fail(p, s, "%s must be an IPv%u address", keys[i], want);
			goto cleanup;
		}
		if (want == BNC_FAMILY_IPV4) {
			c->ipip_src4 = addr[0];
			c->has_ipip_src4 = true;
		} else {
			memcpy(c->ipip_src6, addr, sizeof(c->ipip_src6));
			c->has_ipip_src6 = true;
		}
	}
cleanup:
	cfgp_ctx_pop(p, ctx);
	return err;
}

static int parse_metrics(struct cfg_parser *p, struct cfg *c, const config_setting_t *g)
{
	static const char *const keys[] = { "listen", "port", "status_page", NULL };
	size_t ctx = cfgp_ctx_push(p, "metrics: ");
	const config_setting_t *page;
	const char *listen = NULL;
	long long port = c->metrics_port;
	__be32 addr[4];
	__u8 family = 0;
	int err;

	if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
		err = cfgp_fail(p, g, "must be a group { listen = ...; port = ...; }");
		goto cleanup;
	}
	err = cfgp_check_keys(p, g, keys);
	if (!err)
		err = cfgp_get_string(p, g, "listen", &listen);
	if (!err && listen && addr_parse(listen, addr, &family))
		err = cfgp_fail(p, config_setting_get_member(g, "listen"),
				"listen '%s' is not an IPv4 or IPv6 address", listen);
	if (!err)
		err = cfgp_get_int(p, g, "port", 1, 65535, &port);
	page = err ? NULL : config_setting_get_member(g, "status_page");
	if (page && config_setting_type(page) != CONFIG_TYPE_BOOL)
		err = cfgp_fail(p, page, "status_page must be true or false");
	if (err)
		goto cleanup;
	c->metrics = true;
	if (page)
		c->status_page = config_setting_get_bool(page);
	c->metrics_port = (__u16)port;
	if (listen) {
		free(c->metrics_addr);
		c->metrics_addr = strdup(listen);
		if (!c->metrics_addr)
			err = cfgp_fail_nomem(p);
	}
cleanup:
	cfgp_ctx_pop(p, ctx);
	return err;
}

/* The kernel's own tables: a route there would be used for forwarding. */
static bool table_reserved(__u32 table)
{
	return table == RT_TABLE_DEFAULT || table == RT_TABLE_MAIN || table == RT_TABLE_LOCAL;
}

static int parse_announce(struct cfg_parser *p, struct cfg *c, const config_setting_t *g)
{
	static const char *const keys[] = { "table", "withdraw_wait", NULL };
	size_t ctx = cfgp_ctx_push(p, "announce: ");
	int err;

	if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
		err = cfgp_fail(p, g, "must be a group { table = ...; }");
		goto cleanup;
	}
	err = cfgp_check_keys(p, g, keys);
	if (!err)
		err = cfgp_need(p, g, "table");
	if (!err)
		err = cfgp_get_u32(p, g, "table", 1, UINT32_MAX, &c->announce_table);
	if (!err && table_reserved(c->announce_table))
		err = cfgp_fail(p, config_setting_get_member(g, "table"),
				"table %u is one of the kernel's own (default, main, local): give "
				"the agent a table of its own",
				c->announce_table);
	if (!err)
		err = cfgp_get_secs(p, g, "withdraw_wait", 0, ANNOUNCE_WITHDRAW_WAIT_MAX_MS,
				    &c->announce_withdraw_wait_ms);
	if (!err)
		c->announce = true;
cleanup:
	cfgp_ctx_pop(p, ctx);
	return err;
}

/* hash_seed: any 32-bit value, in decimal or hex. libconfig reads a
 * number without the L suffix into an int, so that 0x80000000 and above
 * come out negative: a hex literal has no sign, and stands for its 32
 * bits. Before 1.7, libconfig does the same to a decimal literal above
 * INT_MAX, which cannot be told from a negative one: that is refused, with
 * the spellings libconfig reads right.
 */
static int parse_hash_seed(struct cfg_parser *p, const config_setting_t *root, __u32 *out)
{
	const config_setting_t *s = config_setting_get_member(root, "hash_seed");
	long long v;
	__u32 bits;
	int err;

	if (!s)
		return 0;
	if (!cfgp_is_int(s))
		return cfgp_fail(p, s, "hash_seed must be an integer");
	v = config_setting_get_int64(s);
	bits = (__u32)v;
	if (config_setting_type(s) == CONFIG_TYPE_INT && v < 0) {
		if (config_setting_get_format(s) == CONFIG_FORMAT_HEX)
			v = bits;
		else
			return cfgp_fail(
				p, s,
				"hash_seed must be between 0 and %u, not %lld (if the file "
				"says %u: libconfig may read a decimal value above %d as "
				"negative; write 0x%x or %uL)",
				UINT32_MAX, v, bits, INT_MAX, bits, bits);
	}
	err = range_check(p, s, "hash_seed", 0, UINT32_MAX, v);
	if (!err)
		*out = (__u32)v;
	return err;
}

static const char *const top_keys[] = { "interfaces",
					"mode",
					"log_level",
					"pin_dir",
					"control_socket",
					"flow_table_size",
					"hash_seed",
					"ring_history_idle",
					"ipip_source",
					"metrics",
					"announce",
					"vips",
					NULL };

static int parse_root(struct cfg_parser *p, const config_setting_t *root, struct cfg *c)
{
	const config_setting_t *s;
	int mode = CFG_ATTACH_NATIVE, level = LOG_LEVEL_INFO;
	int err;

	err = cfgp_check_keys(p, root, top_keys);
	if (!err)
		err = parse_interfaces(p, c, root);
	if (!err)
		err = cfgp_get_enum(p, root, "mode", &vocab_attach_mode, &mode);
	if (!err)
		err = cfgp_get_enum(p, root, "log_level", &vocab_log_level, &level);
	if (!err)
		err = parse_path(p, root, "pin_dir", 255, &c->pin_dir);
	if (!err)
		err = parse_path(p, root, "control_socket",
				 sizeof(((struct sockaddr_un *)NULL)->sun_path) - 1,
				 &c->control_socket);
	if (!err)
		err = cfgp_get_u32(p, root, "flow_table_size", FLOW_TABLE_MIN, FLOW_TABLE_MAX,
				   &c->flow_table_size);
	if (!err)
		err = parse_hash_seed(p, root, &c->hash_seed);
	if (!err)
		err = cfgp_get_u32(p, root, "ring_history_idle", 1, RING_HISTORY_IDLE_MAX,
				   &c->ring_history_idle);
	if (err)
		return err;
	c->mode = (enum cfg_attach_mode)mode;
	c->log_level = (enum log_level)level;

	/* Before the VIPs: an ipip VIP needs the source of its families. */
	s = config_setting_get_member(root, "ipip_source");
	if (s) {
		err = parse_ipip_source(p, c, s);
		if (err)
			return err;
	}
	s = config_setting_get_member(root, "metrics");
	if (s) {
		err = parse_metrics(p, c, s);
		if (err)
			return err;
	}
	s = config_setting_get_member(root, "announce");
	if (s) {
		err = parse_announce(p, c, s);
		if (err)
			return err;
	}
	s = config_setting_get_member(root, "vips");
	if (s)
		return parse_vips(p, c, s);
	return 0;
}

/* Parses a config that libconfig has read. */
static int cfg_from_config(const config_t *lc, const char *name, const char *dir, struct cfg **out,
			   char *err, size_t errlen)
{
	struct cfg_parser p = { .name = name, .dir = dir, .err = err, .errlen = errlen };
	struct cfg *c;
	int ret;

	c = calloc(1, sizeof(*c));
	if (!c)
		return cfgp_fail_nomem(&p);
	c->mode = CFG_ATTACH_NATIVE;
	c->log_level = LOG_LEVEL_INFO;
	c->metrics_port = CFG_DEFAULT_METRICS_PORT;
	c->status_page = true;
	c->announce_withdraw_wait_ms = ANNOUNCE_WITHDRAW_WAIT_DEFAULT_MS;
	c->flow_table_size = BNC_MAX_FLOWS;
	c->hash_seed = BNC_HASH_SEED;
	c->ring_history_idle = CFG_DEFAULT_RING_HISTORY_IDLE;
	c->path = strdup(name);
	c->pin_dir = strdup(CFG_DEFAULT_PIN_DIR);
	c->control_socket = strdup(CFG_DEFAULT_SOCKET);
	c->metrics_addr = strdup("127.0.0.1");
	if (!c->path || !c->pin_dir || !c->control_socket || !c->metrics_addr) {
		ret = cfgp_fail_nomem(&p);
		goto cleanup;
	}
	ret = parse_root(&p, config_root_setting(lc), c);
cleanup:
	if (ret) {
		cfg_free(c);
		return ret;
	}
	*out = c;
	return 0;
}

/* libconfig's own message: a syntax error, a duplicate setting, a missing
 * @include file.
 */
static int read_error(const config_t *lc, const char *name, const char *dir, char *err,
		      size_t errlen)
{
	const char *file = config_error_file(lc);
	bool in_dir = file && file[0] != '/' && dir;

	if (err && errlen)
		snprintf(err, errlen, "%s%s%s:%d: %s", in_dir ? dir : "", in_dir ? "/" : "",
			 file ? file : name, config_error_line(lc), config_error_text(lc));
	return -EINVAL;
}

int cfg_parse_string(const char *text, const char *name, struct cfg **out, char *err, size_t errlen)
{
	config_t lc;
	int ret;

	*out = NULL;
	config_init(&lc);
	if (!config_read_string(&lc, text))
		ret = read_error(&lc, name, NULL, err, errlen);
	else
		ret = cfg_from_config(&lc, name, NULL, out, err, errlen);
	config_destroy(&lc);
	return ret;
}

int cfg_load(const char *path, struct cfg **out, char *err, size_t errlen)
{
	const char *incdir;
	char *dir = NULL;
	struct stat st;
	FILE *f = NULL;
	config_t lc;
	int ret;

	*out = NULL;
	config_init(&lc);
	/* Opened here rather than by libconfig, which keeps no errno. */
	f = fopen(path, "re");
	if (!f || fstat(fileno(f), &st)) {
		ret = -errno;
		goto io_error;
	}
	if (S_ISDIR(st.st_mode)) {
		ret = -EISDIR;
		goto io_error;
	}
	/* @include "x" is relative to the including file, not to the cwd. */
	dir = strdup(path);
	if (!dir) {
		ret = -ENOMEM;
		goto io_error;
	}
	incdir = dirname(dir);
	config_set_include_dir(&lc, incdir);
	if (!config_read(&lc, f))
		ret = read_error(&lc, path, incdir, err, errlen);
	else
		ret = cfg_from_config(&lc, path, incdir, out, err, errlen);
	goto cleanup;
io_error:
	if (err && errlen)
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
cleanup:
	free(dir);
	/* Read only: a failing close loses nothing. */
	if (f)
		(void)fclose(f);
	config_destroy(&lc);
	return ret;
}

void cfg_free(struct cfg *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nvips; i++)
		cfg_vip_release(&c->vips[i]);
	free(c->vips);
	for (size_t i = 0; i < c->ninterfaces; i++)
		free(c->interfaces[i]);
	free(c->interfaces);
	free(c->path);
	free(c->pin_dir);
	free(c->control_socket);
	free(c->metrics_addr);
	free(c);
}

void cfg_vip_release(struct cfg_vip *v)
{
	for (size_t j = 0; j < v->nbackends; j++)
		cfg_check_free(&v->backends[j].check);
	free(v->backends);
	cfg_workers_free(v->workers);
	cfg_check_free(&v->check);
	free(v->name);
	memset(v, 0, sizeof(*v));
}

struct cfg_vip *cfg_vip_find(const struct cfg *c, const char *name)
{
	for (size_t i = 0; i < c->nvips; i++) {
		if (strcmp(c->vips[i].name, name) == 0)
			return &c->vips[i];
	}
	return NULL;
}

void cfg_vip_key(const struct cfg_vip *cv, struct bnc_vip_key *key)
{
	memset(key, 0, sizeof(*key));
	memcpy(key->addr, cv->addr, sizeof(key->addr));
	key->port = htons(cv->port);
	key->proto = cv->proto;
	key->family = cv->family;
}

const char *cfg_admin_name(enum cfg_admin admin)
{
	return vocab_name(&vocab_admin, (int)admin);
}

int cfg_admin_parse(const char *s, enum cfg_admin *out)
{
	int v;

	if (vocab_value(&vocab_admin, s, &v))
		return -EINVAL;
	*out = (enum cfg_admin)v;
	return 0;
}
