/*
 * promql_names.h - how a stored series is named and labelled for
 * Prometheus: the one place GET /metrics (server/prometheus.c) and the
 * PromQL query API (promql_eval.c, server/api_prom.c) take it from, so a
 * series has the same name and labels in both.
 *
 * The store's series "memory.used_pct" of a system is
 * vantage_memory_used_pct{system, name, kind, runtime, image, + the
 * series' own labels}: names sanitized to [a-zA-Z0-9_], abbreviated units
 * turned into base units with the value converted (_kb -> _bytes x1024,
 * _ms -> _seconds /1000, _per_s -> _per_second...), a series label that
 * clashes with a fixed one renamed label_NAME.  Label values are valid
 * UTF-8 (bytes that are not become U+FFFD: Prometheus rejects a scrape
 * with one invalid value).
 */
#ifndef VANTAGE_ANALYTICS_PROMQL_NAMES_H
#define VANTAGE_ANALYTICS_PROMQL_NAMES_H

#include <stdbool.h>
#include <stddef.h>

#include "../util/buf.h"

/* At most this many labels per series (the rest are left out). */
#define PROM_MAX_LABELS 24

/* Format v as Prometheus/JSON would read it back exactly (shortest
 * round-trip form; NaN, +Inf, -Inf). */
void prom_format_value(double v, char *dst, size_t cap);
/* The same, fast for the common values (decimals of up to 9 digits after
 * the point written from integers); dst holds 32 bytes.  Returns the
 * length. */
size_t prom_format_fast(double v, char *dst);
/* "vantage_" + the sanitized series name in base units; *scale converts
 * the value ("memory.total_kb" -> vantage_memory_total_bytes, 1024). */
void prom_family_name(const char *metric, struct buf *dst, double *scale);
/* A label name: [a-zA-Z_][a-zA-Z0-9_]*, never starting with "__". */
void prom_label_name(const char *s, size_t n, struct buf *dst);
/* Append s (n bytes) as a quoted label value: escaped, valid UTF-8. */
void prom_label_value(struct buf *out, const char *s, size_t n);
/* s (n bytes) as valid UTF-8 into out (replacing it): invalid bytes
 * become U+FFFD. */
void prom_utf8(struct buf *out, const char *s, size_t n);
/* cb(key, value text, is_string) for each scalar member of a flat JSON
 * object (nested values and null skipped); 0 or -EINVAL when malformed. */
int prom_flat_object(const char *s, size_t n,
                     void (*cb)(void *ctx, const char *k, const char *v, bool str), void *ctx);

/* Who a series belongs to (strings decoded, NULL: unknown) and its own
 * labels (a flat JSON object, NULL: none). */
struct prom_ident {
	const char *system_id, *name, *kind, *runtime, *image;
	const char *labels_json;
};
/*
 * The labels of a series, in /metrics order: add(ctx, name, value, n) for
 * system, name, kind, runtime, image, then the series' own labels (names
 * sanitized; one that clashes with a fixed name becomes label_NAME).
 * Empty values, a name already given and labels past PROM_MAX_LABELS are
 * left out; values are valid UTF-8.  0, or -EINVAL when labels_json is
 * malformed (the fixed labels were given).
 */
int prom_series_labels(const struct prom_ident *id,
                       void (*add)(void *ctx, const char *name, const char *v, size_t n),
                       void *ctx);

#endif
