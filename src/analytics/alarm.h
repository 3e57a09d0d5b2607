/*
 * alarm.h - an alarm's definition and its evaluation, CloudWatch's
 * semantics (docs/alarms.md).  Pure: no store, no clock, no I/O.
 *
 *   alarm_def.c    the definition: set from the config file's [alarm NAME]
 *                  keys or from the API's JSON (the same names), checked,
 *                  written back as JSON
 *   alarm_eval.c   one evaluation: the points of the evaluation range ->
 *                  OK / ALARM / INSUFFICIENT_DATA and the reason, exactly
 *                  as CloudWatch's "How alarm state is evaluated when data
 *                  is missing" (its table is tests/unit/test_alarm_eval.c)
 *   alarm_math.c   metric math: an expression over series instead of one
 *                  series (alarm_math.h)
 *
 * Who reads the store and when is alarm_run.h (one alarm over the store at
 * a time: what the daemon and backtests call) and alarm_engine.h (the
 * daemon's alarms, their states, actions and history).
 *
 * Ownership: a struct alarm_def owns every string in it; alarm_def_free().
 */
#ifndef VANTAGE_ALARM_H
#define VANTAGE_ALARM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/json.h"

#define ALARM_NAME_MAX 128

enum alarm_state { ALARM_STATE_OK, ALARM_STATE_ALARM, ALARM_STATE_INSUFFICIENT };
enum alarm_cmp { ALARM_GT, ALARM_GE, ALARM_LT, ALARM_LE };
enum alarm_missing { MISSING_MISSING, MISSING_NOT_BREACHING, MISSING_BREACHING, MISSING_IGNORE };
enum alarm_type {
	ALARM_METRIC, /* metric or expr vs a threshold */
	ALARM_DRIFT   /* a drift rule fires (state alarms, alarm_drift.h) */
};

struct alarm_def {
	char *name;
	enum alarm_type type;
	char *description; /* NULL: none */

	/* what it watches: one system or every system a selector matches */
	char *system;   /* system id or name; NULL when selector */
	char *selector; /* label selector, e.g. "image=nginx:*,kind=container" */

	/* metric alarms: a series (with optional label matchers:
	 * disk.used_pct{mountpoint="/"}) or a metric math expression */
	char *metric;           /* NULL when expr */
	char *expr;             /* NULL when metric */
	char *stat;             /* "avg" (default), "min", "max", "sum", "count", "pNN" */
	int64_t period_ms;      /* default 60 s; >= 1 s */
	int datapoints;         /* M; 0: N (alarm_def_datapoints()) */
	int evaluation_periods; /* N, default 1 */
	enum alarm_cmp cmp;
	double threshold;
	enum alarm_missing missing; /* default MISSING_MISSING */
	int64_t warmup_ms; /* a new system's warm-up; -1: N periods (alarm_def_warmup_ms()) */

	/* drift alarms: the rule and its argument (alarm_drift.h) */
	char *rule;    /* "listen", "package", "config", "process_gone" */
	char *pattern; /* process_gone: the command pattern; others: NULL = any */

	/* actions, on every state change */
	char *webhook;      /* URL: Alertmanager webhook body */
	char *alertmanager; /* URL of an Alertmanager: POST /api/v2/alerts */
	char *command;      /* run with the alarm as JSON on stdin */
	char *severity;     /* a label for receivers; NULL: none */
};

/* Defaults for a definition named `name` (a copy is kept). */
void alarm_def_init(struct alarm_def *d, const char *name);
void alarm_def_free(struct alarm_def *d);
int alarm_def_copy(struct alarm_def *dst, const struct alarm_def *src);

/*
 * One key of the definition from its text, as in the config file
 * ("period", "5m").  0; -ENOENT for an unknown key; -EINVAL for a bad
 * value; err says why ("comparison: '=>' is not one of >, >=, <, <=").
 */
int alarm_def_set(struct alarm_def *d, const char *key, const char *value, char *err,
                  size_t errlen);

/* After the keys: a complete and consistent definition?  (metric or expr
 * or rule; system or selector; M <= N; ...)  0 or -EINVAL with err. */
int alarm_def_check(const struct alarm_def *d, char *err, size_t errlen);

/* From the API's JSON object (the same names; numbers may be numbers or
 * strings), then checked.  0 or -EINVAL with err naming the member.  *d is
 * set anew (alarm_def_init()): whatever it held before is not freed, so
 * give it a def not initialized yet or freed; alarm_def_free() it after,
 * on an error too. */
int alarm_def_from_json(struct alarm_def *d, const char *name, const char *json, size_t len,
                        char *err, size_t errlen);

/* As a JSON object, the next value of `j` (top level or in an array; every
 * key, defaults included, "name" and "type" too: alarm_def_from_json()
 * reads it back). */
void alarm_def_json(const struct alarm_def *d, struct json *j);

/* M and the warm-up with their defaults resolved (N; N periods). */
int alarm_def_datapoints(const struct alarm_def *d);
int64_t alarm_def_warmup_ms(const struct alarm_def *d);

const char *alarm_state_name(enum alarm_state s); /* "OK", "ALARM", "INSUFFICIENT_DATA" */
const char *alarm_cmp_name(enum alarm_cmp c);     /* ">", ... */
const char *alarm_missing_name(enum alarm_missing m);

/* ---- evaluation -------------------------------------------------------------------- */

/* How many periods the evaluation range holds for N evaluation periods
 * (CloudWatch fetches more than N; ours is explicit: docs/alarms.md). */
int alarm_range_periods(const struct alarm_def *d);

/* One period slot of the range: the period's start and its value
 * (present false: no data in that period). */
struct alarm_point {
	int64_t t;
	double v;
	bool present;
};

struct alarm_result {
	enum alarm_state state; /* the new state (== current under ignore/keep) */
	bool kept;              /* ignore: nothing to evaluate, state kept */
	int breaching;          /* breaching points among those evaluated */
	int evaluated;          /* always N unless kept */
	int filled;             /* missing slots filled by the treatment */
	char reason[1024];      /* names the points, their times and the range */
	char data[2048];        /* JSON: {"recentDatapoints":[...],"startDate",...} */
};

/*
 * Evaluate: `range` is the evaluation range, alarm_range_periods() slots,
 * oldest first; `current` the alarm's state now (for ignore and for the
 * wording of the reason).  Deterministic and pure.
 */
void alarm_evaluate(const struct alarm_def *d, const struct alarm_point *range, size_t n,
                    enum alarm_state current, struct alarm_result *out);

/* The same evaluation without its text: state, kept, breaching, evaluated
 * and filled exactly as alarm_evaluate() sets them; reason and data are
 * "" (only their first bytes are written).  What the daemon computes every
 * period; it asks alarm_evaluate() for the text when something changed. */
void alarm_evaluate_state(const struct alarm_def *d, const struct alarm_point *range, size_t n,
                          enum alarm_state current, struct alarm_result *out);

#endif
