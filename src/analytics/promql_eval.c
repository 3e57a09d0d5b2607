/*
 * promql_eval.c - evaluating a PromQL tree (promql.h) over the series of
 * a data source, at one time or at every step of a range, as Prometheus
 * does.
 *
 * Every node evaluates to a step matrix: series (a packed label set) by
 * steps (start + i * step), each value present or not; a scalar is one
 * series with every step present.  Selectors read in two passes: the
 * listing of every series in the range (no points) named and labelled as
 * /metrics names them (promql_names.h) and tested against the matchers,
 * then the points of the matching series only, one read per store
 * metric.  Points are copied once per series (one array each) and steps
 * are walked with moving indexes: no allocation per point or step.
 *
 * Errors are execution errors in err: duplicate series on a side of a
 * match, two results with the same labels; and limits: PQ_MAX_SAMPLES
 * points read or values held (-E2BIG).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/buf.h"
#include "../util/util.h"
#include "../util/xalloc.h"
#include "promql.h"
#include "promql_names.h"

/* ---- packed label sets -------------------------------------------------------------- */

bool pq_label_next(const char **p, const char **name, size_t *nlen, const char **val, size_t *vlen)
{
	const char *s = *p;
	if (!s || !*s)
		return false;
	const char *eq = strchr(s, '=');
	const char *end = eq;
	while (*end && (unsigned char)*end != 0xff)
		end++;
	*name = s;
	*nlen = (size_t)(eq - s);
	*val = eq + 1;
	*vlen = (size_t)(end - eq - 1);
	*p = end + 1;
	return true;
}

/* The value of label `name` (NULL: none). */
static const char *label_get(const char *labels, const char *name, size_t *vlen)
{
	const char *p = labels, *n, *v;
	size_t nl, vl, want = strlen(name);
	while (pq_label_next(&p, &n, &nl, &v, &vl))
		if (nl == want && memcmp(n, name, nl) == 0) {
			*vlen = vl;
			return v;
		}
	return NULL;
}

static bool listed(const char *n, size_t nl, char *const *names, int count)
{
	for (int i = 0; i < count; i++)
		if (strlen(names[i]) == nl && memcmp(names[i], n, nl) == 0)
			return true;
	return false;
}

/* The labels kept: those listed (keep) or those not listed, and never
 * __name__ when drop_name. */
static char *label_filter(const char *labels, char *const *names, int count, bool keep,
                          bool drop_name)
{
	struct buf b = BUF_INIT;
	buf_adds(&b, "");
	const char *p = labels, *n, *v;
	size_t nl, vl;
	while (pq_label_next(&p, &n, &nl, &v, &vl)) {
		bool is_name = nl == 8 && memcmp(n, "__name__", 8) == 0;
		if ((drop_name && is_name) || listed(n, nl, names, count) != keep)
			continue;
		buf_add(&b, n, (size_t)(v + vl + 1 - n));
	}
	return b.data;
}

bool pq_matches(const struct pq_matcher *m, int nm, const char *labels)
{
	char small[256];
	for (int i = 0; i < nm; i++) {
		size_t vl = 0;
		const char *v = label_get(labels, m[i].name, &vl);
		if (!v)
			v = "", vl = 0;
		bool ok;
		switch (m[i].op) {
		case PQ_M_EQ:
		case PQ_M_NE:
			ok = strlen(m[i].value) == vl && memcmp(m[i].value, v, vl) == 0;
			if (m[i].op == PQ_M_NE)
				ok = !ok;
			break;
		default: {
			char *s = vl < sizeof(small) ? small : xmalloc(vl + 1);
			memcpy(s, v, vl);
			s[vl] = 0;
			ok = regexec(&m[i].re, s, 0, NULL, 0) == 0;
			if (s != small)
				free(s);
			if (m[i].op == PQ_M_NRE)
				ok = !ok;
		}
		}
		if (!ok)
			return false;
	}
	return true;
}

/* ---- reading series -------------------------------------------------------------------- */

struct ev {
	const struct pq_source *src;
	int64_t start, step;
	size_t nsteps;
	char *err;
	size_t cap;
	size_t samples; /* points read and values held */
};

static int too_many(struct ev *e, size_t more)
{
	e->samples += more;
	if (e->samples <= PQ_MAX_SAMPLES)
		return 0;
	snprintf(e->err, e->cap,
	         "query processing would load too many samples into memory (more than %d); "
	         "use a shorter range or a larger step",
	         PQ_MAX_SAMPLES);
	return -E2BIG;
}

