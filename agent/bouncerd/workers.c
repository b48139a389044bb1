// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Local workers: the pool and its policy (restart policy, rolling
 * replacement, stop), driven by the caller's libevent loop. Its processes
 * are spawned, signalled, read and searched for sockets in workers_proc.c,
 * adopted and abandoned in workers_adopt.c; workers_spec.c holds the
 * specs. A slot is a worker id; a proc is one process of it. A
 * slot has at most a current proc and a replacement starting next to it;
 * procs being stopped leave their slot and live on the pool's list until
 * they are reaped.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/log.h"
#include "common/util.h"
#include "workers.h"
#include "workers_int.h"

/* What a replacement that became ready (or failed to) was started for. */
enum outcome {
	OUTCOME_NONE = 0,
	OUTCOME_RELOAD,
	OUTCOME_RESTART,
};

/* What is done about a worker that exited. */
struct verdict {
	enum worker_state state; /* WORKER_STARTING: at once */
	unsigned int delay_ms;
	char why[96];
};

static void proc_exit_cb(evutil_socket_t fd, short what, void *arg);
static void proc_poll_cb(evutil_socket_t fd, short what, void *arg);
static void proc_kill_cb(evutil_socket_t fd, short what, void *arg);
static void proc_drain_cb(evutil_socket_t fd, short what, void *arg);
static void proc_out_cb(evutil_socket_t fd, short what, void *arg);
static int slot_launch(struct worker_pool *p, struct slot *s);
static void reload_step(struct worker_pool *p);

/* ---- pool entry, exit and events ---- */

static void pool_free(struct worker_pool *p);

static void pool_enter(struct worker_pool *p)
{
	p->depth++;
}

static bool pool_closing(const struct worker_pool *p)
{
	return p->stopping || p->abandoned;
}

/* The last one out frees a pool that was abandoned, or stopped with every
 * process gone: nothing can touch p after pool_leave().
 */
static void pool_leave(struct worker_pool *p)
{
	if (--p->depth)
		return;
	if (p->abandoned || (p->stopping && !p->procs && !p->done_pending))
		pool_free(p);
}

static void notify(struct worker_pool *p, unsigned int id, enum worker_state state, int fd)
{
	if (p->quiet || !p->fn) {
		if (fd >= 0)
			close(fd);
		return;
	}
	p->in_fn++;
	p->fn(p, id, state, fd, p->arg);
	p->in_fn--;
}

static void slot_set(struct worker_pool *p, struct slot *s, enum worker_state state, int fd)
{
	s->state = state;
	notify(p, s->id, state, fd);
}

/* ---- processes ---- */

int wk_proc_arm(struct proc *pr)
{
	struct event_base *base = pr->pool->base;
	struct timeval tv = wk_ms_to_tv(READY_POLL_MS);

	pr->exit_ev = event_new(base, pr->pidfd, EV_READ, proc_exit_cb, pr);
	pr->poll_ev = event_new(base, -1, EV_PERSIST, proc_poll_cb, pr);
	pr->kill_ev = evtimer_new(base, proc_kill_cb, pr);
	pr->drain_ev = event_new(base, -1, EV_PERSIST, proc_drain_cb, pr);
	if (!pr->exit_ev || !pr->poll_ev || !pr->kill_ev || !pr->drain_ev)
		return -ENOMEM;
	for (int i = 0; i < WK_NSTREAMS; i++) {
		struct outstream *o = &pr->out[i];

		if (o->fd < 0)
			continue;
		o->ev = event_new(base, o->fd, EV_READ | EV_PERSIST, proc_out_cb, o);
		if (!o->ev || event_add(o->ev, NULL) < 0)
			return -ENOMEM;
	}
	if (event_add(pr->exit_ev, NULL) < 0 || evtimer_add(pr->poll_ev, &tv) < 0)
		return -ENOMEM;
	pr->ready_deadline_ms = now_ms() + pr->spec->s.ready_timeout_ms;
	return 0;
}

/* A process of worker id that has left its slot and still holds port
 * (draining, or stopping), or NULL.
 */
static struct proc *port_holder(const struct worker_pool *p, unsigned int id, __u16 port)
{
	for (struct proc *pr = p->procs; pr; pr = pr->link)
		if (pr->role == ROLE_RETIRED && pr->id == id && pr->port == port)
			return pr;
	return NULL;
}

/* ---- drain ---- */

/* Every DRAIN_POLL_MS while pr drains: SIGTERM once it serves nothing. A
 * count that cannot be made (no sock_diag in the kernel) leaves the drain
 * to its full time.
 */
