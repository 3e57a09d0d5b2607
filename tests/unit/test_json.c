/* Unit tests: the JSON writer, buffers and number parsing helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "util/buf.h"
#include "util/json.h"
#include "util/timefmt.h"
#include "util/util.h"

static void esc(const char *in, size_t n, const char *want)
{
	struct buf b = BUF_INIT;
	jw_escape(&b, in, n);
	assert_string_equal(buf_str(&b), want);
	buf_free(&b);
}

static void test_escape(void **state)
{
	esc("abc", 3, "\"abc\"");
	esc("a\"b\\c", 5, "\"a\\\"b\\\\c\"");
	esc("\n\t\r\x01\x7f", 5, "\"\\n\\t\\r\\u0001\\u007f\"");
	esc("a\0b", 3, "\"a\\u0000b\"");
	esc("\xc3\xa9", 2, "\"\\u00e9\"");                   /* é */
	esc("\xe2\x82\xac", 3, "\"\\u20ac\"");               /* € */
	esc("\xf0\x9f\x98\x80", 4, "\"\\ud83d\\ude00\"");    /* emoji: surrogate pair */
	esc("\xff\xfe", 2, "\"\\udcff\\udcfe\"");            /* invalid bytes one by one */
	esc("\xc0\xaf", 2, "\"\\udcc0\\udcaf\"");            /* overlong */
	esc("\xed\xa0\x80", 3, "\"\\udced\\udca0\\udc80\""); /* surrogate encoded */
	esc("\xe2\x82", 2, "\"\\udce2\\udc82\"");            /* truncated sequence */
	esc("caf\xe9", 4, "\"caf\\udce9\"");                 /* Latin-1 byte: not the same as... */
	esc("caf\xc3\xa9", 5, "\"caf\\u00e9\"");             /* ...a real e-acute */
	esc("", 0, "\"\"");
}

/* jw_utf8_valid() is true exactly when jw_escape() writes no \udcXX. */
static void test_utf8_valid(void **state)
{
	static const struct {
		const char *s;
		size_t n;
		bool ok;
	} cases[] = {
	    {"", 0, true},
	    {"plain ascii\t\n", 13, true},
	    {"caf\xc3\xa9", 5, true},
	    {"\xf0\x9f\x94\xa5", 4, true},  /* U+1F525 */
	    {"a\0b", 3, true},              /* NUL is ASCII */
	    {"caf\xe9", 4, false},          /* Latin-1 */
	    {"\xc3", 1, false},             /* cut short */
	    {"\xc0\xaf", 2, false},         /* overlong '/' */
	    {"\xed\xa0\x80", 3, false},     /* a surrogate */
	    {"\xf4\x90\x80\x80", 4, false}, /* above U+10FFFF */
	    {"\x80", 1, false},             /* a lone continuation byte */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf b = BUF_INIT;
		jw_escape(&b, cases[i].s, cases[i].n);
		assert_int_equal(jw_utf8_valid(cases[i].s, cases[i].n), cases[i].ok);
		assert_int_equal(strstr(buf_str(&b), "\\udc") == NULL, cases[i].ok);
		buf_free(&b);
	}
}

static void test_writer(void **state)
{
	struct buf b = BUF_INIT;
	struct json j;
	jw_init(&j, &b);
	jw_obj_begin(&j, NULL);
	jw_str(&j, "s", "x");
	jw_int(&j, "i", -42);
	jw_uint(&j, "u", UINT64_MAX);
	jw_double(&j, "d", 1.5, 2);
	jw_double(&j, "z", 2.0, 2);
	jw_double(&j, "n", 0.0 / 0.0, 2);
	jw_double(&j, "neg0", -0.0001, 2);
	jw_double(&j, "p6", 12.3456789, 6);
	jw_double(&j, "neg", -3.25, 2);
	jw_double(&j, "big", 1e15, 2);
	jw_bool(&j, "b", true);
	jw_null(&j, "nul");
	jw_str(&j, "sn", NULL);
	jw_arr_begin(&j, "a");
	jw_int(&j, NULL, 1);
	jw_str(&j, NULL, "two");
	jw_arr_end(&j);
	jw_obj_begin(&j, "o");
	jw_obj_end(&j);
	jw_obj_end(&j);
	assert_true(jw_ok(&j));
	assert_string_equal(
	    buf_str(&b), "{\"s\":\"x\",\"i\":-42,\"u\":18446744073709551615,\"d\":1.5,\"z\":2,"
	                 "\"n\":null,\"neg0\":0,\"p6\":12.345679,\"neg\":-3.25,\"big\":"
	                 "1000000000000000,\"b\":true,\"nul\":null,\"sn\":null,\"a\":[1,\"two\"],"
	                 "\"o\":{}}");
	buf_free(&b);
}

