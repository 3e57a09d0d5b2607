/*
 * json.c - streaming JSON writer (see json.h).
 *
 * Commas: first[depth] is true until the first value at that depth has
 * been written.  Strings are copied in runs of plain printable ASCII with
 * one memcpy per run; everything else goes through the escaper, which
 * decodes UTF-8 strictly (no overlongs, no surrogates, max U+10FFFF) and
 * escapes each invalid byte B on its own as the lone surrogate \udcBB
 * (the "surrogateescape" convention): no valid text escapes that way, so
 * two different byte strings never give the same JSON string, and the
 * bytes can be recovered.
 */
#include "json.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void jw_init(struct json *j, struct buf *out)
{
	j->out = out;
	j->depth = 0;
	j->first[0] = true;
	j->bad = false;
}

static const char hexd[] = "0123456789abcdef";

static void put_u16(struct buf *o, unsigned cp)
{
	char e[6] = {
	    '\\',         'u', hexd[(cp >> 12) & 15], hexd[(cp >> 8) & 15], hexd[(cp >> 4) & 15],
	    hexd[cp & 15]};
	buf_add(o, e, 6);
}

/* Decode one UTF-8 sequence at s (n bytes available); returns its length
 * and sets *cp, or 0 if invalid. */
static size_t utf8_decode(const unsigned char *s, size_t n, unsigned *cp)
{
	unsigned c = s[0];
	size_t len;
	unsigned min;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		c &= 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		c &= 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		c &= 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

bool jw_utf8_valid(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	unsigned cp;
	for (size_t i = 0; i < n;) {
		if (u[i] < 0x80) {
			i++;
			continue;
		}
		size_t len = utf8_decode(u + i, n - i, &cp);
		if (len == 0)
			return false;
		i += len;
	}
	return true;
}

void jw_escape(struct buf *o, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;
	buf_reserve(o, n + 2);
	buf_addc(o, '"');
	while (i < n) {
		size_t run = i;
		while (run < n && s[run] >= 0x20 && s[run] < 0x7f && s[run] != '"' &&
		       s[run] != '\\')
			run++;
		if (run > i) {
			buf_add(o, s + i, run - i);
			i = run;
			if (i >= n)
				break;
		}
		unsigned c = s[i];
		switch (c) {
		case '"':
			buf_add(o, "\\\"", 2);
			i++;
			continue;
		case '\\':
			buf_add(o, "\\\\", 2);
			i++;
			continue;
		case '\n':
			buf_add(o, "\\n", 2);
			i++;
			continue;
		case '\t':
			buf_add(o, "\\t", 2);
			i++;
			continue;
		case '\r':
			buf_add(o, "\\r", 2);
			i++;
			continue;
		default:
			break;
		}
		if (c < 0x80) {
			put_u16(o, c);
			i++;
			continue;
		}
		unsigned cp;
		size_t len = utf8_decode(s + i, n - i, &cp);
		if (len == 0) {
			put_u16(o, 0xdc00 + c); /* invalid byte: surrogateescape */
			i++;
			continue;
		}
		if (cp >= 0x10000) {
			cp -= 0x10000;
			put_u16(o, 0xd800 + (cp >> 10));
			put_u16(o, 0xdc00 + (cp & 0x3ff));
		} else {
			put_u16(o, cp);
		}
		i += len;
	}
	buf_addc(o, '"');
}

/* True when `s` needs no escaping (printable ASCII, no quote or backslash). */
static bool plain(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
			return false;
	}
	return true;
}

/* Comma and member name before a value.  Member names are nearly always
 * plain identifiers: those are copied in one go into space reserved once. */
static void pre(struct json *j, const char *name)
{
	struct buf *o = j->out;
	size_t n = name ? strlen(name) : 0;

	buf_reserve(o, n + 4);
	if (!j->first[j->depth])
		o->data[o->len++] = ',';
	j->first[j->depth] = false;
	if (name && plain(name, n)) {
		o->data[o->len++] = '"';
		memcpy(o->data + o->len, name, n);
		o->len += n;
		o->data[o->len++] = '"';
		o->data[o->len++] = ':';
	} else if (name) {
		jw_escape(o, name, n);
		buf_addc(o, ':');
	}
	o->data[o->len] = 0;
}

