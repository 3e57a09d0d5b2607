/*
 * Unit tests: metric math (alarm_math.c) - parse errors with their
 * positions, precedence and nesting, each function's values, missing
 * points and division by zero.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "analytics/alarm_math.h"

#define X NAN

static void parse_fails(const char *text, const char *want)
{
	struct math_expr *e = NULL;
	char err[256];
	assert_int_equal(math_parse(text, &e, err, sizeof(err)), -EINVAL);
	assert_null(e);
	assert_string_equal(err, want);
}

static void test_parse_errors(void **state)
{
	parse_fails("", "position 1: empty expression");
	parse_fails("a +", "position 4: unexpected end of the expression");
	parse_fails("(a + b", "position 7: expected ')' to close the '(' at position 1");
	parse_fails("a + b)", "position 6: unmatched ')'");
	parse_fails("a b", "position 3: unexpected 'b' after the expression");
	parse_fails("FOO(a)",
	            "position 1: unknown function 'FOO' (RATE, FILL, ABS, SUM, AVG, MAX, MIN)");
	parse_fails("FILL(a)", "position 7: expected ',' and the value of FILL(series, value)");
	parse_fails("FILL(a, b)", "position 9: the value of FILL must be a number, not a series");
	parse_fails("RATE(a, 1)", "position 7: too many arguments to RATE");
	parse_fails("ABS(a", "position 6: expected ')' to close ABS( at position 1");
	parse_fails("m{a=\"x\"", "position 2: unclosed '{' of the series' label matchers");
	parse_fails("a * # 2", "position 5: unexpected '#'");
}

static void test_refs(void **state)
{
	struct math_expr *e;
	const struct math_ref *r;
	char err[128];
	assert_int_equal(
	    math_parse("disk.used_pct{mountpoint=\"/\"} + m + SUM(m) + m", &e, err, sizeof(err)),
	    0);
	assert_int_equal(math_refs(e, &r), 3);
	assert_string_equal(r[0].metric, "disk.used_pct{mountpoint=\"/\"}");
	assert_false(r[0].across);
	assert_string_equal(r[1].metric, "m");
	assert_false(r[1].across);
	assert_string_equal(r[2].metric, "m");
	assert_true(r[2].across);
	math_free(e);
}

/* Evaluate text over refs a (one series) and b (one series) or the
 * across ref c (three series) as the parse ordered them, compare. */
static const double A[5] = {1, 2, X, 4, 10};
static const double B[5] = {2, X, X, 0, 5};
static const double C0[5] = {1, X, X, 3, 1}, C1[5] = {3, X, X, X, 2}, C2[5] = {5, X, X, 9, 3};

static void check(const char *text, const double want[5])
{
	struct math_expr *e;
	const struct math_ref *r;
	char err[200];
	double out[5];
	const double *sa[1] = {A}, *sb[1] = {B}, *sc[3] = {C0, C1, C2};
	struct math_input in[4];
	if (math_parse(text, &e, err, sizeof(err)) < 0)
		fail_msg("%s: %s", text, err);
	size_t n = math_refs(e, &r);
	assert_true(n <= 4);
	for (size_t i = 0; i < n; i++) {
		const char *m = r[i].metric;
		if (m[0] == 'a')
			in[i] = (struct math_input){sa, 1};
		else if (m[0] == 'b')
			in[i] = (struct math_input){sb, 1};
		else
			in[i] = (struct math_input){sc, 3};
	}
	if (math_eval(e, in, 5, 60000, out, err, sizeof(err)) < 0)
		fail_msg("%s: %s", text, err);
	for (int i = 0; i < 5; i++) {
		if (isnan(want[i]) ? !isnan(out[i]) : fabs(out[i] - want[i]) > 1e-9)
			fail_msg("%s slot %d: got %g, want %g", text, i, out[i], want[i]);
	}
	math_free(e);
}

static void test_values(void **state)
{
	/* precedence and associativity */
	check("1 + 2 * 3", (double[]){7, 7, 7, 7, 7});
	check("(1 + 2) * 3", (double[]){9, 9, 9, 9, 9});
	check("10 - 4 - 3", (double[]){3, 3, 3, 3, 3});
	check("24 / 4 / 2", (double[]){3, 3, 3, 3, 3});
	check("-2 * -3 + 1", (double[]){7, 7, 7, 7, 7});
	/* a number has no points: missing stays missing */
	check("a * 2", (double[]){2, 4, X, 8, 20});
	check("2 - a", (double[]){1, 0, X, -2, -8});
	/* series against series: missing is 0 when the other side has a point */
	check("a + b", (double[]){3, 2, X, 4, 15});
	check("a - b", (double[]){-1, 2, X, 4, 5});
	check("b - a", (double[]){1, -2, X, -4, -5});
	/* division by zero (and by a missing divisor taken as 0) drops the point */
	check("a / b", (double[]){0.5, X, X, X, 2});
	check("a / 0", (double[]){X, X, X, X, X});
	check("b / a", (double[]){2, 0, X, 0, 0.5});
	/* RATE: per second from the previous present slot (60 s slots) */
	check("RATE(a)", (double[]){X, 1.0 / 60, X, 2.0 / 120, 6.0 / 60});
	check("RATE(a) * 60", (double[]){X, 1, X, 1, 6});
	/* FILL */
	check("FILL(b, 7)", (double[]){2, 7, 7, 0, 5});
	check("FILL(b, -1 * 2)", (double[]){2, -2, -2, 0, 5});
	check("FILL(a, 0) + 1", (double[]){2, 3, 1, 5, 11});
	/* ABS */
	check("ABS(b - a)", (double[]){1, 2, X, 4, 5});
	/* across: missing ignored, all missing -> missing */
	check("SUM(c)", (double[]){9, X, X, 12, 6});
	check("AVG(c)", (double[]){3, X, X, 6, 2});
	check("MAX(c)", (double[]){5, X, X, 9, 3});
	check("MIN(c)", (double[]){1, X, X, 3, 1});
	check("SUM(FILL(c, 1))", (double[]){9, 3, 3, 13, 6});
	check("MAX(c * 2) / a", (double[]){10, 0, X, 4.5, 0.6}); /* no max: 0 against a */
	/* nesting */
	check("ABS(-(RATE(FILL(a, 0)) * 60))", (double[]){X, 1, 2, 4, 6});
	check("((a))", A);
}

static void test_several_series(void **state)
{
	struct math_expr *e;
	char err[200];
	double out[5];
	const double *s[2] = {A, B};
	struct math_input in = {s, 2};
	assert_int_equal(math_parse("a + 1", &e, err, sizeof(err)), 0);
	assert_int_equal(math_eval(e, &in, 5, 60000, out, err, sizeof(err)), -EINVAL);
	assert_string_equal(
	    err, "a: 2 series where one was expected (reduce them with SUM, AVG, MAX or MIN)");
	math_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_errors),
	    cmocka_unit_test(test_refs),
	    cmocka_unit_test(test_values),
	    cmocka_unit_test(test_several_series),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
