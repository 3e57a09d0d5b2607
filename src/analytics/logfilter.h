/*
 * logfilter.h - metric filters over the stored log lines (docs/logs.md):
 * each `[logfilter NAME]` of the configuration turns the lines matching a
 * pattern into a metric series `log.NAME` per system, stored like every
 * other series (a `metric` record "log" of a frame), so charts, alarms
 * and the Prometheus API use it as any other.
 *
 * Keys of a filter:
 *   pattern   POSIX extended regular expression a line must match (required)
 *   system    one system (id or name), or
 *   selector  systems by label selector as alarms take it
 *             ("kind=container,image=nginx*"); neither: every system
 *   source    the lines' source, a shell glob ("stdout", "file:*"); default any
 *   value     what a point is: absent, the count of matching lines; a number
 *             N, the number captured by the pattern's group N; a name, the
 *             field NAME of a JSON line or the number after "NAME=" or
 *             "NAME:" in the line
 *   stat      with value: how the values of a period make its point: avg
 *             (default), sum, min, max, count
 *   period    the series' step (default 1m, from 1s to 1d)
 *
 * Each period [T - period, T) (T a multiple of the period) gives one point
 * at T - period per system: a count filter gives every system it selects
 * a point, 0 when no line matched; a value filter only systems with
 * values.  Lines count in the period in which the runner reads them (the
 * collector stores them within a second or so of their writing).  A
 * point dated at the period's start is older than the system's latest
 * crawl, so it never stands for the system's latest metrics (Prometheus
 * /metrics, the system's state).
 */
#ifndef VANTAGE_ANALYTICS_LOGFILTER_H
#define VANTAGE_ANALYTICS_LOGFILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LOGFILTER_MAX 256

struct logfilter_def {
	char *name;
	char *pattern, *system, *selector, *source, *value, *stat;
	int64_t period_ms;
};

struct logfilter_set {
	struct logfilter_def *v;
	int n;
};

/* Set `key` of filter `name` (made on first use).  0; -ENOENT for an
 * unknown key, -EINVAL for a bad value (err says why). */
int logfilter_set_key(struct logfilter_set *s, const char *name, const char *key, const char *value,
                      char *err, size_t errlen);
/* Every filter complete and valid (a pattern that compiles, a selector
 * that parses, a name that makes a series name).  0 or -EINVAL with err
 * naming the filter. */
int logfilter_check(const struct logfilter_set *s, char *err, size_t errlen);
void logfilter_set_free(struct logfilter_set *s);
int logfilter_set_copy(struct logfilter_set *dst, const struct logfilter_set *src);

/*
 * The runner: a thread reading the lines stored after the newest one at
 * its start (store_logs() by id) every second on its own handle of the
 * store at `db`, and storing each filter's points when its period ends;
 * `notify(arg, now_ms)` (may be NULL) after points were stored (the
 * alarms evaluate then).  0 or a negative errno with err.
 */
struct logfilter_runner;
int logfilter_start(const char *db, const struct logfilter_set *s,
                    void (*notify)(void *arg, int64_t now_ms), void *arg,
                    struct logfilter_runner **out, char *err, size_t errlen);
void logfilter_stop(struct logfilter_runner *r);

#endif
