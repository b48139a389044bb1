// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The control socket: the agent's server in its libevent loop, and the
 * blocking client bouncerctl and the tests use. One JSON object per line
 * each way; docs/control.md has the commands.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>

#include "ctl.h"
#include "log.h"
#include "util.h"

/* Replies queued for a client that does not read them: past this much, the
 * server stops reading its requests until it catches up, so a client that
 * pipelines without reading cannot make the agent buffer without bound.
 */
#define CTL_MAX_PENDING_OUTPUT ((size_t)1024 * 1024)
/* The longest reply the client accepts: a flow list with a large limit is
 * big, but never this big.
 */
#define CTL_MAX_REPLY ((size_t)64 * 1024 * 1024)
/* How long the listener rests after accept() fails (EMFILE and the like):
 * the socket stays readable, and retrying at once would spin.
 */
#define CTL_ACCEPT_PAUSE_S 1

struct ctl_conn {
	/* The server's list of connections, for ctl_server_close(). */
	struct ctl_conn *next, **pprev;
	struct ctl_server *srv;
	struct bufferevent *bev;
	/* A reply is the last thing this connection gets: free it once the
	 * output is flushed.
	 */
	bool closing;
	/* Reading stopped until the queued replies drain. */
	bool throttled;
	/* The client closed its side: what is left of the input is its last
	 * request.
	 */
	bool eof;
	/* Refused (an oversized line): after the error reply, our side is
	 * shut and the client's remaining input read and dropped until it
	 * closes. Closing with unread input would send a reset, which can
	 * destroy the error reply before the client reads it.
	 */
	bool failed;
	bool draining;
};

struct ctl_server {
	struct event_base *base;
	struct evconnlistener *listener;
	struct event *accept_timer;
	ctl_handler_fn fn;
	void *arg;
	char *path;
	/* The socket file as bound: close removes the file only if it is
	 * still ours, not one a later server put there.
	 */
	dev_t dev;
	ino_t ino;
	struct ctl_conn *conns;
	size_t nconns;
	/* ctl_server_set_limits(); CTL_MAX_CONNS and CTL_IDLE_TIMEOUT_MS by
	 * default.
	 */
	size_t max_conns;
	struct timeval idle;
	bool refusing; /* at the cap, and said so */
};

json_t *ctl_reply_ok(json_t *result)
{
	json_t *reply = json_object();

	if (!result)
		result = json_object();
	if (!reply || !result || json_object_set_new(reply, "ok", json_true())) {
		json_decref(result);
		goto cleanup;
	}
	/* Steals result, on failure too. */
	if (json_object_set_new(reply, "result", result))
		goto cleanup;
	return reply;
cleanup:
	json_decref(reply);
	return NULL;
}

json_t *ctl_reply_error(const char *fmt, ...)
{
	json_t *reply = json_object(), *text;
	va_list ap;

	if (!reply)
		return NULL;
	va_start(ap, fmt);
	text = json_vsprintf(fmt, ap);
	va_end(ap);
	/* json_vsprintf refuses text that is not UTF-8: still an error. */
	if (!text)
		text = json_string("error (message not printable)");
	if (json_object_set_new(reply, "ok", json_false()) ||
	    json_object_set_new(reply, "error", text)) {
		json_decref(reply);
		return NULL;
	}
	return reply;
}

/* Server */

static void conn_free(struct ctl_conn *c)
{
	if (c->next)
		c->next->pprev = c->pprev;
	*c->pprev = c->next;
	c->srv->nconns--;
	c->srv->refusing = false;
	bufferevent_free(c->bev);
	free(c);
}

/* Queues reply (stolen) and a newline. A NULL reply (the handler's, or one
 * that could not be built) becomes "internal error".
 */
static void conn_send(struct ctl_conn *c, json_t *reply)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	char *text = NULL;

	if (reply)
		text = json_dumps(reply, JSON_COMPACT);
	json_decref(reply);
	if (text) {
		if (evbuffer_add(out, text, strlen(text)) || evbuffer_add(out, "\n", 1))
			log_warnx("ctl: cannot queue a reply");
		free(text);
		return;
	}
	/* Out of memory, most likely: a constant reply needs no allocation. */
	if (evbuffer_add_printf(out, "{\"ok\":false,\"error\":\"internal error\"}\n") < 0)
		log_warnx("ctl: cannot queue a reply");
}

