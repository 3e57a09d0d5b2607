/*
 * alarm_window.c - the daemon's recent metric points in memory and the
 * evaluation of alarms over them (alarm_window.h).
 *
 * Held: the systems (identity and gone, as the last read gave them), and
 * for each series of a metric name some alarm reads, its raw points back
 * to the longest reach of those alarms.  An update reads each name once
 * from its last read (less ALARM_WINDOW_OVERLAP_MS, replaced) to now; the
 * read hands over every series of the name, those without points too, so
 * a series the store no longer has is dropped, and a new series or a
 * changed system identity bumps the generation.
 *
 * Per evaluation: which series a (metric reference, selector or system)
 * covers is kept per generation (a binding, shared by every alarm of the
 * same reference and selector); the period slots of a series for a
 * (range, period, stat) are kept per update (shared by alarms alike).
 * Then alarm_run_int.h's emit_metric() / math_emit(), as alarm_run().
 *
 * A period's statistic over its raw points: avg is the sum in time order
 * over the count, as the store reduces raw points; pNN the nearest rank.
 */
#include "alarm_window.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/util.h"
#include "../util/xalloc.h"
#include "alarm_run_int.h"

#define SLOT_CACHE 4

struct wsys {
	char *f[7]; /* id, name, kind, runtime, image, host, labels */
	bool gone;
};

struct wcache {
	uint64_t tag; /* the update it was computed in; 0: empty */
	int64_t from, step;
	size_t nslots;
	char stat[8];
	int64_t first_t, last_t;
	double *v;
};

struct wser {
	size_t sys; /* index in w->sys */
	char *metric, *labels;
	int64_t *t;
	double *v;
	size_t n, cap;
	uint64_t seen; /* the update that last reported it */
	struct wcache c[SLOT_CACHE];
	unsigned next_c;
};

struct wname {
	char *name;
	int64_t depth, held_from, read_to;
	bool loaded, used;
};

struct wbind {
	char *key;
	uint64_t gen;
	size_t *idx; /* series, in (system, labels) order */
	size_t n;
};

struct alarm_window {
	struct wsys *sys;
	size_t nsys, csys;
	struct wser *ser;
	size_t nser, cser;
	size_t *stab, stcap; /* series by (system, metric, labels): index + 1 */
	size_t *ytab, ytcap; /* systems by id: index + 1 */
	struct wname *names;
	size_t nnames, cnames;
	struct wbind *binds;
	size_t nbinds, cbinds;
	uint64_t gen, update;
	struct run_series *scratch;
	size_t cscratch;
	double *vals; /* percentile scratch */
	size_t cvals;
	size_t fallbacks;
};

struct alarm_window *alarm_window_new(void)
{
	struct alarm_window *w = xcalloc(1, sizeof(*w));
	w->gen = 1;
	return w;
}

static void ser_free(struct wser *x)
{
	free(x->metric);
	free(x->labels);
	free(x->t);
	free(x->v);
	for (int k = 0; k < SLOT_CACHE; k++)
		free(x->c[k].v);
}

void alarm_window_free(struct alarm_window *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->nsys; i++)
		for (int k = 0; k < 7; k++)
			free(w->sys[i].f[k]);
	free(w->sys);
	for (size_t i = 0; i < w->nser; i++)
		ser_free(&w->ser[i]);
	free(w->ser);
	free(w->stab);
	free(w->ytab);
	for (size_t i = 0; i < w->nnames; i++)
		free(w->names[i].name);
	free(w->names);
	for (size_t i = 0; i < w->nbinds; i++) {
		free(w->binds[i].key);
		free(w->binds[i].idx);
	}
	free(w->binds);
	free(w->scratch);
	free(w->vals);
	free(w);
}

/* The reach back of d: its read range plus the period its end may lag
 * behind now. */
static int64_t reach(const struct alarm_def *d)
{
	int64_t end;
	size_t nr, nread;
	run_layout(d, 0, &end, &nr, &nread);
	int64_t p = d->period_ms > 0 ? d->period_ms : 60000;
	return ((int64_t)nread + 1) * p;
}

bool alarm_window_fits(const struct alarm_def *d)
{
	return d->type == ALARM_METRIC && (d->metric || d->expr) && reach(d) <= ALARM_WINDOW_MAX_MS;
}

/* ---- tables ---------------------------------------------------------------------- */

