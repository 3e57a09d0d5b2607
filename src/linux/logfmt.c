/*
 * logfmt.c - parsing of log lines in the common formats, and the escaping
 * of stored lines (see logfmt.h).  Every scan is bounded by the given
 * length; nothing here trusts the input to be text.
 */
#include "logfmt.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../util/jscan.h"
#include "../util/timefmt.h"

/* ---- small helpers ------------------------------------------------------------- */

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool is_alnum(char c)
{
	return is_digit(c) || (lower(c) >= 'a' && lower(c) <= 'z');
}

/* n digits at *p into *out. */
static bool digits(const char **p, const char *end, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (*p >= end || !is_digit(**p))
			return false;
		v = v * 10 + (**p - '0');
		(*p)++;
	}
	*out = v;
	return true;
}

static int64_t days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int month_of(const char *p, const char *end)
{
	static const char names[] = "janfebmaraprmayjunjulaugsepoctnovdec";
	if (end - p < 3)
		return 0;
	for (int i = 0; i < 12; i++)
		if (lower(p[0]) == names[i * 3] && lower(p[1]) == names[i * 3 + 1] &&
		    lower(p[2]) == names[i * 3 + 2])
			return i + 1;
	return 0;
}

static bool valid_hms(int h, int mi, int s)
{
	return h <= 23 && mi <= 59 && s <= 60;
}

/* A time without a year (syslog 3164, klog): the year that puts it
 * nearest before now + 1 day. */
static int64_t yearless_ms(int mo, int d, int h, int mi, int s, int ms, int64_t now_ms,
                           int tz_off_s)
{
	int64_t now_days = now_ms / 86400000;
	/* the current year from days since the epoch (civil_from_days) */
	int64_t z = now_days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int64_t mm = mp < 10 ? mp + 3 : mp - 9;
	int y = (int)(yoe + era * 400 + (mm <= 2));
	for (int k = 0; k < 2; k++, y--) {
		int64_t t =
		    (days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - tz_off_s) * 1000 +
		    ms;
		if (t <= now_ms + 86400000LL && t >= 0)
			return t;
	}
	return 0;
}

/* ---- levels ----------------------------------------------------------------------- */

int logfmt_level_name(const char *s, size_t n)
{
	static const struct {
		const char *name;
		int level;
	} names[] = {
	    {"emerg", 0},    {"emergency", 0},   {"panic", 0},         {"alert", 1},  {"crit", 2},
	    {"critical", 2}, {"fatal", 2},       {"err", 3},           {"error", 3},  {"eror", 3},
	    {"warn", 4},     {"warning", 4},     {"wrn", 4},           {"notice", 5}, {"info", 6},
	    {"inf", 6},      {"information", 6}, {"informational", 6}, {"debug", 7},  {"dbg", 7},
	    {"trace", 7},    {"verbose", 7},
	};
	while (n && (*s == ' ' || *s == '"'))
		s++, n--;
	while (n && (s[n - 1] == ' ' || s[n - 1] == '"'))
		n--;
	if (!n || n > 16)
		return -1;
	if (is_digit(s[0])) {
		int v = 0;
		for (size_t i = 0; i < n; i++) {
			if (!is_digit(s[i]))
				return -1;
			v = v * 10 + (s[i] - '0');
			if (v > 1000)
				return -1;
		}
		if (v <= 7)
			return v; /* syslog severity */
		/* pino / bunyan: 10 trace 20 debug 30 info 40 warn 50 error 60 fatal */
		return v >= 60 ? 2 : v >= 50 ? 3 : v >= 40 ? 4 : v >= 30 ? 6 : v >= 10 ? 7 : -1;
	}
	if (n == 1) {
		switch (lower(s[0])) {
		case 'f':
			return 2;
		case 'e':
			return 3;
		case 'w':
			return 4;
		case 'n':
			return 5;
		case 'i':
			return 6;
		case 'd':
		case 't':
			return 7;
		default:
			return -1;
		}
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t l = strlen(names[i].name);
		if (l != n)
			continue;
		size_t k = 0;
		while (k < n && lower(s[k]) == names[i].name[k])
			k++;
		if (k == n)
			return names[i].level;
	}
	return -1;
}

