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
 * (and make jw_ok() false), never a crash.
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

void jw_init(struct json *j, struct buf *out);
/* Begin/end an object or array.  `name` is the member name when inside an
 * object, NULL when inside an array or at top level. */
void jw_obj_begin(struct json *j, const char *name);
void jw_obj_end(struct json *j);
void jw_arr_begin(struct json *j, const char *name);
void jw_arr_end(struct json *j);
void jw_str(struct json *j, const char *name, const char *v); /* v NULL -> null */
void jw_strn(struct json *j, const char *name, const char *v, size_t n);
void jw_int(struct json *j, const char *name, int64_t v);
void jw_uint(struct json *j, const char *name, uint64_t v);
/* Finite values with up to `prec` decimals (trailing zeros trimmed);
 * NaN and infinities are written as null. */
void jw_double(struct json *j, const char *name, double v, int prec);
void jw_bool(struct json *j, const char *name, bool v);
void jw_null(struct json *j, const char *name);
/* Append already-valid JSON text as a value. */
void jw_raw(struct json *j, const char *name, const char *raw, size_t n);
bool jw_ok(const struct json *j);

/* Append `s` (n bytes) as a quoted, escaped JSON string to `out`. */
void jw_escape(struct buf *out, const char *s, size_t n);

/* Every byte of [s, s+n) is part of valid UTF-8 (minimal forms, no
 * surrogates, at most U+10FFFF): jw_strn() writes it without a \udcXX
 * escape, so any JSON parser (jansson too) reads it back. */
bool jw_utf8_valid(const char *s, size_t n);

#endif
