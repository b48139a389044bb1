/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* What --version prints, the same for every program: the release, the
 * commit it was built from, and the layout of the pinned maps.
 */
#ifndef BOUNCER_VERSION_H
#define BOUNCER_VERSION_H

#include <stdio.h>

/* "PROG VERSION (git DESCRIBE), map ABI version N", one line; the git
 * part only when the build had a git checkout.
 */
void version_print(FILE *f, const char *prog);

#endif /* BOUNCER_VERSION_H */
