// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The control socket: a server in a libevent loop on a thread of its own,
 * clients on the test's thread (ctl_request, and raw sockets for what
 * ctl_request never sends). The test handler echoes its input, fails or
 * returns NULL on demand.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "common/ctl.h"
#include "common/util.h"

/* Only a guard against a hang: no test waits this long when it passes. */
#define TIMEOUT_MS 5000
/* Size of the "big" reply: several socket buffers. */
#define BIG_REPLY 300000

struct fixture {
	char dir[64]; /* a fresh temporary directory */
	char path[128]; /* dir/run/ctl.sock: run/ does not exist yet */
	struct event_base *base;
	struct ctl_server *srv;
	struct event *stop_ev;
	int stop_pipe[2];
	pthread_t thread;
	bool running;
	atomic_int calls; /* handler calls */
	/* ctl_server_set_limits() before the loop starts; 0: the defaults. */
	size_t max_conns;
	unsigned int idle_ms;
};

static json_t *test_handler(const char *cmd, const json_t *args, void *arg)
{
	struct fixture *fx = arg;

	atomic_fetch_add(&fx->calls, 1);
	if (strcmp(cmd, "echo") == 0)
		return ctl_reply_ok(json_pack("{s:s, s:O}", "cmd", cmd, "args", (json_t *)args));
	if (strcmp(cmd, "fail") == 0)
		return ctl_reply_error("failed: %s %d", "on purpose", 42);
	if (strcmp(cmd, "null") == 0)
		return NULL;
	if (strcmp(cmd, "big") == 0) {
		char *s = malloc(BIG_REPLY + 1);
		json_t *r;

		if (!s)
			return NULL;
		memset(s, 'b', BIG_REPLY);
		s[BIG_REPLY] = '\0';
		r = ctl_reply_ok(json_pack("{s:s}", "data", s));
		free(s);
		return r;
	}
	return ctl_reply_error("unknown command '%s'", cmd);
}

static void stop_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(arg);
}

static void *server_thread(void *arg)
{
	struct fixture *fx = arg;

	event_base_dispatch(fx->base);
	return NULL;
}

/* Opens a server on path and runs its loop on a thread. */
static int server_start(struct fixture *fx, const char *path)
{
	int err;

	fx->base = event_base_new();
	if (!fx->base || pipe(fx->stop_pipe))
		return -ENOMEM;
	fx->stop_ev = event_new(fx->base, fx->stop_pipe[0], EV_READ, stop_cb, fx->base);
	if (!fx->stop_ev || event_add(fx->stop_ev, NULL))
		return -ENOMEM;
	err = ctl_server_open(fx->base, path, test_handler, fx, &fx->srv);
	if (err)
		return err;
	ctl_server_set_limits(fx->srv, fx->max_conns, fx->idle_ms);
	if (pthread_create(&fx->thread, NULL, server_thread, fx))
		return -EAGAIN;
	fx->running = true;
	return 0;
}

/* Stops the loop, then closes the server from this thread. */
static void server_stop(struct fixture *fx)
{
	if (fx->running) {
		assert_int_equal(write(fx->stop_pipe[1], "x", 1), 1);
		pthread_join(fx->thread, NULL);
		fx->running = false;
	}
	ctl_server_close(fx->srv);
	fx->srv = NULL;
	if (fx->stop_ev)
		event_free(fx->stop_ev);
	fx->stop_ev = NULL;
	if (fx->base)
		event_base_free(fx->base);
	fx->base = NULL;
	if (fx->stop_pipe[0] > 0) {
		close(fx->stop_pipe[0]);
		close(fx->stop_pipe[1]);
	}
	fx->stop_pipe[0] = fx->stop_pipe[1] = 0;
}

static void make_paths(struct fixture *fx)
{
	strcpy(fx->dir, "/tmp/bouncer-test-ctl.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->path, sizeof(fx->path), "%s/run/ctl.sock", fx->dir);
}

static void remove_paths(struct fixture *fx)
{
	static const char *const files[] = { "run/ctl.sock", "ctl.sock", "file" };
	char p[160];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", fx->dir, files[i]);
		unlink(p);
	}
	snprintf(p, sizeof(p), "%s/run", fx->dir);
	rmdir(p);
	assert_int_equal(rmdir(fx->dir), 0);
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	make_paths(fx);
	*state = fx;
	return server_start(fx, fx->path) ? -1 : 0;
}

