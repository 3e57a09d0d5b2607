/*
 * image.c - a raw disk image (ext2/3/4, whole or partitioned) seen as a
 * system of kind "image", read through libext2fs without mounting it.
 *
 * Three files: image.c opens the image and chooses the partition;
 * image_ext.c reads ext2/3/4 (superblock, inodes, directories, links);
 * image_walk.c resolves paths, reads files and walks (with dirwalk.c, the
 * walk fsroot.c uses too).  image_int.h is what they share.
 *
 * Opening (view_image_open):
 *   The image is opened O_RDONLY (a regular file or a block device, never
 *   a FIFO: stat first, O_NONBLOCK, type checked again after open) and its
 *   first MiB read.  An ext superblock magic at byte 1080 means a
 *   whole-disk file system; otherwise partition.c parses the MBR (and its
 *   EBR chain, bounded and strictly forward) or GPT, and part_probe() tells
 *   what each partition holds.  Each ext2/3/4 candidate's superblock is
 *   checked here first (image_check_super: sizes, counts, and that the
 *   file system fits in what the image holds - a truncated image is said
 *   to be one, before libext2fs allocates anything from those counts),
 *   then opened with ext2fs_open2() read-only (never EXT2_FLAG_RW) through
 *   the unix I/O manager with "offset=N", on /proc/self/fd/N so libext2fs
 *   opens exactly the file checked.  io_options are always given, so a '?'
 *   in the image's name is never parsed as options.  Several candidates:
 *   the first holding /etc/os-release or /usr/lib/os-release (a root).
 *
 * Reading:
 *   Inodes are read whole (ext2_inode_large) with their number checked
 *   against s_inodes_count.  Directories are read by our own iterator
 *   (dir_*): logical block -> ext2fs_bmap2 -> ext2fs_read_dir_block4
 *   (checksums verified), one block at a time into a caller's buffer, each
 *   entry's rec_len and name_len checked against the block; a hole or a
 *   block outside the file system ends the directory with EUCLEAN, a bad
 *   block is reported and skipped, and at most IMAGE_DIR_MAX_BYTES are
 *   read.  Inline-data directories, files and symlinks are read from
 *   i_block and the "system.data" attribute by us, bounded, not through
 *   libext2fs's inline helpers (which trust the attribute's size).
 *   Regular files are read with ext2fs_file_read.
 *
 * Paths (resolve): one component at a time from the root inode, keeping
 *   the inodes of the directories resolved so far; ".." pops that stack
 *   (lexical, never above the root, never trusting the image's ".."
 *   entries), a symlink's target is spliced in front of the rest of the
 *   path (an absolute one restarts at the root), at most 40 symlinks
 *   (ELOOP).  Nothing outside the image is ever reachable anyway; this
 *   keeps paths meaning what they would on the running system.
 *
 * The walk: dirwalk.c's depth-first walk with an explicit stack of
 *   directory iterators, one block buffer per level (allocated on first
 *   use, kept), one path buffer: memory is bounded by
 *   IMAGE_WALK_MAX_DEPTH, not by the tree.
 *   An inode bitmap remembers the directories entered, so a directory
 *   hard-linked or looped back into is entered once (ELOOP reported): the
 *   work is bounded by the file system's size even for hostile images.
 *
 * Errors from libext2fs (errcode_t) become errno values: its own errno
 * codes pass through, corruption and checksum failures become EUCLEAN.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../util/log.h"
#include "image_int.h"

#define HEAD_LEN (1024 * 1024) /* bytes read for the partition table */
#define MAX_LOGICAL 64         /* EBRs followed */

/* ---- opening the image ------------------------------------------------------------ */

/* The image file: an fd open O_RDONLY, its size, its first bytes. */
struct source {
	int fd;
	uint64_t size;
	unsigned char *head;
	size_t head_len;
	char io_name[64]; /* what libext2fs opens: /proc/self/fd/N or the path */
	const char *path;
};

