/*
 * api_chart.c - GET /api/v1/chart: the series of one system's metrics over
 * a range, downsampled for a chart `width` pixels wide, in one call per
 * group of charts (docs/api.md):
 *
 *   GET /api/v1/chart?system=ID&metric=NAME&metric=NAME2&from=-1h&to=now&width=800
 *   {"system":ID,"from":ms,"to":ms,"width":800,"bucket_ms":4500,"source":"raw",
 *    "series":[{"metric":NAME,"labels":{...},"t":[unix s...],"v":[...]},...],
 *    "missing":[names without a series in the range]}
 *
 * The range is cut in `width` buckets; each keeps its minimum and maximum
 * point (chart_downsample(), api_chart.h), so at most two points per pixel
 * and spikes survive.  Within raw retention (the last 24 h, store.h) the
 * raw points are read (store_series_read, step 0) and each bucket's min
 * and max are real points at their own times.  Older ranges come from the
 * roll-ups: two reads with step = bucket (stat min, then max), a bucket's
 * minimum drawn at its start and its maximum at its middle ("source":
 * "rollup").
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../store/store.h"
#include "../util/json.h"
#include "../util/timefmt.h"
#include "../util/util.h"
#include "../util/xalloc.h"
#include "api.h"
#include "api_chart.h"
#include "request.h"

#define DEFAULT_WIDTH 800
#define MAX_WIDTH 10000
#define MAX_METRICS 16
#define DEFAULT_RANGE_MS (3600 * 1000LL)
#define RAW_RETENTION_MS (24 * 3600 * 1000LL) /* store.h: raw points for 24 h */

/* ---- downsampling ------------------------------------------------------------------ */

size_t chart_downsample(const int64_t *t, const double *v, size_t n, int64_t from,
                        int64_t bucket_ms, size_t nbuckets, int64_t *ot, double *ov)
{
	size_t out = 0, lo = 0, hi = 0;
	int64_t cur = -1; /* the bucket being filled; -1: none */
	if (bucket_ms < 1)
		bucket_ms = 1;
	for (size_t i = 0; i <= n; i++) {
		int64_t b = -2;
		if (i < n) {
			if (isnan(v[i]))
				continue;
			b = t[i] < from ? 0 : (t[i] - from) / bucket_ms;
			if (b >= (int64_t)nbuckets)
				b = (int64_t)nbuckets - 1;
			if (b == cur) {
				if (v[i] < v[lo])
					lo = i;
				if (v[i] > v[hi])
					hi = i;
				continue;
			}
		}
		if (cur >= 0) { /* flush the bucket: its min and max in time order */
			size_t a = lo < hi ? lo : hi, z = lo < hi ? hi : lo;
			ot[out] = t[a], ov[out++] = v[a];
			if (z != a)
				ot[out] = t[z], ov[out++] = v[z];
		}
		cur = b;
		lo = hi = i;
	}
	return out;
}

/* ---- the request --------------------------------------------------------------------- */

struct series {
	char *metric, *labels;
	int64_t *t;
	double *v;
	size_t n, cap;
};

struct chart {
	struct request *r;
	int64_t from, to, bucket_ms;
	size_t width;
	bool rollup;
	bool pass_max; /* rollup: the second read (stat max) */
	struct series *s;
	size_t ns, found; /* found: series of the current metric */
	int64_t *tt;      /* scratch of 2 * width points */
	double *tv;
};

static int series_add(struct chart *c, const struct store_series_data *d)
{
	struct series *s = NULL;
	if (c->pass_max) { /* the series read with stat min, or a new one */
		for (size_t i = 0; i < c->ns && !s; i++)
			if (strcmp(c->s[i].metric, d->metric) == 0 &&
			    strcmp(c->s[i].labels, d->labels) == 0)
				s = &c->s[i];
	}
	if (!s) {
		c->s = xreallocarray(c->s, c->ns + 1, sizeof(*c->s));
		s = &c->s[c->ns++];
		*s = (struct series){.metric = xstrdup(d->metric), .labels = xstrdup(d->labels)};
	}
	c->found++;
	if (!c->rollup) {
		size_t n = chart_downsample(d->t, d->v, d->n, c->from, c->bucket_ms, c->width,
		                            c->tt, c->tv);
		s->t = malloc(n * sizeof(*s->t) + 1);
		s->v = malloc(n * sizeof(*s->v) + 1);
		if (!s->t || !s->v)
			return -ENOMEM;
		memcpy(s->t, c->tt, n * sizeof(*s->t));
		memcpy(s->v, c->tv, n * sizeof(*s->v));
		s->n = n;
		return 0;
	}
	if (!c->pass_max) { /* minimums: one point per bucket, at its start */
		size_t n = d->n < c->width ? d->n : c->width;
		s->t = malloc(2 * n * sizeof(*s->t) + 1);
		s->v = malloc(2 * n * sizeof(*s->v) + 1);
		if (!s->t || !s->v)
			return -ENOMEM;
		memcpy(s->t, d->t, n * sizeof(*s->t));
		memcpy(s->v, d->v, n * sizeof(*s->v));
		s->n = n;
		s->cap = 2 * n;
		return 0;
	}
	/* maximums: merged after each bucket's minimum, at its middle */
	size_t k = 0, out = 0, n = s->n;
	int64_t *t = c->tt;
	double *v = c->tv;
	if (!n)
		return 0;
	for (size_t i = 0; i < n; i++) { /* out <= 2 * n = s->cap */
		t[out] = s->t[i], v[out++] = s->v[i];
		while (k < d->n && d->t[k] < s->t[i])
			k++;
		if (k < d->n && d->t[k] == s->t[i] && d->v[k] != s->v[i])
			t[out] = s->t[i] + c->bucket_ms / 2, v[out++] = d->v[k];
	}
	memcpy(s->t, t, out * sizeof(*t));
	memcpy(s->v, v, out * sizeof(*v));
	s->n = out;
	return 0;
}

