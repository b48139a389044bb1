// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Local workers: real python3 and sh workers on loopback ports, supervised
 * in the test's own event loop. stderr is a pipe the test reads, so the
 * worker lines the module logs can be checked. Every wait is bounded by a
 * deadline timer in the loop; every process started is killed in the
 * teardown if a test left it.
 */
#define _GNU_SOURCE /* accept4, F_SETPIPE_SZ */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <event2/event.h>

#include "common/log.h"
#include "evloop.h"
#include "bouncerd/workers.h"

#define PYTHON "/usr/bin/python3"
#define MAX_EV 1024
#define MAX_ID 8
#define MAX_TRACKED 128

/* The worker: says hello on stdout and stderr, then, by $MODE, listens on
 * TCP $PORT ("listen"), binds UDP $PORT ("udp") or does neither
 * ("never"); with $TICK prints a line every $TICK seconds; with
 * $IGNORE_TERM ignores SIGTERM. It never accepts, unless $ACCEPT is set:
 * connections made to its port wait for the test to accept them on the
 * socket handed over. With $ACCEPT it accepts each and holds it until the
 * client closes it.
 */
static const char worker_py[] =
	"import os, signal, socket, sys, time\n"
	"port = int(os.environ['PORT']); wid = os.environ['WORKER_ID']\n"
	"mode = os.environ.get('MODE', 'listen')\n"
	"if os.environ.get('IGNORE_TERM'): signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
	"print('hello id=%s port=%d' % (wid, port), flush=True)\n"
	"print('stderr id=%s' % wid, file=sys.stderr, flush=True)\n"
	"if os.environ.get('SHOW'):\n"
	"    print('show uid=%d gid=%d groups=%s cwd=%s foo=%s' % (os.getuid(), os.getgid(),\n"
	"          sorted(os.getgroups()), os.getcwd(), os.environ.get('FOO')), flush=True)\n"
	"if mode == 'listen':\n"
	"    s = socket.socket()\n"
	"    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
	"    s.bind(('127.0.0.1', port)); s.listen(16)\n"
	"    print('listening on %d' % port, flush=True)\n"
	"    if os.environ.get('ACCEPT'):\n"
	"        import threading\n"
	"        def hold(c):\n"
	"            while c.recv(4096): pass\n"
	"            c.close()\n"
	"        def serve():\n"
	"            while True:\n"
	"                c = s.accept()[0]\n"
	"                threading.Thread(target=hold, args=(c,), daemon=True).start()\n"
	"        threading.Thread(target=serve, daemon=True).start()\n"
	"elif mode == 'udp':\n"
	"    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
	"    s.bind(('127.0.0.1', port))\n"
	"tick = float(os.environ.get('TICK', '0')); n = 0\n"
	"while True:\n"
	"    time.sleep(tick or 3600)\n"
	"    n += 1; print('tick %d' % n, flush=True)\n";

/* ---- helpers: time and loop ---- */

/* ---- helpers: the captured log ---- */

static struct {
	int rfd; /* read end of what fd 2 now is */
	int saved; /* the real stderr */
	char *buf;
	size_t len, cap;
	struct event *ev;
} cap = { .rfd = -1, .saved = -1 };

static void log_pump(void)
{
	for (;;) {
		ssize_t n;

		if (cap.cap - cap.len < 4096) {
			cap.cap = cap.cap ? cap.cap * 2 : 65536;
			cap.buf = realloc(cap.buf, cap.cap + 1);
			assert_non_null(cap.buf);
		}
		n = read(cap.rfd, cap.buf + cap.len, cap.cap - cap.len);
		if (n <= 0)
			break;
		cap.len += (size_t)n;
	}
	cap.buf[cap.len] = '\0';
}

static void log_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	log_pump();
}

/* Where the log is now: later searches start there. */
static size_t log_mark(void)
{
	log_pump();
	return cap.len;
}

static const char *log_find(size_t from, const char *needle)
{
	log_pump();
	return from <= cap.len ? strstr(cap.buf + from, needle) : NULL;
}

struct log_wait {
	size_t from;
	const char *needle;
};

static bool log_pred(void *arg)
{
	struct log_wait *w = arg;

	return log_find(w->from, w->needle) != NULL;
}

static bool wait_log(struct event_base *base, size_t from, const char *needle, unsigned int ms)
{
	struct log_wait w = { .from = from, .needle = needle };

	return run_until(base, log_pred, &w, ms);
}

/* ---- helpers: processes ---- */

static struct {
	pid_t pid;
	int pidfd;
} tracked[MAX_TRACKED];
static int ntracked;

static void track_pid(pid_t pid)
{
	int fd;

	if (pid <= 0)
		return;
	for (int i = 0; i < ntracked; i++)
		if (tracked[i].pid == pid)
			return;
	if (ntracked == MAX_TRACKED)
		return;
	fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0)
		return;
	tracked[ntracked].pid = pid;
	tracked[ntracked].pidfd = fd;
	ntracked++;
}

/* The process has exited (a zombie counts): its pidfd is readable. */
static bool pid_gone(pid_t pid)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	struct pollfd pfd;
	bool gone;

	if (fd < 0)
		return errno == ESRCH;
	pfd.fd = fd;
	pfd.events = POLLIN;
	gone = poll(&pfd, 1, 0) == 1;
	close(fd);
	return gone;
}

static bool pid_alive(pid_t pid)
{
	return !pid_gone(pid);
}

struct pids_wait {
	const pid_t *pids;
	int n;
};

static bool pids_gone_pred(void *arg)
{
	struct pids_wait *w = arg;

	for (int i = 0; i < w->n; i++)
		if (!pid_gone(w->pids[i]))
			return false;
	return true;
}

static bool wait_gone(struct event_base *base, const pid_t *pids, int n, unsigned int ms)
{
	struct pids_wait w = { .pids = pids, .n = n };

	return run_until(base, pids_gone_pred, &w, ms);
}

/* SIGKILL to what is left of every tracked process and its group, and a
 * reap of those that are the test's children (abandoned workers, the
 * test's own): no pool is left to reap them.
 */
static void kill_tracked(void)
{
	for (int i = 0; i < ntracked; i++) {
		siginfo_t si;

		if (syscall(SYS_pidfd_send_signal, tracked[i].pidfd, 0, NULL, 0) == 0) {
			kill(-tracked[i].pid, SIGKILL);
			syscall(SYS_pidfd_send_signal, tracked[i].pidfd, SIGKILL, NULL, 0);
		}
		while (waitid(P_PIDFD, (id_t)tracked[i].pidfd, &si, WEXITED) < 0 && errno == EINTR)
			;
		close(tracked[i].pidfd);
	}
	ntracked = 0;
}

