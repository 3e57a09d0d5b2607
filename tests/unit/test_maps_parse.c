/* Unit tests: the /proc/PID/maps line parser (linux/maps_parse.c), with
 * garbage fed to it under ASan+UBSan. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "linux/maps_parse.h"

static bool parse(const char *l, struct maps_line *m)
{
	/* an exact-size heap copy, so ASan sees a read past the end */
	size_t n = strlen(l);
	char *p = malloc(n ? n : 1);
	memcpy(p, l, n);
	bool ok = maps_parse_line(p, p + n, m);
	if (ok) /* the path points into the copy: check it, then forget it */
		assert_true(m->path >= p && m->path + m->path_len <= p + n);
	free(p);
	m->path = NULL;
	return ok;
}

static void file_line(void **state)
{
	static const char l[] = "7f3a2c000000-7f3a6c000000 rw-s 00001000 fd:01 1035   "
	                        "/dev/shm/my guest (deleted)";
	struct maps_line m;
	assert_true(maps_parse_line(l, l + sizeof(l) - 1, &m));
	assert_int_equal(m.start, 0x7f3a2c000000ull);
	assert_int_equal(m.end, 0x7f3a6c000000ull);
	assert_int_equal(m.offset, 0x1000);
	assert_int_equal(m.dev_major, 0xfd);
	assert_int_equal(m.dev_minor, 1);
	assert_int_equal(m.inode, 1035);
	assert_string_equal(m.perms, "rw-s");
	assert_true(maps_readable(&m) && maps_writable(&m) && !maps_executable(&m));
	assert_true(maps_shared(&m));
	assert_true(m.deleted);
	assert_int_equal(m.path_len, strlen("/dev/shm/my guest"));
	assert_true(maps_path_is(&m, "/dev/shm/my guest"));
	assert_true(maps_path_starts(&m, "/dev/shm/"));
	assert_false(maps_path_is(&m, "/dev/shm/my guest (deleted)"));
}

static void anon_and_pseudo(void **state)
{
	struct maps_line m;
	assert_true(parse("7ffd1000-7ffd2000 rw-p 00000000 00:00 0", &m));
	assert_int_equal(m.path_len, 0);
	assert_false(m.deleted);
	assert_false(maps_shared(&m));
	assert_true(parse("7ffd1000-7ffd2000 rw-p 00000000 00:00 0                  [stack]", &m));
	assert_int_equal(m.path_len, 7);
	assert_true(
	    parse("ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0  [vsyscall]", &m));
	assert_true(maps_executable(&m) && !maps_readable(&m));
}

static void malformed(void **state)
{
	static const char *bad[] = {
	    "",
	    "-",
	    "1000",
	    "1000-",
	    "2000-1000 rw-p 0 00:00 0",                         /* end before start */
	    "1000-1000 rw-p 0 00:00 0",                         /* empty */
	    "1000-2000",                                        /* no perms */
	    "1000-2000 rw",                                     /* short perms */
	    "1000-2000 rw-pq 0 00:00 0",                        /* long perms */
	    "1000-2000 rw-p",                                   /* no offset */
	    "1000-2000 rw-p 0",                                 /* no device */
	    "1000-2000 rw-p 0 00",                              /* no minor */
	    "1000-2000 rw-p 0 00:00",                           /* no inode */
	    "1000-2000 rw-p 0 00:00 x",                         /* bad inode */
	    "1000-2000 rw-p zz 00:00 0",                        /* bad offset */
	    "1000-2000 rw-p 0 100000000:0 0",                   /* major overflow */
	    "10000000000000000-20000000000000000 rw-p 0 0:0 0", /* address overflow */
	    "1000x-2000 rw-p 0 00:00 0",
	};
	struct maps_line m;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse(bad[i], &m))
			fail_msg("accepted: \"%s\"", bad[i]);
	assert_false(maps_parse_line(NULL, NULL, &m));
}

static int count(const struct maps_line *m, void *arg)
{
	(*(int *)arg)++;
	return m->inode == 99 ? 7 : 0;
}

static void for_each(void **state)
{
	static const char f[] = "1000-2000 r--p 0 00:00 1 /a\n"
	                        "garbage line\n"
	                        "\n"
	                        "3000-4000 rw-p 0 00:00 2 /b\n"
	                        "5000-6000 rw-p 0 00:00 3"; /* no final newline */
	int n = 0;
	assert_int_equal(maps_for_each(f, sizeof(f) - 1, count, &n), 0);
	assert_int_equal(n, 3);
	static const char g[] = "1000-2000 r--p 0 00:00 99 /a\n3000-4000 rw-p 0 00:00 2 /b\n";
	n = 0;
	assert_int_equal(maps_for_each(g, sizeof(g) - 1, count, &n), 7);
	assert_int_equal(n, 1);
}

/* Random bytes, random cuts of good lines and byte flips: never a crash
 * or an out-of-bounds read (ASan), and what parses is consistent. */
static void garbage(void **state)
{
	static const char good[] =
	    "7f3a2c000000-7f3a6c000000 rw-s 00001000 fd:01 1035 /x (deleted)";
	static const char alpha[] = "0123456789abcdefABCDEF-: \t\nrwxsp()/[]deleted";
	unsigned seed = 12345;
	struct maps_line m;
	for (int it = 0; it < 20000; it++) {
		char l[128];
		size_t n;
		seed = seed * 1103515245u + 12345u;
		if (it % 3 == 0) { /* random bytes */
			n = (seed >> 8) % sizeof(l);
			for (size_t i = 0; i < n; i++) {
				seed = seed * 1103515245u + 12345u;
				l[i] = (char)(seed >> 16);
			}
		} else if (it % 3 == 1) { /* from a small alphabet */
			n = (seed >> 8) % sizeof(l);
			for (size_t i = 0; i < n; i++) {
				seed = seed * 1103515245u + 12345u;
				l[i] = alpha[(seed >> 16) % (sizeof(alpha) - 1)];
			}
		} else { /* a cut and flipped good line */
			n = (seed >> 8) % sizeof(good);
			memcpy(l, good, n);
			if (n) {
				seed = seed * 1103515245u + 12345u;
				l[(seed >> 8) % n] = (char)(seed >> 20);
			}
		}
		char *p = malloc(n ? n : 1);
		memcpy(p, l, n);
		if (maps_parse_line(p, p + n, &m)) {
			assert_true(m.end > m.start);
			assert_true(m.path >= p && m.path + m.path_len <= p + n);
			assert_int_equal(strlen(m.perms), 4);
		}
		int cnt = 0;
		maps_for_each(p, n, count, &cnt);
		free(p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(file_line), cmocka_unit_test(anon_and_pseudo),
	    cmocka_unit_test(malformed), cmocka_unit_test(for_each),
	    cmocka_unit_test(garbage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