/* An error reply, then the connection closes once it is flushed. */
static void conn_fail(struct ctl_conn *c, json_t *reply)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);

	conn_send(c, reply);
	c->closing = true;
	c->failed = true;
	bufferevent_disable(c->bev, EV_READ);
	evbuffer_drain(in, evbuffer_get_length(in));
}

/* How long a refused client gets to close after the error reply. */
#define CTL_DRAIN_TIMEOUT_S 2

static void conn_start_draining(struct ctl_conn *c)
{
	struct timeval limit = { .tv_sec = CTL_DRAIN_TIMEOUT_S };

	c->draining = true;
	if (shutdown(bufferevent_getfd(c->bev), SHUT_WR)) {
		conn_free(c);
		return;
	}
	bufferevent_set_timeouts(c->bev, &limit, NULL);
	bufferevent_enable(c->bev, EV_READ);
}

/* Parses one request line and answers it. */
static void conn_request(struct ctl_conn *c, const char *line, size_t len)
{
	json_t *req, *cmd, *args, *reply, *empty = NULL;
	json_error_t jerr;

	req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!req) {
		conn_send(c, ctl_reply_error("request is not JSON: %s (column %d)", jerr.text,
					     jerr.column));
		return;
	}
	if (!json_is_object(req)) {
		reply = ctl_reply_error("request is not a JSON object");
		goto out;
	}
	cmd = json_object_get(req, "cmd");
	if (!json_is_string(cmd)) {
		reply = ctl_reply_error("request has no string \"cmd\"");
		goto out;
	}
	args = json_object_get(req, "args");
	if (args && !json_is_object(args)) {
		reply = ctl_reply_error("%s: \"args\" is not an object", json_string_value(cmd));
		goto out;
	}
	/* Handlers get an object either way: no NULL checks before each
	 * json_object_get.
	 */
	if (!args) {
		empty = json_object();
		if (!empty) {
			reply = NULL;
			goto out;
		}
		args = empty;
	}
	log_debug("ctl: %s", json_string_value(cmd));
	reply = c->srv->fn(json_string_value(cmd), args, c->srv->arg);
	if (!reply)
		reply = ctl_reply_error("internal error");
out:
	conn_send(c, reply);
	json_decref(empty);
	json_decref(req);
}

/* Answers every complete line in the input, in order. At the end of the
 * input (c->eof) a last line without a newline counts too.
 */
static void conn_process(struct ctl_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct evbuffer *out = bufferevent_get_output(c->bev);

	while (!c->closing) {
		struct evbuffer_ptr eol;
		size_t len, eol_len;
		char *line;

		if (evbuffer_get_length(out) > CTL_MAX_PENDING_OUTPUT) {
			bufferevent_disable(c->bev, EV_READ);
			c->throttled = true;
			return;
		}
		/* Measure before copying: an oversized line is refused
		 * without pulling it into one allocation.
		 */
		eol = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_LF);
		len = eol.pos < 0 ? evbuffer_get_length(in) : (size_t)eol.pos;
		if (len > CTL_MAX_LINE) {
			conn_fail(c, ctl_reply_error("request line longer than %d bytes",
						     CTL_MAX_LINE));
			return;
		}
		if (eol.pos < 0) {
			if (!c->eof || len == 0)
				return;
			line = malloc(len + 1);
			if (!line || evbuffer_remove(in, line, len) != (int)len) {
				free(line);
				conn_fail(c, NULL);
				return;
			}
		} else {
			line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF);
			if (!line) {
				conn_fail(c, NULL);
				return;
			}
		}
		conn_request(c, line, len);
		free(line);
	}
}

