/*
 * timefmt.c - times and durations as text, both ways.  See timefmt.h.
 *
 * No gmtime/strftime/strptime on the hot paths: format_time_utc runs once
 * per record and per series point, and the parsers take untrusted
 * (pointer, length) text.  Day numbers are H. Hinnant's civil algorithms.
 */
#include "timefmt.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util.h"

/* ---- formatting ---------------------------------------------------------------- */

/* Civil date of a day number since 1970-01-01 (proleptic Gregorian; the
 * days-from-civil inverse of H. Hinnant), valid for any int64 day count a
 * time in ns can give. */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static char *put2(char *p, unsigned v)
{
	p[0] = (char)('0' + v / 10 % 10);
	p[1] = (char)('0' + v % 10);
	return p + 2;
}

/* No gmtime/strftime: this runs once per record and per series point. */
void format_time_utc(int64_t ns, char *dst, size_t cap)
{
	int64_t ms = ns / 1000000;
	if (ns % 1000000 < 0)
		ms--;
	int64_t secs = ms / 1000, days = secs / 86400;
	int64_t msec = ms % 1000, sod = secs % 86400;
	if (msec < 0) {
		msec += 1000;
		sod -= 1;
	}
	if (sod < 0) {
		sod += 86400;
		days -= 1;
	}
	/* consecutive times are mostly on the same day: keep its "YYYY-MM-DDT" */
	static __thread int64_t last_day = INT64_MIN;
	static __thread char day_text[12];
	if (days != last_day) {
		int64_t y;
		unsigned mo, d;
		civil_from_days(days, &y, &mo, &d);
		if (y < 0 || y > 9999) {
			copy_str(dst, cap, "1970-01-01T00:00:00.000Z", 24);
			return;
		}
		char *q = day_text;
		q = put2(q, (unsigned)(y / 100));
		q = put2(q, (unsigned)(y % 100));
		*q++ = '-';
		q = put2(q, mo);
		*q++ = '-';
		q = put2(q, d);
		*q++ = 'T';
		last_day = days;
	}
	if (cap < 25) {
		copy_str(dst, cap, "1970-01-01T00:00:00.000Z", 24);
		return;
	}
	char *p = dst;
	memcpy(p, day_text, 11);
	p += 11;
	p = put2(p, (unsigned)(sod / 3600));
	*p++ = ':';
	p = put2(p, (unsigned)(sod / 60 % 60));
	*p++ = ':';
	p = put2(p, (unsigned)(sod % 60));
	*p++ = '.';
	*p++ = (char)('0' + msec / 100);
	p = put2(p, (unsigned)(msec % 100));
	*p++ = 'Z';
	*p = 0;
}

void format_time_local(int64_t ns, char *dst, size_t cap)
{
	time_t s = (time_t)(ns / 1000000000);
	struct tm tm;
	if (!localtime_r(&s, &tm) || strftime(dst, cap, "%Y-%m-%dT%H:%M:%S%z", &tm) == 0)
		copy_str(dst, cap, "1970-01-01T00:00:00+0000", 24);
}

