/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The recent output of a pool's workers, kept in the agent for
 * `bouncerctl worker logs`: per worker id, the last lines up to a bound
 * in lines and in bytes, the oldest dropped first. Lines carry a sequence
 * number shared by the pool's workers, so that a reader asks for what
 * came after the last line it saw, across ids, in order. Pure memory: no
 * I/O.
 */
#ifndef BOUNCER_WORKERS_LOG_H
#define BOUNCER_WORKERS_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Per worker id: at most this many lines, and at most this many bytes of
 * text (a line counts its length plus WLOG_LINE_OVERHEAD).
 */
#define WLOG_MAX_LINES 1000
#define WLOG_MAX_BYTES ((size_t)64 * 1024)
#define WLOG_LINE_OVERHEAD 32

enum wlog_stream {
	WLOG_STDOUT = 0,
	WLOG_STDERR,
	WLOG_MERGED, /* one pipe for both: a worker a previous version started */
};

struct wlog_line {
	uint64_t seq;
	int64_t time_ms; /* wall clock, ms since the epoch */
	pid_t pid;
	unsigned int id;
	enum wlog_stream stream;
	char *text; /* NUL-terminated */
	size_t len;
};

/* One worker id's lines: a ring. */
struct wlog {
	struct wlog_line *ring;
	size_t cap, head, n; /* head: the oldest */
	size_t bytes;
	size_t max_lines, max_bytes;
};

/* max_lines and max_bytes: 0 for the defaults above. */
void wlog_init(struct wlog *l, size_t max_lines, size_t max_bytes);
void wlog_free(struct wlog *l);
/* Keeps a copy of text[0..len); drops the oldest lines to stay in bounds.
 * A line longer than max_bytes is cut. 0 or -ENOMEM (the line is lost).
 */
int wlog_add(struct wlog *l, uint64_t seq, int64_t time_ms, pid_t pid, unsigned int id,
	     enum wlog_stream stream, const char *text, size_t len);
/* The i-th kept line, oldest first; NULL past the end. */
const struct wlog_line *wlog_at(const struct wlog *l, size_t i);
const char *wlog_stream_name(enum wlog_stream stream);

#endif /* BOUNCER_WORKERS_LOG_H */
