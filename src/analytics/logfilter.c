/*
 * logfilter.c - metric filters over the stored log lines (logfilter.h):
 * their definitions ([logfilter NAME] keys, checked), and the runner
 * thread that reads new lines, matches them and stores the points.
 *
 * A pass of the runner (every second): the lines stored since the last
 * one (store_logs by id, after the newest id it has seen), each matched
 * against every filter (source glob, system, then the pattern) and added
 * to the filter's accumulator of that system (count, sum, min, max).
 * Then each filter whose period ended gives its points: the systems it
 * selects (present systems of the store; a system= filter also a system
 * only seen in lines) with a count, or those with values.  The points of
 * one system at one time are one frame (header: the system's identity as
 * stored; one `metric` record "log" {"NAME": value, ...}), all frames of
 * a pass stored in one transaction (store_put_frames).
 */
#include <errno.h>
#include <fnmatch.h>
#include <pthread.h>
#include <regex.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../store/store.h"
#include "../util/buf.h"
#include "../util/jscan.h"
#include "../util/json.h"
#include "../util/log.h"
#include "../util/timefmt.h"
#include "../util/util.h"
#include "../util/xalloc.h"
#include "alarm_run_int.h"
#include "logfilter.h"

#define PERIOD_DEFAULT_MS 60000
#define READ_BATCH 5000

/* ---- definitions --------------------------------------------------------------- */

static bool ident(const char *s)
{
	size_t n = strlen(s);
	if (!n || n > 64)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_'))
			return false;
	}
	return true;
}

static void def_free(struct logfilter_def *d)
{
	free(d->name);
	free(d->pattern);
	free(d->system);
	free(d->selector);
	free(d->source);
	free(d->value);
	free(d->stat);
	memset(d, 0, sizeof(*d));
}

static void set_str(char **slot, const char *v)
{
	free(*slot);
	*slot = xstrdup(v);
}

int logfilter_set_key(struct logfilter_set *s, const char *name, const char *key, const char *value,
                      char *err, size_t errlen)
{
	while (*name == ' ' || *name == '\t')
		name++;
	if (!ident(name)) {
		snprintf(err, errlen,
		         "a log filter's name makes the series log.NAME: letters, digits and _ "
		         "(at most 64), not '%s'",
		         name);
		return -EINVAL;
	}
	int i = 0;
	while (i < s->n && strcmp(s->v[i].name, name) != 0)
		i++;
	if (i == s->n) {
		if (s->n == LOGFILTER_MAX) {
			snprintf(err, errlen, "more than %d log filters", LOGFILTER_MAX);
			return -EINVAL;
		}
		s->v = xreallocarray(s->v, (size_t)s->n + 1, sizeof(*s->v));
		memset(&s->v[i], 0, sizeof(s->v[i]));
		s->v[i].name = xstrdup(name);
		s->v[i].period_ms = PERIOD_DEFAULT_MS;
		s->n++;
	}
	struct logfilter_def *d = &s->v[i];
	if (strcmp(key, "pattern") == 0) {
		regex_t re;
		int rc = regcomp(&re, value, REG_EXTENDED);
		if (rc) {
			char m[160];
			regerror(rc, &re, m, sizeof(m));
			snprintf(err, errlen, "not a POSIX extended regular expression: %s", m);
			return -EINVAL;
		}
		regfree(&re);
		set_str(&d->pattern, value);
	} else if (strcmp(key, "system") == 0) {
		set_str(&d->system, value);
	} else if (strcmp(key, "selector") == 0) {
		if (alarm_selector_check(value, err, errlen) < 0)
			return -EINVAL;
		set_str(&d->selector, value);
	} else if (strcmp(key, "source") == 0) {
		set_str(&d->source, value);
	} else if (strcmp(key, "value") == 0) {
		char *end;
		long g = strtol(value, &end, 10);
		if (!(end != value && !*end && g >= 0 && g <= 9) && !ident(value)) {
			snprintf(
			    err, errlen,
			    "'%s' is a capture group (0-9) or a field name (letters, digits, _)",
			    value);
			return -EINVAL;
		}
		set_str(&d->value, value);
	} else if (strcmp(key, "stat") == 0) {
		if (strcmp(value, "avg") != 0 && strcmp(value, "sum") != 0 &&
		    strcmp(value, "min") != 0 && strcmp(value, "max") != 0 &&
		    strcmp(value, "count") != 0) {
			snprintf(err, errlen, "'%s' is not avg, sum, min, max or count", value);
			return -EINVAL;
		}
		set_str(&d->stat, value);
	} else if (strcmp(key, "period") == 0) {
		int64_t ms;
		if (parse_duration_ms(value, &ms) < 0 || ms < 1000 || ms > 86400000) {
			snprintf(err, errlen, "not a duration from 1s to 1d: '%s' (e.g. 1m)",
			         value);
			return -EINVAL;
		}
		d->period_ms = ms;
	} else {
		snprintf(err, errlen,
		         "unknown key (pattern, system, selector, source, value, stat, period)");
		return -ENOENT;
	}
	return 0;
}