static bool comm_is(pid_t pid, const char *want)
{
	char path[64], comm[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = '\0';
	fclose(f);
	comm[strcspn(comm, "\n")] = '\0';
	return strcmp(comm, want) == 0;
}

/* ---- helpers: sockets ---- */

static __u16 sock_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

/* A connection to 127.0.0.1:port arrives on lfd (the worker does not
 * accept, so it can only be accepted here).
 */
static bool accepts_on(int lfd, __u16 port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct pollfd pfd = { .fd = lfd, .events = POLLIN };
	int c, a = -1;
	bool ok = false;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c < 0)
		return false;
	if (connect(c, (struct sockaddr *)&sin, sizeof(sin)) == 0 && poll(&pfd, 1, 1000) == 1) {
		a = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		ok = a >= 0;
	}
	if (a >= 0)
		close(a);
	close(c);
	return ok;
}

/* A TCP connection to 127.0.0.1:port is taken (by a listener's queue). */
static bool port_listens(__u16 port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (c < 0)
		return false;
	ok = connect(c, (struct sockaddr *)&sin, sizeof(sin)) == 0;
	close(c);
	return ok;
}

/* ---- helpers: the event recorder ---- */

struct ev {
	unsigned int id;
	enum worker_state state;
	bool sock;
	__u16 port;
	pid_t pid;
	int64_t at;
};

static struct rec {
	struct ev ev[MAX_EV];
	int n;
	int fd[MAX_ID]; /* the latest socket of each id */
	bool stop_on_ready; /* worker_pool_stop(p, false) from inside */
} rec;

static void on_event(struct worker_pool *p, unsigned int id, enum worker_state state, int fd,
		     void *arg)
{
	struct rec *r = arg;
	struct ev *e = &r->ev[r->n < MAX_EV ? r->n++ : MAX_EV - 1];
	bool stop_now = state == WORKER_READY && r->stop_on_ready;
	struct worker_info info[MAX_ID];
	size_t n;

	memset(e, 0, sizeof(*e));
	e->id = id;
	e->state = state;
	e->at = now_ms();
	e->sock = fd >= 0;
	/* As the daemon does with its SOCKMAP entry: a held socket keeps
	 * the port bound.
	 */
	if (fd < 0 && id < MAX_ID && r->fd[id] >= 0 && state != WORKER_READY) {
		close(r->fd[id]);
		r->fd[id] = -1;
	}
	if (fd >= 0) {
		e->port = sock_port(fd);
		if (id < MAX_ID) {
			if (r->fd[id] >= 0)
				close(r->fd[id]);
			r->fd[id] = fd;
		} else {
			close(fd);
		}
	}
	n = worker_pool_list(p, info, MAX_ID);
	for (size_t i = 0; i < n && i < MAX_ID; i++) {
		track_pid(info[i].pid);
		if (info[i].id == id)
			e->pid = info[i].pid;
	}
	if (stop_now) {
		r->stop_on_ready = false;
		worker_pool_stop(p, false);
		/* Refused in here, and once stopped. */
		assert_int_equal(worker_pool_scale(p, 3), -ESHUTDOWN);
	}
}

/* The last state reported for id since event from, or -1. */
static int last_state(int from, unsigned int id)
{
	for (int i = rec.n - 1; i >= from; i--)
		if (rec.ev[i].id == id)
			return (int)rec.ev[i].state;
	return -1;
}

/* Index of the first event since from for id in state (any state: -1). */
static int find_ev(int from, unsigned int id, int state)
{
	for (int i = from; i < rec.n; i++)
		if (rec.ev[i].id == id && (state < 0 || (int)rec.ev[i].state == state))
			return i;
	return -1;
}

static int count_ev(int from, unsigned int id, int state)
{
	int n = 0;

	for (int i = from; i < rec.n; i++)
		if (rec.ev[i].id == id && (state < 0 || (int)rec.ev[i].state == state))
			n++;
	return n;
}

struct state_wait {
	int from;
	unsigned int first, count; /* ids first .. first + count - 1 */
	enum worker_state state;
};

static bool state_pred(void *arg)
{
	struct state_wait *w = arg;

	for (unsigned int id = w->first; id < w->first + w->count; id++)
		if (last_state(w->from, id) != (int)w->state)
			return false;
	return true;
}

/* Waits until ids first .. first + count - 1 were each last reported in
 * state since event from.
 */
static bool wait_state(struct event_base *base, int from, unsigned int first, unsigned int count,
		       enum worker_state state, unsigned int ms)
{
	struct state_wait w = { .from = from, .first = first, .count = count, .state = state };

	return run_until(base, state_pred, &w, ms);
}

/* ---- fixture ---- */

static struct event_base *base;
static struct worker_pool *pools[4];
static __u16 next_port;
static bool passed;

static char *argv_direct[] = { PYTHON, "-c", (char *)worker_py, NULL };
/* Worker 1 runs under a shell that forks it (the shell is the worker
 * process, the listener its child); the others are exec()ed.
 */
static char *argv_wrapped[] = { "sh", "-c",
				"if [ \"$WORKER_ID\" = 1 ]; then " PYTHON
				" -c \"$SCRIPT\"; exit $?; fi; "
				"exec " PYTHON " -c \"$SCRIPT\"",
				NULL };
/* Worker 1 fails at once with status 3; the others serve. */
static char *argv_crash1[] = { "sh", "-c",
			       "if [ \"$WORKER_ID\" = 1 ]; then echo crashing; exit 3; fi; "
			       "exec " PYTHON " -c \"$SCRIPT\"",
			       NULL };
static char *env_script[] = { "SCRIPT=", NULL }; /* filled in by the group setup */

/* A spec with short timeouts, on ports of its own. */
static struct worker_spec spec_base(unsigned int count)
{
	struct worker_spec s = {
		.name = "web",
		.argv = argv_direct,
		.count = count,
		.port_base = next_port,
		.alt_port_base = (__u16)(next_port + 10),
		.proto = IPPROTO_TCP,
		.ready_timeout_ms = 3000,
		.kill_timeout_ms = 1000,
		.min_uptime_ms = 1,
		.backoff_initial_ms = 50,
	};

	next_port = (__u16)(next_port + 20);
	return s;
}

static struct worker_pool *pool_start(const struct worker_spec *s)
{
	struct worker_pool *p = worker_pool_start(base, s, on_event, &rec);

