// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* A worker's processes, below the pool's policy: each one's fork and exec,
 * signals, retirement and reaping, its output, and what /proc says of it:
 * the listening socket that makes it ready, the connections a drain waits
 * for (see Processes, Readiness, Drain and Output in workers.h).
 */
#define _GNU_SOURCE /* pipe2, getgrouplist */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <netinet/in.h>

#include <event2/event.h>

#include "common/log.h"
#include "common/util.h"
#include "sockdiag.h"
#include "workers.h"
#include "workers_int.h"

/* Reads per output event: a chatty worker must not starve the loop. */
#define OUT_READS_MAX 16
/* A worker's output pipe holds this much while no agent reads it. */
#define OUTPUT_PIPE_SIZE (1 << 20)
#define PATH_DEFAULT "/usr/local/bin:/usr/bin:/bin"

extern char **environ;

/* ---- small helpers ---- */

/* ---- /proc ---- */

/* Fields 6 (session) and 22 (starttime) of /proc/PID/stat. The command
 * name in field 2 may hold spaces and parentheses: count from the last ')'.
 */
int wk_pstat_read(pid_t pid, struct pstat *st)
{
	char path[64], buf[1024];
	const char *s;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -ESRCH;
	buf[n] = '\0';
	s = strrchr(buf, ')');
	if (!s)
		return -EIO;
	s++;
	for (int field = 3; field <= 22; field++) {
		while (*s == ' ')
			s++;
		if (!*s)
			return -EIO;
		if (field == 6)
			st->sid = (pid_t)strtol(s, NULL, 10);
		else if (field == 22)
			st->start_time = strtoull(s, NULL, 10);
		s += strcspn(s, " ");
	}
	return 0;
}

/* A /proc directory entry that names a process: its pid, else 0. */
pid_t wk_proc_dirent_pid(const struct dirent *de)
{
	char *end;
	long v;

	if (de->d_name[0] < '1' || de->d_name[0] > '9')
		return 0;
	v = strtol(de->d_name, &end, 10);
	if (*end || v <= 0 || v > INT_MAX)
		return 0;
	return (pid_t)v;
}

/* The inode N of "KIND:[N]" that fd (a name in dirfd, a /proc/PID/fd)
 * links to, kind being "pipe" or "socket"; 0 when it is something else.
 */
unsigned long long wk_fd_inode(int dirfd, const char *name, const char *kind)
{
	size_t k = strlen(kind);
	char target[64];
	ssize_t n = readlinkat(dirfd, name, target, sizeof(target) - 1);

	if (n < (ssize_t)k + 3)
		return 0;
	target[n] = '\0';
	if (strncmp(target, kind, k) != 0 || strncmp(target + k, ":[", 2) != 0)
		return 0;
	return strtoull(target + k + 2, NULL, 10);
}

/* ---- output ---- */

void wk_log_output(const char *name, unsigned int id, enum wlog_stream stream, const char *s,
		   size_t n)
{
	if (n && s[n - 1] == '\r')
		n--;
	if (stream == WLOG_MERGED)
		log_output(LOG_LEVEL_INFO, "%s/%u: %.*s", name, id, (int)n, s);
	else
		log_output(stream == WLOG_STDERR ? LOG_LEVEL_WARN : LOG_LEVEL_INFO,
			   "%s/%u %s: %.*s", name, id, wlog_stream_name(stream), (int)n, s);
}

void wk_linebuf_emit(struct linebuf *lb, bool eof, void (*line)(void *arg, const char *s, size_t n),
		     void *arg)
{
	size_t start = 0;
	const char *nl;

	while ((nl = memchr(lb->buf + start, '\n', lb->len - start))) {
		size_t end = (size_t)(nl - lb->buf);

		line(arg, lb->buf + start, end - start);
		start = end + 1;
	}
	if ((eof || (start == 0 && lb->len == sizeof(lb->buf))) && start < lb->len) {
		line(arg, lb->buf + start, lb->len - start);
		start = lb->len;
	}
	memmove(lb->buf, lb->buf + start, lb->len - start);
	lb->len -= start;
}

