// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Running a libevent loop in tests; see evloop.h. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "evloop.h"

static void expire_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	*(bool *)arg = true;
}

bool run_until(struct event_base *base, pred_fn pred, void *arg, unsigned int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
	bool expired = false;
	struct event *t = evtimer_new(base, expire_cb, &expired);

	assert_non_null(t);
	assert_int_equal(evtimer_add(t, &tv), 0);
	while (!(pred && pred(arg)) && !expired)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(t);
	return pred && pred(arg);
}

void run_for(struct event_base *base, unsigned int ms)
{
	run_until(base, NULL, NULL, ms);
}
