/*
 * image.c - a raw disk image (ext2/3/4, whole or partitioned) seen as a
 * system of kind "image", read through libext2fs without mounting it.
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
 * The walk: depth-first with an explicit stack of directory iterators,
 *   one block buffer per level (allocated on first use, kept), one path
 *   buffer: memory is bounded by IMAGE_WALK_MAX_DEPTH, not by the tree.
 *   An inode bitmap remembers the directories entered, so a directory
 *   hard-linked or looped back into is entered once (ELOOP reported): the
 *   work is bounded by the file system's size even for hostile images.
 *
 * Errors from libext2fs (errcode_t) become errno values: its own errno
 * codes pass through, corruption and checksum failures become EUCLEAN.
 */
#include "fsroot.h"
#include "pathwalk.h"
#include "image.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ext2fs/ext2_err.h>
#include <ext2fs/ext2fs.h>

#include "../util/log.h"

#define MAX_LINKS 40
#define RES_MAX_DIRS (PATH_MAX / 2) /* directories on a resolution's stack */
#define HEAD_LEN (1024 * 1024)      /* bytes read for the partition table */
#define INLINE_MAX 65536            /* inline data larger than this is corrupt */
#define MAX_LOGICAL 64              /* EBRs followed */
#define WALK_PATH_CAP (PATH_MAX + IMAGE_WALK_MAX_DEPTH * (NAME_MAX + 1) + 2)
#define EXTRA_OFF(field) offsetof(struct ext2_inode_large, field)

struct image_view {
	struct view base;
	ext2_filsys fs;
	uint64_t blocks; /* blocks in the file system */
	uint32_t inodes; /* inodes in the file system */
	unsigned blocksize;
	unsigned isize;   /* on-disk inode size */
	char *lookup_buf; /* a block for path lookups */
};

/* An open regular file: through libext2fs, or an inline file's bytes. */
struct vfile {
	struct image_view *iv;
	ext2_ino_t ino;
	struct ext2_inode_large inode;
	ext2_file_t file; /* NULL for inline data */
	char *mem;
	size_t mem_len, mem_pos;
};

/* ---- errors ---------------------------------------------------------------- */

static pthread_once_t et_once = PTHREAD_ONCE_INIT;

static void et_init(void)
{
	initialize_ext2_error_table();
}

/* libext2fs error -> positive errno. */
static int ext_errno(errcode_t e)
{
	if (e == 0)
		return 0;
	if (e > 0 && e < 4096) /* a system errno passed through */
		return (int)e;
	switch (e) {
	case EXT2_ET_NO_MEMORY:
		return ENOMEM;
	case EXT2_ET_SHORT_READ:
		return EIO;
	case EXT2_ET_FILE_NOT_FOUND:
		return ENOENT;
	case EXT2_ET_NO_DIRECTORY:
		return ENOTDIR;
	case EXT2_ET_UNSUPP_FEATURE:
	case EXT2_ET_RO_UNSUPP_FEATURE:
		return ENOTSUP;
	default:
		return EUCLEAN; /* a corrupt structure or checksum */
	}
}

/* ---- the superblock -------------------------------------------------------- */

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