/* pread exactly n bytes at off (less at the end of the file). */
static ssize_t pread_full(int fd, void *dst, size_t n, uint64_t off)
{
	size_t got = 0;

	while (got < n) {
		ssize_t k = pread(fd, (char *)dst + got, n - got, (off_t)(off + got));

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			break;
		got += (size_t)k;
	}
	return (ssize_t)got;
}

static int src_open(struct source *s, const char *path, char *err, size_t cap)
{
	struct stat st, st2;
	ssize_t n;

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->path = path;
	if (stat(path, &st) < 0) {
		snprintf(err, cap, "%s", strerror(errno));
		return -errno;
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		snprintf(err, cap, "neither a regular file nor a block device");
		return -EINVAL;
	}
	s->fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (s->fd < 0) {
		snprintf(err, cap, "%s", strerror(errno));
		return -errno;
	}
	if (fstat(s->fd, &st2) < 0 || (st2.st_mode & S_IFMT) != (st.st_mode & S_IFMT)) {
		snprintf(err, cap, "changed while being opened");
		return -EINVAL;
	}
	if (S_ISBLK(st2.st_mode)) {
		if (ioctl(s->fd, BLKGETSIZE64, &s->size) < 0) {
			snprintf(err, cap, "cannot get the device's size: %s", strerror(errno));
			return -errno;
		}
	} else {
		s->size = (uint64_t)st2.st_size;
	}
	s->head_len = s->size < HEAD_LEN ? (size_t)s->size : HEAD_LEN;
	s->head = calloc(1, HEAD_LEN);
	if (!s->head)
		return -ENOMEM;
	n = pread_full(s->fd, s->head, s->head_len, 0);
	if (n < 0) {
		snprintf(err, cap, "cannot read: %s", strerror((int)-n));
		return (int)n;
	}
	s->head_len = (size_t)n;
	snprintf(s->io_name, sizeof(s->io_name), "/proc/self/fd/%d", s->fd);
	if (access(s->io_name, R_OK) != 0)
		s->io_name[0] = 0; /* no procfs: libext2fs opens the path */
	return 0;
}

static void src_close(struct source *s)
{
	if (s->fd >= 0)
		close(s->fd);
	free(s->head);
}

/* "partition 2: " or "" for a whole-disk file system. */
static void part_prefix(unsigned index, char *dst, size_t cap)
{
	if (index)
		snprintf(dst, cap, "partition %u: ", index);
	else
		dst[0] = 0;
}

/* Open the ext file system at `offset` (at most `avail` bytes). */
static int fs_open(struct source *s, unsigned index, uint64_t offset, uint64_t avail,
                   struct image_view **out, struct image_info *info, char *err, size_t cap)
{
	unsigned char sb[1024];
	char opts[64], why[160], pre[32];
	struct image_view *iv;
	struct ext2_inode_large root;
	uint64_t fsb;
	errcode_t e;
	ssize_t n;
	int rc;

