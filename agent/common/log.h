/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* One logging API for every program and module: levels, strerror-appending
 * variants, and libbpf's messages routed through it.
 */
#ifndef BOUNCER_LOG_H
#define BOUNCER_LOG_H

#include <stdbool.h>

enum log_level {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

/* name prefixes every line; level drops everything less severe. When
 * stderr is the systemd journal (JOURNAL_STREAM names its device and
 * inode), every line starts with "<N>", N its syslog priority, so that the
 * journal files it at that priority.
 */
void log_init(const char *name, enum log_level level);
/* Whether log_init() found stderr to be the journal. */
bool log_to_journal(void);
/* env (JOURNAL_STREAM's value, "DEV:INODE"; may be NULL) names fd's file. */
bool log_stream_is_journal(const char *env, int fd);
/* The syslog priority of level: LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG. */
int log_priority(enum log_level level);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* A name of vocab_log_level (common/vocab.h); -EINVAL for anything else. */
int log_level_parse(const char *s, enum log_level *out);

/* log_warn and fatal append ": strerror(errno)"; the x variants do not.
 * log_errx: an error that ends what was being done (a start-up that
 * fails), without exiting, so the caller can clean up first.
 */
void log_errx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A line of someone else's output (a worker's): at level's priority and
 * filter, without the level's name in the text.
 */
void log_output(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Only during start-up: logs and exits with status 1. */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Routes libbpf's print callback into this log, one level lower than
 * libbpf asks for: its warnings are often expected probes.
 */
void log_route_libbpf(void);

#endif /* BOUNCER_LOG_H */
