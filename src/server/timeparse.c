/*
 * timeparse.c - durations ("5m", "250ms") and times (ISO-8601, epoch
 * seconds, or a duration before now) as the API and the CLI take them;
 * see timeparse.h.  Times are ms since the epoch, 1970 to year 9999.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "../util/util.h"
#include "timeparse.h"

/* Year 9999: no time or duration is larger. */
#define MAX_MS 253402300799999LL

/* A decimal number "12" or "1.5" at *p; advances *p.  Value scaled by 1000
 * (milli-units), so fractions to 1/1000 are exact. */
static bool parse_milli(const char **p, const char *end, int64_t *out)
{
	uint64_t ip;
	if (!parse_u64(p, end, &ip) || ip > (uint64_t)MAX_MS / 1000)
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

int server_parse_duration(const char *s, int64_t *ms)
{
	const char *p = s, *end = s + strlen(s);
	int64_t v;
	if (!parse_milli(&p, end, &v))
		return -EINVAL;
	int64_t mul; /* milli-units -> ms */
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
	if (v > MAX_MS / mul)
		return -EINVAL;
	v = v * mul / 1000;
	if (v <= 0)
		return -EINVAL;
	*ms = v;
	return 0;
}

static bool is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (y >= 1970). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	static const int before[] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
	int64_t days = 0;
	for (int64_t i = 1970; i < y; i++)
		days += is_leap(i) ? 366 : 365;
	days += before[m - 1] + (m > 2 && is_leap(y)) + d - 1;
	return days;
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

/* "2026-11-22T10:00:00.123Z", "2026-11-22T10:00:00+02:00", "2026-11-22". */
static int parse_iso(const char *s, int64_t *ms)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	const char *p = s, *end = s + strlen(s);
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
			int scale = 100, n = 0;
			while (p < end && *p >= '0' && *p <= '9') {
				frac += (*p - '0') * scale;
				scale /= 10;
				p++;
				n++;
			}
			if (!n || n > 9)
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
	int64_t t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off_s;
	if (t < 0)
		return -EINVAL;
	*ms = t * 1000 + frac;
	return 0;
}

int server_parse_time(const char *s, int64_t now_ms, int64_t *ms)
{
	if (!s || !*s)
		return -EINVAL;
	if (strcmp(s, "now") == 0) {
		*ms = now_ms;
		return 0;
	}
	const char *end = s + strlen(s);
	if (strchr(s, '-') && end - s >= 10)
		return parse_iso(s, ms);
	/* epoch seconds: digits with an optional fraction, nothing after */
	const char *p = s;
	int64_t v;
	if (parse_milli(&p, end, &v) && p == end) {
		*ms = v;
		return 0;
	}
	int64_t d;
	if (server_parse_duration(s, &d) == 0 && p != end) {
		*ms = now_ms - d;
		return *ms >= 0 ? 0 : -EINVAL;
	}
	return -EINVAL;
}
