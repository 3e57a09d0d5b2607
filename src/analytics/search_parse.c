/*
 * search_parse.c - the search language's parser (grammar in
 * search_parse.h, docs/search.md).  A recursive descent over a cursor into
 * the query; tokens are read in context (after an operator the value runs
 * to the next space or ')', so values may hold '=' or '/'), and every
 * error names the column where the bad token starts.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/buf.h"
#include "../util/regex_guard.h"
#include "../util/xalloc.h"
#include "search_parse.h"

struct parser {
	const char *text, *p;
	bool (*is_feature)(const char *word, void *ctx);
	void *ctx;
	struct sq_error *err;
	int nodes;
	bool failed;
};

static const char *const op_names[] = {
    [SQ_TEXT] = "text", [SQ_EQ] = "=",  [SQ_NE] = "!=", [SQ_MATCH] = "~", [SQ_NMATCH] = "!~",
    [SQ_LT] = "<",      [SQ_LE] = "<=", [SQ_GT] = ">",  [SQ_GE] = ">=",   [SQ_IN] = "in",
};

const char *sq_op_name(enum sq_op op)
{
	return op_names[op];
}

static int col_of(const struct parser *ps, const char *at)
{
	return (int)(at - ps->text) + 1;
}

__attribute__((format(printf, 3, 4))) static void *fail(struct parser *ps, const char *at,
                                                        const char *fmt, ...)
{
	if (ps->failed)
		return NULL;
	ps->failed = true;
	ps->err->col = col_of(ps, at);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ps->err->msg, sizeof(ps->err->msg), fmt, ap);
	va_end(ap);
	return NULL;
}

static void skip_ws(struct parser *ps)
{
	while (*ps->p && isspace((unsigned char)*ps->p))
		ps->p++;
}

static bool op_char(const char *p)
{
	return *p == '=' || *p == '~' || *p == '<' || *p == '>' ||
	       (*p == '!' && (p[1] == '=' || p[1] == '~'));
}

static bool word_char(const char *p)
{
	return *p && !isspace((unsigned char)*p) && *p != '(' && *p != ')' && *p != '"' &&
	       !op_char(p);
}

/* The word at p (its length), 0 when none starts there. */
static size_t word_len(const char *p)
{
	size_t n = 0;
	while (word_char(p + n))
		n++;
	return n;
}

static bool word_is(const char *p, size_t n, const char *kw)
{
	size_t k = strlen(kw);
	if (n != k)
		return false;
	for (size_t i = 0; i < n; i++)
		if (p[i] != kw[i] && p[i] != toupper((unsigned char)kw[i]))
			return false;
	/* all lower or all upper case: "and", "AND" */
	return memcmp(p, kw, n) == 0 || isupper((unsigned char)p[0]);
}

static bool keyword(const char *p, size_t n)
{
	return word_is(p, n, "and") || word_is(p, n, "or") || word_is(p, n, "not") ||
	       word_is(p, n, "has");
}

/* The operator at p (skipping spaces), its length in *len; -1 if none.
 * "in" counts only when a '(' follows it. */
static int op_at(const char *p, size_t *len)
{
	while (*p && isspace((unsigned char)*p))
		p++;
	const char *s = p;
	int op = -1;
	if (p[0] == '!' && p[1] == '=')
		op = SQ_NE, p += 2;
	else if (p[0] == '!' && p[1] == '~')
		op = SQ_NMATCH, p += 2;
	else if (p[0] == '<' && p[1] == '=')
		op = SQ_LE, p += 2;
	else if (p[0] == '>' && p[1] == '=')
		op = SQ_GE, p += 2;
	else if (p[0] == '<')
		op = SQ_LT, p++;
	else if (p[0] == '>')
		op = SQ_GT, p++;
	else if (p[0] == '=')
		op = SQ_EQ, p += p[1] == '=' ? 2 : 1;
	else if (p[0] == '~')
		op = SQ_MATCH, p++;
	else if ((p[0] == 'i' || p[0] == 'I') && (p[1] == 'n' || p[1] == 'N') &&
	         (isspace((unsigned char)p[2]) || p[2] == '(')) {
		const char *q = p + 2;
		while (*q && isspace((unsigned char)*q))
			q++;
		if (*q == '(')
			op = SQ_IN, p += 2;
	}
	if (op >= 0)
		*len = (size_t)(p - s) + (size_t)(s - s);
	return op;
}

