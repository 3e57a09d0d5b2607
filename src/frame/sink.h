/*
 * sink.h - the interface frames are written to (implementations: src/sinks/).
 *
 * A sink receives bytes of complete frames.  Each sink is one file ending
 * in a `const struct sink_ops`; the core only calls through the ops.
 */
#ifndef VANTAGE_SINK_H
#define VANTAGE_SINK_H

#include <stddef.h>
#include <stdint.h>

struct sink;

struct sink_ops {
	const char *name;
	/* Write all of [data, data+len). Returns 0 or a negative errno. */
	int (*write)(struct sink *s, const void *data, size_t len);
	/* Copy `len` bytes from file descriptor `fd` at offset 0. */
	int (*write_fd)(struct sink *s, int fd, size_t len);
	int (*flush)(struct sink *s);
	void (*close)(struct sink *s);
};

struct sink {
	const struct sink_ops *ops;
	char desc[256]; /* for messages: "stdout", the path ... */
};

int sink_write(struct sink *s, const void *data, size_t len);
int sink_write_fd(struct sink *s, int fd, size_t len);
/* Write bytes [from, len) of `fd` through the sink's write() (pread, so
 * the fd's offset is untouched): the generic way, and any write_fd's fallback. */
int sink_copy_fd(struct sink *s, int fd, size_t from, size_t len);
int sink_flush(struct sink *s);
void sink_close(struct sink *s);

#endif