int logfmt_level_word(const char *msg, size_t n)
{
	if (n > 80)
		n = 80;
	size_t i = 0;
	while (i < n) {
		while (i < n && !is_alnum(msg[i]))
			i++;
		size_t s = i;
		while (i < n && is_alnum(msg[i]))
			i++;
		size_t len = i - s;
		if (len < 3) /* words only: "E" or "I" alone say nothing */
			continue;
		/* "level=warn", "lvl=info": the value is the word */
		if (i < n && msg[i] == '=' && (logfmt_level_name(msg + s, len) < 0)) {
			bool key = (len == 5 && strncmp(msg + s, "level", 5) == 0) ||
			           (len == 3 && strncmp(msg + s, "lvl", 3) == 0) ||
			           (len == 8 && strncmp(msg + s, "severity", 8) == 0);
			if (key) {
				size_t v = ++i;
				while (i < n && (is_alnum(msg[i]) || msg[i] == '"'))
					i++;
				int l = logfmt_level_name(msg + v, i - v);
				if (l >= 0)
					return l;
			}
			continue;
		}
		/* a level word is in upper case or delimited as [warn], <error>, warn: */
		bool upper = true;
		for (size_t k = s; k < s + len; k++)
			upper &= !(msg[k] >= 'a' && msg[k] <= 'z');
		bool delimited = (s > 0 && (msg[s - 1] == '[' || msg[s - 1] == '<')) ||
		                 (i < n && (msg[i] == ':' || msg[i] == ']' || msg[i] == '>'));
		if (!upper && !delimited)
			continue;
		if (is_digit(msg[s]))
			continue;
		int l = logfmt_level_name(msg + s, len);
		if (l >= 0)
			return l;
	}
	return -1;
}

/* ---- container framings --------------------------------------------------------- */

int logfmt_k8s(const char *line, size_t n, struct logfmt_rec *r)
{
	const char *end = line + n;
	const char *sp = memchr(line, ' ', n);
	if (!sp)
		return -EINVAL;
	int64_t t;
	if (parse_time_iso(line, (size_t)(sp - line), &t) < 0)
		return -EINVAL;
	const char *p = sp + 1;
	int stream;
	if ((size_t)(end - p) >= 7 && memcmp(p, "stdout ", 7) == 0)
		stream = LOGFMT_STDOUT;
	else if ((size_t)(end - p) >= 7 && memcmp(p, "stderr ", 7) == 0)
		stream = LOGFMT_STDERR;
	else
		return -EINVAL;
	p += 7;
	/* the tag: F or P, possibly with more ':'-separated flags */
	const char *tag = p;
	while (p < end && *p != ' ')
		p++;
	if (p == tag || (*tag != 'F' && *tag != 'P'))
		return -EINVAL;
	r->partial = *tag == 'P';
	if (p < end)
		p++; /* the space before the message ("... F" alone: an empty line) */
	r->time_ms = t;
	r->level = -1;
	r->stream = stream;
	r->msg = p;
	r->len = (size_t)(end - p);
	return 0;
}

/* JSON string content (raw, escaped) into out; "\u0000" gives a NUL byte
 * (js_unescape makes it U+FFFD: a NUL must be seen, escaped, not lost). */
static void json_unescape_nul(struct buf *out, const char *p, size_t n)
{
	size_t start = 0;
	for (size_t i = 0; i + 5 < n; i++) {
		if (p[i] != '\\')
			continue;
		if (memcmp(p + i + 1, "u0000", 5) == 0) {
			js_unescape(out, p + start, i - start);
			buf_addc(out, 0);
			start = i + 6;
			i += 5;
		} else {
			i++; /* skip the escaped character */
		}
	}
	js_unescape(out, p + start, n - start);
}

int logfmt_docker(const char *line, size_t n, struct buf *scratch, struct logfmt_rec *r)
{
	const char *end = line + n;
	const char *p = js_ws(line, end);
	if (p >= end || *p != '{')
		return -EINVAL;
	const char *vend = js_skip(p, end, 0);
	if (!vend)
		return -EINVAL;
	struct js_iter it;
	if (js_iter_begin(&it, (struct js_span){p, (size_t)(vend - p)}, JS_TRUSTED) < 0)
		return -EINVAL;
	struct js_span name, val, c;
	bool have_log = false;
	int stream = LOGFMT_NOSTREAM;
	int64_t t = 0;
	buf_reset(scratch);
	int k;
	while ((k = js_obj_next(&it, &name, &val)) == 1) {
		if (js_eq(name, "log") && js_str(val, &c)) {
			buf_reset(scratch);
			json_unescape_nul(scratch, c.p, c.n);
			have_log = true;
		} else if (js_eq(name, "stream") && js_str(val, &c)) {
			if (c.n == 6 && memcmp(c.p, "stdout", 6) == 0)
				stream = LOGFMT_STDOUT;
			else if (c.n == 6 && memcmp(c.p, "stderr", 6) == 0)
				stream = LOGFMT_STDERR;
		} else if (js_eq(name, "time") && js_str(val, &c)) {
			if (parse_time_iso(c.p, c.n, &t) < 0)
				t = 0;
		}
	}
	if (k < 0 || !have_log)
		return -EINVAL;
	/* js_unescape NUL-terminates: the length is what it wrote */
	size_t len = scratch->len;
	r->partial = !(len && scratch->data[len - 1] == '\n');
	if (!r->partial)
		len--;
	r->time_ms = t;
	r->level = -1;
	r->stream = stream;
	r->msg = scratch->data;
	r->len = len;
	return 0;
}

