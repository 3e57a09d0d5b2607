/*
 * sink.h - where finished frames go.
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

/*
 * The file sink: `path` NULL or "-" means stdout.  The file is created (or
 * truncated) at open time so an unwritable path fails before any work.
 * Returns 0 or a negative errno.
 */
int sink_file_open(const char *path, struct sink **out);

/*
 * The store sink (sinks/store.c): each frame, collected whole between
 * flushes, goes to store_put_frame().  A frame the store cannot take (a
 * full disk) is kept in a bounded queue in memory and retried at the next
 * flush, so nothing collected is lost while the disk is full; flush returns
 * the store's error so the caller can log it.  `st` is borrowed.
 */
struct store;
int sink_store_open(struct store *st, struct sink **out);
/* Frames waiting for a retry in a store sink. */
int sink_store_pending(struct sink *s);
/* Id of the last frame a store sink stored (0 before any). */
int64_t sink_store_last_id(struct sink *s);

int sink_write(struct sink *s, const void *data, size_t len);
int sink_write_fd(struct sink *s, int fd, size_t len);
/* Write bytes [from, len) of `fd` through the sink's write() (pread, so
 * the fd's offset is untouched): the generic way, and any write_fd's fallback. */
int sink_copy_fd(struct sink *s, int fd, size_t from, size_t len);
int sink_flush(struct sink *s);
void sink_close(struct sink *s);

#endif
