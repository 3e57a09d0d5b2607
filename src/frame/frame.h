/*
 * frame.h - one snapshot of one system at one time.
 *
 * A frame is a header (system identity, time, features, duration,
 * per-feature error counts) followed by a stream of records
 * (feature, key, value).  Features build records one at a time through the
 * rec_*() calls; a record is finished by rec_end() and written out at once
 * to the frame's spool, so memory never holds more than one record.
 *
 * Because the header comes first on the wire but its duration and error
 * counts are known only at the end, records are spooled (in memory up to
 * FRAME_SPOOL_MEM bytes, then in an unlinked temporary file) and the frame
 * is delivered to the sink by frame_end(): begin_frame, the header, the
 * spool, end_frame with the frame's summary (its counts), flush (sink.h).
 *
 * Two wire formats:
 *   FRAME_JSON     JSON Lines, {"system","time","feature","key","value"};
 *                  the header is a record of feature "frame".
 *   FRAME_CRAWLER  the reference crawler's layout: a "metadata" line, then
 *                  feature<TAB>"key"<TAB>{json} per record.  Features give
 *                  the crawler's names for themselves, their keys and their
 *                  fields through rec_crawler() and rec_name().
 */
#ifndef VANTAGE_FRAME_H
#define VANTAGE_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sink.h"
#include "../targets/system.h"
#include "../util/buf.h"
#include "../util/json.h"

#define FRAME_SPOOL_MEM (1u << 20)
#define FRAME_MAX_ERRMSG 8 /* error messages kept per feature */
#define FRAME_MSG_MAX 512  /* bytes of one message, its end included */

struct frame;

/* Begin a frame.  `features` is the list of feature names that will run
 * (order kept).  The frame time is taken now.  Returns NULL on failure
 * to create the spool (errno set). */
struct frame *frame_begin(struct sink *sink, const struct system_id *sys,
                          const char *const *features, int nfeatures, enum frame_format fmt);

/* Mark the feature now running (for error accounting and crawler keys). */
void frame_feature_start(struct frame *f, const char *feature);
void frame_feature_end(struct frame *f);

/* The format records are being written in. */
enum frame_format frame_format(const struct frame *f);

/*
 * Records.  rec_begin() starts a record of the current feature with `key`
 * (any bytes; escaped) and opens its value object; add fields with the
 * json_*() calls on the returned writer (names from rec_name()), then
 * rec_end().  Only one record is open at a time.
 */
struct json *rec_begin(struct frame *f, const char *key);
/* Same with a printf-formatted key. */
struct json *rec_beginf(struct frame *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* In crawler format, write this record as feature `cfeature` with key
 * `ckey` instead (call between rec_begin and rec_end; no-op in JSON). */
void rec_crawler(struct frame *f, const char *cfeature, const char *ckey);
/* The field name to use: `ours` in JSON, `crawler` (if not NULL) in the
 * crawler format. */
const char *rec_name(const struct frame *f, const char *ours, const char *crawler);
/* Finish the record; returns 0 or a negative errno from the spool. */
int rec_end(struct frame *f);

/*
 * Errors.  frame_error() counts one error against the current feature and
 * keeps the first FRAME_MAX_ERRMSG messages (outside any feature: against
 * the system as a whole, shown as "frame" in the header).  `err` is a positive errno or
 * 0.  frame_skip() counts an item deliberately skipped (a FIFO where a
 * config file was expected, a file above the size limit).
 */
void frame_error(struct frame *f, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void frame_skip(struct frame *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The running feature read from `source` ("procfs"), not its usual
 * source: the header's "sources" object says so (kept: the last one set;
 * at most 15 bytes). */
void frame_source(struct frame *f, const char *source);
/* Total errors counted so far, all features. */
uint64_t frame_errors(const struct frame *f);
/* Records written so far. */
uint64_t frame_records(const struct frame *f);

/* Free the frame without writing anything. */
void frame_abort(struct frame *f);

/* Deliver the frame to the sink and free it: begin_frame, the header and
 * the spooled records, end_frame with the frame's summary, flush (see
 * sink.h).  Returns 0 or the sink's first negative errno. */
int frame_end(struct frame *f);

#endif
