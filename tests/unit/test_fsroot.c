/*
 * Unit tests: confined file access (views/fsroot.c).
 *
 * A temporary root is built with hostile entries: absolute and relative
 * symlinks pointing out of the root, a symlink loop, a FIFO, a symlink to
 * "/", a magic-link path.  Both resolvers (openat2 and the user-space
 * component walk) must resolve everything inside the root: whatever they
 * open is compared by inode with the root's own files and never equals the
 * host's.  The walk is checked against the exact expected entry list.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "views/fsroot.h"

static char root_dir[] = "/tmp/vantage-fsroot.XXXXXX";
static struct fsroot R;

/* ---- fixture -------------------------------------------------------------- */

static void put(const char *rel, const char *content)
{
	char p[4096];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", root_dir, rel);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
}

static void mk(const char *rel)
{
	char p[4096];

	snprintf(p, sizeof(p), "%s/%s", root_dir, rel);
	assert_int_equal(mkdir(p, 0755), 0);
}

static void lnk(const char *target, const char *rel)
{
	char p[4096];

	snprintf(p, sizeof(p), "%s/%s", root_dir, rel);
	assert_int_equal(symlink(target, p), 0);
}

static void fifo(const char *rel)
{
	char p[4096];

	snprintf(p, sizeof(p), "%s/%s", root_dir, rel);
	assert_int_equal(mkfifo(p, 0644), 0);
}

static int setup(void **state)
{
	if (!mkdtemp(root_dir))
		return -1;
	mk("etc");
	put("etc/passwd", "root:x:0:0:fake:/root:/bin/sh\n");
	lnk("/etc/shadow", "etc/os-release");
	lnk("../../../../etc/passwd", "etc/x");
	lnk("loop2", "etc/loop1");
	lnk("loop1", "etc/loop2");
	lnk("/proc/self/root/etc/passwd", "etc/magic");
	lnk("x", "etc/chain"); /* chain -> x -> ../../../../etc/passwd */
	fifo("etc/fifo");
	lnk("/", "rootlink");
	mk("d");
	put("d/f", "hello");
	mk("d/sub");
	put("d/sub/g", "g");
	mk("d/skip");
	put("d/skip/h", "h");
	mk("d/gone");
	lnk("../etc", "d/lnk");
	fifo("d/fifo");
	/* a chain of 300 nested directories */
	{
		char p[4096];
		int fd;

		mk("deep");
		snprintf(p, sizeof(p), "%s/deep", root_dir);
		fd = open(p, O_RDONLY | O_DIRECTORY);
		for (int i = 0; i < 300; i++) {
			int nfd;

			assert_int_equal(mkdirat(fd, "a", 0755), 0);
			nfd = openat(fd, "a", O_RDONLY | O_DIRECTORY);
			close(fd);
			fd = nfd;
		}
		close(fd);
	}
	return fsroot_init(&R, root_dir) == 0 ? 0 : -1;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(p);
}

static int teardown(void **state)
{
	fsroot_fini(&R);
	return nftw(root_dir, rm_one, 64, FTW_DEPTH | FTW_PHYS);
}

/* True when fd is the root's own etc/passwd (and so not the host's). */
static void assert_root_passwd(int fd)
{
	struct stat got, mine, host;
	char p[4096];

	assert_true(fd >= 0);
	snprintf(p, sizeof(p), "%s/etc/passwd", root_dir);
	assert_int_equal(fstat(fd, &got), 0);
	assert_int_equal(stat(p, &mine), 0);
	assert_true(got.st_ino == mine.st_ino && got.st_dev == mine.st_dev);
	if (stat("/etc/passwd", &host) == 0)
		assert_false(got.st_ino == host.st_ino && got.st_dev == host.st_dev);
	close(fd);
}

/* ---- resolution, for both resolvers --------------------------------------- */

typedef int (*open_fn)(struct fsroot *r, const char *path, int flags);