/* A series read: its labels and points (one allocation for both). */
struct raw {
	char *key;    /* metric \x01 system \x01 labels JSON: to find it again */
	char *labels; /* packed */
	double scale;
	size_t n;
	int64_t *t;
	double *v;
	bool filled;
};

struct lister {
	struct ev *e;
	const struct pq_node *const *sel; /* matchers of any of them; none: all */
	int nsel;
	struct raw *r;
	size_t n, cap;
	struct buf fam, pairs, key;
	size_t *off; /* offsets of the pairs in `pairs` */
	size_t noff, capoff;
};

static void add_pair(void *ctx, const char *name, const char *v, size_t n)
{
	struct lister *l = ctx;
	if (l->noff == l->capoff) {
		l->capoff = l->capoff ? l->capoff * 2 : 32;
		l->off = xreallocarray(l->off, l->capoff, sizeof(*l->off));
	}
	l->off[l->noff++] = l->pairs.len;
	buf_adds(&l->pairs, name);
	buf_addc(&l->pairs, '=');
	buf_add(&l->pairs, v, n);
	buf_addc(&l->pairs, '\xff');
	buf_addc(&l->pairs, 0);
}

static int cmp_pair(const void *a, const void *b, void *arg)
{
	const char *s = arg;
	const char *x = s + *(const size_t *)a, *y = s + *(const size_t *)b;
	size_t xn = strcspn(x, "="), yn = strcspn(y, "=");
	int d = memcmp(x, y, xn < yn ? xn : yn);
	return d ? d : (xn > yn) - (xn < yn);
}

static void make_key(struct buf *k, const char *metric, const char *system, const char *labels)
{
	buf_reset(k);
	buf_adds(k, metric ? metric : "");
	buf_addc(k, '\x01');
	buf_adds(k, system ? system : "");
	buf_addc(k, '\x01');
	buf_adds(k, labels ? labels : "{}");
}

static int list_cb(void *ctx, const struct store_series_data *d)
{
	struct lister *l = ctx;
	if (!d->metric)
		return 0;
	double scale;
	prom_family_name(d->metric, &l->fam, &scale);
	buf_reset(&l->pairs);
	l->noff = 0;
	add_pair(l, "__name__", l->fam.data, l->fam.len);
	struct prom_ident id = {.system_id = d->system_id,
	                        .name = d->name,
	                        .kind = d->kind,
	                        .runtime = d->runtime,
	                        .image = d->image,
	                        .labels_json = d->labels};
	(void)prom_series_labels(&id, add_pair, l); /* malformed labels: the fixed ones */
	qsort_r(l->off, l->noff, sizeof(*l->off), cmp_pair, l->pairs.data);
	struct buf lab = BUF_INIT;
	buf_adds(&lab, "");
	for (size_t i = 0; i < l->noff; i++)
		buf_adds(&lab, l->pairs.data + l->off[i]);
	bool ok = l->nsel == 0;
	for (int i = 0; i < l->nsel && !ok; i++)
		ok = pq_matches(l->sel[i]->m, l->sel[i]->nm, lab.data);
	if (!ok) {
		buf_free(&lab);
		return 0;
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct raw *r = realloc(l->r, cap * sizeof(*r));
		if (!r) {
			buf_free(&lab);
			return -ENOMEM;
		}
		l->r = r;
		l->cap = cap;
	}
	make_key(&l->key, d->metric, d->system_id, d->labels);
	l->r[l->n++] =
	    (struct raw){.key = xstrdup(l->key.data), .labels = lab.data, .scale = scale};
	return 0;
}

static int cmp_raw_labels(const void *a, const void *b)
{
	const struct raw *x = a, *y = b;
	int d = strcmp(x->labels, y->labels);
	return d ? d : strcmp(x->key, y->key);
}

static int cmp_raw_key(const void *a, const void *b)
{
	return strcmp(((const struct raw *)a)->key, ((const struct raw *)b)->key);
}

static void raws_free(struct raw *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(r[i].key);
		free(r[i].labels);
		free(r[i].t);
		free(r[i].v);
	}
	free(r);
}

/* The series of [from, to] passing the selectors, each label set once
 * (two store series named alike: the first in key order wins), sorted by
 * key. */
