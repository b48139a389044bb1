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
/* The agent's config file, which names the control socket. */
#define CLI_DEFAULT_CONFIG "/etc/bouncer/bouncer.conf"
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
	/* -s; else, once cli_resolve_socket() ran, the config file's;
	 * points into argv or socket_buf.
	 */
	const char *socket;
	bool socket_given; /* -s */
	const char *config; /* -c; NULL: CLI_DEFAULT_CONFIG */
	char socket_buf[256];
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
	long count; /* -n: refreshes before top exits, lines of worker logs; 0: not given */
	bool follow; /* -f: worker logs follows new lines */
	const char *completion; /* --completion SHELL: print the script, send nothing */
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

/* The control socket, when -s did not name it: the control_socket of the
 * config file (-c, else CLI_DEFAULT_CONFIG; the agent's default when it
 * sets none). Without -c, a missing default config means the agent's
 * default socket. 0, or -errno with a message in err: -c's file missing or
 * unreadable, a config that does not parse.
 */
int cli_resolve_socket(struct cli_request *req, char *err, size_t errlen);

/* Says on stderr why a request got no reply (ctl_request()'s error). */
void cli_ctl_error(const struct cli_request *req, int err);
/* A reply's result, or NULL after saying on stderr why there is none (an
 * error reported by the agent). A reply with no result gets an empty one.
 */
json_t *cli_reply_result(json_t *reply);

/* After a command with --wait has been answered: follows what it started
 * (cli_wait.c) and returns the exit status.
 */
int cli_wait(const struct cli_request *req, const json_t *result);

/* worker logs (cli_logs.c): prints the recent lines, then with -f the new
 * ones until interrupted. The exit status.
 */
int cli_worker_logs_run(const struct cli_request *req);
/* The text of one line of worker.logs' result: "TIME NAME/ID STREAM: text". */
void cli_render_log_line(FILE *f, const char *vip, const json_t *line);

/* The bash completion script, made from the grammar (cli_complete.c). */
void cli_completion_bash(FILE *f);

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
