/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Small helpers every program needs more than once: the monotonic clock
 * in milliseconds or seconds, NULL-terminated string vectors, formatted strings,
 * indented text and mkdir -p.
 */
#ifndef BOUNCER_UTIL_H
#define BOUNCER_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* Elements in an array (not a pointer). */
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* CLOCK_MONOTONIC in milliseconds, and in seconds to the nanosecond. */
int64_t now_ms(void);
double now_s(void);

/* NULL-terminated vectors of strings, each element malloc'ed. NULL is a
 * vector too (no vector), distinct from an empty one.
 */
void strv_free(char **v);
/* A copy of v; *out is NULL for NULL. 0 or -ENOMEM (*out NULL then). */
int strv_dup(char *const *v, char ***out);
bool strv_equal(char *const *a, char *const *b);

/* A new string formatted like vprintf, or NULL when out of memory. */
char *vformat(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
char *format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints text line by line, each line after indent. */
void print_indented(FILE *f, const char *indent, const char *text);

/* mkdir -p with mode for every directory it creates. *created (may be
 * NULL) says whether the last component was created here. 0 or -errno.
 */
int mkdir_p(const char *path, mode_t mode, bool *created);

#endif /* BOUNCER_UTIL_H */