/* A line of pr's output: logged, and kept for worker logs. */
static void proc_line(void *arg, const char *s, size_t n)
{
	struct outstream *o = arg;
	struct proc *pr = o->pr;

	wk_log_output(pr->spec->name, pr->id, o->stream, s, n);
	if (n && s[n - 1] == '\r')
		n--;
	wk_pool_log_add(pr->pool, pr->id, pr->pid, o->stream, s, n);
}

bool wk_proc_has_output(const struct proc *pr)
{
	for (int i = 0; i < WK_NSTREAMS; i++)
		if (pr->out[i].fd >= 0)
			return true;
	return false;
}

/* Reads what the worker wrote on one stream; see wk_proc_read_output. */
static void stream_read(struct outstream *o, bool final)
{
	int max = final ? OUT_READS_MAX * 4 : OUT_READS_MAX;

	for (int i = 0; o->fd >= 0 && i < max; i++) {
		ssize_t n = read(o->fd, o->lb.buf + o->lb.len, sizeof(o->lb.buf) - o->lb.len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n > 0) {
			o->lb.len += (size_t)n;
			wk_linebuf_emit(&o->lb, false, proc_line, o);
			continue;
		}
		if (n < 0 && errno == EAGAIN)
			break;
		/* End of file: every writer is gone. */
		wk_linebuf_emit(&o->lb, true, proc_line, o);
		if (o->ev) {
			event_free(o->ev);
			o->ev = NULL;
		}
		close(o->fd);
		o->fd = -1;
	}
	if (final)
		wk_linebuf_emit(&o->lb, true, proc_line, o);
}

/* Reads what the worker wrote. final: it has exited, read what there is
 * and log the last line even without its newline (bounded: an adopted
 * worker's group is not killed with it, and may write on).
 */
void wk_proc_read_output(struct proc *pr, bool final)
{
	for (int i = 0; i < WK_NSTREAMS; i++)
		stream_read(&pr->out[i], final);
}

/* ---- processes ---- */

struct proc *wk_proc_alloc(struct worker_pool *p, struct spec *sp, unsigned int id, __u16 port)
{
	struct proc *pr = calloc(1, sizeof(*pr));

	if (!pr)
		return NULL;
	pr->pool = p;
	pr->spec = wk_spec_get(sp);
	pr->id = id;
	pr->port = port;
	pr->pidfd = -1;
	for (int i = 0; i < WK_NSTREAMS; i++) {
		pr->out[i].pr = pr;
		pr->out[i].stream = i == WK_ERR ? WLOG_STDERR : WLOG_STDOUT;
		pr->out[i].fd = -1;
	}
	pr->link = p->procs;
	p->procs = pr;
	return pr;
}

/* Closes what the pool holds of the process; the process itself is left
 * alone (reaped or abandoned by the caller).
 */
void wk_proc_free(struct proc *pr)
{
	struct worker_pool *p = pr->pool;
	struct proc **pp;

	for (pp = &p->procs; *pp; pp = &(*pp)->link) {
		if (*pp == pr) {
			*pp = pr->link;
			break;
		}
	}
	if (pr->slot) {
		if (pr->slot->cur == pr)
			pr->slot->cur = NULL;
		if (pr->slot->next == pr)
			pr->slot->next = NULL;
	}
	if (p->reload_proc == pr)
		p->reload_proc = NULL;
	if (p->reload_wait == pr)
		p->reload_wait = NULL;
	if (pr->exit_ev)
		event_free(pr->exit_ev);
	if (pr->poll_ev)
		event_free(pr->poll_ev);
	if (pr->kill_ev)
		event_free(pr->kill_ev);
	if (pr->drain_ev)
		event_free(pr->drain_ev);
	for (int i = 0; i < WK_NSTREAMS; i++) {
		if (pr->out[i].ev)
			event_free(pr->out[i].ev);
		if (pr->out[i].fd >= 0)
			close(pr->out[i].fd);
	}
	if (pr->pidfd >= 0)
		close(pr->pidfd);
	wk_spec_put(pr->spec);
	free(pr);
}

/* sig to the worker, through its pidfd (no pid reuse), then to the rest of
 * its process group: a live or unreaped leader keeps the group's id from
 * being reused.
 */
