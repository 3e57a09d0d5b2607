/*
 * decode.c - reading frames back from their JSON Lines text: lines, the
 * header and its template, templates rebuilt, times and numbers (see
 * decode.h).  Works on raw text with util/jscan; allocates only by
 * appending to the caller's buffers.
 */
#include "decode.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/timefmt.h"
#include "../util/util.h"

/* ---- lines --------------------------------------------------------------------- */

int frame_line_decode(const char *p, const char *end, struct frame_line *l, char *err,
                      size_t errlen)
{
	memset(l, 0, sizeof(*l));
	p = js_ws(p, end);
	struct js_iter it = {.p = p + 1, .end = end, .flags = 0, .first = true};
	if (p >= end || *p != '{')
		goto bad;
	struct js_span name, val;
	int r;
	while ((r = js_obj_next(&it, &name, &val)) == 1) {
		struct js_span *dst = NULL;
		if (js_eq(name, "system"))
			dst = &l->system;
		else if (js_eq(name, "time"))
			dst = &l->time;
		else if (js_eq(name, "feature"))
			dst = &l->feature;
		else if (js_eq(name, "key"))
			dst = &l->key;
		else if (js_eq(name, "value"))
			dst = &l->value;
		if (!dst)
			continue;
		if (dst != &l->value && !js_str(val, &val))
			goto bad;
		*dst = val;
	}
	if (r < 0 || js_ws(it.p + 1, end) != end)
		goto bad;
	if (!l->system.p || !l->feature.p || !l->key.p || !l->value.p) {
		snprintf(err, errlen, "a record needs system, feature, key and value");
		return -EINVAL;
	}
	return 0;
bad:
	snprintf(err, errlen, "not a JSON object");
	return -EINVAL;
}

/* ---- the header ---------------------------------------------------------------- */

/* Append `"name":` (name raw) to b, with a comma unless first. */
static void tmpl_member(struct buf *b, bool *first, struct js_span name)
{
	if (!*first)
		buf_addc(b, ',');
	*first = false;
	buf_addc(b, '"');
	buf_add(b, name.p, name.n);
	buf_add(b, "\":", 2);
}

static void put_dur(struct buf *durs, int64_t m)
{
	buf_add(durs, &m, sizeof(m));
}

/* Durations in an object (feature_ms): '#' for each, thousandths to durs. */
static void tmpl_durations(struct js_span obj, struct buf *tmpl, struct buf *durs)
{
	struct js_iter it;
	struct js_span n, v;
	bool first = true;
	js_iter_begin(&it, obj, 0);
	buf_addc(tmpl, '{');
	while (js_obj_next(&it, &n, &v) == 1) {
		int64_t m;
		tmpl_member(tmpl, &first, n);
		if (frame_parse_milli(v, &m)) {
			buf_addc(tmpl, '#');
			put_dur(durs, m);
		} else {
			buf_add(tmpl, v.p, v.n);
		}
	}
	buf_addc(tmpl, '}');
}

static bool opt_str(struct js_span v, struct js_span *out, bool *has)
{
	if (js_eq(v, "null")) {
		*has = false;
		return true;
	}
	*has = js_str(v, out);
	return *has;
}

int frame_head_decode(struct js_span value, int64_t t_ms, struct frame_head *h, struct buf *tmpl,
                      struct buf *durs, char *err, size_t errlen)
{
	struct js_iter it;
	struct js_span n, v;
	bool first = true;
	memset(h, 0, sizeof(*h));
	if (value.n == 0 || value.p[0] != '{' || js_iter_begin(&it, value, 0) < 0) {
		snprintf(err, errlen, "frame header: the value is not an object");
		return -EINVAL;
	}
	char iso[40];
	format_time_utc(t_ms * 1000000, iso, sizeof(iso));
	size_t isolen = strlen(iso);
	buf_addc(tmpl, '{');
	int r;
	while ((r = js_obj_next(&it, &n, &v)) == 1) {
		bool ok = true;
		if (js_eq(n, "name"))
			ok = opt_str(v, &h->name, &h->has_name);
		else if (js_eq(n, "kind"))
			ok = opt_str(v, &h->kind, &h->has_kind);
		else if (js_eq(n, "runtime"))
			ok = opt_str(v, &h->runtime, &h->has_runtime);
		else if (js_eq(n, "image"))
			ok = opt_str(v, &h->image, &h->has_image);
		else if (js_eq(n, "host"))
			ok = opt_str(v, &h->host, &h->has_host);
		else if (js_eq(n, "labels"))
			ok = v.p[0] == '{' && (h->labels = v, true);
		else if (js_eq(n, "features"))
			ok = v.p[0] == '[' && (h->features = v, true);
		if (!ok) {
			snprintf(err, errlen, "frame header: field \"%.*s\" has the wrong type",
			         (int)(n.n > 32 ? 32 : n.n), n.p);
			return -EINVAL;
		}
		tmpl_member(tmpl, &first, n);
		int64_t m;
		if (js_eq(n, "time") && v.n == isolen + 2 && memcmp(v.p + 1, iso, isolen) == 0)
			buf_add(tmpl, "#T", 2);
		else if (js_eq(n, "duration_ms") && frame_parse_milli(v, &m))
			buf_addc(tmpl, '#'), put_dur(durs, m);
		else if (js_eq(n, "feature_ms") && v.p[0] == '{')
			tmpl_durations(v, tmpl, durs);
		else
			buf_add(tmpl, v.p, v.n);
	}
	buf_addc(tmpl, '}');
	if (r < 0) {
		snprintf(err, errlen, "frame header: malformed value");
		return -EINVAL;
	}
	return 0;
}

