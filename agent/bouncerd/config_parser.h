/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Inside the config parser: the state and helpers that its files share
 * (config.c: the helpers, VIPs, backends and the top level;
 * config_check.c: health check blocks; config_workers.c: workers blocks).
 * Each helper that reads a setting checks its type and range and, on
 * error, writes "FILE:LINE: CONTEXT what is wrong" and returns -EINVAL.
 * Not for the rest of bouncerd: config.h is.
 */
#ifndef BOUNCER_CONFIG_PARSER_H
#define BOUNCER_CONFIG_PARSER_H

#include <stdbool.h>
#include <stddef.h>

#include <libconfig.h>

#include "config.h"

struct cfg_parser {
	const char *name; /* the file name in messages; NULL: none (a vip.add request) */
	/* libconfig names an @include'd file as the directive did, relative
	 * to this directory; NULL: the working directory.
	 */
	const char *dir;
	char *err;
	size_t errlen;
	/* Where we are, prefixed to every message: "vip 'web': check: ". */
	char ctx[192];
	size_t nbackends; /* over all VIPs so far */
};

/* Messages and their context. */
int cfgp_fail(struct cfg_parser *p, const config_setting_t *s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int cfgp_fail_nomem(struct cfg_parser *p);
size_t cfgp_ctx_push(struct cfg_parser *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void cfgp_ctx_pop(struct cfg_parser *p, size_t len);
unsigned int cfgp_setting_line(const config_setting_t *s);
const config_setting_t *cfgp_later(const config_setting_t *a, const config_setting_t *b);

/* Settings of a group; a getter leaves *out alone when the setting is absent. */
int cfgp_check_keys(struct cfg_parser *p, const config_setting_t *group, const char *const *keys);
int cfgp_need(struct cfg_parser *p, const config_setting_t *group, const char *name);
bool cfgp_is_int(const config_setting_t *s);
bool cfgp_is_token(const char *s);
int cfgp_get_string(struct cfg_parser *p, const config_setting_t *group, const char *name,
		    const char **out);
int cfgp_get_int(struct cfg_parser *p, const config_setting_t *group, const char *name,
		 long long min, long long max, long long *out);
int cfgp_get_u32(struct cfg_parser *p, const config_setting_t *group, const char *name, __u32 min,
		 __u32 max, __u32 *out);
int cfgp_get_enum(struct cfg_parser *p, const config_setting_t *group, const char *name,
		  const struct vocab *v, int *out);
int cfgp_get_secs(struct cfg_parser *p, const config_setting_t *group, const char *name,
		  unsigned int min_ms, unsigned int max_ms, unsigned int *out);
const char *cfgp_fmt_secs(unsigned int ms, char *buf, size_t len);

/* Commands ([ "program", "arg", ... ]) and strings. */
int cfgp_parse_command(struct cfg_parser *p, const config_setting_t *s);
int cfgp_build_argv(const config_setting_t *cmd, char ***out);

char *cfgp_dup_or_null(const char *s);
bool cfgp_str_equal(const char *a, const char *b);

/* Health checks. A check block is read into a check_spec, which knows
 * which fields the block set: a backend's block overrides single fields
 * of its VIP's, and defaults that depend on other fields (jitter is half
 * the interval) are applied only once the two are merged.
 */
enum ck_field {
	CK_TYPE,
	CK_INTERVAL,
	CK_TIMEOUT,
	CK_RISE,
	CK_FALL,
	CK_JITTER,
	CK_PORT,
	CK_PATH,
	CK_HOST,
	CK_STATUS,
	CK_EXPECT,
	CK_SEND,
	CK_COMMAND,
	CK_MAX,
};

struct cfgp_check_spec {
	/* Where each field was set; NULL: not set. */
	const config_setting_t *at[CK_MAX];
	const config_setting_t *block; /* NULL: no check block */
	enum cfg_check_type type;
	unsigned int interval_ms, timeout_ms, rise, fall, jitter_ms, port;
	unsigned int status_min, status_max;
	/* libconfig's strings: valid while the config_t lives. */
	const char *path, *host, *expect, *send;
	const config_setting_t *command;
};

/* Health check blocks (config_check.c). */
int cfgp_check_parse(struct cfg_parser *p, const config_setting_t *g, bool has_inherited,
		     enum cfg_check_type inherited, struct cfgp_check_spec *sp);
void cfgp_check_merge(const struct cfgp_check_spec *vip, const struct cfgp_check_spec *b,
		      struct cfgp_check_spec *out);
int cfgp_check_resolve(struct cfg_parser *p, const struct cfgp_check_spec *sp,
		       struct cfg_check *out);

/* Workers blocks (config_workers.c). */
int cfgp_workers_parse(struct cfg_parser *p, struct cfg_vip *v, const config_setting_t *g);
/* Worker ports against other ports: VIP idx against those before it. */
int cfgp_vip_ports_check(struct cfg_parser *p, const struct cfg *c, size_t idx,
			 const config_setting_t *s);

#endif /* BOUNCER_CONFIG_PARSER_H */