	part_prefix(index, pre, sizeof(pre));
	n = avail >= 2048 ? pread_full(s->fd, sb, sizeof(sb), offset + 1024) : 0;
	if (n < 0) {
		snprintf(err, cap, "%scannot read the superblock: %s", pre, strerror((int)-n));
		return (int)n;
	}
	if (n < (ssize_t)sizeof(sb)) {
		snprintf(err, cap, "%struncated image: the superblock is cut off", pre);
		return -EFBIG;
	}
	rc = image_check_super(sb, sizeof(sb), avail, &fsb, why, sizeof(why));
	if (rc) {
		snprintf(err, cap, "%s%s", pre, why);
		return rc;
	}
	iv = calloc(1, sizeof(*iv));
	if (!iv)
		return -ENOMEM;
	iv->base.ops = &img_view_ops;
	snprintf(opts, sizeof(opts), "offset=%llu", (unsigned long long)offset);
	img_errors_init();
	e = ext2fs_open2(s->io_name[0] ? s->io_name : s->path, opts, EXT2_FLAG_64BITS, 0, 0,
	                 unix_io_manager, &iv->fs);
	if (e) {
		iv->fs = NULL;
		snprintf(err, cap, "%scannot open the file system: %s", pre, error_message(e));
		img_destroy(&iv->base);
		return e == EXT2_ET_NO_MEMORY ? -ENOMEM : -EUCLEAN;
	}
	iv->blocksize = iv->fs->blocksize;
	iv->blocks = ext2fs_blocks_count(iv->fs->super);
	iv->inodes = iv->fs->super->s_inodes_count;
	iv->isize = EXT2_INODE_SIZE(iv->fs->super);
	iv->lookup_buf = malloc(iv->blocksize);
	if (!iv->lookup_buf) {
		img_destroy(&iv->base);
		return -ENOMEM;
	}
	rc = img_read_inode(iv, EXT2_ROOT_INO, &root);
	if (rc || !img_is_dir(&root)) {
		snprintf(err, cap, "%scorrupt file system: the root directory %s", pre,
		         rc ? strerror(-rc) : "is not a directory");
		img_destroy(&iv->base);
		return -EUCLEAN;
	}
	if (info) {
		memset(info, 0, sizeof(*info));
		info->partition = index;
		info->offset = offset;
		info->size = fsb;
		info->needs_recovery =
		    !!(iv->fs->super->s_feature_incompat & EXT3_FEATURE_INCOMPAT_RECOVER);
	}
	*out = iv;
	return 0;
}

/* Whether the file system looks like a system's root. */
static bool is_root_fs(struct image_view *iv)
{
	static const char *const marks[] = {"/etc/os-release", "/usr/lib/os-release"};
	struct ext2_inode_large in;
	ext2_ino_t ino;

	for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++)
		if (img_resolve(iv, marks[i], true, &ino, &in) == 0 && LINUX_S_ISREG(in.i_mode))
			return true;
	return false;
}

/* Where a backup superblock would be for each block size: group 1. */
static uint64_t backup_super(const struct source *s)
{
	static const uint64_t at[] = {8193ull * 1024, 16384ull * 2048, 32768ull * 4096};
	unsigned char m[2];

	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++)
		if (at[i] + 1024 <= s->size && pread_full(s->fd, m, 2, at[i] + 56) == 2 &&
		    m[0] == 0x53 && m[1] == 0xEF)
			return at[i];
	return 0;
}

/* The image holds no partition table: a whole-disk file system or not. */
static int open_whole(struct source *s, unsigned want, struct image_view **out,
                      struct image_info *info, char *err, size_t cap)
{
	const char *what = part_probe(s->head, s->head_len);
	uint64_t backup;

	if (want) {
		snprintf(err, cap, "partition %u does not exist: the image has no partition table",
		         want);
		return -ENXIO;
	}
	if (part_is_ext(s->head, s->head_len)) {
		int rc = fs_open(s, 0, 0, s->size, out, info, err, cap);

		if (!rc && info)
			snprintf(info->fstype, sizeof(info->fstype), "%s", what);
		return rc;
	}
	if (s->size < 2048) {
		snprintf(err, cap, "truncated image: %llu bytes is too small for a file system",
		         (unsigned long long)s->size);
		return -EFBIG;
	}
	if (what) {
		snprintf(err, cap, "no ext2/3/4 file system: the image holds %s", what);
		return -ENOENT;
	}
	backup = backup_super(s);
	if (backup) {
		snprintf(err, cap,
		         "corrupt superblock: none at the start, but a backup at byte "
		         "%llu (the primary one is damaged; e2fsck -b can repair a copy)",
		         (unsigned long long)backup);
		return -EUCLEAN;
	}
	snprintf(err, cap, "no partition table and no ext2/3/4 file system found");
	return -ENOENT;
}

