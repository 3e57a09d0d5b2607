/*
 * series_common.c - what every store backend shares about metric series,
 * whatever the tables: points and their vectors, how a point's value is
 * written back into a metric record, roll-up aggregates (agg_reduce),
 * label selectors, statistics, the choice of level (raw, 1m, 1h) from the
 * roll-up watermarks, the reduction of points and roll-up rows into
 * buckets (series_reduce, with the rows read through the backend's
 * callback), and the "points" array of a series answer.  Taken out of the
 * SQLite backend so that the PostgreSQL one answers with the very same
 * buckets, values and bytes.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../frame/decode.h"
#include "../util/jscan.h"
#include "../util/json.h"
#include "../util/timefmt.h"
#include "series_common.h"

static void iso(int64_t ms, char *dst, size_t cap)
{
	format_time_utc(ms * 1000000, dst, cap);
}

int pvec_grow(struct pvec *p, const struct point *x)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 256;
		struct point *v = realloc(p->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		p->v = v;
		p->cap = cap;
	}
	p->v[p->n++] = *x;
	return 0;
}

int pvec_reserve(struct pvec *p, size_t extra)
{
	if (p->cap - p->n >= extra)
		return 0;
	struct point *v = realloc(p->v, (p->n + extra) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	p->v = v;
	p->cap = p->n + extra;
	return 0;
}

void pvec_free(struct pvec *p)
{
	free(p->v);
	memset(p, 0, sizeof(*p));
}

void format_point(const struct point *p, struct buf *out)
{
	char t[40];
	if (p->type == PT_INT)
		buf_printf(out, "%lld", (long long)p->i);
	else if (p->type == PT_FLOAT && isfinite(p->d))
		buf_add(out, t, (size_t)frame_fmt_double(p->d, t, sizeof(t)));
	else
		buf_adds(out, "null");
}

const int agg_pct[3] = {50, 90, 99};

/* qsort_r comparator: by the percentile *k (no shared state: handles of
 * several threads sort at once) */
static int cmp_p(const void *a, const void *b, void *k)
{
	int i = *(const int *)k;
	double x = ((const struct agg *)a)->p[i], y = ((const struct agg *)b)->p[i];
	return x < y ? -1 : x > y;
}

void agg_reduce(struct agg *rows, size_t n, struct agg *out)
{
	memset(out, 0, sizeof(*out));
	if (!n)
		return;
	out->t = rows[0].t;
	out->min = rows[0].min;
	out->max = rows[0].max;
	for (size_t i = 0; i < n; i++) {
		out->sum += rows[i].sum;
		out->count += rows[i].count;
		if (rows[i].min < out->min)
			out->min = rows[i].min;
		if (rows[i].max > out->max)
			out->max = rows[i].max;
	}
	for (int k = 0; k < 3; k++) {
		qsort_r(rows, n, sizeof(*rows), cmp_p, &k);
		int64_t target = (out->count * agg_pct[k] + 99) / 100, cum = 0;
		if (target < 1)
			target = 1;
		out->p[k] = rows[n - 1].p[k];
		for (size_t i = 0; i < n; i++) {
			cum += rows[i].count;
			if (cum >= target) {
				out->p[k] = rows[i].p[k];
				break;
			}
		}
	}
}

int stat_parse(const char *name, bool any_pct, struct stat_spec *out)
{
	static const char *const names[] = {"avg", "min", "max", "sum", "count"};
	memset(out, 0, sizeof(*out));
	out->slot = -1;
	if (!name)
		return -EINVAL;
	for (int i = 0; i < 5; i++)
		if (strcmp(name, names[i]) == 0) {
			out->kind = (enum stat_kind)i;
			return 0;
		}
	if (name[0] != 'p' || name[1] < '1' || name[1] > '9' ||
	    (name[2] && (name[2] < '0' || name[2] > '9' || name[3])))
		return -EINVAL;
	out->kind = STAT_PCT;
	out->pct = name[2] ? (name[1] - '0') * 10 + (name[2] - '0') : name[1] - '0';
	for (int k = 0; k < 3; k++)
		if (agg_pct[k] == out->pct)
			out->slot = k;
	return out->slot >= 0 || any_pct ? 0 : -EINVAL;
}

