// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The config file's health checks: a VIP's check block, a backend's block
 * merged over its VIP's, the defaults, and the checks' own copies, which
 * the agent keeps beyond the life of the config they came from.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libconfig.h>

#include "config.h"
#include "config_parser.h"

#define CHECK_TIME_MAX_MS 3600000u /* one hour */
#define CHECK_COUNT_MAX 100u /* rise, fall */

/* Health check defaults (config.h). */
#define CHECK_INTERVAL_MS 2000u
#define CHECK_TIMEOUT_MS 1000u
#define CHECK_RISE 2u
#define CHECK_FALL 3u
#define HTTP_STATUS_MIN 200u
#define HTTP_STATUS_MAX 399u

static const char *const check_keys_list[] = {
	[CK_TYPE] = "type",	  [CK_INTERVAL] = "interval",
	[CK_TIMEOUT] = "timeout", [CK_RISE] = "rise",
	[CK_FALL] = "fall",	  [CK_JITTER] = "jitter",
	[CK_PORT] = "port",	  [CK_PATH] = "path",
	[CK_HOST] = "host",	  [CK_STATUS] = "status",
	[CK_EXPECT] = "expect",	  [CK_SEND] = "send",
	[CK_COMMAND] = "command", [CK_MAX] = NULL,
};

#define CK_BIT(f) (1u << (f))
#define CK_TYPE_SPECIFIC \
	(CK_BIT(CK_PATH) | CK_BIT(CK_HOST) | CK_BIT(CK_STATUS) | CK_BIT(CK_EXPECT) | \
	 CK_BIT(CK_SEND) | CK_BIT(CK_COMMAND))

/* The type-specific fields a check of this type takes. */
static unsigned int check_type_fields(enum cfg_check_type type)
{
	switch (type) {
	case CFG_CHECK_HTTP:
		return CK_BIT(CK_PATH) | CK_BIT(CK_HOST) | CK_BIT(CK_STATUS) | CK_BIT(CK_EXPECT);
	case CFG_CHECK_UDP:
		return CK_BIT(CK_SEND) | CK_BIT(CK_EXPECT);
	case CFG_CHECK_EXEC:
		return CK_BIT(CK_COMMAND);
	default:
		return 0;
	}
}

static int parse_status(struct cfg_parser *p, const config_setting_t *s, struct cfgp_check_spec *sp)
{
	long long v[2];

	/* One status, or a range [min, max]. */
	if (cfgp_is_int(s)) {
		v[0] = v[1] = config_setting_get_int64(s);
	} else if ((config_setting_type(s) == CONFIG_TYPE_ARRAY ||
		    config_setting_type(s) == CONFIG_TYPE_LIST) &&
		   config_setting_length(s) == 2 && cfgp_is_int(config_setting_get_elem(s, 0)) &&
		   cfgp_is_int(config_setting_get_elem(s, 1))) {
		v[0] = config_setting_get_int64(config_setting_get_elem(s, 0));
		v[1] = config_setting_get_int64(config_setting_get_elem(s, 1));
	} else {
		return cfgp_fail(p, s, "status must be a status or a range [min, max]");
	}
	for (int i = 0; i < 2; i++) {
		if (v[i] < 100 || v[i] > 599)
			return cfgp_fail(p, s, "status %lld is not an HTTP status (100-599)", v[i]);
	}
	if (v[0] > v[1])
		return cfgp_fail(p, s, "status range [%lld, %lld] is empty", v[0], v[1]);
	sp->status_min = (unsigned int)v[0];
	sp->status_max = (unsigned int)v[1];
	return 0;
}

/* Reads one check block. inherited is the type a block without its own
 * type has; a VIP's block has none to inherit and must name its type.
 */
int cfgp_check_parse(struct cfg_parser *p, const config_setting_t *g, bool has_inherited,
		     enum cfg_check_type inherited, struct cfgp_check_spec *sp)
{
	enum cfg_check_type type;
	int v = -1, err;

	if (config_setting_type(g) != CONFIG_TYPE_GROUP)
		return cfgp_fail(p, g, "must be a group { type = ...; }");
	sp->block = g;
	err = cfgp_check_keys(p, g, check_keys_list);
	if (err)
		return err;
	for (int f = 0; f < CK_MAX; f++)
		sp->at[f] = config_setting_get_member(g, check_keys_list[f]);

	err = cfgp_get_enum(p, g, "type", &vocab_check_type, &v);
	if (err)
		return err;
	if (v >= 0)
		sp->type = (enum cfg_check_type)v;
	else if (!has_inherited)
		return cfgp_fail(p, g, "type is required");
	type = v >= 0 ? sp->type : inherited;
	/* A field the type does not use is most likely a mistake about the
	 * type: refuse it rather than ignore it.
	 */
	for (int f = 0; f < CK_MAX; f++) {
		if (sp->at[f] && (CK_BIT(f) & CK_TYPE_SPECIFIC) &&
		    !(CK_BIT(f) & check_type_fields(type)))
			return cfgp_fail(p, sp->at[f], "%s does not apply to a %s check",
					 check_keys_list[f], cfg_check_type_name(type));
	}