/* ---- message formats ------------------------------------------------------------ */

static int64_t json_time(struct js_span v)
{
	struct js_span c;
	int64_t t;
	if (js_str(v, &c))
		return parse_time_iso(c.p, c.n, &t) == 0 ? t : 0;
	/* a number: epoch seconds (with a fraction) or milliseconds */
	const char *p = v.p, *end = v.p + v.n;
	double x = 0, scale = 0;
	for (; p < end; p++) {
		if (is_digit(*p)) {
			if (scale > 0) {
				x += (*p - '0') * scale;
				scale /= 10;
			} else {
				x = x * 10 + (*p - '0');
			}
		} else if (*p == '.' && scale == 0) {
			scale = 0.1;
		} else {
			return 0;
		}
	}
	if (x > 1e11 && x < 1e14) /* ms */
		return (int64_t)x;
	if (x > 1e8 && x < 1e11)
		return (int64_t)(x * 1000);
	return 0;
}

int logfmt_json(const char *msg, size_t n, struct logfmt_rec *r)
{
	const char *end = msg + n;
	const char *p = js_ws(msg, end);
	if (p >= end || *p != '{')
		return -EINVAL;
	const char *vend = js_skip(p, end, 0);
	if (!vend || js_ws(vend, end) != end)
		return -EINVAL;
	struct js_iter it;
	if (js_iter_begin(&it, (struct js_span){p, (size_t)(vend - p)}, JS_TRUSTED) < 0)
		return -EINVAL;
	struct js_span name, val, c;
	int level = -1;
	int64_t t = 0;
	while (js_obj_next(&it, &name, &val) == 1) {
		if (level < 0 && (js_eq(name, "level") || js_eq(name, "severity") ||
		                  js_eq(name, "lvl") || js_eq(name, "loglevel") ||
		                  js_eq(name, "log.level") || js_eq(name, "levelname"))) {
			if (js_str(val, &c))
				level = logfmt_level_name(c.p, c.n);
			else
				level = logfmt_level_name(val.p, val.n);
		} else if (!t && (js_eq(name, "time") || js_eq(name, "timestamp") ||
		                  js_eq(name, "ts") || js_eq(name, "@timestamp"))) {
			t = json_time(val);
		}
	}
	if (level >= 0)
		r->level = level;
	if (t)
		r->time_ms = t;
	return 0;
}

/* "Mmm dd hh:mm:ss" (dd may be " 6") at *p. */
static bool bsd_time(const char **pp, const char *end, int64_t now_ms, int tz_off_s, int64_t *t)
{
	const char *p = *pp;
	int mo = month_of(p, end), d, h, mi, s;
	if (!mo || end - p < 15 || p[3] != ' ')
		return false;
	p += 4;
	if (*p == ' ')
		p++;
	if (!is_digit(*p))
		return false;
	d = *p++ - '0';
	if (p < end && is_digit(*p))
		d = d * 10 + (*p++ - '0');
	if (p >= end || *p++ != ' ' || !digits(&p, end, 2, &h) || p >= end || *p++ != ':' ||
	    !digits(&p, end, 2, &mi) || p >= end || *p++ != ':' || !digits(&p, end, 2, &s))
		return false;
	if (d < 1 || d > 31 || !valid_hms(h, mi, s))
		return false;
	*t = yearless_ms(mo, d, h, mi, s, 0, now_ms, tz_off_s);
	*pp = p;
	return true;
}

