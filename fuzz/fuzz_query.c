/*
 * fuzz_query.c - the query languages and the text readers under them:
 * what a client types into /api/v1/search, /prometheus/api/v1/query,
 * alarm metrics and time parameters.
 *
 * The first byte picks (fuzz_pick, 6):
 *   0  the search language (src/analytics/search_parse.c): search_parse()
 *      against a small fixed index (four systems, the records of
 *      tests/unit/test_search.c), then search_eval() and
 *      search_result_json() (src/analytics/search_eval.c, search.h); a
 *      parse error is shown with its caret (sq_error_show)
 *   1  PromQL (src/analytics/promql_parse.c): pq_parse(), then pq_eval()
 *      over a tiny in-memory set of series (src/analytics/promql_eval.c),
 *      as an instant query and as a range query of 11 steps
 *   2  JSON as the store and API read it: js_skip() and the iterators
 *      (src/util/jscan.c), jload_lenient() (src/util/jload.c) and the
 *      value written back with the writer (src/util/json.c), which must be
 *      JSON that js_skip() takes
 *   3  bytes as a JSON string: jw_escape() (src/util/json.c) then
 *      js_unescape() (src/util/jscan.c) must give the same bytes
 *   4  times and durations (src/util/timefmt.c): parse_time,
 *      parse_time_iso, parse_duration_ms/_sec; a parsed ISO time written
 *      with format_time_utc reads back the same
 *   5  series names with label matchers (src/util/labelsel.c) matched
 *      against label objects
 * Checked besides: results bounded by the limits, every allocation freed.
 *
 * Seeds (fuzz/corpus/query/, first byte the pick): the queries of
 * docs/search.md, docs/api.md, docs/grafana.md and the unit tests
 * test_search.c, test_promql.c, test_timefmt.c; JSON of a real frame's
 * records.
 */
#include "fuzz.h"

#include "analytics/promql.h"
#include "analytics/search.h"
#include "util/buf.h"
#include "util/jload.h"
#include "util/jscan.h"
#include "util/json.h"
#include "util/labelsel.h"
#include "util/timefmt.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 1795341600000LL /* 2026-11-22T10:00:00Z */

static bool one_json(const char *p, size_t n)
{
	const char *end = p + n, *q = js_ws(p, end);
	const char *after = q < end ? js_skip(q, end, 0) : NULL;
	return after && js_ws(after, end) == end;
}

/* ---- 0: search ------------------------------------------------------------------- */

static struct search_index *ix;

static void build_index(void)
{
	ix = search_index_new();
	search_index_add_system(ix, 0, "container:web", "web", "container", "podman", "nginx:1",
	                        "h", "{\"tier\":\"front\"}");
	search_index_add_system(ix, 1, "container:web2", "web2", "container", "podman", "nginx:1",
	                        "h", NULL);
	search_index_add_system(ix, 2, "container:db", "db", "container", "podman", "mysql:8", "h",
	                        NULL);
	search_index_add_system(ix, 3, "host:alp", "alp", "host", NULL, NULL, NULL, NULL);
	static const uint32_t web[] = {0, 1}, db[] = {2}, alp[] = {3}, w0[] = {0},
	                      all[] = {0, 1, 2, 3};
#define ADD(f, k, v, s, g)                                                                         \
	if (search_index_add_record(ix, f, k, strlen(k), v, strlen(v), s,                          \
	                            sizeof(s) / sizeof(s[0]), g) != 0)                             \
	abort()
	ADD("package", "openssl",
	    "{\"name\":\"openssl\",\"version\":\"3.0.11-1~deb12u2\",\"manager\":\"dpkg\"}", web, 0);
	ADD("package", "libc6", "{\"name\":\"libc6\",\"version\":\"2.36-9\",\"manager\":\"dpkg\"}",
	    web, 0);
	ADD("package", "openssl",
	    "{\"name\":\"openssl\",\"version\":\"1:3.0.7-27.el9\",\"manager\":\"rpm\"}", db, 1);
	ADD("package", "openssl",
	    "{\"name\":\"openssl\",\"version\":\"3.0.14-r0\",\"manager\":\"apk\"}", alp, 2);
	ADD("package", "curl", "{\"name\":\"curl\",\"version\":\"8.5.0-r0\",\"manager\":\"apk\"}",
	    alp, 2);
	ADD("connection", "tcp/0.0.0.0/80",
	    "{\"local_port\":80,\"state\":\"LISTEN\",\"comm\":\"nginx\"}", web, 0);
	ADD("connection", "tcp/0.0.0.0/3306",
	    "{\"local_port\":3306,\"state\":\"LISTEN\",\"comm\":\"mysqld\"}", db, 1);
	ADD("process", "1",
	    "{\"pid\":1,\"user\":\"root\",\"cmdline\":\"nginx: master process\",\"args\":[\"-g\","
	    "\"daemon off\"]}",
	    w0, 3);
	ADD("process", "1",
	    "{\"pid\":1,\"user\":\"mysql\",\"cmdline\":\"mysqld\",\"env\":{\"TZ\":\"UTC\"}}", db,
	    1);
	ADD("os", "linux", "{\"id\":\"caf\\u00e9\",\"name\":\"Shared\",\"x\":\"\\udcff\"}", all, 4);
#undef ADD
	if (search_index_finish(ix) != 0)
		abort();
}