static void check_resolver(open_fn op)
{
	int fd;

	/* escapes through "..", absolute links, "/" links: all stay inside */
	assert_root_passwd(op(&R, "/etc/x", O_RDONLY));
	assert_root_passwd(op(&R, "etc/chain", O_RDONLY));
	assert_root_passwd(op(&R, "/../../../etc/passwd", O_RDONLY));
	assert_root_passwd(op(&R, "/etc/../../etc/./passwd", O_RDONLY));
	assert_root_passwd(op(&R, "/rootlink/etc/passwd", O_RDONLY));
	assert_root_passwd(op(&R, "/rootlink/rootlink/../etc/x", O_RDONLY));
	assert_root_passwd(op(&R, "//d/lnk/passwd", O_RDONLY));
	/* the absolute link points at the root's /etc/shadow, which is absent */
	assert_int_equal(op(&R, "/etc/os-release", O_RDONLY), -ENOENT);
	/* /proc/self/root inside the root is just a path there (absent) */
	fd = op(&R, "/etc/magic", O_RDONLY);
	assert_true(fd < 0);
	assert_int_equal(op(&R, "/etc/loop1", O_RDONLY), -ELOOP);
	assert_int_equal(op(&R, "/etc/passwd/", O_RDONLY), -ENOTDIR);
	assert_int_equal(op(&R, "/etc/passwd/x", O_RDONLY), -ENOTDIR);
	assert_int_equal(op(&R, "/nope/x", O_RDONLY), -ENOENT);
	/* O_NOFOLLOW on a final symlink: ELOOP, or the link itself with O_PATH */
	assert_int_equal(op(&R, "/etc/x", O_RDONLY | O_NOFOLLOW), -ELOOP);
	fd = op(&R, "/etc/x", O_PATH | O_NOFOLLOW);
	assert_true(fd >= 0);
	{
		struct stat st;

		assert_int_equal(fstat(fd, &st), 0);
		assert_true(S_ISLNK(st.st_mode));
		close(fd);
	}
	/* directories, the root itself, "" */
	fd = op(&R, "/", O_PATH | O_DIRECTORY);
	assert_true(fd >= 0);
	close(fd);
	fd = op(&R, "", O_RDONLY | O_DIRECTORY);
	assert_true(fd >= 0);
	close(fd);
	fd = op(&R, "/rootlink/", O_PATH | O_DIRECTORY);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(op(&R, "/etc/passwd", O_PATH | O_DIRECTORY), -ENOTDIR);
	/* a FIFO opened non-blocking (the caller's flags) does not block */
	fd = op(&R, "/etc/fifo", O_RDONLY | O_NONBLOCK);
	assert_true(fd >= 0);
	close(fd);
}

static void test_openat2(void **state)
{
	check_resolver(fsroot_openat);
}

