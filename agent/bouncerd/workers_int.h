/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The inside of the workers module, for its own files only: the pool, its
 * slots and processes, and what one file of the module calls in another.
 * workers.c holds the pool and its policy, workers_spec.c the specs and
 * ports, workers_proc.c the processes at the system level, workers_adopt.c
 * adoption and abandon.
 */
#ifndef BOUNCER_WORKERS_INT_H
#define BOUNCER_WORKERS_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/time.h>
#include <sys/types.h>
#include <time.h>

#include <event2/event.h>

#include "workers.h"
#include "workers_log.h"

#define READY_POLL_MS 50
/* How often a draining worker's connections are counted. */
#define DRAIN_POLL_MS 100
#define OUT_LINE_MAX 4096
#define WORKERS_MAX 4096

/* A refcounted deep copy of a worker_spec: a slot keeps the spec its
 * process runs, which differs from the pool's during and after a reload.
 */
struct spec {
	struct worker_spec s; /* defaults filled in; adopt left out */
	char *name;
	char *cwd;
	int *permanent;
	unsigned int refs;
};

/* Output of a worker: the bytes of the line not yet complete. */
struct linebuf {
	size_t len;
	char buf[OUT_LINE_MAX];
};

/* A process's output streams: stdout and stderr, each its own pipe. A
 * worker adopted from an agent that gave it one pipe for both has that
 * one in out[WK_OUT], as WLOG_MERGED.
 */
#define WK_OUT 0
#define WK_ERR 1
#define WK_NSTREAMS 2

struct proc;

struct outstream {
	struct proc *pr;
	enum wlog_stream stream;
	int fd; /* the pipe's read end; -1 when none */
	struct event *ev;
	struct linebuf lb;
};

enum proc_role {
	ROLE_CUR, /* the slot's process */
	ROLE_NEXT, /* its replacement, not ready yet */
	ROLE_RETIRED, /* being stopped; no slot */
};

struct slot;

struct proc {
	struct worker_pool *pool;
	struct proc *link; /* pool->procs */
	struct slot *slot; /* NULL once retired */
	enum proc_role role;
	unsigned int id; /* kept after retirement, for log lines */
	struct spec *spec;
	pid_t pid;
	int pidfd;
	bool child; /* ours to reap: spawned, or adopted after a re-exec */
	uint64_t start_time;
	time_t started;
	int64_t started_ms;
	__u16 port;
	bool ready;
	bool timed_out; /* killed for not listening in time */
	bool kill_sent;
	bool draining; /* replaced: SIGTERM once its connections end or kill_ev fires */
	bool report_stop; /* report WORKER_STOPPED on exit */
	bool awaited; /* worker_pool_restart() waits for it */
	bool getfd_warned;
	bool udp_unmoved; /* has a UDP socket on its port that the bind hook did not move */
	unsigned int polls;
	int64_t ready_deadline_ms;
	int64_t kill_at_ms; /* SIGKILL then; 0: no SIGTERM sent */
	int64_t drain_start_ms;
	int conns; /* while draining: at the last count; -1 unknown */
	struct event *exit_ev; /* pidfd readable */
	struct event *poll_ev; /* readiness, every READY_POLL_MS */
	struct event *kill_ev; /* the end of the drain, then the kill timeout */
	struct event *drain_ev; /* while draining: a count every DRAIN_POLL_MS */
	struct outstream out[WK_NSTREAMS];
};

struct slot {
	struct worker_pool *pool;
	unsigned int id;
	enum worker_state state;
	struct proc *cur, *next;
	struct spec *spec; /* what a restart runs */
	__u16 port; /* of cur, or for the next start */
	unsigned int restarts;
	unsigned int backoff_ms; /* next backoff; 0: the initial one */
	int64_t *crashes; /* restart times within the window, oldest first */
	unsigned int ncrashes;
	unsigned int crash_cap;
	struct event *backoff_ev;
};

struct worker_pool {
	struct event_base *base;
	struct spec *spec;
	worker_event_fn fn;
	void *arg;
	struct slot **slots;
	unsigned int count;
	struct proc *procs;
	bool quiet; /* no events: inside worker_pool_start() */
	bool stopping;
	bool abandoned;
	unsigned int in_fn; /* inside fn: no restart, scale or reload */
	unsigned int depth; /* entries from the loop or the API in progress */

