/* Unit tests: the library feature on a fake view -- one record per mapped
 * file with every process that maps it, anonymous and pseudo mappings left
 * out, a file replaced while mapped keyed apart, a process whose mappings
 * cannot be read counted as an error, the deleted-only option, and a view
 * without mappings skipped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include <jansson.h>

#include "fake_view.h"

extern const struct feature feature_library;

static const struct vt_proc procs[] = {
    {.have = VP_NSPID, .pid = 1001, .nspid = 1, .comm = "init"},
    {.have = VP_NSPID, .pid = 1002, .nspid = 2, .comm = "web"},
    {.have = VP_NSPID, .pid = 1003, .nspid = 3, .comm = "gone"},
};

#define LIBC "/usr/lib/x86_64-linux-gnu/libc.so.6"
static const struct fake_maps maps[] = {
    {.pid = 1001,
     .text = "55d0c0000000-55d0c0001000 r--p 00000000 fe:00 100 /usr/bin/init\n"
             "55d0c0001000-55d0c0005000 r-xp 00001000 fe:00 100 /usr/bin/init\n"
             "55d0c1000000-55d0c1021000 rw-p 00000000 00:00 0 [heap]\n"
             "7f0000000000-7f0000028000 r--p 00000000 fe:00 200 " LIBC "\n"
             "7f0000028000-7f00001bd000 r-xp 00028000 fe:00 200 " LIBC "\n"
             "7f0000200000-7f0000201000 rw-p 00000000 00:00 0\n"
             "7f0000300000-7f0000301000 rw-s 00000000 00:01 1035 /memfd:x (deleted)\n"
             "garbage that is no maps line\n"
             "7ffd00000000-7ffd00001000 r-xp 00000000 00:00 0 [vdso]\n"},
    {.pid = 1002,
     .text = "55e000000000-55e000001000 r-xp 00000000 fe:00 300 /usr/sbin/web server\n"
             "7f1000000000-7f1000028000 r-xp 00000000 fe:00 201 " LIBC " (deleted)\n"
             "7f2000000000-7f2000001000 r--p 00000000 fe:00 400 /usr/lib/locale/C.utf8/LC_CTYPE\n"},
    {.pid = 1003, .err = -ESRCH},
};

static void setup(struct fake_view *fv)
{
	fake_view_init(fv);
	fv->procs = procs;
	fv->nprocs = 3;
	fv->maps = maps;
	fv->nmaps = 3;
}

static void test_library(void **state)
{
	struct fake_view fv;
	struct fake_frame fr;
	setup(&fv);
	fake_crawl(&feature_library, &fv.base, NULL, &fr);
	assert_int_equal(fr.rc, 0);
	/* init, web server, locale, and libc twice (replaced while mapped) */
	assert_int_equal(fake_nrecs(&fr), 5);
	json_t *init = fake_value(&fr, "/usr/bin/init");
	assert_non_null(init);
	assert_int_equal((int)fake_num(init, "inode"), 100);
	assert_string_equal(fake_str(init, "device"), "254:0");
	assert_true(json_is_true(json_object_get(init, "executable")));
	assert_false(json_is_true(json_object_get(init, "deleted")));
	/* mapped twice by one process: one process */
	assert_int_equal((int)fake_num(init, "processes"), 1);
	json_t *pids = json_object_get(init, "pids");
	assert_int_equal(json_array_size(pids), 1);
	assert_int_equal(json_integer_value(json_array_get(pids, 0)), 1); /* inside */
	/* a path with a space */
	assert_non_null(fake_value(&fr, "/usr/sbin/web server"));
	json_t *loc = fake_value(&fr, "/usr/lib/locale/C.utf8/LC_CTYPE");
	assert_non_null(loc);
	assert_false(json_is_true(json_object_get(loc, "executable")));
	/* the same path, two files: keyed apart, the old one deleted */
	assert_null(fake_value(&fr, LIBC));
	json_t *old = fake_value(&fr, LIBC "@201"), *cur = fake_value(&fr, LIBC "@200");
	assert_non_null(old);
	assert_non_null(cur);
	assert_true(json_is_true(json_object_get(old, "deleted")));
	assert_false(json_is_true(json_object_get(cur, "deleted")));
	assert_int_equal(json_integer_value(json_array_get(json_object_get(old, "pids"), 0)), 2);
	/* no anonymous memory, [heap], [vdso] or memfd */
	assert_null(fake_value(&fr, "[heap]"));
	assert_null(fake_value(&fr, "/memfd:x"));
	/* the process that went away: one error naming it */
	assert_int_equal(fake_errors(&fr, "library"), 1);
	assert_true(fake_message(&fr, "library", "pid 3 (gone)"));
	fake_frame_free(&fr);
}

static void test_deleted_only(void **state)
{
	struct fake_view fv;
	struct fake_frame fr;
	struct fake_opts o;
	setup(&fv);
	fake_opts_init(&o);
	o.set[0].flag = "library-deleted-only";
	o.set[0].value = "true";
	o.nset = 1;
	fake_crawl(&feature_library, &fv.base, &o, &fr);
	assert_int_equal(fake_nrecs(&fr), 1);
	json_t *old = fake_value(&fr, LIBC);
	assert_non_null(old);
	assert_true(json_is_true(json_object_get(old, "deleted")));
	fake_frame_free(&fr);
}

static void test_no_mappings_skipped(void **state)
{
	struct fake_view fv;
	struct fake_frame fr;
	setup(&fv);
	fake_view_drop(&fv, FAKE_MAPPINGS); /* a VM seen from its RAM, an image */
	fake_crawl(&feature_library, &fv.base, NULL, &fr);
	assert_int_equal(fr.rc, -ENOTSUP);
	assert_int_equal(fake_nrecs(&fr), 0);
	assert_int_equal(fake_skipped(&fr, "library"), 1);
	assert_int_equal(fake_errors(&fr, "library"), 0);
	fake_frame_free(&fr);
}

static void test_view_fails(void **state)
{
	struct fake_view fv;
	struct fake_frame fr;
	setup(&fv);
	fv.err[FAKE_PROCESSES] = -EACCES;
	fake_crawl(&feature_library, &fv.base, NULL, &fr);
	assert_int_equal(fr.rc, -EACCES);
	assert_int_equal(fake_errors(&fr, "library"), 1);
	fake_frame_free(&fr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_library),
	    cmocka_unit_test(test_deleted_only),
	    cmocka_unit_test(test_no_mappings_skipped),
	    cmocka_unit_test(test_view_fails),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