int logfmt_syslog(const char *msg, size_t n, int64_t now_ms, int tz_off_s, struct logfmt_rec *r)
{
	const char *p = msg, *end = msg + n;
	int pri = -1;
	if (p < end && *p == '<') {
		int v = 0, nd = 0;
		p++;
		while (p < end && is_digit(*p) && nd < 3)
			v = v * 10 + (*p++ - '0'), nd++;
		if (!nd || p >= end || *p != '>' || v > 191)
			return -EINVAL;
		p++;
		pri = v;
	}
	int64_t t = 0;
	if (pri >= 0 && end - p >= 2 && p[0] == '1' && p[1] == ' ') {
		/* RFC 5424: VERSION SP TIMESTAMP ("-" for none) */
		p += 2;
		const char *sp = memchr(p, ' ', (size_t)(end - p));
		size_t tl = sp ? (size_t)(sp - p) : (size_t)(end - p);
		if (!(tl == 1 && *p == '-') && parse_time_iso(p, tl, &t) < 0)
			return -EINVAL;
	} else if (bsd_time(&p, end, now_ms, tz_off_s, &t)) {
		/* RFC 3164 */
	} else {
		/* rsyslog's RFC 3339 high-precision time, then a host */
		const char *sp = memchr(p, ' ', (size_t)(end - p));
		if (!sp || sp - p < 20 || p[4] != '-' || p[10] != 'T' ||
		    parse_time_iso(p, (size_t)(sp - p), &t) < 0) {
			if (pri < 0)
				return -EINVAL;
			t = 0; /* "<13>message": the priority alone */
		}
	}
	if (t)
		r->time_ms = t;
	if (pri >= 0) {
		r->level = pri & 7;
	} else {
		/* the message after "host tag: " */
		const char *colon = memchr(p, ':', (size_t)(end - p));
		const char *m = colon ? colon + 1 : p;
		int l = logfmt_level_word(m, (size_t)(end - m));
		if (l >= 0)
			r->level = l;
	}
	return 0;
}

int logfmt_combined(const char *msg, size_t n, struct logfmt_rec *r)
{
	const char *end = msg + n;
	/* the client address: hex digits, dots, colons */
	const char *p = msg;
	while (p < end && (is_alnum(*p) || *p == '.' || *p == ':'))
		p++;
	if (p == msg || p >= end || *p != ' ')
		return -EINVAL;
	const char *lb = memchr(p, '[', (size_t)(end - p) < 300 ? (size_t)(end - p) : 300);
	if (!lb)
		return -EINVAL;
	/* [06/Dec/2026:09:33:53 +0000] */
	const char *q = lb + 1;
	int d, y, h, mi, s, oh, om;
	if (!digits(&q, end, 2, &d) || q >= end || *q++ != '/')
		return -EINVAL;
	int mo = month_of(q, end);
	if (!mo)
		return -EINVAL;
	q += 3;
	if (q >= end || *q++ != '/' || !digits(&q, end, 4, &y) || q >= end || *q++ != ':' ||
	    !digits(&q, end, 2, &h) || q >= end || *q++ != ':' || !digits(&q, end, 2, &mi) ||
	    q >= end || *q++ != ':' || !digits(&q, end, 2, &s) || q >= end || *q++ != ' ')
		return -EINVAL;
	if (q >= end || (*q != '+' && *q != '-'))
		return -EINVAL;
	int sign = *q++ == '-' ? -1 : 1;
	if (!digits(&q, end, 2, &oh) || !digits(&q, end, 2, &om) || q >= end || *q++ != ']')
		return -EINVAL;
	if (d < 1 || d > 31 || y < 1970 || !valid_hms(h, mi, s))
		return -EINVAL;
	/* "request" then the status */
	if (end - q < 2 || q[0] != ' ' || q[1] != '"')
		return -EINVAL;
	q += 2;
	while (q < end && *q != '"') {
		if (*q == '\\' && q + 1 < end)
			q++;
		q++;
	}
	if (end - q < 5 || q[1] != ' ')
		return -EINVAL;
	q += 2;
	int status;
	if (!digits(&q, end, 3, &status) || (q < end && *q != ' '))
		return -EINVAL;
	int64_t t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s -
	            sign * (oh * 3600 + om * 60);
	r->time_ms = t * 1000;
	r->level = status >= 500 ? 3 : status >= 400 ? 4 : 6;
	return 0;
}

