/*
 * linereader.h - read a (procfs) file line by line through a fixed buffer.
 *
 * /proc/self/mountinfo on a Kubernetes node or /proc/diskstats on a SAN
 * host can be megabytes; the readers of views/host/stats.c and cgroup.c
 * stream them through one buffer of `cap` bytes instead of loading them whole.  A line
 * longer than the buffer is skipped (counted in `skipped`), never cut in
 * two.  The reader owns its buffer and its fd: lr_close() frees both.
 */
#ifndef VANTAGE_LINEREADER_H
#define VANTAGE_LINEREADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct linereader {
	int fd;
	char *buf;
	size_t cap;        /* buffer size = longest line kept */
	size_t start, end; /* unread bytes are buf[start, end) */
	bool eof;
	uint64_t skipped; /* lines dropped for being longer than cap */
};

/* Take ownership of `fd` and allocate a `cap`-byte buffer.  Returns 0 or
 * -ENOMEM (fd then closed). */
int lr_init(struct linereader *lr, int fd, size_t cap);

/* Next line, without its '\n', valid until the next call.  Returns 1 with
 * a line, 0 at the end of the file, or a negative errno of read(). */
int lr_next(struct linereader *lr, const char **line, size_t *len);

void lr_close(struct linereader *lr);

#endif
