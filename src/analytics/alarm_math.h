/*
 * alarm_math.h - metric math as CloudWatch alarms use it: an alarm (or a
 * chart) watches an expression over series instead of one series.
 *
 *   expr   := number | series | FUNC(args) | expr OP expr | -expr | (expr)
 *   series := a stored series name, optionally with label matchers:
 *             memory.used_bytes, disk.used_pct{mountpoint="/"}
 *   OP     := + - * / (usual precedence)
 *   FUNC   := RATE(s)          per second change between slots
 *             FILL(s, value)   missing slots take value
 *             SUM(s) AVG(s) MAX(s) MIN(s)
 *                              across every series s names for every
 *                              system of the alarm's selector (the ref is
 *                              "across"): one series out
 *             ABS(s)
 * Semantics of missing points and division by zero: docs/alarms.md.
 *
 * The caller reads the series (alarm_run.c): math_refs() lists what the
 * expression reads; math_eval() computes the result over slots aligned to
 * the period, NaN meaning "no point in that slot".
 */
#ifndef VANTAGE_ALARM_MATH_H
#define VANTAGE_ALARM_MATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct math_expr;

/* Parse; 0 or -EINVAL with err naming the position and what is wrong. */
int math_parse(const char *text, struct math_expr **out, char *err, size_t errlen);
void math_free(struct math_expr *e);

struct math_ref {
	const char
	    *metric; /* "disk.used_pct{mountpoint=\"/\"}": store_series_read's name + matchers */
	bool across; /* inside SUM/AVG/MAX/MIN: every matched system's series */
};
/* The series the expression reads, in a fixed order (valid while e lives). */
size_t math_refs(const struct math_expr *e, const struct math_ref **refs);

/* The values of one ref: nseries arrays of nslots (NaN = missing). */
struct math_input {
	const double *const *series;
	size_t nseries;
};
/* Evaluate over nslots slots of step_ms each; `in` has one entry per ref
 * (math_refs order); out gets nslots values (NaN = missing).  0 or
 * -EINVAL with err (e.g. a non-across ref given several series). */
int math_eval(const struct math_expr *e, const struct math_input *in, size_t nslots,
              int64_t step_ms, double *out, char *err, size_t errlen);

#endif