static int list_series(struct ev *e, const struct pq_node *const *sel, int nsel, int64_t from,
                       int64_t to, struct raw **out, size_t *nout)
{
	struct lister l = {.e = e, .sel = sel, .nsel = nsel};
	struct store_series_query q = {.from_ms = from, .to_ms = to, .no_points = true};
	int rc = e->src->read(e->src->src, &q, list_cb, &l);
	buf_free(&l.fam);
	buf_free(&l.pairs);
	buf_free(&l.key);
	free(l.off);
	if (rc < 0) {
		if (!*e->err)
			snprintf(e->err, e->cap, "reading the series list: %s", strerror(-rc));
		raws_free(l.r, l.n);
		return rc;
	}
	if (l.n) {
		qsort(l.r, l.n, sizeof(*l.r), cmp_raw_labels);
		size_t w = 0;
		for (size_t i = 0; i < l.n; i++) {
			if (w && strcmp(l.r[w - 1].labels, l.r[i].labels) == 0) {
				free(l.r[i].key);
				free(l.r[i].labels);
				continue;
			}
			l.r[w++] = l.r[i];
		}
		l.n = w;
		qsort(l.r, l.n, sizeof(*l.r), cmp_raw_key);
	}
	*out = l.r;
	*nout = l.n;
	return 0;
}

struct filler {
	struct ev *e;
	struct raw *r;
	size_t n;
	struct buf key;
	int err;
};

static int fill_cb(void *ctx, const struct store_series_data *d)
{
	struct filler *f = ctx;
	make_key(&f->key, d->metric, d->system_id, d->labels);
	struct raw k = {.key = f->key.data};
	struct raw *r = bsearch(&k, f->r, f->n, sizeof(*f->r), cmp_raw_key);
	if (!r || r->filled || !d->n)
		return 0;
	int rc = too_many(f->e, d->n);
	if (rc < 0)
		return rc;
	r->t = malloc(d->n * sizeof(int64_t));
	r->v = malloc(d->n * sizeof(double));
	if (!r->t || !r->v)
		return -ENOMEM; /* freed with the others */
	memcpy(r->t, d->t, d->n * sizeof(int64_t));
	for (size_t i = 0; i < d->n; i++)
		r->v[i] = d->v[i] * r->scale;
	r->n = d->n;
	r->filled = true;
	return 0;
}

/* The points in [from, to] of every series the selector matches. */
static int fetch(struct ev *e, const struct pq_node *sel, int64_t from, int64_t to,
                 struct raw **out, size_t *nout)
{
	struct raw *r;
	size_t n;
	int rc = list_series(e, &sel, 1, from, to, &r, &n);
	if (rc < 0)
		return rc;
	struct filler f = {.e = e, .r = r, .n = n};
	const char **systems = NULL;
	/* one read per store metric (the keys are sorted: metric, system) */
	for (size_t i = 0; i < n && rc >= 0;) {
		const char *m = r[i].key;
		size_t ml = strcspn(m, "\x01"), j = i, ns = 0;
		systems = xreallocarray(systems, n, sizeof(*systems));
		char *names = NULL;
		struct buf sb = BUF_INIT;
		size_t *offs = xreallocarray(NULL, n, sizeof(size_t));
		while (j < n && strncmp(r[j].key, m, ml) == 0 && r[j].key[ml] == '\x01') {
			const char *s = r[j].key + ml + 1;
			size_t sl = strcspn(s, "\x01");
			if (!ns || strlen(sb.data + offs[ns - 1]) != sl ||
			    memcmp(sb.data + offs[ns - 1], s, sl) != 0) {
				offs[ns++] = sb.len;
				buf_add(&sb, s, sl);
				buf_addc(&sb, 0);
			}
			j++;
		}
		for (size_t k = 0; k < ns; k++)
			systems[k] = sb.data + offs[k];
		names = xstrndup(m, ml);
		struct store_series_query q = {.metric = names,
		                               .system_ids = systems,
		                               .nsystems = ns,
		                               .from_ms = from,
		                               .to_ms = to};
		rc = e->src->read(e->src->src, &q, fill_cb, &f);
		free(names);
		free(offs);
		buf_free(&sb);
		i = j;
	}
	free(systems);
	buf_free(&f.key);
	if (rc < 0) {
		if (!*e->err)
			snprintf(e->err, e->cap, "reading series: %s", strerror(-rc));
		raws_free(r, n);
		return rc;
	}
	*out = r;
	*nout = n;
	return 0;
}

/* ---- step matrices ----------------------------------------------------------------------- */