static void proc_drain_cb(evutil_socket_t fd, short what, void *arg)
{
	struct proc *pr = arg;
	struct worker_pool *p = pr->pool;
	const char *name = pr->spec->name;
	int n;

	(void)fd;
	(void)what;
	pool_enter(p);
	if (!pr->draining)
		goto out;
	n = wk_proc_conns(pr);
	if (n >= 0)
		pr->conns = n;
	if (n == 0) {
		log_info("%s/%u: pid %d: connections ended after %lld ms, SIGTERM", name, pr->id,
			 (int)pr->pid, (long long)(now_ms() - pr->drain_start_ms));
		wk_proc_retire(pr, pr->report_stop);
	} else if (n < 0 && n != -EAGAIN && n != -EINTR) {
		log_warnx("%s/%u: pid %d: cannot count its connections (%s): it drains for all "
			  "of its %u ms",
			  name, pr->id, (int)pr->pid, strerror(-n), p->spec->s.drain_ms);
		evtimer_del(pr->drain_ev);
	}
out:
	pool_leave(p);
}

/* ---- replacement outcomes ---- */

static void reload_finish(struct worker_pool *p, int err)
{
	p->reloading = false;
	p->reload_proc = NULL;
	p->reload_wait = NULL;
	wk_spec_put(p->reload_spec);
	p->reload_spec = NULL;
	p->done_result = err;
	if (p->done) {
		p->done_pending = true;
		event_active(p->done_ev, EV_TIMEOUT, 0);
	}
}

static enum outcome outcome_take(struct proc *pr)
{
	struct worker_pool *p = pr->pool;

	if (p->reloading && p->reload_proc == pr) {
		p->reload_proc = NULL;
		return OUTCOME_RELOAD;
	}
	if (pr->awaited) {
		pr->awaited = false;
		return OUTCOME_RESTART;
	}
	return OUTCOME_NONE;
}

static void outcome_apply(struct worker_pool *p, const char *name, unsigned int id, enum outcome o,
			  int err)
{
	if (o == OUTCOME_RELOAD) {
		if (!err) {
			reload_step(p);
			return;
		}
		log_warnx("%s: reload stopped at worker %u: %s; the workers not replaced serve on",
			  name, id, strerror(-err));
		reload_finish(p, err);
	} else if (o == OUTCOME_RESTART) {
		if (err)
			log_warnx("%s/%u: restart failed: %s", name, id, strerror(-err));
		else
			log_info("%s/%u: restarted", name, id);
	}
}

/* ---- the restart policy ---- */

static bool exit_is_permanent(const struct worker_spec *s, int status)
{
	for (size_t i = 0; i < s->npermanent; i++)
		if (s->permanent_exit[i] == status)
			return true;
	return false;
}

static void slot_history_reset(struct slot *s)
{
	s->ncrashes = 0;
	s->backoff_ms = 0;
}

/* What to do about s's worker, which ran ran_ms after it became ready (0:
 * never ready) and exited (with status when exited is set).
 */
static void slot_decide(struct slot *s, int64_t ran_ms, bool exited, int status, struct verdict *v)
{
	const struct worker_spec *sp = &s->spec->s;
	int64_t now = now_ms();
	unsigned int keep = 0;

	v->delay_ms = 0;
	v->why[0] = '\0';
	if (exited && exit_is_permanent(sp, status)) {
		v->state = WORKER_FAILED;
		snprintf(v->why, sizeof(v->why), "exit status %d is permanent", status);
		return;
	}
	for (unsigned int i = 0; i < s->ncrashes; i++)
		if (now - s->crashes[i] < (int64_t)sp->crash_window_ms)
			s->crashes[keep++] = s->crashes[i];
	s->ncrashes = keep;
	if (s->ncrashes >= sp->crash_limit) {
		v->state = WORKER_FAILED;
		snprintf(v->why, sizeof(v->why), "%u restarts within %u ms", s->ncrashes,
			 sp->crash_window_ms);
		return;
	}
	if (s->crash_cap < sp->crash_limit) {
		int64_t *c = realloc(s->crashes, sp->crash_limit * sizeof(*c));

		if (c) {
			s->crashes = c;
			s->crash_cap = sp->crash_limit;
		}
	}
	if (s->ncrashes == s->crash_cap) {
		/* No memory to grow: forget the oldest. */
		memmove(s->crashes, s->crashes + 1, (s->crash_cap - 1) * sizeof(*s->crashes));
		s->ncrashes--;
	}
	s->crashes[s->ncrashes++] = now;
	s->restarts++;
	if (ran_ms >= (int64_t)sp->backoff_reset_ms)
		s->backoff_ms = 0;
	if (ran_ms >= (int64_t)sp->min_uptime_ms) {
		v->state = WORKER_STARTING;
		return;
	}
	v->state = WORKER_BACKOFF;
	v->delay_ms = s->backoff_ms ? s->backoff_ms : sp->backoff_initial_ms;
	s->backoff_ms =
		v->delay_ms >= sp->backoff_max_ms / 2 ? sp->backoff_max_ms : v->delay_ms * 2;
}

/* Carries out v, already reported; how says what happened to the worker.
 * True when the worker is to start at once, which the caller does.
 */
