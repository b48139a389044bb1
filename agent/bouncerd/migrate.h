/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Adopting pinned maps of another layout version without losing a flow.
 *
 * An agent starting over pinned maps plans before its object is loaded:
 * a pinned map of the same layout is adopted as it is (libbpf reuses the
 * pin); one whose layout changed is left out, so that the load creates a
 * new map, and the entries are converted into it (migrate_table.c) while
 * the old program keeps forwarding on the old map. Once the agent has
 * swapped its program into every pinned link, the entries the old program
 * wrote meanwhile are copied too, the new maps replace the old pins and
 * the meta map records the version. Every function returns 0 or -errno.
 */
#ifndef BOUNCER_MIGRATE_H
#define BOUNCER_MIGRATE_H

#include <bpf/libbpf.h>

struct migration;

/* The layout version of the maps pinned in pin_dir: the meta map's, 1
 * when maps are pinned there without one, 0 when none are.
 */
int migration_pinned_version(const char *pin_dir, unsigned int *version);

/* Plans the start over pin_dir for obj, not yet loaded, and sets the pin
 * paths of the maps to adopt or to create there. -EPROTONOSUPPORT (said
 * in the log) for maps of a newer layout than this build's.
 */
int migration_plan(struct bpf_object *obj, const char *pin_dir, struct migration **out);
/* After the load: the first copy of every converted map. */
int migration_copy(struct migration *mg);
/* After every pinned link runs the new programs: copies what the old
 * ones wrote since migration_copy(), pins the new maps in place of the
 * old ones and records the layout version.
 */
int migration_finish(struct migration *mg);
void migration_free(struct migration *mg);

/* Converts the maps pinned in pin_dir to the older layout version to, in
 * place, for an older agent to adopt; no agent may be running. The
 * programs attached keep forwarding on the maps they hold until that
 * agent replaces them.
 */
int migration_downgrade(const char *pin_dir, unsigned int to);

/* The slots of the rings map rings_fd whose word names a previous
 * backend (see BNC_RING_PREV_SHIFT), and how many VIPs have one.
 */
int migration_ring_changed(int rings_fd, __u64 *slots, __u32 *vips);

#endif /* BOUNCER_MIGRATE_H */