static void search(const char *text)
{
	struct sq_error err = {0};
	struct sq_node *q = search_parse(ix, text, &err);
	struct buf out = BUF_INIT;
	if (!q) {
		if (!err.msg[0] || err.col < 0 || (size_t)err.col > strlen(text) + 1)
			__builtin_trap(); /* an error names what and where */
		sq_error_show(text, &err, &out);
		buf_free(&out);
		return;
	}
	struct search_result r = {0};
	search_eval(ix, q, 10, &r);
	if (r.nhits > 10 || r.nhits > r.total || (r.total > 10) != r.truncated)
		__builtin_trap();
	for (size_t i = 0; i < r.nhits; i++)
		if (r.hits[i].sys >= 4)
			__builtin_trap();
	search_result_json(ix, &r, text, 10, &out);
	if (!one_json(out.data, out.len))
		__builtin_trap();
	search_result_free(&r);
	sq_free(q);
	buf_free(&out);
}

/* ---- 1: PromQL -------------------------------------------------------------------- */

struct fseries {
	const char *system, *name, *kind, *metric, *labels;
	int64_t t[6];
	double v[6];
};

static const struct fseries data[] = {
    {"container:a",
     "web",
     "container",
     "memory.used_pct",
     "{}",
     {T0 - 300000, T0 - 240000, T0 - 180000, T0 - 120000, T0 - 60000, T0},
     {10, 20, 30, 40, 50, 60}},
    {"container:b",
     "db",
     "container",
     "memory.used_pct",
     "{}",
     {T0 - 300000, T0 - 240000, T0 - 180000, T0 - 120000, T0 - 60000, T0},
     {5, 5, 5, 5, 5, NAN}},
    {"host:h",
     "h",
     "host",
     "disk.used_pct",
     "{\"mountpoint\":\"/\"}",
     {T0 - 300000, T0 - 240000, T0 - 180000, T0 - 120000, T0 - 60000, T0},
     {70, 71, 72, 73, 74, 75}},
    {"host:h",
     "h",
     "host",
     "net.rx_bytes",
     "{\"iface\":\"eth0\"}",
     {T0 - 300000, T0 - 240000, T0 - 180000, T0 - 120000, T0 - 60000, T0},
     {1e6, 2e6, 3e6, 1e3, 2e3, INFINITY}},
};