static void proc_signal(struct proc *pr, int sig)
{
	if (pidfd_send_signal(pr->pidfd, sig, NULL, 0) < 0)
		return;
	kill(-pr->pid, sig);
}

/* Reaps an exited child of ours. A leader's exit leaves its process group
 * to be killed first: what it started goes with it, and a child that
 * still holds the port would keep the next start from listening.
 */
static void proc_reap(struct proc *pr)
{
	siginfo_t si;

	if (!pr->child)
		return;
	kill(-pr->pid, SIGKILL);
	while (waitid(P_PIDFD, (id_t)pr->pidfd, &si, WEXITED | WNOHANG) < 0 && errno == EINTR)
		;
	pr->child = false;
}

/* After the process exited: reaped (its group killed), the rest of its
 * output read, freed.
 */
void wk_proc_finish(struct proc *pr)
{
	proc_reap(pr);
	if (wk_proc_has_output(pr))
		wk_proc_read_output(pr, true);
	wk_proc_free(pr);
}

/* Takes pr out of its slot: it serves nothing the pool counts on. */
static void proc_unslot(struct proc *pr, bool report)
{
	struct slot *s = pr->slot;

	if (s) {
		if (s->cur == pr)
			s->cur = NULL;
		if (s->next == pr)
			s->next = NULL;
	}
	pr->slot = NULL;
	pr->role = ROLE_RETIRED;
	pr->report_stop = report;
	pr->awaited = false;
	if (pr->poll_ev)
		evtimer_del(pr->poll_ev);
}

/* SIGTERM now, SIGKILL after the kill timeout; the process leaves its
 * slot. report: WORKER_STOPPED for its id once it has exited.
 */
void wk_proc_retire(struct proc *pr, bool report)
{
	proc_unslot(pr, report);
	pr->draining = false;
	if (pr->drain_ev)
		evtimer_del(pr->drain_ev);
	if (pr->kill_at_ms || pr->kill_sent)
		return;
	proc_signal(pr, SIGTERM);
	pr->kill_at_ms = now_ms() + pr->spec->s.kill_timeout_ms;
	if (pr->kill_ev) {
		struct timeval tv = wk_ms_to_tv(pr->spec->s.kill_timeout_ms);

		evtimer_add(pr->kill_ev, &tv);
	}
}

/* A worker whose replacement has taken over its traffic still holds the
 * connections it accepted and those in its accept queue, which a plain
 * server loses if it dies on SIGTERM: it gets SIGTERM once they have
 * ended (counted every DRAIN_POLL_MS, the first count one period after
 * the swap, when the handshakes begun before it are done), or when
 * drain_ms runs out.
 */
void wk_proc_retire_drained(struct worker_pool *p, struct proc *pr)
{
	struct timeval tv = wk_ms_to_tv(p->spec->s.drain_ms), poll = wk_ms_to_tv(DRAIN_POLL_MS);

	if (!p->spec->s.drain_ms || !pr->kill_ev || !pr->drain_ev || pr->kill_at_ms ||
	    pr->kill_sent) {
		wk_proc_retire(pr, false);
		return;
	}
	proc_unslot(pr, false);
	pr->draining = true;
	pr->drain_start_ms = now_ms();
	pr->conns = -1;
	evtimer_add(pr->kill_ev, &tv);
	evtimer_add(pr->drain_ev, &poll);
}

/* Ends pr's drain now, if it drains: why is for the log. */
void wk_proc_drain_cut(struct proc *pr, const char *why)
{
	if (!pr->draining)
		return;
	log_info("%s/%u: pid %d: drain cut short after %lld ms (%s), SIGTERM", pr->spec->name,
		 pr->id, (int)pr->pid, (long long)(now_ms() - pr->drain_start_ms), why);
	wk_proc_retire(pr, pr->report_stop);
}

void wk_proc_kill(struct proc *pr)
{
	if (pr->kill_sent)
		return;
	pr->kill_sent = true;
	proc_signal(pr, SIGKILL);
}

/* ---- spawning ---- */

/* What the child needs, prepared before fork(): after it only
 * async-signal-safe calls are made.
 */
struct launch {
	char path[PATH_MAX];
	char **envp; /* entries borrowed from environ and the spec */
	char env_port[16];
	char env_id[24];
	gid_t *groups;
	size_t ngroups;
};

