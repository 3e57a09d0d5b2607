/*
 * promql_names.c - a stored series' Prometheus name, labels and value text
 * (promql_names.h): shared by GET /metrics and the PromQL query API.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/jscan.h"
#include "../util/util.h"
#include "promql_names.h"

/* ---- values and names ------------------------------------------------------- */

void prom_format_value(double v, char *dst, size_t cap)
{
	if (isnan(v)) {
		snprintf(dst, cap, "NaN");
		return;
	}
	if (isinf(v)) {
		snprintf(dst, cap, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	/* the shortest of %.15g .. %.17g that reads back as v */
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(dst, cap, "%.*g", prec, v);
		if (strtod(dst, NULL) == v)
			return;
	}
}

struct unit_rule {
	const char *suffix, *repl;
	double scale;
};

/* Abbreviated unit suffixes (promtool refuses them) -> base units. */
static const struct unit_rule unit_rules[] = {
    {"_per_s", "_per_second", 1},
    {"_kb", "_bytes", 1024},
    {"_mb", "_bytes", 1024.0 * 1024},
    {"_gb", "_bytes", 1024.0 * 1024 * 1024},
    {"_ms", "_seconds", 1e-3},
    {"_us", "_seconds", 1e-6},
    {"_ns", "_seconds", 1e-9},
    {"_sec", "_seconds", 1},
    {"_s", "_seconds", 1},
};

/*
 * "vantage_" + `metric` sanitized, into dst; *scale gets the factor that
 * converts the value to the unit the name now says.  Characters outside
 * [a-zA-Z0-9_] become '_', runs of '_' collapse.
 */
void prom_family_name(const char *metric, struct buf *dst, double *scale)
{
	buf_reset(dst);
	buf_adds(dst, "vantage_");
	bool us = true;
	for (const char *p = metric; *p; p++) {
		char c = *p;
		bool ok =
		    (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		if (!ok)
			c = '_';
		if (c == '_' && us)
			continue;
		us = c == '_';
		buf_addc(dst, c);
	}
	while (dst->len > 8 && dst->data[dst->len - 1] == '_')
		dst->data[--dst->len] = 0;
	*scale = 1;
	for (size_t i = 0; i < ARRAY_SIZE(unit_rules); i++) {
		size_t n = strlen(unit_rules[i].suffix);
		if (dst->len > n + 8 &&
		    strcmp(dst->data + dst->len - n, unit_rules[i].suffix) == 0) {
			dst->len -= n;
			dst->data[dst->len] = 0;
			buf_adds(dst, unit_rules[i].repl);
			*scale = unit_rules[i].scale;
			break;
		}
	}
	/* "_total" is for counters; every series here is a gauge */
	if (dst->len > 14 && strcmp(dst->data + dst->len - 6, "_total") == 0)
		buf_adds(dst, "_value");
}

void prom_label_name(const char *s, size_t n, struct buf *dst)
{
	buf_reset(dst);
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool ok =
		    (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		buf_addc(dst, ok ? c : '_');
	}
	if (dst->len == 0 || (dst->data[0] >= '0' && dst->data[0] <= '9')) {
		struct buf t = BUF_INIT;
		buf_adds(&t, "label_");
		buf_add(&t, dst->data ? dst->data : "", dst->len);
		buf_free(dst);
		*dst = t;
	}
	if (dst->len >= 2 && dst->data[0] == '_' && dst->data[1] == '_')
		dst->data[0] = 'x';
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid
 * (overlong forms, surrogates and code points above U+10FFFF included). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	if (c < 0x80)
		return 1;
	size_t len;
	unsigned cp;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, cp = c & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* A label value, quoted and escaped, as valid UTF-8. */
void prom_label_value(struct buf *out, const char *s, size_t n)
{
	buf_addc(out, '"');
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\\' || c == '"') {
			buf_addc(out, '\\');
			buf_addc(out, (char)c);
			i++;
		} else if (c == '\n') {
			buf_adds(out, "\\n");
			i++;
		} else {
			size_t l = utf8_len((const unsigned char *)s + i, n - i);
			if (l == 0) {
				buf_adds(out, "\xef\xbf\xbd"); /* U+FFFD */
				l = 1;
			} else {
				buf_add(out, s + i, l);
			}
			i += l;
		}
	}
	buf_addc(out, '"');
}

/* ---- a flat JSON object of scalars: the series labels, the store stats ------- */

/* Raw string content from the scanner, decoded as a label wants it: valid
 * UTF-8, with the bytes that were not UTF-8 in the observed system
 * (written \udcXX) and lone surrogates as U+FFFD. */
static void label_text(struct buf *out, struct js_span raw)
{
	struct buf t = BUF_INIT;
	js_unescape(&t, raw.p, raw.n);
	prom_utf8(out, t.data ? t.data : "", t.len);
	buf_free(&t);
}

void prom_utf8(struct buf *out, const char *s, size_t n)
{
	buf_reset(out);
	buf_adds(out, "");
	for (size_t i = 0; i < n;) {
		size_t l = utf8_len((const unsigned char *)s + i, n - i);
		if (l == 0) {
			buf_adds(out, "\xef\xbf\xbd"); /* U+FFFD */
			l = 1;
		} else {
			buf_add(out, s + i, l);
		}
		i += l;
	}
}

/*
 * Call cb(key, value-text, is_string) for every member of a flat JSON
 * object whose value is a string, number, true or false; members holding
 * objects, arrays or null are skipped.  The whole object is checked
 * first (jscan): returns 0, or -EINVAL on malformed input, before any
 * call.
 */
int prom_flat_object(const char *s, size_t n,
                     void (*cb)(void *ctx, const char *k, const char *v, bool str), void *ctx)
{
	const char *end = s + n, *p = js_ws(s, end);
	const char *e = p < end && *p == '{' ? js_skip(p, end, 0) : NULL;
	struct js_iter it;
	if (!e || js_iter_begin(&it, (struct js_span){p, (size_t)(e - p)}, 0) < 0)
		return -EINVAL;
	struct buf key = BUF_INIT, val = BUF_INIT;
	struct js_span name, v, content;
	int r;
	while ((r = js_obj_next(&it, &name, &v)) > 0) {
		if (v.p[0] == '{' || v.p[0] == '[' || js_eq(v, "null"))
			continue;
		label_text(&key, name);
		bool str = js_str(v, &content);
		if (str) {
			label_text(&val, content);
		} else {
			buf_reset(&val);
			buf_add(&val, v.p, v.n);
		}
		cb(ctx, buf_str(&key), buf_str(&val), str);
	}
	buf_free(&key);
	buf_free(&val);
	return r < 0 ? -EINVAL : 0;
}

/* ---- fast values ------------------------------------------------------------- */

size_t prom_format_fast(double v, char *dst)
{
	static const double p10[] = {1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};
	if (isfinite(v) && fabs(v) < 1e15) {
		for (int d = 0; d < (int)ARRAY_SIZE(p10); d++) {
			double m = v * p10[d];
			if (fabs(m) >= 9007199254740992.0) /* 2^53: no longer exact */
				break;
			double r = nearbyint(m);
			/* r / 10^d correctly rounded is what strtod reads back from
			 * the decimal text of r with d places */
			if (r / p10[d] != v)
				continue;
			char tmp[32];
			int64_t n = (int64_t)fabs(r);
			int k = 0;
			do {
				tmp[k++] = (char)('0' + n % 10);
				n /= 10;
			} while (n || k <= d);
			size_t len = 0;
			if (r < 0)
				dst[len++] = '-';
			while (k > d)
				dst[len++] = tmp[--k];
			if (d) {
				dst[len++] = '.';
				while (k)
					dst[len++] = tmp[--k];
			}
			dst[len] = 0;
			return len;
		}
	}
	prom_format_value(v, dst, 32);
	return strlen(dst);
}

/* ---- the labels of a series -------------------------------------------------- */

struct labeller {
	void (*add)(void *ctx, const char *name, const char *v, size_t n);
	void *ctx;
	char names[PROM_MAX_LABELS][64];
	int nnames;
	struct buf name, val;
};

static void give(struct labeller *l, const char *name, const char *v, size_t n)
{
	if (!v || !n || l->nnames >= PROM_MAX_LABELS || strlen(name) >= sizeof(l->names[0]))
		return;
	for (int i = 0; i < l->nnames; i++)
		if (strcmp(l->names[i], name) == 0)
			return;
	copy_str(l->names[l->nnames++], sizeof(l->names[0]), name, strlen(name));
	l->add(l->ctx, name, v, n);
}

static void fixed_label(struct labeller *l, const char *name, const char *v)
{
	if (!v)
		return;
	prom_utf8(&l->val, v, strlen(v));
	give(l, name, l->val.data, l->val.len);
}

static void own_label(void *ctx, const char *k, const char *v, bool str)
{
	struct labeller *l = ctx;
	prom_label_name(k, strlen(k), &l->name);
	static const char *const fixed[] = {"system", "name", "kind", "runtime", "image"};
	for (size_t i = 0; i < ARRAY_SIZE(fixed); i++)
		if (strcmp(buf_str(&l->name), fixed[i]) == 0) {
			buf_reset(&l->name);
			buf_printf(&l->name, "label_%s", fixed[i]);
			break;
		}
	give(l, buf_str(&l->name), v, strlen(v));
}

int prom_series_labels(const struct prom_ident *id,
                       void (*add)(void *ctx, const char *name, const char *v, size_t n), void *ctx)
{
	struct labeller l = {.add = add, .ctx = ctx};
	fixed_label(&l, "system", id->system_id);
	fixed_label(&l, "name", id->name);
	fixed_label(&l, "kind", id->kind);
	fixed_label(&l, "runtime", id->runtime);
	fixed_label(&l, "image", id->image);
	int rc = 0;
	if (id->labels_json)
		rc = prom_flat_object(id->labels_json, strlen(id->labels_json), own_label, &l);
	buf_free(&l.name);
	buf_free(&l.val);
	return rc;
}