static void conn_read_cb(struct bufferevent *bev, void *ctx)
{
	struct ctl_conn *c = ctx;
	struct evbuffer *in = bufferevent_get_input(bev);

	if (c->draining) {
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	conn_process(c);
}

/* The output drained: the last reply is out, or reading may resume. */
static void conn_write_cb(struct bufferevent *bev, void *ctx)
{
	struct ctl_conn *c = ctx;

	if (c->draining)
		return;
	if (c->closing) {
		if (c->failed && !c->eof)
			conn_start_draining(c);
		else
			conn_free(c);
		return;
	}
	if (c->throttled) {
		c->throttled = false;
		if (!c->eof)
			bufferevent_enable(bev, EV_READ);
		conn_process(c);
		if (c->eof && !c->closing && !c->throttled) {
			c->closing = true;
			if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
				conn_free(c);
		}
	}
}

static void conn_event_cb(struct bufferevent *bev, short what, void *ctx)
{
	struct ctl_conn *c = ctx;

	if (c->draining) {
		/* The client closed, reset, or ran out of time: done. */
		conn_free(c);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		/* No request for the idle time, or a reply the client has not
		 * read for as long: its descriptor is worth more to others.
		 */
		log_debug("ctl: closing a connection idle for %ld s", (long)c->srv->idle.tv_sec);
		conn_free(c);
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		/* EPIPE and ECONNRESET: the client went away. */
		if (errno != EPIPE && errno != ECONNRESET)
			log_warn("ctl: connection");
		conn_free(c);
		return;
	}
	if (!(what & BEV_EVENT_EOF))
		return;
	/* The client may half-close after its last request (echo ... | nc
	 * -U -N): answer what it sent, then close.
	 */
	c->eof = true;
	conn_process(c);
	if (c->throttled)
		return;
	c->closing = true;
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		conn_free(c);
}

/* One connection too many: a one-line error, then closed. The socket is
 * new, so the line fits its buffer and the non-blocking send does not
 * fail for want of room; AF_UNIX delivers it before the end of the
 * stream even if the client's request stays unread.
 */
static void refuse(struct ctl_server *s, evutil_socket_t fd)
{
	char line[128];
	int len;

	len = snprintf(line, sizeof(line),
		       "{\"ok\":false,\"error\":\"too many control connections (%zu): "
		       "try again later\"}\n",
		       s->max_conns);
	if (send(fd, line, (size_t)len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		log_debug("ctl: cannot send the refusal: %s", strerror(errno));
	close(fd);
	/* Once per flood, not once per connection: the log is no cheaper
	 * to fill than the descriptor table.
	 */
	if (!s->refusing)
		log_warnx("ctl: %zu connections open: refusing more until one closes", s->nconns);
	s->refusing = true;
}

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
		      int socklen, void *arg)
{
	struct ctl_server *s = arg;
	struct ctl_conn *c;

	(void)l;
	(void)sa;
	(void)socklen;
	if (s->nconns >= s->max_conns) {
		refuse(s, fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		log_warnx("ctl: out of memory for a connection");
		close(fd);
		return;
	}
	c->srv = s;
	c->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!c->bev) {
		log_warnx("ctl: cannot set up a connection");
		close(fd);
		free(c);
		return;
	}
	c->next = s->conns;
	if (c->next)
		c->next->pprev = &c->next;
	c->pprev = &s->conns;
	s->conns = c;
	s->nconns++;
	bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb, c);
	/* The read timeout closes a connection with no request for that
	 * long; the write timeout one whose replies are not read.
	 */
	bufferevent_set_timeouts(c->bev, &s->idle, &s->idle);
	if (bufferevent_enable(c->bev, EV_READ))
		conn_free(c);
}

static void accept_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ctl_server *s = arg;

	(void)fd;
	(void)what;
	if (evconnlistener_enable(s->listener))
		log_warnx("ctl: cannot resume accepting connections");
}

static void accept_error_cb(struct evconnlistener *l, void *arg)
{
	struct ctl_server *s = arg;
	struct timeval pause = { .tv_sec = CTL_ACCEPT_PAUSE_S };

	log_warn("ctl: accept on %s", s->path);
	evconnlistener_disable(l);
	if (event_add(s->accept_timer, &pause))
		evconnlistener_enable(l);
}

/* mkdir -p for the directory of path: missing components are created
 * 0700, existing ones left as they are.
 */
static int make_parent_dirs(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *p;

	snprintf(dir, sizeof(dir), "%s", path);
	p = strrchr(dir, '/');
	if (!p || p == dir)
		return 0;
	*p = '\0';
	for (p = dir + 1;; p++) {
		bool last = *p == '\0';

		if (*p != '/' && !last)
			continue;
		*p = '\0';
		if (mkdir(dir, 0700) && errno != EEXIST)
			return -errno;
		if (last)
			return 0;
		*p = '/';
	}
}

/* An existing file at path: a socket no one listens on is left over from
 * an agent that died, and goes. A socket someone answers on belongs to a
 * running agent, and anything else is not ours to delete.
 */
static int remove_stale_socket(const char *path, const struct sockaddr_un *sun)
{
	struct stat st;
	int fd, err = 0;

	if (lstat(path, &st))
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* A full backlog (EAGAIN) is a live agent too. */
	if (connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0 || errno == EAGAIN) {
		err = -EADDRINUSE;
		goto cleanup;
	}
	if (errno != ECONNREFUSED && errno != ENOENT) {
		err = -errno;
		goto cleanup;
	}
	if (unlink(path) && errno != ENOENT)
		err = -errno;
cleanup:
	close(fd);
	return err;
}