static bool slot_act(struct slot *s, const struct verdict *v, const char *how)
{
	const char *name = s->spec->name;

	switch (v->state) {
	case WORKER_FAILED:
		log_warnx("%s/%u: %s; %s: failed, not restarted", name, s->id, how, v->why);
		break;
	case WORKER_BACKOFF: {
		struct timeval tv = wk_ms_to_tv(v->delay_ms);

		log_warnx("%s/%u: %s; restart in %u ms", name, s->id, how, v->delay_ms);
		evtimer_add(s->backoff_ev, &tv);
		break;
	}
	case WORKER_STARTING:
		log_warnx("%s/%u: %s; restarting", name, s->id, how);
		return true;
	default:
		break;
	}
	return false;
}

/* Starts s's process. A spawn failure is treated as an exit at once. */
static int slot_launch(struct worker_pool *p, struct slot *s)
{
	struct proc *pr;
	struct verdict v;
	char how[160];
	int err;

	err = wk_proc_start(p, s->spec, s->id, s->port, &pr);
	if (!err) {
		pr->slot = s;
		pr->role = ROLE_CUR;
		s->cur = pr;
		slot_set(p, s, WORKER_STARTING, -1);
		return 0;
	}
	snprintf(how, sizeof(how), "cannot start %s: %s", s->spec->s.argv[0], strerror(-err));
	/* Never started, so never ready for min_uptime_ms: no verdict to
	 * start again at once, no loop.
	 */
	slot_decide(s, 0, false, 0, &v);
	slot_set(p, s, v.state, -1);
	if (!pool_closing(p) && slot_act(s, &v, how))
		log_warnx("%s/%u: cannot restart at once", s->spec->name, s->id);
	return err;
}

static void backoff_cb(evutil_socket_t fd, short what, void *arg)
{
	struct slot *s = arg;
	struct worker_pool *p = s->pool;

	(void)fd;
	(void)what;
	pool_enter(p);
	if (!s->cur && !pool_closing(p))
		slot_launch(p, s);
	pool_leave(p);
}

/* ---- process events ---- */

static void describe_exit(char *buf, size_t len, const struct proc *pr, const siginfo_t *si,
			  bool known)
{
	int64_t ran = now_ms() - pr->started_ms;

	if (pr->timed_out)
		snprintf(buf, len, "not listening on port %u within %u ms, killed", pr->port,
			 pr->spec->s.ready_timeout_ms);
	else if (!known)
		snprintf(buf, len, "exited after %lld ms", (long long)ran);
	else if (si->si_code == CLD_EXITED)
		snprintf(buf, len, "exited with status %d after %lld ms", si->si_status,
			 (long long)ran);
	else
		snprintf(buf, len, "killed by signal %d after %lld ms", si->si_status,
			 (long long)ran);
}

/* The slot's process exited: out of traffic first, then the policy. */
static void cur_exited(struct worker_pool *p, struct proc *pr, const siginfo_t *si, bool known)
{
	struct slot *s = pr->slot;
	enum outcome o = outcome_take(pr);
	bool exited = known && si->si_code == CLD_EXITED;
	int err = pr->timed_out ? -ETIMEDOUT : -ECHILD;
	unsigned int id = s->id;
	struct verdict v;
	char how[160];

	describe_exit(how, sizeof(how), pr, si, known);
	s->cur = NULL;
	pr->slot = NULL;
	if (s->next) {
		/* Being replaced: the replacement takes over now. */
		struct proc *nx = s->next;

		s->next = NULL;
		s->cur = nx;
		nx->role = ROLE_CUR;
		s->port = nx->port;
		wk_spec_set(&s->spec, nx->spec);
		slot_history_reset(s);
		slot_set(p, s, WORKER_STARTING, -1);
		wk_proc_finish(pr);
		if (!pool_closing(p))
			log_warnx("%s/%u: %s; its replacement takes over", s->spec->name, id, how);
		return;
	}
	slot_decide(s, pr->ready ? now_ms() - pr->started_ms : 0, exited,
		    exited ? si->si_status : 0, &v);
	/* The other port, unless the worker it replaced still drains there. */
	s->port = wk_port_other(s->spec, id, pr->port);
	if (port_holder(p, id, s->port))
		s->port = pr->port;
	slot_set(p, s, v.state, -1);
	wk_proc_finish(pr);
	if (pool_closing(p))
		return;
	if (slot_act(s, &v, how))
		slot_launch(p, s);
	outcome_apply(p, s->spec->name, id, o, err);
}

static void proc_exited(struct proc *pr, const siginfo_t *si, bool known)
{
	struct worker_pool *p = pr->pool;
	unsigned int id = pr->id;
	enum outcome o;
	char how[160];

	if (pr->exit_ev)
		event_del(pr->exit_ev);
	switch (pr->role) {
	case ROLE_CUR:
		cur_exited(p, pr, si, known);
		break;
	case ROLE_NEXT: {
		struct spec *sp = wk_spec_get(pr->spec); /* for its name, after pr */
		int err = pr->timed_out ? -ETIMEDOUT : -ECHILD;

		o = outcome_take(pr);
		describe_exit(how, sizeof(how), pr, si, known);
		log_warnx("%s/%u: replacement %s before it was ready", sp->name, id, how);
		wk_proc_finish(pr);
		outcome_apply(p, sp->name, id, o, err);
		wk_spec_put(sp);
		break;
	}
	case ROLE_RETIRED: {
		bool report = pr->report_stop, resume = p->reload_wait == pr;

		describe_exit(how, sizeof(how), pr, si, known);
		log_info("%s/%u: pid %d stopped: %s", pr->spec->name, id, (int)pr->pid, how);
		wk_proc_finish(pr);
		if (report)
			notify(p, id, WORKER_STOPPED, -1);
		/* Its port is free for the replacement that waited. */
		if (resume && p->reloading && !pool_closing(p))
			reload_step(p);
		break;
	}
	}
}

