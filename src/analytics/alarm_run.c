/*
 * alarm_run.c - one alarm over the store at one time (alarm_run.h): which
 * systems it covers, each one's evaluation range, "gone" and warm-up, then
 * alarm_evaluate(); and backtests, which slide the same evaluation over a
 * past range.
 *
 * The range: alarm_range_periods() slots of period_ms ending at the end
 * of the last closed period (now_ms aligned down to a multiple of the
 * period, as the store aligns its buckets), each the store's bucket of
 * that period reduced with the alarm's stat.  A metric alarm costs ONE
 * store_series_read() for all the systems it covers (a selector is
 * matched against each series' system identity as the read hands it
 * over); metric math one read per series the expression names.  The read
 * reaches back far enough to tell a system in its warm-up (first point
 * newer than warmup_ms) from one that is not.
 *
 * Gone: a series whose system the store marks gone keeps its state; the
 * item says gone, with the reason the store keeps (exit code, OOM killer,
 * VM shut down), and is not treated as missing data.
 *
 * Ownership: everything read is copied into this file's run_data for the
 * length of the call.
 */
#include "alarm_run_int.h"

#include <errno.h>
#include <fnmatch.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/jscan.h"
#include "../util/json.h"
#include "../util/timefmt.h"
#include "../util/util.h"
#include "../util/xalloc.h"
#include "alarm_drift.h"
#include "alarm_math.h"

#define MAX_BACKTEST_PERIODS 20000

/* ---- selectors ----------------------------------------------------------------- */

void sel_free(struct selector *s)
{
	for (int i = 0; i < s->n; i++) {
		free(s->t[i].label);
		free(s->t[i].glob);
	}
	s->n = 0;
}

int sel_parse(const char *text, struct selector *s, char *err, size_t errlen)
{
	static const char *const keys[] = {"id", "name", "kind", "image", "runtime", "host"};
	memset(s, 0, sizeof(*s));
	const char *p = text;
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		const char *q = p;
		trim(&q, &n);
		const char *eq = memchr(q, '=', n);
		if (!n || !eq || eq == q || (eq == q + 1 && *q == '!')) {
			snprintf(err, errlen,
			         "selector '%s': '%.*s' is not key=value (keys: id, name, kind, "
			         "image, runtime, host or a label; values may hold * globs)",
			         text, (int)n, q);
			sel_free(s);
			return -EINVAL;
		}
		if (s->n == SEL_MAX_TERMS) {
			snprintf(err, errlen, "selector '%s': more than %d terms", text,
			         SEL_MAX_TERMS);
			sel_free(s);
			return -EINVAL;
		}
		struct sel_term *t = &s->t[s->n++];
		size_t klen = (size_t)(eq - q);
		t->neg = klen > 0 && q[klen - 1] == '!';
		if (t->neg)
			klen--;
		const char *k = q;
		size_t kl = klen;
		trim(&k, &kl);
		const char *v = eq + 1;
		size_t vl = n - (size_t)(v - q);
		trim(&v, &vl);
		t->glob = xstrndup(v, vl);
		t->key = SK_LABEL;
		for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
			if (strlen(keys[i]) == kl && memcmp(keys[i], k, kl) == 0)
				t->key = (enum sel_key)i;
		if (t->key == SK_LABEL) {
			t->label = xstrndup(k, kl);
			s->labels = true;
		}
		if (!comma)
			return 0;
		p = comma + 1;
	}
}

int alarm_selector_check(const char *selector, char *err, size_t errlen)
{
	struct selector s;
	int r = sel_parse(selector, &s, err, errlen);
	if (r == 0)
		sel_free(&s);
	return r;
}

static bool glob_ok(const char *glob, const char *v)
{
	return fnmatch(glob, v ? v : "", 0) == 0;
}

/* The value of label `name` in the JSON object `labels` into out. */
static bool label_value(const char *labels, const char *name, struct buf *out)
{
	if (!labels)
		return false;
	struct js_span all = {labels, strlen(labels)}, k, v;
	struct js_iter it;
	if (js_iter_begin(&it, all, 0) < 0)
		return false;
	while (js_obj_next(&it, &k, &v) == 1) {
		struct buf kb = BUF_INIT;
		js_unescape(&kb, k.p, k.n);
		bool same = strcmp(buf_str(&kb), name) == 0;
		buf_free(&kb);
		if (!same)
			continue;
		struct js_span c;
		buf_reset(out);
		if (js_str(v, &c))
			js_unescape(out, c.p, c.n);
		else
			buf_add(out, v.p, v.n);
		return true;
	}
	return false;
}

