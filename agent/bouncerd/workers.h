/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Local workers, the way Node's cluster module runs them but for any
 * program that listens on $PORT: a pool per VIP, each worker started with
 * PORT and WORKER_ID in its environment, ready once it listens (its
 * listening socket is then handed to the caller for the sk_lookup map),
 * restarted when it exits (with backoff and a crash-loop limit), stopped
 * with SIGTERM and SIGKILL after a timeout. Runs in the caller's libevent
 * loop; no threads.
 *
 * Processes. Each worker is fork()ed and exec()ed (setgroups, setgid and
 * setuid need the fork) into a session of its own (setsid), so that the
 * agent's death takes no worker with it; its process group goes with it
 * when it is stopped, and when it exits (if it is the agent's child: an
 * adopted worker may not be), so what `sh -c` or node's cluster started
 * does not outlive it. Only the pool's own pids are waited
 * for, through pidfds: never waitpid(-1, ...).
 *
 * Readiness. Every 50 ms until ready_timeout_ms the worker's descriptors,
 * then those of every process in its session (while it has children, and
 * every 500 ms for orphans it left), are searched for a socket
 * of proto on its port: a listening TCP socket, or a bound, unconnected
 * UDP one, IPv4 or IPv6, on any address (with udp_moved: on conn_port). The first found is duplicated
 * with pidfd_getfd() (needs ptrace access to the worker: the agent runs as
 * root) and handed to the event callback. A worker that also listens on
 * the other family hands over only one of the two sockets.
 *
 * Ports. Worker id listens on port_base + id or on alt_port_base + id: a
 * replacement (rolling reload, worker_pool_restart) runs next to the
 * worker it replaces, and two processes cannot both listen on one port
 * without SO_REUSEPORT, so each replacement takes the port of the two
 * that its predecessor does not hold. So does a worker restarted after an
 * exit, and one started in place of a worker not adopted: a socket of the
 * old process that something still holds (a SOCKMAP entry not yet
 * removed, an orphan of the old worker) cannot keep it from listening.
 * Clients reach workers through the VIP and sk_lookup, never on these
 * ports, so the alternation is invisible to them.
 *
 * Drain. A worker replaced by a reload or a restart gets no new
 * connection once its replacement's socket is in place, but still serves
 * those it holds: its SIGTERM waits until none is left or drain_ms has
 * passed. Every 100 ms (the first time 100 ms after the swap) the agent
 * counts them with sock_diag (sockdiag.h), in its own network namespace:
 * the TCP connections in ESTABLISHED or CLOSE_WAIT held by the worker's
 * processes (its own, and its session's while it has children), on its
 * port or conn_port, and those in its listener's accept queue; for UDP,
 * its socket while datagrams are queued. A keep-alive client that keeps
 * its connection busy holds the drain for its whole time; the worker is
 * expected to close such connections on SIGTERM (see bouncer.conf(5)).
 * A replacement that needs the port of an old worker still draining (a
 * reload or restart of the same id within the drain) ends that drain at
 * once: a reload then waits for the old worker to exit, a restart
 * returns -EBUSY.
 *
 * Output. A worker's stdout and stderr are two pipes, read in the loop
 * and logged line by line as "NAME/ID stdout: line" at info level and
 * "NAME/ID stderr: line" at warning level; a line longer than 4095 bytes
 * is logged in pieces. stdin is /dev/null. The last lines of each worker
 * id are also kept in the pool (workers_log.h: 1000 lines or 64 KiB per
 * id), for worker_pool_logs(). The worker itself holds a read end of each
 * pipe (on descriptors above stderr), so that when the agent is killed
 * its output fills the pipes (1 MiB each) instead of failing with EPIPE
 * or SIGPIPE; the adopting agent reads it. Only a worker that writes more
 * than that while no agent runs (killed, not stopped: a stopped agent
 * leaves a reader behind, below) blocks in its write until one is back.
 *
 * Restarts. A worker that exits is restarted at once if it had been ready
 * for min_uptime_ms, else after a backoff that starts at backoff_initial_ms
 * and doubles up to backoff_max_ms, and starts over once a worker has
 * been ready for backoff_reset_ms. The crash_limit + 1st restart within
 * crash_window_ms, or an exit status listed in permanent_exit, leaves the
 * worker WORKER_FAILED (logged as a warning) while the others serve on. A
 * worker that is not ready within ready_timeout_ms is SIGKILLed and counts
 * as a short run.
 *
 * Abandon and adopt. An abandoned worker keeps its output pipe; a small
 * process forked by worker_pool_abandon() (named "bouncer-logs", in a
 * session of its own, holding nothing but the pipes and the agent's
 * stderr) reads the pipes and logs the lines in the same format, so that
 * no worker meets a full pipe while no agent runs. An adopting pool
 * reopens each adopted worker's pipes through /proc/PID/fd/1 and 2 (when
 * they are still pipes; one pipe for both, as an older agent started
 * workers, is read as one "output" stream) and then SIGTERMs the
 * "bouncer-logs" process
 * holding those pipes (there is one per abandoned pool). A worker of that
 * pool left out of adopt loses its reader then (SIGPIPE on its next
 * write): unsupervised, it is better gone. A line may be logged half by
 * each at the hand-over; an adopted worker whose stdout was redirected is
 * adopted without its output. The kept lines start afresh in the adopting
 * agent: what was written before is in the log only. The exit status of an adopted
 * worker that is not the agent's child (the agent was restarted, not
 * re-executed) is unknown: its exit counts as a crash, never as permanent.
 */