/* A server with a small connection cap and a short idle time-out. */
#define SMALL_CAP 4
#define SHORT_IDLE_MS 300

static int setup_limited(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	make_paths(fx);
	fx->max_conns = SMALL_CAP;
	fx->idle_ms = SHORT_IDLE_MS;
	*state = fx;
	return server_start(fx, fx->path) ? -1 : 0;
}

/* A fixture with paths but no server: the test opens its own. */
static int setup_paths(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	make_paths(fx);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	server_stop(fx);
	remove_paths(fx);
	free(fx);
	return 0;
}

/* A raw client: a blocking socket with a receive timeout, and a buffer of
 * what was read past the last line.
 */
struct raw {
	int fd;
	char *buf; /* RAW_BUF bytes */
	size_t len;
};

/* Holds the longest echo: a CTL_MAX_LINE request comes back in full. */
#define RAW_BUF (4 * CTL_MAX_LINE)

static void raw_connect(struct raw *r, const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = TIMEOUT_MS / 1000 };

	memset(r, 0, sizeof(*r));
	r->buf = malloc(RAW_BUF);
	assert_non_null(r->buf);
	strcpy(sun.sun_path, path);
	r->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(r->fd >= 0);
	assert_int_equal(setsockopt(r->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(connect(r->fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
}

static void raw_send(struct raw *r, const char *data, size_t len)
{
	while (len) {
		ssize_t n = send(r->fd, data, len, MSG_NOSIGNAL);

		assert_true(n > 0);
		data += n;
		len -= (size_t)n;
	}
}

static void raw_sends(struct raw *r, const char *s)
{
	raw_send(r, s, strlen(s));
}

/* The next line without its newline (a new string), or NULL at EOF. */
static char *raw_line(struct raw *r)
{
	for (;;) {
		char *nl = memchr(r->buf, '\n', r->len);
		ssize_t n;

		if (nl) {
			size_t len = (size_t)(nl - r->buf);
			char *line = strndup(r->buf, len);

			memmove(r->buf, nl + 1, r->len - len - 1);
			r->len -= len + 1;
			return line;
		}
		assert_true(r->len < RAW_BUF);
		n = recv(r->fd, r->buf + r->len, RAW_BUF - r->len, 0);
		/* -1 is the receive timeout: the server never answered. */
		assert_true(n >= 0);
		if (n == 0) {
			assert_int_equal(r->len, 0);
			return NULL;
		}
		r->len += (size_t)n;
	}
}

/* The next reply, parsed; fails the test at EOF or on bad JSON. */
static json_t *raw_reply(struct raw *r)
{
	char *line = raw_line(r);
	json_t *j;

	assert_non_null(line);
	j = json_loads(line, 0, NULL);
	if (!j)
		fail_msg("reply is not JSON: %s", line);
	free(line);
	assert_true(json_is_object(j));
	return j;
}

/* Asserts an error reply whose text contains what. */
static void assert_error(json_t *reply, const char *what)
{
	const char *text = json_string_value(json_object_get(reply, "error"));

	assert_true(json_is_false(json_object_get(reply, "ok")));
	assert_non_null(text);
	if (!strstr(text, what))
		fail_msg("error '%s' lacks '%s'", text, what);
	json_decref(reply);
}

/* Asserts an echo reply for cmd and args (JSON text). */
static void assert_echo(json_t *reply, const char *args)
{
	json_t *want = json_pack("{s:b, s:{s:s, s:o}}", "ok", 1, "result", "cmd", "echo", "args",
				 json_loads(args, 0, NULL));

	assert_non_null(want);
	if (!json_equal(reply, want)) {
		char *got = json_dumps(reply, JSON_COMPACT);

		fail_msg("unexpected reply %s", got);
	}
	json_decref(want);
	json_decref(reply);
}

static void raw_close(struct raw *r)
{
	close(r->fd);
	free(r->buf);
}

static json_t *request(const struct fixture *fx, const char *cmd, const char *args)
{
	json_t *a = args ? json_loads(args, 0, NULL) : NULL, *reply = NULL;

	assert_int_equal(ctl_request(fx->path, cmd, a, TIMEOUT_MS, &reply), 0);
	json_decref(a);
	assert_non_null(reply);
	return reply;
}

static void test_round_trip(void **state)
{
	struct fixture *fx = *state;

	assert_echo(request(fx, "echo", "{\"a\": 1, \"s\": \"x\"}"), "{\"a\": 1, \"s\": \"x\"}");
	/* Left out, args reach the handler as an empty object. */
	assert_echo(request(fx, "echo", NULL), "{}");
	assert_error(request(fx, "fail", NULL), "failed: on purpose 42");
	assert_error(request(fx, "nope", NULL), "unknown command 'nope'");
	assert_int_equal(atomic_load(&fx->calls), 4);
}

static void test_handler_null(void **state)
{
	struct fixture *fx = *state;
	json_t *reply = request(fx, "null", NULL);

	assert_string_equal(json_string_value(json_object_get(reply, "error")), "internal error");
	assert_error(reply, "internal error");
}

static void test_reply_helpers(void **state)
{
	json_t *r, *want;

	(void)state;
	r = ctl_reply_ok(NULL);
	want = json_loads("{\"ok\": true, \"result\": {}}", 0, NULL);
	assert_true(json_equal(r, want));
	json_decref(r);
	json_decref(want);
	r = ctl_reply_ok(json_pack("{s:i}", "n", 3));
	want = json_loads("{\"ok\": true, \"result\": {\"n\": 3}}", 0, NULL);
	assert_true(json_equal(r, want));
	json_decref(r);
	json_decref(want);
	r = ctl_reply_error("%s %d", "no", 7);
	want = json_loads("{\"ok\": false, \"error\": \"no 7\"}", 0, NULL);
	assert_true(json_equal(r, want));
	json_decref(r);
	json_decref(want);
}

/* Every malformed line gets its error, the handler never sees one, and
 * the connection goes on serving; so does a new one.
 */
static void test_malformed(void **state)
{
	static const struct {
		const char *line;
		const char *error;
	} cases[] = {
		{ "not json\n", "not JSON" },
		{ "\n", "not JSON" },
		{ "[1, 2]\n", "not a JSON object" },
		{ "\"cmd\"\n", "not JSON" },
		{ "{\"cmd\": \"echo\"\n", "not JSON" },
		{ "{\"cmd\": \"echo\", \"cmd\": \"echo\"}\n", "not JSON" },
		{ "{\"args\": {}}\n", "no string \"cmd\"" },
		{ "{\"cmd\": 5}\n", "no string \"cmd\"" },
		{ "{\"cmd\": null}\n", "no string \"cmd\"" },
		{ "{\"cmd\": \"echo\", \"args\": [1]}\n", "\"args\" is not an object" },
		{ "{\"cmd\": \"echo\", \"args\": null}\n", "\"args\" is not an object" },
		{ "{\"cmd\": \"echo\", \"args\": \"x\"}\n", "\"args\" is not an object" },
		{ "{\"cmd\": \"echo\"} trailing\n", "not JSON" },
	};
	struct fixture *fx = *state;
	struct raw r, r2;

	raw_connect(&r, fx->path);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		raw_sends(&r, cases[i].line);
		assert_error(raw_reply(&r), cases[i].error);
	}
	assert_int_equal(atomic_load(&fx->calls), 0);
	raw_sends(&r, "{\"cmd\": \"echo\", \"args\": {\"n\": 1}}\r\n");
	assert_echo(raw_reply(&r), "{\"n\": 1}");
	raw_connect(&r2, fx->path);
	raw_sends(&r2, "{\"cmd\": \"echo\"}\n");
	assert_echo(raw_reply(&r2), "{}");
	assert_int_equal(atomic_load(&fx->calls), 2);
	raw_close(&r2);
	raw_close(&r);
}

/* Requests sent together come back in order, one reply each. */
static void test_pipelined(void **state)
{
	struct fixture *fx = *state;
	struct raw r;

	raw_connect(&r, fx->path);
	raw_sends(&r, "{\"cmd\": \"echo\", \"args\": {\"n\": 1}}\n"
		      "bad\n"
		      "{\"cmd\": \"fail\"}\n"
		      "{\"cmd\": \"echo\", \"args\": {\"n\": 3}}\n");
	assert_echo(raw_reply(&r), "{\"n\": 1}");
	assert_error(raw_reply(&r), "not JSON");
	assert_error(raw_reply(&r), "on purpose");
	assert_echo(raw_reply(&r), "{\"n\": 3}");
	raw_close(&r);
}

/* A request written in pieces is answered once, when it is complete. */
static void test_split_request(void **state)
{
	struct fixture *fx = *state;
	struct raw r;

	raw_connect(&r, fx->path);
	raw_sends(&r, "{\"cmd\": \"ec");
	raw_sends(&r, "ho\", \"args\": {\"n\"");
	raw_sends(&r, ": 2}}\n{\"cmd\":");
	raw_sends(&r, "\"echo\"}\n");
	assert_echo(raw_reply(&r), "{\"n\": 2}");
	assert_echo(raw_reply(&r), "{}");
	raw_close(&r);
}

/* A client that half-closes after a request without a newline still gets
 * its reply, then the end of the stream.
 */
static void test_last_line_at_eof(void **state)
{
	struct fixture *fx = *state;
	struct raw r;

	raw_connect(&r, fx->path);
	raw_sends(&r, "{\"cmd\": \"echo\", \"args\": {\"n\": 1}}\n{\"cmd\": \"echo\"}");
	assert_int_equal(shutdown(r.fd, SHUT_WR), 0);
	assert_echo(raw_reply(&r), "{\"n\": 1}");
	assert_echo(raw_reply(&r), "{}");
	assert_null(raw_line(&r));
	raw_close(&r);
}

/* Sends an oversized line (with or without its newline) and expects the
 * error, then the end of the stream.
 */
static void oversized(const struct fixture *fx, size_t len, bool newline)
{
	char *big = malloc(len + 1);
	struct raw r;

	assert_non_null(big);
	memset(big, ' ', len);
	big[len] = '\n';
	raw_connect(&r, fx->path);
	/* The server may close before all of it is sent. */
	for (size_t off = 0; off < len + newline;) {
		ssize_t n = send(r.fd, big + off, len + newline - off, MSG_NOSIGNAL);

		if (n < 0) {
			assert_true(errno == EPIPE || errno == ECONNRESET);
			break;
		}
		off += (size_t)n;
	}
	free(big);
	assert_error(raw_reply(&r), "longer than 65536 bytes");
	assert_null(raw_line(&r));
	raw_close(&r);
}

static void test_oversized_line(void **state)
{
	struct fixture *fx = *state;

	oversized(fx, CTL_MAX_LINE + 1, false);
	oversized(fx, CTL_MAX_LINE + 1, true);
	oversized(fx, 4 * CTL_MAX_LINE, true);
	assert_int_equal(atomic_load(&fx->calls), 0);
	/* The server serves on. */
	assert_echo(request(fx, "echo", NULL), "{}");
}

/* A line of exactly CTL_MAX_LINE bytes is accepted. */
static void test_longest_line(void **state)
{
	static const char head[] = "{\"cmd\": \"echo\", \"args\": {\"pad\": \"";
	struct fixture *fx = *state;
	char *line = malloc(CTL_MAX_LINE + 2);
	size_t pad = CTL_MAX_LINE - (sizeof(head) - 1) - 3;
	json_t *reply;
	struct raw r;

	assert_non_null(line);
	memcpy(line, head, sizeof(head) - 1);
	memset(line + sizeof(head) - 1, 'p', pad);
	memcpy(line + CTL_MAX_LINE - 3, "\"}}\n", 5);
	assert_int_equal(strlen(line), CTL_MAX_LINE + 1);
	raw_connect(&r, fx->path);
	raw_send(&r, line, CTL_MAX_LINE + 1);
	free(line);
	reply = raw_reply(&r);
	assert_true(json_is_true(json_object_get(reply, "ok")));
	assert_int_equal(
		strlen(json_string_value(json_object_get(
			json_object_get(json_object_get(reply, "result"), "args"), "pad"))),
		pad);
	json_decref(reply);
	raw_close(&r);
}

/* Counts this process's open files. */
static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* Waits until open_fds() is want, or gives up after TIMEOUT_MS. */
static int wait_fds(int want)
{
	struct timespec tick = { .tv_nsec = 1000000 };
	int n = open_fds();

	for (int i = 0; i < TIMEOUT_MS && n != want; i++) {
		nanosleep(&tick, NULL);
		n = open_fds();
	}
	return n;
}

/* Each client that goes away takes its server side with it, also one that
 * leaves before its reply is written; the server is not hurt (SIGPIPE).
 */
static void test_disconnect(void **state)
{
	struct fixture *fx = *state;
	struct raw r[8];
	int before = open_fds();

	for (size_t i = 0; i < 8; i++) {
		raw_connect(&r[i], fx->path);
		raw_sends(&r[i], "{\"cmd\": \"echo\"}\n");
		assert_echo(raw_reply(&r[i]), "{}");
	}
	/* A client and a server socket each. */
	assert_int_equal(open_fds(), before + 16);
	for (size_t i = 0; i < 8; i++)
		raw_close(&r[i]);
	assert_int_equal(wait_fds(before), before);

	for (size_t i = 0; i < 8; i++) {
		raw_connect(&r[i], fx->path);
		raw_sends(&r[i], "{\"cmd\": \"big\"}\n{\"cmd\": \"big\"}\n");
		raw_close(&r[i]);
	}
	/* The listener accepts in order: once a later connection is
	 * answered, every one of these is accepted, and counted until it
	 * goes.
	 */
	assert_echo(request(fx, "echo", NULL), "{}");
	assert_int_equal(wait_fds(before), before);
}

/* Past the cap, a connection gets one error line and is closed; the ones
 * open keep working, and a slot freed is taken again.
 */
static void test_connection_cap(void **state)
{
	struct fixture *fx = *state;
	struct raw r[SMALL_CAP], extra;

	for (size_t i = 0; i < SMALL_CAP; i++) {
		raw_connect(&r[i], fx->path);
		/* Answered: accepted and counted before the next connects. */
		raw_sends(&r[i], "{\"cmd\": \"echo\"}\n");
		assert_echo(raw_reply(&r[i]), "{}");
	}
	raw_connect(&extra, fx->path);
	assert_error(raw_reply(&extra), "too many control connections");
	assert_null(raw_line(&extra));
	raw_close(&extra);
	/* The open ones still answer. */
	raw_sends(&r[0], "{\"cmd\": \"echo\"}\n");
	assert_echo(raw_reply(&r[0]), "{}");
	raw_close(&r[0]);
	/* Its slot is free once the server has seen it go. */
	for (int i = 0; i < 100; i++) {
		json_t *reply = NULL;

		assert_int_equal(ctl_request(fx->path, "echo", NULL, TIMEOUT_MS, &reply), 0);
		if (json_is_true(json_object_get(reply, "ok"))) {
			json_decref(reply);
			break;
		}
		json_decref(reply);
		assert_true(i < 99);
		usleep(10000);
	}
	for (size_t i = 1; i < SMALL_CAP; i++)
		raw_close(&r[i]);
}

/* A connection with no request for the idle time is closed by the
 * server; one that keeps sending is not.
 */
static void test_idle_timeout(void **state)
{
	struct fixture *fx = *state;
	struct raw idle, busy;
	int64_t start = now_ms();

	raw_connect(&idle, fx->path);
	raw_connect(&busy, fx->path);
	for (int i = 0; i < 6; i++) {
		usleep(SHORT_IDLE_MS * 1000 / 3);
		raw_sends(&busy, "{\"cmd\": \"echo\"}\n");
		assert_echo(raw_reply(&busy), "{}");
	}
	/* Past twice the idle time by now: closed, without a reply. */
	assert_null(raw_line(&idle));
	assert_true(now_ms() - start >= SHORT_IDLE_MS);
	raw_close(&idle);
	raw_close(&busy);
}

/* A client that sends many requests before reading any reply gets them
 * all, in order: the server stops reading while replies pile up, and
 * resumes as they drain.
 */
static void test_backlog(void **state)
{
	struct fixture *fx = *state;
	char *line = NULL;
	struct raw r;
	size_t len = 0;
	FILE *f;
	int i;

	raw_connect(&r, fx->path);
	for (i = 0; i < 20; i++)
		raw_sends(&r, "{\"cmd\": \"big\"}\n");
	raw_sends(&r, "{\"cmd\": \"echo\", \"args\": {\"last\": true}}\n");
	f = fdopen(r.fd, "r");
	assert_non_null(f);
	for (i = 0; i < 20; i++) {
		assert_true(getline(&line, &len, f) > BIG_REPLY);
		assert_non_null(strstr(line, "\"ok\":true"));
	}
	assert_true(getline(&line, &len, f) > 0);
	assert_string_equal(
		line, "{\"ok\":true,\"result\":{\"cmd\":\"echo\",\"args\":{\"last\":true}}}\n");
	free(line);
	fclose(f);
	free(r.buf);
}

static void test_large_reply(void **state)
{
	struct fixture *fx = *state;
	json_t *reply = request(fx, "big", NULL);
	const char *data =
		json_string_value(json_object_get(json_object_get(reply, "result"), "data"));

	assert_non_null(data);
	assert_int_equal(strlen(data), BIG_REPLY);
	assert_int_equal(strspn(data, "b"), BIG_REPLY);
	json_decref(reply);
}

/* The socket is root's alone, in a directory created 0700. */
static void test_modes(void **state)
{
	struct fixture *fx = *state;
	char dir[160];
	struct stat st;

	assert_int_equal(stat(fx->path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	snprintf(dir, sizeof(dir), "%s/run", fx->dir);
	assert_int_equal(stat(dir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0700);
}

/* Leaves a socket file at path that no one listens on. */
static void make_stale_socket(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	strcpy(sun.sun_path, path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd);
}

static void test_stale_socket_replaced(void **state)
{
	struct fixture *fx = *state;
	json_t *reply = NULL;

	snprintf(fx->path, sizeof(fx->path), "%s/ctl.sock", fx->dir);
	make_stale_socket(fx->path);
	assert_int_equal(ctl_request(fx->path, "echo", NULL, TIMEOUT_MS, &reply), -ECONNREFUSED);
	assert_int_equal(server_start(fx, fx->path), 0);
	assert_echo(request(fx, "echo", NULL), "{}");
}

/* A socket someone answers on belongs to a running agent: not replaced. */
static void test_live_socket_kept(void **state)
{
	struct fixture *fx = *state;
	struct ctl_server *second = NULL;
	struct event_base *base = event_base_new();

	assert_non_null(base);
	assert_int_equal(ctl_server_open(base, fx->path, test_handler, fx, &second), -EADDRINUSE);
	assert_null(second);
	event_base_free(base);
	assert_echo(request(fx, "echo", NULL), "{}");
}

/* Anything but a socket at the path is not ours to delete. */
static void test_not_a_socket(void **state)
{
	struct fixture *fx = *state;
	struct ctl_server *s = NULL;
	struct event_base *base = event_base_new();
	struct stat st;
	int fd;

	assert_non_null(base);
	snprintf(fx->path, sizeof(fx->path), "%s/file", fx->dir);
	fd = open(fx->path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(ctl_server_open(base, fx->path, test_handler, fx, &s), -EEXIST);
	assert_int_equal(stat(fx->path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	event_base_free(base);
}

static void test_close_removes_socket(void **state)
{
	struct fixture *fx = *state;
	struct ctl_server *s = NULL;
	struct event_base *base = event_base_new();
	struct stat st;

	assert_non_null(base);
	assert_int_equal(ctl_server_open(base, fx->path, test_handler, fx, &s), 0);
	assert_int_equal(stat(fx->path, &st), 0);
	ctl_server_close(s);
	assert_int_equal(stat(fx->path, &st), -1);
	assert_int_equal(errno, ENOENT);
	event_base_free(base);
}

static void test_bad_paths(void **state)
{
	struct fixture *fx = *state;
	struct ctl_server *s = NULL;
	struct event_base *base = event_base_new();
	char longpath[200];
	json_t *reply = NULL;

	assert_non_null(base);
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	assert_int_equal(ctl_server_open(base, longpath, test_handler, fx, &s), -ENAMETOOLONG);
	assert_int_equal(ctl_request(longpath, "echo", NULL, TIMEOUT_MS, &reply), -ENAMETOOLONG);
	event_base_free(base);
}

static void test_client_no_agent(void **state)
{
	struct fixture *fx = *state;
	json_t *reply = NULL;

	assert_int_equal(ctl_request(fx->path, "echo", NULL, TIMEOUT_MS, &reply), -ENOENT);
	snprintf(fx->path, sizeof(fx->path), "%s/ctl.sock", fx->dir);
	make_stale_socket(fx->path);
	assert_int_equal(ctl_request(fx->path, "echo", NULL, TIMEOUT_MS, &reply), -ECONNREFUSED);
	assert_null(reply);
}

/* A listener that never answers: the client gives up at its timeout. */
static void test_client_timeout(void **state)
{
	struct fixture *fx = *state;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	json_t *reply = NULL;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	snprintf(fx->path, sizeof(fx->path), "%s/ctl.sock", fx->dir);
	strcpy(sun.sun_path, fx->path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(ctl_request(fx->path, "echo", NULL, 100, &reply), -ETIMEDOUT);
	assert_null(reply);
	close(fd);
}

/* A peer that answers one connection with a fixed text. */
struct fake_peer {
	int listen_fd;
	const char *answer; /* NULL: close without a word */
};

static void *fake_peer_thread(void *arg)
{
	struct fake_peer *p = arg;
	char buf[256];
	int fd = accept(p->listen_fd, NULL, NULL);

	if (fd < 0)
		return NULL;
	/* The request first, so that closing is not a reset. */
	if (recv(fd, buf, sizeof(buf), 0) > 0 && p->answer)
		send(fd, p->answer, strlen(p->answer), MSG_NOSIGNAL);
	close(fd);
	return NULL;
}

static int fake_request(struct fixture *fx, const char *answer)
{
	struct fake_peer peer = { .answer = answer };
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	json_t *reply = NULL;
	pthread_t t;
	int err;

	snprintf(fx->path, sizeof(fx->path), "%s/ctl.sock", fx->dir);
	unlink(fx->path);
	strcpy(sun.sun_path, fx->path);
	peer.listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(peer.listen_fd >= 0);
	assert_int_equal(bind(peer.listen_fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(peer.listen_fd, 4), 0);
	assert_int_equal(pthread_create(&t, NULL, fake_peer_thread, &peer), 0);
	err = ctl_request(fx->path, "echo", NULL, TIMEOUT_MS, &reply);
	pthread_join(t, NULL);
	close(peer.listen_fd);
	json_decref(reply);
	return err;
}

static void test_client_bad_replies(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(fake_request(fx, "hello\n"), -EPROTO);
	assert_int_equal(fake_request(fx, "[1]\n"), -EPROTO);
	assert_int_equal(fake_request(fx, "{\"ok\": tr"), -EPROTO);
	assert_int_equal(fake_request(fx, NULL), -ECONNRESET);
	/* Only the first line counts. */
	assert_int_equal(fake_request(fx, "{\"ok\": true}\ngarbage"), 0);
}

static void test_client_bad_args(void **state)
{
	struct fixture *fx = *state;
	json_t *args = json_array(), *reply = NULL;

	assert_int_equal(ctl_request(fx->path, "echo", args, TIMEOUT_MS, &reply), -EINVAL);
	json_decref(args);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_handler_null, setup, teardown),
		cmocka_unit_test(test_reply_helpers),
		cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pipelined, setup, teardown),
		cmocka_unit_test_setup_teardown(test_split_request, setup, teardown),
		cmocka_unit_test_setup_teardown(test_last_line_at_eof, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oversized_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_longest_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_disconnect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backlog, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connection_cap, setup_limited, teardown),
		cmocka_unit_test_setup_teardown(test_idle_timeout, setup_limited, teardown),
		cmocka_unit_test_setup_teardown(test_large_reply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_modes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_socket_replaced, setup_paths, teardown),
		cmocka_unit_test_setup_teardown(test_live_socket_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_a_socket, setup_paths, teardown),
		cmocka_unit_test_setup_teardown(test_close_removes_socket, setup_paths, teardown),
		cmocka_unit_test_setup_teardown(test_bad_paths, setup_paths, teardown),
		cmocka_unit_test_setup_teardown(test_client_no_agent, setup_paths, teardown),
		cmocka_unit_test_setup_teardown(test_client_timeout, setup_paths, teardown),
		cmocka_unit_test_setup_teardown(test_client_bad_replies, setup_paths, teardown),
		cmocka_unit_test_setup_teardown(test_client_bad_args, setup_paths, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
