/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* bouncerctl top: a live view of a running agent. Each refresh asks the
 * agent for status, stats (with the flow table's use), vip.list and
 * backend.list, turns the replies into a sample with rates from the
 * counters' growth since the last one, and prints it: on a terminal as a
 * screen redrawn in place, otherwise as a block of plain lines.
 */
#ifndef BOUNCER_CLI_TOP_H
#define BOUNCER_CLI_TOP_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include "cli.h"

/* The order of the backends within each VIP; s cycles through them. */
enum top_sort {
	TOP_SORT_NAME = 0, /* address, then port */
	TOP_SORT_PPS, /* busiest first */
	TOP_SORT_BPS,
	TOP_SORT_SHARE, /* largest share of the ring first */
	TOP_SORT_MAX,
};

const char *top_sort_name(enum top_sort sort);

/* The agent's replies for one refresh: the results of status, stats (with
 * "flows": true), vip.list and backend.list. A missing one leaves its
 * fields unknown.
 */
struct top_replies {
	const json_t *status, *stats, *vips, *backends;
};

struct top_sample;

/* A sample taken at now (seconds on a monotonic clock) from the replies.
 * Rates come from the counters' growth since prev (NULL: none yet), or
 * from the agent's own rates when there is no earlier count to compare
 * with. NULL when out of memory.
 */
struct top_sample *top_sample_new(const struct top_replies *r, const struct top_sample *prev,
				  double now);
void top_sample_free(struct top_sample *s);
/* Orders the backends of each VIP; the VIPs keep the agent's order. */
void top_sample_sort(struct top_sample *s, enum top_sort sort);

struct top_view {
	/* Screen columns to fit in by narrowing the bars; 0: no limit. */
	int width;
	enum top_sort sort;
	bool paused;
	bool keys; /* the key help in the first line */
	const char *stamp; /* the time at the start of the first line */
	const char *error; /* why the sample is old; NULL: it is fresh */
};

/* The sample as text, a header and a table, each line ending in '\n'. */
void top_render(FILE *f, const struct top_sample *s, const struct top_view *v);

/* Writes a rendered frame to a terminal of width x height: from the top
 * left corner, each line cut to the width and cleared to its end, as many
 * lines as fit, and the rest of the screen cleared. Control characters
 * print as '?', so that a name cannot move the cursor.
 */
void top_screen(FILE *out, const char *frame, int width, int height);

/* Runs top for req (-d, -n): 0, or 1 when the agent cannot be reached at
 * the start.
 */
int cli_top_run(const struct cli_request *req);

#endif /* BOUNCER_CLI_TOP_H */