/* A quoted string at ps->p ('"' first) into out; false after an error. */
static bool quoted(struct parser *ps, struct buf *out)
{
	const char *start = ps->p++;
	for (; *ps->p && *ps->p != '"'; ps->p++) {
		if (*ps->p == '\\' && (ps->p[1] == '"' || ps->p[1] == '\\'))
			ps->p++;
		buf_addc(out, *ps->p);
	}
	if (*ps->p != '"') {
		fail(ps, start, "unterminated quote: a '\"' opened here is never closed");
		return false;
	}
	ps->p++;
	buf_str(out);
	return true;
}

static bool value_end(char c, bool in_list)
{
	return !c || isspace((unsigned char)c) || c == ')' || (in_list && c == ',');
}

/* One value after an operator (or in a list) into out. */
static bool value(struct parser *ps, struct buf *out, bool in_list, const char *opat, enum sq_op op)
{
	skip_ws(ps);
	if (*ps->p == '"')
		return quoted(ps, out);
	const char *s = ps->p;
	if (op_char(s) || *s == '!')
		return fail(ps, s, "a value cannot start with '%c' (quote it: \"%c...\")", *s, *s),
		       false;
	while (!value_end(*ps->p, in_list))
		ps->p++;
	if (ps->p == s) {
		if (in_list)
			fail(ps, s, "expected a value in the list of 'in'");
		else
			fail(ps, *s ? s : opat, "expected a value after '%s'", sq_op_name(op));
		return false;
	}
	buf_add(out, s, (size_t)(ps->p - s));
	buf_str(out);
	return true;
}

static void cond_free(struct sq_cond *c)
{
	free(c->field);
	for (size_t i = 0; i < c->nvals; i++)
		free(c->vals[i]);
	free(c->vals);
	if (c->re) {
		regfree(c->re);
		free(c->re);
	}
}

void sq_free(struct sq_node *n)
{
	if (!n)
		return;
	sq_free(n->a);
	sq_free(n->b);
	for (size_t i = 0; i < n->nconds; i++)
		cond_free(&n->conds[i]);
	free(n->conds);
	free(n->feature);
	free(n);
}

static struct sq_node *node(struct parser *ps, enum sq_kind k, const char *at)
{
	if (++ps->nodes > SQ_MAX_NODES)
		return fail(ps, at, "the query is too long: more than %d terms", SQ_MAX_NODES);
	struct sq_node *n = xcalloc(1, sizeof(*n));
	n->kind = k;
	n->col = col_of(ps, at);
	return n;
}

static void add_val(struct sq_cond *c, const char *v)
{
	c->vals = xreallocarray(c->vals, c->nvals + 1, sizeof(*c->vals));
	c->vals[c->nvals++] = xstrdup(v);
}

/* A /regex/ or /regex/i value at ps->p, when it is one: the value (up
 * to the next space or ')') starts with '/' and ends with '/' or '/i'. */
