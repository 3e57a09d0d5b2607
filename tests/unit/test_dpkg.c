/* Unit tests: the dpkg status reader (features/pkgdb.c): good paragraphs,
 * broken paragraphs, missing fields, continuation lines, CRLF, long lines,
 * chunked reads, and every truncation of a sample. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "features/pkgdb.h"

#define MAXP 16

/* What the callback saw, copied. */
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

static const char sample[] =
    "Package: libc6\n"
    "Status: install ok installed\n"
    "Priority: optional\n"
    "Section: libs\n"
    "Installed-Size: 12987\n"
    "Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>\n"
    "Architecture: amd64\n"
    "Multi-Arch: same\n"
    "Source: glibc\n"
    "Version: 2.36-9+deb12u7\n"
    "Depends: libgcc-s1\n"
    "Description: GNU C Library: Shared libraries\n"
    " Contains the standard libraries that are used by nearly all programs on\n"
    " the system.\n"
    " .\n"
    " Package: fake-continuation-line\n"
    "\n"
    "Package: openssl\n"
    "Status: hold ok installed\n"
    "Installed-Size: 2290\n"
    "Architecture: amd64\n"
    "Source: openssl (3.0.15-1~deb12u1)\n"
    "Version: 3.0.15-1~deb12u1\n"
    "Conffiles:\n"
    " /etc/ssl/openssl.cnf 1234abcd\n"
    "\n"
    "\n"
    "Package: removed-pkg\n"
    "Status: deinstall ok config-files\n"
    "Architecture: amd64\n"
    "Version: 1.0\n"
    "\n"
    "Package: half\n"
    "Status: install reinstreq half-installed\n"
    "Architecture: all\n"
    "Version: 2:1.0-1\n";

static void test_good(void **state)
{
	struct seen s = {0};
	assert_int_equal(dpkg_parse(sample, sizeof(sample) - 1, collect, &s), 0);
	assert_int_equal(s.n, 4);

	struct pkg *p = &s.p[0];
	assert_int_equal(p->bad, 0);
	assert_false(p->truncated);
	assert_int_equal(p->offset, 0);
	assert_str(&p->name, "libc6");
	assert_str(&p->version, "2.36-9+deb12u7");
	assert_str(&p->arch, "amd64");
	assert_str(&p->source, "glibc");
	assert_str(&p->status, "installed");
	assert_int_equal(p->size_kb, 12987);
	assert_true(p->multiarch_same);
	assert_int_equal(p->have,
	                 PKG_NAME | PKG_VERSION | PKG_ARCH | PKG_SIZE | PKG_SOURCE | PKG_STATUS);

	p = &s.p[1];
	assert_str(&p->name, "openssl");
	assert_str(&p->source, "openssl");
	assert_str(&p->status, "installed");
	assert_false(p->multiarch_same);
	assert_int_equal(p->offset, strstr(sample, "Package: openssl") - sample);

	assert_str(&s.p[2].status, "config-files");
	assert_str(&s.p[3].status, "half-installed");
	assert_str(&s.p[3].version, "2:1.0-1");
	assert_false(s.p[3].have & PKG_SIZE);
	assert_false(s.p[3].have & PKG_SOURCE);
}

static void test_states(void **state)
{
	assert_int_equal(dpkg_state("installed", 9), DPKG_PRESENT);
	assert_int_equal(dpkg_state("half-configured", 15), DPKG_PRESENT);
	assert_int_equal(dpkg_state("triggers-pending", 16), DPKG_PRESENT);
	assert_int_equal(dpkg_state("unpacked", 8), DPKG_PRESENT);
	assert_int_equal(dpkg_state("config-files", 12), DPKG_ABSENT);
	assert_int_equal(dpkg_state("not-installed", 13), DPKG_ABSENT);
	assert_int_equal(dpkg_state("installedx", 10), DPKG_UNKNOWN);
	assert_int_equal(dpkg_state("install", 7), DPKG_UNKNOWN);
	assert_int_equal(dpkg_state("", 0), DPKG_UNKNOWN);
}

