/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The control socket: AF_UNIX stream, mode 0600, one JSON request per line
 * and one JSON reply per line (docs/control.md has the commands). The
 * server side runs in the agent's libevent loop; the client side serves
 * bouncerctl and the tests.
 */
#ifndef BOUNCER_CTL_H
#define BOUNCER_CTL_H

#include <stddef.h>

#include <event2/event.h>
#include <jansson.h>

/* Longest request line accepted; a longer one gets an error reply and the
 * connection is closed.
 */
#define CTL_MAX_LINE 65536

/* Answers one well-formed request object ({"cmd": ..., "args": {...}}):
 * returns the reply, a new reference (see ctl_reply_ok/ctl_reply_error).
 */
/* At most this many control connections at once: each holds a file
 * descriptor, and the agent needs its descriptors for ring swaps and
 * health checks. One more is answered with an error line and closed.
 */
#define CTL_MAX_CONNS 64
/* A connection that sends no request for this long (or does not read a
 * reply for this long) is closed: idle clients cannot hold the slots.
 */
#define CTL_IDLE_TIMEOUT_MS 60000

typedef json_t *(*ctl_handler_fn)(const char *cmd, const json_t *args, void *arg);

struct ctl_server;

/* Listens on path (an existing socket file there is replaced; its directory
 * is created, mode 0700). 0 or -errno.
 */
int ctl_server_open(struct event_base *base, const char *path, ctl_handler_fn fn, void *arg,
		    struct ctl_server **out);
/* Changes the connection cap and the idle time-out (0: leave as is);
 * the time-out applies to the connections open too.
 */
void ctl_server_set_limits(struct ctl_server *s, size_t max_conns, unsigned int idle_ms);
/* Closes every connection and removes the socket file. */
void ctl_server_close(struct ctl_server *s);

/* {"ok": true, "result": result}; steals result (NULL: an empty object). */
json_t *ctl_reply_ok(json_t *result);
/* {"ok": false, "error": "..."}. */
json_t *ctl_reply_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Client: sends {"cmd": cmd, "args": args} (args may be NULL; not stolen)
 * and waits up to timeout_ms for the reply line. 0 with *reply a new
 * reference, or -errno (-ECONNREFUSED, -ENOENT: no agent; -ETIMEDOUT;
 * -EPROTO: the reply was not JSON).
 */
int ctl_request(const char *path, const char *cmd, const json_t *args, int timeout_ms,
		json_t **reply);

#endif /* BOUNCER_CTL_H */
