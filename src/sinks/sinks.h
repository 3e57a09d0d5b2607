/*
 * sinks.h - the sinks Vantage has, each behind the interface of
 * frame/sink.h.
 */
#ifndef VANTAGE_SINKS_H
#define VANTAGE_SINKS_H

#include <stdint.h>

#include "../frame/sink.h"

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

#endif
