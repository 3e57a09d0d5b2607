/*
 * spool.h - a bounded on-disk queue of the frames a sink could not deliver,
 * replayed in order when the far end returns (docs/sinks.md, "The spool").
 *
 * One spool per sink, in its own directory (default: `spool/NAME/` next to
 * the store).  Frames are appended to segment files (NNNNNNNNNNNNNNNN.seg,
 * hexadecimal sequence numbers) as records: a 32-byte header (magic,
 * length, the frame's record count, the time it was spooled, CRC-32C over
 * the header and the bytes) then the bytes.  A file `cursor` says how far
 * replay got.  A sink uses it so:
 *
 *     struct spool_opts o = {.dir = "/var/lib/vantage/spool/http_x", .name = url};
 *     spool_open(&o, &sp, err, sizeof(err));
 *     if (!spool_empty(sp) || deliver_now(frame) < 0)
 *             spool_append(sp, frame, len, records);      // keeps the order
 *     while ((n = spool_replay(sp, &lim, deliver, ctx)) > 0)  // when due
 *             ;
 *
 * Bounds: max_bytes over the spooled records (headers included) and
 * max_age.  When an append would pass max_bytes, the OLDEST segments are
 * deleted whole (their records counted as dropped) until the new frame
 * fits: the newest state of a system is what monitoring needs, a frame
 * supersedes the older frames of its system, and blocking would stall the
 * crawler and the local store for a far end that is down.  Records older
 * than max_age are dropped (counted) when replay reaches them.  A frame
 * larger than max_bytes is refused (-EFBIG) and counted as dropped.
 *
 * Durability: spool_append() returns after write() and fdatasync() of the
 * segment (a frame it accepted survives a crash or a power loss); a new
 * segment's directory entry is fsynced too.  The cursor is rewritten after
 * every delivered batch without fsync: after a crash, frames delivered
 * just before it may be replayed again (at least once; receivers dedupe by
 * system and frame time).
 *
 * Recovery (spool_open): segments are read back in order; a record whose
 * header or checksum is wrong ends its segment: at the end of the last
 * segment (a torn write: the crash came mid-append) the file is truncated
 * there and the bytes counted as torn; elsewhere the rest of that segment
 * is skipped and counted the same way.  Segments before the cursor's are
 * deleted; unknown files are left alone.  Memory stays bounded: segments
 * are read streaming, a batch of replay holds at most its limits.
 *
 * Replay backoff: when a delivery fails, spool_replay() answers -EAGAIN
 * until a delay has passed: 1 s doubled after each failure up to 5 min,
 * with jitter (a random 50-100% of it).  spool_retry_later() starts that
 * delay from a failure the sink saw outside replay.
 *
 * Threads: every call takes the spool's mutex; deliver runs under it and
 * must not call the spool.  Counters (spool_counters) are atomics in a
 * registry that outlives the spool, read by /metrics without the mutex;
 * a spool reopened under the same name continues its counters.
 */
#ifndef VANTAGE_SPOOL_H
#define VANTAGE_SPOOL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/buf.h"

#define SPOOL_DEFAULT_MAX_BYTES (1024ull * 1024 * 1024) /* 1 GiB */
#define SPOOL_DEFAULT_MAX_AGE_S (7 * 86400)             /* a week */
#define SPOOL_RECORD_HEADER 32u

struct spool;

struct spool_opts {
	const char *dir;        /* the spool's directory, made (0700) if missing */
	const char *name;       /* the sink, for messages and /metrics (no secrets) */
	uint64_t max_bytes;     /* 0: SPOOL_DEFAULT_MAX_BYTES */
	int64_t max_age_s;      /* 0: SPOOL_DEFAULT_MAX_AGE_S; < 0: no limit */
	uint64_t segment_bytes; /* 0: max_bytes / 16, within [4 KiB, 64 MiB] */
	int64_t (*clock)(void); /* ns since the epoch; NULL: now_ns() (tests) */
};