static int fake_read(void *src, const struct store_series_query *q,
                     int (*cb)(void *ctx, const struct store_series_data *d), void *ctx)
{
	for (size_t i = 0; i < sizeof(data) / sizeof(data[0]); i++) {
		const struct fseries *f = &data[i];
		if (q->metric && strcmp(q->metric, f->metric) != 0)
			continue;
		bool sys = !q->system_ids;
		for (size_t k = 0; q->system_ids && k < q->nsystems; k++)
			sys |= strcmp(q->system_ids[k], f->system) == 0;
		if (!sys)
			continue;
		int lo = 0, hi;
		while (lo < 6 && f->t[lo] < q->from_ms)
			lo++;
		hi = lo;
		while (hi < 6 && f->t[hi] <= q->to_ms)
			hi++;
		if (hi == lo)
			continue;
		struct store_series_data d = {.system_id = f->system,
		                              .name = f->name,
		                              .kind = f->kind,
		                              .system_labels = "{}",
		                              .metric = f->metric,
		                              .labels = f->labels,
		                              .t = f->t + lo,
		                              .v = f->v + lo,
		                              .n = q->no_points ? 0 : (size_t)(hi - lo)};
		int rc = cb(ctx, &d);
		if (rc)
			return rc;
	}
	return 0;
}

static void check_result(const struct pq_result *r, int64_t start, int64_t end)
{
	for (size_t i = 0; i < r->nseries; i++) {
		const struct pq_series *s = &r->series[i];
		if (!s->labels)
			__builtin_trap();
		const char *p = s->labels, *n, *v;
		size_t nl, vl;
		while (pq_label_next(&p, &n, &nl, &v, &vl))
			;
		for (size_t k = 0; k < s->n; k++)
			if (r->type != PQ_MATRIX && (s->t[k] < start || s->t[k] > end))
				__builtin_trap();
	}
}

static void promql(const char *text)
{
	struct pq_node *n = NULL;
	char err[512];
	bool unsupported = false;
	if (pq_parse(text, &n, err, sizeof(err), &unsupported) != 0) {
		if (n || !err[0])
			__builtin_trap();
		return;
	}
	const struct pq_source src = {fake_read, NULL};
	struct pq_result r = {0};
	if (pq_eval(&src, n, T0, T0, 0, &r, err, sizeof(err)) == 0)
		check_result(&r, T0, T0);
	pq_result_free(&r);
	memset(&r, 0, sizeof(r));
	if (pq_type(n) == PQ_VECTOR || pq_type(n) == PQ_SCALAR) {
		if (pq_eval(&src, n, T0 - 600000, T0, 60000, &r, err, sizeof(err)) == 0)
			check_result(&r, T0 - 600000, T0);
		pq_result_free(&r);
	}
	pq_free(n);
}

/* ---- 2, 3: JSON -------------------------------------------------------------------- */

/* A jansson value written back with our writer. */
static void put(struct json *j, const char *name, json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		jw_obj_begin(j, name);
		const char *k;
		json_t *x;
		json_object_foreach(v, k, x) put(j, k, x);
		jw_obj_end(j);
		break;
	}
	case JSON_ARRAY: {
		jw_arr_begin(j, name);
		size_t i;
		json_t *x;
		json_array_foreach(v, i, x) put(j, NULL, x);
		jw_arr_end(j);
		break;
	}
	case JSON_STRING:
		jw_strn(j, name, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		jw_int(j, name, json_integer_value(v));
		break;
	case JSON_REAL:
		jw_double(j, name, json_real_value(v), 6);
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		jw_bool(j, name, json_is_true(v));
		break;
	default:
		jw_null(j, name);
	}
}

/* Walk a value with the iterators, as the store reads records. */
static void walk(struct js_span v, int depth)
{
	if (depth > JS_MAX_DEPTH)
		__builtin_trap();
	struct js_iter it;
	struct js_span n, x;
	if (v.n && v.p[0] == '{') {
		if (js_iter_begin(&it, v, 0) < 0)
			return;
		while (js_obj_next(&it, &n, &x) == 1) {
			if (x.p < v.p || x.p + x.n > v.p + v.n)
				__builtin_trap();
			walk(x, depth + 1);
		}
	} else if (v.n && v.p[0] == '[') {
		if (js_iter_begin(&it, v, 0) < 0)
			return;
		while (js_arr_next(&it, &x) == 1) {
			if (x.p < v.p || x.p + x.n > v.p + v.n)
				__builtin_trap();
			walk(x, depth + 1);
		}
	} else if (v.n && v.p[0] == '"') {
		struct js_span c;
		if (js_str(v, &c)) {
			struct buf b = BUF_INIT;
			js_unescape(&b, c.p, c.n);
			buf_free(&b);
		}
	}
}

