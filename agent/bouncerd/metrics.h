/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Prometheus text exposition of the agent's state at /metrics, on an
 * optional HTTP listener (libevent's evhttp) in the agent's loop.
 */
#ifndef BOUNCER_METRICS_H
#define BOUNCER_METRICS_H

#include <stdio.h>

struct daemon;
struct metrics;

/* Listens on the config's metrics address and port. 0 or -errno. */
int metrics_start(struct daemon *d, struct metrics **out);
void metrics_stop(struct metrics *m);
/* Writes the whole exposition to f (the HTTP handler's body; tests). */
int metrics_render(struct daemon *d, FILE *f);

#endif /* BOUNCER_METRICS_H */