/* One spooled frame handed to deliver. */
struct spool_item {
	const void *data; /* len bytes, not NUL-terminated */
	size_t len;
	uint64_t records; /* the count given to spool_append() */
	int64_t time_ns;  /* when it was spooled */
};

/* Deliver items[0..n) in order: 0 when all were delivered (they leave the
 * spool), or a negative errno when none were (they stay). */
typedef int (*spool_deliver_fn)(void *ctx, const struct spool_item *items, size_t n);

/* What one replay batch may hold (0: 1 item / 16 MiB). */
struct spool_limits {
	size_t max_items, max_bytes;
};

/* The counters of one spool (by name), for /metrics and exit messages. */
struct spool_counters {
	char name[256];
	char dir[512]; /* the spool's directory */
	atomic_uint_fast64_t spooled_frames, spooled_records, spooled_bytes;
	atomic_uint_fast64_t replayed_frames, replayed_records, replayed_bytes;
	atomic_uint_fast64_t dropped_frames, dropped_records, dropped_bytes;
	atomic_uint_fast64_t rejected_frames, rejected_records, rejected_bytes;
	atomic_uint_fast64_t torn_bytes, torn_records;
	atomic_uint_fast64_t frames, bytes; /* in the spool now */
};

/*
 * Open (or create) the spool, recovering what a previous run left (see
 * above).  Returns 0 and *out, or a negative errno with a message naming
 * the directory in err.
 */
int spool_open(const struct spool_opts *o, struct spool **out, char *err, size_t errlen);

/*
 * Append one frame (`records`: its record count, for the counters).  0 once
 * the frame is on disk; -EFBIG for a frame larger than max_bytes, or the
 * error of writing (-ENOSPC ...): the frame is then counted as dropped.
 */
int spool_append(struct spool *sp, const void *data, size_t len, uint64_t records);

/*
 * Deliver the oldest batch (within `lim`, NULL: one item) through
 * `deliver`.  Returns the number of items delivered (> 0); 0 when the
 * spool is empty; -EAGAIN when the backoff after a failure has not passed
 * (deliver not called); or deliver's error (the backoff then grows).
 * Callers loop while it returns > 0.
 */
int spool_replay(struct spool *sp, const struct spool_limits *lim, spool_deliver_fn deliver,
                 void *ctx);

/* Count frames the far end refused (not retried: a 4xx answer, say);
 * they appear on /metrics as event="rejected". */
void spool_count_rejected(struct spool *sp, uint64_t frames, uint64_t records, uint64_t bytes);
/* Start (or lengthen) the replay backoff after a failed delivery. */
void spool_retry_later(struct spool *sp);
/* Whether replay would be tried now (no backoff pending). */
bool spool_due(struct spool *sp);
/* Nothing waits in the spool. */
bool spool_empty(struct spool *sp);
/* The spool's counters (live until the process ends). */
const struct spool_counters *spool_counters(const struct spool *sp);
/* The spool's directory. */
const char *spool_dir(const struct spool *sp);
/* Close (what is spooled stays on disk for the next run); NULL allowed. */
void spool_close(struct spool *sp);

/*
 * The registry of every spool opened by this process: call fn on each
 * one's counters (in the order they were first opened).
 */
void spool_registry_foreach(void (*fn)(void *ctx, const struct spool_counters *c), void *ctx);
/* The registry's counters as Prometheus text (vantage_sink_spool_*);
 * nothing when no spool was opened. */
void spool_metrics(struct buf *out);

/*
 * A directory name for the spool of sink `url` under `base`: the URL
 * without its secrets (user info, query, fragment), each byte outside
 * [A-Za-z0-9.-] turned into '_', cut at 80 bytes, then '-' and 8 hex digits
 * of a hash of the whole URL without secrets.
 */
void spool_dir_for(const char *base, const char *url, char *dst, size_t cap);

#endif
