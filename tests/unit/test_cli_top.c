// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* bouncerctl top without an agent: samples built from sample replies, the
 * rates between two of them, the sort orders, the text of a refresh as
 * plain lines, and what goes to a terminal.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "bouncerctl/cli_top.h"

/* Four backends whose order differs by each key: by name worker/2 (local
 * workers first), 10.0.0.9, 10.0.0.10 (by address, not as text), fd00::1;
 * by packets worker/2, fd00::1, .10, .9; by bytes .10, worker/2, .9,
 * fd00::1; by share .10, worker/2, .9, and fd00::1, which stats does not
 * list, last.
 */
static const char status_json[] = "{\"version\": \"0.1\", \"uptime_s\": 3725}";

static const char stats_json[] =
	"{\"global\": {\"flow_miss\": 100, \"drop_no_backend\": 5, \"drop_fib\": 0,"
	" \"fwd_dsr\": 1000},"
	" \"vips\": [],"
	" \"backends\": ["
	"{\"vip\": \"web\", \"address\": \"local\", \"port\": 40002, \"share\": 0.4,"
	" \"slots\": 2, \"flows\": 12, \"local\": true, \"worker\": {\"id\": 2}},"
	"{\"vip\": \"web\", \"address\": \"10.0.0.10\", \"port\": 80, \"share\": 0.6,"
	" \"slots\": 3, \"flows\": 8},"
	"{\"vip\": \"web\", \"address\": \"10.0.0.9\", \"port\": 80, \"share\": 0,"
	" \"slots\": 0, \"flows\": 1}],"
	" \"flow_table\": {\"ipv4\": 20, \"ipv6\": 0, \"size_ipv4\": 65536,"
	" \"size_ipv6\": 65536}}";

static const char vips_json[] =
	"{\"vips\": [{\"name\": \"web\", \"address\": \"10.0.0.1\", \"port\": 80,"
	" \"protocol\": \"tcp\", \"backends_up\": 3, \"backends_total\": 4,"
	" \"failing_open\": false, \"packets\": 1500, \"bytes\": 150000, \"pps\": 15, "
	"\"new_flows\": 100,"
	" \"bps\": 12000}]}";

static const char backends_json[] =
	"{\"backends\": ["
	"{\"vip\": \"web\", \"address\": \"10.0.0.10\", \"port\": 80, \"admin\": \"ready\","
	" \"health\": \"up\", \"packets\": 400, \"bytes\": 90000, \"pps\": 4, \"bps\": 7200,"
	" \"new_flows\": 60},"
	"{\"vip\": \"web\", \"address\": \"10.0.0.9\", \"port\": 80, \"admin\": \"ready\","
	" \"health\": \"down\", \"packets\": 100, \"bytes\": 100, \"pps\": 1, \"bps\": 800},"
	"{\"vip\": \"web\", \"address\": \"fd00::1\", \"port\": 80, \"admin\": \"ready\","
	" \"health\": \"unchecked\", \"packets\": 500, \"bytes\": 0, \"pps\": 5, \"bps\": 0},"
	"{\"vip\": \"web\", \"address\": \"local\", \"port\": 40002, \"admin\": \"drain\","
	" \"health\": \"up\", \"packets\": 600, \"bytes\": 60000, \"pps\": 6, \"bps\": 4800,"
	" \"new_flows\": 40,"
	" \"local\": true, \"worker\": {\"id\": 2, \"pid\": 123, \"state\": \"running\","
	" \"restarts\": 3}}]}";

static json_t *load(const char *text)
{
	json_t *j = json_loads(text, 0, NULL);

	assert_non_null(j);
	return j;
}

/* A sample of the replies above at time now, after prev. */
static struct top_sample *sample(const struct top_sample *prev, double now)
{
	json_t *status = load(status_json), *stats = load(stats_json);
	json_t *vips = load(vips_json), *backends = load(backends_json);
	struct top_replies r = { status, stats, vips, backends };
	struct top_sample *s = top_sample_new(&r, prev, now);

	assert_non_null(s);
	json_decref(status);
	json_decref(stats);
	json_decref(vips);
	json_decref(backends);
	return s;
}

static char *render(const struct top_sample *s, const struct top_view *v)
{
	char *text = NULL, *out;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	top_render(f, s, v);
	fclose(f);
	/* A copy: gcc 12 (-O2, inlined) takes a pointer into the stream's
	 * buffer for one to the local that held it (-Wdangling-pointer).
	 */
	out = strdup(text);
	free(text);
	assert_non_null(out);
	return out;
}

static void assert_text(const char *got, const char *want)
{
	if (strcmp(got, want))
		fail_msg("printed\n%s\ninstead of\n%s", got, want);
}

