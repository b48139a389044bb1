// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Logging to stderr with a program prefix and a level filter; when stderr
 * is the systemd journal, each line starts with its syslog priority.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "log.h"
#include "vocab.h"

/* One line as written: the message, its level's name and the prefixes. */
#define LOG_LINE_MAX 8192

static const char *log_name = "bouncer";
static enum log_level log_level = LOG_LEVEL_INFO;
/* stderr is the journal's stream: "<N>" before every line. */
static bool log_journal;

/* A decimal number that ends at stop; false for anything else. */
static bool parse_ull(const char *s, char stop, unsigned long long *out, const char **end)
{
	char *e;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	*out = strtoull(s, &e, 10);
	if (errno || *e != stop)
		return false;
	*end = e;
	return true;
}

bool log_stream_is_journal(const char *env, int fd)
{
	unsigned long long dev, ino;
	const char *p;
	struct stat st;

	/* "DEV:INODE", both decimal. */
	if (!env || !parse_ull(env, ':', &dev, &p) || !parse_ull(p + 1, '\0', &ino, &p))
		return false;
	if (fstat(fd, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_init(const char *name, enum log_level level)
{
	log_name = name;
	log_level = level;
	/* JOURNAL_STREAM names the stream systemd connected; it is inherited
	 * by children whose stderr is elsewhere, hence the comparison
	 * (sd_journal_stream_fd(3), systemd.exec(5)).
	 */
	log_journal = log_stream_is_journal(getenv("JOURNAL_STREAM"), STDERR_FILENO);
}

bool log_to_journal(void)
{
	return log_journal;
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

int log_priority(enum log_level level)
{
	switch (level) {
	case LOG_LEVEL_ERROR:
		return LOG_ERR;
	case LOG_LEVEL_WARN:
		return LOG_WARNING;
	case LOG_LEVEL_INFO:
		return LOG_INFO;
	case LOG_LEVEL_DEBUG:
	default:
		return LOG_DEBUG;
	}
}

/* Writes text (which may hold newlines: each becomes a line of its own,
 * with the priority prefix the journal needs on every line) to stderr in
 * one call, so that lines of two processes sharing stderr (the output
 * drainer and an agent) do not tear.
 */
static void log_write(int priority, const char *text)
{
	char out[LOG_LINE_MAX + 64];
	size_t n = 0;
	const char *s = text;

	do {
		size_t len = strcspn(s, "\n");
		int w;

		if (log_journal)
			w = snprintf(out + n, sizeof(out) - n, "<%d>%.*s\n", priority, (int)len, s);
		else
			w = snprintf(out + n, sizeof(out) - n, "%.*s\n", (int)len, s);
		if (w < 0)
			return;
		n += (size_t)w;
		if (n >= sizeof(out)) {
			/* Cut: keep the last newline. */
			n = sizeof(out) - 1;
			out[n - 1] = '\n';
			break;
		}
		s += len;
		if (*s == '\n')
			s++;
	} while (*s);
	/* Nowhere to report a failed write of the log. */
	(void)fwrite(out, 1, n, stderr);
	(void)fflush(stderr);
}

/* tag: the level's name after the program's ("bouncerd: warn: ..."); info
 * and output lines go without.
 */
static void log_vemit(enum log_level level, bool tag, int errnum, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	size_t n;

	if (level > log_level)
		return;
	n = (size_t)snprintf(line, sizeof(line), "%s: ", log_name);
	if (tag && level != LOG_LEVEL_INFO && n < sizeof(line))
		n += (size_t)snprintf(line + n, sizeof(line) - n,
				      "%s: ", vocab_name(&vocab_log_level, (int)level));
	if (n < sizeof(line))
		n += (size_t)vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	if (errnum && n < sizeof(line))
		snprintf(line + n, sizeof(line) - n, ": %s", strerror(errnum));
	log_write(log_priority(level), line);
}

void log_warn(const char *fmt, ...)
{
	int errnum = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LEVEL_WARN, true, errnum, fmt, ap);
	va_end(ap);
	errno = errnum;
}

void log_errx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LEVEL_ERROR, true, 0, fmt, ap);
	va_end(ap);
}

void log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LEVEL_WARN, true, 0, fmt, ap);
	va_end(ap);
}

void log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LEVEL_INFO, true, 0, fmt, ap);
	va_end(ap);
}

void log_debug(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LEVEL_DEBUG, true, 0, fmt, ap);
	va_end(ap);
}

void log_output(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(level, false, 0, fmt, ap);
	va_end(ap);
}

void fatal(const char *fmt, ...)
{
	int errnum = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LEVEL_ERROR, true, errnum, fmt, ap);
	va_end(ap);
	exit(1);
}

void fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LEVEL_ERROR, true, 0, fmt, ap);
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
	log_output(ours, "libbpf: %s", line);
	return 0;
}

void log_route_libbpf(void)
{
	libbpf_set_print(log_libbpf_print);
}