/* A socket bound to s->path, mode 0600, listening: its fd, or -errno. */
static int listen_unix(struct ctl_server *s)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	const char *path = s->path;
	struct stat st;
	mode_t old_mask;
	int fd = -1, err;

	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	strcpy(sun.sun_path, path);
	err = make_parent_dirs(path);
	if (err)
		return err;
	err = remove_stale_socket(path, &sun);
	if (err)
		return err;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* The file is created with the umask: with 0177 it is never open to
	 * others, not even between bind and chmod. The agent is single
	 * threaded, so the process-wide umask change is safe here.
	 */
	old_mask = umask(0177);
	err = bind(fd, (struct sockaddr *)&sun, sizeof(sun)) ? -errno : 0;
	umask(old_mask);
	if (err)
		goto cleanup;
	if (chmod(path, 0600) || stat(path, &st) || listen(fd, SOMAXCONN)) {
		err = -errno;
		unlink(path);
		goto cleanup;
	}
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	return fd;
cleanup:
	close(fd);
	return err;
}

int ctl_server_open(struct event_base *base, const char *path, ctl_handler_fn fn, void *arg,
		    struct ctl_server **out)
{
	struct sigaction sa;
	struct ctl_server *s;
	int fd = -1, err;

	if (!base || !path || !fn || !out)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->base = base;
	s->max_conns = CTL_MAX_CONNS;
	s->idle.tv_sec = CTL_IDLE_TIMEOUT_MS / 1000;
	s->idle.tv_usec = (suseconds_t)(CTL_IDLE_TIMEOUT_MS % 1000) * 1000;
	s->fn = fn;
	s->arg = arg;
	s->path = strdup(path);
	s->accept_timer = evtimer_new(base, accept_resume_cb, s);
	if (!s->path || !s->accept_timer) {
		err = -ENOMEM;
		goto cleanup;
	}
	/* A client that hangs up before its reply is written would kill the
	 * agent with SIGPIPE (libevent writes with writev, which has no
	 * MSG_NOSIGNAL). Ignore it unless someone already handles it.
	 */
	if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_IGN;
		sigaction(SIGPIPE, &sa, NULL);
	}
	fd = listen_unix(s);
	if (fd < 0) {
		err = fd;
		goto cleanup;
	}
	s->listener = evconnlistener_new(base, accept_cb, s,
					 LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	if (!s->listener) {
		err = -ENOMEM;
		unlink(path);
		close(fd);
		goto cleanup;
	}
	evconnlistener_set_error_cb(s->listener, accept_error_cb);
	*out = s;
	return 0;
cleanup:
	if (s->accept_timer)
		event_free(s->accept_timer);
	free(s->path);
	free(s);
	return err;
}

void ctl_server_set_limits(struct ctl_server *s, size_t max_conns, unsigned int idle_ms)
{
	struct ctl_conn *c;

	if (max_conns)
		s->max_conns = max_conns;
	if (idle_ms) {
		s->idle.tv_sec = idle_ms / 1000;
		s->idle.tv_usec = (suseconds_t)(idle_ms % 1000) * 1000;
		for (c = s->conns; c; c = c->next)
			if (!c->draining)
				bufferevent_set_timeouts(c->bev, &s->idle, &s->idle);
	}
}

void ctl_server_close(struct ctl_server *s)
{
	struct ctl_conn *c, *next;
	struct stat st;

	if (!s)
		return;
	for (c = s->conns; c; c = next) {
		next = c->next;
		bufferevent_free(c->bev);
		free(c);
	}
	evconnlistener_free(s->listener);
	event_free(s->accept_timer);
	if (lstat(s->path, &st) == 0 && st.st_dev == s->dev && st.st_ino == s->ino)
		unlink(s->path);
	free(s->path);
	free(s);
}

/* Client */

/* Waits for events on fd until deadline (-1: none). 0, or -ETIMEDOUT. */
static int wait_fd(int fd, short events, long long deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int n;

	do {
		long long left = deadline < 0 ? -1 : deadline - now_ms();

		if (deadline >= 0 && left <= 0)
			return -ETIMEDOUT;
		n = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
	} while (n == 0 || (n < 0 && errno == EINTR));
	return n < 0 ? -errno : 0;
}

