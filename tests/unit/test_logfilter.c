/*
 * Unit tests: the definitions of metric filters over the logs
 * (analytics/logfilter.h): keys, their checks and messages, a whole set
 * checked, copied and freed.  The runner is tested end to end by
 * tests/integration/logs_api.sh (a filter drives an alarm).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "analytics/logfilter.h"

static int set(struct logfilter_set *s, const char *name, const char *key, const char *value,
               char *err)
{
	return logfilter_set_key(s, name, key, value, err, 200);
}

static void test_keys(void **state)
{
	struct logfilter_set s = {0};
	char err[200];
	assert_int_equal(set(&s, "errors", "pattern", "ERROR|FATAL", err), 0);
	assert_int_equal(set(&s, "errors", "selector", "kind=container,image=nginx*", err), 0);
	assert_int_equal(set(&s, "errors", "source", "file:*", err), 0);
	assert_int_equal(set(&s, "errors", "period", "10s", err), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.v[0].name, "errors");
	assert_int_equal(s.v[0].period_ms, 10000);
	/* a second filter; the default period */
	assert_int_equal(set(&s, " took", "pattern", "took ([0-9]+) ms", err), 0);
	assert_int_equal(set(&s, "took", "value", "1", err), 0);
	assert_int_equal(set(&s, "took", "stat", "max", err), 0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.v[1].name, "took");
	assert_int_equal(s.v[1].period_ms, 60000);
	assert_int_equal(logfilter_check(&s, err, sizeof(err)), 0);
	struct logfilter_set c = {0};
	assert_int_equal(logfilter_set_copy(&c, &s), 0);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.v[1].pattern, "took ([0-9]+) ms");
	assert_string_equal(c.v[0].selector, "kind=container,image=nginx*");
	logfilter_set_free(&s);
	assert_int_equal(s.n, 0);
	assert_string_equal(c.v[0].source, "file:*");
	logfilter_set_free(&c);
}

static void test_bad_values(void **state)
{
	struct logfilter_set s = {0};
	char err[200];
	assert_int_equal(set(&s, "bad name", "pattern", "x", err), -EINVAL);
	assert_non_null(strstr(err, "log.NAME"));
	assert_int_equal(set(&s, "f", "pattern", "(", err), -EINVAL);
	assert_non_null(strstr(err, "not a POSIX extended regular expression"));
	assert_int_equal(set(&s, "f", "period", "0.5", err), -EINVAL);
	assert_int_equal(set(&s, "f", "period", "2d", err), -EINVAL);
	assert_int_equal(set(&s, "f", "stat", "median", err), -EINVAL);
	assert_int_equal(set(&s, "f", "value", "a-b", err), -EINVAL);
	assert_int_equal(set(&s, "f", "selector", "nokey", err), -EINVAL);
	assert_int_equal(set(&s, "f", "treshold", "1", err), -ENOENT);
	assert_non_null(strstr(err, "unknown key"));
	logfilter_set_free(&s);
}

static void test_check(void **state)
{
	struct logfilter_set s = {0};
	char err[200];
	/* no pattern */
	assert_int_equal(set(&s, "a", "period", "1m", err), 0);
	assert_int_equal(logfilter_check(&s, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "[logfilter a]: no pattern");
	/* system and selector */
	assert_int_equal(set(&s, "a", "pattern", "x", err), 0);
	assert_int_equal(set(&s, "a", "system", "web", err), 0);
	assert_int_equal(set(&s, "a", "selector", "kind=host", err), 0);
	assert_int_equal(logfilter_check(&s, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not both"));
	logfilter_set_free(&s);
	/* a stat without a value; a group the pattern does not have */
	assert_int_equal(set(&s, "b", "pattern", "took ([0-9]+)", err), 0);
	assert_int_equal(set(&s, "b", "stat", "sum", err), 0);
	assert_int_equal(logfilter_check(&s, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "stat needs a value"));
	assert_int_equal(set(&s, "b", "value", "2", err), 0);
	assert_int_equal(logfilter_check(&s, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "has 1 group"));
	assert_int_equal(set(&s, "b", "value", "duration", err), 0);
	assert_int_equal(logfilter_check(&s, err, sizeof(err)), 0);
	logfilter_set_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_keys),
	    cmocka_unit_test(test_bad_values),
	    cmocka_unit_test(test_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
