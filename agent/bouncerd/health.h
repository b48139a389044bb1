/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Health checks: the rise/fall state machine, and tcp, http, udp and exec
 * checkers that run non-blocking in the agent's libevent loop.
 */
#ifndef BOUNCER_HEALTH_H
#define BOUNCER_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>

#include "bouncer_abi.h"
#include "config.h"

/* A backend starts down and comes up at its first success: nothing speaks
 * against it yet. From then on fall failures in a row take it down and
 * rise successes in a row bring it back.
 */
struct health_sm {
	unsigned int rise, fall;
	unsigned int ok_run, fail_run;
	bool up;
	bool been_up;
};

void health_sm_init(struct health_sm *sm, unsigned int rise, unsigned int fall);
/* Feeds one result; true when it changed sm->up. */
bool health_sm_feed(struct health_sm *sm, bool ok);

struct health_check;

/* Called on every change of state, with a short reason ("connect: refused",
 * "http status 503", "3 failures", ...).
 */
typedef void (*health_change_fn)(struct health_check *hc, bool up, const char *reason, void *arg);

struct health_target {
	__be32 addr[4];
	__u8 family; /* BNC_FAMILY_* */
	__u16 port; /* host order; check->port overrides it when not 0 */
};

/* Starts checking target every check->interval_ms, the first check after a
 * random delay up to check->jitter_ms. check is copied. NULL on failure
 * (errno set). A CFG_CHECK_NONE check reports up once, at the first tick.
 */
struct health_check *health_check_start(struct event_base *base, const struct health_target *t,
					const struct cfg_check *check, health_change_fn fn,
					void *arg);
/* Stops and frees; an exec check's child is killed. */
void health_check_stop(struct health_check *hc);

struct health_check_stats {
	bool up;
	uint64_t checks; /* completed */
	uint64_t failures;
	uint64_t transitions;
	char last_error[96]; /* empty after a success */
};

void health_check_get_stats(const struct health_check *hc, struct health_check_stats *out);

#endif /* BOUNCER_HEALTH_H */