int image_check_super(const void *sb, size_t len, uint64_t avail, uint64_t *fs_bytes, char *why,
                      size_t cap)
{
	const unsigned char *s = sb;
	uint32_t log, bpg, ipg, first, icount, incompat, rev;
	uint64_t blocks, bs, groups;

	if (len < 1024 || le16(s + 56) != 0xEF53) {
		snprintf(why, cap, "no ext2/3/4 superblock");
		return -EINVAL;
	}
	incompat = le32(s + 96);
	if (incompat & EXT3_FEATURE_INCOMPAT_JOURNAL_DEV) {
		snprintf(why, cap, "an external ext3/4 journal, not a file system");
		return -EINVAL;
	}
	log = le32(s + 24);
	if (log > 6) {
		snprintf(why, cap, "corrupt superblock: block size 2^%u", log > 53 ? 64 : log + 10);
		return -EUCLEAN;
	}
	bs = 1024ull << log;
	bpg = le32(s + 32);
	ipg = le32(s + 40);
	first = le32(s + 20);
	icount = le32(s + 0);
	rev = le32(s + 76);
	blocks = le32(s + 4);
	if (incompat & EXT4_FEATURE_INCOMPAT_64BIT)
		blocks |= (uint64_t)le32(s + 0x150) << 32;
	if (bpg == 0 || bpg > 8 * bs || ipg == 0 || ipg > 8 * bs || icount == 0) {
		snprintf(why, cap,
		         "corrupt superblock: %u blocks and %u inodes per group, %u inodes", bpg,
		         ipg, icount);
		return -EUCLEAN;
	}
	if (first > 1 || blocks <= first) {
		snprintf(why, cap, "corrupt superblock: %llu blocks, first data block %u",
		         (unsigned long long)blocks, first);
		return -EUCLEAN;
	}
	if (rev > EXT2_DYNAMIC_REV) {
		snprintf(why, cap, "corrupt superblock: revision %u", rev);
		return -EUCLEAN;
	}
	if (rev == EXT2_DYNAMIC_REV) {
		unsigned isz = le16(s + 88);

		if (isz < EXT2_GOOD_OLD_INODE_SIZE || isz > bs || (isz & (isz - 1))) {
			snprintf(why, cap, "corrupt superblock: inode size %u", isz);
			return -EUCLEAN;
		}
	}
	groups = (blocks - first + bpg - 1) / bpg;
	if (groups * ipg != icount) {
		snprintf(why, cap, "corrupt superblock: %llu groups of %u inodes is not %u inodes",
		         (unsigned long long)groups, ipg, icount);
		return -EUCLEAN;
	}
	if (blocks > UINT64_MAX / bs) {
		snprintf(why, cap, "corrupt superblock: %llu blocks", (unsigned long long)blocks);
		return -EUCLEAN;
	}
	*fs_bytes = blocks * bs;
	if (*fs_bytes > avail) {
		snprintf(why, cap,
		         "truncated image: the file system is %llu bytes but only %llu are there",
		         (unsigned long long)*fs_bytes, (unsigned long long)avail);
		return -EFBIG;
	}
	return 0;
}

/* ---- inodes ---------------------------------------------------------------- */

/* Read inode `ino` whole.  i_extra_isize is zeroed in the copy when it
 * does not fit the on-disk inode, so the extra fields are only used when
 * they are really there. */
static int read_inode(struct image_view *iv, ext2_ino_t ino, struct ext2_inode_large *in)
{
	errcode_t e;

	if (ino < 1 || ino > iv->inodes)
		return -EUCLEAN;
	memset(in, 0, sizeof(*in));
	e = ext2fs_read_inode_full(iv->fs, ino, (struct ext2_inode *)in, sizeof(*in));
	if (e)
		return -ext_errno(e);
	if (iv->isize <= EXT2_GOOD_OLD_INODE_SIZE ||
	    EXT2_GOOD_OLD_INODE_SIZE + (unsigned)in->i_extra_isize > iv->isize)
		in->i_extra_isize = 0;
	return 0;
}

static bool has_extra(const struct ext2_inode_large *in, size_t off)
{
	return EXT2_GOOD_OLD_INODE_SIZE + (size_t)in->i_extra_isize >= off + 4;
}

/* Seconds as the kernel decodes them: signed 32 bits, plus the two epoch
 * bits of the extra field when the inode has it. */
static int64_t itime(const struct ext2_inode_large *in, uint32_t sec, size_t extra_off,
                     uint32_t extra)
{
	int64_t t = (int32_t)sec;

	if (has_extra(in, extra_off))
		t += (int64_t)(extra & EXT4_EPOCH_MASK) << 32;
	return t;
}

static enum vt_ftype ftype(uint16_t mode)
{
	switch (mode & LINUX_S_IFMT) {
	case LINUX_S_IFREG:
		return VF_REG;
	case LINUX_S_IFDIR:
		return VF_DIR;
	case LINUX_S_IFLNK:
		return VF_LNK;
	case LINUX_S_IFCHR:
		return VF_CHR;
	case LINUX_S_IFBLK:
		return VF_BLK;
	case LINUX_S_IFIFO:
		return VF_FIFO;
	case LINUX_S_IFSOCK:
		return VF_SOCK;
	default:
		return VF_UNKNOWN;
	}
}