int logfilter_check(const struct logfilter_set *s, char *err, size_t errlen)
{
	for (int i = 0; i < s->n; i++) {
		const struct logfilter_def *d = &s->v[i];
		if (!d->pattern) {
			snprintf(err, errlen, "[logfilter %s]: no pattern", d->name);
			return -EINVAL;
		}
		if (d->system && d->selector) {
			snprintf(err, errlen, "[logfilter %s]: system or selector, not both",
			         d->name);
			return -EINVAL;
		}
		if (d->stat && !d->value) {
			snprintf(err, errlen, "[logfilter %s]: stat needs a value", d->name);
			return -EINVAL;
		}
		if (d->value && d->value[0] >= '0' && d->value[0] <= '9') {
			regex_t re;
			if (regcomp(&re, d->pattern, REG_EXTENDED) == 0) {
				size_t groups = re.re_nsub;
				regfree(&re);
				if ((size_t)atoi(d->value) > groups) {
					snprintf(err, errlen,
					         "[logfilter %s]: value %s: the pattern has %zu "
					         "group%s",
					         d->name, d->value, groups, groups == 1 ? "" : "s");
					return -EINVAL;
				}
			}
		}
	}
	return 0;
}

void logfilter_set_free(struct logfilter_set *s)
{
	for (int i = 0; i < s->n; i++)
		def_free(&s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

int logfilter_set_copy(struct logfilter_set *dst, const struct logfilter_set *src)
{
	dst->n = 0;
	dst->v = src->n ? xcalloc((size_t)src->n, sizeof(*dst->v)) : NULL;
	for (int i = 0; i < src->n; i++) {
		const struct logfilter_def *a = &src->v[i];
		struct logfilter_def *b = &dst->v[i];
		b->name = dup_or_null(a->name);
		b->pattern = dup_or_null(a->pattern);
		b->system = dup_or_null(a->system);
		b->selector = dup_or_null(a->selector);
		b->source = dup_or_null(a->source);
		b->value = dup_or_null(a->value);
		b->stat = dup_or_null(a->stat);
		b->period_ms = a->period_ms;
		dst->n++;
	}
	return 0;
}

/* ---- the systems of the store ---------------------------------------------------- */

struct sys {
	char *id, *name, *kind, *image, *runtime, *host, *labels; /* decoded; labels JSON */
	char *raw_id;                                             /* as stored (escaped) */
	struct buf head; /* the identity members of a frame header */
};

struct systems {
	struct sys *v;
	size_t n;
};

static void systems_free(struct systems *ss)
{
	for (size_t i = 0; i < ss->n; i++) {
		struct sys *y = &ss->v[i];
		free(y->id);
		free(y->name);
		free(y->kind);
		free(y->image);
		free(y->runtime);
		free(y->host);
		free(y->labels);
		free(y->raw_id);
		buf_free(&y->head);
	}
	free(ss->v);
	ss->v = NULL;
	ss->n = 0;
}

static char *span_str(struct js_span v)
{
	struct js_span c;
	if (!js_str(v, &c))
		return NULL;
	struct buf b = BUF_INIT;
	js_unescape(&b, c.p, c.n);
	char *s = xstrdup(buf_str(&b));
	buf_free(&b);
	return s;
}

/* The present systems (store_systems_json) into ss. */
static int systems_load(struct store *st, struct systems *ss)
{
	struct store_system_filter f = {.gone = 0};
	struct buf b = BUF_INIT;
	int r = store_systems_json(st, &f, &b);
	if (r < 0) {
		buf_free(&b);
		return r;
	}
	struct js_iter arr, obj;
	struct js_span all = {buf_str(&b), b.len}, o, k, v;
	if (js_iter_begin(&arr, all, 0) < 0) {
		buf_free(&b);
		return -EINVAL;
	}
	size_t cap = 0;
	while (js_arr_next(&arr, &o) == 1) {
		if (js_iter_begin(&obj, o, 0) < 0)
			continue;
		if (ss->n == cap) {
			cap = cap ? cap * 2 : 32;
			ss->v = xreallocarray(ss->v, cap, sizeof(*ss->v));
		}
		struct sys *y = &ss->v[ss->n];
		memset(y, 0, sizeof(*y));
		bool first = true;
		while (js_obj_next(&obj, &k, &v) == 1) {
			static const char *const copied[] = {"name",  "kind", "runtime",
			                                     "image", "host", "labels"};
			if (js_eq(k, "id")) {
				struct js_span c;
				y->id = span_str(v);
				if (js_str(v, &c))
					y->raw_id = xstrndup(c.p, c.n);
			} else if (js_eq(k, "name")) {
				y->name = span_str(v);
			} else if (js_eq(k, "kind")) {
				y->kind = span_str(v);
			} else if (js_eq(k, "image")) {
				y->image = span_str(v);
			} else if (js_eq(k, "runtime")) {
				y->runtime = span_str(v);
			} else if (js_eq(k, "host")) {
				y->host = span_str(v);
			} else if (js_eq(k, "labels")) {
				y->labels = xstrndup(v.p, v.n);
			}
			for (size_t i = 0; i < ARRAY_SIZE(copied); i++)
				if (js_eq(k, copied[i])) {
					buf_printf(&y->head, "%s\"%s\":%.*s", first ? "" : ",",
					           copied[i], (int)v.n, v.p);
					first = false;
				}
		}
		if (y->id && y->raw_id)
			ss->n++;
		else
			free(y->id), free(y->raw_id), free(y->name), free(y->kind), free(y->image),
			    free(y->runtime), free(y->host), free(y->labels), buf_free(&y->head);
	}
	buf_free(&b);
	return 0;
}

static const struct sys *sys_find(const struct systems *ss, const char *id)
{
	for (size_t i = 0; i < ss->n; i++)
		if (strcmp(ss->v[i].id, id) == 0)
			return &ss->v[i];
	return NULL;
}

/* ---- the runner ------------------------------------------------------------------ */

struct acc {
	char *system; /* decoded id */
	int64_t count;
	double sum, min, max;
	int64_t n; /* values */
};

struct filt {
	const struct logfilter_def *d;
	regex_t re;
	struct selector sel;
	bool have_sel;
	int group;    /* value: capture group, -1 a field, -2 none (count) */
	int64_t due;  /* the end of the current period */
	bool emitted; /* its points of the period are being stored */
	struct acc *acc;
	size_t nacc, cap;
	size_t last; /* the last accumulator hit */
};

struct logfilter_runner {
	char *db;
	struct logfilter_set set;
	struct filt *f;
	int nf;
	void (*notify)(void *arg, int64_t now_ms);
	void *arg;
	struct store *st;
	int64_t after;
	struct systems ss;
	pthread_t th;
	bool started;
	pthread_mutex_t m;
	pthread_cond_t cv;
	bool stop;
};

static struct acc *acc_of(struct filt *f, const char *system)
{
	if (f->last < f->nacc && strcmp(f->acc[f->last].system, system) == 0)
		return &f->acc[f->last];
	for (size_t i = 0; i < f->nacc; i++)
		if (strcmp(f->acc[i].system, system) == 0) {
			f->last = i;
			return &f->acc[i];
		}
	if (f->nacc == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 8;
		f->acc = xreallocarray(f->acc, f->cap, sizeof(*f->acc));
	}
	f->acc[f->nacc] = (struct acc){.system = xstrdup(system)};
	f->last = f->nacc;
	return &f->acc[f->nacc++];
}

static void acc_clear(struct filt *f)
{
	for (size_t i = 0; i < f->nacc; i++)
		free(f->acc[i].system);
	f->nacc = 0;
	f->last = 0;
}

static bool sys_selected(const struct filt *f, const char *id, const struct sys *y)
{
	if (f->d->system)
		return strcmp(f->d->system, id) == 0 ||
		       (y && y->name && strcmp(f->d->system, y->name) == 0);
	if (!f->have_sel)
		return true;
	if (!y)
		return false;
	struct identity idy = {.id = y->id,
	                       .name = y->name,
	                       .kind = y->kind,
	                       .image = y->image,
	                       .runtime = y->runtime,
	                       .host = y->host,
	                       .labels = y->labels};
	return sel_match(&f->sel, &idy);
}

/* The number of field `name` in `line`: a JSON object's member, else the
 * number after "name=" or "name:" (spaces and a quote allowed). */
static bool field_number(const char *line, size_t len, const char *name, double *out)
{
	size_t nl = strlen(name);
	if (len && line[0] == '{') {
		struct js_iter it;
		struct js_span k, v, all = {line, len};
		if (js_iter_begin(&it, all, 0) == 0)
			while (js_obj_next(&it, &k, &v) == 1)
				if (k.n == nl + 2 && memcmp(k.p + 1, name, nl) == 0) {
					char tmp[64];
					struct js_span c = v;
					if (!js_str(v, &c))
						c = v;
					if (c.n == 0 || c.n >= sizeof(tmp))
						return false;
					memcpy(tmp, c.p, c.n);
					tmp[c.n] = 0;
					char *end;
					*out = strtod(tmp, &end);
					return end != tmp && !*end;
				}
	}
	for (const char *p = line; (p = memmem(p, (size_t)(line + len - p), name, nl));) {
		bool start = p == line || !(((unsigned char)p[-1] | 0x20) >= 'a' &&
		                            ((unsigned char)p[-1] | 0x20) <= 'z');
		const char *q = p + nl;
		p += nl;
		if (!start || q >= line + len || (*q != '=' && *q != ':'))
			continue;
		q++;
		while (q < line + len && (*q == ' ' || *q == '"'))
			q++;
		char tmp[64];
		size_t n = 0;
		while (q + n < line + len && n < sizeof(tmp) - 1 && strchr("0123456789+-.eE", q[n]))
			n++;
		memcpy(tmp, q, n);
		tmp[n] = 0;
		char *end;
		*out = strtod(tmp, &end);
		if (n && end != tmp)
			return true;
	}
	return false;
}

/* The line as a C string: in small when it fits, else allocated (NULL:
 * out of memory). */
static char *line_cstr(const struct store_log *l, char *small, size_t cap)
{
	char *t = l->len < cap ? small : malloc(l->len + 1);
	if (t) {
		memcpy(t, l->line, l->len);
		t[l->len] = 0;
	}
	return t;
}

static void match_line(struct logfilter_runner *R, const struct store_log *l)
{
	char small[2048];
	char *text = NULL;
	const struct sys *y = NULL;
	bool looked = false;
	for (int i = 0; i < R->nf; i++) {
		struct filt *f = &R->f[i];
		if (f->d->source && fnmatch(f->d->source, l->source, 0) != 0)
			continue;
		if (!looked) {
			y = sys_find(&R->ss, l->system_id);
			looked = true;
		}
		if (!sys_selected(f, l->system_id, y))
			continue;
		if (!text && !(text = line_cstr(l, small, sizeof(small))))
			return;
		regmatch_t m[10];
		if (regexec(&f->re, text, 10, m, 0) != 0)
			continue;
		struct acc *a = acc_of(f, l->system_id);
		a->count++;
		double v;
		bool have = false;
		if (f->group >= 0 && m[f->group].rm_so >= 0) {
			char tmp[64];
			size_t n = (size_t)(m[f->group].rm_eo - m[f->group].rm_so);
			if (n && n < sizeof(tmp)) {
				memcpy(tmp, text + m[f->group].rm_so, n);
				tmp[n] = 0;
				char *end;
				v = strtod(tmp, &end);
				have = end != tmp && !*end;
			}
		} else if (f->group == -1) {
			have = field_number(text, l->len, f->d->value, &v);
		}
		if (have) {
			a->sum += v;
			a->min = a->n ? (v < a->min ? v : a->min) : v;
			a->max = a->n ? (v > a->max ? v : a->max) : v;
			a->n++;
		}
	}
	if (text && text != small)
		free(text);
}

static int on_line(void *ctx, int64_t id, const struct store_log *l)
{
	struct logfilter_runner *R = ctx;
	R->after = id;
	match_line(R, l);
	return 0;
}

struct point {
	const char *system; /* decoded id */
	int64_t t;
	const char *name;
	double v;
};

static int point_cmp(const void *a, const void *b)
{
	const struct point *x = a, *y = b;
	int c = strcmp(x->system, y->system);
	return c ? c : (x->t > y->t) - (x->t < y->t);
}

static void add_point(struct point **p, size_t *n, size_t *cap, const char *system, int64_t t,
                      const char *name, double v)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 32;
		*p = xreallocarray(*p, *cap, sizeof(**p));
	}
	(*p)[(*n)++] = (struct point){system, t, name, v};
}

