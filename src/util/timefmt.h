/*
 * timefmt.h - times and durations as text, both ways: the one place that
 * formats and parses them (records, frames, the API, the config file).
 *
 * Formats:
 *   format_time_utc      "2026-11-22T10:00:00.123Z" (ISO-8601 UTC, ms)
 *   format_time_utc_sec  "2026-11-22T10:00:00Z"     (whole seconds)
 *   format_time_local    "2026-11-22T11:00:00+0100" (local, the crawler's)
 * Parses (all strict: the whole text, no spaces, else -EINVAL):
 *   parse_time_iso       "2026-11-22T10:00:00Z", "...:00.123Z" (up to 9
 *                        fraction digits, ms kept), "...:00+02:00" or
 *                        "+0200", "2026-11-22" (midnight UTC); 1970 to
 *                        TIME_MAX_MS (2262)
 *   parse_duration_ms    a decimal ("90", "1.5") and a unit: none or "s"
 *                        seconds, "ms", "m", "h", "d", "w"; 0 allowed;
 *                        fractions below 1 ms dropped; up to TIME_MAX_MS
 *   parse_time           "now"; an ISO time; epoch seconds ("1795341600",
 *                        "1795341600.25"); a duration before now ("1h",
 *                        "-1h": with '-' the unit is required)
 * Times are ms (or ns, for the formatters that say so) since the epoch.
 */
#ifndef VANTAGE_TIMEFMT_H
#define VANTAGE_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

/* No time or duration parsed is larger: 2262-04-11T23:47:16.854Z, the
 * last ms whose ns fit an int64_t (times go to format_time_utc() as ns,
 * ms * 1000000: a larger one would overflow). */
#define TIME_MAX_MS 9223372036854LL

/* `ns` since the epoch as "2026-11-22T10:00:00.123Z" (cap >= 25; years
 * outside 0..9999 give the epoch). */
void format_time_utc(int64_t ns, char *dst, size_t cap);
/* `sec` since the epoch as "2026-11-22T10:00:00Z"; the plain number when
 * it is no date (cap >= 21). */
void format_time_utc_sec(int64_t sec, char *dst, size_t cap);
/* `ns` as "%Y-%m-%dT%H:%M:%S%z" in local time (the crawler layout). */
void format_time_local(int64_t ns, char *dst, size_t cap);

/* An ISO-8601 time of n bytes (no NUL needed) -> ms.  0 or -EINVAL. */
int parse_time_iso(const char *s, size_t n, int64_t *ms);
/* A duration -> ms (>= 0).  0 or -EINVAL. */
int parse_duration_ms(const char *s, int64_t *ms);
/* The same in seconds. */
int parse_duration_sec(const char *s, double *sec);
/* A time argument (see above) -> ms; durations count back from now_ms
 * and must be > 0; a result before 1970 is -EINVAL. */
int parse_time(const char *s, int64_t now_ms, int64_t *ms);

#endif