/* The first sample has no earlier counts: the agent's rates. */
static void test_plain_first(void **state)
{
	struct top_view v = { .stamp = "2024-05-01 14:03:22" };
	struct top_sample *s = sample(NULL, 100);
	char *text;

	(void)state;
	top_sample_sort(s, TOP_SORT_NAME);
	text = render(s, &v);
	assert_text(text, "2024-05-01 14:03:22  bouncer 0.1  up 1h2m  sort name\n"
			  "total 15 pkt/s  1.50k B/s  new flows -/s  flow table  v4 20/65536 (0.0%)"
			  "  v6 0/65536 (0.0%)\n"
			  "drops  no_backend 5\n"
			  "\n"
			  "NAME                 ADMIN  HEALTH      PKT/S     B/S  FLOWS  SHARE"
			  "                        RESTARTS\n"
			  "web 10.0.0.1:80/tcp         3/4 up         15   1.50k     21\n"
			  "  worker/2           drain  up              6     600     12   40.0%"
			  " ########............         3\n"
			  "  10.0.0.9:80        ready  down            1     100      1    0.0%"
			  " ....................         -\n"
			  "  10.0.0.10:80       ready  up              4     900      8   60.0%"
			  " ############........         -\n"
			  "  [fd00::1]:80       ready  unchecked       5       0      -       -"
			  "                              -\n");
	free(text);
	top_sample_free(s);
}

/* The next sample's rates are the counters' growth per second. */
static void test_rates_from_counters(void **state)
{
	struct top_view v = { .stamp = "t" };
	struct top_sample *first = sample(NULL, 100), *s;
	json_t *vips = load(vips_json), *backends = load(backends_json), *stats = load(stats_json);
	json_t *b;
	struct top_replies r = { NULL, stats, vips, backends };
	char *text;
	size_t i;

	(void)state;
	/* Two seconds on: the VIP grew by 3000 packets, 10.0.0.10 by 1000
	 * and 200000 bytes; worker/2 went back (replaced): the agent's
	 * rate; 4 more drops. 50 new flows, 40 on 10.0.0.10 and 10 on
	 * worker/2: shares of 80% and 20%, not the ring's 60% and 40%.
	 */
	json_object_set_new(json_array_get(json_object_get(vips, "vips"), 0), "packets",
			    json_integer(4500));
	json_object_set_new(json_array_get(json_object_get(vips, "vips"), 0), "new_flows",
			    json_integer(150));
	json_array_foreach(json_object_get(backends, "backends"), i, b)
	{
		if (strcmp(json_string_value(json_object_get(b, "address")), "10.0.0.10") == 0) {
			json_object_set_new(b, "packets", json_integer(1400));
			json_object_set_new(b, "bytes", json_integer(290000));
			json_object_set_new(b, "new_flows", json_integer(100));
		} else if (strcmp(json_string_value(json_object_get(b, "address")), "local") == 0) {
			json_object_set_new(b, "packets", json_integer(10));
			json_object_set_new(b, "new_flows", json_integer(50));
		}
	}
	json_object_set_new(json_object_get(stats, "global"), "flow_miss", json_integer(150));
	json_object_set_new(json_object_get(stats, "global"), "drop_no_backend", json_integer(9));
	s = top_sample_new(&r, first, 102);
	assert_non_null(s);
	top_sample_sort(s, TOP_SORT_NAME);
	text = render(s, &v);
	/* No status: version and uptime unknown. */
	assert_non_null(strstr(text, "t  bouncer -  up -  sort name\n"));
	assert_non_null(strstr(text, "total 1.50k pkt/s  0 B/s  new flows 25/s"));
	assert_non_null(strstr(text, "drops  no_backend 9 (2/s)\n"));
	assert_non_null(strstr(text, "web 10.0.0.1:80/tcp         3/4 up      1.50k       0"));
	assert_non_null(strstr(text, "  worker/2           drain  up              6       0"));
	assert_non_null(strstr(text, "  10.0.0.10:80       ready  up            500    100k"));
	assert_non_null(strstr(text, "  [fd00::1]:80       ready  unchecked       0       0"));
	/* The shares of the new flows, not of the ring. */
	assert_non_null(strstr(text,
			       "    3/4 up      1.50k       0     21\n"
			       "  worker/2           drain  up              6       0     12   "
			       "20.0% ####................         3\n"));
	assert_non_null(strstr(text,
			       "  10.0.0.10:80       ready  up            500    100k      8   "
			       "80.0% ################....         -\n"));
	free(text);
	top_sample_free(s);
	top_sample_free(first);
	json_decref(vips);
	json_decref(backends);
	json_decref(stats);
}

/* The backends' rows are in the order of names. */
static void assert_order(const char *text, const char *const names[4])
{
	const char *prev = text;

	for (int i = 0; i < 4; i++) {
		const char *at = strstr(text, names[i]);

		if (!at || at < prev)
			fail_msg("%s is not after %s:\n%s", names[i], i ? names[i - 1] : "the top",
				 text);
		prev = at;
	}
}