bool sel_match(const struct selector *s, const struct identity *y)
{
	struct buf lv = BUF_INIT;
	bool ok = true;
	for (int i = 0; i < s->n && ok; i++) {
		const struct sel_term *t = &s->t[i];
		const char *v = NULL;
		bool have = true;
		switch (t->key) {
		case SK_ID:
			v = y->id;
			break;
		case SK_NAME:
			v = y->name;
			break;
		case SK_KIND:
			v = y->kind;
			break;
		case SK_IMAGE:
			v = y->image;
			break;
		case SK_RUNTIME:
			v = y->runtime;
			break;
		case SK_HOST:
			v = y->host;
			break;
		case SK_LABEL:
			have = label_value(y->labels, t->label, &lv);
			v = have ? buf_str(&lv) : NULL;
			break;
		}
		bool m = have && glob_ok(t->glob, v);
		ok = t->neg ? !m : m;
	}
	buf_free(&lv);
	return ok;
}

/* ---- reading series into period slots ----------------------------------------- */

void data_free(struct run_data *rd)
{
	if (rd->borrowed) { /* the window's */
		rd->s = NULL;
		rd->n = rd->cap = 0;
		return;
	}
	for (size_t i = 0; i < rd->n; i++) {
		free(rd->s[i].system_id);
		free(rd->s[i].system_name);
		free(rd->s[i].labels);
		free(rd->s[i].v);
	}
	free(rd->s);
	rd->s = NULL;
	rd->n = rd->cap = 0;
}

static int read_cb(void *ctx, const struct store_series_data *sd)
{
	struct run_data *rd = ctx;
	struct identity y = {sd->system_id, sd->name, sd->kind,         sd->image,
	                     sd->runtime,   sd->host, sd->system_labels};
	if (rd->ref && rd->ref->n && !label_sel_match(rd->ref, sd->labels ? sd->labels : "{}"))
		return 0;
	if (rd->sel && !sel_match(rd->sel, &y))
		return 0;
	if (!rd->sel && rd->system && strcmp(rd->system, sd->system_id ? sd->system_id : "") != 0 &&
	    strcmp(rd->system, sd->name ? sd->name : "") != 0)
		return 0;
	if (grow_array((void **)&rd->s, &rd->cap, rd->n + 1, sizeof(*rd->s)) < 0)
		return -ENOMEM;
	struct run_series *x = &rd->s[rd->n];
	*x = (struct run_series){.first_t = INT64_MAX, .last_t = INT64_MIN, .gone = sd->gone};
	x->v = malloc(rd->nslots * sizeof(double));
	if (!x->v)
		return -ENOMEM;
	rd->n++;
	x->system_id = xstrdup(sd->system_id ? sd->system_id : "");
	x->system_name = xstrdup(sd->name ? sd->name : (sd->system_id ? sd->system_id : ""));
	x->labels = xstrdup(sd->labels && *sd->labels ? sd->labels : "{}");
	for (size_t k = 0; k < rd->nslots; k++)
		x->v[k] = NAN;
	for (size_t i = 0; i < sd->n; i++) {
		int64_t t = sd->t[i];
		if (t < x->first_t)
			x->first_t = t;
		if (t > x->last_t)
			x->last_t = t;
		if (t < rd->from)
			continue;
		int64_t k = (t - rd->from) / rd->step;
		if (k >= 0 && (size_t)k < rd->nslots && isfinite(sd->v[i]))
			x->v[k] = sd->v[i];
	}
	return 0;
}

/* The alarm's systems: by selector, or its one system (by id; then, when
 * the store knows no such id, by name). */
static int read_metric(struct store *s, const struct alarm_def *d, const struct selector *sel,
                       const char *metric, struct run_data *rd, char *err, size_t errlen)
{
	const char *ids[1] = {d->system};
	struct label_sel ref;
	label_sel_parse(metric, &ref);
	struct store_series_query q = {
	    .metric = ref.name,
	    .system_ids = sel ? NULL : ids,
	    .nsystems = sel ? 0 : 1,
	    .from_ms = rd->from,
	    .to_ms = rd->from + (int64_t)rd->nslots * rd->step - 1,
	    .step_ms = rd->step,
	    .stat = d->stat,
	};
	rd->sel = sel;
	rd->ref = &ref;
	rd->system = sel ? NULL : d->system;
	int r = store_series_read(s, &q, read_cb, rd);
	if (r == 0 && !sel && rd->n == 0) { /* a system given by name */
		q.system_ids = NULL;
		q.nsystems = 0;
		r = store_series_read(s, &q, read_cb, rd);
	}
	rd->ref = NULL;
	label_sel_free(&ref);
	if (r < 0)
		snprintf(err, errlen, "alarm '%s': cannot read %s: %s", d->name, metric,
		         r == -EINVAL ? "bad statistic or metric" : strerror(-r));
	return r;
}

/* ---- gone ---------------------------------------------------------------------- */

/* "exited 137, killed by the OOM killer", "VM shut down" from the store's
 * gone_reason of system `id` (or "no longer seen"). */
