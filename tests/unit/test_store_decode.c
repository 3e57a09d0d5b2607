/* Unit tests: what the store reads frames with, outside the store:
 * frame/decode.c (lines, header templates, times, numbers) and
 * features/metric_series.c (the metric feature's key grammar). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "features/metric_series.h"
#include "frame/decode.h"

static struct js_span S(const char *s) {
	return (struct js_span){s, strlen(s)};
}

static void
test_lines(void **state)
{
	struct frame_line l;
	char err[100];
	const char *ok =
	    "{\"system\":\"host:a\",\"time\":\"T\",\"feature\":\"os\",\"key\":\"k\\\"\","
	    "\"value\":{\"a\":[1]},\"extra\":1}";
	assert_int_equal(frame_line_decode(ok, ok + strlen(ok), &l, err, sizeof(err)), 0);
	assert_true(js_eq(l.system, "host:a") && js_eq(l.feature, "os") && js_eq(l.key, "k\\\""));
	assert_true(js_eq(l.value, "{\"a\":[1]}") && js_eq(l.time, "T"));
	const char *missing = "{\"system\":\"a\",\"feature\":\"os\",\"value\":1}";
	assert_int_equal(
	    frame_line_decode(missing, missing + strlen(missing), &l, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "a record needs system, feature, key and value");
	static const char *const bad[] = {"", "[]", "{\"system\":1}", "{} x", "{\"a\":"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(frame_line_decode(bad[i], bad[i] + strlen(bad[i]), &l, err, 100),
		                 -EINVAL);
		assert_string_equal(err, "not a JSON object");
	}
}

static void hole(void *ctx, struct js_span member, struct buf *out)
{
	const int64_t **d = ctx;
	frame_put_milli(out, *(*d)++);
}

static void test_header_template(void **state)
{
	/* 2023-11-14T22:00:00.000Z */
	int64_t t = 1699999200000LL;
	const char *v =
	    "{\"id\":\"h\",\"name\":\"box\",\"kind\":\"host\",\"runtime\":null,\"time\":"
	    "\"2023-11-14T22:00:00.000Z\",\"labels\":{\"a\":\"b\"},\"features\":[\"os\"],"
	    "\"duration_ms\":12.345,\"feature_ms\":{\"os\":0.5,\"x\":1.50,\"y\":3}}";
	struct frame_head h;
	struct buf tmpl = BUF_INIT, durs = BUF_INIT, out = BUF_INIT;
	char err[100];
	assert_int_equal(frame_head_decode(S(v), t, &h, &tmpl, &durs, err, sizeof(err)), 0);
	assert_true(h.has_name && js_eq(h.name, "box") && h.has_kind && !h.has_runtime);
	assert_true(js_eq(h.labels, "{\"a\":\"b\"}") && js_eq(h.features, "[\"os\"]"));
	assert_string_equal(buf_str(&tmpl),
	                    "{\"id\":\"h\",\"name\":\"box\",\"kind\":\"host\",\"runtime\":null,"
	                    "\"time\":#T,\"labels\":{\"a\":\"b\"},\"features\":[\"os\"],"
	                    "\"duration_ms\":#,\"feature_ms\":{\"os\":#,\"x\":1.50,\"y\":#}}");
	assert_int_equal(durs.len, 3 * sizeof(int64_t));
	const int64_t *d = (const int64_t *)(void *)durs.data;
	assert_true(d[0] == 12345 && d[1] == 500 && d[2] == 3000);
	/* and back, byte for byte */
	frame_tmpl_render((struct js_span){tmpl.data, tmpl.len}, t, hole, &d, &out);
	assert_string_equal(buf_str(&out), v);
	/* another time stays literal */
	buf_reset(&tmpl);
	assert_int_equal(frame_head_decode(S(v), t + 1, &h, &tmpl, &durs, err, sizeof(err)), 0);
	assert_non_null(strstr(buf_str(&tmpl), "\"time\":\"2023-11-14T22:00:00.000Z\""));
	assert_int_equal(frame_head_decode(S("{\"name\":1}"), t, &h, &tmpl, &durs, err, 100),
	                 -EINVAL);
	assert_string_equal(err, "frame header: field \"name\" has the wrong type");
	assert_int_equal(frame_head_decode(S("[]"), t, &h, &tmpl, &durs, err, 100), -EINVAL);
	buf_free(&tmpl);
	buf_free(&durs);
	buf_free(&out);
}

