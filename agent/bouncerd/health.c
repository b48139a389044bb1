// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Health checks: the rise/fall state machine, and the tcp, http, udp and
 * exec probes, each a small state machine driven by the caller's libevent
 * loop. One probe per check at a time; its fd, event, buffer and child live
 * only while it is in flight, so an idle check costs two timers.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <netinet/in.h>

#include <event2/event.h>

#include "common/addr.h"
#include "health.h"
#include "common/log.h"
#include "common/util.h"
#include "common/vocab.h"

/* Bytes of an http response read at most: status line, headers and as much
 * of the body as the expect substring is searched in.
 */
#define HTTP_RESPONSE_MAX 65536
/* Largest UDP payload over IPv4; a reply is read whole or not at all. */
#define UDP_REPLY_MAX 65507
/* Defaults for a cfg_check built by hand with these fields left zero (the
 * config module fills them in for checks from a file).
 */
#define HTTP_STATUS_MIN_DEFAULT 200
#define HTTP_STATUS_MAX_DEFAULT 399

extern char **environ;

enum probe_phase {
	PROBE_IDLE = 0,
	PROBE_CONNECT, /* tcp, http: waiting for the socket to be writable */
	PROBE_SEND, /* http: request partly sent */
	PROBE_RECV, /* http: reading the response; udp: waiting for a reply */
	PROBE_EXEC, /* exec: waiting for the child to exit */
	PROBE_REAP, /* exec: timed out, child killed, waiting to reap it */
};

struct health_check {
	struct event_base *base;
	struct cfg_check check; /* deep copy */
	health_change_fn fn;
	void *arg;

	struct sockaddr_storage sa;
	socklen_t salen;
	__u16 port;
	char label[ADDR_STRLEN + 8]; /* "ADDR:PORT" or "[ADDR6]:PORT", for logs */
	char *http_request;
	size_t http_request_len;
	char *env_addr, *env_port; /* "BOUNCER_BACKEND_...=..." */

	struct health_sm sm;
	struct health_check_stats stats;
	struct event *tick; /* every interval_ms */
	struct event *deadline; /* the probe's timeout */

	/* The probe in flight. */
	enum probe_phase phase;
	int fd; /* socket or pidfd; -1 when none */
	pid_t pid; /* exec child not yet reaped; 0 when none */
	struct event *io; /* on fd */
	char *buf; /* http response, NUL-terminated */
	size_t len, cap;
	size_t sent;
};

void health_sm_init(struct health_sm *sm, unsigned int rise, unsigned int fall)
{
	/* 0 would mean "up before any success": read it as 1. */
	sm->rise = rise ? rise : 1;
	sm->fall = fall ? fall : 1;
	sm->ok_run = 0;
	sm->fail_run = 0;
	sm->up = false;
	sm->been_up = false;
}

bool health_sm_feed(struct health_sm *sm, bool ok)
{
	if (ok) {
		sm->fail_run = 0;
		if (sm->ok_run < UINT_MAX)
			sm->ok_run++;
		if (!sm->up && (sm->ok_run >= sm->rise || !sm->been_up)) {
			sm->up = true;
			sm->been_up = true;
			return true;
		}
	} else {
		sm->ok_run = 0;
		if (sm->fail_run < UINT_MAX)
			sm->fail_run++;
		if (sm->up && sm->fail_run >= sm->fall) {
			sm->up = false;
			return true;
		}
	}
	return false;
}

/* splitmix64 over a process-wide state seeded once from the clock and the
 * pid: checks started in the same millisecond still draw different jitter,
 * and agents started together on several machines do not share a sequence.
 */
static uint64_t health_random(void)
{
	static uint64_t state;
	static bool seeded;
	uint64_t z;

	if (!seeded) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		state = ((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec) ^
			((uint64_t)getpid() << 32);
		seeded = true;
	}
	state += 0x9e3779b97f4a7c15ull;
	z = state;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* memmem, which needs _GNU_SOURCE. The haystacks are at most 64 KiB and
 * the needles short: the plain search is enough.
 */
static const char *mem_find(const char *hay, size_t hay_len, const char *needle, size_t len)
{
	if (!len)
		return hay;
	for (size_t i = 0; i + len <= hay_len; i++)
		if (hay[i] == needle[0] && memcmp(hay + i, needle, len) == 0)
			return hay + i;
	return NULL;
}

static struct timeval ms_to_tv(unsigned int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (suseconds_t)(ms % 1000) * 1000 };

	return tv;
}