	err = cfgp_get_secs(p, g, "interval", 1, CHECK_TIME_MAX_MS, &sp->interval_ms);
	if (!err)
		err = cfgp_get_secs(p, g, "timeout", 1, CHECK_TIME_MAX_MS, &sp->timeout_ms);
	if (!err)
		err = cfgp_get_secs(p, g, "jitter", 0, CHECK_TIME_MAX_MS, &sp->jitter_ms);
	if (!err)
		err = cfgp_get_u32(p, g, "rise", 1, CHECK_COUNT_MAX, &sp->rise);
	if (!err)
		err = cfgp_get_u32(p, g, "fall", 1, CHECK_COUNT_MAX, &sp->fall);
	if (!err)
		err = cfgp_get_u32(p, g, "port", 1, 65535, &sp->port);
	if (!err)
		err = cfgp_get_string(p, g, "path", &sp->path);
	if (!err && sp->path && (sp->path[0] != '/' || !cfgp_is_token(sp->path)))
		err = cfgp_fail(p, sp->at[CK_PATH],
				"path '%s' must start with / and hold no blanks", sp->path);
	if (!err)
		err = cfgp_get_string(p, g, "host", &sp->host);
	if (!err && sp->host && !cfgp_is_token(sp->host))
		err = cfgp_fail(p, sp->at[CK_HOST], "host '%s' must hold no blanks", sp->host);
	if (!err && sp->at[CK_STATUS])
		err = parse_status(p, sp->at[CK_STATUS], sp);
	if (!err)
		err = cfgp_get_string(p, g, "expect", &sp->expect);
	if (!err)
		err = cfgp_get_string(p, g, "send", &sp->send);
	if (!err && sp->at[CK_COMMAND]) {
		err = cfgp_parse_command(p, sp->at[CK_COMMAND]);
		sp->command = sp->at[CK_COMMAND];
	}
	return err;
}

/* A VIP's check with a backend's block on top. */
void cfgp_check_merge(const struct cfgp_check_spec *vip, const struct cfgp_check_spec *b,
		      struct cfgp_check_spec *out)
{
	*out = *vip;
	out->block = b->block;
	/* Another type drops the VIP's fields for its own type. */
	if (b->at[CK_TYPE] && b->type != vip->type) {
		for (int f = 0; f < CK_MAX; f++) {
			if (CK_BIT(f) & CK_TYPE_SPECIFIC)
				out->at[f] = NULL;
		}
	}
#define TAKE(f, field) \
	do { \
		if (b->at[f]) { \
			out->at[f] = b->at[f]; \
			out->field = b->field; \
		} \
	} while (0)
	TAKE(CK_TYPE, type);
	TAKE(CK_INTERVAL, interval_ms);
	TAKE(CK_TIMEOUT, timeout_ms);
	TAKE(CK_RISE, rise);
	TAKE(CK_FALL, fall);
	TAKE(CK_JITTER, jitter_ms);
	TAKE(CK_PORT, port);
	TAKE(CK_PATH, path);
	TAKE(CK_HOST, host);
	TAKE(CK_STATUS, status_min);
	TAKE(CK_STATUS, status_max);
	TAKE(CK_EXPECT, expect);
	TAKE(CK_SEND, send);
	TAKE(CK_COMMAND, command);
#undef TAKE
}

void cfg_check_free(struct cfg_check *ck)
{
	free(ck->http_path);
	free(ck->http_host);
	free(ck->http_expect);
	free(ck->udp_send);
	free(ck->udp_expect);
	if (ck->exec_argv) {
		for (char **a = ck->exec_argv; *a; a++)
			free(*a);
		free(ck->exec_argv);
	}
	memset(ck, 0, sizeof(*ck));
}

int cfg_check_copy(struct cfg_check *dst, const struct cfg_check *src)
{
	size_t n = 0;

	*dst = *src;
	dst->http_path = cfgp_dup_or_null(src->http_path);
	dst->http_host = cfgp_dup_or_null(src->http_host);
	dst->http_expect = cfgp_dup_or_null(src->http_expect);
	dst->udp_send = cfgp_dup_or_null(src->udp_send);
	dst->udp_expect = cfgp_dup_or_null(src->udp_expect);
	dst->exec_argv = NULL;
	if (src->exec_argv) {
		while (src->exec_argv[n])
			n++;
		dst->exec_argv = calloc(n + 1, sizeof(char *));
		for (size_t i = 0; dst->exec_argv && i < n; i++)
			dst->exec_argv[i] = strdup(src->exec_argv[i]);
	}
	if ((src->http_path && !dst->http_path) || (src->http_host && !dst->http_host) ||
	    (src->http_expect && !dst->http_expect) || (src->udp_send && !dst->udp_send) ||
	    (src->udp_expect && !dst->udp_expect) || (src->exec_argv && !dst->exec_argv)) {
		cfg_check_free(dst);
		return -ENOMEM;
	}
	return 0;
}