int level_pick(const struct levels *lv, int64_t from, int64_t step, int64_t *step_used)
{
	int level = 0;
	if (lv->wm1m >= 0 && (from < lv->raw_cut || step >= MS_MIN))
		level = 1;
	if (level == 1 && lv->wm1h >= 0 && (from < lv->m1_cut || step >= MS_HOUR))
		level = 2;
	*step_used = step;
	if (level == 1 && step < MS_MIN)
		*step_used = MS_MIN;
	if (level == 2 && step < MS_HOUR)
		*step_used = MS_HOUR;
	return level;
}

/* Step 0: the hours' rows are read below *hb, the minutes' below *mb. */
static void stored_bounds(const struct levels *lv, int64_t from, int64_t *hb, int64_t *mb)
{
	*hb = *mb = INT64_MIN;
	if (lv->wm1h >= 0 && from < lv->m1_cut) {
		*hb = ceil_to(lv->m1_cut, MS_HOUR);
		if (*hb > lv->wm1h)
			*hb = lv->wm1h;
	}
	if (lv->wm1m >= 0 && from < lv->raw_cut) {
		*mb = ceil_to(lv->raw_cut, MS_MIN);
		if (*mb > lv->wm1m)
			*mb = lv->wm1m;
	}
}

/* level < 0: step 0 (points as stored) */
int64_t raw_start(const struct levels *lv, int level, int64_t from, int64_t to)
{
	int64_t end = to + 1, cur = from;
	if (level < 0) {
		int64_t hb, mb;
		stored_bounds(lv, from, &hb, &mb);
		if (hb > cur)
			cur = hb;
		if (mb > cur)
			cur = mb;
		return cur;
	}
	int64_t m1_end = lv->wm1m < 0 ? INT64_MIN : lv->wm1m;
	int64_t h1_end = lv->wm1h < 0 ? INT64_MIN : lv->wm1h;
	if (level == 2) {
		int64_t e = h1_end < end ? h1_end : end;
		if (e > cur)
			cur = e;
	}
	if (level >= 1) {
		int64_t e = m1_end < end ? m1_end : end;
		if (e > cur)
			cur = e;
	}
	return cur;
}

void tv_free(struct tv *x)
{
	free(x->t);
	free(x->v);
	memset(x, 0, sizeof(*x));
}