/* The points of the filters whose period ended at or before now. */
static void collect(struct logfilter_runner *R, int64_t now, struct point **p, size_t *n,
                    size_t *cap)
{
	for (int i = 0; i < R->nf; i++) {
		struct filt *f = &R->f[i];
		if (now < f->due)
			continue;
		int64_t t = f->due - f->d->period_ms;
		f->emitted = true;
		const char *stat = f->d->stat ? f->d->stat : "avg";
		if (f->group == -2) {
			/* every selected present system, 0 without lines */
			for (size_t k = 0; k < R->ss.n; k++)
				if (sys_selected(f, R->ss.v[k].id, &R->ss.v[k]))
					acc_of(f, R->ss.v[k].id);
			for (size_t k = 0; k < f->nacc; k++)
				add_point(p, n, cap, f->acc[k].system, t, f->d->name,
				          (double)f->acc[k].count);
		} else {
			for (size_t k = 0; k < f->nacc; k++) {
				const struct acc *a = &f->acc[k];
				if (!a->n)
					continue;
				double v = strcmp(stat, "sum") == 0     ? a->sum
				           : strcmp(stat, "min") == 0   ? a->min
				           : strcmp(stat, "max") == 0   ? a->max
				           : strcmp(stat, "count") == 0 ? (double)a->n
				                                        : a->sum / (double)a->n;
				add_point(p, n, cap, a->system, t, f->d->name, v);
			}
		}
		/* the next period: the one holding now */
		f->due += f->d->period_ms;
		if (f->due <= now)
			f->due = (now / f->d->period_ms + 1) * f->d->period_ms;
	}
}

