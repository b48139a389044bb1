/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Test helpers for code that runs in a libevent loop: running the loop
 * until a condition holds or a deadline passes. The clock, now_ms(), is
 * the agent's own (common/util.h).
 */
#ifndef BOUNCER_TESTS_EVLOOP_H
#define BOUNCER_TESTS_EVLOOP_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>

#include "common/util.h" /* now_ms() */

typedef bool (*pred_fn)(void *arg);

/* Runs the loop until pred holds or ms pass; returns pred's last value. */
bool run_until(struct event_base *base, pred_fn pred, void *arg, unsigned int ms);
/* Runs the loop for ms, whatever happens. */
void run_for(struct event_base *base, unsigned int ms);

#endif /* BOUNCER_TESTS_EVLOOP_H */
