// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* bouncerctl's command line parsed into a control request, and the help
 * at every level, both from the grammar's table (cli_grammar.c).
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "cli_grammar.h"
#include "common/util.h"

/* Parsing */

struct parse_ctx {
	char *err;
	size_t errlen;
	char where[64]; /* "backend set": the prefix of every message */
	json_t *args;
};

static int fail(struct parse_ctx *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct parse_ctx *p, const char *fmt, ...)
{
	size_t n = 0;
	va_list ap;

	if (!p->errlen)
		return -EINVAL;
	if (p->where[0])
		n = (size_t)snprintf(p->err, p->errlen, "%s: ", p->where);
	if (n < p->errlen) {
		va_start(ap, fmt);
		vsnprintf(p->err + n, p->errlen - n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static int set_string(struct parse_ctx *p, const char *key, const char *value)
{
	return json_object_set_new(p->args, key, json_string(value)) ? -ENOMEM : 0;
}

static int set_integer(struct parse_ctx *p, const char *key, unsigned long value)
{
	return json_object_set_new(p->args, key, json_integer((json_int_t)value)) ? -ENOMEM : 0;
}

/* A decimal number min..max, digits only: no sign, no spaces, no hex. */
static bool parse_number(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	unsigned long v;
	char *end;

	if (!isdigit((unsigned char)s[0]))
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static bool is_prime(unsigned long n)
{
	if (n < 2)
		return false;
	for (unsigned long d = 2; d * d <= n; d++)
		if (n % d == 0)
			return false;
	return true;
}

static const char *arg_name(const struct cli_arg *a)
{
	return a->name ? a->name : a->keyword ? a->keyword : a->meta;
}

/* ADDR:PORT, IPv6 as [ADDR]:PORT. The address is sent as addr_format()
 * writes it, so that the agent compares one spelling of each address.
 */
static int parse_endpoint(struct parse_ctx *p, const char *shown, const char *word,
			  const char *meta, const char *addr_key, const char *port_key)
{
	char buf[ADDR_STRLEN + 16], text[ADDR_STRLEN];
	const char *host, *port;
	unsigned long portnum;
	__be32 addr[4];
	__u8 family;
	char *sep;

	if (strlen(word) >= sizeof(buf))
		return fail(p, "expected %s, got '%s'", meta, shown);
	strcpy(buf, word);
	if (buf[0] == '[') {
		sep = strchr(buf, ']');
		if (!sep || sep[1] != ':')
			return fail(p, "expected %s, got '%s'", meta, shown);
		*sep = '\0';
		host = buf + 1;
		port = sep + 2;
	} else {
		sep = strrchr(buf, ':');
		if (!sep)
			return fail(p, "expected %s, got '%s'", meta, shown);
		*sep = '\0';
		host = buf;
		port = sep + 1;
		if (strchr(host, ':'))
			return fail(p, "'%s': an IPv6 address goes in brackets: [%s]:%s", shown,
				    host, port);
	}
	if (addr_parse(host, addr, &family))
		return fail(p, "'%s': '%s' is not an IPv4 or IPv6 address", shown, host);
	if (!parse_number(port, 1, 65535, &portnum))
		return fail(p, "'%s': port needs a number 1-65535, got '%s'", shown, port);
	addr_format(addr, family, text, sizeof(text));
	if (set_string(p, addr_key, text) || set_integer(p, port_key, portnum))
		return -ENOMEM;
	return 0;
}

/* ADDR:PORT/PROTO */
static int parse_service(struct parse_ctx *p, const struct cli_arg *a, const char *word)
{
	char buf[ADDR_STRLEN + 32], choices[32];
	char *slash;
	int err;

	if (strlen(word) >= sizeof(buf))
		return fail(p, "expected %s, got '%s'", a->meta, word);
	strcpy(buf, word);
	slash = strrchr(buf, '/');
	if (!slash)
		return fail(p, "expected %s, got '%s'", a->meta, word);
	*slash = '\0';
	if (vocab_value(&vocab_protocol, slash + 1, NULL)) {
		vocab_join(&vocab_protocol, ", ", NULL, choices, sizeof(choices));
		return fail(p, "protocol needs one of %s, got '%s'", choices, slash + 1);
	}
	err = parse_endpoint(p, word, buf, a->meta, "address", "port");
	if (err)
		return err;
	return set_string(p, "protocol", slash + 1);
}

/* One argument's value; word is NULL when the command line ended first. */
static int parse_value(struct parse_ctx *p, const struct cli_arg *a, const char *word)
{
	unsigned long n;
	char choices[64];

	switch (a->type) {
	case ARG_WORD:
		if (!word || !word[0])
			return fail(p, "missing %s", a->meta);
		return set_string(p, a->key, word);
	case ARG_CHOICE:
		vocab_join(a->choices, ", ", NULL, choices, sizeof(choices));
		if (!word)
			return fail(p, "%s needs one of %s", arg_name(a), choices);
		if (vocab_value(a->choices, word, NULL))
			return fail(p, "%s needs one of %s, got '%s'", arg_name(a), choices, word);
		return set_string(p, a->key, word);
	case ARG_NUMBER:
		if (!word)
			return fail(p, "%s needs a number %lu-%lu", arg_name(a), a->min, a->max);
		if (!parse_number(word, a->min, a->max, &n))
			return fail(p, "%s needs a number %lu-%lu, got '%s'", arg_name(a), a->min,
				    a->max, word);
		return set_integer(p, a->key, n);
	case ARG_PRIME:
		if (!word)
			return fail(p, "%s needs a prime number %lu-%lu", arg_name(a), a->min,
				    a->max);
		if (!parse_number(word, a->min, a->max, &n) || !is_prime(n))
			return fail(p, "%s needs a prime number %lu-%lu, got '%s'", arg_name(a),
				    a->min, a->max, word);
		return set_integer(p, a->key, n);
	case ARG_SERVICE:
		if (!word)
			return fail(p, "missing %s", a->meta);
		return parse_service(p, a, word);
	case ARG_ENDPOINT:
		if (!word)
			return fail(p, "missing %s", a->meta);
		return parse_endpoint(p, word, word, a->meta, a->key, a->port_key);
	case ARG_FLAG:
		return json_object_set_new(p->args, a->key, json_true()) ? -ENOMEM : 0;
	}
	return -EINVAL;
}

static bool is_positional(const struct cli_arg *a)
{
	return !a->keyword && !(a->flags & ARG_BARE);
}

static bool is_option(const struct cli_arg *a)
{
	return a->keyword && a->keyword[0] == '-';
}

/* "--timeout" and "--timeout=60" are the option --timeout. */
static bool is_option_word(const struct cli_arg *a, const char *word)
{
	size_t len = strcspn(word, "=");

	return is_option(a) && strlen(a->keyword) == len && strncmp(a->keyword, word, len) == 0;
}

/* The command option word names, in whichever command has it. */
static const struct cli_arg *find_command_option(const char *word)
{
	for (size_t i = 0; i < ARRAY_SIZE(cli_objects); i++)
		for (size_t k = 0; k < cli_objects[i].ncmds; k++)
			for (size_t n = 0; n < cli_objects[i].cmds[k].nargs; n++)
				if (is_option_word(&cli_objects[i].cmds[k].args[n], word))
					return &cli_objects[i].cmds[k].args[n];
	return NULL;
}

/* The command's options, which parse_options() set aside, each with its
 * value after it (or after "="). Their values go to opts, not to the
 * request's args.
 */
static int parse_command_options(struct parse_ctx *p, const struct cli_command *c, int argc,
				 char **argv, json_t *opts)
{
	struct parse_ctx o = *p;
	int err;

	o.args = opts;
	for (int w = 0; w < argc; w++) {
		const char *word = argv[w], *eq = strchr(word, '=');
		const struct cli_arg *a = NULL;

		for (size_t i = 0; i < c->nargs && !a; i++)
			if (is_option_word(&c->args[i], word))
				a = &c->args[i];
		if (!a)
			return fail(p, "unknown option '%s'", word);
		if (json_object_get(opts, a->key))
			return fail(p, "%s given twice", a->keyword);
		if (a->type == ARG_FLAG && eq)
			return fail(p, "%s takes no value", a->keyword);
		if (a->type == ARG_FLAG || eq)
			err = parse_value(&o, a, eq ? eq + 1 : NULL);
		else
			err = parse_value(&o, a, w + 1 < argc ? argv[++w] : NULL);
		if (err)
			return err;
	}
	return 0;
}

/* A command option that asks for part of the result (ring show --digest)
 * brings its renderer, which prints text: with -j or -p, the result is
 * printed whole, so the option would mean nothing.
 */
static int option_renderer(struct parse_ctx *p, const struct cli_command *c, const json_t *opts,
			   struct cli_request *out)
{
	for (size_t i = 0; i < c->nargs; i++) {
		const struct cli_arg *a = &c->args[i];

		if (!a->render || !json_is_true(json_object_get(opts, a->key)))
			continue;
		if (out->output != CLI_OUTPUT_TABLE)
			return fail(p, "-j and -p do not go with %s", a->keyword);
		out->render = a->render;
	}
	return 0;
}

/* The arguments after the command: the required positional ones first, in
 * order; then keywords, bare words and optional positional ones in any
 * order. Keywords win over an optional positional (a VIP named "limit"
 * cannot be listed by flow list), never over a required one.
 */
static int parse_args(struct parse_ctx *p, const struct cli_command *c, int argc, char **argv)
{
	bool seen[8] = { false }, any_keyword = false;
	char expected[128];
	size_t i, n;
	int w = 0, err;

	if (c->nargs > ARRAY_SIZE(seen))
		return -EINVAL;
	for (i = 0; i < c->nargs; i++) {
		const struct cli_arg *a = &c->args[i];

		if (!is_positional(a) || (a->flags & ARG_OPTIONAL))
			continue;
		err = parse_value(p, a, w < argc ? argv[w] : NULL);
		if (err)
			return err;
		seen[i] = true;
		w++;
	}
	while (w < argc) {
		const char *word = argv[w];
		const struct cli_arg *a = NULL;

		for (i = 0; i < c->nargs && !a; i++) {
			const struct cli_arg *b = &c->args[i];

			/* An option is never a word here: after "--" it is a
			 * name.
			 */
			if ((b->keyword && !is_option(b) && strcmp(b->keyword, word) == 0) ||
			    ((b->flags & ARG_BARE) && vocab_value(b->choices, word, NULL) == 0))
				a = b;
		}
		for (i = 0; i < c->nargs && !a; i++)
			if (is_positional(&c->args[i]) && !seen[i])
				a = &c->args[i];
		if (!a) {
			n = 0;
			expected[0] = '\0';
			for (i = 0; i < c->nargs && n < sizeof(expected); i++) {
				const struct cli_arg *b = &c->args[i];

				if ((b->keyword && !is_option(b)) || (b->flags & ARG_BARE))
					n += (size_t)snprintf(expected + n, sizeof(expected) - n,
							      "%s%s", n ? ", " : "",
							      b->keyword ? b->keyword
									 : arg_name(b));
			}
			if (n)
				return fail(p, "unknown argument '%s' (expected %s)", word,
					    expected);
			return fail(p, "unexpected argument '%s'", word);
		}
		i = (size_t)(a - c->args);
		if (seen[i])
			return fail(p, "%s given twice", arg_name(a));
		seen[i] = true;
		if (a->keyword) {
			any_keyword = true;
			err = parse_value(p, a, w + 1 < argc ? argv[w + 1] : NULL);
			w += 2;
		} else {
			err = parse_value(p, a, word);
			w++;
		}
		if (err)
			return err;
		if (a->flags & ARG_PAIRED) {
			/* The next argument completes this one. */
			const struct cli_arg *next = a + 1;

			seen[i + 1] = true;
			if (w >= argc)
				return fail(p, "%s needs %s after it", a->meta, next->meta);
			err = parse_value(p, next, argv[w]);
			if (err)
				return err;
			w++;
		}
	}
	if ((c->flags & CMD_NEEDS_KEYWORD) && !any_keyword) {
		n = 0;
		for (i = 0; i < c->nargs && n < sizeof(expected); i++)
			if (c->args[i].keyword)
				n += (size_t)snprintf(expected + n, sizeof(expected) - n, "%s%s",
						      n ? " and/or " : "", c->args[i].keyword);
		return fail(p, "nothing to change: give %s", expected);
	}
	return 0;
}

/* A name or a prefix of exactly one name (an exact match wins). Returns the
 * index, -ENOENT, -EAGAIN (ambiguous) or -EPERM (a prefix of a name that
 * must be spelled out).
 */
static int match_name(const char *word, const char *const *names, const bool *no_prefix, size_t n)
{
	size_t len = strlen(word);
	int found = -ENOENT;
	bool guarded = false;

	if (!len)
		return -ENOENT;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(names[i], word) == 0)
			return (int)i;
		if (strncmp(names[i], word, len))
			continue;
		if (no_prefix[i])
			guarded = true;
		else
			found = found == -ENOENT ? (int)i : -EAGAIN;
	}
	return found == -ENOENT && guarded ? -EPERM : found;
}

/* match_name() with an error message for what it refuses; what is
 * "object" or "command".
 */
static int match_word(struct parse_ctx *p, const char *word, const char *const *names,
		      const bool *no_prefix, size_t n, const char *what)
{
	int i = match_name(word, names, no_prefix, n);
	char list[128];
	size_t len = 0;

	if (i >= 0)
		return i;
	/* The candidates, or every name when there is none. */
	for (size_t k = 0; k < n && len < sizeof(list); k++)
		if (i == -ENOENT || strncmp(names[k], word, strlen(word)) == 0)
			len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s",
						len ? ", " : "", names[k]);
	if (i == -EAGAIN)
		return fail(p, "'%s' is ambiguous: %s", word, list);
	if (i == -EPERM)
		return fail(p, "'%s': write %s in full", word, list);
	return fail(p, "unknown %s '%s' (%ss: %s)", what, word, what, list);
}

static int match_object(struct parse_ctx *p, const char *word, const struct cli_object **out)
{
	const char *names[ARRAY_SIZE(cli_objects)];
	bool no_prefix[ARRAY_SIZE(cli_objects)];
	int i;

	for (i = 0; i < (int)ARRAY_SIZE(cli_objects); i++) {
		names[i] = cli_objects[i].name;
		/* An object that is its own command shares its flags. */
		no_prefix[i] = !cli_objects[i].cmds[0].name &&
			       (cli_objects[i].cmds[0].flags & CMD_NO_PREFIX);
	}
	i = match_word(p, word, names, no_prefix, ARRAY_SIZE(cli_objects), "object");
	if (i < 0)
		return i;
	*out = &cli_objects[i];
	return 0;
}

static int match_command(struct parse_ctx *p, const struct cli_object *o, const char *word,
			 const struct cli_command **out)
{
	const char *names[8];
	bool no_prefix[8];
	int i;

	if (o->ncmds > ARRAY_SIZE(names))
		return -EINVAL;
	for (i = 0; i < (int)o->ncmds; i++) {
		names[i] = o->cmds[i].name;
		no_prefix[i] = o->cmds[i].flags & CMD_NO_PREFIX;
	}
	i = match_word(p, word, names, no_prefix, o->ncmds, "command");
	if (i < 0)
		return i;
	*out = &o->cmds[i];
	return 0;
}

#define INTERVAL_MIN 0.1
#define INTERVAL_MAX 3600.0

/* Seconds INTERVAL_MIN..INTERVAL_MAX, a fraction allowed: 0.5, 2. */
static bool parse_seconds(const char *s, double *out)
{
	char *end;
	double v;

	if (!isdigit((unsigned char)s[0]) && s[0] != '.')
		return false;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !(v >= INTERVAL_MIN && v <= INTERVAL_MAX))
		return false;
	*out = v;
	return true;
}

