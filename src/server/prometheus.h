/*
 * prometheus.h - the /metrics handler (prometheus.c) and the pieces of
 * the exposition format it is made of, exposed for tests.
 */
#ifndef VANTAGE_SERVER_PROMETHEUS_H
#define VANTAGE_SERVER_PROMETHEUS_H

#include <stdbool.h>
#include <stddef.h>

#include "../util/buf.h"
#include "request.h"

/* GET /metrics */
void prom_metrics(struct request *r);
/* Format v as Prometheus/JSON would read it back exactly (shortest
 * round-trip form; NaN, +Inf, -Inf). */
void prom_format_value(double v, char *dst, size_t cap);
/* "vantage_" + the sanitized series name in base units; *scale converts
 * the value ("memory.total_kb" -> vantage_memory_total_bytes, 1024). */
void prom_family_name(const char *metric, struct buf *dst, double *scale);
/* Append s (n bytes) as a quoted label value: escaped, valid UTF-8. */
void prom_label_value(struct buf *out, const char *s, size_t n);
/* cb(key, value text, is_string) for each scalar member of a flat JSON
 * object (nested values and null skipped); 0 or -EINVAL when malformed. */
int prom_flat_object(const char *s, size_t n,
                     void (*cb)(void *ctx, const char *k, const char *v, bool str), void *ctx);

#endif
