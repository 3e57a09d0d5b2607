/*
 * Unit tests: the bodies of an alarm's actions (src/analytics/alarm_action.c):
 * Alertmanager's webhook body (version "4") and the /api/v2/alerts array,
 * field by field; firing vs resolved endsAt; the fingerprint (Alertmanager's
 * own, stable under the order of the series' labels); hostile label names
 * and values kept valid JSON and valid Prometheus label names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/alarm_action.h"

/* 2026-11-22T10:00:00Z and an ALARM begun 5 minutes before */
#define T_MS 1795341600000LL
#define SINCE_MS (T_MS - 300000)

static struct alarm_def def(void)
{
	struct alarm_def d;
	memset(&d, 0, sizeof(d));
	d.name = "mem";
	d.period_ms = 10000;
	d.severity = "critical";
	return d;
}

static struct alarm_notice notice(const struct alarm_def *d, enum alarm_state from,
                                  enum alarm_state to, const char *labels)
{
	struct alarm_notice n = {
	    .d = d,
	    .system_id = "c1",
	    .system_name = "web",
	    .labels = labels,
	    .from = from,
	    .to = to,
	    .reason = "3 of 3 points > 80 (81.5, 90, 85) in 09:57:00-10:00:00",
	    .data = "{\"recentDatapoints\":[81.5,90,85]}",
	    .time_ms = T_MS,
	    .since_ms = SINCE_MS,
	};
	return n;
}

static json_t *parse(const struct buf *b)
{
	json_error_t e;
	json_t *j = json_loadb(b->data, b->len, 0, &e);
	if (!j)
		fail_msg("not JSON (%s): %s", e.text, b->data);
	return j;
}

static const char *str(json_t *o, const char *path)
{
	/* "a.b.c": members of objects, a number for an array index */
	char p[256];
	snprintf(p, sizeof(p), "%s", path);
	json_t *cur = o;
	for (char *s = strtok(p, "."); s && cur; s = strtok(NULL, "."))
		cur = json_is_array(cur) ? json_array_get(cur, (size_t)atoi(s))
		                         : json_object_get(cur, s);
	if (!json_is_string(cur))
		fail_msg("%s: not a string", path);
	return json_string_value(cur);
}

static void test_webhook_firing(void **state)
{
	struct alarm_def d = def();
	struct alarm_notice n =
	    notice(&d, ALARM_STATE_OK, ALARM_STATE_ALARM, "{\"mountpoint\":\"/\"}");
	struct buf b = BUF_INIT;
	alarm_webhook_body(&n, &b);
	json_t *j = parse(&b);
	assert_string_equal(str(j, "version"), "4");
	assert_string_equal(str(j, "status"), "firing");
	assert_string_equal(str(j, "receiver"), "vantage");
	assert_string_equal(str(j, "groupKey"), "{}:{alertname=\"mem\", system=\"c1\"}");
	assert_string_equal(str(j, "groupLabels.alertname"), "mem");
	assert_string_equal(str(j, "groupLabels.system"), "c1");
	assert_string_equal(str(j, "externalURL"), "");
	assert_int_equal(json_integer_value(json_object_get(j, "truncatedAlerts")), 0);
	assert_int_equal(json_array_size(json_object_get(j, "alerts")), 1);
	/* labels: exactly these */
	json_t *l = json_object_get(json_array_get(json_object_get(j, "alerts"), 0), "labels");
	assert_int_equal(json_object_size(l), 5);
	assert_string_equal(str(j, "alerts.0.labels.alertname"), "mem");
	assert_string_equal(str(j, "alerts.0.labels.system"), "c1");
	assert_string_equal(str(j, "alerts.0.labels.system_name"), "web");
	assert_string_equal(str(j, "alerts.0.labels.severity"), "critical");
	assert_string_equal(str(j, "alerts.0.labels.mountpoint"), "/");
	assert_true(json_equal(l, json_object_get(j, "commonLabels")));
	assert_string_equal(str(j, "alerts.0.status"), "firing");
	assert_string_equal(str(j, "alerts.0.annotations.description"), n.reason);
	assert_string_equal(str(j, "alerts.0.annotations.summary"),
	                    "alarm mem is ALARM on web (was OK)");
	assert_string_equal(str(j, "alerts.0.annotations.state"), "ALARM");
	assert_string_equal(str(j, "alerts.0.annotations.previous_state"), "OK");
	assert_true(json_equal(
	    json_object_get(json_array_get(json_object_get(j, "alerts"), 0), "annotations"),
	    json_object_get(j, "commonAnnotations")));
	assert_string_equal(str(j, "alerts.0.startsAt"), "2026-11-22T09:55:00.000Z");
	assert_string_equal(str(j, "alerts.0.endsAt"), "0001-01-01T00:00:00Z");
	assert_string_equal(str(j, "alerts.0.generatorURL"), "/api/v1/alarms/mem");
	/* Alertmanager's fingerprint of these labels (FNV-1a 64, sorted, 0xff) */
	assert_string_equal(str(j, "alerts.0.fingerprint"), "3d04a8eb344051cb");
	json_decref(j);
	buf_free(&b);
}