static bool env_same_name(const char *a, const char *b)
{
	size_t n = strcspn(a, "=");

	return strncmp(a, b, n) == 0 && (b[n] == '=' || b[n] == '\0');
}

/* The agent's environment less what the spec or we set, then the spec's
 * entries, then PORT and WORKER_ID.
 */
static int launch_env(struct launch *l, const struct spec *sp, unsigned int id, __u16 port)
{
	char **env = sp->s.env;
	size_t n = 0, m = 0, j = 0;

	while (environ && environ[n])
		n++;
	while (env && env[m])
		m++;
	l->envp = calloc(n + m + 3, sizeof(*l->envp));
	if (!l->envp)
		return -ENOMEM;
	snprintf(l->env_port, sizeof(l->env_port), "PORT=%u", port);
	snprintf(l->env_id, sizeof(l->env_id), "WORKER_ID=%u", id);
	for (size_t i = 0; i < n; i++) {
		bool shadowed =
			env_same_name(environ[i], "PORT") || env_same_name(environ[i], "WORKER_ID");

		for (size_t k = 0; k < m && !shadowed; k++)
			shadowed = env_same_name(environ[i], env[k]);
		if (!shadowed)
			l->envp[j++] = environ[i];
	}
	for (size_t k = 0; k < m; k++) {
		if (!env_same_name(env[k], "PORT") && !env_same_name(env[k], "WORKER_ID"))
			l->envp[j++] = env[k];
	}
	l->envp[j++] = l->env_port;
	l->envp[j++] = l->env_id;
	l->envp[j] = NULL;
	return 0;
}

/* PATH as the worker will see it. */
static const char *spec_path_env(const struct spec *sp)
{
	const char *path = getenv("PATH");

	for (size_t i = 0; sp->s.env && sp->s.env[i]; i++)
		if (strncmp(sp->s.env[i], "PATH=", 5) == 0)
			path = sp->s.env[i] + 5;
	return path ? path : PATH_DEFAULT;
}

/* argv[0] found in PATH, as execvp would (which is not async-signal-safe:
 * it runs before the fork). A name with a slash is used as it is, relative
 * to the worker's cwd.
 */
static int resolve_path(const char *file, const char *path, char *out, size_t len)
{
	if (strchr(file, '/')) {
		if ((size_t)snprintf(out, len, "%s", file) >= len)
			return -ENAMETOOLONG;
		return 0;
	}
	while (*path) {
		size_t dl = strcspn(path, ":");
		int n = snprintf(out, len, "%.*s/%s", (int)(dl ? dl : 1), dl ? path : ".", file);

		if (n > 0 && (size_t)n < len && access(out, X_OK) == 0)
			return 0;
		path += dl;
		if (*path == ':')
			path++;
	}
	return -ENOENT;
}

/* 0 when sp's program is found, else -errno: ENOENT when argv[0] is not
 * in PATH. A relative path waits for the worker's cwd: not checked.
 */
int wk_program_check(const struct spec *sp)
{
	const char *file = sp->s.argv[0];
	char path[PATH_MAX];
	int err = 0;

	if (!strchr(file, '/') || file[0] == '/' || !sp->s.cwd) {
		err = resolve_path(file, spec_path_env(sp), path, sizeof(path));
		if (!err && access(path, X_OK) < 0)
			err = -errno;
	}
	return err;
}

/* The supplementary groups of uid's user (initgroups reads NSS: not after
 * fork()); just gid when the uid has no passwd entry.
 */
static int launch_groups(struct launch *l, uid_t uid, gid_t gid)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	int n = 32;

	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) != 0 || !res) {
		l->groups = malloc(sizeof(*l->groups));
		if (!l->groups)
			return -ENOMEM;
		l->groups[0] = gid;
		l->ngroups = 1;
		return 0;
	}
	for (int tries = 0; tries < 4; tries++) {
		int want = n;

		free(l->groups);
		l->groups = calloc((size_t)n, sizeof(*l->groups));
		if (!l->groups)
			return -ENOMEM;
		if (getgrouplist(res->pw_name, gid, l->groups, &n) >= 0) {
			l->ngroups = (size_t)n;
			return 0;
		}
		if (n <= want)
			n = want * 2;
	}
	return -E2BIG;
}