/* The pidfd is readable: the process has exited. A child's status is read
 * without reaping it (WNOWAIT): reaping comes after the event callback.
 */
static void proc_exit_handle(struct proc *pr)
{
	siginfo_t si;
	bool known = false;

	memset(&si, 0, sizeof(si));
	if (pr->child) {
		int r;

		do {
			r = waitid(P_PIDFD, (id_t)pr->pidfd, &si, WEXITED | WNOHANG | WNOWAIT);
		} while (r < 0 && errno == EINTR);
		if (r == 0 && si.si_pid == 0) {
			/* Not exited after all: wait again. */
			if (pr->exit_ev)
				event_add(pr->exit_ev, NULL);
			return;
		}
		if (r == 0)
			known = true;
		else
			pr->child = false;
	}
	proc_exited(pr, &si, known);
}

static void proc_exit_cb(evutil_socket_t fd, short what, void *arg)
{
	struct proc *pr = arg;
	struct worker_pool *p = pr->pool;

	(void)fd;
	(void)what;
	pool_enter(p);
	proc_exit_handle(pr);
	pool_leave(p);
}

static void proc_ready(struct worker_pool *p, struct proc *pr, int sock)
{
	struct slot *s = pr->slot;
	struct proc *old = NULL;
	enum outcome o;
	unsigned int id = pr->id;

	pr->ready = true;
	evtimer_del(pr->poll_ev);
	if (!s) {
		close(sock);
		return;
	}
	log_info("%s/%u: ready on port %u", pr->spec->name, id, pr->port);
	o = outcome_take(pr);
	if (pr->role == ROLE_NEXT) {
		old = s->cur;
		s->next = NULL;
		s->cur = pr;
		pr->role = ROLE_CUR;
		s->port = pr->port;
		wk_spec_set(&s->spec, pr->spec);
		slot_history_reset(s);
	}
	/* The new socket is in place before the old worker is told to go. */
	slot_set(p, s, WORKER_READY, sock);
	if (pool_closing(p))
		return;
	if (old)
		wk_proc_retire_drained(p, old);
	outcome_apply(p, s->spec->name, id, o, 0);
}

static void proc_ready_timeout(struct worker_pool *p, struct proc *pr)
{
	const char *name = pr->spec->name;
	unsigned int id = pr->id;
	enum outcome o;

	pr->timed_out = true;
	evtimer_del(pr->poll_ev);
	if (pr->udp_unmoved)
		log_warnx("%s/%u: its UDP socket on port %u was not bound to the VIP's port %u: "
			  "a UDP worker must bind $PORT with a socket of the VIP's family",
			  name, id, pr->port, pr->spec->s.conn_port);
	if (pr->role != ROLE_NEXT) {
		/* Its exit runs the restart policy. */
		wk_proc_kill(pr);
		return;
	}
	log_warnx("%s/%u: replacement not listening on port %u within %u ms, killed", name, id,
		  pr->port, pr->spec->s.ready_timeout_ms);
	o = outcome_take(pr);
	wk_proc_retire(pr, false);
	wk_proc_kill(pr);
	outcome_apply(p, name, id, o, -ETIMEDOUT);
}

static void proc_poll_cb(evutil_socket_t fd, short what, void *arg)
{
	struct proc *pr = arg;
	struct worker_pool *p = pr->pool;
	int sock;

	(void)fd;
	(void)what;
	pool_enter(p);
	if (pool_closing(p) || pr->ready || pr->timed_out)
		goto out;
	sock = wk_proc_find_socket(pr);
	if (sock >= 0)
		proc_ready(p, pr, sock);
	else if (now_ms() >= pr->ready_deadline_ms)
		proc_ready_timeout(p, pr);
out:
	pool_leave(p);
}

static void proc_kill_cb(evutil_socket_t fd, short what, void *arg)
{
	struct proc *pr = arg;
	struct worker_pool *p = pr->pool;

	(void)fd;
	(void)what;
	pool_enter(p);
	if (pr->draining) {
		if (pr->conns >= 0)
			log_info("%s/%u: pid %d: drain time is up after %lld ms, %d connection%s "
				 "open, SIGTERM",
				 pr->spec->name, pr->id, (int)pr->pid,
				 (long long)(now_ms() - pr->drain_start_ms), pr->conns,
				 pr->conns == 1 ? "" : "s");
		else
			log_info("%s/%u: pid %d: drain time is up after %lld ms, SIGTERM",
				 pr->spec->name, pr->id, (int)pr->pid,
				 (long long)(now_ms() - pr->drain_start_ms));
		wk_proc_retire(pr, pr->report_stop);
	} else if (!pr->kill_sent) {
		log_warnx("%s/%u: still running %u ms after SIGTERM, SIGKILL", pr->spec->name,
			  pr->id, pr->spec->s.kill_timeout_ms);
		wk_proc_kill(pr);
	}
	pool_leave(p);
}

