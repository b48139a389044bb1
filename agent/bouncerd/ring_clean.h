/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* When a VIP's changed ring slots are clean again.
 *
 * A changed slot (see BNC_RING_PREV_SHIFT in bouncer_abi.h) costs a flow
 * table read per packet and an entry per new TCP flow, and its misses go
 * to its previous backend: those are the flows that began before the
 * change, which nothing records. No flow depends on that backend any more
 * once none has sent a packet to it for ring_history_idle seconds (the
 * datapath's miss_prev counter stands still) and the change is as old:
 * then the agent cleans every changed slot of the VIP whose recorded
 * flows all agree with its current backend. A recorded flow idle for as
 * long counts as gone, as a connection does for IPVS, and its entry is
 * deleted with its slot's history: it would otherwise wait for the slot's
 * next change and take a new connection on its addresses and ports there.
 *
 * A flood of mid-stream packets that match nothing keeps miss_prev
 * moving, and with it the history: no state grows meanwhile.
 */
#ifndef BOUNCER_RING_CLEAN_H
#define BOUNCER_RING_CLEAN_H

#include <stdbool.h>
#include <linux/types.h>

struct daemon;
struct vip_rt;

struct ring_clean {
	bool primed; /* miss_prev below was read once */
	unsigned long long miss_prev; /* the datapath's counter as last read */
	double prev_seen; /* when it last moved, s of CLOCK_MONOTONIC */
};

/* After a swap or a cleaning left changed slots changed in v's ring
 * (now: as in ring_clean_tick()).
 */
void ring_clean_changed(struct vip_rt *v, __u32 changed, double now);

/* Cleans the slots of the VIPs whose history is due (called every tick). */
void ring_clean_tick(struct daemon *d, double now);

/* At the start over an adopted datapath, once every VIP's ring is in:
 * marks the clean slots that hold a recorded flow of another backend than
 * the slot's (ring_history_mark()), so that the datapath keeps reading
 * the table there. Returns 0 or -errno.
 */
int ring_clean_adopt(struct daemon *d);

#endif /* BOUNCER_RING_CLEAN_H */