bool cfg_check_equal(const struct cfg_check *a, const struct cfg_check *b)
{
	size_t i = 0;

	if (a->type != b->type || a->interval_ms != b->interval_ms ||
	    a->timeout_ms != b->timeout_ms || a->rise != b->rise || a->fall != b->fall ||
	    a->jitter_ms != b->jitter_ms || a->port != b->port ||
	    a->http_status_min != b->http_status_min || a->http_status_max != b->http_status_max ||
	    !cfgp_str_equal(a->http_path, b->http_path) ||
	    !cfgp_str_equal(a->http_host, b->http_host) ||
	    !cfgp_str_equal(a->http_expect, b->http_expect) ||
	    !cfgp_str_equal(a->udp_send, b->udp_send) ||
	    !cfgp_str_equal(a->udp_expect, b->udp_expect))
		return false;
	if (!a->exec_argv || !b->exec_argv)
		return a->exec_argv == b->exec_argv;
	for (; a->exec_argv[i] && b->exec_argv[i]; i++)
		if (strcmp(a->exec_argv[i], b->exec_argv[i]))
			return false;
	return !a->exec_argv[i] && !b->exec_argv[i];
}

static int check_build_argv(const config_setting_t *cmd, struct cfg_check *out)
{
	return cfgp_build_argv(cmd, &out->exec_argv);
}

/* Applies the defaults to a (merged) spec, checks what only the whole
 * check can tell, and fills out with strings of its own.
 */
int cfgp_check_resolve(struct cfg_parser *p, const struct cfgp_check_spec *sp,
		       struct cfg_check *out)
{
	const config_setting_t *type_at = sp->at[CK_TYPE] ? sp->at[CK_TYPE] : sp->block;
	char a[24], b[24];
	int err = 0;

	memset(out, 0, sizeof(*out));
	out->type = sp->type; /* none unless a block, or a vip.add request, set it */
	out->interval_ms = sp->at[CK_INTERVAL] ? sp->interval_ms : CHECK_INTERVAL_MS;
	out->timeout_ms = sp->at[CK_TIMEOUT] ? sp->timeout_ms : CHECK_TIMEOUT_MS;
	out->rise = sp->at[CK_RISE] ? sp->rise : CHECK_RISE;
	out->fall = sp->at[CK_FALL] ? sp->fall : CHECK_FALL;
	out->jitter_ms = sp->at[CK_JITTER] ? sp->jitter_ms : out->interval_ms / 2;
	out->port = sp->at[CK_PORT] ? sp->port : 0;

	/* A check still running when the next is due would overlap it. */
	if (out->timeout_ms >= out->interval_ms)
		return cfgp_fail(p, cfgp_later(sp->at[CK_TIMEOUT], sp->at[CK_INTERVAL]),
				 "timeout (%s s%s) must be shorter than interval (%s s)",
				 cfgp_fmt_secs(out->timeout_ms, a, sizeof(a)),
				 sp->at[CK_TIMEOUT] ? "" : ", the default",
				 cfgp_fmt_secs(out->interval_ms, b, sizeof(b)));
	if (out->jitter_ms > out->interval_ms)
		return cfgp_fail(p, cfgp_later(sp->at[CK_JITTER], sp->at[CK_INTERVAL]),
				 "jitter (%s s) must not exceed interval (%s s)",
				 cfgp_fmt_secs(out->jitter_ms, a, sizeof(a)),
				 cfgp_fmt_secs(out->interval_ms, b, sizeof(b)));

	switch (out->type) {
	case CFG_CHECK_HTTP:
		out->http_path = strdup(sp->at[CK_PATH] ? sp->path : "/");
		out->http_host = cfgp_dup_or_null(sp->at[CK_HOST] ? sp->host : NULL);
		out->http_status_min = sp->at[CK_STATUS] ? sp->status_min : HTTP_STATUS_MIN;
		out->http_status_max = sp->at[CK_STATUS] ? sp->status_max : HTTP_STATUS_MAX;
		out->http_expect = cfgp_dup_or_null(sp->at[CK_EXPECT] ? sp->expect : NULL);
		if (!out->http_path || (sp->at[CK_HOST] && !out->http_host) ||
		    (sp->at[CK_EXPECT] && !out->http_expect))
			err = -ENOMEM;
		break;
	case CFG_CHECK_UDP:
		/* UDP has no handshake: without a payload there is nothing
		 * to tell a live service from a silent port.
		 */
		if (!sp->at[CK_SEND])
			return cfgp_fail(p, type_at, "a udp check needs send");
		out->udp_send = strdup(sp->send);
		out->udp_expect = cfgp_dup_or_null(sp->at[CK_EXPECT] ? sp->expect : NULL);
		if (!out->udp_send || (sp->at[CK_EXPECT] && !out->udp_expect))
			err = -ENOMEM;
		break;
	case CFG_CHECK_EXEC:
		if (!sp->at[CK_COMMAND])
			return cfgp_fail(p, type_at, "an exec check needs command");
		err = check_build_argv(sp->command, out);
		break;
	default:
		break;
	}
	if (err)
		return cfgp_fail_nomem(p);
	return 0;
}

const char *cfg_check_type_name(enum cfg_check_type type)
{
	return vocab_name(&vocab_check_type, (int)type);
}