static void proc_out_cb(evutil_socket_t fd, short what, void *arg)
{
	struct outstream *o = arg;
	struct proc *pr = o->pr;
	struct worker_pool *p = pr->pool;

	(void)fd;
	(void)what;
	pool_enter(p);
	wk_proc_read_output(pr, false);
	pool_leave(p);
}

/* ---- slots ---- */

static struct slot *slot_new(struct worker_pool *p, unsigned int id)
{
	struct slot *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->pool = p;
	s->id = id;
	s->state = WORKER_STARTING;
	s->spec = wk_spec_get(p->spec);
	s->port = wk_port_main(p->spec, id);
	s->crashes = calloc(p->spec->s.crash_limit, sizeof(*s->crashes));
	s->crash_cap = p->spec->s.crash_limit;
	s->backoff_ev = evtimer_new(p->base, backoff_cb, s);
	if (!s->crashes || !s->backoff_ev) {
		free(s->crashes);
		if (s->backoff_ev)
			event_free(s->backoff_ev);
		wk_spec_put(s->spec);
		free(s);
		return NULL;
	}
	return s;
}

static void slot_free(struct slot *s)
{
	if (!s)
		return;
	event_free(s->backoff_ev);
	wk_spec_put(s->spec);
	free(s->crashes);
	free(s);
}

/* The process still holding the port that a replacement of s with sp
 * would take (the one an earlier replacement of s left draining), or NULL.
 */
static struct proc *replace_blocker(const struct worker_pool *p, const struct slot *s,
				    const struct spec *sp)
{
	if (!s->cur)
		return NULL;
	return port_holder(p, s->id, wk_port_other(sp, s->id, s->cur->port));
}

/* Starts a replacement of s with sp next to its process, or, with no
 * process, starts sp afresh. *pr: the process to wait for; NULL when
 * the start failed (the slot backs off).
 */
static int slot_replace(struct worker_pool *p, struct slot *s, struct spec *sp, struct proc **out)
{
	struct proc *pr;
	int err;

	*out = NULL;
	if (s->cur) {
		err = wk_proc_start(p, sp, s->id, wk_port_other(sp, s->id, s->cur->port), &pr);
		if (err) {
			log_warnx("%s/%u: cannot start a replacement: %s", sp->name, s->id,
				  strerror(-err));
			return err;
		}
		pr->slot = s;
		pr->role = ROLE_NEXT;
		s->next = pr;
		*out = pr;
		return 0;
	}
	/* Nothing running: no old worker to keep serving. */
	evtimer_del(s->backoff_ev);
	wk_spec_set(&s->spec, sp);
	slot_history_reset(s);
	s->port = wk_port_keep(sp, s->id, s->port);
	if (port_holder(p, s->id, s->port))
		s->port = wk_port_other(sp, s->id, s->port);
	err = slot_launch(p, s);
	if (!err && s->cur)
		*out = s->cur;
	return err;
}

/* Takes s out: its processes are stopped and reported, and s is freed. */
static void slot_remove(struct worker_pool *p, struct slot *s)
{
	struct proc *cur = s->cur, *next = s->next;

	evtimer_del(s->backoff_ev);
	slot_set(p, s, WORKER_STOPPING, -1);
	if (pool_closing(p))
		return;
	if (next)
		wk_proc_retire(next, false);
	if (cur)
		wk_proc_retire(cur, true);
	else
		notify(p, s->id, WORKER_STOPPED, -1);
	slot_free(s);
}

static int pool_scale(struct worker_pool *p, unsigned int count)
{
	struct slot **slots;

	if (count > WORKERS_MAX)
		return -EINVAL;
	if (count < p->count) {
		while (p->count > count && !pool_closing(p)) {
			struct slot *s = p->slots[p->count - 1];

			slot_remove(p, s);
			if (pool_closing(p))
				return -ECANCELED;
			p->slots[--p->count] = NULL;
		}
		return 0;
	}
	if (count == p->count)
		return 0;
	if (!wk_ports_fit(&p->spec->s, count))
		return -ERANGE;
	slots = realloc(p->slots, count * sizeof(struct slot *));
	if (!slots)
		return -ENOMEM;
	p->slots = slots;
	while (p->count < count && !pool_closing(p)) {
		struct slot *s = slot_new(p, p->count);

		if (!s)
			return -ENOMEM;
		/* A process of a removed slot with this id is no longer its
		 * news, and keeps its port until it is gone.
		 */
		for (struct proc *pr = p->procs; pr; pr = pr->link) {
			if (pr->role != ROLE_RETIRED || pr->id != s->id)
				continue;
			pr->report_stop = false;
			if (pr->port == s->port)
				s->port = wk_port_other(p->spec, s->id, s->port);
		}
		p->slots[p->count++] = s;
		slot_launch(p, s);
	}
	return 0;
}

