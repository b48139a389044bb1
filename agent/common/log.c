// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Logging to stderr with a program prefix and a level filter. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "log.h"
#include "vocab.h"

static const char *log_name = "bouncer";
static enum log_level log_level = LOG_LEVEL_INFO;

void log_init(const char *name, enum log_level level)
{
	log_name = name;
	log_level = level;
}

void log_set_level(enum log_level level)
{
	log_level = level;
}

enum log_level log_get_level(void)
{
	return log_level;
}

int log_level_parse(const char *s, enum log_level *out)
{
	int level;

	if (vocab_value(&vocab_log_level, s, &level))
		return -EINVAL;
	*out = (enum log_level)level;
	return 0;
}

static void log_vemit(enum log_level level, int errnum, const char *fmt, va_list ap)
{
	if (level > log_level)
		return;
	fprintf(stderr, "%s: ", log_name);
	if (level != LOG_LEVEL_INFO)
		fprintf(stderr, "%s: ", vocab_name(&vocab_log_level, (int)level));
	vfprintf(stderr, fmt, ap);
	if (errnum)
		fprintf(stderr, ": %s", strerror(errnum));
	fputc('\n', stderr);
}

void log_warn(const char *fmt, ...)
{
	int errnum = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LEVEL_WARN, errnum, fmt, ap);
	va_end(ap);
	errno = errnum;
}

void log_errx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LEVEL_ERROR, 0, fmt, ap);
	va_end(ap);
}

void log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LEVEL_WARN, 0, fmt, ap);
	va_end(ap);
}

void log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LEVEL_INFO, 0, fmt, ap);
	va_end(ap);
}

void log_debug(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LEVEL_DEBUG, 0, fmt, ap);
	va_end(ap);
}

void fatal(const char *fmt, ...)
{
	int errnum = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LEVEL_ERROR, errnum, fmt, ap);
	va_end(ap);
	exit(1);
}

void fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LEVEL_ERROR, 0, fmt, ap);
	va_end(ap);
	exit(1);
}

static int log_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	enum log_level ours;
	char line[1024];
	size_t len;

	switch (level) {
	case LIBBPF_WARN:
		ours = LOG_LEVEL_INFO;
		break;
	case LIBBPF_INFO:
	case LIBBPF_DEBUG:
	default:
		ours = LOG_LEVEL_DEBUG;
		break;
	}
	if (ours > log_level)
		return 0;
	/* libbpf ends its messages with a newline; ours adds one. */
	vsnprintf(line, sizeof(line), fmt, ap);
	len = strlen(line);
	if (len && line[len - 1] == '\n')
		line[len - 1] = '\0';
	fprintf(stderr, "%s: libbpf: %s\n", log_name, line);
	return 0;
}

void log_route_libbpf(void)
{
	libbpf_set_print(log_libbpf_print);
}