struct vser {
	char *labels;
	double *v;   /* nsteps */
	uint8_t *ok; /* nsteps: present */
};

struct vec {
	bool scalar;
	struct vser *s;
	size_t n, cap;
};

static void vec_free(struct vec *v)
{
	for (size_t i = 0; i < v->n; i++) {
		free(v->s[i].labels);
		free(v->s[i].v);
	}
	free(v->s);
	memset(v, 0, sizeof(*v));
}

/* A new series of v taking `labels`; NULL (labels freed) on -ENOMEM/-E2BIG
 * with *rc set. */
static struct vser *vec_add(struct ev *e, struct vec *v, char *labels, int *rc)
{
	if ((*rc = too_many(e, e->nsteps)) < 0) {
		free(labels);
		return NULL;
	}
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 16;
		struct vser *s = realloc(v->s, cap * sizeof(*s));
		if (!s) {
			free(labels);
			*rc = -ENOMEM;
			return NULL;
		}
		v->s = s;
		v->cap = cap;
	}
	double *vals = calloc(e->nsteps, sizeof(double) + 1);
	if (!vals) {
		free(labels);
		*rc = -ENOMEM;
		return NULL;
	}
	struct vser *s = &v->s[v->n++];
	s->labels = labels;
	s->v = vals;
	s->ok = (uint8_t *)(vals + e->nsteps);
	return s;
}

static bool any_ok(const struct ev *e, const struct vser *s)
{
	return memchr(s->ok, 1, e->nsteps) != NULL;
}

static int cmp_vser(const void *a, const void *b)
{
	return strcmp(((const struct vser *)a)->labels, ((const struct vser *)b)->labels);
}

/* Series with the same labels merged into one; both present at a step is
 * Prometheus's "vector cannot contain metrics with the same labelset". */
static int merge_same(struct ev *e, struct vec *v)
{
	if (v->scalar || v->n < 2)
		return 0;
	qsort(v->s, v->n, sizeof(*v->s), cmp_vser);
	size_t w = 0;
	for (size_t i = 0; i < v->n; i++) {
		struct vser *s = &v->s[i];
		if (w && strcmp(v->s[w - 1].labels, s->labels) == 0) {
			struct vser *d = &v->s[w - 1];
			for (size_t k = 0; k < e->nsteps; k++) {
				if (!s->ok[k])
					continue;
				if (d->ok[k]) {
					snprintf(
					    e->err, e->cap,
					    "vector cannot contain metrics with the same labelset");
					for (size_t j = i; j < v->n; j++) {
						free(v->s[j].labels);
						free(v->s[j].v);
					}
					v->n = w;
					return -EINVAL;
				}
				d->ok[k] = 1;
				d->v[k] = s->v[k];
			}
			free(s->labels);
			free(s->v);
			continue;
		}
		v->s[w++] = *s;
	}
	v->n = w;
	return 0;
}

/* ---- selectors and functions ------------------------------------------------------------ */

static int64_t step_time(const struct ev *e, size_t i)
{
	return e->start + (int64_t)i * e->step;
}

static int eval_selector(struct ev *e, const struct pq_node *n, struct vec *out)
{
	struct raw *r;
	size_t nr;
	int64_t first = step_time(e, 0) - n->offset_ms,
	        last = step_time(e, e->nsteps - 1) - n->offset_ms;
	int rc = fetch(e, n, first - PQ_LOOKBACK_MS + 1, last, &r, &nr);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < nr && rc >= 0; i++) {
		if (!r[i].n)
			continue;
		struct vser *s = vec_add(e, out, r[i].labels, &rc);
		r[i].labels = NULL;
		if (!s)
			break;
		size_t j = 0;
		for (size_t k = 0; k < e->nsteps; k++) {
			int64_t t = step_time(e, k) - n->offset_ms;
			while (j < r[i].n && r[i].t[j] <= t)
				j++;
			/* j - 1: the latest point at or before t */
			if (j && r[i].t[j - 1] > t - PQ_LOOKBACK_MS) {
				s->ok[k] = 1;
				s->v[k] = r[i].v[j - 1];
			}
		}
	}
	raws_free(r, nr);
	return rc;
}

