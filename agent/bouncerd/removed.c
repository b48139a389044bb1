// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Config entries removed at run time; see removed.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "removed.h"

static bool same_backend(const struct removed_item *it, const __be32 addr[4], __u8 family,
			 __u16 port)
{
	return it->is_backend && it->family == family && it->port == port &&
	       memcmp(it->addr, addr, sizeof(it->addr)) == 0;
}

/* The record of the same thing as it: the same VIP, and backend if any. */
static struct removed_item *find_same(struct removed_list *l, const struct removed_item *it)
{
	for (size_t i = 0; i < l->n; i++) {
		struct removed_item *o = &l->items[i];

		if (strcmp(o->vip, it->vip) || o->is_backend != it->is_backend)
			continue;
		if (!it->is_backend || same_backend(o, it->addr, it->family, it->port))
			return o;
	}
	return NULL;
}

int removed_add(struct removed_list *l, const struct removed_item *it)
{
	struct removed_item *slot = find_same(l, it), *grown;
	char *vip = strdup(it->vip);

	if (!vip)
		return -ENOMEM;
	if (!slot) {
		grown = realloc(l->items, (l->n + 1) * sizeof(*grown));
		if (!grown) {
			free(vip);
			return -ENOMEM;
		}
		l->items = grown;
		slot = &l->items[l->n++];
	} else {
		free(slot->vip);
	}
	*slot = *it;
	slot->vip = vip;
	return 0;
}

static bool item_matches_vip(const struct removed_item *it, const struct cfg_vip *cv)
{
	struct bnc_vip_key key;

	cfg_vip_key(cv, &key);
	return strcmp(it->vip, cv->name) == 0 && memcmp(&it->key, &key, sizeof(key)) == 0;
}

static bool item_matches_backend(const struct removed_item *it, const struct cfg_vip *cv,
				 const struct cfg_backend *cb)
{
	return item_matches_vip(it, cv) && same_backend(it, cb->addr, cb->family, cb->port) &&
	       it->cfg_weight == cb->weight && it->cfg_admin == cb->admin;
}

bool removed_has_vip(const struct removed_list *l, const struct cfg_vip *cv)
{
	for (size_t i = 0; i < l->n; i++)
		if (!l->items[i].is_backend && item_matches_vip(&l->items[i], cv))
			return true;
	return false;
}

bool removed_has_backend(const struct removed_list *l, const struct cfg_vip *cv,
			 const struct cfg_backend *cb)
{
	for (size_t i = 0; i < l->n; i++)
		if (item_matches_backend(&l->items[i], cv, cb))
			return true;
	return false;
}

/* Keeps the items keep() says yes to, in order; returns how many went. */
static size_t removed_filter(struct removed_list *l,
			     bool (*keep)(const struct removed_item *, const void *),
			     const void *arg)
{
	size_t kept = 0, n = l->n;

	for (size_t i = 0; i < n; i++) {
		if (keep(&l->items[i], arg))
			l->items[kept++] = l->items[i];
		else
			free(l->items[i].vip);
	}
	l->n = kept;
	return n - kept;
}

static bool other_vip(const struct removed_item *it, const void *vip)
{
	return strcmp(it->vip, vip) != 0;
}

void removed_forget_vip(struct removed_list *l, const char *vip)
{
	removed_filter(l, other_vip, vip);
}

void removed_forget_backend(struct removed_list *l, const char *vip, const __be32 addr[4],
			    __u8 family, __u16 port)
{
	struct removed_item it = {
		.vip = (char *)vip, .is_backend = true, .family = family, .port = port
	};
	struct removed_item *o;

	memcpy(it.addr, addr, sizeof(it.addr));
	o = find_same(l, &it);
	if (!o)
		return;
	free(o->vip);
	*o = l->items[--l->n];
}

/* Whether the config file c still lists it as it was when removed. */
static bool listed_unchanged(const struct removed_item *it, const void *arg)
{
	const struct cfg_vip *cv = cfg_vip_find(arg, it->vip);

	if (!cv || !item_matches_vip(it, cv))
		return false;
	if (!it->is_backend)
		return true;
	for (size_t i = 0; i < cv->nbackends; i++)
		if (item_matches_backend(it, cv, &cv->backends[i]))
			return true;
	return false;
}

size_t removed_prune(struct removed_list *l, const struct cfg *c)
{
	return removed_filter(l, listed_unchanged, c);
}

void removed_free(struct removed_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->items[i].vip);
	free(l->items);
	l->items = NULL;
	l->n = 0;
}