static int on_series(void *ctx, const struct store_series_data *d)
{
	return series_add(ctx, d);
}

static void chart_free(struct chart *c)
{
	for (size_t i = 0; i < c->ns; i++) {
		free(c->s[i].metric);
		free(c->s[i].labels);
		free(c->s[i].t);
		free(c->s[i].v);
	}
	free(c->s);
	free(c->tt);
	free(c->tv);
}

/* A time: "now", ISO, epoch ms (12 digits or more), epoch seconds, or a
 * duration before now ("1h", "-1h"). */
static int chart_time(struct request *r, const char *name, int64_t dflt, int64_t *out)
{
	const char *s = req_param(r, name);
	if (!s) {
		*out = dflt;
		return 0;
	}
	size_t nd = strspn(s, "0123456789");
	if (nd >= 12 && !s[nd] && nd <= 15) {
		*out = strtoll(s, NULL, 10);
		return 0;
	}
	if (parse_time(s, r->now_ms, out) < 0) {
		req_error(r, 400, name,
		          "%s '%s' is not a time: use now, ISO-8601 (2026-11-22T10:00:00Z), epoch "
		          "milliseconds, or a duration before now (-1h, 30m)",
		          name, s);
		return -1;
	}
	return 0;
}

/* Print a time in unix seconds (ms kept) and a value (null when not finite). */
static void put_time(struct buf *b, int64_t ms)
{
	if (ms % 1000 == 0)
		buf_printf(b, "%lld", (long long)(ms / 1000));
	else
		buf_printf(b, "%lld.%03lld", (long long)(ms / 1000), (long long)(ms % 1000));
}

static void put_value(struct buf *b, double v)
{
	if (isfinite(v))
		buf_printf(b, "%.15g", v);
	else
		buf_adds(b, "null");
}

static void write_answer(struct chart *c, const char *system, const char *const *metrics,
                         const size_t *found, size_t nm)
{
	struct buf *b = &c->r->body;
	buf_reset(b);
	struct json j;
	jw_init(&j, b);
	jw_obj_begin(&j, NULL);
	jw_str(&j, "system", system);
	jw_int(&j, "from", c->from);
	jw_int(&j, "to", c->to);
	jw_uint(&j, "width", c->width);
	jw_int(&j, "bucket_ms", c->bucket_ms);
	jw_str(&j, "source", c->rollup ? "rollup" : "raw");
	jw_arr_begin(&j, "series");
	for (size_t i = 0; i < c->ns; i++) {
		struct series *s = &c->s[i];
		jw_obj_begin(&j, NULL);
		jw_str(&j, "metric", s->metric);
		jw_raw(&j, "labels", s->labels, strlen(s->labels));
		jw_raw(&j, "t", "", 0);
		buf_addc(b, '[');
		for (size_t k = 0; k < s->n; k++) {
			if (k)
				buf_addc(b, ',');
			put_time(b, s->t[k]);
		}
		buf_addc(b, ']');
		jw_raw(&j, "v", "", 0);
		buf_addc(b, '[');
		for (size_t k = 0; k < s->n; k++) {
			if (k)
				buf_addc(b, ',');
			put_value(b, s->v[k]);
		}
		buf_addc(b, ']');
		jw_obj_end(&j);
	}
	jw_arr_end(&j);
	jw_arr_begin(&j, "missing");
	for (size_t i = 0; i < nm; i++)
		if (!found[i])
			jw_str(&j, NULL, metrics[i]);
	jw_arr_end(&j);
	jw_obj_end(&j);
	buf_addc(b, '\n');
}