/* Prometheus's extrapolatedRate (rate, increase). */
static bool extrapolated(const int64_t *t, const double *v, size_t n, int64_t range_start,
                         int64_t range_end, int64_t range_ms, bool is_rate, double *out)
{
	if (n < 2)
		return false;
	double result = v[n - 1] - v[0];
	for (size_t i = 1; i < n; i++)
		if (v[i] < v[i - 1]) /* a counter reset */
			result += v[i - 1];
	double to_start = (double)(t[0] - range_start) / 1000;
	double to_end = (double)(range_end - t[n - 1]) / 1000;
	double sampled = (double)(t[n - 1] - t[0]) / 1000;
	double avg_between = sampled / (double)(n - 1);
	if (result > 0 && v[0] >= 0) {
		double to_zero = sampled * (v[0] / result);
		if (to_zero < to_start)
			to_start = to_zero;
	}
	double threshold = avg_between * 1.1, interval = sampled;
	interval += to_start < threshold ? to_start : avg_between / 2;
	interval += to_end < threshold ? to_end : avg_between / 2;
	result *= interval / sampled;
	if (is_rate)
		result /= (double)range_ms / 1000;
	*out = result;
	return true;
}

static bool range_func(enum pq_func f, const int64_t *t, const double *v, size_t n,
                       int64_t range_start, int64_t range_end, int64_t range_ms, double *out)
{
	if (!n)
		return false;
	double acc;
	switch (f) {
	case PQ_RATE:
	case PQ_INCREASE:
		return extrapolated(t, v, n, range_start, range_end, range_ms, f == PQ_RATE, out);
	case PQ_IRATE: {
		if (n < 2 || t[n - 1] == t[n - 2])
			return false;
		double d = v[n - 1] < v[n - 2] ? v[n - 1] : v[n - 1] - v[n - 2];
		*out = d / ((double)(t[n - 1] - t[n - 2]) / 1000);
		return true;
	}
	case PQ_AVG_OT:
	case PQ_SUM_OT:
		acc = 0;
		for (size_t i = 0; i < n; i++)
			acc += v[i];
		*out = f == PQ_AVG_OT ? acc / (double)n : acc;
		return true;
	case PQ_MIN_OT:
	case PQ_MAX_OT:
		acc = v[0];
		for (size_t i = 1; i < n; i++)
			if ((f == PQ_MIN_OT ? v[i] < acc : v[i] > acc) || isnan(acc))
				acc = v[i];
		*out = acc;
		return true;
	case PQ_COUNT_OT:
		*out = (double)n;
		return true;
	case PQ_LAST_OT:
		*out = v[n - 1];
		return true;
	}
	return false;
}

static int eval_call(struct ev *e, const struct pq_node *n, struct vec *out)
{
	const struct pq_node *sel = n->a;
	int64_t range = sel->range_ms, off = sel->offset_ms;
	struct raw *r;
	size_t nr;
	int rc = fetch(e, sel, step_time(e, 0) - off - range + 1, step_time(e, e->nsteps - 1) - off,
	               &r, &nr);
	if (rc < 0)
		return rc;
	bool keep_name = n->func == PQ_LAST_OT;
	for (size_t i = 0; i < nr && rc >= 0; i++) {
		if (!r[i].n)
			continue;
		char *labels =
		    keep_name ? r[i].labels : label_filter(r[i].labels, NULL, 0, false, true);
		if (keep_name)
			r[i].labels = NULL;
		struct vser *s = vec_add(e, out, labels, &rc);
		if (!s)
			break;
		size_t lo = 0, hi = 0;
		for (size_t k = 0; k < e->nsteps; k++) {
			int64_t end = step_time(e, k) - off, start = end - range;
			while (hi < r[i].n && r[i].t[hi] <= end)
				hi++;
			while (lo < hi && r[i].t[lo] <= start)
				lo++;
			s->ok[k] = range_func(n->func, r[i].t + lo, r[i].v + lo, hi - lo, start,
			                      end, range, &s->v[k]);
		}
	}
	raws_free(r, nr);
	return rc < 0 ? rc : merge_same(e, out);
}

/* ---- aggregations ------------------------------------------------------------------------- */

struct keyed {
	char *key;
	size_t idx;
};

static int cmp_keyed(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;
	int d = strcmp(x->key, y->key);
	return d ? d : (x->idx > y->idx) - (x->idx < y->idx);
}

static void keyed_free(struct keyed *k, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(k[i].key);
	free(k);
}

static struct vec eval_node(struct ev *e, const struct pq_node *n, int *rc);

