/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* What a VIP's ring slots held before the agent changed them: the words
 * the datapath reads (see BNC_RING_PREV_SHIFT in bouncer_abi.h).
 */
#ifndef BOUNCER_RING_HISTORY_H
#define BOUNCER_RING_HISTORY_H

#include <stdbool.h>
#include <linux/types.h>

#include "bouncer_abi.h"

/* The words of a ring that replaces the one whose words are old, both of
 * n slots, with the backend ids cur (BNC_BACKEND_NONE: no backend) as new
 * flows' choice: a slot whose backend differs from the old word's becomes
 * changed, its prev the old backend; a slot changed already keeps its
 * prev, the oldest, since flows born since its first change are in the
 * flow table. A prev that is down (down[id]; NULL: none is) had its flows
 * broken already, and those the datapath then sent to the slot's old cur
 * (unrecorded) must stay there when it comes back: the old cur becomes
 * prev (the new cur if the old one is down too). A clean slot whose
 * backend is down counts as changed with prev = its backend, as the
 * datapath reads it: flows it placed meanwhile have entries. old NULL (a new
 * VIP, or a ring of another size, whose slots mean other flows): every
 * slot clean. Returns how many slots are changed in out.
 */
__u32 ring_history_merge(const __u32 *old, const __u32 *cur, __u32 n, const bool *down, __u32 *out);

/* Cleans the changed slots of words (n slots) that keep[] does not mark
 * (keep NULL: every one): a slot is clean again when no flow can depend
 * on its prev any more. Returns how many slots it cleaned.
 */
__u32 ring_history_clean(__u32 *words, const bool *keep, __u32 n);

/* Marks the clean slots of words (n slots) that mark[] names changed with
 * prev = cur: the flow table then decides for their flows, and a miss
 * still goes to cur. For entries that name another backend than their
 * slot's cur in a clean slot, which the datapath would not read (a table
 * kept over an upgrade from before slot history). Returns how many it
 * marked.
 */
__u32 ring_history_mark(__u32 *words, const bool *mark, __u32 n);

/* How many slots of words are changed. */
__u32 ring_history_changed(const __u32 *words, __u32 n);

#endif /* BOUNCER_RING_HISTORY_H */
