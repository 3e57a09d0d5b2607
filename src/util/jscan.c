/*
 * jscan.c - a small validating JSON scanner (see jscan.h).
 *
 * Recursive descent over [p, end) with a depth bound; every function
 * returns the first byte after what it consumed, or NULL on anything that
 * is not JSON.  Strings are checked for escapes (\uXXXX needs four hex
 * digits; lone surrogates are allowed, as our writer emits \udcXX), raw
 * control characters (refused) and UTF-8 (minimal forms only, no
 * surrogates, at most U+10FFFF).
 */
#include "jscan.h"

#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "json.h"
#include "util.h"

const char *js_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* One UTF-8 sequence starting at p (first byte >= 0x80); NULL if invalid. */
static const char *utf8_seq(const char *p, const char *end)
{
	const unsigned char *u = (const unsigned char *)p;
	unsigned c = u[0];
	int n;
	unsigned cp, min;
	if (c >= 0xc2 && c <= 0xdf)
		n = 1, cp = c & 0x1f, min = 0x80;
	else if (c >= 0xe0 && c <= 0xef)
		n = 2, cp = c & 0x0f, min = 0x800;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 3, cp = c & 0x07, min = 0x10000;
	else
		return NULL;
	if (end - p < n + 1)
		return NULL;
	for (int i = 1; i <= n; i++) {
		if ((u[i] & 0xc0) != 0x80)
			return NULL;
		cp = (cp << 6) | (u[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return NULL;
	return p + n + 1;
}

static const char *js_string(const char *p, const char *end)
{
	if (p >= end || *p != '"')
		return NULL;
	p++;
	while (p < end) {
#ifdef __SSE2__
		/* sixteen bytes at a time, straight to the first that is not
		 * plain: '"', '\\', < 0x20 or >= 0x80 (negative as int8) */
		while (end - p >= 16) {
			__m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
			__m128i sp =
			    _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('"')),
			                              _mm_cmpeq_epi8(x, _mm_set1_epi8('\\'))),
			                 _mm_cmplt_epi8(x, _mm_set1_epi8(0x20)));
			unsigned m = (unsigned)_mm_movemask_epi8(sp);
			if (m) {
				p += __builtin_ctz(m);
				break;
			}
			p += 16;
		}
#endif
		/* eight plain bytes at a time: none of '"', '\\', < 0x20, >= 0x80 */
		while (end - p >= 8) {
			uint64_t x;
			memcpy(&x, p, 8);
			const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
			uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\');
			uint64_t special =
			    ((q - ones) & ~q) | ((b - ones) & ~b) | (x - ones * 0x20) | x;
			if (special & high)
				break;
			p += 8;
		}
		if (p >= end)
			break;
		unsigned char c = (unsigned char)*p;
		if (c == '"')
			return p + 1;
		if (c < 0x20)
			return NULL;
		if (c == '\\') {
			if (end - p < 2)
				return NULL;
			switch (p[1]) {
			case '"':
			case '\\':
			case '/':
			case 'b':
			case 'f':
			case 'n':
			case 'r':
			case 't':
				p += 2;
				break;
			case 'u':
				if (end - p < 6)
					return NULL;
				for (int i = 2; i < 6; i++)
					if (hex_digit(p[i]) < 0)
						return NULL;
				p += 6;
				break;
			default:
				return NULL;
			}
		} else if (c >= 0x80) {
			p = utf8_seq(p, end);
			if (!p)
				return NULL;
		} else {
			p++;
		}
	}
	return NULL;
}

static const char *digits(const char *p, const char *end)
{
	const char *s = p;
	while (p < end && *p >= '0' && *p <= '9')
		p++;
	return p > s ? p : NULL;
}

static const char *js_number(const char *p, const char *end)
{
	if (p < end && *p == '-')
		p++;
	if (p >= end)
		return NULL;
	if (*p == '0')
		p++;
	else if (!(p = digits(p, end)))
		return NULL;
	if (p < end && *p == '.' && !(p = digits(p + 1, end)))
		return NULL;
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if (!(p = digits(p, end)))
			return NULL;
	}
	return p;
}

static const char *lit(const char *p, const char *end, const char *w)
{
	size_t n = strlen(w);
	if ((size_t)(end - p) < n || memcmp(p, w, n) != 0)
		return NULL;
	return p + n;
}

