/*
 * Unit tests: alarm evaluation (alarm_eval.c) - CloudWatch's table "How
 * alarm state is evaluated when data is missing" row for row under all
 * four treatments, the reason strings' format, and M-of-N damping of a
 * value oscillating around the threshold.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "analytics/alarm.h"

/* 2026-06-12T16:55:00Z */
#define T0 1781283300000LL

static void def(struct alarm_def *d, int m, int n, enum alarm_missing miss)
{
	alarm_def_init(d, "t");
	d->metric = strdup("cpu.used_pct");
	d->system = strdup("s");
	d->datapoints = m;
	d->evaluation_periods = n;
	d->cmp = ALARM_GT;
	d->threshold = 50;
	d->missing = miss;
}

/* "0 - X - X" -> points: 0 = 10 (ok), X = 90 (breaching), - = missing */
static size_t points(const char *s, struct alarm_point *p)
{
	size_t n = 0;
	for (; *s; s++) {
		if (*s == ' ')
			continue;
		p[n].t = T0 + (int64_t)n * 60000;
		p[n].present = *s != '-';
		p[n].v = *s == 'X' ? 90 : 10;
		n++;
	}
	return n;
}

#define KEEP 9 /* the state is kept (ignore) */

static const struct row {
	int m, n;
	const char *pts;
	int want[4]; /* missing, notBreaching, breaching, ignore */
} golden[] = {
    {3, 3, "0 - X - X", {ALARM_STATE_OK, ALARM_STATE_OK, ALARM_STATE_OK, ALARM_STATE_OK}},
    {3, 3, "0 - - - -", {ALARM_STATE_OK, ALARM_STATE_OK, ALARM_STATE_OK, ALARM_STATE_OK}},
    {3, 3, "- - - - -", {ALARM_STATE_INSUFFICIENT, ALARM_STATE_OK, ALARM_STATE_ALARM, KEEP}},
    {3,
     3,
     "0 X X - X",
     {ALARM_STATE_ALARM, ALARM_STATE_ALARM, ALARM_STATE_ALARM, ALARM_STATE_ALARM}},
    {3, 3, "- - - - X", {ALARM_STATE_INSUFFICIENT, ALARM_STATE_OK, ALARM_STATE_ALARM, KEEP}},
    {3, 3, "X - - - -", {ALARM_STATE_ALARM, ALARM_STATE_OK, ALARM_STATE_ALARM, KEEP}},
    {2,
     3,
     "0 - X - X",
     {ALARM_STATE_ALARM, ALARM_STATE_ALARM, ALARM_STATE_ALARM, ALARM_STATE_ALARM}},
    {2,
     3,
     "0 0 X 0 X",
     {ALARM_STATE_ALARM, ALARM_STATE_ALARM, ALARM_STATE_ALARM, ALARM_STATE_ALARM}},
    {2, 3, "0 - X - -", {ALARM_STATE_OK, ALARM_STATE_OK, ALARM_STATE_ALARM, ALARM_STATE_OK}},
    {2, 3, "- - - - 0", {ALARM_STATE_OK, ALARM_STATE_OK, ALARM_STATE_ALARM, ALARM_STATE_OK}},
    {2, 3, "- - - - X", {ALARM_STATE_INSUFFICIENT, ALARM_STATE_OK, ALARM_STATE_ALARM, KEEP}},
};

static void test_golden_table(void **state)
{
	for (size_t r = 0; r < sizeof(golden) / sizeof(golden[0]); r++) {
		for (int t = 0; t < 4; t++) {
			struct alarm_def d;
			struct alarm_point p[8];
			struct alarm_result res;
			def(&d, golden[r].m, golden[r].n, (enum alarm_missing)t);
			size_t n = points(golden[r].pts, p);
			assert_int_equal(n, (size_t)alarm_range_periods(&d));
			/* a kept state must be the current one, whichever it is */
			for (int cur = 0; cur < 3; cur++) {
				alarm_evaluate(&d, p, n, (enum alarm_state)cur, &res);
				int want = golden[r].want[t];
				int got = res.kept ? KEEP : (int)res.state;
				if (got != want)
					fail_msg("row %zu (%d/%d '%s') %s: got %d, want %d (%s)",
					         r + 1, golden[r].m, golden[r].n, golden[r].pts,
					         alarm_missing_name((enum alarm_missing)t), got,
					         want, res.reason);
				if (res.kept)
					assert_int_equal(res.state, cur);
				else
					assert_int_equal(res.evaluated, golden[r].n);
			}
			alarm_def_free(&d);
		}
	}
}