#ifndef BOUNCER_WORKERS_H
#define BOUNCER_WORKERS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <event2/event.h>

#include "bouncer_abi.h"

struct worker_info;

struct worker_spec {
	const char *name; /* for log lines: "web" -> "web/2: ..." */
	char **argv; /* NULL-terminated; argv[0] looked up in PATH */
	char **env; /* extra "NAME=value", NULL-terminated; may be NULL */
	const char *cwd; /* NULL: the agent's */
	bool has_user; /* run as uid/gid (and that user's groups) */
	uid_t uid;
	gid_t gid;
	unsigned int count; /* workers */
	__u16 port_base; /* worker i listens on port_base + i ... */
	/* ... or on alt_port_base + i (see Ports above); 0: port_base + count,
	 * which leaves no room to scale above count: set it to scale up. The
	 * two ranges must not overlap: worker_pool_start() fails with EINVAL
	 * and worker_pool_scale() with -ERANGE when they would.
	 */
	__u16 alt_port_base;
	__u8 proto; /* IPPROTO_TCP or IPPROTO_UDP: what "listens" means */
	/* The port clients connect to (the VIP's), host order: a connection
	 * that sk_lookup hands a worker keeps it as its local port, so a
	 * drain counts the worker's connections on it as well as on its
	 * own. 0: on its own port only.
	 */
	__u16 conn_port;
	/* UDP only: the agent's bind hook moves each worker's bind of its
	 * own port to the VIP's address and conn_port, so the worker's
	 * socket is the one bound to conn_port (one on its own port was
	 * not moved: another family than the VIP's). false: the one on its
	 * own port, as for TCP.
	 */
	bool udp_moved;
	unsigned int ready_timeout_ms; /* default 10000: not listening by then = failed start */
	unsigned int kill_timeout_ms; /* default 5000: SIGTERM, then SIGKILL */
	/* A worker replaced by a reload or a restart runs on after its
	 * replacement took its traffic until the connections it holds have
	 * ended, or for at most this long, before its SIGTERM (see Drain
	 * above). 0 (default): SIGTERM at once.
	 */
	unsigned int drain_ms;
	unsigned int min_uptime_ms; /* default 5000: shorter runs back off */
	unsigned int backoff_initial_ms; /* default 100, doubling */
	unsigned int backoff_max_ms; /* default 30000 */
	unsigned int backoff_reset_ms; /* default 60000 stable: backoff starts over */
	unsigned int crash_limit; /* default 10 restarts ... */
	unsigned int crash_window_ms; /* ... in 60000 ms: the worker is failed */
	const int *permanent_exit; /* exit statuses never restarted */
	size_t npermanent;
	/* Workers a previous agent started and left running (see
	 * worker_pool_abandon): each is taken over if its pid is still the
	 * same process (start_time matches /proc/PID/stat; a pidfd then
	 * watches it and its listening socket is fetched with pidfd_getfd),
	 * else a new worker is started for its id.
	 */
	const struct worker_info *adopt;
	size_t nadopt;
};

enum worker_state {
	WORKER_STARTING = 0, /* running, not listening yet */
	WORKER_READY, /* listening: takes traffic */
	WORKER_STOPPING, /* SIGTERM sent */
	WORKER_BACKOFF, /* exited; restarts when the backoff ends */
	WORKER_FAILED, /* crash loop or permanent exit: no restart */
	WORKER_STOPPED, /* stopped on purpose */
};

struct worker_pool;

/* Called when worker id becomes ready (sock_fd: its listening socket, a
 * descriptor the callee owns and must close) and when it stops being ready
 * (sock_fd -1: take it out of traffic now), and on every other change of
 * state (sock_fd -1). A worker that exits is reported (with its next state:
 * WORKER_BACKOFF, WORKER_STARTING or WORKER_FAILED) before anything else is
 * done about it. A replacement that becomes ready is reported as
 * WORKER_READY with its socket while the slot is already WORKER_READY: the
 * new socket replaces the old one, and only then is the old worker
 * stopped. The callee should hold one socket per id and drop it when
 * told (a new socket, or -1): a listening socket held anywhere, a SOCKMAP
 * entry included, keeps its port bound. A worker removed by
 * worker_pool_scale() or worker_pool_stop() is reported WORKER_STOPPING at
 * once and WORKER_STOPPED once its process has exited. Not called from
 * worker_pool_start(). Inside fn the pool may be stopped or abandoned;
 * worker_pool_restart(), worker_pool_scale() and worker_pool_reload()
 * return -EBUSY there.
 */
