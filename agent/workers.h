/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Local workers, the way Node's cluster module runs them but for any
 * program that listens on $PORT: a pool per VIP, each worker started with
 * PORT and WORKER_ID in its environment, ready once it listens (its
 * listening socket is then handed to the caller for the sk_lookup map),
 * restarted when it exits (with backoff and a crash-loop limit), stopped
 * with SIGTERM and SIGKILL after a timeout. Runs in the caller's libevent
 * loop; no threads.
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
	__u16 port_base; /* worker i listens on port_base + i */
	__u8 proto; /* IPPROTO_TCP or IPPROTO_UDP: what "listens" means */
	unsigned int ready_timeout_ms; /* default 10000: not listening by then = failed start */
	unsigned int kill_timeout_ms; /* default 5000: SIGTERM, then SIGKILL */
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
 * state (sock_fd -1).
 */
typedef void (*worker_event_fn)(struct worker_pool *p, unsigned int id, enum worker_state state,
				int sock_fd, void *arg);

/* Starts spec->count workers. spec is copied. NULL and errno on failure. */
struct worker_pool *worker_pool_start(struct event_base *base, const struct worker_spec *spec,
				      worker_event_fn fn, void *arg);
/* Stops every worker (SIGTERM, SIGKILL after the kill timeout), waiting
 * for them in the loop when wait is false (the pool is freed once all are
 * gone) or blocking until they are gone when wait is true (agent exit).
 */
void worker_pool_stop(struct worker_pool *p, bool wait);
/* Lets the workers run on and forgets them: an agent that exits for a
 * restart leaves its workers serving. Frees the pool.
 */
void worker_pool_abandon(struct worker_pool *p);

int worker_pool_restart(struct worker_pool *p, unsigned int id);
/* Starts or stops workers to reach count. */
int worker_pool_scale(struct worker_pool *p, unsigned int count);

/* Rolling replacement with new_spec (NULL: the same): one worker at a
 * time, start its replacement, wait until it is ready, hand its socket
 * over (the event callback sees the new socket for id), stop the old one.
 * A replacement that does not become ready within the ready timeout ends
 * the reload: it is killed, the old worker keeps serving, and done gets
 * -ETIMEDOUT. done (may be NULL) is called once, with 0 or -errno.
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
};

/* Fills up to max entries; returns the number of workers. */
size_t worker_pool_list(const struct worker_pool *p, struct worker_info *out, size_t max);
const char *worker_state_name(enum worker_state state);

#endif /* BOUNCER_WORKERS_H */
