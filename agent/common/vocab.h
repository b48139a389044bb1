/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The words the config file, the control protocol, bouncerctl and the log
 * share: each enum they name, with its names in one table (vocab.c). The
 * config parser, the control commands, bouncerctl's grammar and help, and
 * every message that lists the choices read the tables, so that a new value
 * (a forwarding mode) is one line there. Also the limits that bouncerctl
 * checks before it asks the agent.
 */
#ifndef BOUNCER_VOCAB_H
#define BOUNCER_VOCAB_H

#include <stddef.h>

/* The config's enums, named after it, where they are written. */

/* Administrative state of a backend, independent of health. */
enum cfg_admin {
	CFG_ADMIN_READY = 0, /* takes traffic while healthy */
	CFG_ADMIN_DRAIN, /* existing flows only; still checked */
	CFG_ADMIN_MAINT, /* no traffic, no checks */
};

enum cfg_check_type {
	CFG_CHECK_NONE = 0, /* always healthy */
	CFG_CHECK_TCP,
	CFG_CHECK_HTTP,
	CFG_CHECK_UDP,
	CFG_CHECK_EXEC,
};

enum cfg_attach_mode {
	CFG_ATTACH_NATIVE = 0,
	CFG_ATTACH_SKB,
	CFG_ATTACH_AUTO, /* native, else skb with a warning */
};

/* What picks a VIP's backend from the ring. */
enum cfg_hash {
	CFG_HASH_5TUPLE = 0,
	CFG_HASH_SOURCE, /* the client address only: a client sticks to a backend */
};

/* A VIP without a healthy backend. */
enum cfg_fail {
	CFG_FAIL_OPEN = 0, /* every backend not in maintenance takes traffic */
	CFG_FAIL_CLOSED, /* none does */
};

#define CFG_WORKERS_MAX 256 /* workers per VIP, also the default port spread */

struct vocab_word {
	const char *name;
	int value;
};

struct vocab {
	const struct vocab_word *words; /* in the order messages list them */
	size_t n;
};

extern const struct vocab vocab_forwarding; /* enum bnc_forwarding */
extern const struct vocab vocab_hash; /* enum cfg_hash */
extern const struct vocab vocab_fail; /* enum cfg_fail */
extern const struct vocab vocab_protocol; /* IPPROTO_TCP, IPPROTO_UDP */
extern const struct vocab vocab_admin; /* enum cfg_admin */
extern const struct vocab vocab_check_type; /* enum cfg_check_type */
extern const struct vocab vocab_attach_mode; /* enum cfg_attach_mode */
extern const struct vocab vocab_log_level; /* enum log_level (common/log.h) */

/* The name of value; "?" when v has none. */
const char *vocab_name(const struct vocab *v, int value);
/* The value named name (exactly, case and all) into *out, which may be
 * NULL to ask whether v has the name: 0, or -EINVAL with *out untouched.
 */
int vocab_value(const struct vocab *v, const char *name, int *out);
/* The names, for "is not one of ..." and help: "dsr, ipip", "dsr|ipip",
 * "ready, drain or maint". last_sep goes before the last name (NULL: sep).
 * Truncated to len, always terminated.
 */
void vocab_join(const struct vocab *v, const char *sep, const char *last_sep, char *buf,
		size_t len);

#endif /* BOUNCER_VOCAB_H */