static const struct opt_spec *find_option(const char *word, const char **value)
{
	*value = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(cli_options); i++) {
		const struct opt_spec *o = &cli_options[i];
		size_t len = strlen(o->long_name);

		if (word[1] == '-') {
			if (strncmp(word + 2, o->long_name, len))
				continue;
			if (word[2 + len] == '\0')
				return o;
			if (word[2 + len] == '=' && o->arg) {
				*value = word + 3 + len;
				return o;
			}
		} else if (word[1] == o->short_name) {
			if (word[2] == '\0')
				return o;
			if (o->arg) {
				*value = word + 2;
				return o;
			}
		}
	}
	return NULL;
}

/* Takes the options out of argv wherever they are (up to "--") and leaves
 * the other words in words[], in order, and the commands' options with
 * their values in opts[], for the command to parse.
 */
static int parse_options(struct parse_ctx *p, int argc, char **argv, struct cli_request *out,
			 char **words, int *nwords, char **opts, int *nopts)
{
	bool json = false, pretty = false, dashdash = false;
	int n = 0, m = 0;
	unsigned long count;

	for (int i = 1; i < argc; i++) {
		const struct opt_spec *o;
		const char *value, *word;

		/* "-1" is a (bad) number for an argument to refuse, not an
		 * unknown option.
		 */
		if (dashdash || argv[i][0] != '-' || argv[i][1] == '\0' ||
		    isdigit((unsigned char)argv[i][1])) {
			words[n++] = argv[i];
			continue;
		}
		if (strcmp(argv[i], "--") == 0) {
			dashdash = true;
			continue;
		}
		word = argv[i];
		o = find_option(word, &value);
		if (!o) {
			const struct cli_arg *a = find_command_option(word);

			if (!a)
				return fail(p, "unknown option '%s'", word);
			opts[m++] = argv[i];
			if (a->type != ARG_FLAG && !strchr(word, '=') && i + 1 < argc)
				opts[m++] = argv[++i];
			continue;
		}
		if (o->arg && !value) {
			if (i + 1 >= argc)
				return fail(p, "option '%s' needs %s", word, o->arg);
			value = argv[++i];
		}
		switch (o->id) {
		case OPT_JSON:
			json = true;
			break;
		case OPT_PRETTY:
			pretty = true;
			break;
		case OPT_SOCKET:
			if (!value || !value[0])
				return fail(p, "option '%s' needs %s", word, o->arg);
			out->socket = value;
			out->socket_given = true;
			break;
		case OPT_CONFIG:
			if (!value || !value[0])
				return fail(p, "option '%s' needs %s", word, o->arg);
			out->config = value;
			break;
		case OPT_FOLLOW:
			out->follow = true;
			break;
		case OPT_COMPLETION:
			if (!value || strcmp(value, "bash") != 0)
				return fail(p, "option '%s' knows bash only, not '%s'", word,
					    value ? value : "");
			out->completion = value;
			break;
		case OPT_INTERVAL:
			if (!value || !parse_seconds(value, &out->interval_s))
				return fail(p,
					    "option '%s' needs a number of seconds %g-%g, got '%s'",
					    word, INTERVAL_MIN, INTERVAL_MAX, value);
			break;
		case OPT_COUNT:
			if (!value || !parse_number(value, 1, LONG_MAX, &count))
				return fail(p, "option '%s' needs a number 1 or more, got '%s'",
					    word, value);
			out->count = (long)count;
			break;
		case OPT_HELP:
			out->help = true;
			break;
		case OPT_VERSION:
			out->version = true;
			break;
		}
	}
	out->output = pretty ? CLI_OUTPUT_PRETTY : json ? CLI_OUTPUT_JSON : CLI_OUTPUT_TABLE;
	*nwords = n;
	*nopts = m;
	return 0;
}

