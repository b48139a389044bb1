/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* bouncerctl's grammar and output: one table of objects and commands, from
 * which the arguments are parsed into control requests (docs/control.md)
 * and every level of help is printed, and the renderers that turn each
 * command's result into human tables.
 */
#ifndef BOUNCER_CLI_H
#define BOUNCER_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#define CLI_PROG "bouncerctl"
#define CLI_DEFAULT_SOCKET "/run/bouncer/bouncer.sock"
/* How long bouncerctl waits for a reply unless the command says longer. */
#define CLI_TIMEOUT_MS 5000
/* How long worker reload --wait follows a rolling reload unless --timeout
 * says otherwise: each worker's replacement may take its ready timeout
 * (10 s by default) to listen, one after the other.
 */
#define CLI_WAIT_S 600

enum cli_output {
	CLI_OUTPUT_TABLE = 0, /* human tables */
	CLI_OUTPUT_JSON, /* -j: the result, compact, one line */
	CLI_OUTPUT_PRETTY, /* -p: the result, indented */
};

struct cli_object;
struct cli_command;

/* What the command line asks for. object and command are set as far as
 * parsing got, on an error too, so that the error can point at the right
 * help.
 */
struct cli_request {
	const char *socket; /* -s, or CLI_DEFAULT_SOCKET; points into argv */
	enum cli_output output;
	/* Print the help of object/command (both NULL: all of it) and send
	 * nothing.
	 */
	bool help;
	bool version; /* -V: print the version and send nothing */
	const struct cli_object *object;
	const struct cli_command *command;
	const char *cmd; /* the protocol command, e.g. "backend.set" */
	json_t *args; /* the request's args, a new reference; NULL for help */
	int timeout_ms;
	/* worker reload --wait and host drain --wait: follow the reload
	 * or the drain, for at most wait_s seconds, and exit with its
	 * outcome.
	 */
	bool wait;
	unsigned int wait_s;
	/* A command that runs in bouncerctl itself instead of sending one
	 * request (top); NULL for the others. Returns the exit status.
	 */
	int (*run)(const struct cli_request *req);
	double interval_s; /* -d: seconds between top's refreshes; 0: not given */
	long count; /* -n: refreshes before top exits; 0: not given */
	/* The renderer of a command option that asks for part of the result
	 * (ring show --digest); NULL: the command's.
	 */
	void (*render)(FILE *f, const json_t *result);
};

/* Parses argv (argv[0] is the program) into *out. 0; -EINVAL with a
 * message in err for a usage error; -ENOMEM. Touches nothing but *out and
 * err. Release *out with cli_request_release() either way.
 */
int cli_parse(int argc, char **argv, struct cli_request *out, char *err, size_t errlen);
void cli_request_release(struct cli_request *req);

/* The help of req's object and command, or of everything. */
void cli_help(FILE *f, const struct cli_request *req);
/* "bouncerctl vip add help", the command that shows the help for where
 * parsing stopped, in buf.
 */
const char *cli_help_command(const struct cli_request *req, char *buf, size_t len);

/* Prints the result of the protocol command cmd as text. Commands whose
 * result says nothing more than "done" print nothing. 0, or -ENOENT for a
 * command that has no renderer. Fields missing from result print as "-".
 */
int cli_render(FILE *f, const char *cmd, const json_t *result);
/* Prints req's result as text: as its options ask (req->render), else as
 * cli_render() does for req->cmd. 0 or -ENOENT, as cli_render().
 */
int cli_render_request(FILE *f, const struct cli_request *req, const json_t *result);

/* Rates with SI suffixes, three significant digits: 999, 1.23k, 45.6M. */
const char *cli_format_rate(double v, char *buf, size_t len);
/* Durations, two units at most: 45s, 12m5s, 3h4m, 2d3h; "-" when negative
 * or not a number. padded: the second unit two digits wide, so that a
 * column reads at a glance (3m05s, 2h03m).
 */
const char *cli_format_duration(double seconds, bool padded, char *buf, size_t len);

/* host drain --wait, once host.show says drained: one line saying how long
 * the traffic took to go.
 */
void cli_render_host_drained(FILE *f, const json_t *host);

enum cli_reload_state {
	CLI_RELOAD_RUNNING, /* a VIP's rolling reload still runs */
	CLI_RELOAD_OK, /* every one ended "ok" */
	CLI_RELOAD_FAILED, /* one did not; the reasons went to err */
};

/* worker reload --wait: how the rolling reloads of the VIPs in started (the
 * result of worker.reload) stand, from a result of worker.list. A VIP no
 * longer listed counts as failed.
 */
enum cli_reload_state cli_reload_state(FILE *err, const json_t *list, const json_t *started);

/* A share 0-1 as a bar of width characters, '#' for the share and '.' for
 * the rest. Rounded to the nearest character, except that a share above 0
 * shows at least one '#' and a share below 1 at least one '.': a backend
 * that gets anything is told from one that gets nothing. Out of range or
 * not a number: blanks. buf needs width + 1 bytes; less cuts the bar.
 */
const char *cli_format_bar(double share, int width, char *buf, size_t len);

#endif /* BOUNCER_CLI_H */