static void gone_text(struct store *s, const char *id, struct buf *why, struct buf *data)
{
	struct buf b = BUF_INIT;
	struct store_system_filter f = {.gone = 1};
	json_t *doc = NULL, *gr = NULL;
	if (store_systems_json(s, &f, &b) == 0)
		doc = json_loadb(b.data ? b.data : "", b.len, 0, NULL);
	size_t i;
	json_t *sy;
	json_array_foreach(doc, i, sy)
	{
		const char *sid = json_string_value(json_object_get(sy, "id"));
		if (sid && strcmp(sid, id) == 0) {
			gr = json_object_get(sy, "gone_reason");
			break;
		}
	}
	json_t *parsed = NULL;
	if (json_is_string(gr)) /* kept as text */
		gr = parsed = json_loads(json_string_value(gr), 0, NULL);
	const char *reason = json_string_value(json_object_get(gr, "reason"));
	json_t *code = json_object_get(gr, "exit_code");
	bool oom = json_is_true(json_object_get(gr, "oom_killed"));
	if (reason && strcmp(reason, "exited") == 0) {
		buf_adds(why, "exited");
		if (json_is_integer(code))
			buf_printf(why, " %lld", (long long)json_integer_value(code));
		if (oom)
			buf_adds(why, ", killed by the OOM killer");
	} else if (reason && strstr(reason, "power")) {
		buf_adds(why, "VM powered off");
	} else if (reason && (strstr(reason, "shut") || strstr(reason, "vm"))) {
		buf_adds(why, "VM shut down");
	} else if (reason) {
		buf_adds(why, reason);
		if (json_is_integer(code))
			buf_printf(why, " (exit code %lld)", (long long)json_integer_value(code));
		if (oom)
			buf_adds(why, ", killed by the OOM killer");
	} else if (oom) {
		buf_adds(why, "killed by the OOM killer");
	} else {
		buf_adds(why, "no longer seen");
	}
	if (gr) {
		char *t = json_dumps(gr, JSON_COMPACT);
		if (t)
			buf_adds(data, t);
		free(t);
	} else {
		buf_adds(data, "{}");
	}
	json_decref(parsed);
	json_decref(doc);
	buf_free(&b);
}

/* ---- one evaluation ------------------------------------------------------------- */

static void set_text(char *dst, size_t cap, const char *s)
{
	snprintf(dst, cap, "%s", s);
}

/* A gone system's item: its state kept, the reason the store keeps. */
static void gone_item(struct run_ctx *c, const char *id, enum alarm_state cur,
                      struct alarm_run_item *it)
{
	if (!c->gone_id || strcmp(c->gone_id, id) != 0) {
		free(c->gone_id);
		c->gone_id = xstrdup(id);
		buf_reset(&c->gone_why);
		buf_reset(&c->gone_data);
		gone_text(c->s, id, &c->gone_why, &c->gone_data);
	}
	it->state = it->r.state = cur;
	it->gone = it->r.kept = true;
	snprintf(it->r.reason, sizeof(it->r.reason), "gone: %s", buf_str(&c->gone_why));
	set_text(it->r.data, sizeof(it->r.data),
	         c->gone_data.len < sizeof(it->r.data) ? buf_str(&c->gone_data) : "{}");
}

void run_ctx_free(struct run_ctx *c)
{
	free(c->gone_id);
	buf_free(&c->gone_why);
	buf_free(&c->gone_data);
}

/* Up to this many slots the points of an evaluation are on the stack. */
#define STACK_SLOTS 64

/* Emit the item of series x at `end` (slots [k0, k0 + R) of its values).
 * The item is not zeroed whole (its text is 3 KB): its text is written
 * when c->text, or when the state, gone or warming changes from what
 * c->prev says. */
static int emit_series(struct run_ctx *c, const struct run_series *x, const double *v, size_t nr,
                       int64_t from, int64_t step, int64_t end, bool allow_gone)
{
	const struct alarm_def *d = c->d;
	struct alarm_run_item it;
	it.system_id = x->system_id;
	it.system_name = x->system_name;
	it.series_labels = x->labels;
	it.gone = it.warming = false;
	it.r.kept = false;
	it.r.breaching = it.r.evaluated = it.r.filled = 0;
	it.r.reason[0] = it.r.data[0] = 0;
	struct alarm_prev prev = {.st = ALARM_STATE_INSUFFICIENT};
	if (c->prev)
		c->prev(c->ctx, x->system_id, x->labels, &prev);
	else if (c->current)
		prev.st = c->current(c->ctx, x->system_id, x->labels);
	enum alarm_state cur = prev.st;
	bool text = c->text || !c->prev;
	/* gone: after its last point, a gone system keeps its state */
	if (allow_gone && x->gone && (x->last_t == INT64_MIN || x->last_t + step <= end)) {
		if (text || !prev.gone || prev.gone_recheck) {
			gone_item(c, x->system_id, cur, &it);
		} else {
			it.state = it.r.state = cur;
			it.gone = it.r.kept = true;
		}
		return c->cb(c->ctx, &it);
	}
	int64_t warmup = alarm_def_warmup_ms(d);
	int64_t warm_from = end - warmup;
	if (warmup > 0 && x->first_t != INT64_MAX && x->first_t > warm_from) {
		it.state = ALARM_STATE_INSUFFICIENT;
		it.warming = true;
		it.r.state = ALARM_STATE_INSUFFICIENT;
		long left = (long)((x->first_t - warm_from + 999) / 1000);
		snprintf(it.r.reason, sizeof(it.r.reason), "warming up (%ld s left)", left);
		set_text(it.r.data, sizeof(it.r.data), "{}");
		return c->cb(c->ctx, &it);
	}
	struct alarm_point stack_pts[STACK_SLOTS];
	struct alarm_point *pts =
	    nr <= STACK_SLOTS ? stack_pts : xcalloc(nr ? nr : 1, sizeof(*pts));
	for (size_t k = 0; k < nr; k++) {
		pts[k].t = from + (int64_t)k * step;
		pts[k].present = !isnan(v[k]);
		pts[k].v = pts[k].present ? v[k] : 0;
	}
	alarm_evaluate_state(d, pts, nr, cur, &it.r);
	if (text || it.r.state != cur || prev.gone || prev.warming)
		alarm_evaluate(d, pts, nr, cur, &it.r);
	if (pts != stack_pts)
		free(pts);
	it.state = it.r.state;
	return c->cb(c->ctx, &it);
}