/* The frames of the points (sorted by system, time) stored in one
 * transaction.  0 or a negative errno. */
static int store_points(struct logfilter_runner *R, struct point *p, size_t n)
{
	qsort(p, n, sizeof(*p), point_cmp);
	struct buf *texts = xcalloc(n ? n : 1, sizeof(*texts));
	struct store_frame *fr = xcalloc(n ? n : 1, sizeof(*fr));
	int nf = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && strcmp(p[j].system, p[i].system) == 0 && p[j].t == p[i].t)
			j++;
		const struct sys *y = sys_find(&R->ss, p[i].system);
		struct buf *b = &texts[nf];
		char iso[40];
		format_time_utc(p[i].t * 1000000, iso, sizeof(iso));
		struct buf id = BUF_INIT;
		if (y)
			buf_adds(&id, y->raw_id);
		else
			js_escape_raw(&id, p[i].system, strlen(p[i].system));
		buf_printf(
		    b,
		    "{\"system\":\"%s\",\"time\":\"%s\",\"feature\":\"frame\",\"key\":\"%s\","
		    "\"value\":{\"id\":\"%s\"%s%s,\"time\":\"%s\",\"features\":[\"metric\"]}}\n",
		    id.data, iso, id.data, id.data, y && y->head.len ? "," : "",
		    y ? buf_str(&y->head) : "", iso);
		buf_printf(
		    b,
		    "{\"system\":\"%s\",\"time\":\"%s\",\"feature\":\"metric\",\"key\":\"log\","
		    "\"value\":{",
		    id.data, iso);
		for (size_t k = i; k < j; k++) {
			char num[64];
			snprintf(num, sizeof(num), "%.17g", p[k].v);
			buf_printf(b, "%s\"%s\":%s", k > i ? "," : "", p[k].name, num);
		}
		buf_adds(b, "}}\n");
		buf_free(&id);
		fr[nf].jsonl = b->data;
		fr[nf].len = b->len;
		nf++;
		i = j;
	}
	int r = nf ? store_put_frames(R->st, fr, nf) : 0;
	if (r < 0)
		log_warn("log filters: storing points: %s", store_errmsg(R->st));
	for (int k = 0; k < nf; k++)
		if (fr[k].err && r == 0)
			log_warn("log filters: a frame refused: %s", store_errmsg(R->st));
	for (int k = 0; k < nf; k++)
		buf_free(&texts[k]);
	free(texts);
	free(fr);
	return r;
}