static void test_crlf_and_case(void **state)
{
	static const char in[] = "package: a\r\nSTATUS: install ok installed\r\n"
	                         "version:1.0\r\narchitecture:   amd64  \r\n\r\n"
	                         "Package: b\r\nStatus: install ok installed\r\n";
	struct seen s = {0};
	assert_int_equal(dpkg_parse(in, sizeof(in) - 1, collect, &s), 0);
	assert_int_equal(s.n, 2);
	assert_str(&s.p[0].name, "a");
	assert_str(&s.p[0].version, "1.0");
	assert_str(&s.p[0].arch, "amd64");
	assert_str(&s.p[0].status, "installed");
	assert_str(&s.p[1].name, "b");
	assert_int_equal(s.p[1].bad, 0);
}

static void test_broken(void **state)
{
	static const char in[] = " continuation first\n" /* paragraph opens with one */
	                         "no colon here\n"
	                         ": empty field name\n"
	                         "Package: x\n"
	                         "Status: install installed\n" /* two words */
	                         "Installed-Size: 12kB\n"
	                         "Source:\n"
	                         "\n"
	                         "Status: install ok installed\n" /* no Package */
	                         "Version: 1\n"
	                         "\n"
	                         "garbage only\n"
	                         "\n"
	                         "Package:\n"         /* empty name */
	                         "Status: a b c d\n"; /* four words */
	struct seen s = {0};
	assert_int_equal(dpkg_parse(in, sizeof(in) - 1, collect, &s), 0);
	assert_int_equal(s.n, 4);
	assert_str(&s.p[0].name, "x");
	assert_int_equal(s.p[0].bad, 6);
	assert_false(s.p[0].have & (PKG_STATUS | PKG_SIZE | PKG_SOURCE));
	assert_false(s.p[1].have & PKG_NAME);
	assert_true(s.p[1].have & PKG_STATUS);
	assert_int_equal(s.p[2].have, 0);
	assert_int_equal(s.p[2].bad, 1);
	assert_int_equal(s.p[3].have, 0);
	assert_int_equal(s.p[3].bad, 2);
}

static void test_empty_and_blank(void **state)
{
	struct seen s = {0};
	assert_int_equal(dpkg_parse("", 0, collect, &s), 0);
	assert_int_equal(dpkg_parse("\n\n \n\t\r\n", 6, collect, &s), 0);
	assert_int_equal(s.n, 0);
}

static void test_long_values(void **state)
{
	/* a version longer than PKG_STR_MAX, and a line longer than a chunk */
	size_t big = PKGDB_CHUNK * 2 + 17;
	struct buf {
		char *p;
		size_t n;
	} b = {malloc(big + 1024), 0};
	b.n += (size_t)sprintf(b.p, "Package: long\nVersion: ");
	memset(b.p + b.n, '9', 600);
	b.n += 600;
	b.n += (size_t)sprintf(b.p + b.n, "\nDescription: ");
	memset(b.p + b.n, 'x', big);
	b.n += big;
	b.n += (size_t)sprintf(b.p + b.n, "\nStatus: install ok installed\n\nPackage: next\n");
	struct seen s = {0};
	assert_int_equal(dpkg_parse(b.p, b.n, collect, &s), 0);
	assert_int_equal(s.n, 2);
	assert_str(&s.p[0].name, "long");
	assert_true(s.p[0].truncated);
	assert_int_equal(s.p[0].version.len, PKG_STR_MAX - 1);
	assert_str(&s.p[0].status, "installed");
	assert_str(&s.p[1].name, "next");
	assert_int_equal(s.p[1].offset, b.n - strlen("Package: next\n"));
	free(b.p);
}

/* A read function giving `step` bytes at a time, and failing on demand. */
struct chunked {
	const char *p;
	size_t left, step;
	int fail_after; /* calls before returning -EIO; <0 never */
};