/* ---- templates ----------------------------------------------------------------- */

struct render {
	int64_t t;
	void (*hole)(void *ctx, struct js_span member, struct buf *out);
	void *ctx;
};

static void render(const struct render *c, struct js_span v, struct js_span member, struct buf *out,
                   int depth)
{
	if (v.p[0] == '#') {
		if (v.n == 2) { /* #T */
			char t[40];
			format_time_utc(c->t * 1000000, t, sizeof(t));
			buf_addc(out, '"');
			buf_adds(out, t);
			buf_addc(out, '"');
		} else {
			c->hole(c->ctx, member, out);
		}
		return;
	}
	if ((v.p[0] != '{' && v.p[0] != '[') || depth > JS_MAX_DEPTH || !memchr(v.p, '#', v.n)) {
		buf_add(out, v.p, v.n);
		return;
	}
	struct js_iter it;
	struct js_span n = {0}, e;
	bool obj = v.p[0] == '{', first = true;
	js_iter_begin(&it, v, JS_TEMPLATE);
	buf_addc(out, obj ? '{' : '[');
	while ((obj ? js_obj_next(&it, &n, &e) : js_arr_next(&it, &e)) == 1) {
		if (!first)
			buf_addc(out, ',');
		first = false;
		if (obj) {
			buf_addc(out, '"');
			buf_add(out, n.p, n.n);
			buf_add(out, "\":", 2);
		}
		render(c, e, n, out, depth + 1);
	}
	buf_addc(out, obj ? '}' : ']');
}

void frame_tmpl_render(struct js_span tmpl, int64_t t_ms,
                       void (*hole)(void *ctx, struct js_span member, struct buf *out), void *ctx,
                       struct buf *out)
{
	struct render c = {.t = t_ms, .hole = hole, .ctx = ctx};
	struct js_span none = {0};
	if (tmpl.n == 0 || !memchr(tmpl.p, '#', tmpl.n)) {
		buf_add(out, tmpl.p, tmpl.n);
		return;
	}
	render(&c, tmpl, none, out, 0);
}

/* ---- times and numbers --------------------------------------------------------- */

int64_t frame_parse_time(const char *p, size_t n, bool *ok)
{
	/* YYYY-MM-DDTHH:MM:SS[.fff]Z: the ISO parser of util/timefmt.c, held
	 * to the one layout format_time_utc writes (a 'T', UTC). */
	int64_t ms;
	*ok = n >= 20 && p[10] == 'T' && p[n - 1] == 'Z' && parse_time_iso(p, n, &ms) == 0;
	return *ok ? ms : 0;
}

bool frame_parse_milli(struct js_span v, int64_t *out)
{
	const char *p = v.p, *end = v.p + v.n;
	int64_t ip = 0, frac = 0;
	int d = 0;
	if (p == end || *p < '0' || *p > '9' || (*p == '0' && end - p > 1 && p[1] != '.'))
		return false;
	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		if (ip > 900000000000000LL)
			return false;
		ip = ip * 10 + (*p - '0');
	}
	if (p < end && *p == '.') {
		for (p++; p < end && *p >= '0' && *p <= '9' && d < 3; p++, d++)
			frac = frac * 10 + (*p - '0');
		if (d == 0 || p[-1] == '0')
			return false; /* "1." or a trailing zero: not our canonical form */
		for (int k = d; k < 3; k++)
			frac *= 10;
	}
	if (p != end)
		return false;
	*out = ip * 1000 + frac;
	return true;
}

void frame_put_milli(struct buf *b, int64_t m)
{
	buf_printf(b, "%lld", (long long)(m / 1000));
	int64_t f = m % 1000;
	if (f) {
		char t[8];
		snprintf(t, sizeof(t), ".%03d", (int)f);
		size_t n = strlen(t);
		while (t[n - 1] == '0')
			n--;
		buf_add(b, t, n);
	}
}

int frame_fmt_double(double v, char *o, size_t cap)
{
	int n = 0;
	for (int prec = 15; prec <= 17; prec++) {
		n = snprintf(o, cap, "%.*g", prec, v);
		if (strtod(o, NULL) == v)
			break;
	}
	return n;
}

bool frame_parse_number(struct js_span v, struct frame_num *n)
{
	char t[40];
	if (v.n == 0 || v.n >= sizeof(t))
		return false;
	if (!(v.p[0] == '-' || (v.p[0] >= '0' && v.p[0] <= '9')))
		return false;
	memcpy(t, v.p, v.n);
	t[v.n] = 0;
	n->isint = !memchr(t, '.', v.n) && !memchr(t, 'e', v.n) && !memchr(t, 'E', v.n);
	if (n->isint) {
		errno = 0;
		char *e;
		long long ll = strtoll(t, &e, 10);
		if (errno == 0 && *e == 0) {
			n->i = ll;
			n->d = (double)ll;
			char o[40];
			snprintf(o, sizeof(o), "%lld", ll);
			n->exact = strcmp(o, t) == 0;
			return true;
		}
		n->isint = false;
	}
	char *e;
	n->i = 0;
	n->d = strtod(t, &e);
	if (*e || !isfinite(n->d))
		return false;
	char o[40];
	frame_fmt_double(n->d, o, sizeof(o));
	n->exact = strcmp(o, t) == 0;
	return true;
}
