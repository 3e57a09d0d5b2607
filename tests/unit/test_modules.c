/* Unit tests: the /proc/modules parser (views/host/modules_parse.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <fcntl.h>
#include <unistd.h>

#include "views/host/host.h"
#include "../../src/linux/modules_parse.h"

static void test_line(void **state)
{
	static const char l[] =
	    "nf_tables 299008 3 nft_ct,nft_chain_nat, Live 0xffffffffc0a00000 (E)";
	char scratch[sizeof(l)];
	struct vt_module m;
	assert_int_equal(modules_parse_line(l, sizeof(l) - 1, scratch, &m), 0);
	assert_string_equal(m.name, "nf_tables");
	assert_int_equal(m.size, 299008);
	assert_int_equal(m.refcount, 3);
	assert_string_equal(m.deps, "nft_ct,nft_chain_nat");
	assert_string_equal(m.state, "Live");
}

static void test_no_deps_no_refcount(void **state)
{
	static const char l[] = "loop 40960 - - Loading 0x0000000000000000";
	char scratch[sizeof(l)];
	struct vt_module m;
	assert_int_equal(modules_parse_line(l, sizeof(l) - 1, scratch, &m), 0);
	assert_int_equal(m.refcount, -1);
	assert_string_equal(m.deps, "");
	assert_string_equal(m.state, "Loading");
	/* no address at all is fine too */
	static const char l2[] = "x 1 0 - Live";
	char s2[sizeof(l2)];
	assert_int_equal(modules_parse_line(l2, sizeof(l2) - 1, s2, &m), 0);
}

static void test_bad_lines(void **state)
{
	static const char *const bad[] = {
	    "",
	    "name",
	    "name 12",
	    "name 12 0 -",
	    "name x12 0 - Live 0x0",
	    "name 12 -3 - Live 0x0",
	    "name 99999999999999999999999 0 - Live",
	    "name 12 0x1 - Live",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char scratch[64];
		struct vt_module m;
		assert_int_equal(modules_parse_line(bad[i], strlen(bad[i]), scratch, &m), -EINVAL);
	}
	static const char nul[] = "na\0me 12 0 - Live";
	char scratch[sizeof(nul)];
	struct vt_module m;
	assert_int_equal(modules_parse_line(nul, sizeof(nul) - 1, scratch, &m), -EINVAL);
}

struct seen {
	int good, bad;
	unsigned badline[8];
	char names[8][32];
};

static int good(void *ctx, const struct vt_module *m)
{
	struct seen *s = ctx;
	if (s->good < 8)
		snprintf(s->names[s->good], 32, "%s", m->name);
	s->good++;
	return 0;
}

static void bad(void *ctx, unsigned lineno)
{
	struct seen *s = ctx;
	if (s->bad < 8)
		s->badline[s->bad] = lineno;
	s->bad++;
}

static const char sample[] = "a 1 0 - Live 0x0\n"
                             "garbage\n"
                             "\n"
                             "b 2 1 a, Live 0x0\r\n"
                             "c 3 0 - Unloading 0x0";

static void test_buffer(void **state)
{
	struct seen s = {0};
	assert_int_equal(modules_parse(sample, sizeof(sample) - 1, good, bad, &s), 0);
	assert_int_equal(s.good, 3);
	assert_string_equal(s.names[0], "a");
	assert_string_equal(s.names[1], "b");
	assert_string_equal(s.names[2], "c");
	assert_int_equal(s.bad, 1);
	assert_int_equal(s.badline[0], 2);
}

static void test_truncated_everywhere(void **state)
{
	for (size_t n = 0; n <= sizeof(sample) - 1; n++) {
		char *copy = malloc(n ? n : 1);
		memcpy(copy, sample, n);
		struct seen s = {0};
		assert_int_equal(modules_parse(copy, n, good, bad, &s), 0);
		assert_true(s.good <= 3);
		free(copy);
	}
}

