/*
 * alarm_run.h - one alarm over the store at one time: which systems it
 * covers, the evaluation range of each read from the store (or computed
 * by its metric math), "gone" and warm-up, then alarm_evaluate().  What
 * the daemon's engine calls when a period closes, and what a backtest
 * calls for every period of a past range.
 */
#ifndef VANTAGE_ALARM_RUN_H
#define VANTAGE_ALARM_RUN_H

#include "../store/store.h"
#include "alarm.h"

/* The outcome for one system the alarm covers. */
struct alarm_run_item {
	const char *system_id, *system_name; /* valid during the callback */
	const char *series_labels;           /* JSON: the series' labels ("{}") */
	enum alarm_state state;
	bool gone;    /* the system is gone: reason says how (exit code, OOM...) */
	bool warming; /* a new system in its warm-up: INSUFFICIENT_DATA, no actions */
	/* drift: the baseline to arm (> 0 when the system had none and has a
	 * frame holding the rule's features: that frame's time), and the time
	 * of the system's latest non-metric frame this evaluation saw */
	int64_t baseline_ms, frame_ms;
	struct alarm_result r;
};

/*
 * Evaluate `d` at `now_ms` (the end of the last closed period) for every
 * system it covers; `current(ctx, system_id, labels)` gives the state each
 * is in now (INSUFFICIENT_DATA for one never evaluated).  Drift alarms
 * compare the state at now_ms itself (not a period's end) with the state
 * at the system's baseline, which they ask `baseline(ctx, system_id,
 * &checked_ms)` (may be NULL) for: 0 when it has none yet (the item is
 * then OK, "armed", with baseline_ms the time of the system's latest frame
 * holding the rule's features, which the caller takes as its baseline; or
 * INSUFFICIENT_DATA without baseline_ms while no frame holds them).
 * checked_ms (0: none) is the frame_ms of the system's last evaluation: a
 * system without a non-metric frame newer than it is not compared again
 * (no cb for it).  cb once per system (and series, when the metric has
 * several: one state each).  0 or a negative errno (message in err).
 */
int alarm_run(struct store *s, const struct alarm_def *d, int64_t now_ms,
              enum alarm_state (*current)(void *ctx, const char *system_id, const char *labels),
              int64_t (*baseline)(void *ctx, const char *system_id, int64_t *checked_ms),
              int (*cb)(void *ctx, const struct alarm_run_item *it), void *ctx, char *err,
              size_t errlen);

/* A selector ("image=nginx:*,kind=container"): well formed?  0 or -EINVAL
 * with err.  Keys: id, name, kind, image, runtime, host, or a label. */
int alarm_selector_check(const char *selector, char *err, size_t errlen);

/* A backtest: the transitions `d` would have made over [from_ms, to_ms],
 * each period evaluated in turn from INSUFFICIENT_DATA, as a JSON array
 * [{"time","system","from","to","reason"}...] appended to out. */
int alarm_backtest(struct store *s, const struct alarm_def *d, int64_t from_ms, int64_t to_ms,
                   struct buf *out, char *err, size_t errlen);

#endif
