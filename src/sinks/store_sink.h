/*
 * store_sink.h - what the store sink (store_sink.c) offers beyond the sink
 * interface: its queue of frames waiting for a retry and the id of the
 * last frame stored, which the daemon reports.  Open it with
 * sink_open("store:", env with .store) or sink_store_open() (the daemon's
 * locked sinks, engine/locked_sink.c, wrap one each).
 */
#ifndef VANTAGE_STORE_SINK_H
#define VANTAGE_STORE_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../frame/sink.h"

struct store;

/*
 * The store sink: each frame, collected whole, goes to store_put_frame()
 * at end_frame (or, from a writer that does not mark frames, at flush).  A
 * frame the store cannot take (a full disk) is kept in a bounded queue in
 * memory and retried before the next frame, so nothing collected is lost
 * while the disk is full; end_frame (flush) returns the store's error so
 * the caller can log it.  `st` is borrowed.
 */
int sink_store_open(struct store *st, struct sink **out);
/* Frames waiting for a retry in a store sink (0 for any other sink). */
int sink_store_pending(struct sink *s);
/* Retry the queued frames of a store sink now, oldest first, without
 * touching the frame being collected (the daemon does it for every lane
 * when another lane stored a frame).  0, or the store's error. */
int sink_store_retry(struct sink *s);
/* Id of the last frame a store sink stored (0 before any, or another sink). */
int64_t sink_store_last_id(struct sink *s);
/* Start (on) or end a batch: the frames ended meanwhile are stored in one
 * store transaction when it ends (the pending ones first).  Ending
 * returns 0 or the store's error (the frames then stay pending when it is
 * a passing one).  0 for any other sink. */
int sink_store_batch(struct sink *s, bool on);
/* Frames stored, and refused for good, since the last call. */
void sink_store_take(struct sink *s, uint64_t *stored, uint64_t *refused);
/* Frames the queue dropped since the sink was opened (it was full: the
 * oldest go first), and the bytes it holds now.  0 for any other sink. */
uint64_t sink_store_dropped(struct sink *s);
size_t sink_store_queued_bytes(struct sink *s);

#endif