static void fill_stat(ext2_ino_t ino, const struct ext2_inode_large *in, struct vt_stat *st)
{
	st->type = ftype(in->i_mode);
	st->mode = in->i_mode & 07777;
	st->uid = inode_uid(*in);
	st->gid = inode_gid(*in);
	st->size = EXT2_I_SIZE(in);
	st->mtime = itime(in, in->i_mtime, EXTRA_OFF(i_mtime_extra), in->i_mtime_extra);
	st->ctime = itime(in, in->i_ctime, EXTRA_OFF(i_ctime_extra), in->i_ctime_extra);
	st->inode = ino;
	st->nlink = in->i_links_count;
}

static bool is_dir(const struct ext2_inode_large *in)
{
	return LINUX_S_ISDIR(in->i_mode);
}

/* ---- inline data and small reads ------------------------------------------- */

/* The bytes of an inline-data inode: i_block then the "system.data"
 * attribute, at most INLINE_MAX.  *out is malloc'ed (free it). */
static int inline_get(struct image_view *iv, ext2_ino_t ino, const struct ext2_inode_large *in,
                      char **out, size_t *len)
{
	struct ext2_xattr_handle *h = NULL;
	void *val = NULL;
	size_t vlen = 0;
	errcode_t e;
	char *buf;

	e = ext2fs_xattrs_open(iv->fs, ino, &h);
	if (!e)
		e = ext2fs_xattrs_read(h);
	if (!e) {
		e = ext2fs_xattr_get(h, "system.data", &val, &vlen);
		if (e == EXT2_ET_EA_KEY_NOT_FOUND) {
			e = 0;
			val = NULL;
			vlen = 0;
		}
	}
	if (h)
		ext2fs_xattrs_close(&h);
	if (e)
		return -ext_errno(e);
	if (vlen > INLINE_MAX - EXT4_MIN_INLINE_DATA_SIZE) {
		ext2fs_free_mem(&val);
		return -EUCLEAN;
	}
	buf = malloc(EXT4_MIN_INLINE_DATA_SIZE + vlen);
	if (!buf) {
		ext2fs_free_mem(&val);
		return -ENOMEM;
	}
	memcpy(buf, in->i_block, EXT4_MIN_INLINE_DATA_SIZE);
	if (vlen)
		memcpy(buf + EXT4_MIN_INLINE_DATA_SIZE, val, vlen);
	ext2fs_free_mem(&val);
	*out = buf;
	*len = EXT4_MIN_INLINE_DATA_SIZE + vlen;
	return 0;
}

/* Read the first `len` bytes of a block-mapped inode into dst; returns
 * the bytes read or a negative errno. */
static ssize_t read_blocks(struct image_view *iv, ext2_ino_t ino, struct ext2_inode_large *in,
                           char *dst, size_t len)
{
	ext2_file_t f;
	size_t got = 0;
	errcode_t e;

	e = ext2fs_file_open2(iv->fs, ino, (struct ext2_inode *)in, 0, &f);
	if (e)
		return -ext_errno(e);
	while (got < len) {
		unsigned int n = 0;

		e = ext2fs_file_read(f, dst + got, (unsigned int)(len - got), &n);
		if (e || n == 0)
			break;
		got += n;
	}
	ext2fs_file_close(f);
	return e ? -ext_errno(e) : (ssize_t)got;
}

/*
 * The target of symlink `ino` into dst (cap bytes, NUL-terminated, cut at
 * an embedded NUL).  Fast symlinks keep it in i_block, inline ones in the
 * inline data, others in a data block.  Returns its length or a negative
 * errno (ENAMETOOLONG when it does not fit).
 */
static ssize_t read_link(struct image_view *iv, ext2_ino_t ino, struct ext2_inode_large *in,
                         char *dst, size_t cap)
{
	uint64_t size = EXT2_I_SIZE(in);
	ssize_t n;

	if (size >= cap)
		return -ENAMETOOLONG;
	if (in->i_flags & EXT4_INLINE_DATA_FL) {
		char *data;
		size_t len;
		int rc = inline_get(iv, ino, in, &data, &len);

		if (rc < 0)
			return rc;
		n = (ssize_t)(size < len ? size : len);
		memcpy(dst, data, (size_t)n);
		free(data);
	} else if (size < EXT4_MIN_INLINE_DATA_SIZE &&
	           ext2fs_inode_data_blocks2(iv->fs, (struct ext2_inode *)in) == 0) {
		n = (ssize_t)size;
		memcpy(dst, in->i_block, (size_t)n);
	} else {
		n = read_blocks(iv, ino, in, dst, (size_t)size);
		if (n < 0)
			return n;
	}
	dst[n] = 0;
	return (ssize_t)strlen(dst);
}