static void probe_cb(evutil_socket_t fd, short what, void *arg);

/* Ends the probe's I/O: closes its fd and frees its event and buffer. An
 * exec child must have been reaped before (see exec_kill_and_reap()).
 */
static void probe_release(struct health_check *hc)
{
	if (hc->io) {
		event_free(hc->io);
		hc->io = NULL;
	}
	if (hc->fd >= 0) {
		close(hc->fd);
		hc->fd = -1;
	}
	free(hc->buf);
	hc->buf = NULL;
	hc->len = 0;
	hc->cap = 0;
	hc->sent = 0;
	if (hc->deadline)
		evtimer_del(hc->deadline);
	hc->phase = PROBE_IDLE;
}

/* Records a finished probe and reports a change of state. fn may stop and
 * free hc, so it is called last and nothing touches hc after it.
 */
static void probe_finish(struct health_check *hc, bool ok, const char *why)
{
	char reason[sizeof(hc->stats.last_error)];
	bool changed;

	probe_release(hc);
	hc->stats.checks++;
	if (ok) {
		hc->stats.last_error[0] = '\0';
	} else {
		hc->stats.failures++;
		snprintf(hc->stats.last_error, sizeof(hc->stats.last_error), "%s", why);
		log_debug("%s check of %s: %s", vocab_name(&vocab_check_type, (int)hc->check.type),
			  hc->label, why);
	}
	changed = health_sm_feed(&hc->sm, ok);
	hc->stats.up = hc->sm.up;
	if (!changed)
		return;
	hc->stats.transitions++;
	if (ok)
		snprintf(reason, sizeof(reason), "%u success%s", hc->sm.ok_run,
			 hc->sm.ok_run == 1 ? "" : "es");
	else
		snprintf(reason, sizeof(reason), "%s", why);
	if (hc->fn)
		hc->fn(hc, hc->sm.up, reason, hc->arg);
}

