/*
 * drift_logs.c - the new error lines of a diff (drift_logs.h).
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "../store/store.h"
#include "../util/buf.h"
#include "../util/timefmt.h"
#include "../util/xalloc.h"
#include "drift_logs.h"

#define LINES_MAX 20000    /* lines of the range read */
#define BASELINE_MAX 50000 /* lines of the baseline read */
#define SHAPE_MAX 200      /* bytes of a shape */
#define KEY_TEXT_MAX 160   /* bytes of the line in an entry's key */
#define EXAMPLES 3
#define HOUR_MS 3600000LL
#define DAY_MS (24 * HOUR_MS)

static regex_t error_re;
static int error_re_ok = -1;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void compile(void)
{
	error_re_ok = regcomp(&error_re,
	                      "(^|[^a-z])(error|fatal|panic|exception|traceback|failed|failure|"
	                      "segfault|out of memory|killed process)([^a-z]|$)",
	                      REG_EXTENDED | REG_ICASE | REG_NOSUB) == 0;
}

/* The line's shape: quoted strings and the words holding a digit
 * (numbers, ids, hex strings, times) as '#'. */
static bool alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

static void shape(const char *s, size_t n, struct buf *out)
{
	buf_reset(out);
	for (size_t i = 0; i < n && out->len < SHAPE_MAX;) {
		char c = s[i];
		if (c == '"' || c == '\'') {
			size_t j = i + 1;
			while (j < n && s[j] != c)
				j++;
			buf_addc(out, '#');
			i = j < n ? j + 1 : n;
		} else if (alnum(c)) {
			size_t j = i;
			bool digit = false;
			for (; j < n && alnum(s[j]); j++)
				digit |= s[j] >= '0' && s[j] <= '9';
			if (digit)
				buf_addc(out, '#');
			else
				buf_add(out, s + i, j - i);
			i = j;
		} else {
			buf_addc(out, c);
			i++;
		}
	}
}

struct group {
	char *shape;
	char *source;
	int level; /* the most severe */
	bool pattern_only;
	int64_t count, first, last;
	char *ex[EXAMPLES];
	int nex;
};

struct ctx {
	json_t *seen; /* baseline shapes (keys) */
	struct group *g;
	size_t ng, cap;
	struct buf tmp;
	int64_t read;
};

static int on_base(void *arg, int64_t id, const struct store_log *l)
{
	struct ctx *c = arg;
	shape(l->line, l->len, &c->tmp);
	json_object_set_new_nocheck(c->seen, buf_str(&c->tmp), json_true());
	return 0;
}

static bool is_error(const struct store_log *l, bool *pattern_only)
{
	*pattern_only = false;
	if (l->level >= 0 && l->level <= 3)
		return true;
	if (l->level >= 4 || error_re_ok != 1)
		return false; /* a known level that is not an error */
	char small[1024];
	char *t = l->len < sizeof(small) ? small : malloc(l->len + 1);
	if (!t)
		return false;
	memcpy(t, l->line, l->len);
	t[l->len] = 0;
	bool m = regexec(&error_re, t, 0, NULL, 0) == 0;
	if (t != small)
		free(t);
	*pattern_only = m;
	return m;
}

static int on_line(void *arg, int64_t id, const struct store_log *l)
{
	struct ctx *c = arg;
	c->read++;
	bool pat;
	if (!is_error(l, &pat))
		return 0;
	shape(l->line, l->len, &c->tmp);
	const char *sh = buf_str(&c->tmp);
	if (json_object_get(c->seen, sh))
		return 0;
	struct group *g = NULL;
	for (size_t i = 0; i < c->ng && !g; i++)
		if (strcmp(c->g[i].shape, sh) == 0 && strcmp(c->g[i].source, l->source) == 0)
			g = &c->g[i];
	if (!g) {
		if (c->ng == c->cap) {
			c->cap = c->cap ? c->cap * 2 : 16;
			c->g = xreallocarray(c->g, c->cap, sizeof(*c->g));
		}
		g = &c->g[c->ng++];
		memset(g, 0, sizeof(*g));
		g->shape = xstrdup(sh);
		g->source = xstrdup(l->source);
		g->level = l->level;
		g->pattern_only = pat;
		g->first = l->time_ms;
	}
	g->count++;
	g->last = l->time_ms;
	if (l->level >= 0 && (g->level < 0 || l->level < g->level))
		g->level = l->level;
	g->pattern_only &= pat;
	if (g->nex < EXAMPLES)
		g->ex[g->nex++] = xstrndup(l->line, l->len);
	return 0;
}

static json_t *str_or_null(const char *s)
{
	json_t *v = json_string(s);
	return v ? v : json_null();
}

static void iso(int64_t ms, char *out, size_t cap)
{
	format_time_utc(ms * 1000000, out, cap);
}