/* The slot layout of an evaluation at `end`: nr slots ending at end; the
 * read goes back nread >= nr slots (warm-up). */
void run_layout(const struct alarm_def *d, int64_t now_ms, int64_t *end, size_t *nr, size_t *nread)
{
	int64_t p = d->period_ms > 0 ? d->period_ms : 60000;
	*end = now_ms - ((now_ms % p) + p) % p;
	int r = alarm_range_periods(d);
	*nr = r > 0 ? (size_t)r : 1;
	int64_t wu = alarm_def_warmup_ms(d);
	int64_t w = wu > 0 ? wu / p + 2 : 0;
	*nread = (size_t)w > *nr ? (size_t)w : *nr;
}

/* A metric alarm at `end` over the data read in rd (slots of rd->from). */
int emit_metric(struct run_ctx *c, struct run_data *rd, int64_t end, size_t nr)
{
	size_t k0 = rd->nslots - nr;
	int64_t from = rd->from + (int64_t)k0 * rd->step;
	for (size_t i = 0; i < rd->n; i++) {
		int r = emit_series(c, &rd->s[i], rd->s[i].v + k0, nr, from, rd->step, end, true);
		if (r)
			return r;
	}
	if (rd->n == 0 && c->d->system) { /* no data at all: every slot missing */
		struct run_series none = {.system_id = c->d->system,
		                          .system_name = c->d->system,
		                          .labels = "{}",
		                          .first_t = INT64_MAX,
		                          .last_t = INT64_MIN};
		double v[nr];
		for (size_t k = 0; k < nr; k++)
			v[k] = NAN;
		return emit_series(c, &none, v, nr, from, rd->step, end, false);
	}
	return 0;
}

/* ---- metric math ------------------------------------------------------------------ */

void math_run_free(struct math_run *m)
{
	for (size_t i = 0; m->rd && i < m->nrefs; i++)
		data_free(&m->rd[i]);
	free(m->rd);
	math_free(m->e);
	memset(m, 0, sizeof(*m));
}