static const char *skip_depth(const char *p, const char *end, int flags, int depth);

/* Object or array body after the opening bracket. */
static const char *container(const char *p, const char *end, int flags, int depth, char close)
{
	p = js_ws(p, end);
	if (p < end && *p == close)
		return p + 1;
	for (;;) {
		if (close == '}') {
			if (!(p = js_string(p, end)))
				return NULL;
			p = js_ws(p, end);
			if (p >= end || *p != ':')
				return NULL;
			p = js_ws(p + 1, end);
		}
		if (!(p = skip_depth(p, end, flags, depth + 1)))
			return NULL;
		p = js_ws(p, end);
		if (p >= end)
			return NULL;
		if (*p == close)
			return p + 1;
		if (*p != ',')
			return NULL;
		p = js_ws(p + 1, end);
	}
}

static const char *skip_depth(const char *p, const char *end, int flags, int depth)
{
	if (p >= end || depth > JS_MAX_DEPTH)
		return NULL;
	switch (*p) {
	case '{':
		return container(p + 1, end, flags, depth, '}');
	case '[':
		return container(p + 1, end, flags, depth, ']');
	case '"':
		return js_string(p, end);
	case 't':
		return lit(p, end, "true");
	case 'f':
		return lit(p, end, "false");
	case 'n':
		return lit(p, end, "null");
	case '#':
		if (!(flags & JS_TEMPLATE))
			return NULL;
		return p + 1 < end && p[1] == 'T' ? p + 2 : p + 1;
	default:
		return js_number(p, end);
	}
}

const char *js_skip(const char *p, const char *end, int flags)
{
	return skip_depth(p, end, flags, 0);
}

int js_iter_begin(struct js_iter *it, struct js_span v, int flags)
{
	if (v.n < 2 || (v.p[0] != '{' && v.p[0] != '['))
		return -1;
	it->p = v.p + 1;
	it->end = v.p + v.n;
	it->flags = flags;
	it->first = true;
	return 0;
}

/* Position at the next element: 1 if there is one, 0 at the end. */
static int iter_step(struct js_iter *it, char close)
{
	const char *p = js_ws(it->p, it->end);
	if (p >= it->end)
		return -1;
	if (*p == close) {
		it->p = p;
		return 0;
	}
	if (!it->first) {
		if (*p != ',')
			return -1;
		p = js_ws(p + 1, it->end);
	}
	it->first = false;
	it->p = p;
	return 1;
}

/* The end of a string that is known to be valid: its closing quote is the
 * first one not escaped by an odd run of backslashes. */
static const char *string_end_trusted(const char *p, const char *end)
{
	const char *start = ++p;
	while (p < end) {
		const char *q = memchr(p, '"', (size_t)(end - p));
		if (!q)
			return NULL;
		size_t n = 0;
		for (const char *b = q; b > start && b[-1] == '\\'; b--)
			n++;
		if (n % 2 == 0)
			return q + 1;
		p = q + 1;
	}
	return NULL;
}

/* Skip a value known to be valid (JS_TRUSTED). */
static const char *skip_trusted(const char *p, const char *end)
{
	if (p >= end)
		return NULL;
	if (*p == '"')
		return string_end_trusted(p, end);
	if (*p != '{' && *p != '[') { /* a number or a literal */
		while (p < end && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\t' &&
		       *p != '\n' && *p != '\r')
			p++;
		return p;
	}
	int depth = 0;
	while (p < end) {
		char c = *p;
		if (c == '"') {
			if (!(p = string_end_trusted(p, end)))
				return NULL;
			continue;
		}
		if (c == '{' || c == '[')
			depth++;
		else if ((c == '}' || c == ']') && --depth == 0)
			return p + 1;
		p++;
	}
	return NULL;
}

static int iter_value(struct js_iter *it, struct js_span *val)
{
	const char *e = it->flags & JS_TRUSTED ? skip_trusted(it->p, it->end)
	                                       : js_skip(it->p, it->end, it->flags);
	if (!e)
		return -1;
	val->p = it->p;
	val->n = (size_t)(e - it->p);
	it->p = e;
	return 1;
}