int logfmt_klog(const char *msg, size_t n, int64_t now_ms, int tz_off_s, struct logfmt_rec *r)
{
	const char *p = msg, *end = msg + n;
	if (n < 21)
		return -EINVAL;
	int level;
	switch (*p) {
	case 'I':
		level = 6;
		break;
	case 'W':
		level = 4;
		break;
	case 'E':
		level = 3;
		break;
	case 'F':
		level = 2;
		break;
	default:
		return -EINVAL;
	}
	p++;
	int mo, d, h, mi, s, us = 0;
	if (!digits(&p, end, 2, &mo) || !digits(&p, end, 2, &d) || p >= end || *p++ != ' ' ||
	    !digits(&p, end, 2, &h) || p >= end || *p++ != ':' || !digits(&p, end, 2, &mi) ||
	    p >= end || *p++ != ':' || !digits(&p, end, 2, &s))
		return -EINVAL;
	if (p < end && *p == '.') {
		p++;
		if (!digits(&p, end, 6, &us))
			return -EINVAL;
	}
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || !valid_hms(h, mi, s) || p >= end || *p != ' ')
		return -EINVAL;
	r->time_ms = yearless_ms(mo, d, h, mi, s, us / 1000, now_ms, tz_off_s);
	r->level = level;
	return 0;
}

/* nginx's error log: "2026/12/06 09:33:53 [error] ..." */
static int nginx_error(const char *msg, size_t n, int tz_off_s, struct logfmt_rec *r)
{
	const char *p = msg, *end = msg + n;
	int y, mo, d, h, mi, s;
	if (!digits(&p, end, 4, &y) || p >= end || *p++ != '/' || !digits(&p, end, 2, &mo) ||
	    p >= end || *p++ != '/' || !digits(&p, end, 2, &d) || p >= end || *p++ != ' ' ||
	    !digits(&p, end, 2, &h) || p >= end || *p++ != ':' || !digits(&p, end, 2, &mi) ||
	    p >= end || *p++ != ':' || !digits(&p, end, 2, &s))
		return -EINVAL;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || !valid_hms(h, mi, s) ||
	    end - p < 3 || p[0] != ' ' || p[1] != '[')
		return -EINVAL;
	const char *rb = memchr(p + 2, ']', (size_t)(end - p - 2));
	if (!rb)
		return -EINVAL;
	r->time_ms = (days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - tz_off_s) * 1000;
	r->level = logfmt_level_name(p + 2, (size_t)(rb - p - 2));
	return 0;
}

const char *logfmt_message(const char *msg, size_t n, int64_t now_ms, int tz_off_s,
                           struct logfmt_rec *r)
{
	if (!n)
		return "";
	switch (msg[0]) {
	case '{':
		if (logfmt_json(msg, n, r) == 0)
			return "json";
		break;
	case '<':
		if (logfmt_syslog(msg, n, now_ms, tz_off_s, r) == 0)
			return "syslog";
		break;
	case 'I':
	case 'W':
	case 'E':
	case 'F':
		if (logfmt_klog(msg, n, now_ms, tz_off_s, r) == 0)
			return "klog";
		break;
	default:
		break;
	}
	if (is_digit(msg[0]) && nginx_error(msg, n, tz_off_s, r) == 0)
		return "nginx";
	if (month_of(msg, msg + n) || (is_digit(msg[0]) && n > 20 && msg[4] == '-')) {
		if (logfmt_syslog(msg, n, now_ms, tz_off_s, r) == 0)
			return "syslog";
	}
	if ((is_alnum(msg[0]) || msg[0] == ':') && logfmt_combined(msg, n, r) == 0)
		return "combined";
	int l = logfmt_level_word(msg, n);
	if (l >= 0) {
		r->level = l;
		return "words";
	}
	return "";
}

/* ---- escaping ------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (of at most n bytes), 0 if none. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	uint32_t cp;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

size_t logfmt_escape(struct buf *out, const char *s, size_t n, size_t max)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	size_t used = 0, i = 0;
	buf_reserve(out, n < max ? n : max);
	while (i < n) {
		/* a run of plain printable ASCII at once */
		size_t j = i;
		while (j < n && u[j] >= 0x20 && u[j] < 0x7f && used + (j - i) < max)
			j++;
		if (j > i) {
			buf_add(out, s + i, j - i);
			used += j - i;
			i = j;
			continue;
		}
		unsigned char c = u[i];
		size_t l = (c == '\t') ? 1 : (c < 0x20 || c == 0x7f) ? 0 : utf8_len(u + i, n - i);
		if (l) {
			if (used + l > max)
				break;
			buf_add(out, s + i, l);
			used += l;
			i += l;
		} else {
			if (used + 4 > max)
				break;
			char e[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
			buf_add(out, e, 4);
			used += 4;
			i++;
		}
	}
	return i;
}

size_t logfmt_cut_mark(char *out, size_t cap, uint64_t more)
{
	int k = snprintf(out, cap, " [cut: %llu bytes more]", (unsigned long long)more);
	return k < 0 ? 0 : (size_t)k >= cap ? cap - 1 : (size_t)k;
}
