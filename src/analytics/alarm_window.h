/*
 * alarm_window.h - the daemon's recent metric points in memory, so that a
 * cycle of alarm evaluations costs one store read per metric name instead
 * of one per alarm (docs/alarms.md, "Speed").
 *
 * alarm_window_update() brings the window up to now: for every metric
 * name the alarms read, ONE store_series_read() of the raw points since
 * the last read (a minute of overlap catches points stored late), kept
 * back as far as the longest evaluation range needs (warm-up included).
 * alarm_window_run() is alarm_run() over the window: the same items, the
 * same states and reasons (alarm_run_int.h holds what both share), with
 * each period's statistic computed from the raw points (percentiles
 * exact), shared between alarms of the same metric, period and stat, and
 * which series an alarm covers resolved once while the set of series and
 * systems stays the same.  An alarm the window cannot serve (a drift
 * alarm, a range longer than ALARM_WINDOW_MAX_MS, a time the window does
 * not hold) goes through alarm_run() instead.
 *
 * Not thread-safe: one owner (the engine's thread).
 */
#ifndef VANTAGE_ALARM_WINDOW_H
#define VANTAGE_ALARM_WINDOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../store/store.h"
#include "alarm.h"
#include "alarm_run.h"

/* The longest reach back (evaluation range or warm-up, plus a period)
 * the window serves: past it, roll-ups and memory make alarm_run() the
 * better path. */
#define ALARM_WINDOW_MAX_MS (3LL * 3600 * 1000)

/* Points up to this old are read again at each update (stored late). */
#define ALARM_WINDOW_OVERLAP_MS 60000

struct alarm_window;

struct alarm_window *alarm_window_new(void);
void alarm_window_free(struct alarm_window *w);

/* Can the window serve d?  (A metric alarm reaching back at most
 * ALARM_WINDOW_MAX_MS.) */
bool alarm_window_fits(const struct alarm_def *d);

/* Bring the window up to now_ms for the alarms defs[0..n) (those that do
 * not fit are ignored; names no alarm reads any more are dropped).  Call
 * it inside a read session.  0 or a negative errno with err. */
int alarm_window_update(struct alarm_window *w, struct store *s,
                        const struct alarm_def *const *defs, size_t n, int64_t now_ms, char *err,
                        size_t errlen);

/* What the caller holds for a (system, series labels): its state, and
 * whether it is gone or warming. */
struct alarm_prev {
	enum alarm_state st;
	bool gone, warming;
	bool
	    gone_recheck; /* gone: read its reason again (it may gain an exit code, the OOM kill) */
};

/* Write reason and data for every item (otherwise only when the state,
 * gone or warming changes from what prev says). */
#define ALARM_WINDOW_TEXT 1u

/*
 * alarm_run() of d at now_ms over the window: cb once per system (and
 * series) d covers.  prev (may be NULL: INSUFFICIENT_DATA, text always)
 * gives what the caller holds; without ALARM_WINDOW_TEXT an item whose
 * state, gone and warming are unchanged has an empty reason and data.
 * 0 or a negative errno with err.
 */
int alarm_window_run(struct alarm_window *w, struct store *s, const struct alarm_def *d,
                     int64_t now_ms, unsigned flags,
                     void (*prev)(void *ctx, const char *system_id, const char *labels,
                                  struct alarm_prev *out),
                     int (*cb)(void *ctx, const struct alarm_run_item *it), void *ctx, char *err,
                     size_t errlen);

/* How many alarm_window_run() calls went through alarm_run() (tests). */
size_t alarm_window_fallbacks(const struct alarm_window *w);

#endif