static void test_times_numbers(void **state)
{
	bool ok;
	assert_true(frame_parse_time("2023-11-14T22:00:00Z", 20, &ok) == 1699999200000LL && ok);
	assert_true(frame_parse_time("2023-11-14T22:00:00.5Z", 22, &ok) == 1699999200500LL && ok);
	assert_true(frame_parse_time("2023-11-14T22:00:00.123456Z", 27, &ok) == 1699999200123LL);
	frame_parse_time("2023-11-14 22:00:00Z", 20, &ok);
	assert_false(ok);
	frame_parse_time("2023-11-14T22:00:00+01", 22, &ok);
	assert_false(ok);
	int64_t m;
	assert_true(frame_parse_milli(S("12.345"), &m) && m == 12345);
	assert_true(frame_parse_milli(S("0"), &m) && m == 0);
	assert_false(frame_parse_milli(S("1.50"), &m));
	assert_false(frame_parse_milli(S("01"), &m));
	assert_false(frame_parse_milli(S("-1"), &m));
	assert_false(frame_parse_milli(S("1.2345"), &m));
	struct frame_num n;
	assert_true(frame_parse_number(S("-42"), &n) && n.isint && n.i == -42 && n.exact);
	assert_true(frame_parse_number(S("41.25"), &n) && !n.isint && n.d == 41.25 && n.exact);
	assert_true(frame_parse_number(S("1e3"), &n) && !n.isint && n.d == 1000 && !n.exact);
	assert_true(frame_parse_number(S("99999999999999999999"), &n) && !n.isint && !n.exact);
	assert_false(frame_parse_number(S("\"1\""), &n));
	assert_false(frame_parse_number(S("null"), &n));
}

static int points_seen;
static char seen[512];

static int point(void *ctx, struct js_span name, struct js_span labels, const struct frame_num *v)
{
	points_seen++;
	snprintf(seen + strlen(seen), sizeof(seen) - strlen(seen), "%.*s%.*s=%g;", (int)name.n,
	         name.p, (int)labels.n, labels.p, v->d);
	return 0;
}

static void test_metric_series(void **state)
{
	static const struct {
		const char *key, *base, *labels;
	} keys[] = {
	    {"memory", "memory", "{}"},
	    {"cpu", "cpu", "{}"},
	    {"cpu12", "cpu", "{\"cpu\":\"12\"}"},
	    {"cpuset", "cpuset", "{}"},
	    {"disk:/var/lib", "disk", "{\"mountpoint\":\"/var/lib\"}"},
	    {"diskio:vda", "diskio", "{\"device\":\"vda\"}"},
	    {"net:eth0", "net", "{\"interface\":\"eth0\"}"},
	    {"gpu:0", "gpu", "{\"instance\":\"0\"}"},
	};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		struct metric_key mk;
		struct buf b = BUF_INIT;
		assert_true(metric_series_key(S(keys[i].key), &mk));
		assert_true(js_eq(mk.base, keys[i].base));
		metric_series_labels(&mk, &b);
		assert_string_equal(buf_str(&b), keys[i].labels);
		buf_free(&b);
	}
	struct metric_key mk;
	assert_false(metric_series_key(S("a b"), &mk));
	assert_false(metric_series_key(S(":x"), &mk));
	assert_true(metric_series_feature(S("metric")));
	assert_false(metric_series_feature(S("metrics")));
	assert_false(metric_series_field(S("interval_s")));
	/* a record: numbers become points and '#', the rest stays */
	struct buf t = BUF_INIT;
	const char *v = "{\"used_pct\":41.25,\"dev\":\"vda\",\"x\":1e3,\"interval_s\":1,\"n\":null,"
	                "\"bad name\":2}";
	assert_int_equal(metric_series_record(S("disk:/"), S(v), &t, point, NULL), 1);
	assert_string_equal(buf_str(&t),
	                    "{\"used_pct\":#,\"dev\":\"vda\",\"x\":1e3,\"interval_s\":1,"
	                    "\"n\":null,\"bad name\":2}");
	assert_int_equal(points_seen, 2);
	assert_string_equal(seen, "disk.used_pct{\"mountpoint\":\"/\"}=41.25;"
	                          "disk.x{\"mountpoint\":\"/\"}=1000;");
	buf_reset(&t);
	assert_int_equal(metric_series_record(S("bad key"), S(v), &t, point, NULL), 0);
	assert_int_equal(metric_series_record(S("memory"), S("[1]"), &t, point, NULL), 0);
	buf_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lines),
	    cmocka_unit_test(test_header_template),
	    cmocka_unit_test(test_times_numbers),
	    cmocka_unit_test(test_metric_series),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