static uint64_t ser_hash(const char *sys, const char *metric, const char *labels)
{
	uint64_t h = fnv1a(0xcbf29ce484222325ULL, sys, strlen(sys) + 1);
	h = fnv1a(h, metric, strlen(metric) + 1);
	return fnv1a(h, labels, strlen(labels));
}

static void stab_rebuild(struct alarm_window *w)
{
	size_t cap = 64;
	while (cap < w->nser * 2 + 2)
		cap *= 2;
	free(w->stab);
	w->stab = xcalloc(cap, sizeof(size_t));
	w->stcap = cap;
	for (size_t i = 0; i < w->nser; i++) {
		const struct wser *x = &w->ser[i];
		size_t j = ser_hash(w->sys[x->sys].f[0], x->metric, x->labels) & (cap - 1);
		while (w->stab[j])
			j = (j + 1) & (cap - 1);
		w->stab[j] = i + 1;
	}
}

static void ytab_rebuild(struct alarm_window *w)
{
	size_t cap = 64;
	while (cap < w->nsys * 2 + 2)
		cap *= 2;
	free(w->ytab);
	w->ytab = xcalloc(cap, sizeof(size_t));
	w->ytcap = cap;
	for (size_t i = 0; i < w->nsys; i++) {
		const char *id = w->sys[i].f[0];
		size_t j = fnv1a(0xcbf29ce484222325ULL, id, strlen(id)) & (cap - 1);
		while (w->ytab[j])
			j = (j + 1) & (cap - 1);
		w->ytab[j] = i + 1;
	}
}

static const char *nz(const char *s)
{
	return s ? s : "";
}

/* The system of a read, its identity refreshed (a change bumps gen). */
static size_t sys_of(struct alarm_window *w, const struct store_series_data *sd)
{
	const char *f[7] = {nz(sd->system_id),    sd->name,  sd->kind,
	                    sd->runtime,          sd->image, sd->host,
	                    nz(sd->system_labels)};
	size_t m = w->ytcap - 1;
	size_t j = fnv1a(0xcbf29ce484222325ULL, f[0], strlen(f[0])) & m;
	for (; w->ytab[j]; j = (j + 1) & m) {
		struct wsys *y = &w->sys[w->ytab[j] - 1];
		if (strcmp(y->f[0], f[0]) != 0)
			continue;
		for (int k = 1; k < 7; k++) {
			if ((!y->f[k] && !f[k]) || (y->f[k] && f[k] && strcmp(y->f[k], f[k]) == 0))
				continue;
			free(y->f[k]);
			y->f[k] = f[k] ? xstrdup(f[k]) : NULL;
			w->gen++;
		}
		y->gone = sd->gone;
		return w->ytab[j] - 1;
	}
	if (grow_array((void **)&w->sys, &w->csys, w->nsys + 1, sizeof(*w->sys)) < 0)
		xalloc_die(sizeof(*w->sys));
	struct wsys *y = &w->sys[w->nsys++];
	for (int k = 0; k < 7; k++)
		y->f[k] = f[k] ? xstrdup(f[k]) : NULL;
	y->gone = sd->gone;
	w->gen++;
	if (w->nsys * 2 >= w->ytcap)
		ytab_rebuild(w);
	else {
		j = fnv1a(0xcbf29ce484222325ULL, f[0], strlen(f[0])) & m;
		while (w->ytab[j])
			j = (j + 1) & m;
		w->ytab[j] = w->nsys;
	}
	return w->nsys - 1;
}

static struct wser *ser_of(struct alarm_window *w, size_t sys, const char *metric,
                           const char *labels)
{
	const char *id = w->sys[sys].f[0];
	size_t m = w->stcap - 1;
	size_t j = ser_hash(id, metric, labels) & m;
	for (; w->stab[j]; j = (j + 1) & m) {
		struct wser *x = &w->ser[w->stab[j] - 1];
		if (x->sys == sys && strcmp(x->metric, metric) == 0 &&
		    strcmp(x->labels, labels) == 0)
			return x;
	}
	if (grow_array((void **)&w->ser, &w->cser, w->nser + 1, sizeof(*w->ser)) < 0)
		xalloc_die(sizeof(*w->ser));
	struct wser *x = &w->ser[w->nser++];
	memset(x, 0, sizeof(*x));
	x->sys = sys;
	x->metric = xstrdup(metric);
	x->labels = xstrdup(labels);
	w->gen++;
	if (w->nser * 2 >= w->stcap) {
		stab_rebuild(w);
	} else {
		j = ser_hash(id, metric, labels) & m;
		while (w->stab[j])
			j = (j + 1) & m;
		w->stab[j] = w->nser;
	}
	return x;
}

