/*
 * Unit tests: linux/logfmt.c, the log line parsers and the escaping of
 * stored lines.  Each good input is parsed from an exact-size heap copy
 * (no terminator: ASan catches a read past its end) and at every prefix
 * length; then random bytes and mutated good lines are fed to every
 * parser.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../src/linux/logfmt.h"

/* 2026-12-06T10:00:00Z */
#define NOW_MS 1796551200000LL

static char *exact(const char *s, size_t n)
{
	char *p = malloc(n ? n : 1);
	assert_non_null(p);
	memcpy(p, s, n);
	return p;
}

static struct logfmt_rec fresh(void)
{
	return (struct logfmt_rec){.level = -1};
}

static void test_k8s(void **state)
{
	const char *s = "2026-12-06T09:33:53.123456789Z stderr F hello world";
	char *p = exact(s, strlen(s));
	struct logfmt_rec r = fresh();
	assert_int_equal(logfmt_k8s(p, strlen(s), &r), 0);
	assert_int_equal(r.stream, LOGFMT_STDERR);
	assert_false(r.partial);
	assert_int_equal(r.len, 11);
	assert_memory_equal(r.msg, "hello world", 11);
	assert_int_equal(r.time_ms, NOW_MS - 26 * 60000 - 7000 + 123);
	free(p);

	s = "2026-12-06T09:33:53+01:00 stdout P part";
	p = exact(s, strlen(s));
	assert_int_equal(logfmt_k8s(p, strlen(s), &r), 0);
	assert_true(r.partial);
	assert_int_equal(r.stream, LOGFMT_STDOUT);
	assert_memory_equal(r.msg, "part", 4);
	free(p);

	/* an empty line: "... stdout F" */
	s = "2026-12-06T09:33:53Z stdout F";
	p = exact(s, strlen(s));
	assert_int_equal(logfmt_k8s(p, strlen(s), &r), 0);
	assert_int_equal(r.len, 0);
	free(p);

	const char *bad[] = {"",
	                     "x",
	                     "2026-12-06T09:33:53Z",
	                     "2026-12-06T09:33:53Z stdin F x",
	                     "2026-12-06T09:33:53Z stdout X x",
	                     "notatime stdout F x",
	                     "2026-13-06T09:33:53Z stdout F x"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p = exact(bad[i], strlen(bad[i]));
		assert_int_equal(logfmt_k8s(p, strlen(bad[i]), &r), -EINVAL);
		free(p);
	}
}

static void test_docker(void **state)
{
	struct buf b = BUF_INIT;
	const char *s = "{\"log\":\"a\\u0000b\\t\\\"q\\\"\\n\",\"stream\":\"stderr\","
	                "\"time\":\"2026-12-06T09:33:53.5Z\"}";
	char *p = exact(s, strlen(s));
	struct logfmt_rec r = fresh();
	assert_int_equal(logfmt_docker(p, strlen(s), &b, &r), 0);
	assert_int_equal(r.stream, LOGFMT_STDERR);
	assert_false(r.partial);
	assert_int_equal(r.len, 7);
	assert_memory_equal(r.msg, "a\0b\t\"q\"", 7);
	assert_int_equal(r.time_ms, NOW_MS - 26 * 60000 - 7000 + 500);
	free(p);

	s = "{\"log\":\"partial\",\"stream\":\"stdout\",\"time\":\"2026-12-06T09:33:53Z\"}";
	p = exact(s, strlen(s));
	assert_int_equal(logfmt_docker(p, strlen(s), &b, &r), 0);
	assert_true(r.partial);
	assert_int_equal(r.len, 7);
	free(p);

	const char *bad[] = {"",
	                     "{",
	                     "{\"stream\":\"stdout\"}",
	                     "[1]",
	                     "{\"log\":1}",
	                     "{\"log\":\"x\"",
	                     "{\"log\":\"\\ud800\"} trailing"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p = exact(bad[i], strlen(bad[i]));
		int rc = logfmt_docker(p, strlen(bad[i]), &b, &r);
		if (i < 6)
			assert_int_equal(rc, -EINVAL);
		free(p);
	}
	buf_free(&b);
}

static struct logfmt_rec msg(const char *s, const char **fmt)
{
	struct logfmt_rec r = fresh();
	char *p = exact(s, strlen(s));
	*fmt = logfmt_message(p, strlen(s), NOW_MS, 0, &r);
	free(p);
	return r;
}