static void probe_fail(struct health_check *hc, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void probe_fail(struct health_check *hc, const char *fmt, ...)
{
	char why[sizeof(hc->stats.last_error)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	probe_finish(hc, false, why);
}

/* Waits for what (EV_READ or EV_WRITE) on the probe's fd. */
static int probe_wait(struct health_check *hc, short what)
{
	if (!hc->io) {
		hc->io = event_new(hc->base, hc->fd, what, probe_cb, hc);
		if (!hc->io)
			return -ENOMEM;
	} else {
		event_del(hc->io);
		if (event_assign(hc->io, hc->base, hc->fd, what, probe_cb, hc) < 0)
			return -EINVAL;
	}
	if (event_add(hc->io, NULL) < 0)
		return -EINVAL;
	return 0;
}

/* SIGKILL to the child's process group, so that what a shell script started
 * dies with it, then a blocking reap: only health_check_stop() and a probe
 * that cannot watch its child get here, where no later event would reap
 * it. A killed process is gone once the kernel has torn it down, so the
 * wait is short.
 */
static void exec_kill_and_reap(struct health_check *hc)
{
	if (hc->pid <= 0)
		return;
	kill(-hc->pid, SIGKILL);
	while (waitpid(hc->pid, NULL, 0) < 0 && errno == EINTR)
		;
	hc->pid = 0;
}

/* ---- http ---- */

/* Length of the status line without its end of line, or -1 while the line
 * is incomplete.
 */
static ssize_t http_line_len(const char *s, size_t len)
{
	const char *nl = memchr(s, '\n', len);

	if (!nl)
		return -1;
	if (nl > s && nl[-1] == '\r')
		nl--;
	return nl - s;
}

/* "HTTP/x.y SSS reason": the status, or -1. */
static int http_parse_status(const char *line, size_t len)
{
	const char *sp;
	int status = 0;

	if (len < 12 || strncmp(line, "HTTP/", 5) != 0)
		return -1;
	sp = memchr(line, ' ', len);
	if (!sp || (size_t)(sp - line) + 4 > len)
		return -1;
	for (int i = 1; i <= 3; i++) {
		if (sp[i] < '0' || sp[i] > '9')
			return -1;
		status = status * 10 + (sp[i] - '0');
	}
	if ((size_t)(sp - line) + 4 < len && sp[4] != ' ')
		return -1;
	return status;
}

/* The Content-Length of a complete header block, or -1 when absent. */
static long long http_content_length(const char *hdr, const char *end)
{
	static const char name[] = "content-length:";
	const char *p = memchr(hdr, '\n', (size_t)(end - hdr));

	while (p && p + 1 < end) {
		const char *line = p + 1;
		char *num_end;
		long long v;

		p = memchr(line, '\n', (size_t)(end - line));
		if ((size_t)(end - line) < sizeof(name) - 1 ||
		    strncasecmp(line, name, sizeof(name) - 1) != 0)
			continue;
		errno = 0;
		v = strtoll(line + sizeof(name) - 1, &num_end, 10);
		if (errno || num_end == line + sizeof(name) - 1 || v < 0)
			return -1;
		return v;
	}
	return -1;
}

/* Judges the response read so far. Returns 1 when decided (the probe is
 * finished), 0 when more is needed. done: nothing more will come (end of
 * stream or the read bound).
 */
static int http_judge(struct health_check *hc, bool done)
{
	const struct cfg_check *c = &hc->check;
	const char *resp = hc->buf ? hc->buf : "";
	ssize_t line_len = http_line_len(resp, hc->len);
	const char *hdr_end, *body;
	long long clen;
	size_t body_len;
	int status;

	if (line_len < 0) {
		if (!done)
			return 0;
		probe_fail(hc, hc->len ? "http: bad status line" : "http: empty response");
		return 1;
	}
	status = http_parse_status(resp, (size_t)line_len);
	if (status < 0) {
		probe_fail(hc, "http: bad status line");
		return 1;
	}
	if ((unsigned int)status < c->http_status_min ||
	    (unsigned int)status > c->http_status_max) {
		probe_fail(hc, "http status %d", status);
		return 1;
	}
	if (!c->http_expect) {
		probe_finish(hc, true, NULL);
		return 1;
	}
	hdr_end = mem_find(resp, hc->len, "\r\n\r\n", 4);
	if (hdr_end) {
		body = hdr_end + 4;
	} else {
		/* Bare LF line ends, as some minimal servers send. */
		hdr_end = mem_find(resp, hc->len, "\n\n", 2);
		body = hdr_end ? hdr_end + 2 : NULL;
	}
	if (!body) {
		if (!done)
			return 0;
		probe_fail(hc, "http: truncated headers");
		return 1;
	}
	body_len = hc->len - (size_t)(body - resp);
	if (mem_find(body, body_len, c->http_expect, strlen(c->http_expect))) {
		probe_finish(hc, true, NULL);
		return 1;
	}
	/* A server that keeps the connection open despite "Connection: close"
	 * is judged once its Content-Length is in, not at the timeout.
	 */
	clen = http_content_length(resp, hdr_end);
	if (done || (clen >= 0 && body_len >= (unsigned long long)clen)) {
		probe_fail(hc, "body lacks '%s'", c->http_expect);
		return 1;
	}
	return 0;
}

static void http_send(struct health_check *hc)
{
	while (hc->sent < hc->http_request_len) {
		ssize_t n = send(hc->fd, hc->http_request + hc->sent,
				 hc->http_request_len - hc->sent, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				if (probe_wait(hc, EV_WRITE) < 0)
					probe_fail(hc, "event: cannot wait for socket");
				return;
			}
			probe_fail(hc, "send: %s", strerror(errno));
			return;
		}
		hc->sent += (size_t)n;
	}
	hc->phase = PROBE_RECV;
	if (probe_wait(hc, EV_READ) < 0)
		probe_fail(hc, "event: cannot wait for socket");
}

static void http_recv(struct health_check *hc)
{
	for (;;) {
		ssize_t n;

		if (hc->cap - hc->len == 0) {
			size_t cap = hc->cap ? hc->cap * 2 : 4096;
			char *buf;

			if (cap > HTTP_RESPONSE_MAX)
				cap = HTTP_RESPONSE_MAX;
			/* One more byte for a NUL: the status line is parsed
			 * with string functions.
			 */
			buf = realloc(hc->buf, cap + 1);
			if (!buf) {
				probe_fail(hc, "http: out of memory");
				return;
			}
			hc->buf = buf;
			hc->cap = cap;
		}
		n = recv(hc->fd, hc->buf + hc->len, hc->cap - hc->len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				if (http_judge(hc, false))
					return;
				if (probe_wait(hc, EV_READ) < 0)
					probe_fail(hc, "event: cannot wait for socket");
				return;
			}
			probe_fail(hc, "recv: %s", strerror(errno));
			return;
		}
		hc->len += (size_t)n;
		hc->buf[hc->len] = '\0';
		if (n == 0 || hc->len == HTTP_RESPONSE_MAX) {
			http_judge(hc, true);
			return;
		}
	}
}