static int tv_add(struct tv *x, int64_t t, double v)
{
	if (x->n == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 256;
		int64_t *nt = realloc(x->t, cap * sizeof(*nt));
		if (!nt)
			return -ENOMEM;
		x->t = nt;
		double *nv = realloc(x->v, cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		x->v = nv;
		x->cap = cap;
	}
	x->t[x->n] = t;
	x->v[x->n++] = v;
	return 0;
}

/* A bucket being reduced. */
struct reducer {
	const struct stat_spec *st;
	int64_t step, bt;
	bool rows; /* percentiles from agg rows (roll-ups), not values */
	double sum, min, max;
	int64_t count;
	double *vals;
	size_t nv, vcap;
	struct agg *ra;
	size_t nr, rcap;
	struct tv *out;
};

/* The k-th smallest of v[0..n) (k < n); v is reordered. */
static double select_kth(double *v, size_t n, size_t k)
{
	size_t lo = 0, hi = n - 1;
	while (lo < hi) {
		double pivot = v[lo + (hi - lo) / 2];
		size_t i = lo, j = hi;
		while (i <= j) {
			while (v[i] < pivot)
				i++;
			while (v[j] > pivot)
				j--;
			if (i <= j) {
				double t = v[i];
				v[i] = v[j];
				v[j] = t;
				i++;
				if (j == 0)
					break;
				j--;
			}
		}
		if (k <= j)
			hi = j;
		else if (k >= i)
			lo = i;
		else
			return v[k];
	}
	return v[k];
}

static int cmp_slot(const void *a, const void *b, void *k)
{
	int i = *(const int *)k;
	double x = ((const struct agg *)a)->p[i], y = ((const struct agg *)b)->p[i];
	return x < y ? -1 : x > y;
}

static int red_flush(struct reducer *rd)
{
	if (!rd->count)
		return 0;
	double v = 0;
	switch (rd->st->kind) {
	case STAT_AVG:
		v = rd->sum / (double)rd->count;
		break;
	case STAT_MIN:
		v = rd->min;
		break;
	case STAT_MAX:
		v = rd->max;
		break;
	case STAT_SUM:
		v = rd->sum;
		break;
	case STAT_COUNT:
		v = (double)rd->count;
		break;
	case STAT_PCT: {
		int64_t target = (rd->count * rd->st->pct + 99) / 100;
		if (target < 1)
			target = 1;
		if (!rd->rows) {
			v = select_kth(rd->vals, rd->nv, (size_t)target - 1);
			break;
		}
		/* count-weighted nearest rank of the rows' percentiles */
		int slot = rd->st->slot;
		qsort_r(rd->ra, rd->nr, sizeof(*rd->ra), cmp_slot, &slot);
		int64_t cum = 0;
		v = rd->ra[rd->nr - 1].p[slot];
		for (size_t i = 0; i < rd->nr; i++) {
			cum += rd->ra[i].count;
			if (cum >= target) {
				v = rd->ra[i].p[slot];
				break;
			}
		}
	}
	}
	int e = tv_add(rd->out, rd->bt, v);
	rd->count = 0;
	rd->nv = rd->nr = 0;
	return e;
}

static int red_bucket(struct reducer *rd, int64_t t)
{
	int64_t bt = floor_to(t, rd->step);
	if (bt == rd->bt)
		return 0;
	int e = red_flush(rd);
	rd->bt = bt;
	return e;
}

static int red_agg(struct reducer *rd, const struct agg *a)
{
	int e = red_bucket(rd, a->t);
	if (e < 0)
		return e;
	if (!rd->count) {
		rd->sum = a->sum;
		rd->min = a->min;
		rd->max = a->max;
		rd->count = a->count;
	} else {
		rd->sum += a->sum;
		rd->count += a->count;
		if (a->min < rd->min)
			rd->min = a->min;
		if (a->max > rd->max)
			rd->max = a->max;
	}
	if (rd->st->kind != STAT_PCT)
		return 0;
	if (rd->nr == rd->rcap) {
		size_t cap = rd->rcap ? rd->rcap * 2 : 64;
		struct agg *v = realloc(rd->ra, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		rd->ra = v;
		rd->rcap = cap;
	}
	rd->ra[rd->nr++] = *a;
	return 0;
}

static inline int red_point(struct reducer *rd, int64_t t, double v)
{
	if (rd->rows) {
		struct agg a = {.t = t, .sum = v, .min = v, .max = v, .count = 1};
		a.p[0] = a.p[1] = a.p[2] = v;
		return red_agg(rd, &a);
	}
	int e = red_bucket(rd, t);
	if (e < 0)
		return e;
	if (!rd->count) {
		rd->sum = rd->min = rd->max = v;
		rd->count = 1;
	} else {
		rd->sum += v;
		rd->count++;
		if (v < rd->min)
			rd->min = v;
		if (v > rd->max)
			rd->max = v;
	}
	if (rd->st->kind != STAT_PCT)
		return 0;
	if (rd->nv == rd->vcap) {
		size_t cap = rd->vcap ? rd->vcap * 2 : 64;
		double *nv = realloc(rd->vals, cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		rd->vals = nv;
		rd->vcap = cap;
	}
	rd->vals[rd->nv++] = v;
	return 0;
}

/* The roll-up rows of a series into a reducer (rd) or as averages (out). */
struct rows_ctx {
	struct reducer *rd;
	struct tv *out;
};

static int rows_each(void *ctx, const struct agg *a, double avg)
{
	struct rows_ctx *c = ctx;
	if (a->count <= 0)
		return 0;
	return c->rd ? red_agg(c->rd, a) : tv_add(c->out, a->t, avg);
}

static int rollup_rows(const struct rollup_src *s, int level, int64_t series, int64_t from,
                       int64_t to, struct reducer *rd, struct tv *out)
{
	struct rows_ctx c = {rd, out};
	if (from >= to)
		return 0;
	return s->rows(s->ctx, level, series, from, to, rows_each, &c);
}

int series_reduce(const struct rollup_src *s, const struct sread *r, int64_t from, int64_t to,
                  int64_t step, int level, const struct levels *lv, const struct stat_spec *st,
                  struct tv *out)
{
	int64_t end = to + 1; /* inclusive range */
	int e = 0;
	if (step == 0) {
		int64_t hb, mb;
		stored_bounds(lv, from, &hb, &mb);
		if (hb > from)
			e = rollup_rows(s, 2, r->id, ceil_to(from, MS_HOUR), hb < end ? hb : end,
			                NULL, out);
		int64_t m0 = hb > from ? hb : from;
		if (e == 0 && mb > m0)
			e = rollup_rows(s, 1, r->id, ceil_to(m0, MS_MIN), mb < end ? mb : end, NULL,
			                out);
		int64_t r0 = raw_start(lv, -1, from, to);
		for (size_t i = 0; e == 0 && i < r->pts.n; i++) {
			const struct point *p = &r->pts.v[i];
			if (p->type != PT_NULL && p->t >= r0 && p->t < end)
				e = tv_add(out, p->t, p->d);
		}
		return e;
	}
	struct reducer rd = {
	    .st = st, .step = step, .bt = INT64_MIN, .rows = level > 0, .out = out};
	int64_t m1_end = lv->wm1m < 0 ? INT64_MIN : lv->wm1m;
	int64_t h1_end = lv->wm1h < 0 ? INT64_MIN : lv->wm1h;
	/* coarse rows up to their watermark, then finer rows for the rest */
	int64_t cur = from;
	if (level == 2) {
		int64_t x = h1_end < end ? h1_end : end;
		e = rollup_rows(s, 2, r->id, floor_to(from, MS_HOUR), x, &rd, NULL);
		if (x > cur)
			cur = x;
	}
	if (e == 0 && level >= 1) {
		int64_t x = m1_end < end ? m1_end : end;
		e = rollup_rows(s, 1, r->id, level == 1 ? floor_to(cur, MS_MIN) : cur, x, &rd,
		                NULL);
		if (x > cur)
			cur = x;
	}
	for (size_t i = 0; e == 0 && i < r->pts.n; i++) {
		const struct point *p = &r->pts.v[i];
		if (p->type != PT_NULL && p->t >= cur && p->t < end)
			e = red_point(&rd, p->t, p->d);
	}
	if (e == 0)
		e = red_flush(&rd);
	free(rd.vals);
	free(rd.ra);
	return e;
}

/* The two digits of 0..99. */
static const char digits2[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233"
    "34353637383940414243444546474849505152535455565758596061626364656667"
    "6869707172737475767778798081828384858687888990919293949596979899";

static inline void put2(char *p, unsigned v)
{
	memcpy(p, digits2 + 2 * v, 2);
}

/* "YYYY-MM-DDTHH:MM:SS.mmmZ" of t (ms) into dst (40 bytes, not
 * NUL-terminated; its length returned), the day's part formatted once per
 * day (a day of 10 s points has one or two). */
struct isofmt {
	int64_t day;
	char prefix[12];
};

static inline size_t iso_fast(struct isofmt *f, int64_t t, char *dst)
{
	int64_t day = t / MS_DAY - (t % MS_DAY < 0);
	unsigned ms = (unsigned)(t - day * MS_DAY);
	if (day != f->day) {
		char full[40];
		iso(t, full, sizeof(full));
		size_t n = strlen(full);
		if (n != 24) { /* a year of other than 4 digits */
			memcpy(dst, full, n + 1);
			return n;
		}
		memcpy(f->prefix, full, 11);
		f->day = day;
	}
	unsigned sec = ms / 1000, mil = ms % 1000;
	memcpy(dst, f->prefix, 11);
	char *p = dst + 11;
	put2(p, sec / 3600);
	p[2] = ':';
	put2(p + 3, sec / 60 % 60);
	p[5] = ':';
	put2(p + 6, sec % 60);
	p[8] = '.';
	p[9] = (char)('0' + mil / 100);
	put2(p + 10, mil % 100);
	p[12] = 'Z';
	return 24;
}

/* A value as jw_double(v, 6) writes it, at p (room for 20 bytes); the
 * bytes written, or 0 when it is not on jw_double's fast path (|v| < 1e9:
 * integer part and 6 decimals rounded half away from zero, trailing
 * zeros and a bare '.' left out). */
static inline size_t num6(char *p, double v)
{
	if (!(v > -1e9 && v < 1e9))
		return 0;
	double sv = v * 1e6;
	int64_t iv = (int64_t)(sv < 0 ? sv - 0.5 : sv + 0.5);
	uint64_t u = iv < 0 ? (uint64_t)(-iv) : (uint64_t)iv;
	unsigned ip = (unsigned)(u / 1000000), fp = (unsigned)(u % 1000000);
	char *o = p;
	if (iv < 0)
		*o++ = '-';
	unsigned nd = 1; /* ip <= 1e9 */
	for (unsigned x = ip; x >= 10; x /= 10)
		nd++;
	char *e = o + nd;
	while (ip >= 100) {
		e -= 2;
		put2(e, ip % 100);
		ip /= 100;
	}
	if (ip >= 10)
		put2(e - 2, ip);
	else
		e[-1] = (char)('0' + ip);
	o += nd;
	if (fp) {
		*o++ = '.';
		put2(o, fp / 10000);
		put2(o + 2, fp / 100 % 100);
		put2(o + 4, fp % 100);
		/* trailing zeros counted without a loop (fp != 0: at most 5) */
		o += 6 - (fp % 10 == 0) - (fp % 100 == 0) - (fp % 1000 == 0) - (fp % 10000 == 0) -
		     (fp % 100000 == 0);
	}
	return (size_t)(o - p);
}

void series_points_text(const struct tv *x, size_t a, size_t b, bool count, bool first,
                        struct buf *o, size_t *offs)
{
	struct isofmt f = {.day = INT64_MIN};
	buf_reserve(o, (b - a) * 48 + 64);
	for (size_t i = a; i < b; i++) {
		if (o->cap - o->len < 80)
			buf_reserve(o, 80 + (b - i) * 48);
		char *p = o->data + o->len;
		if (i > a || !first)
			*p++ = ',';
		if (offs)
			offs[i] = (size_t)(p - o->data);
		*p++ = '[';
		*p++ = '"';
		p += iso_fast(&f, x->t[i], p);
		*p++ = '"';
		*p++ = ',';
		size_t n = count ? 0 : num6(p, x->v[i]);
		if (n) {
			p[n] = ']';
			o->len = (size_t)(p + n + 1 - o->data);
			continue;
		}
		o->len = (size_t)(p - o->data);
		o->data[o->len] = 0;
		if (count) {
			buf_printf(o, "%lld", (long long)x->v[i]);
		} else {
			struct json one; /* no comma: the first value of its own writer */
			jw_init(&one, o);
			jw_double(&one, NULL, x->v[i], 6);
		}
		buf_addc(o, ']');
	}
	if (o->data)
		o->data[o->len] = 0;
}

void series_points_json(const struct tv *x, bool count, struct json *j)
{
	jw_arr_begin(j, "points");
	series_points_text(x, 0, x->n, count, true, j->out, NULL);
	if (x->n)
		j->first[j->depth] = false;
	jw_arr_end(j);
}
