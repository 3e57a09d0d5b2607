/*
 * json.h - a streaming JSON writer into a struct buf.
 *
 * Vantage only ever *writes* JSON on its hot paths, so this is a writer,
 * not a document model: values are appended in order and commas are
 * placed automatically.  Strings are escaped so that the output is pure
 * ASCII on one line: control characters and every non-ASCII code point
 * become \uXXXX (surrogate pairs above U+FFFF).  Bytes that are not valid
 * UTF-8 (common in guest data) are escaped as \udcXX, one per byte (the
 * "surrogateescape" convention: distinct from any valid text, so nothing is
 * dropped, two byte strings never collide, and the bytes can be recovered).
 *
 * Nesting depth is bounded by JSON_MAX_DEPTH; deeper opens are ignored
 * (and make json_ok() false), never a crash.
 */
#ifndef VANTAGE_JSON_H
#define VANTAGE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define JSON_MAX_DEPTH 16

struct json {
	struct buf *out;
	int depth;
	bool first[JSON_MAX_DEPTH + 1];
	bool bad;
};

void json_init(struct json *j, struct buf *out);
/* Begin/end an object or array.  `name` is the member name when inside an
 * object, NULL when inside an array or at top level. */
void json_obj_begin(struct json *j, const char *name);
void json_obj_end(struct json *j);
void json_arr_begin(struct json *j, const char *name);
void json_arr_end(struct json *j);
void json_str(struct json *j, const char *name, const char *v); /* v NULL -> null */
void json_strn(struct json *j, const char *name, const char *v, size_t n);
void json_int(struct json *j, const char *name, int64_t v);
void json_uint(struct json *j, const char *name, uint64_t v);
/* Finite values with up to `prec` decimals (trailing zeros trimmed);
 * NaN and infinities are written as null. */
void json_double(struct json *j, const char *name, double v, int prec);
void json_bool(struct json *j, const char *name, bool v);
void json_null(struct json *j, const char *name);
/* Append already-valid JSON text as a value. */
void json_raw(struct json *j, const char *name, const char *raw, size_t n);
bool json_ok(const struct json *j);

/* Append `s` (n bytes) as a quoted, escaped JSON string to `out`. */
void json_escape(struct buf *out, const char *s, size_t n);

#endif