static void json_text(const char *p, size_t n)
{
	const char *end = p + n, *q = js_ws(p, end);
	const char *after = q < end ? js_skip(q, end, 0) : NULL;
	if (after) {
		if (after > end)
			__builtin_trap();
		walk((struct js_span){q, (size_t)(after - q)}, 0);
	}
	json_error_t e;
	json_t *v = jload_lenient(p, n, &e);
	if (v) {
		struct buf out = BUF_INIT;
		struct json j;
		jw_init(&j, &out);
		put(&j, NULL, v);
		if (jw_ok(&j) && !one_json(out.data, out.len))
			__builtin_trap();
		buf_free(&out);
		json_decref(v);
	}
}

static void string_bytes(const char *p, size_t n)
{
	struct buf esc = BUF_INIT, back = BUF_INIT;
	jw_escape(&esc, p, n);
	/* a JSON string: quoted, and the scanner agrees */
	if (esc.len < 2 || esc.data[0] != '"' || esc.data[esc.len - 1] != '"' ||
	    js_skip(esc.data, esc.data + esc.len, 0) != esc.data + esc.len)
		__builtin_trap();
	js_unescape(&back, esc.data + 1, esc.len - 2);
	/* NUL is written \u0000 and read as U+FFFD: compare without them */
	if (!memchr(p, 0, n) && (back.len != n || memcmp(back.data, p, n) != 0))
		__builtin_trap();
	buf_free(&esc);
	buf_free(&back);
}

/* ---- 4: times ---------------------------------------------------------------------- */

static void times(const char *s, size_t n)
{
	int64_t ms;
	double sec;
	if (parse_time_iso(s, n, &ms) == 0) {
		if (ms < 0 || ms > TIME_MAX_MS)
			__builtin_trap();
		char iso[40];
		int64_t back;
		format_time_utc(ms * 1000000, iso, sizeof(iso));
		if (parse_time_iso(iso, strlen(iso), &back) != 0 || back != ms)
			__builtin_trap();
	}
	if (parse_duration_ms(s, &ms) == 0 && (ms < 0 || ms > TIME_MAX_MS))
		__builtin_trap();
	if (parse_duration_sec(s, &sec) == 0 && !(sec >= 0))
		__builtin_trap();
	if (parse_time(s, T0, &ms) == 0 && (ms < 0 || ms > TIME_MAX_MS))
		__builtin_trap();
}

/* ---- 5: label selectors ------------------------------------------------------------- */

static void labels(const char *s)
{
	static const char *const objs[] = {"{}", "{\"mountpoint\":\"/\"}",
	                                   "{\"iface\":\"eth0\",\"dir\":\"in\"}",
	                                   "{\"a\":\"\\\"x\\\\\",\"b\":\"\\udcff\"}"};
	struct label_sel sel;
	if (label_sel_parse(s, &sel) == 0 && (sel.n < 0 || sel.n > LABEL_SEL_MAX))
		__builtin_trap();
	for (size_t i = 0; i < sizeof(objs) / sizeof(objs[0]); i++)
		label_sel_match(&sel, objs[i]);
	label_sel_free(&sel);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	build_index();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned k = fuzz_pick(&data, &size, 6);
	char *s = fuzz_strdup(data, size);
	switch (k) {
	case 0:
		search(s);
		break;
	case 1:
		promql(s);
		break;
	case 2:
		json_text((const char *)data, size);
		break;
	case 3:
		string_bytes((const char *)data, size);
		break;
	case 4:
		times(s, strlen(s));
		break;
	default:
		labels(s);
		break;
	}
	free(s);
	return 0;
}