	assert_non_null(p);
	for (size_t i = 0; i < sizeof(pools) / sizeof(pools[0]); i++) {
		if (!pools[i]) {
			pools[i] = p;
			return p;
		}
	}
	fail_msg("too many pools");
	return p;
}

static void pool_forget(struct worker_pool *p)
{
	for (size_t i = 0; i < sizeof(pools) / sizeof(pools[0]); i++)
		if (pools[i] == p)
			pools[i] = NULL;
}

static void pool_stop_wait(struct worker_pool *p)
{
	pool_forget(p);
	worker_pool_stop(p, true);
}

static pid_t pid_of(struct worker_pool *p, unsigned int id)
{
	struct worker_info info[MAX_ID];
	size_t n = worker_pool_list(p, info, MAX_ID);

	assert_true(id < n);
	return info[id].pid;
}

static int setup(void **state)
{
	(void)state;
	/* What came between two tests is cmocka's: why the last one failed,
	 * printed after its teardown.
	 */
	log_pump();
	if (cap.len && write(cap.saved, cap.buf, cap.len) < 0)
		cap.len = 0;
	cap.len = 0;
	memset(&rec, 0, sizeof(rec));
	for (int i = 0; i < MAX_ID; i++)
		rec.fd[i] = -1;
	base = event_base_new();
	assert_non_null(base);
	cap.ev = event_new(base, cap.rfd, EV_READ | EV_PERSIST, log_cb, NULL);
	assert_non_null(cap.ev);
	assert_int_equal(event_add(cap.ev, NULL), 0);
	passed = false;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(pools) / sizeof(pools[0]); i++) {
		if (pools[i])
			worker_pool_stop(pools[i], true);
		pools[i] = NULL;
	}
	kill_tracked();
	for (int i = 0; i < MAX_ID; i++)
		if (rec.fd[i] >= 0)
			close(rec.fd[i]);
	event_free(cap.ev);
	event_base_free(base);
	base = NULL;
	log_pump();
	/* What the module logged, for a test that failed (or for every test
	 * with WORKERS_TEST_LOG set).
	 */
	if ((!passed || getenv("WORKERS_TEST_LOG")) && cap.len &&
	    write(cap.saved, cap.buf, cap.len) < 0)
		return 0;
	cap.len = 0;
	return 0;
}

static int group_setup(void **state)
{
	int p[2];
	char *s;

	(void)state;
	/* Ports of this run: below the ephemeral range (32768 up), where no
	 * client socket can hold one, and spread by pid so that concurrent
	 * runs differ.
	 */
	next_port = (__u16)(10000 + (getpid() % 60) * 360);
	s = malloc(strlen("SCRIPT=") + sizeof(worker_py));
	assert_non_null(s);
	strcpy(s, "SCRIPT=");
	strcat(s, worker_py);
	env_script[0] = s;
	assert_int_equal(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	/* Room for everything a test logs between two reads. */
	fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
	/* The writer blocks: a full pipe must slow the logger, not lose
	 * lines.
	 */
	fcntl(p[1], F_SETFL, 0);
	cap.saved = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
	assert_true(cap.saved >= 0);
	assert_true(dup2(p[1], STDERR_FILENO) >= 0);
	close(p[1]);
	cap.rfd = p[0];
	log_init("t", LOG_LEVEL_INFO);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	/* cmocka prints why a test failed after its teardown. */
	log_pump();
	if (cap.len && write(cap.saved, cap.buf, cap.len) < 0)
		cap.len = 0;
	dup2(cap.saved, STDERR_FILENO);
	close(cap.saved);
	close(cap.rfd);
	free(cap.buf);
	free(env_script[0]);
	return 0;
}

/* ---- tests ---- */

/* Workers start with PORT and WORKER_ID, their output is logged with the
 * prefix, and the socket handed over is the one each listens on, found
 * in a child of the worker too.
 */
/* What worker_pool_logs() gives back, one call. */
struct logs_rec {
	size_t n;
	uint64_t seq[64];
	unsigned int id[64];
	pid_t pid[64];
	char text[64][64];
	char stream[64][8];
};

static void logs_cb(const struct worker_log_line *l, void *arg)
{
	struct logs_rec *r = arg;

	if (r->n >= 64)
		return;
	r->seq[r->n] = l->seq;
	r->id[r->n] = l->id;
	r->pid[r->n] = l->pid;
	snprintf(r->text[r->n], sizeof(r->text[0]), "%s", l->text);
	snprintf(r->stream[r->n], sizeof(r->stream[0]), "%s", l->stream);
	r->n++;
}

/* The recent output kept for worker logs: each worker's three lines, on
 * their streams, with its pid, in order across ids; after and max.
 */
static void check_recent_output(struct worker_pool *p, const struct worker_info *info)
{
	struct logs_rec r = { 0 };
	uint64_t last, last1;
	char want[64];

	assert_int_equal(worker_pool_logs(p, 1, 0, 0, logs_cb, &r, &last), 0);
	assert_int_equal(r.n, 3);
	for (size_t i = 0; i < r.n; i++) {
		assert_int_equal(r.id[i], 1);
		assert_int_equal(r.pid[i], info[1].pid);
		assert_true(r.seq[i] <= last);
		assert_true(i == 0 || r.seq[i] > r.seq[i - 1]);
		if (strncmp(r.text[i], "stderr", 6) == 0)
			assert_string_equal(r.stream[i], "stderr");
		else
			assert_string_equal(r.stream[i], "stdout");
	}
	snprintf(want, sizeof(want), "hello id=1 port=%u", info[1].port);
	assert_string_equal(r.text[0], want);
	last1 = r.seq[2];
	/* Every id, in order: 3 workers, 3 lines each. */
	memset(&r, 0, sizeof(r));
	assert_int_equal(worker_pool_logs(p, -1, 0, 0, logs_cb, &r, &last), 0);
	assert_int_equal(r.n, 9);
	for (size_t i = 1; i < r.n; i++)
		assert_true(r.seq[i] > r.seq[i - 1]);
	assert_int_equal(r.seq[8], last);
	/* The last 2 only; then nothing after the last. */
	memset(&r, 0, sizeof(r));
	assert_int_equal(worker_pool_logs(p, -1, 0, 2, logs_cb, &r, &last), 0);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.seq[1], last);
	memset(&r, 0, sizeof(r));
	assert_int_equal(worker_pool_logs(p, -1, last, 0, logs_cb, &r, &last), 0);
	assert_int_equal(r.n, 0);
	memset(&r, 0, sizeof(r));
	assert_int_equal(worker_pool_logs(p, 1, last1 - 1, 0, logs_cb, &r, &last), 0);
	assert_int_equal(r.n, 1);
	/* An id with no worker: nothing. */
	memset(&r, 0, sizeof(r));
	assert_int_equal(worker_pool_logs(p, 7, 0, 0, logs_cb, &r, &last), 0);
	assert_int_equal(r.n, 0);
}