static int math_read(struct store *s, const struct alarm_def *d, const struct selector *sel,
                     int64_t from, int64_t step, size_t nslots, struct math_run *m, char *err,
                     size_t errlen)
{
	char why[256];
	int r = math_parse(d->expr, &m->e, why, sizeof(why));
	if (r < 0) {
		snprintf(err, errlen, "alarm '%s': expr: %s", d->name, why);
		return r;
	}
	m->nrefs = math_refs(m->e, &m->refs);
	m->rd = xcalloc(m->nrefs ? m->nrefs : 1, sizeof(*m->rd));
	for (size_t i = 0; i < m->nrefs; i++) {
		m->rd[i] = (struct run_data){.d = d, .from = from, .step = step, .nslots = nslots};
		r = read_metric(s, d, sel, m->refs[i].metric, &m->rd[i], err, errlen);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The systems the expression is computed for: those of its non-across
 * refs; none (an expression of aggregates only): one result, "*". */
int math_emit(struct run_ctx *c, struct math_run *m, int64_t end, size_t nr, size_t nslots,
              int64_t from, int64_t step, char *err, size_t errlen)
{
	const struct alarm_def *d = c->d;
	/* the distinct systems of the non-across refs */
	struct run_series **sys = NULL;
	size_t ns = 0, cap = 0;
	for (size_t i = 0; i < m->nrefs; i++) {
		if (m->refs[i].across)
			continue;
		for (size_t j = 0; j < m->rd[i].n; j++) {
			struct run_series *x = &m->rd[i].s[j];
			bool seen = false;
			for (size_t k = 0; k < ns && !seen; k++)
				seen = strcmp(sys[k]->system_id, x->system_id) == 0;
			if (seen)
				continue;
			if (grow_array((void **)&sys, &cap, ns + 1, sizeof(struct run_series *)) <
			    0) {
				free(sys);
				return -ENOMEM;
			}
			sys[ns++] = x;
		}
	}
	bool all_across = true;
	for (size_t i = 0; i < m->nrefs; i++)
		all_across &= m->refs[i].across;
	const char *label = d->selector ? d->selector : (d->system ? d->system : "*");
	struct run_series whole = {.system_id = (char *)"*",
	                           .system_name = (char *)label,
	                           .labels = (char *)"{}",
	                           .first_t = INT64_MAX,
	                           .last_t = INT64_MIN};
	size_t nout = all_across ? 1 : ns;
	double *out = xcalloc(nslots, sizeof(double));
	const double **arrs = NULL;
	size_t acap = 0;
	struct math_input *in = xcalloc(m->nrefs ? m->nrefs : 1, sizeof(*in));
	double *nan_arr = xcalloc(nslots, sizeof(double));
	for (size_t k = 0; k < nslots; k++)
		nan_arr[k] = NAN;
	int ret = 0;
	for (size_t o = 0; o < nout && !ret; o++) {
		const struct run_series *who = all_across ? &whole : sys[o];
		struct run_series res = *who;
		res.first_t = INT64_MAX;
		res.last_t = INT64_MIN;
		res.labels = (char *)"{}";
		/* one array list for all the refs: count first */
		size_t total = 0;
		for (size_t i = 0; i < m->nrefs; i++)
			total += m->rd[i].n + 1;
		if (grow_array((void **)&arrs, &acap, total, sizeof(const double *)) < 0) {
			ret = -ENOMEM;
			break;
		}
		size_t used = 0;
		for (size_t i = 0; i < m->nrefs; i++) {
			in[i].series = arrs + used;
			size_t cnt = 0;
			for (size_t j = 0; j < m->rd[i].n; j++) {
				const struct run_series *x = &m->rd[i].s[j];
				if (!m->refs[i].across && strcmp(x->system_id, who->system_id) != 0)
					continue;
				arrs[used + cnt++] = x->v;
				if (x->first_t < res.first_t)
					res.first_t = x->first_t;
				if (x->last_t > res.last_t)
					res.last_t = x->last_t;
				if (!m->refs[i].across && strcmp(x->labels, "{}") != 0)
					res.labels = x->labels;
			}
			if (!cnt)
				arrs[used + cnt++] = nan_arr;
			in[i].nseries = cnt;
			used += cnt;
		}
		char why[256];
		int r = math_eval(m->e, in, nslots, step, out, why, sizeof(why));
		if (r < 0) {
			snprintf(err, errlen, "alarm '%s': expr: %s", d->name, why);
			ret = r;
			break;
		}
		res.v = out;
		size_t k0 = nslots - nr;
		ret = emit_series(c, &res, out + k0, nr, from + (int64_t)k0 * step, step, end,
		                  !all_across);
	}
	free(nan_arr);
	free(in);
	free(arrs);
	free(out);
	free(sys);
	return ret;
}

/* ---- drift alarms ------------------------------------------------------------------ */

struct sys_ident {
	char *id, *name;
	bool gone;
};

/* The systems a drift alarm covers (from store_systems_json). */
static int list_systems(struct store *s, const struct alarm_def *d, const struct selector *sel,
                        struct sys_ident **out, size_t *n)
{
	struct buf b = BUF_INIT;
	struct store_system_filter f = {.gone = -1};
	int r = store_systems_json(s, &f, &b);
	*out = NULL;
	*n = 0;
	if (r < 0) {
		buf_free(&b);
		return r;
	}
	json_t *doc = json_loadb(b.data ? b.data : "", b.len, 0, NULL);
	buf_free(&b);
	size_t i, cap = 0;
	json_t *sy;
	json_array_foreach(doc, i, sy)
	{
		char *labels = json_dumps(json_object_get(sy, "labels"), JSON_COMPACT);
		struct identity y = {
		    json_string_value(json_object_get(sy, "id")),
		    json_string_value(json_object_get(sy, "name")),
		    json_string_value(json_object_get(sy, "kind")),
		    json_string_value(json_object_get(sy, "image")),
		    json_string_value(json_object_get(sy, "runtime")),
		    json_string_value(json_object_get(sy, "host")),
		    labels ? labels : "{}",
		};
		bool m = y.id && (sel ? sel_match(sel, &y)
		                      : (strcmp(d->system, y.id) == 0 ||
		                         (y.name && strcmp(d->system, y.name) == 0)));
		if (m && grow_array((void **)out, &cap, *n + 1, sizeof(**out)) == 0) {
			(*out)[*n].id = xstrdup(y.id);
			(*out)[*n].name = xstrdup(y.name ? y.name : y.id);
			(*out)[*n].gone = json_is_true(json_object_get(sy, "gone"));
			(*n)++;
		}
		free(labels);
	}
	json_decref(doc);
	return 0;
}

static void sys_free(struct sys_ident *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].id);
		free(v[i].name);
	}
	free(v);
}