/* ---- directories ------------------------------------------------------------ */

/* Reading one directory.  Regions are what rec_len chains live in: each
 * block, or for inline data the rest of i_block after the parent's inode
 * number, then the attribute part. */
struct dir_iter {
	ext2_ino_t ino;
	struct ext2_inode_large inode;
	uint64_t lblk, nblk; /* next logical block, blocks to read */
	bool capped;         /* larger than IMAGE_DIR_MAX_BYTES */
	char *buf;           /* one block, the caller's */
	char *inl;           /* inline data (owned), or NULL */
	size_t inl_len;
	int region;       /* inline: regions handed out so far */
	const char *base; /* the current region: base[pos..end) */
	size_t pos, end;
};

static int dir_begin(struct image_view *iv, struct dir_iter *d, ext2_ino_t ino,
                     const struct ext2_inode_large *in, char *buf)
{
	uint64_t size = EXT2_I_SIZE(in);

	memset(d, 0, sizeof(*d));
	d->ino = ino;
	d->inode = *in;
	d->buf = buf;
	if (in->i_flags & EXT4_INLINE_DATA_FL)
		return inline_get(iv, ino, in, &d->inl, &d->inl_len);
	if (size > IMAGE_DIR_MAX_BYTES) {
		size = IMAGE_DIR_MAX_BYTES;
		d->capped = true;
	}
	d->nblk = size / iv->blocksize;
	return 0;
}

static void dir_end(struct dir_iter *d)
{
	free(d->inl);
	d->inl = NULL;
}

/* Load the next region: 1 loaded, 0 no more, negative errno when a block
 * could not be read (it is skipped; call again). */
static int dir_load(struct image_view *iv, struct dir_iter *d)
{
	blk64_t pblk = 0;
	errcode_t e;

	if (d->inl) {
		d->base = d->inl;
		if (d->region == 0) { /* i_block after the parent's inode */
			d->pos = EXT4_INLINE_DATA_DOTDOT_SIZE;
			d->end = EXT4_MIN_INLINE_DATA_SIZE;
		} else if (d->region == 1 && d->inl_len > EXT4_MIN_INLINE_DATA_SIZE) {
			d->pos = EXT4_MIN_INLINE_DATA_SIZE;
			d->end = d->inl_len;
		} else {
			return 0;
		}
		d->region++;
		return 1;
	}
	if (d->lblk >= d->nblk) {
		if (d->capped) {
			d->capped = false;
			return -EFBIG;
		}
		return 0;
	}
	e = ext2fs_bmap2(iv->fs, d->ino, (struct ext2_inode *)&d->inode, NULL, 0, d->lblk++, NULL,
	                 &pblk);
	if (e || pblk == 0 || pblk >= iv->blocks) {
		/* a directory has no holes: the rest cannot be trusted */
		d->lblk = d->nblk;
		d->capped = false;
		return e ? -ext_errno(e) : -EUCLEAN;
	}
	e = ext2fs_read_dir_block4(iv->fs, pblk, d->buf, 0, d->ino);
	if (e)
		return -ext_errno(e);
	d->base = d->buf;
	d->pos = 0;
	d->end = iv->blocksize;
	return 1;
}

/*
 * The next entry with a non-zero inode ("." and ".." included): 1 with
 * *name (not NUL-terminated, valid until the next call), *nlen, *ino set;
 * 0 at the end; a negative errno when part of the directory is corrupt or
 * unreadable (the rest of that block is skipped; call again to go on).
 */