/* ---- udp ---- */

static void udp_recv(struct health_check *hc)
{
	const char *expect = hc->check.udp_expect;
	char *buf = malloc(UDP_REPLY_MAX);
	ssize_t n;

	if (!buf) {
		probe_fail(hc, "udp: out of memory");
		return;
	}
	do {
		n = recv(hc->fd, buf, UDP_REPLY_MAX, 0);
	} while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		free(buf);
		if (probe_wait(hc, EV_READ) < 0)
			probe_fail(hc, "event: cannot wait for socket");
		return;
	}
	if (n < 0) {
		/* ECONNREFUSED here is the ICMP port unreachable the kernel
		 * queued on the connected socket.
		 */
		int err = errno;

		free(buf);
		probe_fail(hc, "recv: %s", strerror(err));
		return;
	}
	if (expect && !mem_find(buf, (size_t)n, expect, strlen(expect))) {
		free(buf);
		probe_fail(hc, "reply lacks '%s'", expect);
		return;
	}
	free(buf);
	probe_finish(hc, true, NULL);
}

/* ---- exec ---- */

static void exec_exited(struct health_check *hc, bool timed_out)
{
	int status;
	pid_t r;

	do {
		r = waitpid(hc->pid, &status, WNOHANG);
	} while (r < 0 && errno == EINTR);
	if (r == 0) {
		/* pidfd readable means exited; wait again rather than spin. */
		if (probe_wait(hc, EV_READ) < 0) {
			exec_kill_and_reap(hc);
			probe_fail(hc, "event: cannot wait for child");
		}
		return;
	}
	hc->pid = 0;
	if (r < 0)
		probe_fail(hc, "waitpid: %s", strerror(errno));
	else if (timed_out)
		probe_fail(hc, "timeout after %u ms", hc->check.timeout_ms);
	else if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		probe_finish(hc, true, NULL);
	else if (WIFEXITED(status))
		probe_fail(hc, "exit status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		probe_fail(hc, "killed by signal %d", WTERMSIG(status));
	else
		probe_fail(hc, "wait status 0x%x", (unsigned int)status);
}

/* environ without any BOUNCER_BACKEND_* of its own, plus ours. */
static char **exec_envp(const struct health_check *hc)
{
	size_t n = 0, j = 0;
	char **envp;

	while (environ && environ[n])
		n++;
	envp = calloc(n + 3, sizeof(*envp));
	if (!envp)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (strncmp(environ[i], "BOUNCER_BACKEND_ADDR=", 21) == 0 ||
		    strncmp(environ[i], "BOUNCER_BACKEND_PORT=", 21) == 0)
			continue;
		envp[j++] = environ[i];
	}
	envp[j++] = hc->env_addr;
	envp[j++] = hc->env_port;
	envp[j] = NULL;
	return envp;
}

/* Spawns the child: stdin and stdout on /dev/null (stderr stays the
 * agent's, so a script's complaints reach the log), its own process group
 * (a timeout kills what it started too), signals unblocked and at their
 * defaults (the agent may block some for signalfd, or ignore SIGPIPE).
 */
static int exec_spawn(struct health_check *hc)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	bool fa_init = false, attr_init = false;
	sigset_t mask, def;
	char **envp = NULL;
	pid_t pid;
	int err;

	envp = exec_envp(hc);
	if (!envp) {
		err = -ENOMEM;
		goto cleanup;
	}
	err = -posix_spawn_file_actions_init(&fa);
	if (err)
		goto cleanup;
	fa_init = true;
	err = -posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	if (!err)
		err = -posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY,
							0);
	if (err)
		goto cleanup;
	err = -posix_spawnattr_init(&attr);
	if (err)
		goto cleanup;
	attr_init = true;
	sigemptyset(&mask);
	sigfillset(&def);
	err = -posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
						       POSIX_SPAWN_SETSIGDEF);
	if (!err)
		err = -posix_spawnattr_setpgroup(&attr, 0);
	if (!err)
		err = -posix_spawnattr_setsigmask(&attr, &mask);
	if (!err)
		err = -posix_spawnattr_setsigdefault(&attr, &def);
	if (err)
		goto cleanup;
	err = -posix_spawnp(&pid, hc->check.exec_argv[0], &fa, &attr, hc->check.exec_argv, envp);
	if (err)
		goto cleanup;
	hc->pid = pid;
