/*
 * Unit tests: alarm definitions (alarm_def.c) - every key, every error
 * message, the consistency check, JSON both ways.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "analytics/alarm.h"
#include "analytics/alarm_engine.h"
#include "tmpstore.h"
#include "util/buf.h"
#include "util/json.h"

static void set_ok(struct alarm_def *d, const char *k, const char *v)
{
	char err[512];
	if (alarm_def_set(d, k, v, err, sizeof(err)) != 0)
		fail_msg("%s = %s: %s", k, v, err);
}

static void set_bad(const char *k, const char *v, int rc, const char *want)
{
	struct alarm_def d;
	char err[512];
	alarm_def_init(&d, "a");
	assert_int_equal(alarm_def_set(&d, k, v, err, sizeof(err)), rc);
	assert_string_equal(err, want);
	alarm_def_free(&d);
}

static void test_defaults(void **state)
{
	struct alarm_def d;
	alarm_def_init(&d, "cpu-high");
	assert_string_equal(d.name, "cpu-high");
	assert_int_equal(d.type, ALARM_METRIC);
	assert_string_equal(d.stat, "avg");
	assert_int_equal(d.period_ms, 60000);
	assert_int_equal(d.evaluation_periods, 1);
	assert_int_equal(alarm_def_datapoints(&d), 1);
	assert_int_equal(d.missing, MISSING_MISSING);
	assert_int_equal(alarm_def_warmup_ms(&d), 60000);
	set_ok(&d, "evaluation_periods", "5");
	assert_int_equal(alarm_def_datapoints(&d), 5);
	assert_int_equal(alarm_def_warmup_ms(&d), 300000);
	assert_string_equal(alarm_state_name(ALARM_STATE_INSUFFICIENT), "INSUFFICIENT_DATA");
	assert_string_equal(alarm_cmp_name(ALARM_LE), "<=");
	assert_string_equal(alarm_missing_name(MISSING_NOT_BREACHING), "notBreaching");
	alarm_def_free(&d);
}

static void test_keys(void **state)
{
	struct alarm_def d, c;
	char err[256];
	alarm_def_init(&d, "a");
	set_ok(&d, "metric", "disk.used_pct{mountpoint=\"/\"}");
	assert_string_equal(d.metric, "disk.used_pct{mountpoint=\"/\"}");
	set_ok(&d, "system", "web1");
	assert_string_equal(d.system, "web1");
	set_ok(&d, "stat", "p99");
	assert_string_equal(d.stat, "p99");
	set_ok(&d, "stat", "Maximum");
	assert_string_equal(d.stat, "max");
	set_ok(&d, "stat", "SampleCount");
	assert_string_equal(d.stat, "count");
	set_ok(&d, "period", "5m");
	assert_int_equal(d.period_ms, 300000);
	set_ok(&d, "period", "90");
	assert_int_equal(d.period_ms, 90000);
	set_ok(&d, "datapoints", "2");
	set_ok(&d, "evaluation_periods", "3");
	assert_int_equal(alarm_def_datapoints(&d), 2);
	static const struct {
		const char *text;
		enum alarm_cmp c;
	} cmps[] = {{">", ALARM_GT},
	            {">=", ALARM_GE},
	            {"<", ALARM_LT},
	            {"<=", ALARM_LE},
	            {"GreaterThanThreshold", ALARM_GT},
	            {"GreaterThanOrEqualToThreshold", ALARM_GE},
	            {"LessThanThreshold", ALARM_LT},
	            {"LessThanOrEqualToThreshold", ALARM_LE}};
	for (size_t i = 0; i < sizeof(cmps) / sizeof(cmps[0]); i++) {
		set_ok(&d, "comparison", cmps[i].text);
		assert_int_equal(d.cmp, cmps[i].c);
	}
	set_ok(&d, "threshold", "-1.5e3");
	assert_true(d.threshold == -1500);
	const char *miss[] = {"missing", "notBreaching", "breaching", "ignore"};
	for (int i = 0; i < 4; i++) {
		set_ok(&d, "missing", miss[i]);
		assert_int_equal(d.missing, i);
	}
	set_ok(&d, "warmup", "10m");
	assert_int_equal(alarm_def_warmup_ms(&d), 600000);
	set_ok(&d, "warmup", "0");
	assert_int_equal(alarm_def_warmup_ms(&d), 0);
	set_ok(&d, "webhook", "http://127.0.0.1:9099/hook");
	set_ok(&d, "alertmanager", "https://am.example:9093");
	set_ok(&d, "command", "logger -t alarm");
	set_ok(&d, "severity", "critical");
	set_ok(&d, "description", "disk filling up");
	assert_string_equal(d.description, "disk filling up");
	assert_int_equal(alarm_def_check(&d, err, sizeof(err)), 0);
	/* a copy owns its strings */
	assert_int_equal(alarm_def_copy(&c, &d), 0);
	assert_ptr_not_equal(c.metric, d.metric);
	assert_string_equal(c.webhook, d.webhook);
	alarm_def_free(&d);
	assert_string_equal(c.severity, "critical");
	alarm_def_free(&c);

	alarm_def_init(&d, "m");
	set_ok(&d, "expr", "SUM(memory.used_bytes) / 1024");
	set_ok(&d, "selector", "image=nginx:*");
	assert_int_equal(alarm_def_check(&d, err, sizeof(err)), 0);
	alarm_def_free(&d);

	alarm_def_init(&d, "r");
	set_ok(&d, "rule", "process_gone");
	assert_int_equal(d.type, ALARM_DRIFT);
	set_ok(&d, "selector", "kind=container");
	assert_int_equal(alarm_def_check(&d, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "pattern: rule 'process_gone' needs a pattern (the command)");
	set_ok(&d, "pattern", "nginx*");
	assert_int_equal(alarm_def_check(&d, err, sizeof(err)), 0);
	alarm_def_free(&d);
	for (int i = 0; i < 3; i++) {
		const char *r[] = {"listen", "package", "config"};
		alarm_def_init(&d, "r");
		set_ok(&d, "rule", r[i]);
		set_ok(&d, "system", "db");
		assert_int_equal(alarm_def_check(&d, err, sizeof(err)), 0);
		alarm_def_free(&d);
	}
}

