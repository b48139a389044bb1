/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* What the status page shows that the control socket's commands do not:
 * a short history of each VIP's rates and the last events. Every second
 * (and before each status.json) the daemon's model is compared with what
 * it was last time; a difference is an event ("web: backend 10.0.0.2:80
 * down", "web: worker 1 (pid 812) exited; restarted as pid 990"). Both
 * are bounded: STATUS_HISTORY samples per VIP, STATUS_EVENTS events.
 * Reads the model only, never a map: it costs the datapath nothing.
 */
#ifndef BOUNCER_STATUS_WATCH_H
#define BOUNCER_STATUS_WATCH_H

#include <jansson.h>

struct daemon;
struct status_watch;

/* Three minutes of one sample a second. */
#define STATUS_HISTORY 180
#define STATUS_EVENTS 64
/* An event's text is cut to this many bytes (with its NUL). */
#define STATUS_EVENT_TEXT 256

/* Starts the once-a-second sampling in the daemon's loop. NULL when out of
 * memory.
 */
struct status_watch *status_watch_new(struct daemon *d);
void status_watch_free(struct status_watch *w);
/* Compares the model with the last look now: events as fresh as the
 * model.
 */
void status_watch_poll(struct status_watch *w);
/* [{"t": unix seconds, "kind": "...", "text": "..."}], newest first. */
json_t *status_watch_events_json(const struct status_watch *w);
/* {"interval_s": 1, "vips": [{"name", "pps": [], "bps": [], "fps": []}]},
 * each array oldest first.
 */
json_t *status_watch_history_json(const struct status_watch *w);

#endif /* BOUNCER_STATUS_WATCH_H */