cleanup:
	if (attr_init)
		posix_spawnattr_destroy(&attr);
	if (fa_init)
		posix_spawn_file_actions_destroy(&fa);
	free(envp);
	return err;
}

static void exec_start(struct health_check *hc)
{
	int err = exec_spawn(hc);
	int fd;

	if (err) {
		probe_fail(hc, "spawn %s: %s", hc->check.exec_argv[0], strerror(-err));
		return;
	}
	/* The child is not reaped before we wait for it, so its pid cannot
	 * be reused in between.
	 */
	fd = pidfd_open(hc->pid, 0);
	if (fd < 0) {
		err = errno;
		exec_kill_and_reap(hc);
		probe_fail(hc, "pidfd_open: %s", strerror(err));
		return;
	}
	hc->fd = fd;
	hc->phase = PROBE_EXEC;
	if (probe_wait(hc, EV_READ) < 0) {
		exec_kill_and_reap(hc);
		probe_fail(hc, "event: cannot wait for child");
	}
}

/* ---- sockets ---- */

static void sock_start(struct health_check *hc)
{
	int type = hc->check.type == CFG_CHECK_UDP ? SOCK_DGRAM : SOCK_STREAM;
	const char *payload = hc->check.udp_send ? hc->check.udp_send : "";
	int fd;

	fd = socket(hc->sa.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		probe_fail(hc, "socket: %s", strerror(errno));
		return;
	}
	hc->fd = fd;
	/* A UDP connect only sets the peer; a TCP one is in progress (or,
	 * on loopback, sometimes already done: writable right away then).
	 */
	if (connect(fd, (const struct sockaddr *)&hc->sa, hc->salen) < 0 && errno != EINPROGRESS) {
		probe_fail(hc, "connect: %s", strerror(errno));
		return;
	}
	if (type == SOCK_STREAM) {
		hc->phase = PROBE_CONNECT;
		if (probe_wait(hc, EV_WRITE) < 0)
			probe_fail(hc, "event: cannot wait for socket");
		return;
	}
	if (send(fd, payload, strlen(payload), MSG_NOSIGNAL) < 0) {
		probe_fail(hc, "send: %s", strerror(errno));
		return;
	}
	hc->phase = PROBE_RECV;
	if (probe_wait(hc, EV_READ) < 0)
		probe_fail(hc, "event: cannot wait for socket");
}

static void sock_connected(struct health_check *hc)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(hc->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err) {
		probe_fail(hc, "connect: %s", strerror(err));
		return;
	}
	if (hc->check.type == CFG_CHECK_TCP) {
		/* Close with a reset: a check every few seconds would
		 * otherwise leave a TIME_WAIT socket behind each time.
		 */
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };

		setsockopt(hc->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		probe_finish(hc, true, NULL);
		return;
	}
	hc->phase = PROBE_SEND;
	http_send(hc);
}

/* ---- events ---- */

static void probe_cb(evutil_socket_t fd, short what, void *arg)
{
	struct health_check *hc = arg;

	(void)fd;
	(void)what;
	switch (hc->phase) {
	case PROBE_CONNECT:
		sock_connected(hc);
		break;
	case PROBE_SEND:
		http_send(hc);
		break;
	case PROBE_RECV:
		if (hc->check.type == CFG_CHECK_UDP)
			udp_recv(hc);
		else
			http_recv(hc);
		break;
	case PROBE_EXEC:
		exec_exited(hc, false);
		break;
	case PROBE_REAP:
		exec_exited(hc, true);
		break;
	case PROBE_IDLE:
		break;
	}
}