static void test_set_errors(void **state)
{
	set_bad(
	    "colour", "red", -ENOENT,
	    "colour: unknown key (metric, expr, system, selector, stat, period, datapoints, "
	    "evaluation_periods, comparison, threshold, missing, warmup, rule, pattern, webhook, "
	    "alertmanager, command, severity, description)");
	set_bad("metric", "cpu used", -EINVAL,
	        "metric: 'cpu used' is not a series name (disk.used_pct{mountpoint=\"/\"})");
	set_bad("expr", "a +", -EINVAL, "expr: position 4: unexpected end of the expression");
	set_bad("system", "", -EINVAL, "system: '' is empty");
	set_bad("selector", "", -EINVAL, "selector: '' is empty");
	set_bad("stat", "median", -EINVAL,
	        "stat: 'median' is not one of avg, min, max, sum, count, p1..p99");
	set_bad("stat", "p100", -EINVAL,
	        "stat: 'p100' is not one of avg, min, max, sum, count, p1..p99");
	set_bad("stat", "p0", -EINVAL,
	        "stat: 'p0' is not one of avg, min, max, sum, count, p1..p99");
	set_bad("period", "soon", -EINVAL,
	        "period: 'soon' is not a duration (90, 90s, 5m, 1h, 1d)");
	set_bad("period", "500ms", -EINVAL, "period: '500ms' is shorter than 1 s");
	set_bad("period", "1.5", -EINVAL, "period: '1.5' is not a whole number of seconds");
	set_bad("datapoints", "two", -EINVAL, "datapoints: 'two' is not a whole number");
	set_bad("datapoints", "0", -EINVAL, "datapoints: '0' is not in 1..1000000");
	set_bad("evaluation_periods", "-1", -EINVAL,
	        "evaluation_periods: '-1' is not in 1..1000000");
	set_bad("comparison", "=>", -EINVAL,
	        "comparison: '=>' is not one of >, >=, <, <= (or GreaterThanThreshold, "
	        "GreaterThanOrEqualToThreshold, LessThanThreshold, LessThanOrEqualToThreshold)");
	set_bad("threshold", "high", -EINVAL, "threshold: 'high' is not a number");
	set_bad("threshold", "inf", -EINVAL, "threshold: 'inf' is not a number");
	set_bad("missing", "zero", -EINVAL,
	        "missing: 'zero' is not one of missing, notBreaching, breaching, ignore");
	set_bad("warmup", "-1m", -EINVAL, "warmup: '-1m' is not a duration (90, 90s, 5m, 1h, 1d)");
	set_bad("rule", "port", -EINVAL,
	        "rule: 'port' is not one of listen, package, config, process_gone");
	set_bad("pattern", "", -EINVAL, "pattern: '' is empty");
	set_bad("webhook", "ftp://x", -EINVAL,
	        "webhook: 'ftp://x' is not an http:// or https:// URL");
	set_bad("alertmanager", "http://", -EINVAL,
	        "alertmanager: 'http://' is not an http:// or https:// URL");
	set_bad("command", "", -EINVAL, "command: '' is empty");
	set_bad("severity", "", -EINVAL, "severity: '' is empty");
	/* a definition is stored as JSON and read back with jansson: text that
	 * is not UTF-8 could not be (found by fuzz_alarm: fuzz/regress/alarm/) */
	set_bad("description", "caf\xe9", -EINVAL, "description: 'caf\xe9' is not valid UTF-8");
	set_bad("system", "db-\xc3", -EINVAL, "system: 'db-\xc3' is not valid UTF-8");
	set_bad("selector", "name=\xed\xa0\x80", -EINVAL,
	        "selector: 'name=\xed\xa0\x80' is not valid UTF-8"); /* a surrogate */
	struct alarm_def d;
	alarm_def_init(&d, "a");
	set_ok(&d, "description", "caf\xc3\xa9 \xf0\x9f\x94\xa5"); /* valid UTF-8 stays */
	assert_string_equal(d.description, "caf\xc3\xa9 \xf0\x9f\x94\xa5");
	alarm_def_free(&d);
}