/* ---- reload ---- */

static void done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker_pool *p = arg;

	(void)fd;
	(void)what;
	pool_enter(p);
	if (p->done_pending) {
		p->done_pending = false;
		p->done(p, p->done_result, p->done_arg);
	}
	pool_leave(p);
}

/* Replaces the next worker, or, with all replaced, scales and ends. */
static void reload_step(struct worker_pool *p)
{
	unsigned int n = p->count < p->reload_count ? p->count : p->reload_count;
	int err;

	while (p->reloading && p->reload_next < n) {
		struct slot *s = p->slots[p->reload_next];
		struct proc *pr = replace_blocker(p, s, p->reload_spec);

		if (pr) {
			/* Replaced again while its last old worker drains:
			 * that one goes now, and this step waits for its exit.
			 */
			wk_proc_drain_cut(pr, "its port is needed by a new replacement");
			p->reload_wait = pr;
			return;
		}
		p->reload_next++;
		err = slot_replace(p, s, p->reload_spec, &pr);
		if (pool_closing(p) || !p->reloading)
			return;
		if (err) {
			log_warnx("%s: reload stopped at worker %u: %s", p->spec->name, s->id,
				  strerror(-err));
			reload_finish(p, err);
			return;
		}
		if (pr) {
			p->reload_proc = pr;
			return;
		}
	}
	if (!p->reloading)
		return;
	wk_spec_set(&p->spec, p->reload_spec);
	err = pool_scale(p, p->reload_count);
	if (pool_closing(p))
		return;
	if (!err)
		log_info("%s: reload done, %u workers", p->spec->name, p->count);
	reload_finish(p, err);
}

/* A reload in progress or reported but not delivered: done gets its result
 * now (-ECANCELED for one in progress), since the pool is going away.
 */
static void reload_cancel(struct worker_pool *p)
{
	if (p->reloading) {
		reload_finish(p, -ECANCELED);
	}
	if (p->done_pending) {
		event_del(p->done_ev);
		p->done_pending = false;
		p->done(p, p->done_result, p->done_arg);
	}
}

/* ---- the pool ---- */

static void pool_free(struct worker_pool *p)
{
	struct proc *pr;

	while ((pr = p->procs)) {
		p->procs = pr->link;
		wk_proc_free(pr);
	}
	for (unsigned int i = 0; i < p->count; i++)
		slot_free(p->slots[i]);
	free(p->slots);
	for (unsigned int i = 0; i < p->nlogs; i++)
		wlog_free(&p->logs[i]);
	free(p->logs);
	wk_spec_put(p->spec);
	wk_spec_put(p->reload_spec);
	if (p->done_ev)
		event_free(p->done_ev);
	free(p);
}

struct worker_pool *worker_pool_start(struct event_base *base, const struct worker_spec *spec,
				      worker_event_fn fn, void *arg)
{
	struct worker_pool *p = NULL;
	int err;

	if (!base) {
		err = -EINVAL;
		goto cleanup;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		err = -ENOMEM;
		goto cleanup;
	}
	p->base = base;
	p->fn = fn;
	p->arg = arg;
	p->quiet = true;
	err = wk_spec_new(spec, &p->spec);
	if (err)
		goto cleanup;
	/* A mistyped program fails here rather than as a crash loop. */
	err = wk_program_check(p->spec);
	if (err)
		goto cleanup;
	p->done_ev = event_new(base, -1, 0, done_cb, p);
	p->slots = calloc(p->spec->s.count ? p->spec->s.count : 1, sizeof(struct slot *));
	if (!p->done_ev || !p->slots) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (; p->count < p->spec->s.count; p->count++) {
		p->slots[p->count] = slot_new(p, p->count);
		if (!p->slots[p->count]) {
			err = -ENOMEM;
			goto cleanup;
		}
	}
	wk_pool_adopt(p, spec);
	for (unsigned int i = 0; i < p->count; i++)
		if (p->slots[i] && !p->slots[i]->cur)
			slot_launch(p, p->slots[i]);
	p->quiet = false;
	return p;
cleanup:
	/* Nothing was started or adopted yet. */
	if (p)
		pool_free(p);
	errno = -err;
	return NULL;
}

/* Blocks until every process has exited, reading their output and sending
 * SIGKILL on time: at agent exit there is no loop to run.
 */
