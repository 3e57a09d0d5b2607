/*
 * Unit tests: the disk image view (views/image.c), under ASan and UBSan.
 *
 * The superblock check is fed a real superblock and altered copies.  Then
 * a small tree is made into ext4 images with mke2fs -d (with and without
 * metadata checksums); debugfs adds what mke2fs cannot make: a directory
 * hard-linked into itself (a loop) and a directory entry with an inode
 * number past the end of the inode table.  Path resolution must stay in
 * the image (.. clamped at its root, absolute targets from its root, loops
 * ELOOP), the walk must report every entry once and the loop and bad
 * entry as errors, and a few hundred images with bytes overwritten in
 * their inode tables and directories must open-or-fail and walk without
 * a memory error (ASan) or a hang (alarm).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ext2fs/ext2fs.h>

#include "views/image.h"

static char dir[] = "/tmp/vantage-image.XXXXXX";
static char tree[4200], img[4200], nocsum[4200], ext2[4200], inl[4200], mutant[4200];
static bool have_tools;

static void put(const char *rel, const char *content)
{
	char p[4400];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", tree, rel);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
}

static void mkd(const char *rel)
{
	char p[4400];

	snprintf(p, sizeof(p), "%s/%s", tree, rel);
	assert_int_equal(mkdir(p, 0755), 0);
}

static void sym(const char *target, const char *rel)
{
	char p[4400];

	snprintf(p, sizeof(p), "%s/%s", tree, rel);
	assert_int_equal(symlink(target, p), 0);
}

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
	char cmd[16384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static int setup(void **state)
{
	char p[4400];

	if (!mkdtemp(dir))
		return -1;
	snprintf(tree, sizeof(tree), "%s/tree", dir);
	snprintf(img, sizeof(img), "%s/disk.img", dir);
	snprintf(nocsum, sizeof(nocsum), "%s/nocsum.img", dir);
	snprintf(ext2, sizeof(ext2), "%s/ext2.img", dir);
	snprintf(inl, sizeof(inl), "%s/inline.img", dir);
	snprintf(mutant, sizeof(mutant), "%s/mutant.img", dir);
	if (mkdir(tree, 0755) < 0)
		return -1;
	mkd("etc");
	mkd("usr");
	mkd("usr/lib");
	mkd("loopdir");
	mkd("loopdir/sub");
	mkd("deep");
	put("usr/lib/os-release", "ID=unit\n");
	put("etc/passwd", "root:x:0:0:unit:/root:/bin/sh\n");
	put("etc/zzunique-entry", "x\n");
	/* 300 KB: with 1 KiB blocks, indirect and double indirect blocks */
	snprintf(p, sizeof(p), "%s/usr/lib/big", tree);
	FILE *big = fopen(p, "w");
	if (!big)
		return -1;
	for (int i = 0; i < 300 * 1024; i++)
		fputc('a' + i % 26, big);
	fclose(big);
	sym("../usr/lib/os-release", "etc/os-release");
	sym("../../../../../../usr/lib/os-release", "etc/climb");
	sym("/etc/passwd", "etc/abs");
	sym("/../../etc/passwd", "etc/abs-climb");
	sym("loop2", "etc/loop1");
	sym("loop1", "etc/loop2");
	sym("/etc", "etcdir");
	snprintf(p, sizeof(p), "%s/etc/fifo", tree);
	if (mkfifo(p, 0644) < 0)
		return -1;
	/* 300 nested directories: deeper than the walk goes */
	size_t len = (size_t)snprintf(p, sizeof(p), "%s/deep", tree);
	for (int i = 0; i < 300; i++) {
		len += (size_t)snprintf(p + len, sizeof(p) - len, "/d");
		if (mkdir(p, 0755) < 0)
			return -1;
	}
	have_tools = run("command -v mke2fs >/dev/null && command -v debugfs >/dev/null") == 0;
	if (!have_tools)
		return 0;
	if (run("mke2fs -q -F -t ext4 -d %s %s 8M >/dev/null 2>&1", tree, img) ||
	    run("mke2fs -q -F -t ext4 -O ^metadata_csum -d %s %s 8M >/dev/null 2>&1", tree,
	        nocsum) ||
	    run("mke2fs -q -F -t ext2 -d %s %s 8M >/dev/null 2>&1", tree, ext2) ||
	    run("mke2fs -q -F -t ext4 -O ^metadata_csum,inline_data -d %s %s 8M >/dev/null 2>&1",
	        tree, inl))
		return -1;
	/* a directory loop: /loopdir/sub/back is /loopdir */
	if (run("debugfs -w -R 'link /loopdir /loopdir/sub/back' %s >/dev/null 2>&1", img))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	run("rm -rf %s", dir);
	return 0;
}

