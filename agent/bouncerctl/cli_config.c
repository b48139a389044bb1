// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Where the agent listens, when -s does not say: the control_socket of its
 * config file, read with libconfig (that one setting only: bouncerctl does
 * not judge the rest of the file, which bouncerd -t does).
 */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <libconfig.h>

#include "cli.h"

int cli_resolve_socket(struct cli_request *req, char *err, size_t errlen)
{
	const char *path = req->config ? req->config : CLI_DEFAULT_CONFIG, *v = NULL;
	char dir[4096];
	config_t lc;
	int ret = 0;

	if (req->socket_given)
		return 0;
	if (!req->config && access(path, F_OK) != 0) {
		/* No config here at all: the agent's own default, which the
		 * error on a failed connection names.
		 */
		req->socket = CLI_DEFAULT_SOCKET;
		return 0;
	}
	config_init(&lc);
	/* @include paths are relative to the file, as bouncerd reads them. */
	snprintf(dir, sizeof(dir), "%s", path);
	config_set_include_dir(&lc, dirname(dir));
	if (!config_read_file(&lc, path)) {
		if (config_error_type(&lc) == CONFIG_ERR_FILE_IO) {
			snprintf(err, errlen,
				 "cannot read %s: %s (give the control socket with -s SOCKET)",
				 path, strerror(errno));
			ret = -ENOENT;
		} else {
			snprintf(err, errlen, "%s:%d: %s (give the control socket with -s SOCKET)",
				 config_error_file(&lc) ? config_error_file(&lc) : path,
				 config_error_line(&lc), config_error_text(&lc));
			ret = -EINVAL;
		}
		goto cleanup;
	}
	if (!config_lookup_string(&lc, "control_socket", &v)) {
		if (config_lookup(&lc, "control_socket")) {
			snprintf(err, errlen, "%s: control_socket is not a string", path);
			ret = -EINVAL;
			goto cleanup;
		}
		v = CLI_DEFAULT_SOCKET;
	}
	if (strlen(v) >= sizeof(req->socket_buf) || !v[0]) {
		snprintf(err, errlen, "%s: control_socket '%s' is not a usable path", path, v);
		ret = -EINVAL;
		goto cleanup;
	}
	snprintf(req->socket_buf, sizeof(req->socket_buf), "%s", v);
	req->socket = req->socket_buf;
cleanup:
	config_destroy(&lc);
	return ret;
}
