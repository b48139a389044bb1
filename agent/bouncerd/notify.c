// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The service manager's notification protocol, written out here rather
 * than linked from libsystemd: it is one datagram of "KEY=VALUE" lines to
 * an AF_UNIX socket (a path, or an abstract name written with '@'), which
 * systemd documents as a stable interface for exactly this use, and
 * bouncerd then runs, and its package installs, with no systemd library
 * (see the README, "systemd").
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "daemon.h"
#include "notify.h"

/* How often the status line is recomputed; sent only when it changed. */
#define STATUS_INTERVAL_S 2

static struct {
	struct sockaddr_un addr;
	socklen_t addrlen; /* 0: no NOTIFY_SOCKET, nothing is sent */
	bool warned;
	struct event *status_timer;
	char status[256]; /* the last STATUS= sent */
	char reload_err[128]; /* the last reload's error; empty once one works */
} nt;

void notify_init(void)
{
	const char *path = getenv("NOTIFY_SOCKET");
	size_t len;

	if (!path || !path[0])
		return;
	len = strlen(path);
	/* vsock addresses ("vsock:CID:PORT") are for virtual machines'
	 * managers; bouncerd runs under a local one.
	 */
	if ((path[0] != '/' && path[0] != '@') || len >= sizeof(nt.addr.sun_path)) {
		log_warnx("NOTIFY_SOCKET=%s: not a socket path or abstract name, ignored", path);
	} else {
		nt.addr.sun_family = AF_UNIX;
		memcpy(nt.addr.sun_path, path, len);
		if (path[0] == '@')
			nt.addr.sun_path[0] = '\0';
		nt.addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	}
	unsetenv("NOTIFY_SOCKET");
}

static void notify_send(const char *msg)
{
	int fd;

	if (!nt.addrlen)
		return;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&nt.addr,
			     nt.addrlen) < 0) {
		/* Once: a manager that went away stays away. */
		if (!nt.warned)
			log_warn("cannot notify the service manager");
		nt.warned = true;
	}
	if (fd >= 0)
		close(fd);
}

/* One line for systemctl status: what is served, and how well. */
static void status_line(const struct daemon *d, char *buf, size_t len)
{
	size_t in_ring = 0, backends = 0;
	int n;

	for (size_t i = 0; i < d->nvips; i++) {
		in_ring += d->vips[i]->ring_backends;
		backends += d->vips[i]->nbackends;
	}
	n = snprintf(buf, len, "%zu VIPs on %zu interfaces, %zu of %zu backends in rings%s",
		     d->nvips, d->cfg->ninterfaces, in_ring, backends,
		     d->host_drained ? ", host drained" : "");
	if (nt.reload_err[0] && n >= 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, "; last reload failed: %s", nt.reload_err);
}

static void status_send(const struct daemon *d, const char *prefix)
{
	char line[sizeof(nt.status)], msg[sizeof(nt.status) + 64];

	status_line(d, line, sizeof(line));
	if (!prefix[0] && strcmp(line, nt.status) == 0)
		return;
	snprintf(nt.status, sizeof(nt.status), "%s", line);
	snprintf(msg, sizeof(msg), "%sSTATUS=%s", prefix, line);
	notify_send(msg);
}

static void on_status_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	status_send(arg, "");
}

/* The first callback the loop runs: from here on it serves the control
 * socket.
 */
static void on_loop_running(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;

	(void)fd;
	(void)what;
	status_send(d, "READY=1\n");
	log_debug("ready: the service manager is told");
}

int notify_ready(struct daemon *d)
{
	if (!nt.addrlen)
		return 0;
	if (event_base_once(d->base, -1, EV_TIMEOUT, on_loop_running, d, &(struct timeval){ 0 }))
		return -ENOMEM;
	nt.status_timer = event_new(d->base, -1, EV_PERSIST, on_status_timer, d);
	if (!nt.status_timer)
		return -ENOMEM;
	return event_add(nt.status_timer, &(struct timeval){ .tv_sec = STATUS_INTERVAL_S })
		       ? -ENOMEM
		       : 0;
}

void notify_reloading(void)
{
	struct timespec ts;
	char msg[64];

	if (!nt.addrlen)
		return;
	/* systemd (253 on) wants the time of the request, to tell this
	 * reload from an earlier one.
	 */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
		 (unsigned long long)ts.tv_sec * 1000000ULL +
			 (unsigned long long)ts.tv_nsec / 1000);
	notify_send(msg);
}

void notify_reloaded(struct daemon *d, const char *err)
{
	char *nl;

	snprintf(nt.reload_err, sizeof(nt.reload_err), "%s", err ? err : "");
	/* STATUS= is one line. */
	while ((nl = strchr(nt.reload_err, '\n')))
		*nl = ' ';
	status_send(d, "READY=1\n");
}

void notify_stopping(void)
{
	if (nt.status_timer) {
		event_free(nt.status_timer);
		nt.status_timer = NULL;
	}
	notify_send("STOPPING=1\nSTATUS=stopping");
}
