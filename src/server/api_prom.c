/*
 * api_prom.c - the Prometheus HTTP query API under /prometheus, over the
 * stored series, for Grafana's Prometheus data source and promtool
 * (docs/grafana.md, docs/api.md):
 *
 *   /prometheus/api/v1/query         query, time       instant query
 *   /prometheus/api/v1/query_range   query, start, end, step
 *   /prometheus/api/v1/series        match[], start, end
 *   /prometheus/api/v1/labels        [match[]], start, end
 *   /prometheus/api/v1/label/NAME/values
 *   /prometheus/api/v1/status/buildinfo, /metadata, /query_exemplars
 *
 * Answers are Prometheus's JSON: {"status":"success","data":...}, sample
 * values as strings, times as seconds (a float); errors
 * {"status":"error","errorType":"bad_data"|"execution","error":...} with
 * 400 (a bad parameter or query, unsupported PromQL) or 422 (the
 * evaluation failed).  Parameters are read through param()/each_param()
 * only: the URL's query, and for a POST (Grafana's default) the
 * application/x-www-form-urlencoded body, which the router adds to them
 * (ROUTE_POST_READS rows in endpoints.c).
 * The PromQL is analytics/promql*.c's; series are read with
 * store_series_read().  Answers are written straight into the body,
 * numbers formatted without printf (a day at a 10 s step is 8,640 points).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../analytics/promql.h"
#include "../analytics/promql_names.h"
#include "../store/store.h"
#include "../util/buf.h"
#include "../util/json.h"
#include "../util/timefmt.h"
#include "../util/version.h"
#include "api_prom.h"
#include "request.h"

#define MAX_SELECTORS 32

/* ---- parameters --------------------------------------------------------------------- */

/* The value of a parameter (NULL: not given). */
static const char *param(const struct request *r, const char *key)
{
	return req_param(r, key);
}

/* cb(ctx, value) for each value of a repeated parameter; stops at non-zero. */
static int each_param(const struct request *r, const char *key, int (*cb)(void *ctx, const char *v),
                      void *ctx)
{
	for (int i = 0; i < r->nparam; i++)
		if (strcmp(r->param[i].key, key) == 0) {
			int rc = cb(ctx, r->param[i].val);
			if (rc)
				return rc;
		}
	return 0;
}

/* ---- answers -------------------------------------------------------------------------- */

