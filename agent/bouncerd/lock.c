// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* One agent at a time; see lock.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "lock.h"
#include "common/log.h"
#include "common/util.h"

#define NLOCKS (sizeof(((struct agent_lock *)0)->fds) / sizeof(int))

void agent_lock_init(struct agent_lock *l)
{
	for (size_t i = 0; i < NLOCKS; i++)
		l->fds[i] = -1;
	l->held = false;
}

/* One line of /proc/locks, "1: FLOCK  ADVISORY  WRITE 1234 00:1d:5678 0
 * EOF": the holder's pid if it is a flock on the file dev:ino, else 0.
 */
static pid_t locks_line_pid(char *line, dev_t dev, ino_t ino)
{
	char *tok[6], *save = NULL, *end;
	unsigned long maj, min, i_no;
	long pid;
	size_t n;

	for (n = 0; n < 6; n++) {
		tok[n] = strtok_r(n ? NULL : line, " \t\n", &save);
		if (!tok[n])
			return 0;
	}
	if (strcmp(tok[1], "FLOCK") != 0)
		return 0;
	errno = 0;
	pid = strtol(tok[4], &end, 10);
	if (errno || *end || pid <= 0 || pid > INT_MAX)
		return 0;
	maj = strtoul(tok[5], &end, 16);
	if (*end != ':')
		return 0;
	min = strtoul(end + 1, &end, 16);
	if (*end != ':')
		return 0;
	i_no = strtoul(end + 1, &end, 10);
	if (errno || *end || maj != major(dev) || min != minor(dev) || i_no != ino)
		return 0;
	return (pid_t)pid;
}

/* The pid holding a flock on fd's file, from /proc/locks (it names the
 * file by device and inode); 0 when not found.
 */
static pid_t lock_holder(int fd)
{
	char line[256];
	struct stat st;
	pid_t pid = 0;
	FILE *f;

	if (fstat(fd, &st))
		return 0;
	f = fopen("/proc/locks", "re");
	if (!f)
		return 0;
	while (!pid && fgets(line, sizeof(line), f))
		pid = locks_line_pid(line, st.st_dev, st.st_ino);
	(void)fclose(f);
	return pid;
}

/* Locks path (a directory when is_dir, else a lock file, created) into
 * *fdp. what names it for the messages.
 */
static int lock_one(const char *path, bool is_dir, const char *what, int *fdp)
{
	int fd, err;
	pid_t pid;

	fd = is_dir ? open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
		    : open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		err = -errno;
		log_warn("cannot open %s", path);
		return err;
	}
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		err = -errno;
		if (err == -EWOULDBLOCK) {
			pid = lock_holder(fd);
			if (pid)
				log_errx("another bouncerd (pid %d) is running with %s %s: "
					 "not starting",
					 (int)pid, what, path);
			else
				log_errx("another bouncerd is running with %s %s (%s is locked): "
					 "not starting",
					 what, path, path);
		} else {
			log_warn("cannot lock %s", path);
		}
		close(fd);
		return err;
	}
	*fdp = fd;
	return 0;
}

/* The lock file says who holds it, for an operator with cat. */
static void lock_write_pid(int fd, const char *path)
{
	char buf[32];
	int len = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());

	if (ftruncate(fd, 0) || pwrite(fd, buf, (size_t)len, 0) != len)
		log_warn("cannot write the pid into %s", path);
}

int agent_lock_take(struct agent_lock *l, const char *state_dir, const char *pin_dir,
		    const char *control_socket)
{
	char path[PATH_MAX];
	char *dir = NULL, *slash;
	int err;

	agent_lock_init(l);
	err = mkdir_p(state_dir, 0700, NULL);
	if (err) {
		log_warnx("cannot create %s: %s", state_dir, strerror(-err));
		goto cleanup;
	}
	snprintf(path, sizeof(path), "%s/%s", state_dir, AGENT_LOCK_FILE);
	err = lock_one(path, false, "state directory", &l->fds[0]);
	if (err)
		goto cleanup;
	lock_write_pid(l->fds[0], path);

	err = mkdir_p(pin_dir, 0700, NULL);
	if (err) {
		log_warnx("cannot create %s: %s", pin_dir, strerror(-err));
		goto cleanup;
	}
	err = lock_one(pin_dir, true, "pin directory", &l->fds[1]);
	if (err)
		goto cleanup;

	if (snprintf(path, sizeof(path), "%s.lock", control_socket) >= (int)sizeof(path)) {
		err = -ENAMETOOLONG;
		log_warnx("%s: path too long", control_socket);
		goto cleanup;
	}
	dir = strdup(control_socket);
	if (!dir) {
		err = -ENOMEM;
		goto cleanup;
	}
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		err = mkdir_p(dir, 0700, NULL);
		if (err) {
			log_warnx("cannot create %s: %s", dir, strerror(-err));
			goto cleanup;
		}
	}
	err = lock_one(path, false, "control socket", &l->fds[2]);
	if (err)
		goto cleanup;
	lock_write_pid(l->fds[2], path);
	l->held = true;
cleanup:
	free(dir);
	if (err)
		agent_lock_release(l);
	return err;
}

void agent_lock_release(struct agent_lock *l)
{
	for (size_t i = 0; i < NLOCKS; i++) {
		if (l->fds[i] >= 0)
			close(l->fds[i]);
		l->fds[i] = -1;
	}
	l->held = false;
}