/* ---- update ------------------------------------------------------------------------ */

struct upd {
	struct alarm_window *w;
	int64_t from, keep_from;
	int err;
};

static int upd_cb(void *ctx, const struct store_series_data *sd)
{
	struct upd *u = ctx;
	struct alarm_window *w = u->w;
	size_t sys = sys_of(w, sd);
	struct wser *x = ser_of(w, sys, nz(sd->metric), sd->labels ? sd->labels : "{}");
	x->seen = w->update;
	/* drop what is older than the reach and what is read again */
	size_t a = 0, b = x->n;
	while (a < b && x->t[a] < u->keep_from)
		a++;
	while (b > a && x->t[b - 1] >= u->from)
		b--;
	if (a > 0 && b > a) {
		memmove(x->t, x->t + a, (b - a) * sizeof(*x->t));
		memmove(x->v, x->v + a, (b - a) * sizeof(*x->v));
	}
	x->n = b - a;
	if (x->n + sd->n > x->cap) {
		size_t cap = x->cap ? x->cap : 16;
		while (cap < x->n + sd->n)
			cap *= 2;
		int64_t *t = realloc(x->t, cap * sizeof(*t));
		if (t)
			x->t = t;
		double *v = realloc(x->v, cap * sizeof(*v));
		if (v)
			x->v = v;
		if (!t || !v)
			return -ENOMEM;
		x->cap = cap;
	}
	for (size_t i = 0; i < sd->n; i++) {
		if (sd->t[i] < u->keep_from || (x->n && sd->t[i] <= x->t[x->n - 1]))
			continue;
		x->t[x->n] = sd->t[i];
		x->v[x->n] = sd->v[i];
		x->n++;
	}
	return 0;
}

/* Remove the series of name `name` not seen in this update (all of them
 * when `all`).  Systems stay (their identity is small). */
static void drop_series(struct alarm_window *w, const char *name, bool all)
{
	size_t k = 0;
	bool any = false;
	for (size_t i = 0; i < w->nser; i++) {
		struct wser *x = &w->ser[i];
		if (strcmp(x->metric, name) == 0 && (all || x->seen != w->update)) {
			ser_free(x);
			any = true;
		} else {
			w->ser[k++] = *x;
		}
	}
	w->nser = k;
	if (!any)
		return;
	w->gen++;
	stab_rebuild(w);
}

static struct wname *name_of(struct alarm_window *w, const char *name)
{
	for (size_t i = 0; i < w->nnames; i++)
		if (strcmp(w->names[i].name, name) == 0)
			return &w->names[i];
	if (grow_array((void **)&w->names, &w->cnames, w->nnames + 1, sizeof(*w->names)) < 0)
		xalloc_die(sizeof(*w->names));
	struct wname *n = &w->names[w->nnames++];
	memset(n, 0, sizeof(*n));
	n->name = xstrdup(name);
	return n;
}

static void need_name(struct alarm_window *w, const char *metric, int64_t depth)
{
	struct label_sel r;
	label_sel_parse(metric, &r);
	struct wname *n = name_of(w, r.name);
	if (!n->used || depth > n->depth)
		n->depth = depth;
	n->used = true;
	label_sel_free(&r);
}