static void pass(struct logfilter_runner *R, int64_t now)
{
	systems_free(&R->ss);
	if (systems_load(R->st, &R->ss) < 0)
		log_warn("log filters: reading the systems: %s", store_errmsg(R->st));
	struct store_log_query q = {.max_level = 7, .by_id = true, .limit = READ_BATCH};
	for (;;) {
		q.after_id = R->after;
		int64_t before = R->after;
		int r = store_logs(R->st, &q, on_line, R);
		if (r < 0) {
			log_warn("log filters: reading lines: %s", store_errmsg(R->st));
			break;
		}
		if (R->after == before || R->after - before < READ_BATCH / 2)
			break; /* probably all read; the rest next second */
	}
	struct point *p = NULL;
	size_t n = 0, cap = 0;
	collect(R, now, &p, &n, &cap);
	if (n && store_points(R, p, n) == 0 && R->notify)
		R->notify(R->arg, now);
	free(p);
	/* the filters whose period ended start the next one empty (after the
	 * points: they point at the accumulators' strings) */
	for (int i = 0; i < R->nf; i++)
		if (R->f[i].emitted) {
			acc_clear(&R->f[i]);
			R->f[i].emitted = false;
		}
}

static int on_newest(void *ctx, int64_t id, const struct store_log *l)
{
	*(int64_t *)ctx = id;
	return 0;
}

