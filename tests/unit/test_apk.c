/* Unit tests: the apk installed-database reader (features/pkgdb.c): good
 * entries, malformed lines, missing fields, every truncation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "features/pkgdb.h"

#define MAXP 8

struct seen {
	int n;
	struct pkg p[MAXP];
};

static int collect(void *ctx, const struct pkg *p)
{
	struct seen *s = ctx;
	if (s->n < MAXP)
		s->p[s->n] = *p;
	s->n++;
	return 0;
}

static void assert_str(const struct pkg_str *s, const char *want)
{
	assert_int_equal(s->len, strlen(want));
	assert_string_equal(s->s, want);
}

static const char sample[] = "C:Q1nWz8PsCVfu6U5R2NFNjzMfrFDJ8=\n"
                             "P:musl\n"
                             "V:1.2.4-r2\n"
                             "A:x86_64\n"
                             "S:383152\n"
                             "I:622592\n"
                             "T:the musl c library (libc) implementation\n"
                             "U:https://musl.libc.org/\n"
                             "L:MIT\n"
                             "o:musl\n"
                             "m:Timo Teras <timo.teras@iki.fi>\n"
                             "t:1698676587\n"
                             "F:lib\n"
                             "R:ld-musl-x86_64.so.1\n"
                             "a:0:0:755\n"
                             "Z:Q1ByX2tBVP2s/ll7LnRgzX5nK0WVo=\n"
                             "\n"
                             "C:Q1abc=\n"
                             "P:busybox-binsh\n"
                             "V:1.36.1-r5\n"
                             "A:x86_64\n"
                             "I:1\n"
                             "o:busybox\n"
                             "\n";

static void test_good(void **state)
{
	struct seen s = {0};
	assert_int_equal(apk_parse(sample, sizeof(sample) - 1, collect, &s), 0);
	assert_int_equal(s.n, 2);
	assert_str(&s.p[0].name, "musl");
	assert_str(&s.p[0].version, "1.2.4-r2");
	assert_str(&s.p[0].arch, "x86_64");
	assert_str(&s.p[0].source, "musl");
	assert_int_equal(s.p[0].size_kb, 608); /* 622592 bytes */
	assert_int_equal(s.p[0].bad, 0);
	assert_int_equal(s.p[0].offset, 0);
	assert_str(&s.p[1].name, "busybox-binsh");
	assert_str(&s.p[1].source, "busybox");
	assert_int_equal(s.p[1].size_kb, 1); /* 1 byte rounds up */
	assert_int_equal(s.p[1].offset, strstr(sample, "C:Q1abc") - sample);
}

static void test_broken(void **state)
{
	static const char in[] = "P:x\n"
	                         "no colon\n"
	                         "PP:y\n"
	                         "I:12k\n"
	                         "\n"
	                         "V:1\n" /* no name */
	                         "\n"
	                         "P:\n"; /* empty name */
	struct seen s = {0};
	assert_int_equal(apk_parse(in, sizeof(in) - 1, collect, &s), 0);
	assert_int_equal(s.n, 3);
	assert_str(&s.p[0].name, "x");
	assert_int_equal(s.p[0].bad, 3);
	assert_false(s.p[0].have & PKG_SIZE);
	assert_int_equal(s.p[1].have, PKG_VERSION);
	assert_int_equal(s.p[2].have, 0);
	assert_int_equal(s.p[2].bad, 1);
}

static void test_truncated_everywhere(void **state)
{
	for (size_t n = 0; n <= sizeof(sample) - 1; n++) {
		char *copy = malloc(n ? n : 1);
		memcpy(copy, sample, n);
		struct seen s = {0};
		assert_int_equal(apk_parse(copy, n, collect, &s), 0);
		assert_true(s.n <= 2);
		free(copy);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good),
	    cmocka_unit_test(test_broken),
	    cmocka_unit_test(test_truncated_everywhere),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