typedef void (*worker_event_fn)(struct worker_pool *p, unsigned int id, enum worker_state state,
				int sock_fd, void *arg);

/* Starts spec->count workers (adopting spec->adopt first). spec is copied.
 * NULL and errno on failure: EINVAL for a bad spec, ENOENT when argv[0]
 * is not found, ENOMEM. A worker that cannot be spawned is not a failure
 * of the pool: it backs off and is retried like one that exited.
 */
struct worker_pool *worker_pool_start(struct event_base *base, const struct worker_spec *spec,
				      worker_event_fn fn, void *arg);
/* Stops every worker (SIGTERM, SIGKILL after the kill timeout), waiting
 * for them in the loop when wait is false (the pool is freed once all are
 * gone) or blocking until they are gone when wait is true (agent exit).
 */
void worker_pool_stop(struct worker_pool *p, bool wait);
/* Lets the workers run on and forgets them: an agent that exits for a
 * restart leaves its workers serving (call worker_pool_list() first to
 * know what to adopt). Frees the pool. A replacement not yet ready and a
 * worker being stopped are SIGKILLed rather than left behind. Output: see
 * Abandon and adopt above.
 */
void worker_pool_abandon(struct worker_pool *p);

/* Replaces worker id with a new process the way a reload does (the old
 * one serves until the new one is ready; a failure is logged, the old one
 * serving on), or, when it has no process (backoff, failed), starts it now
 * with its failure count and backoff reset. -ENOENT for an unknown id,
 * -EBUSY while a reload or another restart of id runs, or while the
 * worker that the last one replaced still holds the port needed (its
 * drain is ended: try again once it has exited).
 */
int worker_pool_restart(struct worker_pool *p, unsigned int id);
/* Starts or stops workers to reach count: the highest ids go first.
 * -EBUSY during a reload, -ERANGE when the ports would not fit.
 */
int worker_pool_scale(struct worker_pool *p, unsigned int count);

/* Rolling replacement with new_spec (NULL: the same): one worker at a
 * time, start its replacement, wait until it is ready, hand its socket
 * over (the event callback sees the new socket for id), stop the old one.
 * A replacement that does not become ready within the ready timeout ends
 * the reload: it is killed, the old worker keeps serving, and done gets
 * -ETIMEDOUT; one that exits before it is ready ends it the same way with
 * -ECHILD. Workers already replaced keep the new spec, the others keep
 * theirs, and the pool's spec (used by a later scale) stays the old one.
 * On success the pool then scales to new_spec->count. A worker with no
 * process (backoff, failed) is started afresh with new_spec. done (may be
 * NULL) is called once, from the loop (never from inside this call), with
 * 0 or -errno (-ECANCELED when the pool is stopped or abandoned first).
 * -EBUSY while a reload or a restart runs.
 */
typedef void (*worker_reload_done_fn)(struct worker_pool *p, int result, void *arg);
int worker_pool_reload(struct worker_pool *p, const struct worker_spec *new_spec,
		       worker_reload_done_fn done, void *arg);

struct worker_info {
	unsigned int id;
	pid_t pid; /* 0 when not running */
	__u16 port;
	enum worker_state state;
	time_t started; /* of the running process */
	unsigned int restarts;
	uint64_t start_time; /* /proc/PID/stat field 22, to tell pid reuse */
	bool replacing; /* a replacement runs next to it, not ready yet */
};

/* Fills up to max entries; returns the number of workers. */
size_t worker_pool_list(const struct worker_pool *p, struct worker_info *out, size_t max);
/* Processes that have left their slot and still run: replaced ones that
 * drain, removed or replaced ones being stopped.
 */
unsigned int worker_pool_stopping(const struct worker_pool *p);
/* Worker id's entry; false when the pool has no such worker. */
bool worker_pool_info(const struct worker_pool *p, unsigned int id, struct worker_info *out);
/* A line of a worker's recent output; the strings live until the pool
 * changes.
 */
struct worker_log_line {
	uint64_t seq; /* in the pool, across ids: increasing */
	int64_t time_ms; /* wall clock */
	pid_t pid;
	unsigned int id;
	const char *stream; /* "stdout", "stderr", "output" (both, one pipe) */
	const char *text;
};
typedef void (*worker_log_fn)(const struct worker_log_line *line, void *arg);
/* Calls fn for the kept lines of worker id (-1: of every id) whose seq is
 * above after, oldest first, the last max of them (0: all). *last: the
 * pool's last seq, to pass as after for only what follows. 0 or -ENOMEM.
 */
int worker_pool_logs(const struct worker_pool *p, int id, uint64_t after, size_t max,
		     worker_log_fn fn, void *arg, uint64_t *last);
const char *worker_state_name(enum worker_state state);

#endif /* BOUNCER_WORKERS_H */