static void test_openat_walk(void **state)
{
	char longp[5000];

	check_resolver(fsroot_openat_walk);
	memset(longp, 'a', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = 0;
	assert_int_equal(fsroot_openat_walk(&R, longp, O_RDONLY), -ENAMETOOLONG);
	assert_int_equal(fsroot_openat_walk(&R, NULL, O_RDONLY), -EINVAL);
}

static void test_init(void **state)
{
	struct fsroot r;
	char p[4096];

	assert_int_equal(fsroot_init(&r, "/nonexistent/vantage"), -ENOENT);
	snprintf(p, sizeof(p), "%s/etc/passwd", root_dir);
	assert_int_equal(fsroot_init(&r, p), -ENOTDIR);
	assert_int_equal(fsroot_init(&r, ""), -EINVAL);
}

/* ---- files ---------------------------------------------------------------- */

static void test_file_open(void **state)
{
	struct vfile *f = NULL;
	struct vt_stat st;
	char b[64];
	ssize_t n;

	alarm(10); /* a FIFO that blocked would hang the test */
	assert_int_equal(fsroot_file_open(&R, "/etc/x", &f), 0);
	n = fsroot_file_read(f, b, sizeof(b) - 1);
	assert_true(n > 0);
	b[n] = 0;
	assert_string_equal(b, "root:x:0:0:fake:/root:/bin/sh\n");
	assert_int_equal(fsroot_file_stat(f, &st), 0);
	assert_int_equal(st.type, VF_REG);
	assert_int_equal(st.size, (uint64_t)n);
	fsroot_file_close(f);

	assert_int_equal(fsroot_file_open(&R, "/etc/fifo", &f), -EINVAL);
	assert_null(f);
	assert_int_equal(fsroot_file_open(&R, "/etc", &f), -EINVAL);
	assert_int_equal(fsroot_file_open(&R, "/etc/loop1", &f), -ELOOP);
	assert_int_equal(fsroot_file_open(&R, "/etc/os-release", &f), -ENOENT);
	assert_int_equal(fsroot_file_open(&R, "/rootlink/etc/shadow", &f), -ENOENT);
	alarm(0);
}

static void test_stat(void **state)
{
	struct vt_stat st, rst;
	struct stat hs;

	assert_int_equal(fsroot_stat(&R, "/", &rst), 0);
	assert_int_equal(rst.type, VF_DIR);
	assert_int_equal(stat(root_dir, &hs), 0);
	assert_int_equal(rst.inode, hs.st_ino);
	/* ".." of the root is the root */
	assert_int_equal(fsroot_stat(&R, "/..", &st), 0);
	assert_int_equal(st.inode, rst.inode);
	assert_int_equal(fsroot_stat(&R, "/etc/x", &st), 0);
	assert_int_equal(st.type, VF_LNK);
	assert_int_equal(fsroot_stat(&R, "/etc/passwd", &st), 0);
	assert_int_equal(st.type, VF_REG);
	assert_int_equal(st.size, 30);
	assert_int_equal(fsroot_stat(&R, "/rootlink/etc/fifo", &st), 0);
	assert_int_equal(st.type, VF_FIFO);
	assert_int_equal(fsroot_stat(&R, "/rootlink", &st), 0);
	assert_int_equal(st.type, VF_LNK);
	assert_int_equal(fsroot_stat(&R, "/etc/", &st), 0);
	assert_int_equal(st.type, VF_DIR);
	assert_int_equal(fsroot_stat(&R, "/nope", &st), -ENOENT);
	assert_int_equal(fsroot_stat(&R, "/nope/x", &st), -ENOENT);
}

static void test_fill_stat(void **state)
{
	struct stat s = {0};
	struct vt_stat v;

	s.st_mode = S_IFSOCK | 04755;
	s.st_size = -5;
	fsroot_fill_stat(&s, &v);
	assert_int_equal(v.type, VF_SOCK);
	assert_int_equal(v.mode, 04755);
	assert_int_equal(v.size, 0);
	s.st_mode = S_IFIFO | 0600;
	fsroot_fill_stat(&s, &v);
	assert_int_equal(v.type, VF_FIFO);
	s.st_mode = S_IFBLK;
	fsroot_fill_stat(&s, &v);
	assert_int_equal(v.type, VF_BLK);
	s.st_mode = S_IFCHR;
	fsroot_fill_stat(&s, &v);
	assert_int_equal(v.type, VF_CHR);
}

/* ---- walks ---------------------------------------------------------------- */

struct collect {
	char seen[512][1024];
	int n;
	int errors;
	int last_err;
	char err_path[256];
	int stop_after; /* return this many entries then 7 */
	bool read_files;
	int max_depth;
	int entries;
};

static int collect_entry(void *ctx, const struct vt_walk_entry *e)
{
	struct collect *c = ctx;

	c->entries++;
	if (e->depth > c->max_depth)
		c->max_depth = e->depth;
	if (c->n < 512)
		snprintf(c->seen[c->n++], sizeof(c->seen[0]), "%s%s%s", e->path,
		         e->link ? "->" : "", e->link ? e->link : "");
	if (c->stop_after && c->entries == c->stop_after)
		return 7;
	if (strcmp(e->name, "skip") == 0)
		return VT_WALK_SKIP;
	if (strcmp(e->path, "/d/gone") == 0) { /* vanishes before we descend */
		char p[4096];

		snprintf(p, sizeof(p), "%s/d/gone", root_dir);
		assert_int_equal(rmdir(p), 0);
	}
	if (c->read_files) {
		struct vfile *f = NULL;
		int rc = fsroot_walk_open(&R, e, &f);

		if (e->st.type == VF_REG) {
			char b[16] = {0};

			assert_int_equal(rc, 0);
			assert_true(fsroot_file_read(f, b, sizeof(b) - 1) > 0);
			if (strcmp(e->path, "/d/f") == 0)
				assert_string_equal(b, "hello");
			fsroot_file_close(f);
		} else {
			assert_int_equal(rc, -EINVAL);
		}
	}
	return 0;
}

static void collect_error(void *ctx, const char *path, int err)
{
	struct collect *c = ctx;

	c->errors++;
	c->last_err = err;
	snprintf(c->err_path, sizeof(c->err_path), "%s", path);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(a, b);
}

static const struct vt_walk_ops collect_ops = {.entry = collect_entry, .error = collect_error};

static void test_walk_tree(void **state)
{
	static const char *const want[] = {
	    "/d", "/d/f", "/d/fifo", "/d/gone", "/d/lnk->../etc", "/d/skip", "/d/sub", "/d/sub/g",
	};
	struct collect *c = calloc(1, sizeof(*c));
	char p[4096];

	alarm(10);
	c->read_files = true;
	assert_int_equal(fsroot_walk(&R, "/d/", &collect_ops, c), 0);
	qsort(c->seen, (size_t)c->n, sizeof(c->seen[0]), cmp_str);
	assert_int_equal(c->n, (int)(sizeof(want) / sizeof(want[0])));
	for (int i = 0; i < c->n; i++)
		assert_string_equal(c->seen[i], want[i]);
	/* the directory that vanished is reported, and the walk went on */
	assert_int_equal(c->errors, 1);
	assert_int_equal(c->last_err, ENOENT);
	assert_string_equal(c->err_path, "/d/gone");
	assert_int_equal(c->max_depth, 2);
	snprintf(p, sizeof(p), "%s/d/gone", root_dir);
	assert_int_equal(mkdir(p, 0755), 0);
	alarm(0);
	free(c);
}

static void test_walk_edges(void **state)
{
	struct collect *c = calloc(1, sizeof(*c));

	/* a file as the root: one entry, openable through the walk */
	c->read_files = true;
	assert_int_equal(fsroot_walk(&R, "/d/f", &collect_ops, c), 0);
	assert_int_equal(c->n, 1);
	assert_string_equal(c->seen[0], "/d/f");

	/* a symlink as the root: reported, not followed */
	memset(c, 0, sizeof(*c));
	assert_int_equal(fsroot_walk(&R, "/rootlink", &collect_ops, c), 0);
	assert_int_equal(c->n, 1);
	assert_string_equal(c->seen[0], "/rootlink->/");

	/* the parent of the start resolves inside the root */
	memset(c, 0, sizeof(*c));
	assert_int_equal(fsroot_walk(&R, "/rootlink/d/sub", &collect_ops, c), 0);
	assert_int_equal(c->n, 2);

	/* ".." cannot climb out: "/.." is the root */
	memset(c, 0, sizeof(*c));
	c->stop_after = 1;
	assert_int_equal(fsroot_walk(&R, "/../..", &collect_ops, c), 7);
	assert_string_equal(c->seen[0], "/");

	/* a missing root fails the walk */
	memset(c, 0, sizeof(*c));
	assert_int_equal(fsroot_walk(&R, "/nope", &collect_ops, c), -ENOENT);
	assert_int_equal(fsroot_walk(&R, "/nope/deeper", &collect_ops, c), -ENOENT);
	assert_int_equal(c->n, 0);

	/* a callback's stop value is returned */
	memset(c, 0, sizeof(*c));
	c->stop_after = 3;
	assert_int_equal(fsroot_walk(&R, "/d", &collect_ops, c), 7);
	assert_int_equal(c->entries, 3);
	free(c);
}

static void test_walk_whole_root(void **state)
{
	struct collect *c = calloc(1, sizeof(*c));
	bool passwd = false;

	assert_int_equal(fsroot_walk(&R, "/", &collect_ops, c), 0);
	for (int i = 0; i < c->n; i++) {
		assert_true(c->seen[i][0] == '/');
		assert_null(strstr(c->seen[i], "//"));
		assert_null(strstr(c->seen[i], "/rootlink/"));
		if (strcmp(c->seen[i], "/etc/passwd") == 0)
			passwd = true;
	}
	assert_string_equal(c->seen[0], "/");
	assert_true(passwd);
	free(c);
}

static void test_walk_depth_limit(void **state)
{
	struct collect *c = calloc(1, sizeof(*c));

	assert_int_equal(fsroot_walk(&R, "/deep", &collect_ops, c), 0);
	/* /deep and 256 levels of "a" are reported; the last is not read */
	assert_int_equal(c->entries, FSROOT_WALK_MAX_DEPTH + 1);
	assert_int_equal(c->max_depth, FSROOT_WALK_MAX_DEPTH);
	assert_int_equal(c->errors, 1);
	assert_int_equal(c->last_err, VT_WALK_TOO_DEEP);
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_init),
	    cmocka_unit_test(test_openat2),
	    cmocka_unit_test(test_openat_walk),
	    cmocka_unit_test(test_file_open),
	    cmocka_unit_test(test_stat),
	    cmocka_unit_test(test_fill_stat),
	    cmocka_unit_test(test_walk_tree),
	    cmocka_unit_test(test_walk_edges),
	    cmocka_unit_test(test_walk_whole_root),
	    cmocka_unit_test(test_walk_depth_limit),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
