/*
 * jscan.h - a small validating JSON scanner over raw text (frame/decode.c,
 * the metric key grammar, the SQLite store and /metrics read frames and
 * stored answers with it).
 *
 * The store keeps record values as the exact text the crawler wrote (it is
 * canonical: one line, pure ASCII, fixed member order), so it needs the
 * *extent* of each value, not a document tree.  This scanner validates
 * JSON (RFC 8259 grammar, UTF-8, escapes) and hands out spans into the
 * caller's text; nothing is allocated.  It accepts the lone-surrogate
 * escapes (\udcXX) our writer uses for bytes that are not UTF-8, which
 * general-purpose parsers (jansson) reject.
 *
 * Strings are returned raw: the span holds the escaped content between the
 * quotes.  js_unescape() decodes it when a C string is needed.
 *
 * JS_TEMPLATE makes '#' and '#T' acceptable as values: the store's record
 * templates (a value with some numbers taken out) use them as placeholders.
 */
#ifndef VANTAGE_UTIL_JSCAN_H
#define VANTAGE_UTIL_JSCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define JS_MAX_DEPTH 64
#define JS_TEMPLATE 1
/* JS_TRUSTED (iterators only): the text was validated already, by the
 * validating pass that handed out this span; values and names are skipped
 * without checking them again (bounded by the span all the same). */
#define JS_TRUSTED 2

struct js_span {
	const char *p;
	size_t n;
};

/* Skip JSON whitespace. */
const char *js_ws(const char *p, const char *end);
/* Skip one value starting exactly at p.  Returns the first byte after it,
 * or NULL when the text is not valid JSON (or is cut short). */
const char *js_skip(const char *p, const char *end, int flags);

/* Iteration over an object's members or an array's elements.  `v` is the
 * whole object/array text (as given by js_skip). */
struct js_iter {
	const char *p, *end;
	int flags;
	bool first;
};
int js_iter_begin(struct js_iter *it, struct js_span v, int flags);
/* Next member: `name` is the raw (escaped) name without quotes, `val` the
 * value's text.  Returns 1, 0 at the end, -1 on malformed input. */
int js_obj_next(struct js_iter *it, struct js_span *name, struct js_span *val);
int js_arr_next(struct js_iter *it, struct js_span *val);

/* The span equals the C string exactly. */
bool js_eq(struct js_span s, const char *lit);
/* `v` is a JSON string: its raw content (without the quotes). */
bool js_str(struct js_span v, struct js_span *content);
/* Decode raw string content into UTF-8 (appended to out, NUL-terminated).
 * \udcXX becomes the byte XX (surrogateescape); other lone surrogates and
 * \u0000 become U+FFFD.  The input must have passed the scanner. */
void js_unescape(struct buf *out, const char *p, size_t n);
/* Escape a C string the way the crawler's writer does, without quotes
 * (appended to out), so it can be compared with stored raw text. */
void js_escape_raw(struct buf *out, const char *s, size_t n);

#endif