static void test_long_line(void **state)
{
	size_t n = MODULES_LINE_MAX + 10;
	char *l = malloc(n);
	memset(l, 'a', n);
	struct seen s = {0};
	assert_int_equal(modules_parse(l, n, good, bad, &s), 0);
	assert_int_equal(s.good, 0);
	assert_int_equal(s.bad, 1);
	free(l);
}

/* ---- host_modules and host_kernel against a fake procfs directory ---- */

struct fakeproc {
	char dir[64];
	struct host_view h;
};

static void put_file(const char *dir, const char *name, const char *text)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void fake_open(struct fakeproc *fp)
{
	strcpy(fp->dir, "/tmp/vantage-modules-test.XXXXXX");
	assert_non_null(mkdtemp(fp->dir));
	memset(&fp->h, 0, sizeof(fp->h));
	fp->h.proc_fd = open(fp->dir, O_DIRECTORY | O_RDONLY);
	fp->h.sys_fd = -1;
	assert_true(fp->h.proc_fd >= 0);
}

static void fake_close(struct fakeproc *fp)
{
	static const char *const files[] = {"modules", "stat", "uptime"};
	char path[128];
	close(fp->h.proc_fd);
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", fp->dir, files[i]);
		unlink(path);
	}
	rmdir(fp->dir);
}

struct errs {
	struct seen s;
	int errors;
};

static int good_mod(void *ctx, const struct vt_module *m)
{
	return good(&((struct errs *)ctx)->s, m);
}

static void iter_err(void *ctx, const char *what, int err)
{
	assert_int_equal(err, EINVAL);
	assert_non_null(strstr(what, "/proc/modules line 2"));
	((struct errs *)ctx)->errors++;
}

static void test_host_modules(void **state)
{
	struct fakeproc fp;
	fake_open(&fp);
	struct errs e = {0};
	struct view_iter it = {.ctx = &e, .error = iter_err};
	/* no /proc/modules: a kernel without modules, zero records, no error */
	assert_int_equal(host_modules(&fp.h.base, &it, good_mod), 0);
	assert_int_equal(e.s.good, 0);
	put_file(fp.dir, "modules", sample);
	assert_int_equal(host_modules(&fp.h.base, &it, good_mod), 0);
	assert_int_equal(e.s.good, 3);
	assert_int_equal(e.errors, 1);
	fake_close(&fp);
}

static void test_host_kernel(void **state)
{
	struct fakeproc fp;
	fake_open(&fp);
	struct vt_kernel k;
	put_file(fp.dir, "stat", "cpu  1 2 3\nintr 5 6\nbtime 1795320031\nprocesses 9\n");
	put_file(fp.dir, "uptime", "935.71 1800.02\n");
	assert_int_equal(host_kernel(&fp.h.base, &k), 0);
	assert_true(k.have & VK_RELEASE);
	assert_true(k.have & VK_MACHINE);
	assert_true(k.have & VK_BOOT);
	assert_true(k.boot_time == 1795320031.0);
	assert_true(k.have & VK_UPTIME);
	assert_true(k.uptime > 935.70 && k.uptime < 935.72);
	/* garbage: no btime line, so boot = now - uptime */
	put_file(fp.dir, "stat", "btimex 12\nbtime\n");
	put_file(fp.dir, "uptime", "12\n");
	assert_int_equal(host_kernel(&fp.h.base, &k), 0);
	assert_true(k.uptime == 12.0);
	assert_true(k.have & VK_BOOT);
	assert_true(k.boot_time > 1.7e9);
	/* nothing readable: uname facts only */
	put_file(fp.dir, "uptime", "x");
	put_file(fp.dir, "stat", "");
	assert_int_equal(host_kernel(&fp.h.base, &k), 0);
	assert_false(k.have & (VK_BOOT | VK_UPTIME));
	fake_close(&fp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_line),
	    cmocka_unit_test(test_no_deps_no_refcount),
	    cmocka_unit_test(test_bad_lines),
	    cmocka_unit_test(test_buffer),
	    cmocka_unit_test(test_truncated_everywhere),
	    cmocka_unit_test(test_long_line),
	    cmocka_unit_test(test_host_modules),
	    cmocka_unit_test(test_host_kernel),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