static ssize_t chunk_read(void *rctx, void *dst, size_t n)
{
	struct chunked *c = rctx;
	if (c->fail_after == 0)
		return -EIO;
	if (c->fail_after > 0)
		c->fail_after--;
	if (n > c->step)
		n = c->step;
	if (n > c->left)
		n = c->left;
	memcpy(dst, c->p, n);
	c->p += n;
	c->left -= n;
	return (ssize_t)n;
}

static void test_chunked_same_result(void **state)
{
	struct seen whole = {0};
	assert_int_equal(dpkg_parse(sample, sizeof(sample) - 1, collect, &whole), 0);
	for (size_t step = 1; step < 64; step++) {
		struct chunked c = {sample, sizeof(sample) - 1, step, -1};
		struct seen s = {0};
		assert_int_equal(dpkg_read(chunk_read, &c, collect, &s), 0);
		assert_int_equal(s.n, whole.n);
		for (int i = 0; i < s.n; i++) {
			assert_string_equal(s.p[i].name.s, whole.p[i].name.s);
			assert_string_equal(s.p[i].version.s, whole.p[i].version.s);
			assert_int_equal(s.p[i].offset, whole.p[i].offset);
		}
	}
}

static void test_read_error(void **state)
{
	struct chunked c = {sample, sizeof(sample) - 1, 100, 3};
	struct seen s = {0};
	assert_int_equal(dpkg_read(chunk_read, &c, collect, &s), -EIO);
	assert_true(s.n <= 1);
}

static int stop_at_two(void *ctx, const struct pkg *p)
{
	return ++*(int *)ctx == 2 ? 7 : 0;
}

static void test_callback_stops(void **state)
{
	int n = 0;
	assert_int_equal(dpkg_parse(sample, sizeof(sample) - 1, stop_at_two, &n), 7);
	assert_int_equal(n, 2);
}

/* Every prefix of the sample: no crash (ASan), no more packages than the
 * whole, names are prefixes of the real ones. */
static void test_truncated_everywhere(void **state)
{
	for (size_t n = 0; n <= sizeof(sample) - 1; n++) {
		char *copy = malloc(n ? n : 1);
		memcpy(copy, sample, n);
		struct seen s = {0};
		assert_int_equal(dpkg_parse(copy, n, collect, &s), 0);
		assert_true(s.n <= 4);
		for (int i = 0; i < s.n && i < MAXP; i++)
			assert_true(s.p[i].name.len <= PKG_STR_MAX - 1);
		free(copy);
	}
}

/* Random bytes and random splices of the sample never crash. */
static void test_garbage(void **state)
{
	unsigned seed = 12345;
	char buf[2048];
	for (int round = 0; round < 500; round++) {
		size_t n = (size_t)(rand_r(&seed) % sizeof(buf));
		for (size_t i = 0; i < n; i++) {
			unsigned r = (unsigned)rand_r(&seed);
			buf[i] = r % 4 == 0   ? sample[r % (sizeof(sample) - 1)]
			         : r % 4 == 1 ? "\n: \r\t"[r % 5]
			                      : (char)r;
		}
		struct seen s = {0};
		assert_int_equal(dpkg_parse(buf, n, collect, &s), 0);
	}
}

/* Conffiles: the lines after the field, path and MD5; an obsolete one
 * keeps its MD5, one without an MD5 gets ""; the next field ends the list. */
