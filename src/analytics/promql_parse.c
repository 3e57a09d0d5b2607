/*
 * promql_parse.c - PromQL text into the tree of promql.h: a lexer over the
 * text and a precedence-climbing parser, with Prometheus's type checks
 * (a function of a range vector, an aggregation of an instant vector...).
 *
 * What Vantage does not evaluate is recognised (every PromQL operator,
 * function, aggregation and modifier) and refused naming it, so a user
 * reads "the function histogram_quantile is not supported" rather than a
 * syntax error.  Limits: PQ_MAX_TEXT bytes, PQ_MAX_DEPTH nesting.  The
 * tree owns its strings and compiled regexes (pq_free).
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../util/buf.h"
#include "../util/regex_guard.h"
#include "../util/timefmt.h"
#include "../util/util.h"
#include "../util/xalloc.h"
#include "promql.h"

#define SUPPORTED_FUNCS                                                                            \
	"rate, irate, increase, avg_over_time, min_over_time, max_over_time, sum_over_time, "      \
	"count_over_time, last_over_time"

static const char *const func_names[] = {
    [PQ_RATE] = "rate",
    [PQ_IRATE] = "irate",
    [PQ_INCREASE] = "increase",
    [PQ_AVG_OT] = "avg_over_time",
    [PQ_MIN_OT] = "min_over_time",
    [PQ_MAX_OT] = "max_over_time",
    [PQ_SUM_OT] = "sum_over_time",
    [PQ_COUNT_OT] = "count_over_time",
    [PQ_LAST_OT] = "last_over_time",
};
static const char *const agg_names[] = {
    [PQ_SUM] = "sum", [PQ_AVG] = "avg", [PQ_MIN] = "min", [PQ_MAX] = "max", [PQ_COUNT] = "count",
};

/* PromQL's other functions and aggregations: named when refused. */
static const char *const other_funcs[] = {"abs",
                                          "absent",
                                          "absent_over_time",
                                          "acos",
                                          "acosh",
                                          "asin",
                                          "asinh",
                                          "atan",
                                          "atanh",
                                          "ceil",
                                          "changes",
                                          "clamp",
                                          "clamp_max",
                                          "clamp_min",
                                          "cos",
                                          "cosh",
                                          "day_of_month",
                                          "day_of_week",
                                          "day_of_year",
                                          "days_in_month",
                                          "deg",
                                          "delta",
                                          "deriv",
                                          "exp",
                                          "floor",
                                          "histogram_avg",
                                          "histogram_count",
                                          "histogram_fraction",
                                          "histogram_quantile",
                                          "histogram_stddev",
                                          "histogram_stdvar",
                                          "histogram_sum",
                                          "holt_winters",
                                          "hour",
                                          "idelta",
                                          "label_join",
                                          "label_replace",
                                          "ln",
                                          "log10",
                                          "log2",
                                          "mad_over_time",
                                          "minute",
                                          "month",
                                          "pi",
                                          "predict_linear",
                                          "present_over_time",
                                          "quantile_over_time",
                                          "rad",
                                          "resets",
                                          "round",
                                          "scalar",
                                          "sgn",
                                          "sin",
                                          "sinh",
                                          "sort",
                                          "sort_by_label",
                                          "sort_by_label_desc",
                                          "sort_desc",
                                          "sqrt",
                                          "stddev_over_time",
                                          "stdvar_over_time",
                                          "tan",
                                          "tanh",
                                          "time",
                                          "timestamp",
                                          "vector",
                                          "year",
                                          "double_exponential_smoothing"};
static const char *const other_aggs[] = {"stddev",  "stdvar",   "topk",
                                         "bottomk", "quantile", "count_values",
                                         "group",   "limitk",   "limit_ratio"};

const char *pq_func_name(enum pq_func f)
{
	return func_names[f];
}

const char *pq_agg_name(enum pq_agg a)
{
	return agg_names[a];
}

/* ---- the lexer -------------------------------------------------------------------- */

enum tok { T_EOF, T_NUM, T_IDENT, T_STR, T_LP, T_RP, T_LB, T_RB, T_LS, T_RS, T_COMMA, T_OP, T_AT };