/* Logical partitions of the MBR's extended partition, numbered from 5. */
static void read_logical(struct source *s, struct part_table *t)
{
	uint64_t ext_lba = t->ext_start / PART_SECTOR, ebr = ext_lba;
	unsigned index = 5;
	unsigned char sec[PART_SECTOR];

	for (int i = 0; i < MAX_LOGICAL && ebr && t->n < PART_MAX; i++) {
		struct part p;
		uint64_t next;
		int r;

		if (ebr > (s->size / PART_SECTOR) - 1 ||
		    pread_full(s->fd, sec, sizeof(sec), ebr * PART_SECTOR) != (ssize_t)sizeof(sec))
			break;
		r = part_parse_ebr(sec, sizeof(sec), ext_lba, ebr, &p, &next);
		if (r < 0)
			break;
		if (r == 1) {
			p.index = index++;
			t->v[t->n++] = p;
		}
		if (next <= ebr) /* strictly forward: no loops */
			break;
		ebr = next;
	}
}

/* What partition p holds (part_probe), "nothing recognised", or a note
 * that it lies past the end of the image. */
static const char *probe_part(struct source *s, const struct part *p, unsigned char *buf, bool *ext)
{
	uint64_t len = p->size < PART_PROBE_LEN ? p->size : PART_PROBE_LEN;
	const char *what;
	ssize_t n;

	*ext = false;
	if (p->start >= s->size)
		return "nothing: it starts past the end of the image (truncated?)";
	n = pread_full(s->fd, buf, (size_t)len, p->start);
	if (n <= 0)
		return "nothing readable";
	what = part_probe(buf, (size_t)n);
	if (what && strcmp(what, "ext-journal") == 0)
		return "an external ext3/4 journal";
	*ext = what && strncmp(what, "ext", 3) == 0;
	return what ? what : "nothing recognised";
}

static uint64_t part_avail(const struct source *s, const struct part *p)
{
	uint64_t rest = p->start < s->size ? s->size - p->start : 0;

	return p->size < rest ? p->size : rest;
}