static json_t *entry(const struct group *g)
{
	static const char *const names[] = {"emerg",   "alert",  "crit", "err",
	                                    "warning", "notice", "info", "debug"};
	double prior = g->pattern_only ? 0.35 : g->level >= 0 && g->level <= 2 ? 0.6 : 0.5;
	double burst = log10((double)g->count + 1) / 2;
	double score = prior * (0.8 + 0.2 * (burst < 1 ? burst : 1));
	struct buf key = BUF_INIT;
	buf_printf(&key, "%s: %.*s%s", g->source, KEY_TEXT_MAX, g->ex[0],
	           strlen(g->ex[0]) > KEY_TEXT_MAX ? "..." : "");
	char first[40], last[40];
	iso(g->first, first, sizeof(first));
	iso(g->last, last, sizeof(last));
	json_t *lines = json_array();
	for (int i = 0; i < g->nex; i++)
		json_array_append_new(lines, str_or_null(g->ex[i]));
	json_t *e = json_pack(
	    "{s:s, s:o, s:s, s:{s:[i,I]}, s:o, s:f, s:{s:f, s:s, s:{s:o, s:I, s:s, s:s, s:o}}}",
	    "feature", "log", "key", str_or_null(buf_str(&key)), "change", "added", "fields",
	    "lines", 0, (json_int_t)g->count, "lines", lines, "score", score, "why", "prior", prior,
	    "field", "lines", "log", "level",
	    g->level >= 0 && g->level <= 7 ? json_string(names[g->level]) : json_null(), "count",
	    (json_int_t)g->count, "first", first, "last", last, "source", str_or_null(g->source));
	buf_free(&key);
	return e;
}

struct ranked {
	json_t *e;
	double score;
	size_t idx;
};

static int by_score(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;
	if (x->score != y->score)
		return x->score < y->score ? 1 : -1;
	return (x->idx > y->idx) - (x->idx < y->idx);
}

/* Re-rank the entries by score, best first (equal scores keep their
 * order). */
static void rerank(json_t *entries)
{
	size_t n = json_array_size(entries);
	struct ranked *v = xcalloc(n ? n : 1, sizeof(*v));
	for (size_t i = 0; i < n; i++) {
		v[i].e = json_incref(json_array_get(entries, i));
		v[i].score = json_number_value(json_object_get(v[i].e, "score"));
		v[i].idx = i;
	}
	qsort(v, n, sizeof(*v), by_score);
	json_array_clear(entries);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(entries, v[i].e);
	free(v);
}

int drift_logs_add(struct store *st, json_t *d, const char *a_system, const char *b_system,
                   int64_t a_ms, int64_t b_ms)
{
	pthread_once(&once, compile);
	if (!st || !d || !b_system)
		return 0;
	int64_t lo = a_ms < b_ms ? a_ms : b_ms, hi = a_ms < b_ms ? b_ms : a_ms;
	if (hi <= lo)
		return 0;
	int64_t win = hi - lo;
	if (win < HOUR_MS)
		win = HOUR_MS;
	if (win > DAY_MS)
		win = DAY_MS;
	struct ctx c = {.seen = json_object()};
	const char *bid[] = {b_system};
	struct store_log_query q = {.system_ids = bid,
	                            .nsystems = 1,
	                            .max_level = 7,
	                            .from_ms = lo - win > 0 ? lo - win : 1,
	                            .to_ms = lo,
	                            .limit = BASELINE_MAX,
	                            .reverse = true};
	int r = store_logs(st, &q, on_base, &c);
	if (r == 0 && a_system && strcmp(a_system, b_system) != 0) {
		const char *aid[] = {a_system};
		q.system_ids = aid;
		q.to_ms = hi;
		r = store_logs(st, &q, on_base, &c);
	}
	if (r == 0) {
		q = (struct store_log_query){.system_ids = bid,
		                             .nsystems = 1,
		                             .max_level = 7,
		                             .from_ms = lo + 1,
		                             .to_ms = hi,
		                             .limit = LINES_MAX};
		r = store_logs(st, &q, on_line, &c);
	}
	int added = 0;
	json_t *entries = json_object_get(d, "entries");
	if (r == 0 && c.ng && json_is_array(entries)) {
		for (size_t i = 0; i < c.ng; i++) {
			json_t *e = entry(&c.g[i]);
			if (e && json_array_append_new(entries, e) == 0)
				added++;
		}
		rerank(entries);
	}
	for (size_t i = 0; i < c.ng; i++) {
		free(c.g[i].shape);
		free(c.g[i].source);
		for (int k = 0; k < c.g[i].nex; k++)
			free(c.g[i].ex[k]);
	}
	free(c.g);
	buf_free(&c.tmp);
	json_decref(c.seen);
	return r < 0 ? r : added;
}