static void pool_wait(struct worker_pool *p)
{
	while (p->procs && !p->abandoned) {
		struct pollfd *pfd;
		struct proc **owner;
		size_t n = 0, max = 0;
		int64_t now = now_ms(), timeout = 1000;
		int r;

		for (struct proc *pr = p->procs; pr; pr = pr->link) {
			max += 1 + WK_NSTREAMS;
			if (!pr->kill_sent && pr->kill_at_ms) {
				if (now >= pr->kill_at_ms) {
					log_warnx(
						"%s/%u: still running %u ms after SIGTERM, SIGKILL",
						pr->spec->name, pr->id,
						pr->spec->s.kill_timeout_ms);
					wk_proc_kill(pr);
				} else if (pr->kill_at_ms - now < timeout) {
					timeout = pr->kill_at_ms - now;
				}
			}
		}
		pfd = calloc(max, sizeof(*pfd));
		owner = calloc(max, sizeof(struct proc *));
		if (!pfd || !owner) {
			free(pfd);
			free(owner);
			log_warnx("%s: out of memory waiting for the workers", p->spec->name);
			return;
		}
		for (struct proc *pr = p->procs; pr; pr = pr->link) {
			pfd[n].fd = pr->pidfd;
			pfd[n].events = POLLIN;
			owner[n++] = pr;
			for (int k = 0; k < WK_NSTREAMS; k++) {
				if (pr->out[k].fd < 0)
					continue;
				pfd[n].fd = pr->out[k].fd;
				pfd[n].events = POLLIN;
				owner[n++] = pr;
			}
		}
		r = poll(pfd, n, (int)timeout);
		/* One event at a time: handling it may free other processes. */
		for (size_t i = 0; r > 0 && i < n; i++) {
			if (!pfd[i].revents)
				continue;
			if (pfd[i].fd == owner[i]->pidfd)
				proc_exit_handle(owner[i]);
			else
				wk_proc_read_output(owner[i], false);
			break;
		}
		free(pfd);
		free(owner);
		if (r < 0 && errno != EINTR) {
			log_warn("%s: poll", p->spec->name);
			return;
		}
	}
}

void worker_pool_stop(struct worker_pool *p, bool wait)
{
	if (!p)
		return;
	pool_enter(p);
	if (!p->stopping && !p->abandoned) {
		p->stopping = true;
		reload_cancel(p);
		for (unsigned int i = 0; i < p->count && !p->abandoned; i++) {
			struct slot *s = p->slots[i];

			evtimer_del(s->backoff_ev);
			if (s->state == WORKER_STOPPED)
				continue;
			slot_set(p, s, WORKER_STOPPING, -1);
			if (!s->cur && !s->next && !p->abandoned)
				slot_set(p, s, WORKER_STOPPED, -1);
		}
		for (struct proc *pr = p->procs; pr && !p->abandoned; pr = pr->link)
			if (pr->role != ROLE_RETIRED || pr->draining)
				wk_proc_retire(pr, pr->role == ROLE_CUR);
		log_info("%s: stopping %u worker%s", p->spec->name, p->count,
			 p->count == 1 ? "" : "s");
	}
	if (wait)
		pool_wait(p);
	pool_leave(p);
}

void worker_pool_abandon(struct worker_pool *p)
{
	if (!p)
		return;
	pool_enter(p);
	if (!p->abandoned) {
		reload_cancel(p);
		wk_drainer_start(p);
		p->abandoned = true;
		for (struct proc *pr = p->procs; pr; pr = pr->link) {
			/* Nobody would ever stop these. */
			if (pr->role != ROLE_CUR)
				wk_proc_kill(pr);
			pr->child = false;
		}
		for (unsigned int i = 0; i < p->count; i++)
			evtimer_del(p->slots[i]->backoff_ev);
		log_info("%s: %u worker%s left running", p->spec->name, p->count,
			 p->count == 1 ? "" : "s");
	}
	pool_leave(p);
}

static int pool_busy(const struct worker_pool *p)
{
	if (pool_closing(p))
		return -ESHUTDOWN;
	if (p->in_fn)
		return -EBUSY;
	return 0;
}

int worker_pool_restart(struct worker_pool *p, unsigned int id)
{
	struct slot *s;
	struct proc *pr = NULL;
	int err;

	if (!p)
		return -EINVAL;
	err = pool_busy(p);
	if (err)
		return err;
	if (id >= p->count)
		return -ENOENT;
	s = p->slots[id];
	if (p->reloading || s->next)
		return -EBUSY;
	pr = replace_blocker(p, s, s->spec);
	if (pr) {
		/* Its last old worker still drains on the port needed. */
		wk_proc_drain_cut(pr, "its port is needed by a restart");
		return -EBUSY;
	}
	pool_enter(p);
	err = slot_replace(p, s, s->spec, &pr);
	if (pr && !pool_closing(p))
		pr->awaited = true;
	pool_leave(p);
	return err;
}

int worker_pool_scale(struct worker_pool *p, unsigned int count)
{
	int err;

	if (!p)
		return -EINVAL;
	err = pool_busy(p);
	if (err)
		return err;
	if (p->reloading)
		return -EBUSY;
	pool_enter(p);
	err = pool_scale(p, count);
	pool_leave(p);
	return err;
}