int alarm_window_update(struct alarm_window *w, struct store *s,
                        const struct alarm_def *const *defs, size_t n, int64_t now_ms, char *err,
                        size_t errlen)
{
	if (!w->ytcap)
		ytab_rebuild(w);
	if (!w->stcap)
		stab_rebuild(w);
	for (size_t i = 0; i < w->nnames; i++)
		w->names[i].used = false;
	for (size_t i = 0; i < n; i++) {
		const struct alarm_def *d = defs[i];
		if (!alarm_window_fits(d))
			continue;
		int64_t depth = reach(d);
		if (d->metric) {
			need_name(w, d->metric, depth);
			continue;
		}
		struct math_expr *e;
		char why[256];
		if (math_parse(d->expr, &e, why, sizeof(why)) < 0)
			continue;
		const struct math_ref *refs;
		size_t nrefs = math_refs(e, &refs);
		for (size_t k = 0; k < nrefs; k++)
			need_name(w, refs[k].metric, depth);
		math_free(e);
	}
	int r = 0;
	for (size_t i = 0; i < w->nnames;) {
		struct wname *nm = &w->names[i];
		if (!nm->used) {
			drop_series(w, nm->name, true);
			free(nm->name);
			w->names[i] = w->names[--w->nnames];
			continue;
		}
		i++;
		w->update++;
		int64_t keep_from = now_ms - nm->depth;
		int64_t from = keep_from;
		if (nm->loaded && nm->held_from <= keep_from && nm->read_to >= now_ms - nm->depth &&
		    nm->read_to + 1 - ALARM_WINDOW_OVERLAP_MS > keep_from)
			from = nm->read_to + 1 - ALARM_WINDOW_OVERLAP_MS;
		struct upd u = {.w = w, .from = from, .keep_from = keep_from};
		struct store_series_query q = {
		    .metric = nm->name, .from_ms = from, .to_ms = now_ms, .step_ms = 0};
		r = store_series_read(s, &q, upd_cb, &u);
		if (r < 0) {
			snprintf(err, errlen, "alarms: cannot read %s: %s", nm->name, strerror(-r));
			nm->loaded = false;
			drop_series(w, nm->name, true);
			break;
		}
		drop_series(w, nm->name, false);
		nm->held_from = keep_from;
		nm->read_to = now_ms;
		nm->loaded = true;
	}
	return r;
}

/* ---- slots --------------------------------------------------------------------------- */

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* The statistic of v[0..n) (n > 0). */
static double reduce(struct alarm_window *w, const char *stat, const double *v, size_t n)
{
	if (stat[0] == 'p') {
		int pct = atoi(stat + 1);
		if (grow_array((void **)&w->vals, &w->cvals, n, sizeof(double)) < 0)
			return NAN;
		memcpy(w->vals, v, n * sizeof(double));
		qsort(w->vals, n, sizeof(double), cmp_dbl);
		int64_t target = ((int64_t)n * pct + 99) / 100;
		if (target < 1)
			target = 1;
		return w->vals[target - 1];
	}
	if (strcmp(stat, "count") == 0)
		return (double)n;
	double sum = v[0], mn = v[0], mx = v[0];
	for (size_t i = 1; i < n; i++) {
		sum += v[i];
		if (v[i] < mn)
			mn = v[i];
		if (v[i] > mx)
			mx = v[i];
	}
	if (strcmp(stat, "min") == 0)
		return mn;
	if (strcmp(stat, "max") == 0)
		return mx;
	if (strcmp(stat, "sum") == 0)
		return sum;
	return sum / (double)n;
}

/* The slots of x for [from, from + nslots * step) reduced with stat. */
static const struct wcache *slots(struct alarm_window *w, struct wser *x, int64_t from,
                                  int64_t step, size_t nslots, const char *stat)
{
	for (int k = 0; k < SLOT_CACHE; k++) {
		const struct wcache *c = &x->c[k];
		if (c->tag == w->update && c->from == from && c->step == step &&
		    c->nslots == nslots && strcmp(c->stat, stat) == 0)
			return c;
	}
	struct wcache *c = &x->c[x->next_c++ % SLOT_CACHE];
	if (c->tag == 0 || c->nslots < nslots) {
		free(c->v);
		c->v = xmalloc((nslots ? nslots : 1) * sizeof(double));
	}
	c->tag = w->update;
	c->from = from;
	c->step = step;
	c->nslots = nslots;
	snprintf(c->stat, sizeof(c->stat), "%s", stat);
	c->first_t = INT64_MAX;
	c->last_t = INT64_MIN;
	for (size_t k = 0; k < nslots; k++)
		c->v[k] = NAN;
	int64_t end = from + (int64_t)nslots * step;
	size_t lo = 0, hi = x->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (x->t[mid] < from)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < x->n && x->t[i] < end;) {
		size_t k = (size_t)((x->t[i] - from) / step);
		int64_t bend = from + (int64_t)(k + 1) * step;
		size_t j = i;
		while (j < x->n && x->t[j] < bend)
			j++;
		int64_t bt = from + (int64_t)k * step;
		if (bt < c->first_t)
			c->first_t = bt;
		c->last_t = bt;
		double v = reduce(w, stat, x->v + i, j - i);
		if (isfinite(v))
			c->v[k] = v;
		i = j;
	}
	return c;
}