static void test_start_ready(void **state)
{
	struct worker_spec s = spec_base(3);
	struct worker_info info[3];
	struct worker_pool *p;
	char line[128];
	size_t mark = log_mark();

	(void)state;
	s.argv = argv_wrapped;
	s.env = env_script;
	p = pool_start(&s);
	assert_true(wait_state(base, 0, 0, 3, WORKER_READY, 4000));
	assert_int_equal(worker_pool_list(p, info, 3), 3);
	/* Worker 1 is the shell; its socket was its child's. */
	assert_true(comm_is(info[1].pid, "sh"));
	assert_false(comm_is(info[0].pid, "sh"));
	for (unsigned int id = 0; id < 3; id++) {
		int i = find_ev(0, id, WORKER_READY);

		assert_true(i >= 0);
		assert_true(rec.ev[i].sock);
		assert_int_equal(rec.ev[i].port, s.port_base + id);
		assert_int_equal(sock_port(rec.fd[id]), s.port_base + id);
		assert_int_equal(info[id].port, s.port_base + id);
		assert_int_equal(info[id].state, WORKER_READY);
		assert_true(info[id].pid > 0);
		assert_true(info[id].start_time > 0);
		/* Not called from worker_pool_start(): no STARTING. */
		assert_int_equal(count_ev(0, id, WORKER_STARTING), 0);
		assert_true(accepts_on(rec.fd[id], s.port_base + id));
		snprintf(line, sizeof(line), "t: web/%u stdout: hello id=%u port=%u\n", id, id,
			 s.port_base + id);
		/* The output pipe is read by the loop: wait for it. */
		assert_true(wait_log(base, mark, line, 2000));
		snprintf(line, sizeof(line), "t: web/%u stderr: stderr id=%u\n", id, id);
		assert_true(wait_log(base, mark, line, 2000));
		snprintf(line, sizeof(line), "t: web/%u stdout: listening on %u\n", id,
			 s.port_base + id);
		assert_true(wait_log(base, mark, line, 2000));
	}
	assert_string_equal(worker_state_name(WORKER_READY), "ready");
	check_recent_output(p, info);
	pool_stop_wait(p);
	for (unsigned int id = 0; id < 3; id++)
		assert_true(pid_gone(info[id].pid));
	passed = true;
}

static void test_udp_ready(void **state)
{
	struct worker_spec s = spec_base(1);
	char *env[] = { "MODE=udp", NULL };
	struct worker_pool *p;
	int type = 0;
	socklen_t len = sizeof(type);

	(void)state;
	s.proto = IPPROTO_UDP;
	s.env = env;
	p = pool_start(&s);
	assert_true(wait_state(base, 0, 0, 1, WORKER_READY, 4000));
	assert_int_equal(sock_port(rec.fd[0]), s.port_base);
	assert_int_equal(getsockopt(rec.fd[0], SOL_SOCKET, SO_TYPE, &type, &len), 0);
	assert_int_equal(type, SOCK_DGRAM);
	pool_stop_wait(p);
	passed = true;
}

static void test_bad_spec(void **state)
{
	struct worker_spec s = spec_base(2);
	char *missing[] = { "no-such-program-bouncer-test", NULL };

	(void)state;
	s.argv = missing;
	assert_null(worker_pool_start(base, &s, on_event, &rec));
	assert_int_equal(errno, ENOENT);
	s = spec_base(2);
	s.alt_port_base = (__u16)(s.port_base + 1); /* overlaps */
	assert_null(worker_pool_start(base, &s, on_event, &rec));
	assert_int_equal(errno, EINVAL);
	s = spec_base(2);
	s.argv = NULL;
	assert_null(worker_pool_start(base, &s, on_event, &rec));
	assert_int_equal(errno, EINVAL);
	passed = true;
}

/* kill -9: out of traffic before anything else, then back. */
static void test_killed_worker_returns(void **state)
{
	struct worker_spec s = spec_base(2);
	struct worker_pool *p;
	pid_t old;
	int64_t t0;
	int from, i;

	(void)state;
	p = pool_start(&s);
	assert_true(wait_state(base, 0, 0, 2, WORKER_READY, 4000));
	old = pid_of(p, 1);
	from = rec.n;
	t0 = now_ms();
	assert_int_equal(kill(old, SIGKILL), 0);
	assert_true(wait_state(base, from, 1, 1, WORKER_READY, 4000));
	i = find_ev(from, 1, -1);
	assert_true(i >= 0);
	assert_false(rec.ev[i].sock);
	/* Ran long enough (min uptime 1 ms): restarted at once. */
	assert_int_equal(rec.ev[i].state, WORKER_STARTING);
	assert_true(rec.ev[i].at - t0 < 500);
	assert_int_equal(count_ev(from, 0, -1), 0);
	assert_true(pid_of(p, 1) != old);
	assert_true(pid_gone(old));
	/* On the other port: the old one may still be held. */
	assert_int_equal(sock_port(rec.fd[1]), s.alt_port_base + 1);
	assert_true(accepts_on(rec.fd[1], s.alt_port_base + 1));
	pool_stop_wait(p);
	passed = true;
}

/* A worker that exits at once backs off, longer each time, and is failed
 * after the limit; its neighbour serves on.
 */
