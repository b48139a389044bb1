// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The names of the enums that the config file, the control protocol,
 * bouncerctl and the log share: one table each (vocab.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <netinet/in.h>

#include "bouncer_abi.h"
#include "log.h"
#include "vocab.h"
#include "util.h"

#define VOCAB(words) \
	{ \
		(words), ARRAY_SIZE(words) \
	}

static const struct vocab_word forwarding_words[] = {
	{ "dsr", BNC_FWD_DSR },
	{ "ipip", BNC_FWD_IPIP },
};
const struct vocab vocab_forwarding = VOCAB(forwarding_words);

static const struct vocab_word hash_words[] = {
	{ "5tuple", CFG_HASH_5TUPLE },
	{ "source", CFG_HASH_SOURCE },
};
const struct vocab vocab_hash = VOCAB(hash_words);

static const struct vocab_word fail_words[] = {
	{ "open", CFG_FAIL_OPEN },
	{ "closed", CFG_FAIL_CLOSED },
};
const struct vocab vocab_fail = VOCAB(fail_words);

static const struct vocab_word protocol_words[] = {
	{ "tcp", IPPROTO_TCP },
	{ "udp", IPPROTO_UDP },
};
const struct vocab vocab_protocol = VOCAB(protocol_words);

static const struct vocab_word admin_words[] = {
	{ "ready", CFG_ADMIN_READY },
	{ "drain", CFG_ADMIN_DRAIN },
	{ "maint", CFG_ADMIN_MAINT },
};
const struct vocab vocab_admin = VOCAB(admin_words);

static const struct vocab_word check_type_words[] = {
	{ "none", CFG_CHECK_NONE }, { "tcp", CFG_CHECK_TCP },	{ "http", CFG_CHECK_HTTP },
	{ "udp", CFG_CHECK_UDP },   { "exec", CFG_CHECK_EXEC },
};
const struct vocab vocab_check_type = VOCAB(check_type_words);

static const struct vocab_word attach_mode_words[] = {
	{ "native", CFG_ATTACH_NATIVE },
	{ "skb", CFG_ATTACH_SKB },
	{ "auto", CFG_ATTACH_AUTO },
};
const struct vocab vocab_attach_mode = VOCAB(attach_mode_words);

static const struct vocab_word log_level_words[] = {
	{ "error", LOG_LEVEL_ERROR },
	{ "warn", LOG_LEVEL_WARN },
	{ "info", LOG_LEVEL_INFO },
	{ "debug", LOG_LEVEL_DEBUG },
};
const struct vocab vocab_log_level = VOCAB(log_level_words);

const char *vocab_name(const struct vocab *v, int value)
{
	for (size_t i = 0; i < v->n; i++) {
		if (v->words[i].value == value)
			return v->words[i].name;
	}
	return "?";
}

int vocab_value(const struct vocab *v, const char *name, int *out)
{
	for (size_t i = 0; i < v->n; i++) {
		if (strcmp(v->words[i].name, name) == 0) {
			if (out)
				*out = v->words[i].value;
			return 0;
		}
	}
	return -EINVAL;
}

void vocab_join(const struct vocab *v, const char *sep, const char *last_sep, char *buf, size_t len)
{
	size_t n = 0;

	if (!len)
		return;
	buf[0] = '\0';
	for (size_t i = 0; i < v->n && n < len; i++) {
		const char *before = i == 0 ? "" : i + 1 == v->n && last_sep ? last_sep : sep;
		int w = snprintf(buf + n, len - n, "%s%s", before, v->words[i].name);

		if (w < 0)
			break;
		n += (size_t)w;
	}
}
