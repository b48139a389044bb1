// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* See util.h. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "util.h"

int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void strv_free(char **v)
{
	if (!v)
		return;
	for (char **a = v; *a; a++)
		free(*a);
	free(v);
}

int strv_dup(char *const *v, char ***out)
{
	size_t n = 0;

	*out = NULL;
	if (!v)
		return 0;
	while (v[n])
		n++;
	*out = calloc(n + 1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		(*out)[i] = strdup(v[i]);
		if (!(*out)[i]) {
			strv_free(*out);
			*out = NULL;
			return -ENOMEM;
		}
	}
	return 0;
}

bool strv_equal(char *const *a, char *const *b)
{
	size_t i = 0;

	if (!a || !b)
		return a == b;
	for (; a[i] && b[i]; i++)
		if (strcmp(a[i], b[i]))
			return false;
	return !a[i] && !b[i];
}

/* vsnprintf twice rather than vasprintf, which needs _GNU_SOURCE. */
char *vformat(const char *fmt, va_list ap)
{
	va_list ap2;
	char *s;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return NULL;
	s = malloc((size_t)n + 1);
	if (s)
		vsnprintf(s, (size_t)n + 1, fmt, ap);
	return s;
}

char *format(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = vformat(fmt, ap);
	va_end(ap);
	return s;
}

void print_indented(FILE *f, const char *indent, const char *text)
{
	const char *nl;

	while ((nl = strchr(text, '\n'))) {
		fprintf(f, "%s%.*s\n", indent, (int)(nl - text), text);
		text = nl + 1;
	}
	fprintf(f, "%s%s\n", indent, text);
}

int mkdir_p(const char *path, mode_t mode, bool *created)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);

	if (created)
		*created = false;
	if (len == 0 || len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) == 0) {
		if (created)
			*created = true;
		return 0;
	}
	return errno == EEXIST ? 0 : -errno;
}
