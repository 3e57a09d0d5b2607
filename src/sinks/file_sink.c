/*
 * file_sink.c - the file sink: frames to stdout or to a file.  URLs: "-"
 * (stdout), a plain path, file:PATH, file://PATH (sinks.h).
 *
 * The file is opened (created or truncated) when the sink is opened, so a
 * path that cannot be written fails before any crawling.  Writes go
 * straight to the descriptor in large blocks (frames arrive whole); spooled
 * frames are copied with sendfile() where the kernel allows it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include "../util/util.h"
#include "file_sink.h"
#include "sinks.h"

struct file_sink {
	struct sink base;
	int fd;
	bool own;
};

static int fs_write(struct sink *s, const void *data, size_t len)
{
	struct file_sink *fs = (struct file_sink *)s;
	const char *p = data;
	while (len) {
		ssize_t n = write(fs->fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int fs_write_fd(struct sink *s, int fd, size_t len)
{
	struct file_sink *fs = (struct file_sink *)s;
	off_t off = 0;
	while ((size_t)off < len) {
		ssize_t n = sendfile(fs->fd, fd, &off, len - (size_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
	}
	if ((size_t)off == len)
		return 0;
	/* sendfile refused (or stopped): copy the rest by hand */
	return sink_copy_fd(s, fd, (size_t)off, len);
}

static int fs_flush(struct sink *s)
{
	struct file_sink *fs = (struct file_sink *)s;
	if (fs->own && fsync(fs->fd) < 0 && errno != EINVAL && errno != EROFS)
		return -errno;
	return 0;
}

static void fs_close(struct sink *s)
{
	struct file_sink *fs = (struct file_sink *)s;
	if (fs->own)
		close(fs->fd);
	free(fs);
}

static const struct sink_ops file_sink_ops = {
    .name = "file",
    .write = fs_write,
    .write_fd = fs_write_fd,
    .flush = fs_flush,
    .close = fs_close,
};

int sink_file_open(const char *path, struct sink **out)
{
	struct file_sink *fs = calloc(1, sizeof(*fs));
	if (!fs)
		return -ENOMEM;
	fs->base.ops = &file_sink_ops;
	if (!path || strcmp(path, "-") == 0) {
		fs->fd = STDOUT_FILENO;
		fs->own = false;
		copy_str(fs->base.desc, sizeof(fs->base.desc), "stdout", 6);
	} else {
		/* 0600: frames hold config contents and command lines */
		fs->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fs->fd < 0) {
			int e = errno;
			free(fs);
			return -e;
		}
		fs->own = true;
		copy_str(fs->base.desc, sizeof(fs->base.desc), path, strlen(path));
	}
	*out = &fs->base;
	return 0;
}

/* "-", PATH, file:PATH, file://PATH (file:///abs: "/abs") */
static int file_open_url(const char *url, const char *rest, const struct sink_env *env,
                         struct sink **out, char *err, size_t errlen)
{
	const char *path = rest;
	if (rest != url && strncmp(path, "//", 2) == 0)
		path += 2; /* file://PATH; a plain "//x" is a path */
	if (!*path) {
		snprintf(err, errlen, "sink \"%s\": no file named (file:PATH, or - for stdout)",
		         url);
		return -EINVAL;
	}
	int r = sink_file_open(path, out);
	if (r < 0)
		snprintf(err, errlen, "sink \"%s\": cannot open %s: %s", url, path, strerror(-r));
	return r;
}

const struct sink_scheme sink_scheme_file = {
    .scheme = "file",
    .usage = "file:PATH",
    .open = file_open_url,
};
