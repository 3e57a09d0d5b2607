/*
 * store_json.c - pieces of the JSON answers every store backend writes the
 * same way (store_json.h); taken out of the SQLite backend so that the
 * PostgreSQL one answers with the same bytes.
 */
#include <string.h>

#include "../frame/decode.h"
#include "../util/timefmt.h"
#include "store_json.h"

/* A member whose value is stored raw-escaped text (or NULL -> null). */
void sj_raw_str(struct json *j, const char *name, const char *raw, struct buf *tmp)
{
	if (!raw) {
		jw_null(j, name);
		return;
	}
	buf_reset(tmp);
	buf_addc(tmp, '"');
	buf_adds(tmp, raw);
	buf_addc(tmp, '"');
	jw_raw(j, name, tmp->data, tmp->len);
}

void sj_iso_member(struct json *j, const char *name, int64_t ms)
{
	char t[40];
	format_time_utc(ms * 1000000, t, sizeof(t));
	jw_str(j, name, t);
}

bool sj_label_match(const char *labels, const char *filter)
{
	const char *eq = strchr(filter, '=');
	struct buf k = BUF_INIT, v = BUF_INIT;
	js_escape_raw(&k, filter, eq ? (size_t)(eq - filter) : strlen(filter));
	if (eq)
		js_escape_raw(&v, eq + 1, strlen(eq + 1));
	struct js_iter it;
	struct js_span n, val, c;
	struct js_span all = {labels, strlen(labels)};
	bool hit = false;
	if (js_iter_begin(&it, all, 0) == 0)
		while (!hit && js_obj_next(&it, &n, &val) == 1)
			if (n.n == k.len && memcmp(n.p, k.data, k.len) == 0)
				hit = !eq || (js_str(val, &c) && c.n == v.len &&
				              memcmp(c.p, v.data, v.len) == 0);
	buf_free(&k);
	buf_free(&v);
	return hit;
}

bool sj_valid_json(const char *json)
{
	if (!json)
		return false;
	const char *end = json + strlen(json);
	const char *p = js_ws(json, end);
	if (p == end)
		return false;
	const char *q = js_skip(p, end, 0);
	return q && js_ws(q, end) == end;
}

void sj_record_value(const char *feature, const char *key, const char *val, size_t vlen, int64_t t,
                     struct metric_key *mk, struct buf *labels,
                     void (*metric)(void *ctx, struct js_span field, struct buf *out),
                     void (*header)(void *ctx, struct js_span member, struct buf *out), void *ctx,
                     struct buf *out)
{
	struct js_span v = {val, vlen}, f = {feature, strlen(feature)};
	bool is_metric = metric_series_feature(f);
	if (!(is_metric || strcmp(feature, "frame") == 0) || !memchr(val, '#', vlen)) {
		buf_add(out, val, vlen);
		return;
	}
	if (is_metric) {
		struct js_span k = {key, strlen(key)};
		if (!metric_series_key(k, mk)) {
			buf_add(out, val, vlen);
			return;
		}
		buf_reset(labels);
		metric_series_labels(mk, labels);
	}
	frame_tmpl_render(v, t, is_metric ? metric : header, ctx, out);
}
