/*
 * drift.h - what changed between two states of systems, ranked with the
 * cause first (docs/drift.md).
 *
 * Records are matched by (feature, match key) (drift_state.h); a matched
 * pair whose values differ is ONE "changed" entry listing each changed
 * field as [before, after], never a removal plus an addition; reordering
 * is not a change.  A changed config file also gets its changed lines and,
 * for key/value and INI files, its changed keys (drift_text.h).
 *
 * Each entry's score multiplies independent signals, each printed under
 * "why":
 *   prior      the weight of the last matching rule (drift_rules.h) for
 *              the entry's most important changed field
 *   used_by    a running process uses what changed (its argv names the
 *              path, it maps the library, it listens on the port): x1;
 *              otherwise x0.8
 *   history    (when the caller gives the system's history) how often the
 *              same (feature, key, field) changed in the stored frames
 *              before: x1/(1 + changes), as an inverse change frequency
 *   peers      (when the caller gives peers: other systems of the same
 *              image) how rare B's value is among them, PeerPressure's
 *              idea: x(0.5 + 0.5 (1 - m/N)) where m of the N peers that
 *              have the record share B's value (for an added record: have
 *              it; for a removed one: lack it)
 * Entries under the noise line (DRIFT_NOISE) are "sunk": left out unless
 * asked for; entries of weight 0 ("drop") are never shown.
 */
#ifndef VANTAGE_DRIFT_H
#define VANTAGE_DRIFT_H

#include <jansson.h>
#include <stdbool.h>

#include "drift_rules.h"
#include "drift_state.h"

#define DRIFT_NOISE 0.1

/* How often (feature, key, field) changed in a system's stored history;
 * NULL when there is none.  {"feature\tkey\tfield": count, ...} and
 * "frames": how many consecutive pairs were compared. */
struct drift_history {
	json_t *counts;
	int pairs;
};

struct drift_opts {
	bool all;         /* keep the sunk entries too */
	size_t max_lines; /* changed lines kept per file (default 20) */
	const struct drift_history *history;
	const struct drift_state *peers; /* npeers states of the same image */
	size_t npeers;
};

/* The record (feature, match key) of a state, or NULL (binary search). */
const struct drift_rec *drift_state_find(const struct drift_state *s, const char *feature,
                                         const char *match);

/*
 * Compare a (the good or earlier state) with b.  Returns a new
 * {"a":{system,name,time,where},"b":{...},"entries":[...],"sunk":N,
 *  "volatile":[field names sunk as volatile], "records":[na, nb]}, entries
 * ranked best first, each {feature, key, change, fields, score, why[,
 * lines, keys, value]}.
 */
json_t *drift_diff(const struct drift_state *a, const struct drift_state *b,
                   const struct drift_rules *rules, const struct drift_opts *o);

/* Count, into h (counts created when NULL), the fields changed between
 * consecutive states a -> b (for the history signal). */
void drift_history_add(struct drift_history *h, const struct drift_state *a,
                       const struct drift_state *b);

#endif