/* help [OBJECT [COMMAND]], with the words after "help". */
static int parse_help(struct parse_ctx *p, int argc, char **argv, struct cli_request *out)
{
	int err;

	out->help = true;
	if (argc == 0)
		return 0;
	err = match_object(p, argv[0], &out->object);
	if (err || argc == 1)
		return err;
	if (!out->object->cmds[0].name)
		return fail(p, "%s has no commands", out->object->name);
	snprintf(p->where, sizeof(p->where), "%s", out->object->name);
	err = match_command(p, out->object, argv[1], &out->command);
	if (err || argc == 2)
		return err;
	return fail(p, "unexpected argument '%s' after help", argv[2]);
}

static bool is_help(const char *word)
{
	return strcmp(word, "help") == 0;
}

int cli_parse(int argc, char **argv, struct cli_request *out, char *err, size_t errlen)
{
	struct parse_ctx p = { .err = err, .errlen = errlen };
	const struct cli_object *o;
	const struct cli_command *c;
	json_t *opts = NULL, *timeout;
	char **words, **optv;
	int nwords = 0, nopts = 0, w = 0, ret;

	memset(out, 0, sizeof(*out));
	out->socket = CLI_DEFAULT_SOCKET;
	if (errlen)
		err[0] = '\0';
	/* words, then the command options */
	words = calloc(2 * (size_t)(argc > 0 ? argc : 1), sizeof(*words));
	if (!words)
		return -ENOMEM;
	optv = words + (argc > 0 ? argc : 1);
	ret = parse_options(&p, argc, argv, out, words, &nwords, optv, &nopts);
	if (ret)
		goto cleanup;
	/* -V anywhere: the version, whatever else the line says; and the
	 * completion script.
	 */
	if (out->version || out->completion)
		goto cleanup;
	/* -h anywhere: the help of the object and command before it. */
	if (out->help) {
		ret = parse_help(&p, nwords < 2 ? nwords : 2, words, out);
		goto cleanup;
	}
	if (nwords == 0) {
		ret = fail(&p, "missing OBJECT");
		goto cleanup;
	}
	if (is_help(words[0])) {
		ret = parse_help(&p, nwords - 1, words + 1, out);
		goto cleanup;
	}
	ret = match_object(&p, words[w++], &out->object);
	if (ret)
		goto cleanup;
	o = out->object;
	if (w < nwords && is_help(words[w])) {
		out->help = true;
		goto cleanup;
	}
	if (!o->cmds[0].name) {
		c = &o->cmds[0];
	} else if (w < nwords) {
		snprintf(p.where, sizeof(p.where), "%s", o->name);
		ret = match_command(&p, o, words[w++], &c);
		if (ret)
			goto cleanup;
	} else if (o->default_cmd) {
		ret = match_command(&p, o, o->default_cmd, &c);
		if (ret)
			goto cleanup;
	} else {
		ret = fail(&p, "%s: missing command (try '%s %s help')", o->name, CLI_PROG,
			   o->name);
		goto cleanup;
	}
	out->command = c;
	if (w < nwords && is_help(words[w])) {
		out->help = true;
		goto cleanup;
	}
	snprintf(p.where, sizeof(p.where), "%s%s%s", o->name, c->name ? " " : "",
		 c->name ? c->name : "");
	p.args = json_object();
	opts = json_object();
	if (!p.args || !opts) {
		ret = -ENOMEM;
		goto cleanup;
	}
	ret = parse_args(&p, c, nwords - w, words + w);
	if (ret)
		goto cleanup;
	ret = parse_command_options(&p, c, nopts, optv, opts);
	if (!ret)
		ret = option_renderer(&p, c, opts, out);
	if (ret)
		goto cleanup;
	/* worker reload: --timeout means to wait. */
	timeout = json_object_get(opts, "timeout");
	out->wait = json_is_true(json_object_get(opts, "wait")) || timeout;
	out->wait_s = timeout ? (unsigned int)json_integer_value(timeout) : CLI_WAIT_S;
	/* -d, -n and -f shape the loop of top or worker logs, which print no
	 * JSON.
	 */
	if ((out->interval_s > 0 && !(c->flags & CMD_OPT_INTERVAL)) ||
	    (out->count && !(c->flags & CMD_OPT_COUNT)) ||
	    (out->follow && !(c->flags & CMD_OPT_FOLLOW))) {
		ret = fail(&p, "-d goes with top only, -n with top and worker logs, -f with "
			       "worker logs");
		goto cleanup;
	}
	if (c->run && out->output != CLI_OUTPUT_TABLE) {
		ret = fail(&p, "-j and -p do not go with %s", p.where);
		goto cleanup;
	}
	out->cmd = c->cmd;
	out->run = c->run;
	out->args = p.args;
	p.args = NULL;
	out->timeout_ms = c->timeout_ms ? c->timeout_ms : CLI_TIMEOUT_MS;
cleanup:
	json_decref(p.args);
	json_decref(opts);
	free(words);
	return ret;
}