void format_time_utc_sec(int64_t sec, char *dst, size_t cap)
{
	time_t t = (time_t)sec;
	struct tm tm;

	if (!gmtime_r(&t, &tm)) {
		snprintf(dst, cap, "%" PRId64, sec);
		return;
	}
	snprintf(dst, cap, "%04lld-%02d-%02dT%02d:%02d:%02dZ", (long long)tm.tm_year + 1900,
	         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* ---- parsing ------------------------------------------------------------------- */

/* A decimal number "12" or "1.5" at *p; advances *p.  Value scaled by 1000
 * (milli-units), so fractions to 1/1000 are exact (further digits are
 * read and dropped).  Digits and one '.' only: none of strtod's forms
 * (exponents, hex floats such as 0x10 or 0x1p-20, inf, nan, blanks). */
static bool parse_milli(const char **p, const char *end, int64_t *out)
{
	uint64_t ip;
	if (!parse_u64(p, end, &ip) || ip > (uint64_t)TIME_MAX_MS / 1000)
		return false;
	int64_t v = (int64_t)ip * 1000;
	if (*p < end && **p == '.') {
		(*p)++;
		int scale = 100, digits = 0;
		while (*p < end && **p >= '0' && **p <= '9') {
			v += (**p - '0') * scale;
			scale /= 10;
			(*p)++;
			digits++;
		}
		if (!digits)
			return false;
	}
	*out = v;
	return true;
}

int parse_duration_ms(const char *s, int64_t *ms)
{
	if (!s)
		return -EINVAL;
	const char *p = s, *end = s + strlen(s);
	int64_t v, mul; /* milli-units -> ms */
	if (!parse_milli(&p, end, &v))
		return -EINVAL;
	size_t rest = (size_t)(end - p);
	if (rest == 0 || (rest == 1 && *p == 's'))
		mul = 1000;
	else if (rest == 2 && p[0] == 'm' && p[1] == 's')
		mul = 1;
	else if (rest == 1 && *p == 'm')
		mul = 60 * 1000;
	else if (rest == 1 && *p == 'h')
		mul = 3600 * 1000;
	else if (rest == 1 && *p == 'd')
		mul = 86400 * 1000;
	else if (rest == 1 && *p == 'w')
		mul = 7 * 86400 * 1000;
	else
		return -EINVAL;
	if (v > TIME_MAX_MS * 1000 / mul) /* v is in thousandths of the unit */
		return -EINVAL;
	*ms = v * mul / 1000;
	return 0;
}

int parse_duration_sec(const char *s, double *sec)
{
	int64_t ms;
	int r = parse_duration_ms(s, &ms);
	if (r == 0)
		*sec = (double)ms / 1000.0;
	return r;
}

static bool is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (y >= 1970). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

/* Exactly n digits at *p. */
static bool digits(const char **p, const char *end, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++, (*p)++) {
		if (*p >= end || **p < '0' || **p > '9')
			return false;
		v = v * 10 + (**p - '0');
	}
	*out = v;
	return true;
}

int parse_time_iso(const char *s, size_t n, int64_t *ms)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (!s)
		return -EINVAL;
	const char *p = s, *end = s + n;
	int y, mo, d, h = 0, mi = 0, sec = 0;
	if (!digits(&p, end, 4, &y) || p >= end || *p++ != '-' || !digits(&p, end, 2, &mo) ||
	    p >= end || *p++ != '-' || !digits(&p, end, 2, &d))
		return -EINVAL;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] + (mo == 2 && is_leap(y)))
		return -EINVAL;
	int64_t frac = 0, off_s = 0;
	if (p < end) {
		if (*p != 'T' && *p != 't' && *p != ' ')
			return -EINVAL;
		p++;
		if (!digits(&p, end, 2, &h) || p >= end || *p++ != ':' ||
		    !digits(&p, end, 2, &mi) || p >= end || *p++ != ':' ||
		    !digits(&p, end, 2, &sec))
			return -EINVAL;
		if (h > 23 || mi > 59 || sec > 60)
			return -EINVAL;
		if (p < end && (*p == '.' || *p == ',')) {
			p++;
			int scale = 100, nd = 0;
			while (p < end && *p >= '0' && *p <= '9') {
				frac += (*p - '0') * scale;
				scale /= 10;
				p++;
				nd++;
			}
			if (!nd || nd > 9)
				return -EINVAL;
		}
		if (p >= end)
			return -EINVAL; /* a zone is required: Z or an offset */
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			int sign = *p++ == '-' ? -1 : 1, oh, om;
			if (!digits(&p, end, 2, &oh))
				return -EINVAL;
			if (p < end && *p == ':')
				p++;
			if (!digits(&p, end, 2, &om) || oh > 23 || om > 59)
				return -EINVAL;
			off_s = sign * (oh * 3600 + om * 60);
		} else {
			return -EINVAL;
		}
		if (p != end)
			return -EINVAL;
	}
	int64_t t = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 +
	            sec - off_s;
	if (t < 0 || t > TIME_MAX_MS / 1000 || t * 1000 + frac > TIME_MAX_MS)
		return -EINVAL;
	*ms = t * 1000 + frac;
	return 0;
}

int parse_time(const char *s, int64_t now_ms, int64_t *ms)
{
	if (!s || !*s)
		return -EINVAL;
	if (strcmp(s, "now") == 0) {
		*ms = now_ms;
		return 0;
	}
	const char *end = s + strlen(s);
	int64_t v;
	if (s[0] == '-') { /* "-1h": a duration before now; its unit is required */
		if (end - s < 3 || !(end[-1] >= 'a' && end[-1] <= 'z') ||
		    parse_duration_ms(s + 1, &v) < 0 || v <= 0)
			return -EINVAL;
		*ms = now_ms - v;
		return *ms >= 0 ? 0 : -EINVAL;
	}
	if (strchr(s, '-') && end - s >= 10)
		return parse_time_iso(s, (size_t)(end - s), ms);
	/* epoch seconds: digits with an optional fraction, nothing after */
	const char *p = s;
	if (parse_milli(&p, end, &v) && p == end) {
		if (v > TIME_MAX_MS) /* 9223372036.999 */
			return -EINVAL;
		*ms = v;
		return 0;
	}
	if (p != end && parse_duration_ms(s, &v) == 0 && v > 0) {
		*ms = now_ms - v;
		return *ms >= 0 ? 0 : -EINVAL;
	}
	return -EINVAL;
}
