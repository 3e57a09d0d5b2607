/*
 * maps.c - the memory mappings of a live process, from /proc/PID/maps
 * (parsed by linux/maps_parse), for the host and container views.
 *
 * The file is read whole (at most 16 MiB: a process with more mappings
 * than that is reported as -EFBIG after the lines read), then parsed line
 * by line; a malformed line is skipped.  Reading another process's maps
 * needs ptrace read access (root with CAP_SYS_PTRACE): -EACCES otherwise.
 *
 * The kernel's text is ambiguous about two things a hostile process picks:
 * a newline in a path is printed as the four bytes "\012" (a file named
 * "a\012b" prints the same), and " (deleted)" is appended to an unlinked
 * file's path (a file may be named "x (deleted)").  A line whose path has
 * a backslash or that ends in " (deleted)" is therefore asked again of
 * /proc/PID/map_files/START-END: its link target is the path unescaped,
 * and the file's link count says whether it is deleted.  That needs
 * CAP_SYS_ADMIN (or CAP_CHECKPOINT_RESTORE); without it the line's text
 * stays as it is.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../util/buf.h"
#include "host.h"

#define MAX_MAPS (16u << 20)

struct maps_walk {
	const struct view_iter *it;
	int (*cb)(void *ctx, const struct maps_line *m);
	int proc_fd, pid;
	/* the last path asked of map_files (a file mapped many times) */
	uint64_t inode;
	uint32_t major, minor;
	bool have, deleted;
	size_t len;
	char path[PATH_MAX];
};

static const char deleted_suffix[] = " (deleted)";

/* The exact path and deletion of mapping `m` from map_files into `w`:
 * false when it cannot be had (no capability, the mapping is gone). */
static bool exact_path(struct maps_walk *w, const struct maps_line *m)
{
	char name[64];
	struct stat st;
	size_t sl = sizeof(deleted_suffix) - 1;

	if (w->have && w->inode == m->inode && w->major == m->dev_major && w->minor == m->dev_minor)
		return true;
	snprintf(name, sizeof(name), "%d/map_files/%llx-%llx", w->pid, (unsigned long long)m->start,
	         (unsigned long long)m->end);
	ssize_t n = readlinkat(w->proc_fd, name, w->path, sizeof(w->path) - 1);
	if (n <= 0 || fstatat(w->proc_fd, name, &st, 0) < 0 || st.st_ino != m->inode)
		return false;
	w->len = (size_t)n;
	w->deleted = st.st_nlink == 0;
	if (w->deleted && w->len >= sl && !memcmp(w->path + w->len - sl, deleted_suffix, sl))
		w->len -= sl;
	w->path[w->len] = 0;
	w->inode = m->inode;
	w->major = m->dev_major;
	w->minor = m->dev_minor;
	w->have = true;
	return true;
}

static int one_line(const struct maps_line *m, void *arg)
{
	struct maps_walk *w = arg;
	struct maps_line q;

	if (m->inode && m->path_len && (m->deleted || memchr(m->path, '\\', m->path_len)) &&
	    exact_path(w, m)) {
		q = *m;
		q.path = w->path;
		q.path_len = w->len;
		q.deleted = w->deleted;
		m = &q;
	}
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
		struct maps_walk *w = malloc(sizeof(*w));
		int s = -ENOMEM;
		if (w) {
			*w = (struct maps_walk){.it = it, .cb = cb, .proc_fd = proc_fd, .pid = pid};
			s = maps_for_each(b.data ? b.data : "", b.len, one_line, w);
			free(w);
		}
		if (s)
			r = s;
	}
	buf_free(&b);
	return r;
}