	bool reloading;
	struct spec *reload_spec;
	unsigned int reload_count;
	unsigned int reload_next; /* next id to replace */
	struct proc *reload_proc; /* the replacement waited for */
	struct proc *reload_wait; /* a process the next replacement waits out */
	worker_reload_done_fn done;
	void *done_arg;
	int done_result;
	bool done_pending;
	struct event *done_ev;

	/* Recent output, per worker id (worker_pool_logs). */
	struct wlog *logs;
	unsigned int nlogs;
	uint64_t log_seq;
};

/* ms as a timeval, for libevent's timers. */
static inline struct timeval wk_ms_to_tv(unsigned int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (suseconds_t)(ms % 1000) * 1000 };

	return tv;
}

/* ---- workers.c ---- */

/* pr's events in the pool's loop: its exit, the readiness poll, the
 * timers, its output. 0 or -ENOMEM.
 */
int wk_proc_arm(struct proc *pr);

/* ---- workers_spec.c ---- */

/* A new spec from in, with its defaults; 0, -EINVAL or -ENOMEM. */
int wk_spec_new(const struct worker_spec *in, struct spec **out);
struct spec *wk_spec_get(struct spec *sp);
/* Drops a reference; NULL is none. */
void wk_spec_put(struct spec *sp);
void wk_spec_set(struct spec **dst, struct spec *src);
bool wk_ports_fit(const struct worker_spec *s, unsigned int count);
__u16 wk_port_main(const struct spec *sp, unsigned int id);
__u16 wk_port_other(const struct spec *sp, unsigned int id, __u16 cur);
__u16 wk_port_keep(const struct spec *sp, unsigned int id, __u16 cur);

/* Keeps a line of worker id's output in the pool's recent output. */
void wk_pool_log_add(struct worker_pool *p, unsigned int id, pid_t pid, enum wlog_stream stream,
		     const char *s, size_t n);

/* ---- workers_proc.c ---- */

struct dirent;

/* What wk_pstat_read() takes from /proc/PID/stat. */
struct pstat {
	pid_t sid;
	uint64_t start_time;
};

int wk_pstat_read(pid_t pid, struct pstat *st);
pid_t wk_proc_dirent_pid(const struct dirent *de);
unsigned long long wk_fd_inode(int dirfd, const char *name, const char *kind);

/* Calls line for each complete line in lb, for a full buffer as one line,
 * and with eof for whatever is left; keeps the rest.
 */
void wk_linebuf_emit(struct linebuf *lb, bool eof, void (*line)(void *arg, const char *s, size_t n),
		     void *arg);
/* Logs a line of worker id's output: "NAME/ID stderr: line" at warning
 * level, stdout's at info.
 */
void wk_log_output(const char *name, unsigned int id, enum wlog_stream stream, const char *s,
		   size_t n);
void wk_proc_read_output(struct proc *pr, bool final);
/* pr's streams that have a pipe. */
bool wk_proc_has_output(const struct proc *pr);

struct proc *wk_proc_alloc(struct worker_pool *p, struct spec *sp, unsigned int id, __u16 port);
void wk_proc_free(struct proc *pr);
void wk_proc_finish(struct proc *pr);
void wk_proc_retire(struct proc *pr, bool report);
void wk_proc_retire_drained(struct worker_pool *p, struct proc *pr);
void wk_proc_drain_cut(struct proc *pr, const char *why);
void wk_proc_kill(struct proc *pr);

int wk_program_check(const struct spec *sp);
void wk_signals_default(void);
int wk_proc_start(struct worker_pool *p, struct spec *sp, unsigned int id, __u16 port,
		  struct proc **out);

int wk_proc_find_socket(struct proc *pr);
int wk_proc_conns(const struct proc *pr);

/* ---- workers_adopt.c ---- */

/* Takes over the workers in spec->adopt, in worker_pool_start() before
 * the slots left empty are launched.
 */
void wk_pool_adopt(struct worker_pool *p, const struct worker_spec *spec);
/* Forks the process that logs the output of p's workers once p is
 * abandoned.
 */
void wk_drainer_start(struct worker_pool *p);

#endif /* BOUNCER_WORKERS_INT_H */