static void test_messages(void **state)
{
	const char *f;
	struct logfmt_rec r;

	r = msg("{\"level\":\"warn\",\"time\":\"2026-12-06T09:00:00Z\",\"msg\":\"x\"}", &f);
	assert_string_equal(f, "json");
	assert_int_equal(r.level, 4);
	assert_int_equal(r.time_ms, NOW_MS - 3600000);
	r = msg("{\"level\":50,\"time\":1796551200123}", &f);
	assert_int_equal(r.level, 3);
	assert_int_equal(r.time_ms, NOW_MS + 123);
	r = msg("{\"severity\":\"ERROR\",\"ts\":1796551200.5}", &f);
	assert_int_equal(r.level, 3);
	assert_int_equal(r.time_ms, NOW_MS + 500);

	r = msg("<11>1 2026-12-06T09:59:00.000Z host app 12 - - failed", &f);
	assert_string_equal(f, "syslog");
	assert_int_equal(r.level, 3);
	assert_int_equal(r.time_ms, NOW_MS - 60000);
	r = msg("<28>Dec  6 09:59:00 host app[12]: hi", &f);
	assert_string_equal(f, "syslog");
	assert_int_equal(r.level, 4);
	assert_int_equal(r.time_ms, NOW_MS - 60000);
	r = msg("Dec  6 09:59:00 host kernel: ERROR: disk", &f);
	assert_string_equal(f, "syslog");
	assert_int_equal(r.level, 3);
	/* a December time read on January 1st belongs to last year */
	struct logfmt_rec r2 = fresh();
	const char *dec = "Dec 31 23:00:00 host x: y";
	assert_int_equal(logfmt_syslog(dec, strlen(dec), 1798761600000LL /* 2027-01-01 */, 0, &r2),
	                 0);
	assert_int_equal(r2.time_ms, 1798761600000LL - 3600000);
	r = msg("2026-12-06T09:59:00.123456+00:00 host sshd[1]: Accepted", &f);
	assert_string_equal(f, "syslog");
	assert_int_equal(r.time_ms, NOW_MS - 60000 + 123);

	r = msg("10.0.0.1 - - [06/Dec/2026:09:59:00 +0000] \"GET / HTTP/1.1\" 503 12 \"-\" \"c\"",
	        &f);
	assert_string_equal(f, "combined");
	assert_int_equal(r.level, 3);
	assert_int_equal(r.time_ms, NOW_MS - 60000);
	r = msg("::1 - bob [06/Dec/2026:10:59:00 +0100] \"GET /x HTTP/1.1\" 404 0", &f);
	assert_int_equal(r.level, 4);
	assert_int_equal(r.time_ms, NOW_MS - 60000);
	r = msg("10.0.0.1 - - [06/Dec/2026:09:59:00 +0000] \"GET / HTTP/1.1\" 200 12", &f);
	assert_int_equal(r.level, 6);

	r = msg("E1206 09:59:00.250000   12345 file.go:12] boom", &f);
	assert_string_equal(f, "klog");
	assert_int_equal(r.level, 3);
	assert_int_equal(r.time_ms, NOW_MS - 60000 + 250);
	r = msg("W1206 09:59:00.000000 1 x.go:1] w", &f);
	assert_int_equal(r.level, 4);

	r = msg("2026/12/06 09:59:00 [crit] 12#0: *1 oops", &f);
	assert_string_equal(f, "nginx");
	assert_int_equal(r.level, 2);
	assert_int_equal(r.time_ms, NOW_MS - 60000);

	r = msg("something [warn] happened", &f);
	assert_string_equal(f, "words");
	assert_int_equal(r.level, 4);
	r = msg("ts=1 level=debug msg=x", &f);
	assert_int_equal(r.level, 7);
	r = msg("Exception in thread main: ERROR", &f);
	assert_int_equal(r.level, 3);
	r = msg("an error happened quietly", &f);
	assert_string_equal(f, "");
	assert_int_equal(r.level, -1);
	assert_int_equal(r.time_ms, 0);
	r = msg("", &f);
	assert_string_equal(f, "");
}