static void test_depth_limit(void **state)
{
	struct buf b = BUF_INIT;
	struct json j;
	jw_init(&j, &b);
	for (int i = 0; i < JSON_MAX_DEPTH + 5; i++)
		jw_arr_begin(&j, NULL);
	assert_false(jw_ok(&j));
	for (int i = 0; i < JSON_MAX_DEPTH + 5; i++)
		jw_arr_end(&j);
	assert_int_equal(j.depth, 0);
	buf_free(&b);
}

static void test_buf(void **state)
{
	struct buf b = BUF_INIT;
	assert_string_equal(buf_str(&b), "");
	for (int i = 0; i < 1000; i++)
		buf_printf(&b, "%d,", i);
	assert_int_equal(strlen(b.data), b.len);
	assert_memory_equal(b.data, "0,1,2,", 6);
	buf_reset(&b);
	assert_int_equal(b.len, 0);
	buf_printf(&b, "%s", "");
	assert_string_equal(buf_str(&b), "");
	buf_free(&b);
}

static void test_parse_numbers(void **state)
{
	const char *s = "18446744073709551615 18446744073709551616 -9223372036854775808 x";
	const char *p = s, *end = s + strlen(s);
	uint64_t u;
	int64_t i;
	assert_true(parse_u64(&p, end, &u));
	assert_true(u == UINT64_MAX);
	skip_blanks(&p, end);
	const char *before = p;
	assert_false(parse_u64(&p, end, &u)); /* overflow */
	assert_ptr_equal(p, before);
	p += 20;
	skip_blanks(&p, end);
	assert_true(parse_i64(&p, end, &i));
	assert_true(i == INT64_MIN);
	skip_blanks(&p, end);
	assert_false(parse_i64(&p, end, &i));
	/* never reads past end */
	const char digits[3] = {'1', '2', '3'};
	p = digits;
	assert_true(parse_u64(&p, digits + 2, &u));
	assert_int_equal(u, 12);
}

static void test_time_format(void **state)
{
	char t[40];
	format_time_utc(1700000000123456789LL, t, sizeof(t));
	assert_string_equal(t, "2023-11-14T22:13:20.123Z");
	format_time_utc(0, t, sizeof(t));
	assert_string_equal(t, "1970-01-01T00:00:00.000Z");
	format_time_utc(951782400000000000LL, t, sizeof(t)); /* a leap day */
	assert_string_equal(t, "2000-02-29T00:00:00.000Z");
	format_time_utc(4102444799999000000LL, t, sizeof(t));
	assert_string_equal(t, "2099-12-31T23:59:59.999Z");
	format_time_utc(-1000000LL, t, sizeof(t)); /* 1 ms before the epoch */
	assert_string_equal(t, "1969-12-31T23:59:59.999Z");
	format_time_utc(1795300000000000000LL, t, sizeof(t));
	assert_string_equal(t, "2026-11-21T22:26:40.000Z");
}

static void test_trim_copy(void **state)
{
	const char *s = "  \tab c\r\n";
	size_t n = strlen(s);
	trim(&s, &n);
	assert_int_equal(n, 4);
	assert_memory_equal(s, "ab c", 4);
	char d[4];
	copy_str(d, sizeof(d), "abcdef", 6);
	assert_string_equal(d, "abc");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_escape),        cmocka_unit_test(test_writer),
	    cmocka_unit_test(test_depth_limit),   cmocka_unit_test(test_buf),
	    cmocka_unit_test(test_parse_numbers), cmocka_unit_test(test_time_format),
	    cmocka_unit_test(test_trim_copy),     cmocka_unit_test(test_utf8_valid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
