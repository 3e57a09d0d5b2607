/*
 * timeparse.h - the time arguments of the API (and, for now, of the CLI's
 * --since/--until/--at/--step): one small module so that moving them to
 * a shared time module is a change in one place.
 *
 *   server_parse_duration: "30s", "5m", "1h", "2d", "1w", "250ms" or plain
 *	seconds "90"; > 0.  Returns 0 and *ms, or -EINVAL.
 *   server_parse_time: an ISO-8601 time "2026-11-22T10:00:00Z" (optional
 *	fraction ".123", "Z" or an offset "+02:00"), epoch seconds
 *	"1795341600" (optionally with a fraction), or a duration meaning that
 *	long before now_ms ("1h": an hour ago).  Returns 0 and *ms (ms since
 *	the epoch), or -EINVAL.
 */
#ifndef VANTAGE_SERVER_TIMEPARSE_H
#define VANTAGE_SERVER_TIMEPARSE_H

#include <stdint.h>

int server_parse_duration(const char *s, int64_t *ms);
int server_parse_time(const char *s, int64_t now_ms, int64_t *ms);

#endif