/* The time of system_id's latest non-metric frame at or before end (0:
 * none), or a negative errno. */
static int latest_state_frame(struct store *s, const char *system_id, int64_t end, int64_t *t)
{
	int64_t *v = NULL;
	size_t n = 0;
	int r = store_frame_times(s, system_id, 0, end, "metric", 1, &v, &n);
	*t = r == 0 && n ? v[n - 1] : 0;
	free(v);
	return r == -ENOENT ? 0 : r;
}

/* A drift alarm for system y at end: armed when it has no baseline (base
 * 0), else its state at end compared with the one at base, unless no
 * non-metric frame came since the last comparison (checked, its frame_ms;
 * 0: compare). */
static int drift_one(struct run_ctx *c, const struct sys_ident *y, int64_t end, int64_t base,
                     int64_t checked, char *err, size_t errlen)
{
	const struct alarm_def *d = c->d;
	struct alarm_run_item it = {
	    .system_id = y->id, .system_name = y->name, .series_labels = "{}"};
	enum alarm_state cur =
	    c->current ? c->current(c->ctx, y->id, "{}") : ALARM_STATE_INSUFFICIENT;
	char t[40];
	if (y->gone) {
		gone_item(c, y->id, cur, &it);
		return c->cb(c->ctx, &it);
	}
	char why[256] = "";
	if (base <= 0) {
		int r = alarm_drift_arm(c->s, d, y->id, end, &it.baseline_ms, why, sizeof(why));
		if (r == -ENOENT) { /* no frame holds the rule's features yet */
			it.state = it.r.state = ALARM_STATE_INSUFFICIENT;
			snprintf(it.r.reason, sizeof(it.r.reason),
			         "not armed yet: no frame of the system holds its %s", d->rule);
			set_text(it.r.data, sizeof(it.r.data), "{}");
			return c->cb(c->ctx, &it);
		}
		if (r < 0) {
			snprintf(err, errlen, "alarm '%s': system %s: %s", d->name, y->id, why);
			return r;
		}
		format_time_utc(it.baseline_ms * 1000000, t, sizeof(t));
		it.state = it.r.state = ALARM_STATE_OK;
		snprintf(it.r.reason, sizeof(it.r.reason),
		         "armed: the baseline is the system's state at %s", t);
		set_text(it.r.data, sizeof(it.r.data), "{}");
		return c->cb(c->ctx, &it);
	}
	int r = latest_state_frame(c->s, y->id, end, &it.frame_ms);
	if (r < 0) {
		snprintf(err, errlen, "alarm '%s': system %s: %s", d->name, y->id,
		         store_errmsg(c->s));
		return r;
	}
	if (checked > 0 && it.frame_ms <= checked)
		return 0; /* nothing crawled but metrics since the last comparison */
	int hits = 0;
	struct buf entries = BUF_INIT, summary = BUF_INIT;
	r = alarm_drift_eval(c->s, d, y->id, base, end, &hits, &entries, &summary, why,
	                     sizeof(why));
	format_time_utc(base * 1000000, t, sizeof(t));
	if (r == -ENOENT) {
		it.r.state = ALARM_STATE_INSUFFICIENT;
		snprintf(it.r.reason, sizeof(it.r.reason),
		         "no frame of the system at the baseline %s", t);
		set_text(it.r.data, sizeof(it.r.data), "{}");
	} else if (r < 0) {
		snprintf(err, errlen, "alarm '%s': system %s: %s", d->name, y->id, why);
		buf_free(&entries);
		buf_free(&summary);
		return r;
	} else {
		it.r.state = hits > 0 ? ALARM_STATE_ALARM : ALARM_STATE_OK;
		it.r.breaching = hits;
		if (hits > 0)
			snprintf(it.r.reason, sizeof(it.r.reason), "%d drift entr%s since %s: %s",
			         hits, hits == 1 ? "y" : "ies", t, buf_str(&summary));
		else
			snprintf(it.r.reason, sizeof(it.r.reason), "no %s drift since %s", d->rule,
			         t);
		struct buf data = BUF_INIT;
		buf_printf(&data, "{\"hits\":%d,\"baseline\":\"%s\",\"entries\":", hits, t);
		buf_adds(&data, entries.len ? buf_str(&entries) : "[]");
		buf_adds(&data, "}");
		if (data.len >= sizeof(it.r.data)) {
			buf_reset(&data);
			buf_printf(&data, "{\"hits\":%d,\"baseline\":\"%s\",\"summary\":", hits, t);
			jw_escape(&data, summary.data ? summary.data : "",
			          summary.len > 1500 ? 1500 : summary.len);
			buf_adds(&data, "}");
		}
		set_text(it.r.data, sizeof(it.r.data), buf_str(&data));
		buf_free(&data);
	}
	buf_free(&entries);
	buf_free(&summary);
	it.state = it.r.state;
	return c->cb(c->ctx, &it);
}