void cli_request_release(struct cli_request *req)
{
	json_decref(req->args);
	req->args = NULL;
}

/* Help */

/* The synopsis of an argument list: NAME ADDR:PORT/PROTO [dsr|ipip] [ring N]. */
static void arg_synopsis(const struct cli_arg *a, char *buf, size_t len)
{
	char choices[64] = "";
	const char *meta = a->meta;

	if (a->type == ARG_FLAG) {
		snprintf(buf, len, "%s", a->keyword);
		return;
	}
	if (!meta) {
		vocab_join(a->choices, "|", NULL, choices, sizeof(choices));
		meta = choices;
	}
	if (a->keyword)
		snprintf(buf, len, "%s %s", a->keyword, meta);
	else
		snprintf(buf, len, "%s", meta);
}

static void command_synopsis(const struct cli_object *o, const struct cli_command *c, char *buf,
			     size_t len)
{
	size_t n = (size_t)snprintf(buf, len, "%s%s%s", o->name, c->name ? " " : "",
				    c->name ? c->name : "");
	bool braces = c->flags & CMD_NEEDS_KEYWORD, first_kw = true;
	char one[96];

	for (size_t i = 0; i < c->nargs && n < len; i++) {
		const struct cli_arg *a = &c->args[i];

		arg_synopsis(a, one, sizeof(one));
		if (braces && a->keyword) {
			n += (size_t)snprintf(buf + n, len - n, "%s%s", first_kw ? " { " : " | ",
					      one);
			first_kw = false;
			continue;
		}
		if (!(a->flags & ARG_OPTIONAL)) {
			n += (size_t)snprintf(buf + n, len - n, " %s", one);
		} else if (a->flags & ARG_PAIRED) {
			char next[96];

			arg_synopsis(a + 1, next, sizeof(next));
			n += (size_t)snprintf(buf + n, len - n, " [%s %s]", one, next);
			i++;
		} else {
			n += (size_t)snprintf(buf + n, len - n, " [%s]", one);
		}
	}
	if (braces && !first_kw && n < len)
		snprintf(buf + n, len - n, " }...");
}