/* Decimal digits of v, ending at `end`; returns where they start. */
static char *u64_digits(uint64_t v, char *end)
{
	do {
		*--end = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return end;
}

static void open_(struct json *j, const char *name, char c)
{
	if (j->depth >= JSON_MAX_DEPTH) {
		j->bad = true;
		return;
	}
	pre(j, name);
	buf_addc(j->out, c);
	j->first[++j->depth] = true;
}

static void close_(struct json *j, char c)
{
	if (j->depth <= 0) {
		j->bad = true;
		return;
	}
	buf_addc(j->out, c);
	j->depth--;
}

void jw_obj_begin(struct json *j, const char *name)
{
	open_(j, name, '{');
}
void jw_obj_end(struct json *j)
{
	close_(j, '}');
}
void jw_arr_begin(struct json *j, const char *name)
{
	open_(j, name, '[');
}
void jw_arr_end(struct json *j)
{
	close_(j, ']');
}

void jw_str(struct json *j, const char *name, const char *v)
{
	if (!v) {
		jw_null(j, name);
		return;
	}
	jw_strn(j, name, v, strlen(v));
}

void jw_strn(struct json *j, const char *name, const char *v, size_t n)
{
	pre(j, name);
	jw_escape(j->out, v, n);
}

void jw_int(struct json *j, const char *name, int64_t v)
{
	char tmp[24];
	/* the magnitude as unsigned: well-defined for INT64_MIN too */
	uint64_t m = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	char *p = u64_digits(m, tmp + sizeof(tmp));
	if (v < 0)
		*--p = '-';
	pre(j, name);
	buf_add(j->out, p, (size_t)(tmp + sizeof(tmp) - p));
}

void jw_uint(struct json *j, const char *name, uint64_t v)
{
	char tmp[24];
	char *p = u64_digits(v, tmp + sizeof(tmp));
	pre(j, name);
	buf_add(j->out, p, (size_t)(tmp + sizeof(tmp) - p));
}

void jw_double(struct json *j, const char *name, double v, int prec)
{
	if (!isfinite(v)) {
		jw_null(j, name);
		return;
	}
	if (prec < 0)
		prec = 0;
	if (prec > 9)
		prec = 9;
	/* fast path, no printf: scale to an integer of `prec` decimals */
	static const double scale[] = {1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};
	if (v > -1e9 && v < 1e9) {
		double sv = v * scale[prec];
		int64_t iv = (int64_t)(sv < 0 ? sv - 0.5 : sv + 0.5);
		uint64_t u = iv < 0 ? (uint64_t)(-iv) : (uint64_t)iv;
		uint64_t sc = (uint64_t)scale[prec];
		uint64_t ip = u / sc, fp = u % sc;
		char tmp[48], *p = tmp + sizeof(tmp);
		int digits = prec;
		while (digits > 0 && fp % 10 == 0 && fp) { /* trim trailing zeros */
			fp /= 10;
			digits--;
		}
		if (fp) {
			for (int k = 0; k < digits; k++) {
				*--p = (char)('0' + fp % 10);
				fp /= 10;
			}
			*--p = '.';
		}
		do {
			*--p = (char)('0' + ip % 10);
			ip /= 10;
		} while (ip);
		if (iv < 0)
			*--p = '-';
		pre(j, name);
		buf_add(j->out, p, (size_t)(tmp + sizeof(tmp) - p));
		return;
	}
	char tmp[64];
	int n = snprintf(tmp, sizeof(tmp), "%.*f", prec, v);
	if (n < 0 || n >= (int)sizeof(tmp)) {
		n = snprintf(tmp, sizeof(tmp), "%.17g", v);
		if (n < 0 || n >= (int)sizeof(tmp)) {
			jw_null(j, name);
			return;
		}
	} else if (prec > 0) {
		while (n > 1 && tmp[n - 1] == '0')
			n--;
		if (tmp[n - 1] == '.')
			n--;
	}
	if (n == 2 && tmp[0] == '-' && tmp[1] == '0')
		tmp[0] = '0', n = 1;
	pre(j, name);
	buf_add(j->out, tmp, (size_t)n);
}

void jw_bool(struct json *j, const char *name, bool v)
{
	pre(j, name);
	buf_adds(j->out, v ? "true" : "false");
}

void jw_null(struct json *j, const char *name)
{
	pre(j, name);
	buf_add(j->out, "null", 4);
}

void jw_raw(struct json *j, const char *name, const char *raw, size_t n)
{
	pre(j, name);
	buf_add(j->out, raw, n);
}

bool jw_ok(const struct json *j)
{
	return !j->bad && j->depth == 0;
}