int js_obj_next(struct js_iter *it, struct js_span *name, struct js_span *val)
{
	int r = iter_step(it, '}');
	if (r <= 0)
		return r;
	const char *e = it->flags & JS_TRUSTED
	                    ? (*it->p == '"' ? string_end_trusted(it->p, it->end) : NULL)
	                    : js_string(it->p, it->end);
	if (!e)
		return -1;
	name->p = it->p + 1;
	name->n = (size_t)(e - it->p - 2);
	e = js_ws(e, it->end);
	if (e >= it->end || *e != ':')
		return -1;
	it->p = js_ws(e + 1, it->end);
	return iter_value(it, val);
}

int js_arr_next(struct js_iter *it, struct js_span *val)
{
	int r = iter_step(it, ']');
	if (r <= 0)
		return r;
	return iter_value(it, val);
}

bool js_eq(struct js_span s, const char *l)
{
	size_t n = strlen(l);
	return s.n == n && memcmp(s.p, l, n) == 0;
}

bool js_str(struct js_span v, struct js_span *content)
{
	if (v.n < 2 || v.p[0] != '"' || v.p[v.n - 1] != '"')
		return false;
	content->p = v.p + 1;
	content->n = v.n - 2;
	return true;
}

static void put_utf8(struct buf *out, unsigned cp)
{
	char t[4];
	int n;
	if (cp < 0x80)
		t[0] = (char)cp, n = 1;
	else if (cp < 0x800)
		t[0] = (char)(0xc0 | cp >> 6), t[1] = (char)(0x80 | (cp & 0x3f)), n = 2;
	else if (cp < 0x10000)
		t[0] = (char)(0xe0 | cp >> 12), t[1] = (char)(0x80 | ((cp >> 6) & 0x3f)),
		t[2] = (char)(0x80 | (cp & 0x3f)), n = 3;
	else
		t[0] = (char)(0xf0 | cp >> 18), t[1] = (char)(0x80 | ((cp >> 12) & 0x3f)),
		t[2] = (char)(0x80 | ((cp >> 6) & 0x3f)), t[3] = (char)(0x80 | (cp & 0x3f)), n = 4;
	buf_add(out, t, (size_t)n);
}

static unsigned hex4(const char *p)
{
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		int h = hex_digit(p[i]);
		if (h < 0)
			return 0xfffd; /* not reached for scanned input */
		v = v << 4 | (unsigned)h;
	}
	return v;
}

void js_unescape(struct buf *out, const char *p, size_t n)
{
	const char *end = p + n;
	buf_reserve(out, n + 1);
	while (p < end) {
		const char *s = p;
		while (p < end && *p != '\\')
			p++;
		if (p > s)
			buf_add(out, s, (size_t)(p - s));
		if (p >= end)
			break;
		if (end - p < 2)
			break;
		char c = p[1];
		p += 2;
		switch (c) {
		case 'b':
			buf_addc(out, '\b');
			continue;
		case 'f':
			buf_addc(out, '\f');
			continue;
		case 'n':
			buf_addc(out, '\n');
			continue;
		case 'r':
			buf_addc(out, '\r');
			continue;
		case 't':
			buf_addc(out, '\t');
			continue;
		case 'u':
			break;
		default:
			buf_addc(out, c);
			continue;
		}
		if (end - p < 4)
			break;
		unsigned cp = hex4(p);
		p += 4;
		if (cp >= 0xd800 && cp <= 0xdbff && end - p >= 6 && p[0] == '\\' && p[1] == 'u') {
			unsigned lo = hex4(p + 2);
			if (lo >= 0xdc00 && lo <= 0xdfff) {
				put_utf8(out, 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00));
				p += 6;
				continue;
			}
		}
		if (cp >= 0xdc80 && cp <= 0xdcff)
			buf_addc(out, (char)(cp & 0xff)); /* surrogateescape */
		else if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff))
			put_utf8(out, 0xfffd);
		else
			put_utf8(out, cp);
	}
	if (!out->data)
		buf_add(out, "", 0);
	out->data[out->len] = 0;
}

void js_escape_raw(struct buf *out, const char *s, size_t n)
{
	size_t start = out->len;
	jw_escape(out, s, n);
	/* drop the quotes jw_escape put around it */
	memmove(out->data + start, out->data + start + 1, out->len - start - 2);
	out->len -= 2;
	out->data[out->len] = 0;
}