static void *run(void *arg)
{
	struct logfilter_runner *R = arg;
	pthread_mutex_lock(&R->m);
	while (!R->stop) {
		struct timespec ts;
		mono_deadline(&ts, 1000000000LL);
		pthread_cond_timedwait(&R->cv, &R->m, &ts);
		if (R->stop)
			break;
		pthread_mutex_unlock(&R->m);
		int64_t now = now_ns() / 1000000;
		pass(R, now);
		pthread_mutex_lock(&R->m);
	}
	pthread_mutex_unlock(&R->m);
	return NULL;
}

int logfilter_start(const char *db, const struct logfilter_set *s,
                    void (*notify)(void *arg, int64_t now_ms), void *arg,
                    struct logfilter_runner **out, char *err, size_t errlen)
{
	*out = NULL;
	if (!s->n)
		return 0;
	struct logfilter_runner *R = xcalloc(1, sizeof(*R));
	R->db = xstrdup(db);
	logfilter_set_copy(&R->set, s);
	R->notify = notify;
	R->arg = arg;
	R->f = xcalloc((size_t)R->set.n, sizeof(*R->f));
	int64_t now = now_ns() / 1000000;
	int r = 0;
	for (int i = 0; i < R->set.n && r == 0; i++) {
		struct filt *f = &R->f[i];
		f->d = &R->set.v[i];
		if (regcomp(&f->re, f->d->pattern ? f->d->pattern : "", REG_EXTENDED) != 0) {
			snprintf(err, errlen, "[logfilter %s]: bad pattern", f->d->name);
			r = -EINVAL;
			break;
		}
		R->nf++;
		if (f->d->selector) {
			if (sel_parse(f->d->selector, &f->sel, err, errlen) < 0) {
				r = -EINVAL;
				break;
			}
			f->have_sel = true;
		}
		if (!f->d->value)
			f->group = -2;
		else if (f->d->value[0] >= '0' && f->d->value[0] <= '9')
			f->group = atoi(f->d->value);
		else
			f->group = -1;
		f->due = (now / f->d->period_ms + 1) * f->d->period_ms;
	}
	if (r == 0 && (r = store_open(db, STORE_RW, &R->st)) < 0)
		snprintf(err, errlen, "log filters: %s", store_errmsg(NULL));
	/* from the newest line on: history is not counted again */
	struct store_log_query q = {.max_level = 7, .by_id = true, .reverse = true, .limit = 1};
	if (r == 0 && (r = store_logs(R->st, &q, on_newest, &R->after)) < 0)
		snprintf(err, errlen, "log filters: %s", store_errmsg(R->st));
	pthread_mutex_init(&R->m, NULL);
	cond_init_mono(&R->cv);
	if (r == 0 && pthread_create(&R->th, NULL, run, R) != 0) {
		snprintf(err, errlen, "log filters: cannot start a thread");
		r = -EAGAIN;
	}
	R->started = r == 0;
	if (r < 0) {
		logfilter_stop(R);
		return r;
	}
	*out = R;
	return 0;
}

void logfilter_stop(struct logfilter_runner *R)
{
	if (!R)
		return;
	if (R->started) {
		pthread_mutex_lock(&R->m);
		R->stop = true;
		pthread_cond_signal(&R->cv);
		pthread_mutex_unlock(&R->m);
		pthread_join(R->th, NULL);
	}
	pthread_mutex_destroy(&R->m);
	pthread_cond_destroy(&R->cv);
	for (int i = 0; i < R->nf; i++) {
		regfree(&R->f[i].re);
		if (R->f[i].have_sel)
			sel_free(&R->f[i].sel);
		acc_clear(&R->f[i]);
		free(R->f[i].acc);
	}
	free(R->f);
	systems_free(&R->ss);
	if (R->st)
		store_close(R->st);
	logfilter_set_free(&R->set);
	free(R->db);
	free(R);
}