int worker_pool_reload(struct worker_pool *p, const struct worker_spec *new_spec,
		       worker_reload_done_fn done, void *arg)
{
	struct spec *sp;
	int err;

	if (!p)
		return -EINVAL;
	err = pool_busy(p);
	if (err)
		return err;
	if (p->reloading || p->done_pending)
		return -EBUSY;
	for (unsigned int i = 0; i < p->count; i++)
		if (p->slots[i]->next)
			return -EBUSY;
	if (new_spec) {
		err = wk_spec_new(new_spec, &sp);
		if (err)
			return err;
	} else {
		sp = wk_spec_get(p->spec);
	}
	pool_enter(p);
	p->reloading = true;
	p->reload_spec = sp;
	p->reload_count = new_spec ? sp->s.count : p->count;
	p->reload_next = 0;
	p->reload_proc = NULL;
	p->done = done;
	p->done_arg = arg;
	log_info("%s: reload of %u workers", p->spec->name, p->count);
	reload_step(p);
	pool_leave(p);
	return 0;
}

static void slot_info(const struct slot *s, struct worker_info *w)
{
	memset(w, 0, sizeof(*w));
	w->id = s->id;
	w->state = s->state;
	w->port = s->port;
	w->restarts = s->restarts;
	w->replacing = s->next != NULL;
	if (s->cur) {
		w->pid = s->cur->pid;
		w->started = s->cur->started;
		w->start_time = s->cur->start_time;
	}
}

size_t worker_pool_list(const struct worker_pool *p, struct worker_info *out, size_t max)
{
	if (!p)
		return 0;
	for (unsigned int i = 0; i < p->count && i < max; i++)
		slot_info(p->slots[i], &out[i]);
	return p->count;
}

unsigned int worker_pool_stopping(const struct worker_pool *p)
{
	unsigned int n = 0;

	for (const struct proc *pr = p ? p->procs : NULL; pr; pr = pr->link)
		if (pr->role == ROLE_RETIRED)
			n++;
	return n;
}

bool worker_pool_info(const struct worker_pool *p, unsigned int id, struct worker_info *out)
{
	/* Slot i holds worker i. */
	if (!p || id >= p->count)
		return false;
	slot_info(p->slots[id], out);
	return true;
}

/* ---- recent output ---- */

void wk_pool_log_add(struct worker_pool *p, unsigned int id, pid_t pid, enum wlog_stream stream,
		     const char *s, size_t n)
{
	struct timespec ts;

	if (id >= WORKERS_MAX)
		return;
	if (id >= p->nlogs) {
		struct wlog *logs = realloc(p->logs, (id + 1) * sizeof(*logs));

		if (!logs)
			return;
		for (unsigned int i = p->nlogs; i <= id; i++)
			wlog_init(&logs[i], 0, 0);
		p->logs = logs;
		p->nlogs = id + 1;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	/* A line lost to memory pressure is still in the agent's log. */
	wlog_add(&p->logs[id], ++p->log_seq, (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, pid,
		 id, stream, s, n);
}

static int line_seq_cmp(const void *a, const void *b)
{
	const struct wlog_line *x = *(const struct wlog_line *const *)a;
	const struct wlog_line *y = *(const struct wlog_line *const *)b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int worker_pool_logs(const struct worker_pool *p, int id, uint64_t after, size_t max,
		     worker_log_fn fn, void *arg, uint64_t *last)
{
	const struct wlog_line **lines;
	size_t n = 0, total = 0, first;
	unsigned int lo = id < 0 ? 0 : (unsigned int)id;
	unsigned int hi = id < 0 ? p->nlogs : (unsigned int)id + 1;

	*last = p->log_seq;
	if (hi > p->nlogs)
		hi = p->nlogs;
	for (unsigned int i = lo; i < hi; i++)
		total += p->logs[i].n;
	if (!total)
		return 0;
	lines = malloc(total * sizeof(const struct wlog_line *));
	if (!lines)
		return -ENOMEM;
	for (unsigned int i = lo; i < hi; i++) {
		const struct wlog_line *l;

		for (size_t k = 0; (l = wlog_at(&p->logs[i], k)); k++)
			if (l->seq > after)
				lines[n++] = l;
	}
	qsort(lines, n, sizeof(const struct wlog_line *), line_seq_cmp);
	first = max && n > max ? n - max : 0;
	for (size_t i = first; i < n; i++) {
		struct worker_log_line out = { .seq = lines[i]->seq,
					       .time_ms = lines[i]->time_ms,
					       .pid = lines[i]->pid,
					       .id = lines[i]->id,
					       .stream = wlog_stream_name(lines[i]->stream),
					       .text = lines[i]->text };

		fn(&out, arg);
	}
	free(lines);
	return 0;
}

const char *worker_state_name(enum worker_state state)
{
	switch (state) {
	case WORKER_STARTING:
		return "starting";
	case WORKER_READY:
		return "ready";
	case WORKER_STOPPING:
		return "stopping";
	case WORKER_BACKOFF:
		return "backoff";
	case WORKER_FAILED:
		return "failed";
	case WORKER_STOPPED:
		return "stopped";
	}
	return "?";
}