static void test_webhook_resolved(void **state)
{
	struct alarm_def d = def();
	struct alarm_notice n =
	    notice(&d, ALARM_STATE_ALARM, ALARM_STATE_OK, "{\"mountpoint\":\"/\"}");
	struct buf b = BUF_INIT;
	alarm_webhook_body(&n, &b);
	json_t *j = parse(&b);
	assert_string_equal(str(j, "status"), "resolved");
	assert_string_equal(str(j, "alerts.0.status"), "resolved");
	assert_string_equal(str(j, "alerts.0.startsAt"), "2026-11-22T09:55:00.000Z");
	assert_string_equal(str(j, "alerts.0.endsAt"), "2026-11-22T10:00:00.000Z");
	/* the same alert: the same fingerprint */
	assert_string_equal(str(j, "alerts.0.fingerprint"), "3d04a8eb344051cb");
	json_decref(j);
	buf_free(&b);

	/* OK -> INSUFFICIENT_DATA: not firing */
	n = notice(&d, ALARM_STATE_OK, ALARM_STATE_INSUFFICIENT, NULL);
	alarm_webhook_body(&n, &b);
	j = parse(&b);
	assert_string_equal(str(j, "status"), "resolved");
	assert_string_equal(str(j, "alerts.0.annotations.state"), "INSUFFICIENT_DATA");
	json_decref(j);
	buf_free(&b);
}

static void test_fingerprint_stable(void **state)
{
	struct alarm_def d = def();
	const char *orders[] = {"{\"a\":\"1\",\"b\":\"2\"}", "{\"b\":\"2\",\"a\":\"1\"}"};
	char fp[2][17];
	for (int i = 0; i < 2; i++) {
		struct alarm_notice n = notice(&d, ALARM_STATE_OK, ALARM_STATE_ALARM, orders[i]);
		struct buf b = BUF_INIT;
		alarm_webhook_body(&n, &b);
		json_t *j = parse(&b);
		snprintf(fp[i], sizeof(fp[i]), "%s", str(j, "alerts.0.fingerprint"));
		assert_int_equal(strlen(fp[i]), 16);
		json_decref(j);
		buf_free(&b);
	}
	assert_string_equal(fp[0], fp[1]);
	/* another value: another alert */
	struct alarm_notice n =
	    notice(&d, ALARM_STATE_OK, ALARM_STATE_ALARM, "{\"a\":\"1\",\"b\":\"3\"}");
	struct buf b = BUF_INIT;
	alarm_webhook_body(&n, &b);
	json_t *j = parse(&b);
	assert_string_not_equal(str(j, "alerts.0.fingerprint"), fp[0]);
	json_decref(j);
	buf_free(&b);
}