/* filled = max(0, N - real points in the range), for the filling treatments */
static void test_filled(void **state)
{
	static const struct {
		const char *pts;
		int filled;
	} rows[] = {{"0 - X - X", 0}, {"0 - - - -", 2}, {"- - - - -", 3},
	            {"0 X X - X", 0}, {"- - - - X", 2}, {"0 - X - -", 1}};
	for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		struct alarm_def d;
		struct alarm_point p[8];
		struct alarm_result res;
		def(&d, 2, 3, MISSING_BREACHING);
		size_t n = points(rows[r].pts, p);
		alarm_evaluate(&d, p, n, ALARM_STATE_OK, &res);
		assert_int_equal(res.filled, rows[r].filled);
		assert_int_equal(res.evaluated, 3);
		alarm_def_free(&d);
	}
}

static void test_reason_alarm(void **state)
{
	struct alarm_def d;
	struct alarm_point p[3];
	struct alarm_result res;
	def(&d, 1, 1, MISSING_MISSING);
	/* 2026-06-12 16:57, 16:58, 16:59 */
	for (int i = 0; i < 3; i++)
		p[i] = (struct alarm_point){T0 + (2 + i) * 60000LL, 10, true};
	p[2].v = 99.50160229693434;
	alarm_evaluate(&d, p, 3, ALARM_STATE_OK, &res);
	assert_int_equal(res.state, ALARM_STATE_ALARM);
	assert_string_equal(res.reason,
	                    "Threshold Crossed: 1 out of the last 1 datapoints [99.50160229693434 "
	                    "(12/06/26 16:59:00)] was greater than the threshold (50.0) (minimum 1 "
	                    "datapoint for OK -> ALARM transition). Evaluation range "
	                    "[2026-06-12T16:57:00Z, 2026-06-12T17:00:00Z] (3 periods of 60s).");
	assert_string_equal(
	    res.data,
	    "{\"version\":\"1.0\",\"queryDate\":\"2026-06-12T17:00:00.000Z\",\"startDate\":"
	    "\"2026-06-12T16:57:00.000Z\",\"statistic\":\"avg\",\"period\":60,\"recentDatapoints\":"
	    "[99.50160229693434],\"threshold\":50.0,\"evaluatedDatapoints\":[{\"timestamp\":"
	    "\"2026-06-12T16:59:00.000Z\",\"value\":99.50160229693434}]}");
	alarm_def_free(&d);
}

/* 3 of 5: back to OK needs N - M + 1 = 3 good points */
static void test_reason_ok(void **state)
{
	struct alarm_def d;
	struct alarm_point p[8];
	struct alarm_result res;
	def(&d, 3, 5, MISSING_NOT_BREACHING);
	d.threshold = 0;
	size_t n = points("X X X X X X X", p);
	for (size_t i = 0; i < n; i++)
		p[i].v = i < 4 ? 1 : -1; /* the newest three are not > 0 */
	alarm_evaluate(&d, p, n, ALARM_STATE_ALARM, &res);
	assert_int_equal(res.state, ALARM_STATE_OK);
	assert_string_equal(
	    res.reason, "Threshold Crossed: 3 out of the last 5 datapoints [-1.0 (12/06/26 "
	                "17:01:00), -1.0 (12/06/26 17:00:00), -1.0 (12/06/26 16:59:00)] were not "
	                "greater than the threshold (0.0) (minimum 3 datapoints for ALARM -> OK "
	                "transition). Evaluation range [2026-06-12T16:55:00Z, "
	                "2026-06-12T17:02:00Z] (7 periods of 60s).");
	/* two good points are not enough */
	p[4].v = 1;
	alarm_evaluate(&d, p, n, ALARM_STATE_ALARM, &res);
	assert_int_equal(res.state, ALARM_STATE_ALARM);
	assert_non_null(strstr(res.reason, "3 out of the last 5 datapoints ["));
	assert_non_null(strstr(res.reason, "(minimum 3 datapoints for OK -> ALARM transition)."));
	alarm_def_free(&d);
}