static int dir_next(struct image_view *iv, struct dir_iter *d, const char **name, size_t *nlen,
                    ext2_ino_t *ino)
{
	for (;;) {
		const struct ext2_dir_entry *de;
		unsigned int rec_len;
		size_t nl;

		if (d->pos >= d->end) {
			int r = dir_load(iv, d);

			if (r <= 0)
				return r;
			continue;
		}
		if (d->end - d->pos < 8) {
			d->pos = d->end;
			return -EUCLEAN;
		}
		de = (const struct ext2_dir_entry *)(d->base + d->pos);
		if (ext2fs_get_rec_len(iv->fs, (struct ext2_dir_entry *)de, &rec_len) ||
		    rec_len < 8 || rec_len % 4 || rec_len > d->end - d->pos) {
			d->pos = d->end;
			return -EUCLEAN;
		}
		nl = (size_t)ext2fs_dirent_name_len(de);
		if (nl + 8 > rec_len) {
			d->pos = d->end;
			return -EUCLEAN;
		}
		d->pos += rec_len;
		if (de->inode == 0 || nl == 0)
			continue; /* unused, or the checksum tail */
		*name = de->name;
		*nlen = nl;
		*ino = de->inode;
		return 1;
	}
}

/* The inode of `name` (n bytes) in directory `dir`. */
static int dir_lookup(struct image_view *iv, ext2_ino_t dir, const char *name, size_t n,
                      ext2_ino_t *out)
{
	struct ext2_inode_large din;
	struct dir_iter d;
	int rc, err = 0;

	rc = read_inode(iv, dir, &din);
	if (rc)
		return rc;
	if (!is_dir(&din))
		return -ENOTDIR;
	rc = dir_begin(iv, &d, dir, &din, iv->lookup_buf);
	if (rc)
		return rc;
	for (;;) {
		const char *nm;
		size_t nl;
		ext2_ino_t ino;

		rc = dir_next(iv, &d, &nm, &nl, &ino);
		if (rc == 0)
			break;
		if (rc < 0) {
			if (!err)
				err = rc;
			continue;
		}
		if (nl == n && memcmp(nm, name, n) == 0) {
			dir_end(&d);
			*out = ino;
			return 0;
		}
	}
	dir_end(&d);
	return err ? err : -ENOENT;
}

/* ---- resolving paths --------------------------------------------------------- */

/* The path text is a pathwalk (pathwalk.h); dirs[0..depth) are the
 * directories resolved so far, dirs[0] the root. */
struct resolve {
	struct image_view *iv;
	int depth;
	int links;
	ext2_ino_t dirs[RES_MAX_DIRS];
	struct pathwalk w;
	char target[PATH_MAX];
};

static int res_follow(struct resolve *s, ext2_ino_t ino, struct ext2_inode_large *in)
{
	ssize_t n;

	if (++s->links > MAX_LINKS)
		return -ELOOP;
	n = read_link(s->iv, ino, in, s->target, sizeof(s->target));
	if (n < 0)
		return (int)n;
	if (n == 0)
		return -ENOENT;
	int rc = pathwalk_splice(&s->w, s->target, (size_t)n);
	if (rc)
		return rc;
	if (s->target[0] == '/')
		s->depth = 1; /* absolute: from the image's root */
	return 0;
}

static int res_run(struct resolve *s, bool follow, ext2_ino_t *ino, struct ext2_inode_large *in)
{
	for (;;) {
		const char *name;
		ext2_ino_t child;
		size_t n;
		bool last;
		int rc;

		if (pathwalk_next(&s->w, &name, &n, &last)) { /* ended on a directory */
			*ino = s->dirs[s->depth - 1];
			return read_inode(s->iv, *ino, in);
		}
		if (n > EXT2_NAME_LEN)
			return -ENAMETOOLONG;
		if (n == 1 && name[0] == '.')
			continue;
		if (n == 2 && name[0] == '.' && name[1] == '.') {
			if (s->depth > 1)
				s->depth--; /* ".." at the root stays there */
			continue;
		}
		rc = dir_lookup(s->iv, s->dirs[s->depth - 1], name, n, &child);
		if (!rc)
			rc = read_inode(s->iv, child, in);
		if (rc)
			return rc;
		if (LINUX_S_ISLNK(in->i_mode) && (!last || follow)) {
			rc = res_follow(s, child, in);
			if (rc)
				return rc;
			continue;
		}
		if (last) {
			*ino = child;
			return 0;
		}
		if (!is_dir(in))
			return -ENOTDIR;
		if (s->depth >= RES_MAX_DIRS)
			return -ENAMETOOLONG;
		s->dirs[s->depth++] = child;
	}
}