/* alarm_def_check on a definition built from "key=value;..." */
static void check_bad(const char *name, const char *kv, const char *want)
{
	struct alarm_def d;
	char err[256], buf[512];
	alarm_def_init(&d, name);
	snprintf(buf, sizeof(buf), "%s", kv);
	for (char *save, *tok = strtok_r(buf, ";", &save); tok; tok = strtok_r(NULL, ";", &save)) {
		char *eq = strchr(tok, '=');
		*eq = 0;
		set_ok(&d, tok, eq + 1);
	}
	assert_int_equal(alarm_def_check(&d, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, want);
	alarm_def_free(&d);
}

static void test_check_errors(void **state)
{
	check_bad("", "metric=m;system=s", "name: '' is empty or longer than 127 bytes");
	check_bad("a/b", "metric=m;system=s", "name: 'a/b' holds '/' or a control character");
	/* PUT /api/v1/alarms/a%FF: stored, then not read back (fuzz/fuzz_http.c) */
	check_bad("a\xff\xfftest", "metric=m;system=s", "name: is not valid UTF-8");
	check_bad("caf\xe9", "metric=m;system=s", "name: is not valid UTF-8");
	check_bad("a", "system=s", "metric: an alarm needs exactly one of metric, expr, rule");
	check_bad("a", "metric=m;expr=m*2;system=s",
	          "metric/expr/rule: an alarm needs exactly one of metric, expr, rule");
	check_bad("a", "metric=m;rule=listen;system=s",
	          "metric/expr/rule: an alarm needs exactly one of metric, expr, rule");
	check_bad("a", "metric=m", "system: an alarm needs exactly one of system, selector");
	check_bad("a", "metric=m;system=s;selector=k=v",
	          "system/selector: an alarm needs exactly one of system, selector");
	check_bad("a", "metric=m;system=s;datapoints=4;evaluation_periods=3",
	          "datapoints: '4' is not in 1..3 (evaluation_periods)");
	check_bad("a", "metric=m;system=s;period=1h;evaluation_periods=169",
	          "evaluation_periods: 169 periods of 3600s are more than 7 days (604800 s)");
	check_bad("a", "metric=m;system=s;pattern=x", "pattern: 'x' is only for rule alarms");
	/* exactly 7 days is allowed */
	struct alarm_def d;
	char err[256];
	alarm_def_init(&d, "a");
	set_ok(&d, "metric", "m");
	set_ok(&d, "system", "s");
	set_ok(&d, "period", "1h");
	set_ok(&d, "evaluation_periods", "168");
	assert_int_equal(alarm_def_check(&d, err, sizeof(err)), 0);
	alarm_def_free(&d);
}

static void to_json(const struct alarm_def *d, struct buf *b)
{
	struct json j;
	buf_reset(b);
	jw_init(&j, b);
	alarm_def_json(d, &j);
	assert_true(jw_ok(&j));
}

static void test_json(void **state)
{
	struct alarm_def d, e;
	struct buf b = BUF_INIT, b2 = BUF_INIT;
	char err[256];
	const char *in =
	    "{\"metric\":\"memory.used_pct\",\"selector\":\"image=nginx:*\","
	    "\"stat\":\"p95\",\"period\":\"5m\",\"datapoints\":\"3\","
	    "\"evaluation_periods\":5,\"comparison\":\"GreaterThanOrEqualToThreshold\","
	    "\"threshold\":80.5,\"missing\":\"breaching\",\"webhook\":"
	    "\"http://127.0.0.1:9/h\",\"severity\":\"page\",\"description\":\"mem\"}";
	assert_int_equal(alarm_def_from_json(&d, "mem", in, strlen(in), err, sizeof(err)), 0);
	assert_int_equal(d.period_ms, 300000);
	assert_int_equal(d.datapoints, 3);
	assert_int_equal(d.cmp, ALARM_GE);
	to_json(&d, &b);
	assert_string_equal(
	    buf_str(&b), "{\"name\":\"mem\",\"type\":\"metric\",\"description\":\"mem\",\"system\":"
	                 "null,\"selector\":\"image=nginx:*\",\"metric\":\"memory.used_pct\","
	                 "\"expr\":null,\"stat\":\"p95\",\"period\":300,\"datapoints\":3,"
	                 "\"evaluation_periods\":5,\"comparison\":\">=\",\"threshold\":80.5,"
	                 "\"missing\":\"breaching\",\"warmup\":1500,\"webhook\":"
	                 "\"http://127.0.0.1:9/h\",\"alertmanager\":null,\"command\":null,"
	                 "\"severity\":\"page\"}");
	/* json -> def -> json: equal */
	assert_int_equal(alarm_def_from_json(&e, NULL, b.data, b.len, err, sizeof(err)), 0);
	to_json(&e, &b2);
	assert_string_equal(buf_str(&b), buf_str(&b2));
	alarm_def_free(&e);
	alarm_def_free(&d);

	const char *drift = "{\"rule\":\"process_gone\",\"pattern\":\"nginx*\",\"system\":\"web\","
	                    "\"command\":\"cat\",\"threshold\":0.1}";
	assert_int_equal(alarm_def_from_json(&d, "gone", drift, strlen(drift), err, sizeof(err)),
	                 0);
	to_json(&d, &b);
	assert_string_equal(buf_str(&b),
	                    "{\"name\":\"gone\",\"type\":\"drift\",\"description\":null,"
	                    "\"system\":\"web\",\"selector\":null,\"rule\":"
	                    "\"process_gone\",\"pattern\":\"nginx*\",\"webhook\":null,"
	                    "\"alertmanager\":null,\"command\":\"cat\",\"severity\":null}");
	assert_int_equal(alarm_def_from_json(&e, "gone", b.data, b.len, err, sizeof(err)), 0);
	to_json(&e, &b2);
	assert_string_equal(buf_str(&b), buf_str(&b2));
	alarm_def_free(&e);
	alarm_def_free(&d);
	buf_free(&b);
	buf_free(&b2);
}

static void json_bad(const char *json, const char *want)
{
	struct alarm_def d;
	char err[256];
	assert_int_equal(alarm_def_from_json(&d, "a", json, strlen(json), err, sizeof(err)),
	                 -EINVAL);
	assert_string_equal(err, want);
}

static void test_json_errors(void **state)
{
	json_bad("{\"metric\":", "not JSON: unexpected token near end of file at byte 10");
	json_bad("[1]", "not a JSON object");
	json_bad("{\"metric\":\"m\",\"system\":\"s\",\"colour\":\"red\"}",
	         "colour: unknown member");
	json_bad("{\"metric\":\"m\",\"system\":\"s\",\"period\":true}",
	         "period: is not a string or a number");
	json_bad("{\"metric\":\"m\",\"system\":\"s\",\"period\":0.5}",
	         "period: '0.5' is shorter than 1 s");
	json_bad("{\"metric\":\"m\",\"system\":\"s\",\"name\":\"b\"}",
	         "name: 'b' is not the alarm's name 'a'");
	json_bad("{\"metric\":\"m\",\"system\":\"s\",\"type\":\"drift\"}",
	         "type: 'drift' does not match the members (metric or expr: metric)");
	json_bad("{\"metric\":\"m\",\"system\":\"s\",\"type\":\"composite\"}",
	         "type: 'composite' is not one of metric, drift");
	json_bad("{\"metric\":\"m\"}", "system: an alarm needs exactly one of system, selector");
}

/* A saved definition read back (alarm_store_def, as `vantage alarms test`
 * and POST .../test without a body do): *d is set in every case and
 * nothing of it leaks (ASan; fuzz/fuzz_http.c found the handlers' own
 * alarm_def_init before it leaking). */
static void test_store_def(void **state)
{
	struct store *s = tmpstore_open(STORE_RW);
	assert_int_equal(store_object_put(s, "alarm", "mem",
	                                  "{\"source\":\"api\",\"definition\":{\"metric\":"
	                                  "\"memory.used_pct\",\"system\":\"host:a\","
	                                  "\"threshold\":80}}",
	                                  1),
	                 0);
	struct alarm_def d;
	char err[256];
	assert_int_equal(alarm_store_def(s, "mem", &d, err, sizeof(err)), 0);
	assert_string_equal(d.metric, "memory.used_pct");
	assert_true(d.threshold == 80);
	alarm_def_free(&d);
	assert_int_equal(alarm_store_def(s, "nope", &d, err, sizeof(err)), -ENOENT);
	assert_string_equal(d.name, "nope"); /* the defaults */
	assert_string_equal(d.stat, "avg");
	alarm_def_free(&d);
	store_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_keys),
	    cmocka_unit_test(test_set_errors),
	    cmocka_unit_test(test_check_errors),
	    cmocka_unit_test(test_json),
	    cmocka_unit_test(test_json_errors),
	    cmocka_unit_test_setup_teardown(test_store_def, tmpstore_setup, tmpstore_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