/* ---- bindings: which series a reference and selector cover ------------------------- */

static int cmp_ser_order(const void *a, const void *b, void *ctx)
{
	const struct alarm_window *w = ctx;
	const struct wser *x = &w->ser[*(const size_t *)a], *y = &w->ser[*(const size_t *)b];
	int c = strcmp(w->sys[x->sys].f[0], w->sys[y->sys].f[0]);
	return c ? c : strcmp(x->labels, y->labels);
}

static const struct wbind *bind(struct alarm_window *w, const struct alarm_def *d,
                                const struct selector *sel, const char *metric)
{
	struct buf key = BUF_INIT;
	buf_printf(&key, "%s\n%c%s", metric, sel ? 's' : 'y', sel ? d->selector : d->system);
	struct wbind *b = NULL;
	for (size_t i = 0; i < w->nbinds && !b; i++)
		if (strcmp(w->binds[i].key, buf_str(&key)) == 0)
			b = &w->binds[i];
	if (b && b->gen == w->gen) {
		buf_free(&key);
		return b;
	}
	if (!b) {
		if (grow_array((void **)&w->binds, &w->cbinds, w->nbinds + 1, sizeof(*w->binds)) <
		    0)
			xalloc_die(sizeof(*w->binds));
		b = &w->binds[w->nbinds++];
		memset(b, 0, sizeof(*b));
		b->key = xstrdup(buf_str(&key));
	}
	buf_free(&key);
	b->gen = w->gen;
	b->n = 0;
	free(b->idx);
	b->idx = xmalloc((w->nser ? w->nser : 1) * sizeof(size_t));
	struct label_sel ref;
	label_sel_parse(metric, &ref);
	/* a system by id; when none has that id, by name */
	for (int pass = 0; pass < (sel ? 1 : 2) && b->n == 0; pass++) {
		for (size_t i = 0; i < w->nser; i++) {
			const struct wser *x = &w->ser[i];
			const struct wsys *y = &w->sys[x->sys];
			if (strcmp(x->metric, ref.name) != 0 ||
			    (ref.n && !label_sel_match(&ref, x->labels)))
				continue;
			if (sel) {
				struct identity id = {y->f[0], y->f[1], y->f[2], y->f[4],
				                      y->f[3], y->f[5], y->f[6]};
				if (!sel_match(sel, &id))
					continue;
			} else if (strcmp(d->system, pass == 0 ? y->f[0] : nz(y->f[1])) != 0) {
				continue;
			}
			b->idx[b->n++] = i;
		}
	}
	label_sel_free(&ref);
	qsort_r(b->idx, b->n, sizeof(size_t), cmp_ser_order, w);
	return b;
}

/* rd: the series of `metric` that d covers, slots of [from, + nslots * step). */
static void window_read(struct alarm_window *w, const struct alarm_def *d,
                        const struct selector *sel, const char *metric, struct run_data *rd,
                        struct run_series *out)
{
	const struct wbind *b = bind(w, d, sel, metric);
	rd->s = out;
	rd->n = rd->cap = b->n;
	rd->borrowed = true;
	for (size_t i = 0; i < b->n; i++) {
		struct wser *x = &w->ser[b->idx[i]];
		const struct wsys *y = &w->sys[x->sys];
		const struct wcache *c = slots(w, x, rd->from, rd->step, rd->nslots, d->stat);
		out[i] = (struct run_series){.system_id = y->f[0],
		                             .system_name = y->f[1] ? y->f[1] : y->f[0],
		                             .labels = x->labels,
		                             .gone = y->gone,
		                             .first_t = c->first_t,
		                             .last_t = c->last_t,
		                             .v = c->v};
	}
}

/* Does the window hold [from, end) of every name d reads? */
static bool covered(struct alarm_window *w, const char *metric, int64_t from, int64_t end)
{
	struct label_sel r;
	label_sel_parse(metric, &r);
	bool ok = false;
	for (size_t i = 0; i < w->nnames && !ok; i++) {
		const struct wname *n = &w->names[i];
		ok = strcmp(n->name, r.name) == 0 && n->loaded && n->held_from <= from &&
		     n->read_to >= end - 1;
	}
	label_sel_free(&r);
	return ok;
}

/* ---- evaluation ----------------------------------------------------------------------- */