#define W2 "  worker/2 "
#define B9 "  10.0.0.9:80 "
#define B10 "  10.0.0.10:80 "
#define V6 "  [fd00::1]:80 "

static void test_sort_orders(void **state)
{
	static const struct {
		enum top_sort sort;
		const char *name;
		const char *order[4];
	} cases[] = {
		{ TOP_SORT_NAME, "name", { W2, B9, B10, V6 } },
		{ TOP_SORT_PPS, "packets", { W2, V6, B10, B9 } },
		{ TOP_SORT_BPS, "bytes", { B10, W2, B9, V6 } },
		{ TOP_SORT_SHARE, "share", { B10, W2, B9, V6 } },
	};
	struct top_sample *s = sample(NULL, 1);

	(void)state;
	assert_int_equal(TOP_SORT_MAX, sizeof(cases) / sizeof(cases[0]));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct top_view v = { .sort = cases[i].sort };
		char want[64], *text;

		assert_string_equal(top_sort_name(cases[i].sort), cases[i].name);
		top_sample_sort(s, cases[i].sort);
		text = render(s, &v);
		snprintf(want, sizeof(want), "  sort %s\n", cases[i].name);
		assert_non_null(strstr(text, want));
		assert_order(text, cases[i].order);
		free(text);
	}
	top_sample_free(s);
}

/* A narrow screen narrows the bars, down to a floor; the header says
 * paused, the keys and an error.
 */
static void test_screen_view(void **state)
{
	struct top_view v = { .width = 90, .paused = true, .keys = true, .error = "gone" };
	struct top_sample *s = sample(NULL, 1);
	char *text;

	(void)state;
	text = render(s, &v);
	assert_non_null(strstr(text, "bouncer 0.1  up 1h2m  sort name  PAUSED  (q quit, s sort,"
				     " p pause)\n"));
	assert_non_null(strstr(text, "\nerror: gone\n"));
	/* 99 columns with bars of 20: 9 too many. */
	assert_non_null(strstr(text, "   40.0% ####....... "));
	free(text);
	v.width = 40;
	text = render(s, &v);
	assert_non_null(strstr(text, "   40.0% ##... "));
	free(text);
	top_sample_free(s);
}

/* An agent with no VIPs, and replies with nothing in them. */
static void test_empty(void **state)
{
	json_t *empty = json_object();
	struct top_replies r = { empty, empty, empty, empty };
	struct top_view v = { 0 };
	struct top_sample *s = top_sample_new(&r, NULL, 1);
	char *text;

	(void)state;
	assert_non_null(s);
	text = render(s, &v);
	assert_text(text, "bouncer -  up -  sort name\n"
			  "total 0 pkt/s  0 B/s  new flows -/s\n"
			  "drops  none\n"
			  "\n"
			  "NAME  ADMIN  HEALTH   PKT/S     B/S  FLOWS  SHARE\n"
			  "(no VIPs)\n");
	free(text);
	top_sample_free(s);
	json_decref(empty);
}

/* An agent that announces its VIPs says in the first line how the host
 * stands; one that announces nothing says nothing of it.
 */
static void test_host_state(void **state)
{
	json_t *status = load("{\"version\": \"0.1\", \"uptime_s\": 5, \"host\":"
			      " {\"state\": \"draining\", \"announce\": true}}");
	json_t *quiet = load("{\"version\": \"0.1\", \"uptime_s\": 5, \"host\":"
			     " {\"state\": \"ready\", \"announce\": false}}");
	json_t *empty = json_object();
	struct top_replies r = { status, empty, empty, empty };
	struct top_view v = { 0 };
	struct top_sample *s;
	char *text;

	(void)state;
	s = top_sample_new(&r, NULL, 1);
	assert_non_null(s);
	text = render(s, &v);
	assert_non_null(strstr(text, "bouncer 0.1  up 5s  host draining  sort name\n"));
	free(text);
	top_sample_free(s);
	r.status = quiet;
	s = top_sample_new(&r, NULL, 1);
	assert_non_null(s);
	text = render(s, &v);
	assert_non_null(strstr(text, "bouncer 0.1  up 5s  sort name\n"));
	free(text);
	top_sample_free(s);
	json_decref(status);
	json_decref(quiet);
	json_decref(empty);
}

/* On a terminal: lines cut to the width, one line fewer than the
 * screen, control characters neutered.
 */
static void test_screen_output(void **state)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	(void)state;
	assert_non_null(f);
	top_screen(f, "abcdef\nx\033[2Jy\nthird\nfourth\n", 4, 4);
	fclose(f);
	assert_text(text, "\033[H\033[Kabcd\n\033[Kx?[2\n\033[Kthir\n\033[J");
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_first), cmocka_unit_test(test_rates_from_counters),
		cmocka_unit_test(test_sort_orders), cmocka_unit_test(test_screen_view),
		cmocka_unit_test(test_empty),	    cmocka_unit_test(test_screen_output),
		cmocka_unit_test(test_host_state),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
