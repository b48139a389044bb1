// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Wall time of maglev_build for 100 and 1000 backends at the default and the
 * largest ring size, beside the figures the Maglev paper (NSDI 2016)
 * reports for its own table generation.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bouncerd/maglev.h"

#define RUNS 5

struct bench_case {
	size_t backends;
	__u32 ring_size;
	double paper_ms; /* 0: the paper gives no figure */
};

/* The paper (section 3.4) reports its figures for 1000 backends. */
static const struct bench_case cases[] = {
	{ 100, 65537, 0 },
	{ 100, 655373, 0 },
	{ 1000, 65537, 1.8 },
	{ 1000, 655373, 22.9 },
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static int run_case(const struct bench_case *c)
{
	struct maglev_backend *b = calloc(c->backends, sizeof(*b));
	__u32 *table = malloc(c->ring_size * sizeof(*table));
	double ms[RUNS];
	char paper[16];
	int i, err = -ENOMEM;

	if (!b || !table)
		goto cleanup;
	for (i = 0; i < (int)c->backends; i++) {
		b[i].family = BNC_FAMILY_IPV4;
		b[i].addr[0] = htonl(0x0a000000 + i + 1);
		b[i].port = htons(80);
		b[i].weight = 1;
		b[i].id = i;
	}
	/* One untimed build first, so that page faults on the fresh table do
	 * not land in the first run.
	 */
	err = maglev_build(b, c->backends, c->ring_size, table);
	if (err)
		goto cleanup;
	for (i = 0; i < RUNS; i++) {
		double start = now_ms();

		err = maglev_build(b, c->backends, c->ring_size, table);
		ms[i] = now_ms() - start;
		if (err)
			goto cleanup;
	}
	qsort(ms, RUNS, sizeof(ms[0]), cmp_double);
	if (c->paper_ms > 0)
		snprintf(paper, sizeof(paper), "%.1f", c->paper_ms);
	else
		snprintf(paper, sizeof(paper), "-");
	printf("%8zu %9u %9.2f %10.2f %10s\n", c->backends, c->ring_size, ms[0], ms[RUNS / 2],
	       paper);

cleanup:
	free(table);
	free(b);
	return err;
}

int main(void)
{
	size_t i;
	int err;

	printf("maglev_build, %d runs each (ms)\n", RUNS);
	printf("%8s %9s %9s %10s %10s\n", "backends", "ring", "best", "median", "paper");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err = run_case(&cases[i]);
		if (err) {
			fprintf(stderr, "maglev_build: %s\n", strerror(-err));
			return 1;
		}
	}
	return 0;
}