/* The parameters; -1 with the answer set when one is wrong. */
static int chart_params(struct request *r, struct chart *c, const char **system,
                        const char **metrics, size_t *nm)
{
	static const char *const allowed[] = {"system", "+metric", "from", "to", "width", NULL};
	if (req_check_params(r, allowed) < 0)
		return -1;
	*system = req_param(r, "system");
	if (!*system || !**system) {
		req_error(r, 400, "system",
		          "system=ID is required (GET /api/v1/systems lists them)");
		return -1;
	}
	*nm = 0;
	for (int i = 0; i < r->nparam; i++) {
		if (strcmp(r->param[i].key, "metric") != 0)
			continue;
		const char *m = r->param[i].val;
		if (!*m || strlen(m) > 200 || strpbrk(m, "{}\"")) {
			req_error(r, 400, "metric",
			          "metric '%s': expected a series name (cgroup.mem_usage_bytes)",
			          m);
			return -1;
		}
		if (*nm == MAX_METRICS) {
			req_error(r, 400, "metric", "at most %d metrics per call", MAX_METRICS);
			return -1;
		}
		metrics[(*nm)++] = m;
	}
	if (!*nm) {
		req_error(r, 400, "metric",
		          "metric=NAME is required, once per series name (GET "
		          "/api/v1/systems/ID/metrics lists them)");
		return -1;
	}
	const char *w = req_param(r, "width");
	c->width = DEFAULT_WIDTH;
	if (w) {
		char *end;
		long v = strtol(w, &end, 10);
		if (end == w || *end || v < 1 || v > MAX_WIDTH) {
			req_error(r, 400, "width", "width '%s': expected pixels from 1 to %d", w,
			          MAX_WIDTH);
			return -1;
		}
		c->width = (size_t)v;
	}
	if (chart_time(r, "to", r->now_ms, &c->to) < 0 ||
	    chart_time(r, "from", c->to - DEFAULT_RANGE_MS, &c->from) < 0)
		return -1;
	if (c->to <= c->from) {
		req_error(r, 400, req_param(r, "from") ? "from" : "to",
		          "the range is empty: from must be before to");
		return -1;
	}
	return 0;
}

void api_chart(struct request *r)
{
	struct chart c = {.r = r};
	const char *system, *metrics[MAX_METRICS];
	size_t nm, found[MAX_METRICS] = {0};
	if (chart_params(r, &c, &system, metrics, &nm) < 0)
		return;
	int64_t range = c.to - c.from;
	c.bucket_ms = (range + (int64_t)c.width - 1) / (int64_t)c.width;
	if (c.bucket_ms < 1)
		c.bucket_ms = 1;
	c.rollup = c.from < r->now_ms - RAW_RETENTION_MS && c.bucket_ms >= 1000;
	if (c.rollup) {
		/* the store's buckets start at multiples of the step: `width`
		 * of them must cover the range wherever it starts */
		int64_t cover = c.width > 1 ? (int64_t)c.width - 1 : 1;
		c.bucket_ms = ((range + cover - 1) / cover + 999) / 1000 * 1000;
	}
	c.tt = malloc(2 * (c.width + 1) * sizeof(*c.tt));
	c.tv = malloc(2 * (c.width + 1) * sizeof(*c.tv));
	struct store *s = c.tt && c.tv ? req_store(r) : NULL;
	if (!c.tt || !c.tv)
		req_error(r, 500, NULL, "out of memory");
	int rc = 0;
	const char *ids[] = {system};
	for (size_t i = 0; s && i < nm && rc == 0; i++) {
		struct store_series_query q = {
		    .metric = metrics[i],
		    .system_ids = ids,
		    .nsystems = 1,
		    .from_ms = c.from,
		    .to_ms = c.to,
		    .step_ms = c.rollup ? c.bucket_ms : 0,
		    .stat = "min",
		};
		c.found = 0;
		c.pass_max = false;
		rc = store_series_read(s, &q, on_series, &c);
		if (rc == 0 && c.rollup) {
			q.stat = "max";
			c.pass_max = true;
			rc = store_series_read(s, &q, on_series, &c);
		}
		found[i] = c.found;
	}
	if (s && rc < 0) {
		if (rc == -ENOMEM)
			req_error(r, 500, NULL, "out of memory");
		else
			req_store_error(r, rc, "series");
	} else if (s) {
		bool any = false;
		for (size_t i = 0; i < nm; i++)
			any |= found[i] > 0;
		struct buf names = BUF_INIT;
		if (!any && store_metric_names_json(s, system, &names) == -ENOENT)
			req_error(r, 404, "system", "unknown system '%s'", system);
		else
			write_answer(&c, system, metrics, found, nm);
		buf_free(&names);
	}
	chart_free(&c);
}
