/*
 * decode.h - reading frames back from the JSON Lines text `vantage crawl`
 * writes, for whatever stores or forwards them (the store's backends; a
 * Kafka consumer later).  Backend-neutral: no storage here.
 *
 *   lines      one line -> spans of its system, time, feature, key, value
 *   header     the frame header's identity fields, and its *template*: the
 *              header value with its volatile parts taken out ('#T' for
 *              the time, '#' for each duration of duration_ms and
 *              feature_ms, the durations handed back as thousandths), so
 *              the header of an unchanged system is the same text each time
 *   templates  rebuilding a value from a template: '#T' -> the time, each
 *              '#' -> whatever the caller's hole callback writes
 *   numbers    ISO-8601 times, JSON numbers and decimal thousandths, each
 *              read so that writing them back gives the very text read
 *
 * Text is never copied or decoded: spans point into the caller's text,
 * strings are raw (still JSON-escaped, without the quotes; util/jscan.h).
 * Errors are -EINVAL with a message in the caller's buffer that names the
 * bad field but not the line (the caller knows the line).
 */
#ifndef VANTAGE_FRAME_DECODE_H
#define VANTAGE_FRAME_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/buf.h"
#include "../util/jscan.h"

/* ---- lines --------------------------------------------------------------------- */

/* One record line.  time is absent (p NULL) on records that have none;
 * system, feature and key are raw string content, value the value's text. */
struct frame_line {
	struct js_span system, time, feature, key, value;
};

/* Decode the line [p, end) (no newline).  0, or -EINVAL with err set to
 * "not a JSON object" or "a record needs system, feature, key and value". */
int frame_line_decode(const char *p, const char *end, struct frame_line *l, char *err,
                      size_t errlen);

/* ---- the header ---------------------------------------------------------------- */

/* The header's identity: raw string content (has_x false when absent or
 * null), labels the object's text, features the array's text (p NULL when
 * absent). */
struct frame_head {
	struct js_span name, kind, runtime, image, host, labels, features;
	bool has_name, has_kind, has_runtime, has_image, has_host;
};

/*
 * Decode the header value (the "value" of the line of feature "frame")
 * whose time is t_ms.  Appends its template to tmpl and each duration
 * taken out of it, in order, to durs as an int64_t of thousandths (ms
 * with 3 decimals: 12.5 -> 12500).  0, or -EINVAL with err set
 * ("frame header: ...").
 */
int frame_head_decode(struct js_span value, int64_t t_ms, struct frame_head *h, struct buf *tmpl,
                      struct buf *durs, char *err, size_t errlen);

/* ---- templates ----------------------------------------------------------------- */

/*
 * Append the value the template `tmpl` stands for: '#T' becomes the ISO
 * time of t_ms (quoted), each '#' is written by hole(ctx, member, out),
 * where member is the raw name of the object member holding the '#'
 * (empty in an array).  A template without '#' is copied as it is.
 */
void frame_tmpl_render(struct js_span tmpl, int64_t t_ms,
                       void (*hole)(void *ctx, struct js_span member, struct buf *out), void *ctx,
                       struct buf *out);

/* ---- times and numbers --------------------------------------------------------- */

/* "YYYY-MM-DDTHH:MM:SS[.fff...]Z" (1970 on, up to 9 fraction digits) ->
 * ms since the epoch; *ok false (and 0) on anything else. */
int64_t frame_parse_time(const char *p, size_t n, bool *ok);

/* A non-negative decimal with at most 3 decimals -> integer thousandths,
 * only when frame_put_milli() would write back the same text. */
bool frame_parse_milli(struct js_span v, int64_t *out);
/* Thousandths as a decimal, trailing zeros trimmed (29397 -> "29.397"). */
void frame_put_milli(struct buf *b, int64_t m);

/* A JSON number's value: an integer when the text is one that fits
 * int64, else a double.  exact: writing the value back (%lld, or
 * frame_fmt_double) gives the very same text. */
struct frame_num {
	bool isint, exact;
	int64_t i;
	double d;
};
bool frame_parse_number(struct js_span v, struct frame_num *n);
/* A double the shortest way ("%.15g".."%.17g") that reads back the same;
 * returns the length written. */
int frame_fmt_double(double v, char *o, size_t cap);

#endif