/* The request line, NUL-terminated, newline included. */
static char *request_line(const char *cmd, const json_t *args)
{
	json_t *req = json_object();
	char *text = NULL, *line = NULL;
	size_t len;

	if (!req || json_object_set_new(req, "cmd", json_string(cmd)))
		goto cleanup;
	/* args is only read: the reference taken here is dropped with req. */
	if (args && json_object_set(req, "args", (json_t *)args))
		goto cleanup;
	text = json_dumps(req, JSON_COMPACT);
	if (!text)
		goto cleanup;
	len = strlen(text);
	line = malloc(len + 2);
	if (line) {
		memcpy(line, text, len);
		memcpy(line + len, "\n", 2);
	}
cleanup:
	free(text);
	json_decref(req);
	return line;
}

static int connect_unix(const char *path, int timeout_ms)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = timeout_ms / 1000,
			      .tv_usec = (long)(timeout_ms % 1000) * 1000 };
	int fd, err;

	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* connect() on a stream socket waits only when the server's backlog
	 * is full, bounded by the send timeout; a zero timeout would mean
	 * none at all.
	 */
	if (timeout_ms == 0)
		tv.tv_usec = 1000;
	if (timeout_ms >= 0 && setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)))
		goto fail;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)))
		goto fail;
	if (fcntl(fd, F_SETFL, O_NONBLOCK))
		goto fail;
	return fd;
fail:
	err = errno == EAGAIN || errno == EINPROGRESS ? -ETIMEDOUT : -errno;
	close(fd);
	return err;
}

static int send_all(int fd, const char *buf, size_t len, long long deadline)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0) {
			int err;

			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				return -errno;
			err = wait_fd(fd, POLLOUT, deadline);
			if (err)
				return err;
			continue;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads up to the first newline; *out is the line without it, NUL
 * terminated, and *out_len its length.
 */
static int recv_line(int fd, long long deadline, char **out, size_t *out_len)
{
	size_t len = 0, cap = 0;
	char *buf = NULL, *nl;
	int err;

	for (;;) {
		ssize_t n;

		if (cap - len < 4096) {
			size_t ncap = cap ? cap * 2 : 65536;
			char *nbuf;

			if (ncap > CTL_MAX_REPLY + 1) {
				err = -EMSGSIZE;
				goto cleanup;
			}
			nbuf = realloc(buf, ncap);
			if (!nbuf) {
				err = -ENOMEM;
				goto cleanup;
			}
			buf = nbuf;
			cap = ncap;
		}
		n = recv(fd, buf + len, cap - len - 1, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN) {
				err = -errno;
				goto cleanup;
			}
			err = wait_fd(fd, POLLIN, deadline);
			if (err)
				goto cleanup;
			continue;
		}
		if (n == 0) {
			/* Closed without a word is a reset; closed in the
			 * middle of a line is a broken reply.
			 */
			err = len ? -EPROTO : -ECONNRESET;
			goto cleanup;
		}
		nl = memchr(buf + len, '\n', (size_t)n);
		len += (size_t)n;
		if (nl) {
			*nl = '\0';
			*out_len = (size_t)(nl - buf);
			*out = buf;
			return 0;
		}
	}
cleanup:
	free(buf);
	return err;
}

/* A negative timeout_ms waits as long as it takes. */
int ctl_request(const char *path, const char *cmd, const json_t *args, int timeout_ms,
		json_t **reply)
{
	long long deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	char *line = NULL, *answer = NULL;
	json_t *parsed = NULL;
	size_t answer_len = 0;
	int fd = -1, err;

	if (!path || !cmd || !reply || (args && !json_is_object(args)))
		return -EINVAL;
	line = request_line(cmd, args);
	if (!line)
		return -ENOMEM;
	fd = connect_unix(path, timeout_ms);
	if (fd < 0) {
		err = fd;
		goto cleanup;
	}
	err = send_all(fd, line, strlen(line), deadline);
	/* A server at its connection cap answers with an error line and
	 * closes before reading: the line is still there to read.
	 */
	if (err && err != -EPIPE && err != -ECONNRESET)
		goto cleanup;
	err = recv_line(fd, deadline, &answer, &answer_len);
	if (err)
		goto cleanup;
	parsed = json_loadb(answer, answer_len, 0, NULL);
	if (!json_is_object(parsed)) {
		err = -EPROTO;
		goto cleanup;
	}
	*reply = parsed;
	parsed = NULL;
cleanup:
	json_decref(parsed);
	if (fd >= 0)
		close(fd);
	free(answer);
	free(line);
	return err;
}
