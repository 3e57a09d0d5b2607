/* Unit tests: the file feature (features/file.c) on a fake view: the walk
 * (root included, every type, symlinks not followed), excludes at
 * component boundaries, SHA-256 of regular files, the hash size limit and
 * a file that grows past it, errors of the walk. */
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

extern const struct feature feature_file;

static const struct fake_file tree[] = {
    {.path = "/srv", .type = VF_DIR, .mode = 0750, .uid = 1, .inode = 2, .nlink = 4},
    {.path = "/srv/a.txt",
     .content = "hello\n",
     .mode = 04755,
     .mtime = 1714564800,
     .ctime = 1714564801,
     .inode = 11},
    {.path = "/srv/link", .type = VF_LNK, .link = "../etc/passwd"},
    {.path = "/srv/dev", .type = VF_CHR, .mode = 0600},
    {.path = "/srv/pipe", .type = VF_FIFO},
    {.path = "/srv/skip/deep/x", .content = "x"},
    {.path = "/srv/skipper", .content = "kept"},
    {.path = "/srv/sub/b", .content = "bb"},
    {.path = "/etc/passwd", .content = "root:x:0:0::/root:/bin/sh\n"},
};
#define NTREE (sizeof(tree) / sizeof(tree[0]))

static void crawl(struct fake_view *fv, struct fake_opts *o, struct fake_frame *fr)
{
	fake_crawl(&feature_file, &fv->base, o, fr);
	assert_int_equal(fv->open_files, 0);
}

static void init(struct fake_view *fv, struct fake_opts *o, const char *root)
{
	fake_view_init(fv);
	fv->files = tree;
	fv->nfiles = NTREE;
	fake_opts_init(o);
	o->file_root = root;
}

static void assert_sha(json_t *v, const char *content, size_t len)
{
	char hex[SHA256_HEX_LEN + 1];
	assert_int_equal(sha256_hex(content, len, hex), 0);
	assert_string_equal(fake_str(v, "sha256"), hex);
}

static void test_walk(void **state)
{
	struct fake_view fv;
	struct fake_opts o;
	struct fake_frame fr;
	init(&fv, &o, "/srv");
	crawl(&fv, &o, &fr);
	assert_int_equal(fr.rc, 0);
	/* /srv, a.txt, link, dev, pipe, skip, skip/deep, skip/deep/x,
	 * skipper, sub, sub/b: 11; /etc is outside the root */
	assert_int_equal(fake_nrecs(&fr), 11);
	assert_null(fake_value(&fr, "/etc/passwd"));

	json_t *root = fake_value(&fr, "/srv");
	assert_string_equal(fake_str(root, "type"), "dir");
	assert_string_equal(fake_str(root, "mode"), "0750");
	assert_true(fake_num(root, "uid") == 1);
	assert_true(fake_num(root, "nlink") == 4);

	json_t *a = fake_value(&fr, "/srv/a.txt");
	assert_string_equal(fake_str(a, "type"), "file");
	assert_string_equal(fake_str(a, "mode"), "4755");
	assert_true(fake_num(a, "size") == 6);
	assert_true(fake_num(a, "inode") == 11);
	assert_string_equal(fake_str(a, "mtime"), "2024-05-01T12:00:00Z");
	assert_string_equal(fake_str(a, "ctime"), "2024-05-01T12:00:01Z");
	assert_false(fake_has(a, "sha256")); /* no hashing unless asked */
	assert_false(fake_has(a, "link"));

	json_t *l = fake_value(&fr, "/srv/link");
	assert_string_equal(fake_str(l, "type"), "symlink");
	assert_string_equal(fake_str(l, "link"), "../etc/passwd");
	assert_string_equal(fake_str(fake_value(&fr, "/srv/dev"), "type"), "chardev");
	assert_string_equal(fake_str(fake_value(&fr, "/srv/pipe"), "type"), "fifo");
	/* a directory that exists only by holding files */
	assert_string_equal(fake_str(fake_value(&fr, "/srv/skip/deep"), "type"), "dir");
	assert_non_null(fake_value(&fr, "/srv/sub/b"));
	assert_int_equal(fake_errors(&fr, "file"), 0);
	fake_frame_free(&fr);
}

static void test_excludes(void **state)
{
	static const char *const ex[] = {"/srv/skip/", "/srv/sub/b", "/"};
	struct fake_view fv;
	struct fake_opts o;
	struct fake_frame fr;
	init(&fv, &o, "/srv");
	o.file_excludes = ex;
	o.nfile_excludes = 3; /* "/" holds the root: ignored */
	crawl(&fv, &o, &fr);
	assert_int_equal(fr.rc, 0);
	assert_null(fake_value(&fr, "/srv/skip"));
	assert_null(fake_value(&fr, "/srv/skip/deep"));
	assert_null(fake_value(&fr, "/srv/skip/deep/x"));
	assert_null(fake_value(&fr, "/srv/sub/b"));
	assert_non_null(fake_value(&fr, "/srv/skipper")); /* a component boundary */
	assert_non_null(fake_value(&fr, "/srv/sub"));
	assert_non_null(fake_value(&fr, "/srv"));
	assert_int_equal(fake_nrecs(&fr), 7);
	fake_frame_free(&fr);
}

