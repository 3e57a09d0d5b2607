/*
 * Unit tests: util/regex_guard.c, the cost bound on a client's regular
 * expression before regcomp().  The patterns it refuses took glibc seconds
 * to compile (a '+' repeated: found by fuzz/fuzz_query.c through a PromQL
 * matcher); the ones it lets through compile at once; real ones of the
 * docs pass.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <regex.h>
#include <string.h>
#include <time.h>

#include "analytics/promql.h"
#include "util/regex_guard.h"

static void good(const char *p)
{
	char err[128];
	if (regex_guard(p, err, sizeof(err)) != 0)
		fail_msg("refused '%s': %s", p, err);
	regex_t re;
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	int rc = regcomp(&re, p, REG_EXTENDED | REG_NOSUB);
	clock_gettime(CLOCK_MONOTONIC, &b);
	if (rc == 0)
		regfree(&re);
	double ms = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
	if (ms > 200)
		fail_msg("'%s' passed and took %.0f ms to compile", p, ms);
}

static void bad(const char *p, const char *want)
{
	char err[128];
	if (regex_guard(p, err, sizeof(err)) != -EINVAL)
		fail_msg("let '%s' through", p);
	if (!strstr(err, want))
		fail_msg("'%s': '%s', want '%s'", p, err, want);
}

static void test_patterns(void **state)
{
	good("");
	good("vantage_memory_(used_pct|total_bytes)");
	good("^nginx:.master");
	good("a.*?b");
	good("[[:space:]]+x{2,5}");
	good("[]a]+[^]b]*\\(\\)+");
	good("x{1000}y{1000}z{1000}");
	good("(a+)+(b+)+(c+)+");
	good("a{");
	good("a{x}+");
	bad("v++++++++++++++++++++++", "'+' after another");
	bad("a**", "'*' after another");
	bad("a?*", "'*' after another");
	bad("a{2}{3}", "'{' after another");
	bad("a{1001}", "count past 1000");
	bad("a{1,5000}", "count past 1000");
	bad("(a{1000}){1000}", "more than 100000 nodes");
	bad("((a{100}){100}){100}", "more than 100000 nodes");
}

/* What the fuzzer found: a PromQL matcher's regex is an error, at once. */
static void test_promql(void **state)
{
	struct pq_node *n = NULL;
	char err[256];
	bool unsup = false;
	assert_int_equal(
	    pq_parse("x{a=~\"v+++++++++++++++++++++++++\"}", &n, err, sizeof(err), &unsup),
	    -EINVAL);
	assert_non_null(strstr(err, "invalid regular expression"));
	assert_null(n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_patterns),
	    cmocka_unit_test(test_promql),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