/* ---- alarm_run ---------------------------------------------------------------------- */

int run_check_def(const struct alarm_def *d, struct selector *sel, bool *have_sel, char *err,
                  size_t errlen)
{
	*have_sel = false;
	if (d->selector) {
		int r = sel_parse(d->selector, sel, err, errlen);
		if (r < 0)
			return r;
		*have_sel = true;
	} else if (!d->system) {
		snprintf(err, errlen, "alarm '%s': no system or selector", d->name);
		return -EINVAL;
	}
	if (d->type == ALARM_METRIC && !d->metric && !d->expr) {
		snprintf(err, errlen, "alarm '%s': no metric or expr", d->name);
		if (*have_sel)
			sel_free(sel);
		return -EINVAL;
	}
	return 0;
}

int alarm_run(struct store *s, const struct alarm_def *d, int64_t now_ms,
              enum alarm_state (*current)(void *ctx, const char *system_id, const char *labels),
              int64_t (*baseline)(void *ctx, const char *system_id, int64_t *checked_ms),
              int (*cb)(void *ctx, const struct alarm_run_item *it), void *ctx, char *err,
              size_t errlen)
{
	struct selector sel;
	bool have_sel;
	int r = run_check_def(d, &sel, &have_sel, err, errlen);
	if (r < 0)
		return r;
	const struct selector *sp = have_sel ? &sel : NULL;
	struct run_ctx c = {.s = s,
	                    .d = d,
	                    .current = current,
	                    .text = true,
	                    .baseline = baseline,
	                    .cb = cb,
	                    .ctx = ctx};
	int64_t end;
	size_t nr, nread;
	run_layout(d, now_ms, &end, &nr, &nread);
	int64_t step = d->period_ms > 0 ? d->period_ms : 60000;
	int64_t from = end - (int64_t)nread * step;
	if (d->type == ALARM_DRIFT) {
		/* the state now, not at the period's start: a change is seen at
		 * the first evaluation after its frame, and a baseline armed
		 * within the period is never after the state compared with it */
		struct sys_ident *sys;
		size_t n;
		r = list_systems(s, d, sp, &sys, &n);
		if (r < 0)
			snprintf(err, errlen, "alarm '%s': cannot list systems: %s", d->name,
			         strerror(-r));
		for (size_t i = 0; i < n && r == 0; i++) {
			int64_t checked = 0;
			int64_t base = baseline ? baseline(ctx, sys[i].id, &checked) : 0;
			r = drift_one(&c, &sys[i], now_ms, base, checked, err, errlen);
		}
		sys_free(sys, n);
	} else if (d->expr) {
		struct math_run m = {0};
		r = math_read(s, d, sp, from, step, nread, &m, err, errlen);
		if (r == 0)
			r = math_emit(&c, &m, end, nr, nread, from, step, err, errlen);
		math_run_free(&m);
	} else {
		struct run_data rd = {.d = d, .from = from, .step = step, .nslots = nread};
		r = read_metric(s, d, sp, d->metric, &rd, err, errlen);
		if (r == 0)
			r = emit_metric(&c, &rd, end, nr);
		data_free(&rd);
	}
	if (have_sel)
		sel_free(&sel);
	run_ctx_free(&c);
	return r;
}

/* ---- backtests ------------------------------------------------------------------------ */

struct bt_state {
	char *key; /* system_id \n labels */
	enum alarm_state st;
	bool gone;
};

struct backtest {
	struct bt_state *v;
	size_t n, cap;
	int64_t t;
	struct buf *out;
	struct json j;
	size_t count;
};

static struct bt_state *bt_find(struct backtest *b, const char *id, const char *labels, bool add)
{
	size_t il = strlen(id);
	for (size_t i = 0; i < b->n; i++) {
		const char *k = b->v[i].key;
		if (strncmp(k, id, il) == 0 && k[il] == '\n' && strcmp(k + il + 1, labels) == 0)
			return &b->v[i];
	}
	if (!add || grow_array((void **)&b->v, &b->cap, b->n + 1, sizeof(*b->v)) < 0)
		return NULL;
	struct bt_state *x = &b->v[b->n++];
	size_t n = il + strlen(labels) + 2;
	x->key = xmalloc(n);
	snprintf(x->key, n, "%s\n%s", id, labels);
	x->st = ALARM_STATE_INSUFFICIENT;
	x->gone = false;
	return x;
}

static enum alarm_state bt_current(void *ctx, const char *id, const char *labels)
{
	struct bt_state *x = bt_find(ctx, id, labels, false);
	return x ? x->st : ALARM_STATE_INSUFFICIENT;
}

static int64_t bt_baseline(void *ctx, const char *id, int64_t *checked_ms)
{
	(void)id;
	*checked_ms = 0; /* every period compared */
	const struct backtest *b = ctx;
	return b->t; /* set to the backtest's start by the caller */
}

