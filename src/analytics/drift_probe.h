/*
 * drift_probe.h - does a query of the search language (docs/search.md)
 * match one state of one system?  `vantage diff --bisect` asks it of
 * stored frames to find where a system went from good to bad.
 */
#ifndef VANTAGE_DRIFT_PROBE_H
#define VANTAGE_DRIFT_PROBE_H

#include <stdbool.h>
#include <stddef.h>

#include "drift_state.h"

/* *match: the query has an answer in state s.  0, or -EINVAL for a bad
 * query (err shows it with a caret under the bad token). */
int drift_probe(const struct drift_state *s, const char *query, bool *match, char *err,
                size_t errlen);

#endif