#define HELP_INDENT "        "
#define ARG_COLUMN 24

static void command_help(FILE *f, const struct cli_object *o, const struct cli_command *c)
{
	char synopsis[256], one[96];

	command_synopsis(o, c, synopsis, sizeof(synopsis));
	fprintf(f, "Usage: %s [OPTIONS] %s\n\n", CLI_PROG, synopsis);
	print_indented(f, "", c->help);
	if (c->nargs)
		fputc('\n', f);
	for (size_t i = 0; i < c->nargs; i++) {
		const struct cli_arg *a = &c->args[i];
		const char *nl;

		arg_synopsis(a, one, sizeof(one));
		if (strlen(one) + 4 > ARG_COLUMN) {
			fprintf(f, "  %s\n", one);
			print_indented(f, "                        ", a->help);
			continue;
		}
		/* The first line follows the name; the others align under it. */
		nl = strchr(a->help, '\n');
		fprintf(f, "  %-*s", ARG_COLUMN - 2, one);
		if (!nl) {
			fprintf(f, "%s\n", a->help);
			continue;
		}
		fprintf(f, "%.*s\n", (int)(nl - a->help), a->help);
		print_indented(f, "                        ", nl + 1);
	}
}

static void object_help(FILE *f, const struct cli_object *o)
{
	char synopsis[256];

	if (!o->cmds[0].name) {
		command_help(f, o, &o->cmds[0]);
		return;
	}
	fprintf(f, "%s: %s\n\n", o->name, o->help);
	for (size_t i = 0; i < o->ncmds; i++) {
		command_synopsis(o, &o->cmds[i], synopsis, sizeof(synopsis));
		fprintf(f, "  %s %s\n", CLI_PROG, synopsis);
		print_indented(f, HELP_INDENT, o->cmds[i].help);
	}
	if (o->default_cmd)
		fprintf(f, "\n'%s %s' alone runs '%s %s %s'.\n", CLI_PROG, o->name, CLI_PROG,
			o->name, o->default_cmd);
	fprintf(f, "\nArguments of one command: %s %s COMMAND help\n", CLI_PROG, o->name);
}

