/*
 * linereader.c - line-by-line reading through a fixed buffer.
 *
 * How: buf[start, end) holds bytes read but not yet returned.  lr_next()
 * looks for '\n' there; when none, it moves the partial line to the front
 * and reads more.  A partial line that fills the whole buffer is too long:
 * it is dropped, and bytes are discarded up to the next '\n'.
 */
#include "linereader.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int lr_init(struct linereader *lr, int fd, size_t cap)
{
	memset(lr, 0, sizeof(*lr));
	lr->fd = fd;
	lr->cap = cap < 64 ? 64 : cap;
	lr->buf = malloc(lr->cap);
	if (!lr->buf) {
		close(fd);
		lr->fd = -1;
		return -ENOMEM;
	}
	return 0;
}

/* Read more bytes after buf[end].  Returns bytes read, 0 at EOF, -errno. */
static ssize_t lr_fill(struct linereader *lr)
{
	if (lr->eof)
		return 0;
	for (;;) {
		ssize_t n = read(lr->fd, lr->buf + lr->end, lr->cap - lr->end);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			lr->eof = true;
		lr->end += (size_t)n;
		return n;
	}
}

int lr_next(struct linereader *lr, const char **line, size_t *len)
{
	bool dropping = false;
	for (;;) {
		char *s = lr->buf + lr->start;
		size_t avail = lr->end - lr->start;
		char *nl = avail ? memchr(s, '\n', avail) : NULL;
		if (nl) {
			lr->start += (size_t)(nl - s) + 1;
			if (dropping) {
				dropping = false;
				continue;
			}
			*line = s;
			*len = (size_t)(nl - s);
			return 1;
		}
		if (lr->eof) {
			lr->start = lr->end;
			if (avail == 0 || dropping)
				return 0;
			*line = s; /* last line without '\n' */
			*len = avail;
			return 1;
		}
		/* Move the partial line to the front, or drop it if it
		 * already fills the buffer. */
		if (avail == lr->cap) {
			if (!dropping)
				lr->skipped++;
			dropping = true;
			avail = 0;
		}
		memmove(lr->buf, s, avail);
		lr->start = 0;
		lr->end = avail;
		ssize_t n = lr_fill(lr);
		if (n < 0)
			return (int)n;
	}
}

void lr_close(struct linereader *lr)
{
	if (lr->fd >= 0)
		close(lr->fd);
	free(lr->buf);
	lr->buf = NULL;
	lr->fd = -1;
}
