/*
 * image_ext.c - the ext2/3/4 reading layer of the image view: libext2fs
 * errors as errno values, the superblock check, inodes, inline data,
 * symlinks and our own bounded directory iterator.  See image.c ("Reading")
 * for the rules, image_int.h for the interface.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image_int.h"

#define INLINE_MAX 65536 /* inline data larger than this is corrupt */
#define EXTRA_OFF(field) offsetof(struct ext2_inode_large, field)

/* ---- errors ---------------------------------------------------------------- */

static pthread_once_t et_once = PTHREAD_ONCE_INIT;

static void et_init(void)
{
	initialize_ext2_error_table();
}

void img_errors_init(void)
{
	pthread_once(&et_once, et_init);
}

/* libext2fs error -> positive errno. */
int img_errno(errcode_t e)
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
int img_read_inode(struct image_view *iv, ext2_ino_t ino, struct ext2_inode_large *in)
{
	errcode_t e;

	if (ino < 1 || ino > iv->inodes)
		return -EUCLEAN;
	memset(in, 0, sizeof(*in));
	e = ext2fs_read_inode_full(iv->fs, ino, (struct ext2_inode *)in, sizeof(*in));
	if (e)
		return -img_errno(e);
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

void img_fill_stat(ext2_ino_t ino, const struct ext2_inode_large *in, struct vt_stat *st)
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

/* ---- inline data and small reads ------------------------------------------- */

/* The bytes of an inline-data inode: i_block then the "system.data"
 * attribute, at most INLINE_MAX.  *out is malloc'ed (free it). */
int img_inline_get(struct image_view *iv, ext2_ino_t ino, const struct ext2_inode_large *in,
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
		return -img_errno(e);
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
		return -img_errno(e);
	while (got < len) {
		unsigned int n = 0;

		e = ext2fs_file_read(f, dst + got, (unsigned int)(len - got), &n);
		if (e || n == 0)
			break;
		got += n;
	}
	ext2fs_file_close(f);
	return e ? -img_errno(e) : (ssize_t)got;
}

/*
 * The target of symlink `ino` into dst (cap bytes, NUL-terminated, cut at
 * an embedded NUL).  Fast symlinks keep it in i_block, inline ones in the
 * inline data, others in a data block.  Returns its length or a negative
 * errno (ENAMETOOLONG when it does not fit).
 */
ssize_t img_read_link(struct image_view *iv, ext2_ino_t ino, struct ext2_inode_large *in, char *dst,
                      size_t cap)
{
	uint64_t size = EXT2_I_SIZE(in);
	ssize_t n;

	if (size >= cap)
		return -ENAMETOOLONG;
	if (in->i_flags & EXT4_INLINE_DATA_FL) {
		char *data = NULL;
		size_t len = 0;
		int rc = img_inline_get(iv, ino, in, &data, &len);

		if (rc < 0)
			return rc;
		n = (ssize_t)(size < len ? size : len);
		if (n > 0) /* rc 0 sets data: img_errno() is never 0 for an error */
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

int img_dir_begin(struct image_view *iv, struct dir_iter *d, ext2_ino_t ino,
                  const struct ext2_inode_large *in, char *buf)
{
	uint64_t size = EXT2_I_SIZE(in);

	memset(d, 0, sizeof(*d));
	d->ino = ino;
	d->inode = *in;
	d->buf = buf;
	if (in->i_flags & EXT4_INLINE_DATA_FL)
		return img_inline_get(iv, ino, in, &d->inl, &d->inl_len);
	if (size > IMAGE_DIR_MAX_BYTES) {
		size = IMAGE_DIR_MAX_BYTES;
		d->capped = true;
	}
	d->nblk = size / iv->blocksize;
	return 0;
}

void img_dir_end(struct dir_iter *d)
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
		return e ? -img_errno(e) : -EUCLEAN;
	}
	e = ext2fs_read_dir_block4(iv->fs, pblk, d->buf, 0, d->ino);
	if (e)
		return -img_errno(e);
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
int img_dir_next(struct image_view *iv, struct dir_iter *d, const char **name, size_t *nlen,
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
int img_dir_lookup(struct image_view *iv, ext2_ino_t dir, const char *name, size_t n,
                   ext2_ino_t *out)
{
	struct ext2_inode_large din;
	struct dir_iter d;
	int rc, err = 0;

	rc = img_read_inode(iv, dir, &din);
	if (rc)
		return rc;
	if (!img_is_dir(&din))
		return -ENOTDIR;
	rc = img_dir_begin(iv, &d, dir, &din, iv->lookup_buf);
	if (rc)
		return rc;
	for (;;) {
		const char *nm;
		size_t nl;
		ext2_ino_t ino;

		rc = img_dir_next(iv, &d, &nm, &nl, &ino);
		if (rc == 0)
			break;
		if (rc < 0) {
			if (!err)
				err = rc;
			continue;
		}
		if (nl == n && memcmp(nm, name, n) == 0) {
			img_dir_end(&d);
			*out = ino;
			return 0;
		}
	}
	img_dir_end(&d);
	return err ? err : -ENOENT;
}