struct parser {
	const char *s;
	size_t pos;      /* after the current token */
	size_t tpos;     /* where the current token starts */
	enum tok tok;    /* the current token */
	char op[4];      /* T_OP: the operator text */
	double num;      /* T_NUM */
	struct buf text; /* T_IDENT, T_STR: the (unquoted) text */
	char *err;
	size_t cap;
	bool *unsupported;
	bool failed;
	int depth;
};

static void fail(struct parser *p, size_t at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail(struct parser *p, size_t at, const char *fmt, ...)
{
	if (p->failed)
		return;
	p->failed = true;
	int n = snprintf(p->err, p->cap, "parse error at char %zu: ", at + 1);
	va_list ap;
	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < p->cap)
		vsnprintf(p->err + n, p->cap - (size_t)n, fmt, ap);
	va_end(ap);
}

/* Refuse what PromQL has and Vantage does not evaluate. */
static void unsupported(struct parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void unsupported(struct parser *p, const char *fmt, ...)
{
	if (p->failed)
		return;
	p->failed = true;
	*p->unsupported = true;
	int n = snprintf(p->err, p->cap, "unsupported by Vantage's PromQL: ");
	va_list ap;
	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < p->cap)
		n += vsnprintf(p->err + n, p->cap - (size_t)n, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < p->cap)
		snprintf(p->err + n, p->cap - (size_t)n, " (docs/grafana.md lists what is)");
}

static bool ident_start(char c)
{
	return isalpha((unsigned char)c) || c == '_' || c == ':';
}

static bool ident_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == ':';
}

