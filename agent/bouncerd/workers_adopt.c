// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Workers that outlive their agent: a pool adopts the workers a previous
 * agent left running, and an abandoned pool leaves behind the output
 * drainer, which logs their output while no agent does (see Abandon and
 * adopt in workers.h).
 */
#define _GNU_SOURCE /* close_range */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "workers.h"
#include "workers_int.h"

#define DRAIN_COMM "bouncer-logs"

static int64_t clock_ms(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- adoption ---- */

/* Reopens pid's output pipes through /proc into pr's streams: stdout and
 * stderr, or one stream when both are one pipe (an older agent's worker).
 * ino[0..1]: the pipes reopened (0: none). false when none could be.
 */
static bool adopt_output(struct proc *pr, pid_t pid, unsigned long long *ino)
{
	unsigned long long pipes[WK_NSTREAMS];
	char path[64];
	int dfd, n;

	ino[0] = ino[1] = 0;
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return false;
	pipes[WK_OUT] = wk_fd_inode(dfd, "1", "pipe");
	pipes[WK_ERR] = wk_fd_inode(dfd, "2", "pipe");
	close(dfd);
	n = pipes[WK_OUT] == pipes[WK_ERR] ? 1 : WK_NSTREAMS;
	if (n == 1)
		pr->out[WK_OUT].stream = WLOG_MERGED;
	for (int i = 0; i < n; i++) {
		if (!pipes[i])
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, i + 1);
		pr->out[i].fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (pr->out[i].fd >= 0)
			ino[i] = pipes[i];
	}
	return wk_proc_has_output(pr);
}

/* ino[0..1]: the output pipes reopened. */
static int proc_adopt(struct worker_pool *p, const struct worker_info *a, unsigned long long *ino,
		      struct proc **out)
{
	struct pstat st = { 0 };
	struct proc *pr;
	siginfo_t si;
	int64_t uptime;
	long hz = sysconf(_SC_CLK_TCK);
	int err;

	*out = NULL;
	ino[0] = ino[1] = 0;
	pr = wk_proc_alloc(p, p->spec, a->id, a->port);
	if (!pr)
		return -ENOMEM;
	pr->pidfd = pidfd_open(a->pid, 0);
	if (pr->pidfd < 0) {
		err = -errno;
		goto cleanup;
	}
	/* Read after the pidfd is open: if the pid was reused before, this
	 * is the new process, and its start time differs.
	 */
	err = wk_pstat_read(a->pid, &st);
	if (err)
		goto cleanup;
	if (st.start_time != a->start_time) {
		err = -ESRCH;
		goto cleanup;
	}
	pr->pid = a->pid;
	pr->start_time = st.start_time;
	memset(&si, 0, sizeof(si));
	pr->child = waitid(P_PIDFD, (id_t)pr->pidfd, &si, WEXITED | WNOHANG | WNOWAIT) == 0;
	uptime = clock_ms(CLOCK_BOOTTIME) - (int64_t)(st.start_time * 1000 / (uint64_t)hz);
	if (uptime < 0)
		uptime = 0;
	pr->started_ms = now_ms() - uptime;
	pr->started = time(NULL) - (time_t)(uptime / 1000);
	if (!adopt_output(pr, a->pid, ino))
		log_info("%s/%u: output of pid %d not captured: not the pipes it was started with",
			 p->spec->name, a->id, (int)a->pid);
	err = wk_proc_arm(pr);
	if (err)
		goto cleanup;
	log_info("%s/%u: adopted pid %d, port %u", p->spec->name, a->id, (int)a->pid, a->port);
	*out = pr;
	pr = NULL;
cleanup:
	if (pr) {
		pr->child = false; /* not ours to reap or kill: left alone */
		wk_proc_free(pr);
	}
	return err;
}

/* pid holds one of the pipes ino[] on a descriptor above stderr. */
static bool holds_any(pid_t pid, const unsigned long long *ino, size_t n)
{
	char path[64];
	struct dirent *de;
	bool found = false;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return false;
	while (!found && (de = readdir(d))) {
		unsigned long long pi;

		if (de->d_name[0] < '0' || de->d_name[0] > '9' ||
		    strtol(de->d_name, NULL, 10) <= STDERR_FILENO)
			continue;
		pi = wk_fd_inode(dirfd(d), de->d_name, "pipe");
		for (size_t i = 0; pi && i < n && !found; i++)
			found = pi == ino[i];
	}
	closedir(d);
	return found;
}

