/*
 * drift_logs.h - the new error lines of a diff (docs/drift.md, docs/logs.md):
 * `vantage diff` adds to its entries the error lines of B's system that
 * appeared between the two frames' times and were not seen before.
 *
 * An error line: level err or worse (0-3), or one of unknown level
 * matching an error pattern (error, fatal, panic, exception, traceback,
 * failed, failure, segfault, "out of memory", "killed process": whole
 * words, any case).  Lines are grouped by their shape (the line with its
 * numbers, hex strings and quoted strings replaced by '#'): a shape that
 * already occurred in the baseline (B's lines in as long a window before
 * A's time, at least 1 h and at most 24 h; when A is another system, its
 * lines up to B's time too) is not new.  Each new shape is ONE entry:
 *   {"feature": "log", "key": "SOURCE: first line", "change": "added",
 *    "fields": {"lines": [0, N]}, "lines": [up to 3 examples],
 *    "score": S, "why": {"prior": P, "log": {"level", "count", "first",
 *    "last", "source"}}}
 * with the prior 0.6 for crit and worse, 0.5 for err, 0.35 for a pattern
 * match of unknown level, times 0.8 + 0.2 * min(1, log10(N + 1) / 2)
 * (a burst ranks a little higher than a single line).
 */
#ifndef VANTAGE_DRIFT_LOGS_H
#define VANTAGE_DRIFT_LOGS_H

#include <jansson.h>
#include <stdint.h>

struct store;

/*
 * Add the entries of the new error lines of system b_system in
 * (a_ms, b_ms] (the times in either order) to the diff d (drift_diff()'s
 * answer), re-ranking its entries by score.  a_system: A's system (NULL
 * or the same: one system at two times).  Returns the number of entries
 * added (0 also when the store keeps no logs), or a negative errno.
 */
int drift_logs_add(struct store *st, json_t *d, const char *a_system, const char *b_system,
                   int64_t a_ms, int64_t b_ms);

#endif