static int bt_item(void *ctx, const struct alarm_run_item *it)
{
	struct backtest *b = ctx;
	struct bt_state *x = bt_find(b, it->system_id, it->series_labels, true);
	if (!x)
		return -ENOMEM;
	bool gone_now = it->gone && !x->gone;
	if (it->state == x->st && !gone_now)
		return 0;
	char t[40];
	format_time_utc(b->t * 1000000, t, sizeof(t));
	jw_obj_begin(&b->j, NULL);
	jw_str(&b->j, "time", t);
	jw_str(&b->j, "system", it->system_id);
	jw_str(&b->j, "system_name", it->system_name);
	jw_raw(&b->j, "labels", it->series_labels, strlen(it->series_labels));
	jw_str(&b->j, "from", alarm_state_name(x->st));
	jw_str(&b->j, "to", alarm_state_name(it->state));
	jw_str(&b->j, "reason", it->r.reason);
	if (it->gone)
		jw_bool(&b->j, "gone", true);
	if (it->warming)
		jw_bool(&b->j, "warming", true);
	jw_obj_end(&b->j);
	b->count++;
	x->st = it->state;
	x->gone = it->gone;
	return 0;
}

int alarm_backtest(struct store *s, const struct alarm_def *d, int64_t from_ms, int64_t to_ms,
                   struct buf *out, char *err, size_t errlen)
{
	int64_t p = d->period_ms > 0 ? d->period_ms : 60000;
	if (to_ms < from_ms) {
		snprintf(err, errlen, "backtest of '%s': the range ends before it starts", d->name);
		return -EINVAL;
	}
	int64_t first = from_ms - ((from_ms % p) + p) % p + p; /* first period end after from */
	if ((to_ms - first) / p > MAX_BACKTEST_PERIODS) {
		snprintf(
		    err, errlen,
		    "backtest of '%s': %lld periods of %lld s; at most %d (a shorter range or a "
		    "longer period)",
		    d->name, (long long)((to_ms - first) / p), (long long)(p / 1000),
		    MAX_BACKTEST_PERIODS);
		return -EINVAL;
	}
	struct backtest b = {.out = out};
	jw_init(&b.j, out);
	jw_arr_begin(&b.j, NULL);
	int r = 0;
	struct selector sel;
	bool have_sel;
	r = run_check_def(d, &sel, &have_sel, err, errlen);
	if (r < 0)
		return r;
	const struct selector *sp = have_sel ? &sel : NULL;
	struct run_ctx c = {.s = s,
	                    .d = d,
	                    .current = bt_current,
	                    .text = true,
	                    .baseline = bt_baseline,
	                    .cb = bt_item,
	                    .ctx = &b};
	if (d->type == ALARM_DRIFT) {
		/* the baseline is the start of the range */
		struct sys_ident *sys;
		size_t n;
		r = list_systems(s, d, sp, &sys, &n);
		for (int64_t t = first; t <= to_ms && r == 0; t += p) {
			b.t = t;
			for (size_t i = 0; i < n && r == 0; i++) {
				struct sys_ident y = sys[i];
				y.gone = false; /* the past: present */
				r = drift_one(&c, &y, t, from_ms, 0, err, errlen);
			}
		}
		sys_free(sys, n);
	} else {
		/* one read over the whole range, then slide the window */
		size_t nr, nread;
		int64_t end0;
		run_layout(d, first, &end0, &nr, &nread);
		int64_t rfrom = end0 - (int64_t)nread * p;
		size_t total = (size_t)((to_ms - rfrom) / p) + 1;
		struct run_data rd = {.d = d, .from = rfrom, .step = p, .nslots = total};
		struct math_run m = {0};
		if (d->expr)
			r = math_read(s, d, sp, rfrom, p, total, &m, err, errlen);
		else
			r = read_metric(s, d, sp, d->metric, &rd, err, errlen);
		for (int64_t t = first; t <= to_ms && r == 0; t += p) {
			b.t = t;
			size_t upto = (size_t)((t - rfrom) / p); /* slots before t */
			if (d->expr) {
				/* evaluate the expression over the slots up to t */
				r = math_emit(&c, &m, t, nr, upto, rfrom, p, err, errlen);
				continue;
			}
			struct run_data win = rd;
			win.nslots = upto;
			/* a series whose first point is later than t does not exist yet */
			for (size_t i = 0; i < rd.n && r == 0; i++) {
				struct run_series x = rd.s[i];
				if (x.first_t == INT64_MAX || x.first_t >= t)
					continue;
				size_t k0 = upto - nr;
				r = emit_series(&c, &x, x.v + k0, nr, rfrom + (int64_t)k0 * p, p, t,
				                true);
			}
			if (rd.n == 0 && d->system && r == 0)
				r = emit_metric(&c, &win, t, nr);
		}
		data_free(&rd);
		math_run_free(&m);
	}
	if (have_sel)
		sel_free(&sel);
	run_ctx_free(&c);
	for (size_t i = 0; i < b.n; i++)
		free(b.v[i].key);
	free(b.v);
	jw_arr_end(&b.j);
	return r;
}
