/*
 * promql.h - the subset of PromQL Vantage answers (docs/grafana.md): an
 * expression parsed into a tree (promql_parse.c), evaluated over stored
 * series at one time or at every step of a range (promql_eval.c).
 *
 *   expr     := expr OP expr | "-" expr | "+" expr | "(" expr ")" | NUMBER
 *             | selector | FUNC "(" selector "[" DURATION "]" ")"
 *             | AGG [by|without (labels)] "(" expr ")" [by|without (labels)]
 *   selector := [NAME] ["{" label OP "string", ... "}"] ["[" DURATION "]"]
 *               ["offset" DURATION]
 *   OP       := + - * /  (precedence * / over + -; vector OP vector matches
 *               one to one on every label but the name, or on(...) /
 *               ignoring(...))
 *   FUNC     := rate irate increase avg_over_time min_over_time
 *               max_over_time sum_over_time count_over_time last_over_time
 *   AGG      := sum avg min max count
 *
 * Everything else PromQL has (other functions and aggregations, the
 * comparison and set operators, %, ^, bool, group_left/right, subqueries,
 * @) is parsed far enough to say what it is and refused with an error
 * naming it.
 *
 * Semantics are Prometheus's: an instant selector takes a series' latest
 * point in the 5 minutes up to the evaluation time (the lookback delta);
 * a range [R] at time t is the points in (t - R, t]; rate and increase
 * extrapolate as Prometheus does; functions, arithmetic and aggregations
 * drop the metric name (last_over_time keeps it).
 *
 * Series come from a data source with store_series_read()'s signature
 * (the store in the server, arrays in the unit tests), named and labelled
 * as GET /metrics names them (promql_names.h).
 */
#ifndef VANTAGE_ANALYTICS_PROMQL_H
#define VANTAGE_ANALYTICS_PROMQL_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../store/store.h"

#define PQ_MAX_TEXT 16384
#define PQ_MAX_DEPTH 64
#define PQ_LOOKBACK_MS (5 * 60 * 1000)

/* ---- the tree ------------------------------------------------------------------- */

enum pq_kind { PQ_NUM, PQ_SEL, PQ_CALL, PQ_AGG, PQ_BIN, PQ_NEG };
enum pq_type { PQ_SCALAR, PQ_VECTOR, PQ_MATRIX };
enum pq_mop { PQ_M_EQ, PQ_M_NE, PQ_M_RE, PQ_M_NRE };
enum pq_func {
	PQ_RATE,
	PQ_IRATE,
	PQ_INCREASE,
	PQ_AVG_OT,
	PQ_MIN_OT,
	PQ_MAX_OT,
	PQ_SUM_OT,
	PQ_COUNT_OT,
	PQ_LAST_OT
};
enum pq_agg { PQ_SUM, PQ_AVG, PQ_MIN, PQ_MAX, PQ_COUNT };

struct pq_matcher {
	char *name, *value;
	enum pq_mop op;
	regex_t re; /* PQ_M_RE, PQ_M_NRE: anchored ^(value)$ */
};

struct pq_node {
	enum pq_kind kind;
	double num; /* PQ_NUM */
	/* PQ_SEL */
	struct pq_matcher *m;
	int nm;
	int64_t range_ms;  /* 0: an instant selector */
	int64_t offset_ms; /* offset DURATION */
	/* PQ_CALL */
	enum pq_func func;
	/* PQ_AGG: by/without labels; PQ_BIN: on/ignoring labels */
	enum pq_agg agg;
	bool without;  /* AGG: without (...); BIN: ignoring (...) */
	bool matching; /* BIN: on(...) or ignoring(...) was given */
	char **labels;
	int nlabels;
	/* PQ_BIN: '+', '-', '*', '/' */
	char op;
	struct pq_node *a, *b; /* CALL, AGG, NEG: a; BIN: a op b */
};

/* Parse `text`.  0 and *out, or -EINVAL with a message in err (naming the
 * position, or what is not supported: *unsupported set then). */
int pq_parse(const char *text, struct pq_node **out, char *err, size_t cap, bool *unsupported);
void pq_free(struct pq_node *n);
enum pq_type pq_type(const struct pq_node *n);
/* The name of a function or an aggregation ("rate", "sum"). */
const char *pq_func_name(enum pq_func f);
const char *pq_agg_name(enum pq_agg a);

/* ---- the data source ------------------------------------------------------------- */

typedef int (*pq_read_fn)(void *src, const struct store_series_query *q,
                          int (*cb)(void *ctx, const struct store_series_data *d), void *ctx);
struct pq_source {
	pq_read_fn read;
	void *src;
};

/* Does a series' label set (packed: see pq_label_next) pass the matchers? */
bool pq_matches(const struct pq_matcher *m, int nm, const char *labels);

/* ---- results ---------------------------------------------------------------------- */

/*
 * A label set, packed in one string: "name=value\xff" per label, sorted by
 * name ("__name__" first); 0xff never occurs in UTF-8.  pq_label_next()
 * walks it: returns false at the end.
 */
bool pq_label_next(const char **p, const char **name, size_t *nlen, const char **val, size_t *vlen);

struct pq_series {
	char *labels; /* packed */
	size_t n;     /* points */
	int64_t *t;   /* ms */
	double *v;
};

struct pq_result {
	enum pq_type type; /* SCALAR: series[0] holds the points, labels "" */
	struct pq_series *series;
	size_t nseries;
};
void pq_result_free(struct pq_result *r);

/* Limits of one evaluation: points loaded from the source, and values
 * held (series times steps). */
#define PQ_MAX_SAMPLES 50000000
#define PQ_MAX_STEPS 11000

/*
 * Evaluate n at every step start, start + step, ... <= end (an instant
 * query: start == end, step 0).  A range query gives each series' present
 * steps (scalars: one series); an instant query of a range selector gives
 * its points.  0, -EINVAL (err: an execution error, e.g. duplicate series
 * on a side of a match), -E2BIG (too many samples), -ENOMEM, or the data
 * source's error.
 */
int pq_eval(const struct pq_source *src, const struct pq_node *n, int64_t start_ms, int64_t end_ms,
            int64_t step_ms, struct pq_result *res, char *err, size_t cap);

/*
 * Series listing (/api/v1/series, labels, label values): cb(ctx, labels)
 * for each series with a point in [from, to] passing any of the selectors
 * (none: every series), each label set once.  0 or an error as pq_eval.
 */
int pq_series(const struct pq_source *src, struct pq_node *const *sel, int nsel, int64_t from_ms,
              int64_t to_ms, int (*cb)(void *ctx, const char *labels), void *ctx, char *err,
              size_t cap);

#endif