static void prom_error(struct request *r, int status, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void prom_error(struct request *r, int status, const char *type, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	r->status = status;
	r->content_type = "application/json";
	buf_reset(&r->body);
	buf_adds(&r->body, "{\"status\":\"error\",\"errorType\":\"");
	buf_adds(&r->body, type);
	buf_adds(&r->body, "\",\"error\":");
	jw_escape(&r->body, msg, strlen(msg));
	buf_adds(&r->body, "}\n");
}

static void success(struct request *r)
{
	r->status = 200;
	r->content_type = "application/json";
	buf_reset(&r->body);
	buf_adds(&r->body, "{\"status\":\"success\",\"data\":");
}

/* ms as seconds: "1700000000", "1700000000.5" (no printf). */
static void put_time(struct buf *b, int64_t ms)
{
	char tmp[32];
	int k = 0;
	bool neg = ms < 0;
	uint64_t u = neg ? (uint64_t)(-(ms + 1)) + 1 : (uint64_t)ms;
	unsigned frac = (unsigned)(u % 1000);
	u /= 1000;
	if (frac) {
		int digits = 3;
		while (frac % 10 == 0) {
			frac /= 10;
			digits--;
		}
		for (int i = 0; i < digits; i++) {
			tmp[k++] = (char)('0' + frac % 10);
			frac /= 10;
		}
		tmp[k++] = '.';
	}
	do {
		tmp[k++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (neg)
		tmp[k++] = '-';
	buf_reserve(b, (size_t)k);
	while (k)
		b->data[b->len++] = tmp[--k];
	b->data[b->len] = 0;
}

/* [time,"value"] */
static void put_point(struct buf *b, int64_t t, double v)
{
	buf_reserve(b, 64);
	b->data[b->len++] = '[';
	put_time(b, t);
	buf_reserve(b, 40);
	b->data[b->len++] = ',';
	b->data[b->len++] = '"';
	b->len += prom_format_fast(v, b->data + b->len);
	b->data[b->len++] = '"';
	b->data[b->len++] = ']';
	b->data[b->len] = 0;
}

/* A packed label set as a JSON object. */
static void put_labels(struct buf *b, const char *labels)
{
	buf_addc(b, '{');
	const char *p = labels, *n, *v;
	size_t nl, vl;
	bool first = true;
	while (pq_label_next(&p, &n, &nl, &v, &vl)) {
		if (!first)
			buf_addc(b, ',');
		first = false;
		jw_escape(b, n, nl);
		buf_addc(b, ':');
		jw_escape(b, v, vl);
	}
	buf_addc(b, '}');
}

/* ---- the data source: the store ------------------------------------------------------------ */

static int read_store(void *src, const struct store_series_query *q,
                      int (*cb)(void *ctx, const struct store_series_data *d), void *ctx)
{
	return store_series_read(src, q, cb, ctx);
}

/* A failed evaluation or listing as Prometheus answers it. */
static void eval_error(struct request *r, struct store *s, int rc, const char *err)
{
	if (rc == -E2BIG || (rc == -EINVAL && *err))
		prom_error(r, 422, "execution", "%s", err);
	else if (rc == -ENOMEM)
		prom_error(r, 422, "execution", "out of memory evaluating the query");
	else
		prom_error(r, 500, "internal", "%s%s%s", *err ? err : "store error",
		           store_errmsg(s) && *store_errmsg(s) ? ": " : "",
		           store_errmsg(s) ? store_errmsg(s) : "");
}

/* ---- times ------------------------------------------------------------------------------------
 */

/* A time parameter: RFC 3339 or unix seconds (fractions allowed); dflt
 * when absent.  -EINVAL with the answer set. */
static int time_param(struct request *r, const char *key, int64_t dflt, int64_t *ms)
{
	const char *v = param(r, key);
	*ms = dflt;
	if (!v)
		return 0;
	if (parse_time(v, r->now_ms, ms) < 0) {
		prom_error(r, 400, "bad_data",
		           "invalid parameter \"%s\": cannot parse \"%s\" to a valid timestamp",
		           key, v);
		return -EINVAL;
	}
	return 0;
}

static struct pq_node *parse_query(struct request *r, const char *q)
{
	if (!q || !*q) {
		prom_error(r, 400, "bad_data", "invalid parameter \"query\": no query given");
		return NULL;
	}
	char err[512];
	struct pq_node *n;
	bool unsup;
	if (pq_parse(q, &n, err, sizeof(err), &unsup) < 0) {
		prom_error(r, 400, "bad_data", "invalid parameter \"query\": %s", err);
		return NULL;
	}
	return n;
}

/* ---- query, query_range ------------------------------------------------------------------------
 */

static void answer(struct request *r, const struct pq_result *res, bool range)
{
	success(r);
	struct buf *b = &r->body;
	static const char *const types[] = {"scalar", "vector", "matrix"};
	enum pq_type t = range && res->type != PQ_MATRIX ? PQ_MATRIX : res->type;
	buf_adds(b, "{\"resultType\":\"");
	buf_adds(b, types[t]);
	buf_adds(b, "\",\"result\":");
	if (t == PQ_SCALAR) {
		const struct pq_series *s = &res->series[0];
		put_point(b, s->t[0], s->v[0]);
	} else {
		buf_addc(b, '[');
		for (size_t i = 0; i < res->nseries; i++) {
			const struct pq_series *s = &res->series[i];
			if (i)
				buf_addc(b, ',');
			buf_adds(b, "{\"metric\":");
			put_labels(b, s->labels);
			if (t == PQ_VECTOR) {
				buf_adds(b, ",\"value\":");
				put_point(b, s->t[0], s->v[0]);
			} else {
				buf_adds(b, ",\"values\":[");
				for (size_t k = 0; k < s->n; k++) {
					if (k)
						buf_addc(b, ',');
					put_point(b, s->t[k], s->v[k]);
				}
				buf_addc(b, ']');
			}
			buf_addc(b, '}');
		}
		buf_addc(b, ']');
	}
	buf_adds(b, "}}\n");
}

static void run(struct request *r, const char *q, int64_t start, int64_t end, int64_t step,
                bool range)
{
	struct pq_node *n = parse_query(r, q);
	if (!n)
		return;
	if (range && pq_type(n) == PQ_MATRIX) {
		prom_error(
		    r, 400, "bad_data",
		    "invalid expression type \"range vector\" for range query, must be Scalar "
		    "or instant Vector");
		pq_free(n);
		return;
	}
	struct store *s = req_store(r);
	if (!s) {
		pq_free(n);
		return;
	}
	struct pq_source src = {read_store, s};
	struct pq_result res;
	char err[512];
	int rc = pq_eval(&src, n, start, end, step, &res, err, sizeof(err));
	if (rc < 0)
		eval_error(r, s, rc, err);
	else
		answer(r, &res, range);
	pq_result_free(&res);
	pq_free(n);
}

void prom_api_query(struct request *r)
{
	int64_t t;
	if (time_param(r, "time", r->now_ms, &t) < 0)
		return;
	run(r, param(r, "query"), t, t, 0, false);
}

void prom_api_query_range(struct request *r)
{
	int64_t start, end, step;
	for (const char *k = "start"; k; k = strcmp(k, "start") == 0 ? "end" : NULL)
		if (!param(r, k)) {
			prom_error(r, 400, "bad_data", "invalid parameter \"%s\": missing", k);
			return;
		}
	if (time_param(r, "start", 0, &start) < 0 || time_param(r, "end", 0, &end) < 0)
		return;
	const char *sv = param(r, "step");
	if (!sv) {
		prom_error(r, 400, "bad_data", "invalid parameter \"step\": missing");
		return;
	}
	if (parse_duration_ms(sv, &step) < 0) {
		prom_error(r, 400, "bad_data",
		           "invalid parameter \"step\": cannot parse \"%s\" to a valid duration",
		           sv);
		return;
	}
	if (step <= 0) {
		prom_error(
		    r, 400, "bad_data",
		    "invalid parameter \"step\": zero or negative query resolution step widths "
		    "are not accepted. Try a positive integer");
		return;
	}
	if (end < start) {
		prom_error(
		    r, 400, "bad_data",
		    "invalid parameter \"end\": end timestamp must not be before start time");
		return;
	}
	if ((end - start) / step >= PQ_MAX_STEPS) {
		prom_error(r, 400, "bad_data",
		           "exceeded maximum resolution of 11,000 points per timeseries. Try "
		           "decreasing the query resolution (?step=XX)");
		return;
	}
	run(r, param(r, "query"), start, end, step, true);
}

/* ---- series, labels, label values ----------------------------------------------------------- */

struct selectors {
	struct request *r;
	struct pq_node *n[MAX_SELECTORS];
	int count;
	bool bad;
};

static int add_selector(void *ctx, const char *v)
{
	struct selectors *s = ctx;
	if (s->count == MAX_SELECTORS) {
		prom_error(s->r, 400, "bad_data", "at most %d match[] selectors", MAX_SELECTORS);
		s->bad = true;
		return 1;
	}
	char err[512];
	struct pq_node *n;
	bool unsup;
	if (pq_parse(v, &n, err, sizeof(err), &unsup) < 0) {
		prom_error(s->r, 400, "bad_data", "invalid parameter \"match[]\": %s", err);
		s->bad = true;
		return 1;
	}
	if (n->kind != PQ_SEL || n->range_ms) {
		prom_error(s->r, 400, "bad_data",
		           "invalid parameter \"match[]\": '%s' is not an instant vector selector",
		           v);
		pq_free(n);
		s->bad = true;
		return 1;
	}
	s->n[s->count++] = n;
	return 0;
}

static void selectors_free(struct selectors *s)
{
	for (int i = 0; i < s->count; i++)
		pq_free(s->n[i]);
}

/* A listing's range: start (default 0) and end (default now): Prometheus
 * defaults to all time; the store keeps 15 months. */
static int listing_range(struct request *r, int64_t *from, int64_t *to)
{
	if (time_param(r, "start", 0, from) < 0 || time_param(r, "end", r->now_ms, to) < 0)
		return -EINVAL;
	return 0;
}

struct names {
	const char *label; /* label values: this one; NULL: label names */
	char **v;
	size_t n, cap;
};

static int put_series(void *ctx, const char *labels)
{
	struct buf *b = ctx;
	if (b->data[b->len - 1] != '[')
		buf_addc(b, ',');
	put_labels(b, labels);
	return 0;
}

static int add_name(void *ctx, const char *labels)
{
	struct names *nm = ctx;
	const char *p = labels, *n, *v;
	size_t nl, vl;
	while (pq_label_next(&p, &n, &nl, &v, &vl)) {
		if (nm->label && (strlen(nm->label) != nl || memcmp(nm->label, n, nl) != 0))
			continue;
		const char *s = nm->label ? v : n;
		size_t sl = nm->label ? vl : nl;
		if (nm->n == nm->cap) {
			nm->cap = nm->cap ? nm->cap * 2 : 64;
			char **a = realloc(nm->v, nm->cap * sizeof(*a));
			if (!a)
				return -ENOMEM;
			nm->v = a;
		}
		char *c = malloc(sl + 1);
		if (!c)
			return -ENOMEM;
		memcpy(c, s, sl);
		c[sl] = 0;
		nm->v[nm->n++] = c;
	}
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* /series, or the names of labels (label NULL) or the values of one */
static void listing(struct request *r, bool series, const char *label)
{
	struct selectors sel = {.r = r};
	each_param(r, "match[]", add_selector, &sel);
	if (sel.bad) {
		selectors_free(&sel);
		return;
	}
	if (series && !sel.count) {
		prom_error(r, 400, "bad_data", "no match[] parameter provided");
		return;
	}
	int64_t from, to;
	struct store *s = listing_range(r, &from, &to) < 0 ? NULL : req_store(r);
	if (!s) {
		selectors_free(&sel);
		return;
	}
	struct pq_source src = {read_store, s};
	char err[512];
	int rc;
	if (series) {
		success(r);
		buf_addc(&r->body, '[');
		rc = pq_series(&src, sel.n, sel.count, from, to, put_series, &r->body, err,
		               sizeof(err));
		buf_adds(&r->body, "]}\n");
	} else {
		struct names nm = {.label = label};
		rc = pq_series(&src, sel.n, sel.count, from, to, add_name, &nm, err, sizeof(err));
		if (rc >= 0) {
			if (nm.n) /* none: nm.v is NULL, which qsort may not take */
				qsort(nm.v, nm.n, sizeof(*nm.v), cmp_str);
			success(r);
			buf_addc(&r->body, '[');
			for (size_t i = 0; i < nm.n; i++) {
				if (i && strcmp(nm.v[i], nm.v[i - 1]) == 0)
					continue;
				if (r->body.data[r->body.len - 1] != '[')
					buf_addc(&r->body, ',');
				jw_escape(&r->body, nm.v[i], strlen(nm.v[i]));
			}
			buf_adds(&r->body, "]}\n");
		}
		for (size_t i = 0; i < nm.n; i++)
			free(nm.v[i]);
		free(nm.v);
	}
	if (rc < 0)
		eval_error(r, s, rc, err);
	selectors_free(&sel);
}

void prom_api_series(struct request *r)
{
	listing(r, true, NULL);
}

void prom_api_labels(struct request *r)
{
	listing(r, false, NULL);
}

void prom_api_label_values(struct request *r)
{
	const char *name = req_var(r, "name");
	if (!name || !*name) {
		prom_error(r, 400, "bad_data", "invalid label name");
		return;
	}
	listing(r, false, name);
}

/* ---- what Grafana asks besides -------------------------------------------------------------- */

void prom_api_buildinfo(struct request *r)
{
	success(r);
	/* Grafana reads the version to pick features: a Prometheus 2.x API */
	buf_adds(&r->body, "{\"version\":\"2.42.0\",\"revision\":\"vantage-");
	buf_adds(&r->body, VANTAGE_VERSION);
	buf_adds(&r->body, "\",\"branch\":\"vantage\",\"buildUser\":\"vantage\",\"buildDate\":\"\","
	                   "\"goVersion\":\"\"}}\n");
}

void prom_api_metadata(struct request *r)
{
	success(r);
	buf_adds(&r->body, "{}}\n");
}

void prom_api_empty_list(struct request *r)
{
	success(r);
	buf_adds(&r->body, "[]}\n");
}
