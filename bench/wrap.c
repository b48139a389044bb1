// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "common/log.h"
#include "wrap.h"

/* Kept for a wrapper program the verifier rejects: libbpf prints the
 * verifier's log only below the level the benchmarks log at.
 */
static char verifier_log[1 << 20];

static int share_maps(struct bnc_maps *maps, struct bench_wrap *w)
{
	struct bpf_map *map;
	int fd, err;

	bpf_object__for_each_map(map, w->obj)
	{
		const char *name = bpf_map__name(map);

		if (bpf_map__is_internal(map) || strncmp(name, "bench_", 6) == 0)
			continue;
		fd = bnc_maps_map_fd(maps, name);
		if (fd < 0) {
			log_warnx("bench_wrap map %s: the load balancer has no such map: %s", name,
				  strerror(-fd));
			return fd;
		}
		err = bpf_map__reuse_fd(map, fd);
		if (err) {
			log_warnx("bench_wrap map %s: cannot reuse the load balancer's: %s", name,
				  strerror(-err));
			return err;
		}
	}
	return 0;
}

/* Only the program that failed wrote the log; its end says why. */
static void log_load_failure(int err)
{
	size_t len = strnlen(verifier_log, sizeof(verifier_log) - 1);
	const char *end = verifier_log + (len > 8192 ? len - 8192 : 0);

	log_warnx("cannot load the bench_wrap programs: %s; verifier log (end):\n%s",
		  strerror(-err), end);
}

int bench_wrap_load(struct bnc_maps *maps, struct bench_wrap **wrap)
{
	struct bpf_program *prog;
	struct bench_wrap *w;
	int err;

	*wrap = NULL;
	w = bench_wrap__open();
	if (!w) {
		err = -errno;
		log_warnx("cannot open the bench_wrap programs: %s", strerror(-err));
		return err;
	}
	err = share_maps(maps, w);
	bpf_object__for_each_program(prog, w->obj)
	{
		if (err)
			break;
		err = bpf_program__set_log_buf(prog, verifier_log, sizeof(verifier_log));
		if (err)
			log_warnx("bench_wrap: cannot set a log buffer: %s", strerror(-err));
	}
	if (!err) {
		err = bench_wrap__load(w);
		if (err)
			log_load_failure(err);
	}
	if (err) {
		bench_wrap__destroy(w);
		return err;
	}
	*wrap = w;
	return 0;
}