static int eval_agg(struct ev *e, const struct pq_node *n, struct vec *out)
{
	int rc = 0;
	struct vec in = eval_node(e, n->a, &rc);
	if (rc < 0)
		return rc;
	struct keyed *k = xreallocarray(NULL, in.n ? in.n : 1, sizeof(*k));
	for (size_t i = 0; i < in.n; i++) {
		k[i].idx = i;
		k[i].key = n->without
		               ? label_filter(in.s[i].labels, n->labels, n->nlabels, false, true)
		               : label_filter(in.s[i].labels, n->labels, n->nlabels, true, true);
	}
	if (in.n)
		qsort(k, in.n, sizeof(*k), cmp_keyed);
	for (size_t i = 0; i < in.n && rc >= 0;) {
		size_t j = i;
		while (j < in.n && strcmp(k[j].key, k[i].key) == 0)
			j++;
		struct vser *s = vec_add(e, out, xstrdup(k[i].key), &rc);
		if (!s)
			break;
		for (size_t t = 0; t < e->nsteps; t++) {
			double acc = 0;
			size_t cnt = 0;
			for (size_t g = i; g < j; g++) {
				const struct vser *x = &in.s[k[g].idx];
				if (!x->ok[t])
					continue;
				double v = x->v[t];
				if (!cnt) {
					acc = n->agg == PQ_COUNT ? 1 : v;
				} else if (n->agg == PQ_SUM || n->agg == PQ_AVG) {
					acc += v;
				} else if (n->agg == PQ_COUNT) {
					acc += 1;
				} else if (n->agg == PQ_MIN ? (v < acc || isnan(acc))
				                            : (v > acc || isnan(acc))) {
					acc = v;
				}
				cnt++;
			}
			if (cnt) {
				s->ok[t] = 1;
				s->v[t] = n->agg == PQ_AVG ? acc / (double)cnt : acc;
			}
		}
		i = j;
	}
	keyed_free(k, in.n);
	vec_free(&in);
	return rc;
}

/* ---- arithmetic --------------------------------------------------------------------------- */

static double arith(char op, double a, double b)
{
	switch (op) {
	case '+':
		return a + b;
	case '-':
		return a - b;
	case '*':
		return a * b;
	default:
		return a / b;
	}
}

/* The signature a series is matched on. */
static char *signature(const struct pq_node *n, const char *labels)
{
	if (n->matching && !n->without)
		return label_filter(labels, n->labels, n->nlabels, true, true);
	return label_filter(labels, n->labels, n->matching ? n->nlabels : 0, false, true);
}

static void sig_text(const char *sig, char *dst, size_t cap)
{
	struct buf b = BUF_INIT;
	buf_addc(&b, '{');
	const char *p = sig, *nm, *v;
	size_t nl, vl;
	while (pq_label_next(&p, &nm, &nl, &v, &vl))
		buf_printf(&b, "%s%.*s=\"%.*s\"", b.len > 1 ? ", " : "", (int)nl, nm, (int)vl, v);
	buf_addc(&b, '}');
	copy_str(dst, cap, b.data, b.len);
	buf_free(&b);
}

