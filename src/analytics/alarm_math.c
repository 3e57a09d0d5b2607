/*
 * alarm_math.c - metric math (alarm_math.h): a recursive-descent parser
 * into a small tree, then evaluation over slots, one array per node.
 *
 * Missing points (NaN) follow CloudWatch's metric math: in arithmetic
 * between two series a missing value is 0 when the other side has a point
 * in that slot, and the slot stays missing when neither has one (a point
 * exists only where some input has one); a number has no points of its
 * own, so "m * 2" is missing where m is; division by zero drops the
 * point.  RATE is the per-second change from the previous present slot
 * (the first present slot has none); FILL(s, v) gives missing slots v;
 * SUM/AVG/MAX/MIN reduce, slot by slot, the series their argument yields
 * for each system of an "across" ref, missing ones ignored, all missing
 * -> missing.
 */
#include "alarm_math.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/xalloc.h"

#define MATH_DEPTH_MAX 64

enum kind { N_NUM, N_REF, N_NEG, N_BIN, N_FUNC };
enum fn { F_RATE, F_FILL, F_ABS, F_SUM, F_AVG, F_MAX, F_MIN };

static const char *const fn_names[] = {"RATE", "FILL", "ABS", "SUM", "AVG", "MAX", "MIN"};
#define NFN (sizeof(fn_names) / sizeof(fn_names[0]))

struct node {
	enum kind kind;
	double num; /* N_NUM */
	size_t ref; /* N_REF: index into refs */
	char op;    /* N_BIN: + - * / */
	enum fn fn; /* N_FUNC */
	struct node *a, *b;
};

struct math_expr {
	struct node *root;
	struct math_ref *refs;
	size_t nrefs;
};

struct parser {
	const char *text, *p;
	struct math_expr *e;
	int across; /* inside SUM/AVG/MAX/MIN */
	int depth;
	char *err;
	size_t errlen;
};

static void node_free(struct node *n)
{
	if (!n)
		return;
	node_free(n->a);
	node_free(n->b);
	free(n);
}

void math_free(struct math_expr *e)
{
	if (!e)
		return;
	node_free(e->root);
	for (size_t i = 0; i < e->nrefs; i++)
		free((char *)e->refs[i].metric);
	free(e->refs);
	free(e);
}

