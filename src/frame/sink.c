/*
 * sink.c - dispatch to a sink's ops (see sink.h).
 */
#include "sink.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

int sink_begin_frame(struct sink *s, const struct frame_info *info)
{
	return s->ops->begin_frame ? s->ops->begin_frame(s, info) : 0;
}

int sink_write(struct sink *s, const void *data, size_t len)
{
	return s->ops->write(s, data, len);
}

int sink_copy_fd(struct sink *s, int fd, size_t from, size_t len)
{
	char *tmp = malloc(1 << 20);
	if (!tmp)
		return -ENOMEM;
	off_t off = (off_t)from;
	int r = 0;
	while ((size_t)off < len && r == 0) {
		size_t want = len - (size_t)off < (1 << 20) ? len - (size_t)off : (1 << 20);
		ssize_t n = pread(fd, tmp, want, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : -EIO;
			break;
		}
		r = s->ops->write(s, tmp, (size_t)n);
		off += n;
	}
	free(tmp);
	return r;
}

int sink_write_fd(struct sink *s, int fd, size_t len)
{
	if (s->ops->write_fd)
		return s->ops->write_fd(s, fd, len);
	return sink_copy_fd(s, fd, 0, len);
}

int sink_end_frame(struct sink *s, const struct frame_summary *sum)
{
	return s->ops->end_frame ? s->ops->end_frame(s, sum) : 0;
}

int sink_flows(struct sink *s, const struct sflow_flow *f, size_t n)
{
	return s->ops->flows ? s->ops->flows(s, f, n) : 0;
}

int sink_flush(struct sink *s)
{
	return s->ops->flush ? s->ops->flush(s) : 0;
}

void sink_close(struct sink *s)
{
	if (s)
		s->ops->close(s);
}
