/*
 * jload.c - parse the JSON Vantage writes with jansson, which refuses the
 * lone surrogate escapes Vantage uses for bytes that were not UTF-8.
 */
#include "jload.h"

#include <string.h>

#include "buf.h"
#include "util.h"

/* The code unit of a \uXXXX escape at p (end bounds it), or -1. */
static int u_escape(const char *p, const char *end)
{
	if (end - p < 6 || p[0] != '\\' || p[1] != 'u')
		return -1;
	int v = 0;
	for (int i = 2; i < 6; i++) {
		int h = hex_digit(p[i]);
		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

/*
 * Parse JSON that Vantage wrote.  Bytes that were not valid UTF-8 in
 * the observed system are written as lone surrogate escapes (\udcXX, see
 * util/json.h), which jansson refuses; for tables each becomes the text
 * \xXX (any other lone surrogate: '?'), and a NUL (\u0000) the text \0.
 * Valid surrogate pairs are kept.
 */
json_t *jload_lenient(const char *text, size_t len, json_error_t *e)
{
	struct buf b = BUF_INIT;
	const char *p = text, *end = text + len;
	while (p < end) {
		const char *bs = memchr(p, '\\', (size_t)(end - p));
		if (!bs) {
			buf_add(&b, p, (size_t)(end - p));
			break;
		}
		buf_add(&b, p, (size_t)(bs - p));
		int u = u_escape(bs, end);
		if (u >= 0xd800 && u <= 0xdbff) {
			int lo = u_escape(bs + 6, end);
			if (lo >= 0xdc00 && lo <= 0xdfff) { /* a valid pair */
				buf_add(&b, bs, 12);
				p = bs + 12;
				continue;
			}
		}
		if (u == 0) { /* NUL: shown as \0 (C strings end there) */
			buf_add(&b, "\\\\0", 3);
			p = bs + 6;
			continue;
		}
		if (u >= 0xd800 && u <= 0xdfff) {
			if (u >= 0xdc80 && u <= 0xdcff)
				buf_printf(&b, "\\\\x%02X", u & 0xff);
			else
				buf_addc(&b, '?');
			p = bs + 6;
			continue;
		}
		size_t n = end - bs >= 2 ? 2 : 1; /* any other escape: copied whole */
		buf_add(&b, bs, n);
		p = bs + n;
	}
	json_t *doc = json_loadb(buf_str(&b), b.len, 0, e);
	buf_free(&b);
	return doc;
}