static struct view *open_img(const char *path)
{
	struct view *v = NULL;
	char err[512];
	int rc = view_image_open(path, 0, &v, NULL, err, sizeof(err));

	if (rc)
		print_error("%s: %s\n", path, err);
	assert_int_equal(rc, 0);
	return v;
}

/* ---- the superblock check ------------------------------------------------------ */

static void le32put(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void test_check_super(void **state)
{
	unsigned char sb[1024], x[1024];
	char why[256];
	uint64_t bytes = 0;
	int fd;

	if (!have_tools)
		skip();
	fd = open(img, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, sb, sizeof(sb), 1024), 1024);
	close(fd);
	assert_int_equal(image_check_super(sb, sizeof(sb), 8 << 20, &bytes, why, sizeof(why)), 0);
	assert_int_equal(bytes, 8 << 20);
	/* truncated: fewer bytes than the file system */
	assert_int_equal(image_check_super(sb, sizeof(sb), 4 << 20, &bytes, why, sizeof(why)),
	                 -EFBIG);
	assert_non_null(strstr(why, "truncated"));
	assert_int_equal(image_check_super(sb, 1000, 8 << 20, &bytes, why, sizeof(why)), -EINVAL);
	/* impossible values */
	memcpy(x, sb, sizeof(x));
	le32put(x + 24, 7); /* 128 KiB blocks */
	assert_int_equal(image_check_super(x, sizeof(x), UINT64_MAX, &bytes, why, sizeof(why)),
	                 -EUCLEAN);
	le32put(x + 24, 0xFFFFFFFF);
	assert_int_equal(image_check_super(x, sizeof(x), UINT64_MAX, &bytes, why, sizeof(why)),
	                 -EUCLEAN);
	memcpy(x, sb, sizeof(x));
	le32put(x + 32, 0); /* blocks per group */
	assert_int_equal(image_check_super(x, sizeof(x), UINT64_MAX, &bytes, why, sizeof(why)),
	                 -EUCLEAN);
	memcpy(x, sb, sizeof(x));
	le32put(x + 0, 12345); /* inodes count != groups * per group */
	assert_int_equal(image_check_super(x, sizeof(x), UINT64_MAX, &bytes, why, sizeof(why)),
	                 -EUCLEAN);
	memcpy(x, sb, sizeof(x));
	x[88] = 100; /* inode size */
	x[89] = 0;
	assert_int_equal(image_check_super(x, sizeof(x), UINT64_MAX, &bytes, why, sizeof(why)),
	                 -EUCLEAN);
	memcpy(x, sb, sizeof(x));
	le32put(x + 4, 0); /* no blocks */
	assert_int_equal(image_check_super(x, sizeof(x), UINT64_MAX, &bytes, why, sizeof(why)),
	                 -EUCLEAN);
	memcpy(x, sb, sizeof(x));
	le32put(x + 96, x[96] | 0x80); /* 64bit with a huge high count */
	le32put(x + 0x150, 0xFFFFFFFF);
	int r = image_check_super(x, sizeof(x), UINT64_MAX, &bytes, why, sizeof(why));
	assert_true(r == -EUCLEAN || r == -EFBIG);
	memcpy(x, sb, sizeof(x));
	le32put(x + 96, 0x8); /* an external journal */
	assert_int_equal(image_check_super(x, sizeof(x), UINT64_MAX, &bytes, why, sizeof(why)),
	                 -EINVAL);
	memset(x, 0, sizeof(x));
	assert_int_equal(image_check_super(x, sizeof(x), UINT64_MAX, &bytes, why, sizeof(why)),
	                 -EINVAL);
}

/* ---- files and paths ------------------------------------------------------------ */