static bool comm_is(pid_t pid, const char *want)
{
	char path[64], comm[32];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, comm, sizeof(comm) - 1);
	close(fd);
	if (n <= 0)
		return false;
	comm[n] = '\0';
	comm[strcspn(comm, "\n")] = '\0';
	return strcmp(comm, want) == 0;
}

/* SIGTERMs the output drainer an abandoning agent left for this pool
 * (one per pool: the one holding a pipe we have reopened): from now on the
 * lines are ours to log. Its other pipes, of workers not adopted, lose
 * their reader; a dead worker's is at its end anyway.
 */
static void drainers_stop(const char *name, const unsigned long long *ino, size_t n)
{
	struct dirent *de;
	DIR *d;

	if (!n)
		return;
	d = opendir("/proc");
	if (!d)
		return;
	while ((de = readdir(d))) {
		pid_t pid = wk_proc_dirent_pid(de);
		int pidfd;

		if (!pid || !comm_is(pid, DRAIN_COMM))
			continue;
		/* Checked again through the pidfd's process: no pid reuse. */
		pidfd = pidfd_open(pid, 0);
		if (pidfd < 0)
			continue;
		if (comm_is(pid, DRAIN_COMM) && holds_any(pid, ino, n) &&
		    pidfd_send_signal(pidfd, SIGTERM, NULL, 0) == 0)
			log_debug("%s: output drainer pid %d stopped", name, (int)pid);
		close(pidfd);
	}
	closedir(d);
}

void wk_pool_adopt(struct worker_pool *p, const struct worker_spec *spec)
{
	unsigned long long *ino =
		calloc(WK_NSTREAMS * (spec->nadopt ? spec->nadopt : 1), sizeof(*ino));
	unsigned long long none[WK_NSTREAMS] = { 0 };
	size_t nino = 0;

	for (size_t i = 0; i < spec->nadopt; i++) {
		const struct worker_info *a = &spec->adopt[i];
		struct proc *pr;
		struct slot *s;
		int err;

		s = a->id < p->count ? p->slots[a->id] : NULL;
		if (s)
			s->port = wk_port_keep(p->spec, a->id, a->port);
		if (a->pid <= 0)
			continue;
		err = proc_adopt(p, a, ino ? &ino[nino] : none, &pr);
		if (err || !pr) {
			log_warnx("%s/%u: pid %d not adopted: %s", p->spec->name, a->id,
				  (int)a->pid,
				  err == -ESRCH ? "no longer that worker" : strerror(-err));
			/* Whatever may still hold its port. */
			if (s)
				s->port = wk_port_other(p->spec, a->id, a->port);
			continue;
		}
		/* Unused entries stay 0, which no pipe has. */
		if (ino)
			nino += WK_NSTREAMS;
		if (!s || s->cur) {
			log_info("%s/%u: adopted pid %d is not wanted, stopping it", p->spec->name,
				 a->id, (int)a->pid);
			wk_proc_retire(pr, false);
			continue;
		}
		pr->slot = s;
		pr->role = ROLE_CUR;
		s->cur = pr;
		s->port = a->port;
		s->restarts = a->restarts;
	}
	if (ino)
		drainers_stop(p->spec->name, ino, nino);
	free(ino);
}

/* ---- abandon: the output drainer ---- */

struct drain_src {
	int fd;
	unsigned int id;
	enum wlog_stream stream;
	const char *name;
	struct linebuf lb;
};

static void drain_line(void *arg, const char *s, size_t n)
{
	const struct drain_src *d = arg;

	wk_log_output(d->name, d->id, d->stream, s, n);
}

/* The drainer's life: log lines until every pipe is closed or SIGTERM.
 * Memory was all allocated before the fork.
 */