static void test_backoff_then_failed(void **state)
{
	struct worker_spec s = spec_base(2);
	struct worker_info info[2];
	struct worker_pool *p;
	int64_t delay[8] = { 0 };
	int nd = 0, last = -1;
	size_t mark = log_mark();

	(void)state;
	s.argv = argv_crash1;
	s.env = env_script;
	s.min_uptime_ms = 1000;
	s.backoff_initial_ms = 40;
	s.backoff_max_ms = 10000;
	s.crash_limit = 4;
	s.crash_window_ms = 20000;
	p = pool_start(&s);
	assert_true(wait_state(base, 0, 1, 1, WORKER_FAILED, 5000));
	assert_true(wait_state(base, 0, 0, 1, WORKER_READY, 4000));
	/* Each BACKOFF to the next STARTING: the delay. */
	for (int i = 0; i < rec.n; i++) {
		if (rec.ev[i].id != 1)
			continue;
		if (rec.ev[i].state == WORKER_BACKOFF)
			last = i;
		else if (rec.ev[i].state == WORKER_STARTING && last >= 0 && nd < 8)
			delay[nd++] = rec.ev[i].at - rec.ev[last].at;
	}
	assert_int_equal(count_ev(0, 1, WORKER_BACKOFF), 4);
	assert_int_equal(nd, 4);
	/* Each at least its doubled nominal (so they grow), and not much more:
	 * the measure also holds the fork and exec of the next start, slow on
	 * a loaded machine.
	 */
	for (int i = 0; i < nd; i++) {
		int64_t want = 40LL << i;
		char line[64];

		assert_true(delay[i] >= want - 5);
		assert_true(delay[i] < want + 1000);
		snprintf(line, sizeof(line), "restart in %lld ms\n", (long long)want);
		assert_true(wait_log(base, mark, line, 2000));
	}
	assert_int_equal(count_ev(0, 1, WORKER_FAILED), 1);
	assert_int_equal(count_ev(0, 0, -1), 1); /* READY only */
	assert_int_equal(worker_pool_list(p, info, 2), 2);
	assert_int_equal(info[1].state, WORKER_FAILED);
	assert_int_equal(info[1].pid, 0);
	assert_int_equal(info[1].restarts, 4);
	assert_int_equal(info[0].state, WORKER_READY);
	assert_true(wait_log(base, mark, "web/1 stdout: crashing\n", 2000));
	assert_non_null(log_find(mark, "web/1: exited with status 3"));
	assert_non_null(log_find(mark, "4 restarts within 20000 ms: failed"));
	assert_true(accepts_on(rec.fd[0], s.port_base));
	/* worker_pool_restart() gives a failed worker another chance. */
	assert_int_equal(worker_pool_restart(p, 1), 0);
	assert_int_equal(last_state(0, 1), WORKER_STARTING);
	pool_stop_wait(p);
	passed = true;
}

static void test_permanent_exit(void **state)
{
	struct worker_spec s = spec_base(1);
	char *argv[] = { "sh", "-c", "echo bye; exit 78", NULL };
	static const int permanent[] = { 64, 78 };
	struct worker_info info[1];
	struct worker_pool *p;
	size_t mark = log_mark();

	(void)state;
	s.argv = argv;
	s.permanent_exit = permanent;
	s.npermanent = 2;
	p = pool_start(&s);
	assert_true(wait_state(base, 0, 0, 1, WORKER_FAILED, 3000));
	/* Given time to restart, it does not. */
	run_for(base, 300);
	assert_int_equal(count_ev(0, 0, -1), 1);
	worker_pool_list(p, info, 1);
	assert_int_equal(info[0].state, WORKER_FAILED);
	assert_int_equal(info[0].restarts, 0);
	assert_true(wait_log(base, mark, "web/0 stdout: bye\n", 2000));
	assert_non_null(log_find(mark, "exit status 78 is permanent"));
	pool_stop_wait(p);
	passed = true;
}

struct done_rec {
	int calls;
	int result;
};

static void on_done(struct worker_pool *p, int result, void *arg)
{
	struct done_rec *d = arg;

	(void)p;
	d->calls++;
	d->result = result;
}

static bool done_pred(void *arg)
{
	return ((struct done_rec *)arg)->calls > 0;
}

/* No id is ever without a ready socket, and each moves to the other port;
 * a second reload moves them back.
 */
static void test_reload_zero_downtime(void **state)
{
	struct worker_spec s = spec_base(2);
	struct done_rec d = { 0 };
	struct worker_pool *p;
	pid_t old[2];
	int from;

	(void)state;
	p = pool_start(&s);
	assert_true(wait_state(base, 0, 0, 2, WORKER_READY, 4000));
	for (int round = 0; round < 2; round++) {
		__u16 base_port = round ? s.port_base : s.alt_port_base;

		old[0] = pid_of(p, 0);
		old[1] = pid_of(p, 1);
		from = rec.n;
		memset(&d, 0, sizeof(d));
		assert_int_equal(worker_pool_reload(p, NULL, on_done, &d), 0);
		assert_int_equal(d.calls, 0); /* from the loop, not from the call */
		assert_int_equal(worker_pool_reload(p, NULL, NULL, NULL), -EBUSY);
		assert_true(run_until(base, done_pred, &d, 6000));
		assert_int_equal(d.calls, 1);
		assert_int_equal(d.result, 0);
		for (unsigned int id = 0; id < 2; id++) {
			int i = find_ev(from, id, -1);

			/* Exactly one event, the new socket: never out of
			 * traffic.
			 */
			assert_int_equal(count_ev(from, id, -1), 1);
			assert_int_equal(rec.ev[i].state, WORKER_READY);
			assert_true(rec.ev[i].sock);
			assert_int_equal(rec.ev[i].port, base_port + id);
			assert_true(pid_of(p, id) != old[id]);
			assert_true(accepts_on(rec.fd[id], base_port + id));
		}
		/* Replaced ids in order: 0 was handed over before 1. */
		assert_true(find_ev(from, 0, -1) < find_ev(from, 1, -1));
		assert_true(wait_gone(base, old, 2, 3000));
	}
	pool_stop_wait(p);
	passed = true;
}

