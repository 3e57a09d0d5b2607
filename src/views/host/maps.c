/*
 * maps.c - the memory mappings of a live process, from /proc/PID/maps
 * (parsed by linux/maps_parse), for the host and container views.
 *
 * The file is read whole (at most 16 MiB: a process with more mappings
 * than that is reported as -EFBIG after the lines read), then parsed line
 * by line; a malformed line is skipped.  Reading another process's maps
 * needs ptrace read access (root with CAP_SYS_PTRACE): -EACCES otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "../../util/buf.h"
#include "host.h"

#define MAX_MAPS (16u << 20)

struct maps_walk {
	const struct view_iter *it;
	int (*cb)(void *ctx, const struct maps_line *m);
};

static int one_line(const struct maps_line *m, void *arg)
{
	struct maps_walk *w = arg;
	return w->cb(w->it ? w->it->ctx : NULL, m);
}

int procfs_mappings(int proc_fd, int pid, const struct view_iter *it,
                    int (*cb)(void *ctx, const struct maps_line *m))
{
	char path[32];
	if (pid <= 0)
		return -ESRCH;
	snprintf(path, sizeof(path), "%d/maps", pid);
	int fd = openat(proc_fd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	struct buf b = {0};
	int r = 0;
	for (;;) {
		if (b.len >= MAX_MAPS) {
			r = -EFBIG;
			break;
		}
		buf_reserve(&b, 65536);
		ssize_t n = read(fd, b.data + b.len, 65536);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = errno == ESRCH ? -ESRCH : -errno;
			break;
		}
		if (n == 0)
			break;
		b.len += (size_t)n;
	}
	close(fd);
	if (r == 0 || r == -EFBIG) {
		struct maps_walk w = {.it = it, .cb = cb};
		int s = maps_for_each(b.data ? b.data : "", b.len, one_line, &w);
		if (s)
			r = s;
	}
	buf_free(&b);
	return r;
}