static int vector_vector(struct ev *e, const struct pq_node *n, struct vec *a, struct vec *b,
                         struct vec *out)
{
	int rc = 0;
	struct keyed *ka = xreallocarray(NULL, a->n ? a->n : 1, sizeof(*ka));
	struct keyed *kb = xreallocarray(NULL, b->n ? b->n : 1, sizeof(*kb));
	for (size_t i = 0; i < a->n; i++)
		ka[i] = (struct keyed){signature(n, a->s[i].labels), i};
	for (size_t i = 0; i < b->n; i++)
		kb[i] = (struct keyed){signature(n, b->s[i].labels), i};
	if (a->n)
		qsort(ka, a->n, sizeof(*ka), cmp_keyed);
	if (b->n)
		qsort(kb, b->n, sizeof(*kb), cmp_keyed);
	size_t j = 0;
	char sig[256];
	for (size_t i = 0; i < a->n && rc >= 0;) {
		size_t i2 = i;
		while (i2 < a->n && strcmp(ka[i2].key, ka[i].key) == 0)
			i2++;
		while (j < b->n && strcmp(kb[j].key, ka[i].key) < 0)
			j++;
		size_t j2 = j;
		while (j2 < b->n && strcmp(kb[j2].key, ka[i].key) == 0)
			j2++;
		if (j == j2) {
			i = i2;
			continue;
		}
		/* at each step, at most one series of a side may be present */
		for (size_t t = 0; t < e->nsteps && rc >= 0; t++) {
			int na = 0, nb = 0;
			for (size_t g = i; g < i2; g++)
				na += a->s[ka[g].idx].ok[t];
			for (size_t g = j; g < j2; g++)
				nb += b->s[kb[g].idx].ok[t];
			if (na > 1 || nb > 1) {
				sig_text(ka[i].key, sig, sizeof(sig));
				snprintf(
				    e->err, e->cap,
				    nb > 1
				        ? "found duplicate series for the match group %s on the "
				          "right hand-side of the operation; many-to-many matching "
				          "not allowed: matching labels must be unique on one side"
				        : "multiple matches for labels %s: many-to-one matching "
				          "must "
				          "be explicit (group_left/group_right)",
				    sig);
				rc = -EINVAL;
			}
		}
		for (size_t g = i; g < i2 && rc >= 0; g++) {
			const struct vser *x = &a->s[ka[g].idx];
			char *labels =
			    n->matching && !n->without
			        ? label_filter(x->labels, n->labels, n->nlabels, true, true)
			        : label_filter(x->labels, n->labels, n->matching ? n->nlabels : 0,
			                       false, true);
			struct vser *s = vec_add(e, out, labels, &rc);
			if (!s)
				break;
			for (size_t h = j; h < j2; h++) {
				const struct vser *y = &b->s[kb[h].idx];
				for (size_t t = 0; t < e->nsteps; t++)
					if (x->ok[t] && y->ok[t]) {
						s->ok[t] = 1;
						s->v[t] = arith(n->op, x->v[t], y->v[t]);
					}
			}
		}
		i = i2;
		j = j2;
	}
	keyed_free(ka, a->n);
	keyed_free(kb, b->n);
	return rc < 0 ? rc : merge_same(e, out);
}

static int eval_bin(struct ev *e, const struct pq_node *n, struct vec *out)
{
	int rc = 0;
	struct vec a = eval_node(e, n->a, &rc), b = {0};
	if (rc >= 0)
		b = eval_node(e, n->b, &rc);
	if (rc < 0)
		goto done;
	if (!a.scalar && !b.scalar) {
		rc = vector_vector(e, n, &a, &b, out);
		goto done;
	}
	/* scalar op scalar, vector op scalar, scalar op vector */
	const struct vec *vec = a.scalar ? &b : &a;
	out->scalar = a.scalar && b.scalar;
	for (size_t i = 0; i < vec->n && rc >= 0; i++) {
		const struct vser *x = a.scalar ? &a.s[0] : &a.s[i];
		const struct vser *y = b.scalar ? &b.s[0] : &b.s[i];
		char *labels = label_filter(vec->s[i].labels, NULL, 0, false, true);
		struct vser *s = vec_add(e, out, labels, &rc);
		if (!s)
			break;
		for (size_t t = 0; t < e->nsteps; t++)
			if (x->ok[t] && y->ok[t]) {
				s->ok[t] = 1;
				s->v[t] = arith(n->op, x->v[t], y->v[t]);
			}
	}
	if (rc >= 0)
		rc = merge_same(e, out);
done:
	vec_free(&a);
	vec_free(&b);
	return rc;
}

static struct vec eval_node(struct ev *e, const struct pq_node *n, int *rc)
{
	struct vec out = {0};
	switch (n->kind) {
	case PQ_NUM: {
		out.scalar = true;
		struct vser *s = vec_add(e, &out, xstrdup(""), rc);
		for (size_t t = 0; s && t < e->nsteps; t++) {
			s->ok[t] = 1;
			s->v[t] = n->num;
		}
		break;
	}
	case PQ_SEL:
		*rc = eval_selector(e, n, &out);
		break;
	case PQ_CALL:
		*rc = eval_call(e, n, &out);
		break;
	case PQ_AGG:
		*rc = eval_agg(e, n, &out);
		break;
	case PQ_BIN:
		*rc = eval_bin(e, n, &out);
		break;
	case PQ_NEG:
		out = eval_node(e, n->a, rc);
		for (size_t i = 0; *rc >= 0 && i < out.n; i++) {
			char *l = label_filter(out.s[i].labels, NULL, 0, false, true);
			free(out.s[i].labels);
			out.s[i].labels = l;
			for (size_t t = 0; t < e->nsteps; t++)
				out.s[i].v[t] = -out.s[i].v[t];
		}
		if (*rc >= 0)
			*rc = merge_same(e, &out);
		break;
	}
	if (*rc < 0)
		vec_free(&out);
	return out;
}