/* Append "a, b" style text to err. */
static void appendf(char *dst, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void appendf(char *dst, size_t cap, const char *fmt, ...)
{
	size_t len = strnlen(dst, cap);
	va_list ap;

	if (len + 1 >= cap)
		return;
	va_start(ap, fmt);
	vsnprintf(dst + len, cap - len, fmt, ap);
	va_end(ap);
}

static const char *scheme_name(enum part_scheme s)
{
	return s == PART_GPT ? "GPT" : "MBR";
}

/* Open the requested partition `want`. */
static int open_one(struct source *s, const struct part_table *t, unsigned want,
                    struct image_view **out, struct image_info *info, char *err, size_t cap,
                    unsigned char *buf)
{
	const struct part *p = NULL;
	const char *what;
	bool ext;

	for (int i = 0; i < t->n; i++)
		if (t->v[i].index == want)
			p = &t->v[i];
	if (!p) {
		snprintf(err, cap, "partition %u does not exist (the %s table has", want,
		         scheme_name(t->scheme));
		if (t->n == 0)
			appendf(err, cap, " none)");
		for (int i = 0; i < t->n; i++)
			appendf(err, cap, "%s%u", i ? ", " : " ", t->v[i].index);
		if (t->n)
			appendf(err, cap, ")");
		return -ENXIO;
	}
	what = probe_part(s, p, buf, &ext);
	if (!ext) {
		snprintf(err, cap, "partition %u holds %s, not an ext2/3/4 file system", want,
		         what);
		return p->start >= s->size ? -EFBIG : -ENOENT;
	}
	int rc = fs_open(s, want, p->start, part_avail(s, p), out, info, err, cap);

	if (!rc && info) {
		info->scheme = t->scheme;
		info->partitions_tried = 1;
		snprintf(info->fstype, sizeof(info->fstype), "%s", what);
	}
	return rc;
}

/* Choose among the table's partitions: the only ext one, or the first
 * that is a root. */
static int open_choose(struct source *s, const struct part_table *t, struct image_view **out,
                       struct image_info *info, char *err, size_t cap, unsigned char *buf)
{
	struct image_view *first = NULL;
	struct image_info first_info = {0}, cur = {0};
	char found[512] = "", why[512] = "";
	int cands = 0, opened = 0, rc = 0;

	for (int i = 0; i < t->n; i++) {
		const struct part *p = &t->v[i];
		struct image_view *iv = NULL;
		bool ext;
		const char *what = probe_part(s, p, buf, &ext);

		appendf(found, sizeof(found), "%spartition %u holds %s", i ? ", " : "", p->index,
		        what);
		if (!ext)
			continue;
		cands++;
		rc = fs_open(s, p->index, p->start, part_avail(s, p), &iv, &cur, why, sizeof(why));
		if (rc)
			continue;
		snprintf(cur.fstype, sizeof(cur.fstype), "%s", what);
		cur.scheme = t->scheme;
		opened++;
		if (is_root_fs(iv)) {
			if (first)
				img_destroy(&first->base);
			first = iv;
			first_info = cur;
			goto done;
		}
		if (!first) {
			first = iv;
			first_info = cur;
		} else {
			img_destroy(&iv->base);
		}
	}
	if (cands == 0) {
		snprintf(err, cap, "no ext2/3/4 file system: %s",
		         t->n ? found : "the partition table is empty");
		return -ENOENT;
	}
	if (opened == 0) {
		snprintf(err, cap, "%s", why);
		return rc ? rc : -EUCLEAN;
	}
	if (opened > 1) {
		img_destroy(&first->base);
		snprintf(err, cap,
		         "%d ext2/3/4 partitions and none holds /etc/os-release: "
		         "choose one with --partition N (%s)",
		         opened, found);
		return -EAGAIN;
	}
done:
	first_info.partitions_tried = cands;
	if (info)
		*info = first_info;
	*out = first;
	return 0;
}

int view_image_open(const char *path, unsigned partition, struct view **out,
                    struct image_info *info, char *err, size_t cap)
{
	struct image_view *iv = NULL;
	struct part_table *t = NULL;
	struct source s;
	unsigned char *buf = NULL;
	int rc;

	*out = NULL;
	if (cap)
		err[0] = 0;
	rc = src_open(&s, path, err, cap);
	if (rc)
		goto out;
	if (part_is_ext(s.head, s.head_len)) {
		rc = open_whole(&s, partition, &iv, info, err, cap);
		goto out;
	}
	t = malloc(sizeof(*t));
	buf = malloc(PART_PROBE_LEN);
	if (!t || !buf) {
		rc = -ENOMEM;
		goto out;
	}
	rc = part_parse(s.head, s.head_len, t);
	if (rc == -ENODATA || (rc == 0 && t->scheme == PART_NONE)) {
		rc = open_whole(&s, partition, &iv, info, err, cap);
		goto out;
	}
	if (rc < 0) {
		snprintf(err, cap, "corrupt GPT partition table (%s)",
		         rc == -ERANGE ? "the entries lie past the first MiB" : "bad header");
		goto out;
	}
	if (t->scheme == PART_MBR && t->ext_size)
		read_logical(&s, t);
	if (t->crc_bad)
		log_warn("%s: the GPT's checksums do not match; its entries are used anyway", path);
	if (t->truncated)
		log_warn("%s: more than %d partitions; the others are ignored", path, PART_MAX);
	if (partition)
		rc = open_one(&s, t, partition, &iv, info, err, cap, buf);
	else
		rc = open_choose(&s, t, &iv, info, err, cap, buf);
out:
	free(buf);
	free(t);
	src_close(&s);
	if (rc == 0)
		*out = &iv->base;
	return rc;
}
