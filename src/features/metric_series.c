/*
 * metric_series.c - the metric feature's key grammar: records to series
 * names, labels and points (see metric_series.h).
 */
#include "metric_series.h"

#include <string.h>

bool metric_series_feature(struct js_span feature)
{
	return js_eq(feature, "metric");
}

static bool ident(const char *p, size_t n)
{
	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_'))
			return false;
	}
	return true;
}

bool metric_series_field(struct js_span f)
{
	return ident(f.p, f.n) && !js_eq(f, "interval_s");
}

bool metric_series_key(struct js_span key, struct metric_key *mk)
{
	memset(mk, 0, sizeof(*mk));
	const char *colon = memchr(key.p, ':', key.n);
	if (colon) {
		mk->base.p = key.p;
		mk->base.n = (size_t)(colon - key.p);
		mk->lval.p = colon + 1;
		mk->lval.n = key.n - mk->base.n - 1;
		const char *ln = "instance";
		if (js_eq(mk->base, "disk"))
			ln = "mountpoint";
		else if (js_eq(mk->base, "diskio"))
			ln = "device";
		else if (js_eq(mk->base, "net"))
			ln = "interface";
		strcpy(mk->lname_buf, ln);
		mk->lname.p = mk->lname_buf;
		mk->lname.n = strlen(ln);
	} else if (key.n > 3 && memcmp(key.p, "cpu", 3) == 0 && key.n <= 10) {
		size_t i = 3;
		while (i < key.n && key.p[i] >= '0' && key.p[i] <= '9')
			i++;
		if (i != key.n) {
			mk->base = key; /* e.g. "cpuset": no label */
		} else {
			mk->base.p = key.p;
			mk->base.n = 3;
			strcpy(mk->lname_buf, "cpu");
			mk->lname.p = mk->lname_buf;
			mk->lname.n = 3;
			mk->lval.p = key.p + 3;
			mk->lval.n = key.n - 3;
		}
	} else {
		mk->base = key;
	}
	return ident(mk->base.p, mk->base.n);
}

void metric_series_labels(const struct metric_key *mk, struct buf *out)
{
	if (!mk->lname.n) {
		buf_add(out, "{}", 2);
		return;
	}
	buf_add(out, "{\"", 2);
	buf_add(out, mk->lname.p, mk->lname.n);
	buf_add(out, "\":\"", 3);
	buf_add(out, mk->lval.p, mk->lval.n);
	buf_add(out, "\"}", 2);
}

void metric_series_name(const struct metric_key *mk, struct js_span field, struct buf *out)
{
	buf_add(out, mk->base.p, mk->base.n);
	buf_addc(out, '.');
	buf_add(out, field.p, field.n);
}

/* Append `"name":` (name raw) to b, with a comma unless first. */
static void member(struct buf *b, bool *first, struct js_span name)
{
	if (!*first)
		buf_addc(b, ',');
	*first = false;
	buf_addc(b, '"');
	buf_add(b, name.p, name.n);
	buf_add(b, "\":", 2);
}

int metric_series_record(struct js_span key, struct js_span value, struct buf *tmpl,
                         int (*point)(void *ctx, struct js_span name, struct js_span labels,
                                      const struct frame_num *value),
                         void *ctx)
{
	struct metric_key mk;
	if (value.n == 0 || value.p[0] != '{' || !metric_series_key(key, &mk))
		return 0;
	/* name and labels on the stack: base and field are at most 64 each */
	char lab[512], nm[160];
	struct buf lb = BUF_INIT;
	struct js_span labels;
	size_t ln = mk.lname.n ? mk.lname.n + mk.lval.n + 8 : 2;
	if (ln < sizeof(lab)) {
		/* the common case, without an allocation */
		char *o = lab;
		if (!mk.lname.n) {
			memcpy(o, "{}", 2), o += 2;
		} else {
			memcpy(o, "{\"", 2), o += 2;
			memcpy(o, mk.lname.p, mk.lname.n), o += mk.lname.n;
			memcpy(o, "\":\"", 3), o += 3;
			memcpy(o, mk.lval.p, mk.lval.n), o += mk.lval.n;
			memcpy(o, "\"}", 2), o += 2;
		}
		labels = (struct js_span){lab, (size_t)(o - lab)};
	} else {
		metric_series_labels(&mk, &lb);
		labels = (struct js_span){lb.data, lb.len};
	}
	memcpy(nm, mk.base.p, mk.base.n);
	nm[mk.base.n] = '.';
	buf_addc(tmpl, '{');
	struct js_iter it;
	struct js_span n, v;
	bool first = true;
	int r = 0;
	js_iter_begin(&it, value, 0);
	while (js_obj_next(&it, &n, &v) == 1) {
		member(tmpl, &first, n);
		struct frame_num num = {0};
		char c = v.p[0];
		if ((c == '-' || (c >= '0' && c <= '9')) && metric_series_field(n) &&
		    frame_parse_number(v, &num)) {
			memcpy(nm + mk.base.n + 1, n.p, n.n);
			struct js_span name = {nm, mk.base.n + 1 + n.n};
			r = point(ctx, name, labels, &num);
			if (r < 0)
				break;
		} else {
			num.exact = false;
		}
		if (num.exact)
			buf_addc(tmpl, '#');
		else
			buf_add(tmpl, v.p, v.n);
	}
	buf_addc(tmpl, '}');
	buf_free(&lb);
	return r < 0 ? r : 1;
}
