// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Worker specs: the pool's refcounted copy of a worker_spec, with its
 * defaults filled in and checked, and the two ports each worker id may
 * listen on (see Ports in workers.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>

#include "common/util.h"
#include "workers.h"
#include "workers_int.h"

#define READY_TIMEOUT_DEFAULT 10000
#define KILL_TIMEOUT_DEFAULT 5000
#define MIN_UPTIME_DEFAULT 5000
#define BACKOFF_INITIAL_DEFAULT 100
#define BACKOFF_MAX_DEFAULT 30000
#define BACKOFF_RESET_DEFAULT 60000
#define CRASH_LIMIT_DEFAULT 10
#define CRASH_WINDOW_DEFAULT 60000

void wk_spec_put(struct spec *sp)
{
	if (!sp || --sp->refs)
		return;
	free(sp->name);
	free(sp->cwd);
	free(sp->permanent);
	strv_free(sp->s.argv);
	strv_free(sp->s.env);
	free(sp);
}

struct spec *wk_spec_get(struct spec *sp)
{
	sp->refs++;
	return sp;
}

/* Replaces *dst's reference with one to src. */
void wk_spec_set(struct spec **dst, struct spec *src)
{
	if (*dst == src)
		return;
	wk_spec_get(src);
	wk_spec_put(*dst);
	*dst = src;
}

/* The two port ranges for count workers fit in 16 bits and are disjoint. */
bool wk_ports_fit(const struct worker_spec *s, unsigned int count)
{
	unsigned int a = s->port_base, b = s->alt_port_base;

	if (!count)
		return true;
	if (a + count - 1 > 65535 || b + count - 1 > 65535)
		return false;
	return a + count <= b || b + count <= a;
}

static unsigned int or_default(unsigned int v, unsigned int def)
{
	return v ? v : def;
}

int wk_spec_new(const struct worker_spec *in, struct spec **out)
{
	struct spec *sp = NULL;
	struct worker_spec *s;
	int err;

	*out = NULL;
	if (!in || !in->argv || !in->argv[0] || !in->port_base || in->count > WORKERS_MAX)
		return -EINVAL;
	if (in->proto && in->proto != IPPROTO_TCP && in->proto != IPPROTO_UDP)
		return -EINVAL;
	if (in->npermanent && !in->permanent_exit)
		return -EINVAL;
	sp = calloc(1, sizeof(*sp));
	if (!sp)
		return -ENOMEM;
	sp->refs = 1;
	s = &sp->s;
	*s = *in;
	s->argv = NULL;
	s->env = NULL;
	s->adopt = NULL;
	s->nadopt = 0;
	err = -ENOMEM;
	sp->name = strdup(in->name ? in->name : "worker");
	if (!sp->name)
		goto cleanup;
	s->name = sp->name;
	if (in->cwd) {
		sp->cwd = strdup(in->cwd);
		if (!sp->cwd)
			goto cleanup;
	}
	s->cwd = sp->cwd;
	if (in->npermanent) {
		sp->permanent = calloc(in->npermanent, sizeof(*sp->permanent));
		if (!sp->permanent)
			goto cleanup;
		memcpy(sp->permanent, in->permanent_exit, in->npermanent * sizeof(*sp->permanent));
	}
	s->permanent_exit = sp->permanent;
	err = strv_dup(in->argv, &s->argv);
	if (!err)
		err = strv_dup(in->env, &s->env);
	if (err)
		goto cleanup;
	s->proto = in->proto ? in->proto : IPPROTO_TCP;
	s->ready_timeout_ms = or_default(in->ready_timeout_ms, READY_TIMEOUT_DEFAULT);
	s->kill_timeout_ms = or_default(in->kill_timeout_ms, KILL_TIMEOUT_DEFAULT);
	s->min_uptime_ms = or_default(in->min_uptime_ms, MIN_UPTIME_DEFAULT);
	s->backoff_initial_ms = or_default(in->backoff_initial_ms, BACKOFF_INITIAL_DEFAULT);
	s->backoff_max_ms = or_default(in->backoff_max_ms, BACKOFF_MAX_DEFAULT);
	if (s->backoff_max_ms < s->backoff_initial_ms)
		s->backoff_max_ms = s->backoff_initial_ms;
	s->backoff_reset_ms = or_default(in->backoff_reset_ms, BACKOFF_RESET_DEFAULT);
	s->crash_limit = or_default(in->crash_limit, CRASH_LIMIT_DEFAULT);
	s->crash_window_ms = or_default(in->crash_window_ms, CRASH_WINDOW_DEFAULT);
	if (!in->alt_port_base) {
		if ((unsigned int)in->port_base + in->count > 65535) {
			err = -EINVAL;
			goto cleanup;
		}
		s->alt_port_base = (__u16)(in->port_base + in->count);
	}
	if (!wk_ports_fit(s, s->count)) {
		err = -EINVAL;
		goto cleanup;
	}
	*out = sp;
	sp = NULL;
	err = 0;
cleanup:
	wk_spec_put(sp);
	return err;
}

__u16 wk_port_main(const struct spec *sp, unsigned int id)
{
	return (__u16)(sp->s.port_base + id);
}

/* The port the next process of a worker whose last one held cur takes. */
__u16 wk_port_other(const struct spec *sp, unsigned int id, __u16 cur)
{
	__u16 a = wk_port_main(sp, id);

	return cur == a ? (__u16)(sp->s.alt_port_base + id) : a;
}

/* cur if it is one of the two ports of id under sp, else the main one. */
__u16 wk_port_keep(const struct spec *sp, unsigned int id, __u16 cur)
{
	if (cur == wk_port_main(sp, id) || cur == (__u16)(sp->s.alt_port_base + id))
		return cur;
	return wk_port_main(sp, id);
}