static bool regex_value(struct parser *ps, struct sq_cond *c)
{
	const char *s = ps->p;
	if (*s != '/')
		return true;
	const char *t = s;
	while (!value_end(*t, false))
		t++;
	const char *e = NULL;
	if (t - s >= 3 && t[-1] == '/')
		e = t - 1;
	else if (t - s >= 4 && t[-1] == 'i' && t[-2] == '/')
		e = t - 2;
	if (!e)
		return true; /* a plain value that starts with '/' */
	bool icase = e[1] == 'i';
	char *pat = xstrndup(s + 1, (size_t)(e - s - 1));
	char why[128];
	if (regex_guard(pat, why, sizeof(why)) < 0) {
		free(pat);
		fail(ps, s, "bad regular expression: %s", why);
		return false;
	}
	c->re = xmalloc(sizeof(*c->re));
	int rc = regcomp(c->re, pat, REG_EXTENDED | REG_NOSUB | (icase ? REG_ICASE : 0));
	if (rc) {
		char m[120];
		regerror(rc, c->re, m, sizeof(m));
		free(c->re);
		c->re = NULL;
		free(pat);
		fail(ps, s, "bad regular expression: %s", m);
		return false;
	}
	add_val(c, pat);
	free(pat);
	ps->p = e + 1 + icase;
	return true;
}

static bool field_name_ok(const char *p, size_t n)
{
	if (!n || !isalnum((unsigned char)p[0]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)p[i]) && p[i] != '_' && p[i] != '.' && p[i] != '-')
			return false;
	return true;
}

/* FIELD OP value at ps->p (the field's word is n bytes). */
static bool condition(struct parser *ps, size_t n, struct sq_cond *c)
{
	const char *fs = ps->p;
	if (!field_name_ok(fs, n)) {
		fail(ps, fs,
		     "bad field name '%.*s' (letters, digits, '_', '-' and '.' for nested ones)",
		     (int)n, fs);
		return false;
	}
	c->field = xstrndup(fs, n);
	c->col = col_of(ps, fs);
	ps->p += n;
	size_t ol = 0;
	c->op = (enum sq_op)op_at(ps->p, &ol);
	skip_ws(ps);
	const char *opat = ps->p;
	ps->p += ol;
	struct buf v = BUF_INIT;
	bool ok = true;
	if (c->op == SQ_IN) {
		skip_ws(ps);
		const char *lp = ps->p++;
		for (;;) {
			buf_reset(&v);
			if (!value(ps, &v, true, opat, c->op)) {
				ok = false;
				break;
			}
			if (c->nvals >= SQ_MAX_VALUES) {
				fail(ps, lp, "more than %d values in one 'in' list", SQ_MAX_VALUES);
				ok = false;
				break;
			}
			add_val(c, buf_str(&v));
			skip_ws(ps);
			if (*ps->p == ',') {
				ps->p++;
				continue;
			}
			if (*ps->p == ')') {
				ps->p++;
				break;
			}
			fail(ps, *ps->p ? ps->p : lp,
			     *ps->p ? "expected ',' or ')' in the list of 'in'"
			            : "the list of 'in' opened here is never closed");
			ok = false;
			break;
		}
	} else {
		skip_ws(ps);
		if ((c->op == SQ_MATCH || c->op == SQ_NMATCH) && *ps->p == '/') {
			ok = regex_value(ps, c);
			if (ok && c->re) {
				buf_free(&v);
				return true;
			}
		}
		if (ok && value(ps, &v, false, opat, c->op))
			add_val(c, buf_str(&v));
		else
			ok = false;
	}
	buf_free(&v);
	if (ok && c->nvals == 1) {
		char *end;
		errno = 0;
		double d = strtod(c->vals[0], &end);
		if (end != c->vals[0] && !*end && errno == 0) {
			c->num = true;
			c->n = d;
		}
	}
	return ok;
}

/* Does a condition or a text word start at ps->p (not a keyword, not a
 * new selector's feature)? */
static bool cond_starts(struct parser *ps)
{
	skip_ws(ps);
	if (*ps->p == '"')
		return true;
	size_t n = word_len(ps->p);
	if (!n)
		return false;
	size_t ol;
	if (op_at(ps->p + n, &ol) >= 0)
		return true;
	if (keyword(ps->p, n))
		return false;
	char w[64];
	if (n < sizeof(w)) {
		memcpy(w, ps->p, n);
		w[n] = 0;
		if (ps->is_feature(w, ps->ctx))
			return false;
	}
	return true;
}

