/* Unit tests: the os-release parser (features/os_release.c) with good,
 * quoted, garbage, truncated and unterminated input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "features/os_release.h"

#define S(lit) lit, sizeof(lit) - 1

static void assert_val(const struct os_release_val *v, const char *want)
{
	if (!want) {
		assert_null(v->s);
		return;
	}
	assert_non_null(v->s);
	assert_int_equal(v->len, strlen(want));
	assert_memory_equal(v->s, want, v->len);
}

static void test_debian(void **state)
{
	static const char in[] = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"
	                         "NAME=\"Debian GNU/Linux\"\n"
	                         "VERSION_ID=\"12\"\n"
	                         "VERSION=\"12 (bookworm)\"\n"
	                         "VERSION_CODENAME=bookworm\n"
	                         "ID=debian\n"
	                         "HOME_URL=\"https://www.debian.org/\"\n";
	struct os_release r;
	assert_int_equal(os_release_parse(S(in), &r), 0);
	assert_val(&r.pretty_name, "Debian GNU/Linux 12 (bookworm)");
	assert_val(&r.name, "Debian GNU/Linux");
	assert_val(&r.version_id, "12");
	assert_val(&r.version, "12 (bookworm)");
	assert_val(&r.version_codename, "bookworm");
	assert_val(&r.id, "debian");
	assert_val(&r.id_like, NULL);
	assert_int_equal(r.assignments, 7);
	assert_int_equal(r.ignored, 0);
	assert_false(r.truncated);
	os_release_free(&r);
}

static void test_quoting(void **state)
{
	static const char in[] = "# a comment\n"
	                         "\n"
	                         "   \t\n"
	                         "NAME='single \"quoted\" $x \\n'\n"
	                         "ID=\"a\\\"b\\\\c\\$d\\`e\\qf\"\n" /* \q stays */
	                         "ID_LIKE=rhel\\ fedora   \n"
	                         "VERSION=\"multi\nline\"\n"
	                         "VERSION_ID = 7 \r\n"
	                         "PRETTY_NAME=\"con\"'cat'enated\n"
	                         "VARIANT_ID=\"a\\\ncontinued\"\n"
	                         "BUILD_ID=\n"
	                         "VERSION_CODENAME=first\n"
	                         "VERSION_CODENAME=second\n";
	struct os_release r;
	assert_int_equal(os_release_parse(S(in), &r), 0);
	assert_val(&r.name, "single \"quoted\" $x \\n");
	assert_val(&r.id, "a\"b\\c$d`e\\qf");
	assert_val(&r.id_like, "rhel fedora");
	assert_val(&r.version, "multi\nline");
	assert_val(&r.version_id, "7");
	assert_val(&r.pretty_name, "concatenated");
	assert_val(&r.variant_id, "acontinued");
	assert_val(&r.build_id, "");
	assert_val(&r.version_codename, "second");
	assert_int_equal(r.ignored, 0);
	os_release_free(&r);
}

static void test_garbage(void **state)
{
	static const char in[] = "this is not an assignment\n"
	                         "=value\n"
	                         "1ABC=x\n"
	                         "export ID=evil\n"
	                         "NAME\n"
	                         "\x01\x02\xff\xfe\n"
	                         "ID=ok\n"
	                         "NAME=\"\xff\xfe bytes\"\n";
	struct os_release r;
	assert_int_equal(os_release_parse(S(in), &r), 0);
	assert_int_equal(r.ignored, 6);
	assert_val(&r.id, "ok");
	assert_val(&r.name, "\xff\xfe bytes");
	os_release_free(&r);
}

static void test_embedded_nul(void **state)
{
	static const char in[] = "NAME=a\0b\nID=x\n";
	struct os_release r;
	assert_int_equal(os_release_parse(in, sizeof(in) - 1, &r), 0);
	assert_int_equal(r.name.len, 3);
	assert_memory_equal(r.name.s, "a\0b", 3);
	assert_val(&r.id, "x");
	os_release_free(&r);
}

static void test_unterminated(void **state)
{
	/* the open quote swallows the rest: dropped, parsing resumes after it */
	static const char in[] = "NAME=\"Debian\nID=debian\nVERSION='x\n";
	struct os_release r;
	assert_int_equal(os_release_parse(S(in), &r), 0);
	assert_val(&r.name, NULL);
	assert_val(&r.id, "debian");
	assert_val(&r.version, NULL);
	assert_int_equal(r.ignored, 2);
	os_release_free(&r);
}

static void test_no_final_newline(void **state)
{
	static const char in[] = "ID=debian\nNAME=x\\";
	struct os_release r;
	assert_int_equal(os_release_parse(S(in), &r), 0);
	assert_val(&r.id, "debian");
	assert_val(&r.name, "x");
	os_release_free(&r);
}

/* Every prefix of a sample parses without crashing and never invents a
 * value longer than the input. */
static void test_truncated_everywhere(void **state)
{
	static const char in[] = "PRETTY_NAME=\"Debian \\\"GNU\\\"/Linux\"\n# c\n"
	                         "ID='debian'\nID_LIKE=a\\ b\nVERSION=\"x\ny\"\nBAD LINE\n";
	for (size_t n = 0; n <= sizeof(in) - 1; n++) {
		char *copy = malloc(n ? n : 1); /* exact size: ASan catches overreads */
		memcpy(copy, in, n);
		struct os_release r;
		assert_int_equal(os_release_parse(copy, n, &r), 0);
		if (r.id.s)
			assert_true(r.id.len <= n);
		if (r.pretty_name.s)
			assert_true(r.pretty_name.len <= n);
		os_release_free(&r);
		free(copy);
	}
}

static void test_oversized(void **state)
{
	size_t n = OS_RELEASE_MAX + 100;
	char *big = malloc(n);
	memset(big, '#', n);
	memcpy(big, "ID=x\n", 5);
	memcpy(big + OS_RELEASE_MAX + 10, "\nNAME=late\n", 11);
	struct os_release r;
	assert_int_equal(os_release_parse(big, n, &r), 0);
	assert_true(r.truncated);
	assert_val(&r.id, "x");
	assert_val(&r.name, NULL);
	os_release_free(&r);
	free(big);
}

static int count_cb(void *ctx, const char *k, size_t kl, const char *v, size_t vl)
{
	(*(int *)ctx)++;
	return *(int *)ctx == 2 ? -42 : 0;
}

static void test_each_stops(void **state)
{
	static const char in[] = "A=1\nB=2\nC=3\n";
	char scratch[sizeof(in)];
	int n = 0;
	assert_int_equal(os_release_each(S(in), scratch, count_cb, &n), -42);
	assert_int_equal(n, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_debian),
	    cmocka_unit_test(test_quoting),
	    cmocka_unit_test(test_garbage),
	    cmocka_unit_test(test_embedded_nul),
	    cmocka_unit_test(test_unterminated),
	    cmocka_unit_test(test_no_final_newline),
	    cmocka_unit_test(test_truncated_everywhere),
	    cmocka_unit_test(test_oversized),
	    cmocka_unit_test(test_each_stops),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
