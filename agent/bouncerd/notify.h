/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Readiness and status for the service manager: systemd's notification
 * protocol (sd_notify(3)), one datagram per message to the socket named by
 * NOTIFY_SOCKET. Without NOTIFY_SOCKET every call does nothing.
 */
#ifndef BOUNCER_NOTIFY_H
#define BOUNCER_NOTIFY_H

struct daemon;

/* Takes NOTIFY_SOCKET out of the environment (workers must not inherit
 * it) and keeps it: first thing in main().
 */
void notify_init(void);
/* READY=1 with a STATUS= line, sent from inside d's event loop once it
 * runs (the datapath attached, the control socket served), then STATUS=
 * again whenever the summary changes.
 */
int notify_ready(struct daemon *d);
/* Around a reload: RELOADING=1 with MONOTONIC_USEC, then READY=1 and the
 * status, which names the error when the reload failed (err non-NULL).
 */
void notify_reloading(void);
void notify_reloaded(struct daemon *d, const char *err);
/* STOPPING=1: the loop has ended, workers are being stopped. */
void notify_stopping(void);

#endif /* BOUNCER_NOTIFY_H */