static struct sq_node *selector(struct parser *ps)
{
	skip_ws(ps);
	const char *s = ps->p;
	struct sq_node *n = node(ps, SQ_SEL, s);
	if (!n)
		return NULL;
	size_t wl = word_len(s), ol;
	if (wl && wl < 64 && op_at(s + wl, &ol) < 0 && !keyword(s, wl)) {
		char w[64];
		memcpy(w, s, wl);
		w[wl] = 0;
		if (ps->is_feature(w, ps->ctx)) {
			n->feature = xstrdup(w);
			ps->p += wl;
		}
	}
	while (!ps->failed && cond_starts(ps)) {
		n->conds = xreallocarray(n->conds, n->nconds + 1, sizeof(*n->conds));
		struct sq_cond *c = &n->conds[n->nconds++];
		memset(c, 0, sizeof(*c));
		c->col = col_of(ps, ps->p);
		struct buf w = BUF_INIT;
		size_t l = word_len(ps->p);
		if (*ps->p == '"' || op_at(ps->p + l, &ol) < 0) {
			c->op = SQ_TEXT;
			if (*ps->p == '"') {
				if (!quoted(ps, &w)) {
					buf_free(&w);
					break;
				}
			} else {
				buf_add(&w, ps->p, l);
				ps->p += l;
			}
			for (size_t i = 0; i < w.len; i++)
				w.data[i] = (char)tolower((unsigned char)w.data[i]);
			add_val(c, buf_str(&w));
			if (!w.len)
				fail(ps, s, "empty quoted text");
		} else {
			condition(ps, l, c);
		}
		buf_free(&w);
	}
	if (ps->failed) {
		sq_free(n);
		return NULL;
	}
	if (!n->feature && !n->nconds) {
		sq_free(n);
		skip_ws(ps);
		if (!*ps->p)
			return fail(ps, ps->p, "the query ends where a term was expected");
		if (*ps->p == ')')
			return fail(ps, ps->p, "unexpected ')' where a term was expected");
		if (op_char(ps->p))
			return fail(
			    ps, ps->p,
			    "unexpected '%.*s': a condition is FIELD%.*sVALUE, the field is "
			    "missing",
			    ps->p[1] == '=' || ps->p[1] == '~' ? 2 : 1, ps->p,
			    ps->p[1] == '=' || ps->p[1] == '~' ? 2 : 1, ps->p);
		size_t kl = word_len(ps->p);
		return fail(ps, ps->p, "unexpected '%.*s' where a term was expected", (int)kl,
		            ps->p);
	}
	return n;
}

static struct sq_node *parse_or(struct parser *ps, int depth);

static struct sq_node *unary(struct parser *ps, int depth)
{
	skip_ws(ps);
	const char *s = ps->p;
	if (depth > SQ_MAX_DEPTH)
		return fail(ps, s, "the query nests deeper than %d", SQ_MAX_DEPTH);
	size_t wl = word_len(s), ol;
	bool opnext = wl && op_at(s + wl, &ol) >= 0;
	if (!opnext && word_is(s, wl, "not")) {
		ps->p += wl;
		struct sq_node *n = node(ps, SQ_NOT, s);
		if (!n)
			return NULL;
		n->a = unary(ps, depth + 1);
		if (!n->a) {
			sq_free(n);
			return NULL;
		}
		return n;
	}
	if (!opnext && word_is(s, wl, "has")) {
		ps->p += wl;
		skip_ws(ps);
		if (*ps->p == '(' || !*ps->p || *ps->p == ')')
			return fail(ps, *ps->p ? ps->p : s,
			            "'has' is followed by a feature and conditions: has package "
			            "name=openssl");
		return selector(ps);
	}
	if (*s == '(') {
		ps->p++;
		struct sq_node *n = parse_or(ps, depth + 1);
		if (!n)
			return NULL;
		skip_ws(ps);
		if (*ps->p != ')') {
			sq_free(n);
			return fail(ps, *ps->p ? ps->p : s,
			            *ps->p ? "expected ')' (or 'and', 'or')"
			                   : "the '(' opened here is never closed");
		}
		ps->p++;
		return n;
	}
	return selector(ps);
}

