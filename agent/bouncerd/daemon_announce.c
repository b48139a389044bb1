// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Which VIP addresses this host announces, and host drain: the agent's
 * side of announce.h. An address is announced while the datapath is
 * attached, the host is not drained, and one VIP at the address can be
 * served (its ring names a backend: a healthy one, or every one when the
 * VIP fails open). VIPs that share an address share its route: it goes
 * only when none of them can be served.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "announce.h"
#include "common/addr.h"
#include "common/log.h"
#include "daemon.h"

/* Below this many packets a second, over all VIPs, a drained host's
 * traffic has gone: what still trickles in is a straggler, not a flow.
 */
#define HOST_DRAINED_PPS 1.0
/* Ticks (seconds) the traffic must stay below it. */
#define HOST_DRAINED_TICKS 2

static bool addr_same(const struct announce_addr *a, const __be32 addr[4], __u8 family)
{
	return a->family == family && memcmp(a->addr, addr, sizeof(a->addr)) == 0;
}

static bool vip_servable(const struct vip_rt *v)
{
	return v->ring_backends > 0;
}

bool daemon_announcing(const struct daemon *d)
{
	return d->cfg->announce && !d->withdrawing && !d->host_drained;
}

/* Whether v's address should be announced: some VIP there can be served. */
static bool addr_wanted(const struct daemon *d, const __be32 addr[4], __u8 family)
{
	if (!daemon_announcing(d))
		return false;
	for (size_t i = 0; i < d->nvips; i++) {
		const struct vip_rt *v = d->vips[i];

		if (v->key.family == family &&
		    memcmp(v->key.addr, addr, sizeof(v->key.addr)) == 0 && vip_servable(v))
			return true;
	}
	return false;
}

static size_t announced_find(const struct daemon *d, const __be32 addr[4], __u8 family)
{
	size_t i;

	for (i = 0; i < d->nannounced; i++)
		if (addr_same(&d->announced[i], addr, family))
			break;
	return i;
}

bool daemon_vip_announced(const struct daemon *d, const struct vip_rt *v)
{
	return announced_find(d, v->key.addr, v->key.family) < d->nannounced;
}

static const char *withdraw_reason(const struct daemon *d)
{
	if (d->withdrawing)
		return "detaching";
	if (d->host_drained)
		return "host drained";
	return "no VIP there can be served";
}

static int route_set(struct daemon *d, const struct announce_addr *a, bool on)
{
	char text[ADDR_STRLEN];
	int err = announce_route_set(d->cfg->announce_table, a, on);

	addr_format(a->addr, a->family, text, sizeof(text));
	if (err) {
		/* Logged once until it works again: the tick retries. */
		if (!d->announce_failing)
			log_warnx("cannot %s %s in routing table %u: %s",
				  on ? "announce" : "withdraw", text, d->cfg->announce_table,
				  strerror(-err));
		d->announce_failing = true;
		return err;
	}
	log_info("%s %s (table %u)%s%s", on ? "announced" : "withdrew", text,
		 d->cfg->announce_table, on ? "" : ": ", on ? "" : withdraw_reason(d));
	return 0;
}

void daemon_announce_sync(struct daemon *d)
{
	bool failed = false;

	/* Not while the start sets the VIPs up one by one: the routes a
	 * previous agent left would go and come back.
	 */
	if (!d->cfg->announce || !d->serving)
		return;
	/* Withdrawals first: an address that goes is not announced again
	 * below in the same pass.
	 */
	for (size_t i = 0; i < d->nannounced;) {
		struct announce_addr *a = &d->announced[i];

		if (addr_wanted(d, a->addr, a->family)) {
			i++;
		} else if (route_set(d, a, false) == 0) {
			d->announced[i] = d->announced[--d->nannounced];
		} else {
			failed = true;
			i++;
		}
	}
	for (size_t i = 0; i < d->nvips; i++) {
		const struct vip_rt *v = d->vips[i];
		struct announce_addr a = { .family = v->key.family }, *grown;

		if (announced_find(d, v->key.addr, v->key.family) < d->nannounced ||
		    !addr_wanted(d, v->key.addr, v->key.family))
			continue;
		memcpy(a.addr, v->key.addr, sizeof(a.addr));
		grown = realloc(d->announced, (d->nannounced + 1) * sizeof(*grown));
		if (!grown || route_set(d, &a, true)) {
			if (grown)
				d->announced = grown;
			failed = true;
			continue;
		}
		d->announced = grown;
		d->announced[d->nannounced++] = a;
	}
	if (!failed && d->announce_failing)
		log_info("routing table %u is as it should be again", d->cfg->announce_table);
	d->announce_failing = failed;
}

int daemon_announce_start(struct daemon *d)
{
	int err;

	if (!d->cfg->announce)
		return 0;
	/* What a previous agent announced is still in the table: the first
	 * sync keeps what is still wanted, so a restart does not flap.
	 */
	err = announce_routes_list(d->cfg->announce_table, &d->announced, &d->nannounced);
	if (err) {
		log_warnx("cannot read routing table %u: %s", d->cfg->announce_table,
			  strerror(-err));
		return err;
	}
	if (d->nannounced)
		log_info("routing table %u: %zu VIP addresses announced already",
			 d->cfg->announce_table, d->nannounced);
	return 0;
}

void daemon_announce_withdraw_all(struct daemon *d, bool wait)
{
	bool had = d->nannounced > 0;

	d->withdrawing = true;
	daemon_announce_sync(d);
	if (!had || !wait || !d->cfg->announce_withdraw_wait_ms)
		return;
	/* Blocking, on the way out: the peers must stop sending before the
	 * datapath goes.
	 */
	log_info("waiting %u ms for the BGP daemon to tell its peers",
		 d->cfg->announce_withdraw_wait_ms);
	usleep(d->cfg->announce_withdraw_wait_ms * 1000U);
}

int daemon_host_drain(struct daemon *d, bool drain, char *err, size_t errlen)
{
	if (!d->cfg->announce) {
		snprintf(err, errlen,
			 "nothing is announced: the config has no announce block, so routers do "
			 "not send this host traffic by its announcements");
		return -EINVAL;
	}
	if (d->host_drained == drain)
		return 0;
	d->host_drained = drain;
	d->drain_started = drain ? time(NULL) : 0;
	d->drain_quiet_ticks = 0;
	d->drained_after_s = -1;
	log_info("host %s", drain ? "drain: withdrawing every VIP" : "ready: announcing again");
	daemon_announce_sync(d);
	daemon_state_save(d);
	return 0;
}

double daemon_host_pps(const struct daemon *d)
{
	double pps = 0;

	for (size_t i = 0; i < d->nvips; i++)
		pps += d->vips[i]->pps;
	return pps;
}

const char *daemon_host_state(const struct daemon *d)
{
	if (!d->host_drained)
		return "ready";
	return d->drained_after_s < 0 ? "draining" : "drained";
}

void daemon_host_tick(struct daemon *d)
{
	daemon_announce_sync(d);
	if (!d->host_drained || d->drained_after_s >= 0)
		return;
	if (daemon_host_pps(d) > HOST_DRAINED_PPS) {
		d->drain_quiet_ticks = 0;
		return;
	}
	if (++d->drain_quiet_ticks < HOST_DRAINED_TICKS)
		return;
	d->drained_after_s = difftime(time(NULL), d->drain_started);
	log_info("host drained: traffic gone after %.0f s", d->drained_after_s);
}
