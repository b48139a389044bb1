// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* --version. build/version_build.h is written by the Makefile (rewritten
 * only when its text changes, so that a new commit recompiles this file
 * alone): BOUNCER_VERSION, the Makefile's VERSION, and BOUNCER_GIT, the
 * output of git describe --always --dirty, empty outside a checkout.
 */
#include "bouncer_abi.h"
#include "version.h"
#include "version_build.h"

void version_print(FILE *f, const char *prog)
{
	fprintf(f, "%s %s", prog, BOUNCER_VERSION);
	if (BOUNCER_GIT[0])
		fprintf(f, " (git %s)", BOUNCER_GIT);
	fprintf(f, ", map ABI version %d\n", BNC_MAP_ABI_VERSION);
}