/* The whole content of `path`, or NULL with *rc the error. */
static char *slurp(struct view *v, const char *path, int *rc)
{
	static char buf[4096];
	struct vfile *f;
	size_t got = 0;
	ssize_t n;

	*rc = view_file_open(v, path, &f);
	if (*rc)
		return NULL;
	while ((n = view_file_read(v, f, buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t)n;
	view_file_close(v, f);
	buf[got] = 0;
	return buf;
}

static void test_resolve(void **state)
{
	struct image_info info;
	struct view *v = NULL;
	struct vt_stat st;
	char err[256], longp[6000];
	int rc;

	if (!have_tools)
		skip();
	assert_int_equal(view_image_open(img, 0, &v, &info, err, sizeof(err)), 0);
	assert_int_equal(info.scheme, PART_NONE);
	assert_int_equal(info.partition, 0);
	assert_string_equal(info.fstype, "ext4");
	assert_int_equal(info.size, 8 << 20);

	assert_string_equal(slurp(v, "/etc/os-release", &rc), "ID=unit\n");
	assert_string_equal(slurp(v, "/etc/climb", &rc), "ID=unit\n"); /* .. clamped */
	assert_string_equal(slurp(v, "/etc/abs", &rc), "root:x:0:0:unit:/root:/bin/sh\n");
	assert_string_equal(slurp(v, "/etc/abs-climb", &rc), "root:x:0:0:unit:/root:/bin/sh\n");
	assert_string_equal(slurp(v, "/etcdir/passwd", &rc), "root:x:0:0:unit:/root:/bin/sh\n");
	assert_string_equal(slurp(v, "/../../../etc/./passwd", &rc),
	                    "root:x:0:0:unit:/root:/bin/sh\n");
	assert_string_equal(slurp(v, "etc//passwd", &rc), "root:x:0:0:unit:/root:/bin/sh\n");
	assert_null(slurp(v, "/etc/loop1", &rc));
	assert_int_equal(rc, -ELOOP);
	assert_null(slurp(v, "/etc/missing", &rc));
	assert_int_equal(rc, -ENOENT);
	assert_null(slurp(v, "/etc/passwd/x", &rc));
	assert_int_equal(rc, -ENOTDIR);
	assert_null(slurp(v, "/etc/fifo", &rc));
	assert_int_equal(rc, -EINVAL); /* never opened: not a regular file */
	assert_null(slurp(v, "/etc", &rc));
	assert_int_equal(rc, -EINVAL);
	memset(longp, 'a', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = 0;
	assert_null(slurp(v, longp, &rc));
	assert_int_equal(rc, -ENAMETOOLONG);

	/* stat does not follow a final symlink */
	assert_int_equal(view_stat(v, "/etc/os-release", &st), 0);
	assert_int_equal(st.type, VF_LNK);
	assert_int_equal(st.size, strlen("../usr/lib/os-release"));
	assert_int_equal(view_stat(v, "/etcdir/", &st), 0); /* trailing slash: followed */
	assert_int_equal(st.type, VF_DIR);
	assert_int_equal(view_stat(v, "/", &st), 0);
	assert_int_equal(st.type, VF_DIR);
	assert_int_equal(st.inode, 2);
	assert_int_equal(view_stat(v, "/..", &st), 0);
	assert_int_equal(st.inode, 2);
	assert_int_equal(view_stat(v, "/etc/fifo", &st), 0);
	assert_int_equal(st.type, VF_FIFO);
	struct vfile *f;
	assert_int_equal(view_file_open(v, "/etc/passwd", &f), 0);
	assert_int_equal(view_file_stat(v, f, &st), 0);
	assert_int_equal(st.type, VF_REG);
	assert_int_equal(st.size, strlen("root:x:0:0:unit:/root:/bin/sh\n"));
	view_file_close(v, f);
	view_destroy(v);
}

/* ---- the walk ---------------------------------------------------------------------- */

struct collect {
	struct view *v;
	int entries, errors, loops, max_depth, reads;
	bool read_files;
	char last_err_path[512];
};

static int on_entry(void *ctx, const struct vt_walk_entry *e)
{
	struct collect *c = ctx;
	char buf[65536];

	assert_true(e->path[0] == '/');
	assert_null(strstr(e->path, "//"));
	c->entries++;
	if (e->depth > c->max_depth)
		c->max_depth = e->depth;
	if (c->read_files && e->st.type == VF_REG) {
		struct vfile *f;
		ssize_t n;
		size_t total = 0;

		if (view_walk_open(c->v, e, &f) == 0) {
			while ((n = view_file_read(c->v, f, buf, sizeof(buf))) > 0 &&
			       total < (4u << 20))
				total += (size_t)n;
			view_file_close(c->v, f);
			c->reads++;
		}
	}
	return 0;
}

static void on_error(void *ctx, const char *path, int err)
{
	struct collect *c = ctx;

	c->errors++;
	if (err == ELOOP || err == VT_WALK_TOO_DEEP)
		c->loops++;
	snprintf(c->last_err_path, sizeof(c->last_err_path), "%s", path);
}

static const struct vt_walk_ops walk_ops = {.entry = on_entry, .error = on_error};

static void test_walk(void **state)
{
	struct collect c = {0};
	struct view *v;

	if (!have_tools)
		skip();
	v = open_img(img);
	c.v = v;
	c.read_files = true;
	assert_int_equal(view_walk(v, "/", &walk_ops, &c), 0);
	/* /, lost+found, etc and its 9, usr, usr/lib, os-release, big,
	 * loopdir, sub, back (reported, not entered), etcdir, deep, and the
	 * "d" at depths 2 to 256 (the last one reported, not entered) */
	assert_int_equal(c.entries, 1 + 1 + 10 + 4 + 3 + 1 + 1 + IMAGE_WALK_MAX_DEPTH - 1);
	assert_int_equal(c.max_depth, IMAGE_WALK_MAX_DEPTH);
	assert_int_equal(c.loops, 2); /* the loop and the depth limit */
	assert_int_equal(c.errors, 2);
	assert_int_equal(c.reads, 4);

	/* the walk of a symlink is that symlink; of a missing path an error */
	memset(&c, 0, sizeof(c));
	assert_int_equal(view_walk(v, "/etcdir", &walk_ops, &c), 0);
	assert_int_equal(c.entries, 1);
	assert_int_equal(view_walk(v, "/etc/nope", &walk_ops, &c), -ENOENT);
	memset(&c, 0, sizeof(c));
	assert_int_equal(view_walk(v, "/loopdir/sub/back/sub/back", &walk_ops, &c), 0);
	assert_int_equal(c.entries, 3); /* back, sub, back */
	assert_int_equal(c.loops, 1);
	view_destroy(v);
}

/* An entry whose inode number lies past the inode table: reported, the
 * walk goes on. */
static void test_bad_inode_number(void **state)
{
	struct collect c = {0};
	struct view *v;
	char *data;
	size_t len = 8u << 20;
	int fd;

	if (!have_tools)
		skip();
	assert_int_equal(run("cp %s %s", nocsum, mutant), 0);
	fd = open(mutant, O_RDWR);
	assert_true(fd >= 0);
	data = malloc(len);
	assert_int_equal(pread(fd, data, len, 0), (ssize_t)len);
	char *hit = memmem(data, len, "zzunique-entry", 14);
	assert_non_null(hit);
	le32put((unsigned char *)hit - 8, 0xFFFFFF00u);
	assert_int_equal(pwrite(fd, data, len, 0), (ssize_t)len);
	close(fd);
	free(data);
	v = open_img(mutant);
	c.v = v;
	assert_int_equal(view_walk(v, "/etc", &walk_ops, &c), 0);
	assert_int_equal(c.entries, 9); /* /etc and 8 of its 9 */
	assert_int_equal(c.errors, 1);
	assert_string_equal(c.last_err_path, "/etc/zzunique-entry");
	int rc;
	assert_null(slurp(v, "/etc/zzunique-entry", &rc));
	assert_int_equal(rc, -EUCLEAN);
	view_destroy(v);
}

/* ---- fuzz -------------------------------------------------------------------------- */

/* Byte ranges worth corrupting: the used inodes, the superblock and group
 * descriptors, every directory block, indirect and extent tree blocks. */
struct region {
	uint64_t off, len;
};

struct regions {
	struct region *r;
	int n, cap;
	unsigned bs;
};

static int meta_block(ext2_filsys fs, blk64_t *blk, e2_blkcnt_t cnt, blk64_t ref, int off,
                      void *priv)
{
	struct regions *rs = priv;

	if (cnt < 0 && rs->n < rs->cap) /* not data: an indirect or extent block */
		rs->r[rs->n++] = (struct region){*blk * rs->bs, rs->bs};
	return 0;
}

static int find_regions(const char *path, struct region *r, int cap)
{
	ext2_filsys fs;
	int n = 0;
	struct regions rs = {.r = r, .cap = cap};

	assert_int_equal(ext2fs_open(path, EXT2_FLAG_64BITS, 0, 0, unix_io_manager, &fs), 0);
	unsigned bs = fs->blocksize, isz = EXT2_INODE_SIZE(fs->super);
	ext2_ino_t used = fs->super->s_inodes_count - fs->super->s_free_inodes_count + 12;

	r[n++] = (struct region){ext2fs_inode_table_loc(fs, 0) * bs, (uint64_t)used * isz};
	r[n++] = (struct region){1024, 2 * bs};
	for (ext2_ino_t ino = 1; ino <= used && n < cap; ino++) {
		struct ext2_inode in;

		if (ext2fs_read_inode(fs, ino, &in))
			continue;
		if (LINUX_S_ISREG(in.i_mode) && ext2fs_inode_has_valid_blocks2(fs, &in)) {
			rs.n = n;
			rs.bs = bs;
			ext2fs_block_iterate3(fs, ino, BLOCK_FLAG_READ_ONLY, NULL, meta_block, &rs);
			n = rs.n;
		}
		if (!LINUX_S_ISDIR(in.i_mode))
			continue;
		for (blk64_t l = 0; l < EXT2_I_SIZE(&in) / bs && n < cap; l++) {
			blk64_t p = 0;

			if (!ext2fs_bmap2(fs, ino, &in, NULL, 0, l, NULL, &p) && p)
				r[n++] = (struct region){p * bs, bs};
		}
	}
	ext2fs_close_free(&fs);
	return n;
}

/*
 * Overwrite up to `most` random bytes of the regions of `base` (the inode
 * table twice as often as any other region), then open, walk (reading
 * every regular file), resolve and stat.  IMAGE_FUZZ_ROUNDS, _SEED and
 * _BYTES run a longer, another or a harsher fuzz.
 */
static void fuzz(const char *base_img, unsigned seed)
{
	const char *env_rounds = getenv("IMAGE_FUZZ_ROUNDS"), *env_seed = getenv("IMAGE_FUZZ_SEED");
	const char *env_bytes = getenv("IMAGE_FUZZ_BYTES");
	int most = env_bytes && atoi(env_bytes) > 0 ? atoi(env_bytes) : 12;
	int rounds = env_rounds ? atoi(env_rounds) : 150;
	struct region reg[512];
	struct collect base = {0};
	size_t len = 8u << 20;
	int nreg, opened = 0, failed = 0, hurt = 0;
	char *orig, *data;

	if (!have_tools)
		skip();
	if (env_seed)
		seed += (unsigned)atoi(env_seed);
	nreg = find_regions(base_img, reg, 512);
	assert_true(nreg > 5);
	/* the walk of the intact image, to tell which mutants changed it */
	struct view *bv = open_img(base_img);
	assert_int_equal(view_walk(bv, "/", &walk_ops, &base), 0);
	view_destroy(bv);
	orig = malloc(len);
	data = malloc(len);
	int fd = open(base_img, O_RDONLY);
	assert_int_equal(pread(fd, orig, len, 0), (ssize_t)len);
	close(fd);
	for (int round = 0; round < rounds; round++) {
		struct collect c = {0};
		struct view *v = NULL;
		struct vt_stat st;
		char err[512];
		int rc;

		memcpy(data, orig, len);
		for (int k = rand_r(&seed) % most; k >= 0; k--) {
			const struct region *r = &reg[rand_r(&seed) % 2 ? 0 : rand_r(&seed) % nreg];
			uint64_t at = r->off + (uint64_t)rand_r(&seed) % r->len;

			if (at < len)
				data[at] = (char)rand_r(&seed);
		}
		fd = open(mutant, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		assert_int_equal(write(fd, data, len), (ssize_t)len);
		close(fd);
		alarm(60); /* a hang kills the test */
		if (view_image_open(mutant, 0, &v, NULL, err, sizeof(err)) != 0) {
			assert_true(err[0] != 0);
			failed++;
			alarm(0);
			continue;
		}
		opened++;
		c.v = v;
		c.read_files = true;
		rc = view_walk(v, "/", &walk_ops, &c);
		assert_true(rc <= 0);
		hurt += rc < 0 || c.errors != base.errors || c.entries != base.entries;
		(void)slurp(v, "/etc/os-release", &rc);
		(void)slurp(v, "/etc/climb", &rc);
		(void)slurp(v, "/usr/lib/big", &rc);
		(void)view_stat(v, "/deep/d/d/d/d/d", &st);
		view_destroy(v);
		alarm(0);
	}
	print_message("fuzz %s: %d images opened and walked (%d with errors), %d refused\n",
	              strrchr(base_img, '/') + 1, opened, hurt, failed);
	assert_true(opened > rounds / 4);
	assert_true(hurt + failed > rounds / 10); /* the corruption reached the parsers */
	free(orig);
	free(data);
}

static void test_fuzz_ext4(void **state)
{
	fuzz(nocsum, 777);
}

static void test_fuzz_ext2(void **state)
{
	fuzz(ext2, 778);
}

static void test_fuzz_inline(void **state)
{
	fuzz(inl, 779);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_check_super), cmocka_unit_test(test_resolve),
	    cmocka_unit_test(test_walk),        cmocka_unit_test(test_bad_inode_number),
	    cmocka_unit_test(test_fuzz_ext4),   cmocka_unit_test(test_fuzz_ext2),
	    cmocka_unit_test(test_fuzz_inline),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
