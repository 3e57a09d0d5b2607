/* Unit tests: frames (header, records, both formats, spooling to a file)
 * written through the real file sink into a temporary file. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "frame/frame.h"
#include "sinks/sinks.h"
#include "util/util.h"

static const char *const feats[] = {"alpha", "beta"};

static struct system_id sys(void)
{
	struct system_id s = {0};
	strcpy(s.id, "host:abc");
	strcpy(s.name, "box");
	strcpy(s.kind, "host");
	strcpy(s.host, "box");
	return s;
}

/* Run `fill` into a frame written to a temp file; return the file text. */
static char *run(enum frame_format fmt, void (*fill)(struct frame *), size_t *len)
{
	char path[] = "/tmp/vantage-frame-test.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	struct sink *s;
	assert_int_equal(sink_file_open(path, &s), 0);
	struct system_id id = sys();
	struct frame *f = frame_begin(s, &id, feats, 2, fmt);
	assert_non_null(f);
	fill(f);
	assert_int_equal(frame_end(f), 0);
	sink_close(s);
	struct buf b = BUF_INIT;
	assert_true(read_file_at(-100, path, &b, 64 << 20) >= 0);
	unlink(path);
	*len = b.len;
	return b.data;
}

static void fill_small(struct frame *f)
{
	frame_feature_start(f, "alpha");
	struct json *j = rec_begin(f, "k1");
	jw_int(j, rec_name(f, "num", "number"), 7);
	rec_crawler(f, "alph", "ck1");
	rec_end(f);
	frame_error(f, 13, "item %d", 3);
	frame_feature_end(f);
	frame_feature_start(f, "beta");
	j = rec_beginf(f, "k%d", 2);
	jw_str(j, "s", "tab\there");
	rec_end(f);
	frame_skip(f, "skipped one");
	frame_feature_end(f);
}

static void test_json_format(void **state)
{
	size_t len;
	char *out = run(FRAME_JSON, fill_small, &len);
	char *l1 = out, *l2 = strchr(l1, '\n') + 1, *l3 = strchr(l2, '\n') + 1;
	assert_string_equal(strchr(l3, '\n') + 1, "");
	assert_true(strncmp(l1, "{\"system\":\"host:abc\",\"time\":\"", 29) == 0);
	assert_non_null(strstr(
	    l1, "\"feature\":\"frame\",\"key\":\"host:abc\",\"value\":{\"id\":\"host:abc\""));
	assert_non_null(strstr(l1, "\"features\":[\"alpha\",\"beta\"]"));
	assert_non_null(strstr(l1, "\"records\":2"));
	assert_non_null(strstr(l1, "\"errors\":{\"alpha\":1,\"beta\":0}"));
	assert_non_null(strstr(l1, "\"skipped\":{\"alpha\":0,\"beta\":1}"));
	assert_non_null(strstr(l1, "\"item 3: Permission denied\""));
	assert_non_null(
	    strstr(l2, "\"feature\":\"alpha\",\"key\":\"k1\",\"value\":{\"num\":7}}\n"));
	assert_non_null(
	    strstr(l3, "\"feature\":\"beta\",\"key\":\"k2\",\"value\":{\"s\":\"tab\\there\"}}\n"));
	free(out);
}

static void test_crawler_format(void **state)
{
	size_t len;
	char *out = run(FRAME_CRAWLER, fill_small, &len);
	const char *want = "metadata\t\"metadata\"\t{\"features\":\"alpha,beta\",\"timestamp\":\"";
	assert_true(strncmp(out, want, strlen(want)) == 0);
	assert_non_null(strstr(out, "\"uuid\":\""));
	assert_non_null(strstr(out, "\"namespace\":\"box\",\"system_type\":\"host\""));
	assert_non_null(strstr(out, "\nalph\t\"ck1\"\t{\"number\":7}\n"));
	assert_non_null(strstr(out, "\nbeta\t\"k2\"\t{\"s\":\"tab\\there\"}\n"));
	free(out);
}

static void fill_big(struct frame *f)
{
	frame_feature_start(f, "alpha");
	for (int i = 0; i < 30000; i++) {
		struct json *j = rec_beginf(f, "%d", i);
		jw_int(j, "i", i);
		jw_str(j, "pad", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
		rec_end(f);
	}
	frame_feature_end(f);
}

static void test_spool_keeps_order(void **state)
{
	size_t len;
	char *out = run(FRAME_JSON, fill_big, &len);
	assert_true(len > (2u << 20)); /* beyond the in-memory spool */
	int n = 0;
	char *line = strchr(out, '\n') + 1;
	while (*line) {
		char want[64];
		snprintf(want, sizeof(want), "\"key\":\"%d\",", n);
		char *nl = strchr(line, '\n');
		assert_non_null(nl);
		*nl = 0;
		assert_non_null(strstr(line, want));
		line = nl + 1;
		n++;
	}
	assert_int_equal(n, 30000);
	free(out);
}

static void fill_hostile_key(struct frame *f)
{
	frame_feature_start(f, "alpha");
	struct json *j = rec_begin(f, "a\nb\"c\xff");
	jw_obj_begin(j, "left-open"); /* rec_end closes it */
	rec_end(f);
	frame_feature_end(f);
}

static void test_hostile_key(void **state)
{
	size_t len;
	char *out = run(FRAME_JSON, fill_hostile_key, &len);
	char *l2 = strchr(out, '\n') + 1;
	assert_non_null(
	    strstr(l2, "\"key\":\"a\\nb\\\"c\\udcff\",\"value\":{\"left-open\":{}}}\n"));
	free(out);
}

/* A message naming a path 300 levels deep: cut in its middle, never its
 * end (the file's own name) or its reason. */
static void fill_long_message(struct frame *f)
{
	char path[300 * 2 + 16];
	size_t n = 0;
	for (int i = 0; i < 300; i++)
		path[n++] = '/', path[n++] = 'd';
	strcpy(path + n, "/LAST");
	frame_feature_start(f, "alpha");
	frame_error(f, ENOENT, "%s", path);
	frame_skip(f, "%s: skipped", path);
	frame_feature_end(f);
}

static void test_long_message(void **state)
{
	size_t len;
	char *out = run(FRAME_JSON, fill_long_message, &len);
	char *hdr_end = strchr(out, '\n');
	*hdr_end = 0;
	const char *m = strstr(out, "\"messages\":{\"alpha\":[\"/d/d");
	assert_non_null(m);
	const char *e1 = strstr(m, "/d/LAST: No such file or directory\"");
	const char *e2 = strstr(m, "/d/LAST: skipped\"");
	assert_non_null(e1);
	assert_non_null(e2);
	assert_non_null(strstr(m, "/d.../d/d"));
	/* each at most FRAME_MSG_MAX - 1 bytes between its quotes */
	const char *q = m + strlen("\"messages\":{\"alpha\":[");
	assert_true(e1 + strlen("/d/LAST: No such file or directory") - (q + 1) < FRAME_MSG_MAX);
	free(out);
}

static void test_unwritable_sink(void **state)
{
	struct sink *s;
	assert_int_equal(sink_file_open("/dev/null/x", &s), -ENOTDIR);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_json_format),       cmocka_unit_test(test_crawler_format),
	    cmocka_unit_test(test_spool_keeps_order), cmocka_unit_test(test_hostile_key),
	    cmocka_unit_test(test_unwritable_sink),   cmocka_unit_test(test_long_message),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