static void test_hostile_labels(void **state)
{
	struct alarm_def d = def();
	d.name = "a\"b\\c\n</script>";
	/* a quote, a newline, a NUL escape, bytes that are not UTF-8 (as the
	 * store writes them: \udcXX), names that are not label names, and a
	 * series label trying to replace alertname */
	const char *labels = "{\"v\":\"x\\\"y\\nz\\u0000w\",\"bad\":\"\\udcff\\udcfe\","
	                     "\"my.label-1\":\"ok\",\"9lives\":\"cat\",\"alertname\":\"evil\","
	                     "\"num\":42}";
	struct alarm_notice n = notice(&d, ALARM_STATE_OK, ALARM_STATE_ALARM, labels);
	n.system_id = "c\"1";
	struct buf b = BUF_INIT;
	alarm_webhook_body(&n, &b);
	json_t *j = parse(&b);
	assert_string_equal(str(j, "alerts.0.labels.alertname"), "a\"b\\c\n</script>");
	assert_string_equal(str(j, "alerts.0.labels.system"), "c\"1");
	assert_string_equal(str(j, "alerts.0.labels.v"), "x\"y\nz\\0w");
	assert_string_equal(str(j, "alerts.0.labels.my_label_1"), "ok");
	assert_string_equal(str(j, "alerts.0.labels._9lives"), "cat");
	assert_string_equal(str(j, "alerts.0.labels.num"), "42");
	assert_string_equal(str(j, "alerts.0.labels.bad"), "\\xFF\\xFE");
	assert_string_equal(str(j, "groupKey"),
	                    "{}:{alertname=\"a\\\"b\\\\c\\n</script>\", system=\"c\\\"1\"}");
	assert_string_equal(str(j, "alerts.0.generatorURL"),
	                    "/api/v1/alarms/a%22b%5Cc%0A%3C%2Fscript%3E");
	/* one line of pure ASCII */
	for (size_t i = 0; i < b.len; i++)
		assert_true(b.data[i] >= ' ' && b.data[i] < 0x7f);
	json_decref(j);
	buf_free(&b);
	/* not an object: no series labels, still a body */
	n = notice(&d, ALARM_STATE_OK, ALARM_STATE_ALARM, "[1,2");
	alarm_webhook_body(&n, &b);
	j = parse(&b);
	assert_int_equal(json_object_size(json_object_get(j, "commonLabels")), 4);
	json_decref(j);
	buf_free(&b);
}

static void test_alertmanager_body(void **state)
{
	struct alarm_def d = def();
	struct alarm_notice n =
	    notice(&d, ALARM_STATE_OK, ALARM_STATE_ALARM, "{\"mountpoint\":\"/\"}");
	struct buf b = BUF_INIT;
	alarm_alertmanager_body(&n, &b);
	json_t *j = parse(&b);
	assert_true(json_is_array(j));
	assert_int_equal(json_array_size(j), 1);
	json_t *a = json_array_get(j, 0);
	assert_int_equal(json_object_size(a),
	                 5); /* labels annotations startsAt endsAt generatorURL */
	assert_int_equal(json_object_size(json_object_get(a, "labels")), 5);
	assert_string_equal(str(j, "0.labels.alertname"), "mem");
	assert_string_equal(str(j, "0.labels.severity"), "critical");
	assert_string_equal(str(j, "0.annotations.description"), n.reason);
	assert_string_equal(str(j, "0.startsAt"), "2026-11-22T09:55:00.000Z");
	/* firing: valid for 4 x max(period 10 s, resend 60 s) = 4 min */
	assert_string_equal(str(j, "0.endsAt"), "2026-11-22T10:04:00.000Z");
	assert_string_equal(str(j, "0.generatorURL"), "/api/v1/alarms/mem");
	json_decref(j);
	buf_free(&b);

	d.period_ms = 300000; /* a 5-minute period: 4 x 5 min */
	alarm_alertmanager_body(&n, &b);
	j = parse(&b);
	assert_string_equal(str(j, "0.endsAt"), "2026-11-22T10:20:00.000Z");
	json_decref(j);
	buf_free(&b);

	/* back to OK: endsAt = now, which resolves it */
	n = notice(&d, ALARM_STATE_ALARM, ALARM_STATE_OK, "{\"mountpoint\":\"/\"}");
	alarm_alertmanager_body(&n, &b);
	j = parse(&b);
	assert_string_equal(str(j, "0.endsAt"), "2026-11-22T10:00:00.000Z");
	assert_string_equal(str(j, "0.annotations.state"), "OK");
	json_decref(j);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_webhook_firing),     cmocka_unit_test(test_webhook_resolved),
	    cmocka_unit_test(test_fingerprint_stable), cmocka_unit_test(test_hostile_labels),
	    cmocka_unit_test(test_alertmanager_body),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