/* ---- results ---------------------------------------------------------------------------- */

void pq_result_free(struct pq_result *r)
{
	for (size_t i = 0; i < r->nseries; i++) {
		free(r->series[i].labels);
		free(r->series[i].t);
		free(r->series[i].v);
	}
	free(r->series);
	memset(r, 0, sizeof(*r));
}

/* An instant query of a range selector: its points. */
static int eval_matrix(struct ev *e, const struct pq_node *n, struct pq_result *res)
{
	int64_t end = e->start - n->offset_ms;
	struct raw *r;
	size_t nr;
	int rc = fetch(e, n, end - n->range_ms + 1, end, &r, &nr);
	if (rc < 0)
		return rc;
	res->type = PQ_MATRIX;
	res->series = calloc(nr ? nr : 1, sizeof(*res->series));
	if (!res->series) {
		raws_free(r, nr);
		return -ENOMEM;
	}
	for (size_t i = 0; i < nr; i++) {
		if (!r[i].n)
			continue;
		struct pq_series *s = &res->series[res->nseries++];
		s->labels = r[i].labels;
		s->t = r[i].t;
		s->v = r[i].v;
		s->n = r[i].n;
		r[i].labels = NULL;
		r[i].t = NULL;
		r[i].v = NULL;
	}
	raws_free(r, nr);
	return 0;
}

int pq_eval(const struct pq_source *src, const struct pq_node *n, int64_t start_ms, int64_t end_ms,
            int64_t step_ms, struct pq_result *res, char *err, size_t cap)
{
	memset(res, 0, sizeof(*res));
	*err = 0;
	struct ev e = {.src = src, .start = start_ms, .step = step_ms, .err = err, .cap = cap};
	e.nsteps =
	    step_ms > 0 && end_ms > start_ms ? (size_t)((end_ms - start_ms) / step_ms) + 1 : 1;
	if (e.nsteps > PQ_MAX_STEPS) {
		snprintf(
		    err, cap,
		    "exceeded maximum resolution of %d points per timeseries; try decreasing the "
		    "query resolution (a larger step)",
		    PQ_MAX_STEPS);
		return -E2BIG;
	}
	if (pq_type(n) == PQ_MATRIX)
		return eval_matrix(&e, n, res);
	int rc = 0;
	struct vec v = eval_node(&e, n, &rc);
	if (rc < 0)
		return rc;
	res->type = v.scalar ? PQ_SCALAR : PQ_VECTOR;
	res->series = calloc(v.n ? v.n : 1, sizeof(*res->series));
	if (!res->series) {
		vec_free(&v);
		return -ENOMEM;
	}
	for (size_t i = 0; i < v.n && rc >= 0; i++) {
		struct vser *x = &v.s[i];
		if (!any_ok(&e, x))
			continue;
		size_t cnt = 0;
		for (size_t t = 0; t < e.nsteps; t++)
			cnt += x->ok[t];
		struct pq_series *s = &res->series[res->nseries];
		s->t = malloc((cnt ? cnt : 1) * sizeof(int64_t));
		s->v = malloc((cnt ? cnt : 1) * sizeof(double));
		res->nseries++;
		if (!s->t || !s->v) {
			rc = -ENOMEM;
			break;
		}
		s->labels = x->labels;
		x->labels = NULL;
		for (size_t t = 0; t < e.nsteps; t++)
			if (x->ok[t]) {
				s->t[s->n] = step_time(&e, t);
				s->v[s->n++] = x->v[t];
			}
	}
	vec_free(&v);
	if (rc < 0)
		pq_result_free(res);
	return rc;
}

/* ---- series listings ------------------------------------------------------------------------ */

int pq_series(const struct pq_source *src, struct pq_node *const *sel, int nsel, int64_t from_ms,
              int64_t to_ms, int (*cb)(void *ctx, const char *labels), void *ctx, char *err,
              size_t cap)
{
	*err = 0;
	struct ev e = {.src = src, .err = err, .cap = cap};
	struct raw *r;
	size_t n;
	int rc = list_series(&e, (const struct pq_node *const *)sel, nsel, from_ms, to_ms, &r, &n);
	if (rc < 0)
		return rc;
	if (n)
		qsort(r, n, sizeof(*r), cmp_raw_labels);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = cb(ctx, r[i].labels);
	raws_free(r, n);
	return rc;
}
