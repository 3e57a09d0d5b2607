/*
 * logs_json.h - a stored log line as the JSON object every reader gives
 * (`vantage logs --json`, the API, the live tail):
 *   {"id": 42, "system": "container:...", "name": "web", "source": "stdout",
 *    "time": "2026-12-06T10:00:00.123Z", "level": "err", "line": "..."}
 * "name" (the system's name) only when known; "level" null when unknown.
 */
#ifndef VANTAGE_STORE_LOGS_JSON_H
#define VANTAGE_STORE_LOGS_JSON_H

#include "../util/json.h"
#include "store.h"

/* One line as an object (a value of an array, or the top level). */
void logs_json_line(struct json *j, int64_t id, const struct store_log *l, const char *name);

#endif
