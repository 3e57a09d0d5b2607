/* Unit tests: the chart endpoint's downsampling (server/api_chart.c): at
 * most two points per bucket, each bucket's minimum and maximum kept in
 * time order (a spike survives), a stepped limit keeps its steps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

#include "server/api_chart.h"

#define DAY (86400 * 1000LL)
#define N 8640 /* a day at 10 s */

struct pts {
	int64_t t[N];
	double v[N];
	int64_t ot[N];
	double ov[N];
};

static struct pts *day(double base)
{
	struct pts *p = calloc(1, sizeof(*p));
	for (int i = 0; i < N; i++) {
		p->t[i] = 1000000000000LL + i * 10000LL;
		p->v[i] = base + (i % 7); /* small wiggle */
	}
	return p;
}

static void test_spike_survives(void **state)
{
	struct pts *p = day(10);
	p->v[4321] = 1e6; /* one sample up */
	p->v[777] = -50;  /* one sample down */
	size_t n = chart_downsample(p->t, p->v, N, p->t[0], DAY / 800, 800, p->ot, p->ov);
	assert_true(n <= 2 * 800);
	assert_true(n >= 800);
	bool up = false, down = false;
	for (size_t i = 0; i < n; i++) {
		up |= p->ov[i] == 1e6 && p->ot[i] == p->t[4321];
		down |= p->ov[i] == -50 && p->ot[i] == p->t[777];
		if (i)
			assert_true(p->ot[i] > p->ot[i - 1]); /* time order */
	}
	assert_true(up);
	assert_true(down);
	free(p);
}

static void test_at_most_two_per_pixel(void **state)
{
	struct pts *p = day(0);
	for (size_t width = 1; width <= 2000; width = width * 3 + 1) {
		int64_t bucket = (DAY + (int64_t)width - 1) / (int64_t)width;
		size_t n = chart_downsample(p->t, p->v, N, p->t[0], bucket, width, p->ot, p->ov);
		assert_true(n <= 2 * width);
		assert_true(n >= (width < N ? width : N) / 2);
	}
	/* fewer points than pixels: every point, unchanged */
	size_t n = chart_downsample(p->t, p->v, 100, p->t[0], 1000, 100000, p->ot, p->ov);
	assert_int_equal(n, 100);
	for (size_t i = 0; i < n; i++) {
		assert_true(p->ot[i] == p->t[i]);
		assert_true(p->ov[i] == p->v[i]);
	}
	free(p);
}

static void test_limit_step(void **state)
{
	struct pts *p = day(0);
	for (int i = 0; i < N; i++) /* a memory limit raised once, at noon */
		p->v[i] = i < N / 2 ? 256.0 * 1048576 : 512.0 * 1048576;
	size_t n = chart_downsample(p->t, p->v, N, p->t[0], DAY / 400, 400, p->ot, p->ov);
	assert_true(n <= 800);
	int changes = 0;
	for (size_t i = 1; i < n; i++)
		changes += p->ov[i] != p->ov[i - 1];
	assert_int_equal(changes, 1);
	assert_true(p->ov[0] == 256.0 * 1048576);
	assert_true(p->ov[n - 1] == 512.0 * 1048576);
	/* the step is where it happened, to the bucket */
	for (size_t i = 1; i < n; i++)
		if (p->ov[i] != p->ov[i - 1])
			assert_true(p->ot[i] - p->t[N / 2] < DAY / 400);
	free(p);
}

static void test_edges(void **state)
{
	int64_t t[] = {500, 1000, 2000, 99000};
	double v[] = {1, NAN, 3, 4};
	int64_t ot[8];
	double ov[8];
	/* NaN skipped; before `from` -> first bucket, past the end -> last */
	size_t n = chart_downsample(t, v, 4, 1000, 1000, 3, ot, ov);
	assert_int_equal(n, 3);
	assert_true(ov[0] == 1 && ov[1] == 3 && ov[2] == 4);
	assert_int_equal(chart_downsample(t, v, 0, 0, 1000, 3, ot, ov), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_spike_survives),
	    cmocka_unit_test(test_at_most_two_per_pixel),
	    cmocka_unit_test(test_limit_step),
	    cmocka_unit_test(test_edges),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