static void deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct health_check *hc = arg;

	(void)fd;
	(void)what;
	if (hc->phase == PROBE_EXEC) {
		/* Reported once the child is reaped, through its pidfd: the
		 * next probe must not start beside it.
		 */
		kill(-hc->pid, SIGKILL);
		hc->phase = PROBE_REAP;
		return;
	}
	if (hc->phase != PROBE_IDLE && hc->phase != PROBE_REAP)
		probe_fail(hc, "timeout after %u ms", hc->check.timeout_ms);
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct health_check *hc = arg;
	struct timeval tv;

	(void)fd;
	(void)what;
	if (hc->check.type == CFG_CHECK_NONE) {
		/* Up once, for good: no need to wake again. */
		hc->stats.checks++;
		if (hc->sm.up)
			return;
		hc->sm.up = true;
		hc->stats.up = true;
		hc->stats.transitions++;
		if (hc->fn)
			hc->fn(hc, true, "no check", hc->arg);
		return;
	}
	/* Re-armed first: the probe may finish right here and fn may stop hc. */
	tv = ms_to_tv(hc->check.interval_ms);
	evtimer_add(hc->tick, &tv);
	if (hc->phase != PROBE_IDLE) {
		log_debug("%s check of %s: previous probe still running, tick skipped",
			  vocab_name(&vocab_check_type, (int)hc->check.type), hc->label);
		return;
	}
	tv = ms_to_tv(hc->check.timeout_ms);
	evtimer_add(hc->deadline, &tv);
	if (hc->check.type == CFG_CHECK_EXEC)
		exec_start(hc);
	else
		sock_start(hc);
}

/* ---- set-up ---- */

static void check_free_copy(struct cfg_check *c)
{
	free(c->http_path);
	free(c->http_host);
	free(c->http_expect);
	free(c->udp_send);
	free(c->udp_expect);
	for (size_t i = 0; c->exec_argv && c->exec_argv[i]; i++)
		free(c->exec_argv[i]);
	free(c->exec_argv);
	memset(c, 0, sizeof(*c));
}

static int dup_str(char **dst, const char *src)
{
	*dst = NULL;
	if (!src)
		return 0;
	*dst = strdup(src);
	return *dst ? 0 : -ENOMEM;
}

static int check_copy(struct cfg_check *dst, const struct cfg_check *src)
{
	size_t n = 0;
	int err;

	*dst = *src;
	dst->http_path = dst->http_host = dst->http_expect = NULL;
	dst->udp_send = dst->udp_expect = NULL;
	dst->exec_argv = NULL;
	err = dup_str(&dst->http_path, src->http_path);
	if (!err)
		err = dup_str(&dst->http_host, src->http_host);
	if (!err)
		err = dup_str(&dst->http_expect, src->http_expect);
	if (!err)
		err = dup_str(&dst->udp_send, src->udp_send);
	if (!err)
		err = dup_str(&dst->udp_expect, src->udp_expect);
	if (err || !src->exec_argv)
		goto cleanup;
	while (src->exec_argv[n])
		n++;
	dst->exec_argv = calloc(n + 1, sizeof(*dst->exec_argv));
	if (!dst->exec_argv) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (size_t i = 0; i < n && !err; i++)
		err = dup_str(&dst->exec_argv[i], src->exec_argv[i]);
cleanup:
	if (err)
		check_free_copy(dst);
	return err;
}

static int check_validate(const struct cfg_check *c, __u16 port)
{
	switch (c->type) {
	case CFG_CHECK_NONE:
		return 0;
	case CFG_CHECK_EXEC:
		if (!c->exec_argv || !c->exec_argv[0])
			return -EINVAL;
		break;
	case CFG_CHECK_HTTP:
		/* Both end up in the request: no header injection. */
		if ((c->http_path && strpbrk(c->http_path, "\r\n")) ||
		    (c->http_host && strpbrk(c->http_host, "\r\n")))
			return -EINVAL;
		/* fall through */
	case CFG_CHECK_TCP:
	case CFG_CHECK_UDP:
		if (!port)
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}
	/* A zero interval would spin the loop, a zero timeout fail always. */
	if (!c->interval_ms || !c->timeout_ms)
		return -EINVAL;
	return 0;
}

static int http_build_request(struct health_check *hc, const char *addr)
{
	struct cfg_check *c = &hc->check;
	const char *path = c->http_path ? c->http_path : "/";
	const char *host = c->http_host;
	char def_host[ADDR_STRLEN + 8];

	if (!host) {
		/* The address, bracketed for IPv6, and the port unless it is
		 * http's own: what a browser would send.
		 */
		bool v6 = hc->sa.ss_family == AF_INET6;

		if (hc->port == 80)
			snprintf(def_host, sizeof(def_host), v6 ? "[%s]" : "%s", addr);
		else
			snprintf(def_host, sizeof(def_host), v6 ? "[%s]:%u" : "%s:%u", addr,
				 hc->port);
		host = def_host;
	}
	if (!c->http_status_min && !c->http_status_max) {
		c->http_status_min = HTTP_STATUS_MIN_DEFAULT;
		c->http_status_max = HTTP_STATUS_MAX_DEFAULT;
	}
	hc->http_request = format("GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: bouncer\r\n"
				  "Connection: close\r\n\r\n",
				  path, host);
	if (!hc->http_request)
		return -ENOMEM;
	hc->http_request_len = strlen(hc->http_request);
	return 0;
}

