/*
 * store_json.h - pieces of the store's JSON answers that every backend
 * writes the same way (store_json.c): stored (JSON-escaped) strings as
 * members, ISO times, the label filter of store_systems_json(), the
 * validation of JSON given to the store, and records rebuilt from their
 * templates (frame headers, metric records).
 */
#ifndef VANTAGE_STORE_STORE_JSON_H
#define VANTAGE_STORE_STORE_JSON_H

#include <stdbool.h>
#include <stdint.h>

#include "../features/metric_series.h"
#include "../util/buf.h"
#include "../util/jscan.h"
#include "../util/json.h"

/* A member whose value is stored raw-escaped text (NULL: null); tmp is scratch. */
void sj_raw_str(struct json *j, const char *name, const char *raw, struct buf *tmp);
/* A member holding the ISO-8601 UTC time of ms. */
void sj_iso_member(struct json *j, const char *name, int64_t ms);
/* Does the labels object (JSON text) match "key=value" or "key" (plain text)? */
bool sj_label_match(const char *labels, const char *filter);
/* Is the NUL-terminated text one JSON value (the crawler's \udcXX escapes allowed)? */
bool sj_valid_json(const char *json);
/*
 * Append a record's value, rebuilt when it is a template: '#T' is the
 * time t; each '#' of a header is written by header(ctx, ...), each of a
 * metric record by metric(ctx, field, out) with *mk and *labels set to
 * the record's key (its series name parts and labels JSON).
 */
void sj_record_value(const char *feature, const char *key, const char *val, size_t vlen, int64_t t,
                     struct metric_key *mk, struct buf *labels,
                     void (*metric)(void *ctx, struct js_span field, struct buf *out),
                     void (*header)(void *ctx, struct js_span member, struct buf *out), void *ctx,
                     struct buf *out);

#endif
