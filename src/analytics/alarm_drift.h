/*
 * alarm_drift.h - state alarms: an alarm on a drift rule instead of a
 * number.  A system is in ALARM while the drift between its state at the
 * alarm's baseline (when the alarm was armed for it, or last
 * acknowledged) and its state now holds entries of the rule:
 *
 *   listen         a new listening socket (pattern: a port or address glob)
 *   package        a package added, removed or whose version changed (pattern: name glob)
 *   config         a config file changed (pattern: path glob)
 *   process_gone   no process whose command matches pattern (required) any more
 *
 * The reason is the drift entries themselves; the state returns to OK when
 * the change is reverted (the drift is empty again) or acknowledged (the
 * engine moves the baseline).
 */
#ifndef VANTAGE_ALARM_DRIFT_H
#define VANTAGE_ALARM_DRIFT_H

#include <stddef.h>
#include <stdint.h>

#include "../store/store.h"
#include "../util/buf.h"
#include "alarm.h"

/* Is rule/pattern valid?  0 or -EINVAL with err. */
int alarm_drift_check_def(const char *rule, const char *pattern, char *err, size_t errlen);

/*
 * Compare system_id's state at baseline_ms with its state at now_ms (0:
 * latest) for d's rule.  *hits = the number of matching entries; entries
 * (a JSON array of drift entries, as `vantage diff --json` gives them) and
 * summary (one line naming the first entries, e.g. "new listening socket
 * tcp 0.0.0.0:4444 (nc, pid 812)") are appended.  0, -ENOENT for a system
 * without a frame at baseline, another negative errno with err.
 */
int alarm_drift_eval(struct store *s, const struct alarm_def *d, const char *system_id,
                     int64_t baseline_ms, int64_t now_ms, int *hits, struct buf *entries,
                     struct buf *summary, char *err, size_t errlen);

/*
 * Where to arm d's baseline for system_id at now_ms: *baseline_ms = the time
 * of the system's latest frame at or before now_ms holding the rule's
 * features (for a rule of two, the later of the two), i.e. the state the
 * system is known in when the alarm is armed.  Not "now": the daemon
 * crawls features on different intervals, so the latest frame at now may
 * hold metrics only.  0, -ENOENT when no frame holds the rule's first
 * feature yet (nothing to compare with: do not arm), another negative
 * errno with err.
 */
int alarm_drift_arm(struct store *s, const struct alarm_def *d, const char *system_id,
                    int64_t now_ms, int64_t *baseline_ms, char *err, size_t errlen);

#endif
