// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* bouncerd --downgrade-maps: the pinned maps converted for an older
 * agent, which cannot know this build's layout.
 */
#include <string.h>

#include "config.h"
#include "daemon.h"
#include "lock.h"
#include "migrate.h"
#include "common/log.h"

int daemon_downgrade_maps(const struct daemon_opts *opts, unsigned int version)
{
	const char *state_dir = opts->state_dir ? opts->state_dir : "/run/bouncer";
	struct agent_lock lock;
	struct cfg *cfg;
	char err[512];
	int ret;

	ret = cfg_load(opts->config_path, &cfg, err, sizeof(err));
	if (ret) {
		log_errx("%s", err);
		return ret;
	}
	/* No agent may write the maps while they are converted. */
	agent_lock_init(&lock);
	ret = agent_lock_take(&lock, state_dir, cfg->pin_dir, cfg->control_socket);
	if (!ret)
		ret = migration_downgrade(cfg->pin_dir, version);
	agent_lock_release(&lock);
	cfg_free(cfg);
	return ret;
}