static struct sq_node *parse_and(struct parser *ps, int depth)
{
	struct sq_node *l = unary(ps, depth);
	while (l) {
		skip_ws(ps);
		const char *s = ps->p;
		size_t wl = word_len(s), ol;
		bool opnext = wl && op_at(s + wl, &ol) >= 0;
		if (!*s || *s == ')' || (!opnext && word_is(s, wl, "or")))
			break;
		if (!opnext && word_is(s, wl, "and")) {
			ps->p += wl;
			skip_ws(ps);
			if (!*ps->p || *ps->p == ')' ||
			    (word_is(ps->p, word_len(ps->p), "or") ||
			     word_is(ps->p, word_len(ps->p), "and"))) {
				sq_free(l);
				return fail(ps, s, "'and' needs a term on its right");
			}
		}
		struct sq_node *n = node(ps, SQ_AND, s);
		if (!n) {
			sq_free(l);
			return NULL;
		}
		n->a = l;
		n->b = unary(ps, depth + 1);
		if (!n->b) {
			sq_free(n);
			return NULL;
		}
		l = n;
	}
	return l;
}

static struct sq_node *parse_or(struct parser *ps, int depth)
{
	struct sq_node *l = parse_and(ps, depth);
	while (l) {
		skip_ws(ps);
		const char *s = ps->p;
		size_t wl = word_len(s), ol;
		if (!(wl && op_at(s + wl, &ol) < 0 && word_is(s, wl, "or")))
			break;
		ps->p += wl;
		skip_ws(ps);
		if (!*ps->p || *ps->p == ')') {
			sq_free(l);
			return fail(ps, s, "'or' needs a term on its right");
		}
		struct sq_node *n = node(ps, SQ_OR, s);
		if (!n) {
			sq_free(l);
			return NULL;
		}
		n->a = l;
		n->b = parse_and(ps, depth + 1);
		if (!n->b) {
			sq_free(n);
			return NULL;
		}
		l = n;
	}
	return l;
}

struct sq_node *sq_parse(const char *text, bool (*is_feature)(const char *word, void *ctx),
                         void *ctx, struct sq_error *err)
{
	struct parser ps = {
	    .text = text, .p = text, .is_feature = is_feature, .ctx = ctx, .err = err};
	memset(err, 0, sizeof(*err));
	size_t len = strlen(text);
	if (len > SQ_MAX_TEXT) {
		fail(&ps, text + SQ_MAX_TEXT, "the query is longer than %d bytes", SQ_MAX_TEXT);
		return NULL;
	}
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)text[i] < 0x20 && !isspace((unsigned char)text[i])) {
			fail(&ps, text + i, "a control character (0x%02x) in the query",
			     (unsigned char)text[i]);
			return NULL;
		}
	skip_ws(&ps);
	if (!*ps.p) {
		fail(&ps, ps.p, "the query is empty");
		return NULL;
	}
	struct sq_node *n = parse_or(&ps, 0);
	if (n) {
		skip_ws(&ps);
		if (*ps.p) {
			sq_free(n);
			return fail(&ps, ps.p,
			            *ps.p == ')' ? "unexpected ')': no '(' is open"
			                         : "unexpected '%c'",
			            *ps.p);
		}
	}
	return n;
}

void sq_error_show(const char *text, const struct sq_error *err, struct buf *out)
{
	buf_printf(out, "  %s\n  ", text);
	for (int i = 1; i < err->col; i++)
		buf_addc(out, text[i - 1] == '\t' ? '\t' : ' ');
	buf_add(out, "^\n", 2);
}