static void usage(FILE *f)
{
	char synopsis[256];

	fprintf(f, "Usage: %s [OPTIONS] OBJECT COMMAND [ARGS]\n\nCommands:\n", CLI_PROG);
	for (size_t i = 0; i < ARRAY_SIZE(cli_objects); i++) {
		for (size_t k = 0; k < cli_objects[i].ncmds; k++) {
			const struct cli_command *c = &cli_objects[i].cmds[k];
			const char *nl = strchr(c->help, '\n');

			command_synopsis(&cli_objects[i], c, synopsis, sizeof(synopsis));
			fprintf(f, "  %s\n", synopsis);
			/* The summary: the help's first line. */
			if (nl)
				fprintf(f, HELP_INDENT "%.*s\n", (int)(nl - c->help), c->help);
			else
				fprintf(f, HELP_INDENT "%s\n", c->help);
		}
	}
	fprintf(f, "  help\n" HELP_INDENT "Print this help.\n\n");
	opts_print_help(f, cli_options, ARRAY_SIZE(cli_options));
	fprintf(f,
		"\n"
		"More about an object or a command: %s OBJECT help,\n"
		"%s OBJECT COMMAND help.\n"
		"Names of objects and commands may be shortened to a unique prefix\n"
		"(\"vip l\" for \"vip list\"); detach and flow flush must be spelled out.\n"
		"IPv6 addresses go in brackets: [fd00::1]:80.\n"
		"Exit status: 0 on success, 1 when the agent reports an error or cannot be\n"
		"reached, 2 on a usage error.\n",
		CLI_PROG, CLI_PROG);
}

void cli_help(FILE *f, const struct cli_request *req)
{
	if (req->command)
		command_help(f, req->object, req->command);
	else if (req->object)
		object_help(f, req->object);
	else
		usage(f);
}

const char *cli_help_command(const struct cli_request *req, char *buf, size_t len)
{
	if (req->command && req->command->name)
		snprintf(buf, len, "%s %s %s help", CLI_PROG, req->object->name,
			 req->command->name);
	else if (req->object)
		snprintf(buf, len, "%s %s help", CLI_PROG, req->object->name);
	else
		snprintf(buf, len, "%s help", CLI_PROG);
	return buf;
}