static void __attribute__((noreturn))
drainer_run(struct drain_src *src, struct pollfd *pfd, size_t n, const char *name)
{
	unsigned int lo = 3;
	size_t live = n;

	static char line_buf[OUT_LINE_MAX + 256];

	setsid();
	prctl(PR_SET_NAME, DRAIN_COMM, 0, 0, 0);
	/* One write per line: the agent that adopts the workers logs to the
	 * same stderr (the log module writes a line at once, a line buffer
	 * keeps it so).
	 */
	if (setvbuf(stderr, line_buf, _IOLBF, sizeof(line_buf)) != 0)
		log_warnx("%s: output drainer: lines may be torn", name);
	wk_signals_default();
	/* Nothing of the agent's but stdio and the pipes (sorted by fd):
	 * no listening socket, map or other pool's pipe stays open here.
	 */
	for (size_t i = 0; i < n; i++) {
		unsigned int fd = (unsigned int)src[i].fd;

		if (fd > lo)
			close_range(lo, fd - 1, 0);
		if (fd + 1 > lo)
			lo = fd + 1;
	}
	close_range(lo, ~0U, 0);
	while (live) {
		size_t k = 0;

		for (size_t i = 0; i < n; i++) {
			if (src[i].fd < 0)
				continue;
			pfd[k].fd = src[i].fd;
			pfd[k].events = POLLIN;
			pfd[k].revents = 0;
			k++;
		}
		if (poll(pfd, k, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (size_t i = 0, j = 0; i < n; i++) {
			struct drain_src *d = &src[i];
			ssize_t r;

			if (d->fd < 0)
				continue;
			if (!pfd[j++].revents)
				continue;
			r = read(d->fd, d->lb.buf + d->lb.len, sizeof(d->lb.buf) - d->lb.len);
			if (r > 0) {
				d->lb.len += (size_t)r;
				wk_linebuf_emit(&d->lb, false, drain_line, d);
			} else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
				wk_linebuf_emit(&d->lb, true, drain_line, d);
				close(d->fd);
				d->fd = -1;
				live--;
			}
		}
	}
	_exit(0);
}

/* Forks the drainer, detached (double fork: no zombie of ours to reap). */
void wk_drainer_start(struct worker_pool *p)
{
	struct drain_src *src = NULL;
	struct pollfd *pfd = NULL;
	sigset_t all, old;
	size_t n = 0, k = 0;
	pid_t pid;

	for (struct proc *pr = p->procs; pr; pr = pr->link)
		for (int i = 0; pr->role == ROLE_CUR && i < WK_NSTREAMS; i++)
			if (pr->out[i].fd >= 0)
				n++;
	if (!n)
		return;
	src = calloc(n, sizeof(*src));
	pfd = calloc(n, sizeof(*pfd));
	if (!src || !pfd) {
		log_warnx("%s: no output drainer: out of memory", p->spec->name);
		goto cleanup;
	}
	for (struct proc *pr = p->procs; pr; pr = pr->link) {
		for (int s = 0; pr->role == ROLE_CUR && s < WK_NSTREAMS; s++) {
			const struct outstream *o = &pr->out[s];
			size_t i;

			if (o->fd < 0)
				continue;
			/* Keep the partial line; insert sorted by fd. */
			for (i = k; i > 0 && src[i - 1].fd > o->fd; i--)
				src[i] = src[i - 1];
			src[i].fd = o->fd;
			src[i].id = pr->id;
			src[i].stream = o->stream;
			src[i].name = p->spec->name;
			src[i].lb = o->lb;
			k++;
		}
	}
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	pid = fork();
	if (pid == 0) {
		pid_t grandchild = fork();

		if (grandchild == 0)
			drainer_run(src, pfd, n, p->spec->name);
		_exit(grandchild < 0 ? 1 : 0);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid < 0) {
		log_warn("%s: fork of the output drainer", p->spec->name);
		goto cleanup;
	}
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	/* What it logs from now on, it logs itself. */
	for (struct proc *pr = p->procs; pr; pr = pr->link)
		for (int i = 0; i < WK_NSTREAMS; i++)
			pr->out[i].lb.len = 0;
cleanup:
	free(src);
	free(pfd);
}
