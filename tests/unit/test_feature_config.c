/* Unit tests: the config feature (features/config.c) on a fake view:
 * content and SHA-256, the size limit, a directory walked, a file that
 * denies access, secrets withheld, special files skipped, a view without
 * files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fake_view.h"
#include "util/sha256.h"

extern const struct feature feature_config;

static void crawl_paths(struct fake_view *fv, const char *const *paths, int n, uint64_t max,
                        struct fake_frame *fr)
{
	struct fake_opts o;
	fake_opts_init(&o);
	o.config_paths = paths;
	o.nconfig_paths = n;
	if (max)
		o.config_max_size = max;
	fake_crawl(&feature_config, &fv->base, &o, fr);
	assert_int_equal(fv->open_files, 0);
}

static void assert_sha(json_t *v, const char *content, size_t len)
{
	char hex[SHA256_HEX_LEN + 1];
	assert_int_equal(sha256_hex(content, len, hex), 0);
	assert_string_equal(fake_str(v, "sha256"), hex);
}

static void test_content_and_hash(void **state)
{
	static const struct fake_file files[] = {
	    {.path = "/etc/hosts",
	     .content = "127.0.0.1 localhost\n",
	     .mode = 0640,
	     .uid = 5,
	     .gid = 6,
	     .mtime = 1714564800},
	    {.path = "/etc/bin", .content = "a\0b\xc3\xa9", .len = 5},
	};
	static const char *const paths[] = {"/etc/hosts", "/etc/bin"};
	struct fake_view fv;
	struct fake_frame fr;
	fake_view_init(&fv);
	fv.files = files;
	fv.nfiles = 2;
	crawl_paths(&fv, paths, 2, 0, &fr);
	assert_int_equal(fr.rc, 0);
	assert_int_equal(fake_nrecs(&fr), 2);

	json_t *h = fake_value(&fr, "/etc/hosts");
	assert_non_null(h);
	assert_string_equal(fake_str(h, "path"), "/etc/hosts");
	assert_string_equal(fake_str(h, "content"), "127.0.0.1 localhost\n");
	assert_sha(h, files[0].content, strlen(files[0].content));
	assert_string_equal(fake_str(h, "mode"), "0640");
	assert_true(fake_num(h, "uid") == 5);
	assert_true(fake_num(h, "gid") == 6);
	assert_true(fake_num(h, "size") == 20);
	assert_string_equal(fake_str(h, "mtime"), "2024-05-01T12:00:00Z");
	assert_true(json_is_false(json_object_get(h, "truncated")));

	/* a NUL and UTF-8: hashed as they are, kept in the content string
	 * (invalid UTF-8 is written as \udcXX, which jansson refuses) */
	json_t *b = fake_value(&fr, "/etc/bin");
	assert_sha(b, "a\0b\xc3\xa9", 5);
	json_t *bc = json_object_get(b, "content");
	assert_int_equal(json_string_length(bc), 5);
	assert_memory_equal(json_string_value(bc), "a\0b\xc3\xa9", 5);
	assert_int_equal(fake_errors(&fr, "config"), 0);
	fake_frame_free(&fr);
}

static void test_max_size(void **state)
{
	static const struct fake_file files[] = {
	    {.path = "/etc/small", .content = "12345678"},
	    {.path = "/etc/big", .content = "123456789"},
	};
	static const char *const paths[] = {"/etc"};
	struct fake_view fv;
	struct fake_frame fr;
	fake_view_init(&fv);
	fv.files = files;
	fv.nfiles = 2;
	crawl_paths(&fv, paths, 1, 8, &fr);
	json_t *s = fake_value(&fr, "/etc/small");
	assert_string_equal(fake_str(s, "content"), "12345678");
	assert_true(json_is_false(json_object_get(s, "truncated")));
	json_t *b = fake_value(&fr, "/etc/big");
	assert_false(fake_has(b, "content")); /* above the limit: left out... */
	assert_true(json_is_true(json_object_get(b, "truncated")));
	assert_sha(b, "123456789", 9); /* ...but hashed */
	assert_int_equal(fake_skipped(&fr, "config"), 1);
	assert_true(fake_message(&fr, "config", "/etc/big: larger than limit (9 > 8 bytes)"));
	assert_int_equal(fake_errors(&fr, "config"), 0);
	fake_frame_free(&fr);
}

/* A file larger than one read chunk (64 KiB) is hashed whole. */
static void test_large_file_hash(void **state)
{
	size_t n = 200 * 1024 + 17;
	char *big = malloc(n);
	for (size_t i = 0; i < n; i++)
		big[i] = (char)(i * 7);
	struct fake_file files[] = {{.path = "/etc/large", .content = big, .len = n}};
	static const char *const paths[] = {"/etc/large"};
	struct fake_view fv;
	struct fake_frame fr;
	fake_view_init(&fv);
	fv.files = files;
	fv.nfiles = 1;
	crawl_paths(&fv, paths, 1, 0, &fr);
	json_t *v = fake_value(&fr, "/etc/large");
	assert_sha(v, big, n);
	assert_false(fake_has(v, "content"));
	fake_frame_free(&fr);
	free(big);
}