static void test_reason_filled(void **state)
{
	struct alarm_def d;
	struct alarm_point p[8];
	struct alarm_result res;
	def(&d, 3, 5, MISSING_NOT_BREACHING);
	size_t n = points("- - - - - - -", p);
	alarm_evaluate(&d, p, n, ALARM_STATE_ALARM, &res);
	assert_int_equal(res.state, ALARM_STATE_OK);
	assert_int_equal(res.filled, 5);
	assert_string_equal(res.reason,
	                    "Threshold Crossed: no datapoints were received for 7 periods and 5 "
	                    "missing datapoints were treated as [NonBreaching]. Evaluation range "
	                    "[2026-06-12T16:55:00Z, 2026-06-12T17:02:00Z] (7 periods of 60s).");
	assert_non_null(strstr(res.data, "{\"timestamp\":\"2026-06-12T17:01:00.000Z\",\"filled\":"
	                                 "\"NonBreaching\"}]}"));
	d.missing = MISSING_BREACHING;
	n = points("- - - - - 0 X", p);
	alarm_evaluate(&d, p, n, ALARM_STATE_OK, &res);
	assert_int_equal(res.state, ALARM_STATE_ALARM);
	assert_non_null(strstr(res.reason,
	                       "Threshold Crossed: 4 out of the last 5 datapoints [90.0 "
	                       "(12/06/26 17:01:00)] were greater than the threshold "
	                       "(50.0) (minimum 3 datapoints for OK -> ALARM "
	                       "transition). 3 missing datapoints were treated as "
	                       "[Breaching]. Evaluation range"));
	d.missing = MISSING_MISSING;
	alarm_evaluate(&d, p, n, ALARM_STATE_OK, &res);
	assert_int_equal(res.state, ALARM_STATE_OK);
	d.missing = MISSING_IGNORE;
	n = points("- - - - - - X", p);
	alarm_evaluate(&d, p, n, ALARM_STATE_OK, &res);
	assert_true(res.kept);
	assert_int_equal(res.state, ALARM_STATE_OK);
	assert_non_null(strstr(res.reason, "Unchanged: 1 of the 5 datapoints needed were received "
	                                   "and missing data is ignored, so the state stays OK."));
	d.missing = MISSING_MISSING;
	alarm_evaluate(&d, p, n, ALARM_STATE_OK, &res);
	assert_int_equal(res.state, ALARM_STATE_INSUFFICIENT);
	assert_non_null(strstr(res.reason,
	                       "Insufficient Data: 1 out of the last 5 datapoints [90.0 "
	                       "(12/06/26 17:01:00)] was greater than the threshold "
	                       "(50.0) (minimum 3 datapoints for OK -> ALARM "
	                       "transition) and 4 missing datapoints were treated as "
	                       "[Missing]."));
	alarm_def_free(&d);
}

/*
 * A value oscillating around the threshold, one point a minute for 30
 * minutes from the alarm's creation, evaluated every minute with the
 * range N + 2 (docs/alarms.md, "Oscillation"): state changes after the
 * first evaluation.
 */
static int oscillate(int m, int n, double period_min, double phase)
{
	struct alarm_def d;
	enum alarm_state st = ALARM_STATE_INSUFFICIENT;
	int changes = 0;
	def(&d, m, n, MISSING_MISSING);
	int R = alarm_range_periods(&d);
	for (int now = 1; now <= 30; now++) {
		struct alarm_point p[16];
		struct alarm_result res;
		for (int k = 0; k < R; k++) {
			int minute = now - R + k;
			p[k].t = T0 + minute * 60000LL;
			p[k].present = minute >= 0;
			p[k].v = 50 + 10 * sin(2 * M_PI * (minute + phase) / period_min);
		}
		alarm_evaluate(&d, p, (size_t)R, st, &res);
		if (res.state != st && st != ALARM_STATE_INSUFFICIENT)
			changes++;
		st = res.state;
	}
	alarm_def_free(&d);
	return changes;
}

static void test_oscillation(void **state)
{
	/* a 5-minute sine (crossing every 2.5 min): XX000 XX000 ..., never 3
	 * breaching among 5: 3/5 stays OK, 1/1 follows every crossing */
	assert_int_equal(oscillate(3, 5, 5, 0.75), 0);
	assert_int_equal(oscillate(1, 1, 5, 0.75), 11);
	/* a 6-minute sine (crossing every 3 min): XXX000 ..., runs of 3
	 * breaching reach M = 3: 3/5 changes as often as 1/1, later */
	assert_int_equal(oscillate(3, 5, 6, 0.5), 9);
	assert_int_equal(oscillate(1, 1, 6, 0.5), 9);
	/* 5/5 never alarms on either */
	assert_int_equal(oscillate(5, 5, 6, 0.5), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_golden_table),  cmocka_unit_test(test_filled),
	    cmocka_unit_test(test_reason_alarm),  cmocka_unit_test(test_reason_ok),
	    cmocka_unit_test(test_reason_filled), cmocka_unit_test(test_oscillation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