static void launch_free(struct launch *l)
{
	free(l->envp);
	free(l->groups);
}

/* Every signal back to its default action and none blocked, in a child
 * after fork(): the agent may ignore SIGPIPE or block signals for
 * signalfd, and ignored signals stay ignored across exec, as the mask
 * stays. Async-signal-safe.
 */
void wk_signals_default(void)
{
	struct sigaction sa;
	sigset_t none;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* In the child: async-signal-safe calls only. Reports errno on err_w (close
 * on exec: nothing arrives when the exec works). out[] and errs[]: the
 * stdout and stderr pipes.
 */
static void __attribute__((noreturn))
child_exec(const struct launch *l, const struct worker_spec *s, int devnull, const int *out,
	   const int *errs, int err_w)
{
	int err;

	if (setsid() < 0)
		goto fail;
	if (dup2(devnull, STDIN_FILENO) < 0 || dup2(out[1], STDOUT_FILENO) < 0 ||
	    dup2(errs[1], STDERR_FILENO) < 0)
		goto fail;
	/* The worker holds a read end of each of its own output pipes
	 * (without CLOEXEC, on descriptors above stderr): if the agent is
	 * killed, its writes still have a reader and fill the pipe, which the
	 * next agent drains when it adopts the worker, rather than failing
	 * with EPIPE or SIGPIPE (which kill a node worker).
	 */
	if (fcntl(out[0], F_DUPFD, STDERR_FILENO + 1) < 0 ||
	    fcntl(errs[0], F_DUPFD, STDERR_FILENO + 1) < 0)
		goto fail;
	if (s->has_user &&
	    (setgroups(l->ngroups, l->groups) < 0 || setgid(s->gid) < 0 || setuid(s->uid) < 0))
		goto fail;
	if (s->cwd && chdir(s->cwd) < 0)
		goto fail;
	wk_signals_default();
	execve(l->path, s->argv, l->envp);
fail:
	err = errno;
	if (write(err_w, &err, sizeof(err)) < 0)
		err = 0;
	_exit(127);
}

/* fork() and exec() of the worker. Returns once the exec has happened (or
 * failed: -errno from the child).
 */
static int proc_spawn(struct proc *pr)
{
	const struct worker_spec *s = &pr->spec->s;
	struct launch l = { 0 };
	int out[2] = { -1, -1 }, errs[2] = { -1, -1 }, execp[2] = { -1, -1 }, devnull = -1;
	sigset_t all, old;
	int err, childerr = 0;
	ssize_t n;
	pid_t pid;

	err = resolve_path(s->argv[0], spec_path_env(pr->spec), l.path, sizeof(l.path));
	if (!err)
		err = launch_env(&l, pr->spec, pr->id, pr->port);
	if (!err && s->has_user)
		err = launch_groups(&l, s->uid, s->gid);
	if (err)
		goto cleanup;
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(errs, O_CLOEXEC) < 0 ||
	    pipe2(execp, O_CLOEXEC) < 0) {
		err = -errno;
		goto cleanup;
	}
	/* Room for a while of output with no agent to read it; the default
	 * 64 KiB where this fails.
	 */
	fcntl(out[0], F_SETPIPE_SZ, OUTPUT_PIPE_SIZE);
	fcntl(errs[0], F_SETPIPE_SZ, OUTPUT_PIPE_SIZE);
	devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (devnull < 0) {
		err = -errno;
		goto cleanup;
	}
	/* No agent signal handler may run in the child before it resets
	 * them.
	 */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	pid = fork();
	if (pid == 0)
		child_exec(&l, s, devnull, out, errs, execp[1]);
	err = pid < 0 ? -errno : 0;
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (err)
		goto cleanup;
	close(execp[1]);
	execp[1] = -1;
	do {
		n = read(execp[0], &childerr, sizeof(childerr));
	} while (n < 0 && errno == EINTR);
	if (n == (ssize_t)sizeof(childerr)) {
		/* It exits at once; our own pid only. */
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		err = -childerr;
		goto cleanup;
	}
	pr->pid = pid;
	pr->child = true;
	/* Not reaped before we wait for it: the pid cannot be reused. */
	pr->pidfd = pidfd_open(pid, 0);
	if (pr->pidfd < 0) {
		err = -errno;
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		pr->child = false;
		goto cleanup;
	}
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	fcntl(errs[0], F_SETFL, O_NONBLOCK);
	pr->out[WK_OUT].fd = out[0];
	pr->out[WK_ERR].fd = errs[0];
	out[0] = errs[0] = -1;
cleanup:
	for (int i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (errs[i] >= 0)
			close(errs[i]);
		if (execp[i] >= 0)
			close(execp[i]);
	}
	if (devnull >= 0)
		close(devnull);
	launch_free(&l);
	return err;
}

