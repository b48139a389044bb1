/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* One agent at a time: before it touches the datapath, the state file or
 * the control socket, an agent takes an exclusive flock on its state
 * directory (a lock file there, holding its pid), its pin directory (the
 * directory itself: bpffs holds no regular files) and its control socket
 * (a lock file beside it). A second agent sharing any of them is refused
 * and told the pid of the one running. The locks go with the process:
 * an agent killed with -9 leaves nothing to clean up.
 */
#ifndef BOUNCER_LOCK_H
#define BOUNCER_LOCK_H

#include <stdbool.h>

#define AGENT_LOCK_FILE "bouncerd.lock"

struct agent_lock {
	int fds[3]; /* state directory, pin directory, control socket; -1: none */
	bool held;
};

/* Marks l as holding nothing, so that agent_lock_release() is safe on it. */
void agent_lock_init(struct agent_lock *l);
/* Creates the directories as needed and takes the three locks. 0, or
 * -EWOULDBLOCK when another agent holds one (logged with its pid), or
 * another -errno (logged). Holds nothing unless it returns 0.
 */
int agent_lock_take(struct agent_lock *l, const char *state_dir, const char *pin_dir,
		    const char *control_socket);
void agent_lock_release(struct agent_lock *l);

#endif /* BOUNCER_LOCK_H */