static int exec_build_env(struct health_check *hc, const char *addr)
{
	hc->env_addr = format("BOUNCER_BACKEND_ADDR=%s", addr);
	hc->env_port = format("BOUNCER_BACKEND_PORT=%u", hc->port);
	return hc->env_addr && hc->env_port ? 0 : -ENOMEM;
}

static void health_check_free(struct health_check *hc)
{
	exec_kill_and_reap(hc);
	probe_release(hc);
	if (hc->tick)
		event_free(hc->tick);
	if (hc->deadline)
		event_free(hc->deadline);
	check_free_copy(&hc->check);
	free(hc->http_request);
	free(hc->env_addr);
	free(hc->env_port);
	free(hc);
}

struct health_check *health_check_start(struct event_base *base, const struct health_target *t,
					const struct cfg_check *check, health_change_fn fn,
					void *arg)
{
	struct health_check *hc = NULL;
	char addr[ADDR_STRLEN];
	unsigned int delay_ms;
	struct timeval tv;
	int err;

	if (!base || !t || !check || check->port > 65535 ||
	    (t->family != BNC_FAMILY_IPV4 && t->family != BNC_FAMILY_IPV6)) {
		err = -EINVAL;
		goto cleanup;
	}
	err = check_validate(check, check->port ? (__u16)check->port : t->port);
	if (err)
		goto cleanup;
	hc = calloc(1, sizeof(*hc));
	if (!hc) {
		err = -ENOMEM;
		goto cleanup;
	}
	hc->fd = -1;
	hc->base = base;
	hc->fn = fn;
	hc->arg = arg;
	hc->port = check->port ? (__u16)check->port : t->port;
	health_sm_init(&hc->sm, check->rise, check->fall);
	err = check_copy(&hc->check, check);
	if (err)
		goto cleanup;
	if (t->family == BNC_FAMILY_IPV4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&hc->sa;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(hc->port);
		sin->sin_addr.s_addr = t->addr[0];
		hc->salen = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&hc->sa;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(hc->port);
		memcpy(&sin6->sin6_addr, t->addr, sizeof(sin6->sin6_addr));
		hc->salen = sizeof(*sin6);
	}
	addr_format(t->addr, t->family, addr, sizeof(addr));
	snprintf(hc->label, sizeof(hc->label), t->family == BNC_FAMILY_IPV6 ? "[%s]:%u" : "%s:%u",
		 addr, hc->port);
	if (check->type == CFG_CHECK_HTTP) {
		err = http_build_request(hc, addr);
		if (err)
			goto cleanup;
	}
	if (check->type == CFG_CHECK_EXEC) {
		err = exec_build_env(hc, addr);
		if (err)
			goto cleanup;
	}
	hc->tick = evtimer_new(base, tick_cb, hc);
	hc->deadline = evtimer_new(base, deadline_cb, hc);
	if (!hc->tick || !hc->deadline) {
		err = -ENOMEM;
		goto cleanup;
	}
	/* Checks started together (start-up, reload) spread over jitter_ms
	 * instead of hitting every backend in the same instant.
	 */
	delay_ms = 0;
	if (check->jitter_ms)
		delay_ms = (unsigned int)(health_random() % ((uint64_t)check->jitter_ms + 1));
	tv = ms_to_tv(delay_ms);
	if (evtimer_add(hc->tick, &tv) < 0) {
		err = -EINVAL;
		goto cleanup;
	}
	return hc;
cleanup:
	if (hc)
		health_check_free(hc);
	errno = -err;
	return NULL;
}

void health_check_stop(struct health_check *hc)
{
	if (hc)
		health_check_free(hc);
}

void health_check_get_stats(const struct health_check *hc, struct health_check_stats *out)
{
	*out = hc->stats;
	out->up = hc->sm.up;
}