static void test_directory(void **state)
{
	static const struct fake_file files[] = {
	    {.path = "/etc/a.conf", .content = "a=1\n"},
	    {.path = "/etc/sub/b.conf", .content = "b=2\n"},
	    {.path = "/etc/localtime", .type = VF_LNK, .link = "/usr/share/zoneinfo/UTC"},
	    {.path = "/etc/fifo", .type = VF_FIFO},
	    {.path = "/etc/shadow", .content = "root:$6$secret:19000::::::\n"},
	    {.path = "/etc/ssh/ssh_host_ed25519_key", .content = "PRIVATE"},
	    {.path = "/other/x", .content = "not under /etc"},
	};
	static const char *const paths[] = {"/etc"};
	struct fake_view fv;
	struct fake_frame fr;
	fake_view_init(&fv);
	fv.files = files;
	fv.nfiles = sizeof(files) / sizeof(files[0]);
	crawl_paths(&fv, paths, 1, 0, &fr);
	assert_int_equal(fr.rc, 0);
	/* regular files and symlinks; no directories, no FIFO, nothing outside */
	assert_int_equal(fake_nrecs(&fr), 5);
	assert_string_equal(fake_str(fake_value(&fr, "/etc/sub/b.conf"), "content"), "b=2\n");
	json_t *l = fake_value(&fr, "/etc/localtime");
	assert_string_equal(fake_str(l, "link"), "/usr/share/zoneinfo/UTC");
	assert_false(fake_has(l, "sha256"));
	assert_null(fake_value(&fr, "/etc/sub"));
	assert_null(fake_value(&fr, "/etc/fifo"));
	assert_null(fake_value(&fr, "/other/x"));
	assert_int_equal(fake_skipped(&fr, "config"), 1);
	assert_true(fake_message(&fr, "config", "/etc/fifo: fifo, not read"));

	/* secrets: hashed, never their content */
	json_t *sh = fake_value(&fr, "/etc/shadow");
	assert_true(json_is_true(json_object_get(sh, "withheld")));
	assert_false(fake_has(sh, "content"));
	assert_sha(sh, files[4].content, strlen(files[4].content));
	json_t *key = fake_value(&fr, "/etc/ssh/ssh_host_ed25519_key");
	assert_true(json_is_true(json_object_get(key, "withheld")));
	assert_false(fake_has(key, "content"));
	assert_int_equal(fake_errors(&fr, "config"), 0);
	fake_frame_free(&fr);
}

/* A file that denies access is a record with "error", counted; the rest
 * goes on.  So is a directory that cannot be listed, and a missing path. */
static void test_denied(void **state)
{
	static const struct fake_file files[] = {
	    {.path = "/etc/a", .content = "a"},
	    {.path = "/etc/locked", .content = "x", .open_err = EACCES, .mode = 0600},
	    {.path = "/etc/private", .type = VF_DIR, .open_err = EACCES},
	    {.path = "/etc/private/inside", .content = "never seen"},
	    {.path = "/etc/z", .content = "z"},
	};
	static const char *const paths[] = {"/etc", "/nonexistent"};
	struct fake_view fv;
	struct fake_frame fr;
	fake_view_init(&fv);
	fv.files = files;
	fv.nfiles = sizeof(files) / sizeof(files[0]);
	crawl_paths(&fv, paths, 2, 0, &fr);
	assert_int_equal(fr.rc, 0);
	json_t *l = fake_value(&fr, "/etc/locked");
	assert_non_null(l);
	assert_string_equal(fake_str(l, "error"), "Permission denied");
	assert_string_equal(fake_str(l, "mode"), "0600"); /* metadata still there */
	assert_false(fake_has(l, "sha256"));
	assert_false(fake_has(l, "content"));
	assert_false(fake_has(l, "truncated"));
	assert_null(fake_value(&fr, "/etc/private/inside"));
	assert_non_null(fake_value(&fr, "/etc/a"));
	assert_non_null(fake_value(&fr, "/etc/z"));
	assert_int_equal(fake_errors(&fr, "config"), 3);
	assert_true(fake_message(&fr, "config", "/etc/locked: Permission denied"));
	assert_true(fake_message(&fr, "config", "/etc/private: Permission denied"));
	assert_true(fake_message(&fr, "config", "/nonexistent: No such file or directory"));
	fake_frame_free(&fr);
}

/* A view without files (a VM seen from its RAM): the feature does not apply. */
static void test_no_files(void **state)
{
	static const char *const paths[] = {"/etc"};
	struct fake_view fv;
	struct fake_frame fr;
	fake_view_init(&fv);
	fake_view_drop(&fv, FAKE_FILES);
	crawl_paths(&fv, paths, 1, 0, &fr);
	assert_int_equal(fr.rc, -ENOTSUP);
	assert_int_equal(fake_nrecs(&fr), 0);
	assert_int_equal(fake_errors(&fr, "config"), 0);
	assert_int_equal(fake_skipped(&fr, "config"), 1);
	fake_frame_free(&fr);
}

/* Crawler format: feature "config", key the path, plus "name". */
static void test_crawler_format(void **state)
{
	static const struct fake_file files[] = {{.path = "/etc/hosts", .content = "h"}};
	static const char *const paths[] = {"/etc"};
	struct fake_view fv;
	struct fake_frame fr;
	struct fake_opts o;
	fake_view_init(&fv);
	fv.files = files;
	fv.nfiles = 1;
	fake_opts_init(&o);
	o.config_paths = paths;
	o.nconfig_paths = 1;
	o.crawler_format = true;
	fake_crawl(&feature_config, &fv.base, &o, &fr);
	assert_non_null(strstr(fr.text, "\nconfig\t\"/etc/hosts\"\t{"));
	assert_non_null(strstr(fr.text, "\"name\":\"hosts\""));
	fake_frame_free(&fr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_content_and_hash), cmocka_unit_test(test_max_size),
	    cmocka_unit_test(test_large_file_hash),  cmocka_unit_test(test_directory),
	    cmocka_unit_test(test_denied),           cmocka_unit_test(test_no_files),
	    cmocka_unit_test(test_crawler_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