/* alarm_run()'s current from a prev callback (the fallback path). */
struct fb_ctx {
	void (*prev)(void *ctx, const char *system_id, const char *labels, struct alarm_prev *out);
	void *ctx;
};

static enum alarm_state fb_current(void *ctx, const char *system_id, const char *labels)
{
	const struct fb_ctx *f = ctx;
	struct alarm_prev p = {.st = ALARM_STATE_INSUFFICIENT};
	if (f->prev)
		f->prev(f->ctx, system_id, labels, &p);
	return p.st;
}

struct fb_cb {
	struct fb_ctx f;
	int (*cb)(void *ctx, const struct alarm_run_item *it);
};

static enum alarm_state fbc_current(void *ctx, const char *system_id, const char *labels)
{
	return fb_current(&((struct fb_cb *)ctx)->f, system_id, labels);
}

static int fbc_item(void *ctx, const struct alarm_run_item *it)
{
	const struct fb_cb *f = ctx;
	return f->cb(f->f.ctx, it);
}

int alarm_window_run(struct alarm_window *w, struct store *s, const struct alarm_def *d,
                     int64_t now_ms, unsigned flags,
                     void (*prev)(void *ctx, const char *system_id, const char *labels,
                                  struct alarm_prev *out),
                     int (*cb)(void *ctx, const struct alarm_run_item *it), void *ctx, char *err,
                     size_t errlen)
{
	int64_t end;
	size_t nr, nread;
	run_layout(d, now_ms, &end, &nr, &nread);
	int64_t step = d->period_ms > 0 ? d->period_ms : 60000;
	int64_t from = end - (int64_t)nread * step;
	struct math_expr *e = NULL;
	const struct math_ref *refs = NULL;
	size_t nrefs = 0;
	bool ok = alarm_window_fits(d);
	if (ok && d->expr) {
		char why[256];
		ok = math_parse(d->expr, &e, why, sizeof(why)) == 0;
		if (ok)
			nrefs = math_refs(e, &refs);
	}
	if (ok && d->metric)
		ok = covered(w, d->metric, from, end);
	for (size_t i = 0; ok && i < nrefs; i++)
		ok = covered(w, refs[i].metric, from, end);
	if (!ok) {
		w->fallbacks++;
		math_free(e);
		struct fb_cb f = {{prev, ctx}, cb};
		return alarm_run(s, d, now_ms, fbc_current, NULL, fbc_item, &f, err, errlen);
	}
	struct selector sel;
	bool have_sel;
	int r = run_check_def(d, &sel, &have_sel, err, errlen);
	if (r < 0) {
		math_free(e);
		return r;
	}
	const struct selector *sp = have_sel ? &sel : NULL;
	struct run_ctx c = {.s = s,
	                    .d = d,
	                    .prev = prev,
	                    .text = (flags & ALARM_WINDOW_TEXT) || !prev,
	                    .cb = cb,
	                    .ctx = ctx};
	/* room for the series of every ref at once */
	size_t total = 0, nr_refs = d->expr ? nrefs : 1;
	for (size_t i = 0; i < nr_refs; i++)
		total += bind(w, d, sp, d->expr ? refs[i].metric : d->metric)->n;
	if (grow_array((void **)&w->scratch, &w->cscratch, total + 1, sizeof(*w->scratch)) < 0) {
		r = -ENOMEM;
	} else if (d->expr) {
		struct math_run m = {.e = e, .refs = refs, .nrefs = nrefs};
		m.rd = xcalloc(nrefs ? nrefs : 1, sizeof(*m.rd));
		size_t used = 0;
		for (size_t i = 0; i < nrefs; i++) {
			m.rd[i] =
			    (struct run_data){.d = d, .from = from, .step = step, .nslots = nread};
			window_read(w, d, sp, refs[i].metric, &m.rd[i], w->scratch + used);
			used += m.rd[i].n;
		}
		r = math_emit(&c, &m, end, nr, nread, from, step, err, errlen);
		e = NULL;
		math_run_free(&m);
	} else {
		struct run_data rd = {.d = d, .from = from, .step = step, .nslots = nread};
		window_read(w, d, sp, d->metric, &rd, w->scratch);
		r = emit_metric(&c, &rd, end, nr);
	}
	math_free(e);
	if (have_sel)
		sel_free(&sel);
	run_ctx_free(&c);
	return r;
}

size_t alarm_window_fallbacks(const struct alarm_window *w)
{
	return w->fallbacks;
}