/* Resolve `path` (inside the image) to an inode; `follow` a final symlink
 * too (otherwise lstat-like). */
static int resolve(struct image_view *iv, const char *path, bool follow, ext2_ino_t *ino,
                   struct ext2_inode_large *in)
{
	struct resolve *s;
	int rc;

	if (!path)
		return -EINVAL;
	s = malloc(sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->iv = iv;
	s->depth = 1;
	s->dirs[0] = EXT2_ROOT_INO;
	s->links = 0;
	rc = pathwalk_init(&s->w, path);
	if (rc) {
		free(s);
		return rc;
	}
	rc = res_run(s, follow, ino, in);
	free(s);
	return rc;
}

/* ---- files -------------------------------------------------------------------- */

/* Open regular file `ino` (anything else: -EINVAL, as fsroot does). */
static int open_ino(struct image_view *iv, ext2_ino_t ino, const struct ext2_inode_large *in,
                    struct vfile **out)
{
	struct vfile *f;
	errcode_t e;
	int rc;

	*out = NULL;
	if (!LINUX_S_ISREG(in->i_mode))
		return -EINVAL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->iv = iv;
	f->ino = ino;
	f->inode = *in;
	if (in->i_flags & EXT4_INLINE_DATA_FL) {
		uint64_t size = EXT2_I_SIZE(in);

		rc = inline_get(iv, ino, in, &f->mem, &f->mem_len);
		if (rc) {
			free(f);
			return rc;
		}
		if (size < f->mem_len)
			f->mem_len = (size_t)size;
	} else {
		e = ext2fs_file_open2(iv->fs, ino, (struct ext2_inode *)&f->inode, 0, &f->file);
		if (e) {
			free(f);
			return -ext_errno(e);
		}
	}
	*out = f;
	return 0;
}

static int image_file_open(struct view *v, const char *path, struct vfile **out)
{
	struct image_view *iv = (struct image_view *)v;
	struct ext2_inode_large in;
	ext2_ino_t ino;
	int rc;

	*out = NULL;
	rc = resolve(iv, path, true, &ino, &in);
	return rc ? rc : open_ino(iv, ino, &in, out);
}

static ssize_t image_file_read(struct vfile *f, void *dst, size_t n)
{
	unsigned int got = 0;
	errcode_t e;

	if (!f->file) {
		size_t left = f->mem_len - f->mem_pos;

		if (n > left)
			n = left;
		memcpy(dst, f->mem + f->mem_pos, n);
		f->mem_pos += n;
		return (ssize_t)n;
	}
	if (n > (1u << 30))
		n = 1u << 30;
	e = ext2fs_file_read(f->file, dst, (unsigned int)n, &got);
	if (e)
		return -ext_errno(e);
	return (ssize_t)got;
}

static int image_file_stat(struct vfile *f, struct vt_stat *out)
{
	fill_stat(f->ino, &f->inode, out);
	return 0;
}

static void image_file_close(struct vfile *f)
{
	if (!f)
		return;
	if (f->file)
		ext2fs_file_close(f->file);
	free(f->mem);
	free(f);
}

static int image_stat(struct view *v, const char *path, struct vt_stat *out)
{
	struct ext2_inode_large in;
	ext2_ino_t ino;
	int rc = resolve((struct image_view *)v, path, false, &ino, &in);

	if (!rc)
		fill_stat(ino, &in, out);
	return rc;
}

/* ---- the walk -------------------------------------------------------------------- */

/* What a walk entry's priv points to: the entry's inode. */
struct img_entry {
	ext2_ino_t ino;
	struct ext2_inode_large inode;
};

struct wlevel {
	struct dir_iter d;
	size_t pathlen; /* length of this directory's path in w->path */
	char *buf;      /* its block buffer, kept for reuse */
};

struct walker {
	struct image_view *iv;
	const struct vt_walk_ops *ops;
	void *ctx;
	int top;                  /* level being read, -1 when done */
	ext2fs_inode_bitmap seen; /* directories entered */
	struct img_entry cur;
	struct wlevel lv[IMAGE_WALK_MAX_DEPTH];
	char link[PATH_MAX];
	char path[WALK_PATH_CAP];
};

static void walk_error(struct walker *w, int err)
{
	if (w->ops->error)
		w->ops->error(w->ctx, w->path, err);
}

/* Enter directory `ino` (inode in w->cur) as level top + 1. */
static int walk_push(struct walker *w, size_t pathlen)
{
	struct wlevel *lv;
	int rc;

	if (ext2fs_test_inode_bitmap2(w->seen, w->cur.ino)) {
		walk_error(w, ELOOP); /* a directory met twice: a loop */
		return 0;
	}
	ext2fs_mark_inode_bitmap2(w->seen, w->cur.ino);
	if (w->top + 1 >= IMAGE_WALK_MAX_DEPTH) {
		walk_error(w, ELOOP);
		return 0;
	}
	lv = &w->lv[w->top + 1];
	if (!lv->buf) {
		lv->buf = malloc(w->iv->blocksize);
		if (!lv->buf)
			return -ENOMEM;
	}
	rc = dir_begin(w->iv, &lv->d, w->cur.ino, &w->cur.inode, lv->buf);
	if (rc < 0) {
		walk_error(w, -rc);
		return 0;
	}
	lv->pathlen = pathlen;
	w->top++;
	return 0;
}

/* Report inode `ino` at w->path (length plen, last component `name`);
 * descend when it is a directory the callback did not skip.  Returns 0 to
 * go on, else the value to stop the walk with. */
static int walk_entry(struct walker *w, ext2_ino_t ino, const char *name, size_t plen, int depth)
{
	struct vt_walk_entry e = {.path = w->path, .name = name, .depth = depth, .priv = &w->cur};
	int rc;

	rc = read_inode(w->iv, ino, &w->cur.inode);
	if (rc) {
		walk_error(w, -rc);
		return 0;
	}
	w->cur.ino = ino;
	fill_stat(ino, &w->cur.inode, &e.st);
	if (e.st.type == VF_LNK) {
		ssize_t n = read_link(w->iv, ino, &w->cur.inode, w->link, sizeof(w->link));

		if (n < 0)
			walk_error(w, (int)-n);
		else
			e.link = w->link;
	}
	rc = w->ops->entry(w->ctx, &e);
	if (rc == VT_WALK_SKIP)
		return 0;
	if (rc)
		return rc;
	if (e.st.type != VF_DIR)
		return 0;
	return walk_push(w, plen);
}

/* Whether a name from a directory can be part of a path. */
static bool name_ok(const char *name, size_t n)
{
	return n <= EXT2_NAME_LEN && !memchr(name, '/', n) && !memchr(name, 0, n);
}

static int walk_loop(struct walker *w)
{
	while (w->top >= 0) {
		struct wlevel *lv = &w->lv[w->top];
		const char *name;
		size_t n, plen;
		ext2_ino_t ino;
		int rc = dir_next(w->iv, &lv->d, &name, &n, &ino);

		if (rc == 0) {
			dir_end(&lv->d);
			w->top--;
			continue;
		}
		w->path[lv->pathlen] = 0;
		if (rc < 0) {
			walk_error(w, -rc);
			continue;
		}
		if (name[0] == '.' && (n == 1 || (n == 2 && name[1] == '.')))
			continue;
		if (!name_ok(name, n)) {
			walk_error(w, EUCLEAN); /* a name no path can hold */
			continue;
		}
		plen = lv->pathlen;
		if (plen != 1) /* the walk of "/" has entries "/x", not "//x" */
			w->path[plen++] = '/';
		memcpy(w->path + plen, name, n);
		plen += n;
		w->path[plen] = 0;
		rc = walk_entry(w, ino, w->path + plen - n, plen, w->top + 1);
		if (rc)
			return rc;
	}
	return 0;
}

/* Report the walk's root itself (not following it if it is a symlink)
 * and enter it if it is a directory. */
static int walk_start(struct walker *w, const char *root)
{
	struct ext2_inode_large in;
	ext2_ino_t dir, ino;
	char *slash;
	int len, rc;

	len = fsroot_normalize(root, w->path, PATH_MAX);
	if (len < 0)
		return len;
	if (len == 1)
		return walk_entry(w, EXT2_ROOT_INO, w->path, 1, 0);
	slash = strrchr(w->path, '/');
	*slash = 0;
	rc = resolve(w->iv, slash == w->path ? "/" : w->path, true, &dir, &in);
	*slash = '/';
	if (!rc && !is_dir(&in))
		rc = -ENOTDIR;
	if (!rc)
		rc = dir_lookup(w->iv, dir, slash + 1, strlen(slash + 1), &ino);
	if (rc)
		return rc;
	return walk_entry(w, ino, slash + 1, (size_t)len, 0);
}

static int image_walk(struct view *v, const char *root, const struct vt_walk_ops *ops, void *ctx)
{
	struct image_view *iv = (struct image_view *)v;
	struct walker *w;
	errcode_t e;
	int rc;

	if (!root || !ops || !ops->entry)
		return -EINVAL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->iv = iv;
	w->ops = ops;
	w->ctx = ctx;
	w->top = -1;
	e = ext2fs_allocate_inode_bitmap(iv->fs, "vantage walk", &w->seen);
	if (e) {
		free(w);
		return -ext_errno(e);
	}
	rc = walk_start(w, root);
	if (rc == 0)
		rc = walk_loop(w);
	for (; w->top >= 0; w->top--)
		dir_end(&w->lv[w->top].d);
	for (int i = 0; i < IMAGE_WALK_MAX_DEPTH; i++)
		free(w->lv[i].buf);
	ext2fs_free_inode_bitmap(w->seen);
	free(w);
	return rc;
}

static int image_walk_open(struct view *v, const struct vt_walk_entry *e, struct vfile **out)
{
	const struct img_entry *ie;

	*out = NULL;
	if (!e || !e->priv || e->st.type != VF_REG)
		return -EINVAL;
	ie = e->priv;
	return open_ino((struct image_view *)v, ie->ino, &ie->inode, out);
}

static void image_destroy(struct view *v)
{
	struct image_view *iv = (struct image_view *)v;

	if (iv->fs)
		ext2fs_close_free(&iv->fs);
	free(iv->lookup_buf);
	free(iv);
}

static const struct view_ops image_ops = {
    .name = "image",
    .file_open = image_file_open,
    .file_read = image_file_read,
    .file_stat = image_file_stat,
    .file_close = image_file_close,
    .stat = image_stat,
    .walk = image_walk,
    .walk_open = image_walk_open,
    .destroy = image_destroy,
};

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
	iv->base.ops = &image_ops;
	snprintf(opts, sizeof(opts), "offset=%llu", (unsigned long long)offset);
	pthread_once(&et_once, et_init);
	e = ext2fs_open2(s->io_name[0] ? s->io_name : s->path, opts, EXT2_FLAG_64BITS, 0, 0,
	                 unix_io_manager, &iv->fs);
	if (e) {
		iv->fs = NULL;
		snprintf(err, cap, "%scannot open the file system: %s", pre, error_message(e));
		image_destroy(&iv->base);
		return e == EXT2_ET_NO_MEMORY ? -ENOMEM : -EUCLEAN;
	}
	iv->blocksize = iv->fs->blocksize;
	iv->blocks = ext2fs_blocks_count(iv->fs->super);
	iv->inodes = iv->fs->super->s_inodes_count;
	iv->isize = EXT2_INODE_SIZE(iv->fs->super);
	iv->lookup_buf = malloc(iv->blocksize);
	if (!iv->lookup_buf) {
		image_destroy(&iv->base);
		return -ENOMEM;
	}
	rc = read_inode(iv, EXT2_ROOT_INO, &root);
	if (rc || !is_dir(&root)) {
		snprintf(err, cap, "%scorrupt file system: the root directory %s", pre,
		         rc ? strerror(-rc) : "is not a directory");
		image_destroy(&iv->base);
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
		if (resolve(iv, marks[i], true, &ino, &in) == 0 && LINUX_S_ISREG(in.i_mode))
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
				image_destroy(&first->base);
			first = iv;
			first_info = cur;
			goto done;
		}
		if (!first) {
			first = iv;
			first_info = cur;
		} else {
			image_destroy(&iv->base);
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
		image_destroy(&first->base);
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
