// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The recent output of a worker id, a bounded ring of lines (see
 * workers_log.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "workers_log.h"

void wlog_init(struct wlog *l, size_t max_lines, size_t max_bytes)
{
	memset(l, 0, sizeof(*l));
	l->max_lines = max_lines ? max_lines : WLOG_MAX_LINES;
	l->max_bytes = max_bytes ? max_bytes : WLOG_MAX_BYTES;
}

void wlog_free(struct wlog *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->ring[(l->head + i) % l->cap].text);
	free(l->ring);
	l->ring = NULL;
	l->cap = l->head = l->n = l->bytes = 0;
}

static size_t line_cost(size_t len)
{
	return len + WLOG_LINE_OVERHEAD;
}

static void drop_oldest(struct wlog *l)
{
	struct wlog_line *old;

	/* Lines live in a ring of cap > 0 slots. */
	if (!l->n || !l->cap)
		return;
	old = &l->ring[l->head];
	l->bytes -= line_cost(old->len);
	free(old->text);
	old->text = NULL;
	l->head = (l->head + 1) % l->cap;
	l->n--;
}

/* Room for one more line: the ring grows (doubling) up to max_lines. */
static int make_room(struct wlog *l)
{
	struct wlog_line *ring;
	size_t cap;

	if (l->n < l->cap)
		return 0;
	if (l->cap >= l->max_lines) {
		drop_oldest(l);
		return 0;
	}
	cap = l->cap ? l->cap * 2 : 16;
	if (cap > l->max_lines)
		cap = l->max_lines;
	ring = malloc(cap * sizeof(*ring));
	if (!ring)
		return -ENOMEM;
	/* Unrolled, oldest first (none while cap is 0). */
	for (size_t i = 0; l->cap && i < l->n; i++)
		ring[i] = l->ring[(l->head + i) % l->cap];
	free(l->ring);
	l->ring = ring;
	l->cap = cap;
	l->head = 0;
	return 0;
}

int wlog_add(struct wlog *l, uint64_t seq, int64_t time_ms, pid_t pid, unsigned int id,
	     enum wlog_stream stream, const char *text, size_t len)
{
	struct wlog_line *line;
	char *copy;

	if (line_cost(len) > l->max_bytes)
		len = l->max_bytes > WLOG_LINE_OVERHEAD ? l->max_bytes - WLOG_LINE_OVERHEAD : 0;
	copy = malloc(len + 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, text, len);
	copy[len] = '\0';
	while (l->n && l->bytes + line_cost(len) > l->max_bytes)
		drop_oldest(l);
	if (make_room(l)) {
		free(copy);
		return -ENOMEM;
	}
	line = &l->ring[(l->head + l->n) % l->cap];
	*line = (struct wlog_line){ .seq = seq,
				    .time_ms = time_ms,
				    .pid = pid,
				    .id = id,
				    .stream = stream,
				    .text = copy,
				    .len = len };
	l->n++;
	l->bytes += line_cost(len);
	return 0;
}

const struct wlog_line *wlog_at(const struct wlog *l, size_t i)
{
	if (i >= l->n)
		return NULL;
	return &l->ring[(l->head + i) % l->cap];
}

const char *wlog_stream_name(enum wlog_stream stream)
{
	switch (stream) {
	case WLOG_STDOUT:
		return "stdout";
	case WLOG_STDERR:
		return "stderr";
	case WLOG_MERGED:
		return "output";
	}
	return "?";
}