static void test_escape(void **state)
{
	struct buf b = BUF_INIT;
	const char in[] = "ok \xc3\xa9 \x00 \x01\t\x7f \xff \xc3 \xed\xa0\x80 \xf0\x9f\x98\x80";
	size_t n = sizeof(in) - 1;
	char *p = exact(in, n);
	assert_int_equal(logfmt_escape(&b, p, n, 1000), n);
	assert_string_equal(buf_str(&b),
	                    "ok \xc3\xa9 \\x00 \\x01\t\\x7f \\xff \\xc3 \\xed\\xa0\\x80 "
	                    "\xf0\x9f\x98\x80");
	/* cut: never inside an escape or a sequence */
	for (size_t max = 0; max < 60; max++) {
		buf_reset(&b);
		size_t used = logfmt_escape(&b, p, n, max);
		assert_true(b.len <= max);
		assert_true(used <= n);
		if (used < n)
			assert_true(b.len + 4 > max);
	}
	free(p);
	/* an overlong NUL and a 5-byte lead */
	const char o[] = "\xc0\x80\xf8\x88\x80\x80\x80";
	buf_reset(&b);
	assert_int_equal(logfmt_escape(&b, o, 7, 100), 7);
	assert_string_equal(buf_str(&b), "\\xc0\\x80\\xf8\\x88\\x80\\x80\\x80");
	char mark[LOGFMT_CUT_MARK_MAX];
	size_t ml = logfmt_cut_mark(mark, sizeof(mark), 100000000);
	assert_string_equal(mark, " [cut: 100000000 bytes more]");
	assert_int_equal(ml, strlen(mark));
	buf_free(&b);
}

static void test_levels(void **state)
{
	assert_int_equal(logfmt_level_name("WARNING", 7), 4);
	assert_int_equal(logfmt_level_name("\"err\"", 5), 3);
	assert_int_equal(logfmt_level_name("7", 1), 7);
	assert_int_equal(logfmt_level_name("60", 2), 2);
	assert_int_equal(logfmt_level_name("99999", 5), -1);
	assert_int_equal(logfmt_level_name("", 0), -1);
	assert_int_equal(logfmt_level_name("bogus", 5), -1);
}

/* every parser on s at every prefix, from exact copies */
static void all_parsers(const char *s, size_t n, struct buf *b)
{
	for (size_t k = 0; k <= n; k++) {
		char *p = exact(s, k);
		struct logfmt_rec r = fresh();
		(void)logfmt_k8s(p, k, &r);
		(void)logfmt_docker(p, k, b, &r);
		(void)logfmt_message(p, k, NOW_MS, 3600, &r);
		(void)logfmt_json(p, k, &r);
		(void)logfmt_syslog(p, k, NOW_MS, -3600, &r);
		(void)logfmt_combined(p, k, &r);
		(void)logfmt_klog(p, k, NOW_MS, 0, &r);
		(void)logfmt_level_word(p, k);
		buf_reset(b);
		size_t used = logfmt_escape(b, p, k, 64);
		assert_true(used <= k);
		assert_true(b->len <= 64);
		free(p);
	}
}

static void test_garbage(void **state)
{
	const char *good[] = {
	    "2026-12-06T09:33:53.123456789Z stderr F hello world",
	    "{\"log\":\"a\\u0000b\\n\",\"stream\":\"stderr\",\"time\":\"2026-12-06T09:33:53.5Z\"}",
	    "<11>1 2026-12-06T09:59:00.000Z host app 12 - - failed",
	    "<28>Dec  6 09:59:00 host app[12]: hi",
	    "10.0.0.1 - - [06/Dec/2026:09:59:00 +0000] \"GET / HTTP/1.1\" 503 12 \"-\" \"c\"",
	    "E1206 09:59:00.250000   12345 file.go:12] boom",
	    "2026/12/06 09:59:00 [crit] 12#0: *1 oops",
	    "{\"level\":\"warn\",\"time\":\"2026-12-06T09:00:00Z\",\"ts\":1.5e3}",
	};
	struct buf b = BUF_INIT;
	srand(16);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		size_t n = strlen(good[i]);
		all_parsers(good[i], n, &b);
		char *m = exact(good[i], n);
		for (int round = 0; round < 300; round++) {
			memcpy(m, good[i], n);
			for (int k = 0; k < 3; k++)
				m[rand() % n] = (char)(rand() & 0xff);
			all_parsers(m, n, &b);
		}
		free(m);
	}
	char junk[512];
	for (int round = 0; round < 200; round++) {
		size_t n = (size_t)(rand() % (int)sizeof(junk));
		for (size_t k = 0; k < n; k++)
			junk[k] = (char)(rand() & 0xff);
		if (n)
			junk[0] = "{<IDE2[1"[rand() % 8];
		all_parsers(junk, n, &b);
	}
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_k8s),      cmocka_unit_test(test_docker),
	    cmocka_unit_test(test_messages), cmocka_unit_test(test_escape),
	    cmocka_unit_test(test_levels),   cmocka_unit_test(test_garbage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
