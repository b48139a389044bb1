// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Ring slot history: see ring_history.h. */
#include "ring_history.h"

static bool is_down(const bool *down, __u32 id)
{
	return down && id < BNC_MAX_BACKENDS && down[id];
}

__u32 ring_history_merge(const __u32 *old, const __u32 *cur, __u32 n, const bool *down, __u32 *out)
{
	__u32 changed = 0;

	for (__u32 i = 0; i < n; i++) {
		__u32 prev = BNC_BACKEND_NONE, was;

		if (old) {
			prev = bnc_ring_prev(old[i]);
			was = bnc_ring_cur(old[i]);
			/* A clean slot whose backend is down reads as changed,
			 * with prev = cur (select_backend()): flows placed
			 * elsewhere meanwhile have entries, which must still
			 * be read.
			 */
			if (prev == BNC_BACKEND_NONE && (was != cur[i] || is_down(down, was)))
				prev = was;
			/* The datapath sent the flows of a down prev to the
			 * old cur (or, that one down too, to the new one).
			 */
			if (prev != BNC_BACKEND_NONE && is_down(down, prev))
				prev = is_down(down, was) ? cur[i] : was;
		}
		out[i] = bnc_ring_word(cur[i], prev);
		changed += prev != BNC_BACKEND_NONE;
	}
	return changed;
}

__u32 ring_history_clean(__u32 *words, const bool *keep, __u32 n)
{
	__u32 cleaned = 0;

	for (__u32 i = 0; i < n; i++) {
		if (bnc_ring_prev(words[i]) == BNC_BACKEND_NONE || (keep && keep[i]))
			continue;
		words[i] = bnc_ring_word(bnc_ring_cur(words[i]), BNC_BACKEND_NONE);
		cleaned++;
	}
	return cleaned;
}

__u32 ring_history_mark(__u32 *words, const bool *mark, __u32 n)
{
	__u32 marked = 0, cur;

	for (__u32 i = 0; i < n; i++) {
		cur = bnc_ring_cur(words[i]);
		if (!mark[i] || bnc_ring_prev(words[i]) != BNC_BACKEND_NONE ||
		    cur == BNC_BACKEND_NONE)
			continue;
		words[i] = bnc_ring_word(cur, cur);
		marked++;
	}
	return marked;
}

__u32 ring_history_changed(const __u32 *words, __u32 n)
{
	__u32 changed = 0;

	for (__u32 i = 0; i < n; i++)
		changed += bnc_ring_prev(words[i]) != BNC_BACKEND_NONE;
	return changed;
}