static void test_hash(void **state)
{
	struct fake_view fv;
	struct fake_opts o;
	struct fake_frame fr;
	init(&fv, &o, "/");
	o.file_hash = true;
	crawl(&fv, &o, &fr);
	assert_int_equal(fr.rc, 0);
	assert_sha(fake_value(&fr, "/srv/a.txt"), "hello\n", 6);
	assert_sha(fake_value(&fr, "/etc/passwd"), tree[8].content, strlen(tree[8].content));
	assert_false(fake_has(fake_value(&fr, "/srv/link"), "sha256")); /* not followed */
	assert_false(fake_has(fake_value(&fr, "/srv"), "sha256"));
	assert_false(fake_has(fake_value(&fr, "/srv/pipe"), "sha256")); /* never opened */
	/* the walk of "/" has "/" itself and "/x" entries, not "//x" */
	assert_non_null(fake_value(&fr, "/"));
	assert_non_null(fake_value(&fr, "/etc"));
	assert_int_equal(fake_nrecs(&fr), 14);
	assert_int_equal(fake_errors(&fr, "file"), 0);
	fake_frame_free(&fr);
}

/* Above file_hash_max: no hash.  A file whose stat says small but that
 * reads larger (it grew) stops at the limit: an error, no hash.  A file
 * that cannot be opened: an error, the record still there.  A big file
 * (several 64 KiB chunks) is hashed whole. */
static void test_hash_max(void **state)
{
	size_t n = 300 * 1024 + 3;
	char *big = malloc(n);
	for (size_t i = 0; i < n; i++)
		big[i] = (char)(i * 13 + 1);
	struct fake_file files[] = {
	    {.path = "/d/eight", .content = "12345678"},
	    {.path = "/d/nine", .content = "123456789"},
	    {.path = "/d/grows", .content = "123456789012", .size = 4},
	    {.path = "/d/locked", .content = "x", .open_err = EACCES},
	    {.path = "/e/big", .content = big, .len = n},
	};
	struct fake_view fv;
	struct fake_opts o;
	struct fake_frame fr;
	fake_view_init(&fv);
	fv.files = files;
	fv.nfiles = 5;
	fake_opts_init(&o);
	o.file_root = "/d";
	o.file_hash = true;
	o.file_hash_max = 8;
	crawl(&fv, &o, &fr);
	assert_int_equal(fr.rc, 0);
	assert_sha(fake_value(&fr, "/d/eight"), "12345678", 8);
	assert_false(fake_has(fake_value(&fr, "/d/nine"), "sha256"));
	json_t *g = fake_value(&fr, "/d/grows");
	assert_non_null(g);
	assert_false(fake_has(g, "sha256"));
	json_t *l = fake_value(&fr, "/d/locked");
	assert_non_null(l);
	assert_false(fake_has(l, "sha256"));
	assert_int_equal(fake_errors(&fr, "file"), 2);
	assert_true(fake_message(&fr, "file", "/d/grows: sha256: File too large"));
	assert_true(fake_message(&fr, "file", "/d/locked: sha256: Permission denied"));
	fake_frame_free(&fr);

	o.file_root = "/e";
	o.file_hash_max = 0; /* the default, 64 MiB */
	crawl(&fv, &o, &fr);
	assert_sha(fake_value(&fr, "/e/big"), big, n);
	fake_frame_free(&fr);
	free(big);
}

/* A directory that cannot be listed is an error; a missing root fails the
 * feature; a view without files does not apply. */
static void test_walk_errors(void **state)
{
	static const struct fake_file files[] = {
	    {.path = "/r/closed", .type = VF_DIR, .open_err = EACCES},
	    {.path = "/r/closed/hidden", .content = "h"},
	    {.path = "/r/open", .content = "o"},
	};
	struct fake_view fv;
	struct fake_opts o;
	struct fake_frame fr;
	fake_view_init(&fv);
	fv.files = files;
	fv.nfiles = 3;
	fake_opts_init(&o);
	o.file_root = "/r";
	crawl(&fv, &o, &fr);
	assert_int_equal(fr.rc, 0);
	assert_non_null(fake_value(&fr, "/r/closed"));
	assert_null(fake_value(&fr, "/r/closed/hidden"));
	assert_non_null(fake_value(&fr, "/r/open"));
	assert_int_equal(fake_errors(&fr, "file"), 1);
	assert_true(fake_message(&fr, "file", "/r/closed: Permission denied"));
	fake_frame_free(&fr);

	o.file_root = "/missing";
	crawl(&fv, &o, &fr);
	assert_int_equal(fr.rc, -ENOENT);
	assert_int_equal(fake_nrecs(&fr), 0);
	assert_int_equal(fake_errors(&fr, "file"), 1);
	fake_frame_free(&fr);

	fake_view_drop(&fv, FAKE_FILES);
	crawl(&fv, &o, &fr);
	assert_int_equal(fr.rc, -ENOTSUP);
	assert_int_equal(fake_skipped(&fr, "file"), 1);
	assert_int_equal(fake_errors(&fr, "file"), 0);
	fake_frame_free(&fr);
}

/* Crawler format: the reference's types and numeric mode with type bits. */
static void test_crawler_format(void **state)
{
	struct fake_view fv;
	struct fake_opts o;
	struct fake_frame fr;
	init(&fv, &o, "/srv");
	o.crawler_format = true;
	crawl(&fv, &o, &fr);
	assert_non_null(strstr(fr.text, "\nfile\t\"/srv/link\"\t{\"name\":\"link\",\"path\":"
	                                "\"/srv/link\",\"type\":\"link\",\"mode\":41471,"));
	assert_non_null(strstr(fr.text, "\"linksto\":\"../etc/passwd\""));
	assert_non_null(strstr(fr.text, "\"type\":\"pipe\""));
	fake_frame_free(&fr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_walk),        cmocka_unit_test(test_excludes),
	    cmocka_unit_test(test_hash),        cmocka_unit_test(test_hash_max),
	    cmocka_unit_test(test_walk_errors), cmocka_unit_test(test_crawler_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