/* A TCP connection from the test to 127.0.0.1:port; -1 on failure. */
static int connect_to(__u16 port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (c >= 0 && connect(c, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		close(c);
		c = -1;
	}
	return c;
}

/* A replaced worker that holds no connection gets its SIGTERM at the first
 * count, not when drain_ms is up.
 */
static void test_reload_drains(void **state)
{
	struct worker_spec s = spec_base(1);
	struct done_rec d = { 0 };
	struct worker_pool *p;
	int64_t handed_over;
	size_t mark = log_mark();
	pid_t old;

	(void)state;
	s.drain_ms = 3000;
	p = pool_start(&s);
	assert_true(wait_state(base, 0, 0, 1, WORKER_READY, 4000));
	old = pid_of(p, 0);
	assert_int_equal(worker_pool_reload(p, NULL, on_done, &d), 0);
	assert_true(run_until(base, done_pred, &d, 6000));
	handed_over = now_ms();
	assert_int_equal(d.result, 0);
	assert_true(pid_of(p, 0) != old);
	assert_true(wait_gone(base, &old, 1, 4000));
	assert_true(now_ms() - handed_over < 1500);
	assert_non_null(log_find(mark, "web/0: pid "));
	assert_non_null(log_find(mark, ": connections ended after "));
	pool_stop_wait(p);
	passed = true;
}

/* A replaced worker serving a connection runs on while it is open, and
 * gets its SIGTERM once the client has closed it.
 */
static void test_reload_drain_waits(void **state)
{
	struct worker_spec s = spec_base(1);
	char *env[] = { "ACCEPT=1", NULL };
	struct done_rec d = { 0 };
	struct worker_pool *p;
	int64_t closed;
	pid_t old;
	int c;

	(void)state;
	s.env = env;
	s.drain_ms = 4000;
	p = pool_start(&s);
	assert_true(wait_state(base, 0, 0, 1, WORKER_READY, 4000));
	old = pid_of(p, 0);
	c = connect_to(s.port_base);
	assert_true(c >= 0);
	assert_int_equal(worker_pool_reload(p, NULL, on_done, &d), 0);
	assert_true(run_until(base, done_pred, &d, 6000));
	assert_int_equal(d.result, 0);
	/* Several counts later, the connection still holds it. */
	run_for(base, 600);
	assert_true(pid_alive(old));
	close(c);
	closed = now_ms();
	assert_true(wait_gone(base, &old, 1, 3000));
	assert_true(now_ms() - closed < 1500);
	pool_stop_wait(p);
	passed = true;
}

/* A connection that stays (here in the old listener's accept queue, which
 * counts) holds the worker for drain_ms, then it gets its SIGTERM.
 */
static void test_reload_drain_time_up(void **state)
{
	struct worker_spec s = spec_base(1);
	struct done_rec d = { 0 };
	struct worker_pool *p;
	int64_t handed_over, took;
	size_t mark = log_mark();
	pid_t old;
	int c;

	(void)state;
	s.drain_ms = 800;
	p = pool_start(&s);
	assert_true(wait_state(base, 0, 0, 1, WORKER_READY, 4000));
	old = pid_of(p, 0);
	c = connect_to(s.port_base);
	assert_true(c >= 0);
	assert_int_equal(worker_pool_reload(p, NULL, on_done, &d), 0);
	assert_true(run_until(base, done_pred, &d, 6000));
	handed_over = now_ms();
	assert_int_equal(d.result, 0);
	run_for(base, 400);
	assert_true(pid_alive(old));
	assert_true(wait_gone(base, &old, 1, 3000));
	took = now_ms() - handed_over;
	assert_true(took >= 700);
	assert_true(took < 2000);
	assert_non_null(log_find(mark, "drain time is up after "));
	assert_non_null(log_find(mark, "1 connection open, SIGTERM"));
	close(c);
	pool_stop_wait(p);
	passed = true;
}

/* A reload while the worker the last one replaced still drains: that
 * worker's port is the one the new replacement needs, so its drain ends
 * at once and the reload goes on when it has exited.
 */
static void test_reload_again_while_draining(void **state)
{
	struct worker_spec s = spec_base(1);
	struct done_rec d = { 0 };
	struct worker_pool *p;
	size_t mark = log_mark();
	int64_t t0;
	pid_t first, second;
	int c;

	(void)state;
	s.drain_ms = 20000;
	p = pool_start(&s);
	assert_true(wait_state(base, 0, 0, 1, WORKER_READY, 4000));
	first = pid_of(p, 0);
	c = connect_to(s.port_base);
	assert_true(c >= 0);
	assert_int_equal(worker_pool_reload(p, NULL, on_done, &d), 0);
	assert_true(run_until(base, done_pred, &d, 6000));
	assert_int_equal(d.result, 0);
	second = pid_of(p, 0);
	run_for(base, 300);
	assert_true(pid_alive(first));
	memset(&d, 0, sizeof(d));
	t0 = now_ms();
	assert_int_equal(worker_pool_reload(p, NULL, on_done, &d), 0);
	assert_true(run_until(base, done_pred, &d, 8000));
	assert_int_equal(d.result, 0);
	assert_true(now_ms() - t0 < 6000);
	assert_true(pid_gone(first));
	assert_true(pid_of(p, 0) != second);
	assert_int_equal(sock_port(rec.fd[0]), s.port_base);
	assert_non_null(log_find(mark, "drain cut short after "));
	close(c);
	pool_stop_wait(p);
	passed = true;
}

/* A replacement that never listens: the reload stops, the old workers
 * serve on untouched.
 */
static void test_reload_aborts(void **state)
{
	struct worker_spec s = spec_base(2), bad;
	char *env[] = { "MODE=never", NULL };
	struct done_rec d = { 0 };
	struct worker_pool *p;
	const char *started;
	pid_t old[2], repl;
	size_t mark;
	int from;

	(void)state;
	p = pool_start(&s);
	assert_true(wait_state(base, 0, 0, 2, WORKER_READY, 4000));
	old[0] = pid_of(p, 0);
	old[1] = pid_of(p, 1);
	bad = s;
	bad.env = env;
	bad.ready_timeout_ms = 400;
	from = rec.n;
	mark = log_mark();
	assert_int_equal(worker_pool_reload(p, &bad, on_done, &d), 0);
	assert_true(run_until(base, done_pred, &d, 4000));
	assert_int_equal(d.result, -ETIMEDOUT);
	assert_int_equal(rec.n, from); /* no event at all */
	assert_int_equal(pid_of(p, 0), old[0]);
	assert_int_equal(pid_of(p, 1), old[1]);
	assert_true(pid_alive(old[0]) && pid_alive(old[1]));
	assert_true(accepts_on(rec.fd[0], s.port_base));
	assert_true(accepts_on(rec.fd[1], s.port_base + 1));
	/* The replacement of 0 was started, on the other port, and killed. */
	started = log_find(mark, "web/0: started, pid ");
	assert_non_null(started);
	repl = (pid_t)atoi(started + strlen("web/0: started, pid "));
	assert_true(repl > 0 && repl != old[0]);
	assert_non_null(log_find(mark, "not listening on port"));
	assert_true(wait_gone(base, &repl, 1, 2000));
	/* Worker 1 was never replaced. */
	assert_null(log_find(mark, "web/1: started"));
	pool_stop_wait(p);
	passed = true;
}

static void test_restart_one(void **state)
{
	struct worker_spec s = spec_base(2);
	struct worker_pool *p;
	pid_t old;
	int from;

	(void)state;
	p = pool_start(&s);
	assert_true(wait_state(base, 0, 0, 2, WORKER_READY, 4000));
	old = pid_of(p, 1);
	from = rec.n;
	assert_int_equal(worker_pool_restart(p, 1), 0);
	assert_int_equal(worker_pool_restart(p, 1), -EBUSY);
	assert_int_equal(worker_pool_restart(p, 7), -ENOENT);
	assert_true(wait_state(base, from, 1, 1, WORKER_READY, 4000));
	assert_int_equal(count_ev(from, 1, -1), 1);
	assert_int_equal(sock_port(rec.fd[1]), s.alt_port_base + 1);
	assert_true(wait_gone(base, &old, 1, 3000));
	assert_int_equal(count_ev(from, 0, -1), 0);
	pool_stop_wait(p);
	passed = true;
}

static void test_scale(void **state)
{
	struct worker_spec s = spec_base(1), tight;
	struct worker_info info[4];
	struct worker_pool *p;
	pid_t gone[2];
	int from;

	(void)state;
	p = pool_start(&s);
	assert_true(wait_state(base, 0, 0, 1, WORKER_READY, 4000));
	from = rec.n;
	assert_int_equal(worker_pool_scale(p, 3), 0);
	assert_true(wait_state(base, from, 1, 2, WORKER_READY, 4000));
	assert_int_equal(worker_pool_list(p, info, 4), 3);
	for (unsigned int id = 1; id < 3; id++) {
		assert_int_equal(find_ev(from, id, -1), find_ev(from, id, WORKER_STARTING));
		assert_int_equal(sock_port(rec.fd[id]), s.port_base + id);
	}
	gone[0] = info[1].pid;
	gone[1] = info[2].pid;
	from = rec.n;
	assert_int_equal(worker_pool_scale(p, 1), 0);
	/* Out of traffic at once, the highest id first. */
	assert_int_equal(rec.ev[from].id, 2);
	assert_int_equal(rec.ev[from].state, WORKER_STOPPING);
	assert_false(rec.ev[from].sock);
	assert_int_equal(last_state(from, 1), WORKER_STOPPING);
	assert_true(wait_state(base, from, 1, 2, WORKER_STOPPED, 3000));
	assert_true(wait_gone(base, gone, 2, 1000));
	assert_int_equal(worker_pool_list(p, info, 4), 1);
	assert_int_equal(count_ev(from, 0, -1), 0);
	pool_stop_wait(p);

	/* The default second range starts right after the first. */
	tight = spec_base(1);
	tight.alt_port_base = 0;
	p = pool_start(&tight);
	assert_int_equal(worker_pool_scale(p, 2), -ERANGE);
	pool_stop_wait(p);
	passed = true;
}

/* stop(true) blocks until a worker that ignores SIGTERM is SIGKILLed. */
static void test_stop_kills_stubborn(void **state)
{
	struct worker_spec s = spec_base(1);
	char *env[] = { "IGNORE_TERM=1", NULL };
	struct worker_pool *p;
	size_t mark = log_mark();
	int64_t t0, took;
	pid_t pid;
	int from;

	(void)state;
	s.env = env;
	s.kill_timeout_ms = 300;
	p = pool_start(&s);
	assert_true(wait_state(base, 0, 0, 1, WORKER_READY, 4000));
	pid = pid_of(p, 0);
	from = rec.n;
	t0 = now_ms();
	pool_stop_wait(p);
	took = now_ms() - t0;
	assert_true(took >= 290);
	assert_true(took < 2000);
	assert_true(pid_gone(pid));
	assert_int_equal(rec.ev[from].state, WORKER_STOPPING);
	assert_int_equal(last_state(from, 0), WORKER_STOPPED);
	assert_non_null(log_find(mark, "web/0: still running 300 ms after SIGTERM, SIGKILL"));
	passed = true;
}

/* stop(false): the loop sees the workers go, and the pool frees itself
 * (LeakSanitizer would tell otherwise).
 */
static void test_stop_in_loop(void **state)
{
	struct worker_spec s = spec_base(2);
	struct worker_pool *p;
	pid_t pids[2];
	int from;

	(void)state;
	p = pool_start(&s);
	assert_true(wait_state(base, 0, 0, 2, WORKER_READY, 4000));
	pids[0] = pid_of(p, 0);
	pids[1] = pid_of(p, 1);
	from = rec.n;
	pool_forget(p);
	worker_pool_stop(p, false);
	assert_int_equal(last_state(from, 0), WORKER_STOPPING);
	assert_true(wait_state(base, from, 0, 2, WORKER_STOPPED, 3000));
	assert_true(wait_gone(base, pids, 2, 1000));
	passed = true;
}

/* The callback may stop the pool; the rest of the event handling must not
 * touch it after (AddressSanitizer watches), and the workers go.
 */
static void test_stop_from_callback(void **state)
{
	struct worker_spec s = spec_base(2);
	pid_t pids[2];

	(void)state;
	rec.stop_on_ready = true;
	pool_forget(pool_start(&s));
	assert_true(wait_state(base, 0, 0, 2, WORKER_STOPPED, 4000));
	/* The first READY stopped it: the other never got ready. */
	assert_int_equal(count_ev(0, 0, WORKER_READY) + count_ev(0, 1, WORKER_READY), 1);
	pids[0] = rec.ev[find_ev(0, 0, WORKER_STOPPING)].pid;
	pids[1] = rec.ev[find_ev(0, 1, WORKER_STOPPING)].pid;
	assert_true(wait_gone(base, pids, 2, 2000));
	passed = true;
}

/* A stop during a reload ends it: done hears -ECANCELED, once. */
static void test_stop_cancels_reload(void **state)
{
	struct worker_spec s = spec_base(1), next;
	char *env[] = { "MODE=never", NULL };
	struct done_rec d = { 0 };
	struct worker_pool *p;

	(void)state;
	p = pool_start(&s);
	assert_true(wait_state(base, 0, 0, 1, WORKER_READY, 4000));
	next = s;
	next.env = env;
	assert_int_equal(worker_pool_reload(p, &next, on_done, &d), 0);
	run_for(base, 100);
	pool_stop_wait(p);
	assert_int_equal(d.calls, 1);
	assert_int_equal(d.result, -ECANCELED);
	run_for(base, 50);
	assert_int_equal(d.calls, 1);
	passed = true;
}

/* User, groups, cwd and environment of the worker (root only). */
static void test_user_cwd_env(void **state)
{
	struct worker_spec s = spec_base(1);
	char *env[] = { "SHOW=1", "FOO=bar", "PORT=1", "WORKER_ID=9", NULL };
	struct worker_pool *p;
	char line[128];
	size_t mark = log_mark();

	(void)state;
	if (geteuid() != 0) {
		passed = true;
		skip();
	}
	s.env = env;
	s.cwd = "/tmp";
	s.has_user = true;
	s.uid = 65534;
	s.gid = 65534;
	p = pool_start(&s);
	/* The spec's PORT and WORKER_ID lose to the worker's own. */
	assert_true(wait_state(base, 0, 0, 1, WORKER_READY, 4000));
	snprintf(line, sizeof(line), "web/0 stdout: hello id=0 port=%u\n", s.port_base);
	assert_true(wait_log(base, mark, line, 2000));
	assert_true(wait_log(base, mark, "web/0 stdout: show uid=65534 gid=65534 groups=[", 2000));
	assert_non_null(log_find(mark, "cwd=/tmp foo=bar\n"));
	/* The supplementary groups are the user's, not root's. */
	assert_null(log_find(mark, "groups=[0"));
	assert_true(accepts_on(rec.fd[0], s.port_base));
	pool_stop_wait(p);
	passed = true;
}

/* Pipe inode of pid's stdout, 0 when not a pipe. */
static unsigned long long stdout_pipe(pid_t pid)
{
	char path[64], target[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/fd/1", (int)pid);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 7)
		return 0;
	target[n] = '\0';
	if (strncmp(target, "pipe:[", 6) != 0)
		return 0;
	return strtoull(target + 6, NULL, 10);
}

/* A "bouncer-logs" process holds pipe ino. */
static bool drainer_holds(void *arg)
{
	unsigned long long ino = *(unsigned long long *)arg;
	struct dirent *de, *fe;
	bool found = false;
	DIR *d = opendir("/proc");

	assert_non_null(d);
	while (!found && (de = readdir(d))) {
		char path[300];
		DIR *fd;

		if (de->d_name[0] < '1' || de->d_name[0] > '9' ||
		    !comm_is((pid_t)atoi(de->d_name), "bouncer-logs"))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/fd", de->d_name);
		fd = opendir(path);
		if (!fd)
			continue;
		while (!found && (fe = readdir(fd))) {
			char target[64];
			ssize_t n = readlinkat(dirfd(fd), fe->d_name, target, sizeof(target) - 1);

			if (n < 7)
				continue;
			target[n] = '\0';
			found = strncmp(target, "pipe:[", 6) == 0 &&
				strtoull(target + 6, NULL, 10) == ino;
		}
		closedir(fd);
	}
	closedir(d);
	return found;
}

static bool no_drainer_holds(void *arg)
{
	return !drainer_holds(arg);
}

/* Abandoned workers serve and log on; a new pool adopts them, except a
 * pid whose start time is not the worker's.
 */
static void test_abandon_adopt(void **state)
{
	struct worker_spec s = spec_base(2);
	char *env[] = { "TICK=0.1", NULL };
	struct worker_info info[2];
	struct worker_pool *p;
	unsigned long long ino;
	pid_t w0, w1, other;
	char line[64];
	size_t mark;
	int from, i;

	(void)state;
	s.env = env;
	p = pool_start(&s);
	assert_true(wait_state(base, 0, 0, 2, WORKER_READY, 4000));
	assert_int_equal(worker_pool_list(p, info, 2), 2);
	w0 = info[0].pid;
	w1 = info[1].pid;
	ino = stdout_pipe(w0);
	assert_true(ino != 0);

	pool_forget(p);
	worker_pool_abandon(p);
	mark = log_mark();
	/* Alive, serving, and their lines still logged, by the drainer. */
	snprintf(line, sizeof(line), "web/0 stdout: tick ");
	assert_true(wait_log(base, mark, line, 2000));
	assert_true(run_until(base, drainer_holds, &ino, 1000));
	assert_true(pid_alive(w0) && pid_alive(w1));
	assert_true(port_listens(s.port_base));
	assert_true(accepts_on(rec.fd[0], s.port_base));

	/* Worker 1's pid now names another process (as after pid reuse):
	 * kill it, reap it (the test is its parent), and offer a process of
	 * the test's in its place.
	 */
	kill(-w1, SIGKILL);
	assert_int_equal(waitpid(w1, NULL, 0), w1);
	other = fork();
	assert_true(other >= 0);
	if (other == 0) {
		execl("/bin/sleep", "sleep", "30", (char *)NULL);
		_exit(127);
	}
	track_pid(other);
	info[1].pid = other;

	from = rec.n;
	mark = log_mark();
	s.adopt = info;
	s.nadopt = 2;
	p = pool_start(&s);
	assert_true(wait_state(base, from, 0, 2, WORKER_READY, 4000));
	assert_int_equal(pid_of(p, 0), w0); /* adopted */
	i = find_ev(from, 0, WORKER_READY);
	assert_int_equal(rec.ev[i].port, s.port_base);
	assert_true(accepts_on(rec.fd[0], s.port_base));
	assert_true(pid_of(p, 1) != other); /* refused, a new worker instead */
	assert_true(pid_of(p, 1) != w1);
	assert_true(pid_alive(other)); /* and left alone */
	assert_non_null(log_find(mark, "web/0: adopted pid"));
	assert_non_null(log_find(mark, "no longer that worker"));
	/* Output: ours again, the drainer gone. */
	assert_true(run_until(base, no_drainer_holds, &ino, 2000));
	mark = log_mark();
	assert_true(wait_log(base, mark, "web/0 stdout: tick ", 1000));

	/* The adopted worker is supervised like any other. */
	from = rec.n;
	kill(w0, SIGKILL);
	assert_true(wait_state(base, from, 0, 1, WORKER_READY, 4000));
	assert_false(rec.ev[find_ev(from, 0, -1)].sock);
	assert_true(pid_of(p, 0) != w0);
	pool_stop_wait(p);

	kill(other, SIGKILL);
	assert_int_equal(waitpid(other, NULL, 0), other);
	passed = true;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_start_ready, setup, teardown),
		cmocka_unit_test_setup_teardown(test_udp_ready, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_spec, setup, teardown),
		cmocka_unit_test_setup_teardown(test_killed_worker_returns, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backoff_then_failed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_permanent_exit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload_zero_downtime, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload_drains, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload_drain_waits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload_drain_time_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload_again_while_draining, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload_aborts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart_one, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scale, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_kills_stubborn, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_in_loop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_from_callback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_cancels_reload, setup, teardown),
		cmocka_unit_test_setup_teardown(test_user_cwd_env, setup, teardown),
		cmocka_unit_test_setup_teardown(test_abandon_adopt, setup, teardown),
	};

	return cmocka_run_group_tests_name("workers", tests, group_setup, group_teardown);
}