static void test_conffiles(void **state)
{
	static const char text[] = "Package: adduser\n"
	                           "Status: install ok installed\n"
	                           "Conffiles:\n"
	                           " /etc/adduser.conf cc3493ecd2d09837ffdcc3e25fdfff18\n"
	                           " /etc/deluser.conf 11a06baf8245fd8d690b99024d228c1f obsolete\n"
	                           " /etc/new.conf newconffile\n"
	                           " not-a-path 11a06baf8245fd8d690b99024d228c1f\n"
	                           "Version: 3.134\n"
	                           " continuation of Version: skipped\n"
	                           "\n"
	                           "Package: b\nVersion: 1\n";
	struct seen s = {0};
	assert_int_equal(dpkg_parse(text, sizeof(text) - 1, collect, &s), 0);
	assert_int_equal(s.n, 2);
	const struct pkg *p = &s.p[0];
	assert_true(p->have & PKG_CONFFILES);
	assert_int_equal(p->nconffiles, 3);
	assert_str(&p->conffiles[0].path, "/etc/adduser.conf");
	assert_string_equal(p->conffiles[0].md5, "cc3493ecd2d09837ffdcc3e25fdfff18");
	assert_string_equal(p->conffiles[1].md5, "11a06baf8245fd8d690b99024d228c1f");
	assert_str(&p->conffiles[2].path, "/etc/new.conf");
	assert_string_equal(p->conffiles[2].md5, "");
	assert_int_equal(p->bad, 1); /* not-a-path */
	assert_str(&p->version, "3.134");
	assert_false(s.p[1].have & PKG_CONFFILES);
	assert_int_equal(s.p[1].nconffiles, 0);

	/* a file opening with continuation lines: no Conffiles field was
	 * seen, so none is a conffile (the reader once read its "in
	 * Conffiles" flag uninitialized here: fuzz/regress/pkgdb/) */
	static const char open_cont[] = " first continuation\n"
	                                " /etc/x.conf cc3493ecd2d09837ffdcc3e25fdfff18\n"
	                                "Package: c\n";
	memset(&s, 0, sizeof(s));
	assert_int_equal(dpkg_parse(open_cont, sizeof(open_cont) - 1, collect, &s), 0);
	assert_int_equal(s.n, 1);
	assert_str(&s.p[0].name, "c");
	assert_int_equal(s.p[0].nconffiles, 0);
	assert_false(s.p[0].have & PKG_CONFFILES);
	assert_int_equal(s.p[0].bad, 1);
}

/* A paragraph that opens with continuation lines: they are bad lines,
 * never conffiles (the Conffiles state starts cleared, not stale). */
static void test_leading_continuation(void **state)
{
	static const char text[] = " /etc/a.conf cc3493ecd2d09837ffdcc3e25fdfff18\n"
	                           " /etc/b.conf 11a06baf8245fd8d690b99024d228c1f\n"
	                           "Package: a\n";
	/* a read that fails in a Conffiles list first: without a quarantine
	 * (the plain build) the next reader gets that state's memory back */
	static const char cut[] = "Package: z\nConffiles:\n /etc/z.conf "
	                          "cc3493ecd2d09837ffdcc3e25fdfff18\n";
	struct chunked c = {cut, sizeof(cut) - 1, 1000, 1};
	struct seen s = {0};
	assert_int_equal(dpkg_read(chunk_read, &c, collect, &s), -EIO);
	assert_int_equal(s.n, 0);
	assert_int_equal(dpkg_parse(text, sizeof(text) - 1, collect, &s), 0);
	assert_int_equal(s.n, 1);
	assert_false(s.p[0].have & PKG_CONFFILES);
	assert_int_equal(s.p[0].nconffiles, 0);
	assert_int_equal(s.p[0].bad, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good),
	    cmocka_unit_test(test_states),
	    cmocka_unit_test(test_crlf_and_case),
	    cmocka_unit_test(test_broken),
	    cmocka_unit_test(test_empty_and_blank),
	    cmocka_unit_test(test_long_values),
	    cmocka_unit_test(test_chunked_same_result),
	    cmocka_unit_test(test_read_error),
	    cmocka_unit_test(test_callback_stops),
	    cmocka_unit_test(test_truncated_everywhere),
	    cmocka_unit_test(test_garbage),
	    cmocka_unit_test(test_conffiles),
	    cmocka_unit_test(test_leading_continuation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