static struct node *perr(struct parser *ps, const char *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static struct node *perr(struct parser *ps, const char *at, const char *fmt, ...)
{
	if (ps->err[0])
		return NULL; /* the first error wins */
	int n = snprintf(ps->err, ps->errlen, "position %d: ", (int)(at - ps->text) + 1);
	if (n >= 0 && (size_t)n < ps->errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(ps->err + n, ps->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return NULL;
}

static void skip(struct parser *ps)
{
	while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')
		ps->p++;
}

static struct node *mk(enum kind k)
{
	struct node *n = xcalloc(1, sizeof(*n));
	n->kind = k;
	return n;
}

static bool ident_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool ident_char(char c)
{
	return ident_start(c) || (c >= '0' && c <= '9') || c == '.' || c == ':';
}

static size_t add_ref(struct math_expr *e, const char *s, size_t n, bool across)
{
	for (size_t i = 0; i < e->nrefs; i++)
		if (e->refs[i].across == across && strlen(e->refs[i].metric) == n &&
		    memcmp(e->refs[i].metric, s, n) == 0)
			return i;
	e->refs = xreallocarray(e->refs, e->nrefs + 1, sizeof(*e->refs));
	e->refs[e->nrefs].metric = xstrndup(s, n);
	e->refs[e->nrefs].across = across;
	return e->nrefs++;
}

static struct node *parse_sum(struct parser *ps);

static struct node *parse_args(struct parser *ps, enum fn fn, const char *name_at)
{
	struct node *n = mk(N_FUNC);
	n->fn = fn;
	bool reduce = fn == F_SUM || fn == F_AVG || fn == F_MAX || fn == F_MIN;
	ps->across += reduce;
	n->a = parse_sum(ps);
	ps->across -= reduce;
	if (!n->a) {
		node_free(n);
		return NULL;
	}
	skip(ps);
	if (fn == F_FILL) {
		if (*ps->p != ',') {
			node_free(n);
			return perr(ps, ps->p, "expected ',' and the value of FILL(series, value)");
		}
		ps->p++;
		skip(ps);
		const char *at = ps->p;
		size_t before = ps->e->nrefs;
		n->b = parse_sum(ps);
		if (!n->b) {
			node_free(n);
			return NULL;
		}
		if (ps->e->nrefs != before) {
			node_free(n);
			return perr(ps, at, "the value of FILL must be a number, not a series");
		}
		skip(ps);
	}
	if (*ps->p == ',') {
		node_free(n);
		return perr(ps, ps->p, "too many arguments to %s", fn_names[fn]);
	}
	if (*ps->p != ')') {
		node_free(n);
		return perr(ps, ps->p, "expected ')' to close %s( at position %d", fn_names[fn],
		            (int)(name_at - ps->text) + 1);
	}
	ps->p++;
	return n;
}

static struct node *parse_primary(struct parser *ps)
{
	skip(ps);
	const char *at = ps->p;
	char c = *ps->p;
	if (c == '(') {
		ps->p++;
		struct node *n = parse_sum(ps);
		if (!n)
			return NULL;
		skip(ps);
		if (*ps->p != ')') {
			node_free(n);
			return perr(ps, ps->p, "expected ')' to close the '(' at position %d",
			            (int)(at - ps->text) + 1);
		}
		ps->p++;
		return n;
	}
	if ((c >= '0' && c <= '9') || c == '.') {
		char *end;
		double v = strtod(ps->p, &end);
		if (end == ps->p || !isfinite(v))
			return perr(ps, at, "bad number");
		ps->p = end;
		struct node *n = mk(N_NUM);
		n->num = v;
		return n;
	}
	if (ident_start(c)) {
		const char *s = ps->p;
		while (ident_char(*ps->p))
			ps->p++;
		size_t len = (size_t)(ps->p - s);
		const char *q = ps->p;
		while (*q == ' ' || *q == '\t')
			q++;
		if (*q == '(') {
			size_t f;
			for (f = 0; f < NFN; f++)
				if (strlen(fn_names[f]) == len && memcmp(fn_names[f], s, len) == 0)
					break;
			if (f == NFN)
				return perr(ps, s,
				            "unknown function '%.*s' (RATE, FILL, ABS, SUM, AVG, "
				            "MAX, MIN)",
				            (int)len, s);
			ps->p = q + 1;
			return parse_args(ps, (enum fn)f, s);
		}
		if (*ps->p == '{') {
			/* label matchers, up to the closing brace outside quotes */
			bool quoted = false;
			const char *b = ps->p;
			for (ps->p++; *ps->p; ps->p++) {
				if (quoted && *ps->p == '\\' && ps->p[1])
					ps->p++;
				else if (*ps->p == '"')
					quoted = !quoted;
				else if (!quoted && *ps->p == '}')
					break;
			}
			if (*ps->p != '}')
				return perr(ps, b, "unclosed '{' of the series' label matchers");
			ps->p++;
		}
		struct node *n = mk(N_REF);
		n->ref = add_ref(ps->e, s, (size_t)(ps->p - s), ps->across > 0);
		return n;
	}
	if (!c)
		return perr(ps, at, "unexpected end of the expression");
	return perr(ps, at, "unexpected '%c'", c);
}

static struct node *bin(char op, struct node *l, struct node *r)
{
	struct node *n = mk(N_BIN);
	n->op = op;
	n->a = l;
	n->b = r;
	return n;
}

static struct node *parse_unary(struct parser *ps)
{
	skip(ps);
	if (*ps->p == '-' || *ps->p == '+') {
		bool neg = *ps->p == '-';
		if (++ps->depth > MATH_DEPTH_MAX)
			return perr(ps, ps->p, "nested too deeply");
		ps->p++;
		struct node *a = parse_unary(ps);
		ps->depth--;
		if (!a || !neg)
			return a;
		struct node *n = mk(N_NEG);
		n->a = a;
		return n;
	}
	if (++ps->depth > MATH_DEPTH_MAX)
		return perr(ps, ps->p, "nested too deeply");
	struct node *n = parse_primary(ps);
	ps->depth--;
	return n;
}

static struct node *parse_product(struct parser *ps)
{
	struct node *l = parse_unary(ps);
	if (!l)
		return NULL;
	for (;;) {
		skip(ps);
		char op = *ps->p;
		if (op != '*' && op != '/')
			return l;
		ps->p++;
		struct node *r = parse_unary(ps);
		if (!r) {
			node_free(l);
			return NULL;
		}
		l = bin(op, l, r);
	}
}

static struct node *parse_sum(struct parser *ps)
{
	struct node *l = parse_product(ps);
	if (!l)
		return NULL;
	for (;;) {
		skip(ps);
		char op = *ps->p;
		if (op != '+' && op != '-')
			return l;
		ps->p++;
		struct node *r = parse_product(ps);
		if (!r) {
			node_free(l);
			return NULL;
		}
		l = bin(op, l, r);
	}
}

int math_parse(const char *text, struct math_expr **out, char *err, size_t errlen)
{
	char local[8];
	struct parser ps = {.text = text ? text : "",
	                    .err = errlen ? err : local,
	                    .errlen = errlen ? errlen : sizeof(local)};
	ps.p = ps.text;
	ps.err[0] = 0;
	*out = NULL;
	ps.e = xcalloc(1, sizeof(*ps.e));
	skip(&ps);
	if (!*ps.p) {
		perr(&ps, ps.p, "empty expression");
		math_free(ps.e);
		return -EINVAL;
	}
	ps.e->root = parse_sum(&ps);
	if (ps.e->root) {
		skip(&ps);
		if (*ps.p == ')')
			perr(&ps, ps.p, "unmatched ')'");
		else if (*ps.p)
			perr(&ps, ps.p, "unexpected '%c' after the expression", *ps.p);
	}
	if (!ps.e->root || ps.err[0]) {
		math_free(ps.e);
		return -EINVAL;
	}
	*out = ps.e;
	return 0;
}

size_t math_refs(const struct math_expr *e, const struct math_ref **refs)
{
	*refs = e->refs;
	return e->nrefs;
}

/* ---- evaluation ---------------------------------------------------------------------- */

struct ev {
	const struct math_expr *e;
	const struct math_input *in;
	size_t nslots;
	int64_t step_ms;
	char *err;
	size_t errlen;
};

/* How many systems the across refs under n hold (0: none inside). */
static size_t across_count(const struct ev *ev, const struct node *n)
{
	if (!n)
		return 0;
	if (n->kind == N_REF)
		return ev->e->refs[n->ref].across ? ev->in[n->ref].nseries : 0;
	size_t a = across_count(ev, n->a), b = across_count(ev, n->b);
	return a > b ? a : b;
}

/* Evaluate n into out[nslots]; k: which system of the across refs;
 * *scalar: a number with no points of its own. */
static int eval(const struct ev *ev, const struct node *n, size_t k, double *out, bool *scalar)
{
	size_t ns = ev->nslots;
	*scalar = false;
	switch (n->kind) {
	case N_NUM:
		for (size_t i = 0; i < ns; i++)
			out[i] = n->num;
		*scalar = true;
		return 0;
	case N_REF: {
		const struct math_ref *r = &ev->e->refs[n->ref];
		const struct math_input *in = &ev->in[n->ref];
		if (!r->across && in->nseries > 1) {
			snprintf(
			    ev->err, ev->errlen,
			    "%s: %zu series where one was expected (reduce them with SUM, AVG, "
			    "MAX or MIN)",
			    r->metric, in->nseries);
			return -EINVAL;
		}
		size_t s = r->across ? k : 0;
		for (size_t i = 0; i < ns; i++)
			out[i] = s < in->nseries && in->series[s] ? in->series[s][i] : NAN;
		return 0;
	}
	case N_NEG: {
		int rc = eval(ev, n->a, k, out, scalar);
		for (size_t i = 0; rc == 0 && i < ns; i++)
			out[i] = -out[i];
		return rc;
	}
	case N_BIN: {
		bool sa = false, sb = false;
		double *b = malloc(ns * sizeof(double));
		if (!b)
			return -ENOMEM;
		int rc = eval(ev, n->a, k, out, &sa);
		if (rc == 0)
			rc = eval(ev, n->b, k, b, &sb);
		for (size_t i = 0; rc == 0 && i < ns; i++) {
			double x = out[i], y = b[i];
			if (isnan(x) && isnan(y)) {
				out[i] = NAN;
				continue;
			}
			if (isnan(x) || isnan(y)) {
				/* a missing side is 0 against a series' point; against a
				 * number there is no point at all */
				if ((isnan(x) && sb) || (isnan(y) && sa)) {
					out[i] = NAN;
					continue;
				}
				x = isnan(x) ? 0 : x;
				y = isnan(y) ? 0 : y;
			}
			double v;
			switch (n->op) {
			case '+':
				v = x + y;
				break;
			case '-':
				v = x - y;
				break;
			case '*':
				v = x * y;
				break;
			default:
				v = y == 0 ? NAN : x / y;
				break;
			}
			out[i] = isfinite(v) ? v : NAN;
		}
		*scalar = sa && sb;
		free(b);
		return rc;
	}
	case N_FUNC:
		break;
	}
	int rc = 0;
	bool sa = false;
	switch (n->fn) {
	case F_RATE: {
		rc = eval(ev, n->a, k, out, &sa);
		double prev = NAN;
		size_t prev_i = 0;
		for (size_t i = 0; rc == 0 && i < ns; i++) {
			double v = out[i];
			if (isnan(v))
				continue;
			out[i] = isnan(prev) || ev->step_ms <= 0
			             ? NAN
			             : (v - prev) /
			                   ((double)(i - prev_i) * (double)ev->step_ms / 1000.0);
			prev = v;
			prev_i = i;
		}
		return rc;
	}
	case F_FILL: {
		double *b = malloc(ns * sizeof(double));
		bool sb = false;
		if (!b)
			return -ENOMEM;
		rc = eval(ev, n->a, k, out, &sa);
		if (rc == 0)
			rc = eval(ev, n->b, k, b, &sb);
		for (size_t i = 0; rc == 0 && i < ns; i++)
			if (isnan(out[i]))
				out[i] = b[i];
		free(b);
		return rc;
	}
	case F_ABS:
		rc = eval(ev, n->a, k, out, scalar);
		for (size_t i = 0; rc == 0 && i < ns; i++)
			out[i] = fabs(out[i]);
		return rc;
	default:
		break;
	}
	/* SUM/AVG/MAX/MIN across the systems */
	size_t nsys = across_count(ev, n->a);
	double *part = malloc(ns * sizeof(double));
	size_t *cnt = calloc(ns ? ns : 1, sizeof(size_t));
	if (!part || !cnt) {
		free(part);
		free(cnt);
		return -ENOMEM;
	}
	for (size_t i = 0; i < ns; i++)
		out[i] = NAN;
	for (size_t s = 0; rc == 0 && s < nsys; s++) {
		rc = eval(ev, n->a, s, part, &sa);
		for (size_t i = 0; rc == 0 && i < ns; i++) {
			double v = part[i];
			if (isnan(v))
				continue;
			if (cnt[i]++ == 0)
				out[i] = v;
			else if (n->fn == F_MAX)
				out[i] = v > out[i] ? v : out[i];
			else if (n->fn == F_MIN)
				out[i] = v < out[i] ? v : out[i];
			else
				out[i] += v;
		}
	}
	for (size_t i = 0; rc == 0 && n->fn == F_AVG && i < ns; i++)
		if (cnt[i])
			out[i] /= (double)cnt[i];
	free(part);
	free(cnt);
	return rc;
}

int math_eval(const struct math_expr *e, const struct math_input *in, size_t nslots,
              int64_t step_ms, double *out, char *err, size_t errlen)
{
	char local[8];
	struct ev ev = {
	    e, in, nslots, step_ms, errlen ? err : local, errlen ? errlen : sizeof(local)};
	bool scalar;
	ev.err[0] = 0;
	if (nslots == 0)
		return 0;
	int rc = eval(&ev, e->root, 0, out, &scalar);
	if (rc == -ENOMEM)
		snprintf(ev.err, ev.errlen, "out of memory for %zu slots", nslots);
	return rc;
}