/* Append code point cp as UTF-8. */
static void put_utf8(struct buf *b, unsigned long cp)
{
	if (cp < 0x80) {
		buf_addc(b, (char)cp);
	} else if (cp < 0x800) {
		buf_addc(b, (char)(0xc0 | (cp >> 6)));
		buf_addc(b, (char)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		buf_addc(b, (char)(0xe0 | (cp >> 12)));
		buf_addc(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
		buf_addc(b, (char)(0x80 | (cp & 0x3f)));
	} else {
		buf_addc(b, (char)(0xf0 | (cp >> 18)));
		buf_addc(b, (char)(0x80 | ((cp >> 12) & 0x3f)));
		buf_addc(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
		buf_addc(b, (char)(0x80 | (cp & 0x3f)));
	}
}

/* A quoted string at p->pos (Go's escapes in "..." and '...', none in
 * `...`) into p->text. */
static void lex_string(struct parser *p)
{
	char q = p->s[p->pos++];
	buf_reset(&p->text);
	buf_adds(&p->text, "");
	for (;;) {
		char c = p->s[p->pos];
		if (!c || (c == '\n' && q != '`')) {
			fail(p, p->tpos, "unterminated quoted string");
			return;
		}
		p->pos++;
		if (c == q)
			return;
		if (c != '\\' || q == '`') {
			buf_addc(&p->text, c);
			continue;
		}
		c = p->s[p->pos++];
		static const char esc[] = "a\ab\bf\fn\nr\rt\tv\v\\\\''\"\"";
		const char *e = c ? strchr(esc, c) : NULL;
		if (e && (e - esc) % 2 == 0) {
			buf_addc(&p->text, e[1]);
			continue;
		}
		int digits = c == 'x' ? 2 : c == 'u' ? 4 : c == 'U' ? 8 : 0;
		int base = 16;
		if (c >= '0' && c <= '7') {
			digits = 3, base = 8;
			p->pos--;
		}
		unsigned long cp = 0;
		for (int i = 0; i < digits; i++) {
			char d = p->s[p->pos];
			int v = isdigit((unsigned char)d)    ? d - '0'
			        : isxdigit((unsigned char)d) ? tolower((unsigned char)d) - 'a' + 10
			                                     : 99;
			if (v >= base) {
				digits = 0;
				break;
			}
			cp = cp * (unsigned long)base + (unsigned long)v;
			p->pos++;
		}
		if (!digits || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
			fail(p, p->pos - 1, "unknown escape sequence in a quoted string");
			return;
		}
		if (c == 'x' || base == 8)
			buf_addc(&p->text, (char)cp);
		else
			put_utf8(&p->text, cp);
	}
}

static void next(struct parser *p)
{
	if (p->failed) {
		p->tok = T_EOF;
		return;
	}
	while (isspace((unsigned char)p->s[p->pos]))
		p->pos++;
	if (p->s[p->pos] == '#') { /* a comment to the end of the line */
		while (p->s[p->pos] && p->s[p->pos] != '\n')
			p->pos++;
		next(p);
		return;
	}
	p->tpos = p->pos;
	const char *c = p->s + p->pos;
	if (!*c) {
		p->tok = T_EOF;
		return;
	}
	static const char single[] = "(){}[],@";
	static const enum tok single_tok[] = {T_LP, T_RP, T_LB, T_RB, T_LS, T_RS, T_COMMA, T_AT};
	const char *sp = strchr(single, *c);
	if (sp) {
		p->tok = single_tok[sp - single];
		p->pos++;
		return;
	}
	if (*c == '"' || *c == '\'' || *c == '`') {
		p->tok = T_STR;
		lex_string(p);
		return;
	}
	if (isdigit((unsigned char)*c) || (*c == '.' && isdigit((unsigned char)c[1]))) {
		char *end;
		p->num = strtod(c, &end);
		/* strtod also reads "1e", "0x1p3", "infinity": only what PromQL
		 * calls a number, then no letter right after it */
		if (end == c || ident_char(*end)) {
			fail(p, p->tpos, "bad number or duration '%.*s'",
			     (int)strcspn(c, " ()[]{},+-*/"), c);
			p->tok = T_EOF;
			return;
		}
		p->pos += (size_t)(end - c);
		p->tok = T_NUM;
		return;
	}
	if (ident_start(*c)) {
		size_t n = 1;
		while (ident_char(c[n]))
			n++;
		buf_reset(&p->text);
		buf_add(&p->text, c, n);
		p->pos += n;
		p->tok = T_IDENT;
		return;
	}
	static const char *const ops[] = {"==", "!=", "<=", ">=", "=~", "!~", "+", "-",
	                                  "*",  "/",  "%",  "^",  "<",  ">",  "=", ":"};
	for (size_t i = 0; i < ARRAY_SIZE(ops); i++) {
		size_t n = strlen(ops[i]);
		if (strncmp(c, ops[i], n) == 0) {
			copy_str(p->op, sizeof(p->op), ops[i], n);
			p->pos += n;
			p->tok = T_OP;
			return;
		}
	}
	fail(p, p->tpos, "unexpected character '%c'", *c);
	p->tok = T_EOF;
}

static bool is_op(const struct parser *p, const char *op)
{
	return p->tok == T_OP && strcmp(p->op, op) == 0;
}

static bool is_ident(const struct parser *p, const char *word)
{
	return p->tok == T_IDENT && strcmp(p->text.data, word) == 0;
}

static const char *tok_text(const struct parser *p)
{
	static const char *const names[] = {[T_EOF] = "end of input",
	                                    [T_NUM] = "number",
	                                    [T_IDENT] = "identifier",
	                                    [T_STR] = "string",
	                                    [T_LP] = "'('",
	                                    [T_RP] = "')'",
	                                    [T_LB] = "'{'",
	                                    [T_RB] = "'}'",
	                                    [T_LS] = "'['",
	                                    [T_RS] = "']'",
	                                    [T_COMMA] = "','",
	                                    [T_OP] = "operator",
	                                    [T_AT] = "'@'"};
	return names[p->tok];
}

static bool expect(struct parser *p, enum tok t, const char *what)
{
	if (p->tok != t) {
		fail(p, p->tpos, "unexpected %s, expected %s", tok_text(p), what);
		return false;
	}
	next(p);
	return true;
}

/*
 * A duration at p->pos, read from the text directly (it would lex as a
 * number and a name): [0-9]+ units (ms s m h d w y), several in order
 * ("1h30m").  Sets *ms; the lexer goes on after it.
 */
static bool duration(struct parser *p, int64_t *ms)
{
	static const struct {
		const char *u;
		int64_t ms;
	} units[] = {{"y", 365LL * 86400000},
	             {"w", 7LL * 86400000},
	             {"d", 86400000},
	             {"h", 3600000},
	             {"m", 60000},
	             {"s", 1000},
	             {"ms", 1}};
	while (isspace((unsigned char)p->s[p->pos]))
		p->pos++;
	size_t at = p->pos;
	const char *c = p->s + p->pos;
	int64_t total = 0;
	size_t last = 0; /* units come largest first */
	bool any = false;
	while (isdigit((unsigned char)*c)) {
		int64_t n = 0;
		while (isdigit((unsigned char)*c)) {
			if (n > TIME_MAX_MS)
				break;
			n = n * 10 + (*c++ - '0');
		}
		size_t u;
		for (u = ARRAY_SIZE(units); u-- > 0;) {
			size_t l = strlen(units[u].u);
			if (strncmp(c, units[u].u, l) == 0 && !isalpha((unsigned char)c[l]))
				break;
		}
		if (u >= ARRAY_SIZE(units) || (any && u <= last) || n > TIME_MAX_MS) {
			fail(p, at,
			     "bad duration '%.*s' (a number and a unit: ms, s, m, h, d, w, y)",
			     (int)strcspn(p->s + at, " ])"), p->s + at);
			return false;
		}
		c += strlen(units[u].u);
		/* checked before the product, which would overflow (777777777y) */
		if (n > (TIME_MAX_MS - total) / units[u].ms) {
			fail(p, at, "duration too long");
			return false;
		}
		total += n * units[u].ms;
		last = u;
		any = true;
	}
	if (!any) {
		fail(p, at, "expected a duration (5m, 1h30m)");
		return false;
	}
	p->pos = (size_t)(c - p->s);
	*ms = total;
	next(p);
	return true;
}

/* ---- the tree --------------------------------------------------------------------- */

static struct pq_node *node(enum pq_kind k)
{
	struct pq_node *n = xcalloc(1, sizeof(*n));
	n->kind = k;
	return n;
}

void pq_free(struct pq_node *n)
{
	if (!n)
		return;
	for (int i = 0; i < n->nm; i++) {
		free(n->m[i].name);
		free(n->m[i].value);
		if (n->m[i].op == PQ_M_RE || n->m[i].op == PQ_M_NRE)
			regfree(&n->m[i].re);
	}
	free(n->m);
	for (int i = 0; i < n->nlabels; i++)
		free(n->labels[i]);
	free(n->labels);
	pq_free(n->a);
	pq_free(n->b);
	free(n);
}

enum pq_type pq_type(const struct pq_node *n)
{
	switch (n->kind) {
	case PQ_NUM:
		return PQ_SCALAR;
	case PQ_SEL:
		return n->range_ms ? PQ_MATRIX : PQ_VECTOR;
	case PQ_NEG:
		return pq_type(n->a);
	case PQ_BIN:
		return pq_type(n->a) == PQ_SCALAR && pq_type(n->b) == PQ_SCALAR ? PQ_SCALAR
		                                                                : PQ_VECTOR;
	default:
		return PQ_VECTOR;
	}
}

static const char *type_name(enum pq_type t)
{
	return t == PQ_SCALAR ? "scalar" : t == PQ_VECTOR ? "instant vector" : "range vector";
}

/*
 * The regex of a =~ or !~ matcher, anchored as Prometheus anchors it
 * (^(?:re)$), in POSIX extended syntax: RE2's \d and \D become classes
 * and a leading (?i) makes it case-insensitive.
 */
static bool compile_re(struct parser *p, struct pq_matcher *m, size_t at)
{
	struct buf b = BUF_INIT;
	const char *s = m->value;
	int flags = REG_EXTENDED | REG_NOSUB;
	if (strncmp(s, "(?i)", 4) == 0) {
		flags |= REG_ICASE;
		s += 4;
	}
	char why[128];
	if (regex_guard(s, why, sizeof(why)) < 0) {
		buf_free(&b);
		fail(p, at, "invalid regular expression '%s': %s", m->value, why);
		return false;
	}
	buf_adds(&b, "^(");
	for (; *s; s++) {
		if (s[0] == '\\' && (s[1] == 'd' || s[1] == 'D')) {
			buf_adds(&b, s[1] == 'd' ? "[0-9]" : "[^0-9]");
			s++;
		} else if (s[0] == '\\' && s[1]) {
			buf_add(&b, s, 2);
			s++;
		} else {
			buf_addc(&b, *s);
		}
	}
	buf_adds(&b, ")$");
	int rc = regcomp(&m->re, b.data, flags);
	buf_free(&b);
	if (rc != 0) {
		char e[128];
		regerror(rc, &m->re, e, sizeof(e));
		fail(p, at, "invalid regular expression '%s': %s", m->value, e);
		return false;
	}
	return true;
}

static bool matches_empty(const struct pq_matcher *m)
{
	switch (m->op) {
	case PQ_M_EQ:
		return !*m->value;
	case PQ_M_NE:
		return *m->value != 0;
	case PQ_M_RE:
		return regexec(&m->re, "", 0, NULL, 0) == 0;
	default:
		return regexec(&m->re, "", 0, NULL, 0) != 0;
	}
}

static void add_matcher(struct pq_node *n, const char *name, const char *value, enum pq_mop op)
{
	n->m = xreallocarray(n->m, (size_t)n->nm + 1, sizeof(*n->m));
	struct pq_matcher *m = &n->m[n->nm++];
	memset(m, 0, sizeof(*m));
	m->name = xstrdup(name);
	m->value = xstrdup(value);
	m->op = op;
}

/* {label OP "value", ...} after an optional name; p at '{'. */
static bool matchers(struct parser *p, struct pq_node *n)
{
	next(p);
	while (p->tok != T_RB) {
		if (p->tok != T_IDENT) {
			fail(p, p->tpos, "unexpected %s in a label matcher, expected a label name",
			     tok_text(p));
			return false;
		}
		char *name = xstrdup(p->text.data);
		size_t at = p->tpos;
		next(p);
		enum pq_mop op;
		if (is_op(p, "="))
			op = PQ_M_EQ;
		else if (is_op(p, "!="))
			op = PQ_M_NE;
		else if (is_op(p, "=~"))
			op = PQ_M_RE;
		else if (is_op(p, "!~"))
			op = PQ_M_NRE;
		else {
			fail(p, p->tpos, "unexpected %s in a label matcher, expected = != =~ !~",
			     tok_text(p));
			free(name);
			return false;
		}
		next(p);
		if (p->tok != T_STR) {
			fail(p, p->tpos,
			     "unexpected %s in a label matcher, expected a quoted string",
			     tok_text(p));
			free(name);
			return false;
		}
		add_matcher(n, name, p->text.data, op);
		free(name);
		if ((op == PQ_M_RE || op == PQ_M_NRE) && !compile_re(p, &n->m[n->nm - 1], at)) {
			n->m[n->nm - 1].op = PQ_M_EQ; /* nothing compiled to free */
			return false;
		}
		next(p);
		if (p->tok == T_COMMA)
			next(p);
		else if (p->tok != T_RB) {
			fail(p, p->tpos, "unexpected %s in a label matcher, expected ',' or '}'",
			     tok_text(p));
			return false;
		}
	}
	next(p);
	return true;
}

/* A selector: p at the name (name given) or at '{'. */
static struct pq_node *selector(struct parser *p, const char *name)
{
	struct pq_node *n = node(PQ_SEL);
	size_t at = p->tpos;
	if (name)
		add_matcher(n, "__name__", name, PQ_M_EQ);
	if (p->tok == T_LB && !matchers(p, n)) {
		pq_free(n);
		return NULL;
	}
	int names = 0;
	bool nonempty = false;
	for (int i = 0; i < n->nm; i++) {
		names += strcmp(n->m[i].name, "__name__") == 0;
		nonempty |= !matches_empty(&n->m[i]);
	}
	if (name && names > 1) {
		fail(p, at, "metric name must not be set twice: '%s' and in {...}", name);
	} else if (!nonempty) {
		fail(p, at,
		     "a vector selector must contain at least one matcher that does not match the "
		     "empty string");
	}
	if (p->failed) {
		pq_free(n);
		return NULL;
	}
	return n;
}

/* "(a, b, ...)" after by / without / on / ignoring. */
static bool label_list(struct parser *p, struct pq_node *n)
{
	if (!expect(p, T_LP, "'(' and label names"))
		return false;
	while (p->tok != T_RP) {
		if (p->tok != T_IDENT) {
			fail(p, p->tpos, "unexpected %s in a label list, expected a label name",
			     tok_text(p));
			return false;
		}
		n->labels = xreallocarray(n->labels, (size_t)n->nlabels + 1, sizeof(char *));
		n->labels[n->nlabels++] = xstrdup(p->text.data);
		next(p);
		if (p->tok == T_COMMA)
			next(p);
		else if (p->tok != T_RP) {
			fail(p, p->tpos, "unexpected %s in a label list, expected ',' or ')'",
			     tok_text(p));
			return false;
		}
	}
	next(p);
	return true;
}

static struct pq_node *expr(struct parser *p, int min_prec);

/* by (...) / without (...) of an aggregation, if there. */
static bool grouping(struct parser *p, struct pq_node *n, bool *seen)
{
	if (!is_ident(p, "by") && !is_ident(p, "without"))
		return true;
	if (*seen) {
		fail(p, p->tpos, "by/without given twice");
		return false;
	}
	*seen = true;
	n->without = is_ident(p, "without");
	next(p);
	return label_list(p, n);
}

static struct pq_node *aggregation(struct parser *p, enum pq_agg a)
{
	struct pq_node *n = node(PQ_AGG);
	n->agg = a;
	bool seen = false;
	next(p);
	if (!grouping(p, n, &seen) || !expect(p, T_LP, "'(' after the aggregation"))
		goto bad;
	n->a = expr(p, 0);
	if (!n->a)
		goto bad;
	if (p->tok == T_COMMA) {
		fail(p, p->tpos, "%s takes one argument", agg_names[a]);
		goto bad;
	}
	if (!expect(p, T_RP, "')'") || !grouping(p, n, &seen))
		goto bad;
	if (pq_type(n->a) != PQ_VECTOR) {
		fail(p, p->tpos, "expected type instant vector in aggregation expression, got %s",
		     type_name(pq_type(n->a)));
		goto bad;
	}
	return n;
bad:
	pq_free(n);
	return NULL;
}

static struct pq_node *call(struct parser *p, enum pq_func f, size_t at)
{
	struct pq_node *n = node(PQ_CALL);
	n->func = f;
	next(p); /* '(' */
	n->a = expr(p, 0);
	if (!n->a)
		goto bad;
	if (p->tok == T_COMMA) {
		fail(p, p->tpos, "%s takes one argument", func_names[f]);
		goto bad;
	}
	if (!expect(p, T_RP, "')'"))
		goto bad;
	if (pq_type(n->a) != PQ_MATRIX) {
		fail(p, at, "expected type range vector in call to function \"%s\", got %s",
		     func_names[f], type_name(pq_type(n->a)));
		goto bad;
	}
	return n;
bad:
	pq_free(n);
	return NULL;
}

/* An identifier at the start of an operand. */
static struct pq_node *ident(struct parser *p)
{
	char *name = xstrdup(p->text.data);
	size_t at = p->tpos;
	struct pq_node *n = NULL;
	next(p);
	bool paren = p->tok == T_LP;
	bool grouped = is_ident(p, "by") || is_ident(p, "without");
	for (size_t i = 0; i < ARRAY_SIZE(agg_names) && (paren || grouped); i++)
		if (strcmp(name, agg_names[i]) == 0) {
			p->pos = p->tpos; /* back to the token after the name */
			p->tok = T_IDENT;
			n = aggregation(p, (enum pq_agg)i);
			goto out;
		}
	for (size_t i = 0; i < ARRAY_SIZE(other_aggs) && (paren || grouped); i++)
		if (strcmp(name, other_aggs[i]) == 0) {
			unsupported(p, "the aggregation %s (supported: sum, avg, min, max, count)",
			            name);
			goto out;
		}
	if (paren) {
		for (size_t i = 0; i < ARRAY_SIZE(func_names); i++)
			if (strcmp(name, func_names[i]) == 0) {
				n = call(p, (enum pq_func)i, at);
				goto out;
			}
		for (size_t i = 0; i < ARRAY_SIZE(other_funcs); i++)
			if (strcmp(name, other_funcs[i]) == 0) {
				unsupported(p, "the function %s (supported: " SUPPORTED_FUNCS ")",
				            name);
				goto out;
			}
		fail(p, at, "unknown function with name \"%s\"", name);
		goto out;
	}
	if (strcasecmp(name, "inf") == 0 || strcasecmp(name, "nan") == 0) {
		n = node(PQ_NUM);
		n->num = strcasecmp(name, "inf") == 0 ? INFINITY : NAN;
		goto out;
	}
	static const char *const keywords[] = {"by",   "without",    "on",          "ignoring",
	                                       "bool", "group_left", "group_right", "offset",
	                                       "and",  "or",         "unless",      "atan2"};
	for (size_t i = 0; i < ARRAY_SIZE(keywords); i++)
		if (strcmp(name, keywords[i]) == 0) {
			fail(p, at, "unexpected keyword '%s'", name);
			goto out;
		}
	n = selector(p, name);
out:
	free(name);
	return n;
}

/* Range, offset and @ after an operand. */
static struct pq_node *postfix(struct parser *p, struct pq_node *n)
{
	if (p->tok == T_LS) {
		size_t at = p->tpos;
		if (n->kind != PQ_SEL || n->range_ms) {
			unsupported(p, "subqueries (expr[range:step])");
			goto bad;
		}
		p->pos = p->tpos + 1;
		if (!duration(p, &n->range_ms))
			goto bad;
		if (is_op(p, ":") || (p->tok == T_IDENT && p->text.data[0] == ':')) {
			unsupported(p, "subqueries (expr[range:step])");
			goto bad;
		}
		if (!expect(p, T_RS, "']'"))
			goto bad;
		if (n->range_ms <= 0) {
			fail(p, at, "a range must be more than 0");
			goto bad;
		}
	}
	if (is_ident(p, "offset")) {
		if (n->kind != PQ_SEL) {
			fail(p, p->tpos, "offset modifier must be preceded by a selector");
			goto bad;
		}
		size_t save = p->pos;
		while (isspace((unsigned char)p->s[p->pos]))
			p->pos++;
		bool neg = p->s[p->pos] == '-';
		if (!neg)
			p->pos = save;
		else
			p->pos++;
		if (!duration(p, &n->offset_ms))
			goto bad;
		if (neg)
			n->offset_ms = -n->offset_ms;
	}
	if (p->tok == T_AT) {
		unsupported(p, "the @ modifier");
		goto bad;
	}
	if (p->tok == T_LS) {
		unsupported(p, "subqueries (expr[range:step])");
		goto bad;
	}
	return n;
bad:
	pq_free(n);
	return NULL;
}

static struct pq_node *operand(struct parser *p)
{
	struct pq_node *n = NULL;
	switch (p->tok) {
	case T_NUM:
		n = node(PQ_NUM);
		n->num = p->num;
		next(p);
		break;
	case T_LP:
		next(p);
		n = expr(p, 0);
		if (n && !expect(p, T_RP, "')'")) {
			pq_free(n);
			return NULL;
		}
		break;
	case T_LB:
		n = selector(p, NULL);
		break;
	case T_IDENT:
		n = ident(p);
		break;
	case T_STR:
		unsupported(p, "string literals");
		return NULL;
	case T_OP:
		if (is_op(p, "-") || is_op(p, "+")) {
			bool neg = is_op(p, "-");
			size_t at = p->tpos;
			next(p);
			struct pq_node *a = expr(p, 6); /* binds tighter than * /, looser than ^ */
			if (!a)
				return NULL;
			if (pq_type(a) == PQ_MATRIX) {
				fail(p, at,
				     "unary expression only allowed on expressions of type scalar "
				     "or "
				     "instant vector");
				pq_free(a);
				return NULL;
			}
			if (!neg)
				return a;
			n = node(PQ_NEG);
			n->a = a;
			return n;
		}
		/* fall through */
	default:
		fail(p, p->tpos, "unexpected %s", tok_text(p));
		return NULL;
	}
	return n ? postfix(p, n) : NULL;
}

/* The precedence of the binary operator at p (0: none); *ok false when
 * Vantage does not evaluate it. */
static int precedence(const struct parser *p, bool *ok)
{
	*ok = false;
	if (p->tok == T_IDENT) {
		if (is_ident(p, "or"))
			return 1;
		if (is_ident(p, "and") || is_ident(p, "unless"))
			return 2;
		if (is_ident(p, "atan2"))
			return 5;
		return 0;
	}
	if (p->tok != T_OP)
		return 0;
	static const char *const cmp[] = {"==", "!=", "<", "<=", ">", ">="};
	for (size_t i = 0; i < ARRAY_SIZE(cmp); i++)
		if (is_op(p, cmp[i]))
			return 3;
	if (is_op(p, "+") || is_op(p, "-")) {
		*ok = true;
		return 4;
	}
	if (is_op(p, "*") || is_op(p, "/")) {
		*ok = true;
		return 5;
	}
	if (is_op(p, "%"))
		return 5;
	if (is_op(p, "^"))
		return 6;
	return 0;
}

static struct pq_node *expr(struct parser *p, int min_prec)
{
	if (++p->depth > PQ_MAX_DEPTH) {
		fail(p, p->tpos, "expression nested deeper than %d", PQ_MAX_DEPTH);
		return NULL;
	}
	struct pq_node *lhs = operand(p);
	bool ok;
	int prec;
	while (lhs && (prec = precedence(p, &ok)) > 0 && prec >= min_prec) {
		if (!ok) {
			unsupported(p, "the operator '%s' (supported: + - * /)",
			            p->tok == T_OP ? p->op : p->text.data);
			break;
		}
		struct pq_node *n = node(PQ_BIN);
		n->op = p->op[0];
		n->a = lhs;
		lhs = n;
		size_t at = p->tpos;
		next(p);
		if (is_ident(p, "bool")) {
			unsupported(p, "the bool modifier");
			break;
		}
		if (is_ident(p, "on") || is_ident(p, "ignoring")) {
			n->matching = true;
			n->without = is_ident(p, "ignoring");
			next(p);
			if (!label_list(p, n))
				break;
		}
		if (is_ident(p, "group_left") || is_ident(p, "group_right")) {
			unsupported(p, "%s (many-to-one matching; one-to-one is supported)",
			            p->text.data);
			break;
		}
		n->b = expr(p, prec + 1);
		if (!n->b)
			break;
		enum pq_type ta = pq_type(n->a), tb = pq_type(n->b);
		if (ta == PQ_MATRIX || tb == PQ_MATRIX) {
			fail(p, at,
			     "binary expression must contain only scalar and instant vector types");
			break;
		}
		if (n->matching && (ta == PQ_SCALAR || tb == PQ_SCALAR)) {
			fail(p, at, "vector matching only allowed between instant vectors");
			break;
		}
	}
	p->depth--;
	if (p->failed) {
		pq_free(lhs);
		return NULL;
	}
	return lhs;
}

int pq_parse(const char *text, struct pq_node **out, char *err, size_t cap, bool *unsup)
{
	bool dummy = false;
	struct parser p = {
	    .s = text, .err = err, .cap = cap, .unsupported = unsup ? unsup : &dummy};
	*p.unsupported = false;
	*out = NULL;
	if (strlen(text) > PQ_MAX_TEXT) {
		snprintf(err, cap, "query longer than %d bytes", PQ_MAX_TEXT);
		return -EINVAL;
	}
	next(&p);
	if (p.tok == T_EOF && !p.failed)
		fail(&p, 0, "no expression found in input");
	struct pq_node *n = p.failed ? NULL : expr(&p, 0);
	if (n && p.tok != T_EOF)
		fail(&p, p.tpos, "unexpected %s after the expression", tok_text(&p));
	buf_free(&p.text);
	if (p.failed) {
		pq_free(n);
		return -EINVAL;
	}
	*out = n;
	return 0;
}