static void proc_set_start_time(struct proc *pr)
{
	struct pstat st;

	if (wk_pstat_read(pr->pid, &st) == 0)
		pr->start_time = st.start_time;
}

int wk_proc_start(struct worker_pool *p, struct spec *sp, unsigned int id, __u16 port,
		  struct proc **out)
{
	struct proc *pr = wk_proc_alloc(p, sp, id, port);
	int err;

	*out = NULL;
	if (!pr)
		return -ENOMEM;
	err = proc_spawn(pr);
	if (err) {
		wk_proc_free(pr);
		return err;
	}
	pr->started = time(NULL);
	pr->started_ms = now_ms();
	proc_set_start_time(pr);
	err = wk_proc_arm(pr);
	if (err) {
		wk_proc_kill(pr);
		while (waitid(P_PIDFD, (id_t)pr->pidfd, &(siginfo_t){ 0 }, WEXITED) < 0 &&
		       errno == EINTR)
			;
		pr->child = false;
		wk_proc_free(pr);
		return err;
	}
	log_info("%s/%u: started, pid %d, port %u", sp->name, id, (int)pr->pid, port);
	*out = pr;
	return 0;
}

/* ---- readiness ---- */

/* fd is pr's socket: one of the worker's protocol on its port, listening
 * (TCP), or bound and not connected (UDP) on its port or, when the bind
 * hook moves UDP workers' binds, on the VIP's port (spec udp_moved).
 */
static bool socket_matches(int fd, struct proc *pr)
{
	const struct worker_spec *s = &pr->spec->s;
	__u8 proto = s->proto;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(int);
	int domain = 0, protocol = 0, listening = 0;
	__u16 bound;

	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0 ||
	    (domain != AF_INET && domain != AF_INET6))
		return false;
	len = sizeof(int);
	if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &protocol, &len) < 0 || protocol != proto)
		return false;
	if (proto == IPPROTO_TCP) {
		len = sizeof(int);
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0 || !listening)
			return false;
	} else {
		len = sizeof(ss);
		if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0 || errno != ENOTCONN)
			return false;
	}
	memset(&ss, 0, sizeof(ss));
	len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return false;
	if (ss.ss_family == AF_INET)
		bound = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	else
		bound = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	if (proto != IPPROTO_UDP || !s->udp_moved || s->conn_port == pr->port)
		return bound == pr->port;
	/* Still on its own port: the hook moves only binds of the VIP's
	 * family, and replies from this one would leave from the wrong port.
	 */
	if (bound == pr->port)
		pr->udp_unmoved = true;
	return bound == s->conn_port;
}

/* A duplicate of pid's socket for pr, or -1. */
static int socket_in_process(struct proc *pr, pid_t pid, int pidfd)
{
	char path[64];
	struct dirent *de;
	int found = -1;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return -1;
	while (found < 0 && (de = readdir(d))) {
		long tfd;
		char *end;
		int fd;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		if (!wk_fd_inode(dirfd(d), de->d_name, "socket"))
			continue;
		tfd = strtol(de->d_name, &end, 10);
		if (*end || tfd < 0 || tfd > INT_MAX)
			continue;
		fd = pidfd_getfd(pidfd, (int)tfd, 0);
		if (fd < 0) {
			if ((errno == EPERM || errno == EACCES) && !pr->getfd_warned) {
				log_warn("%s/%u: pidfd_getfd of pid %d", pr->spec->name, pr->id,
					 (int)pid);
				pr->getfd_warned = true;
			}
			continue;
		}
		if (socket_matches(fd, pr))
			found = fd;
		else
			close(fd);
	}
	closedir(d);
	return found;
}

/* pid has children (or the kernel does not say: CONFIG_PROC_CHILDREN). */
static bool has_children(pid_t pid)
{
	char path[64], c;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT;
	n = read(fd, &c, 1);
	close(fd);
	return n != 0;
}

/* The next process of session sid, its leader left out, in d (an open
 * /proc); 0 at the end.
 */
static pid_t session_next(DIR *d, pid_t sid)
{
	struct dirent *de;

	while ((de = readdir(d))) {
		pid_t pid = wk_proc_dirent_pid(de);
		struct pstat st = { 0 };

		if (pid && pid != sid && wk_pstat_read(pid, &st) == 0 && st.sid == sid)
			return pid;
	}
	return 0;
}

/* The worker's socket: its own descriptors first, then those of the other
 * processes of its session (a wrapper shell's child, node's cluster
 * workers), children reparented to init included. Walking /proc costs:
 * only while the worker has children, or on every tenth poll for the
 * orphans of one that has none left.
 */
int wk_proc_find_socket(struct proc *pr)
{
	pid_t pid;
	int fd;
	DIR *d;

	fd = socket_in_process(pr, pr->pid, pr->pidfd);
	if (fd >= 0)
		return fd;
	if (pr->polls++ % 10 && !has_children(pr->pid))
		return -1;
	d = opendir("/proc");
	if (!d)
		return -1;
	while (fd < 0 && (pid = session_next(d, pr->pid))) {
		int pidfd;

		pidfd = pidfd_open(pid, 0);
		if (pidfd < 0)
			continue;
		fd = socket_in_process(pr, pid, pidfd);
		close(pidfd);
	}
	closedir(d);
	return fd;
}

/* ---- connections, for a drain ---- */

/* Inodes of sockets, sorted once complete. */
struct inodes {
	unsigned long *v;
	size_t n, cap;
};

static int inodes_add(struct inodes *s, unsigned long ino)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		unsigned long *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = ino;
	return 0;
}

/* Adds the inodes of the sockets pid holds. */
static int inodes_of(pid_t pid, struct inodes *s)
{
	char path[64];
	struct dirent *de;
	int err = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return -errno;
	while (!err && (de = readdir(d))) {
		unsigned long long ino = wk_fd_inode(dirfd(d), de->d_name, "socket");

		if (ino)
			err = inodes_add(s, (unsigned long)ino);
	}
	closedir(d);
	return err;
}

/* The sockets of pr's worker: its own, and while it has children those of
 * the rest of its session (a wrapper shell's child, node's cluster
 * workers), as wk_proc_find_socket() looks for its listener.
 */
static int proc_inodes(const struct proc *pr, struct inodes *s)
{
	int err = inodes_of(pr->pid, s);
	pid_t pid;
	DIR *d;

	if (!err && has_children(pr->pid)) {
		d = opendir("/proc");
		if (!d)
			return -errno;
		/* One that exits meanwhile holds nothing. */
		while (!err && (pid = session_next(d, pr->pid)))
			if (inodes_of(pid, s) == -ENOMEM)
				err = -ENOMEM;
		closedir(d);
	}
	if (!err && s->n)
		sockdiag_sort(s->v, s->n);
	return err;
}

/* The connections pr's worker still serves, on its own port or the one
 * its clients connect to (sockdiag.h says which count); -EAGAIN when its
 * sockets cannot be listed (it is exiting), another -errno when they
 * cannot be counted.
 */
int wk_proc_conns(const struct proc *pr)
{
	const struct worker_spec *sp = &pr->spec->s;
	struct sockdiag_filter f = { .proto = sp->proto, .ports = { pr->port, sp->conn_port } };
	struct inodes s = { 0 };
	int n;

	if (proc_inodes(pr, &s) < 0) {
		free(s.v);
		return -EAGAIN;
	}
	f.inodes = s.v;
	f.ninodes = s.n;
	n = sockdiag_count(&f);
	free(s.v);
	return n;
}
